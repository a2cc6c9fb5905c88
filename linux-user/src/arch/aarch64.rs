//! aarch64 (arm64): asm-generic syscall numbers, the CONFIG_CLONE_BACKWARDS clone, and arm64's
//! own `open` flag bits (O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE differ from the
//! asm-generic values the shared layer takes), and the arm64 signal frame ([`Frame`]: the
//! general registers, NZCV and an `fpsimd_context` record with V0-V31, FPSR and FPCR).

use std::sync::Arc;

use xlat_ir::{Frontend, abi::CpuState};
use xlat_softmmu::user::{AddressSpace, MapError};

use super::{Delivery, Pre, SignalFrame, UserArch};
use crate::signal::generic_frame::{self, INFO, MC, UC};
use crate::syscall::table::{Sys, generic};

/// ELF `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;

/// The arm64 Linux ABI.
#[derive(Debug)]
pub struct Aarch64;

// arm64 (arch/arm64/include/uapi/asm/fcntl.h) and asm-generic values.
const ARM_DIRECTORY: u64 = 0o40000;
const ARM_NOFOLLOW: u64 = 0o100000;
const ARM_DIRECT: u64 = 0o200000;
const ARM_LARGEFILE: u64 = 0o400000;
const GEN_DIRECT: u64 = 0o40000;
const GEN_LARGEFILE: u64 = 0o100000;
const GEN_DIRECTORY: u64 = 0o200000;
const GEN_NOFOLLOW: u64 = 0o400000;

/// arm64 open flags to asm-generic ones.
pub fn open_flags_to_generic(f: u64) -> u64 {
    let moved = ARM_DIRECTORY | ARM_NOFOLLOW | ARM_DIRECT | ARM_LARGEFILE;
    let mut out = f & !moved;
    for (arm, gen_) in [
        (ARM_DIRECTORY, GEN_DIRECTORY),
        (ARM_NOFOLLOW, GEN_NOFOLLOW),
        (ARM_DIRECT, GEN_DIRECT),
        (ARM_LARGEFILE, GEN_LARGEFILE),
    ] {
        if f & arm != 0 {
            out |= gen_;
        }
    }
    out
}

const OPENAT: u64 = 56;
const FCNTL: u64 = 25;
const F_SETFL: u64 = 4;

impl UserArch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    fn elf_machine(&self) -> u16 {
        EM_AARCH64
    }

    fn syscall(&self, nr: u64) -> Option<Sys> {
        if nr >= 1000 { None } else { generic(nr) }
    }

    fn clone_args(&self) -> (usize, usize, usize) {
        (2, 4, 3)
    }

    fn platform(&self) -> Option<&'static str> {
        Some("aarch64")
    }

    fn before_syscall(&self, _: &mut CpuState, _: &AddressSpace, nr: u64, a: [u64; 6]) -> Pre {
        let mut a = a;
        match nr {
            OPENAT => a[2] = open_flags_to_generic(a[2]),
            FCNTL if a[1] == F_SETFL => a[2] = open_flags_to_generic(a[2]),
            _ => {}
        }
        Pre::Call(nr, a)
    }

    fn signal_frame(&self, frontend: &dyn Frontend) -> Option<Arc<dyn SignalFrame>> {
        Some(Arc::new(Frame::from_named(&frontend.registers())?))
    }

    fn sigreturn_trampoline(&self) -> Option<Vec<u8>> {
        Some(TRAMPOLINE.iter().flat_map(|i| i.to_le_bytes()).collect())
    }
}

/// `mov x8, #139 (rt_sigreturn); svc #0`: where handlers without SA_RESTORER return (the
/// kernel's vDSO `__kernel_rt_sigreturn`).
pub const TRAMPOLINE: [u32; 2] = [0xd280_1168, 0xd400_0001];

// arch/arm64/kernel/signal.c: struct rt_sigframe { siginfo; ucontext } then a frame record
// (fp, lr) the new x29 points at. ucontext: flags, link, uc_stack (24), uc_sigmask (8), 120
// bytes of padding, the sigcontext 16-aligned at 176: fault_address, x0-x30, sp, pc, pstate,
// then 4096 bytes of records from offset 288 (fpsimd_context first, a zero record ends them).
const MC_X: u64 = MC + 8;
const MC_SP: u64 = MC + 256;
const MC_PC: u64 = MC + 264;
const MC_PSTATE: u64 = MC + 272;
const MC_RESERVED: u64 = MC + 288;
const RESERVED_SIZE: u64 = 4096;
/// Bytes of `struct rt_sigframe`.
pub const SIGFRAME_SIZE: u64 = MC_RESERVED + RESERVED_SIZE;
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_SIZE: u32 = 16 + 32 * 16;

/// Where the registers the arm64 frame holds live in the CPU state.
#[derive(Debug, Clone)]
pub struct Frame {
    x: Vec<u32>,
    sp: u32,
    v: Vec<(u32, u32)>,
    fpsr: u32,
    fpcr: u32,
}

impl Frame {
    /// Finds x0-x30, sp, v0-v31 (low and `_hi` words), fpsr and fpcr among
    /// the frontend's named registers.
    pub fn from_named(named: &[(&'static str, u32)]) -> Option<Frame> {
        let r = crate::signal::NamedRegs(named);
        let lo = r.each(0..32, |i| format!("v{i}"))?;
        let hi = r.each(0..32, |i| format!("v{i}_hi"))?;
        Some(Frame {
            x: r.each(0..31, |i| format!("x{i}"))?,
            sp: r.get("sp")?,
            v: lo.into_iter().zip(hi).collect(),
            fpsr: r.get("fpsr")?,
            fpcr: r.get("fpcr")?,
        })
    }
}

impl SignalFrame for Frame {
    fn setup(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
        d: &Delivery<'_>,
    ) -> Result<(), MapError> {
        let top = d.stack_top.unwrap_or_else(|| env.word(self.sp));
        let record = (top.wrapping_sub(16)) & !15;
        let frame = record.wrapping_sub(SIGFRAME_SIZE) & !15;
        let mut b = generic_frame::image(SIGFRAME_SIZE, d);
        let mut put = |off: u64, v: &[u8]| generic_frame::put(&mut b, off, v);
        for (i, o) in self.x.iter().enumerate() {
            put(MC_X + 8 * i as u64, &env.word(*o).to_le_bytes());
        }
        put(MC_SP, &env.word(self.sp).to_le_bytes());
        put(MC_PC, &env.pc.to_le_bytes());
        let pstate = u64::from(xlat_frontend_aarch64::state::nzcv(env));
        put(MC_PSTATE, &pstate.to_le_bytes());
        put(MC_RESERVED, &FPSIMD_MAGIC.to_le_bytes());
        put(MC_RESERVED + 4, &FPSIMD_SIZE.to_le_bytes());
        put(MC_RESERVED + 8, &(env.word(self.fpsr) as u32).to_le_bytes());
        put(
            MC_RESERVED + 12,
            &(env.word(self.fpcr) as u32).to_le_bytes(),
        );
        for (i, (lo, hi)) in self.v.iter().enumerate() {
            let at = MC_RESERVED + 16 + 16 * i as u64;
            put(at, &env.word(*lo).to_le_bytes());
            put(at + 8, &env.word(*hi).to_le_bytes());
        }
        // The zero record after fpsimd_context ends the list (the buffer is zeroed).
        space.write_bytes(frame, &b)?;
        let fp_lr = [env.word(self.x[29]), env.word(self.x[30])];
        space.write_bytes(record, &fp_lr[0].to_le_bytes())?;
        space.write_bytes(record + 8, &fp_lr[1].to_le_bytes())?;
        env.set_word(self.x[0], d.sig as u64);
        env.set_word(self.x[1], frame + INFO);
        env.set_word(self.x[2], frame + UC);
        env.set_word(self.x[29], record);
        env.set_word(self.x[30], d.trampoline);
        env.set_word(self.sp, frame);
        env.pc = d.handler;
        Ok(())
    }

    fn restore(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
    ) -> Result<(u64, [u8; 24]), MapError> {
        let frame = env.word(self.sp);
        let mut b = vec![0u8; SIGFRAME_SIZE as usize];
        space.read_bytes(frame, &mut b)?;
        let w = |off: u64| generic_frame::word(&b, off);
        for (i, o) in self.x.iter().enumerate() {
            env.set_word(*o, w(MC_X + 8 * i as u64));
        }
        env.set_word(self.sp, w(MC_SP));
        env.pc = w(MC_PC);
        xlat_frontend_aarch64::state::set_nzcv(env, w(MC_PSTATE));
        // The records: fpsimd_context wherever it is (a handler may have rearranged them).
        let mut at = MC_RESERVED;
        while at + 8 <= MC_RESERVED + RESERVED_SIZE {
            let head = w(at);
            let (magic, size) = (head as u32, head >> 32);
            if magic == 0 || size < 8 {
                break;
            }
            if magic == FPSIMD_MAGIC && size >= u64::from(FPSIMD_SIZE) {
                let ctl = w(at + 8);
                env.set_word(self.fpsr, ctl & 0xffff_ffff);
                env.set_word(self.fpcr, ctl >> 32);
                for (i, (lo, hi)) in self.v.iter().enumerate() {
                    let v = at + 16 + 16 * i as u64;
                    env.set_word(*lo, w(v));
                    env.set_word(*hi, w(v + 8));
                }
            }
            at += size;
        }
        Ok(generic_frame::mask_and_stack(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_open_flags_map_to_generic() {
        // O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC as arm64 musl/glibc pass it: 0x84800.
        assert_eq!(open_flags_to_generic(0x84800), 0x80000 | 0x800 | 0x10000);
        assert_eq!(open_flags_to_generic(0o100000), 0o400000);
        assert_eq!(open_flags_to_generic(0o1101), 0o1101);
    }
}
