//! Crate tests: shared harness (a guest memory over a real host buffer, test helpers, running a
//! unit both compiled and interpreted), the differential fuzzer and engine behaviour tests.

mod baseline;
mod bench;
mod engine;
mod fuzz;
mod progfuzz;
mod randunit;
mod region;
mod softmmu;
mod stats;

use crate::jit::{self, Jit};
use crate::lower::LowerParams;
use crate::slow::SlowCtx;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use xlat_ir::abi::{CpuState, reg_offset};
use xlat_ir::interp::{self, GuestMem, InterpExit, MemFault, Prepared, atomic_apply};
use xlat_ir::{AtomicOp, CodeFetch, Helper, HelperFlags, MemOp, Ty, Unit};
use xlat_softmmu::{DirectMap, GuestMemory};

/// Exception code [`TestMem`] raises for a misaligned access that requires alignment.
pub const MISALIGNED: u32 = 0x55;
/// Guest memory size of [`TestMem`] (addresses are masked to it).
pub const MEM_SIZE: usize = 4096;

/// Guest memory over a host buffer: addresses are masked to [`MEM_SIZE`]; accesses may run up
/// to 8 bytes past the end into a guard area (exactly what the JIT's direct map does).
#[derive(Debug)]
pub struct TestMem {
    buf: Box<[AtomicU8]>,
    size: usize,
}

impl TestMem {
    pub fn new() -> Arc<TestMem> {
        TestMem::with_size(MEM_SIZE)
    }
    /// A memory of `size` bytes (a power of two).
    pub fn with_size(size: usize) -> Arc<TestMem> {
        assert!(size.is_power_of_two());
        Arc::new(TestMem {
            buf: (0..size + 16).map(|_| AtomicU8::new(0)).collect(),
            size,
        })
    }
    pub fn fill(&self, f: impl Fn(usize) -> u8) {
        for (i, b) in self.buf.iter().enumerate() {
            b.store(f(i), Ordering::Relaxed);
        }
    }
    pub fn snapshot(&self) -> Vec<u8> {
        self.buf.iter().map(|b| b.load(Ordering::Relaxed)).collect()
    }
    pub fn write(&self, addr: usize, bytes: &[u8]) {
        for (k, &b) in bytes.iter().enumerate() {
            self.buf[addr + k].store(b, Ordering::Relaxed);
        }
    }
    fn check(&self, addr: u64, m: MemOp) -> Result<usize, MemFault> {
        if m.aligned && !addr.is_multiple_of(u64::from(m.bytes())) {
            return Err(MemFault {
                code: MISALIGNED,
                addr,
            });
        }
        Ok((addr & (self.size as u64 - 1)) as usize)
    }
    fn raw_load(&self, i: usize, m: MemOp) -> u64 {
        let mut v = 0u64;
        for k in (0..m.bytes() as usize).rev() {
            v = (v << 8) | u64::from(self.buf[i + k].load(Ordering::Relaxed));
        }
        if m.big_endian {
            v.swap_bytes() >> (64 - 8 * m.bytes())
        } else {
            v
        }
    }
    fn raw_store(&self, i: usize, m: MemOp, v: u64) {
        let v = if m.big_endian {
            v.swap_bytes() >> (64 - 8 * m.bytes())
        } else {
            v
        };
        for k in 0..m.bytes() as usize {
            self.buf[i + k].store((v >> (8 * k)) as u8, Ordering::Relaxed);
        }
    }
}

fn atomic_ty(m: MemOp) -> Ty {
    if m.bytes() == 8 { Ty::I64 } else { Ty::I32 }
}

impl GuestMem for TestMem {
    fn load(&self, addr: u64, m: MemOp) -> Result<u64, MemFault> {
        let i = self.check(addr, m)?;
        Ok(self.raw_load(i, m))
    }
    fn store(&self, addr: u64, m: MemOp, val: u64) -> Result<(), MemFault> {
        let i = self.check(addr, m)?;
        self.raw_store(i, m, val);
        Ok(())
    }
    fn atomic_rmw(&self, addr: u64, m: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        let i = self.check(addr, m)?;
        let old = self.raw_load(i, m);
        self.raw_store(i, m, atomic_apply(op, atomic_ty(m), old, val));
        Ok(old)
    }
    fn atomic_cas(&self, addr: u64, m: MemOp, expected: u64, new: u64) -> Result<u64, MemFault> {
        let i = self.check(addr, m)?;
        let old = self.raw_load(i, m);
        if old == expected {
            self.raw_store(i, m, new);
        }
        Ok(old)
    }
}

impl CodeFetch for TestMem {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let i = (pc as usize) % self.size;
        Some(
            u16::from(self.buf[i].load(Ordering::Relaxed))
                | (u16::from(self.buf[i + 1].load(Ordering::Relaxed)) << 8),
        )
    }
}

impl GuestMemory for TestMem {
    fn direct(&self) -> Option<DirectMap> {
        Some(DirectMap {
            base: self.buf.as_ptr() as u64,
            mask: self.size as u64 - 1,
            high: xlat_softmmu::NO_HIGH,
            exact: true,
        })
    }
}

extern "C" fn h_pure(_: &mut CpuState, a: u64, b: u64, _: u64, _: u64) -> u64 {
    a.wrapping_mul(3) ^ b.rotate_left(7)
}
extern "C" fn h_read(env: &mut CpuState, a: u64, _: u64, _: u64, _: u64) -> u64 {
    env.word(reg_offset(1))
        .wrapping_add(env.word(reg_offset(2)))
        ^ u64::from(env.word32(reg_offset(3) + 4))
        ^ a
}
extern "C" fn h_state(env: &mut CpuState, a: u64, b: u64, c: u64, _: u64) -> u64 {
    let old = env.word(reg_offset(2));
    env.set_word(reg_offset(2), a);
    env.set_word32(reg_offset(3) + 4, b as u32);
    old ^ c
}
extern "C" fn h_wonly(env: &mut CpuState, a: u64, _: u64, _: u64, _: u64) -> u64 {
    env.set_word(reg_offset(4), a);
    env.set_word32(reg_offset(5), a as u32 ^ 0x5a5a);
    0
}
extern "C" fn h_narrow(env: &mut CpuState, a: u64, b: u64, _: u64, _: u64) -> u64 {
    let old = env.word(reg_offset(6));
    env.set_word(reg_offset(6), old.rotate_left(3) ^ a);
    if b & 7 == 0 {
        env.exc_pending = 0x43 + 1;
        env.exc_arg = old;
    }
    old.wrapping_add(b)
}
extern "C" fn h_raise(env: &mut CpuState, a: u64, b: u64, c: u64, d: u64) -> u64 {
    if a & 3 == 0 {
        env.exc_pending = 0x42 + 1;
        env.exc_arg = a ^ b;
    }
    a.wrapping_add(b).wrapping_add(c).wrapping_add(d)
}

const WONLY: HelperFlags = HelperFlags {
    reads_state: false,
    writes_state: true,
    may_raise: false,
};
const RAISE: HelperFlags = HelperFlags {
    reads_state: false,
    writes_state: false,
    may_raise: true,
};

pub static HELPERS: [Helper; 6] = [
    Helper {
        name: "pure",
        func: h_pure,
        nargs: 2,
        flags: HelperFlags::PURE,
        state_words: None,
    },
    Helper {
        name: "read",
        func: h_read,
        nargs: 1,
        flags: HelperFlags {
            reads_state: true,
            writes_state: false,
            may_raise: false,
        },
        state_words: None,
    },
    Helper {
        name: "state",
        func: h_state,
        nargs: 3,
        flags: HelperFlags::STATE,
        state_words: None,
    },
    Helper {
        name: "wonly",
        func: h_wonly,
        nargs: 1,
        flags: WONLY,
        state_words: None,
    },
    Helper {
        name: "raise",
        func: h_raise,
        nargs: 4,
        flags: RAISE,
        state_words: None,
    },
    // Declares the one word it touches: the backend spills and reloads only that word, and
    // the interpreter (which ignores the list) must still agree.
    Helper {
        name: "narrow",
        func: h_narrow,
        nargs: 2,
        flags: HelperFlags::ALL,
        state_words: Some(&[reg_offset(6)]),
    },
];

/// A JIT with its own small code memory and link slots, for running single units.
pub struct Harness {
    pub jit: Jit,
    pub mem: Arc<TestMem>,
    slow: Box<SlowCtx>,
    pub slots: Box<[AtomicU64]>,
    /// Compile for precise faults (stores before every guest access).
    pub precise: bool,
    /// Compile as for system mode: no direct map (inline TLB + out-of-line accesses).
    pub softmmu: bool,
}

/// How a compiled or interpreted run ended, plus the state it left.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub value: u64,
    pub slot: Option<u32>,
    pub pc: u64,
    pub exc_arg: u64,
    pub exc_pending: u32,
    pub regs: Vec<u64>,
    pub mem: Vec<u8>,
}

impl Outcome {
    /// One line per field where `got` (a run by `tier`) differs from `self` (the interpreter's),
    /// memory compared over its first `mem_len` bytes.
    pub fn diff(&self, got: &Outcome, tier: &str, mem_len: usize) -> String {
        let mut diff = String::new();
        for (f, a, b) in [
            ("value", self.value, got.value),
            ("pc", self.pc, got.pc),
            ("exc_arg", self.exc_arg, got.exc_arg),
            (
                "exc_pending",
                u64::from(self.exc_pending),
                u64::from(got.exc_pending),
            ),
        ] {
            if a != b {
                diff.push_str(&format!("  {f}: interp {a:#x} {tier} {b:#x}\n"));
            }
        }
        if self.slot != got.slot {
            diff.push_str(&format!(
                "  slot: interp {:?} {tier} {:?}\n",
                self.slot, got.slot
            ));
        }
        for (w, (a, b)) in self.regs.iter().zip(&got.regs).enumerate() {
            if a != b {
                diff.push_str(&format!("  reg word {w}: interp {a:#x} {tier} {b:#x}\n"));
            }
        }
        for (i, (a, b)) in self.mem.iter().zip(&got.mem).enumerate().take(mem_len) {
            if a != b {
                diff.push_str(&format!("  mem[{i:#x}]: interp {a:#04x} {tier} {b:#04x}\n"));
            }
        }
        diff
    }
}

impl Harness {
    /// A harness compiling at the engine's opt level.
    pub fn new() -> Harness {
        Harness::with_opt_level(crate::engine::OPT_LEVEL)
    }

    pub fn with_opt_level(opt: &str) -> Harness {
        let mem = TestMem::new();
        let jit = Jit::new(64 << 20, opt).unwrap();
        let stub = jit.stub;
        Harness {
            jit,
            slow: Box::new(SlowCtx::new(mem.clone())),
            mem,
            slots: (0..2 * crate::region::MAX_MEMBERS)
                .map(|_| AtomicU64::new(stub))
                .collect(),
            precise: false,
            softmmu: false,
        }
    }

    pub fn params(&self) -> LowerParams {
        LowerParams {
            direct: if self.softmmu {
                crate::softmmu::NO_DIRECT_MAP
            } else {
                self.mem.direct().unwrap()
            },
            slow_ctx: &*self.slow as *const SlowCtx as u64,
            slots: self.slots.as_ptr() as u64,
            count_insns: false,
            precise: self.precise,
        }
    }

    /// Compiles and runs `unit` on `env`.
    pub fn run_jit(&mut self, unit: &Unit, env: &mut CpuState) -> Result<Outcome, String> {
        self.jit.reset();
        let c = self
            .jit
            .compile_unit(unit, self.params())
            .map_err(|e| e.to_string())?;
        // SAFETY: `c.addr` was just compiled by this harness's JIT for this memory.
        let value = unsafe { jit::enter(self.jit.trampoline, env, c.addr) };
        let p = self.params();
        let slot = (0..2)
            .find(|&k| p.slots + 8 * k == env.last_slot)
            .map(|k| k as u32);
        Ok(self.outcome(value, slot, env))
    }

    /// Interprets `unit` on `env`.
    pub fn run_interp(&self, unit: &Unit, env: &mut CpuState) -> Outcome {
        let prep = Prepared::new(unit);
        let InterpExit { value, slot } = interp::run(unit, &prep, env, &*self.mem, &mut Vec::new());
        self.outcome(value, slot, env)
    }

    /// The outcome of a run that returned `value` (no slot).
    pub fn run_interp_outcome(&self, value: u64, env: &CpuState) -> Outcome {
        self.outcome(value, None, env)
    }

    fn outcome(&self, value: u64, slot: Option<u32>, env: &CpuState) -> Outcome {
        Outcome {
            value,
            slot,
            pc: env.pc,
            exc_arg: env.exc_arg,
            exc_pending: env.exc_pending,
            regs: env.regs.to_vec(),
            mem: self.mem.snapshot(),
        }
    }
}
