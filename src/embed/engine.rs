//! The embedded engine: memory, registers, `start`/`stop`, hooks and the exec loop around
//! the backend's [`xlat_backend::Engine`].

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use xlat_backend::{EngineConfig, RunExit};
use xlat_ir::abi::CpuState;
use xlat_ir::{Frontend, MemOp, Opcode, TrapClass};
use xlat_softmmu::AddressSpace;
use xlat_softmmu::user::{Backing, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, page_up};

use super::hooks::{
    Callback, EXC_LOAD_FAULT, EXC_RESYNC, EXC_STOP, EXC_STORE_FAULT, FAULT_SIZE, Hook, HookId,
    HookTable, HookedFrontend, Insn, MemHookKind, REQ_EMBED, Tag, X86_GP,
};
use super::mem::{EmbedMem, HIGH, MmioRead, MmioWrite, Owned, Special, SpecialKind};
use super::{Arch, Context, Error, Mode, Perm, Reg, Region, Vcpu, X86Reg, sig};

/// A run of one kind of memory: `(address, length, host pointer of a host region)`.
type Piece = (u64, usize, Option<*mut u8>);

/// Stop requests, shared with [`StopHandle`]s.
#[derive(Debug, Default)]
pub(crate) struct Control {
    pub stop: AtomicBool,
    /// Hooks or mappings changed under running code.
    pub resync: AtomicBool,
    /// Address of the running vCPU's `exit_request`, 0 when not running.
    running: Mutex<usize>,
}

impl Control {
    fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        let r = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if *r != 0 {
            // SAFETY: a non-zero value is the `exit_request` of the state `start` is running;
            // `start` clears it under this lock before that state can go away.
            unsafe { &*(*r as *const AtomicU32) }.fetch_or(REQ_EMBED, Ordering::AcqRel);
        }
    }
}

/// Stops an engine's emulation from another thread (or from a hook). Cheap to clone.
///
/// ```
/// use xlat::embed::{Arch, Engine, Mode};
/// let engine = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
/// let h = engine.stop_handle();
/// std::thread::spawn(move || h.stop()).join().unwrap(); // nothing running: a no-op
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<Control>);

impl StopHandle {
    /// Makes the running `start` return `Ok` at the next block boundary (at once from a code
    /// or block hook). Does nothing while the engine is not running.
    pub fn stop(&self) {
        self.0.request_stop();
    }
}

/// Everything helpers reach; boxed, so its address is stable for translated code.
pub(crate) struct Core {
    pub arch: Arch,
    pub frontend: Arc<dyn Frontend>,
    pub mem: Arc<EmbedMem>,
    pub jit: xlat_backend::Engine,
    pub table: Arc<Mutex<HookTable>>,
    pub ctl: Arc<Control>,
    /// `start`'s `until` address (`u64::MAX`: none).
    pub until: AtomicU64,
    /// Instructions left before `start`'s count stops.
    count_left: AtomicU64,
    /// The pc a hook wrote, to continue at.
    redirect: Mutex<Option<u64>>,
    /// Re-entering at this pc after a resync: its instruction helper is skipped once.
    skip: AtomicU64,
    /// Invalidations to apply before running again: `(start, len)`, len 0 meaning all.
    pending: Mutex<Vec<(u64, u64)>>,
    /// `MemHookKind` bits of the access hooks installed.
    pub mem_hooks: AtomicU32,
    /// The pc and kind of the atomic access about to run (see `hooks::SITE_HELPER`).
    site: (AtomicU64, AtomicU64, AtomicU64),
    /// Bumped by every change of the memory layout (mappings, permissions, regions), so a
    /// snapshot knows whether memory is still laid out as it left it.
    pub map_gen: AtomicU64,
    /// Pages written since the last snapshot or restore (see [`super::dirty`]).
    pub dirty: super::dirty::Tracker,
    /// `XLAT_EMBED_SNAPSHOT_REMAP` was set: restores remap every region (the way before the
    /// dirty-page record, kept to measure the difference).
    pub remap_always: bool,
    /// What the last snapshot restore handled.
    pub restore_stats: Mutex<super::RestoreStats>,
    /// The hooks, for dispatch without a lock. `Core` is not `Sync` (this cell), so only the
    /// thread that owns the engine (and runs it) reaches it; no reference into the vector is
    /// held while a callback runs (a callback may add or remove hooks).
    fast: std::cell::UnsafeCell<Vec<Arc<Hook>>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("arch", &self.arch)
            .finish_non_exhaustive()
    }
}

impl Core {
    pub fn take_skip(&self, pc: u64) -> bool {
        self.skip.load(Ordering::Relaxed) == pc && self.skip.swap(u64::MAX, Ordering::Relaxed) == pc
    }
    pub fn set_skip(&self, pc: u64) {
        self.skip.store(pc, Ordering::Relaxed);
    }
    pub fn set_site(&self, pc: u64, m: u64, narrow: u64) {
        self.site.0.store(pc, Ordering::Relaxed);
        self.site.1.store(m, Ordering::Relaxed);
        self.site.2.store(narrow, Ordering::Relaxed);
    }
    /// The pc, kind and guest address (of a narrow atomic) of the atomic access about to run.
    pub fn site(&self) -> (u64, u64, u64) {
        (
            self.site.0.load(Ordering::Relaxed),
            self.site.1.load(Ordering::Relaxed),
            self.site.2.load(Ordering::Relaxed),
        )
    }
    pub fn set_redirect(&self, pc: u64) {
        *self.redirect.lock().unwrap_or_else(|e| e.into_inner()) = Some(pc);
    }
    /// Counts one instruction; false when the budget is spent (stop before it).
    pub fn count_insn(&self) -> bool {
        let left = self.count_left.load(Ordering::Relaxed);
        if left == 0 {
            return false;
        }
        self.count_left.store(left - 1, Ordering::Relaxed);
        true
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HookTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next hook at index >= `*i` whose tag matches `f` and covers `addr`.
    pub fn next_hook(
        &self,
        i: &mut usize,
        addr: u64,
        f: impl Fn(Tag) -> bool,
    ) -> Option<Arc<Hook>> {
        // SAFETY: see `fast`: this thread alone reaches the vector, and the borrow ends
        // before this returns.
        let v = unsafe { &*self.fast.get() };
        while *i < v.len() {
            let h = &v[*i];
            *i += 1;
            if f(h.tag) && h.covers(addr) {
                return Some(h.clone());
            }
        }
        None
    }

    /// Calls the code or block hooks covering `pc`.
    pub fn call_code_hooks(&self, v: &mut Vcpu<'_>, tag: Tag, pc: u64, size: u32) {
        let mut i = 0;
        while let Some(h) = self.next_hook(&mut i, pc, |t| t == tag) {
            // SAFETY: dispatch on the engine's thread; no other borrow of this callback is live.
            let cb = unsafe { h.callback() };
            match cb {
                Callback::Code(f) | Callback::Block(f) => f(v, pc, size),
                _ => {}
            }
        }
    }

    /// Calls the hooks of instruction `insn`.
    pub fn call_insn_hooks(&self, v: &mut Vcpu<'_>, insn: Insn) {
        let mut i = 0;
        while let Some(h) = self.next_hook(&mut i, 0, |t| t == Tag::Insn(insn)) {
            // SAFETY: dispatch on the engine's thread; no other borrow of this callback is live.
            if let Callback::Insn(f) = unsafe { h.callback() } {
                f(v);
            }
        }
    }

    /// Calls the memory hooks for `kind` covering `addr`; whether any returned true.
    pub fn call_mem_hooks(
        &self,
        v: &mut Vcpu<'_>,
        kind: MemHookKind,
        addr: u64,
        size: usize,
        value: i64,
    ) -> bool {
        let mut i = 0;
        let mut handled = false;
        while let Some(h) = self.next_hook(
            &mut i,
            addr,
            |t| matches!(t, Tag::Mem(m) if m & kind.0 != 0),
        ) {
            // SAFETY: dispatch on the engine's thread; no other borrow of this callback is live.
            let cb = unsafe { h.callback() };
            if let Callback::Mem(f) = cb {
                handled |= f(v, kind, addr, size, value);
            }
        }
        handled
    }

    /// Queues translations of `[start, start+len)` (len 0: all) to be dropped before guest
    /// code runs again, and tells running code to come out.
    pub fn invalidate(&self, start: u64, len: u64) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((start, len));
        self.ctl.resync.store(true, Ordering::Release);
    }

    fn apply_pending(&self) {
        let p = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if p.iter().any(|&(_, len)| len == 0) {
            self.jit.flush();
        } else {
            for (s, l) in p {
                self.jit.invalidate(s, l);
            }
        }
    }

    /// Re-derives what translation must instrument after the hook set changed.
    fn hooks_changed(&self, t: &mut HookTable, h: &Hook) {
        let mut bits = 0;
        for h in &t.hooks {
            if let Tag::Mem(m) = h.tag {
                bits |= m;
            }
        }
        self.mem_hooks.store(bits, Ordering::Relaxed);
        let slow = t.want_mem_slow();
        if slow != t.mem_slow {
            t.mem_slow = slow;
            self.invalidate(0, 0);
        }
        match h.range() {
            Some((_, 0)) => {}
            Some((s, l)) => self.invalidate(s, l),
            None => self.invalidate(0, 0),
        }
    }

    pub fn hook_add(&self, tag: Tag, begin: u64, end: u64, cb: Callback) -> HookId {
        let mut t = self.table();
        t.next_id += 1;
        let h = Arc::new(Hook::new(t.next_id, tag, begin, end, cb));
        t.hooks.push(h.clone());
        // SAFETY: see `fast`; no other reference into it is live (dispatch drops its borrow
        // before calling a callback).
        unsafe { &mut *self.fast.get() }.push(h.clone());
        self.hooks_changed(&mut t, &h);
        HookId(h.id)
    }

    pub fn hook_del(&self, id: HookId) -> Result<(), Error> {
        let mut t = self.table();
        let i = t
            .hooks
            .iter()
            .position(|h| h.id == id.0)
            .ok_or(Error::NoSuchHook)?;
        let h = t.hooks.remove(i);
        // SAFETY: as in hook_add.
        unsafe { &mut *self.fast.get() }.retain(|x| x.id != id.0);
        self.hooks_changed(&mut t, &h);
        Ok(())
    }

    fn set_special(&self) {
        // Engine-owned RAM (at or above 2^39) needs no helper calls: compiled code sends
        // every access at or above 2^39 out of line, where a high window or the helpers
        // take it. MMIO and caller-owned regions do, and so does RAM starting at a multiple
        // of 2^39 right after other memory, which an inline access from just below (the end
        // of the flat map or of a window) could run into. (x86-64 code at
        // 0xffff_8000_0000_0000 has nothing below it: it stays inline.)
        let (any, starts) = {
            let special = self.mem.special.read().unwrap_or_else(|e| e.into_inner());
            let starts: Vec<u64> = special
                .iter()
                .filter(|r| matches!(r.kind, SpecialKind::Host { owned: Some(_), .. }))
                .filter(|r| r.start % HIGH == 0 && r.start != 0)
                .map(|r| r.start)
                .collect();
            let any = special
                .iter()
                .any(|r| !matches!(r.kind, SpecialKind::Host { owned: Some(_), .. }));
            (any, starts)
        };
        let any = any
            || starts.into_iter().any(|s| {
                let below = s - 1;
                if below < HIGH {
                    self.mem.space.vmas().any_mapped(below, s)
                } else {
                    self.mem.special_overlaps(below, s)
                }
            });
        let mut t = self.table();
        t.special_regions = any;
        let slow = t.want_mem_slow();
        if slow != t.mem_slow {
            t.mem_slow = slow;
            self.invalidate(0, 0);
        }
    }

    pub fn mem_map(&self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        let end = check_range(addr, size)?;
        self.map_gen.fetch_add(1, Ordering::Relaxed);
        if self.mem.special_overlaps(addr, end) {
            return Err(Error::MapExists);
        }
        // RAM at or above 2^39 is engine-owned host memory: in the high window (inline) when
        // in its tag's range, else reached through the helpers.
        let high = if end > HIGH {
            let h = addr.max(HIGH);
            Some((h, Owned::new(end - h).ok_or(Error::NoMemory)?))
        } else {
            None
        };
        if addr < HIGH {
            self.mem
                .space
                .mmap(
                    addr,
                    end.min(HIGH) - addr,
                    perms.0,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                    Backing::Anon,
                )
                .map_err(map_err)?;
        }
        if let Some((h, owned)) = high {
            self.push_special(Special {
                start: h,
                end,
                kind: SpecialKind::Host {
                    ptr: owned.ptr(),
                    perms,
                    owned: Some(owned),
                },
            });
            if self.mem.make_window(h) {
                // Compiled code reaches the window from now on.
                self.invalidate(0, 0);
            }
            self.mem.sync_window(h, end);
        }
        // RAM just below a region starting at a multiple of 2^39 changes what is inline.
        self.set_special();
        self.invalidate(addr, size);
        Ok(())
    }

    fn push_special(&self, r: Special) {
        self.mem.change_special(|s| s.push(Arc::new(r)));
        self.set_special();
    }

    /// Applies `f` to the parts of the special regions inside `[addr, end)`, splitting host
    /// regions at `addr` and `end` (`f` gets a piece and returns its replacement, or `None`
    /// to drop it). MMIO regions are handled only when wholly inside. Whether any was.
    fn carve_special(&self, addr: u64, end: u64, f: impl Fn(&Special) -> Option<Special>) -> bool {
        let any = self.mem.change_special(|special| {
            let mut out = Vec::with_capacity(special.len());
            let mut any = false;
            for r in special.drain(..) {
                if r.end <= addr || end <= r.start {
                    out.push(r);
                    continue;
                }
                let (a, b) = (r.start.max(addr), r.end.min(end));
                if (a, b) == (r.start, r.end) {
                    any = true;
                    out.extend(f(&r).map(Arc::new));
                    continue;
                }
                let (Some(mid), left, right) = (
                    r.piece(a, b, None),
                    r.piece(r.start, a, None),
                    r.piece(b, r.end, None),
                ) else {
                    out.push(r); // part of an MMIO region: left as is
                    continue;
                };
                any = true;
                if a > r.start {
                    out.extend(left.map(Arc::new));
                }
                out.extend(f(&mid).map(Arc::new));
                if b < r.end {
                    out.extend(right.map(Arc::new));
                }
            }
            *special = out;
            any
        });
        if any {
            self.set_special();
        }
        any
    }

    pub fn mem_unmap(&self, addr: u64, size: u64) -> Result<(), Error> {
        let end = check_range(addr, size)?;
        self.map_gen.fetch_add(1, Ordering::Relaxed);
        let removed = self.carve_special(addr, end, |_| None);
        self.mem.sync_window(addr, end);
        let low = addr < HIGH && self.mem.space.vmas().any_mapped(addr, end.min(HIGH));
        if !low && !removed {
            return Err(Error::Unmapped);
        }
        if low {
            self.mem
                .space
                .munmap(addr, end.min(HIGH) - addr)
                .map_err(map_err)?;
            self.dirty.forget(addr, end.min(HIGH));
        }
        self.invalidate(addr, size);
        Ok(())
    }

    pub fn mem_protect(&self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        let end = check_range(addr, size)?;
        self.map_gen.fetch_add(1, Ordering::Relaxed);
        // Every byte must be mapped: RAM below 2^39, host regions, or MMIO (left as is).
        let covered = {
            let special = self.mem.special.read().unwrap_or_else(|e| e.into_inner());
            let vmas = self.mem.space.vmas();
            let mut a = addr;
            while a < end {
                if let Some(r) = special.iter().find(|r| (r.start..r.end).contains(&a)) {
                    a = r.end;
                } else if let Some((_, v)) = vmas.find(a).filter(|_| a < HIGH) {
                    a = v.end;
                } else {
                    break;
                }
            }
            a >= end
        };
        if !covered {
            return Err(Error::Unmapped);
        }
        self.carve_special(addr, end, |r| r.piece(r.start, r.end, Some(perms)));
        self.mem.sync_window(addr, end);
        let vmas_end = end.min(HIGH);
        if addr < vmas_end && self.mem.space.vmas().any_mapped(addr, vmas_end) {
            // RAM pieces between special regions: each run of mapped pages on its own.
            let runs: Vec<(u64, u64)> = self
                .mem
                .space
                .vmas()
                .iter()
                .filter(|(s, v)| *s < vmas_end && addr < v.end)
                .map(|(s, v)| (s.max(addr), v.end.min(vmas_end)))
                .collect();
            for (a, b) in runs {
                self.mem
                    .space
                    .mprotect(a, b - a, perms.0)
                    .map_err(|e| match e {
                        xlat_softmmu::user::MapError::NoMemory => Error::Unmapped,
                        e => map_err(e),
                    })?;
                self.dirty.forget(a, b);
            }
        }
        self.invalidate(addr, size);
        Ok(())
    }

    fn add_special(&self, addr: u64, size: u64, kind: SpecialKind) -> Result<(), Error> {
        let end = check_range(addr, size)?;
        self.map_gen.fetch_add(1, Ordering::Relaxed);
        if (addr < HIGH && self.mem.space.vmas().any_mapped(addr, end.min(HIGH)))
            || self.mem.special_overlaps(addr, end)
        {
            return Err(Error::MapExists);
        }
        self.push_special(Special {
            start: addr,
            end,
            kind,
        });
        self.invalidate(addr, size);
        Ok(())
    }

    /// Splits `[addr, addr + len)` into runs of one kind of memory: `(address, length, host
    /// pointer)`, the pointer for host regions, none for RAM below 2^39 (MMIO: unmapped).
    fn pieces(&self, addr: u64, len: usize) -> Result<Vec<Piece>, Error> {
        let mut out = Vec::new();
        let mut done = 0usize;
        while done < len {
            let a = addr.checked_add(done as u64).ok_or(Error::Unmapped)?;
            let left = (len - done) as u64;
            let (n, p) = match self.mem.special_bytes(a, 1) {
                Some(Ok(p)) => {
                    let end = mem_regions(self)
                        .iter()
                        .find(|r| r.begin <= a && a <= r.end)
                        .map_or(a + 1, |r| r.end + 1);
                    ((end - a).min(left), Some(p))
                }
                Some(Err(())) => return Err(Error::Unmapped),
                None if a >= HIGH => return Err(Error::Unmapped),
                None => {
                    let next = self
                        .mem
                        .special
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .iter()
                        .filter(|r| r.start > a)
                        .map(|r| r.start)
                        .min()
                        .unwrap_or(HIGH);
                    ((next.min(HIGH) - a).min(left), None)
                }
            };
            out.push((a, n as usize, p));
            done += n as usize;
        }
        Ok(out)
    }

    pub fn mem_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Error> {
        let pieces = self.pieces(addr, buf.len())?;
        if pieces.len() == 1 && pieces[0].2.is_none() {
            return self.mem_read_ram(addr, buf);
        }
        let mut off = 0;
        for (a, n, p) in pieces {
            let b = &mut buf[off..off + n];
            match p {
                // SAFETY: a host region (the caller's, vouched for, or the engine's own); the
                // piece is inside it.
                Some(p) => unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), n) },
                None => self.mem_read_ram(a, b)?,
            }
            off += n;
        }
        Ok(())
    }

    fn mem_read_ram(&self, addr: u64, buf: &mut [u8]) -> Result<(), Error> {
        let p = self.host_ptr(addr, buf.len() as u64)?;
        // SAFETY: host_ptr checked that the range is mapped in the guest; `mem_read` reads
        // regardless of guest permissions, so unreadable pages are read through /proc-free
        // temporary access: host_ptr returned only ranges whose host pages are readable.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    pub fn mem_write(&self, addr: u64, data: &[u8]) -> Result<(), Error> {
        let pieces = self.pieces(addr, data.len())?;
        let mut off = 0;
        for (a, n, p) in pieces {
            let d = &data[off..off + n];
            match p {
                Some(p) => {
                    self.mem.high_written(a, n as u64);
                    // SAFETY: a host region (the caller's, vouched for, or the engine's own);
                    // the piece is inside it.
                    unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), p, n) };
                    self.invalidate(a, n as u64);
                }
                None => self.mem_write_ram(a, d)?,
            }
            off += n;
        }
        Ok(())
    }

    fn mem_write_ram(&self, addr: u64, data: &[u8]) -> Result<(), Error> {
        let space = &self.mem.space;
        let vmas = space.vmas();
        if data.is_empty() {
            return Ok(());
        }
        if !vmas.covered(addr, addr + data.len() as u64, 0) {
            return Err(Error::Unmapped);
        }
        // Write through the host pages whatever the guest permissions (as Unicorn does):
        // pages without host write access are opened for the copy.
        let needs_open = !vmas.covered(addr, addr + data.len() as u64, Perm::WRITE.0);
        let exec = vmas.any_exec(addr, addr + data.len() as u64);
        drop(vmas);
        let (lo, hi) = (
            xlat_softmmu::user::page_down(addr),
            page_up(addr + data.len() as u64),
        );
        let h = space.g2h(addr) as *mut u8;
        if needs_open {
            // Tracked pages become writable without a fault: record them as written.
            self.dirty.mark_written(lo, hi);
            // SAFETY: the pages are inside the reservation and mapped (checked above).
            unsafe {
                libc::mprotect(
                    space.g2h(lo) as *mut libc::c_void,
                    (hi - lo) as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
        }
        // SAFETY: mapped and (now) writable host pages of the reservation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), h, data.len()) };
        if needs_open {
            self.restore_host_prot(lo, hi);
        }
        if exec {
            self.invalidate(addr, data.len() as u64);
        }
        Ok(())
    }

    /// Puts back the host protections of the guest pages in `[lo, hi)`.
    fn restore_host_prot(&self, lo: u64, hi: u64) {
        let space = &self.mem.space;
        for (s, v) in space.vmas().iter() {
            let (a, b) = (s.max(lo), v.end.min(hi));
            if a < b {
                let mut p = 0;
                if v.prot & (Perm::READ.0 | Perm::EXEC.0) != 0 {
                    p |= libc::PROT_READ;
                }
                if v.prot & Perm::WRITE.0 != 0 {
                    p |= libc::PROT_WRITE;
                }
                // SAFETY: guest pages of the reservation, back to their usual protection.
                unsafe { libc::mprotect(space.g2h(a) as *mut libc::c_void, (b - a) as usize, p) };
            }
        }
    }

    /// Whether the guest may write `[addr, addr + len)`.
    pub fn writable(&self, addr: u64, len: u64) -> bool {
        let end = addr.saturating_add(len);
        if self.mem.is_special(addr) {
            return mem_regions(self)
                .iter()
                .any(|r| r.begin <= addr && end - 1 <= r.end && r.perms.contains(Perm::WRITE));
        }
        self.mem.space.vmas().covered(addr, end, Perm::WRITE.0)
    }

    /// Host address of mapped guest bytes, opening unreadable pages for reading.
    fn host_ptr(&self, addr: u64, len: u64) -> Result<*const u8, Error> {
        let space = &self.mem.space;
        let end = addr.checked_add(len).ok_or(Error::Unmapped)?;
        let vmas = space.vmas();
        if len > 0 && !vmas.covered(addr, end, 0) {
            return Err(Error::Unmapped);
        }
        if len > 0 && !vmas.covered(addr, end, Perm::READ.0) {
            // Pages without guest read access may be PROT_NONE on the host: make them
            // readable (write or exec pages already are).
            let (lo, hi) = (xlat_softmmu::user::page_down(addr), page_up(end));
            for (s, v) in vmas.iter() {
                let (a, b) = (s.max(lo), v.end.min(hi));
                if a < b && v.prot & (Perm::READ.0 | Perm::WRITE.0 | Perm::EXEC.0) == 0 {
                    // SAFETY: guest pages of the reservation; read access is harmless.
                    unsafe {
                        libc::mprotect(
                            space.g2h(a) as *mut libc::c_void,
                            (b - a) as usize,
                            libc::PROT_READ,
                        )
                    };
                }
            }
        }
        Ok(space.g2h(addr) as *const u8)
    }
}

/// Checks a range's alignment; its end (exclusive: the last page, below 2^64, cannot be
/// mapped).
fn check_range(addr: u64, size: u64) -> Result<u64, Error> {
    let page = xlat_softmmu::user::PAGE_SIZE;
    if size == 0 || !addr.is_multiple_of(page) || !size.is_multiple_of(page) {
        return Err(Error::Alignment);
    }
    addr.checked_add(size).ok_or(Error::OutOfRange)
}

fn map_err(e: xlat_softmmu::user::MapError) -> Error {
    use xlat_softmmu::user::MapError as M;
    match e {
        M::Exists => Error::MapExists,
        M::Invalid => Error::Alignment,
        M::NoMemory => Error::NoMemory,
        M::Fault => Error::Unmapped,
        M::Host(e) => Error::Host(e),
    }
}

/// An emulator for one guest architecture: its memory, one CPU, and the hooks on them.
///
/// Use one engine per thread (it is `Send`, not shared); stop it from elsewhere with a
/// [`StopHandle`].
///
/// ```
/// use xlat::embed::{Arch, Engine, Mode, Perm, RiscvReg};
/// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
/// e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
/// // addi a0, a0, 5 ; addi a0, a0, 5
/// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00, 0x13, 0x05, 0x55, 0x00]).unwrap();
/// e.reg_write(RiscvReg::X(10), 32).unwrap();
/// e.start(0x1000, 0x1008, None, 0).unwrap();
/// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 42);
/// ```
pub struct Engine {
    core: Box<Core>,
    env: Box<CpuState>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("arch", &self.core.arch)
            .field("pc", &format_args!("{:#x}", self.env.pc))
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `arch` in `mode` (riscv64, aarch64 and x86-64 exist, each in its 64-bit
    /// mode), with no memory mapped and every register zero.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, RiscvReg};
    /// let e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 0);
    /// assert!(e.mem_regions().is_empty());
    /// ```
    pub fn new(arch: Arch, mode: Mode) -> Result<Engine, Error> {
        let Mode::Mode64 = mode;
        let frontend: Arc<dyn Frontend> = match arch {
            Arch::Riscv64 => Arc::new(xlat_frontend_riscv::Riscv64::new()),
            Arch::Aarch64 => Arc::new(xlat_frontend_aarch64::Aarch64::new()),
            Arch::X86_64 => Arc::new(xlat_frontend_x86::X86_64::new()),
        };
        let space = Arc::new(AddressSpace::new(EXC_LOAD_FAULT).map_err(map_err)?);
        let (start, len) = space.host_range();
        let dirty = super::dirty::Tracker::new(start, 1 << xlat_softmmu::user::GUEST_BITS)
            .ok_or(Error::NoMemory)?;
        let mem = Arc::new(EmbedMem::new(space));
        let table = Arc::new(Mutex::new(HookTable::default()));
        let hooked = Arc::new(HookedFrontend {
            arch,
            inner: frontend.clone(),
            table: table.clone(),
            core: AtomicU64::new(0),
        });
        let cfg = EngineConfig {
            code_size: 64 << 20,
            precise_faults: std::env::var_os("XLAT_EMBED_IMPRECISE").is_none(),
            ..EngineConfig::default()
        };
        let jit = xlat_backend::Engine::new(hooked.clone(), mem.clone(), cfg)
            .map_err(|e| Error::Backend(e.to_string()))?;
        let core = Box::new(Core {
            arch,
            frontend: frontend.clone(),
            mem,
            jit,
            table,
            ctl: Arc::new(Control::default()),
            until: AtomicU64::new(u64::MAX),
            count_left: AtomicU64::new(0),
            redirect: Mutex::new(None),
            skip: AtomicU64::new(u64::MAX),
            pending: Mutex::new(Vec::new()),
            mem_hooks: AtomicU32::new(0),
            site: (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)),
            map_gen: AtomicU64::new(0),
            dirty,
            remap_always: std::env::var_os("XLAT_EMBED_SNAPSHOT_REMAP").is_some(),
            restore_stats: Mutex::default(),
            fast: Default::default(),
        });
        sig::register(start, len, &core.dirty, 0);
        hooked
            .core
            .store(&*core as *const Core as u64, Ordering::Relaxed);
        let mut env = CpuState::new_boxed();
        frontend.init_user_state(&mut env);
        Ok(Engine { core, env })
    }

    /// The architecture.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode};
    /// let e = Engine::new(Arch::Aarch64, Mode::Mode64).unwrap();
    /// assert_eq!(e.arch(), Arch::Aarch64);
    /// ```
    pub fn arch(&self) -> Arch {
        self.core.arch
    }

    /// A handle that stops this engine's `start` from any thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use xlat::embed::{Arch, Engine, Mode, Perm};
    /// let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// e.mem_write(0x1000, &[0xeb, 0xfe]).unwrap(); // jmp $ (forever)
    /// let (h, done) = (e.stop_handle(), Arc::new(AtomicBool::new(false)));
    /// let d = done.clone();
    /// let t = std::thread::spawn(move || {
    ///     while !d.load(Ordering::Acquire) {
    ///         h.stop(); // a no-op until `start` runs
    ///         std::thread::sleep(std::time::Duration::from_millis(1));
    ///     }
    /// });
    /// e.start(0x1000, 0, None, 0).unwrap(); // returns once stopped
    /// done.store(true, Ordering::Release);
    /// t.join().unwrap();
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.core.ctl.clone())
    }

    /// Maps `size` bytes of zeroed memory at `addr` (both page-aligned, 4 KiB) with `perms`,
    /// anywhere but the last page below 2^64 ([`Error::OutOfRange`]); memory at or above 2^39
    /// is reached through calls (see the module's notes on addresses). Fails with
    /// [`Error::MapExists`] over any mapping.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x2000, Perm::READ | Perm::WRITE).unwrap();
    /// assert_eq!(e.mem_map(0x2000, 0x1000, Perm::READ), Err(Error::MapExists));
    /// let mut b = [1u8; 4];
    /// e.mem_read(0x2ffc, &mut b).unwrap();
    /// assert_eq!(b, [0; 4]);
    /// ```
    pub fn mem_map(&mut self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        self.core.mem_map(addr, size, perms)
    }

    /// Maps host memory the caller owns at `addr`: guest accesses read and write it
    /// directly. While any such region (or MMIO region) exists, guest loads and stores are
    /// compiled as calls.
    ///
    /// # Safety
    /// `ptr` must stay valid for reads and writes of `size` bytes until the region is unmapped
    /// or the engine dropped, and nothing else may access it while the engine runs.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Perm, X86Reg};
    /// let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// e.mem_write(0x1000, &[0x48, 0x8b, 0x06]).unwrap(); // mov rax, [rsi]
    /// let mut page = vec![0u64; 512]; // the caller's 4 KiB
    /// page[1] = 42;
    /// // SAFETY: `page` stays alive and untouched until it is unmapped below.
    /// unsafe { e.mem_map_ptr(0x8000, 0x1000, Perm::READ, page.as_mut_ptr().cast()) }.unwrap();
    /// e.reg_write(X86Reg::Rsi, 0x8008).unwrap();
    /// e.start(0x1000, 0x1003, None, 0).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 42);
    /// e.mem_unmap(0x8000, 0x1000).unwrap();
    /// ```
    pub unsafe fn mem_map_ptr(
        &mut self,
        addr: u64,
        size: u64,
        perms: Perm,
        ptr: *mut u8,
    ) -> Result<(), Error> {
        self.core.add_special(
            addr,
            size,
            SpecialKind::Host {
                ptr: ptr as usize,
                perms,
                owned: None,
            },
        )
    }

    /// Maps an MMIO region: guest loads call `read(offset, size)`, stores call
    /// `write(offset, size, value)` (a missing callback reads 0 / ignores writes).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use std::sync::{Arc, Mutex};
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// // sd a0, 0(a1); ld a0, 0(a1)
    /// e.mem_write(0x1000, &[0x23, 0xb0, 0xa5, 0x00, 0x03, 0xb5, 0x05, 0x00]).unwrap();
    /// let writes = Arc::new(Mutex::new(Vec::new()));
    /// let w = writes.clone();
    /// let read = Box::new(|off: u64, size: usize| 0x100 + off + size as u64);
    /// let write = Box::new(move |off: u64, size: usize, v: u64| w.lock().unwrap().push((off, size, v)));
    /// e.mmio_map(0x8000, 0x1000, Some(read), Some(write)).unwrap();
    /// e.reg_write(RiscvReg::X(10), 42).unwrap();
    /// e.reg_write(RiscvReg::X(11), 0x8010).unwrap();
    /// e.start(0x1000, 0x1008, None, 0).unwrap();
    /// assert_eq!(*writes.lock().unwrap(), [(0x10, 8, 42)]);
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 0x100 + 0x10 + 8);
    /// ```
    pub fn mmio_map(
        &mut self,
        addr: u64,
        size: u64,
        read: Option<MmioRead>,
        write: Option<MmioWrite>,
    ) -> Result<(), Error> {
        self.core.add_special(
            addr,
            size,
            SpecialKind::Mmio {
                read: read.map(Mutex::new),
                write: write.map(Mutex::new),
            },
        )
    }

    /// Unmaps `[addr, addr + size)` (page-aligned); MMIO and host regions go when wholly
    /// inside it.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x3000, Perm::READ).unwrap();
    /// e.mem_unmap(0x2000, 0x1000).unwrap();
    /// assert_eq!(e.mem_regions().len(), 2);
    /// assert!(e.mem_read(0x2000, &mut [0u8; 1]).is_err());
    /// ```
    pub fn mem_unmap(&mut self, addr: u64, size: u64) -> Result<(), Error> {
        self.core.mem_unmap(addr, size)
    }

    /// Changes the permissions of mapped memory (page-aligned).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x23, 0xb0, 0xa5, 0x00]).unwrap(); // sd a0, 0(a1)
    /// e.mem_map(0x8000, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    /// e.reg_write(RiscvReg::X(11), 0x8000).unwrap();
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// e.mem_protect(0x8000, 0x1000, Perm::READ).unwrap();
    /// assert_eq!(e.start(0x1000, 0x1004, None, 0), Err(Error::WriteProt(0x8000)));
    /// ```
    pub fn mem_protect(&mut self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        self.core.mem_protect(addr, size, perms)
    }

    /// The mapped regions, in address order.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x4000, 0x1000, Perm::READ).unwrap();
    /// e.mem_map(0x1000, 0x2000, Perm::ALL).unwrap();
    /// let r: Vec<_> = e.mem_regions().iter().map(|r| (r.begin, r.end, r.perms)).collect();
    /// assert_eq!(r, [(0x1000, 0x2fff, Perm::ALL), (0x4000, 0x4fff, Perm::READ)]);
    /// ```
    pub fn mem_regions(&self) -> Vec<Region> {
        mem_regions(&self.core)
    }

    /// Reads guest memory (whatever its permissions).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ).unwrap(); // not writable by the guest
    /// e.mem_write(0x1ffe, b"ok").unwrap();
    /// let mut b = [0u8; 2];
    /// e.mem_read(0x1ffe, &mut b).unwrap();
    /// assert_eq!(&b, b"ok");
    /// assert_eq!(e.mem_read(0x1fff, &mut b), Err(Error::Unmapped));
    /// ```
    pub fn mem_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.core.mem_read(addr, buf)
    }

    /// Writes guest memory (whatever its permissions); translations of code it overwrites
    /// are dropped.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00]).unwrap(); // addi a0, a0, 5
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// // Overwriting code drops its translation: the new instruction runs.
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x15, 0x00]).unwrap(); // addi a0, a0, 1
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 6);
    /// ```
    pub fn mem_write(&mut self, addr: u64, data: &[u8]) -> Result<(), Error> {
        self.core.mem_write(addr, data)
    }

    /// Reads a register (a vector register's low 64 bits).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.reg_write(RiscvReg::X(5), 7).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(5)).unwrap(), 7);
    /// e.reg_write(RiscvReg::X(0), 7).unwrap(); // x0 stays zero
    /// assert_eq!(e.reg_read(RiscvReg::X(0)).unwrap(), 0);
    /// ```
    pub fn reg_read(&self, reg: impl Into<Reg>) -> Result<u64, Error> {
        let r = self.check(reg.into())?;
        r.read(&self.env)
    }

    /// Writes a register.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00]).unwrap(); // addi a0, a0, 5
    /// e.reg_write(RiscvReg::X(10), 10).unwrap();
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 15);
    /// assert_eq!(e.reg_read(RiscvReg::Pc).unwrap(), 0x1004);
    /// ```
    pub fn reg_write(&mut self, reg: impl Into<Reg>, v: u64) -> Result<(), Error> {
        let r = self.check(reg.into())?;
        r.write(&mut self.env, v)
    }

    /// Reads a register's full value (128 bits for vector registers).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use xlat::embed::X86Reg;
    /// let mut x = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    /// x.reg_write128(X86Reg::Xmm(3), v).unwrap();
    /// assert_eq!(x.reg_read128(X86Reg::Xmm(3)).unwrap(), v);
    /// assert_eq!(x.reg_read(X86Reg::Xmm(3)).unwrap(), v as u64);
    /// ```
    pub fn reg_read128(&self, reg: impl Into<Reg>) -> Result<u128, Error> {
        let r = self.check(reg.into())?;
        r.read128(&self.env)
    }

    /// Writes a register's full value.
    ///
    /// ```
    /// use xlat::embed::{Arch, Arm64Reg, Engine, Mode};
    /// let mut e = Engine::new(Arch::Aarch64, Mode::Mode64).unwrap();
    /// e.reg_write128(Arm64Reg::V(7), 1 << 100 | 5).unwrap();
    /// assert_eq!(e.reg_read128(Arm64Reg::V(7)).unwrap(), 1 << 100 | 5);
    /// ```
    pub fn reg_write128(&mut self, reg: impl Into<Reg>, v: u128) -> Result<(), Error> {
        let r = self.check(reg.into())?;
        r.write128(&mut self.env, v)
    }

    /// Reads several registers into `out` (same length as `regs`).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use xlat::embed::Reg;
    /// let regs: Vec<Reg> = (10..13).map(|i| RiscvReg::X(i).into()).collect();
    /// e.reg_write_batch(&regs, &[1, 2, 3]).unwrap();
    /// let mut out = [0; 3];
    /// e.reg_read_batch(&regs, &mut out).unwrap();
    /// assert_eq!(out, [1, 2, 3]);
    /// ```
    pub fn reg_read_batch(&self, regs: &[Reg], out: &mut [u64]) -> Result<(), Error> {
        for (r, o) in regs.iter().zip(out.iter_mut()) {
            *o = self.reg_read(*r)?;
        }
        Ok(())
    }

    /// Writes several registers.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Reg, X86Reg};
    /// let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// let regs: [Reg; 2] = [X86Reg::Rax.into(), X86Reg::Rdi.into()];
    /// e.reg_write_batch(&regs, &[7, 8]).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rdi).unwrap(), 8);
    /// ```
    pub fn reg_write_batch(&mut self, regs: &[Reg], vals: &[u64]) -> Result<(), Error> {
        for (r, v) in regs.iter().zip(vals) {
            self.reg_write(*r, *v)?;
        }
        Ok(())
    }

    fn check(&self, r: Reg) -> Result<Reg, Error> {
        if r.arch() != self.core.arch {
            return Err(Error::NoSuchRegister);
        }
        Ok(r)
    }

    /// Saves the CPU state.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.reg_write(RiscvReg::X(10), 1).unwrap();
    /// let ctx = e.context_save();
    /// e.reg_write(RiscvReg::X(10), 2).unwrap();
    /// e.context_restore(&ctx);
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 1);
    /// ```
    pub fn context_save(&self) -> Context {
        Context::save(&self.env)
    }

    /// Restores a CPU state saved by [`Engine::context_save`].
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, X86Reg};
    /// let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// e.reg_write(X86Reg::Rip, 0x1000).unwrap();
    /// let ctx = e.context_save();
    /// e.reg_write(X86Reg::Rip, 0x2000).unwrap();
    /// e.context_restore(&ctx);
    /// assert_eq!(e.reg_read(X86Reg::Rip).unwrap(), 0x1000);
    /// ```
    pub fn context_restore(&mut self, ctx: &Context) {
        ctx.restore(&mut self.env);
    }

    /// Adds a code hook: `cb(vcpu, address, size)` before each instruction in
    /// `[begin, end]` (`begin > end`: everywhere). Takes effect at once, also when added from a
    /// hook while running.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use xlat::embed::{Arch, Engine, Mode, Perm};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// // addi a0, a0, 5 (twice)
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00, 0x13, 0x05, 0x55, 0x00]).unwrap();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// e.hook_add_code(1, 0, move |_, pc, size| s.lock().unwrap().push((pc, size)));
    /// e.start(0x1000, 0x1008, None, 0).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [(0x1000, 4), (0x1004, 4)]);
    /// ```
    pub fn hook_add_code(
        &mut self,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, u64, u32) + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::Code, begin, end, Callback::Code(Box::new(cb)))
    }

    /// Adds a block hook: `cb(vcpu, address, size)` when a translated block starting in
    /// `[begin, end]` is entered (`size` is the block's guest bytes).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use std::sync::{Arc, Mutex};
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// // addi a0, a0, 5; addi a0, a0, 5; j . : a block of three 4-byte instructions, but a
    /// // block ends before a `start`'s `until` (here 0x1008, not run): 8 bytes
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00, 0x13, 0x05, 0x55, 0x00, 0x6f, 0, 0, 0])
    ///     .unwrap();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// e.hook_add_block(1, 0, move |_, pc, size| s.lock().unwrap().push((pc, size)));
    /// e.start(0x1000, 0x1008, None, 0).unwrap();
    /// e.start(0x1000, 0x1008, None, 0).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [(0x1000, 8), (0x1000, 8)]);
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 20);
    /// ```
    pub fn hook_add_block(
        &mut self,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, u64, u32) + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::Block, begin, end, Callback::Block(Box::new(cb)))
    }

    /// Adds a memory hook for the `kinds` of access to `[begin, end]`:
    /// `cb(vcpu, access, address, size, value) -> bool`. For the fault kinds the result says
    /// whether the fault was handled (the access is retried); otherwise it is ignored.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x03, 0x35, 0x05, 0x00]).unwrap(); // ld a0, 0(a0)
    /// e.reg_write(RiscvReg::X(10), 0x8000).unwrap();
    /// // Map memory on demand: the load is retried once the page exists.
    /// e.hook_add_mem(MemHookKind::READ_UNMAPPED, 1, 0, |v, _, addr, _, _| {
    ///     v.mem_map(addr & !0xfff, 0x1000, Perm::READ).unwrap();
    ///     v.mem_write(addr, &77u64.to_le_bytes()).unwrap();
    ///     true
    /// });
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 77);
    /// ```
    pub fn hook_add_mem(
        &mut self,
        kinds: MemHookKind,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, MemHookKind, u64, usize, i64) -> bool + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::Mem(kinds.0), begin, end, Callback::Mem(Box::new(cb)))
    }

    /// Adds an interrupt hook: `cb(vcpu, number)` for a guest exception nothing else handles
    /// (the architecture's exception number; riscv `ecall` is 8, aarch64 `svc` 2 when no
    /// syscall hook exists). Execution goes on at the pc the hook leaves.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x73, 0, 0, 0]).unwrap(); // ecall
    /// assert_eq!(e.start(0x1000, 0x1004, None, 0), Err(Error::Exception(u32::MAX)));
    /// e.hook_add_intr(|v, no| {
    ///     v.reg_write(RiscvReg::X(10), u64::from(no)).unwrap();
    ///     v.reg_write(RiscvReg::Pc, 0x1004).unwrap();
    /// });
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 8);
    /// ```
    pub fn hook_add_intr(&mut self, cb: impl FnMut(&mut Vcpu<'_>, u32) + Send + 'static) -> HookId {
        self.core
            .hook_add(Tag::Intr, 1, 0, Callback::Intr(Box::new(cb)))
    }

    /// Adds an instruction hook (see [`Insn`]).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use xlat::embed::Insn;
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x73, 0, 0, 0]).unwrap(); // ecall
    /// e.reg_write(RiscvReg::X(17), 93).unwrap();
    /// e.hook_add_insn(Insn::Syscall, |v| {
    ///     let nr = v.reg_read(RiscvReg::X(17)).unwrap();
    ///     v.reg_write(RiscvReg::X(10), nr + 1).unwrap();
    /// });
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 94);
    /// ```
    pub fn hook_add_insn(
        &mut self,
        insn: Insn,
        cb: impl FnMut(&mut Vcpu<'_>) + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::Insn(insn), 1, 0, Callback::Insn(Box::new(cb)))
    }

    /// Adds an x86-64 port I/O hook: `cb(vcpu, port, size, out)` for each `in` and `out`
    /// (`size` 1, 2 or 4 bytes; `out` is the value written, `None` for `in`). For `in` the
    /// returned value goes into al/ax/eax (eax zero-extends into rax, al/ax keep the rest);
    /// for `out` it is ignored. Execution goes on after the instruction unless the hook
    /// writes the pc. The string forms (`ins`/`outs`, also with `rep`) call the hook once per
    /// element and move the data through guest memory at `rdi`/`rsi` (memory hooks and fault
    /// hooks see those accesses; a handled fault resumes at the element that faulted).
    /// Without this hook (and on other architectures) port I/O raises #GP (interrupt 13) as in
    /// user mode.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use xlat::embed::X86Reg;
    /// let mut x = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// x.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// x.mem_write(0x1000, &[0xe4, 0x60, 0xe6, 0x61]).unwrap(); // in al, 0x60; out 0x61, al
    /// let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let l = log.clone();
    /// x.hook_add_inout(move |_, port, size, out| {
    ///     l.lock().unwrap().push((port, size, out));
    ///     0x5a
    /// });
    /// x.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(*log.lock().unwrap(), [(0x60, 1, None), (0x61, 1, Some(0x5a))]);
    /// ```
    pub fn hook_add_inout(
        &mut self,
        cb: impl FnMut(&mut Vcpu<'_>, u16, u32, Option<u32>) -> u32 + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::InOut, 1, 0, Callback::InOut(Box::new(cb)))
    }

    /// Adds an invalid-instruction hook: `cb(vcpu) -> handled`; when it returns true having
    /// moved the pc, execution goes on there.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0; 4]).unwrap(); // all-zero: illegal
    /// assert_eq!(e.start(0x1000, 0x1004, None, 0), Err(Error::InvalidInsn(0x1000)));
    /// e.hook_add_invalid_insn(|v| v.reg_write(RiscvReg::Pc, 0x1004).is_ok());
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// ```
    pub fn hook_add_invalid_insn(
        &mut self,
        cb: impl FnMut(&mut Vcpu<'_>) -> bool + Send + 'static,
    ) -> HookId {
        self.core
            .hook_add(Tag::Invalid, 1, 0, Callback::Invalid(Box::new(cb)))
    }

    /// Removes a hook (its translations are dropped, so it stops firing at once).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x55, 0x00]).unwrap();
    /// let n = Arc::new(AtomicU64::new(0));
    /// let m = n.clone();
    /// let id = e.hook_add_code(1, 0, move |_, _, _| {
    ///     m.fetch_add(1, Ordering::Relaxed);
    /// });
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// e.hook_del(id).unwrap();
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(n.load(Ordering::Relaxed), 1);
    /// assert!(e.hook_del(id).is_err());
    /// ```
    pub fn hook_del(&mut self, id: HookId) -> Result<(), Error> {
        self.core.hook_del(id)
    }

    /// Runs from `begin` until the pc reaches `until`, `timeout` passes, `count` instructions
    /// ran (0: no limit), [`StopHandle::stop`] is called, or a guest exception no hook
    /// handles (an `Err`, with the pc at the faulting instruction).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]).unwrap(); // l: addi a0, a0, 1; j l
    /// e.start(0x1000, 0, None, 7).unwrap(); // stops after 7 instructions
    /// assert_eq!(e.reg_read(RiscvReg::X(10)).unwrap(), 4);
    /// assert_eq!(e.reg_read(RiscvReg::Pc).unwrap(), 0x1004);
    /// ```
    pub fn start(
        &mut self,
        begin: u64,
        until: u64,
        timeout: Option<Duration>,
        count: u64,
    ) -> Result<(), Error> {
        let core = &*self.core;
        core.ctl.stop.store(false, Ordering::Release);
        self.env.pc = begin;
        core.until.store(until, Ordering::Relaxed);
        {
            let mut t = core.table();
            if t.untils.insert(until) {
                core.invalidate(until, 1);
            }
            if t.counting != (count != 0) {
                t.counting = count != 0;
                core.invalidate(0, 0);
            }
        }
        core.count_left
            .store(if count == 0 { u64::MAX } else { count }, Ordering::Relaxed);
        *core.ctl.running.lock().unwrap_or_else(|e| e.into_inner()) =
            &self.env.exit_request as *const AtomicU32 as usize;
        let timer = timeout.map(|d| Timer::start(d, core.ctl.clone()));
        let r = run_loop(core, &mut self.env);
        *core.ctl.running.lock().unwrap_or_else(|e| e.into_inner()) = 0;
        drop(timer);
        self.env
            .exit_request
            .fetch_and(!REQ_EMBED, Ordering::AcqRel);
        core.ctl.stop.store(false, Ordering::Release);
        r
    }

    /// Stops a running `start` (from a hook, use [`Vcpu::stop`]; from another thread, a
    /// [`StopHandle`]).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Error, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x6f, 0x00, 0x00, 0x00]).unwrap(); // j . (forever)
    /// let h = e.stop_handle();
    /// let t = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(20));
    ///     h.stop();
    /// });
    /// e.start(0x1000, 0, None, 0).unwrap();
    /// t.join().unwrap();
    /// assert_eq!(e.reg_read(RiscvReg::Pc).unwrap(), 0x1000);
    /// ```
    pub fn stop(&self) {
        self.core.ctl.request_stop();
    }

    /// Takes a copy-on-write snapshot of guest RAM, the contents of caller-owned regions
    /// ([`Engine::mem_map_ptr`], copied) and the CPU state. MMIO regions have no state of
    /// their own and are not in it; nor are hooks. Restoring it is cheap: see
    /// [`Engine::snapshot_restore`].
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Perm};
    /// let mut e = Engine::new(Arch::Aarch64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    /// e.mem_write(0x1000, b"fresh").unwrap();
    /// let snap = e.snapshot().unwrap();
    /// for _ in 0..100 {
    ///     e.mem_write(0x1000, b"dirty").unwrap();
    ///     e.snapshot_restore(&snap).unwrap();
    /// }
    /// let mut b = [0; 5];
    /// e.mem_read(0x1000, &mut b).unwrap();
    /// assert_eq!(&b, b"fresh");
    /// ```
    pub fn snapshot(&mut self) -> Result<super::Snapshot, Error> {
        super::snapshot::take(&self.core, &self.env)
    }

    /// Puts guest RAM, caller-owned regions still mapped where they were, and the CPU state
    /// back as they were at `snap`. While the memory layout is unchanged since the snapshot
    /// (or its last restore), only the pages written since are touched: a dirty-page record
    /// lists them, so the cost is the dirty pages, not the RAM size (RAM at or above 2^39
    /// too, when it is in the high window: those pages are copied back from the snapshot).
    /// After `mem_map`, `mem_unmap` or `mem_protect`, RAM mapped since is unmapped and each
    /// region below 2^39 is remapped copy-on-write from the snapshot (no copy), RAM above is
    /// copied whole. Caller-owned memory is copied whole each time. MMIO regions and hooks are
    /// left as they are. [`Engine::restore_stats`] says what a restore handled.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Perm, RiscvReg};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    /// e.reg_write(RiscvReg::X(5), 1).unwrap();
    /// let snap = e.snapshot().unwrap();
    /// e.mem_write(0x1000, b"x").unwrap();
    /// e.reg_write(RiscvReg::X(5), 2).unwrap();
    /// e.snapshot_restore(&snap).unwrap();
    /// let mut b = [9u8];
    /// e.mem_read(0x1000, &mut b).unwrap();
    /// assert_eq!((b[0], e.reg_read(RiscvReg::X(5)).unwrap()), (0, 1));
    /// ```
    pub fn snapshot_restore(&mut self, snap: &super::Snapshot) -> Result<(), Error> {
        super::snapshot::restore(&self.core, &mut self.env, snap)
    }

    /// What the last [`Engine::snapshot_restore`] handled: pages put back, bytes copied,
    /// whether it had to remap all of RAM. A fuzzer can watch it to see its restores stay
    /// proportional to the pages an input writes.
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Perm};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x10000, 0x100000, Perm::READ | Perm::WRITE).unwrap();
    /// let snap = e.snapshot().unwrap();
    /// e.mem_write(0x10000, b"one page").unwrap();
    /// e.snapshot_restore(&snap).unwrap();
    /// assert_eq!(e.restore_stats().pages, 1);
    /// ```
    pub fn restore_stats(&self) -> super::RestoreStats {
        *self
            .core
            .restore_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// How many guest loads and stores so far reached MMIO or host regions through the
    /// memory helpers (a call each) rather than inline: MMIO regions and caller-owned memory
    /// always do, as does everything while memory hooks are installed; RAM at or above 2^39
    /// does only when its address bits above 39 are not those of one of the first two such
    /// mappings (each of which gets a window that compiled code reaches inline).
    ///
    /// ```
    /// use xlat::embed::{Arch, Engine, Mode, Perm};
    /// let mut e = Engine::new(Arch::Riscv64, Mode::Mode64).unwrap();
    /// e.mem_map(0x1000, 0x1000, Perm::READ | Perm::EXEC).unwrap();
    /// e.mem_write(0x1000, &[0x03, 0x35, 0x05, 0x00]).unwrap(); // ld a0, 0(a0)
    /// e.mmio_map(0x2000, 0x1000, Some(Box::new(|_, _| 42)), None).unwrap();
    /// e.reg_write(xlat::embed::RiscvReg::X(10), 0x2000).unwrap();
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(e.helper_accesses(), 1);
    /// ```
    pub fn helper_accesses(&self) -> u64 {
        self.core.mem.helper_accesses.load(Ordering::Relaxed)
    }
}

pub(crate) fn mem_regions(core: &Core) -> Vec<Region> {
    let mut v: Vec<Region> = core
        .mem
        .space
        .vmas()
        .iter()
        .map(|(s, m)| Region {
            begin: s,
            end: m.end - 1,
            perms: Perm(m.prot & 7),
        })
        .collect();
    for r in core
        .mem
        .special
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let perms = match r.kind {
            SpecialKind::Host { perms, .. } => perms,
            SpecialKind::Mmio { .. } => Perm(Perm::READ.0 | Perm::WRITE.0),
        };
        v.push(Region {
            begin: r.start,
            end: r.end - 1,
            perms,
        });
    }
    v.sort_by_key(|r| r.begin);
    v
}

/// Calls `stop` on its control when the timeout passes, unless dropped first.
struct Timer {
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Timer {
    fn start(d: Duration, ctl: Arc<Control>) -> Timer {
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let d2 = done.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + d;
            let (m, cv) = &*d2;
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            while !*g {
                let now = Instant::now();
                if now >= deadline {
                    ctl.request_stop();
                    return;
                }
                g = cv
                    .wait_timeout(g, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        });
        Timer {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        *self.done.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.done.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What kind of fault an access-fault exception at `addr` is.
fn fault_kind(core: &Core, addr: u64, access: u32) -> MemHookKind {
    let mapped =
        core.mem.is_special(addr) || (addr < HIGH && core.mem.space.vmas().find(addr).is_some());
    match (access, mapped) {
        (0, false) => MemHookKind::READ_UNMAPPED,
        (1, false) => MemHookKind::WRITE_UNMAPPED,
        (_, false) => MemHookKind::FETCH_UNMAPPED,
        (0, true) => MemHookKind::READ_PROT,
        (1, true) => MemHookKind::WRITE_PROT,
        (_, true) => MemHookKind::FETCH_PROT,
    }
}

fn fault_error(kind: MemHookKind, addr: u64) -> Error {
    match kind {
        MemHookKind::READ_UNMAPPED => Error::ReadUnmapped(addr),
        MemHookKind::WRITE_UNMAPPED => Error::WriteUnmapped(addr),
        MemHookKind::FETCH_UNMAPPED => Error::FetchUnmapped(addr),
        MemHookKind::READ_PROT => Error::ReadProt(addr),
        MemHookKind::WRITE_PROT => Error::WriteProt(addr),
        _ => Error::FetchProt(addr),
    }
}

/// Calls hooks of `tag` from the exec loop; whether any ran.
fn call_simple(core: &Core, env: &mut CpuState, tag: Tag, arg: u32) -> (bool, bool) {
    let mut i = 0;
    let (mut any, mut handled) = (false, false);
    let pc = env.pc;
    let mut v = Vcpu::new(env, core, pc);
    while let Some(h) = core.next_hook(&mut i, pc, |t| t == tag) {
        any = true;
        // SAFETY: dispatch on the engine's thread; no other borrow of this callback is live.
        let cb = unsafe { h.callback() };
        match cb {
            Callback::Intr(f) => f(&mut v, arg),
            Callback::Insn(f) => f(&mut v),
            Callback::Invalid(f) => handled |= f(&mut v),
            _ => {}
        }
    }
    let redirect = v.redirect;
    if let Some(to) = redirect {
        env.pc = to;
    }
    (any, handled)
}

fn run_loop(core: &Core, env: &mut CpuState) -> Result<(), Error> {
    loop {
        if core.ctl.resync.swap(false, Ordering::AcqRel) {
            core.apply_pending();
        }
        if let Some(pc) = core
            .redirect
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            env.pc = pc;
        }
        if core.ctl.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        if env.pc == core.until.load(Ordering::Relaxed) {
            return Ok(());
        }
        let exit = core.jit.run(env);
        match exit {
            RunExit::Request => {
                env.exit_request.fetch_and(!REQ_EMBED, Ordering::AcqRel);
            }
            RunExit::Syscall => {
                let pc = env.pc;
                let (any, _) = call_simple(core, env, Tag::Insn(Insn::Syscall), 0);
                let (any2, _) = if any {
                    (true, false)
                } else {
                    let no = match core.arch {
                        Arch::Riscv64 => 8,
                        Arch::Aarch64 => 2,
                        Arch::X86_64 => 0x80,
                    };
                    call_simple(core, env, Tag::Intr, no)
                };
                if !any2 {
                    return Err(Error::Exception(u32::MAX));
                }
                if env.pc == pc {
                    env.pc += core.frontend.user_abi().syscall_insn_len;
                }
            }
            RunExit::Breakpoint => {
                let pc = env.pc;
                let (any, _) = call_simple(core, env, Tag::Intr, 3);
                if !any || env.pc == pc {
                    return Err(Error::Exception(3));
                }
            }
            RunExit::Exception { .. } if env.pc == core.until.load(Ordering::Relaxed) => {
                // Reached `until` through a jump to code that cannot run (a return address
                // nothing is mapped at): that is the end, not a fault.
                return Ok(());
            }
            RunExit::Exception { code, arg } => match code {
                EXC_STOP => return Ok(()),
                EXC_RESYNC => {}
                EXC_LOAD_FAULT | EXC_STORE_FAULT => data_fault(core, env, code, arg)?,
                c => match core.frontend.classify_trap(c) {
                    TrapClass::AccessFault
                        if core.arch == Arch::X86_64
                            && !super::hooks::x86_canonical(if arg != 0 {
                                arg
                            } else {
                                env.pc
                            }) =>
                    {
                        // An instruction running on into non-canonical addresses: #GP.
                        let pc = env.pc;
                        let (any, _) = call_simple(core, env, Tag::Intr, X86_GP);
                        if !any || env.pc == pc {
                            return Err(Error::Exception(X86_GP));
                        }
                    }
                    TrapClass::AccessFault => {
                        // The frontends raise access faults only for code they cannot fetch.
                        let addr = if arg != 0 { arg } else { env.pc };
                        let kind = fault_kind(core, addr, 2);
                        let size = super::fault::fetch_size(core, env.pc, addr);
                        handle_fault(core, env, kind, Some((addr, size)))?;
                        core.jit.invalidate(env.pc, 1);
                    }
                    // In user mode every port I/O instruction is #GP, also should a
                    // frontend raise #UD for one (x86's did for insw/insd/outsw/outsd).
                    TrapClass::IllegalInstruction
                        if core.arch == Arch::X86_64 && is_port_io(core, env.pc) =>
                    {
                        if !port_io(core, env)? {
                            let pc = env.pc;
                            let (any, _) = call_simple(core, env, Tag::Intr, 13);
                            if !any || env.pc == pc {
                                return Err(Error::Exception(13));
                            }
                        }
                    }
                    TrapClass::IllegalInstruction => {
                        let pc = env.pc;
                        let (_, handled) = call_simple(core, env, Tag::Invalid, 0);
                        if !handled || env.pc == pc {
                            return Err(Error::InvalidInsn(pc));
                        }
                    }
                    _ if c == 13 && core.arch == Arch::X86_64 && port_io(core, env)? => {}
                    _ => {
                        let pc = env.pc;
                        let (any, _) = call_simple(core, env, Tag::Intr, c);
                        if !any || env.pc == pc {
                            return Err(Error::Exception(c));
                        }
                    }
                },
            },
        }
    }
}

/// x86-64 `in`/`out` raise #GP in user mode: when the instruction at the pc is one and port
/// I/O hooks exist, calls them, writes the `in` result and steps over it. The string forms
/// (`ins`/`outs`, with `rep` too) call the hooks once per element, moving the data through
/// guest memory (with its memory hooks and faults; a fault leaves the registers at the
/// element that faulted, so a handled fault resumes there). Whether it did.
fn port_io(core: &Core, env: &mut CpuState) -> Result<bool, Error> {
    use iced_x86::{Mnemonic, OpKind, Register};
    let pc = env.pc;
    let mut i = 0;
    if core.next_hook(&mut i, pc, |t| t == Tag::InOut).is_none() {
        return Ok(false);
    }
    let insn = decode_x86(core, pc);
    let string = match insn.mnemonic() {
        Mnemonic::Insb | Mnemonic::Insw | Mnemonic::Insd => Some((false, 0)),
        Mnemonic::Outsb | Mnemonic::Outsw | Mnemonic::Outsd => Some((true, 1)),
        _ => None,
    };
    if let Some((out, mem_op)) = string {
        let size: u32 = match insn.mnemonic() {
            Mnemonic::Insb | Mnemonic::Outsb => 1,
            Mnemonic::Insw | Mnemonic::Outsw => 2,
            _ => 4,
        };
        return string_io(core, env, &insn, out, size, insn.op_kind(mem_op)).map(|()| true);
    }
    let (reg, port_op, out) = match insn.mnemonic() {
        Mnemonic::In => (insn.op0_register(), 1, false),
        Mnemonic::Out => (insn.op1_register(), 0, true),
        _ => return Ok(false),
    };
    let size: u32 = match reg {
        Register::AL => 1,
        Register::AX => 2,
        Register::EAX => 4,
        _ => return Ok(false),
    };
    let mask = u64::MAX >> (64 - 8 * size);
    let mut v = Vcpu::new(env, core, pc);
    let (Ok(rax), Ok(rdx)) = (v.reg_read(X86Reg::Rax), v.reg_read(X86Reg::Rdx)) else {
        return Ok(false);
    };
    let port = if insn.op_kind(port_op) == OpKind::Immediate8 {
        u16::from(insn.immediate8())
    } else {
        rdx as u16
    };
    let value = out.then_some((rax & mask) as u32);
    let result = call_inout(core, &mut v, port, size, value);
    if !out {
        // The hook may have changed rax itself: merge into its current value.
        let rax = v.reg_read(X86Reg::Rax).unwrap_or(rax);
        let new = if size == 4 {
            u64::from(result)
        } else {
            (rax & !mask) | (u64::from(result) & mask)
        };
        let _ = v.reg_write(X86Reg::Rax, new);
    }
    let redirect = v.redirect;
    env.pc = redirect.unwrap_or(pc + insn.len() as u64);
    Ok(true)
}

/// Decodes the x86-64 instruction at `pc` (as far as its bytes are mapped).
fn decode_x86(core: &Core, pc: u64) -> iced_x86::Instruction {
    use iced_x86::{Decoder, DecoderOptions};
    let mut bytes = [0u8; 15];
    let mut n = 0;
    while n < bytes.len() && core.mem_read(pc + n as u64, &mut bytes[n..=n]).is_ok() {
        n += 1;
    }
    Decoder::with_ip(64, &bytes[..n], pc, DecoderOptions::NONE).decode()
}

/// Whether the x86-64 instruction at `pc` is a port I/O one (`in`, `out`, `ins`, `outs`).
fn is_port_io(core: &Core, pc: u64) -> bool {
    use iced_x86::Mnemonic as M;
    matches!(
        decode_x86(core, pc).mnemonic(),
        M::In | M::Out | M::Insb | M::Insw | M::Insd | M::Outsb | M::Outsw | M::Outsd
    )
}

/// Calls the port I/O hooks; the last one's result.
fn call_inout(core: &Core, v: &mut Vcpu<'_>, port: u16, size: u32, value: Option<u32>) -> u32 {
    let mut result = 0;
    let mut i = 0;
    while let Some(h) = core.next_hook(&mut i, v.pc, |t| t == Tag::InOut) {
        // SAFETY: dispatch on the engine's thread; no other borrow of this callback is live.
        if let Callback::InOut(f) = unsafe { h.callback() } {
            result = f(v, port, size, value);
        }
    }
    result
}

/// `ins`/`outs` (and their `rep` forms): per element, `outs` reads `[seg:rsi]` and calls the
/// hooks with it; `ins` calls them and writes the result to `[rdi]`; the pointer moves by the
/// size (down when rflags.DF is set), `rep` counts rcx down to 0. A 0x67 prefix uses esi/edi/ecx.
fn string_io(
    core: &Core,
    env: &mut CpuState,
    insn: &iced_x86::Instruction,
    out: bool,
    size: u32,
    kind: iced_x86::OpKind,
) -> Result<(), Error> {
    use iced_x86::{OpKind, Register};
    let pc = env.pc;
    let a32 = matches!(kind, OpKind::MemorySegESI | OpKind::MemoryESEDI);
    let amask = if a32 { u64::from(u32::MAX) } else { u64::MAX };
    let rep = insn.has_rep_prefix() || insn.has_repne_prefix();
    let ptr_reg = if out { X86Reg::Rsi } else { X86Reg::Rdi };
    let mem = MemOp::le(size, false);
    let rd = |env: &mut CpuState, r: X86Reg| Reg::from(r).read(env).unwrap_or(0);
    let base = if out {
        match insn.memory_segment() {
            Register::FS => rd(env, X86Reg::FsBase),
            Register::GS => rd(env, X86Reg::GsBase),
            _ => 0,
        }
    } else {
        0
    };
    let down = rd(env, X86Reg::Rflags) & 0x400 != 0;
    let port = rd(env, X86Reg::Rdx) as u16;
    let hooked = core.mem_hooks.load(Ordering::Relaxed);
    loop {
        let count = rd(env, X86Reg::Rcx) & amask;
        if rep && count == 0 {
            break;
        }
        let ptr = rd(env, ptr_reg) & amask;
        let addr = base.wrapping_add(ptr);
        let mut v = Vcpu::new(env, core, pc);
        if out {
            if hooked & MemHookKind::READ.0 != 0 {
                core.call_mem_hooks(&mut v, MemHookKind::READ, addr, size as usize, 0);
            }
            let val = match xlat_ir::interp::GuestMem::load(&*core.mem, addr, mem) {
                Ok(x) => x,
                Err(f) => return string_fault(core, env, f, addr, size),
            };
            if hooked & MemHookKind::READ_AFTER.0 != 0 {
                core.call_mem_hooks(
                    &mut v,
                    MemHookKind::READ_AFTER,
                    addr,
                    size as usize,
                    val as i64,
                );
            }
            call_inout(core, &mut v, port, size, Some(val as u32));
        } else {
            // The destination must be writable before the port is read (the read may have
            // side effects the retry after a handled fault would repeat).
            if !core.writable(addr, u64::from(size)) {
                let f = xlat_ir::interp::GuestMem::store(&*core.mem, addr, mem, 0)
                    .err()
                    .unwrap_or(xlat_ir::interp::MemFault {
                        code: EXC_STORE_FAULT,
                        addr,
                    });
                return string_fault(core, env, f, addr, size);
            }
            let val = u64::from(call_inout(core, &mut v, port, size, None))
                & (u64::MAX >> (64 - 8 * size));
            if hooked & MemHookKind::WRITE.0 != 0 {
                core.call_mem_hooks(&mut v, MemHookKind::WRITE, addr, size as usize, val as i64);
            }
            if let Err(f) = xlat_ir::interp::GuestMem::store(&*core.mem, addr, mem, val) {
                return string_fault(core, env, f, addr, size);
            }
        }
        let redirect = v.redirect;
        let step = if down {
            u64::from(size).wrapping_neg()
        } else {
            u64::from(size)
        };
        let set = |env: &mut CpuState, r: X86Reg, val: u64| {
            // 32-bit register writes zero-extend.
            let _ = Reg::from(r).write(env, val & amask);
        };
        set(env, ptr_reg, ptr.wrapping_add(step));
        if rep {
            set(env, X86Reg::Rcx, count - 1);
        }
        if let Some(to) = redirect {
            env.pc = to;
            return Ok(());
        }
        if !rep || core.ctl.stop.load(Ordering::Acquire) {
            break;
        }
    }
    // A stopped `rep` leaves the pc at the instruction: the rest runs when restarted.
    if !rep || rd(env, X86Reg::Rcx) & amask == 0 {
        env.pc = pc + insn.len() as u64;
    }
    Ok(())
}

/// A fault of a string port I/O element: the fault hooks, with the element's address and
/// size; handled, the instruction runs again from that element.
fn string_fault(
    core: &Core,
    env: &mut CpuState,
    f: xlat_ir::interp::MemFault,
    addr: u64,
    size: u32,
) -> Result<(), Error> {
    let kind = fault_kind(core, f.addr, u32::from(f.code == EXC_STORE_FAULT));
    handle_fault(core, env, kind, Some((addr, size as usize)))
}

/// The size of the first load (or store) of the guest instruction at `pc`, 0 if none.
fn access_size(core: &Core, pc: u64, store: bool) -> usize {
    let unit = core.frontend.translate(pc, &*core.mem, 1);
    let want = if store { Opcode::Store } else { Opcode::Load };
    unit.insts
        .iter()
        .find(|i| i.op == want)
        .map_or(0, |i| MemOp::from_u32(i.aux & 0xffff).bytes() as usize)
}

/// A data access of the instruction at the pc faulted (`code` the load or store fault code,
/// `arg` where). The fault hooks see the access that faulted: its own kind, start address and
/// size, found by replaying the instruction ([`super::fault::faulting_access`]); when the
/// replay finds none, the reported address with the size from the memory helpers or the
/// instruction's first access of that kind.
fn data_fault(core: &Core, env: &mut CpuState, code: u32, arg: u64) -> Result<(), Error> {
    let helper = FAULT_SIZE.with(|c| c.replace(0));
    let (kind, addr, size) =
        if let Some((addr, size)) = super::hooks::FAULT_NARROW.with(|c| c.take()) {
            (
                fault_kind(core, addr, code - EXC_LOAD_FAULT),
                addr,
                size as usize,
            )
        } else {
            match super::fault::faulting_access(core, env) {
                Some(f) => f,
                None => {
                    let kind = fault_kind(core, arg, code - EXC_LOAD_FAULT);
                    let size = if helper != 0 {
                        helper as usize
                    } else {
                        access_size(core, env.pc, code == EXC_STORE_FAULT)
                    };
                    (kind, arg, size)
                }
            }
        };
    if core.arch == Arch::X86_64
        && !(super::hooks::x86_canonical(addr)
            && super::hooks::x86_canonical(addr.wrapping_add(size.max(1) as u64 - 1)))
    {
        // A data access at (or running into) a non-canonical address: #GP, not a page fault
        // (as the hardware and Unicorn report it).
        FAULT_SIZE.with(|c| c.set(0));
        super::hooks::FAULT_NARROW.with(|c| c.set(None));
        let pc = env.pc;
        let (any, _) = call_simple(core, env, Tag::Intr, X86_GP);
        if !any || env.pc == pc {
            return Err(Error::Exception(X86_GP));
        }
        return Ok(());
    }
    handle_fault(core, env, kind, Some((addr, size)))
}

/// Calls the fault hooks for `kind` at `access` (address, size); `Ok` when one handled it.
fn handle_fault(
    core: &Core,
    env: &mut CpuState,
    kind: MemHookKind,
    access: Option<(u64, usize)>,
) -> Result<(), Error> {
    let pc = env.pc;
    FAULT_SIZE.with(|c| c.set(0));
    super::hooks::FAULT_NARROW.with(|c| c.set(None));
    let (addr, size) = access.unwrap_or((pc, 0));
    let mut v = Vcpu::new(env, core, pc);
    let handled = core.call_mem_hooks(&mut v, kind, addr, size, 0);
    if let Some(to) = v.redirect {
        env.pc = to;
    }
    if handled {
        Ok(())
    } else {
        Err(fault_error(kind, addr))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        sig::unregister(self.core.mem.space.host_range().0);
    }
}

pub(crate) use Core as EngineCore;
