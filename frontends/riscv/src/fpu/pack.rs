//! Unpacking, rounding and packing shared by every operation.
//!
//! A finite nonzero value is held as `sign`, `exp` and `sig`: `sig` has its most significant
//! bit at bit 63 and the value is `sig * 2^(exp - 63)`, i.e. `1.f * 2^exp`. Every operation
//! computes an exact (or exact-plus-sticky-bit) result in this or a wider form and hands it to
//! [`round_pack`], which is the only place that rounds, detects tininess and overflows.

use super::{Fmt, NV, NX, OF, UF};

/// The kind of value an encoding holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    Zero,
    Finite,
    Inf,
    QNan,
    SNan,
}

/// A decoded operand. `exp` and `sig` are meaningful only for `Class::Finite`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Unpacked {
    pub sign: bool,
    pub exp: i32,
    pub sig: u64,
    pub class: Class,
}

impl Unpacked {
    pub fn is_nan(&self) -> bool {
        matches!(self.class, Class::QNan | Class::SNan)
    }
}

impl Fmt {
    /// Stored fraction bits (the significand precision minus one).
    pub(super) const fn mant_bits(self) -> u32 {
        match self {
            Fmt::S => 23,
            Fmt::D => 52,
        }
    }

    /// Exponent field width.
    pub(super) const fn exp_bits(self) -> u32 {
        match self {
            Fmt::S => 8,
            Fmt::D => 11,
        }
    }

    pub(super) const fn bias(self) -> i32 {
        (1 << (self.exp_bits() - 1)) - 1
    }

    /// The all-ones exponent field (infinities and NaNs).
    pub(super) const fn exp_max(self) -> i32 {
        (1 << self.exp_bits()) - 1
    }

    pub(super) const fn sign_bit(self) -> u64 {
        1 << (self.mant_bits() + self.exp_bits())
    }

    /// Mask of the bits an encoding occupies.
    pub(super) const fn width_mask(self) -> u64 {
        match self {
            Fmt::S => 0xffff_ffff,
            Fmt::D => u64::MAX,
        }
    }

    /// RISC-V's canonical NaN (ISA-2019 §11.3: positive, quiet, zero payload).
    pub(super) const fn canonical_nan(self) -> u64 {
        match self {
            Fmt::S => 0x7fc0_0000,
            Fmt::D => 0x7ff8_0000_0000_0000,
        }
    }

    pub(super) const fn inf(self, sign: bool) -> u64 {
        ((sign as u64) << (self.mant_bits() + self.exp_bits()))
            | ((self.exp_max() as u64) << self.mant_bits())
    }

    pub(super) const fn zero(self, sign: bool) -> u64 {
        (sign as u64) << (self.mant_bits() + self.exp_bits())
    }
}

/// Decodes an encoding (for `S`, only the low 32 bits are looked at).
pub(super) fn unpack(f: Fmt, bits: u64) -> Unpacked {
    let mant = f.mant_bits();
    let bits = bits & f.width_mask();
    let sign = bits & f.sign_bit() != 0;
    let efield = ((bits >> mant) as i32) & f.exp_max();
    let m = bits & ((1u64 << mant) - 1);
    let (class, exp, sig) = if efield == f.exp_max() {
        let class = if m == 0 {
            Class::Inf
        } else if m >> (mant - 1) & 1 == 1 {
            Class::QNan
        } else {
            Class::SNan
        };
        (class, 0, 0)
    } else if efield == 0 {
        if m == 0 {
            (Class::Zero, 0, 0)
        } else {
            // Subnormal: m * 2^(1 - bias - mant); its top bit is at 63 - lz.
            let lz = m.leading_zeros();
            let exp = 63 - lz as i32 + 1 - f.bias() - mant as i32;
            (Class::Finite, exp, m << lz)
        }
    } else {
        let sig = (m | 1 << mant) << (63 - mant);
        (Class::Finite, efield - f.bias(), sig)
    };
    Unpacked {
        sign,
        exp,
        sig,
        class,
    }
}

/// The result of any operation with a NaN operand: the canonical NaN, with NV if any operand
/// is signaling (RISC-V does not propagate payloads).
pub(super) fn nan_result(f: Fmt, ops: &[Unpacked]) -> (u64, u8) {
    let nv = ops.iter().any(|u| u.class == Class::SNan);
    (f.canonical_nan(), if nv { NV } else { 0 })
}

/// Shifts right by `d`, OR-ing every bit shifted out into bit 0 ("jamming").
pub(super) fn shr_jam64(v: u64, d: u32) -> u64 {
    if d == 0 {
        v
    } else if d < 64 {
        (v >> d) | u64::from(v << (64 - d) != 0)
    } else {
        u64::from(v != 0)
    }
}

/// Shifts right by `d`, OR-ing every bit shifted out into bit 0.
pub(super) fn shr_jam128(v: u128, d: u32) -> u128 {
    if d == 0 {
        v
    } else if d < 128 {
        (v >> d) | u128::from(v << (128 - d) != 0)
    } else {
        u128::from(v != 0)
    }
}

/// Divides `sig` by `2^shift` and rounds to an integer per `rm` (for a value of sign `sign`).
/// Returns the rounded quotient and whether anything was discarded. `shift` may be any size.
pub(super) fn shr_round(sig: u64, shift: u32, sign: bool, rm: u8) -> (u64, bool) {
    let (q, rem, half) = match shift {
        0 => return (sig, false),
        1..=63 => (
            sig >> shift,
            sig & ((1u64 << shift) - 1),
            1u64 << (shift - 1),
        ),
        64 => (0, sig, 1u64 << 63),
        // Nonzero but below half an ulp; zero stays exact.
        _ => (0, u64::from(sig != 0), 2),
    };
    let up = match rm {
        1 => false,
        2 => sign && rem != 0,
        3 => !sign && rem != 0,
        4 => rem >= half,
        // 0 (RNE); callers resolve the dynamic mode, and reserved modes never reach us.
        _ => rem > half || (rem == half && q & 1 == 1),
    };
    (q + u64::from(up), rem != 0)
}

/// The overflowed result for `rm` (IEEE 754 7.4 / RISC-V: RTZ and the mode rounding towards
/// zero for this sign give the largest finite value, the others infinity).
fn overflow(f: Fmt, sign: bool, rm: u8) -> (u64, u8) {
    let to_inf = match rm {
        1 => false,
        2 => sign,
        3 => !sign,
        _ => true,
    };
    let inf = f.inf(sign);
    (if to_inf { inf } else { inf - 1 }, OF | NX)
}

/// Rounds `sig * 2^(exp - 63)` (with `sig`'s bit 63 set; bit 0 may be a sticky bit) to `f`
/// and encodes it, with the IEEE flags. Tininess is detected after rounding, as RISC-V
/// requires: the result is tiny if rounding to full precision with an unbounded exponent
/// range would give a magnitude below the smallest normal; UF needs tiny and inexact.
pub(super) fn round_pack(f: Fmt, sign: bool, exp: i32, sig: u64, rm: u8) -> (u64, u8) {
    let p = f.mant_bits() + 1;
    let base_shift = 64 - p;
    let biased = exp + f.bias();
    let sign_bits = f.zero(sign);
    if biased >= 1 {
        let (mut q, inexact) = shr_round(sig, base_shift, sign, rm);
        let mut biased = biased;
        if q >> p != 0 {
            q >>= 1;
            biased += 1;
        }
        if biased >= f.exp_max() {
            return overflow(f, sign, rm);
        }
        let bits =
            sign_bits | ((biased as u64) << f.mant_bits()) | (q & ((1u64 << f.mant_bits()) - 1));
        (bits, if inexact { NX } else { 0 })
    } else {
        // Subnormal range: 1 - biased extra bits go. A carry into bit `mant` yields the
        // smallest normal, which the addition below encodes correctly.
        let shift = base_shift.saturating_add((1 - biased).min(200) as u32);
        let (q, inexact) = shr_round(sig, shift, sign, rm);
        let mut flags = 0;
        if inexact {
            let tiny = biased < 0 || shr_round(sig, base_shift, sign, rm).0 >> p == 0;
            flags = NX | if tiny { UF } else { 0 };
        }
        (sign_bits | q, flags)
    }
}

/// Like [`round_pack`] for a nonzero `m * 2^e_lsb` held in 128 bits (bit 0 may be sticky).
pub(super) fn round_pack128(f: Fmt, sign: bool, e_lsb: i32, m: u128, rm: u8) -> (u64, u8) {
    debug_assert!(m != 0);
    let lz = m.leading_zeros();
    let m = m << lz;
    let sig = (m >> 64) as u64 | u64::from(m as u64 != 0);
    round_pack(f, sign, e_lsb + 127 - lz as i32, sig, rm)
}

/// Like [`round_pack`] for a nonzero `m * 2^e_lsb` held in 64 bits (bit 0 may be sticky).
pub(super) fn round_pack64(f: Fmt, sign: bool, e_lsb: i32, m: u64, rm: u8) -> (u64, u8) {
    debug_assert!(m != 0);
    let lz = m.leading_zeros();
    round_pack(f, sign, e_lsb + 63 - lz as i32, m << lz, rm)
}
