//! AArch64 EL0 system interface: test-suites/guest/aarch64/a64sys.c reads AT_HWCAP/AT_HWCAP2
//! and the ID registers (MRS as Linux emulates it) and runs one probe instruction per optional
//! feature (AES, PMULL, SHA1/2/3/512, SM3/4, CRC32, LSE, FP16, RDM, JSCVT, FCMA, LRCPC, DPB,
//! DotProd, FHM, DIT, LSE2, FlagM, SSBS, SB, PAuth, FRINT, I8MM, BF16, RNG...) under a SIGILL
//! handler, then DC ZVA against DCZID_EL0, TPIDR_EL0/TPIDRRO_EL0 and CNTVCT_EL0's rate.
//! Under xlat (JIT and interpreter) each feature's HWCAP bit, ID field and probe must agree:
//! advertised exactly when implemented. Every probe xlat runs must give qemu-aarch64's result
//! (-cpu max implements them all); the "sys" lines must be qemu's; CNTVCT_EL0 must count at
//! CNTFRQ_EL0 against the host's CLOCK_MONOTONIC.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::collections::HashMap;
use std::process::Command;

use xlat_test_suites::user::{aarch64_program, stdout_of, xlat_stdout};

/// The "feat NAME HWCAP ID RUNS RESULT" lines by name.
fn feats(out: &str) -> HashMap<String, Vec<String>> {
    out.lines()
        .filter_map(|l| l.strip_prefix("feat "))
        .map(|l| {
            let f: Vec<String> = l.split(' ').map(str::to_owned).collect();
            (f[0].clone(), f[1..].to_vec())
        })
        .collect()
}

#[test]
fn hwcaps_id_registers_and_probes_agree() {
    let Some((exe, _)) = aarch64_program("aarch64/a64sys.c", &["-O2"], &[]) else {
        return;
    };
    let want = stdout_of(Command::new("qemu-aarch64").arg(&exe));
    let qemu = feats(&want);
    for accel in ["jit", "interp"] {
        let got = xlat_stdout(accel, &exe);
        let ours = feats(&got);
        assert!(ours.len() >= 36, "{accel}: feature lines\n{got}");
        for (name, f) in &ours {
            let (hwcap, id, runs) = (&f[0], &f[1], &f[2]);
            assert!(
                hwcap == id && id == runs,
                "{accel}: {name}: HWCAP {hwcap}, ID register {id}, probe ran {runs}"
            );
            if runs == "1" {
                let q = &qemu[name];
                assert_eq!(q[2], "1", "{name}: qemu-aarch64 ran the probe");
                assert_eq!(f[3], q[3], "{accel}: {name}: probe result");
            }
        }
        // The baseline xlat implements; anything more is checked by the loop above.
        for name in ["fp", "asimd", "cpuid", "crc32", "atomics"] {
            assert_eq!(ours[name][2], "1", "{accel}: {name} implemented");
        }
        let sys = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.starts_with("sys "))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(sys(&got), sys(&want), "{accel}: sys lines");
        assert!(sys(&got).len() >= 2, "{accel}: sys lines\n{got}");
        assert!(
            got.contains("clock cntfrq nonzero cntvct monotonic 1 rate matches\n"),
            "{accel}: CNTVCT_EL0 against CLOCK_MONOTONIC\n{got}"
        );
    }
}
