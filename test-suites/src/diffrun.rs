//! Differential runs of a riscv64 guest: the same program, arguments, environment and stdin
//! under `qemu-riscv64` (the reference) and under `xlat run` with each accelerator, asserting
//! byte-identical stdout, the same exit status and the same guest stderr (without the lines
//! the emulators add about themselves). Expected values always come from QEMU.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{have, scratch_dir, xlat_bin};

/// Seconds one guest run under qemu-riscv64 or xlat's JIT may take before it is killed (a hang
/// is a failure, not a stall).
pub const RUN_TIMEOUT_SECS: u64 = 120;

/// How many times [`RUN_TIMEOUT_SECS`] a run under xlat's interpreter may take: it runs guest
/// code about six times slower than the JIT (the sysroot's python3 stdlib test: 54 s against
/// 8.6 s at load 5 on 2 cores), so the same limit timed out under a loaded host.
pub const INTERP_TIMEOUT_FACTOR: u64 = 3;

/// Who runs the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `qemu-riscv64`, the reference.
    Qemu,
    /// `xlat run --accel jit`.
    XlatJit,
    /// `xlat run --accel interp`.
    XlatInterp,
}

impl Engine {
    /// Seconds one run under this engine may take before it is killed.
    pub fn timeout_secs(self) -> u64 {
        match self {
            Engine::XlatInterp => RUN_TIMEOUT_SECS * INTERP_TIMEOUT_FACTOR,
            Engine::Qemu | Engine::XlatJit => RUN_TIMEOUT_SECS,
        }
    }

    /// A short label for messages.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Qemu => "qemu-riscv64",
            Engine::XlatJit => "xlat --accel jit",
            Engine::XlatInterp => "xlat --accel interp",
        }
    }
}

/// One guest invocation.
#[derive(Clone, Debug, Default)]
pub struct Guest {
    /// The riscv64 program.
    pub program: PathBuf,
    /// Its arguments (argv[1..]).
    pub args: Vec<OsString>,
    /// Bytes fed to its stdin (stdin is closed after them).
    pub stdin: Vec<u8>,
    /// Extra environment variables; the environment is otherwise only `PATH` and `LC_ALL=C`.
    pub env: Vec<(String, String)>,
    /// The working directory (default: the scratch directory `run`).
    pub cwd: Option<PathBuf>,
}

impl Guest {
    /// A guest with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Guest {
        Guest {
            program: program.into(),
            ..Guest::default()
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Guest
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Guest {
        self.stdin = bytes.into();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Guest {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Guest {
        self.cwd = Some(dir.into());
        self
    }
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr (not compared: QEMU adds its own messages).
    pub stderr: Vec<u8>,
    /// Shell-style status: the exit code, or 128 + the signal that ended the process.
    pub status: i32,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Whether the xlat side is compared (set `XLAT_REFERENCE_ONLY=1` to check only that the
/// reference side of each test runs, e.g. while xlat cannot run guests yet).
pub fn xlat_enabled() -> bool {
    std::env::var("XLAT_REFERENCE_ONLY").map_or(true, |v| v.is_empty() || v == "0")
}

/// Fails the test with one instruction when a reference tool is missing.
pub fn require_tools() {
    for t in ["qemu-riscv64", "riscv64-linux-gnu-gcc", "timeout"] {
        assert!(have(t), "{t} is not installed: run scripts/setup.sh");
    }
}

/// Runs `guest` under `engine` (with a timeout, without core dumps).
pub fn run_on(engine: Engine, guest: &Guest) -> Outcome {
    run_with(engine, &[], guest)
}

/// Like [`run_on`], with extra `xlat run` options (e.g. `-d strace`) before the program.
pub fn run_with(engine: Engine, xlat_opts: &[&str], guest: &Guest) -> Outcome {
    let mut cmd = Command::new("timeout");
    cmd.args([
        "-k",
        "5",
        &engine.timeout_secs().to_string(),
        "sh",
        "-c",
        "ulimit -c 0; exec \"$@\"",
        "sh",
    ]);
    match engine {
        Engine::Qemu => {
            cmd.arg("qemu-riscv64");
        }
        Engine::XlatJit | Engine::XlatInterp => {
            let accel = if engine == Engine::XlatJit {
                "jit"
            } else {
                "interp"
            };
            cmd.arg(xlat_bin())
                .args(["run", "--accel", accel])
                .args(xlat_opts);
        }
    }
    cmd.arg(&guest.program).args(&guest.args);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C");
    for (k, v) in &guest.env {
        cmd.env(k, v);
    }
    cmd.current_dir(guest.cwd.clone().unwrap_or_else(|| scratch_dir("run")));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", engine.label()));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = guest.stdin.clone();
    // Feed stdin from a thread so a guest that writes before reading cannot deadlock us.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input); // the guest may exit without reading: EPIPE is fine
    });
    let out = child.wait_with_output().expect("wait for guest");
    let _ = feeder.join();
    let status = match (out.status.code(), out.status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => -1,
    };
    assert_ne!(
        status,
        124,
        "{} timed out after {} s on {guest:?}",
        engine.label(),
        engine.timeout_secs()
    );
    Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        status,
        elapsed: start.elapsed(),
    }
}

/// Runs `guest` under QEMU, then under xlat (JIT, then interpreter) unless
/// [`xlat_enabled`] says otherwise, and asserts identical stdout and status.
/// Returns QEMU's outcome so callers can check more (e.g. that the reference ran at all).
pub fn assert_same_as_qemu(name: &str, guest: &Guest) -> Outcome {
    require_tools();
    assert_same_as_qemu_with(name, &[], guest)
}

/// [`assert_same_as_qemu`] with extra `xlat run` options (e.g. `-L SYSROOT`), for callers that
/// have checked the tools they need themselves.
pub fn assert_same_as_qemu_with(name: &str, xlat_opts: &[&str], guest: &Guest) -> Outcome {
    let want = run_on(Engine::Qemu, guest);
    if !xlat_enabled() {
        return want;
    }
    for engine in [Engine::XlatJit, Engine::XlatInterp] {
        let got = run_with(engine, xlat_opts, guest);
        compare(name, engine, &want, &got);
    }
    want
}

/// The guest's own stderr: without the lines an emulator adds about itself
/// (`qemu: uncaught target signal ...`, `xlat: ...`).
pub fn guest_stderr(stderr: &[u8], emulator_prefix: &str) -> String {
    String::from_utf8_lossy(stderr)
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(emulator_prefix))
        .collect()
}

fn compare(name: &str, engine: Engine, want: &Outcome, got: &Outcome) {
    let (want_err, got_err) = (
        guest_stderr(&want.stderr, "qemu:"),
        guest_stderr(&got.stderr, "xlat:"),
    );
    if want.stdout == got.stdout && want.status == got.status && want_err == got_err {
        return;
    }
    let dir = scratch_dir("mismatch");
    let tag = format!(
        "{name}.{}",
        if engine == Engine::XlatJit {
            "jit"
        } else {
            "interp"
        }
    );
    let _ = std::fs::write(dir.join(format!("{tag}.qemu.out")), &want.stdout);
    let _ = std::fs::write(dir.join(format!("{tag}.xlat.out")), &got.stdout);
    let mut msg = format!("{name}: {} differs from qemu-riscv64\n", engine.label());
    if want.status != got.status {
        msg += &format!(
            "  exit status: qemu {} vs xlat {}\n",
            want.status, got.status
        );
    }
    if want.stdout != got.stdout {
        msg += &first_difference(&want.stdout, &got.stdout);
        msg += &format!(
            "  full outputs: {}/{tag}.{{qemu,xlat}}.out\n",
            dir.display()
        );
    }
    if want_err != got_err {
        msg += "  the guest's stderr differs:\n";
        msg += &first_difference(want_err.as_bytes(), got_err.as_bytes());
    }
    let err = String::from_utf8_lossy(&got.stderr);
    let tail: String = err
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n  ");
    msg += &format!("  xlat stderr (tail):\n  {tail}");
    panic!("{msg}");
}

/// Describes where two outputs first differ: line number and both lines.
pub fn first_difference(want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let line = want[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let line_of = |buf: &[u8]| {
        let s = buf[..at.min(buf.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let e = buf[s..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |p| s + p);
        String::from_utf8_lossy(&buf[s..e.min(s + 300)]).into_owned()
    };
    format!(
        "  stdout: {} vs {} bytes, first difference at byte {at} (line {line})\n    qemu: {}\n    xlat: {}\n",
        want.len(),
        got.len(),
        line_of(want),
        line_of(got)
    )
}

/// Compiles riscv64 guest sources from `test-suites/guest/` with
/// `riscv64-linux-gnu-gcc -static -O2 FLAGS` into the scratch directory `guest`, once
/// (rebuilt when a source is newer). Returns the binary's path.
pub fn build_guest(name: &str, sources: &[&str], flags: &[&str]) -> PathBuf {
    require_tools();
    let src_dir = crate::workspace_root().join("test-suites").join("guest");
    let out = scratch_dir("guest").join(name);
    let srcs: Vec<PathBuf> = sources.iter().map(|s| src_dir.join(s)).collect();
    if is_fresh(&out, &srcs) {
        return out;
    }
    // Build under a private name and rename, so tests in parallel processes never see a half-written binary.
    // Unique per process and per call: tests run as threads of one process too.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = out.with_extension(format!(
        "tmp{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let o = Command::new("riscv64-linux-gnu-gcc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(&tmp)
        .args(&srcs)
        .args(flags)
        .output()
        .expect("run riscv64-linux-gnu-gcc");
    assert!(
        o.status.success(),
        "compiling {sources:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(&tmp, &out).expect("rename guest binary");
    out
}

fn is_fresh(out: &Path, srcs: &[PathBuf]) -> bool {
    let Ok(t) = std::fs::metadata(out).and_then(|m| m.modified()) else {
        return false;
    };
    srcs.iter().all(|s| {
        std::fs::metadata(s)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m <= t)
    })
}
