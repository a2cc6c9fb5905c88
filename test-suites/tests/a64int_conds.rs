//! AArch64 conditions read straight after a compare (the lifter computes them from the
//! compare's operands instead of NZCV): test-suites/guest/aarch64/a64int_conds.c runs 64- and
//! 32-bit CMP (register, immediate, #0), CMN and SUBS followed by CSET, B.cond, CSEL and CCMP on
//! every condition over edge-value pairs, and the same flags read in the next block (the lazy
//! NZCV words: CSET, ADC, MRS after CMP/CMN/TST/ADDS/CCMP/ADCS/SBCS/MSR/FCMP/FCCMP); output must
//! match qemu-aarch64 under xlat's JIT and interpreter.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::user::{Reference, assert_same_as, compile};
use xlat_test_suites::{have, scratch_dir, workspace_root};

#[test]
fn conditions_after_compares_match_qemu() {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let d = scratch_dir("a64int_conds");
    let src = workspace_root().join("test-suites/guest/aarch64/a64int_conds.c");
    let exe = d.join("a64int_conds");
    assert!(
        compile(
            "aarch64-linux-gnu-gcc",
            &["-static", "-O2"],
            &src,
            &exe,
            &[]
        ),
        "aarch64-linux-gnu-gcc {}",
        src.display()
    );
    assert_same_as(Reference::Qemu("qemu-aarch64"), &exe, &[], &d);
}
