//! Semantics of the float opcodes, on bit patterns: `Ty::I32` means an IEEE binary32 (f32),
//! `Ty::I64` a binary64 (f64). These are the definitions the interpreter runs and the backend's
//! compiled code is tested against.
//!
//! Rules shared by every float opcode:
//! - Rounding is to nearest, ties to even; subnormal inputs and results are kept (no
//!   flush-to-zero); no exception flags are recorded anywhere.
//! - Any NaN result is the canonical quiet NaN, positive with an empty payload
//!   ([`CANON_NAN32`], [`CANON_NAN64`]), whatever the NaN operands were (this is RISC-V's rule;
//!   guests that propagate payloads take the slow path for NaN operands).
//! - `fmin`/`fmax` are IEEE 754-2019 minimumNumber/maximumNumber: a NaN operand (quiet or
//!   signalling) yields the other operand, two NaNs give the canonical NaN, and −0 < +0.
//! - Float → integer conversions truncate toward zero and saturate: out-of-range values give the
//!   integer type's MIN or MAX, NaN gives 0 (Rust's `as`). Frontends use them after their own
//!   range check when the guest wants another out-of-range result (x86's 0x8000…, RISC-V's
//!   MAX for NaN).

use crate::ops::Opcode;
use crate::unit::{FRound, Ty};

/// The canonical quiet NaN of binary32.
pub const CANON_NAN32: u32 = 0x7fc0_0000;
/// The canonical quiet NaN of binary64.
pub const CANON_NAN64: u64 = 0x7ff8_0000_0000_0000;

/// The canonical NaN of width `ty`, as a temp value.
pub fn canon_nan(ty: Ty) -> u64 {
    match ty {
        Ty::I32 => u64::from(CANON_NAN32),
        Ty::I64 => CANON_NAN64,
    }
}

fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}

fn bits32(x: f32) -> u64 {
    if x.is_nan() {
        u64::from(CANON_NAN32)
    } else {
        u64::from(x.to_bits())
    }
}

fn bits64(x: f64) -> u64 {
    if x.is_nan() { CANON_NAN64 } else { x.to_bits() }
}

/// Whether `v` is a NaN of width `ty`.
pub fn is_nan(ty: Ty, v: u64) -> bool {
    match ty {
        Ty::I32 => f32_of(v).is_nan(),
        Ty::I64 => f64_of(v).is_nan(),
    }
}

/// `fadd`, `fsub`, `fmul`, `fdiv`, `fmin`, `fmax`.
pub fn binary(op: Opcode, ty: Ty, a: u64, b: u64) -> u64 {
    if matches!(op, Opcode::FMin | Opcode::FMax) {
        return min_max(op == Opcode::FMin, ty, a, b);
    }
    match ty {
        Ty::I32 => {
            let (x, y) = (f32_of(a), f32_of(b));
            bits32(match op {
                Opcode::FAdd => x + y,
                Opcode::FSub => x - y,
                Opcode::FMul => x * y,
                Opcode::FDiv => x / y,
                _ => unreachable!("{op:?} is not a float binary op"),
            })
        }
        Ty::I64 => {
            let (x, y) = (f64_of(a), f64_of(b));
            bits64(match op {
                Opcode::FAdd => x + y,
                Opcode::FSub => x - y,
                Opcode::FMul => x * y,
                Opcode::FDiv => x / y,
                _ => unreachable!("{op:?} is not a float binary op"),
            })
        }
    }
}

fn min_max(min: bool, ty: Ty, a: u64, b: u64) -> u64 {
    let (a, b) = (ty.mask(a), ty.mask(b));
    match (is_nan(ty, a), is_nan(ty, b)) {
        (true, true) => return canon_nan(ty),
        (true, false) => return b,
        (false, true) => return a,
        _ => {}
    }
    let (x, y) = match ty {
        Ty::I32 => (f64::from(f32_of(a)), f64::from(f32_of(b))),
        Ty::I64 => (f64_of(a), f64_of(b)),
    };
    if x == y {
        // Equal values have equal bits except ±0: OR keeps a −, AND keeps a +.
        return if min { a | b } else { a & b };
    }
    if (x < y) == min { a } else { b }
}

/// `fsqrt`.
pub fn sqrt(ty: Ty, a: u64) -> u64 {
    match ty {
        Ty::I32 => bits32(f32_of(a).sqrt()),
        Ty::I64 => bits64(f64_of(a).sqrt()),
    }
}

/// `ffma`: `a * b + c` with one rounding.
pub fn fma(ty: Ty, a: u64, b: u64, c: u64) -> u64 {
    match ty {
        Ty::I32 => bits32(f32_of(a).mul_add(f32_of(b), f32_of(c))),
        Ty::I64 => bits64(f64_of(a).mul_add(f64_of(b), f64_of(c))),
    }
}

/// `fround` with `mode`.
pub fn round(ty: Ty, mode: FRound, a: u64) -> u64 {
    match ty {
        Ty::I32 => {
            let x = f32_of(a);
            bits32(match mode {
                FRound::Nearest => x.round_ties_even(),
                FRound::Floor => x.floor(),
                FRound::Ceil => x.ceil(),
                FRound::Trunc => x.trunc(),
            })
        }
        Ty::I64 => {
            let x = f64_of(a);
            bits64(match mode {
                FRound::Nearest => x.round_ties_even(),
                FRound::Floor => x.floor(),
                FRound::Ceil => x.ceil(),
                FRound::Trunc => x.trunc(),
            })
        }
    }
}

/// The `FConvert` opcodes: `s0` of type `from` converted to type `to`.
pub fn convert(op: Opcode, from: Ty, to: Ty, a: u64) -> u64 {
    let a = from.mask(a);
    match op {
        Opcode::FCvtFromS | Opcode::FCvtFromU => {
            let signed = op == Opcode::FCvtFromS;
            match (from, to, signed) {
                (Ty::I32, Ty::I32, true) => bits32(a as u32 as i32 as f32),
                (Ty::I32, Ty::I32, false) => bits32(a as u32 as f32),
                (Ty::I64, Ty::I32, true) => bits32(a as i64 as f32),
                (Ty::I64, Ty::I32, false) => bits32(a as f32),
                (Ty::I32, Ty::I64, true) => bits64(f64::from(a as u32 as i32)),
                (Ty::I32, Ty::I64, false) => bits64(f64::from(a as u32)),
                (Ty::I64, Ty::I64, true) => bits64(a as i64 as f64),
                (Ty::I64, Ty::I64, false) => bits64(a as f64),
            }
        }
        Opcode::FCvtToS | Opcode::FCvtToU => {
            let x = match from {
                Ty::I32 => f64::from(f32_of(a)),
                Ty::I64 => f64_of(a),
            };
            let r = match (to, op == Opcode::FCvtToS) {
                (Ty::I32, true) => x as i32 as u32 as u64,
                (Ty::I32, false) => u64::from(x as u32),
                (Ty::I64, true) => x as i64 as u64,
                (Ty::I64, false) => x as u64,
            };
            to.mask(r)
        }
        Opcode::FCvtF => match (from, to) {
            (Ty::I32, Ty::I64) => bits64(f64::from(f32_of(a))),
            (Ty::I64, Ty::I32) => bits32(f64_of(a) as f32),
            _ => a,
        },
        _ => unreachable!("{op:?} is not a float conversion"),
    }
}
