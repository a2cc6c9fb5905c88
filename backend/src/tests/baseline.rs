//! Differential test of the baseline tier (`crate::baseline`): random units run in the
//! interpreter (the definition) and as baseline code from identical states must leave
//! identically (exit value, pc, exception state, every state word, the memory buffer). The
//! baseline tier never chains, so the `goto_tb` slot is not compared.
//!
//! `XLAT_FUZZ_CASES=N` runs N units (default 10,000); `XLAT_SEED=S` replays the one unit with
//! seed S (hex).

use super::randunit::{self, Rng};
use super::softmmu::table;
use super::{Harness, Outcome};
use crate::baseline;
use crate::slow::SlowCtx;
use xlat_ir::abi::TlbEntry;
use xlat_ir::abi::{CpuState, STATE_WORDS};
use xlat_ir::{Opcode, Unit};

/// The state case `seed` starts from; with a TLB, half the registers hold small addresses
/// so that mapped pages are hit.
fn env_from(seed: u64, tlb: Option<&[TlbEntry]>) -> Box<CpuState> {
    let mut r = Rng::new(seed ^ 0x5eed);
    let mut env = CpuState::new_boxed();
    for w in 0..STATE_WORDS.min(16) {
        let v = r.value();
        env.regs[w] = if tlb.is_some() && w % 2 == 0 {
            v & 0xf_ffff
        } else {
            v
        };
    }
    env.pc = 0x1000;
    if let Some(t) = tlb {
        env.tlb = t.as_ptr() as u64;
    }
    env
}

/// Compiles `unit` with the baseline tier into the harness's code memory and runs it.
pub fn run_base(h: &mut Harness, unit: &Unit, env: &mut CpuState) -> Result<Outcome, String> {
    let p = baseline::Params {
        softmmu: h.softmmu,
        slow_ctx: &*h.slow as *const SlowCtx as u64,
        slots: 0,
        runs: 0,
        hot: 0,
        count_insns: false,
        jmp_cache: true,
        direct: if h.softmmu {
            None
        } else {
            xlat_softmmu::GuestMemory::direct(&*h.mem)
        },
        precise: false,
    };
    let code = baseline::compile(unit, p).ok_or("no baseline code for this unit")?;
    h.jit.reset();
    let c = h.jit.install(&code).map_err(|e| e.to_string())?;
    // SAFETY: `c.addr` holds the baseline code of `unit`, just installed in this harness's
    // code memory; its accessors use the harness's memory.
    let value = unsafe { crate::jit::enter(h.jit.trampoline, env, c.addr) };
    Ok(h.run_interp_outcome(value, env))
}

/// Runs case `seed`; Ok(false) when the unit has an op the tier leaves to the interpreter.
fn check_case(h: &mut Harness, seed: u64, tlb: Option<&[TlbEntry]>) -> Result<bool, String> {
    let mut r = Rng::new(seed);
    let unit = randunit::unit(&mut r);
    xlat_ir::verify(&unit).map_err(|e| format!("generator made a bad unit: {e}\n{unit}"))?;
    let fill = r.next();
    let init = |i: usize| (fill.rotate_left((i % 64) as u32) as u8) ^ (i as u8);
    h.mem.fill(init);
    let mut e1 = env_from(seed, tlb);
    let mut want = h.run_interp(&unit, &mut e1);
    want.slot = None;
    h.mem.fill(init);
    let mut e2 = env_from(seed, tlb);
    if baseline::compile(&unit, params()).is_none() && unit.insts.iter().any(|i| !known(i.op)) {
        return Ok(false); // falls back to the interpreter, as it must
    }
    let got = run_base(h, &unit, &mut e2).map_err(|e| format!("{e}\n{unit}"))?;
    if got != want {
        let diff = want.diff(&got, "baseline", usize::MAX);
        return Err(format!("{diff}unit:\n{unit}"));
    }
    Ok(true)
}

#[test]
fn random_units_match_the_interpreter_in_baseline_code() {
    fuzz(false);
}

/// System mode: loads and stores through an inline TLB (hits inline, misses and refused
/// stores out of line).
#[test]
fn random_units_match_the_interpreter_in_baseline_code_through_the_tlb() {
    fuzz(true);
}

fn fuzz(softmmu: bool) {
    let mut h = Harness::new();
    h.softmmu = softmmu;
    let tlb = table(&h.mem, 200);
    let tlb = softmmu.then_some(&tlb[..]);
    if let Ok(s) = std::env::var("XLAT_SEED") {
        let seed = u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("XLAT_SEED is hex");
        if let Err(e) = check_case(&mut h, seed, tlb) {
            panic!("seed {seed:#x} failed:\n{e}");
        }
        return;
    }
    let cases: u64 = std::env::var("XLAT_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut ran = 0;
    for k in 0..cases {
        let seed = 0x1234_5678_9abc_0000u64.wrapping_add(k.wrapping_mul(0x9e37_79b9));
        match check_case(&mut h, seed, tlb) {
            Ok(r) => ran += u64::from(r),
            Err(e) => panic!(
                "seed {seed:#x} failed (replay: XLAT_SEED={seed:x} cargo nextest run --release -p xlat-backend baseline):\n{e}"
            ),
        }
    }
    eprintln!("{ran} of {cases} random units ran as baseline code and matched");
    assert!(
        ran * 4 >= cases,
        "too few units got baseline code: {ran} of {cases}"
    );
}

/// Parameters for compiling only (nothing runs).
fn params() -> baseline::Params {
    baseline::Params {
        softmmu: false,
        slow_ctx: 0,
        slots: 0,
        runs: 0,
        hot: 0,
        count_insns: false,
        jmp_cache: true,
        direct: None,
        precise: false,
    }
}

/// Opcodes the baseline tier is meant to cover (ops added later may fall back).
fn known(op: Opcode) -> bool {
    op.name() != "atomic_cas128"
}

/// Every opcode the random units use has a template or a call: none makes a unit fall back.
#[test]
fn random_units_all_get_baseline_code() {
    let mut missing = Vec::new();
    for k in 0..2000u64 {
        let unit = randunit::unit(&mut Rng::new(k));
        if baseline::compile(&unit, params()).is_none() && unit.insts.iter().all(|i| known(i.op)) {
            let ops: Vec<Opcode> = unit.insts.iter().map(|i| i.op).collect();
            missing.push(format!("{ops:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "units without baseline code: {missing:?}"
    );
}

/// Every load and store size, signedness and type through the inline TLB: on a mapped page
/// (hit, inline), on a page refusing stores and on an unmapped one (out of line), as the
/// interpreter does it.
#[test]
fn tlb_hits_and_misses_match_the_interpreter() {
    use xlat_ir::{Builder, MemOp, Ty, abi::reg_offset};
    let mut h = Harness::new();
    h.softmmu = true;
    let tlb = table(&h.mem, 200);
    let mut ran = 0;
    for ty in [Ty::I32, Ty::I64] {
        for size_log2 in 0..=ty.bits().trailing_zeros() as u8 - 3 {
            for signed in [false, true] {
                // page 1: read and write hits; page 3: stores refused; page 300: misses
                for addr in [0x1ffau64, 0x1008, 0x3010, 0x12_c010, 0x1fff] {
                    let m = MemOp {
                        size_log2,
                        signed,
                        ..MemOp::le(1, false)
                    };
                    let mut b = Builder::new(0x1000);
                    b.insn_start(0x1000);
                    let a = b.get_reg(Ty::I64, reg_offset(0));
                    let v = b.load(ty, a, 0, m);
                    b.set_reg(reg_offset(1), v);
                    let w = b.get_reg(ty, reg_offset(2));
                    b.store(w, a, 4, m);
                    b.exit(xlat_ir::ExitReason::Yield, 0x1004);
                    let unit = b.finish(4, 1);
                    let init = |i: usize| (i as u8).wrapping_mul(37) | 0x80;
                    let env = || {
                        let mut e = env_from(1, Some(&tlb));
                        e.regs[0] = addr;
                        e.regs[2] = 0x8877_6655_f3f2_f1f0;
                        e
                    };
                    h.mem.fill(init);
                    let mut want = h.run_interp(&unit, &mut env());
                    want.slot = None;
                    h.mem.fill(init);
                    let got = run_base(&mut h, &unit, &mut env()).unwrap();
                    assert_eq!(got, want, "{m:?} {ty:?} at {addr:#x}\n{unit}");
                    ran += 1;
                }
            }
        }
    }
    assert_eq!(ran, 70);
}

/// A `const` a branch can skip is no immediate: the path around it reads the temp's 0, as in
/// the interpreter (r0 == r1 takes the branch).
#[test]
fn a_const_a_branch_skips_is_read_as_zero_on_that_path() {
    use xlat_ir::{Builder, Cond, Ty, abi::reg_offset};
    let mut h = Harness::new();
    for taken in [false, true] {
        let mut b = Builder::new(0x1000);
        b.insn_start(0x1000);
        let r0 = b.get_reg(Ty::I64, reg_offset(0));
        let r1 = b.get_reg(Ty::I64, reg_offset(1));
        let l = b.label();
        let t = b.temp(Ty::I64);
        b.branch(Cond::Eq, r0, r1, l);
        b.konst_to(t, 0x1234_5678_9abc);
        b.set_label(l);
        b.set_reg(reg_offset(2), t);
        b.exit(xlat_ir::ExitReason::Yield, 0x1004);
        let unit = b.finish(4, 1);
        let env = || {
            let mut e = env_from(7, None);
            e.regs[1] = if taken { e.regs[0] } else { !e.regs[0] };
            e
        };
        let mut want = h.run_interp(&unit, &mut env());
        want.slot = None;
        let got = run_base(&mut h, &unit, &mut env()).unwrap();
        assert_eq!(got, want, "taken {taken}\n{unit}");
    }
}
