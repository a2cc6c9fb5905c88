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
    /// The exception code for an access to nothing (or a store to ROM).
    fn access_fault(&self, access: Access) -> u32;
    /// The exception code for a misaligned access that must be aligned.
    fn misaligned(&self, access: Access) -> u32;
}

const PAGE_BITS: u32 = 12;
const PAGE: u64 = 1 << PAGE_BITS;
const FETCH_ENTRIES: usize = 64;
/// Inline TLB tables, one per translation mode the machine distinguishes.
pub const TLB_TABLES: usize = 4;

/// One fetch-TLB entry: virtual page number + 1 (0 = empty) and physical page base.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tag: u64,
    pa: u64,
}

type Table = [TlbEntry; TLB_ENTRIES];

/// One hart's memory (see the module doc).
#[derive(Debug)]
pub struct HartMemory {
    bus: Arc<Bus>,
    tr: Arc<dyn Translate>,
    fetch: Mutex<[Entry; FETCH_ENTRIES]>,
    tables: Box<[Table]>,
    cur: AtomicUsize,
    /// Per RAM page: non-zero while translated code may come from it (set when code is
    /// fetched; a store clears it and notes `code_written`).
    code: Box<[AtomicU8]>,
    /// A page holding translated code was written since [`HartMemory::take_code_written`].
    code_written: AtomicBool,
    /// Physical page numbers (`pa >> 12`) of the pages holding translated code that were
    /// written since [`HartMemory::take_written_code_pages`].
    written: Mutex<Vec<u64>>,
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
        let pages = (bus.ram_range().1 >> PAGE_BITS) as usize;
        HartMemory {
            code: (0..pages).map(|_| AtomicU8::new(0)).collect(),
            code_written: AtomicBool::new(false),
            written: Mutex::new(Vec::new()),
            bus,
            tr,
            fetch: Mutex::new([Entry::default(); FETCH_ENTRIES]),
            tables: (0..TLB_TABLES).map(|_| empty_table()).collect(),
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
        self.code_written.swap(false, Ordering::AcqRel)
    }

    /// The physical page numbers (`pa >> 12`) of the pages that held translated code and
    /// were written since the last call (which resets them, and
    /// [`HartMemory::take_code_written`]): what `fence.i` must invalidate, and no more.
    pub fn take_written_code_pages(&self) -> Vec<u64> {
        self.code_written.store(false, Ordering::Release);
        std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Forgets which pages hold translated code (every translation was dropped).
    pub fn forget_code(&self) {
        for c in self.code.iter() {
            c.store(0, Ordering::Relaxed);
        }
        self.written
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
        let Some(i) = self.code_index(pa) else { return };
        if self.code[i].swap(1, Ordering::AcqRel) == 0 {
            for t in self.tables.iter() {
                for e in t.iter() {
                    e.write.store(TLB_INVALID, Ordering::Relaxed);
                }
            }
        }
    }

    /// A store reaches physical `pa` through the slow path.
    fn note_store(&self, pa: u64) {
        if let Some(i) = self.code_index(pa)
            && self.code[i].swap(0, Ordering::AcqRel) != 0
        {
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pa >> PAGE_BITS);
            self.code_written.store(true, Ordering::Release);
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
        let pa = self
            .tr
            .translate(va, access, &self.bus)
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
                e.addend.store(add, Ordering::Relaxed);
                e.read.store(page, Ordering::Relaxed);
                let w = if access == Access::Write || keep_write {
                    page
                } else {
                    TLB_INVALID
                };
                e.write.store(w, Ordering::Relaxed);
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
