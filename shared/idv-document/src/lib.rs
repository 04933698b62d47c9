//! idv's document engine: read passports, ID cards and visas by their machine-readable zone
//! (MRZ, checked against ICAO 9303), US/Canadian licence backs by their PDF417 barcode (AAMVA),
//! and card fronts by their printed fields; extract the holder's data and flag bad documents.
//!
//! * [`zone`] parses and checks MRZ text (all five ICAO formats, via the `mrz` crate) and
//!   reports check-digit-guided repairs.
//! * [`ocr`] finds the MRZ in a photo and reads it with PP-OCR models on ONNX Runtime; it also
//!   reads printed lines with the Latin alphabet.
//! * [`pdf417`] locates, squares up and decodes a PDF417 symbol; [`aamva`] reads its payload.
//! * [`viz`] assigns printed lines to fields by their labels and places.
//! * [`truth`] compares a read with ground truth (`idv document eval`).
//! * [`data`] maps a zone to the Kairos `document.data` fields.
//! * [`checks`] turns findings into stable codes (`DOCUMENT_EXPIRED`, `FAKE_ID`, …).
//! * [`DocumentEngine`] reads a front (and optional back) photo end to end.

pub mod aamva;
pub mod checks;
pub mod data;
pub mod date;
mod iso2;
pub mod licence_line;
pub mod ocr;
pub mod pdf417;
pub mod quality;
mod raster;
pub mod read_line;
pub mod specimens;
pub mod truth;
pub mod viz;
pub mod zone;

mod engine;

pub use checks::{Check, CheckSettings, Decision};
pub use data::{DocumentData, Field, Source};
pub use date::Ymd;
pub use engine::{BarcodeReport, DocumentEngine, DocumentReport, Hint};
pub use zone::{Zone, ZoneError};
