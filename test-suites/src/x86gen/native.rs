//! Runs cases natively on this (x86-64) host, in a forked child: the code of every case is
//! copied to a fixed-address RWX mapping (`CODE`, ending in `ret`), the scratch memory to
//! `SCRATCH`, all GPRs but rsp, RFLAGS, the XMMs and MXCSR are loaded from a fixed-address
//! block, the case is called, and everything is stored back. A fault (a divide error, say)
//! is caught by a signal handler that records the signal and resumes at the case's `ret`
//! (with rsp as the case found it).

use super::{CODE, Case, SCRATCH, SCRATCH_LEN, SLOT, State};

/// Where the register block lives in the child.
const BLOCK: u64 = 0x5000_0000;
/// Words per case in the shared result area before its scratch copy.
const WORDS: usize = 52;
const RESULT: usize = WORDS * 8 + SCRATCH_LEN;

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::*;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

    static RET_AT: AtomicU64 = AtomicU64::new(0);
    static SIGNAL: AtomicI32 = AtomicI32::new(0);

    extern "C" fn on_fault(sig: i32, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        SIGNAL.store(sig, Ordering::Relaxed);
        // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler; resuming at
        // the case's `ret` returns to `call_case` with the stack as the case found it.
        unsafe {
            let uc = ctx.cast::<libc::ucontext_t>();
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] = RET_AT.load(Ordering::Relaxed) as i64;
            // rsp as at the case's entry (a fault inside a call within the case leaves its
            // return address above): `call_case` saved it at 0x50000198 before its call.
            let saved = std::ptr::read_volatile(0x5000_0198 as *const i64);
            (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] = saved - 8;
        }
    }

    /// Calls the case whose address is in the block, with the block's registers.
    ///
    /// # Safety
    /// The block and the case's code must be mapped at their fixed addresses.
    unsafe fn call_case() {
        // SAFETY: (the caller's contract) everything the asm touches is mapped; callee-saved
        // registers are saved on the stack and restored, the rest are declared clobbered.
        unsafe {
            std::arch::asm!(
                "push rbx",
                "push rbp",
                "push r12",
                "push r13",
                "push r14",
                "push r15",
                "mov qword ptr [0x50000198], rsp",
                "fninit",
                "ldmxcsr dword ptr [0x50000190]",
                "movdqu xmm0, [0x50000090]",
                "movdqu xmm1, [0x500000a0]",
                "movdqu xmm2, [0x500000b0]",
                "movdqu xmm3, [0x500000c0]",
                "movdqu xmm4, [0x500000d0]",
                "movdqu xmm5, [0x500000e0]",
                "movdqu xmm6, [0x500000f0]",
                "movdqu xmm7, [0x50000100]",
                "movdqu xmm8, [0x50000110]",
                "movdqu xmm9, [0x50000120]",
                "movdqu xmm10, [0x50000130]",
                "movdqu xmm11, [0x50000140]",
                "movdqu xmm12, [0x50000150]",
                "movdqu xmm13, [0x50000160]",
                "movdqu xmm14, [0x50000170]",
                "movdqu xmm15, [0x50000180]",
                "mov rax, qword ptr [0x50000000]",
                "mov rcx, qword ptr [0x50000008]",
                "mov rdx, qword ptr [0x50000010]",
                "mov rbx, qword ptr [0x50000018]",
                "mov rbp, qword ptr [0x50000028]",
                "mov rsi, qword ptr [0x50000030]",
                "mov rdi, qword ptr [0x50000038]",
                "mov r8, qword ptr [0x50000040]",
                "mov r9, qword ptr [0x50000048]",
                "mov r10, qword ptr [0x50000050]",
                "mov r11, qword ptr [0x50000058]",
                "mov r12, qword ptr [0x50000060]",
                "mov r13, qword ptr [0x50000068]",
                "mov r14, qword ptr [0x50000070]",
                "mov r15, qword ptr [0x50000078]",
                "push qword ptr [0x50000080]",
                "popfq",
                "call qword ptr [0x50000088]",
                "pushfq",
                "pop qword ptr [0x50000080]",
                "cld",
                "mov qword ptr [0x50000000], rax",
                "mov qword ptr [0x50000008], rcx",
                "mov qword ptr [0x50000010], rdx",
                "mov qword ptr [0x50000018], rbx",
                "mov qword ptr [0x50000028], rbp",
                "mov qword ptr [0x50000030], rsi",
                "mov qword ptr [0x50000038], rdi",
                "mov qword ptr [0x50000040], r8",
                "mov qword ptr [0x50000048], r9",
                "mov qword ptr [0x50000050], r10",
                "mov qword ptr [0x50000058], r11",
                "mov qword ptr [0x50000060], r12",
                "mov qword ptr [0x50000068], r13",
                "mov qword ptr [0x50000070], r14",
                "mov qword ptr [0x50000078], r15",
                "movdqu [0x50000090], xmm0",
                "movdqu [0x500000a0], xmm1",
                "movdqu [0x500000b0], xmm2",
                "movdqu [0x500000c0], xmm3",
                "movdqu [0x500000d0], xmm4",
                "movdqu [0x500000e0], xmm5",
                "movdqu [0x500000f0], xmm6",
                "movdqu [0x50000100], xmm7",
                "movdqu [0x50000110], xmm8",
                "movdqu [0x50000120], xmm9",
                "movdqu [0x50000130], xmm10",
                "movdqu [0x50000140], xmm11",
                "movdqu [0x50000150], xmm12",
                "movdqu [0x50000160], xmm13",
                "movdqu [0x50000170], xmm14",
                "movdqu [0x50000180], xmm15",
                "stmxcsr dword ptr [0x50000190]",
                "mov rsp, qword ptr [0x50000198]",
                "pop r15",
                "pop r14",
                "pop r13",
                "pop r12",
                "pop rbp",
                "pop rbx",
                clobber_abi("C"),
            );
        }
    }

    fn map_fixed(addr: u64, len: usize, prot: i32) -> bool {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        p as u64 == addr
    }

    /// Child side: runs every case into `out` (no allocation: the parent prepared all).
    fn child(code: &[u8], inputs: &[u64], mems: &[u8], n: usize, out: *mut u8) -> i32 {
        let rwx = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
        if !map_fixed(CODE, code.len(), rwx)
            || !map_fixed(SCRATCH, SCRATCH_LEN, libc::PROT_READ | libc::PROT_WRITE)
            || !map_fixed(BLOCK, 4096, libc::PROT_READ | libc::PROT_WRITE)
        {
            return 3;
        }
        // SAFETY: the three regions were just mapped with these sizes; `out` holds n results
        // (the parent's shared mapping); the handler only stores two atomics and the pc.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), CODE as *mut u8, code.len());
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            for s in [
                libc::SIGFPE,
                libc::SIGSEGV,
                libc::SIGILL,
                libc::SIGBUS,
                libc::SIGTRAP,
            ] {
                libc::sigaction(s, &sa, std::ptr::null_mut());
            }
            let block = BLOCK as *mut u64;
            for k in 0..n {
                let inp = &inputs[k * WORDS..(k + 1) * WORDS];
                std::ptr::copy_nonoverlapping(inp.as_ptr(), block, WORDS);
                *block.add(17) = CODE + k as u64 * SLOT;
                let ret = inp[51];
                RET_AT.store(ret, Ordering::Relaxed);
                SIGNAL.store(0, Ordering::Relaxed);
                std::ptr::copy_nonoverlapping(
                    mems.as_ptr().add(k * SCRATCH_LEN),
                    SCRATCH as *mut u8,
                    SCRATCH_LEN,
                );
                call_case();
                *block.add(51) = SIGNAL.load(Ordering::Relaxed) as u64;
                let o = out.add(k * RESULT);
                std::ptr::copy_nonoverlapping(block.cast::<u8>(), o, WORDS * 8);
                std::ptr::copy_nonoverlapping(SCRATCH as *const u8, o.add(WORDS * 8), SCRATCH_LEN);
            }
        }
        0
    }

    /// Runs `cases` natively; `Err` when the child could not run them.
    pub fn run(cases: &[Case]) -> Result<Vec<State>, String> {
        let n = cases.len();
        let mut code = vec![0xccu8; n * SLOT as usize];
        let mut inputs = vec![0u64; n * WORDS];
        let mut mems = vec![0u8; n * SCRATCH_LEN];
        for (k, c) in cases.iter().enumerate() {
            let at = k * SLOT as usize;
            if c.code.len() + 1 > SLOT as usize {
                return Err(format!("case {k}: code too long"));
            }
            code[at..at + c.code.len()].copy_from_slice(&c.code);
            code[at + c.code.len()] = 0xc3; // ret
            let w = &mut inputs[k * WORDS..(k + 1) * WORDS];
            w[..16].copy_from_slice(&c.input.gpr);
            w[16] = c.input.rflags | 2;
            for x in 0..16 {
                w[18 + 2 * x] = c.input.xmm[x][0];
                w[19 + 2 * x] = c.input.xmm[x][1];
            }
            w[50] = u64::from(c.input.mxcsr);
            // Word 51 (the saved rsp slot) carries the address of the case's `ret`.
            w[51] = CODE + (at + c.code.len()) as u64;
            mems[k * SCRATCH_LEN..(k + 1) * SCRATCH_LEN].copy_from_slice(&c.input.mem);
        }
        let len = n * RESULT;
        // SAFETY: a fresh shared anonymous mapping, unmapped below.
        let out = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if out == libc::MAP_FAILED {
            return Err("mmap failed".into());
        }
        // SAFETY: fork; the child only runs `child` (no allocation, no locks) and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let rc = child(&code, &inputs, &mems, n, out.cast());
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(rc) };
        }
        if pid < 0 {
            return Err("fork failed".into());
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let res = if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            // SAFETY: the child filled `len` bytes of the shared mapping.
            let bytes = unsafe { std::slice::from_raw_parts(out.cast::<u8>(), len) };
            Ok((0..n)
                .map(|k| decode(&bytes[k * RESULT..(k + 1) * RESULT]))
                .collect())
        } else {
            Err(format!("native child failed: status {status:#x}"))
        };
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(out, len.max(1)) };
        res
    }

    fn decode(b: &[u8]) -> State {
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let mut s = State {
            gpr: [0; 16],
            rflags: w(16),
            xmm: [[0; 2]; 16],
            mxcsr: w(50) as u32,
            mem: b[WORDS * 8..].to_vec(),
            signal: w(51) as i32,
        };
        for r in 0..16 {
            s.gpr[r] = w(r);
        }
        for x in 0..16 {
            s.xmm[x] = [w(18 + 2 * x), w(19 + 2 * x)];
        }
        s
    }
}

#[cfg(target_arch = "x86_64")]
pub use imp::run;

/// Not an x86-64 host: nothing to compare against.
#[cfg(not(target_arch = "x86_64"))]
pub fn run(_: &[Case]) -> Result<Vec<State>, String> {
    Err("native runs need an x86-64 host".into())
}
