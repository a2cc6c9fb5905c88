//! # xlat-machines
//!
//! Boards with QEMU's memory maps (riscv64 virt first, issue 4), their devices and boot
//! loaders. A board never knows which accelerator runs its CPUs.
//!
//! - [`virt_board::VirtBoard`]: the riscv64 `virt` board assembled for the system runner
//!   (devices, image loading, device tree, boot registers, shutdown handle);
//! - [`riscv64_virt`]: its memory map, `--drive` parsing, virtio-mmio slots;
//! - [`virt_fdt`]: its device tree, matching QEMU's `dumpdtb` node by node;
//! - [`devices`]: PLIC, CLINT, ns16550a (vm-superio), virtio-mmio with virtio-blk and
//!   virtio-rng (virtio-queue over vm-memory);
//! - [`qcow2`]: qcow2 v2/v3 images for virtio-blk;
//! - [`console`]: the serial console on stdio with QEMU's Ctrl-A escapes.

pub mod console;
pub mod devices;
pub mod qcow2;
pub mod riscv64_virt;
pub mod virt_board;
pub mod virt_fdt;
pub mod x86;
