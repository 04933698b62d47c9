//! Field labels: the words, phrases and field numbers cards print beside their values (folded
//! for accents and OCR slips), found on the lines, and the values they name mended.

use crate::ocr::TextLine;

/// What a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Number,
    Expiry,
    Issued,
    Birth,
    Last,
    Given,
    Sex,
    Class,
    Address,
    Authority,
    /// Place of birth (its own label on ID cards; part of field 3 on EU licences).
    Place,
    /// Field 5: the licence number (EU) or the document discriminator (US).
    Five,
    /// A field idv does not return (height, eyes, restrictions, …): its value is skipped.
    Other,
}

/// Word labels, longest first within a key (matched as whole tokens, or glued to a value at
/// the start of a line).
pub(super) const WORDS: &[(&str, Key)] = &[
    ("DLN", Key::Number),
    ("DL#", Key::Number),
    ("DL", Key::Number),
    ("LIC#", Key::Number),
    ("LIC", Key::Number),
    ("IDN", Key::Number),
    ("ID#", Key::Number),
    ("ID", Key::Number),
    ("EXPIRES", Key::Expiry),
    ("EXP", Key::Expiry),
    ("ISSUED", Key::Issued),
    ("ISS", Key::Issued),
    ("DOB", Key::Birth),
    ("LN", Key::Last),
    ("FN", Key::Given),
    ("SEX", Key::Sex),
    ("CLASS", Key::Class),
    ("CLASSIFICATIONS", Key::Class),
    ("END", Key::Other),
    ("ENDORSE", Key::Other),
    ("ENDORSEMENTS", Key::Other),
    ("RSTR", Key::Other),
    ("REST", Key::Other),
    ("RESTR", Key::Other),
    ("RESTRICTIONS", Key::Other),
    ("HGT", Key::Other),
    ("HEIGHT", Key::Other),
    ("WGT", Key::Other),
    ("WEIGHT", Key::Other),
    ("EYES", Key::Other),
    ("HAIR", Key::Other),
    ("DD", Key::Other),
    ("DUPS", Key::Other),
    ("REPLACED", Key::Other),
    ("RACE", Key::Other),
    ("TYPE", Key::Other),
];

/// Phrases that label a field on their own line (the value below or to the right), in the
/// languages of EU and North American cards; bilingual labels (`NOM / SURNAME`) match when
/// every part is a label of the same field.
pub(super) const PHRASES: &[(&str, Key)] = &[
    ("CUSTOMER IDENTIFIER", Key::Number),
    ("LICENSE NUMBER", Key::Number),
    ("LICENCE NUMBER", Key::Number),
    ("DOCUMENT NUMBER", Key::Number),
    ("DOCUMENT NO", Key::Number),
    ("DOCUMENT NO.", Key::Number),
    ("CARD NO", Key::Number),
    ("CARD NO.", Key::Number),
    ("NUMÉRO DU DOCUMENT", Key::Number),
    ("DOKUMENTENNUMMER", Key::Number),
    ("FAMILY NAME", Key::Last),
    ("SURNAME", Key::Last),
    ("LAST NAME", Key::Last),
    ("NOM", Key::Last),
    ("NAME", Key::Last),
    ("NACHNAME", Key::Last),
    ("APELLIDOS", Key::Last),
    ("COGNOME", Key::Last),
    ("NAZWISKO", Key::Last),
    ("ACHTERNAAM", Key::Last),
    ("EFTERNAMN", Key::Last),
    ("GIVEN NAMES", Key::Given),
    ("GIVEN NAME", Key::Given),
    ("FIRST NAME", Key::Given),
    ("PRÉNOMS", Key::Given),
    ("PRENOMS", Key::Given),
    ("PRÉNOM", Key::Given),
    ("VORNAMEN", Key::Given),
    ("VORNAME", Key::Given),
    ("NOMBRE", Key::Given),
    ("NOME", Key::Given),
    ("IMIONA", Key::Given),
    ("VOORNAMEN", Key::Given),
    ("FÖRNAMN", Key::Given),
    ("DATE OF BIRTH", Key::Birth),
    ("DATE DE NAISSANCE", Key::Birth),
    ("GEBURTSDATUM", Key::Birth),
    ("GEBURTSTAG", Key::Birth),
    ("FECHA DE NACIMIENTO", Key::Birth),
    ("DATA DI NASCITA", Key::Birth),
    ("DATA URODZENIA", Key::Birth),
    ("GEBOORTEDATUM", Key::Birth),
    ("DATE OF EXP", Key::Expiry),
    ("DATE OF EXPIRY", Key::Expiry),
    ("EXPIRATION DATE", Key::Expiry),
    ("EXPIRY DATE", Key::Expiry),
    ("DATE D'EXPIRATION", Key::Expiry),
    ("GÜLTIG BIS", Key::Expiry),
    ("FECHA DE CADUCIDAD", Key::Expiry),
    ("SCADENZA", Key::Expiry),
    ("DATE OF ISSUE", Key::Issued),
    ("ISSUE DATE", Key::Issued),
    ("DATE DE DÉLIVRANCE", Key::Issued),
    ("AUSSTELLUNGSDATUM", Key::Issued),
    ("FECHA DE EXPEDICIÓN", Key::Issued),
    ("DATA DI EMISSIONE", Key::Issued),
    ("PLACE OF BIRTH", Key::Place),
    ("LIEU DE NAISSANCE", Key::Place),
    ("GEBURTSORT", Key::Place),
    ("LUGAR DE NACIMIENTO", Key::Place),
    ("LUOGO DI NASCITA", Key::Place),
    ("SEX", Key::Sex),
    ("SEXE", Key::Sex),
    ("GESCHLECHT", Key::Sex),
    ("SEXO", Key::Sex),
    ("SESSO", Key::Sex),
    ("ADDRESS", Key::Address),
    ("ADRESSE", Key::Address),
    ("ANSCHRIFT", Key::Address),
    ("DOMICILIO", Key::Address),
];

/// The field a whole line labels: every `/`-separated part of it a phrase of that field.
pub(super) fn phrase_label(text: &str) -> Option<Key> {
    let mut key = None;
    for part in text.split(['/', '|']) {
        let part = part.trim().trim_end_matches([':', '.']).trim();
        if part.is_empty() {
            continue;
        }
        // Accents folded on both sides: the recogniser reads `PRÉNOMS` as `PRÈNOMS` too.
        let part = fold(part);
        let k = PHRASES.iter().find(|(p, _)| fold(p) == part)?.1;
        if key.is_some_and(|prev| prev != k) {
            return None;
        }
        key = Some(k);
    }
    key
}

/// `s` with the accents of Latin capitals dropped (`É`, `È`, `Ê` → `E`).
pub(super) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'À'..='Å' => 'A',
            'Ç' => 'C',
            'È'..='Ë' => 'E',
            'Ì'..='Ï' => 'I',
            'Ñ' => 'N',
            'Ò'..='Ö' => 'O',
            'Ù'..='Ü' => 'U',
            c => c,
        })
        .collect()
}

/// A name as printed, with the recogniser's usual slips inside a word of letters mended
/// (`KENJ!` → `KENJI`, `J0HN` → `JOHN`); other values unchanged.
pub(super) fn mend(key: Key, v: &str) -> String {
    if !matches!(key, Key::Last | Key::Given) || is_name(v) {
        return v.to_owned();
    }
    v.split(' ')
        .map(|word| {
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            if letters < 2 {
                return word.to_owned();
            }
            word.chars()
                .map(|c| match c {
                    '!' | '|' | '1' => 'I',
                    '0' => 'O',
                    c => c,
                })
                .collect()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line without the field number it starts with (`1. MUELLER` → `MUELLER`).
pub(super) fn strip_field_number(t: &str) -> String {
    let t = t.trim();
    match t.split_once(' ') {
        Some((n, rest)) if numbered(n.trim_end_matches('.')).is_some() => rest.to_owned(),
        _ => t.to_owned(),
    }
}

/// The field numbers of the AAMVA 2016 and EU designs.
pub(super) fn numbered(n: &str) -> Option<Key> {
    Some(match n {
        "1" => Key::Last,
        "2" => Key::Given,
        "3" => Key::Birth,
        "4A" => Key::Issued,
        "4B" => Key::Expiry,
        "4C" => Key::Authority,
        "4D" => Key::Number,
        "5" => Key::Five,
        "8" => Key::Address,
        "9" => Key::Class,
        "9A" | "12" | "16" | "17" | "18" | "19" => Key::Other,
        "15" => Key::Sex,
        _ => return None,
    })
}

/// The number each word label carries on the numbered designs.
pub(super) fn number_of(key: Key) -> &'static str {
    match key {
        Key::Birth => "3",
        Key::Issued => "4A",
        Key::Expiry => "4B",
        Key::Number => "4D",
        Key::Sex => "15",
        Key::Class => "9",
        _ => "",
    }
}

/// Where a label stands on the card and what follows it on its line.
#[derive(Debug, Clone)]
pub(super) struct Labelled {
    pub(super) key: Key,
    pub(super) value: String,
    /// Estimated x of the label and the line it is on.
    pub(super) x: f32,
    pub(super) line: usize,
}

pub(super) fn upper(s: &str) -> String {
    s.to_uppercase()
}

pub(super) fn is_name(text: &str) -> bool {
    let t = text.trim();
    t.len() >= 2
        && t.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | ',' | '-' | '\''))
}

/// A word label at the start of `token`: the label and the rest glued to it (`DLI1234568`,
/// `LNCARDHOLDER`, `4BEXP:08/05/2020`).
pub(super) fn word_label(token: &str, first: bool) -> Option<(Key, String)> {
    let t = token.trim_end_matches(':');
    if let Some((_, k)) = WORDS.iter().find(|(w, _)| *w == t) {
        return Some((*k, String::new()));
    }
    // `NUMBER` + `WORD` glued: 4BEXP, 9AEND, 16HGT, 4ALSS (OCR: l for I).
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < t.len() {
        let rest = &t[digits..];
        // The field number's letter (`4B`, `9A`), when a label word follows it.
        let rest = match rest.chars().next() {
            Some('A'..='D')
                if WORDS.iter().any(|(w, _)| {
                    rest[1..].starts_with(w) || rest[1..].replace('L', "I").starts_with(w)
                }) =>
            {
                &rest[1..]
            }
            _ => rest,
        };
        let rest = if rest.starts_with("LSS") {
            rest.replacen("LSS", "ISS", 1)
        } else {
            rest.to_owned()
        };
        if let Some((k, tail)) = word_label(&rest, true) {
            return Some((k, tail));
        }
        // A bare field number glued to its value (`8123 MAIN ST`) is left to the address.
    }
    if !first {
        return None;
    }
    // A word label glued to its value at the start of a line.
    for (w, k) in WORDS {
        if let Some(rest) = token.strip_prefix(w) {
            let rest = rest.trim_start_matches(':');
            let fits = match k {
                Key::Number => rest.chars().any(|c| c.is_ascii_digit()),
                Key::Last | Key::Given => rest.len() >= 2 && rest.chars().all(char::is_alphabetic),
                Key::Expiry | Key::Issued | Key::Birth => {
                    rest.starts_with(|c: char| c.is_ascii_digit())
                }
                _ => !rest.is_empty(),
            };
            if fits && !rest.is_empty() {
                return Some((*k, rest.to_owned()));
            }
        }
    }
    None
}

/// The labels of every line, with their inline values.
pub(super) fn labels(lines: &[TextLine]) -> Vec<Labelled> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let text = upper(&line.text);
        if let Some(k) = phrase_label(&text) {
            out.push(Labelled {
                key: k,
                value: String::new(),
                x: line.bbox.cx - line.bbox.width / 2.0,
                line: i,
            });
            continue;
        }
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let len = text.chars().count().max(1) as f32;
        let left = line.bbox.cx - line.bbox.width / 2.0;
        let mut offset = 0usize;
        let mut current: Option<Labelled> = None;
        let mut pending_number: Option<Key> = None;
        for (j, tok) in tokens.iter().enumerate() {
            let at = text[offset..].find(tok).map_or(offset, |p| p + offset);
            offset = at + tok.len();
            let x = left + line.bbox.width * at as f32 / len;
            let bare = tok.trim_end_matches(['.', ':', ',']);
            let found = if let Some(k) = numbered(bare).filter(|_| bare.len() <= 2) {
                // A field number: its label word (if any) follows; else the value does.
                pending_number = Some(k);
                if let Some(c) = current.take() {
                    out.push(c);
                }
                current = Some(Labelled {
                    key: k,
                    value: String::new(),
                    x,
                    line: i,
                });
                continue;
            } else {
                word_label(tok, j == 0)
            };
            match found {
                Some((k, tail)) => {
                    if pending_number.take().is_some()
                        && let Some(c) = current.as_mut()
                        && c.value.is_empty()
                    {
                        // `3 DOB`: the word names the numbered field.
                        c.key = k;
                        c.value = tail;
                        continue;
                    }
                    // A value ending in the number of the label that follows (`99993 DOB`
                    // read from `9999 3 DOB`).
                    if let Some(c) = current.as_mut() {
                        let n = number_of(k);
                        if !n.is_empty() && c.value.ends_with(n) && c.value.len() > n.len() + 4 {
                            c.value.truncate(c.value.len() - n.len());
                        }
                    }
                    if let Some(c) = current.take() {
                        out.push(c);
                    }
                    current = Some(Labelled {
                        key: k,
                        value: tail,
                        x,
                        line: i,
                    });
                }
                None => {
                    pending_number = None;
                    if let Some(c) = current.as_mut() {
                        if !c.value.is_empty() {
                            c.value.push(' ');
                        }
                        c.value.push_str(tok);
                    }
                }
            }
        }
        if let Some(c) = current.take() {
            out.push(c);
        }
    }
    out
}
