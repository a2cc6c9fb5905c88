//! Lifting SSE/SSE2 floating point: scalar moves, arithmetic, conversions, compares, MXCSR.

use super::{Cx, Flow, ssefast};
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
        | M::Cmpps
        | M::Cvtps2pd
        | M::Cvtpd2ps
        | M::Cvtdq2ps
        | M::Cvtps2dq
        | M::Cvttps2dq
        | M::Cvtpd2dq
        | M::Cvttpd2dq => arith(cx, m),
        M::Cvtsi2sd | M::Cvtsi2ss => {
            let double = m == M::Cvtsi2sd;
            let d = xmm_off(cx.i.op0_register())?;
            let bytes = cx.opsize(1);
            let a = cx.mem_addr();
            let v = cx.read(1, a, bytes)?;
            let (kb, kd) = (cx.k(u64::from(bytes)), cx.k(u64::from(double)));
            let to = if double { Ty::I64 } else { Ty::I32 };
            let src = if bytes == 4 { cx.b.trunc(v) } else { v };
            let out = cx.b.temp(Ty::I64);
            if bytes == 4 && double {
                // Always exact: no flags, no rounding.
                let f = cx.b.fconvert(Opcode::FCvtFromS, to, src);
                cx.b.mov(out, f);
            } else {
                let (slow, done) = (cx.b.label(), cx.b.label());
                ssefast::check_mxcsr(cx, slow);
                let f = cx.b.fconvert(Opcode::FCvtFromS, to, src);
                let f = if double { f } else { cx.b.extu(f) };
                cx.b.mov(out, f);
                cx.b.jump(done);
                cx.b.set_label(slow);
                let f = cx.b.call(&helpers::H_FROM_INT, &[v, kb, kd]);
                cx.b.mov(out, f);
                cx.b.set_label(done);
            }
            set_low(cx, d, out, if double { 8 } else { 4 });
            Some(())
        }
        // cvtpi2ps xmm, m64 (MXCSR rounding) and cvtpi2pd xmm, m64 (exact, as cvtdq2pd):
        // two 32-bit integers from memory; no x87-to-MMX transition with a memory source.
        M::Cvtpi2ps if cx.i.op1_kind() == OpKind::Memory => {
            let d = xmm_off(cx.i.op0_register())?;
            let v = low(cx, 1, 8)?;
            let lo = cx.zext(v, 4);
            let hi = cx.opi(Opcode::Shr, v, 32);
            let (kb, kd) = (cx.k(4), cx.k(0));
            let flo = cx.b.call(&helpers::H_FROM_INT, &[lo, kb, kd]);
            let fhi = cx.b.call(&helpers::H_FROM_INT, &[hi, kb, kd]);
            let flo = cx.zext(flo, 4);
            let fhi = cx.opi(Opcode::Shl, fhi, 32);
            let r = cx.op(Opcode::Or, flo, fhi);
            cx.b.set_reg(d, r);
            Some(())
        }
        // rcpps/rcpss/rsqrtps/rsqrtss: see crate::ssefp::approx.
        M::Rcpps | M::Rcpss | M::Rsqrtps | M::Rsqrtss => {
            let d = xmm_off(cx.i.op0_register())?;
            let packed = matches!(m, M::Rcpps | M::Rsqrtps);
            let s = super::sse::src128(cx, 1, if packed { 16 } else { 4 })?;
            let kind = if matches!(m, M::Rcpps | M::Rcpss) {
                op::RCP
            } else {
                op::RSQRT
            };
            let code = (kind << 2) | (u64::from(packed) << 1);
            let args = [cx.k(code), cx.k(u64::from(d)), cx.k(u64::from(s))];
            cx.b.call_void(&helpers::H_FP, &args);
            Some(())
        }
        M::Cvtpi2pd if cx.i.op1_kind() == OpKind::Memory => {
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
            let out = cx.b.temp(Ty::I64);
            let (slow, done) = (cx.b.label(), cx.b.label());
            // Fast: default MXCSR with PE set (a dropped fraction adds nothing), not a NaN,
            // and in range (the saturated values go slow: x86 wants 0x80..0 and IE).
            ssefast::check_mxcsr(cx, slow);
            ssefast::check_not_nan(cx, v, double, slow);
            let x = if double { v } else { cx.b.trunc(v) };
            let x = if trunc {
                x
            } else {
                cx.b.fround(xlat_ir::FRound::Nearest, x)
            };
            let ity = if bytes == 8 { Ty::I64 } else { Ty::I32 };
            let n = cx.b.fconvert(Opcode::FCvtToS, ity, x);
            let n = if bytes == 8 { n } else { cx.b.extu(n) };
            let (min, max) = if bytes == 8 {
                (1u64 << 63, (1u64 << 63) - 1)
            } else {
                (0x8000_0000, 0x7fff_ffff)
            };
            let kmin = cx.k(min);
            cx.b.branch(xlat_ir::Cond::Eq, n, kmin, slow);
            let kmax = cx.k(max);
            cx.b.branch(xlat_ir::Cond::Eq, n, kmax, slow);
            cx.b.mov(out, n);
            cx.b.jump(done);
            cx.b.set_label(slow);
            let x = cx.b.call(&helpers::H_TO_INT, &[v, arg]);
            cx.b.mov(out, x);
            cx.b.set_label(done);
            cx.set_gpr(r, out);
            Some(())
        }
        M::Ucomisd | M::Comisd | M::Ucomiss | M::Comiss => {
            let double = matches!(m, M::Ucomisd | M::Comisd);
            let bytes = if double { 8 } else { 4 };
            let a = low(cx, 0, bytes)?;
            let b = low(cx, 1, bytes)?;
            let signalling = matches!(m, M::Comisd | M::Comiss);
            let kd = cx.k(u64::from(double) | (u64::from(signalling) << 1));
            let f = cx.b.temp(Ty::I64);
            let (slow, done) = (cx.b.label(), cx.b.label());
            let fast = ssefast::compare(cx, double, a, b, slow);
            cx.b.mov(f, fast);
            cx.b.jump(done);
            cx.b.set_label(slow);
            let r = cx.b.call(&helpers::H_FCMP, &[a, b, kd]);
            cx.b.mov(f, r);
            cx.b.set_label(done);
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
        Cvtps2pd => op::CVTPS2PD,
        Cvtpd2ps => op::CVTPD2PS,
        Cvtdq2ps => op::CVTDQ2PS,
        Cvtps2dq => op::CVTPS2DQ,
        Cvttps2dq => op::CVTTPS2DQ,
        Cvtpd2dq => op::CVTPD2DQ,
        Cvttpd2dq => op::CVTTPD2DQ,
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
            | Cvtps2pd
            | Cvtpd2ps
            | Cvtdq2ps
            | Cvtps2dq
            | Cvttps2dq
            | Cvtpd2dq
            | Cvttpd2dq
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
        if !ssefast::has_arith(kind) {
            let r = cx.b.call(&helpers::H_FP_SCALAR, &[k, a, b]);
            set_low(cx, d, r, bytes);
            return Some(());
        }
        let out = cx.b.temp(Ty::I64);
        let (slow, done) = (cx.b.label(), cx.b.label());
        if ssefast::needs_mxcsr(kind) {
            ssefast::check_mxcsr(cx, slow);
        }
        let r = ssefast::arith(cx, kind, code >> 8, double, a, b, slow)?;
        cx.b.mov(out, r);
        cx.b.jump(done);
        cx.b.set_label(slow);
        let r = cx.b.call(&helpers::H_FP_SCALAR, &[k, a, b]);
        cx.b.mov(out, r);
        cx.b.set_label(done);
        set_low(cx, d, out, bytes);
        return Some(());
    }
    if !packed && kind == op::CVT {
        return scalar_cvt(cx, double, d);
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
    if kind == op::CVTPS2PD {
        // Exact: inline unless a lane is a NaN or subnormal (IE/DE, DAZ, quieting).
        let lo = cx.b.get_reg(Ty::I64, s);
        let a0 = cx.zext(lo, 4);
        let a1 = cx.opi(Opcode::Shr, lo, 32);
        let (slow, done) = (cx.b.label(), cx.b.label());
        for v in [a0, a1] {
            ssefast::check_not_nan(cx, v, false, slow);
            ssefast::check_not_subnormal(cx, v, false, slow);
        }
        let r = [a0, a1].map(|v| {
            let x = cx.b.trunc(v);
            cx.b.fconvert(Opcode::FCvtF, Ty::I64, x)
        });
        cx.b.set_reg(d, r[0]);
        cx.b.set_reg(d + 8, r[1]);
        cx.b.jump(done);
        cx.b.set_label(slow);
        cx.b.call_void(&helpers::H_FP, &args);
        cx.b.set_label(done);
        return Some(());
    }
    if kind == op::CVTPD2PS {
        // Inline under the default MXCSR with PE set, for lanes that are not NaN or subnormal
        // and give a normal single (else the exact helper).
        let (slow, done) = (cx.b.label(), cx.b.label());
        ssefast::check_mxcsr(cx, slow);
        let v = [cx.b.get_reg(Ty::I64, s), cx.b.get_reg(Ty::I64, s + 8)];
        let mut r = [v[0], v[1]];
        for (k, x) in v.into_iter().enumerate() {
            ssefast::check_not_nan(cx, x, true, slow);
            ssefast::check_not_subnormal(cx, x, true, slow);
            let f = cx.b.fconvert(Opcode::FCvtF, Ty::I32, x);
            let f = cx.b.extu(f);
            ssefast::check_normal(cx, f, false, slow);
            r[k] = f;
        }
        let hi = cx.opi(Opcode::Shl, r[1], 32);
        let lo = cx.op(Opcode::Or, r[0], hi);
        let z = cx.k(0);
        cx.b.set_reg(d, lo);
        cx.b.set_reg(d + 8, z);
        cx.b.jump(done);
        cx.b.set_label(slow);
        cx.b.call_void(&helpers::H_FP, &args);
        cx.b.set_label(done);
        return Some(());
    }
    if !(packed && ssefast::has_arith(kind)) {
        cx.b.call_void(&helpers::H_FP, &args);
        return Some(());
    }
    // Packed: every lane inline, or the whole instruction in the helper if any lane is
    // special (nothing is written before that is known).
    let (slow, done) = (cx.b.label(), cx.b.label());
    if ssefast::needs_mxcsr(kind) {
        ssefast::check_mxcsr(cx, slow);
    }
    let pred = code >> 8;
    let mut res = [None; 2];
    for (h, slot) in res.iter_mut().enumerate() {
        let off = 8 * h as u32;
        let a = cx.b.get_reg(Ty::I64, d + off);
        let b = cx.b.get_reg(Ty::I64, s + off);
        *slot = Some(if double {
            ssefast::arith(cx, kind, pred, true, a, b, slow)?
        } else {
            let (a0, b0) = (cx.zext(a, 4), cx.zext(b, 4));
            let (a1, b1) = (cx.opi(Opcode::Shr, a, 32), cx.opi(Opcode::Shr, b, 32));
            let r0 = ssefast::arith(cx, kind, pred, false, a0, b0, slow)?;
            let r1 = ssefast::arith(cx, kind, pred, false, a1, b1, slow)?;
            let r1 = cx.opi(Opcode::Shl, r1, 32);
            cx.op(Opcode::Or, r0, r1)
        });
    }
    cx.b.set_reg(d, res[0]?);
    cx.b.set_reg(d + 8, res[1]?);
    cx.b.jump(done);
    cx.b.set_label(slow);
    cx.b.call_void(&helpers::H_FP, &args);
    cx.b.set_label(done);
    Some(())
}

/// cvtss2sd (`double`: the destination is a double) and cvtsd2ss, scalar: inline unless the
/// operand is special or the conversion could raise a new flag.
fn scalar_cvt(cx: &mut Cx, double: bool, d: u32) -> Option<()> {
    // Source width: the other precision.
    let sbytes = if double { 4 } else { 8 };
    let v = low(cx, 1, sbytes)?;
    let out = cx.b.temp(Ty::I64);
    let (slow, done) = (cx.b.label(), cx.b.label());
    ssefast::check_not_nan(cx, v, !double, slow);
    ssefast::check_not_subnormal(cx, v, !double, slow);
    if double {
        // f32 -> f64 is exact.
        let x = cx.b.trunc(v);
        let r = cx.b.fconvert(Opcode::FCvtF, Ty::I64, x);
        cx.b.mov(out, r);
    } else {
        ssefast::check_mxcsr(cx, slow);
        let r = cx.b.fconvert(Opcode::FCvtF, Ty::I32, v);
        let r = cx.b.extu(r);
        ssefast::check_normal(cx, r, false, slow);
        cx.b.mov(out, r);
    }
    cx.b.jump(done);
    cx.b.set_label(slow);
    // The exact helper on the state: the source's low lane staged in XTMP.
    cx.b.set_reg(state::XTMP, v);
    let code = (op::CVT << 2) | u64::from(double);
    let args = [cx.k(code), cx.k(u64::from(d)), cx.k(u64::from(state::XTMP))];
    cx.b.call_void(&helpers::H_FP, &args);
    let r = cx.b.get_reg(Ty::I64, d);
    cx.b.mov(out, r);
    cx.b.set_label(done);
    set_low(cx, d, out, if double { 8 } else { 4 });
    Some(())
}
