//! RV64F / RV64D — Unprivileged ISA, ch. "F" and "D" Standard Extensions.
//! Loads, stores, moves and sign injection are IR, and so are compares and min/max of non-NaN
//! operands ([`super::fcmp`]). Arithmetic, fma and conversions in round-to-nearest (static
//! `rm` 0, or dynamic with `frm` 0; float → integer in any mode but RMM) compute inline with the
//! IR's float ops through [`xlat_ir::fp`] when the result cannot change `fflags` (NX already
//! set or the operation exact, no special operand or result); otherwise, and for the other
//! rounding modes, they call a PURE fast helper ([`crate::helpers::fpfast`]) that handles every
//! case that leaves `fflags` unchanged, and the full helper ([`crate::helpers`]) only when it
//! says so; both use [`crate::fpu`] for exact IEEE results.

use super::LiftCx;
use crate::decode::{Args, I, Op, R4, Rf, S};
use crate::fpu;
use crate::helpers::{self, fpfast};
use crate::state::{FFLAGS, FRM};
use xlat_ir::fp::{self, FastPath, FpOp};
use xlat_ir::{Builder, Cond, FRound, Helper, MemOp, Opcode, Temp, Ty};

/// Single and double operands and results, as IR types.
const F32: Ty = Ty::I32;
const F64: Ty = Ty::I64;

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
    let inl = |op, ty, arg| Some(Inline { op, ty, arg });
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
        FaddS | FsubS | FmulS | FdivS | FaddD | FsubD | FmulD | FdivD => {
            let (h, o, t) = match op {
                FaddS => (&fpfast::FADD_S, FpOp::Add, F32),
                FsubS => (&fpfast::FSUB_S, FpOp::Sub, F32),
                FmulS => (&fpfast::FMUL_S, FpOp::Mul, F32),
                FdivS => (&fpfast::FDIV_S, FpOp::Div, F32),
                FaddD => (&fpfast::FADD_D, FpOp::Add, F64),
                FsubD => (&fpfast::FSUB_D, FpOp::Sub, F64),
                FmulD => (&fpfast::FMUL_D, FpOp::Mul, F64),
                _ => (&fpfast::FDIV_D, FpOp::Div, F64),
            };
            gen_op(
                cx,
                a,
                raw,
                ff,
                Dst::F,
                fast(h, None, SENTINEL),
                inl(o, t, t),
            )
        }
        FsqrtS => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::FSQRT_S, None, SENTINEL),
            inl(FpOp::Sqrt, F32, F32),
        ),
        FsqrtD => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::FSQRT_D, None, SENTINEL),
            inl(FpOp::Sqrt, F64, F64),
        ),
        FcvtSD => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::CVT_S_D, None, SENTINEL),
            inl(FpOp::CvtF, F32, F64),
        ),
        FcvtDS => gen_op(
            cx,
            a,
            raw,
            f,
            Dst::F,
            fast(&fpfast::CVT_D_S, None, SENTINEL),
            inl(FpOp::CvtF, F64, F32),
        ),
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            let single = matches!(op, FcvtWS | FcvtWuS | FcvtLS | FcvtLuS);
            let (h, from) = if single {
                (&fpfast::TO_INT_S, F32)
            } else {
                (&fpfast::TO_INT_D, F64)
            };
            let to = if a.rs2 < 2 { Ty::I32 } else { Ty::I64 };
            let i = to_int_mode(a.rm).and_then(|m| {
                let o = if a.rs2 & 1 == 0 {
                    FpOp::ToS(m)
                } else {
                    FpOp::ToU(m)
                };
                inl(o, to, from)
            });
            gen_op(cx, a, raw, f, Dst::X, fast(h, Some(kind), SENTINEL_INT), i)
        }
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => {
            let single = matches!(op, FcvtSW | FcvtSWu | FcvtSL | FcvtSLu);
            let (h, to) = if single {
                (&fpfast::FROM_INT_S, F32)
            } else {
                (&fpfast::FROM_INT_D, F64)
            };
            let from = if a.rs2 < 2 { Ty::I32 } else { Ty::I64 };
            let o = if a.rs2 & 1 == 0 {
                FpOp::FromS
            } else {
                FpOp::FromU
            };
            gen_op(
                cx,
                a,
                raw,
                x,
                Dst::F,
                fast(h, Some(kind), SENTINEL),
                inl(o, to, from),
            )
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
    b: &mut Builder,
    fast: &Fast,
    args: &[Temp],
    full: &'static Helper,
    full_args: &[Temp],
    raw: u32,
) -> Temp {
    let r = b.call(fast.h, args);
    let sentinel = b.konst(Ty::I64, fast.sentinel);
    let done = b.label();
    b.branch(Cond::Ne, r, sentinel, done);
    let insn = b.konst(Ty::I64, u64::from(raw));
    let n = full_args.len();
    let mut fargs = [insn; 4];
    fargs[..n].copy_from_slice(full_args);
    let v = b.call(full, &fargs[..=n]);
    b.mov(r, v);
    b.set_label(done);
    r
}

/// How an instruction computes inline ([`xlat_ir::fp`]): the operation, its result type and
/// its operands' type (f32 operands are unboxed f registers, i32 ones the low half of an x
/// register).
#[derive(Clone, Copy)]
struct Inline {
    op: FpOp,
    ty: Ty,
    arg: Ty,
}

/// Where the rounding is round-to-nearest-even: no condition for a static `rm` of 0, `frm ==
/// 0` for the dynamic one (7); `None` (no fast path) for the other static modes.
fn gen_rne_cond(b: &mut Builder, rm: u8) -> Option<Option<Temp>> {
    match rm {
        0 => Some(None),
        7 => {
            let frm = b.get_reg(Ty::I64, FRM);
            let z = b.konst(Ty::I64, 0);
            Some(Some(b.setcond(Cond::Eq, frm, z)))
        }
        _ => None,
    }
}

/// The fast path's precondition: `rne` and, for single operands, that they are all properly
/// NaN-boxed (the AND of the registers has an all-ones high word).
fn gen_fast_ok(b: &mut Builder, rne: Option<Temp>, boxed: &[Temp]) -> Option<Temp> {
    let mut ok = rne;
    if let Some((&first, rest)) = boxed.split_first() {
        let all = rest
            .iter()
            .fold(first, |acc, &r| b.binop(Opcode::And, acc, r));
        let k = b.konst(Ty::I64, BOX);
        let c = b.setcond(Cond::Geu, all, k);
        ok = Some(match ok {
            Some(o) => b.binop(Opcode::And, o, c),
            None => c,
        });
    }
    ok
}

/// The fast path's flags: `fflags` NX.
const FLAGS: fp::Flags = fp::Flags::Sticky {
    off: FFLAGS,
    ty: Ty::I64,
    mask: fpu::NX as u64,
};

/// A register value as an operand of type `t` (the low half for i32/f32).
fn gen_operand(b: &mut Builder, v: Temp, t: Ty) -> Temp {
    if t == Ty::I32 { b.trunc(v) } else { v }
}

fn gen_op(
    cx: &mut LiftCx,
    a: Rf,
    raw: u32,
    src: Src,
    dst: Dst,
    fast: Fast,
    inline: Option<Inline>,
) {
    if bad_static_rm(a.rm) {
        return cx.gen_illegal();
    }
    let (x, y) = match src {
        Src::Ff => (cx.gen_get_f(a.rs1), cx.gen_get_f(a.rs2)),
        Src::F => (cx.gen_get_f(a.rs1), cx.b.konst(Ty::I64, 0)),
        Src::X => (cx.gen_get_x(a.rs1), cx.b.konst(Ty::I64, 0)),
    };
    let slow = |b: &mut Builder| {
        let rm = b.konst(Ty::I64, u64::from(a.rm));
        let args = match (src, fast.extra) {
            (Src::Ff, _) => [x, y, rm],
            (_, e) => [x, rm, b.konst(Ty::I64, e.unwrap_or(0))],
        };
        let n = usize::from(fast.h.nargs);
        gen_fast_or_full(b, &fast, &args[..n], &helpers::FP_OP, &[x, y], raw)
    };
    let v =
        match inline.and_then(|i| gen_inline_ok(&mut cx.b, a.rm, i, src, x, y).map(|ok| (i, ok))) {
            None => slow(&mut cx.b),
            Some((i, ok)) => {
                let regs: &[Temp] = if matches!(src, Src::Ff) {
                    &[x, y]
                } else {
                    &[x]
                };
                let args: Vec<Temp> = regs
                    .iter()
                    .map(|&r| gen_operand(&mut cx.b, r, i.arg))
                    .collect();
                let p = FastPath {
                    op: i.op,
                    ty: i.ty,
                    args: &args,
                    flags: FLAGS,
                    ok,
                };
                let r = fp::gen_fast_path(&mut cx.b, &p, slow);
                gen_result(&mut cx.b, r, dst)
            }
        };
    match dst {
        Dst::F => cx.gen_set_f(a.rd, v),
        Dst::X => cx.gen_set_x(a.rd, v),
    }
}

/// The precondition of `i` with rounding field `rm`, or `None` when it has no fast path.
fn gen_inline_ok(
    b: &mut Builder,
    rm: u8,
    i: Inline,
    src: Src,
    x: Temp,
    y: Temp,
) -> Option<Option<Temp>> {
    let boxed: &[Temp] = match (src, i.arg) {
        (Src::Ff, Ty::I32) => &[x, y],
        (Src::F, Ty::I32) => &[x],
        _ => &[],
    };
    let rne = match i.op {
        // f32 → f64 and i32 → f64 are exact: the rounding mode does not matter.
        FpOp::CvtF if i.ty == Ty::I64 => None,
        FpOp::FromS | FpOp::FromU if i.arg == Ty::I32 && i.ty == Ty::I64 => None,
        // Float → integer rounds with its own mode (`to_int_mode`), dynamic only in RNE.
        FpOp::ToS(_) | FpOp::ToU(_) if rm != 7 => None,
        _ => gen_rne_cond(b, rm)?,
    };
    Some(gen_fast_ok(b, rne, boxed))
}

/// The [`FRound`] mode of a float → integer conversion's `rm`: RNE, RTZ, RDN, RUP, and dynamic
/// (fast only when `frm` is RNE); RMM has none.
fn to_int_mode(rm: u8) -> Option<FRound> {
    match rm {
        0 | 7 => Some(FRound::Nearest),
        1 => Some(FRound::Trunc),
        2 => Some(FRound::Floor),
        3 => Some(FRound::Ceil),
        _ => None,
    }
}

/// An inline result as the register value: singles NaN-boxed, 32-bit integers sign-extended
/// (W and WU results alike, as RV64 wants).
fn gen_result(b: &mut Builder, r: Temp, dst: Dst) -> Temp {
    if b.ty(r) == Ty::I64 {
        return r;
    }
    match dst {
        Dst::F => {
            let v = b.extu(r);
            b.binop_imm(Opcode::Or, v, BOX)
        }
        Dst::X => b.exts(r),
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
    // The format field's low bit: 0 single, 1 double.
    let (h, ty) = if (raw >> 25) & 1 == 0 {
        (&fpfast::FMA_S, Ty::I32)
    } else {
        (&fpfast::FMA_D, Ty::I64)
    };
    let fast = Fast {
        h,
        extra: None,
        sentinel: fpfast::SENTINEL,
    };
    let slow = |b: &mut Builder| {
        let k = b.konst(Ty::I64, u64::from(a.rm) | neg);
        gen_fast_or_full(b, &fast, &[x, y, z, k], &helpers::FP_FMA, &[x, y, z], raw)
    };
    let Some(rne) = gen_rne_cond(&mut cx.b, a.rm) else {
        let v = slow(&mut cx.b);
        return cx.gen_set_f(a.rd, v);
    };
    let boxed: &[Temp] = if ty == Ty::I32 { &[x, y, z] } else { &[] };
    let ok = gen_fast_ok(&mut cx.b, rne, boxed);
    // -(a·b) is (-a)·b exactly: the negations are sign flips of the first and third operand.
    let sign = 1u64 << (ty.bits() - 1);
    let mut args = [x, y, z].map(|r| gen_operand(&mut cx.b, r, ty));
    if neg & fpfast::FMA_NEG_PRODUCT != 0 {
        args[0] = cx.b.binop_imm(Opcode::Xor, args[0], sign);
    }
    if neg & fpfast::FMA_NEG_ADDEND != 0 {
        args[2] = cx.b.binop_imm(Opcode::Xor, args[2], sign);
    }
    let p = FastPath {
        op: FpOp::Fma,
        ty,
        args: &args,
        flags: FLAGS,
        ok,
    };
    let r = fp::gen_fast_path(&mut cx.b, &p, slow);
    let v = gen_result(&mut cx.b, r, Dst::F);
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
