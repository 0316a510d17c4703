//! The parameter cells that lead every row of a sweep's outputs (`N,coin,timestamp,…`), rendered once
//! per combination so that writing a row only copies bytes.

use crate::plugin::OpenSink;

/// A sweep's parameter names and one combination's cells, in each format.
#[derive(Default)]
pub struct Lead {
    /// Parameter names, in column order.
    pub names: Vec<String>,
    /// The values as text (numbers as written in the config).
    pub cells: Vec<String>,
    /// `50,ETH,`: the CSV cells, each followed by a comma.
    pub csv: Vec<u8>,
    /// `"N":50,"coin":"ETH",`: the JSON members, each followed by a comma.
    pub json: Vec<u8>,
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break, with quotes doubled.
pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `s` as a CSV cell (quoted only when it must be), allocating only then.
pub fn write_csv_cell(out: &mut impl std::io::Write, s: &str) -> std::io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        out.write_all(csv_cell(s).as_bytes())
    } else {
        out.write_all(s.as_bytes())
    }
}

/// Writes `s` as a JSON string literal, allocating only when it holds a character to escape.
pub fn write_json_string(out: &mut impl std::io::Write, s: &str) -> std::io::Result<()> {
    if s.contains(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20) {
        return out.write_all(json_string(s).as_bytes());
    }
    out.write_all(b"\"")?;
    out.write_all(s.as_bytes())?;
    out.write_all(b"\"")
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Lead {
    /// The lead of the rows `cx` opens (empty outside a sweep).
    pub fn of(cx: &OpenSink<'_>) -> Lead {
        let mut lead = Lead {
            names: cx.params.iter().map(|p| p.to_string()).collect(),
            ..Lead::default()
        };
        for (name, v) in cx.params.iter().zip(cx.values) {
            let text = v.to_string();
            lead.csv.extend_from_slice(csv_cell(&text).as_bytes());
            lead.csv.push(b',');
            lead.json.extend_from_slice(json_string(name).as_bytes());
            lead.json.push(b':');
            let value = if v.is_number() {
                text.clone()
            } else {
                json_string(&text)
            };
            lead.json.extend_from_slice(value.as_bytes());
            lead.json.push(b',');
            lead.cells.push(text);
        }
        lead
    }

    /// The header's cells for the parameters, each followed by a comma.
    pub fn csv_header(&self) -> String {
        self.names.iter().map(|n| csv_cell(n) + ",").collect()
    }
}
