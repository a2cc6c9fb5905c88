//! Each fast helper against the full helper (which decodes a real instruction word): the fast
//! helper must return exactly the full helper's result when that leaves `fflags` unchanged and
//! does not trap, and the sentinel otherwise. The full helper's arithmetic is checked against
//! qemu-riscv64 by tests/fpu_qemu.rs.

use super::*;
use crate::ILLEGAL_INSTRUCTION;
use crate::helpers::{FP_FMA, FP_OP};
use crate::state::{FFLAGS, FRM};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 32)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const D_SPECIAL: [f64; 22] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    2.5,
    -2.5,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    f64::MAX,
    -f64::MAX,
    f64::INFINITY,
    f64::NEG_INFINITY,
    2_147_483_647.5,
    -2_147_483_648.5,
    4_294_967_295.75,
    9_223_372_036_854_775_808.0,
    -9_223_372_036_854_775_808.0,
    18_446_744_073_709_551_616.0,
    1e-310,
];

/// A double: special values, signalling/quiet NaNs, subnormals, near-boundary and random bits,
/// or (often) an ordinary number with few significant bits, so exact results happen too.
fn gen_d(r: &mut Rng) -> u64 {
    match r.below(8) {
        0 => D_SPECIAL[r.below(D_SPECIAL.len() as u64) as usize].to_bits(),
        1 => [
            0x7ff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
            0xfff8_0000_0000_0123,
        ][r.below(3) as usize],
        2 => r.next() & 0x800f_ffff_ffff_ffff,
        3 => r.next(),
        4 => {
            let small = (r.below(4096) as f64) * 2f64.powi(r.below(40) as i32 - 20);
            if r.below(2) == 0 { small } else { -small }.to_bits()
        }
        5 => {
            // Exponents near the extremes.
            let e = if r.below(2) == 0 {
                r.below(60)
            } else {
                2046 - r.below(60)
            };
            (r.next() & 0x800f_ffff_ffff_ffff) | (e << 52)
        }
        _ => (r.below(200) as f64 - 100.0 + (r.below(8) as f64) / 8.0).to_bits(),
    }
}

/// A single in an f register: usually NaN-boxed, sometimes not.
fn gen_s(r: &mut Rng) -> u64 {
    let v = match r.below(6) {
        0 => u64::from((f64::from_bits(gen_d(r)) as f32).to_bits()),
        1 => [
            0x7fc0_0000,
            0x7f80_0001,
            0x0000_0001,
            0x0080_0000,
            0x7f7f_ffff,
        ][r.below(5) as usize],
        2 => r.next() & 0xffff_ffff,
        3 => u64::from(((r.below(4096) as f32) * 2f32.powi(r.below(20) as i32 - 10)).to_bits()),
        4 => u64::from((r.below(200) as f32 - 100.0 + (r.below(4) as f32) / 4.0).to_bits()),
        _ => r.next() & 0x807f_ffff | (r.below(2) * 0xfe) << 23,
    };
    if r.below(16) == 0 {
        r.next() & 0x0000_ffff_ffff_ffff
    } else {
        fpu::nan_box(v)
    }
}

fn gen_int(r: &mut Rng) -> u64 {
    match r.below(4) {
        0 => [
            0,
            1,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            1 << 31,
            0xffff_ffff,
            1 << 53,
            (1 << 53) + 1,
        ][r.below(9) as usize],
        1 => r.below(1 << 20).wrapping_sub(1 << 19),
        2 => r.next() >> r.below(64),
        _ => r.next(),
    }
}

/// The full helper's outcome: `None` for illegal instruction, else (value, fflags after).
fn full(h: &Helper, args: [u64; 4], fl: u64, frm: u64) -> Option<(u64, u64)> {
    let mut env = CpuState::new_boxed();
    env.set_word(FFLAGS, fl);
    env.set_word(FRM, frm);
    let v = (h.func)(&mut env, args[0], args[1], args[2], args[3]);
    if env.exc_pending != 0 {
        assert_eq!(env.exc_pending, ILLEGAL_INSTRUCTION + 1);
        return None;
    }
    Some((v, env.word(FFLAGS)))
}

/// Runs a fast helper on a state with `fflags` and `frm`, which it must leave alone.
fn run_fast(h: &Helper, args: [u64; 4], fl: u64, frm: u64) -> u64 {
    let mut env = CpuState::new_boxed();
    env.set_word(FFLAGS, fl);
    env.set_word(FRM, frm);
    let v = (h.func)(&mut env, args[0], args[1], args[2], args[3]);
    assert_eq!(
        (env.word(FFLAGS), env.word(FRM), env.exc_pending),
        (fl, frm, 0)
    );
    v
}

fn expect(outcome: Option<(u64, u64)>, fl: u64, sentinel: u64) -> u64 {
    match outcome {
        Some((v, after)) if after == fl => v,
        _ => sentinel,
    }
}

type Gen = fn(&mut Rng) -> u64;

/// One OP-FP instruction: its fast helper, `funct5`, format bit, `rs2` field (None: random
/// register), `funct3` (None: a random rounding mode), the operand generator and the sentinel.
struct Spec {
    fast: &'static Helper,
    funct5: u32,
    d: bool,
    rs2: Option<u32>,
    funct3: Option<u32>,
    src: Gen,
    sentinel: u64,
}

/// Checks `cases` random operand sets of `s`, building the fast helper's arguments with
/// `args(a, b, rm field)`.
fn check_op(r: &mut Rng, s: &Spec, args: impl Fn(u64, u64, u64) -> [u64; 4], cases: usize) {
    for _ in 0..cases {
        let (a, b) = ((s.src)(r), (s.src)(r));
        let fl = r.below(32);
        let frm = r.below(8);
        let rm = s
            .funct3
            .unwrap_or_else(|| [0, 1, 2, 3, 4, 7, 7, 7][r.below(8) as usize]);
        let rs2 = s.rs2.unwrap_or(3);
        let insn =
            0x53 | 1 << 7 | rm << 12 | 2 << 15 | rs2 << 20 | u32::from(s.d) << 25 | s.funct5 << 27;
        let want = expect(
            full(&FP_OP, [a, b, u64::from(insn), 0], fl, frm),
            fl,
            s.sentinel,
        );
        let args = args(a, b, u64::from(rm));
        let got = run_fast(s.fast, args, fl, frm);
        assert_eq!(
            got, want,
            "{} insn {insn:#010x} a {a:#018x} b {b:#018x} fflags {fl:#x} frm {frm}",
            s.fast.name
        );
    }
}

#[allow(clippy::too_many_arguments, reason = "a table row")]
fn spec(
    fast: &'static Helper,
    funct5: u32,
    d: bool,
    rs2: Option<u32>,
    funct3: Option<u32>,
    src: Gen,
    sentinel: u64,
) -> Spec {
    Spec {
        fast,
        funct5,
        d,
        rs2,
        funct3,
        src,
        sentinel,
    }
}

const CASES: usize = 40_000;

#[test]
fn arithmetic_matches_the_full_helper() {
    let mut r = Rng(1);
    let two = |a, b, rm| [a, b, rm, 0];
    let one = |a, _, rm| [a, rm, 0, 0];
    for (funct5, hd, hs) in [
        (0, &FADD_D, &FADD_S),
        (1, &FSUB_D, &FSUB_S),
        (2, &FMUL_D, &FMUL_S),
        (3, &FDIV_D, &FDIV_S),
    ] {
        let sd = spec(hd, funct5, true, None, None, gen_d, SENTINEL);
        check_op(&mut r, &sd, two, CASES);
        let ss = spec(hs, funct5, false, None, None, gen_s, SENTINEL);
        check_op(&mut r, &ss, two, CASES);
    }
    let sd = spec(&FSQRT_D, 0b01011, true, Some(0), None, gen_d, SENTINEL);
    check_op(&mut r, &sd, one, CASES);
    let ss = spec(&FSQRT_S, 0b01011, false, Some(0), None, gen_s, SENTINEL);
    check_op(&mut r, &ss, one, CASES);
}

#[test]
fn conversions_match_the_full_helper() {
    let mut r = Rng(2);
    for code in 0..4u32 {
        // rs2: 0 w, 1 wu, 2 l, 3 lu.
        let kind = u64::from(code & 1 == 0) * CVT_SIGNED + u64::from(code < 2) * CVT_WORD;
        let with_kind = move |a, _, rm| [a, rm, kind, 0];
        let c = Some(code);
        for s in [
            spec(&TO_INT_D, 0b11000, true, c, None, gen_d, SENTINEL_INT),
            spec(&TO_INT_S, 0b11000, false, c, None, gen_s, SENTINEL_INT),
            spec(&FROM_INT_D, 0b11010, true, c, None, gen_int, SENTINEL),
            spec(&FROM_INT_S, 0b11010, false, c, None, gen_int, SENTINEL),
        ] {
            check_op(&mut r, &s, with_kind, CASES);
        }
    }
    let one = |a, _, rm| [a, rm, 0, 0];
    let s = spec(&CVT_D_S, 0b01000, true, Some(0), None, gen_s, SENTINEL);
    check_op(&mut r, &s, one, CASES);
    let s = spec(&CVT_S_D, 0b01000, false, Some(1), None, gen_d, SENTINEL);
    check_op(&mut r, &s, one, CASES);
}

#[test]
fn classify_matches_the_full_helper() {
    let mut r = Rng(3);
    let one = |a, _, _| [a, 0, 0, 0];
    // fclass never changes fflags or traps, so the "fast" helper always answers.
    let sd = spec(&CLASS_D, 0b11100, true, Some(0), Some(1), gen_d, SENTINEL);
    check_op(&mut r, &sd, one, CASES / 4);
    let ss = spec(&CLASS_S, 0b11100, false, Some(0), Some(1), gen_s, SENTINEL);
    check_op(&mut r, &ss, one, CASES / 4);
}

#[test]
fn fma_matches_the_full_helper() {
    let mut r = Rng(4);
    for d in [true, false] {
        let (src, fast): (fn(&mut Rng) -> u64, _) =
            if d { (gen_d, &FMA_D) } else { (gen_s, &FMA_S) };
        for _ in 0..CASES * 2 {
            let (a, b, c) = (src(&mut r), src(&mut r), src(&mut r));
            let (fl, frm) = (r.below(32), r.below(8));
            let rm = [0, 1, 2, 3, 4, 7, 7, 7][r.below(8) as usize];
            let major = r.below(4) as u32;
            let insn = 0x43
                | major << 2
                | 1 << 7
                | rm << 12
                | 2 << 15
                | 3 << 20
                | u32::from(d) << 25
                | 4 << 27;
            let want = expect(
                full(&FP_FMA, [a, b, c, u64::from(insn)], fl, frm),
                fl,
                SENTINEL,
            );
            let neg = [
                0,
                FMA_NEG_ADDEND,
                FMA_NEG_PRODUCT,
                FMA_NEG_PRODUCT | FMA_NEG_ADDEND,
            ][major as usize];
            let got = run_fast(fast, [a, b, c, u64::from(rm) | neg], fl, frm);
            assert_eq!(
                got, want,
                "insn {insn:#010x} {a:#x} {b:#x} {c:#x} fflags {fl:#x} frm {frm}"
            );
        }
    }
}

#[test]
fn the_common_case_takes_the_fast_path() {
    // NX accrued, round to nearest, normal results: the answer is the host's, no sentinel.
    let nx = u64::from(NX);
    let (x, y) = (1.1f64, 3.3f64);
    let call = |h: &Helper, fl, a: u64, b: u64, c: u64| run_fast(h, [a, b, c, 0], fl, 0);
    let (xb, yb) = (x.to_bits(), y.to_bits());
    assert_eq!(call(&FADD_D, nx, xb, yb, 7), (x + y).to_bits());
    assert_eq!(call(&FDIV_D, nx, xb, yb, 0), (x / y).to_bits());
    // Without NX accrued an inexact sum needs the full helper (which sets NX).
    assert_eq!(call(&FADD_D, 0, xb, yb, 7), SENTINEL);
    // An exact one does not.
    let (one, two) = (1f64.to_bits(), 2f64.to_bits());
    assert_eq!(call(&FADD_D, 0, one, two, 7), 3f64.to_bits());
    // C's (int)-2.7 in RTZ with NX accrued; -2.0 exactly without.
    let kind = CVT_SIGNED | CVT_WORD;
    assert_eq!(
        call(&TO_INT_D, nx, (-2.7f64).to_bits(), 1, kind),
        (-2i64) as u64
    );
    assert_eq!(
        call(&TO_INT_D, 0, (-2.7f64).to_bits(), 1, kind),
        SENTINEL_INT
    );
    assert_eq!(
        call(&TO_INT_D, 0, (-2.0f64).to_bits(), 1, kind),
        (-2i64) as u64
    );
}
