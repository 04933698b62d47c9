fn main() {
    let path = std::env::args().nth(1).unwrap();
    let rgb = image::open(&path).unwrap().to_rgb8();
    let mut v = vec![];
    for _ in 0..15 {
        let t = std::time::Instant::now();
        let g = image::imageops::grayscale(&rgb);
        let t1 = t.elapsed().as_secs_f64() * 1e3;
        let _ = idv_document::pdf417::decode_located(&g);
        let t2 = t.elapsed().as_secs_f64() * 1e3;
        v.push((t1, t2 - t1));
    }
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    eprintln!("gray {:.1} locate-decode median {:.1}", v[7].0, v[7].1);
}
