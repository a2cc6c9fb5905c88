//! Zba, Zbb, Zbs — the Bit-Manipulation ISA-extensions (version 1.0.0).

use super::LiftCx;
use super::rv_i::{gen_alu, gen_alu_imm_w, gen_alu_w, gen_get_w, gen_shift_imm};
use crate::decode::{Args, Op, R, Sh};
use crate::helpers;
use xlat_ir::{Opcode, Temp, Ty};

/// Lifts `op` if it belongs to Zba/Zbb/Zbs; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args) -> bool {
    match args {
        Args::R(a) => lift_r(cx, op, a),
        Args::Sh(a) => lift_sh(cx, op, a),
        _ => false,
    }
}

fn lift_r(cx: &mut LiftCx, op: Op, a: R) -> bool {
    use Op::*;
    match op {
        AddUw => gen_shadd(cx, a, 0, true),
        Sh1add => gen_shadd(cx, a, 1, false),
        Sh2add => gen_shadd(cx, a, 2, false),
        Sh3add => gen_shadd(cx, a, 3, false),
        Sh1addUw => gen_shadd(cx, a, 1, true),
        Sh2addUw => gen_shadd(cx, a, 2, true),
        Sh3addUw => gen_shadd(cx, a, 3, true),
        Andn => gen_alu(cx, a, Opcode::AndN),
        Orn => gen_alu(cx, a, Opcode::OrN),
        Xnor => gen_alu(cx, a, Opcode::XorN),
        Clz => gen_unary(cx, a, Opcode::Clz),
        Ctz => gen_unary(cx, a, Opcode::Ctz),
        Cpop => gen_unary(cx, a, Opcode::Popcnt),
        Clzw => gen_unary_w(cx, a, Opcode::Clz),
        Ctzw => gen_unary_w(cx, a, Opcode::Ctz),
        Cpopw => gen_unary_w(cx, a, Opcode::Popcnt),
        Max => gen_alu(cx, a, Opcode::MaxS),
        Maxu => gen_alu(cx, a, Opcode::MaxU),
        Min => gen_alu(cx, a, Opcode::MinS),
        Minu => gen_alu(cx, a, Opcode::MinU),
        SextB => gen_unary(cx, a, Opcode::Sext8),
        SextH => gen_unary(cx, a, Opcode::Sext16),
        ZextH => gen_unary(cx, a, Opcode::Zext16),
        Rol => gen_alu(cx, a, Opcode::Rotl),
        Ror => gen_alu(cx, a, Opcode::Rotr),
        Rolw => gen_alu_w(cx, a, Opcode::Rotl),
        Rorw => gen_alu_w(cx, a, Opcode::Rotr),
        OrcB => {
            let x = cx.gen_get_x(a.rs1);
            let v = cx.b.call(&helpers::ORC_B, &[x]);
            cx.gen_set_x(a.rd, v);
        }
        Rev8 => gen_unary(cx, a, Opcode::Bswap),
        Bclr | Bext | Binv | Bset => {
            let sh = cx.gen_get_x(a.rs2);
            gen_bit(cx, a.rd, a.rs1, op, sh);
        }
        _ => return false,
    }
    true
}

fn lift_sh(cx: &mut LiftCx, op: Op, a: Sh) -> bool {
    use Op::*;
    match op {
        SlliUw => lift_slli_uw(cx, a),
        Rori => gen_shift_imm(cx, a, Opcode::Rotr),
        Roriw => gen_alu_imm_w(cx, a.rd, a.rs1, a.shamt.into(), Opcode::Rotr),
        Bclri | Bexti | Binvi | Bseti => {
            let sh = cx.b.konst(Ty::I64, a.shamt.into());
            gen_bit(cx, a.rd, a.rs1, op, sh);
        }
        _ => return false,
    }
    true
}

/// `rd = (zext32?(rs1) << n) + rs2`.
fn gen_shadd(cx: &mut LiftCx, a: R, n: u64, uw: bool) {
    let mut x = cx.gen_get_x(a.rs1);
    if uw {
        x = cx.b.unop(Opcode::Zext32, x);
    }
    let s = cx.b.binop_imm(Opcode::Shl, x, n);
    let y = cx.gen_get_x(a.rs2);
    let v = cx.b.binop(Opcode::Add, s, y);
    cx.gen_set_x(a.rd, v);
}

fn lift_slli_uw(cx: &mut LiftCx, a: Sh) {
    let x = cx.gen_get_x(a.rs1);
    let x = cx.b.unop(Opcode::Zext32, x);
    let v = cx.b.binop_imm(Opcode::Shl, x, a.shamt.into());
    cx.gen_set_x(a.rd, v);
}

fn gen_unary(cx: &mut LiftCx, a: R, op: Opcode) {
    let x = cx.gen_get_x(a.rs1);
    let v = cx.b.unop(op, x);
    cx.gen_set_x(a.rd, v);
}

/// clzw/ctzw/cpopw: counts on the low word; the count is small, so zero-extend it.
fn gen_unary_w(cx: &mut LiftCx, a: R, op: Opcode) {
    let x = gen_get_w(cx, a.rs1);
    let v = cx.b.unop(op, x);
    let v = cx.b.extu(v);
    cx.gen_set_x(a.rd, v);
}

/// Single-bit ops on bit `sh mod 64` of rs1.
fn gen_bit(cx: &mut LiftCx, rd: u8, rs1: u8, op: Op, sh: Temp) {
    let x = cx.gen_get_x(rs1);
    let one = cx.b.konst(Ty::I64, 1);
    let v = match op {
        Op::Bext | Op::Bexti => {
            let s = cx.b.binop(Opcode::Shr, x, sh);
            cx.b.binop(Opcode::And, s, one)
        }
        _ => {
            let m = cx.b.binop(Opcode::Shl, one, sh);
            let irop = match op {
                Op::Bclr | Op::Bclri => Opcode::AndN,
                Op::Binv | Op::Binvi => Opcode::Xor,
                _ => Opcode::Or,
            };
            cx.b.binop(irop, x, m)
        }
    };
    cx.gen_set_x(rd, v);
}
