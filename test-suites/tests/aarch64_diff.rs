//! Differential tests of the A64 frontend against qemu-aarch64: random instruction sequences
//! per encoding class run inside test-suites/guest/aarch64/a64diff.c (a static guest program)
//! under qemu-aarch64 and under xlat; x0..x26, NZCV, FPSR and, for the FP and SIMD classes,
//! v0..v31 after every case must match. The FP and SIMD classes run with a random FPCR (RMode,
//! FZ, DN) per case. Two classes mix forward branches (B, B.cond, CBZ/CBNZ, TBZ/TBNZ) with
//! flag-setting instructions. The load/store classes (every addressing mode, pairs, unprivileged,
//! literal, LD1-LD4/ST1-ST4 multiple and single structure with post-index, exclusives and
//! exclusive pairs, acquire/release, CAS/CASP, LSE atomics) address a buffer through x27 with
//! indexes in x24..x26; the buffer's hash and x27 are compared too.
//!
//! `A64DIFF_CASES=N` sets cases per class (default 750: 36,750 per run over 49 classes, 14
//! integer, 6 scalar FP, 18 AdvSIMD, 2 with branches, 9 load/store); `A64DIFF_SEED=S` replays one seed (printed
//! on failure).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_frontend_aarch64::Aarch64;
use xlat_test_suites::a64diff::{BRANCH_FLAGS, FP_FLAGS, MEM_ALIGNED_FLAGS, MEM_FLAGS, Suite};

/// (name, fixed bits value, fixed bits mask) of each integer class.
const CLASSES: &[(&str, u32, u32)] = &[
    ("add/sub imm", 0x1100_0000, 0x1f80_0000),
    ("logical imm", 0x1200_0000, 0x1f80_0000),
    ("move wide", 0x1280_0000, 0x1f80_0000),
    ("bitfield", 0x1300_0000, 0x1f80_0000),
    ("extract", 0x1380_0000, 0x1f80_0000),
    ("logical shifted", 0x0a00_0000, 0x1f00_0000),
    ("add/sub shifted", 0x0b00_0000, 0x1f20_0000),
    ("add/sub extended", 0x0b20_0000, 0x1fe0_0000),
    ("adc/sbc", 0x1a00_0000, 0x1fe0_fc00),
    ("ccmp/ccmn", 0x3a40_0000, 0x3fe0_0410),
    ("csel", 0x1a80_0000, 0x3fe0_0800),
    ("dp 2-source", 0x1ac0_0000, 0x5fe0_0000),
    ("dp 1-source", 0x5ac0_0000, 0x5fff_0000),
    ("dp 3-source", 0x1b00_0000, 0x7f00_0000),
    ("fp 2-source", 0x1e20_0800, 0xff20_0c00),
    ("fp 1-source", 0x1e20_4000, 0xff20_7c00),
    ("fp compare", 0x1e20_2000, 0xff20_fc07),
    ("fp ccmp/csel", 0x1e20_0400, 0xff20_0400),
    ("fp 3-source", 0x1f00_0000, 0xff00_0000),
    ("fp<->int", 0x1e20_0000, 0x7f20_fc00),
    ("simd three-same", 0x0e20_0400, 0x9f20_0400),
    ("simd two-reg misc", 0x0e20_0800, 0x9f3e_0c00),
    ("simd three-diff", 0x0e20_0000, 0x9f20_0c00),
    ("simd shift imm", 0x0f00_0400, 0x9f80_0400),
    ("simd by element", 0x0f00_0000, 0x9f00_0400),
    ("simd across", 0x0e30_0800, 0x9f3e_0c00),
    ("simd copy", 0x0e00_0400, 0x9fe0_8400),
    ("simd permute/ext/tbl", 0x0e00_0000, 0x9f20_8000),
    ("simd modified imm", 0x0f00_0400, 0x9ff8_0400),
    ("simd scalar", 0x5e00_0000, 0xdf00_0000),
    ("simd suqadd/usqadd", 0x0e20_3800, 0x9f3f_fc00),
    ("scalar suqadd/usqadd", 0x5e20_3800, 0xdf3f_fc00),
    ("simd sqdmlal/sqdmlsl/sqdmull", 0x0e20_9000, 0xbf20_9c00),
    ("simd sqdml* by element", 0x0f00_3000, 0xbf00_3400),
    ("simd sqdmulh by element", 0x0f00_c000, 0xbf00_e400),
    ("scalar sqdml*/sqdmulh", 0x5e20_9000, 0xff20_9c00),
    ("scalar sqdml*/sqdmulh by element", 0x5f00_0000, 0xff00_0400),
    ("scalar saturating three-same", 0x5e20_0c00, 0xdf20_8c00),
];

/// Index of the first FP/SIMD class (from there on the V registers are compared too).
const FIRST_FP: usize = 14;

/// Classes with forward branches (B, B.cond, CBZ/CBNZ, TBZ/TBNZ) between their instructions.
const BRANCH_CLASSES: &[(&str, u32, u32)] = &[
    ("branches + adds/subs", 0x2b00_0000, 0x3f20_0000),
    ("branches + ccmp/ccmn", 0x3a40_0000, 0x3fe0_0410),
];

/// (name, fixed bits value, fixed bits mask) of each load/store class, run in a64diff.c's
/// memory mode (base x27 into a buffer whose hash is compared, indexes x24..x26).
const MEM_CLASSES: &[(&str, u32, u32)] = &[
    ("ld/st unsigned offset", 0x3900_0000, 0x3b00_0000),
    (
        "ld/st unscaled, pre/post-index, unprivileged",
        0x3800_0000,
        0x3b20_0000,
    ),
    ("ld/st register offset", 0x3820_0800, 0x3b20_0c00),
    ("ld/st pair", 0x2800_0000, 0x3a00_0000),
    ("ld literal", 0x1800_0000, 0x3b00_0000),
    ("simd ld/st multiple structures", 0x0c00_0000, 0xbf20_0000),
    ("simd ld/st single structure", 0x0d00_0000, 0xbf00_0000),
];

/// The classes needing a 16-byte aligned base: exclusives, acquire/release, CAS/CASP, LSE.
const ATOMIC_CLASSES: &[(&str, u32, u32)] = &[
    (
        "exclusive, acquire/release, cas/casp",
        0x0800_0000,
        0x3f00_0000,
    ),
    ("lse atomics", 0x3820_0000, 0x3f20_0c00),
];

const SUITE: Suite = Suite {
    name: "aarch64_diff",
    cases_var: "A64DIFF_CASES",
    seed_var: "A64DIFF_SEED",
    default_cases: 750,
    seed_base: 0xa64d_1ff0,
};

#[test]
fn integer_fp_simd_classes_match_qemu() {
    let Some(exe) = SUITE.build() else {
        return;
    };
    let classes: Vec<_> = CLASSES
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, if i >= FIRST_FP { FP_FLAGS } else { 0 }))
        .chain(BRANCH_CLASSES.iter().map(|&c| (c, BRANCH_FLAGS)))
        .chain(MEM_CLASSES.iter().map(|&c| (c, MEM_FLAGS)))
        .chain(ATOMIC_CLASSES.iter().map(|&c| (c, MEM_ALIGNED_FLAGS)))
        .collect();
    let (per_class, seeds) = SUITE.plan(classes.len());
    let fe = Aarch64::new();
    let mut total = 0;
    for seed in seeds {
        let (class, flags) = classes[(seed % classes.len() as u64) as usize];
        SUITE.run_class(&exe, &fe, class, seed, per_class, flags);
        total += per_class;
    }
    eprintln!("a64diff: {total} cases matched qemu-aarch64");
}
