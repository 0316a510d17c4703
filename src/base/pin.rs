//! Pinning threads to cores.

/// Number of cores this process may run on, asked of the system once: checking a graph asks, and a
/// sweep checks one graph per combination.
pub fn core_count() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        core_affinity::get_core_ids()
            .map(|ids| ids.len())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
    })
}

/// Pins the calling thread to the `index`-th core this process may use; false when that failed.
pub fn pin_current(index: usize) -> bool {
    match core_affinity::get_core_ids().and_then(|ids| ids.get(index).copied()) {
        Some(id) => core_affinity::set_for_current(id),
        None => false,
    }
}
