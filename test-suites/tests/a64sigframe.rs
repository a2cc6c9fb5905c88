//! The aarch64 signal frame against qemu-aarch64: test-suites/guest/aarch64/a64sigframe.c
//! takes SIGILL (UDF), SIGTRAP (BRK), SIGSEGV (load from page zero) and SIGUSR1 (on return
//! from kill) with x0..x17, NZCV, FPSR, FPCR and v0..v31 set; its handler prints siginfo, pc,
//! NZCV, the general registers and the fpsimd_context record (FPSR, FPCR, V0-V31), changes
//! them all and steps over the instruction; what the code sees after sigreturn is printed too.
//! xlat (JIT and interpreter) must print what qemu-aarch64 prints with a CPU without SVE
//! (`-cpu neoverse-n1`: with SVE, qemu's sve_context record overrides the V registers on
//! sigreturn), except SIGILL's si_code, which must be Linux's ILL_ILLOPC (qemu gives
//! ILL_ILLOPN).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::process::Command;

use xlat_test_suites::user::{aarch64_program, assert_same_lines, stdout_of, xlat_stdout};

fn without_illcode(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("illcode "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn signal_frame_matches_qemu() {
    let Some((exe, _)) = aarch64_program("aarch64/a64sigframe.c", &["-O2"], &[]) else {
        return;
    };
    let want = stdout_of(
        Command::new("qemu-aarch64")
            .args(["-cpu", "neoverse-n1"])
            .arg(&exe),
    );
    assert_eq!(
        want.matches("fpsimd size 528").count(),
        4,
        "qemu output\n{want}"
    );
    for accel in ["jit", "interp"] {
        let got = xlat_stdout(accel, &exe);
        assert!(
            got.contains("illcode 1\n"),
            "{accel}: SIGILL si_code\n{got}"
        );
        assert_same_lines(&without_illcode(&want), &without_illcode(&got), accel);
    }
}
