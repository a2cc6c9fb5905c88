//! SSE3, SSSE3, SSE4.1 and SSE4.2 packed operations on 128-bit values in the state, run by
//! one helper ([`exec`]): the first argument is one of the [`op`] codes, then the state
//! offsets of the destination (also the first source) and of the second source, and the
//! immediate. Operations with implicit operands (xmm0 for the variable blends and the string
//! compares' masks, rax/rdx for the explicit string lengths, rcx for the string index) read and
//! write them in the state. Operations that set flags return RFLAGS' arithmetic bits; the
//! others return 0. Floating-point ones accrue MXCSR's exception flags as the SSE2 ones do
//! ([`crate::ssefp`]).

use crate::ssefp::{self, mx};
use crate::state;
use xlat_ir::abi::CpuState;

/// Operation codes.
pub(crate) mod op {
    pub const PSHUFB: u64 = 0;
    pub const PHADDW: u64 = 1;
    pub const PHADDD: u64 = 2;
    pub const PHADDSW: u64 = 3;
    pub const PHSUBW: u64 = 4;
    pub const PHSUBD: u64 = 5;
    pub const PHSUBSW: u64 = 6;
    pub const PMADDUBSW: u64 = 7;
    pub const PMULHRSW: u64 = 8;
    pub const PSIGNB: u64 = 9;
    pub const PSIGNW: u64 = 10;
    pub const PSIGND: u64 = 11;
    pub const PABSB: u64 = 12;
    pub const PABSW: u64 = 13;
    pub const PABSD: u64 = 14;
    pub const PALIGNR: u64 = 15;
    pub const PBLENDVB: u64 = 16;
    pub const BLENDVPS: u64 = 17;
    pub const BLENDVPD: u64 = 18;
    pub const BLENDPS: u64 = 19;
    pub const BLENDPD: u64 = 20;
    pub const PBLENDW: u64 = 21;
    pub const PTEST: u64 = 22;
    /// pmovsx/pmovzx: `imm` = source lane bytes | destination lane bytes << 4 | signed << 8.
    pub const PMOVX: u64 = 23;
    pub const PMULDQ: u64 = 24;
    pub const PMULLD: u64 = 25;
    pub const PCMPEQQ: u64 = 26;
    pub const PCMPGTQ: u64 = 27;
    pub const PACKUSDW: u64 = 28;
    pub const PMINSB: u64 = 29;
    pub const PMINSD: u64 = 30;
    pub const PMINUW: u64 = 31;
    pub const PMINUD: u64 = 32;
    pub const PMAXSB: u64 = 33;
    pub const PMAXSD: u64 = 34;
    pub const PMAXUW: u64 = 35;
    pub const PMAXUD: u64 = 36;
    pub const PHMINPOSUW: u64 = 37;
    pub const MPSADBW: u64 = 38;
    /// insertps: `imm` | memory source << 8.
    pub const INSERTPS: u64 = 39;
    pub const DPPS: u64 = 40;
    pub const DPPD: u64 = 41;
    pub const ROUNDPS: u64 = 42;
    pub const ROUNDPD: u64 = 43;
    pub const ROUNDSS: u64 = 44;
    pub const ROUNDSD: u64 = 45;
    /// pcmp{e,i}str{i,m}: `imm` | explicit lengths << 8 | mask << 9 | 64-bit lengths << 10.
    pub const PCMPSTR: u64 = 46;
    pub const ADDSUBPS: u64 = 47;
    pub const ADDSUBPD: u64 = 48;
    pub const HADDPS: u64 = 49;
    pub const HADDPD: u64 = 50;
    pub const HSUBPS: u64 = 51;
    pub const HSUBPD: u64 = 52;
    pub const MOVSLDUP: u64 = 53;
    pub const MOVSHDUP: u64 = 54;
    pub const MOVDDUP: u64 = 55;
}

fn get(env: &CpuState, off: u32) -> u128 {
    u128::from(env.word(off)) | (u128::from(env.word(off + 8)) << 64)
}

fn set(env: &mut CpuState, off: u32, v: u128) {
    env.set_word(off, v as u64);
    env.set_word(off + 8, (v >> 64) as u64);
}

/// Lane `i` of `w` bytes, zero-extended.
fn lane(v: u128, w: u32, i: u32) -> u64 {
    let bits = w * 8;
    let m = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (v >> (i * bits)) as u64 & m
}

/// Lane `i` of `w` bytes, sign-extended.
fn slane(v: u128, w: u32, i: u32) -> i64 {
    let sh = 64 - w * 8;
    ((lane(v, w, i) << sh) as i64) >> sh
}

/// Builds a value of `16 / w` lanes of `w` bytes from `f(i)` (truncated to the lane).
fn build(w: u32, f: impl Fn(u32) -> u64) -> u128 {
    let bits = w * 8;
    let m = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (0..16 / w).fold(0u128, |r, i| r | (u128::from(f(i) & m) << (i * bits)))
}

fn sat16(v: i64) -> u64 {
    v.clamp(-0x8000, 0x7fff) as u64
}

/// Runs `op` (see [`op`]) with destination `d` and source `s` (state offsets).
pub(crate) fn exec(env: &mut CpuState, op: u64, d: u32, s: u32, imm: u64) -> u64 {
    let a = get(env, d);
    let b = get(env, s);
    // The floating-point ones: each scalar step's flags, and MXCSR's control (rounding, DAZ,
    // FTZ, PE set) as `ssefp::scalar` code bits.
    let mut fl = Flags::default();
    let rcb = ssefp::control_bits(env.word(state::MXCSR));
    let r = match op {
        op::PSHUFB => build(1, |i| {
            let c = lane(b, 1, i);
            if c & 0x80 != 0 {
                0
            } else {
                lane(a, 1, (c & 15) as u32)
            }
        }),
        op::PHADDW | op::PHSUBW | op::PHADDSW | op::PHSUBSW => build(2, |i| {
            let (src, j) = if i < 4 { (a, 2 * i) } else { (b, 2 * (i - 4)) };
            let (x, y) = (slane(src, 2, j), slane(src, 2, j + 1));
            match op {
                op::PHADDW => (x + y) as u64,
                op::PHSUBW => (x - y) as u64,
                op::PHADDSW => sat16(x + y),
                _ => sat16(x - y),
            }
        }),
        op::PHADDD | op::PHSUBD => build(4, |i| {
            let (src, j) = if i < 2 { (a, 2 * i) } else { (b, 2 * (i - 2)) };
            let (x, y) = (lane(src, 4, j), lane(src, 4, j + 1));
            if op == op::PHADDD {
                x.wrapping_add(y)
            } else {
                x.wrapping_sub(y)
            }
        }),
        op::PMADDUBSW => build(2, |i| {
            let p = |j| lane(a, 1, j) as i64 * slane(b, 1, j);
            sat16(p(2 * i) + p(2 * i + 1))
        }),
        op::PMULHRSW => build(2, |i| {
            let p = slane(a, 2, i) * slane(b, 2, i);
            (((p >> 14) + 1) >> 1) as u64
        }),
        op::PSIGNB | op::PSIGNW | op::PSIGND => {
            let w = 1 << (op - op::PSIGNB);
            build(w, |i| match slane(b, w, i) {
                0 => 0,
                x if x < 0 => slane(a, w, i).wrapping_neg() as u64,
                _ => lane(a, w, i),
            })
        }
        op::PABSB | op::PABSW | op::PABSD => {
            let w = 1 << (op - op::PABSB);
            build(w, |i| slane(b, w, i).unsigned_abs())
        }
        op::PALIGNR => {
            let n = imm & 0xff;
            if n >= 32 {
                0
            } else if n >= 16 {
                a >> ((n - 16) * 8)
            } else if n == 0 {
                b
            } else {
                (b >> (n * 8)) | (a << ((16 - n) * 8))
            }
        }
        op::PBLENDVB | op::BLENDVPS | op::BLENDVPD => {
            let w = [1, 4, 8][(op - op::PBLENDVB) as usize];
            let m = get(env, state::xmm(0));
            build(w, |i| {
                if lane(m, w, i) >> (w * 8 - 1) != 0 {
                    lane(b, w, i)
                } else {
                    lane(a, w, i)
                }
            })
        }
        op::BLENDPS | op::BLENDPD | op::PBLENDW => {
            let w = [4, 8, 2][(op - op::BLENDPS) as usize];
            build(w, |i| {
                if imm >> i & 1 != 0 {
                    lane(b, w, i)
                } else {
                    lane(a, w, i)
                }
            })
        }
        op::PTEST => {
            let zf = u64::from(a & b == 0) << 6;
            let cf = u64::from(!a & b == 0);
            return zf | cf;
        }
        op::PMOVX => {
            let (sw, dw, signed) = (
                (imm & 15) as u32,
                ((imm >> 4) & 15) as u32,
                imm & 0x100 != 0,
            );
            build(dw, |i| {
                if signed {
                    slane(b, sw, i) as u64
                } else {
                    lane(b, sw, i)
                }
            })
        }
        op::PMULDQ => build(8, |i| (slane(a, 4, 2 * i) * slane(b, 4, 2 * i)) as u64),
        op::PMULLD => build(4, |i| lane(a, 4, i).wrapping_mul(lane(b, 4, i))),
        op::PCMPEQQ => build(8, |i| {
            if lane(a, 8, i) == lane(b, 8, i) {
                u64::MAX
            } else {
                0
            }
        }),
        op::PCMPGTQ => build(8, |i| {
            if slane(a, 8, i) > slane(b, 8, i) {
                u64::MAX
            } else {
                0
            }
        }),
        op::PACKUSDW => build(2, |i| {
            let v = if i < 4 {
                slane(a, 4, i)
            } else {
                slane(b, 4, i - 4)
            };
            v.clamp(0, 0xffff) as u64
        }),
        op::PMINSB | op::PMINSD | op::PMAXSB | op::PMAXSD => {
            let w = if matches!(op, op::PMINSB | op::PMAXSB) {
                1
            } else {
                4
            };
            let max = matches!(op, op::PMAXSB | op::PMAXSD);
            build(w, |i| {
                let (x, y) = (slane(a, w, i), slane(b, w, i));
                (if max { x.max(y) } else { x.min(y) }) as u64
            })
        }
        op::PMINUW | op::PMINUD | op::PMAXUW | op::PMAXUD => {
            let w = if matches!(op, op::PMINUW | op::PMAXUW) {
                2
            } else {
                4
            };
            let max = matches!(op, op::PMAXUW | op::PMAXUD);
            build(w, |i| {
                let (x, y) = (lane(a, w, i), lane(b, w, i));
                if max { x.max(y) } else { x.min(y) }
            })
        }
        op::PHMINPOSUW => {
            let (mut m, mut k) = (lane(b, 2, 0), 0);
            for i in 1..8 {
                if lane(b, 2, i) < m {
                    (m, k) = (lane(b, 2, i), i);
                }
            }
            u128::from(m) | (u128::from(k) << 16)
        }
        op::MPSADBW => {
            let so = ((imm & 3) * 4) as u32;
            let dof = (((imm >> 2) & 1) * 4) as u32;
            build(2, |i| {
                (0..4)
                    .map(|k| lane(a, 1, dof + i + k).abs_diff(lane(b, 1, so + k)))
                    .sum()
            })
        }
        op::INSERTPS => {
            let mem = imm & 0x100 != 0;
            let cs = if mem { 0 } else { ((imm >> 6) & 3) as u32 };
            let cd = ((imm >> 4) & 3) as u32;
            let v = lane(b, 4, cs);
            build(4, |i| {
                if imm >> i & 1 != 0 {
                    0
                } else if i == cd {
                    v
                } else {
                    lane(a, 4, i)
                }
            })
        }
        op::DPPS => {
            let mut p = [0u64; 4];
            for (i, pi) in p.iter_mut().enumerate() {
                if imm >> (4 + i) & 1 != 0 {
                    let (v, f) = ssefp::scalar(
                        ssefp::op::MUL << 2 | rcb,
                        lane(a, 4, i as u32),
                        lane(b, 4, i as u32),
                    );
                    *pi = v;
                    fl.push(f);
                }
            }
            // An unmasked exception of the products is raised before the sums.
            if fl.n != 0 && ssefp::accrue(env, &fl.f[..fl.n]) {
                return 0;
            }
            fl = Flags::default();
            let mut add = |x: u64, y: u64| {
                let (v, f) = ssefp::scalar(ssefp::op::ADD << 2 | rcb, x, y);
                fl.push(f);
                v
            };
            let t0 = add(p[0], p[1]);
            let t1 = add(p[2], p[3]);
            let sum = add(t0, t1);
            build(4, |i| if imm >> i & 1 != 0 { sum } else { 0 })
        }
        op::DPPD => {
            let mut p = [0u64; 2];
            for (i, pi) in p.iter_mut().enumerate() {
                if imm >> (4 + i) & 1 != 0 {
                    let (v, f) = ssefp::scalar(
                        ssefp::op::MUL << 2 | 1 | rcb,
                        lane(a, 8, i as u32),
                        lane(b, 8, i as u32),
                    );
                    *pi = v;
                    fl.push(f);
                }
            }
            if fl.n != 0 && ssefp::accrue(env, &fl.f[..fl.n]) {
                return 0;
            }
            fl = Flags::default();
            let (sum, f) = ssefp::scalar(ssefp::op::ADD << 2 | 1 | rcb, p[0], p[1]);
            fl.push(f);
            build(8, |i| if imm >> i & 1 != 0 { sum } else { 0 })
        }
        op::ROUNDPS | op::ROUNDPD | op::ROUNDSS | op::ROUNDSD => {
            let rc = if imm & 4 != 0 {
                (env.word(state::MXCSR) >> 13) & 3
            } else {
                imm & 3
            };
            let quiet = imm & 8 != 0;
            let double = matches!(op, op::ROUNDPD | op::ROUNDSD);
            let scalar = matches!(op, op::ROUNDSS | op::ROUNDSD);
            let w = if double { 8 } else { 4 };
            let n = if scalar { 1 } else { 16 / w };
            let mut r = if scalar { a } else { 0 };
            let (daz, _) = ssefp::daz_ftz(env.word(state::MXCSR));
            for i in 0..n {
                let x = ssefp::daz_bits(lane(b, w, i), double, daz);
                let (v, f) = round(x, double, rc, quiet);
                fl.push(f);
                let m = if double {
                    u128::from(u64::MAX)
                } else {
                    0xffff_ffff
                } << (i * w * 8);
                r = (r & !m) | (u128::from(v) << (i * w * 8));
            }
            r
        }
        op::PCMPSTR => return pcmpstr(env, a, b, imm),
        op::ADDSUBPS | op::ADDSUBPD | op::HADDPS | op::HADDPD | op::HSUBPS | op::HSUBPD => {
            let double = matches!(op, op::ADDSUBPD | op::HADDPD | op::HSUBPD);
            let w = if double { 8 } else { 4 };
            let n = 16 / w;
            let mut f = |k: u64, x: u64, y: u64| {
                let (v, e) = ssefp::scalar(k << 2 | u64::from(double) | rcb, x, y);
                fl.push(e);
                v
            };
            let mut out = [0u64; 4];
            for (i, o) in out.iter_mut().enumerate().take(n as usize) {
                let i = i as u32;
                *o = match op {
                    op::ADDSUBPS | op::ADDSUBPD => {
                        let k = if i.is_multiple_of(2) {
                            ssefp::op::SUB
                        } else {
                            ssefp::op::ADD
                        };
                        f(k, lane(a, w, i), lane(b, w, i))
                    }
                    _ => {
                        let k = if matches!(op, op::HADDPS | op::HADDPD) {
                            ssefp::op::ADD
                        } else {
                            ssefp::op::SUB
                        };
                        let (src, j) = if i < n / 2 {
                            (a, 2 * i)
                        } else {
                            (b, 2 * (i - n / 2))
                        };
                        f(k, lane(src, w, j), lane(src, w, j + 1))
                    }
                };
            }
            build(w, |i| out[i as usize])
        }
        op::MOVSLDUP => build(4, |i| lane(b, 4, i & !1)),
        op::MOVSHDUP => build(4, |i| lane(b, 4, i | 1)),
        op::MOVDDUP => build(8, |_| lane(b, 8, 0)),
        _ => return 0,
    };
    if fl.n != 0 && ssefp::accrue(env, &fl.f[..fl.n]) {
        return 0;
    }
    set(env, d, r);
    0
}

/// The flags of an instruction's scalar steps, for [`ssefp::accrue`] (the eighth slot merges
/// the rest).
#[derive(Default)]
struct Flags {
    f: [u64; 8],
    n: usize,
}

impl Flags {
    fn push(&mut self, v: u64) {
        if self.n < 8 {
            self.f[self.n] = v;
            self.n += 1;
        } else {
            self.f[7] |= v;
        }
    }
}

/// roundss/sd/ps/pd on one lane's bits: rounding control `rc` (0 nearest, 1 down, 2 up,
/// 3 toward zero); `quiet` suppresses the precision exception.
fn round(v: u64, double: bool, rc: u64, quiet: bool) -> (u64, u64) {
    let x = if double {
        f64::from_bits(v)
    } else {
        f64::from(f32::from_bits(v as u32))
    };
    if x.is_nan() {
        let snan = if double {
            v & (1 << 51) == 0
        } else {
            v & (1 << 22) == 0
        };
        let q = if double { v | (1 << 51) } else { v | (1 << 22) };
        return (q, if snan { mx::IE } else { 0 });
    }
    let r = match rc & 3 {
        0 => x.round_ties_even(),
        1 => x.floor(),
        2 => x.ceil(),
        _ => x.trunc(),
    };
    let f = if r != x && !quiet { mx::PE } else { 0 };
    let bits = if double {
        r.to_bits()
    } else {
        u64::from((r as f32).to_bits())
    };
    (bits, f)
}

/// pcmpestri/pcmpestrm/pcmpistri/pcmpistrm (`imm` as in [`op::PCMPSTR`]): writes ecx or
/// xmm0, returns the flags.
fn pcmpstr(env: &mut CpuState, a: u128, b: u128, imm: u64) -> u64 {
    let words = imm & 1 != 0;
    let signed = imm & 2 != 0;
    let agg = (imm >> 2) & 3;
    let pol = (imm >> 4) & 3;
    let most = imm & 0x40 != 0;
    let explicit = imm & 0x100 != 0;
    let mask = imm & 0x200 != 0;
    let wide = imm & 0x400 != 0;
    let w = if words { 2 } else { 1 };
    let n = 16 / w;
    let elem = |v: u128, i: u32| -> i64 {
        if signed {
            slane(v, w, i)
        } else {
            lane(v, w, i) as i64
        }
    };
    let len = |v: u128, reg: u32| -> u32 {
        if explicit {
            let r = env.word(reg);
            let l = if wide {
                (r as i64).unsigned_abs()
            } else {
                u64::from((r as i32).unsigned_abs())
            };
            l.min(u64::from(n)) as u32
        } else {
            (0..n).find(|&i| lane(v, w, i) == 0).unwrap_or(n)
        }
    };
    let la = len(a, state::RAX);
    let lb = len(b, state::RDX);
    let mut res1 = 0u32;
    for j in 0..n {
        let bit = match agg {
            // equal any
            0 => j < lb && (0..la).any(|i| elem(a, i) == elem(b, j)),
            // ranges
            1 => {
                j < lb
                    && (0..la / 2).any(|k| {
                        let (lo, hi) = (elem(a, 2 * k), elem(a, 2 * k + 1));
                        lo <= elem(b, j) && elem(b, j) <= hi
                    })
            }
            // equal each
            2 => {
                if j < la && j < lb {
                    elem(a, j) == elem(b, j)
                } else {
                    j >= la && j >= lb
                }
            }
            // equal ordered
            _ => (0..n - j).all(|k| {
                if k >= la {
                    true
                } else if j + k >= lb {
                    false
                } else {
                    elem(a, k) == elem(b, j + k)
                }
            }),
        };
        res1 |= u32::from(bit) << j;
    }
    let all = (1u32 << n) - 1;
    let res2 = match pol {
        1 => !res1 & all,
        3 => res1 ^ (all & ((1u32 << lb) - 1)),
        _ => res1,
    };
    if mask {
        let v = if most {
            build(w, |i| if res2 >> i & 1 != 0 { u64::MAX } else { 0 })
        } else {
            u128::from(res2)
        };
        set(env, state::xmm(0), v);
    } else {
        let idx = if res2 == 0 {
            n
        } else if most {
            31 - res2.leading_zeros()
        } else {
            res2.trailing_zeros()
        };
        env.set_word(state::RCX, u64::from(idx));
    }
    let cf = u64::from(res2 != 0);
    let zf = u64::from(lb < n) << 6;
    let sf = u64::from(la < n) << 7;
    let of = u64::from(res2 & 1) << 11;
    cf | zf | sf | of
}

/// crc32 (Castagnoli, reflected) of the low `bytes` of `v` onto `acc`.
pub(crate) fn crc32(acc: u32, v: u64, bytes: u32) -> u32 {
    let mut c = acc;
    for i in 0..bytes {
        c ^= (v >> (8 * i)) as u32 & 0xff;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The CRC-32C check value of "123456789" (with the usual pre/post inversion).
        let c = b"123456789"
            .iter()
            .fold(!0u32, |c, &x| crc32(c, u64::from(x), 1));
        assert_eq!(!c, 0xe306_9283);
    }

    #[test]
    fn palignr_concatenates() {
        let mut env = CpuState::new_boxed();
        let (d, s) = (state::xmm(1), state::xmm(2));
        set(&mut env, d, 0x1f1e_1d1c_1b1a_1918_1716_1514_1312_1110);
        set(&mut env, s, 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100);
        exec(&mut env, op::PALIGNR, d, s, 3);
        assert_eq!(get(&env, d), 0x1211_100f_0e0d_0c0b_0a09_0807_0605_0403);
    }
}
