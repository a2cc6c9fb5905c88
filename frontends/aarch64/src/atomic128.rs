//! The one 128-bit atomic the IR lacks: a compare-and-swap of 16 aligned bytes, for CASP (64-bit
//! pairs) and the store-exclusive of a 64-bit pair. The lifter checks the alignment and probes
//! the 16 bytes for writing with IR atomics first (so a bad address faults there, as a guest
//! data abort), then calls [`CAS128`] with the new value; the expected value goes in and the
//! old value comes out through the scratch words [`state::CAS_LO`]/[`state::CAS_HI`].
//!
//! Guest memory is reached as every user-mode access is: host address = `guest_base` + guest
//! address (the A64 frontend runs EL0 only, under linux-user or the embedding API).
#![allow(unsafe_code, reason = "a host cmpxchg16b on guest memory")]

use crate::state;
use xlat_ir::abi::CpuState;

/// Compare-and-swap of the 16 bytes at `p`: stores `new` when they hold `old`; returns what
/// they held.
///
/// # Safety
/// `p` must be 16-byte aligned and valid for reads and writes of 16 bytes.
#[cfg(target_arch = "x86_64")]
unsafe fn cmpxchg16b(p: *mut u128, old: u128, new: u128) -> u128 {
    let (mut lo, mut hi) = (old as u64, (old >> 64) as u64);
    // SAFETY: the caller guarantees `p` is aligned and valid; cmpxchg16b is in every x86-64
    // CPU that runs a 64-bit Linux of this decade (x86-64-v2). rbx is reserved by LLVM, so the
    // new value's low half goes in through another register and is swapped in and out around
    // the instruction (as the portable-atomic crate does).
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
    let old = u128::from(env.word(state::CAS_LO)) | (u128::from(env.word(state::CAS_HI)) << 64);
    let new = u128::from(lo) | (u128::from(hi) << 64);
    let p = env.guest_base.wrapping_add(addr) as *mut u128;
    // SAFETY: the lifted code checked `addr` is 16-byte aligned and accessed both of its
    // 8-byte halves with IR atomics just before the call (which fault for an unmapped or
    // read-only guest page), and guest memory lives at `guest_base` + guest address.
    let cur = unsafe { cmpxchg16b(p, old, new) };
    env.set_word(state::CAS_LO, cur as u64);
    env.set_word(state::CAS_HI, (cur >> 64) as u64);
    u64::from(cur != old)
}

/// `a64_cas128(addr, new_lo, new_hi)`: 128-bit compare-and-swap against the expected value in
/// the scratch words, which receive the old value; returns 1 when the swap did not happen.
pub(crate) static CAS128: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_cas128",
    func: helper_cas128,
    nargs: 3,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: Some(&[state::CAS_LO, state::CAS_HI]),
};
