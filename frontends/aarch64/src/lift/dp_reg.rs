//! Data processing (register): logical and add/sub with shifted or extended operands, adc/sbc,
//! conditional compare and select, 1-, 2- and 3-source operations.

use super::{Flags, LiftCx};
use crate::state;
use xlat_ir::{Cond, Opcode, Temp, Ty};

pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let sf = cx.f(31, 31) == 1;
    let (rd, rn, rm) = (cx.f(4, 0), cx.f(9, 5), cx.f(20, 16));
    if cx.f(28, 28) == 0 {
        return match (cx.f(24, 24), cx.f(21, 21)) {
            (0, _) => logical(cx, sf, rd, rn, rm),
            (1, 0) => add_sub(cx, sf, rd, rn, rm, false),
            _ => add_sub(cx, sf, rd, rn, rm, true),
        };
    }
    match cx.f(24, 21) {
        0b0000 if cx.f(15, 10) == 0 => adc(cx, sf, rd, rn, rm),
        0b0010 if cx.f(10, 10) == 0 && cx.f(4, 4) == 0 && cx.f(29, 29) == 1 => ccmp(cx, sf, rn),
        0b0100 if cx.f(29, 29) == 0 && cx.f(11, 11) == 0 => csel(cx, sf, rd, rn, rm),
        0b0110 if cx.f(29, 29) == 0 => {
            if cx.f(30, 30) == 0 {
                two_source(cx, sf, rd, rn, rm)
            } else {
                one_source(cx, sf, rd, rn)
            }
        }
        0b1000..=0b1111 if cx.f(30, 29) == 0 => three_source(cx, sf, rd, rn, rm),
        _ => false,
    }
}

/// `Rm` shifted by `shift` (LSL, LSR, ASR, ROR) by `amount` within the datasize.
fn shifted(cx: &mut LiftCx, rm: u32, shift: u32, amount: u32, sf: bool) -> Temp {
    let v = cx.get_x(rm, sf);
    if amount == 0 {
        return v;
    }
    let a = u64::from(amount);
    match (shift, sf) {
        (0, _) => cx.b.binop_imm(Opcode::Shl, v, a),
        (1, _) => cx.b.binop_imm(Opcode::Shr, v, a),
        (2, true) => cx.b.binop_imm(Opcode::Sar, v, a),
        (2, false) => {
            let s = cx.b.unop(Opcode::Sext32, v);
            cx.b.binop_imm(Opcode::Sar, s, a)
        }
        (_, true) => cx.b.binop_imm(Opcode::Rotr, v, a),
        (_, false) => {
            let lo = cx.b.binop_imm(Opcode::Shr, v, a);
            let hi = cx.b.binop_imm(Opcode::Shl, v, 32 - a);
            cx.b.binop(Opcode::Or, lo, hi)
        }
    }
}

fn logical(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let amount = cx.f(15, 10);
    if !sf && amount >= 32 {
        return false;
    }
    let b = shifted(cx, rm, cx.f(23, 22), amount, sf);
    let a = cx.get_x(rn, sf);
    let opc = cx.f(30, 29);
    let op = match (opc, cx.f(21, 21)) {
        (0 | 3, 0) => Opcode::And,
        (0 | 3, _) => Opcode::AndN,
        (1, 0) => Opcode::Or,
        (1, _) => Opcode::OrN,
        (_, 0) => Opcode::Xor,
        _ => Opcode::XorN,
    };
    let res = cx.b.binop(op, a, b);
    if opc == 3 {
        cx.set_logic_flags(res, sf);
    }
    cx.set_x(rd, res, sf);
    true
}

/// Extended register operand: `Rm` extended by `option` and shifted left by 0..=4.
fn extended(cx: &mut LiftCx, rm: u32, option: u32, amount: u32) -> Temp {
    let v = cx.get_x(rm, true);
    let e = match option {
        0 => cx.b.unop(Opcode::Zext8, v),
        1 => cx.b.unop(Opcode::Zext16, v),
        2 => cx.b.unop(Opcode::Zext32, v),
        4 => cx.b.unop(Opcode::Sext8, v),
        5 => cx.b.unop(Opcode::Sext16, v),
        6 => cx.b.unop(Opcode::Sext32, v),
        _ => v,
    };
    if amount == 0 {
        e
    } else {
        cx.b.binop_imm(Opcode::Shl, e, u64::from(amount))
    }
}

fn add_sub(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32, ext: bool) -> bool {
    let (sub, flags) = (cx.f(30, 30) == 1, cx.f(29, 29) == 1);
    let (a, b) = if ext {
        let (opt, imm3) = (cx.f(15, 13), cx.f(12, 10));
        if imm3 > 4 || cx.f(23, 22) != 0 {
            return false;
        }
        let a = cx.get_xsp(rn, sf);
        let b = extended(cx, rm, opt, imm3);
        let b = if sf { b } else { cx.b.unop(Opcode::Zext32, b) };
        (a, b)
    } else {
        let (shift, amount) = (cx.f(23, 22), cx.f(15, 10));
        if shift == 3 || (!sf && amount >= 32) {
            return false;
        }
        let b = shifted(cx, rm, shift, amount, sf);
        let b = if sf { b } else { cx.b.unop(Opcode::Zext32, b) };
        (cx.get_x(rn, sf), b)
    };
    let res = gen_add_sub(cx, a, b, sub, sf, flags);
    if ext && !flags {
        cx.set_xsp(rd, res, sf);
    } else {
        cx.set_x(rd, res, sf);
    }
    true
}

/// `a + b` or `a - b` (operands zero-extended to the datasize), setting flags when asked.
fn gen_add_sub(cx: &mut LiftCx, a: Temp, b: Temp, sub: bool, sf: bool, flags: bool) -> Temp {
    cx.add_sub(a, b, sub, sf, flags)
}

fn adc(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let (sub, flags) = (cx.f(30, 30) == 1, cx.f(29, 29) == 1);
    let a = cx.get_x(rn, sf);
    let b = cx.get_x(rm, sf);
    let b = if sub {
        let nb = cx.b.unop(Opcode::Not, b);
        if sf {
            nb
        } else {
            cx.b.unop(Opcode::Zext32, nb)
        }
    } else {
        b
    };
    let c = cx.carry();
    let res = cx.add_with_carry(a, b, c, sf, flags);
    cx.set_x(rd, res, sf);
    true
}

/// CCMN/CCMP (register or immediate): flags of the compare if the condition holds, else #nzcv
/// (branch-free: the flag words are selects; a condition read next comes from the operands).
fn ccmp(cx: &mut LiftCx, sf: bool, rn: u32) -> bool {
    let sub = cx.f(30, 30) == 1;
    let cond = cx.f(15, 12);
    let nzcv = cx.f(3, 0);
    let holds = cx.cond_holds(cond);
    let a = cx.get_x(rn, sf);
    let b = if cx.f(11, 11) == 1 {
        cx.b.konst(Ty::I64, u64::from(cx.f(20, 16)))
    } else {
        cx.get_x(cx.f(20, 16), sf)
    };
    // The flag words: the compare's kind and operands where the condition holds, else #nzcv
    // (K_NZCV with the bits in FA; FB is then ignored).
    let kind = if sub { state::K_SUB } else { state::K_ADD } | if sf { 0 } else { state::K_W32 };
    let zero = cx.b.konst(Ty::I64, 0);
    let kk = cx.b.konst(Ty::I64, kind);
    let kn = cx.b.konst(Ty::I64, state::K_NZCV);
    let k = cx.b.select(Cond::Ne, holds, zero, kk, kn);
    let p = cx.b.konst(Ty::I64, u64::from(nzcv) << 28);
    let fa = cx.b.select(Cond::Ne, holds, zero, a, p);
    cx.b.set_reg(state::FK, k);
    cx.b.set_reg(state::FA, fa);
    cx.b.set_reg(state::FB, b);
    let f = if sub {
        Flags::Sub(a, b, sf)
    } else {
        Flags::Add(a, b, sf)
    };
    cx.last_flags = Some((f, cx.b.len()));
    cx.last_ccmp = Some((holds, nzcv));
    true
}

fn csel(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let holds = cx.cond_holds(cx.f(15, 12));
    let a = cx.get_x(rn, sf);
    let m = cx.get_x(rm, sf);
    let b = match (cx.f(30, 30), cx.f(10, 10)) {
        (0, 0) => m,
        (0, _) => cx.b.binop_imm(Opcode::Add, m, 1),
        (_, 0) => cx.b.unop(Opcode::Not, m),
        _ => cx.b.unop(Opcode::Neg, m),
    };
    let zero = cx.b.konst(Ty::I64, 0);
    let res = cx.b.select(Cond::Ne, holds, zero, a, b);
    cx.set_x(rd, res, sf);
    true
}

fn two_source(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let opcode = cx.f(15, 10);
    let a = cx.get_x(rn, sf);
    let m = cx.get_x(rm, sf);
    let width = if sf { 64 } else { 32 };
    let res = match opcode {
        16..=23 => {
            // CRC32B/H/W/X, CRC32CB/H/W/X: sz 3 only with sf, the others without.
            let sz = opcode & 3;
            if sf != (sz == 3) {
                return false;
            }
            let poly =
                cx.b.konst(Ty::I64, u64::from(opcode & 4 != 0) << 8 | u64::from(sz));
            let acc = cx.get_x(rn, false);
            let acc = cx.b.unop(Opcode::Zext32, acc);
            let data = cx.get_x(rm, true);
            cx.b.call(&crate::bits::CRC32, &[acc, data, poly])
        }
        2 | 3 => {
            let (a, m) = if opcode == 3 && !sf {
                (cx.b.unop(Opcode::Sext32, a), cx.b.unop(Opcode::Sext32, m))
            } else {
                (a, m)
            };
            let op = if opcode == 2 {
                Opcode::DivU
            } else {
                Opcode::DivS
            };
            let q = cx.b.binop(op, a, m);
            let zero = cx.b.konst(Ty::I64, 0);
            cx.b.select(Cond::Eq, m, zero, zero, q)
        }
        8..=11 => {
            let amt = cx.b.binop_imm(Opcode::And, m, width - 1);
            match (opcode, sf) {
                (8, _) => cx.b.binop(Opcode::Shl, a, amt),
                (9, _) => cx.b.binop(Opcode::Shr, a, amt),
                (10, true) => cx.b.binop(Opcode::Sar, a, amt),
                (10, false) => {
                    let s = cx.b.unop(Opcode::Sext32, a);
                    cx.b.binop(Opcode::Sar, s, amt)
                }
                (_, true) => cx.b.binop(Opcode::Rotr, a, amt),
                _ => {
                    let lo = cx.b.binop(Opcode::Shr, a, amt);
                    let k = cx.b.konst(Ty::I64, 32);
                    let inv = cx.b.binop(Opcode::Sub, k, amt);
                    let hi = cx.b.binop(Opcode::Shl, a, inv);
                    let hi = cx.b.unop(Opcode::Zext32, hi);
                    cx.b.binop(Opcode::Or, lo, hi)
                }
            }
        }
        _ => return false,
    };
    cx.set_x(rd, res, sf);
    true
}

/// Reverses the bits of a 64-bit value.
fn rbit64(cx: &mut LiftCx, v: Temp) -> Temp {
    let mut v = v;
    for (sh, m) in [
        (1u64, 0x5555_5555_5555_5555u64),
        (2, 0x3333_3333_3333_3333),
        (4, 0x0f0f_0f0f_0f0f_0f0f),
    ] {
        let a = cx.b.binop_imm(Opcode::Shr, v, sh);
        let a = cx.b.binop_imm(Opcode::And, a, m);
        let b = cx.b.binop_imm(Opcode::And, v, m);
        let b = cx.b.binop_imm(Opcode::Shl, b, sh);
        v = cx.b.binop(Opcode::Or, a, b);
    }
    cx.b.unop(Opcode::Bswap, v)
}

fn one_source(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32) -> bool {
    if cx.f(20, 16) != 0 {
        return false;
    }
    let a = cx.get_x(rn, sf);
    let res = match (cx.f(15, 10), sf) {
        (0, _) => {
            let r = rbit64(cx, a);
            if sf {
                r
            } else {
                cx.b.binop_imm(Opcode::Shr, r, 32)
            }
        }
        (1, _) => {
            // REV16: swap the bytes of each halfword.
            let hi = cx.b.binop_imm(Opcode::Shr, a, 8);
            let hi = cx.b.binop_imm(Opcode::And, hi, 0x00ff_00ff_00ff_00ff);
            let lo = cx.b.binop_imm(Opcode::And, a, 0x00ff_00ff_00ff_00ff);
            let lo = cx.b.binop_imm(Opcode::Shl, lo, 8);
            cx.b.binop(Opcode::Or, hi, lo)
        }
        (2, false) | (3, true) => {
            let r = cx.b.unop(Opcode::Bswap, a);
            if sf {
                r
            } else {
                cx.b.binop_imm(Opcode::Shr, r, 32)
            }
        }
        (2, true) => {
            let r = cx.b.unop(Opcode::Bswap, a);
            cx.b.binop_imm(Opcode::Rotr, r, 32)
        }
        (4, _) => {
            let c = cx.b.unop(Opcode::Clz, a);
            if sf {
                c
            } else {
                cx.b.binop_imm(Opcode::Sub, c, 32)
            }
        }
        (5, _) => {
            let v = if sf {
                a
            } else {
                cx.b.binop_imm(Opcode::Shl, a, 32)
            };
            let s = cx.b.binop_imm(Opcode::Shl, v, 1);
            let y = cx.b.binop(Opcode::Xor, v, s);
            let y = cx.b.binop_imm(Opcode::Or, y, if sf { 1 } else { 1 << 32 });
            cx.b.unop(Opcode::Clz, y)
        }
        _ => return false,
    };
    cx.set_x(rd, res, sf);
    true
}

fn three_source(cx: &mut LiftCx, sf: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let (op31, o0, ra) = (cx.f(23, 21), cx.f(15, 15), cx.f(14, 10));
    if op31 != 0 && !sf {
        return false;
    }
    let a = cx.get_x(rn, true);
    let m = cx.get_x(rm, true);
    let prod = match (op31, o0) {
        (0, _) => cx.b.binop(Opcode::Mul, a, m),
        (1, _) => {
            let a = cx.b.unop(Opcode::Sext32, a);
            let m = cx.b.unop(Opcode::Sext32, m);
            cx.b.binop(Opcode::Mul, a, m)
        }
        (5, _) => {
            let a = cx.b.unop(Opcode::Zext32, a);
            let m = cx.b.unop(Opcode::Zext32, m);
            cx.b.binop(Opcode::Mul, a, m)
        }
        (2, 0) if ra == 31 => {
            let h = cx.b.binop(Opcode::MulHs, a, m);
            cx.set_x(rd, h, true);
            return true;
        }
        (6, 0) if ra == 31 => {
            let h = cx.b.binop(Opcode::MulHu, a, m);
            cx.set_x(rd, h, true);
            return true;
        }
        _ => return false,
    };
    let acc = cx.get_x(ra, true);
    let op = if o0 == 1 { Opcode::Sub } else { Opcode::Add };
    let res = cx.b.binop(op, acc, prod);
    cx.set_x(rd, res, sf);
    true
}
