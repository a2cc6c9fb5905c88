//! Device models of the boards. Each is an [`xlat_softmmu::system::MmioDevice`] driving
//! [`xlat_softmmu::system::IrqLine`]s; none knows which accelerator runs the CPUs.

pub mod clint;
pub mod plic;
pub mod serial;
pub mod virtio_blk;
pub mod virtio_mmio;
pub mod virtio_rng;
