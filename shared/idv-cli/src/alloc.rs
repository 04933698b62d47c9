//! How glibc's allocator treats idv's large, short-lived buffers (request bodies, decoded
//! images, model tensors of tens of MB each).
//!
//! By default glibc raises its mmap threshold each time a large block is freed (up to 32 MB)
//! and gives every busy thread an arena of its own: the next large buffers then come from
//! arenas that keep their memory after use, and a server that decoded a few big images on a
//! few threads holds the sum as resident memory. Measured with `idv bench overload` (120
//! clients, three 15 MB images each): peak 2,066 MB by default, 1,569 MB with both settings
//! below.

/// Large blocks (≥ 1 MiB) always come from, and return at once to, the kernel; at most two
/// arenas per core. Call before other threads start.
#[allow(unsafe_code)] // glibc's mallopt, which no safe crate wraps
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: i32 = -3;
        const M_ARENA_MAX: i32 = -8;
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: mallopt only changes allocator parameters; no other thread runs yet.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 20);
            mallopt(M_ARENA_MAX, (2 * cores).min(64) as i32);
        }
    }
}
