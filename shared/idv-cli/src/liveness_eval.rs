//! `idv face liveness` decisions and `idv face liveness-eval`: liveness error rates on a
//! labelled folder (`live/<source>/…` = bona fide, `spoof/<source>/…` = attacks).
//!
//! APCER: share of attacks that pass. BPCER: share of live selfies that do not pass (review or
//! reject). At the profile's bands a selfie passes when it has a face that can be judged
//! (no capture issue) with a score at or above `review_below`. The threshold figures (BPCER at
//! APCER 5 % / 10 %, EER) use the raw score, 0 when no face is found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use idv_pipeline::decision::{self, Detail, Outcome};
use idv_pipeline::{Profile, SelfieReport};
use idv_vision::{FaceEngine, main_first};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::load_image;

/// The named profile, or the default one.
pub fn profile(name: Option<&str>) -> Result<Profile> {
    let name = name.unwrap_or(idv_pipeline::DEFAULT_PROFILE);
    idv_pipeline::profile::find(name).with_context(|| {
        let names: Vec<String> = idv_pipeline::profile::builtin()
            .into_iter()
            .map(|p| p.name)
            .collect();
        format!("unknown profile {name:?} (known: {})", names.join(", "))
    })
}

/// The selfie-only decision under `profile`: "pass" | "review" | "reject" and its details.
pub fn decide(profile: &Profile, report: &SelfieReport) -> (&'static str, Vec<Detail>) {
    let selfie = Ok(report.clone());
    let d = decision::decide(profile, None, false, None, Some(&selfie), None, None);
    let verdict = match d.outcome() {
        Outcome::Approved => "pass",
        Outcome::Review => "review",
        Outcome::Rejected => "reject",
    };
    (verdict, d.details)
}

/// One evaluated image.
struct Sample {
    path: PathBuf,
    source: String,
    live: bool,
    /// Raw liveness score; `None` when no face was found or the image did not decode.
    score: Option<f32>,
    models: Option<[f32; 2]>,
    capture: Option<&'static str>,
    context: Option<f64>,
    face_width: Option<f32>,
    verdict: &'static str,
}

impl Sample {
    /// An image with no face scored yet (counted as not passing).
    fn unprocessed(path: &Path) -> Sample {
        Sample {
            path: path.to_path_buf(),
            source: String::new(),
            live: false,
            score: None,
            models: None,
            capture: None,
            context: None,
            face_width: None,
            verdict: "reject",
        }
    }
}

fn images_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            images_under(&path, out)?;
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["jpg", "jpeg", "png", "webp", "bmp"].contains(&e.to_ascii_lowercase().as_str())
        }) {
            out.push(path);
        }
    }
    Ok(())
}

fn evaluate(engine: &FaceEngine, profile: &Profile, path: &Path) -> Result<Sample> {
    let img = load_image(&path.to_path_buf())?;
    let faces = main_first(engine.detect(&img)?);
    let mut sample = Sample::unprocessed(path);
    let (report, Some(live)) = SelfieReport::assess(engine, &img, faces)? else {
        return Ok(sample);
    };
    let main = &report.faces.faces[0];
    sample.score = Some(live.score);
    sample.models = Some(live.models);
    sample.context = Some(idv_vision::liveness::context(
        img.width(),
        img.height(),
        main,
    ));
    sample.face_width = Some(main.width);
    sample.capture = report.capture.map(|c| c.code());
    sample.verdict = decide(profile, &report).0;
    Ok(sample)
}

/// Error rates of one group of samples.
fn figures(samples: &[&Sample]) -> Value {
    let live: Vec<&&Sample> = samples.iter().filter(|s| s.live).collect();
    let attack: Vec<&&Sample> = samples.iter().filter(|s| !s.live).collect();
    let share = |n: usize, of: usize| {
        if of == 0 {
            Value::Null
        } else {
            json!(round4(n as f64 / of as f64))
        }
    };
    let count = |xs: &[&&Sample], f: &dyn Fn(&Sample) -> bool| xs.iter().filter(|s| f(s)).count();
    let scores =
        |xs: &[&&Sample]| -> Vec<f32> { xs.iter().map(|s| s.score.unwrap_or(0.0)).collect() };
    let (g, i) = (scores(&live), scores(&attack));
    let curve = Det::new(&g, &i);
    json!({
        "live": live.len(),
        "attack": attack.len(),
        "apcer": share(count(&attack, &|s| s.verdict == "pass"), attack.len()),
        "bpcer": share(count(&live, &|s| s.verdict != "pass"), live.len()),
        "bpcer_reject": share(count(&live, &|s| s.verdict == "reject"), live.len()),
        "bpcer_at_apcer_5": (!g.is_empty() && !i.is_empty()).then(|| round4(curve.bpcer_at_apcer(0.05))),
        "bpcer_at_apcer_10": (!g.is_empty() && !i.is_empty()).then(|| round4(curve.bpcer_at_apcer(0.10))),
        "eer": (!g.is_empty() && !i.is_empty()).then(|| round4(curve.eer())),
        "no_face": {"live": count(&live, &|s| s.score.is_none()), "attack": count(&attack, &|s| s.score.is_none())},
        "capture_issue": {"live": count(&live, &|s| s.capture.is_some()), "attack": count(&attack, &|s| s.capture.is_some())},
    })
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Runs the evaluation and prints per-source lines, then one JSON line.
pub fn run(
    engine: &FaceEngine,
    dir: &Path,
    profile: &Profile,
    plot: Option<PathBuf>,
    scores_csv: Option<PathBuf>,
) -> Result<()> {
    let mut labelled = Vec::new();
    for (label, live) in [("live", true), ("spoof", false)] {
        let sub = dir.join(label);
        if !sub.is_dir() {
            bail!(
                "{} has no {label}/ folder (expected DIR/live/** and DIR/spoof/**)",
                dir.display()
            );
        }
        let mut paths = Vec::new();
        images_under(&sub, &mut paths)?;
        for p in paths {
            let rel = p.strip_prefix(&sub).unwrap_or(&p);
            let source = match rel.components().count() {
                0 | 1 => "(top)".to_string(),
                _ => rel
                    .components()
                    .next()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .unwrap_or_default(),
            };
            labelled.push((p, source, live));
        }
    }
    if labelled.is_empty() {
        bail!(
            "no images under {}/live or {}/spoof",
            dir.display(),
            dir.display()
        );
    }
    let bar = ProgressBar::new(labelled.len() as u64).with_style(
        ProgressStyle::with_template(
            "liveness [{bar:40}] {pos}/{len} images, {elapsed} elapsed, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let mut samples = Vec::with_capacity(labelled.len());
    for (path, source, live) in labelled {
        let mut s = match evaluate(engine, profile, &path) {
            Ok(s) => s,
            Err(e) => {
                bar.suspend(|| eprintln!("{}: {e:#}", path.display()));
                Sample::unprocessed(&path)
            }
        };
        s.source = source;
        s.live = live;
        samples.push(s);
        bar.inc(1);
    }
    bar.finish_and_clear();

    if let Some(csv) = scores_csv {
        let mut out = String::from(
            "path,label,source,score,minifasnet_v2,minifasnet_v1se,capture,context,face_width,verdict\n",
        );
        for s in &samples {
            let opt = |v: Option<String>| v.unwrap_or_default();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                s.path.display(),
                if s.live { "live" } else { "spoof" },
                s.source,
                opt(s.score.map(|v| format!("{v:.5}"))),
                opt(s.models.map(|m| format!("{:.5}", m[0]))),
                opt(s.models.map(|m| format!("{:.5}", m[1]))),
                s.capture.unwrap_or(""),
                opt(s.context.map(|v| format!("{v:.3}"))),
                opt(s.face_width.map(|v| format!("{v:.1}"))),
                s.verdict,
            ));
        }
        std::fs::write(&csv, out).with_context(|| format!("writing {}", csv.display()))?;
        eprintln!("scores: {}", csv.display());
    }

    let mut by_source: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in &samples {
        by_source.entry(&s.source).or_default().push(s);
    }
    let all: Vec<&Sample> = samples.iter().collect();
    let band = profile.liveness;
    println!(
        "profile {}: pass at liveness >= {} (review below, reject below {}), capture checks on",
        profile.name, band.review_below, band.reject_below
    );
    println!(
        "{:24} {:>5} {:>6} {:>7} {:>7} {:>7} {:>9} {:>10} {:>6} {:>8} {:>8}",
        "source",
        "live",
        "attack",
        "APCER",
        "BPCER",
        "BPCER-rj",
        "BPCER@5%",
        "BPCER@10%",
        "EER",
        "no face",
        "capture"
    );
    let mut per_source = serde_json::Map::new();
    let pct = |v: &Value| {
        v.as_f64()
            .map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    let line = |name: &str, f: &Value| {
        println!(
            "{:24} {:>5} {:>6} {:>7} {:>7} {:>7} {:>9} {:>10} {:>6} {:>8} {:>8}",
            name,
            f["live"],
            f["attack"],
            pct(&f["apcer"]),
            pct(&f["bpcer"]),
            pct(&f["bpcer_reject"]),
            pct(&f["bpcer_at_apcer_5"]),
            pct(&f["bpcer_at_apcer_10"]),
            pct(&f["eer"]),
            format!("{}/{}", f["no_face"]["live"], f["no_face"]["attack"]),
            format!(
                "{}/{}",
                f["capture_issue"]["live"], f["capture_issue"]["attack"]
            ),
        );
    };
    for (source, group) in &by_source {
        let f = figures(group);
        line(source, &f);
        per_source.insert(source.to_string(), f);
    }
    let overall = figures(&all);
    line("overall", &overall);

    let plot = plot.unwrap_or_else(|| PathBuf::from("liveness-det.svg"));
    let mut curves: Vec<(String, Det)> = by_source
        .iter()
        .map(|(name, group)| {
            let (g, i): (Vec<&&Sample>, Vec<&&Sample>) = group.iter().partition(|s| s.live);
            let score = |xs: Vec<&&Sample>| {
                xs.iter()
                    .map(|s| s.score.unwrap_or(0.0))
                    .collect::<Vec<_>>()
            };
            (name.to_string(), Det::new(&score(g), &score(i)))
        })
        .collect();
    let (g, i): (Vec<&Sample>, Vec<&Sample>) = all.iter().partition(|s| s.live);
    curves.push((
        "overall".into(),
        Det::new(
            &g.iter().map(|s| s.score.unwrap_or(0.0)).collect::<Vec<_>>(),
            &i.iter().map(|s| s.score.unwrap_or(0.0)).collect::<Vec<_>>(),
        ),
    ));
    plot_det(&curves, &plot)?;
    eprintln!("DET plot: {}", plot.display());

    let mut out = overall;
    out["profile"] = json!(profile.name);
    out["sources"] = Value::Object(per_source);
    println!("{out}");
    Ok(())
}

/// Score distributions of live and attack samples.
struct Det {
    live: Vec<f32>,
    attack: Vec<f32>,
}

impl Det {
    fn new(live: &[f32], attack: &[f32]) -> Det {
        let mut l = live.to_vec();
        let mut a = attack.to_vec();
        l.sort_by(f32::total_cmp);
        a.sort_by(f32::total_cmp);
        Det { live: l, attack: a }
    }

    /// (APCER, BPCER) when passing scores ≥ t, for every observed threshold.
    fn curve(&self) -> Vec<(f32, f32)> {
        let mut ts: Vec<f32> = self.live.iter().chain(&self.attack).copied().collect();
        ts.push(f32::INFINITY);
        ts.sort_by(f32::total_cmp);
        ts.dedup();
        let share_below = |xs: &[f32], t: f32| {
            if xs.is_empty() {
                0.0
            } else {
                xs.partition_point(|&x| x < t) as f32 / xs.len() as f32
            }
        };
        ts.into_iter()
            .map(|t| {
                (
                    1.0 - share_below(&self.attack, t),
                    share_below(&self.live, t),
                )
            })
            .collect()
    }

    fn bpcer_at_apcer(&self, apcer: f64) -> f64 {
        self.curve()
            .into_iter()
            .filter(|&(a, _)| f64::from(a) <= apcer + 1e-9)
            .map(|(_, b)| f64::from(b))
            .fold(1.0, f64::min)
    }

    fn eer(&self) -> f64 {
        self.curve()
            .into_iter()
            .min_by(|x, y| (x.0 - x.1).abs().total_cmp(&(y.0 - y.1).abs()))
            .map(|(a, b)| f64::from(a + b) / 2.0)
            .unwrap_or(1.0)
    }
}

/// Writes DET curves (BPCER against APCER) as SVG.
fn plot_det(curves: &[(String, Det)], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (760, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("idv liveness: DET", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f32..1f32, 0f32..1f32)?;
    chart
        .configure_mesh()
        .x_desc("APCER (attacks passed)")
        .y_desc("BPCER (live selfies not passed)")
        .draw()?;
    for (n, (name, det)) in curves.iter().enumerate() {
        let color = Palette99::pick(n).to_rgba();
        let style = if name == "overall" {
            BLACK.stroke_width(2)
        } else {
            color.stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(det.curve(), style))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_figures() {
        let det = Det::new(&[0.9, 0.8, 0.7, 0.2], &[0.1, 0.3, 0.75, 0.05]);
        // Threshold 0.8 passes no attack and fails 2 of 4 live; 0.7 passes 1 of 4 attacks.
        assert_eq!(det.bpcer_at_apcer(0.0), 0.5);
        assert_eq!(det.bpcer_at_apcer(0.25), 0.25);
        assert!((det.eer() - 0.25).abs() < 1e-6);
    }
}
