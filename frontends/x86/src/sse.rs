//! Packed SSE2 integer operations on 128-bit values in the state, run by one helper.

use xlat_ir::abi::CpuState;

/// The operations the helper implements (its first argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs, reason = "named after the instructions")]
pub enum Op {
    Xor,
    Or,
    And,
    AndN,
    CmpEqB,
    CmpEqW,
    CmpEqD,
    CmpGtB,
    MinUB,
    MaxUB,
    SubUsB,
    AddB,
    AddW,
    AddD,
    AddQ,
    SubB,
    SubW,
    SubD,
    SubQ,
    UnpckLBW,
    UnpckLWD,
    UnpckLDQ,
    UnpckLQDQ,
    UnpckHQDQ,
    Shufd,
    SllDq,
    SrlDq,
    Movmskb,
    SllW,
    SllD,
    SllQ,
    SrlW,
    SrlD,
    SrlQ,
    SraW,
    SraD,
    ShufPd,
    ShufPs,
    ShufLw,
    ShufHw,
    UnpckHBW,
    UnpckHWD,
    UnpckHDQ,
    PackUsWB,
    PackSsWB,
    PackSsDW,
    MulLW,
    MulUDQ,
    AvgB,
    SadBW,
    CmpGtW,
    CmpGtD,
    MinSW,
    MaxSW,
    Movmskpd,
    Movmskps,
    MulHW,
    MulHUW,
    MaddWD,
    AddUsB,
    AddUsW,
    SubUsW,
    AddSsB,
    AddSsW,
    SubSsB,
    SubSsW,
    AvgW,
}

const OPS: [Op; 67] = [
    Op::Xor,
    Op::Or,
    Op::And,
    Op::AndN,
    Op::CmpEqB,
    Op::CmpEqW,
    Op::CmpEqD,
    Op::CmpGtB,
    Op::MinUB,
    Op::MaxUB,
    Op::SubUsB,
    Op::AddB,
    Op::AddW,
    Op::AddD,
    Op::AddQ,
    Op::SubB,
    Op::SubW,
    Op::SubD,
    Op::SubQ,
    Op::UnpckLBW,
    Op::UnpckLWD,
    Op::UnpckLDQ,
    Op::UnpckLQDQ,
    Op::UnpckHQDQ,
    Op::Shufd,
    Op::SllDq,
    Op::SrlDq,
    Op::Movmskb,
    Op::SllW,
    Op::SllD,
    Op::SllQ,
    Op::SrlW,
    Op::SrlD,
    Op::SrlQ,
    Op::SraW,
    Op::SraD,
    Op::ShufPd,
    Op::ShufPs,
    Op::ShufLw,
    Op::ShufHw,
    Op::UnpckHBW,
    Op::UnpckHWD,
    Op::UnpckHDQ,
    Op::PackUsWB,
    Op::PackSsWB,
    Op::PackSsDW,
    Op::MulLW,
    Op::MulUDQ,
    Op::AvgB,
    Op::SadBW,
    Op::CmpGtW,
    Op::CmpGtD,
    Op::MinSW,
    Op::MaxSW,
    Op::Movmskpd,
    Op::Movmskps,
    Op::MulHW,
    Op::MulHUW,
    Op::MaddWD,
    Op::AddUsB,
    Op::AddUsW,
    Op::SubUsW,
    Op::AddSsB,
    Op::AddSsW,
    Op::SubSsB,
    Op::SubSsW,
    Op::AvgW,
];

fn get(env: &CpuState, off: u32) -> u128 {
    u128::from(env.word(off)) | (u128::from(env.word(off + 8)) << 64)
}

fn set(env: &mut CpuState, off: u32, v: u128) {
    env.set_word(off, v as u64);
    env.set_word(off + 8, (v >> 64) as u64);
}

/// Applies `f` lane by lane on lanes of `w` bytes.
fn lanes(a: u128, b: u128, w: u32, f: impl Fn(u64, u64) -> u64) -> u128 {
    let bits = w * 8;
    let m = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut r = 0u128;
    for i in 0..(16 / w) {
        let sh = i * bits;
        let x = (a >> sh) as u64 & m;
        let y = (b >> sh) as u64 & m;
        r |= u128::from(f(x, y) & m) << sh;
    }
    r
}

fn interleave(a: u128, b: u128, w: u32, high: bool) -> u128 {
    let bits = w * 8;
    let m = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let base = if high { 64 } else { 0 };
    let mut r = 0u128;
    for i in 0..(8 / w) {
        let x = (a >> (base + i * bits)) as u64 & m;
        let y = (b >> (base + i * bits)) as u64 & m;
        r |= u128::from(x) << (2 * i * bits);
        r |= u128::from(y) << ((2 * i + 1) * bits);
    }
    r
}

/// Runs `op` on the xmm values at state offsets `d` (destination and first source) and `s`.
/// Returns the result of `Movmskb`, else 0.
pub fn exec(env: &mut CpuState, op: u64, d: u32, s: u32, imm: u64) -> u64 {
    let Some(&op) = OPS.get(op as usize) else {
        return 0;
    };
    let b = get(env, s);
    if op == Op::Movmskb {
        return (0..16).fold(0, |acc, i| acc | ((((b >> (i * 8 + 7)) & 1) as u64) << i));
    }
    if op == Op::Movmskpd {
        return ((b >> 63) & 1) as u64 | ((((b >> 127) & 1) as u64) << 1);
    }
    if op == Op::Movmskps {
        return (0..4).fold(0, |acc, i| acc | ((((b >> (i * 32 + 31)) & 1) as u64) << i));
    }
    let a = get(env, d);
    let r = compute(op, a, b, imm);
    set(env, d, r);
    0
}

/// Whether `op` works lane by lane on lanes of at most 8 bytes (so each 64-bit half of the
/// result depends only on the same halves of the operands).
pub fn is_lanewise(op: u64) -> bool {
    use Op::*;
    OPS.get(op as usize).is_some_and(|o| {
        matches!(
            o,
            CmpEqB
                | CmpEqW
                | CmpEqD
                | CmpGtB
                | CmpGtW
                | CmpGtD
                | MinUB
                | MaxUB
                | SubUsB
                | AddB
                | AddW
                | AddD
                | AddQ
                | SubB
                | SubW
                | SubD
                | SubQ
                | MulLW
                | MulHW
                | MulHUW
                | MaddWD
                | AvgB
                | AvgW
                | AddUsB
                | AddUsW
                | SubUsW
                | AddSsB
                | AddSsW
                | SubSsB
                | SubSsW
                | MinSW
                | MaxSW
                | MulUDQ
        )
    })
}

/// One 64-bit half of a lane-wise `op` (see [`is_lanewise`]).
pub fn half(op: u64, a: u64, b: u64) -> u64 {
    // Lane-wise adds and subtracts without carries across lanes (SWAR): `h` = each lane's
    // top bit.
    const H: [u64; 4] = [
        0x8080_8080_8080_8080,
        0x8000_8000_8000_8000,
        0x8000_0000_8000_0000,
        0x8000_0000_0000_0000,
    ];
    let add = |h: u64| ((a & !h).wrapping_add(b & !h)) ^ ((a ^ b) & h);
    let sub = |h: u64| ((a | h).wrapping_sub(b & !h)) ^ ((a ^ !b) & h);
    match OPS.get(op as usize) {
        Some(Op::AddB) => return add(H[0]),
        Some(Op::AddW) => return add(H[1]),
        Some(Op::AddD) => return add(H[2]),
        Some(Op::AddQ) => return a.wrapping_add(b),
        Some(Op::SubB) => return sub(H[0]),
        Some(Op::SubW) => return sub(H[1]),
        Some(Op::SubD) => return sub(H[2]),
        Some(Op::SubQ) => return a.wrapping_sub(b),
        _ => {}
    }
    match OPS.get(op as usize) {
        Some(&o) => compute(o, u128::from(a), u128::from(b), 0) as u64,
        None => 0,
    }
}

fn compute(op: Op, a: u128, b: u128, imm: u64) -> u128 {
    let eq = |x: u64, y: u64| if x == y { u64::MAX } else { 0 };
    match op {
        Op::Xor => a ^ b,
        Op::Or => a | b,
        Op::And => a & b,
        Op::AndN => !a & b,
        Op::CmpEqB => lanes(a, b, 1, eq),
        Op::CmpEqW => lanes(a, b, 2, eq),
        Op::CmpEqD => lanes(a, b, 4, eq),
        Op::CmpGtB => lanes(a, b, 1, |x, y| {
            if (x as u8 as i8) > (y as u8 as i8) {
                u64::MAX
            } else {
                0
            }
        }),
        Op::MinUB => lanes(a, b, 1, |x, y| x.min(y)),
        Op::MaxUB => lanes(a, b, 1, |x, y| x.max(y)),
        Op::SubUsB => lanes(a, b, 1, |x, y| x.saturating_sub(y)),
        Op::AddB => lanes(a, b, 1, u64::wrapping_add),
        Op::AddW => lanes(a, b, 2, u64::wrapping_add),
        Op::AddD => lanes(a, b, 4, u64::wrapping_add),
        Op::AddQ => lanes(a, b, 8, u64::wrapping_add),
        Op::SubB => lanes(a, b, 1, u64::wrapping_sub),
        Op::SubW => lanes(a, b, 2, u64::wrapping_sub),
        Op::SubD => lanes(a, b, 4, u64::wrapping_sub),
        Op::SubQ => lanes(a, b, 8, u64::wrapping_sub),
        Op::UnpckLBW => interleave(a, b, 1, false),
        Op::UnpckLWD => interleave(a, b, 2, false),
        Op::UnpckLDQ => interleave(a, b, 4, false),
        Op::UnpckLQDQ => interleave(a, b, 8, false),
        Op::UnpckHQDQ => interleave(a, b, 8, true),
        Op::Shufd => (0..4).fold(0u128, |acc, i| {
            let sel = (imm >> (2 * i)) & 3;
            acc | (((b >> (32 * sel)) & 0xffff_ffff) << (32 * i))
        }),
        Op::SllDq => {
            if imm > 15 {
                0
            } else {
                a << (imm * 8)
            }
        }
        Op::SrlDq => {
            if imm > 15 {
                0
            } else {
                a >> (imm * 8)
            }
        }
        Op::SllW | Op::SllD | Op::SllQ | Op::SrlW | Op::SrlD | Op::SrlQ | Op::SraW | Op::SraD => {
            let w = match op {
                Op::SllW | Op::SrlW | Op::SraW => 2,
                Op::SllD | Op::SrlD | Op::SraD => 4,
                _ => 8,
            };
            let bits = u64::from(w) * 8;
            let n = imm;
            lanes(a, 0, w, |x, _| match op {
                Op::SllW | Op::SllD | Op::SllQ => {
                    if n >= bits {
                        0
                    } else {
                        x << n
                    }
                }
                Op::SrlW | Op::SrlD | Op::SrlQ => {
                    if n >= bits {
                        0
                    } else {
                        x >> n
                    }
                }
                _ => {
                    let sx = ((x << (64 - bits)) as i64) >> (64 - bits);
                    (sx >> n.min(bits - 1)) as u64
                }
            })
        }
        Op::ShufPd => {
            let lo = if imm & 1 != 0 {
                a >> 64
            } else {
                a & u128::from(u64::MAX)
            };
            let hi = if imm & 2 != 0 {
                b >> 64
            } else {
                b & u128::from(u64::MAX)
            };
            lo | (hi << 64)
        }
        Op::ShufPs => (0..4).fold(0u128, |acc, i| {
            let src = if i < 2 { a } else { b };
            let sel = (imm >> (2 * i)) & 3;
            acc | (((src >> (32 * sel)) & 0xffff_ffff) << (32 * i))
        }),
        Op::ShufLw | Op::ShufHw => {
            let base = if op == Op::ShufLw { 0 } else { 64 };
            let half = (b >> base) as u64;
            let w = (0..4).fold(0u64, |acc, i| {
                let sel = (imm >> (2 * i)) & 3;
                acc | (((half >> (16 * sel)) & 0xffff) << (16 * i))
            });
            (b & !(u128::from(u64::MAX) << base)) | (u128::from(w) << base)
        }
        Op::UnpckHBW => interleave(a, b, 1, true),
        Op::UnpckHWD => interleave(a, b, 2, true),
        Op::UnpckHDQ => interleave(a, b, 4, true),
        Op::PackUsWB | Op::PackSsWB => {
            let sat = |w: u64| -> u128 {
                let v = i64::from(w as u16 as i16);
                let c = if op == Op::PackUsWB {
                    v.clamp(0, 255)
                } else {
                    v.clamp(-128, 127)
                };
                u128::from(c as u8)
            };
            (0..8).fold(0u128, |acc, i| {
                acc | (sat((a >> (16 * i)) as u64) << (8 * i))
                    | (sat((b >> (16 * i)) as u64) << (8 * (i + 8)))
            })
        }
        Op::PackSsDW => {
            let sat = |w: u64| u128::from(i64::from(w as u32 as i32).clamp(-32768, 32767) as u16);
            (0..4).fold(0u128, |acc, i| {
                acc | (sat((a >> (32 * i)) as u64) << (16 * i))
                    | (sat((b >> (32 * i)) as u64) << (16 * (i + 4)))
            })
        }
        Op::MulLW => lanes(a, b, 2, u64::wrapping_mul),
        Op::MulUDQ => {
            let m = |v: u128, l: u32| u128::from((v >> (64 * l)) as u32);
            (m(a, 0) * m(b, 0)) | ((m(a, 1) * m(b, 1)) << 64)
        }
        Op::AvgB => lanes(a, b, 1, |x, y| (x + y + 1) >> 1),
        Op::AvgW => lanes(a, b, 2, |x, y| (x + y + 1) >> 1),
        Op::SadBW => {
            let sad = |h: u32| -> u128 {
                (0..8)
                    .map(|i| {
                        let x = (a >> (64 * h + 8 * i)) as u8;
                        let y = (b >> (64 * h + 8 * i)) as u8;
                        u128::from(x.abs_diff(y))
                    })
                    .sum()
            };
            sad(0) | (sad(1) << 64)
        }
        Op::CmpGtW => lanes(a, b, 2, |x, y| {
            if (x as u16 as i16) > (y as u16 as i16) {
                u64::MAX
            } else {
                0
            }
        }),
        Op::CmpGtD => lanes(a, b, 4, |x, y| {
            if (x as u32 as i32) > (y as u32 as i32) {
                u64::MAX
            } else {
                0
            }
        }),
        Op::MinSW => lanes(a, b, 2, |x, y| {
            if (x as u16 as i16) < (y as u16 as i16) {
                x
            } else {
                y
            }
        }),
        Op::MaxSW => lanes(a, b, 2, |x, y| {
            if (x as u16 as i16) > (y as u16 as i16) {
                x
            } else {
                y
            }
        }),
        Op::MulHW => lanes(a, b, 2, |x, y| {
            ((i32::from(x as u16 as i16) * i32::from(y as u16 as i16)) >> 16) as u64
        }),
        Op::MulHUW => lanes(a, b, 2, |x, y| (x * y) >> 16),
        Op::MaddWD => lanes(a, b, 4, |x, y| {
            let p = |v: u64, h: u32| i64::from((v >> (16 * h)) as u16 as i16);
            (p(x, 0) * p(y, 0) + p(x, 1) * p(y, 1)) as u64
        }),
        Op::AddUsB => lanes(a, b, 1, |x, y| (x + y).min(0xff)),
        Op::AddUsW => lanes(a, b, 2, |x, y| (x + y).min(0xffff)),
        Op::SubUsW => lanes(a, b, 2, |x, y| x.saturating_sub(y)),
        Op::AddSsB | Op::SubSsB => lanes(a, b, 1, |x, y| {
            let (x, y) = (i64::from(x as u8 as i8), i64::from(y as u8 as i8));
            let r = if op == Op::AddSsB { x + y } else { x - y };
            r.clamp(-128, 127) as u64
        }),
        Op::AddSsW | Op::SubSsW => lanes(a, b, 2, |x, y| {
            let (x, y) = (i64::from(x as u16 as i16), i64::from(y as u16 as i16));
            let r = if op == Op::AddSsW { x + y } else { x - y };
            r.clamp(-32768, 32767) as u64
        }),
        Op::Movmskb | Op::Movmskpd | Op::Movmskps => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state;

    #[test]
    fn pcmpeqb_and_pmovmskb_find_a_zero_byte() {
        let mut env = CpuState::new_boxed();
        // "abc\0" then garbage: strlen's inner loop.
        env.set_word(state::xmm(1), 0x4141_4141_0063_6261);
        env.set_word(state::xmm(1) + 8, 0x4242_4242_4242_4242);
        exec(&mut env, Op::CmpEqB as u64, state::xmm(0), state::xmm(1), 0);
        let m = exec(&mut env, Op::Movmskb as u64, 0, state::xmm(0), 0);
        assert_eq!(m, 0b1000);
    }

    #[test]
    fn pshufd_broadcast() {
        let mut env = CpuState::new_boxed();
        env.set_word(state::xmm(2), 0x2222_2222_1111_1111);
        env.set_word(state::xmm(2) + 8, 0x4444_4444_3333_3333);
        exec(
            &mut env,
            Op::Shufd as u64,
            state::xmm(3),
            state::xmm(2),
            0b1010_1010,
        );
        assert_eq!(env.word(state::xmm(3)), 0x3333_3333_3333_3333);
        assert_eq!(env.word(state::xmm(3) + 8), 0x3333_3333_3333_3333);
    }
}

#[cfg(test)]
mod swar_tests {
    use super::*;

    #[test]
    fn swar_adds_match_the_lane_loop() {
        let vals = [
            0u64,
            u64::MAX,
            0x8000_7fff_ff01_0080,
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0x7f7f_8080_ffff_0001,
        ];
        for op in [
            Op::AddB,
            Op::AddW,
            Op::AddD,
            Op::AddQ,
            Op::SubB,
            Op::SubW,
            Op::SubD,
            Op::SubQ,
        ] {
            for &a in &vals {
                for &b in &vals {
                    let want = compute(op, u128::from(a), u128::from(b), 0) as u64;
                    assert_eq!(half(op as u64, a, b), want, "{op:?} {a:#x} {b:#x}");
                }
            }
        }
    }
}
