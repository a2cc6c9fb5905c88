//! The exact ("soft") arithmetic: add, multiply, divide, square root, fused multiply-add.
//! Each computes the exact result (or a sticky-bit stand-in) and rounds once.

use super::pack::{
    Class, Unpacked, nan_result, round_pack64, round_pack128, shr_jam64, shr_jam128, unpack,
};
use super::{DZ, Fmt, NV};

const RDN: u8 = 2;

/// The sign of an exact zero sum of operands of different signs (IEEE 754 6.3): +0 except
/// when rounding down.
fn zero_sum_sign(rm: u8) -> bool {
    rm == RDN
}

/// `a + b`, exactly rounded.
pub fn add(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    let (x, y) = (unpack(f, a), unpack(f, b));
    add_unpacked(f, x, y, a, b, rm)
}

/// `a - b`, exactly rounded.
pub fn sub(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    let b = b ^ f.sign_bit();
    add(f, a, b, rm)
}

/// `a` and `b` are the encodings of `x` and `y`, returned as-is when the other is zero.
fn add_unpacked(f: Fmt, x: Unpacked, y: Unpacked, a: u64, b: u64, rm: u8) -> (u64, u8) {
    use Class::*;
    match (x.class, y.class) {
        (QNan | SNan, _) | (_, QNan | SNan) => nan_result(f, &[x, y]),
        (Inf, Inf) if x.sign != y.sign => (f.canonical_nan(), NV),
        (Inf, _) => (f.inf(x.sign), 0),
        (_, Inf) => (f.inf(y.sign), 0),
        (Zero, Zero) => {
            let sign = if x.sign == y.sign {
                x.sign
            } else {
                zero_sum_sign(rm)
            };
            (f.zero(sign), 0)
        }
        (Zero, _) => (b & f.width_mask(), 0),
        (_, Zero) => (a & f.width_mask(), 0),
        (Finite, Finite) => add_finite(f, x, y, rm),
    }
}

fn add_finite(f: Fmt, x: Unpacked, y: Unpacked, rm: u8) -> (u64, u8) {
    // Order by magnitude so the difference below is never negative.
    let (x, y) = if (x.exp, x.sig) >= (y.exp, y.sig) {
        (x, y)
    } else {
        (y, x)
    };
    // One bit of headroom for the carry; at least 10 bits below the significand of either
    // format stay as guard bits, so jamming cannot disturb the rounding.
    let mx = x.sig >> 1;
    let my = shr_jam64(y.sig >> 1, (x.exp - y.exp) as u32);
    let m = if x.sign == y.sign { mx + my } else { mx - my };
    if m == 0 {
        return (f.zero(zero_sum_sign(rm)), 0);
    }
    round_pack64(f, x.sign, x.exp - 62, m, rm)
}

/// `a * b`, exactly rounded.
pub fn mul(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    use Class::*;
    let (x, y) = (unpack(f, a), unpack(f, b));
    let sign = x.sign != y.sign;
    match (x.class, y.class) {
        (QNan | SNan, _) | (_, QNan | SNan) => nan_result(f, &[x, y]),
        (Inf, Zero) | (Zero, Inf) => (f.canonical_nan(), NV),
        (Inf, _) | (_, Inf) => (f.inf(sign), 0),
        (Zero, _) | (_, Zero) => (f.zero(sign), 0),
        (Finite, Finite) => {
            let p = u128::from(x.sig) * u128::from(y.sig);
            round_pack128(f, sign, x.exp + y.exp - 126, p, rm)
        }
    }
}

/// `a / b`, exactly rounded.
pub fn div(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    use Class::*;
    let (x, y) = (unpack(f, a), unpack(f, b));
    let sign = x.sign != y.sign;
    match (x.class, y.class) {
        (QNan | SNan, _) | (_, QNan | SNan) => nan_result(f, &[x, y]),
        (Inf, Inf) | (Zero, Zero) => (f.canonical_nan(), NV),
        (Inf, _) => (f.inf(sign), 0),
        (_, Inf) | (Zero, _) => (f.zero(sign), 0),
        (Finite, Zero) => (f.inf(sign), DZ),
        (Finite, Finite) => {
            // q = floor(x.sig * 2^64 / y.sig) has 64 or 65 bits; the remainder is sticky.
            let num = u128::from(x.sig) << 64;
            let den = u128::from(y.sig);
            let (q, r) = (num / den, num % den);
            let m = (q << 1) | u128::from(r != 0);
            round_pack128(f, sign, x.exp - y.exp - 65, m, rm)
        }
    }
}

/// `sqrt(a)`, exactly rounded.
pub fn sqrt(f: Fmt, a: u64, rm: u8) -> (u64, u8) {
    let x = unpack(f, a);
    match x.class {
        Class::QNan | Class::SNan => nan_result(f, &[x]),
        Class::Zero => (a & f.width_mask(), 0),
        _ if x.sign => (f.canonical_nan(), NV),
        Class::Inf => (a & f.width_mask(), 0),
        Class::Finite => {
            // value = sig * 2^e with e made even; scale by 2^62 for ~63 result bits.
            let mut e = x.exp - 63;
            let mut m = u128::from(x.sig);
            if e & 1 != 0 {
                m <<= 1;
                e -= 1;
            }
            m <<= 62;
            e -= 62;
            let r = isqrt(m);
            let sticky = u128::from(r * r != m);
            round_pack128(f, false, e / 2 - 1, (r << 1) | sticky, rm)
        }
    }
}

/// floor(sqrt(m)) for m < 2^127.
fn isqrt(m: u128) -> u128 {
    // The host estimate is within about 2^12 of the root; one Newton step brings it within 1.
    let mut r = ((m as f64).sqrt() as u128).max(1);
    r = (r + m / r) >> 1;
    while r * r > m {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= m {
        r += 1;
    }
    r
}

/// `(±a·b) + (±c)` with one rounding.
pub fn fma(f: Fmt, a: u64, b: u64, c: u64, rm: u8, neg_prod: bool, neg_add: bool) -> (u64, u8) {
    use Class::*;
    let (x, y, z) = (unpack(f, a), unpack(f, b), unpack(f, c));
    // RISC-V: ∞·0 is invalid even when the addend is a quiet NaN.
    if matches!((x.class, y.class), (Inf, Zero) | (Zero, Inf)) {
        return (f.canonical_nan(), NV);
    }
    if x.is_nan() || y.is_nan() || z.is_nan() {
        return nan_result(f, &[x, y, z]);
    }
    let ps = (x.sign != y.sign) != neg_prod;
    let zs = z.sign != neg_add;
    if x.class == Inf || y.class == Inf {
        if z.class == Inf && zs != ps {
            return (f.canonical_nan(), NV);
        }
        return (f.inf(ps), 0);
    }
    if z.class == Inf {
        return (f.inf(zs), 0);
    }
    if x.class == Zero || y.class == Zero {
        if z.class == Zero {
            let sign = if ps == zs { ps } else { zero_sum_sign(rm) };
            return (f.zero(sign), 0);
        }
        let c = c & f.width_mask();
        return (if neg_add { c ^ f.sign_bit() } else { c }, 0);
    }
    let p = u128::from(x.sig) * u128::from(y.sig);
    let pe = x.exp + y.exp - 126;
    if z.class == Zero {
        return round_pack128(f, ps, pe, p, rm);
    }
    // Both terms get their top bit at 124 or 125 (two bits of headroom). The product's
    // low 20+ bits are zero, so the >> 2 is exact; when the exponents differ by more than 2
    // at most one bit cancels and jamming the smaller term cannot affect the rounding.
    let (pm, pe) = (shr_jam128(p, 2), pe + 2);
    let (cm, ce) = (u128::from(z.sig) << 62, z.exp - 63 - 62);
    let (big, small, e) = if pe >= ce {
        ((pm, ps), (shr_jam128(cm, (pe - ce) as u32), zs), pe)
    } else {
        ((cm, zs), (shr_jam128(pm, (ce - pe) as u32), ps), ce)
    };
    let (m, sign) = if big.1 == small.1 {
        (big.0 + small.0, big.1)
    } else if big.0 >= small.0 {
        (big.0 - small.0, big.1)
    } else {
        (small.0 - big.0, small.1)
    };
    if m == 0 {
        return (f.zero(zero_sum_sign(rm)), 0);
    }
    round_pack128(f, sign, e, m, rm)
}
