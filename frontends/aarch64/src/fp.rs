//! Scalar floating point (single and double) in the AdvSIMD helper: data processing with one,
//! two and three sources, compares (NZCV), conditional select, immediates and conversions to
//! and from integers, all through [`crate::fpcore`] (FPCR rounding, FZ and DN, FPSR flags).

use crate::fpcore::{self, Fpc, Rnd};
use crate::{fpvec, state};
use xlat_ir::abi::CpuState;

fn f(insn: u32, hi: u32, lo: u32) -> u32 {
    (insn >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

/// The raw bits of the single or double in the low bits of `v{r}`.
fn lane_bits(env: &CpuState, r: u32, dbl: bool) -> u64 {
    let w = env.word(state::v(r as u8));
    if dbl { w } else { w & 0xffff_ffff }
}

fn set_bits(env: &mut CpuState, r: u32, b: u64) {
    env.set_word(state::v(r as u8), b);
    env.set_word(state::v(r as u8) + 8, 0);
}

fn cond_holds(env: &CpuState, cond: u32) -> bool {
    crate::lift::cond_of_nzcv(cond, state::nzcv(env) >> 28)
}

/// A general register as (negative, magnitude) for SCVTF (`signed`) or UCVTF.
fn int_operand(env: &CpuState, rn: u32, sf: bool, signed: bool) -> (bool, u64) {
    let x = if rn == 31 {
        0
    } else {
        env.word(state::x(rn as u8))
    };
    match (signed, sf) {
        (true, true) => ((x as i64) < 0, (x as i64).unsigned_abs()),
        (true, false) => ((x as i32) < 0, u64::from((x as i32).unsigned_abs())),
        (false, true) => (false, x),
        (false, false) => (false, x & 0xffff_ffff),
    }
}

/// SCVTF/UCVTF (general to FP) and FCVTZS/FCVTZU (FP to general) with `64 - scale` fraction
/// bits.
fn fixed_point(env: &mut CpuState, c: &mut Fpc, insn: u32, es: u32) -> bool {
    let sf = f(insn, 31, 31) == 1;
    let (rmode, opcode, scale) = (f(insn, 20, 19), f(insn, 18, 16), f(insn, 15, 10));
    if !sf && scale < 32 {
        return false;
    }
    let fbits = 64 - scale;
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    match (rmode, opcode) {
        (0, 2) | (0, 3) => {
            let (neg, mag) = int_operand(env, rn, sf, opcode == 2);
            let r = c.rnd();
            let b = fpcore::from_fixed(c, neg, mag, fbits, es, r);
            set_bits(env, rd, b);
            true
        }
        (3, 0) | (3, 1) => {
            let x = lane_bits(env, rn, es == 64);
            let bits = if sf { 64 } else { 32 };
            let v = fpcore::to_fixed(c, x, es, fbits, bits, opcode == 0, Rnd::Zero);
            if rd != 31 {
                env.set_word(state::x(rd as u8), v);
            }
            true
        }
        _ => false,
    }
}

/// NZCV of an FP comparison (unordered: C and V).
fn cmp_nzcv(o: Option<std::cmp::Ordering>) -> u32 {
    match o {
        None => 0b0011,
        Some(std::cmp::Ordering::Equal) => 0b0110,
        Some(std::cmp::Ordering::Less) => 0b1000,
        Some(std::cmp::Ordering::Greater) => 0b0010,
    }
}

/// FCVT to or from half precision (base ISA, unlike FP16 arithmetic, which stays undefined).
fn fcvt_half(env: &mut CpuState, c: &mut Fpc, insn: u32) -> bool {
    let width = |t: u32| match t {
        0 => Some(32),
        1 => Some(64),
        3 => Some(16),
        _ => None,
    };
    let (Some(from), Some(to)) = (width(f(insn, 23, 22)), width(f(insn, 16, 15))) else {
        return false;
    };
    if from == to {
        return false;
    }
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    let x = env.word(state::v(rn as u8)) & (u64::MAX >> (64 - from));
    let r = c.rnd();
    set_bits(env, rd, fpcore::convert(c, x, from, to, r));
    true
}

/// Executes the scalar FP instruction `insn`; false when not implemented.
pub fn exec(env: &mut CpuState, insn: u32) -> bool {
    let mut c = fpvec::ctx(env);
    let ok = exec_in(env, &mut c, insn);
    if ok {
        fpvec::commit(env, &c);
    }
    ok
}

fn exec_in(env: &mut CpuState, c: &mut Fpc, insn: u32) -> bool {
    let ty = f(insn, 23, 22);
    if insn & 0xff3e_7c00 == 0x1e22_4000 && (ty == 3 || f(insn, 16, 15) == 3) {
        return fcvt_half(env, c, insn);
    }
    if ty > 1 || f(insn, 31, 31) == 1 && f(insn, 24, 24) == 1 {
        return false;
    }
    let dbl = ty == 1;
    let es = if dbl { 64 } else { 32 };
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 20, 16));
    if f(insn, 24, 24) == 1 {
        // FMADD, FMSUB, FNMADD, FNMSUB.
        let (o1, o0, ra) = (f(insn, 21, 21), f(insn, 15, 15), f(insn, 14, 10));
        let raw = |r: u32| lane_bits(env, r, dbl);
        let (a, n, m) = (raw(ra), raw(rn), raw(rm));
        let n = if o0 == 1 { fpvec::neg(n, es) } else { n };
        let (a, n) = if o1 == 1 {
            (fpvec::neg(a, es), fpvec::neg(n, es))
        } else {
            (a, n)
        };
        set_bits(env, rd, fpcore::fma(c, a, n, m, es));
        return true;
    }
    if f(insn, 21, 21) == 0 && f(insn, 30, 29) == 0 {
        return fixed_point(env, c, insn, es);
    }
    if f(insn, 21, 21) == 0 || f(insn, 30, 29) != 0 {
        return false;
    }
    let sf = f(insn, 31, 31) == 1;
    match f(insn, 15, 10) {
        0b000000 => {
            // Conversions between FP and integer (FMOV general is handled by the SIMD code).
            let (rmode, opcode) = (f(insn, 20, 19), f(insn, 18, 16));
            match (rmode, opcode) {
                (0, 2) | (0, 3) => {
                    let (neg, mag) = int_operand(env, rn, sf, opcode == 2);
                    let r = c.rnd();
                    let b = fpcore::from_fixed(c, neg, mag, 0, es, r);
                    set_bits(env, rd, b);
                }
                (_, 0) | (_, 1) | (0, 4) | (0, 5) => {
                    let rnd = match (rmode, opcode) {
                        (0, 4) | (0, 5) => Rnd::Away,
                        (m, _) => Rnd::from_rmode(u64::from(m)),
                    };
                    let signed = opcode & 1 == 0;
                    let bits = if sf { 64 } else { 32 };
                    let x = lane_bits(env, rn, dbl);
                    let v = fpcore::to_fixed(c, x, es, 0, bits, signed, rnd);
                    if rd != 31 {
                        env.set_word(state::x(rd as u8), v);
                    }
                }
                _ => return false,
            }
            true
        }
        0b010000 | 0b110000 if f(insn, 20, 19) == 0 || f(insn, 20, 17) == 0b0001 => {
            let opcode = f(insn, 20, 15);
            let x = lane_bits(env, rn, dbl);
            let r = match opcode {
                0 => x,
                1 => fpcore::abs(x, es),
                2 => fpvec::neg(x, es),
                3 => fpcore::sqrt(c, x, es),
                4 | 5 => {
                    let to_dbl = opcode == 5;
                    if to_dbl == dbl {
                        return false;
                    }
                    let r = c.rnd();
                    fpcore::convert(c, x, es, if to_dbl { 64 } else { 32 }, r)
                }
                8..=15 if opcode != 13 => {
                    let rnd = match opcode {
                        8 => Rnd::Even,
                        9 => Rnd::Up,
                        10 => Rnd::Down,
                        11 => Rnd::Zero,
                        12 => Rnd::Away,
                        _ => c.rnd(),
                    };
                    fpcore::round_int(c, x, es, rnd, opcode == 14)
                }
                _ => return false,
            };
            set_bits(env, rd, r);
            true
        }
        x if x & 0b1111 == 0b1000 && x >> 4 == 0 => {
            // FCMP/FCMPE (with zero when opc bit 3).
            if f(insn, 14, 14) != 0 || f(insn, 2, 0) != 0 {
                return false;
            }
            let a = lane_bits(env, rn, dbl);
            let b = if f(insn, 3, 3) == 1 {
                0
            } else {
                lane_bits(env, rm, dbl)
            };
            let o = fpcore::compare(c, a, b, es, f(insn, 4, 4) == 1);
            state::set_fcmp_nzcv(env, cmp_nzcv(o));
            true
        }
        x if x & 0b111 == 0b100 && f(insn, 9, 5) == 0 => {
            // FMOV (scalar, immediate).
            let imm8 = f(insn, 20, 13);
            let sign = (imm8 >> 7) & 1;
            let b6 = (imm8 >> 6) & 1;
            let frac = u64::from(imm8 & 0x3f);
            let b = if dbl {
                let exp = (u64::from(b6 ^ 1) << 10)
                    | if b6 == 1 { 0xff << 2 } else { 0 }
                    | ((frac >> 4) & 3);
                (u64::from(sign) << 63) | (exp << 52) | ((frac & 0xf) << 48)
            } else {
                let exp = (u64::from(b6 ^ 1) << 7)
                    | if b6 == 1 { 0x1f << 2 } else { 0 }
                    | ((frac >> 4) & 3);
                (u64::from(sign) << 31) | (exp << 23) | ((frac & 0xf) << 19)
            };
            set_bits(env, rd, b);
            true
        }
        x if x & 0b11 == 0b11 => {
            // FCSEL.
            let cond = f(insn, 15, 12);
            let src = if cond_holds(env, cond) { rn } else { rm };
            let w = env.word(state::v(src as u8));
            set_bits(env, rd, if dbl { w } else { w & 0xffff_ffff });
            true
        }
        x if x & 0b11 == 0b01 => {
            // FCCMP/FCCMPE (signalling when bit 4).
            let cond = f(insn, 15, 12);
            if cond_holds(env, cond) {
                let (a, b) = (lane_bits(env, rn, dbl), lane_bits(env, rm, dbl));
                let o = fpcore::compare(c, a, b, es, f(insn, 4, 4) == 1);
                state::set_fcmp_nzcv(env, cmp_nzcv(o));
            } else {
                state::set_nzcv(env, u64::from(f(insn, 3, 0)) << 28);
            }
            true
        }
        x if x & 0b11 == 0b10 => {
            let (a, b) = (lane_bits(env, rn, dbl), lane_bits(env, rm, dbl));
            let r = match f(insn, 15, 12) {
                0 => fpcore::mul(c, a, b, es, false),
                1 => fpcore::div(c, a, b, es),
                2 => fpcore::add(c, a, b, es, false),
                3 => fpcore::add(c, a, b, es, true),
                4 => fpcore::minmax(c, a, b, es, true, false),
                5 => fpcore::minmax(c, a, b, es, false, false),
                6 => fpcore::minmax(c, a, b, es, true, true),
                7 => fpcore::minmax(c, a, b, es, false, true),
                8 => fpvec::neg(fpcore::mul(c, a, b, es, false), es),
                _ => return false,
            };
            set_bits(env, rd, r);
            true
        }
        _ => false,
    }
}

/// Slow-path operation codes of [`FP_SLOW`] (bits 7:0 of its first argument; bits 15:8 hold
/// the element size, 32 or 64, and bits 31:16 an operation detail).
pub(crate) mod slow {
    /// a + b
    pub const ADD: u64 = 0;
    /// a - b
    pub const SUB: u64 = 1;
    /// a * b
    pub const MUL: u64 = 2;
    /// a / b
    pub const DIV: u64 = 3;
    /// -(a * b)
    pub const NMUL: u64 = 4;
    /// sqrt(a)
    pub const SQRT: u64 = 5;
    /// c + a * b (operands already negated as the instruction asks)
    pub const FMA: u64 = 6;
    /// signed integer a (detail: its width, 32 or 64) to float
    pub const FROM_S: u64 = 7;
    /// unsigned integer a to float
    pub const FROM_U: u64 = 8;
    /// float a to the other width (the element size is the destination's)
    pub const CVT: u64 = 9;
    /// float a to a signed integer (detail: width | rounding mode << 7, the mode as FPCR.RMode
    /// numbers, 4 = ties away)
    pub const TO_S: u64 = 10;
    /// float a to an unsigned integer
    pub const TO_U: u64 = 11;
}

/// The precise path of the inline FP operations: computes `op` (see [`slow`]) on bit patterns
/// with [`crate::fpcore`] under FPCR, accrues FPSR, returns the result's bits.
extern "C" fn helper_fp_slow(env: &mut CpuState, op: u64, a: u64, b: u64, c3: u64) -> u64 {
    let es = ((op >> 8) & 0xff) as u32;
    let detail = ((op >> 16) & 0xffff) as u32;
    let m = if es == 64 { u64::MAX } else { 0xffff_ffff };
    let mut c = fpvec::ctx(env);
    let rnd = c.rnd();
    let r = match op & 0xff {
        slow::ADD => fpcore::add(&mut c, a & m, b & m, es, false),
        slow::SUB => fpcore::add(&mut c, a & m, b & m, es, true),
        slow::MUL => fpcore::mul(&mut c, a & m, b & m, es, false),
        slow::DIV => fpcore::div(&mut c, a & m, b & m, es),
        slow::NMUL => fpvec::neg(fpcore::mul(&mut c, a & m, b & m, es, false), es),
        slow::SQRT => fpcore::sqrt(&mut c, a & m, es),
        slow::FMA => fpcore::fma(&mut c, c3 & m, a & m, b & m, es),
        slow::FROM_S | slow::FROM_U => {
            let (neg, mag) = match (op & 0xff == slow::FROM_S, detail) {
                (true, 32) => ((a as i32) < 0, u64::from((a as i32).unsigned_abs())),
                (true, _) => ((a as i64) < 0, (a as i64).unsigned_abs()),
                (false, 32) => (false, a & 0xffff_ffff),
                (false, _) => (false, a),
            };
            fpcore::from_fixed(&mut c, neg, mag, 0, es, rnd)
        }
        slow::CVT => {
            let from = if es == 64 { 32 } else { 64 };
            let fm = if from == 64 { u64::MAX } else { 0xffff_ffff };
            fpcore::convert(&mut c, a & fm, from, es, rnd)
        }
        _ => {
            let bits = detail & 0x7f;
            let mode = match detail >> 7 {
                4 => Rnd::Away,
                r => Rnd::from_rmode(u64::from(r)),
            };
            let signed = op & 0xff == slow::TO_S;
            fpcore::to_fixed(&mut c, a & m, es, 0, bits, signed, mode)
        }
    };
    fpvec::commit(env, &c);
    r
}

/// FPCR and FPSR: the only state [`FP_SLOW`] touches.
static FP_STATE_WORDS: [u32; 2] = [state::FPCR, state::FPSR];

/// The slow path of the inline FP operations ([`helper_fp_slow`]).
pub(crate) static FP_SLOW: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_fp_slow",
    func: helper_fp_slow,
    nargs: 4,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: Some(&FP_STATE_WORDS),
};
