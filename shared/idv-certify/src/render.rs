//! The certificate's content on A4 pages, laid out so that nothing leaves the margins: text
//! measured with the embedded DejaVu Sans and wrapped, thumbnails scaled into their boxes, what
//! does not fit flowing to the next page.

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

/// Who issues certificates: the operator running idv, as its legal name and a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    pub name: String,
    pub contact: String,
}

/// Everything the certificate shows. Values arrive formatted and masked by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub request_id: String,
    /// The operator issuing the certificate.
    pub issuer: Issuer,
    /// The customer it is issued for: the tenant's display name.
    pub tenant: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub received_at: String,
    pub processed_at: String,
    /// e.g. `APPROVED`, `REVIEW`, `REJECTED`.
    pub decision: String,
    /// Who signs (the signing certificate's name), for the visible signature.
    pub signed_by: String,
    pub sections: Vec<Section>,
    /// PNG thumbnails with a caption (document front/back, selfie).
    #[serde(skip)]
    pub thumbnails: Vec<(String, Vec<u8>)>,
    /// Unix seconds written as the PDF's creation date.
    pub created_unix: i64,
}

/// Where the visible signature sits on page 1, in mm from the bottom left (x1, y1, x2, y2):
/// the signature field's widget covers it.
pub const SIGNATURE_BOX: [f32; 4] = [LEFT, 14.0, RIGHT, 34.0];

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
/// The text area: every span lies between these (mm).
const LEFT: f32 = 15.0;
const RIGHT: f32 = 195.0;
const TOP: f32 = 282.0;
/// Lowest baseline on page 1 (above the signature box) and on the pages after it (above the
/// footer).
const BOTTOM_FIRST: f32 = 40.0;
const BOTTOM: f32 = 16.0;
const FOOTER_Y: f32 = 8.0;
/// Rows: label column and value column (mm).
const LABEL_X: f32 = 18.0;
const LABEL_W: f32 = 48.0;
const VALUE_X: f32 = 70.0;
const LINE: f32 = 4.2;
/// Thumbnails: boxes of this size, three to a row.
const THUMB_W: f32 = 56.0;
const THUMB_H: f32 = 46.0;
const THUMB_GAP: f32 = 6.0;

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

/// The width of `s` set in `font` at `size` pt, in mm.
fn width_mm(font: &ParsedFont, size: f32, s: &str) -> f32 {
    let upem = f32::from(font.units_per_em.max(1));
    let units: f32 = s
        .chars()
        .map(|c| {
            font.lookup_glyph_index(c as u32)
                .and_then(|g| font.get_glyph_width(g))
                .map_or(upem * 0.6, f32::from)
        })
        .sum();
    units / upem * size * 25.4 / 72.0
}

/// `s` broken into lines no wider than `width` mm: at spaces, and inside a word only when the
/// word alone is wider than a line. Nothing is dropped.
fn wrap(font: &ParsedFont, size: f32, s: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width_mm(font, size, &candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than a line is cut where it must be.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width_mm(font, size, &piece) > width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// `s` cut (with an ellipsis) to fit `width` mm.
fn fit(font: &ParsedFont, size: f32, s: &str, width: f32) -> String {
    if width_mm(font, size, s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if width_mm(font, size, &format!("{out}…")) > width {
            out.pop();
            break;
        }
    }
    format!("{out}…")
}

/// Pages being filled top to bottom.
struct Pages<'a> {
    pages: Vec<Vec<Op>>,
    y: f32,
    regular: (&'a ParsedFont, PdfFontHandle),
    bold: (&'a ParsedFont, PdfFontHandle),
}

impl Pages<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    fn bottom(&self) -> f32 {
        if self.pages.len() == 1 {
            BOTTOM_FIRST
        } else {
            BOTTOM
        }
    }

    /// Room for `h` mm below the cursor, on a new page if need be.
    fn ensure(&mut self, h: f32) {
        if self.y - h < self.bottom() {
            self.pages.push(vec![Op::SetFillColor {
                col: rgb(0.1, 0.1, 0.1),
            }]);
            self.y = TOP;
        }
    }

    fn text(&mut self, bold: bool, size: f32, x: f32, y: f32, s: &str) {
        let font = if bold {
            self.bold.1.clone()
        } else {
            self.regular.1.clone()
        };
        self.ops().extend(text_ops(font, size, x, y, s));
    }

    /// A paragraph at `x`, wrapped to the right margin; the cursor moves below it.
    fn paragraph(&mut self, bold: bool, size: f32, x: f32, s: &str, leading: f32) {
        let font = if bold { self.bold.0 } else { self.regular.0 };
        for line in wrap(font, size, s, RIGHT - x) {
            self.ensure(leading);
            self.y -= leading;
            let y = self.y;
            self.text(bold, size, x, y, &line);
        }
    }

    fn colour(&mut self, c: Color) {
        self.ops().push(Op::SetFillColor { col: c });
    }

    fn rule(&mut self) {
        self.y -= 3.0;
        let y = self.y;
        self.ops()
            .extend(line_ops(&[(LEFT, y), (RIGHT, y)], false, 0.5));
        self.y -= 2.0;
    }
}

fn text_ops(font: PdfFontHandle, size: f32, x: f32, y: f32, s: &str) -> [Op; 5] {
    [
        Op::StartTextSection,
        Op::SetFont {
            font,
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
    ]
}

fn line_ops(points: &[(f32, f32)], closed: bool, width: f32) -> [Op; 3] {
    [
        Op::SetOutlineColor {
            col: rgb(0.6, 0.6, 0.6),
        },
        Op::SetOutlineThickness { pt: Pt(width) },
        Op::DrawLine {
            line: Line {
                points: points
                    .iter()
                    .map(|&(x, y)| LinePoint {
                        p: Point {
                            x: Mm(x).into(),
                            y: Mm(y).into(),
                        },
                        bezier: false,
                    })
                    .collect(),
                is_closed: closed,
            },
        },
    ]
}

/// Renders the certificate as an unsigned PDF: as many A4 pages as its content needs, every
/// line inside the margins, the request id and page number on every page, and on page 1 the
/// visible signature ([`SIGNATURE_BOX`]).
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
    let mut p = Pages {
        pages: vec![vec![Op::SetFillColor {
            col: rgb(0.1, 0.1, 0.1),
        }]],
        y: TOP + 6.0,
        regular: (regular, PdfFontHandle::External(doc.add_font(regular))),
        bold: (bold, PdfFontHandle::External(doc.add_font(bold))),
    };

    p.paragraph(true, 16.0, LEFT, "Identity verification certificate", 7.0);
    p.y -= 1.5;
    let issuer = if c.issuer.contact.is_empty() {
        format!("Issued by {}", c.issuer.name)
    } else {
        format!("Issued by {} — {}", c.issuer.name, c.issuer.contact)
    };
    p.paragraph(false, 9.0, LEFT, &issuer, 4.6);
    p.paragraph(false, 9.0, LEFT, &format!("For {}", c.tenant), 4.6);
    p.paragraph(false, 9.0, LEFT, &format!("Request {}", c.request_id), 4.6);
    p.paragraph(
        false,
        9.0,
        LEFT,
        &format!(
            "Received {} UTC · processed {} UTC",
            c.received_at, c.processed_at
        ),
        4.6,
    );
    p.y -= 2.0;
    p.colour(match c.decision.as_str() {
        "APPROVED" => rgb(0.05, 0.45, 0.2),
        "REVIEW" | "NOT_APPROVED" => rgb(0.65, 0.45, 0.0),
        _ => rgb(0.7, 0.1, 0.1),
    });
    p.paragraph(true, 14.0, LEFT, &format!("Decision: {}", c.decision), 6.0);
    p.colour(rgb(0.1, 0.1, 0.1));
    p.rule();

    // Thumbnails, each scaled into its box, three to a row.
    for row in c.thumbnails.chunks(3) {
        let captions: Vec<Vec<String>> = row
            .iter()
            .map(|(caption, _)| wrap(regular, 7.0, caption, THUMB_W))
            .collect();
        let caption_h = captions.iter().map(Vec::len).max().unwrap_or(0) as f32 * 3.2;
        p.ensure(THUMB_H + caption_h + 4.0);
        let top = p.y - 2.0;
        for (i, ((_, png), caption)) in row.iter().zip(&captions).enumerate() {
            let img = RawImage::decode_from_bytes(png, &mut Vec::new())
                .map_err(|e| CertifyError::Sign(format!("thumbnail: {e}")))?;
            let (w, h) = (img.width.max(1) as f32, img.height.max(1) as f32);
            let (w_mm, h_mm) = if w / h > THUMB_W / THUMB_H {
                (THUMB_W, THUMB_W * h / w)
            } else {
                (THUMB_H * w / h, THUMB_H)
            };
            // At `dpi`, one pixel is 25.4/dpi mm.
            let dpi = w * 25.4 / w_mm;
            let x = LEFT + i as f32 * (THUMB_W + THUMB_GAP);
            let id = doc.add_image(&img);
            p.ops().push(Op::UseXobject {
                id,
                transform: XObjectTransform {
                    translate_x: Some(Mm(x + (THUMB_W - w_mm) / 2.0).into()),
                    translate_y: Some(Mm(top - THUMB_H + (THUMB_H - h_mm) / 2.0).into()),
                    dpi: Some(dpi),
                    ..Default::default()
                },
            });
            for (j, line) in caption.iter().enumerate() {
                p.text(false, 7.0, x, top - THUMB_H - 3.5 - j as f32 * 3.2, line);
            }
        }
        p.y = top - THUMB_H - 3.5 - caption_h - 2.0;
    }

    for s in &c.sections {
        if s.rows.is_empty() {
            continue;
        }
        // A title stays with its first row.
        p.ensure(6.0 + LINE);
        p.y -= 6.0;
        let y = p.y;
        p.text(true, 11.0, LEFT, y, &s.title);
        p.y -= 1.0;
        for r in &s.rows {
            let labels = wrap(regular, 8.5, &r.label, LABEL_W);
            let values = wrap(regular, 8.5, &r.value, RIGHT - VALUE_X);
            for i in 0..labels.len().max(values.len()) {
                p.ensure(LINE);
                p.y -= LINE;
                let y = p.y;
                if let Some(l) = labels.get(i) {
                    p.text(false, 8.5, LABEL_X, y, l);
                }
                if let Some(v) = values.get(i) {
                    p.text(false, 8.5, VALUE_X, y, v);
                }
            }
            p.y -= 0.8;
        }
    }

    // The visible signature on page 1, and every page's footer.
    let [x1, y1, x2, y2] = SIGNATURE_BOX;
    let signature = [
        (true, format!("Digitally signed by {} for {}", c.signed_by, c.issuer.name)),
        (
            false,
            format!(
                "Signed {} UTC: a PAdES signature with an RFC 3161 timestamp over this whole document as issued; any change breaks it.",
                c.processed_at
            ),
        ),
        (
            false,
            "To verify: open it in a PDF reader that checks signatures, or run `pdfsig FILE` or `pyhanko sign validate --trust CA.pem FILE` with the issuer's CA certificate.".to_string(),
        ),
    ];
    let mut ops = line_ops(&[(x1, y1), (x2, y1), (x2, y2), (x1, y2)], true, 0.8).to_vec();
    let mut y = y2 - 4.0;
    for (is_bold, s) in &signature {
        let (font, handle) = if *is_bold { &p.bold } else { &p.regular };
        for line in wrap(font, 7.5, s, x2 - x1 - 4.0) {
            if y < y1 + 1.0 {
                break;
            }
            ops.extend(text_ops(handle.clone(), 7.5, x1 + 2.0, y, &line));
            y -= 3.4;
        }
    }
    p.pages[0].extend(ops);
    let n = p.pages.len();
    let page_ops = std::mem::take(&mut p.pages);
    let pages = page_ops
        .into_iter()
        .enumerate()
        .map(|(i, mut ops)| {
            let right = format!("page {} of {n}", i + 1);
            let right_w = width_mm(regular, 7.0, &right);
            let left = fit(
                regular,
                7.0,
                &format!("Request {} · {}", c.request_id, c.issuer.name),
                RIGHT - LEFT - right_w - 5.0,
            );
            ops.push(Op::SetFillColor {
                col: rgb(0.4, 0.4, 0.4),
            });
            ops.extend(text_ops(p.regular.1.clone(), 7.0, LEFT, FOOTER_Y, &left));
            ops.extend(text_ops(
                p.regular.1.clone(),
                7.0,
                RIGHT - right_w,
                FOOTER_Y,
                &right,
            ));
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    save(doc.with_pages(pages))
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
