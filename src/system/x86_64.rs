//! `xlat system --arch x86_64 --machine microvm`: the x86-64 microvm (machines::x86) under
//! KVM (`--accel kvm`, accel-kvm) or the JIT (`--accel jit`).
//!
//! ```text
//! xlat system --arch x86_64 --machine microvm --accel kvm --kernel vmlinux \
//!     --append "console=ttyS0 earlyprintk=serial" -m 512M --smp 2 --drive file=disk.qcow2
//! xlat system --arch x86_64 --accel kvm --kernel payload.elf     # exits through port 0x501
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use xlat_machines::riscv64_virt::DriveSpec;
use xlat_machines::x86::{Microvm, MicrovmConfig};
use xlat_softmmu::system::testdev::StopReason;

/// Usage of the x86-64 machine.
pub const USAGE: &str = "usage: xlat system --arch x86_64 [--machine microvm] --accel kvm|jit \
--kernel FILE [--initrd FILE] [--append CMDLINE] [-m SIZE[M|G]] [--smp N] \
[--drive file=IMAGE[,format=raw|qcow2][,readonly=on]]... [-d int,guest_error,stats,in_asm,exec]";

/// Accelerators of the x86-64 machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86Accel {
    /// /dev/kvm.
    Kvm,
    /// The JIT (x86-64 system mode).
    Jit,
}

/// Options of `xlat system --arch x86_64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X86Args {
    /// Accelerator.
    pub accel: X86Accel,
    /// Kernel or payload.
    pub kernel: PathBuf,
    /// Initial ramdisk.
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    pub append: String,
    /// RAM bytes.
    pub mem: u64,
    /// vCPUs.
    pub smp: u32,
    /// virtio-blk disks.
    pub drives: Vec<DriveSpec>,
    /// `-d int`.
    pub trace_int: bool,
    /// `-d guest_error`: accesses to unassigned ports and MMIO.
    pub guest_error: bool,
    /// `-d stats`: exits, wall time, RSS.
    pub stats: bool,
    /// `-d in_asm` (JIT).
    pub in_asm: bool,
    /// `-d exec` (JIT).
    pub exec: bool,
}

/// Whether the arguments select the x86-64 machine (`--arch x86_64`, `--machine microvm`).
pub fn selected(args: &[String]) -> bool {
    let mut prev = "";
    for a in args {
        let hit = |name: &str, v: &str| {
            (name == "--arch" && v == "x86_64")
                || ((name == "--machine" || name == "-M") && v == "microvm")
        };
        if let Some((n, v)) = a.split_once('=')
            && hit(n, v)
        {
            return true;
        }
        if hit(prev, a) {
            return true;
        }
        prev = a;
    }
    false
}

/// The shared options on the microvm.
const SPEC: super::options::Spec = super::options::Spec {
    usage: USAGE,
    mem: 256 << 20,
    max_smp: 64,
    cpus: "vCPUs",
    debug: &["int", "guest_error", "stats", "in_asm", "exec"],
};

/// Parses the arguments after `system`.
pub fn parse(args: &[String]) -> Result<X86Args, String> {
    let mut accel = None;
    let c = super::options::parse(args, &SPEC, |name, value| {
        match name {
            "--arch" => {
                let v = value()?;
                if v != "x86_64" {
                    return Err(format!("--arch {v}: the microvm machine is x86_64"));
                }
            }
            "--machine" | "-M" => {
                let v = value()?;
                if v != "microvm" {
                    return Err(format!(
                        "--machine {v}: x86_64 system emulation has microvm"
                    ));
                }
            }
            "--accel" | "-accel" => {
                accel = Some(match value()?.as_str() {
                    "kvm" => X86Accel::Kvm,
                    "jit" | "tcg" => X86Accel::Jit,
                    v => return Err(format!("--accel {v}: expected kvm or jit")),
                })
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(X86Args {
        accel: accel.unwrap_or(X86Accel::Kvm),
        kernel: c
            .kernel
            .ok_or(format!("nothing to run: give --kernel\n{USAGE}"))?,
        initrd: c.initrd,
        append: c.append,
        mem: c.mem,
        smp: c.smp,
        drives: c.drives,
        trace_int: c.debug.int,
        guest_error: c.debug.guest_error,
        stats: c.debug.stats,
        in_asm: c.debug.in_asm,
        exec: c.debug.exec,
    })
}

fn config(a: &X86Args) -> MicrovmConfig {
    MicrovmConfig {
        mem: a.mem,
        smp: a.smp,
        kernel: a.kernel.clone(),
        initrd: a.initrd.clone(),
        cmdline: a.append.clone(),
        drives: a.drives.clone(),
        rng: true,
    }
}

/// Resident set size of this process in bytes (VmRSS), if known.
pub fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Builds the machine and runs it; returns the guest's exit status.
pub fn run(a: &X86Args) -> Result<i32, String> {
    match a.accel {
        X86Accel::Kvm => run_kvm(a),
        X86Accel::Jit => super::x86_64_jit::run(a),
    }
}

fn run_kvm(a: &X86Args) -> Result<i32, String> {
    use xlat_accel_kvm::{KvmVm, RunOptions};
    let opts = RunOptions {
        trace_int: a.trace_int,
        sample: xlat_accel_kvm::sample::Sampler::from_env()?.map(std::sync::Arc::new),
    };
    // the board first, so bad images and options are reported whether or not KVM works
    let chip = xlat_machines::x86::LateIrqChip::new();
    let mut cfg = config(a);
    if !xlat_accel_kvm::hardware_backed() {
        // A software-assisted KVM (PVM) runs guest ring 0 through KVM's emulator, which has
        // no xsave/xrstor and no SSE arithmetic, and the guest reads the host's CPUID bits
        // (XSAVE, SSSE3) whatever KVM_SET_CPUID2 says: ask Linux not to use XSAVE, and to
        // clear SSSE3 (its built-in blake2s, the random pool, runs SSSE3 code in ring 0);
        // other kernels ignore the words
        let words: Vec<&str> = cfg.cmdline.split_whitespace().collect();
        let mut add = Vec::new();
        if !words
            .iter()
            .any(|w| *w == "noxsave" || w.starts_with("clearcpuid="))
        {
            add.push("noxsave");
        }
        if !words.iter().any(|w| w.starts_with("clearcpuid=")) {
            add.push("clearcpuid=ssse3");
        }
        for w in add {
            cfg.cmdline = format!("{} {w}", cfg.cmdline).trim_start().to_string();
            if a.trace_int {
                eprintln!("kvm: software-assisted KVM: `{w}` added to the kernel command line");
            }
        }
    }
    let mut vm = Microvm::build(&cfg, chip.clone(), Box::new(std::io::stdout()))?;
    let kvm = KvmVm::open(&opts)?;
    chip.attach(kvm.irqchip());
    if a.guest_error
        && let Some(p) = Arc::get_mut(&mut vm.ports)
    {
        p.log_unassigned = true;
    }
    let serial = vm.serial.clone();
    let stop = vm.stop.clone();
    let _term = xlat_machines::console::stdio(
        move |b| serial.push_input(b),
        move || stop.request(StopReason::Exit(0)),
    );
    let t0 = std::time::Instant::now();
    let out = kvm.run(&vm)?;
    if a.stats {
        let rss = rss().unwrap_or(0);
        let guest = xlat_accel_kvm::guest_resident(&vm).unwrap_or(0);
        eprintln!(
            "kvm: {} wall_ms={} rss_kib={} guest_resident_kib={} own_rss_kib={} unassigned_port_accesses={}",
            out.exits,
            t0.elapsed().as_millis(),
            rss >> 10,
            guest >> 10,
            rss.saturating_sub(guest) >> 10,
            vm.ports.unassigned_count()
        );
    }
    if matches!(vm.stop.get(), Some(StopReason::Reset)) && out.message.is_none() {
        eprintln!("xlat: the guest reset the machine; stopping");
    }
    if let Some(m) = out.message {
        eprintln!("xlat: {m}");
    }
    Ok(out.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn selection_and_options() {
        assert!(selected(&v("--arch x86_64 --kernel k")));
        assert!(selected(&v("--machine=microvm --kernel k")));
        assert!(!selected(&v("--arch riscv64 --kernel k")));
        let a = parse(&v(
            "--arch x86_64 --accel kvm --kernel k -m 1G --smp 2 -d int",
        ))
        .unwrap();
        assert_eq!(
            (a.mem, a.smp, a.trace_int, a.accel),
            (1 << 30, 2, true, X86Accel::Kvm)
        );
        assert!(parse(&v("--arch x86_64")).unwrap_err().contains("--kernel"));
        assert!(
            parse(&v("--arch x86_64 --accel hvf --kernel k"))
                .unwrap_err()
                .contains("kvm or jit")
        );
        assert!(
            parse(&v("--arch x86_64 --smp 0 --kernel k"))
                .unwrap_err()
                .contains("--smp")
        );
        assert_eq!(
            parse(&v("--arch x86_64 -d int,mmio --kernel k")).unwrap_err(),
            "-d mmio: unknown (int, guest_error, stats, in_asm, exec)"
        );
        assert!(
            parse(&v("--arch x86_64 --machine virt --kernel k"))
                .unwrap_err()
                .contains("microvm")
        );
    }
}
