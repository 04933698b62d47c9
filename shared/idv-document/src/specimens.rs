//! Published specimen and sample documents: a maintained table of document numbers and names
//! that appear on specimens printed by ICAO and by issuing states. A document matching one is
//! a sample, not an authentic document (`FAKE_ID`).
//!
//! Add entries with the source they come from.

/// Issuing states that exist only on specimens (ICAO's Utopia).
pub const SPECIMEN_STATES: &[&str] = &["UTO"];

/// (issuing state or `*` for any, document number, source).
pub const SPECIMEN_NUMBERS: &[(&str, &str, &str)] = &[
    ("*", "L898902C3", "ICAO Doc 9303 Part 4 TD3 specimen"),
    ("*", "D23145890", "ICAO Doc 9303 Parts 5-6 TD1/TD2 specimen"),
    ("SWE", "59000002", "Swedish national ID card specimen"),
    ("CZE", "99003853", "Czech passport specimen"),
    (
        "D",
        "C01X00T47",
        "German passport specimen (Erika Mustermann)",
    ),
    (
        "D",
        "T22000129",
        "German ID card specimen (Erika Mustermann)",
    ),
    (
        "D",
        "LZ6311T47",
        "German ID card specimen (Erika Mustermann, 2021)",
    ),
    ("NLD", "SPECI2014", "Dutch passport / ID card specimen"),
    ("NLD", "SPECI2021", "Dutch passport / ID card specimen"),
    (
        "ESP",
        "BAA000589",
        "Spanish ID card specimen (Carmen Española)",
    ),
    ("USA", "555123ABC", "US visa sample (Happy Person Traveler)"),
    (
        "GBR",
        "533401372",
        "UK passport specimen (Angela Zoe UK Specimen)",
    ),
];

/// Names printed on specimens: (surname, given names or `*`, source).
pub const SPECIMEN_NAMES: &[(&str, &str, &str)] = &[
    ("ERIKSSON", "ANNA MARIA", "ICAO Doc 9303 specimen"),
    ("MUSTERMANN", "*", "German specimens"),
    ("MUSTERFRAU", "*", "Austrian specimens"),
    ("SPECIMEN", "*", "many states' specimens"),
    ("UK SPECIMEN", "*", "UK specimens"),
    ("DE BRUIJN", "WILLEKE LISELOTTE", "Dutch specimens"),
    ("ESPANOLA ESPANOLA", "CARMEN", "Spanish specimens"),
    ("TRAVELER", "HAPPYPERSON", "US visa sample"),
    ("SAMPLE", "*", "sample documents"),
    ("VZOR", "*", "Czech/Slovak specimens"),
    ("MINTA", "*", "Hungarian specimens"),
];

/// Words printed across specimen and sample documents, in the languages issuers use.
pub const SPECIMEN_WORDS: &[&str] = &[
    "SPECIMEN",
    "SAMPLE",
    "MUSTER",
    "ESPECIMEN",
    "ESPÉCIMEN",
    "SPÉCIMEN",
    "SPECIMENE",
    "CAMPIONE",
    "EXEMPLAR",
    "VZOR",
    "MINTA",
    "WZÓR",
    "VOID",
];

/// The first specimen word standing as a whole word in the printed lines.
pub fn specimen_word(lines: &[String]) -> Option<&'static str> {
    lines.iter().find_map(|line| {
        let upper = line.to_uppercase();
        upper
            .split(|c: char| !c.is_alphanumeric())
            .find_map(|w| SPECIMEN_WORDS.iter().copied().find(|s| *s == w))
    })
}

/// Why a document looks like a specimen, or `None`.
pub fn match_specimen(state: &str, number: &str, surname: &str, given: &str) -> Option<String> {
    if SPECIMEN_STATES.contains(&state) {
        return Some(format!(
            "issuing state {state} exists only on specimen documents"
        ));
    }
    if let Some((_, _, src)) = SPECIMEN_NUMBERS
        .iter()
        .find(|(s, n, _)| *n == number && (*s == "*" || *s == state))
    {
        return Some(format!(
            "document number matches a published specimen ({src})"
        ));
    }
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (surname, given) = (words(surname), words(given));
    SPECIMEN_NAMES
        .iter()
        .find(|(s, g, _)| {
            // The surname matches (and the given names, where the table names them), or a
            // generic specimen word such as SPECIMEN stands in the given names.
            (*s == surname && (*g == "*" || *g == given)) || (*g == "*" && given == *s)
        })
        .map(|(_, _, src)| format!("holder name matches a published specimen ({src})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_icao_and_national_specimens() {
        assert!(match_specimen("UTO", "X", "A", "B").is_some());
        assert!(match_specimen("SWE", "59000002", "SPECIMEN", "SVEN").is_some());
        assert!(match_specimen("FRA", "L898902C3", "DOE", "JANE").is_some());
        assert!(match_specimen("D", "X1", "MUSTERMANN", "ERIKA").is_some());
    }

    #[test]
    fn finds_specimen_words_as_whole_words() {
        assert_eq!(specimen_word(&["Muster / Specimen".into()]), Some("MUSTER"));
        assert_eq!(specimen_word(&["SAMPLESON ST".into()]), None);
    }

    #[test]
    fn leaves_ordinary_documents_alone() {
        assert_eq!(
            match_specimen("FRA", "12AB34567", "DUPONT", "MARIE CLAIRE"),
            None
        );
        assert_eq!(match_specimen("SWE", "59000003", "SVENSSON", "SVEN"), None);
    }
}
