//! RV64M — Unprivileged ISA, ch. "M" Extension for Integer Multiplication and Division.
//! The IR division ops already have the RISC-V results for division by zero and overflow.

use super::LiftCx;
use super::rv_i::{gen_alu, gen_alu_w};
use crate::decode::{Args, Op};
use xlat_ir::Opcode;

/// Lifts `op` if it belongs to RV64M; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args) -> bool {
    let Args::R(a) = args else { return false };
    use Op::*;
    let (w, irop) = match op {
        Mul => (false, Opcode::Mul),
        Mulh => (false, Opcode::MulHs),
        Mulhsu => (false, Opcode::MulHsu),
        Mulhu => (false, Opcode::MulHu),
        Div => (false, Opcode::DivS),
        Divu => (false, Opcode::DivU),
        Rem => (false, Opcode::RemS),
        Remu => (false, Opcode::RemU),
        Mulw => (true, Opcode::Mul),
        Divw => (true, Opcode::DivS),
        Divuw => (true, Opcode::DivU),
        Remw => (true, Opcode::RemS),
        Remuw => (true, Opcode::RemU),
        _ => return false,
    };
    if w {
        gen_alu_w(cx, a, irop)
    } else {
        gen_alu(cx, a, irop)
    }
    true
}
