fn main() {
    for path in std::env::args().skip(1) {
        let rgb = image::open(&path).unwrap().to_rgb8();
        for _ in 0..2 {
            let t = std::time::Instant::now();
            let q = idv_document::quality::measure(&rgb);
            let t1 = t.elapsed().as_secs_f64() * 1000.0;
            let b = idv_document::DocumentEngine::read_barcode(&rgb, false);
            let t2 = t.elapsed().as_secs_f64() * 1000.0;
            println!(
                "{path}\t{}x{} quality {:.1} ms barcode {:.1} ms {:?} {}",
                rgb.width(),
                rgb.height(),
                t1,
                t2 - t1,
                q.sharpness,
                b.is_some()
            );
        }
    }
}
