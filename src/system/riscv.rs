//! One RISC-V hart of a machine: its CPU state, its view of memory (the frontend's Sv39/Sv48
//! walk glued to the softmmu), and the loop that runs guest code through the engine and does
//! what the privileged architecture asks at every exit: trap entry, CSR and privileged
//! instructions, interrupts at block boundaries, `wfi` sleeping until an interrupt.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use xlat_backend::{Engine, EngineConfig, RunExit};
use xlat_frontend_riscv::system::pmp::{Pmp, PmpRanges};
use xlat_frontend_riscv::system::{self as rv, Effects, Platform, exec, mmu, trap};
use xlat_frontend_riscv::{ILLEGAL_INSTRUCTION, INSTRUCTION_ACCESS_FAULT, Riscv64};
use xlat_ir::abi::CpuState;
use xlat_softmmu::system::KICK;
use xlat_softmmu::system::testdev::{Shutdown, StopReason};
use xlat_softmmu::system::{Access, Bus, CpuIrqs, HartMemory, Translate, clock};

/// Cranelift settings for system mode. Booting Debian's kernel to its init (512 MiB,
/// OpenSBI fw_jump, `-d stats`, this machine): backtracking allocator 14.3 s at threshold 50,
/// 9.0 s at 200; single-pass allocator 9.4 s at 50, 7.7 s at 200 (compile time dominates:
/// a boot runs a great deal of code a few hundred times). Since the baseline tier runs code
/// until 1000 runs, Cranelift sees only hot code and the backtracking allocator pays: boot to
/// init, 6 interleaved pairs on a quiet host, wall median 6.5 -> 5.45 s, hart CPU 6.2 -> 5.0 s
/// (the compile thread does ~30% more work, on the other core).
pub const SYSTEM_OPT_LEVEL: &str = "none";
/// Runs before a block is compiled in system mode (measured as above, without the baseline
/// tier). With it (the default; blocks run as baseline code from their first run), boot to
/// init, hart CPU ms, interleaved: 200: 6032, 1000: 5349, 2000: 5665; without the
/// baseline tier at 200: 7294. Once hot units waited for a busy background compiler instead
/// of being compiled by the hart (medians of 5 interleaved runs, loaded host): 1000: 4009,
/// **2000**: 3600 (1500: 4420, 3000: 4656 in another round where 2000 gave 4211).
pub const SYSTEM_HOT_THRESHOLD: u32 = 2000;

/// CPU time of the calling thread so far, ms (`-d stats`: a hart's own time, without the
/// background compiler's).
pub fn thread_cpu_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and nothing else.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// The hart's translation inputs, kept in step with its CSRs by the loop.
#[derive(Debug, Default)]
struct RvMmu {
    modes: Mutex<(mmu::Mode, mmu::Mode)>,
    pmp: Mutex<PmpRanges>,
    /// Superpages (virtual base, leaf level) translations were cached from since the last
    /// full flush: an `sfence.vma` of an address in one must flush everything, since the
    /// TLBs hold such a page as many 4 KiB entries.
    supers: Mutex<Supers>,
}

/// The superpages translations came from (see [`RvMmu::supers`]).
type Supers = std::collections::HashSet<(u64, u32), std::hash::BuildHasherDefault<PageHasher>>;

/// A hasher for [`Supers`] keys, filled at every TLB fill from a superpage (SipHash cost as
/// much as the rest of the fill's bookkeeping): a multiply and a rotation per word.
#[derive(Default)]
struct PageHasher(u64);

impl std::hash::Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
}

impl RvMmu {
    /// Whether `va` lies in a superpage some cached translation came from.
    fn in_superpage(&self, va: u64) -> bool {
        let s = self.supers.lock().unwrap_or_else(|e| e.into_inner());
        !s.is_empty() && (1..4).any(|l| s.contains(&(va & !((1u64 << (12 + 9 * l)) - 1), l)))
    }
}

struct BusPte<'a>(&'a Bus);

impl mmu::PteMem for BusPte<'_> {
    fn read(&mut self, pa: u64) -> Option<u64> {
        if pa & 7 != 0 {
            return None;
        }
        self.0.ram_host(pa, 8).and_then(|_| self.0.read(pa, 8))
    }
    fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool> {
        self.0.atomic_cas(pa, 8, old, new).map(|v| v == old)
    }
}

impl RvMmu {
    /// The walk for `access` (noting superpages) and the PMP check: the physical address
    /// and whether a store would be allowed there with no PTE update (see
    /// [`Translate::translate_read`]).
    fn walk(&self, va: u64, access: Access, bus: &Bus) -> Result<(u64, bool), u32> {
        let (data, fetch) = *self.modes.lock().unwrap_or_else(|e| e.into_inner());
        let (m, k) = match access {
            Access::Read => (data, mmu::Kind::Read),
            Access::Write => (data, mmu::Kind::Write),
            Access::Fetch => (fetch, mmu::Kind::Fetch),
        };
        let w = mmu::walk(&m, va, k, &mut BusPte(bus))?;
        if w.level > 0 {
            let base = va & !((1u64 << (12 + 9 * w.level)) - 1);
            self.supers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((base, w.level));
        }
        let pmp = self.pmp.lock().unwrap_or_else(|e| e.into_inner());
        if !pmp.allows(w.pa, k, m.prv) {
            return Err(k.access_fault());
        }
        let writable = w.writable && pmp.allows(w.pa, mmu::Kind::Write, m.prv);
        Ok((w.pa, writable))
    }
}

impl Translate for RvMmu {
    fn translate(&self, va: u64, access: Access, bus: &Bus) -> Result<u64, u32> {
        self.walk(va, access, bus).map(|(pa, _)| pa)
    }
    fn translate_read(&self, va: u64, bus: &Bus) -> Result<(u64, bool), u32> {
        self.walk(va, Access::Read, bus)
    }
    fn access_fault(&self, access: Access) -> u32 {
        match access {
            Access::Read => mmu::Kind::Read.access_fault(),
            Access::Write => mmu::Kind::Write.access_fault(),
            Access::Fetch => mmu::Kind::Fetch.access_fault(),
        }
    }
    fn misaligned(&self, access: Access) -> u32 {
        match access {
            Access::Read => xlat_frontend_riscv::LOAD_ADDRESS_MISALIGNED,
            Access::Write => xlat_frontend_riscv::STORE_ADDRESS_MISALIGNED,
            Access::Fetch => xlat_frontend_riscv::INSTRUCTION_ADDRESS_MISALIGNED,
        }
    }
}

/// Kicks the hart at a deadline (the Sstc timer), from a thread of its own.
#[derive(Debug, Default)]
struct Alarm {
    at: Mutex<Option<u64>>,
    cv: Condvar,
}

impl Alarm {
    fn start(irqs: Arc<CpuIrqs>) -> Arc<Alarm> {
        let a = Arc::new(Alarm::default());
        let weak = Arc::downgrade(&a);
        std::thread::spawn(move || {
            while let Some(a) = weak.upgrade() {
                let mut g = a.at.lock().unwrap_or_else(|e| e.into_inner());
                match *g {
                    Some(t) if clock::mtime() >= t => {
                        *g = None;
                        irqs.kick();
                    }
                    Some(t) => {
                        let d = clock::until(t).min(Duration::from_millis(100));
                        drop(a.cv.wait_timeout(g, d));
                    }
                    None => drop(a.cv.wait_timeout(g, Duration::from_millis(100))),
                }
            }
        });
        a
    }
    fn set(&self, at: Option<u64>) {
        let mut g = self.at.lock().unwrap_or_else(|e| e.into_inner());
        if *g != at {
            *g = at;
            self.cv.notify_all();
        }
    }
}

/// The inline TLB table of a data translation mode: one per (privilege, SUM), so switching
/// between them needs no flush.
fn tlb_table(data: &mmu::Mode) -> usize {
    match data.prv {
        rv::PRV_U => 0,
        rv::PRV_S if data.sum => 2,
        rv::PRV_S => 1,
        _ => 3,
    }
}

/// What `Hart::apply` does for a changed data mode, done from a CSR instruction in place
/// when it needs no flush (SUM toggled around the kernel's user accesses): false, having
/// changed nothing, otherwise.
fn mmu_in_place(mmu: &RvMmu, mem: &HartMemory, env: &mut CpuState) -> bool {
    let (data, fetch) = (mmu::Mode::data(env), mmu::Mode::fetch(env));
    let mut modes = mmu.modes.lock().unwrap_or_else(|e| e.into_inner());
    let old = *modes;
    // SUM does not apply to fetches: the fetch translations stay good.
    let same_fetch = mmu::Mode {
        sum: old.1.sum,
        ..fetch
    } == old.1;
    if !same_fetch || old.0.satp != data.satp || old.0.mxr != data.mxr || old.0.prv != data.prv {
        return false;
    }
    *modes = (data, fetch);
    env.tlb = mem.select(tlb_table(&data));
    true
}

/// `sfence.vma` of `va`: false, having done nothing, when `va` lies in a superpage (the
/// caller flushes everything); else one 4 KiB page's TLB entries and the jump-cache entries
/// of its code (blocks are keyed by physical page, see `Hart::new`). Done by the loop or, from
/// compiled code, in place (`rv::SFENCE_IN_PLACE`).
fn flush_page(mmu: &RvMmu, mem: &HartMemory, env: &mut CpuState, va: u64) -> bool {
    if mmu.in_superpage(va) {
        return false;
    }
    mem.flush_page(va);
    // Only the page's window of the jump cache can hold its entries.
    let page = va >> 12;
    for e in &mut env.jmp_cache[xlat_ir::abi::jmp_cache_page(page << 12)] {
        if e.pc >> 12 == page {
            *e = xlat_ir::abi::JmpCacheEntry::default();
        }
    }
    true
}

/// Switches for the hart loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct HartTrace {
    /// One line per trap taken (`-d int`).
    pub int: bool,
    /// One line per access fault, e.g. a load from unmapped physical memory
    /// (`-d guest_error`).
    pub guest_error: bool,
}

/// A RISC-V hart.
pub struct Hart {
    engine: Engine,
    mem: Arc<HartMemory>,
    mmu: Arc<RvMmu>,
    irqs: Arc<CpuIrqs>,
    alarm: Arc<Alarm>,
    env: Box<CpuState>,
    trace: HartTrace,
    id: u64,
}

impl std::fmt::Debug for Hart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hart")
            .field("pc", &self.env.pc)
            .finish_non_exhaustive()
    }
}

impl Hart {
    /// Hart `id` of a machine with physical memory `bus`, interrupt lines `irqs`, starting at
    /// `pc` with `a0 = id` and `a1 = a1`.
    pub fn new(
        bus: Arc<Bus>,
        irqs: Arc<CpuIrqs>,
        cfg: EngineConfig,
        id: u64,
        pc: u64,
        a1: u64,
        trace: HartTrace,
    ) -> Result<Hart, String> {
        let mmu = Arc::new(RvMmu::default());
        let mem = Arc::new(HartMemory::new(bus, mmu.clone()));
        // `XLAT_SYSTEM_OPT_LEVEL` overrides the Cranelift settings (A/B measurements).
        let opt = std::env::var("XLAT_SYSTEM_OPT_LEVEL");
        let engine = Engine::with_opt_level(
            Arc::new(Riscv64::new_system()),
            mem.clone(),
            cfg,
            opt.as_deref().unwrap_or(SYSTEM_OPT_LEVEL),
        )
        .map_err(|e| e.to_string())?;
        let mut env = CpuState::new_boxed();
        rv::reset(&mut env, id, pc);
        env.set_word(xlat_frontend_riscv::state::A0, id);
        env.set_word(xlat_frontend_riscv::state::x(11), a1);
        // Translation blocks are keyed by the physical page of their code and the privilege
        // they run at.
        let fetch_mem = mem.clone();
        engine.set_tb_flags(xlat_backend::TbFlagsFn(Arc::new(move |env: &CpuState| {
            let prv = env.word(rv::PRIV) as u32 & 3;
            let ppn = fetch_mem
                .translate(env.pc, Access::Fetch)
                .map_or(0, |pa| (pa >> 12) as u32);
            (ppn << 2) | prv
        })));
        // A boot runs a great deal of code a few hundred times: compile it on another host
        // thread while the hart keeps interpreting (`XLAT_FG_COMPILE=1`: in the hart's own
        // lookups, to measure the difference).
        if std::env::var_os("XLAT_FG_COMPILE").is_none() {
            engine.set_background_compile(true);
        }
        let alarm = Alarm::start(irqs.clone());
        let mut h = Hart {
            engine,
            mem,
            mmu,
            irqs,
            alarm,
            env,
            trace,
            id,
        };
        h.apply(Effects {
            mmu: true,
            ..Effects::default()
        });
        Ok(h)
    }

    /// The engine (statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn platform(&self) -> Platform {
        Platform {
            lines: self.irqs.pending(),
            time: clock::mtime(),
        }
    }

    /// Runs until `stop` is requested.
    pub fn run(&mut self, stop: &Arc<Shutdown>) -> StopReason {
        self.irqs.attach(&self.env.exit_request);
        let irqs = self.irqs.clone();
        stop.on_request(Box::new(move || irqs.kick()));
        // CSR instructions that change nothing but CSR state (and SUM) run in place, reading
        // the lines and the time as the loop does (`Hart::platform`).
        let irqs = self.irqs.clone();
        let (mmu, mem) = (self.mmu.clone(), self.mem.clone());
        let (mmu2, mem2) = (self.mmu.clone(), self.mem.clone());
        rv::set_in_place(Some(rv::InPlace {
            platform: Box::new(move || Platform {
                lines: irqs.pending(),
                time: clock::mtime(),
            }),
            mmu: Box::new(move |env| mmu_in_place(&mmu, &mem, env)),
            flush_page: Box::new(move |env, va| flush_page(&mmu2, &mem2, env, va)),
        }));
        let r = self.run_loop(stop);
        rv::set_in_place(None);
        self.irqs.detach();
        r
    }

    fn run_loop(&mut self, stop: &Shutdown) -> StopReason {
        loop {
            if let Some(r) = stop.get() {
                return r;
            }
            let p = self.platform();
            if let Some(c) = trap::pending(&self.env, &p) {
                if self.trace.int {
                    eprintln!(
                        "int: hart {} interrupt {c} at pc={:#x}",
                        self.id, self.env.pc
                    );
                }
                let epc = self.env.pc;
                let fx = trap::take(&mut self.env, trap::INTERRUPT | c, epc, 0);
                self.apply(fx);
            }
            let exit = self.engine.run(&mut self.env);
            let fx = match exit {
                RunExit::Request => {
                    self.env.exit_request.fetch_and(!KICK, Ordering::AcqRel);
                    continue;
                }
                RunExit::Syscall => exec::ecall(&mut self.env),
                RunExit::Breakpoint => exec::ebreak(&mut self.env),
                RunExit::Exception { code, arg } if code == ILLEGAL_INSTRUCTION => {
                    let p = self.platform();
                    exec::illegal(&mut self.env, arg as u32, &p)
                }
                RunExit::Exception { code, arg } => {
                    let code = if code == INSTRUCTION_ACCESS_FAULT {
                        // The lifter cannot tell a page fault from an access fault.
                        match self.mem.translate(arg, Access::Fetch) {
                            Err(c) => c,
                            Ok(_) => code,
                        }
                    } else {
                        code
                    };
                    if self.trace.guest_error
                        && [
                            INSTRUCTION_ACCESS_FAULT,
                            xlat_frontend_riscv::LOAD_ACCESS_FAULT,
                            xlat_frontend_riscv::STORE_ACCESS_FAULT,
                        ]
                        .contains(&code)
                    {
                        eprintln!(
                            "guest_error: hart {} access fault (cause {code}) at address {arg:#x}, pc={:#x}",
                            self.id, self.env.pc
                        );
                    }
                    exec::exception(&mut self.env, u64::from(code), arg)
                }
            };
            if self.trace.int && !matches!(exit, RunExit::Exception { code: 2, .. }) {
                eprintln!(
                    "int: hart {} {exit:?} -> pc={:#x} priv={}",
                    self.id,
                    self.env.pc,
                    self.env.word(rv::PRIV)
                );
            }
            self.apply(fx);
            if fx.wfi {
                self.wait_for_interrupt(stop);
            }
        }
    }

    fn apply(&mut self, mut fx: Effects) {
        if let Some(va) = fx.flush_page
            && !flush_page(&self.mmu, &self.mem, &mut self.env, va)
        {
            fx.mmu = true;
            fx.flush_code = true;
        }
        if fx.mmu || fx.flush_code {
            let (data, fetch) = (mmu::Mode::data(&self.env), mmu::Mode::fetch(&self.env));
            let old = std::mem::replace(
                &mut *self.mmu.modes.lock().unwrap_or_else(|e| e.into_inner()),
                (data, fetch),
            );
            *self.mmu.pmp.lock().unwrap_or_else(|e| e.into_inner()) =
                Pmp::from_env(&self.env).ranges();
            // One inline TLB table per (privilege, SUM): switching between them needs no
            // flush; a new page-table base, MXR or sfence.vma invalidates them all.
            if fx.flush_code || old.0.satp != data.satp || old.0.mxr != data.mxr {
                self.mem.flush_tlb();
                self.mmu
                    .supers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            } else if old.1 != fetch {
                self.mem.flush_fetch();
            }
            if old.1.prv != fetch.prv {
                // The jump cache is found by virtual pc alone: code looked up at another
                // privilege must not be reached from this one.
                self.env.clear_jmp_cache();
            }
            self.env.tlb = self.mem.select(tlb_table(&data));
        }
        if fx.flush_code {
            // Blocks are keyed by their physical page (see `Hart::new`) and chained only
            // within a page, so a new mapping needs no flush: only the jump cache, whose
            // entries are found by virtual pc alone, must go.
            self.env.clear_jmp_cache();
        }
        if fx.fence_i {
            // Blocks are keyed by the physical page of their code (`Hart::new`): drop those
            // of the pages overwritten since the last fence (by any hart: the bus's code map
            // tells every hart), and no more.
            let pages = self.mem.take_written_code_pages();
            // The predicate runs for every block in the cache: a short list is scanned, a
            // long one hashed cheaply.
            let mut pages: Vec<u32> = pages.into_iter().map(|p| p as u32).collect();
            pages.sort_unstable();
            pages.dedup();
            if pages.len() > 8 {
                let set: std::collections::HashSet<u32, std::hash::BuildHasherDefault<PageHasher>> =
                    pages.into_iter().collect();
                self.engine.invalidate_flags(&|f| set.contains(&(f >> 2)));
            } else if !pages.is_empty() {
                self.engine.invalidate_flags(&|f| pages.contains(&(f >> 2)));
            }
        }
        if fx.irq {
            let e = &self.env;
            let armed =
                e.word(rv::MENVCFG) & rv::csr::STCE != 0 && e.word(rv::MIE) & rv::csr::STI != 0;
            self.alarm.set(armed.then(|| e.word(rv::STIMECMP)));
        }
    }

    fn wait_for_interrupt(&mut self, stop: &Shutdown) {
        let env = &self.env;
        let irqs = &self.irqs;
        while !trap::wfi_wakes(env, &self.platform()) && stop.get().is_none() {
            let mut d = Duration::from_millis(100);
            if env.word(rv::MENVCFG) & rv::csr::STCE != 0 {
                d = d.min(clock::until(env.word(rv::STIMECMP)));
            }
            irqs.wait_until(d, || {
                trap::wfi_wakes(
                    env,
                    &Platform {
                        lines: irqs.pending(),
                        time: clock::mtime(),
                    },
                ) || stop.get().is_some()
            });
        }
    }
}
