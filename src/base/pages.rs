//! Asking the kernel for huge pages under large buffers.

/// Asks that the pages under `v`'s spare capacity and contents be huge pages (2 MiB) where they can
/// be: filling tens of megabytes then takes a few page faults instead of one per 4 KiB page. A hint:
/// without it (another system, or huge pages turned off) the memory works the same.
pub fn prefer_huge<T>(v: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        let start = v.as_mut_ptr() as usize;
        let (from, to) = (start.next_multiple_of(HUGE), (start + bytes) / HUGE * HUGE);
        if to > from {
            // SAFETY: `from..to` lies inside `v`'s allocation, which this function borrows mutably;
            // MADV_HUGEPAGE changes how the kernel backs those pages, never their contents or
            // whether they are mapped.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
        }
    }
}
