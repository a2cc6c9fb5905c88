//! Lifting checks on the reference interpreter, expected values worked out from the SDM.

use crate::{X86_64, rflags, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, interp};

struct Code(Vec<u8>);

impl CodeFetch for Code {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = usize::try_from(pc).ok()?;
        Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
    }
}

/// Runs one unit of `code` from pc 0.
fn run(code: &[u8], env: &mut CpuState) -> interp::InterpExit {
    let fe = X86_64::new();
    fe.init_user_state(env);
    // Padded with int3 (the fetcher reads whole halfwords).
    let mut bytes = code.to_vec();
    bytes.extend_from_slice(&[0xcc; 16]);
    let unit = fe.translate(0, &Code(bytes), 32);
    xlat_ir::verify(&unit).expect("valid unit");
    interp::run(
        &unit,
        &interp::Prepared::new(&unit),
        env,
        &interp::NoMem,
        &mut Vec::new(),
    )
}

#[test]
fn cmp_then_jl_takes_the_signed_branch() {
    // cmp rax, rbx ; jl +5 ; (not taken: falls to 7)
    let code = [0x48, 0x39, 0xd8, 0x7c, 0x05];
    let mut env = CpuState::new_boxed();
    env.set_word(state::RAX, (-3i64) as u64);
    env.set_word(state::RBX, 2);
    run(&code, &mut env);
    assert_eq!(env.pc, 10, "-3 < 2 signed: taken to 5 + 5");
    let mut env = CpuState::new_boxed();
    env.set_word(state::RAX, 3);
    env.set_word(state::RBX, 2);
    run(&code, &mut env);
    assert_eq!(env.pc, 5, "3 < 2 is false: falls through");
}

#[test]
fn add_sets_carry_zero_and_overflow() {
    // add al, bl with 0x80 + 0x80 = 0x100: CF, ZF, OF set; then int3
    let code = [0x00, 0xd8, 0xcc];
    let mut env = CpuState::new_boxed();
    env.set_word(state::RAX, 0x1234_5680);
    env.set_word(state::RBX, 0x80);
    run(&code, &mut env);
    assert_eq!(env.word(state::RAX), 0x1234_5600, "only al changes");
    let f = rflags(&env);
    assert_eq!(f & 0x8c5, 0x845, "CF ZF OF PF set, SF clear: {f:#x}");
}

#[test]
fn thirty_two_bit_writes_zero_extend_and_eight_bit_merge() {
    // mov eax, ecx ; mov bh, cl ; int3
    let code = [0x89, 0xc8, 0x88, 0xcf, 0xcc];
    let mut env = CpuState::new_boxed();
    env.set_word(state::RAX, u64::MAX);
    env.set_word(state::RCX, 0xdead_beef_cafe_f00d);
    env.set_word(state::RBX, 0x1111_1111_1111_1111);
    run(&code, &mut env);
    assert_eq!(env.word(state::RAX), 0xcafe_f00d);
    assert_eq!(env.word(state::RBX), 0x1111_1111_1111_0d11);
}

#[test]
fn div_by_zero_raises_divide_error() {
    // div rcx with rcx = 0
    let code = [0x48, 0xf7, 0xf1];
    let mut env = CpuState::new_boxed();
    let exit = run(&code, &mut env);
    let (kind, code) = xlat_ir::abi::decode_exit(exit.value);
    assert_eq!(kind, xlat_ir::abi::ExitKind::Raise);
    assert_eq!(code, crate::DIVIDE_ERROR);
}

#[test]
fn unknown_opcode_raises_illegal_instruction() {
    // 0x0f 0x0b is ud2; 0x06 (push es) is invalid in 64-bit mode.
    for code in [[0x0f, 0x0b], [0x06, 0x90]] {
        let mut env = CpuState::new_boxed();
        let exit = run(&code, &mut env);
        let (kind, c) = xlat_ir::abi::decode_exit(exit.value);
        assert_eq!(
            (kind, c),
            (xlat_ir::abi::ExitKind::Raise, crate::ILLEGAL_INSTRUCTION)
        );
        assert_eq!(env.pc, 0);
    }
}

#[test]
fn fld_of_an_empty_register_underflows() {
    // fldpi ; fld st(5) (empty): IE and SF, the indefinite pushed
    let code = [0xd9, 0xeb, 0xd9, 0xc5, 0xcc];
    let mut env = CpuState::new_boxed();
    run(&code, &mut env);
    assert_eq!(env.word(state::X87_SW) & 0x41, 0x41, "IE and SF");
    assert_eq!(env.word(state::X87_TOP), 6, "two pushes");
}
