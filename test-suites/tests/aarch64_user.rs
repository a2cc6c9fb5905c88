//! aarch64 Linux user mode: Debian trixie's arm64 busybox-static (scripts/setup.d/30-aarch64.sh)
//! and static C programs built with aarch64-linux-gnu-gcc give the same stdout and exit status
//! under `xlat run` (jit and interpreter) as under qemu-aarch64, the reference.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::path::{Path, PathBuf};
use std::process::Command;

use xlat_test_suites::{cache_dir, have, scratch_dir, workspace_root, xlat_bin};

fn qemu_and_xlat(prog: &Path, args: &[&str], dir: &Path) {
    let want = Command::new("qemu-aarch64")
        .arg(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run qemu-aarch64");
    for accel in ["jit", "interp"] {
        let got = Command::new(xlat_bin())
            .args(["run", "--accel", accel])
            .arg(prog)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run xlat");
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

fn workdir() -> PathBuf {
    let d = scratch_dir("aarch64_user");
    std::fs::create_dir_all(&d).expect("work dir");
    let text: String = (0..400)
        .map(|i| format!("line {:04} {}\n", (i * 7919) % 1000, "abc".repeat(i % 5)))
        .collect();
    std::fs::write(d.join("in.txt"), text).expect("input");
    d
}

fn tools_missing() -> bool {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return true;
    }
    false
}

#[test]
fn busybox_applets_match_qemu() {
    let bb = cache_dir().join("aarch64").join("busybox");
    if !have("qemu-aarch64") || !bb.exists() {
        eprintln!(
            "skipping: qemu-aarch64 or {} missing (scripts/setup.sh)",
            bb.display()
        );
        return;
    }
    let d = workdir();
    let cases: &[&[&str]] = &[
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
        &["ls", "-la", "."],
        &["sh", "-c", "gzip -c in.txt | gzip -d | md5sum"],
        &["basename", "/a/b/c.txt", ".txt"],
    ];
    for args in cases {
        qemu_and_xlat(&bb, args, &d);
    }
}

/// Guest C programs shared with the riscv64 suite (test-suites/guest/*.c), built static.
#[test]
fn static_gcc_programs_match_qemu() {
    if tools_missing() {
        return;
    }
    // Not workdir(): `ls -la .` lists that one while this test writes here.
    let d = scratch_dir("aarch64_user_progs");
    std::fs::create_dir_all(&d).expect("work dir");
    for name in [
        "hello",
        "strings",
        "int128",
        "threads",
        "procs",
        "syscalls",
        "qsort",
        "setjmp",
        "printf_float",
        "clock",
    ] {
        let src = workspace_root().join(format!("test-suites/guest/{name}.c"));
        let exe = d.join(name);
        let st = Command::new("aarch64-linux-gnu-gcc")
            .args(["-static", "-O2", "-pthread", "-o"])
            .arg(&exe)
            .arg(&src)
            .arg("-lm")
            .status()
            .expect("aarch64-linux-gnu-gcc");
        assert!(st.success(), "aarch64-linux-gnu-gcc {name}.c");
        qemu_and_xlat(&exe, &[], &d);
    }
}

/// test-suites/guest/aarch64_o3.c built with -O3: auto-vectorised loops (including the
/// ld2-ld4/st2-st4 structure loads and stores), long double, libm and C11 atomics.
#[test]
fn o3_vectorised_program_matches_qemu() {
    if tools_missing() {
        return;
    }
    let d = scratch_dir("aarch64_user_o3");
    std::fs::create_dir_all(&d).expect("work dir");
    let exe = d.join("aarch64_o3");
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-static", "-O3", "-pthread", "-o"])
        .arg(&exe)
        .arg(workspace_root().join("test-suites/guest/aarch64_o3.c"))
        .arg("-lm")
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(st.success(), "aarch64-linux-gnu-gcc aarch64_o3.c");
    qemu_and_xlat(&exe, &[], &d);
}

/// test-suites/guest/aarch64/exclusive_pair.c: LDAXP/STLXP loops on a 32-bit pair from three
/// threads; no update may be lost.
#[test]
fn exclusive_pair_matches_qemu() {
    if tools_missing() {
        return;
    }
    let d = scratch_dir("aarch64_user_xp");
    std::fs::create_dir_all(&d).expect("work dir");
    let exe = d.join("exclusive_pair");
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-static", "-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(workspace_root().join("test-suites/guest/aarch64/exclusive_pair.c"))
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(st.success(), "aarch64-linux-gnu-gcc exclusive_pair.c");
    qemu_and_xlat(&exe, &[], &d);
}
