//! The machine-readable zone: parsing and checking ICAO 9303 text with the `mrz` crate, and
//! reporting what check-digit-guided repair changed.
//!
//! `mrz::find_and_parse` finds a zone in OCR text, fixes widths and tries the usual OCR
//! confusions (0/O, 1/I, 2/Z, 5/S, 6/G, 8/B…) in positions whose type is known, keeping a
//! repair only when the check digits then agree. idv diffs its output against the input so
//! every repaired character is reported.

use serde::Serialize;

use crate::date::Ymd;
use crate::read_line::ReadLine;

/// One character changed by repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// Zero-based line.
    pub line: usize,
    /// Zero-based column.
    pub position: usize,
    pub from: char,
    pub to: char,
}

/// Per-field check-digit results (`None`: the format has no such check digit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneChecks {
    pub document_number: Option<bool>,
    pub birth_date: Option<bool>,
    pub expiry_date: Option<bool>,
    pub personal_number: Option<bool>,
    pub composite: Option<bool>,
}

/// A read and checked MRZ.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// `TD1`, `TD2`, `TD3`, `MRV-A`, `MRV-B`, or `FR-ID` (the French identity card of
    /// 1988–2021, two lines of 36 in a layout of its own).
    pub format: &'static str,
    /// The zone's lines after repair.
    pub lines: Vec<String>,
    /// Every check digit the format prints agrees.
    pub valid: bool,
    pub checks: ZoneChecks,
    /// Characters repaired under check-digit agreement (or width fixes, reported as line changes).
    pub repairs: Vec<Repair>,
    #[serde(skip)]
    pub parsed: mrz::MrzData,
}

/// Why no zone was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("no machine-readable zone found")]
    NotFound,
    #[error("machine-readable zone is malformed: {0}")]
    Malformed(String),
    /// Text shaped like a zone whose composite check digit and all but one of its field
    /// check digits disagree (e.g. printed lines on a licence front): not taken as an MRZ.
    #[error(
        "text shaped like a machine-readable zone, but its check digits disagree (no composite, fewer than two fields)"
    )]
    CheckDigitsDisagree,
}

impl Zone {
    /// Finds, repairs and parses a zone in text (typed lines, or OCR output without scores).
    pub fn read(text: &str) -> Result<Zone, ZoneError> {
        Self::read_with(text, &[])
    }

    /// Like [`Zone::read`] for recognised lines: where several repairs satisfy every check
    /// digit, the recogniser's character probabilities choose between them.
    pub fn read_ocr(lines: &[ReadLine]) -> Result<Zone, ZoneError> {
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        Self::read_with(&text.join("\n"), lines)
    }

    fn read_with(text: &str, ocr: &[ReadLine]) -> Result<Zone, ZoneError> {
        let input = normalise(text);
        if let Some((lines, parsed, checks)) = french_identity_card(&input) {
            let before: Vec<&str> = input.lines().collect();
            return Ok(Zone {
                format: "FR-ID",
                valid: checks.composite == Some(true)
                    && checks.document_number == Some(true)
                    && checks.birth_date == Some(true),
                repairs: diff(&before, &lines),
                checks,
                lines,
                parsed,
            });
        }
        let found = mrz::find_and_parse(&input)
            .or_else(|_| mrz::find_and_parse(&letters_in_letter_fields(&input)))
            .map_err(|e| match e {
                mrz::MrzError::NotFound => ZoneError::NotFound,
                other => ZoneError::Malformed(other.to_string()),
            })?;
        // Letter-only fields (document code, states, names) hold no digits: read digits there
        // as the letters OCR confuses them with. Then, if a check still fails, try confusable
        // substitutions in the document number, kept only when every check digit then agrees.
        let mut parsed = found;
        let lines: Vec<String> = parsed.mrz_lines.lines().map(str::to_owned).collect();
        let lettered = fix_letter_fields(&parsed.format, &lines);
        if lettered != lines
            && let Ok(p) = mrz::find_and_parse(&lettered.join("\n"))
            && (p.valid() || !parsed.valid())
        {
            parsed = p;
        }
        if !parsed.valid()
            && let Some(p) = repair_document_number(&parsed, ocr)
        {
            parsed = p;
        }
        let c = &parsed.checks;
        // An ICAO zone only when its check digits say so: the composite agrees, or at least
        // two of the document number's, birth date's and expiry's do (after repair). Text that
        // merely looks like a zone (a licence's printed lines, a chance match) is no MRZ.
        if !digits_agree(
            c.composite,
            &[c.document_number, c.date_of_birth, c.date_of_expiry],
        ) {
            return Err(ZoneError::CheckDigitsDisagree);
        }
        let lines: Vec<String> = parsed.mrz_lines.lines().map(str::to_owned).collect();
        let before: Vec<&str> = input.lines().collect();
        let repairs = diff(&before, &lines);
        Ok(Zone {
            format: format_name(&parsed.format),
            valid: parsed.valid(),
            checks: ZoneChecks {
                document_number: c.document_number,
                birth_date: c.date_of_birth,
                expiry_date: c.date_of_expiry,
                personal_number: c.personal_number,
                composite: c.composite,
            },
            lines,
            repairs,
            parsed,
        })
    }

    /// Date of birth as a calendar date, when it is one.
    pub fn birth_date(&self) -> Option<Ymd> {
        calendar(self.parsed.date_of_birth)
    }

    /// Date of expiry as a calendar date, when it is one.
    pub fn expiry_date(&self) -> Option<Ymd> {
        calendar(self.parsed.date_of_expiry)
    }
}

fn calendar(d: mrz::MrzDate) -> Option<Ymd> {
    d.calendar().map(|c| Ymd {
        year: c.year,
        month: c.month,
        day: c.day,
    })
}

fn format_name(f: &mrz::Format) -> &'static str {
    match f {
        mrz::Format::Td1 => "TD1",
        mrz::Format::Td2 => "TD2",
        mrz::Format::Td3 => "TD3",
        mrz::Format::MrvA => "MRV-A",
        mrz::Format::MrvB => "MRV-B",
        _ => "MRZ",
    }
}

/// Upper-cases, drops spaces and characters outside the MRZ alphabet that OCR inserts.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| match c.to_ascii_uppercase() {
                    '«' | '‹' | '(' | '[' | '{' => '<',
                    other => other,
                })
                .collect::<String>()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The usual OCR digit-for-letter confusions, read back as letters.
fn as_letter(c: char) -> char {
    match c {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '6' => 'G',
        '8' => 'B',
        other => other,
    }
}

/// The letter-only ranges of each line of a zone: (line, columns).
fn letter_fields(format: &mrz::Format) -> &'static [(usize, std::ops::Range<usize>)] {
    match format {
        mrz::Format::Td1 => &[(0, 0..5), (1, 15..18), (2, 0..30)],
        mrz::Format::Td2 | mrz::Format::MrvB => &[(0, 0..36), (1, 10..13)],
        _ => &[(0, 0..44), (1, 10..13)],
    }
}

/// Reads digits as letters in a zone's letter-only fields.
fn fix_letter_fields(format: &mrz::Format, lines: &[String]) -> Vec<String> {
    let mut out = lines.to_vec();
    for (line, range) in letter_fields(format) {
        if let Some(l) = out.get_mut(*line) {
            *l = l
                .chars()
                .enumerate()
                .map(|(i, c)| if range.contains(&i) { as_letter(c) } else { c })
                .collect();
        }
    }
    out
}

/// Before the zone is found: guesses the format from line lengths (3 × 30, 2 × 36, 2 × 44)
/// and reads digits as letters in its letter-only fields, so a misread document code
/// (`1<` for `I<`) does not hide the zone.
fn letters_in_letter_fields(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let near = |l: &String, n: usize| l.len().abs_diff(n) <= 2;
    for i in 0..lines.len() {
        let rest = &lines[i..];
        let format = if rest.len() >= 3 && rest[..3].iter().all(|l| near(l, 30)) {
            mrz::Format::Td1
        } else if rest.len() >= 2 && near(&rest[0], 44) && near(&rest[1], 44) {
            mrz::Format::Td3
        } else if rest.len() >= 2 && near(&rest[0], 36) && near(&rest[1], 36) {
            mrz::Format::Td2
        } else {
            continue;
        };
        let mut out = lines[..i].to_vec();
        out.extend(fix_letter_fields(&format, rest));
        return out.join("\n");
    }
    text.to_owned()
}

/// Tries confusable substitutions in the document number when its check digit fails. Of the
/// candidates with which every check digit of the zone verifies, keeps the only one, or (with
/// recogniser output) the one the recogniser found most likely.
fn repair_document_number(parsed: &mrz::MrzData, ocr: &[ReadLine]) -> Option<mrz::MrzData> {
    if parsed.checks.document_number != Some(false) {
        return None;
    }
    let lines: Vec<String> = parsed.mrz_lines.lines().map(str::to_owned).collect();
    let (line, start) = if parsed.format == mrz::Format::Td1 {
        (0, 5)
    } else {
        (1, 0)
    };
    let text = lines.get(line)?;
    let field = text.get(start..start + 9)?;
    let check = text.chars().nth(start + 9)?;
    let candidates = match mrz::solve_substitution(field, check, mrz::FieldKind::DocumentNumber) {
        mrz::Resolution::Unique(s) => vec![s],
        mrz::Resolution::Ambiguous { candidates } => candidates,
        _ => return None,
    };
    let verified: Vec<(String, mrz::MrzData)> = candidates
        .into_iter()
        .filter_map(|c| {
            let mut fixed = lines.clone();
            fixed[line].replace_range(start..start + 9, &c);
            let p = mrz::find_and_parse(&fixed.join("\n"))
                .ok()
                .filter(|p| p.valid())?;
            Some((c, p))
        })
        .collect();
    if verified.len() == 1 {
        return verified.into_iter().next().map(|(_, p)| p);
    }
    // Several readings verify: the check digits cannot choose, the recogniser can.
    let read = best_match(ocr, text)?;
    let score = |candidate: &str| -> f32 {
        candidate
            .chars()
            .enumerate()
            .map(|(i, c)| read.probability(start + i, c).unwrap_or(0.0).max(1e-6).ln())
            .sum()
    };
    verified
        .into_iter()
        .map(|(c, p)| (score(&c), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

/// The recognised line of the same length that agrees best with `line`.
fn best_match<'a>(ocr: &'a [ReadLine], line: &str) -> Option<&'a ReadLine> {
    ocr.iter()
        .filter(|r| r.text.len() == line.len())
        .max_by_key(|r| {
            r.text
                .chars()
                .zip(line.chars())
                .filter(|(a, b)| a == b)
                .count()
        })
}

/// Character changes between the input lines and the repaired zone, line by line where the
/// repaired line can be matched to an input line of the same length.
fn diff(before: &[&str], after: &[String]) -> Vec<Repair> {
    let mut repairs = Vec::new();
    for (i, new) in after.iter().enumerate() {
        // Match by best overlap among input lines of equal length.
        let best = before
            .iter()
            .filter(|old| old.chars().count() == new.chars().count())
            .max_by_key(|old| old.chars().zip(new.chars()).filter(|(a, b)| a == b).count());
        if let Some(old) = best {
            for (pos, (a, b)) in old.chars().zip(new.chars()).enumerate() {
                if a != b {
                    repairs.push(Repair {
                        line: i,
                        position: pos,
                        from: a,
                        to: b,
                    });
                }
            }
        }
    }
    repairs
}

/// ICAO 9303's check digit of a field (10, which no digit equals, for a field that has none).
fn check_digit(s: &str) -> u32 {
    mrz::check_digit(s).unwrap_or(10)
}

/// Whether a zone's check digits make it one: the composite agrees, or at least two of the
/// fields' do (one agreeing alone happens by chance one time in ten).
fn digits_agree(composite: Option<bool>, fields: &[Option<bool>]) -> bool {
    composite == Some(true) || fields.iter().filter(|d| **d == Some(true)).count() >= 2
}

/// OCR's usual confusions in a field of letters (names) or of digits (numbers).
fn as_letters(s: &str) -> String {
    s.chars().map(as_letter).collect()
}

fn as_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'O' | 'Q' | 'D' => '0',
            'I' | 'L' => '1',
            'Z' => '2',
            'S' => '5',
            'G' => '6',
            'B' => '8',
            c => c,
        })
        .collect()
}

/// The French identity card of 1988–2021 (two lines of 36, not an ICAO layout): line 1 `IDFRA`,
/// the surname (25) and the issuing office (6); line 2 the card number (12: year, month,
/// department, sequence) and its check digit, the given names (14), the birth date and its
/// check digit, the sex, and a check digit over both lines. The card carries no expiry in
/// its zone. Read into the equivalent TD2 zone (the long number in TD2's overflow form) so
/// that it parses like any other; `None` when the text holds no such zone or its check
/// digits disagree (the composite, or both the number's and the birth date's).
fn french_identity_card(text: &str) -> Option<(Vec<String>, mrz::MrzData, ZoneChecks)> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let at = lines
        .windows(2)
        .position(|w| w[0].len() == 36 && w[0].starts_with("IDFRA") && w[1].len() == 36)?;
    let raw1 = lines[at];
    // The surname is letters; the issuing office's code (the last six) may hold digits.
    let l1 = format!("IDFRA{}{}", as_letters(&raw1[5..30]), &raw1[30..36]);
    let raw2 = lines[at + 1];
    let number = as_digits(&raw2[0..12]);
    let number_check = as_digits(&raw2[12..13]);
    let given = as_letters(&raw2[13..27]);
    let dob = as_digits(&raw2[27..33]);
    let dob_check = as_digits(&raw2[33..34]);
    let sex = &raw2[34..35];
    let composite = as_digits(&raw2[35..36]);
    let l2 = format!("{number}{number_check}{given}{dob}{dob_check}{sex}");
    let digit = |s: &str| s.parse::<u32>().ok();
    let checks = ZoneChecks {
        document_number: Some(digit(&number_check) == Some(check_digit(&number))),
        birth_date: Some(digit(&dob_check) == Some(check_digit(&dob))),
        expiry_date: None,
        personal_number: None,
        composite: Some(digit(&composite) == Some(check_digit(&format!("{l1}{l2}")))),
    };
    if !digits_agree(
        checks.composite,
        &[checks.document_number, checks.birth_date],
    ) {
        return None;
    }
    // The same holder in TD2: I<FRA names / number (9 + overflow) FRA birth sex no expiry.
    let surname = l1[5..30].trim_end_matches('<');
    let names = format!("{surname}<<{}", given.trim_end_matches('<'));
    let td2_1 = format!("IDFRA{names:<<31}");
    let td2_1: String = td2_1.chars().take(36).collect();
    let optional = format!("{}{}", &number[9..], check_digit(&number));
    let mut td2_2 = format!(
        "{}<FRA{dob}{}{sex}<<<<<<0{optional:<<7}",
        &number[..9],
        check_digit(&dob)
    );
    td2_2.push(char::from_digit(
        check_digit(&format!(
            "{}{}{}",
            &td2_2[0..10],
            &td2_2[13..20],
            &td2_2[21..35]
        )),
        10,
    )?);
    let parsed = mrz::find_and_parse(&format!("{td2_1}\n{td2_2}")).ok()?;
    Some((vec![l1, format!("{l2}{composite}")], parsed, checks))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn reads_the_icao_td3_specimen() {
        let z = Zone::read(TD3).unwrap();
        assert_eq!(z.format, "TD3");
        assert!(z.valid && z.repairs.is_empty());
        assert_eq!(z.birth_date().unwrap().to_string(), "1974-08-12");
    }

    #[test]
    fn repairs_ocr_confusions_and_reports_them() {
        let z = Zone::read(&TD3.replace("7408122", "74O8122")).unwrap();
        assert!(z.valid);
        assert_eq!(
            z.repairs,
            vec![Repair {
                line: 1,
                position: 15,
                from: 'O',
                to: '0'
            }]
        );
    }

    #[test]
    fn reports_failed_check_digits() {
        let z = Zone::read(&TD3.replace("<<<<<10", "<<<<<11")).unwrap();
        assert!(!z.valid);
        assert_eq!(z.checks.composite, Some(false));
        assert_eq!(z.checks.document_number, Some(true));
    }

    #[test]
    fn reads_digits_in_letter_fields_as_letters() {
        let td1 = "1<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UT0<<<<<<<<<<<6\nER1KSS0N<<ANNA<MAR1A<<<<<<<<<<";
        let z = Zone::read(td1).unwrap();
        assert!(z.valid);
        assert_eq!(z.parsed.surname, "ERIKSSON");
        assert!(z.repairs.contains(&Repair {
            line: 0,
            position: 0,
            from: '1',
            to: 'I'
        }));
    }

    #[test]
    fn a_zone_whose_every_check_digit_fails_is_not_taken() {
        // Every check digit of the specimen changed: text shaped like a zone, but no MRZ.
        let wrong = TD3
            .replace("C36UTO", "C35UTO")
            .replace("7408122F1204159", "7408123F1204158");
        let wrong = wrong.replace("<<<<<10", "<<<<<29");
        let z = Zone::read(&wrong);
        assert_eq!(z.unwrap_err(), ZoneError::CheckDigitsDisagree, "{wrong}");
        // One field's digit agreeing by chance (1 in 10) is not enough either.
        let one = TD3
            .replace("7408122F1204159", "7408123F1204158")
            .replace("<<<<<10", "<<<<<29");
        assert_eq!(
            Zone::read(&one).unwrap_err(),
            ZoneError::CheckDigitsDisagree,
            "{one}"
        );
        // Two agreeing fields are: an OCR slip elsewhere does not lose a real zone.
        let two = TD3.replace("7408122F", "7408123F");
        assert!(Zone::read(&two).is_ok(), "{two}");
    }

    #[test]
    fn text_without_a_zone_is_not_found() {
        assert_eq!(Zone::read("hello world").unwrap_err(), ZoneError::NotFound);
    }

    #[test]
    fn the_french_identity_card_zone_is_read_with_its_own_check_digits() {
        // A fictitious holder; OCR's slips: 1 for I in the names, O for 0 in the number.
        let z = Zone::read(
            "IDFRAMARTIN<<<<<<<<<<<<<<<<<<<075012\n23O6750123454LUC1E<MARIE<<<9002144F4",
        )
        .unwrap();
        assert_eq!(z.format, "FR-ID");
        assert!(z.valid, "{z:?}");
        assert_eq!(z.lines[1], "2306750123454LUCIE<MARIE<<<9002144F4");
        assert_eq!(z.parsed.surname, "MARTIN");
        assert_eq!(z.parsed.given_names, "LUCIE MARIE");
        assert_eq!(
            z.parsed.document_number_full.as_deref(),
            Some("230675012345")
        );
        assert_eq!(z.parsed.nationality, "FRA");
        // Its check digits wrong: not a zone.
        let wrong = Zone::read(
            "IDFRAMARTIN<<<<<<<<<<<<<<<<<<<075012\n2306750123455LUCIE<MARIE<<<9002145F5",
        );
        assert!(wrong.is_err(), "{wrong:?}");
    }
}
