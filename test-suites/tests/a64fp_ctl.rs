//! AArch64 FP control against qemu-aarch64: test-suites/guest/aarch64/a64fp_ctl.c round-trips
//! FPCR and FPSR through MSR/MRS and runs scalar FP operations (arithmetic, fused multiply-add,
//! max, compares, sqrt, conversions, rint/floor/round) on edge values under all 16 combinations
//! of FPCR.RMode, FZ and DN, printing each result with the FPSR flags it raised. xlat's output
//! must equal qemu-aarch64's. The reference CPU is a Cortex-A53 (`-cpu cortex-a53`): like xlat
//! it has no FP16 or AFP, which changes which FPCR bits stick.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::process::Command;

use xlat_test_suites::user::{aarch64_program, assert_same_lines, stdout_of};
use xlat_test_suites::xlat_bin;

#[test]
fn fp_control_and_flags_match_qemu() {
    let Some((exe, _)) = aarch64_program(
        "aarch64/a64fp_ctl.c",
        &["-O2", "-frounding-math", "-ffp-contract=off"],
        &["-lm"],
    ) else {
        return;
    };
    let want = stdout_of(
        Command::new("qemu-aarch64")
            .args(["-cpu", "cortex-a53"])
            .arg(&exe),
    );
    let got = stdout_of(Command::new(xlat_bin()).arg("run").arg(&exe));
    // The run covers every mode and raises every cumulative flag somewhere.
    assert!(want.contains("mode f\n"), "qemu output incomplete");
    let seen = want
        .split_whitespace()
        .filter(|t| t.contains('='))
        .filter_map(|t| t.rsplit_once('/'))
        .filter_map(|(_, f)| u64::from_str_radix(f, 16).ok())
        .fold(0, |a, f| a | f);
    assert_eq!(seen, 0x9f, "FPSR flags raised (IOC DZC OFC UFC IXC IDC)");
    assert_same_lines(&want, &got, "a64fp_ctl");
}
