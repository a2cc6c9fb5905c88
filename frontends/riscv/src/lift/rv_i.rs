//! RV64I — Unprivileged ISA, ch. "RV32I Base Integer Instruction Set" and "RV64I", plus
//! Zifencei (fence.i).

use super::LiftCx;
use crate::decode::{Args, Op};
use xlat_ir::{Cond, ExitReason, MemOp, Opcode, Temp, Ty};

/// Lifts `op` if it belongs to RV64I; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, a: Args) -> bool {
    use Op::*;
    match op {
        Lui => lift_lui(cx, a),
        Auipc => lift_auipc(cx, a),
        Jal => lift_jal(cx, a),
        Jalr => lift_jalr(cx, a),
        Beq => gen_branch(cx, a, Cond::Eq),
        Bne => gen_branch(cx, a, Cond::Ne),
        Blt => gen_branch(cx, a, Cond::Lt),
        Bge => gen_branch(cx, a, Cond::Ge),
        Bltu => gen_branch(cx, a, Cond::Ltu),
        Bgeu => gen_branch(cx, a, Cond::Geu),
        Lb => gen_load(cx, a, 1, true),
        Lh => gen_load(cx, a, 2, true),
        Lw => gen_load(cx, a, 4, true),
        Ld => gen_load(cx, a, 8, true),
        Lbu => gen_load(cx, a, 1, false),
        Lhu => gen_load(cx, a, 2, false),
        Lwu => gen_load(cx, a, 4, false),
        Sb => gen_store(cx, a, 1),
        Sh => gen_store(cx, a, 2),
        Sw => gen_store(cx, a, 4),
        Sd => gen_store(cx, a, 8),
        Addi => gen_alu_imm(cx, a, Opcode::Add),
        Slti => gen_setcond_imm(cx, a, Cond::Lt),
        Sltiu => gen_setcond_imm(cx, a, Cond::Ltu),
        Xori => gen_alu_imm(cx, a, Opcode::Xor),
        Ori => gen_alu_imm(cx, a, Opcode::Or),
        Andi => gen_alu_imm(cx, a, Opcode::And),
        Slli => gen_alu_imm(cx, a, Opcode::Shl),
        Srli => gen_alu_imm(cx, a, Opcode::Shr),
        Srai => gen_alu_imm(cx, a, Opcode::Sar),
        Add => gen_alu(cx, a, Opcode::Add),
        Sub => gen_alu(cx, a, Opcode::Sub),
        Sll => gen_alu(cx, a, Opcode::Shl),
        Slt => gen_setcond(cx, a, Cond::Lt),
        Sltu => gen_setcond(cx, a, Cond::Ltu),
        Xor => gen_alu(cx, a, Opcode::Xor),
        Srl => gen_alu(cx, a, Opcode::Shr),
        Sra => gen_alu(cx, a, Opcode::Sar),
        Or => gen_alu(cx, a, Opcode::Or),
        And => gen_alu(cx, a, Opcode::And),
        Fence => cx.b.fence(),
        FenceI => cx.b.exit(ExitReason::FlushCode, cx.next_pc()),
        Ecall => cx.b.exit(ExitReason::Syscall, cx.pc),
        Ebreak => cx.b.exit(ExitReason::Breakpoint, cx.pc),
        Addiw => gen_alu_imm_w(cx, a, Opcode::Add),
        Slliw => gen_alu_imm_w(cx, a, Opcode::Shl),
        Srliw => gen_alu_imm_w(cx, a, Opcode::Shr),
        Sraiw => gen_alu_imm_w(cx, a, Opcode::Sar),
        Addw => gen_alu_w(cx, a, Opcode::Add),
        Subw => gen_alu_w(cx, a, Opcode::Sub),
        Sllw => gen_alu_w(cx, a, Opcode::Shl),
        Srlw => gen_alu_w(cx, a, Opcode::Shr),
        Sraw => gen_alu_w(cx, a, Opcode::Sar),
        _ => return false,
    }
    true
}

fn lift_lui(cx: &mut LiftCx, a: Args) {
    let v = cx.b.konst(Ty::I64, a.imm as u64);
    cx.gen_set_x(a.rd, v);
}

fn lift_auipc(cx: &mut LiftCx, a: Args) {
    let v = cx.b.konst(Ty::I64, cx.pc.wrapping_add(a.imm as u64));
    cx.gen_set_x(a.rd, v);
}

fn lift_jal(cx: &mut LiftCx, a: Args) {
    let link = cx.b.konst(Ty::I64, cx.next_pc());
    cx.gen_set_x(a.rd, link);
    cx.b.goto_tb(0, cx.pc.wrapping_add(a.imm as u64));
}

fn lift_jalr(cx: &mut LiftCx, a: Args) {
    // The target is computed before rd is written (rd may equal rs1).
    let base = cx.gen_get_x(a.rs1);
    let t = cx.b.binop_imm(Opcode::Add, base, a.imm as u64);
    let t = cx.b.binop_imm(Opcode::And, t, !1);
    let link = cx.b.konst(Ty::I64, cx.next_pc());
    cx.gen_set_x(a.rd, link);
    cx.b.goto_ptr(t);
}

/// Conditional branch: taken exits through slot 0, fall-through through slot 1.
pub(super) fn gen_branch(cx: &mut LiftCx, a: Args, cond: Cond) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let taken = cx.b.label();
    cx.b.branch(cond, x, y, taken);
    cx.b.goto_tb(1, cx.next_pc());
    cx.b.set_label(taken);
    cx.b.goto_tb(0, cx.pc.wrapping_add(a.imm as u64));
}

fn gen_load(cx: &mut LiftCx, a: Args, bytes: u32, signed: bool) {
    let base = cx.gen_get_x(a.rs1);
    let v = cx.b.load(Ty::I64, base, a.imm, MemOp::le(bytes, signed));
    cx.gen_set_x(a.rd, v);
}

fn gen_store(cx: &mut LiftCx, a: Args, bytes: u32) {
    let base = cx.gen_get_x(a.rs1);
    let v = cx.gen_get_x(a.rs2);
    cx.b.store(v, base, a.imm, MemOp::le(bytes, false));
}

/// `rd = op(rs1, rs2)` on 64 bits.
pub(super) fn gen_alu(cx: &mut LiftCx, a: Args, op: Opcode) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let v = cx.b.binop(op, x, y);
    cx.gen_set_x(a.rd, v);
}

/// `rd = op(rs1, imm)` on 64 bits.
pub(super) fn gen_alu_imm(cx: &mut LiftCx, a: Args, op: Opcode) {
    let x = cx.gen_get_x(a.rs1);
    let v = cx.b.binop_imm(op, x, a.imm as u64);
    cx.gen_set_x(a.rd, v);
}

fn gen_setcond(cx: &mut LiftCx, a: Args, cond: Cond) {
    let x = cx.gen_get_x(a.rs1);
    let y = cx.gen_get_x(a.rs2);
    let v = cx.b.setcond(cond, x, y);
    cx.gen_set_x(a.rd, v);
}

fn gen_setcond_imm(cx: &mut LiftCx, a: Args, cond: Cond) {
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
pub(super) fn gen_alu_w(cx: &mut LiftCx, a: Args, op: Opcode) {
    let x = gen_get_w(cx, a.rs1);
    let y = gen_get_w(cx, a.rs2);
    let v = cx.b.binop(op, x, y);
    gen_set_w(cx, a.rd, v);
}

fn gen_alu_imm_w(cx: &mut LiftCx, a: Args, op: Opcode) {
    let x = gen_get_w(cx, a.rs1);
    let v = cx.b.binop_imm(op, x, a.imm as u64);
    gen_set_w(cx, a.rd, v);
}
