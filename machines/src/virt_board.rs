//! The riscv64 `virt` board assembled from this crate's devices, for the system runner
//! (which owns the harts and the physical bus):
//!
//! 1. it gives the RAM (a `GuestMemoryMmap` based at [`virt::DRAM`]) and, per hart, the four
//!    interrupt inputs ([`HartLines`]: MSIP, MTIP, MEIP, SEIP as `Arc<dyn IrqLine>`);
//! 2. [`VirtBoard::build`] loads the images into RAM (`--bios` fw_jump at 0x8000_0000,
//!    `--kernel` at 0x8020_0000 after a firmware or at 0x8000_0000 without one, ELF kernels
//!    at their physical addresses, the initrd and the device tree near the top of RAM) and
//!    returns the MMIO regions to map, the boot registers and the shutdown handle;
//! 3. the runner maps `regions`, starts every hart `h` at `boot.pc` with `a0 = h`,
//!    `a1 = boot.dtb`, feeds console input to `serial.push_input`, and stops when
//!    `shutdown` reports (test finisher: poweroff, fail with a code, or reset).

use crate::devices::clint::{Clint, ClintHart};
use crate::devices::plic::Plic;
use crate::devices::serial::Serial;
use crate::devices::virtio_mmio::GuestRam;
use crate::riscv64_virt::{self as virt, DriveSpec};
use crate::virt_fdt::VirtFdt;
use std::path::PathBuf;
use std::sync::Arc;
use vm_memory::{Bytes, GuestAddress};
use xlat_softmmu::system::testdev::{Finisher, Shutdown};
use xlat_softmmu::system::{IrqLine, MmioDevice};

/// A hart's interrupt inputs.
#[derive(Debug, Clone)]
pub struct HartLines {
    /// Machine software interrupt (mip bit 3).
    pub msip: Arc<dyn IrqLine>,
    /// Machine timer interrupt (mip bit 7).
    pub mtip: Arc<dyn IrqLine>,
    /// Machine external interrupt (mip bit 11).
    pub meip: Arc<dyn IrqLine>,
    /// Supervisor external interrupt (mip bit 9).
    pub seip: Arc<dyn IrqLine>,
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct VirtConfig {
    /// Firmware (raw, loaded at the start of RAM, or ELF), or none.
    pub bios: Option<PathBuf>,
    /// Kernel (raw Image / PE stub Image, or ELF).
    pub kernel: Option<PathBuf>,
    /// Initial ramdisk.
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    pub append: String,
    /// Disks on virtio-blk.
    pub drives: Vec<DriveSpec>,
    /// A virtio-rng too.
    pub rng: bool,
    /// `riscv,isa` for the device tree (QEMU-like default when empty).
    pub isa: String,
    /// `mmu-type` (`riscv,sv48` when empty).
    pub mmu_type: String,
}

/// Registers a hart starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootRegs {
    /// Entry point (the firmware's, else the kernel's).
    pub pc: u64,
    /// Device tree address (a1); a0 is the hart ID.
    pub dtb: u64,
}

/// A built board.
#[derive(Debug)]
pub struct VirtBoard {
    /// MMIO windows to map: (base, size, device).
    pub regions: Vec<(u64, u64, Arc<dyn MmioDevice>)>,
    /// Start registers.
    pub boot: BootRegs,
    /// Signalled by the test finisher (poweroff / fail / reset).
    pub shutdown: Arc<Shutdown>,
    /// The UART, for console input.
    pub serial: Arc<Serial>,
    /// Where the initrd went (start, end).
    pub initrd: Option<(u64, u64)>,
}

fn read(p: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Copies `data` to guest physical `at`; a one-line error naming `what` if it does not fit.
fn put(ram: &GuestRam, at: u64, data: &[u8], what: &str) -> Result<(), String> {
    ram.write_slice(data, GuestAddress(at)).map_err(|_| {
        format!(
            "{what}: does not fit in RAM at {at:#x} ({} bytes)",
            data.len()
        )
    })
}

/// Loads an image: ELF64 RISC-V by its PT_LOAD segments (physical addresses), anything
/// else raw at `raw_base`. Returns the entry point.
pub fn load_image(ram: &GuestRam, image: &[u8], raw_base: u64, what: &str) -> Result<u64, String> {
    if image.is_empty() {
        return Err(format!("{what}: empty file"));
    }
    if !image.starts_with(b"\x7fELF") {
        put(ram, raw_base, image, what)?;
        return Ok(raw_base);
    }
    let bad = || format!("{what}: malformed ELF");
    let u16_at = |o: usize| {
        image
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        image
            .get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |o: usize| {
        image
            .get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if image.get(4) != Some(&2) || image.get(5) != Some(&1) || u16_at(18) != Some(243) {
        return Err(format!("{what}: not a little-endian ELF64 RISC-V image"));
    }
    let entry = u64_at(24).ok_or_else(bad)?;
    let phoff = usize::try_from(u64_at(32).ok_or_else(bad)?).map_err(|_| bad())?;
    let phentsize = usize::from(u16_at(54).ok_or_else(bad)?);
    let phnum = usize::from(u16_at(56).ok_or_else(bad)?);
    let mut loaded = false;
    for i in 0..phnum {
        let ph = phoff
            .checked_add(i.checked_mul(phentsize).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        if u32_at(ph) != Some(1) {
            continue; // not PT_LOAD
        }
        let off = usize::try_from(u64_at(ph + 8).ok_or_else(bad)?).map_err(|_| bad())?;
        let paddr = u64_at(ph + 24).ok_or_else(bad)?;
        let filesz = usize::try_from(u64_at(ph + 32).ok_or_else(bad)?).map_err(|_| bad())?;
        let memsz = u64_at(ph + 40).ok_or_else(bad)?;
        let data = image
            .get(off..off.checked_add(filesz).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        put(ram, paddr, data, what)?;
        let zeros = memsz.saturating_sub(filesz as u64);
        if zeros > 0 {
            let z = vec![0u8; usize::try_from(zeros).map_err(|_| bad())?];
            put(ram, paddr + filesz as u64, &z, what)?;
        }
        loaded = true;
    }
    if !loaded {
        return Err(format!("{what}: ELF without loadable segments"));
    }
    Ok(entry)
}

/// The `image_size` of a RISC-V Linux `Image` header (0 for anything else).
fn linux_image_size(image: &[u8]) -> u64 {
    if image.get(56..60) != Some(b"RSC\x05") {
        return 0;
    }
    image
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

impl VirtBoard {
    /// Builds the board for `harts.len()` harts on `ram` (see the module doc); console output
    /// goes to `console`. Errors are one line (missing or malformed files, images too big).
    pub fn build(
        cfg: &VirtConfig,
        ram: Arc<GuestRam>,
        harts: &[HartLines],
        console: Box<dyn std::io::Write + Send>,
    ) -> Result<VirtBoard, String> {
        use vm_memory::{GuestMemoryBackend as _, GuestMemoryRegion as _};
        let ram_size: u64 = ram.iter().map(|r| r.len()).sum();
        let outputs = harts
            .iter()
            .flat_map(|h| [h.meip.clone(), h.seip.clone()])
            .collect();
        let plic = Plic::new(outputs);
        let clint = Clint::new(
            harts
                .iter()
                .map(|h| ClintHart {
                    msip: h.msip.clone(),
                    mtip: h.mtip.clone(),
                })
                .collect(),
        );
        let serial = Arc::new(Serial::new(console, plic.source(virt::UART0_IRQ as usize)));
        let shutdown = Shutdown::new();
        let mut regions: Vec<(u64, u64, Arc<dyn MmioDevice>)> = vec![
            (
                virt::TEST,
                0x1000,
                Arc::new(Finisher::new(shutdown.clone())),
            ),
            (virt::CLINT, 0x1_0000, Arc::new(clint)),
            (virt::UART0, 0x100, serial.clone()),
            (virt::PLIC, 0x60_0000, plic.clone()),
        ];
        let slots = virt::virtio_devices(&cfg.drives, cfg.rng, ram.clone(), |n| {
            plic.source(n as usize)
        })?;
        let mut fdt = VirtFdt::qemu_like(harts.len() as u32, ram_size);
        fdt.virtio = slots.iter().map(|s| (s.base, s.irq)).collect();
        regions.extend(slots.into_iter().map(|s| (s.base, s.size, s.device)));

        let mut pc = None;
        if let Some(b) = &cfg.bios {
            pc = Some(load_image(
                &ram,
                &read(b)?,
                virt::DRAM,
                &b.display().to_string(),
            )?);
        }
        // The end of what the kernel occupies (its whole image size, bss included, for a
        // Linux Image), which the initrd must not overlap.
        let mut kernel_end = virt::DRAM + 0x20_0000;
        if let Some(k) = &cfg.kernel {
            let base = if cfg.bios.is_some() {
                virt::DRAM + 0x20_0000
            } else {
                virt::DRAM
            };
            let image = read(k)?;
            let e = load_image(&ram, &image, base, &k.display().to_string())?;
            if !image.starts_with(b"\x7fELF") {
                kernel_end = base + linux_image_size(&image).max(image.len() as u64);
            }
            pc.get_or_insert(e);
        }
        let pc = pc.ok_or("nothing to run: give a kernel or a firmware")?;
        // the device tree 2 MiB below the top of RAM (within the first 3 GiB), the initrd below
        let top = virt::DRAM + ram_size.min(3 << 30);
        let dtb = top
            .checked_sub(0x20_0000)
            .filter(|&a| a >= virt::DRAM + 0x40_0000)
            .ok_or("-m: too little RAM")?
            & !0x1f_ffff;
        let mut initrd = None;
        if let Some(p) = &cfg.initrd {
            let data = read(p)?;
            let start = dtb
                .checked_sub(data.len() as u64)
                .map(|s| s & !0xfff)
                .filter(|&s| s >= kernel_end)
                .ok_or(format!(
                    "{}: does not fit in RAM between the kernel and the device tree (-m {} MiB)",
                    p.display(),
                    ram_size >> 20
                ))?;
            put(&ram, start, &data, &p.display().to_string())?;
            initrd = Some((start, start + data.len() as u64));
        }
        fdt.initrd = initrd;
        fdt.bootargs = cfg.append.clone();
        if !cfg.isa.is_empty() {
            fdt.isa = cfg.isa.clone();
        }
        if !cfg.mmu_type.is_empty() {
            fdt.mmu_type = cfg.mmu_type.clone();
        }
        put(&ram, dtb, &fdt.build()?, "device tree")?;
        Ok(VirtBoard {
            regions,
            boot: BootRegs { pc, dtb },
            shutdown,
            serial,
            initrd,
        })
    }
}
