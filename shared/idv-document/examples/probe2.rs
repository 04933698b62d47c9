fn main() {
    let engine = idv_document::DocumentEngine::load_default().unwrap();
    let today = idv_document::Ymd::today();
    for path in std::env::args().skip(1) {
        let rgb = image::open(&path).unwrap().to_rgb8();
        let t = std::time::Instant::now();
        let _ = idv_document::DocumentEngine::read_barcode(&rgb, false);
        let a = t.elapsed().as_secs_f64() * 1e3;
        let _ = engine.read_zone(&rgb).unwrap();
        let b = t.elapsed().as_secs_f64() * 1e3;
        let _ = idv_document::DocumentEngine::read_barcode(&rgb, true);
        let c = t.elapsed().as_secs_f64() * 1e3;
        let _ = engine.read_printed(&rgb, today).unwrap();
        let d = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{path}: quick barcode {a:.0} zone {:.0} thorough barcode {:.0} printed {:.0}",
            b - a,
            c - b,
            d - c
        );
    }
}
