//! Guest system calls: the per-architecture number table ([`table`]) picks a [`Sys`], and the
//! shared implementations (files, memory, process) translate it into host calls. Results are
//! Linux-style: a value, or a negative errno (the generic errno numbers equal x86-64's).

mod exec;
mod fs;
mod mem;
mod more;
mod net;
mod path;
mod proc;
mod robust;
mod sig;
mod strace;
pub mod structs;
pub mod table;

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::Arc;
use std::sync::Mutex;

use xlat_softmmu::user::{AddressSpace, MapError, PROT_READ, PROT_WRITE};

pub use exec::{ForkChild, ThreadSpec, take_argv0, take_execfn};
pub use table::Sys;

use crate::UserOptions;

/// What the run loop does after a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Put this value in the result register and continue.
    Ret(i64),
    /// The process exits with this status.
    Exit(i32),
    /// This is the child of a fork: result 0, these register changes, and a fresh engine.
    Forked(ForkChild),
    /// `exit` (93): this thread ends with this status.
    ThreadExit(i32),
    /// clone with CLONE_THREAD: the run loop starts a guest thread.
    NewThread(ThreadSpec),
    /// rt_sigreturn: the run loop restores the state from the signal frame.
    SigReturn,
    /// The host call was interrupted by a signal (EINTR). If `restartable` and the handler
    /// has SA_RESTART (or no guest handler runs), the run loop re-executes the syscall
    /// instruction after delivering the signal, as the kernel does for -ERESTARTSYS; else the
    /// guest sees EINTR.
    Interrupted {
        /// Whether Linux restarts this call under SA_RESTART.
        restartable: bool,
    },
}

/// A syscall result: a value or a (negative) errno.
type SysResult = Result<i64, i64>;

/// The per-process state the syscalls need.
#[derive(Debug, Clone)]
pub struct Process {
    /// Guest memory.
    pub space: Arc<AddressSpace>,
    /// Switches.
    pub opts: UserOptions,
    /// Absolute path of the program (for /proc/self/exe).
    pub exe: String,
    /// The guest's argv, NUL-terminated strings (for /proc/self/cmdline).
    pub cmdline: Vec<u8>,
    /// `uname -m`.
    pub machine: &'static str,
    /// The guest architecture.
    pub arch: &'static dyn crate::arch::UserArch,
    sigactions: Arc<Mutex<HashMap<u64, Vec<u8>>>>,
    sigmask: u64,
    /// Set when executable memory changed: the run loop flushes translations.
    pub flush: bool,
    /// Guest ranges whose code changed (unmapped, reprotected, replaced): the run loop drops
    /// the translations overlapping them.
    pub stale: Vec<(u64, u64)>,
    /// `xlat run` options that reproduce this run's engine settings, for execve.
    pub reexec_flags: Vec<String>,
    machine_nr: u16,
    /// The mask to restore once a signal is delivered after rt_sigsuspend.
    pub saved_mask: Option<u64>,
    /// This thread's caught signals (set by the run loop when the thread starts).
    pub signals: crate::signal::ThreadSignals,
    /// This thread's alternate signal stack.
    pub altstack: crate::signal::altstack::AltStack,
    /// The guest stack pointer at the current syscall (for sigaltstack).
    pub sp: u64,
    /// set_robust_list: this thread's robust futex list head (0: none).
    pub robust_list: u64,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the thread exits.
    clear_tid: u64,
}

/// `-errno` from the host's last error.
fn last_err() -> i64 {
    -i64::from(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// A host call's return value as a syscall result.
fn host(r: i64) -> SysResult {
    if r < 0 { Err(last_err()) } else { Ok(r) }
}

fn fault(e: MapError) -> i64 {
    -i64::from(e.errno())
}

impl Process {
    /// State for a new process running `exe` on a guest of ELF machine `machine_nr`.
    pub fn new(
        space: Arc<AddressSpace>,
        opts: UserOptions,
        exe: String,
        machine_nr: u16,
        machine: &'static str,
    ) -> Process {
        Process {
            space,
            opts,
            exe,
            cmdline: Vec::new(),
            machine,
            arch: crate::arch::for_machine(machine_nr),
            sigactions: Arc::default(),
            sigmask: 0,
            flush: false,
            stale: Vec::new(),
            reexec_flags: Vec::new(),
            machine_nr,
            clear_tid: 0,
            saved_mask: None,
            signals: crate::signal::ThreadSignals::default(),
            altstack: Default::default(),
            sp: 0,
            robust_list: 0,
        }
        .with_inherited_signals()
    }

    /// Takes over what exec passes on: the blocked mask (the host thread's mask, which
    /// execve set to the guest's) and ignored signals (SIG_IGN survives exec). SIGPIPE is
    /// special: the Rust runtime ignores it in every process, so its inherited state comes
    /// from [`exec::INHERITED_IGNORED`] (set by a guest execve), else it is the default.
    fn with_inherited_signals(mut self) -> Process {
        let mask = crate::signal::host_mask();
        let ignored = exec::inherited_ignored();
        let pipe = ignored.is_some_and(|m| m & crate::signal::bit(libc::SIGPIPE) != 0);
        crate::signal::follow_guest(libc::SIGPIPE, u64::from(pipe), 0);
        let size = self.arch.sigaction_size();
        let mut acts = self.sigactions.lock().unwrap_or_else(|e| e.into_inner());
        for sig in 1..=64 {
            let ign = if sig == libc::SIGPIPE {
                pipe
            } else {
                crate::signal::host_ignores(sig)
            };
            if ign {
                let mut raw = vec![0u8; size];
                raw[0] = 1;
                acts.insert(sig as u64, raw);
            }
        }
        drop(acts);
        self.set_sigmask(mask);
        self
    }

    /// Runs guest syscall `nr` with arguments `a`.
    pub fn syscall(&mut self, nr: u64, a: [u64; 6]) -> Outcome {
        let Some(sys) = self.arch.syscall(nr) else {
            if self.opts.unimp || self.opts.strace {
                eprintln!(
                    "xlat: unimplemented syscall {nr} ({:#x}, {:#x}, {:#x})",
                    a[0], a[1], a[2]
                );
            }
            return Outcome::Ret(-i64::from(libc::ENOSYS));
        };
        // Strings are read before the call (it may overwrite or unmap them).
        let call = self.opts.strace.then(|| self.strace_args(sys, &a));
        if matches!(sys, Sys::exit | Sys::exit_group) {
            if let Some(c) = call {
                eprintln!("{} {c}", std::process::id());
            }
            let code = a[0] as i32;
            self.release_robust_list();
            return if sys == Sys::exit {
                Outcome::ThreadExit(code)
            } else {
                Outcome::Exit(code)
            };
        }
        let r = match sys {
            Sys::clone | Sys::clone3 => {
                let o = if sys == Sys::clone {
                    self.clone(a)
                } else {
                    self.clone3(a)
                };
                if let (Some(c), Outcome::Ret(r)) = (&call, o) {
                    eprintln!(
                        "{} {c} = {}",
                        std::process::id(),
                        strace::strace_ret(sys, r)
                    );
                }
                return o;
            }
            Sys::execve => self.execve(a),
            Sys::rt_sigreturn => {
                if let Some(c) = call {
                    eprintln!("{} {c}", std::process::id());
                }
                return Outcome::SigReturn;
            }
            _ => self.dispatch(sys, a),
        };
        let r = r.unwrap_or_else(|e| e);
        if let Some(c) = call {
            eprintln!(
                "{} {c} = {}",
                std::process::id(),
                strace::strace_ret(sys, r)
            );
        }
        if r == -i64::from(libc::EINTR) {
            return Outcome::Interrupted {
                restartable: restartable(sys, a),
            };
        }
        Outcome::Ret(r)
    }

    /// State for a new guest thread: shares memory and signal actions, owns its mask and
    /// its clear-tid address.
    pub fn for_thread(&self, clear_tid: u64) -> Process {
        let mut p = self.clone();
        p.clear_tid = clear_tid;
        p.flush = false;
        p.stale = Vec::new();
        // As the kernel's copy_process for CLONE_VM: no alternate stack, no robust list.
        p.altstack = Default::default();
        p.robust_list = 0;
        p.signals = Default::default();
        p
    }

    /// The guest's action for `sig`.
    pub fn action(&self, sig: i32) -> crate::signal::Action {
        let acts = self.sigactions.lock().unwrap_or_else(|e| e.into_inner());
        acts.get(&(sig as u64)).map_or(
            crate::signal::Action {
                handler: 0,
                flags: 0,
                mask: 0,
                restorer: 0,
            },
            |b| crate::signal::Action::parse(b),
        )
    }

    /// Resets `sig` to its default action (SA_RESETHAND).
    pub fn reset_action(&self, sig: i32) {
        self.sigactions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(sig as u64));
        crate::signal::follow_guest(sig, 0, 0);
    }

    /// This thread's blocked signals.
    pub fn sigmask(&self) -> u64 {
        self.sigmask
    }

    /// Sets this thread's blocked signals (SIGKILL and SIGSTOP never are), on the host too.
    pub fn set_sigmask(&mut self, mask: u64) {
        self.sigmask = mask & !((1 << 8) | (1 << 18));
        // A caught real-time signal not yet delivered stays blocked on the host: its next
        // queued instance must wait in the kernel, not overwrite this one's siginfo.
        let held = self.signals.caught() & !0x7fff_ffff;
        crate::signal::set_host_mask(self.sigmask | held);
    }

    /// A guest thread ends: release its robust futexes, zero its clear-tid word and wake a
    /// joiner, as the kernel does.
    pub fn thread_exit(&self) {
        self.release_robust_list();
        if self.clear_tid != 0
            && self
                .space
                .write_bytes(self.clear_tid, &0u32.to_le_bytes())
                .is_ok()
        {
            let p = self.space.g2h(self.clear_tid);
            // SAFETY: the word is mapped writable guest memory (just written).
            unsafe { libc::syscall(libc::SYS_futex, p, libc::FUTEX_WAKE, i32::MAX, 0, 0, 0) };
        }
    }

    fn dispatch(&mut self, sys: Sys, a: [u64; 6]) -> SysResult {
        if let Some(r) = self.fs(sys, a) {
            return r;
        }
        if let Some(r) = self.mem(sys, a) {
            return r;
        }
        if let Some(r) = self.proc(sys, a) {
            return r;
        }
        if let Some(r) = self.more(sys, a) {
            return r;
        }
        self.unimp(sys.name())
    }

    fn unimp(&self, what: &str) -> SysResult {
        if self.opts.unimp {
            eprintln!("xlat: unimplemented syscall {what}");
        }
        Err(-i64::from(libc::ENOSYS))
    }

    /// A guest path as a host C string (EFAULT, ENAMETOOLONG).
    fn path(&self, addr: u64) -> Result<CString, i64> {
        let b = self.space.read_cstr(addr, 4096).map_err(|e| match e {
            MapError::Invalid => -i64::from(libc::ENAMETOOLONG),
            e => fault(e),
        })?;
        CString::new(b).map_err(|_| -i64::from(libc::EINVAL))
    }

    /// Host pointer to a guest buffer the host will read (`write == false`) or write.
    fn buf(&self, addr: u64, len: u64, write: bool) -> Result<*mut libc::c_void, i64> {
        let prot = if write { PROT_WRITE } else { PROT_READ };
        self.space
            .host_ptr(addr, len, prot)
            .map(|p| p.cast())
            .map_err(fault)
    }

    /// Host pointer for an optional guest pointer (NULL stays NULL).
    fn opt_buf(&self, addr: u64, len: u64, write: bool) -> Result<*mut libc::c_void, i64> {
        if addr == 0 {
            Ok(std::ptr::null_mut())
        } else {
            self.buf(addr, len, write)
        }
    }

    fn put(&self, addr: u64, data: &[u8]) -> Result<(), i64> {
        self.space.write_bytes(addr, data).map_err(fault)
    }

    fn get(&self, addr: u64, len: usize) -> Result<Vec<u8>, i64> {
        let mut v = vec![0; len];
        self.space.read_bytes(addr, &mut v).map_err(fault)?;
        Ok(v)
    }
}

/// Whether Linux restarts `sys` after a SA_RESTART handler (-ERESTARTSYS) rather than
/// failing with EINTR (-ERESTARTNOHAND, -ERESTART_RESTARTBLOCK or plain -EINTR: waits with a
/// timeout or a temporary signal mask).
fn restartable(sys: Sys, a: [u64; 6]) -> bool {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAIT_BITSET: u64 = 9;
    match sys {
        Sys::ppoll
        | Sys::pselect6
        | Sys::epoll_pwait
        | Sys::nanosleep
        | Sys::clock_nanosleep
        | Sys::rt_sigsuspend
        | Sys::rt_sigtimedwait => false,
        Sys::futex => !(matches!(a[1] & 0x7f, FUTEX_WAIT | FUTEX_WAIT_BITSET) && a[3] != 0),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
