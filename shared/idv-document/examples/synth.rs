//! Synthetic identity documents for tests and evaluation (test-only code).
//!
//! Renders TD3 passports (data page) and TD1 ID cards (MRZ side) with random identities and
//! valid MRZs in OCR-B, a portrait from the face fixtures (or `SYNTH_PORTRAIT=FILE`), visual-zone text in DejaVu Sans,
//! places each on a busy background and applies one distortion: rotation (±15°), perspective,
//! blur, JPEG quality 40–90, noise, or a glare spot. Each `NAME.jpg` gets a `NAME.json` with
//! the ground truth: `{"mrz": [lines], "distortion": kind, "format": "TD1"|"TD3"}`.
//!
//! ```sh
//! cargo run --release -p idv-document --example synth -- OUT_DIR [COUNT] [SEED]
//! cargo run --release -p idv-document --example synth -- --portraits PEOPLE_DIR OUT_DIR [SEED]
//! cargo run --release -p idv-document --example synth -- --backs AAMVA_DIR OUT_DIR [SEED] [PER]
//! cargo run --release -p idv-document --example synth -- --fronts AAMVA_DIR OUT_DIR [SEED]
//! ```
//! `--fronts` renders licence fronts with numbered fields: per AAMVA ground truth one card of
//! the US design (4d DLN, 3 DOB, 4b EXP, 4a ISS, 1, 2, 8 address, 9 CLASS, 15 SEX; US dates)
//! and one of the EU design with a random holder (1. to 5., 9.; day-first dates, place of
//! birth, issuing authority), each photographed with one distortion; and a national identity
//! card front with bilingual labels above the values (French, German or Spanish with English).
//! `--backs` photographs licence backs: each `NAME.png` PDF417 render of `AAMVA_DIR` is put on
//! a card with printed lines, turned by up to ±12° (or upside down), and given one of
//! perspective, blur or JPEG 55–85, at a size of 650–1300 px for the card; each photo's JSON is the payload's ground truth.
//! `--portraits` makes document-vs-selfie pairs for face-match evaluation: `PEOPLE_DIR` has
//! one folder per person (LFW's layout); each person's first photo becomes the portrait of a
//! TD3 page (tight crop, 120–200 px face, grayscale / halftone / guilloche print, a small
//! ghost portrait, then one of clean, rotation, perspective, blur or JPEG 55–90), and
//! `OUT_DIR/pairs.csv` pairs each document with up to 3 other photos of its person (genuine)
//! and with the second photo of every other person (impostor), for `idv face eval`.
//! Fonts come from Debian's `fonts-ocr-b` and `fonts-dejavu-core` (see `infra/deps`).

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

const OCRB: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";
const SANS: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const SANS_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
const DISTORTIONS: [&str; 7] = [
    "clean",
    "rotation",
    "perspective",
    "blur",
    "jpeg",
    "noise",
    "glare",
];

/// A small deterministic PRNG (xorshift64*), so a seed reproduces a data set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn gauss(&mut self) -> f32 {
        (0..6).map(|_| self.range(-1.0, 1.0)).sum::<f32>() / 1.4
    }
}

struct Fonts {
    ocrb: FontVec,
    sans: FontVec,
    bold: FontVec,
}

fn load_font(path: &str) -> FontVec {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (install fonts-ocr-b and fonts-dejavu-core)"));
    FontVec::try_from_vec(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// How text is drawn: font, size in px, colour, and a fixed pitch (MRZ) when set.
struct Pen<'a> {
    font: &'a FontVec,
    px: f32,
    color: [u8; 3],
    pitch: Option<f32>,
}

fn pen(font: &FontVec, px: f32, color: [u8; 3]) -> Pen<'_> {
    Pen {
        font,
        px,
        color,
        pitch: None,
    }
}

/// Draws `text` with its top-left at (x, y).
fn draw_text(img: &mut RgbImage, pen: &Pen, x: f32, y: f32, text: &str) {
    let (font, px, color) = (pen.font, pen.px, pen.color);
    let scaled = font.as_scaled(PxScale::from(px));
    let mut caret = x;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        let glyph =
            id.with_scale_and_position(PxScale::from(px), point(caret, y + scaled.ascent()));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, cov| {
                let (ix, iy) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if ix >= 0 && iy >= 0 && (ix as u32) < img.width() && (iy as u32) < img.height() {
                    let p = img.get_pixel_mut(ix as u32, iy as u32);
                    for (v, c) in p.0.iter_mut().zip(color) {
                        *v = (*v as f32 * (1.0 - cov) + c as f32 * cov) as u8;
                    }
                }
            });
        }
        caret += pen.pitch.unwrap_or_else(|| scaled.h_advance(id));
    }
}

/// A random identity with its MRZ.
struct Identity {
    surname: String,
    given: String,
    number: String,
    state: &'static str,
    dob: (i32, u32, u32),
    expiry: (i32, u32, u32),
    sex: char,
}

const SURNAMES: &[&str] = &[
    "NGUYEN",
    "GARCIA",
    "OKAFOR",
    "LINDQVIST",
    "MUELLER",
    "ROSSI",
    "KOWALSKA",
    "DUBOIS",
    "SILVA",
    "TANAKA",
    "O BRIEN",
    "VAN DER BERG",
    "HASSAN",
    "PETROVA",
    "JOHANSSON",
    "FERREIRA",
    "MBEKI",
    "KARLSSON",
    "MORENO LOPEZ",
    "WILLIAMS",
];
const GIVEN: &[&str] = &[
    "AMARA",
    "JOHN PAUL",
    "LUCIA",
    "MEI",
    "OLUWASEUN",
    "FREYA",
    "MATEO",
    "SOFIA ISABEL",
    "KENJI",
    "ZAINAB",
    "PIOTR",
    "ELENA",
    "NOAH",
    "CHIARA",
    "IBRAHIM",
    "ASTRID MARIA",
];
const STATES: &[&str] = &[
    "FRA", "D", "NLD", "SWE", "ESP", "ITA", "POL", "NGA", "JPN", "BRA", "CAN", "GBR", "KEN", "PRT",
    "IRL", "EST",
];

fn identity(rng: &mut Rng) -> Identity {
    let alnum = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    let len = 8 + rng.below(2) as usize;
    let mut number: String = (0..len).map(|_| *rng.pick(alnum) as char).collect();
    if rng.below(2) == 0 {
        number.replace_range(0..1, &((b'A' + rng.below(26) as u8) as char).to_string());
    }
    Identity {
        surname: rng.pick(SURNAMES).to_string(),
        given: rng.pick(GIVEN).to_string(),
        number,
        state: STATES[rng.below(STATES.len() as u64) as usize],
        dob: (
            1950 + rng.below(55) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        ),
        expiry: (
            2026 + rng.below(10) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        ),
        sex: *rng.pick(&['M', 'F']),
    }
}

fn mrz_date((year, month, day): (i32, u32, u32)) -> mrz::MrzDate {
    mrz::MrzDate::Calendar(mrz::Date::new(year, month, day))
}

fn sex(c: char) -> mrz::Sex {
    if c == 'M' {
        mrz::Sex::Male
    } else {
        mrz::Sex::Female
    }
}

fn td3_lines(id: &Identity) -> Vec<String> {
    let text = mrz::format_td3(&mrz::Td3Fields {
        document_code: "P".into(),
        issuing_country: id.state.into(),
        document_number: id.number.clone(),
        surname: id.surname.clone(),
        given_names: id.given.clone(),
        nationality: id.state.into(),
        date_of_birth: mrz_date(id.dob),
        sex: sex(id.sex),
        date_of_expiry: mrz_date(id.expiry),
        personal_number: None,
    });
    text.lines().map(str::to_owned).collect()
}

fn td1_lines(id: &Identity) -> Vec<String> {
    let text = mrz::format_td1(&mrz::Td1Fields {
        document_code: "I".into(),
        issuing_country: id.state.into(),
        document_number: id.number.clone(),
        surname: id.surname.clone(),
        given_names: id.given.clone(),
        nationality: id.state.into(),
        date_of_birth: mrz_date(id.dob),
        sex: sex(id.sex),
        date_of_expiry: mrz_date(id.expiry),
        optional_data_1: None,
        optional_data_2: None,
    });
    text.lines().map(str::to_owned).collect()
}

/// A pale security-print background: two families of sine lines over a tint.
fn security_print(w: u32, h: u32, rng: &mut Rng) -> RgbImage {
    let tint = [
        rng.range(215.0, 245.0),
        rng.range(215.0, 245.0),
        rng.range(215.0, 245.0),
    ];
    let (f1, f2, p) = (
        rng.range(0.01, 0.03),
        rng.range(0.01, 0.03),
        rng.range(0.0, 6.0),
    );
    RgbImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let a = ((xf * f1 + (yf * f2).sin() * 6.0 + p).sin() * 0.5 + 0.5).powi(8);
        let b = ((yf * f1 + (xf * f2).cos() * 5.0).sin() * 0.5 + 0.5).powi(10);
        let d = (a + b) * 35.0;
        Rgb([
            (tint[0] - d) as u8,
            (tint[1] - d * 0.6) as u8,
            (tint[2] - d * 0.3) as u8,
        ])
    })
}

fn paste_portrait(page: &mut RgbImage, portrait: &RgbImage, x: u32, y: u32, w: u32, h: u32) {
    let p = image::imageops::resize(portrait, w, h, image::imageops::FilterType::Triangle);
    image::imageops::replace(page, &p, i64::from(x), i64::from(y));
}

/// A TD3 data page (125 × 88 mm at 10 px/mm).
fn render_td3(
    id: &Identity,
    lines: &[String],
    portrait: &RgbImage,
    f: &Fonts,
    rng: &mut Rng,
) -> RgbImage {
    let (w, h) = (1250, 880);
    let mut page = security_print(w, h, rng);
    let ink = [30, 30, 50];
    draw_text(
        &mut page,
        &pen(&f.bold, 38.0, [40, 40, 90]),
        330.0,
        30.0,
        "PASSPORT / PASSEPORT",
    );
    draw_text(
        &mut page,
        &pen(&f.sans, 26.0, ink),
        330.0,
        80.0,
        mrz::country_name(id.state).unwrap_or(id.state),
    );
    paste_portrait(&mut page, portrait, 50, 150, 250, 320);
    let fields = [
        ("Surname", id.surname.clone()),
        ("Given names", id.given.clone()),
        (
            "Nationality",
            mrz::country_name(id.state).unwrap_or(id.state).to_string(),
        ),
        (
            "Date of birth",
            format!("{:02}.{:02}.{}", id.dob.2, id.dob.1, id.dob.0),
        ),
        ("Sex", id.sex.to_string()),
        (
            "Date of expiry",
            format!("{:02}.{:02}.{}", id.expiry.2, id.expiry.1, id.expiry.0),
        ),
        ("Passport No.", id.number.clone()),
    ];
    for (i, (label, value)) in fields.iter().enumerate() {
        let y = 150.0 + i as f32 * 60.0;
        draw_text(
            &mut page,
            &pen(&f.sans, 17.0, [90, 90, 110]),
            340.0,
            y,
            label,
        );
        draw_text(&mut page, &pen(&f.bold, 26.0, ink), 340.0, y + 20.0, value);
    }
    // MRZ: OCR-B at a 2.54 mm pitch on a 20 mm band at the bottom.
    let pitch = 25.4;
    for (i, line) in lines.iter().enumerate() {
        draw_text(
            &mut page,
            &Pen {
                pitch: Some(pitch),
                ..pen(&f.ocrb, 40.0, [20, 20, 20])
            },
            60.0,
            720.0 + i as f32 * 60.0,
            line,
        );
    }
    page
}

/// The MRZ side of a TD1 card (85.6 × 54 mm at 14 px/mm).
fn render_td1(id: &Identity, lines: &[String], f: &Fonts, rng: &mut Rng) -> RgbImage {
    let (w, h) = (1198, 756);
    let mut page = security_print(w, h, rng);
    let ink = [30, 30, 50];
    draw_text(
        &mut page,
        &pen(&f.bold, 30.0, [40, 40, 90]),
        60.0,
        40.0,
        "IDENTITY CARD",
    );
    draw_text(
        &mut page,
        &pen(&f.sans, 20.0, [90, 90, 110]),
        60.0,
        90.0,
        "Place of birth",
    );
    draw_text(
        &mut page,
        &pen(&f.bold, 24.0, ink),
        60.0,
        115.0,
        "CAPITAL CITY",
    );
    draw_text(
        &mut page,
        &pen(&f.sans, 20.0, [90, 90, 110]),
        60.0,
        160.0,
        "Date of issue",
    );
    let issued = format!("{:02}.{:02}.{}", id.expiry.2, id.expiry.1, id.expiry.0 - 10);
    draw_text(&mut page, &pen(&f.bold, 24.0, ink), 60.0, 185.0, &issued);
    let pitch = 2.54 * 14.0;
    for (i, line) in lines.iter().enumerate() {
        draw_text(
            &mut page,
            &Pen {
                pitch: Some(pitch),
                ..pen(&f.ocrb, 52.0, [20, 20, 20])
            },
            64.0,
            470.0 + i as f32 * 84.0,
            line,
        );
    }
    page
}

/// Writes `img` as a JPEG of `quality` to `path`.
fn save_jpeg(img: &RgbImage, quality: u8, path: &Path) {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(img)
        .expect("encode");
    std::fs::write(path, jpeg).expect("write image");
}

/// Writes one photographed sample: `NAME.jpg` and its truth `NAME.json`, which gains the
/// photograph's `distortion`.
fn save_sample(
    out: &Path,
    name: &str,
    img: &RgbImage,
    quality: u8,
    truth: &mut serde_json::Value,
    kind: &str,
) {
    save_jpeg(img, quality, &out.join(format!("{name}.jpg")));
    truth["distortion"] = kind.into();
    std::fs::write(out.join(format!("{name}.json")), truth.to_string()).expect("truth");
}

/// Places `doc` on a busy background, with `corners` giving where its corners land.
fn place(
    doc: &RgbImage,
    corners: [[f32; 2]; 4],
    out_w: u32,
    out_h: u32,
    rng: &mut Rng,
) -> RgbImage {
    let (w, h) = (doc.width() as f32, doc.height() as f32);
    // Map output → document coordinates.
    let hm = idv_document::pdf417::homography(corners, [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
        .expect("corners of a convex quadrilateral");
    let base = [
        rng.range(40.0, 200.0),
        rng.range(40.0, 200.0),
        rng.range(40.0, 200.0),
    ];
    let (fx, fy) = (rng.range(0.005, 0.03), rng.range(0.005, 0.03));
    RgbImage::from_fn(out_w, out_h, |x, y| {
        let (xf, yf) = (f64::from(x), f64::from(y));
        let z = hm[6] * xf + hm[7] * yf + hm[8];
        let u = ((hm[0] * xf + hm[1] * yf + hm[2]) / z) as f32;
        let v = ((hm[3] * xf + hm[4] * yf + hm[5]) / z) as f32;
        if u >= 0.0 && v >= 0.0 && u < w - 1.0 && v < h - 1.0 {
            let p = doc.get_pixel(u as u32, v as u32);
            let q = doc.get_pixel(u as u32 + 1, v as u32 + 1);
            Rgb([
                ((p[0] as u16 + q[0] as u16) / 2) as u8,
                ((p[1] as u16 + q[1] as u16) / 2) as u8,
                ((p[2] as u16 + q[2] as u16) / 2) as u8,
            ])
        } else {
            // Busy background: stripes and blotches, like a desk or a patterned cloth.
            let s = ((x as f32 * fx).sin() * (y as f32 * fy).cos() * 60.0) as i32;
            let t = (((x / 37) ^ (y / 23)) % 5) as i32 * 12;
            Rgb([
                (base[0] as i32 + s + t).clamp(0, 255) as u8,
                (base[1] as i32 - s + t).clamp(0, 255) as u8,
                (base[2] as i32 + s / 2 - t).clamp(0, 255) as u8,
            ])
        }
    })
}

fn rotate(c: [[f32; 2]; 4], center: [f32; 2], deg: f32) -> [[f32; 2]; 4] {
    let (s, co) = deg.to_radians().sin_cos();
    c.map(|[x, y]| {
        let (dx, dy) = (x - center[0], y - center[1]);
        [center[0] + dx * co - dy * s, center[1] + dx * s + dy * co]
    })
}

/// Renders one photo of `doc` with distortion `kind`.
fn photograph(doc: &RgbImage, kind: &str, rng: &mut Rng) -> (RgbImage, Option<u8>) {
    let (w, h) = (doc.width() as f32, doc.height() as f32);
    let margin = 0.12 * w;
    let (ow, oh) = ((w + 2.0 * margin) as u32, (h + 2.0 * margin) as u32);
    let mut corners = [
        [margin, margin],
        [margin + w, margin],
        [margin + w, margin + h],
        [margin, margin + h],
    ];
    let center = [ow as f32 / 2.0, oh as f32 / 2.0];
    let small_tilt = rng.range(-3.0, 3.0);
    corners = match kind {
        "rotation" => rotate(corners, center, rng.range(-15.0, 15.0)),
        "perspective" => {
            let j = 0.06 * w;
            rotate(
                corners.map(|[x, y]| [x + rng.range(-j, j), y + rng.range(-j, j)]),
                center,
                small_tilt,
            )
        }
        _ => rotate(corners, center, small_tilt),
    };
    let mut img = place(doc, corners, ow, oh, rng);
    let mut quality = None;
    match kind {
        "blur" => img = image::imageops::blur(&img, rng.range(1.0, 2.0)),
        "jpeg" => quality = Some(40 + rng.below(51) as u8),
        "noise" => {
            let sigma = rng.range(8.0, 20.0);
            for p in img.pixels_mut() {
                for k in 0..3 {
                    p[k] = (p[k] as f32 + rng.gauss() * sigma).clamp(0.0, 255.0) as u8;
                }
            }
        }
        "glare" => {
            // A specular spot somewhere on the upper two thirds of the document.
            let (gx, gy) = (
                rng.range(margin + 0.2 * w, margin + 0.8 * w),
                rng.range(margin + 0.1 * h, margin + 0.6 * h),
            );
            let r = rng.range(0.08, 0.16) * w;
            for (x, y, p) in img.enumerate_pixels_mut() {
                let d = ((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)).sqrt() / r;
                let a = (1.0 - d * d).max(0.0).powf(0.6);
                for k in 0..3 {
                    p[k] = (p[k] as f32 * (1.0 - a) + 255.0 * a) as u8;
                }
            }
        }
        _ => {}
    }
    (img, quality)
}

/// A licence back: a pale card with a few printed lines and the PDF417 render below them.
fn render_back(barcode: &RgbImage, fonts: &Fonts, rng: &mut Rng) -> RgbImage {
    let (w, h) = (1012u32, 638u32);
    let tint = [
        rng.range(215.0, 250.0),
        rng.range(215.0, 250.0),
        rng.range(215.0, 250.0),
    ];
    let mut card = RgbImage::from_fn(w, h, |x, y| {
        let wave = ((x as f32 * 0.05).sin() + (y as f32 * 0.07).cos()) * 4.0;
        Rgb(tint.map(|t| (t + wave).clamp(0.0, 255.0) as u8))
    });
    let small = pen(&fonts.sans, 18.0, [40, 40, 60]);
    let lines = [
        "ORGAN DONOR  Y    VETERAN",
        "RESTRICTIONS: CORRECTIVE LENSES",
        "ENDORSEMENTS: NONE",
    ];
    for (i, line) in lines.iter().enumerate() {
        draw_text(&mut card, &small, 40.0, 24.0 + 26.0 * i as f32, line);
    }
    // The symbol, scaled to 88–94 % of the card's width, below the text, on white.
    let bw = (w as f32 * rng.range(0.88, 0.94)) as u32;
    let bh = (barcode.height() as f32 * bw as f32 / barcode.width() as f32) as u32;
    let bh = bh.min(h - 120);
    let symbol = image::imageops::resize(barcode, bw, bh, image::imageops::FilterType::Triangle);
    let (x0, y0) = ((w - bw) / 2, h - bh - 24);
    image::imageops::replace(&mut card, &symbol, x0.into(), y0.into());
    card
}

/// EU licence issuers: (country code on the card, title, authority, place of birth, ICAO code).
const EU: &[(&str, &str, &str, &str, &str)] = &[
    (
        "D",
        "FÜHRERSCHEIN",
        "LANDRATSAMT MUSTERKREIS",
        "BERLIN",
        "D<<",
    ),
    (
        "F",
        "PERMIS DE CONDUIRE",
        "PREFECTURE DE PARIS",
        "LYON",
        "FRA",
    ),
    ("NL", "RIJBEWIJS", "GEMEENTE UTRECHT", "AMSTERDAM", "NLD"),
    (
        "IRL",
        "DRIVING LICENCE",
        "ROAD SAFETY AUTHORITY",
        "DUBLIN",
        "IRL",
    ),
    ("PL", "PRAWO JAZDY", "STAROSTA KRAKOWSKI", "KRAKOW", "POL"),
    ("I", "PATENTE DI GUIDA", "MIT-UCO", "ROMA", "ITA"),
];

/// The back of an EU licence: a table of categories and the one-line MRZ (`D1`, the state,
/// a configuration digit, the licence number, fillers, a check digit over the 29 before).
fn render_eu_back(state: &str, number: &str, f: &Fonts, rng: &mut Rng) -> (RgbImage, String) {
    let mut card = security_print(1012, 638, rng);
    for (i, cat) in ["AM", "A1", "A2", "A", "B1", "B", "C1", "C", "D1", "D"]
        .iter()
        .enumerate()
    {
        draw_text(
            &mut card,
            &pen(&f.sans, 20.0, [40, 40, 60]),
            60.0,
            40.0 + 34.0 * i as f32,
            &format!("9. {cat}    10. --.--.----    11. --.--.----"),
        );
    }
    let body = format!("D1{state}1{number:<<23}").replace(' ', "<");
    let body: String = body.chars().take(29).collect();
    let line = format!("{body}{}", mrz::check_digit(&body).expect("MRZ characters"));
    draw_text(
        &mut card,
        &Pen {
            pitch: Some(2.54 * 12.5),
            ..pen(&f.ocrb, 46.0, [20, 20, 20])
        },
        40.0,
        540.0,
        &line,
    );
    (card, line)
}

/// A licence front with numbered fields: the US AAMVA design (from an AAMVA payload's
/// ground truth `t`) or, when `t` is `None`, an EU design with a random identity.
fn render_front(
    t: Option<&serde_json::Value>,
    f: &Fonts,
    rng: &mut Rng,
) -> (RgbImage, serde_json::Value) {
    let (w, h) = (1012u32, 638u32);
    let mut card = security_print(w, h, rng);
    let label = |card: &mut RgbImage, x: f32, y: f32, text: &str| {
        draw_text(card, &pen(&f.sans, 17.0, [150, 30, 30]), x, y + 6.0, text)
    };
    let value = |card: &mut RgbImage, x: f32, y: f32, text: &str| {
        draw_text(card, &pen(&f.bold, 27.0, [25, 25, 40]), x, y, text)
    };
    // The photo area: a grey block with a face-like oval.
    for y in 120..470 {
        for x in 40..300 {
            let (dx, dy) = ((x as f32 - 170.0) / 90.0, (y as f32 - 270.0) / 120.0);
            let v = if dx * dx + dy * dy < 1.0 { 150 } else { 205 };
            card.put_pixel(x, y, Rgb([v, v, v + 10]));
        }
    }
    let (x0, x1) = (330.0, 360.0);
    let truth;
    if let Some(t) = t {
        let fl = &t["fields"];
        let s = |k: &str| fl[k].as_str().unwrap_or("").to_string();
        let us_date = |iso: &str| {
            let p: Vec<&str> = iso.split('-').collect();
            if p.len() == 3 {
                format!("{}/{}/{}", p[1], p[2], p[0])
            } else {
                String::new()
            }
        };
        let a = &fl["address"];
        let state = a["state"].as_str().unwrap_or("");
        draw_text(
            &mut card,
            &pen(&f.bold, 44.0, [30, 50, 120]),
            40.0,
            30.0,
            &format!("STATE OF {state}"),
        );
        let kind = if t["document_type"] == "id_card" {
            "IDENTIFICATION CARD"
        } else {
            "DRIVER LICENSE"
        };
        draw_text(
            &mut card,
            &pen(&f.bold, 30.0, [30, 50, 120]),
            560.0,
            40.0,
            kind,
        );
        draw_text(
            &mut card,
            &pen(&f.sans, 20.0, [30, 50, 120]),
            900.0,
            90.0,
            "USA",
        );
        let mut y = 120.0;
        label(&mut card, x0, y, "4d DLN");
        value(&mut card, x0 + 80.0, y, &s("document_number"));
        if let Some(c) = fl["vehicle_class"].as_str() {
            label(&mut card, 760.0, y, "9 CLASS");
            value(&mut card, 850.0, y, c);
        }
        y += 42.0;
        label(&mut card, x0, y, "3 DOB");
        value(&mut card, x0 + 70.0, y, &us_date(&s("dob")));
        y += 42.0;
        label(&mut card, x0, y, "4b EXP");
        value(&mut card, x0 + 75.0, y, &us_date(&s("expiry")));
        label(&mut card, 680.0, y, "4a ISS");
        value(&mut card, 755.0, y, &us_date(&s("issued")));
        y += 50.0;
        label(&mut card, x0, y, "1");
        value(&mut card, x1, y, &s("last_name"));
        y += 36.0;
        label(&mut card, x0, y, "2");
        let given = [s("first_name"), s("middle_name")].join(" ");
        value(&mut card, x1, y, given.trim());
        y += 36.0;
        label(&mut card, x0, y, "8");
        value(&mut card, x1, y, a["street"].as_str().unwrap_or(""));
        y += 32.0;
        value(
            &mut card,
            x1,
            y,
            &format!(
                "{}, {} {}",
                a["city"].as_str().unwrap_or(""),
                state,
                a["postal_code"].as_str().unwrap_or("")
            ),
        );
        y += 48.0;
        label(&mut card, x0, y, "15 SEX");
        value(&mut card, x0 + 75.0, y, &s("sex"));
        label(&mut card, 560.0, y, "16 HGT");
        value(&mut card, 640.0, y, "5'-09\"");
        y += 40.0;
        label(&mut card, x0, y, "5 DD");
        value(&mut card, x0 + 60.0, y, "0123456789ABC");
        let mut fields = fl.clone();
        if let Some(m) = fields.as_object_mut() {
            m.remove("country");
        }
        truth = serde_json::json!({"document_type": t["document_type"], "fields": fields});
    } else {
        let (code, title, authority, place, icao) = *rng.pick(EU);
        let id = identity(rng);
        let eu_date = |(y, m, d): (i32, u32, u32)| format!("{d:02}.{m:02}.{y}");
        let issued = (id.expiry.0 - 10, id.expiry.1, id.expiry.2);
        draw_text(
            &mut card,
            &pen(&f.bold, 40.0, [30, 50, 120]),
            140.0,
            30.0,
            title,
        );
        draw_text(
            &mut card,
            &pen(&f.bold, 34.0, [250, 220, 0]),
            50.0,
            30.0,
            code,
        );
        let classes = *rng.pick(&["AM/A1/B", "B", "A/B/BE", "B/C1", "AM/B"]);
        let rows: [(&str, String); 8] = [
            ("1.", id.surname.clone()),
            ("2.", id.given.clone()),
            ("3.", format!("{} {place}", eu_date(id.dob))),
            ("4a.", eu_date(issued)),
            ("4b.", eu_date(id.expiry)),
            ("4c.", authority.to_string()),
            ("5.", id.number.clone()),
            ("9.", classes.to_string()),
        ];
        for (i, (l, v)) in rows.iter().enumerate() {
            let y = 110.0 + 56.0 * i as f32;
            label(&mut card, x0, y, l);
            value(&mut card, x0 + 50.0, y, v);
        }
        let given: Vec<&str> = id.given.split_whitespace().collect();
        let iso = |(y, m, d): (i32, u32, u32)| format!("{y:04}-{m:02}-{d:02}");
        let mut fields = serde_json::json!({
            "first_name": given[0], "last_name": id.surname, "dob": iso(id.dob),
            "expiry": iso(id.expiry), "issued": iso(issued), "document_number": id.number,
            "place_of_birth": place, "issuing_authority": authority, "vehicle_class": classes,
        });
        if given.len() > 1 {
            fields["middle_name"] = given[1..].join(" ").into();
        }
        truth = serde_json::json!({"document_type": "drivers_license", "fields": fields, "issuer_icao": icao});
    }
    (card, truth)
}

/// A national identity card front with bilingual labels above each value (French/English,
/// German/English or Spanish/English), dates as `12 08 1964` or `12.08.1964`.
fn render_id_front(f: &Fonts, rng: &mut Rng) -> (RgbImage, serde_json::Value) {
    let (w, h) = (1012u32, 638u32);
    let mut card = security_print(w, h, rng);
    let id = identity(rng);
    type Labels = [&'static str; 7];
    let (title, labels, place): (&str, Labels, &str) = *rng.pick(&[
        (
            "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
            [
                "NOM / SURNAME",
                "PRÉNOMS / GIVEN NAMES",
                "DATE DE NAISSANCE / DATE OF BIRTH",
                "LIEU DE NAISSANCE / PLACE OF BIRTH",
                "SEXE / SEX",
                "DATE D'EXPIRATION / DATE OF EXPIRY",
                "DOCUMENT NO",
            ],
            "MARSEILLE",
        ),
        (
            "PERSONALAUSWEIS / IDENTITY CARD",
            [
                "NAME / SURNAME",
                "VORNAMEN / GIVEN NAMES",
                "GEBURTSDATUM / DATE OF BIRTH",
                "GEBURTSORT / PLACE OF BIRTH",
                "GESCHLECHT / SEX",
                "GÜLTIG BIS / DATE OF EXPIRY",
                "DOKUMENTENNUMMER",
            ],
            "HAMBURG",
        ),
        (
            "DOCUMENTO NACIONAL DE IDENTIDAD",
            [
                "APELLIDOS / SURNAME",
                "NOMBRE / GIVEN NAME",
                "FECHA DE NACIMIENTO / DATE OF BIRTH",
                "LUGAR DE NACIMIENTO / PLACE OF BIRTH",
                "SEXO / SEX",
                "FECHA DE CADUCIDAD / EXPIRY DATE",
                "DOCUMENT NUMBER",
            ],
            "SEVILLA",
        ),
    ]);
    draw_text(
        &mut card,
        &pen(&f.bold, 30.0, [30, 50, 120]),
        40.0,
        30.0,
        title,
    );
    for y in 110..470 {
        for x in 40..300 {
            let (dx, dy) = ((x as f32 - 170.0) / 90.0, (y as f32 - 270.0) / 120.0);
            let v = if dx * dx + dy * dy < 1.0 { 150 } else { 205 };
            card.put_pixel(x, y, Rgb([v, v, v + 10]));
        }
    }
    let dotted = rng.below(2) == 0;
    let date = |(y, m, d): (i32, u32, u32)| {
        if dotted {
            format!("{d:02}.{m:02}.{y}")
        } else {
            format!("{d:02} {m:02} {y}")
        }
    };
    let values = [
        id.surname.clone(),
        id.given.clone(),
        date(id.dob),
        place.to_string(),
        id.sex.to_string(),
        date(id.expiry),
        id.number.clone(),
    ];
    for (i, (l, v)) in labels.iter().zip(&values).enumerate() {
        let y = 100.0 + 74.0 * i as f32;
        draw_text(&mut card, &pen(&f.sans, 16.0, [110, 60, 60]), 340.0, y, l);
        draw_text(
            &mut card,
            &pen(&f.bold, 26.0, [25, 25, 40]),
            340.0,
            y + 22.0,
            v,
        );
    }
    let iso = |(y, m, d): (i32, u32, u32)| format!("{y:04}-{m:02}-{d:02}");
    let given: Vec<&str> = id.given.split_whitespace().collect();
    let mut fields = serde_json::json!({
        "first_name": given[0], "last_name": id.surname, "dob": iso(id.dob),
        "expiry": iso(id.expiry), "document_number": id.number, "sex": id.sex.to_string(),
        "place_of_birth": place,
    });
    if given.len() > 1 {
        fields["middle_name"] = given[1..].join(" ").into();
    }
    (
        card,
        serde_json::json!({"document_type": "national_id", "fields": fields}),
    )
}

/// Photographed licence fronts: a US numbered design per AAMVA ground truth of `AAMVA_DIR`,
/// and as many EU designs with random holders.
fn fronts(dir: &Path, out: &Path, seed: u64, fonts: &Fonts) {
    std::fs::create_dir_all(out).expect("create OUT_DIR");
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("AAMVA_DIR")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    names.sort();
    let mut rng = Rng(seed.max(1));
    let mut id_rng = Rng((seed ^ 0x1D1D).max(1));
    let kinds = ["rotation", "perspective", "blur", "jpeg", "clean"];
    let (mut n, mut ids) = (0, 0);
    for json in &names {
        let t: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).expect("truth")).expect("json");
        for us in [true, false] {
            let (card, mut truth) = render_front(us.then_some(&t), fonts, &mut rng);
            let kind = kinds[n % kinds.len()];
            let (img, quality) = photograph(&card, kind, &mut rng);
            let stem = json.file_stem().and_then(|s| s.to_str()).unwrap_or("front");
            let name = format!("{}-{stem}-{kind}", if us { "us" } else { "eu" });
            save_sample(out, &name, &img, quality.unwrap_or(90), &mut truth, kind);
            n += 1;
            // An identity card front too, from its own random stream (the licences' stay as
            // they were).
            if !us {
                let (card, mut truth) = render_id_front(fonts, &mut id_rng);
                let (img, quality) = photograph(&card, kind, &mut id_rng);
                let name = format!("id-{stem}-{kind}");
                save_sample(out, &name, &img, quality.unwrap_or(90), &mut truth, kind);
                ids += 1;
            }
            // The EU card's back, with its one-line MRZ.
            if let (Some(icao), Some(number)) = (
                truth["issuer_icao"].as_str(),
                truth["fields"]["document_number"].as_str(),
            ) {
                let (back, line) = render_eu_back(icao, number, fonts, &mut rng);
                let (img, _) = photograph(&back, "rotation", &mut rng);
                img.save(out.join(format!("{name}-back.jpg")))
                    .expect("write back");
                let t = serde_json::json!({"licence_line": line, "side": "back"});
                std::fs::write(out.join(format!("{name}-back.json")), t.to_string())
                    .expect("truth");
            }
        }
    }
    eprintln!(
        "wrote {n} licence fronts and {ids} identity card fronts to {}",
        out.display()
    );
}

/// Photographs of licence backs made from AAMVA renders (`NAME.png` + `NAME.json`).
fn backs(dir: &Path, out: &Path, seed: u64, per: usize, fonts: &Fonts) {
    std::fs::create_dir_all(out).expect("create OUT_DIR");
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("AAMVA_DIR")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .filter(|p| p.with_extension("png").exists())
        .collect();
    names.sort();
    let mut rng = Rng(seed.max(1));
    let kinds = ["rotation", "perspective", "blur", "jpeg", "upside-down"];
    let mut n = 0;
    for json in &names {
        let barcode = image::open(json.with_extension("png"))
            .expect("render")
            .to_rgb8();
        let mut truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).expect("truth")).expect("json");
        for k in 0..per {
            let kind = kinds[(n + k) % kinds.len()];
            let card = render_back(&barcode, fonts, &mut rng);
            let (w, h) = (card.width() as f32, card.height() as f32);
            let margin = 0.1 * w;
            let (ow, oh) = ((w + 2.0 * margin) as u32, (h + 2.0 * margin) as u32);
            let center = [ow as f32 / 2.0, oh as f32 / 2.0];
            let mut corners = [
                [margin, margin],
                [margin + w, margin],
                [margin + w, margin + h],
                [margin, margin + h],
            ];
            // Every photo is turned by up to 12°, and mildly off-square.
            let j = if kind == "perspective" { 0.05 } else { 0.015 } * w;
            corners = corners.map(|[x, y]| [x + rng.range(-j, j), y + rng.range(-j, j)]);
            let mut deg = rng.range(-12.0, 12.0);
            if kind == "upside-down" {
                deg += 180.0;
            }
            let mut img = place(&card, rotate(corners, center, deg), ow, oh, &mut rng);
            if kind == "blur" {
                img = image::imageops::blur(&img, rng.range(0.6, 1.2));
            }
            // Photos arrive at many sizes: the card 650–1300 px wide.
            let size = rng.range(0.65, 1.3);
            img = image::imageops::resize(
                &img,
                (img.width() as f32 * size) as u32,
                (img.height() as f32 * size) as u32,
                image::imageops::FilterType::Triangle,
            );
            let quality = if kind == "jpeg" {
                55 + rng.below(30) as u8
            } else {
                90
            };
            let stem = json.file_stem().and_then(|s| s.to_str()).unwrap_or("back");
            let name = format!("{stem}-{k}-{kind}");
            truth["image"] = format!("{name}.jpg").into();
            truth["turned"] = deg.into();
            save_sample(out, &name, &img, quality, &mut truth, kind);
        }
        n += per;
    }
    eprintln!("wrote {n} licence backs to {}", out.display());
}

/// A photo prepared as a printed document portrait: cropped so the face spans 120–200 px of a
/// 250×320 frame, then one print effect.
fn printed_portrait(photo: &RgbImage, rng: &mut Rng) -> RgbImage {
    // LFW photos are 250×250 with a ~110 px face in the middle; a `side`-wide crop scaled to
    // 250 px gives a face of about 110 · 250 / side px.
    let side = rng.range(140.0, 220.0).min(photo.width() as f32) as u32;
    let tall = ((side as f32 * 1.28) as u32).min(photo.height());
    let x = (photo.width() - side) / 2;
    let y = (photo.height() - tall) / 2;
    let crop = image::imageops::crop_imm(photo, x, y, side, tall).to_image();
    let mut p = image::imageops::resize(&crop, 250, 320, image::imageops::FilterType::Triangle);
    match rng.below(4) {
        // Grayscale, as many cards print the portrait.
        0 => {
            for px in p.pixels_mut() {
                let g = (0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32) as u8;
                *px = Rgb([g, g, g]);
            }
        }
        // A halftone screen: each channel thresholded against a 45° dot pattern.
        1 => {
            let period = rng.range(2.5, 4.0);
            for (x, y, px) in p.enumerate_pixels_mut() {
                let (u, v) = (
                    (x as f32 + y as f32) / period,
                    (x as f32 - y as f32) / period,
                );
                let dot = ((u * std::f32::consts::PI).sin() * (v * std::f32::consts::PI).sin())
                    * 0.5
                    + 0.5;
                for k in 0..3 {
                    let level = px[k] as f32 / 255.0;
                    let inked = 0.6 * level + 0.4 * if level > dot { 1.0 } else { 0.0 };
                    px[k] = (inked * 255.0) as u8;
                }
            }
        }
        // Guilloche lines printed over the portrait.
        2 => {
            let (f, a) = (rng.range(0.04, 0.09), rng.range(4.0, 9.0));
            for (x, y, px) in p.enumerate_pixels_mut() {
                let line =
                    ((y as f32 * f + (x as f32 * 0.05).sin() * a).sin() * 0.5 + 0.5).powi(12);
                for k in 0..3 {
                    px[k] = (px[k] as f32 * (1.0 - 0.35 * line) + 200.0 * 0.35 * line) as u8;
                }
            }
        }
        _ => {}
    }
    p
}

/// `--portraits PEOPLE_DIR OUT_DIR [SEED]`: see the module doc.
fn portraits(people: &Path, out: &Path, seed: u64, fonts: &Fonts) {
    let mut persons: Vec<(String, Vec<PathBuf>)> = std::fs::read_dir(people)
        .expect("PEOPLE_DIR")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .map(|dir| {
            let mut photos: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("person folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
                .collect();
            photos.sort();
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, photos)
        })
        .filter(|(_, photos)| photos.len() >= 2)
        .collect();
    persons.sort();
    std::fs::create_dir_all(out).expect("create OUT_DIR");
    let kinds = ["clean", "rotation", "perspective", "blur", "jpeg"];
    let mut rng = Rng(seed.max(1));
    let mut csv = String::from("path_a,path_b,same\n");
    let mut docs = Vec::new();
    for (i, (name, photos)) in persons.iter().enumerate() {
        let photo = image::open(&photos[0]).expect("photo").to_rgb8();
        let id = identity(&mut rng);
        let lines = td3_lines(&id);
        let portrait = printed_portrait(&photo, &mut rng);
        let mut page = render_td3(&id, &lines, &portrait, fonts, &mut rng);
        add_ghost(&mut page, &portrait);
        let kind = kinds[i % kinds.len()];
        let (shot, quality) = photograph(&page, kind, &mut rng);
        let quality = if kind == "jpeg" {
            55 + rng.below(36) as u8
        } else {
            quality.unwrap_or(92)
        };
        let file = out.join(format!("{name}-{kind}.jpg"));
        save_jpeg(&shot, quality, &file);
        for selfie in photos.iter().skip(1).take(3) {
            csv.push_str(&format!("{},{},1\n", file.display(), selfie.display()));
        }
        docs.push((i, file));
    }
    for (i, file) in &docs {
        for (j, (_, photos)) in persons.iter().enumerate() {
            if j != *i {
                csv.push_str(&format!("{},{},0\n", file.display(), photos[1].display()));
            }
        }
    }
    std::fs::write(out.join("pairs.csv"), csv).expect("write pairs.csv");
    eprintln!(
        "wrote {} documents and pairs.csv to {}",
        docs.len(),
        out.display()
    );
}

/// The small, faded "ghost" copy of the portrait many documents print near the MRZ.
fn add_ghost(page: &mut RgbImage, portrait: &RgbImage) {
    let ghost = image::imageops::resize(portrait, 85, 109, image::imageops::FilterType::Triangle);
    let (gx, gy) = (page.width() - 130, 470);
    for (x, y, px) in ghost.enumerate_pixels() {
        let dst = page.get_pixel_mut(gx + x, gy + y);
        for k in 0..3 {
            dst[k] = (dst[k] as f32 * 0.55 + px[k] as f32 * 0.45) as u8;
        }
    }
}

fn main() {
    let fonts = || Fonts {
        ocrb: load_font(OCRB),
        sans: load_font(SANS),
        bold: load_font(SANS_BOLD),
    };
    if std::env::args().nth(1).as_deref() == Some("--fronts") {
        let mut args = std::env::args().skip(2);
        let usage = "usage: synth --fronts AAMVA_DIR OUT_DIR [SEED]";
        let dir = PathBuf::from(args.next().expect(usage));
        let out = PathBuf::from(args.next().expect(usage));
        let seed = args
            .next()
            .map(|s| s.parse().expect("SEED"))
            .unwrap_or(1801);
        fronts(&dir, &out, seed, &fonts());
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("--backs") {
        let mut args = std::env::args().skip(2);
        let usage = "usage: synth --backs AAMVA_DIR OUT_DIR [SEED] [PER_PAYLOAD]";
        let dir = PathBuf::from(args.next().expect(usage));
        let out = PathBuf::from(args.next().expect(usage));
        let seed = args.next().map(|s| s.parse().expect("SEED")).unwrap_or(417);
        let per = args.next().map(|s| s.parse().expect("PER")).unwrap_or(3);
        backs(&dir, &out, seed, per, &fonts());
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("--portraits") {
        let mut args = std::env::args().skip(2);
        let usage = "usage: synth --portraits PEOPLE_DIR OUT_DIR [SEED]";
        let people = PathBuf::from(args.next().expect(usage));
        let out = PathBuf::from(args.next().expect(usage));
        let seed = args
            .next()
            .map(|s| s.parse().expect("SEED"))
            .unwrap_or(4242);
        portraits(&people, &out, seed, &fonts());
        return;
    }
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: synth OUT_DIR [COUNT] [SEED]"));
    let count: usize = args
        .next()
        .map(|s| s.parse().expect("COUNT"))
        .unwrap_or(350);
    let seed: u64 = args
        .next()
        .map(|s| s.parse().expect("SEED"))
        .unwrap_or(9303);
    std::fs::create_dir_all(&out).expect("create OUT_DIR");
    let fonts = fonts();
    let faces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/faces");
    let portraits: Vec<RgbImage> = std::fs::read_dir(&faces)
        .expect("face fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("face-api.js__") && n.ends_with(".png") && !n.contains("test")
            })
        })
        .filter_map(|p| image::open(p).ok().map(|i| i.to_rgb8()))
        .collect();
    // SYNTH_PORTRAIT=FILE puts one person's photo on every document (for end-to-end fixtures).
    let portraits = match std::env::var_os("SYNTH_PORTRAIT") {
        Some(p) => {
            let img = image::open(p).expect("SYNTH_PORTRAIT image").to_rgb8();
            // SYNTH_PORTRAIT_CROP=x,y,w,h takes the head-and-shoulders part of a larger photo.
            let crop = std::env::var("SYNTH_PORTRAIT_CROP").ok().map(|c| {
                let v: Vec<u32> = c.split(',').map(|n| n.parse().expect("x,y,w,h")).collect();
                image::imageops::crop_imm(&img, v[0], v[1], v[2], v[3]).to_image()
            });
            vec![crop.unwrap_or(img)]
        }
        None => portraits,
    };
    let mut rng = Rng(seed.max(1));
    for i in 0..count {
        let id = identity(&mut rng);
        let kind = DISTORTIONS[i % DISTORTIONS.len()];
        let td3 = i % 2 == 0;
        let lines = if td3 { td3_lines(&id) } else { td1_lines(&id) };
        let doc = if td3 {
            let mut page = render_td3(&id, &lines, rng.pick(&portraits), &fonts, &mut rng);
            // SYNTH_GHOST=1 adds the small faded ghost portrait (for the portrait-choice fixture).
            if std::env::var_os("SYNTH_GHOST").is_some() {
                add_ghost(
                    &mut page,
                    &image::imageops::resize(
                        rng.pick(&portraits),
                        250,
                        320,
                        image::imageops::FilterType::Triangle,
                    ),
                );
            }
            page
        } else {
            render_td1(&id, &lines, &fonts, &mut rng)
        };
        let (photo, quality) = photograph(&doc, kind, &mut rng);
        let name = format!("{:04}-{}-{kind}", i, if td3 { "td3" } else { "td1" });
        save_jpeg(
            &photo,
            quality.unwrap_or(92),
            &out.join(format!("{name}.jpg")),
        );
        let truth = serde_json::json!({"mrz": lines, "distortion": kind, "format": if td3 { "TD3" } else { "TD1" }});
        std::fs::write(out.join(format!("{name}.json")), truth.to_string()).expect("write truth");
    }
    eprintln!("wrote {count} documents to {}", out.display());
}
