//! The host SIGSEGV/SIGBUS handler. A fault inside the guest reservation is the guest crashing
//! itself: the handler restores the default action and returns, so the faulting access runs
//! again and the process dies of the same signal, exactly as the native program would. Any
//! other fault is an emulator bug: one line on stderr, then abort.

use std::sync::atomic::{AtomicU64, Ordering};

static GUEST_START: AtomicU64 = AtomicU64::new(0);
static GUEST_END: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as u64;
    let inside =
        (GUEST_START.load(Ordering::Relaxed)..GUEST_END.load(Ordering::Relaxed)).contains(&addr);
    if inside {
        // SAFETY: async-signal-safe calls only (setrlimit, sigaction); returning re-executes
        // the faulting access, which now takes the default action.
        unsafe {
            no_core_dump();
            libc::signal(sig, libc::SIG_DFL);
        }
        return;
    }
    let msg: &[u8] = if sig == libc::SIGBUS {
        b"xlat: internal error: host SIGBUS outside guest memory\n"
    } else {
        b"xlat: internal error: host SIGSEGV outside guest memory\n"
    };
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::abort();
    }
}

/// The emulator's own core would be useless to the user (qemu-user does the same).
///
/// # Safety
/// Async-signal-safe: a single setrlimit call.
pub unsafe fn no_core_dump() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit struct on the stack.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

/// Installs the handler for the guest reservation `[start, start + len)`.
pub fn install(start: u64, len: u64) {
    GUEST_START.store(start, Ordering::Relaxed);
    GUEST_END.store(start + len, Ordering::Relaxed);
    // An alternate stack, so a host stack overflow still reports instead of dying silently.
    let alt = Box::leak(vec![0u8; 64 << 10].into_boxed_slice());
    let ss = libc::stack_t {
        ss_sp: alt.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: alt.len(),
    };
    // SAFETY: the alternate stack is leaked (lives forever); the sigaction struct is fully
    // initialised; the handler only uses async-signal-safe calls.
    unsafe {
        libc::sigaltstack(&ss, std::ptr::null_mut());
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_fault as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}
