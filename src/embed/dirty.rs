//! The dirty-page record behind cheap snapshot restores.
//!
//! After a snapshot is taken or restored, the guest-writable RAM pages are write-protected on
//! the host (the guest's own permissions are unchanged). The first write to such a page, from
//! compiled code, a helper or the API, faults; the engine's SIGSEGV handler
//! ([`super::sig`]) makes the page writable again and records it here. A restore then handles
//! exactly the recorded pages (drops their private copies, protects them again) instead of the
//! whole RAM. The record lives in `mmap`ed memory the signal handler reaches with atomics only;
//! past [`CAP`] pages it overflows (the restore then remaps everything) and the handler
//! unprotects whole 2 MiB chunks, so the host's mapping count stays bounded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const PAGE: u64 = 4096;
/// Dirty pages recorded before the record overflows.
const CAP: usize = 16384;
/// Pages per chunk unprotected at once after an overflow.
const CHUNK_PAGES: u64 = 512;

/// One engine's record.
#[derive(Debug)]
pub(crate) struct Tracker {
    /// Host address of guest address 0.
    base: u64,
    /// Guest pages covered.
    pages: u64,
    /// One bit per guest page: write-protected for tracking (guest-writable, not yet written).
    bits: *const AtomicU64,
    /// One bit per guest page: in `list` since the last reset or take (so a page written
    /// through the API many times, or first by the API and then by the guest, is listed once).
    written: *const AtomicU64,
    /// Guest page numbers written since the last reset, `len` of them.
    list: *const AtomicU64,
    len: AtomicUsize,
    overflow: AtomicBool,
    /// Guest ranges currently tracked (`(start, len)`), to reset.
    ranges: Mutex<Vec<(u64, u64)>>,
}

// SAFETY: the raw pointers are to this tracker's own mappings, only reached through atomics.
unsafe impl Send for Tracker {}
// SAFETY: as above.
unsafe impl Sync for Tracker {}

fn map_anon(bytes: u64) -> Option<*mut u8> {
    // SAFETY: a fresh private anonymous mapping; zero pages until touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast())
}

fn protect(host: u64, len: u64, prot: i32) -> bool {
    // SAFETY: guest pages of the reservation (callers pass tracked guest ranges); only their
    // host protection changes, between read-only and read-write.
    unsafe { libc::mprotect(host as *mut libc::c_void, len as usize, prot) == 0 }
}

impl Tracker {
    /// A record for the reservation at host `base` covering `guest_size` bytes.
    pub fn new(base: u64, guest_size: u64) -> Option<Tracker> {
        let pages = guest_size / PAGE;
        let bits = map_anon(pages.div_ceil(64) * 8)?;
        let written = map_anon(pages.div_ceil(64) * 8)?;
        let list = map_anon(CAP as u64 * 8)?;
        Some(Tracker {
            base,
            pages,
            bits: bits.cast_const().cast(),
            written: written.cast_const().cast(),
            list: list.cast_const().cast(),
            len: AtomicUsize::new(0),
            overflow: AtomicBool::new(false),
            ranges: Mutex::new(Vec::new()),
        })
    }

    fn word(&self, page: u64) -> &AtomicU64 {
        // SAFETY: `page < self.pages` (callers check), so the word is inside the bitmap.
        unsafe { &*self.bits.add((page / 64) as usize) }
    }

    fn written_word(&self, page: u64) -> &AtomicU64 {
        // SAFETY: `page < self.pages` (callers check), so the word is inside the bitmap.
        unsafe { &*self.written.add((page / 64) as usize) }
    }

    /// Clears `page`'s bit; whether it was set.
    fn take_bit(&self, page: u64) -> bool {
        let m = 1 << (page % 64);
        self.word(page).fetch_and(!m, Ordering::AcqRel) & m != 0
    }

    /// Lists `page` as written unless it is already; false when the list overflowed.
    fn record(&self, page: u64) -> bool {
        let m = 1 << (page % 64);
        if self.written_word(page).fetch_or(m, Ordering::AcqRel) & m != 0 {
            return !self.overflow.load(Ordering::Acquire);
        }
        self.push(page)
    }

    fn push(&self, page: u64) -> bool {
        let n = self.len.fetch_add(1, Ordering::AcqRel);
        if n >= CAP {
            self.overflow.store(true, Ordering::Release);
            return false;
        }
        // SAFETY: `n < CAP`, inside the list.
        unsafe { &*self.list.add(n) }.store(page, Ordering::Release);
        true
    }

    /// From the SIGSEGV handler: a write fault at host address `addr`. When it hit a tracked
    /// page, makes the page writable, records it, and returns true (the write is retried).
    /// Async-signal-safe: atomics and `mprotect` only.
    pub fn on_write_fault(&self, addr: u64) -> bool {
        let Some(off) = addr.checked_sub(self.base) else {
            return false;
        };
        let page = off / PAGE;
        if page >= self.pages || !self.take_bit(page) {
            return false;
        }
        if self.record(page) {
            return protect(
                self.base + page * PAGE,
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
            );
        }
        // Overflowed: unprotect every tracked page of the chunk, so later writes nearby do not
        // fault (and the host's mapping count does not grow page by page).
        let first = page / CHUNK_PAGES * CHUNK_PAGES;
        let mut ok = protect(
            self.base + page * PAGE,
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
        );
        let mut p = first;
        while p < (first + CHUNK_PAGES).min(self.pages) {
            if self.take_bit(p) {
                let s = p;
                while p + 1 < (first + CHUNK_PAGES).min(self.pages) && self.take_bit(p + 1) {
                    p += 1;
                }
                ok &= protect(
                    self.base + s * PAGE,
                    (p + 1 - s) * PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                );
            }
            p += 1;
        }
        ok
    }

    /// Write-protects guest `[start, start + len)` (guest-writable RAM) and tracks it.
    pub fn track(&self, start: u64, len: u64) {
        if self.rearm(start, len) {
            self.ranges
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((start, len));
        }
    }

    /// Write-protects again guest `[start, start + len)`, inside a range [`Tracker::track`]ed
    /// since the last reset (a restore putting back the pages written); whether it could.
    pub fn rearm(&self, start: u64, len: u64) -> bool {
        if !protect(self.base + start, len, libc::PROT_READ) {
            return false;
        }
        self.set_bits(start / PAGE, (start + len) / PAGE, true);
        true
    }

    /// Sets (or clears) the bits of pages `[from, to)`, a word at a time.
    fn set_bits(&self, from: u64, to: u64, set: bool) {
        let to = to.min(self.pages);
        let mut p = from;
        while p < to {
            let n = (64 - p % 64).min(to - p);
            let m = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << (p % 64)
            };
            if set {
                self.word(p).fetch_or(m, Ordering::AcqRel);
            } else {
                self.word(p).fetch_and(!m, Ordering::AcqRel);
            }
            p += n;
        }
    }

    /// Stops tracking guest `[start, end)` (its mapping or protection changed: the next
    /// restore remaps everything). Host protections are left as they are.
    pub fn forget(&self, start: u64, end: u64) {
        self.set_bits(start / PAGE, end / PAGE, false);
    }

    /// Records the pages of guest `[start, end)` as written, tracked or not (the caller is
    /// about to write them through a host mapping it opened itself, whatever the guest's
    /// permissions: a read-only page written by the API is restored too). Returns the pages
    /// that were tracked (write-protected for the record), which the caller may now open.
    pub fn mark_written(&self, start: u64, end: u64) -> Vec<u64> {
        let mut armed = Vec::new();
        for p in start / PAGE..end.div_ceil(PAGE).min(self.pages) {
            if self.take_bit(p) {
                armed.push(p * PAGE);
            }
            self.record(p);
        }
        armed
    }

    /// Forgets everything: no page tracked, no page recorded.
    pub fn reset(&self) {
        let ranges = std::mem::take(&mut *self.ranges.lock().unwrap_or_else(|e| e.into_inner()));
        for (s, l) in ranges {
            self.forget(s, s + l);
        }
        self.len.store(0, Ordering::Release);
        self.overflow.store(false, Ordering::Release);
        // SAFETY: our own anonymous bitmap: dropping its pages reads them as zeros again.
        unsafe {
            libc::madvise(
                self.written.cast_mut().cast(),
                (self.pages.div_ceil(64) * 8) as usize,
                libc::MADV_DONTNEED,
            )
        };
    }

    /// The guest page addresses written since the last reset or take, coalesced into
    /// `(start, len)` runs, and the record emptied; `None` after an overflow.
    pub fn take_written(&self) -> Option<Vec<(u64, u64)>> {
        if self.overflow.load(Ordering::Acquire) {
            return None;
        }
        // Pages are recorded with the guest stopped: no write races with this.
        let n = self.len.swap(0, Ordering::AcqRel).min(CAP);
        let mut pages: Vec<u64> = (0..n)
            // SAFETY: `i < CAP`, inside the list.
            .map(|i| unsafe { &*self.list.add(i) }.load(Ordering::Acquire))
            .collect();
        for &p in &pages {
            self.written_word(p)
                .fetch_and(!(1 << (p % 64)), Ordering::AcqRel);
        }
        pages.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for p in pages {
            let a = p * PAGE;
            match runs.last_mut() {
                Some((s, l)) if *s + *l == a => *l += PAGE,
                Some((s, l)) if *s + *l > a => {}
                _ => runs.push((a, PAGE)),
            }
        }
        Some(runs)
    }

    /// Host address of guest `addr`.
    pub fn host(&self, addr: u64) -> u64 {
        self.base + addr
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // SAFETY: our own mappings, of these sizes; nothing uses them any more.
        unsafe {
            libc::munmap(
                self.bits.cast_mut().cast(),
                (self.pages.div_ceil(64) * 8) as usize,
            );
            libc::munmap(
                self.written.cast_mut().cast(),
                (self.pages.div_ceil(64) * 8) as usize,
            );
            libc::munmap(self.list.cast_mut().cast(), CAP * 8);
        }
    }
}
