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
static RANGES: [(AtomicU64, AtomicU64); 1024] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 1024];
static NEXT_RANGE: AtomicUsize = AtomicUsize::new(0);

/// Records a code memory's executable range, so the fault handler recognises its code.
pub(crate) fn register_code(r: std::ops::Range<u64>) {
    let i = NEXT_RANGE.fetch_add(1, Ordering::Relaxed) % RANGES.len();
    RANGES[i].0.store(0, Ordering::SeqCst);
    RANGES[i].1.store(r.end, Ordering::SeqCst);
    RANGES[i].0.store(r.start, Ordering::SeqCst);
}

/// Forgets a code memory's range (its Jit is being dropped and the memory unmapped).
pub(crate) fn unregister_code(r: std::ops::Range<u64>) {
    for (s, e) in &RANGES {
        if s.load(Ordering::SeqCst) == r.start && e.load(Ordering::SeqCst) == r.end {
            s.store(0, Ordering::SeqCst);
        }
    }
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

#[cfg(test)]
#[cfg(target_arch = "x86_64")]
mod tests {
    use super::*;
    use crate::jit::{self, Jit};
    use crate::lower::LowerParams;
    use crate::slow::SlowCtx;
    use std::sync::Arc;
    use xlat_ir::abi::reg_offset;
    use xlat_ir::interp::{self, Prepared};
    use xlat_ir::{Builder, MemOp, Opcode, Ty, Unit};
    use xlat_softmmu::user::{Backing, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
    use xlat_softmmu::{AddressSpace, GuestMemory};

    const LOAD_FAULT: u32 = 13;
    const STORE_FAULT: u32 = 15;
    static BASE: AtomicU64 = AtomicU64::new(0);

    /// What linux-user's handler does: interpreter probes first, then compiled code.
    extern "C" fn on_fault(_: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo and ucontext to SA_SIGINFO handlers.
        unsafe {
            let uc = ctx.cast::<libc::ucontext_t>();
            let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
            if let Some(to) = xlat_softmmu::user::probe::fixup(*rip as u64) {
                *rip = to as i64;
                return;
            }
            let guest = ((*info).si_addr() as u64).wrapping_sub(BASE.load(Ordering::Relaxed));
            let code = if fault_was_write(ctx) {
                STORE_FAULT
            } else {
                LOAD_FAULT
            };
            if !leave_jit(ctx, code, guest) {
                libc::abort();
            }
        }
    }

    fn install() {
        // SAFETY: a fully initialised sigaction; the handler only edits the ucontext and env.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut());
        }
    }

    /// pc 0x1000: r1 += 5; 0x1004: [r5 + 8] = r1; 0x1008: r2 = r1 * 3;
    /// 0x100c: r3 = [r4] (8 bytes); 0x1010: [r6] = r2 (4 bytes); 0x1014: r1 = 0, r2 = 0; exit.
    fn unit() -> Unit {
        let mut b = Builder::new(0x1000);
        b.insn_start(0x1000);
        let r1 = b.get_reg(Ty::I64, reg_offset(1));
        let r1 = b.binop_imm(Opcode::Add, r1, 5);
        b.set_reg(reg_offset(1), r1);
        b.insn_start(0x1004);
        let r5 = b.get_reg(Ty::I64, reg_offset(5));
        let r1 = b.get_reg(Ty::I64, reg_offset(1));
        b.store(r1, r5, 8, MemOp::le(8, false));
        b.insn_start(0x1008);
        let r1 = b.get_reg(Ty::I64, reg_offset(1));
        let k = b.konst(Ty::I64, 3);
        let r2 = b.binop(Opcode::Mul, r1, k);
        b.set_reg(reg_offset(2), r2);
        b.insn_start(0x100c);
        let r4 = b.get_reg(Ty::I64, reg_offset(4));
        let r3 = b.load(Ty::I64, r4, 0, MemOp::le(8, false));
        b.set_reg(reg_offset(3), r3);
        b.insn_start(0x1010);
        let r6 = b.get_reg(Ty::I64, reg_offset(6));
        let r2 = b.get_reg(Ty::I64, reg_offset(2));
        b.store(r2, r6, 0, MemOp::le(4, false));
        b.insn_start(0x1014);
        let z = b.konst(Ty::I64, 0);
        b.set_reg(reg_offset(1), z);
        b.set_reg(reg_offset(2), z);
        b.exit(xlat_ir::ExitReason::Syscall, 0x1018);
        b.finish(0x18, 6)
    }

    fn state(rw: u64, r4: u64, r6: u64) -> Box<CpuState> {
        let mut env = CpuState::new_boxed();
        env.regs[1] = 37;
        env.regs[3] = 0xdead;
        env.regs[4] = r4;
        env.regs[5] = rw;
        env.regs[6] = r6;
        env
    }

    fn summary(v: u64, env: &CpuState) -> (u64, u64, u64, Vec<u64>) {
        (v, env.pc, env.exc_arg, env.regs[..8].to_vec())
    }

    /// Compiled code (Cranelift) and baseline code (`crate::baseline`, precise).
    #[test]
    fn a_fault_in_compiled_code_leaves_the_interpreters_state() {
        install();
        xlat_softmmu::user::set_access_fault_codes(LOAD_FAULT, STORE_FAULT);
        let space = Arc::new(AddressSpace::new(6).expect("reserve"));
        BASE.store(space.host_range().0, Ordering::Relaxed);
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let rw = space
            .mmap(0, 0x1000, PROT_READ | PROT_WRITE, anon, Backing::Anon)
            .unwrap();
        let ro = space
            .mmap(0, 0x1000, PROT_READ, anon, Backing::Anon)
            .unwrap();
        let unmapped = rw + 0x10_0000;
        assert!(space.vmas().find(unmapped).is_none());
        let mem: Arc<dyn GuestMemory> = space.clone();
        let slow = Box::new(SlowCtx::new(mem.clone()));
        let mut jit = Jit::new(1 << 20, crate::engine::OPT_LEVEL).unwrap();
        let slots: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(jit.stub)).collect();
        let p = LowerParams {
            direct: mem.direct().unwrap(),
            slow_ctx: &*slow as *const SlowCtx as u64,
            slots: slots.as_ptr() as u64,
            count_insns: false,
            precise: true,
        };
        let u = unit();
        let code = jit.compile_unit(&u, p).unwrap().addr;
        let bp = crate::baseline::Params {
            softmmu: false,
            slow_ctx: p.slow_ctx,
            slots: 0,
            runs: 0,
            hot: 0,
            count_insns: false,
            jmp_cache: false,
            direct: mem.direct(),
            precise: true,
        };
        let base = jit
            .install(&crate::baseline::compile(&u, bp).unwrap())
            .unwrap()
            .addr;
        let prep = Prepared::new(&u);
        let raise = |c| abi::encode_exit(ExitKind::Raise, c);
        // (r4, r6, expected exit, expected pc): no fault, a load fault, a store fault.
        let cases = [
            (
                rw + 16,
                rw + 32,
                abi::encode_exit(ExitKind::Exit, 0),
                0x1018,
            ),
            (unmapped, rw + 32, raise(LOAD_FAULT), 0x100c),
            (rw + 16, ro + 4, raise(STORE_FAULT), 0x1010),
        ];
        for ((r4, r6, want_exit, want_pc), code) in
            cases.into_iter().flat_map(|c| [(c, code), (c, base)])
        {
            let mut ie = state(rw, r4, r6);
            let iv = interp::run(&u, &prep, &mut ie, &*mem, &mut Vec::new()).value;
            let interp_mem = space.read_u64(rw + 8).unwrap();
            space.write_u64(rw + 8, 0).unwrap();
            let mut je = state(rw, r4, r6);
            // SAFETY: `code` was compiled by `jit` for this memory (or is baseline code
            // installed there); the handler is installed.
            let jv = unsafe { jit::enter(jit.trampoline, &mut je, code) };
            assert_eq!(
                summary(jv, &je),
                summary(iv, &ie),
                "r4={r4:#x} r6={r6:#x} code={code:#x} (baseline {base:#x})"
            );
            assert_eq!((iv, ie.pc), (want_exit, want_pc), "the interpreter itself");
            assert_eq!(
                space.read_u64(rw + 8).unwrap(),
                interp_mem,
                "store before the fault"
            );
            assert_eq!(interp_mem, 42);
            // At the load fault r3 is untouched; at the store fault it holds the loaded 0.
            let r3 = if want_pc == 0x100c { 0xdead } else { 0 };
            if want_pc != 0x1018 {
                assert_eq!(je.regs[1..4], [42, 126, r3], "registers at the fault");
            }
        }
        assert_eq!(
            space.read_u64(ro).unwrap(),
            0,
            "the read-only page was not written"
        );
    }
}
