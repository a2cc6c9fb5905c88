use crate::abi::{CpuState, reg_offset};
use crate::interp::{self, NoMem, Prepared};
use crate::*;

#[test]
fn every_opcode_name_round_trips() {
    for &op in Opcode::ALL {
        assert_eq!(Opcode::from_name(op.name()), Some(op));
        assert!(!op.doc().is_empty(), "{op:?} has no doc line");
    }
}

#[test]
fn division_never_traps_and_follows_the_table() {
    use interp::binary;
    assert_eq!(binary(Opcode::DivS, Ty::I64, 7, 0), u64::MAX);
    assert_eq!(binary(Opcode::DivU, Ty::I32, 7, 0), 0xffff_ffff);
    assert_eq!(
        binary(Opcode::DivS, Ty::I64, i64::MIN as u64, u64::MAX),
        i64::MIN as u64
    );
    assert_eq!(binary(Opcode::RemS, Ty::I64, i64::MIN as u64, u64::MAX), 0);
    assert_eq!(binary(Opcode::RemU, Ty::I64, 9, 0), 9);
    assert_eq!(
        binary(Opcode::DivS, Ty::I32, 0x8000_0000, 0xffff_ffff),
        0x8000_0000
    );
    assert_eq!(
        binary(Opcode::MulHsu, Ty::I64, u64::MAX, u64::MAX),
        u64::MAX
    );
}

#[test]
fn branch_loop_sums() {
    // r1 = sum of 1..=10 using a loop inside one unit
    let mut b = Builder::new(0);
    b.insn_start(0);
    let acc = b.konst(Ty::I64, 0);
    let i = b.konst(Ty::I64, 10);
    let zero = b.konst(Ty::I64, 0);
    let one = b.konst(Ty::I64, 1);
    let top = b.label();
    let done = b.label();
    b.set_label(top);
    b.branch(Cond::Eq, i, zero, done);
    b.binop_to(Opcode::Add, acc, acc, i);
    b.binop_to(Opcode::Sub, i, i, one);
    b.jump(top);
    b.set_label(done);
    b.set_reg(reg_offset(1), acc);
    b.exit(ExitReason::Syscall, 0x40);
    let u = b.finish(4, 1);
    verify(&u).unwrap();
    let mut env = CpuState::new_boxed();
    let e = interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
    assert_eq!(env.word(reg_offset(1)), 55);
    assert_eq!(
        e.value,
        abi::encode_exit(abi::ExitKind::Exit, ExitReason::Syscall as u32)
    );
    assert_eq!(env.pc, 0x40);
}

#[test]
fn verifier_rejects_type_mismatch_and_missing_exit() {
    let mut b = Builder::new(0);
    let a = b.konst(Ty::I64, 1);
    let c = b.konst(Ty::I32, 1);
    b.push(Inst {
        op: Opcode::Add,
        ty: Ty::I64,
        dst: a,
        src: [a, c, Temp::NONE, Temp::NONE],
        imm: 0,
        aux: 0,
    });
    b.goto_tb(0, 4);
    let u = b.finish(4, 1);
    let e = verify(&u).unwrap_err();
    assert!(e.what.contains("i32"), "{e}");

    let mut b = Builder::new(0);
    b.konst(Ty::I64, 1);
    assert!(verify(&b.finish(0, 0)).unwrap_err().what.contains("exit"));
}

#[test]
fn printer_shows_ops() {
    let mut b = Builder::new(0x100);
    b.insn_start(0x100);
    let x = b.get_reg(Ty::I64, reg_offset(2));
    let y = b.load(Ty::I64, x, -8, MemOp::le(4, true));
    b.store(y, x, 16, MemOp::le(8, false));
    b.goto_ptr(y);
    let text = b.finish(4, 1).to_string();
    assert!(text.contains("load.s32 [t0-0x8]"), "{text}");
    assert!(text.contains("store.u64 [t0+0x10], t1"), "{text}");
    assert!(text.contains("goto_ptr t1"), "{text}");
}

#[test]
fn exit_request_is_checked_at_entry() {
    let mut b = Builder::new(0x200);
    b.goto_tb(0, 0x300);
    let u = b.finish(0, 0);
    let mut env = CpuState::new_boxed();
    env.exit_request
        .store(1, std::sync::atomic::Ordering::Relaxed);
    let e = interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
    assert_eq!(abi::decode_exit(e.value).0, abi::ExitKind::Request);
    assert_eq!(env.pc, 0x200);
}

/// Runs the one-instruction unit `d = op(regs 1..=3)` in the interpreter; returns `d`.
fn run_float(op: Opcode, from: Ty, to: Ty, aux: u32, x: [u64; 3]) -> u64 {
    let mut b = Builder::new(0);
    let s: Vec<Temp> = (0..3).map(|k| b.get_reg(from, reg_offset(k + 1))).collect();
    let d = b.temp(to);
    b.push(Inst {
        op,
        ty: to,
        dst: d,
        src: match op.format() {
            Format::Ternary => [s[0], s[1], s[2], Temp::NONE],
            Format::Binary | Format::FSetCond => [s[0], s[1], Temp::NONE, Temp::NONE],
            _ => [s[0], Temp::NONE, Temp::NONE, Temp::NONE],
        },
        imm: 0,
        aux,
    });
    b.set_reg(reg_offset(4), d);
    b.exit(ExitReason::Syscall, 4);
    let u = b.finish(4, 1);
    verify(&u).unwrap_or_else(|e| panic!("{e}\n{u}"));
    let mut env = CpuState::new_boxed();
    for (k, v) in x.iter().enumerate() {
        env.set_word(reg_offset(k + 1), *v);
    }
    interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
    to.mask(env.word(reg_offset(4)))
}

fn f64b(x: f64) -> u64 {
    x.to_bits()
}

#[test]
fn float_ops_follow_ieee_and_the_table() {
    use Opcode::*;
    let d = |op, a: f64, b: f64| run_float(op, Ty::I64, Ty::I64, 0, [f64b(a), f64b(b), 0]);
    assert_eq!(d(FAdd, 0.1, 0.2), 0x3fd3_3333_3333_3334); // 0.30000000000000004
    assert_eq!(d(FSub, 1.0, 1.0), 0); // +0 in round-to-nearest
    assert_eq!(d(FDiv, 1.0, 0.0), f64b(f64::INFINITY));
    assert_eq!(d(FDiv, 0.0, 0.0), fsem::CANON_NAN64);
    assert_eq!(d(FMul, f64::INFINITY, 0.0), fsem::CANON_NAN64);
    // NaN payloads are not propagated: the result is the canonical NaN.
    let payload = 0xfff8_0000_0000_1234;
    assert_eq!(
        run_float(FAdd, Ty::I64, Ty::I64, 0, [payload, f64b(1.0), 0]),
        fsem::CANON_NAN64
    );
    // minimumNumber / maximumNumber
    assert_eq!(d(FMin, 0.0, -0.0), 1 << 63);
    assert_eq!(d(FMax, -0.0, 0.0), 0);
    assert_eq!(d(FMin, f64::NAN, 3.0), f64b(3.0));
    assert_eq!(
        run_float(
            FMax,
            Ty::I64,
            Ty::I64,
            0,
            [f64b(-2.0), 0x7ff0_0000_0000_0001, 0]
        ),
        f64b(-2.0)
    );
    assert_eq!(d(FMax, f64::NAN, f64::NAN), fsem::CANON_NAN64);
    // fma rounds once: 0.1 * 10 - 1 is 2^-54 fused, 0 unfused.
    let fma = run_float(
        FFma,
        Ty::I64,
        Ty::I64,
        0,
        [f64b(0.1), f64b(10.0), f64b(-1.0)],
    );
    assert_eq!(fma, f64b(2f64.powi(-54)));
    assert_eq!(d(FMul, 0.1, 10.0), f64b(1.0));
    assert_eq!(d(FSqrt, -1.0, 0.0), fsem::CANON_NAN64);
    assert_eq!(d(FSqrt, -0.0, 0.0), 1 << 63);
    // f32 keeps its subnormals.
    let f = |op, a: u32, b: u32| run_float(op, Ty::I32, Ty::I32, 0, [a.into(), b.into(), 0]);
    assert_eq!(f(FAdd, 1, 1), 2);
    assert_eq!(f(FMul, 0x0080_0000, 0x3f00_0000), 0x0040_0000);
    assert_eq!(f(FAdd, 0x7f7f_ffff, 0x7f7f_ffff), 0x7f80_0000);
}

#[test]
fn float_rounding_compares_and_conversions() {
    use Opcode::{FCvtF, FCvtFromS, FCvtFromU, FCvtToS, FCvtToU, FSetCond};
    let rnd = |m: FRound, x: f64| {
        f64::from_bits(run_float(
            Opcode::FRound,
            Ty::I64,
            Ty::I64,
            m as u32,
            [f64b(x), 0, 0],
        ))
    };
    assert_eq!(rnd(FRound::Nearest, 2.5), 2.0);
    assert_eq!(rnd(FRound::Nearest, 3.5), 4.0);
    assert_eq!(rnd(FRound::Nearest, -0.5).to_bits(), (-0.0f64).to_bits());
    assert_eq!(rnd(FRound::Floor, -1.5), -2.0);
    assert_eq!(rnd(FRound::Ceil, -1.5), -1.0);
    assert_eq!(rnd(FRound::Trunc, -1.5), -1.0);
    let cmp = |c: FCond, a: f64, b: f64| {
        run_float(FSetCond, Ty::I64, Ty::I32, c as u32, [f64b(a), f64b(b), 0])
    };
    assert_eq!(cmp(FCond::Eq, 0.0, -0.0), 1);
    assert_eq!(cmp(FCond::Eq, f64::NAN, f64::NAN), 0);
    assert_eq!(cmp(FCond::Ne, f64::NAN, 1.0), 1);
    assert_eq!(cmp(FCond::Lt, f64::NAN, 1.0), 0);
    assert_eq!(cmp(FCond::Ult, f64::NAN, 1.0), 1);
    assert_eq!(cmp(FCond::Uno, 1.0, f64::NAN), 1);
    assert_eq!(cmp(FCond::Le, -1.0, -1.0), 1);
    assert_eq!(cmp(FCond::One, 1.0, 2.0), 1);
    let cv = |op, from, to, x: u64| run_float(op, from, to, 0, [x, 0, 0]);
    // int -> float rounds to nearest-even: 2^53 + 1 -> 2^53
    assert_eq!(
        cv(FCvtFromS, Ty::I64, Ty::I64, (1 << 53) + 1),
        f64b(9007199254740992.0)
    );
    assert_eq!(
        cv(FCvtFromU, Ty::I64, Ty::I64, u64::MAX),
        f64b(18446744073709551616.0)
    );
    assert_eq!(cv(FCvtFromS, Ty::I32, Ty::I64, 0xffff_ffff), f64b(-1.0));
    assert_eq!(cv(FCvtFromU, Ty::I32, Ty::I32, 0xffff_ffff), 0x4f80_0000);
    // float -> int truncates and saturates; NaN gives 0
    assert_eq!(cv(FCvtToS, Ty::I64, Ty::I64, f64b(-1.9)), u64::MAX);
    assert_eq!(cv(FCvtToS, Ty::I64, Ty::I32, f64b(3e9)), 0x7fff_ffff);
    assert_eq!(cv(FCvtToS, Ty::I64, Ty::I64, f64b(-1e300)), 1 << 63);
    assert_eq!(cv(FCvtToU, Ty::I64, Ty::I64, f64b(-5.0)), 0);
    assert_eq!(
        cv(
            FCvtToU,
            Ty::I32,
            Ty::I32,
            u64::from(f32::INFINITY.to_bits())
        ),
        0xffff_ffff
    );
    assert_eq!(cv(FCvtToS, Ty::I64, Ty::I64, fsem::CANON_NAN64), 0);
    // f32 <-> f64
    assert_eq!(cv(FCvtF, Ty::I64, Ty::I32, f64b(0.1)), 0x3dcc_cccd);
    assert_eq!(cv(FCvtF, Ty::I32, Ty::I64, 0x7f80_0001), fsem::CANON_NAN64);
    assert_eq!(cv(FCvtF, Ty::I64, Ty::I32, f64b(1e300)), 0x7f80_0000);
}

#[test]
fn verifier_checks_float_operands() {
    let mut b = Builder::new(0);
    let a = b.konst(Ty::I64, 0);
    b.push(Inst {
        op: Opcode::FCvtF,
        ty: Ty::I64,
        dst: a,
        src: [a, Temp::NONE, Temp::NONE, Temp::NONE],
        imm: 0,
        aux: 0,
    });
    b.goto_tb(0, 4);
    assert!(verify(&b.finish(4, 1)).unwrap_err().what.contains("fcvt_f"));
    let mut b = Builder::new(0);
    let a = b.konst(Ty::I64, 0);
    let s = b.fsetcond(Ty::I32, FCond::Lt, a, a);
    b.push(Inst {
        op: Opcode::FSetCond,
        ty: Ty::I32,
        dst: s,
        src: [a, a, Temp::NONE, Temp::NONE],
        imm: 0,
        aux: 99,
    });
    b.goto_tb(0, 4);
    let u = b.finish(4, 1);
    assert!(verify(&u).unwrap_err().what.contains("float condition"));
    let text = u.to_string();
    assert!(text.contains("fsetcond.lt t0, t0"), "{text}");
}

extern "C" fn slow_marker(env: &mut CpuState, _: u64, _: u64, _: u64, _: u64) -> u64 {
    env.set_word(reg_offset(10), 1);
    0x5105
}

static SLOW: Helper = Helper {
    name: "slow_marker",
    func: slow_marker,
    nargs: 0,
    flags: HelperFlags::STATE,
    state_words: None,
};

/// Runs a fast path of `op` on `args` (words 1..=3, of `arg_ty`) with the flags word 9 (NX =
/// bit 0) and the precondition word 8; returns (result, whether the slow path ran).
fn run_fast(op: fp::FpOp, ty: Ty, arg_ty: Ty, args: &[u64], nx: bool, ok: bool) -> (u64, bool) {
    let mut b = Builder::new(0);
    b.insn_start(0);
    let ts: Vec<Temp> = (0..args.len())
        .map(|k| b.get_reg(arg_ty, reg_offset(k + 1)))
        .collect();
    let okt = b.get_reg(Ty::I64, reg_offset(8));
    let p = fp::FastPath {
        op,
        ty,
        args: &ts,
        flags: fp::Flags::Sticky {
            off: reg_offset(9),
            ty: Ty::I64,
            mask: 1,
        },
        ok: Some(okt),
    };
    let r = fp::gen_fast_path(&mut b, &p, |b| b.call(&SLOW, &[]));
    b.set_reg(reg_offset(4), r);
    b.exit(ExitReason::Syscall, 4);
    let u = b.finish(4, 1);
    verify(&u).unwrap_or_else(|e| panic!("{e}\n{u}"));
    let mut env = CpuState::new_boxed();
    for (k, v) in args.iter().enumerate() {
        env.set_word(reg_offset(k + 1), *v);
    }
    env.set_word(reg_offset(8), u64::from(ok));
    env.set_word(reg_offset(9), u64::from(nx));
    interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
    (
        ty.mask(env.word(reg_offset(4))),
        env.word(reg_offset(10)) == 1,
    )
}

#[test]
fn fast_path_takes_host_results_only_when_flags_cannot_change() {
    use fp::FpOp::*;
    let d = f64b;
    let slow = |op, a: &[u64], nx| run_fast(op, Ty::I64, Ty::I64, a, nx, true).1;
    // 0.1 + 0.2 is inexact: fast only once NX is set; the result is the host's.
    assert!(slow(Add, &[d(0.1), d(0.2)], false));
    assert_eq!(
        run_fast(Add, Ty::I64, Ty::I64, &[d(0.1), d(0.2)], true, true),
        (0x3fd3_3333_3333_3334, false)
    );
    // The precondition (guest control not default) forces the slow path.
    assert!(run_fast(Add, Ty::I64, Ty::I64, &[d(1.0), d(2.0)], true, false).1);
    // Subnormal and zero sums are exact: fast even without NX.
    assert!(!slow(Add, &[3, 5], false));
    assert!(!slow(Sub, &[d(1.5), d(1.5)], false));
    // Overflow, infinities and NaNs are slow.
    assert!(slow(Add, &[d(f64::MAX), d(f64::MAX)], true));
    assert!(slow(Add, &[d(f64::INFINITY), d(1.0)], true));
    assert!(slow(Mul, &[d(f64::NAN), d(1.0)], true));
    assert!(slow(Div, &[d(1.0), d(0.0)], true));
    assert!(slow(Sqrt, &[d(-1.0)], true));
    // Products at or below the smallest normal may underflow: slow.
    assert!(slow(Mul, &[d(f64::MIN_POSITIVE), d(0.5)], true));
    assert!(slow(Mul, &[d(f64::MIN_POSITIVE), d(1.0)], true));
    assert!(!slow(Mul, &[d(f64::MIN_POSITIVE), d(2.0)], true));
    assert!(!slow(Fma, &[d(0.1), d(10.0), d(-1.0)], true));
    assert_eq!(
        run_fast(
            Fma,
            Ty::I64,
            Ty::I64,
            &[d(0.1), d(10.0), d(-1.0)],
            true,
            true
        )
        .0,
        d(2f64.powi(-54))
    );
    // f32 arithmetic
    let s = |x: f32| u64::from(x.to_bits());
    assert_eq!(
        run_fast(Mul, Ty::I32, Ty::I32, &[s(1.5), s(3.0)], true, true),
        (s(4.5), false)
    );
    // int -> float: exact integers need no NX; big ones do.
    let from = |op, ty, sty, x: u64, nx| run_fast(op, ty, sty, &[x], nx, true);
    assert_eq!(
        from(FromS, Ty::I64, Ty::I64, (-5i64) as u64, false),
        (d(-5.0), false)
    );
    assert!(from(FromS, Ty::I64, Ty::I64, (1 << 53) + 1, false).1);
    assert!(!from(FromS, Ty::I64, Ty::I64, (1 << 53) + 1, true).1);
    assert!(!from(FromS, Ty::I64, Ty::I64, (-(1i64 << 53) + 1) as u64, false).1);
    assert!(from(FromS, Ty::I64, Ty::I64, (-(1i64 << 53)) as u64, false).1);
    assert!(from(FromU, Ty::I32, Ty::I32, 1 << 24, false).1);
    assert!(!from(FromU, Ty::I32, Ty::I32, (1 << 24) - 1, false).1);
    assert_eq!(
        from(FromS, Ty::I64, Ty::I32, 0xffff_ffff, false),
        (d(-1.0), false)
    );
    // f32 <-> f64
    assert!(!from(CvtF, Ty::I64, Ty::I32, s(0.1), false).1);
    assert!(from(CvtF, Ty::I64, Ty::I32, 0x7fa0_0000, true).1);
    assert!(from(CvtF, Ty::I32, Ty::I64, d(0.1), false).1);
    assert_eq!(from(CvtF, Ty::I32, Ty::I64, d(0.1), true), (s(0.1), false));
    assert!(from(CvtF, Ty::I32, Ty::I64, d(1e300), true).1);
    // float -> int: in range and (integral or NX set)
    let to = |op, ty, x: f64, nx| run_fast(op, ty, Ty::I64, &[d(x)], nx, true);
    assert_eq!(
        to(ToS(FRound::Trunc), Ty::I32, -7.0, false),
        (0xffff_fff9, false)
    );
    assert!(to(ToS(FRound::Trunc), Ty::I32, -7.5, false).1);
    assert_eq!(
        to(ToS(FRound::Trunc), Ty::I32, -7.5, true),
        (0xffff_fff9, false)
    );
    assert_eq!(to(ToS(FRound::Nearest), Ty::I64, 2.5, true), (2, false));
    assert_eq!(
        to(ToS(FRound::Floor), Ty::I64, -2.5, true),
        ((-3i64) as u64, false)
    );
    assert!(to(ToS(FRound::Trunc), Ty::I32, 2147483648.0, true).1);
    assert!(!to(ToS(FRound::Trunc), Ty::I32, 2147483647.9, true).1);
    assert!(!to(ToS(FRound::Trunc), Ty::I32, -2147483648.0, false).1);
    assert!(to(ToS(FRound::Trunc), Ty::I64, 9.3e18, true).1);
    assert!(to(ToS(FRound::Trunc), Ty::I64, f64::NAN, true).1);
    assert_eq!(to(ToU(FRound::Trunc), Ty::I32, -0.5, true), (0, false));
    assert!(to(ToU(FRound::Trunc), Ty::I32, -0.5, false).1);
    assert!(to(ToU(FRound::Trunc), Ty::I32, -1.0, true).1);
    assert_eq!(
        to(ToU(FRound::Trunc), Ty::I64, 1.8e19, false),
        (18_000_000_000_000_000_000, false)
    );
    assert!(to(ToU(FRound::Trunc), Ty::I64, 1.9e19, true).1);
}

#[test]
fn fast_path_precondition_from_a_setcond() {
    for (frm, want_slow) in [(0u64, false), (1, true), (7, true)] {
        let mut b = Builder::new(0);
        let x = b.get_reg(Ty::I64, reg_offset(1));
        let rm = b.get_reg(Ty::I64, reg_offset(8));
        let zero = b.konst(Ty::I64, 0);
        let ok = b.setcond(Cond::Eq, rm, zero);
        let p = fp::FastPath {
            op: fp::FpOp::Mul,
            ty: Ty::I64,
            args: &[x, x],
            flags: fp::Flags::Untracked,
            ok: Some(ok),
        };
        let r = fp::gen_fast_path(&mut b, &p, |b| b.call(&SLOW, &[]));
        b.set_reg(reg_offset(4), r);
        // `ok` is still the setcond's value after the fast path.
        b.set_reg(reg_offset(5), ok);
        b.exit(ExitReason::Syscall, 4);
        let u = b.finish(4, 1);
        verify(&u).unwrap();
        let mut env = CpuState::new_boxed();
        env.set_word(reg_offset(1), f64b(3.0));
        env.set_word(reg_offset(8), frm);
        interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
        assert_eq!(env.word(reg_offset(10)) == 1, want_slow, "frm {frm}");
        let want = if want_slow { 0x5105 } else { f64b(9.0) };
        assert_eq!(env.word(reg_offset(4)), want);
        assert_eq!(env.word(reg_offset(5)), u64::from(frm == 0));
    }
}

#[test]
fn fast_path_with_a_denormal_flag_needs_it_for_subnormal_operands() {
    // flags word 9: NX = bit 5, DE = bit 1 (x86 MXCSR's PE and DE)
    let run = |a: u64, c: u64, flags: u64| {
        let mut b = Builder::new(0);
        let x = b.get_reg(Ty::I64, reg_offset(1));
        let y = b.get_reg(Ty::I64, reg_offset(2));
        let p = fp::FastPath {
            op: fp::FpOp::Add,
            ty: Ty::I64,
            args: &[x, y],
            flags: fp::Flags::StickyDenormal {
                off: reg_offset(9),
                ty: Ty::I64,
                nx: 1 << 5,
                de: 1 << 1,
            },
            ok: None,
        };
        let r = fp::gen_fast_path(&mut b, &p, |b| b.call(&SLOW, &[]));
        b.set_reg(reg_offset(4), r);
        b.exit(ExitReason::Syscall, 4);
        let u = b.finish(4, 1);
        verify(&u).unwrap();
        let mut env = CpuState::new_boxed();
        env.set_word(reg_offset(1), a);
        env.set_word(reg_offset(2), c);
        env.set_word(reg_offset(9), flags);
        interp::run(&u, &Prepared::new(&u), &mut env, &NoMem, &mut Vec::new());
        (env.word(reg_offset(4)), env.word(reg_offset(10)) == 1)
    };
    let (one, sub) = (f64b(1.0), 3u64);
    let (nx, de) = (1 << 5, 1 << 1);
    assert!(run(one, sub, nx).1, "subnormal operand, DE clear");
    assert!(run(sub, one, nx).1, "subnormal first operand, DE clear");
    assert_eq!(run(one, sub, nx | de), (f64b(1.0), false));
    assert_eq!(run(one, one, nx), (f64b(2.0), false));
    assert!(run(sub, sub, 0).1, "exact subnormal sum still raises DE");
    assert_eq!(run(sub, sub, de), (6, false));
    assert_eq!(run(0, 1 << 63, 0), (0, false));
}

#[test]
fn cas128_swaps_pairs_and_returns_the_old_one() {
    use interp::GuestMem;
    let mut b = Builder::new(0);
    let r: Vec<Temp> = (0..5).map(|k| b.get_reg(Ty::I64, reg_offset(k))).collect();
    let (lo, hi) = b.atomic_cas128(r[0], (r[1], r[2]), (r[3], r[4]), MemOp::le(8, false));
    b.set_reg(reg_offset(5), lo);
    b.set_reg(reg_offset(6), hi);
    b.exit(ExitReason::Syscall, 4);
    let u = b.finish(4, 1);
    verify(&u).unwrap();
    assert!(u.to_string().contains(&format!(
        "t{}, t{}:i64 = atomic_cas128.u64 [t0], t1:t2, t3:t4",
        lo.0, hi.0
    )));
    // 32 bytes at 0: the 128-bit compare-and-swap is GuestMem's default, by 8-byte halves
    let mem = crate::testmem::FlatMem::new(0, 32, 0);
    mem.store(16, MemOp::le(8, false), 0x1111).unwrap();
    mem.store(24, MemOp::le(8, false), 0x2222).unwrap();
    let run = |exp: [u64; 2]| {
        let mut env = CpuState::new_boxed();
        for (k, v) in [16, exp[0], exp[1], 0xaaaa, 0xbbbb].into_iter().enumerate() {
            env.set_word(reg_offset(k), v);
        }
        interp::run(&u, &Prepared::new(&u), &mut env, &mem, &mut Vec::new());
        let m = [16, 24].map(|a| mem.load(a, MemOp::le(8, false)).unwrap());
        ([env.word(reg_offset(5)), env.word(reg_offset(6))], m)
    };
    // A different high half: no swap.
    assert_eq!(run([0x1111, 0x2223]), ([0x1111, 0x2222], [0x1111, 0x2222]));
    assert_eq!(run([0x1111, 0x2222]), ([0x1111, 0x2222], [0xaaaa, 0xbbbb]));
    assert_eq!(run([0x1111, 0x2222]), ([0xaaaa, 0xbbbb], [0xaaaa, 0xbbbb]));
}

#[test]
fn verifier_checks_cas128_operands() {
    let mut b = Builder::new(0);
    let a = b.get_reg(Ty::I64, reg_offset(0));
    let n = b.get_reg(Ty::I32, reg_offset(1));
    let m = MemOp::le(8, false);
    let (lo, _) = b.atomic_cas128(a, (a, a), (a, a), m);
    b.exit(ExitReason::Syscall, 4);
    let ok = b.finish(4, 1);
    verify(&ok).unwrap();
    let cas = ok
        .insts
        .iter()
        .position(|i| i.op == Opcode::AtomicCas128)
        .unwrap();
    let bad = |f: &dyn Fn(&mut Inst)| {
        let mut u = Unit {
            insts: ok.insts.clone(),
            temps: ok.temps.clone(),
            ..Unit::default()
        };
        f(&mut u.insts[cas]);
        verify(&u).is_err()
    };
    assert!(bad(&|i| i.imm = ops::Cas128Hi {
        new_hi: a,
        old_hi: lo
    }
    .to_imm()));
    assert!(bad(&|i| i.src[3] = n));
    assert!(bad(&|i| i.imm = ops::Cas128Hi {
        new_hi: n,
        old_hi: a
    }
    .to_imm()));
    assert!(bad(&|i| i.aux = MemOp {
        big_endian: true,
        ..m
    }
    .to_u32()));
    assert!(bad(&|i| i.aux = MemOp::le(4, false).to_u32()));
}
