//! Shared scaffolding of the Linux user-mode suites (tests/x86_user.rs, tests/aarch64_user.rs,
//! tests/sysroot.rs, tests/aarch64_sysroot.rs): running a guest program under its reference
//! (natively on this host, or under a qemu-user binary) and under `xlat run` with each
//! accelerator, the shared text input, compiling a guest C program, and finding the Debian
//! sysroot `scripts/sysroot.sh` builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cache_dir, have, run, scratch_dir, xlat_bin};

/// What gives a guest program's expected output.
#[derive(Clone, Copy, Debug)]
pub enum Reference {
    /// The program run directly on this host (x86-64 guests on an x86-64 host).
    Native,
    /// The program run under this qemu-user binary, e.g. `qemu-aarch64`.
    Qemu(&'static str),
}

/// Runs `prog args` in `dir` under `reference` and under `xlat run` (jit and interpreter);
/// asserts the same stdout and exit status.
pub fn assert_same_as(reference: Reference, prog: &Path, args: &[&str], dir: &Path) {
    let want = match reference {
        Reference::Native => run(Command::new(prog).args(args).current_dir(dir)),
        Reference::Qemu(qemu) => run(Command::new(qemu).arg(prog).args(args).current_dir(dir)),
    };
    for accel in ["jit", "interp"] {
        let got = run(Command::new(xlat_bin())
            .args(["run", "--accel", accel])
            .arg(prog)
            .args(args)
            .current_dir(dir));
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{} {args:?} ({accel}): stdout differs; stderr: {}",
            prog.display(),
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{args:?} ({accel}): status"
        );
    }
}

/// The scratch directory `name`, holding `in.txt`: 400 lines of numbers and repeated words for
/// the text tools (sort, uniq, cut, sed, grep, ...).
pub fn input_dir(name: &str) -> PathBuf {
    // One level down, so `..` (which `ls -la` lists with its link count and time) is this
    // suite's own directory, not the scratch root other tests create directories in.
    let d = scratch_dir(name).join("work");
    std::fs::create_dir_all(&d).expect("create input dir");
    let text: String = (0..400)
        .map(|i| format!("line {:04} {}\n", (i * 7919) % 1000, "abc".repeat(i % 5)))
        .collect();
    std::fs::write(d.join("in.txt"), text).expect("input");
    d
}

/// Busybox applet invocations on [`input_dir`]'s `in.txt` that every user-mode suite runs;
/// each adds its own.
pub const BUSYBOX_APPLETS: &[&[&str]] = &[
    &["echo", "hello", "world"],
    &["seq", "1", "7"],
    &["sort", "in.txt"],
    &["sort", "-n", "-r", "in.txt"],
    &["md5sum", "in.txt"],
    &["sha256sum", "in.txt"],
    &["wc", "in.txt"],
    &["uniq", "-c", "in.txt"],
    &["cut", "-c", "1-9", "in.txt"],
    &["sed", "s/line/LINE/;s/abc/x/g", "in.txt"],
    &["grep", "-c", "abcabc", "in.txt"],
    &[
        "sh",
        "-c",
        "for i in 1 2 3; do echo $((i * i)); done; x=abc; echo ${#x}",
    ],
    &["expr", "12345", "*", "6789"],
    &["factor", "1234567890"],
    &["od", "-A", "x", "-t", "x1z", "-N", "64", "in.txt"],
    &["sh", "-c", "gzip -c in.txt | gzip -d | md5sum"],
    &["basename", "/a/b/c.txt", ".txt"],
];

/// Compiles `src` into `exe` (`CC FLAGS -o EXE SRC LIBS`); whether the compiler succeeded.
///
/// The compiler writes a file of its own that is then renamed to `exe`, so a concurrent run
/// of the same test (another nextest process in the same target directory) never executes a
/// half-written program.
pub fn compile(cc: &str, flags: &[&str], src: &Path, exe: &Path, libs: &[&str]) -> bool {
    let mut tmp = exe.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let ok = Command::new(cc)
        .args(flags)
        .arg("-o")
        .arg(&tmp)
        .arg(src)
        .args(libs)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"))
        .success();
    ok && std::fs::rename(&tmp, exe).is_ok()
}

/// The Debian sysroot `scripts/sysroot.sh ARCH` builds under the cache (`arch`: `riscv64` or
/// `aarch64`), recognised by its dynamic loader `loader` (relative to the sysroot), together
/// with `qemu`, the reference that runs it; `None`, after one line on stderr saying why, when
/// either is missing and `test` cannot run here.
pub fn sysroot(test: &str, arch: &str, loader: &str, qemu: &str) -> Option<PathBuf> {
    let root = cache_dir().join(arch).join("sysroot");
    if !root.join(loader).exists() {
        eprintln!(
            "{test}: skipped: no {arch} sysroot at {} (run scripts/sysroot.sh {arch})",
            root.display()
        );
        return None;
    }
    if !have(qemu) {
        eprintln!("{test}: skipped: {qemu} is not installed (run scripts/setup.sh)");
        return None;
    }
    Some(root)
}
