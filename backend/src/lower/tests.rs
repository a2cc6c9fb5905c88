//! Codegen tests per opcode class: small units compiled and run, checked against values
//! worked out by hand (and against the interpreter).

use crate::tests::{Harness, MISALIGNED};
use xlat_ir::abi::{CpuState, ExitKind, decode_exit, reg_offset};
use xlat_ir::{AtomicOp, Builder, Cond, ExitReason, MemOp, Opcode, Ty, Unit};

const MIN64: u64 = 1 << 63;

/// Runs `unit` compiled and interpreted from the same start; asserts both agree; returns the
/// compiled run's state and exit value.
fn run(h: &mut Harness, unit: &Unit, init: &[(usize, u64)]) -> (Box<CpuState>, u64) {
    let mk = || {
        let mut e = CpuState::new_boxed();
        for &(w, v) in init {
            e.set_word(reg_offset(w), v);
        }
        e
    };
    h.mem.fill(|i| i as u8);
    let (mut e1, mut e2) = (mk(), mk());
    let want = h.run_interp(unit, &mut e1);
    h.mem.fill(|i| i as u8);
    let got = h.run_jit(unit, &mut e2).unwrap();
    assert_eq!(got, want, "compiled and interpreted runs differ\n{unit}");
    (e2, got.value)
}

/// r3 = op(r1, r2) at type `ty`.
fn binop(h: &mut Harness, op: Opcode, ty: Ty, a: u64, b: u64) -> u64 {
    let mut bl = Builder::new(0);
    bl.insn_start(0);
    let x = bl.get_reg(ty, reg_offset(1));
    let y = bl.get_reg(ty, reg_offset(2));
    let d = bl.binop(op, x, y);
    bl.set_reg(reg_offset(3), d);
    bl.exit(ExitReason::Syscall, 4);
    let u = bl.finish(4, 1);
    let (env, _) = run(h, &u, &[(1, a), (2, b), (3, 0xdead_dead_dead_dead)]);
    match ty {
        Ty::I64 => env.word(reg_offset(3)),
        Ty::I32 => u64::from(env.word32(reg_offset(3))),
    }
}

fn unop(h: &mut Harness, op: Opcode, ty: Ty, a: u64) -> u64 {
    let mut bl = Builder::new(0);
    let x = bl.get_reg(ty, reg_offset(1));
    let d = bl.unop(op, x);
    bl.set_reg(reg_offset(3), d);
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(h, &bl.finish(4, 1), &[(1, a)]);
    match ty {
        Ty::I64 => env.word(reg_offset(3)),
        Ty::I32 => u64::from(env.word32(reg_offset(3))),
    }
}

#[test]
fn arithmetic_wraps_and_multiplies_high() {
    let mut h = Harness::new();
    use Opcode::*;
    let cases: &[(Opcode, Ty, u64, u64, u64)] = &[
        (Add, Ty::I64, u64::MAX, 2, 1),
        (Sub, Ty::I32, 0, 1, 0xffff_ffff),
        (Mul, Ty::I32, 0x10000, 0x10000, 0),
        (MulHs, Ty::I64, (-2i64) as u64, 3, u64::MAX),
        (MulHs, Ty::I32, 0x8000_0000, 0x8000_0000, 0x4000_0000),
        (MulHu, Ty::I64, u64::MAX, u64::MAX, u64::MAX - 1),
        (MulHu, Ty::I32, 0xffff_ffff, 2, 1),
        (MulHsu, Ty::I64, u64::MAX, u64::MAX, u64::MAX), // -1 × (2^64-1)
        (MulHsu, Ty::I32, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff),
        (MulHsu, Ty::I64, 2, u64::MAX, 1),
    ];
    for &(op, ty, a, b, want) in cases {
        assert_eq!(
            binop(&mut h, op, ty, a, b),
            want,
            "{op:?}.{ty:?}({a:#x}, {b:#x})"
        );
    }
}

#[test]
fn division_follows_riscv_rules_and_never_traps() {
    let mut h = Harness::new();
    use Opcode::*;
    let m7 = (-7i64) as u64;
    let cases: &[(Opcode, Ty, u64, u64, u64)] = &[
        (DivS, Ty::I64, 7, 0, u64::MAX),
        (DivS, Ty::I64, MIN64, u64::MAX, MIN64),
        (DivS, Ty::I64, m7, 2, (-3i64) as u64),
        (DivS, Ty::I32, 0x8000_0000, 0xffff_ffff, 0x8000_0000),
        (DivU, Ty::I32, 7, 0, 0xffff_ffff),
        (DivU, Ty::I64, u64::MAX, 2, u64::MAX >> 1),
        (RemS, Ty::I64, MIN64, u64::MAX, 0),
        (RemS, Ty::I64, m7, 2, u64::MAX),
        (RemS, Ty::I32, 5, 0, 5),
        (RemU, Ty::I64, 9, 0, 9),
        (RemU, Ty::I32, 0xffff_ffff, 10, 5),
    ];
    for &(op, ty, a, b, want) in cases {
        assert_eq!(
            binop(&mut h, op, ty, a, b),
            want,
            "{op:?}.{ty:?}({a:#x}, {b:#x})"
        );
    }
}

#[test]
fn logic_shifts_and_minmax() {
    let mut h = Harness::new();
    use Opcode::*;
    let cases: &[(Opcode, Ty, u64, u64, u64)] = &[
        (AndN, Ty::I64, 0b1100, 0b1010, 0b0100),
        (OrN, Ty::I32, 0b1100, 0b1010, 0xffff_fffd),
        (XorN, Ty::I32, 0b1100, 0b1010, 0xffff_fff9),
        (Shl, Ty::I32, 1, 33, 2),
        (Shl, Ty::I64, 1, 64, 1),
        (Shr, Ty::I64, MIN64, 65, 1 << 62),
        (Sar, Ty::I32, 0x8000_0000, 31, 0xffff_ffff),
        (Sar, Ty::I64, MIN64, 63 + 64, u64::MAX),
        (Rotl, Ty::I64, MIN64 | 1, 1, 3),
        (Rotr, Ty::I32, 1, 1, 0x8000_0000),
        (MinS, Ty::I32, 0xffff_ffff, 1, 0xffff_ffff),
        (MinU, Ty::I32, 0xffff_ffff, 1, 1),
        (MaxS, Ty::I64, MIN64, 0, 0),
        (MaxU, Ty::I64, MIN64, 0, MIN64),
    ];
    for &(op, ty, a, b, want) in cases {
        assert_eq!(
            binop(&mut h, op, ty, a, b),
            want,
            "{op:?}.{ty:?}({a:#x}, {b:#x})"
        );
    }
}

#[test]
fn unary_bit_counts_and_extensions() {
    let mut h = Harness::new();
    use Opcode::*;
    let cases: &[(Opcode, Ty, u64, u64)] = &[
        (Clz, Ty::I32, 0, 32),
        (Clz, Ty::I64, 1, 63),
        (Ctz, Ty::I64, 0, 64),
        (Ctz, Ty::I32, 0x8000_0000, 31),
        (Popcnt, Ty::I64, u64::MAX, 64),
        (Bswap, Ty::I32, 0x1122_3344, 0x4433_2211),
        (Bswap, Ty::I64, 0x0102_0304_0506_0708, 0x0807_0605_0403_0201),
        (Sext8, Ty::I64, 0x80, 0xffff_ffff_ffff_ff80),
        (Sext16, Ty::I32, 0x8000, 0xffff_8000),
        (Sext32, Ty::I64, 0x8000_0000, 0xffff_ffff_8000_0000),
        (Zext8, Ty::I64, 0x1ff, 0xff),
        (Zext16, Ty::I32, 0xf_ffff, 0xffff),
        (Zext32, Ty::I64, u64::MAX, 0xffff_ffff),
        (Neg, Ty::I32, 1, 0xffff_ffff),
        (Not, Ty::I64, 0, u64::MAX),
    ];
    for &(op, ty, a, want) in cases {
        assert_eq!(unop(&mut h, op, ty, a), want, "{op:?}.{ty:?}({a:#x})");
    }
}

#[test]
fn converts_compare_on_the_source_type() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let x32 = bl.get_reg(Ty::I32, reg_offset(1));
    let x64 = bl.get_reg(Ty::I64, reg_offset(1));
    let zero32 = bl.konst(Ty::I32, 0);
    let zero64 = bl.konst(Ty::I64, 0);
    let e = bl.extu(x32);
    bl.set_reg(reg_offset(2), e);
    let e = bl.exts(x32);
    bl.set_reg(reg_offset(3), e);
    let t = bl.trunc(x64);
    bl.set_reg(reg_offset(4), t);
    let c = bl.setcond(Cond::Lt, x32, zero32); // -1 < 0 as i32
    bl.set_reg(reg_offset(5) + 4, c);
    let c = bl.setcond(Cond::Lt, x64, zero64); // 0xffffffff < 0 as i64: no
    bl.set_reg(reg_offset(6), c);
    let big = bl.konst(Ty::I64, 111);
    let small = bl.konst(Ty::I64, 222);
    let s = bl.select(Cond::Gtu, x32, zero32, big, small);
    bl.set_reg(reg_offset(7), s);
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(&mut h, &bl.finish(4, 1), &[(1, 0xffff_ffff)]);
    assert_eq!(env.word(reg_offset(2)), 0xffff_ffff);
    assert_eq!(env.word(reg_offset(3)), u64::MAX);
    assert_eq!(env.word(reg_offset(4)), 0xffff_ffff);
    assert_eq!(env.word(reg_offset(5)), 1 << 32);
    assert_eq!(env.word(reg_offset(6)), 0);
    assert_eq!(env.word(reg_offset(7)), 111);
}

fn le(b: u32, signed: bool) -> MemOp {
    MemOp::le(b, signed)
}

#[test]
fn loads_extend_and_swap_big_endian() {
    // memory byte i holds i: [0x10] = 10 11 12 13 14 15 16 17 ; [0x80] = 80 81 ...
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let a = bl.get_reg(Ty::I64, reg_offset(1)); // 0x10
    let be = |b: u32, s: bool| MemOp {
        big_endian: true,
        ..le(b, s)
    };
    let loads = [
        (Ty::I64, 0x70, le(1, true)),  // 0x80 sign-extended
        (Ty::I64, 0x70, le(1, false)), // 0x80
        (Ty::I32, 0x70, le(2, true)),  // 0x8180 → 0xffff8180
        (Ty::I64, 0, be(2, false)),    // 0x1011
        (Ty::I64, 0, be(4, false)),    // 0x10111213
        (Ty::I64, 0, le(8, false)),    // 0x1716151413121110
        (Ty::I64, 0, be(8, false)),    // 0x1011121314151617
        (Ty::I64, 0x70, be(4, true)),  // 0x80818283 sign-extended
    ];
    for (k, (ty, d, m)) in loads.iter().enumerate() {
        let v = bl.load(*ty, a, *d, *m);
        bl.set_reg(reg_offset(10 + k), v);
    }
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(&mut h, &bl.finish(4, 1), &[(1, 0x10)]);
    let got: Vec<u64> = (0..loads.len())
        .map(|k| env.word(reg_offset(10 + k)))
        .collect();
    assert_eq!(
        got,
        [
            0xffff_ffff_ffff_ff80,
            0x80,
            0xffff_8180,
            0x1011,
            0x1011_1213,
            0x1716_1514_1312_1110,
            0x1011_1213_1415_1617,
            0xffff_ffff_8081_8283
        ]
    );
}

#[test]
fn stores_write_the_right_bytes() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let a = bl.get_reg(Ty::I64, reg_offset(1));
    let v = bl.get_reg(Ty::I64, reg_offset(2));
    let v32 = bl.trunc(v);
    bl.store(v, a, 0, le(8, false));
    bl.store(
        v32,
        a,
        8,
        MemOp {
            big_endian: true,
            ..le(4, false)
        },
    );
    bl.store(v32, a, 12, le(2, false));
    bl.exit(ExitReason::Syscall, 4);
    let u = bl.finish(4, 1);
    run(&mut h, &u, &[(1, 0x200), (2, 0x0102_0304_0506_0708)]);
    let m = h.mem.snapshot();
    assert_eq!(
        &m[0x200..0x210],
        &[8, 7, 6, 5, 4, 3, 2, 1, 5, 6, 7, 8, 8, 7, 0x0e, 0x0f]
    );
}

#[test]
fn misaligned_access_that_must_be_aligned_raises_at_its_instruction() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0x100);
    bl.insn_start(0x100);
    let a = bl.get_reg(Ty::I64, reg_offset(1));
    let one = bl.konst(Ty::I64, 1);
    bl.set_reg(reg_offset(2), one);
    bl.insn_start(0x104);
    let v = bl.load(
        Ty::I64,
        a,
        2,
        MemOp {
            aligned: true,
            ..le(4, false)
        },
    );
    bl.set_reg(reg_offset(3), v);
    bl.exit(ExitReason::Syscall, 0x108);
    let u = bl.finish(8, 2);
    let (env, ret) = run(&mut h, &u, &[(1, 0x40)]);
    assert_eq!(decode_exit(ret), (ExitKind::Raise, MISALIGNED));
    assert_eq!((env.pc, env.exc_arg), (0x104, 0x42));
    assert_eq!(
        env.word(reg_offset(2)),
        1,
        "registers are written back before a fault"
    );
    let (env, ret) = run(&mut h, &u, &[(1, 0x3e)]);
    assert_eq!(
        decode_exit(ret),
        (ExitKind::Exit, ExitReason::Syscall as u32)
    );
    assert_eq!(env.word(reg_offset(3)), 0x4342_4140);
}

#[test]
fn atomics_return_the_old_value() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let a = bl.get_reg(Ty::I64, reg_offset(1));
    let x = bl.konst(Ty::I32, 5);
    let old = bl.atomic_rmw(AtomicOp::Add, a, x, le(4, false));
    let o = bl.extu(old);
    bl.set_reg(reg_offset(2), o);
    let exp = bl.konst(Ty::I32, 0x0302_0106); // memory now holds 0x03020105: the cas fails
    let new = bl.konst(Ty::I32, 0xaabb_ccdd);
    let old = bl.atomic_cas(a, exp, new, le(4, false));
    let o = bl.extu(old);
    bl.set_reg(reg_offset(3), o);
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(&mut h, &bl.finish(4, 1), &[(1, 0x100)]);
    assert_eq!(env.word(reg_offset(2)), 0x0302_0100);
    assert_eq!(
        env.word(reg_offset(3)),
        0x0302_0105,
        "cas sees the added value and fails"
    );
    assert_eq!(&h.mem.snapshot()[0x100..0x104], &[0x05, 0x01, 0x02, 0x03]);
}

#[test]
fn state_halves_and_mixed_widths_stay_coherent() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let lo = bl.konst(Ty::I32, 0x1111_1111);
    bl.set_reg(reg_offset(1), lo); // low half of word 1
    let w = bl.get_reg(Ty::I64, reg_offset(1)); // mixed: must see the new low half
    bl.set_reg(reg_offset(2), w);
    let hi = bl.konst(Ty::I32, 0x2222_2222);
    bl.set_reg(reg_offset(3) + 4, hi); // high half of word 3 only
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(
        &mut h,
        &bl.finish(4, 1),
        &[(1, 0xaaaa_aaaa_bbbb_bbbb), (3, 0x3333_3333_4444_4444)],
    );
    assert_eq!(env.word(reg_offset(2)), 0xaaaa_aaaa_1111_1111);
    assert_eq!(env.word(reg_offset(3)), 0x2222_2222_4444_4444);
}

#[test]
fn helpers_see_written_back_state_and_their_writes_are_reloaded() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let v = bl.konst(Ty::I64, 40);
    bl.set_reg(reg_offset(2), v); // cached; h_state reads and replaces word 2
    let a = bl.konst(Ty::I64, 7);
    let b = bl.konst(Ty::I64, 9);
    let c = bl.konst(Ty::I64, 0);
    let old = bl.call(&crate::tests::HELPERS[2], &[a, b, c]);
    bl.set_reg(reg_offset(6), old);
    let now = bl.get_reg(Ty::I64, reg_offset(2));
    bl.set_reg(reg_offset(7), now);
    bl.exit(ExitReason::Syscall, 4);
    let (env, _) = run(&mut h, &bl.finish(4, 1), &[]);
    assert_eq!(
        env.word(reg_offset(6)),
        40,
        "the helper saw the cached write"
    );
    assert_eq!(
        env.word(reg_offset(7)),
        7,
        "the unit saw the helper's write"
    );
    assert_eq!(env.word(reg_offset(2)), 7, "the exit did not clobber it");
}

#[test]
fn a_slot_reused_for_another_pc_is_not_chained() {
    let mut h = Harness::new();
    let mut bl = Builder::new(0);
    let x = bl.get_reg(Ty::I64, reg_offset(1));
    let z = bl.konst(Ty::I64, 0);
    let l = bl.label();
    bl.branch(Cond::Ne, x, z, l);
    bl.goto_tb(0, 0x2000);
    bl.set_label(l);
    bl.goto_tb(0, 0x3000);
    let u = bl.finish(4, 1);
    h.jit.reset();
    let mut env = CpuState::new_boxed();
    let got = h.run_jit(&u, &mut env).unwrap();
    assert_eq!((got.slot, got.pc), (Some(0), 0x2000));
    let mut env = CpuState::new_boxed();
    env.set_word(reg_offset(1), 1);
    let got = h.run_jit(&u, &mut env).unwrap();
    assert_eq!((got.slot, got.pc, got.value), (None, 0x3000, 0));
}

#[test]
fn a_goto_tb_to_the_units_own_start_loops_inside_the_function() {
    // loop: r1 -= 1; r2 += 1; if r1 == 0 exit else goto_tb self
    let mut h = Harness::new();
    let mut bl = Builder::new(0x40);
    bl.insn_start(0x40);
    let a = bl.get_reg(Ty::I64, reg_offset(1));
    let a = bl.binop_imm(Opcode::Sub, a, 1);
    bl.set_reg(reg_offset(1), a);
    let b = bl.get_reg(Ty::I64, reg_offset(2));
    let b = bl.binop_imm(Opcode::Add, b, 1);
    bl.set_reg(reg_offset(2), b);
    let z = bl.konst(Ty::I64, 0);
    let done = bl.label();
    bl.branch(Cond::Eq, a, z, done);
    bl.goto_tb(0, 0x40);
    bl.set_label(done);
    bl.exit(ExitReason::Syscall, 0x44);
    let u = bl.finish(4, 1);
    let mut env = CpuState::new_boxed();
    env.set_word(reg_offset(1), 1000);
    let got = h.run_jit(&u, &mut env).unwrap();
    assert_eq!(
        decode_exit(got.value),
        (ExitKind::Exit, ExitReason::Syscall as u32)
    );
    assert_eq!(
        (env.word(reg_offset(1)), env.word(reg_offset(2)), env.pc),
        (0, 1000, 0x44)
    );
    // An exit request is still seen on the way round: at entry, nothing runs.
    let mut env = CpuState::new_boxed();
    env.set_word(reg_offset(1), 1000);
    env.exit_request
        .store(1, std::sync::atomic::Ordering::Relaxed);
    let got = h.run_jit(&u, &mut env).unwrap();
    assert_eq!(decode_exit(got.value), (ExitKind::Request, 0));
    assert_eq!((env.word(reg_offset(1)), env.pc), (1000, 0x40));
}
