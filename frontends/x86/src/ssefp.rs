//! SSE/SSE2 floating point on the host's IEEE doubles and singles: scalar and packed
//! arithmetic, conversions, compares, with MXCSR's exception flags accrued (invalid, denormal
//! operand, divide by zero, overflow, underflow, precision) from exact error terms.
//! MXCSR.RC is honoured: results are computed to nearest and then moved one unit toward the
//! rounding direction when the exact error term says so. MXCSR.DAZ reads subnormal operands
//! as zeros of their sign (no DE); MXCSR.FTZ (with underflow masked) writes a subnormal
//! result as a zero of its sign and raises UE and PE.

use crate::{flags, state};
use xlat_ir::abi::CpuState;

/// Operations (the helper's first argument): `kind << 2 | size` where size bit 0 = double,
/// bit 1 = packed.
pub mod op {
    /// dst = dst + src.
    pub const ADD: u64 = 0;
    /// dst = dst - src.
    pub const SUB: u64 = 1;
    /// dst = dst * src.
    pub const MUL: u64 = 2;
    /// dst = dst / src.
    pub const DIV: u64 = 3;
    /// dst = min (x86: src if either is NaN or both zero).
    pub const MIN: u64 = 4;
    /// dst = max (same rule).
    pub const MAX: u64 = 5;
    /// dst = sqrt(src).
    pub const SQRT: u64 = 6;
    /// Convert the other precision's low lane (cvtss2sd / cvtsd2ss).
    pub const CVT: u64 = 7;
    /// Compare with predicate `code >> 8` (eq, lt, le, unord, neq, nlt, nle, ord): all ones
    /// or zero per lane.
    pub const CMP: u64 = 8;
    /// cvtps2pd: the two low singles to doubles.
    pub const CVTPS2PD: u64 = 9;
    /// cvtpd2ps: two doubles to the two low singles (the high half zeroed).
    pub const CVTPD2PS: u64 = 10;
    /// cvtdq2ps: four signed 32-bit integers to singles (MXCSR rounding).
    pub const CVTDQ2PS: u64 = 11;
    /// cvtps2dq: four singles to 32-bit integers (MXCSR rounding).
    pub const CVTPS2DQ: u64 = 12;
    /// cvttps2dq: likewise, truncating.
    pub const CVTTPS2DQ: u64 = 13;
    /// cvtpd2dq: two doubles to the two low 32-bit integers (the high half zeroed).
    pub const CVTPD2DQ: u64 = 14;
    /// cvttpd2dq: likewise, truncating.
    pub const CVTTPD2DQ: u64 = 15;
    /// rcpps/rcpss: approximate reciprocal of src's singles ([`super::approx`]).
    pub const RCP: u64 = 16;
    /// rsqrtps/rsqrtss: approximate reciprocal square root.
    pub const RSQRT: u64 = 17;
}

/// rcp (`rsqrt` false) or rsqrt of the single `x` (bits). The SDM bounds the relative error
/// by 1.5 * 2^-12 and leaves the exact bits to the implementation (Intel's and AMD's tables
/// differ); this gives the value rounded to nearest (through a double), within that bound
/// on every CPU. Fixed
/// by the SDM, as here: a zero or subnormal operand (read as zero, DAZ or not) gives an
/// infinity of its sign; rcp of an infinity is a zero of its sign, rcp results below 2^-126
/// are flushed to a zero of the sign; rsqrt of +inf is +0, of a negative number the default
/// NaN; a NaN operand comes back quieted. No MXCSR flag is raised or read.
pub fn approx(x: u32, rsqrt: bool) -> u32 {
    let sign = x & 0x8000_0000;
    let f = f32::from_bits(x);
    if f.is_nan() {
        return x | 0x0040_0000;
    }
    if x & 0x7f80_0000 == 0 {
        return sign | 0x7f80_0000;
    }
    if rsqrt {
        if sign != 0 {
            return 0xffc0_0000;
        }
        if f.is_infinite() {
            return 0;
        }
        return ((1.0 / f64::from(f).sqrt()) as f32).to_bits();
    }
    if f.is_infinite() {
        return sign;
    }
    let r = 1.0 / f64::from(f);
    if r.abs() < f64::from(f32::MIN_POSITIVE) {
        return sign;
    }
    (r as f32).to_bits()
}

fn pred(p: u64, x: f64, y: f64) -> bool {
    let unord = x.is_nan() || y.is_nan();
    match p & 7 {
        0 => x == y,
        1 => x < y,
        2 => x <= y,
        3 => unord,
        4 => x != y,
        // Not less / not less-or-equal: true when unordered.
        5 => unord || x >= y,
        6 => unord || x > y,
        _ => !unord,
    }
}

/// DAZ: a subnormal operand as a zero of its sign.
fn daz64(v: f64, on: bool) -> f64 {
    if on && v.is_subnormal() {
        0.0f64.copysign(v)
    } else {
        v
    }
}

fn daz32(v: f32, on: bool) -> f32 {
    if on && v.is_subnormal() {
        0.0f32.copysign(v)
    } else {
        v
    }
}

/// FTZ: a subnormal result as a zero of its sign, with UE and PE (`on` false for min/max
/// and compares, which return an operand).
fn ftz64(v: f64, on: bool, fl: &mut u64) -> f64 {
    if on && v.is_subnormal() {
        *fl |= mx::UE | mx::PE;
        0.0f64.copysign(v)
    } else {
        v
    }
}

fn ftz32(v: f32, on: bool, fl: &mut u64) -> f32 {
    if on && v.is_subnormal() {
        *fl |= mx::UE | mx::PE;
        0.0f32.copysign(v)
    } else {
        v
    }
}

/// Float bits (`double` or single in the low 32) with DAZ applied.
pub fn daz_bits(v: u64, double: bool, daz: bool) -> u64 {
    if double {
        daz64(f64::from_bits(v), daz).to_bits()
    } else {
        u64::from(daz32(f32::from_bits(v as u32), daz).to_bits())
    }
}

/// (DAZ, FTZ in effect) from an MXCSR value: FTZ only with underflow masked.
pub fn daz_ftz(m: u64) -> (bool, bool) {
    (m & mx::DAZ != 0, m & mx::FTZ != 0 && m & mx::UM != 0)
}

fn get(env: &CpuState, off: u32) -> u128 {
    u128::from(env.word(off)) | (u128::from(env.word(off + 8)) << 64)
}

fn set(env: &mut CpuState, off: u32, v: u128) {
    env.set_word(off, v as u64);
    env.set_word(off + 8, (v >> 64) as u64);
}

fn quiet64(v: f64) -> f64 {
    f64::from_bits(v.to_bits() | (1 << 51))
}

fn quiet32(v: f32) -> f32 {
    f32::from_bits(v.to_bits() | (1 << 22))
}

/// MXCSR exception flag bits.
pub mod mx {
    /// Invalid operation.
    pub const IE: u64 = 1;
    /// Denormal operand.
    pub const DE: u64 = 2;
    /// Divide by zero.
    pub const ZE: u64 = 4;
    /// Overflow.
    pub const OE: u64 = 8;
    /// Underflow.
    pub const UE: u64 = 0x10;
    /// Precision (inexact).
    pub const PE: u64 = 0x20;
    /// Denormals are zeros (control).
    pub const DAZ: u64 = 0x40;
    /// Underflow mask (control).
    pub const UM: u64 = 0x800;
    /// Precision mask (control).
    pub const PM: u64 = 0x1000;
    /// Flush to zero (control).
    pub const FTZ: u64 = 0x8000;
}

/// A lane flag that never reaches MXCSR: the exact result is tiny (non-zero and below the
/// smallest normal), exact or not. With underflow unmasked that alone raises the exception
/// (masked, UE needs an inexact tiny result).
pub const TINY: u64 = 1 << 32;

/// A lane flag that never reaches MXCSR: with OE or [`TINY`], whether the result rounded to
/// its precision with an unbounded exponent is inexact (an unmasked overflow or underflow
/// then also sets PE).
pub const XPE: u64 = 1 << 33;

/// Significant bits of finite `v` (from its leading to its lowest one bit; 0 for zero).
fn sig_bits(v: f64) -> u32 {
    let b = v.to_bits() & ((1 << 52) - 1);
    let m = if v.abs() >= f64::MIN_POSITIVE {
        b | (1 << 52)
    } else {
        b
    };
    if m == 0 {
        return 0;
    }
    64 - m.leading_zeros() - m.trailing_zeros()
}

/// Whether `k` on finite doubles `a`, `b` is inexact with an unbounded exponent (for
/// results that overflow or are tiny).
fn xpe64(k: u64, a: f64, b: f64) -> bool {
    match k {
        op::MUL | op::DIV => {
            let (ea, eb) = (expo(a), expo(b));
            let (x, y) = (scale(a, -ea), scale(b, -eb));
            if k == op::MUL {
                let p = x * y;
                x.mul_add(y, -p) != 0.0
            } else {
                let q = x / y;
                q.mul_add(y, -x) != 0.0
            }
        }
        op::ADD | op::SUB => {
            // A tiny sum is exact; an overflowing one is formed a quarter the size.
            let y = if k == op::SUB { -b } else { b };
            let (x, y2) = (a * 0.25, y * 0.25);
            if (y != 0.0 && y2 == 0.0) || (a != 0.0 && x == 0.0) {
                return true;
            }
            let s = x + y2;
            let bb = s - x;
            (x - (s - bb)) + (y2 - bb) != 0.0
        }
        _ => false,
    }
}

/// [`xpe64`] for singles (their exact results fit a double, but for division).
fn xpe32(k: u64, a: f32, b: f32) -> bool {
    let (x, y) = (f64::from(a), f64::from(b));
    match k {
        op::MUL => sig_bits(x * y) > 24,
        op::DIV => {
            let q = x / y;
            sig_bits(q) > 24 || q.mul_add(y, -x) != 0.0
        }
        op::ADD | op::SUB => {
            let y = if k == op::SUB { -y } else { y };
            let s = x + y;
            let bb = s - x;
            sig_bits(s) > 24 || (x - (s - bb)) + (y - bb) != 0.0
        }
        _ => false,
    }
}

/// What an instruction does with its lanes' flags `lanes` (each the masked response's flags,
/// with [`TINY`]) under `mxcsr`: the flags to set in MXCSR, and whether #XM is raised (the
/// destination is then left unchanged). As the hardware does: an unmasked invalid, denormal
/// or divide-by-zero in any lane is raised with only those flags set (the result is not
/// computed); otherwise a lane that overflows (underflows) with that exception unmasked sets
/// OE (UE), with PE only if the result is inexact with an unbounded exponent ([`XPE`]), the
/// others their masked flags, and any unmasked flag raises.
pub fn resolve(mxcsr: u64, lanes: &[u64]) -> (u64, bool) {
    let unmasked = !(mxcsr >> 7) & 0x3f;
    let pre = lanes.iter().fold(0, |f, l| f | l) & (mx::IE | mx::DE | mx::ZE);
    if pre & unmasked != 0 {
        return (pre, true);
    }
    let mut f = pre;
    for &l in lanes {
        let xpe = if l & XPE != 0 { mx::PE } else { 0 };
        f |= if unmasked & mx::OE != 0 && l & mx::OE != 0 {
            mx::OE | xpe
        } else if unmasked & mx::UE != 0 && l & TINY != 0 {
            mx::UE | xpe
        } else {
            l & (mx::OE | mx::UE | mx::PE)
        };
    }
    (f, f & unmasked != 0)
}

/// Accrues the flags of `lanes` ([`resolve`]) into MXCSR; on an unmasked exception sets #XM
/// pending and returns true (the caller must not write its destination).
pub fn accrue(env: &mut CpuState, lanes: &[u64]) -> bool {
    let m = env.word(state::MXCSR);
    let (f, fault) = resolve(m, lanes);
    if f & !m != 0 {
        env.set_word(state::MXCSR, m | f);
    }
    if fault {
        env.exc_pending = crate::SIMD_FP_ERROR + 1;
        env.exc_arg = 0;
    }
    fault
}

/// Whether underflow is unmasked in `mxcsr` (FTZ then does not apply; a tiny result raises).
pub fn ue_unmasked(mxcsr: u64) -> bool {
    mxcsr & mx::UM == 0
}

fn snan64(v: f64) -> bool {
    v.is_nan() && v.to_bits() & (1 << 51) == 0
}

/// The exception flags of `k` on doubles `a`, `b` giving `r`; `exact(r)` tells whether `r` is
/// the exact result (finite operands, finite result).
fn flags64(k: u64, a: f64, b: f64, r: f64, pred: u64, pe: bool) -> u64 {
    let uses_a = k != op::SQRT && k != op::CVT;
    let any_nan = (uses_a && a.is_nan()) || b.is_nan();
    let any_snan = (uses_a && snan64(a)) || snan64(b);
    // A NaN operand takes priority over the denormal-operand check, and so does the square
    // root of a negative number (IE alone, even for a negative subnormal).
    let mut f = 0;
    if k == op::SQRT && !b.is_nan() && b < 0.0 {
        return mx::IE;
    }
    if !any_nan && ((uses_a && a.is_subnormal()) || b.is_subnormal()) {
        f |= mx::DE;
    }
    match k {
        op::MIN | op::MAX => {
            if any_nan {
                return f | mx::IE;
            }
            return f;
        }
        op::CMP => {
            let signalling = matches!(pred & 7, 1 | 2 | 5 | 6);
            if any_snan || (signalling && any_nan) {
                f |= mx::IE;
            }
            return f;
        }
        _ => {}
    }
    if any_snan {
        return f | mx::IE;
    }
    if any_nan {
        return f;
    }
    if r.is_nan() {
        return f | mx::IE;
    }
    if k == op::DIV && b == 0.0 && a.is_finite() && a != 0.0 {
        return mx::ZE;
    }
    let finite_in = (!uses_a || a.is_finite()) && b.is_finite();
    if r.is_infinite() {
        let x = if finite_in && xpe64(k, a, b) { XPE } else { 0 };
        return if finite_in {
            f | mx::OE | mx::PE | x
        } else {
            f
        };
    }
    if !finite_in || r == 0.0 && (k == op::MUL && (a == 0.0 || b == 0.0)) {
        return f;
    }
    // PE is sticky: once accrued, only underflow (near the normal range's end) needs the
    // error term.
    if pe && r.abs() > f64::MIN_POSITIVE {
        return f;
    }
    // The exact result is r + err (err's sign is what matters for tininess).
    let err = match k {
        op::ADD | op::SUB => {
            let y = if k == op::SUB { -b } else { b };
            let bb = r - a;
            (a - (r - bb)) + (y - bb)
        }
        // Scaled to exponents near 0 first so the error term cannot underflow.
        op::MUL if safe(a) && safe(b) && safe(r) => a.mul_add(b, -r),
        op::MUL => {
            let (ea, eb) = (expo(a), expo(b));
            scale(a, -ea).mul_add(scale(b, -eb), -scale(r, -ea - eb))
        }
        op::DIV if safe(a) && safe(b) && safe(r) => -r.mul_add(b, -a) * b.signum(),
        op::DIV => {
            let (ea, eb) = (expo(a), expo(b));
            let (a2, b2, r2) = (scale(a, -ea), scale(b, -eb), scale(r, eb - ea));
            -r2.mul_add(b2, -a2) * b.signum()
        }
        op::SQRT if safe(b) => -r.mul_add(r, -b),
        op::SQRT => {
            let h = expo(b) / 2;
            let (b2, r2) = (scale(b, -2 * h), scale(r, -h));
            -r2.mul_add(r2, -b2)
        }
        _ => 0.0,
    };
    if err != 0.0 || (k == op::MUL && r == 0.0 && a != 0.0 && b != 0.0) {
        f |= mx::PE;
        let ra = r.abs();
        if ra < f64::MIN_POSITIVE || (ra == f64::MIN_POSITIVE && err.signum() != r.signum()) {
            f |= mx::UE | TINY | if xpe64(k, a, b) { XPE } else { 0 };
        }
    } else if r != 0.0 && r.abs() < f64::MIN_POSITIVE {
        f |= TINY;
    }
    f
}

/// The binary exponent of a finite non-zero `v` (0 for zero).
fn expo(v: f64) -> i32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let b = v.to_bits();
    let e = ((b >> 52) & 0x7ff) as i32;
    if e == 0 {
        // Subnormal: the leading one sits below the implicit position.
        (63 - b.leading_zeros() as i32) - 1074
    } else {
        e - 1023
    }
}

/// `2^k` for `-1022 <= k <= 1023`.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `v * 2^k`, exact while the result stays normal.
fn scale(mut v: f64, mut k: i32) -> f64 {
    while k != 0 {
        let s = k.clamp(-1000, 1000);
        v *= pow2(s);
        k -= s;
    }
    v
}

/// Whether error terms around `v` can be formed without underflow or overflow.
fn safe(v: f64) -> bool {
    let a = v.abs();
    a == 0.0 || (a > 1e-270 && a < 1e270)
}

fn snan32(v: f32) -> bool {
    v.is_nan() && v.to_bits() & (1 << 22) == 0
}

/// [`flags64`] for singles: the error terms are computed exactly in double precision.
fn flags32(k: u64, a: f32, b: f32, r: f32, pred: u64, pe: bool) -> u64 {
    let uses_a = k != op::SQRT && k != op::CVT;
    let any_nan = (uses_a && a.is_nan()) || b.is_nan();
    let any_snan = (uses_a && snan32(a)) || snan32(b);
    let mut f = 0;
    if k == op::SQRT && !b.is_nan() && b < 0.0 {
        return mx::IE;
    }
    if !any_nan && ((uses_a && a.is_subnormal()) || b.is_subnormal()) {
        f |= mx::DE;
    }
    match k {
        op::MIN | op::MAX => return if any_nan { f | mx::IE } else { f },
        op::CMP => {
            if any_snan || (matches!(pred & 7, 1 | 2 | 5 | 6) && any_nan) {
                f |= mx::IE;
            }
            return f;
        }
        _ => {}
    }
    if any_snan {
        return f | mx::IE;
    }
    if any_nan {
        return f;
    }
    if r.is_nan() {
        return f | mx::IE;
    }
    if k == op::DIV && b == 0.0 && a.is_finite() && a != 0.0 {
        return mx::ZE;
    }
    let finite_in = (!uses_a || a.is_finite()) && b.is_finite();
    if r.is_infinite() {
        let x = if finite_in && xpe32(k, a, b) { XPE } else { 0 };
        return if finite_in {
            f | mx::OE | mx::PE | x
        } else {
            f
        };
    }
    if !finite_in {
        return f;
    }
    if pe && r.abs() > f32::MIN_POSITIVE {
        return f;
    }
    let (x, y, rr) = (f64::from(a), f64::from(b), f64::from(r));
    // Exact results in double precision (error-free for add/sub through a two-sum).
    let err = match k {
        op::ADD | op::SUB => {
            let y = if k == op::SUB { -y } else { y };
            let s = x + y;
            let bb = s - x;
            let e = (x - (s - bb)) + (y - bb);
            (s - rr) + e
        }
        op::MUL => x * y - rr,
        op::DIV => (x - rr * y) * y.signum(),
        op::SQRT => y - rr * rr,
        _ => 0.0,
    };
    if err != 0.0 {
        f |= mx::PE;
        let ra = r.abs();
        if ra < f32::MIN_POSITIVE || (ra == f32::MIN_POSITIVE && err.signum() != rr.signum()) {
            f |= mx::UE | TINY | if xpe32(k, a, b) { XPE } else { 0 };
        }
    } else if r != 0.0 && r.abs() < f32::MIN_POSITIVE {
        f |= TINY;
    }
    f
}

fn f64op(k: u64, a: f64, b: f64) -> f64 {
    // x86's NaN rule for arithmetic: the first operand's NaN (quieted), else the second's.
    if k <= op::DIV && (a.is_nan() || b.is_nan()) {
        return quiet64(if a.is_nan() { a } else { b });
    }
    if k == op::SQRT && b.is_nan() {
        return quiet64(b);
    }
    match k {
        op::ADD => a + b,
        op::SUB => a - b,
        op::MUL => a * b,
        op::DIV => a / b,
        op::MIN => {
            if a < b {
                a
            } else {
                b
            }
        }
        op::MAX => {
            if a > b {
                a
            } else {
                b
            }
        }
        _ => b.sqrt(),
    }
}

fn f32op(k: u64, a: f32, b: f32) -> f32 {
    if k <= op::DIV && (a.is_nan() || b.is_nan()) {
        return quiet32(if a.is_nan() { a } else { b });
    }
    if k == op::SQRT && b.is_nan() {
        return quiet32(b);
    }
    match k {
        op::ADD => a + b,
        op::SUB => a - b,
        op::MUL => a * b,
        op::DIV => a / b,
        op::MIN => {
            if a < b {
                a
            } else {
                b
            }
        }
        op::MAX => {
            if a > b {
                a
            } else {
                b
            }
        }
        _ => b.sqrt(),
    }
}

/// The [`scalar`] code bits of MXCSR `m`: rounding control (16-17), PE already set and masked
/// (18), DAZ (19), FTZ in effect (20).
pub fn control_bits(m: u64) -> u64 {
    let pe = u64::from(m & (mx::PE | mx::PM) == mx::PE | mx::PM) << 18;
    let (daz, ftz) = daz_ftz(m);
    (((m >> 13) & 3) << 16) | pe | (u64::from(daz) << 19) | (u64::from(ftz) << 20)
}

/// A scalar operation (`code` as for [`arith`], not packed, not CVT; bits 16-17: MXCSR.RC;
/// bit 18: PE already accrued; bit 19: DAZ; bit 20: FTZ in effect) on the low lanes `a`, `b`
/// (bits): the low lane's new bits and the MXCSR flags it raises.
pub fn scalar(code: u64, a: u64, b: u64) -> (u64, u64) {
    let (k, double, p) = ((code >> 2) & 0x3f, code & 1 != 0, (code >> 8) & 0xff);
    let (daz, ftz) = (code & (1 << 19) != 0, code & (1 << 20) != 0);
    let ftz = ftz && !matches!(k, op::MIN | op::MAX);
    if double {
        let (x, y) = (daz64(f64::from_bits(a), daz), daz64(f64::from_bits(b), daz));
        if k == op::CMP {
            let r = if pred(p, x, y) { u64::MAX } else { 0 };
            return (r, flags64(k, x, y, 0.0, p, false));
        }
        let r = f64op(k, x, y);
        let mut f = flags64(k, x, y, r, p, code & (1 << 18) != 0);
        let v = ftz64(directed64(k, x, y, r, (code >> 16) & 3), ftz, &mut f);
        (v.to_bits(), f)
    } else {
        let (x, y) = (
            daz32(f32::from_bits(a as u32), daz),
            daz32(f32::from_bits(b as u32), daz),
        );
        if k == op::CMP {
            let r = if pred(p, f64::from(x), f64::from(y)) {
                0xffff_ffff
            } else {
                0
            };
            return (r, flags32(k, x, y, 0.0, p, false));
        }
        let r = f32op(k, x, y);
        let mut f = flags32(k, x, y, r, p, code & (1 << 18) != 0);
        let v = ftz32(directed32(k, x, y, r, (code >> 16) & 3), ftz, &mut f);
        (u64::from(v.to_bits()), f)
    }
}

/// Applies MXCSR rounding control `rc` (1 down, 2 up, 3 toward zero) to the round-to-nearest
/// result `r` of `k` on `a`, `b`: recomputed in software ([`crate::x87::sse_directed`]) unless
/// it is exact or special.
macro_rules! directed {
    ($name:ident, $t:ty, $double:expr, $bits:ty) => {
        fn $name(k: u64, a: $t, b: $t, r: $t, rc: u64) -> $t {
            if rc == 0
                || !matches!(k, op::ADD | op::SUB | op::MUL | op::DIV | op::SQRT)
                || r.is_nan()
            {
                return r;
            }
            let finite_in = (k == op::SQRT || a.is_finite()) && b.is_finite();
            if !finite_in {
                return r;
            }
            if let Some(v) = crate::x87::sse_directed(
                k,
                u64::from(a.to_bits()),
                u64::from(b.to_bits()),
                $double,
                rc,
            ) {
                return <$t>::from_bits(v as $bits);
            }
            // An exact zero sum of operands not both +0 (or both -0) is -0 when rounding down.
            if r == 0.0 && rc == 1 && matches!(k, op::ADD | op::SUB) {
                let b2 = if k == op::SUB { -b } else { b };
                if !(a == 0.0 && b2 == 0.0 && a.is_sign_negative() == b2.is_sign_negative()) {
                    return -0.0;
                }
            }
            r
        }
    };
}

directed!(directed64, f64, true, u64);
directed!(directed32, f32, false, u32);

/// Runs arithmetic `code` (see [`op`]) on xmm state offsets `d` and `s`.
pub fn arith(env: &mut CpuState, code: u64, d: u32, s: u32) {
    let (k, double, packed) = ((code >> 2) & 0x3f, code & 1 != 0, code & 2 != 0);
    let rc = (env.word(state::MXCSR) >> 13) & 3;
    // PE already set and masked: an inexact result adds nothing (unmasked, it raises).
    let pe = env.word(state::MXCSR) & (mx::PE | mx::PM) == mx::PE | mx::PM;
    let (daz, ftz) = daz_ftz(env.word(state::MXCSR));
    let ftz = ftz && !matches!(k, op::MIN | op::MAX);
    let p = code >> 8;
    let a = get(env, d);
    let b = get(env, s);
    let mut fl = [0u64; 4];
    let r = if k == op::CVT {
        if double {
            // cvtss2sd: src single → double in the low lane.
            let (v, f) = cvt_s2d(b as u32, daz);
            fl[0] = f;
            (a & !u128::from(u64::MAX)) | u128::from(v)
        } else {
            let (v, f) = cvt_d2s(b as u64, rc, daz, ftz);
            fl[0] = f;
            (a & !0xffff_ffffu128) | u128::from(v)
        }
    } else if matches!(k, op::RCP | op::RSQRT) {
        let lanes = if packed { 4 } else { 1 };
        let mut r = a;
        for l in 0..lanes {
            let v = approx((b >> (32 * l)) as u32, k == op::RSQRT);
            r = (r & !(0xffff_ffffu128 << (32 * l))) | (u128::from(v) << (32 * l));
        }
        r
    } else if let Some(r) = packed_cvt(k, b, rc, daz, ftz, &mut fl) {
        r
    } else if double {
        let lanes = if packed { 2 } else { 1 };
        let mut r = a;
        for (l, fl) in fl.iter_mut().enumerate().take(lanes) {
            let x = daz64(f64::from_bits((a >> (64 * l)) as u64), daz);
            let y = daz64(f64::from_bits((b >> (64 * l)) as u64), daz);
            let v = if k == op::CMP {
                *fl |= flags64(k, x, y, 0.0, p, false);
                if pred(p, x, y) { u64::MAX } else { 0 }
            } else {
                let r = f64op(k, x, y);
                *fl |= flags64(k, x, y, r, p, pe);
                ftz64(directed64(k, x, y, r, rc), ftz, fl).to_bits()
            };
            r = (r & !(u128::from(u64::MAX) << (64 * l))) | (u128::from(v) << (64 * l));
        }
        r
    } else {
        let lanes = if packed { 4 } else { 1 };
        let mut r = a;
        for (l, fl) in fl.iter_mut().enumerate().take(lanes) {
            let x = daz32(f32::from_bits((a >> (32 * l)) as u32), daz);
            let y = daz32(f32::from_bits((b >> (32 * l)) as u32), daz);
            let v = if k == op::CMP {
                *fl |= flags32(k, x, y, 0.0, p, false);
                if pred(p, f64::from(x), f64::from(y)) {
                    u32::MAX
                } else {
                    0
                }
            } else {
                let r = f32op(k, x, y);
                *fl |= flags32(k, x, y, r, p, pe);
                ftz32(directed32(k, x, y, r, rc), ftz, fl).to_bits()
            };
            r = (r & !(0xffff_ffffu128 << (32 * l))) | (u128::from(v) << (32 * l));
        }
        r
    };
    if !accrue(env, &fl) {
        set(env, d, r);
    }
}

/// cvtss2sd on one lane: the double's bits and the lane's flags.
fn cvt_s2d(b: u32, daz: bool) -> (u64, u64) {
    let x = daz32(f32::from_bits(b), daz);
    let mut f = 0;
    if snan32(x) {
        f |= mx::IE;
    }
    if x.is_subnormal() {
        f |= mx::DE;
    }
    let v = if x.is_nan() {
        quiet64(f64::from(x))
    } else {
        f64::from(x)
    };
    (v.to_bits(), f)
}

/// cvtsd2ss on one lane under rounding control `rc`: the single's bits and the lane's flags.
fn cvt_d2s(b: u64, rc: u64, daz: bool, ftz: bool) -> (u64, u64) {
    let x = daz64(f64::from_bits(b), daz);
    let mut f = 0;
    let v = x as f32;
    let v_rc = if rc == 0 || !x.is_finite() {
        v
    } else if v.is_infinite() {
        let keep = match rc {
            1 => v < 0.0,
            2 => v > 0.0,
            _ => false,
        };
        if keep { v } else { f32::MAX.copysign(v) }
    } else {
        let e = x - f64::from(v);
        match rc {
            1 if e < 0.0 => v.next_down(),
            2 if e > 0.0 => v.next_up(),
            3 if e != 0.0 && v != 0.0 && (e < 0.0) == (v > 0.0) => {
                if v > 0.0 {
                    v.next_down()
                } else {
                    v.next_up()
                }
            }
            _ => v,
        }
    };
    if snan64(x) {
        f |= mx::IE;
    }
    if x.is_subnormal() {
        f |= mx::DE;
    }
    if x.is_finite() && x != 0.0 && x.abs() < f64::from(f32::MIN_POSITIVE) {
        f |= TINY;
    }
    if x.is_finite() && sig_bits(x) > 24 {
        f |= XPE;
    }
    if x.is_finite() && f64::from(v) != x {
        f |= mx::PE;
        if v.is_infinite() {
            f |= mx::OE;
        } else if v.abs() < f32::MIN_POSITIVE {
            f |= mx::UE;
        }
    }
    let v = if x.is_nan() {
        quiet32(v)
    } else {
        ftz32(v_rc, ftz, &mut f)
    };
    (u64::from(v.to_bits()), f)
}

/// The packed conversions ([`op::CVTPS2PD`] to [`op::CVTTPD2DQ`]) of source `b`: the new
/// destination, each lane's flags in `fl`; `None` for other kinds.
fn packed_cvt(k: u64, b: u128, rc: u64, daz: bool, ftz: bool, fl: &mut [u64; 4]) -> Option<u128> {
    let lane32 = |i: u32| (b >> (32 * i)) as u32;
    let lane64 = |i: u32| (b >> (64 * i)) as u64;
    let mut r = 0u128;
    match k {
        op::CVTPS2PD => {
            for i in 0..2 {
                let (v, f) = cvt_s2d(lane32(i), daz);
                fl[i as usize] = f;
                r |= u128::from(v) << (64 * i);
            }
        }
        op::CVTPD2PS => {
            for i in 0..2 {
                let (v, f) = cvt_d2s(lane64(i), rc, daz, ftz);
                fl[i as usize] = f;
                r |= u128::from(v) << (32 * i);
            }
        }
        op::CVTDQ2PS => {
            for i in 0..4 {
                let v = lane32(i);
                let s = from_int_rc(u64::from(v), 4, false, rc);
                if f64::from(f32::from_bits(s as u32)) != f64::from(v as i32) {
                    fl[i as usize] = mx::PE;
                }
                r |= u128::from(s) << (32 * i);
            }
        }
        op::CVTPS2DQ | op::CVTTPS2DQ => {
            let rc = if k == op::CVTTPS2DQ { 3 } else { rc };
            for i in 0..4 {
                let v = daz_bits(u64::from(lane32(i)), false, daz);
                let (n, f) = to_int_mx_rc(v, false, 4, rc);
                fl[i as usize] = f;
                r |= u128::from(n & 0xffff_ffff) << (32 * i);
            }
        }
        op::CVTPD2DQ | op::CVTTPD2DQ => {
            let rc = if k == op::CVTTPD2DQ { 3 } else { rc };
            for i in 0..2 {
                let v = daz_bits(lane64(i), true, daz);
                let (n, f) = to_int_mx_rc(v, true, 4, rc);
                fl[i as usize] = f;
                r |= u128::from(n & 0xffff_ffff) << (32 * i);
            }
        }
        _ => return None,
    }
    Some(r)
}

/// ucomis/comis: the flags (ZF, PF, CF; the rest clear) comparing the low lanes.
pub fn compare(a: u64, b: u64, double: bool) -> u64 {
    let (x, y) = if double {
        (f64::from_bits(a), f64::from_bits(b))
    } else {
        (
            f64::from(f32::from_bits(a as u32)),
            f64::from(f32::from_bits(b as u32)),
        )
    };
    match x.partial_cmp(&y) {
        None => flags::ZF | flags::PF | flags::CF,
        Some(std::cmp::Ordering::Less) => flags::CF,
        Some(std::cmp::Ordering::Equal) => flags::ZF,
        Some(std::cmp::Ordering::Greater) => 0,
    }
}

/// [`compare`] and the MXCSR flags: invalid for a signalling NaN (any NaN when `signalling`,
/// comis*), denormal operand.
pub fn compare_mx(a: u64, b: u64, double: bool, signalling: bool) -> (u64, u64) {
    compare_mx_daz(a, b, double, signalling, false)
}

/// [`compare_mx`] with MXCSR.DAZ (`daz`: subnormal operands compare as zeros).
pub fn compare_mx_daz(a: u64, b: u64, double: bool, signalling: bool, daz: bool) -> (u64, u64) {
    let (a, b) = if double {
        (
            daz64(f64::from_bits(a), daz).to_bits(),
            daz64(f64::from_bits(b), daz).to_bits(),
        )
    } else {
        (
            u64::from(daz32(f32::from_bits(a as u32), daz).to_bits()),
            u64::from(daz32(f32::from_bits(b as u32), daz).to_bits()),
        )
    };
    let f = compare(a, b, double);
    let (nan, snan, den) = if double {
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        (
            x.is_nan() || y.is_nan(),
            snan64(x) || snan64(y),
            x.is_subnormal() || y.is_subnormal(),
        )
    } else {
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        (
            x.is_nan() || y.is_nan(),
            snan32(x) || snan32(y),
            x.is_subnormal() || y.is_subnormal(),
        )
    };
    let mut m = if den && !nan { mx::DE } else { 0 };
    if snan || (signalling && nan) {
        m |= mx::IE;
    }
    (f, m)
}

/// [`to_int`] and the MXCSR flags: invalid when out of range or NaN, else precision when
/// the value was not an integer.
pub fn to_int_mx(v: u64, double: bool, bytes: u32, truncate: bool) -> (u64, u64) {
    to_int_mx_rc(v, double, bytes, if truncate { 3 } else { 0 })
}

fn round_rc(x: f64, rc: u64) -> f64 {
    match rc & 3 {
        0 => x.round_ties_even(),
        1 => x.floor(),
        2 => x.ceil(),
        _ => x.trunc(),
    }
}

/// [`to_int_mx`] under rounding control `rc` (3 = truncate).
pub fn to_int_mx_rc(v: u64, double: bool, bytes: u32, rc: u64) -> (u64, u64) {
    let truncate = rc == 3;
    let r = to_int_rc(v, double, bytes, rc);
    let x = if double {
        f64::from_bits(v)
    } else {
        f64::from(f32::from_bits(v as u32))
    };
    let _ = truncate;
    let y = round_rc(x, rc);
    let indefinite = if bytes == 8 { 1u64 << 63 } else { 1u64 << 31 };
    let lim = if bytes == 8 {
        9.223_372_036_854_776e18
    } else {
        2_147_483_648.0
    };
    if x.is_nan() || y < -lim || y >= lim {
        debug_assert_eq!(r, indefinite);
        return (r, mx::IE);
    }
    (r, if y != x { mx::PE } else { 0 })
}

/// Float (bits, `double`) → integer of `bytes` (4 or 8), truncating or rounding to nearest
/// even; out of range and NaN give the "integer indefinite" (the sign bit alone).
pub fn to_int(v: u64, double: bool, bytes: u32, truncate: bool) -> u64 {
    to_int_rc(v, double, bytes, if truncate { 3 } else { 0 })
}

/// [`to_int`] under rounding control `rc` (3 = truncate).
pub fn to_int_rc(v: u64, double: bool, bytes: u32, rc: u64) -> u64 {
    let x = if double {
        f64::from_bits(v)
    } else {
        f64::from(f32::from_bits(v as u32))
    };
    let x = round_rc(x, rc);
    let (lo, hi) = if bytes == 8 {
        (-9.223_372_036_854_776e18, 9.223_372_036_854_776e18)
    } else {
        (-2_147_483_648.0, 2_147_483_648.0)
    };
    let indefinite = if bytes == 8 { 1u64 << 63 } else { 1u64 << 31 };
    if x.is_nan() || x < lo || x >= hi {
        return indefinite;
    }
    (x as i64 as u64) & flags::mask(bytes)
}

/// Signed integer → float bits under rounding control `rc`.
pub fn from_int_rc(v: u64, bytes: u32, double: bool, rc: u64) -> u64 {
    let i = if bytes == 8 {
        v as i64
    } else {
        i64::from(v as u32 as i32)
    };
    if double {
        let r = i as f64;
        let e = i128::from(i) - r as i128;
        let r = match rc {
            1 if e < 0 => r.next_down(),
            2 if e > 0 => r.next_up(),
            3 if e != 0 && (e < 0) == (r > 0.0) => {
                if r > 0.0 {
                    r.next_down()
                } else {
                    r.next_up()
                }
            }
            _ => r,
        };
        r.to_bits()
    } else {
        let r = i as f32;
        let e = i128::from(i) - r as i128;
        let r = match rc {
            1 if e < 0 => r.next_down(),
            2 if e > 0 => r.next_up(),
            3 if e != 0 && (e < 0) == (r > 0.0) => {
                if r > 0.0 {
                    r.next_down()
                } else {
                    r.next_up()
                }
            }
            _ => r,
        };
        u64::from(r.to_bits())
    }
}

/// Signed integer → float bits.
pub fn from_int(v: u64, bytes: u32, double: bool) -> u64 {
    let i = if bytes == 8 {
        v as i64
    } else {
        i64::from(v as u32 as i32)
    };
    if double {
        (i as f64).to_bits()
    } else {
        u64::from((i as f32).to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcp_and_rsqrt_within_the_sdm_bound() {
        // |relative error| <= 1.5 * 2^-12 on normal operands; the special cases exactly.
        let mut x = 1.0e-37f32;
        while x < 1.0e37 {
            for v in [x, -x] {
                let r = f64::from(f32::from_bits(approx(v.to_bits(), false)));
                let want = 1.0 / f64::from(v);
                assert!(((r - want) / want).abs() <= 1.5 / 4096.0, "rcp {v}: {r}");
            }
            let r = f64::from(f32::from_bits(approx(x.to_bits(), true)));
            let want = 1.0 / f64::from(x).sqrt();
            assert!(((r - want) / want).abs() <= 1.5 / 4096.0, "rsqrt {x}: {r}");
            x *= 1.37;
        }
        let b = |v: f32| v.to_bits();
        assert_eq!(approx(b(0.0), false), b(f32::INFINITY));
        assert_eq!(approx(b(-0.0), true), b(f32::NEG_INFINITY));
        assert_eq!(approx(1, false), b(f32::INFINITY), "subnormal as zero");
        assert_eq!(approx(b(f32::NEG_INFINITY), false), b(-0.0));
        assert_eq!(approx(b(f32::INFINITY), true), 0);
        assert_eq!(approx(b(-4.0), true), 0xffc0_0000, "default NaN");
        assert_eq!(approx(b(3.0e38), false), 0, "below 2^-126: flushed");
        assert_eq!(approx(0x7f80_0001, true), 0x7fc0_0001, "quieted");
    }

    #[test]
    fn conversions_follow_the_sdm() {
        assert_eq!(to_int(2.5f64.to_bits(), true, 4, false), 2);
        assert_eq!(to_int(3.5f64.to_bits(), true, 4, false), 4);
        assert_eq!(to_int((-2.7f64).to_bits(), true, 8, true), (-2i64) as u64);
        assert_eq!(to_int(f64::NAN.to_bits(), true, 4, true), 0x8000_0000);
        assert_eq!(to_int(1e10f64.to_bits(), true, 4, true), 0x8000_0000);
        assert_eq!(from_int(u64::MAX, 8, true), (-1.0f64).to_bits());
    }

    #[test]
    fn exponents_and_scaling() {
        assert_eq!(expo(1.0), 0);
        assert_eq!(expo(0.75), -1);
        assert_eq!(expo(f64::MIN_POSITIVE), -1022);
        assert_eq!(expo(f64::from_bits(1)), -1074);
        assert_eq!(scale(f64::from_bits(1), 1074), 1.0);
        // 1/3 is inexact, 1/4 exact; sqrt(2) inexact, sqrt(4) exact.
        assert_eq!(
            scalar(op::DIV << 2 | 1, 1f64.to_bits(), 3f64.to_bits()).1,
            mx::PE
        );
        assert_eq!(
            scalar(op::DIV << 2 | 1, 1f64.to_bits(), 4f64.to_bits()).1,
            0
        );
        assert_eq!(scalar(op::SQRT << 2 | 1, 0, 2f64.to_bits()).1, mx::PE);
        assert_eq!(scalar(op::SQRT << 2 | 1, 0, 4f64.to_bits()).1, 0);
    }

    #[test]
    fn ucomisd_unordered_sets_zf_pf_cf() {
        assert_eq!(
            compare(f64::NAN.to_bits(), 0, true),
            flags::ZF | flags::PF | flags::CF
        );
        assert_eq!(compare(1f64.to_bits(), 2f64.to_bits(), true), flags::CF);
    }
}
