//! `cargo run -p xlat-benches --release -- system [--runs N] [--engines xlat,qemu] [--write]`
//!
//! Whole-machine workloads (issue 4): Debian trixie's riscv64 kernel (scripts/setup.d/42)
//! boots under OpenSBI `fw_jump` on `xlat system --machine virt` and on
//! `qemu-system-riscv64 -M virt` (same kernel, initramfs, command line, memory) into a busybox
//! initramfs whose /init prints a marker, writes 32 MiB of zeros into the initramfs (tmpfs)
//! with dd, prints a second marker, hashes the file with busybox `sha256sum`, prints a third
//! marker and powers off. The host stamps every line of the serial console as it arrives:
//!
//! - **boot**: process start to the first marker (firmware, kernel, initramfs unpacking, init);
//! - **sha256 32 MiB**: second marker to third (the in-guest hash, fork + exec included);
//! - **total**: process start to exit.
//!
//! The guest's digest must equal the host's `sha256sum` of 32 MiB of zeros, or the bench stops.
//! Runs are interleaved (xlat qemu xlat qemu ...); the table has medians and qemu/xlat ratios
//! (>= 1.0: xlat is faster). `--write` replaces the system section of benches/RESULTS.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Ctx;
use crate::report::{Section, sh, sh_in};

const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
const APPEND: &str = "console=ttyS0 earlycon=sbi panic=-1";
const MEMORY: &str = "512M";
/// Bytes hashed in the guest.
const HASH_MIB: u64 = 32;
/// A run that takes longer than this is killed and the bench stops.
const TIMEOUT: Duration = Duration::from_secs(300);
const UP: &str = "xlat-bench: userspace up";
const START: &str = "xlat-bench: hash start";
const DONE: &str = "xlat-bench: hash done";

/// Where RESULTS.md's system section starts and ends.
pub const BEGIN: &str = "<!-- system-bench: begin (written by `xlat-benches system --write`) -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- system-bench: end -->";
/// The system section of benches/RESULTS.md.
pub const SECTION: Section = Section {
    begin: BEGIN,
    end: END,
};

/// The two machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sys {
    Xlat,
    Qemu,
}

impl Sys {
    fn name(self) -> &'static str {
        match self {
            Sys::Xlat => "xlat",
            Sys::Qemu => "qemu",
        }
    }
}

#[derive(Debug)]
struct Opts {
    runs: usize,
    engines: Vec<Sys>,
    write: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        runs: 5,
        engines: vec![Sys::Xlat, Sys::Qemu],
        write: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                let v = it.next().ok_or("--runs needs a number")?;
                o.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--runs: '{v}' is not a positive number"))?;
            }
            "--engines" => {
                let v = it.next().ok_or("--engines needs a list, e.g. xlat,qemu")?;
                o.engines = v
                    .split(',')
                    .map(|e| match e {
                        "xlat" => Ok(Sys::Xlat),
                        "qemu" => Ok(Sys::Qemu),
                        _ => Err(format!("unknown engine '{e}' (xlat, qemu)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--write" => o.write = true,
            "-h" | "--help" => {
                println!("usage: xlat-benches system [--runs N] [--engines xlat,qemu] [--write]");
                std::process::exit(0);
            }
            _ => return Err(format!("system: unknown option '{a}'")),
        }
    }
    Ok(o)
}

/// One run's timings, seconds.
#[derive(Debug, Clone, Copy)]
struct Run {
    boot: f64,
    hash: f64,
    total: f64,
    /// User + system CPU seconds of the whole run (less sensitive to a busy host).
    cpu: f64,
}

/// Builds the bench initramfs from the cached busybox.
fn initramfs(ctx: &Ctx) -> Result<PathBuf, String> {
    let busybox = ctx.cache.join("riscv64/busybox");
    if !busybox.exists() {
        return Err(format!(
            "{} is missing (scripts/setup.sh fetches it)",
            busybox.display()
        ));
    }
    let dir = ctx.dir.join("system");
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(d)).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    std::fs::copy(&busybox, root.join("bin/busybox")).map_err(|e| format!("busybox: {e}"))?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).map_err(|e| format!("sh: {e}"))?;
    let init = format!(
        "#!/bin/sh\n\
         /bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t devtmpfs dev /dev\n\
         echo \"{UP}\"\n\
         /bin/busybox dd if=/dev/zero of=/tmp/f bs=1048576 count={HASH_MIB} 2>/dev/null\n\
         echo \"{START}\"\n\
         /bin/busybox sha256sum /tmp/f\n\
         echo \"{DONE}\"\n\
         /bin/busybox poweroff -f\n"
    );
    let p = root.join("init");
    std::fs::write(&p, init).map_err(|e| format!("{}: {e}", p.display()))?;
    std::fs::set_permissions(
        &p,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .map_err(|e| format!("{}: {e}", p.display()))?;
    let out = dir.join("initrd.cpio.gz");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
            root.display(),
            out.display()
        ))
        .status()
        .map_err(|e| format!("cpio: {e}"))?;
    if !st.success() {
        return Err("building the initramfs failed (cpio, gzip installed?)".into());
    }
    Ok(out)
}

/// The machine's command line, run by a shell that writes its children's CPU times
/// (`times`) to `cpu_file` when it exits.
fn command(ctx: &Ctx, sys: Sys, kernel: &Path, initrd: &Path, cpu_file: &Path) -> Command {
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg("f=$1; shift; \"$@\"; rc=$?; times > \"$f\"; exit $rc")
        .arg("bash")
        .arg(cpu_file);
    match sys {
        Sys::Xlat => {
            c.arg(&ctx.xlat);
            c.args([
                "system",
                "--machine",
                "virt",
                "-m",
                MEMORY,
                "--bios",
                FW_JUMP,
            ]);
            c.arg("--kernel").arg(kernel).arg("--initrd").arg(initrd);
            c.args(["--append", APPEND]);
        }
        Sys::Qemu => {
            c.arg("qemu-system-riscv64");
            c.args(["-M", "virt", "-m", MEMORY, "-nographic", "-bios", FW_JUMP]);
            c.arg("-kernel").arg(kernel).arg("-initrd").arg(initrd);
            c.args(["-append", APPEND]);
        }
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

/// One boot; `want` is the expected digest.
fn run_once(ctx: &Ctx, sys: Sys, kernel: &Path, initrd: &Path, want: &str) -> Result<Run, String> {
    let t0 = Instant::now();
    let cpu_file = ctx.dir.join("system").join("cpu-times");
    let _ = std::fs::remove_file(&cpu_file);
    let mut child = command(ctx, sys, kernel, initrd, &cpu_file)
        .spawn()
        .map_err(|e| format!("{}: {e}", sys.name()))?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel::<(Duration, String)>();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(out).split(b'\n') {
            let Ok(l) = l else { break };
            let l = String::from_utf8_lossy(&l).trim_end().to_string();
            if tx.send((t0.elapsed(), l)).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<(Duration, String)> = Vec::new();
    let deadline = t0 + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(x) => lines.push(x),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let total = t0.elapsed().as_secs_f64();
    let _ = reader.join();
    let at = |m: &str| lines.iter().find(|(_, l)| l.contains(m)).map(|(t, _)| *t);
    let tail = || {
        let n = lines.len().saturating_sub(15);
        lines[n..]
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (Some(up), Some(start), Some(done)) = (at(UP), at(START), at(DONE)) else {
        return Err(format!(
            "{}: markers missing ({status}); last lines:\n{}",
            sys.name(),
            tail()
        ));
    };
    let digest = lines
        .iter()
        .find(|(_, l)| l.ends_with("/tmp/f"))
        .and_then(|(_, l)| l.split_whitespace().next())
        .unwrap_or("");
    if digest != want {
        return Err(format!(
            "{}: guest sha256 '{digest}', host says '{want}'",
            sys.name()
        ));
    }
    // `times`: the shell's own user and system time, then its children's.
    let times = std::fs::read_to_string(&cpu_file).unwrap_or_default();
    let cpu = times
        .lines()
        .nth(1)
        .map(|l| l.split_whitespace().filter_map(minutes_secs).sum())
        .unwrap_or(f64::NAN);
    Ok(Run {
        boot: up.as_secs_f64(),
        hash: (done - start).as_secs_f64(),
        total,
        cpu,
    })
}

/// Seconds in bash's `times` format (`1m2.345s`).
fn minutes_secs(s: &str) -> Option<f64> {
    let (m, rest) = s.split_once('m')?;
    let sec = rest.strip_suffix('s')?;
    Some(m.parse::<f64>().ok()? * 60.0 + sec.parse::<f64>().ok()?)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs the system bench (the arguments after `system`).
pub fn main(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let kernel = ctx.cache.join("riscv64/linux/Image");
    for p in [kernel.as_path(), Path::new(FW_JUMP)] {
        if !p.exists() {
            return Err(format!(
                "{} is missing (scripts/setup.sh fetches it)",
                p.display()
            ));
        }
    }
    let mut engines = o.engines.clone();
    if engines.contains(&Sys::Xlat) && !ctx.xlat.exists() {
        return Err(format!(
            "{} is not built (cargo build --release -p xlat)",
            ctx.xlat.display()
        ));
    }
    if engines.contains(&Sys::Qemu) && sh("command -v qemu-system-riscv64").is_empty() {
        eprintln!("xlat-benches: qemu-system-riscv64 is not installed; qemu column skipped");
        engines.retain(|&e| e != Sys::Qemu);
    }
    let initrd = initramfs(ctx)?;
    let want = sh(&format!(
        "head -c {} /dev/zero | sha256sum | cut -d' ' -f1",
        HASH_MIB << 20
    ));
    if want.len() != 64 {
        return Err("host sha256sum failed".into());
    }
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); engines.len()];
    for i in 0..o.runs {
        for (k, &e) in engines.iter().enumerate() {
            let r = run_once(ctx, e, &kernel, &initrd, &want)?;
            eprintln!(
                "xlat-benches: system run {}/{} {}: boot {:.2} s, sha256 {:.2} s, total {:.2} s, CPU {:.2} s",
                i + 1,
                o.runs,
                e.name(),
                r.boot,
                r.hash,
                r.total,
                r.cpu
            );
            runs[k].push(r);
        }
    }
    let table = table(&engines, &runs);
    println!("{table}");
    if o.write {
        let path = ctx.root.join("benches").join("RESULTS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut section = section(ctx, &table, o.runs);
        // Hand-written notes inside the old section stay.
        if let Some(notes) = SECTION.extract(&old).and_then(|s| NOTES.extract(s)) {
            section = section.replace(END, &format!("\n{notes}\n{END}"));
        }
        let md = SECTION.replace(&old, &section);
        std::fs::write(&path, md).map_err(|e| format!("write {}: {e}", path.display()))?;
        eprintln!(
            "xlat-benches: wrote the system section of {}",
            path.display()
        );
    }
    Ok(())
}

/// A table row: its name and the figure it takes from a run.
type Metric = (&'static str, fn(&Run) -> f64);

fn table(engines: &[Sys], runs: &[Vec<Run>]) -> String {
    let mut s = String::from("| workload |");
    for e in engines {
        s += &format!(" {} median s |", e.name());
    }
    let both = engines.len() == 2;
    if both {
        s += &format!(" {}/{} |", engines[1].name(), engines[0].name());
    }
    s += "\n|---|";
    for _ in 0..engines.len() + usize::from(both) {
        s += "---:|";
    }
    s += "\n";
    let metrics: [Metric; 4] = [
        ("boot to marker", |r| r.boot),
        ("sha256sum 32 MiB", |r| r.hash),
        ("total (boot, dd, hash, power-off)", |r| r.total),
        ("CPU time of the total (user + sys)", |r| r.cpu),
    ];
    for (name, f) in metrics {
        s += &format!("| {name} |");
        let med: Vec<f64> = runs
            .iter()
            .map(|r| median(&mut r.iter().map(f).collect::<Vec<_>>()))
            .collect();
        for m in &med {
            s += &format!(" {m:.2} |");
        }
        if both {
            s += &format!(" {:.2} |", med[1] / med[0]);
        }
        s += "\n";
    }
    s
}

fn section(ctx: &Ctx, table: &str, runs: usize) -> String {
    let sh_in = |c: &str| sh_in(&ctx.root, c);
    let mut s = format!("{BEGIN}\n## System mode: riscv64 virt, Debian's kernel\n\n");
    s += "Written by `cargo run -p xlat-benches --release -- system --write` (benches/src/system.rs). ";
    s += &format!(
        "Median of {runs} interleaved runs per machine; ratios >= 1.0 mean xlat is faster. \
         OpenSBI fw_jump + Debian trixie's riscv64 kernel ({}) + a busybox initramfs, \
         `-m {MEMORY}`, `-append \"{APPEND}\"`, one hart. Boot: process start to /init's first \
         line on the serial console; sha256sum: busybox `sha256sum` of {HASH_MIB} MiB in tmpfs, \
         timed between two serial lines (digest checked against the host's).\n\n",
        sh_in("cat \"${XLAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xlat}/riscv64/linux/version\"")
    );
    s += &format!("- date: {}\n", sh_in("date -u '+%Y-%m-%d %H:%M UTC'"));
    s += &format!("- xlat: commit {}\n", sh_in("git rev-parse --short HEAD"));
    s += &format!(
        "- qemu: {}\n",
        sh_in("qemu-system-riscv64 --version | head -n1")
    );
    s += &format!(
        "- load average at the end: {}\n\n",
        sh_in("cut -d' ' -f1-3 /proc/loadavg")
    );
    s += table;
    s += &format!("{END}\n");
    s
}

/// The hand-written notes block of a system section, markers included: kept by `--write`.
const NOTES: Section = Section {
    begin: "<!-- system-notes: begin (kept by --write) -->",
    end: "<!-- system-notes: end -->",
};
