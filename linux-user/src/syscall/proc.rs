//! Process, time and signal syscalls.

use super::structs::utsname;
use super::{Process, Sys, SysResult, host};

fn einval() -> i64 {
    -i64::from(libc::EINVAL)
}

/// Signals whose default action is to do nothing.
fn ignored_by_default(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

impl Process {
    /// The process/time/signal syscalls; `None` if `sys` is not one of them.
    pub(super) fn proc(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        use libc::*;
        // SAFETY: for every libc call below, pointer arguments are checked guest ranges of the
        // struct's size (same layout on host and guest), or NULL where the call allows it.
        let r = unsafe {
            match sys {
                Sys::uname => {
                    let mut u: utsname = std::mem::zeroed();
                    host(i64::from(uname(&mut u)))
                        .and_then(|_| self.put(a[0], &utsname(&u, self.machine)).map(|_| 0))
                }
                Sys::getrandom => self
                    .buf(a[0], a[1], true)
                    .and_then(|p| host(getrandom(p, a[1] as usize, a[2] as u32) as i64)),
                Sys::clock_gettime => self
                    .buf(a[1], 16, true)
                    .and_then(|p| host(syscall(SYS_clock_gettime, a[0] as i32, p))),
                Sys::clock_getres => self
                    .opt_buf(a[1], 16, true)
                    .and_then(|p| host(syscall(SYS_clock_getres, a[0] as i32, p))),
                Sys::gettimeofday => self.opt_buf(a[0], 16, true).and_then(|tv| {
                    let tz = self.opt_buf(a[1], 8, true)?;
                    host(syscall(SYS_gettimeofday, tv, tz))
                }),
                Sys::nanosleep => self.buf(a[0], 16, false).and_then(|req| {
                    let rem = self.opt_buf(a[1], 16, true)?;
                    host(syscall(SYS_nanosleep, req, rem))
                }),
                Sys::clock_nanosleep => self.buf(a[2], 16, false).and_then(|req| {
                    let rem = self.opt_buf(a[3], 16, true)?;
                    // Returns the error number directly rather than -1/errno.
                    let r = clock_nanosleep(a[0] as i32, a[1] as i32, req.cast(), rem.cast());
                    if r == 0 { Ok(0) } else { Err(-i64::from(r)) }
                }),
                Sys::getpid => Ok(i64::from(getpid())),
                Sys::getppid => Ok(i64::from(getppid())),
                Sys::gettid => Ok(i64::from(gettid())),
                Sys::set_tid_address => {
                    self.clear_tid = a[0];
                    Ok(i64::from(gettid()))
                }
                Sys::getuid => Ok(i64::from(getuid())),
                Sys::geteuid => Ok(i64::from(geteuid())),
                Sys::getgid => Ok(i64::from(getgid())),
                Sys::getegid => Ok(i64::from(getegid())),
                Sys::getresuid | Sys::getresgid => self.getres(sys == Sys::getresuid, a),
                Sys::getgroups => self
                    .opt_buf(a[1], a[0].saturating_mul(4), true)
                    .and_then(|p| host(i64::from(getgroups(a[0] as i32, p.cast())))),
                Sys::getpgid => host(i64::from(getpgid(a[0] as i32))),
                Sys::setpgid => host(i64::from(setpgid(a[0] as i32, a[1] as i32))),
                Sys::getsid => host(i64::from(getsid(a[0] as i32))),
                Sys::setsid => host(i64::from(setsid())),
                Sys::set_robust_list => Ok(0),
                Sys::rt_sigaction => self.rt_sigaction(a),
                Sys::rt_sigprocmask => self.rt_sigprocmask(a),
                Sys::rt_sigsuspend => self.rt_sigsuspend(a),
                Sys::rt_sigpending => {
                    let p = self.pending.load(std::sync::atomic::Ordering::SeqCst)
                        | crate::signal::peek_pending();
                    self.put(a[0], &(p & self.sigmask).to_le_bytes()).map(|_| 0)
                }
                Sys::sigaltstack => self.opt_buf(a[1], 24, true).map(|old| {
                    if !old.is_null() {
                        // ss_sp = 0, ss_flags = SS_DISABLE, ss_size = 0.
                        let mut b = [0u8; 24];
                        b[8] = 2;
                        std::ptr::copy_nonoverlapping(b.as_ptr(), old.cast::<u8>(), 24);
                    }
                    0
                }),
                Sys::prlimit64 => self.opt_buf(a[2], 16, false).and_then(|new| {
                    let old = self.opt_buf(a[3], 16, true)?;
                    host(syscall(SYS_prlimit64, a[0] as i32, a[1] as u32, new, old))
                }),
                Sys::getrlimit => self
                    .buf(a[1], 16, true)
                    .and_then(|p| host(syscall(SYS_getrlimit, a[0] as u32, p))),
                Sys::setrlimit => self
                    .buf(a[1], 16, false)
                    .and_then(|p| host(syscall(SYS_setrlimit, a[0] as u32, p))),
                Sys::sysinfo => self
                    .buf(a[0], 112, true)
                    .and_then(|p| host(syscall(SYS_sysinfo, p))),
                Sys::times => self
                    .opt_buf(a[0], 32, true)
                    .and_then(|p| host(syscall(SYS_times, p))),
                Sys::getrusage => self
                    .buf(a[1], 144, true)
                    .and_then(|p| host(syscall(SYS_getrusage, a[0] as i32, p))),
                Sys::sched_getaffinity => self.buf(a[2], a[1], true).and_then(|p| {
                    host(syscall(
                        SYS_sched_getaffinity,
                        a[0] as i32,
                        a[1] as usize,
                        p,
                    ))
                }),
                Sys::sched_yield => host(i64::from(sched_yield())),
                Sys::prctl => self.prctl(a),
                Sys::wait4 => self.opt_buf(a[1], 4, true).and_then(|st| {
                    let ru = self.opt_buf(a[3], 144, true)?;
                    host(syscall(SYS_wait4, a[0] as i32, st, a[2] as i32, ru))
                }),
                Sys::futex => self.futex(a),
                Sys::kill => {
                    let pid = a[0] as i32;
                    if pid == 0 || pid == getpid() {
                        self.signal_self(a[1] as i32)
                    } else {
                        host(i64::from(kill(pid, a[1] as i32)))
                    }
                }
                Sys::tkill => self.tgkill(getpid(), a[0] as i32, a[1] as i32),
                Sys::tgkill => self.tgkill(a[0] as i32, a[1] as i32, a[2] as i32),
                Sys::riscv_flush_icache => {
                    self.flush = true;
                    Ok(0)
                }
                Sys::riscv_hwprobe | Sys::rseq | Sys::membarrier => self.unimp(sys.name()),
                _ => return None,
            }
        };
        Some(r)
    }

    fn getres(&self, uid: bool, a: [u64; 6]) -> SysResult {
        // SAFETY: plain id getters.
        let ids = unsafe {
            if uid {
                [libc::getuid(), libc::geteuid(), libc::getuid()]
            } else {
                [libc::getgid(), libc::getegid(), libc::getgid()]
            }
        };
        for (p, v) in a.iter().zip(ids) {
            self.put(*p, &v.to_le_bytes())?;
        }
        Ok(0)
    }

    fn rt_sigaction(&mut self, a: [u64; 6]) -> SysResult {
        let sig = a[0];
        let size = self.table.sigaction_size;
        if !(1..=64).contains(&sig) || a[3] != 8 || (a[1] != 0 && (sig == 9 || sig == 19)) {
            return Err(einval());
        }
        let new = if a[1] != 0 {
            Some(self.get(a[1], size)?)
        } else {
            None
        };
        if a[2] != 0 {
            let old = self
                .sigactions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&sig)
                .cloned()
                .unwrap_or_else(|| vec![0; size]);
            self.put(a[2], &old)?;
        }
        if let Some(n) = &new {
            crate::signal::follow_guest(sig as i32, crate::signal::Action::parse(n).handler);
        }
        if let Some(n) = new {
            self.sigactions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(sig, n);
        }
        Ok(0)
    }

    fn rt_sigprocmask(&mut self, a: [u64; 6]) -> SysResult {
        if a[3] != 8 {
            return Err(einval());
        }
        let set = if a[1] != 0 {
            Some(u64::from_le_bytes(
                self.get(a[1], 8)?.try_into().unwrap_or_default(),
            ))
        } else {
            None
        };
        if a[2] != 0 {
            self.put(a[2], &self.sigmask.to_le_bytes())?;
        }
        if let Some(s) = set {
            let unblockable = (1 << 8) | (1 << 18); // SIGKILL, SIGSTOP (bit = sig - 1)
            self.sigmask = match a[0] {
                0 => self.sigmask | s,
                1 => self.sigmask & !s,
                2 => s,
                _ => return Err(einval()),
            } & !unblockable;
        }
        Ok(0)
    }

    /// Waits with a temporary mask until a signal is deliverable; the run loop delivers it
    /// (the frame keeps the original mask) and the call returns EINTR.
    fn rt_sigsuspend(&mut self, a: [u64; 6]) -> SysResult {
        if a[1] != 8 {
            return Err(einval());
        }
        let mask = u64::from_le_bytes(self.get(a[0], 8)?.try_into().unwrap_or_default());
        self.saved_mask = Some(self.sigmask);
        self.set_sigmask(mask);
        let open = !self.sigmask;
        while (self.pending.load(std::sync::atomic::Ordering::SeqCst)
            | crate::signal::peek_pending())
            & open
            == 0
        {
            // A host signal interrupts the sleep early; the poll bounds a missed wakeup.
            // SAFETY: a plain sleep.
            unsafe { libc::usleep(1000) };
        }
        Err(-i64::from(libc::EINTR))
    }

    fn prctl(&self, a: [u64; 6]) -> SysResult {
        const PR_SET_NAME: u64 = 15;
        const PR_GET_NAME: u64 = 16;
        match a[0] {
            PR_SET_NAME | PR_GET_NAME => {
                let p = self.buf(a[1], 16, a[0] == PR_GET_NAME)?;
                // SAFETY: p is a checked 16-byte guest buffer.
                host(i64::from(unsafe { libc::prctl(a[0] as i32, p) }))
            }
            _ => Err(einval()),
        }
    }

    fn futex(&self, a: [u64; 6]) -> SysResult {
        let op = a[1] & 0x7f;
        let uaddr = self.buf(a[0], 4, false)?;
        // WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2 take a timespec pointer; the
        // others take an integer there.
        let timeout = if matches!(op, 0 | 6 | 9 | 11 | 13) {
            self.opt_buf(a[3], 16, false)?
        } else {
            a[3] as *mut _
        };
        let uaddr2 = if matches!(op, 3 | 4 | 5 | 11 | 12) {
            self.opt_buf(a[4], 4, true)?
        } else {
            a[4] as *mut _
        };
        // SAFETY: futex words are checked guest memory; guest memory is host memory, so host
        // futexes work on it directly.
        host(unsafe {
            libc::syscall(
                libc::SYS_futex,
                uaddr,
                a[1] as i32,
                a[2] as u32,
                timeout,
                uaddr2,
                a[5] as u32,
            )
        })
    }

    fn tgkill(&self, tgid: i32, tid: i32, sig: i32) -> SysResult {
        // SAFETY: plain id getters and a kill to another thread group.
        unsafe {
            if tgid == libc::getpid() && tid == libc::gettid() {
                self.signal_self(sig)
            } else {
                host(libc::syscall(libc::SYS_tgkill, tgid, tid, sig))
            }
        }
    }

    /// A signal the guest sent itself. Handlers are recorded but not yet run, so a caught
    /// signal takes its default action (with a note under `-d unimp`).
    fn signal_self(&self, sig: i32) -> SysResult {
        if !(0..=64).contains(&sig) {
            return Err(einval());
        }
        if sig == 0 {
            return Ok(0);
        }
        let handler = self
            .sigactions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(sig as u64))
            .map_or(0, |b| {
                u64::from_le_bytes(b[..8].try_into().unwrap_or_default())
            });
        if handler == 1 || ignored_by_default(sig) {
            return Ok(0);
        }
        if matches!(
            sig,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
        ) {
            // SAFETY: stopping ourselves; we continue when resumed.
            unsafe { libc::raise(sig) };
            return Ok(0);
        }
        if handler > 1 || self.sigmask & (1 << (sig - 1)) != 0 {
            // Delivered (or kept pending while blocked) by the run loop.
            self.pending
                .fetch_or(1 << (sig - 1), std::sync::atomic::Ordering::SeqCst);
            return Ok(0);
        }
        crate::run::die_by_signal(sig)
    }
}
