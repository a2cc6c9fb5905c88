//! The 16-byte compare-and-swap (`atomic_cas128`: x86 `cmpxchg16b`, aarch64 `casp` and `stxp`
//! of 64-bit pairs) under memory hooks: one access of 16 bytes at the guest's address. A
//! compare-and-swap shows a read (before), a read-after with the old value and, when the
//! comparison succeeds, a write with the value stored; a store-conditional (`stxp`) only the
//! write, when it succeeds. The hooks' value is an `i64`, the low 64 bits; the whole value is
//! [`super::Vcpu::mem_value128`].
//!
//! The op has seven temps and a helper four arguments, so it becomes three calls:
//! [`CAS128_IN`] keeps the site and the high halves of the expected and new values (in a
//! thread-local: the three calls run back to back on the guest's thread), [`CAS128_HELPER`]
//! makes the access and returns the old low half, [`CAS128_OUT`] the old high half.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use xlat_ir::abi::CpuState;
use xlat_ir::interp::GuestMem;
use xlat_ir::ops::Cas128Hi;
use xlat_ir::{Helper, HelperFlags, Inst, MemOp, Temp};

use super::{
    FAULT_SIZE, Kind, MemHookKind, Rewriter, SITE_KIND, Vcpu, after_mem_hooks, core_ref, site_arg,
    site_pc,
};

thread_local! {
    /// `[site, memop | kind << SITE_KIND, expected high, new high]` from [`CAS128_IN`], and
    /// then the old high half for [`CAS128_OUT`] in the last word.
    static PENDING: Cell<[u64; 4]> = const { Cell::new([0; 4]) };
}

/// Rewrites `i` (an `atomic_cas128` at guest `pc`, `kind` 0 or 1 + [`Kind`]) into the calls.
pub(super) fn rewrite(u: &mut Rewriter, i: &Inst, pc: u64, kind: u64, core: u64) {
    let hi = Cas128Hi::from_imm(i.imm);
    let s = u.konst(site_arg(pc, i.aux & 0xff7f));
    let m = u.konst(u64::from(i.aux & 0xffff) | kind << SITE_KIND);
    u.call(&CAS128_IN, Temp::NONE, [s, m, i.src[2], hi.new_hi]);
    let c = u.core(core);
    u.call(&CAS128_HELPER, i.dst, [i.src[0], i.src[1], i.src[3], c]);
    u.call(
        &CAS128_OUT,
        hi.old_hi,
        [Temp::NONE, Temp::NONE, Temp::NONE, Temp::NONE],
    );
}

/// `(pc site, memop | kind << SITE_KIND, expected high, new high)` of the next
/// [`CAS128_HELPER`].
pub(crate) static CAS128_IN: Helper = Helper {
    name: "embed_cas128_in",
    func: helper_in,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// A 16-byte compare-and-swap: `(addr, expected low, new low, core) -> old low`.
pub(crate) static CAS128_HELPER: Helper = Helper {
    name: "embed_cas128",
    func: helper_cas128,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: None,
};

/// `() -> old high` of the last [`CAS128_HELPER`].
pub(crate) static CAS128_OUT: Helper = Helper {
    name: "embed_cas128_out",
    func: helper_out,
    nargs: 0,
    flags: HelperFlags::ALL,
    state_words: None,
};

extern "C" fn helper_in(_: &mut CpuState, site: u64, m: u64, exp_hi: u64, new_hi: u64) -> u64 {
    PENDING.with(|p| p.set([site, m, exp_hi, new_hi]));
    0
}

extern "C" fn helper_out(_: &mut CpuState, _: u64, _: u64, _: u64, _: u64) -> u64 {
    PENDING.with(|p| p.get()[3])
}

/// A 16-byte value from its `[low, high]` halves.
fn wide(v: [u64; 2]) -> u128 {
    u128::from(v[1]) << 64 | u128::from(v[0])
}

extern "C" fn helper_cas128(env: &mut CpuState, addr: u64, exp: u64, new: u64, core: u64) -> u64 {
    let core = core_ref(core);
    let [site, m, exp_hi, new_hi] = PENDING.with(|p| p.get());
    let (exp, new) = ([exp, exp_hi], [new, new_hi]);
    let pc = site_pc(site);
    let mem = MemOp::from_u32(m as u32 & 0xffff);
    let half = MemOp {
        size_log2: 3,
        ..mem
    };
    let store_cond = (m >> SITE_KIND) & 3 == Kind::StoreCond as u64 + 1;
    let hooked = core.mem_hooks.load(Ordering::Relaxed);
    // A store-conditional shows only its store.
    let reads = if store_cond { 0 } else { hooked };
    let mut redirect = None;
    if reads & MemHookKind::READ.0 != 0 {
        let mut v = Vcpu::new(env, core, pc).with_wide(0);
        core.call_mem_hooks(&mut v, MemHookKind::READ, addr, 16, 0);
        redirect = v.redirect;
    }
    let mem_ = &*core.mem;
    // MMIO and host regions: plain loads and stores of the halves.
    let special = mem_.is_special(addr);
    let first = if special {
        GuestMem::load(mem_, addr, half)
            .and_then(|lo| Ok([lo, GuestMem::load(mem_, addr.wrapping_add(8), half)?]))
    } else {
        // A compare-and-swap that changes nothing: faults as the access would.
        GuestMem::atomic_cas128(mem_, addr, mem, [0; 2], [0; 2])
    };
    let fault = |env: &mut CpuState, f: xlat_ir::interp::MemFault| {
        FAULT_SIZE.with(|c| c.set(16));
        env.exc_arg = f.addr;
        env.exc_pending = f.code + 1;
        0
    };
    let mut old = match first {
        Ok(v) => v,
        Err(f) => return fault(env, f),
    };
    if reads & MemHookKind::READ_AFTER.0 != 0 {
        let mut v = Vcpu::new(env, core, pc).with_wide(wide(old));
        core.call_mem_hooks(&mut v, MemHookKind::READ_AFTER, addr, 16, old[0] as i64);
        redirect = redirect.or(v.redirect);
    }
    if old == exp {
        if hooked & MemHookKind::WRITE.0 != 0 {
            let mut v = Vcpu::new(env, core, pc).with_wide(wide(new));
            core.call_mem_hooks(&mut v, MemHookKind::WRITE, addr, 16, new[0] as i64);
            redirect = redirect.or(v.redirect);
        }
        let r = if special {
            GuestMem::store(mem_, addr, half, new[0])
                .and_then(|()| GuestMem::store(mem_, addr.wrapping_add(8), half, new[1]))
                .map(|()| old)
        } else {
            // Memory may have changed since (another thread): then this fails as the
            // guest's would have, returning what memory holds.
            GuestMem::atomic_cas128(mem_, addr, mem, exp, new)
        };
        old = match r {
            Ok(v) => v,
            Err(f) => return fault(env, f),
        };
    }
    if hooked != 0 {
        after_mem_hooks(env, core, redirect);
    }
    PENDING.with(|p| {
        let mut v = p.get();
        v[3] = old[1];
        p.set(v);
    });
    old[0]
}
