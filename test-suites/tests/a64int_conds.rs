//! AArch64 conditions read straight after a compare (the lifter computes them from the
//! compare's operands instead of NZCV): test-suites/guest/aarch64/a64int_conds.c runs 64- and
//! 32-bit CMP (register, immediate, #0), CMN and SUBS followed by CSET, B.cond, CSEL and CCMP on
//! every condition over edge-value pairs, and the same flags read in the next block (the lazy
//! NZCV words: CSET, ADC, MRS after CMP/CMN/TST/ADDS/CCMP/ADCS/SBCS/MSR/FCMP/FCCMP); output must
//! match qemu-aarch64 under xlat's JIT and interpreter.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::{QEMU_AARCH64, aarch64_program, assert_same_as};

#[test]
fn conditions_after_compares_match_qemu() {
    let Some((exe, d)) = aarch64_program("aarch64/a64int_conds.c", &["-O2"], &[]) else {
        return;
    };
    assert_same_as(QEMU_AARCH64, &exe, &[], &d);
}
