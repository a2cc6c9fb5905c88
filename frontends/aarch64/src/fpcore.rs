//! Arm's floating-point arithmetic on single and double bit patterns, after the Arm ARM's
//! pseudocode (FPUnpack, FPProcessNaNs, FPRoundBase, FPAdd, FPMulAdd, FPToFixed...): every
//! FPCR rounding mode, FZ (inputs flushed with IDC, tiny outputs flushed with UFC), DN (default
//! NaN), and the FPSR cumulative flags IOC, DZC, OFC, UFC, IXC and IDC. Tininess is detected
//! before rounding, as Arm specifies. Values are exact `mantissa * 2^exponent` pairs in
//! integers until the one rounding; a low "sticky" bit stands for any bits shifted out.

use std::cmp::Ordering;

/// FPSR.IOC (invalid operation).
pub(crate) const IOC: u32 = 1 << 0;
/// FPSR.DZC (division by zero).
pub(crate) const DZC: u32 = 1 << 1;
/// FPSR.OFC (overflow).
pub(crate) const OFC: u32 = 1 << 2;
/// FPSR.UFC (underflow).
pub(crate) const UFC: u32 = 1 << 3;
/// FPSR.IXC (inexact).
pub(crate) const IXC: u32 = 1 << 4;
/// FPSR.IDC (input denormal flushed).
pub(crate) const IDC: u32 = 1 << 7;

/// FPCR.DN, FZ and RMode: when all clear the host's IEEE arithmetic rounds the same way.
pub(crate) const FPCR_MODE_BITS: u64 = 0x03c0_0000;

/// A rounding mode (FPCR.RMode's four, and the ones instructions name).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rnd {
    /// To nearest, ties to even.
    Even,
    /// Towards plus infinity.
    Up,
    /// Towards minus infinity.
    Down,
    /// Towards zero.
    Zero,
    /// To nearest, ties away from zero.
    Away,
    /// Round to odd (FCVTXN).
    Odd,
}

impl Rnd {
    /// The mode of FPCR.RMode (0 RN, 1 RP, 2 RM, 3 RZ).
    pub(crate) fn from_rmode(m: u64) -> Rnd {
        match m & 3 {
            0 => Rnd::Even,
            1 => Rnd::Up,
            2 => Rnd::Down,
            _ => Rnd::Zero,
        }
    }
}

/// The FP context of one instruction: FPCR in, FPSR cumulative flags out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fpc {
    /// FPCR.
    pub fpcr: u64,
    /// FPSR flag bits raised so far.
    pub flags: u32,
}

impl Fpc {
    pub(crate) fn new(fpcr: u64) -> Fpc {
        Fpc { fpcr, flags: 0 }
    }

    /// The FPCR rounding mode.
    pub(crate) fn rnd(&self) -> Rnd {
        Rnd::from_rmode(self.fpcr >> 22)
    }

    fn fz(&self) -> bool {
        self.fpcr & (1 << 24) != 0
    }

    fn dn(&self) -> bool {
        self.fpcr & (1 << 25) != 0
    }

    /// FPCR.AHP: half precision values are the Arm alternative format (no infinity or NaN).
    fn ahp(&self) -> bool {
        self.fpcr & (1 << 26) != 0
    }
}

/// Format parameters of an `es`-bit (16, 32 or 64) float. Half precision appears only in
/// conversions (FPUnpackCV/FPRoundCV): FPCR.FZ16 is read as zero and FPCR.AHP is observed.
#[derive(Clone, Copy)]
struct Fmt {
    frac: u32,
    ebits: u32,
}

impl Fmt {
    fn of(es: u32) -> Fmt {
        match es {
            64 => Fmt {
                frac: 52,
                ebits: 11,
            },
            16 => Fmt { frac: 10, ebits: 5 },
            _ => Fmt { frac: 23, ebits: 8 },
        }
    }
    fn bias(self) -> i32 {
        (1 << (self.ebits - 1)) - 1
    }
    fn emin(self) -> i32 {
        1 - self.bias()
    }
    fn emax_biased(self) -> u64 {
        (1 << self.ebits) - 1
    }
    fn sign_bit(self) -> u64 {
        1 << (self.frac + self.ebits)
    }
}

/// Operand classes after FPUnpack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Zero,
    Inf,
    QNaN,
    SNaN,
    /// Finite nonzero: `mant * 2^exp`.
    Num,
}

/// An unpacked operand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Un {
    pub kind: Kind,
    pub sign: bool,
    pub exp: i32,
    pub mant: u64,
}

impl Un {
    fn is_nan(&self) -> bool {
        matches!(self.kind, Kind::QNaN | Kind::SNaN)
    }
    fn inf(&self) -> bool {
        self.kind == Kind::Inf
    }
    fn zero(&self) -> bool {
        self.kind == Kind::Zero
    }
}

/// FPUnpack: classifies `x`; with FPCR.FZ a denormal reads as zero and raises IDC. A half
/// (`es` 16, conversions only) is never flushed, and with FPCR.AHP its top exponent is finite.
pub(crate) fn unpack(c: &mut Fpc, x: u64, es: u32) -> Un {
    let alt_hp = es == 16 && c.ahp();
    let f = Fmt::of(es);
    let sign = x & f.sign_bit() != 0;
    let e = (x >> f.frac) & f.emax_biased();
    let m = x & ((1u64 << f.frac) - 1);
    let (kind, exp, mant) = if e == 0 {
        if m == 0 {
            (Kind::Zero, 0, 0)
        } else if c.fz() && es != 16 {
            c.flags |= IDC;
            (Kind::Zero, 0, 0)
        } else {
            (Kind::Num, f.emin() - f.frac as i32, m)
        }
    } else if e == f.emax_biased() && !alt_hp {
        if m == 0 {
            (Kind::Inf, 0, 0)
        } else if m & (1 << (f.frac - 1)) != 0 {
            (Kind::QNaN, 0, 0)
        } else {
            (Kind::SNaN, 0, 0)
        }
    } else {
        (
            Kind::Num,
            e as i32 - f.bias() - f.frac as i32,
            m | (1 << f.frac),
        )
    };
    Un {
        kind,
        sign,
        exp,
        mant,
    }
}

pub(crate) fn zero(sign: bool, es: u32) -> u64 {
    if sign { Fmt::of(es).sign_bit() } else { 0 }
}

pub(crate) fn inf(sign: bool, es: u32) -> u64 {
    let f = Fmt::of(es);
    zero(sign, es) | (f.emax_biased() << f.frac)
}

pub(crate) fn default_nan(es: u32) -> u64 {
    let f = Fmt::of(es);
    inf(false, es) | (1 << (f.frac - 1))
}

/// `value` (exactly representable, sign given) as bits.
fn exact(sign: bool, v: f64, es: u32) -> u64 {
    let b = if es == 64 {
        v.to_bits()
    } else {
        u64::from((v as f32).to_bits())
    };
    b | zero(sign, es)
}

/// FPProcessNaN: a signalling NaN raises IOC and is quietened; DN gives the default NaN.
fn process_nan(c: &mut Fpc, x: u64, es: u32) -> u64 {
    let f = Fmt::of(es);
    let q = 1u64 << (f.frac - 1);
    if x & q == 0 {
        c.flags |= IOC;
    }
    if c.dn() { default_nan(es) } else { x | q }
}

/// FPProcessNaNs over operands in priority order: the first signalling NaN, else the first
/// quiet one.
fn process_nans(c: &mut Fpc, ops: &[(Un, u64)], es: u32) -> Option<u64> {
    if let Some((_, x)) = ops.iter().find(|(u, _)| u.kind == Kind::SNaN) {
        return Some(process_nan(c, *x, es));
    }
    let (_, x) = ops.iter().find(|(u, _)| u.kind == Kind::QNaN)?;
    Some(process_nan(c, *x, es))
}

fn msb(m: u128) -> i32 {
    127 - m.leading_zeros() as i32
}

/// Shifts right by `d`, ORing the bits shifted out into bit 0.
fn shr_jam(m: u128, d: u32) -> u128 {
    if d == 0 {
        m
    } else if d >= 127 {
        u128::from(m != 0)
    } else {
        (m >> d) | u128::from(m & ((1u128 << d) - 1) != 0)
    }
}

/// FPRoundBase: rounds `mant * 2^exp` (nonzero; bit 0 may be sticky, with the value's top bit
/// at least 3 above the rounding position) to an `es`-bit float with `rnd`.
pub(crate) fn round(c: &mut Fpc, sign: bool, exp: i32, mant: u128, es: u32, rnd: Rnd) -> u64 {
    let f = Fmt::of(es);
    let top = exp + msb(mant);
    if c.fz() && es != 16 && top < f.emin() {
        c.flags |= UFC;
        return zero(sign, es);
    }
    let lsb = top.max(f.emin()) - f.frac as i32;
    let sh = lsb - exp;
    let (mut q, rem, half) = if sh <= 0 {
        (mant << (-sh) as u32, 0u128, 1u128)
    } else if sh >= 128 {
        (0, mant, u128::MAX)
    } else {
        let sh = sh as u32;
        (mant >> sh, mant & ((1u128 << sh) - 1), 1u128 << (sh - 1))
    };
    // With sh >= 128 the value is far below half an ulp (rem < 2^128 / 2 ... by construction).
    let up = match rnd {
        Rnd::Even => rem > half || (rem == half && q & 1 == 1),
        Rnd::Away => rem >= half && rem != 0,
        Rnd::Up => rem != 0 && !sign,
        Rnd::Down => rem != 0 && sign,
        Rnd::Zero | Rnd::Odd => false,
    };
    if rnd == Rnd::Odd && rem != 0 {
        q |= 1;
    }
    q += u128::from(up);
    let mut lsb = lsb;
    if q >> (f.frac + 1) != 0 {
        q >>= 1;
        lsb += 1;
    }
    if top < f.emin() && rem != 0 {
        c.flags |= UFC;
    }
    let (biased, field) = if q >> f.frac != 0 {
        (
            (lsb + f.frac as i32 + f.bias()) as u64,
            q as u64 & ((1 << f.frac) - 1),
        )
    } else {
        (0, q as u64)
    };
    if es == 16 && c.ahp() {
        // Alternative half precision: exponent 31 is finite; beyond it is invalid, not inexact.
        if biased > f.emax_biased() {
            c.flags |= IOC;
            return zero(sign, es) | 0x7fff;
        }
    } else if biased >= f.emax_biased() {
        c.flags |= OFC | IXC;
        let to_inf = match rnd {
            Rnd::Even | Rnd::Away => true,
            Rnd::Up => !sign,
            Rnd::Down => sign,
            Rnd::Zero | Rnd::Odd => false,
        };
        return if to_inf {
            inf(sign, es)
        } else {
            inf(sign, es) - 1
        };
    }
    if rem != 0 {
        c.flags |= IXC;
    }
    zero(sign, es) | (biased << f.frac) | field
}

/// Rounds an exact sum (mant may be 0: the sign of an exact zero then follows the mode).
fn round_sum(c: &mut Fpc, sign: bool, exp: i32, mant: u128, es: u32) -> u64 {
    let rnd = c.rnd();
    if mant == 0 {
        return zero(rnd == Rnd::Down, es);
    }
    round(c, sign, exp, mant, es, rnd)
}

/// The exact sum of two signed `mant * 2^exp` values (mantissas below 2^126), as
/// (sign, exp, mant) with a sticky bit where needed.
fn add_exact(a: (bool, i32, u128), b: (bool, i32, u128)) -> (bool, i32, u128) {
    let norm = |(s, e, m): (bool, i32, u128)| {
        if m == 0 {
            return (s, i32::MIN / 4, 0);
        }
        let sh = 125 - msb(m);
        (s, e - sh, m << sh)
    };
    let (a, b) = (norm(a), norm(b));
    if b.2 == 0 {
        return a;
    }
    if a.2 == 0 {
        return b;
    }
    let (hi, lo) = if a.1 >= b.1 { (a, b) } else { (b, a) };
    let d = (hi.1 - lo.1) as u32;
    let lm = shr_jam(lo.2, d);
    if hi.0 == lo.0 {
        (hi.0, hi.1, hi.2 + lm)
    } else if hi.2 >= lm {
        (hi.0, hi.1, hi.2 - lm)
    } else {
        (lo.0, hi.1, lm - hi.2)
    }
}

/// FPAdd (FPSub when `neg_b`: the negation does not change a NaN operand).
pub(crate) fn add(c: &mut Fpc, x: u64, y: u64, es: u32, neg_b: bool) -> u64 {
    let (a, mut b) = (unpack(c, x, es), unpack(c, y, es));
    if let Some(n) = process_nans(c, &[(a, x), (b, y)], es) {
        return n;
    }
    b.sign ^= neg_b;
    if a.inf() && b.inf() && a.sign != b.sign {
        c.flags |= IOC;
        return default_nan(es);
    }
    if a.inf() || b.inf() {
        return inf(if a.inf() { a.sign } else { b.sign }, es);
    }
    if a.zero() && b.zero() && a.sign == b.sign {
        return zero(a.sign, es);
    }
    let (s, e, m) = add_exact(
        (a.sign, a.exp, u128::from(a.mant)),
        (b.sign, b.exp, u128::from(b.mant)),
    );
    round_sum(c, s, e, m, es)
}

/// FPMul, or FPMulX (infinity times zero is 2 with the product's sign) when `x_form`.
pub(crate) fn mul(c: &mut Fpc, x: u64, y: u64, es: u32, x_form: bool) -> u64 {
    let (a, b) = (unpack(c, x, es), unpack(c, y, es));
    if let Some(n) = process_nans(c, &[(a, x), (b, y)], es) {
        return n;
    }
    let s = a.sign ^ b.sign;
    if (a.inf() && b.zero()) || (a.zero() && b.inf()) {
        if x_form {
            return exact(s, 2.0, es);
        }
        c.flags |= IOC;
        return default_nan(es);
    }
    if a.inf() || b.inf() {
        return inf(s, es);
    }
    if a.zero() || b.zero() {
        return zero(s, es);
    }
    let rnd = c.rnd();
    round(
        c,
        s,
        a.exp + b.exp,
        u128::from(a.mant) * u128::from(b.mant),
        es,
        rnd,
    )
}

/// FPDiv.
pub(crate) fn div(c: &mut Fpc, x: u64, y: u64, es: u32) -> u64 {
    let (a, b) = (unpack(c, x, es), unpack(c, y, es));
    if let Some(n) = process_nans(c, &[(a, x), (b, y)], es) {
        return n;
    }
    let s = a.sign ^ b.sign;
    if (a.inf() && b.inf()) || (a.zero() && b.zero()) {
        c.flags |= IOC;
        return default_nan(es);
    }
    if a.inf() || b.zero() {
        if !a.inf() {
            c.flags |= DZC;
        }
        return inf(s, es);
    }
    if a.zero() || b.inf() {
        return zero(s, es);
    }
    // Mantissas normalised to 53 bits; the quotient then has 64 or 65 bits.
    let na = 52 - msb(u128::from(a.mant));
    let nb = 52 - msb(u128::from(b.mant));
    let num = u128::from(a.mant) << (na + 64);
    let den = u128::from(b.mant) << nb;
    let (q, r) = (num / den, num % den);
    let m = (q << 1) | u128::from(r != 0);
    let e = (a.exp - na - 64) - (b.exp - nb) - 1;
    let rnd = c.rnd();
    round(c, s, e, m, es, rnd)
}

fn isqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let e = (n as f64).sqrt() as u128;
    let mut x = e + (e >> 40) + 2; // above the root, so Newton's steps decrease
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            break;
        }
        x = y;
    }
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// FPSqrt.
pub(crate) fn sqrt(c: &mut Fpc, x: u64, es: u32) -> u64 {
    let a = unpack(c, x, es);
    if let Some(n) = process_nans(c, &[(a, x)], es) {
        return n;
    }
    if a.zero() {
        return zero(a.sign, es);
    }
    if a.sign {
        c.flags |= IOC;
        return default_nan(es);
    }
    if a.inf() {
        return inf(false, es);
    }
    // mant * 2^exp with an even exponent and the mantissa's top bit at 124 or 125.
    let mut sh = 124 - msb(u128::from(a.mant));
    if (a.exp - sh) % 2 != 0 {
        sh += 1;
    }
    let n = u128::from(a.mant) << sh;
    let r = isqrt(n);
    let m = (r << 1) | u128::from(r * r != n);
    let rnd = c.rnd();
    round(c, false, (a.exp - sh) / 2 - 1, m, es, rnd)
}

/// FPMulAdd: `addend + n * m` rounded once (callers negate operands for the subtracting
/// forms before calling, as the pseudocode does).
pub(crate) fn fma(c: &mut Fpc, addend: u64, x: u64, y: u64, es: u32) -> u64 {
    let (ad, a, b) = (unpack(c, addend, es), unpack(c, x, es), unpack(c, y, es));
    let inf_zero = (a.inf() && b.zero()) || (a.zero() && b.inf());
    let nan = process_nans(c, &[(ad, addend), (a, x), (b, y)], es);
    if ad.kind == Kind::QNaN && inf_zero {
        c.flags |= IOC;
        return default_nan(es);
    }
    if let Some(n) = nan {
        return n;
    }
    let sp = a.sign ^ b.sign;
    let inf_p = a.inf() || b.inf();
    let zero_p = a.zero() || b.zero();
    if inf_zero || (ad.inf() && inf_p && ad.sign != sp) {
        c.flags |= IOC;
        return default_nan(es);
    }
    if ad.inf() || inf_p {
        return inf(if ad.inf() { ad.sign } else { sp }, es);
    }
    if ad.zero() && zero_p && ad.sign == sp {
        return zero(ad.sign, es);
    }
    let p = if zero_p {
        0
    } else {
        u128::from(a.mant) * u128::from(b.mant)
    };
    let (s, e, m) = add_exact(
        (ad.sign, ad.exp, u128::from(ad.mant)),
        (sp, a.exp + b.exp, p),
    );
    round_sum(c, s, e, m, es)
}

/// FRECPS (`rsqrt` false: 2 - n*m) and FRSQRTS ((3 - n*m) / 2), fused.
pub(crate) fn step(c: &mut Fpc, x: u64, y: u64, es: u32, rsqrt: bool) -> u64 {
    let f = Fmt::of(es);
    let xn = x ^ f.sign_bit();
    let (a, b) = (unpack(c, xn, es), unpack(c, y, es));
    if let Some(n) = process_nans(c, &[(a, xn), (b, y)], es) {
        return n;
    }
    if (a.inf() && b.zero()) || (a.zero() && b.inf()) {
        return exact(false, if rsqrt { 1.5 } else { 2.0 }, es);
    }
    if a.inf() || b.inf() {
        return inf(a.sign ^ b.sign, es);
    }
    let p = if a.zero() || b.zero() {
        0
    } else {
        u128::from(a.mant) * u128::from(b.mant)
    };
    let k = if rsqrt { 3 } else { 2 };
    let (s, e, m) = add_exact((false, 0, k), (a.sign ^ b.sign, a.exp + b.exp, p));
    round_sum(c, s, e - i32::from(rsqrt), m, es)
}

/// FPMax/FPMin (`max`), or FPMaxNum/FPMinNum (`num`: a single quiet NaN loses).
pub(crate) fn minmax(c: &mut Fpc, x: u64, y: u64, es: u32, max: bool, num: bool) -> u64 {
    let (mut x, mut y) = (x, y);
    let (mut a, mut b) = (unpack(c, x, es), unpack(c, y, es));
    if num {
        let lose = inf(max, es); // -inf for max, +inf for min
        if a.kind == Kind::QNaN && b.kind != Kind::QNaN {
            x = lose;
            a = unpack(c, x, es);
        } else if a.kind != Kind::QNaN && b.kind == Kind::QNaN {
            y = lose;
            b = unpack(c, y, es);
        }
    }
    if let Some(n) = process_nans(c, &[(a, x), (b, y)], es) {
        return n;
    }
    let (va, vb) = (value(&a, x, es), value(&b, y, es));
    let pick_a = if max { va > vb } else { va < vb };
    let (p, pb) = if pick_a { (a, x) } else { (b, y) };
    match p.kind {
        Kind::Zero => zero(
            if max {
                a.sign && b.sign
            } else {
                a.sign || b.sign
            },
            es,
        ),
        Kind::Inf => inf(p.sign, es),
        _ => pb,
    }
}

/// An unpacked non-NaN operand `u` of bits `x` as f64 (exact for singles and doubles; a
/// flushed denormal reads as zero).
fn value(u: &Un, x: u64, es: u32) -> f64 {
    match u.kind {
        Kind::Zero => 0.0,
        _ if es == 64 => f64::from_bits(x),
        _ => f64::from(f32::from_bits(x as u32)),
    }
}

/// FPCompare: `None` when unordered. A NaN raises IOC when `signal`, a signalling NaN always.
pub(crate) fn compare(c: &mut Fpc, x: u64, y: u64, es: u32, signal: bool) -> Option<Ordering> {
    let (a, b) = (unpack(c, x, es), unpack(c, y, es));
    if a.is_nan() || b.is_nan() {
        if signal || a.kind == Kind::SNaN || b.kind == Kind::SNaN {
            c.flags |= IOC;
        }
        return None;
    }
    value(&a, x, es).partial_cmp(&value(&b, y, es))
}

/// The absolute value (FPAbs: no flags, no flushing).
pub(crate) fn abs(x: u64, es: u32) -> u64 {
    x & !Fmt::of(es).sign_bit()
}

/// Rounds to an integer magnitude: (q, any fraction, fraction >= half, fraction > half).
fn int_part(u: &Un, fbits: i32) -> (u128, bool, bool, bool) {
    let e = u.exp + fbits;
    let m = u128::from(u.mant);
    if e >= 0 {
        // Saturate far-too-large values (they overflow any destination).
        let q = if e > 70 { 1u128 << 120 } else { m << e };
        return (q, false, false, false);
    }
    let sh = (-e) as u32;
    if sh >= 120 {
        return (0, true, false, false);
    }
    let (q, rem) = (m >> sh, m & ((1u128 << sh) - 1));
    let half = 1u128 << (sh - 1);
    (q, rem != 0, rem >= half, rem > half)
}

fn round_up(q: u128, frac: bool, ge_half: bool, gt_half: bool, sign: bool, rnd: Rnd) -> bool {
    match rnd {
        Rnd::Even => gt_half || (ge_half && q & 1 == 1),
        Rnd::Away => ge_half,
        Rnd::Up => frac && !sign,
        Rnd::Down => frac && sign,
        Rnd::Zero | Rnd::Odd => false,
    }
}

/// FPToFixed: `x * 2^fbits` rounded by `rnd` to a `bits`-bit integer, saturating (IOC on
/// NaN or overflow, else IXC when inexact).
pub(crate) fn to_fixed(
    c: &mut Fpc,
    x: u64,
    es: u32,
    fbits: u32,
    bits: u32,
    signed: bool,
    rnd: Rnd,
) -> u64 {
    let u = unpack(c, x, es);
    let (q, frac, ge, gt) = match u.kind {
        Kind::QNaN | Kind::SNaN => {
            c.flags |= IOC;
            return 0;
        }
        Kind::Zero => (0, false, false, false),
        Kind::Inf => (1u128 << 120, false, false, false),
        Kind::Num => int_part(&u, fbits as i32),
    };
    let q = q + u128::from(round_up(q, frac, ge, gt, u.sign, rnd));
    let v: i128 = if u.sign { -(q as i128) } else { q as i128 };
    let (lo, hi) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    if v < lo || v > hi {
        c.flags |= IOC;
        return v.clamp(lo, hi) as u64 & mask;
    }
    if frac {
        c.flags |= IXC;
    }
    v as u64 & mask
}

/// FixedToFP: the integer `v` (sign and magnitude) divided by 2^fbits, rounded by `rnd`.
pub(crate) fn from_fixed(c: &mut Fpc, neg: bool, mag: u64, fbits: u32, es: u32, rnd: Rnd) -> u64 {
    if mag == 0 {
        return 0;
    }
    round(c, neg, -(fbits as i32), u128::from(mag), es, rnd)
}

/// FPRoundInt (FRINT*): raises IXC for an inexact result only when `exact` (FRINTX).
pub(crate) fn round_int(c: &mut Fpc, x: u64, es: u32, rnd: Rnd, exact: bool) -> u64 {
    let u = unpack(c, x, es);
    match u.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(c, x, es),
        Kind::Zero => return zero(u.sign, es),
        Kind::Inf => return inf(u.sign, es),
        Kind::Num => {}
    }
    let (q, frac, ge, gt) = int_part(&u, 0);
    let q = q + u128::from(round_up(q, frac, ge, gt, u.sign, rnd));
    if exact && frac {
        c.flags |= IXC;
    }
    if q == 0 {
        return zero(u.sign, es);
    }
    if u.exp >= 0 {
        return x; // already integral (and not flushed: it is normal)
    }
    // Exact: q fits the format's precision.
    let mut scratch = Fpc::new(0);
    round(&mut scratch, u.sign, 0, q, es, Rnd::Zero)
}

/// FPConvert between half, single and double (FCVT, FCVTN, FCVTL, FCVTXN with `Rnd::Odd`).
/// To a half with FPCR.AHP, a NaN gives zero and an infinity the largest value, both with IOC.
pub(crate) fn convert(c: &mut Fpc, x: u64, from: u32, to: u32, rnd: Rnd) -> u64 {
    let u = unpack(c, x, from);
    let alt_hp = to == 16 && c.ahp();
    match u.kind {
        Kind::QNaN | Kind::SNaN => {
            if u.kind == Kind::SNaN || alt_hp {
                c.flags |= IOC;
            }
            if alt_hp {
                return zero(u.sign, to);
            }
            if c.dn() {
                return default_nan(to);
            }
            let (ff, ft) = (Fmt::of(from), Fmt::of(to));
            let payload = x & ((1u64 << (ff.frac - 1)) - 1);
            let p = if ft.frac >= ff.frac {
                payload << (ft.frac - ff.frac)
            } else {
                payload >> (ff.frac - ft.frac)
            };
            default_nan(to) | p | zero(u.sign, to)
        }
        Kind::Zero => zero(u.sign, to),
        Kind::Inf if alt_hp => {
            c.flags |= IOC;
            zero(u.sign, to) | 0x7fff
        }
        Kind::Inf => inf(u.sign, to),
        Kind::Num => round(c, u.sign, u.exp, u128::from(u.mant), to, rnd),
    }
}

/// RecipEstimate: `a` in 256..512 (0.5 <= x < 1 in 1/512 steps) to 256..512 (1 <= r < 2).
fn recip_estimate(a: u64) -> u64 {
    let a = a * 2 + 1;
    let b = (1 << 19) / a;
    b.div_ceil(2)
}

/// RecipSqrtEstimate: `a` in 128..512 (0.25 <= x < 1) to 256..512.
fn rsqrt_estimate(a: u64) -> u64 {
    let a = if a < 256 {
        a * 2 + 1
    } else {
        (((a >> 1) << 1) + 1) * 2
    };
    let mut b = 512u64;
    while a * (b + 1) * (b + 1) < 1 << 28 {
        b += 1;
    }
    b.div_ceil(2)
}

/// The 52-bit fraction and biased exponent of a single or double, as the estimates scale them.
fn frac_exp(x: u64, es: u32) -> (u64, i64) {
    if es == 64 {
        (x & ((1 << 52) - 1), ((x >> 52) & 0x7ff) as i64)
    } else {
        ((x & ((1 << 23) - 1)) << 29, ((x >> 23) & 0xff) as i64)
    }
}

/// Packs sign, a biased exponent and a 52-bit fraction into an `es`-bit float.
fn pack52(sign: bool, exp: i64, frac: u64, es: u32) -> u64 {
    let f = Fmt::of(es);
    zero(sign, es) | ((exp as u64) << f.frac) | (frac >> (52 - f.frac))
}

/// FPRecipEstimate (FRECPE).
pub(crate) fn recpe(c: &mut Fpc, x: u64, es: u32) -> u64 {
    let u = unpack(c, x, es);
    match u.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(c, x, es),
        Kind::Inf => return zero(u.sign, es),
        Kind::Zero => {
            c.flags |= DZC;
            return inf(u.sign, es);
        }
        Kind::Num => {}
    }
    let f = Fmt::of(es);
    let top = u.exp + msb(u128::from(u.mant)); // value in [2^top, 2^(top+1))
    if top < -f.bias() - 1 {
        // |x| < 2^-128 (single) or 2^-1024 (double): the reciprocal overflows.
        let to_inf = match c.rnd() {
            Rnd::Up => !u.sign,
            Rnd::Down => u.sign,
            Rnd::Zero => false,
            _ => true,
        };
        c.flags |= OFC | IXC;
        return if to_inf {
            inf(u.sign, es)
        } else {
            inf(u.sign, es) - 1
        };
    }
    if c.fz() && top >= f.bias() - 1 {
        c.flags |= UFC;
        return zero(u.sign, es);
    }
    let (mut frac, mut exp) = frac_exp(x, es);
    if exp == 0 {
        if frac >> 51 == 0 {
            exp = -1;
            frac = (frac << 2) & ((1 << 52) - 1);
        } else {
            frac = (frac << 1) & ((1 << 52) - 1);
        }
    }
    let scaled = 256 | (frac >> 44);
    let mut rexp = 2 * i64::from(f.bias()) - 1 - exp;
    let est = recip_estimate(scaled);
    let mut frac = (est & 0xff) << 44;
    if rexp == 0 {
        frac = (1 << 51) | (frac >> 1);
    } else if rexp == -1 {
        frac = (1 << 50) | (frac >> 2);
        rexp = 0;
    }
    pack52(u.sign, rexp, frac, es)
}

/// FPRSqrtEstimate (FRSQRTE).
pub(crate) fn rsqrte(c: &mut Fpc, x: u64, es: u32) -> u64 {
    let u = unpack(c, x, es);
    match u.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(c, x, es),
        Kind::Zero => {
            c.flags |= DZC;
            return inf(u.sign, es);
        }
        _ if u.sign => {
            c.flags |= IOC;
            return default_nan(es);
        }
        Kind::Inf => return zero(false, es),
        Kind::Num => {}
    }
    let f = Fmt::of(es);
    let (mut frac, mut exp) = frac_exp(x, es);
    if exp == 0 {
        while frac >> 51 == 0 {
            frac = (frac << 1) & ((1 << 52) - 1);
            exp -= 1;
        }
        frac = (frac << 1) & ((1 << 52) - 1);
    }
    // An odd biased exponent scales to [0.25, 0.5), an even one to [0.5, 1).
    let scaled = if exp & 1 == 1 {
        0x80 | (frac >> 45)
    } else {
        0x100 | (frac >> 44)
    };
    let rexp = (3 * i64::from(f.bias()) - 1 - exp).div_euclid(2);
    let est = rsqrt_estimate(scaled);
    pack52(false, rexp, (est & 0xff) << 44, es)
}

/// FPRecpX (FRECPX): the exponent inverted, fraction cleared.
pub(crate) fn recpx(c: &mut Fpc, x: u64, es: u32) -> u64 {
    let u = unpack(c, x, es);
    if u.is_nan() {
        return process_nan(c, x, es);
    }
    let f = Fmt::of(es);
    let e = (x >> f.frac) & f.emax_biased();
    let r = if e == 0 {
        f.emax_biased() - 1
    } else {
        !e & f.emax_biased()
    };
    zero(u.sign, es) | (r << f.frac)
}

/// URECPE on a 32-bit lane.
pub(crate) fn urecpe(x: u64) -> u64 {
    if x & (1 << 31) == 0 {
        return 0xffff_ffff;
    }
    recip_estimate((x >> 23) & 0x1ff) << 23
}

/// URSQRTE on a 32-bit lane.
pub(crate) fn ursqrte(x: u64) -> u64 {
    if x >> 30 == 0 {
        return 0xffff_ffff;
    }
    rsqrt_estimate((x >> 23) & 0x1ff) << 23
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: &mut Fpc, f: impl Fn(&mut Fpc) -> u64) -> f64 {
        f64::from_bits(f(c))
    }

    #[test]
    fn nearest_matches_host_on_ordinary_values() {
        let vals = [
            1.0f64,
            -3.5,
            0.1,
            1e300,
            -1e-300,
            4.9e-324,
            2.2250738585072014e-308,
            123456.789,
            f64::MAX,
            1.0 / 3.0,
        ];
        for &a in &vals {
            for &b in &vals {
                let mut c = Fpc::new(0);
                let (x, y) = (a.to_bits(), b.to_bits());
                assert_eq!(d(&mut c, |c| add(c, x, y, 64, false)), a + b);
                assert_eq!(d(&mut c, |c| add(c, x, y, 64, true)), a - b);
                assert_eq!(d(&mut c, |c| mul(c, x, y, 64, false)), a * b);
                assert_eq!(d(&mut c, |c| div(c, x, y, 64)), a / b, "{a} / {b}");
                assert_eq!(
                    d(&mut c, |c| fma(c, y, x, y, 64)),
                    a.mul_add(b, b),
                    "fma {a} {b}"
                );
                let (sa, sb) = (a as f32, b as f32);
                let (xs, ys) = (u64::from(sa.to_bits()), u64::from(sb.to_bits()));
                // (The host's default NaN is negative: NaN results are not compared.)
                let host = [sa + sb, sa * sb, sa / sb].map(|v| (!v.is_nan()).then(|| v.to_bits()));
                let ours = [
                    add(&mut c, xs, ys, 32, false),
                    mul(&mut c, xs, ys, 32, false),
                    div(&mut c, xs, ys, 32),
                ];
                for (h, o) in host.iter().zip(ours) {
                    if let Some(h) = h {
                        assert_eq!(o, u64::from(*h), "{sa} {sb}");
                    }
                }
            }
            let mut c = Fpc::new(0);
            assert_eq!(
                d(&mut c, |c| sqrt(c, a.abs().to_bits(), 64)),
                a.abs().sqrt()
            );
        }
    }

    #[test]
    fn flags_and_modes() {
        let mut c = Fpc::new(0);
        add(&mut c, 1f64.to_bits(), 1e-30f64.to_bits(), 64, false);
        assert_eq!(c.flags, IXC);
        let mut c = Fpc::new(0);
        assert_eq!(
            mul(&mut c, f64::MAX.to_bits(), 2f64.to_bits(), 64, false),
            f64::INFINITY.to_bits()
        );
        assert_eq!(c.flags, OFC | IXC);
        let mut c = Fpc::new(3 << 22);
        assert_eq!(
            mul(&mut c, f64::MAX.to_bits(), 2f64.to_bits(), 64, false),
            f64::MAX.to_bits()
        );
        let mut c = Fpc::new(1 << 22);
        assert_eq!(
            f64::from_bits(div(&mut c, 1f64.to_bits(), 3f64.to_bits(), 64)),
            f64::from_bits((1.0f64 / 3.0).to_bits() + 1)
        );
        let mut c = Fpc::new(1 << 24);
        assert_eq!(
            mul(&mut c, 1e-200f64.to_bits(), 1e-200f64.to_bits(), 64, false),
            0
        );
        assert_eq!(c.flags, UFC);
        let mut c = Fpc::new(0);
        div(&mut c, 1f64.to_bits(), 0, 64);
        assert_eq!(c.flags, DZC);
        let mut c = Fpc::new(0);
        assert_eq!(
            to_fixed(&mut c, (-0.5f64).to_bits(), 64, 0, 32, false, Rnd::Zero),
            0
        );
        assert_eq!(c.flags, IXC);
        to_fixed(&mut c, (-1.5f64).to_bits(), 64, 0, 32, false, Rnd::Zero);
        assert_eq!(c.flags, IXC | IOC);
        let mut c = Fpc::new(0);
        assert_eq!(
            to_fixed(&mut c, 3e9f64.to_bits(), 64, 0, 32, true, Rnd::Zero),
            0x7fff_ffff
        );
        assert_eq!(c.flags, IOC);
    }
}
