//! System emulation: the guest physical address space (RAM, ROM, MMIO) and the contract between
//! devices and the rest of the machine.
//!
//! A device sees only this module: its register window ([`MmioDevice`]), the interrupt inputs
//! it drives ([`IrqLine`]) and, for DMA, guest RAM as a `vm_memory` guest memory. It never
//! knows which accelerator (JIT, interpreter, KVM) runs the CPUs.

use std::fmt::Debug;

mod bus;
mod cpu_irq;
mod hart;
pub mod testdev;

pub use bus::{Bus, BusError, MmioRegion, Target};
pub use cpu_irq::{CpuIrqs, KICK};
pub use hart::{Access, HartMemory, TLB_TABLES, Translate, note_dma_write};

/// A device's register window, mapped at some guest physical address by the board.
///
/// Accesses come from any vCPU thread, so a device keeps its state behind its own lock.
/// `size` is 1, 2, 4 or 8; values are little-endian, zero-extended to 64 bits. An access the
/// device does not implement reads as zero and ignores writes (logged under `-d guest_error`
/// by the caller), as on QEMU's boards; it never panics.
pub trait MmioDevice: Send + Sync + Debug {
    /// Reads `size` bytes at `offset` into the window.
    fn read(&self, offset: u64, size: u8) -> u64;
    /// Writes the low `size` bytes of `value` at `offset` into the window.
    fn write(&self, offset: u64, size: u8, value: u64);
}

/// An interrupt input (of an interrupt controller or of a CPU) that a device drives.
/// Level-triggered: the device sets it while its condition holds.
pub trait IrqLine: Send + Sync + Debug {
    /// Sets the line's level.
    fn set_level(&self, level: bool);
}

/// The machine clock: `mtime` ticks (10 MHz, as on QEMU's `virt`) since the first use, shared
/// by CPU time CSRs and timer devices.
pub mod clock {
    use std::sync::LazyLock;
    use std::time::{Duration, Instant};

    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    /// Ticks per second.
    pub const FREQ: u64 = 10_000_000;

    /// The current tick count.
    pub fn mtime() -> u64 {
        (START.elapsed().as_nanos() / (1_000_000_000 / u128::from(FREQ))) as u64
    }

    /// How long until tick `t` (zero if it has passed).
    pub fn until(t: u64) -> Duration {
        let now = mtime();
        Duration::from_nanos(t.saturating_sub(now).saturating_mul(1_000_000_000 / FREQ))
    }
}
