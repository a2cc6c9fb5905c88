//! The riscv64 signal frame (arch/riscv/kernel/signal.c): `struct rt_sigframe { siginfo;
//! ucontext }` with the ucontext's mcontext at offset 176 (pc, x1..x31, then f0..f31 and
//! fcsr). The handler returns to a trampoline (`li a7, 139; ecall`) that calls rt_sigreturn.

use super::generic_frame::{self, INFO, MC, UC};
use xlat_ir::abi::CpuState;
use xlat_softmmu::user::{AddressSpace, MapError};

/// The trampoline's two instructions.
pub const TRAMPOLINE: [u32; 2] = [0x08b0_0893, 0x0000_0073];

const MC_F: u64 = MC + 32 * 8;
const MC_FCSR: u64 = MC_F + 32 * 8;
/// Bytes of the frame (siginfo + ucontext with the Q-sized FP area), a multiple of 16.
pub const FRAME_SIZE: u64 = UC + 176 + 32 * 8 + 528;

/// Where the registers the frame holds live in the CPU state.
#[derive(Debug, Clone)]
pub struct Regs {
    x: Vec<u32>,
    f: Vec<u32>,
    fflags: u32,
    frm: u32,
}

impl Regs {
    /// Finds x1..x31, f0..f31, fflags and frm among the frontend's named registers.
    pub fn from_named(named: &[(&'static str, u32)]) -> Option<Regs> {
        let r = super::NamedRegs(named);
        Some(Regs {
            x: r.each(1..32, |i| format!("x{i}"))?,
            f: r.each(0..32, |i| format!("f{i}"))?,
            fflags: r.get("fflags")?,
            frm: r.get("frm")?,
        })
    }

    fn xr(&self, i: usize) -> u32 {
        self.x[i - 1]
    }
}

pub use crate::arch::Delivery;

/// Builds the frame below the guest's stack pointer and enters the handler.
pub fn setup(
    space: &AddressSpace,
    env: &mut CpuState,
    r: &Regs,
    d: &Delivery<'_>,
) -> Result<(), MapError> {
    let sp = d.stack_top.unwrap_or_else(|| env.word(r.xr(2)));
    let frame = (sp.wrapping_sub(FRAME_SIZE)) & !15;
    let mut b = generic_frame::image(FRAME_SIZE, d);
    let mut put = |off: u64, v: &[u8]| generic_frame::put(&mut b, off, v);
    put(MC, &env.pc.to_le_bytes());
    for i in 1..32 {
        put(MC + i as u64 * 8, &env.word(r.xr(i)).to_le_bytes());
    }
    for (i, o) in r.f.iter().enumerate() {
        put(MC_F + i as u64 * 8, &env.word(*o).to_le_bytes());
    }
    let fcsr = (env.word(r.frm) << 5 | env.word(r.fflags) & 0x1f) as u32;
    put(MC_FCSR, &fcsr.to_le_bytes());
    space.write_bytes(frame, &b)?;
    env.set_word(r.xr(1), d.trampoline);
    env.set_word(r.xr(2), frame);
    env.set_word(r.xr(10), d.sig as u64);
    env.set_word(r.xr(11), frame + INFO);
    env.set_word(r.xr(12), frame + UC);
    env.pc = d.handler;
    Ok(())
}

/// rt_sigreturn: restores the registers from the frame at the stack pointer; returns the
/// signal mask to reinstate and the saved `uc_stack`.
pub fn restore(
    space: &AddressSpace,
    env: &mut CpuState,
    r: &Regs,
) -> Result<(u64, [u8; 24]), MapError> {
    let frame = env.word(r.xr(2));
    let mut b = vec![0u8; FRAME_SIZE as usize];
    space.read_bytes(frame, &mut b)?;
    let w = |off: u64| generic_frame::word(&b, off);
    env.pc = w(MC);
    for i in 1..32 {
        env.set_word(r.xr(i), w(MC + i as u64 * 8));
    }
    for (i, o) in r.f.iter().enumerate() {
        env.set_word(*o, w(MC_F + i as u64 * 8));
    }
    let fcsr = w(MC_FCSR) & 0xffff_ffff;
    env.set_word(r.fflags, fcsr & 0x1f);
    env.set_word(r.frm, (fcsr >> 5) & 7);
    Ok(generic_frame::mask_and_stack(&b))
}
