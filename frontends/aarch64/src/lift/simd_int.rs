//! Integer AdvSIMD forms that compiled code (gcc -O2/-O3 auto-vectorised loops) uses, lifted
//! lane by lane into IR on i64 temps instead of calling the [`crate::simd`] helper: each lane is
//! extracted from its 64-bit word (zero- or sign-extended), computed in 64 bits and packed back.
//! Covered: three-same compares, min/max (and pairwise), MUL/MLA/MLS, ADDP, SSHL/USHL,
//! saturating add/sub ([`super::simd_sat`]); two-reg misc
//! NEG/ABS, compares against zero, XTN{2}, NOT; shifts by immediate SSHR, [SU]SRA, SHRN{2},
//! [SU]SHLL{2}; three-different [SU]ADD[LW], [SU]SUB[LW], [SU]MULL, [SU]MLAL, [SU]MLSL{2};
//! UZP/ZIP/TRN; EXT; TBL/TBX; ADDV/[SU]MAXV/[SU]MINV/[SU]ADDLV; MUL/MLA/MLS and the long forms by element;
//! SMOV. The caller has already checked the encoding is defined (so reserved sizes never get
//! here), and the helper stays the reference: the differential suite compares both with qemu.

use super::LiftCx;
use crate::simd::{Class, class};
use crate::state;
use xlat_ir::{Cond, Opcode, Temp, Ty};

/// The mask of an `es`-bit lane.
fn lmask(es: u32) -> u64 {
    if es >= 64 { u64::MAX } else { (1 << es) - 1 }
}

fn get_w(cx: &mut LiftCx, r: u32, h: u32) -> Temp {
    cx.b.get_reg(Ty::I64, state::v(r as u8) + 8 * h)
}

/// The `es`-bit lane at bit `pos` of word `w`, zero- or sign-extended to 64 bits.
fn extract(cx: &mut LiftCx, w: Temp, pos: u32, es: u32, signed: bool) -> Temp {
    if es == 64 {
        return w;
    }
    if signed {
        let top = 64 - pos - es;
        let l = if top == 0 {
            w
        } else {
            cx.b.binop_imm(Opcode::Shl, w, u64::from(top))
        };
        cx.b.binop_imm(Opcode::Sar, l, u64::from(64 - es))
    } else if pos + es == 64 {
        cx.b.binop_imm(Opcode::Shr, w, u64::from(pos))
    } else {
        let l = if pos == 0 {
            w
        } else {
            cx.b.binop_imm(Opcode::Shr, w, u64::from(pos))
        };
        cx.b.binop_imm(Opcode::And, l, lmask(es))
    }
}

/// The lanes of one word.
fn word_lanes(cx: &mut LiftCx, w: Temp, es: u32, signed: bool) -> Vec<Temp> {
    (0..64 / es)
        .map(|i| extract(cx, w, i * es, es, signed))
        .collect()
}

/// The lanes of `v{r}`: its low word, and its high word too when `q`.
fn lanes(cx: &mut LiftCx, r: u32, q: bool, es: u32, signed: bool) -> Vec<Temp> {
    let mut out = Vec::new();
    for h in 0..if q { 2 } else { 1 } {
        let w = get_w(cx, r, h);
        out.extend(word_lanes(cx, w, es, signed));
    }
    out
}

/// The lanes of one half (`hi`: the upper) of `v{r}`.
fn half_lanes(cx: &mut LiftCx, r: u32, hi: bool, es: u32, signed: bool) -> Vec<Temp> {
    let w = get_w(cx, r, u32::from(hi));
    word_lanes(cx, w, es, signed)
}

/// Packs `es`-bit lanes (only their low bits count) into 64-bit words.
fn pack(cx: &mut LiftCx, lanes: &[Temp], es: u32) -> Vec<Temp> {
    lanes
        .chunks((64 / es) as usize)
        .map(|ch| {
            let mut acc: Option<Temp> = None;
            for (i, &l) in (0u32..).zip(ch) {
                let pos = i * es;
                let v = if es == 64 {
                    l
                } else if pos + es == 64 {
                    cx.b.binop_imm(Opcode::Shl, l, u64::from(pos))
                } else {
                    let m = cx.b.binop_imm(Opcode::And, l, lmask(es));
                    if pos == 0 {
                        m
                    } else {
                        cx.b.binop_imm(Opcode::Shl, m, u64::from(pos))
                    }
                };
                acc = Some(match acc {
                    None => v,
                    Some(a) => cx.b.binop(Opcode::Or, a, v),
                });
            }
            acc.expect("a word has lanes")
        })
        .collect()
}

/// Writes the words of a result to `v{rd}`, zeroing the high word of a 64-bit result.
fn set_words(cx: &mut LiftCx, rd: u32, words: &[Temp]) {
    let o = state::v(rd as u8);
    for (h, v) in (0u32..).zip(words) {
        cx.b.set_reg(o + 8 * h, *v);
    }
    if words.len() == 1 {
        let z = cx.b.konst(Ty::I64, 0);
        cx.b.set_reg(o + 8, z);
    }
}

/// Packs `lanes` and writes them to `v{rd}`.
fn set_lanes(cx: &mut LiftCx, rd: u32, lanes: &[Temp], es: u32) {
    let w = pack(cx, lanes, es);
    set_words(cx, rd, &w);
}

/// Writes a narrowed 64-bit result to the low half of `v{rd}` (zeroing the high), or for the
/// "2" forms to the high half (keeping the low).
fn set_narrow(cx: &mut LiftCx, rd: u32, q: bool, lanes: &[Temp], es: u32) {
    let w = pack(cx, lanes, es)[0];
    if q {
        cx.b.set_reg(state::v(rd as u8) + 8, w);
    } else {
        set_words(cx, rd, &[w]);
    }
}

/// All ones when `c` holds (0/1 temp), else 0.
fn ones(cx: &mut LiftCx, c: Temp) -> Temp {
    cx.b.unop(Opcode::Neg, c)
}

fn cmp_mask(cx: &mut LiftCx, cond: Cond, a: Temp, b: Temp) -> Temp {
    let c = cx.b.setcond(cond, a, b);
    ones(cx, c)
}

/// Lifts `cx.insn` when it is one of the forms above; false leaves it to the helper (nothing
/// emitted then).
pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let insn = cx.insn;
    let q = cx.f(30, 30) == 1;
    let u = cx.f(29, 29) == 1;
    let size = cx.f(23, 22);
    let (rd, rn, rm) = (cx.f(4, 0), cx.f(9, 5), cx.f(20, 16));
    let es = 8u32 << size;
    match class(insn) {
        Class::ThreeSame => three_same(cx, q, u, es, rd, rn, rm),
        Class::TwoMisc => two_misc(cx, q, u, es, rd, rn),
        Class::ShiftImm => shift_imm(cx, q, u, rd, rn),
        Class::ThreeDiff => three_diff(cx, q, u, es, rd, rn, rm),
        Class::Permute => {
            let op = cx.f(14, 12);
            permute(cx, op, q, es, rd, rn, rm)
        }
        Class::Ext => {
            let pos = cx.f(14, 11) * 8;
            ext(cx, q, pos, rd, rn, rm)
        }
        Class::Across => across(cx, q, u, es, rd, rn),
        Class::Tbl => tbl(cx, q, rd, rn, rm),
        Class::ByElem if insn & 0x1000_0000 == 0 => by_elem(cx, q, u, size, rd, rn),
        Class::Copy if !u && cx.f(14, 11) == 0b0101 => smov(cx, q, rd, rn),
        _ => false,
    }
}

/// SSHL/USHL: each lane of `v{rn}` shifted left by the signed bottom byte of the same lane of
/// `v{rm}` (right, arithmetic for SSHL, when negative), computed on the lane extended to 64
/// bits with the amount clamped to 63 (which gives the architecture's result for narrower
/// lanes) and the 64-bit lane's shifts by 64 or more selected explicitly.
fn shift_reg(cx: &mut LiftCx, q: bool, u: bool, es: u32, (rd, rn, rm): (u32, u32, u32)) -> bool {
    if es == 64 && !q {
        return false;
    }
    let signed = !u;
    let a = lanes(cx, rn, q, es, signed);
    let mut sh = Vec::new();
    for h in 0..if q { 2 } else { 1 } {
        let w = get_w(cx, rm, h);
        for i in 0..64 / es {
            sh.push(extract(cx, w, i * es, 8, true));
        }
    }
    let zero = cx.b.konst(Ty::I64, 0);
    let r: Vec<Temp> = a
        .iter()
        .zip(&sh)
        .map(|(&x, &n)| {
            let left_n = cx.b.binop_imm(Opcode::MinU, n, 63);
            let left = cx.b.binop(Opcode::Shl, x, left_n);
            let neg = cx.b.unop(Opcode::Neg, n);
            let right_n = cx.b.binop_imm(Opcode::MinU, neg, 63);
            let op = if signed { Opcode::Sar } else { Opcode::Shr };
            let right = cx.b.binop(op, x, right_n);
            let (left, right) = if es == 64 {
                let k = cx.b.konst(Ty::I64, 64);
                let l = cx.b.select(Cond::Lt, n, k, left, zero);
                let r = if signed {
                    right
                } else {
                    cx.b.select(Cond::Lt, neg, k, right, zero)
                };
                (l, r)
            } else {
                (left, right)
            };
            cx.b.select(Cond::Ge, n, zero, left, right)
        })
        .collect();
    set_lanes(cx, rd, &r, es);
    true
}

/// TBL/TBX: each result byte picks its table word (of the 1-4 registers from `v{rn}`) with a
/// chain of selects on index / 8, then the byte within it by a shift; indexes past the table
/// give 0 (TBL) or keep the destination byte (TBX).
fn tbl(cx: &mut LiftCx, q: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let len = cx.f(14, 13) + 1;
    let tbx = cx.f(12, 12) == 1;
    let mut table = Vec::new();
    for k in 0..len {
        for h in 0..2 {
            table.push(get_w(cx, (rn + k) % 32, h));
        }
    }
    let idx = lanes(cx, rm, q, 8, false);
    let old = if tbx {
        lanes(cx, rd, q, 8, false)
    } else {
        Vec::new()
    };
    let zero = cx.b.konst(Ty::I64, 0);
    let limit = cx.b.konst(Ty::I64, u64::from(16 * len));
    let mut out = Vec::new();
    for (i, &x) in idx.iter().enumerate() {
        let wi = cx.b.binop_imm(Opcode::Shr, x, 3);
        let mut w = table[0];
        for (j, &t) in table.iter().enumerate().skip(1) {
            let k = cx.b.konst(Ty::I64, j as u64);
            w = cx.b.select(Cond::Eq, wi, k, t, w);
        }
        let b = cx.b.binop_imm(Opcode::And, x, 7);
        let sh = cx.b.binop_imm(Opcode::Shl, b, 3);
        let byte = cx.b.binop(Opcode::Shr, w, sh);
        let byte = cx.b.binop_imm(Opcode::And, byte, 0xff);
        let other = if tbx { old[i] } else { zero };
        out.push(cx.b.select(Cond::Ltu, x, limit, byte, other));
    }
    set_lanes(cx, rd, &out, 8);
    true
}

fn three_same(cx: &mut LiftCx, q: bool, u: bool, es: u32, rd: u32, rn: u32, rm: u32) -> bool {
    let op = cx.f(15, 11);
    if op == 0b01000 {
        return shift_reg(cx, q, u, es, (rd, rn, rm));
    }
    if matches!(op, 0b00001 | 0b00101) && es < 64 {
        super::simd_sat::three_same(cx, (q, u, es), op == 0b00101, (rd, rn, rm));
        return true;
    }
    let signed = !u
        && matches!(
            op,
            0b00110 | 0b00111 | 0b01100 | 0b01101 | 0b10100 | 0b10101
        );
    match (op, u) {
        (0b10001, _) | (0b00110, _) | (0b00111, _) | (0b01100, _) | (0b01101, _) => {}
        (0b10011, false) | (0b10010, _) | (0b10111, false) | (0b10100, _) | (0b10101, _) => {}
        _ => return false,
    }
    let a = lanes(cx, rn, q, es, signed);
    let b = lanes(cx, rm, q, es, signed);
    let r: Vec<Temp> = match op {
        0b10111 | 0b10100 | 0b10101 => {
            // Pairwise over the concatenation a:b.
            let cat: Vec<Temp> = a.iter().chain(b.iter()).copied().collect();
            cat.chunks(2)
                .map(|p| {
                    let o = match (op, signed) {
                        (0b10111, _) => Opcode::Add,
                        (0b10100, true) => Opcode::MaxS,
                        (0b10100, false) => Opcode::MaxU,
                        (_, true) => Opcode::MinS,
                        (_, false) => Opcode::MinU,
                    };
                    cx.b.binop(o, p[0], p[1])
                })
                .collect()
        }
        0b10010 => {
            let d = lanes(cx, rd, q, es, false);
            (0..a.len())
                .map(|i| {
                    let p = cx.b.binop(Opcode::Mul, a[i], b[i]);
                    let o = if u { Opcode::Sub } else { Opcode::Add };
                    cx.b.binop(o, d[i], p)
                })
                .collect()
        }
        _ => (0..a.len())
            .map(|i| {
                let (x, y) = (a[i], b[i]);
                match op {
                    0b10001 if u => cmp_mask(cx, Cond::Eq, x, y),
                    0b10001 => {
                        let t = cx.b.binop(Opcode::And, x, y);
                        let z = cx.b.konst(Ty::I64, 0);
                        cmp_mask(cx, Cond::Ne, t, z)
                    }
                    0b00110 => {
                        let c = if u { Cond::Gtu } else { Cond::Gt };
                        cmp_mask(cx, c, x, y)
                    }
                    0b00111 => {
                        let c = if u { Cond::Geu } else { Cond::Ge };
                        cmp_mask(cx, c, x, y)
                    }
                    0b01100 => {
                        let o = if u { Opcode::MaxU } else { Opcode::MaxS };
                        cx.b.binop(o, x, y)
                    }
                    0b01101 => {
                        let o = if u { Opcode::MinU } else { Opcode::MinS };
                        cx.b.binop(o, x, y)
                    }
                    _ => cx.b.binop(Opcode::Mul, x, y),
                }
            })
            .collect(),
    };
    set_lanes(cx, rd, &r, es);
    true
}

fn two_misc(cx: &mut LiftCx, q: bool, u: bool, es: u32, rd: u32, rn: u32) -> bool {
    let op = cx.f(16, 12);
    match (op, u) {
        (0b00101, true) if es == 8 => {
            // NOT.
            let mut w = Vec::new();
            for h in 0..if q { 2 } else { 1 } {
                let x = get_w(cx, rn, h);
                w.push(cx.b.unop(Opcode::Not, x));
            }
            set_words(cx, rd, &w);
            true
        }
        (0b00101, false) if es == 8 => {
            // CNT: bits set in each byte (SWAR on whole words).
            let mut w = Vec::new();
            for h in 0..if q { 2 } else { 1 } {
                let x = get_w(cx, rn, h);
                let t = cx.b.binop_imm(Opcode::Shr, x, 1);
                let t = cx.b.binop_imm(Opcode::And, t, 0x5555_5555_5555_5555);
                let x = cx.b.binop(Opcode::Sub, x, t);
                let lo = cx.b.binop_imm(Opcode::And, x, 0x3333_3333_3333_3333);
                let hi = cx.b.binop_imm(Opcode::Shr, x, 2);
                let hi = cx.b.binop_imm(Opcode::And, hi, 0x3333_3333_3333_3333);
                let x = cx.b.binop(Opcode::Add, lo, hi);
                let t = cx.b.binop_imm(Opcode::Shr, x, 4);
                let x = cx.b.binop(Opcode::Add, x, t);
                w.push(cx.b.binop_imm(Opcode::And, x, 0x0f0f_0f0f_0f0f_0f0f));
            }
            set_words(cx, rd, &w);
            true
        }
        (0b10010, false) => {
            // XTN{2}: the low halves of the 2*es-bit lanes of v{rn}.
            let a = lanes(cx, rn, true, 2 * es, false);
            set_narrow(cx, rd, q, &a, es);
            true
        }
        (0b01011, _) | (0b01000, _) | (0b01001, _) | (0b01010, false) => {
            let a = lanes(cx, rn, q, es, true);
            let z = cx.b.konst(Ty::I64, 0);
            let r: Vec<Temp> = a
                .iter()
                .map(|&x| match (op, u) {
                    (0b01011, true) => cx.b.unop(Opcode::Neg, x),
                    (0b01011, false) => {
                        let n = cx.b.unop(Opcode::Neg, x);
                        cx.b.select(Cond::Lt, x, z, n, x)
                    }
                    (0b01000, false) => cmp_mask(cx, Cond::Gt, x, z),
                    (0b01000, true) => cmp_mask(cx, Cond::Ge, x, z),
                    (0b01001, false) => cmp_mask(cx, Cond::Eq, x, z),
                    (0b01001, true) => cmp_mask(cx, Cond::Le, x, z),
                    _ => cmp_mask(cx, Cond::Lt, x, z),
                })
                .collect();
            set_lanes(cx, rd, &r, es);
            true
        }
        _ => false,
    }
}

fn shift_imm(cx: &mut LiftCx, q: bool, u: bool, rd: u32, rn: u32) -> bool {
    let (immh, immhb) = (cx.f(22, 19), cx.f(22, 16));
    let es = 8u32 << (31 - immh.leading_zeros()).min(3);
    let op = cx.f(15, 11);
    let rsh = 2 * es - immhb;
    let lsh = immhb.wrapping_sub(es);
    match (op, u) {
        (0b00000, false) | (0b00010, _) => {
            // SSHR, SSRA, USRA.
            let signed = !u;
            let a = lanes(cx, rn, q, es, signed);
            let acc = if op == 0b00010 {
                Some(lanes(cx, rd, q, es, false))
            } else {
                None
            };
            let r: Vec<Temp> = (0..a.len())
                .map(|i| {
                    let s = if signed {
                        cx.b.binop_imm(Opcode::Sar, a[i], u64::from(rsh.min(63)))
                    } else if rsh >= 64 {
                        cx.b.konst(Ty::I64, 0)
                    } else {
                        cx.b.binop_imm(Opcode::Shr, a[i], u64::from(rsh))
                    };
                    match &acc {
                        Some(d) => cx.b.binop(Opcode::Add, d[i], s),
                        None => s,
                    }
                })
                .collect();
            set_lanes(cx, rd, &r, es);
            true
        }
        (0b10000, false) if es < 64 => {
            // SHRN{2}: es is the narrow size.
            let a = lanes(cx, rn, true, 2 * es, false);
            let r: Vec<Temp> = a
                .iter()
                .map(|&x| cx.b.binop_imm(Opcode::Shr, x, u64::from(rsh)))
                .collect();
            set_narrow(cx, rd, q, &r, es);
            true
        }
        (0b10100, _) if es < 64 => {
            // [SU]SHLL{2} (sxtl/uxtl).
            let a = half_lanes(cx, rn, q, es, !u);
            let r: Vec<Temp> = a
                .iter()
                .map(|&x| {
                    if lsh == 0 {
                        x
                    } else {
                        cx.b.binop_imm(Opcode::Shl, x, u64::from(lsh))
                    }
                })
                .collect();
            set_lanes(cx, rd, &r, 2 * es);
            true
        }
        _ => false,
    }
}

fn three_diff(cx: &mut LiftCx, q: bool, u: bool, es: u32, rd: u32, rn: u32, rm: u32) -> bool {
    let op = cx.f(15, 12);
    if es == 64 || !matches!(op, 0 | 1 | 2 | 3 | 8 | 10 | 12) {
        return false;
    }
    let signed = !u;
    let b = half_lanes(cx, rm, q, es, signed);
    let a = if op == 1 || op == 3 {
        lanes(cx, rn, true, 2 * es, false)
    } else {
        half_lanes(cx, rn, q, es, signed)
    };
    let d = if op == 8 || op == 10 {
        lanes(cx, rd, true, 2 * es, false)
    } else {
        Vec::new()
    };
    let r: Vec<Temp> = (0..b.len())
        .map(|i| {
            let (x, y) = (a[i], b[i]);
            match op {
                0 | 1 => cx.b.binop(Opcode::Add, x, y),
                2 | 3 => cx.b.binop(Opcode::Sub, x, y),
                12 => cx.b.binop(Opcode::Mul, x, y),
                8 => {
                    let p = cx.b.binop(Opcode::Mul, x, y);
                    cx.b.binop(Opcode::Add, d[i], p)
                }
                _ => {
                    let p = cx.b.binop(Opcode::Mul, x, y);
                    cx.b.binop(Opcode::Sub, d[i], p)
                }
            }
        })
        .collect();
    set_lanes(cx, rd, &r, 2 * es);
    true
}

fn permute(cx: &mut LiftCx, op: u32, q: bool, es: u32, rd: u32, rn: u32, rm: u32) -> bool {
    if !matches!(op, 1 | 2 | 3 | 5 | 6 | 7) {
        return false;
    }
    let a = lanes(cx, rn, q, es, false);
    let b = lanes(cx, rm, q, es, false);
    let n = a.len();
    let r: Vec<Temp> = (0..n)
        .map(|i| match op {
            1 | 5 => {
                let j = 2 * i + usize::from(op == 5);
                if j < n { a[j] } else { b[j - n] }
            }
            2 | 6 => {
                let p = i / 2 * 2 + usize::from(op == 6);
                if i % 2 == 0 { a[p] } else { b[p] }
            }
            _ => {
                let j = if op == 7 { n / 2 } else { 0 } + i / 2;
                if i % 2 == 0 { a[j] } else { b[j] }
            }
        })
        .collect();
    set_lanes(cx, rd, &r, es);
    true
}

/// EXT: bytes `pos..` of the concatenation m:n.
fn ext(cx: &mut LiftCx, q: bool, pos: u32, rd: u32, rn: u32, rm: u32) -> bool {
    // The source words in order: n's, then m's.
    let mut src = Vec::new();
    for r in [rn, rm] {
        for h in 0..if q { 2 } else { 1 } {
            src.push(get_w(cx, r, h));
        }
    }
    let mut out = Vec::new();
    for h in 0..if q { 2 } else { 1 } {
        let bit = pos + 64 * h;
        let (w, sh) = ((bit / 64) as usize, u64::from(bit % 64));
        let r = if sh == 0 {
            src[w]
        } else {
            let lo = cx.b.binop_imm(Opcode::Shr, src[w], sh);
            let hi = cx.b.binop_imm(Opcode::Shl, src[w + 1], 64 - sh);
            cx.b.binop(Opcode::Or, lo, hi)
        };
        out.push(r);
    }
    set_words(cx, rd, &out);
    true
}

fn across(cx: &mut LiftCx, q: bool, u: bool, es: u32, rd: u32, rn: u32) -> bool {
    let op = cx.f(16, 12);
    let (o, signed, res_es) = match (op, u) {
        (0b11011, false) => (Opcode::Add, false, es),
        (0b00011, _) => (Opcode::Add, !u, 2 * es),
        (0b01010, true) => (Opcode::MaxU, false, es),
        (0b11010, true) => (Opcode::MinU, false, es),
        (0b01010, false) => (Opcode::MaxS, true, es),
        (0b11010, false) => (Opcode::MinS, true, es),
        _ => return false,
    };
    let a = lanes(cx, rn, q, es, signed);
    let mut acc = a[0];
    for &x in &a[1..] {
        acc = cx.b.binop(o, acc, x);
    }
    let r = if res_es == 64 {
        acc
    } else {
        cx.b.binop_imm(Opcode::And, acc, lmask(res_es))
    };
    set_words(cx, rd, &[r]);
    true
}

/// Integer by element (vector forms): MUL, MLA, MLS, [SU]MULL, [SU]MLAL, [SU]MLSL{2}.
fn by_elem(cx: &mut LiftCx, q: bool, u: bool, size: u32, rd: u32, rn: u32) -> bool {
    let op = cx.f(15, 12);
    let (l, h, m) = (cx.f(21, 21), cx.f(11, 11), cx.f(20, 20));
    let (es, idx, rm) = match size {
        1 => (16, (h << 2) | (l << 1) | m, cx.f(19, 16)),
        2 => (32, (h << 1) | l, cx.f(20, 16)),
        _ => return false,
    };
    let long = match (op, u) {
        (0b1000, false) | (0b0000, true) | (0b0100, true) => false,
        (0b1010, _) | (0b0010, _) | (0b0110, _) => true,
        _ => return false,
    };
    let signed = long && !u;
    let ew = get_w(cx, rm, (idx * es) / 64);
    let e = extract(cx, ew, (idx * es) % 64, es, signed);
    let (a, d, res_es) = if long {
        let a = half_lanes(cx, rn, q, es, signed);
        let d = if op == 0b1010 {
            Vec::new()
        } else {
            lanes(cx, rd, true, 2 * es, false)
        };
        (a, d, 2 * es)
    } else {
        let a = lanes(cx, rn, q, es, false);
        let d = if op == 0b1000 {
            Vec::new()
        } else {
            lanes(cx, rd, q, es, false)
        };
        (a, d, es)
    };
    let r: Vec<Temp> = (0..a.len())
        .map(|i| {
            let p = cx.b.binop(Opcode::Mul, a[i], e);
            match op {
                0b1000 | 0b1010 => p,
                0b0000 | 0b0010 => cx.b.binop(Opcode::Add, d[i], p),
                _ => cx.b.binop(Opcode::Sub, d[i], p),
            }
        })
        .collect();
    set_lanes(cx, rd, &r, res_es);
    true
}

/// SMOV: a sign-extended lane to `Wd` (zero-extended to 64 bits) or `Xd`.
fn smov(cx: &mut LiftCx, q: bool, rd: u32, rn: u32) -> bool {
    let imm5 = cx.f(20, 16);
    let sz = imm5.trailing_zeros().min(3);
    let es = 8u32 << sz;
    let idx = imm5 >> (sz + 1);
    let w = get_w(cx, rn, (idx * es) / 64);
    let x = extract(cx, w, (idx * es) % 64, es, true);
    cx.set_x(rd, x, q);
    true
}
