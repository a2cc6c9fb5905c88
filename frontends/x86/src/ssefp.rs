//! SSE/SSE2 floating point on the host's IEEE doubles and singles: scalar and packed
//! arithmetic, conversions, compares. Round-to-nearest only; MXCSR's exception flags are not
//! accumulated yet (documented gap).

use crate::flags;
use xlat_ir::abi::CpuState;

/// Operations (the helper's first argument): `kind << 2 | size` where size bit 0 = double,
/// bit 1 = packed.
pub mod op {
    /// dst = dst + src.
    pub const ADD: u64 = 0;
    /// dst = dst - src.
    pub const SUB: u64 = 1;
    /// dst = dst * src.
    pub const MUL: u64 = 2;
    /// dst = dst / src.
    pub const DIV: u64 = 3;
    /// dst = min (x86: src if either is NaN or both zero).
    pub const MIN: u64 = 4;
    /// dst = max (same rule).
    pub const MAX: u64 = 5;
    /// dst = sqrt(src).
    pub const SQRT: u64 = 6;
    /// Convert the other precision's low lane (cvtss2sd / cvtsd2ss).
    pub const CVT: u64 = 7;
    /// Compare with predicate `code >> 8` (eq, lt, le, unord, neq, nlt, nle, ord): all ones
    /// or zero per lane.
    pub const CMP: u64 = 8;
}

fn pred(p: u64, x: f64, y: f64) -> bool {
    let unord = x.is_nan() || y.is_nan();
    match p & 7 {
        0 => x == y,
        1 => x < y,
        2 => x <= y,
        3 => unord,
        4 => x != y,
        5 => !(x < y),
        6 => !(x <= y),
        _ => !unord,
    }
}

fn get(env: &CpuState, off: u32) -> u128 {
    u128::from(env.word(off)) | (u128::from(env.word(off + 8)) << 64)
}

fn set(env: &mut CpuState, off: u32, v: u128) {
    env.set_word(off, v as u64);
    env.set_word(off + 8, (v >> 64) as u64);
}

fn quiet64(v: f64) -> f64 {
    f64::from_bits(v.to_bits() | (1 << 51))
}

fn quiet32(v: f32) -> f32 {
    f32::from_bits(v.to_bits() | (1 << 22))
}

fn f64op(k: u64, a: f64, b: f64) -> f64 {
    // x86's NaN rule for arithmetic: the first operand's NaN (quieted), else the second's.
    if k <= op::DIV && (a.is_nan() || b.is_nan()) {
        return quiet64(if a.is_nan() { a } else { b });
    }
    if k == op::SQRT && b.is_nan() {
        return quiet64(b);
    }
    match k {
        op::ADD => a + b,
        op::SUB => a - b,
        op::MUL => a * b,
        op::DIV => a / b,
        op::MIN => {
            if a < b {
                a
            } else {
                b
            }
        }
        op::MAX => {
            if a > b {
                a
            } else {
                b
            }
        }
        _ => b.sqrt(),
    }
}

fn f32op(k: u64, a: f32, b: f32) -> f32 {
    if k <= op::DIV && (a.is_nan() || b.is_nan()) {
        return quiet32(if a.is_nan() { a } else { b });
    }
    if k == op::SQRT && b.is_nan() {
        return quiet32(b);
    }
    match k {
        op::ADD => a + b,
        op::SUB => a - b,
        op::MUL => a * b,
        op::DIV => a / b,
        op::MIN => {
            if a < b {
                a
            } else {
                b
            }
        }
        op::MAX => {
            if a > b {
                a
            } else {
                b
            }
        }
        _ => b.sqrt(),
    }
}

/// Runs arithmetic `code` (see [`op`]) on xmm state offsets `d` and `s`.
pub fn arith(env: &mut CpuState, code: u64, d: u32, s: u32) {
    let (k, double, packed) = ((code >> 2) & 0x3f, code & 1 != 0, code & 2 != 0);
    let p = code >> 8;
    let a = get(env, d);
    let b = get(env, s);
    let r = if k == op::CVT {
        if double {
            // cvtss2sd: src single → double in the low lane.
            let v = f64::from(f32::from_bits(b as u32));
            (a & !u128::from(u64::MAX)) | u128::from(v.to_bits())
        } else {
            let v = f64::from_bits(b as u64) as f32;
            (a & !0xffff_ffffu128) | u128::from(v.to_bits())
        }
    } else if double {
        let lanes = if packed { 2 } else { 1 };
        let mut r = a;
        for l in 0..lanes {
            let x = f64::from_bits((a >> (64 * l)) as u64);
            let y = f64::from_bits((b >> (64 * l)) as u64);
            let v = if k == op::CMP {
                if pred(p, x, y) { u64::MAX } else { 0 }
            } else {
                f64op(k, x, y).to_bits()
            };
            r = (r & !(u128::from(u64::MAX) << (64 * l))) | (u128::from(v) << (64 * l));
        }
        r
    } else {
        let lanes = if packed { 4 } else { 1 };
        let mut r = a;
        for l in 0..lanes {
            let x = f32::from_bits((a >> (32 * l)) as u32);
            let y = f32::from_bits((b >> (32 * l)) as u32);
            let v = if k == op::CMP {
                if pred(p, f64::from(x), f64::from(y)) {
                    u32::MAX
                } else {
                    0
                }
            } else {
                f32op(k, x, y).to_bits()
            };
            r = (r & !(0xffff_ffffu128 << (32 * l))) | (u128::from(v) << (32 * l));
        }
        r
    };
    set(env, d, r);
}

/// ucomis/comis: the flags (ZF, PF, CF; the rest clear) comparing the low lanes.
pub fn compare(a: u64, b: u64, double: bool) -> u64 {
    let (x, y) = if double {
        (f64::from_bits(a), f64::from_bits(b))
    } else {
        (
            f64::from(f32::from_bits(a as u32)),
            f64::from(f32::from_bits(b as u32)),
        )
    };
    match x.partial_cmp(&y) {
        None => flags::ZF | flags::PF | flags::CF,
        Some(std::cmp::Ordering::Less) => flags::CF,
        Some(std::cmp::Ordering::Equal) => flags::ZF,
        Some(std::cmp::Ordering::Greater) => 0,
    }
}

/// Float (bits, `double`) → integer of `bytes` (4 or 8), truncating or rounding to nearest
/// even; out of range and NaN give the "integer indefinite" (the sign bit alone).
pub fn to_int(v: u64, double: bool, bytes: u32, truncate: bool) -> u64 {
    let x = if double {
        f64::from_bits(v)
    } else {
        f64::from(f32::from_bits(v as u32))
    };
    let x = if truncate {
        x.trunc()
    } else {
        x.round_ties_even()
    };
    let (lo, hi) = if bytes == 8 {
        (-9.223_372_036_854_776e18, 9.223_372_036_854_776e18)
    } else {
        (-2_147_483_648.0, 2_147_483_648.0)
    };
    let indefinite = if bytes == 8 { 1u64 << 63 } else { 1u64 << 31 };
    if x.is_nan() || x < lo || x >= hi {
        return indefinite;
    }
    (x as i64 as u64) & flags::mask(bytes)
}

/// Signed integer → float bits.
pub fn from_int(v: u64, bytes: u32, double: bool) -> u64 {
    let i = if bytes == 8 {
        v as i64
    } else {
        i64::from(v as u32 as i32)
    };
    if double {
        (i as f64).to_bits()
    } else {
        u64::from((i as f32).to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_follow_the_sdm() {
        assert_eq!(to_int(2.5f64.to_bits(), true, 4, false), 2);
        assert_eq!(to_int(3.5f64.to_bits(), true, 4, false), 4);
        assert_eq!(to_int((-2.7f64).to_bits(), true, 8, true), (-2i64) as u64);
        assert_eq!(to_int(f64::NAN.to_bits(), true, 4, true), 0x8000_0000);
        assert_eq!(to_int(1e10f64.to_bits(), true, 4, true), 0x8000_0000);
        assert_eq!(from_int(u64::MAX, 8, true), (-1.0f64).to_bits());
    }

    #[test]
    fn ucomisd_unordered_sets_zf_pf_cf() {
        assert_eq!(
            compare(f64::NAN.to_bits(), 0, true),
            flags::ZF | flags::PF | flags::CF
        );
        assert_eq!(compare(1f64.to_bits(), 2f64.to_bits(), true), flags::CF);
    }
}
