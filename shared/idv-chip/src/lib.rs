//! The document's chip (ICAO Doc 9303 Parts 10–12): Passive Authentication of EF.SOD
//! against a CSCA trust store, DG1 against the printed MRZ, Active Authentication with
//! DG15's key, and DG2's face image.
//!
//! Chip Authentication is not verified: its transcript comes from the app, so it would prove
//! nothing to the server.

pub mod active;
pub mod ber;
pub mod cms;
pub mod keys;
pub mod lds;
pub mod passive;
pub mod trust;

use std::collections::BTreeMap;

use serde::Serialize;

pub use passive::{DataGroup, PaError, Passive};
pub use trust::TrustStore;

/// What can go wrong reading a chip's files or the trust store.
#[derive(Debug, thiserror::Error)]
pub enum ChipError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What the app read from the chip, and what the terminal sent it.
#[derive(Debug, Clone, Default)]
pub struct Chip {
    /// EF.SOD as read (`77…`).
    pub sod: Vec<u8>,
    /// Data groups by number, each the whole file as read.
    pub dgs: BTreeMap<u32, Vec<u8>>,
    /// The Active Authentication challenge (8 bytes) and the chip's answer.
    pub aa: Option<(Vec<u8>, Vec<u8>)>,
}

impl Chip {
    /// A chip's files as saved in `dir`: `sod.bin`, each `dgN.bin` there, and for Active
    /// Authentication `aa_challenge.hex` with `aa_signature.bin`.
    pub fn read_dir(dir: &std::path::Path) -> Result<Chip, ChipError> {
        let mut chip = Chip {
            sod: std::fs::read(dir.join("sod.bin"))?,
            ..Chip::default()
        };
        for n in 1..=16 {
            if let Ok(b) = std::fs::read(dir.join(format!("dg{n}.bin"))) {
                chip.dgs.insert(n, b);
            }
        }
        if let (Ok(c), Ok(s)) = (
            std::fs::read_to_string(dir.join("aa_challenge.hex")),
            std::fs::read(dir.join("aa_signature.bin")),
        ) {
            let c = hex::decode(c.trim())
                .map_err(|_| ChipError::Malformed("aa_challenge.hex is not hex".into()))?;
            chip.aa = Some((c, s));
        }
        Ok(chip)
    }
}

/// Active Authentication's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Active {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole verdict, in the shape `idv chip verify` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub passive_authentication: Passive,
    pub data_groups: BTreeMap<String, DataGroup>,
    /// DG1's MRZ equals the printed one (`None`: no printed MRZ or no DG1 given).
    pub mrz_match: Option<bool>,
    pub active_authentication: Option<Active>,
    /// DG1's MRZ as read from the chip.
    #[serde(skip)]
    pub chip_mrz: Option<String>,
}

impl Report {
    /// Passive Authentication holds, DG1 agrees with the print and AA (when given) holds.
    pub fn valid(&self) -> bool {
        self.passive_authentication.valid
            && self.mrz_match != Some(false)
            && self.active_authentication.as_ref().is_none_or(|a| a.valid)
    }
}

/// An MRZ without line breaks and spaces.
fn compact(mrz: &str) -> String {
    mrz.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Verifies a chip against the trust store, and its DG1 against `printed_mrz` when given.
pub fn verify(chip: &Chip, trust: &TrustStore, printed_mrz: Option<&str>) -> Report {
    let pa = passive::verify(&chip.sod, &chip.dgs, trust);
    let chip_mrz = chip.dgs.get(&1).and_then(|d| lds::dg1_mrz(d).ok());
    let mrz_match = match (printed_mrz, chip.dgs.get(&1)) {
        (Some(p), Some(_)) => Some(
            chip_mrz
                .as_deref()
                .is_some_and(|c| compact(c) == compact(p)),
        ),
        _ => None,
    };
    let active_authentication = chip.aa.as_ref().map(|(challenge, answer)| {
        let Some(dg15) = chip.dgs.get(&15) else {
            return Active {
                valid: false,
                error: Some("no DG15 given".into()),
            };
        };
        match active::verify(
            dg15,
            chip.dgs.get(&14).map(Vec::as_slice),
            challenge,
            answer,
        ) {
            Ok(valid) => Active { valid, error: None },
            Err(e) => Active {
                valid: false,
                error: Some(e.to_string()),
            },
        }
    });
    Report {
        passive_authentication: pa.passive,
        data_groups: pa
            .data_groups
            .into_iter()
            .map(|(n, d)| (n.to_string(), d))
            .collect(),
        mrz_match,
        active_authentication,
        chip_mrz,
    }
}
