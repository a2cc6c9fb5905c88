//! The x87 FPU in software, in 80-bit extended precision: each stack register is a 64-bit
//! significand (explicit integer bit, `state::x87(i)`) and a 16-bit sign and exponent
//! (`state::x87_exp(i)`). Arithmetic (add, subtract, multiply, divide, square root) is exact
//! and then rounded once to the control word's precision (24, 53 or 64 bits) and rounding
//! mode, with the extended exponent range; conversions to and from f32, f64 and integers
//! round per the control word too. fprem/fprem1/fscale/fxtract/frndint are exact. The
//! transcendental instructions (f2xm1, fyl2x, fyl2xp1, fpatan, fsin, fcos, fsincos, fptan)
//! are computed in software with 128-bit significands and rounded once ([`trans`]; no host
//! x87 or libm). Exceptions accrue in the status word (IE, DE, ZE, OE, UE, PE); C1 tells a rounding
//! up. Tags are tracked as one "in use" bit per physical register ([`TAG`]): a write makes a
//! register valid, a pop or ffree empties it; fxam and ftst see empty registers, fnstenv,
//! fnsave and fxsave store the tag word computed from them, fldenv, frstor and fxrstor load it.
//! A push onto a register in use is a stack overflow (IE, SF, C1; the indefinite is pushed).
//! A read of an empty register is a stack underflow (IE, SF, C1 = 0): masked, the destination
//! gets the indefinite (register, float, integer or BCD); unmasked (IM clear), the instruction
//! changes nothing else (no result, no pop; [`SUPPRESS`] tells the pops of the same
//! instruction, [`op::UNDER`] the lifted stores), and the lifter raises
//! [`X87_FP_ERROR`](crate::X87_FP_ERROR) at the next waiting x87 instruction, as the
//! hardware raises #MF for any exception flag left unmasked in the status word. An unmasked
//! invalid operation of a load or a store, or overflow or underflow of a store, likewise
//! leaves the stack and memory alone (flagging only that exception); an unmasked overflow or
//! underflow of a register result delivers it scaled by 2^-24576 (2^24576), as the hardware.
//! The lifter records FIP, FOP and FDP (`state::X87_FIP`, `state::X87_FDP`) for fnstenv,
//! fnsave, and fxsave/xsave while an exception is pending.

mod trans;

use crate::{flags, state};
use xlat_ir::abi::{CpuState, reg_offset};

/// State word: bit `p` set when x87 physical register `p` is in use (tag not "empty"); zero,
/// all empty, after fninit and in a fresh state.
pub const TAG: u32 = reg_offset(86);

/// Bit of the [`TAG`] word: the instruction's operation hit an unmasked stack underflow, so
/// its pops do nothing. Every operation but [`op::POP`] clears it first.
pub const SUPPRESS: u64 = 1 << 8;

/// Helper operations: the low byte of the first argument; the rest of it carries
/// [`arg`] fields.
#[allow(missing_docs, reason = "named after what they do")]
pub mod op {
    /// Push the memory value `a`, `b` of format `FMT`.
    pub const LD: u64 = 0;
    /// Push st(SRC).
    pub const LD_ST: u64 = 1;
    /// Push constant `KIND` (0 one, 1 l2t, 2 l2e, 3 pi, 4 lg2, 5 ln2, 6 zero).
    pub const LDC: u64 = 2;
    /// st(0) converted to format `FMT`: returns the low 64 bits (for f80 the significand).
    pub const ST: u64 = 3;
    /// st(SRC)'s sign and exponent (16 bits).
    pub const EXP: u64 = 4;
    /// st(DST) = st(0).
    pub const ST_ST: u64 = 5;
    /// st(0) to an integer of `KIND` bytes; `TRUNC` truncates.
    pub const FIST: u64 = 6;
    /// st(DST) = st(DST) op src (`KIND`: 0 add, 1 sub, 2 mul, 3 div; `REV` swaps).
    pub const ARITH: u64 = 7;
    pub const POP: u64 = 8;
    /// Exchange st(0) and st(SRC).
    pub const XCH: u64 = 9;
    /// fcomi/fucomi (`KIND` 1 = signalling on quiet NaNs): returns RFLAGS bits.
    pub const COMI: u64 = 10;
    /// fcom/fucom/ftst/ficom: sets C0, C2, C3.
    pub const COM: u64 = 11;
    /// One-operand operations on st(0), `KIND`: see [`unary`](super::unary).
    pub const UNARY: u64 = 12;
    /// Raw load of st(SRC) from `a` (significand) and `b` (sign and exponent).
    pub const SET_RAW: u64 = 13;
    /// st(SRC)'s significand.
    pub const GET_RAW: u64 = 14;
    /// ffree st(SRC) (a no-op without tags), fdecstp (`KIND` 1), fincstp (`KIND` 2).
    pub const STACK: u64 = 15;
    /// fcmov: st(0) = st(SRC) when `a` is non-zero.
    pub const CMOV: u64 = 16;
    /// Tags, `KIND`: 0 returns the full tag word (fnstenv), 1 sets it from `a` (fldenv),
    /// 2 returns the abridged tag byte (fxsave), 3 sets it from `a` (fxrstor).
    pub const TAGS: u64 = 17;
    /// fbld: push the packed BCD integer `a` (low eight bytes), `b` (top two).
    pub const BLD: u64 = 18;
    /// fbstp: st(0) as packed BCD, `KIND` 0 the low eight bytes (and the flags), 1 the top two.
    pub const BST: u64 = 19;
    /// Before a store of st(0) to memory: when st(0) is empty and IM is clear, records the
    /// underflow and returns 1 (the store and its pop must be skipped); else 0.
    pub const UNDER: u64 = 20;
}

/// Fields of the helper's first argument.
pub mod arg {
    /// Memory format: 0 f32, 1 f64, 2 f80, 3 i16, 4 i32, 5 i64, 15 = st(SRC).
    pub const FMT: u32 = 8;
    /// A stack index (source).
    pub const SRC: u32 = 16;
    /// A stack index (destination).
    pub const DST: u32 = 20;
    /// A sub-operation.
    pub const KIND: u32 = 24;
    /// Reversed operands.
    pub const REV: u32 = 30;
    /// Truncating conversion.
    pub const TRUNC: u32 = 31;
}

/// Status word bits.
mod sw {
    pub const IE: u64 = 1;
    pub const DE: u64 = 2;
    pub const ZE: u64 = 4;
    pub const OE: u64 = 8;
    pub const UE: u64 = 0x10;
    pub const PE: u64 = 0x20;
    pub const SF: u64 = 0x40;
    pub const C0: u64 = 0x100;
    pub const C1: u64 = 0x200;
    pub const C2: u64 = 0x400;
    pub const C3: u64 = 0x4000;
}

/// An extended-precision value: sign and biased exponent (16 bits), significand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct F80 {
    /// Sign (bit 15) and biased exponent.
    pub se: u16,
    /// Significand with the explicit integer bit.
    pub m: u64,
}

const INDEFINITE: F80 = F80 {
    se: 0xffff,
    m: 0xc000_0000_0000_0000,
};

impl F80 {
    fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }
    fn exp(self) -> i32 {
        i32::from(self.se & 0x7fff)
    }
    fn is_nan(self) -> bool {
        self.exp() == 0x7fff && self.m << 1 != 0
    }
    fn is_snan(self) -> bool {
        self.is_nan() && self.m & (1 << 62) == 0
    }
    fn is_inf(self) -> bool {
        self.exp() == 0x7fff && self.m << 1 == 0
    }
    fn is_zero(self) -> bool {
        self.m == 0 && self.exp() != 0x7fff
    }
    /// Unnormals, pseudo-NaNs and pseudo-infinities (integer bit clear, exponent non-zero).
    fn unsupported(self) -> bool {
        self.exp() != 0 && self.m >> 63 == 0
    }
    fn is_denormal(self) -> bool {
        self.exp() == 0 && self.m != 0
    }
    fn quiet(self) -> F80 {
        F80 {
            se: self.se,
            m: self.m | (1 << 62),
        }
    }
    fn one() -> F80 {
        F80 {
            se: 0x3fff,
            m: 1 << 63,
        }
    }
    fn neg(self) -> F80 {
        F80 {
            se: self.se ^ 0x8000,
            m: self.m,
        }
    }
    fn zero(sign: bool) -> F80 {
        F80 {
            se: u16::from(sign) << 15,
            m: 0,
        }
    }
    fn inf(sign: bool) -> F80 {
        F80 {
            se: (u16::from(sign) << 15) | 0x7fff,
            m: 1 << 63,
        }
    }
    /// Finite non-zero: (significand normalized to bit 63, exponent of bit 0).
    fn unpack(self) -> (u64, i32) {
        let e = self.exp().max(1) - 16383 - 63;
        let lz = self.m.leading_zeros();
        (self.m << lz, e - lz as i32)
    }
}

/// Rounding: control `rc` (0 nearest, 1 down, 2 up, 3 toward zero), precision `p` bits, the
/// format's leading-bit exponent range.
#[derive(Clone, Copy)]
struct Fmt {
    p: u32,
    emin: i32,
    emax: i32,
}

const EXT: Fmt = Fmt {
    p: 64,
    emin: -16382,
    emax: 16383,
};
const DBL: Fmt = Fmt {
    p: 53,
    emin: -1022,
    emax: 1023,
};
const SGL: Fmt = Fmt {
    p: 24,
    emin: -126,
    emax: 127,
};

/// A rounded result: sign, significand (`p` bits, integer bit at `p - 1` unless denormal or
/// zero), leading-bit exponent (valid when normal), and the status bits it raises.
#[derive(Clone, Copy)]
struct Rounded {
    sign: bool,
    m: u64,
    e: i32,
    inf: bool,
    flags: u64,
}

/// Rounding-control bit for [`round`]: overflow is unmasked (a register destination).
const RC_OE: u64 = 4;
/// Rounding-control bit for [`round`]: underflow is unmasked (a register destination).
const RC_UE: u64 = 8;
/// The exponent bias adjustment of an unmasked overflow or underflow's result.
const BIAS_ADJUST: i32 = 24576;

/// The rounding control of control word `cw` for a register result, with [`RC_OE`] and
/// [`RC_UE`] where those exceptions are unmasked.
fn reg_rc(cw: u64) -> u64 {
    cw_rc(cw) | if cw & sw::OE == 0 { RC_OE } else { 0 } | if cw & sw::UE == 0 { RC_UE } else { 0 }
}

/// Rounds `sig × 2^e` (plus `sticky` below it) to `f` under rounding control `rc` (bits 0-1);
/// with [`RC_OE`] (or [`RC_UE`]) an overflowing (tiny) result is delivered as the hardware
/// does with the exception unmasked: scaled by 2^-24576 (2^24576) and rounded, flagging only
/// OE (UE), PE if inexact and C1; beyond even that range, infinity (zero).
fn round(sign: bool, sig: u128, e: i32, sticky: bool, f: Fmt, rc: u64) -> Rounded {
    let r = round1(sign, sig, e, sticky, f, rc & 3);
    let keep = sw::PE | sw::C1;
    if rc & RC_OE != 0 && r.flags & sw::OE != 0 {
        let a = round1(sign, sig, e - BIAS_ADJUST, sticky, f, rc & 3);
        if a.flags & sw::OE != 0 {
            return Rounded {
                sign,
                m: 0,
                e: f.emax,
                inf: true,
                flags: sw::OE | sw::PE | sw::C1,
            };
        }
        return Rounded {
            flags: (a.flags & keep) | sw::OE,
            ..a
        };
    }
    let tiny = sig != 0 && e + 127 - (sig.leading_zeros() as i32) < f.emin;
    if rc & RC_UE != 0 && tiny {
        if e + BIAS_ADJUST + 127 - (sig.leading_zeros() as i32) < f.emin {
            return Rounded {
                sign,
                m: 0,
                e: 0,
                inf: false,
                flags: sw::UE | sw::PE,
            };
        }
        let a = round1(sign, sig, e + BIAS_ADJUST, sticky, f, rc & 3);
        return Rounded {
            flags: (a.flags & keep) | sw::UE,
            ..a
        };
    }
    r
}

fn round1(sign: bool, sig: u128, e: i32, sticky: bool, f: Fmt, rc: u64) -> Rounded {
    if sig == 0 {
        return Rounded {
            sign,
            m: 0,
            e: 0,
            inf: false,
            flags: if sticky { sw::PE | sw::UE } else { 0 },
        };
    }
    let lz = sig.leading_zeros();
    let sig = sig << lz;
    // Exponent of the leading bit.
    let mut le = e + 127 - lz as i32;
    let tiny = le < f.emin;
    let drop = (128 - f.p) as i64 + i64::from((f.emin - le).max(0));
    let (mut kept, rem_nonzero, up) = if drop >= 129 {
        (0u128, true, matches!((rc, sign), (1, true) | (2, false)))
    } else {
        let d = drop as u32;
        let kept = if d >= 128 { 0 } else { sig >> d };
        let rem = if d >= 128 {
            sig
        } else {
            sig & ((1u128 << d) - 1)
        };
        let half = 1u128 << (d - 1);
        let inexact = rem != 0 || sticky;
        let up = match rc & 3 {
            0 => rem > half || (rem == half && (sticky || kept & 1 != 0)),
            1 => inexact && sign,
            2 => inexact && !sign,
            _ => false,
        };
        (kept, inexact, up)
    };
    let mut flags = 0;
    if rem_nonzero {
        flags |= sw::PE;
        if tiny {
            flags |= sw::UE;
        }
    }
    if up {
        kept += 1;
        flags |= sw::C1;
        if kept >> f.p != 0 {
            kept >>= 1;
            le += 1;
        }
    }
    if tiny {
        // Denormal: the leading-bit exponent is emin when rounding carried into the
        // integer bit.
        le = f.emin;
    }
    if le > f.emax {
        flags |= sw::OE | sw::PE;
        let to_inf = match rc & 3 {
            0 => true,
            1 => sign,
            2 => !sign,
            _ => false,
        };
        if to_inf {
            flags |= sw::C1;
        } else {
            flags &= !sw::C1;
        }
        return Rounded {
            sign,
            m: if to_inf { 0 } else { u64::MAX >> (64 - f.p) },
            e: f.emax,
            inf: to_inf,
            flags,
        };
    }
    Rounded {
        sign,
        m: kept as u64,
        e: le,
        inf: false,
        flags,
    }
}

impl Rounded {
    fn to80(&self, f: Fmt) -> F80 {
        let s = u16::from(self.sign) << 15;
        if self.inf {
            return F80::inf(self.sign);
        }
        let m = self.m << (64 - f.p);
        let se = if m >> 63 == 0 {
            s
        } else {
            s | (self.e + 16383) as u16
        };
        F80 { se, m }
    }

    fn to64(&self) -> u64 {
        let s = u64::from(self.sign) << 63;
        if self.inf {
            return s | 0x7ff0_0000_0000_0000;
        }
        let e = if self.m >> 52 == 0 {
            0
        } else {
            (self.e + 1023) as u64
        };
        s | (e << 52) | (self.m & ((1 << 52) - 1))
    }

    fn to32(&self) -> u64 {
        let s = u64::from(self.sign) << 31;
        if self.inf {
            return s | 0x7f80_0000;
        }
        let e = if self.m >> 23 == 0 {
            0
        } else {
            (self.e + 127) as u64
        };
        s | (e << 23) | (self.m & ((1 << 23) - 1))
    }
}

fn cw_rc(cw: u64) -> u64 {
    (cw >> 10) & 3
}

fn cw_fmt(cw: u64) -> Fmt {
    match (cw >> 8) & 3 {
        0 => Fmt { p: 24, ..EXT },
        2 => Fmt { p: 53, ..EXT },
        _ => EXT,
    }
}

/// NaN operands of a two-operand operation: the result and the flags, if any is a NaN (or an
/// unsupported encoding).
fn nan2(a: F80, b: F80) -> Option<(F80, u64)> {
    if a.unsupported() || b.unsupported() {
        return Some((INDEFINITE, sw::IE));
    }
    if !a.is_nan() && !b.is_nan() {
        return None;
    }
    let fl = if a.is_snan() || b.is_snan() {
        sw::IE
    } else {
        0
    };
    let r = match (a.is_nan(), b.is_nan()) {
        // A signalling and a quiet NaN: the quiet one.
        (true, true) if a.is_snan() != b.is_snan() => {
            if a.is_snan() {
                b
            } else {
                a
            }
        }
        (true, true) => {
            if (b.m << 1) > (a.m << 1) {
                b
            } else {
                a
            }
        }
        (true, false) => a,
        _ => b,
    };
    Some((r.quiet(), fl))
}

fn denormal_flag(a: F80) -> u64 {
    if a.is_denormal() { sw::DE } else { 0 }
}

/// `a op b` (0 add, 1 sub, 2 mul, 3 div) rounded under control word `cw`.
pub fn arith(k: u64, a: F80, b: F80, cw: u64) -> (F80, u64) {
    arith_fmt(k, a, b, cw_fmt(cw), reg_rc(cw), &mut None)
}

/// SSE arithmetic (`k`: 0 add, 1 sub, 2 mul, 3 div, 6 sqrt of `b`) on f64 (`double`) or f32
/// bits under a directed rounding control `rc`, rounded once: `None` where the result is
/// exact or special (zeros, infinities, NaNs) and the round-to-nearest one stands.
pub(crate) fn sse_directed(k: u64, a: u64, b: u64, double: bool, rc: u64) -> Option<u64> {
    let id = u64::from(double);
    let (fa, _) = load(id, a, 0);
    let (fb, _) = load(id, b, 0);
    let f = if double { DBL } else { SGL };
    let mut out = None;
    match k {
        0..=3 => {
            arith_fmt(k, fa, fb, f, rc, &mut out);
        }
        6 => {
            sqrt_fmt(fb, f, rc, &mut out);
        }
        _ => return None,
    }
    out.map(|r| if double { r.to64() } else { r.to32() })
}

fn arith_fmt(k: u64, a: F80, b: F80, fmt: Fmt, rc: u64, out: &mut Option<Rounded>) -> (F80, u64) {
    let rcu = rc;
    let rc = rc & 3;
    if let Some(r) = nan2(a, b) {
        return r;
    }
    let b = if k == 1 { b.neg() } else { b };
    let fl = denormal_flag(a) | denormal_flag(b);
    let sign = a.sign() ^ b.sign();
    let mut r = |x: Rounded| {
        let f = x.flags;
        *out = Some(x);
        (x.to80(fmt), f)
    };
    match k {
        0 | 1 => {
            if a.is_inf() || b.is_inf() {
                if a.is_inf() && b.is_inf() && a.sign() != b.sign() {
                    return (INDEFINITE, fl | sw::IE);
                }
                return (if a.is_inf() { a } else { b }, fl);
            }
            if a.is_zero() && b.is_zero() {
                let s = if a.sign() == b.sign() {
                    a.sign()
                } else {
                    rc == 1
                };
                return (F80::zero(s), fl);
            }
            if a.is_zero() || b.is_zero() {
                // The other operand, rounded to the precision.
                let x = if a.is_zero() { b } else { a };
                let (m, e) = x.unpack();
                let (v, f) = r(round(x.sign(), u128::from(m), e, false, fmt, rcu));
                return (v, fl | f);
            }
            let (ma, ea) = a.unpack();
            let (mb, eb) = b.unpack();
            // Bigger exponent first; 62 guard bits below the significands.
            let ((mx, ex, sx), (my, ey, sy)) = if ea >= eb {
                ((ma, ea, a.sign()), (mb, eb, b.sign()))
            } else {
                ((mb, eb, b.sign()), (ma, ea, a.sign()))
            };
            let x = u128::from(mx) << 62;
            let y0 = u128::from(my) << 62;
            let d = (ex - ey) as u32;
            let y = if d >= 127 {
                1
            } else {
                let s = y0 >> d;
                s | u128::from(s << d != y0)
            };
            let e = ex - 62;
            if sx == sy {
                let (v, f) = r(round(sx, x + y, e, false, fmt, rcu));
                (v, fl | f)
            } else if x >= y {
                if x == y {
                    return (F80::zero(rc == 1), fl);
                }
                let (v, f) = r(round(sx, x - y, e, false, fmt, rcu));
                (v, fl | f)
            } else {
                let (v, f) = r(round(sy, y - x, e, false, fmt, rcu));
                (v, fl | f)
            }
        }
        2 => {
            if a.is_inf() || b.is_inf() {
                if a.is_zero() || b.is_zero() {
                    return (INDEFINITE, fl | sw::IE);
                }
                return (F80::inf(sign), fl);
            }
            if a.is_zero() || b.is_zero() {
                return (F80::zero(sign), fl);
            }
            let (ma, ea) = a.unpack();
            let (mb, eb) = b.unpack();
            let (v, f) = r(round(
                sign,
                u128::from(ma) * u128::from(mb),
                ea + eb,
                false,
                fmt,
                rcu,
            ));
            (v, fl | f)
        }
        _ => {
            if a.is_inf() {
                if b.is_inf() {
                    return (INDEFINITE, fl | sw::IE);
                }
                return (F80::inf(sign), fl);
            }
            if b.is_inf() {
                return (F80::zero(sign), fl);
            }
            if b.is_zero() {
                if a.is_zero() {
                    return (INDEFINITE, fl | sw::IE);
                }
                return (F80::inf(sign), fl | sw::ZE);
            }
            if a.is_zero() {
                return (F80::zero(sign), fl);
            }
            let (ma, ea) = a.unpack();
            let (mb, eb) = b.unpack();
            // (ma << 63) / mb is in (2^62, 2^64); 64 more quotient bits from the remainder.
            let n = u128::from(ma) << 63;
            let q1 = n / u128::from(mb);
            let r1 = n % u128::from(mb);
            let n2 = r1 << 64;
            let q2 = n2 / u128::from(mb);
            let r2 = n2 % u128::from(mb);
            let q = (q1 << 64) | q2;
            let (v, f) = r(round(sign, q, ea - eb - 63 - 64, r2 != 0, fmt, rcu));
            (v, fl | f)
        }
    }
}

/// Square root under control word `cw`.
pub fn sqrt(a: F80, cw: u64) -> (F80, u64) {
    sqrt_fmt(a, cw_fmt(cw), cw_rc(cw), &mut None)
}

fn sqrt_fmt(a: F80, fmt: Fmt, rc: u64, out: &mut Option<Rounded>) -> (F80, u64) {
    if a.unsupported() {
        return (INDEFINITE, sw::IE);
    }
    if a.is_nan() {
        return (a.quiet(), if a.is_snan() { sw::IE } else { 0 });
    }
    if a.is_zero() {
        return (a, 0);
    }
    if a.sign() {
        return (INDEFINITE, sw::IE | denormal_flag(a));
    }
    if a.is_inf() {
        return (a, 0);
    }
    let (m, e) = a.unpack();
    // value = m × 2^e; make the exponent even: x = m << (64 or 63), sqrt = isqrt(x) × 2^(e')
    let (x, e2) = if (e - 64).rem_euclid(2) == 0 {
        (u128::from(m) << 64, e - 64)
    } else {
        (u128::from(m) << 63, e - 63)
    };
    let r = x.isqrt();
    let rem = x - r * r;
    // Two more bits: the half (guard) and whether anything is below it.
    let guard = rem > r;
    let sig = (r << 2) | (u128::from(guard) << 1) | u128::from(rem != 0);
    let rd = round(false, sig, e2 / 2 - 2, false, fmt, rc);
    *out = Some(rd);
    (rd.to80(fmt), rd.flags | denormal_flag(a))
}

/// Loads a value of memory format `fmt` (bits `lo`, and `hi` for f80).
pub fn load(fmt: u64, lo: u64, hi: u64) -> (F80, u64) {
    match fmt {
        0 | 1 => {
            let (fb, eb, bias) = if fmt == 0 {
                (23, 8, 127)
            } else {
                (52, 11, 1023)
            };
            let v = if fmt == 0 { lo & 0xffff_ffff } else { lo };
            let sign = (v >> (fb + eb)) & 1 != 0;
            let e = ((v >> fb) & ((1 << eb) - 1)) as i32;
            let f = v & ((1 << fb) - 1);
            let s = u16::from(sign) << 15;
            if e == (1 << eb) - 1 {
                if f == 0 {
                    return (F80::inf(sign), 0);
                }
                let r = F80 {
                    se: s | 0x7fff,
                    m: (1 << 63) | (f << (63 - fb)),
                };
                let fl = if r.is_snan() { sw::IE } else { 0 };
                return (r.quiet(), fl);
            }
            if e == 0 {
                if f == 0 {
                    return (F80::zero(sign), 0);
                }
                let lz = f.leading_zeros();
                let m = f << lz;
                // value = f × 2^(1 - bias - fb); leading bit at 63 - lz.
                let le = 1 - bias - fb + (63 - lz as i32);
                return (
                    F80 {
                        se: s | (le + 16383) as u16,
                        m,
                    },
                    sw::DE,
                );
            }
            (
                F80 {
                    se: s | (e - bias + 16383) as u16,
                    m: (1 << 63) | (f << (63 - fb)),
                },
                0,
            )
        }
        2 => (
            F80 {
                se: hi as u16,
                m: lo,
            },
            0,
        ),
        _ => {
            let v = match fmt {
                3 => i64::from(lo as u16 as i16),
                4 => i64::from(lo as u32 as i32),
                _ => lo as i64,
            };
            (from_int(v), 0)
        }
    }
}

fn from_int(v: i64) -> F80 {
    if v == 0 {
        return F80::zero(false);
    }
    let u = v.unsigned_abs();
    let lz = u.leading_zeros();
    F80 {
        se: (u16::from(v < 0) << 15) | (16383 + 63 - lz) as u16,
        m: u << lz,
    }
}

/// Stores `a` in memory format `fmt` (0 f32, 1 f64, 2 f80's significand) under `cw`.
pub fn store(fmt: u64, a: F80, cw: u64) -> (u64, u64) {
    if fmt == 2 {
        return (a.m, 0);
    }
    let (f, bits) = if fmt == 0 { (SGL, 32) } else { (DBL, 64) };
    let sbit = u64::from(a.sign()) << (bits - 1);
    if a.unsupported() {
        return (if fmt == 0 { 0xffc0_0000 } else { 0xfff8 << 48 }, sw::IE);
    }
    if a.is_nan() {
        let fl = if a.is_snan() { sw::IE } else { 0 };
        let v = if fmt == 0 {
            sbit | 0x7fc0_0000 | ((a.m << 1) >> 41)
        } else {
            sbit | 0x7ff8_0000_0000_0000 | ((a.m << 1) >> 12)
        };
        return (v, fl);
    }
    if a.is_inf() {
        return (
            sbit | if fmt == 0 {
                0x7f80_0000
            } else {
                0x7ff0_0000_0000_0000
            },
            0,
        );
    }
    if a.is_zero() {
        return (sbit, 0);
    }
    let (m, e) = a.unpack();
    let r = round(a.sign(), u128::from(m), e, false, f, cw_rc(cw));
    let v = if fmt == 0 { r.to32() } else { r.to64() };
    (v, r.flags)
}

/// Rounds `a` to an integral value under rounding control `rc` (the value, inexact).
fn rint(a: F80, rc: u64) -> (F80, bool) {
    if a.exp() == 0x7fff || a.is_zero() || a.exp() >= 16383 + 63 {
        return (a, false);
    }
    let (m, e) = a.unpack();
    // value = m × 2^e with e < 0 here; `near` tells whether round-to-nearest goes up.
    let sh = (-e) as u32;
    let (int, inexact, near) = if sh > 64 {
        (0u64, true, false)
    } else if sh == 64 {
        (0, true, m > 1 << 63)
    } else {
        let int = m >> sh;
        let rem = m & ((1u64 << sh) - 1);
        let h = 1u64 << (sh - 1);
        (int, rem != 0, rem > h || (rem == h && int & 1 != 0))
    };
    let up = match rc & 3 {
        0 => near,
        1 => inexact && a.sign(),
        2 => inexact && !a.sign(),
        _ => false,
    };
    let v = u128::from(int) + u128::from(up);
    if v == 0 {
        return (F80::zero(a.sign()), inexact);
    }
    let lz = v.leading_zeros();
    let r = F80 {
        se: (a.se & 0x8000) | (16383 + 127 - lz) as u16,
        m: (v << lz >> 64) as u64,
    };
    (r, inexact)
}

/// st(0) to an integer of `bytes` bytes (rounded per `cw`, or truncated): the value, flags.
pub fn to_int(a: F80, bytes: u32, trunc: bool, cw: u64) -> (u64, u64) {
    let bits = bytes * 8;
    let indefinite = 1u64 << (bits - 1);
    if a.exp() == 0x7fff || a.unsupported() {
        return (indefinite, sw::IE);
    }
    let (r, inexact) = rint(a, if trunc { 3 } else { cw_rc(cw) });
    if r.is_zero() {
        return (0, if inexact { sw::PE } else { 0 });
    }
    let (m, e) = r.unpack();
    if e > 0 {
        return (indefinite, sw::IE);
    }
    let mag = m >> (-e) as u32;
    let lim = 1u64 << (bits - 1);
    let ok = if r.sign() { mag <= lim } else { mag < lim };
    if !ok {
        return (indefinite, sw::IE);
    }
    let v = if r.sign() { mag.wrapping_neg() } else { mag };
    // C1: rounded up in magnitude.
    let abs = |x: F80| F80 {
        se: x.se & 0x7fff,
        m: x.m,
    };
    let up = inexact && compare(abs(r), abs(a)) == Some(std::cmp::Ordering::Greater);
    let fl = if inexact { sw::PE } else { 0 } | if up { sw::C1 } else { 0 };
    (v & flags::mask(bytes), fl)
}

/// fbstp: st(0) rounded per `cw` to an 18-digit packed BCD integer: (the low eight bytes, the
/// sign and top-digits bytes, flags). NaNs, infinities, unsupported values and magnitudes
/// above 10^18 - 1 give the BCD indefinite with IE.
pub fn to_bcd(a: F80, cw: u64) -> (u64, u64, u64) {
    let indefinite = (0xc000_0000_0000_0000, 0xffff, sw::IE);
    if a.exp() == 0x7fff || a.unsupported() {
        return indefinite;
    }
    let (v, fl) = to_int(a, 8, false, cw);
    if fl & sw::IE != 0 {
        return indefinite;
    }
    let mag = if a.sign() { v.wrapping_neg() } else { v };
    if mag > 999_999_999_999_999_999 {
        return indefinite;
    }
    let mut bcd = 0u128;
    let mut m = mag;
    for d in 0..18 {
        bcd |= u128::from(m % 10) << (4 * d);
        m /= 10;
    }
    let sign = if a.sign() { 0x8000 } else { 0 };
    (bcd as u64, sign | (bcd >> 64) as u64, fl)
}

/// fbld: the 18-digit packed BCD integer in `lo` (digits 0..15) and `hi` (digits 16, 17 and
/// the sign in bit 15), exactly. Digits above 9 count as their binary value (undefined on
/// hardware).
pub fn from_bcd(lo: u64, hi: u64) -> F80 {
    let bcd = u128::from(lo) | (u128::from(hi & 0xff) << 64);
    let mut v = 0u64;
    for d in (0..18).rev() {
        v = v
            .wrapping_mul(10)
            .wrapping_add((bcd >> (4 * d)) as u64 & 15);
    }
    let r = from_int(v as i64);
    F80 {
        se: r.se | if hi & 0x8000 != 0 { 0x8000 } else { 0 },
        m: r.m,
    }
}

/// Compares: `None` unordered, else the ordering of `a` against `b`.
fn compare(a: F80, b: F80) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::*;
    if a.is_nan() || b.is_nan() || a.unsupported() || b.unsupported() {
        return None;
    }
    if a.is_zero() && b.is_zero() {
        return Some(Equal);
    }
    let key = |x: F80| -> i128 {
        let mag = (i128::from(x.exp()) << 64) | i128::from(x.m);
        let mag = if x.is_zero() { 0 } else { mag };
        if x.sign() { -mag } else { mag }
    };
    Some(match key(a).cmp(&key(b)) {
        Less => Less,
        Equal => Equal,
        Greater => Greater,
    })
}

fn to_f64(a: F80) -> f64 {
    f64::from_bits(store(1, a, 0x37f).0)
}

fn from_f64(v: f64) -> F80 {
    load(1, v.to_bits(), 0).0
}

/// fprem (`ieee` false) or fprem1: (result, status C bits and flags).
fn prem(a: F80, b: F80, ieee: bool) -> (F80, u64) {
    if let Some(r) = nan2(a, b) {
        return r;
    }
    if a.is_inf() || b.is_zero() {
        return (INDEFINITE, sw::IE);
    }
    if b.is_inf() || a.is_zero() {
        return (a, 0);
    }
    let (ma, ea) = a.unpack();
    let (mb, eb) = b.unpack();
    let d = ea - eb;
    if d < 0 {
        // |a| < 2|b|·2^-1 or so: quotient 0, or 1 when rounding to nearest.
        if ieee && d == -1 && ma > mb {
            // |a| > |b|/2 and |a| < |b|: a - sign·b.
            let diff = (u128::from(mb) << 1) - u128::from(ma);
            let r = round(!a.sign(), diff, ea, false, EXT, 0);
            return (r.to80(EXT), sw::C1);
        }
        return (a, 0);
    }
    let (n, partial) = if d >= 64 {
        (32 + (d % 32) as u32, true)
    } else {
        (d as u32, false)
    };
    let x = u128::from(ma) << n;
    let y = u128::from(mb);
    let mut q = x / y;
    let mut r = x % y;
    let mut sign = a.sign();
    if ieee && !partial && (r * 2 > y || (r * 2 == y && q & 1 != 0)) {
        r = y - r;
        q += 1;
        sign = !sign;
    }
    // The remainder is r × 2^(ea - n) (ea - n = eb for the complete case).
    let e = ea - n as i32;
    let res = if r == 0 {
        F80::zero(a.sign())
    } else {
        round(sign, r, e, false, EXT, 0).to80(EXT)
    };
    let c = if partial {
        sw::C2
    } else {
        let mut c = 0;
        if q & 4 != 0 {
            c |= sw::C0;
        }
        if q & 2 != 0 {
            c |= sw::C3;
        }
        if q & 1 != 0 {
            c |= sw::C1;
        }
        c
    };
    (res, c)
}

/// x87 physical register of stack index `i`.
fn phys(env: &CpuState, i: u64) -> u8 {
    ((env.word(state::X87_TOP) + i) & 7) as u8
}

fn get(env: &CpuState, i: u64) -> F80 {
    let p = phys(env, i);
    F80 {
        se: env.word(state::x87_exp(p)) as u16,
        m: env.word(state::x87(p)),
    }
}

fn set(env: &mut CpuState, i: u64, v: F80) {
    let p = phys(env, i);
    env.set_word(state::x87_exp(p), u64::from(v.se));
    env.set_word(state::x87(p), v.m);
    env.set_word(TAG, env.word(TAG) | (1 << p));
}

/// Whether stack register `i` is empty.
fn empty(env: &CpuState, i: u64) -> bool {
    env.word(TAG) >> phys(env, i) & 1 == 0
}

/// Marks stack register `i` empty.
fn free(env: &mut CpuState, i: u64) {
    let p = phys(env, i);
    env.set_word(TAG, env.word(TAG) & !(1 << p));
}

/// The full tag word: two bits per physical register, 0 valid, 1 zero, 2 special (NaN,
/// infinity, denormal, unsupported), 3 empty.
fn tag_word(env: &CpuState) -> u64 {
    let used = env.word(TAG);
    (0..8u8)
        .map(|p| {
            let v = F80 {
                se: env.word(state::x87_exp(p)) as u16,
                m: env.word(state::x87(p)),
            };
            let t = if used >> p & 1 == 0 {
                3
            } else if v.exp() == 0 && v.m == 0 {
                1
            } else if v.exp() == 0x7fff || v.exp() == 0 || v.unsupported() {
                2
            } else {
                0
            };
            t << (2 * p)
        })
        .fold(0, |a, t| a | t)
}

/// Pushes `v` (C1 cleared); onto a register in use that is a stack overflow: IE, SF and C1
/// set, and the (masked) response pushes the indefinite instead.
fn push(env: &mut CpuState, v: F80) {
    let t = (env.word(state::X87_TOP) + 7) & 7;
    env.set_word(state::X87_TOP, t);
    if empty(env, 0) {
        set(env, 0, v);
        env.set_word(state::X87_SW, env.word(state::X87_SW) & !sw::C1);
    } else {
        set(env, 0, INDEFINITE);
        let s = env.word(state::X87_SW);
        env.set_word(state::X87_SW, s | sw::IE | sw::SF | sw::C1);
    }
}

fn pop(env: &mut CpuState) {
    if env.word(TAG) & SUPPRESS != 0 {
        return;
    }
    free(env, 0);
    let t = (env.word(state::X87_TOP) + 1) & 7;
    env.set_word(state::X87_TOP, t);
}

/// Stack underflow: IE and SF set, C1 cleared. Returns true when IE is unmasked: the
/// instruction then changes nothing else ([`SUPPRESS`] set); false when the caller writes
/// the masked response (the indefinite).
fn underflow(env: &mut CpuState) -> bool {
    let s = env.word(state::X87_SW) & !sw::C1;
    env.set_word(state::X87_SW, s | sw::IE | sw::SF);
    if env.word(state::X87_CW) & sw::IE == 0 {
        env.set_word(TAG, env.word(TAG) | SUPPRESS);
        true
    } else {
        false
    }
}

/// Whether `fl` holds an unmasked invalid-operation, zero-divide or denormal exception: the
/// hardware then leaves the destination (and the stack) alone ([`SUPPRESS`] set).
fn faults(env: &mut CpuState, fl: u64) -> bool {
    let un = fl & (sw::IE | sw::ZE | sw::DE) & !env.word(state::X87_CW);
    if un != 0 {
        env.set_word(TAG, env.word(TAG) | SUPPRESS);
    }
    un != 0
}

/// Accrues exception bits and replaces C1 (and C0/C2/C3 when `cmask` says) in the status word.
fn status(env: &mut CpuState, fl: u64, cmask: u64) {
    let s = env.word(state::X87_SW);
    let s = (s & !(sw::C1 | cmask)) | (fl & (sw::C1 | cmask)) | (fl & 0x3f);
    env.set_word(state::X87_SW, s);
}

/// Constants: 1, log2(10), log2(e), pi, log10(2), ln(2), 0 (round to nearest).
const CONSTS: [F80; 7] = [
    F80 {
        se: 0x3fff,
        m: 1 << 63,
    },
    F80 {
        se: 0x4000,
        m: 0xd49a_784b_cd1b_8afe,
    },
    F80 {
        se: 0x3fff,
        m: 0xb8aa_3b29_5c17_f0bc,
    },
    F80 {
        se: 0x4000,
        m: 0xc90f_daa2_2168_c235,
    },
    F80 {
        se: 0x3ffd,
        m: 0x9a20_9a84_fbcf_f799,
    },
    F80 {
        se: 0x3ffe,
        m: 0xb172_17f7_d1cf_79ac,
    },
    F80 { se: 0, m: 0 },
];

/// Unary operations (`KIND`): 0 fchs, 1 fabs, 2 fsqrt, 3 frndint, 4 fprem, 5 fprem1,
/// 6 fscale, 7 fxtract, 8 f2xm1, 9 fyl2x, 10 fyl2xp1, 11 fpatan, 12 fsin, 13 fcos,
/// 14 fsincos, 15 fptan, 16 fxam, 17 ftst.
fn unary(env: &mut CpuState, k: u64) {
    let cw = env.word(state::X87_CW);
    let a = get(env, 0);
    let all_c = sw::C0 | sw::C2 | sw::C3;
    let reads1 = matches!(k, 4 | 5 | 6 | 9 | 10 | 11);
    if k < 16 && (empty(env, 0) || (reads1 && empty(env, 1))) {
        if matches!(k, 4 | 5) {
            // fprem/fprem1 clear C2 (C0 and C3 stay).
            env.set_word(state::X87_SW, env.word(state::X87_SW) & !sw::C2);
        }
        if underflow(env) {
            return;
        }
        match k {
            9..=11 => {
                pop(env);
                set(env, 0, INDEFINITE);
            }
            7 | 14 | 15 => {
                set(env, 0, INDEFINITE);
                push(env, INDEFINITE);
            }
            _ => set(env, 0, INDEFINITE),
        }
        return;
    }
    if a.unsupported() && matches!(k, 3 | 7 | 8..=15) {
        status(env, sw::IE, 0);
        set(env, 0, INDEFINITE);
        if matches!(k, 7 | 14 | 15) {
            push(env, INDEFINITE);
        }
        return;
    }
    match k {
        0 => {
            set(env, 0, a.neg());
            status(env, 0, 0);
        }
        1 => {
            set(
                env,
                0,
                F80 {
                    se: a.se & 0x7fff,
                    m: a.m,
                },
            );
            status(env, 0, 0);
        }
        2 => {
            let (r, f) = sqrt(a, cw);
            if faults(env, f) {
                status(env, f, 0);
                return;
            }
            set(env, 0, r);
            status(env, f, 0);
        }
        3 => {
            if a.is_nan() {
                set(env, 0, a.quiet());
                status(env, if a.is_snan() { sw::IE } else { 0 }, 0);
                return;
            }
            let (r, inexact) = rint(a, cw_rc(cw));
            set(env, 0, r);
            let abs = |x: F80| F80 {
                se: x.se & 0x7fff,
                m: x.m,
            };
            let up = inexact && compare(abs(r), abs(a)) == Some(std::cmp::Ordering::Greater);
            status(
                env,
                if inexact { sw::PE } else { 0 } | if up { sw::C1 } else { 0 },
                0,
            );
        }
        4 | 5 => {
            let b = get(env, 1);
            let (r, c) = prem(a, b, k == 5);
            status(env, c, all_c);
            if !faults(env, c) {
                set(env, 0, r);
            }
        }
        6 => {
            let b = get(env, 1);
            if let Some((r, f)) = nan2(a, b) {
                set(env, 0, r);
                status(env, f, 0);
                return;
            }
            let r = if b.is_inf() {
                if (b.sign() && a.is_inf()) || (!b.sign() && a.is_zero()) {
                    status(env, sw::IE, 0);
                    INDEFINITE
                } else if b.sign() {
                    F80::zero(a.sign())
                } else {
                    F80::inf(a.sign())
                }
            } else if a.is_zero() || a.is_inf() {
                a
            } else {
                let (t, _) = rint(b, 3);
                let n = if t.is_zero() {
                    0
                } else {
                    let (m, e) = t.unpack();
                    let mag = if e <= -64 {
                        0
                    } else if e >= 0 {
                        1 << 20
                    } else {
                        (m >> (-e) as u32).min(1 << 20) as i32
                    };
                    if t.sign() { -mag } else { mag }
                };
                let (m, e) = a.unpack();
                let rd = round(a.sign(), u128::from(m), e + n, false, EXT, reg_rc(cw));
                status(env, rd.flags, 0);
                set(env, 0, rd.to80(EXT));
                return;
            };
            set(env, 0, r);
        }
        7 => {
            if a.is_nan() || a.is_inf() {
                let v = if a.is_nan() { a.quiet() } else { a };
                let e = if a.is_nan() { v } else { F80::inf(false) };
                set(env, 0, e);
                push(env, v);
                return;
            }
            if a.is_zero() {
                set(env, 0, F80::inf(true));
                push(env, a);
                status(env, sw::ZE, 0);
                return;
            }
            let (m, e) = a.unpack();
            let exp = from_int(i64::from(e + 63));
            set(env, 0, exp);
            push(
                env,
                F80 {
                    se: (a.se & 0x8000) | 0x3fff,
                    m,
                },
            );
        }
        16 if empty(env, 0) => {
            let c1 = if a.sign() { sw::C1 } else { 0 };
            let s = env.word(state::X87_SW) & !(all_c | sw::C1);
            env.set_word(state::X87_SW, s | sw::C3 | sw::C0 | c1);
        }
        17 if empty(env, 0) => {
            // Stack underflow: IE with SF, C1 = 0, unordered.
            let s = env.word(state::X87_SW) & !(all_c | sw::C1);
            env.set_word(state::X87_SW, s | all_c | sw::IE | sw::SF);
        }
        16 => {
            let c = if a.unsupported() {
                0
            } else if a.is_nan() {
                sw::C0
            } else if a.is_inf() {
                sw::C0 | sw::C2
            } else if a.is_zero() {
                sw::C3
            } else if a.is_denormal() {
                sw::C3 | sw::C2
            } else {
                sw::C2
            };
            let c1 = if a.sign() { sw::C1 } else { 0 };
            let s = env.word(state::X87_SW) & !(all_c | sw::C1);
            env.set_word(state::X87_SW, s | c | c1);
        }
        17 => {
            let c = match compare(a, F80::zero(false)) {
                None => all_c,
                Some(std::cmp::Ordering::Less) => sw::C0,
                Some(std::cmp::Ordering::Equal) => sw::C3,
                _ => 0,
            };
            let fl = if a.is_nan() || a.unsupported() {
                sw::IE
            } else {
                0
            };
            status(env, c | fl, all_c);
        }
        _ => transcendental(env, k, a),
    }
}

/// f2xm1, fyl2x, fyl2xp1, fpatan, fsin, fcos, fsincos, fptan at extended precision
/// ([`trans`]). fsin/fcos/fsincos/fptan leave a finite operand of magnitude 2^63 or more
/// alone and set C2; otherwise they clear C2.
fn transcendental(env: &mut CpuState, k: u64, a: F80) {
    let rc = cw_rc(env.word(state::X87_CW));
    match k {
        8 => {
            let (r, f) = trans::f2xm1(a, rc);
            set(env, 0, r);
            status(env, f, 0);
        }
        9..=11 => {
            let y = get(env, 1);
            let (r, f) = match k {
                9 => trans::fyl2x(a, y, rc),
                10 => trans::fyl2xp1(a, y, rc),
                _ => trans::fpatan(a, y, rc),
            };
            pop(env);
            set(env, 0, r);
            status(env, f, 0);
        }
        12..=15 => {
            let s = env.word(state::X87_SW) & !sw::C2;
            if a.exp() >= 16383 + 63 && a.exp() != 0x7fff {
                env.set_word(state::X87_SW, s | sw::C2);
                return;
            }
            env.set_word(state::X87_SW, s);
            let (r, second, f) = trans::trig(k, a, rc);
            set(env, 0, r);
            if let Some(v) = second {
                push(env, v);
            }
            status(env, f, 0);
        }
        _ => {}
    }
}

/// Runs x87 operation `o` (low byte: [`op`], the rest: [`arg`] fields) with `a`, `b`.
pub fn exec(env: &mut CpuState, o: u64, a: u64, b: u64) -> u64 {
    let fmt = (o >> arg::FMT) & 15;
    let src = (o >> arg::SRC) & 7;
    let dst = (o >> arg::DST) & 7;
    let kind = (o >> arg::KIND) & 0x3f;
    let cw = env.word(state::X87_CW);
    let all_c = sw::C0 | sw::C2 | sw::C3;
    if o & 0xff != op::POP && env.word(TAG) & SUPPRESS != 0 {
        env.set_word(TAG, env.word(TAG) & !SUPPRESS);
    }
    let src_empty = |env: &CpuState| fmt == 15 && empty(env, src);
    let operand = |env: &CpuState| -> (F80, u64) {
        if fmt == 15 {
            (get(env, src), 0)
        } else {
            load(fmt, a, b)
        }
    };
    match o & 0xff {
        op::LD => {
            let (v, f) = operand(env);
            status(env, f, 0);
            // A signalling NaN with invalid unmasked is not loaded.
            if f & sw::IE & !cw == 0 {
                push(env, v);
            }
        }
        op::LD_ST if empty(env, src) => {
            if underflow(env) {
                return 0;
            }
            push(env, INDEFINITE);
        }
        op::LD_ST => {
            let v = get(env, src);
            push(env, v);
        }
        op::LDC => {
            // The table holds the round-to-nearest values; pi, log2(e), log10(2) and ln(2)
            // round up there (one less toward -inf or 0), log2(10) rounds down (one more
            // toward +inf).
            let k = (kind as usize).min(6);
            let mut v = CONSTS[k];
            match (k, cw_rc(cw)) {
                (2..=5, 1 | 3) => v.m -= 1,
                (1, 2) => v.m += 1,
                _ => {}
            }
            push(env, v);
        }
        op::UNDER if empty(env, 0) && cw & sw::IE == 0 => {
            underflow(env);
            return 1;
        }
        op::UNDER if !empty(env, 0) && cw & (sw::IE | sw::OE | sw::UE) != 0x19 => {
            // An unmasked invalid, overflow or underflow of the conversion: no store, no
            // pop; the exception alone is flagged (no PE, C1 clear).
            let v = get(env, 0);
            let f = match fmt {
                0 | 1 => store(fmt, v, cw).1,
                3..=5 => to_int(v, [2, 4, 8][fmt as usize - 3], o >> arg::TRUNC & 1 != 0, cw).1,
                _ => 0,
            };
            let un = f & !cw & (sw::IE | sw::OE | sw::UE);
            if un == 0 {
                return 0;
            }
            let fl = if un & sw::IE != 0 {
                sw::IE
            } else if un & sw::OE != 0 {
                sw::OE
            } else {
                sw::UE
            };
            status(env, fl, 0);
            env.set_word(TAG, env.word(TAG) | SUPPRESS);
            return 1;
        }
        op::ST if empty(env, 0) => {
            underflow(env);
            return match fmt {
                0 => 0xffc0_0000,
                1 => 0xfff8 << 48,
                _ => INDEFINITE.m,
            };
        }
        op::ST => {
            let (v, f) = store(fmt, get(env, 0), cw);
            status(env, f, 0);
            return v;
        }
        op::EXP if kind == 1 && empty(env, 0) => return u64::from(INDEFINITE.se),
        op::EXP => return u64::from(get(env, src).se),
        op::ST_ST if empty(env, 0) => {
            if underflow(env) {
                return 0;
            }
            set(env, dst, INDEFINITE);
        }
        op::ST_ST => {
            let v = get(env, 0);
            set(env, dst, v);
            status(env, 0, 0);
        }
        op::FIST if empty(env, 0) => {
            underflow(env);
            return 1 << (kind * 8 - 1);
        }
        op::FIST => {
            let (v, f) = to_int(get(env, 0), kind as u32, o >> arg::TRUNC & 1 != 0, cw);
            status(env, f, 0);
            return v;
        }
        op::ARITH if src_empty(env) || empty(env, dst) => {
            if underflow(env) {
                return 0;
            }
            set(env, dst, INDEFINITE);
        }
        op::ARITH => {
            let (s, f0) = operand(env);
            let d = get(env, dst);
            let (x, y) = if o >> arg::REV & 1 != 0 {
                (s, d)
            } else {
                (d, s)
            };
            let (r, f) = arith(kind, x, y, cw);
            // A signalling NaN in memory (quieted by its load) and a quiet NaN on the stack:
            // the quiet one.
            let r = if f0 & sw::IE != 0 && s.is_nan() && d.is_nan() {
                d.quiet()
            } else {
                r
            };
            if faults(env, f | f0) {
                status(env, f | f0, 0);
                return 0;
            }
            set(env, dst, r);
            status(env, f | f0, 0);
        }
        op::POP => pop(env),
        op::XCH if empty(env, 0) || empty(env, src) => {
            if underflow(env) {
                return 0;
            }
            let (x, y) = (get(env, 0), get(env, src));
            let x = if empty(env, 0) { INDEFINITE } else { x };
            let y = if empty(env, src) { INDEFINITE } else { y };
            set(env, 0, y);
            set(env, src, x);
        }
        op::XCH => {
            let (x, y) = (get(env, 0), get(env, src));
            set(env, 0, y);
            set(env, src, x);
        }
        op::COMI | op::COM if empty(env, 0) || src_empty(env) => {
            // Unordered, masked or not (the pops are what an unmasked underflow skips).
            underflow(env);
            if o & 0xff == op::COMI {
                return flags::ZF | flags::PF | flags::CF;
            }
            status(env, all_c, all_c);
        }
        op::COMI | op::COM => {
            let (y, f0) = operand(env);
            let x = get(env, 0);
            let ord = compare(x, y);
            let signalling = kind & 1 != 0;
            let inv = match ord {
                None => {
                    x.is_snan() || y.is_snan() || signalling || x.unsupported() || y.unsupported()
                }
                Some(_) => false,
            };
            let fl = if inv { sw::IE } else { 0 } | f0;
            use std::cmp::Ordering::*;
            if o & 0xff == op::COMI {
                status(env, fl, 0);
                return match ord {
                    None => flags::ZF | flags::PF | flags::CF,
                    Some(Less) => flags::CF,
                    Some(Equal) => flags::ZF,
                    Some(Greater) => 0,
                };
            }
            let c = match ord {
                None => all_c,
                Some(Less) => sw::C0,
                Some(Equal) => sw::C3,
                Some(Greater) => 0,
            };
            status(env, fl | c, all_c);
        }
        op::UNARY => unary(env, kind),
        op::SET_RAW => set(env, src, F80 { se: b as u16, m: a }),
        op::GET_RAW => return get(env, src).m,
        op::STACK => {
            status(env, 0, 0);
            let t = env.word(state::X87_TOP);
            match kind {
                1 => env.set_word(state::X87_TOP, (t + 7) & 7),
                2 => env.set_word(state::X87_TOP, (t + 1) & 7),
                _ => free(env, src),
            }
        }
        op::BLD => push(env, from_bcd(a, b)),
        op::BST if empty(env, 0) => {
            underflow(env);
            return if kind == 0 {
                INDEFINITE.m
            } else {
                u64::from(INDEFINITE.se)
            };
        }
        op::BST => {
            let (lo, hi, f) = to_bcd(get(env, 0), cw);
            if kind == 0 {
                status(env, f, 0);
                return lo;
            }
            return hi;
        }
        op::TAGS => match kind {
            0 => return tag_word(env),
            1 => {
                let used = (0..8)
                    .filter(|p| a >> (2 * p) & 3 != 3)
                    .fold(0, |u, p| u | 1 << p);
                env.set_word(TAG, used);
            }
            2 => return env.word(TAG) & 0xff,
            _ => env.set_word(TAG, a & 0xff),
        },
        op::CMOV if empty(env, 0) || empty(env, src) => {
            // The indefinite, whatever the condition.
            if underflow(env) {
                return 0;
            }
            set(env, 0, INDEFINITE);
        }
        op::CMOV if a != 0 => {
            let v = get(env, src);
            set(env, 0, v);
        }
        _ => {}
    }
    0
}

/// 80-bit extended (`lo` = significand, `hi` = sign and exponent) → double (rounded to
/// nearest).
pub fn from80(lo: u64, hi: u64) -> f64 {
    to_f64(F80 {
        se: hi as u16,
        m: lo,
    })
}

/// Double → 80-bit extended `(significand, sign and exponent)`, exact.
pub fn to80(v: f64) -> (u64, u64) {
    let f = from_f64(v);
    (f.m, u64::from(f.se))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> F80 {
        from_f64(v)
    }

    #[test]
    fn extended_round_trips() {
        for v in [1.0, -2.5, 1e300, 3e-310, 0.1, f64::INFINITY, -0.0] {
            let (lo, hi) = to80(v);
            assert_eq!(from80(lo, hi).to_bits(), v.to_bits(), "{v}");
        }
        // 1.0 in extended precision: 0x3fff 8000000000000000.
        assert_eq!(to80(1.0), (1 << 63, 0x3fff));
    }

    #[test]
    fn double_precision_control_matches_host_doubles() {
        // With PC = double, +-*/ and sqrt give the host's f64 results.
        let cw = 0x27f;
        let vals = [1.0, 3.0, 0.1, -7.25, 1e-300, 2.5e300, 123456.789, 1.0 / 3.0];
        for &x in &vals {
            for &y in &vals {
                for (k, want) in [(0, x + y), (1, x - y), (2, x * y), (3, x / y)] {
                    let (r, _) = arith(k, f(x), f(y), cw);
                    // Results are rounded to 53 bits but keep the extended exponent range.
                    if want.is_finite() && want.abs() > 1e-300 {
                        assert_eq!(to_f64(r), want, "{x} op{k} {y}");
                    }
                }
            }
            if x > 0.0 {
                assert_eq!(to_f64(sqrt(f(x), cw).0), x.sqrt(), "sqrt {x}");
            }
        }
    }

    #[test]
    fn extended_results_are_exact_where_doubles_are_not() {
        // 1 + 2^-60 is representable in extended precision.
        let tiny = F80 {
            se: 0x3fff - 60,
            m: 1 << 63,
        };
        let (r, fl) = arith(0, f(1.0), tiny, 0x37f);
        assert_eq!(r.m, (1 << 63) | (1 << 3));
        assert_eq!(fl & sw::PE, 0);
        // 1/3 rounds to nearest: 0xaaaa...ab.
        let (r, _) = arith(3, f(1.0), f(3.0), 0x37f);
        assert_eq!((r.se, r.m), (0x3ffd, 0xaaaa_aaaa_aaaa_aaab));
    }

    #[test]
    fn fprem_gives_the_exact_remainder() {
        let (r, c) = prem(f(17.5), f(5.0), false);
        assert_eq!(to_f64(r), 2.5);
        assert_eq!(c & sw::C2, 0);
        // 3.5 rounds to the even quotient 4.
        let (r, _) = prem(f(17.5), f(5.0), true);
        assert_eq!(to_f64(r), -2.5);
        let (r, _) = prem(f(18.0), f(5.0), true);
        assert_eq!(to_f64(r), -2.0);
        let (_, c) = prem(f(1e300), f(3.0), false);
        assert_ne!(c & sw::C2, 0, "partial remainder");
    }

    #[test]
    fn integer_conversions_round_per_control_word() {
        assert_eq!(to_int(f(2.5), 4, false, 0x37f).0, 2);
        assert_eq!(to_int(f(3.5), 4, false, 0x37f).0, 4);
        assert_eq!(to_int(f(-2.5), 4, true, 0x37f).0, (-2i32) as u32 as u64);
        assert_eq!(to_int(f(1e10), 4, false, 0x37f).0, 0x8000_0000);
        assert_eq!(to_int(f(-32768.0), 2, false, 0x37f).0, 0x8000);
    }
}
