//! A whole pass over a journal that tells damage from a torn tail.
//!
//! A writer that dies (with the power) can leave at most the records it was writing torn, after every
//! committed one: a *torn tail*, which reopening discards. A stretch of unreadable records (a bad
//! checksum, zeroed bytes) or a missing or unreadable segment file with whole records *after* it cannot
//! come from a crash: it is damage, and a reader that stopped there would silently drop what follows.

use std::collections::BTreeSet;
use std::path::Path;

use super::copied::Copied;
use super::format::{decode, segment_name, Meta};
use super::slot::Found;
use super::JournalError;

/// One damaged stretch, with whole records after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The first record index that holds no whole record.
    pub from: u64,
    /// The index of the next whole record.
    pub to: u64,
    /// What is wrong there, in words.
    pub cause: String,
    /// Whole records from `to` to the end of the journal.
    pub after: u64,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.to - self.from;
        let s = if n == 1 { "" } else { "s" };
        write!(
            f,
            "records {}..{} ({n} record{s}) {}; {} whole records follow",
            self.from, self.to, self.cause, self.after
        )
    }
}

/// What a pass over every segment found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// Whole records.
    pub records: u64,
    /// Segment files present.
    pub segments: u64,
    /// Damaged stretches, in order.
    pub damage: Vec<Damage>,
    /// A torn record after the last whole one (a crash's torn tail), by index.
    pub torn_tail: Option<u64>,
}

/// The numbers of the segment files in `dir`.
fn segment_numbers(dir: &Path) -> Result<BTreeSet<u64>, JournalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "list", e))?;
    let mut numbers = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(dir, "list", e))?;
        let name = entry.file_name();
        let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if let Ok(n) = n.parse::<u64>() {
            if segment_name(n) == name.to_string_lossy() {
                numbers.insert(n);
            }
        }
    }
    Ok(numbers)
}

/// A stretch being walked through that holds no whole record.
struct Open {
    from: u64,
    cause: String,
    /// Whole records before it.
    before: u64,
}

/// Reads every slot of every segment of the journal in `dir`.
pub fn survey(dir: &Path) -> Result<Survey, JournalError> {
    let meta = Meta::load(dir)?;
    let slots = meta.segment_records;
    let numbers = segment_numbers(dir)?;
    let mut s = Survey {
        segments: numbers.len() as u64,
        ..Survey::default()
    };
    let mut open: Option<Open> = None;
    let mut ends = Vec::new();
    // Whether the last segment could not be read.
    let mut bad_segment = false;
    let last = numbers.last().copied();
    // Every segment present, and the first missing one of each gap (a gap is one stretch of damage,
    // however many segments it spans).
    let mut visit = Vec::with_capacity(numbers.len() * 2);
    let mut expect = 0u64;
    for &m in &numbers {
        if m > expect {
            visit.push(expect);
        }
        visit.push(m);
        expect = m.saturating_add(1);
    }
    for n in visit {
        let seg = if numbers.contains(&n) {
            Copied::open(dir, n, slots, meta.id).map_err(|e| format!("cannot be read ({e})"))
        } else {
            Err("is missing".to_string())
        };
        let mut seg = match seg {
            Ok(seg) => seg,
            Err(why) => {
                // Segments are made whole and renamed into place: a bad one is never a crash's doing.
                bad_segment = true;
                open.get_or_insert(Open {
                    from: n.saturating_mul(slots),
                    cause: format!("in segment file {}, which {why}", segment_name(n)),
                    before: s.records,
                });
                continue;
            }
        };
        bad_segment = false;
        for i in 0..slots {
            let index = n.saturating_mul(slots).saturating_add(i);
            match seg.read(i, index)? {
                Found::Record(bytes) if decode(&bytes).is_some() => {
                    if let Some(o) = open.take() {
                        ends.push((o, index));
                    }
                    s.torn_tail = None;
                    s.records += 1;
                }
                found => {
                    let torn = !matches!(found, Found::Empty);
                    if torn && s.torn_tail.is_none() {
                        s.torn_tail = Some(index);
                    }
                    open.get_or_insert(Open {
                        from: index,
                        cause: "unreadable (a bad checksum, or bytes zeroed or never written)"
                            .into(),
                        before: s.records,
                    });
                }
            }
        }
    }
    if let (Some(o), true, Some(l)) = (open.take(), bad_segment, last) {
        ends.push((o, l.saturating_add(1).saturating_mul(slots)));
    }
    s.damage = ends
        .into_iter()
        .map(|(o, to)| Damage {
            from: o.from,
            to,
            cause: o.cause,
            after: s.records - o.before,
        })
        .collect();
    Ok(s)
}
