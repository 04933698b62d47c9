//! `idv bench …`: benchmarks that print their figures (median and p95 over repeated runs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use idv_vision::{FaceEngine, main_face};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Face engine per-stage latency on two photos (default: two ~1000 px fixtures).
    Face {
        #[arg(
            long,
            default_value = "tests/fixtures/faces/face_recognition__obama-720p.jpg"
        )]
        a: PathBuf,
        #[arg(
            long,
            default_value = "tests/fixtures/faces/face_recognition__knn_train__obama__obama.jpg"
        )]
        b: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Document engine latency on one photo (default: the ICAO specimen TD3 photo, 1334×880).
    Document {
        #[arg(long, default_value = "tests/fixtures/documents/passport-td3.jpg")]
        image: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Face { a, b, runs } => face(&a, &b, runs),
        BenchCommand::Document { image, runs } => document(&image, runs),
    }
}

/// Median and 95th percentile of the samples, in milliseconds.
fn stats(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (at(0.5), at(0.95))
}

fn face(a: &PathBuf, b: &PathBuf, runs: usize) -> Result<()> {
    let t = Instant::now();
    let engine = FaceEngine::load_default()?;
    println!("load models: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let bytes = [std::fs::read(a)?, std::fs::read(b)?];
    let decode = |bytes: &[u8]| idv_image::decode_rgb(bytes, &idv_image::Limits::ANY);
    let imgs = [decode(&bytes[0])?, decode(&bytes[1])?];
    println!(
        "images: {}x{} and {}x{}",
        imgs[0].width(),
        imgs[0].height(),
        imgs[1].width(),
        imgs[1].height()
    );
    let (mut t_decode, mut t_detect, mut t_embed, mut t_live, mut t_pair) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs + 2 {
        let warm = i >= 2;
        // Sequential per-stage timings on image A.
        let t = Instant::now();
        let img = decode(&bytes[0])?;
        let d_decode = t.elapsed();
        let t = Instant::now();
        let faces = engine.detect(&img)?;
        let d_detect = t.elapsed();
        let face = main_face(&faces).context("no face in image A")?;
        let t = Instant::now();
        engine.embed(&img, std::slice::from_ref(face))?;
        let d_embed = t.elapsed();
        let t = Instant::now();
        engine.liveness(&img, face)?;
        let d_live = t.elapsed();
        // The whole job the target is about: detect + align + embed both photos, in parallel.
        let t = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let jobs: Vec<_> = imgs
                .iter()
                .map(|img| s.spawn(|| engine.analyze(img)))
                .collect();
            for j in jobs {
                j.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
            }
            Ok(())
        })?;
        let d_pair = t.elapsed();
        if warm {
            t_decode.push(d_decode);
            t_detect.push(d_detect);
            t_embed.push(d_embed);
            t_live.push(d_live);
            t_pair.push(d_pair);
        }
    }
    for (name, samples) in [
        ("decode (image A)", &mut t_decode),
        ("detect (image A)", &mut t_detect),
        ("align+embed (image A)", &mut t_embed),
        ("liveness (image A)", &mut t_live),
        ("detect+align+embed, both photos", &mut t_pair),
    ] {
        let (median, p95) = stats(samples);
        println!("{name:34} median {median:7.1} ms   p95 {p95:7.1} ms   ({runs} runs)");
    }
    Ok(())
}

fn document(path: &PathBuf, runs: usize) -> Result<()> {
    let t = Instant::now();
    let engine = idv_document::DocumentEngine::load_default()?;
    println!("load models: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let bytes = std::fs::read(path)?;
    let decode = |bytes: &[u8]| idv_image::decode_rgb(bytes, &idv_image::Limits::ANY);
    let img = decode(&bytes)?;
    println!("image: {}x{}", img.width(), img.height());
    let settings = idv_document::CheckSettings::default();
    let today = idv_document::Ymd::today();
    let (mut t_decode, mut t_detect, mut t_read, mut t_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut t_rec = Vec::new();
    for i in 0..runs + 2 {
        let t = Instant::now();
        let img = decode(&bytes)?;
        let d_decode = t.elapsed();
        let t = Instant::now();
        let candidates = engine.ocr().line_candidates(&img)?;
        let d_detect = t.elapsed();
        let band = idv_document::ocr::Ocr::mrz_band(&candidates);
        let t = Instant::now();
        engine.ocr().read_lines(&img, &band)?;
        let d_rec = t.elapsed();
        let t = Instant::now();
        let report = engine.read(&img, None, &settings, today)?;
        let d_read = t.elapsed();
        anyhow::ensure!(report.mrz.is_some(), "no MRZ read from {}", path.display());
        if i >= 2 {
            t_decode.push(d_decode);
            t_detect.push(d_detect);
            t_rec.push(d_rec);
            t_read.push(d_read);
            t_total.push(d_decode + d_read);
        }
    }
    for (name, samples) in [
        ("decode", &mut t_decode),
        ("text detection", &mut t_detect),
        ("MRZ line recognition", &mut t_rec),
        ("read (detect+recognise+parse+checks)", &mut t_read),
        ("decode + read", &mut t_total),
    ] {
        let (median, p95) = stats(samples);
        println!("{name:38} median {median:7.1} ms   p95 {p95:7.1} ms   ({runs} runs)");
    }
    Ok(())
}
