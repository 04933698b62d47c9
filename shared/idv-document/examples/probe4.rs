fn main() {
    let engine = idv_document::DocumentEngine::load_default().unwrap();
    for path in std::env::args().skip(1) {
        let rgb = image::open(&path).unwrap().to_rgb8();
        let boxes = engine.ocr().detect_at(&rgb, 960).unwrap();
        let mut lines = engine.ocr().read_texts(&rgb, &boxes).unwrap();
        lines.sort_by(|a, b| {
            (a.bbox.cy as i32 / 8, a.bbox.cx as i32).cmp(&(b.bbox.cy as i32 / 8, b.bbox.cx as i32))
        });
        println!("== {path}");
        for l in lines {
            println!(
                "{:4.0},{:4.0} w{:4.0} h{:3.0} {:.2} {}",
                l.bbox.cx, l.bbox.cy, l.bbox.width, l.bbox.height, l.confidence, l.text
            );
        }
    }
}
