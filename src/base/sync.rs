//! The atomics, cells and thread parking the ring, the doorbell and the journal slot use: `std`'s
//! normally, `loom`'s under `--cfg loom`, so the model checker explores every interleaving of the real
//! code's orderings.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

/// `std::cell::UnsafeCell` with loom's closure-based access API. `repr(transparent)`: a slice of these has
/// the layout of a slice of `T`, which the ring's bulk copies rely on.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(v: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(v))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// A doorbell's owner: a thread handle set once, unparked by the threads that give it work.
#[cfg(not(loom))]
#[derive(Default)]
pub(crate) struct Owner(std::sync::OnceLock<std::thread::Thread>);

#[cfg(not(loom))]
impl Owner {
    /// Binds to the calling thread (the first call wins).
    pub(crate) fn set_current(&self) {
        let _ = self.0.set(std::thread::current());
    }

    /// Unparks the owner, if one is bound.
    pub(crate) fn unpark(&self) {
        if let Some(t) = self.0.get() {
            t.unpark();
        }
    }
}

/// Parks the calling thread for at most `timeout` (or until unparked).
#[cfg(not(loom))]
pub(crate) fn park_timeout(timeout: std::time::Duration) {
    std::thread::park_timeout(timeout);
}

/// Under loom: a mutex-guarded handle (loom has no `OnceLock`).
#[cfg(loom)]
#[derive(Default)]
pub(crate) struct Owner(loom::sync::Mutex<Option<loom::thread::Thread>>);

#[cfg(loom)]
impl Owner {
    pub(crate) fn set_current(&self) {
        let mut t = self.0.lock().unwrap();
        if t.is_none() {
            *t = Some(loom::thread::current());
        }
    }

    pub(crate) fn unpark(&self) {
        if let Some(t) = &*self.0.lock().unwrap() {
            t.unpark();
        }
    }
}

/// Under loom, parking has no timeout: a lost wake-up then shows as a deadlock, which loom reports.
#[cfg(loom)]
pub(crate) fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::park();
}
