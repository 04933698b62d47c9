fn main() {
    for path in std::env::args().skip(1) {
        let img = image::open(&path).unwrap().to_luma8();
        let t = std::time::Instant::now();
        let sym = idv_document::pdf417::decode(&img);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let parsed = sym.as_ref().map(|s| idv_document::aamva::parse(&s.text).is_ok());
        println!("{path}\t{:.1} ms\t{:?}\t{:?}", ms, sym.map(|s| (s.turned, s.attempts)), parsed);
    }
}
