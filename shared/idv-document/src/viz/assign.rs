//! Assignment: each field's value chosen among the lines — after its label, in the box to
//! its right or just below, or by its place and form where no label names it — and checked
//! by what the field can hold.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::address::city_line;
use super::classify::{classify, us_layout};
use super::dates::find_date;
use super::labels::*;
use crate::data::{DocumentData, Field};
use crate::date::Ymd;
use crate::ocr::TextLine;

/// Fills an EU licence's fields from their order in its numbered column, anchored on the line
/// of the date of birth (field 3): the given names (2) and the surname (1) are the two lines
/// straight above it; below come the dates 4a and 4b, then the authority (4c), the number (5)
/// and the categories (9), each taken only if its value has the right form. Labels win.
pub(super) fn eu_order(
    lines: &[TextLine],
    birth: Ymd,
    values: &mut HashMap<Key, String>,
    taken: &mut [bool],
) {
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

pub(super) fn left(l: &TextLine) -> f32 {
    l.bbox.cx - l.bbox.width / 2.0
}

/// Whether `v` can be the value of a field labelled `key`.
pub(super) fn valid(key: Key, v: &str, us: bool) -> bool {
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
pub(super) fn values_near(lines: &[TextLine], lab: &Labelled, taken: &[bool]) -> Vec<usize> {
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
