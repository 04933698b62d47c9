//! A recognised line of text with its per-character MRZ probabilities: what the recogniser
//! hands the MRZ reader.

/// The characters of an ICAO 9303 machine-readable zone.
pub const MRZ_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";

/// One recognised line: the text and, per character, the probability of each MRZ character
/// (in the order of [`MRZ_ALPHABET`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadLine {
    pub text: String,
    pub probabilities: Vec<Vec<f32>>,
}

impl ReadLine {
    /// The recogniser's probability that character `index` is `c`.
    pub fn probability(&self, index: usize, c: char) -> Option<f32> {
        let k = MRZ_ALPHABET.find(c)?;
        self.probabilities.get(index)?.get(k).copied()
    }
}
