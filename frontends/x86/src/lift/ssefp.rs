//! Lifting SSE/SSE2 floating point: scalar moves, arithmetic, conversions, compares, MXCSR.

use super::{Cx, Flow};
use crate::ssefp::op;
use crate::{helpers, state};
use iced_x86::{Mnemonic as M, OpKind, Register};
use xlat_ir::{Opcode, Temp, Ty};

fn xmm_off(r: Register) -> Option<u32> {
    r.is_xmm()
        .then(|| state::xmm((r as u32 - Register::XMM0 as u32) as u8))
}

/// The low `bytes` of operand `n` (xmm or memory), zero-extended.
fn low(cx: &mut Cx, n: u32, bytes: u32) -> Option<Temp> {
    Some(match cx.i.op_kind(n) {
        OpKind::Register => {
            let v = cx.b.get_reg(Ty::I64, xmm_off(cx.i.op_register(n))?);
            cx.zext(v, bytes)
        }
        OpKind::Memory => {
            let a = cx.ea();
            cx.load(a, bytes)
        }
        _ => return None,
    })
}

/// Writes the low `bytes` of xmm `d`, keeping the rest.
fn set_low(cx: &mut Cx, d: u32, v: Temp, bytes: u32) {
    let v = if bytes == 8 {
        v
    } else {
        let old = cx.b.get_reg(Ty::I64, d);
        let hi = cx.opi(Opcode::AndN, old, 0xffff_ffff);
        let lo = cx.zext(v, 4);
        cx.op(Opcode::Or, hi, lo)
    };
    cx.b.set_reg(d, v);
}

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let r = match m {
        M::Movsd | M::Movss => movs(cx, if m == M::Movsd { 8 } else { 4 }),
        M::Addsd
        | M::Subsd
        | M::Mulsd
        | M::Divsd
        | M::Minsd
        | M::Maxsd
        | M::Sqrtsd
        | M::Addss
        | M::Subss
        | M::Mulss
        | M::Divss
        | M::Minss
        | M::Maxss
        | M::Sqrtss
        | M::Addpd
        | M::Subpd
        | M::Mulpd
        | M::Divpd
        | M::Minpd
        | M::Maxpd
        | M::Sqrtpd
        | M::Addps
        | M::Subps
        | M::Mulps
        | M::Divps
        | M::Minps
        | M::Maxps
        | M::Sqrtps
        | M::Cvtss2sd
        | M::Cvtsd2ss
        | M::Cmpsd
        | M::Cmpss
        | M::Cmppd
        | M::Cmpps => arith(cx, m),
        M::Cvtsi2sd | M::Cvtsi2ss => {
            let double = m == M::Cvtsi2sd;
            let d = xmm_off(cx.i.op0_register())?;
            let bytes = cx.opsize(1);
            let a = cx.mem_addr();
            let v = cx.read(1, a, bytes)?;
            let (kb, kd) = (cx.k(u64::from(bytes)), cx.k(u64::from(double)));
            let f = cx.b.call(&helpers::H_FROM_INT, &[v, kb, kd]);
            set_low(cx, d, f, if double { 8 } else { 4 });
            Some(())
        }
        M::Cvtdq2pd => {
            // Two signed 32-bit integers to two doubles (always exact).
            let d = xmm_off(cx.i.op0_register())?;
            let v = low(cx, 1, 8)?;
            let lo = cx.zext(v, 4);
            let hi = cx.opi(Opcode::Shr, v, 32);
            let (kb, kd) = (cx.k(4), cx.k(1));
            let flo = cx.b.call(&helpers::H_FROM_INT, &[lo, kb, kd]);
            let fhi = cx.b.call(&helpers::H_FROM_INT, &[hi, kb, kd]);
            cx.b.set_reg(d, flo);
            cx.b.set_reg(d + 8, fhi);
            Some(())
        }
        M::Cvttsd2si | M::Cvtsd2si | M::Cvttss2si | M::Cvtss2si => {
            let double = matches!(m, M::Cvttsd2si | M::Cvtsd2si);
            let trunc = matches!(m, M::Cvttsd2si | M::Cvttss2si);
            let v = low(cx, 1, if double { 8 } else { 4 })?;
            let r = cx.i.op0_register();
            let bytes = r.size() as u64;
            let arg = cx.k(u64::from(double) | (bytes << 1) | (u64::from(trunc) << 8));
            let x = cx.b.call(&helpers::H_TO_INT, &[v, arg]);
            cx.set_gpr(r, x);
            Some(())
        }
        M::Ucomisd | M::Comisd | M::Ucomiss | M::Comiss => {
            let double = matches!(m, M::Ucomisd | M::Comisd);
            let bytes = if double { 8 } else { 4 };
            let a = low(cx, 0, bytes)?;
            let b = low(cx, 1, bytes)?;
            let signalling = matches!(m, M::Comisd | M::Comiss);
            let kd = cx.k(u64::from(double) | (u64::from(signalling) << 1));
            let f = cx.b.call(&helpers::H_FCMP, &[a, b, kd]);
            cx.set_cc_eflags(f);
            Some(())
        }
        M::Ldmxcsr => {
            let a = cx.ea();
            let v = cx.load(a, 4);
            cx.b.set_reg(state::MXCSR, v);
            Some(())
        }
        M::Stmxcsr => {
            let a = cx.ea();
            let v = cx.b.get_reg(Ty::I64, state::MXCSR);
            cx.store(v, a, 4);
            Some(())
        }
        _ => return None,
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

fn movs(cx: &mut Cx, bytes: u32) -> Option<()> {
    if cx.i.op0_kind() == OpKind::Memory {
        let s = xmm_off(cx.i.op1_register())?;
        let v = cx.b.get_reg(Ty::I64, s);
        let a = cx.ea();
        cx.store(v, a, bytes);
        return Some(());
    }
    let d = xmm_off(cx.i.op0_register())?;
    if cx.i.op1_kind() == OpKind::Memory {
        let v = low(cx, 1, bytes)?;
        let z = cx.k(0);
        cx.b.set_reg(d, v);
        cx.b.set_reg(d + 8, z);
    } else {
        let v = low(cx, 1, bytes)?;
        set_low(cx, d, v, bytes);
    }
    Some(())
}

fn arith(cx: &mut Cx, m: M) -> Option<()> {
    use M::*;
    let kind = match m {
        Addsd | Addss | Addpd | Addps => op::ADD,
        Subsd | Subss | Subpd | Subps => op::SUB,
        Mulsd | Mulss | Mulpd | Mulps => op::MUL,
        Divsd | Divss | Divpd | Divps => op::DIV,
        Minsd | Minss | Minpd | Minps => op::MIN,
        Maxsd | Maxss | Maxpd | Maxps => op::MAX,
        Sqrtsd | Sqrtss | Sqrtpd | Sqrtps => op::SQRT,
        Cmpsd | Cmpss | Cmppd | Cmpps => op::CMP,
        _ => op::CVT,
    };
    let double = matches!(
        m,
        Addsd
            | Subsd
            | Mulsd
            | Divsd
            | Minsd
            | Maxsd
            | Sqrtsd
            | Addpd
            | Subpd
            | Mulpd
            | Divpd
            | Minpd
            | Maxpd
            | Sqrtpd
            | Cvtss2sd
            | Cmpsd
            | Cmppd
    );
    let packed = matches!(
        m,
        Addpd
            | Subpd
            | Mulpd
            | Divpd
            | Minpd
            | Maxpd
            | Sqrtpd
            | Addps
            | Subps
            | Mulps
            | Divps
            | Minps
            | Maxps
            | Sqrtps
            | Cmppd
            | Cmpps
    );
    let d = xmm_off(cx.i.op0_register())?;
    if !packed && kind != op::CVT {
        // Scalar: the low lanes' bits through a helper that only touches MXCSR.
        let bytes = if double { 8 } else { 4 };
        let mut code = (kind << 2) | u64::from(double);
        if kind == op::CMP {
            code |= (cx.i.try_immediate(2).ok()? & 7) << 8;
        }
        let a = cx.b.get_reg(Ty::I64, d);
        let a = cx.zext(a, bytes);
        let b = low(cx, 1, bytes)?;
        let k = cx.k(code);
        let r = cx.b.call(&helpers::H_FP_SCALAR, &[k, a, b]);
        set_low(cx, d, r, bytes);
        return Some(());
    }
    let s = match cx.i.op1_kind() {
        OpKind::Register => xmm_off(cx.i.op1_register())?,
        OpKind::Memory => {
            let bytes = cx.i.memory_size().size() as u32;
            let a = cx.ea();
            let lo = cx.load(a, bytes.min(8));
            let hi = if bytes == 16 {
                let a8 = cx.opi(Opcode::Add, a, 8);
                cx.load(a8, 8)
            } else {
                cx.k(0)
            };
            cx.b.set_reg(state::XTMP, lo);
            cx.b.set_reg(state::XTMP + 8, hi);
            state::XTMP
        }
        _ => return None,
    };
    let mut code = (kind << 2) | u64::from(double) | (u64::from(packed) << 1);
    if kind == op::CMP {
        code |= (cx.i.try_immediate(2).ok()? & 7) << 8;
    }
    let args = [cx.k(code), cx.k(u64::from(d)), cx.k(u64::from(s))];
    cx.b.call_void(&helpers::H_FP, &args);
    Some(())
}
