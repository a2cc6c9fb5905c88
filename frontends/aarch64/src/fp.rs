//! Scalar floating point (single and double) in the AdvSIMD helper: data processing with one,
//! two and three sources, compares (NZCV), conditional select, immediates and conversions to
//! and from integers. Arithmetic is the host's IEEE round-to-nearest-even; FPCR rounding modes
//! other than RN and FPSR cumulative flags are not modelled yet.

use crate::{fpvec, state};
use xlat_ir::abi::CpuState;

fn f(insn: u32, hi: u32, lo: u32) -> u32 {
    (insn >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

/// A scalar value of type 0 (single) or 1 (double), as f64, from the low bits of `v{r}`.
fn get(env: &CpuState, r: u32, dbl: bool) -> f64 {
    let w = env.word(state::v(r as u8));
    if dbl {
        f64::from_bits(w)
    } else {
        f64::from(f32::from_bits(w as u32))
    }
}

fn bits(x: f64, dbl: bool) -> u64 {
    if dbl {
        x.to_bits()
    } else {
        u64::from((x as f32).to_bits())
    }
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
    let n = env.word(state::NF) == 1;
    let z = env.word(state::ZF) == 1;
    let c = env.word(state::CF) == 1;
    let v = env.word(state::VF) == 1;
    let r = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => true,
    };
    if cond & 1 == 1 && cond != 15 { !r } else { r }
}

fn set_nzcv(env: &mut CpuState, nzcv: u32) {
    for (bit, off) in [
        (3, state::NF),
        (2, state::ZF),
        (1, state::CF),
        (0, state::VF),
    ] {
        env.set_word(off, u64::from((nzcv >> bit) & 1));
    }
}

fn round(x: f64, mode: u32) -> f64 {
    match mode {
        0 | 6 | 7 => x.round_ties_even(),
        1 => x.ceil(),
        2 => x.floor(),
        3 => x.trunc(),
        _ => x.round(),
    }
}

/// Float to integer with saturation (NaN gives 0), after rounding by `mode`.
fn to_int(x: f64, mode: u32, signed: bool, sf: bool) -> u64 {
    let r = round(x, mode);
    let v = match (signed, sf) {
        (true, true) => (r as i64) as u64,
        (true, false) => u64::from((r as i32) as u32),
        (false, true) => r as u64,
        (false, false) => u64::from(r as u32),
    };
    if x.is_nan() { 0 } else { v }
}

/// SCVTF/UCVTF (general to FP) and FCVTZS/FCVTZU (FP to general) with `64 - scale` fraction
/// bits.
fn fixed_point(env: &mut CpuState, insn: u32, dbl: bool) -> bool {
    let sf = f(insn, 31, 31) == 1;
    let (rmode, opcode, scale) = (f(insn, 20, 19), f(insn, 18, 16), f(insn, 15, 10));
    if !sf && scale < 32 {
        return false;
    }
    let fbits = 64 - scale as i32;
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    match (rmode, opcode) {
        (0, 2) | (0, 3) => {
            let x = if rn == 31 {
                0
            } else {
                env.word(state::x(rn as u8))
            };
            let x = if sf { x } else { x & 0xffff_ffff };
            let signed = opcode == 2;
            // The integer divided by 2^fbits, rounded once: exact in f64 for 32-bit sources;
            // 64-bit ones are split so that the one rounding is to the result type.
            let v = match (signed, sf) {
                (true, true) => i128::from(x as i64),
                (true, false) => i128::from(x as u32 as i32),
                (false, _) => i128::from(x),
            };
            let b = if dbl {
                (v as f64 * 2f64.powi(-fbits)).to_bits()
            } else {
                u64::from((v as f32 * 2f32.powi(-fbits)).to_bits())
            };
            set_bits(env, rd, b);
            true
        }
        (3, 0) | (3, 1) => {
            let a = get(env, rn, dbl);
            let v = if a.is_nan() {
                0
            } else {
                let t = (a * 2f64.powi(fbits)).trunc();
                match (opcode == 0, sf) {
                    (true, true) => t as i64 as u64,
                    (true, false) => u64::from(t as i32 as u32),
                    (false, true) => t as u64,
                    (false, false) => u64::from(t as u32),
                }
            };
            if rd != 31 {
                env.set_word(state::x(rd as u8), v);
            }
            true
        }
        _ => false,
    }
}

/// Executes the scalar FP instruction `insn`; false when not implemented.
pub fn exec(env: &mut CpuState, insn: u32) -> bool {
    let ty = f(insn, 23, 22);
    if ty > 1 || f(insn, 31, 31) == 1 && f(insn, 24, 24) == 1 {
        return false;
    }
    let dbl = ty == 1;
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 20, 16));
    if f(insn, 24, 24) == 1 {
        // FMADD, FMSUB, FNMADD, FNMSUB.
        let (o1, o0, ra) = (f(insn, 21, 21), f(insn, 15, 15), f(insn, 14, 10));
        let es = if dbl { 64 } else { 32 };
        let raw = |r: u32| lane_bits(env, r, dbl);
        let (a, n, m) = (raw(ra), raw(rn), raw(rm));
        let n = if o0 == 1 { fpvec::neg(n, es) } else { n };
        let (a, n) = if o1 == 1 {
            (fpvec::neg(a, es), fpvec::neg(n, es))
        } else {
            (a, n)
        };
        set_bits(env, rd, fpvec::fma(a, n, m, es));
        return true;
    }
    if f(insn, 21, 21) == 0 && f(insn, 30, 29) == 0 {
        return fixed_point(env, insn, dbl);
    }
    if f(insn, 21, 21) == 0 || f(insn, 30, 29) != 0 {
        return false;
    }
    let sf = f(insn, 31, 31) == 1;
    match f(insn, 15, 10) {
        0b000000 => {
            // Conversions between FP and integer (FMOV general is handled by the SIMD code).
            let (rmode, opcode) = (f(insn, 20, 19), f(insn, 18, 16));
            let x = env.word(state::x(rn as u8));
            let x = if rn == 31 { 0 } else { x };
            match (rmode, opcode) {
                (0, 2) | (0, 3) => {
                    let v = match (opcode == 2, sf) {
                        (true, true) => x as i64 as f64,
                        (true, false) => f64::from(x as u32 as i32),
                        (false, true) => x as f64,
                        (false, false) => f64::from(x as u32),
                    };
                    let b = if dbl {
                        v.to_bits()
                    } else {
                        // Round once from the integer, not through a double.
                        let s = match (opcode == 2, sf) {
                            (true, true) => x as i64 as f32,
                            (true, false) => x as u32 as i32 as f32,
                            (false, true) => x as f32,
                            (false, false) => x as u32 as f32,
                        };
                        u64::from(s.to_bits())
                    };
                    set_bits(env, rd, b);
                }
                (_, 0) | (_, 1) | (0, 4) | (0, 5) => {
                    let mode = match (rmode, opcode) {
                        (0, 4) | (0, 5) => 4,
                        (m, _) => [0, 1, 2, 3][m as usize],
                    };
                    let signed = opcode & 1 == 0;
                    let v = to_int(get(env, rn, dbl), mode, signed, sf);
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
            let a = get(env, rn, dbl);
            match opcode {
                0 => {
                    let w = env.word(state::v(rn as u8));
                    set_bits(env, rd, if dbl { w } else { w & 0xffff_ffff });
                    true
                }
                1 => {
                    let es = if dbl { 64 } else { 32 };
                    set_bits(env, rd, lane_bits(env, rn, dbl) & !(1 << (es - 1)));
                    true
                }
                2 => {
                    let es = if dbl { 64 } else { 32 };
                    set_bits(env, rd, fpvec::neg(lane_bits(env, rn, dbl), es));
                    true
                }
                3 => {
                    let es = if dbl { 64 } else { 32 };
                    let x = lane_bits(env, rn, dbl);
                    let r = fpvec::nan_of(&[x], es).unwrap_or_else(|| fpvec::from_f(a.sqrt(), es));
                    set_bits(env, rd, r);
                    true
                }
                4 | 5 => {
                    let to_dbl = opcode == 5;
                    if to_dbl == dbl {
                        return false;
                    }
                    set_bits(env, rd, bits(a, to_dbl));
                    true
                }
                8..=15 if opcode != 13 => {
                    let es = if dbl { 64 } else { 32 };
                    let x = lane_bits(env, rn, dbl);
                    let r = fpvec::nan_of(&[x], es)
                        .unwrap_or_else(|| fpvec::from_f(round(a, opcode - 8), es));
                    set_bits(env, rd, r);
                    true
                }
                _ => false,
            }
        }
        x if x & 0b1111 == 0b1000 && x >> 4 == 0 => {
            // FCMP/FCMPE (with zero when opc bit 3).
            if f(insn, 14, 14) != 0 || f(insn, 2, 0) != 0 {
                return false;
            }
            let a = get(env, rn, dbl);
            let b = if f(insn, 3, 3) == 1 {
                0.0
            } else {
                get(env, rm, dbl)
            };
            let nzcv = if a.is_nan() || b.is_nan() {
                0b0011
            } else if a == b {
                0b0110
            } else if a < b {
                0b1000
            } else {
                0b0010
            };
            set_nzcv(env, nzcv);
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
            // FCCMP/FCCMPE.
            let cond = f(insn, 15, 12);
            if f(insn, 4, 4) != 0 {
                return false;
            }
            if cond_holds(env, cond) {
                let (a, b) = (get(env, rn, dbl), get(env, rm, dbl));
                let nzcv = if a.is_nan() || b.is_nan() {
                    0b0011
                } else if a == b {
                    0b0110
                } else if a < b {
                    0b1000
                } else {
                    0b0010
                };
                set_nzcv(env, nzcv);
            } else {
                set_nzcv(env, f(insn, 3, 0));
            }
            true
        }
        x if x & 0b11 == 0b10 => {
            let es = if dbl { 64 } else { 32 };
            let (a, b) = (lane_bits(env, rn, dbl), lane_bits(env, rm, dbl));
            let r = match f(insn, 15, 12) {
                0 => fpvec::arith(fpvec::MUL, a, b, es),
                1 => fpvec::arith(fpvec::DIV, a, b, es),
                2 => fpvec::arith(fpvec::ADD, a, b, es),
                3 => fpvec::arith(fpvec::SUB, a, b, es),
                4 => fpvec::minmax(a, b, es, true),
                5 => fpvec::minmax(a, b, es, false),
                6 => fpvec::minmax_nm(a, b, es, true),
                7 => fpvec::minmax_nm(a, b, es, false),
                8 => fpvec::neg(fpvec::arith(fpvec::MUL, a, b, es), es),
                _ => return false,
            };
            set_bits(env, rd, r);
            true
        }
        _ => false,
    }
}

/// FMUL, FDIV, FADD, FSUB, FNMUL (scalar) without the decoder: `regs` is rd | rn << 8 |
/// rm << 16, `op` the opcode (bits 15:12), `dbl` 1 for doubles. Results that are NaN take the
/// exact path (Arm's NaN rules).
extern "C" fn helper_fp2(env: &mut CpuState, regs: u64, op: u64, dbl: u64, _: u64) -> u64 {
    let (rd, rn, rm) = (
        regs as u8 & 31,
        (regs >> 8) as u8 & 31,
        (regs >> 16) as u8 & 31,
    );
    let (a, b) = (env.word(state::v(rn)), env.word(state::v(rm)));
    let fast = if dbl != 0 {
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        let r = match op {
            0 => x * y,
            1 => x / y,
            2 => x + y,
            3 => x - y,
            _ => -(x * y),
        };
        (!r.is_nan()).then(|| r.to_bits())
    } else {
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        let r = match op {
            0 => x * y,
            1 => x / y,
            2 => x + y,
            3 => x - y,
            _ => -(x * y),
        };
        (!r.is_nan()).then(|| u64::from(r.to_bits()))
    };
    let r = fast.unwrap_or_else(|| {
        let es = if dbl != 0 { 64 } else { 32 };
        let m = if es == 64 { u64::MAX } else { 0xffff_ffff };
        let (a, b) = (a & m, b & m);
        match op {
            0 => fpvec::arith(fpvec::MUL, a, b, es),
            1 => fpvec::arith(fpvec::DIV, a, b, es),
            2 => fpvec::arith(fpvec::ADD, a, b, es),
            3 => fpvec::arith(fpvec::SUB, a, b, es),
            _ => fpvec::neg(fpvec::arith(fpvec::MUL, a, b, es), es),
        }
    });
    set_bits(env, u32::from(rd), r);
    0
}

/// The scalar FP arithmetic helper ([`helper_fp2`]); touches only V registers.
pub static FP2: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_fp2",
    func: helper_fp2,
    nargs: 3,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: Some(&crate::simd::V_WORDS),
};

/// If `insn` is FMUL/FDIV/FADD/FSUB/FNMUL (single or double): its (regs, op, dbl) arguments
/// for [`FP2`].
pub fn fp2_args(insn: u32) -> Option<(u64, u64, u64)> {
    if insn & 0xff20_0c00 != 0x1e20_0800 || f(insn, 23, 22) > 1 {
        return None;
    }
    let op = f(insn, 15, 12);
    if !matches!(op, 0..=3 | 8) {
        return None;
    }
    let regs = u64::from(f(insn, 4, 0) | f(insn, 9, 5) << 8 | f(insn, 20, 16) << 16);
    Some((regs, u64::from(op), u64::from(f(insn, 22, 22))))
}
