//! The host SIGSEGV/SIGBUS handler. A fault inside the guest reservation is a guest access to
//! memory it may not touch; it becomes a guest exception at the faulting instruction:
//! - in the interpreter's memory probes (softmmu), the probe resumes at its fixup and returns a
//!   `MemFault`;
//! - in compiled code, the unit is abandoned with a `Raise` of the load or store access-fault
//!   code (`xlat_backend::fault::leave_jit`), the CPU state being exact at every access.
//!
//! Before either, a write fault on a page write-protected because it holds translated code
//! (x86 self-modifying code, `xlat_softmmu::user::AddressSpace::set_code_watch`) drops that
//! page's translations, unprotects it and runs the store again ([`watch_code`]).
//!
//! The run loop then delivers SIGSEGV to the guest (or dies of it, like Linux). A fault inside
//! the reservation anywhere else (a host copy the emulator did not check) keeps the old
//! behaviour: the default action, so the process dies of the same signal. Any other fault is
//! an emulator bug: one line on stderr, then abort.

use crate::syscall::Process;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use xlat_backend::Engine;
use xlat_ir::{Frontend, TrapClass};
use xlat_softmmu::AddressSpace;

static GUEST_START: AtomicU64 = AtomicU64::new(0);
static GUEST_END: AtomicU64 = AtomicU64::new(0);

/// The address space whose watched code pages the handler unprotects (leaked: lives as long
/// as the process).
static SPACE: AtomicPtr<AddressSpace> = AtomicPtr::new(std::ptr::null_mut());

/// Whether stores to translated code are detected for guests of `frontend`: x86-64, which has
/// no instruction announcing changed code (riscv's fence.i and aarch64's IC IVAU flush
/// translations themselves). `XLAT_SMC=1` turns it on for every architecture, `XLAT_SMC=0` off.
pub fn wants_code_watch(frontend: &dyn Frontend) -> bool {
    const EM_X86_64: u16 = 62;
    match std::env::var("XLAT_SMC").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => frontend.user_abi().elf_machine == EM_X86_64,
    }
}

/// Detects guest stores to translated code in `space` (if `on`): watched pages are
/// write-protected, and a write fault on one drops `engine`'s translations of the page. Called
/// again with the new engine when a forked child starts one of its own.
pub fn watch_code(space: &Arc<AddressSpace>, engine: &Arc<Engine>, on: bool) {
    if !on {
        return;
    }
    let want = Arc::as_ptr(space).cast_mut();
    if SPACE.load(Ordering::Acquire) != want {
        // One reference kept for the handler, never dropped.
        let p = Arc::into_raw(space.clone()).cast_mut();
        SPACE.store(p, Ordering::Release);
    }
    let weak = Arc::downgrade(engine);
    space.set_code_write_hook(Arc::new(move |start, len| {
        if let Some(e) = weak.upgrade() {
            e.invalidate(start, len);
        }
    }));
    space.set_code_watch(true);
}

/// A write fault at guest `guest` on a watched code page: handled (the store may run again).
fn code_write(info: *const libc::siginfo_t, ctx: *mut libc::c_void, guest: u64) -> bool {
    const SEGV_ACCERR: i32 = 2;
    let space = SPACE.load(Ordering::Acquire);
    if space.is_null() || ctx.is_null() {
        return false;
    }
    // SAFETY: the kernel passes a valid siginfo to SA_SIGINFO handlers.
    if unsafe { (*info).si_code } != SEGV_ACCERR {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: ctx is this synchronous fault's ucontext.
    let write = unsafe { xlat_backend::fault::fault_was_write(ctx) };
    #[cfg(not(target_arch = "x86_64"))]
    let write = true;
    // SAFETY: SPACE holds a leaked Arc: the space lives for the rest of the process.
    write && unsafe { &*space }.code_write_fault(guest)
}

/// The guest's load (low half) and store (high half) access-fault exception codes.
static FAULT_CODES: AtomicU64 = AtomicU64::new(0);

/// The access-fault exception codes (load, store) of `frontend`'s architecture: riscv's load
/// and store page faults, else the first code it classifies as an access fault.
pub fn access_fault_codes(frontend: &dyn Frontend) -> (u32, u32) {
    const EM_RISCV: u16 = 243;
    if frontend.user_abi().elf_machine == EM_RISCV {
        return (13, 15);
    }
    let any = (0..64)
        .find(|c| frontend.classify_trap(*c) == TrapClass::AccessFault)
        .unwrap_or(0);
    (any, any)
}

/// Sets the exception codes guest access faults raise (interpreter and compiled code).
pub fn set_access_fault_codes(load: u32, store: u32) {
    FAULT_CODES.store(u64::from(load) | u64::from(store) << 32, Ordering::Relaxed);
    xlat_softmmu::user::set_access_fault_codes(load, store);
}

/// Turns a host fault at guest address `guest` into a guest exception, if it happened where
/// that is possible. Async-signal-safe.
fn to_guest_exception(ctx: *mut libc::c_void, guest: u64) -> bool {
    if ctx.is_null() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let uc = ctx.cast::<libc::ucontext_t>();
        // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
        let rip = unsafe { &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] };
        if let Some(to) = xlat_softmmu::user::probe::fixup(*rip as u64) {
            *rip = to as i64;
            return true;
        }
        // SAFETY: as above; the fault is synchronous, on this thread.
        let write = unsafe { xlat_backend::fault::fault_was_write(ctx) };
        let codes = FAULT_CODES.load(Ordering::Relaxed);
        let code = if write {
            codes >> 32
        } else {
            codes & 0xffff_ffff
        } as u32;
        // SAFETY: as above.
        unsafe { xlat_backend::fault::leave_jit(ctx, code, guest) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = guest;
        false
    }
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as u64;
    let start = GUEST_START.load(Ordering::Relaxed);
    let inside = (start..GUEST_END.load(Ordering::Relaxed)).contains(&addr);
    if inside && sig == libc::SIGSEGV && code_write(info, ctx, addr - start) {
        return;
    }
    if inside && to_guest_exception(ctx, addr - start) {
        if sig == libc::SIGBUS {
            HOST_BUS_ERROR.with(|b| b.set(BUS_CAUGHT));
        }
        return;
    }
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

/// si_code of a synchronous `sig` at guest address `addr`: for SIGSEGV, SEGV_ACCERR if `addr`
/// is mapped (but not with the access it needed), else SEGV_MAPERR; 1 for the others
/// (BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT, FPE_INTDIV).
/// A SIGBUS raised for a host bus error (BUS_ADRERR) is 2, where misalignment is 1.
pub(crate) fn sync_si_code(space: &xlat_softmmu::AddressSpace, sig: i32, addr: u64) -> i32 {
    const SEGV_MAPERR: i32 = 1;
    const SEGV_ACCERR: i32 = 2;
    const BUS_ADRERR: i32 = 2;
    if sig == libc::SIGBUS && HOST_BUS_ERROR.with(|b| b.replace(BUS_NONE)) == BUS_DELIVERING {
        return BUS_ADRERR;
    }
    if sig != libc::SIGSEGV {
        return 1;
    }
    if space.vmas().find(addr).is_some() {
        SEGV_ACCERR
    } else {
        SEGV_MAPERR
    }
}

/// No host bus error pending on this thread.
const BUS_NONE: u8 = 0;
/// The last guest access fault on this thread was a host SIGBUS (an access beyond the end of
/// a file-backed mapping), not a SIGSEGV.
const BUS_CAUGHT: u8 = 1;
/// That fault became the guest's SIGBUS; its si_code is BUS_ADRERR.
const BUS_DELIVERING: u8 = 2;

std::thread_local! {
    /// Set by the host fault handler (a const-initialised thread-local without destructor: a
    /// plain TLS access, async-signal-safe).
    static HOST_BUS_ERROR: std::cell::Cell<u8> = const { std::cell::Cell::new(BUS_NONE) };
}

/// The guest signal for a guest exception whose class gave `sig`: SIGBUS instead of SIGSEGV
/// when the host fault behind it was a bus error, as Linux reports an access beyond the end of
/// a file mapping.
pub(crate) fn access_fault_signal(sig: i32) -> i32 {
    let state = HOST_BUS_ERROR.with(|b| b.replace(BUS_NONE));
    if sig == libc::SIGSEGV && state == BUS_CAUGHT {
        HOST_BUS_ERROR.with(|b| b.set(BUS_DELIVERING));
        libc::SIGBUS
    } else {
        sig
    }
}

/// Once the guest has a SIGSEGV or SIGBUS handler, compiled code must keep the CPU state exact
/// at every guest memory access, so that the handler sees the faulting instruction's state
/// (`xlat_backend::Engine::set_precise_faults`; it costs speed, so it waits for a handler).
/// Forked children inherit it through the machine's config. Called after each system call.
/// `XLAT_TEST_IMPRECISE` (tests only) keeps it off, to show that the fault tests notice.
pub(crate) fn follow_fault_handlers(m: &mut crate::cpu_loop::Machine, process: &Process) {
    if m.cfg.precise_faults || std::env::var_os("XLAT_TEST_IMPRECISE").is_some() {
        return;
    }
    if process.action(libc::SIGSEGV).handler > 1 || process.action(libc::SIGBUS).handler > 1 {
        m.cfg.precise_faults = true;
        m.engine.set_precise_faults(true);
    }
}
