//! Any bytes given as an image decode or are refused with a typed error, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = idv_image::decode_rgb(data, &idv_image::Limits::ANY);
});
