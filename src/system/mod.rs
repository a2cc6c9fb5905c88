//! `xlat system`: whole-machine emulation, like `qemu-system-riscv64 -M virt`. Builds the
//! machine (RAM, devices, firmware and kernel images), then runs its hart until the guest
//! powers off through the test finisher.
//!
//! ```text
//! xlat system --arch riscv64 --machine virt --bios none --kernel prog.elf
//! xlat system --kernel Image --initrd initrd.cpio.gz --append "console=ttyS0"   # OpenSBI + Linux
//! ```

pub mod options;
pub mod riscv;
pub mod x86_64;
pub mod x86_64_jit;

use std::sync::Arc;
use xlat_backend::{Accel, EngineConfig, Trace};
use xlat_machines::riscv64_virt::{self as board_map, DriveSpec};
use xlat_machines::virt_board::{HartLines, VirtBoard, VirtConfig};
use xlat_softmmu::system::testdev::StopReason;
use xlat_softmmu::system::{Bus, CpuIrqs, MmioDevice};

/// Options of `xlat system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemArgs {
    /// Guest architecture.
    pub arch: String,
    /// Board.
    pub machine: String,
    /// Firmware image, or `None` for `--bios none`. Without `--bios`, as on QEMU, the
    /// default OpenSBI ([`DEFAULT_BIOS`]) when it is installed.
    pub bios: Option<std::path::PathBuf>,
    /// Kernel image.
    pub kernel: Option<std::path::PathBuf>,
    /// Initial ramdisk.
    pub initrd: Option<std::path::PathBuf>,
    /// Kernel command line.
    pub append: String,
    /// RAM size in bytes.
    pub mem: u64,
    /// Number of harts (`--smp N`), each a host thread.
    pub smp: u32,
    /// Disks on virtio-blk (`--drive`, repeatable).
    pub drives: Vec<DriveSpec>,
    /// Interpreter only.
    pub interp: bool,
    /// `-d int`: one line per trap taken.
    pub trace_int: bool,
    /// `-d mmio`: one line per device register access.
    pub trace_mmio: bool,
    /// `-d guest_error`: accesses to nothing, unimplemented device registers.
    pub guest_error: bool,
    /// `-d in_asm`.
    pub in_asm: bool,
    /// `-d exec`.
    pub exec: bool,
    /// `-d stats`.
    pub stats: bool,
    /// Executions before a block is compiled.
    pub hot_threshold: Option<u32>,
    /// The x86-64 microvm's options (`--arch x86_64`), see [`x86_64`].
    pub x86: Option<x86_64::X86Args>,
}

/// The firmware used without `--bios` (Debian's OpenSBI, installed with qemu-system-riscv).
pub const DEFAULT_BIOS: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

/// Usage of `xlat system`.
pub const USAGE: &str = "usage: xlat system --arch riscv64 --machine virt [--bios none|default|FILE] \
--kernel FILE [--initrd FILE] [--append CMDLINE] [-m SIZE[M|G]] [--smp N] [--drive file=IMAGE[,format=raw|qcow2][,if=virtio][,readonly=on]]... \
[--accel jit|interp] [-d int,mmio,guest_error,in_asm,exec,stats] [--hot-threshold N]";

/// Most harts `--smp` accepts (the PLIC's contexts and the CLINT's window allow more; this
/// is what QEMU's `virt` allows per socket).
pub const MAX_SMP: u32 = 8;

/// The shared options on the riscv64 `virt` board.
const SPEC: options::Spec = options::Spec {
    usage: USAGE,
    mem: 128 << 20,
    max_smp: MAX_SMP,
    cpus: "harts",
    debug: &["int", "mmio", "guest_error", "in_asm", "exec", "stats"],
};

/// Parses the arguments after `system`.
pub fn parse(args: &[String]) -> Result<SystemArgs, String> {
    let mut arch = String::from("riscv64");
    let mut machine = String::from("virt");
    let mut bios = Some(std::path::PathBuf::from(DEFAULT_BIOS));
    let mut interp = false;
    let mut hot_threshold = None;
    let mut x86 = None;
    let c = if x86_64::selected(args) {
        arch = "x86_64".into();
        x86 = Some(x86_64::parse(args)?);
        options::Common::new(&SPEC)
    } else {
        options::parse(args, &SPEC, |name, value| {
            match name {
                "--arch" => arch = value()?,
                "--machine" | "-M" => machine = value()?,
                "--bios" | "-bios" => {
                    let v = value()?;
                    bios = match v.as_str() {
                        "none" => None,
                        "default" => Some(DEFAULT_BIOS.into()),
                        _ => Some(v.into()),
                    };
                }
                "--accel" => match value()?.as_str() {
                    "jit" => interp = false,
                    "interp" => interp = true,
                    v => return Err(format!("--accel {v}: expected jit or interp")),
                },
                "--hot-threshold" => {
                    let v = value()?;
                    hot_threshold = Some(v.parse().map_err(|_| format!("--hot-threshold {v}"))?);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?
    };
    let mut a = SystemArgs {
        arch,
        machine,
        bios,
        kernel: c.kernel,
        initrd: c.initrd,
        append: c.append,
        mem: c.mem,
        smp: c.smp,
        drives: c.drives,
        interp,
        trace_int: c.debug.int,
        trace_mmio: c.debug.mmio,
        guest_error: c.debug.guest_error,
        in_asm: c.debug.in_asm,
        exec: c.debug.exec,
        stats: c.debug.stats,
        hot_threshold,
        x86,
    };
    if a.x86.is_some() {
        return Ok(a);
    }
    if a.arch != "riscv64" {
        return Err(format!(
            "--arch {}: system emulation supports riscv64 (--machine virt) and x86_64 (--machine microvm)",
            a.arch
        ));
    }
    if a.machine != "virt" {
        return Err(format!("--machine {}: supported machines: virt", a.machine));
    }
    if a.bios.as_deref() == Some(std::path::Path::new(DEFAULT_BIOS))
        && !std::path::Path::new(DEFAULT_BIOS).exists()
    {
        a.bios = None; // no OpenSBI installed: run the kernel bare, as with --bios none
    }
    if a.kernel.is_none() && a.bios.is_none() {
        return Err(format!(
            "nothing to run: give --kernel (or --bios)\n{USAGE}"
        ));
    }
    Ok(a)
}

/// The host's RAM in bytes (`MemTotal` of /proc/meminfo), if known.
fn host_ram() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = m.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?
        .checked_mul(1024)
}

/// Builds the machine and runs it; returns the guest's exit status (the test finisher's
/// poweroff status, 0 for a reset or Ctrl-A x).
pub fn run(a: &SystemArgs) -> Result<i32, String> {
    match a.arch.as_str() {
        "riscv64" => run_riscv64(a),
        "x86_64" => match &a.x86 {
            Some(x) => x86_64::run(x),
            None => Err("--arch x86_64: no options parsed".into()),
        },
        other => Err(format!(
            "--arch {other}: system emulation supports riscv64 (--machine virt) and x86_64 (--machine microvm)"
        )),
    }
}

/// Logs the accesses to one device window (`-d mmio`).
#[derive(Debug)]
struct Traced {
    base: u64,
    dev: Arc<dyn MmioDevice>,
}

impl MmioDevice for Traced {
    fn read(&self, offset: u64, size: u8) -> u64 {
        let v = self.dev.read(offset, size);
        eprintln!(
            "mmio: read  {:#x} size {size} -> {v:#x}",
            self.base + offset
        );
        v
    }
    fn write(&self, offset: u64, size: u8, value: u64) {
        eprintln!(
            "mmio: write {:#x} size {size} <- {value:#x}",
            self.base + offset
        );
        self.dev.write(offset, size, value);
    }
}

fn run_riscv64(a: &SystemArgs) -> Result<i32, String> {
    if let Some(host) = host_ram()
        && a.mem > host
    {
        return Err(format!(
            "-m {} MiB: more than this host's {} MiB of RAM",
            a.mem >> 20,
            host >> 20
        ));
    }
    let mut bus = Bus::new(board_map::DRAM, a.mem).map_err(|e| format!("-m: {e}"))?;
    let irqs: Vec<Arc<CpuIrqs>> = (0..a.smp).map(|_| CpuIrqs::new()).collect();
    let lines: Vec<HartLines> = irqs
        .iter()
        .map(|i| HartLines {
            msip: i.line(3),
            mtip: i.line(7),
            meip: i.line(11),
            seip: i.line(9),
        })
        .collect();
    let cfg = VirtConfig {
        bios: a.bios.clone(),
        kernel: a.kernel.clone(),
        initrd: a.initrd.clone(),
        append: a.append.clone(),
        drives: a.drives.clone(),
        rng: true,
        isa: String::new(),
        mmu_type: String::new(),
    };
    let ram = Arc::new(bus.ram().clone());
    let board = VirtBoard::build(&cfg, ram, &lines, Box::new(std::io::stdout()))?;
    for (base, size, dev) in &board.regions {
        let dev = if a.trace_mmio {
            Arc::new(Traced {
                base: *base,
                dev: dev.clone(),
            })
        } else {
            dev.clone()
        };
        bus.add_mmio(*base, *size, dev).map_err(|e| e.to_string())?;
    }
    let stop = board.shutdown.clone();
    let defaults = EngineConfig::default();
    let ecfg = EngineConfig {
        accel: if a.interp { Accel::Interp } else { Accel::Jit },
        hot_threshold: a.hot_threshold.unwrap_or(riscv::SYSTEM_HOT_THRESHOLD),
        trace: Trace {
            in_asm: a.in_asm,
            exec: a.exec,
            ..Trace::default()
        },
        count_insns: a.stats,
        ..defaults
    };
    let bus = Arc::new(bus);
    let trace = riscv::HartTrace {
        int: a.trace_int,
        guest_error: a.guest_error,
    };
    // The console: raw mode until this function returns, Ctrl-A x stops the machine.
    let serial = board.serial.clone();
    let quit = stop.clone();
    let _term = xlat_machines::console::stdio(
        move |b| serial.push_input(b),
        move || quit.request(StopReason::Exit(0)),
    );
    let t0 = std::time::Instant::now();
    let results: Vec<Result<String, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = irqs
            .iter()
            .enumerate()
            .map(|(id, irqs)| {
                let (bus, irqs, ecfg, stop) = (bus.clone(), irqs.clone(), ecfg.clone(), &stop);
                let boot = board.boot;
                std::thread::Builder::new()
                    .name(format!("hart{id}"))
                    .spawn_scoped(s, move || {
                        let mut hart = match riscv::Hart::new(
                            bus, irqs, ecfg, id as u64, boot.pc, boot.dtb, trace,
                        ) {
                            Ok(h) => h,
                            Err(e) => {
                                stop.request(StopReason::Exit(1));
                                return Err(e);
                            }
                        };
                        hart.run(stop);
                        Ok(format!(
                            "{} hart_cpu_ms={}",
                            hart.engine().stats(),
                            riscv::thread_cpu_ms()
                        ))
                    })
                    .map_err(|e| format!("cannot start hart {id}: {e}"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err("a hart thread panicked".into())),
                Err(e) => {
                    stop.request(StopReason::Exit(1));
                    Err(e)
                }
            })
            .collect()
    });
    let mut stats = Vec::new();
    for r in results {
        stats.push(r?);
    }
    if a.stats {
        let ms = t0.elapsed().as_millis();
        for (id, s) in stats.iter().enumerate() {
            eprintln!("hart{id}: {s} wall_ms={ms}");
        }
    }
    Ok(match stop.get() {
        Some(StopReason::Exit(c)) => c,
        Some(StopReason::Reset) | None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<SystemArgs, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn options_and_sizes() {
        let a = p("--machine=virt -m 1G --bios none --kernel k --initrd i --accel interp").unwrap();
        assert_eq!((a.mem, a.bios, a.interp), (1 << 30, None, true));
        assert_eq!(a.initrd, Some("i".into()));
        assert_eq!(p("-m 64 --kernel k").unwrap().mem, 64 << 20);
        assert_eq!(p("--bios fw.bin").unwrap().bios, Some("fw.bin".into()));
    }

    #[test]
    fn mistakes_give_one_clear_message() {
        assert!(
            p("--machine sifive_u --kernel k")
                .unwrap_err()
                .contains("virt")
        );
        assert!(p("--arch mips --kernel k").unwrap_err().contains("riscv64"));
        assert!(p("-m lots --kernel k").unwrap_err().contains("not a size"));
        assert!(p("--kernel").unwrap_err().contains("needs a value"));
        assert!(p("--bogus").unwrap_err().contains("unknown option"));
        assert!(p("--bios none").unwrap_err().contains("nothing to run"));
        assert!(p("--smp 0 --kernel k").unwrap_err().contains("--smp 0"));
        assert!(p("--smp two --kernel k").unwrap_err().contains("--smp two"));
        assert!(
            p("--drive disk.img --kernel k")
                .unwrap_err()
                .contains("key=value")
        );
        assert!(
            p("--drive file=d,format=vmdk --kernel k")
                .unwrap_err()
                .contains("raw or qcow2")
        );
        assert!(
            p("--drive file=d,if=ide --kernel k")
                .unwrap_err()
                .contains("virtio")
        );
        assert!(
            p("-d bogus --kernel k")
                .unwrap_err()
                .contains("guest_error")
        );
    }

    #[test]
    fn smp_drives_and_traces() {
        let a = p(
            "--smp 2 --drive file=a.qcow2,format=qcow2,if=virtio --drive file=b.img,format=raw \
            -d int,mmio,guest_errors --kernel k",
        )
        .unwrap();
        assert_eq!(a.smp, 2);
        assert_eq!(a.drives.len(), 2);
        assert_eq!(a.drives[0].file, std::path::PathBuf::from("a.qcow2"));
        assert!(a.trace_int && a.trace_mmio && a.guest_error);
        assert_eq!(p("-smp cpus=2 --kernel k").unwrap().smp, 2);
    }
}
