//! Dynamically linked Debian trixie arm64 programs from the sysroot `scripts/sysroot.sh aarch64`
//! builds (bash, coreutils, python3): stdout, stderr and exit status must be identical under
//! `qemu-aarch64 -L SYSROOT` (the reference) and `xlat run -L SYSROOT`. The scripts stay within
//! one process tree without execve (builtins, subshells and pipes between them): qemu-user
//! hands a guest's execve to the host kernel, which would run the host's own programs.
//!
//! Each test skips with one line on stderr when the sysroot or qemu-aarch64 is missing.

#![allow(
    clippy::tests_outside_test_module,
    reason = "integration tests: the whole file is test code"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use xlat_test_suites::{run, scratch_dir, user, xlat_bin};

fn sysroot(test: &str) -> Option<PathBuf> {
    user::sysroot(test, "aarch64", "lib/ld-linux-aarch64.so.1", "qemu-aarch64")
}

/// Runs the sysroot's `prog` with `args` under qemu-aarch64 and under xlat (each accelerator
/// of `accels`), in a scratch directory; asserts the same stdout, stderr and status.
fn same_as_qemu(root: &Path, prog: &str, args: &[&str], accels: &[&str]) {
    let dir = scratch_dir("aarch64_sysroot");
    let exe = root.join(prog.trim_start_matches('/'));
    let want = run(Command::new("qemu-aarch64")
        .arg("-L")
        .arg(root)
        .arg(&exe)
        .args(args)
        .current_dir(&dir)
        .env("LC_ALL", "C"));
    assert!(
        !want.stdout.is_empty() || !want.status.success(),
        "qemu-aarch64 {prog} {args:?} printed nothing: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    for accel in accels {
        let got = run(Command::new(xlat_bin())
            .args(["run", "--accel", accel, "-L"])
            .arg(root)
            .arg(&exe)
            .args(args)
            .current_dir(&dir)
            .env("LC_ALL", "C"));
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{prog} {args:?} ({accel}): stdout differs; stderr: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr),
            "{prog} {args:?} ({accel}): stderr differs"
        );
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{prog} {args:?} ({accel}): status"
        );
    }
}

#[test]
fn bash_scripts_match_qemu() {
    let Some(root) = sysroot("bash_scripts_match_qemu") else {
        return;
    };
    let scripts = [
        "echo hello; for i in 1 2 3; do echo $((i * i)); done | while read x; do echo \"<$x>\"; done",
        "f() { echo \"f:$1\"; return 3; }; f a; echo rc=$?; a=(x y z); echo ${#a[@]} ${a[1]}; declare -A m=([k]=v); echo ${m[k]}",
        "trap 'echo usr1' USR1; kill -USR1 $$; echo after; (exit 7); echo sub=$?; x=$(printf '%05d' 42); echo $x",
        "s=''; for ((i = 0; i < 300; i++)); do s+=$((i % 10)); done; echo ${#s} ${s:100:20}; printf '%x %o %e\\n' 255 8 3.5",
        "{ echo b; echo a; echo c; } | { read x; read y; echo $y$x; }; echo ${BASH_VERSINFO[0]} >&2; exit 4",
    ];
    for s in scripts {
        same_as_qemu(&root, "/usr/bin/bash", &["-c", s], &["jit", "interp"]);
    }
}

#[test]
fn coreutils_match_qemu() {
    let Some(root) = sysroot("coreutils_match_qemu") else {
        return;
    };
    let dir = scratch_dir("aarch64_sysroot");
    let text: String = (0..300)
        .map(|i| format!("{} word{}\n", (i * 7919) % 1000, i % 7))
        .collect();
    std::fs::write(dir.join("in.txt"), text).expect("input");
    let cases: &[(&str, &[&str])] = &[
        ("/usr/bin/sort", &["-n", "in.txt"]),
        ("/usr/bin/sha256sum", &["in.txt"]),
        ("/usr/bin/sha512sum", &["in.txt"]),
        ("/usr/bin/md5sum", &["in.txt"]),
        ("/usr/bin/wc", &["in.txt"]),
        ("/usr/bin/seq", &["-f", "%.3f", "0", "0.7", "5"]),
        ("/usr/bin/factor", &["1234567890123", "600851475143"]),
        ("/usr/bin/tr", &["-s", "a-z", "A-Z", "in.txt"]),
        ("/usr/bin/head", &["-c", "100", "in.txt"]),
        (
            "/usr/bin/od",
            &["-A", "d", "-t", "x8", "-N", "48", "in.txt"],
        ),
        (
            "/usr/bin/printf",
            &["%s %d %.10g\\n", "x", "42", "3.14159265358979"],
        ),
        ("/usr/bin/expr", &["123456789", "*", "987654321"]),
        ("/usr/bin/numfmt", &["--to=iec", "123456789"]),
    ];
    for (prog, args) in cases {
        same_as_qemu(&root, prog, args, &["jit"]);
    }
}

#[test]
fn python3_matches_qemu() {
    let Some(root) = sysroot("python3_matches_qemu") else {
        return;
    };
    let script = r#"
import hashlib, json, threading, math, struct
print(hashlib.sha256(b"abc" * 1000).hexdigest(), hashlib.md5(b"x").hexdigest())
print(hashlib.sha1(b"y").hexdigest(), hashlib.blake2b(b"z").hexdigest()[:32])
print(json.dumps({"a": [1, 2.5, None, "\u00e9"], "b": {"c": True}}, sort_keys=True))
print(json.loads('{"x": [1e10, -0.0, 3]}'))
out = []
lock = threading.Lock()
def work(i):
    s = sum(j * j for j in range(i * 1000))
    with lock:
        out.append((i, s))
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(out))
print(1.1 * 3, 2 ** 0.5, math.sin(1.0), math.log(10), math.fsum([0.1] * 10), 1e300 * 10)
print(struct.pack("<dfq", 1.5, -2.25, -3).hex(), round(2.675, 2), float("nan"))
"#;
    same_as_qemu(&root, "/usr/bin/python3", &["-c", script], &["jit"]);
}
