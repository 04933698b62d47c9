//! The one-line machine-readable zone of EU driving licences (ISO/IEC 18013, e.g. Dutch and
//! French cards): 30 characters, `D`, a configuration character, the issuing state (3 letters),
//! then licence data, the last character a check digit (ICAO 7-3-1) over the 29 before it.
//!
//! Only the frame is fixed across issuers, so idv takes from it what the frame guarantees: the
//! issuing state, and a line whose check digit verifies. The licence number printed in field 5
//! must appear in it; whether it does is the cross-check.

use serde::Serialize;

/// A verified licence line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenceLine {
    pub line: String,
    /// ICAO code of the issuing state.
    pub issuing_state: String,
}

/// Reads one recognised line as a licence line, when its frame and check digit hold.
pub fn read(text: &str) -> Option<LicenceLine> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.len() != 30
        || !t
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
    {
        return None;
    }
    let b = t.as_bytes();
    // The state: three letters, or fewer filled with `<` (`D<<`).
    if b[0] != b'D'
        || !b[2].is_ascii_uppercase()
        || !b[3..5].iter().all(|c| c.is_ascii_uppercase() || *c == b'<')
    {
        return None;
    }
    let check = mrz::check_digit(&t[..29]).ok()?;
    (char::from(b[29]).to_digit(10) == Some(check)).then(|| LicenceLine {
        issuing_state: t[2..5].trim_end_matches('<').to_owned(),
        line: t,
    })
}

impl LicenceLine {
    /// Whether `number` (printed field 5) stands in the line's data, fillers ignored.
    pub fn holds(&self, number: &str) -> bool {
        let n: String = number.chars().filter(char::is_ascii_alphanumeric).collect();
        !n.is_empty()
            && self.line[5..29]
                .replace('<', "")
                .contains(&n.to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line with its check digit appended.
    fn line(body: &str) -> String {
        format!("{body}{}", mrz::check_digit(body).unwrap())
    }

    #[test]
    fn reads_a_line_whose_check_digit_verifies() {
        let text = line("D1NLD14589632107ABCDEFGH12<<<");
        assert_eq!(text.len(), 30);
        let l = read(&text).unwrap();
        assert_eq!(l.issuing_state, "NLD");
        assert!(l.holds("4589632107"));
        assert!(!l.holds("4589632108"));
        // One character misread: the check digit no longer verifies.
        assert_eq!(read(&text.replacen("458", "453", 1)), None);
        assert_eq!(read("P<UTOERIKSSON<<ANNA<MARIA<<<<<"), None);
        assert_eq!(
            read(&line("D1D<<1B072RRE2I55<<<<<<<<<<<<"))
                .unwrap()
                .issuing_state,
            "D"
        );
    }
}
