//! RV64A — Unprivileged ISA, ch. "A" Extension for Atomic Instructions.
//! LR records the address and the loaded value; SC is a compare-and-swap against that value at
//! that address (QEMU's approach), and always clears the reservation. All need natural
//! alignment: LR raises load-address-misaligned, SC and AMOs store/AMO-address-misaligned.

use super::LiftCx;
use crate::decode::{A, Args, Op};
use crate::state::{RES_ADDR, RES_NONE, RES_VAL};
use crate::{LOAD_ADDRESS_MISALIGNED, STORE_ADDRESS_MISALIGNED};
use xlat_ir::{AtomicOp, Cond, MemOp, Ty};

/// Lifts `op` if it belongs to RV64A; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args) -> bool {
    let Args::A(a) = args else { return false };
    use Op::*;
    let (amo, bytes) = match op {
        LrW => return lift_lr(cx, a, 4),
        LrD => return lift_lr(cx, a, 8),
        ScW => return lift_sc(cx, a, 4),
        ScD => return lift_sc(cx, a, 8),
        AmoswapW => (AtomicOp::Xchg, 4),
        AmoaddW => (AtomicOp::Add, 4),
        AmoxorW => (AtomicOp::Xor, 4),
        AmoandW => (AtomicOp::And, 4),
        AmoorW => (AtomicOp::Or, 4),
        AmominW => (AtomicOp::MinS, 4),
        AmomaxW => (AtomicOp::MaxS, 4),
        AmominuW => (AtomicOp::MinU, 4),
        AmomaxuW => (AtomicOp::MaxU, 4),
        AmoswapD => (AtomicOp::Xchg, 8),
        AmoaddD => (AtomicOp::Add, 8),
        AmoxorD => (AtomicOp::Xor, 8),
        AmoandD => (AtomicOp::And, 8),
        AmoorD => (AtomicOp::Or, 8),
        AmominD => (AtomicOp::MinS, 8),
        AmomaxD => (AtomicOp::MaxS, 8),
        AmominuD => (AtomicOp::MinU, 8),
        AmomaxuD => (AtomicOp::MaxU, 8),
        _ => return false,
    };
    gen_amo(cx, a, amo, bytes);
    true
}

fn memop(bytes: u32, signed: bool) -> MemOp {
    MemOp {
        aligned: true,
        ..MemOp::le(bytes, signed)
    }
}

fn lift_lr(cx: &mut LiftCx, a: A, bytes: u32) -> bool {
    let addr = cx.gen_get_x(a.rs1);
    cx.gen_check_align(addr, u64::from(bytes), LOAD_ADDRESS_MISALIGNED);
    let v = cx.b.load(Ty::I64, addr, 0, memop(bytes, true));
    cx.b.set_reg(RES_ADDR, addr);
    cx.b.set_reg(RES_VAL, v);
    cx.gen_set_x(a.rd, v);
    true
}

fn lift_sc(cx: &mut LiftCx, a: A, bytes: u32) -> bool {
    let addr = cx.gen_get_x(a.rs1);
    cx.gen_check_align(addr, u64::from(bytes), STORE_ADDRESS_MISALIGNED);
    let src = cx.gen_get_x(a.rs2);
    let res = cx.b.get_reg(Ty::I64, RES_ADDR);
    let none = cx.b.konst(Ty::I64, RES_NONE);
    cx.b.set_reg(RES_ADDR, none);
    let result = cx.b.konst(Ty::I64, 1);
    let fail = cx.b.label();
    cx.b.branch(Cond::Ne, res, addr, fail);
    let expected = cx.b.get_reg(Ty::I64, RES_VAL);
    let failed = if bytes == 4 {
        let (e, n) = (cx.b.trunc(expected), cx.b.trunc(src));
        let old = cx.b.atomic_cas(addr, e, n, memop(4, false));
        let f = cx.b.setcond(Cond::Ne, old, e);
        cx.b.extu(f)
    } else {
        let old = cx.b.atomic_cas(addr, expected, src, memop(8, false));
        cx.b.setcond(Cond::Ne, old, expected)
    };
    cx.b.mov(result, failed);
    cx.b.set_label(fail);
    cx.gen_set_x(a.rd, result);
    true
}

fn gen_amo(cx: &mut LiftCx, a: A, op: AtomicOp, bytes: u32) {
    let addr = cx.gen_get_x(a.rs1);
    cx.gen_check_align(addr, u64::from(bytes), STORE_ADDRESS_MISALIGNED);
    let src = cx.gen_get_x(a.rs2);
    let old = if bytes == 4 {
        let s = cx.b.trunc(src);
        let old = cx.b.atomic_rmw(op, addr, s, memop(4, false));
        cx.b.exts(old)
    } else {
        cx.b.atomic_rmw(op, addr, src, memop(8, false))
    };
    cx.gen_set_x(a.rd, old);
}
