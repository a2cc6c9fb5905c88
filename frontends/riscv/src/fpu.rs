//! Exact RISC-V F/D arithmetic on raw bit patterns (Unprivileged ISA, "F" and "D" chapters;
//! section numbers cited as ISA-2019 are from version 20191213).
//!
//! Every function returns the result encoding and the IEEE flags it raises, exactly as a
//! RISC-V hart would: the canonical NaN for every NaN result, no payload propagation,
//! tininess detected after rounding, saturating float-to-integer conversions, and the
//! 2.2 fmin/fmax. Single-precision values are passed and returned in the low 32 bits
//! (already unboxed; the caller NaN-boxes results).
//!
//! Rounding modes are the `frm` encodings with the dynamic mode already resolved:
//! 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM. Flags use the `fflags` bit layout ([`NV`] … [`NX`]).
//!
//! add/sub/mul/div/sqrt (any mode), fma (round to nearest, on hosts with a hardware FMA) and
//! the conversions take a host-FPU fast path when the result is an ordinary normal number
//! (see `fast`); everything else is computed exactly in integers (also reachable directly as
//! [`exact`]). The fast paths assume the host FPU is in its default state (round to nearest,
//! no flush-to-zero), as all Rust code does.
//!
//! ```
//! use xlat_frontend_riscv::fpu::{self, Fmt};
//! // 1.0 + 2^-60 in round-to-nearest: 1.0, inexact.
//! let (r, flags) = fpu::add(Fmt::D, 1f64.to_bits(), 2f64.powi(-60).to_bits(), 0);
//! assert_eq!((r, flags), (1f64.to_bits(), fpu::NX));
//!
//! // What a helper for `fadd.s fd, fs1, fs2, rm` does with f registers and fcsr fields:
//! let (fs1, fs2, mut fflags) = (fpu::nan_box(0x3fc0_0000), fpu::nan_box(0x4000_0000), 0u8);
//! let Some(rm) = fpu::resolve_rm(7, 0) else { panic!("raise illegal instruction") };
//! let (r, fl) = fpu::add(Fmt::S, fpu::unbox(fs1), fpu::unbox(fs2), rm);
//! fflags |= fl;
//! assert_eq!((fpu::nan_box(r), fflags), (0xffff_ffff_4060_0000, 0)); // 1.5 + 2.0 = 3.5
//! ```

mod arith;
mod cmp;
mod cvt;
mod fast;
mod pack;

/// The exact integer implementations alone, without the host-FPU fast paths; same signatures
/// and results as the top-level functions. For differential tests and benchmarks.
pub mod exact {
    pub use super::arith::{add, div, fma, mul, sqrt, sub};
}

/// Invalid operation.
pub const NV: u8 = 16;
/// Divide by zero.
pub const DZ: u8 = 8;
/// Overflow.
pub const OF: u8 = 4;
/// Underflow.
pub const UF: u8 = 2;
/// Inexact.
pub const NX: u8 = 1;

/// Round to nearest, ties to even.
const RNE: u8 = 0;
/// Round towards zero.
const RTZ: u8 = 1;
/// Round down (towards -∞).
const RDN: u8 = 2;
/// Round up (towards +∞).
const RUP: u8 = 3;
/// Round to nearest, ties away from zero.
const RMM: u8 = 4;

/// The operand format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// binary32, in the low 32 bits.
    S,
    /// binary64.
    D,
}

/// The rounding mode an instruction uses: its `rm` field, or `frm` when the field is 7
/// (dynamic). `None` when the result is a reserved mode (5 or 6 in either place, or 7 in
/// `frm`): the instruction is then illegal (ISA-2019 §11.2, "Floating-Point Control and
/// Status Register").
#[inline]
pub fn resolve_rm(insn_rm: u8, frm: u8) -> Option<u8> {
    let rm = if insn_rm == 7 { frm } else { insn_rm };
    (rm <= 4).then_some(rm)
}

/// NaN-boxes a single-precision result for writing to an f register (ISA-2019 §12.2: the
/// upper 32 bits are all ones).
#[inline]
pub fn nan_box(s: u64) -> u64 {
    s | 0xffff_ffff_0000_0000
}

/// Reads an f register as a single-precision operand (ISA-2019 §12.2): a value that is not
/// properly NaN-boxed reads as the canonical NaN. fmv.x.w and fsw move the raw bits instead.
#[inline]
pub fn unbox(reg: u64) -> u64 {
    if reg >> 32 == 0xffff_ffff {
        reg & 0xffff_ffff
    } else {
        Fmt::S.canonical_nan()
    }
}

macro_rules! fast_or_soft2 {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[inline]
        pub fn $name(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
            match f {
                Fmt::D => {
                    if let Some(r) = fast::d::$name(a, b, rm) {
                        return r;
                    }
                }
                Fmt::S => {
                    if let Some((r, fl)) = fast::s::$name(a as u32, b as u32, rm) {
                        return (u64::from(r), fl);
                    }
                }
            }
            arith::$name(f, a, b, rm)
        }
    };
}

fast_or_soft2!(add, "fadd: `a + b`.");
fast_or_soft2!(sub, "fsub: `a - b`.");
fast_or_soft2!(mul, "fmul: `a * b`.");
fast_or_soft2!(
    div,
    "fdiv: `a / b` (DZ for a finite nonzero `a` over zero)."
);

/// fsqrt.
#[inline]
pub fn sqrt(f: Fmt, a: u64, rm: u8) -> (u64, u8) {
    match f {
        Fmt::D => {
            if let Some(r) = fast::d::sqrt(a, rm) {
                return r;
            }
        }
        Fmt::S => {
            if let Some((r, fl)) = fast::s::sqrt(a as u32, rm) {
                return (u64::from(r), fl);
            }
        }
    }
    arith::sqrt(f, a, rm)
}

/// Fused multiply-add `(±a·b) + (±c)` with one rounding: fmadd (false, false), fmsub
/// (false, true), fnmsub (true, false), fnmadd (true, true).
#[inline]
pub fn fma(
    f: Fmt,
    a: u64,
    b: u64,
    c: u64,
    rm: u8,
    neg_product: bool,
    neg_addend: bool,
) -> (u64, u8) {
    if rm == RNE {
        // -(a·b) is (-a)·b exactly, so the negations become sign flips of a and c.
        let flip = |v: u64, neg: bool| if neg { v ^ f.sign_bit() } else { v };
        let (a2, c2) = (flip(a, neg_product), flip(c, neg_addend));
        match f {
            Fmt::D => {
                if let Some(r) = fast::d::fma(a2, b, c2) {
                    return r;
                }
            }
            Fmt::S => {
                if let Some((r, fl)) = fast::s::fma(a2 as u32, b as u32, c2 as u32) {
                    return (u64::from(r), fl);
                }
            }
        }
    }
    arith::fma(f, a, b, c, rm, neg_product, neg_addend)
}

/// fmin (minimumNumber).
#[inline]
pub fn min(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    cmp::min(f, a, b)
}

/// fmax (maximumNumber).
#[inline]
pub fn max(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    cmp::max(f, a, b)
}

/// feq: 1 if equal; NV only for signaling NaNs.
#[inline]
pub fn eq(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    cmp::eq(f, a, b)
}

/// flt: 1 if `a < b`; NV for any NaN.
#[inline]
pub fn lt(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    cmp::lt(f, a, b)
}

/// fle: 1 if `a <= b`; NV for any NaN.
#[inline]
pub fn le(f: Fmt, a: u64, b: u64) -> (u64, u8) {
    cmp::le(f, a, b)
}

/// fclass: the one-hot class mask (bit 0 -∞ … bit 9 quiet NaN).
#[inline]
pub fn classify(f: Fmt, a: u64) -> u64 {
    cmp::classify(f, a)
}

/// fcvt.{w,wu,l,lu}.{s,d}: W results are sign-extended to 64 bits.
#[inline]
pub fn to_int(f: Fmt, a: u64, rm: u8, signed: bool, word: bool) -> (u64, u8) {
    cvt::to_int(f, a, rm, signed, word)
}

/// fcvt.{s,d}.{w,wu,l,lu}: `a` is the full x register (W forms use its low 32 bits).
#[inline]
pub fn from_int(f: Fmt, a: u64, rm: u8, signed: bool, word: bool) -> (u64, u8) {
    cvt::from_int(f, a, rm, signed, word)
}

/// fcvt.s.d and fcvt.d.s.
#[inline]
pub fn convert(from: Fmt, to: Fmt, a: u64, rm: u8) -> (u64, u8) {
    cvt::convert(from, to, a, rm)
}
