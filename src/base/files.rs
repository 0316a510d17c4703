//! How many files the process may hold open.

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
