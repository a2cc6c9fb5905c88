//! Comparisons, fmin/fmax and fclass: pure bit manipulation.

use super::pack::{Class, nan_result, unpack};
use super::{Fmt, NV};

/// A key whose unsigned order is the numeric order of non-NaN encodings (with -0 < +0).
fn order_key(f: Fmt, bits: u64) -> u64 {
    let bits = bits & f.width_mask();
    if bits & f.sign_bit() != 0 {
        !bits & f.width_mask()
    } else {
        bits | f.sign_bit()
    }
}

fn is_zero(f: Fmt, bits: u64) -> bool {
    bits & f.width_mask() & !f.sign_bit() == 0
}

/// feq: quiet comparison, NV only for signaling NaNs.
pub(super) fn eq(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        return (0, nan_result(f, &[x, y]).1);
    }
    let equal = (is_zero(f, a) && is_zero(f, b)) || (a ^ b) & f.width_mask() == 0;
    (u64::from(equal), 0)
}

/// flt/fle: signaling comparisons, NV for any NaN.
fn ordered(f: Fmt, a: u64, b: u64, or_equal: bool) -> (u64, u8) {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        return (0, NV);
    }
    let r = if is_zero(f, a) && is_zero(f, b) {
        or_equal
    } else if or_equal {
        order_key(f, a) <= order_key(f, b)
    } else {
        order_key(f, a) < order_key(f, b)
    };
    (u64::from(r), 0)
}

pub(super) fn lt(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    ordered(f, a, b, false)
}

pub(super) fn le(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    ordered(f, a, b, true)
}

/// fmin/fmax (ISA 2.2+, IEEE 754-2019 minimumNumber/maximumNumber): a single NaN operand is
/// ignored, two give the canonical NaN; NV only for signaling NaNs; -0 < +0.
fn min_max(f: Fmt, a: u64, b: u64, want_max: bool) -> (u64, u8) {
    let (x, y) = (unpack(f, a), unpack(f, b));
    let (nan, flags) = nan_result(f, &[x, y]);
    let r = match (x.is_nan(), y.is_nan()) {
        (true, true) => nan,
        (true, false) => b & f.width_mask(),
        (false, true) => a & f.width_mask(),
        (false, false) => {
            let a_less = order_key(f, a) < order_key(f, b);
            if a_less != want_max {
                a & f.width_mask()
            } else {
                b & f.width_mask()
            }
        }
    };
    (r, flags)
}

pub(super) fn min(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    min_max(f, a, b, false)
}

pub(super) fn max(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    min_max(f, a, b, true)
}

/// fclass: one bit set out of ten (ISA table "Format of result of FCLASS instruction").
pub(super) fn classify(f: Fmt, a: u64) -> u64 {
    let x = unpack(f, a);
    let subnormal = a & f.width_mask() & (f.inf(false)) == 0;
    let bit = match (x.class, x.sign) {
        (Class::Inf, true) => 0,
        (Class::Finite, true) if !subnormal => 1,
        (Class::Finite, true) => 2,
        (Class::Zero, true) => 3,
        (Class::Zero, false) => 4,
        (Class::Finite, false) if subnormal => 5,
        (Class::Finite, false) => 6,
        (Class::Inf, false) => 7,
        (Class::SNan, _) => 8,
        (Class::QNan, _) => 9,
    };
    1 << bit
}
