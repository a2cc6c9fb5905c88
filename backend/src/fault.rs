//! Precise guest faults in compiled code.
//!
//! Compiled code reaches guest memory with plain host accesses, so a guest access to a page it
//! may not touch faults on the host, inside a unit. The guest must see that fault at the exact
//! instruction with its exact registers (a SIGSEGV handler may look at them, or return).
//!
//! How that is exact by construction: before every inline guest memory access, lowering
//! stores the guest pc of the instruction and every guest register the unit changed into the
//! CPU state (`Lower::sync_for_access`), so at any faulting access the state already *is* the
//! guest state at the fault. All the host signal handler then does ([`leave_jit`]) is abandon
//! the unit: it resumes at the return point of the entry trampoline ([`ENTER`], written here so
//! that it saves every callee-saved register itself and keeps the CPU state pointer in its
//! frame) with a `Raise` exit word, exactly as if the unit had returned it. The exec loop then
//! reports `RunExit::Exception` like any other guest exception.
//!
//! Finding the trampoline frame: units are compiled with frame pointers and call each other
//! only by tail calls, so a faulting unit's saved frame pointer is the trampoline's and its
//! return address is the trampoline's return point (checked before anything is changed).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use xlat_ir::abi::{self, CpuState, ExitKind};

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl xlat_backend_enter",
    "xlat_backend_enter:",
    // extern "C" fn(env: *mut CpuState, code: u64) -> u64, calling `code` (tail convention,
    // env in rdi, exit word in rax).
    "    push rbp",
    "    mov rbp, rsp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    push rdi", // [rbp - 48]: env, for the fault handler
    "    call rsi",
    ".globl xlat_backend_enter_ret",
    "xlat_backend_enter_ret:",
    "    add rsp, 8",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
);

#[cfg(target_arch = "x86_64")]
unsafe extern "C" {
    fn xlat_backend_enter();
    fn xlat_backend_enter_ret();
}

/// Where the trampoline keeps `env`, below its frame pointer.
const ENV_SLOT: u64 = 48;

/// The entry trampoline: `extern "C" fn(env: *mut CpuState, code: u64) -> u64`.
#[cfg(target_arch = "x86_64")]
pub(crate) fn enter_addr() -> u64 {
    xlat_backend_enter as *const () as u64
}

fn enter_ret() -> u64 {
    xlat_backend_enter_ret as *const () as u64
}

/// Executable ranges of every code memory (a ring: a new one overwrites the oldest).
static RANGES: [(AtomicU64, AtomicU64); 64] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 64];
static NEXT_RANGE: AtomicUsize = AtomicUsize::new(0);

/// Records a code memory's executable range, so the fault handler recognises its code.
pub(crate) fn register_code(r: std::ops::Range<u64>) {
    let i = NEXT_RANGE.fetch_add(1, Ordering::Relaxed) % RANGES.len();
    RANGES[i].0.store(0, Ordering::SeqCst);
    RANGES[i].1.store(r.end, Ordering::SeqCst);
    RANGES[i].0.store(r.start, Ordering::SeqCst);
}

/// Whether `pc` is inside some engine's compiled code. Async-signal-safe.
pub fn in_jit_code(pc: u64) -> bool {
    RANGES.iter().any(|(s, e)| {
        let s = s.load(Ordering::SeqCst);
        s != 0 && s <= pc && pc < e.load(Ordering::SeqCst)
    })
}

/// Whether the host fault described by the signal context `uctx` was a write (x86 page-fault
/// error code bit 1). Async-signal-safe.
///
/// # Safety
/// `uctx` must be the third argument of an SA_SIGINFO handler for SIGSEGV/SIGBUS.
#[cfg(target_arch = "x86_64")]
pub unsafe fn fault_was_write(uctx: *const libc::c_void) -> bool {
    let uc = uctx.cast::<libc::ucontext_t>();
    // SAFETY: the caller passes the kernel's ucontext.
    let err = unsafe { (*uc).uc_mcontext.gregs[libc::REG_ERR as usize] };
    err & 2 != 0
}

/// If the host fault in signal context `uctx` happened in compiled code, makes the handler's
/// return leave that code as if the unit had raised guest exception `code` with argument
/// `arg` (the guest fault address): the exec loop then returns
/// `RunExit::Exception { code, arg }` with the CPU state at the faulting guest instruction.
/// Returns false (changing nothing) if the fault is not in compiled code. Async-signal-safe.
///
/// # Safety
/// `uctx` must be the third argument of an SA_SIGINFO handler for a synchronous SIGSEGV or
/// SIGBUS on this thread.
#[cfg(target_arch = "x86_64")]
pub unsafe fn leave_jit(uctx: *mut libc::c_void, code: u32, arg: u64) -> bool {
    let uc = uctx.cast::<libc::ucontext_t>();
    // SAFETY: the caller passes the kernel's ucontext; gregs is plain data.
    let g = unsafe { &mut (*uc).uc_mcontext.gregs };
    let rip = g[libc::REG_RIP as usize] as u64;
    let rbp = g[libc::REG_RBP as usize] as u64;
    let rsp = g[libc::REG_RSP as usize] as u64;
    if !in_jit_code(rip) || rbp < rsp || !rbp.is_multiple_of(8) {
        return false;
    }
    // SAFETY: rip is in a unit, whose frame pointer rbp (at or above the stack pointer, on
    // this thread's stack) holds the caller's frame pointer and the return address.
    let (tramp_rbp, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
    if ret != enter_ret() || tramp_rbp <= rbp {
        return false;
    }
    // SAFETY: the trampoline stored env at [rbp - ENV_SLOT] and is suspended in its call.
    let env = unsafe { *((tramp_rbp - ENV_SLOT) as *const *mut CpuState) };
    // SAFETY: env is the live CPU state this thread is running; nothing else writes these
    // fields while the unit runs.
    unsafe {
        (*env).exc_arg = arg;
        (*env).last_slot = 0;
    }
    g[libc::REG_RAX as usize] = abi::encode_exit(ExitKind::Raise, code) as i64;
    // The trampoline's stack pointer right after its call returned.
    g[libc::REG_RSP as usize] = (tramp_rbp - ENV_SLOT) as i64;
    g[libc::REG_RBP as usize] = tramp_rbp as i64;
    g[libc::REG_RIP as usize] = enter_ret() as i64;
    true
}
