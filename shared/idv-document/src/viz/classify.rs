//! What a front without an MRZ is, from its printed words and layout.

use super::labels::upper;
use crate::ocr::TextLine;

/// What the card says it is, from its title words.
pub fn classify(lines: &[TextLine]) -> Option<&'static str> {
    let all = upper(
        &lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let has = |w: &str| all.contains(w);
    const LICENCE: [&str; 14] = [
        "DRIVER LICENSE",
        "DRIVER'S LICENSE",
        "DRIVERLICENSE",
        "DRIVERS LICENSE",
        "DRIVING LICENCE",
        "DRIVER'S LICENCE",
        "PERMIS DE CONDUIRE",
        "FÜHRERSCHEIN",
        "RIJBEWIJS",
        "PATENTE DI GUIDA",
        "PERMISO DE CONDUCCI",
        "PRAWO JAZDY",
        "KÖRKORT",
        "CARTA DE CONDU",
    ];
    const NATIONAL: [&str; 7] = [
        "IDENTITY CARD",
        "CARTE NATIONALE D'IDENTIT",
        "PERSONALAUSWEIS",
        "DOCUMENTO NACIONAL DE IDENTIDAD",
        "CARTA D'IDENTIT",
        "IDENTITEITSKAART",
        "DOWÓD OSOBISTY",
    ];
    if LICENCE.iter().any(|w| has(w)) || (has("DRIVER") && has("LICEN")) {
        Some("drivers_license")
    } else if has("IDENTIFICATION CARD") || (has("IDENTIFICATION") && has("CARD")) {
        Some("id_card")
    } else if NATIONAL.iter().any(|w| has(w)) {
        Some("national_id")
    } else {
        None
    }
}

/// US and Canadian cards: month before day. Anything else prints the day first.
pub(super) fn us_layout(lines: &[TextLine]) -> bool {
    lines.iter().any(|l| {
        let t = upper(&l.text);
        t.split_whitespace().any(|w| w == "USA" || w == "CANADA")
            || t.contains("DRIVER LICENSE")
            || t.contains("DRIVER'S LICENSE")
            || t.contains("DRIVERLICENSE")
            || t.contains("IDENTIFICATION CARD")
            || t.contains("IDENTIFICATION")
    })
}
