//! `xlat-benches x86sys [--runs N] [--scale S] [--write]`: the x86-64 bare-metal payload
//! (`benches/payload`), one kernel per image, natively, under `xlat system --accel jit`,
//! `--accel kvm` (where /dev/kvm opens) and `qemu-system-x86_64 -accel tcg` (microvm, qboot,
//! the payload's PVH twin). Runs are interleaved; the table gives median wall times (whole
//! process, start-up included: the `empty` row is the payload with no kernel) and the ratios
//! qemu/jit and kvm/jit (> 1: the JIT is faster). Every run's output must equal the native
//! run's, or the bench stops. `--write` replaces the x86sys section of benches/RESULTS.md.

use crate::Ctx;
use crate::report::{Section, sh};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

const BEGIN: &str = "<!-- x86sys begin -->";
const END: &str = "<!-- x86sys end -->";
/// The x86sys section of benches/RESULTS.md.
pub const SECTION: Section = Section {
    begin: BEGIN,
    end: END,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Native,
    Jit,
    Kvm,
    Qemu,
}

impl Col {
    fn name(self) -> &'static str {
        match self {
            Col::Native => "native",
            Col::Jit => "xlat jit",
            Col::Kvm => "xlat kvm",
            Col::Qemu => "qemu tcg",
        }
    }
}

struct Image {
    name: &'static str,
    elf: PathBuf,
    pvh: PathBuf,
    native: PathBuf,
}

fn build(ctx: &Ctx, scale: u32) -> Result<Vec<Image>, String> {
    let dir = ctx.dir.join("x86sys");
    let script = ctx.root.join("benches/payload/build.sh");
    let mut v = Vec::new();
    for (name, which) in [("empty", 0), ("int", 1), ("mem", 2), ("fp", 4)] {
        let s = if which == 0 { 1 } else { scale };
        let o = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .arg(s.to_string())
            .arg(which.to_string())
            .arg("cycles")
            .output()
            .map_err(|e| format!("bash {}: {e}", script.display()))?;
        if !o.status.success() {
            return Err(format!(
                "building the payload: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        let base = dir.join(format!("payload-s{s}-w{which}-c"));
        v.push(Image {
            name,
            elf: base.with_extension("elf"),
            pvh: dir.join(format!("payload-s{s}-w{which}-c-pvh.elf")),
            native: dir.join(format!("native-s{s}-w{which}-c")),
        });
    }
    Ok(v)
}

fn command(ctx: &Ctx, col: Col, img: &Image) -> Command {
    match col {
        Col::Native => Command::new(&img.native),
        Col::Jit | Col::Kvm => {
            let mut c = Command::new(&ctx.xlat);
            c.args([
                "system",
                "--arch",
                "x86_64",
                "--machine",
                "microvm",
                "--accel",
            ])
            .arg(if col == Col::Jit { "jit" } else { "kvm" })
            .arg("--kernel")
            .arg(&img.elf);
            if col == Col::Kvm {
                // one stderr line: exits by kind, xlat's own RSS beyond guest RAM
                c.args(["-d", "stats"]);
            }
            c
        }
        Col::Qemu => {
            let mut c = Command::new("qemu-system-x86_64");
            c.args(["-M", "microvm", "-bios", "/usr/share/qemu/qboot.rom"])
                .args(["-accel", "tcg", "-m", "256M", "-nographic", "-no-reboot"])
                .args(["-device", "isa-debug-exit,iobase=0x501,iosize=2", "-kernel"])
                .arg(&img.pvh);
            c
        }
    }
}

/// (exits, own RSS KiB) from a `-d stats` line of `xlat --accel kvm`.
fn kvm_stats(stderr: &str) -> Option<(u64, u64)> {
    let l = stderr.lines().find(|l| l.starts_with("kvm: exits="))?;
    let get = |k: &str| -> Option<u64> {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    Some((get("exits")?, get("own_rss_kib")?))
}

/// (seconds, stdout, stderr) of one run; the exit status must be the engine's success.
fn once(ctx: &Ctx, col: Col, img: &Image) -> Result<(f64, String, String), String> {
    let t = Instant::now();
    let o = command(ctx, col, img)
        .output()
        .map_err(|e| format!("{}: {e}", col.name()))?;
    let secs = t.elapsed().as_secs_f64();
    // qemu's isa-debug-exit: (0 << 1) | 1
    let want = if col == Col::Qemu { 1 } else { 0 };
    if o.status.code() != Some(want) {
        return Err(format!(
            "{} on {}: exit status {:?}: {}",
            col.name(),
            img.name,
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok((
        secs,
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ))
}

/// A run's output without its "cycles NAME: hex" lines, and the cycles they give (summed:
/// one kernel per image).
fn split_cycles(out: &str) -> (String, Option<u64>) {
    let (mut rest, mut cycles) = (String::new(), None);
    for l in out.lines() {
        match l.strip_prefix("cycles ").and_then(|c| c.split_once(": ")) {
            Some((_, hex)) => {
                let c = u64::from_str_radix(hex.trim(), 16).ok();
                cycles = Some(cycles.unwrap_or(0) + c.unwrap_or(0));
            }
            None => {
                rest += l;
                rest.push('\n');
            }
        }
    }
    (rest, cycles)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn has_col(cols: &[Col], c: Col) -> Option<usize> {
    cols.iter().position(|&x| x == c)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Entry point of `xlat-benches x86sys`.
pub fn main(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let (mut runs, mut scale, mut write) = (5usize, 8u32, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--runs needs a number >= 1")?;
            }
            "--scale" => {
                scale = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--scale needs a number >= 1")?;
            }
            "--write" => write = true,
            _ => return Err(format!("x86sys: unknown option '{a}'")),
        }
    }
    let mut cols = vec![Col::Native];
    if ctx.xlat.exists() {
        cols.push(Col::Jit);
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
        {
            Ok(_) => cols.push(Col::Kvm),
            Err(e) => eprintln!("xlat-benches: no kvm column: /dev/kvm: {e}"),
        }
    } else {
        eprintln!(
            "xlat-benches: {} is not built: no xlat columns",
            ctx.xlat.display()
        );
    }
    if have("qemu-system-x86_64") {
        cols.push(Col::Qemu);
    } else {
        eprintln!("xlat-benches: qemu-system-x86_64 missing (scripts/setup.d/43): no qemu column");
    }
    let images = build(ctx, scale)?;
    let mut rows = Vec::new();
    for img in &images {
        eprintln!(
            "xlat-benches: x86sys {} ({runs} runs x {} engines)",
            img.name,
            cols.len()
        );
        let mut times = vec![Vec::new(); cols.len()];
        let mut cycles = vec![Vec::new(); cols.len()];
        let mut want: Option<String> = None;
        let mut stats = None;
        for _ in 0..runs {
            for (k, &c) in cols.iter().enumerate() {
                let (t, out, err) = once(ctx, c, img)?;
                let (out, cyc) = split_cycles(&out);
                if let Some(n) = cyc {
                    cycles[k].push(n as f64);
                }
                if c == Col::Kvm {
                    stats = kvm_stats(&err).or(stats);
                }
                match &want {
                    None => want = Some(out),
                    Some(w) if *w != out => {
                        return Err(format!(
                            "{} on {}: output {out:?} differs from native's {w:?}",
                            c.name(),
                            img.name
                        ));
                    }
                    Some(_) => {}
                }
                times[k].push(t);
            }
        }
        let med: Vec<f64> = times.iter_mut().map(|v| median(v)).collect();
        // The ring-3 kernel alone, timed in the guest: KVM's cycles over native's, each the
        // fastest run's (this host's noise only ever adds cycles: native runs of the int
        // kernel fall into two groups, ~185M and ~250M cycles, whatever runs them).
        let (n, k) = (has_col(&cols, Col::Native), has_col(&cols, Col::Kvm));
        let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let kvm_native = match (n, k) {
            (Some(n), Some(k)) if !cycles[n].is_empty() && !cycles[k].is_empty() => {
                Some(fastest(&cycles[k]) / fastest(&cycles[n]))
            }
            _ => None,
        };
        rows.push((img.name, med, stats, kvm_native));
    }
    let mut t = String::from("| kernel |");
    for c in &cols {
        t += &format!(" {} (s) |", c.name());
    }
    let has = |c: Col| has_col(&cols, c);
    let (jit, kvm, qemu) = (has(Col::Jit), has(Col::Kvm), has(Col::Qemu));
    if jit.is_some() && qemu.is_some() {
        t += " qemu/jit |";
    }
    if jit.is_some() && kvm.is_some() {
        t += " kvm/jit |";
    }
    if kvm.is_some() {
        t += " kvm/native, ring-3 kernel cycles (fastest runs) | kvm exits/run | xlat own RSS (MiB) |";
    }
    t += "\n|---|";
    t += &"---:|".repeat(
        cols.len()
            + usize::from(jit.is_some() && qemu.is_some())
            + usize::from(jit.is_some() && kvm.is_some())
            + 3 * usize::from(kvm.is_some()),
    );
    t += "\n";
    for (name, med, stats, kvm_native) in &rows {
        t += &format!("| {name} |");
        for m in med {
            t += &format!(" {m:.3} |");
        }
        if let (Some(j), Some(q)) = (jit, qemu) {
            t += &format!(" {:.2} |", med[q] / med[j]);
        }
        if let (Some(j), Some(k)) = (jit, kvm) {
            t += &format!(" {:.2} |", med[k] / med[j]);
        }
        if kvm.is_some() {
            match kvm_native {
                Some(r) => t += &format!(" {r:.3} |"),
                None => t += " - |",
            }
            match stats {
                Some((exits, own)) => t += &format!(" {exits} | {:.1} |", *own as f64 / 1024.0),
                None => t += " ? | ? |",
            }
        }
        t += "\n";
    }
    println!("{t}");
    if write {
        let path = ctx.root.join("benches").join("RESULTS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let sec = section(&t, runs, scale);
        std::fs::write(&path, SECTION.replace(&old, &sec))
            .map_err(|e| format!("write {}: {e}", path.display()))?;
        eprintln!(
            "xlat-benches: wrote the x86sys section of {}",
            path.display()
        );
    }
    Ok(())
}

fn section(table: &str, runs: usize, scale: u32) -> String {
    let mut s = format!("{BEGIN}\n## x86-64 system mode: the bare-metal payload\n\n");
    s += "`cargo run -p xlat-benches --release -- x86sys --write`. The payload (benches/payload) \
enters ring 3 from its own ring-0 stub and runs one kernel per image; each engine runs the \
whole machine (start-up included: see the `empty` row). xlat jit and kvm use \
`xlat system --arch x86_64 --machine microvm`, qemu uses `-M microvm -bios qboot.rom -accel tcg` \
on the payload's PVH twin. Median wall seconds; ratios > 1 mean the JIT is faster. \
The kvm column here is software-assisted KVM (PVM: ring 3 native, ring 0 emulated). \
kvm/native compares each ring-3 kernel alone, timed in the guest with rdtsc (the guest's TSC \
runs at the host's rate), the fastest of the runs on each side: 1.00 is native speed.\n\n";
    s += &format!(
        "- {} runs, scale {scale}; host: {}, {} cores; {}\n",
        runs,
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        sh("nproc"),
        sh("qemu-system-x86_64 --version | head -n1")
    );
    s += &format!(
        "- load average at the end: {}\n\n",
        sh("cut -d' ' -f1-3 /proc/loadavg")
    );
    s += table;
    s += &format!("{END}\n");
    s
}
