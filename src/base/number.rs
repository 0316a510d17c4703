//! Numbers as text, fast, and exactly as Rust's `{}` writes them: every CSV and NDJSON cell of a value
//! goes through [`write_f64`], and a sweep writes millions of them.
//!
//! `{}` writes the shortest digits that read back as the same double, in plain decimal notation, and
//! of two equally short candidates the nearer one, rounding an exact tie half up. The fast path writes
//! whole numbers below 2⁵³ as integers (`itoa`), and other values with `zmij`, which finds the same
//! shortest digits several times faster but rounds a tie half to even. A tie is an exact value with one
//! fractional digit more than the shortest digits, and its last digit 5: such a value's binary
//! fraction has exactly that many bits, which is tested below by scaling by powers of two (exact).
//! Ties, values `zmij` writes with an exponent (below 10⁻⁵; larger ones are whole), whole numbers from
//! 2⁵³ and NaN or infinities go to `{}` itself.

use std::io::{self, Write};

use super::out::Out;

/// 2⁵²: every double at least this large is a whole number.
const WHOLE_FROM: f64 = 4_503_599_627_370_496.0;
/// 2⁵³: every whole number below it is a double, and `{}` writes all its digits.
const EXACT_BELOW: f64 = 9_007_199_254_740_992.0;

fn whole(x: f64) -> bool {
    x.abs() >= WHOLE_FROM || (x as i64) as f64 == x
}

/// Writes `v` as `write!(out, "{v}")` would.
#[inline]
pub fn write_f64<W: Write>(out: &mut W, v: f64) -> io::Result<()> {
    match fast(v, &mut itoa::Buffer::new(), &mut zmij::Buffer::new()) {
        Some(text) => out.write_all(text),
        None => write!(out, "{v}"),
    }
}

/// [`write_f64`] into an [`Out`], whose short copies take no call (a sweep writes millions of cells).
#[inline]
pub fn put_f64(out: &mut Out, v: f64) -> io::Result<()> {
    match fast(v, &mut itoa::Buffer::new(), &mut zmij::Buffer::new()) {
        Some(text) => out.put(text),
        None => write!(out, "{v}"),
    }
}

/// `v`'s text as `{}` writes it, written into one of the two buffers, when the fast path has it
/// (see the module's notes); `None` for `{}` itself to write.
#[inline(always)]
fn fast<'b>(v: f64, ints: &'b mut itoa::Buffer, floats: &'b mut zmij::Buffer) -> Option<&'b [u8]> {
    if !v.is_finite() {
        return None;
    }
    if whole(v) {
        let exact = v.abs() < EXACT_BELOW && !(v == 0.0 && v.is_sign_negative());
        return exact.then(|| ints.format(v as i64).as_bytes());
    }
    shortest(v, floats)
}

/// A value's text as [`write_f64`] writes it, worked out once and kept with the value's bits: a sweep's
/// tape of firings formats what each firing emits once, and every unit that plays the tape writes it
/// from here (the six coins' rows of one threshold carry the same BTC sums).
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    bits: u64,
    /// 0 when the text is longer than `text` holds (it is then written anew).
    len: u8,
    text: [u8; 23],
}

impl Written {
    /// `v`'s text.
    pub fn of(v: f64) -> Written {
        let mut w = Written {
            bits: v.to_bits(),
            ..Written::default()
        };
        let size = w.text.len();
        let mut room = &mut w.text[..];
        // A text longer than the room is not kept (`len` stays 0): the value is written anew.
        if write_f64(&mut room, v).is_ok() {
            w.len = (size - room.len()) as u8;
        }
        w
    }

    /// The value it is the text of.
    #[inline]
    pub fn value(&self) -> f64 {
        f64::from_bits(self.bits)
    }

    /// The text of `v`, when this is `v`'s (the same bits).
    #[inline]
    pub fn text_of(&self, v: f64) -> Option<&[u8]> {
        (self.len > 0 && self.bits == v.to_bits()).then(|| &self.text[..self.len as usize])
    }

    /// [`Self::text_of`] as the whole array the text starts, and the text's length: copying a whole
    /// array takes no call, where a slice of unknown length does.
    #[inline]
    pub fn padded_text_of(&self, v: f64) -> Option<(&[u8; 23], usize)> {
        (self.len > 0 && self.bits == v.to_bits()).then_some((&self.text, self.len as usize))
    }
}

/// `v`'s shortest digits in plain notation, when `zmij` writes them so and `v` is not a tie.
#[inline]
fn shortest(v: f64, buf: &mut zmij::Buffer) -> Option<&[u8]> {
    let text = buf.format_finite(v).as_bytes();
    // `zmij` writes plain decimals from 10⁻⁵ up (and up to 10¹⁶, past which doubles are whole): only
    // a value below 10⁻⁴ needs a look for an exponent.
    if v.abs() < 1e-4 && text.contains(&b'e') {
        return None;
    }
    let dot = text.iter().position(|&c| c == b'.')?;
    let digits = (text.len() - dot - 1) as u32;
    // A tie's binary fraction has exactly one bit per decimal digit, and one more.
    (fraction_bits(v) != digits + 1).then_some(text)
}

/// How many binary digits `v` (finite, not whole) has after the point: `v` is `m·2^e` with `m` its
/// significand, and `m`'s trailing zeros are not digits. `v·2^k` is whole exactly when `k` is at least
/// this many.
#[inline]
fn fraction_bits(v: f64) -> u32 {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    (-e - m.trailing_zeros() as i32).max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// xorshift64: a fixed stream of bits.
    fn bits(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// `n` values from the bits of `seed`, of each of `kinds` in turn: 0, any bit pattern; 1, a
    /// market-like decimal; 2, a sum of two; 3, a dyadic value (a whole number over a power of two,
    /// where ties are).
    fn values(seed: u64, kinds: &'static [u8], n: usize) -> impl Iterator<Item = f64> {
        let mut next = bits(seed);
        (0..n).map(move |i| {
            let r = next();
            match kinds[i % kinds.len()] {
                0 => f64::from_bits(r),
                1 => (r % 100_000_000_000) as f64 / 1e8,
                2 => (r % 10_000_000) as f64 / 1e6 + ((r >> 32) % 10_000_000) as f64 / 1e4,
                _ => (r >> 11) as f64 / (1u64 << (r % 60)) as f64,
            }
        })
    }

    #[test]
    fn edge_values_are_written_as_display_writes_them() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            2.5,
            1e-7,
            1e-5,
            1.5e-5,
            9.99e-6,
            -1.0000001e-4,
            0.000123456,
            1e15,
            1e16,
            1e21,
            1e300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            EXACT_BELOW - 1.0,
            EXACT_BELOW,
            EXACT_BELOW + 2.0,
            WHOLE_FROM + 0.5,
            // Ties, where the shortest digits round half up: ...664.13 and ...248.563.
            249_531_916_281_664.0 + 0.125,
            24_789_738_853_248.0 + 0.5625,
            -(249_531_916_281_664.0 + 0.125),
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Powers of two: their rounding interval is lopsided.
        let powers = (1..=60).map(|k| 1.0 / (1u64 << k) as f64);
        for v in edges.into_iter().chain(powers) {
            assert_eq!(ours(v), format!("{v}"), "{v:e}");
        }
    }

    /// Random bit patterns, market-like decimals and their sums, and dyadic values built to be ties (a
    /// tie at the last shortest digit is where `zmij` and `{}` round differently).
    #[test]
    fn two_million_values_are_written_as_display_writes_them() {
        let mut ties = 0;
        for v in values(0x9E37_79B9_7F4A_7C15, &[0, 1, 2, 3], 2_000_000) {
            let (a, b) = (ours(v), format!("{v}"));
            assert_eq!(a, b, "{v:e} (bits {:#x})", v.to_bits());
            // A tie: `zmij` writes it plainly, and the fast path still hands it to `{}`.
            let mut buf = zmij::Buffer::new();
            let plain = v.is_finite() && !whole(v) && !buf.format_finite(v).contains('e');
            if plain && shortest(v, &mut zmij::Buffer::new()).is_none() {
                ties += 1;
            }
        }
        assert!(ties > 1000, "the sample holds ties ({ties})");
    }

    /// `fraction_bits` against its meaning: the doublings it takes a value to become whole.
    #[test]
    fn fraction_bits_count_the_doublings_to_a_whole_number() {
        let mut seen = 0;
        for v in values(0x51_7CC1_B727_220A, &[0, 1, 3], 200_000) {
            if !v.is_finite() || whole(v) {
                continue;
            }
            let (mut x, mut k) = (v, 0);
            while !whole(x) {
                x *= 2.0;
                k += 1;
            }
            assert_eq!(fraction_bits(v), k, "{v:e}");
            seen += 1;
        }
        assert!(seen > 100_000, "non-whole values sampled: {seen}");
    }

    #[test]
    fn a_written_text_is_the_values_own_and_serves_no_other_bits() {
        let (mut kept, mut long) = (0, 0);
        for v in values(0x2545_F491_4F6C_DD1D, &[0, 1, 2], 200_000) {
            let w = Written::of(v);
            match w.text_of(v) {
                Some(text) => {
                    assert_eq!(text, format!("{v}").as_bytes(), "{v:e}");
                    kept += 1;
                }
                // Only a text longer than it holds is not kept.
                None => {
                    assert!(format!("{v}").len() > 23, "{v:e}");
                    long += 1;
                }
            }
            let other = f64::from_bits(v.to_bits() ^ 1);
            assert_eq!(w.text_of(other), None, "another value's bits");
        }
        assert!(
            kept > 100_000 && long > 10_000,
            "both kinds sampled: {kept}, {long}"
        );
    }
}
