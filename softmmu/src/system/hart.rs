//! One hart's view of memory: guest virtual addresses translated by the architecture
//! ([`Translate`], the frontend's page-table walk glued in by the machine), cached in a small
//! per-hart TLB, then dispatched on the [`Bus`]. This is the [`GuestMemory`] the exec loop
//! (interpreter and compiled code's out-of-line path) runs a hart's code against.
//!
//! Data translations of RAM (and ROM, for reads) go into the inline TLB tables
//! ([`xlat_ir::abi::TlbEntry`]) that compiled code looks up without a call; one table per
//! translation mode (the machine picks it with [`HartMemory::select`] and puts its address in
//! `CpuState::tlb`), so a privilege switch costs no flush. Fetches keep a small TLB of their
//! own (they happen only when code is translated).

use super::bus::{Bus, Target, host_read, host_write};
use crate::{CodeFetch, DirectMap, GuestMem, GuestMemory, MemFault};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use xlat_ir::abi::{TLB_ENTRIES, TLB_INVALID, TLB_PAGE_BITS, TlbEntry};
use xlat_ir::{AtomicOp, MemOp};

/// The kind of access being translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A data load.
    Read = 0,
    /// A data store or atomic.
    Write = 1,
    /// An instruction fetch.
    Fetch = 2,
}

/// A hart's address translation, as its architecture defines it for the hart's current mode.
/// The machine keeps it in step with the hart's control registers and calls
/// [`HartMemory::flush_tlb`] whenever a translation may have changed.
pub trait Translate: Send + Sync + std::fmt::Debug {
    /// The guest physical address for `va`, or the architecture's exception code.
    fn translate(&self, va: u64, access: Access, bus: &Bus) -> Result<u64, u32>;
    /// [`Translate::translate`] for a load, and whether a store to the same page would
    /// translate to it as well with nothing to update (permission granted, page already
    /// dirty): then a load's TLB fill caches the page for stores too. The default never says
    /// so.
    fn translate_read(&self, va: u64, bus: &Bus) -> Result<(u64, bool), u32> {
        self.translate(va, Access::Read, bus).map(|pa| (pa, false))
    }
    /// The exception code for an access to nothing (or a store to ROM).
    fn access_fault(&self, access: Access) -> u32;
    /// The exception code for a misaligned access that must be aligned.
    fn misaligned(&self, access: Access) -> u32;
}

const PAGE_BITS: u32 = 12;
const PAGE: u64 = 1 << PAGE_BITS;
/// Fetch-TLB entries: every exec-loop pass translates the pc (the blocks' key is the
/// physical page), so the kernel's hot code must fit (64 entries: a page walk for one pass
/// in ten during a boot).
const FETCH_ENTRIES: usize = 1024;
/// Inline TLB tables, one per translation mode the machine distinguishes.
pub const TLB_TABLES: usize = 4;

/// One fetch-TLB entry: virtual page number + 1 (0 = empty) and physical page base.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tag: u64,
    pa: u64,
}

type Table = [TlbEntry; TLB_ENTRIES];

/// The code pages a hart must drop at its next instruction fence: physical pages that held
/// code some hart translated and were then written (by any hart).
#[derive(Debug, Default)]
struct Written {
    pages: Mutex<Vec<u64>>,
    any: AtomicBool,
}

/// One hart's part of the [`CodeMap`].
#[derive(Debug)]
struct Watcher {
    tables: std::sync::Weak<[Table]>,
    written: Arc<Written>,
}

/// Per RAM page of a bus: whether translated code (of any hart) may come from it. Shared by
/// the harts of a machine, so that a store by one hart to code another hart translated is
/// seen: no hart's inline TLB may write such a page (every hart's write entries are dropped
/// when a page becomes code), and a store through the slow path tells every hart, which
/// drops the page's translations at its next `fence.i`.
#[derive(Debug)]
pub(crate) struct CodeMap {
    code: Box<[AtomicU8]>,
    harts: Mutex<Vec<Watcher>>,
    ram_base: u64,
    /// Host address of the first RAM byte.
    ram_host: usize,
}

/// The code maps of the buses alive, by the host range of their RAM (see [`note_dma_write`]).
type MapList = Vec<(usize, usize, std::sync::Weak<CodeMap>)>;
static CODE_MAPS: Mutex<MapList> = Mutex::new(Vec::new());

/// A device wrote `len` bytes of guest RAM at host address `host` behind the harts' backs
/// (virtio DMA): the pages that held translated code are reported to every hart of that
/// bus, as a store through a hart is, so the guest's `fence.i` after the I/O drops their
/// blocks. Host memory that is no bus's RAM is ignored.
pub fn note_dma_write(host: usize, len: usize) {
    if len == 0 {
        return;
    }
    let map = {
        let mut maps = CODE_MAPS.lock().unwrap_or_else(|e| e.into_inner());
        maps.retain(|(_, _, m)| m.strong_count() > 0);
        maps.iter()
            .find(|(b, n, _)| host >= *b && host - *b < *n)
            .and_then(|(b, n, m)| Some((*b, *n, m.upgrade()?)))
    };
    let Some((base, size, map)) = map else { return };
    let first = (host - base) >> PAGE_BITS;
    let last = (host - base).saturating_add(len - 1).min(size - 1) >> PAGE_BITS;
    for i in first..=last {
        map.note_store(i, (map.ram_base >> PAGE_BITS) + i as u64);
    }
}

impl CodeMap {
    /// The map of a bus whose RAM is `ram_size` bytes at guest `ram_base`, host `ram_host`.
    pub(crate) fn new(ram_base: u64, ram_size: u64, ram_host: usize) -> Arc<CodeMap> {
        let m = Arc::new(CodeMap {
            code: (0..ram_size >> PAGE_BITS)
                .map(|_| AtomicU8::new(0))
                .collect(),
            harts: Mutex::new(Vec::new()),
            ram_base,
            ram_host,
        });
        CODE_MAPS.lock().unwrap_or_else(|e| e.into_inner()).push((
            ram_host,
            ram_size as usize,
            Arc::downgrade(&m),
        ));
        m
    }

    fn watch(&self, tables: &Arc<[Table]>) -> Arc<Written> {
        let written = Arc::new(Written::default());
        let mut h = self.harts.lock().unwrap_or_else(|e| e.into_inner());
        h.retain(|w| w.tables.strong_count() > 0);
        h.push(Watcher {
            tables: Arc::downgrade(tables),
            written: written.clone(),
        });
        written
    }

    fn is_code(&self, i: usize) -> bool {
        self.code[i].load(Ordering::SeqCst) != 0
    }

    /// Page `i` is being translated: no inline TLB (of any hart) may write it any more.
    /// Only the write entries that reach the page go (an entry's host page is its tag plus
    /// its addend); a hart filling one at the same time rechecks the map after its fill
    /// (`HartMemory::recheck_write`).
    ///
    /// Known race (only a guest whose harts write and execute the same page without
    /// synchronising): another hart's compiled store that compared its tag before this
    /// sweep but lands after the translation read the page (the host may preempt it between
    /// the two) is noted nowhere, so a later `fence.i` keeps the stale block. QEMU's
    /// `tlb_reset_dirty` has the same window. Closing it needs the other harts at a safe
    /// point (QEMU's exclusive work) before the page is read: a stop of every hart per new
    /// code page, which costs more than it guards against.
    fn mark(&self, i: usize) {
        if self.code[i].swap(1, Ordering::SeqCst) == 0 {
            let host = (self.ram_host as u64).wrapping_add((i as u64) << PAGE_BITS);
            for w in self.harts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let Some(tables) = w.tables.upgrade() else {
                    continue;
                };
                for t in tables.iter() {
                    for e in t.iter() {
                        let tag = e.write.load(Ordering::SeqCst);
                        if tag != TLB_INVALID
                            && tag.wrapping_add(e.addend.load(Ordering::SeqCst)) == host
                        {
                            e.write.store(TLB_INVALID, Ordering::SeqCst);
                        }
                    }
                }
            }
        }
    }

    /// A store reached page `i` (physical page number `ppn`) through the slow path.
    fn note_store(&self, i: usize, ppn: u64) {
        if self
            .code
            .get(i)
            .is_some_and(|c| c.swap(0, Ordering::SeqCst) != 0)
        {
            for w in self.harts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                w.written
                    .pages
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(ppn);
                w.written.any.store(true, Ordering::Release);
            }
        }
    }

    fn forget(&self) {
        for c in self.code.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Asks for guest RAM in 2 MiB host pages where the host allows them (transparent huge pages
/// in `madvise` mode), as QEMU does: a boot touches hundreds of MiB, each 4 KiB page a fault,
/// and every TLB hit's host access wants a host TLB entry too (`XLAT_NO_THP=1`: not, to
/// measure). Advice only: nothing changes if the host says no.
fn advise_huge_pages(bus: &Bus) {
    if std::env::var_os("XLAT_NO_THP").is_some() {
        return;
    }
    let (base, size) = bus.ram_range();
    if let Some(h) = bus.ram_host(base, size) {
        // SAFETY: [h, h + size) is the bus's RAM mapping; MADV_HUGEPAGE changes how the kernel
        // backs it, never its contents or protection.
        unsafe { libc::madvise(h as *mut libc::c_void, size as usize, libc::MADV_HUGEPAGE) };
    }
}

/// One hart's memory (see the module doc).
#[derive(Debug)]
pub struct HartMemory {
    bus: Arc<Bus>,
    tr: Arc<dyn Translate>,
    fetch: Mutex<[Entry; FETCH_ENTRIES]>,
    tables: Arc<[Table]>,
    cur: AtomicUsize,
    /// Code pages written since [`HartMemory::take_written_code_pages`] (by any hart on the
    /// bus: see [`CodeMap`]).
    written: Arc<Written>,
}

fn empty_table() -> Table {
    std::array::from_fn(|_| TlbEntry {
        read: AtomicU64::new(TLB_INVALID),
        write: AtomicU64::new(TLB_INVALID),
        addend: AtomicU64::new(0),
        spare: 0,
    })
}

impl HartMemory {
    /// A hart's view of `bus` through `tr`.
    pub fn new(bus: Arc<Bus>, tr: Arc<dyn Translate>) -> HartMemory {
        advise_huge_pages(&bus);
        let tables: Arc<[Table]> = (0..TLB_TABLES).map(|_| empty_table()).collect();
        HartMemory {
            written: bus.code.watch(&tables),
            bus,
            tr,
            fetch: Mutex::new([Entry::default(); FETCH_ENTRIES]),
            tables,
            cur: AtomicUsize::new(0),
        }
    }

    /// The physical address space.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// Makes table `i` (< [`TLB_TABLES`]) current and returns its address, for
    /// `CpuState::tlb`. Its entries must be those of the translation mode now in force (the
    /// machine flushes when a mode's translations change).
    pub fn select(&self, i: usize) -> u64 {
        let i = i % TLB_TABLES;
        self.cur.store(i, Ordering::Relaxed);
        self.tables[i].as_ptr() as u64
    }

    /// Forgets every cached data translation, in every table, and every fetch translation.
    pub fn flush_tlb(&self) {
        for t in self.tables.iter() {
            for e in t.iter() {
                e.read.store(TLB_INVALID, Ordering::Relaxed);
                e.write.store(TLB_INVALID, Ordering::Relaxed);
            }
        }
        self.flush_fetch();
    }

    /// Forgets the cached translations (data, every table, and fetch) of the virtual page
    /// holding `va`: what an address-specific TLB fence asks for 4 KiB pages.
    pub fn flush_page(&self, va: u64) {
        let i = ((va >> TLB_PAGE_BITS) as usize) & (TLB_ENTRIES - 1);
        for t in self.tables.iter() {
            t[i].read.store(TLB_INVALID, Ordering::Relaxed);
            t[i].write.store(TLB_INVALID, Ordering::Relaxed);
        }
        let vpn = va >> PAGE_BITS;
        let mut f = self.fetch.lock().unwrap_or_else(|e| e.into_inner());
        let e = &mut f[(vpn as usize) % FETCH_ENTRIES];
        if e.tag == vpn.wrapping_add(1) {
            *e = Entry::default();
        }
    }

    /// Whether a page that held translated code was written since the last call (which
    /// resets it): what `fence.i` must know to keep or drop translations.
    pub fn take_code_written(&self) -> bool {
        self.written.any.swap(false, Ordering::AcqRel)
    }

    /// The physical page numbers (`pa >> 12`) of the pages that held translated code and
    /// were written since the last call (which resets them, and
    /// [`HartMemory::take_code_written`]): what `fence.i` must invalidate, and no more.
    pub fn take_written_code_pages(&self) -> Vec<u64> {
        self.written.any.store(false, Ordering::Release);
        std::mem::take(&mut *self.written.pages.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Forgets which pages hold translated code (every translation, of every hart on the
    /// bus, was dropped).
    pub fn forget_code(&self) {
        self.bus.code.forget();
        self.written
            .pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn code_index(&self, pa: u64) -> Option<usize> {
        let (base, size) = self.bus.ram_range();
        let off = pa.wrapping_sub(base);
        (off < size).then_some((off >> PAGE_BITS) as usize)
    }

    /// Code is being translated from physical `pa`: stores to its page must be seen, so
    /// no inline TLB entry may write there any more.
    fn mark_code(&self, pa: u64) {
        if let Some(i) = self.code_index(pa) {
            self.bus.code.mark(i);
        }
    }

    /// A store reaches physical `pa` through the slow path.
    fn note_store(&self, pa: u64) {
        if let Some(i) = self.code_index(pa) {
            self.bus.code.note_store(i, pa >> PAGE_BITS);
        }
    }

    /// After a write entry for `pa` was filled: if another hart made the page code
    /// meanwhile (its sweep of the write entries may have come before the fill), drop the
    /// entry again and note the store.
    fn recheck_write(&self, e: &TlbEntry, pa: u64) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(i) = self.code_index(pa)
            && self.bus.code.is_code(i)
        {
            e.write.store(TLB_INVALID, Ordering::SeqCst);
            self.bus.code.note_store(i, pa >> PAGE_BITS);
        }
    }

    /// Forgets the fetch translations (the fetch mode changed).
    pub fn flush_fetch(&self) {
        self.fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill(Entry::default());
    }

    /// Translates `va` for `access` (without caching data translations).
    pub fn translate(&self, va: u64, access: Access) -> Result<u64, u32> {
        if access != Access::Fetch {
            return self.tr.translate(va, access, &self.bus);
        }
        let vpn = va >> PAGE_BITS;
        let idx = (vpn as usize) % FETCH_ENTRIES;
        let e = self.fetch.lock().unwrap_or_else(|e| e.into_inner())[idx];
        if e.tag == vpn.wrapping_add(1) {
            return Ok(e.pa | (va & (PAGE - 1)));
        }
        let pa = self.tr.translate(va, access, &self.bus)?;
        self.fetch.lock().unwrap_or_else(|e| e.into_inner())[idx] = Entry {
            tag: vpn.wrapping_add(1),
            pa: pa & !(PAGE - 1),
        };
        Ok(pa)
    }

    fn fault(&self, code: u32, addr: u64) -> MemFault {
        MemFault { code, addr }
    }

    fn check_align(&self, addr: u64, mem: MemOp, access: Access) -> Result<(), MemFault> {
        if mem.aligned && addr & u64::from(mem.bytes() - 1) != 0 {
            return Err(self.fault(self.tr.misaligned(access), addr));
        }
        Ok(())
    }

    fn entry(&self, va: u64) -> &TlbEntry {
        let t = &self.tables[self.cur.load(Ordering::Relaxed)];
        &t[((va >> TLB_PAGE_BITS) as usize) & (TLB_ENTRIES - 1)]
    }

    /// Where a data access at `va` (inside one page) goes: a host address (RAM, ROM) or a
    /// physical address to dispatch on the bus. Fills the inline TLB for RAM and ROM.
    fn data_target(&self, va: u64, access: Access) -> Result<Place, MemFault> {
        let page = va & !(PAGE - 1);
        let e = self.entry(va);
        let tag = match access {
            Access::Write => &e.write,
            _ => &e.read,
        };
        if tag.load(Ordering::Relaxed) == page {
            let add = e.addend.load(Ordering::Relaxed);
            return Ok(Place::Host(va.wrapping_add(add) as usize));
        }
        let (pa, writable) = if access == Access::Read {
            self.tr.translate_read(va, &self.bus)
        } else {
            self.tr
                .translate(va, access, &self.bus)
                .map(|pa| (pa, false))
        }
        .map_err(|c| self.fault(c, va))?;
        let host_page = |h: usize| (h as u64).wrapping_sub(pa & (PAGE - 1));
        if access == Access::Write {
            self.note_store(pa);
        }
        match self.bus.target(pa & !(PAGE - 1), PAGE) {
            Target::Ram(h) => {
                let add = host_page(h + (pa & (PAGE - 1)) as usize).wrapping_sub(page);
                let keep_write = e.write.load(Ordering::Relaxed) == page
                    && e.addend.load(Ordering::Relaxed) == add;
                // A load from a page stores may reach as they are (writable, dirty) fills the
                // store entry too, unless the page holds translated code (whose stores must
                // go out of line).
                let fill_write = writable
                    && !self
                        .code_index(pa)
                        .is_some_and(|i| self.bus.code.is_code(i));
                e.addend.store(add, Ordering::Relaxed);
                e.read.store(page, Ordering::Relaxed);
                let w = if access == Access::Write || keep_write || fill_write {
                    page
                } else {
                    TLB_INVALID
                };
                e.write.store(w, Ordering::Relaxed);
                if w != TLB_INVALID {
                    if access == Access::Write || keep_write {
                        self.recheck_write(e, pa);
                    } else {
                        // Nothing was stored: if the page became code meanwhile, only the
                        // entry goes.
                        std::sync::atomic::fence(Ordering::SeqCst);
                        if self
                            .code_index(pa)
                            .is_some_and(|i| self.bus.code.is_code(i))
                        {
                            e.write.store(TLB_INVALID, Ordering::SeqCst);
                        }
                    }
                }
                Ok(Place::Host(va.wrapping_add(add) as usize))
            }
            Target::Rom(h) if access == Access::Read => {
                let add = host_page(h + (pa & (PAGE - 1)) as usize).wrapping_sub(page);
                e.addend.store(add, Ordering::Relaxed);
                e.read.store(page, Ordering::Relaxed);
                e.write.store(TLB_INVALID, Ordering::Relaxed);
                Ok(Place::Host(va.wrapping_add(add) as usize))
            }
            _ => Ok(Place::Phys(pa)),
        }
    }

    /// Translates a data access at `va` that stays in one page (for atomics: RAM only).
    fn data_pa(&self, va: u64, access: Access) -> Result<u64, MemFault> {
        self.tr
            .translate(va, access, &self.bus)
            .map_err(|c| self.fault(c, va))
    }

    fn crosses(va: u64, bytes: u32) -> bool {
        (va & (PAGE - 1)) + u64::from(bytes) > PAGE
    }

    fn load_raw(&self, va: u64, size: u8) -> Result<u64, MemFault> {
        if Self::crosses(va, u32::from(size)) {
            // Byte by byte, each through its own page (faults report the first bad byte,
            // as QEMU does for a split access).
            let mut v = 0u64;
            for k in 0..u64::from(size) {
                let a = va.wrapping_add(k);
                v |= self.load_raw(a, 1)? << (8 * k);
            }
            return Ok(v);
        }
        match self.data_target(va, Access::Read)? {
            Place::Host(h) => Ok(host_read(h, size)),
            Place::Phys(pa) => self
                .bus
                .read(pa, size)
                .ok_or_else(|| self.fault(self.tr.access_fault(Access::Read), va)),
        }
    }

    fn store_raw(&self, va: u64, size: u8, val: u64) -> Result<(), MemFault> {
        if Self::crosses(va, u32::from(size)) {
            // Translate every byte first so a fault leaves memory untouched.
            for k in 0..u64::from(size) {
                self.data_pa(va.wrapping_add(k), Access::Write)?;
            }
            for k in 0..u64::from(size) {
                self.store_raw(va.wrapping_add(k), 1, val >> (8 * k))?;
            }
            return Ok(());
        }
        match self.data_target(va, Access::Write)? {
            Place::Host(h) => {
                host_write(h, size, val);
                Ok(())
            }
            Place::Phys(pa) if self.bus.write(pa, size, val) => Ok(()),
            Place::Phys(_) => Err(self.fault(self.tr.access_fault(Access::Write), va)),
        }
    }

    fn atomic_pa(&self, va: u64, mem: MemOp) -> Result<u64, MemFault> {
        if va & u64::from(mem.bytes() - 1) != 0 {
            return Err(self.fault(self.tr.misaligned(Access::Write), va));
        }
        let pa = self.data_pa(va, Access::Write)?;
        self.note_store(pa);
        Ok(pa)
    }
}

/// Where a data access lands.
enum Place {
    /// Host address of guest RAM or ROM.
    Host(usize),
    /// A physical address for the bus (MMIO or nothing).
    Phys(u64),
}

fn swap(v: u64, mem: MemOp) -> u64 {
    if mem.big_endian {
        v.swap_bytes() >> (64 - 8 * mem.bytes())
    } else {
        v
    }
}

impl GuestMem for HartMemory {
    fn load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        self.check_align(addr, mem, Access::Read)?;
        Ok(swap(self.load_raw(addr, mem.bytes() as u8)?, mem))
    }

    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        self.check_align(addr, mem, Access::Write)?;
        self.store_raw(addr, mem.bytes() as u8, swap(val, mem))
    }

    fn atomic_rmw(&self, addr: u64, mem: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        let pa = self.atomic_pa(addr, mem)?;
        self.bus
            .atomic_rmw(pa, mem.bytes() as u8, op, val)
            .ok_or_else(|| self.fault(self.tr.access_fault(Access::Write), addr))
    }

    fn atomic_cas(&self, addr: u64, mem: MemOp, expected: u64, new: u64) -> Result<u64, MemFault> {
        let pa = self.atomic_pa(addr, mem)?;
        self.bus
            .atomic_cas(pa, mem.bytes() as u8, expected, new)
            .ok_or_else(|| self.fault(self.tr.access_fault(Access::Write), addr))
    }
}

impl CodeFetch for HartMemory {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let pa = self.translate(pc, Access::Fetch).ok()?;
        match self.bus.target(pa, 2) {
            Target::Ram(_) => {
                self.mark_code(pa);
                self.bus.read(pa, 2).map(|v| v as u16)
            }
            Target::Rom(_) => self.bus.read(pa, 2).map(|v| v as u16),
            _ => None,
        }
    }
}

impl GuestMemory for HartMemory {
    fn direct(&self) -> Option<DirectMap> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Virtual = physical, everything allowed.
    #[derive(Debug)]
    struct Identity;

    impl Translate for Identity {
        fn translate(&self, va: u64, _: Access, _: &Bus) -> Result<u64, u32> {
            Ok(va)
        }
        fn access_fault(&self, _: Access) -> u32 {
            5
        }
        fn misaligned(&self, _: Access) -> u32 {
            4
        }
    }

    const RAM: u64 = 0x8000_0000;

    fn harts() -> (HartMemory, HartMemory) {
        let bus = Arc::new(Bus::new(RAM, 1 << 20).unwrap());
        let tr: Arc<dyn Translate> = Arc::new(Identity);
        (
            HartMemory::new(bus.clone(), tr.clone()),
            HartMemory::new(bus, tr),
        )
    }

    fn word() -> MemOp {
        MemOp::le(4, false)
    }

    #[test]
    fn a_store_to_code_another_hart_translated_reaches_that_harts_fence() {
        let (a, b) = harts();
        let code = RAM + 0x3000;
        // Hart a writes the page first: its inline TLB may now write it directly.
        a.store(code + 8, word(), 1).unwrap();
        // Hart b translates code from it, then hart a writes it again.
        assert_eq!(b.fetch_u16(code + 8), Some(1));
        assert!(b.take_written_code_pages().is_empty());
        a.store(code + 8, word(), 2).unwrap();
        assert!(b.take_code_written());
        assert_eq!(b.take_written_code_pages(), vec![code >> 12]);
        assert_eq!(a.take_written_code_pages(), vec![code >> 12]);
        // Once noted, the page is plain data again until someone translates it.
        a.store(code + 8, word(), 3).unwrap();
        assert!(b.take_written_code_pages().is_empty());
        assert_eq!(b.fetch_u16(code + 8), Some(3));
        b.store(code, word(), 4).unwrap();
        assert_eq!(a.take_written_code_pages(), vec![code >> 12]);
    }

    #[test]
    fn dma_over_translated_code_reaches_every_harts_fence() {
        let (a, b) = harts();
        let code = RAM + 0x5000;
        assert_eq!(a.fetch_u16(code), Some(0));
        let h = a.bus().ram_host(code - 8, 16).unwrap();
        // 16 bytes from the end of the page before: both pages, only one held code.
        note_dma_write(h, 16);
        assert_eq!(a.take_written_code_pages(), vec![code >> 12]);
        assert_eq!(b.take_written_code_pages(), vec![code >> 12]);
        // Memory that is no bus's RAM is ignored.
        let x = [0u8; 64];
        note_dma_write(x.as_ptr() as usize, x.len());
    }

    /// Identity translation whose loads say stores may follow unchanged (a dirty, writable
    /// page), counting the store translations.
    #[derive(Debug, Default)]
    struct Dirty {
        writes: std::sync::atomic::AtomicU32,
    }

    impl Translate for Dirty {
        fn translate(&self, va: u64, a: Access, _: &Bus) -> Result<u64, u32> {
            if a == Access::Write {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            Ok(va)
        }
        fn translate_read(&self, va: u64, bus: &Bus) -> Result<(u64, bool), u32> {
            self.translate(va, Access::Read, bus).map(|pa| (pa, true))
        }
        fn access_fault(&self, _: Access) -> u32 {
            5
        }
        fn misaligned(&self, _: Access) -> u32 {
            4
        }
    }

    #[test]
    fn a_load_from_a_dirty_page_fills_the_store_entry_unless_it_holds_code() {
        let bus = Arc::new(Bus::new(RAM, 1 << 20).unwrap());
        let tr = Arc::new(Dirty::default());
        let m = HartMemory::new(bus, tr.clone());
        let data = RAM + 0x2000;
        assert_eq!(m.load(data + 16, word()).unwrap(), 0);
        assert_eq!(m.entry(data).write.load(Ordering::Relaxed), data);
        m.store(data + 32, word(), 9).unwrap();
        assert_eq!(
            tr.writes.load(Ordering::Relaxed),
            0,
            "the store hit the entry"
        );
        assert_eq!(m.load(data + 32, word()).unwrap(), 9);
        // A page holding translated code: the load fills the load entry only, so a store
        // goes through the slow path and reaches the next fence.
        let code = RAM + 0x4000;
        assert_eq!(m.fetch_u16(code), Some(0));
        assert_eq!(m.load(code + 16, word()).unwrap(), 0);
        assert_eq!(m.entry(code).read.load(Ordering::Relaxed), code);
        assert_eq!(m.entry(code).write.load(Ordering::Relaxed), TLB_INVALID);
        m.store(code + 16, word(), 1).unwrap();
        assert_eq!(tr.writes.load(Ordering::Relaxed), 1);
        assert_eq!(m.take_written_code_pages(), vec![code >> 12]);
        // A translation without the claim (the default) fills no store entry.
        let (a, _) = harts();
        a.load(data, word()).unwrap();
        assert_eq!(a.entry(data).write.load(Ordering::Relaxed), TLB_INVALID);
    }

    #[test]
    fn stores_to_pages_without_code_note_nothing() {
        let (a, b) = harts();
        assert_eq!(b.fetch_u16(RAM), Some(0));
        a.store(RAM + 0x1000, word(), 7).unwrap();
        assert!(!b.take_code_written());
        assert!(b.take_written_code_pages().is_empty());
        assert_eq!(a.load(RAM + 0x1000, word()).unwrap(), 7);
    }
}
