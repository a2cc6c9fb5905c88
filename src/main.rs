//! The `xlat` command line: `xlat run [OPTIONS] PROGRAM [ARGS…]` runs a foreign Linux program,
//! like `qemu-riscv64 PROGRAM`. Every user mistake ends in one line on stderr and a non-zero exit.

use std::process::ExitCode;

use xlat::cli::{self, AccelChoice, Command, RunArgs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Command::Help) => {
            println!(
                "xlat {}: a dynamic binary translator",
                env!("CARGO_PKG_VERSION")
            );
            println!("{}", cli::USAGE);
            println!(
                "  --arch A         guest architecture ({}); default: from the ELF header",
                xlat::ARCHES.join(", ")
            );
            println!(
                "  --accel jit|interp   Cranelift JIT with an interpreter tier (default), or the interpreter only"
            );
            println!("  -d FLAGS         comma-separated traces to stderr:");
            for (n, h) in cli::TRACE_FLAGS {
                println!("                     {n:<8} {h}");
            }
            println!(
                "  -L DIR           sysroot for dynamically linked programs: the interpreter and"
            );
            println!("                   absolute guest paths are looked up there first (default:");
            println!("                   $XLAT_LD_PREFIX)");
            println!("  --hot-threshold N    executions of a block before it is compiled");
            println!("{}", xlat::system::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("xlat {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::System(s)) => match xlat::system::run(&s) {
            Ok(status) => ExitCode::from(status as u8),
            Err(e) => fail(&e),
        },
        Ok(Command::Run(r)) => match run(r) {
            Ok(status) => ExitCode::from(status),
            Err(e) => fail(&e),
        },
        Err(e) => fail(&e),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("xlat: {msg}");
    ExitCode::from(1)
}

fn run(r: RunArgs) -> Result<u8, String> {
    let root = sysroot(&r)?;
    // As with qemu, PROGRAM is a host path even with -L; a mistake points at the sysroot's copy.
    let with_hint = |e: String| match root
        .as_ref()
        .filter(|_| r.program.is_absolute())
        .map(|d| d.join(r.program.strip_prefix("/").unwrap_or(&r.program)))
        .filter(|p| p.exists())
    {
        Some(p) => format!(
            "{e} (PROGRAM is a host path even with -L: did you mean {}?)",
            p.display()
        ),
        None => e,
    };
    let machine = xlat::elfcheck::check(&r.program).map_err(|e| with_hint(e.to_string()))?;
    let arch = match &r.arch {
        Some(a) => {
            if xlat::frontend_for(a).is_none() {
                return Err(format!(
                    "unknown architecture '{a}' (supported: {})",
                    xlat::ARCHES.join(", ")
                ));
            }
            if *a != machine {
                return Err(with_hint(format!(
                    "'{}' is a {machine} program, not {a}",
                    r.program.display()
                )));
            }
            a.clone()
        }
        None => machine,
    };
    let Some(frontend) = xlat::frontend_for(&arch) else {
        return Err(with_hint(format!(
            "'{}' is a {arch} program; supported guest architectures: {}",
            r.program.display(),
            xlat::ARCHES.join(", ")
        )));
    };
    let defaults = xlat_backend::EngineConfig::default();
    let cfg = xlat_backend::EngineConfig {
        accel: match r.accel {
            AccelChoice::Jit => xlat_backend::Accel::Jit,
            AccelChoice::Interp => xlat_backend::Accel::Interp,
        },
        hot_threshold: r.hot_threshold.unwrap_or(defaults.hot_threshold),
        trace: xlat_backend::Trace {
            in_asm: r.trace.in_asm,
            ir: r.trace.ir,
            out_asm: r.trace.out_asm,
            exec: r.trace.exec,
        },
        // `-d stats` also counts the guest instructions executed (a memory add per unit run).
        count_insns: r.trace.stats,
        ..defaults
    };
    let mut argv = vec![r.program.display().to_string()];
    argv.extend(r.args.iter().cloned());
    let envp: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    #[allow(
        clippy::needless_update,
        reason = "UserOptions grows new switches with defaults"
    )]
    let opts = xlat_linux_user::UserOptions {
        strace: r.trace.strace,
        unimp: r.trace.unimp,
        stats: r.trace.stats,
        sysroot: root,
        ..Default::default()
    };
    let status = xlat_linux_user::run_program(frontend, cfg, &r.program, argv, envp, opts)
        .map_err(|e| e.to_string())?;
    Ok(status as u8)
}

/// The sysroot: `-L DIR`, else `$XLAT_LD_PREFIX` (qemu's `QEMU_LD_PREFIX`); it must be a
/// directory.
fn sysroot(r: &RunArgs) -> Result<Option<std::path::PathBuf>, String> {
    let (dir, from) = match (&r.sysroot, std::env::var_os("XLAT_LD_PREFIX")) {
        (Some(d), _) => (d.clone(), "-L"),
        (None, Some(d)) if !d.is_empty() => (d.into(), "XLAT_LD_PREFIX"),
        _ => return Ok(None),
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(Some(dir)),
        Ok(_) => Err(format!("{from} {}: not a directory", dir.display())),
        Err(e) => Err(format!("{from} {}: {e}", dir.display())),
    }
}
