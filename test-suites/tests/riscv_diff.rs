//! Random-instruction-stream differential test of riscv64: generated static ELF executables
//! (see `xlat_test_suites::rvgen`) run under `qemu-riscv64` (the reference) and under
//! `xlat run` (jit for every batch, interp for every 4th), comparing every x and f register,
//! fflags and each case's scratch memory. `XLAT_DIFF_CASES=N` sets the number of cases
//! (default 10,000); replay a failure with
//! `cargo run -p xlat-test-suites --bin rvdiff -- --seed S --case K --show`.
#![allow(clippy::tests_outside_test_module, reason = "integration tests")]

use std::ffi::OsStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use xlat_test_suites::rvgen::{Batch, CASES_PER_BATCH, SCRATCH, SLOT, run_engine, write_elf};
use xlat_test_suites::{have, xlat_bin};

fn cases() -> usize {
    std::env::var("XLAT_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// The generator itself, checked under qemu alone: every batch exits 0 and writes the
/// expected byte count; registers the stream cannot touch keep their fixed values; streams
/// change state; and the dump decoder reports a planted one-byte difference.
#[test]
fn generator_runs_under_qemu() {
    if !have("qemu-riscv64") {
        eprintln!("skipping: qemu-riscv64 is not installed (scripts/setup.sh)");
        return;
    }
    let mut changed = 0;
    let mut total = 0;
    for seed in 1000..1005 {
        let batch = Batch::new(seed, CASES_PER_BATCH);
        let prog = write_elf(&batch, seed, "gen").expect("write elf");
        let out = run_engine(&[OsStr::new("qemu-riscv64")], &prog).expect("qemu runs the batch");
        assert_eq!(out.len(), batch.out_len, "seed {seed}: output length");
        let n = batch.cases.len();
        for (c, case) in batch.cases.iter().enumerate() {
            let slot = n * SCRATCH + c * SLOT;
            let reg = |r: usize| {
                u64::from_le_bytes(out[slot + 8 * r..slot + 8 * r + 8].try_into().expect("8"))
            };
            // sp and t6 (the base register) are never stored: their slots stay 0.
            assert_eq!(reg(2), 0, "seed {seed} case {c}: sp slot");
            assert_eq!(reg(31), 0, "seed {seed} case {c}: t6 slot");
            for r in 1..64 {
                if r != 2 && r != 31 {
                    total += 1;
                    if reg(r) != case.input[r] {
                        changed += 1;
                    }
                }
            }
        }
        let mut bad = out.clone();
        bad[n * SCRATCH + 3 * SLOT + 8 * 5] ^= 1;
        let d = batch.diff(&out, &bad, 10);
        assert_eq!(d.len(), 1, "the decoder finds the planted difference");
        assert_eq!(d[0].case, 3);
        assert!(d[0].lines[0].contains("t0"), "{:?}", d[0].lines);
        assert!(batch.diff(&out, &out, 10).is_empty());
    }
    // Streams of 20-60 instructions change a real share of the 61 checked registers.
    assert!(
        changed * 20 > total,
        "streams change state: {changed} of {total}"
    );
    assert!(
        changed * 2 < total,
        "most registers pass through: {changed} of {total}"
    );
}

/// xlat (jit, and interp for every 4th batch) against qemu-riscv64 on `XLAT_DIFF_CASES`
/// random cases in batches run on two threads.
#[test]
fn xlat_matches_qemu_on_random_streams() {
    if !have("qemu-riscv64") {
        eprintln!("skipping: qemu-riscv64 is not installed (scripts/setup.sh)");
        return;
    }
    let xlat = xlat_bin();
    let batches = cases().div_ceil(CASES_PER_BATCH) as u64;
    let next = AtomicU64::new(1);
    let failures = Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed > batches {
                        break;
                    }
                    let batch = Batch::new(seed, CASES_PER_BATCH);
                    let prog = write_elf(&batch, seed, "test").expect("write elf");
                    let want = run_engine(&[OsStr::new("qemu-riscv64")], &prog)
                        .unwrap_or_else(|e| panic!("seed {seed}: qemu failed: {e}"));
                    let accels: &[&str] = if seed.is_multiple_of(4) { &["jit", "interp"] } else { &["jit"] };
                    for accel in accels {
                        let cmd = [
                            xlat.as_os_str(),
                            OsStr::new("run"),
                            OsStr::new("--accel"),
                            OsStr::new(accel),
                        ];
                        let msg = match run_engine(&cmd, &prog) {
                            Err(e) => Some(format!("seed {seed} ({accel}): {e}")),
                            Ok(got) => {
                                let d = batch.diff(&want, &got, 3);
                                d.first().map(|d| {
                                    let listing = batch
                                        .cases
                                        .get(d.case)
                                        .map(|c| c.show())
                                        .unwrap_or_default();
                                    format!(
                                        "seed {seed} case {} ({accel}):\n  {}\n{listing}  replay: cargo run -p xlat-test-suites --bin rvdiff -- --seed {seed} --case {} --accel {accel} --show",
                                        d.case,
                                        d.lines.join("\n  "),
                                        d.case
                                    )
                                })
                            }
                        };
                        if let Some(m) = msg {
                            failures.lock().expect("lock").push(m);
                        }
                    }
                }
            });
        }
    });
    let f = failures.into_inner().expect("lock");
    assert!(
        f.is_empty(),
        "{} batch(es) differ from qemu:\n{}",
        f.len(),
        f.join("\n\n")
    );
}
