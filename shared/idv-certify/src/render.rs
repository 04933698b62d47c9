//! The certificate's content on one A4 page, with DejaVu Sans embedded (subset).

use printpdf::{
    Color, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, RawImage, Rgb, TextItem, XObjectTransform,
};
use serde::{Deserialize, Serialize};

use crate::CertifyError;

/// DejaVu Sans (Debian `fonts-dejavu-core`), embedded at build time so that rendering needs no
/// font files where it runs (Lambda has none).
const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// One line of a section: label and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

/// A titled list of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

/// Everything the certificate shows. Values arrive formatted and masked by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub request_id: String,
    pub tenant: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub received_at: String,
    pub processed_at: String,
    /// e.g. `APPROVED`, `REVIEW`, `REJECTED`.
    pub decision: String,
    pub sections: Vec<Section>,
    /// PNG thumbnails with a caption (document front/back, selfie).
    #[serde(skip)]
    pub thumbnails: Vec<(String, Vec<u8>)>,
    /// Unix seconds written as the PDF's creation date.
    pub created_unix: i64,
}

/// The two fonts, parsed once per process.
fn fonts() -> Result<&'static (ParsedFont, ParsedFont), CertifyError> {
    static FONTS: std::sync::OnceLock<Option<(ParsedFont, ParsedFont)>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let parse = |b: &[u8]| ParsedFont::from_bytes(b, 0, &mut Vec::new());
            Some((parse(REGULAR)?, parse(BOLD)?))
        })
        .as_ref()
        .ok_or_else(|| CertifyError::Sign("the embedded font does not parse".into()))
}

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// Renders the certificate as an unsigned PDF.
pub fn render(c: &Certificate) -> Result<Vec<u8>, CertifyError> {
    let mut doc = PdfDocument::new(&format!("idv certificate {}", c.request_id));
    let created = printpdf::OffsetDateTime::from_unix_timestamp(c.created_unix)
        .map_err(|e| CertifyError::Sign(format!("creation date: {e}")))?;
    doc.metadata.info.creation_date = created;
    doc.metadata.info.modification_date = created;
    doc.metadata.info.metadata_date = created;
    doc.metadata.info.producer = "idv".into();
    doc.metadata.info.creator = "idv".into();
    let (regular, bold) = fonts()?;
    let regular = PdfFontHandle::External(doc.add_font(regular));
    let bold = PdfFontHandle::External(doc.add_font(bold));

    let mut ops = Vec::new();
    let mut y = 280.0f32;
    let text = |ops: &mut Vec<Op>, font: &PdfFontHandle, size: f32, x: f32, y: f32, s: &str| {
        ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: font.clone(),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point {
                    x: Mm(x).into(),
                    y: Mm(y).into(),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text(s.to_string())],
            },
            Op::EndTextSection,
        ]);
    };
    let rule = |ops: &mut Vec<Op>, y: f32| {
        ops.push(Op::SetOutlineColor {
            col: rgb(0.7, 0.7, 0.7),
        });
        ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
        ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point {
                            x: Mm(15.0).into(),
                            y: Mm(y).into(),
                        },
                        bezier: false,
                    },
                    LinePoint {
                        p: Point {
                            x: Mm(195.0).into(),
                            y: Mm(y).into(),
                        },
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    };

    ops.push(Op::SetFillColor {
        col: rgb(0.1, 0.1, 0.1),
    });
    text(
        &mut ops,
        &bold,
        18.0,
        15.0,
        y,
        "Identity verification certificate",
    );
    y -= 8.0;
    text(
        &mut ops,
        &regular,
        9.0,
        15.0,
        y,
        &format!("Request {}   ·   tenant {}", c.request_id, c.tenant),
    );
    y -= 5.0;
    text(
        &mut ops,
        &regular,
        9.0,
        15.0,
        y,
        &format!(
            "Received {} UTC   ·   processed {} UTC",
            c.received_at, c.processed_at
        ),
    );
    y -= 10.0;
    let colour = match c.decision.as_str() {
        "APPROVED" => rgb(0.05, 0.45, 0.2),
        "REVIEW" => rgb(0.65, 0.45, 0.0),
        _ => rgb(0.7, 0.1, 0.1),
    };
    ops.push(Op::SetFillColor { col: colour });
    text(
        &mut ops,
        &bold,
        14.0,
        15.0,
        y,
        &format!("Decision: {}", c.decision),
    );
    ops.push(Op::SetFillColor {
        col: rgb(0.1, 0.1, 0.1),
    });
    y -= 4.0;
    rule(&mut ops, y);
    y -= 6.0;

    // Thumbnails in a row, 40 mm high.
    if !c.thumbnails.is_empty() {
        let mut x = 15.0f32;
        let h_mm = 40.0f32;
        for (caption, png) in &c.thumbnails {
            let img = RawImage::decode_from_bytes(png, &mut Vec::new())
                .map_err(|e| CertifyError::Sign(format!("thumbnail: {e}")))?;
            let (w, h) = (img.width as f32, img.height as f32);
            let id = doc.add_image(&img);
            // At `dpi`, one pixel is 25.4/dpi mm: choose the dpi that makes the height h_mm.
            let dpi = h * 25.4 / h_mm;
            let w_mm = w * 25.4 / dpi;
            ops.push(Op::UseXobject {
                id,
                transform: XObjectTransform {
                    translate_x: Some(Mm(x).into()),
                    translate_y: Some(Mm(y - h_mm).into()),
                    dpi: Some(dpi),
                    ..Default::default()
                },
            });
            text(&mut ops, &regular, 7.0, x, y - h_mm - 4.0, caption);
            x += w_mm + 6.0;
        }
        y -= h_mm + 10.0;
    }

    for s in &c.sections {
        if y < 20.0 {
            break;
        }
        text(&mut ops, &bold, 11.0, 15.0, y, &s.title);
        y -= 5.5;
        for r in &s.rows {
            if y < 15.0 {
                break;
            }
            text(&mut ops, &regular, 8.5, 18.0, y, &r.label);
            // Long values wrap at ~95 characters.
            let chars: Vec<char> = r.value.chars().collect();
            for (i, chunk) in chars.chunks(95).enumerate() {
                let line: String = chunk.iter().collect();
                text(&mut ops, &regular, 8.5, 70.0, y, &line);
                if i + 1 < chars.chunks(95).len() {
                    y -= 4.2;
                }
            }
            y -= 4.6;
        }
        y -= 3.0;
    }
    ops.push(Op::SetFillColor {
        col: rgb(0.4, 0.4, 0.4),
    });
    text(
        &mut ops,
        &regular,
        7.0,
        15.0,
        10.0,
        "Signed by idv (PAdES, ETSI.CAdES.detached) with an RFC 3161 timestamp: check with pdfsig, pyHanko, openssl cms -verify and openssl ts -verify.",
    );
    let page = PdfPage::new(Mm(210.0), Mm(297.0), ops);
    save(doc.with_pages(vec![page]))
}

/// Serialises the document. printpdf's own compression (zlib "best" over every stream,
/// re-done for the ~1.4 MB of embedded fonts on every certificate) took ~90 ms; here streams
/// are compressed at the default level and the font programs' compressed bytes are computed
/// once per process.
fn save(doc: &PdfDocument) -> Result<Vec<u8>, CertifyError> {
    use lopdf::Object;
    let opts = PdfSaveOptions {
        optimize: false,
        subset_fonts: false,
        image_optimization: None,
        ..PdfSaveOptions::default()
    };
    let mut pdf = doc.to_lopdf_document(&opts, &mut Vec::new());
    let mut font_files = std::collections::HashSet::new();
    for obj in pdf.objects.values() {
        if let Object::Dictionary(d) = obj {
            for k in [&b"FontFile"[..], b"FontFile2", b"FontFile3"] {
                if let Ok(Object::Reference(id)) = d.get(k) {
                    font_files.insert(*id);
                }
            }
        }
    }
    for (id, obj) in pdf.objects.iter_mut() {
        let Object::Stream(stream) = obj else {
            continue;
        };
        if stream.dict.get(b"Filter").is_ok() || stream.content.len() < 512 {
            continue;
        }
        let compressed = if font_files.contains(id) {
            cached_deflate(&stream.content)
        } else {
            deflate(&stream.content)
        }?;
        stream
            .dict
            .set("Filter", Object::Name(b"FlateDecode".to_vec()));
        stream.set_content(compressed);
    }
    let mut out = Vec::new();
    pdf.save_to(&mut out)?;
    Ok(out)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, CertifyError> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data)?;
    Ok(e.finish()?)
}

/// [`deflate`], remembered by SHA-256 of the input (font programs: a handful per process).
fn cached_deflate(data: &[u8]) -> Result<Vec<u8>, CertifyError> {
    use sha2::Digest;
    type Cache = std::sync::Mutex<std::collections::HashMap<[u8; 32], Vec<u8>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key: [u8; 32] = sha2::Sha256::digest(data).into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let c = deflate(data)?;
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() < 16 {
        map.insert(key, c.clone());
    }
    Ok(c)
}
