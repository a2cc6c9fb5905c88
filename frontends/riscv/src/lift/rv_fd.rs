//! RV64F / RV64D — Unprivileged ISA, ch. "F" and "D" Standard Extensions.
//! Loads, stores, moves and sign injection are IR, and so are compares and min/max of non-NaN
//! operands ([`super::fcmp`]); arithmetic, classify and conversions call a PURE fast helper ([`crate::helpers::fpfast`]) that handles every case that
//! leaves `fflags` unchanged, and the full helper ([`crate::helpers`]) only when it says so;
//! both use [`crate::fpu`] for exact IEEE results.

use super::LiftCx;
use crate::decode::{Args, I, Op, R4, Rf, S};
use crate::helpers::{self, fpfast};
use xlat_ir::{Cond, Helper, MemOp, Opcode, Temp, Ty};

pub(super) const BOX: u64 = 0xffff_ffff_0000_0000;
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
    use fpfast::{CVT_SIGNED, CVT_WORD, SENTINEL, SENTINEL_INT};
    // The fcvt kind argument from rs2 (0 w, 1 wu, 2 l, 3 lu).
    let kind = u64::from(a.rs2 & 1 == 0) * CVT_SIGNED + u64::from(a.rs2 < 2) * CVT_WORD;
    let (ff, f, x) = (Src::Ff, Src::F, Src::X);
    let fast = |h, extra, sentinel| Fast { h, extra, sentinel };
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
        FclassS | FclassD => {
            let h = if op == FclassS {
                &fpfast::CLASS_S
            } else {
                &fpfast::CLASS_D
            };
            let v = cx.gen_get_f(a.rs1);
            let v = cx.b.call(h, &[v]);
            cx.gen_set_x(a.rd, v);
        }
        FminS | FmaxS | FminD | FmaxD | FeqS | FltS | FleS | FeqD | FltD | FleD => {
            return super::fcmp::lift(cx, op, a, raw);
        }
        FaddS => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FADD_S, None, SENTINEL),
        ),
        FsubS => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FSUB_S, None, SENTINEL),
        ),
        FmulS => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FMUL_S, None, SENTINEL),
        ),
        FdivS => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FDIV_S, None, SENTINEL),
        ),
        FaddD => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FADD_D, None, SENTINEL),
        ),
        FsubD => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FSUB_D, None, SENTINEL),
        ),
        FmulD => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FMUL_D, None, SENTINEL),
        ),
        FdivD => gen_op(
            cx,
            a,
            raw,
            ff,
            Dst::F,
            fast(&fpfast::FDIV_D, None, SENTINEL),
        ),
        FsqrtS => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::FSQRT_S, None, SENTINEL),
        ),
        FsqrtD => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::FSQRT_D, None, SENTINEL),
        ),
        FcvtSD => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::CVT_S_D, None, SENTINEL),
        ),
        FcvtDS => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::CVT_D_S, None, SENTINEL),
        ),
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS => {
            let h = fast(&fpfast::TO_INT_S, Some(kind), SENTINEL_INT);
            gen_op(cx, a, raw, f, Dst::X, h)
        }
        FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            let h = fast(&fpfast::TO_INT_D, Some(kind), SENTINEL_INT);
            gen_op(cx, a, raw, f, Dst::X, h)
        }
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu => gen_op(
            cx,
            a,
            raw,
            x,
            Dst::F,
            fast(&fpfast::FROM_INT_S, Some(kind), SENTINEL),
        ),
        FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => gen_op(
            cx,
            a,
            raw,
            x,
            Dst::F,
            fast(&fpfast::FROM_INT_D, Some(kind), SENTINEL),
        ),
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

/// The fast helper of an instruction (see [`fpfast`]). Its arguments are the sources (one or
/// two), the `rm` field, then for one-source ops `extra` (the fcvt kind).
struct Fast {
    h: &'static Helper,
    extra: Option<u64>,
    sentinel: u64,
}

/// `r = fast(args)`, and where that is the sentinel, `r = full(full_args..., raw)`. The
/// instruction word is made only on the slow path, so it is not live across the fast call.
fn gen_fast_or_full(
    cx: &mut LiftCx,
    fast: &Fast,
    args: &[Temp],
    full: &'static Helper,
    full_args: &[Temp],
    raw: u32,
) -> Temp {
    let r = cx.b.call(fast.h, args);
    let sentinel = cx.b.konst(Ty::I64, fast.sentinel);
    let done = cx.b.label();
    cx.b.branch(Cond::Ne, r, sentinel, done);
    let insn = cx.b.konst(Ty::I64, u64::from(raw));
    let n = full_args.len();
    let mut fargs = [insn; 4];
    fargs[..n].copy_from_slice(full_args);
    let v = cx.b.call(full, &fargs[..=n]);
    cx.b.mov(r, v);
    cx.b.set_label(done);
    r
}

fn gen_op(cx: &mut LiftCx, a: Rf, raw: u32, src: Src, dst: Dst, fast: Fast) {
    if bad_static_rm(a.rm) {
        return cx.gen_illegal();
    }
    let (x, y) = match src {
        Src::Ff => (cx.gen_get_f(a.rs1), cx.gen_get_f(a.rs2)),
        Src::F => (cx.gen_get_f(a.rs1), cx.b.konst(Ty::I64, 0)),
        Src::X => (cx.gen_get_x(a.rs1), cx.b.konst(Ty::I64, 0)),
    };
    let rm = cx.b.konst(Ty::I64, u64::from(a.rm));
    let args = match (src, fast.extra) {
        (Src::Ff, _) => [x, y, rm],
        (_, e) => [x, rm, cx.b.konst(Ty::I64, e.unwrap_or(0))],
    };
    let n = usize::from(fast.h.nargs);
    let v = gen_fast_or_full(cx, &fast, &args[..n], &helpers::FP_OP, &[x, y], raw);
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
    // k = the rm field | negations (fmadd, fmsub, fnmsub, fnmadd by major opcode).
    let neg = match (raw >> 2) & 31 {
        0x10 => 0,
        0x11 => fpfast::FMA_NEG_ADDEND,
        0x12 => fpfast::FMA_NEG_PRODUCT,
        _ => fpfast::FMA_NEG_PRODUCT | fpfast::FMA_NEG_ADDEND,
    };
    let k = cx.b.konst(Ty::I64, u64::from(a.rm) | neg);
    // The format field's low bit: 0 single, 1 double.
    let h = if (raw >> 25) & 1 == 0 {
        &fpfast::FMA_S
    } else {
        &fpfast::FMA_D
    };
    let fast = Fast {
        h,
        extra: None,
        sentinel: fpfast::SENTINEL,
    };
    let v = gen_fast_or_full(cx, &fast, &[x, y, z, k], &helpers::FP_FMA, &[x, y, z], raw);
    cx.gen_set_f(a.rd, v);
}

/// An f register read as a single: the low word if properly NaN-boxed, else the canonical NaN.
fn gen_unbox_s(cx: &mut LiftCx, r: u8) -> Temp {
    let v = cx.gen_get_f(r);
    gen_unbox(cx, v)
}

/// [`gen_unbox_s`] of a register value already read.
pub(super) fn gen_unbox(cx: &mut LiftCx, v: Temp) -> Temp {
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
