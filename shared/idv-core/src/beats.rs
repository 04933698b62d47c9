//! Heartbeats of the queue workers: when each last came round its loop.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// When each queue worker of the process last came round its loop.
#[derive(Default)]
pub struct Beats(Mutex<BTreeMap<&'static str, Instant>>);

impl Beats {
    /// Worker `queue` is alive now.
    pub fn beat(&self, queue: &'static str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue, Instant::now());
    }

    /// Seconds since each worker's last beat.
    pub fn ages(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(q, t)| (*q, t.elapsed().as_secs()))
            .collect()
    }
}
