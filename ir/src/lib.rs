//! # xlat-ir
//!
//! The intermediate representation every xlat frontend lifts guest code into and the backend
//! compiles. A translation unit ([`Unit`]) is a list of instructions over typed, mutable temps
//! (TCG-style), with labels for branches inside the unit, explicit guest-state access
//! (`get_reg`/`set_reg` on byte offsets of [`abi::CpuState`]), memory ops carrying a [`MemOp`],
//! helper calls with declared effects, and exits (`goto_tb`, `goto_ptr`, `exit`, `raise`).
//!
//! Opcodes are declared once, in [`ops`]; the printer ([`print`]), verifier ([`verify()`]) and the
//! reference interpreter ([`interp`]) read that table. The interpreter executes a unit exactly
//! as the backend's compiled code does: it is the backend's test oracle and its cold tier.
//!
//! ```
//! use xlat_ir::{abi, Builder, Cond, Opcode, Ty, interp};
//! let mut b = Builder::new(0x1000);
//! b.insn_start(0x1000);
//! let x = b.get_reg(Ty::I64, abi::reg_offset(1));
//! let y = b.binop_imm(Opcode::Add, x, 5);
//! b.set_reg(abi::reg_offset(1), y);
//! b.goto_tb(0, 0x1004);
//! let unit = b.finish(4, 1);
//! xlat_ir::verify(&unit).unwrap();
//! let mut env = abi::CpuState::new_boxed();
//! env.set_word(abi::reg_offset(1), 37);
//! let prep = interp::Prepared::new(&unit);
//! let exit = interp::run(&unit, &prep, &mut env, &interp::NoMem, &mut Vec::new());
//! assert_eq!(env.word(abi::reg_offset(1)), 42);
//! assert_eq!(env.pc, 0x1004);
//! assert_eq!(exit.slot, Some(0));
//! # let _ = Cond::Eq;
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
mod builder;
pub mod fp;
pub mod fsem;
pub mod interp;
pub mod ops;
pub mod print;
pub mod testmem;
mod unit;
mod verify;

pub use builder::Builder;
pub use ops::{Format, OpFlags, Opcode};
pub use unit::*;
pub use verify::{VerifyError, verify};

/// Reads guest code for a frontend. Returns `None` where the guest may not execute.
pub trait CodeFetch {
    /// Reads the 16-bit little-endian halfword at `pc` (RISC-V parcels, x86 bytes two at a time).
    fn fetch_u16(&self, pc: u64) -> Option<u16>;
    /// Reads one byte at `pc`.
    fn fetch_u8(&self, pc: u64) -> Option<u8> {
        self.fetch_u16(pc & !1)
            .map(|h| if pc & 1 == 0 { h as u8 } else { (h >> 8) as u8 })
    }
}

/// A guest trap, classified so that user mode and system mode can act on it without knowing the
/// architecture's exception numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapClass {
    /// Undefined or unimplemented instruction (SIGILL in user mode).
    IllegalInstruction,
    /// Breakpoint instruction (SIGTRAP).
    Breakpoint,
    /// Misaligned access the architecture does not allow (SIGBUS).
    Misaligned,
    /// Access to an address that is not mapped or not permitted (SIGSEGV).
    AccessFault,
    /// Integer divide error and similar (SIGFPE).
    Arithmetic,
    /// A protection violation that is not a page fault (x86 #GP: a privileged instruction or
    /// port I/O in user mode, a misaligned 16-byte operand): SIGSEGV with `si_code` SI_KERNEL
    /// and no address, as Linux delivers it.
    Protection,
    /// Anything else.
    Other,
}

/// Where the Linux user-mode ABI keeps its values in the guest state (byte offsets).
#[derive(Debug, Clone)]
pub struct UserAbi {
    /// The syscall number register (a7 on riscv64, x8 on aarch64, rax on x86-64).
    pub syscall_nr: u32,
    /// The six syscall argument registers.
    pub syscall_args: [u32; 6],
    /// Where the syscall result goes.
    pub syscall_ret: u32,
    /// The stack pointer.
    pub sp: u32,
    /// The thread pointer (TLS base).
    pub tp: u32,
    /// Bytes to add to pc to step past the syscall instruction.
    pub syscall_insn_len: u64,
    /// ELF `e_machine` this frontend runs.
    pub elf_machine: u16,
    /// `AT_HWCAP` value for the features implemented.
    pub hwcap: u64,
    /// Linux `uname -m` string.
    pub uname_machine: &'static str,
}

/// A guest architecture, as the backend and the user/system layers see it. The backend never
/// names an architecture: it drives a `&dyn Frontend`.
pub trait Frontend: Send + Sync + std::fmt::Debug {
    /// Short name (`riscv64`).
    fn name(&self) -> &'static str;

    /// Lifts the guest code at `pc` into one unit of at most `max_insns` guest instructions.
    /// Never fails: undecodable or unfetchable code lifts to a `raise`.
    fn translate(&self, pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit;

    /// [`Frontend::translate`], with the guest state exact before every instruction
    /// `observed(pc, size)` names (code hooks, stop addresses and counts of an embedding see
    /// it there): no flag liveness look-ahead across them. A frontend whose lifter skips
    /// state updates a later instruction of the unit overwrites must override this.
    fn translate_observed(
        &self,
        pc: u64,
        code: &dyn CodeFetch,
        max_insns: u32,
        observed: &dyn Fn(u64, u32) -> bool,
    ) -> Unit {
        let _ = observed;
        self.translate(pc, code, max_insns)
    }

    /// Disassembles one instruction at `pc` for traces: its length in bytes and its text.
    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String);

    /// Classifies the architecture's exception `code` (as raised by units).
    fn classify_trap(&self, code: u32) -> TrapClass;

    /// The Linux user ABI register map.
    fn user_abi(&self) -> &UserAbi;

    /// Sets up the state for a new user-mode process (FP enabled, rounding modes...). The pc
    /// and stack pointer are set by the caller.
    fn init_user_state(&self, env: &mut abi::CpuState);

    /// Offset of the stack pointer etc. are in [`UserAbi`]; this names a general register for
    /// traces and tests: `(name, state offset)` for each register compared by differential tests.
    fn registers(&self) -> Vec<(&'static str, u32)>;
}

#[cfg(test)]
mod tests;
