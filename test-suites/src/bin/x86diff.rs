//! Replays x86 differential cases: `x86diff --seed S [--case K] [--count N]` runs batch S
//! (500 cases, or N) natively and under xlat and prints each differing case with its
//! disassembly; `--case K` shows just that case, in full.

use std::process::ExitCode;
use xlat_test_suites::x86gen::{batch, diff, engine, native};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let seed = get("--seed").unwrap_or(1);
    let count = get("--count").unwrap_or(500) as usize;
    let only = get("--case").map(|k| k as usize);
    let cases = batch(seed, count.max(only.map_or(0, |k| k + 1)));
    let want = match native::run(&cases) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("x86diff: {e}");
            return ExitCode::from(2);
        }
    };
    let mut bad = 0;
    for jit in [true, false] {
        let got = match engine::run(&cases, jit) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("x86diff: {e}");
                return ExitCode::from(2);
            }
        };
        for (k, c) in cases.iter().enumerate() {
            if only.is_some_and(|o| o != k) {
                continue;
            }
            let d = diff(c, &want[k], &got[k]);
            if only.is_some() {
                println!(
                    "case {k} ({}):\n{}input {:x?}",
                    if jit { "jit" } else { "interp" },
                    c.text,
                    c.input.gpr
                );
                println!("native {:x?} signal {}", want[k].gpr, want[k].signal);
            }
            if !d.is_empty() {
                bad += 1;
                println!(
                    "seed {seed} case {k} ({}):\n{}  {}",
                    if jit { "jit" } else { "interp" },
                    c.text,
                    d.join("\n  ")
                );
            }
        }
    }
    println!(
        "{bad} differing runs of {} cases (jit and interp)",
        cases.len()
    );
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
