//! Robust futex lists (set_robust_list(2)): the guest's list holds guest pointers, so the host
//! kernel cannot walk it; like the kernel's `exit_robust_list` (kernel/futex/core.c) we walk
//! it when a thread exits: every futex word still owned by the dying thread gets
//! FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and one waiter is woken, so the next locker of a
//! robust mutex sees EOWNERDEAD instead of hanging.

use std::sync::atomic::{AtomicU32, Ordering};

use super::Process;

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// The kernel's ROBUST_LIST_LIMIT: a bound against circular lists.
const LIST_LIMIT: usize = 2048;

impl Process {
    /// Walks this thread's robust list (if any) at its exit.
    pub(super) fn release_robust_list(&self) {
        let head = self.robust_list;
        if head == 0 {
            return;
        }
        let rd = |a: u64| self.space.read_u64(a).ok();
        let (Some(first), Some(offset), Some(pending)) = (rd(head), rd(head + 8), rd(head + 16))
        else {
            return;
        };
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let pending_entry = pending & !1;
        let mut entry = first & !1;
        for _ in 0..LIST_LIMIT {
            if entry == head || entry == 0 {
                break;
            }
            let next = rd(entry);
            if entry != pending_entry {
                self.futex_death(entry.wrapping_add(offset), tid, false);
            }
            match next {
                Some(n) => entry = n & !1,
                None => break,
            }
        }
        if pending_entry != 0 {
            self.futex_death(pending_entry.wrapping_add(offset), tid, true);
        }
    }

    /// `handle_futex_death`: marks the futex at guest address `at` owner-died if `tid` owns it.
    fn futex_death(&self, at: u64, tid: u32, pending_op: bool) {
        if !at.is_multiple_of(4) {
            return;
        }
        let Ok(p) = self.space.host_ptr(at, 4, xlat_softmmu::user::PROT_WRITE) else {
            return;
        };
        // SAFETY: a checked, aligned, writable 4-byte guest word; other threads access it
        // atomically too (LR/SC and AMOs are host atomics).
        let word = unsafe { &*(p as *const AtomicU32) };
        let mut cur = word.load(Ordering::SeqCst);
        loop {
            if pending_op && cur == 0 {
                wake(p);
                return;
            }
            if cur & FUTEX_TID_MASK != tid {
                return;
            }
            let new = (cur & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            match word.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    if cur & FUTEX_WAITERS != 0 {
                        wake(p);
                    }
                    return;
                }
                Err(now) => cur = now,
            }
        }
    }
}

fn wake(p: *mut u8) {
    // SAFETY: p is a live guest futex word; FUTEX_WAKE only uses its address.
    unsafe { libc::syscall(libc::SYS_futex, p, libc::FUTEX_WAKE, 1, 0, 0, 0) };
}
