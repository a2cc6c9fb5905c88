//! Signal syscalls. The host kernel keeps the books (see [`crate::signal`]): each guest
//! thread's mask is mirrored on its host thread and dispositions follow the guest's, so kill,
//! tgkill and sigqueue (to ourselves or others), sigpending, sigtimedwait and signalfd are
//! host calls on the same numbers; the generic signal numbers, 8-byte sigsets and 128-byte
//! siginfo agree with x86-64's. Only what the host delivered to our handler but the guest has
//! not seen yet lives here ([`crate::signal::ThreadSignals`]).

use crate::signal::{self, SYNC_MASK, altstack};

use super::{Process, Sys, SysResult, host};

fn einval() -> i64 {
    -i64::from(libc::EINVAL)
}

/// SIGKILL and SIGSTOP: never blocked, never waited for.
const UNBLOCKABLE: u64 = (1 << 8) | (1 << 18);

impl Process {
    /// The signal syscalls; `None` if `sys` is not one of them.
    pub(super) fn sig(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        let i = |n: usize| a[n] as i32;
        // SAFETY (each host call below): integer arguments, or pointers to our own buffers.
        let r = match sys {
            Sys::rt_sigaction => self.rt_sigaction(a),
            Sys::rt_sigprocmask => self.rt_sigprocmask(a),
            Sys::rt_sigsuspend => self.rt_sigsuspend(a),
            Sys::rt_sigpending => self.rt_sigpending(a),
            Sys::rt_sigtimedwait => self.rt_sigtimedwait(a),
            Sys::sigaltstack => self.sigaltstack(a),
            // SAFETY: integer arguments.
            Sys::kill => host(i64::from(unsafe { libc::kill(i(0), i(1)) })),
            // SAFETY: integer arguments.
            Sys::tkill => host(unsafe { libc::syscall(libc::SYS_tkill, i(0), i(1)) }),
            // SAFETY: integer arguments.
            Sys::tgkill => host(unsafe { libc::syscall(libc::SYS_tgkill, i(0), i(1), i(2)) }),
            Sys::rt_sigqueueinfo => self.get(a[2], 128).and_then(|info| {
                // SAFETY: a 128-byte siginfo we own.
                host(unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, i(0), i(1), info.as_ptr()) })
            }),
            Sys::rt_tgsigqueueinfo => self.get(a[3], 128).and_then(|info| {
                // SAFETY: a 128-byte siginfo we own.
                host(unsafe {
                    libc::syscall(libc::SYS_rt_tgsigqueueinfo, i(0), i(1), i(2), info.as_ptr())
                })
            }),
            Sys::signalfd4 => self.signalfd4(a),
            Sys::set_robust_list => {
                if a[1] != 24 {
                    Err(einval())
                } else {
                    self.robust_list = a[0];
                    Ok(0)
                }
            }
            Sys::get_robust_list => self.get_robust_list(a),
            _ => return None,
        };
        Some(r)
    }

    fn set_of(&self, addr: u64) -> Result<u64, i64> {
        Ok(u64::from_le_bytes(
            self.get(addr, 8)?.try_into().unwrap_or_default(),
        ))
    }

    fn rt_sigaction(&mut self, a: [u64; 6]) -> SysResult {
        let sig = a[0];
        let size = self.arch.sigaction_size();
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
        if let Some(n) = new {
            let act = signal::Action::parse(&n);
            signal::follow_guest(sig as i32, act.handler, act.flags);
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
            Some(self.set_of(a[1])?)
        } else {
            None
        };
        if a[2] != 0 {
            self.put(a[2], &self.sigmask.to_le_bytes())?;
        }
        if let Some(s) = set {
            let m = match a[0] {
                0 => self.sigmask | s,
                1 => self.sigmask & !s,
                2 => s,
                _ => return Err(einval()),
            };
            // Unblocking lets the host deliver what was pending to our handler right here;
            // the run loop delivers it to the guest at the syscall's return.
            self.set_sigmask(m);
        }
        Ok(0)
    }

    fn rt_sigpending(&self, a: [u64; 6]) -> SysResult {
        if a[1] != 8 {
            return Err(einval());
        }
        let mut hostp = 0u64;
        // SAFETY: an 8-byte set we own.
        host(unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut hostp as *mut u64, 8usize) })?;
        let p = (hostp | self.signals.caught()) & self.sigmask;
        self.put(a[0], &p.to_le_bytes()).map(|_| 0)
    }

    /// Waits with a temporary mask until a handler runs; the run loop delivers the signal
    /// (the frame keeps the original mask) and the call returns EINTR.
    fn rt_sigsuspend(&mut self, a: [u64; 6]) -> SysResult {
        if a[1] != 8 {
            return Err(einval());
        }
        let temp = self.set_of(a[0])? & !UNBLOCKABLE;
        self.saved_mask = Some(self.sigmask);
        // Everything blocked while we look, so nothing slips in between the look and the wait.
        signal::set_host_mask(!0);
        self.sigmask = temp;
        if self.signals.peek(temp).is_none() {
            let m = temp & !SYNC_MASK;
            // SAFETY: an 8-byte set we own; returns after a handler ran.
            unsafe { libc::syscall(libc::SYS_rt_sigsuspend, &m as *const u64, 8usize) };
        }
        signal::set_host_mask(temp);
        Err(-i64::from(libc::EINTR))
    }

    fn rt_sigtimedwait(&mut self, a: [u64; 6]) -> SysResult {
        if a[3] != 8 {
            return Err(einval());
        }
        let set = self.set_of(a[0])? & !UNBLOCKABLE;
        let ts = self.opt_buf(a[2], 16, false)?;
        let (sig, info) = match self.signals.take(!set) {
            Some(got) => got,
            None => {
                let mut info = [0u8; 128];
                // SAFETY: our own set and siginfo; ts is NULL or a checked guest timespec.
                let r = host(unsafe {
                    libc::syscall(
                        libc::SYS_rt_sigtimedwait,
                        &set as *const u64,
                        info.as_mut_ptr(),
                        ts,
                        8usize,
                    )
                })?;
                (r as i32, info)
            }
        };
        if a[1] != 0 {
            self.put(a[1], &info)?;
        }
        Ok(i64::from(sig))
    }

    fn sigaltstack(&mut self, a: [u64; 6]) -> SysResult {
        let before = self.altstack.report(self.sp);
        if a[0] != 0 {
            let b = self.get(a[0], 24)?;
            let (sp, flags, size) = altstack::decode(&b);
            self.altstack
                .set(self.sp, sp, flags, size)
                .map_err(|e| -i64::from(e))?;
        }
        if a[1] != 0 {
            self.put(a[1], &before)?;
        }
        Ok(0)
    }

    fn signalfd4(&self, a: [u64; 6]) -> SysResult {
        if a[2] != 8 {
            return Err(einval());
        }
        let m = self.set_of(a[1])?;
        // SAFETY: an 8-byte set we own.
        host(unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                a[0] as i32,
                &m as *const u64,
                8usize,
                a[3] as i32,
            )
        })
    }

    fn get_robust_list(&self, a: [u64; 6]) -> SysResult {
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() };
        if a[0] != 0 && a[0] as i32 != me {
            // Other threads' heads live in their own run loops.
            return Err(-i64::from(libc::EPERM));
        }
        self.put(a[1], &self.robust_list.to_le_bytes())?;
        self.put(a[2], &24u64.to_le_bytes())?;
        Ok(0)
    }
}
