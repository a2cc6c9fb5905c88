//! # xlat-test-suites
//!
//! Shared plumbing for xlat's test suites: finding the `xlat` binary, the reference tools
//! (`qemu-riscv64`, the riscv64 cross compiler) and the guest-image cache that
//! `scripts/setup.sh` fills. The suites themselves live in `tests/`.

pub mod a64diff;
pub mod diffrun;
pub mod kvm;
pub mod rvgen;
pub mod user;
pub mod x86gen;
pub mod x86linux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `xlat` binary under test: `$XLAT_BIN`, else the workspace's release build, else debug.
/// Panics with a one-line instruction when it has not been built (tests only).
pub fn xlat_bin() -> PathBuf {
    if let Ok(p) = std::env::var("XLAT_BIN") {
        return PathBuf::from(p);
    }
    let root = workspace_root();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("xlat");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "the xlat binary is not built: run `cargo build --release --bin xlat` (scripts/test.sh does)"
    );
}

/// The workspace root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-suites sits in the workspace")
        .to_path_buf()
}

/// The guest-image cache (`$XLAT_CACHE` or `~/.cache/xlat`), as scripts/setup.sh fills it.
pub fn cache_dir() -> PathBuf {
    if let Ok(p) = std::env::var("XLAT_CACHE") {
        return PathBuf::from(p);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache")
        });
    base.join("xlat")
}

/// A scratch directory for build products of the test suites (under the target directory).
pub fn scratch_dir(name: &str) -> PathBuf {
    let root = workspace_root();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let d = target.join("test-suites").join(name);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// The arguments of `xlat system` for the x86-64 microvm under `accel` (`kvm` or `jit`).
pub fn microvm_args(accel: &str) -> [&str; 7] {
    [
        "system",
        "--arch",
        "x86_64",
        "--machine",
        "microvm",
        "--accel",
        accel,
    ]
}

/// Whether a command exists on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command to completion, capturing its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}
