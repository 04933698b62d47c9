fn main() {
    let engine = idv_document::DocumentEngine::load_default().unwrap();
    for path in std::env::args().skip(1) {
        let rgb = image::open(&path).unwrap().to_rgb8();
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let r = engine
                .read(&rgb, None, &Default::default(), idv_document::Ymd::today())
                .unwrap();
            eprintln!(
                "{path} {:.1} ms {:?}",
                t.elapsed().as_secs_f64() * 1e3,
                r.document_type
            );
        }
    }
}
