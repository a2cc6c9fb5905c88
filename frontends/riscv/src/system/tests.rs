//! The privileged architecture's rules, with expected values from the Privileged ISA manual.

use super::csr::{self, n};
use super::*;
use crate::state;

fn hart() -> Box<CpuState> {
    let mut env = CpuState::new_boxed();
    reset(&mut env, 0, 0x8000_0000);
    env
}

fn csrrw(env: &mut CpuState, csr: u16, v: u64) -> Effects {
    // csrrw x0, csr, x5
    env.set_word(state::x(5), v);
    let bits = (u32::from(csr) << 20) | (5 << 15) | (1 << 12) | 0x73;
    exec::illegal(env, bits, &Platform::default())
}

fn read(env: &CpuState, c: u16) -> u64 {
    csr::read(env, c, &Platform::default()).unwrap()
}

#[test]
fn reset_state_is_m_mode_with_64_bit_xlen() {
    let env = hart();
    assert_eq!(env.word(PRIV), PRV_M);
    // UXL = SXL = 2 (64-bit), everything else 0 (§3.1.6)
    assert_eq!(read(&env, n::MSTATUS), 0xa_0000_0000);
    assert_eq!(read(&env, n::MISA) >> 62, 2);
}

#[test]
fn warl_fields_keep_only_legal_values() {
    let mut env = hart();
    csrrw(&mut env, n::MEDELEG, u64::MAX);
    // ecall from M (11) cannot be delegated; bits above 15 do not exist here
    assert_eq!(read(&env, n::MEDELEG) & (1 << 11), 0);
    csrrw(&mut env, n::MIDELEG, u64::MAX);
    assert_eq!(read(&env, n::MIDELEG), 0x222);
    // MPP = 2 is reserved: the old value stays
    csrrw(&mut env, n::MSTATUS, 2 << 11);
    assert_eq!((read(&env, n::MSTATUS) >> 11) & 3, 0);
    // satp with an unsupported mode (Sv57 = 10) is ignored entirely
    csrrw(&mut env, n::SATP, (10 << 60) | 0x1234);
    assert_eq!(read(&env, n::SATP), 0);
    csrrw(&mut env, n::SATP, (8 << 60) | 0x1234);
    assert_eq!(read(&env, n::SATP), (8 << 60) | 0x1234);
    // sstatus shows only the S-level fields
    csrrw(&mut env, n::MSTATUS, (1 << 3) | (1 << 1));
    assert_eq!(read(&env, n::SSTATUS) & 0xff, 1 << 1);
}

#[test]
fn csr_privilege_and_read_only_checks_raise_illegal_instruction() {
    let mut env = hart();
    env.set_word(PRIV, PRV_S);
    env.pc = 0x1000;
    csrrw(&mut env, n::MSCRATCH, 1);
    assert_eq!(env.word(PRIV), PRV_M, "trapped to M");
    assert_eq!(env.word(MCAUSE), 2);
    assert_eq!(env.word(MEPC), 0x1000);
    assert_eq!(env.word(MTVAL), 0x3402_9073, "the instruction bits");
    // mhartid is read-only even in M-mode
    env.pc = 0x2000;
    csrrw(&mut env, n::MHARTID, 1);
    assert_eq!((env.word(MCAUSE), env.word(MEPC)), (2, 0x2000));
}

#[test]
fn trap_delegation_and_returns() {
    let mut env = hart();
    csrrw(&mut env, n::MEDELEG, 1 << 8);
    csrrw(&mut env, n::STVEC, 0x9000);
    csrrw(&mut env, n::MTVEC, 0x8000);
    // U-mode ecall, delegated: S-mode handler, SPP = U, SPIE = old SIE
    env.set_word(PRIV, PRV_U);
    env.set_word(MSTATUS, env.word(MSTATUS) | csr::SIE);
    env.pc = 0x4000;
    exec::ecall(&mut env);
    assert_eq!((env.word(PRIV), env.pc), (PRV_S, 0x9000));
    assert_eq!((env.word(SCAUSE), env.word(SEPC)), (8, 0x4000));
    let st = env.word(MSTATUS);
    assert_eq!(
        (st & csr::SPP, st & csr::SIE, st & csr::SPIE),
        (0, 0, csr::SPIE)
    );
    // S-mode ecall is not delegated: M-mode, MPP = S
    env.pc = 0x9004;
    exec::ecall(&mut env);
    assert_eq!(
        (env.word(PRIV), env.pc, env.word(MCAUSE)),
        (PRV_M, 0x8000, 9)
    );
    assert_eq!((env.word(MSTATUS) & csr::MPP) >> csr::MPP_SHIFT, PRV_S);
    // mret back to S at mepc + 4, then sret back to U at sepc
    env.set_word(MEPC, 0x9008);
    trap::mret(&mut env);
    assert_eq!((env.word(PRIV), env.pc), (PRV_S, 0x9008));
    trap::sret(&mut env);
    assert_eq!((env.word(PRIV), env.pc), (PRV_U, 0x4000));
    assert_ne!(env.word(MSTATUS) & csr::SIE, 0, "SIE restored from SPIE");
}

#[test]
fn interrupt_priority_enables_and_vectoring() {
    let mut env = hart();
    let lines = csr::MTI | csr::MSI | csr::SEI;
    let p = Platform { lines, time: 0 };
    csrrw(&mut env, n::MIE, csr::MTI | csr::MSI | csr::SEI);
    // M-mode with MIE clear: nothing is taken
    assert_eq!(trap::pending(&env, &p), None);
    assert!(trap::wfi_wakes(&env, &p));
    env.set_word(MSTATUS, env.word(MSTATUS) | csr::MIE_BIT);
    // MSI outranks MTI and SEI (§3.1.9: MEI, MSI, MTI, SEI, SSI, STI)
    assert_eq!(trap::pending(&env, &p), Some(3));
    // delegated SEI is not taken in M-mode, but is in U-mode whatever SIE says
    let p = Platform {
        lines: csr::SEI,
        time: 0,
    };
    csrrw(&mut env, n::MIDELEG, csr::SEI);
    assert_eq!(trap::pending(&env, &p), None);
    env.set_word(PRIV, PRV_U);
    assert_eq!(trap::pending(&env, &p), Some(9));
    // vectored stvec: pc = base + 4 * cause
    env.set_word(PRIV, PRV_M);
    csrrw(&mut env, n::STVEC, 0x9001);
    env.set_word(PRIV, PRV_U);
    env.pc = 0x100;
    trap::take(&mut env, trap::INTERRUPT | 9, 0x100, 0);
    assert_eq!(env.pc, 0x9000 + 4 * 9);
    assert_eq!(env.word(SCAUSE), (1 << 63) | 9);
}

#[test]
fn mip_read_modify_write_does_not_latch_the_external_line() {
    // §3.1.9: csrrs/csrrc of mip use only the software-writable SEIP bit. OpenSBI sets SSIP
    // with csrrs while a PLIC may drive SEIP; once the line drops, SEIP must read 0.
    let mut env = hart();
    let line = Platform {
        lines: csr::SEI,
        time: 0,
    };
    env.set_word(state::x(5), csr::SSI);
    // csrrs x0, mip, x5 / csrrc x0, mip, x5
    for funct3 in [2u32, 3] {
        let bits = (u32::from(n::MIP) << 20) | (5 << 15) | (funct3 << 12) | 0x73;
        exec::illegal(&mut env, bits, &line);
        assert_eq!(
            csr::mip(&env, &line) & csr::SEI,
            csr::SEI,
            "the line is seen"
        );
        assert_eq!(
            read(&env, n::MIP) & csr::SEI,
            0,
            "funct3 {funct3}: SEIP latched"
        );
    }
    // a software SEIP (csrrw) is kept by a later csrrs
    csrrw(&mut env, n::MIP, csr::SEI);
    env.set_word(state::x(5), csr::SSI);
    let bits = (u32::from(n::MIP) << 20) | (5 << 15) | (2 << 12) | 0x73;
    exec::illegal(&mut env, bits, &Platform::default());
    assert_eq!(
        read(&env, n::MIP) & (csr::SEI | csr::SSI),
        csr::SEI | csr::SSI
    );
}

#[test]
fn sstc_timer_pends_when_time_reaches_stimecmp() {
    let mut env = hart();
    csrrw(&mut env, n::MENVCFG, csr::STCE);
    csrrw(&mut env, n::STIMECMP, 1000);
    let at = |t| csr::mip(&env, &Platform { lines: 0, time: t }) & csr::STI;
    assert_eq!(at(999), 0);
    assert_eq!(at(1000), csr::STI);
}

/// Page tables in a map: physical address -> 8-byte word.
struct Mem(std::collections::HashMap<u64, u64>);

impl mmu::PteMem for Mem {
    fn read(&mut self, pa: u64) -> Option<u64> {
        Some(self.0.get(&pa).copied().unwrap_or(0))
    }
    fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool> {
        let v = self.0.entry(pa).or_insert(0);
        Some(if *v == old {
            *v = new;
            true
        } else {
            false
        })
    }
}

#[test]
fn sv39_walk_permissions_superpages_and_dirty_bits() {
    use mmu::{Kind, Mode, translate};
    // root at 0x1000: entry 1 -> table at 0x2000; entry 2 is a 1 GiB RWX leaf at 0x8000_0000.
    // table 0x2000: entry 0 -> table 0x3000; table 0x3000: entry 5 = 4 KiB R+W+U at 0x5_5000.
    let mut m = Mem(Default::default());
    m.0.insert(0x1000 + 8, (0x2 << 10) | 1);
    m.0.insert(0x1000 + 2 * 8, (0x8_0000 << 10) | 0xcf);
    m.0.insert(0x2000, (0x3 << 10) | 1);
    m.0.insert(0x3000 + 5 * 8, (0x55 << 10) | 0x17);
    let sv39 = |prv| Mode {
        prv,
        satp: (8 << 60) | 1,
        sum: false,
        mxr: false,
    };
    // gigapage: offset within it is kept
    assert_eq!(
        translate(&sv39(PRV_S), 0x8012_3456, Kind::Fetch, &mut m),
        Ok(0x8012_3456)
    );
    // 4 KiB user page from U: the walk sets A, then D on a store
    let va = 0x4000_5678;
    assert_eq!(
        translate(&sv39(PRV_U), va, Kind::Read, &mut m),
        Ok(0x5_5678)
    );
    assert_eq!(m.0[&(0x3000 + 5 * 8)] & 0xc0, 0x40);
    assert_eq!(
        translate(&sv39(PRV_U), va, Kind::Write, &mut m),
        Ok(0x5_5678)
    );
    assert_eq!(m.0[&(0x3000 + 5 * 8)] & 0xc0, 0xc0);
    // S-mode may not touch a user page without SUM, and never executes one
    assert_eq!(translate(&sv39(PRV_S), va, Kind::Read, &mut m), Err(13));
    let sum = Mode {
        sum: true,
        ..sv39(PRV_S)
    };
    assert!(translate(&sum, va, Kind::Read, &mut m).is_ok());
    assert_eq!(translate(&sum, va, Kind::Fetch, &mut m), Err(12));
    // not executable, not mapped, not canonical
    assert_eq!(translate(&sv39(PRV_U), va, Kind::Fetch, &mut m), Err(12));
    assert_eq!(
        translate(&sv39(PRV_S), 0x4020_0000, Kind::Write, &mut m),
        Err(15)
    );
    assert_eq!(
        translate(&sv39(PRV_S), 1 << 39, Kind::Read, &mut m),
        Err(13)
    );
    // M-mode and bare satp do not translate
    assert_eq!(
        translate(&sv39(PRV_M), 0x1234, Kind::Read, &mut m),
        Ok(0x1234)
    );
}

#[test]
fn a_load_walk_says_whether_stores_would_need_no_pte_update() {
    use mmu::{Kind, Mode, walk};
    // root 0x1000, entry 0 -> table 0x2000, entry 0 -> table 0x3000 with 4 KiB leaves:
    // 1: R+W+A+D, 2: R+W+A (clean), 3: R+A (read-only), 4: R+W+A+D+U (a user page).
    let mut m = Mem(Default::default());
    m.0.insert(0x1000, (0x2 << 10) | 1);
    m.0.insert(0x2000, (0x3 << 10) | 1);
    m.0.insert(0x3000 + 8, (0x11 << 10) | 0xc7);
    m.0.insert(0x3000 + 2 * 8, (0x12 << 10) | 0x47);
    m.0.insert(0x3000 + 3 * 8, (0x13 << 10) | 0x43);
    m.0.insert(0x3000 + 4 * 8, (0x14 << 10) | 0xd7);
    let mode = |prv, sum| Mode {
        prv,
        satp: (8 << 60) | 1,
        sum,
        mxr: false,
    };
    let w = |md: &Mode, va, m: &mut Mem| walk(md, va, Kind::Read, m).map(|w| w.writable);
    let s = mode(PRV_S, false);
    assert_eq!(w(&s, 0x1008, &mut m), Ok(true), "writable and dirty");
    assert_eq!(w(&s, 0x2008, &mut m), Ok(false), "clean: a store sets D");
    assert_eq!(m.0[&(0x3000 + 2 * 8)] & 0x80, 0, "a load leaves D alone");
    assert_eq!(w(&s, 0x3008, &mut m), Ok(false), "read-only");
    assert_eq!(w(&mode(PRV_U, false), 0x4008, &mut m), Ok(true));
    assert_eq!(w(&mode(PRV_S, true), 0x4008, &mut m), Ok(true), "SUM");
    assert_eq!(w(&s, 0x4008, &mut m), Err(13));
    // the store itself then translates without touching the PTE
    let before = m.0[&(0x3000 + 8)];
    assert_eq!(
        walk(&s, 0x1008, Kind::Write, &mut m).map(|w| w.pa),
        Ok(0x11008)
    );
    assert_eq!(m.0[&(0x3000 + 8)], before);
    // no translation: always
    assert_eq!(w(&mode(PRV_M, false), 0x1234, &mut m), Ok(true));
}
