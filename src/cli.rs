//! Command-line parsing for the `xlat` binary. Hand-written rather than derived so every mistake
//! gets one clear line (QEMU's habit), and so everything after PROGRAM belongs to the guest.

use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `xlat run …`
    Run(RunArgs),
    /// `xlat system …` (whole-machine emulation, see [`crate::system`]); boxed, as it is
    /// many times the size of the others.
    System(Box<crate::system::SystemArgs>),
    /// `xlat --help`
    Help,
    /// `xlat --version`
    Version,
}

/// Execution engine chosen with `--accel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccelChoice {
    /// Cranelift JIT with an interpreter tier for cold code (the default).
    Jit,
    /// The IR interpreter only.
    Interp,
}

/// `-d` trace flags.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TraceFlags {
    /// Guest disassembly of each translated unit.
    pub in_asm: bool,
    /// IR of each translated unit.
    pub ir: bool,
    /// Host disassembly of each compiled unit.
    pub out_asm: bool,
    /// Each unit entered from the exec loop.
    pub exec: bool,
    /// Each system call with its arguments and result.
    pub strace: bool,
    /// Unimplemented system calls and instructions.
    pub unimp: bool,
    /// Translation statistics at exit.
    pub stats: bool,
}

/// The trace flags `-d` accepts, with their help text.
pub const TRACE_FLAGS: &[(&str, &str)] = &[
    ("in_asm", "guest disassembly of each translated block"),
    ("ir", "IR of each translated block"),
    ("out_asm", "host disassembly of each compiled block"),
    ("exec", "every block entered from the exec loop"),
    ("strace", "system calls with arguments and results"),
    ("unimp", "unimplemented system calls and instructions"),
    ("stats", "translation statistics at exit"),
];

/// Arguments of `xlat run`.
#[derive(Debug, PartialEq, Eq)]
pub struct RunArgs {
    /// `--arch`, when given.
    pub arch: Option<String>,
    /// `--accel`.
    pub accel: AccelChoice,
    /// `-d`.
    pub trace: TraceFlags,
    /// `-L`: sysroot for the dynamic loader and guest library paths.
    pub sysroot: Option<PathBuf>,
    /// `--hot-threshold`: executions before a block is compiled.
    pub hot_threshold: Option<u32>,
    /// The guest program.
    pub program: PathBuf,
    /// Its arguments (argv[1..]).
    pub args: Vec<String>,
}

/// One-line usage text.
pub const USAGE: &str = "usage: xlat run [--arch riscv64] [--accel jit|interp] [-d FLAGS] [-L SYSROOT] PROGRAM [ARGS...]";

/// Parses `argv[1..]`.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        None => Err("no command given (see 'xlat --help')".to_string()),
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("-V" | "--version") => Ok(Command::Version),
        Some("run") => parse_run(it.as_slice()).map(Command::Run),
        Some("system") => crate::system::parse(it.as_slice()).map(|s| Command::System(Box::new(s))),
        Some(other) => Err(format!(
            "unknown command '{other}' (try 'xlat run PROGRAM')"
        )),
    }
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut arch = None;
    let mut accel = AccelChoice::Jit;
    let mut trace = TraceFlags::default();
    let mut sysroot = None;
    let mut hot_threshold = None;
    let mut i = 0;
    // `--opt=value` and `--opt value` both work; the first non-option is the program.
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("option {name} needs {what}"))
        };
        match name {
            "--arch" | "-cpu-arch" => arch = Some(value("an architecture")?),
            "--accel" => {
                accel = match value("jit or interp")?.as_str() {
                    "jit" | "tcg" => AccelChoice::Jit,
                    "interp" => AccelChoice::Interp,
                    "kvm" => return Err("--accel kvm is for `xlat system` with an x86-64 guest; `xlat run` uses jit or interp".into()),
                    v => return Err(format!("unknown accelerator '{v}' (expected jit or interp)")),
                }
            }
            "-d" | "--trace" => trace = parse_trace(&value("a list of trace flags")?, trace)?,
            "-L" | "--sysroot" => sysroot = Some(PathBuf::from(value("a directory")?)),
            "--hot-threshold" => {
                let v = value("a number")?;
                hot_threshold = Some(v.parse().map_err(|_| format!("--hot-threshold: '{v}' is not a number"))?);
            }
            _ => return Err(format!("unknown option '{a}' (see 'xlat --help')")),
        }
        i += 1;
    }
    let program = args
        .get(i)
        .ok_or_else(|| "no program given (see 'xlat --help')".to_string())?;
    Ok(RunArgs {
        arch,
        accel,
        trace,
        sysroot,
        hot_threshold,
        program: PathBuf::from(program),
        args: args[i + 1..].to_vec(),
    })
}

/// Parses a `-d` list such as `in_asm,exec`.
pub fn parse_trace(list: &str, mut t: TraceFlags) -> Result<TraceFlags, String> {
    for f in list.split(',').filter(|f| !f.is_empty()) {
        match f {
            "in_asm" => t.in_asm = true,
            "ir" | "op" => t.ir = true,
            "out_asm" => t.out_asm = true,
            "exec" => t.exec = true,
            "strace" => t.strace = true,
            "unimp" => t.unimp = true,
            "stats" => t.stats = true,
            "help" => {
                let names: Vec<&str> = TRACE_FLAGS.iter().map(|(n, _)| *n).collect();
                return Err(format!("trace flags: {}", names.join(", ")));
            }
            other => {
                let names: Vec<&str> = TRACE_FLAGS.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown trace flag '{other}' (known: {})",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn program_args_are_left_alone() {
        let Ok(Command::Run(r)) = p("run --accel interp -d in_asm,exec ./prog -d --accel x") else {
            panic!()
        };
        assert_eq!(r.accel, AccelChoice::Interp);
        assert!(r.trace.in_asm && r.trace.exec && !r.trace.ir);
        assert_eq!(r.program, PathBuf::from("./prog"));
        assert_eq!(r.args, ["-d", "--accel", "x"]);
    }

    #[test]
    fn equals_form_and_double_dash() {
        let Ok(Command::Run(r)) = p("run --arch=riscv64 -- -weird-name a") else {
            panic!()
        };
        assert_eq!(r.arch.as_deref(), Some("riscv64"));
        assert_eq!(r.program, PathBuf::from("-weird-name"));
        assert_eq!(r.args, ["a"]);
    }

    #[test]
    fn mistakes_give_one_clear_line() {
        assert!(
            p("run --bogus x")
                .unwrap_err()
                .starts_with("unknown option '--bogus'")
        );
        assert!(
            p("run -d nope x")
                .unwrap_err()
                .starts_with("unknown trace flag 'nope'")
        );
        assert!(p("run --accel").unwrap_err().contains("needs"));
        assert!(p("run").unwrap_err().starts_with("no program given"));
        assert!(p("frobnicate").unwrap_err().starts_with("unknown command"));
        assert!(
            p("run --hot-threshold x p")
                .unwrap_err()
                .contains("not a number")
        );
    }
}
