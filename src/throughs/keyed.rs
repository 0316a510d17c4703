//! Keys to state slots: each key a through meets gets the next slot, up to `max_keys`; slots are laid
//! out before the run, so the map never grows on the hot path.

use std::collections::HashMap;

use crate::graph::KeySpec;

/// The slot of each key met so far.
#[derive(Debug, Clone)]
pub(super) struct KeySlots {
    /// By the key value's bits: its slot.
    slot_of: HashMap<u64, u32>,
    /// By slot: the key's value, as datapoints carry it.
    pub values: Vec<f64>,
    /// Slot of the key field per data port.
    slots: Vec<u8>,
    max: usize,
    /// Datapoints whose key came after `max` others: counted, not kept.
    pub over: u64,
}

fn bits(v: f64) -> u64 {
    // -0 and +0 are one key.
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

impl KeySlots {
    pub fn new(spec: &KeySpec) -> Self {
        let mut k = KeySlots {
            slot_of: HashMap::with_capacity(spec.max_keys),
            values: Vec::with_capacity(spec.max_keys),
            slots: spec.slots.clone(),
            max: spec.max_keys,
            over: 0,
        };
        for &v in &spec.known {
            k.slot(v);
        }
        k
    }

    /// How many slots there may be.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The key value of a datapoint that arrived on `port`.
    #[inline]
    pub fn value(&self, port: u8, values: &[f64]) -> f64 {
        self.slots
            .get(port as usize)
            .map_or(f64::NAN, |&s| values[s as usize])
    }

    /// The slot of key `v`, given now if it is new and there is room; `None` (counted) if not.
    #[inline]
    pub fn slot(&mut self, v: f64) -> Option<usize> {
        if let Some(&s) = self.slot_of.get(&bits(v)) {
            return Some(s as usize);
        }
        if self.values.len() >= self.max {
            self.over += 1;
            return None;
        }
        let s = self.values.len();
        self.slot_of.insert(bits(v), s as u32);
        self.values.push(v);
        Some(s)
    }
}
