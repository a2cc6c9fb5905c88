//! AArch64 128-bit atomics against qemu-aarch64: test-suites/guest/aarch64/a64int_atomic128.c
//! runs LDXP/STXP, LDAXP/STLXP of 64-bit pairs and CASP/CASPA/CASPL/CASPAL (64- and 32-bit
//! pairs) single-threaded and from three threads (shared counters: no update may be lost),
//! then faults on a misaligned pair (SIGBUS), and, with an argument, CASP on an unmapped or a
//! read-only page (SIGSEGV). Output and exit status must match under xlat's JIT and
//! interpreter.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::{QEMU_AARCH64, aarch64_program, assert_same_as};

#[test]
fn atomic128_matches_qemu() {
    let Some((exe, d)) = aarch64_program(
        "aarch64/a64int_atomic128.c",
        &["-O2", "-march=armv8.1-a", "-pthread"],
        &[],
    ) else {
        return;
    };
    for args in [&[][..], &["u"], &["r"]] {
        assert_same_as(QEMU_AARCH64, &exe, args, &d);
    }
}
