//! Less common pass-through syscalls: sockets, epoll, select, ids, scheduling, locks. Where a
//! struct holds guest pointers (msghdr, pselect6's sigmask pair) it is rebuilt with host
//! pointers; epoll_event is 16 bytes on the generic ABI but packed to 12 on x86-64
//! ([`crate::arch::UserArch::epoll_event_size`]).

use super::{Process, Sys, SysResult, host};

fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default())
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or_default())
}

impl Process {
    /// The syscalls of this module; `None` if `sys` is not one of them.
    pub(super) fn more(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        use libc::*;
        let i = |n: usize| a[n] as i32;
        // SAFETY: for every libc call below, pointer arguments are checked guest ranges of the
        // size the call uses (same layout on host and guest), owned host buffers, or NULL.
        let r = unsafe {
            match sys {
                Sys::eventfd2 => host(i64::from(eventfd(a[0] as u32, i(1)))),
                Sys::epoll_create1 => host(i64::from(epoll_create1(i(0)))),
                Sys::epoll_ctl => self.epoll_ctl(a),
                Sys::epoll_pwait | Sys::epoll_pwait2 => {
                    self.epoll_pwait(a, sys == Sys::epoll_pwait2)
                }
                Sys::timerfd_create => host(i64::from(timerfd_create(i(0), i(1)))),
                Sys::timerfd_settime => self.buf(a[2], 32, false).and_then(|n| {
                    let o = self.opt_buf(a[3], 32, true)?;
                    host(syscall(SYS_timerfd_settime, i(0), i(1), n, o))
                }),
                Sys::timerfd_gettime => self
                    .buf(a[1], 32, true)
                    .and_then(|p| host(syscall(SYS_timerfd_gettime, i(0), p))),
                // cap_user_header (version, pid) and up to two 12-byte cap_user_data.
                Sys::capget | Sys::capset => self.buf(a[0], 8, true).and_then(|h| {
                    let d = self.opt_buf(a[1], 24, sys == Sys::capget)?;
                    let nr = if sys == Sys::capget {
                        SYS_capget
                    } else {
                        SYS_capset
                    };
                    host(syscall(nr, h, d))
                }),
                Sys::sync_file_range => host(syscall(
                    SYS_sync_file_range,
                    i(0),
                    a[1] as i64,
                    a[2] as i64,
                    a[3] as u32,
                )),
                Sys::syncfs => host(i64::from(syncfs(i(0)))),
                Sys::pidfd_open => host(syscall(SYS_pidfd_open, i(0), a[1] as u32)),
                Sys::pidfd_send_signal => self.opt_buf(a[2], 128, false).and_then(|info| {
                    host(syscall(
                        SYS_pidfd_send_signal,
                        i(0),
                        i(1),
                        info,
                        a[3] as u32,
                    ))
                }),
                Sys::inotify_init1 => host(i64::from(inotify_init1(i(0)))),
                Sys::inotify_add_watch => self.path(a[1]).and_then(|p| {
                    host(i64::from(inotify_add_watch(i(0), p.as_ptr(), a[2] as u32)))
                }),
                Sys::inotify_rm_watch => host(i64::from(inotify_rm_watch(i(0), i(1)))),
                Sys::flock => host(i64::from(flock(i(0), i(1)))),
                Sys::mknodat => self.path(a[1]).and_then(|p| {
                    host(i64::from(mknodat(
                        i(0),
                        p.as_ptr(),
                        a[2] as mode_t,
                        a[3] as dev_t,
                    )))
                }),
                Sys::fchmodat2 => self
                    .path(a[1])
                    .and_then(|p| host(syscall(452, i(0), p.as_ptr(), a[2] as mode_t, i(3)))),
                Sys::preadv | Sys::pwritev => {
                    self.iovecs(a[1], a[2], sys == Sys::preadv).and_then(|iov| {
                        let n = iov.len() as i32;
                        let r = if sys == Sys::preadv {
                            preadv(i(0), iov.as_ptr(), n, a[3] as i64)
                        } else {
                            pwritev(i(0), iov.as_ptr(), n, a[3] as i64)
                        };
                        host(r as i64)
                    })
                }
                // (fd_in, off_in*, fd_out, off_out*, len, flags): the offsets through host buffers
                Sys::splice | Sys::copy_file_range => {
                    let nr = if sys == Sys::splice {
                        SYS_splice
                    } else {
                        SYS_copy_file_range
                    };
                    self.opt_buf(a[1], 8, true).and_then(|oi| {
                        let oo = self.opt_buf(a[3], 8, true)?;
                        host(syscall(nr, i(0), oi, i(2), oo, a[4] as usize, a[5] as u32))
                    })
                }
                Sys::tee => host(syscall(SYS_tee, i(0), i(1), a[2] as usize, a[3] as u32)),
                Sys::personality => host(i64::from(personality(a[0] as c_ulong))),
                Sys::waitid => self.opt_buf(a[2], 128, true).and_then(|info| {
                    let ru = self.opt_buf(a[4], 144, true)?;
                    host(syscall(SYS_waitid, i(0), i(1), info, i(3), ru))
                }),
                Sys::getitimer => self
                    .buf(a[1], 32, true)
                    .and_then(|p| host(syscall(SYS_getitimer, i(0), p))),
                Sys::setitimer => self.buf(a[1], 32, false).and_then(|n| {
                    let o = self.opt_buf(a[2], 32, true)?;
                    host(syscall(SYS_setitimer, i(0), n, o))
                }),
                Sys::pselect6 => self.pselect6(a),
                Sys::sched_getscheduler => host(i64::from(sched_getscheduler(i(0)))),
                Sys::sched_getparam => self
                    .buf(a[1], 4, true)
                    .and_then(|p| host(syscall(SYS_sched_getparam, i(0), p))),
                Sys::sched_setaffinity => self
                    .buf(a[2], a[1], false)
                    .and_then(|p| host(syscall(SYS_sched_setaffinity, i(0), a[1] as usize, p))),
                Sys::getpriority => host(syscall(SYS_getpriority, i(0), i(1))),
                Sys::setpriority => host(syscall(SYS_setpriority, i(0), i(1), i(2))),
                Sys::setuid => host(syscall(SYS_setuid, a[0] as u32)),
                Sys::setgid => host(syscall(SYS_setgid, a[0] as u32)),
                Sys::setreuid => host(syscall(SYS_setreuid, a[0] as u32, a[1] as u32)),
                Sys::setregid => host(syscall(SYS_setregid, a[0] as u32, a[1] as u32)),
                Sys::setresuid => host(syscall(
                    SYS_setresuid,
                    a[0] as u32,
                    a[1] as u32,
                    a[2] as u32,
                )),
                Sys::setresgid => host(syscall(
                    SYS_setresgid,
                    a[0] as u32,
                    a[1] as u32,
                    a[2] as u32,
                )),
                Sys::setgroups => self
                    .buf(a[1], a[0].saturating_mul(4), false)
                    .and_then(|p| host(syscall(SYS_setgroups, a[0] as usize, p))),
                Sys::sethostname => self
                    .buf(a[0], a[1], false)
                    .and_then(|p| host(syscall(SYS_sethostname, p, a[1] as usize))),
                Sys::getcpu => self.opt_buf(a[0], 4, true).and_then(|c| {
                    let n = self.opt_buf(a[1], 4, true)?;
                    host(syscall(SYS_getcpu, c, n, 0usize))
                }),
                Sys::mlock | Sys::munlock | Sys::mlockall | Sys::munlockall => Ok(0),
                _ => return self.net(sys, a),
            }
        };
        Some(r)
    }

    /// Host iovecs for a guest iovec array (each range checked).
    pub(super) fn iovecs(&self, addr: u64, n: u64, write: bool) -> Result<Vec<libc::iovec>, i64> {
        if n > 1024 {
            return Err(-i64::from(libc::EINVAL));
        }
        let raw = self.get(addr, n as usize * 16)?;
        raw.chunks_exact(16)
            .map(|c| {
                let (base, len) = (le64(c, 0), le64(c, 8));
                Ok(libc::iovec {
                    iov_base: self.buf(base, len, write)?,
                    iov_len: len as usize,
                })
            })
            .collect()
    }

    fn epoll_ctl(&self, a: [u64; 6]) -> SysResult {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        let p = if a[3] != 0 {
            let size = self.arch.epoll_event_size();
            let b = self.get(a[3], size)?;
            ev.events = le32(&b, 0);
            ev.u64 = le64(&b, size - 8);
            &mut ev as *mut libc::epoll_event
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: p is NULL or our own epoll_event.
        host(i64::from(unsafe {
            libc::epoll_ctl(a[0] as i32, a[1] as i32, a[2] as i32, p)
        }))
    }

    /// epoll_pwait, or epoll_pwait2 (`ts`: the timeout is a timespec pointer).
    fn epoll_pwait(&self, a: [u64; 6], ts: bool) -> SysResult {
        let max = a[2] as i32;
        if !(1..=65536).contains(&max) {
            return Err(-i64::from(libc::EINVAL));
        }
        let size = self.arch.epoll_event_size();
        self.buf(a[1], (max as usize * size) as u64, true)?;
        let mask = self.opt_buf(a[4], 8, false)?;
        let timeout = if ts {
            self.opt_buf(a[3], 16, false)? as usize
        } else {
            a[3] as i32 as isize as usize
        };
        let nr = if ts {
            libc::SYS_epoll_pwait2
        } else {
            libc::SYS_epoll_pwait
        };
        let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; max as usize];
        // SAFETY: evs holds max entries; mask is NULL or a checked 8-byte guest sigset.
        let n = host(unsafe {
            libc::syscall(
                nr,
                a[0] as i32,
                evs.as_mut_ptr(),
                max,
                timeout,
                mask,
                a[5] as usize,
            )
        })?;
        let mut out = Vec::with_capacity(n as usize * size);
        for e in &evs[..n as usize] {
            let (events, data) = (e.events, e.u64);
            out.extend_from_slice(&events.to_le_bytes());
            out.resize(out.len() + size - 12, 0); // the generic ABI's padding
            out.extend_from_slice(&data.to_le_bytes());
        }
        self.put(a[1], &out)?;
        Ok(n)
    }

    fn pselect6(&self, a: [u64; 6]) -> SysResult {
        let n = a[0];
        if n > 1024 {
            return Err(-i64::from(libc::EINVAL));
        }
        let bytes = n.div_ceil(64) * 8;
        let sets = [a[1], a[2], a[3]].map(|p| self.opt_buf(p, bytes, true));
        let [r, w, e] = sets;
        let (r, w, e) = (r?, w?, e?);
        let ts = self.opt_buf(a[4], 16, true)?;
        // The sixth argument points at { const sigset_t *ss; size_t ss_len } (guest pointers).
        let mut pair = [0u64; 2];
        let sig = if a[5] != 0 {
            let b = self.get(a[5], 16)?;
            let ss = self.opt_buf(le64(&b, 0), 8, false)?;
            pair[0] = ss as u64;
            pair[1] = le64(&b, 8);
            pair.as_mut_ptr().cast::<libc::c_void>()
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: fd sets, timespec and the sigset are checked guest ranges; pair is ours.
        host(unsafe { libc::syscall(libc::SYS_pselect6, n as i32, r, w, e, ts, sig) })
    }
}
