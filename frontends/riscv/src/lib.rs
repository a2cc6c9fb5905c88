//! # xlat-frontend-riscv
//!
//! xlat's RISC-V frontend: RV64GC (I, M, A, F, D, C, Zicsr, Zifencei) plus Zba/Zbb/Zbs. Guest
//! code is fetched, compressed parcels are expanded ([`rvc`]), decoded by one declarative
//! table ([`decode`]) and lifted into an [`xlat_ir::Unit`]; the same decoder drives the
//! disassembler used for `-d in_asm` ([`disas`]). FP arithmetic runs in helpers over the exact
//! soft-float in [`fpu`]. The register layout in the CPU state is in [`state`].
//!
//! ```
//! use xlat_frontend_riscv::{state, Riscv64};
//! use xlat_ir::{abi::CpuState, interp, CodeFetch, Frontend};
//!
//! struct Code(Vec<u8>);
//! impl CodeFetch for Code {
//!     fn fetch_u16(&self, pc: u64) -> Option<u16> {
//!         let i = usize::try_from(pc).ok()?;
//!         Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
//!     }
//! }
//! // addi a0, a0, 5 ; ecall
//! let code = Code(vec![0x13, 0x05, 0x55, 0x00, 0x73, 0x00, 0x00, 0x00]);
//! let unit = Riscv64::new().translate(0, &code, 16);
//! xlat_ir::verify(&unit).unwrap();
//! let mut env = CpuState::new_boxed();
//! env.set_word(state::A0, 37);
//! interp::run(&unit, &interp::Prepared::new(&unit), &mut env, &interp::NoMem, &mut Vec::new());
//! assert_eq!(env.word(state::A0), 42);
//! assert_eq!(env.pc, 4); // the ecall's pc, for the syscall exit
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod disas;
pub mod fpu;
mod helpers;
mod lift;
pub mod rvc;
pub mod state;
pub mod system;

use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, TrapClass, Unit, UserAbi};

/// mcause 0: instruction address misaligned.
pub const INSTRUCTION_ADDRESS_MISALIGNED: u32 = 0;
/// mcause 1: instruction access fault.
pub const INSTRUCTION_ACCESS_FAULT: u32 = 1;
/// mcause 2: illegal instruction (argument: the instruction bits).
pub const ILLEGAL_INSTRUCTION: u32 = 2;
/// mcause 3: breakpoint.
pub const BREAKPOINT: u32 = 3;
/// mcause 4: load address misaligned (argument: the address).
pub const LOAD_ADDRESS_MISALIGNED: u32 = 4;
/// mcause 5: load access fault.
pub const LOAD_ACCESS_FAULT: u32 = 5;
/// mcause 6: store/AMO address misaligned (argument: the address).
pub const STORE_ADDRESS_MISALIGNED: u32 = 6;
/// mcause 7: store/AMO access fault.
pub const STORE_ACCESS_FAULT: u32 = 7;
/// mcause 12: instruction page fault.
pub const INSTRUCTION_PAGE_FAULT: u32 = 12;
/// mcause 13: load page fault.
pub const LOAD_PAGE_FAULT: u32 = 13;
/// mcause 15: store/AMO page fault.
pub const STORE_PAGE_FAULT: u32 = 15;

/// The RV64GC frontend.
#[derive(Debug)]
pub struct Riscv64 {
    abi: UserAbi,
    /// System mode (privileged instructions and CSRs left to [`system`]).
    system: bool,
}

impl Default for Riscv64 {
    fn default() -> Self {
        Self::new()
    }
}

const fn ext(c: u8) -> u64 {
    1 << (c - b'A')
}

impl Riscv64 {
    /// A frontend for RV64GC + Zba/Zbb/Zbs in user mode.
    pub fn new() -> Riscv64 {
        let abi = UserAbi {
            syscall_nr: state::A7,
            syscall_args: [10, 11, 12, 13, 14, 15].map(state::x),
            syscall_ret: state::A0,
            sp: state::SP,
            tp: state::TP,
            syscall_insn_len: 4,
            elf_machine: 243,
            hwcap: ext(b'I') | ext(b'M') | ext(b'A') | ext(b'F') | ext(b'D') | ext(b'C'),
            uname_machine: "riscv64",
        };
        Riscv64 { abi, system: false }
    }

    /// A frontend for a whole hart (M/S/U modes): CSR and privileged instructions raise
    /// illegal-instruction and the machine emulates them ([`system::exec`]).
    pub fn new_system() -> Riscv64 {
        Riscv64 {
            system: true,
            ..Riscv64::new()
        }
    }
}

impl Frontend for Riscv64 {
    fn name(&self) -> &'static str {
        "riscv64"
    }

    fn translate(&self, pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
        lift::translate_mode(pc, code, max_insns, self.system)
    }

    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String) {
        disas::disas(pc, code)
    }

    fn classify_trap(&self, code: u32) -> TrapClass {
        match code {
            ILLEGAL_INSTRUCTION => TrapClass::IllegalInstruction,
            BREAKPOINT => TrapClass::Breakpoint,
            INSTRUCTION_ADDRESS_MISALIGNED | LOAD_ADDRESS_MISALIGNED | STORE_ADDRESS_MISALIGNED => {
                TrapClass::Misaligned
            }
            INSTRUCTION_ACCESS_FAULT
            | LOAD_ACCESS_FAULT
            | STORE_ACCESS_FAULT
            | INSTRUCTION_PAGE_FAULT
            | LOAD_PAGE_FAULT
            | STORE_PAGE_FAULT => TrapClass::AccessFault,
            _ => TrapClass::Other,
        }
    }

    fn user_abi(&self) -> &UserAbi {
        &self.abi
    }

    fn init_user_state(&self, env: &mut CpuState) {
        env.set_word(state::FFLAGS, 0);
        env.set_word(state::FRM, 0);
        env.set_word(state::RES_ADDR, state::RES_NONE);
    }

    fn registers(&self) -> Vec<(&'static str, u32)> {
        const X: [&str; 31] = [
            "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
            "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25",
            "x26", "x27", "x28", "x29", "x30", "x31",
        ];
        const F: [&str; 32] = [
            "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13",
            "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25",
            "f26", "f27", "f28", "f29", "f30", "f31",
        ];
        let mut v: Vec<_> = X
            .iter()
            .zip(1u8..)
            .map(|(n, i)| (*n, state::x(i)))
            .collect();
        v.extend(F.iter().zip(0u8..).map(|(n, i)| (*n, state::f(i))));
        v.push(("fflags", state::FFLAGS));
        v.push(("frm", state::FRM));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_abi_matches_linux_riscv64() {
        let fe = Riscv64::new();
        let abi = fe.user_abi();
        // AT_HWCAP on an rv64imafdc Linux system (LD_SHOW_AUXV=1) reads 0x112d.
        assert_eq!(abi.hwcap, 0x112d);
        assert_eq!(abi.elf_machine, 243);
        assert_eq!(
            (abi.syscall_nr, abi.syscall_ret),
            (state::x(17), state::x(10))
        );
        assert_eq!(abi.syscall_args[5], state::x(15));
        assert_eq!((abi.sp, abi.tp), (state::x(2), state::x(4)));
    }

    #[test]
    fn traps_are_classified_by_mcause() {
        let fe = Riscv64::new();
        assert_eq!(fe.classify_trap(2), TrapClass::IllegalInstruction);
        assert_eq!(fe.classify_trap(3), TrapClass::Breakpoint);
        assert_eq!(fe.classify_trap(6), TrapClass::Misaligned);
        assert_eq!(fe.classify_trap(13), TrapClass::AccessFault);
        assert_eq!(fe.classify_trap(99), TrapClass::Other);
    }

    #[test]
    fn registers_cover_x_f_and_fcsr() {
        let regs = Riscv64::new().registers();
        assert_eq!(regs.len(), 31 + 32 + 2);
        assert_eq!(regs[0], ("x1", state::x(1)));
        assert!(regs.contains(&("f31", state::f(31))));
        assert!(regs.contains(&("frm", state::FRM)));
    }
}
