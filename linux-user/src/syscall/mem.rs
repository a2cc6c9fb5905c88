//! Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise. Changes to executable
//! memory record the range in `stale` so the run loop drops the translations overlapping it.

use xlat_softmmu::user::{
    Backing, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE,
    PROT_EXEC, PROT_READ, PROT_WRITE,
};

use super::{Process, Sys, SysResult, fault};

const MREMAP_MAYMOVE: u64 = 1;
const MAP_SHARED_VALIDATE: u32 = 3;
/// Flags we accept and ignore (host memory is demand-paged and the stack needs no help).
const MAP_IGNORED: u32 = 0x0100 /* GROWSDOWN */ | 0x0800 /* DENYWRITE */ | 0x1000 /* EXECUTABLE */
    | 0x2000 /* LOCKED */ | 0x4000 /* NORESERVE */ | 0x8000 /* POPULATE */ | 0x1_0000 /* NONBLOCK */
    | 0x2_0000 /* STACK */ | 0x4_0000 /* HUGETLB */ | 0x8_0000 /* SYNC */;

fn einval() -> i64 {
    -i64::from(libc::EINVAL)
}

impl Process {
    /// The memory syscalls; `None` if `sys` is not one of them.
    pub(super) fn mem(&mut self, sys: Sys, a: [u64; 6]) -> Option<SysResult> {
        let r = match sys {
            Sys::brk => Ok(self.space.brk(a[0]) as i64),
            Sys::mmap => self.mmap(a),
            Sys::munmap => self
                .space
                .munmap(a[0], a[1])
                .map(|x| self.stale_if(x, a[0], a[1]))
                .map(|_| 0)
                .map_err(fault),
            Sys::mprotect => {
                let prot = a[2] as u32;
                if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
                    return Some(Err(einval()));
                }
                self.space
                    .mprotect(a[0], a[1], prot)
                    .map(|x| self.stale_if(x, a[0], a[1]))
                    .map(|_| 0)
                    .map_err(fault)
            }
            Sys::mremap => {
                if a[3] & !MREMAP_MAYMOVE != 0 || !a[0].is_multiple_of(PAGE_SIZE) {
                    return Some(Err(einval()));
                }
                self.space
                    .mremap(a[0], a[1], a[2], a[3] & MREMAP_MAYMOVE != 0)
                    .map(|(addr, x)| {
                        self.stale_if(x, a[0], a[1]);
                        addr as i64
                    })
                    .map_err(fault)
            }
            Sys::madvise => self.madvise(a),
            Sys::msync | Sys::mincore => Ok(0),
            _ => return None,
        };
        Some(r)
    }

    fn mmap(&mut self, a: [u64; 6]) -> SysResult {
        let (addr, len, prot, flags, fd, off) =
            (a[0], a[1], a[2] as u32, a[3] as u32, a[4] as i32, a[5]);
        let kind = flags & 3;
        let known = 3 | MAP_FIXED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_IGNORED;
        if len == 0 || off % PAGE_SIZE != 0 || kind == 0 || prot & !7 != 0 {
            return Err(einval());
        }
        if flags & !known != 0 && kind == MAP_SHARED_VALIDATE {
            return Err(-i64::from(libc::EOPNOTSUPP));
        }
        let flags = if kind == MAP_SHARED_VALIDATE {
            (flags & !3) | MAP_SHARED
        } else {
            flags
        };
        let name;
        let backing = if flags & MAP_ANONYMOUS != 0 {
            Backing::Anon
        } else {
            name = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Backing::File {
                fd,
                offset: off,
                name: &name,
            }
        };
        let flags =
            flags & (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
        let exec_before =
            flags & MAP_FIXED != 0 && self.space.vmas().any_exec(addr, addr.saturating_add(len));
        let r = self
            .space
            .mmap(addr, len, prot, flags, backing)
            .map_err(fault)?;
        // New executable memory has no translations yet; only code it replaced goes stale.
        self.stale_if(exec_before, addr, len);
        Ok(r as i64)
    }

    /// Marks `[addr, addr + len)` for the run loop to drop its translations, if `exec`.
    fn stale_if(&mut self, exec: bool, addr: u64, len: u64) {
        if exec {
            self.stale.push((addr, len));
        }
    }

    fn madvise(&mut self, a: [u64; 6]) -> SysResult {
        const MADV_DONTNEED: u64 = 4;
        if !a[0].is_multiple_of(PAGE_SIZE) {
            return Err(einval());
        }
        let end = a[0].checked_add(a[1]).ok_or_else(einval)?;
        if !self.space.vmas().covered(a[0], end, 0) {
            return Err(-i64::from(libc::ENOMEM));
        }
        if a[2] == MADV_DONTNEED && a[1] > 0 {
            // Zeroed code is changed code.
            let exec = self.space.vmas().any_exec(a[0], end);
            self.stale_if(exec, a[0], a[1]);
            // Private anonymous pages read back as zero afterwards; programs rely on it.
            let p = self.space.g2h(a[0]) as *mut libc::c_void;
            // SAFETY: the range is mapped in the guest (checked); madvise affects only it.
            let r = unsafe { libc::madvise(p, a[1] as usize, libc::MADV_DONTNEED) };
            return super::host(i64::from(r));
        }
        Ok(0)
    }
}
