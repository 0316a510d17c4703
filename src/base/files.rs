//! How many files the process may hold open, and swapping two files' names.

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

/// Swaps the names of the files at `a` and `b` in one step (Linux's `renameat2` with `RENAME_EXCHANGE`):
/// whoever opens either name finds one file or the other, never none. `Ok(false)` where the system or
/// the file system cannot, and nothing is changed.
pub fn exchange(a: &std::path::Path, b: &std::path::Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &std::path::Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)
        };
        let (a, b) = (c(a)?, c(b)?);
        // SAFETY: `renameat2(int, const char *, int, const char *, unsigned int)` is given exactly
        // those types (`AT_FDCWD` an int, the names NUL-terminated strings that outlive the call,
        // which only reads them, `RENAME_EXCHANGE` an unsigned int).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            // EPERM: a sandbox that refuses the call (a rename that is not allowed says so itself).
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM) => Ok(false),
            _ => Err(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
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

    #[test]
    fn an_exchange_swaps_two_files_and_fails_on_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        if !super::exchange(&a, &b).unwrap() {
            // A file system that cannot swap (NFS, 9p): nothing was changed, and commits rename.
            assert_eq!(std::fs::read(&a).unwrap(), b"a");
            return;
        }
        assert_eq!(std::fs::read(&a).unwrap(), b"b");
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
        let missing = dir.path().join("c");
        let e = super::exchange(&a, &missing).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(std::fs::read(&a).unwrap(), b"b", "nothing changed");
    }
}
