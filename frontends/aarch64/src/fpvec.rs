//! AdvSIMD floating point on single and double lanes (vector and scalar forms): three-same
//! arithmetic, compares and pairwise ops, two-register misc (abs, neg, sqrt, rounding,
//! conversions, compares with zero, fcvtl/fcvtn), across-lanes min/max, by-element multiplies
//! and the fixed-point conversions of the shift-by-immediate group. NaN results follow Arm's
//! rules (first signalling NaN quietened, else first quiet NaN, else the positive default
//! NaN). Rounding is the host's round-to-nearest-even; single operations run through f64, which
//! rounds +, -, *, /, sqrt of singles exactly once in effect (53 >= 2 * 24 + 2), fused ones in
//! f32 directly.

use crate::simd::{f, get_v, lane, mask, put, set_v};
use xlat_ir::abi::CpuState;

pub(crate) fn to_f(x: u64, es: u32) -> f64 {
    if es == 64 {
        f64::from_bits(x)
    } else {
        f64::from(f32::from_bits(x as u32))
    }
}

pub(crate) fn from_f(v: f64, es: u32) -> u64 {
    if v.is_nan() {
        return default_nan(es);
    }
    if es == 64 {
        v.to_bits()
    } else {
        u64::from((v as f32).to_bits())
    }
}

fn default_nan(es: u32) -> u64 {
    if es == 64 {
        0x7ff8_0000_0000_0000
    } else {
        0x7fc0_0000
    }
}

fn quiet_bit(es: u32) -> u64 {
    if es == 64 { 1 << 51 } else { 1 << 22 }
}

fn sign_bit(es: u32) -> u64 {
    1 << (es - 1)
}

fn is_nan(x: u64, es: u32) -> bool {
    let abs = x & !sign_bit(es) & mask(es) as u64;
    let inf = if es == 64 {
        0x7ff0_0000_0000_0000
    } else {
        0x7f80_0000
    };
    abs > inf
}

fn is_snan(x: u64, es: u32) -> bool {
    is_nan(x, es) && x & quiet_bit(es) == 0
}

/// Arm's NaN operand processing: the first signalling NaN quietened, else the first quiet NaN.
pub(crate) fn nan_of(ops: &[u64], es: u32) -> Option<u64> {
    if let Some(x) = ops.iter().find(|x| is_snan(**x, es)) {
        return Some(x | quiet_bit(es));
    }
    ops.iter().copied().find(|x| is_nan(*x, es))
}

pub(crate) fn minmax(x: u64, y: u64, es: u32, max: bool) -> u64 {
    if let Some(n) = nan_of(&[x, y], es) {
        return n;
    }
    let (a, b) = (to_f(x, es), to_f(y, es));
    if a == 0.0 && b == 0.0 {
        let neg = if max {
            a.is_sign_negative() && b.is_sign_negative()
        } else {
            a.is_sign_negative() || b.is_sign_negative()
        };
        return if neg { sign_bit(es) } else { 0 };
    }
    let pick_a = if max { a > b } else { a < b };
    if pick_a { x } else { y }
}

pub(crate) fn minmax_nm(x: u64, y: u64, es: u32, max: bool) -> u64 {
    let qn = |v: u64| is_nan(v, es) && !is_snan(v, es);
    match (qn(x), qn(y)) {
        (true, false) if !is_nan(y, es) => y,
        (false, true) if !is_nan(x, es) => x,
        _ => minmax(x, y, es, max),
    }
}

/// Fused multiply-add `a + n * m` with Arm's NaN rules (an infinity times zero with a quiet
/// NaN addend is the default NaN).
pub(crate) fn fma(a: u64, n: u64, m: u64, es: u32) -> u64 {
    let (fa, fnn, fm) = (to_f(a, es), to_f(n, es), to_f(m, es));
    let inf_zero = (fnn.is_infinite() && fm == 0.0) || (fnn == 0.0 && fm.is_infinite());
    if is_nan(a, es) && !is_snan(a, es) && inf_zero {
        return default_nan(es);
    }
    if let Some(x) = nan_of(&[a, n, m], es) {
        return x;
    }
    if es == 64 {
        from_f(fnn.mul_add(fm, fa), 64)
    } else {
        let r = (fnn as f32).mul_add(fm as f32, fa as f32);
        if r.is_nan() {
            default_nan(32)
        } else {
            u64::from(r.to_bits())
        }
    }
}

pub(crate) fn arith(op: u32, x: u64, y: u64, es: u32) -> u64 {
    if let Some(n) = nan_of(&[x, y], es) {
        return n;
    }
    let (a, b) = (to_f(x, es), to_f(y, es));
    let r = match op {
        ADD => a + b,
        SUB => a - b,
        MUL => a * b,
        DIV => a / b,
        _ => {
            // FMULX: infinity times zero is 2 with the product's sign.
            if (a.is_infinite() && b == 0.0) || (a == 0.0 && b.is_infinite()) {
                2.0f64.copysign(a.signum() * b.signum())
            } else {
                a * b
            }
        }
    };
    from_f(r, es)
}

pub(crate) const ADD: u32 = 0;
pub(crate) const SUB: u32 = 1;
pub(crate) const MUL: u32 = 2;
pub(crate) const DIV: u32 = 3;
const MULX: u32 = 4;

fn ones(c: bool, es: u32) -> u64 {
    if c { mask(es) as u64 } else { 0 }
}

pub(crate) fn neg(x: u64, es: u32) -> u64 {
    x ^ sign_bit(es)
}

/// FRECPS / FRSQRTS steps: `(k - n * m) / d` fused, with infinity times zero giving k / d.
fn step(n: u64, m: u64, es: u32, rsqrt: bool) -> u64 {
    // The pseudocode negates the first operand before the NaN checks.
    if let Some(x) = nan_of(&[neg(n, es), m], es) {
        return x;
    }
    let (a, b) = (to_f(n, es), to_f(m, es));
    let k = if rsqrt { 3.0 } else { 2.0 };
    let div = if rsqrt { 2.0 } else { 1.0 };
    if (a.is_infinite() && b == 0.0) || (a == 0.0 && b.is_infinite()) {
        return from_f(k / div, es);
    }
    let r = if es == 64 {
        if rsqrt && a.abs() >= f64::MIN_POSITIVE * 4.0 {
            // (3 - a*b) / 2 as 1.5 - (a/2)*b: one rounding, no intermediate overflow.
            (-(a * 0.5)).mul_add(b, 1.5)
        } else {
            (-a).mul_add(b, k) / div
        }
    } else {
        // Singles: a*b is exact in f64 and k - a*b rounds at most once more far below the
        // single's precision, so the one rounding to f32 is the fused result.
        (k - a * b) / div
    };
    from_f(r, es)
}

/// A three-same FP operation on one pair of lanes (`d` is the destination lane, for FMLA).
fn three(op: u32, u: bool, a_bit: bool, x: u64, y: u64, d: u64, es: u32) -> Option<u64> {
    let (fx, fy) = (to_f(x, es), to_f(y, es));
    Some(match (op, u, a_bit) {
        (0b11000, false, false) => minmax_nm(x, y, es, true),
        (0b11000, false, true) => minmax_nm(x, y, es, false),
        (0b11001, false, false) => fma(d, x, y, es),
        (0b11001, false, true) => fma(d, neg(x, es), y, es),
        (0b11010, false, false) => arith(ADD, x, y, es),
        (0b11010, false, true) => arith(SUB, x, y, es),
        (0b11011, false, false) => arith(MULX, x, y, es),
        (0b11100, false, false) => ones(fx == fy, es),
        (0b11110, false, false) => minmax(x, y, es, true),
        (0b11110, false, true) => minmax(x, y, es, false),
        (0b11111, false, false) => step(x, y, es, false),
        (0b11111, false, true) => step(x, y, es, true),
        (0b11011, true, false) => arith(MUL, x, y, es),
        (0b11100, true, false) => ones(fx >= fy, es),
        (0b11101, true, false) => ones(fx.abs() >= fy.abs(), es),
        (0b11111, true, false) => arith(DIV, x, y, es),
        (0b11010, true, true) => arith(SUB, x, y, es) & !sign_bit(es),
        (0b11100, true, true) => ones(fx > fy, es),
        (0b11101, true, true) => ones(fx.abs() > fy.abs(), es),
        _ => return None,
    })
}

/// The pairwise form of a three-same op (FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP).
fn pairwise(op: u32, a_bit: bool, x: u64, y: u64, es: u32) -> Option<u64> {
    Some(match (op, a_bit) {
        (0b11000, false) => minmax_nm(x, y, es, true),
        (0b11000, true) => minmax_nm(x, y, es, false),
        (0b11010, false) => arith(ADD, x, y, es),
        (0b11110, false) => minmax(x, y, es, true),
        (0b11110, true) => minmax(x, y, es, false),
        _ => return None,
    })
}

pub(crate) fn round_mode(x: f64, mode: u32) -> f64 {
    match mode {
        0 => x.round_ties_even(),
        1 => x.ceil(),
        2 => x.floor(),
        3 => x.trunc(),
        _ => x.round(), // ties away
    }
}

/// Float lane to an es-bit integer, rounded by `mode`, saturating; NaN gives 0.
fn to_int(x: u64, es: u32, mode: u32, signed: bool) -> u64 {
    let v = to_f(x, es);
    if v.is_nan() {
        return 0;
    }
    let r = round_mode(v, mode);
    match (signed, es) {
        (true, 64) => (r as i64) as u64,
        (true, _) => u64::from((r as i32) as u32),
        (false, 64) => r as u64,
        (false, _) => u64::from(r as u32),
    }
}

fn from_int(x: u64, es: u32, signed: bool, fbits: u32) -> u64 {
    let scale = 2f64.powi(-(fbits as i32));
    if es == 64 {
        let v = if signed { x as i64 as f64 } else { x as f64 };
        (v * scale).to_bits()
    } else {
        let v = if signed {
            f64::from(x as u32 as i32)
        } else {
            f64::from(x as u32)
        };
        u64::from(((v * scale) as f32).to_bits())
    }
}

/// A two-register-misc FP op on one lane; `a_bit` is bit 23, `op` bits 16-12.
fn misc(op: u32, u: bool, a_bit: bool, x: u64, es: u32) -> Option<u64> {
    let v = to_f(x, es);
    let rint = |mode: u32| {
        if let Some(n) = nan_of(&[x], es) {
            n
        } else {
            from_f(round_mode(v, mode), es)
        }
    };
    let nan_false = |c: bool| ones(!v.is_nan() && c, es);
    Some(match (op, u, a_bit) {
        (0b11000, false, false) => rint(0),
        (0b11001, false, false) => rint(2),
        (0b11000, true, false) => rint(4),
        (0b11001, true, false) | (0b11001, true, true) => rint(0), // FRINTX, FRINTI (RN)
        (0b11000, false, true) => rint(1),
        (0b11001, false, true) => rint(3),
        (0b11010, _, false) => to_int(x, es, 0, !u),
        (0b11011, _, false) => to_int(x, es, 2, !u),
        (0b11100, _, false) => to_int(x, es, 4, !u),
        (0b11010, _, true) => to_int(x, es, 1, !u),
        (0b11011, _, true) => to_int(x, es, 3, !u),
        (0b11101, _, false) => from_int(x, es, !u, 0),
        (0b01100, false, true) => nan_false(v > 0.0),
        (0b01101, false, true) => nan_false(v == 0.0),
        (0b01110, false, true) => nan_false(v < 0.0),
        (0b01100, true, true) => nan_false(v >= 0.0),
        (0b01101, true, true) => nan_false(v <= 0.0),
        (0b01111, false, true) => x & !sign_bit(es),
        (0b01111, true, true) => neg(x, es),
        (0b11111, true, true) => {
            if let Some(n) = nan_of(&[x], es) {
                n
            } else {
                from_f(v.sqrt(), es)
            }
        }
        _ => return None,
    })
}

/// Vector three-same with opcode 11xxx.
pub fn vec_three_same(env: &mut CpuState, insn: u32) -> bool {
    let (q, u, a_bit) = (
        f(insn, 30, 30) == 1,
        f(insn, 29, 29) == 1,
        f(insn, 23, 23) == 1,
    );
    let es = if f(insn, 22, 22) == 1 { 64 } else { 32 };
    if es == 64 && !q {
        return false;
    }
    let op = f(insn, 15, 11);
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 20, 16));
    let (a, b, d) = (get_v(env, rn), get_v(env, rm), get_v(env, rd));
    let n = if q { 128 } else { 64 } / es;
    let mut r = 0u128;
    let pair = u && matches!((op, a_bit), (0b11000, _) | (0b11010, false) | (0b11110, _));
    for i in 0..n {
        let v = if pair {
            let cat = |j: u32| {
                if j < n {
                    lane(a, j, es)
                } else {
                    lane(b, j - n, es)
                }
            };
            pairwise(op, a_bit, cat(2 * i), cat(2 * i + 1), es)
        } else {
            three(
                op,
                u,
                a_bit,
                lane(a, i, es),
                lane(b, i, es),
                lane(d, i, es),
                es,
            )
        };
        let Some(v) = v else { return false };
        put(&mut r, i, es, v);
    }
    set_v(env, rd, r);
    true
}

/// Vector two-register misc FP (the opcodes the integer code does not own).
pub fn vec_misc(env: &mut CpuState, insn: u32) -> bool {
    let (q, u, a_bit) = (
        f(insn, 30, 30) == 1,
        f(insn, 29, 29) == 1,
        f(insn, 23, 23) == 1,
    );
    let sz = f(insn, 22, 22);
    let op = f(insn, 16, 12);
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    let a = get_v(env, rn);
    if !a_bit && (op == 0b10110 || op == 0b10111) {
        // FCVTN{2} (double to single), FCVTL{2} (single to double); FCVTXN is not here.
        if sz == 0 || u {
            return false;
        }
        let mut r = 0u128;
        if op == 0b10110 {
            if q {
                r = get_v(env, rd) & mask(64);
            }
            for i in 0..2 {
                let x = lane(a, i, 64);
                let s = f64::from_bits(x) as f32; // quietens NaNs and keeps the payload's top
                put(
                    &mut r,
                    i + if q { 2 } else { 0 },
                    32,
                    u64::from(s.to_bits()),
                );
            }
        } else {
            let src = if q { a >> 64 } else { a };
            for i in 0..2 {
                let s = f32::from_bits(lane(src, i, 32) as u32);
                put(&mut r, i, 64, f64::from(s).to_bits());
            }
        }
        set_v(env, rd, r);
        return true;
    }
    let es = if sz == 1 { 64 } else { 32 };
    if es == 64 && !q {
        return false;
    }
    let n = if q { 128 } else { 64 } / es;
    let mut r = 0u128;
    for i in 0..n {
        let Some(v) = misc(op, u, a_bit, lane(a, i, es), es) else {
            return false;
        };
        put(&mut r, i, es, v);
    }
    set_v(env, rd, r);
    true
}

/// FMAXNMV, FMINNMV, FMAXV, FMINV (4S only).
pub fn vec_across(env: &mut CpuState, insn: u32) -> bool {
    let (q, u, a_bit) = (
        f(insn, 30, 30) == 1,
        f(insn, 29, 29) == 1,
        f(insn, 23, 23) == 1,
    );
    let op = f(insn, 16, 12);
    if !q || !u || f(insn, 22, 22) == 1 {
        return false;
    }
    let a = get_v(env, f(insn, 9, 5));
    let g = |x: u64, y: u64| match op {
        0b01100 => Some(minmax_nm(x, y, 32, !a_bit)),
        0b01111 => Some(minmax(x, y, 32, !a_bit)),
        _ => None,
    };
    let (Some(l), Some(h)) = (
        g(lane(a, 0, 32), lane(a, 1, 32)),
        g(lane(a, 2, 32), lane(a, 3, 32)),
    ) else {
        return false;
    };
    let Some(r) = g(l, h) else { return false };
    set_v(env, f(insn, 4, 0), u128::from(r));
    true
}

/// FP by element (FMLA, FMLS, FMUL, FMULX), vector (`scalar` false) or scalar.
pub fn by_elem(env: &mut CpuState, insn: u32, scalar: bool) -> bool {
    let (q, u) = (f(insn, 30, 30) == 1, f(insn, 29, 29) == 1);
    let sz = f(insn, 22, 22);
    let (l, h, m) = (f(insn, 21, 21), f(insn, 11, 11), f(insn, 20, 20));
    let op = f(insn, 15, 12);
    if f(insn, 23, 23) == 0 {
        return false; // FP16
    }
    let (es, idx) = if sz == 1 {
        if l == 1 {
            return false;
        }
        (64, h)
    } else {
        (32, (h << 1) | l)
    };
    if es == 64 && !q && !scalar {
        return false;
    }
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 19, 16) | (m << 4));
    let (a, d) = (get_v(env, rn), get_v(env, rd));
    let e = lane(get_v(env, rm), idx, es);
    let n = if scalar {
        1
    } else if q {
        128 / es
    } else {
        64 / es
    };
    let mut r = 0u128;
    for i in 0..n {
        let (x, acc) = (lane(a, i, es), lane(d, i, es));
        let v = match (op, u) {
            (0b0001, false) => fma(acc, x, e, es),
            (0b0101, false) => fma(acc, neg(x, es), e, es),
            (0b1001, false) => arith(MUL, x, e, es),
            (0b1001, true) => arith(MULX, x, e, es),
            _ => return false,
        };
        put(&mut r, i, es, v);
    }
    set_v(env, rd, r);
    true
}

/// SCVTF/UCVTF and FCVTZS/FCVTZU with fraction bits (shift by immediate), vector or scalar.
pub fn fixed(env: &mut CpuState, insn: u32, scalar: bool) -> bool {
    let (q, u) = (f(insn, 30, 30) == 1, f(insn, 29, 29) == 1);
    let immh = f(insn, 22, 19);
    let immhb = f(insn, 22, 16);
    let es = if immh >= 8 {
        64
    } else if immh >= 4 {
        32
    } else {
        return false;
    };
    if es == 64 && !q && !scalar {
        return false;
    }
    let fbits = 2 * es - immhb;
    let op = f(insn, 15, 11);
    let a = get_v(env, f(insn, 9, 5));
    let n = if scalar {
        1
    } else if q {
        128 / es
    } else {
        64 / es
    };
    let mut r = 0u128;
    for i in 0..n {
        let x = lane(a, i, es);
        let v = match op {
            0b11100 => from_int(x, es, !u, fbits),
            0b11111 if is_nan(x, es) => 0,
            0b11111 => {
                let t = (to_f(x, es) * 2f64.powi(fbits as i32)).trunc();
                match (u, es) {
                    (true, 64) => t as u64,
                    (false, 64) => t as i64 as u64,
                    (true, _) => u64::from(t as u32),
                    (false, _) => u64::from(t as i32 as u32),
                }
            }
            _ => return false,
        };
        put(&mut r, i, es, v);
    }
    set_v(env, f(insn, 4, 0), r);
    true
}

/// Scalar AdvSIMD FP: three-same, two-reg misc, pairwise (FADDP & co. on a pair).
pub fn scalar(env: &mut CpuState, insn: u32) -> bool {
    let (u, a_bit) = (f(insn, 29, 29) == 1, f(insn, 23, 23) == 1);
    let es = if f(insn, 22, 22) == 1 { 64 } else { 32 };
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 20, 16));
    let a = get_v(env, rn);
    let x = lane(a, 0, es);
    let op3 = f(insn, 15, 11);
    let op2 = f(insn, 16, 12);
    let scalar_three = matches!(
        (op3, u, a_bit),
        (0b11011, false, false)
            | (0b11100, false, false)
            | (0b11111, false, _)
            | (0b11100, true, _)
            | (0b11101, true, _)
            | (0b11010, true, true)
    );
    let scalar_misc =
        matches!(op2, 0b11010..=0b11101) || matches!((op2, a_bit), (0b01100..=0b01110, true));
    let r = if insn & 0xdf20_0400 == 0x5e20_0400 && op3 >= 0b11000 {
        if !scalar_three {
            return false;
        }
        let y = lane(get_v(env, rm), 0, es);
        let d = lane(get_v(env, rd), 0, es);
        match three(f(insn, 15, 11), u, a_bit, x, y, d, es) {
            Some(v) => v,
            None => return false,
        }
    } else if insn & 0xdf3e_0c00 == 0x5e20_0800 && f(insn, 16, 12) >= 0b01100 {
        if !scalar_misc {
            return false;
        }
        match misc(f(insn, 16, 12), u, a_bit, x, es) {
            Some(v) => v,
            None => return false,
        }
    } else if insn & 0xff3e_0c00 == 0x7e30_0800 {
        let op = match f(insn, 16, 12) {
            0b01100 => 0b11000,
            0b01101 => 0b11010,
            0b01111 => 0b11110,
            _ => return false,
        };
        match pairwise(op, a_bit, lane(a, 0, es), lane(a, 1, es), es) {
            Some(v) => v,
            None => return false,
        }
    } else {
        return false;
    };
    set_v(env, rd, u128::from(r));
    true
}
