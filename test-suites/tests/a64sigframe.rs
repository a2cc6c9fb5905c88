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

use xlat_test_suites::user::compile;
use xlat_test_suites::{have, scratch_dir, workspace_root, xlat_bin};

fn output(cmd: &mut Command) -> String {
    let o = cmd.output().expect("spawn");
    assert!(o.status.success(), "{cmd:?}: {}", o.status);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn without_illcode(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("illcode "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn signal_frame_matches_qemu() {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let d = scratch_dir("a64sigframe");
    let src = workspace_root().join("test-suites/guest/aarch64/a64sigframe.c");
    let exe = d.join("a64sigframe");
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
    let want = output(
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
        let got = output(
            Command::new(xlat_bin())
                .args(["run", "--accel", accel])
                .arg(&exe),
        );
        assert!(
            got.contains("illcode 1\n"),
            "{accel}: SIGILL si_code\n{got}"
        );
        let (a, b) = (without_illcode(&want), without_illcode(&got));
        for (i, (w, g)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(g, w, "{accel}: line {i}");
        }
        assert_eq!(b.lines().count(), a.lines().count(), "{accel}: line count");
    }
}
