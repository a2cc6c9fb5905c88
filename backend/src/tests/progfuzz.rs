//! Engine-level differential test: random toy programs (branches back and forth, indirect
//! jumps, exceptions) run to completion in an interpreter-only engine and in JIT engines with
//! different hot thresholds and unit sizes; the exits and registers must agree. This covers
//! chaining, the jump cache and tier changes in the middle of a run.
//!
//! `XLAT_PROG_CASES=N` (default 1,000); `XLAT_PROG_SEED=S` (hex) replays one program.

use super::TestMem;
use super::engine::{load, toy};
use super::randunit::Rng;
use crate::{Accel, Engine, EngineConfig, RunExit};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use xlat_ir::abi::{CpuState, reg_offset};

const BASE: u64 = 0x200;

/// A program of blocks. Each block starts with a fuel check (`addi r15,-1; bnez r15,+2;
/// ecall`) so every run ends, then random ALU work and a random way out.
fn program(r: &mut Rng) -> Vec<[u8; 4]> {
    let nblocks = 2 + r.below(6) as usize;
    // First pass: block bodies without targets; second pass patches targets.
    let mut blocks: Vec<Vec<[u8; 4]>> = Vec::new();
    let mut exits = Vec::new();
    for _ in 0..nblocks {
        let mut b = vec![[1, 15, 0xff, 0], [2, 15, 2, 0], [4, 0, 0, 0]];
        for _ in 0..r.below(5) {
            let reg = 2 + r.below(8) as u8;
            if r.chance(20) {
                b.push([7, reg, r.below(4) as u8, 0]);
            } else {
                b.push([1, reg, r.next() as u8, 0]);
            }
        }
        exits.push(r.below(10));
        blocks.push(b);
    }
    let mut starts = Vec::new();
    let mut at = 0usize;
    for (k, b) in blocks.iter().enumerate() {
        starts.push(at);
        // exit sequence lengths: bnez (1), li+jr (2), fallthrough (0), illegal (1)
        at += b.len()
            + match exits[k] {
                0..=4 => 1,
                5..=7 => 2,
                8 => 0,
                _ => 1,
            };
    }
    let mut prog = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        prog.extend_from_slice(b);
        let target = starts[r.below(nblocks as u64) as usize];
        match exits[k] {
            0..=4 => {
                let here = prog.len() as i64;
                let off = (target as i64 - here) as i8 as u8;
                prog.push([2, 2 + r.below(8) as u8, off, 0]);
            }
            5..=7 => {
                let t = BASE + 4 * target as u64;
                prog.push([7, 11, t as u8, (t >> 8) as u8]);
                prog.push([3, 11, 0, 0]);
            }
            8 => {}
            _ => prog.push([0xee, r.below(256) as u8, 0, 0]),
        }
    }
    // Falling off the last block lands on an ecall.
    prog.push([4, 0, 0, 0]);
    prog
}

fn run_one(seed: u64) -> Result<(), String> {
    let mut r = Rng::new(seed);
    let prog = program(&mut r);
    assert!(prog.len() < 120, "branch offsets must fit");
    let fuel = 1 + r.below(300);
    let init: Vec<u64> = (0..10).map(|_| r.below(4)).collect();
    let mem = TestMem::new();
    load(&mem, BASE as usize, &prog);
    let max_insns = 1 + r.below(6) as u32;
    let mut reference = None;
    for (accel, hot) in [
        (Accel::Interp, 0),
        (Accel::Jit, 0),
        (Accel::Jit, 1),
        (Accel::Jit, 3),
        (Accel::Jit, 17),
    ] {
        let cfg = EngineConfig {
            accel,
            hot_threshold: hot,
            max_insns,
            code_size: 1 << 20,
            ..EngineConfig::default()
        };
        let e = Engine::new(toy(), mem.clone(), cfg).map_err(|e| e.to_string())?;
        let mut env = CpuState::new_boxed();
        for (k, &v) in init.iter().enumerate() {
            env.set_word(reg_offset(k), v);
        }
        env.set_word(reg_offset(15), fuel);
        env.pc = BASE;
        let mut exits = Vec::new();
        // Run on after exceptions too (skipping the bad instruction), a few times. A watchdog
        // turns a hang (a chaining bug looping forever) into a Request exit and a failure.
        let req = &env.exit_request as *const AtomicU32 as usize;
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let dog = s.spawn(|| {
                let deadline = std::time::Instant::now() + Duration::from_secs(5);
                while !done.load(Ordering::Acquire) {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        // SAFETY: the state outlives this scoped thread; exit_request is atomic.
                        unsafe { &*(req as *const AtomicU32) }.store(1, Ordering::Release);
                        break;
                    }
                    std::thread::park_timeout(deadline - now);
                }
            });
            for _ in 0..4 {
                let x = e.run(&mut env);
                exits.push((x, env.pc));
                if x == RunExit::Request || env.word(reg_offset(15)) == 0 {
                    break;
                }
                env.pc += 4;
            }
            done.store(true, Ordering::Release);
            dog.thread().unpark();
        });
        let regs: Vec<u64> = (0..16).map(|k| env.word(reg_offset(k))).collect();
        let got = (exits, regs);
        match &reference {
            None => reference = Some(got),
            Some(want) if *want != got => {
                return Err(format!(
                    "{accel:?} hot={hot} max_insns={max_insns} differs\ninterp: {want:?}\ngot:    {got:?}\nprogram: {prog:02x?}"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[test]
fn random_programs_agree_across_tiers() {
    if let Ok(s) = std::env::var("XLAT_PROG_SEED") {
        let seed =
            u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("XLAT_PROG_SEED is hex");
        if let Err(e) = run_one(seed) {
            panic!("seed {seed:#x}: {e}");
        }
        return;
    }
    let cases: u64 = std::env::var("XLAT_PROG_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    for k in 0..cases {
        let seed = 0xabcd_0000u64 + k;
        if let Err(e) = run_one(seed) {
            panic!("seed {seed:#x} (replay: XLAT_PROG_SEED={seed:x}): {e}");
        }
    }
}
