//! Key names: the text values of key fields (`BTCUSDT` in a CSV `symbol` column, the market of a live
//! trade). A datapoint carries only numbers, so a key travels as a small integer: its index in one
//! table for the whole process, given out when the name is first seen. Outputs turn the number back
//! into the name.
//!
//! The table is written rarely (once per new name, under a lock) and read without a lock: a reader
//! keeps its own copy of the names it has met ([`KeyNames`]) and asks the table only for a number it
//! does not know yet.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The most distinct key names one process holds; a further name is refused (the generator counts
/// the row as skipped).
pub const MAX_KEY_NAMES: usize = 1 << 20;

#[derive(Default)]
struct Table {
    ids: HashMap<Box<[u8]>, u32>,
    names: Vec<Box<str>>,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// The number of key `name`, given out now if it is new; `None` when the table is full.
pub fn intern(name: &[u8]) -> Option<u32> {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&id) = t.ids.get(name) {
        return Some(id);
    }
    if t.names.len() >= MAX_KEY_NAMES {
        return None;
    }
    let id = t.names.len() as u32;
    t.names
        .push(String::from_utf8_lossy(name).into_owned().into_boxed_str());
    t.ids.insert(name.into(), id);
    Some(id)
}

/// A generator's own map from key bytes to numbers, so a row whose key it has met does not take the
/// table's lock (and does not allocate).
#[derive(Default)]
pub struct KeyCache {
    ids: HashMap<Box<[u8]>, u32>,
}

impl KeyCache {
    /// The number of `name` (see [`intern`]).
    #[inline]
    pub fn id(&mut self, name: &[u8]) -> Option<u32> {
        if let Some(&id) = self.ids.get(name) {
            return Some(id);
        }
        let id = intern(name)?;
        self.ids.insert(name.into(), id);
        Some(id)
    }
}

/// An output's copy of the names it has met, by number.
#[derive(Default)]
pub struct KeyNames {
    names: Vec<Box<str>>,
}

impl KeyNames {
    /// The name of key number `id` (empty for a number never given out).
    pub fn name(&mut self, id: u32) -> &str {
        let i = id as usize;
        if i >= self.names.len() {
            let t = table().lock().unwrap_or_else(|e| e.into_inner());
            let upto = t.names.len().min(i + 64);
            self.names
                .extend(t.names[self.names.len()..upto].iter().cloned());
        }
        self.names.get(i).map_or("", |n| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_number_and_reads_back() {
        let a = intern(b"keys-test-AAA").unwrap();
        let b = intern(b"keys-test-BBB").unwrap();
        assert_ne!(a, b);
        assert_eq!(intern(b"keys-test-AAA"), Some(a));
        let mut cache = KeyCache::default();
        assert_eq!(cache.id(b"keys-test-BBB"), Some(b));
        let mut names = KeyNames::default();
        assert_eq!(names.name(b), "keys-test-BBB");
        assert_eq!(names.name(a), "keys-test-AAA");
        assert_eq!(names.name(u32::MAX - 1), "");
    }
}
