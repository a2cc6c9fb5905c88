//! Differential test: random units run in the interpreter (the definition) and as compiled
//! code from identical states must leave identically (exit value, slot, pc, exception state,
//! every state word, the memory buffer).
//!
//! `XLAT_FUZZ_CASES=N` runs N units (default 10,000); `XLAT_SEED=S` replays the one unit with
//! seed S. A failure prints the seed, the unit and its CLIF.

use super::randunit::{self, Rng};
use super::{Harness, MEM_SIZE};
use xlat_ir::abi::{CpuState, STATE_WORDS};

fn env_from(seed: u64) -> Box<CpuState> {
    let mut r = Rng::new(seed ^ 0x5eed);
    let mut env = CpuState::new_boxed();
    for w in 0..STATE_WORDS.min(16) {
        env.regs[w] = r.value();
    }
    env.pc = 0x1000;
    env
}

/// Runs case `seed`; returns a failure report.
fn check_case(h: &mut Harness, seed: u64) -> Result<(), String> {
    let mut r = Rng::new(seed);
    let unit = randunit::unit(&mut r);
    xlat_ir::verify(&unit).map_err(|e| format!("generator made a bad unit: {e}\n{unit}"))?;
    let fill = r.next();
    let init = |i: usize| (fill.rotate_left((i % 64) as u32) as u8) ^ (i as u8);
    h.mem.fill(init);
    let mut e1 = env_from(seed);
    let want = h.run_interp(&unit, &mut e1);
    h.mem.fill(init);
    let mut e2 = env_from(seed);
    let got = h
        .run_jit(&unit, &mut e2)
        .map_err(|e| format!("compile failed: {e}\n{unit}"))?;
    if got != want {
        let diff = want.diff(&got, "jit", MEM_SIZE + 16);
        return Err(format!("{diff}unit:\n{unit}\nclif:\n{}", h.jit.last_clif()));
    }
    Ok(())
}

#[test]
fn random_units_match_the_interpreter() {
    // Both optimisation levels: the engine's (none) and the one a hot tier would use; and
    // both fault modes (precise: stores before every guest access).
    let mut precise = Harness::with_opt_level("speed");
    precise.precise = true;
    let mut hs = [Harness::with_opt_level("none"), precise];
    if let Ok(s) = std::env::var("XLAT_SEED") {
        let seed = s.trim_start_matches("0x");
        let seed = u64::from_str_radix(seed, 16).expect("XLAT_SEED is hex");
        for h in &mut hs {
            if let Err(e) = check_case(h, seed) {
                panic!("seed {seed:#x} failed:\n{e}");
            }
        }
        return;
    }
    let cases: u64 = std::env::var("XLAT_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let t0 = std::time::Instant::now();
    for k in 0..cases {
        let seed = 0x1234_5678_9abc_0000u64.wrapping_add(k.wrapping_mul(0x9e37_79b9));
        for h in &mut hs {
            if let Err(e) = check_case(h, seed) {
                panic!(
                    "seed {seed:#x} failed (replay: XLAT_SEED={seed:x} cargo test -p xlat-backend random_units):\n{e}"
                );
            }
        }
    }
    eprintln!(
        "{cases} random units matched at opt_level none, and speed with precise faults, in {:?}",
        t0.elapsed()
    );
}
