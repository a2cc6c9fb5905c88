//! Differential tests of the A64 frontend against qemu-aarch64: random instruction sequences
//! per encoding class run inside test-suites/guest/aarch64/a64diff.c (a static guest program)
//! under qemu-aarch64 and under xlat; x0..x26, NZCV, FPSR and, for the FP and SIMD classes,
//! v0..v31 after every case must match. The FP and SIMD classes run with a random FPCR (RMode,
//! FZ, DN) per case.
//!
//! `A64DIFF_CASES=N` sets cases per class (default 750: 22,500 per run over 30 classes, 14
//! integer, 6 scalar FP, 10 AdvSIMD); `A64DIFF_SEED=S` replays one seed (printed on failure).
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::io::Write;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng, rngs::StdRng};
use xlat_frontend_aarch64::Aarch64;
use xlat_ir::{CodeFetch, Frontend, Opcode};
use xlat_test_suites::{have, scratch_dir, workspace_root, xlat_bin};

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
];

/// Index of the first FP/SIMD class (from there on the V registers are compared too).
const FIRST_FP: usize = 14;

const LEN: usize = 4;

struct One(u32);
impl CodeFetch for One {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        match pc {
            0 => Some(self.0 as u16),
            2 => Some((self.0 >> 16) as u16),
            _ => None,
        }
    }
}

/// Whether xlat's frontend implements `w` (its unit does not raise).
fn decodes(fe: &Aarch64, w: u32) -> bool {
    let u = fe.translate(0, &One(w), 1);
    !u.insts.iter().any(|i| i.op == Opcode::Raise)
}

/// A random instruction of class `(val, mask)` touching only x0..x26.
fn random_insn(rng: &mut StdRng, fe: &Aarch64, val: u32, mask: u32) -> u32 {
    loop {
        let mut w = (rng.random::<u32>() & !mask) | val;
        let rd = rng.random_range(0..27u32);
        let rn = rng.random_range(0..27u32);
        w = (w & !0x3ff) | rd | (rn << 5);
        // Register classes (bits 27:25 = x101) and EXTR: Rm, and Ra of the 3-source ones,
        // as well, since x27..x30 hold the harness's own addresses.
        if (val >> 25) & 7 == 0b101 || val == 0x1380_0000 {
            w = (w & !(0x1f << 16)) | (rng.random_range(0..27u32) << 16);
            if val & 0x1f00_0000 == 0x1b00_0000 {
                w = (w & !(0x1f << 10)) | (rng.random_range(0..27u32) << 10);
            }
        }
        if decodes(fe, w) {
            return w;
        }
    }
}

fn run(cmd: &mut Command, input: &[u8]) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn integer_fp_simd_classes_match_qemu() {
    if !have("qemu-aarch64") || !have("aarch64-linux-gnu-gcc") {
        eprintln!("skipping: qemu-aarch64 or aarch64-linux-gnu-gcc missing (scripts/setup.sh)");
        return;
    }
    let d = scratch_dir("aarch64_diff");
    std::fs::create_dir_all(&d).expect("work dir");
    let exe = d.join("a64diff");
    let src = workspace_root().join("test-suites/guest/aarch64/a64diff.c");
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(st.success(), "aarch64-linux-gnu-gcc a64diff.c");
    let per_class: usize = std::env::var("A64DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(750);
    let seeds: Vec<u64> = match std::env::var("A64DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(s) => vec![s],
        None => (0..CLASSES.len() as u64).map(|i| 0xa64d_1ff0 + i).collect(),
    };
    let fe = Aarch64::new();
    let mut total = 0;
    for seed in seeds {
        let class = (seed % CLASSES.len() as u64) as usize;
        let (name, val, mask) = CLASSES[class];
        let flags: u32 = if class >= FIRST_FP { 1 | 2 } else { 0 };
        let mut rng = StdRng::seed_from_u64(seed);
        let words: Vec<u32> = (0..per_class * LEN)
            .map(|_| random_insn(&mut rng, &fe, val, mask))
            .collect();
        let mut input = Vec::new();
        input.extend((per_class as u32).to_le_bytes());
        input.extend((LEN as u32 | flags << 16).to_le_bytes());
        input.extend(seed.to_le_bytes());
        for w in &words {
            input.extend(w.to_le_bytes());
        }
        let (qok, want) = run(Command::new("qemu-aarch64").arg(&exe), &input);
        let (xok, got) = run(Command::new(xlat_bin()).arg("run").arg(&exe), &input);
        let stop = |out: &str| {
            let i = out.lines().count();
            format!("case {i}: {:08x?}", words.get(i * LEN..(i + 1) * LEN))
        };
        assert!(qok, "class {name}: qemu-aarch64 stopped at {}", stop(&want));
        assert!(xok, "class {name}: xlat stopped at {}", stop(&got));
        for (i, (a, b)) in want.lines().zip(got.lines()).enumerate() {
            assert_eq!(
                b,
                a,
                "class {name}, seed {seed} (replay: A64DIFF_SEED={seed} A64DIFF_CASES={per_class}), \
                 case {i}: instructions {:08x?}",
                &words[i * LEN..(i + 1) * LEN]
            );
        }
        assert_eq!(got.lines().count(), per_class, "class {name}: case count");
        total += per_class;
    }
    eprintln!("a64diff: {total} cases matched qemu-aarch64");
}
