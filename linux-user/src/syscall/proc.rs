//! Process, time and signal syscalls.

use super::structs::utsname;
use super::{Process, Sys, SysResult, fault, host};

fn einval() -> i64 {
    -i64::from(libc::EINVAL)
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
                Sys::riscv_flush_icache => {
                    self.flush = true;
                    Ok(0)
                }
                Sys::riscv_hwprobe => self.riscv_hwprobe(a),
                Sys::rseq | Sys::membarrier => self.unimp(sys.name()),
                _ => return self.sig(sys, a),
            }
        };
        Some(r)
    }

    /// riscv_hwprobe(pairs, pair_count, cpusetsize, cpus, flags): every CPU is the same.
    fn riscv_hwprobe(&self, a: [u64; 6]) -> SysResult {
        let n = usize::try_from(a[1]).map_err(|_| -i64::from(libc::EINVAL))?;
        if n > 1 << 16 {
            return Err(-i64::from(libc::EINVAL));
        }
        let mut raw = vec![0u8; n * 16];
        self.space.read_bytes(a[0], &mut raw).map_err(fault)?;
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let mut pairs: Vec<(i64, u64)> = raw
            .chunks_exact(16)
            .map(|c| (word(&c[..8]) as i64, word(&c[8..])))
            .collect();
        crate::arch::riscv64::hwprobe::fill(&mut pairs, a[4])?;
        for (c, (k, v)) in raw.chunks_exact_mut(16).zip(&pairs) {
            c[..8].copy_from_slice(&k.to_le_bytes());
            c[8..].copy_from_slice(&v.to_le_bytes());
        }
        self.space.write_bytes(a[0], &raw).map_err(fault)?;
        Ok(0)
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

    fn prctl(&self, a: [u64; 6]) -> SysResult {
        const PR_GET_PDEATHSIG: u64 = 2;
        const PR_SET_NAME: u64 = 15;
        const PR_GET_NAME: u64 = 16;
        const PR_GET_CHILD_SUBREAPER: u64 = 37;
        // Options whose arguments are plain integers and that mean the same for the emulator
        // process as for the guest: PDEATHSIG, DUMPABLE, KEEPCAPS, TIMERSLACK, CAPBSET_READ,
        // CHILD_SUBREAPER, NO_NEW_PRIVS. Others (seccomp filters in guest syscall numbers, mm
        // layout, ...) would act on the emulator itself: EINVAL, as an unknown option.
        const INTEGER: [u64; 11] = [1, 3, 4, 7, 8, 23, 29, 30, 36, 38, 39];
        let int = |n: usize| a[n] as libc::c_ulong;
        match a[0] {
            PR_SET_NAME | PR_GET_NAME => {
                let p = self.buf(a[1], 16, a[0] == PR_GET_NAME)?;
                // SAFETY: p is a checked 16-byte guest buffer.
                host(i64::from(unsafe { libc::prctl(a[0] as i32, p) }))
            }
            PR_GET_PDEATHSIG | PR_GET_CHILD_SUBREAPER => {
                let p = self.buf(a[1], 4, true)?;
                // SAFETY: p is a checked writable 4-byte guest int.
                host(i64::from(unsafe { libc::prctl(a[0] as i32, p) }))
            }
            op if INTEGER.contains(&op) => {
                // SAFETY: integer arguments only.
                host(i64::from(unsafe {
                    libc::prctl(op as i32, int(1), int(2), int(3), int(4))
                }))
            }
            _ => {
                if self.opts.unimp {
                    eprintln!("xlat: unsupported prctl option {}", a[0]);
                }
                Err(einval())
            }
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
}
