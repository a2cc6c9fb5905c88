//! The AdvSIMD forms hot in compiled code, lifted straight into IR on the two 64-bit words of
//! each V register (lanes packed SWAR-style) instead of calling the [`crate::simd`] helper:
//! vector logical ops and bitwise selects, integer ADD/SUB, MOVI/MVNI/FMOV/ORR/BIC immediate,
//! SHL/USHR by immediate, DUP/INS/UMOV with general registers, DUP and INS (element), FMOV between
//! general and vector registers. The caller has already checked the encoding is defined.

use super::LiftCx;
use crate::state;
use xlat_ir::{Opcode, Temp, Ty, abi::CpuState};

fn rep(es: u32, x: u64) -> u64 {
    match es {
        8 => (x & 0xff) * 0x0101_0101_0101_0101,
        16 => (x & 0xffff) * 0x0001_0001_0001_0001,
        32 => (x & 0xffff_ffff) * 0x0000_0001_0000_0001,
        _ => x,
    }
}

fn lane_mask(es: u32) -> u64 {
    if es == 64 { u64::MAX } else { (1 << es) - 1 }
}

fn words(q: bool) -> u32 {
    if q { 2 } else { 1 }
}

/// Writes `vals` (one or two words) to `v{rd}`, zeroing the high word for 64-bit results.
fn set_v(cx: &mut LiftCx, rd: u32, vals: &[Temp]) {
    let o = state::v(rd as u8);
    for (h, v) in (0u32..).zip(vals) {
        cx.b.set_reg(o + 8 * h, *v);
    }
    if vals.len() == 1 {
        let z = cx.b.konst(Ty::I64, 0);
        cx.b.set_reg(o + 8, z);
    }
}

fn get_w(cx: &mut LiftCx, r: u32, h: u32) -> Temp {
    cx.b.get_reg(Ty::I64, state::v(r as u8) + 8 * h)
}

/// Lifts `cx.insn` when it is one of the forms above; false leaves it to the helper.
pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let insn = cx.insn;
    let q = cx.f(30, 30) == 1;
    let u = cx.f(29, 29) == 1;
    let size = cx.f(23, 22);
    let (rd, rn, rm) = (cx.f(4, 0), cx.f(9, 5), cx.f(20, 16));
    let es = 8u32 << size;
    if insn & 0x9f20_0400 == 0x0e20_0400 {
        // Three same.
        let op = cx.f(15, 11);
        let mut out = Vec::new();
        match (op, u) {
            (0b00011, _) => {
                for h in 0..words(q) {
                    let (a, b) = (get_w(cx, rn, h), get_w(cx, rm, h));
                    let r = match (u, size) {
                        (false, 0) => cx.b.binop(Opcode::And, a, b),
                        (false, 1) => cx.b.binop(Opcode::AndN, a, b),
                        (false, 2) => cx.b.binop(Opcode::Or, a, b),
                        (false, _) => cx.b.binop(Opcode::OrN, a, b),
                        (true, 0) => cx.b.binop(Opcode::Xor, a, b),
                        (true, s) => {
                            // BSL: d ? n : m; BIT: m ? n : d; BIF: m ? d : n.
                            let d = get_w(cx, rd, h);
                            let (sel, t, f) = match s {
                                1 => (d, a, b),
                                2 => (b, a, d),
                                _ => (b, d, a),
                            };
                            let x = cx.b.binop(Opcode::Xor, t, f);
                            let x = cx.b.binop(Opcode::And, x, sel);
                            cx.b.binop(Opcode::Xor, x, f)
                        }
                    };
                    out.push(r);
                }
            }
            (0b10000, _) => {
                let hb = rep(es, 1 << (es - 1));
                for h in 0..words(q) {
                    let (a, b) = (get_w(cx, rn, h), get_w(cx, rm, h));
                    let r = if es == 64 {
                        let op = if u { Opcode::Sub } else { Opcode::Add };
                        cx.b.binop(op, a, b)
                    } else if !u {
                        let a1 = cx.b.binop_imm(Opcode::AndN, a, hb);
                        let b1 = cx.b.binop_imm(Opcode::AndN, b, hb);
                        let s = cx.b.binop(Opcode::Add, a1, b1);
                        let x = cx.b.binop(Opcode::Xor, a, b);
                        let x = cx.b.binop_imm(Opcode::And, x, hb);
                        cx.b.binop(Opcode::Xor, s, x)
                    } else {
                        let a1 = cx.b.binop_imm(Opcode::Or, a, hb);
                        let b1 = cx.b.binop_imm(Opcode::AndN, b, hb);
                        let s = cx.b.binop(Opcode::Sub, a1, b1);
                        let x = cx.b.binop(Opcode::XorN, a, b);
                        let x = cx.b.binop_imm(Opcode::And, x, hb);
                        cx.b.binop(Opcode::Xor, s, x)
                    };
                    out.push(r);
                }
            }
            _ => return false,
        }
        set_v(cx, rd, &out);
        return true;
    }
    if insn & 0x9ff8_0400 == 0x0f00_0400 {
        // Modified immediate: a constant, or d | imm, or d & !imm.
        let run = |d: u64| {
            let mut s = CpuState::new_boxed();
            let o = state::v(rd as u8);
            s.set_word(o, d);
            s.set_word(o + 8, d);
            crate::simd::exec(Some(&mut s), insn);
            (s.word(o), s.word(o + 8))
        };
        let (z, o) = (run(0), run(u64::MAX));
        let mut out = Vec::new();
        for h in 0..words(q) {
            let (r0, r1) = if h == 0 { (z.0, o.0) } else { (z.1, o.1) };
            let v = if r0 == r1 {
                cx.b.konst(Ty::I64, r0)
            } else if r1 == u64::MAX {
                let d = get_w(cx, rd, h);
                cx.b.binop_imm(Opcode::Or, d, r0)
            } else if r0 == 0 {
                let d = get_w(cx, rd, h);
                cx.b.binop_imm(Opcode::And, d, r1)
            } else {
                return false;
            };
            out.push(v);
        }
        set_v(cx, rd, &out);
        return true;
    }
    if insn & 0x9f80_0400 == 0x0f00_0400 {
        // Shift by immediate: SHL, USHR.
        let (immh, immhb) = (cx.f(22, 19), cx.f(22, 16));
        let es = 8u32 << (31 - immh.leading_zeros()).min(3);
        let op = cx.f(15, 11);
        let lm = lane_mask(es);
        let mut out = Vec::new();
        for h in 0..words(q) {
            let a = get_w(cx, rn, h);
            let r = match (op, u) {
                (0b01010, false) => {
                    let sh = immhb - es;
                    let x = cx.b.binop_imm(Opcode::Shl, a, u64::from(sh));
                    cx.b.binop_imm(Opcode::And, x, rep(es, (lm << sh) & lm))
                }
                (0b00000, true) => {
                    let sh = 2 * es - immhb;
                    if sh >= es {
                        cx.b.konst(Ty::I64, 0)
                    } else {
                        let x = cx.b.binop_imm(Opcode::Shr, a, u64::from(sh));
                        cx.b.binop_imm(Opcode::And, x, rep(es, lm >> sh))
                    }
                }
                _ => return false,
            };
            out.push(r);
        }
        set_v(cx, rd, &out);
        return true;
    }
    if insn & 0x9fe0_8400 == 0x0e00_0400 {
        // Copy: DUP (general), INS (general), UMOV, INS (element).
        let imm5 = cx.f(20, 16);
        let imm4 = cx.f(14, 11);
        let sz = imm5.trailing_zeros().min(3);
        let es = 8u32 << sz;
        let idx = imm5 >> (sz + 1);
        let (word, sh) = ((idx * es) / 64, u64::from((idx * es) % 64));
        let lm = lane_mask(es);
        match (u, imm4) {
            (false, 0b0000) => {
                // DUP (element).
                let w = get_w(cx, rn, word);
                let x = cx.b.binop_imm(Opcode::Shr, w, sh);
                let x = if es == 64 {
                    x
                } else {
                    let x = cx.b.binop_imm(Opcode::And, x, lm);
                    cx.b.binop_imm(Opcode::Mul, x, rep(es, 1))
                };
                let out = if q { vec![x, x] } else { vec![x] };
                set_v(cx, rd, &out);
            }
            (false, 0b0001) => {
                let x = cx.get_x(rn, true);
                let x = if es == 64 {
                    x
                } else {
                    let x = cx.b.binop_imm(Opcode::And, x, lm);
                    cx.b.binop_imm(Opcode::Mul, x, rep(es, 1))
                };
                let out = if q { vec![x, x] } else { vec![x] };
                set_v(cx, rd, &out);
            }
            (false, 0b0011) => {
                let x = cx.get_x(rn, true);
                insert(cx, rd, word, sh, lm, x);
            }
            (false, 0b0111) => {
                let w = get_w(cx, rn, word);
                let x = cx.b.binop_imm(Opcode::Shr, w, sh);
                let x = if es == 64 {
                    x
                } else {
                    cx.b.binop_imm(Opcode::And, x, lm)
                };
                cx.set_x(rd, x, true);
            }
            (true, _) => {
                let idx2 = imm4 >> sz;
                let (w2, sh2) = ((idx2 * es) / 64, u64::from((idx2 * es) % 64));
                let w = get_w(cx, rn, w2);
                let x = cx.b.binop_imm(Opcode::Shr, w, sh2);
                insert(cx, rd, word, sh, lm, x);
            }
            _ => return false,
        }
        return true;
    }
    if insn & 0x7f20_fc00 == 0x1e20_0000 {
        // FMOV between general and SIMD&FP registers.
        let (sf, ty, rmode, opcode) = (cx.f(31, 31), cx.f(23, 22), cx.f(20, 19), cx.f(18, 16));
        match (sf, ty, rmode, opcode) {
            (0, 0, 0, 6) => {
                let w = get_w(cx, rn, 0);
                let x = cx.b.unop(Opcode::Zext32, w);
                cx.set_x(rd, x, true);
            }
            (0, 0, 0, 7) => {
                let x = cx.get_x(rn, true);
                let x = cx.b.unop(Opcode::Zext32, x);
                set_v(cx, rd, &[x]);
            }
            (1, 1, 0, 6) => {
                let w = get_w(cx, rn, 0);
                cx.set_x(rd, w, true);
            }
            (1, 1, 0, 7) => {
                let x = cx.get_x(rn, true);
                set_v(cx, rd, &[x]);
            }
            (1, 2, 1, 6) => {
                let w = get_w(cx, rn, 1);
                cx.set_x(rd, w, true);
            }
            (1, 2, 1, 7) => {
                let x = cx.get_x(rn, true);
                cx.b.set_reg(state::v(rd as u8) + 8, x);
            }
            _ => return false,
        }
        return true;
    }
    false
}

/// Replaces the lane at bit `sh` of word `word` of `v{rd}` (lane mask `lm`) with `x`'s low bits.
fn insert(cx: &mut LiftCx, rd: u32, word: u32, sh: u64, lm: u64, x: Temp) {
    let off = state::v(rd as u8) + 8 * word;
    let r = if lm == u64::MAX {
        x
    } else {
        let old = cx.b.get_reg(Ty::I64, off);
        let kept = cx.b.binop_imm(Opcode::AndN, old, lm << sh);
        let x = cx.b.binop_imm(Opcode::And, x, lm);
        let x = cx.b.binop_imm(Opcode::Shl, x, sh);
        cx.b.binop(Opcode::Or, kept, x)
    };
    cx.b.set_reg(off, r);
}
