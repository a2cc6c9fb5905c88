//! Replays one batch of the random riscv64 differential test: `rvdiff --seed S [--case K]
//! [--show] [--accel jit|interp] [--qemu-only]`. Prints each differing case's registers and
//! memory bytes, and with `--show` (or `--case`) the case's disassembly.

use std::ffi::OsStr;
use std::process::ExitCode;

use xlat_test_suites::rvgen::{Batch, CASES_PER_BATCH, run_engine, write_elf};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seed = None;
    let mut case = None;
    let mut show = false;
    let mut qemu_only = false;
    let mut accel = "jit".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = it.next().and_then(|s| s.parse::<u64>().ok()),
            "--case" => case = it.next().and_then(|s| s.parse::<usize>().ok()),
            "--accel" => accel = it.next().cloned().unwrap_or_default(),
            "--show" => show = true,
            "--qemu-only" => qemu_only = true,
            _ => {
                eprintln!(
                    "usage: rvdiff --seed S [--case K] [--show] [--accel jit|interp] [--qemu-only]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(seed) = seed else {
        eprintln!("rvdiff: --seed S is required");
        return ExitCode::from(2);
    };
    let batch = Batch::new(seed, CASES_PER_BATCH);
    let prog = match write_elf(&batch, seed, "replay") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rvdiff: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "seed {seed}: {} cases, program {}",
        batch.cases.len(),
        prog.display()
    );
    if let Some(k) = case
        && let Some(c) = batch.cases.get(k)
    {
        println!("case {k}:\n{}", c.show());
    }
    let want = match run_engine(&[OsStr::new("qemu-riscv64")], &prog) {
        Ok(o) => o,
        Err(e) => {
            println!("qemu failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if qemu_only {
        let ok = want.len() == batch.out_len;
        println!(
            "qemu wrote {} bytes (expected {})",
            want.len(),
            batch.out_len
        );
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let xlat = xlat_test_suites::xlat_bin();
    let cmd = [
        xlat.as_os_str(),
        OsStr::new("run"),
        OsStr::new("--accel"),
        OsStr::new(&accel),
    ];
    let got = match run_engine(&cmd, &prog) {
        Ok(o) => o,
        Err(e) => {
            println!("xlat failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let diffs = batch.diff(&want, &got, usize::MAX);
    for d in &diffs {
        if case.is_some_and(|k| k != d.case) {
            continue;
        }
        println!("case {} differs (want = qemu, got = xlat {accel}):", d.case);
        for l in &d.lines {
            println!("  {l}");
        }
        if show && let Some(c) = batch.cases.get(d.case) {
            print!("{}", c.show());
        }
    }
    if diffs.is_empty() {
        println!("identical");
        ExitCode::SUCCESS
    } else {
        println!("{} case(s) differ", diffs.len());
        ExitCode::FAILURE
    }
}
