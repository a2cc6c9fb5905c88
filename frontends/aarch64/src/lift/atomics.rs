//! Atomic accesses of every A64 size over the IR's 32- and 64-bit atomics: 32-bit values go
//! through i32 temps; bytes and halfwords are a compare-and-swap loop on their aligned word.

use super::LiftCx;
use xlat_ir::{AtomicOp, Cond, MemOp, Opcode, Temp, Ty};

fn aligned(bytes: u32) -> MemOp {
    MemOp {
        aligned: true,
        ..MemOp::le(bytes, false)
    }
}

/// Compare-and-swap of `1 << size` bytes at `addr`: `exp` and `new` zero-extended 64-bit
/// temps; returns the old value, zero-extended.
pub(super) fn cas(cx: &mut LiftCx, addr: Temp, exp: Temp, new: Temp, size: u32) -> Temp {
    match size {
        3 => cx.b.atomic_cas(addr, exp, new, aligned(8)),
        2 => {
            let e = cx.b.trunc(exp);
            let n = cx.b.trunc(new);
            let o = cx.b.atomic_cas(addr, e, n, aligned(4));
            cx.b.extu(o)
        }
        _ => sub_word(cx, addr, size, |_, _old| new, Some(exp)),
    }
}

/// `op` of `1 << size` bytes at `addr` with `val` (zero-extended, or sign-extended for the
/// signed min/max); returns the old value zero-extended.
pub(super) fn rmw(cx: &mut LiftCx, op: AtomicOp, addr: Temp, val: Temp, size: u32) -> Temp {
    match size {
        3 => cx.b.atomic_rmw(op, addr, val, aligned(8)),
        2 => {
            let v = cx.b.trunc(val);
            let o = cx.b.atomic_rmw(op, addr, v, aligned(4));
            cx.b.extu(o)
        }
        _ => {
            let signed = matches!(op, AtomicOp::MinS | AtomicOp::MaxS);
            sub_word(
                cx,
                addr,
                size,
                move |cx, old| {
                    let old = if signed {
                        let u = if size == 0 {
                            Opcode::Sext8
                        } else {
                            Opcode::Sext16
                        };
                        cx.b.unop(u, old)
                    } else {
                        old
                    };
                    let o = match op {
                        AtomicOp::Xchg => return val,
                        AtomicOp::Add => Opcode::Add,
                        AtomicOp::And => Opcode::And,
                        AtomicOp::Or => Opcode::Or,
                        AtomicOp::Xor => Opcode::Xor,
                        AtomicOp::MinS => Opcode::MinS,
                        AtomicOp::MaxS => Opcode::MaxS,
                        AtomicOp::MinU => Opcode::MinU,
                        AtomicOp::MaxU => Opcode::MaxU,
                    };
                    cx.b.binop(o, old, val)
                },
                None,
            )
        }
    }
}

/// A byte or halfword update as a CAS loop on the aligned 32-bit word holding it. `f` computes
/// the new lane from the old (zero-extended); with `expect`, the store happens only when the old
/// lane equals it. Returns the old lane.
fn sub_word(
    cx: &mut LiftCx,
    addr: Temp,
    size: u32,
    f: impl Fn(&mut LiftCx, Temp) -> Temp,
    expect: Option<Temp>,
) -> Temp {
    let lane_mask = if size == 0 { 0xffu64 } else { 0xffff };
    if size == 1 {
        // A halfword must not straddle words: require natural alignment, as the CAS would.
        cx.b.load(Ty::I64, addr, 0, aligned(2));
    }
    let waddr = cx.b.binop_imm(Opcode::And, addr, !3);
    let sh = cx.b.binop_imm(Opcode::And, addr, 3);
    let sh = cx.b.binop_imm(Opcode::Shl, sh, 3);
    let m = cx.b.konst(Ty::I64, lane_mask);
    let m = cx.b.binop(Opcode::Shl, m, sh);
    let old_lane = cx.b.temp(Ty::I64);
    let again = cx.b.label();
    let done = cx.b.label();
    cx.b.set_label(again);
    let word = cx.b.load(Ty::I32, waddr, 0, aligned(4));
    let word64 = cx.b.extu(word);
    let lane = cx.b.binop(Opcode::Shr, word64, sh);
    let lane = cx.b.binop_imm(Opcode::And, lane, lane_mask);
    cx.b.mov(old_lane, lane);
    if let Some(e) = expect {
        cx.b.branch(Cond::Ne, lane, e, done);
    }
    let new_lane = f(cx, lane);
    let new_lane = cx.b.binop_imm(Opcode::And, new_lane, lane_mask);
    let new_bits = cx.b.binop(Opcode::Shl, new_lane, sh);
    let rest = cx.b.binop(Opcode::AndN, word64, m);
    let new_word = cx.b.binop(Opcode::Or, rest, new_bits);
    let new32 = cx.b.trunc(new_word);
    let got = cx.b.atomic_cas(waddr, word, new32, aligned(4));
    cx.b.branch(Cond::Ne, got, word, again);
    cx.b.set_label(done);
    old_lane
}
