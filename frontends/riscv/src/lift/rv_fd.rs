//! RV64F / RV64D — Unprivileged ISA, ch. "F" and "D" Standard Extensions.
//! Loads, stores, moves and sign injection are IR; arithmetic, compares, classify and
//! conversions call [`crate::helpers`] (which use [`crate::fpu`] for exact IEEE results).

use super::LiftCx;
use crate::decode::{Args, I, Op, R4, Rf, S};
use crate::helpers;
use xlat_ir::{Cond, MemOp, Opcode, Temp, Ty};

const BOX: u64 = 0xffff_ffff_0000_0000;
const CANONICAL_NAN_S: u64 = 0x7fc0_0000;

/// Lifts `op` if it belongs to F or D; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args, raw: u32) -> bool {
    match (op, args) {
        (Op::Flw, Args::I(a)) => gen_fload(cx, a, 4),
        (Op::Fld, Args::I(a)) => gen_fload(cx, a, 8),
        (Op::Fsw, Args::S(a)) => gen_fstore(cx, a, 4),
        (Op::Fsd, Args::S(a)) => gen_fstore(cx, a, 8),
        (_, Args::R4(a)) => lift_fma(cx, a, raw),
        (_, Args::Rf(a)) => return lift_rf(cx, op, a, raw),
        _ => return false,
    }
    true
}

fn lift_rf(cx: &mut LiftCx, op: Op, a: Rf, raw: u32) -> bool {
    use Op::*;
    match op {
        FsgnjS => gen_sgnj_s(cx, a, Opcode::Or, false),
        FsgnjnS => gen_sgnj_s(cx, a, Opcode::Or, true),
        FsgnjxS => gen_sgnj_s(cx, a, Opcode::Xor, false),
        FsgnjD => gen_sgnj(cx, a, 63, false, Opcode::Or),
        FsgnjnD => gen_sgnj(cx, a, 63, true, Opcode::Or),
        FsgnjxD => gen_sgnj(cx, a, 63, false, Opcode::Xor),
        FmvXW => {
            let v = cx.gen_get_f(a.rs1);
            let v = cx.b.unop(Opcode::Sext32, v);
            cx.gen_set_x(a.rd, v);
        }
        FmvWX => {
            let v = cx.gen_get_x(a.rs1);
            let v = cx.b.unop(Opcode::Zext32, v);
            let v = cx.b.binop_imm(Opcode::Or, v, BOX);
            cx.gen_set_f(a.rd, v);
        }
        FmvXD => {
            let v = cx.gen_get_f(a.rs1);
            cx.gen_set_x(a.rd, v);
        }
        FmvDX => {
            let v = cx.gen_get_x(a.rs1);
            cx.gen_set_f(a.rd, v);
        }
        FminS | FmaxS | FminD | FmaxD => gen_op(cx, a, raw, Src::Ff, Dst::F, false),
        FeqS | FltS | FleS | FeqD | FltD | FleD => gen_op(cx, a, raw, Src::Ff, Dst::X, false),
        FclassS | FclassD => gen_op(cx, a, raw, Src::F, Dst::X, false),
        FaddS | FsubS | FmulS | FdivS | FaddD | FsubD | FmulD | FdivD => {
            gen_op(cx, a, raw, Src::Ff, Dst::F, true)
        }
        FsqrtS | FsqrtD | FcvtSD | FcvtDS => gen_op(cx, a, raw, Src::F, Dst::F, true),
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            gen_op(cx, a, raw, Src::F, Dst::X, true)
        }
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => {
            gen_op(cx, a, raw, Src::X, Dst::F, true)
        }
        _ => return false,
    }
    true
}

fn gen_fload(cx: &mut LiftCx, a: I, bytes: u32) {
    let base = cx.gen_get_x(a.rs1);
    let mut v = cx.b.load(Ty::I64, base, a.imm, MemOp::le(bytes, false));
    if bytes == 4 {
        v = cx.b.binop_imm(Opcode::Or, v, BOX);
    }
    cx.gen_set_f(a.rd, v);
}

fn gen_fstore(cx: &mut LiftCx, a: S, bytes: u32) {
    let base = cx.gen_get_x(a.rs1);
    let v = cx.gen_get_f(a.rs2);
    cx.b.store(v, base, a.imm, MemOp::le(bytes, false));
}

/// A static rounding mode of 5 or 6 is reserved: illegal at translation time.
fn bad_static_rm(rm: u8) -> bool {
    rm == 5 || rm == 6
}

#[derive(Clone, Copy)]
enum Src {
    /// rs1 and rs2 are f registers.
    Ff,
    /// rs1 is an f register.
    F,
    /// rs1 is an x register.
    X,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dst {
    F,
    X,
}

fn gen_op(cx: &mut LiftCx, a: Rf, raw: u32, src: Src, dst: Dst, uses_rm: bool) {
    if uses_rm && bad_static_rm(a.rm) {
        return cx.gen_illegal();
    }
    let (x, y) = match src {
        Src::Ff => (cx.gen_get_f(a.rs1), cx.gen_get_f(a.rs2)),
        Src::F => (cx.gen_get_f(a.rs1), cx.b.konst(Ty::I64, 0)),
        Src::X => (cx.gen_get_x(a.rs1), cx.b.konst(Ty::I64, 0)),
    };
    let insn = cx.b.konst(Ty::I64, u64::from(raw));
    let v = cx.b.call(&helpers::FP_OP, &[x, y, insn]);
    match dst {
        Dst::F => cx.gen_set_f(a.rd, v),
        Dst::X => cx.gen_set_x(a.rd, v),
    }
}

fn lift_fma(cx: &mut LiftCx, a: R4, raw: u32) {
    if bad_static_rm(a.rm) {
        return cx.gen_illegal();
    }
    let x = cx.gen_get_f(a.rs1);
    let y = cx.gen_get_f(a.rs2);
    let z = cx.gen_get_f(a.rs3);
    let insn = cx.b.konst(Ty::I64, u64::from(raw));
    let v = cx.b.call(&helpers::FP_FMA, &[x, y, z, insn]);
    cx.gen_set_f(a.rd, v);
}

/// An f register read as a single: the low word if properly NaN-boxed, else the canonical NaN.
fn gen_unbox_s(cx: &mut LiftCx, r: u8) -> Temp {
    let v = cx.gen_get_f(r);
    let hi = cx.b.binop_imm(Opcode::Shr, v, 32);
    let ones = cx.b.konst(Ty::I64, 0xffff_ffff);
    let lo = cx.b.unop(Opcode::Zext32, v);
    let nan = cx.b.konst(Ty::I64, CANONICAL_NAN_S);
    cx.b.select(Cond::Eq, hi, ones, lo, nan)
}

/// fsgnj{,n,x}.s on unboxed operands; the result is boxed.
fn gen_sgnj_s(cx: &mut LiftCx, a: Rf, op: Opcode, negate: bool) {
    let x = gen_unbox_s(cx, a.rs1);
    let y = gen_unbox_s(cx, a.rs2);
    let v = gen_inject(cx, x, y, 31, negate, op);
    let v = cx.b.binop_imm(Opcode::Or, v, BOX);
    cx.gen_set_f(a.rd, v);
}

fn gen_sgnj(cx: &mut LiftCx, a: Rf, sign: u64, negate: bool, op: Opcode) {
    let x = cx.gen_get_f(a.rs1);
    let y = cx.gen_get_f(a.rs2);
    let v = gen_inject(cx, x, y, sign, negate, op);
    cx.gen_set_f(a.rd, v);
}

/// Sign injection: fsgnj takes y's sign (`Or` into the cleared x), fsgnjn its inverse, fsgnjx
/// the xor of both signs (`Xor` into the whole x).
fn gen_inject(cx: &mut LiftCx, x: Temp, y: Temp, sign: u64, negate: bool, op: Opcode) -> Temp {
    let bit = 1u64 << sign;
    let mut s = cx.b.binop_imm(Opcode::And, y, bit);
    if negate {
        s = cx.b.binop_imm(Opcode::Xor, s, bit);
    }
    let base = if op == Opcode::Xor {
        x
    } else {
        cx.b.binop_imm(Opcode::AndN, x, bit)
    };
    cx.b.binop(op, base, s)
}
