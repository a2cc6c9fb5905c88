//! Engine behaviour with a tiny hand-made guest ISA ("toy"): tiering, chaining, the jump
//! cache, exit requests, flushes (explicit, fence.i, code memory full) and exceptions.
//!
//! Toy encoding, 4 bytes per instruction, `[op, a, b, c]`:
//! - `01 r i _`  addi r, i (i signed 8-bit)
//! - `02 r o _`  bnez r, o (o signed, in instructions, relative to this one)
//! - `03 r _ _`  jr r
//! - `04 _ _ _`  ecall          - `05 _ _ _` ebreak          - `06 _ _ _` fence.i
//! - `07 r lo hi` li r, imm16
//! - anything else raises `ILLEGAL` with the instruction word as argument.

use super::TestMem;
use crate::{Accel, Engine, EngineConfig, RunExit};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use xlat_ir::abi::{CpuState, reg_offset};
use xlat_ir::{
    Builder, CodeFetch, Cond, ExitReason, Frontend, Opcode, TrapClass, Ty, Unit, UserAbi,
};

const ILLEGAL: u32 = 2;

#[derive(Debug)]
pub(super) struct Toy(UserAbi);

pub(super) fn toy() -> Arc<Toy> {
    Arc::new(Toy(UserAbi {
        syscall_nr: reg_offset(7),
        syscall_args: [
            reg_offset(1),
            reg_offset(2),
            reg_offset(3),
            reg_offset(4),
            reg_offset(5),
            reg_offset(6),
        ],
        syscall_ret: reg_offset(1),
        sp: reg_offset(8),
        tp: reg_offset(9),
        syscall_insn_len: 4,
        elf_machine: 0,
        hwcap: 0,
        uname_machine: "toy",
    }))
}

fn fetch32(code: &dyn CodeFetch, pc: u64) -> Option<u32> {
    Some(u32::from(code.fetch_u16(pc)?) | (u32::from(code.fetch_u16(pc + 2)?) << 16))
}

impl Frontend for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }
    fn translate(&self, pc0: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
        let mut b = Builder::new(pc0);
        let mut pc = pc0;
        let mut n = 0;
        loop {
            b.insn_start(pc);
            n += 1;
            let w = fetch32(code, pc).unwrap_or(0);
            let [op, a, c, d] = w.to_le_bytes();
            let r = reg_offset(usize::from(a & 15));
            match op {
                1 => {
                    let x = b.get_reg(Ty::I64, r);
                    let y = b.binop_imm(Opcode::Add, x, i64::from(c as i8) as u64);
                    b.set_reg(r, y);
                }
                2 => {
                    let x = b.get_reg(Ty::I64, r);
                    let z = b.konst(Ty::I64, 0);
                    let taken = b.label();
                    b.branch(Cond::Ne, x, z, taken);
                    b.goto_tb(1, pc + 4);
                    b.set_label(taken);
                    b.goto_tb(0, pc.wrapping_add((i64::from(c as i8) * 4) as u64));
                }
                3 => {
                    let x = b.get_reg(Ty::I64, r);
                    b.goto_ptr(x);
                }
                4 => b.exit(ExitReason::Syscall, pc),
                5 => b.exit(ExitReason::Breakpoint, pc),
                6 => b.exit(ExitReason::FlushCode, pc + 4),
                7 => {
                    let k = b.konst(Ty::I64, u64::from(u16::from_le_bytes([c, d])));
                    b.set_reg(r, k);
                }
                _ => {
                    let k = b.konst(Ty::I64, u64::from(w));
                    b.raise(ILLEGAL, pc, Some(k));
                }
            }
            if b.ends_with_terminator() {
                break;
            }
            pc += 4;
            if n >= max_insns {
                b.goto_tb(0, pc);
                return b.finish((pc - pc0) as u32, n);
            }
        }
        b.finish((pc + 4 - pc0) as u32, n)
    }
    fn disas(&self, pc: u64, code: &dyn CodeFetch) -> (u32, String) {
        (4, format!("toy {:08x}", fetch32(code, pc).unwrap_or(0)))
    }
    fn classify_trap(&self, code: u32) -> TrapClass {
        if code == ILLEGAL {
            TrapClass::IllegalInstruction
        } else {
            TrapClass::Other
        }
    }
    fn user_abi(&self) -> &UserAbi {
        &self.0
    }
    fn init_user_state(&self, _: &mut CpuState) {}
    fn registers(&self) -> Vec<(&'static str, u32)> {
        (0..16).map(|i| ("r", reg_offset(i))).collect()
    }
}

pub(super) fn load(mem: &TestMem, at: usize, prog: &[[u8; 4]]) {
    for (k, w) in prog.iter().enumerate() {
        mem.write(at + 4 * k, w);
    }
}

fn engine(mem: &Arc<TestMem>, accel: Accel, hot: u32) -> Engine {
    let cfg = EngineConfig {
        accel,
        hot_threshold: hot,
        ..EngineConfig::default()
    };
    Engine::new(toy(), mem.clone(), cfg).unwrap()
}

fn r(env: &CpuState, i: usize) -> u64 {
    env.word(reg_offset(i))
}

/// li r1, n; loop: addi r1, -1; addi r2, step; bnez r1, loop; ecall
const fn count_loop(n: u16, step: u8) -> [[u8; 4]; 5] {
    let [lo, hi] = n.to_le_bytes();
    [
        [7, 1, lo, hi],
        [1, 1, 0xff, 0],
        [1, 2, step, 0],
        [2, 1, 0xfe, 0],
        [4, 0, 0, 0],
    ]
}

/// li r1, 1000; loop: addi r1, -1; addi r2, 1; bnez r1, loop; ecall
pub(super) const COUNT_LOOP: [[u8; 4]; 5] = count_loop(1000, 1);

/// li r3, outer; loop: li r1, 60000; inner: addi r1,-1; addi r2,1; bnez r1,inner;
/// addi r3,-1; bnez r3,loop; ecall — r2 ends at outer * 60000, all of it chained.
fn nested_loop(outer: u8) -> [[u8; 4]; 8] {
    [
        [7, 3, outer, 0],
        [7, 1, 0x60, 0xea],
        [1, 1, 0xff, 0],
        [1, 2, 1, 0],
        [2, 1, 0xfe, 0],
        [1, 3, 0xff, 0],
        [2, 3, 0xfb, 0],
        [4, 0, 0, 0],
    ]
}

/// Two vCPU threads run the program at 0x100 over and over (each run must end in ecall and
/// pass `check`) until `disturb`, run meanwhile on this thread, returns; so whatever `disturb`
/// does lands while compiled code runs, however the threads get scheduled. Returns how many
/// runs finished.
fn on_two_vcpus(e: &Engine, check: impl Fn(&CpuState) + Sync, disturb: impl FnOnce()) -> u64 {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let vcpu = || {
            // Each vCPU runs at least once, so a disturbance that ends before a thread is
            // scheduled still leaves work behind it.
            let mut runs = 0u64;
            loop {
                let mut env = CpuState::new_boxed();
                env.pc = 0x100;
                assert_eq!(e.run(&mut env), RunExit::Syscall);
                check(&env);
                runs += 1;
                if stop.load(Ordering::Relaxed) {
                    break runs;
                }
            }
        };
        let (a, b) = (s.spawn(vcpu), s.spawn(vcpu));
        disturb();
        stop.store(true, Ordering::Relaxed);
        a.join().unwrap() + b.join().unwrap()
    })
}

#[test]
fn loop_gives_the_same_result_in_every_tier() {
    for (accel, hot) in [
        (Accel::Interp, 0),
        (Accel::Jit, 0),
        (Accel::Jit, 5),
        (Accel::Jit, 10_000),
    ] {
        let mem = TestMem::new();
        load(&mem, 0x100, &COUNT_LOOP);
        let e = engine(&mem, accel, hot);
        let mut env = CpuState::new_boxed();
        env.pc = 0x100;
        assert_eq!(e.run(&mut env), RunExit::Syscall, "{accel:?}/{hot}");
        assert_eq!(
            (r(&env, 1), r(&env, 2), env.pc),
            (0, 1000, 0x110),
            "{accel:?}/{hot}"
        );
    }
}

#[test]
fn hot_loop_is_compiled_and_chained() {
    let mem = TestMem::new();
    load(&mem, 0x100, &COUNT_LOOP);
    let e = engine(&mem, Accel::Jit, 3);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    let s = e.stats();
    assert_eq!(s.units_translated, 3, "{s:?}"); // li+loop body, loop body, ecall
    assert!(s.units_compiled >= 1, "{s:?}");
    // 1000 iterations, but once the loop's slot 0 is chained to itself the loop never returns.
    assert!(s.units_executed < 20, "chaining did not happen: {s:?}");
    assert!(s.host_code_bytes > 0 && s.compile_us_median > 0, "{s:?}");
}

#[test]
fn interp_only_never_compiles() {
    let mem = TestMem::new();
    load(&mem, 0x100, &COUNT_LOOP);
    let e = engine(&mem, Accel::Interp, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    e.run(&mut env);
    let s = e.stats();
    assert_eq!(s.units_compiled, 0);
    assert!(s.units_executed >= 1000, "{s:?}");
}

#[test]
fn indirect_jumps_hit_the_jump_cache() {
    // li r1, 100; li r3, 0x108; 0x108: addi r1,-1; addi r2,1; bnez r1,+2; ecall; jr r3
    let prog = [
        [7, 1, 100, 0],
        [7, 3, 0x08, 0x01],
        [1, 1, 0xff, 0],
        [1, 2, 1, 0],
        [2, 1, 2, 0],
        [4, 0, 0, 0],
        [3, 3, 0, 0],
    ];
    let mem = TestMem::new();
    load(&mem, 0x100, &prog);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!((r(&env, 1), r(&env, 2), env.pc), (0, 100, 0x114));
    let s = e.stats();
    assert!(s.units_executed < 15, "jump cache missed: {s:?}");
    let ent = env.jmp_cache[xlat_ir::abi::jmp_cache_index(0x108)];
    assert_eq!(ent.pc, 0x108);
    assert_ne!(ent.code, 0);
}

#[test]
fn jump_cache_misses_find_compiled_code_without_the_loop() {
    // Two blocks whose pcs share a jump-cache slot jump to each other with `jr`, so every
    // indirect jump misses the inline jump cache; the TB-cache probe finds the compiled
    // target and the run stays in compiled code (through the loop: two passes per round).
    // 0x100: li r1, 100; li r3, 0x1000; li r4, b; jr r3
    // 0x1000: addi r1,-1; bnez r1,+2; ecall; jr r4      b: jr r3
    // (b: the first pc after the first block's that indexes the same slot)
    let a = 0x1000u64;
    let b = (a + 16..0x4000)
        .step_by(4)
        .find(|&b| xlat_ir::abi::jmp_cache_index(a) == xlat_ir::abi::jmp_cache_index(b))
        .unwrap();
    assert_eq!(
        xlat_ir::abi::jmp_cache_index(a),
        xlat_ir::abi::jmp_cache_index(b)
    );
    let mem = TestMem::with_size(0x4000);
    load(
        &mem,
        0x100,
        &[
            [7, 1, 100, 0],
            [7, 3, 0, 0x10],
            [7, 4, b as u8, (b >> 8) as u8],
            [3, 3, 0, 0],
        ],
    );
    load(
        &mem,
        0x1000,
        &[[1, 1, 0xff, 0], [2, 1, 2, 0], [4, 0, 0, 0], [3, 4, 0, 0]],
    );
    load(&mem, b as usize, &[[3, 3, 0, 0]]);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!((r(&env, 1), env.pc), (0, 0x1008));
    let s = e.stats();
    assert!(s.units_compiled >= 3, "{s:?}");
    assert!(s.units_executed < 20, "misses went through the loop: {s:?}");
    // Rewritten code: the probe never finds the dropped translation of the old one.
    load(&mem, b as usize, &[[1, 5, 1, 0], [3, 3, 0, 0]]);
    e.invalidate(b, 8);
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!((r(&env, 1), r(&env, 5), env.pc), (0, 99, 0x1008));
}

#[test]
fn exit_request_stops_at_the_next_unit() {
    let mem = TestMem::new();
    load(&mem, 0x100, &COUNT_LOOP);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    env.exit_request.store(1, Ordering::Relaxed);
    assert_eq!(e.run(&mut env), RunExit::Request);
    assert_eq!(env.pc, 0x100);
    assert_eq!(r(&env, 1), 0, "nothing ran");
}

#[test]
fn exit_request_from_another_thread_breaks_a_chained_loop() {
    // li r1, 1; loop: bnez r1, loop  (forever, chained to itself)
    let mem = TestMem::new();
    load(&mem, 0x100, &[[7, 1, 1, 0], [2, 1, 0, 0]]);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    let req = &env.exit_request as *const AtomicU32 as usize;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: the state outlives this thread (joined below before it is dropped), and
        // exit_request is an atomic meant to be set from other threads.
        unsafe { &*(req as *const AtomicU32) }.store(1, Ordering::Relaxed);
    });
    assert_eq!(e.run(&mut env), RunExit::Request);
    t.join().unwrap();
    assert_eq!(env.pc, 0x104);
    assert!(e.stats().units_executed < 10, "the loop ran chained");
}

#[test]
fn flush_retranslates_changed_code() {
    // addi r2, 1; ecall
    let mem = TestMem::new();
    load(&mem, 0x100, &[[1, 2, 1, 0], [4, 0, 0, 0]]);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    load(&mem, 0x100, &[[1, 2, 5, 0]]);
    env.pc = 0x100;
    e.run(&mut env);
    assert_eq!(
        r(&env, 2),
        2,
        "stale translation still used without a flush"
    );
    e.flush();
    env.pc = 0x100;
    e.run(&mut env);
    assert_eq!(r(&env, 2), 7);
    assert_eq!(e.stats().flushes, 1);
}

#[test]
fn fence_i_flushes_and_continues() {
    // addi r2, 1; fence.i; ecall
    let mem = TestMem::new();
    load(&mem, 0x100, &[[1, 2, 1, 0], [6, 0, 0, 0], [4, 0, 0, 0]]);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!((r(&env, 2), env.pc), (1, 0x108));
    assert_eq!(e.stats().flushes, 1);
}

/// An engine whose 32 KiB of code memory cannot hold the 1000 separate one-instruction units
/// (max_insns 1) at 0 doing addi r2, 1 before an ecall.
fn thousand_units_in_32_kib() -> Engine {
    let mem = TestMem::new();
    let mut prog = vec![[1u8, 2, 1, 0]; 1000];
    prog.push([4, 0, 0, 0]);
    load(&mem, 0x0, &prog);
    let cfg = EngineConfig {
        hot_threshold: 0,
        max_insns: 1,
        code_size: 32 << 10,
        ..EngineConfig::default()
    };
    Engine::new(toy(), mem, cfg).unwrap()
}

#[test]
fn full_code_memory_flushes_and_keeps_going() {
    // 1000 separate one-instruction units (max_insns 1) doing addi r2, 1, then ecall; twice.
    let e = thousand_units_in_32_kib();
    let mut env = CpuState::new_boxed();
    for round in 1..=2 {
        env.pc = 0;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!(r(&env, 2), 1000 * round);
    }
    assert!(e.stats().flushes >= 1, "{:?}", e.stats());
}

#[test]
fn exceptions_and_breakpoints_report_the_pc() {
    let mem = TestMem::new();
    load(&mem, 0x100, &[[1, 2, 1, 0], [0xee, 1, 2, 3], [5, 0, 0, 0]]);
    for hot in [0, 100] {
        let e = engine(&mem, Accel::Jit, hot);
        let mut env = CpuState::new_boxed();
        env.pc = 0x100;
        assert_eq!(
            e.run(&mut env),
            RunExit::Exception {
                code: ILLEGAL,
                arg: 0x0302_01ee
            }
        );
        assert_eq!((env.pc, r(&env, 2)), (0x104, 1));
        env.pc = 0x108;
        assert_eq!(e.run(&mut env), RunExit::Breakpoint);
        assert_eq!(env.pc, 0x108);
    }
}

#[derive(Debug)]
struct NoDirect(Arc<TestMem>);
impl xlat_ir::interp::GuestMem for NoDirect {
    fn load(&self, a: u64, m: xlat_ir::MemOp) -> Result<u64, xlat_ir::interp::MemFault> {
        self.0.load(a, m)
    }
    fn store(&self, a: u64, m: xlat_ir::MemOp, v: u64) -> Result<(), xlat_ir::interp::MemFault> {
        self.0.store(a, m, v)
    }
    fn atomic_rmw(
        &self,
        a: u64,
        m: xlat_ir::MemOp,
        o: xlat_ir::AtomicOp,
        v: u64,
    ) -> Result<u64, xlat_ir::interp::MemFault> {
        self.0.atomic_rmw(a, m, o, v)
    }
    fn atomic_cas(
        &self,
        a: u64,
        m: xlat_ir::MemOp,
        e: u64,
        n: u64,
    ) -> Result<u64, xlat_ir::interp::MemFault> {
        self.0.atomic_cas(a, m, e, n)
    }
}
impl CodeFetch for NoDirect {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        self.0.fetch_u16(pc)
    }
}
impl xlat_softmmu::GuestMemory for NoDirect {
    fn direct(&self) -> Option<xlat_softmmu::DirectMap> {
        None
    }
}

#[test]
fn jit_without_a_direct_map_runs_accesses_out_of_line() {
    // System mode: memory without a direct map compiles every access through the inline TLB
    // and the out-of-line path (crate::softmmu) instead of refusing.
    let mem = Arc::new(NoDirect(TestMem::new()));
    assert!(Engine::new(toy(), mem.clone(), EngineConfig::default()).is_ok());
    let cfg = EngineConfig {
        accel: Accel::Interp,
        ..EngineConfig::default()
    };
    assert!(Engine::new(toy(), mem, cfg).is_ok());
}

#[test]
fn flush_from_another_thread_pulls_running_vcpus_out_safely() {
    // 12 M chained iterations per run
    let mem = TestMem::new();
    load(&mem, 0x100, &nested_loop(200));
    let e = engine(&mem, Accel::Jit, 0);
    let check = |env: &CpuState| {
        assert_eq!(r(env, 2), 12_000_000);
        assert_eq!(
            env.exit_request.load(Ordering::Relaxed),
            0,
            "no request leaks"
        );
    };
    let runs = on_two_vcpus(&e, check, || {
        for _ in 0..30 {
            e.flush();
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
    });
    assert!(runs >= 2);
    assert_eq!(e.stats().flushes, 30);
}

#[test]
fn invalidating_a_range_retranslates_only_that_code_and_unlinks_it() {
    // 0x100: li r1, 1000; loop: addi r1,-1; addi r2,1; bnez r1,loop; ecall
    let mem = TestMem::new();
    load(&mem, 0x100, &COUNT_LOOP);
    // 0x800: addi r5, 1; ecall  (another page, must survive)
    load(&mem, 0x800, &[[1, 5, 1, 0], [4, 0, 0, 0]]);
    let e = engine(&mem, Accel::Jit, 0);
    let mut env = CpuState::new_boxed();
    for pc in [0x100, 0x800] {
        env.pc = pc;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
    }
    assert_eq!((r(&env, 2), r(&env, 5)), (1000, 1));
    let before = e.stats().units_translated;
    // The loop body now adds 3 to r2; the chained loop must pick that up.
    load(&mem, 0x108, &[[1, 2, 3, 0]]);
    e.invalidate(0x108, 4);
    let s = e.stats();
    assert_eq!(s.units_invalidated, 2, "the li+loop unit and the loop unit");
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!(r(&env, 2), 1000 + 3000);
    env.pc = 0x800;
    e.run(&mut env);
    assert_eq!(r(&env, 5), 2);
    assert_eq!(
        e.stats().units_translated,
        before + 2,
        "only the invalidated units came back"
    );
    assert_eq!(e.stats().flushes, 0);
    e.invalidate(0x2000, 0x1000);
    assert_eq!(e.stats().units_invalidated, 2, "nothing there");
}

#[test]
fn invalidating_a_chained_target_unlinks_the_slot_that_led_to_it() {
    // One unit per instruction: 0x100 → 0x104 → 0x108 chained through goto_tb slots.
    let mem = TestMem::new();
    load(&mem, 0x100, &[[1, 2, 1, 0], [1, 3, 1, 0], [4, 0, 0, 0]]);
    let cfg = EngineConfig {
        hot_threshold: 0,
        max_insns: 1,
        ..EngineConfig::default()
    };
    let e = Engine::new(toy(), mem.clone(), cfg).unwrap();
    let mut env = CpuState::new_boxed();
    for _ in 0..2 {
        env.pc = 0x100;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
    }
    let executed = e.stats().units_executed;
    env.pc = 0x100;
    e.run(&mut env);
    assert_eq!(
        e.stats().units_executed,
        executed + 1,
        "0x100 → 0x104 → 0x108 ran chained"
    );
    load(&mem, 0x104, &[[1, 3, 7, 0]]);
    e.invalidate(0x104, 4);
    assert_eq!(e.stats().units_invalidated, 1);
    env.pc = 0x100;
    e.run(&mut env);
    assert_eq!(
        (r(&env, 2), r(&env, 3)),
        (4, 3 + 7),
        "the stale chained target ran"
    );
}

#[test]
fn invalidating_while_vcpus_run_is_safe() {
    // The flush test's nested loop, invalidated over and over while two vCPUs run it.
    let mem = TestMem::new();
    load(&mem, 0x100, &nested_loop(100));
    let e = engine(&mem, Accel::Jit, 0);
    on_two_vcpus(
        &e,
        |env| assert_eq!(r(env, 2), 6_000_000),
        || {
            // At least 40 invalidations, and on until some hit translated code: on a loaded
            // machine the vCPU threads may not have translated anything during the first 40.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut k = 0u64;
            while k < 40
                || (e.stats().units_invalidated <= 3 && std::time::Instant::now() < deadline)
            {
                e.invalidate(0x100 + 4 * (k % 8), 4);
                std::thread::sleep(std::time::Duration::from_micros(200));
                k += 1;
            }
        },
    );
    assert!(e.stats().units_invalidated > 3, "{:?}", e.stats());
}

#[test]
fn a_state_run_by_two_engines_never_follows_the_other_engines_code() {
    // li r3, 0x108; jr r3; 0x108: addi r2, K; ecall — K = 1 in A's memory, 5 in B's.
    let prog = |k: u8| [[7, 3, 0x08, 0x01], [3, 3, 0, 0], [1, 2, k, 0], [4, 0, 0, 0]];
    let (ma, mb) = (TestMem::new(), TestMem::new());
    load(&ma, 0x100, &prog(1));
    load(&mb, 0x100, &prog(5));
    let (a, b) = (engine(&ma, Accel::Jit, 0), engine(&mb, Accel::Jit, 0));
    let mut env = CpuState::new_boxed();
    let mut want = 0;
    for (e, k) in [(&a, 1), (&b, 5), (&a, 1), (&b, 5), (&a, 1)] {
        env.pc = 0x100;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        want += k;
        assert_eq!(r(&env, 2), want);
    }
}

#[test]
fn traces_print_without_disturbing_the_run() {
    let mem = TestMem::new();
    load(&mem, 0x100, &COUNT_LOOP);
    let trace = crate::Trace {
        in_asm: true,
        ir: true,
        out_asm: true,
        exec: true,
    };
    let cfg = EngineConfig {
        hot_threshold: 2,
        trace,
        ..EngineConfig::default()
    };
    let e = Engine::new(toy(), mem.clone(), cfg).unwrap();
    let mut env = CpuState::new_boxed();
    env.pc = 0x100;
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!(r(&env, 2), 1000);
    let s = e.stats();
    assert!(s.units_compiled >= 1);
    assert!(!e.is_jit_code(env.pc));
    let code = env.jmp_cache[xlat_ir::abi::jmp_cache_index(0x104)].code;
    assert!(code != 0 && e.is_jit_code(code));
}

#[test]
fn background_compile_gives_the_same_results_and_installs_code() {
    let mem = TestMem::new();
    load(&mem, 0x100, &count_loop(60_000, 1));
    let e = engine(&mem, Accel::Jit, 3);
    e.set_background_compile(true);
    let mut env = CpuState::new_boxed();
    let mut rounds = 0;
    while e.stats().units_compiled == 0 {
        rounds += 1;
        assert!(rounds < 10_000, "nothing was compiled: {:?}", e.stats());
        env.pc = 0x100;
        env.set_word(reg_offset(2), 0);
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!((r(&env, 1), r(&env, 2), env.pc), (0, 60_000, 0x110));
    }
    // Once installed, the loop runs chained.
    let before = e.stats().units_executed;
    env.pc = 0x100;
    env.set_word(reg_offset(2), 0);
    assert_eq!(e.run(&mut env), RunExit::Syscall);
    assert_eq!(r(&env, 2), 60_000);
    e.set_background_compile(false);
    let s = e.stats();
    assert!(s.units_executed - before < 100, "{s:?}");
}

#[test]
fn background_compile_never_installs_code_of_changed_guest_code() {
    let mem = TestMem::new();
    let e = engine(&mem, Accel::Jit, 2);
    e.set_background_compile(true);
    let mut env = CpuState::new_boxed();
    for round in 0..200u64 {
        let step = 1 + (round % 3) as u8;
        load(&mem, 0x100, &count_loop(60_000, step));
        e.invalidate(0x100, 0x14);
        env.pc = 0x100;
        env.set_word(reg_offset(2), 0);
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!(r(&env, 2), 60_000 * u64::from(step), "round {round}");
    }
}

#[test]
fn background_compile_with_full_code_memory_flushes_and_keeps_going() {
    // As full_code_memory_flushes_and_keeps_going, with the compiler thread filling it too
    // (alone: hot units wait while it is busy, so it takes rounds).
    let e = thousand_units_in_32_kib();
    e.set_background_compile(true);
    let mut env = CpuState::new_boxed();
    let mut round = 0;
    while round < 4 || e.stats().flushes == 0 {
        round += 1;
        assert!(round < 100_000, "no flush: {:?}", e.stats());
        env.pc = 0;
        assert_eq!(e.run(&mut env), RunExit::Syscall);
        assert_eq!(r(&env, 2), 1000 * round);
    }
}
