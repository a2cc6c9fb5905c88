//! Device models of the boards. Each is an [`xlat_softmmu::system::MmioDevice`] driving
//! [`xlat_softmmu::system::IrqLine`]s; none knows which accelerator runs the CPUs.

pub mod clint;
pub mod plic;
pub mod serial;
pub mod virtio_blk;
pub mod virtio_mmio;
pub mod virtio_rng;

use std::sync::atomic::{AtomicBool, Ordering};
use xlat_softmmu::system::IrqLine;

/// An interrupt line that only records its level (`.0`), for whoever polls it: the device
/// models' tests and the boards' integration tests.
#[derive(Debug, Default)]
pub struct LevelLine(pub AtomicBool);

impl IrqLine for LevelLine {
    fn set_level(&self, level: bool) {
        self.0.store(level, Ordering::SeqCst);
    }
}
