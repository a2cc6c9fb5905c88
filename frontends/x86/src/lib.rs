//! # xlat-frontend-x86
//!
//! xlat's x86-64 guest: instructions are fetched byte by byte (up to 15), decoded with
//! iced-x86 and lifted into an [`xlat_ir::Unit`] (`lift`). Condition codes are lazy
//! ([`flags`]): an instruction records its operation and operands and the flags are computed
//! only where read, inline when the consumer follows in the same unit. The state layout is in
//! [`state`]; CPUID's virtual CPU in [`cpuid`]; packed SSE2 in [`sse`].
//!
//! ```
//! use xlat_frontend_x86::{state, X86_64};
//! use xlat_ir::{abi::CpuState, interp, CodeFetch, Frontend};
//!
//! struct Code(Vec<u8>);
//! impl CodeFetch for Code {
//!     fn fetch_u16(&self, pc: u64) -> Option<u16> {
//!         let i = usize::try_from(pc).ok()?;
//!         Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
//!     }
//! }
//! // add rax, 5 ; syscall
//! let code = Code(vec![0x48, 0x83, 0xc0, 0x05, 0x0f, 0x05]);
//! let unit = X86_64::new().translate(0, &code, 16);
//! xlat_ir::verify(&unit).unwrap();
//! let mut env = CpuState::new_boxed();
//! env.set_word(state::RAX, 37);
//! interp::run(&unit, &interp::Prepared::new(&unit), &mut env, &interp::NoMem, &mut Vec::new());
//! assert_eq!(env.word(state::RAX), 42);
//! assert_eq!(env.pc, 4); // the syscall's pc
//! assert_eq!(env.word(state::RCX), 6); // syscall puts the return address in rcx
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cpuid;
pub mod flags;
mod helpers;
mod lift;
pub mod sse;
mod sse4;
pub mod ssefp;
pub mod state;
pub mod system;
pub mod x87;

use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, TrapClass, Unit, UserAbi};

/// #DE: divide error.
pub const DIVIDE_ERROR: u32 = 0;
/// #BP: breakpoint.
pub const BREAKPOINT: u32 = 3;
/// #UD: invalid or unimplemented opcode.
pub const ILLEGAL_INSTRUCTION: u32 = 6;
/// #GP: general protection (privileged instructions in user mode).
pub const GENERAL_PROTECTION: u32 = 13;
/// #PF: page fault (argument: the address).
pub const PAGE_FAULT: u32 = 14;
/// #MF: x87 floating-point error (an unmasked exception pending at a waiting instruction).
pub const X87_FP_ERROR: u32 = 16;
/// #XM: SIMD floating-point exception (an SSE instruction raised an exception unmasked in
/// MXCSR; its destination is unchanged).
pub const SIMD_FP_ERROR: u32 = 19;

/// The x86-64 frontend.
#[derive(Debug)]
pub struct X86_64 {
    abi: UserAbi,
    system: bool,
}

impl Default for X86_64 {
    fn default() -> Self {
        Self::new()
    }
}

impl X86_64 {
    /// A frontend for 64-bit user mode.
    pub fn new() -> X86_64 {
        let abi = UserAbi {
            syscall_nr: state::RAX,
            syscall_args: [
                state::RDI,
                state::RSI,
                state::RDX,
                state::R10,
                state::R8,
                state::R9,
            ],
            syscall_ret: state::RAX,
            sp: state::RSP,
            tp: state::FS_BASE,
            syscall_insn_len: 2,
            elf_machine: 62,
            // AT_HWCAP on x86-64 is CPUID leaf 1 EDX.
            hwcap: u64::from(cpuid::LEAF1_EDX),
            uname_machine: "x86_64",
        };
        X86_64 { abi, system: false }
    }

    /// A frontend for system mode ([`system`]): pushfq/popfq leave to the system emulator,
    /// which keeps RFLAGS.IF.
    pub fn system() -> X86_64 {
        X86_64 {
            system: true,
            ..X86_64::new()
        }
    }
}

impl Frontend for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }

    fn translate(&self, pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
        lift::translate(pc, code, max_insns, self.system)
    }

    fn translate_observed(
        &self,
        pc: u64,
        code: &dyn CodeFetch,
        max_insns: u32,
        observed: &dyn Fn(u64, u32) -> bool,
    ) -> Unit {
        lift::translate_observed(pc, code, max_insns, observed, self.system)
    }

    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String) {
        use iced_x86::Formatter;
        let bytes = lift::fetch(pc, code);
        match lift::decode(pc, &bytes) {
            Some(i) => {
                let mut s = String::new();
                iced_x86::IntelFormatter::new().format(&i, &mut s);
                (i.len() as u32, s)
            }
            None => (1, format!("(bad) {:02x?}", bytes.first())),
        }
    }

    fn classify_trap(&self, code: u32) -> TrapClass {
        match code {
            ILLEGAL_INSTRUCTION => TrapClass::IllegalInstruction,
            BREAKPOINT => TrapClass::Breakpoint,
            PAGE_FAULT => TrapClass::AccessFault,
            DIVIDE_ERROR | X87_FP_ERROR | SIMD_FP_ERROR => TrapClass::Arithmetic,
            GENERAL_PROTECTION => TrapClass::Protection,
            _ => TrapClass::Other,
        }
    }

    fn user_abi(&self) -> &UserAbi {
        &self.abi
    }

    fn init_user_state(&self, env: &mut CpuState) {
        env.set_word(state::CC_OP, flags::cc_op(flags::EFLAGS, 8));
        env.set_word(state::CC_SRC1, 0);
        env.set_word(state::DF, 0);
        env.set_word(state::MXCSR, state::MXCSR_DEFAULT);
        env.set_word(state::X87_CW, state::X87_CW_DEFAULT);
        env.set_word(cpuid::XCR0, cpuid::XCR0_USER);
    }

    fn registers(&self) -> Vec<(&'static str, u32)> {
        const X: [&str; 16] = [
            "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
            "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        ];
        let mut v: Vec<_> = state::GPR_NAMES
            .iter()
            .zip(0u8..)
            .map(|(n, i)| (*n, state::gpr(i)))
            .collect();
        v.extend(X.iter().zip(0u8..).map(|(n, i)| (*n, state::xmm(i))));
        v.push(("fs_base", state::FS_BASE));
        v.push(("mxcsr", state::MXCSR));
        v
    }
}

/// Computes RFLAGS (arithmetic bits, DF, IF and the reserved bit 1) from a state.
pub fn rflags(env: &CpuState) -> u64 {
    let f = flags::eflags(
        env.word(state::CC_OP),
        env.word(state::CC_DST),
        env.word(state::CC_SRC1),
        env.word(state::CC_SRC2),
    );
    f | ((env.word(state::DF) & 1) << 10) | 0x202
}

/// Sets RFLAGS in a state (arithmetic bits and DF; the rest are fixed).
pub fn set_rflags(env: &mut CpuState, v: u64) {
    env.set_word(state::CC_OP, flags::cc_op(flags::EFLAGS, 8));
    env.set_word(state::CC_SRC1, v & flags::ARITH);
    env.set_word(state::DF, (v >> 10) & 1);
}
