//! Float opcodes, compiled against interpreted, on the awkward bit patterns (±0, subnormals,
//! ±inf, quiet and signalling NaNs with payloads, rounding ties, integer-range edges), every
//! width and every condition/mode. Many inputs share one unit: operand words in, result words
//! out, and every state word compared; the interpreter's results are also checked against Rust's
//! own float operations.

use crate::tests::Harness;
use std::cmp::Ordering;
use xlat_ir::abi::{CpuState, reg_offset};
use xlat_ir::{Builder, ExitReason, FCond, FRound, Opcode, Ty, fsem};

/// splitmix64, for random bit patterns.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const F64S: &[u64] = &[
    0,
    1 << 63,
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // -1
    0x3ff8_0000_0000_0000, // 1.5
    0x4004_0000_0000_0000, // 2.5
    0xc00c_0000_0000_0000, // -3.5
    0x3fe0_0000_0000_0000, // 0.5
    1,                     // smallest subnormal
    0x800f_ffff_ffff_ffff, // -largest subnormal
    0x0010_0000_0000_0000, // smallest normal
    0x7fef_ffff_ffff_ffff, // largest finite
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // qNaN
    0xfff8_0000_0000_1234, // -qNaN with payload
    0x7ff0_0000_0000_0001, // sNaN
    0x4330_0000_0000_0001, // 2^52 + 1
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0x43f0_0000_0000_0000, // 2^64
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0020_0000, // -2^31 - 1
    0x3fb9_9999_9999_999a, // 0.1
];

const F32S: &[u64] = &[
    0,
    0x8000_0000,
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x3fc0_0000, // 1.5
    0x4020_0000, // 2.5
    0xc060_0000, // -3.5
    0x3f00_0000, // 0.5
    1,
    0x807f_ffff,
    0x0080_0000,
    0x7f7f_ffff,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0xffc0_1234,
    0x7f80_0001,
    0x4b00_0001, // 2^23 + 1
    0x5f00_0000, // 2^63
    0xdf00_0000, // -2^63
    0x4f00_0000, // 2^31
    0xcf00_0001, // below -2^31
    0x3dcc_cccd, // 0.1
    0x3eaa_aaab, // 1/3
];

const INTS: &[u64] = &[
    0,
    1,
    u64::MAX,
    1 << 63,
    (1 << 63) - 1,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    (1 << 53) + 1,
    (1 << 24) + 1,
    0xffff_ffff_ffff_f801,
    0x0020_0000_0000_0003,
];

fn floats(ty: Ty) -> &'static [u64] {
    match ty {
        Ty::I32 => F32S,
        Ty::I64 => F64S,
    }
}

/// How one opcode is applied to three operand temps.
#[derive(Clone, Copy)]
struct Case {
    op: Opcode,
    /// Operand type and result type.
    from: Ty,
    to: Ty,
    aux: u32,
    arity: usize,
}

/// Per unit: up to this many input tuples (3 operand words + 1 result word each).
const PER_UNIT: usize = 100;

fn build(c: Case, n: usize) -> xlat_ir::Unit {
    let mut b = Builder::new(0);
    b.insn_start(0);
    for k in 0..n {
        let s: Vec<_> = (0..c.arity)
            .map(|j| b.get_reg(c.from, reg_offset(4 * k + j)))
            .collect();
        let d = match c.op.format() {
            xlat_ir::Format::Binary => b.binop(c.op, s[0], s[1]),
            xlat_ir::Format::Unary => b.unop(c.op, s[0]),
            xlat_ir::Format::Ternary => b.ffma(s[0], s[1], s[2]),
            xlat_ir::Format::FSetCond => {
                b.fsetcond(c.to, FCond::from_u32(c.aux).unwrap(), s[0], s[1])
            }
            xlat_ir::Format::FRound => b.fround(FRound::from_u32(c.aux).unwrap(), s[0]),
            xlat_ir::Format::FConvert => b.fconvert(c.op, c.to, s[0]),
            f => unreachable!("{f:?}"),
        };
        b.set_reg(reg_offset(4 * k + 3), d);
    }
    b.exit(ExitReason::Syscall, 4);
    b.finish(4, 1)
}

/// What Rust's own float operations give for `c` on `x` (the interpreter must agree).
#[allow(
    clippy::neg_cmp_op_on_partial_ord,
    reason = "unordered conditions are negated ordered compares: that is their definition"
)]
fn reference(c: Case, x: [u64; 3]) -> u64 {
    macro_rules! fl {
        ($f:ty, $ub:ty, $canon:expr) => {{
            let v = |k: usize| <$f>::from_bits(x[k] as $ub);
            let bits = |r: $f| -> u64 {
                if r.is_nan() {
                    $canon
                } else {
                    r.to_bits() as u64
                }
            };
            match c.op {
                Opcode::FAdd => bits(v(0) + v(1)),
                Opcode::FSub => bits(v(0) - v(1)),
                Opcode::FMul => bits(v(0) * v(1)),
                Opcode::FDiv => bits(v(0) / v(1)),
                Opcode::FSqrt => bits(v(0).sqrt()),
                Opcode::FFma => bits(v(0).mul_add(v(1), v(2))),
                Opcode::FMin | Opcode::FMax => {
                    let (a, b) = (v(0), v(1));
                    if a.is_nan() && b.is_nan() {
                        $canon
                    } else if a.is_nan() {
                        x[1]
                    } else if b.is_nan() {
                        x[0]
                    } else if a == 0.0 && b == 0.0 {
                        let neg = |z: $f| z.is_sign_negative();
                        let pick_neg = c.op == Opcode::FMin;
                        if neg(a) == pick_neg { x[0] } else { x[1] }
                    } else if (a < b) == (c.op == Opcode::FMin) {
                        x[0]
                    } else {
                        x[1]
                    }
                }
                Opcode::FRound => bits(match FRound::from_u32(c.aux).unwrap() {
                    FRound::Nearest => v(0).round_ties_even(),
                    FRound::Floor => v(0).floor(),
                    FRound::Ceil => v(0).ceil(),
                    FRound::Trunc => v(0).trunc(),
                }),
                _ => unreachable!(),
            }
        }};
    }
    match (c.op, c.from) {
        (Opcode::FSetCond, _) => {
            let (a, b) = match c.from {
                Ty::I32 => (
                    f64::from(f32::from_bits(x[0] as u32)),
                    f64::from(f32::from_bits(x[1] as u32)),
                ),
                Ty::I64 => (f64::from_bits(x[0]), f64::from_bits(x[1])),
            };
            let r = match FCond::from_u32(c.aux).unwrap() {
                FCond::Eq => a == b,
                FCond::Ne => a != b,
                FCond::Lt => a < b,
                FCond::Le => a <= b,
                FCond::Gt => a > b,
                FCond::Ge => a >= b,
                FCond::Uno => a.partial_cmp(&b).is_none(),
                FCond::Ord => a.partial_cmp(&b).is_some(),
                FCond::Ueq => matches!(a.partial_cmp(&b), None | Some(Ordering::Equal)),
                FCond::One => matches!(a.partial_cmp(&b), Some(Ordering::Less | Ordering::Greater)),
                FCond::Ult => !(a >= b),
                FCond::Ule => !(a > b),
                FCond::Ugt => !(a <= b),
                FCond::Uge => !(a < b),
            };
            u64::from(r)
        }
        (Opcode::FCvtFromS | Opcode::FCvtFromU | Opcode::FCvtToS | Opcode::FCvtToU, _)
        | (Opcode::FCvtF, _) => fsem::convert(c.op, c.from, c.to, x[0]),
        (_, Ty::I32) => fl!(f32, u32, u64::from(fsem::CANON_NAN32)),
        (_, Ty::I64) => fl!(f64, u64, fsem::CANON_NAN64),
    }
}

/// Runs all `inputs` through `c`, compiled and interpreted; both must agree, and agree with
/// [`reference`].
fn check(h: &mut Harness, c: Case, inputs: &[[u64; 3]]) {
    for chunk in inputs.chunks(PER_UNIT) {
        let unit = build(c, chunk.len());
        let mk = || {
            let mut e = CpuState::new_boxed();
            for (k, x) in chunk.iter().enumerate() {
                for (j, &v) in x.iter().enumerate() {
                    e.set_word(reg_offset(4 * k + j), v);
                }
            }
            e
        };
        let (mut e1, mut e2) = (mk(), mk());
        let want = h.run_interp(&unit, &mut e1);
        let got = h.run_jit(&unit, &mut e2).unwrap();
        for (k, x) in chunk.iter().enumerate() {
            let w = 4 * k + 3;
            let mask = |v: u64| c.to.mask(v);
            let (i, j) = (mask(e1.word(reg_offset(w))), mask(e2.word(reg_offset(w))));
            assert_eq!(
                j, i,
                "{:?} {:?}->{:?} aux {} on {x:x?}: compiled {j:#x}, interpreted {i:#x}",
                c.op, c.from, c.to, c.aux
            );
            let r = mask(reference(c, *x));
            assert_eq!(
                i, r,
                "{:?} {:?} aux {} on {x:x?}: interpreter {i:#x}, Rust {r:#x}",
                c.op, c.from, c.aux
            );
        }
        assert_eq!(got, want);
    }
}

/// Every pair of specials, plus random bit patterns.
fn tuples(vals: &[u64], arity: usize, r: &mut Rng, ty: Ty) -> Vec<[u64; 3]> {
    let mut v = Vec::new();
    match arity {
        1 => vals.iter().for_each(|&a| v.push([a, 0, 0])),
        2 => {
            for &a in vals {
                for &b in vals {
                    v.push([a, b, 0]);
                }
            }
        }
        _ => {
            for _ in 0..2000 {
                let p = |r: &mut Rng| vals[r.below(vals.len() as u64) as usize];
                v.push([p(r), p(r), p(r)]);
            }
        }
    }
    for _ in 0..200 {
        v.push([ty.mask(r.next()), ty.mask(r.next()), ty.mask(r.next())]);
    }
    v
}

#[test]
fn float_arithmetic_matches_interpreter_and_rust() {
    let mut h = Harness::new();
    let mut r = Rng::new(7);
    use Opcode::*;
    for ty in [Ty::I32, Ty::I64] {
        for (op, arity) in [
            (FAdd, 2),
            (FSub, 2),
            (FMul, 2),
            (FDiv, 2),
            (FMin, 2),
            (FMax, 2),
            (FSqrt, 1),
            (FFma, 3),
        ] {
            let c = Case {
                op,
                from: ty,
                to: ty,
                aux: 0,
                arity,
            };
            let inputs = tuples(floats(ty), arity, &mut r, ty);
            check(&mut h, c, &inputs);
        }
        for m in xlat_ir::FRound::ALL {
            let c = Case {
                op: Opcode::FRound,
                from: ty,
                to: ty,
                aux: m as u32,
                arity: 1,
            };
            let inputs = tuples(floats(ty), 1, &mut r, ty);
            check(&mut h, c, &inputs);
        }
    }
}

#[test]
fn float_compares_match_interpreter_and_rust() {
    let mut h = Harness::new();
    let mut r = Rng::new(8);
    for from in [Ty::I32, Ty::I64] {
        for c in FCond::ALL {
            let to = if (c as u32).is_multiple_of(2) {
                Ty::I64
            } else {
                Ty::I32
            };
            let case = Case {
                op: Opcode::FSetCond,
                from,
                to,
                aux: c as u32,
                arity: 2,
            };
            let inputs = tuples(floats(from), 2, &mut r, from);
            check(&mut h, case, &inputs);
        }
    }
}

#[test]
fn float_conversions_match_interpreter() {
    let mut h = Harness::new();
    let mut r = Rng::new(9);
    use Opcode::*;
    for from in [Ty::I32, Ty::I64] {
        for to in [Ty::I32, Ty::I64] {
            for op in [FCvtFromS, FCvtFromU, FCvtToS, FCvtToU, FCvtF] {
                if op == FCvtF && from == to {
                    continue;
                }
                let vals = if matches!(op, FCvtFromS | FCvtFromU) {
                    INTS
                } else {
                    floats(from)
                };
                let c = Case {
                    op,
                    from,
                    to,
                    aux: 0,
                    arity: 1,
                };
                let inputs = tuples(vals, 1, &mut r, from);
                check(&mut h, c, &inputs);
            }
        }
    }
}

/// With `FNAN_ANY` the compiled NaN may differ from the interpreter's canonical one; every other
/// result must be the same.
#[test]
fn any_nan_results_differ_only_in_nan_bits() {
    use xlat_ir::{FNAN_ANY, Inst, Temp};
    let mut h = Harness::new();
    for ty in [Ty::I32, Ty::I64] {
        for op in [
            Opcode::FAdd,
            Opcode::FSub,
            Opcode::FMul,
            Opcode::FDiv,
            Opcode::FSqrt,
            Opcode::FFma,
        ] {
            let vals = floats(ty);
            for chunk in vals.chunks(4) {
                let mut b = Builder::new(0);
                let mut k = 0;
                let mut init = Vec::new();
                for &x in chunk {
                    for &y in vals {
                        let (a, c) = (
                            b.get_reg(ty, reg_offset(2 * k)),
                            b.get_reg(ty, reg_offset(2 * k + 1)),
                        );
                        init.push((2 * k, x, y));
                        let d = b.temp(ty);
                        let n = match op {
                            Opcode::FSqrt => [a, Temp::NONE, Temp::NONE, Temp::NONE],
                            Opcode::FFma => [a, c, a, Temp::NONE],
                            _ => [a, c, Temp::NONE, Temp::NONE],
                        };
                        b.push(Inst {
                            op,
                            ty,
                            dst: d,
                            src: n,
                            imm: 0,
                            aux: FNAN_ANY,
                        });
                        b.set_reg(reg_offset(200 + k), d);
                        k += 1;
                    }
                }
                b.exit(ExitReason::Syscall, 4);
                let unit = b.finish(4, 1);
                xlat_ir::verify(&unit).unwrap();
                assert!(unit.to_string().contains(".anynan"));
                let mk = || {
                    let mut e = CpuState::new_boxed();
                    for &(w, x, y) in &init {
                        e.set_word(reg_offset(w), x);
                        e.set_word(reg_offset(w + 1), y);
                    }
                    e
                };
                let (mut e1, mut e2) = (mk(), mk());
                h.run_interp(&unit, &mut e1);
                h.run_jit(&unit, &mut e2).unwrap();
                for j in 0..k {
                    let (i, c) = (
                        ty.mask(e1.word(reg_offset(200 + j))),
                        ty.mask(e2.word(reg_offset(200 + j))),
                    );
                    if fsem::is_nan(ty, i) {
                        assert!(
                            fsem::is_nan(ty, c),
                            "{op:?} {ty:?} #{j}: {c:#x} is not a NaN"
                        );
                    } else {
                        assert_eq!(c, i, "{op:?} {ty:?} #{j}");
                    }
                }
            }
        }
    }
}
