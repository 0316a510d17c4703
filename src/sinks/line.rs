//! One row's bytes, put together in place and handed to the output in one piece.
//!
//! A CSV row of a sweep is a dozen small pieces (the parameters, the time, commas, three numbers):
//! handing each to the buffered writer on its own cost more than copying them. Here the pieces of a
//! fixed size (a time, a number's text) are copied whole, without a call, and the row is written once.
//! A row longer than the buffer goes out in several writes; nothing is held from one row to the next.

use std::io::{self, Write};

use crate::base::number::write_f64;
use crate::plugin::Row;

/// Bytes a line holds before it hands them on.
const CAP: usize = 1024;

/// A row being put together, in front of the output `out`.
pub struct Line<W: Write> {
    pub out: W,
    bytes: Box<[u8; CAP]>,
    at: usize,
}

impl<W: Write> Line<W> {
    pub fn new(out: W) -> Self {
        Line {
            out,
            bytes: Box::new([0; CAP]),
            at: 0,
        }
    }

    /// Makes room for `n` more bytes (`n` at most [`CAP`]), handing on what it holds when it must.
    #[inline]
    fn room(&mut self, n: usize) -> io::Result<()> {
        if self.at + n > CAP {
            self.out.write_all(&self.bytes[..self.at])?;
            self.at = 0;
        }
        Ok(())
    }

    #[inline]
    pub fn byte(&mut self, b: u8) -> io::Result<()> {
        self.room(1)?;
        self.bytes[self.at] = b;
        self.at += 1;
        Ok(())
    }

    #[inline]
    pub fn put(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() > CAP {
            self.room(CAP)?;
            return self.out.write_all(s);
        }
        self.room(s.len())?;
        self.bytes[self.at..self.at + s.len()].copy_from_slice(s);
        self.at += s.len();
        Ok(())
    }

    /// The first `len` bytes of `text`: the whole array is copied (a copy of a known size), and
    /// what follows `len` is written over by the next piece.
    #[inline]
    pub fn put_first<const N: usize>(&mut self, text: &[u8; N], len: usize) -> io::Result<()> {
        self.room(N)?;
        self.bytes[self.at..self.at + N].copy_from_slice(text);
        self.at += len.min(N);
        Ok(())
    }

    /// The next `N` bytes of the row, to be written in place.
    #[inline]
    pub fn slot<const N: usize>(&mut self) -> io::Result<&mut [u8; N]> {
        self.room(N)?;
        let at = self.at;
        self.at += N;
        Ok((&mut self.bytes[at..at + N])
            .try_into()
            .expect("a slot of N bytes"))
    }

    /// Value `v` of `row`'s column `i`, as [`write_f64`] writes it (see [`Row::write_number`]).
    #[inline]
    pub fn number(&mut self, row: &Row<'_>, i: usize, v: f64) -> io::Result<()> {
        if let Some((text, len)) = row.written.get(i).and_then(|w| w.padded_text_of(v)) {
            return self.put_first(text, len);
        }
        write_f64(self, v)
    }

    /// Hands the row on.
    #[inline]
    pub fn end(&mut self) -> io::Result<()> {
        let at = std::mem::take(&mut self.at);
        self.out.write_all(&self.bytes[..at])
    }
}

impl<W: Write> Write for Line<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(buf).map(|()| buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.put(buf)
    }

    /// Hands on what it holds, and flushes the output.
    fn flush(&mut self) -> io::Result<()> {
        self.end()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::number::Written;

    /// A row of every kind of piece, long enough to go out in several writes: the bytes are those of
    /// the pieces one after the other, whatever the buffer's size.
    #[test]
    fn a_line_writes_its_pieces_in_order_however_long() {
        let mut line = Line::new(Vec::new());
        let mut want = Vec::new();
        let values = [0.1 + 0.2, 1e-7, 3.0, -0.0, 123456.789, f64::NAN, 1e300];
        let present = [true; 7];
        let row = Row {
            time: 0,
            values: &values,
            present: &present,
            status: None,
            status_dp: None,
            texts: &[],
            written: &[Written::of(0.1 + 0.2)],
        };
        for k in 0..300 {
            line.put(format!("piece{k},").as_bytes()).unwrap();
            want.extend_from_slice(format!("piece{k},").as_bytes());
            line.put_first(b"2021-04-02T00:00:00.000Z", 24).unwrap();
            want.extend_from_slice(b"2021-04-02T00:00:00.000Z");
            for (i, &v) in values.iter().enumerate() {
                line.byte(b',').unwrap();
                line.number(&row, i, v).unwrap();
                want.push(b',');
                want.extend_from_slice(format!("{v}").as_bytes());
            }
            line.byte(b'\n').unwrap();
            want.push(b'\n');
        }
        let long = vec![b'x'; 3 * CAP];
        line.put(&long).unwrap();
        want.extend_from_slice(&long);
        line.flush().unwrap();
        assert_eq!(
            String::from_utf8(line.out).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }
}
