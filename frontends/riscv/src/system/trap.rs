//! Trap entry (exceptions and interrupts, with delegation to S-mode), trap return (`mret`,
//! `sret`) and the choice of the interrupt to take (Privileged ISA §3.1.9, §3.3.2, §10.1).

use super::csr::*;
use super::*;

/// The interrupt bit of `mcause`/`scause`.
pub const INTERRUPT: u64 = 1 << 63;

/// Takes the trap `cause` (with [`INTERRUPT`] set for interrupts) at `epc` with trap value
/// `tval`: to S-mode when delegated and the hart is not in M-mode, else to M-mode.
pub fn take(env: &mut CpuState, cause: u64, epc: u64, tval: u64) -> Effects {
    let prv = env.word(PRIV);
    let code = cause & !INTERRUPT;
    let deleg = if cause & INTERRUPT != 0 {
        env.word(MIDELEG)
    } else {
        env.word(MEDELEG)
    };
    let to_s = prv <= PRV_S && code < 64 && (deleg >> code) & 1 != 0;
    let st = env.word(MSTATUS);
    let (tvec, new_st) = if to_s {
        env.set_word(SCAUSE, cause);
        env.set_word(SEPC, epc);
        env.set_word(STVAL, tval);
        let mut s = st & !(SPP | SPIE | SIE);
        if st & SIE != 0 {
            s |= SPIE;
        }
        if prv == PRV_S {
            s |= SPP;
        }
        env.set_word(PRIV, PRV_S);
        (env.word(STVEC), s)
    } else {
        env.set_word(MCAUSE, cause);
        env.set_word(MEPC, epc);
        env.set_word(MTVAL, tval);
        let mut s = st & !(MPP | MPIE | MIE_BIT);
        if st & MIE_BIT != 0 {
            s |= MPIE;
        }
        s |= prv << MPP_SHIFT;
        env.set_word(PRIV, PRV_M);
        (env.word(MTVEC), s)
    };
    env.set_word(MSTATUS, new_st);
    let base = tvec & !3;
    env.pc = if tvec & 3 == 1 && cause & INTERRUPT != 0 {
        base.wrapping_add(4 * code)
    } else {
        base
    };
    changed_mode()
}

fn changed_mode() -> Effects {
    Effects {
        mmu: true,
        flush_code: false,
        irq: true,
        ..Effects::default()
    }
}

/// The interrupt the hart takes now, if any: its cause code (without [`INTERRUPT`]).
pub fn pending(env: &CpuState, p: &Platform) -> Option<u64> {
    let pend = mip(env, p) & env.word(MIE);
    if pend == 0 {
        return None;
    }
    let prv = env.word(PRIV);
    let st = env.word(MSTATUS);
    let deleg = env.word(MIDELEG);
    let m_on = prv < PRV_M || st & MIE_BIT != 0;
    let s_on = prv < PRV_S || (prv == PRV_S && st & SIE != 0);
    let m = if m_on { pend & !deleg } else { 0 };
    let s = if s_on { pend & deleg } else { 0 };
    // Priority: MEI, MSI, MTI, SEI, SSI, STI; M-level ones first.
    const ORDER: [u64; 6] = [11, 3, 7, 9, 1, 5];
    for set in [m, s] {
        if let Some(&c) = ORDER.iter().find(|&&c| set & (1 << c) != 0) {
            return Some(c);
        }
    }
    None
}

/// Whether `wfi` may stop waiting: some interrupt is pending and enabled in `mie`, whatever
/// the global enables say.
pub fn wfi_wakes(env: &CpuState, p: &Platform) -> bool {
    mip(env, p) & env.word(MIE) != 0
}

/// `mret` (the caller checked the privilege).
pub fn mret(env: &mut CpuState) -> Effects {
    let st = env.word(MSTATUS);
    let mpp = (st & MPP) >> MPP_SHIFT;
    let mut s = st & !(MPP | MIE_BIT);
    if st & MPIE != 0 {
        s |= MIE_BIT;
    }
    s |= MPIE;
    if mpp != PRV_M {
        s &= !MPRV;
    }
    env.set_word(MSTATUS, s);
    env.set_word(PRIV, mpp);
    env.pc = env.word(MEPC);
    changed_mode()
}

/// `sret` (the caller checked the privilege and TSR).
pub fn sret(env: &mut CpuState) -> Effects {
    let st = env.word(MSTATUS);
    let spp = if st & SPP != 0 { PRV_S } else { PRV_U };
    let mut s = st & !(SPP | SIE | MPRV);
    if st & SPIE != 0 {
        s |= SIE;
    }
    s |= SPIE;
    env.set_word(MSTATUS, s);
    env.set_word(PRIV, spp);
    env.pc = env.word(SEPC);
    changed_mode()
}
