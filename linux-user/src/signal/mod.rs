//! Guest signal delivery. Signals become pending (a host signal the guest catches, a signal the
//! guest sends itself, or a guest exception) and are delivered between guest instructions: at
//! a syscall return or when the host handler pulls the vCPU out through `exit_request`. A
//! caught signal gets an architecture frame ([`riscv64`]) and runs the guest handler, which
//! returns through `rt_sigreturn`; otherwise the default action applies.

pub mod riscv64;

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// Signals pending for the process (bit `sig - 1`).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// The `exit_request` words of the running guest threads, for the host handler to poke.
static VCPUS: [AtomicPtr<AtomicU32>; 64] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 64];

/// The `exit_request` bit this layer uses (the backend keeps its own bits).
pub const SIGNAL_REQUEST: u32 = 1;

/// SA_NODEFER.
const SA_NODEFER: u64 = 0x4000_0000;
/// SA_RESETHAND.
const SA_RESETHAND: u64 = 0x8000_0000;

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Marks `sig` pending and asks every running guest thread to stop and look.
pub fn raise_pending(sig: i32) {
    PENDING.fetch_or(bit(sig), Ordering::SeqCst);
    for slot in &VCPUS {
        let p = slot.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: registered pointers are exit_request words of live CPU states; a
            // thread unregisters before its state is dropped.
            unsafe { (*p).fetch_or(SIGNAL_REQUEST, Ordering::SeqCst) };
        }
    }
}

/// The pending host signals.
pub fn peek_pending() -> u64 {
    PENDING.load(Ordering::SeqCst)
}

/// Takes the lowest pending host signal not in `mask`.
pub fn take_pending(mask: u64) -> Option<i32> {
    take_from(&PENDING, mask)
}

/// Takes the lowest signal in `set` not in `mask`.
pub fn take_from(set: &AtomicU64, mask: u64) -> Option<i32> {
    let mut cur = set.load(Ordering::SeqCst);
    loop {
        let ready = cur & !mask;
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() as i32 + 1;
        match set.compare_exchange(cur, cur & !bit(sig), Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return Some(sig),
            Err(now) => cur = now,
        }
    }
}

/// Registers a guest thread's `exit_request`; returns its slot for [`unregister`].
pub fn register(flag: &AtomicU32) -> Option<usize> {
    let p = flag as *const AtomicU32 as *mut AtomicU32;
    VCPUS.iter().position(|s| {
        s.compare_exchange(std::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })
}

/// Forgets a slot from [`register`].
pub fn unregister(slot: Option<usize>) {
    if let Some(s) = slot {
        VCPUS[s].store(std::ptr::null_mut(), Ordering::Release);
    }
}

extern "C" fn on_host_signal(sig: libc::c_int) {
    raise_pending(sig);
}

/// Makes the host disposition of `sig` follow the guest's `handler` (0 default, 1 ignore,
/// else caught and queued for the guest). SIGSEGV/SIGBUS stay with the fault handler.
pub fn follow_guest(sig: i32, handler: u64) {
    if matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGKILL | libc::SIGSTOP
    ) || !(1..=64).contains(&sig)
    {
        return;
    }
    let h = match handler {
        0 => libc::SIG_DFL,
        1 => libc::SIG_IGN,
        _ => on_host_signal as *const () as usize,
    };
    // SAFETY: a fully initialised sigaction; the handler only does atomic stores.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = h;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// A guest `struct sigaction`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// Handler address (0 default, 1 ignore).
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

impl Action {
    /// Decodes the raw bytes (mask last: after the restorer where the ABI has one).
    pub fn parse(raw: &[u8]) -> Action {
        let w = |o: usize| {
            raw.get(o..o + 8)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        };
        Action {
            handler: w(0),
            flags: w(8),
            mask: w(raw.len().saturating_sub(8)),
        }
    }

    /// The mask while the handler runs, given the thread's mask `cur`.
    pub fn handler_mask(&self, sig: i32, cur: u64) -> u64 {
        let own = if self.flags & SA_NODEFER != 0 {
            0
        } else {
            bit(sig)
        };
        cur | self.mask | own
    }

    /// Whether the action resets to default once delivered.
    pub fn reset_hand(&self) -> bool {
        self.flags & SA_RESETHAND != 0
    }
}

/// Whether the default action of `sig` is to do nothing.
pub fn ignored_by_default(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_respects_the_mask_and_takes_lowest_first() {
        // SIGRTMIN+20/+21 (54, 55): not used by anything else in the test process.
        raise_pending(55);
        raise_pending(54);
        assert_eq!(take_pending(!(bit(54) | bit(55)) | bit(54)), Some(55));
        assert_eq!(take_pending(!(bit(54) | bit(55))), Some(54));
        assert_eq!(take_pending(!(bit(54) | bit(55))), None);
    }

    #[test]
    fn actions_decode_both_layouts() {
        let mut raw = vec![0u8; 24];
        raw[..8].copy_from_slice(&0x1234u64.to_le_bytes());
        raw[8..16].copy_from_slice(&SA_NODEFER.to_le_bytes());
        raw[16..24].copy_from_slice(&0b1010u64.to_le_bytes());
        let a = Action::parse(&raw);
        assert_eq!((a.handler, a.flags, a.mask), (0x1234, SA_NODEFER, 0b1010));
        assert_eq!(
            a.handler_mask(3, 1),
            0b1011,
            "NODEFER: the signal itself stays open"
        );
        raw.splice(16..16, [0u8; 8]);
        assert_eq!(
            Action::parse(&raw).mask,
            0b1010,
            "32-byte layout with a restorer"
        );
    }
}
