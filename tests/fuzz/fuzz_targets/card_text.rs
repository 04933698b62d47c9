//! Any decoded barcode text and any recognised line parse or are refused without panicking:
//! the AAMVA reader, the EU licence line, and the printed-field date reader.
#![no_main]

use idv_document::{aamva, licence_line, viz};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = aamva::parse(text);
    let _ = licence_line::read(text);
    let _ = viz::find_date(text, true);
    let _ = viz::find_date(text, false);
});
