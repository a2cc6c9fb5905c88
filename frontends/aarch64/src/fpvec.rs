//! AdvSIMD floating point on single and double lanes (vector and scalar forms): three-same
//! arithmetic, compares and pairwise ops, two-register misc (abs, neg, sqrt, rounding,
//! conversions, compares with zero, fcvtl/fcvtn), across-lanes min/max, by-element multiplies
//! and the fixed-point conversions of the shift-by-immediate group. Each lane goes through
//! [`crate::fpcore`] (FPCR rounding, FZ and DN; NaNs by Arm's rules) and the lanes' exception
//! flags are ORed into FPSR once the instruction has run.

use crate::fpcore::{self, Fpc, Rnd};
use crate::simd::{f, get_v, lane, mask, put, set_v};
use crate::state;
use std::cmp::Ordering;
use xlat_ir::abi::CpuState;

/// The FP context of the instruction about to run (FPCR).
pub(crate) fn ctx(env: &CpuState) -> Fpc {
    Fpc::new(env.word(state::FPCR))
}

/// ORs the instruction's exception flags into FPSR.
pub(crate) fn commit(env: &mut CpuState, c: &Fpc) {
    if c.flags != 0 {
        env.set_word(state::FPSR, env.word(state::FPSR) | u64::from(c.flags));
    }
}

fn ones(c: bool, es: u32) -> u64 {
    if c { mask(es) as u64 } else { 0 }
}

pub(crate) fn neg(x: u64, es: u32) -> u64 {
    x ^ (1 << (es - 1))
}

fn cmp_is(c: &mut Fpc, x: u64, y: u64, es: u32, signal: bool, want: &[Ordering]) -> bool {
    fpcore::compare(c, x, y, es, signal).is_some_and(|o| want.contains(&o))
}

const GE: &[Ordering] = &[Ordering::Greater, Ordering::Equal];
const GT: &[Ordering] = &[Ordering::Greater];
const EQ: &[Ordering] = &[Ordering::Equal];
const LT: &[Ordering] = &[Ordering::Less];
const LE: &[Ordering] = &[Ordering::Less, Ordering::Equal];

/// A three-same FP operation on one pair of lanes (`d` is the destination lane, for FMLA).
#[allow(
    clippy::too_many_arguments,
    reason = "the decoded fields of one encoding"
)]
fn three(
    c: &mut Fpc,
    op: u32,
    u: bool,
    a_bit: bool,
    x: u64,
    y: u64,
    d: u64,
    es: u32,
) -> Option<u64> {
    Some(match (op, u, a_bit) {
        (0b11000, false, false) => fpcore::minmax(c, x, y, es, true, true),
        (0b11000, false, true) => fpcore::minmax(c, x, y, es, false, true),
        (0b11001, false, false) => fpcore::fma(c, d, x, y, es),
        (0b11001, false, true) => fpcore::fma(c, d, neg(x, es), y, es),
        (0b11010, false, false) => fpcore::add(c, x, y, es, false),
        (0b11010, false, true) => fpcore::add(c, x, y, es, true),
        (0b11011, false, false) => fpcore::mul(c, x, y, es, true),
        (0b11100, false, false) => ones(cmp_is(c, x, y, es, false, EQ), es),
        (0b11110, false, false) => fpcore::minmax(c, x, y, es, true, false),
        (0b11110, false, true) => fpcore::minmax(c, x, y, es, false, false),
        (0b11111, false, false) => fpcore::step(c, x, y, es, false),
        (0b11111, false, true) => fpcore::step(c, x, y, es, true),
        (0b11011, true, false) => fpcore::mul(c, x, y, es, false),
        (0b11100, true, false) => ones(cmp_is(c, x, y, es, true, GE), es),
        (0b11101, true, false) => {
            let (ax, ay) = (fpcore::abs(x, es), fpcore::abs(y, es));
            ones(cmp_is(c, ax, ay, es, true, GE), es)
        }
        (0b11111, true, false) => fpcore::div(c, x, y, es),
        (0b11010, true, true) => fpcore::abs(fpcore::add(c, x, y, es, true), es),
        (0b11100, true, true) => ones(cmp_is(c, x, y, es, true, GT), es),
        (0b11101, true, true) => {
            let (ax, ay) = (fpcore::abs(x, es), fpcore::abs(y, es));
            ones(cmp_is(c, ax, ay, es, true, GT), es)
        }
        _ => return None,
    })
}

/// The pairwise form of a three-same op (FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP).
fn pairwise(c: &mut Fpc, op: u32, a_bit: bool, x: u64, y: u64, es: u32) -> Option<u64> {
    Some(match (op, a_bit) {
        (0b11000, false) => fpcore::minmax(c, x, y, es, true, true),
        (0b11000, true) => fpcore::minmax(c, x, y, es, false, true),
        (0b11010, false) => fpcore::add(c, x, y, es, false),
        (0b11110, false) => fpcore::minmax(c, x, y, es, true, false),
        (0b11110, true) => fpcore::minmax(c, x, y, es, false, false),
        _ => return None,
    })
}

/// An es-bit integer lane (signed or not) to FP, with `fbits` fraction bits, FPCR rounding.
fn from_int(c: &mut Fpc, x: u64, es: u32, signed: bool, fbits: u32) -> u64 {
    let (neg, mag) = if signed {
        let v = crate::simd::sext(x, es);
        (v < 0, v.unsigned_abs())
    } else {
        (false, x)
    };
    let r = c.rnd();
    fpcore::from_fixed(c, neg, mag, fbits, es, r)
}

/// A two-register-misc FP op on one lane; `a_bit` is bit 23, `op` bits 16-12.
fn misc(c: &mut Fpc, op: u32, u: bool, a_bit: bool, x: u64, es: u32) -> Option<u64> {
    let fpcr_rnd = c.rnd();
    let zero = 0u64;
    Some(match (op, u, a_bit) {
        (0b11000, false, false) => fpcore::round_int(c, x, es, Rnd::Even, false),
        (0b11001, false, false) => fpcore::round_int(c, x, es, Rnd::Down, false),
        (0b11000, true, false) => fpcore::round_int(c, x, es, Rnd::Away, false),
        (0b11001, true, false) => fpcore::round_int(c, x, es, fpcr_rnd, true),
        (0b11001, true, true) => fpcore::round_int(c, x, es, fpcr_rnd, false),
        (0b11000, false, true) => fpcore::round_int(c, x, es, Rnd::Up, false),
        (0b11001, false, true) => fpcore::round_int(c, x, es, Rnd::Zero, false),
        (0b11010, _, false) => fpcore::to_fixed(c, x, es, 0, es, !u, Rnd::Even),
        (0b11011, _, false) => fpcore::to_fixed(c, x, es, 0, es, !u, Rnd::Down),
        (0b11100, _, false) => fpcore::to_fixed(c, x, es, 0, es, !u, Rnd::Away),
        (0b11010, _, true) => fpcore::to_fixed(c, x, es, 0, es, !u, Rnd::Up),
        (0b11011, _, true) => fpcore::to_fixed(c, x, es, 0, es, !u, Rnd::Zero),
        (0b11101, _, false) => from_int(c, x, es, !u, 0),
        (0b01100, false, true) => ones(cmp_is(c, x, zero, es, true, GT), es),
        (0b01101, false, true) => ones(cmp_is(c, x, zero, es, false, EQ), es),
        (0b01110, false, true) => ones(cmp_is(c, x, zero, es, true, LT), es),
        (0b01100, true, true) => ones(cmp_is(c, x, zero, es, true, GE), es),
        (0b01101, true, true) => ones(cmp_is(c, x, zero, es, true, LE), es),
        (0b01111, false, true) => fpcore::abs(x, es),
        (0b01111, true, true) => neg(x, es),
        (0b11111, true, true) => fpcore::sqrt(c, x, es),
        (0b11101, false, true) => fpcore::recpe(c, x, es),
        (0b11101, true, true) => fpcore::rsqrte(c, x, es),
        (0b11100, false, true) if es == 32 => fpcore::urecpe(x),
        (0b11100, true, true) if es == 32 => fpcore::ursqrte(x),
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
    let mut c = ctx(env);
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
            pairwise(&mut c, op, a_bit, cat(2 * i), cat(2 * i + 1), es)
        } else {
            three(
                &mut c,
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
    commit(env, &c);
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
    let mut c = ctx(env);
    if !a_bit && (op == 0b10110 || op == 0b10111) {
        // FCVTN{2} (double to single, single to half), FCVTXN{2} (double to single, round to
        // odd), FCVTL{2} (single to double, half to single).
        if u && (sz == 0 || op == 0b10111) {
            return false;
        }
        let (wide, narrow) = if sz == 1 { (64, 32) } else { (32, 16) };
        let lanes = 128 / wide;
        let mut r = 0u128;
        if op == 0b10110 {
            if q {
                r = get_v(env, rd) & mask(64);
            }
            let rnd = if u { Rnd::Odd } else { c.rnd() };
            for i in 0..lanes {
                let s = fpcore::convert(&mut c, lane(a, i, wide), wide, narrow, rnd);
                put(&mut r, i + if q { lanes } else { 0 }, narrow, s);
            }
        } else {
            let src = if q { a >> 64 } else { a };
            for i in 0..lanes {
                let d = fpcore::convert(&mut c, lane(src, i, narrow), narrow, wide, Rnd::Even);
                put(&mut r, i, wide, d);
            }
        }
        set_v(env, rd, r);
        commit(env, &c);
        return true;
    }
    let es = if sz == 1 { 64 } else { 32 };
    if es == 64 && !q {
        return false;
    }
    let n = if q { 128 } else { 64 } / es;
    let mut r = 0u128;
    for i in 0..n {
        let Some(v) = misc(&mut c, op, u, a_bit, lane(a, i, es), es) else {
            return false;
        };
        put(&mut r, i, es, v);
    }
    set_v(env, rd, r);
    commit(env, &c);
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
    let mut c = ctx(env);
    let mut g = |x: u64, y: u64| match op {
        0b01100 => Some(fpcore::minmax(&mut c, x, y, 32, !a_bit, true)),
        0b01111 => Some(fpcore::minmax(&mut c, x, y, 32, !a_bit, false)),
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
    commit(env, &c);
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
    let mut c = ctx(env);
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
            (0b0001, false) => fpcore::fma(&mut c, acc, x, e, es),
            (0b0101, false) => fpcore::fma(&mut c, acc, neg(x, es), e, es),
            (0b1001, false) => fpcore::mul(&mut c, x, e, es, false),
            (0b1001, true) => fpcore::mul(&mut c, x, e, es, true),
            _ => return false,
        };
        put(&mut r, i, es, v);
    }
    set_v(env, rd, r);
    commit(env, &c);
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
    let mut c = ctx(env);
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
            0b11100 => from_int(&mut c, x, es, !u, fbits),
            0b11111 => fpcore::to_fixed(&mut c, x, es, fbits, es, !u, Rnd::Zero),
            _ => return false,
        };
        put(&mut r, i, es, v);
    }
    set_v(env, f(insn, 4, 0), r);
    commit(env, &c);
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
    let scalar_misc = matches!(
        (op2, a_bit),
        (0b11010..=0b11011 | 0b11101, _) | (0b11100, false)
    ) || matches!((op2, a_bit), (0b01100..=0b01110, true));
    let frecpx = insn & 0xffbf_fc00 == 0x5ea1_f800;
    let mut c = ctx(env);
    let fcvtxn = insn & 0xffff_fc00 == 0x7e61_6800;
    let r = if fcvtxn {
        fpcore::convert(&mut c, lane(a, 0, 64), 64, 32, Rnd::Odd)
    } else if frecpx {
        fpcore::recpx(&mut c, x, es)
    } else if insn & 0xdf20_0400 == 0x5e20_0400 && op3 >= 0b11000 {
        if !scalar_three {
            return false;
        }
        let y = lane(get_v(env, rm), 0, es);
        let d = lane(get_v(env, rd), 0, es);
        match three(&mut c, f(insn, 15, 11), u, a_bit, x, y, d, es) {
            Some(v) => v,
            None => return false,
        }
    } else if insn & 0xdf3e_0c00 == 0x5e20_0800 && f(insn, 16, 12) >= 0b01100 {
        if !scalar_misc {
            return false;
        }
        match misc(&mut c, f(insn, 16, 12), u, a_bit, x, es) {
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
        match pairwise(&mut c, op, a_bit, lane(a, 0, es), lane(a, 1, es), es) {
            Some(v) => v,
            None => return false,
        }
    } else {
        return false;
    };
    set_v(env, rd, u128::from(r));
    commit(env, &c);
    true
}
