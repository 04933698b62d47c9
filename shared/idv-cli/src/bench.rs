//! `idv bench …`: benchmarks that print their figures (median and p95 over repeated runs).

use std::path::{Path, PathBuf};
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
        /// A document photo for the document-vs-selfie compare.
        #[arg(
            long,
            default_value = "tests/fixtures/documents/synthetic-td3-obama.jpg"
        )]
        document: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Active liveness: the verdict on a 30-frame clip (640×360, rendered to follow its
    /// challenge), measured and judged as the service does.
    Liveness {
        #[arg(
            long,
            default_value = "tests/fixtures/faces/face_recognition__obama-720p.jpg"
        )]
        face: PathBuf,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// The chip: the trust store's load once, then Passive (and, where given, Active)
    /// Authentication of every case of a chip set, each verified `runs` times.
    Chip {
        #[arg(long, default_value = "tests/fixtures/emrtd")]
        set: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Document engine latency, per path: the MRZ path on a passport photo (default: the ICAO
    /// specimen TD3 photo, 1334×880), the barcode path on a licence back, the printed-field
    /// path on a licence front.
    Document {
        #[arg(long, default_value = "tests/fixtures/documents/passport-td3.jpg")]
        image: PathBuf,
        #[arg(long, default_value = "tests/fixtures/documents/licence-back-ca.jpg")]
        back: PathBuf,
        #[arg(
            long,
            default_value = "tests/fixtures/documents/licence-front-us-il.jpg"
        )]
        front: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Certificate rendering + signing + timestamping (three thumbnails, dev certificates).
    Certify {
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// One-call `POST /v1/verify-identity` over HTTP against a fresh local `idv serve`, at each
    /// number of concurrent `clients`: throughput, p50/p99 latency of the verified requests,
    /// and the share shed beyond capacity (503/429; a shed client waits its `Retry-After`).
    Service {
        #[arg(
            long,
            default_value = "tests/fixtures/documents/synthetic-td3-obama.jpg"
        )]
        document: PathBuf,
        #[arg(
            long,
            default_value = "tests/fixtures/faces/face_recognition__obama-720p.jpg"
        )]
        selfie: PathBuf,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Concurrent clients, one run per value.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 4, 16])]
        clients: Vec<usize>,
    },
    /// The worst case for memory: `clients` one-call verifications sent at once, across
    /// `tenants`, each carrying three images at the intake limits (5000×5000 px JPEGs just
    /// under 15 MB), against a fresh local `idv serve` with its default limits. Prints the
    /// answers by status, the slowest answer and the server's peak resident memory.
    Overload {
        #[arg(long, default_value_t = 120)]
        clients: usize,
        #[arg(long, default_value_t = 4)]
        tenants: usize,
        /// Side of the square test images, in pixels.
        #[arg(long, default_value_t = 5000)]
        side: u32,
        /// Half of the clients submit Kairos asynchronous jobs (document, back, selfie)
        /// instead, which are read and checked on their own line.
        #[arg(long)]
        kairos: bool,
        /// `idv serve` flags to measure instead of the defaults (after `--`).
        #[arg(last = true)]
        serve: Vec<String>,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Face {
            a,
            b,
            document,
            runs,
        } => face(&a, &b, &document, runs),
        BenchCommand::Document {
            image,
            back,
            front,
            runs,
        } => {
            document(&image, runs)?;
            cards(&back, &front, runs)
        }
        BenchCommand::Certify { runs } => certify(runs),
        BenchCommand::Chip { set, runs } => chip(&set, runs),
        BenchCommand::Liveness { face, runs } => liveness(&face, runs),
        BenchCommand::Service {
            document,
            selfie,
            runs,
            clients,
        } => service(&document, &selfie, runs, &clients),
        BenchCommand::Overload {
            clients,
            tenants,
            side,
            kairos,
            serve,
        } => overload(clients, tenants, side, kairos, &serve),
    }
}

fn liveness(path: &PathBuf, runs: usize) -> Result<()> {
    use idv_vision::active::{self, Challenge, Turn};
    use idv_vision::render::{self, Kind, Subject};
    let engine = FaceEngine::load_default()?;
    let photo = idv_image::decode_rgb(&std::fs::read(path)?, &idv_image::Limits::ANY)?;
    let h = photo.height() * 640 / photo.width();
    let photo = image::imageops::resize(&photo, 640, h, image::imageops::FilterType::Triangle);
    let face = idv_vision::main_face(&engine.detect(&photo)?)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no face in {}", path.display()))?;
    let subject = Subject {
        image: &photo,
        face: &face,
    };
    let ch = Challenge::timed(
        [Turn::Left, Turn::Right, Turn::Left],
        [1400, 1400, 1400],
        &[0, 3, 1, 4, 2, 5, 0, 2, 1, 3],
    );
    // 30 frames over the challenge's 5 s.
    let step = ch.duration_ms().div_ceil(29);
    let frames: Vec<_> = render::clip(Kind::Live, &ch, &subject, &subject, step)
        .into_iter()
        .take(30)
        .collect();
    let mut samples = Vec::new();
    let mut pass = true;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let seen = active::measure(&engine, &frames)?;
        pass &= active::judge(&ch, &seen).pass;
        samples.push(t.elapsed());
    }
    let (p50, p95) = stats(&mut samples);
    println!(
        "active liveness, {} frames {}×{}: verdict in {p50:.0} ms median, {p95:.0} ms p95 ({} runs, {} threads); every verdict pass: {pass}",
        frames.len(),
        photo.width(),
        photo.height(),
        samples.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    Ok(())
}

/// Median and 95th percentile of the samples, in milliseconds.
fn stats(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (at(0.5), at(0.95))
}

fn face(a: &PathBuf, b: &PathBuf, document: &PathBuf, runs: usize) -> Result<()> {
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
    let doc = decode(&std::fs::read(document)?)?;
    let (mut t_decode, mut t_detect, mut t_embed, mut t_live, mut t_pair, mut t_doc) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
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
        // Document + selfie as a verification compares them: the portrait detected on the
        // page and the selfie, in parallel, both embedded (two models each, with mirrors).
        let t = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let page = s.spawn(|| -> Result<()> {
                let faces = engine.detect(&doc)?;
                let face = main_face(&faces).context("no portrait on the document")?;
                engine.embed(&doc, std::slice::from_ref(face))?;
                Ok(())
            });
            engine.analyze(&imgs[0])?;
            page.join()
                .map_err(|_| anyhow::anyhow!("worker panicked"))??;
            Ok(())
        })?;
        let d_doc = t.elapsed();
        if warm {
            t_doc.push(d_doc);
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
        ("align+embed, 2 models (image A)", &mut t_embed),
        ("liveness per face (2 models + crops)", &mut t_live),
        ("detect+align+embed, both photos", &mut t_pair),
        ("document + selfie compare", &mut t_doc),
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
    let (mut t_rec, mut t_quality) = (Vec::new(), Vec::new());
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
        idv_document::quality::measure(&img);
        let d_quality = t.elapsed();
        let t = Instant::now();
        let report = engine.read(&img, None, &settings, today)?;
        let d_read = t.elapsed();
        anyhow::ensure!(report.mrz.is_some(), "no MRZ read from {}", path.display());
        if i >= 2 {
            t_decode.push(d_decode);
            t_detect.push(d_detect);
            t_rec.push(d_rec);
            t_quality.push(d_quality);
            t_read.push(d_read);
            t_total.push(d_decode + d_read);
        }
    }
    for (name, samples) in [
        ("decode", &mut t_decode),
        ("text detection", &mut t_detect),
        ("MRZ line recognition", &mut t_rec),
        ("quality (sharpness, glare)", &mut t_quality),
        ("read (detect+recognise+parse+checks)", &mut t_read),
        ("decode + read", &mut t_total),
    ] {
        let (median, p95) = stats(samples);
        println!("{name:38} median {median:7.1} ms   p95 {p95:7.1} ms   ({runs} runs)");
    }
    Ok(())
}

/// The barcode path on a licence back and the printed-field path on a licence front, stage by
/// stage (as `idv document scan` reads them, no hint).
fn cards(back: &PathBuf, front: &PathBuf, runs: usize) -> Result<()> {
    let engine = idv_document::DocumentEngine::load_default()?;
    let decode = |p: &PathBuf| -> Result<image::RgbImage> {
        Ok(idv_image::decode_rgb(
            &std::fs::read(p)?,
            &idv_image::Limits::ANY,
        )?)
    };
    let (back_img, front_img) = (decode(back)?, decode(front)?);
    let settings = idv_document::CheckSettings::default();
    let today = idv_document::Ymd::today();
    let time = |f: &mut dyn FnMut() -> Result<()>| -> Result<Vec<Duration>> {
        let mut v = Vec::new();
        for i in 0..runs + 2 {
            let t = Instant::now();
            f()?;
            if i >= 2 {
                v.push(t.elapsed());
            }
        }
        Ok(v)
    };
    println!(
        "licence back {}x{}, front {}x{}",
        back_img.width(),
        back_img.height(),
        front_img.width(),
        front_img.height()
    );
    let gray = image::imageops::grayscale(&back_img);
    let rows: Vec<(&str, Vec<Duration>)> = vec![
        (
            "back: PDF417 locate + decode",
            time(&mut || {
                anyhow::ensure!(
                    idv_document::pdf417::decode_located(&gray).is_some(),
                    "no symbol"
                );
                Ok(())
            })?,
        ),
        (
            "back: read (barcode + AAMVA + checks)",
            time(&mut || {
                let r = engine.read(&back_img, None, &settings, today)?;
                anyhow::ensure!(
                    r.barcode.is_some(),
                    "no barcode read from {}",
                    back.display()
                );
                Ok(())
            })?,
        ),
        (
            "front: text detection (960 px)",
            time(&mut || Ok(engine.ocr().detect_at(&front_img, 960).map(|_| ())?))?,
        ),
        (
            "front: printed fields (detect + read + assign)",
            time(&mut || Ok(engine.read_printed(&front_img, today).map(|_| ())?))?,
        ),
        (
            "front: read (no hint: barcode look, MRZ search, printed fields)",
            time(&mut || {
                let r = engine.read(&front_img, None, &settings, today)?;
                anyhow::ensure!(
                    r.data.last_name.is_some(),
                    "no name read from {}",
                    front.display()
                );
                Ok(())
            })?,
        ),
        (
            "front: read (hint drivers_license)",
            time(&mut || {
                let r = engine.read_as(
                    &front_img,
                    None,
                    &settings,
                    today,
                    idv_document::Hint::DriversLicense,
                )?;
                anyhow::ensure!(
                    r.data.last_name.is_some(),
                    "no name read from {}",
                    front.display()
                );
                Ok(())
            })?,
        ),
    ];
    for (name, mut samples) in rows {
        let (median, p95) = stats(&mut samples);
        println!("{name:62} median {median:7.1} ms   p95 {p95:7.1} ms   ({runs} runs)");
    }
    Ok(())
}

/// Stops the benchmark's server when the benchmark ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh `idv serve` on a loopback port over a temporary data directory with `tenants`
/// tenants and the extra `flags`: the server, its base URL, the tenants' credentials (as
/// `idv tenant create` prints them), the data directory.
fn start_server(
    tenants: usize,
    flags: &[String],
) -> Result<(Child, String, Vec<serde_json::Value>, PathBuf)> {
    use std::io::BufRead;
    let exe = std::env::current_exe()?;
    let data = std::env::temp_dir().join(format!("idv-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut keys = Vec::new();
    for i in 0..tenants.max(1) {
        let out = std::process::Command::new(&exe)
            .args(["tenant", "create", &format!("bench{i}"), "--data"])
            .arg(&data)
            .output()?;
        anyhow::ensure!(out.status.success(), "tenant create failed");
        let tenant: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        keys.push(tenant);
    }
    let mut child = std::process::Command::new(&exe)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&data)
        .args(flags)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let child = Child(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("idv listening on ")
        .context("idv serve did not start")?
        .to_string();
    Ok((child, base, keys, data))
}

/// A multipart body of `parts` (field name, bytes) and its content type.
fn multipart(parts: &[(&str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "idv-bench-boundary";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

fn service(document: &Path, selfie: &Path, runs: usize, clients: &[usize]) -> Result<()> {
    let (_guard, base, tenants, data) = start_server(1, &[])?;
    let api_key = tenants[0]["api_key"].as_str().unwrap_or_default();
    let read = |p: &Path| std::fs::read(p).with_context(|| p.display().to_string());
    let (document, selfie) = (read(document)?, read(selfie)?);
    let (body, content_type) = multipart(&[("documentImage", &document), ("faceImage", &selfie)]);
    let url = format!("{base}/v1/verify-identity");
    // Some(latency) when verified; None when shed (503/429), after waiting its Retry-After.
    let call = |agent: &ureq::Agent| -> Result<Option<Duration>> {
        let t = Instant::now();
        let sent = agent
            .post(&url)
            .header("x-api-key", api_key)
            .header("content-type", &content_type)
            .send(&body[..]);
        let mut res = match sent {
            Ok(res) => res,
            Err(ureq::Error::StatusCode(429 | 503)) => {
                std::thread::sleep(Duration::from_secs(1));
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let text = res.body_mut().read_to_string()?;
        anyhow::ensure!(
            text.contains("\"verified\":true"),
            "verification not approved: {text}"
        );
        Ok(Some(t.elapsed()))
    };
    call(&ureq::Agent::new_with_defaults())?; // warm-up
    for &n_clients in clients {
        let per_client = runs.div_ceil(n_clients).max(1);
        let start = Instant::now();
        let answers: Vec<Option<Duration>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n_clients)
                .map(|_| {
                    s.spawn(|| {
                        let agent = ureq::Agent::new_with_defaults();
                        (0..per_client)
                            .map(|_| call(&agent))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("client thread"))
                .collect::<Result<Vec<Vec<_>>>>()
        })?
        .into_iter()
        .flatten()
        .collect();
        let wall = start.elapsed().as_secs_f64();
        let mut verified: Vec<Duration> = answers.iter().flatten().copied().collect();
        let shed = answers.len() - verified.len();
        let (p50, p99) = percentiles(&mut verified);
        println!(
            "one-call verify, {n_clients:>2} clients   p50 {p50:7.1} ms   p99 {p99:7.1} ms   \
             throughput {:5.2} verifications/s   shed {:4.1} % ({shed} of {} attempts)",
            verified.len() as f64 / wall,
            100.0 * shed as f64 / answers.len().max(1) as f64,
            answers.len()
        );
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

fn overload(
    clients: usize,
    tenants: usize,
    side: u32,
    kairos: bool,
    serve: &[String],
) -> Result<()> {
    eprintln!("making three {side}×{side} px JPEGs just under the 15 MB limit…");
    let images: Vec<Vec<u8>> = (0..3)
        .map(|seed| worst_case_jpeg(side, seed))
        .collect::<Result<_>>()?;
    let one_call = multipart(&[
        ("documentImage", &images[0]),
        ("documentBackImage", &images[1]),
        ("faceImage", &images[2]),
    ]);
    let submission = multipart(&[
        ("document", &images[0]),
        ("document_back", &images[1]),
        ("selfie", &images[2]),
    ]);
    let (guard, base, credentials, data) = start_server(tenants, serve)?;
    let pid = guard.0.id();
    ureq::get(&format!("{base}/health")).call()?;
    let idle = resident_mb(pid, "VmRSS")?;
    eprintln!(
        "{clients} clients × {:.1} MB bodies across {tenants} tenants{}…",
        one_call.0.len() as f64 / 1e6,
        if kairos {
            ", half of them Kairos submissions"
        } else {
            ""
        }
    );
    let start = Instant::now();
    let answers: Vec<(String, Duration)> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..clients)
            .map(|i| {
                let tenant = &credentials[i % credentials.len()];
                let submits = kairos && i % 2 == 1;
                let (route, (body, content_type)) = if submits {
                    ("/v0.2/full-id-verification", &submission)
                } else {
                    ("/v1/verify-identity", &one_call)
                };
                let url = format!("{base}{route}");
                s.spawn(move || {
                    let t = Instant::now();
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let text = |k: &str| tenant[k].as_str().unwrap_or_default().to_string();
                    let request = agent.post(&url).header("content-type", content_type);
                    let request = if submits {
                        request
                            .header("app_id", text("app_id"))
                            .header("app_key", text("app_key"))
                    } else {
                        request.header("x-api-key", text("api_key"))
                    };
                    let answer = match request.send(&body[..]) {
                        Ok(mut res) => {
                            let retry = res.headers().contains_key("retry-after");
                            let _ = res.body_mut().read_to_vec();
                            match res.status().as_u16() {
                                st @ (429 | 503) if retry => format!("{route} {st} + Retry-After"),
                                st => format!("{route} {st}"),
                            }
                        }
                        Err(e) => format!("{route} error: {e}"),
                    };
                    (answer, t.elapsed())
                })
            })
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect()
    });
    let wall = start.elapsed();
    let peak = resident_mb(pid, "VmHWM")?;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (answer, _) in &answers {
        *counts.entry(answer.as_str()).or_default() += 1;
    }
    let slowest = answers.iter().map(|a| a.1).max().unwrap_or_default();
    for (answer, n) in &counts {
        println!("{n:>4} × {answer}");
    }
    println!(
        "slowest answer {:.1} s, all answered in {:.1} s; server memory: {idle} MB idle, peak {peak} MB",
        slowest.as_secs_f64(),
        wall.as_secs_f64()
    );
    drop(guard);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// A `side`×`side` JPEG of noisy gradients (hard to compress, as a photo of a textured
/// surface is) at the highest quality that stays within the 15 MB intake limit.
fn worst_case_jpeg(side: u32, seed: u32) -> Result<Vec<u8>> {
    let mut state = 0x9e37_79b9u32 ^ seed.wrapping_mul(0x85eb_ca6b);
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = state & 0x3f;
        let v = |k: u32| (((x * k + y * (7 - k)) / 32 + noise) & 0xff) as u8;
        image::Rgb([v(1), v(2), v(3)])
    });
    for quality in (40..=95).rev().step_by(5) {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img)?;
        if out.len() <= idv_image::MAX_BYTES {
            return Ok(out);
        }
    }
    anyhow::bail!("no JPEG of {side}×{side} px fits in 15 MB")
}

/// A `/proc/PID/status` memory figure (`VmRSS`, `VmHWM`) in MB.
fn resident_mb(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .context("no memory figure in /proc")?;
    Ok(kb / 1024)
}

/// p50 and p99 in milliseconds (0 for none).
fn percentiles(v: &mut [Duration]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

fn certify(runs: usize) -> Result<()> {
    use idv_certify::{Certificate, Row, Section};
    let signer = idv_certify::generate_dev(None)?.signer(idv_certify::DEFAULT_POLICY)?;
    let mut thumbnails = Vec::new();
    for (caption, path) in [
        (
            "Document front",
            "tests/fixtures/documents/synthetic-td3-obama.jpg",
        ),
        (
            "Selfie",
            "tests/fixtures/faces/face_recognition__obama-720p.jpg",
        ),
    ] {
        let img = crate::load_image(&PathBuf::from(path))?;
        thumbnails.push((caption.to_string(), idv_core::certificate::thumbnail(&img)));
    }
    let rows = |n: usize| -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                label: format!("Field {i}"),
                value: format!("value {i} with some text"),
            })
            .collect()
    };
    let cert = Certificate {
        request_id: "bench".into(),
        issuer: idv_certify::Issuer {
            name: "idv (self-hosted)".into(),
            contact: String::new(),
        },
        signed_by: "idv certificate signing".into(),
        tenant: "Bench Bank".into(),
        received_at: "2026-11-23 10:00:00".into(),
        processed_at: "2026-11-23 10:00:01".into(),
        decision: "APPROVED".into(),
        sections: vec![
            Section {
                title: "Checks".into(),
                rows: rows(4),
            },
            Section {
                title: "Document".into(),
                rows: rows(8),
            },
            Section {
                title: "Models".into(),
                rows: rows(6),
            },
        ],
        thumbnails,
        created_unix: 1_795_435_200,
    };
    let (mut render, mut sign, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..runs + 1 {
        let t = Instant::now();
        let pdf = idv_certify::render(&cert)?;
        let r = t.elapsed();
        let signed = signer.sign_pdf(pdf, "D:20261123100001Z")?;
        size = signed.len();
        render.push(r);
        sign.push(t.elapsed() - r);
        total.push(t.elapsed());
    }
    for (name, v) in [
        ("render", &mut render),
        ("sign + timestamp", &mut sign),
        ("total", &mut total),
    ] {
        v.remove(0); // warm-up
        let (median, p95) = stats(v);
        println!("certificate {name:18} median {median:7.1} ms   p95 {p95:7.1} ms   ({runs} runs)");
    }
    println!("certificate size {} KB", size / 1024);
    Ok(())
}

fn chip(set: &Path, runs: usize) -> Result<()> {
    let t = Instant::now();
    let trust = idv_chip::TrustStore::load_dir(&set.join("trust"))?;
    println!(
        "trust store: {} CSCAs loaded once in {:.0} ms",
        trust.anchors.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut dirs: Vec<_> = std::fs::read_dir(set.join("cases"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let mut all = Vec::new();
    for dir in dirs {
        let chip = idv_chip::Chip::read_dir(&dir)?;
        let mrz = std::fs::read_to_string(dir.join("mrz.txt")).ok();
        let mut samples = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            std::hint::black_box(idv_chip::verify(&chip, &trust, mrz.as_deref()));
            samples.push(t.elapsed());
        }
        let (median, p95) = stats(&mut samples);
        println!(
            "{:36} median {median:6.2} ms   p95 {p95:6.2} ms",
            dir.file_name().unwrap_or_default().to_string_lossy()
        );
        all.extend(samples);
    }
    let (median, p95) = stats(&mut all);
    println!(
        "chip verified: median {median:.2} ms, p95 {p95:.2} ms over {} verifications ({runs} runs per case)",
        all.len()
    );
    Ok(())
}
