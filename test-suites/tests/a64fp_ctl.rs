//! AArch64 FP control against qemu-aarch64: test-suites/guest/aarch64/a64fp_ctl.c round-trips
//! FPCR and FPSR through MSR/MRS and runs scalar FP operations (arithmetic, fused multiply-add,
//! max, compares, sqrt, conversions, rint/floor/round) on edge values under all 16 combinations
//! of FPCR.RMode, FZ and DN, printing each result with the FPSR flags it raised. xlat's output
//! must equal qemu-aarch64's. The reference CPU is a Cortex-A53 (`-cpu cortex-a53`): like xlat
//! it has no FP16 or AFP, which changes which FPCR bits stick.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::process::Command;

use xlat_test_suites::user::compile;
use xlat_test_suites::{have, scratch_dir, workspace_root, xlat_bin};

#[test]
fn fp_control_and_flags_match_qemu() {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let d = scratch_dir("a64fp_ctl");
    std::fs::create_dir_all(&d).expect("work dir");
    let exe = d.join("a64fp_ctl");
    let src = workspace_root().join("test-suites/guest/aarch64/a64fp_ctl.c");
    assert!(
        compile(
            "aarch64-linux-gnu-gcc",
            &["-static", "-O2", "-frounding-math", "-ffp-contract=off"],
            &src,
            &exe,
            &["-lm"]
        ),
        "aarch64-linux-gnu-gcc a64fp_ctl.c"
    );
    let q = Command::new("qemu-aarch64")
        .args(["-cpu", "cortex-a53"])
        .arg(&exe)
        .output()
        .expect("qemu-aarch64");
    assert!(q.status.success(), "qemu-aarch64 a64fp_ctl");
    let x = Command::new(xlat_bin())
        .arg("run")
        .arg(&exe)
        .output()
        .expect("xlat");
    assert!(x.status.success(), "xlat run a64fp_ctl");
    let (want, got) = (
        String::from_utf8_lossy(&q.stdout),
        String::from_utf8_lossy(&x.stdout),
    );
    // The run covers every mode and raises every cumulative flag somewhere.
    assert!(want.contains("mode f\n"), "qemu output incomplete");
    let seen = want
        .split_whitespace()
        .filter(|t| t.contains('='))
        .filter_map(|t| t.rsplit_once('/'))
        .filter_map(|(_, f)| u64::from_str_radix(f, 16).ok())
        .fold(0, |a, f| a | f);
    assert_eq!(seen, 0x9f, "FPSR flags raised (IOC DZC OFC UFC IXC IDC)");
    for (i, (a, b)) in want.lines().zip(got.lines()).enumerate() {
        assert_eq!(b, a, "line {i}");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "line count");
}
