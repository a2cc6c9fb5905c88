//! Differential tests of the A64 floating point against qemu-aarch64: random instruction
//! sequences drawn only from the FP encodings (scalar FP, AdvSIMD FP vector, scalar, by element,
//! across lanes, fixed-point conversions) run in test-suites/guest/aarch64/a64diff.c with a
//! random FPCR per case (RMode, FZ, DN, AHP) and FPSR starting clear or with IXC set; x0..x26,
//! NZCV, the whole FPSR and v0..v31 must match after every case.
//!
//! `A64FP_CASES=N` sets cases per class (default 250); `A64FP_SEED=S` replays one seed (printed
//! on failure).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_frontend_aarch64::Aarch64;
use xlat_test_suites::a64diff::{FP_FLAGS, Suite};

/// (name, fixed bits value, fixed bits mask) of each class.
const CLASSES: &[(&str, u32, u32)] = &[
    ("fp 2-source", 0x1e20_0800, 0xff20_0c00),
    ("fp 1-source", 0x1e20_4000, 0xff20_7c00),
    ("fp compare", 0x1e20_2000, 0xff20_fc07),
    ("fp ccmp", 0x1e20_0400, 0xff20_0c00),
    ("fp 3-source", 0x1f00_0000, 0xff00_0000),
    ("fp<->int", 0x1e20_0000, 0x7f20_fc00),
    ("fp<->fixed", 0x1e00_0000, 0x7f20_0000),
    ("simd fp three-same", 0x0e20_c400, 0x9f20_c400),
    ("simd fp misc", 0x0e21_8800, 0x9f3f_8c00),
    ("simd fp compare zero/abs", 0x0ea0_c800, 0x9fbf_cc00),
    ("simd fcvtn/fcvtl/fcvtxn", 0x0e21_6800, 0x9f3f_ec00),
    ("simd fcvtn/fcvtl half", 0x0e21_6800, 0xdf7f_ec00),
    ("fp fcvt half", 0x1e22_4000, 0xff3e_7c00),
    ("simd fp by element", 0x0f80_0000, 0x9f80_0400),
    ("simd fp fixed", 0x0f00_e400, 0x9f80_e400),
    ("simd fp across", 0x2e30_c800, 0xbf3e_cc00),
    ("scalar fp three-same", 0x5e20_c400, 0xdf20_c400),
    ("scalar fp misc", 0x5e21_8800, 0xdf3f_8c00),
    ("scalar fp pairwise", 0x7e30_c800, 0xff3e_cc00),
    ("scalar fp by element", 0x5f80_0000, 0xdf80_0400),
    ("scalar fp fixed", 0x5f00_e400, 0xdf80_e400),
];

const SUITE: Suite = Suite {
    name: "a64fp_diff",
    cases_var: "A64FP_CASES",
    seed_var: "A64FP_SEED",
    default_cases: 250,
    seed_base: 0xa64f_f000,
};

#[test]
fn fp_classes_with_random_fpcr_match_qemu() {
    let Some(exe) = SUITE.build() else {
        return;
    };
    let (per_class, seeds) = SUITE.plan(CLASSES.len());
    let fe = Aarch64::new();
    let mut total = 0;
    let mut fpsr_seen = 0u64;
    for seed in seeds {
        let class = CLASSES[(seed % CLASSES.len() as u64) as usize];
        let want = SUITE.run_class(&exe, &fe, class, seed, per_class, FP_FLAGS);
        for line in want.lines() {
            let fpsr = line
                .split(" fpsr ")
                .nth(1)
                .and_then(|t| t.split(' ').next());
            fpsr_seen |= fpsr
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .unwrap_or(0);
        }
        total += per_class;
    }
    eprintln!("a64fp: {total} cases matched qemu-aarch64 (FPSR bits seen: {fpsr_seen:#x})");
    if !SUITE.replaying() {
        // IOC, DZC, OFC, UFC, IXC, IDC: the cases do exercise every cumulative flag.
        assert_eq!(fpsr_seen & 0x9f, 0x9f, "FPSR flags seen");
    }
}
