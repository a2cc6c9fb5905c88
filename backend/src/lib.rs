//! # xlat-backend
//!
//! xlat's JIT accelerator. It sits after the frontends in the pipeline: a frontend lifts guest
//! code into IR units ([`xlat_ir::Unit`]); this crate runs them, first in the IR interpreter
//! (the cold tier), then, once a unit is hot, as host x86-64 code compiled by Cranelift.
//!
//! - Code memory is a memfd mapped twice (RW for writing, RX for running): never RWX.
//! - Each unit is a `tail`-convention function `(env) -> exit word`; direct exits (`goto_tb`)
//!   tail-call through per-unit link slots that the exec loop points at the next unit
//!   (chaining without patching code); indirect exits (`goto_ptr`) look up the per-vCPU jump
//!   cache inline.
//! - The translation cache is keyed by (guest pc, flags); [`Engine::invalidate`] drops the
//!   units overlapping a guest range (per-page index, chained slots unlinked);
//!   [`Engine::flush`] drops everything. Both are safe while other threads run guest code:
//!   running vCPUs are pulled out of compiled code through a private bit of `exit_request`
//!   that [`Engine::run`] never reports, and code memory is reused only under an exclusive
//!   lock.
//! - Tier 1 (`baseline`, `XLAT_TIER1=off|N`): from its first run a unit runs as baseline code,
//!   a template JIT from IR to x86-64 (temps in a stack frame, memory through the
//!   interpreter's accessors after an inline TLB lookup in system mode, ops without a template
//!   calling the interpreter's definition), made in one pass without register allocation;
//!   baseline units chain through link slots like compiled ones and count
//!   their runs. Units with an op it does not know stay interpreted.
//! - Tiering: a unit runs [`EngineConfig::hot_threshold`] times (interpreted or as baseline
//!   code), then is compiled (Cranelift `opt_level=none`; the choice and the threshold are
//!   measured, see
//!   [`DEFAULT_HOT_THRESHOLD`]) together with the units reachable from it through `goto_tb`
//!   exits that ran at least half as often and lead back to it, as one *region* (at most 32
//!   units, 512 guest instructions; without such a loop, the first 4 units reached): a
//!   `goto_tb` between members is a jump inside the function, so loops keep the guest
//!   registers in host registers. Members are laid out in reverse postorder and each jump back
//!   to an earlier member (a loop's back edge) checks `exit_request`. A region lives under its
//!   head's pc; the page index lists every member's pages, so invalidating any of them drops
//!   the region. Chained exits and region entries are under 1% of intmark's time since.
//! - Guest memory is reached inline through the [`xlat_softmmu::DirectMap`]. A guest access to
//!   an unmapped page faults on the host inside compiled code; [`Engine::is_jit_code`] and
//!   [`fault`] turn that into a guest exception, with the exact guest state when
//!   [`Engine::set_precise_faults`] is on (it costs about 2x on memory-heavy loops).
//!
//! Module map: `lower/` (IR → CLIF, one file per opcode class), `jit` (Cranelift setup,
//! trampoline, stub), `codemem` (W^X memory), `tb` (translation blocks and their cache),
//! `region` (choosing a region's members), `engine` (the exec loop), `slow` (out-of-line
//! memory accesses), `fault` (guest faults in compiled code), `trace`/`disas` (`-d`).
//!
//! The backend never names a guest architecture: it drives an `Arc<dyn Frontend>`.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo(frontend: Arc<dyn xlat_ir::Frontend>, mem: Arc<dyn xlat_softmmu::GuestMemory>) {
//! use xlat_backend::{Engine, EngineConfig, RunExit};
//! let step = frontend.user_abi().syscall_insn_len;
//! let engine = Engine::new(frontend, mem, EngineConfig::default()).unwrap();
//! let mut env = xlat_ir::abi::CpuState::new_boxed();
//! env.pc = 0x1_0000;
//! loop {
//!     match engine.run(&mut env) {
//!         // env.pc is the syscall instruction: service it, then step past it.
//!         RunExit::Syscall => env.pc += step,
//!         // Someone set exit_request (a signal, a stop): handle it, clear it, go on.
//!         RunExit::Request => env.exit_request.store(0, std::sync::atomic::Ordering::Relaxed),
//!         other => break println!("stopped: {other:?}"),
//!     }
//! }
//! # }
//! ```
//!
//! While a unit runs, `env.pc` holds the first pc of the unit (or region) that was entered, not
//! necessarily of the region member running; helpers that need the exact instruction get it as
//! an argument. [`Engine::flush`] and [`Engine::invalidate`]
//! may be called from any thread, but not from a helper running inside compiled code.
#![warn(missing_docs)]

mod baseline;
mod codemem;
mod disas;
mod engine;
pub mod fault;
mod jit;
mod lower;
mod region;
mod slow;
mod softmmu;
mod tb;
mod trace;

#[cfg(test)]
mod tests;

pub use engine::Engine;
pub use softmmu::TbFlagsFn;

/// Which tier runs guest code (`--accel jit|interp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Interpret cold units, compile hot ones with Cranelift.
    Jit,
    /// Only the IR interpreter.
    Interp,
}

/// `-d` trace switches; everything prints to stderr, nothing costs anything when off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trace {
    /// Guest disassembly of each unit when it is translated.
    pub in_asm: bool,
    /// The IR of each unit when it is translated.
    pub ir: bool,
    /// Host disassembly of each unit when it is compiled.
    pub out_asm: bool,
    /// One line per unit entered from the exec loop (chained units are not seen).
    pub exec: bool,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The tier(s) to use.
    pub accel: Accel,
    /// Interpreted runs of a unit before it is compiled (0: compile on first use).
    pub hot_threshold: u32,
    /// Most guest instructions per unit.
    pub max_insns: u32,
    /// Bytes of host code memory; when full every translation is flushed.
    pub code_size: usize,
    /// Trace switches.
    pub trace: Trace,
    /// Count the guest instructions executed ([`Stats::guest_insns_executed`]; costs a memory
    /// add per unit run, so it is for `-d stats` only).
    pub count_insns: bool,
    /// Compile for precise guest faults from the start (see [`Engine::set_precise_faults`]).
    pub precise_faults: bool,
}

/// Default for [`EngineConfig::hot_threshold`], measured with `bench_tiering_threshold`
/// (`src/tests/bench.rs`, release build, opt_level none): 700 toy loops whose iteration counts
/// are spread log-uniformly over 1..20000 (1.38 M unit runs, 11 M guest insns), total ms:
///
/// | threshold | 0 | 1 | 10 | 30 | **50** | 100 | 200 | 500 | interp only |
/// |-----------|---|---|----|----|--------|-----|-----|-----|-------------|
/// | ms        | 65| 34| 30 | 28 | **27** | 28  | 31  | 42  | 200         |
///
/// An interpreted unit run costs ~150 ns (loop included), a compile ~40-70 µs.
///
/// With the baseline tier (`crate::baseline`, on by default) a unit runs as baseline code from
/// its first run, so Cranelift only has to pay off against that, not the interpreter: riscv64
/// `bash -c true` from the sysroot (user + sys CPU of 10 runs, 2 interleaved rounds, loaded
/// host): no baseline at 50: 1.64/1.47 s; baseline at 50: 1.60/1.68, 200: 1.04/1.02,
/// 500: 0.89/0.94, 2000: 0.86/0.93.
///
/// Once baseline code chained through the jump cache and reached guest memory inline, the
/// Cranelift compiles at 500 cost more than they saved: riscv64 `python3 -c pass` from the
/// sysroot, user + sys CPU medians of 7-9 interleaved runs, loaded host: 500: 0.88 s,
/// 1000: 0.71, 2000: 0.67, 3000: 0.58, 4000: 0.61, **5000**: 0.53, 8000: 0.57, 10000: 0.60;
/// `bash -c true` 0.07 s at 500, 0.04 from 2000 on; sha256sum unchanged within noise; intmark
/// (static, 15000) pays a little: user CPU 1.11-1.17 s at 500, 1.16-1.34 at 5000 (4 pairs).
pub const DEFAULT_HOT_THRESHOLD: u32 = 5000;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            accel: Accel::Jit,
            hot_threshold: DEFAULT_HOT_THRESHOLD,
            max_insns: 128,
            code_size: 256 << 20,
            trace: Trace::default(),
            count_insns: false,
            precise_faults: false,
        }
    }
}

/// Why [`Engine::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// A system call instruction; `env.pc` is its address.
    Syscall,
    /// A breakpoint instruction; `env.pc` is its address.
    Breakpoint,
    /// A guest exception; `env.pc` is the faulting instruction; `code` is the frontend's.
    Exception {
        /// The architecture's exception code.
        code: u32,
        /// Its argument (fault address, instruction bits), from `env.exc_arg`.
        arg: u64,
    },
    /// `env.exit_request` was non-zero; the caller clears it.
    Request,
}

/// Counters, cheap to keep (nothing on the hot path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Units translated (lifted) by the frontend.
    pub units_translated: u64,
    /// Units compiled to host code (a region counts once, under its head).
    pub units_compiled: u64,
    /// Of those, regions of more than one unit.
    pub regions_compiled: u64,
    /// Units inside those regions, counted once per region they are in.
    pub region_members: u64,
    /// Guest instructions in the translated units.
    pub guest_insns_translated: u64,
    /// Guest instructions in the compiled units.
    pub guest_insns_compiled: u64,
    /// Host code bytes produced (all compiled units, across flushes).
    pub host_code_bytes: u64,
    /// Median compile time per unit, µs.
    pub compile_us_median: u64,
    /// Total compile time, µs.
    pub compile_us_total: u64,
    /// Unit executions entered from the exec loop (chained ones are not counted).
    pub units_executed: u64,
    /// Of those, executions in the interpreter.
    pub units_interpreted: u64,
    /// Guest instructions executed (units entered × their length; a unit left early by an
    /// exception counts whole), with [`EngineConfig::count_insns`] only, else 0.
    pub guest_insns_executed: u64,
    /// Bytes of code memory in use now (since the last flush).
    pub code_memory_used: u64,
    /// Units taken out by [`Engine::invalidate`].
    pub units_invalidated: u64,
    /// Translation flushes (explicit, fence.i, or code memory full).
    pub flushes: u64,
    /// Units given baseline-tier code (`XLAT_TIER1`), across flushes.
    pub units_baseline: u64,
}

/// The one-line form `-d stats` prints: `stats: key=value ...`, every field of [`Stats`] under
/// its own name, integers in decimal (times in µs), in declaration order. Tools parse it by key
/// (benches/src/measure.rs), so keys are only ever added.
impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: [(&str, u64); 16] = [
            ("units_translated", self.units_translated),
            ("units_compiled", self.units_compiled),
            ("regions_compiled", self.regions_compiled),
            ("region_members", self.region_members),
            ("guest_insns_translated", self.guest_insns_translated),
            ("guest_insns_compiled", self.guest_insns_compiled),
            ("host_code_bytes", self.host_code_bytes),
            ("compile_us_median", self.compile_us_median),
            ("compile_us_total", self.compile_us_total),
            ("units_executed", self.units_executed),
            ("units_interpreted", self.units_interpreted),
            ("guest_insns_executed", self.guest_insns_executed),
            ("code_memory_used", self.code_memory_used),
            ("units_invalidated", self.units_invalidated),
            ("flushes", self.flushes),
            ("units_baseline", self.units_baseline),
        ];
        f.write_str("stats:")?;
        for (k, v) in fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// Errors creating an engine.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The guest memory has no flat host mapping (system mode comes later).
    #[error("the JIT needs guest memory with a direct host mapping; this memory has none")]
    NoDirectMap,
    /// Code memory could not be set up.
    #[error("code memory: {0}")]
    CodeMemory(String),
    /// Cranelift could not be set up or refused a function (our bug).
    #[error("code generation: {0}")]
    Codegen(String),
}
