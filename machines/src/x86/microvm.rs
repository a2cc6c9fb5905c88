//! The x86-64 `microvm` board (the model of QEMU's microvm): RAM at 0 up to the 32-bit MMIO
//! hole at [`BELOW_4G`] and the rest from 4 GiB up ([`ram_layout`]), a 16550 UART on ports
//! 0x3f8 (IRQ 4), an i8042 for reset, the debug exit port 0x501, virtio-mmio devices at
//! 0xfeb0_0000 announced on the kernel command line and in the DSDT; ACPI tables (a
//! hardware-reduced platform whose sleep control register powers off, [`acpi`]) and an MP
//! table (for `acpi=off`). The interrupt controller belongs to the
//! accelerator ([`IrqChip`]: KVM's in-kernel PIC/IOAPIC, or the JIT's own model).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use xlat_softmmu::system::testdev::Shutdown;
use xlat_softmmu::system::{Bus, IrqLine};

use super::acpi;
use super::boot::{self, BootState};
use super::ports::{DebugExit, I8042, PortBus, Sink};
use crate::devices::serial::Serial;
use crate::devices::virtio_blk::VirtioBlk;
use crate::devices::virtio_mmio::{GuestRam, VirtioBackend, VirtioMmio};
use crate::devices::virtio_rng::VirtioRng;
use crate::riscv64_virt::DriveSpec;

/// COM1.
pub const COM1: u16 = 0x3f8;
/// COM1's interrupt.
pub const COM1_IRQ: u32 = 4;
/// The debug exit port.
pub const DEBUG_EXIT: u16 = 0x501;
/// First virtio-mmio window.
pub const VIRTIO_BASE: u64 = 0xfeb0_0000;
/// Size of each virtio-mmio window.
pub const VIRTIO_SIZE: u64 = 0x200;
/// Interrupts of the virtio-mmio slots, in order.
pub const VIRTIO_IRQS: [u32; 8] = [5, 6, 7, 9, 10, 11, 14, 15];
/// End of the RAM below 4 GiB: the 32-bit MMIO hole (virtio, IOAPIC, LAPIC) starts here.
pub const BELOW_4G: u64 = super::boot::BELOW_4G;
/// Largest RAM: what the loader's identity map covers (the guest's physical address width
/// allows more, but 64 GiB is beyond any test here or host it runs on).
pub const MAX_MEM: u64 = super::boot::MAX_MEM;

/// The RAM regions of a microvm with `mem` bytes: (guest base, size), the first at 0 and
/// below [`BELOW_4G`], the rest at 4 GiB.
pub fn ram_layout(mem: u64) -> Vec<(u64, u64)> {
    super::boot::ram_layout(mem)
}

/// The accelerator's interrupt controller, as the board drives it.
pub trait IrqChip: Send + Sync + std::fmt::Debug {
    /// Sets the level of global system interrupt `gsi` (ISA IRQ n = GSI n).
    fn set_irq(&self, gsi: u32, level: bool);
}

/// An [`IrqChip`] attached after the board is built (so images and options are checked
/// before the accelerator opens); levels set before [`LateIrqChip::attach`] are replayed.
#[derive(Debug, Default)]
pub struct LateIrqChip {
    chip: std::sync::OnceLock<Arc<dyn IrqChip>>,
    early: std::sync::Mutex<Vec<(u32, bool)>>,
}

impl LateIrqChip {
    /// Nothing attached yet.
    pub fn new() -> Arc<LateIrqChip> {
        Arc::new(LateIrqChip::default())
    }

    /// Routes every later `set_irq` to `chip` (the first attach wins).
    pub fn attach(&self, chip: Arc<dyn IrqChip>) {
        let mut early = self.early.lock().unwrap_or_else(|e| e.into_inner());
        if self.chip.set(chip.clone()).is_ok() {
            for (gsi, level) in early.drain(..) {
                chip.set_irq(gsi, level);
            }
        }
    }
}

impl IrqChip for LateIrqChip {
    fn set_irq(&self, gsi: u32, level: bool) {
        if let Some(c) = self.chip.get() {
            return c.set_irq(gsi, level);
        }
        let mut early = self.early.lock().unwrap_or_else(|e| e.into_inner());
        match self.chip.get() {
            Some(c) => c.set_irq(gsi, level),
            None => early.push((gsi, level)),
        }
    }
}

/// One input of an [`IrqChip`] as a device's [`IrqLine`].
#[derive(Debug)]
pub struct Gsi {
    chip: Arc<dyn IrqChip>,
    gsi: u32,
}

impl IrqLine for Gsi {
    fn set_level(&self, level: bool) {
        self.chip.set_irq(self.gsi, level);
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct MicrovmConfig {
    /// RAM bytes.
    pub mem: u64,
    /// vCPUs.
    pub smp: u32,
    /// Kernel or payload image.
    pub kernel: PathBuf,
    /// Initial ramdisk.
    pub initrd: Option<PathBuf>,
    /// Kernel command line (the virtio devices are appended).
    pub cmdline: String,
    /// virtio-blk disks.
    pub drives: Vec<DriveSpec>,
    /// A virtio-rng.
    pub rng: bool,
}

/// The assembled machine; the accelerator runs its vCPUs.
#[derive(Debug)]
pub struct Microvm {
    /// Guest physical space: RAM at 0 and the MMIO windows.
    pub bus: Arc<Bus>,
    /// I/O ports.
    pub ports: Arc<PortBus>,
    /// Power-off / reset requests.
    pub stop: Arc<Shutdown>,
    /// The boot CPU's state.
    pub boot: BootState,
    /// What was loaded ("ELF payload", "PVH vmlinux", "bzImage").
    pub kind: &'static str,
    /// vCPUs.
    pub smp: u32,
    /// COM1 (feed console input with `push_input`).
    pub serial: Arc<Serial>,
    /// The command line the guest got.
    pub cmdline: String,
}

/// Host memory in bytes (MemTotal), if known.
pub fn host_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Checks `-m` against the board's limit and the host's memory.
pub fn check_mem(mem: u64) -> Result<(), String> {
    let mib = mem >> 20;
    if let Some(host) = host_memory()
        && mem > host
    {
        return Err(format!(
            "-m {mib}M: more than the host's {} MiB of memory",
            host >> 20
        ));
    }
    if mem > MAX_MEM {
        return Err(format!(
            "-m {mib}M: the microvm takes at most {} MiB of RAM",
            MAX_MEM >> 20
        ));
    }
    if !mem.is_multiple_of(4096) {
        return Err(format!("-m {mem}: not a whole number of 4 KiB pages"));
    }
    if mem < 2 << 20 {
        return Err(format!(
            "-m {mib}M: the microvm needs at least 2 MiB of RAM"
        ));
    }
    Ok(())
}

impl Microvm {
    /// Builds the machine: RAM, devices, images. `out` receives the UART's output.
    /// Errors are one line.
    pub fn build(
        cfg: &MicrovmConfig,
        chip: Arc<dyn IrqChip>,
        out: Box<dyn Write + Send>,
    ) -> Result<Microvm, String> {
        check_mem(cfg.mem)?;
        if cfg.smp == 0 || cfg.smp > 64 {
            return Err(format!("--smp {}: between 1 and 64", cfg.smp));
        }
        let read =
            |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let kernel = read(&cfg.kernel)?;
        let initrd = match &cfg.initrd {
            Some(p) => {
                let len = std::fs::metadata(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?
                    .len();
                if len >= cfg.mem {
                    return Err(format!(
                        "{}: the initrd ({len} bytes) is larger than RAM ({} bytes)",
                        p.display(),
                        cfg.mem
                    ));
                }
                Some(read(p)?)
            }
            None => None,
        };
        let mut bus = Bus::with_ram(&ram_layout(cfg.mem)).map_err(|e| e.to_string())?;
        let stop = Shutdown::new();
        let line = |gsi: u32| -> Arc<dyn IrqLine> {
            Arc::new(Gsi {
                chip: chip.clone(),
                gsi,
            })
        };
        let mut ports = PortBus::new();
        let serial = Arc::new(Serial::new(out, line(COM1_IRQ)));
        ports.add(COM1, 8, serial.clone())?;
        ports.add(0x60, 5, Arc::new(I8042::new(stop.clone())))?;
        ports.add(DEBUG_EXIT, 2, Arc::new(DebugExit::new(stop.clone())))?;
        ports.add(0x80, 1, Arc::new(Sink))?;
        ports.add(super::rtc::PORT, 2, Arc::new(super::rtc::Rtc::new()))?;
        ports.add(
            acpi::SLEEP_CONTROL,
            3,
            Arc::new(acpi::SleepControl::new(stop.clone())),
        )?;

        let ram = Arc::new(bus.ram().clone());
        let mut backends: Vec<Box<dyn VirtioBackend>> = Vec::new();
        for d in &cfg.drives {
            backends.push(Box::new(VirtioBlk::new(d.open()?, d.read_only, &d.serial)));
        }
        if cfg.rng {
            backends.push(Box::new(VirtioRng));
        }
        if backends.len() > VIRTIO_IRQS.len() {
            return Err(format!(
                "at most {} virtio devices (drives + rng)",
                VIRTIO_IRQS.len()
            ));
        }
        let mut cmdline = cfg.cmdline.clone();
        let mut windows = Vec::new();
        for (n, b) in backends.into_iter().enumerate() {
            let base = VIRTIO_BASE + n as u64 * VIRTIO_SIZE;
            let irq = VIRTIO_IRQS[n];
            windows.push(acpi::VirtioWindow {
                base,
                size: VIRTIO_SIZE,
                irq,
            });
            let dev = VirtioMmio::new(b, ram.clone(), line(irq));
            bus.add_mmio(base, VIRTIO_SIZE, Arc::new(dev))
                .map_err(|e| e.to_string())?;
            if !cmdline.is_empty() {
                cmdline.push(' ');
            }
            cmdline.push_str(&format!("virtio_mmio.device={VIRTIO_SIZE}@{base:#x}:{irq}"));
        }
        let ram: &GuestRam = bus.ram();
        let name = cfg.kernel.display().to_string();
        let rd_name = cfg
            .initrd
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let loaded = boot::load(
            ram,
            cfg.mem,
            &kernel,
            &name,
            initrd.as_deref().map(|d| (d, rd_name.as_str())),
            &cmdline,
        )?;
        super::mptable::write(bus.ram(), cfg.smp, &VIRTIO_IRQS)?;
        acpi::write(bus.ram(), cfg.smp, &windows)?;
        Ok(Microvm {
            bus: Arc::new(bus),
            ports: Arc::new(ports),
            stop,
            boot: loaded.boot,
            kind: loaded.kind,
            smp: cfg.smp,
            serial,
            cmdline,
        })
    }
}
