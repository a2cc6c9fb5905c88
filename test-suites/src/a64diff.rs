//! The random-case harness of the A64 differential suites (`tests/aarch64_diff.rs`,
//! `tests/a64fp_diff.rs`): random instructions of an encoding class that xlat's frontend
//! implements run four at a time inside test-suites/guest/aarch64/a64diff.c (a static guest
//! that sets random registers, FPCR and FPSR per case and prints the state after each case)
//! under qemu-aarch64 and under `xlat run`; every line must match.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng, rngs::StdRng};
use xlat_frontend_aarch64::Aarch64;
use xlat_ir::{CodeFetch, Frontend, Opcode};

use crate::{scratch_dir, xlat_bin};

/// Instructions per case.
pub const LEN: usize = 4;

/// a64diff.c's per-run flags: compare the V registers and FPSR, and randomise FPCR.
pub const FP_FLAGS: u32 = 1 | 2;

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
pub fn decodes(fe: &Aarch64, w: u32) -> bool {
    let u = fe.translate(0, &One(w), 1);
    !u.insts.iter().any(|i| i.op == Opcode::Raise)
}

/// A random implemented instruction of class `(val, mask)` touching only x0..x26.
pub fn random_insn(rng: &mut StdRng, fe: &Aarch64, val: u32, mask: u32) -> u32 {
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

/// a64diff.c's load/store mode: x24..x26 small indexes, x27 the base into a buffer whose hash
/// is compared.
pub const MEM_FLAGS: u32 = 1 | 4;

/// [`MEM_FLAGS`] with the base 16-byte aligned (exclusives, atomics).
pub const MEM_ALIGNED_FLAGS: u32 = MEM_FLAGS | 8;

/// Half the instructions of a case are forward branches ([`random_branch`]), the others of the
/// class (which should set flags).
pub const BRANCH_FLAGS: u32 = 16;

/// A random B, B.cond, CBZ/CBNZ or TBZ/TBNZ (32- and 64-bit) on x0..x26 jumping 1..=`ahead`
/// instructions forward (at most to the case's closing RET).
pub fn random_branch(rng: &mut StdRng, ahead: usize) -> u32 {
    let k = rng.random_range(1..=ahead as u32);
    let rt = rng.random_range(0..27u32);
    match rng.random_range(0..4) {
        0 => 0x1400_0000 | k,
        1 => 0x5400_0000 | k << 5 | rng.random_range(0..16u32),
        2 => {
            let (sf, op) = (rng.random_range(0..2u32), rng.random_range(0..2u32));
            0x3400_0000 | sf << 31 | op << 24 | k << 5 | rt
        }
        _ => {
            let bit = rng.random_range(0..64u32);
            0x3600_0000
                | (bit >> 5) << 31
                | rng.random_range(0..2u32) << 24
                | (bit & 31) << 19
                | k << 5
                | rt
        }
    }
}

/// A general register a load may write: x0..x23 or xzr.
fn data_reg(rng: &mut StdRng) -> u32 {
    if rng.random_range(0..8) == 0 {
        31
    } else {
        rng.random_range(0..24)
    }
}

/// A random implemented load/store of class `(val, mask)` addressing a64diff.c's buffer: base
/// x27, data registers x0..x23 (or xzr), register indexes x24..x26, immediates small enough to
/// stay inside the buffer, and none of the CONSTRAINED UNPREDICTABLE register overlaps (a load
/// pair or store-exclusive naming one register twice).
pub fn random_mem_insn(
    rng: &mut StdRng,
    fe: &Aarch64,
    (val, mask): (u32, u32),
    ok: &dyn Fn(u32) -> bool,
) -> u32 {
    let set = |w: u32, lo: u32, bits: u32, v: u32| {
        let m = ((1u32 << bits) - 1) << lo;
        (w & !m) | ((v << lo) & m)
    };
    loop {
        let mut w = (rng.random::<u32>() & !mask) | val;
        w = set(w, 5, 5, 27);
        let simd = (w >> 26) & 1 == 1;
        let rt = if simd {
            rng.random_range(0..32)
        } else {
            data_reg(rng)
        };
        w = set(w, 0, 5, rt);
        let (b29_27, b25_24, b21) = ((w >> 27) & 7, (w >> 24) & 3, (w >> 21) & 1);
        let index = rng.random_range(24..27);
        // Register pairs that must differ.
        let mut differ = Vec::new();
        match (b29_27, b25_24) {
            // Unsigned offset: at most 63 elements.
            (0b111, 0b01) => w &= !(0x3f << 16),
            (0b111, 0b00) if b21 == 1 && (w >> 10) & 3 == 2 => w = set(w, 16, 5, index),
            (0b111, 0b00) if b21 == 1 => w = set(w, 16, 5, data_reg(rng)),
            (0b101, _) => {
                let rt2 = if simd {
                    rng.random_range(0..32)
                } else {
                    data_reg(rng)
                };
                w = set(w, 10, 5, rt2);
                if (w >> 22) & 1 == 1 {
                    differ.push((rt, rt2));
                }
            }
            // Literal: within 1 KiB of the instruction.
            (0b011, _) => w = set(w, 5, 19, rng.random_range(0..512u32).wrapping_sub(256)),
            (0b001, _) if simd => {
                let rm = if (w >> 23) & 1 == 1 {
                    [24, 25, 26, 31][rng.random_range(0..4)]
                } else {
                    0
                };
                w = set(w, 16, 5, rm);
            }
            (0b001, _) => {
                let (o2, l, o1, wide) = ((w >> 23) & 1, (w >> 22) & 1, (w >> 21) & 1, w >> 31);
                let (rs, rt2) = (data_reg(rng), data_reg(rng));
                w = set(w, 16, 5, rs);
                w = set(w, 10, 5, rt2);
                if o2 == 0 && o1 == 1 && wide == 0 {
                    // CASP: even pairs.
                    w = set(w, 16, 5, rng.random_range(0..12) * 2);
                    w = set(w, 0, 5, rng.random_range(0..12) * 2);
                    w |= 31 << 10;
                } else if o2 == 0 && l == 0 {
                    // Store-exclusive: the status register is neither data register.
                    differ.push((rs, rt));
                    if o1 == 1 {
                        differ.push((rs, rt2));
                    }
                } else if o2 == 0 && o1 == 1 && l == 1 {
                    differ.push((rt, rt2));
                }
            }
            _ => {}
        }
        if differ.iter().any(|&(a, b)| a == b) || !ok(w) {
            continue;
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

/// One differential suite: its scratch directory and the environment variables for the case
/// count and the seed to replay.
#[derive(Debug)]
pub struct Suite {
    /// Scratch directory name (and the prefix of its messages).
    pub name: &'static str,
    /// Variable setting cases per class.
    pub cases_var: &'static str,
    /// Variable replaying one seed.
    pub seed_var: &'static str,
    /// Cases per class by default.
    pub default_cases: usize,
    /// The seed of class `i` is `seed_base + i`.
    pub seed_base: u64,
}

impl Suite {
    /// Builds a64diff.c, or `None` (with a one-line reason) where qemu-aarch64 or the cross
    /// compiler is missing.
    pub fn build(&self) -> Option<PathBuf> {
        if !crate::user::aarch64_tools() {
            return None;
        }
        let exe =
            crate::user::build_aarch64("aarch64/a64diff.c", &["-O2"], &[], &scratch_dir(self.name));
        Some(exe)
    }

    /// Cases per class, and the seeds to run (one per class, or the one to replay).
    pub fn plan(&self, classes: usize) -> (usize, Vec<u64>) {
        let per_class = std::env::var(self.cases_var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.default_cases);
        let seeds = match std::env::var(self.seed_var)
            .ok()
            .and_then(|v| v.parse().ok())
        {
            Some(s) => vec![s],
            None => (0..classes as u64).map(|i| self.seed_base + i).collect(),
        };
        (per_class, seeds)
    }

    /// Whether one seed is being replayed.
    pub fn replaying(&self) -> bool {
        std::env::var(self.seed_var).is_ok()
    }

    /// Runs `per_class` random cases of class `(name, val, mask)` from `seed` under both
    /// emulators and asserts every output line matches; returns qemu-aarch64's output.
    pub fn run_class(
        &self,
        exe: &PathBuf,
        fe: &Aarch64,
        (name, val, mask): (&str, u32, u32),
        seed: u64,
        per_class: usize,
        flags: u32,
    ) -> String {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut words: Vec<u32> = Vec::with_capacity(per_class * LEN);
        for _ in 0..per_class {
            // Exclusives of one case share a size and pair-ness: a store-exclusive of another
            // size than its load-exclusive is IMPLEMENTATION DEFINED (qemu-aarch64 stores
            // and reports failure).
            let (size, pair) =
                [(0, 0), (1, 0), (2, 0), (3, 0), (2, 1), (3, 1)][rng.random_range(0..6)];
            let same_size = |w: u32| {
                let exclusive = (w >> 24) & 0x3f == 0b00_1000 && (w >> 23) & 1 == 0;
                let casp = (w >> 21) & 1 == 1 && w >> 31 == 0;
                !exclusive || casp || (w >> 30, (w >> 21) & 1) == (size, pair)
            };
            for i in 0..LEN {
                words.push(
                    if flags & BRANCH_FLAGS != 0 && rng.random_range(0..2) == 0 {
                        random_branch(&mut rng, LEN - i)
                    } else if flags & 4 != 0 {
                        random_mem_insn(&mut rng, fe, (val, mask), &same_size)
                    } else {
                        random_insn(&mut rng, fe, val, mask)
                    },
                );
            }
        }
        let mut input = Vec::new();
        input.extend((per_class as u32).to_le_bytes());
        input.extend((LEN as u32 | (flags & 15) << 16).to_le_bytes());
        input.extend(seed.to_le_bytes());
        for w in &words {
            input.extend(w.to_le_bytes());
        }
        let (qok, want) = run(Command::new("qemu-aarch64").arg(exe), &input);
        let (xok, got) = run(Command::new(xlat_bin()).arg("run").arg(exe), &input);
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
                "class {name}, seed {seed} (replay: {}={seed} {}={per_class}), case {i}: \
                 instructions {:08x?}",
                self.seed_var,
                self.cases_var,
                &words[i * LEN..(i + 1) * LEN]
            );
        }
        assert_eq!(got.lines().count(), per_class, "class {name}: case count");
        want
    }
}
