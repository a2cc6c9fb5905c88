//! Regions: several units compiled as one function must behave exactly like the same units
//! interpreted one after the other (following their `goto_tb` exits); at engine level, a
//! multi-block loop becomes a region and invalidating a member's page drops it.
//!
//! `XLAT_REGION_CASES=N` (default 2,000); `XLAT_REGION_SEED=S` (hex) replays one case.

use super::engine::{COUNT_LOOP, load, toy};
use super::randunit::{self, Rng, SLOT_PCS};
use super::{Harness, Outcome, TestMem};
use crate::jit;
use crate::{Accel, Engine, EngineConfig, RunExit};
use std::sync::atomic::{AtomicU32, Ordering};
use xlat_ir::abi::{CpuState, ExitKind, decode_exit, reg_offset};
use xlat_ir::{Cond, ExitReason, Inst, Opcode, Temp, Ty, Unit};

/// The pcs of the region members: the random units' `goto_tb`s lead to the last two.
const PCS: [u64; 3] = [0x1000, SLOT_PCS[0], SLOT_PCS[1]];
/// State word counting down the member entries left (random units use words 0..10).
const FUEL: usize = 15;

/// Prefixes `u` with `r15 -= 1; if r15 == 0 { exit(yield, pc) }`, so no region loops forever.
fn with_fuel(mut u: Unit, pc: u64) -> Unit {
    u.pc = pc;
    let t = |u: &mut Unit| {
        u.temps.push(Ty::I64);
        Temp(u.temps.len() as u32 - 1)
    };
    let (f, one, zero) = (t(&mut u), t(&mut u), t(&mut u));
    let cont = u.labels;
    u.labels += 1;
    let n = Temp::NONE;
    let off = u64::from(reg_offset(FUEL));
    let i = |op, dst, src: [Temp; 4], imm, aux| Inst {
        op,
        ty: Ty::I64,
        dst,
        src,
        imm,
        aux,
    };
    let head = vec![
        i(Opcode::GetReg, f, [n; 4], off, 0),
        i(Opcode::Const, one, [n; 4], 1, 0),
        i(Opcode::Sub, f, [f, one, n, n], 0, 0),
        i(Opcode::SetReg, n, [f, n, n, n], off, 0),
        i(Opcode::Const, zero, [n; 4], 0, 0),
        i(
            Opcode::Branch,
            n,
            [f, zero, n, n],
            u64::from(cont),
            Cond::Ne as u32,
        ),
        i(Opcode::Exit, n, [n; 4], pc, ExitReason::Yield as u32),
        i(Opcode::Label, n, [n; 4], u64::from(cont), 0),
    ];
    u.insts.splice(0..0, head);
    u
}

/// Turns most other terminators into `goto_tb`s to members (any slot, so some slots are
/// asked to lead to two places), so that cases loop around the region.
fn more_jumps(r: &mut Rng, u: &mut Unit) {
    for i in u.insts.iter_mut() {
        if matches!(i.op, Opcode::Exit | Opcode::Raise | Opcode::GotoPtr) && r.chance(70) {
            *i = Inst {
                op: Opcode::GotoTb,
                ty: Ty::I64,
                dst: Temp::NONE,
                src: [Temp::NONE; 4],
                imm: PCS[r.below(3) as usize],
                aux: r.below(2) as u32,
            };
        }
    }
}

fn state(seed: u64, fuel: u64) -> Box<CpuState> {
    let mut r = Rng::new(seed ^ 0x7e9);
    let mut env = CpuState::new_boxed();
    for w in 0..10 {
        env.regs[w] = r.value();
    }
    env.set_word(reg_offset(FUEL), fuel);
    env.pc = PCS[0];
    env
}

/// The interpreter, unit after unit, as long as a `goto_tb` leads to a member; also returns
/// how many jumps between members there were.
fn interp_chain(h: &Harness, units: &[Unit], env: &mut CpuState) -> (Outcome, u32) {
    let (mut cur, mut jumps) = (0, 0);
    loop {
        let o = h.run_interp(&units[cur], env);
        match units.iter().position(|u| u.pc == o.pc) {
            Some(m) if o.slot.is_some() && decode_exit(o.value).0 == ExitKind::Lookup => {
                cur = m;
                jumps += 1;
            }
            _ => return (o, jumps),
        }
    }
}

fn check_case(h: &mut Harness, seed: u64) -> Result<u32, String> {
    let mut r = Rng::new(seed);
    let units: Vec<Unit> = PCS
        .iter()
        .map(|&pc| {
            let mut u = randunit::unit(&mut r);
            more_jumps(&mut r, &mut u);
            with_fuel(u, pc)
        })
        .collect();
    for u in &units {
        xlat_ir::verify(u).map_err(|e| format!("bad unit: {e}\n{u}"))?;
    }
    let fuel = 1 + r.below(12);
    let fill = r.next();
    let init = |i: usize| (fill.rotate_left((i % 64) as u32) as u8) ^ (i as u8);
    h.mem.fill(init);
    let mut e1 = state(seed, fuel);
    let (want, jumps) = interp_chain(h, &units, &mut e1);
    h.mem.fill(init);
    let mut e2 = state(seed, fuel);
    h.jit.reset();
    let refs: Vec<&Unit> = units.iter().collect();
    let c = h
        .jit
        .compile_region(&refs, h.params())
        .map_err(|e| e.to_string())?;
    // SAFETY: `c.addr` was just compiled by this harness's JIT for this memory.
    let value = unsafe { jit::enter(h.jit.trampoline, &mut e2, c.addr) };
    let mut got = h.run_interp_outcome(value, &e2);
    // The slot is per member in a region: map it back to the member's slot index.
    if e2.last_slot != 0 {
        let k = (e2.last_slot - h.params().slots) / 8;
        got.slot = Some((k % 2) as u32);
    }
    if got != want {
        let mut diff = format!(
            "value {:#x}/{:#x} slot {:?}/{:?} pc {:#x}/{:#x} exc {:#x},{}/{:#x},{}\n",
            want.value,
            got.value,
            want.slot,
            got.slot,
            want.pc,
            got.pc,
            want.exc_arg,
            want.exc_pending,
            got.exc_arg,
            got.exc_pending
        );
        for (w, (a, b)) in want.regs.iter().zip(&got.regs).enumerate() {
            if a != b {
                diff.push_str(&format!("  word {w}: interp {a:#x} jit {b:#x}\n"));
            }
        }
        for (i, (a, b)) in want.mem.iter().zip(&got.mem).enumerate() {
            if a != b {
                diff.push_str(&format!("  mem[{i:#x}]: interp {a:#x} jit {b:#x}\n"));
            }
        }
        let units: Vec<String> = units.iter().map(|u| u.to_string()).collect();
        return Err(format!(
            "region and interpreter differ (fuel {fuel}; interp/jit)\n{diff}{}\n{}",
            units.join("\n"),
            h.jit.last_clif()
        ));
    }
    Ok(jumps)
}

#[test]
fn random_regions_match_the_interpreter() {
    let mut h = Harness::new();
    if let Ok(s) = std::env::var("XLAT_REGION_SEED") {
        let seed =
            u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("XLAT_REGION_SEED is hex");
        if let Err(e) = check_case(&mut h, seed) {
            panic!("seed {seed:#x}: {e}");
        }
        return;
    }
    let cases: u64 = std::env::var("XLAT_REGION_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut looping = 0;
    for k in 0..cases {
        let seed = 0x4e61_0000u64 + k;
        match check_case(&mut h, seed) {
            Ok(jumps) => looping += u64::from(jumps >= 2),
            Err(e) => panic!("seed {seed:#x} (replay: XLAT_REGION_SEED={seed:x}): {e}"),
        }
    }
    // The cases must exercise jumps inside regions, not only single-unit exits.
    assert!(
        looping * 4 >= cases,
        "{looping} of {cases} cases jumped twice"
    );
}

fn r(env: &CpuState, i: usize) -> u64 {
    env.word(reg_offset(i))
}

/// A two-block loop across a page boundary: 0xff0: addi r1,-1; bnez r1,+4 (→ 0x1000);
/// 0xff8: ecall; 0x1000: addi r2,K; bnez r15,-5 (→ 0xff0).
fn two_page_loop(mem: &TestMem, k: u8) {
    load(mem, 0xff0, &[[1, 1, 0xff, 0], [2, 1, 3, 0], [4, 0, 0, 0]]);
    load(mem, 0x1000, &[[1, 2, k, 0], [2, 15, 0xfb, 0]]);
}

fn loop_engine(mem: &std::sync::Arc<TestMem>) -> Engine {
    let cfg = EngineConfig {
        accel: Accel::Jit,
        hot_threshold: 5,
        ..EngineConfig::default()
    };
    Engine::new(toy(), mem.clone(), cfg).unwrap()
}

#[test]
fn a_multi_block_loop_becomes_a_region_and_a_member_page_change_drops_it() {
    let mem = TestMem::with_size(0x4000);
    two_page_loop(&mem, 1);
    let e = loop_engine(&mem);
    let mut env = CpuState::new_boxed();
    let run = |env: &mut CpuState, n| {
        env.pc = 0xff0;
        env.set_word(reg_offset(1), n);
        env.set_word(reg_offset(2), 0);
        env.set_word(reg_offset(15), 1);
        assert_eq!(e.run(env), RunExit::Syscall);
        assert_eq!(env.pc, 0xff8);
    };
    run(&mut env, 1000);
    assert_eq!(r(&env, 2), 999);
    let s = e.stats();
    assert!(s.regions_compiled >= 1, "no region: {s:?}");
    assert!(
        s.units_executed < 40,
        "the loop did not run inside one region: {s:?}"
    );
    // The member on the second page changes: the region headed on the first page must go.
    two_page_loop(&mem, 3);
    e.invalidate(0x1000, 4);
    assert!(e.stats().units_invalidated >= 2, "{:?}", e.stats());
    run(&mut env, 1000);
    assert_eq!(r(&env, 2), 999 * 3, "the stale region ran");
}

#[test]
fn exit_request_breaks_a_region_loop() {
    // The same loop, endless: r1 never reaches 0 in time.
    let mem = TestMem::with_size(0x4000);
    two_page_loop(&mem, 1);
    let e = loop_engine(&mem);
    let mut env = CpuState::new_boxed();
    env.pc = 0xff0;
    env.set_word(reg_offset(1), u64::MAX);
    env.set_word(reg_offset(15), 1);
    let req = &env.exit_request as *const AtomicU32 as usize;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: the state outlives this thread (joined below), exit_request is atomic.
        unsafe { &*(req as *const AtomicU32) }.store(1, Ordering::Relaxed);
    });
    assert_eq!(e.run(&mut env), RunExit::Request);
    t.join().unwrap();
    assert!(env.pc == 0xff0 || env.pc == 0x1000, "pc {:#x}", env.pc);
    // Registers were written back: r2 counts the iterations, r1 went down as many times.
    assert_eq!(
        r(&env, 2),
        u64::MAX - r(&env, 1) - u64::from(env.pc == 0x1000)
    );
    assert!(e.stats().regions_compiled >= 1);
}

#[test]
fn counted_guest_insns_are_the_same_in_every_tier() {
    // li r1, 1000; loop: addi r1,-1; addi r2,1; bnez r1,loop; ecall. Units entered: the first
    // (li + the loop body, 4 insns), the loop unit 999 times (3 insns), the ecall unit (1).
    let prog = COUNT_LOOP;
    let want = 4 + 999 * 3 + 1;
    for (accel, hot, count) in [
        (Accel::Interp, 0, true),
        (Accel::Jit, 0, true),
        (Accel::Jit, 5, true),
        (Accel::Jit, 0, false),
    ] {
        let mem = TestMem::new();
        load(&mem, 0x100, &prog);
        let cfg = EngineConfig {
            accel,
            hot_threshold: hot,
            count_insns: count,
            ..EngineConfig::default()
        };
        let e = Engine::new(toy(), mem.clone(), cfg).unwrap();
        let mut env = CpuState::new_boxed();
        env.pc = 0x100;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!(r(&env, 2), 1000);
        let got = e.stats().guest_insns_executed;
        assert_eq!(
            got,
            if count { want } else { 0 },
            "{accel:?} hot={hot} count={count}"
        );
    }
}

#[test]
fn straight_regions_chain_to_compiled_units_instead_of_copying_them() {
    // A: addi r2,1; bnez r15,+1 (-> B). B: addi r3,1; bnez r15,+1 (-> C). C: ecall.
    let mem = TestMem::new();
    load(
        &mem,
        0x100,
        &[
            [1, 2, 1, 0],
            [2, 15, 1, 0],
            [1, 3, 1, 0],
            [2, 15, 1, 0],
            [4, 0, 0, 0],
        ],
    );
    let cfg = EngineConfig {
        accel: Accel::Jit,
        hot_threshold: 0,
        ..EngineConfig::default()
    };
    let e = Engine::new(toy(), mem.clone(), cfg).unwrap();
    let mut env = CpuState::new_boxed();
    env.set_word(reg_offset(15), 1);
    // B and C get code of their own first, then A: A's region is A alone, chained to B.
    for start in [0x108, 0x100] {
        env.pc = start;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!(env.pc, 0x110);
    }
    assert_eq!((r(&env, 2), r(&env, 3)), (1, 2));
    let s = e.stats();
    assert_eq!(s.units_compiled, 3, "{s:?}");
    assert_eq!(s.regions_compiled, 0, "a compiled unit was copied: {s:?}");
}
