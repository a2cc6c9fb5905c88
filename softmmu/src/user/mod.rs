//! The user-mode guest address space: one PROT_NONE host reservation that guest mmap, munmap,
//! mprotect and brk carve real host mappings into, plus the bookkeeping ([`VmaMap`]) behind
//! /proc/self/maps, permission checks and code fetch.

mod access;
mod smc;
pub mod vma;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use access::{probe, set_access_fault_codes};
pub use smc::CodeWriteHook;
pub use vma::{PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, Vma, VmaMap, page_down, page_up};

use crate::DirectMap;

/// log2 of the guest address space size: guest addresses are `[0, 2^39)`.
pub const GUEST_BITS: u32 = 39;
/// Unhinted mmaps are placed top-down below this address (like a 39-bit kernel's mmap_base).
pub const MMAP_TOP: u64 = 1 << 38;
/// Lowest address mmap hands out without MAP_FIXED (like vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x10000;
/// Anonymous guest mappings at least this long get transparent huge pages (2 MiB on x86-64).
const HUGE_PAGE: u64 = 2 << 20;

/// Guard bytes reserved past the end, so an access straddling the top still faults (and
/// compiled code faults there for an address beyond the end: `DirectMap::window_bits`).
pub const GUARD: u64 = 1 << 16;

/// Guest `MAP_SHARED`.
pub const MAP_SHARED: u32 = 0x01;
/// Guest `MAP_PRIVATE`.
pub const MAP_PRIVATE: u32 = 0x02;
/// Guest `MAP_FIXED`.
pub const MAP_FIXED: u32 = 0x10;
/// Guest `MAP_ANONYMOUS`.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// Guest `MAP_FIXED_NOREPLACE`.
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;

/// Why an address-space operation failed; each maps to one errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Bad arguments (EINVAL).
    #[error("invalid argument")]
    Invalid,
    /// No room, or a host mapping failed for lack of memory (ENOMEM).
    #[error("out of memory")]
    NoMemory,
    /// MAP_FIXED_NOREPLACE over an existing mapping (EEXIST).
    #[error("mapping exists")]
    Exists,
    /// A guest pointer that is not mapped with the needed access (EFAULT).
    #[error("bad address")]
    Fault,
    /// A host call failed with this errno.
    #[error("host errno {0}")]
    Host(i32),
}

impl MapError {
    /// The (positive) Linux errno.
    pub fn errno(self) -> i32 {
        match self {
            MapError::Invalid => libc::EINVAL,
            MapError::NoMemory => libc::ENOMEM,
            MapError::Exists => libc::EEXIST,
            MapError::Fault => libc::EFAULT,
            MapError::Host(e) => e,
        }
    }
}

/// What to map: anonymous zero pages or a host file.
#[derive(Debug, Clone, Copy)]
pub enum Backing<'a> {
    /// Zero-filled memory.
    Anon,
    /// `fd` at `offset`; `name` shows in /proc/self/maps.
    File {
        /// Host file descriptor.
        fd: i32,
        /// Page-aligned file offset.
        offset: u64,
        /// Path for /proc/self/maps.
        name: &'a str,
    },
}

/// The guest's user-mode address space.
#[derive(Debug)]
pub struct AddressSpace {
    base: u64,
    size: u64,
    vmas: RwLock<VmaMap>,
    brk: RwLock<(u64, u64)>,
    misaligned_code: u32,
    /// Guest-writable pages holding translated code, write-protected on the host (`smc`).
    code: smc::CodeWatch,
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn host_prot(prot: u32) -> i32 {
    let mut p = 0;
    if prot & (PROT_READ | PROT_EXEC) != 0 {
        p |= libc::PROT_READ;
    }
    if prot & PROT_WRITE != 0 {
        p |= libc::PROT_WRITE;
    }
    p
}

impl AddressSpace {
    /// Reserves the host region. `misaligned_code` is the guest exception raised for a
    /// misaligned atomic in the interpreter path.
    pub fn new(misaligned_code: u32) -> Result<AddressSpace, MapError> {
        let size = 1u64 << GUEST_BITS;
        // SAFETY: a fresh anonymous PROT_NONE mapping at a kernel-chosen address touches no
        // existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                (size + GUARD) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(MapError::Host(last_errno()));
        }
        Ok(AddressSpace {
            base: p as u64,
            size,
            vmas: RwLock::new(VmaMap::default()),
            brk: RwLock::new((0, 0)),
            misaligned_code,
            code: smc::CodeWatch::default(),
        })
    }

    /// The inline direct map: host = base + (guest & mask).
    pub fn direct_map(&self) -> DirectMap {
        DirectMap {
            base: self.base,
            mask: self.size - 1,
            high: crate::NO_HIGH,
            exact: false,
        }
    }

    /// Host range of the whole reservation including the guard: `(start, len)`.
    pub fn host_range(&self) -> (u64, u64) {
        (self.base, self.size + GUARD)
    }

    /// Host address of guest `addr` (no checks). An address beyond the reservation gives the
    /// start of the guard after it (where every access faults), never another guest address
    /// (as masking it would: an access 2^39 past a variable would reach the variable).
    pub fn g2h(&self, addr: u64) -> u64 {
        self.base + addr.min(self.size)
    }

    /// Read access to the mapping table.
    pub fn vmas(&self) -> RwLockReadGuard<'_, VmaMap> {
        self.vmas.read().unwrap_or_else(|e| e.into_inner())
    }

    fn vmas_mut(&self) -> RwLockWriteGuard<'_, VmaMap> {
        self.vmas.write().unwrap_or_else(|e| e.into_inner())
    }

    fn check_range(&self, addr: u64, len: u64) -> Result<u64, MapError> {
        let end = addr.checked_add(len).ok_or(MapError::Invalid)?;
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || end > self.size {
            return Err(MapError::Invalid);
        }
        Ok(end)
    }

    /// Puts the reservation back (PROT_NONE, no memory) over `[addr, end)`.
    fn host_unmap(&self, addr: u64, end: u64) -> Result<(), MapError> {
        // SAFETY: [addr, end) is inside our reservation (checked by callers), which no Rust
        // object lives in; replacing it with PROT_NONE pages only affects guest memory.
        let p = unsafe {
            libc::mmap(
                self.g2h(addr) as *mut libc::c_void,
                (end - addr) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            Err(MapError::Host(last_errno()))
        } else {
            Ok(())
        }
    }

    /// Guest mmap. `addr` is a hint unless `flags` has MAP_FIXED / MAP_FIXED_NOREPLACE.
    /// Returns the guest address mapped.
    pub fn mmap(
        &self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing<'_>,
    ) -> Result<u64, MapError> {
        if len == 0 {
            return Err(MapError::Invalid);
        }
        let len = page_up(len);
        let shared = flags & 3 == MAP_SHARED;
        let mut vmas = self.vmas_mut();
        let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
            let end = self.check_range(addr, len)?;
            if flags & MAP_FIXED == 0 && vmas.any_mapped(addr, end) {
                return Err(MapError::Exists);
            }
            addr
        } else {
            let hinted = page_down(addr);
            match hinted.checked_add(len) {
                Some(end)
                    if hinted >= MMAP_MIN && end <= MMAP_TOP && !vmas.any_mapped(hinted, end) =>
                {
                    hinted
                }
                _ => vmas
                    .find_free_top_down(len, MMAP_MIN, MMAP_TOP)
                    .ok_or(MapError::NoMemory)?,
            }
        };
        let (hflags, fd, off, name, file) = match backing {
            Backing::Anon => (libc::MAP_ANONYMOUS, -1, 0, String::new(), false),
            Backing::File { fd, offset, name } => (0, fd, offset, name.to_string(), true),
        };
        let share = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        self.forget_code(start, start + len);
        // SAFETY: [start, start+len) lies inside the reservation (check_range or the free-range
        // search below MMAP_TOP); MAP_FIXED there replaces only guest pages.
        let p = unsafe {
            libc::mmap(
                self.g2h(start) as *mut libc::c_void,
                len as usize,
                host_prot(prot),
                hflags | share | libc::MAP_FIXED,
                fd,
                off as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(MapError::Host(last_errno()));
        }
        if !file && !shared && len >= HUGE_PAGE {
            // Large anonymous guest memory (malloc'd arrays, heaps): transparent huge pages
            // where the host allows them (`madvise` mode), as a kernel gives a native process
            // under `always`; fewer TLB misses on random access (the memory bench's pointer
            // chase). Advice only: failure changes nothing.
            // SAFETY: `p` is the mapping just created, `len` bytes long.
            unsafe { libc::madvise(p, len as usize, libc::MADV_HUGEPAGE) };
        }
        vmas.insert(
            start,
            Vma {
                end: start + len,
                prot,
                shared,
                name,
                offset: off,
                file,
            },
        );
        Ok(start)
    }

    /// Guest munmap. Returns whether executable pages were unmapped (translations to flush).
    pub fn munmap(&self, addr: u64, len: u64) -> Result<bool, MapError> {
        let end = self.check_range(addr, page_up(len))?;
        let mut vmas = self.vmas_mut();
        let exec = vmas.any_exec(addr, end);
        self.forget_code(addr, end);
        self.host_unmap(addr, end)?;
        vmas.remove(addr, end);
        Ok(exec)
    }

    /// Guest mprotect. Returns whether executable pages were involved (before or after).
    pub fn mprotect(&self, addr: u64, len: u64, prot: u32) -> Result<bool, MapError> {
        if len == 0 && addr.is_multiple_of(PAGE_SIZE) {
            return Ok(false);
        }
        let end = self.check_range(addr, page_up(len))?;
        let mut vmas = self.vmas_mut();
        if !vmas.covered(addr, end, 0) {
            return Err(MapError::NoMemory);
        }
        let exec = vmas.any_exec(addr, end) || prot & PROT_EXEC != 0;
        self.forget_code(addr, end);
        // SAFETY: the range is inside the reservation and mapped; only guest pages change.
        let r = unsafe {
            libc::mprotect(
                self.g2h(addr) as *mut libc::c_void,
                (end - addr) as usize,
                host_prot(prot),
            )
        };
        if r != 0 {
            return Err(MapError::Host(last_errno()));
        }
        vmas.protect(addr, end, prot);
        Ok(exec)
    }

    /// Guest mremap (private anonymous semantics for moves: the bytes are copied).
    /// `may_move` is MREMAP_MAYMOVE. Returns the new address and whether exec pages moved.
    pub fn mremap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
    ) -> Result<(u64, bool), MapError> {
        let old_len = page_up(old_len);
        let new_len = page_up(new_len);
        let old_end = self.check_range(old, old_len)?;
        if new_len == 0 {
            return Err(MapError::Invalid);
        }
        let (prot, exec) = {
            let vmas = self.vmas();
            if !vmas.covered(old, old_end, 0) {
                return Err(MapError::Fault);
            }
            let prot = vmas.find(old).map(|(_, v)| v.prot).unwrap_or(0);
            (prot, vmas.any_exec(old, old_end))
        };
        if new_len <= old_len {
            if new_len < old_len {
                self.munmap(old + new_len, old_len - new_len)?;
            }
            return Ok((old, exec));
        }
        let grow_end = old
            .checked_add(new_len)
            .filter(|e| *e <= MMAP_TOP.max(old_end));
        if let Some(e) = grow_end
            && !self.vmas().any_mapped(old_end, e)
        {
            self.mmap(
                old_end,
                e - old_end,
                prot,
                MAP_PRIVATE | MAP_FIXED,
                Backing::Anon,
            )?;
            return Ok((old, exec));
        }
        if !may_move {
            return Err(MapError::NoMemory);
        }
        let new = self.mmap(
            0,
            new_len,
            prot | PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            Backing::Anon,
        )?;
        self.copy_within(old, new, old_len)?;
        if prot & PROT_WRITE == 0 {
            self.mprotect(new, new_len, prot)?;
        }
        self.munmap(old, old_len)?;
        Ok((new, exec))
    }

    /// Sets up the program break at `start` (page-aligned up), after the loaded image.
    pub fn init_brk(&self, start: u64) {
        let s = page_up(start);
        *self.brk.write().unwrap_or_else(|e| e.into_inner()) = (s, s);
    }

    /// Guest brk: moves the break if possible; always returns the current break.
    pub fn brk(&self, new: u64) -> u64 {
        let mut b = self.brk.write().unwrap_or_else(|e| e.into_inner());
        let (start, cur) = *b;
        if new < start || new >= MMAP_TOP {
            return cur;
        }
        let (old_top, new_top) = (page_up(cur), page_up(new));
        if new_top > old_top {
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
            if self
                .mmap(
                    old_top,
                    new_top - old_top,
                    PROT_READ | PROT_WRITE,
                    flags,
                    Backing::Anon,
                )
                .is_err()
            {
                return cur;
            }
            self.name_range(start, new_top, "[heap]");
        } else if new_top < old_top && self.munmap(new_top, old_top - new_top).is_err() {
            return cur;
        }
        b.1 = new;
        new
    }

    /// Names the mappings in `[start, end)` for /proc/self/maps.
    pub fn name_range(&self, start: u64, end: u64, name: &str) {
        let mut vmas = self.vmas_mut();
        let keys: Vec<u64> = vmas
            .iter()
            .filter(|(s, v)| *s < end && v.end > start)
            .map(|(s, _)| s)
            .collect();
        for k in keys {
            if let Some((_, v)) = vmas.find(k) {
                let mut v = v.clone();
                v.name = name.to_string();
                vmas.insert(k, v);
            }
        }
    }

    /// The text of /proc/self/maps for the guest.
    pub fn proc_maps(&self) -> String {
        let mut s = String::new();
        for (start, v) in self.vmas().iter() {
            let r = if v.prot & PROT_READ != 0 { 'r' } else { '-' };
            let w = if v.prot & PROT_WRITE != 0 { 'w' } else { '-' };
            let x = if v.prot & PROT_EXEC != 0 { 'x' } else { '-' };
            let p = if v.shared { 's' } else { 'p' };
            let line = format!(
                "{start:08x}-{:08x} {r}{w}{x}{p} {:08x} 00:00 0",
                v.end, v.offset
            );
            if v.name.is_empty() {
                s += &format!("{line}\n");
            } else {
                s += &format!("{line:<72} {}\n", v.name);
            }
        }
        s
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // SAFETY: the reservation is ours and nothing refers to it once we are dropped.
        unsafe { libc::munmap(self.base as *mut libc::c_void, (self.size + GUARD) as usize) };
    }
}

#[cfg(test)]
mod tests;
