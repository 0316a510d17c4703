//! One column of a Parquet file's row group as it fills: its values and, when it may be null, its
//! definition levels.

use parquet::data_type::ByteArray;

use crate::plugin::Cell;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Event times, in ms since the epoch, UTC (a Parquet timestamp), as the other outputs write them.
    Time,
    /// A typed value.
    Of(Cell),
}

/// One cell of a row.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// A whole number.
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// No value.
    Null,
}

/// One column's values since the last row group, with its definition levels when it may be null.
pub(super) enum Column {
    Int(Vec<i64>),
    Real(Vec<f64>),
    Text(Vec<ByteArray>),
}

pub(super) struct Buffer {
    pub(super) values: Column,
    /// 1 where a row has a value, 0 where it has none; `None` for a column that always has one.
    pub(super) defs: Option<Vec<i16>>,
    /// The last text pushed: the same text again (a parameter's, in every row of a combination) shares
    /// its bytes instead of copying them.
    last: Option<ByteArray>,
}

impl Buffer {
    pub(super) fn new(kind: Kind, optional: bool) -> Buffer {
        let values = match kind {
            Kind::Time | Kind::Of(Cell::Int) => Column::Int(Vec::new()),
            Kind::Of(Cell::Real) => Column::Real(Vec::new()),
            Kind::Of(Cell::Text) => Column::Text(Vec::new()),
        };
        Buffer {
            values,
            defs: optional.then(Vec::new),
            last: None,
        }
    }

    /// An empty buffer for the same column.
    pub(super) fn emptied(&self) -> Buffer {
        let kind = match self.values {
            Column::Int(_) => Kind::Of(Cell::Int),
            Column::Real(_) => Kind::Of(Cell::Real),
            Column::Text(_) => Kind::Of(Cell::Text),
        };
        Buffer::new(kind, self.defs.is_some())
    }

    pub(super) fn push(&mut self, v: Value<'_>) {
        let present = match (&mut self.values, v) {
            (_, Value::Null) => false,
            // A whole number held as a double (a count) is stored as the integer it is.
            (Column::Int(c), Value::Real(x)) => {
                c.push(x as i64);
                true
            }
            (Column::Int(c), Value::Int(i)) => {
                c.push(i);
                true
            }
            (Column::Real(c), Value::Real(x)) => {
                c.push(x);
                true
            }
            (Column::Real(c), Value::Int(i)) => {
                c.push(i as f64);
                true
            }
            (Column::Text(c), Value::Text(s)) => {
                let v = match &self.last {
                    Some(last) if last.data() == s.as_bytes() => last.clone(),
                    _ => {
                        let v = ByteArray::from(s);
                        self.last = Some(v.clone());
                        v
                    }
                };
                c.push(v);
                true
            }
            (Column::Text(c), Value::Int(i)) => {
                c.push(ByteArray::from(i.to_string().as_str()));
                true
            }
            (Column::Text(c), Value::Real(x)) => {
                c.push(ByteArray::from(x.to_string().as_str()));
                true
            }
            (_, Value::Text(_)) => false,
        };
        match &mut self.defs {
            Some(d) => d.push(i16::from(present)),
            None => debug_assert!(present, "a required column always has a value"),
        }
    }

    pub(super) fn clear(&mut self) {
        match &mut self.values {
            Column::Int(c) => c.clear(),
            Column::Real(c) => c.clear(),
            Column::Text(c) => c.clear(),
        }
        if let Some(d) = &mut self.defs {
            d.clear();
        }
    }
}
