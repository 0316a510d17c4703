//! The process's resident memory, as the kernel counts it: what `tubes bench` reports at the start and
//! the end of a run, to show that a long run's memory stays flat.

/// Resident set size in bytes, read from `/proc/self/statm` (`None` where there is no such file).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// The page size the kernel counts `statm` in.
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant; it has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_grows_by_what_is_touched() {
        let before = rss_bytes().expect("Linux has /proc/self/statm");
        // 256 MiB written page by page must become resident (other tests running beside this one in
        // the process may free some memory meanwhile, but not 64 MiB).
        let mut v = vec![0u8; 256 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        let after = rss_bytes().unwrap();
        assert!(
            after >= before + (192 << 20),
            "{before} → {after} after touching 256 MiB"
        );
        assert_eq!(v.iter().step_by(4096).filter(|&&b| b == 1).count(), 65536);
    }
}
