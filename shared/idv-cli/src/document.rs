//! `idv document …`: the document engine's command-line tools.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use idv_document::{CheckSettings, DocumentEngine, DocumentReport, Ymd};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::load_image;

#[derive(Subcommand)]
pub enum DocumentCommand {
    /// Read a document photo: prints {"mrz", "data", "checks"}.
    Scan {
        front: PathBuf,
        /// The back of the document (a TD1 ID card's MRZ is there).
        #[arg(long)]
        back: Option<PathBuf>,
        /// Minimum holder age for the UNDERAGE check.
        #[arg(long, default_value_t = 18)]
        minimum_age: i64,
    },
    /// Read every image of DIR that has a ground-truth NAME.json: {"mrz": [lines]} (MRZ
    /// documents) or {"document_type", "fields": {…}} (any document; field-by-field rates).
    Eval {
        dir: PathBuf,
        /// Exit with an error unless at least this share of documents has every field right.
        #[arg(long, value_name = "FRACTION")]
        min_fields: Option<f64>,
    },
}

pub fn run(cmd: DocumentCommand) -> Result<()> {
    let engine = DocumentEngine::load_default()?;
    match cmd {
        DocumentCommand::Scan {
            front,
            back,
            minimum_age,
        } => {
            let f = load_image(&front)?;
            let b = back.as_ref().map(load_image).transpose()?;
            let settings = CheckSettings {
                minimum_age,
                ..CheckSettings::default()
            };
            let report = engine.read(&f, b.as_ref(), &settings, Ymd::today())?;
            println!("{}", serde_json::to_string_pretty(&scan_json(&report))?);
            Ok(())
        }
        DocumentCommand::Eval { dir, min_fields } => {
            let share = eval(&engine, &dir)?;
            match min_fields {
                Some(min) if share < min => {
                    anyhow::bail!(
                        "fields exact on {share:.3} of documents, below --min-fields {min}"
                    )
                }
                _ => Ok(()),
            }
        }
    }
}

/// The `scan` output: the zone (or null), the Kairos data fields and the checks.
pub fn scan_json(r: &DocumentReport) -> Value {
    json!({
        "mrz": r.mrz.as_ref().map(|z| json!({
            "format": z.format,
            "lines": z.lines,
            "valid": z.valid,
            "checks": z.checks,
            "repairs": z.repairs,
            "side": r.mrz_side,
        })),
        "document_type": r.document_type,
        "barcode": r.barcode,
        "licence_line": r.licence_line,
        "data": r.data,
        "checks": r.checks,
        "quality": r.quality,
    })
}

/// Ground truth for one evaluation image: an MRZ, or fields.
#[derive(serde::Deserialize)]
struct Truth {
    #[serde(default)]
    mrz: Vec<String>,
    #[serde(default)]
    distortion: Option<String>,
    #[serde(default)]
    fields: Option<idv_document::truth::TruthFields>,
    #[serde(default)]
    document_type: Option<String>,
}

#[derive(Default)]
struct Tally {
    documents: usize,
    found: usize,
    exact: usize,
    fields: usize,
    glare: usize,
    blurry: usize,
}

/// Reads every document of `dir` and prints the tallies; returns the share with every field right.
fn eval(engine: &DocumentEngine, dir: &Path) -> Result<f64> {
    let mut items: Vec<(PathBuf, Truth)> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let truth: Truth =
            serde_json::from_str(&std::fs::read_to_string(&path)?).with_context(|| {
                format!(
                    "{}: expected {{\"mrz\": [lines]}} or {{\"fields\": {{…}}}}",
                    path.display()
                )
            })?;
        if truth.mrz.is_empty() && truth.fields.is_none() {
            continue;
        }
        let image = ["jpg", "png", "jpeg", "webp"]
            .iter()
            .map(|e| path.with_extension(e))
            .find(|p| p.exists())
            .with_context(|| format!("no image beside {}", path.display()))?;
        items.push((image, truth));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if items.iter().any(|(_, t)| t.fields.is_some()) {
        return eval_fields(engine, &items);
    }
    let bar = ProgressBar::new(items.len() as u64).with_style(
        ProgressStyle::with_template(
            "reading [{bar:40}] {pos}/{len} documents, {elapsed} elapsed, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let mut total = Tally::default();
    let mut by_kind: std::collections::BTreeMap<String, Tally> = Default::default();
    let mut times = Vec::new();
    let settings = CheckSettings::default();
    for (image, truth) in &items {
        let img = load_image(image)?;
        let quality = idv_document::quality::measure(&img);
        let t = Instant::now();
        let zone = engine.read_zone(&img)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let expected = idv_document::Zone::read(&truth.mrz.join("\n")).ok();
        let (found, exact, fields) = match (&zone, &expected) {
            (Ok(z), Some(e)) => (true, z.lines == e.lines, same_fields(&z.parsed, &e.parsed)),
            (Ok(_), None) => (true, false, false),
            _ => (false, false, false),
        };
        if !exact {
            bar.suspend(|| {
                eprintln!(
                    "{}: {}",
                    image.display(),
                    match &zone {
                        Ok(z) => format!("read {:?}", z.lines),
                        Err(e) => format!(
                            "{e}; OCR lines {:?}",
                            engine
                                .ocr()
                                .mrz_lines(&img)
                                .map(|l| l.0.into_iter().map(|r| r.text).collect::<Vec<_>>())
                                .unwrap_or_default()
                        ),
                    }
                )
            });
        }
        let kind = truth.distortion.clone().unwrap_or_else(|| "none".into());
        for t in [&mut total, by_kind.entry(kind).or_default()] {
            t.documents += 1;
            t.found += usize::from(found);
            t.exact += usize::from(exact);
            t.fields += usize::from(fields);
            t.glare += usize::from(quality.glare > settings.glare_threshold);
            t.blurry += usize::from(quality.sharpness < settings.blur_threshold);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort_by(f64::total_cmp);
    if let Some(median) = times.get(times.len() / 2) {
        eprintln!("median MRZ read time: {median:.1} ms");
    }
    for (kind, t) in &by_kind {
        eprintln!(
            "{kind:12} {:4} documents  found {:5.1} %  exact {:5.1} %  fields {:5.1} %  GLARE {:4}  IMAGE_TOO_BLURRY {:4}",
            t.documents,
            pct(t.found, t.documents),
            pct(t.exact, t.documents),
            pct(t.fields, t.documents),
            t.glare,
            t.blurry
        );
    }
    println!(
        "{}",
        json!({"documents": total.documents, "mrz_found": total.found, "mrz_exact": total.exact, "fields_exact": total.fields, "glare_flagged": total.glare, "blur_flagged": total.blurry})
    );
    Ok(total.fields as f64 / total.documents.max(1) as f64)
}

/// Field-by-field evaluation: per-field exact rates, documents with every field exact,
/// document-type accuracy and read time.
fn eval_fields(engine: &DocumentEngine, items: &[(PathBuf, Truth)]) -> Result<f64> {
    use std::collections::BTreeMap;
    let bar = ProgressBar::new(items.len() as u64).with_style(
        ProgressStyle::with_template("reading [{bar:40}] {pos}/{len} documents, eta {eta}")?
            .progress_chars("=> "),
    );
    let settings = CheckSettings::default();
    let today = Ymd::today();
    let mut per_field: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut all_exact, mut typed, mut with_type, mut documents) = (0, 0, 0, 0);
    let mut times = Vec::new();
    // Documents on which an ICAO zone was read: on a card without one, a false MRZ.
    let mut zones: Vec<String> = Vec::new();
    for (image, truth) in items {
        let Some(fields) = &truth.fields else {
            continue;
        };
        documents += 1;
        let img = load_image(image)?;
        let t = Instant::now();
        let report = engine.read(&img, None, &settings, today)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let outcome = idv_document::truth::compare(&report.data, fields);
        if let Some(z) = &report.mrz {
            let name = image.file_name().unwrap_or_default().to_string_lossy();
            zones.push(format!(
                "{name} ({}, {})",
                z.format,
                if z.valid { "valid" } else { "repaired" }
            ));
        }
        for o in &outcome {
            let e = per_field.entry(o.key).or_default();
            e.0 += usize::from(o.exact);
            e.1 += 1;
        }
        let exact = outcome.iter().all(|o| o.exact);
        all_exact += usize::from(exact);
        let kind = truth.distortion.clone().unwrap_or_else(|| "none".into());
        let k = by_kind.entry(kind).or_default();
        k.0 += usize::from(exact);
        k.1 += 1;
        // The sets label every identity card `id_card`; idv names a national one (read from
        // its MRZ) `national_id`, which is one.
        let type_right = |e: &str| {
            report.document_type == Some(e)
                || (e == "id_card" && report.document_type == Some("national_id"))
        };
        if let Some(expected) = &truth.document_type {
            with_type += 1;
            typed += usize::from(type_right(expected));
        }
        if !exact
            || truth
                .document_type
                .as_deref()
                .is_some_and(|e| !type_right(e))
        {
            let wrong: Vec<String> = outcome
                .iter()
                .filter(|o| !o.exact)
                .map(|o| format!("{}: {:?} ≠ {:?}", o.key, o.got, o.expected))
                .collect();
            bar.suspend(|| {
                eprintln!(
                    "{}: type {:?}; {}",
                    image.display(),
                    report.document_type,
                    wrong.join("; ")
                )
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    eprintln!(
        "read time: median {:.1} ms, p95 {:.1} ms",
        at(0.5),
        at(0.95)
    );
    for (key, (ok, n)) in &per_field {
        eprintln!("{key:16} {ok:4}/{n:<4} {:5.1} %", pct(*ok, *n));
    }
    for (kind, (ok, n)) in &by_kind {
        eprintln!(
            "{kind:12} {ok:4}/{n:<4} all fields exact {:5.1} %",
            pct(*ok, *n)
        );
    }
    eprintln!(
        "ICAO MRZ read on {} of {documents} (false unless the card carries one): {}",
        zones.len(),
        zones.join(", ")
    );
    let fields: BTreeMap<&str, f64> = per_field
        .iter()
        .map(|(k, (ok, n))| (*k, *ok as f64 / *n as f64))
        .collect();
    println!(
        "{}",
        json!({"documents": documents, "all_fields_exact": all_exact, "document_type_right": typed, "document_type_given": with_type, "field_exact_rate": fields, "mrz_read": zones, "median_ms": at(0.5), "p95_ms": at(0.95)})
    );
    Ok(all_exact as f64 / documents.max(1) as f64)
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// Every MRZ field equal (what a verification consumes), whatever the filler.
fn same_fields(a: &mrz::MrzData, b: &mrz::MrzData) -> bool {
    a.document_type == b.document_type
        && a.issuing_country == b.issuing_country
        && a.document_number == b.document_number
        && a.surname == b.surname
        && a.given_names == b.given_names
        && a.nationality == b.nationality
        && a.date_of_birth == b.date_of_birth
        && a.sex == b.sex
        && a.date_of_expiry == b.date_of_expiry
        && a.optional_data_1 == b.optional_data_1
        && a.optional_data_2 == b.optional_data_2
}
