//! Comparisons, fmin/fmax and fclass: pure bit manipulation.

use super::pack::{Class, unpack};
use super::{Fmt, NV};

/// The magnitude bits (sign cleared) of an encoding.
#[inline(always)]
fn mag(f: Fmt, bits: u64) -> u64 {
    bits & f.width_mask() & !f.sign_bit()
}

#[inline(always)]
fn is_nan(f: Fmt, bits: u64) -> bool {
    mag(f, bits) > f.inf(false)
}

/// A NaN with the quiet bit (the fraction's top bit) clear.
#[inline(always)]
fn is_snan(f: Fmt, bits: u64) -> bool {
    is_nan(f, bits) && bits & (1 << (f.mant_bits() - 1)) == 0
}

/// NV if either operand is a signaling NaN.
#[inline(always)]
fn snan_flag(f: Fmt, a: u64, b: u64) -> u8 {
    if is_snan(f, a) || is_snan(f, b) {
        NV
    } else {
        0
    }
}

/// A key whose unsigned order is the numeric order of non-NaN encodings (with -0 < +0).
#[inline]
fn order_key(f: Fmt, bits: u64) -> u64 {
    let bits = bits & f.width_mask();
    if bits & f.sign_bit() != 0 {
        !bits & f.width_mask()
    } else {
        bits | f.sign_bit()
    }
}

#[inline]
fn is_zero(f: Fmt, bits: u64) -> bool {
    mag(f, bits) == 0
}

/// feq: quiet comparison, NV only for signaling NaNs.
#[inline]
pub(super) fn eq(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    if is_nan(f, a) || is_nan(f, b) {
        return (0, snan_flag(f, a, b));
    }
    let equal = (is_zero(f, a) && is_zero(f, b)) || (a ^ b) & f.width_mask() == 0;
    (u64::from(equal), 0)
}

/// flt/fle: signaling comparisons, NV for any NaN.
#[inline]
fn ordered(f: Fmt, a: u64, b: u64, or_equal: bool) -> (u64, u8) {
    if is_nan(f, a) || is_nan(f, b) {
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

#[inline]
pub(super) fn lt(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    ordered(f, a, b, false)
}

#[inline]
pub(super) fn le(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    ordered(f, a, b, true)
}

/// fmin/fmax (ISA 2.2+, IEEE 754-2019 minimumNumber/maximumNumber): a single NaN operand is
/// ignored, two give the canonical NaN; NV only for signaling NaNs; -0 < +0.
#[inline]
fn min_max(f: Fmt, a: u64, b: u64, want_max: bool) -> (u64, u8) {
    let flags = snan_flag(f, a, b);
    let r = match (is_nan(f, a), is_nan(f, b)) {
        (true, true) => f.canonical_nan(),
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

#[inline]
pub(super) fn min(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    min_max(f, a, b, false)
}

#[inline]
pub(super) fn max(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    min_max(f, a, b, true)
}

/// fclass: one bit set out of ten (ISA table "Format of result of FCLASS instruction").
#[inline]
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
