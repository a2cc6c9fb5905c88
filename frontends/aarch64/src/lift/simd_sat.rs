//! SQADD, UQADD, SQSUB, UQSUB (vector, 8-, 16- and 32-bit lanes) inline as integer IR on each
//! 64-bit word of the operands (SIMD within a register): the wrapped sum or difference without
//! carries between lanes, each lane's overflow from its top bits, the saturated value in the
//! lanes that overflowed, and FPSR.QC set when any lane did. 64-bit lanes stay on the helper.

use super::LiftCx;
use crate::state;
use xlat_ir::{Cond, Opcode, Temp, Ty};

/// Each lane's top bit, for lanes of `es` bits.
fn top(es: u32) -> u64 {
    match es {
        8 => 0x8080_8080_8080_8080,
        16 => 0x8000_8000_8000_8000,
        _ => 0x8000_0000_8000_0000,
    }
}

/// Lane-wise add without carries between lanes.
fn add(cx: &mut LiftCx, a: Temp, b: Temp, es: u32) -> Temp {
    let h = top(es);
    let a7 = cx.b.binop_imm(Opcode::And, a, !h);
    let b7 = cx.b.binop_imm(Opcode::And, b, !h);
    let s = cx.b.binop(Opcode::Add, a7, b7);
    let x = cx.b.binop(Opcode::Xor, a, b);
    let xh = cx.b.binop_imm(Opcode::And, x, h);
    cx.b.binop(Opcode::Xor, s, xh)
}

/// Lane-wise subtract without borrows between lanes.
fn sub(cx: &mut LiftCx, a: Temp, b: Temp, es: u32) -> Temp {
    let h = top(es);
    let ah = cx.b.binop_imm(Opcode::Or, a, h);
    let b7 = cx.b.binop_imm(Opcode::And, b, !h);
    let d = cx.b.binop(Opcode::Sub, ah, b7);
    let x = cx.b.binop(Opcode::XorN, a, b);
    let xh = cx.b.binop_imm(Opcode::And, x, h);
    cx.b.binop(Opcode::Xor, d, xh)
}

/// Widens each lane's top bit (the rest of the lane zero) to the whole lane.
fn widen_top(cx: &mut LiftCx, m: Temp, es: u32) -> Temp {
    let one = cx.b.binop_imm(Opcode::Shr, m, u64::from(es - 1));
    let rest = cx.b.binop(Opcode::Sub, m, one);
    cx.b.binop(Opcode::Or, m, rest)
}

/// One word of the saturating op: (result, top bits of the lanes that saturated).
fn word(cx: &mut LiftCx, a: Temp, b: Temp, es: u32, u: bool, subtract: bool) -> (Temp, Temp) {
    let h = top(es);
    let r = if subtract {
        sub(cx, a, b, es)
    } else {
        add(cx, a, b, es)
    };
    let sat = match (u, subtract) {
        // Carry out of the top bit: (a & b) | ((a | b) & ~r).
        (true, false) => {
            let ab = cx.b.binop(Opcode::And, a, b);
            let o = cx.b.binop(Opcode::Or, a, b);
            let or = cx.b.binop(Opcode::AndN, o, r);
            cx.b.binop(Opcode::Or, ab, or)
        }
        // Borrow out of the top bit: (~a & b) | (~(a ^ b) & r).
        (true, true) => {
            let nab = cx.b.binop(Opcode::AndN, b, a);
            let x = cx.b.binop(Opcode::XorN, a, b);
            let xr = cx.b.binop(Opcode::And, x, r);
            cx.b.binop(Opcode::Or, nab, xr)
        }
        // Signed overflow: operands of one sign (add) or of different signs (subtract) and
        // a result of the other sign than a.
        (false, _) => {
            let x = if subtract {
                cx.b.binop(Opcode::Xor, a, b)
            } else {
                cx.b.binop(Opcode::XorN, a, b)
            };
            let ar = cx.b.binop(Opcode::Xor, a, r);
            cx.b.binop(Opcode::And, x, ar)
        }
    };
    let sat = cx.b.binop_imm(Opcode::And, sat, h);
    let m = widen_top(cx, sat, es);
    let out = match (u, subtract) {
        (true, false) => cx.b.binop(Opcode::Or, r, m),
        (true, true) => cx.b.binop(Opcode::AndN, r, m),
        (false, _) => {
            // The limit of a's sign: 0x7f.. when a >= 0, 0x80.. when a < 0.
            let sa = cx.b.binop_imm(Opcode::And, a, h);
            let wa = widen_top(cx, sa, es);
            let lim = cx.b.binop_imm(Opcode::Xor, wa, !h);
            let keep = cx.b.binop(Opcode::AndN, r, m);
            let put = cx.b.binop(Opcode::And, lim, m);
            cx.b.binop(Opcode::Or, keep, put)
        }
    };
    (out, sat)
}

/// Lifts SQADD/UQADD (op 00001) or SQSUB/UQSUB (op 00101) of `es` < 64 bit lanes.
pub(super) fn three_same(
    cx: &mut LiftCx,
    (q, u, es): (bool, bool, u32),
    subtract: bool,
    (rd, rn, rm): (u32, u32, u32),
) {
    let mut words = Vec::new();
    let mut any: Option<Temp> = None;
    for hw in 0..if q { 2 } else { 1 } {
        let a = cx.b.get_reg(Ty::I64, state::v(rn as u8) + 8 * hw);
        let b = cx.b.get_reg(Ty::I64, state::v(rm as u8) + 8 * hw);
        let (r, sat) = word(cx, a, b, es, u, subtract);
        words.push(r);
        any = Some(match any {
            None => sat,
            Some(x) => cx.b.binop(Opcode::Or, x, sat),
        });
    }
    let o = state::v(rd as u8);
    cx.b.set_reg(o, words[0]);
    let hi = match words.get(1) {
        Some(&w) => w,
        None => cx.b.konst(Ty::I64, 0),
    };
    cx.b.set_reg(o + 8, hi);
    // FPSR.QC (bit 27) when any lane saturated.
    let zero = cx.b.konst(Ty::I64, 0);
    let sat =
        cx.b.setcond(Cond::Ne, any.expect("one word at least"), zero);
    let qc = cx.b.binop_imm(Opcode::Shl, sat, 27);
    let fpsr = cx.b.get_reg(Ty::I64, state::FPSR);
    let fpsr = cx.b.binop(Opcode::Or, fpsr, qc);
    cx.b.set_reg(state::FPSR, fpsr);
}
