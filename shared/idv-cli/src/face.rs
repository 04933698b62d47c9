//! `idv face …`: the face engine's command-line tools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use idv_vision::embed::Embedding;
use idv_vision::{FaceEngine, FacePrediction, calibrate, main_face, round4};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{liveness_eval, load_image};

#[derive(Subcommand)]
pub enum FaceCommand {
    /// Detect faces: prints {"faces": [...], "img": {width, height}}.
    Detect { image: PathBuf },
    /// Compare the main faces of two images: prints face_match_confidence and both detections.
    Compare { a: PathBuf, b: PathBuf },
    /// Passive liveness of the main face: prints faces_liveness in [0, 1], the faces, and the
    /// decision under a profile ("pass" | "review" | "reject", with the codes behind it).
    Liveness {
        image: PathBuf,
        /// Decision profile (default: the service's default profile).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Evaluate liveness on DIR/live/** and DIR/spoof/** (subfolders are sources): APCER and
    /// BPCER at the profile's bands, BPCER at APCER 5 % and 10 %, EER, per source and overall.
    LivenessEval {
        dir: PathBuf,
        /// Decision profile (default: the service's default profile).
        #[arg(long)]
        profile: Option<String>,
        /// Where to write the DET plot (SVG); default `liveness-det.svg` here.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Also write one CSV line per image (scores per model, capture, verdict).
        #[arg(long)]
        scores: Option<PathBuf>,
    },
    /// Evaluate face matching on a CSV of pairs (header path_a,path_b,same); the main (largest)
    /// face of each image is compared.
    Eval {
        pairs: PathBuf,
        /// Where to write the ROC/DET plot (SVG); default next to the CSV.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Also fit the fusion and the similarity→confidence calibration and print their
        /// constants (pass at FAR 0.1 %, review at FAR 1 %).
        #[arg(long)]
        fit: bool,
        /// Write path_a,path_b,same,confidence (+ both models' cosines) per pair; empty
        /// confidence = not processed.
        #[arg(long)]
        scores: Option<PathBuf>,
        /// Profile whose face-match bands give far_at_pass, frr_at_pass, far_at_review.
        #[arg(long)]
        profile: Option<String>,
    },
}

pub fn run(cmd: FaceCommand) -> Result<()> {
    let engine = FaceEngine::load_default()?;
    match cmd {
        FaceCommand::Detect { image } => {
            let img = load_image(&image)?;
            let faces = engine.detect(&img)?;
            print_json(&json!({
                "faces": faces.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                "img": {"width": img.width(), "height": img.height()},
            }))
        }
        FaceCommand::Compare { a, b } => {
            let (ia, ib) = (load_image(&a)?, load_image(&b)?);
            let m = engine.compare(&ia, &ib)?;
            print_json(&json!({
                "face_match_confidence": round4(m.confidence),
                "similarity": round4(m.similarity),
                "image_a": {"faces_predicted": m.faces_a.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                            "img": {"width": ia.width(), "height": ia.height()}},
                "image_b": {"faces_predicted": m.faces_b.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                            "img": {"width": ib.width(), "height": ib.height()}},
            }))
        }
        FaceCommand::Liveness { image, profile } => {
            let profile = liveness_eval::profile(profile.as_deref())?;
            let img = load_image(&image)?;
            let faces = idv_vision::main_first(engine.detect(&img)?);
            let (report, live) = idv_pipeline::SelfieReport::assess(&engine, &img, faces)?;
            let live = live.context("no face found in the image")?;
            let faces = &report.faces.faces;
            let (decision, details) = liveness_eval::decide(&profile, &report);
            print_json(&json!({
                "faces_liveness": round4(live.score),
                "models": {"minifasnet_v2": round4(live.models[0]), "minifasnet_v1se": round4(live.models[1])},
                "capture": report.capture.map(|c| c.code()),
                "faces_predicted": faces.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                "img": {"width": img.width(), "height": img.height()},
                "profile": profile.name,
                "decision": decision,
                "details": details,
            }))
        }
        FaceCommand::LivenessEval {
            dir,
            profile,
            plot,
            scores,
        } => {
            let profile = liveness_eval::profile(profile.as_deref())?;
            liveness_eval::run(&engine, &dir, &profile, plot, scores)
        }
        FaceCommand::Eval {
            pairs,
            plot,
            fit,
            scores,
            profile,
        } => {
            let profile = liveness_eval::profile(profile.as_deref())?;
            eval(&engine, &pairs, plot, fit, scores, &profile)
        }
    }
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// One labelled pair from the CSV.
struct Pair {
    a: PathBuf,
    b: PathBuf,
    same: bool,
}

fn read_pairs(csv: &Path) -> Result<Vec<Pair>> {
    let text =
        std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let base = csv.parent().unwrap_or(Path::new("."));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().trim();
    if header != "path_a,path_b,same" {
        bail!(
            "{}: header must be path_a,path_b,same (got {header:?})",
            csv.display()
        );
    }
    let mut pairs = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.trim().split(',').collect();
        let same = match cols.as_slice() {
            [_, _, "1"] => true,
            [_, _, "0"] => false,
            _ => bail!("{}:{}: expected path_a,path_b,0|1", csv.display(), n + 2),
        };
        pairs.push(Pair {
            a: base.join(cols[0]),
            b: base.join(cols[1]),
            same,
        });
    }
    Ok(pairs)
}

fn eval(
    engine: &FaceEngine,
    csv: &Path,
    plot: Option<PathBuf>,
    fit: bool,
    scores: Option<PathBuf>,
    profile: &idv_pipeline::Profile,
) -> Result<()> {
    let pairs = read_pairs(csv)?;
    let mut images: Vec<&PathBuf> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
    images.sort();
    images.dedup();

    let bar = ProgressBar::new(images.len() as u64).with_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:40}] {pos}/{len} images, {elapsed} elapsed, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_prefix("embedding");
    let mut embeddings: HashMap<&PathBuf, Option<Embedding>> = HashMap::new();
    for path in images {
        let e = load_image(path).ok().and_then(|img| {
            let faces = engine.detect(&img).ok()?;
            let face = main_face(&faces)?;
            engine.embed(&img, std::slice::from_ref(face)).ok()?.pop()
        });
        if e.is_none() {
            bar.suspend(|| eprintln!("no face embedded: {}", path.display()));
        }
        embeddings.insert(path, e);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let cosines: Vec<Option<[f32; 2]>> = pairs
        .iter()
        .map(|p| match (&embeddings[&p.a], &embeddings[&p.b]) {
            (Some(a), Some(b)) => Some(a.cosines(b)),
            _ => None,
        })
        .collect();
    let (mut genuine, mut impostor, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for (p, c) in pairs.iter().zip(&cosines) {
        match c {
            Some(c) if p.same => genuine.push(calibrate::fuse(*c)),
            Some(c) => impostor.push(calibrate::fuse(*c)),
            None => failed += 1,
        }
    }
    if let Some(out) = &scores {
        let mut text = String::from("path_a,path_b,same,confidence,cos_mobilefacenet,cos_dlib\n");
        for (p, c) in pairs.iter().zip(&cosines) {
            let rest = match c {
                Some(c) => format!(
                    "{:.6},{:.6},{:.6}",
                    calibrate::confidence(calibrate::fuse(*c)),
                    c[0],
                    c[1]
                ),
                None => ",,".into(),
            };
            text.push_str(&format!(
                "{},{},{},{rest}\n",
                p.a.display(),
                p.b.display(),
                u8::from(p.same)
            ));
        }
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("scores: {}", out.display());
    }
    let roc = Roc::new(&genuine, &impostor);
    let plot = plot.unwrap_or_else(|| csv.with_extension("roc.svg"));
    roc.plot(&plot)?;
    eprintln!("ROC/DET plot: {}", plot.display());

    // Error rates at the profile's bands, unprocessed pairs counted as not accepted.
    let band = profile.face_match;
    let n_genuine = pairs.iter().filter(|p| p.same).count().max(1) as f64;
    let n_impostor = pairs.iter().filter(|p| !p.same).count().max(1) as f64;
    let at_least = |xs: &[f32], t: f64| {
        xs.iter()
            .filter(|&&s| f64::from(calibrate::confidence(s)) >= t)
            .count() as f64
    };
    let far_at_pass = at_least(&impostor, band.review_below) / n_impostor;
    let frr_at_pass = 1.0 - at_least(&genuine, band.review_below) / n_genuine;
    let far_at_review = at_least(&impostor, band.reject_below) / n_impostor;
    eprintln!(
        "profile {}: FAR at pass (>= {}) {:.4} %, genuine not passing {:.2} %, FAR at review (>= {}) {:.3} %",
        profile.name,
        band.review_below,
        far_at_pass * 100.0,
        frr_at_pass * 100.0,
        band.reject_below,
        far_at_review * 100.0
    );
    if fit {
        fit_calibration(&pairs, &cosines);
    }
    println!(
        "{}",
        json!({
            "pairs": pairs.len(),
            "genuine": genuine.len(),
            "impostor": impostor.len(),
            "eer": round4(roc.eer()),
            "tar_at_far_1e-2": round4(roc.tar_at_far(1e-2)),
            "tar_at_far_1e-3": round4(roc.tar_at_far(1e-3)),
            "tar_at_far_1e-4": round4(roc.tar_at_far(1e-4)),
            "profile": profile.name,
            "far_at_pass": (far_at_pass * 1e6).round() / 1e6,
            "frr_at_pass": (frr_at_pass * 1e6).round() / 1e6,
            "far_at_review": (far_at_review * 1e6).round() / 1e6,
            "failed_to_process": failed,
        })
    );
    Ok(())
}

/// Fits the fusion (impostor mean and deviation per model) and the logistic that puts
/// confidence 0.56 at FAR 0.1 % and 0.40 at FAR 1 % (each with 95 % confidence); prints the
/// constants and the confidences at FAR 0.01 % and 0.5 % (strict and permissive passes).
fn fit_calibration(pairs: &[Pair], cosines: &[Option<[f32; 2]>]) {
    let impostors: Vec<[f32; 2]> = pairs
        .iter()
        .zip(cosines)
        .filter_map(|(p, c)| (!p.same).then_some(*c).flatten())
        .collect();
    if impostors.len() < 1000 {
        eprintln!("calibration fit: needs at least 1000 processed impostor pairs");
        return;
    }
    let stats = |i: usize| {
        let n = impostors.len() as f64;
        let mean = impostors.iter().map(|c| f64::from(c[i])).sum::<f64>() / n;
        let var = impostors
            .iter()
            .map(|c| (f64::from(c[i]) - mean).powi(2))
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    };
    let (m0, s0) = stats(0);
    let (m1, s1) = stats(1);
    let fused = |c: &[f32; 2]| ((f64::from(c[0]) - m0) / s0 + (f64::from(c[1]) - m1) / s1) / 2.0;
    let mut imp: Vec<f64> = impostors.iter().map(fused).collect();
    imp.sort_by(f64::total_cmp);
    // The fused score a share `far` of impostors reach or exceed.
    let at_far = |far: f64| imp[((1.0 - far) * imp.len() as f64).floor() as usize];
    // Each anchor sits where the false-accept rate is at most its target with 95 % confidence
    // (one-sided normal bound on the fitting set's binomial estimate), so that the bands hold
    // on other people and not only on average.
    let n = imp.len() as f64;
    let safe = |far: f64| far - 1.645 * (far * (1.0 - far) / n).sqrt();
    let (t_pass, t_review) = (at_far(safe(1e-3)), at_far(safe(1e-2)));
    let (a, b) = calibrate::anchored(t_pass as f32, t_review as f32);
    let conf = |t: f64| calibrate::logistic(a, b, t as f32);
    eprintln!(
        "fusion fit on {} impostor pairs: MOBILEFACENET_IMPOSTOR = ({m0:.4}, {s0:.4}), DLIB_IMPOSTOR = ({m1:.4}, {s1:.4})",
        impostors.len()
    );
    eprintln!(
        "calibration fit: A = {a:.4}, B = {b:.4} (fused score {t_pass:.4} at FAR {:.5}, {t_review:.4} at FAR {:.4}); confidence at FAR 1e-4 {:.4}, at FAR 5e-3 {:.4}",
        safe(1e-3),
        safe(1e-2),
        conf(at_far(1e-4)),
        conf(at_far(5e-3))
    );
}

/// Score distributions of genuine and impostor pairs.
struct Roc {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

impl Roc {
    fn new(genuine: &[f32], impostor: &[f32]) -> Roc {
        let mut g = genuine.to_vec();
        let mut i = impostor.to_vec();
        g.sort_by(f32::total_cmp);
        i.sort_by(f32::total_cmp);
        Roc {
            genuine: g,
            impostor: i,
        }
    }

    /// Fraction of `sorted` scores at or above `t`.
    fn above(sorted: &[f32], t: f32) -> f32 {
        if sorted.is_empty() {
            return 0.0;
        }
        (sorted.len() - sorted.partition_point(|&x| x < t)) as f32 / sorted.len() as f32
    }

    /// Candidate thresholds: every observed score, plus one above all.
    fn thresholds(&self) -> Vec<f32> {
        let mut t: Vec<f32> = self.genuine.iter().chain(&self.impostor).copied().collect();
        t.push(f32::INFINITY);
        t.sort_by(f32::total_cmp);
        t.dedup();
        t
    }

    /// (FAR, TAR) at every threshold.
    fn curve(&self) -> Vec<(f32, f32)> {
        self.thresholds()
            .into_iter()
            .map(|t| {
                (
                    Self::above(&self.impostor, t),
                    Self::above(&self.genuine, t),
                )
            })
            .collect()
    }

    /// Highest TAR with FAR ≤ `far`.
    fn tar_at_far(&self, far: f32) -> f32 {
        self.curve()
            .into_iter()
            .filter(|&(f, _)| f <= far)
            .map(|(_, t)| t)
            .fold(0.0, f32::max)
    }

    /// Equal error rate: where FAR and FRR (1 − TAR) cross.
    fn eer(&self) -> f32 {
        self.curve()
            .into_iter()
            .map(|(far, tar)| (far, 1.0 - tar))
            .min_by(|a, b| (a.0 - a.1).abs().total_cmp(&(b.0 - b.1).abs()))
            .map(|(far, frr)| (far + frr) / 2.0)
            .unwrap_or(1.0)
    }

    /// Writes a ROC curve (TAR vs FAR, log FAR axis) as SVG.
    fn plot(&self, path: &Path) -> Result<()> {
        use plotters::prelude::*;
        let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let floor = 1e-4f32;
        let mut chart = ChartBuilder::on(&root)
            .caption("idv face match: ROC", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((floor..1f32).log_scale(), 0f32..1.01f32)?;
        chart
            .configure_mesh()
            .x_desc("false accept rate")
            .y_desc("true accept rate")
            .draw()?;
        let mut pts: Vec<(f32, f32)> = self
            .curve()
            .into_iter()
            .map(|(f, t)| (f.max(floor), t))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        chart.draw_series(LineSeries::new(pts, &BLUE))?;
        root.present()?;
        Ok(())
    }
}
