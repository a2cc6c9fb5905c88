//! feq/flt/fle and fmin/fmax (Unprivileged ISA, "F" chapter, "Single-Precision Floating-Point
//! Compare Instructions" and "... Min/Max") as integer IR when neither operand is a NaN: then
//! they raise no flag, and IEEE order is the order of the sign-magnitude bit patterns (read as
//! integers, with -0 and +0 both 0). A NaN operand (including an improperly NaN-boxed single)
//! takes the full helper, which raises NV where the instruction does and picks the result.

use super::LiftCx;
use super::rv_fd::{BOX, gen_unbox};
use crate::decode::{Op, Rf};
use crate::helpers;
use xlat_ir::{Cond, Opcode, Temp, Ty};

/// Lifts a compare or min/max; returns false for any other op.
pub(super) fn lift(cx: &mut LiftCx, op: Op, a: Rf, raw: u32) -> bool {
    use Op::*;
    let single = match op {
        FeqS | FltS | FleS | FminS | FmaxS => true,
        FeqD | FltD | FleD | FminD | FmaxD => false,
        _ => return false,
    };
    let (ra, rb) = (cx.gen_get_f(a.rs1), cx.gen_get_f(a.rs2));
    let (x, y, abs, inf) = if single {
        let (x, y) = (gen_unbox(cx, ra), gen_unbox(cx, rb));
        (x, y, 0x7fff_ffff, 0x7f80_0000)
    } else {
        (ra, rb, i64::MAX as u64, 0x7ff0_0000_0000_0000)
    };
    let ax = cx.b.binop_imm(Opcode::And, x, abs);
    let ay = cx.b.binop_imm(Opcode::And, y, abs);
    let r = cx.b.temp(Ty::I64);
    let (slow, done) = (cx.b.label(), cx.b.label());
    // A NaN has a magnitude above infinity's.
    let m = cx.b.binop(Opcode::MaxU, ax, ay);
    let infk = cx.b.konst(Ty::I64, inf);
    cx.b.branch(Cond::Gtu, m, infk, slow);
    let (kx, ky) = (gen_key(cx, x, ax, single), gen_key(cx, y, ay, single));
    let v = match op {
        FeqS | FeqD => {
            // Equal bits, or both zeros.
            let same = cx.b.setcond(Cond::Eq, x, y);
            let mags = cx.b.binop(Opcode::Or, ax, ay);
            let zero = cx.b.konst(Ty::I64, 0);
            let zeros = cx.b.setcond(Cond::Eq, mags, zero);
            cx.b.binop(Opcode::Or, same, zeros)
        }
        FltS | FltD => cx.b.setcond(Cond::Lt, kx, ky),
        FleS | FleD => cx.b.setcond(Cond::Le, kx, ky),
        _ => {
            // The smaller (larger) by key; equal keys are equal values or two zeros, where
            // fmin wants -0 if either is (x | y) and fmax +0 if either is (x & y).
            let max = matches!(op, FmaxS | FmaxD);
            let (pick, tie_op) = if max {
                (Cond::Gt, Opcode::And)
            } else {
                (Cond::Lt, Opcode::Or)
            };
            let tie = cx.b.binop(tie_op, x, y);
            let other = cx.b.select(Cond::Eq, kx, ky, tie, y);
            let v = cx.b.select(pick, kx, ky, x, other);
            if single {
                cx.b.binop_imm(Opcode::Or, v, BOX)
            } else {
                v
            }
        }
    };
    cx.b.mov(r, v);
    cx.b.jump(done);
    cx.b.set_label(slow);
    let insn = cx.b.konst(Ty::I64, u64::from(raw));
    let v = cx.b.call(&helpers::FP_OP, &[ra, rb, insn]);
    cx.b.mov(r, v);
    cx.b.set_label(done);
    if matches!(op, FminS | FmaxS | FminD | FmaxD) {
        cx.gen_set_f(a.rd, r);
    } else {
        cx.gen_set_x(a.rd, r);
    }
    true
}

/// The signed integer that orders non-NaN `v` (magnitude `av`) as IEEE does: the magnitude,
/// negated for a set sign bit.
fn gen_key(cx: &mut LiftCx, v: Temp, av: Temp, single: bool) -> Temp {
    let wide = if single {
        // The single's sign (bit 31) to bit 63.
        cx.b.unop(Opcode::Sext32, v)
    } else {
        v
    };
    let sign = cx.b.binop_imm(Opcode::Sar, wide, 63);
    let flipped = cx.b.binop(Opcode::Xor, av, sign);
    cx.b.binop(Opcode::Sub, flipped, sign)
}

#[cfg(test)]
mod tests;
