//! # xlat-machines
//!
//! Boards with QEMU's memory maps (riscv64 virt first, issue 4), their devices and boot
//! loaders. A board never knows which accelerator runs its CPUs.

pub mod console;
pub mod devices;
pub mod qcow2;
pub mod riscv64_virt;
pub mod virt_board;
pub mod virt_fdt;
