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
}

const OPS: [Op; 36] = [
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
    let a = get(env, d);
    let eq = |x: u64, y: u64| if x == y { u64::MAX } else { 0 };
    let r = match op {
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
        Op::Movmskb => 0,
    };
    set(env, d, r);
    0
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
