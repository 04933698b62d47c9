//! The last line of an address: `CITY, ST 12345` (US), `CITY PR A1A 1A1` (Canada).

use super::labels::upper;

/// `CITY, ST 12345` (or `CITY ST 12345-6789`): (city, state, 5-digit ZIP).
pub(super) fn city_line(text: &str) -> Option<(String, String, String)> {
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
