//! Dates as cards print them: numeric (US month first, or day first), or with a month's name
//! in one of the languages read.

use crate::date::Ymd;

/// Month abbreviations as cards print them (English, French, German, Spanish, Italian).
pub(super) const MONTHS: [&[&str]; 12] = [
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
pub(super) fn month_date(text: &str) -> Option<Ymd> {
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
