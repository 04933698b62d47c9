//! The certificate's layout on its worst inputs: every word `pdftotext -bbox` (Debian
//! `poppler-utils`) finds lies inside the page margins, nothing is lost, and what does not fit
//! flows to further pages, each with its number and the request id.

use std::process::Command;

mod common;

use common::png;
use idv_certify::{Certificate, DEFAULT_POLICY, Issuer, Row, Section, generate_dev, render};

fn row(label: &str, value: &str) -> Row {
    Row {
        label: label.into(),
        value: value.into(),
    }
}

/// Long names (one without a space), long check descriptions, three images of odd shapes and
/// forty check codes at once.
fn worst_case() -> Certificate {
    let long_name = "MARIA-DEL-CARMEN-ALEJANDRA-GUADALUPE-FERNANDEZ-DE-LA-SANTISIMA-TRINIDAD-Y-BORBON-DOS-SICILIAS-HOHENZOLLERN";
    let description = "The document number, its check digit and the issuing state were compared with the published specimen list and the document matches a published specimen exactly, including its document number";
    let mut checks: Vec<Row> = (0..40)
        .map(|i| {
            row(
                &format!("CHECK_CODE_NUMBER_{i:02}_WITH_A_LONG_NAME (reject)"),
                &format!("{description} ({i})."),
            )
        })
        .collect();
    checks.push(row("VIZ_MRZ_MISMATCH (review)", "word".repeat(80).as_str()));
    Certificate {
        request_id: format!("req-{}", "0123456789abcdef".repeat(6)),
        issuer: Issuer {
            name: "Acme Identity Services of the Northern and Southern Territories Limited Liability Partnership".into(),
            contact: "Compliance Department, 1 Very Long Street Name Avenue, Building 7, Floor 12, 10115 Berlin, Germany · compliance@acme-identity-services.example · +49 30 123456789".into(),
        },
        tenant: format!("Banco {long_name} y Asociados Sociedad Anónima de Capital Variable"),
        received_at: "2026-12-02 10:00:00".into(),
        processed_at: "2026-12-02 10:00:01".into(),
        decision: "REJECTED".into(),
        signed_by: "idv certificate signing (idv development)".into(),
        sections: vec![
            Section {
                title: "Checks".into(),
                rows: checks,
            },
            Section {
                title: "Document".into(),
                rows: vec![
                    row("Full name", long_name),
                    row("Full name as printed on the card in the visual inspection zone", &format!("{long_name} {long_name}")),
                    row("Document number", "L89****C3"),
                ],
            },
        ],
        thumbnails: vec![
            ("Document front".into(), png(600, 50)),
            ("Document back of a card with a very long caption that needs more than one line".into(), png(60, 400)),
            ("Selfie".into(), png(300, 300)),
        ],
        created_unix: 1_795_435_200,
    }
}

/// Every word of `pdftotext -bbox`: page, (xMin, yMin, xMax, yMax) in points, text; and the
/// page size.
/// A word found: its page, its box and its text.
type Word = (usize, [f32; 4], String);
/// A line of words: page, top, and each word's (left, right, text).
type TextLine<'a> = (usize, i32, Vec<(f32, f32, &'a str)>);

fn words(pdf: &std::path::Path) -> (Vec<Word>, (f32, f32)) {
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    let html = String::from_utf8_lossy(&out.stdout);
    let attr = |tag: &str, name: &str| -> f32 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    let mut page = 0;
    let mut size = (0.0, 0.0);
    let mut found = Vec::new();
    for piece in html.split('<').skip(1) {
        if piece.starts_with("page ") {
            page += 1;
            size = (attr(piece, "width"), attr(piece, "height"));
        } else if piece.starts_with("word ") {
            let (tag, text) = piece.split_once('>').unwrap();
            let b = ["xMin", "yMin", "xMax", "yMax"].map(|n| attr(tag, n));
            let text = text
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"");
            found.push((page, b, text));
        }
    }
    (found, size)
}

#[test]
fn nothing_leaves_the_margins_and_nothing_is_lost() {
    let dir = std::env::temp_dir().join(format!("idv-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let c = worst_case();
    let signer = generate_dev(None).unwrap().signer(DEFAULT_POLICY).unwrap();
    let pdf = signer
        .sign_pdf(render(&c).unwrap(), "D:20261202100001Z")
        .unwrap();
    let path = dir.join("worst.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let (words, (w, h)) = words(&path);
    assert!(
        (w - 595.3).abs() < 1.0 && (h - 841.9).abs() < 1.0,
        "A4: {w} x {h}"
    );
    // 15 mm side margins, 5 mm top and bottom at least.
    let (left, right) = (15.0 * 72.0 / 25.4 - 0.5, w - 15.0 * 72.0 / 25.4 + 0.5);
    let (top, bottom) = (5.0 * 72.0 / 25.4, h - 5.0 * 72.0 / 25.4);
    for (page, [x0, y0, x1, y1], text) in &words {
        assert!(
            *x0 >= left && *x1 <= right && *y0 >= top && *y1 <= bottom,
            "page {page}: {text:?} at [{x0} {y0} {x1} {y1}] leaves the margins"
        );
    }
    let pages = words.iter().map(|w| w.0).max().unwrap();
    assert!(pages >= 2, "forty long checks flow to a second page");
    // Every page says which request and which page it is.
    let joined: String = words
        .iter()
        .map(|w| w.2.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for p in 1..=pages {
        assert!(joined.contains(&format!("page {p} of {pages}")), "page {p}");
        let on_page: String = words
            .iter()
            .filter(|w| w.0 == p)
            .map(|w| w.2.as_str())
            .collect();
        assert!(on_page.contains("Request"), "request id on page {p}");
    }
    // Nothing lost: every input text is there, whitespace aside (long words are cut across
    // lines). Text is read back column by column: words on a line belong to one run while
    // the gap between them is a space's, and each run to the column where it starts.
    let mut lines: Vec<TextLine> = Vec::new();
    for (page, [x0, y0, x1, _], text) in &words {
        let key = (*page, y0.round() as i32);
        match lines.iter_mut().find(|l| (l.0, l.1) == key) {
            Some(l) => l.2.push((*x0, *x1, text)),
            None => lines.push((key.0, key.1, vec![(*x0, *x1, text)])),
        }
    }
    lines.sort_by_key(|l| (l.0, l.1));
    let mut columns: std::collections::BTreeMap<i32, String> = Default::default();
    for (_, _, mut ws) in lines {
        ws.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut start = ws[0].0;
        let mut prev_end = f32::MIN;
        for (x0, x1, text) in ws {
            if x0 - prev_end > 8.0 {
                start = x0;
            }
            columns
                .entry(start.round() as i32)
                .or_default()
                .push_str(text);
            prev_end = x1;
        }
    }
    let compact: Vec<String> = columns.into_values().collect();
    let mut expected: Vec<String> = vec![
        c.request_id.clone(),
        c.issuer.name.clone(),
        c.issuer.contact.clone(),
        c.tenant.clone(),
    ];
    for s in &c.sections {
        for r in &s.rows {
            expected.push(r.label.clone());
            expected.push(r.value.clone());
        }
    }
    for (caption, _) in &c.thumbnails {
        expected.push(caption.clone());
    }
    for e in expected {
        let e: String = e.split_whitespace().collect();
        assert!(
            compact.iter().any(|c| c.contains(&e)),
            "{e:?} is not in the text"
        );
    }
    // The visible signature says who signed and how to verify.
    assert!(
        joined.contains("Digitally signed by idv certificate signing"),
        "{joined}"
    );
    assert!(joined.contains("pyhanko sign validate"), "{joined}");
}
