//! One hart's view of memory: guest virtual addresses translated by the architecture
//! ([`Translate`], the frontend's page-table walk glued in by the machine), cached in a small
//! per-hart software TLB, then dispatched on the [`Bus`]. This is the [`GuestMemory`] the exec
//! loop (interpreter and compiled code's out-of-line path) runs a hart's code against.

use super::bus::{Bus, Target};
use crate::{CodeFetch, DirectMap, GuestMem, GuestMemory, MemFault};
use std::sync::{Arc, Mutex};
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
const TLB_ENTRIES: usize = 256;

/// One software-TLB entry: virtual page number + 1 (0 = empty) and physical page base.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tag: u64,
    pa: u64,
}

#[derive(Debug)]
struct Tlb {
    e: [[Entry; TLB_ENTRIES]; 3],
}

/// One hart's memory (see the module doc).
#[derive(Debug)]
pub struct HartMemory {
    bus: Arc<Bus>,
    tr: Arc<dyn Translate>,
    tlb: Mutex<Box<Tlb>>,
}

impl HartMemory {
    /// A hart's view of `bus` through `tr`.
    pub fn new(bus: Arc<Bus>, tr: Arc<dyn Translate>) -> HartMemory {
        HartMemory {
            bus,
            tr,
            tlb: Mutex::new(Box::new(Tlb {
                e: [[Entry::default(); TLB_ENTRIES]; 3],
            })),
        }
    }

    /// The physical address space.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// Forgets every cached translation (mode, page-table base or page tables changed).
    pub fn flush_tlb(&self) {
        let mut t = self.tlb.lock().unwrap_or_else(|e| e.into_inner());
        for k in t.e.iter_mut() {
            k.fill(Entry::default());
        }
    }

    /// Translates `va` for `access`, through the TLB.
    pub fn translate(&self, va: u64, access: Access) -> Result<u64, u32> {
        let vpn = va >> PAGE_BITS;
        let idx = (vpn as usize) & (TLB_ENTRIES - 1);
        {
            let t = self.tlb.lock().unwrap_or_else(|e| e.into_inner());
            let e = t.e[access as usize][idx];
            if e.tag == vpn.wrapping_add(1) {
                return Ok(e.pa | (va & (PAGE - 1)));
            }
        }
        let pa = self.tr.translate(va, access, &self.bus)?;
        let mut t = self.tlb.lock().unwrap_or_else(|e| e.into_inner());
        t.e[access as usize][idx] = Entry {
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

    /// Translates a data access of `mem` at `va` that stays in one page.
    fn data_pa(&self, va: u64, access: Access) -> Result<u64, MemFault> {
        self.translate(va, access).map_err(|c| self.fault(c, va))
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
        let pa = self.data_pa(va, Access::Read)?;
        self.bus
            .read(pa, size)
            .ok_or_else(|| self.fault(self.tr.access_fault(Access::Read), va))
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
        let pa = self.data_pa(va, Access::Write)?;
        if self.bus.write(pa, size, val) {
            Ok(())
        } else {
            Err(self.fault(self.tr.access_fault(Access::Write), va))
        }
    }

    fn atomic_pa(&self, va: u64, mem: MemOp) -> Result<u64, MemFault> {
        if va & u64::from(mem.bytes() - 1) != 0 {
            return Err(self.fault(self.tr.misaligned(Access::Write), va));
        }
        self.data_pa(va, Access::Write)
    }
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
            Target::Ram(_) | Target::Rom(_) => self.bus.read(pa, 2).map(|v| v as u16),
            _ => None,
        }
    }
}

impl GuestMemory for HartMemory {
    fn direct(&self) -> Option<DirectMap> {
        None
    }
}
