//! Branches, exception generation and system instructions (hints, barriers, MRS/MSR of the
//! EL0 registers, DC ZVA).

use super::LiftCx;
use crate::state;
use xlat_ir::{Cond, ExitReason, MemOp, Opcode, Ty};

fn sext(v: u32, bits: u32) -> u64 {
    (((v as i64) << (64 - bits)) >> (64 - bits)) as u64
}

/// Ends the unit with a two-way branch on `holds` (0/1) to `target` or the next instruction.
fn cond_exit(cx: &mut LiftCx, c: Cond, a: xlat_ir::Temp, b: xlat_ir::Temp, target: u64) {
    let taken = cx.b.label();
    cx.b.branch(c, a, b, taken);
    cx.b.goto_tb(0, cx.next_pc());
    cx.b.set_label(taken);
    cx.b.goto_tb(1, target);
}

pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let insn = cx.insn;
    let pc = cx.pc;
    if insn & 0x7c00_0000 == 0x1400_0000 {
        let target = pc.wrapping_add(sext(insn & 0x03ff_ffff, 26) << 2);
        if insn >> 31 == 1 {
            let ret = cx.b.konst(Ty::I64, cx.next_pc());
            cx.set_x(30, ret, true);
        }
        cx.b.goto_tb(0, target);
        return true;
    }
    if insn & 0xff00_0010 == 0x5400_0000 {
        let target = pc.wrapping_add(sext(cx.f(23, 5), 19) << 2);
        let holds = cx.cond_holds(cx.f(3, 0));
        let zero = cx.b.konst(Ty::I64, 0);
        cond_exit(cx, Cond::Ne, holds, zero, target);
        return true;
    }
    if insn & 0x7e00_0000 == 0x3400_0000 {
        let sf = insn >> 31 == 1;
        let target = pc.wrapping_add(sext(cx.f(23, 5), 19) << 2);
        let v = cx.get_x(cx.f(4, 0), sf);
        let zero = cx.b.konst(Ty::I64, 0);
        let c = if cx.f(24, 24) == 0 {
            Cond::Eq
        } else {
            Cond::Ne
        };
        cond_exit(cx, c, v, zero, target);
        return true;
    }
    if insn & 0x7e00_0000 == 0x3600_0000 {
        let bit = (cx.f(31, 31) << 5) | cx.f(23, 19);
        let target = pc.wrapping_add(sext(cx.f(18, 5), 14) << 2);
        let v = cx.get_x(cx.f(4, 0), true);
        let t = cx.b.binop_imm(Opcode::And, v, 1u64 << bit);
        let zero = cx.b.konst(Ty::I64, 0);
        let c = if cx.f(24, 24) == 0 {
            Cond::Eq
        } else {
            Cond::Ne
        };
        cond_exit(cx, c, t, zero, target);
        return true;
    }
    if insn & 0xff9f_fc1f == 0xd61f_0000 {
        // BR, BLR, RET (opc 0, 1, 2).
        let opc = cx.f(22, 21);
        let dst = cx.get_x(cx.f(9, 5), true);
        if opc == 1 {
            let ret = cx.b.konst(Ty::I64, cx.next_pc());
            cx.set_x(30, ret, true);
        }
        if opc == 3 {
            return false;
        }
        cx.b.goto_ptr(dst);
        return true;
    }
    if insn & 0xffe0_001f == 0xd400_0001 {
        cx.b.exit(ExitReason::Syscall, pc);
        return true;
    }
    if insn & 0xffe0_001f == 0xd420_0000 {
        cx.b.exit(ExitReason::Breakpoint, pc);
        return true;
    }
    if insn & 0xffc0_0000 == 0xd500_0000 {
        return system(cx);
    }
    false
}

/// The MRS/MSR system-register key: op0(1 bit) op1 CRn CRm op2 (bits 19:5).
const fn key(op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (1 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}
const NZCV: u32 = key(3, 4, 2, 0);
const FPCR: u32 = key(3, 4, 4, 0);
const FPSR: u32 = key(3, 4, 4, 1);
const TPIDR_EL0: u32 = key(3, 13, 0, 2);
const TPIDRRO_EL0: u32 = key(3, 13, 0, 3);
const DCZID_EL0: u32 = key(3, 0, 0, 7);
const CTR_EL0: u32 = key(3, 0, 0, 1);
const CNTFRQ_EL0: u32 = key(3, 14, 0, 0);
const CNTVCT_EL0: u32 = key(3, 14, 0, 2);

/// The ID registers Linux emulates for EL0 (op1 0, CRn 0, CRm 0 and 4-7), with the values this
/// frontend implements: ID_AA64PFR0_EL1 EL0/EL1 AArch64-only, FP and AdvSIMD without FP16 (0);
/// ID_AA64ISAR0_EL1 Atomic = 2 (LSE) and CRC32 = 1; everything else 0 (no AES, SHA, PMULL.1Q,
/// RDM, FP16, DotProd, PAuth, BTI, SVE...).
fn id_register(k: u32) -> Option<u64> {
    let (op1, crn, crm, op2) = ((k >> 11) & 7, (k >> 7) & 15, (k >> 3) & 15, k & 7);
    if k >> 14 != 1 || op1 != 0 || crn != 0 {
        return None;
    }
    Some(match (crm, op2) {
        (0, 0) => 0,           // MIDR_EL1: no implementer claimed
        (0, 5) => 0x8000_0000, // MPIDR_EL1 as Linux shows it
        (0, 6) => 0,           // REVIDR_EL1
        (0, _) => return None,
        (4, 0) => 0x11,                  // ID_AA64PFR0_EL1
        (6, 0) => (2 << 20) | (1 << 16), // ID_AA64ISAR0_EL1
        (4..=7, _) => 0,
        _ => return None,
    })
}

fn system(cx: &mut LiftCx) -> bool {
    let insn = cx.insn;
    let rt = cx.f(4, 0);
    if insn & 0xffff_f01f == 0xd503_201f {
        return true; // hints: nop, yield, wfe, sev, bti, pac hints (no PAuth, no BTI)...
    }
    match insn & 0xffff_f0ff {
        0xd503_305f => {
            let none = cx.b.konst(Ty::I64, state::EXCL_NONE);
            cx.b.set_reg(state::EXCL_ADDR, none);
            return true;
        }
        0xd503_309f | 0xd503_30bf => {
            cx.b.fence();
            return true;
        }
        0xd503_30df => {
            // ISB: after an IC IVAU (guest code written: libgcc's __clear_cache ends with
            // IC IVAU...; DSB; ISB) the translations go, since writes to code pages are not
            // tracked in user mode; otherwise nothing cached in the unit depends on it.
            let dirty = cx.b.get_reg(Ty::I64, state::IC_DIRTY);
            let zero = cx.b.konst(Ty::I64, 0);
            let clean = cx.b.label();
            cx.b.branch(Cond::Eq, dirty, zero, clean);
            cx.b.set_reg(state::IC_DIRTY, zero);
            cx.b.exit(ExitReason::FlushCode, cx.next_pc());
            cx.b.set_label(clean);
            return true;
        }
        _ => {}
    }
    if insn & 0xffff_ffe0 == 0xd50b_7420 {
        // DC ZVA with a 64-byte block (DCZID_EL0 = 4).
        let a = cx.get_x(rt, true);
        let base = cx.b.binop_imm(Opcode::And, a, !63);
        let zero = cx.b.konst(Ty::I64, 0);
        for i in 0..8 {
            cx.b.store(zero, base, i * 8, MemOp::le(8, false));
        }
        return true;
    }
    if insn & 0xffff_ffe0 == 0xd50b_7520 {
        // IC IVAU: the next ISB flushes the translated code.
        let one = cx.b.konst(Ty::I64, 1);
        cx.b.set_reg(state::IC_DIRTY, one);
        return true;
    }
    if insn & 0xffff_f0e0 == 0xd50b_7020 && matches!(cx.f(11, 8), 10 | 11 | 14) {
        // DC CVAC/CVAU/CIVAC: no data caches to maintain (DC CVAP/CVADP need FEAT_DPB/DPB2,
        // not advertised).
        return true;
    }
    let k = cx.f(19, 5);
    if insn & 0xfff0_0000 == 0xd530_0000 {
        let v = match k {
            NZCV => cx.nzcv_packed(),
            FPCR => cx.b.get_reg(Ty::I64, state::FPCR),
            FPSR => cx.b.get_reg(Ty::I64, state::FPSR),
            TPIDR_EL0 => cx.b.get_reg(Ty::I64, state::TPIDR),
            TPIDRRO_EL0 => cx.b.konst(Ty::I64, 0),
            DCZID_EL0 => cx.b.konst(Ty::I64, 4),
            // DminLine = IminLine = 4 (64-byte lines); DIC and IDC clear, so code writers
            // issue IC IVAU (and the ISB after it drops the translations).
            CTR_EL0 => cx.b.konst(Ty::I64, 0x8444_c004),
            CNTFRQ_EL0 => cx.b.konst(Ty::I64, crate::bits::CNTFRQ),
            CNTVCT_EL0 => cx.b.call(&crate::bits::CNTVCT, &[]),
            _ => match id_register(k) {
                Some(v) => cx.b.konst(Ty::I64, v),
                None => return false,
            },
        };
        cx.set_x(rt, v, true);
        return true;
    }
    if insn & 0xfff0_0000 == 0xd510_0000 {
        let v = cx.get_x(rt, true);
        match k {
            NZCV => {
                let p = cx.b.binop_imm(Opcode::And, v, 0xf000_0000);
                cx.set_flags(super::Flags::Packed(p));
            }
            // Writable FPCR bits: AHP, DN, FZ, RMode and the AArch32 Stride and Len (kept for
            // context switches, ignored in AArch64); no trapped exceptions, and no FZ16, AH,
            // FIZ or NEP: FP16 and AFP are not advertised (as on a Cortex-A53).
            FPCR => {
                let m = cx.b.binop_imm(Opcode::And, v, 0x07f7_0000);
                cx.b.set_reg(state::FPCR, m);
            }
            FPSR => {
                let m = cx.b.binop_imm(Opcode::And, v, 0xf800_009f);
                cx.b.set_reg(state::FPSR, m);
            }
            TPIDR_EL0 => cx.b.set_reg(state::TPIDR, v),
            _ => return false,
        }
        return true;
    }
    false
}
