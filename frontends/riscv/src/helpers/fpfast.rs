//! Pure fast paths for F/D instructions.
//!
//! An F/D instruction lifts to a call of one of these helpers, passing the source registers and
//! the instruction's `rm` field (7: dynamic, read from `frm`); where the helper returns its
//! sentinel, the lifted code calls the full helper ([`super::FP_OP`], [`super::FP_FMA`])
//! instead, which raises the flags and the illegal-instruction trap. A fast helper returns a
//! result only when executing the instruction would leave `fflags` unchanged: every flag the
//! operation raises is already set. It only reads `fflags` and `frm` (declared, so the backend
//! neither spills nor reloads cached guest registers around the call) and never traps.
//!
//! This is QEMU's "hardfloat" observation: once NX has been accrued (as it is after the first
//! inexact operation of almost any FP program), a round-to-nearest operation whose host result
//! is a normal number raises nothing new, so the host FPU's result is all there is to compute.
//! Everything else goes through the exact [`crate::fpu`] functions, and only when those raise
//! a new flag (or the rounding mode is reserved) does the full helper run.

use super::{boxed, operand};
use crate::fpu::{self, Fmt, NX};
use crate::state::{FFLAGS, FRM};
use xlat_ir::abi::CpuState;
use xlat_ir::{Helper, HelperFlags};

/// What a fast helper returns when the full helper must run. No F/D result is this value:
/// NaN results are canonical (and a boxed single's low half would be a non-canonical NaN).
pub const SENTINEL: u64 = u64::MAX;
/// The sentinel of float-to-integer conversions: a W result (sign-extended 32 bits) never is
/// `1 << 63`; an L result of exactly -2^63 just takes the full helper.
pub const SENTINEL_INT: u64 = 1 << 63;

/// `fflags` NX, as a word.
const NXW: u64 = NX as u64;
const RNE: u64 = 0;
const RTZ: u64 = 1;

/// fcvt kinds (helper argument): bit 0 signed, bit 1 word (32-bit integer).
pub const CVT_SIGNED: u64 = 1;
/// See [`CVT_SIGNED`].
pub const CVT_WORD: u64 = 2;

/// fma argument `k`: the `rm` field, or-ed with these for fmsub/fnmsub/fnmadd.
pub const FMA_NEG_PRODUCT: u64 = 1 << 8;
/// See [`FMA_NEG_PRODUCT`].
pub const FMA_NEG_ADDEND: u64 = 1 << 9;

/// A fast helper: reads `fflags` and `frm`, writes nothing, never raises.
const fn fast(name: &'static str, func: xlat_ir::HelperFn, nargs: u8) -> Helper {
    Helper {
        name,
        func,
        nargs,
        flags: HelperFlags {
            reads_state: true,
            writes_state: false,
            may_raise: false,
        },
        state_words: Some(&[FFLAGS, FRM]),
    }
}

/// A helper that depends only on its arguments.
const fn pure(name: &'static str, func: xlat_ir::HelperFn, nargs: u8) -> Helper {
    Helper {
        name,
        func,
        nargs,
        flags: HelperFlags::PURE,
        state_words: Some(&[]),
    }
}

/// `fflags` and the rounding mode (`rm`, or `frm` when it is 7, dynamic).
#[inline(always)]
fn fl_rm(env: &CpuState, rm: u64) -> (u64, u64) {
    let rm = if rm == 7 { env.word(FRM) } else { rm };
    (env.word(FFLAGS), rm)
}

/// The value if raising `flags` would not change `fflags` (`fl`), else `sentinel`.
#[inline(always)]
fn settle(v: u64, flags: u8, fl: u64, sentinel: u64) -> u64 {
    if u64::from(flags) & !fl == 0 {
        v
    } else {
        sentinel
    }
}

/// A resolved rounding mode, or `None` for the reserved ones (5..=7).
#[inline(always)]
fn rm_of(rm: u64) -> Option<u8> {
    u8::try_from(rm).ok().filter(|&r| r <= 4)
}

/// Whether `r` is finite, normal and above the smallest normal: then a round-to-nearest
/// host result is the RISC-V result and can raise nothing but NX (no NaN operand, no invalid
/// operation, no overflow, no tininess).
#[inline(always)]
fn normal_d(r: f64) -> bool {
    const MIN: u64 = 0x0010_0000_0000_0000;
    const INF: u64 = 0x7ff0_0000_0000_0000;
    let m = r.to_bits() & !(1 << 63);
    m.wrapping_sub(MIN + 1) < INF - MIN - 1
}

/// [`normal_d`] for singles.
#[inline(always)]
fn normal_s(r: f32) -> bool {
    const MIN: u32 = 0x0080_0000;
    const INF: u32 = 0x7f80_0000;
    let m = r.to_bits() & !(1 << 31);
    m.wrapping_sub(MIN + 1) < INF - MIN - 1
}

/// Whether an f register holds a properly NaN-boxed single.
#[inline(always)]
fn is_boxed(reg: u64) -> bool {
    reg >> 32 == 0xffff_ffff
}

type Op2 = fn(Fmt, u64, u64, u8) -> (u64, u8);

#[inline(never)]
fn general2(f: Fmt, op: Op2, a: u64, b: u64, fl: u64, rm: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL;
    };
    let (v, flags) = op(f, operand(f, a), operand(f, b), rm);
    settle(boxed(f, v), flags, fl, SENTINEL)
}

/// The D and S fast helpers of a two-operand op. In round to nearest, a normal result with NX
/// accrued is final, and so is a zero that `$zero(x, y, r)` says is exact (those raise nothing
/// and their sign follows IEEE's rules, which the host applies).
macro_rules! arith2 {
    ($(#[doc = $doc:literal] $hd:ident $hs:ident $fd:ident $fs:ident $op:tt $soft:path, $zero:expr;)*) => {$(
        extern "C" fn $fd(env: &mut CpuState, a: u64, b: u64, rm: u64, _: u64) -> u64 {
            let (fl, rm) = fl_rm(env, rm);
            if rm == RNE {
                let (x, y) = (f64::from_bits(a), f64::from_bits(b));
                let r = x $op y;
                if (normal_d(r) && fl & NXW != 0) || (r == 0.0 && $zero(x, y)) {
                    return r.to_bits();
                }
            }
            general2(Fmt::D, $soft, a, b, fl, rm)
        }
        extern "C" fn $fs(env: &mut CpuState, a: u64, b: u64, rm: u64, _: u64) -> u64 {
            let (fl, rm) = fl_rm(env, rm);
            if rm == RNE && is_boxed(a) && is_boxed(b) {
                let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
                let r = x $op y;
                if (normal_s(r) && fl & NXW != 0) || (r == 0.0 && $zero(x, y)) {
                    return fpu::nan_box(u64::from(r.to_bits()));
                }
            }
            general2(Fmt::S, $soft, a, b, fl, rm)
        }
        #[doc = concat!($doc, ".d: (fs1, fs2, rm).")]
        pub static $hd: Helper = fast(stringify!($fd), $fd, 3);
        #[doc = concat!($doc, ".s: (fs1, fs2, rm).")]
        pub static $hs: Helper = fast(stringify!($fs), $fs, 3);
    )*};
}

arith2! {
    /// fadd (a zero sum of floats is always exact: sums are multiples of the least subnormal)
    FADD_D FADD_S fast_fadd_d fast_fadd_s + fpu::add, |_, _| true;
    /// fsub
    FSUB_D FSUB_S fast_fsub_d fast_fsub_s - fpu::sub, |_, _| true;
    /// fmul (a zero product is exact when an operand is zero, not when it underflowed)
    FMUL_D FMUL_S fast_fmul_d fast_fmul_s * fpu::mul, |x, y| x == 0.0 || y == 0.0;
    /// fdiv (zero over nonzero, or finite over infinity)
    FDIV_D FDIV_S fast_fdiv_d fast_fdiv_s / fpu::div, |x, y: _| x == 0.0 || y == 1.0 / 0.0 || y == -1.0 / 0.0;
}

#[inline(never)]
fn general_sqrt(f: Fmt, a: u64, fl: u64, rm: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL;
    };
    let (v, flags) = fpu::sqrt(f, operand(f, a), rm);
    settle(boxed(f, v), flags, fl, SENTINEL)
}

extern "C" fn fast_fsqrt_d(env: &mut CpuState, a: u64, rm: u64, _: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RNE {
        // sqrt(±0) is ±0, exactly.
        let r = f64::from_bits(a).sqrt();
        if (normal_d(r) && fl & NXW != 0) || r == 0.0 {
            return r.to_bits();
        }
    }
    general_sqrt(Fmt::D, a, fl, rm)
}

extern "C" fn fast_fsqrt_s(env: &mut CpuState, a: u64, rm: u64, _: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RNE && is_boxed(a) {
        let r = f32::from_bits(a as u32).sqrt();
        if (normal_s(r) && fl & NXW != 0) || r == 0.0 {
            return fpu::nan_box(u64::from(r.to_bits()));
        }
    }
    general_sqrt(Fmt::S, a, fl, rm)
}

/// fsqrt.d: (fs1, rm).
pub static FSQRT_D: Helper = fast("fast_fsqrt_d", fast_fsqrt_d, 2);
/// fsqrt.s: (fs1, rm).
pub static FSQRT_S: Helper = fast("fast_fsqrt_s", fast_fsqrt_s, 2);

#[inline(never)]
fn general_fma(f: Fmt, a: u64, b: u64, c: u64, k: u64, fl: u64, rm: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL;
    };
    let (np, na) = (k & FMA_NEG_PRODUCT != 0, k & FMA_NEG_ADDEND != 0);
    let (x, y, z) = (operand(f, a), operand(f, b), operand(f, c));
    let (v, flags) = fpu::fma(f, x, y, z, rm, np, na);
    settle(boxed(f, v), flags, fl, SENTINEL)
}

extern "C" fn fast_fma_d(env: &mut CpuState, a: u64, b: u64, c: u64, k: u64) -> u64 {
    let (fl, rm) = fl_rm(env, k & 7);
    if rm == RNE && fl & NXW != 0 {
        // -(a·b) is (-a)·b exactly, so the negations are sign flips of a and c.
        let sa = if k & FMA_NEG_PRODUCT != 0 { 1 << 63 } else { 0 };
        let sc = if k & FMA_NEG_ADDEND != 0 { 1 << 63 } else { 0 };
        let (x, y, z) = (
            f64::from_bits(a ^ sa),
            f64::from_bits(b),
            f64::from_bits(c ^ sc),
        );
        let r = x.mul_add(y, z);
        if normal_d(r) {
            return r.to_bits();
        }
    }
    general_fma(Fmt::D, a, b, c, k, fl, rm)
}

extern "C" fn fast_fma_s(env: &mut CpuState, a: u64, b: u64, c: u64, k: u64) -> u64 {
    let (fl, rm) = fl_rm(env, k & 7);
    if rm == RNE && fl & NXW != 0 && is_boxed(a) && is_boxed(b) && is_boxed(c) {
        let sa = if k & FMA_NEG_PRODUCT != 0 { 1 << 31 } else { 0 };
        let sc = if k & FMA_NEG_ADDEND != 0 { 1 << 31 } else { 0 };
        let x = f32::from_bits(a as u32 ^ sa);
        let z = f32::from_bits(c as u32 ^ sc);
        let r = x.mul_add(f32::from_bits(b as u32), z);
        if normal_s(r) {
            return fpu::nan_box(u64::from(r.to_bits()));
        }
    }
    general_fma(Fmt::S, a, b, c, k, fl, rm)
}

/// fmadd/fmsub/fnmsub/fnmadd.d: (fs1, fs2, fs3, k) with `k` as [`FMA_NEG_PRODUCT`] describes.
pub static FMA_D: Helper = fast("fast_fma_d", fast_fma_d, 4);
/// The same for singles.
pub static FMA_S: Helper = fast("fast_fma_s", fast_fma_s, 4);

/// fcvt to an integer in RTZ (C's casts) for a finite in-range `x`: the sign-extended result
/// if it is exact or NX is already accrued.
#[inline(always)]
fn trunc_fast(x: f64, fl: u64, kind: u64) -> Option<u64> {
    const TWO31: f64 = 2_147_483_648.0;
    const TWO32: f64 = 4_294_967_296.0;
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    const TWO64: f64 = 18_446_744_073_709_551_616.0;
    // NaN fails every comparison.
    let (v, t) = match kind & 3 {
        3 if x > -TWO31 - 1.0 && x < TWO31 => {
            let t = x as i32;
            (i64::from(t) as u64, f64::from(t))
        }
        2 if x > -1.0 && x < TWO32 => {
            let t = x as u32;
            (i64::from(t as i32) as u64, f64::from(t))
        }
        1 if (-TWO63..TWO63).contains(&x) => {
            let t = x as i64;
            (t as u64, t as f64)
        }
        0 if x > -1.0 && x < TWO64 => {
            let t = x as u64;
            (t, t as f64)
        }
        _ => return None,
    };
    (t == x || fl & NXW != 0).then_some(v)
}

#[inline(never)]
fn general_to_int(f: Fmt, a: u64, fl: u64, rm: u64, kind: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL_INT;
    };
    let (signed, word) = (kind & CVT_SIGNED != 0, kind & CVT_WORD != 0);
    let (v, flags) = fpu::to_int(f, operand(f, a), rm, signed, word);
    settle(v, flags, fl, SENTINEL_INT)
}

extern "C" fn fast_to_int_d(env: &mut CpuState, a: u64, rm: u64, kind: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RTZ
        && let Some(v) = trunc_fast(f64::from_bits(a), fl, kind)
    {
        return v;
    }
    general_to_int(Fmt::D, a, fl, rm, kind)
}

extern "C" fn fast_to_int_s(env: &mut CpuState, a: u64, rm: u64, kind: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RTZ
        && is_boxed(a)
        && let Some(v) = trunc_fast(f64::from(f32::from_bits(a as u32)), fl, kind)
    {
        return v;
    }
    general_to_int(Fmt::S, a, fl, rm, kind)
}

/// fcvt.{w,wu,l,lu}.d: (fs1, rm, kind); sentinel [`SENTINEL_INT`].
pub static TO_INT_D: Helper = fast("fast_to_int_d", fast_to_int_d, 3);
/// fcvt.{w,wu,l,lu}.s: (fs1, rm, kind); sentinel [`SENTINEL_INT`].
pub static TO_INT_S: Helper = fast("fast_to_int_s", fast_to_int_s, 3);

#[inline(never)]
fn general_from_int(f: Fmt, a: u64, fl: u64, rm: u64, kind: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL;
    };
    let (signed, word) = (kind & CVT_SIGNED != 0, kind & CVT_WORD != 0);
    let (v, flags) = fpu::from_int(f, a, rm, signed, word);
    settle(boxed(f, v), flags, fl, SENTINEL)
}

/// The integer operand of an fcvt from `kind`, as a double and as a single, each rounded to
/// nearest (Rust's integer-to-float casts round to nearest, ties to even).
#[inline(always)]
fn int_to_float(a: u64, kind: u64) -> (f64, f32) {
    match (kind & CVT_SIGNED != 0, kind & CVT_WORD != 0) {
        (true, true) => (f64::from(a as i32), a as i32 as f32),
        (false, true) => (f64::from(a as u32), a as u32 as f32),
        (true, false) => (a as i64 as f64, a as i64 as f32),
        (false, false) => (a as f64, a as f32),
    }
}

extern "C" fn fast_from_int_d(env: &mut CpuState, a: u64, rm: u64, kind: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    // A 32-bit integer is exact in a double, in every rounding mode; a 64-bit one rounds to
    // nearest as Rust's cast does (never overflowing, so at most NX).
    if rm <= 4 && (kind & CVT_WORD != 0 || (rm == RNE && fl & NXW != 0)) {
        return int_to_float(a, kind).0.to_bits();
    }
    general_from_int(Fmt::D, a, fl, rm, kind)
}

extern "C" fn fast_from_int_s(env: &mut CpuState, a: u64, rm: u64, kind: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RNE && fl & NXW != 0 {
        return fpu::nan_box(u64::from(int_to_float(a, kind).1.to_bits()));
    }
    general_from_int(Fmt::S, a, fl, rm, kind)
}

/// fcvt.d.{w,wu,l,lu}: (xs1, rm, kind).
pub static FROM_INT_D: Helper = fast("fast_from_int_d", fast_from_int_d, 3);
/// fcvt.s.{w,wu,l,lu}: (xs1, rm, kind).
pub static FROM_INT_S: Helper = fast("fast_from_int_s", fast_from_int_s, 3);

#[inline(never)]
fn general_convert(from: Fmt, to: Fmt, a: u64, fl: u64, rm: u64) -> u64 {
    let Some(rm) = rm_of(rm) else {
        return SENTINEL;
    };
    let (v, flags) = fpu::convert(from, to, operand(from, a), rm);
    settle(boxed(to, v), flags, fl, SENTINEL)
}

extern "C" fn fast_cvt_d_s(env: &mut CpuState, a: u64, rm: u64, _: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    // Widening a non-NaN single is exact and raises nothing.
    let x = f32::from_bits(a as u32);
    if rm <= 4 && is_boxed(a) && !x.is_nan() {
        return f64::from(x).to_bits();
    }
    general_convert(Fmt::S, Fmt::D, a, fl, rm)
}

extern "C" fn fast_cvt_s_d(env: &mut CpuState, a: u64, rm: u64, _: u64, _: u64) -> u64 {
    let (fl, rm) = fl_rm(env, rm);
    if rm == RNE && fl & NXW != 0 {
        let r = f64::from_bits(a) as f32;
        if normal_s(r) {
            return fpu::nan_box(u64::from(r.to_bits()));
        }
    }
    general_convert(Fmt::D, Fmt::S, a, fl, rm)
}

/// fcvt.d.s: (fs1, rm).
pub static CVT_D_S: Helper = fast("fast_cvt_d_s", fast_cvt_d_s, 2);
/// fcvt.s.d: (fs1, rm).
pub static CVT_S_D: Helper = fast("fast_cvt_s_d", fast_cvt_s_d, 2);

extern "C" fn class_d(_: &mut CpuState, a: u64, _: u64, _: u64, _: u64) -> u64 {
    fpu::classify(Fmt::D, a)
}
extern "C" fn class_s(_: &mut CpuState, a: u64, _: u64, _: u64, _: u64) -> u64 {
    fpu::classify(Fmt::S, fpu::unbox(a))
}

/// fclass.d: (fs1); never needs the full helper.
pub static CLASS_D: Helper = pure("fclass_d", class_d, 1);
/// fclass.s: (fs1).
pub static CLASS_S: Helper = pure("fclass_s", class_s, 1);

#[cfg(test)]
mod tests;
