//! Any text given as an MRZ parses, repairs or is refused, without panicking: as typed text
//! (`Zone::read`) and as recognised lines with per-character probabilities (`Zone::read_ocr`,
//! which tries check-digit repairs).
#![no_main]

use idv_document::ocr::{MRZ_ALPHABET, ReadLine};
use idv_document::{DocumentData, Ymd, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(zone) = Zone::read(text) {
        let _ = DocumentData::from_zone(&zone, Ymd::today());
    }
    let lines: Vec<ReadLine> = text
        .lines()
        .map(|line| ReadLine {
            text: line.to_string(),
            probabilities: line
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    // A confident read, with some doubt spread over the alphabet.
                    let mut p = vec![0.1 / MRZ_ALPHABET.len() as f32; MRZ_ALPHABET.len()];
                    if let Some(k) = MRZ_ALPHABET.find(c) {
                        p[k] += 0.9 - (i % 7) as f32 * 0.1;
                    }
                    p
                })
                .collect(),
        })
        .collect();
    if let Ok(zone) = Zone::read_ocr(&lines) {
        let _ = DocumentData::from_zone(&zone, Ymd::today());
    }
});
