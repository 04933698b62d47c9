fn main() {
    let engine = idv_document::DocumentEngine::load_default().unwrap();
    let today = idv_document::Ymd::today();
    let (mut exact, mut n) = (0, 0);
    for path in std::env::args().skip(1) {
        let rgb = image::open(&path).unwrap().to_rgb8();
        let t = std::time::Instant::now();
        let p = engine.read_printed(&rgb, today).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let truth: idv_document::truth::Truth = serde_json::from_str(
            &std::fs::read_to_string(std::path::Path::new(&path).with_extension("json")).unwrap(),
        )
        .unwrap();
        let out = idv_document::truth::compare(&p.data, &truth.fields);
        let wrong: Vec<_> = out
            .iter()
            .filter(|o| !o.exact)
            .map(|o| format!("{}: {:?}≠{}", o.key, o.got, o.expected))
            .collect();
        n += 1;
        if wrong.is_empty() {
            exact += 1;
        }
        println!(
            "{path} {ms:.0} ms type {:?}/{:?} {}/{} wrong: {}",
            p.document_type,
            truth.document_type,
            out.len() - wrong.len(),
            out.len(),
            wrong.join("; ")
        );
    }
    println!("{exact}/{n}");
}
