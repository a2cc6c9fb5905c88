//! Conversions: float to integer, integer to float, and between the two formats.

use super::pack::{Class, nan_result, round_pack, round_pack64, shr_round, unpack};
use super::{Fmt, NV, NX, RDN, RMM, RNE, RTZ, RUP};

/// fcvt.{w,wu,l,lu}.{s,d}. Out-of-range and NaN inputs give NV (without NX) and the
/// saturated value of the ISA's fcvt table: NaN and +∞ give the maximum, -∞ the minimum.
/// W results are sign-extended to 64 bits (also for wu).
pub(super) fn to_int(f: Fmt, a: u64, rm: u8, signed: bool, word: bool) -> (u64, u8) {
    if let Some(r) = to_int_fast(f, a, rm, signed, word) {
        return r;
    }
    let x = unpack(f, a);
    let bits = if word { 32 } else { 64 };
    // Magnitude limits, as u128 so that 2^64 fits.
    let max_pos: u128 = if signed {
        (1 << (bits - 1)) - 1
    } else {
        (1 << bits) - 1
    };
    let max_neg: u128 = if signed { 1 << (bits - 1) } else { 0 };
    let extend = |v: u64| {
        if word {
            v as u32 as i32 as i64 as u64
        } else {
            v
        }
    };
    let sat_pos = (extend(max_pos as u64), NV);
    let sat_neg = (extend((max_neg as u64).wrapping_neg()), NV);
    let (q, inexact) = match x.class {
        Class::QNan | Class::SNan => return sat_pos,
        Class::Inf => return if x.sign { sat_neg } else { sat_pos },
        Class::Zero => return (0, 0),
        // |value| >= 2^64: out of range for every destination.
        Class::Finite if x.exp >= 64 => return if x.sign { sat_neg } else { sat_pos },
        Class::Finite => {
            // value = sig * 2^(exp - 63); exp in [-inf, 63]. Rounding may carry to 2^64.
            let shift = (63 - x.exp).min(200) as u32;
            // shift >= 1 leaves q < 2^63 + 1, shift == 0 is exact: no carry out of 64 bits.
            let (q, inexact) = shr_round(x.sig, shift, x.sign, rm);
            (u128::from(q), inexact)
        }
    };
    let flags = if inexact { NX } else { 0 };
    if x.sign {
        if q > max_neg {
            return sat_neg;
        }
        (extend((q as u64).wrapping_neg()), flags)
    } else {
        if q > max_pos {
            return sat_pos;
        }
        (extend(q as u64), flags)
    }
}

/// The host path for |value| < 2^52 with an in-range result; `None` for everything else
/// (NaN, large values, saturation), which the exact path handles.
fn to_int_fast(f: Fmt, a: u64, rm: u8, signed: bool, word: bool) -> Option<(u64, u8)> {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let x = match f {
        Fmt::D => f64::from_bits(a),
        Fmt::S => f64::from(f32::from_bits(a as u32)),
    };
    let y = x.abs();
    if y.is_nan() || y >= TWO52 {
        return None;
    }
    // Truncation and the fraction are exact for y < 2^52 (Sterbenz for y >= 1).
    let trunc = y as i64;
    let frac = y - trunc as f64;
    let neg = x < 0.0;
    let up = match rm {
        RNE => frac > 0.5 || (frac == 0.5 && trunc & 1 == 1),
        RTZ => false,
        RDN => neg && frac != 0.0,
        RUP => !neg && frac != 0.0,
        RMM => frac >= 0.5,
        _ => return None,
    };
    let mag = trunc + i64::from(up);
    let t = if x < 0.0 { -mag } else { mag };
    let flags = if frac != 0.0 { NX } else { 0 };
    let r = match (signed, word) {
        (true, true) => i64::from(i32::try_from(t).ok()?) as u64,
        (false, true) => i64::from(u32::try_from(t).ok()? as i32) as u64,
        (true, false) => t as u64,
        (false, false) => u64::try_from(t).ok()?,
    };
    Some((r, flags))
}

/// fcvt.{s,d}.{w,wu,l,lu}: `a` is the whole integer register; W forms use its low 32 bits.
pub(super) fn from_int(f: Fmt, a: u64, rm: u8, signed: bool, word: bool) -> (u64, u8) {
    let v: i128 = match (signed, word) {
        (true, true) => i128::from(a as u32 as i32),
        (false, true) => i128::from(a as u32),
        (true, false) => i128::from(a as i64),
        (false, false) => i128::from(a),
    };
    if v == 0 {
        return (0, 0);
    }
    // Integers with at most p bits convert exactly (every W source for D, for instance).
    if v.unsigned_abs() <= 1 << (f.mant_bits() + 1) {
        let r = match f {
            Fmt::D => (v as i64 as f64).to_bits(),
            Fmt::S => u64::from((v as i64 as f32).to_bits()),
        };
        return (r, 0);
    }
    if rm == RNE {
        return from_int_rne(f, v);
    }
    round_pack64(f, v < 0, 0, v.unsigned_abs() as u64, rm)
}

/// Rust's integer-to-float `as` rounds to nearest, ties to even. `v` is in i64 or u64 range;
/// NX when converting back differs (the result is integer-valued, and only a positive
/// result of 2^64 is outside the range converting back can represent).
fn from_int_rne(f: Fmt, v: i128) -> (u64, u8) {
    let (bits, exact) = match (f, v < 0) {
        (Fmt::D, true) => {
            let r = v as i64 as f64;
            (r.to_bits(), r as i64 as i128 == v)
        }
        (Fmt::D, false) => {
            let r = v as u64 as f64;
            (
                r.to_bits(),
                r < 18_446_744_073_709_551_616.0 && r as u64 as i128 == v,
            )
        }
        (Fmt::S, true) => {
            let r = v as i64 as f32;
            (u64::from(r.to_bits()), r as i64 as i128 == v)
        }
        (Fmt::S, false) => {
            let r = v as u64 as f32;
            (
                u64::from(r.to_bits()),
                r < 18_446_744_073_709_551_616.0 && r as u64 as i128 == v,
            )
        }
    };
    (bits, if exact { 0 } else { NX })
}

/// fcvt.s.d and fcvt.d.s (and the identity, for completeness).
pub(super) fn convert(from: Fmt, to: Fmt, a: u64, rm: u8) -> (u64, u8) {
    match (from, to) {
        (Fmt::S, Fmt::D) => {
            let x = f32::from_bits(a as u32);
            if !x.is_nan() {
                return (f64::from(x).to_bits(), 0); // widening is exact
            }
        }
        (Fmt::D, Fmt::S) if rm == RNE => {
            // The host narrowing rounds once in RNE; normal results need only NX.
            let x = f64::from_bits(a);
            let r = x as f32;
            if r.abs() > f32::MIN_POSITIVE && r.is_finite() {
                return (
                    u64::from(r.to_bits()),
                    if f64::from(r) != x { NX } else { 0 },
                );
            }
        }
        _ => {}
    }
    let x = unpack(from, a);
    match x.class {
        Class::QNan | Class::SNan => (to.canonical_nan(), nan_result(from, &[x]).1),
        Class::Inf => (to.inf(x.sign), 0),
        Class::Zero => (to.zero(x.sign), 0),
        Class::Finite => round_pack(to, x.sign, x.exp, x.sig, rm),
    }
}
