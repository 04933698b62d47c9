//! How many verifications `idv serve` runs at once by default, from the machine it runs on.
//!
//! A verification uses every core through ONNX Runtime's threads, so two at once already keep
//! two cores busy (one decodes and reads while the other's models run); more help on more
//! cores. Each running verification with waiting requests behind it may need ~650 MB at the
//! intake limits (`idv bench overload`: 1.37 GB peak for 2 running + 4 waiting, ~205 MB idle),
//! so memory caps the count too.

/// What the defaults are sized from.
pub struct Machine {
    pub cores: usize,
    /// Memory this process may use, in MB: available memory, or the cgroup's limit if lower.
    pub memory_mb: Option<u64>,
}

/// MB a running verification and the two requests waiting behind it take at the limits.
const PER_VERIFICATION_MB: u64 = 650;
/// MB the server holds with its models loaded.
const IDLE_MB: u64 = 250;

impl Machine {
    /// This machine, from `/proc/meminfo` and the cgroup v2 memory limit where there is one.
    pub fn measure() -> Machine {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let available = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| meminfo_mb(&m, "MemAvailable"));
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|bytes| bytes / (1024 * 1024));
        let memory_mb = match (available, cgroup) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        };
        Machine { cores, memory_mb }
    }

    /// Half the cores, at least 2 and at most 8, and no more than memory allows (at least 1).
    pub fn verifications(&self) -> usize {
        let by_cores = (self.cores / 2).clamp(2, 8);
        match self.memory_mb {
            Some(mb) => {
                let by_memory = mb.saturating_sub(IDLE_MB) / PER_VERIFICATION_MB;
                by_cores.min(by_memory as usize).max(1)
            }
            None => by_cores,
        }
    }
}

/// A `/proc/meminfo` figure (kB there) in MB.
fn meminfo_mb(meminfo: &str, field: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_by_cores_then_memory() {
        let m = |cores, memory_mb| Machine { cores, memory_mb }.verifications();
        assert_eq!(m(2, Some(23_000)), 2);
        assert_eq!(m(1, None), 2);
        assert_eq!(m(16, Some(64_000)), 8);
        assert_eq!(m(64, Some(256_000)), 8);
        assert_eq!(m(16, Some(2_000)), 2);
        assert_eq!(m(8, Some(1_000)), 1);
        assert_eq!(m(8, Some(100)), 1);
    }

    #[test]
    fn reads_meminfo() {
        let text = "MemTotal:       24000000 kB\nMemAvailable:   23552000 kB\n";
        assert_eq!(meminfo_mb(text, "MemAvailable"), Some(23_000));
        assert_eq!(meminfo_mb(text, "Missing"), None);
    }
}
