//! The guest FP fast path, shared by every frontend: compute with the IR's host float opcodes
//! ([`crate::fsem`]: round to nearest-even, no flags) when that is provably what the guest's
//! exact IEEE implementation would give, flags included; otherwise run the frontend's precise
//! slow path (its helper computes the result and accrues the flags, as before).
//!
//! The host result `r` is taken when all of these hold:
//! 1. the caller's precondition temp is nonzero (the guest's control state is the default:
//!    round-to-nearest-even, no flush-to-zero or denormals-are-zero, and anything else the
//!    frontend needs, such as properly NaN-boxed RISC-V singles);
//! 2. `r` is neither an infinity nor a NaN (no invalid operation, overflow, division by zero, NaN
//!    operand: those need flags and each guest's NaN rules);
//! 3. for the sticky-flags kind ([`Flags::Sticky`]), the only flag the operation can still
//!    raise is inexact, and the guest's sticky inexact flag is already set (programs set it in
//!    their first few FP operations and rarely clear it), or the operation was exact:
//!    - `fadd`/`fsub`: a zero or subnormal sum is exact (sums of floats below the smallest
//!      normal are multiples of the least subnormal, all representable), and a normal one is
//!      never tiny: fast when NX is set or the result is zero/subnormal;
//!    - `fmul`/`fdiv`/`fsqrt`/`ffma`: fast when NX is set and MIN_NORMAL < |r| (a result at
//!      or below the smallest normal may be tiny, hence underflow; the slow path decides);
//!    - int → float: exact when the integer fits the significand (|x| < 2^24 or 2^53), else
//!      NX must be set; i32 → f64 is always exact;
//!    - f32 → f64: exact (only a NaN operand is slow); f64 → f32: as `fmul`;
//!    - float → int: the rounded value must be in range, and NX set or the value integral.
//!
//! x86 also accrues a denormal-operand flag (MXCSR.DE): with [`Flags::StickyDenormal`] a
//! subnormal float operand is slow unless DE is set already.
//!
//! [`Flags::Untracked`] is for guests (or modes) that do not observe the flags: condition 3 is
//! dropped, and a NaN result is still slow so that the guest's NaN-propagation rules apply.
//!
//! The rounding of the host ops is always nearest-even: a guest instruction with another static
//! rounding mode should not use the fast path (except float → int, which takes a [`FRound`]).
//!
//! ```
//! use xlat_ir::fp::{FastPath, Flags, FpOp, gen_fast_path};
//! use xlat_ir::{Builder, Cond, Ty, abi};
//! # static FULL_FADD: xlat_ir::Helper = xlat_ir::Helper { name: "full_fadd", func: full,
//! #     nargs: 2, flags: xlat_ir::HelperFlags::STATE, state_words: None };
//! # extern "C" fn full(_: &mut abi::CpuState, a: u64, b: u64, _: u64, _: u64) -> u64 { a ^ b }
//! let (fa, fb, fd, fflags, frm) = (abi::reg_offset(1), abi::reg_offset(2),
//!     abi::reg_offset(3), abi::reg_offset(64), abi::reg_offset(65));
//! let mut b = Builder::new(0x1000);
//! b.insn_start(0x1000);
//! let (x, y) = (b.get_reg(Ty::I64, fa), b.get_reg(Ty::I64, fb));
//! // Precondition: the dynamic rounding mode is round-to-nearest-even (frm == 0).
//! let rm = b.get_reg(Ty::I64, frm);
//! let zero = b.konst(Ty::I64, 0);
//! let ok = b.setcond(Cond::Eq, rm, zero);
//! let p = FastPath { op: FpOp::Add, ty: Ty::I64, args: &[x, y], ok: Some(ok),
//!     flags: Flags::Sticky { off: fflags, ty: Ty::I64, mask: 1 } };
//! // The slow path: the precise helper, which also accrues the flags.
//! let r = gen_fast_path(&mut b, &p, |b| b.call(&FULL_FADD, &[x, y]));
//! b.set_reg(fd, r);
//! b.goto_tb(0, 0x1004);
//! xlat_ir::verify(&b.finish(4, 1)).unwrap();
//! ```

use crate::builder::Builder;
use crate::ops::Opcode;
use crate::unit::{Cond, FCond, FNAN_ANY, FRound, Inst, Label, Temp, Ty};

/// The operation of a fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FpOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `sqrt(a)`
    Sqrt,
    /// `a * b + c`, one rounding (negate operands with an integer xor of the sign bit first
    /// for fmsub/fnmadd: a NaN's sign does not matter, NaN results are slow anyway).
    Fma,
    /// signed integer `a` (i32 or i64: its temp type) → float of width `ty`
    FromS,
    /// unsigned integer `a` → float
    FromU,
    /// `a` of the other float width → float of width `ty` (f32 → f64 or f64 → f32)
    CvtF,
    /// float `a` rounded with the mode, then to a signed integer of type `ty`
    ToS(FRound),
    /// float `a` rounded with the mode, then to an unsigned integer of type `ty`
    ToU(FRound),
}

/// How the guest keeps its exception flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    /// Sticky flags in the guest state: the inexact flag is `mask` in the word at state
    /// offset `off`, read with type `ty` (use the width the frontend uses elsewhere for that
    /// word, so it stays in a host register).
    Sticky {
        /// State offset of the flags word.
        off: u32,
        /// Access width.
        ty: Ty,
        /// The inexact bit(s).
        mask: u64,
    },
    /// The flags are not observed: any non-NaN host result is taken.
    Untracked,
    /// [`Flags::Sticky`] plus a sticky input-denormal flag (x86's MXCSR.DE, bit 1, raised by
    /// arithmetic, square root and float-to-float conversion when a float operand is
    /// subnormal): such an operation is fast only when `de` is set already or no float operand
    /// is subnormal. `nx` is the inexact bit(s) (MXCSR.PE, bit 5), both in the word at `off`.
    StickyDenormal {
        /// State offset of the flags word.
        off: u32,
        /// Access width.
        ty: Ty,
        /// The inexact bit(s).
        nx: u64,
        /// The input-denormal bit(s).
        de: u64,
    },
}

impl Flags {
    /// The word and the inexact bit of the sticky kinds.
    fn nx(self) -> Option<(u32, Ty, u64)> {
        match self {
            Flags::Sticky { off, ty, mask } => Some((off, ty, mask)),
            Flags::StickyDenormal { off, ty, nx, .. } => Some((off, ty, nx)),
            Flags::Untracked => None,
        }
    }
}

/// One fast-path operation; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct FastPath<'a> {
    /// The operation.
    pub op: FpOp,
    /// Result type: float width for arithmetic and conversions to float, integer type for
    /// conversions to integer.
    pub ty: Ty,
    /// Operands: 1 (sqrt, conversions), 2 (add, sub, mul, div) or 3 (fma). Float operands of
    /// arithmetic have type `ty`; a conversion's operand has its own type.
    pub args: &'a [Temp],
    /// Where the inexact flag is, or that flags are not tracked.
    pub flags: Flags,
    /// Nonzero when the guest control allows the fast path (any integer type); `None` when it
    /// always does (a static round-to-nearest instruction on a guest without FZ modes).
    pub ok: Option<Temp>,
}

/// Float constants of a width, as bit patterns.
struct Consts {
    abs: u64,
    min_normal: u64,
    inf: u64,
    /// Significand bits + 1: integers below 2^this convert exactly.
    exact_bits: u32,
}

fn consts(ty: Ty) -> Consts {
    match ty {
        Ty::I32 => Consts {
            abs: 0x7fff_ffff,
            min_normal: 0x0080_0000,
            inf: 0x7f80_0000,
            exact_bits: 24,
        },
        Ty::I64 => Consts {
            abs: i64::MAX as u64,
            min_normal: 0x0010_0000_0000_0000,
            inf: 0x7ff0_0000_0000_0000,
            exact_bits: 53,
        },
    }
}

/// Emits `p`'s fast path with `slow` as the fallback; returns a temp of type `p.ty` holding the
/// result on both paths. `slow` emits the precise computation (typically a helper call) and
/// returns its result, as i64 (truncated here when `p.ty` is i32) or `p.ty`.
pub fn gen_fast_path(
    b: &mut Builder,
    p: &FastPath<'_>,
    slow: impl FnOnce(&mut Builder) -> Temp,
) -> Temp {
    let dst = b.temp(p.ty);
    let (l_slow, l_fast, l_done) = (b.label(), b.label(), b.label());
    if let Some(ok) = p.ok {
        match defining_setcond(b, ok) {
            // `ok = setcond c(x, y)` just before: branch on !c(x, y) directly.
            Some((c, x, y)) => b.branch(c.invert(), x, y, l_slow),
            None => {
                let z = b.konst(b.ty(ok), 0);
                b.branch(Cond::Eq, ok, z, l_slow);
            }
        }
    }
    gen_denormal_check(b, p, l_slow);
    let r = gen_checked(b, p, l_slow, l_fast);
    b.set_label(l_fast);
    b.mov(dst, r);
    b.jump(l_done);
    b.set_label(l_slow);
    let first = b.num_labels();
    let v = slow(b);
    // The slow path, with any labels it made, goes out of line.
    b.set_cold(l_slow);
    for l in first..b.num_labels() {
        b.set_cold(Label(l));
    }
    let v = if b.ty(v) != p.ty { b.trunc(v) } else { v };
    b.mov(dst, v);
    b.set_label(l_done);
    dst
}

/// [`Flags::StickyDenormal`]: slow when a float operand is subnormal and DE is not set yet.
fn gen_denormal_check(b: &mut Builder, p: &FastPath<'_>, slow: Label) {
    let Flags::StickyDenormal { off, ty, de, .. } = p.flags else {
        return;
    };
    let n = match p.op {
        FpOp::Add | FpOp::Sub | FpOp::Mul | FpOp::Div => 2,
        FpOp::Fma => 3,
        FpOp::Sqrt | FpOp::CvtF => 1,
        _ => return,
    };
    let done = b.label();
    let w = b.get_reg(ty, off);
    let d = b.binop_imm(Opcode::And, w, de);
    let z = b.konst(ty, 0);
    b.branch(Cond::Ne, d, z, done);
    for &x in &p.args[..n] {
        let fty = b.ty(x);
        let c = consts(fty);
        // subnormal  ⟺  0 < |x| < MIN  ⟺  |x| - 1 <u MIN - 1
        let m = b.binop_imm(Opcode::And, x, c.abs);
        let t = b.binop_imm(Opcode::Sub, m, 1);
        let k = b.konst(fty, c.min_normal - 1);
        b.branch(Cond::Ltu, t, k, slow);
    }
    b.set_label(done);
}

/// When `t` was last written by a `setcond` in the straight-line code just emitted, whose
/// operands nothing has written since: its condition and operands.
fn defining_setcond(b: &Builder, t: Temp) -> Option<(Cond, Temp, Temp)> {
    let insts = &b.unit().insts;
    for (k, i) in insts.iter().enumerate().rev() {
        if i.op.flags().terminator
            || matches!(
                i.op.format(),
                crate::Format::Label | crate::Format::Branch | crate::Format::Call
            )
        {
            return None;
        }
        if i.dst != t {
            continue;
        }
        if i.op != Opcode::SetCond {
            return None;
        }
        let (x, y) = (i.src[0], i.src[1]);
        let clobbered = insts[k + 1..].iter().any(|j| j.dst == x || j.dst == y);
        return if clobbered {
            None
        } else {
            Cond::from_u32(i.aux).map(|c| (c, x, y))
        };
    }
    None
}

/// `r = op(args)` with [`FNAN_ANY`]: a NaN result is discarded (slow path) anyway.
fn gen_anynan(b: &mut Builder, op: Opcode, ty: Ty, args: &[Temp]) -> Temp {
    let d = b.temp(ty);
    let mut src = [Temp::NONE; 4];
    src[..args.len()].copy_from_slice(args);
    b.push(Inst {
        op,
        ty,
        dst: d,
        src,
        imm: 0,
        aux: FNAN_ANY,
    });
    d
}

/// The host operation and its checks: branches to `slow` or `fast`, or falls through to
/// `fast`; returns the host result.
fn gen_checked(b: &mut Builder, p: &FastPath<'_>, slow: Label, fast: Label) -> Temp {
    let a = p.args;
    match p.op {
        FpOp::Add | FpOp::Sub => {
            let op = if p.op == FpOp::Add {
                Opcode::FAdd
            } else {
                Opcode::FSub
            };
            let r = gen_anynan(b, op, p.ty, &a[..2]);
            gen_sum_checks(b, p, r, slow, fast);
            r
        }
        FpOp::Mul | FpOp::Div | FpOp::Sqrt | FpOp::Fma | FpOp::CvtF => {
            let (op, n) = match p.op {
                FpOp::Mul => (Opcode::FMul, 2),
                FpOp::Div => (Opcode::FDiv, 2),
                FpOp::Sqrt => (Opcode::FSqrt, 1),
                FpOp::Fma => (Opcode::FFma, 3),
                _ => (Opcode::FCvtF, 1),
            };
            let r = gen_anynan(b, op, p.ty, &a[..n]);
            if p.op == FpOp::CvtF && p.ty == Ty::I64 {
                // f32 → f64 is exact: only a NaN is slow.
                gen_not_nan(b, p.ty, r, slow);
            } else {
                gen_normal_checks(b, p, r, slow);
            }
            r
        }
        FpOp::FromS | FpOp::FromU => gen_from_int(b, p, slow, fast),
        FpOp::ToS(mode) | FpOp::ToU(mode) => gen_to_int(b, p, mode, slow, fast),
    }
}

/// Branches to `slow` when the float `r` of width `ty` is a NaN (or, if `inf_too`, an
/// infinity); returns `|r|` as bits.
fn gen_abs_check(b: &mut Builder, ty: Ty, r: Temp, inf_too: bool, slow: Label) -> Temp {
    let c = consts(ty);
    let m = b.binop_imm(Opcode::And, r, c.abs);
    let inf = b.konst(ty, c.inf);
    b.branch(if inf_too { Cond::Geu } else { Cond::Gtu }, m, inf, slow);
    m
}

fn gen_not_nan(b: &mut Builder, ty: Ty, r: Temp, slow: Label) {
    gen_abs_check(b, ty, r, false, slow);
}

/// Branches to `fast` when the sticky NX flag is set (no-op for untracked flags).
fn gen_nx_set(b: &mut Builder, p: &FastPath<'_>, fast: Label) {
    if let Some((off, ty, mask)) = p.flags.nx() {
        let w = b.get_reg(ty, off);
        let nx = b.binop_imm(Opcode::And, w, mask);
        let z = b.konst(ty, 0);
        b.branch(Cond::Ne, nx, z, fast);
    }
}

/// fadd/fsub: slow on inf/NaN; fast when NX is set or the result is zero/subnormal (exact).
fn gen_sum_checks(b: &mut Builder, p: &FastPath<'_>, r: Temp, slow: Label, fast: Label) {
    let untracked = p.flags.nx().is_none();
    let m = gen_abs_check(b, p.ty, r, !untracked, slow);
    if untracked {
        return;
    }
    gen_nx_set(b, p, fast);
    let min = b.konst(p.ty, consts(p.ty).min_normal);
    b.branch(Cond::Geu, m, min, slow);
}

/// Results that must be normal and above the smallest normal, with NX set.
fn gen_normal_checks(b: &mut Builder, p: &FastPath<'_>, r: Temp, slow: Label) {
    let ty = if matches!(p.op, FpOp::CvtF) {
        p.ty
    } else {
        b.ty(r)
    };
    if p.flags.nx().is_none() {
        gen_not_nan(b, ty, r, slow);
        return;
    }
    let c = consts(ty);
    let m = b.binop_imm(Opcode::And, r, c.abs);
    // MIN < m < INF  ⟺  m - (MIN + 1) <u INF - MIN - 1
    let t = b.binop_imm(Opcode::Sub, m, c.min_normal + 1);
    let span = b.konst(ty, c.inf - c.min_normal - 1);
    b.branch(Cond::Geu, t, span, slow);
    if let Some((off, ty, mask)) = p.flags.nx() {
        let w = b.get_reg(ty, off);
        let nx = b.binop_imm(Opcode::And, w, mask);
        let z = b.konst(ty, 0);
        b.branch(Cond::Eq, nx, z, slow);
    }
}

/// int → float: exact when the integer fits the significand, else NX must be set.
fn gen_from_int(b: &mut Builder, p: &FastPath<'_>, slow: Label, fast: Label) -> Temp {
    let x = p.args[0];
    let sty = b.ty(x);
    let signed = p.op == FpOp::FromS;
    let op = if signed {
        Opcode::FCvtFromS
    } else {
        Opcode::FCvtFromU
    };
    let r = b.fconvert(op, p.ty, x);
    let bits = consts(p.ty).exact_bits;
    if sty.bits() <= bits || p.flags.nx().is_none() {
        return r; // i32 → f64 (or flags untracked): always fast
    }
    gen_nx_set(b, p, fast);
    // Exact when -2^bits < x < 2^bits (signed) or x < 2^bits (unsigned).
    let (v, lim) = if signed {
        let biased = b.binop_imm(Opcode::Add, x, (1u64 << bits) - 1);
        (biased, sty.mask((1u64 << (bits + 1)) - 1))
    } else {
        (x, 1u64 << bits)
    };
    let k = b.konst(sty, lim);
    b.branch(Cond::Geu, v, k, slow);
    r
}

/// float → int: round with `mode`, slow unless the rounded value is in the integer type's
/// range and (NX set or the value was integral); then the saturating truncation is exact.
fn gen_to_int(b: &mut Builder, p: &FastPath<'_>, mode: FRound, slow: Label, fast: Label) -> Temp {
    let x = p.args[0];
    let fty = b.ty(x);
    let signed = matches!(p.op, FpOp::ToS(_));
    let rf = if mode == FRound::Trunc {
        x
    } else {
        b.fround(mode, x)
    };
    // Range bounds as floats of x's width: lo <= rf (ordered) and rf < hi.
    let w = p.ty.bits();
    let (lo, hi) = if signed {
        (-(2f64.powi(w as i32 - 1)), 2f64.powi(w as i32 - 1))
    } else {
        (-1.0, 2f64.powi(w as i32))
    };
    let fbits = |v: f64| match fty {
        Ty::I32 => u64::from((v as f32).to_bits()),
        Ty::I64 => v.to_bits(),
    };
    let (klo, khi) = (b.konst(fty, fbits(lo)), b.konst(fty, fbits(hi)));
    // Unsigned: -1 < rf (a truncated -0.5 is -0, fine); signed: lo <= rf.
    let lo_cond = if signed { FCond::Ge } else { FCond::Gt };
    let in_lo = b.fsetcond(Ty::I32, lo_cond, rf, klo);
    let in_hi = b.fsetcond(Ty::I32, FCond::Lt, rf, khi);
    let both = b.binop(Opcode::And, in_lo, in_hi);
    let z = b.konst(Ty::I32, 0);
    b.branch(Cond::Eq, both, z, slow);
    let op = if signed {
        Opcode::FCvtToS
    } else {
        Opcode::FCvtToU
    };
    let r = b.fconvert(op, p.ty, rf);
    if p.flags.nx().is_none() {
        return r;
    }
    gen_nx_set(b, p, fast);
    // Integral already (the truncation in the conversion is exact too): no NX.
    let rt = if mode == FRound::Trunc {
        b.fround(FRound::Trunc, x)
    } else {
        rf
    };
    let exact = b.fsetcond(Ty::I32, FCond::Eq, rt, x);
    b.branch(Cond::Eq, exact, z, slow);
    r
}
