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
    /// Evaluate face matching on a CSV of pairs (header path_a,path_b,same).
    Eval {
        pairs: PathBuf,
        /// Where to write the ROC/DET plot (SVG); default next to the CSV.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Also fit the cosine→confidence calibration and print its constants.
        #[arg(long)]
        fit: bool,
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
                "cosine_similarity": round4(m.cosine),
                "image_a": {"faces_predicted": m.faces_a.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                            "img": {"width": ia.width(), "height": ia.height()}},
                "image_b": {"faces_predicted": m.faces_b.iter().map(FacePrediction::from).collect::<Vec<_>>(),
                            "img": {"width": ib.width(), "height": ib.height()}},
            }))
        }
        FaceCommand::Liveness { image, profile } => {
            let profile = liveness_eval::profile(profile.as_deref())?;
            let img = load_image(&image)?;
            let faces = engine.detect(&img)?;
            let main = main_face(&faces)
                .context("no face found in the image")?
                .clone();
            let live = engine.liveness(&img, &main)?;
            let mut ordered = faces.clone();
            ordered.retain(|f| f != &main);
            ordered.insert(0, main);
            let report = idv_pipeline::SelfieReport::assess(&engine, &img, ordered)?;
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
        FaceCommand::Eval { pairs, plot, fit } => eval(&engine, &pairs, plot, fit),
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

fn eval(engine: &FaceEngine, csv: &Path, plot: Option<PathBuf>, fit: bool) -> Result<()> {
    let pairs = read_pairs(csv)?;
    let mut paths: Vec<&PathBuf> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
    paths.sort();
    paths.dedup();

    let bar = ProgressBar::new(paths.len() as u64).with_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:40}] {pos}/{len} images, {elapsed} elapsed, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_prefix("embedding");
    let mut embeddings: HashMap<&PathBuf, Option<Embedding>> = HashMap::new();
    for path in paths {
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

    let (mut genuine, mut impostor, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for p in &pairs {
        match (&embeddings[&p.a], &embeddings[&p.b]) {
            (Some(a), Some(b)) => {
                let c = a.cosine(b);
                if p.same {
                    genuine.push(c)
                } else {
                    impostor.push(c)
                }
            }
            _ => failed += 1,
        }
    }
    let roc = Roc::new(&genuine, &impostor);
    let plot = plot.unwrap_or_else(|| csv.with_extension("roc.svg"));
    roc.plot(&plot)?;
    eprintln!("ROC/DET plot: {}", plot.display());
    let in_band = |xs: &[f32], pass: bool| {
        xs.iter()
            .filter(|&&c| {
                let conf = calibrate::confidence(c);
                if pass { conf >= 0.56 } else { conf < 0.4 }
            })
            .count()
    };
    eprintln!(
        "genuine pairs in the pass band (>= 0.56): {}/{}; impostor pairs in the reject band (< 0.4): {}/{}",
        in_band(&genuine, true),
        genuine.len(),
        in_band(&impostor, false),
        impostor.len()
    );
    if fit {
        let (a, b) = calibrate::fit(&genuine, &impostor);
        eprintln!(
            "calibration fit: A = {a:.4}, B = {b:.4} (cosine at confidence 0.5: {:.4})",
            -b / a
        );
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
            "failed_to_process": failed,
        })
    );
    Ok(())
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
