//! The exec loop: find or translate the unit at `env.pc`, run it (interpreted while cold,
//! compiled once hot), chain direct exits, fill the jump cache, and hand the caller what it
//! must handle (syscalls, breakpoints, exceptions, exit requests).

use crate::jit::{self, CompileError, Compiler, Jit};
use crate::lower::LowerParams;
use crate::region;
use crate::slow::SlowCtx;
use crate::tb::{Tb, TbCache, TbKey};
use crate::{Accel, BackendError, EngineConfig, RunExit, Stats, trace};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, RwLock};
use std::time::Instant;
use xlat_ir::abi::{self, CpuState, ExitKind, JmpCacheEntry};
use xlat_ir::{ExitReason, Frontend, interp};
use xlat_softmmu::{DirectMap, GuestMemory};

/// Cranelift's optimisation level for units (`bench_*` in `tests/bench.rs`, release build):
/// - compile time, typical 10-insn unit: none 66 µs, speed 94 µs; 40 insns: 302 vs 337 µs;
///   host bytes per guest insn at 40 insns: none 39, speed 32;
/// - a hot loop unit (a `goto_tb` to itself, compiled as an in-function loop) runs at
///   2.4 ns (none) vs 3.1 ns (speed) per 8-insn iteration; chained through link slots it was
///   3.8 vs 4.5 ns;
/// - the tiering workload (700 loops, log-uniform counts) at threshold 50: none 27 ms,
///   speed 37 ms.
///
/// - the single-pass register allocator (`none+single_pass`) compiles faster (48 µs at 10
///   insns, 112 µs at 40) but makes twice the code and a 60% slower hot loop; the tiering
///   workload ends up the same (28 ms), so the backtracking allocator stays.
///
/// Compile time dominates, so the baseline tier uses `none`. With regions (several units as
/// one function, see `crate::region`), `speed` was tried for regions only and for everything:
/// intmark 0.70 vs 0.71 s, and 0.63 vs 0.66 s once regions were loops only (speed compiles
/// about 2x slower), memory 0.886 vs 0.878 s: no gain worth the compile time, so `none` stays.
pub(crate) const OPT_LEVEL: &str = "none";

/// State behind the engine lock.
#[derive(Debug)]
struct Inner {
    cache: TbCache,
    /// Bumped by every flush; a vCPU whose jump cache predates it clears the cache.
    generation: u64,
    /// Bumped by every full flush (code memory reset): code compiled in the background for
    /// an older epoch is never installed.
    epoch: u64,
    /// Background compilation ran out of code memory: the vCPU flushes at its next lookup.
    want_flush: bool,
    stats: Stats,
    compile_us: Vec<u32>,
    /// No unit was compiled since the last flush: a unit that does not fit now never will.
    just_flushed: bool,
}

/// For each vCPU state (by address): the engine and generation its jump cache was last
/// synchronised with. Global, so a state run by two engines in turn (an exec) never follows
/// the other engine's code pointers.
static ENV_SEEN: LazyLock<Mutex<HashMap<usize, (u64, u64)>>> = LazyLock::new(Default::default);

/// Engine identities for [`ENV_SEEN`].
static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// What the exec loop runs next.
enum Next {
    /// Compiled code at this address.
    Code(u64),
    /// The IR, interpreted.
    Interp(Arc<crate::tb::Ir>),
    /// Baseline-tier code at this address (`crate::baseline`).
    Base(u64),
    /// Code memory is full (or a lookup raced with a flush): flush and look up again.
    Full,
}

/// Most jobs waiting for or in the background compiler.
/// Booting Debian's kernel to its init (hart thread CPU seconds, 2 runs each, loaded
/// host): 0 (all in the foreground) 7.45 7.25, 1: 6.9 7.6, 3: 6.2 6.5, 4: 6.5 6.4,
/// 8: 6.2 5.7, 16: 6.4 6.8; the compiler thread compiles 20-40% more (hot code waiting in
/// the queue gets compiled again as part of later regions). Those runs compiled on the vCPU
/// when the queue was full; now that such units wait ([`NO_DEFER`]), hart CPU ms, medians of
/// 5 interleaved runs, threshold 2000, loaded host: 2: 3838, 4: 3968, 8: 4121 (noise).
/// (`XLAT_MAX_PENDING=N` sets it, for such measurements.)
static MAX_PENDING: LazyLock<u64> = LazyLock::new(|| {
    std::env::var("XLAT_MAX_PENDING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
});

/// `XLAT_NO_DEFER=1`: a hot unit the busy background compiler cannot take is compiled by the
/// vCPU at once (was the default). Booting Debian's kernel to its init, hart CPU ms, medians
/// of 5 interleaved runs (threshold 1000): compiled by the vCPU 4429, waiting 4009; with the
/// threshold at 2000 (see the machine's), 4386 and 3600.
static NO_DEFER: LazyLock<bool> = LazyLock::new(|| std::env::var_os("XLAT_NO_DEFER").is_some());

/// What [`Engine::queue`] did with a hot unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    /// The background compiler has it (now or already).
    Taken,
    /// The background compiler has [`MAX_PENDING`] jobs.
    Busy,
    /// No background compiler, or nothing to compile.
    No,
}

/// The bit of `exit_request` a flush sets to pull a vCPU out of compiled code.
const FLUSH_REQUEST: u32 = 1 << 31;

/// Registers a running vCPU's `exit_request` with the engine for the duration of `run`.
struct VcpuGuard<'a> {
    engine: &'a Engine,
    req: usize,
}

impl<'a> VcpuGuard<'a> {
    fn register(engine: &'a Engine, req: &AtomicU32) -> VcpuGuard<'a> {
        let req = req as *const AtomicU32 as usize;
        engine
            .vcpus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(req);
        VcpuGuard { engine, req }
    }
}

impl Drop for VcpuGuard<'_> {
    fn drop(&mut self) {
        let mut v = self.engine.vcpus.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = v.iter().position(|&r| r == self.req) {
            v.swap_remove(i);
        }
        // A flush may have kicked this vCPU after `run` made its last check; kicks happen
        // under this lock, so once deregistered none can follow: drop the private bit so it
        // never leaks to the caller.
        // SAFETY: `req` is the `exit_request` of the state `run` still borrows (the guard is
        // dropped before `run` returns).
        unsafe { &*(self.req as *const AtomicU32) }.fetch_and(!FLUSH_REQUEST, Ordering::AcqRel);
    }
}

/// The JIT accelerator: translation cache, compiler and exec loop, shared by every vCPU.
pub struct Engine {
    id: u64,
    frontend: Arc<dyn Frontend>,
    mem: Arc<dyn GuestMemory>,
    cfg: EngineConfig,
    direct: DirectMap,
    slow: Box<SlowCtx>,
    trampoline: u64,
    stub: u64,
    inner: Arc<Mutex<Inner>>,
    /// The compiler and code memory (locked after `inner` when both are held; the background
    /// compiler never holds it while it takes `inner`).
    jit: Arc<Mutex<Option<Jit>>>,
    has_jit: bool,
    /// Background compilation (see [`Engine::set_background_compile`]): the job queue of the
    /// compiler thread and its handle.
    background: Mutex<Option<(std::sync::mpsc::Sender<Job>, std::thread::JoinHandle<()>)>>,
    /// Background compiling is on: a compiler thread paused for a fork
    /// ([`Engine::pause_background_compile`]) starts again at the next hot unit.
    background_wanted: AtomicBool,
    /// Jobs handed to the background compiler and not finished.
    pending: Arc<AtomicU64>,
    /// Cranelift settings (for the background compiler's own instance).
    opt_level: String,
    /// Held (read) while a vCPU looks units up and runs compiled code; a flush takes it
    /// exclusively before it reuses code memory.
    code_lock: RwLock<()>,
    /// The executable code region (empty without a JIT).
    code_range: std::ops::Range<u64>,
    /// `exit_request` addresses of the vCPUs inside `run`.
    vcpus: Mutex<Vec<usize>>,
    executed: AtomicU64,
    interpreted: AtomicU64,
    /// Compiled code keeps the CPU state exact at every guest memory access.
    precise: AtomicBool,
    /// Guest instructions executed by vCPUs that left `run` (with `count_insns`).
    insns: AtomicU64,
    /// System mode: the translation-block flags of a vCPU's state (`crate::softmmu`).
    tb_flags: Arc<std::sync::OnceLock<crate::softmmu::TbFlagsFn>>,
    /// Runs of a unit before it gets baseline code (`crate::baseline`); `None`: no baseline
    /// tier (`XLAT_TIER1=off`; `XLAT_TIER1=N` sets the count).
    tier1: Option<u32>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("frontend", &self.frontend.name())
            .field("cfg", &self.cfg)
            .field("direct", &self.direct)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an engine running `frontend`'s code out of `mem`. The JIT needs `mem.direct()`.
    pub fn new(
        frontend: Arc<dyn Frontend>,
        mem: Arc<dyn GuestMemory>,
        cfg: EngineConfig,
    ) -> Result<Engine, BackendError> {
        Engine::with_opt_level(frontend, mem, cfg, OPT_LEVEL)
    }

    /// [`Engine::new`] with a Cranelift `opt_level` (`none`, `speed`), optionally with a
    /// register allocator (`none+single_pass`): for measurements, and for system mode, where
    /// a boot runs so much code a few times that compile speed matters most.
    pub fn with_opt_level(
        frontend: Arc<dyn Frontend>,
        mem: Arc<dyn GuestMemory>,
        cfg: EngineConfig,
        opt_level: &str,
    ) -> Result<Engine, BackendError> {
        let direct = match (mem.direct(), cfg.accel) {
            (Some(d), _) => d,
            (None, Accel::Interp) => DirectMap {
                base: 0,
                mask: u64::MAX,
                high: xlat_softmmu::NO_HIGH,
                exact: false,
            },
            // System mode: no flat map, every access goes out of line (crate::softmmu).
            (None, Accel::Jit) => crate::softmmu::NO_DIRECT_MAP,
        };
        let jit = match cfg.accel {
            Accel::Jit => Some(Jit::new(cfg.code_size, opt_level)?),
            Accel::Interp => None,
        };
        let (trampoline, stub) = jit.as_ref().map_or((0, 0), |j| (j.trampoline, j.stub));
        let code_range = jit.as_ref().map_or(0..0, |j| j.exec_range());
        let slow = Box::new(SlowCtx::new(mem.clone()));
        let precise = AtomicBool::new(cfg.precise_faults);
        let has_jit = jit.is_some();
        let inner = Inner {
            cache: TbCache::default(),
            generation: 0,
            epoch: 0,
            want_flush: false,
            stats: Stats::default(),
            compile_us: Vec::new(),
            just_flushed: true,
        };
        let inner = Arc::new(Mutex::new(inner));
        let tb_flags = Arc::new(std::sync::OnceLock::<crate::softmmu::TbFlagsFn>::new());
        // A jump-cache miss in compiled code probes the TB cache as the exec loop would
        // (`XLAT_NO_TB_PROBE=1`: it returns to the loop, to measure the difference).
        let (li, lf) = (inner.clone(), tb_flags.clone());
        if std::env::var_os("XLAT_NO_TB_PROBE").is_none() {
            let _ = slow
                .lookup
                .set(crate::slow::LookupFn(Box::new(move |env, pc| {
                    let flags = lf.get().map_or(0, |f| (f.0)(env));
                    let inner = lock(&li);
                    // Compiled code, else baseline code (made by the loop; never made here).
                    inner.cache.get(TbKey { pc, flags }).map_or(0, |tb| {
                        let c = tb.code();
                        if c != 0 {
                            c
                        } else {
                            tb.base.load(Ordering::Acquire)
                        }
                    })
                })));
        }
        Ok(Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            frontend,
            mem,
            cfg,
            direct,
            slow,
            trampoline,
            stub,
            inner,
            jit: Arc::new(Mutex::new(jit)),
            has_jit,
            background: Mutex::new(None),
            background_wanted: AtomicBool::new(false),
            pending: Arc::new(AtomicU64::new(0)),
            opt_level: opt_level.to_string(),
            code_lock: RwLock::new(()),
            code_range,
            vcpus: Mutex::new(Vec::new()),
            executed: AtomicU64::new(0),
            interpreted: AtomicU64::new(0),
            insns: AtomicU64::new(0),
            precise,
            tb_flags,
            tier1: crate::baseline::tier1_threshold(has_jit),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Runs guest code on `env` (from `env.pc`) until something the caller must handle.
    pub fn run(&self, env: &mut CpuState) -> RunExit {
        env.guest_base = self.direct.base;
        let _vcpu = VcpuGuard::register(self, &env.exit_request);
        let mut seen_gen = u64::MAX;
        let mut prev_entered = u64::MAX;
        let mut temps = Vec::new();
        let icount0 = env.icount;
        // Unit counts, published to the shared counters in batches (they are stats only).
        let (mut executed, mut interpreted) = (0u64, 0u64);
        loop {
            if executed >= 4096 {
                self.publish_counts(&mut executed, &mut interpreted);
            }
            // Lock order: code_lock (read) before inner; flush takes code_lock (write) first.
            let running = self.code_lock.read().unwrap_or_else(|e| e.into_inner());
            let entered = env.pc;
            let next = self.next_unit(env, &mut seen_gen, prev_entered);
            prev_entered = entered;
            let ret = match &next {
                Next::Full => {
                    // Code memory is full: flush (holding no lock) and look the pc up again.
                    drop(running);
                    self.flush_from(Some(&env.exit_request));
                    continue;
                }
                Next::Interp(ir) => {
                    executed += 1;
                    interpreted += 1;
                    if self.cfg.trace.exec {
                        eprintln!("exec pc={:#x} (interp)", env.pc);
                    }
                    if self.cfg.count_insns {
                        env.icount = env.icount.wrapping_add(u64::from(ir.unit.guest_insns));
                    }
                    interp::run(&ir.unit, &ir.prep, env, &*self.mem, &mut temps).value
                }
                &Next::Base(code) => {
                    executed += 1;
                    if self.cfg.trace.exec {
                        eprintln!("exec pc={:#x} (baseline)", env.pc);
                    }
                    // (Baseline code counts its guest instructions itself.)
                    // SAFETY: as for compiled code: `code` is baseline code of the current
                    // generation (checked under the lock in next_unit), kept in code memory by
                    // `running`, entered through this JIT's trampoline.
                    unsafe { jit::enter(self.trampoline, env, code) }
                }
                &Next::Code(code) => {
                    executed += 1;
                    if self.cfg.trace.exec {
                        eprintln!("exec pc={:#x}", env.pc);
                    }
                    // SAFETY: `code` was compiled by this engine's JIT in the current
                    // generation (checked under the lock in next_unit); holding `running` keeps
                    // any flush from reusing code memory until we are out; `env.guest_base` was
                    // set from the map the code was compiled for.
                    unsafe { jit::enter(self.trampoline, env, code) }
                }
            };
            drop(next);
            drop(running);
            if let Some(exit) = self.decode(env, ret) {
                self.publish_counts(&mut executed, &mut interpreted);
                self.insns
                    .fetch_add(env.icount.wrapping_sub(icount0), Ordering::Relaxed);
                return exit;
            }
        }
    }

    fn publish_counts(&self, executed: &mut u64, interpreted: &mut u64) {
        self.executed
            .fetch_add(std::mem::take(executed), Ordering::Relaxed);
        self.interpreted
            .fetch_add(std::mem::take(interpreted), Ordering::Relaxed);
    }

    /// Under the lock: catches up with flushes, finds or translates the unit at `env.pc`,
    /// compiles it if it is hot, chains the slot the last exit took and fills the jump cache.
    fn next_unit(&self, env: &mut CpuState, seen_gen: &mut u64, prev: u64) -> Next {
        let mut inner = self.lock();
        if inner.want_flush {
            inner.want_flush = false;
            return Next::Full;
        }
        if *seen_gen != inner.generation {
            let g = inner.generation;
            let seen = (self.id, g);
            let mut envs = ENV_SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if envs.insert(env as *const CpuState as usize, seen) != Some(seen) {
                env.clear_jmp_cache();
            }
            env.last_slot = 0; // may point into a flushed or retired TB
            *seen_gen = g;
        }
        let flags = self.tb_flags.get().map_or(0, |f| (f.0)(env));
        let key = TbKey { pc: env.pc, flags };
        // One hash lookup per unit run: the TB is held by its Arc from here on (a compile
        // below never takes it out of the cache; a full code memory returns first).
        let tb = match inner.cache.get(key) {
            Some(tb) => tb.clone(),
            None => {
                self.translate(&mut inner, key);
                match inner.cache.get(key) {
                    Some(tb) => tb.clone(),
                    None => return Next::Full,
                }
            }
        };
        let mut code = tb.code();
        if code == 0 && self.has_jit && !tb.no_jit.load(Ordering::Relaxed) {
            if tb.runs.load(Ordering::Relaxed) >= self.cfg.hot_threshold {
                // In the background, it stays interpreted until its code is installed.
                let q = self.queue(&mut inner, &tb, key);
                if q == Queue::Taken || q == Queue::Busy && !*NO_DEFER {
                    // Its baseline code runs on meanwhile, counted again from half the
                    // threshold (its hot check would bring it back to the loop at every run);
                    // a unit the busy compiler could not take asks again then.
                    tb.runs.store(self.cfg.hot_threshold / 2, Ordering::Relaxed);
                } else {
                    let full;
                    (code, full) = self.compile(&mut inner, &tb, flags);
                    if full {
                        return Next::Full;
                    }
                }
            } else if tb.base.load(Ordering::Relaxed) == 0 {
                // (Baseline code counts its own runs.)
                tb.runs.fetch_add(1, Ordering::Relaxed);
            }
        }
        let next = if code != 0 {
            if self.tb_flags.get().is_some() && !crate::softmmu::same_page(prev, tb.pc) {
                env.last_slot = 0; // system mode chains only within a page
            }
            self.link(env, &tb, code);
            Next::Code(code)
        } else if let Some(at) = self.tier1 {
            match self.baseline(&mut inner, &tb, at) {
                Ok(0) => tb.ir().map_or(Next::Full, Next::Interp),
                Ok(b) => {
                    if self.tb_flags.get().is_some() && !crate::softmmu::same_page(prev, tb.pc) {
                        env.last_slot = 0; // system mode chains only within a page
                    }
                    self.link_slot(env, &tb, b);
                    if !*crate::baseline::NO_CHAIN {
                        let pc = tb.pc;
                        env.jmp_cache[abi::jmp_cache_index(pc)] = JmpCacheEntry { pc, code: b };
                    }
                    Next::Base(b)
                }
                Err(()) => return Next::Full,
            }
        } else {
            tb.ir().map_or(Next::Full, Next::Interp)
        };
        env.last_slot = 0;
        next
    }

    /// The baseline code of `tb` (0: none, it is interpreted), made once it has run `at`
    /// times; Err when code memory is full (the caller flushes).
    fn baseline(&self, inner: &mut Inner, tb: &Tb, at: u32) -> Result<u64, ()> {
        let b = tb.base.load(Ordering::Acquire);
        if b != 0 || tb.no_base.load(Ordering::Relaxed) || tb.runs.load(Ordering::Relaxed) < at {
            return Ok(b);
        }
        let p = crate::baseline::Params {
            softmmu: self.direct == crate::softmmu::NO_DIRECT_MAP,
            slow_ctx: &*self.slow as *const SlowCtx as u64,
            slots: if *crate::baseline::NO_CHAIN {
                0
            } else {
                tb.base_slots.as_ptr() as u64
            },
            runs: &tb.runs as *const AtomicU32 as u64,
            hot: self.cfg.hot_threshold,
            count_insns: self.cfg.count_insns,
            jmp_cache: !*crate::baseline::NO_CHAIN,
            direct: (self.direct != crate::softmmu::NO_DIRECT_MAP).then(|| self.direct_now()),
            precise: self.precise.load(Ordering::Acquire),
        };
        let code = tb.ir().and_then(|ir| crate::baseline::compile(&ir.unit, p));
        let Some(code) = code else {
            tb.no_base.store(true, Ordering::Relaxed);
            return Ok(0);
        };
        let r = lock(&self.jit).as_mut().map(|j| j.install(&code));
        match r {
            Some(Ok(c)) => {
                perf_map(c.addr, c.size, "base", tb.pc, 1);
                if self.cfg.trace.out_asm {
                    eprint!("(baseline) ");
                    trace::host_code(&[tb.pc], c.addr, c.size);
                }
                inner.stats.units_baseline += 1;
                inner.just_flushed = false;
                tb.base.store(c.addr, Ordering::Release);
                Ok(c.addr)
            }
            Some(Err(_)) if !inner.just_flushed => Err(()),
            _ => {
                tb.no_base.store(true, Ordering::Relaxed);
                Ok(0)
            }
        }
    }

    /// What a unit's exit word means for the caller: `None` to keep running.
    fn decode(&self, env: &mut CpuState, ret: u64) -> Option<RunExit> {
        self.decode_exit(env, ret, true)
    }

    /// Whether `addr` (a fault's guest address) is in the guard after the direct map, where
    /// compiled code faults for any address beyond the map (crate::lower, `clamps`) and the
    /// interpreter's accessors for one beyond it by less than the guard.
    fn beyond_map(&self, addr: u64) -> bool {
        !self.direct.exact
            && self.direct.window_bits().is_some()
            && addr.wrapping_sub(self.direct.mask + 1) < xlat_softmmu::user::GUARD
    }

    /// [`Engine::decode`]; `rerun`: a fault in the guard after the map may run its
    /// instruction again in the interpreter.
    fn decode_exit(&self, env: &mut CpuState, ret: u64, rerun: bool) -> Option<RunExit> {
        match abi::decode_exit(ret) {
            (ExitKind::Raise, _) if rerun && self.beyond_map(env.exc_arg) => {
                // Compiled code faults in the guard for any address beyond the direct map,
                // so the fault names the guard, not the guest's address: the instruction runs
                // again in the interpreter (the CPU state is exact at every access), which
                // faults at the guest's own address (or, being exact, runs it).
                let unit = self.frontend.translate(env.pc, &*self.mem, 1);
                if xlat_ir::verify(&unit).is_err() {
                    return self.decode_exit(env, ret, false);
                }
                let prep = interp::Prepared::new(&unit);
                let ret = interp::run(&unit, &prep, env, &*self.mem, &mut Vec::new()).value;
                self.decode_exit(env, ret, false)
            }
            (ExitKind::Lookup, _) => None,
            (ExitKind::Request, _) => {
                // A flush elsewhere only needed us out of compiled code: keep going.
                let rest = env.exit_request.fetch_and(!FLUSH_REQUEST, Ordering::AcqRel);
                (rest & !FLUSH_REQUEST != 0).then_some(RunExit::Request)
            }
            (ExitKind::Raise, code) => Some(RunExit::Exception {
                code,
                arg: env.exc_arg,
            }),
            (ExitKind::Exit, r) => match ExitReason::from_u32(r) {
                Some(ExitReason::Syscall) => Some(RunExit::Syscall),
                Some(ExitReason::Breakpoint) => Some(RunExit::Breakpoint),
                Some(ExitReason::FlushCode) => {
                    self.flush_from(Some(&env.exit_request));
                    None
                }
                Some(ExitReason::Yield) | None => None,
            },
        }
    }

    /// Chains the link slot the last exit went through to `code`, and caches `env.pc` in the
    /// vCPU's jump cache.
    fn link(&self, env: &mut CpuState, tb: &Tb, code: u64) {
        self.link_slot(env, tb, code);
        let pc = tb.pc;
        env.jmp_cache[abi::jmp_cache_index(pc)] = JmpCacheEntry { pc, code };
    }

    /// Chains the link slot the last exit went through (if any) to `code`. Baseline code is
    /// entered from the loop (`last_slot` 0), through a slot (`last_slot` that slot) or
    /// through the jump cache (`last_slot` [`crate::baseline::VIA_JMP_CACHE`], set by every
    /// `goto_ptr` that jumps, so never a stale slot): a hot unit entered either way returns
    /// to the loop to be compiled.
    fn link_slot(&self, env: &mut CpuState, tb: &Tb, code: u64) {
        if env.last_slot != 0 && env.last_slot != crate::baseline::VIA_JMP_CACHE {
            // SAFETY: last_slot was stored by a unit of the current generation (stale values
            // are cleared when the generation changes) and points at one of its TB's boxed
            // `AtomicU64` link slots, kept alive by the cache (or its retired list) under the
            // lock we hold.
            let slot = unsafe { &*(env.last_slot as *const AtomicU64) };
            if slot.swap(code, Ordering::AcqRel) != code {
                tb.incoming
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(env.last_slot);
            }
        }
    }

    /// Translates the unit at `key` into the cache.
    fn translate(&self, inner: &mut Inner, key: TbKey) {
        let pc = key.pc;
        // Code a plain store may change (user mode, x86: a guest-writable page; the memory
        // notices the store and drops the translations) is translated one instruction per unit,
        // never joining a region: a store then never changes the rest of its own unit.
        let mut solo = self.mem.code_may_change(pc);
        let max = if solo { 1 } else { self.cfg.max_insns };
        let mut unit = self.frontend.translate(pc, &*self.mem, max);
        let last = pc.wrapping_add(u64::from(unit.guest_len.max(1)) - 1);
        if !solo && (pc ^ last) >= 4096 && self.mem.code_may_change(last) {
            // It reaches into such a page.
            solo = true;
            if unit.guest_insns > 1 {
                unit = self.frontend.translate(pc, &*self.mem, 1);
            }
        }
        if let Err(e) = xlat_ir::verify(&unit) {
            // A frontend bug, never guest misbehaviour: the interpreter cannot run such a unit.
            panic!(
                "frontend {} produced a malformed unit at {pc:#x}: {e}\n{unit}",
                self.frontend.name()
            );
        }
        trace::translated(&self.cfg.trace, &*self.frontend, &*self.mem, &unit);
        inner.stats.units_translated += 1;
        inner.stats.guest_insns_translated += u64::from(unit.guest_insns);
        let tb = Tb::new(unit, self.stub);
        tb.solo.store(solo, Ordering::Relaxed);
        inner.cache.insert(key, Arc::new(tb));
    }

    /// The direct map with the memory's current high windows (they may appear after start-up).
    fn direct_now(&self) -> DirectMap {
        let mut d = self.direct;
        if let Some(m) = self.mem.direct() {
            d.high = m.high;
        }
        d
    }

    /// Gathers the region `tb` heads and what lowering needs for it (None without IR).
    fn prepare(&self, inner: &Inner, tb: &Arc<Tb>, key: TbKey) -> Option<Job> {
        let ir = tb.ir()?;
        // Members must have run about as often as a unit that gets compiled.
        let region = region::gather(&inner.cache, tb, ir, self.cfg.hot_threshold / 2, key.flags);
        let params = LowerParams {
            direct: self.direct_now(),
            slow_ctx: &*self.slow as *const SlowCtx as u64,
            slots: tb.slot_base(2 * region.members.len()),
            count_insns: self.cfg.count_insns,
            precise: self.precise.load(Ordering::Acquire),
        };
        Some(Job {
            tb: tb.clone(),
            key,
            region,
            params,
            epoch: inner.epoch,
            out_asm: self.cfg.trace.out_asm,
        })
    }

    /// Compiles `tb` with the hot units reachable from it as one region; returns its code
    /// address (0 if it stays interpreted) and whether code memory was full (the caller
    /// flushes and retries).
    fn compile(&self, inner: &mut Inner, tb: &Arc<Tb>, flags: u32) -> (u64, bool) {
        let key = TbKey { pc: tb.pc, flags };
        let Some(job) = self.prepare(inner, tb, key) else {
            return (tb.code(), false);
        };
        let t0 = Instant::now();
        let r = {
            let mut jit = lock(&self.jit);
            let Some(jit) = jit.as_mut() else {
                return (0, false);
            };
            job.compile(jit)
        };
        match finish(inner, &job, r, t0) {
            Finish::Installed(addr) => (addr, false),
            Finish::Full => (0, true),
            Finish::Dropped => (0, false),
        }
    }

    /// With background compilation on, hands the region `tb` heads to the compiler thread
    /// if it has fewer than [`MAX_PENDING`] jobs (the TB is marked queued until its job
    /// ends). A longer queue would leave hot code in the baseline tier ever longer while a
    /// boot makes new hot code faster than one thread compiles it; a busy compiler leaves
    /// the unit waiting for a later try ([`NO_DEFER`]).
    fn queue(&self, inner: &mut Inner, tb: &Arc<Tb>, key: TbKey) -> Queue {
        if tb.queued.load(Ordering::Acquire) != 0 {
            return Queue::Taken;
        }
        let mut bg = lock(&self.background);
        if bg.is_none() && self.background_wanted.load(Ordering::Relaxed) {
            self.start_background(&mut bg);
        }
        let Some((tx, _)) = bg.as_ref() else {
            return Queue::No;
        };
        if self.pending.load(Ordering::Acquire) >= *MAX_PENDING {
            return Queue::Busy;
        }
        let Some(job) = self.prepare(inner, tb, key) else {
            return Queue::No;
        };
        // Its members wait for it too: compiling them meanwhile would compile them twice.
        job.hold(1);
        self.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = tx.send(job) {
            e.0.hold(-1);
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Queue::No;
        }
        Queue::Taken
    }

    /// Compiles hot regions on a thread of its own (`on`) while vCPUs keep interpreting them,
    /// installing each when it is ready (unless what it was made from changed meanwhile), or
    /// in the lookup that finds them hot (off, the default). With two host cores and one busy
    /// vCPU (a machine booting), the compile time leaves the vCPU's path. Must not be called
    /// from a helper running inside compiled code.
    pub fn set_background_compile(&self, on: bool) {
        // On: the thread starts with the first hot unit, so a process that never has one (a
        // shell that execs at once) never pays for it.
        self.background_wanted.store(on, Ordering::Relaxed);
        if !on {
            self.pause_background_compile();
        }
    }

    /// Before a fork (Linux user mode): ends the compiler thread once it has compiled what
    /// it was given, so no other thread of this process holds the engine's locks or is half
    /// way through installing code when the child is made (it would inherit them held). With
    /// background compiling on, the parent and the child each start a compiler thread again
    /// when a unit next gets hot. Must not be called from a helper running inside compiled
    /// code.
    pub fn pause_background_compile(&self) {
        let taken = lock(&self.background).take();
        if let Some((tx, h)) = taken {
            drop(tx);
            let _ = h.join();
        }
    }

    fn start_background(
        &self,
        bg: &mut Option<(std::sync::mpsc::Sender<Job>, std::thread::JoinHandle<()>)>,
    ) {
        if bg.is_some() || !self.has_jit {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (inner, jit, pending) = (self.inner.clone(), self.jit.clone(), self.pending.clone());
        let opt = self.opt_level.clone();
        // The compiler is made on its own thread (a few ms), not in the vCPU's lookup; if it
        // cannot be, the thread ends and jobs go back to the vCPU (`queue` sees the send fail).
        let h = std::thread::Builder::new()
            .name("xlat-compile".into())
            .spawn(move || match Compiler::new(&opt) {
                Ok(comp) => background(comp, &inner, &jit, &pending, &rx),
                Err(e) => tracing::warn!(target: "xlat::backend", "no background compiler: {e}"),
            });
        match h {
            Ok(h) => *bg = Some((tx, h)),
            Err(e) => {
                self.background_wanted.store(false, Ordering::Relaxed);
                tracing::warn!(target: "xlat::backend", "no background compiler: {e}");
            }
        }
    }

    /// Drops every translation (the guest changed code: munmap, mprotect, fence.i). vCPUs
    /// inside [`Engine::run`] are pulled out of compiled code first (a private bit of their
    /// `exit_request`, which `run` clears and does not report) and clear their jump caches when
    /// they next look a unit up. Must not be called from a helper running inside compiled code.
    pub fn flush(&self) {
        self.flush_from(None);
    }

    /// In the child of a fork of a process whose only vCPU was the forking thread: keeps every
    /// translation, on a private copy of code memory (the parent shares the original and keeps
    /// compiling into it). The caller keeps the parent from reusing code memory until this
    /// returns. On an error the engine must not run again.
    pub fn after_fork(&self) -> Result<(), BackendError> {
        match lock(&self.jit).as_mut() {
            Some(jit) => jit.unshare_code(),
            None => Ok(()),
        }
    }

    /// Drops the translations of guest code overlapping `[start, start + len)` (munmap,
    /// mprotect, a write to code), unlinking whatever was chained to them. Compiled code stays
    /// in code memory until the next full flush, so a vCPU still running it is safe; running
    /// vCPUs are pulled out of compiled code and clear their jump caches.
    pub fn invalidate(&self, start: u64, len: u64) {
        let n = {
            let mut inner = self.lock();
            let n = inner.cache.invalidate(start, len, self.stub);
            if n > 0 {
                inner.generation += 1;
                inner.stats.units_invalidated += n as u64;
            }
            n
        };
        if n > 0 {
            self.kick_vcpus(0);
        }
    }

    /// Drops the translations whose key flags satisfy `pred` (system mode: the flags set by
    /// [`Engine::set_tb_flags`] name the physical page of the code, so a machine drops the
    /// blocks of the pages the guest overwrote instead of everything), as
    /// [`Engine::invalidate`] does.
    pub fn invalidate_flags(&self, pred: &dyn Fn(u32) -> bool) -> usize {
        let n = {
            let mut inner = self.lock();
            let n = inner.cache.invalidate_flags(pred, self.stub);
            if n > 0 {
                inner.generation += 1;
                inner.stats.units_invalidated += n as u64;
            }
            n
        };
        if n > 0 {
            self.kick_vcpus(0);
        }
        n
    }

    /// Makes every vCPU inside `run` (but the one whose `exit_request` is at `own`) leave
    /// compiled code at its next unit entry.
    fn kick_vcpus(&self, own: usize) {
        for &req in self.vcpus.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if req != own {
                // SAFETY: registered addresses are `exit_request` fields of states borrowed by
                // a live `run` call; they are removed before that call returns.
                unsafe { &*(req as *const AtomicU32) }.fetch_or(FLUSH_REQUEST, Ordering::AcqRel);
            }
        }
    }

    fn flush_from(&self, own: Option<&AtomicU32>) {
        self.kick_vcpus(own.map_or(0, |r| r as *const AtomicU32 as usize));
        let _excl = self.code_lock.write().unwrap_or_else(|e| e.into_inner());
        let mut inner = self.lock();
        inner.cache.clear();
        if let Some(jit) = lock(&self.jit).as_mut() {
            jit.reset();
        }
        inner.epoch += 1;
        inner.want_flush = false;
        inner.generation += 1;
        inner.stats.flushes += 1;
        inner.just_flushed = true;
    }

    /// Chooses whether compiled code keeps the CPU state exact at every guest memory access
    /// (the guest pc and every changed register stored before it), so that a host fault there
    /// can be delivered to a guest handler with the guest's exact state (`crate::fault`). It
    /// costs about 2x on memory-heavy loops, so it is off by default: linux-user turns it on
    /// when the guest installs a SIGSEGV or SIGBUS handler. Without it a fault in compiled code
    /// still stops the vCPU with the right exception and fault address, but the registers and
    /// pc are those of the last exit (fine when the fault kills the process). Changing the mode
    /// flushes every translation. Must not be called from a helper running inside compiled
    /// code.
    pub fn set_precise_faults(&self, on: bool) {
        if self.precise.swap(on, Ordering::AcqRel) != on {
            self.flush();
        }
    }

    /// Whether `host_pc` lies in this engine's compiled code. Async-signal-safe (no locks, no
    /// allocation): a SIGSEGV/SIGBUS handler can tell a guest memory fault in JIT code from
    /// an emulator bug.
    pub fn is_jit_code(&self, host_pc: u64) -> bool {
        self.code_range.contains(&host_pc)
    }

    /// System mode: keys translation blocks by `f(state)` as well as the pc (the physical
    /// page and privilege of the code), and chains direct exits only within a page, so that
    /// a changed mapping needs no flush: lookups through the loop find (or make) the right
    /// block and the caller clears the vCPU's jump cache. Set once, before running.
    pub fn set_tb_flags(&self, f: crate::softmmu::TbFlagsFn) {
        let _ = self.tb_flags.set(f);
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        let mut s = inner.stats.clone();
        let mut t = inner.compile_us.clone();
        t.sort_unstable();
        s.compile_us_median = t.get(t.len() / 2).map_or(0, |&v| u64::from(v));
        s.compile_us_total = t.iter().map(|&v| u64::from(v)).sum();
        s.units_executed = self.executed.load(Ordering::Relaxed);
        s.units_interpreted = self.interpreted.load(Ordering::Relaxed);
        s.guest_insns_executed = self.insns.load(Ordering::Relaxed);
        s.code_memory_used = lock(&self.jit).as_ref().map_or(0, |j| j.code_used() as u64);
        s
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Compile times of every compiled unit so far, µs, in compile order.
    pub fn compile_times_us(&self) -> Vec<u32> {
        self.lock().compile_us.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.set_background_compile(false);
    }
}

/// Locks `m`; a panic while holding it leaves plain data behind: keep going with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A region to compile: gathered under the engine lock, compiled without it.
struct Job {
    tb: Arc<Tb>,
    key: TbKey,
    region: region::Region,
    params: LowerParams,
    /// [`Inner::epoch`] when it was gathered.
    epoch: u64,
    out_asm: bool,
}

impl Job {
    /// Counts the job in (`1`) or out (`-1`) of its members' [`Tb::queued`].
    fn hold(&self, d: i32) {
        for (tb, _) in &self.region.members {
            if d > 0 {
                tb.queued.fetch_add(1, Ordering::AcqRel);
            } else {
                tb.queued.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn units(&self) -> Vec<&xlat_ir::Unit> {
        self.region.members.iter().map(|(_, ir)| &ir.unit).collect()
    }

    fn compile(&self, jit: &mut Jit) -> Result<jit::Compiled, CompileError> {
        jit.compile_region_for(&self.units(), self.params, self.region.looping)
    }

    /// Whether what the job was made from is still what the cache holds: the same code
    /// memory and, for every member, the same TB.
    fn current(&self, inner: &Inner) -> bool {
        inner.epoch == self.epoch
            && self.region.members.iter().all(|(tb, _)| {
                inner
                    .cache
                    .get(TbKey {
                        pc: tb.pc,
                        flags: self.key.flags,
                    })
                    .is_some_and(|t| Arc::ptr_eq(t, tb))
            })
    }
}

/// How a compile ended.
enum Finish {
    /// Code installed at this address.
    Installed(u64),
    /// Code memory was full: flush and retry.
    Full,
    /// Stays interpreted (for now: a background job for a changed cache).
    Dropped,
}

/// Under the lock: installs a compile's result (counting it), or says why not.
fn finish(
    inner: &mut Inner,
    job: &Job,
    r: Result<jit::Compiled, CompileError>,
    t0: Instant,
) -> Finish {
    let tb = &job.tb;
    match r {
        Ok(c) => {
            if !job.current(inner) {
                return Finish::Dropped;
            }
            let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            let n = job.region.members.len();
            inner.compile_us.push(us);
            inner.stats.units_compiled += 1;
            inner.stats.guest_insns_compiled += job.region.guest_insns();
            inner.stats.host_code_bytes += c.size as u64;
            if n > 1 {
                inner.stats.regions_compiled += 1;
                inner.stats.region_members += n as u64;
            }
            if job.out_asm {
                let pcs: Vec<u64> = job.region.members.iter().map(|(t, _)| t.pc).collect();
                trace::host_code(&pcs, c.addr, c.size);
            }
            perf_map(c.addr, c.size, "cl", tb.pc, n);
            inner.cache.add_region(job.key, job.region.member_ranges());
            tb.code.store(c.addr, Ordering::Release);
            inner.just_flushed = false;
            Finish::Installed(c.addr)
        }
        Err(CompileError::Full) if !inner.just_flushed => Finish::Full,
        Err(_) if !job.current(inner) => Finish::Dropped,
        Err(e) => {
            // Broken codegen (our bug) or a unit bigger than all of code memory.
            tb.no_jit.store(true, Ordering::Relaxed);
            tracing::error!(target: "xlat::backend", "unit at {:#x} stays interpreted: {e}", tb.pc);
            if cfg!(test) && !matches!(e, CompileError::Full) {
                panic!("compile failed at {:#x}: {e}", tb.pc);
            }
            Finish::Dropped
        }
    }
}

/// `XLAT_PERF_MAP=1`: each installed function as a line of `/tmp/perf-PID.map` (perf's JIT
/// symbol file: `START SIZE NAME`, the name giving the tier, the guest pc and the region size).
fn perf_map(addr: u64, size: usize, tier: &str, pc: u64, members: usize) {
    type Map = Mutex<(std::io::BufWriter<std::fs::File>, u32)>;
    static MAP: LazyLock<Option<Map>> = LazyLock::new(|| {
        std::env::var_os("XLAT_PERF_MAP")?;
        let path = format!("/tmp/perf-{}.map", std::process::id());
        let f = std::fs::File::create(path).ok()?;
        Some(Mutex::new((std::io::BufWriter::new(f), 0)))
    });
    if let Some(f) = MAP.as_ref() {
        use std::io::Write as _;
        let mut f = lock(f);
        let _ = writeln!(f.0, "{addr:x} {size:x} {tier}:{pc:#x}/{members}");
        // Written out every 64 lines (a few are lost at exit).
        f.1 += 1;
        if f.1 % 64 == 0 {
            let _ = f.0.flush();
        }
    }
}

/// The background compiler: compiles queued regions (skipping those whose TBs changed)
/// until the engine drops the queue.
fn background(
    mut comp: Compiler,
    inner: &Mutex<Inner>,
    jit: &Mutex<Option<Jit>>,
    pending: &AtomicU64,
    rx: &std::sync::mpsc::Receiver<Job>,
) {
    while let Ok(job) = rx.recv() {
        if job.current(&lock(inner)) {
            let t0 = Instant::now();
            let r = comp
                .region_code(&job.units(), job.params, job.region.looping)
                .and_then(|code| {
                    // Never holds the code memory while taking `inner` (a flush holds `inner`
                    // and then takes the code memory).
                    lock(jit)
                        .as_mut()
                        .map_or(Err(CompileError::Full), |j| j.install(code))
                });
            let mut inner = lock(inner);
            if let Finish::Full = finish(&mut inner, &job, r, t0) {
                inner.want_flush = true;
            }
        }
        job.hold(-1);
        pending.fetch_sub(1, Ordering::AcqRel);
    }
}

// The engine is shared by vCPU threads.
const _: fn() = || {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Engine>();
};
