//! Random-instruction-stream differential test of the x86-64 frontend against native
//! execution on this host (see `xlat_test_suites::x86gen`): every case runs natively in a
//! forked child and under xlat's engine (jit for every batch, the interpreter for every 4th),
//! comparing the GPRs, the defined flags, the XMMs, MXCSR and scratch memory.
//! `XLAT_X86_CASES=N` sets the number of cases (default 20,000), `XLAT_SEED=S` the first
//! batch seed; replay a failure with
//! `cargo run -p xlat-test-suites --bin x86diff -- --seed S --case K`.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use xlat_test_suites::x86gen::{batch, diff, native, run_and_diff};

const BATCH: usize = 500;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn xlat_matches_native_on_random_streams() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipping: the native reference needs an x86-64 host");
        return;
    }
    let total = env_u64("XLAT_X86_CASES", 20_000) as usize;
    let seed0 = env_u64("XLAT_SEED", 1);
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut signals = 0;
    for b in 0..total.div_ceil(BATCH) {
        let seed = seed0 + b as u64;
        let cases = batch(seed, BATCH.min(total - ran));
        let (want, f) = run_and_diff(&cases, seed, b % 4 == 0);
        failures.extend(f.into_iter().take(20 - failures.len().min(20)));
        signals += want.iter().filter(|s| s.signal != 0).count();
        ran += cases.len();
    }
    eprintln!("x86 diff: {ran} cases, {signals} ended in a native signal");
    // A real share of cases must run to completion (divides fault some).
    assert!(
        signals * 4 < ran,
        "{signals} of {ran} cases faulted natively"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The comparison can fail: a planted register difference is reported.
#[test]
fn diff_reports_a_planted_difference() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let cases = batch(7, 8);
    let want = native::run(&cases).expect("native run");
    let mut bad = want[3].clone();
    bad.gpr[0] ^= 1;
    let d = diff(&cases[3], &want[3], &bad);
    assert!(
        want[3].signal != 0 || d.iter().any(|l| l.starts_with("rax")),
        "{d:?}"
    );
    assert!(diff(&cases[3], &want[3], &want[3]).is_empty());
}

/// The branch class is generated: CI's batches hold forward jcc, jrcxz/jecxz, loop/loope/
/// loopne, jmp, call/ret pairs and setcc/cmovcc chains.
#[test]
fn branch_class_is_generated() {
    let cases: Vec<_> = (1..=4).flat_map(|s| batch(s, BATCH)).collect();
    for what in [
        "call ",
        "ret\n",
        "jrcxz",
        "jecxz",
        "loop ",
        "loope ",
        "loopne ",
        "jmp short",
        "set",
        "cmov",
        "ja short",
        "jl short",
    ] {
        let n = cases.iter().filter(|c| c.text.contains(what)).count();
        assert!(n >= 5, "{what:?} in only {n} of {} cases", cases.len());
    }
}
