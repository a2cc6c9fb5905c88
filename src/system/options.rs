//! The option parser of both `xlat system` machines (riscv64 `virt`, x86-64 `microvm`):
//! `--name value`, `--name=value` and QEMU's single-dash spellings, and the options that mean
//! the same on both (kernel, initrd, command line, RAM, CPUs, disks, `-d` traces).

use std::path::PathBuf;
use xlat_machines::riscv64_virt::DriveSpec;

/// What the shared options look like on one machine.
#[derive(Debug)]
pub struct Spec {
    /// The machine's usage text, shown after a missing value or an unknown option.
    pub usage: &'static str,
    /// RAM without `-m`, in bytes.
    pub mem: u64,
    /// Most CPUs `--smp` accepts.
    pub max_smp: u32,
    /// What `--smp` counts, for its error ("harts", "vCPUs").
    pub cpus: &'static str,
    /// The `-d` flags the machine has, in the order its error lists them.
    pub debug: &'static [&'static str],
}

/// The `-d` flags given.
#[derive(Debug, Default, Clone, Copy)]
pub struct Debug {
    /// `int`.
    pub int: bool,
    /// `mmio`.
    pub mmio: bool,
    /// `guest_error` (or `guest_errors`).
    pub guest_error: bool,
    /// `in_asm`.
    pub in_asm: bool,
    /// `exec`.
    pub exec: bool,
    /// `stats`.
    pub stats: bool,
}

/// The options both machines take.
#[derive(Debug)]
pub struct Common {
    /// `--kernel`.
    pub kernel: Option<PathBuf>,
    /// `--initrd`.
    pub initrd: Option<PathBuf>,
    /// `--append`.
    pub append: String,
    /// `-m`, in bytes.
    pub mem: u64,
    /// `--smp`.
    pub smp: u32,
    /// `--drive`, in order.
    pub drives: Vec<DriveSpec>,
    /// `-d`.
    pub debug: Debug,
}

impl Common {
    /// The options when none is given.
    pub fn new(spec: &Spec) -> Common {
        Common {
            kernel: None,
            initrd: None,
            append: String::new(),
            mem: spec.mem,
            smp: 1,
            drives: Vec::new(),
            debug: Debug::default(),
        }
    }
}

/// A size with an optional K, M or G suffix; a bare number is MiB, as in QEMU's `-m`.
pub fn parse_size(s: &str) -> Option<u64> {
    let (n, mul) = match s.chars().last()? {
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'K' | 'k' => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1 << 20),
    };
    n.parse::<u64>().ok()?.checked_mul(mul)
}

/// The value of an option: its `=value` part, or else the next argument.
pub type Value<'a> = dyn FnMut() -> Result<String, String> + 'a;

/// Parses the arguments after `system`: the shared options into [`Common`], every other one
/// through `own(name, value)`, which returns whether the machine has that option. The first
/// mistake is the error, with the usage where the option or its value is missing.
pub fn parse(
    args: &[String],
    spec: &Spec,
    mut own: impl FnMut(&str, &mut Value<'_>) -> Result<bool, String>,
) -> Result<Common, String> {
    let usage = spec.usage;
    let mut c = Common::new(spec);
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
                    .ok_or(format!("{name} needs a value\n{usage}")),
            }
        };
        match name {
            "--kernel" | "-kernel" => c.kernel = Some(value()?.into()),
            "--initrd" | "-initrd" => c.initrd = Some(value()?.into()),
            "--append" | "-append" => c.append = value()?,
            "-m" | "--memory" => {
                let v = value()?;
                c.mem = parse_size(&v).ok_or(format!("-m {v}: not a size"))?;
            }
            "--smp" | "-smp" => {
                let v = value()?;
                // QEMU's `-smp N` or `-smp cpus=N`
                let n = v.strip_prefix("cpus=").unwrap_or(&v);
                c.smp = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=spec.max_smp).contains(n))
                    .ok_or(format!(
                        "--smp {v}: expected a number of {} from 1 to {}",
                        spec.cpus, spec.max_smp
                    ))?;
            }
            "--drive" | "-drive" => c.drives.push(DriveSpec::parse(&value()?)?),
            "-d" => {
                for f in value()?.split(',') {
                    let flag = if f == "guest_errors" {
                        "guest_error"
                    } else {
                        f
                    };
                    let unknown = || format!("-d {f}: unknown ({})", spec.debug.join(", "));
                    if !spec.debug.contains(&flag) {
                        return Err(unknown());
                    }
                    let d = &mut c.debug;
                    match flag {
                        "int" => d.int = true,
                        "mmio" => d.mmio = true,
                        "guest_error" => d.guest_error = true,
                        "in_asm" => d.in_asm = true,
                        "exec" => d.exec = true,
                        "stats" => d.stats = true,
                        _ => return Err(unknown()),
                    }
                }
            }
            "-nographic" | "--nographic" => {}
            _ => {
                if !own(name, &mut value)? {
                    return Err(format!("unknown option '{arg}'\n{usage}"));
                }
            }
        }
    }
    Ok(c)
}
