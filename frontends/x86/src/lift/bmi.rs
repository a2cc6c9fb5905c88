//! BMI1 (andn, bextr, blsi, blsmsk, blsr) and BMI2 (bzhi, pdep, pext, rorx, sarx, shlx, shrx,
//! mulx); tzcnt (BMI1) is with the bit scans in `int`.

use super::{Cx, Flow};
use crate::flags;
use crate::helpers;
use iced_x86::Mnemonic as M;
use xlat_ir::{Cond, Opcode, Temp};

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let r = match m {
        M::Andn
        | M::Bextr
        | M::Blsi
        | M::Blsmsk
        | M::Blsr
        | M::Bzhi
        | M::Pdep
        | M::Pext
        | M::Rorx
        | M::Sarx
        | M::Shlx
        | M::Shrx
        | M::Mulx => bmi(cx, m),
        _ => return None,
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

/// ZF and SF of `r` (`bytes` wide), ORed with `extra`.
fn zf_sf(cx: &mut Cx, r: Temp, bytes: u32, extra: Temp) -> Temp {
    let z = cx.k(0);
    let zf = cx.b.setcond(Cond::Eq, r, z);
    let zf = cx.opi(Opcode::Shl, zf, 6);
    let sf = cx.opi(Opcode::Shr, r, u64::from(bytes * 8 - 1));
    let sf = cx.opi(Opcode::Shl, sf, 7);
    let f = cx.op(Opcode::Or, zf, sf);
    cx.op(Opcode::Or, f, extra)
}

fn bmi(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let bits = u64::from(bytes * 8);
    let addr = cx.mem_addr();
    let dst = cx.i.op0_register();
    let z = cx.k(0);
    match m {
        M::Andn => {
            let a = cx.read(1, addr, bytes)?;
            let b = cx.read(2, addr, bytes)?;
            let r = cx.op(Opcode::AndN, b, a);
            cx.set_gpr(dst, r);
            cx.set_cc(flags::LOGIC, bytes, r, r, z);
        }
        M::Bextr => {
            let src = cx.read(1, addr, bytes)?;
            let ctl = cx.read(2, addr, bytes)?;
            let start = cx.zext(ctl, 1);
            let len = cx.opi(Opcode::Shr, ctl, 8);
            let len = cx.zext(len, 1);
            // Bits from `start` on, `len` of them; nothing past the operand size.
            let kb = cx.k(bits);
            let sh = cx.op(Opcode::MinU, start, kb);
            let shifted = cx.b.select(Cond::Geu, sh, kb, z, src);
            let sh63 = cx.opi(Opcode::And, sh, 63);
            let shifted2 = cx.op(Opcode::Shr, shifted, sh63);
            let ones = cx.k(u64::MAX);
            let l63 = cx.opi(Opcode::And, len, 63);
            let m0 = cx.op(Opcode::Shl, ones, l63);
            let keep = cx.opi(Opcode::Xor, m0, u64::MAX);
            let keep = cx.b.select(Cond::Geu, len, kb, ones, keep);
            let r = cx.op(Opcode::And, shifted2, keep);
            let r = cx.zext(r, bytes);
            cx.set_gpr(dst, r);
            cx.set_cc(flags::LOGIC, bytes, r, r, z);
        }
        M::Blsi | M::Blsmsk | M::Blsr => {
            let src = cx.read(1, addr, bytes)?;
            let r = match m {
                M::Blsi => {
                    let n = cx.op(Opcode::Sub, z, src);
                    cx.op(Opcode::And, n, src)
                }
                M::Blsmsk => {
                    let d = cx.opi(Opcode::Sub, src, 1);
                    cx.op(Opcode::Xor, d, src)
                }
                _ => {
                    let d = cx.opi(Opcode::Sub, src, 1);
                    cx.op(Opcode::And, d, src)
                }
            };
            let r = cx.zext(r, bytes);
            cx.set_gpr(dst, r);
            // CF: blsi: source non-zero; blsmsk/blsr: source zero.
            let cf = if m == M::Blsi {
                cx.b.setcond(Cond::Ne, src, z)
            } else {
                cx.b.setcond(Cond::Eq, src, z)
            };
            let f = zf_sf(cx, r, bytes, cf);
            cx.set_cc_eflags(f);
        }
        M::Bzhi => {
            let src = cx.read(1, addr, bytes)?;
            let idx = cx.read(2, addr, bytes)?;
            let n = cx.zext(idx, 1);
            let kb = cx.k(bits);
            let ones = cx.k(u64::MAX);
            let n63 = cx.opi(Opcode::And, n, 63);
            let hi = cx.op(Opcode::Shl, ones, n63);
            let m0 = cx.op(Opcode::AndN, src, hi);
            let r = cx.b.select(Cond::Geu, n, kb, src, m0);
            let r = cx.zext(r, bytes);
            cx.set_gpr(dst, r);
            let cf = cx.b.setcond(Cond::Geu, n, kb);
            let f = zf_sf(cx, r, bytes, cf);
            cx.set_cc_eflags(f);
        }
        M::Pdep | M::Pext => {
            let a = cx.read(1, addr, bytes)?;
            let b = cx.read(2, addr, bytes)?;
            let k = cx.k(u64::from(m == M::Pext));
            let r = cx.b.call(&helpers::H_PDEP, &[a, b, k]);
            let r = cx.zext(r, bytes);
            cx.set_gpr(dst, r);
        }
        M::Rorx => {
            let src = cx.read(1, addr, bytes)?;
            let n = u64::from(cx.i.immediate8()) & (bits - 1);
            let r = if n == 0 {
                src
            } else {
                let lo = cx.opi(Opcode::Shr, src, n);
                let hi = cx.opi(Opcode::Shl, src, bits - n);
                let r = cx.op(Opcode::Or, lo, hi);
                cx.zext(r, bytes)
            };
            cx.set_gpr(dst, r);
        }
        M::Sarx | M::Shlx | M::Shrx => {
            let src = cx.read(1, addr, bytes)?;
            let c = cx.read(2, addr, bytes)?;
            let c = cx.opi(Opcode::And, c, bits - 1);
            let r = match m {
                M::Sarx => {
                    let s = cx.sext(src, bytes);
                    cx.op(Opcode::Sar, s, c)
                }
                M::Shlx => cx.op(Opcode::Shl, src, c),
                _ => cx.op(Opcode::Shr, src, c),
            };
            let r = cx.zext(r, bytes);
            cx.set_gpr(dst, r);
        }
        _ => {
            // mulx: hi:lo = rdx * src; op0 = hi, op1 = lo (hi wins when they are the same).
            let src = cx.read(2, addr, bytes)?;
            let rdx = cx.get_gpr(if bytes == 8 {
                iced_x86::Register::RDX
            } else {
                iced_x86::Register::EDX
            });
            let (hi, lo) = if bytes == 8 {
                (cx.op(Opcode::MulHu, rdx, src), cx.op(Opcode::Mul, rdx, src))
            } else {
                let p = cx.op(Opcode::Mul, rdx, src);
                let h = cx.opi(Opcode::Shr, p, 32);
                (h, cx.zext(p, 4))
            };
            let lo_reg = cx.i.op1_register();
            cx.set_gpr(lo_reg, lo);
            cx.set_gpr(dst, hi);
        }
    }
    Some(())
}
