//! The on-disk format: `meta.json`, segment headers, and the datapoint payload. Everything is
//! little-endian and fixed-size, so a reader in another language needs only this description (README,
//! "The journal's layout").

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::slot::{PAYLOAD, PAYLOAD_WORDS};
use super::JournalError;
use crate::base::datapoint::{Datapoint, Kind, MAX_FIELDS};

/// First 8 bytes of every segment.
pub const MAGIC: &[u8; 8] = b"TUBESJNL";
/// Format version, in `meta.json` and every segment header.
pub const VERSION: u32 = 1;
/// The most records a segment may hold (a segment of them is 144 GiB).
pub const MAX_SEGMENT_RECORDS: u64 = 1 << 30;
/// Bytes before the first slot of a segment.
pub const HEADER: usize = 64;
/// Bytes per slot: 8 (commit marker) + 8 (checksum) + 128 (payload).
pub const SLOT: usize = 144;

/// One tube of the journalled graph: what a record's `source` means.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TubeMeta {
    /// Its label.
    pub label: String,
    /// `Generator`, `Through`, `Sink` or `ExternalEvent`.
    pub kind: String,
    /// Its output fields, in slot order.
    pub fields: Vec<String>,
    /// For a generator of an `input` journal: the fields whose values were read and recorded (the
    /// others were not parsed and hold nothing). Absent in journals written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Vec<String>>,
}

/// `meta.json`: what makes a journal self-describing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Meta {
    /// Always `tubes-journal`.
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// `input` (the sequenced stream of a run) or `output` (rows of a Journal sink).
    pub content: String,
    /// Slots per segment file; every segment has this many.
    pub segment_records: u64,
    /// FNV-1a 64 of the config text, as 16 hex digits.
    pub config_hash: String,
    /// The config file it was recorded from.
    pub config_file: String,
    /// The config's text.
    pub config: String,
    /// Every tube by id.
    pub tubes: Vec<TubeMeta>,
    /// Identifies the journal: every segment's header holds it (bytes 40..48), so a segment of another
    /// journal put in its place is refused. 0 in journals written before it (not checked then).
    #[serde(default)]
    pub id: u64,
}

impl Meta {
    /// The fields of `source`'s datapoints, as far as known.
    pub fn fields(&self, source: usize) -> &[String] {
        self.tubes.get(source).map_or(&[], |t| &t.fields)
    }

    /// Reads `DIR/meta.json`.
    pub fn load(dir: &Path) -> Result<Meta, JournalError> {
        let p = dir.join("meta.json");
        let text = std::fs::read_to_string(&p).map_err(|e| JournalError::io(&p, "read", e))?;
        let m: Meta = serde_json::from_str(&text).map_err(|e| JournalError::Format {
            path: p.clone(),
            what: format!("not a journal's meta.json: {e}"),
        })?;
        if !(1..=MAX_SEGMENT_RECORDS).contains(&m.segment_records) {
            return Err(JournalError::Format {
                path: p,
                what: format!(
                    "segment_records is {}; a journal's segments hold 1 to {MAX_SEGMENT_RECORDS} records",
                    m.segment_records
                ),
            });
        }
        if m.format != "tubes-journal" || m.version != VERSION {
            return Err(JournalError::Format {
                path: p,
                what: format!(
                    "format {} version {}; this build reads tubes-journal version {VERSION}",
                    m.format, m.version
                ),
            });
        }
        Ok(m)
    }
}

/// FNV-1a 64 of a text, as 16 hex digits.
pub fn hash_text(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A datapoint as 128 bytes: seq u64, event_time i64, ingest_time u64, source u16, kind u8, len u8,
/// 4 bytes zero, then 12 f64 values, all little-endian: the bytes of [`encode_words`].
pub fn encode(dp: &Datapoint) -> [u8; PAYLOAD] {
    let mut b = [0u8; PAYLOAD];
    for (bytes, w) in b.chunks_exact_mut(8).zip(encode_words(dp)) {
        bytes.copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// [`encode`]'s layout as the slot stores it, sixteen little-endian words, made from the datapoint's
/// fields directly: what the writer appends, without building the bytes first.
pub fn encode_words(dp: &Datapoint) -> [u64; PAYLOAD_WORDS] {
    let mut w = [0u64; PAYLOAD_WORDS];
    w[0] = dp.seq;
    w[1] = dp.event_time as u64;
    w[2] = dp.ingest_time;
    w[3] = u64::from(dp.source) | u64::from(dp.kind as u8) << 16 | u64::from(dp.len) << 24;
    for (word, v) in w[4..].iter_mut().zip(dp.values) {
        *word = v.to_bits();
    }
    w
}

/// The inverse of [`encode`]; `None` for an unknown kind.
pub fn decode(b: &[u8; PAYLOAD]) -> Option<Datapoint> {
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let kind = match b[26] {
        0 => Kind::Data,
        1 => Kind::Event,
        2 => Kind::Tick,
        3 => Kind::Status,
        _ => return None,
    };
    let mut dp = Datapoint::new(
        kind,
        u16::from_le_bytes([b[24], b[25]]),
        u64_at(8) as i64,
        u64_at(16),
    );
    dp.seq = u64_at(0);
    // More values than a datapoint holds is not something a writer wrote.
    if usize::from(b[27]) > MAX_FIELDS {
        return None;
    }
    dp.len = b[27];
    for (i, v) in dp.values.iter_mut().enumerate() {
        *v = f64::from_bits(u64_at(32 + 8 * i));
    }
    Some(dp)
}

/// A segment's 64-byte header: magic, version, slot size, slots, segment number, first record's index.
pub fn header(slots: u64, number: u64, id: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(SLOT as u32).to_le_bytes());
    h[16..24].copy_from_slice(&slots.to_le_bytes());
    h[24..32].copy_from_slice(&number.to_le_bytes());
    h[32..40].copy_from_slice(&(number * slots).to_le_bytes());
    h[40..48].copy_from_slice(&id.to_le_bytes());
    h
}

/// The file name of segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("{n:08}.seg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datapoint_survives_encoding_bit_for_bit() {
        let mut dp = Datapoint::new(Kind::Status, 7, -5, 1 << 40);
        dp.seq = 99;
        dp.len = 4;
        dp.values[0] = f64::NAN;
        dp.values[3] = -0.0;
        dp.values[11] = 1e300;
        let back = decode(&encode(&dp)).unwrap();
        assert_eq!(
            (
                back.seq,
                back.event_time,
                back.ingest_time,
                back.source,
                back.kind,
                back.len
            ),
            (99, -5, 1 << 40, 7, Kind::Status, 4)
        );
        for (a, b) in back.values.iter().zip(dp.values.iter()) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn the_words_appended_lay_out_the_bytes_the_readme_gives() {
        let kinds = [Kind::Data, Kind::Event, Kind::Tick, Kind::Status];
        for i in 0..2_000u64 {
            let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut dp = Datapoint::new(
                kinds[(i % 4) as usize],
                x as u16,
                x as i64,
                x.rotate_left(7),
            );
            dp.seq = x ^ 0xdead_beef;
            dp.len = (i % 13) as u8;
            for (k, v) in dp.values.iter_mut().enumerate() {
                *v = f64::from_bits(x.rotate_left(k as u32 * 5));
            }
            // The layout as the README gives it, byte by byte.
            let mut want = [0u8; PAYLOAD];
            want[0..8].copy_from_slice(&dp.seq.to_le_bytes());
            want[8..16].copy_from_slice(&dp.event_time.to_le_bytes());
            want[16..24].copy_from_slice(&dp.ingest_time.to_le_bytes());
            want[24..26].copy_from_slice(&dp.source.to_le_bytes());
            want[26] = dp.kind as u8;
            want[27] = dp.len;
            for (k, v) in dp.values.iter().enumerate() {
                want[32 + 8 * k..40 + 8 * k].copy_from_slice(&v.to_le_bytes());
            }
            assert_eq!(encode(&dp), want, "datapoint {i}");
        }
    }
}
