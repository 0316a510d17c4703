//! `Produce` conditions: GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, CROSSES, CROSSES_ABOVE,
//! CROSSES_BELOW.

use crate::config::CmpOp;

/// Whether the condition fires, given the field's value after the previous datapoint (`before`, kept across
/// resets) and after this one (`after`).
///
/// `CROSSES` fires when the value moves from strictly below the threshold to at or above it, or from
/// strictly above to at or below it; `CROSSES_ABOVE` and `CROSSES_BELOW` only the first and only the
/// second. None of them fires on the tube's first datapoint (no previous value).
#[inline]
pub fn fires(op: CmpOp, before: f64, after: f64, threshold: f64) -> bool {
    match op {
        CmpOp::Greater => after > threshold,
        CmpOp::GreaterEqual => after >= threshold,
        CmpOp::Less => after < threshold,
        CmpOp::LessEqual => after <= threshold,
        CmpOp::Crosses => {
            (before < threshold && after >= threshold) || (before > threshold && after <= threshold)
        }
        CmpOp::CrossesAbove => before < threshold && after >= threshold,
        CmpOp::CrossesBelow => before > threshold && after <= threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_fires_in_both_directions_only() {
        assert!(fires(CmpOp::Crosses, 9.0, 10.0, 10.0));
        assert!(fires(CmpOp::Crosses, 11.0, 9.0, 10.0));
        assert!(!fires(CmpOp::Crosses, 10.0, 12.0, 10.0));
        assert!(!fires(CmpOp::Crosses, f64::NAN, 12.0, 10.0));
        assert!(!fires(CmpOp::Greater, f64::NAN, 10.0, 10.0));
        assert!(fires(CmpOp::GreaterEqual, f64::NAN, 10.0, 10.0));
        assert!(fires(CmpOp::Less, 0.0, 9.0, 10.0));
        assert!(fires(CmpOp::LessEqual, 0.0, 10.0, 10.0));
        assert!(fires(CmpOp::CrossesAbove, 9.0, 10.0, 10.0));
        assert!(!fires(CmpOp::CrossesAbove, 11.0, 9.0, 10.0));
        assert!(fires(CmpOp::CrossesBelow, 11.0, 10.0, 10.0));
        assert!(!fires(CmpOp::CrossesBelow, 9.0, 12.0, 10.0));
    }
}
