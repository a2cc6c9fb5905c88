//! Zicsr — Unprivileged ISA, ch. "Zicsr", Control and Status Register Instructions.
//! User mode implements fflags/frm/fcsr (read-write) and cycle/time/instret (read-only); every
//! other CSR, and any write to a read-only one, is an illegal instruction.

use super::LiftCx;
use crate::decode::{Args, Op};
use crate::helpers;
use crate::state::{FFLAGS, FRM};
use xlat_ir::{Opcode, Temp, Ty};

const FFLAGS_CSR: u16 = 0x001;
const FRM_CSR: u16 = 0x002;
const FCSR_CSR: u16 = 0x003;

/// Lifts `op` if it is a CSR instruction; returns whether it did.
pub(super) fn lift(cx: &mut LiftCx, op: Op, args: Args) -> bool {
    let Args::Csr(a) = args else { return false };
    if cx.system {
        // Done in place when only CSR state changes; otherwise the machine's loop emulates
        // it (crate::system::csr).
        let bits = cx.b.konst(Ty::I64, u64::from(cx.bits));
        cx.b.call_void(&crate::system::CSR_IN_PLACE, &[bits]);
        return true;
    }
    use Op::*;
    let imm = matches!(op, Csrrwi | Csrrsi | Csrrci);
    let kind = match op {
        Csrrw | Csrrwi => Kind::Write,
        Csrrs | Csrrsi => Kind::Set,
        Csrrc | Csrrci => Kind::Clear,
        _ => return false,
    };
    // csrrs/csrrc with rs1 = x0 (or uimm = 0) do not write (ISA §"CSR Instructions").
    let writes = kind == Kind::Write || a.rs1 != 0;
    let readonly = matches!(a.csr, 0xc00..=0xc02);
    if !(matches!(a.csr, FFLAGS_CSR..=FCSR_CSR) || readonly) || (readonly && writes) {
        cx.gen_illegal();
        return true;
    }
    if readonly {
        let c = cx.b.konst(Ty::I64, u64::from(a.csr));
        let v = cx.b.call(&helpers::CSR_COUNTER, &[c]);
        cx.gen_set_x(a.rd, v);
        return true;
    }
    let src = if imm {
        cx.b.konst(Ty::I64, u64::from(a.rs1))
    } else {
        cx.gen_get_x(a.rs1)
    };
    let old = gen_read(cx, a.csr);
    if writes {
        let new = match kind {
            Kind::Write => src,
            Kind::Set => cx.b.binop(Opcode::Or, old, src),
            Kind::Clear => cx.b.binop(Opcode::AndN, old, src),
        };
        gen_write(cx, a.csr, new);
    }
    cx.gen_set_x(a.rd, old);
    true
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Write,
    Set,
    Clear,
}

fn gen_read(cx: &mut LiftCx, csr: u16) -> Temp {
    match csr {
        FFLAGS_CSR => cx.b.get_reg(Ty::I64, FFLAGS),
        FRM_CSR => cx.b.get_reg(Ty::I64, FRM),
        _ => {
            let fl = cx.b.get_reg(Ty::I64, FFLAGS);
            let rm = cx.b.get_reg(Ty::I64, FRM);
            let rm = cx.b.binop_imm(Opcode::Shl, rm, 5);
            cx.b.binop(Opcode::Or, fl, rm)
        }
    }
}

fn gen_write(cx: &mut LiftCx, csr: u16, v: Temp) {
    match csr {
        FFLAGS_CSR => gen_field(cx, FFLAGS, v, 0, 0x1f),
        FRM_CSR => gen_field(cx, FRM, v, 0, 7),
        _ => {
            gen_field(cx, FFLAGS, v, 0, 0x1f);
            gen_field(cx, FRM, v, 5, 7);
        }
    }
}

fn gen_field(cx: &mut LiftCx, off: u32, v: Temp, shift: u64, mask: u64) {
    let s = if shift == 0 {
        v
    } else {
        cx.b.binop_imm(Opcode::Shr, v, shift)
    };
    let m = cx.b.binop_imm(Opcode::And, s, mask);
    cx.b.set_reg(off, m);
}
