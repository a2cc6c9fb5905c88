//! Data processing (immediate): PC-relative addressing, add/sub, logical, move wide,
//! bitfield and extract.

use super::LiftCx;
use crate::bits::decode_bit_masks;
use xlat_ir::{Opcode, Ty};

pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let sf = cx.f(31, 31) == 1;
    let (rd, rn) = (cx.f(4, 0), cx.f(9, 5));
    match cx.f(25, 23) {
        0b000 | 0b001 => {
            let imm = (cx.f(23, 5) << 2) | cx.f(30, 29);
            let imm = ((imm as i64) << 43) >> 43;
            let v = if cx.f(31, 31) == 1 {
                (cx.pc & !0xfff).wrapping_add((imm << 12) as u64)
            } else {
                cx.pc.wrapping_add(imm as u64)
            };
            let t = cx.b.konst(Ty::I64, v);
            cx.set_x(rd, t, true);
        }
        0b010 => {
            let sh = cx.f(22, 22);
            let imm = u64::from(cx.f(21, 10)) << (12 * sh);
            let (sub, flags) = (cx.f(30, 30) == 1, cx.f(29, 29) == 1);
            let a = cx.get_xsp(rn, sf);
            let b = cx.b.konst(Ty::I64, imm);
            let res = cx.add_sub(a, b, sub, sf, flags);
            if flags {
                cx.set_x(rd, res, sf);
            } else {
                cx.set_xsp(rd, res, sf);
            }
        }
        0b100 => {
            let n = cx.f(22, 22);
            if !sf && n == 1 {
                return false;
            }
            let Some((imm, _)) = decode_bit_masks(
                n,
                cx.f(15, 10),
                cx.f(21, 16),
                true,
                if sf { 64 } else { 32 },
            ) else {
                return false;
            };
            let a = cx.get_x(rn, sf);
            let opc = cx.f(30, 29);
            let op = [Opcode::And, Opcode::Or, Opcode::Xor, Opcode::And][opc as usize];
            let res = cx.b.binop_imm(op, a, imm);
            if opc == 3 {
                cx.set_logic_flags(res, sf);
                cx.set_x(rd, res, sf);
            } else {
                cx.set_xsp(rd, res, sf);
            }
        }
        0b101 => {
            let hw = cx.f(22, 21);
            if !sf && hw >= 2 {
                return false;
            }
            let imm = u64::from(cx.f(20, 5)) << (16 * hw);
            match cx.f(30, 29) {
                0 => {
                    let t = cx.b.konst(Ty::I64, mask(!imm, sf));
                    cx.set_x(rd, t, sf);
                }
                2 => {
                    let t = cx.b.konst(Ty::I64, imm);
                    cx.set_x(rd, t, sf);
                }
                3 => {
                    let old = cx.get_x(rd, sf);
                    let kept = cx.b.binop_imm(Opcode::And, old, !(0xffffu64 << (16 * hw)));
                    let t = cx.b.binop_imm(Opcode::Or, kept, imm);
                    cx.set_x(rd, t, sf);
                }
                _ => return false,
            }
        }
        0b110 => return bitfield(cx, sf, rd, rn),
        _ => return extract(cx, sf, rd, rn),
    }
    true
}

fn mask(v: u64, sf: bool) -> u64 {
    if sf { v } else { v & 0xffff_ffff }
}

/// SBFM, BFM, UBFM (and their aliases: asr/lsl/lsr immediate, sxt*/uxt*, bfi, ubfx...).
fn bitfield(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32) -> bool {
    let (opc, n) = (cx.f(30, 29), cx.f(22, 22));
    let (immr, imms) = (cx.f(21, 16), cx.f(15, 10));
    if opc == 3 || n != u32::from(sf) || (!sf && (immr >= 32 || imms >= 32)) {
        return false;
    }
    let size = if sf { 64 } else { 32 };
    let Some((wmask, tmask)) = decode_bit_masks(n, imms, immr, false, size) else {
        return false;
    };
    let src = cx.get_x(rn, sf);
    if opc != 1 {
        // UBFM/SBFM (lsl, lsr, asr, [su]bfx, [su]bfiz, [su]xt[bhw]) as two shifts at most:
        // the field is bits imms..=0 moved to immr (imms < immr) or bits imms..=immr moved
        // to 0, zero- or sign-extended. For 32 bits, set_x clears the upper half.
        let w: u32 = size;
        let res = if opc == 2 {
            if imms >= immr {
                let r = cx.b.binop_imm(Opcode::Shr, src, u64::from(immr));
                if imms == w - 1 {
                    r
                } else {
                    let m = (1u64 << (imms - immr + 1)) - 1;
                    cx.b.binop_imm(Opcode::And, r, m)
                }
            } else {
                let sh = u64::from(w - immr);
                if imms + 1 == immr {
                    cx.b.binop_imm(Opcode::Shl, src, sh)
                } else {
                    let f = cx.b.binop_imm(Opcode::And, src, (1u64 << (imms + 1)) - 1);
                    cx.b.binop_imm(Opcode::Shl, f, sh)
                }
            }
        } else {
            let up = cx.b.binop_imm(Opcode::Shl, src, u64::from(63 - imms));
            if imms >= immr {
                cx.b.binop_imm(Opcode::Sar, up, u64::from(63 - imms + immr))
            } else {
                let f = cx.b.binop_imm(Opcode::Sar, up, u64::from(63 - imms));
                cx.b.binop_imm(Opcode::Shl, f, u64::from(w - immr))
            }
        };
        cx.set_x(rd, res, sf);
        return true;
    }
    // ROR(src, immr) within the datasize.
    let rot = if immr == 0 {
        src
    } else if sf {
        cx.b.binop_imm(Opcode::Rotr, src, u64::from(immr))
    } else {
        let lo = cx.b.binop_imm(Opcode::Shr, src, u64::from(immr));
        let hi = cx.b.binop_imm(Opcode::Shl, src, u64::from(32 - immr));
        let r = cx.b.binop(Opcode::Or, lo, hi);
        cx.b.unop(Opcode::Zext32, r)
    };
    let botw = cx.b.binop_imm(Opcode::And, rot, wmask);
    let (bot, top) = match opc {
        1 => {
            let dst = cx.get_x(rd, sf);
            let keep = cx.b.binop_imm(Opcode::And, dst, !wmask);
            (cx.b.binop(Opcode::Or, keep, botw), Some(dst))
        }
        0 => {
            let sh = cx.b.binop_imm(Opcode::Shl, src, u64::from(63 - imms));
            (botw, Some(cx.b.binop_imm(Opcode::Sar, sh, 63)))
        }
        _ => (botw, None),
    };
    let lo = cx.b.binop_imm(Opcode::And, bot, tmask);
    let res = match top {
        Some(top) => {
            let hi = cx.b.binop_imm(Opcode::And, top, !tmask);
            cx.b.binop(Opcode::Or, hi, lo)
        }
        None => lo,
    };
    cx.set_x(rd, res, sf);
    true
}

/// EXTR (and its alias ror immediate).
fn extract(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32) -> bool {
    let (op21, n, o0, lsb) = (cx.f(30, 29), cx.f(22, 22), cx.f(21, 21), cx.f(15, 10));
    if cx.f(25, 23) != 0b111 || op21 != 0 || o0 != 0 || n != u32::from(sf) || (!sf && lsb >= 32) {
        return false;
    }
    let hi = cx.get_x(rn, sf);
    let lo = cx.get_x(cx.f(20, 16), sf);
    let res = if lsb == 0 {
        lo
    } else {
        let width = if sf { 64 } else { 32 };
        let a = cx.b.binop_imm(Opcode::Shr, lo, u64::from(lsb));
        let b = cx.b.binop_imm(Opcode::Shl, hi, u64::from(width - lsb));
        cx.b.binop(Opcode::Or, a, b)
    };
    cx.set_x(rd, res, sf);
    true
}
