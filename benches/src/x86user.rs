//! `xlat-benches x86user [--runs N] [--write]`: the compute kernels (benches/kernels: intmark,
//! memory, fpmark) built for x86-64 with the host gcc (static, -O2), natively, under
//! `xlat run --accel jit` and under `qemu-x86_64`. Runs are interleaved; the table gives median
//! wall times and the ratio qemu/xlat (> 1: xlat is faster). Every run's output must equal the
//! native run's. `--write` replaces the x86user section of benches/RESULTS.md.
//! `--kernel NAME` runs only that kernel (not with `--write`).
//! `--host-insns` adds xlat's host instructions per guest instruction (steady state, counted
//! under qemu-x86_64's block log at two sizes; see `hostinsns::measure_x86`; a few minutes).

use crate::Ctx;
use std::process::Command;
use std::time::Instant;

const BEGIN: &str = "<!-- x86user begin -->";
const END: &str = "<!-- x86user end -->";

const KERNELS: [(&str, &[&str]); 3] = [
    ("intmark", &["15000"]),
    ("memory", &["4", "4000000"]),
    ("fpmark", &["10000", "300"]),
];

fn run(cmd: &mut Command) -> Result<(f64, String), String> {
    let t = Instant::now();
    let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let s = t.elapsed().as_secs_f64();
    if !o.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok((s, String::from_utf8_lossy(&o.stdout).into_owned()))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the x86-64 user-mode comparison.
pub fn main(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let mut runs = 5usize;
    let mut write = false;
    let mut host_insns = false;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--runs needs a number >= 1")?;
            }
            "--write" => write = true,
            "--host-insns" => host_insns = true,
            "--kernel" => {
                let k = it.next().ok_or("--kernel needs a name")?;
                if !KERNELS.iter().any(|(n, _)| n == k) {
                    return Err(format!("x86user: no kernel '{k}'"));
                }
                only = Some(k.clone());
            }
            _ => return Err(format!("x86user: unknown argument '{a}'")),
        }
    }
    if write && only.is_some() {
        return Err("x86user: --write needs every kernel (no --kernel)".into());
    }
    let dir = ctx.dir.join("x86user");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let qemu = Command::new("qemu-x86_64")
        .arg("--version")
        .output()
        .is_ok();
    let mut rows = Vec::new();
    for (name, kargs) in KERNELS {
        if only.as_deref().is_some_and(|k| k != name) {
            continue;
        }
        let src = ctx.root.join("benches/kernels").join(format!("{name}.c"));
        let exe = dir.join(name);
        let st = Command::new("gcc")
            .args(["-O2", "-static", "-ffp-contract=off", "-o"])
            .arg(&exe)
            .arg(&src)
            .arg("-lm")
            .status()
            .map_err(|e| format!("gcc: {e}"))?;
        if !st.success() {
            return Err(format!("gcc {} failed", src.display()));
        }
        let (mut tn, mut tx, mut tq) = (Vec::new(), Vec::new(), Vec::new());
        let mut want = None;
        for _ in 0..runs {
            let (s, out) = run(Command::new(&exe).args(kargs))?;
            tn.push(s);
            let want = want.get_or_insert(out);
            let (s, out) = run(Command::new(&ctx.xlat)
                .args(["run", "--accel", "jit"])
                .arg(&exe)
                .args(kargs))?;
            if &out != want {
                return Err(format!("{name}: xlat output differs from native"));
            }
            tx.push(s);
            if qemu {
                let (s, out) = run(Command::new("qemu-x86_64").arg(&exe).args(kargs))?;
                if &out != want {
                    return Err(format!("{name}: qemu output differs from native"));
                }
                tq.push(s);
            }
        }
        let (n, x) = (median(&mut tn), median(&mut tx));
        let q = if tq.is_empty() {
            f64::NAN
        } else {
            median(&mut tq)
        };
        eprintln!("{name}: native {n:.3} s, xlat {x:.3} s, qemu {q:.3} s");
        let hpg = if host_insns {
            let (n1, n2) = crate::hostinsns::sizes_x86(name).ok_or("no size parameter")?;
            let size = |n: [&'static str; 2]| -> Vec<&'static str> {
                n.into_iter().filter(|a| !a.is_empty()).collect()
            };
            match crate::hostinsns::measure_x86(ctx, &exe, &size(n1), &size(n2)) {
                Ok(r) => {
                    eprintln!("{name}: host insns per guest insn {r:.2}");
                    Some(r)
                }
                Err(e) => {
                    eprintln!("{name}: no host-insns figure: {e}");
                    None
                }
            }
        } else {
            None
        };
        rows.push((name, x, q, n, hpg));
    }
    let mut t = String::new();
    t.push_str("| workload | xlat median s | qemu-x86_64 median s | native median s | qemu/xlat | native/xlat |");
    t.push_str(if host_insns {
        " host insns/guest insn |\n"
    } else {
        "\n"
    });
    t.push_str("|---|---:|---:|---:|---:|---:|");
    t.push_str(if host_insns { "---:|\n" } else { "\n" });
    for (name, x, q, n, hpg) in &rows {
        t.push_str(&format!(
            "| {name} | {x:.3} | {q:.3} | {n:.3} | {:.2} | {:.2} |",
            q / x,
            n / x
        ));
        match (host_insns, hpg) {
            (false, _) => t.push('\n'),
            (true, Some(r)) => t.push_str(&format!(" {r:.2} |\n")),
            (true, None) => t.push_str(" - |\n"),
        }
    }
    println!("{t}");
    if write {
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        t = format!("- load average at the end: {load}\n\n{t}");
        let path = ctx.root.join("benches/RESULTS.md");
        let old = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let section = format!(
            "{BEGIN}\n## x86-64 user mode: the compute kernels\n\n`cargo run -p xlat-benches --release -- x86user --write` ({runs} interleaved runs, median wall seconds, start-up included). The kernels of benches/kernels built with the host gcc (`-O2 -static -ffp-contract=off -lm`) run natively, under `xlat run --accel jit` and under `qemu-x86_64`; outputs must match native. Ratios > 1 mean xlat is faster.\n\n{t}{END}"
        );
        let new = match (old.find(BEGIN), old.find(END)) {
            (Some(a), Some(b)) if b > a => {
                format!("{}{section}{}", &old[..a], &old[b + END.len()..])
            }
            _ => format!("{}\n{section}\n", old.trim_end()),
        };
        std::fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
