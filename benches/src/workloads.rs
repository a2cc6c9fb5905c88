//! The workloads: what to build, how to run each one on each engine, and the inputs they need.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Ctx;

/// Who runs a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `xlat run PROGRAM`.
    Xlat,
    /// `qemu-riscv64 PROGRAM`.
    Qemu,
    /// The same work built for (or available on) the host.
    Native,
}

impl Engine {
    /// The column label.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Xlat => "xlat",
            Engine::Qemu => "qemu",
            Engine::Native => "native",
        }
    }
}

/// One benchmark: a riscv64 program and its host equivalent, with arguments.
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    pub what: &'static str,
    /// The riscv64 program.
    pub guest: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The host command line doing the same work (program first).
    pub native: Vec<String>,
    /// The riscv64 sysroot a dynamically linked guest needs (`-L DIR` for xlat and qemu).
    pub sysroot: Option<PathBuf>,
    /// The reference emulator: `qemu-riscv64`, or `qemu-aarch64` for the `-a64` rows.
    pub qemu: &'static str,
}

impl Workload {
    /// The command that runs this workload on `engine`, with `xlat_flags` for xlat.
    pub fn command(&self, ctx: &Ctx, engine: Engine, xlat_flags: &[&str]) -> Command {
        self.build(ctx, engine, xlat_flags, &[])
    }

    /// [`Workload::command`] with `size` replacing the leading arguments (a kernel's size).
    pub fn command_with_args(&self, ctx: &Ctx, engine: Engine, size: &[&str]) -> Command {
        self.build(ctx, engine, &[], size)
    }

    fn build(&self, ctx: &Ctx, engine: Engine, xlat_flags: &[&str], size: &[&str]) -> Command {
        let (program, args) = match engine {
            Engine::Xlat | Engine::Qemu => (None, &self.args[..]),
            Engine::Native => match self.native.split_first() {
                Some((p, a)) => (Some(p), a),
                None => (None, &[][..]),
            },
        };
        let n = size.len().min(args.len());
        let args = size
            .iter()
            .copied()
            .chain(args[n..].iter().map(String::as_str));
        let mut c = match (engine, program) {
            (Engine::Xlat, _) => {
                let mut c = Command::new(&ctx.xlat);
                c.arg("run").args(xlat_flags);
                if let Some(l) = &self.sysroot {
                    c.arg("-L").arg(l);
                }
                c.arg(&self.guest);
                c
            }
            (Engine::Qemu, _) => {
                let mut c = Command::new(self.qemu);
                if let Some(l) = &self.sysroot {
                    c.arg("-L").arg(l);
                }
                c.arg(&self.guest);
                c
            }
            (Engine::Native, p) => Command::new(p.map_or("true", String::as_str)),
        };
        c.args(args).current_dir(&ctx.dir);
        c
    }
}

const KERNELS: [(&str, &str, &[&str]); 5] = [
    (
        "intmark",
        "CoreMark-like integer kernel: lists, matrix, state machine, CRC",
        &["15000"],
    ),
    (
        "memory",
        "memory-bound: 16 MiB streams + 64 MiB random pointer chase",
        &["4", "4000000"],
    ),
    (
        "fpmark",
        "double precision: n-body (sqrt, div) + 300x300 matmul",
        &["10000", "300"],
    ),
    (
        "start-hello",
        "process start: a static hello world, loaded, run and exited once",
        &[],
    ),
    (
        "fork-exec-200",
        "200 x fork + exec of a static program + wait (qemu: exec through qemu-riscv64, as binfmt_misc would)",
        &["200"],
    ),
];

/// The compute kernels that also run as AArch64 guests, and their row names.
const A64_KERNELS: [(&str, &str); 3] = [
    ("intmark", "intmark-a64"),
    ("memory", "memory-a64"),
    ("fpmark", "fpmark-a64"),
];

/// Compiles the kernels for riscv64 (static), aarch64 (the compute ones) and the host, and writes the 64 MiB hash input.
pub fn prepare(ctx: &Ctx) -> Result<Vec<Workload>, String> {
    let src = ctx.root.join("benches").join("kernels");
    let mut out = Vec::new();
    for (name, what, args) in KERNELS {
        let c = src.join(format!("{name}.c"));
        let guest = ctx.dir.join(format!("{name}.riscv64"));
        let native = ctx.dir.join(format!("{name}.x86_64"));
        // -ffp-contract=off: riscv64 gcc fuses a*b+c into fmadd by default, x86-64 -O2 does not,
        // and the checksums must agree across engines.
        let flags = ["-O2", "-ffp-contract=off", "-o"];
        compile("riscv64-linux-gnu-gcc", &["-static"], &flags, &guest, &c)?;
        compile("gcc", &[], &flags, &native, &c)?;
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let native: Vec<String> = std::iter::once(native.display().to_string())
            .chain(args.iter().cloned())
            .collect();
        out.push(Workload {
            name,
            what,
            guest,
            args: args.clone(),
            native: native.clone(),
            sysroot: None,
            qemu: "qemu-riscv64",
        });
        // The compute kernels again as AArch64 guests, against qemu-aarch64.
        if let Some(a64) = A64_KERNELS.iter().find(|(n, _)| *n == name) {
            let guest = ctx.dir.join(format!("{name}.aarch64"));
            if compile("aarch64-linux-gnu-gcc", &["-static"], &flags, &guest, &c).is_ok() {
                out.push(Workload {
                    name: a64.1,
                    what,
                    guest,
                    args,
                    native,
                    sysroot: None,
                    qemu: "qemu-aarch64",
                });
            } else {
                eprintln!(
                    "xlat-benches: {} skipped: aarch64-linux-gnu-gcc failed",
                    a64.1
                );
            }
        }
    }
    let input = ctx.dir.join("hash-input-64MiB.bin");
    if std::fs::metadata(&input).map(|m| m.len()).ok() != Some(64 << 20) {
        std::fs::write(&input, pseudo_random(64 << 20))
            .map_err(|e| format!("write {}: {e}", input.display()))?;
    }
    let busybox = ctx.cache.join("riscv64").join("busybox");
    if !busybox.exists() {
        return Err(format!(
            "{} is missing: run scripts/setup.sh",
            busybox.display()
        ));
    }
    out.push(Workload {
        name: "sha256sum",
        what: "Debian busybox-static sha256sum of a 64 MiB file (native: host sha256sum)",
        guest: busybox,
        args: vec!["sha256sum".into(), "hash-input-64MiB.bin".into()],
        native: vec!["sha256sum".into(), "hash-input-64MiB.bin".into()],
        sysroot: None,
        qemu: "qemu-riscv64",
    });
    out.extend(dynamic_startup(ctx));
    Ok(out)
}

/// Dynamically linked start-up from the riscv64 sysroot (scripts/sysroot.sh): ld.so, the
/// shared libraries and the program's own initialisation, translated once and mostly run a few
/// times, so it measures translation and tier-up cost rather than code quality.
fn dynamic_startup(ctx: &Ctx) -> Vec<Workload> {
    let sysroot = ctx.cache.join("riscv64").join("sysroot");
    let progs: [(&'static str, &'static str, &str, &[&str]); 2] = [
        (
            "start-bash",
            "dynamic start-up: Debian's bash -c true from the sysroot (-L; native: host bash)",
            "bin/bash",
            &["-c", "true"],
        ),
        (
            "start-python",
            "dynamic start-up: Debian's python3 -c pass from the sysroot (-L; native: host python3)",
            "usr/bin/python3",
            &["-c", "pass"],
        ),
    ];
    let mut out = Vec::new();
    for (name, what, prog, args) in progs {
        let guest = sysroot.join(prog);
        if !guest.exists() {
            eprintln!(
                "xlat-benches: {name} skipped: {} is missing (scripts/sysroot.sh)",
                guest.display()
            );
            continue;
        }
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let host = Path::new(prog)
            .file_name()
            .map_or(prog.into(), |f| f.to_string_lossy());
        out.push(Workload {
            name,
            what,
            guest,
            native: std::iter::once(host.to_string())
                .chain(args.iter().cloned())
                .collect(),
            args,
            sysroot: Some(sysroot.clone()),
            qemu: "qemu-riscv64",
        });
    }
    out
}

fn compile(cc: &str, pre: &[&str], flags: &[&str], out: &Path, src: &Path) -> Result<(), String> {
    let fresh = |o: &Path| -> Option<bool> {
        Some(
            std::fs::metadata(o).ok()?.modified().ok()?
                >= std::fs::metadata(src).ok()?.modified().ok()?,
        )
    };
    if fresh(out) == Some(true) {
        return Ok(());
    }
    let o = Command::new(cc)
        .args(pre)
        .args(flags)
        .arg(out)
        .arg(src)
        .arg("-lm")
        .output()
        .map_err(|e| format!("cannot run {cc}: {e} (run scripts/setup.sh)"))?;
    if !o.status.success() {
        return Err(format!(
            "{cc} {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// Deterministic bytes (xorshift64), so every machine hashes the same file.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x = 0x243f_6a88_85a3_08d3u64;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}
