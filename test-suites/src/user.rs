//! Shared scaffolding of the Linux user-mode suites (tests/x86_user.rs, tests/aarch64_user.rs,
//! tests/sysroot.rs, tests/aarch64_sysroot.rs): running a guest program under its reference
//! (natively on this host, or under a qemu-user binary) and under `xlat run` with each
//! accelerator, the shared text input, compiling a guest C program (and building an aarch64
//! one for qemu-aarch64), and finding the Debian sysroot `scripts/sysroot.sh` builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cache_dir, have, run, scratch_dir, workspace_root, xlat_bin};

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

/// qemu-aarch64, the reference of the aarch64 user-mode suites.
pub const QEMU_AARCH64: Reference = Reference::Qemu("qemu-aarch64");

/// Whether qemu-aarch64 and aarch64-linux-gnu-gcc are installed; when not, says so in one line
/// on stderr (the test then passes without running).
pub fn aarch64_tools() -> bool {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return false;
    }
    true
}

/// Builds `test-suites/guest/SRC` with `aarch64-linux-gnu-gcc -static FLAGS ... LIBS` into
/// `dir`, named after the source's file stem; the program. Panics when the compiler fails.
pub fn build_aarch64(src: &str, flags: &[&str], libs: &[&str], dir: &Path) -> PathBuf {
    let src = workspace_root().join("test-suites/guest").join(src);
    let exe = dir.join(src.file_stem().expect("source file name"));
    let flags: Vec<&str> = ["-static"].iter().chain(flags).copied().collect();
    assert!(
        compile("aarch64-linux-gnu-gcc", &flags, &src, &exe, libs),
        "aarch64-linux-gnu-gcc {}",
        src.display()
    );
    exe
}

/// An aarch64 guest program built by [`build_aarch64`] into a scratch directory of its own
/// (named after it): `(program, directory)`, or `None` where [`aarch64_tools`] are missing.
pub fn aarch64_program(src: &str, flags: &[&str], libs: &[&str]) -> Option<(PathBuf, PathBuf)> {
    if !aarch64_tools() {
        return None;
    }
    let stem = Path::new(src).file_stem().expect("source file name");
    let dir = scratch_dir(&stem.to_string_lossy());
    let exe = build_aarch64(src, flags, libs, &dir);
    Some((exe, dir))
}

/// The stdout of `cmd`, which must exit with status 0.
pub fn stdout_of(cmd: &mut Command) -> String {
    let o = run(cmd);
    assert!(
        o.status.success(),
        "{cmd:?}: {}; stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `xlat run --accel ACCEL PROG`'s stdout; the run must exit with status 0.
pub fn xlat_stdout(accel: &str, prog: &Path) -> String {
    stdout_of(
        Command::new(xlat_bin())
            .args(["run", "--accel", accel])
            .arg(prog),
    )
}

/// Asserts that `got` holds `want`'s lines: the first differing line is named (with `what`),
/// then a different line count.
pub fn assert_same_lines(want: &str, got: &str, what: &str) {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        assert_eq!(g, w, "{what}: line {i}");
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "{what}: line count"
    );
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
