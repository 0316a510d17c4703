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
    /// A named pipe that no process wrote to within [`WRITER_WAIT`].
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
    // A FIFO read returns 0 both at its end and before any writer opened it: until something was read,
    // a 0 from a FIFO means "no writer yet".
    let mut wait_writer = fifo;
    let mut buf = [0u8; 64 << 10];
    loop {
        match src.read(&mut buf) {
            Ok(0) if wait_writer => {
                wait_writer = false;
                if !readable(src.get_ref(), Some(WRITER_WAIT)).map_err(ReadError::Io)? {
                    return Err(ReadError::NoWriter);
                }
            }
            Ok(0) => break,
            Ok(n) => {
                wait_writer = false;
                bytes.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // A writer is there (a pipe, a terminal) but has nothing yet: wait for it, as `cat` does.
                readable(src.get_ref(), None).map_err(ReadError::Io)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLong);
    }
    Ok(bytes)
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
