//! Guest memory of an embedded engine: the user-mode address space (RAM the JIT reaches
//! inline) plus MMIO regions (callbacks) and host memory the caller owns, which only the
//! helpers reach (while any exists, loads and stores are compiled as helper calls).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// region that the memory helpers reach, and compiled code too inside the [`Window`].
pub(crate) const HIGH: u64 = 1 << xlat_softmmu::user::GUEST_BITS;

/// Zeroed host memory the engine allocated for RAM at or above [`HIGH`]; unmapped when the
/// last region piece using it goes. It is a memory file mapped read-write here (where the
/// helpers reach it) and, inside the engine's [`Window`], mapped a second time with the
/// guest's permissions (where compiled code reaches it inline).
#[derive(Debug)]
pub(crate) struct Owned {
    ptr: usize,
    len: usize,
    fd: std::os::fd::OwnedFd,
}

impl Owned {
    pub fn new(len: u64) -> Option<Arc<Owned>> {
        use std::os::fd::FromRawFd;
        let len = usize::try_from(len).ok()?;
        // SAFETY: a constant NUL-terminated name; the new descriptor is ours alone.
        let fd = unsafe { libc::memfd_create(c"xlat-high-ram".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is a fresh descriptor no one else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        use std::os::fd::AsRawFd;
        // SAFETY: sizing our own memory file.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) } != 0 {
            return None;
        }
        // SAFETY: a fresh shared mapping of our memory file at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        (p != libc::MAP_FAILED).then(|| {
            Arc::new(Owned {
                ptr: p as usize,
                len,
                fd,
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

/// The high window: a second host reservation of 2^39 bytes (plus a guard) for the
/// engine-owned RAM whose guest address bits above 39 equal `tag` (placed where the first
/// mapping at or above [`HIGH`] lands). Its RAM is mapped there a second time with the
/// guest's permissions (the rest is `PROT_NONE`), so compiled code reaches it inline at
/// `address + delta` (`DirectMap::high_tag`) and a host fault there is the guest's fault.
#[derive(Debug)]
pub(crate) struct Window {
    /// Guest address bits above 39.
    pub tag: u64,
    /// Host address of the window's first byte.
    pub base: u64,
    /// The dirty-page record of the engine-owned RAM in the window (offsets from the
    /// window's first guest address), as [`super::dirty`] keeps it for RAM below 2^39: after a
    /// snapshot its guest-writable pages are write-protected in the window, and writes through
    /// the helpers' mapping are recorded by [`EmbedMem::high_written`].
    pub dirty: super::dirty::Tracker,
}

/// Guard bytes past the window's end, so an access straddling it faults.
const WINDOW_GUARD: u64 = 1 << 16;

impl Window {
    /// Guest range `[start, end)` of the window (`end` 0: the top of the address space).
    pub fn range(&self) -> (u64, u64) {
        let start = self.tag << xlat_softmmu::user::GUEST_BITS;
        (start, start.wrapping_add(HIGH))
    }

    /// Host range `(start, len)` of the reservation, guard included.
    pub fn host_range(&self) -> (u64, u64) {
        (self.base, HIGH + WINDOW_GUARD)
    }
}

/// The MMIO and host regions, as one list shared by the readers that cached it.
pub(crate) type Regions = Arc<Vec<Arc<Special>>>;

/// The engine's guest memory.
#[derive(Debug)]
pub(crate) struct EmbedMem {
    pub space: Arc<AddressSpace>,
    /// Change it only through [`EmbedMem::change_special`].
    pub special: RwLock<Regions>,
    /// Identifies this memory in the threads' region caches.
    id: u64,
    /// Bumped by every change of `special`.
    version: AtomicU64,
    /// Guest accesses to MMIO and host regions made through the memory helpers.
    pub helper_accesses: AtomicU64,
    /// The high windows, one per tag of RAM mapped at or above [`HIGH`], as many as compiled
    /// code reaches inline ([`xlat_softmmu::HIGH_WINDOWS`]); RAM of further tags stays with
    /// the helpers. Set once each, never moved (the fault handler holds their records).
    pub windows: [std::sync::OnceLock<Window>; xlat_softmmu::HIGH_WINDOWS],
}

static NEXT_MEM_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The region list a guest access on this thread last used: `(memory id, generation,
    /// list)`, so the memory helpers look it up without taking the lock (two locked host
    /// instructions per access otherwise).
    static REGIONS: RefCell<Option<(u64, u64, Regions)>> = const { RefCell::new(None) };
}

impl Drop for EmbedMem {
    fn drop(&mut self) {
        for w in self.windows() {
            let (start, len) = w.host_range();
            super::sig::unregister(start);
            // SAFETY: our own reservation; no code runs in this engine any more (its memory
            // is being dropped) and no Rust object lives in it.
            unsafe { libc::munmap(start as *mut libc::c_void, len as usize) };
        }
        // The regions' host memory goes with the list: not kept by this thread's cache.
        let _ = REGIONS.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut()
                && c.as_ref().is_some_and(|x| x.0 == self.id)
            {
                *c = None;
            }
        });
    }
}

impl EmbedMem {
    pub fn new(space: Arc<AddressSpace>) -> EmbedMem {
        EmbedMem {
            space,
            special: RwLock::default(),
            id: NEXT_MEM_ID.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(0),
            helper_accesses: AtomicU64::new(0),
            windows: Default::default(),
        }
    }

    /// The high windows made so far.
    pub fn windows(&self) -> impl Iterator<Item = &Window> {
        self.windows.iter().filter_map(|w| w.get())
    }

    /// The high window holding guest `addr`, if any.
    pub fn window_of(&self, addr: u64) -> Option<&Window> {
        self.windows()
            .find(|w| addr >> xlat_softmmu::user::GUEST_BITS == w.tag)
    }

    /// Makes the high window for the tag of `addr` (at or above [`HIGH`]) unless there is
    /// one, or no room for another; whether it was made now.
    pub fn make_window(&self, addr: u64) -> bool {
        if self.window_of(addr).is_some() {
            return false;
        }
        let Some(slot) = self.windows.iter().find(|w| w.get().is_none()) else {
            return false; // RAM of this tag stays with the helpers
        };
        // SAFETY: a fresh anonymous PROT_NONE reservation at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                (HIGH + WINDOW_GUARD) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return false; // no window: high RAM stays with the helpers
        }
        let len = HIGH + WINDOW_GUARD;
        let Some(dirty) = super::dirty::Tracker::new(p as u64, HIGH) else {
            // SAFETY: the reservation just made, which nothing uses.
            unsafe { libc::munmap(p, len as usize) };
            return false;
        };
        let w = Window {
            tag: addr >> xlat_softmmu::user::GUEST_BITS,
            base: p as u64,
            dirty,
        };
        if let Err(w) = slot.set(w) {
            // SAFETY: the reservation just made, which nothing uses.
            unsafe { libc::munmap(w.base as *mut libc::c_void, len as usize) };
            return false;
        }
        if let Some(w) = slot.get() {
            // Registered where it stays (in `self.windows`) for the fault handler to reach.
            super::sig::register(w.base, len, &w.dirty, w.range().0);
        }
        true
    }

    /// Records guest `[addr, addr + len)` as written through the helpers' mapping of
    /// engine-owned RAM (which never faults): its pages in the window are listed in the
    /// window's dirty-page record, and those that were write-protected for it are opened.
    pub fn high_written(&self, addr: u64, len: u64) {
        let Some(w) = self.window_of(addr) else {
            return;
        };
        let (ws, we) = w.range();
        let end = addr.saturating_add(len);
        let (a, b) = (addr.max(ws), if we == 0 { end } else { end.min(we) });
        if a >= b {
            return;
        }
        for off in w.dirty.mark_written(a - ws, b - ws) {
            // SAFETY: a page of the window the record had write-protected (engine-owned,
            // guest-writable RAM): back to read-write, as a guest write would have made it.
            unsafe {
                libc::mprotect(
                    (w.base + off) as *mut libc::c_void,
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
        }
    }

    /// Makes the window's view of guest `[start, end)` match the regions: engine-owned RAM
    /// mapped with its permissions, the rest `PROT_NONE` (call after every change of them).
    pub fn sync_window(&self, start: u64, end: u64) {
        for w in self.windows() {
            self.sync_one(w, start, end);
        }
    }

    fn sync_one(&self, w: &Window, start: u64, end: u64) {
        let (ws, we) = w.range();
        let we = if we == 0 { u64::MAX } else { we };
        let (a, b) = (start.max(ws), end.min(we));
        if a >= b {
            return;
        }
        let host = |g: u64| (w.base + (g - ws)) as *mut libc::c_void;
        // SAFETY: [a, b) is inside the window's reservation, where no Rust object lives;
        // replacing it only changes what guest code reaches there.
        unsafe {
            libc::mmap(
                host(a),
                (b - a) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        let s = self.special.read().unwrap_or_else(|e| e.into_inner());
        for r in s.iter() {
            let SpecialKind::Host {
                ptr,
                perms,
                owned: Some(o),
            } = &r.kind
            else {
                continue;
            };
            let (rs, re) = (r.start.max(a), r.end.min(b));
            if rs >= re {
                continue;
            }
            let off = ptr + (rs - r.start) as usize - o.ptr;
            let mut prot = 0;
            if perms.0 & (Perm::READ.0 | Perm::EXEC.0) != 0 {
                prot |= libc::PROT_READ;
            }
            if perms.contains(Perm::WRITE) {
                prot |= libc::PROT_READ | libc::PROT_WRITE;
            }
            use std::os::fd::AsRawFd;
            // SAFETY: as above; a shared view of the region's own memory file, inside it.
            unsafe {
                libc::mmap(
                    host(rs),
                    (re - rs) as usize,
                    prot,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    o.fd.as_raw_fd(),
                    off as libc::off_t,
                )
            };
        }
    }

    /// Changes the region list with `f` (under its lock); the threads' cached lists become
    /// stale (this thread's is dropped at once, so unmapped host memory goes).
    pub fn change_special<R>(&self, f: impl FnOnce(&mut Vec<Arc<Special>>) -> R) -> R {
        let r = {
            let mut s = self.special.write().unwrap_or_else(|e| e.into_inner());
            f(Arc::make_mut(&mut s))
        };
        self.version.fetch_add(1, Ordering::Release);
        let _ = REGIONS.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                *c = None;
            }
        });
        r
    }

    /// `f` of the region list: this thread's cached copy while it is current, else the list
    /// (under its lock, cached for next time).
    fn with_special<R>(&self, f: impl FnOnce(&[Arc<Special>]) -> R) -> R {
        let version = self.version.load(Ordering::Acquire);
        let locked = |f: &mut dyn FnMut(&[Arc<Special>])| {
            let s = self.special.read().unwrap_or_else(|e| e.into_inner());
            f(&s);
        };
        let mut f = Some(f);
        let mut out = None;
        let cached = REGIONS.try_with(|c| {
            let Ok(mut c) = c.try_borrow_mut() else {
                return false; // re-entered (an MMIO callback reaching memory)
            };
            if !c.as_ref().is_some_and(|x| x.0 == self.id && x.1 == version) {
                let list = self
                    .special
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                *c = Some((self.id, version, list));
            }
            if let (Some((_, _, list)), Some(f)) = (c.as_ref(), f.take()) {
                out = Some(f(list));
            }
            true
        });
        if cached != Ok(true) || out.is_none() {
            let mut f = f.take();
            locked(&mut |s| {
                if let Some(f) = f.take() {
                    out = Some(f(s));
                }
            });
        }
        match out {
            Some(r) => r,
            None => unreachable!("the region callback runs once"),
        }
    }

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
        self.helper_accesses.fetch_add(1, Ordering::Relaxed);
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
            SpecialKind::Host { ptr, perms, owned } => {
                if store.is_some() && owned.is_some() {
                    self.high_written(addr, size as u64);
                }
                let need = if store.is_some() {
                    Perm::WRITE
                } else {
                    Perm::READ
                };
                if !perms.contains(need) {
                    return Err(fault);
                }
                let p = (*ptr as u64 + off) as *mut u8;
                match store {
                    // SAFETY: the caller of `mem_map_ptr` (or the engine, for its own memory)
                    // keeps `ptr` valid for the region's length while it is mapped, and
                    // `off + size` is inside it; unaligned accesses of the access's own size.
                    None => Ok(unsafe {
                        match size {
                            1 => u64::from(p.read()),
                            2 => u64::from(p.cast::<u16>().read_unaligned()),
                            4 => u64::from(p.cast::<u32>().read_unaligned()),
                            _ => p.cast::<u64>().read_unaligned(),
                        }
                    }),
                    Some(v) => {
                        // SAFETY: as above.
                        unsafe {
                            match size {
                                1 => p.write(v as u8),
                                2 => p.cast::<u16>().write_unaligned(v as u16),
                                4 => p.cast::<u32>().write_unaligned(v as u32),
                                _ => p.cast::<u64>().write_unaligned(v),
                            }
                        }
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
    /// `f` of the special region holding `addr` and whether an access of `size` bytes there
    /// spans two kinds of memory (a host or MMIO region and what lies next to it, or RAM below
    /// 2^39 and what lies above). One look at the region list, `f` called under its read lock
    /// (an MMIO callback cannot change the list).
    fn locate<R>(&self, addr: u64, size: u64, f: impl FnOnce(Option<&Special>, bool) -> R) -> R {
        let last = addr.saturating_add(size - 1);
        self.with_special(|s| {
            if s.is_empty() {
                return f(None, addr < HIGH && last >= HIGH);
            }
            match s.iter().find(|r| (r.start..r.end).contains(&addr)) {
                Some(r) => f(Some(r), last >= r.end),
                None => f(
                    None,
                    (addr < HIGH && last >= HIGH)
                        || s.iter().any(|r| (r.start..r.end).contains(&last)),
                ),
            }
        })
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
        let special = self.locate(addr, u64::from(mem.bytes()), |r, crosses| {
            if crosses {
                return Some(Err(()));
            }
            let r = r?;
            Some(Ok(self.special_access(r, addr, mem, None).map(|v| {
                if mem.big_endian {
                    v.swap_bytes() >> (64 - mem.bytes() * 8)
                } else {
                    v
                }
            })))
        });
        match special {
            Some(Ok(r)) => r,
            Some(Err(())) => self.split_load(addr, mem),
            None => {
                high_fault(addr, mem, false)?;
                self.space.load(addr, mem)
            }
        }
    }
    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        let special = self.locate(addr, u64::from(mem.bytes()), |r, crosses| {
            if crosses {
                return Some(Err(()));
            }
            let r = r?;
            let bits = mem.bytes() * 8;
            let v = if mem.big_endian {
                val.swap_bytes() >> (64 - bits)
            } else {
                val
            };
            Some(Ok(self.special_access(r, addr, mem, Some(v)).map(|_| ())))
        });
        match special {
            Some(Ok(r)) => r,
            Some(Err(())) => self.split_store(addr, mem, val),
            None => {
                high_fault(addr, mem, true)?;
                self.space.store(addr, mem, val)
            }
        }
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
        let mut d = self.space.direct_map();
        d.exact = true;
        for (h, w) in d.high.iter_mut().zip(self.windows()) {
            h.tag = w.tag;
            h.delta = w.base.wrapping_sub(w.range().0);
        }
        Some(d)
    }
}
