//! The per-thread run loop: run guest code, service its system calls, start guest threads,
//! turn guest exceptions into the matching fatal signal.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use xlat_backend::{Engine, EngineConfig, RunExit};
use xlat_ir::{Frontend, TrapClass, abi::CpuState};
use xlat_softmmu::GuestMemory;

use crate::LoadError;
use crate::arch::{Delivery, Pre, SignalFrame, UserArch};
use crate::run::die_by_signal;
use crate::signal;
use crate::syscall::{Outcome, Process, ThreadSpec};

/// What every guest thread of a process shares.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub frontend: Arc<dyn Frontend>,
    pub mem: Arc<dyn GuestMemory>,
    pub cfg: EngineConfig,
    pub engine: Arc<Engine>,
    /// The guest architecture.
    pub arch: &'static dyn UserArch,
    /// The signal frame, on architectures with frame support.
    pub frame: Option<Arc<dyn SignalFrame>>,
    /// Guest address of the sigreturn trampoline.
    pub trampoline: u64,
}

/// How a thread's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// exit_group: the whole process exits with this status.
    Group(i32),
    /// exit: this thread ends.
    Thread(i32),
}

fn signal_for(class: TrapClass) -> i32 {
    match class {
        TrapClass::IllegalInstruction | TrapClass::Other => libc::SIGILL,
        TrapClass::Breakpoint => libc::SIGTRAP,
        TrapClass::Misaligned => libc::SIGBUS,
        TrapClass::AccessFault | TrapClass::Protection => libc::SIGSEGV,
        TrapClass::Arithmetic => libc::SIGFPE,
    }
}

thread_local! {
    /// The engine this guest thread runs on, for the fork in `clone`
    /// ([`pause_compiler_for_fork`]).
    static ENGINE: std::cell::RefCell<Option<Arc<Engine>>> = const { std::cell::RefCell::new(None) };
}

/// Before a fork: ends this thread's engine's background compiler thread (after its pending
/// compiles), so the child is not made while that thread holds the engine's locks. Parent and
/// child each start one again when a unit next gets hot.
pub(crate) fn pause_compiler_for_fork() {
    let e = ENGINE.with_borrow(|e| e.clone());
    if let Some(e) = e {
        e.pause_background_compile();
    }
}

/// Runs guest code on `env` until this thread or the process exits.
pub(crate) fn cpu_loop(
    m: &mut Machine,
    process: &mut Process,
    env: &mut CpuState,
) -> Result<End, LoadError> {
    ENGINE.set(Some(m.engine.clone()));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let _ = MAIN_TID.compare_exchange(0, tid, Ordering::SeqCst, Ordering::SeqCst);
    process.signals = signal::register(&env.exit_request);
    let r = run_until_exit(m, process, env);
    signal::unregister(process.signals);
    if matches!(r, Ok(End::Group(_))) {
        // The process is ending: freeing every translation would only cost exit time.
        std::mem::forget(m.engine.clone());
    }
    if matches!(r, Ok(End::Thread(_))) && MAIN_TID.load(Ordering::SeqCst) == tid {
        // As on Linux, the main thread's `exit` leaves the process running until its other
        // threads have ended (and the process status is the main thread's).
        while LIVE_THREADS.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    r
}

/// The host tid of the process's main guest thread.
static MAIN_TID: AtomicI32 = AtomicI32::new(0);
/// Guest threads started by clone and still running (an atomic, not a lock: a fork child
/// reads and resets it whatever the other threads were doing).
static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

fn live_threads_add(d: isize) {
    if d >= 0 {
        LIVE_THREADS.fetch_add(d as usize, Ordering::SeqCst);
    } else {
        LIVE_THREADS.fetch_sub(d.unsigned_abs(), Ordering::SeqCst);
    }
}

fn run_until_exit(
    m: &mut Machine,
    process: &mut Process,
    env: &mut CpuState,
) -> Result<End, LoadError> {
    let abi = m.frontend.user_abi().clone();
    loop {
        match m.engine.run(env) {
            RunExit::Syscall => {
                if process.signals.peek(process.sigmask()).is_some() {
                    // Caught after the last look: as Linux would have, run the handler before
                    // the syscall (the frame resumes at the ecall), rather than let a blocking
                    // call sleep on a signal that already came.
                    deliver_pending(m, process, env);
                    continue;
                }
                let nr = env.word(abi.syscall_nr);
                let args = abi.syscall_args.map(|o| env.word(o));
                process.sp = env.word(abi.sp);
                let outcome = match m.arch.before_syscall(env, &process.space, nr, args) {
                    Pre::Ret(v) => Outcome::Ret(v),
                    Pre::Call(nr, args) => {
                        let o = process.syscall(nr, args);
                        if let Outcome::Ret(v) = &o {
                            m.arch.after_syscall(&process.space, nr, args, *v);
                        }
                        o
                    }
                };
                match outcome {
                    Outcome::Ret(v) => {
                        env.set_word(abi.syscall_ret, v as u64);
                        crate::fault::follow_fault_handlers(m, process);
                    }
                    Outcome::Exit(code) => return Ok(End::Group(code & 0xff)),
                    Outcome::ThreadExit(code) => return Ok(End::Thread(code & 0xff)),
                    Outcome::Forked(child) => {
                        env.set_word(abi.syscall_ret, 0);
                        if let Some(sp) = child.sp {
                            env.set_word(abi.sp, sp);
                        }
                        if let Some(tp) = child.tp {
                            env.set_word(abi.tp, tp);
                        }
                        // The engine's code memory is shared with the parent. A fork (or
                        // vfork) child of a single-threaded process takes a private copy and
                        // keeps its translations: a vfork parent may wake before its child's
                        // exec (the child can close the gate pipe: Python's close_fds does),
                        // and both installing code into the shared memory corrupts it (seen
                        // with the baseline tier, which installs code for every new block);
                        // otherwise (another thread may have held the
                        // engine's locks at the fork) it starts a fresh engine and never
                        // touches the old one again (not even to drop it).
                        let alone = LIVE_THREADS.load(Ordering::SeqCst) == 0;
                        let kept = alone && m.engine.after_fork().is_ok();
                        if !kept {
                            let fresh = Arc::new(Engine::new(
                                m.frontend.clone(),
                                m.mem.clone(),
                                m.cfg.clone(),
                            )?);
                            std::mem::forget(std::mem::replace(&mut m.engine, fresh));
                            ENGINE.set(Some(m.engine.clone()));
                            if std::env::var_os("XLAT_FG_COMPILE").is_none() {
                                m.engine.set_background_compile(true);
                            }
                            let watch = process.space.code_watch();
                            crate::fault::watch_code(&process.space, &m.engine, watch);
                        }
                        if let Some(fd) = child.gate {
                            // SAFETY: our end of the fork pipe; the parent resumes.
                            unsafe { libc::close(fd) };
                        }
                        env.clear_jmp_cache();
                        // Only this thread lives on in the child: it is the main thread now.
                        // SAFETY: gettid has no preconditions.
                        MAIN_TID.store(unsafe { libc::gettid() }, Ordering::SeqCst);
                        LIVE_THREADS.store(0, Ordering::SeqCst);
                    }
                    Outcome::NewThread(spec) => {
                        let r = spawn_thread(m, process, env, spec);
                        env.set_word(abi.syscall_ret, r as u64);
                    }
                    Outcome::SigReturn => {
                        sigreturn(m, process, env, abi.syscall_ret);
                        deliver_pending(m, process, env);
                        continue;
                    }
                    Outcome::Interrupted { restartable } => {
                        if restartable && restarts(process) {
                            // The frame saves the ecall's pc: the call runs again after the
                            // handler, with its arguments untouched.
                            deliver_pending(m, process, env);
                            continue;
                        }
                        env.set_word(abi.syscall_ret, (-i64::from(libc::EINTR)) as u64);
                    }
                }
                for (start, len) in std::mem::take(&mut process.stale) {
                    m.engine.invalidate(start, len);
                }
                if std::mem::take(&mut process.flush) {
                    m.engine.flush();
                }
                env.pc += abi.syscall_insn_len;
                deliver_pending(m, process, env);
            }
            RunExit::Request => {
                env.exit_request
                    .fetch_and(!signal::SIGNAL_REQUEST, Ordering::SeqCst);
                deliver_pending(m, process, env);
            }
            RunExit::Breakpoint => sync_signal(m, process, env, libc::SIGTRAP, 0),
            RunExit::Exception { code, arg }
                if m.frontend.classify_trap(code) == TrapClass::Protection
                    || non_canonical(m, code, arg) =>
            {
                // As Linux's do_general_protection: si_code SI_KERNEL, no address.
                sync_signal_info(m, process, env, libc::SIGSEGV, SI_KERNEL, 0)
            }
            RunExit::Exception { code, arg } => {
                let sig = signal_for(m.frontend.classify_trap(code));
                let sig = crate::fault::access_fault_signal(sig);
                match (sig == libc::SIGFPE)
                    .then(|| m.arch.fpe_info(env, code))
                    .flatten()
                {
                    Some((si_code, addr)) => sync_signal_info(m, process, env, sig, si_code, addr),
                    None => sync_signal(m, process, env, sig, arg),
                }
            }
        }
    }
}

/// Whether the signal about to be delivered lets an interrupted syscall restart: its handler
/// has SA_RESTART, or no guest handler runs at all.
fn restarts(process: &Process) -> bool {
    match process.signals.peek(process.sigmask()) {
        Some(sig) => {
            let a = process.action(sig);
            a.handler <= 1 || a.flags & signal::SA_RESTART != 0
        }
        None => true,
    }
}

fn siginfo(sig: i32, code: i32, word: u64) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[..4].copy_from_slice(&sig.to_le_bytes());
    b[8..12].copy_from_slice(&code.to_le_bytes());
    b[16..24].copy_from_slice(&word.to_le_bytes());
    b
}

fn sigreturn(m: &Machine, process: &mut Process, env: &mut CpuState, ret: u32) {
    let Some(r) = &m.frame else {
        env.set_word(ret, (-i64::from(libc::ENOSYS)) as u64);
        env.pc += m.frontend.user_abi().syscall_insn_len;
        return;
    };
    match r.restore(&process.space, env) {
        Ok((mask, stack)) => {
            process.set_sigmask(mask);
            // As the kernel's restore_altstack: errors (e.g. still on the stack) are ignored.
            let (sp, flags, size) = signal::altstack::decode(&stack);
            let cur = env.word(m.frontend.user_abi().sp);
            let _ = process.altstack.set(cur, sp, flags, size);
        }
        Err(_) => die_by_signal(libc::SIGSEGV),
    }
}

/// Delivers the pending signals this thread does not block.
fn deliver_pending(m: &Machine, process: &mut Process, env: &mut CpuState) {
    let mut any = false;
    while let Some((sig, info)) = process.signals.take(process.sigmask()) {
        deliver(m, process, env, sig, &info);
        any = true;
    }
    if any {
        // The host mask again mirrors the guest's (a real-time signal stays blocked on the
        // host from its catching until its delivery).
        process.set_sigmask(process.sigmask());
    }
    // After rt_sigsuspend with nothing caught (ignored signals): the old mask comes back.
    if let Some(m) = process.saved_mask.take() {
        process.set_sigmask(m);
    }
}

/// A signal caused by the instruction at env.pc: its handler runs, or the process dies.
fn sync_signal(m: &Machine, process: &mut Process, env: &mut CpuState, sig: i32, arg: u64) {
    if catches(m, process, sig) {
        // SIGILL (ILL_ILLOPC) and SIGTRAP (TRAP_BRKPT) report the pc, faults the address.
        let addr = if matches!(sig, libc::SIGILL | libc::SIGTRAP) {
            env.pc
        } else {
            arg
        };
        let code = crate::fault::sync_si_code(&process.space, sig, addr);
        deliver(m, process, env, sig, &siginfo(sig, code, addr));
    } else {
        guest_signal(process, &m.engine, sig, env.pc, arg)
    }
}

/// Whether a guest handler runs for a synchronous `sig` (else the process dies of it).
fn catches(m: &Machine, process: &Process, sig: i32) -> bool {
    let act = process.action(sig);
    let blocked = process.sigmask() & (1 << (sig - 1)) != 0;
    act.handler > 1 && !blocked && m.frame.is_some()
}

/// An x86-64 access fault at a non-canonical address (bits 63..47 not all equal): a #GP on
/// hardware, not a page fault.
fn non_canonical(m: &Machine, code: u32, addr: u64) -> bool {
    m.frontend.user_abi().elf_machine == crate::arch_x86_64::EM_X86_64
        && m.frontend.classify_trap(code) == TrapClass::AccessFault
        && ((addr as i64) << 16 >> 16) as u64 != addr
}

/// `si_code` of a signal the kernel raised itself (x86 #GP).
const SI_KERNEL: i32 = 0x80;

/// [`sync_signal`] with its `si_code` and address given.
fn sync_signal_info(
    m: &Machine,
    process: &mut Process,
    env: &mut CpuState,
    sig: i32,
    code: i32,
    addr: u64,
) {
    if catches(m, process, sig) {
        deliver(m, process, env, sig, &siginfo(sig, code, addr));
    } else {
        guest_signal(process, &m.engine, sig, env.pc, addr)
    }
}

fn deliver(m: &Machine, process: &mut Process, env: &mut CpuState, sig: i32, info: &[u8; 128]) {
    let act = process.action(sig);
    if process.opts.strace {
        eprintln!(
            "--- {} guest signal {sig} (handler {:#x}) ---",
            std::process::id(),
            act.handler
        );
    }
    match (act.handler, &m.frame) {
        (1, _) => {}
        (0, _) | (_, None) => {
            if signal::ignored_by_default(sig) {
                return;
            }
            if matches!(
                sig,
                libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
            ) {
                // SAFETY: stopping ourselves; we continue when resumed.
                unsafe { libc::raise(libc::SIGSTOP) };
                return;
            }
            die_by_signal(sig)
        }
        (h, Some(r)) => {
            let old = process.saved_mask.take().unwrap_or(process.sigmask());
            let sp = env.word(m.frontend.user_abi().sp);
            let stack_top = process.altstack.frame_top(act.flags, sp);
            let uc_stack = process.altstack.report(sp);
            if stack_top.is_some() && process.altstack.autodisarm {
                process.altstack = signal::altstack::AltStack::default();
            }
            let ret_addr = if act.flags & signal::SA_RESTORER != 0 && act.restorer != 0 {
                act.restorer
            } else {
                m.trampoline
            };
            if r.setup(
                &process.space,
                env,
                &Delivery {
                    sig,
                    info,
                    old_mask: old,
                    handler: h,
                    trampoline: ret_addr,
                    stack_top,
                    uc_stack,
                },
            )
            .is_err()
            {
                die_by_signal(libc::SIGSEGV);
            }
            process.set_sigmask(act.handler_mask(sig, old));
            if act.reset_hand() {
                process.reset_action(sig);
            }
        }
    }
}

/// Starts a guest thread as a host thread; returns its tid (or -errno) for the parent.
fn spawn_thread(m: &Machine, process: &Process, parent: &CpuState, spec: ThreadSpec) -> i64 {
    let abi = m.frontend.user_abi().clone();
    let mut env = CpuState::new_boxed();
    m.frontend.init_user_state(&mut env);
    env.regs = parent.regs;
    env.pc = parent.pc + abi.syscall_insn_len;
    env.set_word(abi.syscall_ret, 0);
    env.set_word(abi.sp, spec.sp);
    if let Some(tp) = spec.tp {
        env.set_word(abi.tp, tp);
    }
    let mut child = process.for_thread(spec.clear_tid.unwrap_or(0));
    let mut machine = m.clone();
    let (tid_tx, tid_rx) = mpsc::channel::<i32>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    live_threads_add(1);
    let started = std::thread::Builder::new()
        .name("guest".into())
        .stack_size(8 << 20)
        .spawn(move || {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            if let Some(at) = spec.child_tid {
                let _ = child.space.write_bytes(at, &tid.to_le_bytes());
            }
            let _ = tid_tx.send(tid);
            if go_rx.recv().is_err() {
                live_threads_add(-1);
                return;
            }
            match cpu_loop(&mut machine, &mut child, &mut env) {
                Ok(End::Thread(_)) => {
                    child.thread_exit();
                    live_threads_add(-1);
                }
                Ok(End::Group(code)) => std::process::exit(code),
                Err(e) => {
                    eprintln!("xlat: guest thread: {e}");
                    std::process::exit(1)
                }
            }
        });
    if started.is_err() {
        live_threads_add(-1);
        return -i64::from(libc::EAGAIN);
    }
    let Ok(tid) = tid_rx.recv() else {
        live_threads_add(-1);
        return -i64::from(libc::EAGAIN);
    };
    if let Some(at) = spec.parent_tid {
        let _ = process.space.write_bytes(at, &tid.to_le_bytes());
    }
    let _ = go_tx.send(());
    i64::from(tid)
}

fn guest_signal(process: &Process, engine: &Engine, sig: i32, pc: u64, arg: u64) -> ! {
    if process.opts.strace {
        eprintln!("--- guest signal {sig} at pc {pc:#x} (arg {arg:#x}) ---");
    }
    if process.opts.stats {
        eprintln!("{}", engine.stats());
    }
    die_by_signal(sig)
}
