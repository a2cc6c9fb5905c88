//! Pieces of QEMU's riscv64 `virt` board that `xlat system` assembles: the memory map, the
//! `--drive` option, and the virtio-mmio slots with their device-tree nodes.
//!
//! Integration (the system runner owns the bus, the PLIC and the device tree):
//!
//! ```no_run
//! use std::sync::Arc;
//! use xlat_machines::riscv64_virt::{self as virt, DriveSpec};
//! # fn plic_source(_n: u32) -> Arc<dyn xlat_softmmu::system::IrqLine> { unimplemented!() }
//! # fn demo(bus: &mut xlat_softmmu::system::Bus) -> Result<(), String> {
//! let drives = vec![DriveSpec::parse("file=disk.qcow2,format=qcow2")?];
//! // Guest RAM for DMA: cloning a GuestMemoryMmap shares its mappings.
//! let ram = Arc::new(bus.ram().clone());
//! let slots = virt::virtio_devices(&drives, true, ram, plic_source)?;
//! for s in &slots {
//!     bus.add_mmio(s.base, s.size, s.device.clone()).map_err(|e| e.to_string())?;
//! }
//! // and in the device tree, inside /soc, for each slot:
//! // virt::fdt_virtio_node(&mut fdt_writer, s.base, s.irq, plic_phandle)?;
//! # Ok(()) }
//! ```

use crate::devices::virtio_blk::{BlockBackend, RawFile, VirtioBlk};
use crate::devices::virtio_mmio::{GuestRam, VirtioMmio};
use crate::devices::virtio_rng::VirtioRng;
use crate::qcow2::Qcow2;
use std::path::PathBuf;
use std::sync::Arc;
use xlat_softmmu::system::{IrqLine, MmioDevice};

/// Test finisher (SiFive test), 4 KiB.
pub const TEST: u64 = 0x10_0000;
/// CLINT (ACLINT MSWI + MTIMER), 64 KiB.
pub const CLINT: u64 = 0x200_0000;
/// PLIC, 6 MiB.
pub const PLIC: u64 = 0xc00_0000;
/// UART0 (ns16550a), 256 bytes, PLIC source 10.
pub const UART0: u64 = 0x1000_0000;
/// PLIC source of UART0.
pub const UART0_IRQ: u32 = 10;
/// First virtio-mmio slot; slot `n` is at `VIRTIO + n * VIRTIO_SIZE`, PLIC source `1 + n`.
pub const VIRTIO: u64 = 0x1000_1000;
/// Size (and stride) of a virtio-mmio window.
pub const VIRTIO_SIZE: u64 = 0x1000;
/// Number of virtio-mmio slots.
pub const VIRTIO_COUNT: usize = 8;
/// RAM base.
pub const DRAM: u64 = 0x8000_0000;

/// Disk image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Raw bytes.
    Raw,
    /// qcow2 (v2 or v3).
    Qcow2,
}

/// One `--drive file=PATH[,format=raw|qcow2][,readonly=on|off][,if=virtio][,serial=S]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveSpec {
    /// Image file.
    pub file: PathBuf,
    /// Format; `None` guesses from the qcow2 magic (raw otherwise).
    pub format: Option<Format>,
    /// Read-only.
    pub read_only: bool,
    /// The GET_ID serial string.
    pub serial: String,
}

impl DriveSpec {
    /// Parses the option's value; errors are one line.
    pub fn parse(s: &str) -> Result<DriveSpec, String> {
        let mut d = DriveSpec {
            file: PathBuf::new(),
            format: None,
            read_only: false,
            serial: String::new(),
        };
        for kv in s.split(',') {
            let (k, v) = kv
                .split_once('=')
                .ok_or(format!("--drive {s}: '{kv}' is not key=value"))?;
            match k {
                "file" => d.file = v.into(),
                "format" => {
                    d.format = Some(match v {
                        "raw" => Format::Raw,
                        "qcow2" => Format::Qcow2,
                        _ => return Err(format!("--drive {s}: format={v}: expected raw or qcow2")),
                    })
                }
                "readonly" => {
                    d.read_only = match v {
                        "on" | "true" | "yes" => true,
                        "off" | "false" | "no" => false,
                        _ => return Err(format!("--drive {s}: readonly={v}: expected on or off")),
                    }
                }
                "if" if v == "virtio" => {}
                "if" => return Err(format!("--drive {s}: if={v}: only virtio is supported")),
                "serial" => d.serial = v.into(),
                "media" if v == "disk" => {}
                _ => return Err(format!("--drive {s}: unknown key '{k}'")),
            }
        }
        if d.file.as_os_str().is_empty() {
            return Err(format!("--drive {s}: needs file=PATH"));
        }
        Ok(d)
    }

    /// Opens the image; errors are one line naming the file.
    pub fn open(&self) -> Result<Box<dyn BlockBackend>, String> {
        let name = self.file.display();
        let fmt = self.format.unwrap_or(if Qcow2::probe(&self.file) {
            Format::Qcow2
        } else {
            Format::Raw
        });
        Ok(match fmt {
            Format::Raw => Box::new(
                RawFile::open(&self.file, self.read_only).map_err(|e| format!("{name}: {e}"))?,
            ),
            Format::Qcow2 => Box::new(
                Qcow2::open(&self.file, self.read_only).map_err(|e| format!("{name}: {e}"))?,
            ),
        })
    }
}

/// A device in a virtio-mmio slot.
#[derive(Debug, Clone)]
pub struct VirtioSlot {
    /// Window base.
    pub base: u64,
    /// Window size.
    pub size: u64,
    /// PLIC source.
    pub irq: u32,
    /// The transport.
    pub device: Arc<dyn MmioDevice>,
}

/// Builds the virtio-mmio devices: one virtio-blk per drive (slots from 0), then a virtio-rng
/// if `rng`. `plic_source(n)` gives the PLIC's input `n`.
pub fn virtio_devices(
    drives: &[DriveSpec],
    rng: bool,
    ram: Arc<GuestRam>,
    mut plic_source: impl FnMut(u32) -> Arc<dyn IrqLine>,
) -> Result<Vec<VirtioSlot>, String> {
    let mut slots = Vec::new();
    let mut backends: Vec<Box<dyn crate::devices::virtio_mmio::VirtioBackend>> = Vec::new();
    for d in drives {
        backends.push(Box::new(VirtioBlk::new(d.open()?, d.read_only, &d.serial)));
    }
    if rng {
        backends.push(Box::new(VirtioRng));
    }
    if backends.len() > VIRTIO_COUNT {
        return Err(format!(
            "at most {VIRTIO_COUNT} virtio devices (drives + rng)"
        ));
    }
    for (n, b) in backends.into_iter().enumerate() {
        let irq = 1 + n as u32;
        let base = VIRTIO + n as u64 * VIRTIO_SIZE;
        let dev = VirtioMmio::new(b, ram.clone(), plic_source(irq));
        slots.push(VirtioSlot {
            base,
            size: VIRTIO_SIZE,
            irq,
            device: Arc::new(dev),
        });
    }
    Ok(slots)
}

/// Writes the `virtio_mmio@…` node QEMU's `virt` has for a slot (inside `/soc`).
pub fn fdt_virtio_node(
    f: &mut vm_fdt::FdtWriter,
    base: u64,
    irq: u32,
    plic_phandle: u32,
) -> Result<(), vm_fdt::Error> {
    let n = f.begin_node(&format!("virtio_mmio@{base:x}"))?;
    f.property_u32("interrupts", irq)?;
    f.property_u32("interrupt-parent", plic_phandle)?;
    f.property_array_u64("reg", &[base, VIRTIO_SIZE])?;
    f.property_string("compatible", "virtio,mmio")?;
    f.end_node(n)
}
