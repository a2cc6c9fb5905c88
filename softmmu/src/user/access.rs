//! Guest memory accesses through the reservation: checked copies for syscalls, and the
//! interpreter's and the frontend's views ([`GuestMem`], [`CodeFetch`], [`GuestMemory`]).
//!
//! The interpreter's loads and stores go through the fault-tolerant probes of [`probe`]:
//! an access the guest may not make faults on the host, the host SIGSEGV handler (linux-user)
//! resumes the probe at its fixup, and the access becomes a [`MemFault`] with the guest address.
//! So checking costs nothing when nothing faults.

use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

use xlat_ir::{AtomicOp, MemOp};

use super::{AddressSpace, MapError, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::{CodeFetch, DirectMap, GuestMem, GuestMemory, MemFault};

impl AddressSpace {
    /// Host pointer to guest `[addr, addr+len)` if all of it is mapped with `prot`
    /// (`PROT_READ`/`PROT_WRITE`), else `MapError::Fault`. A zero-length range is always fine.
    /// For `PROT_WRITE`, watched code pages in the range (`smc`) are unprotected first and
    /// their translations dropped.
    pub fn host_ptr(&self, addr: u64, len: u64, prot: u32) -> Result<*mut u8, MapError> {
        let end = addr.checked_add(len).ok_or(MapError::Fault)?;
        if len > 0 && (end > self.size || !self.vmas().covered(addr, end, prot)) {
            return Err(MapError::Fault);
        }
        if prot & PROT_WRITE != 0 {
            // The host or the kernel writes there next, without a guest store's fault.
            self.unwatch_for_write(addr, end);
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

    /// The guest fault for a load (`store` false) or store at `addr` that the memory refused.
    fn access_fault(&self, addr: u64, store: bool) -> MemFault {
        let codes = ACCESS_FAULT_CODES.load(Ordering::Relaxed);
        let code = if store {
            codes >> 32
        } else {
            codes & 0xffff_ffff
        };
        MemFault {
            code: code as u32,
            addr,
        }
    }

    /// Atomics run as Rust atomics (no fault recovery): check the guest map first. An AMO
    /// needs read and write permission, and faults as a store (as on riscv).
    fn atomic_allowed(&self, addr: u64, mem: MemOp) -> Result<(), MemFault> {
        let end = addr.wrapping_add(u64::from(mem.bytes()));
        if end > self.size || !self.vmas().covered(addr, end, PROT_READ | PROT_WRITE) {
            return Err(self.access_fault(addr, true));
        }
        Ok(())
    }
}

/// The guest exception codes of a load (low half) and store (high half) access fault.
static ACCESS_FAULT_CODES: AtomicU64 = AtomicU64::new(0);

/// Sets the architecture's exception codes the interpreter path raises when a guest load or
/// store touches memory the guest may not access (riscv64: load/store page fault, 13 and 15).
/// One guest architecture per process, so this is process-wide.
pub fn set_access_fault_codes(load: u32, store: u32) {
    ACCESS_FAULT_CODES.store(u64::from(load) | u64::from(store) << 32, Ordering::Relaxed);
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
        let p = self.g2h(addr);
        let v = probe::load(p, mem.size_log2).map_err(|_| self.access_fault(addr, false))?;
        Ok(to_mem(v, mem))
    }

    fn store(&self, addr: u64, mem: MemOp, val: u64) -> Result<(), MemFault> {
        if mem.aligned {
            self.misaligned(addr, mem)?;
        }
        let v = to_mem(val, mem);
        let p = self.g2h(addr);
        probe::store(p, mem.size_log2, v).map_err(|_| self.access_fault(addr, true))
    }

    fn atomic_rmw(&self, addr: u64, mem: MemOp, op: AtomicOp, val: u64) -> Result<u64, MemFault> {
        self.misaligned(addr, mem)?;
        self.atomic_allowed(addr, mem)?;
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
        self.atomic_allowed(addr, mem)?;
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

    /// x86-64 hosts: one host `lock cmpxchg16b`, atomic against every vCPU thread (other
    /// hosts keep the default, by halves).
    #[cfg(target_arch = "x86_64")]
    fn atomic_cas128(
        &self,
        addr: u64,
        mem: MemOp,
        expected: [u64; 2],
        new: [u64; 2],
    ) -> Result<[u64; 2], MemFault> {
        if !addr.is_multiple_of(16) {
            // Misaligned: the frontends fault first; do what the 8-byte halves would.
            return xlat_ir::interp::cas128_by_halves(self, addr, mem, expected, new);
        }
        let half = MemOp::le(8, false);
        self.atomic_allowed(addr, half)?;
        self.atomic_allowed(addr + 8, half)?;
        let join = |v: [u64; 2]| u128::from(v[0]) | (u128::from(v[1]) << 64);
        // SAFETY: `addr` is 16-byte aligned and both of its halves are mapped readable and
        // writable in the guest map (checked above), so the host bytes are too.
        let old = unsafe { cmpxchg16b(self.g2h(addr) as *mut u128, join(expected), join(new)) };
        Ok([old as u64, (old >> 64) as u64])
    }
}

/// A host `lock cmpxchg16b`: stores `new` at `p` if it holds `old`; returns what it held.
///
/// # Safety
/// `p` must be 16-byte aligned and valid for reads and writes of 16 bytes.
#[cfg(target_arch = "x86_64")]
unsafe fn cmpxchg16b(p: *mut u128, old: u128, new: u128) -> u128 {
    let (mut lo, mut hi) = (old as u64, (old >> 64) as u64);
    // SAFETY: the caller guarantees `p` is aligned and valid; cmpxchg16b is in every x86-64
    // CPU a 64-bit Linux of this decade runs on (x86-64-v2). rbx is reserved by LLVM, so the
    // new value's low half goes in through another register, swapped in and out around the
    // instruction.
    unsafe {
        core::arch::asm!(
            "xchg {nlo}, rbx",
            "lock cmpxchg16b xmmword ptr [{p}]",
            "mov rbx, {nlo}",
            p = in(reg) p,
            nlo = inout(reg) new as u64 => _,
            in("rcx") (new >> 64) as u64,
            inout("rax") lo,
            inout("rdx") hi,
            options(nostack),
        );
    }
    (u128::from(hi) << 64) | u128::from(lo)
}

impl CodeFetch for AddressSpace {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        let end = pc.checked_add(2)?;
        let vmas = self.vmas();
        match vmas.find(pc) {
            // The common case: one mapping holds both bytes (one lookup).
            Some((_, v)) if v.end >= end && end <= self.size && v.prot & PROT_EXEC != 0 => {
                if v.prot & PROT_WRITE != 0 && self.code_watch() {
                    // Protected before the bytes are read: a store after this point faults.
                    self.watch_page(super::page_down(pc), v.prot);
                }
            }
            _ => {
                if end > self.size || !vmas.covered(pc, end, PROT_EXEC) {
                    return None;
                }
                if self.code_watch() {
                    self.watch_code(&vmas, pc, end);
                }
            }
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

    fn code_may_change(&self, pc: u64) -> bool {
        AddressSpace::code_may_change(self, pc)
    }
}

/// Guest loads and stores that report a host fault instead of dying of it (x86-64 hosts).
///
/// Each probe is a tiny function whose first instruction is the access. The host fault
/// handler asks [`fixup`] whether the faulting pc is a probe's access; if so it resumes at the
/// shared fixup, which makes the probe return "faulted". The probes touch only registers
/// besides the access, so resuming there is sound.
pub mod probe {
    #[cfg(target_arch = "x86_64")]
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl xlat_softmmu_probe_loads",
        "xlat_softmmu_probe_loads:",
        "xlat_softmmu_probe_ld8:",
        "    movzx eax, byte ptr [rdi]",
        "    xor edx, edx",
        "    ret",
        "xlat_softmmu_probe_ld16:",
        "    movzx eax, word ptr [rdi]",
        "    xor edx, edx",
        "    ret",
        "xlat_softmmu_probe_ld32:",
        "    mov eax, dword ptr [rdi]",
        "    xor edx, edx",
        "    ret",
        "xlat_softmmu_probe_ld64:",
        "    mov rax, qword ptr [rdi]",
        "    xor edx, edx",
        "    ret",
        "xlat_softmmu_probe_load_fixup:",
        "    xor eax, eax",
        "    mov edx, 1",
        "    ret",
        "xlat_softmmu_probe_st8:",
        "    mov byte ptr [rdi], sil",
        "    xor eax, eax",
        "    ret",
        "xlat_softmmu_probe_st16:",
        "    mov word ptr [rdi], si",
        "    xor eax, eax",
        "    ret",
        "xlat_softmmu_probe_st32:",
        "    mov dword ptr [rdi], esi",
        "    xor eax, eax",
        "    ret",
        "xlat_softmmu_probe_st64:",
        "    mov qword ptr [rdi], rsi",
        "    xor eax, eax",
        "    ret",
        "xlat_softmmu_probe_store_fixup:",
        "    mov eax, 1",
        "    ret",
    );

    /// The host access faulted: the guest may not make it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Faulted;

    /// A probe load's result: the value, and 1 if the access faulted.
    #[repr(C)]
    struct Loaded {
        val: u64,
        fault: u64,
    }

    #[cfg(target_arch = "x86_64")]
    unsafe extern "C" {
        fn xlat_softmmu_probe_loads();
        fn xlat_softmmu_probe_ld8(p: u64) -> Loaded;
        fn xlat_softmmu_probe_ld16(p: u64) -> Loaded;
        fn xlat_softmmu_probe_ld32(p: u64) -> Loaded;
        fn xlat_softmmu_probe_ld64(p: u64) -> Loaded;
        fn xlat_softmmu_probe_load_fixup();
        fn xlat_softmmu_probe_st8(p: u64, v: u64) -> u64;
        fn xlat_softmmu_probe_st16(p: u64, v: u64) -> u64;
        fn xlat_softmmu_probe_st32(p: u64, v: u64) -> u64;
        fn xlat_softmmu_probe_st64(p: u64, v: u64) -> u64;
        fn xlat_softmmu_probe_store_fixup();
    }

    /// Loads `1 << size_log2` bytes (zero-extended) from host address `p`; `Err` if the host
    /// access faulted (needs the fault handler that consults [`fixup`]).
    #[cfg(target_arch = "x86_64")]
    pub fn load(p: u64, size_log2: u8) -> Result<u64, Faulted> {
        // SAFETY: the probes read memory at `p` with a plain mov; callers pass addresses
        // inside the guest reservation, where a forbidden page faults and the handler resumes
        // at the fixup. Guest memory is never accessed through Rust references.
        let r = unsafe {
            match size_log2 {
                0 => xlat_softmmu_probe_ld8(p),
                1 => xlat_softmmu_probe_ld16(p),
                2 => xlat_softmmu_probe_ld32(p),
                _ => xlat_softmmu_probe_ld64(p),
            }
        };
        if r.fault == 0 {
            Ok(r.val)
        } else {
            Err(Faulted)
        }
    }

    /// Stores the low `1 << size_log2` bytes of `v` at host address `p`; `Err` on a fault.
    #[cfg(target_arch = "x86_64")]
    pub fn store(p: u64, size_log2: u8, v: u64) -> Result<(), Faulted> {
        // SAFETY: as in `load`, for a plain mov store.
        let r = unsafe {
            match size_log2 {
                0 => xlat_softmmu_probe_st8(p, v),
                1 => xlat_softmmu_probe_st16(p, v),
                2 => xlat_softmmu_probe_st32(p, v),
                _ => xlat_softmmu_probe_st64(p, v),
            }
        };
        if r == 0 { Ok(()) } else { Err(Faulted) }
    }

    /// Where to resume after a host fault at `pc`, if `pc` is a probe's access.
    /// Async-signal-safe.
    #[cfg(target_arch = "x86_64")]
    pub fn fixup(pc: u64) -> Option<u64> {
        let loads = xlat_softmmu_probe_loads as *const () as u64;
        let load_fixup = xlat_softmmu_probe_load_fixup as *const () as u64;
        let stores = xlat_softmmu_probe_st8 as *const () as u64;
        let store_fixup = xlat_softmmu_probe_store_fixup as *const () as u64;
        if (loads..load_fixup).contains(&pc) {
            Some(load_fixup)
        } else if (stores..store_fixup).contains(&pc) {
            Some(store_fixup)
        } else {
            None
        }
    }

    /// Other hosts: plain accesses (a forbidden page kills the process).
    #[cfg(not(target_arch = "x86_64"))]
    pub fn load(p: u64, size_log2: u8) -> Result<u64, Faulted> {
        let p = p as *const u8;
        // SAFETY: inside the reservation; see the x86-64 version.
        Ok(unsafe {
            match size_log2 {
                0 => u64::from(p.read()),
                1 => u64::from((p as *const u16).read_unaligned()),
                2 => u64::from((p as *const u32).read_unaligned()),
                _ => (p as *const u64).read_unaligned(),
            }
        })
    }

    /// Other hosts: plain accesses.
    #[cfg(not(target_arch = "x86_64"))]
    pub fn store(p: u64, size_log2: u8, v: u64) -> Result<(), Faulted> {
        let p = p as *mut u8;
        // SAFETY: inside the reservation; see the x86-64 version.
        unsafe {
            match size_log2 {
                0 => p.write(v as u8),
                1 => (p as *mut u16).write_unaligned(v as u16),
                2 => (p as *mut u32).write_unaligned(v as u32),
                _ => (p as *mut u64).write_unaligned(v),
            }
        }
        Ok(())
    }

    /// Other hosts: no probes.
    #[cfg(not(target_arch = "x86_64"))]
    pub fn fixup(_pc: u64) -> Option<u64> {
        None
    }
}

#[cfg(test)]
#[cfg(target_arch = "x86_64")]
mod tests {
    use super::super::{Backing, MAP_ANONYMOUS, MAP_PRIVATE};
    use super::*;

    extern "C" fn on_fault(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let uc = ctx.cast::<libc::ucontext_t>();
        // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
        unsafe {
            let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
            match probe::fixup(*rip as u64) {
                Some(to) => *rip = to as i64,
                None => libc::abort(),
            }
        }
    }

    fn install() {
        // SAFETY: a fully initialised sigaction whose handler only edits the ucontext.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut());
        }
    }

    #[test]
    fn forbidden_accesses_become_guest_faults_with_the_guest_address() {
        install();
        set_access_fault_codes(13, 15);
        let a = AddressSpace::new(6).expect("reserve");
        let rw = PROT_READ | PROT_WRITE;
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let x = a.mmap(0, 0x3000, rw, anon, Backing::Anon).unwrap();
        a.mprotect(x + 0x1000, 0x1000, PROT_READ).unwrap();
        a.mprotect(x + 0x2000, 0x1000, 0).unwrap();
        let w = MemOp::le(8, false);
        assert_eq!(a.store(x + 8, w, 0x1122_3344_5566_7788), Ok(()));
        assert_eq!(a.load(x + 8, w), Ok(0x1122_3344_5566_7788));
        // Read-only page: loads work, stores fault as stores.
        assert_eq!(a.load(x + 0x1000, w), Ok(0));
        let st = a.store(x + 0x1008, w, 1);
        assert_eq!(
            st,
            Err(MemFault {
                code: 15,
                addr: x + 0x1008
            })
        );
        // PROT_NONE and unmapped pages: both directions fault.
        assert_eq!(
            a.load(x + 0x2004, w),
            Err(MemFault {
                code: 13,
                addr: x + 0x2004
            })
        );
        assert_eq!(
            a.load(x + 0x3000, MemOp::le(1, false)),
            Err(MemFault {
                code: 13,
                addr: x + 0x3000
            })
        );
        assert_eq!(
            a.store(x - 2, MemOp::le(2, false), 7),
            Err(MemFault {
                code: 15,
                addr: x - 2
            })
        );
        // Atomics need a writable page.
        let cas = a.atomic_cas(x + 0x1000, w, 0, 5);
        assert_eq!(
            cas,
            Err(MemFault {
                code: 15,
                addr: x + 0x1000
            })
        );
        let amo = a.atomic_rmw(x + 8, w, AtomicOp::Add, 2);
        assert_eq!(amo, Ok(0x1122_3344_5566_7788));
        assert_eq!(a.load(x + 8, w), Ok(0x1122_3344_5566_778a));
    }
}
