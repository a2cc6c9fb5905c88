//! The privileged instructions and CSR accesses, emulated by the machine's loop when system-
//! mode code raises illegal-instruction for them (see the module doc of [`super`]), and the
//! other synchronous traps (`ecall`, `ebreak`, faults) turned into trap entries.

use super::csr::{TSR, TVM, TW};
use super::*;
use crate::state;

const OPC_SYSTEM: u32 = 0x73;
const SRET: u32 = 0x1020_0073;
const MRET: u32 = 0x3020_0073;
const WFI: u32 = 0x1050_0073;
const ECALL: u32 = 0x0000_0073;
const EBREAK: u32 = 0x0010_0073;
/// `fence.i` (opcode MISC-MEM, funct3 1; the other fields are ignored).
const FENCE_I: u32 = 0x0000_100f;

/// Handles the illegal-instruction exception the instruction `bits` at `env.pc` raised:
/// emulates it if it is a CSR access or privileged instruction the hart may execute, else
/// takes the illegal-instruction trap.
pub fn illegal(env: &mut CpuState, bits: u32, p: &Platform) -> Effects {
    if bits & 0x7f == OPC_SYSTEM
        && let Some(fx) = system_insn(env, bits, p)
    {
        return fx;
    }
    if bits & 0x707f == FENCE_I {
        env.pc = env.pc.wrapping_add(4);
        return Effects {
            fence_i: true,
            ..Effects::default()
        };
    }
    exception(env, u64::from(crate::ILLEGAL_INSTRUCTION), u64::from(bits))
}

/// `ecall` at `env.pc`: the environment call from the current privilege.
pub fn ecall(env: &mut CpuState) -> Effects {
    let cause = 8 + env.word(PRIV);
    exception(env, cause, 0)
}

/// `ebreak` at `env.pc`.
pub fn ebreak(env: &mut CpuState) -> Effects {
    let pc = env.pc;
    exception(env, u64::from(crate::BREAKPOINT), pc)
}

/// A synchronous exception `cause` at `env.pc` with trap value `tval`.
pub fn exception(env: &mut CpuState, cause: u64, tval: u64) -> Effects {
    let pc = env.pc;
    trap::take(env, cause, pc, tval)
}

fn next(env: &mut CpuState, fx: Effects) -> Option<Effects> {
    env.pc = env.pc.wrapping_add(4);
    Some(fx)
}

/// A SYSTEM-opcode instruction; `None` when it must raise illegal-instruction.
fn system_insn(env: &mut CpuState, bits: u32, p: &Platform) -> Option<Effects> {
    let prv = env.word(PRIV);
    let st = env.word(MSTATUS);
    let funct3 = (bits >> 12) & 7;
    if funct3 != 0 {
        return csr_insn(env, bits, p);
    }
    match bits {
        ECALL => Some(ecall(env)),
        EBREAK => Some(ebreak(env)),
        // Like QEMU, an mret to a lower privilege while no PMP entry is on faults at the
        // mret itself (that privilege could not fetch anything).
        MRET if prv == PRV_M && !mret_blocked(env) => Some(trap::mret(env)),
        MRET if prv == PRV_M => Some(exception(
            env,
            u64::from(crate::INSTRUCTION_ACCESS_FAULT),
            0,
        )),
        SRET if prv == PRV_M || (prv == PRV_S && st & TSR == 0) => Some(trap::sret(env)),
        WFI if prv == PRV_M || (prv == PRV_S && st & TW == 0) => next(
            env,
            Effects {
                wfi: true,
                ..Effects::default()
            },
        ),
        // sfence.vma rs1, rs2 with an address: that page only (ASIDs are not implemented,
        // so rs2 does not narrow it further).
        _ if bits & 0xfe00_7fff == 0x1200_0073
            && (bits >> 15) & 31 != 0
            && (prv == PRV_M || (prv == PRV_S && st & TVM == 0)) =>
        {
            let va = env.word(state::x(((bits >> 15) & 31) as u8));
            next(
                env,
                Effects {
                    flush_page: Some(va),
                    ..Effects::default()
                },
            )
        }
        // sfence.vma x0, rs2
        _ if bits & 0xfe00_7fff == 0x1200_0073
            && (prv == PRV_M || (prv == PRV_S && st & TVM == 0)) =>
        {
            next(
                env,
                Effects {
                    mmu: true,
                    flush_code: true,
                    ..Effects::default()
                },
            )
        }
        _ => None,
    }
}

/// An mret to S or U with every PMP entry off.
fn mret_blocked(env: &CpuState) -> bool {
    let mpp = (env.word(MSTATUS) & super::csr::MPP) >> super::csr::MPP_SHIFT;
    let pmp = super::pmp::Pmp::from_env(env);
    mpp != PRV_M && pmp.cfg.iter().all(|c| (c >> 3) & 3 == 0)
}

fn csr_insn(env: &mut CpuState, bits: u32, p: &Platform) -> Option<Effects> {
    let rd = ((bits >> 7) & 31) as u8;
    let funct3 = (bits >> 12) & 7;
    let rs1 = ((bits >> 15) & 31) as u8;
    let csr = (bits >> 20) as u16;
    let src = if funct3 >= 5 {
        u64::from(rs1)
    } else if rs1 == 0 {
        0
    } else {
        env.word(state::x(rs1))
    };
    // csrrs/csrrc with rs1 = x0 (uimm = 0) do not write.
    let writes = matches!(funct3, 1 | 5) || rs1 != 0;
    if funct3 == 4 || !csr::access_ok(env, csr, writes) {
        return None;
    }
    let old = csr::read(env, csr, p)?;
    let mut fx = Effects::default();
    if writes {
        let base = csr::rmw_base(env, csr, old);
        let new = match funct3 & 3 {
            1 => src,
            2 => base | src,
            _ => base & !src,
        };
        fx = csr::write(env, csr, new)?;
    }
    if rd != 0 {
        env.set_word(state::x(rd), old);
    }
    next(env, fx)
}

/// A CSR instruction `bits` done in place by compiled or interpreted code, without leaving
/// for the machine's loop: only when it is legal, its write needs nothing of the machine
/// but what `mmu_in_place` can do (an [`Effects::mmu`] change that needs no flush, e.g.
/// `sstatus.SUM`; interrupt enables in `sstatus`/`mstatus`, as long as no interrupt becomes
/// takeable; no timer or flush) . Returns false (the state untouched) otherwise; the caller
/// then raises illegal-instruction as before and the loop emulates it with [`illegal`].
/// `pc` is not advanced. `mmu_in_place` resyncs the machine's MMU with the state, or
/// returns false having changed nothing.
pub fn csr_in_place(
    env: &mut CpuState,
    bits: u32,
    p: &Platform,
    mmu_in_place: &dyn Fn(&mut CpuState) -> bool,
) -> bool {
    let rd = ((bits >> 7) & 31) as u8;
    let funct3 = (bits >> 12) & 7;
    let rs1 = ((bits >> 15) & 31) as u8;
    let csr = (bits >> 20) as u16;
    if bits & 0x7f != OPC_SYSTEM || funct3 == 0 || funct3 == 4 {
        return false;
    }
    let src = if funct3 >= 5 {
        u64::from(rs1)
    } else if rs1 == 0 {
        0
    } else {
        env.word(state::x(rs1))
    };
    let writes = matches!(funct3, 1 | 5) || rs1 != 0;
    if !csr::access_ok(env, csr, writes) {
        return false;
    }
    let Some(old) = csr::read(env, csr, p) else {
        return false;
    };
    if writes {
        // What a write may change: the FP control words and the privileged words.
        let fp: [u64; 2] = [env.word(state::FFLAGS), env.word(state::FRM)];
        let first = ((super::PRIV - xlat_ir::abi::reg_offset(0)) / 8) as usize;
        let mut saved = [0u64; PRIV_WORDS];
        saved.copy_from_slice(&env.regs[first..first + PRIV_WORDS]);
        let base = csr::rmw_base(env, csr, old);
        let new = match funct3 & 3 {
            1 => src,
            2 => base | src,
            _ => base & !src,
        };
        let ok = match csr::write(env, csr, new) {
            Some(fx) if !fx.flush_code && !fx.wfi && !fx.fence_i => {
                // sstatus/mstatus report `irq` for their interrupt enables: enough to see
                // that nothing became takeable (the timer does not depend on them).
                let irq_ok = !fx.irq || matches!(csr, csr::n::SSTATUS | csr::n::MSTATUS);
                irq_ok && trap::pending(env, p).is_none() && (!fx.mmu || mmu_in_place(env))
            }
            _ => false,
        };
        if !ok {
            env.regs[first..first + PRIV_WORDS].copy_from_slice(&saved);
            env.set_word(state::FFLAGS, fp[0]);
            env.set_word(state::FRM, fp[1]);
            return false;
        }
    }
    if rd != 0 {
        env.set_word(state::x(rd), old);
    }
    true
}

/// State words from [`super::PRIV`] on that hold privileged state (all of it, with room).
const PRIV_WORDS: usize = 64;
