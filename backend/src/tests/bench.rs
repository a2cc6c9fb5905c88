//! Measurements behind the defaults (run in release, they print tables):
//! `cargo test --release -p xlat-backend bench_ -- --ignored --nocapture --test-threads 1`

use super::engine::{load, toy};
use super::randunit::Rng;
use super::{HELPERS, Harness, TestMem};
use crate::{Accel, Engine, EngineConfig, RunExit};
use std::time::Instant;
use xlat_ir::abi::{CpuState, reg_offset};
use xlat_ir::{Builder, Cond, MemOp, Opcode, Ty, Unit};

/// A block shaped like a RISC-V lifter's output: `n` guest instructions (register-immediate
/// and register-register ALU ops, loads, stores, compares, an occasional helper call), ending
/// in a conditional branch with two chainable exits.
pub fn typical_unit(r: &mut Rng, pc: u64, n: u32) -> Unit {
    let mut b = Builder::new(pc);
    let reg = |r: &mut Rng| reg_offset(1 + r.below(31) as usize);
    for k in 0..n - 1 {
        b.insn_start(pc + 4 * u64::from(k));
        match r.below(10) {
            0..=3 => {
                let x = b.get_reg(Ty::I64, reg(r));
                let op = [Opcode::Add, Opcode::And, Opcode::Xor, Opcode::Shl][r.below(4) as usize];
                let y = b.binop_imm(op, x, r.below(64));
                b.set_reg(reg(r), y);
            }
            4..=5 => {
                let x = b.get_reg(Ty::I64, reg(r));
                let y = b.get_reg(Ty::I64, reg(r));
                let op = [Opcode::Add, Opcode::Sub, Opcode::Or, Opcode::Mul][r.below(4) as usize];
                let z = b.binop(op, x, y);
                b.set_reg(reg(r), z);
            }
            6..=7 => {
                let a = b.get_reg(Ty::I64, reg(r));
                let v = b.load(Ty::I64, a, (r.below(64) * 8) as i64, MemOp::le(8, false));
                b.set_reg(reg(r), v);
            }
            8 => {
                let a = b.get_reg(Ty::I64, reg(r));
                let v = b.get_reg(Ty::I64, reg(r));
                b.store(v, a, (r.below(64) * 8) as i64, MemOp::le(4, false));
            }
            _ => {
                let x = b.get_reg(Ty::I64, reg(r));
                let y = b.get_reg(Ty::I64, reg(r));
                let c = b.setcond(Cond::Ltu, x, y);
                b.set_reg(reg(r), c);
            }
        }
    }
    b.insn_start(pc + 4 * u64::from(n - 1));
    let x = b.get_reg(Ty::I64, reg(r));
    let y = b.get_reg(Ty::I64, reg(r));
    let l = b.label();
    b.branch(Cond::Ne, x, y, l);
    b.goto_tb(1, pc + 4 * u64::from(n));
    b.set_label(l);
    b.goto_tb(0, pc.wrapping_sub(64));
    let _ = &HELPERS;
    b.finish(4 * n, n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_compile_time() {
    println!("| opt | guest insns | IR ops | median µs | host bytes | bytes/insn |");
    for opt in ["none", "none+single_pass", "speed", "speed+single_pass"] {
        let mut h = Harness::new();
        h.jit = crate::jit::Jit::new(256 << 20, opt).unwrap();
        for n in [5u32, 10, 20, 40, 128] {
            let mut r = Rng::new(u64::from(n));
            let (mut times, mut bytes, mut ops) = (Vec::new(), 0usize, 0usize);
            for _ in 0..400 {
                let u = typical_unit(&mut r, 0x1000, n);
                let t0 = Instant::now();
                let c = h.jit.compile_unit(&u, h.params()).unwrap();
                times.push(t0.elapsed().as_secs_f64() * 1e6);
                bytes += c.size;
                ops += u.insts.len();
            }
            h.jit.reset();
            let nb = bytes as f64 / 400.0;
            println!(
                "| {opt} | {n} | {} | {:.1} | {:.0} | {:.1} |",
                ops / 400,
                median(times),
                nb,
                nb / f64::from(n)
            );
        }
    }
}

/// `count` iterations of an 8-instruction loop: li r1,count; L: 6 × addi; addi r1,-1; bnez r1,L
fn loop_prog(counts: &[u16]) -> Vec<[u8; 4]> {
    let mut p = Vec::new();
    for &c in counts {
        let [lo, hi] = c.to_le_bytes();
        p.push([7, 1, lo, hi]);
        for k in 2..8 {
            p.push([1, k, k, 0]);
        }
        p.push([1, 1, 0xff, 0]);
        p.push([2, 1, (-7i8) as u8, 0]);
    }
    p.push([4, 0, 0, 0]);
    p
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_tiering_threshold() {
    // Block execution counts spread log-uniformly over 1..20000: many blocks that run once or
    // a few times (like start-up code) and a long tail of hotter loops.
    let mut r = Rng::new(7);
    let counts: Vec<u16> = (0..700)
        .map(|_| {
            let u = (r.below(1 << 20) as f64) / f64::from(1 << 20);
            (20000f64.powf(u)).round().max(1.0) as u16
        })
        .collect();
    let prog = loop_prog(&counts);
    let mem = TestMem::with_size(1 << 15);
    assert!(prog.len() * 4 < 1 << 15);
    load(&mem, 0, &prog);
    let iters: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    println!(
        "workload: {} loops, {iters} loop iterations, {} guest insns executed",
        counts.len(),
        iters * 8
    );
    println!("| accel | opt | threshold | total ms | compiled units | interpreted runs |");
    let mut cases = vec![(Accel::Interp, "-", 0)];
    cases.extend(
        [0u32, 1, 10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000]
            .map(|t| (Accel::Jit, "speed", t)),
    );
    cases.extend([0u32, 1, 10, 30, 50, 100, 200, 500].map(|t| (Accel::Jit, "none", t)));
    cases.extend([0u32, 10, 30, 50, 100].map(|t| (Accel::Jit, "none+single_pass", t)));
    for (accel, opt, hot) in cases {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let cfg = EngineConfig {
                accel,
                hot_threshold: hot,
                ..EngineConfig::default()
            };
            let e = Engine::with_opt_level(toy(), mem.clone(), cfg, opt).unwrap();
            let mut env = CpuState::new_boxed();
            let t0 = Instant::now();
            assert_eq!(e.run(&mut env), RunExit::Syscall);
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            assert_eq!(env.word(reg_offset(2)), iters * 2);
            last = Some(e.stats());
        }
        let s = last.unwrap();
        println!(
            "| {accel:?} | {opt} | {hot} | {:.2} | {} | {} |",
            median(times),
            s.units_compiled,
            s.units_interpreted
        );
    }
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_hot_loop_speed() {
    // Four loops of 60000 iterations: execution time dominates.
    let prog = loop_prog(&[60000; 4]);
    let mem = TestMem::with_size(1 << 12);
    load(&mem, 0, &prog);
    println!("| opt | ms | ns per iteration (8 guest insns) |");
    for opt in ["none", "none+single_pass", "speed"] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let cfg = EngineConfig {
                hot_threshold: 0,
                ..EngineConfig::default()
            };
            let e = Engine::with_opt_level(toy(), mem.clone(), cfg, opt).unwrap();
            let mut env = CpuState::new_boxed();
            let t0 = Instant::now();
            assert_eq!(e.run(&mut env), RunExit::Syscall);
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let ms = median(times);
        println!("| {opt} | {ms:.2} | {:.2} |", ms * 1e6 / 240_000.0);
    }
}
