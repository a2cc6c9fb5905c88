//! aarch64 Linux user mode: Debian trixie's arm64 busybox-static (scripts/setup.d/30-aarch64.sh)
//! and static C programs built with aarch64-linux-gnu-gcc give the same stdout and exit status
//! under `xlat run` (jit and interpreter) as under qemu-aarch64, the reference.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::path::Path;

use xlat_test_suites::user::{
    BUSYBOX_APPLETS, QEMU_AARCH64 as QEMU, aarch64_tools, assert_same_as, build_aarch64, input_dir,
};
use xlat_test_suites::{cache_dir, have, scratch_dir};

/// Builds `test-suites/guest/SRC` with aarch64-linux-gnu-gcc (`-static`, `opt`, `-pthread`) and
/// compares it under qemu-aarch64 and xlat, in `dir`.
fn gcc_program_matches_qemu(src: &str, opt: &str, libs: &[&str], dir: &Path) {
    let exe = build_aarch64(src, &[opt, "-pthread"], libs, dir);
    assert_same_as(QEMU, &exe, &[], dir);
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
    let d = input_dir("aarch64_user");
    let own: &[&[&str]] = &[&["ls", "-la", "."]];
    for args in BUSYBOX_APPLETS.iter().chain(own) {
        assert_same_as(QEMU, &bb, args, &d);
    }
}

/// Guest C programs shared with the riscv64 suite (test-suites/guest/*.c), built static.
#[test]
fn static_gcc_programs_match_qemu() {
    if !aarch64_tools() {
        return;
    }
    // Not input_dir("aarch64_user"): `ls -la .` lists that one while this test writes here.
    let d = scratch_dir("aarch64_user_progs");
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
        gcc_program_matches_qemu(&format!("{name}.c"), "-O2", &["-lm"], &d);
    }
}

/// test-suites/guest/aarch64_o3.c built with -O3: auto-vectorised loops (including the
/// ld2-ld4/st2-st4 structure loads and stores), long double, libm and C11 atomics.
#[test]
fn o3_vectorised_program_matches_qemu() {
    if !aarch64_tools() {
        return;
    }
    let d = scratch_dir("aarch64_user_o3");
    gcc_program_matches_qemu("aarch64_o3.c", "-O3", &["-lm"], &d);
}

/// test-suites/guest/aarch64/exclusive_pair.c: LDAXP/STLXP loops on a 32-bit pair from three
/// threads; no update may be lost.
#[test]
fn exclusive_pair_matches_qemu() {
    if !aarch64_tools() {
        return;
    }
    let d = scratch_dir("aarch64_user_xp");
    gcc_program_matches_qemu("aarch64/exclusive_pair.c", "-O2", &[], &d);
}

/// test-suites/guest/aarch64/selfmod.c: code rewritten in place and generated at run time,
/// made visible with __builtin___clear_cache (IC IVAU then ISB).
#[test]
fn self_modifying_code_matches_qemu() {
    if !aarch64_tools() {
        return;
    }
    let d = scratch_dir("aarch64_user_selfmod");
    gcc_program_matches_qemu("aarch64/selfmod.c", "-O2", &[], &d);
}
