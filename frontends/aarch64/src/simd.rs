//! AdvSIMD data processing, run by one helper over the V registers in the state: the lifter
//! checks at translate time that [`exec`] knows the encoding (else undefined instruction) and
//! emits a call passing the instruction bits. Elements are lanes of a `u128`.

use std::cell::Cell;

use crate::state;
use xlat_ir::abi::CpuState;

pub(crate) fn get_v(env: &CpuState, r: u32) -> u128 {
    let o = state::v(r as u8);
    u128::from(env.word(o)) | (u128::from(env.word(o + 8)) << 64)
}

pub(crate) fn set_v(env: &mut CpuState, r: u32, v: u128) {
    let o = state::v(r as u8);
    env.set_word(o, v as u64);
    env.set_word(o + 8, (v >> 64) as u64);
}

fn get_x(env: &CpuState, r: u32) -> u64 {
    if r == 31 {
        0
    } else {
        env.word(state::x(r as u8))
    }
}

fn set_x(env: &mut CpuState, r: u32, v: u64) {
    if r != 31 {
        env.set_word(state::x(r as u8), v);
    }
}

pub(crate) fn f(insn: u32, hi: u32, lo: u32) -> u32 {
    (insn >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

pub(crate) fn mask(esize: u32) -> u128 {
    if esize >= 128 {
        u128::MAX
    } else {
        (1u128 << esize) - 1
    }
}

pub(crate) fn lane(v: u128, i: u32, esize: u32) -> u64 {
    ((v >> (i * esize)) & mask(esize)) as u64
}

pub(crate) fn put(v: &mut u128, i: u32, esize: u32, x: u64) {
    let m = mask(esize) << (i * esize);
    *v = (*v & !m) | ((u128::from(x) << (i * esize)) & m);
}

pub(crate) fn sext(x: u64, esize: u32) -> i64 {
    ((x << (64 - esize)) as i64) >> (64 - esize)
}

/// Lane-wise map over `n` lanes.
fn map2(a: u128, b: u128, n: u32, es: u32, g: impl Fn(u64, u64) -> u64) -> u128 {
    let mut r = 0u128;
    for i in 0..n {
        put(&mut r, i, es, g(lane(a, i, es), lane(b, i, es)));
    }
    r
}

/// Clamps `v` to an es-bit signed (or unsigned) value, noting saturation in `sat`.
fn sat_to(v: i128, es: u32, signed: bool, sat: &Cell<bool>) -> u64 {
    let (lo, hi) = if signed {
        (-(1i128 << (es - 1)), (1i128 << (es - 1)) - 1)
    } else {
        (0, (1i128 << es) - 1)
    };
    if v < lo || v > hi {
        sat.set(true);
    }
    (v.clamp(lo, hi) as u64) & mask(es) as u64
}

/// Lane value as i128, sign-extended when `signed`.
fn wide(x: u64, es: u32, signed: bool) -> i128 {
    if signed {
        i128::from(sext(x, es))
    } else {
        i128::from(x)
    }
}

/// SSHL/USHL/SRSHL/URSHL/SQSHL/UQSHL/SQRSHL/UQRSHL: `x` shifted by the signed low byte of `y`
/// (negative: right, rounding when `round`), saturating when `sat` is given.
fn shift_reg(x: u64, y: u64, es: u32, signed: bool, round: bool, sat: Option<&Cell<bool>>) -> u64 {
    let sh = i64::from(y as u8 as i8);
    let v = wide(x, es, signed);
    let r: i128 = if sh >= 0 {
        if sh >= i64::from(es) {
            match sat {
                Some(_) if v != 0 => {
                    if v < 0 {
                        i128::MIN / 2
                    } else {
                        i128::MAX / 2
                    }
                }
                _ => 0,
            }
        } else {
            v << sh
        }
    } else {
        let r = (-sh).min(100) as u32;
        let add = if round { 1i128 << (r - 1) } else { 0 };
        (v + add) >> r
    };
    match sat {
        Some(c) => sat_to(r, es, signed, c),
        None => (r as u64) & mask(es) as u64,
    }
}

/// |x - y| of two values already extended to 64 bits (signed when `!u`).
fn absdiff(x: u64, y: u64, u: bool) -> u64 {
    if u {
        x.abs_diff(y)
    } else {
        (x as i64).abs_diff(y as i64)
    }
}

/// Carry-less product of two bytes (PMULL.8H).
fn clmul(x: u64, y: u64) -> u64 {
    (0..8).fold(
        0,
        |acc, i| if y >> i & 1 == 1 { acc ^ (x << i) } else { acc },
    )
}

/// Lane-wise map over `n` lanes of three vectors (the third usually the accumulator).
fn map3(a: u128, b: u128, c: u128, n: u32, es: u32, g: impl Fn(u64, u64, u64) -> u64) -> u128 {
    let mut r = 0u128;
    for i in 0..n {
        put(
            &mut r,
            i,
            es,
            g(lane(a, i, es), lane(b, i, es), lane(c, i, es)),
        );
    }
    r
}

fn ones(c: bool, es: u32) -> u64 {
    if c { mask(es) as u64 } else { 0 }
}

/// Executes AdvSIMD instruction `insn` on `env` when `apply`; returns whether it is
/// implemented (the lifter calls it with `apply` false on a scratch-free path: no state touched).
pub fn exec(env: Option<&mut CpuState>, insn: u32) -> bool {
    let q = f(insn, 30, 30) == 1;
    let u = f(insn, 29, 29) == 1;
    let (rd, rn, rm) = (f(insn, 4, 0), f(insn, 9, 5), f(insn, 20, 16));
    let size = f(insn, 23, 22);
    let bits = if q { 128 } else { 64 };
    let es = 8 << size;
    let n = bits / es;
    let full = mask(bits);
    let Some(env) = env else {
        return decode_only(insn);
    };
    let a = get_v(env, rn);
    let b = get_v(env, rm);
    let d = get_v(env, rd);
    let sat = Cell::new(false);
    let cls = class(insn);
    if int_reserved(cls, insn) {
        return false;
    }
    let res: u128 = match cls {
        Class::ThreeSame => {
            let op = f(insn, 15, 11);
            if op >= 0b11000 {
                return crate::fpvec::vec_three_same(env, insn);
            }
            match (op, u) {
                (0b10000, false) => map2(a, b, n, es, |x, y| x.wrapping_add(y)),
                (0b10000, true) => map2(a, b, n, es, |x, y| x.wrapping_sub(y)),
                (0b10001, true) => map2(a, b, n, es, |x, y| ones(x == y, es)),
                (0b10001, false) => map2(a, b, n, es, |x, y| ones(x & y != 0, es)),
                (0b00110, false) => map2(a, b, n, es, |x, y| ones(sext(x, es) > sext(y, es), es)),
                (0b00110, true) => map2(a, b, n, es, |x, y| ones(x > y, es)),
                (0b00111, false) => map2(a, b, n, es, |x, y| ones(sext(x, es) >= sext(y, es), es)),
                (0b00111, true) => map2(a, b, n, es, |x, y| ones(x >= y, es)),
                (0b01100, true) => map2(a, b, n, es, |x, y| x.max(y)),
                (0b01101, true) => map2(a, b, n, es, |x, y| x.min(y)),
                (0b01100, false) => {
                    map2(
                        a,
                        b,
                        n,
                        es,
                        |x, y| if sext(x, es) >= sext(y, es) { x } else { y },
                    )
                }
                (0b01101, false) => {
                    map2(
                        a,
                        b,
                        n,
                        es,
                        |x, y| if sext(x, es) <= sext(y, es) { x } else { y },
                    )
                }
                (0b10011, false) => map2(a, b, n, es, |x, y| x.wrapping_mul(y)),
                (0b10011, true) if size == 0 => map2(a, b, n, es, clmul),
                (0b10010, false) => {
                    map3(a, b, d, n, es, |x, y, c| c.wrapping_add(x.wrapping_mul(y)))
                }
                (0b10010, true) => {
                    map3(a, b, d, n, es, |x, y, c| c.wrapping_sub(x.wrapping_mul(y)))
                }
                (0b00001, _) => map2(a, b, n, es, |x, y| {
                    sat_to(wide(x, es, !u) + wide(y, es, !u), es, !u, &sat)
                }),
                (0b00101, _) => map2(a, b, n, es, |x, y| {
                    sat_to(wide(x, es, !u) - wide(y, es, !u), es, !u, &sat)
                }),
                (0b01000, _) => map2(a, b, n, es, |x, y| shift_reg(x, y, es, !u, false, None)),
                (0b01010, _) => map2(a, b, n, es, |x, y| shift_reg(x, y, es, !u, true, None)),
                (0b01001, _) => map2(a, b, n, es, |x, y| {
                    shift_reg(x, y, es, !u, false, Some(&sat))
                }),
                (0b01011, _) => map2(a, b, n, es, |x, y| {
                    shift_reg(x, y, es, !u, true, Some(&sat))
                }),
                (0b01110, _) => map2(a, b, n, es, |x, y| {
                    (wide(x, es, !u) - wide(y, es, !u)).unsigned_abs() as u64
                }),
                (0b01111, _) => map3(a, b, d, n, es, |x, y, c| {
                    c.wrapping_add((wide(x, es, !u) - wide(y, es, !u)).unsigned_abs() as u64)
                }),
                (0b10110, _) if size == 1 || size == 2 => map2(a, b, n, es, |x, y| {
                    let p = 2 * wide(x, es, true) * wide(y, es, true);
                    let rnd = if u { 1i128 << (es - 1) } else { 0 };
                    sat_to((p + rnd) >> es, es, true, &sat)
                }),
                (0b00000, true) => map2(a, b, n, es, |x, y| (x + y) >> 1),
                (0b00010, true) => map2(a, b, n, es, |x, y| (x + y + 1) >> 1),
                (0b00000, false) => map2(a, b, n, es, |x, y| {
                    ((sext(x, es) + sext(y, es)) >> 1) as u64
                }),
                (0b00010, false) => map2(a, b, n, es, |x, y| {
                    ((sext(x, es) + sext(y, es) + 1) >> 1) as u64
                }),
                (0b10111, false) | (0b10100, _) | (0b10101, _) => {
                    let g = |x: u64, y: u64| -> u64 {
                        match (op, u) {
                            (0b10111, _) => x.wrapping_add(y),
                            (0b10100, true) => x.max(y),
                            (0b10101, true) => x.min(y),
                            (0b10100, false) => {
                                if sext(x, es) >= sext(y, es) {
                                    x
                                } else {
                                    y
                                }
                            }
                            _ => {
                                if sext(x, es) <= sext(y, es) {
                                    x
                                } else {
                                    y
                                }
                            }
                        }
                    };
                    let cat = |i: u32| -> u64 {
                        if i < n {
                            lane(a, i, es)
                        } else {
                            lane(b, i - n, es)
                        }
                    };
                    let mut r = 0u128;
                    for i in 0..n {
                        put(&mut r, i, es, g(cat(2 * i), cat(2 * i + 1)));
                    }
                    r
                }
                (0b00011, false) => match size {
                    0 => a & b,
                    1 => a & !b,
                    2 => a | b,
                    _ => a | !b,
                },
                (0b00011, true) => match size {
                    0 => a ^ b,
                    1 => (d & a) | (!d & b),
                    2 => (d & !b) | (a & b),
                    _ => (d & b) | (a & !b),
                },
                _ => return false,
            }
        }
        Class::TwoMisc => {
            let op = f(insn, 16, 12);
            if op >= 0b01100 && !matches!(op, 0b10010..=0b10100) {
                return crate::fpvec::vec_misc(env, insn);
            }
            match (op, u) {
                (0b00101, false) => map2(a, 0, n, es, |x, _| u64::from(x.count_ones())),
                (0b00101, true) if size == 0 => !a,
                (0b00101, true) if size == 1 => map2(a, 0, bits / 8, 8, |x, _| {
                    u64::from((x as u8).reverse_bits())
                }),
                (0b00100, true) => map2(a, 0, n, es, |x, _| {
                    u64::from((x << (64 - es)).leading_zeros().min(es))
                }),
                (0b01001, false) => map2(a, 0, n, es, |x, _| ones(x == 0, es)),
                (0b00100, false) => map2(a, 0, n, es, |x, _| {
                    let s = sext(x, es);
                    let v = if s < 0 { !s } else { s };
                    u64::from((v << (64 - es)).leading_zeros().min(es)) - 1
                }),
                (0b00011, false) => map2(a, d, n, es, |x, acc| {
                    // SUQADD: signed accumulator plus unsigned operand, signed saturation.
                    sat_to(wide(acc, es, true) + wide(x, es, false), es, true, &sat)
                }),
                (0b00011, true) => map2(a, d, n, es, |x, acc| {
                    // USQADD: unsigned accumulator plus signed operand, unsigned saturation.
                    sat_to(wide(acc, es, false) + wide(x, es, true), es, false, &sat)
                }),
                (0b00111, false) => map2(a, 0, n, es, |x, _| {
                    sat_to(wide(x, es, true).abs(), es, true, &sat)
                }),
                (0b00111, true) => map2(a, 0, n, es, |x, _| {
                    sat_to(-wide(x, es, true), es, true, &sat)
                }),
                (0b00010, _) | (0b00110, _) if size < 3 => {
                    // [SU]ADDLP, [SU]ADALP: pairwise widening add (and accumulate).
                    let mut r = 0u128;
                    for i in 0..n / 2 {
                        let p =
                            wide(lane(a, 2 * i, es), es, !u) + wide(lane(a, 2 * i + 1, es), es, !u);
                        let acc = if op == 0b00110 { lane(d, i, 2 * es) } else { 0 };
                        put(&mut r, i, 2 * es, acc.wrapping_add(p as u64));
                    }
                    r
                }
                (0b10011, true) if size < 3 => {
                    // SHLL{2}: widen and shift left by the element size.
                    let src = if q { a >> 64 } else { a };
                    let mut r = 0u128;
                    for i in 0..64 / es {
                        put(&mut r, i, 2 * es, lane(src, i, es) << es);
                    }
                    return finish(env, rd, r);
                }
                (0b10100, _) | (0b10010, true) if size < 3 => {
                    // SQXTN, UQXTN, SQXTUN {2}: saturating narrow.
                    let half = 64 / es;
                    let signed_src = op == 0b10010 || !u;
                    let signed_dst = op == 0b10100 && !u;
                    let mut r = if q { d & mask(64) } else { 0 };
                    for i in 0..half {
                        let v = wide(lane(a, i, 2 * es), 2 * es, signed_src);
                        put(
                            &mut r,
                            i + if q { half } else { 0 },
                            es,
                            sat_to(v, es, signed_dst, &sat),
                        );
                    }
                    set_v(env, rd, r);
                    qc(env, &sat);
                    return true;
                }
                (0b01000, true) => map2(a, 0, n, es, |x, _| ones(sext(x, es) >= 0, es)),
                (0b01000, false) => map2(a, 0, n, es, |x, _| ones(sext(x, es) > 0, es)),
                (0b01001, true) => map2(a, 0, n, es, |x, _| ones(sext(x, es) <= 0, es)),
                (0b01010, false) => map2(a, 0, n, es, |x, _| ones(sext(x, es) < 0, es)),
                (0b01011, false) => map2(a, 0, n, es, |x, _| sext(x, es).unsigned_abs()),
                (0b01011, true) => map2(a, 0, n, es, |x, _| x.wrapping_neg()),
                (0b00000, _) | (0b00001, false) => {
                    // REV64 / REV32 / REV16: reverse es-bit elements within containers.
                    let cont = match (op, u) {
                        (0, false) => 64,
                        (0, true) => 32,
                        _ => 16,
                    };
                    let per = cont / es;
                    let mut r = 0u128;
                    for i in 0..n {
                        let base = i / per * per;
                        put(&mut r, base + (per - 1 - i % per), es, lane(a, i, es));
                    }
                    r
                }
                (0b10010, false) => {
                    // XTN/XTN2: narrow 2*es lanes of a into es lanes.
                    let half = 64 / es;
                    let mut r = if q { d & mask(64) } else { 0 };
                    for i in 0..half {
                        put(&mut r, i + if q { half } else { 0 }, es, lane(a, i, 2 * es));
                    }
                    return finish(env, rd, r);
                }
                _ => return false,
            }
        }
        Class::Across => {
            let op = f(insn, 16, 12);
            if op == 0b01100 || op == 0b01111 {
                return crate::fpvec::vec_across(env, insn);
            }
            let it = (0..n).map(|i| lane(a, i, es));
            let v: u64 = match (op, u) {
                (0b01010, true) => it.max().unwrap_or(0),
                (0b11010, true) => it.min().unwrap_or(0),
                (0b01010, false) => it.max_by_key(|x| sext(*x, es)).unwrap_or(0),
                (0b11010, false) => it.min_by_key(|x| sext(*x, es)).unwrap_or(0),
                (0b11011, false) => it.fold(0u64, |s, x| s.wrapping_add(x)) & mask(es) as u64,
                (0b00011, true) => it.fold(0u64, |s, x| s.wrapping_add(x)) & mask(2 * es) as u64,
                _ => return false,
            };
            u128::from(v)
        }
        Class::Copy => return copy(env, insn),
        Class::ModImm => return mod_imm(env, insn),
        Class::ShiftImm => {
            let immh = f(insn, 22, 19);
            let immhb = f(insn, 22, 16);
            let es = match immh {
                1 => 8,
                2 | 3 => 16,
                4..=7 => 32,
                _ => 64,
            };
            if es == 64 && !q {
                return false;
            }
            let n = bits / es;
            let op = f(insn, 15, 11);
            let rsh = 2 * es - immhb; // right shift amount
            let lsh = immhb - es; // left shift amount
            if op == 0b11100 || op == 0b11111 {
                return crate::fpvec::fixed(env, insn, false);
            }
            if es == 64 && (0b10000..=0b10100).contains(&op) {
                return false; // narrowing or widening from 64-bit lanes
            }
            match (op, u) {
                (0b00000, false) => map2(a, 0, n, es, |x, _| (sext(x, es) >> rsh.min(63)) as u64),
                (0b00000, true) => map2(a, 0, n, es, |x, _| if rsh >= 64 { 0 } else { x >> rsh }),
                (0b01010, false) => map2(a, 0, n, es, |x, _| x << lsh),
                (0b00010, true) => map2(a, d, n, es, |x, y| {
                    y.wrapping_add(if rsh >= 64 { 0 } else { x >> rsh })
                }),
                (0b00010, false) => map2(a, d, n, es, |x, y| {
                    y.wrapping_add((sext(x, es) >> rsh.min(63)) as u64)
                }),
                (0b00100, _) | (0b00110, _) => map2(a, d, n, es, |x, y| {
                    let v = (wide(x, es, !u) + (1i128 << (rsh - 1))) >> rsh;
                    let acc = if op == 0b00110 { y } else { 0 };
                    acc.wrapping_add(v as u64)
                }),
                (0b01000, true) => map2(a, d, n, es, |x, y| {
                    if rsh >= es {
                        y
                    } else {
                        let m = (mask(es) as u64) >> rsh;
                        (y & !m) | (x >> rsh)
                    }
                }),
                (0b01010, true) => map2(a, d, n, es, |x, y| {
                    let m = (mask(es) as u64) << lsh;
                    (y & !m) | (x << lsh)
                }),
                (0b01110, _) | (0b01100, true) => map2(a, 0, n, es, |x, _| {
                    // SQSHL, UQSHL, SQSHLU (immediate).
                    let signed_src = !u || op == 0b01100;
                    sat_to(wide(x, es, signed_src) << lsh, es, !u, &sat)
                }),
                (0b10000, true) | (0b10001, _) | (0b10010, _) | (0b10011, _) => {
                    // RSHRN, SQSHRUN, SQRSHRUN, [SU]Q[R]SHRN {2}: (rounding) saturating narrow.
                    let nes = es;
                    let half = 64 / nes;
                    let sh = 2 * nes - immhb;
                    let round = op & 1 == 1;
                    let signed_src = op < 0b10010 || !u;
                    let plain = op == 0b10001 && !u;
                    let signed_dst = op >= 0b10010 && !u;
                    let mut r = if q { d & mask(64) } else { 0 };
                    for i in 0..half {
                        let x = wide(lane(a, i, 2 * nes), 2 * nes, signed_src);
                        let x = (x + if round { 1i128 << (sh - 1) } else { 0 }) >> sh;
                        let v = if plain {
                            (x as u64) & mask(nes) as u64
                        } else {
                            sat_to(x, nes, signed_dst, &sat)
                        };
                        put(&mut r, i + if q { half } else { 0 }, nes, v);
                    }
                    set_v(env, rd, r);
                    qc(env, &sat);
                    return true;
                }
                (0b10000, false) => {
                    // SHRN{2}: narrow (es is the narrow size).
                    let nes = es;
                    let half = 64 / nes;
                    let sh = 2 * nes - immhb;
                    let mut r = if q { d & mask(64) } else { 0 };
                    for i in 0..half {
                        let x = lane(a, i, 2 * nes) >> sh;
                        put(&mut r, i + if q { half } else { 0 }, nes, x);
                    }
                    return finish(env, rd, r);
                }
                (0b10100, _) => {
                    // SSHLL/USHLL{2} (uxtl/sxtl): widen.
                    let half = 64 / es;
                    let src = if q { a >> 64 } else { a };
                    let mut r = 0u128;
                    for i in 0..half {
                        let x = lane(src, i, es);
                        let x = if u { x } else { sext(x, es) as u64 };
                        put(&mut r, i, 2 * es, x << lsh);
                    }
                    return finish(env, rd, r);
                }
                _ => return false,
            }
        }
        Class::Ext => {
            let pos = f(insn, 14, 11) * 8;
            if !q && pos >= 64 {
                return false;
            }
            if q {
                (a >> pos) | if pos == 0 { 0 } else { b << (128 - pos) }
            } else {
                ((a & mask(64)) >> pos) | ((b & mask(64)) << (64 - pos))
            }
        }
        Class::Tbl => {
            let len = f(insn, 14, 13) + 1;
            let tbx = f(insn, 12, 12) == 1;
            let mut table = [0u8; 64];
            for k in 0..len {
                let t = get_v(env, (rn + k) % 32).to_le_bytes();
                table[(16 * k) as usize..(16 * k + 16) as usize].copy_from_slice(&t);
            }
            let mut r = 0u128;
            for i in 0..bits / 8 {
                let idx = lane(b, i, 8) as u32;
                let v = if idx < 16 * len {
                    u64::from(table[idx as usize])
                } else if tbx {
                    lane(d, i, 8)
                } else {
                    0
                };
                put(&mut r, i, 8, v);
            }
            r
        }
        Class::Permute => {
            let op = f(insn, 14, 12);
            if es == 64 && !q {
                return false;
            }
            let mut r = 0u128;
            let half = n / 2;
            for i in 0..n {
                let v = match op {
                    1 | 5 => {
                        let part = u32::from(op == 5);
                        let j = 2 * i + part;
                        if j < n {
                            lane(a, j, es)
                        } else {
                            lane(b, j - n, es)
                        }
                    }
                    2 | 6 => {
                        let part = u32::from(op == 6);
                        let p = i / 2 * 2 + part;
                        if i % 2 == 0 {
                            lane(a, p, es)
                        } else {
                            lane(b, p, es)
                        }
                    }
                    3 | 7 => {
                        let base = if op == 7 { half } else { 0 };
                        let j = base + i / 2;
                        if i % 2 == 0 {
                            lane(a, j, es)
                        } else {
                            lane(b, j, es)
                        }
                    }
                    _ => return false,
                };
                put(&mut r, i, es, v);
            }
            r
        }
        Class::FmovGen => return fmov_gen(env, insn) || crate::fp::exec(env, insn),
        Class::ThreeDiff => {
            // Long and wide forms: [SU]ADD[LW], [SU]SUB[LW], [SU]MULL, [SU]MLAL, [SU]MLSL{2}.
            if size == 3 {
                return false;
            }
            let op = f(insn, 15, 12);
            let half = 64 / es;
            if op == 4 || op == 6 {
                // [R]ADDHN / [R]SUBHN{2}: the high halves of 2*es-bit sums, narrowed.
                let round = if u { 1u128 << (es - 1) } else { 0 };
                let mut r = if q { d & mask(64) } else { 0 };
                for i in 0..half {
                    let (x, y) = (lane(a, i, 2 * es) as u128, lane(b, i, 2 * es) as u128);
                    let s = if op == 4 { x + y } else { x.wrapping_sub(y) };
                    let v = (s.wrapping_add(round) >> es) as u64;
                    put(&mut r, i + if q { half } else { 0 }, es, v);
                }
                return finish(env, rd, r);
            }
            let hi = |v: u128| if q { v >> 64 } else { v };
            let ext = |x: u64| if u { x } else { sext(x, es) as u64 };
            let (na, nb) = (hi(a), hi(b));
            if matches!(op, 9 | 11 | 13) {
                // SQDMLAL, SQDMLSL, SQDMULL{2} (halves and words only).
                if u || es == 8 {
                    return false;
                }
                let mut r = 0u128;
                for i in 0..half {
                    let v = sqdml(
                        op,
                        lane(na, i, es),
                        lane(nb, i, es),
                        lane(d, i, 2 * es),
                        es,
                        &sat,
                    );
                    put(&mut r, i, 2 * es, v);
                }
                set_v(env, rd, r);
                qc(env, &sat);
                return true;
            }
            let mut r = 0u128;
            for i in 0..half {
                let y = ext(lane(nb, i, es));
                let x = match op {
                    1 | 3 => lane(a, i, 2 * es),
                    _ => ext(lane(na, i, es)),
                };
                let acc = lane(d, i, 2 * es);
                let v = match op {
                    0 | 1 => x.wrapping_add(y),
                    2 | 3 => x.wrapping_sub(y),
                    12 => x.wrapping_mul(y),
                    14 if !u && es == 8 => clmul(lane(na, i, es), lane(nb, i, es)),
                    5 => acc.wrapping_add(absdiff(x, y, u)),
                    7 => absdiff(x, y, u),
                    8 => acc.wrapping_add(x.wrapping_mul(y)),
                    10 => acc.wrapping_sub(x.wrapping_mul(y)),
                    _ => return false,
                };
                put(&mut r, i, 2 * es, v);
            }
            return finish(env, rd, r);
        }
        Class::Fp => return crate::fp::exec(env, insn),
        Class::Scalar => {
            return scalar(env, insn, a as u64, b as u64, d as u64)
                || crate::fpvec::scalar(env, insn);
        }
        Class::ByElem => {
            let scalar = insn & 0x4000_0000 != 0 && insn & 0x1000_0000 != 0;
            return crate::fpvec::by_elem(env, insn, scalar) || by_elem_int(env, insn, scalar);
        }
        Class::None => return false,
    };
    set_v(env, rd, res & full);
    qc(env, &sat);
    true
}

/// Integer AdvSIMD encodings whose size (with Q) is reserved.
fn int_reserved(cls: Class, insn: u32) -> bool {
    let q = f(insn, 30, 30) == 1;
    let u = f(insn, 29, 29) == 1;
    let size = f(insn, 23, 22);
    match cls {
        Class::ThreeSame => {
            let op = f(insn, 15, 11);
            op < 0b11000
                && op != 0b00011
                && size == 3
                && (!q
                    || matches!(
                        op,
                        0b00000
                            | 0b00010
                            | 0b00100
                            | 0b01100..=0b01111
                            | 0b10010..=0b10110
                    ))
        }
        Class::TwoMisc => {
            let op = f(insn, 16, 12);
            if op >= 0b01100 && !matches!(op, 0b10010..=0b10100) {
                return false; // floating point: checked there
            }
            match (op, u) {
                (0b00000, false) => size == 3,
                (0b00000, true) => size >= 2,
                (0b00001, false) => size != 0,
                (0b00101, false) => size != 0,
                (0b00101, true) => size >= 2,
                _ => {
                    size == 3
                        && (!q || matches!(op, 0b00010 | 0b00100 | 0b00110 | 0b10010..=0b10100))
                }
            }
        }
        Class::Across => {
            let op = f(insn, 16, 12);
            op != 0b01100 && op != 0b01111 && (size == 3 || (size == 2 && !q))
        }
        _ => false,
    }
}

/// Sets FPSR.QC when an operation saturated.
fn qc(env: &mut CpuState, sat: &Cell<bool>) {
    if sat.get() {
        env.set_word(state::FPSR, env.word(state::FPSR) | 1 << 27);
    }
}

/// SQDMLAL (`op` 9 in the three-different numbering), SQDMLSL (11) or SQDMULL (13) of one
/// es-bit lane pair into 2*es bits: the doubled product saturated, then the accumulation
/// saturated (both set `sat`).
fn sqdml(op: u32, x: u64, y: u64, acc: u64, es: u32, sat: &Cell<bool>) -> u64 {
    let p = sat_to(2 * wide(x, es, true) * wide(y, es, true), 2 * es, true, sat);
    let (p, acc) = (wide(p, 2 * es, true), wide(acc, 2 * es, true));
    match op {
        9 => sat_to(acc + p, 2 * es, true, sat),
        11 => sat_to(acc - p, 2 * es, true, sat),
        _ => p as u64 & mask(2 * es) as u64,
    }
}

/// SQDMULH (`round` false) or SQRDMULH of one es-bit lane pair.
fn sqdmulh(x: u64, y: u64, es: u32, round: bool, sat: &Cell<bool>) -> u64 {
    let p = 2 * wide(x, es, true) * wide(y, es, true);
    let rnd = if round { 1i128 << (es - 1) } else { 0 };
    sat_to((p + rnd) >> es, es, true, sat)
}

/// Integer by element: MUL, MLA, MLS, the long [SU]MULL, [SU]MLAL, [SU]MLSL{2}, and the
/// saturating SQDMLAL, SQDMLSL, SQDMULL{2}, SQDMULH and SQRDMULH (vector or `scalar`).
fn by_elem_int(env: &mut CpuState, insn: u32, scalar: bool) -> bool {
    let (q, u) = (f(insn, 30, 30) == 1, f(insn, 29, 29) == 1);
    let size = f(insn, 23, 22);
    let (l, h, m) = (f(insn, 21, 21), f(insn, 11, 11), f(insn, 20, 20));
    let (es, idx, rm) = match size {
        1 => (16, (h << 2) | (l << 1) | m, f(insn, 19, 16)),
        2 => (32, (h << 1) | l, f(insn, 20, 16)),
        _ => return false,
    };
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    let (a, d) = (get_v(env, rn), get_v(env, rd));
    let e = lane(get_v(env, rm), idx, es);
    let op = f(insn, 15, 12);
    let mut r = 0u128;
    let sat = Cell::new(false);
    match (op, u) {
        (0b0011 | 0b0111 | 0b1011, false) => {
            // SQDMLAL, SQDMLSL, SQDMULL{2} by element: the scalar forms use lane 0 only.
            let src = if q && !scalar { a >> 64 } else { a };
            let n = if scalar { 1 } else { 64 / es };
            let op3 = [9, 11, 13][(op >> 2) as usize];
            for i in 0..n {
                let v = sqdml(op3, lane(src, i, es), e, lane(d, i, 2 * es), es, &sat);
                put(&mut r, i, 2 * es, v);
            }
        }
        (0b1100 | 0b1101, false) => {
            let n = if scalar {
                1
            } else if q {
                128 / es
            } else {
                64 / es
            };
            for i in 0..n {
                put(
                    &mut r,
                    i,
                    es,
                    sqdmulh(lane(a, i, es), e, es, op == 0b1101, &sat),
                );
            }
        }
        _ if scalar => return false,
        (0b1000, false) | (0b0000, true) | (0b0100, true) => {
            let n = if q { 128 } else { 64 } / es;
            for i in 0..n {
                let p = lane(a, i, es).wrapping_mul(e);
                let acc = lane(d, i, es);
                let v = match op {
                    0b1000 => p,
                    0b0000 => acc.wrapping_add(p),
                    _ => acc.wrapping_sub(p),
                };
                put(&mut r, i, es, v);
            }
        }
        (0b1010, _) | (0b0010, _) | (0b0110, _) => {
            let src = if q { a >> 64 } else { a };
            let ext = |x: u64| if u { x } else { sext(x, es) as u64 };
            for i in 0..64 / es {
                let p = ext(lane(src, i, es)).wrapping_mul(ext(e));
                let acc = lane(d, i, 2 * es);
                let v = match op {
                    0b1010 => p,
                    0b0010 => acc.wrapping_add(p),
                    _ => acc.wrapping_sub(p),
                };
                put(&mut r, i, 2 * es, v);
            }
        }
        _ => return false,
    }
    set_v(env, rd, r);
    qc(env, &sat);
    true
}

/// 64-bit scalar forms: ADDP (pair), shifts by immediate, three-same and two-reg misc.
fn scalar(env: &mut CpuState, insn: u32, a: u64, b: u64, d: u64) -> bool {
    let u = f(insn, 29, 29) == 1;
    let rd = f(insn, 4, 0);
    let a_full = get_v(env, f(insn, 9, 5));
    let r: u64 =
        if insn & 0xdf80_0400 == 0x5f00_0400 && matches!(f(insn, 15, 11), 0b11100 | 0b11111) {
            return crate::fpvec::fixed(env, insn, true);
        } else if insn & 0xffe0_fc00 == 0x5e00_0400 {
            // DUP (element, scalar): mov bN/hN/sN/dN, vM.T[i].
            let imm5 = f(insn, 20, 16);
            if imm5 & 0xf == 0 {
                return false;
            }
            let sz = imm5.trailing_zeros();
            lane(a_full, imm5 >> (sz + 1), 8 << sz)
        } else if insn & 0xffff_fc00 == 0x5ef1_b800 {
            (a_full as u64).wrapping_add((a_full >> 64) as u64)
        } else if insn & 0xdf80_0400 == 0x5f00_0400 {
            let immhb = f(insn, 22, 16);
            if immhb < 64 {
                return false;
            }
            let (rsh, lsh) = (128 - immhb, immhb - 64);
            let ushr = if rsh >= 64 { 0 } else { a >> rsh };
            match (f(insn, 15, 11), u) {
                (0b00000, false) => ((a as i64) >> rsh.min(63)) as u64,
                (0b00000, true) => ushr,
                (0b00010, true) => d.wrapping_add(ushr),
                (0b00010, false) => d.wrapping_add(((a as i64) >> rsh.min(63)) as u64),
                (0b01010, false) => a << lsh,
                (0b01010, true) => (a << lsh) | (d & ((1u64 << lsh) - 1)),
                (0b01000, true) => {
                    let m = if rsh >= 64 { 0 } else { u64::MAX >> rsh };
                    ushr | (d & !m)
                }
                _ => return false,
            }
        } else if insn & 0xdf20_0c00 == 0x5e20_0000 && matches!(f(insn, 15, 12), 9 | 11 | 13) {
            // SQDMLAL, SQDMLSL, SQDMULL (scalar): Hn x Hm into Sd, or Sn x Sm into Dd.
            let es = 8 << f(insn, 23, 22);
            if u || !matches!(es, 16 | 32) {
                return false;
            }
            let sat = Cell::new(false);
            let v = sqdml(
                f(insn, 15, 12),
                lane(u128::from(a), 0, es),
                lane(u128::from(b), 0, es),
                d,
                es,
                &sat,
            );
            set_v(env, rd, u128::from(v));
            qc(env, &sat);
            return true;
        } else if insn & 0xdf20_0400 == 0x5e20_0400
            && (matches!(f(insn, 15, 11), 0b00001 | 0b00101 | 0b01001 | 0b01011)
                || (f(insn, 15, 11) == 0b10110 && matches!(f(insn, 23, 22), 1 | 2)))
        {
            // Saturating three-same (scalar, any size): [SU]QADD, [SU]QSUB, [SU]QSHL,
            // [SU]QRSHL, SQDMULH, SQRDMULH.
            let es = 8 << f(insn, 23, 22);
            let (x, y) = (lane(u128::from(a), 0, es), lane(u128::from(b), 0, es));
            let sat = Cell::new(false);
            let v = match f(insn, 15, 11) {
                0b00001 => sat_to(wide(x, es, !u) + wide(y, es, !u), es, !u, &sat),
                0b00101 => sat_to(wide(x, es, !u) - wide(y, es, !u), es, !u, &sat),
                0b01001 => shift_reg(x, y, es, !u, false, Some(&sat)),
                0b01011 => shift_reg(x, y, es, !u, true, Some(&sat)),
                _ => sqdmulh(x, y, es, u, &sat),
            };
            set_v(env, rd, u128::from(v));
            qc(env, &sat);
            return true;
        } else if f(insn, 23, 22) == 3 && f(insn, 21, 21) == 1 && f(insn, 10, 10) == 1 {
            let c = |x: bool| if x { u64::MAX } else { 0 };
            match (f(insn, 15, 11), u) {
                (0b10000, false) => a.wrapping_add(b),
                (0b10000, true) => a.wrapping_sub(b),
                (0b10001, true) => c(a == b),
                (0b10001, false) => c(a & b != 0),
                (0b00110, false) => c((a as i64) > (b as i64)),
                (0b00110, true) => c(a > b),
                (0b00111, false) => c((a as i64) >= (b as i64)),
                (0b00111, true) => c(a >= b),
                _ => return false,
            }
        } else if insn & 0x003f_fc00 == 0x0020_3800 {
            // SUQADD/USQADD (scalar, any size): saturating, sets QC.
            let es = 8 << f(insn, 23, 22);
            let (x, acc) = (lane(u128::from(a), 0, es), lane(u128::from(d), 0, es));
            let sat = Cell::new(false);
            let v = if u {
                sat_to(wide(acc, es, false) + wide(x, es, true), es, false, &sat)
            } else {
                sat_to(wide(acc, es, true) + wide(x, es, false), es, true, &sat)
            };
            set_v(env, rd, u128::from(v));
            qc(env, &sat);
            return true;
        } else if f(insn, 23, 22) == 3 && insn & 0x003e_0c00 == 0x0020_0800 {
            let c = |x: bool| if x { u64::MAX } else { 0 };
            let s = a as i64;
            match (f(insn, 16, 12), u) {
                (0b01001, false) => c(a == 0),
                (0b01000, true) => c(s >= 0),
                (0b01000, false) => c(s > 0),
                (0b01001, true) => c(s <= 0),
                (0b01010, false) => c(s < 0),
                (0b01011, false) => s.unsigned_abs(),
                (0b01011, true) => a.wrapping_neg(),
                _ => return false,
            }
        } else {
            return false;
        };
    set_v(env, rd, u128::from(r));
    true
}

fn finish(env: &mut CpuState, rd: u32, r: u128) -> bool {
    set_v(env, rd, r);
    true
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    ThreeSame,
    TwoMisc,
    Across,
    Copy,
    ModImm,
    ShiftImm,
    Ext,
    Tbl,
    Permute,
    FmovGen,
    ThreeDiff,
    Scalar,
    ByElem,
    Fp,
    None,
}

pub(crate) fn class(insn: u32) -> Class {
    if insn & 0x9f20_0400 == 0x0e20_0400 {
        Class::ThreeSame
    } else if insn & 0xdf00_0000 == 0x5e00_0000 || insn & 0xdf80_0400 == 0x5f00_0400 {
        Class::Scalar
    } else if insn & 0x9f00_0400 == 0x0f00_0000 || insn & 0xdf00_0400 == 0x5f00_0000 {
        Class::ByElem
    } else if insn & 0x9f20_0c00 == 0x0e20_0000 {
        Class::ThreeDiff
    } else if insn & 0x9f3e_0c00 == 0x0e20_0800 {
        Class::TwoMisc
    } else if insn & 0x9f3e_0c00 == 0x0e30_0800 {
        Class::Across
    } else if insn & 0x9fe0_8400 == 0x0e00_0400 {
        Class::Copy
    } else if insn & 0x9ff8_0400 == 0x0f00_0400 {
        Class::ModImm
    } else if insn & 0x9f80_0400 == 0x0f00_0400 {
        Class::ShiftImm
    } else if insn & 0xbfe0_8400 == 0x2e00_0000 {
        Class::Ext
    } else if insn & 0xbfe0_8c00 == 0x0e00_0000 {
        Class::Tbl
    } else if insn & 0xbf20_8c00 == 0x0e00_0800 {
        Class::Permute
    } else if insn & 0x7f20_fc00 == 0x1e20_0000 {
        Class::FmovGen
    } else if insn & 0x5e00_0000 == 0x1e00_0000 {
        Class::Fp
    } else {
        Class::None
    }
}

/// Whether [`exec`] implements `insn`: runs it on a scratch state.
fn decode_only(insn: u32) -> bool {
    if class(insn) == Class::None {
        return false;
    }
    let mut scratch = CpuState::new_boxed();
    exec(Some(&mut scratch), insn)
}

/// DUP (element, general), INS (element, general), UMOV, SMOV.
fn copy(env: &mut CpuState, insn: u32) -> bool {
    let q = f(insn, 30, 30) == 1;
    let op = f(insn, 29, 29);
    let imm5 = f(insn, 20, 16);
    let imm4 = f(insn, 14, 11);
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    if imm5 & 0xf == 0 {
        return false;
    }
    let sz = imm5.trailing_zeros();
    let es = 8 << sz;
    let idx = imm5 >> (sz + 1);
    let bits = if q { 128 } else { 64 };
    let a = get_v(env, rn);
    let mut d = get_v(env, rd);
    match (op, imm4) {
        (0, 0) | (0, 1) => {
            if es == 64 && !q {
                return false;
            }
            let x = if imm4 == 0 {
                lane(a, idx, es)
            } else {
                get_x(env, rn) & mask(es) as u64
            };
            let mut r = 0u128;
            for i in 0..bits / es {
                put(&mut r, i, es, x);
            }
            set_v(env, rd, r);
        }
        (0, 3) if q => {
            put(&mut d, idx, es, get_x(env, rn));
            set_v(env, rd, d);
        }
        (0, 7) | (0, 5) => {
            let signed = imm4 == 5;
            // UMOV: 64-bit lanes need Q=1 (x), narrower Q=0 (w); SMOV: lanes below 64 bits.
            if (!signed && q != (es == 64)) || (signed && (es >= 64 || (es == 32 && !q))) {
                return false;
            }
            let x = lane(a, idx, es);
            let x = if signed {
                let s = sext(x, es) as u64;
                if q { s } else { s & 0xffff_ffff }
            } else {
                x
            };
            set_x(env, rd, x);
        }
        (1, _) if q => {
            let idx2 = imm4 >> sz;
            put(&mut d, idx, es, lane(a, idx2, es));
            set_v(env, rd, d);
        }
        _ => return false,
    }
    true
}

/// MOVI, MVNI, ORR/BIC (vector, immediate), FMOV (vector, immediate).
fn mod_imm(env: &mut CpuState, insn: u32) -> bool {
    let q = f(insn, 30, 30) == 1;
    let op = f(insn, 29, 29);
    let cmode = f(insn, 15, 12);
    let rd = f(insn, 4, 0);
    if f(insn, 11, 11) == 1 {
        return false;
    }
    let imm8 = u64::from((f(insn, 18, 16) << 5) | f(insn, 9, 5));
    let imm64: u64 = match cmode >> 1 {
        0..=3 => {
            let v = imm8 << (8 * (cmode >> 1));
            v | (v << 32)
        }
        4 | 5 => {
            let v = imm8 << (8 * ((cmode >> 1) & 1));
            v * 0x0001_0001_0001_0001
        }
        6 => {
            let v = if cmode & 1 == 0 {
                (imm8 << 8) | 0xff
            } else {
                (imm8 << 16) | 0xffff
            };
            v | (v << 32)
        }
        _ => {
            if cmode & 1 == 1 {
                // FMOV (vector, immediate): single lanes (op 0) or doubles (op 1, Q=1).
                let (sign, b6, frac) = ((imm8 >> 7) & 1, (imm8 >> 6) & 1, imm8 & 0x3f);
                if op == 0 {
                    let e = ((b6 ^ 1) << 7) | if b6 == 1 { 0x1f << 2 } else { 0 } | (frac >> 4);
                    let w = (sign << 31) | (e << 23) | ((frac & 0xf) << 19);
                    w | (w << 32)
                } else if q {
                    let e = ((b6 ^ 1) << 10) | if b6 == 1 { 0xff << 2 } else { 0 } | (frac >> 4);
                    (sign << 63) | (e << 52) | ((frac & 0xf) << 48)
                } else {
                    return false;
                }
            } else if op == 0 {
                imm8 * 0x0101_0101_0101_0101
            } else {
                (0..8).fold(0u64, |acc, i| {
                    acc | if imm8 >> i & 1 == 1 {
                        0xff << (8 * i)
                    } else {
                        0
                    }
                })
            }
        }
    };
    let imm = u128::from(imm64) | (u128::from(imm64) << 64);
    let full = mask(if q { 128 } else { 64 });
    let d = get_v(env, rd);
    let is_movi = cmode >> 1 == 7 || cmode & 1 == 0 || cmode >> 2 == 3;
    let r = if cmode >> 1 == 7 {
        imm
    } else if is_movi {
        if op == 0 { imm } else { !imm }
    } else if op == 0 {
        d | imm
    } else {
        d & !imm
    };
    set_v(env, rd, r & full);
    true
}

/// FMOV between general and SIMD&FP registers (32/64-bit, and the top half of a V register).
fn fmov_gen(env: &mut CpuState, insn: u32) -> bool {
    let sf = f(insn, 31, 31);
    let ty = f(insn, 23, 22);
    let rmode = f(insn, 20, 19);
    let opcode = f(insn, 18, 16);
    let (rd, rn) = (f(insn, 4, 0), f(insn, 9, 5));
    match (sf, ty, rmode, opcode) {
        (0, 0, 0, 6) => set_x(env, rd, get_v(env, rn) as u64 & 0xffff_ffff),
        (0, 0, 0, 7) => set_v(env, rd, u128::from(get_x(env, rn) & 0xffff_ffff)),
        (1, 1, 0, 6) => set_x(env, rd, get_v(env, rn) as u64),
        (1, 1, 0, 7) => set_v(env, rd, u128::from(get_x(env, rn))),
        (1, 2, 1, 6) => set_x(env, rd, (get_v(env, rn) >> 64) as u64),
        (1, 2, 1, 7) => {
            let v = get_v(env, rd) & mask(64);
            set_v(env, rd, v | (u128::from(get_x(env, rn)) << 64));
        }
        _ => return false,
    }
    true
}

/// The helper: executes `insn` (a0); returns 0.
pub extern "C" fn helper_simd(env: &mut CpuState, insn: u64, _: u64, _: u64, _: u64) -> u64 {
    exec(Some(env), insn as u32);
    0
}

/// The AdvSIMD helper (reads and writes X and V registers).
pub static SIMD: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_simd",
    func: helper_simd,
    nargs: 1,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: None,
};

/// The state words an instruction that touches no general register can use: V0-V31, FPCR,
/// FPSR and NZCV (FCMP, FCCMP, FCSEL).
pub(crate) static V_WORDS: [u32; 69] = {
    let mut w = [0u32; 69];
    let mut i = 0;
    while i < 32 {
        w[2 * i] = state::v(i as u8);
        w[2 * i + 1] = state::v(i as u8) + 8;
        i += 1;
    }
    w[64] = state::FPCR;
    w[65] = state::FPSR;
    w[66] = state::FK;
    w[67] = state::FA;
    w[68] = state::FB;
    w
};

/// [`SIMD`] for instructions that touch no general register: the backend keeps the unit's
/// cached general registers across the call.
pub static SIMD_V: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_simd_v",
    func: helper_simd,
    nargs: 1,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: Some(&V_WORDS),
};

/// Whether `insn` (an implemented AdvSIMD/FP encoding) reads or writes a general register.
pub fn touches_x(insn: u32) -> bool {
    match class(insn) {
        Class::Copy | Class::FmovGen => true,
        // FP <-> fixed-point conversions (bit 21 clear).
        Class::Fp => insn & 0x5f20_0000 == 0x1e00_0000,
        _ => false,
    }
}
