//! Reading a config file whole, with a bound on its size and on the wait for a named pipe's writer.
//!
//! A config may come from a pipe (`<(…)` is one) or a named pipe (FIFO), and may even be a device that
//! never ends (`/dev/zero`). The file is opened without blocking, so opening a FIFO that nobody writes
//! returns at once instead of waiting forever as `cat` would; reading it then waits at most
//! [`WRITER_WAIT`] for a writer to appear.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a named pipe with no writer is waited on before it is an error.
pub const WRITER_WAIT: Duration = Duration::from_secs(5);

/// Why a config could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(io::Error),
    /// Longer than the bound.
    TooLong,
    /// A named pipe nothing was written to within [`WRITER_WAIT`].
    NoWriter,
}

/// Reads the file at `path` whole, refusing more than `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    let fifo = file
        .metadata()
        .map_err(ReadError::Io)?
        .file_type()
        .is_fifo();
    let mut bytes = Vec::new();
    let mut src = file.take(max + 1);
    // Until its first byte, a FIFO is waited on for at most WRITER_WAIT, whether nobody has opened it
    // yet (a read returns 0, as at its end) or a writer holds it open without writing.
    let mut deadline = fifo.then(|| Instant::now() + WRITER_WAIT);
    let mut buf = [0u8; 64 << 10];
    loop {
        match src.read(&mut buf) {
            Ok(n) if n > 0 => {
                deadline = None;
                bytes.extend_from_slice(&buf[..n]);
            }
            Ok(_) if deadline.is_none() => break,
            Ok(_) => wait(src.get_ref(), deadline)?,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(src.get_ref(), deadline)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLong);
    }
    Ok(bytes)
}

/// Waits until `file` can be read, or until `deadline` (a FIFO nothing was written to in time).
fn wait(file: &File, deadline: Option<Instant>) -> Result<(), ReadError> {
    let limit = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match readable(file, limit) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ReadError::NoWriter),
        Err(e) => Err(ReadError::Io(e)),
    }
}

/// Waits until `file` can be read (or its writer hung up), at most `limit`; false if the time ran out.
fn readable(file: &File, limit: Option<Duration>) -> io::Result<bool> {
    let start = Instant::now();
    loop {
        let ms = match limit {
            None => -1,
            Some(limit) => match limit.checked_sub(start.elapsed()) {
                None => return Ok(false),
                Some(left) => left.as_millis().min(i32::MAX as u128) as i32 + 1,
            },
        };
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid, initialised `pollfd` that outlives the call, and `nfds` is 1; `fd`
        // is an open descriptor owned by `file`, which is borrowed for the whole call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        match n {
            -1 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            0 => {}
            _ => return Ok(true),
        }
    }
}
