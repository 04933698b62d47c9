//! ONNX Runtime set-up: one environment per process, model files on disk, pooled sessions.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::VisionError;

/// Where idv's model files and `libonnxruntime.so` live (the output of `models/fetch`).
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// The directory holding every file below.
    pub dir: PathBuf,
}

impl ModelPaths {
    /// `IDV_MODELS_DIR` if set, else the first `models/dist` found walking up from the
    /// current directory or from the running executable.
    pub fn locate() -> Result<ModelPaths, VisionError> {
        if let Some(dir) = std::env::var_os("IDV_MODELS_DIR") {
            return Self::at(PathBuf::from(dir));
        }
        let mut starts = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            starts.push(cwd);
        }
        if let Ok(exe) = std::env::current_exe() {
            starts.push(exe);
        }
        for start in starts {
            for dir in start.ancestors() {
                let candidate = dir.join("models").join("dist");
                if candidate.join("libonnxruntime.so").is_file() {
                    return Self::at(candidate);
                }
            }
        }
        Err(VisionError::ModelsMissing(
            "no models/dist directory found".into(),
        ))
    }

    /// Uses `dir` as the models directory; it must hold `libonnxruntime.so`.
    pub fn at(dir: PathBuf) -> Result<ModelPaths, VisionError> {
        if !dir.join("libonnxruntime.so").is_file() {
            return Err(VisionError::ModelsMissing(format!(
                "{}/libonnxruntime.so",
                dir.display()
            )));
        }
        Ok(ModelPaths { dir })
    }

    /// The models of this directory as (file, package) pairs, from its `MANIFEST` (which
    /// `models/fetch` copies there); empty when there is none.
    pub fn manifest(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.dir.join("MANIFEST"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('|'))
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('|').map(str::trim).collect();
                (cols.len() > 2).then(|| (cols[0].to_string(), cols[2].to_string()))
            })
            .collect()
    }

    /// Path of one model file, checked to exist.
    pub fn file(&self, name: &str) -> Result<PathBuf, VisionError> {
        let path = self.dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(VisionError::ModelsMissing(path.display().to_string()))
        }
    }
}

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime from `paths` once per process and returns the shared environment.
pub fn environment(paths: &ModelPaths) -> Result<&'static Environment, VisionError> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = paths.dir.join("libonnxruntime.so");
            ort::init_from(&lib)
                .map_err(|e| format!("loading {}: {e}", lib.display()))?
                .with_name("idv")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| VisionError::Runtime(e.clone()))
}

/// Sessions for one model, lent out one per caller so concurrent requests run in parallel.
///
/// `ort` sessions need `&mut` to run; a pool of `size` sessions, each with `threads` intra-op
/// threads, lets `size` inferences proceed at once without sharing one.
pub struct SessionPool {
    name: &'static str,
    size: usize,
    free: Mutex<Vec<Session>>,
    returned: Condvar,
}

impl SessionPool {
    /// Creates `size` sessions of the model at `path`.
    pub fn new(
        env: &Environment,
        name: &'static str,
        path: &Path,
        size: usize,
        threads: usize,
    ) -> Result<SessionPool, VisionError> {
        let model = std::fs::read(path)
            .map_err(|e| VisionError::ModelsMissing(format!("{}: {e}", path.display())))?;
        let mut sessions = Vec::with_capacity(size);
        for _ in 0..size.max(1) {
            let session = Session::builder(env)?
                .with_optimization_level(GraphOptimizationLevel::Level3)?
                .with_intra_threads(threads.max(1))?
                .with_inter_threads(1)?
                // Idle intra-op threads otherwise spin after each run; with several pools on
                // 2 cores they took the CPU from the next model (document read 242 → 152 ms).
                .with_intra_op_spinning(false)?
                // PP-OCR's detector ships with ~256,000 subnormal weights; on CPUs that handle
                // subnormals in microcode they tripled its time (960 px: 310 → 101 ms).
                .with_flush_to_zero()?
                .commit_from_memory(&model)?;
            sessions.push(session);
        }
        Ok(SessionPool {
            name,
            size: sessions.len(),
            free: Mutex::new(sessions),
            returned: Condvar::new(),
        })
    }

    /// The model's short name, for error messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many sessions the pool holds (how many runs can go at once).
    pub fn size(&self) -> usize {
        self.size
    }

    /// A custom metadata value of the model (e.g. PP-OCR's character list).
    pub fn metadata(&self, key: &str) -> Option<String> {
        self.with(|s| s.metadata().ok().and_then(|m| m.custom(key)))
    }

    /// Runs `f` with a session of its own, waiting for one to be free.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let session = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(s) = free.pop() {
                    break s;
                }
                free = self.returned.wait(free).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Return the session even if `f` panics, so the pool never shrinks.
        struct Return<'a>(&'a SessionPool, Option<Session>);
        impl Drop for Return<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.1.take() {
                    self.0
                        .free
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(s);
                    self.0.returned.notify_one();
                }
            }
        }
        let mut guard = Return(self, None);
        let session = guard.1.insert(session);
        f(session)
    }
}
