//! The per-thread run loop: run guest code, service its system calls, start guest threads,
//! turn guest exceptions into the matching fatal signal.

use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};

use xlat_backend::{Engine, EngineConfig, RunExit};
use xlat_ir::{Frontend, TrapClass, abi::CpuState};
use xlat_softmmu::GuestMemory;

use crate::LoadError;
use crate::run::die_by_signal;
use crate::syscall::{Outcome, Process, ThreadSpec};

/// What every guest thread of a process shares.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub frontend: Arc<dyn Frontend>,
    pub mem: Arc<dyn GuestMemory>,
    pub cfg: EngineConfig,
    pub engine: Arc<Engine>,
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
        TrapClass::AccessFault => libc::SIGSEGV,
        TrapClass::Arithmetic => libc::SIGFPE,
    }
}

/// Runs guest code on `env` until this thread or the process exits.
pub(crate) fn cpu_loop(
    m: &mut Machine,
    process: &mut Process,
    env: &mut CpuState,
) -> Result<End, LoadError> {
    let abi = m.frontend.user_abi().clone();
    loop {
        match m.engine.run(env) {
            RunExit::Syscall => {
                let nr = env.word(abi.syscall_nr);
                let args = abi.syscall_args.map(|o| env.word(o));
                match process.syscall(nr, args) {
                    Outcome::Ret(v) => env.set_word(abi.syscall_ret, v as u64),
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
                        // The old engine's code memory is shared with the parent: never
                        // touch it again (not even to drop it).
                        let fresh = Arc::new(Engine::new(
                            m.frontend.clone(),
                            m.mem.clone(),
                            m.cfg.clone(),
                        )?);
                        std::mem::forget(std::mem::replace(&mut m.engine, fresh));
                        env.clear_jmp_cache();
                    }
                    Outcome::NewThread(spec) => {
                        let r = spawn_thread(m, process, env, spec);
                        env.set_word(abi.syscall_ret, r as u64);
                    }
                }
                if std::mem::take(&mut process.flush) {
                    m.engine.flush();
                }
                env.pc += abi.syscall_insn_len;
            }
            RunExit::Request => env.exit_request.store(0, Ordering::Relaxed),
            RunExit::Breakpoint => guest_signal(process, &m.engine, libc::SIGTRAP, env.pc, 0),
            RunExit::Exception { code, arg } => {
                let sig = signal_for(m.frontend.classify_trap(code));
                guest_signal(process, &m.engine, sig, env.pc, arg)
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
                return;
            }
            match cpu_loop(&mut machine, &mut child, &mut env) {
                Ok(End::Thread(_)) => child.thread_exit(),
                Ok(End::Group(code)) => std::process::exit(code),
                Err(e) => {
                    eprintln!("xlat: guest thread: {e}");
                    std::process::exit(1)
                }
            }
        });
    if started.is_err() {
        return -i64::from(libc::EAGAIN);
    }
    let Ok(tid) = tid_rx.recv() else {
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
        eprintln!("xlat: {:?}", engine.stats());
    }
    die_by_signal(sig)
}
