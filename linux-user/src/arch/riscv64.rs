//! riscv64: asm-generic syscall numbers plus riscv_hwprobe and riscv_flush_icache, the
//! CONFIG_CLONE_BACKWARDS clone, a 24-byte `struct sigaction` (no sa_restorer), and the
//! signal frame of [`crate::signal::riscv64`] returning through a trampoline page.

use std::sync::Arc;

use xlat_ir::{Frontend, abi::CpuState};
use xlat_softmmu::user::{AddressSpace, MapError};

use super::{Delivery, SignalFrame, UserArch};
use crate::signal::riscv64::{self as frame, Regs};
use crate::syscall::table::{Sys, generic};

/// ELF `e_machine` of RISC-V.
pub const EM_RISCV: u16 = 243;

/// The riscv64 Linux ABI.
#[derive(Debug)]
pub struct Riscv64;

impl UserArch for Riscv64 {
    fn name(&self) -> &'static str {
        "riscv64"
    }

    fn elf_machine(&self) -> u16 {
        EM_RISCV
    }

    fn syscall(&self, nr: u64) -> Option<Sys> {
        match nr {
            258 => Some(Sys::riscv_hwprobe),
            259 => Some(Sys::riscv_flush_icache),
            1258 | 1259 => None,
            _ => generic(nr),
        }
    }

    fn sigaction_size(&self) -> usize {
        24
    }

    fn clone_args(&self) -> (usize, usize, usize) {
        (2, 4, 3)
    }

    fn signal_frame(&self, frontend: &dyn Frontend) -> Option<Arc<dyn SignalFrame>> {
        let regs = Regs::from_named(&frontend.registers())?;
        Some(Arc::new(regs))
    }

    fn sigreturn_trampoline(&self) -> Option<Vec<u8>> {
        Some(
            frame::TRAMPOLINE
                .iter()
                .flat_map(|i| i.to_le_bytes())
                .collect(),
        )
    }
}

impl SignalFrame for Regs {
    fn setup(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
        d: &Delivery<'_>,
    ) -> Result<(), MapError> {
        frame::setup(space, env, self, d)
    }

    fn restore(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
    ) -> Result<(u64, [u8; 24]), MapError> {
        frame::restore(space, env, self)
    }
}
