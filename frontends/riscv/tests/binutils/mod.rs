//! What the binutils cross-checks (decode_binutils.rs, rvc_binutils.rs) share: finding the
//! riscv64 binutils, running them, a scratch directory, and reading `objdump -d` listings.

use std::path::PathBuf;
use std::process::Command;

/// `riscv64-linux-gnu-NAME` when it is installed and runs.
pub fn tool(name: &str) -> Option<String> {
    let t = format!("riscv64-linux-gnu-{name}");
    Command::new(&t)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| t)
}

/// Runs `cmd args`, asserting it succeeds; its stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).args(args).output().expect("spawn");
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch directory of this process (`xlat-TAG-PID` in the temp directory), removed when
/// dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xlat-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// The path of file `f` in it, as a tool argument.
    pub fn path(&self, f: &str) -> String {
        self.0.join(f).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One instruction line of an `objdump -d` listing.
pub struct Line<'a> {
    pub addr: u64,
    /// The instruction's bytes as objdump shows them: one little-endian parcel or word.
    pub code: u32,
    /// The mnemonic field (with objdump's `.aq`/`.rl` suffixes, `.2byte`, `.insn`, ...).
    pub mnemonic: &'a str,
    /// The operand field, empty when there is none.
    pub operands: &'a str,
}

/// The instruction lines of an `objdump -d` listing, in order.
pub fn instructions(listing: &str) -> impl Iterator<Item = Line<'_>> {
    listing.lines().filter_map(|line| {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 {
            return None;
        }
        let addr = u64::from_str_radix(f[0].trim().strip_suffix(':')?, 16).ok()?;
        let code = u32::from_str_radix(f[1].trim(), 16).ok()?;
        Some(Line {
            addr,
            code,
            mnemonic: f[2].trim(),
            operands: f.get(3).map_or("", |x| x.trim()),
        })
    })
}
