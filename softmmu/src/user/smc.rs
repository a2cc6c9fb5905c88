//! Self-modifying code in user mode: noticing guest stores to code that was translated.
//!
//! x86 has no instruction that tells the emulator code changed (riscv's `fence.i` and
//! aarch64's `IC IVAU` do), so with [`AddressSpace::set_code_watch`] on, as QEMU's user mode
//! does:
//! - translating code from a page the guest may write write-protects that host page (code
//!   fetch, [`AddressSpace::watch_code`], before the bytes are read);
//! - a guest store to such a page faults on the host; the host fault handler calls
//!   [`AddressSpace::code_write_fault`], which gives the page back the guest's protection, drops
//!   the page's translations (the hook set with [`AddressSpace::set_code_write_hook`]) and lets
//!   the store run again. The page stays writable until code on it is translated again, so a
//!   loop storing data next to code that is not re-run faults once;
//! - a system call that hands a guest buffer to the kernel for writing (read(2)) would get
//!   EFAULT, not a fault: [`AddressSpace::host_ptr`] unprotects such pages first;
//! - mmap, munmap and mprotect over watched pages set the host protection from the guest's
//!   again and forget them (their translations are dropped by the caller).
//!
//! Lock order: the mapping table, then the watched pages, then (with neither held) the hook.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::{AddressSpace, PAGE_SIZE, PROT_WRITE, VmaMap, host_prot, page_down};

/// Drops the translations of guest code in `[start, start + len)`.
pub type CodeWriteHook = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The watched pages of an address space and what to do when one is written.
#[derive(Default)]
pub(super) struct CodeWatch {
    on: AtomicBool,
    /// Guest page address -> the guest's protection of the page (which has `PROT_WRITE`; the
    /// host page lacks it).
    pages: Mutex<HashMap<u64, u32>>,
    /// `pages.len()`, readable without the lock.
    count: AtomicUsize,
    hook: RwLock<Option<CodeWriteHook>>,
}

impl std::fmt::Debug for CodeWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeWatch")
            .field("on", &self.on.load(Ordering::Relaxed))
            .field("pages", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl CodeWatch {
    fn pages(&self) -> MutexGuard<'_, HashMap<u64, u32>> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hook(&self) -> Option<CodeWriteHook> {
        self.hook.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl AddressSpace {
    /// Turns detection of stores to translated code on or off (off: the guest must say when
    /// code changed, as riscv and aarch64 do). Turning it off unprotects every watched page.
    pub fn set_code_watch(&self, on: bool) {
        self.code.on.store(on, Ordering::Release);
        if !on {
            let _vmas = self.vmas();
            let mut pages = self.code.pages();
            for (&page, &prot) in pages.iter() {
                self.host_protect(page, prot);
            }
            pages.clear();
            self.code.count.store(0, Ordering::Release);
        }
    }

    /// Whether stores to translated code are detected.
    pub fn code_watch(&self) -> bool {
        self.code.on.load(Ordering::Acquire)
    }

    /// Sets what drops the translations of a range of guest code when the guest writes to a
    /// watched page (the engine's invalidation). Called from the host fault handler: it must
    /// not need a lock the faulting thread may hold while running guest code.
    pub fn set_code_write_hook(&self, hook: CodeWriteHook) {
        *self.code.hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// Whether guest code at `pc` may be changed by a plain guest store while translated
    /// (watching is on and its page is guest-writable): such code is translated one
    /// instruction per unit, so that a store never changes the rest of the unit it runs in.
    pub fn code_may_change(&self, pc: u64) -> bool {
        self.code_watch()
            && self
                .vmas()
                .find(pc)
                .is_some_and(|(_, v)| v.prot & PROT_WRITE != 0)
    }

    /// Code fetch: write-protects the guest-writable pages of `[start, end)` (all mapped in
    /// `vmas`, which the caller holds) before their bytes are read for a translation.
    pub(super) fn watch_code(&self, vmas: &VmaMap, start: u64, end: u64) {
        let mut page = page_down(start);
        while page < end {
            if let Some((_, v)) = vmas.find(page)
                && v.prot & PROT_WRITE != 0
            {
                self.watch_page(page, v.prot);
            }
            page += PAGE_SIZE;
        }
    }

    /// Write-protects the guest page `page`, which the guest maps with `prot` (including
    /// `PROT_WRITE`), unless it is watched already. The caller holds the mapping table.
    pub(super) fn watch_page(&self, page: u64, prot: u32) {
        let mut pages = self.code.pages();
        if let std::collections::hash_map::Entry::Vacant(e) = pages.entry(page) {
            self.host_protect(page, prot & !PROT_WRITE);
            e.insert(prot);
            self.code.count.store(pages.len(), Ordering::Release);
        }
    }

    /// The host fault handler's part: a host write fault (SEGV_ACCERR) at guest `addr`.
    /// If its page is watched, gives it back the guest's protection, drops its translations
    /// and returns true: the faulting store may run again. Also true when the guest may write
    /// the page and it is no longer watched (another thread unprotected it first). Else
    /// false: a guest fault. Called in a signal handler, on the faulting thread: takes only
    /// the watched-page lock (and the mapping table's on the rare second path), which no
    /// thread holds while it runs guest code.
    pub fn code_write_fault(&self, addr: u64) -> bool {
        if !self.code_watch() || addr >= self.size {
            return false;
        }
        let page = page_down(addr);
        let prot = {
            let mut pages = self.code.pages();
            let prot = pages.remove(&page);
            if let Some(prot) = prot {
                self.host_protect(page, prot);
                self.code.count.store(pages.len(), Ordering::Release);
            }
            prot
        };
        if prot.is_none() {
            return self
                .vmas()
                .find(addr)
                .is_some_and(|(_, v)| v.prot & PROT_WRITE != 0);
        }
        if let Some(hook) = self.code.hook() {
            hook(page, PAGE_SIZE);
        }
        true
    }

    /// A guest buffer `[addr, end)` about to be written by the host or the kernel: its watched
    /// pages get the guest's protection back and their translations are dropped.
    pub(super) fn unwatch_for_write(&self, addr: u64, end: u64) {
        if self.code.count.load(Ordering::Acquire) == 0 || end <= addr {
            return;
        }
        let (first, last) = (page_down(addr), page_down(end - 1));
        let hit: Vec<u64> = {
            let mut pages = self.code.pages();
            let hit: Vec<(u64, u32)> = pages
                .iter()
                .filter(|(p, _)| (first..=last).contains(*p))
                .map(|(&p, &prot)| (p, prot))
                .collect();
            for &(p, prot) in &hit {
                self.host_protect(p, prot);
                pages.remove(&p);
            }
            self.code.count.store(pages.len(), Ordering::Release);
            hit.into_iter().map(|(p, _)| p).collect()
        };
        if hit.is_empty() {
            return;
        }
        if let Some(hook) = self.code.hook() {
            for p in hit {
                hook(p, PAGE_SIZE);
            }
        }
    }

    /// mmap, munmap or mprotect over `[addr, end)` (mapping table held for writing) is about
    /// to set the host protection itself: the watched pages there get the guest's protection
    /// back (so that a failing host call leaves them consistent) and are forgotten. Done before
    /// the host call, so that a racing write fault either unprotects a page first or, finding
    /// it unwatched, waits for the mapping table and sees the new mapping.
    pub(super) fn forget_code(&self, addr: u64, end: u64) {
        if self.code.count.load(Ordering::Acquire) == 0 || end <= addr {
            return;
        }
        let mut pages = self.code.pages();
        pages.retain(|&p, &mut prot| {
            let keep = !(addr..end).contains(&p);
            if !keep {
                self.host_protect(p, prot);
            }
            keep
        });
        self.code.count.store(pages.len(), Ordering::Release);
    }

    /// Sets the host protection of the guest page at `page` for guest protection `prot`.
    fn host_protect(&self, page: u64, prot: u32) {
        // SAFETY: `page` is a mapped guest page inside the reservation (watched pages are
        // mapped: unmapping forgets them); changing its protection affects only guest memory.
        unsafe {
            libc::mprotect(
                self.g2h(page) as *mut libc::c_void,
                PAGE_SIZE as usize,
                host_prot(prot),
            );
        }
    }
}
