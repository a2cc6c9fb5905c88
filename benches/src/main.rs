//! `cargo run -p xlat-benches --release [-- --runs N] [--engines xlat,qemu,native] [--write]`
//!
//! Builds the kernels in `benches/kernels/` for riscv64 and the host, then runs each workload
//! under xlat, qemu-riscv64 and natively, interleaved (A B C A B C ...), and prints the median
//! wall time per engine with the ratios qemu/xlat and native/xlat (>= 1.0: xlat is faster).
//! Every run's stdout (the kernel's checksum) must equal the first engine's, or the bench stops.
//! `--write` also writes benches/RESULTS.md. `--host-insns` also counts host instructions per
//! guest instruction under qemu's own emulators (slow; see `hostinsns`).
//!
//! `cargo run -p xlat-benches --release -- system [--runs N] [--write]`: whole-machine
//! workloads, xlat system vs qemu-system-riscv64 (see `system`).
//!
//! `cargo run -p xlat-benches --release -- x86user [--runs N] [--write] [--host-insns]`: the compute kernels
//! as x86-64 binaries under xlat, qemu-x86_64 and natively (see `x86user`).
//! `cargo run -p xlat-benches --release -- x86sys [--runs N] [--scale S] [--write]`: the x86-64
//! bare-metal payload, native vs xlat jit vs xlat kvm vs qemu-system-x86_64 TCG (see `x86sys`).

mod hostinsns;
mod measure;
mod report;
mod system;
mod workloads;
mod x86sys;
mod x86user;

use std::path::PathBuf;
use std::process::ExitCode;

use workloads::Engine;

/// Where things are.
#[derive(Debug)]
pub struct Ctx {
    /// The workspace root.
    pub root: PathBuf,
    /// Build products and inputs (target/benches).
    pub dir: PathBuf,
    /// The guest-image cache scripts/setup.sh fills.
    pub cache: PathBuf,
    /// The xlat binary.
    pub xlat: PathBuf,
}

#[derive(Debug)]
struct Opts {
    runs: usize,
    engines: Vec<Engine>,
    write: bool,
    host_insns: bool,
    only: Vec<String>,
}

fn parse_opts(mut it: impl Iterator<Item = String>) -> Result<Opts, String> {
    let mut o = Opts {
        runs: 5,
        engines: vec![Engine::Xlat, Engine::Qemu, Engine::Native],
        write: false,
        host_insns: false,
        only: vec![],
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                let v = it.next().ok_or("--runs needs a number")?;
                o.runs = v
                    .parse()
                    .map_err(|_| format!("--runs: '{v}' is not a number"))?;
                if o.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--engines" => {
                let v = it
                    .next()
                    .ok_or("--engines needs a list, e.g. xlat,qemu,native")?;
                o.engines = v
                    .split(',')
                    .map(|e| match e {
                        "xlat" => Ok(Engine::Xlat),
                        "qemu" => Ok(Engine::Qemu),
                        "native" => Ok(Engine::Native),
                        _ => Err(format!("unknown engine '{e}' (xlat, qemu, native)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--write" => o.write = true,
            "--host-insns" => o.host_insns = true,
            "-h" | "--help" => {
                println!(
                    "usage: xlat-benches [--runs N] [--engines xlat,qemu,native] [--write] [--host-insns] [WORKLOAD...]\n       xlat-benches system [--runs N] [--engines xlat,qemu] [--write]"
                );
                std::process::exit(0);
            }
            w if !w.starts_with('-') => o.only.push(w.to_string()),
            _ => return Err(format!("unknown option '{a}'")),
        }
    }
    Ok(o)
}

/// The part of benches/RESULTS.md the user-mode `--write` owns.
const USER_SECTION: report::Section = report::Section {
    begin: "<!-- user-bench begin (written by `xlat-benches --write`) -->",
    end: "<!-- user-bench end -->",
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xlat-benches: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let system = argv.first().is_some_and(|a| a == "system");
    let x86 = argv.first().is_some_and(|a| a == "x86sys");
    let x86user = argv.first().is_some_and(|a| a == "x86user");
    let opts = parse_opts(argv.iter().filter(|_| !system && !x86 && !x86user).cloned())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let dir = target.join("benches");
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let cache = std::env::var("XLAT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(home).join(".cache"))
                .join("xlat")
        });
    let xlat = std::env::var("XLAT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target.join("release").join("xlat"));
    let mut engines = opts.engines.clone();
    if engines.contains(&Engine::Xlat) && !xlat.exists() {
        eprintln!(
            "xlat-benches: {} is not built (cargo build --release --bin xlat); xlat column skipped",
            xlat.display()
        );
        engines.retain(|&e| e != Engine::Xlat);
    }
    let ctx = Ctx {
        root,
        dir,
        cache,
        xlat,
    };
    if system {
        return system::main(&ctx, &argv[1..]);
    }
    if x86 {
        return x86sys::main(&ctx, &argv[1..]);
    }
    if x86user {
        return x86user::main(&ctx, &argv[1..]);
    }
    eprintln!(
        "xlat-benches: building kernels and inputs in {}",
        ctx.dir.display()
    );
    let mut loads = workloads::prepare(&ctx)?;
    if !opts.only.is_empty() {
        loads.retain(|w| opts.only.iter().any(|o| o == w.name));
    }
    let mut results = Vec::new();
    for w in &loads {
        eprintln!(
            "xlat-benches: {} ({} runs x {} engines)",
            w.name,
            opts.runs,
            engines.len()
        );
        let r = measure::measure(&ctx, w, &engines, opts.runs, opts.host_insns)?;
        results.push(r);
    }
    let table = report::table(&results, &engines);
    println!("{table}");
    if opts.write {
        let path = ctx.root.join("benches").join("RESULTS.md");
        let md = report::results_md(&ctx, &loads, &table, opts.runs);
        // Replace only the user-mode section: the other sections (system, x86sys, x86user,
        // the hand-written host-insns, Unicorn and AArch64 notes) stay as they are.
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let md = format!("{}\n{md}{}\n", USER_SECTION.begin, USER_SECTION.end);
        let md = USER_SECTION.replace(&old, &md);
        std::fs::write(&path, md).map_err(|e| format!("write {}: {e}", path.display()))?;
        eprintln!("xlat-benches: wrote {}", path.display());
    }
    Ok(())
}
