//! Any bytes given as an image decode or are refused with a typed error, without panicking;
//! whatever decodes also resizes (to sizes taken from the input) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = idv_image::decode_rgb(data, &idv_image::Limits::ANY) {
        let size = |i: usize| u32::from(data.get(i).copied().unwrap_or(1)) * 4;
        let _ = idv_image::resize(&img, size(0), size(1));
    }
});
