//! How many files the process may hold open, and asking the kernel to start writing a file's pages.

/// The most files this process may hold open, after raising its soft limit to the hard one (a sweep
/// past its memory for rows holds a file open for every part being written or waiting to be
/// appended). The soft limit is raised at most to 65,536; `None` when the system does not say.
pub fn open_file_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `l` is a valid, writable `rlimit` for the call to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
        return None;
    }
    let want = l.rlim_max.min(65_536);
    if want > l.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: l.rlim_max,
        };
        // SAFETY: `raised` is a valid `rlimit`, read by the call and not kept.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            l.rlim_cur = want;
        }
    }
    Some(l.rlim_cur)
}

/// Asks the kernel to start writing `len` bytes of `file` from `from` to disk, without waiting for the
/// write to finish: a big output written this way while the run goes on has little left to write when
/// it is renamed over the previous one at the end (ext4 writes a file renamed over another before the
/// rename returns).
/// A hint: where the call is not available it does nothing, and the file is the same.
pub fn start_writeback(file: &std::fs::File, from: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(from), Ok(len)) = (i64::try_from(from), i64::try_from(len)) else {
            return;
        };
        // SAFETY: the descriptor belongs to `file`, borrowed for the whole call; the call reads no
        // memory of ours and only starts the writing of pages the file already has.
        unsafe { libc::sync_file_range(file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, len);
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one_up_to_65536_and_never_lowered() {
        let limit = super::open_file_limit().expect("Linux says");
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `l` is a valid, writable `rlimit` for the call to fill in.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) }, 0);
        assert_eq!(l.rlim_cur, limit, "the limit said is the one in force");
        // Raised to the hard limit up to 65,536, and never lowered (a soft limit may start above it).
        assert!(limit >= l.rlim_max.min(65_536), "{limit} of {}", l.rlim_max);
    }
}
