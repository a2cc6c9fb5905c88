//! The one x86 atomic the IR lacks: `lock cmpxchg16b`, a compare-and-swap of 16 aligned bytes.
//! The lifter (`lift::isa`) checks the alignment (#GP) and probes both 8-byte halves for
//! writing with IR atomics first (so a bad address faults there, as a guest page fault), puts
//! the expected value (rdx:rax) in the scratch words [`CAS_LO`]/[`CAS_HI`] and calls [`CAS128`]
//! with the new value (rcx:rbx); the scratch words come back holding what memory held.
//!
//! With a flat user-mode map (host address = `guest_base` + guest address) the helper runs a
//! host `lock cmpxchg16b`, atomic against every other vCPU thread. Without one (system mode's
//! softmmu, the interpreter over a non-flat address space) it returns [`NOT_DONE`] and the
//! lifted code runs a plain load, compare, store (atomic with respect to this vCPU only).
#![allow(unsafe_code, reason = "a host cmpxchg16b on guest memory")]

use xlat_ir::abi::{CpuState, reg_offset};

/// Scratch word: the expected low quadword going in, memory's low quadword coming out.
/// (State words 84.. are unused by the rest of the layout, see [`crate::state`].)
pub const CAS_LO: u32 = reg_offset(84);
/// Scratch word: the high quadword, as [`CAS_LO`].
pub const CAS_HI: u32 = reg_offset(85);
/// [`CAS128`]'s result when it cannot reach guest memory directly.
pub const NOT_DONE: u64 = 2;

/// Compare-and-swap of the 16 bytes at `p`: stores `new` when they hold `old`; returns what
/// they held.
///
/// # Safety
/// `p` must be 16-byte aligned and valid for reads and writes of 16 bytes.
#[cfg(target_arch = "x86_64")]
unsafe fn cmpxchg16b(p: *mut u128, old: u128, new: u128) -> u128 {
    let (mut lo, mut hi) = (old as u64, (old >> 64) as u64);
    // SAFETY: the caller guarantees `p` is aligned and valid; cmpxchg16b is part of x86-64-v2
    // and present on every host this runs on. rbx is reserved by LLVM, so the new value's low
    // half goes in through another register, swapped in and out around the instruction.
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

/// Other hosts: the compare-and-swap under a global lock (atomic against other 128-bit
/// compare-and-swaps, not against plain stores to the same bytes).
///
/// # Safety
/// As on x86-64.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn cmpxchg16b(p: *mut u128, old: u128, new: u128) -> u128 {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the caller guarantees `p` is aligned and valid.
    unsafe {
        let cur = p.read_volatile();
        if cur == old {
            p.write_volatile(new);
        }
        cur
    }
}

extern "C" fn helper_cas128(env: &mut CpuState, addr: u64, lo: u64, hi: u64, _: u64) -> u64 {
    if env.guest_base == 0 || env.tlb != 0 {
        return NOT_DONE;
    }
    let old = u128::from(env.word(CAS_LO)) | (u128::from(env.word(CAS_HI)) << 64);
    let new = u128::from(lo) | (u128::from(hi) << 64);
    let p = env.guest_base.wrapping_add(addr) as *mut u128;
    // SAFETY: the lifted code checked that `addr` is 16-byte aligned and updated both of its
    // 8-byte halves with IR atomics just before the call (which fault for an unmapped or
    // read-only guest page); with a flat map (guest_base set, no softmmu TLB) guest memory
    // lives at `guest_base` + guest address.
    let cur = unsafe { cmpxchg16b(p, old, new) };
    env.set_word(CAS_LO, cur as u64);
    env.set_word(CAS_HI, (cur >> 64) as u64);
    u64::from(cur != old)
}

/// `x86_cas128(addr, new_lo, new_hi)`: 128-bit compare-and-swap against the expected value in
/// the scratch words, which receive the old value; returns 0 when it swapped, 1 when memory
/// differed, [`NOT_DONE`] when memory is not reachable directly.
pub(crate) static CAS128: xlat_ir::Helper = xlat_ir::Helper {
    name: "x86_cas128",
    func: helper_cas128,
    nargs: 3,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: Some(&[CAS_LO, CAS_HI]),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state;

    #[test]
    fn scratch_words_follow_the_x87_registers() {
        assert!(CAS_LO > state::x87_exp(7) && CAS_HI == CAS_LO + 8);
        assert!(crate::x87::TAG > CAS_HI);
    }
}
