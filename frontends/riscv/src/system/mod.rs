//! The RISC-V privileged architecture (M, S and U modes) for system emulation: the machine-
//! and supervisor-level CSRs ([`csr`]), trap entry and return and interrupt selection
//! ([`trap`]), the privileged instructions ([`exec`]) and Sv39/Sv48 translation ([`mmu`]).
//!
//! The lifter (in system mode, [`crate::Riscv64::new_system`]) turns every CSR and privileged
//! instruction into an illegal-instruction exception carrying the instruction bits; the
//! machine's loop hands those to [`exec::illegal`], which emulates the instruction on the CPU
//! state or takes the real trap. Everything here is plain functions over
//! [`xlat_ir::abi::CpuState`]: the same code serves the interpreter and compiled code.
//!
//! The privileged state lives in the state words from 128 on (see the constants below); the
//! user-visible registers keep [`crate::state`]'s layout.

pub mod csr;
pub mod exec;
pub mod mmu;
pub mod pmp;
pub mod trap;

#[cfg(test)]
mod tests;

use xlat_ir::abi::{CpuState, reg_offset};

const fn w(i: usize) -> u32 {
    reg_offset(128 + i)
}

/// Current privilege mode (0 = U, 1 = S, 3 = M).
pub const PRIV: u32 = w(0);
/// `mstatus` (sstatus is a view of it).
pub const MSTATUS: u32 = w(1);
/// `medeleg`.
pub const MEDELEG: u32 = w(2);
/// `mideleg`.
pub const MIDELEG: u32 = w(3);
/// `mie` (sie is a view of it).
pub const MIE: u32 = w(4);
/// The software-writable bits of `mip` (SSIP, STIP without Sstc, SEIP); the device-driven
/// lines are ORed in on reads.
pub const MIP_SW: u32 = w(5);
/// `mtvec`.
pub const MTVEC: u32 = w(6);
/// `mscratch`.
pub const MSCRATCH: u32 = w(7);
/// `mepc`.
pub const MEPC: u32 = w(8);
/// `mcause`.
pub const MCAUSE: u32 = w(9);
/// `mtval`.
pub const MTVAL: u32 = w(10);
/// `stvec`.
pub const STVEC: u32 = w(11);
/// `sscratch`.
pub const SSCRATCH: u32 = w(12);
/// `sepc`.
pub const SEPC: u32 = w(13);
/// `scause`.
pub const SCAUSE: u32 = w(14);
/// `stval`.
pub const STVAL: u32 = w(15);
/// `satp`.
pub const SATP: u32 = w(16);
/// `mcounteren`.
pub const MCOUNTEREN: u32 = w(17);
/// `scounteren`.
pub const SCOUNTEREN: u32 = w(18);
/// `menvcfg`.
pub const MENVCFG: u32 = w(19);
/// `senvcfg`.
pub const SENVCFG: u32 = w(20);
/// `stimecmp` (Sstc).
pub const STIMECMP: u32 = w(21);
/// `mhartid`.
pub const MHARTID: u32 = w(22);
/// `mcountinhibit`.
pub const MCOUNTINHIBIT: u32 = w(23);
/// `pmpcfg0` and `pmpcfg2` (words 24, 25).
pub const PMPCFG: u32 = w(24);
/// `pmpaddr0..15` (words 26..42).
pub const PMPADDR: u32 = w(26);
/// `mcyclecfg`-free counter offsets: value added to the time base for mcycle/minstret.
pub const COUNTER_OFF: u32 = w(42);

/// Privilege levels.
pub const PRV_U: u64 = 0;
/// Supervisor.
pub const PRV_S: u64 = 1;
/// Machine.
pub const PRV_M: u64 = 3;

/// What the machine supplies when a privileged instruction runs: the interrupt lines the
/// devices drive (mip bits MSIP, MTIP, MEIP, SEIP) and the time (`mtime`, 10 MHz on `virt`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Platform {
    /// Device-driven `mip` bits.
    pub lines: u64,
    /// `mtime`.
    pub time: u64,
}

/// What the machine must do after an instruction was emulated or a trap taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    /// Translation inputs changed (privilege, satp, MPRV/MPP/SUM/MXR): resync the MMU and
    /// drop cached translations.
    pub mmu: bool,
    /// Translated code may be stale for the new mapping (satp written, sfence.vma): drop it.
    pub flush_code: bool,
    /// Interrupt enables or pending bits may have changed: check for an interrupt.
    pub irq: bool,
    /// `wfi`: sleep until an interrupt is pending (pc already past it).
    pub wfi: bool,
    /// `fence.i`: translated code of pages written since must go.
    pub fence_i: bool,
    /// `sfence.vma rs1` (rs1 not x0): the translations of this virtual page (every address
    /// space) must go, and no others.
    pub flush_page: Option<u64>,
}

impl Effects {
    /// Merges two sets of effects.
    pub fn or(self, o: Effects) -> Effects {
        Effects {
            mmu: self.mmu || o.mmu,
            flush_code: self.flush_code || o.flush_code,
            irq: self.irq || o.irq,
            wfi: self.wfi || o.wfi,
            fence_i: self.fence_i || o.fence_i,
            flush_page: if self.flush_page == o.flush_page || o.flush_page.is_none() {
                self.flush_page
            } else if self.flush_page.is_none() {
                o.flush_page
            } else {
                // Two pages: flush everything instead.
                return Effects {
                    mmu: true,
                    flush_code: true,
                    flush_page: None,
                    ..self.or(Effects {
                        flush_page: None,
                        ..o
                    })
                };
            },
        }
    }
}

const fn ext(c: u8) -> u64 {
    1 << (c - b'A')
}

/// `misa`: RV64 IMAFDC with S and U modes.
pub const MISA: u64 = (2 << 62)
    | ext(b'I')
    | ext(b'M')
    | ext(b'A')
    | ext(b'F')
    | ext(b'D')
    | ext(b'C')
    | ext(b'S')
    | ext(b'U');

/// Puts a hart in its reset state: M-mode, everything off, `mhartid = hart`, pc = `pc`.
pub fn reset(env: &mut CpuState, hart: u64, pc: u64) {
    for i in 0..64 {
        env.set_word(reg_offset(i), 0);
    }
    for i in 128..128 + 43 {
        env.set_word(reg_offset(i), 0);
    }
    env.set_word(crate::state::RES_ADDR, crate::state::RES_NONE);
    env.set_word(PRIV, PRV_M);
    env.set_word(MSTATUS, csr::MSTATUS_XL);
    env.set_word(MHARTID, hart);
    env.pc = pc;
}

/// What CSR instructions done in place ([`CSR_IN_PLACE`]) need of the machine: set by the
/// machine on each hart's thread before it runs guest code.
pub struct InPlace {
    /// The interrupt lines and the time, as the machine's loop sees them.
    pub platform: Box<dyn Fn() -> Platform>,
    /// Resyncs the hart's MMU with the state after a CSR write reported [`Effects::mmu`],
    /// when that needs no flush (e.g. `sstatus.SUM`: another inline TLB table); false, having
    /// changed nothing, when the loop must do it.
    pub mmu: Box<dyn Fn(&mut CpuState) -> bool>,
    /// What `sfence.vma` of one virtual address does to the machine's TLBs and jump cache,
    /// when that needs no more than the address's page (not in a superpage); false, having
    /// changed nothing, when the loop must do it.
    pub flush_page: Box<FlushPage>,
}

/// See [`InPlace::flush_page`]: `(state, virtual address) -> done`.
pub type FlushPage = dyn Fn(&mut CpuState, u64) -> bool;

impl std::fmt::Debug for InPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InPlace")
    }
}

thread_local! {
    static IN_PLACE: std::cell::RefCell<Option<InPlace>> =
        const { std::cell::RefCell::new(None) };
}

/// Sets (or, with `None`, clears) what [`CSR_IN_PLACE`] uses, for code run on this thread.
/// Without it every CSR instruction leaves for the machine's loop.
pub fn set_in_place(f: Option<InPlace>) {
    IN_PLACE.with(|p| *p.borrow_mut() = f);
}

extern "C" fn helper_csr_in_place(env: &mut CpuState, bits: u64, _: u64, _: u64, _: u64) -> u64 {
    let done = IN_PLACE.with(|p| {
        p.borrow()
            .as_ref()
            .is_some_and(|f| exec::csr_in_place(env, bits as u32, &(f.platform)(), &*f.mmu))
    });
    if !done {
        // As the lifter's illegal-instruction exit: the machine's loop emulates it.
        env.exc_pending = crate::ILLEGAL_INSTRUCTION + 1;
        env.exc_arg = bits & 0xffff_ffff;
    }
    0
}

extern "C" fn helper_sfence_in_place(env: &mut CpuState, bits: u64, _: u64, _: u64, _: u64) -> u64 {
    let (prv, st) = (env.word(PRIV), env.word(MSTATUS));
    let allowed = prv == PRV_M || (prv == PRV_S && st & csr::TVM == 0);
    let va = env.word(crate::state::x(((bits >> 15) & 31) as u8));
    let done =
        allowed && IN_PLACE.with(|p| p.borrow().as_ref().is_some_and(|f| (f.flush_page)(env, va)));
    if !done {
        // As the lifter's illegal-instruction exit: the machine's loop emulates it (or traps).
        env.exc_pending = crate::ILLEGAL_INSTRUCTION + 1;
        env.exc_arg = bits & 0xffff_ffff;
    }
    0
}

/// `sfence.vma rs1, rs2` with `rs1` not x0 (its bits the argument) done in place: the page's
/// translations go and the code runs on (as QEMU's helper does), without a trip through
/// the machine's loop (a boot patches kernel text through a fixmap, two fences per
/// instruction patched). Otherwise it raises illegal-instruction with the bits, which the
/// loop emulates in full ([`exec::illegal`]).
pub static SFENCE_IN_PLACE: xlat_ir::Helper = xlat_ir::Helper {
    name: "sfence_in_place",
    func: helper_sfence_in_place,
    nargs: 1,
    flags: xlat_ir::HelperFlags::ALL,
    state_words: None,
};

/// Whether instruction `bits` is `sfence.vma` with an address (`rs1` not x0).
pub fn is_sfence_vma_addr(bits: u32) -> bool {
    bits & 0xfe00_7fff == 0x1200_0073 && (bits >> 15) & 31 != 0
}

/// A CSR instruction (its bits the argument) done in place when nothing but the CSR state
/// changes ([`exec::csr_in_place`]); otherwise it raises illegal-instruction with the bits,
/// which the machine's loop emulates in full ([`exec::illegal`]).
pub static CSR_IN_PLACE: xlat_ir::Helper = xlat_ir::Helper {
    name: "csr_in_place",
    func: helper_csr_in_place,
    nargs: 1,
    flags: xlat_ir::HelperFlags::ALL,
    state_words: None,
};
