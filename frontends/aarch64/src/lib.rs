//! # xlat-frontend-aarch64
//!
//! xlat's AArch64 guest (A64, EL0): instructions are fetched and lifted into an
//! [`xlat_ir::Unit`] by a decoder that follows the Arm ARM's encoding index ([`lift`]'s groups:
//! data processing immediate and register, branches and system, loads and stores). The flags
//! are lazy: a flag-setting instruction leaves its operands and kind, and NZCV is computed only
//! where it is read (a condition right after a compare is one compare of its operands). The
//! layout of the state is in [`state`].
//!
//! ```
//! use xlat_frontend_aarch64::{state, Aarch64};
//! use xlat_ir::{abi::CpuState, interp, CodeFetch, Frontend};
//!
//! struct Code(Vec<u8>);
//! impl CodeFetch for Code {
//!     fn fetch_u16(&self, pc: u64) -> Option<u16> {
//!         let i = usize::try_from(pc).ok()?;
//!         Some(u16::from_le_bytes([*self.0.get(i)?, *self.0.get(i + 1)?]))
//!     }
//! }
//! // add x0, x0, #5 ; svc #0
//! let code = Code([0x9100_1400u32, 0xd400_0001].iter().flat_map(|w| w.to_le_bytes()).collect());
//! let unit = Aarch64::new().translate(0, &code, 16);
//! xlat_ir::verify(&unit).unwrap();
//! let mut env = CpuState::new_boxed();
//! env.set_word(state::x(0), 37);
//! interp::run(&unit, &interp::Prepared::new(&unit), &mut env, &interp::NoMem, &mut Vec::new());
//! assert_eq!(env.word(state::x(0)), 42);
//! assert_eq!(env.pc, 4); // the svc's pc, for the syscall exit
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bits;
pub mod fp;
mod fpcore;
mod fpvec;
mod lift;
pub mod simd;
pub mod state;

use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, TrapClass, Unit, UserAbi};

/// Exception code: undefined instruction (argument: the instruction bits).
pub const ILLEGAL_INSTRUCTION: u32 = 1;
/// Exception code: instruction fetch from an address that cannot be executed.
pub const INSTRUCTION_ABORT: u32 = 2;
/// Exception code: data access fault (argument: the address).
pub const DATA_ABORT: u32 = 3;
/// Exception code: alignment fault (pc or an exclusive/atomic access; argument: the address).
pub const ALIGNMENT_FAULT: u32 = 4;

/// The A64 frontend (Linux user mode).
#[derive(Debug)]
pub struct Aarch64 {
    abi: UserAbi,
}

impl Default for Aarch64 {
    fn default() -> Self {
        Self::new()
    }
}

/// `AT_HWCAP`: exactly what is implemented: FP, ASIMD, CRC32, ATOMICS (LSE) and CPUID (MRS of
/// the ID registers, emulated as Linux does). No AES, PMULL, SHA1/2, FPHP/ASIMDHP, ASIMDRDM,
/// DotProd, JSCVT, FCMA, LRCPC, PAuth, BTI or SVE.
const HWCAP_FP: u64 = 1 << 0;
const HWCAP_ASIMD: u64 = 1 << 1;
const HWCAP_CRC32: u64 = 1 << 7;
const HWCAP_ATOMICS: u64 = 1 << 8;
const HWCAP_CPUID: u64 = 1 << 11;

impl Aarch64 {
    /// A frontend for A64 at EL0.
    pub fn new() -> Aarch64 {
        Aarch64 {
            abi: UserAbi {
                syscall_nr: state::x(8),
                syscall_args: [0, 1, 2, 3, 4, 5].map(state::x),
                syscall_ret: state::x(0),
                sp: state::SP,
                tp: state::TPIDR,
                syscall_insn_len: 4,
                elf_machine: 183,
                hwcap: HWCAP_FP | HWCAP_ASIMD | HWCAP_CRC32 | HWCAP_ATOMICS | HWCAP_CPUID,
                uname_machine: "aarch64",
            },
        }
    }
}

impl Frontend for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    fn translate(&self, pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
        lift::translate(pc, code, max_insns)
    }

    fn translate_observed(
        &self,
        pc: u64,
        code: &dyn CodeFetch,
        max_insns: u32,
        observed: &dyn Fn(u64, u32) -> bool,
    ) -> Unit {
        lift::translate_observed(pc, code, max_insns, observed)
    }

    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String) {
        match lift::fetch(code, pc) {
            Some(w) => (4, format!(".inst 0x{w:08x}")),
            None => (4, "<unreadable>".to_string()),
        }
    }

    fn classify_trap(&self, code: u32) -> TrapClass {
        match code {
            ILLEGAL_INSTRUCTION => TrapClass::IllegalInstruction,
            INSTRUCTION_ABORT | DATA_ABORT => TrapClass::AccessFault,
            ALIGNMENT_FAULT => TrapClass::Misaligned,
            _ => TrapClass::Other,
        }
    }

    fn user_abi(&self) -> &UserAbi {
        &self.abi
    }

    fn init_user_state(&self, env: &mut CpuState) {
        for off in [state::FPCR, state::FPSR] {
            env.set_word(off, 0);
        }
        state::set_nzcv(env, 0);
        env.set_word(state::EXCL_ADDR, state::EXCL_NONE);
    }

    fn registers(&self) -> Vec<(&'static str, u32)> {
        const X: [&str; 31] = [
            "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
            "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25",
            "x26", "x27", "x28", "x29", "x30",
        ];
        let mut v: Vec<_> = X
            .iter()
            .zip(0u8..)
            .map(|(n, i)| (*n, state::x(i)))
            .collect();
        v.push(("sp", state::SP));
        v.extend([
            ("nzcv_k", state::FK),
            ("nzcv_a", state::FA),
            ("nzcv_b", state::FB),
            ("fpcr", state::FPCR),
            ("fpsr", state::FPSR),
        ]);
        const V: [&str; 32] = [
            "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
            "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25",
            "v26", "v27", "v28", "v29", "v30", "v31",
        ];
        const V_HI: [&str; 32] = [
            "v0_hi", "v1_hi", "v2_hi", "v3_hi", "v4_hi", "v5_hi", "v6_hi", "v7_hi", "v8_hi",
            "v9_hi", "v10_hi", "v11_hi", "v12_hi", "v13_hi", "v14_hi", "v15_hi", "v16_hi",
            "v17_hi", "v18_hi", "v19_hi", "v20_hi", "v21_hi", "v22_hi", "v23_hi", "v24_hi",
            "v25_hi", "v26_hi", "v27_hi", "v28_hi", "v29_hi", "v30_hi", "v31_hi",
        ];
        for (i, (lo, hi)) in V.iter().zip(V_HI.iter()).enumerate() {
            v.push((lo, state::v(i as u8)));
            v.push((hi, state::v(i as u8) + 8));
        }
        v
    }
}
