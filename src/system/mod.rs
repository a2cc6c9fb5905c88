//! `xlat system`: whole-machine emulation, like `qemu-system-riscv64 -M virt`. Builds the
//! machine (RAM, devices, firmware and kernel images), then runs its hart until the guest
//! powers off through the test finisher.
//!
//! ```text
//! xlat system --arch riscv64 --machine virt --bios none --kernel prog.elf
//! xlat system --kernel Image --initrd initrd.cpio.gz --append "console=ttyS0"   # OpenSBI + Linux
//! ```

pub mod fdt;
pub mod loader;
pub mod riscv;

use std::sync::Arc;
use xlat_backend::{Accel, EngineConfig, Trace};
use xlat_softmmu::system::testdev::{Finisher, MiniClint, Shutdown, StopReason};
use xlat_softmmu::system::{Bus, CpuIrqs, MiniPlic, MiniUart};

/// Feeds the host's stdin to the UART, byte by byte as it arrives (line-buffered unless the
/// terminal is in raw mode; the console's raw mode belongs to the board's serial device).
fn spawn_stdin(uart: Arc<MiniUart>) {
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
            uart.push_input(&buf[..n]);
        }
    });
}

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
    /// Interpreter only.
    pub interp: bool,
    /// `-d int`.
    pub trace_int: bool,
    /// `-d in_asm`.
    pub in_asm: bool,
    /// `-d exec`.
    pub exec: bool,
    /// `-d stats`.
    pub stats: bool,
    /// Executions before a block is compiled.
    pub hot_threshold: Option<u32>,
}

/// The firmware used without `--bios` (Debian's OpenSBI, installed with qemu-system-riscv).
pub const DEFAULT_BIOS: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

/// Usage of `xlat system`.
pub const USAGE: &str = "usage: xlat system --arch riscv64 --machine virt [--bios none|default|FILE] \
--kernel FILE [--initrd FILE] [--append CMDLINE] [-m SIZE[M|G]] [--accel jit|interp] [-d int,in_asm,exec,stats] [--hot-threshold N]";

fn parse_size(s: &str) -> Option<u64> {
    let (n, mul) = match s.chars().last()? {
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'K' | 'k' => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1 << 20),
    };
    n.parse::<u64>().ok()?.checked_mul(mul)
}

/// Parses the arguments after `system`.
pub fn parse(args: &[String]) -> Result<SystemArgs, String> {
    let mut a = SystemArgs {
        arch: "riscv64".into(),
        machine: "virt".into(),
        bios: Some(DEFAULT_BIOS.into()),
        kernel: None,
        initrd: None,
        append: String::new(),
        mem: 128 << 20,
        interp: false,
        trace_int: false,
        in_asm: false,
        exec: false,
        stats: false,
        hot_threshold: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or(format!("{name} needs a value\n{USAGE}")),
            }
        };
        match name {
            "--arch" => a.arch = value()?,
            "--machine" | "-M" => a.machine = value()?,
            "--bios" | "-bios" => {
                let v = value()?;
                a.bios = match v.as_str() {
                    "none" => None,
                    "default" => Some(DEFAULT_BIOS.into()),
                    _ => Some(v.into()),
                };
            }
            "--kernel" | "-kernel" => a.kernel = Some(value()?.into()),
            "--initrd" | "-initrd" => a.initrd = Some(value()?.into()),
            "--append" | "-append" => a.append = value()?,
            "-m" | "--memory" => {
                let v = value()?;
                a.mem = parse_size(&v).ok_or(format!("-m {v}: not a size"))?;
            }
            "--accel" => match value()?.as_str() {
                "jit" => a.interp = false,
                "interp" => a.interp = true,
                v => return Err(format!("--accel {v}: expected jit or interp")),
            },
            "--hot-threshold" => {
                let v = value()?;
                a.hot_threshold = Some(v.parse().map_err(|_| format!("--hot-threshold {v}"))?);
            }
            "-d" => {
                for f in value()?.split(',') {
                    match f {
                        "int" => a.trace_int = true,
                        "in_asm" => a.in_asm = true,
                        "exec" => a.exec = true,
                        "stats" => a.stats = true,
                        _ => return Err(format!("-d {f}: unknown (int, in_asm, exec, stats)")),
                    }
                }
            }
            "-nographic" | "--nographic" => {}
            _ => return Err(format!("unknown option '{arg}'\n{USAGE}")),
        }
    }
    if a.arch != "riscv64" {
        return Err(format!(
            "--arch {}: system emulation supports riscv64",
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

/// QEMU `virt` addresses.
pub mod virt {
    /// RAM base.
    pub const DRAM: u64 = 0x8000_0000;
    /// Test finisher.
    pub const TEST: u64 = 0x10_0000;
    /// CLINT.
    pub const CLINT: u64 = 0x200_0000;
    /// UART0.
    pub const UART0: u64 = 0x1000_0000;
    /// PLIC.
    pub const PLIC: u64 = 0xc00_0000;
    /// Where the kernel goes when a firmware occupies the start of RAM.
    pub const KERNEL_WITH_BIOS: u64 = DRAM + 0x20_0000;
}

/// Builds the machine and runs it; returns the guest's exit status.
pub fn run(a: &SystemArgs) -> Result<i32, String> {
    let mut bus = Bus::new(virt::DRAM, a.mem).map_err(|e| e.to_string())?;
    let stop = Shutdown::new();
    let irqs = CpuIrqs::new();
    let map = |r: Result<(), xlat_softmmu::system::BusError>| r.map_err(|e| e.to_string());
    let plic = MiniPlic::new(irqs.line(11), irqs.line(9));
    let uart = Arc::new(MiniUart::new(Box::new(std::io::stdout()), plic.source(10)));
    map(bus.add_mmio(virt::UART0, 0x100, uart.clone()))?;
    spawn_stdin(uart);
    map(bus.add_mmio(virt::TEST, 0x1000, Arc::new(Finisher::new(stop.clone()))))?;
    let clint = MiniClint::new(irqs.line(3), irqs.line(7));
    map(bus.add_mmio(virt::CLINT, 0x10000, Arc::new(clint)))?;
    map(bus.add_mmio(virt::PLIC, 0x60_0000, plic))?;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut pc = None;
    if let Some(b) = &a.bios {
        let l = loader::load(&bus, &read(b)?, virt::DRAM, &b.display().to_string())?;
        pc = Some(l.entry);
    }
    if let Some(k) = &a.kernel {
        let base = if a.bios.is_some() {
            virt::KERNEL_WITH_BIOS
        } else {
            virt::DRAM
        };
        let l = loader::load(&bus, &read(k)?, base, &k.display().to_string())?;
        pc.get_or_insert(l.entry);
    }
    let pc = pc.unwrap_or(virt::DRAM);
    // The device tree at the top of RAM (2 MiB aligned, as QEMU puts it), the initrd below.
    let top = virt::DRAM + a.mem.min(3 << 30);
    let fdt_addr = (top - 0x20_0000) & !0x1f_ffff;
    let mut initrd = None;
    if let Some(p) = &a.initrd {
        let data = read(p)?;
        let start = fdt_addr
            .checked_sub(data.len() as u64)
            .map(|s| s & !0xfff)
            .filter(|&s| s >= virt::DRAM + 0x20_0000)
            .ok_or(format!("{}: does not fit in RAM", p.display()))?;
        if !bus.write_bytes(start, &data) {
            return Err(format!("{}: does not fit in RAM", p.display()));
        }
        initrd = Some((start, start + data.len() as u64));
    }
    let dtb = fdt::build(&fdt::VirtFdt {
        ram: (virt::DRAM, a.mem),
        bootargs: a.append.clone(),
        initrd,
        isa: "rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc".into(),
    })?;
    if !bus.write_bytes(fdt_addr, &dtb) {
        return Err("the device tree does not fit in RAM".into());
    }
    let defaults = EngineConfig::default();
    let cfg = EngineConfig {
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
    let trace = riscv::HartTrace { int: a.trace_int };
    let mut hart = riscv::Hart::new(bus, irqs, cfg, 0, pc, fdt_addr, trace)?;
    let t0 = std::time::Instant::now();
    let r = hart.run(&stop);
    if a.stats {
        let ms = t0.elapsed().as_millis();
        eprintln!("{} wall_ms={ms}", hart.engine().stats());
    }
    Ok(match r {
        StopReason::Exit(c) => c,
        StopReason::Reset => 0,
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
        assert!(
            p("--arch x86_64 --kernel k")
                .unwrap_err()
                .contains("riscv64")
        );
        assert!(p("-m lots --kernel k").unwrap_err().contains("not a size"));
        assert!(p("--kernel").unwrap_err().contains("needs a value"));
        assert!(p("--bogus").unwrap_err().contains("unknown option"));
        assert!(p("--bios none").unwrap_err().contains("nothing to run"));
    }
}
