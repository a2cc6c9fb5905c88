//! Machine- and supervisor-level CSRs (Privileged ISA ch. 2, 3 and 10; Sstc), plus the
//! unprivileged ones a system-mode hart reads through the machine (fcsr pieces, counters).
//! [`read`] and [`write`] implement the registers' values and WARL rules; access checks by
//! privilege and read-only-ness are in [`access_ok`].

use super::*;
use crate::state::{FFLAGS, FRM};

/// mstatus bits.
pub const SIE: u64 = 1 << 1;
/// Machine interrupt enable.
pub const MIE_BIT: u64 = 1 << 3;
/// Previous SIE.
pub const SPIE: u64 = 1 << 5;
/// Previous MIE.
pub const MPIE: u64 = 1 << 7;
/// Previous privilege for sret.
pub const SPP: u64 = 1 << 8;
/// Shift of the previous privilege for mret.
pub const MPP_SHIFT: u32 = 11;
/// Previous privilege for mret.
pub const MPP: u64 = 3 << MPP_SHIFT;
/// FP state.
pub const FS: u64 = 3 << 13;
/// Modify privilege (loads and stores as MPP).
pub const MPRV: u64 = 1 << 17;
/// Supervisor may access user pages.
pub const SUM: u64 = 1 << 18;
/// Loads from executable pages.
pub const MXR: u64 = 1 << 19;
/// Trap virtual memory (satp, sfence.vma in S-mode).
pub const TVM: u64 = 1 << 20;
/// Timeout wait (wfi below M).
pub const TW: u64 = 1 << 21;
/// Trap sret.
pub const TSR: u64 = 1 << 22;
/// UXL = SXL = 64 bits (read-only).
pub const MSTATUS_XL: u64 = (2 << 32) | (2 << 34);
/// Something dirty (read-only summary).
pub const SD: u64 = 1 << 63;

const MSTATUS_W: u64 =
    SIE | MIE_BIT | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
const SSTATUS_R: u64 = SIE | SPIE | SPP | FS | (3 << 15) | SUM | MXR | (3 << 32) | SD;
const SSTATUS_W: u64 = SIE | SPIE | SPP | FS | SUM | MXR;
/// The mstatus bits translation depends on.
const MSTATUS_MMU: u64 = MPRV | MPP | SUM | MXR;

/// Interrupt bits of mip/mie.
pub const SSI: u64 = 1 << 1;
/// Machine software interrupt.
pub const MSI: u64 = 1 << 3;
/// Supervisor timer interrupt.
pub const STI: u64 = 1 << 5;
/// Machine timer interrupt.
pub const MTI: u64 = 1 << 7;
/// Supervisor external interrupt.
pub const SEI: u64 = 1 << 9;
/// Machine external interrupt.
pub const MEI: u64 = 1 << 11;
const S_INTS: u64 = SSI | STI | SEI;
const ALL_INTS: u64 = S_INTS | MSI | MTI | MEI;
/// Exceptions that may be delegated to S-mode (all but ecall from M).
const MEDELEG_W: u64 = 0xb3ff;
/// menvcfg.STCE: Sstc enabled.
pub const STCE: u64 = 1 << 63;

/// CSR numbers.
#[allow(missing_docs, reason = "names are the CSRs' own")]
pub mod n {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const CYCLE: u16 = 0xc00;
    pub const TIME: u16 = 0xc01;
    pub const INSTRET: u16 = 0xc02;
    pub const SSTATUS: u16 = 0x100;
    pub const SIE: u16 = 0x104;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SENVCFG: u16 = 0x10a;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SIP: u16 = 0x144;
    pub const STIMECMP: u16 = 0x14d;
    pub const SATP: u16 = 0x180;
    pub const MVENDORID: u16 = 0xf11;
    pub const MARCHID: u16 = 0xf12;
    pub const MIMPID: u16 = 0xf13;
    pub const MHARTID: u16 = 0xf14;
    pub const MCONFIGPTR: u16 = 0xf15;
    pub const MSTATUS: u16 = 0x300;
    pub const MISA: u16 = 0x301;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MENVCFG: u16 = 0x30a;
    pub const MCOUNTINHIBIT: u16 = 0x320;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const MIP: u16 = 0x344;
    pub const MTINST: u16 = 0x34a;
    pub const MTVAL2: u16 = 0x34b;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const PMPCFG2: u16 = 0x3a2;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const MCYCLE: u16 = 0xb00;
    pub const MINSTRET: u16 = 0xb02;
}

/// The effective `mip`: software bits, device lines and the Sstc timer.
pub fn mip(env: &CpuState, p: &Platform) -> u64 {
    let mut v = (env.word(MIP_SW) & S_INTS) | (p.lines & (MSI | MTI | MEI | SEI));
    if env.word(MENVCFG) & STCE != 0 {
        v &= !STI;
        if p.time >= env.word(STIMECMP) {
            v |= STI;
        }
    }
    v
}

/// The value a read-modify-write (`csrrs`/`csrrc`) of `csr` starts from, `old` being what it
/// reads: for `mip`, SEIP is the software-writable bit alone (Privileged ISA, "Machine
/// Interrupt Registers"), so that e.g. OpenSBI setting SSIP while the PLIC drives SEIP does not
/// latch SEIP on for good (an endless external-interrupt storm once the PLIC line drops).
pub fn rmw_base(env: &CpuState, csr: u16, old: u64) -> u64 {
    if csr == n::MIP {
        (old & !SEI) | (env.word(MIP_SW) & SEI)
    } else {
        old
    }
}

/// Whether the current privilege may access `csr` (read-only CSRs only when not `write`).
pub fn access_ok(env: &CpuState, csr: u16, write: bool) -> bool {
    let prv = env.word(PRIV);
    if u64::from((csr >> 8) & 3) > prv || (write && csr >> 10 == 3) {
        return false;
    }
    let counter = |i: u16| {
        let bit = 1u64 << (i & 31);
        (prv == PRV_M || env.word(MCOUNTEREN) & bit != 0)
            && (prv != PRV_U || env.word(SCOUNTEREN) & bit != 0)
    };
    match csr {
        n::FFLAGS..=n::FCSR => env.word(MSTATUS) & FS != 0,
        0xc00..=0xc1f => counter(csr - 0xc00),
        n::SATP => !(prv == PRV_S && env.word(MSTATUS) & TVM != 0),
        n::STIMECMP => {
            prv == PRV_M || (env.word(MENVCFG) & STCE != 0 && env.word(MCOUNTEREN) & 2 != 0)
        }
        _ => true,
    }
}

/// Reads `csr`; `None` if it does not exist (illegal instruction).
pub fn read(env: &CpuState, csr: u16, p: &Platform) -> Option<u64> {
    let counters = p.time.wrapping_add(env.word(COUNTER_OFF));
    Some(match csr {
        n::FFLAGS => env.word(FFLAGS) & 0x1f,
        n::FRM => env.word(FRM) & 7,
        n::FCSR => (env.word(FFLAGS) & 0x1f) | ((env.word(FRM) & 7) << 5),
        n::CYCLE | n::INSTRET | n::MCYCLE | n::MINSTRET => counters,
        n::TIME => p.time,
        0xc03..=0xc1f | 0xb03..=0xb1f | 0x323..=0x33f => 0,
        n::SSTATUS => mstatus(env) & SSTATUS_R,
        n::SIE => env.word(MIE) & env.word(MIDELEG),
        n::STVEC => env.word(STVEC),
        n::SCOUNTEREN => env.word(SCOUNTEREN),
        n::SENVCFG => env.word(SENVCFG),
        n::SSCRATCH => env.word(SSCRATCH),
        n::SEPC => env.word(SEPC),
        n::SCAUSE => env.word(SCAUSE),
        n::STVAL => env.word(STVAL),
        n::SIP => mip(env, p) & env.word(MIDELEG),
        n::STIMECMP => env.word(STIMECMP),
        n::SATP => env.word(SATP),
        n::MVENDORID | n::MARCHID | n::MIMPID | n::MCONFIGPTR => 0,
        n::MHARTID => env.word(MHARTID),
        n::MSTATUS => mstatus(env),
        n::MISA => MISA,
        n::MEDELEG => env.word(MEDELEG),
        n::MIDELEG => env.word(MIDELEG),
        n::MIE => env.word(MIE),
        n::MTVEC => env.word(MTVEC),
        n::MCOUNTEREN => env.word(MCOUNTEREN),
        n::MENVCFG => env.word(MENVCFG),
        n::MCOUNTINHIBIT => env.word(MCOUNTINHIBIT),
        n::MSCRATCH => env.word(MSCRATCH),
        n::MEPC => env.word(MEPC),
        n::MCAUSE => env.word(MCAUSE),
        n::MTVAL => env.word(MTVAL),
        n::MIP => mip(env, p),
        n::MTINST | n::MTVAL2 => 0,
        n::PMPCFG0 => env.word(PMPCFG),
        n::PMPCFG2 => env.word(PMPCFG + 8),
        0x3b0..=0x3bf => env.word(PMPADDR + 8 * u32::from(csr - n::PMPADDR0)),
        0x3c0..=0x3ef => 0,
        _ => return None,
    })
}

fn mstatus(env: &CpuState) -> u64 {
    let mut v = env.word(MSTATUS) | MSTATUS_XL;
    // FP state is tracked imprecisely: any enabled state reads as Dirty (allowed by the spec),
    // so a kernel always saves the FP registers it must.
    if v & FS != 0 {
        v |= FS | SD;
    }
    v
}

/// Writes `val` to `csr` (the caller checked [`access_ok`]); `None` if it does not exist.
pub fn write(env: &mut CpuState, csr: u16, val: u64) -> Option<Effects> {
    let irq = Effects {
        irq: true,
        ..Effects::default()
    };
    let mut fx = Effects::default();
    match csr {
        n::FFLAGS => env.set_word(FFLAGS, val & 0x1f),
        n::FRM => env.set_word(FRM, val & 7),
        n::FCSR => {
            env.set_word(FFLAGS, val & 0x1f);
            env.set_word(FRM, (val >> 5) & 7);
        }
        n::MCYCLE | n::MINSTRET => {}
        0xb03..=0xb1f | 0x323..=0x33f | n::MTINST | n::MTVAL2 | 0x3c0..=0x3ef => {}
        n::SSTATUS => return Some(set_mstatus(env, val, SSTATUS_W)),
        n::MSTATUS => return Some(set_mstatus(env, val, MSTATUS_W)),
        n::SIE => {
            let d = env.word(MIDELEG) & S_INTS;
            env.set_word(MIE, (env.word(MIE) & !d) | (val & d));
            fx = irq;
        }
        n::MIE => {
            env.set_word(MIE, val & ALL_INTS);
            fx = irq;
        }
        n::SIP => {
            let d = env.word(MIDELEG) & SSI;
            env.set_word(MIP_SW, (env.word(MIP_SW) & !d) | (val & d));
            fx = irq;
        }
        n::MIP => {
            let mut m = SSI | SEI;
            if env.word(MENVCFG) & STCE == 0 {
                m |= STI;
            }
            env.set_word(MIP_SW, (env.word(MIP_SW) & !m) | (val & m));
            fx = irq;
        }
        n::STVEC => env.set_word(STVEC, tvec(val)),
        n::MTVEC => env.set_word(MTVEC, tvec(val)),
        n::SCOUNTEREN => env.set_word(SCOUNTEREN, val & 0xffff_ffff),
        n::MCOUNTEREN => env.set_word(MCOUNTEREN, val & 0xffff_ffff),
        n::SENVCFG => env.set_word(SENVCFG, val & 1),
        n::MENVCFG => {
            env.set_word(MENVCFG, val & (STCE | 1));
            fx = irq;
        }
        n::MCOUNTINHIBIT => env.set_word(MCOUNTINHIBIT, val & !2),
        n::SSCRATCH => env.set_word(SSCRATCH, val),
        n::MSCRATCH => env.set_word(MSCRATCH, val),
        n::SEPC => env.set_word(SEPC, val & !1),
        n::MEPC => env.set_word(MEPC, val & !1),
        n::SCAUSE => env.set_word(SCAUSE, val),
        n::MCAUSE => env.set_word(MCAUSE, val),
        n::STVAL => env.set_word(STVAL, val),
        n::MTVAL => env.set_word(MTVAL, val),
        n::STIMECMP => {
            env.set_word(STIMECMP, val);
            fx = irq;
        }
        n::SATP => {
            // Bare, Sv39 and Sv48; a write of another mode is ignored (WARL).
            let mode = val >> 60;
            if matches!(mode, 0 | 8 | 9) {
                // ASIDs are not implemented (ASIDLEN = 0): the field reads as zero.
                env.set_word(SATP, val & !(0xffffu64 << 44));
                fx = Effects {
                    mmu: true,
                    flush_code: true,
                    ..Effects::default()
                };
            }
        }
        n::MEDELEG => env.set_word(MEDELEG, val & MEDELEG_W),
        n::MIDELEG => {
            env.set_word(MIDELEG, val & S_INTS);
            fx = irq;
        }
        n::PMPCFG0 | n::PMPCFG2 => {
            let i = u32::from(csr - n::PMPCFG0) / 2;
            // Locked entries keep their configuration; the reserved W-without-R combination
            // is not stored.
            let old = env.word(PMPCFG + 8 * i);
            let mut new = 0u64;
            for b in 0..8 {
                let o = (old >> (8 * b)) & 0xff;
                let mut v = (val >> (8 * b)) & 0x9f;
                if o & 0x80 != 0 {
                    v = o;
                } else if v & 3 == 2 {
                    v &= !3;
                }
                new |= v << (8 * b);
            }
            env.set_word(PMPCFG + 8 * i, new);
            fx = pmp_changed();
        }
        0x3b0..=0x3bf => {
            let i = u32::from(csr - n::PMPADDR0);
            let cfg = (env.word(PMPCFG + 8 * (i / 8)) >> (8 * (i % 8))) & 0xff;
            if cfg & 0x80 == 0 {
                env.set_word(PMPADDR + 8 * i, val & ((1 << 54) - 1));
            }
            fx = pmp_changed();
        }
        _ => {
            read(env, csr, &Platform::default())?;
            // Read-only registers that exist (ids, misa, counters below M): writes ignored.
        }
    }
    Some(fx)
}

/// PMP changes invalidate cached translations (they record permitted pages).
fn pmp_changed() -> Effects {
    Effects {
        mmu: true,
        flush_code: true,
        ..Effects::default()
    }
}

fn tvec(val: u64) -> u64 {
    // Direct or vectored; the reserved modes read as direct.
    if val & 3 >= 2 { val & !3 } else { val }
}

fn set_mstatus(env: &mut CpuState, val: u64, mask: u64) -> Effects {
    let old = env.word(MSTATUS);
    let mut new = (old & !mask) | (val & mask);
    if (new & MPP) >> MPP_SHIFT == 2 {
        new = (new & !MPP) | (old & MPP); // MPP is WARL: the reserved level is not stored
    }
    env.set_word(MSTATUS, new);
    Effects {
        mmu: (old ^ new) & MSTATUS_MMU != 0,
        irq: true,
        ..Effects::default()
    }
}
