//! The host SIGSEGV/SIGBUS handler of embedded engines. A fault inside an engine's guest
//! reservation is a guest access it may not make: in the interpreter's probes it resumes at
//! the probe's fixup; in compiled code the unit is abandoned with the embedding's load or
//! store access-fault code (compiled code keeps the CPU state exact at every access). Any
//! other fault goes to the handler that was installed before (or the default action).

use std::sync::Once;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::hooks::{EXC_LOAD_FAULT, EXC_STORE_FAULT};

/// Guest reservations of live engines (a ring: a new one overwrites the oldest; 1024 engines
/// at once is far beyond what fits in the host address space anyway).
static RANGES: [(AtomicU64, AtomicU64); 1024] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 1024];
/// The [`super::dirty::Tracker`] of each reservation in `RANGES` (same index; 0: none).
static TRACKERS: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];
/// The guest address at the start of each reservation in `RANGES` (same index).
static GUEST: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
static NEXT: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();
/// The handlers that were installed before ours (SIGSEGV, SIGBUS), as `sigaction`s.
static mut OLD: [std::mem::MaybeUninit<libc::sigaction>; 2] = [
    std::mem::MaybeUninit::zeroed(),
    std::mem::MaybeUninit::zeroed(),
];

/// Records an engine's reservation `[start, start+len)` (the flat one, or its high window),
/// holding guest addresses from `guest` on, and its dirty-page record (which must outlive the
/// registration), and installs the handler once.
pub(crate) fn register(start: u64, len: u64, tracker: &super::dirty::Tracker, guest: u64) {
    register_at(start, len, tracker as *const _ as usize, guest);
}

fn register_at(start: u64, len: u64, tracker: usize, guest: u64) {
    let i = NEXT.fetch_add(1, Ordering::Relaxed) % RANGES.len();
    RANGES[i].0.store(0, Ordering::SeqCst);
    RANGES[i].1.store(start + len, Ordering::SeqCst);
    TRACKERS[i].store(tracker, Ordering::SeqCst);
    GUEST[i].store(guest, Ordering::SeqCst);
    RANGES[i].0.store(start, Ordering::SeqCst);
    INSTALL.call_once(install);
    xlat_softmmu::user::set_access_fault_codes(EXC_LOAD_FAULT, EXC_STORE_FAULT);
}

/// The reservation holding `addr`: its start minus the guest address there, and its
/// dirty-page record (0: none).
fn guest_base(addr: u64) -> Option<(u64, usize)> {
    RANGES
        .iter()
        .zip(&TRACKERS)
        .zip(&GUEST)
        .find_map(|(((s, e), t), g)| {
            let s = s.load(Ordering::SeqCst);
            (s != 0 && s <= addr && addr < e.load(Ordering::SeqCst)).then(|| {
                (
                    s.wrapping_sub(g.load(Ordering::SeqCst)),
                    t.load(Ordering::SeqCst),
                )
            })
        })
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as u64;
    #[cfg(target_arch = "x86_64")]
    if let Some((base, tracker)) = guest_base(addr) {
        // SAFETY: the kernel passes a valid ucontext; the fault is synchronous, on this thread.
        let write = unsafe { xlat_backend::fault::fault_was_write(ctx) };
        let tracked = write
            && tracker != 0
            // SAFETY: a registered tracker outlives its registration (the engine
            // unregisters before dropping it).
            && unsafe { &*(tracker as *const super::dirty::Tracker) }.on_write_fault(addr);
        if tracked {
            // A write-protected page of the snapshot's dirty-page record: now writable.
            return;
        }
        let uc = ctx.cast::<libc::ucontext_t>();
        // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
        let rip = unsafe { &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] };
        if let Some(to) = xlat_softmmu::user::probe::fixup(*rip as u64) {
            *rip = to as i64;
            return;
        }
        let code = if write {
            EXC_STORE_FAULT
        } else {
            EXC_LOAD_FAULT
        };
        // SAFETY: as above.
        if unsafe { xlat_backend::fault::leave_jit(ctx, code, addr.wrapping_sub(base)) } {
            return;
        }
    }
    let k = usize::from(sig == libc::SIGBUS);
    // SAFETY: OLD was written once, before the handler was installed, and never after.
    let old = unsafe { (*std::ptr::addr_of!(OLD))[k].assume_init_ref() };
    let h = old.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        // SAFETY: async-signal-safe; returning re-executes the access, which now takes the
        // default action.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    }
    if old.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed as an SA_SIGINFO handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(h) };
        f(sig, info, ctx);
    } else {
        // SAFETY: the previous handler was installed as a plain handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
        f(sig);
    }
}

fn install() {
    // SAFETY: OLD is written here once, before our handler (its only reader) is installed;
    // the sigaction struct is fully initialised; the handler is async-signal-safe.
    unsafe {
        let old = &mut *std::ptr::addr_of_mut!(OLD);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_fault as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGSEGV, &sa, old[0].as_mut_ptr());
        libc::sigaction(libc::SIGBUS, &sa, old[1].as_mut_ptr());
    }
}

/// Forgets an engine's reservation (it is being dropped).
pub(crate) fn unregister(start: u64) {
    for ((s, _), t) in RANGES.iter().zip(&TRACKERS) {
        if s.load(Ordering::SeqCst) == start {
            s.store(0, Ordering::SeqCst);
            t.store(0, Ordering::SeqCst);
        }
    }
}
