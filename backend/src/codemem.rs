//! W^X code memory: one memfd mapped twice, a writable view that the compiler copies code into
//! and an executable view that runs it. No page is ever writable and executable in the same
//! view, and nothing is re-protected at run time (no mprotect churn).
//!
//! Allocation is a bump pointer; when it is full the caller flushes every translation and
//! [`CodeMemory::reset`]s the pointer (as QEMU does with its code buffer).

use crate::BackendError;

/// The double-mapped code region.
#[derive(Debug)]
pub struct CodeMemory {
    rw: *mut u8,
    rx: *const u8,
    size: usize,
    used: usize,
    floor: usize,
}

// SAFETY: the raw pointers name a private mapping owned by this value; writes go through
// `&mut self` only, and the executable view is only read (executed) through addresses handed out.
unsafe impl Send for CodeMemory {}
// SAFETY: see above; `&self` methods only read plain fields.
unsafe impl Sync for CodeMemory {}

/// Alignment of every function placed in code memory.
const FUNC_ALIGN: usize = 16;

impl CodeMemory {
    /// Creates a region of `size` bytes (rounded up to whole pages).
    pub fn new(size: usize) -> Result<CodeMemory, BackendError> {
        let page = 4096usize;
        let size = size.max(page).div_ceil(page) * page;
        let err = |what: &str| {
            BackendError::CodeMemory(format!("{what}: {}", std::io::Error::last_os_error()))
        };
        // SAFETY: memfd_create with a valid NUL-terminated name; the fd is checked.
        let fd = unsafe { libc::memfd_create(c"xlat-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(err("memfd_create"));
        }
        // SAFETY: fd is the memfd just created.
        if unsafe { libc::ftruncate(fd, size as libc::off_t) } != 0 {
            // SAFETY: closing our own fd.
            unsafe { libc::close(fd) };
            return Err(err("ftruncate"));
        }
        let map = |prot| {
            // SAFETY: a fresh shared mapping of our memfd at a kernel-chosen address.
            unsafe { libc::mmap(std::ptr::null_mut(), size, prot, libc::MAP_SHARED, fd, 0) }
        };
        let rw = map(libc::PROT_READ | libc::PROT_WRITE);
        let rx = map(libc::PROT_READ | libc::PROT_EXEC);
        // SAFETY: the mappings keep the memfd alive; the descriptor itself is no longer needed.
        unsafe { libc::close(fd) };
        if rw == libc::MAP_FAILED || rx == libc::MAP_FAILED {
            let e = err("mmap");
            for p in [rw, rx] {
                if p != libc::MAP_FAILED {
                    // SAFETY: unmapping a mapping we just made.
                    unsafe { libc::munmap(p, size) };
                }
            }
            return Err(e);
        }
        Ok(CodeMemory {
            rw: rw.cast(),
            rx: rx.cast::<u8>().cast_const(),
            size,
            used: 0,
            floor: 0,
        })
    }

    /// Copies `code` in and returns its executable address, or `None` when the region is full.
    pub fn install(&mut self, code: &[u8]) -> Option<u64> {
        let start = self.used.div_ceil(FUNC_ALIGN) * FUNC_ALIGN;
        let end = start.checked_add(code.len())?;
        if end > self.size {
            return None;
        }
        // SAFETY: [start, end) lies inside the RW view (checked above) and no executable
        // address in that range has been handed out yet (bump allocation), so no thread runs it.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), self.rw.add(start), code.len()) };
        self.used = end;
        // x86-64 keeps instruction fetch coherent with stores through another mapping of the same
        // page; an aarch64 host would need an icache flush here.
        Some(self.rx as u64 + start as u64)
    }

    /// Keeps what is installed so far (trampolines, stubs) across [`CodeMemory::reset`].
    pub fn set_floor(&mut self) {
        self.floor = self.used;
    }

    /// Forgets every function installed after the floor. The caller guarantees none of them
    /// runs any more.
    pub fn reset(&mut self) {
        self.used = self.floor;
    }

    /// The executable view's address range (for fault handlers: "was this JIT code?").
    pub fn exec_range(&self) -> std::ops::Range<u64> {
        self.rx as u64..self.rx as u64 + self.size as u64
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// In the child of a fork: moves both views onto a private copy of the region, at the same
    /// addresses (the memfd is shared with the parent, which keeps installing code into it).
    /// The caller keeps the parent from reusing code memory until this returns.
    pub fn unshare(&mut self) -> Result<(), BackendError> {
        let err = |what: &str| {
            BackendError::CodeMemory(format!("{what}: {}", std::io::Error::last_os_error()))
        };
        // SAFETY: memfd_create with a valid NUL-terminated name; the fd is checked.
        let fd = unsafe { libc::memfd_create(c"xlat-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(err("memfd_create"));
        }
        let mut done = 0usize;
        // SAFETY: fd is ours; the write reads [0, used) of the RW view, which we map.
        let ok = unsafe {
            libc::ftruncate(fd, self.size as libc::off_t) == 0
                && loop {
                    if done == self.used {
                        break true;
                    }
                    let n = libc::write(fd, self.rw.add(done).cast(), self.used - done);
                    if n <= 0 {
                        break false;
                    }
                    done += n as usize;
                }
        };
        let remap = |at: *const u8, prot| {
            // SAFETY: replaces exactly our own view (same address and size) with the copy.
            unsafe {
                libc::mmap(
                    at.cast_mut().cast(),
                    self.size,
                    prot,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    fd,
                    0,
                )
            }
        };
        let ok = ok
            && remap(self.rw, libc::PROT_READ | libc::PROT_WRITE) != libc::MAP_FAILED
            && remap(self.rx, libc::PROT_READ | libc::PROT_EXEC) != libc::MAP_FAILED;
        let e = err("unshare");
        // SAFETY: closing our own fd; the mappings keep the memfd alive.
        unsafe { libc::close(fd) };
        if ok { Ok(()) } else { Err(e) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: both views were mapped with `size` bytes in `new` and nothing uses them now.
        unsafe {
            libc::munmap(self.rw.cast(), self.size);
            libc::munmap(self.rx.cast_mut().cast(), self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unshare_keeps_installed_code_at_the_same_addresses() {
        let mut m = CodeMemory::new(8192).unwrap();
        let a = m.install(&[0x90, 0xc3]).unwrap();
        let before = m.exec_range();
        m.unshare().unwrap();
        assert_eq!(m.exec_range(), before);
        // SAFETY: `a` points into the RX view we own; reading is allowed.
        assert_eq!(unsafe { *((a + 1) as *const u8) }, 0xc3);
        let b = m.install(&[0xcc]).unwrap();
        assert_eq!(b - a, 16, "the bump pointer carries on");
        // SAFETY: as above; the new byte reaches the executable view of the new memfd.
        assert_eq!(unsafe { *(b as *const u8) }, 0xcc);
    }

    #[test]
    fn views_share_bytes_and_exec_view_is_not_writable() {
        let mut m = CodeMemory::new(8192).unwrap();
        let a = m.install(&[0xc3]).unwrap(); // ret
        let b = m.install(&[0x90, 0xc3]).unwrap(); // nop; ret
        assert_eq!(b - a, 16, "functions are 16-byte aligned");
        // SAFETY: `a` points into the RX view we own; reading is allowed.
        assert_eq!(unsafe { *(a as *const u8) }, 0xc3);
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|l| l.starts_with(&format!("{:x}-", a & !0xfff)))
            .unwrap();
        assert!(line.contains("r-x"), "{line}");
        assert!(
            !maps
                .lines()
                .any(|l| l.contains("rwx") && l.contains("xlat-code"))
        );
    }

    #[test]
    fn full_region_refuses_and_reset_reuses() {
        let mut m = CodeMemory::new(4096).unwrap();
        assert!(m.install(&[0u8; 4000]).is_some());
        assert!(m.install(&[0u8; 200]).is_none());
        m.reset();
        assert!(m.install(&[0u8; 200]).is_some());
    }
}
