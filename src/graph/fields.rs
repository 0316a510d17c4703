//! What a tube's field checks share: one input's fields as a consumer sees them, and the error for a
//! field an input does not provide.

use super::model::TextOf;
use crate::config::{closest, Diagnostics, ReducerDecl};

/// One input of a through or a sink: its label, the fields it emits, and those of them that stand on a
/// misspelt field upstream (reported there; what reads them is not checked against them).
#[derive(Clone, Copy)]
pub(super) struct Input<'a> {
    pub label: &'a str,
    pub schema: &'a [String],
    pub texts: &'a [Option<TextOf>],
    pub unsure: &'a [String],
}

/// Reports that `from` does not provide `field` (at `path`), with the closest name it does provide and
/// what cannot be checked until it is fixed (`dependents`).
pub(super) fn missing_field(
    diag: &mut Diagnostics,
    path: &str,
    field: &str,
    from: &str,
    available: &[String],
    dependents: &[String],
) {
    let names: Vec<&str> = available.iter().map(String::as_str).collect();
    let help = match closest(field, names.iter().copied()) {
        Some(c) => format!(
            "did you mean '{c}'? '{from}' provides: {}",
            names.join(", ")
        ),
        None if names.is_empty() => format!("'{from}' provides no fields"),
        None => format!("'{from}' provides: {}", names.join(", ")),
    };
    let help = if dependents.is_empty() {
        help
    } else {
        format!(
            "{help}\n  note: until this is fixed, the fields that come of it are not checked where they are read: {}",
            dependents.join(", ")
        )
    };
    diag.error(
        path,
        format!("field '{field}' is not provided by '{from}'"),
        Some(help),
    );
}

/// The fields reducer `r` reads (price then quantity for VWAP).
pub(super) fn input_fields(r: &ReducerDecl) -> Vec<&str> {
    match r {
        ReducerDecl::Nop | ReducerDecl::Count => vec![],
        ReducerDecl::Vwap { price, quantity } => vec![price, quantity],
        ReducerDecl::Sum(f)
        | ReducerDecl::First(f)
        | ReducerDecl::Last(f)
        | ReducerDecl::Min(f)
        | ReducerDecl::Max(f)
        | ReducerDecl::Mean(f) => vec![f],
    }
}
