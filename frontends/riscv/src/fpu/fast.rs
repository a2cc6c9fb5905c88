//! Host-FPU fast paths.
//!
//! Rust's `f32`/`f64` operations are correctly rounded IEEE 754 operations in RNE, so when the
//! result is a normal number larger than the smallest normal (no tininess question, no
//! overflow, no NaN) the host result is the RISC-V RNE result. The only flag left is NX, which
//! is computed exactly: TwoSum's error term for add/sub, for mul/div/sqrt an integer check
//! that the rounded result times the other operand reproduces the exact value, and for fma a
//! comparison of the exact sum's lowest set bit with the result's ulp.
//!
//! For the other rounding modes an inexact RNE result is at most one step from the answer:
//! which way follows from whether the exact value lies above or below it in magnitude (the
//! sign of TwoSum's error, or an exact integer comparison), and for RMM whether it is a tie.
//! Anything else returns `None` and goes to the soft path.

use super::NX;
use std::cmp::Ordering;

/// Compares `x·2^ex` with `y·2^ey` exactly (`x`, `y` nonzero).
#[inline(always)]
fn cmp_scaled(x: u128, ex: i32, y: u128, ey: i32) -> Ordering {
    if ex >= ey {
        let d = (ex - ey) as u32;
        // Shifting further than the leading zeros would pass 2^128 > y.
        if d > x.leading_zeros() {
            Ordering::Greater
        } else {
            (x << d).cmp(&y)
        }
    } else {
        let d = (ey - ex) as u32;
        if d > y.leading_zeros() {
            Ordering::Less
        } else {
            x.cmp(&(y << d))
        }
    }
}

/// Whether `mul_add` is a hardware instruction (otherwise libm emulates it slowly and the
/// exact integer path is faster). The std macro caches the CPUID answer.
#[inline(always)]
fn host_has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

macro_rules! fast_impl {
    ($modname:ident, $float:ty, $bits:ty, $mant:expr) => {
        pub(super) mod $modname {
            use super::{NX, cmp_scaled, host_has_fma};
            use std::cmp::Ordering;

            const MANT: u32 = $mant;
            const MIN_NORMAL: $float = <$float>::MIN_POSITIVE;
            const SIGN: $bits = 1 << (<$bits>::BITS - 1);
            const EMASK: $bits = (1 << (<$bits>::BITS - 1 - MANT)) - 1;
            const BIAS: i32 = (EMASK >> 1) as i32;
            const INF: $bits = EMASK << MANT;

            /// The result is usable if it is finite, normal and above the smallest normal.
            #[inline(always)]
            fn ok(r: $float) -> bool {
                let m = r.abs();
                m > MIN_NORMAL && m < <$float>::INFINITY
            }

            /// The significand as an integer (implicit bit included for normals).
            #[inline(always)]
            fn sig(bits: $bits) -> u64 {
                let m = bits & ((1 << MANT) - 1);
                let e = (bits >> MANT) & EMASK;
                u64::from(if e == 0 { m } else { m | 1 << MANT })
            }

            /// The exponent of the significand's last bit: value = sig * 2^lsb_exp.
            #[inline(always)]
            fn lsb_exp(bits: $bits) -> i32 {
                let e = ((bits >> MANT) & EMASK) as i32;
                e.max(1) - BIAS - MANT as i32
            }

            /// The odd part of a nonzero integer and its width in bits.
            #[inline(always)]
            fn odd(n: u64) -> (u64, u32) {
                let o = n >> n.trailing_zeros();
                (o, 64 - o.leading_zeros())
            }

            /// Whether odd `x`·odd `y` (widths `wx`, `wy`) equals odd `z` (width `wz`). The
            /// product's width is wx + wy - 1 or wx + wy, which usually decides without
            /// multiplying; when it does not, the product fits in 64 bits (z has <= 53).
            #[inline(always)]
            fn odd_product_is(x: (u64, u32), y: (u64, u32), z: (u64, u32)) -> bool {
                if x.1 + y.1 - 1 > z.1 || x.1 + y.1 < z.1 {
                    return false;
                }
                x.0 * y.0 == z.0
            }

            #[inline(always)]
            fn flags(inexact: bool) -> u8 {
                if inexact { NX } else { 0 }
            }

            /// The result for mode `rm` given the inexact RNE result `r`. `above`: the exact
            /// magnitude exceeds |r|; `tie` (asked only for RMM when above): the exact value is
            /// halfway to the next float away from zero. `None` when stepping would overflow
            /// (the soft path raises OF) or for reserved modes.
            #[inline(always)]
            fn finish(
                r: $bits,
                rm: u8,
                above: impl FnOnce() -> bool,
                tie: impl FnOnce() -> bool,
            ) -> Option<($bits, u8)> {
                let neg = r & SIGN != 0;
                // +1: one step away from zero, -1: one step towards it.
                let step = match rm {
                    0 => return Some((r, NX)),
                    1 => {
                        if above() {
                            0
                        } else {
                            -1
                        }
                    }
                    2 => match (neg, above()) {
                        (true, true) => 1,
                        (false, false) => -1,
                        _ => 0,
                    },
                    3 => match (neg, above()) {
                        (false, true) => 1,
                        (true, false) => -1,
                        _ => 0,
                    },
                    4 => i32::from(above() && tie()),
                    _ => return None,
                };
                // |r| > MIN_NORMAL, so a step down stays normal and not tiny.
                let mag = match step {
                    1 => (r & !SIGN) + 1,
                    -1 => (r & !SIGN) - 1,
                    _ => r & !SIGN,
                };
                if mag >= INF {
                    return None;
                }
                Some((mag | (r & SIGN), NX))
            }

            /// 2^k as a float, for k at least the smallest subnormal's exponent.
            #[inline(always)]
            fn pow2(k: i32) -> Option<$float> {
                let min_normal = 1 - BIAS;
                let bits = if k >= min_normal {
                    ((k + BIAS) as $bits) << MANT
                } else {
                    let sh = k - (min_normal - MANT as i32);
                    if sh < 0 {
                        return None;
                    }
                    1 << sh
                };
                Some(<$float>::from_bits(bits))
            }

            #[inline]
            pub fn add(a: $bits, b: $bits, rm: u8) -> Option<($bits, u8)> {
                let (x, y) = (<$float>::from_bits(a), <$float>::from_bits(b));
                let s = x + y;
                if !ok(s) {
                    // A zero sum is exact (sums are multiples of the smallest subnormal) and
                    // the host's sign is right except for RDN's -0 (IEEE 754 6.3).
                    return (s == 0.0 && rm != 2).then_some((s.to_bits(), 0));
                }
                // TwoSum (Knuth): s + e == x + y exactly, unless an intermediate overflowed
                // (operands near the largest finite value), which leaves e non-finite.
                let bb = s - x;
                let e = (x - (s - bb)) + (y - bb);
                if !e.is_finite() {
                    return None;
                }
                if e == 0.0 {
                    return Some((s.to_bits(), 0));
                }
                let sb = s.to_bits();
                let tie = || pow2(lsb_exp(sb) - 1).is_some_and(|h| e.abs() == h);
                finish(sb, rm, || (e > 0.0) == (s > 0.0), tie)
            }

            #[inline]
            pub fn sub(a: $bits, b: $bits, rm: u8) -> Option<($bits, u8)> {
                add(a, b ^ SIGN, rm)
            }

            #[inline]
            pub fn mul(a: $bits, b: $bits, rm: u8) -> Option<($bits, u8)> {
                let (x, y) = (<$float>::from_bits(a), <$float>::from_bits(b));
                let r = x * y;
                if !ok(r) {
                    // A zero operand (the other finite, or r would be NaN) gives an exact zero.
                    return (r == 0.0 && (x == 0.0 || y == 0.0)).then_some((r.to_bits(), 0));
                }
                // Exact iff the product of the odd parts has at most MANT + 1 bits; its width
                // is wa + wb - 1 or wa + wb, and when that does not decide it fits 64 bits.
                let ((oa, wa), (ob, wb)) = (odd(sig(a)), odd(sig(b)));
                let inexact = if wa + wb > MANT + 2 {
                    true
                } else {
                    64 - (oa * ob).leading_zeros() > MANT + 1
                };
                let rb = r.to_bits();
                if !inexact {
                    return Some((rb, 0));
                }
                // Exact product p·2^lp against r = m·2^lr (and the midpoint (2m+1)·2^(lr-1)).
                let p = u128::from(sig(a)) * u128::from(sig(b));
                let lp = lsb_exp(a) + lsb_exp(b);
                let (m, lr) = (u128::from(sig(rb)), lsb_exp(rb));
                let above = || cmp_scaled(p, lp, m, lr) == Ordering::Greater;
                let tie = || cmp_scaled(p, lp, 2 * m + 1, lr - 1) == Ordering::Equal;
                finish(rb, rm, above, tie)
            }

            #[inline]
            pub fn div(a: $bits, b: $bits, rm: u8) -> Option<($bits, u8)> {
                let (x, y) = (<$float>::from_bits(a), <$float>::from_bits(b));
                let r = x / y;
                if !ok(r) {
                    // 0/finite and finite/inf are exact zeros.
                    let exact_zero = r == 0.0 && (x == 0.0 || y.is_infinite());
                    return exact_zero.then_some((r.to_bits(), 0));
                }
                // r·b == a·2^k with |k| = 0 forced by r's relative error < 1 ulp; so exactness
                // is equality of the odd parts.
                let r_bits = r.to_bits();
                if odd_product_is(odd(sig(r_bits)), odd(sig(b)), odd(sig(a))) {
                    return Some((r_bits, 0));
                }
                // |a/b| > |r| iff |a| > |r|·|b|. A quotient is never a tie (its odd part
                // would need more bits than a's), so RMM agrees with RNE.
                let rb = u128::from(sig(r_bits)) * u128::from(sig(b));
                let above = || {
                    let (ea, erb) = (lsb_exp(a), lsb_exp(r_bits) + lsb_exp(b));
                    cmp_scaled(u128::from(sig(a)), ea, rb, erb) == Ordering::Greater
                };
                finish(r_bits, rm, above, || false)
            }

            #[inline]
            pub fn sqrt(a: $bits, rm: u8) -> Option<($bits, u8)> {
                let x = <$float>::from_bits(a);
                if !(x > 0.0 && x < <$float>::INFINITY) {
                    return None;
                }
                let r = x.sqrt().to_bits();
                let or = odd(sig(r));
                if odd_product_is(or, or, odd(sig(a))) {
                    return Some((r, 0));
                }
                // sqrt(a) > r iff a > r²; square roots are never ties either.
                let m = u128::from(sig(r));
                let above = || {
                    cmp_scaled(u128::from(sig(a)), lsb_exp(a), m * m, 2 * lsb_exp(r))
                        == Ordering::Greater
                };
                finish(r, rm, above, || false)
            }

            /// `a·b + c` (callers flip signs for the negated forms).
            #[inline]
            pub fn fma(a: $bits, b: $bits, c: $bits) -> Option<($bits, u8)> {
                if !host_has_fma() {
                    return None;
                }
                let (x, y, z) = (
                    <$float>::from_bits(a),
                    <$float>::from_bits(b),
                    <$float>::from_bits(c),
                );
                let r = x.mul_add(y, z);
                if !ok(r) {
                    return None;
                }
                // All inputs are finite here. V = a·b + c is exactly representable (so equal
                // to r) iff its lowest set bit is not below r's ulp: r is normal and within an
                // ulp of V, so such a V has at most MANT + 1 significant bits.
                let (sa, sb) = (sig(a), sig(b));
                if sa == 0 || sb == 0 {
                    return Some((r.to_bits(), 0));
                }
                let lp =
                    lsb_exp(a) + lsb_exp(b) + (sa.trailing_zeros() + sb.trailing_zeros()) as i32;
                let sc = sig(c);
                let low = if sc == 0 {
                    lp
                } else {
                    let lc = lsb_exp(c) + sc.trailing_zeros() as i32;
                    if lp != lc {
                        lp.min(lc)
                    } else {
                        // Both odd parts start at the same bit: their sum or difference decides.
                        let op = u128::from(odd(sa).0) * u128::from(odd(sb).0);
                        let oc = u128::from(odd(sc).0);
                        let same_sign = ((a ^ b) & SIGN) == (c & SIGN);
                        let s = if same_sign { op + oc } else { op.abs_diff(oc) };
                        if s == 0 {
                            return None;
                        }
                        lp + s.trailing_zeros() as i32
                    }
                };
                Some((r.to_bits(), flags(low < lsb_exp(r.to_bits()))))
            }
        }
    };
}

fast_impl!(d, f64, u64, 52);
fast_impl!(s, f32, u32, 23);
