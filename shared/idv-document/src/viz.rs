//! The printed-field path: fields of a card front without an MRZ (US/Canadian driving
//! licences and ID cards, EU licences), from its OCR lines.
//!
//! Cards label their fields, with words (`DOB`, `EXP`, `LN`, `Family name`) and, on the
//! AAMVA 2016 and EU designs, with numbers (`1` surname, `2` given names, `3` birth,
//! `4a` issue, `4b` expiry, `4c` authority, `4d`/`5` number, `8` address, `9` classes,
//! `15` sex). A label's value follows it on the line, or stands in the box to its right or
//! just below it. What no label names is found by its place and form: the dates by order
//! (birth < issue < expiry), the name lines above the address, the address by its last line
//! (`CITY, ST 12345`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::data::{DocumentData, Field};
use crate::date::Ymd;
use crate::ocr::TextLine;

/// What a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
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
const WORDS: &[(&str, Key)] = &[
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
const PHRASES: &[(&str, Key)] = &[
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
fn phrase_label(text: &str) -> Option<Key> {
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
fn fold(s: &str) -> String {
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
fn mend(key: Key, v: &str) -> String {
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
fn strip_field_number(t: &str) -> String {
    let t = t.trim();
    match t.split_once(' ') {
        Some((n, rest)) if numbered(n.trim_end_matches('.')).is_some() => rest.to_owned(),
        _ => t.to_owned(),
    }
}

/// Fills an EU licence's fields from their order in its numbered column, anchored on the line
/// of the date of birth (field 3): the given names (2) and the surname (1) are the two lines
/// straight above it; below come the dates 4a and 4b, then the authority (4c), the number (5)
/// and the categories (9), each taken only if its value has the right form. Labels win.
fn eu_order(lines: &[TextLine], birth: Ymd, values: &mut HashMap<Key, String>, taken: &mut [bool]) {
    let Some(at) = lines
        .iter()
        .position(|l| find_date(&l.text, false) == Some(birth))
    else {
        return;
    };
    let h = lines[at].bbox.height;
    let x = left(&lines[at]);
    let bare =
        |i: usize| numbered(upper(&lines[i].text).trim().trim_end_matches(['.', ','])).is_some();
    let mut column: Vec<usize> = (0..lines.len())
        .filter(|&i| i == at || ((left(&lines[i]) - x).abs() < 2.5 * h && !bare(i)))
        .collect();
    column.sort_by(|&a, &b| lines[a].bbox.cy.total_cmp(&lines[b].bbox.cy));
    let Some(pos) = column.iter().position(|&i| i == at) else {
        return;
    };
    let text = |i: usize| strip_field_number(&upper(&lines[i].text));
    values.entry(Key::Birth).or_insert_with(|| text(at));
    // Rows one pitch apart: the pitch from 3 to 4a, else two line heights.
    let pitch = column
        .get(pos + 1)
        .map(|&i| lines[i].bbox.cy - lines[at].bbox.cy)
        .filter(|p| *p > 0.8 * h && *p < 3.0 * h)
        .unwrap_or(2.0 * h);
    let (mut y, mut names) = (lines[at].bbox.cy, Vec::new());
    for &i in column[..pos].iter().rev().take(2) {
        if y - lines[i].bbox.cy > 1.5 * pitch || !is_name(&text(i)) {
            break;
        }
        y = lines[i].bbox.cy;
        names.push(i);
    }
    if let [given, last] = names[..] {
        for (key, i) in [(Key::Given, given), (Key::Last, last)] {
            if let Entry::Vacant(e) = values.entry(key) {
                e.insert(text(i));
                taken[i] = true;
            }
        }
    }
    let mut slots = vec![Key::Authority, Key::Number, Key::Class];
    let fits = |key: Key, t: &str| match key {
        Key::Authority => {
            t.chars().filter(|c| c.is_alphabetic()).count() >= 3
                && !valid(Key::Number, t, false)
                && !valid(Key::Class, t, false)
        }
        // `B/C1` has a digit too.
        Key::Number => valid(Key::Number, t, false) && !valid(Key::Class, t, false),
        key => valid(key, t, false),
    };
    for &i in &column[pos + 1..] {
        let t = text(i);
        if find_date(&t, false).is_some() {
            continue;
        }
        // A line that fits no slot left (a signature, a speck) is passed over.
        let Some(k) = slots.iter().position(|&key| fits(key, &t)) else {
            continue;
        };
        let key = slots[k];
        slots.drain(..=k);
        if let Entry::Vacant(e) = values.entry(key) {
            e.insert(t);
            taken[i] = true;
        }
    }
}

/// The field numbers of the AAMVA 2016 and EU designs.
fn numbered(n: &str) -> Option<Key> {
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
fn number_of(key: Key) -> &'static str {
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
struct Labelled {
    key: Key,
    value: String,
    /// Estimated x of the label and the line it is on.
    x: f32,
    line: usize,
}

fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// A word label at the start of `token`: the label and the rest glued to it (`DLI1234568`,
/// `LNCARDHOLDER`, `4BEXP:08/05/2020`).
fn word_label(token: &str, first: bool) -> Option<(Key, String)> {
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
fn labels(lines: &[TextLine]) -> Vec<Labelled> {
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

/// Month abbreviations as cards print them (English, French, German, Spanish, Italian).
const MONTHS: [&[&str]; 12] = [
    &["JAN", "JANV", "ENE", "GEN"],
    &["FEB", "FEV", "FÉV", "FEBR"],
    &["MAR", "MARS", "MÄR", "MRZ"],
    &["APR", "AVR", "ABR"],
    &["MAY", "MAI", "MAG"],
    &["JUN", "JUIN", "GIU"],
    &["JUL", "JUIL", "LUG"],
    &["AUG", "AOUT", "AOÛT", "AGO"],
    &["SEP", "SEPT", "SET"],
    &["OCT", "OKT", "OTT"],
    &["NOV"],
    &["DEC", "DÉC", "DEZ", "DIC"],
];

/// `12 AUG 1964`, `12 AUG/AOÛT 1964`: a day, a month name (one or two, slash-separated), a
/// four-digit year.
fn month_date(text: &str) -> Option<Ymd> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        let day: u32 = w[0]
            .trim_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?;
        let month = w[1].split('/').find_map(|m| {
            let m = m.trim_end_matches('.');
            MONTHS.iter().position(|names| names.contains(&m))
        })? as u32
            + 1;
        let year: i32 = w[2].get(..4)?.parse().ok()?;
        ((1..=31).contains(&day) && (1900..=2100).contains(&year)).then_some(Ymd {
            year,
            month,
            day,
        })
    })
}

/// A date in `text`: `MM/DD/YYYY` (US order) or `DD.MM.YYYY` (`us` false), separators `/`,
/// `-`, `.`, or a month name (`12 AUG 1964`); the first date found.
pub fn find_date(text: &str, us: bool) -> Option<Ymd> {
    if let Some(d) = month_date(&text.to_uppercase()) {
        return Some(d);
    }
    let chars: Vec<char> = text.chars().collect();
    for start in 0..chars.len() {
        if !chars[start].is_ascii_digit() || (start > 0 && chars[start - 1].is_ascii_digit()) {
            continue;
        }
        let rest: String = chars[start..].iter().collect();
        let parts: Vec<&str> = rest.split(|c: char| !c.is_ascii_digit()).take(3).collect();
        if parts.len() < 3 {
            continue;
        }
        let (a, b, c) = (parts[0], parts[1], parts[2]);
        if a.is_empty() || b.is_empty() || a.len() > 2 || b.len() > 2 || c.len() < 4 {
            continue;
        }
        // The separators: one character each.
        let sep1 = rest.chars().nth(a.len());
        if !matches!(sep1, Some('/' | '-' | '.' | ' ')) {
            continue;
        }
        let year: i32 = c[..4].parse().ok()?;
        let (x, y): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        let (month, day) = if us { (x, y) } else { (y, x) };
        if (1900..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day) {
            return Some(Ymd { year, month, day });
        }
    }
    None
}

/// `CITY, ST 12345` (or `CITY ST 12345-6789`): (city, state, 5-digit ZIP).
fn city_line(text: &str) -> Option<(String, String, String)> {
    let t = upper(text);
    let mut words: Vec<String> = t.split_whitespace().map(str::to_owned).collect();
    // A Canadian postal code (`N1M 3J6`) is one word here.
    let shape = |w: &str, letter_first: bool| {
        w.len() == 3
            && w.chars().enumerate().all(|(k, c)| {
                if (k % 2 == 0) == letter_first {
                    c.is_ascii_uppercase()
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    if let Some(k) = (1..words.len())
        .rev()
        .find(|&k| shape(&words[k - 1], true) && shape(&words[k], false))
    {
        let second = words.remove(k);
        words[k - 1] = format!("{} {second}", words[k - 1]);
    }
    // Its two halves, also when read without the space (`E5K1Y3`).
    let canadian = |w: &str| {
        let w = w.replace(' ', "");
        (w.len() == 6 && w.is_ascii() && shape(&w[..3], true) && shape(&w[3..], false))
            .then(|| format!("{} {}", &w[..3], &w[3..]))
    };
    let zip_at = words.iter().rposition(|w| {
        let d: String = w.chars().take_while(char::is_ascii_digit).collect();
        d.len() == 5 || canadian(w).is_some()
    })?;
    if zip_at == 0 {
        return None;
    }
    let zip: String =
        canadian(&words[zip_at]).unwrap_or_else(|| words[zip_at].chars().take(5).collect());
    // The state: the word before the ZIP, or glued to the city (`CASTLE.DE`, `RALEIGH,NC`).
    let before = words[zip_at - 1].as_str();
    let (city_tail, state) = match before.rsplit_once([',', '.']) {
        Some((c, s)) if s.len() == 2 => (c.to_owned(), s.to_owned()),
        _ if before.len() == 2 && before.chars().all(|c| c.is_ascii_alphabetic()) => {
            (String::new(), before.to_owned())
        }
        _ => return None,
    };
    let mut city: Vec<String> = words[..zip_at - 1]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    if !city_tail.is_empty() {
        city.push(city_tail);
    }
    let city = city
        .join(" ")
        .trim_end_matches([',', '.'])
        .trim()
        .to_owned();
    (!city.is_empty() && state.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some((city, state, zip))
}

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
fn us_layout(lines: &[TextLine]) -> bool {
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

fn left(l: &TextLine) -> f32 {
    l.bbox.cx - l.bbox.width / 2.0
}

fn is_name(text: &str) -> bool {
    let t = text.trim();
    t.len() >= 2
        && t.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | ',' | '-' | '\''))
}

/// Whether `v` can be the value of a field labelled `key`.
fn valid(key: Key, v: &str, us: bool) -> bool {
    let v = v.trim();
    match key {
        Key::Number => {
            v.len() >= 4 && v.chars().any(|c| c.is_ascii_digit()) && find_date(v, us).is_none()
        }
        Key::Expiry | Key::Issued | Key::Birth => find_date(v, us).is_some(),
        Key::Sex => matches!(v.split_whitespace().next(), Some("M" | "F" | "X")),
        Key::Class => v.split_whitespace().next().is_some_and(|c| {
            c != "NONE"
                && c.split(['/', ',']).all(|p| {
                    !p.is_empty() && p.len() <= 3 && p.chars().all(|ch| ch.is_ascii_alphanumeric())
                })
        }),
        Key::Last | Key::Given => is_name(v),
        _ => !v.is_empty(),
    }
}

/// The lines that may hold a label's value when its own line has none, nearest first: to its
/// right on the same row, or straight below it.
fn values_near(lines: &[TextLine], lab: &Labelled, taken: &[bool]) -> Vec<usize> {
    let own = &lines[lab.line].bbox;
    let h = own.height.max(8.0);
    let mut found: Vec<(f32, usize)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i == lab.line || taken[i] {
            continue;
        }
        let b = &l.bbox;
        let dy = b.cy - own.cy;
        let dx = left(l) - lab.x;
        let right = dy.abs() < 0.6 * h && left(l) > own.cx + own.width / 2.0 - 2.0 && dx < 8.0 * h;
        let below = dy > 0.4 * h
            && dy < 2.2 * h
            && lab.x > left(l) - 1.5 * h
            && lab.x < b.cx + b.width / 2.0;
        if right || below {
            found.push((dy.abs() + dx.abs() * 0.3, i));
        }
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    found.into_iter().map(|(_, i)| i).collect()
}

/// A read of the printed fields.
#[derive(Debug, Clone, Default)]
pub struct Printed {
    pub document_type: Option<&'static str>,
    pub data: DocumentData,
    /// Every line read, for specimen words and cross-checks.
    pub lines: Vec<String>,
}

/// Assigns the printed lines to fields.
pub fn read(lines: &[TextLine], today: Ymd) -> Printed {
    // Big boxes are titles, photos and signatures; tiny ones are noise.
    let median_h = {
        let mut h: Vec<f32> = lines.iter().map(|l| l.bbox.height).collect();
        h.sort_by(f32::total_cmp);
        h.get(h.len() / 2).copied().unwrap_or(20.0)
    };
    let lines: Vec<TextLine> = lines
        .iter()
        .filter(|l| {
            // Field numbers and one-letter values (a class `C`, a sex `F`) are read with less
            // certainty than longer text; a label still has to claim them.
            let short = l.text.trim().chars().count() <= 3;
            l.bbox.height < 1.8 * median_h
                && (l.confidence > 0.6 || (short && l.confidence > 0.2))
                && !l.text.trim().is_empty()
        })
        .cloned()
        .collect();
    // Card coordinates: every box turned back by the lines' median angle, so that "to the
    // right" and "below" hold on a photo taken at an angle.
    let theta = crate::ocr::median_angle(lines.iter().map(|l| &l.bbox), 2.0).unwrap_or(0.0);
    let (sin, cos) = theta.sin_cos();
    let lines: Vec<TextLine> = lines
        .into_iter()
        .map(|mut l| {
            let (x, y) = (l.bbox.cx, l.bbox.cy);
            l.bbox.cx = x * cos + y * sin;
            l.bbox.cy = -x * sin + y * cos;
            l.bbox.angle -= theta;
            l
        })
        .collect();
    let us = us_layout(&lines);
    let mut labelled = labels(&lines);
    for lab in &mut labelled {
        if lab.key == Key::Five {
            lab.key = if us { Key::Other } else { Key::Number };
        }
    }
    // Lines that start with a field number: the card uses the numbered design.
    let numbered_lines = lines
        .iter()
        .filter(|l| {
            let t = upper(&l.text);
            let first = t.split_whitespace().next().unwrap_or("");
            let digits = first.chars().take_while(char::is_ascii_digit).count();
            (1..=2).contains(&digits)
                && numbered(&first[..digits.min(first.len())]).is_some()
                && first.len() <= 6
                && !first.contains('/')
        })
        .count();
    let mut taken = vec![false; lines.len()];
    let mut values: HashMap<Key, String> = HashMap::new();
    // A line that is only a field number (`8`) may as well be a value (a class `8` for `B`).
    let bare =
        |i: usize| numbered(upper(&lines[i].text).trim().trim_end_matches(['.', ','])).is_some();
    for lab in &labelled {
        taken[lab.line] |= !bare(lab.line);
    }
    for lab in &labelled {
        if lab.key == Key::Other || values.contains_key(&lab.key) {
            continue;
        }
        let v = mend(lab.key, lab.value.trim());
        if valid(lab.key, &v, us) {
            values.insert(lab.key, v);
            continue;
        }
        if !v.is_empty() {
            continue;
        }
        // The value box: its first word for short fields, all of it otherwise.
        for i in values_near(&lines, lab, &taken) {
            let t = upper(&lines[i].text);
            let v = match lab.key {
                Key::Sex | Key::Class => t.split_whitespace().next().unwrap_or("").to_owned(),
                _ => mend(lab.key, &t),
            };
            if valid(lab.key, &v, us) {
                values.insert(lab.key, v);
                taken[i] = true;
                break;
            }
        }
    }

    let mut d = DocumentData::default();
    let conf = |v: f32| f64::from(v).min(0.9);
    let field = |v: &str, c: f64| -> Option<Field<String>> {
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        (!v.is_empty()).then_some(Field {
            value: v,
            confidence: c,
            source: crate::data::Source::Viz,
        })
    };
    let mean_conf =
        conf(lines.iter().map(|l| l.confidence).sum::<f32>() / lines.len().max(1) as f32);

    // Dates: labelled, then by order among every date printed.
    let mut dates: Vec<Ymd> = lines
        .iter()
        .filter_map(|l| find_date(&l.text, us))
        .collect();
    dates.sort();
    dates.dedup();
    let labelled_date = |k: Key| values.get(&k).and_then(|v| find_date(v, us));
    let mut birth = labelled_date(Key::Birth);
    let mut expiry = labelled_date(Key::Expiry);
    let mut issued = labelled_date(Key::Issued);
    let free: Vec<Ymd> = dates
        .iter()
        .copied()
        .filter(|d| Some(*d) != birth && Some(*d) != expiry && Some(*d) != issued)
        .collect();
    if birth.is_none() {
        birth = free.first().copied().filter(|d| d.years_until(today) >= 10);
    }
    let free: Vec<Ymd> = free.into_iter().filter(|d| Some(*d) != birth).collect();
    if expiry.is_none() {
        expiry = free
            .last()
            .copied()
            .filter(|d| birth.is_none_or(|b| *d > b));
    }
    let free: Vec<Ymd> = free.into_iter().filter(|d| Some(*d) != expiry).collect();
    if issued.is_none() {
        issued = free
            .iter()
            .copied()
            .find(|d| birth.is_none_or(|b| *d > b) && expiry.is_none_or(|e| *d < e) && *d <= today);
    }
    for (which, date) in [("dob", birth), ("expiry", expiry), ("issued", issued)] {
        if let Some(date) = date {
            d.set_date(which, date, mean_conf, crate::data::Source::Viz, today);
        }
    }

    // An EU licence whose small field numbers were not read (a blurred photo) still has its
    // fields in the Directive's order, in one column: fill what no label gave from there.
    let document_type = classify(&lines);
    if let Some(b) = birth.filter(|_| !us && document_type == Some("drivers_license")) {
        eu_order(&lines, b, &mut values, &mut taken);
    }

    // Number: labelled (without a `NO.` prefix and spaces), else the longest code-like token.
    let number = values.get(&Key::Number).map(|v| {
        let v = v.trim_start_matches(['#', ':', '.']).trim();
        let v = ["NO.", "NO:", "NO ", "O.", "NO"]
            .iter()
            .find_map(|p| v.strip_prefix(p))
            .unwrap_or(v);
        let first: Vec<&str> = v.split_whitespace().collect();
        // Digits in groups (`99 999 999`) belong together; a word after them does not.
        let mut out = String::new();
        for w in first {
            if out.is_empty() || w.chars().all(|c| c.is_ascii_digit()) {
                out.push_str(w.trim_matches([':', '.']));
            } else {
                break;
            }
        }
        out
    });
    let number = number.filter(|n| n.len() >= 4).or_else(|| {
        lines
            .iter()
            .map(|l| upper(&l.text))
            .filter(|t| !t.contains(' '))
            .filter(|t| {
                let digits = t.chars().filter(char::is_ascii_digit).count();
                t.len() >= 7
                    && digits * 2 >= t.len()
                    && find_date(t, us).is_none()
                    && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .max_by_key(|t| t.len())
    });
    d.document_number = number.as_deref().and_then(|n| field(n, mean_conf));

    // Address: the city line, the street line(s) above it.
    let city_at = lines.iter().position(|l| city_line(&l.text).is_some());
    let mut name_lines: Vec<usize> = Vec::new();
    if let Some(ci) = city_at {
        let (city, state, zip) = city_line(&lines[ci].text).unwrap_or_default();
        let city_left = left(&lines[ci]);
        let h = lines[ci].bbox.height;
        // Lines above, left-aligned with the city line (or one field number to its left).
        let mut above: Vec<usize> = (0..lines.len())
            .filter(|&i| {
                i != ci
                    && lines[i].bbox.cy < lines[ci].bbox.cy - 0.4 * h
                    && lines[i].bbox.cy > lines[ci].bbox.cy - 8.0 * h
                    && (left(&lines[i]) - city_left).abs() < 2.5 * h
            })
            .collect();
        above.sort_by(|&a, &b| lines[b].bbox.cy.total_cmp(&lines[a].bbox.cy));
        let mut street: Vec<String> = Vec::new();
        let numbered_card = numbered_lines >= 2;
        for &i in &above {
            let t = upper(&lines[i].text);
            let t = t.trim();
            // Field numbers and specks (a label read as `N`) stand between the lines.
            if bare(i) || t.chars().count() <= 2 {
                continue;
            }
            // Straight above the city line, a house number starts the street whatever words
            // in it look like labels (`12` is a field number, `LN` a surname label).
            // Not a field number with its label or value (`2 DIANA ROSE`, `15 SEX F`) when the
            // street itself was not found.
            let words: Vec<&str> = t.split_whitespace().collect();
            let house = street.is_empty()
                && name_lines.is_empty()
                && words.len() >= 2
                && words[0].chars().all(|c| c.is_ascii_digit())
                && matches!(numbered(words[0]), None | Some(Key::Other | Key::Address))
                && word_label(words[1], false).is_none();
            if !house
                && labelled
                    .iter()
                    .any(|l| l.line == i && matches!(l.key, Key::Last | Key::Given))
            {
                name_lines.push(i);
                continue;
            }
            if !house
                && labelled
                    .iter()
                    .any(|l| l.line == i && l.key != Key::Address)
            {
                break;
            }
            let t = t.strip_prefix("8 ").unwrap_or(t);
            let starts_digit = t.starts_with(|c: char| c.is_ascii_digit());
            if street.len() < 2
                && name_lines.is_empty()
                && (starts_digit
                    || street.is_empty()
                    || t.starts_with("APT")
                    || t.starts_with("UNIT")
                    || t.starts_with("SUITE"))
                && !is_name(t)
            {
                // `8123 MAIN ST` on a numbered card: the field number glued to the street
                // (the line starts left of the city line, where the field numbers stand).
                let t =
                    if numbered_card && t.starts_with('8') && left(&lines[i]) < city_left - 0.3 * h
                    {
                        t[1..].trim_start().to_owned()
                    } else {
                        t.to_owned()
                    };
                street.insert(0, t);
            } else if is_name(t) && name_lines.len() < 2 {
                name_lines.push(i);
            } else {
                break;
            }
        }
        // A second street line is one without a house number (`APT. 1`).
        let fix = |s: &str| -> String {
            let mut out = String::new();
            let chars: Vec<char> = s.chars().collect();
            for (k, c) in chars.iter().enumerate() {
                out.push(*c);
                if *c == '.' && chars.get(k + 1).is_some_and(char::is_ascii_digit) {
                    out.push(' ');
                }
            }
            out
        };
        d.address_street = street.first().and_then(|s| field(&fix(s), mean_conf));
        d.address_street2 = street.get(1).and_then(|s| field(&fix(s), mean_conf));
        d.address_city = field(&city, mean_conf);
        d.address_state = field(&state, mean_conf);
        d.address_postal_code = field(&zip, mean_conf);
        let line = [street.join(", "), format!("{city}, {state} {zip}")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        d.address = field(&line, mean_conf);
        if us {
            d.issuing_authority = field(&state, mean_conf);
        }
    } else if let Some(a) = values.get(&Key::Address) {
        d.address = field(a, mean_conf);
    }

    // Names: labelled, else the name lines above the address (bottom-up order reversed).
    name_lines.reverse();
    let strip_num = strip_field_number;
    let mut last = values.get(&Key::Last).cloned();
    let mut given = values.get(&Key::Given).cloned();
    let unlabelled: Vec<String> = name_lines
        .iter()
        .filter(|&&i| {
            !taken[i]
                && !labelled
                    .iter()
                    .any(|l| l.line == i && matches!(l.key, Key::Last | Key::Given))
        })
        .map(|&i| strip_num(&upper(&lines[i].text)))
        .filter(|t| is_name(t))
        .collect();
    // One name labelled, the other not (its small field number missed): the other is the
    // free name line next to it, above the given names or below the surname.
    let neighbour = |value: &str, above: bool| -> Option<String> {
        let at = lines.iter().position(|l| upper(&l.text).contains(value))?;
        let b = &lines[at].bbox;
        lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                let dy = if above {
                    b.cy - l.bbox.cy
                } else {
                    l.bbox.cy - b.cy
                };
                *i != at
                    && !taken[*i]
                    && dy > 0.5 * b.height
                    && dy < 2.5 * b.height
                    && (left(l) - left(&lines[at])).abs() < 2.0 * b.height
                    && is_name(&upper(&l.text))
            })
            .min_by(|a, c| {
                (a.1.bbox.cy - b.cy)
                    .abs()
                    .total_cmp(&(c.1.bbox.cy - b.cy).abs())
            })
            .map(|(_, l)| strip_num(&upper(&l.text)))
    };
    if last.is_none()
        && let Some(g) = &given
    {
        last = neighbour(g, true);
    } else if given.is_none()
        && let Some(l) = &last
    {
        given = neighbour(l, false);
    }
    match (last.is_some(), given.is_some(), unlabelled.as_slice()) {
        (false, true, [.., l]) => last = Some(l.clone()),
        (true, false, [g, ..]) => given = Some(g.clone()),
        (false, false, [one]) => {
            if let Some((l, g)) = one.split_once(',') {
                last = Some(l.trim().to_owned());
                given = Some(g.trim().to_owned());
            } else {
                let words: Vec<&str> = one.split_whitespace().collect();
                if words.len() >= 2 {
                    given = Some(words[..words.len() - 1].join(" "));
                    last = words.last().map(|w| (*w).to_owned());
                }
            }
        }
        (false, false, [a, b]) => {
            // `LAST` over `FIRST, MIDDLE` (comma), the numbered order (1 then 2), or the
            // older `FIRST` over `LAST`.
            if b.contains(',') || numbered_lines >= 2 {
                (last, given) = (Some(a.clone()), Some(b.replace(',', " ")));
            } else {
                (given, last) = (Some(a.clone()), Some(b.clone()));
            }
        }
        _ => {}
    }
    if let Some(g) = given {
        let g = g.replace(',', " ");
        let words: Vec<&str> = g.split_whitespace().collect();
        d.first_name = words.first().and_then(|w| field(w, mean_conf));
        d.middle_name = (words.len() > 1)
            .then(|| words[1..].join(" "))
            .and_then(|m| field(&m, mean_conf));
    }
    d.last_name = last
        .as_deref()
        .map(|l| l.trim_end_matches(','))
        .and_then(|l| field(l, mean_conf));
    let full: Vec<String> = [&d.first_name, &d.middle_name, &d.last_name]
        .into_iter()
        .filter_map(|f| f.as_ref().map(|f| f.value.clone()))
        .collect();
    d.full_name = field(&full.join(" "), mean_conf);

    d.sex = values
        .get(&Key::Sex)
        .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        .filter(|s| matches!(s.as_str(), "M" | "F" | "X"))
        .and_then(|s| field(&s, mean_conf));
    // Class codes start with a letter: a lone `8` is a `B` misread.
    d.vehicle_class = values
        .get(&Key::Class)
        .and_then(|v| {
            v.split_whitespace()
                .next()
                .map(|s| s.trim_matches([':', '.']).to_owned())
        })
        .map(|s| if s == "8" { "B".to_owned() } else { s })
        .filter(|s| !s.is_empty() && s.len() <= 12 && s != "NONE")
        .and_then(|s| field(&s, mean_conf));
    if let Some(p) = values.get(&Key::Place) {
        d.place_of_birth = field(p, mean_conf);
    }
    // EU field 3: the date of birth, then the place of birth.
    if let Some(b) = values
        .get(&Key::Birth)
        .filter(|_| !us && d.place_of_birth.is_none())
    {
        let place: Vec<&str> = b
            .split_whitespace()
            .skip_while(|t| find_date(t, us).is_none())
            .skip(1)
            .collect();
        d.place_of_birth = field(&place.join(" "), mean_conf);
    }
    if let Some(a) = values.get(&Key::Authority) {
        d.issuing_authority = field(a, mean_conf);
    }
    if us {
        d.country_iso3 = field("USA", mean_conf);
        d.country_iso2 = field("US", mean_conf);
        d.country_full = field("United States of America", mean_conf);
    }
    d.document_type = document_type.and_then(|t| field(t, mean_conf));
    Printed {
        document_type,
        data: d,
        lines: lines.iter().map(|l| l.text.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_in_both_orders() {
        assert_eq!(
            find_date("EXP 08/31/2014", true).unwrap().to_string(),
            "2014-08-31"
        );
        assert_eq!(
            find_date("4b. 31.01.2028", false).unwrap().to_string(),
            "2028-01-31"
        );
        assert_eq!(
            find_date("x04/30/2022", true).unwrap().to_string(),
            "2022-04-30"
        );
        assert_eq!(find_date("5'-09\"", true), None);
        assert_eq!(
            find_date("12 AUG/AOÛT 1964", false).unwrap().to_string(),
            "1964-08-12"
        );
        assert_eq!(
            find_date("Geburtstag 03 MÄR 1990", false)
                .unwrap()
                .to_string(),
            "1990-03-03"
        );
    }

    #[test]
    fn knows_bilingual_labels() {
        assert_eq!(phrase_label("NOM / SURNAME"), Some(Key::Last));
        assert_eq!(phrase_label("PRÉNOMS / GIVEN NAMES:"), Some(Key::Given));
        assert_eq!(phrase_label("PRÈNOMS / GIVEN NAMES"), Some(Key::Given));
        assert_eq!(phrase_label("PRÈNOMS / SURNAME"), None);
        assert_eq!(phrase_label("NOM / PRÉNOMS"), None);
        assert_eq!(phrase_label("SAMPLE STREET"), None);
    }

    /// Lines of one column, 40 px apart, their left edges at x = 300 (the title further left).
    fn column(texts: &[&str]) -> Vec<TextLine> {
        texts
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let width = 14.0 * t.len() as f32;
                let x = if k == 0 { 150.0 } else { 300.0 };
                TextLine {
                    text: (*t).to_owned(),
                    confidence: 0.95,
                    bbox: crate::ocr::TextBox {
                        cx: x + width / 2.0,
                        cy: 100.0 + 40.0 * k as f32,
                        width,
                        height: 22.0,
                        angle: 0.0,
                    },
                }
            })
            .collect()
    }

    #[test]
    fn an_eu_licence_without_its_field_numbers_is_read_by_order() {
        let today = Ymd::parse("2026-12-02").unwrap();
        let p = read(
            &column(&[
                "FÜHRERSCHEIN",
                "MUELLER",
                "OLUWASEUN",
                "25.02.1963 BERLIN",
                "06.12.2023",
                "06.12.2033",
                "LANDRATSAMT MUSTERKREIS",
                "GBAM5AVM",
                "~",
                "AM/B",
            ]),
            today,
        );
        let get = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
        assert_eq!(get(&p.data.last_name).as_deref(), Some("MUELLER"));
        assert_eq!(get(&p.data.first_name).as_deref(), Some("OLUWASEUN"));
        assert_eq!(get(&p.data.place_of_birth).as_deref(), Some("BERLIN"));
        assert_eq!(
            get(&p.data.issuing_authority).as_deref(),
            Some("LANDRATSAMT MUSTERKREIS")
        );
        assert_eq!(get(&p.data.document_number).as_deref(), Some("GBAM5AVM"));
        assert_eq!(get(&p.data.vehicle_class).as_deref(), Some("AM/B"));
        // The number (5) not read: the categories (9) are not taken for it.
        let p = read(
            &column(&["RIJBEWIJS", "JANSEN", "EVA", "01.02.1990 DELFT", "B/C1"]),
            today,
        );
        assert_eq!(get(&p.data.document_number), None);
        assert_eq!(get(&p.data.vehicle_class).as_deref(), Some("B/C1"));
        // Not a driving licence: no field is taken by its place in a column.
        let p = read(
            &column(&["IDENTITY CARD", "MUELLER", "OLUWASEUN", "25.02.1963 BERLIN"]),
            today,
        );
        assert_eq!(p.data.place_of_birth, None);
    }

    #[test]
    fn a_house_number_starts_the_street_whatever_looks_like_a_label() {
        let today = Ymd::parse("2026-12-02").unwrap();
        let street = |texts: &[&str]| {
            read(&column(texts), today)
                .data
                .address_street
                .map(|f| f.value)
        };
        let card = |street_line: &'static str| {
            [
                "DRIVER LICENSE",
                "1 CORTEZ",
                "2 PABLO LUIS",
                street_line,
                "STRATFORD, CT 06614",
            ]
        };
        // `12` is field number 12, `LN` the surname label.
        assert_eq!(
            street(&card("12 DOGWOOD CT APT B")).as_deref(),
            Some("12 DOGWOOD CT APT B")
        );
        assert_eq!(street(&card("715 MAIN LN")).as_deref(), Some("715 MAIN LN"));
        // The street not read: the given names above the city line are not taken for it.
        assert_eq!(
            street(&[
                "DRIVER LICENSE",
                "1 CORTEZ",
                "2 PABLO LUIS",
                "STRATFORD, CT 06614"
            ]),
            None
        );
    }

    #[test]
    fn mends_slips_inside_names_only() {
        assert_eq!(mend(Key::Given, "KENJ!"), "KENJI");
        assert_eq!(mend(Key::Last, "J0HNSON SM1TH"), "JOHNSON SMITH");
        assert_eq!(mend(Key::Given, "ASTRID MARIA"), "ASTRID MARIA");
        assert_eq!(mend(Key::Number, "J0HN1"), "J0HN1");
        assert_eq!(mend(Key::Last, "12 345"), "12 345");
    }

    #[test]
    fn splits_city_lines() {
        for (line, split) in [
            (
                "NEW CASTLE.DE 19720-0000",
                Some(("NEW CASTLE", "DE", "19720")),
            ),
            (
                "HARRISBURG, PA 17101-0000",
                Some(("HARRISBURG", "PA", "17101")),
            ),
            ("123 MAIN STREET", None),
            ("FERGUS, ON N1M 3J6", Some(("FERGUS", "ON", "N1M 3J6"))),
            (
                "GRND-BAY-WFLD, NB E5K1Y3",
                Some(("GRND-BAY-WFLD", "NB", "E5K 1Y3")),
            ),
            // Six bytes, not six letters: no slicing inside a character.
            ("PARIS, FR ÉÉÉ", None),
        ] {
            let split = split.map(|(c, s, z): (&str, &str, &str)| (c.into(), s.into(), z.into()));
            assert_eq!(city_line(line), split, "{line}");
        }
    }
}
