//! Lifter tests: small A64 programs (encodings checked against GNU as) run in the reference
//! interpreter; expected values from the architecture's definitions.

use crate::{Aarch64, state};
use xlat_ir::abi::{CpuState, ExitKind};
use xlat_ir::interp::GuestMem;
use xlat_ir::testmem::{FlatMem as Mem, verify_and_run};
use xlat_ir::{ExitReason, Frontend, MemOp};

const CODE: u64 = 0x1000;
const DATA: u64 = 0x8000;

/// Runs `code` at [`CODE`] from a state set up by `init` until it reaches `svc` (returns
/// `Ok(state)`) or raises (returns the exception code).
fn run(code: &[u32], init: &[(u32, u64)]) -> Result<(Box<CpuState>, Mem), u32> {
    run_prepared(code, init, &[])
}

/// [`run`] with 64-bit words of `data` stored first.
fn run_prepared(
    code: &[u32],
    init: &[(u32, u64)],
    data: &[(u64, u64)],
) -> Result<(Box<CpuState>, Mem), u32> {
    let mem = Mem::new(0, 0x10000, crate::DATA_ABORT);
    for (a, v) in data {
        mem.store(*a, MemOp::le(8, false), *v).unwrap();
    }
    for (i, w) in code.iter().enumerate() {
        mem.store(CODE + 4 * i as u64, MemOp::le(4, false), u64::from(*w))
            .unwrap();
    }
    let fe = Aarch64::new();
    let mut env = CpuState::new_boxed();
    fe.init_user_state(&mut env);
    for (off, v) in init {
        env.set_word(*off, *v);
    }
    env.pc = CODE;
    for _ in 0..1000 {
        let exit = verify_and_run(&fe.translate(env.pc, &mem, 32), &mut env, &mem);
        match xlat_ir::abi::decode_exit(exit.value) {
            (ExitKind::Exit, r) if r == ExitReason::Syscall as u32 => return Ok((env, mem)),
            (ExitKind::Raise, c) => return Err(c),
            _ => {}
        }
    }
    panic!("program did not reach svc");
}

const SVC: u32 = 0xd400_0001;

fn x(env: &CpuState, i: u8) -> u64 {
    env.word(state::x(i))
}

fn nzcv(env: &CpuState) -> u8 {
    (state::nzcv(env) >> 28) as u8
}

#[test]
fn data_processing_immediate() {
    let code = [
        0xd2a24680, // mov x0, #0x12340000
        0xf297dde0, // movk x0, #0xbeef
        0x12800001, // mov w1, #0xffffffff
        0x91404002, // add x2, x0, #0x10, lsl #12
        0xeb000003, // subs x3, x0, x0
        0x31000424, // adds w4, w1, #0x1
        0x92781c05, // and x5, x0, #0xff00
        0x3200f3e6, // mov w6, #0x55555555
        0xd3484c07, // ubfx x7, x0, #8, #12
        0x93441c28, // sbfx x8, x1, #4, #4
        0xb37c1c09, // bfi x9, x0, #4, #8
        0x93c1400a, // extr x10, x0, x1, #16
        SVC,
    ];
    let (env, _) = run(&code, &[(state::x(9), 0xffff_0000_0000_000f)]).unwrap();
    assert_eq!(x(&env, 0), 0x1234_beef);
    assert_eq!(x(&env, 1), 0xffff_ffff);
    assert_eq!(x(&env, 2), 0x1235_beef);
    assert_eq!(x(&env, 3), 0);
    assert_eq!(x(&env, 4), 0);
    // adds w4: 0xffffffff + 1 carries out and gives zero.
    assert_eq!(nzcv(&env), 0b0110);
    assert_eq!(x(&env, 5), 0xbe00);
    assert_eq!(x(&env, 6), 0x5555_5555);
    assert_eq!(x(&env, 7), 0x4be);
    assert_eq!(x(&env, 8), u64::MAX);
    assert_eq!(x(&env, 9), 0xffff_0000_0000_0eff);
    assert_eq!(x(&env, 10), 0xbeef_0000_0000_ffff);
}

#[test]
fn exclusives_atomics_and_pairs() {
    let code = [
        0xc85f7c01, // ldxr x1, [x0]
        0x91000421, // add x1, x1, #0x1
        0xc8027c01, // stxr w2, x1, [x0]
        0xf8230004, // ldadd x3, x4, [x0]
        0xc8057c01, // stxr w5, x1, [x0] (monitor already cleared: fails)
        0x38230006, // ldaddb w3, w6, [x0]
        0x08a77c08, // casb w7, w8, [x0]
        0xa8c12809, // ldp x9, x10, [x0], #16
        0xf81f8c09, // str x9, [x0, #-8]!
        SVC,
    ];
    let mem_init = [(state::x(0), DATA), (state::x(3), 0x101), (state::x(7), 2)];
    let mut init = mem_init.to_vec();
    init.push((state::x(8), 0xab));
    let (env, mem) = run_with_data(&code, &init, &[(DATA, 0x10ff), (DATA + 8, 0x55)]);
    assert_eq!(x(&env, 1), 0x1100);
    assert_eq!(x(&env, 2), 0, "first stxr succeeds");
    assert_eq!(x(&env, 4), 0x1100);
    assert_eq!(x(&env, 5), 1, "second stxr fails");
    assert_eq!(x(&env, 6), 0x01);
    assert_eq!(x(&env, 7), 0x02);
    assert_eq!(x(&env, 9), 0x12ab);
    assert_eq!(x(&env, 10), 0x55);
    assert_eq!(x(&env, 0), DATA + 8);
    assert_eq!(mem.load(DATA + 8, MemOp::le(8, false)).unwrap(), 0x12ab);
}

#[test]
fn undefined_and_unfetchable_raise() {
    assert_eq!(run(&[0], &[]).err(), Some(crate::ILLEGAL_INSTRUCTION));
    // br to an address outside memory: instruction abort there.
    let code = [0xd61f0000]; // br x0
    assert_eq!(
        run(&code, &[(state::x(0), 0x10_0000)]).err(),
        Some(crate::INSTRUCTION_ABORT)
    );
}

fn run_with_data(code: &[u32], init: &[(u32, u64)], data: &[(u64, u64)]) -> (Box<CpuState>, Mem) {
    run_prepared(code, init, data).unwrap()
}
