//! Inline fast paths for SSE floating point on the IR's float ops, with the exact helper as
//! the slow path.
//!
//! The host op gives x86's result and raises no new MXCSR flag exactly when:
//! - MXCSR is the default control (all exceptions masked, round to nearest, no FTZ/DAZ) and
//!   PE is already set (`mxcsr & !0x1f == 0x1fa0`): an inexact result then adds nothing;
//! - no operand is subnormal (DE), and
//! - the result is a normal number: not a NaN (IE, and x86's NaN propagation differs from the
//!   IR's canonical NaN), not infinite (OE/ZE), not subnormal (UE); or an exact zero (a zero
//!   sum, sqrt of a zero, a product with a zero factor, a zero dividend). NaN and infinite
//!   operands always give a NaN or infinite result, or a zero for division by infinity,
//!   which goes slow.
//!
//! Anything else branches to the helper, which computes the result and the flags exactly.

use super::Cx;
use crate::state;
use xlat_ir::{Cond, FCond, Label, Opcode, Temp, Ty};

/// Value bits shifted so the sign is gone and the exponent's lowest bit is at `EXP_AT`:
/// `(shift, exp_at)` for doubles and for singles held zero-extended in 64 bits.
fn geometry(double: bool) -> (u64, u64) {
    if double { (1, 53) } else { (33, 56) }
}

/// Branches to `slow` unless MXCSR is the default control with PE already set.
pub(super) fn check_mxcsr(cx: &mut Cx, slow: Label) {
    let mx = cx.b.get_reg(Ty::I64, state::MXCSR);
    let c = cx.opi(Opcode::AndN, mx, 0x1f);
    let want = cx.k(0x1fa0);
    cx.b.branch(Cond::Ne, c, want, slow);
}

/// Branches to `slow` if `v` (float bits, zero-extended) is subnormal.
pub(super) fn check_not_subnormal(cx: &mut Cx, v: Temp, double: bool, slow: Label) {
    let (sh, at) = geometry(double);
    let t = cx.opi(Opcode::Shl, v, sh);
    let t1 = cx.opi(Opcode::Sub, t, 1);
    let lim = cx.k((1u64 << at) - 1);
    cx.b.branch(Cond::Ltu, t1, lim, slow);
}

/// Branches to `slow` if `v` is a NaN.
pub(super) fn check_not_nan(cx: &mut Cx, v: Temp, double: bool, slow: Label) {
    let (sh, at) = geometry(double);
    let emax = if double { 0x7ff } else { 0xff };
    let t = cx.opi(Opcode::Shl, v, sh);
    let inf = cx.k(emax << at);
    cx.b.branch(Cond::Gtu, t, inf, slow);
}

/// Branches to `slow` unless `v` is a normal number (not zero, subnormal, infinite, NaN).
pub(super) fn check_normal(cx: &mut Cx, v: Temp, double: bool, slow: Label) {
    let (sh, at) = geometry(double);
    let emax = if double { 0x7ffu64 } else { 0xff };
    let t = cx.opi(Opcode::Shl, v, sh);
    let t1 = cx.opi(Opcode::Sub, t, 1u64 << at);
    let lim = cx.k((emax - 1) << at);
    cx.b.branch(Cond::Geu, t1, lim, slow);
}

/// The float op of an SSE arithmetic kind (`crate::ssefp::op`).
fn fop(kind: u64) -> Option<Opcode> {
    use crate::ssefp::op;
    Some(match kind {
        op::ADD => Opcode::FAdd,
        op::SUB => Opcode::FSub,
        op::MUL => Opcode::FMul,
        op::DIV => Opcode::FDiv,
        op::SQRT => Opcode::FSqrt,
        _ => return None,
    })
}

/// Whether [`arith`] has a fast path for `kind`.
pub(super) fn has_arith(kind: u64) -> bool {
    fop(kind).is_some() || is_minmax(kind) || kind == crate::ssefp::op::CMP
}

/// Whether `kind`'s fast path depends on MXCSR's control (rounding, PE): not for compares
/// and min/max, which never round.
pub(super) fn needs_mxcsr(kind: u64) -> bool {
    fop(kind).is_some()
}

fn is_minmax(kind: u64) -> bool {
    kind == crate::ssefp::op::MIN || kind == crate::ssefp::op::MAX
}

/// The fast result of arithmetic `kind` on one lane: `a` (destination) and `b` (source) hold
/// the lane's float bits zero-extended to 64 bits; the result likewise. Emits the branches
/// to `slow` (the MXCSR check is the caller's).
pub(super) fn arith(
    cx: &mut Cx,
    kind: u64,
    pred: u64,
    double: bool,
    a: Temp,
    b: Temp,
    slow: Label,
) -> Option<Temp> {
    if kind == crate::ssefp::op::CMP {
        // cmp{eq,lt,le,unord,neq,nlt,nle,ord}: on ordered, non-subnormal operands no flag
        // is raised (IE needs a NaN, DE a subnormal) and the predicate is an ordered one.
        for v in [a, b] {
            check_not_nan(cx, v, double, slow);
            check_not_subnormal(cx, v, double, slow);
        }
        let ones = cx.k(if double { u64::MAX } else { 0xffff_ffff });
        let z = cx.k(0);
        let c = match pred & 7 {
            0 => FCond::Eq,
            1 => FCond::Lt,
            2 => FCond::Le,
            3 => return Some(z),
            4 => FCond::Ne,
            5 => FCond::Ge,
            6 => FCond::Gt,
            _ => return Some(ones),
        };
        let (x, y) = narrow(cx, double, a, b);
        let t = cx.b.fsetcond(Ty::I64, c, x, y);
        return Some(cx.b.select(Cond::Ne, t, z, ones, z));
    }
    if is_minmax(kind) {
        // minsd/maxsd: dst < src (dst > src) ? dst : src; any NaN or subnormal goes slow
        // (IE / DE); no rounding, so MXCSR's control does not matter.
        for v in [a, b] {
            check_not_nan(cx, v, double, slow);
            check_not_subnormal(cx, v, double, slow);
        }
        let (x, y) = narrow(cx, double, a, b);
        let c = if kind == crate::ssefp::op::MIN {
            FCond::Lt
        } else {
            FCond::Gt
        };
        let t = cx.b.fsetcond(Ty::I64, c, x, y);
        let z = cx.k(0);
        return Some(cx.b.select(Cond::Ne, t, z, a, b));
    }
    let op = fop(kind)?;
    let sqrt = op == Opcode::FSqrt;
    if !sqrt {
        check_not_subnormal(cx, a, double, slow);
    }
    check_not_subnormal(cx, b, double, slow);
    let (x, y) = narrow(cx, double, a, b);
    let r = if sqrt {
        cx.b.unop(op, y)
    } else {
        cx.b.binop(op, x, y)
    };
    let r = if double { r } else { cx.b.extu(r) };
    // A normal result is fine; a zero one too where it is exact: any zero sum (the operands
    // are not subnormal), sqrt(+-0), a product with a zero factor, a zero dividend.
    let ok = cx.b.label();
    let (sh, at) = geometry(double);
    let emax = if double { 0x7ffu64 } else { 0xff };
    let t = cx.opi(Opcode::Shl, r, sh);
    let t1 = cx.opi(Opcode::Sub, t, 1u64 << at);
    let lim = cx.k((emax - 1) << at);
    cx.b.branch(Cond::Ltu, t1, lim, ok);
    let z = cx.k(0);
    cx.b.branch(Cond::Ne, t, z, slow);
    match op {
        Opcode::FMul => {
            let za = cx.opi(Opcode::Shl, a, sh);
            let zb = cx.opi(Opcode::Shl, b, sh);
            let m = cx.op(Opcode::MinU, za, zb);
            cx.b.branch(Cond::Ne, m, z, slow);
        }
        Opcode::FDiv => {
            let za = cx.opi(Opcode::Shl, a, sh);
            cx.b.branch(Cond::Ne, za, z, slow);
        }
        _ => {}
    }
    cx.b.set_label(ok);
    Some(r)
}

/// The operands as float temps of their width.
fn narrow(cx: &mut Cx, double: bool, a: Temp, b: Temp) -> (Temp, Temp) {
    if double {
        (a, b)
    } else {
        (cx.b.trunc(a), cx.b.trunc(b))
    }
}

/// ucomis*/comis* on ordered, non-subnormal operands: the RFLAGS bits (ZF for equal, CF for
/// less; PF and the rest clear). NaN or subnormal operands branch to `slow`.
pub(super) fn compare(cx: &mut Cx, double: bool, a: Temp, b: Temp, slow: Label) -> Temp {
    for v in [a, b] {
        check_not_nan(cx, v, double, slow);
        check_not_subnormal(cx, v, double, slow);
    }
    let (x, y) = narrow(cx, double, a, b);
    let eq = cx.b.fsetcond(Ty::I64, FCond::Eq, x, y);
    let lt = cx.b.fsetcond(Ty::I64, FCond::Lt, x, y);
    let zf = cx.opi(Opcode::Shl, eq, 6);
    cx.op(Opcode::Or, zf, lt)
}
