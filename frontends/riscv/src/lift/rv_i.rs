//! RV64I — Unprivileged ISA, ch. "RV32I Base Integer Instruction Set" and "RV64I", plus
//! Zifencei (fence.i).

use super::LiftCx;
use crate::decode::{Args, B, I, J, Op, R, S, Sh, U};
use xlat_ir::{Cond, ExitReason, MemOp, Opcode, Temp, Ty};

/// Lifts `op` if it belongs to RV64I; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args) -> bool {
    use Op::*;
    match (op, args) {
        (Lui, Args::U(a)) => lift_lui(cx, a),
        (Auipc, Args::U(a)) => lift_auipc(cx, a),
        (Jal, Args::J(a)) => lift_jal(cx, a),
        (Jalr, Args::I(a)) => lift_jalr(cx, a),
        (Beq, Args::B(a)) => gen_branch(cx, a, Cond::Eq),
        (Bne, Args::B(a)) => gen_branch(cx, a, Cond::Ne),
        (Blt, Args::B(a)) => gen_branch(cx, a, Cond::Lt),
        (Bge, Args::B(a)) => gen_branch(cx, a, Cond::Ge),
        (Bltu, Args::B(a)) => gen_branch(cx, a, Cond::Ltu),
        (Bgeu, Args::B(a)) => gen_branch(cx, a, Cond::Geu),
        (Lb, Args::I(a)) => gen_load(cx, a, 1, true),
        (Lh, Args::I(a)) => gen_load(cx, a, 2, true),
        (Lw, Args::I(a)) => gen_load(cx, a, 4, true),
        (Ld, Args::I(a)) => gen_load(cx, a, 8, true),
        (Lbu, Args::I(a)) => gen_load(cx, a, 1, false),
        (Lhu, Args::I(a)) => gen_load(cx, a, 2, false),
        (Lwu, Args::I(a)) => gen_load(cx, a, 4, false),
        (Sb, Args::S(a)) => gen_store(cx, a, 1),
        (Sh, Args::S(a)) => gen_store(cx, a, 2),
        (Sw, Args::S(a)) => gen_store(cx, a, 4),
        (Sd, Args::S(a)) => gen_store(cx, a, 8),
        (Addi, Args::I(a)) => gen_alu_imm(cx, a, Opcode::Add),
        (Slti, Args::I(a)) => gen_setcond_imm(cx, a, Cond::Lt),
        (Sltiu, Args::I(a)) => gen_setcond_imm(cx, a, Cond::Ltu),
        (Xori, Args::I(a)) => gen_alu_imm(cx, a, Opcode::Xor),
        (Ori, Args::I(a)) => gen_alu_imm(cx, a, Opcode::Or),
        (Andi, Args::I(a)) => gen_alu_imm(cx, a, Opcode::And),
        (Slli, Args::Sh(a)) => gen_shift_imm(cx, a, Opcode::Shl),
        (Srli, Args::Sh(a)) => gen_shift_imm(cx, a, Opcode::Shr),
        (Srai, Args::Sh(a)) => gen_shift_imm(cx, a, Opcode::Sar),
        (Add, Args::R(a)) => gen_alu(cx, a, Opcode::Add),
        (Sub, Args::R(a)) => gen_alu(cx, a, Opcode::Sub),
        (Sll, Args::R(a)) => gen_alu(cx, a, Opcode::Shl),
        (Slt, Args::R(a)) => gen_setcond(cx, a, Cond::Lt),
        (Sltu, Args::R(a)) => gen_setcond(cx, a, Cond::Ltu),
        (Xor, Args::R(a)) => gen_alu(cx, a, Opcode::Xor),
        (Srl, Args::R(a)) => gen_alu(cx, a, Opcode::Shr),
        (Sra, Args::R(a)) => gen_alu(cx, a, Opcode::Sar),
        (Or, Args::R(a)) => gen_alu(cx, a, Opcode::Or),
        (And, Args::R(a)) => gen_alu(cx, a, Opcode::And),
        (Fence, _) => cx.b.fence(),
        // System mode: the machine decides whether translated code is stale (crate::system).
        (FenceI, _) if cx.system => cx.gen_illegal(),
        (FenceI, _) => cx.b.exit(ExitReason::FlushCode, cx.next_pc()),
        (Ecall, _) => cx.b.exit(ExitReason::Syscall, cx.pc),
        (Ebreak, _) => cx.b.exit(ExitReason::Breakpoint, cx.pc),
        (Addiw, Args::I(a)) => gen_alu_imm_w(cx, a.rd, a.rs1, a.imm as u64, Opcode::Add),
        (Slliw, Args::Sh(a)) => gen_alu_imm_w(cx, a.rd, a.rs1, a.shamt.into(), Opcode::Shl),
        (Srliw, Args::Sh(a)) => gen_alu_imm_w(cx, a.rd, a.rs1, a.shamt.into(), Opcode::Shr),
        (Sraiw, Args::Sh(a)) => gen_alu_imm_w(cx, a.rd, a.rs1, a.shamt.into(), Opcode::Sar),
        (Addw, Args::R(a)) => gen_alu_w(cx, a, Opcode::Add),
        (Subw, Args::R(a)) => gen_alu_w(cx, a, Opcode::Sub),
        (Sllw, Args::R(a)) => gen_alu_w(cx, a, Opcode::Shl),
        (Srlw, Args::R(a)) => gen_alu_w(cx, a, Opcode::Shr),
        (Sraw, Args::R(a)) => gen_alu_w(cx, a, Opcode::Sar),
        _ => return false,
    }
    true
}

fn lift_lui(cx: &mut LiftCx, a: U) {
    let v = cx.b.konst(Ty::I64, a.imm as u64);
    cx.gen_set_x(a.rd, v);
}

fn lift_auipc(cx: &mut LiftCx, a: U) {
    let v = cx.b.konst(Ty::I64, cx.pc.wrapping_add(a.imm as u64));
    cx.gen_set_x(a.rd, v);
}

fn lift_jal(cx: &mut LiftCx, a: J) {
    let link = cx.b.konst(Ty::I64, cx.next_pc());
    cx.gen_set_x(a.rd, link);
    cx.b.goto_tb(0, cx.pc.wrapping_add(a.imm as u64));
}

fn lift_jalr(cx: &mut LiftCx, a: I) {
    // The target is computed before rd is written (rd may equal rs1).
    let base = cx.gen_get_x(a.rs1);
    let t = cx.b.binop_imm(Opcode::Add, base, a.imm as u64);
    let t = cx.b.binop_imm(Opcode::And, t, !1);
    let link = cx.b.konst(Ty::I64, cx.next_pc());
    cx.gen_set_x(a.rd, link);
    cx.b.goto_ptr(t);
}

/// Conditional branch: taken exits through slot 0, fall-through through slot 1.
pub(super) fn gen_branch(cx: &mut LiftCx, a: B, cond: Cond) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let taken = cx.b.label();
    cx.b.branch(cond, x, y, taken);
    cx.b.goto_tb(1, cx.next_pc());
    cx.b.set_label(taken);
    cx.b.goto_tb(0, cx.pc.wrapping_add(a.imm as u64));
}

fn gen_load(cx: &mut LiftCx, a: I, bytes: u32, signed: bool) {
    let base = cx.gen_get_x(a.rs1);
    let v = cx.b.load(Ty::I64, base, a.imm, MemOp::le(bytes, signed));
    cx.gen_set_x(a.rd, v);
}

fn gen_store(cx: &mut LiftCx, a: S, bytes: u32) {
    let base = cx.gen_get_x(a.rs1);
    let v = cx.gen_get_x(a.rs2);
    cx.b.store(v, base, a.imm, MemOp::le(bytes, false));
}

/// `rd = op(rs1, rs2)` on 64 bits. With x0 as an operand of an op for which 0 is the identity
/// (`mv`, `neg`-free forms) the result is just the other register: no IR arithmetic.
pub(super) fn gen_alu(cx: &mut LiftCx, a: R, op: Opcode) {
    let identity_right = matches!(
        op,
        Opcode::Add
            | Opcode::Sub
            | Opcode::Or
            | Opcode::Xor
            | Opcode::Shl
            | Opcode::Shr
            | Opcode::Sar
    );
    let identity_left = matches!(op, Opcode::Add | Opcode::Or | Opcode::Xor);
    if a.rs2 == 0 && identity_right {
        let v = cx.gen_get_x(a.rs1);
        return cx.gen_set_x(a.rd, v);
    }
    if a.rs1 == 0 && identity_left {
        let v = cx.gen_get_x(a.rs2);
        return cx.gen_set_x(a.rd, v);
    }
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let v = cx.b.binop(op, x, y);
    cx.gen_set_x(a.rd, v);
}

/// `rd = op(rs1, imm)` on 64 bits; with rs1 = x0 (`li`) the result is a constant, computed
/// here with the interpreter's own semantics.
pub(super) fn gen_alu_imm(cx: &mut LiftCx, a: I, op: Opcode) {
    if a.rs1 == 0 {
        let v = xlat_ir::interp::binary(op, Ty::I64, 0, a.imm as u64);
        let v = cx.b.konst(Ty::I64, v);
        return cx.gen_set_x(a.rd, v);
    }
    let x = cx.gen_get_x(a.rs1);
    let v = if a.imm == 0 && matches!(op, Opcode::Add | Opcode::Or | Opcode::Xor) {
        x
    } else {
        cx.b.binop_imm(op, x, a.imm as u64)
    };
    cx.gen_set_x(a.rd, v);
}

fn gen_setcond(cx: &mut LiftCx, a: R, cond: Cond) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let v = cx.b.setcond(cond, x, y);
    cx.gen_set_x(a.rd, v);
}

fn gen_setcond_imm(cx: &mut LiftCx, a: I, cond: Cond) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.b.konst(Ty::I64, a.imm as u64);
    let v = cx.b.setcond(cond, x, y);
    cx.gen_set_x(a.rd, v);
}

/// Reads x`r` as its low 32 bits.
pub(super) fn gen_get_w(cx: &mut LiftCx, r: u8) -> Temp {
    let v = cx.gen_get_x(r);
    cx.b.trunc(v)
}

/// Writes a 32-bit result to x`r`, sign-extended (the RV64 *W rule).
pub(super) fn gen_set_w(cx: &mut LiftCx, r: u8, v: Temp) {
    let v = cx.b.exts(v);
    cx.gen_set_x(r, v);
}

/// `rd = sext32(op(rs1[31:0], rs2[31:0]))`.
pub(super) fn gen_alu_w(cx: &mut LiftCx, a: R, op: Opcode) {
    let x = gen_get_w(cx, a.rs1);
    let y = gen_get_w(cx, a.rs2);
    let v = cx.b.binop(op, x, y);
    gen_set_w(cx, a.rd, v);
}

/// `rd = sext32(op(rs1[31:0], imm))`.
pub(super) fn gen_alu_imm_w(cx: &mut LiftCx, rd: u8, rs1: u8, imm: u64, op: Opcode) {
    let x = gen_get_w(cx, rs1);
    let v = cx.b.binop_imm(op, x, imm);
    gen_set_w(cx, rd, v);
}

/// `rd = op(rs1, shamt)` on 64 bits.
pub(super) fn gen_shift_imm(cx: &mut LiftCx, a: Sh, op: Opcode) {
    let x = cx.gen_get_x(a.rs1);
    let v = cx.b.binop_imm(op, x, a.shamt.into());
    cx.gen_set_x(a.rd, v);
}
