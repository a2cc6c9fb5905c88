//! AArch64 128-bit atomics against qemu-aarch64: test-suites/guest/aarch64/a64int_atomic128.c
//! runs LDXP/STXP, LDAXP/STLXP of 64-bit pairs and CASP/CASPA/CASPL/CASPAL (64- and 32-bit
//! pairs) single-threaded and from three threads (shared counters: no update may be lost),
//! then faults on a misaligned pair (SIGBUS), and, with an argument, CASP on an unmapped or a
//! read-only page (SIGSEGV). Output and exit status must match under xlat's JIT and
//! interpreter.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::{Reference, assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

#[test]
fn atomic128_matches_qemu() {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let d = scratch_dir("a64int_atomic128");
    let src = workspace_root().join("test-suites/guest/aarch64/a64int_atomic128.c");
    let exe = d.join("a64int_atomic128");
    assert!(
        compile(
            "aarch64-linux-gnu-gcc",
            &["-static", "-O2", "-march=armv8.1-a", "-pthread"],
            &src,
            &exe,
            &[]
        ),
        "aarch64-linux-gnu-gcc {}",
        src.display()
    );
    let q = Reference::Qemu("qemu-aarch64");
    assert_same_as(q, &exe, &[], &d);
    assert_same_as(q, &exe, &["u"], &d);
    assert_same_as(q, &exe, &["r"], &d);
}
