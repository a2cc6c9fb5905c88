//! Scalar FP and the common vector FP arithmetic lifted into IR float ops through the shared
//! fast path ([`xlat_ir::fp`]): the host computes when FPCR has the default RMode, FZ and DN,
//! FPSR.IXC is already set and operands and result are ordinary; otherwise [`crate::fp::FP_SLOW`]
//! computes the exact Arm result and flags. Moves, FABS/FNEG and FCSEL are plain bit operations;
//! FCMP/FCMPE compare inline unless an operand is a NaN or FPCR is not the default. Anything
//! else is left to the AdvSIMD/FP helper.

use super::LiftCx;
use crate::fp::{FP_SLOW, slow};
use crate::fpcore::{FPCR_MODE_BITS, IXC};
use crate::state;
use xlat_ir::fp::{self as ffp, FastPath, Flags, FpOp};
use xlat_ir::{Cond, FCond, FRound, Opcode, Temp, Ty};

fn fty(es: u32) -> Ty {
    if es == 64 { Ty::I64 } else { Ty::I32 }
}

fn sign(es: u32) -> u64 {
    1 << (es - 1)
}

/// Nonzero when FPCR.RMode, FZ and DN are all clear.
fn fpcr_ok(cx: &mut LiftCx) -> Temp {
    let f = cx.b.get_reg(Ty::I64, state::FPCR);
    let m = cx.b.binop_imm(Opcode::And, f, FPCR_MODE_BITS);
    let z = cx.b.konst(Ty::I64, 0);
    cx.b.setcond(Cond::Eq, m, z)
}

/// The low `es` bits of `v{r}` as a temp of the float's width.
fn get_f(cx: &mut LiftCx, r: u32, es: u32) -> Temp {
    let w = cx.b.get_reg(Ty::I64, state::v(r as u8));
    if es == 64 { w } else { cx.b.trunc(w) }
}

fn to64(cx: &mut LiftCx, v: Temp) -> Temp {
    if cx.b.ty(v) == Ty::I64 {
        v
    } else {
        cx.b.extu(v)
    }
}

/// Writes a scalar result to `v{rd}`, zeroing the rest of the register.
fn set_f(cx: &mut LiftCx, rd: u32, v: Temp) {
    let w = to64(cx, v);
    cx.b.set_reg(state::v(rd as u8), w);
    let z = cx.b.konst(Ty::I64, 0);
    cx.b.set_reg(state::v(rd as u8) + 8, z);
}

fn neg(cx: &mut LiftCx, v: Temp, es: u32) -> Temp {
    cx.b.binop_imm(Opcode::Xor, v, sign(es))
}

/// `op` on `args` with the fast path; `code` is the [`slow`] operation (with its size and
/// detail bits) and `slow_args` its operands.
fn fast(cx: &mut LiftCx, op: FpOp, ty: Ty, args: &[Temp], code: u64, slow_args: &[Temp]) -> Temp {
    let ok = fpcr_ok(cx);
    let p = FastPath {
        op,
        ty,
        args,
        flags: Flags::Sticky {
            off: state::FPSR,
            ty: Ty::I64,
            mask: u64::from(IXC),
        },
        ok: Some(ok),
    };
    ffp::gen_fast_path(&mut cx.b, &p, |b| {
        let mut a = vec![b.konst(Ty::I64, code)];
        for &t in slow_args {
            a.push(if b.ty(t) == Ty::I64 { t } else { b.extu(t) });
        }
        while a.len() < 4 {
            a.push(b.konst(Ty::I64, 0));
        }
        b.call(&FP_SLOW, &a)
    })
}

/// A binary arithmetic op (`opc` as in the scalar 2-source encoding: 0 FMUL, 1 FDIV, 2 FADD,
/// 3 FSUB, 8 FNMUL) on two floats of size `es`.
fn arith2(cx: &mut LiftCx, opc: u32, a: Temp, b: Temp, es: u32) -> Temp {
    let (op, code) = match opc {
        0 => (FpOp::Mul, slow::MUL),
        1 => (FpOp::Div, slow::DIV),
        2 => (FpOp::Add, slow::ADD),
        3 => (FpOp::Sub, slow::SUB),
        _ => (FpOp::Mul, slow::NMUL),
    };
    let code = code | u64::from(es) << 8;
    if opc == 8 {
        // -(a * b) is (-a) * b for every non-NaN result; NaNs take the slow path.
        let na = neg(cx, a, es);
        return fast(cx, op, fty(es), &[na, b], code, &[a, b]);
    }
    fast(cx, op, fty(es), &[a, b], code, &[a, b])
}

/// `acc + n * m` (already negated as the instruction asks).
fn fma(cx: &mut LiftCx, acc: Temp, n: Temp, m: Temp, es: u32) -> Temp {
    let code = slow::FMA | u64::from(es) << 8;
    fast(cx, FpOp::Fma, fty(es), &[n, m, acc], code, &[n, m, acc])
}

/// Emits `body` (the instruction done inline) when FPCR is the default and none of `vals`
/// (floats of size `es`) is a NaN; otherwise the AdvSIMD/FP helper runs the instruction.
fn unless_nan(cx: &mut LiftCx, vals: &[Temp], es: u32, body: impl FnOnce(&mut LiftCx)) {
    let (l_slow, l_done) = (cx.b.label(), cx.b.label());
    let ok = fpcr_ok(cx);
    let z = cx.b.konst(Ty::I64, 0);
    cx.b.branch(Cond::Eq, ok, z, l_slow);
    for &v in vals {
        let ty = cx.b.ty(v);
        let m = cx.b.binop_imm(Opcode::And, v, sign(es) - 1);
        let inf = cx.b.konst(
            ty,
            (sign(es) - 1) ^ ((1 << if es == 64 { 52 } else { 23 }) - 1),
        );
        cx.b.branch(Cond::Gtu, m, inf, l_slow);
    }
    body(cx);
    cx.b.jump(l_done);
    cx.b.set_label(l_slow);
    let i = cx.b.konst(Ty::I64, u64::from(cx.insn));
    cx.b.call_void(&crate::simd::SIMD_V, &[i]);
    cx.b.set_label(l_done);
}

/// The flag words of an ordered comparison of `a` and `b`, as the subtraction `gt - lt` of
/// two 0/1 values (equal: 0 - 0 gives 0110, less: 0 - 1 gives 1000, greater: 1 - 0 gives
/// 0010), the form the helper also leaves ([`state::set_fcmp_nzcv`]).
fn cmp_operands(cx: &mut LiftCx, a: Temp, b: Temp) -> (Temp, Temp) {
    let gt = cx.b.fsetcond(Ty::I64, FCond::Gt, a, b);
    let lt = cx.b.fsetcond(Ty::I64, FCond::Lt, a, b);
    (gt, lt)
}

/// Lifts `cx.insn` when it is one of the forms above; false leaves it to the helper.
pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let insn = cx.insn;
    let (rd, rn, rm) = (cx.f(4, 0), cx.f(9, 5), cx.f(20, 16));
    // (The caller has checked the encoding is defined: bit 31 is set only in conversions.)
    if insn & 0x7f00_0000 == 0x1e00_0000 || insn & 0xff00_0000 == 0x1f00_0000 {
        let ty = cx.f(23, 22);
        if ty > 1 {
            return false;
        }
        return scalar(cx, ty == 1, rd, rn, rm);
    }
    if insn & 0x9f20_0400 == 0x0e20_0400 {
        return vector_three(cx, rd, rn, rm);
    }
    if insn & 0x9f3e_0c00 == 0x0e20_0800 {
        return vector_misc(cx, rd, rn);
    }
    if insn & 0x9f80_0400 == 0x0f80_0000 || insn & 0xdf80_0400 == 0x5f80_0000 {
        return by_element(cx, rd, rn);
    }
    false
}

/// The `es`-bit lanes of a 64-bit word (as temps of the float's width).
fn split(cx: &mut LiftCx, w: Temp, es: u32) -> Vec<Temp> {
    if es == 64 {
        return vec![w];
    }
    let hi = cx.b.binop_imm(Opcode::Shr, w, 32);
    vec![cx.b.trunc(w), cx.b.trunc(hi)]
}

/// The inverse of [`split`].
fn join(cx: &mut LiftCx, lanes: &[Temp]) -> Temp {
    if lanes.len() == 1 {
        return to64(cx, lanes[0]);
    }
    let lo = cx.b.extu(lanes[0]);
    let hi = cx.b.extu(lanes[1]);
    let hi = cx.b.binop_imm(Opcode::Shl, hi, 32);
    cx.b.binop(Opcode::Or, lo, hi)
}

/// Writes the result words of a vector op (one word: the high half is zeroed).
fn set_words(cx: &mut LiftCx, rd: u32, words: &[Temp]) {
    for (h, w) in (0u32..).zip(words) {
        cx.b.set_reg(state::v(rd as u8) + 8 * h, *w);
    }
    if words.len() == 1 {
        let z = cx.b.konst(Ty::I64, 0);
        cx.b.set_reg(state::v(rd as u8) + 8, z);
    }
}

/// The lanes of `v{r}` (one or two words).
fn all_lanes(cx: &mut LiftCx, r: u32, q: bool, es: u32) -> Vec<Temp> {
    let mut v = Vec::new();
    for h in 0..if q { 2 } else { 1 } {
        let w = cx.b.get_reg(Ty::I64, state::v(r as u8) + 8 * h);
        v.extend(split(cx, w, es));
    }
    v
}

/// Writes `lanes` (of size `es`) to `v{rd}`.
fn set_lanes(cx: &mut LiftCx, rd: u32, lanes: &[Temp], es: u32) {
    let per = (64 / es) as usize;
    let words: Vec<Temp> = lanes.chunks(per).map(|c| join(cx, c)).collect();
    set_words(cx, rd, &words);
}

/// Vector FMAX/FMIN/FMAXNM/FMINNM, FCMEQ/FCMGE/FCMGT (inline unless a lane is a NaN), FADDP
/// and FABD (fast path per lane); `None` for the other three-same ops.
fn vector_three_more(
    cx: &mut LiftCx,
    rd: u32,
    rn: u32,
    rm: u32,
    (q, u, a_bit, sz): (bool, bool, bool, bool),
    op: u32,
) -> Option<bool> {
    let es: u32 = if sz { 64 } else { 32 };
    enum K {
        MinMax(Opcode),
        Cmp(FCond),
        AddP,
        Abd,
    }
    let k = match (op, u, a_bit) {
        (0b11000 | 0b11110, false, false) => K::MinMax(Opcode::FMax),
        (0b11000 | 0b11110, false, true) => K::MinMax(Opcode::FMin),
        (0b11100, false, false) => K::Cmp(FCond::Eq),
        (0b11100, true, false) => K::Cmp(FCond::Ge),
        (0b11100, true, true) => K::Cmp(FCond::Gt),
        (0b11010, true, false) => K::AddP,
        (0b11010, true, true) => K::Abd,
        _ => return None,
    };
    let (xa, xb) = (all_lanes(cx, rn, q, es), all_lanes(cx, rm, q, es));
    let ty = fty(es);
    match k {
        K::MinMax(o) => {
            let vals: Vec<Temp> = xa.iter().chain(&xb).copied().collect();
            unless_nan(cx, &vals, es, |cx| {
                let r: Vec<Temp> = xa
                    .iter()
                    .zip(&xb)
                    .map(|(&x, &y)| cx.b.binop(o, x, y))
                    .collect();
                set_lanes(cx, rd, &r, es);
            });
        }
        K::Cmp(c) => {
            let vals: Vec<Temp> = xa.iter().chain(&xb).copied().collect();
            unless_nan(cx, &vals, es, |cx| {
                let z = cx.b.konst(ty, 0);
                let r: Vec<Temp> = xa
                    .iter()
                    .zip(&xb)
                    .map(|(&x, &y)| {
                        let t = cx.b.fsetcond(ty, c, x, y);
                        cx.b.binop(Opcode::Sub, z, t)
                    })
                    .collect();
                set_lanes(cx, rd, &r, es);
            });
        }
        K::AddP => {
            let cat: Vec<Temp> = xa.iter().chain(&xb).copied().collect();
            let r: Vec<Temp> = cat
                .chunks(2)
                .map(|p| arith2(cx, 2, p[0], p[1], es))
                .collect();
            set_lanes(cx, rd, &r, es);
        }
        K::Abd => {
            let r: Vec<Temp> = xa
                .iter()
                .zip(&xb)
                .map(|(&x, &y)| {
                    let d = arith2(cx, 3, x, y, es);
                    cx.b.binop_imm(Opcode::And, d, sign(es) - 1)
                })
                .collect();
            set_lanes(cx, rd, &r, es);
        }
    }
    Some(true)
}

/// Vector two-register misc: FABS, FNEG (bit operations), FSQRT, SCVTF/UCVTF and
/// FCVTZS/FCVTZU (no fraction bits), lane by lane.
fn vector_misc(cx: &mut LiftCx, rd: u32, rn: u32) -> bool {
    let (q, u, a_bit, sz) = (
        cx.f(30, 30) == 1,
        cx.f(29, 29) == 1,
        cx.f(23, 23) == 1,
        cx.f(22, 22) == 1,
    );
    let op = cx.f(16, 12);
    if sz && !q {
        return false;
    }
    let es: u32 = if sz { 64 } else { 32 };
    let words = if q { 2 } else { 1 };
    let rep = if es == 64 {
        1u64 << 63
    } else {
        0x8000_0000_8000_0000
    };
    let kind = match (op, u, a_bit) {
        (0b01111, false, true) => 0, // FABS
        (0b01111, true, true) => 1,  // FNEG
        (0b11111, true, true) => 2,  // FSQRT
        (0b11101, _, false) => 3,    // SCVTF/UCVTF
        (0b11011, _, true) => 4,     // FCVTZS/FCVTZU
        _ => return false,
    };
    let mut out = Vec::new();
    for h in 0..words {
        let w = cx.b.get_reg(Ty::I64, state::v(rn as u8) + 8 * h);
        let r = match kind {
            0 => cx.b.binop_imm(Opcode::And, w, !rep),
            1 => cx.b.binop_imm(Opcode::Xor, w, rep),
            _ => {
                let mut res = Vec::new();
                for x in split(cx, w, es) {
                    let ty = fty(es);
                    let e8 = u64::from(es) << 8;
                    let r = match (kind, u) {
                        (2, _) => fast(cx, FpOp::Sqrt, ty, &[x], slow::SQRT | e8, &[x]),
                        (3, false) => {
                            let code = slow::FROM_S | e8 | u64::from(es) << 16;
                            fast(cx, FpOp::FromS, ty, &[x], code, &[x])
                        }
                        (3, true) => {
                            let code = slow::FROM_U | e8 | u64::from(es) << 16;
                            fast(cx, FpOp::FromU, ty, &[x], code, &[x])
                        }
                        (_, signed_not) => {
                            let (op, code) = if signed_not {
                                (FpOp::ToU(FRound::Trunc), slow::TO_U)
                            } else {
                                (FpOp::ToS(FRound::Trunc), slow::TO_S)
                            };
                            let detail = u64::from(es) | 3 << 7;
                            fast(cx, op, ty, &[x], code | e8 | detail << 16, &[x])
                        }
                    };
                    res.push(r);
                }
                join(cx, &res)
            }
        };
        out.push(r);
    }
    set_words(cx, rd, &out);
    true
}

/// FMLA, FMLS, FMUL by element (vector 2S/4S/2D, or scalar).
fn by_element(cx: &mut LiftCx, rd: u32, rn: u32) -> bool {
    let scalar = cx.f(28, 28) == 1;
    let (q, u, sz) = (cx.f(30, 30) == 1, cx.f(29, 29) == 1, cx.f(22, 22) == 1);
    let (l, h, m) = (cx.f(21, 21), cx.f(11, 11), cx.f(20, 20));
    let op = cx.f(15, 12);
    if u || !matches!(op, 0b0001 | 0b0101 | 0b1001) {
        return false;
    }
    let (es, idx) = if sz {
        if l == 1 {
            return false;
        }
        (64u32, h)
    } else {
        (32u32, (h << 1) | l)
    };
    if es == 64 && !q && !scalar {
        return false;
    }
    let rm = cx.f(19, 16) | (m << 4);
    // The element: word idx*es/64 of v{rm}, lane within it.
    let ew =
        cx.b.get_reg(Ty::I64, state::v(rm as u8) + 8 * ((idx * es) / 64));
    let e = split(cx, ew, es)[if es == 32 { (idx & 1) as usize } else { 0 }];
    let words = if scalar || !q { 1 } else { 2 };
    let mut out = Vec::new();
    for hw in 0..words {
        let wn = cx.b.get_reg(Ty::I64, state::v(rn as u8) + 8 * hw);
        let wd = cx.b.get_reg(Ty::I64, state::v(rd as u8) + 8 * hw);
        let (xs, ds) = (split(cx, wn, es), split(cx, wd, es));
        let n = if scalar { 1 } else { xs.len() };
        let mut res = Vec::new();
        for i in 0..n {
            let (x, d) = (xs[i], ds[i]);
            let r = match op {
                0b0001 => fma(cx, d, x, e, es),
                0b0101 => {
                    let nx = neg(cx, x, es);
                    fma(cx, d, nx, e, es)
                }
                _ => arith2(cx, 0, x, e, es),
            };
            res.push(r);
        }
        out.push(join(cx, &res));
    }
    set_words(cx, rd, &out);
    true
}

fn scalar(cx: &mut LiftCx, dbl: bool, rd: u32, rn: u32, rm: u32) -> bool {
    let insn = cx.insn;
    let es = if dbl { 64 } else { 32 };
    if insn & 0xff00_0000 == 0x1f00_0000 {
        // FMADD, FMSUB, FNMADD, FNMSUB.
        let (o1, o0, ra) = (cx.f(21, 21), cx.f(15, 15), cx.f(14, 10));
        let (a, n, m) = (get_f(cx, ra, es), get_f(cx, rn, es), get_f(cx, rm, es));
        let n = if o0 != o1 { neg(cx, n, es) } else { n };
        let a = if o1 == 1 { neg(cx, a, es) } else { a };
        let r = fma(cx, a, n, m, es);
        set_f(cx, rd, r);
        return true;
    }
    if insn & 0xff20_0c00 == 0x1e20_0800 {
        let opc = cx.f(15, 12);
        if matches!(opc, 4..=7) {
            // FMAX, FMIN, FMAXNM, FMINNM: for non-NaN operands all are IEEE max/min with
            // -0 < +0, and raise nothing (FZ off).
            let (a, b) = (get_f(cx, rn, es), get_f(cx, rm, es));
            let op = if opc & 1 == 0 {
                Opcode::FMax
            } else {
                Opcode::FMin
            };
            unless_nan(cx, &[a, b], es, |cx| {
                let r = cx.b.binop(op, a, b);
                set_f(cx, rd, r);
            });
            return true;
        }
        if !matches!(opc, 0..=3 | 8) {
            return false;
        }
        let (a, b) = (get_f(cx, rn, es), get_f(cx, rm, es));
        let r = arith2(cx, opc, a, b, es);
        set_f(cx, rd, r);
        return true;
    }
    if insn & 0xff20_7c00 == 0x1e20_4000 {
        let a = get_f(cx, rn, es);
        let r = match cx.f(20, 15) {
            0 => a,
            1 => cx.b.binop_imm(Opcode::And, a, sign(es) - 1),
            2 => neg(cx, a, es),
            3 => {
                let code = slow::SQRT | u64::from(es) << 8;
                fast(cx, FpOp::Sqrt, fty(es), &[a], code, &[a])
            }
            4 if dbl => {
                let code = slow::CVT | 32 << 8;
                fast(cx, FpOp::CvtF, Ty::I32, &[a], code, &[a])
            }
            5 if !dbl => {
                let code = slow::CVT | 64 << 8;
                fast(cx, FpOp::CvtF, Ty::I64, &[a], code, &[a])
            }
            o @ (8..=11 | 15) => {
                // FRINTN, FRINTP, FRINTM, FRINTZ, FRINTI (RN when FPCR is the default): exact
                // and flagless but for NaNs.
                let mode = match o {
                    9 => FRound::Ceil,
                    10 => FRound::Floor,
                    11 => FRound::Trunc,
                    _ => FRound::Nearest,
                };
                unless_nan(cx, &[a], es, |cx| {
                    let r = cx.b.fround(mode, a);
                    set_f(cx, rd, r);
                });
                return true;
            }
            _ => return false,
        };
        set_f(cx, rd, r);
        return true;
    }
    if insn & 0x7f20_fc00 == 0x1e20_0000 {
        return int_conv(cx, es, rd, rn);
    }
    if insn & 0xff20_fc07 == 0x1e20_2000 {
        // FCMP/FCMPE: inline when FPCR is the default and neither operand is a NaN (only a
        // NaN raises a flag then).
        let a = get_f(cx, rn, es);
        let b = if cx.f(3, 3) == 1 {
            cx.b.konst(fty(es), 0)
        } else {
            get_f(cx, rm, es)
        };
        unless_nan(cx, &[a, b], es, |cx| {
            let (x, y) = cmp_operands(cx, a, b);
            let k = cx.b.konst(Ty::I64, state::K_SUB);
            cx.b.set_reg(state::FK, k);
            cx.b.set_reg(state::FA, x);
            cx.b.set_reg(state::FB, y);
        });
        // Either path leaves a 64-bit subtraction in the flag words: a condition read next is
        // one compare of them.
        let x = cx.b.get_reg(Ty::I64, state::FA);
        let y = cx.b.get_reg(Ty::I64, state::FB);
        cx.last_flags = Some((super::Flags::Sub(x, y, true), cx.b.len()));
        cx.last_ccmp = None;
        return true;
    }
    if insn & 0xff20_0c00 == 0x1e20_0400 {
        // FCCMP/FCCMPE: the comparison's flags when the condition holds, else #nzcv.
        let c = cx.cond_holds(cx.f(15, 12));
        let (a, b) = (get_f(cx, rn, es), get_f(cx, rm, es));
        let nzcv = cx.f(3, 0);
        unless_nan(cx, &[a, b], es, |cx| {
            let z = cx.b.konst(Ty::I64, 0);
            let (x, y) = cmp_operands(cx, a, b);
            let ks = cx.b.konst(Ty::I64, state::K_SUB);
            let kn = cx.b.konst(Ty::I64, state::K_NZCV);
            let k = cx.b.select(Cond::Ne, c, z, ks, kn);
            let p = cx.b.konst(Ty::I64, u64::from(nzcv) << 28);
            let x = cx.b.select(Cond::Ne, c, z, x, p);
            cx.b.set_reg(state::FK, k);
            cx.b.set_reg(state::FA, x);
            cx.b.set_reg(state::FB, y);
        });
        return true;
    }
    if insn & 0xff20_0c00 == 0x1e20_0c00 {
        // FCSEL.
        let c = cx.cond_holds(cx.f(15, 12));
        let (a, b) = (get_f(cx, rn, es), get_f(cx, rm, es));
        let z = cx.b.konst(Ty::I64, 0);
        let r = cx.b.select(Cond::Ne, c, z, a, b);
        set_f(cx, rd, r);
        return true;
    }
    false
}

/// SCVTF/UCVTF (general to FP) and FCVT{N,P,M,Z}{S,U} (FP to general), no fraction bits.
fn int_conv(cx: &mut LiftCx, es: u32, rd: u32, rn: u32) -> bool {
    let sf = cx.f(31, 31) == 1;
    let iw: u32 = if sf { 64 } else { 32 };
    let ity = if sf { Ty::I64 } else { Ty::I32 };
    match (cx.f(20, 19), cx.f(18, 16)) {
        (0, 2) | (0, 3) => {
            let signed = cx.f(18, 16) == 2;
            let x = cx.get_x(rn, true);
            let x = if sf { x } else { cx.b.trunc(x) };
            let (op, code) = if signed {
                (FpOp::FromS, slow::FROM_S)
            } else {
                (FpOp::FromU, slow::FROM_U)
            };
            let code = code | u64::from(es) << 8 | u64::from(iw) << 16;
            let r = fast(cx, op, fty(es), &[x], code, &[x]);
            set_f(cx, rd, r);
            true
        }
        (rmode, o @ (0 | 1)) => {
            let mode =
                [FRound::Nearest, FRound::Ceil, FRound::Floor, FRound::Trunc][rmode as usize];
            let (op, code) = if o == 0 {
                (FpOp::ToS(mode), slow::TO_S)
            } else {
                (FpOp::ToU(mode), slow::TO_U)
            };
            let detail = u64::from(iw) | u64::from(rmode) << 7;
            let code = code | u64::from(es) << 8 | detail << 16;
            let a = get_f(cx, rn, es);
            let r = fast(cx, op, ity, &[a], code, &[a]);
            let r = to64(cx, r);
            cx.set_x(rd, r, true);
            true
        }
        _ => false,
    }
}

/// Vector FADD, FSUB, FMUL, FDIV, FMLA, FMLS (2S, 4S, 2D), lane by lane.
fn vector_three(cx: &mut LiftCx, rd: u32, rn: u32, rm: u32) -> bool {
    let (q, u, a_bit, sz) = (
        cx.f(30, 30) == 1,
        cx.f(29, 29) == 1,
        cx.f(23, 23) == 1,
        cx.f(22, 22) == 1,
    );
    let op = cx.f(15, 11);
    if sz && !q {
        return false;
    }
    if let Some(done) = vector_three_more(cx, rd, rn, rm, (q, u, a_bit, sz), op) {
        return done;
    }
    // (kind: 0 arith with the 2-source opcode, 1 FMLA, 2 FMLS)
    let (kind, opc) = match (op, u, a_bit) {
        (0b11010, false, false) => (0, 2),
        (0b11010, false, true) => (0, 3),
        (0b11011, true, false) => (0, 0),
        (0b11111, true, false) => (0, 1),
        (0b11001, false, false) => (1, 0),
        (0b11001, false, true) => (2, 0),
        _ => return false,
    };
    if sz && !q {
        return false;
    }
    let es = if sz { 64 } else { 32 };
    let words = if q { 2 } else { 1 };
    let mut out = Vec::new();
    for h in 0..words {
        let off = |r: u32| state::v(r as u8) + 8 * h;
        let (wa, wb) = (
            cx.b.get_reg(Ty::I64, off(rn)),
            cx.b.get_reg(Ty::I64, off(rm)),
        );
        let wd = if kind != 0 {
            Some(cx.b.get_reg(Ty::I64, off(rd)))
        } else {
            None
        };
        let lanes: Vec<(Temp, Temp, Option<Temp>)> = if es == 64 {
            vec![(wa, wb, wd)]
        } else {
            let mut v = Vec::new();
            for sh in [0, 32] {
                let mut part = |w: Temp| {
                    let s = if sh == 0 {
                        w
                    } else {
                        cx.b.binop_imm(Opcode::Shr, w, sh)
                    };
                    cx.b.trunc(s)
                };
                let (x, y) = (part(wa), part(wb));
                let d = wd.map(&mut part);
                v.push((x, y, d));
            }
            v
        };
        let mut res = Vec::new();
        for (x, y, d) in lanes {
            let r = match (kind, d) {
                (1, Some(d)) => fma(cx, d, x, y, es),
                (2, Some(d)) => {
                    let nx = neg(cx, x, es);
                    fma(cx, d, nx, y, es)
                }
                _ => arith2(cx, opc, x, y, es),
            };
            res.push(r);
        }
        let w = if es == 64 {
            res[0]
        } else {
            let lo = cx.b.extu(res[0]);
            let hi = cx.b.extu(res[1]);
            let hi = cx.b.binop_imm(Opcode::Shl, hi, 32);
            cx.b.binop(Opcode::Or, lo, hi)
        };
        out.push(w);
    }
    for (h, w) in (0u32..).zip(&out) {
        cx.b.set_reg(state::v(rd as u8) + 8 * h, *w);
    }
    if !q {
        let z = cx.b.konst(Ty::I64, 0);
        cx.b.set_reg(state::v(rd as u8) + 8, z);
    }
    true
}
