//! Guest memory of an embedded engine: the user-mode address space (RAM the JIT reaches
//! inline) plus MMIO regions (callbacks) and host memory the caller owns, which only the
//! helpers reach (while any exists, loads and stores are compiled as helper calls).

use std::sync::{Arc, Mutex, RwLock};

use xlat_ir::interp::{GuestMem, MemFault};
use xlat_ir::{AtomicOp, CodeFetch, MemOp, Ty};
use xlat_softmmu::{AddressSpace, DirectMap, GuestMemory};

use super::Perm;
use super::hooks::{EXC_LOAD_FAULT, EXC_STORE_FAULT};

/// An MMIO read callback: `(offset in the region, size) -> value`.
pub type MmioRead = Box<dyn FnMut(u64, usize) -> u64 + Send>;
/// An MMIO write callback: `(offset in the region, size, value)`.
pub type MmioWrite = Box<dyn FnMut(u64, usize, u64) + Send>;

pub(crate) enum SpecialKind {
    Mmio {
        read: Option<Mutex<MmioRead>>,
        write: Option<Mutex<MmioWrite>>,
    },
    /// Host memory at this address: the caller's (`owned` none) or, for RAM mapped at or
    /// above 2^39, the engine's own.
    Host {
        ptr: usize,
        perms: Perm,
        owned: Option<Arc<Owned>>,
    },
}

/// Guest addresses from here on are not in the flat reservation: RAM mapped there is a host
/// region that only the memory helpers reach.
pub(crate) const HIGH: u64 = 1 << xlat_softmmu::user::GUEST_BITS;

/// Zeroed host memory the engine allocated for RAM at or above [`HIGH`]; unmapped when the
/// last region piece using it goes.
#[derive(Debug)]
pub(crate) struct Owned {
    ptr: usize,
    len: usize,
}

impl Owned {
    pub fn new(len: u64) -> Option<Arc<Owned>> {
        let len = usize::try_from(len).ok()?;
        // SAFETY: a fresh private anonymous mapping at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED).then(|| {
            Arc::new(Owned {
                ptr: p as usize,
                len,
            })
        })
    }

    pub fn ptr(&self) -> usize {
        self.ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: our own mapping; no region piece refers to it any more (this is the last
        // reference), and guest code reaches it only through those pieces.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

impl Special {
    /// The piece `[start, end)` of this region (a host region; inside it).
    pub fn piece(&self, start: u64, end: u64, perms: Option<Perm>) -> Option<Special> {
        match &self.kind {
            SpecialKind::Host {
                ptr,
                perms: p,
                owned,
            } => Some(Special {
                start,
                end,
                kind: SpecialKind::Host {
                    ptr: ptr + (start - self.start) as usize,
                    perms: perms.unwrap_or(*p),
                    owned: owned.clone(),
                },
            }),
            SpecialKind::Mmio { .. } => None,
        }
    }
}

pub(crate) struct Special {
    pub start: u64,
    pub end: u64,
    pub kind: SpecialKind,
}

impl std::fmt::Debug for Special {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.kind {
            SpecialKind::Mmio { .. } => "mmio",
            SpecialKind::Host { .. } => "host",
        };
        write!(f, "{k} {:#x}..{:#x}", self.start, self.end)
    }
}

/// The engine's guest memory.
#[derive(Debug)]
pub(crate) struct EmbedMem {
    pub space: Arc<AddressSpace>,
    pub special: RwLock<Vec<Arc<Special>>>,
}

impl EmbedMem {
    fn find(&self, addr: u64) -> Option<Arc<Special>> {
        let s = self.special.read().unwrap_or_else(|e| e.into_inner());
        if s.is_empty() {
            return None;
        }
        s.iter().find(|r| (r.start..r.end).contains(&addr)).cloned()
    }

    /// Whether `addr` is in an MMIO or host region.
    pub fn is_special(&self, addr: u64) -> bool {
        self.find(addr).is_some()
    }

    /// Whether `[start, end)` overlaps a special region.
    pub fn special_overlaps(&self, start: u64, end: u64) -> bool {
        let s = self.special.read().unwrap_or_else(|e| e.into_inner());
        s.iter().any(|r| r.start < end && start < r.end)
    }

    fn special_access(
        &self,
        r: &Special,
        addr: u64,
        mem: MemOp,
        store: Option<u64>,
    ) -> Result<u64, MemFault> {
        let off = addr - r.start;
        let size = mem.bytes() as usize;
        let fault = MemFault {
            code: if store.is_some() {
                EXC_STORE_FAULT
            } else {
                EXC_LOAD_FAULT
            },
            addr,
        };
        if addr + size as u64 > r.end {
            return Err(fault);
        }
        match &r.kind {
            SpecialKind::Mmio { read, write } => match store {
                None => match read {
                    Some(f) => Ok((f.lock().unwrap_or_else(|e| e.into_inner()))(off, size)),
                    None => Ok(0),
                },
                Some(v) => {
                    if let Some(f) = write {
                        (f.lock().unwrap_or_else(|e| e.into_inner()))(off, size, v);
                    }
                    Ok(0)
                }
            },
            SpecialKind::Host { ptr, perms, .. } => {
                let need = if store.is_some() {
                    Perm::WRITE
                } else {
                    Perm::READ
                };
                if !perms.contains(need) {
                    return Err(fault);
                }
                let p = (*ptr as u64 + off) as *mut u8;
                let mut b = [0u8; 8];
                match store {
                    None => {
                        // SAFETY: the caller of `mem_map_ptr` promised `ptr` stays valid for
                        // the region's length while it is mapped; `off + size` is inside it.
                        unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), size) };
                        Ok(u64::from_le_bytes(b))
                    }
                    Some(v) => {
                        b = v.to_le_bytes();
                        // SAFETY: as above.
                        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), p, size) };
                        Ok(0)
                    }
                }
            }
        }
    }

    /// Host bytes of a special region for `mem_read`/`mem_write` (host regions only).
    pub fn special_bytes(&self, addr: u64, len: usize) -> Option<Result<*mut u8, ()>> {
        let r = self.find(addr)?;
        match r.kind {
            SpecialKind::Host { ptr, .. } if addr + len as u64 <= r.end => {
                Some(Ok((ptr as u64 + (addr - r.start)) as *mut u8))
            }
            _ => Some(Err(())),
        }
    }
}

/// The fault of an access at or above [`HIGH`] that no region holds (the flat reservation
/// would reach its alias below 2^39).
fn high_fault(addr: u64, mem: MemOp, store: bool) -> Result<(), MemFault> {
    if addr.saturating_add(u64::from(mem.bytes())) > HIGH {
        return Err(MemFault {
            code: if store {
                EXC_STORE_FAULT
            } else {
                EXC_LOAD_FAULT
            },
            addr,
        });
    }
    Ok(())
}

impl EmbedMem {
    /// The special region holding `addr`, and whether an access of `size` bytes there spans
    /// two kinds of memory (a host or MMIO region and what lies next to it, or RAM below 2^39
    /// and what lies above). One look at the region list.
    fn locate(&self, addr: u64, size: u64) -> (Option<Arc<Special>>, bool) {
        let last = addr.saturating_add(size - 1);
        let s = self.special.read().unwrap_or_else(|e| e.into_inner());
        if s.is_empty() {
            return (None, addr < HIGH && last >= HIGH);
        }
        match s.iter().find(|r| (r.start..r.end).contains(&addr)) {
            Some(r) => (Some(r.clone()), last >= r.end),
            None => (
                None,
                (addr < HIGH && last >= HIGH) || s.iter().any(|r| (r.start..r.end).contains(&last)),
            ),
        }
    }

    /// A load that spans two kinds of memory ([`Self::locate`]): byte by byte (little-endian), faulting at `addr`.
    fn split_load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        let mut v = 0u64;
        for k in 0..u64::from(mem.bytes()) {
            let b = self
                .load(addr.wrapping_add(k), MemOp::le(1, false))
                .map_err(|f| MemFault { addr, ..f })?;
            v |= b << (8 * k);
        }
        Ok(if mem.big_endian {
            v.swap_bytes() >> (64 - mem.bytes() * 8)
        } else {
            v
        })
    }

    /// A store that spans two kinds of memory ([`Self::locate`]): every byte checked writable first, then byte by byte.
    fn split_store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        let n = u64::from(mem.bytes());
        let v = if mem.big_endian {
            val.swap_bytes() >> (64 - n * 8)
        } else {
            val
        };
        let fault = MemFault {
            code: EXC_STORE_FAULT,
            addr,
        };
        for k in 0..n {
            let a = addr.wrapping_add(k);
            let ok = match self.find(a) {
                Some(r) => match r.kind {
                    SpecialKind::Host { perms, .. } => perms.contains(Perm::WRITE),
                    SpecialKind::Mmio { .. } => true,
                },
                None => a < HIGH && self.space.vmas().covered(a, a + 1, Perm::WRITE.0),
            };
            if !ok {
                return Err(fault);
            }
        }
        for k in 0..n {
            self.store(addr.wrapping_add(k), MemOp::le(1, false), v >> (8 * k))
                .map_err(|_| fault)?;
        }
        Ok(())
    }
}

impl GuestMem for EmbedMem {
    fn load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        let (r, crosses) = self.locate(addr, u64::from(mem.bytes()));
        if crosses {
            return self.split_load(addr, mem);
        }
        if let Some(r) = r {
            let v = self.special_access(&r, addr, mem, None)?;
            return Ok(if mem.big_endian {
                v.swap_bytes() >> (64 - mem.bytes() * 8)
            } else {
                v
            });
        }
        high_fault(addr, mem, false)?;
        self.space.load(addr, mem)
    }
    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        let (r, crosses) = self.locate(addr, u64::from(mem.bytes()));
        if crosses {
            return self.split_store(addr, mem, val);
        }
        if let Some(r) = r {
            let bits = mem.bytes() * 8;
            let v = if mem.big_endian {
                val.swap_bytes() >> (64 - bits)
            } else {
                val
            };
            return self.special_access(&r, addr, mem, Some(v)).map(|_| ());
        }
        high_fault(addr, mem, true)?;
        self.space.store(addr, mem, val)
    }
    // Atomics on MMIO and host regions are a load then a store (MMIO: a read callback, then
    // a write callback when memory changes); the engine's thread is their only user.
    fn atomic_rmw(&self, addr: u64, mem: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        if self.find(addr).is_some() {
            let old = self.load(addr, mem)?;
            let ty = if mem.bytes() == 8 { Ty::I64 } else { Ty::I32 };
            self.store(addr, mem, xlat_ir::interp::atomic_apply(op, ty, old, val))?;
            return Ok(old);
        }
        high_fault(addr, mem, true)?;
        self.space.atomic_rmw(addr, mem, op, val)
    }
    fn atomic_cas(&self, addr: u64, mem: MemOp, expected: u64, new: u64) -> Result<u64, MemFault> {
        if self.find(addr).is_some() {
            let old = self.load(addr, mem)?;
            if old == expected {
                self.store(addr, mem, new)?;
            }
            return Ok(old);
        }
        high_fault(addr, mem, true)?;
        self.space.atomic_cas(addr, mem, expected, new)
    }
}

impl CodeFetch for EmbedMem {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        if let Some(r) = self.find(pc) {
            if let SpecialKind::Host { ptr, perms, .. } = r.kind
                && perms.contains(Perm::EXEC)
                && pc + 2 <= r.end
            {
                let p = (ptr as u64 + (pc - r.start)) as *const u16;
                // SAFETY: inside the caller's region (checked), valid while mapped.
                return Some(unsafe { p.read_unaligned() });
            }
            return None;
        }
        if pc.saturating_add(2) > HIGH {
            return None;
        }
        self.space.fetch_u16(pc)
    }
}

impl GuestMemory for EmbedMem {
    fn direct(&self) -> Option<DirectMap> {
        Some(self.space.direct_map())
    }
}
