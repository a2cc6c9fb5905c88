//! Guest memory accesses through the reservation: checked copies for syscalls, and the
//! interpreter's and the frontend's views ([`GuestMem`], [`CodeFetch`], [`GuestMemory`]).

use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

use xlat_ir::{AtomicOp, MemOp};

use super::{AddressSpace, MapError, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::{CodeFetch, DirectMap, GuestMem, GuestMemory, MemFault};

impl AddressSpace {
    /// Host pointer to guest `[addr, addr+len)` if all of it is mapped with `prot`
    /// (`PROT_READ`/`PROT_WRITE`), else `MapError::Fault`. A zero-length range is always fine.
    pub fn host_ptr(&self, addr: u64, len: u64, prot: u32) -> Result<*mut u8, MapError> {
        let end = addr.checked_add(len).ok_or(MapError::Fault)?;
        if len > 0 && (end > self.size || !self.vmas().covered(addr, end, prot)) {
            return Err(MapError::Fault);
        }
        Ok(self.g2h(addr) as *mut u8)
    }

    /// Copies guest bytes at `addr` into `buf` (EFAULT unless all readable).
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MapError> {
        let p = self.host_ptr(addr, buf.len() as u64, PROT_READ)?;
        // SAFETY: host_ptr checked that the whole range is mapped readable in the guest map,
        // whose host pages carry at least that protection; buf is a distinct Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` to guest `addr` (EFAULT unless all writable).
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), MapError> {
        let p = self.host_ptr(addr, data.len() as u64, PROT_WRITE)?;
        // SAFETY: the range is mapped writable (checked above); data is a distinct buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// Sets `len` guest bytes at `addr` to `byte` (EFAULT unless all writable).
    pub fn fill(&self, addr: u64, byte: u8, len: u64) -> Result<(), MapError> {
        let p = self.host_ptr(addr, len, PROT_WRITE)?;
        // SAFETY: the range is mapped writable (checked above).
        unsafe { std::ptr::write_bytes(p, byte, len as usize) };
        Ok(())
    }

    /// Copies `len` guest bytes from `src` to `dst` (ranges may overlap).
    pub fn copy_within(&self, src: u64, dst: u64, len: u64) -> Result<(), MapError> {
        let s = self.host_ptr(src, len, PROT_READ)?;
        let d = self.host_ptr(dst, len, PROT_WRITE)?;
        // SAFETY: both ranges are mapped with the needed access (checked above); copy
        // handles overlap.
        unsafe { std::ptr::copy(s, d, len as usize) };
        Ok(())
    }

    /// Reads a little-endian u64.
    pub fn read_u64(&self, addr: u64) -> Result<u64, MapError> {
        let mut b = [0; 8];
        self.read_bytes(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes a little-endian u64.
    pub fn write_u64(&self, addr: u64, v: u64) -> Result<(), MapError> {
        self.write_bytes(addr, &v.to_le_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    /// EFAULT if unreadable, `Invalid` if no NUL within `max` (callers map it to ENAMETOOLONG).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, MapError> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // Read up to the end of the current page, so we never touch an unmapped page.
            let chunk = (super::PAGE_SIZE - at % super::PAGE_SIZE).min((max - out.len()) as u64);
            let mut buf = vec![0u8; chunk as usize];
            self.read_bytes(at, &mut buf)?;
            if let Some(n) = buf.iter().position(|b| *b == 0) {
                out.extend_from_slice(&buf[..n]);
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            at += chunk;
        }
        Err(MapError::Invalid)
    }

    fn misaligned(&self, addr: u64, mem: MemOp) -> Result<(), MemFault> {
        if !addr.is_multiple_of(u64::from(mem.bytes())) {
            return Err(MemFault {
                code: self.misaligned_code,
                addr,
            });
        }
        Ok(())
    }
}

fn to_mem(v: u64, mem: MemOp) -> u64 {
    if mem.big_endian {
        v.swap_bytes() >> (64 - 8 * mem.bytes())
    } else {
        v
    }
}

fn rmw(op: AtomicOp, old: u64, val: u64, bits: u32) -> u64 {
    let sx = |x: u64| ((x << (64 - bits)) as i64) >> (64 - bits);
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let r = match op {
        AtomicOp::Xchg => val,
        AtomicOp::Add => old.wrapping_add(val),
        AtomicOp::And => old & val,
        AtomicOp::Or => old | val,
        AtomicOp::Xor => old ^ val,
        AtomicOp::MinS => {
            if sx(old) <= sx(val) {
                old
            } else {
                val
            }
        }
        AtomicOp::MaxS => {
            if sx(old) >= sx(val) {
                old
            } else {
                val
            }
        }
        AtomicOp::MinU => old.min(val & mask),
        AtomicOp::MaxU => old.max(val & mask),
    };
    r & mask
}

macro_rules! atomic_at {
    ($ty:ty, $int:ty, $host:expr, $body:expr) => {{
        // SAFETY: the address is naturally aligned (checked by the caller) and inside the
        // reservation; an unmapped page faults like any guest access. Guest memory is only
        // ever accessed with atomics or plain byte copies, never through Rust references.
        let a: &$ty = unsafe { <$ty>::from_ptr($host as *mut $int) };
        $body(a)
    }};
}

impl GuestMem for AddressSpace {
    fn load(&self, addr: u64, mem: MemOp) -> Result<u64, MemFault> {
        if mem.aligned {
            self.misaligned(addr, mem)?;
        }
        let p = self.g2h(addr) as *const u8;
        // SAFETY: p is inside the reservation (masked, plus a guard past the end); an access to
        // a page the guest may not read faults on the host, which is the guest's SIGSEGV.
        let v = unsafe {
            match mem.size_log2 {
                0 => u64::from(p.read()),
                1 => u64::from((p as *const u16).read_unaligned()),
                2 => u64::from((p as *const u32).read_unaligned()),
                _ => (p as *const u64).read_unaligned(),
            }
        };
        Ok(to_mem(v, mem))
    }

    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        if mem.aligned {
            self.misaligned(addr, mem)?;
        }
        let v = to_mem(val, mem);
        let p = self.g2h(addr) as *mut u8;
        // SAFETY: as in load: inside the reservation; forbidden pages fault on the host.
        unsafe {
            match mem.size_log2 {
                0 => p.write(v as u8),
                1 => (p as *mut u16).write_unaligned(v as u16),
                2 => (p as *mut u32).write_unaligned(v as u32),
                _ => (p as *mut u64).write_unaligned(v),
            }
        }
        Ok(())
    }

    fn atomic_rmw(&self, addr: u64, mem: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        self.misaligned(addr, mem)?;
        let h = self.g2h(addr);
        let bits = mem.bytes() * 8;
        let f = |old: u64| Some(rmw(op, old, val, bits));
        let old = match mem.size_log2 {
            0 => atomic_at!(AtomicU8, u8, h, |a: &AtomicU8| a
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| f(o.into())
                    .map(|n| n as u8))
                .map_or(0, u64::from)),
            1 => atomic_at!(AtomicU16, u16, h, |a: &AtomicU16| a
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| f(o.into())
                    .map(|n| n as u16))
                .map_or(0, u64::from)),
            2 => atomic_at!(AtomicU32, u32, h, |a: &AtomicU32| a
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| f(o.into())
                    .map(|n| n as u32))
                .map_or(0, u64::from)),
            _ => atomic_at!(AtomicU64, u64, h, |a: &AtomicU64| a
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, f)
                .unwrap_or(0)),
        };
        Ok(old)
    }

    fn atomic_cas(&self, addr: u64, mem: MemOp, expected: u64, new: u64) -> Result<u64, MemFault> {
        self.misaligned(addr, mem)?;
        let h = self.g2h(addr);
        let sc = Ordering::SeqCst;
        let old = match mem.size_log2 {
            0 => atomic_at!(AtomicU8, u8, h, |a: &AtomicU8| a
                .compare_exchange(expected as u8, new as u8, sc, sc)
                .unwrap_or_else(|x| x)
                .into()),
            1 => atomic_at!(AtomicU16, u16, h, |a: &AtomicU16| a
                .compare_exchange(expected as u16, new as u16, sc, sc)
                .unwrap_or_else(|x| x)
                .into()),
            2 => atomic_at!(AtomicU32, u32, h, |a: &AtomicU32| a
                .compare_exchange(expected as u32, new as u32, sc, sc)
                .unwrap_or_else(|x| x)
                .into()),
            _ => atomic_at!(AtomicU64, u64, h, |a: &AtomicU64| a
                .compare_exchange(expected, new, sc, sc)
                .unwrap_or_else(|x| x)),
        };
        Ok(old)
    }
}

impl CodeFetch for AddressSpace {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let end = pc.checked_add(2)?;
        if end > self.size || !self.vmas().covered(pc, end, PROT_EXEC) {
            return None;
        }
        let p = self.g2h(pc) as *const u16;
        // SAFETY: both bytes are mapped executable, so their host pages are readable.
        Some(unsafe { p.read_unaligned() })
    }
}

impl GuestMemory for AddressSpace {
    fn direct(&self) -> Option<DirectMap> {
        Some(self.direct_map())
    }
}
