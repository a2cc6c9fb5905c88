//! File and directory syscalls. Paths and buffers are checked against the guest map (EFAULT),
//! then handed to the host kernel; only `struct stat` needs translating.

use std::ffi::CString;

use super::structs::stat_generic;
use super::{Process, Sys, SysResult, host, last_err};

const TERMIOS_SIZE: u64 = 36;

fn cint(v: u64) -> i32 {
    v as i32
}

impl Process {
    /// The file syscalls; `None` if `sys` is not one of them.
    pub(super) fn fs(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        use libc::*;
        // SAFETY: for every libc call below, pointers come from `buf`/`opt_buf`/`path`, i.e.
        // checked guest ranges of the stated size or owned host buffers, alive across the call.
        let r = unsafe {
            match sys {
                Sys::read => self
                    .buf(a[1], a[2], true)
                    .and_then(|p| host(read(cint(a[0]), p, a[2] as usize) as i64)),
                Sys::write => self
                    .buf(a[1], a[2], false)
                    .and_then(|p| host(write(cint(a[0]), p, a[2] as usize) as i64)),
                Sys::pread64 => self
                    .buf(a[1], a[2], true)
                    .and_then(|p| host(pread(cint(a[0]), p, a[2] as usize, a[3] as i64) as i64)),
                Sys::pwrite64 => self
                    .buf(a[1], a[2], false)
                    .and_then(|p| host(pwrite(cint(a[0]), p, a[2] as usize, a[3] as i64) as i64)),
                Sys::readv | Sys::writev => self.rw_vec(sys == Sys::readv, a),
                Sys::openat => self.openat(a),
                Sys::close => host(i64::from(close(cint(a[0])))),
                Sys::lseek => host(lseek(cint(a[0]), a[1] as i64, cint(a[2]))),
                Sys::fstat => {
                    let mut st: stat = std::mem::zeroed();
                    host(i64::from(fstat(cint(a[0]), &mut st)))
                        .and_then(|_| self.put_stat(a[1], &st))
                }
                Sys::newfstatat => self.stat_path(a[1]).and_then(|p| {
                    let mut st: stat = std::mem::zeroed();
                    host(i64::from(fstatat(
                        cint(a[0]),
                        p.as_ptr(),
                        &mut st,
                        cint(a[3]),
                    )))
                    .and_then(|_| self.put_stat(a[2], &st))
                }),
                Sys::statx => self.stat_path(a[1]).and_then(|p| {
                    let b = self.buf(a[4], 256, true)?;
                    host(syscall(
                        SYS_statx,
                        cint(a[0]),
                        p.as_ptr(),
                        cint(a[2]),
                        a[3] as u32,
                        b,
                    ))
                }),
                Sys::getdents64 => self
                    .buf(a[1], a[2], true)
                    .and_then(|p| host(syscall(SYS_getdents64, cint(a[0]), p, a[2] as u32))),
                Sys::readlinkat => self.readlinkat(a),
                Sys::faccessat => self
                    .stat_path(a[1])
                    .and_then(|p| host(syscall(SYS_faccessat, cint(a[0]), p.as_ptr(), cint(a[2])))),
                Sys::faccessat2 => self.stat_path(a[1]).and_then(|p| {
                    host(syscall(
                        SYS_faccessat2,
                        cint(a[0]),
                        p.as_ptr(),
                        cint(a[2]),
                        cint(a[3]),
                    ))
                }),
                Sys::fcntl => self.fcntl(a),
                Sys::dup => host(i64::from(dup(cint(a[0])))),
                Sys::dup3 => host(i64::from(dup3(cint(a[0]), cint(a[1]), cint(a[2])))),
                Sys::pipe2 => {
                    let mut fds = [0i32; 2];
                    host(i64::from(pipe2(fds.as_mut_ptr(), cint(a[1])))).and_then(|_| {
                        let b = [fds[0].to_le_bytes(), fds[1].to_le_bytes()].concat();
                        if let Err(e) = self.put(a[0], &b) {
                            close(fds[0]);
                            close(fds[1]);
                            return Err(e);
                        }
                        Ok(0)
                    })
                }
                Sys::ioctl => self.ioctl(a),
                Sys::chdir => self
                    .path(a[0])
                    .and_then(|p| host(i64::from(chdir(p.as_ptr())))),
                Sys::fchdir => host(i64::from(fchdir(cint(a[0])))),
                Sys::getcwd => self
                    .buf(a[0], a[1], true)
                    .and_then(|p| host(syscall(SYS_getcwd, p, a[1] as usize))),
                Sys::unlinkat => self
                    .path(a[1])
                    .and_then(|p| host(i64::from(unlinkat(cint(a[0]), p.as_ptr(), cint(a[2]))))),
                Sys::mkdirat => self
                    .path(a[1])
                    .and_then(|p| host(i64::from(mkdirat(cint(a[0]), p.as_ptr(), a[2] as mode_t)))),
                Sys::renameat2 => self.path(a[1]).and_then(|o| {
                    let n = self.path(a[3])?;
                    host(syscall(
                        SYS_renameat2,
                        cint(a[0]),
                        o.as_ptr(),
                        cint(a[2]),
                        n.as_ptr(),
                        a[4] as u32,
                    ))
                }),
                Sys::umask => Ok(i64::from(umask(a[0] as mode_t))),
                Sys::utimensat => {
                    let p = if a[1] == 0 {
                        None
                    } else {
                        Some(self.path(a[1]))
                    };
                    match p.transpose() {
                        Err(e) => Err(e),
                        Ok(p) => self.opt_buf(a[2], 32, false).and_then(|t| {
                            let pp = p
                                .as_ref()
                                .map_or(std::ptr::null(), |c: &CString| c.as_ptr());
                            host(syscall(SYS_utimensat, cint(a[0]), pp, t, cint(a[3])))
                        }),
                    }
                }
                Sys::fchmodat => self.path(a[1]).and_then(|p| {
                    host(syscall(
                        SYS_fchmodat,
                        cint(a[0]),
                        p.as_ptr(),
                        a[2] as mode_t,
                    ))
                }),
                Sys::fchmod => host(i64::from(fchmod(cint(a[0]), a[1] as mode_t))),
                Sys::fchown => host(i64::from(fchown(cint(a[0]), a[1] as uid_t, a[2] as gid_t))),
                Sys::fchownat => self.path(a[1]).and_then(|p| {
                    host(i64::from(fchownat(
                        cint(a[0]),
                        p.as_ptr(),
                        a[2] as uid_t,
                        a[3] as gid_t,
                        cint(a[4]),
                    )))
                }),
                Sys::truncate => self
                    .path(a[0])
                    .and_then(|p| host(i64::from(truncate(p.as_ptr(), a[1] as i64)))),
                Sys::ftruncate => host(i64::from(ftruncate(cint(a[0]), a[1] as i64))),
                Sys::fallocate => host(i64::from(fallocate(
                    cint(a[0]),
                    cint(a[1]),
                    a[2] as i64,
                    a[3] as i64,
                ))),
                Sys::fsync => host(i64::from(fsync(cint(a[0])))),
                Sys::fdatasync => host(i64::from(fdatasync(cint(a[0])))),
                Sys::sync => {
                    sync();
                    Ok(0)
                }
                Sys::symlinkat => self.path(a[0]).and_then(|t| {
                    let l = self.path(a[2])?;
                    host(i64::from(symlinkat(t.as_ptr(), cint(a[1]), l.as_ptr())))
                }),
                Sys::linkat => self.path(a[1]).and_then(|o| {
                    let n = self.path(a[3])?;
                    host(i64::from(linkat(
                        cint(a[0]),
                        o.as_ptr(),
                        cint(a[2]),
                        n.as_ptr(),
                        cint(a[4]),
                    )))
                }),
                Sys::statfs => self.lookup_path(a[0]).and_then(|p| {
                    let b = self.buf(a[1], 120, true)?;
                    host(syscall(SYS_statfs, p.as_ptr(), b))
                }),
                Sys::fstatfs => self
                    .buf(a[1], 120, true)
                    .and_then(|b| host(syscall(SYS_fstatfs, cint(a[0]), b))),
                Sys::sendfile => self.opt_buf(a[2], 8, true).and_then(|off| {
                    host(syscall(
                        SYS_sendfile,
                        cint(a[0]),
                        cint(a[1]),
                        off,
                        a[3] as usize,
                    ))
                }),
                Sys::ppoll => self
                    .buf(a[0], a[1].saturating_mul(8), true)
                    .and_then(|fds| {
                        let t = self.opt_buf(a[2], 16, false)?;
                        let m = self.opt_buf(a[3], 8, false)?;
                        host(syscall(SYS_ppoll, fds, a[1] as usize, t, m, a[4] as usize))
                    }),
                Sys::fadvise64 => Ok(0),
                Sys::memfd_create => self
                    .path(a[0])
                    .and_then(|p| host(syscall(SYS_memfd_create, p.as_ptr(), a[1] as u32))),
                Sys::close_range => host(syscall(
                    SYS_close_range,
                    a[0] as u32,
                    a[1] as u32,
                    a[2] as u32,
                )),
                _ => return None,
            }
        };
        Some(r)
    }

    /// A path to stat or access: like [`Process::lookup_path`], with `/proc/self/exe` (and
    /// `/proc/<our pid>/exe`) naming the guest program rather than the emulator.
    fn stat_path(&self, addr: u64) -> Result<CString, i64> {
        let p = self.path(addr)?;
        let name = p.to_bytes();
        if name == b"/proc/self/exe"
            || name == format!("/proc/{}/exe", std::process::id()).as_bytes()
        {
            return Ok(CString::new(self.exe.clone()).unwrap_or(p));
        }
        Ok(self.resolve(p))
    }

    fn put_stat(&self, addr: u64, st: &libc::stat) -> SysResult {
        self.put(addr, &stat_generic(st)).map(|_| 0)
    }

    fn rw_vec(&self, read: bool, a: [u64; 6]) -> SysResult {
        let iov = self.iovecs(a[1], a[2], read)?;
        // SAFETY: every iovec points at a checked guest range of its length.
        let r = unsafe {
            if read {
                libc::readv(cint(a[0]), iov.as_ptr(), iov.len() as i32)
            } else {
                libc::writev(cint(a[0]), iov.as_ptr(), iov.len() as i32)
            }
        };
        host(r as i64)
    }

    fn openat(&self, a: [u64; 6]) -> SysResult {
        let p = self.path(a[1])?;
        let name = p.to_bytes();
        if name == b"/proc/self/maps"
            || name == format!("/proc/{}/maps", std::process::id()).as_bytes()
        {
            return self.memfd_with(self.space.proc_maps().as_bytes());
        }
        if name == b"/proc/self/cmdline"
            || name == format!("/proc/{}/cmdline", std::process::id()).as_bytes()
        {
            return self.memfd_with(&self.cmdline);
        }
        let p = if name == b"/proc/self/exe" {
            CString::new(self.exe.clone()).unwrap_or(p)
        } else {
            self.resolve(p)
        };
        // SAFETY: p is a NUL-terminated host string.
        host(i64::from(unsafe {
            libc::openat(cint(a[0]), p.as_ptr(), cint(a[2]), a[3] as libc::c_uint)
        }))
    }

    /// A read-only fd holding `data` at offset 0 (for synthesized /proc files).
    fn memfd_with(&self, data: &[u8]) -> SysResult {
        // SAFETY: the name is a static C string; the buffer is ours.
        unsafe {
            let fd = libc::memfd_create(c"xlat-proc".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(last_err());
            }
            let ok = libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize
                && libc::lseek(fd, 0, libc::SEEK_SET) == 0;
            if !ok {
                libc::close(fd);
                return Err(-i64::from(libc::EIO));
            }
            // The guest opened without O_CLOEXEC unless it asked; clear ours.
            libc::fcntl(fd, libc::F_SETFD, 0);
            Ok(i64::from(fd))
        }
    }

    fn readlinkat(&self, a: [u64; 6]) -> SysResult {
        let p = self.path(a[1])?;
        let name = p.to_bytes();
        if name == b"/proc/self/exe"
            || name == format!("/proc/{}/exe", std::process::id()).as_bytes()
        {
            // The guest's view: a program inside the sysroot is named without its prefix.
            let mut e = self.exe.as_bytes();
            if let Some(root) = &self.opts.sysroot {
                let root = root.as_os_str().as_encoded_bytes();
                if let Some(rest) = e.strip_prefix(root).filter(|r| r.starts_with(b"/")) {
                    e = rest;
                }
            }
            let n = e.len().min(a[3] as usize);
            self.put(a[2], &e[..n])?;
            return Ok(n as i64);
        }
        let p = self.resolve(p);
        let b = self.buf(a[2], a[3], true)?;
        // SAFETY: b is a checked writable guest range of a[3] bytes.
        host(unsafe { libc::readlinkat(cint(a[0]), p.as_ptr(), b.cast(), a[3] as usize) } as i64)
    }

    fn fcntl(&self, a: [u64; 6]) -> SysResult {
        use libc::*;
        let (fd, cmd) = (cint(a[0]), cint(a[1]));
        match cmd {
            F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
                let b = self.buf(a[2], 32, cmd == F_GETLK || cmd == F_OFD_GETLK)?;
                // SAFETY: b is a checked 32-byte guest struct flock (same layout on both).
                host(i64::from(unsafe { fcntl(fd, cmd, b) }))
            }
            F_DUPFD | F_GETFD | F_SETFD | F_GETFL | F_SETFL | F_SETOWN | F_GETOWN
            | F_DUPFD_CLOEXEC | F_GETPIPE_SZ | F_SETPIPE_SZ | F_ADD_SEALS | F_GET_SEALS | 10
            | 11 => {
                // 10, 11: F_SETSIG, F_GETSIG
                // SAFETY: integer-argument commands.
                host(i64::from(unsafe { fcntl(fd, cmd, a[2] as c_long) }))
            }
            _ => {
                if self.opts.unimp {
                    eprintln!("xlat: unimplemented fcntl command {cmd}");
                }
                Err(-i64::from(EINVAL))
            }
        }
    }

    fn ioctl(&self, a: [u64; 6]) -> SysResult {
        use libc::*;
        let (fd, req) = (cint(a[0]), a[1]);
        // (request, argument bytes, host writes it); the asm-generic tty ioctls and structs are
        // the x86-64 ones.
        let (len, out) = match req {
            0x5401 => (TERMIOS_SIZE, true),                           // TCGETS
            0x5402..=0x5404 => (TERMIOS_SIZE, false),                 // TCSETS, TCSETSW, TCSETSF
            0x5413 => (8, true),                                      // TIOCGWINSZ
            0x5414 => (8, false),                                     // TIOCSWINSZ
            0x540f | 0x541b | 0x5429 => (4, true), // TIOCGPGRP, FIONREAD, TIOCGSID
            0x5410 | 0x5421 => (4, false),         // TIOCSPGRP, FIONBIO
            0x540e | 0x5422 | 0x5450 | 0x5451 | 0x540b => (0, false), // TIOCSCTTY, TIOCNOTTY, FIONCLEX, FIOCLEX, TCFLSH
            0x5409 | 0x540a => (0, false),                            // TCSBRK, TCXONC
            _ => {
                if self.opts.unimp {
                    eprintln!("xlat: unimplemented ioctl {req:#x} on fd {fd}");
                }
                return Err(-i64::from(ENOTTY));
            }
        };
        let arg = if len == 0 {
            a[2] as *mut c_void
        } else {
            self.buf(a[2], len, out)?
        };
        // SAFETY: pointer arguments are checked guest ranges of the struct's size.
        host(i64::from(unsafe { ioctl(fd, req, arg) }))
    }
}
