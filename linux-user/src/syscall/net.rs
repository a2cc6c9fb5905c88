//! Socket syscalls: sockaddrs, option values and control messages have the same layout on
//! x86-64 and the 64-bit generic ABI; only msghdr (which holds pointers) is rebuilt.

use super::{Process, Sys, SysResult, host};

impl Process {
    /// Checked (addr, *addrlen) output pair: host pointers, or NULLs.
    fn sockaddr_out(
        &self,
        addr: u64,
        lenp: u64,
    ) -> Result<(*mut libc::c_void, *mut libc::c_void), i64> {
        if addr == 0 {
            return Ok((std::ptr::null_mut(), std::ptr::null_mut()));
        }
        let len = u32::from_le_bytes(self.get(lenp, 4)?.try_into().unwrap_or_default());
        Ok((
            self.buf(addr, u64::from(len), true)?,
            self.buf(lenp, 4, true)?,
        ))
    }

    /// The socket syscalls; `None` if `sys` is not one of them.
    pub(super) fn net(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        use libc::*;
        let i = |n: usize| a[n] as i32;
        // SAFETY: for every libc call below, pointer arguments are checked guest ranges of the
        // lengths the call uses, or NULL.
        let r = unsafe {
            match sys {
                Sys::socket => host(i64::from(socket(i(0), i(1), i(2)))),
                Sys::socketpair => self
                    .buf(a[3], 8, true)
                    .and_then(|sv| host(i64::from(socketpair(i(0), i(1), i(2), sv.cast())))),
                Sys::bind | Sys::connect => self.buf(a[1], a[2], false).and_then(|sa| {
                    let nr = if sys == Sys::bind {
                        SYS_bind
                    } else {
                        SYS_connect
                    };
                    host(syscall(nr, i(0), sa, a[2] as u32))
                }),
                Sys::listen => host(i64::from(listen(i(0), i(1)))),
                Sys::accept | Sys::accept4 => self.sockaddr_out(a[1], a[2]).and_then(|(sa, l)| {
                    let flags = if sys == Sys::accept4 { i(3) } else { 0 };
                    host(syscall(SYS_accept4, i(0), sa, l, flags))
                }),
                Sys::getsockname | Sys::getpeername => {
                    self.sockaddr_out(a[1], a[2]).and_then(|(sa, l)| {
                        let nr = if sys == Sys::getsockname {
                            SYS_getsockname
                        } else {
                            SYS_getpeername
                        };
                        host(syscall(nr, i(0), sa, l))
                    })
                }
                Sys::sendto => self.buf(a[1], a[2], false).and_then(|b| {
                    let sa = self.opt_buf(a[4], a[5], false)?;
                    host(syscall(
                        SYS_sendto,
                        i(0),
                        b,
                        a[2] as usize,
                        i(3),
                        sa,
                        a[5] as u32,
                    ))
                }),
                Sys::recvfrom => self.buf(a[1], a[2], true).and_then(|b| {
                    let (sa, l) = self.sockaddr_out(a[4], a[5])?;
                    host(syscall(SYS_recvfrom, i(0), b, a[2] as usize, i(3), sa, l))
                }),
                Sys::setsockopt => self
                    .opt_buf(a[3], a[4], false)
                    .and_then(|v| host(syscall(SYS_setsockopt, i(0), i(1), i(2), v, a[4] as u32))),
                Sys::getsockopt => self
                    .sockaddr_out(a[3], a[4])
                    .and_then(|(v, l)| host(syscall(SYS_getsockopt, i(0), i(1), i(2), v, l))),
                Sys::shutdown => host(i64::from(shutdown(i(0), i(1)))),
                Sys::sendmsg | Sys::recvmsg => self.msg(sys == Sys::recvmsg, a),
                _ => return None,
            }
        };
        Some(r)
    }

    fn msg(&self, recv: bool, a: [u64; 6]) -> SysResult {
        let raw = self.get(a[1], 56)?;
        let w = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap_or_default());
        let namelen = w(8) as u32;
        let mut iov = self.iovecs(w(16), w(24), recv)?;
        let mut m: libc::msghdr = unsafe_zeroed_msghdr();
        m.msg_name = self.opt_buf(w(0), u64::from(namelen), recv)?;
        m.msg_namelen = namelen;
        m.msg_iov = iov.as_mut_ptr();
        m.msg_iovlen = iov.len();
        m.msg_control = self.opt_buf(w(32), w(40), recv)?;
        m.msg_controllen = w(40) as usize;
        m.msg_flags = 0;
        // SAFETY: every pointer in m is a checked guest range or our own iovec array.
        let r = host(unsafe {
            if recv {
                libc::recvmsg(a[0] as i32, &mut m, a[2] as i32) as i64
            } else {
                libc::sendmsg(a[0] as i32, &m, a[2] as i32) as i64
            }
        })?;
        if recv {
            self.put(a[1] + 8, &m.msg_namelen.to_le_bytes())?;
            self.put(a[1] + 40, &(m.msg_controllen as u64).to_le_bytes())?;
            self.put(a[1] + 48, &m.msg_flags.to_le_bytes())?;
        }
        Ok(r)
    }
}

fn unsafe_zeroed_msghdr() -> libc::msghdr {
    // SAFETY: msghdr is plain old data; all-zero (NULL pointers, zero lengths) is valid.
    unsafe { std::mem::zeroed() }
}
