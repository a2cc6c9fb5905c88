//! The x87 transcendental instructions at full extended precision, in software: values are
//! carried as 128-bit significands ([`B`], truncating arithmetic, about 120 correct bits after
//! a series) and rounded once to the 64-bit significand under the control word's rounding
//! mode (the precision control does not apply, as on hardware). fsin, fcos, fsincos and fptan
//! reduce their argument modulo π/2 exactly with the hardware's 66-bit π (so sin(fldpi) is
//! -2^-64, as this host's FPU gives), then evaluate on the reduced argument.

use super::{EXT, F80, INDEFINITE, nan2, round, sw};

/// `m × 2^(e - 127)` with `m` normalized (bit 127 set) or zero.
#[derive(Clone, Copy, Debug)]
struct B {
    s: bool,
    m: u128,
    e: i32,
}

const ZERO: B = B {
    s: false,
    m: 0,
    e: 0,
};
/// ln 2, log2(e), π (rounded to 128 bits).
const LN2: B = B {
    s: false,
    m: 0xb172_17f7_d1cf_79ab_c9e3_b398_03f2_f6af,
    e: -1,
};
const LOG2E: B = B {
    s: false,
    m: 0xb8aa_3b29_5c17_f0bb_be87_fed0_691d_3e89,
    e: 0,
};
const PI: B = B {
    s: false,
    m: 0xc90f_daa2_2168_c234_c4c6_628b_80dc_1cd1,
    e: 1,
};
/// atan(k/16), k = 1..16.
const ATAN: [(u128, i32); 16] = [
    (0xffaa_ddb9_67ef_4e36_cb27_92dc_0e2e_0d51, -5),
    (0xfead_d4d5_617b_6e32_c897_989f_3e88_8ef8, -4),
    (0xbdcb_da5e_72d8_1134_7b0b_4f88_1c9c_7488, -3),
    (0xfadb_afc9_6406_eb15_6dc7_9ef5_f7a2_17e6, -3),
    (0x9b13_b9b8_3f5e_5e69_c5ab_b498_d27a_f328, -2),
    (0xb7b0_ca0f_26f7_8473_8aa3_2122_dcfe_4483, -2),
    (0xd327_761e_611f_e5b6_427c_95e9_001e_7136, -2),
    (0xed63_382b_0dda_7b45_6fe4_45ec_bc3a_8d03, -2),
    (0x832b_f4a6_d986_7e2a_4b6a_09cb_61a5_15c1, -1),
    (0x8f00_5d5e_f7f5_9f9b_5c83_5e16_65c4_3748, -1),
    (0x9a2f_80e6_71bd_da20_4226_f8e2_204f_f3bd, -1),
    (0xa4bc_7d19_34f7_0924_19a8_7f2a_457d_ac9f, -1),
    (0xaeac_4c38_b4d8_c080_1472_5e2f_3e52_070a, -1),
    (0xb805_3e2b_c231_9e73_cb2d_a552_10a4_443d, -1),
    (0xc0ce_85b8_ac52_6640_89dd_62c4_6e92_fa25, -1),
    (0xc90f_daa2_2168_c234_c4c6_628b_80dc_1cd1, -1),
];
/// The hardware's π/2 for the argument reduction: `PI66 × 2^-65` (π rounded to 66 bits).
const PI66: u128 = (0xc90f_daa2_2168_c234 << 2) | 3;

fn mul128(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0, b1, b0) = (a >> 64, a & M, b >> 64, b & M);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, (mid << 64) | (p00 & M))
}

impl B {
    fn new(s: bool, m: u128, e: i32) -> B {
        if m == 0 {
            return ZERO;
        }
        let lz = m.leading_zeros();
        B {
            s,
            m: m << lz,
            e: e - lz as i32,
        }
    }
    fn int(v: i64) -> B {
        B::new(v < 0, u128::from(v.unsigned_abs()), 127)
    }
    fn f80(a: F80) -> B {
        if a.is_zero() {
            return B {
                s: a.sign(),
                ..ZERO
            };
        }
        let (m, e) = a.unpack();
        B::new(a.sign(), u128::from(m) << 64, e + 63)
    }
    fn is_zero(self) -> bool {
        self.m == 0
    }
    fn neg(self) -> B {
        B { s: !self.s, ..self }
    }
    fn abs(self) -> B {
        B { s: false, ..self }
    }
    fn mul(self, o: B) -> B {
        if self.is_zero() || o.is_zero() {
            return ZERO;
        }
        let (hi, lo) = mul128(self.m, o.m);
        let hi = if hi >> 127 == 0 {
            (hi << 1) | (lo >> 127)
        } else {
            return B {
                s: self.s != o.s,
                m: hi,
                e: self.e + o.e + 1,
            };
        };
        B {
            s: self.s != o.s,
            m: hi,
            e: self.e + o.e,
        }
    }
    fn div(self, o: B) -> B {
        if self.is_zero() {
            return ZERO;
        }
        let (mut r, mut q, mut carry) = (self.m, 0u128, false);
        for _ in 0..128 {
            q <<= 1;
            if carry || r >= o.m {
                r = r.wrapping_sub(o.m);
                q |= 1;
            }
            carry = r >> 127 != 0;
            r <<= 1;
        }
        B::new(self.s != o.s, q, self.e - o.e)
    }
    fn add(self, o: B) -> B {
        if o.is_zero() {
            return self;
        }
        if self.is_zero() {
            return o;
        }
        let (a, b) = if (self.e, self.m) >= (o.e, o.m) {
            (self, o)
        } else {
            (o, self)
        };
        let d = (a.e - b.e) as u32;
        let bm = if d >= 128 { 0 } else { b.m >> d };
        if a.s == b.s {
            let (m, c) = a.m.overflowing_add(bm);
            if c {
                B {
                    s: a.s,
                    m: (m >> 1) | (1 << 127),
                    e: a.e + 1,
                }
            } else {
                B { s: a.s, m, e: a.e }
            }
        } else {
            B::new(a.s, a.m - bm, a.e)
        }
    }
    fn sub(self, o: B) -> B {
        self.add(o.neg())
    }
    /// Whether `t` no longer changes a sum of magnitude about `sum`.
    fn negligible(t: B, sum: B) -> bool {
        t.is_zero() || t.e < sum.e - 130
    }
    /// Rounded to extended precision (inexact) under rounding control `rc`.
    fn round(self, rc: u64) -> (F80, u64) {
        let r = round(self.s, self.m, self.e - 127, true, EXT, rc);
        (r.to80(EXT), r.flags)
    }
    /// Rounded where the value is exact.
    fn round_exact(self, rc: u64) -> (F80, u64) {
        if self.is_zero() {
            return (F80::zero(self.s), 0);
        }
        let r = round(self.s, self.m, self.e - 127, false, EXT, rc);
        (r.to80(EXT), r.flags)
    }
}

/// e^y - 1 for |y| below about 1.
fn expm1(y: B) -> B {
    let (mut sum, mut term) = (y, y);
    for n in 2..200 {
        term = term.mul(y).div(B::int(n));
        if B::negligible(term, sum) {
            break;
        }
        sum = sum.add(term);
    }
    sum
}

/// atanh(t) = t + t³/3 + t⁵/5 + … for small |t|.
fn atanh(t: B) -> B {
    let t2 = t.mul(t);
    let (mut sum, mut p) = (t, t);
    for k in (3..400).step_by(2) {
        p = p.mul(t2);
        let term = p.div(B::int(k));
        if B::negligible(term, sum) {
            break;
        }
        sum = sum.add(term);
    }
    sum
}

/// atan(t) = t - t³/3 + t⁵/5 - … for small |t|.
fn atan_series(t: B) -> B {
    let t2 = t.mul(t).neg();
    let (mut sum, mut p) = (t, t);
    for k in (3..400).step_by(2) {
        p = p.mul(t2);
        let term = p.div(B::int(k));
        if B::negligible(term, sum) {
            break;
        }
        sum = sum.add(term);
    }
    sum
}

/// atan(z) for 0 <= z <= 1: atan(k/16) + atan((z - k/16) / (1 + z k/16)).
fn atan01(z: B) -> B {
    let k = if z.is_zero() {
        0
    } else {
        // z × 16 rounded to the nearest integer.
        // z × 32, truncated, then halved with rounding.
        let sh = 122 - z.e;
        let v = if sh >= 128 { 0 } else { z.m >> sh };
        ((v + 1) >> 1).min(16) as i64
    };
    if k == 0 {
        return atan_series(z);
    }
    let c = B::int(k).div(B::int(16));
    let t = z.sub(c).div(B::int(1).add(z.mul(c)));
    let (m, e) = ATAN[k as usize - 1];
    B { s: false, m, e }.add(atan_series(t))
}

/// sin(r) and cos(r) for |r| <= π/4.
fn sincos(r: B) -> (B, B) {
    let r2 = r.mul(r).neg();
    let (mut s, mut ts) = (r, r);
    let (mut c, mut tc) = (B::int(1), B::int(1));
    for n in 1..100i64 {
        ts = ts.mul(r2).div(B::int((2 * n) * (2 * n + 1)));
        tc = tc.mul(r2).div(B::int((2 * n - 1) * (2 * n)));
        let (ds, dc) = (B::negligible(ts, s), B::negligible(tc, c));
        if !ds {
            s = s.add(ts);
        }
        if !dc {
            c = c.add(tc);
        }
        if ds && dc {
            break;
        }
    }
    (s, c)
}

/// `a` (finite, |a| < 2^63) reduced modulo the hardware's π/2: (r, quadrant), with
/// |r| <= π/4 (in 66-bit π terms) and a = r + quadrant × π/2 (mod 2π).
fn reduce(a: F80) -> (B, u32) {
    if a.is_zero() || a.exp() < 16383 - 1 {
        return (B::f80(a), 0);
    }
    // |a| = m × 2^e; in units of 2^-65: n = m × 2^(e + 65), 0 <= e + 65 < 65.
    let (m, e) = a.unpack();
    let sh = (e + 65) as u32;
    let (mut rem, mut q) = (0u128, 0u64);
    for bit in (0..64 + sh).rev() {
        let b = if bit >= sh { (m >> (bit - sh)) & 1 } else { 0 };
        rem = (rem << 1) | u128::from(b);
        q <<= 1;
        if rem >= PI66 {
            rem -= PI66;
            q |= 1;
        }
    }
    // Nearest multiple: a remainder above half of π/2 counts from the next one.
    let (r, q) = if 2 * rem > PI66 {
        (B::new(true, PI66 - rem, 127 - 65), q.wrapping_add(1))
    } else {
        (B::new(false, rem, 127 - 65), q)
    };
    let q = (q & 3) as u32;
    if a.sign() {
        (r.neg(), (4 - q) & 3)
    } else {
        (r, q)
    }
}

/// sin and cos of `a` (finite, in range).
fn sin_cos(a: F80) -> (B, B) {
    let (r, q) = reduce(a);
    let (s, c) = sincos(r);
    match q {
        0 => (s, c),
        1 => (c, s.neg()),
        2 => (s.neg(), c.neg()),
        _ => (c.neg(), s),
    }
}

fn denormal(a: F80) -> u64 {
    if a.is_denormal() { sw::DE } else { 0 }
}

/// f2xm1: 2^a - 1. Beyond its range (|a| > 1) this host's FPU leaves st(0) as it is: so
/// does this.
pub(super) fn f2xm1(a: F80, rc: u64) -> (F80, u64) {
    if !a.is_nan() && !a.is_inf() && (a.exp() > 16383 || (a.exp() == 16383 && a.m != 1 << 63)) {
        return (a, 0);
    }
    if a.is_nan() {
        return (a.quiet(), if a.is_snan() { sw::IE } else { 0 });
    }
    if a.is_inf() {
        return if a.sign() {
            (F80::one().neg(), 0)
        } else {
            (a, 0)
        };
    }
    if a.is_zero() {
        return (a, 0);
    }
    let (r, f) = expm1(B::f80(a).mul(LN2)).round(rc);
    (r, f | denormal(a))
}

/// What a finite or infinite logarithm came to.
enum Log {
    Finite(B, bool),
    Inf(bool),
    Zero,
}

/// y × log: the product rules (∞ × 0 invalid), exact when the logarithm is.
fn times(y: F80, l: Log, rc: u64) -> (F80, u64) {
    let dy = denormal(y);
    match l {
        Log::Inf(s) => {
            if y.is_zero() {
                (INDEFINITE, sw::IE)
            } else {
                (F80::inf(s != y.sign()), dy)
            }
        }
        Log::Zero => {
            if y.is_inf() {
                (INDEFINITE, sw::IE)
            } else {
                (F80::zero(y.sign()), dy)
            }
        }
        Log::Finite(b, exact) => {
            if y.is_inf() {
                (F80::inf(b.s != y.sign()), 0)
            } else if y.is_zero() {
                (F80::zero(b.s != y.sign()), 0)
            } else {
                let p = B::f80(y).mul(b);
                let (r, f) = if exact {
                    p.round_exact(rc)
                } else {
                    p.round(rc)
                };
                (r, f | dy)
            }
        }
    }
}

/// fyl2x: y × log2(x).
pub(super) fn fyl2x(x: F80, y: F80, rc: u64) -> (F80, u64) {
    if let Some(r) = nan2(x, y) {
        return r;
    }
    if x.sign() && !x.is_zero() {
        return (INDEFINITE, sw::IE);
    }
    if x.is_zero() {
        let (r, f) = times(y, Log::Inf(true), rc);
        let ze = if y.is_zero() || y.is_inf() { 0 } else { sw::ZE };
        return (r, f | ze);
    }
    if x.is_inf() {
        return times(y, Log::Inf(false), rc);
    }
    // x = m × 2^e with m in [√½, √2): log2 x = e + 2 atanh((m - 1)/(m + 1)) / ln 2.
    let (m, e) = x.unpack();
    let (mut mb, mut e) = (B::new(false, u128::from(m) << 64, 0), e + 63);
    // √2 = 1.6a09e667f3bcc908…
    if m > 0xb504_f333_f9de_6484 {
        mb.e -= 1;
        e += 1;
    }
    let one = B::int(1);
    let t = mb.sub(one).div(mb.add(one));
    let eb = B::int(i64::from(e));
    let l = if t.is_zero() {
        if e == 0 {
            Log::Zero
        } else {
            Log::Finite(eb, true)
        }
    } else {
        let ln = atanh(t);
        Log::Finite(eb.add(ln.add(ln).mul(LOG2E)), false)
    };
    let (r, f) = times(y, l, rc);
    (r, f | denormal(x))
}

/// fyl2xp1: y × log2(x + 1).
pub(super) fn fyl2xp1(x: F80, y: F80, rc: u64) -> (F80, u64) {
    if let Some(r) = nan2(x, y) {
        return r;
    }
    let xb = B::f80(x);
    if x.sign() && !x.is_inf() && xb.e >= 0 {
        // At or below -1 (out of range) this host's FPU gives st(0) itself: so does this.
        return (x, 0);
    }
    if x.is_inf() {
        return (INDEFINITE, sw::IE);
    }
    let l = if x.is_zero() {
        // log2(1 ± 0) = ±0: y × ±0.
        if y.is_inf() {
            return (INDEFINITE, sw::IE);
        }
        return (F80::zero(x.sign() != y.sign()), denormal(y));
    } else {
        let t = xb.div(B::int(2).add(xb));
        let ln = atanh(t);
        Log::Finite(ln.add(ln).mul(LOG2E), false)
    };
    let (r, f) = times(y, l, rc);
    (r, f | denormal(x))
}

/// fpatan: atan2(y, x), in (-π, π].
pub(super) fn fpatan(x: F80, y: F80, rc: u64) -> (F80, u64) {
    if let Some(r) = nan2(x, y) {
        return r;
    }
    let d = denormal(x) | denormal(y);
    let quarter = |k: i64| PI.mul(B::int(k)).div(B::int(4));
    let signed = |b: B| if y.sign() { b.neg() } else { b };
    let v = if y.is_zero() {
        if x.sign() {
            signed(PI)
        } else {
            return (F80::zero(y.sign()), d);
        }
    } else if y.is_inf() {
        signed(match (x.is_inf(), x.sign()) {
            (true, false) => quarter(1),
            (true, true) => quarter(3),
            _ => quarter(2),
        })
    } else if x.is_zero() {
        signed(quarter(2))
    } else if x.is_inf() {
        if x.sign() {
            signed(PI)
        } else {
            return (F80::zero(y.sign()), d);
        }
    } else {
        let (a, b) = (B::f80(y).abs(), B::f80(x).abs());
        let r = if (a.e, a.m) <= (b.e, b.m) {
            atan01(a.div(b))
        } else {
            quarter(2).sub(atan01(b.div(a)))
        };
        let r = if x.sign() { PI.sub(r) } else { r };
        signed(r)
    };
    let (r, f) = v.round(rc);
    (r, f | d)
}

/// fsin, fcos, fsincos, fptan of a finite in-range `a` (`k`: 12 sin, 13 cos, 14 both: (sin,
/// cos), 15 tan: (tan, 1)); infinities give the invalid indefinite. The second value is for
/// the push.
pub(super) fn trig(k: u64, a: F80, rc: u64) -> (F80, Option<F80>, u64) {
    let second = |v: F80| if k >= 14 { Some(v) } else { None };
    if a.is_nan() {
        let v = a.quiet();
        let f = if a.is_snan() { sw::IE } else { 0 };
        return (v, second(v), f);
    }
    if a.is_inf() {
        return (INDEFINITE, second(INDEFINITE), sw::IE);
    }
    if a.is_zero() {
        return match k {
            13 => (F80::one(), None, 0),
            14 => (a, Some(F80::one()), 0),
            15 => (a, Some(F80::one()), 0),
            _ => (a, None, 0),
        };
    }
    let d = denormal(a);
    let (s, c) = sin_cos(a);
    match k {
        12 => {
            let (r, f) = s.round(rc);
            (r, None, f | d)
        }
        13 => {
            let (r, f) = c.round(rc);
            (r, None, f | d)
        }
        14 => {
            let (rs, fs) = s.round(rc);
            let (rc_, fc) = c.round(rc);
            (rs, Some(rc_), fs | fc | d)
        }
        _ => {
            let (r, f) = s.div(c).round(rc);
            (r, Some(F80::one()), f | d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_round_to_the_fldxx_values() {
        assert_eq!(PI.round(0).0.m, 0xc90f_daa2_2168_c235);
        assert_eq!(LN2.round(0).0.m, 0xb172_17f7_d1cf_79ac);
        assert_eq!(LOG2E.round(0).0.m, 0xb8aa_3b29_5c17_f0bc);
        // atan(1) = π/4.
        assert_eq!(atan01(B::int(1)).round(0).0, PI.div(B::int(4)).round(0).0);
    }

    #[test]
    fn sin_of_fldpi_is_the_66_bit_pi_residue() {
        let pi = F80 {
            se: 0x4000,
            m: 0xc90f_daa2_2168_c235,
        };
        let (r, _, _) = trig(12, pi, 0);
        // -(2^-64), as the hardware gives.
        assert_eq!(
            r,
            F80 {
                se: 0x8000 | (16383 - 64),
                m: 1 << 63
            }
        );
    }
}
