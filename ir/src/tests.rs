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
