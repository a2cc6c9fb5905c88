//! Packed integer operations on one 64-bit half of an xmm register, emitted inline as
//! integer IR (SIMD within a register): the lane-wise ops gcc's vectorised loops and glibc's
//! string functions use most (add/sub, unsigned saturating add/sub, unsigned byte min/max,
//! compares for equality and signed greater-than, 16-bit multiplies, interleaves, lane
//! shifts, psadbw, the saturating packs). Each
//! function returns `None` for an op it does not inline; the caller then uses the helper.

use super::Cx;
use crate::sse::Op;
use xlat_ir::{Cond, Opcode, Temp};

/// Each lane's top bit, for lanes of 1, 2, 4 bytes.
fn top(w: u32) -> u64 {
    match w {
        1 => 0x8080_8080_8080_8080,
        2 => 0x8000_8000_8000_8000,
        _ => 0x8000_0000_8000_0000,
    }
}

/// Each lane's low bit, for lanes of 1, 2, 4 bytes.
fn low(w: u32) -> u64 {
    match w {
        1 => 0x0101_0101_0101_0101,
        2 => 0x0001_0001_0001_0001,
        _ => 0x0000_0001_0000_0001,
    }
}

/// Lane-wise add without carries between lanes.
fn add(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let h = top(w);
    let a7 = cx.opi(Opcode::And, a, !h);
    let b7 = cx.opi(Opcode::And, b, !h);
    let s = cx.op(Opcode::Add, a7, b7);
    let x = cx.op(Opcode::Xor, a, b);
    let xh = cx.opi(Opcode::And, x, h);
    cx.op(Opcode::Xor, s, xh)
}

/// Lane-wise subtract without borrows between lanes.
fn sub(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let h = top(w);
    let ah = cx.opi(Opcode::Or, a, h);
    let b7 = cx.opi(Opcode::And, b, !h);
    let d = cx.op(Opcode::Sub, ah, b7);
    let x = cx.op(Opcode::XorN, a, b);
    let xh = cx.opi(Opcode::And, x, h);
    cx.op(Opcode::Xor, d, xh)
}

/// Widens each lane's top bit (the rest of the lane zero) to the whole lane.
fn widen_top(cx: &mut Cx, m: Temp, w: u32) -> Temp {
    let one = cx.opi(Opcode::Shr, m, u64::from(w * 8 - 1));
    let rest = cx.op(Opcode::Sub, m, one);
    cx.op(Opcode::Or, m, rest)
}

/// All ones in each lane where `a` and `b` are equal.
fn cmpeq(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let h = top(w);
    let x = cx.op(Opcode::Xor, a, b);
    // Top bit set in each lane where x's lane is not zero.
    let lo = cx.opi(Opcode::And, x, !h);
    let lo = cx.opi(Opcode::Add, lo, !h);
    let nz = cx.op(Opcode::Or, lo, x);
    let nzh = cx.opi(Opcode::And, nz, h);
    let e = cx.opi(Opcode::Xor, nzh, h);
    widen_top(cx, e, w)
}

/// All ones in each lane of `x` that is not zero.
fn nonzero(cx: &mut Cx, x: Temp, w: u32) -> Temp {
    let h = top(w);
    let lo = cx.opi(Opcode::And, x, !h);
    let lo = cx.opi(Opcode::Add, lo, !h);
    let nz = cx.op(Opcode::Or, lo, x);
    let nzh = cx.opi(Opcode::And, nz, h);
    widen_top(cx, nzh, w)
}

/// All ones in each lane where `a` > `b` (signed): with the sign bits flipped, unsigned
/// greater-than, which is a non-zero saturating difference.
fn cmpgt(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let h = top(w);
    let a = cx.opi(Opcode::Xor, a, h);
    let b = cx.opi(Opcode::Xor, b, h);
    let d = subus(cx, a, b, w);
    nonzero(cx, d, w)
}

/// psadbw on one half: the sum of the eight absolute byte differences, zero-extended.
pub(super) fn sadbw(cx: &mut Cx, a: Temp, b: Temp) -> Temp {
    let d1 = subus(cx, a, b, 1);
    let d2 = subus(cx, b, a, 1);
    let ad = cx.op(Opcode::Or, d1, d2);
    let even = cx.opi(Opcode::And, ad, 0x00ff_00ff_00ff_00ff);
    let odd = cx.opi(Opcode::Shr, ad, 8);
    let odd = cx.opi(Opcode::And, odd, 0x00ff_00ff_00ff_00ff);
    let s = cx.op(Opcode::Add, even, odd);
    // The four 16-bit sums (at most 2040 in all) added into the top lane.
    let t = cx.opi(Opcode::Mul, s, 0x0001_0001_0001_0001);
    cx.opi(Opcode::Shr, t, 48)
}

/// The saturating packs on one result half from the two source words `lo`, `hi` (lanes of
/// `from` bytes, 2 or 4, signed) into lanes of half the size: signed saturation (`lo_lim`
/// = -2^(bits-1)) or unsigned (`lo_lim` = 0).
pub(super) fn pack(cx: &mut Cx, lo: Temp, hi: Temp, from: u32, unsigned: bool) -> Temp {
    let bits = u64::from(from * 8);
    let to = bits / 2;
    let (min, max): (i64, i64) = if unsigned {
        (0, (1 << to) - 1)
    } else {
        (-(1 << (to - 1)), (1 << (to - 1)) - 1)
    };
    let n = 64 / bits;
    let (kmin, kmax) = (cx.k(min as u64), cx.k(max as u64));
    let mut acc: Option<Temp> = None;
    for (j, &v) in [lo, hi].iter().enumerate() {
        for i in 0..n {
            let s = if i == n - 1 {
                v
            } else {
                cx.opi(Opcode::Shl, v, 64 - bits * (i + 1))
            };
            let x = cx.opi(Opcode::Sar, s, 64 - bits);
            let x = cx.b.select(Cond::Lt, x, kmin, kmin, x);
            let x = cx.b.select(Cond::Gt, x, kmax, kmax, x);
            let x = cx.zext(x, (to / 8) as u32);
            let at = to * (j as u64 * n + i);
            let x = if at == 0 {
                x
            } else {
                cx.opi(Opcode::Shl, x, at)
            };
            acc = Some(match acc {
                None => x,
                Some(a) => cx.op(Opcode::Or, a, x),
            });
        }
    }
    acc.expect("lanes")
}

/// Lane `i` (16-bit lanes) of `v` sign-extended to 64 bits.
fn sword(cx: &mut Cx, v: Temp, i: u64) -> Temp {
    let s = if i == 3 {
        v
    } else {
        cx.opi(Opcode::Shl, v, 48 - 16 * i)
    };
    cx.opi(Opcode::Sar, s, 48)
}

/// Lane `i` (16-bit lanes) of `v` zero-extended.
fn uword(cx: &mut Cx, v: Temp, i: u64) -> Temp {
    let s = if i == 0 {
        v
    } else {
        cx.opi(Opcode::Shr, v, 16 * i)
    };
    if i == 3 { s } else { cx.zext(s, 2) }
}

/// Combines per-lane values (each with junk above bit 16 allowed after `shift`) into one
/// word: lane i = bits `shift..shift+16` of `v[i]`.
fn pack16(cx: &mut Cx, v: &[Temp; 4], shift: u64) -> Temp {
    let mut acc: Option<Temp> = None;
    for (i, &p) in v.iter().enumerate() {
        let dst = 16 * i as u64;
        let moved = if dst >= shift {
            if dst == shift {
                p
            } else {
                cx.opi(Opcode::Shl, p, dst - shift)
            }
        } else {
            cx.opi(Opcode::Shr, p, shift - dst)
        };
        let lane = if i == 3 && dst >= shift {
            // Shifting left by 48+ leaves only the lane's bits (and those above 64 are gone).
            if shift == 0 {
                moved
            } else {
                cx.opi(Opcode::And, moved, 0xffff << dst)
            }
        } else {
            cx.opi(Opcode::And, moved, 0xffff << dst)
        };
        acc = Some(match acc {
            None => lane,
            Some(a) => cx.op(Opcode::Or, a, lane),
        });
    }
    acc.expect("four lanes")
}

/// Lane-wise unsigned saturating subtract (psubus*): the wrapped difference, zero in the
/// lanes that borrowed.
fn subus(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let d = sub(cx, a, b, w);
    // Borrow out of each lane's top bit: (~a & b) | (~(a ^ b) & d).
    let nab = cx.op(Opcode::AndN, b, a);
    let x = cx.op(Opcode::XorN, a, b);
    let xd = cx.op(Opcode::And, x, d);
    let bo = cx.op(Opcode::Or, nab, xd);
    let bo = cx.opi(Opcode::And, bo, top(w));
    let m = widen_top(cx, bo, w);
    cx.op(Opcode::AndN, d, m)
}

/// Lane-wise unsigned saturating add (paddus*): all ones in the lanes that carried.
fn addus(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let s = add(cx, a, b, w);
    // Carry out of each lane's top bit: (a & b) | ((a | b) & ~s).
    let ab = cx.op(Opcode::And, a, b);
    let o = cx.op(Opcode::Or, a, b);
    let os = cx.op(Opcode::AndN, o, s);
    let co = cx.op(Opcode::Or, ab, os);
    let co = cx.opi(Opcode::And, co, top(w));
    let m = widen_top(cx, co, w);
    cx.op(Opcode::Or, s, m)
}

/// pmullw / pmulhw / pmulhuw on one half.
fn mul16(cx: &mut Cx, op: Op, a: Temp, b: Temp) -> Temp {
    let mut p = [a; 4];
    for (i, slot) in p.iter_mut().enumerate() {
        let i = i as u64;
        *slot = match op {
            // The low 16 bits of a product depend only on the low 16 bits of the factors.
            Op::MulLW => {
                let (x, y) = if i == 0 {
                    (a, b)
                } else {
                    (
                        cx.opi(Opcode::Shr, a, 16 * i),
                        cx.opi(Opcode::Shr, b, 16 * i),
                    )
                };
                cx.op(Opcode::Mul, x, y)
            }
            Op::MulHW => {
                let x = sword(cx, a, i);
                let y = sword(cx, b, i);
                cx.op(Opcode::Mul, x, y)
            }
            _ => {
                let x = uword(cx, a, i);
                let y = uword(cx, b, i);
                cx.op(Opcode::Mul, x, y)
            }
        };
    }
    let shift = if op == Op::MulLW { 0 } else { 16 };
    pack16(cx, &p, shift)
}

/// pmaddwd on one half: two 32-bit lanes, each the sum of two signed 16x16 products.
fn maddwd(cx: &mut Cx, a: Temp, b: Temp) -> Temp {
    let mut s = [a; 2];
    for (k, slot) in s.iter_mut().enumerate() {
        let i = 2 * k as u64;
        let x0 = sword(cx, a, i);
        let y0 = sword(cx, b, i);
        let p0 = cx.op(Opcode::Mul, x0, y0);
        let x1 = sword(cx, a, i + 1);
        let y1 = sword(cx, b, i + 1);
        let p1 = cx.op(Opcode::Mul, x1, y1);
        *slot = cx.op(Opcode::Add, p0, p1);
    }
    let lo = cx.zext(s[0], 4);
    let hi = cx.opi(Opcode::Shl, s[1], 32);
    cx.op(Opcode::Or, lo, hi)
}

/// One 64-bit half of the lane-wise `op` on halves `a` (destination) and `b` (source), or
/// `None` if not inlined.
pub(super) fn half(cx: &mut Cx, op: Op, a: Temp, b: Temp) -> Option<Temp> {
    Some(match op {
        Op::AddB => add(cx, a, b, 1),
        Op::AddW => add(cx, a, b, 2),
        Op::AddD => add(cx, a, b, 4),
        Op::AddQ => cx.op(Opcode::Add, a, b),
        Op::SubB => sub(cx, a, b, 1),
        Op::SubW => sub(cx, a, b, 2),
        Op::SubD => sub(cx, a, b, 4),
        Op::SubQ => cx.op(Opcode::Sub, a, b),
        Op::CmpEqB => cmpeq(cx, a, b, 1),
        Op::CmpEqW => cmpeq(cx, a, b, 2),
        Op::CmpEqD => cmpeq(cx, a, b, 4),
        Op::CmpGtB => cmpgt(cx, a, b, 1),
        Op::CmpGtW => cmpgt(cx, a, b, 2),
        Op::CmpGtD => cmpgt(cx, a, b, 4),
        Op::MulLW | Op::MulHW | Op::MulHUW => mul16(cx, op, a, b),
        Op::MaddWD => maddwd(cx, a, b),
        Op::SubUsB => subus(cx, a, b, 1),
        Op::SubUsW => subus(cx, a, b, 2),
        Op::AddUsB => addus(cx, a, b, 1),
        Op::AddUsW => addus(cx, a, b, 2),
        // min = a - (a -us b), max = b + (a -us b).
        Op::MinUB => {
            let d = subus(cx, a, b, 1);
            sub(cx, a, d, 1)
        }
        Op::MaxUB => {
            let d = subus(cx, a, b, 1);
            add(cx, b, d, 1)
        }
        _ => return None,
    })
}

/// Spreads the lanes of the 32-bit value `x` (bits above 32 zero) of `w` bytes (1 or 2)
/// to every other lane of a 64-bit word.
fn spread(cx: &mut Cx, x: Temp, w: u32) -> Temp {
    let t = cx.opi(Opcode::Shl, x, 16);
    let t = cx.op(Opcode::Or, x, t);
    let t = cx.opi(Opcode::And, t, 0x0000_ffff_0000_ffff);
    if w == 2 {
        return t;
    }
    let u = cx.opi(Opcode::Shl, t, 8);
    let u = cx.op(Opcode::Or, t, u);
    cx.opi(Opcode::And, u, 0x00ff_00ff_00ff_00ff)
}

/// Interleaves the lanes (`w` = 1 or 2 bytes) of the 32-bit values `a` and `b` (bits above
/// 32 zero): a's lanes at the even positions.
pub(super) fn zip32(cx: &mut Cx, a: Temp, b: Temp, w: u32) -> Temp {
    let sa = spread(cx, a, w);
    let sb = spread(cx, b, w);
    let sb = cx.opi(Opcode::Shl, sb, u64::from(w * 8));
    cx.op(Opcode::Or, sa, sb)
}

/// A lane shift (`SllW/D`, `SrlW/D`, `SraW/D`) by the constant `n` on one half.
pub(super) fn shift_imm(cx: &mut Cx, op: Op, v: Temp, n: u64) -> Option<Temp> {
    let (w, kind) = match op {
        Op::SllW => (2, 0),
        Op::SllD => (4, 0),
        Op::SrlW => (2, 1),
        Op::SrlD => (4, 1),
        Op::SraW => (2, 2),
        Op::SraD => (4, 2),
        _ => return None,
    };
    let bits = u64::from(w * 8);
    let lane = (1u64 << bits) - 1;
    let rep = |m: u64| m.wrapping_mul(low(w));
    if n >= bits && kind != 2 {
        return Some(cx.k(0));
    }
    let n = n.min(bits - 1);
    Some(match kind {
        0 => {
            let s = cx.opi(Opcode::Shl, v, n);
            cx.opi(Opcode::And, s, rep((lane << n) & lane))
        }
        1 => {
            let s = cx.opi(Opcode::Shr, v, n);
            cx.opi(Opcode::And, s, rep(lane >> n))
        }
        _ => {
            if n == 0 {
                return Some(v);
            }
            let s = cx.opi(Opcode::Shr, v, n);
            let s = cx.opi(Opcode::And, s, rep(lane >> n));
            // Lanes whose sign was set get their top n bits filled.
            let sg = cx.opi(Opcode::And, v, top(w));
            let sg = cx.opi(Opcode::Shr, sg, bits - 1);
            let fill = cx.opi(Opcode::Mul, sg, (lane >> (bits - n)) << (bits - n));
            cx.op(Opcode::Or, s, fill)
        }
    })
}
