//! Where a writer of rows puts its bytes: a buffer it fills in place, handed on whole when full.
//!
//! A row's pieces (parameters, time, commas, numbers) go straight into [`Out`]'s buffer, short and
//! fixed-size pieces as whole arrays (a copy of a known size takes no call). The buffer is a `Vec`
//! whose length is what is written and whose capacity is the room: a new buffer is never filled with
//! zeros first (a sweep's rows take about 1,800 new 64 KiB buffers). A full buffer goes to a
//! [`Take`]: [`Copying`] writes it into a file or stdout and gives it back for the next bytes; a
//! sweep's part keeps it whole, as one chunk of the rows it holds, and gives a new one. A sweep's
//! rows are thus written once, into the memory they are appended to the output from.

use std::io::{self, Write};
use std::mem::MaybeUninit;

/// What takes an [`Out`]'s full buffers. A buffer holds the bytes written into it (its length) and
/// the room for more (its capacity).
pub trait Take: Send {
    /// Takes `full`; gives back the buffer to fill next (`full` itself, or another), empty or holding
    /// the bytes it keeps to go first (see [`Out::copying_lines`]).
    fn take(&mut self, full: Vec<u8>) -> io::Result<Vec<u8>>;
    /// Asked to flush, with `last` holding what was written since the last buffer was taken: passes
    /// on what it must, and gives back the buffer to go on filling, holding the bytes it keeps. A
    /// taker whose bytes are read only once the writer is done (a sweep's part) may keep them all
    /// where they are.
    fn flush(&mut self, last: Vec<u8>) -> io::Result<Vec<u8>>;
    /// Takes the last bytes: the writer is done.
    fn finish(&mut self, last: Vec<u8>) -> io::Result<()>;
}

/// A buffered writer whose buffer is written in place (see the module's documentation).
pub struct Out {
    /// The bytes written (its length), and the room for more (its capacity).
    buf: Vec<u8>,
    to: Box<dyn Take>,
}

/// Bytes of a piece copied as a whole array at most ([`Out::put_first`]).
const PIECE: usize = 32;

/// Bytes of the buffer of an [`Out`] that copies into a file or stdout ([`Out::copying`]).
pub const BUFFER: usize = 1 << 16;

impl Out {
    /// A writer whose full buffers go to `to`.
    pub fn new(to: Box<dyn Take>) -> Out {
        Out {
            buf: Vec::new(),
            to,
        }
    }

    /// A writer into `w`, through a buffer of `capacity` bytes ([`BUFFER`] unless there is a reason).
    pub fn copying(w: impl Write + Send + 'static, capacity: usize) -> Out {
        Out::new(Box::new(Copying::new(w, capacity)))
    }

    /// [`Self::copying`], writing a full buffer only up to its last line's end and keeping the rest to
    /// go first: every write into `w` ends a line, so that lines written into one stdout by two sinks
    /// (each through a buffer of its own, one write at a time under stdout's lock) stay whole.
    pub fn copying_lines(w: impl Write + Send + 'static, capacity: usize) -> Out {
        let mut c = Copying::new(w, capacity);
        c.lines = true;
        Out::new(Box::new(c))
    }

    /// Bytes the buffer has room for.
    #[inline]
    fn left(&self) -> usize {
        self.buf.capacity() - self.buf.len()
    }

    /// Makes room for `n` more bytes (`n` at most a buffer's size), handing the buffer on when it
    /// has less.
    #[inline]
    fn room(&mut self, n: usize) -> io::Result<()> {
        if self.left() < n {
            self.hand_on(n)?;
        }
        Ok(())
    }

    #[cold]
    fn hand_on(&mut self, n: usize) -> io::Result<()> {
        let full = std::mem::take(&mut self.buf);
        self.buf = self.to.take(full)?;
        if self.left() < n {
            return Err(io::Error::other(format!(
                "a buffer of {} bytes cannot take a piece of {n}",
                self.left()
            )));
        }
        Ok(())
    }

    /// The room past the bytes written, to write the next ones into (then [`Self::advance`]).
    #[inline]
    fn spare<const N: usize>(&mut self) -> &mut [MaybeUninit<u8>; N] {
        (&mut self.buf.spare_capacity_mut()[..N])
            .try_into()
            .expect("room for N bytes")
    }

    /// Counts `n` more bytes written.
    ///
    /// # Safety
    ///
    /// The first `n` bytes of the buffer's room ([`Self::spare`]) are written.
    #[inline]
    unsafe fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.left());
        // SAFETY: the caller wrote the `n` bytes past the length, and they are within the capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
    }

    /// Writes one byte.
    #[inline]
    pub fn byte(&mut self, b: u8) -> io::Result<()> {
        self.room(1)?;
        self.spare::<1>()[0].write(b);
        // SAFETY: the byte past the length was just written.
        unsafe { self.advance(1) };
        Ok(())
    }

    /// Copies `s`, across as many buffers as it needs.
    #[inline(always)]
    pub fn put(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= PIECE && self.left() >= PIECE {
            copy_short(self.spare::<PIECE>(), s);
            // SAFETY: `copy_short` wrote the first `s.len()` bytes of the room.
            unsafe { self.advance(s.len()) };
            return Ok(());
        }
        self.put_long(s)
    }

    /// [`Self::put`] of a long piece, or of one the buffer may not have room for.
    #[inline(never)]
    fn put_long(&mut self, mut s: &[u8]) -> io::Result<()> {
        while s.len() > self.left() {
            let n = self.left();
            // Within the capacity: no reallocation.
            self.buf.extend_from_slice(&s[..n]);
            s = &s[n..];
            self.hand_on(1)?;
        }
        self.buf.extend_from_slice(s);
        Ok(())
    }

    /// The first `len` bytes of `text` (`N` at most [`PIECE`]): the whole array is copied, and the
    /// bytes past `len` are written over by the next piece.
    #[inline]
    pub fn put_first<const N: usize>(&mut self, text: &[u8; N], len: usize) -> io::Result<()> {
        self.room(N)?;
        fill(self.spare::<N>(), text);
        // SAFETY: all `N` bytes past the length were just written, and `len.min(N)` counts some.
        unsafe { self.advance(len.min(N)) };
        Ok(())
    }

    /// Asks for the memory the next bytes go to to be brought into the cache ahead of them. A writer
    /// of rows calls it after each row: a sweep's combinations write their rows in turn, each into a
    /// chunk of its own, too many streams for the processor to foresee, and a row's first byte would
    /// otherwise wait for its line to come from memory.
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        if self.left() > 64 {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let next = self.buf.as_ptr().wrapping_add(self.buf.len() + 64);
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 processor has; it reads nothing
            // and cannot fault, and `next` points into the buffer's room besides.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(next.cast()) };
        }
    }

    /// The next `N` bytes (`N` at most [`PIECE`]), zeroed, to be written in place.
    #[inline]
    pub fn slot<const N: usize>(&mut self) -> io::Result<&mut [u8; N]> {
        self.room(N)?;
        let at = self.buf.len();
        fill(self.spare::<N>(), &[0; N]);
        // SAFETY: the `N` bytes past the length were just written.
        unsafe { self.advance(N) };
        Ok((&mut self.buf[at..at + N])
            .try_into()
            .expect("a slot of N bytes"))
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(buf).map(|()| buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.put(buf)
    }

    /// Has what it holds flushed (see [`Take::flush`]).
    fn flush(&mut self) -> io::Result<()> {
        let last = std::mem::take(&mut self.buf);
        self.buf = self.to.flush(last)?;
        Ok(())
    }
}

impl Drop for Out {
    /// Hands on what it holds ([`Take::finish`]), as `BufWriter` does: the rows a run wrote before it
    /// failed reach the output. An error here goes unreported; a writer that must know flushes.
    fn drop(&mut self) {
        let _ = self.to.finish(std::mem::take(&mut self.buf));
    }
}

/// Writes `from` into `to`, as one copy of a known size.
#[inline(always)]
fn fill<const N: usize>(to: &mut [MaybeUninit<u8>; N], from: &[u8; N]) {
    *to = from.map(MaybeUninit::new);
}

/// Writes the first `N` bytes of `from` at the start of `to`.
#[inline(always)]
fn fill_at<const N: usize>(to: &mut [MaybeUninit<u8>], from: &[u8]) {
    let to: &mut [MaybeUninit<u8>; N] = (&mut to[..N]).try_into().expect("room for N bytes");
    fill(to, from[..N].try_into().expect("N bytes"));
}

/// Copies `s` (at most [`PIECE`] bytes) to the start of `to`, as two copies of a fixed size that
/// overlap: a row's pieces (parameters, numbers) are short, and a copy of unknown length would be a
/// call. Writes the first `s.len()` bytes of `to`, and no others.
#[inline(always)]
fn copy_short(to: &mut [MaybeUninit<u8>; PIECE], s: &[u8]) {
    let n = s.len();
    if n >= 16 {
        fill_at::<16>(to, s);
        fill_at::<16>(&mut to[n - 16..], &s[n - 16..]);
    } else if n >= 8 {
        fill_at::<8>(to, s);
        fill_at::<8>(&mut to[n - 8..], &s[n - 8..]);
    } else if n >= 4 {
        fill_at::<4>(to, s);
        fill_at::<4>(&mut to[n - 4..], &s[n - 4..]);
    } else if n > 0 {
        to[0].write(s[0]);
        to[n / 2].write(s[n / 2]);
        to[n - 1].write(s[n - 1]);
    }
}

/// Takes full buffers by copying them into a writer (a file, stdout), and gives each back.
pub struct Copying<W> {
    to: W,
    capacity: usize,
    /// A full buffer is written up to its last line's end ([`Out::copying_lines`]).
    lines: bool,
}

impl<W> Copying<W> {
    /// Copies into `to`; a buffer it gives for one it did not get back has `capacity` bytes.
    pub fn new(to: W, capacity: usize) -> Copying<W> {
        Copying {
            to,
            capacity: capacity.max(PIECE),
            lines: false,
        }
    }

    /// What it copies into.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.to
    }
}

impl<W: Write + Send> Take for Copying<W> {
    fn take(&mut self, mut full: Vec<u8>) -> io::Result<Vec<u8>> {
        // A line longer than half the buffer is written as it is: what is kept must leave room.
        let ended = (self.lines)
            .then(|| full.iter().rposition(|&b| b == b'\n'))
            .flatten()
            .filter(|&end| full.len() - end - 1 <= full.capacity() / 2);
        if let Some(end) = ended {
            self.to.write_all(&full[..=end])?;
            full.drain(..=end);
            return Ok(full);
        }
        self.to.write_all(&full)?;
        full.clear();
        if full.capacity() == 0 {
            full = Vec::with_capacity(self.capacity);
        }
        Ok(full)
    }

    fn flush(&mut self, mut last: Vec<u8>) -> io::Result<Vec<u8>> {
        self.to.write_all(&last)?;
        self.to.flush()?;
        last.clear();
        Ok(last)
    }

    fn finish(&mut self, last: Vec<u8>) -> io::Result<()> {
        self.to.write_all(&last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes, and the pieces they came in, the test reads back.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Seen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Rows of many lengths through a small buffer that copies lines: every write ends a line, and
    /// the bytes arrive whole and in order.
    #[test]
    fn a_buffer_copying_lines_writes_whole_lines() {
        #[derive(Clone, Default)]
        struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);
        impl Write for Writes {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().push(buf.to_vec());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let writes = Writes::default();
        let mut out = Out::copying_lines(writes.clone(), 256);
        let mut want = Vec::new();
        for row in 0..500usize {
            let line = format!("{row},{}\n", "x".repeat(row * 7 % 90));
            out.put(line.as_bytes()).unwrap();
            want.extend_from_slice(line.as_bytes());
        }
        out.flush().unwrap();
        let writes = writes.0.lock().unwrap();
        assert!(
            writes.len() > 50,
            "the buffer filled many times: {}",
            writes.len()
        );
        assert!(
            writes.iter().all(|w| w.ends_with(b"\n")),
            "every write ends a line"
        );
        assert_eq!(writes.concat(), want);
    }

    /// Pieces of every length a short copy takes, and some longer, each of other bytes: the bytes
    /// come out as the pieces one after the other.
    #[test]
    fn pieces_of_every_short_length_arrive_whole() {
        let seen = Seen::default();
        let mut out = Out::copying(seen.clone(), 256);
        let mut want = Vec::new();
        for round in 0..20u8 {
            for len in 0..=PIECE + 8 {
                let piece: Vec<u8> = (0..len as u8).map(|b| b ^ round.wrapping_mul(37)).collect();
                out.put(&piece).unwrap();
                want.extend_from_slice(&piece);
            }
        }
        out.flush().unwrap();
        assert_eq!(seen.0.lock().unwrap().0, want);
    }

    /// Pieces of every kind, some longer than the buffer: the bytes are the pieces one after the
    /// other, however the buffers fell, and nothing is handed on before the buffer is full.
    #[test]
    fn pieces_arrive_in_order_in_full_buffers() {
        let seen = Seen::default();
        let mut out = Out::copying(seen.clone(), 100);
        let mut want = Vec::new();
        for k in 0..300u32 {
            let text = format!("piece{k},");
            out.put(text.as_bytes()).unwrap();
            want.extend_from_slice(text.as_bytes());
            out.put_first(b"2021-04-02T00:00:00.000Z", 10 + k as usize % 15)
                .unwrap();
            want.extend_from_slice(&b"2021-04-02T00:00:00.000Z"[..10 + k as usize % 15]);
            *out.slot::<3>().unwrap() = *b"abc";
            want.extend_from_slice(b"abc");
            out.byte(b'\n').unwrap();
            want.push(b'\n');
            if k % 50 == 7 {
                let long = vec![b'0' + (k % 10) as u8; 250 + k as usize];
                out.write_all(&long).unwrap();
                want.extend_from_slice(&long);
            }
        }
        let (held, writes) = {
            let s = seen.0.lock().unwrap();
            (s.0.len(), s.1)
        };
        // A buffer goes out full, or with too little room left for a piece of a known size.
        assert!(
            writes <= held.div_ceil(100 - 24),
            "{writes} writes of {held} bytes"
        );
        out.flush().unwrap();
        assert_eq!(seen.0.lock().unwrap().0, want);
        out.put(b"after").unwrap();
        out.flush().unwrap();
        want.extend_from_slice(b"after");
        assert_eq!(seen.0.lock().unwrap().0, want);
        out.put(b"dropped").unwrap();
        drop(out);
        want.extend_from_slice(b"dropped");
        assert_eq!(
            seen.0.lock().unwrap().0,
            want,
            "dropping it hands on what it held"
        );
    }
}
