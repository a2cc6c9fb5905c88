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

/// riscv_hwprobe keys (arch/riscv/include/uapi/asm/hwprobe.h) and what this engine answers:
/// the extensions its frontend implements (IMA, F, D, C, Zba, Zbb, Zbs; no V, no Zicboz).
pub mod hwprobe {
    /// RISCV_HWPROBE_KEY_BASE_BEHAVIOR → RISCV_HWPROBE_BASE_BEHAVIOR_IMA.
    pub const BASE_BEHAVIOR: i64 = 3;
    /// RISCV_HWPROBE_KEY_IMA_EXT_0.
    pub const IMA_EXT_0: i64 = 4;
    /// IMA_EXT_0 bits: FD, C, ZBA, ZBB, ZBS.
    pub const EXT_FD: u64 = 1 << 0;
    /// The C extension.
    pub const EXT_C: u64 = 1 << 1;
    /// Zba.
    pub const EXT_ZBA: u64 = 1 << 3;
    /// Zbb.
    pub const EXT_ZBB: u64 = 1 << 4;
    /// Zbs.
    pub const EXT_ZBS: u64 = 1 << 5;

    /// The value of `key`, None for a key this kernel ABI does not know (its key becomes -1).
    pub fn value(key: i64) -> Option<u64> {
        Some(match key {
            0..=2 => 0, // mvendorid, marchid, mimpid: not a real hart
            BASE_BEHAVIOR => 1,
            IMA_EXT_0 => EXT_FD | EXT_C | EXT_ZBA | EXT_ZBB | EXT_ZBS,
            // CPUPERF_0 and MISALIGNED_SCALAR_PERF: FAST (misaligned loads and stores are
            // host accesses; only misaligned atomics trap, as on hardware).
            5 | 9 => 3,
            6 => 0,             // ZICBOZ_BLOCK_SIZE: no Zicboz
            7 => (1 << 47) - 1, // HIGHEST_VIRT_ADDRESS
            8 => 10_000_000,    // TIME_CSR_FREQ
            10 => 4,            // MISALIGNED_VECTOR_PERF: UNSUPPORTED (no V)
            _ => return None,
        })
    }

    /// Fills `pairs` (key, value) in place as the syscall does. `flags` other than 0 are
    /// rejected (RISCV_HWPROBE_WHICH_CPUS is not supported).
    pub fn fill(pairs: &mut [(i64, u64)], flags: u64) -> Result<(), i64> {
        if flags != 0 {
            return Err(-i64::from(libc::EINVAL));
        }
        for p in pairs {
            match value(p.0) {
                Some(v) => p.1 = v,
                None => *p = (-1, 0),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::hwprobe;

    #[test]
    fn hwprobe_answers_as_the_kernel_abi_says() {
        // Values from Documentation/arch/riscv/hwprobe.rst.
        let mut p = [(3, 9), (4, 0), (6, 5), (12345, 7), (-5, 1)];
        hwprobe::fill(&mut p, 0).unwrap();
        assert_eq!(p, [(3, 1), (4, 0b11_1011), (6, 0), (-1, 0), (-1, 0)]);
        assert_eq!(hwprobe::fill(&mut p, 2), Err(-22));
    }
}
