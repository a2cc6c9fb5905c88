//! The IR verifier: checks a unit's well-formedness before the backend or interpreter sees it.
//! A failure means a frontend bug, never guest misbehaviour.

use crate::abi::{STATE_WORDS, off};
use crate::ops::{Format, Opcode};
use crate::unit::*;

/// A malformed unit. Always a bug in the frontend that built it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("IR verifier: inst {index} ({text}): {what}")]
pub struct VerifyError {
    /// Index of the offending instruction.
    pub index: usize,
    /// The instruction in text form.
    pub text: String,
    /// What is wrong.
    pub what: String,
}

/// Checks `u`: temps exist and have the types their opcode needs, labels are defined once and
/// targets exist, state offsets are in range, helper arity matches, and the unit ends with a
/// terminator.
pub fn verify(u: &Unit) -> Result<(), VerifyError> {
    let mut defined = vec![false; u.labels as usize];
    for (index, i) in u.insts.iter().enumerate() {
        let err = |what: String| VerifyError {
            index,
            text: crate::print::inst_to_string(u, i),
            what,
        };
        check(u, i, &mut defined).map_err(err)?;
    }
    if let Some(l) = defined.iter().position(|d| !d) {
        // An undefined label is only an error if something jumps to it.
        let used = u
            .insts
            .iter()
            .any(|i| matches!(i.op.format(), Format::Jump | Format::Branch) && i.imm == l as u64);
        if used {
            return Err(VerifyError {
                index: u.insts.len(),
                text: String::new(),
                what: format!("label L{l} is never defined"),
            });
        }
    }
    match u.insts.last() {
        Some(i) if i.op.flags().terminator => Ok(()),
        _ => Err(VerifyError {
            index: u.insts.len(),
            text: String::new(),
            what: "unit does not end with an exit".into(),
        }),
    }
}

fn check(u: &Unit, i: &Inst, labels: &mut [bool]) -> Result<(), String> {
    let nt = u.temps.len();
    let temp = |x: Temp| -> Result<Ty, String> {
        if !x.is_some() || x.0 as usize >= nt {
            Err(format!("temp {} does not exist", x.0))
        } else {
            Ok(u.ty(x))
        }
    };
    let want = |x: Temp, ty: Ty| -> Result<(), String> {
        let t = temp(x)?;
        if t != ty {
            Err(format!(
                "t{} is {} but {} is needed",
                x.0,
                t.name(),
                ty.name()
            ))
        } else {
            Ok(())
        }
    };
    let unused = |ks: &[usize]| -> Result<(), String> {
        for &k in ks {
            if i.src[k].is_some() {
                return Err(format!("operand {k} must be empty"));
            }
        }
        Ok(())
    };
    let cond = || {
        Cond::from_u32(i.aux)
            .map(|_| ())
            .ok_or_else(|| format!("bad condition {}", i.aux))
    };
    let label = |l: u64| {
        if l < u64::from(u.labels) {
            Ok(())
        } else {
            Err(format!("label L{l} does not exist"))
        }
    };
    let ty = i.ty;
    if takes_fnan_any(i.op) && i.aux & !FNAN_ANY != 0 {
        return Err(format!("bad float flags {:#x}", i.aux));
    }
    match i.op.format() {
        Format::Const => want(i.dst, ty)?,
        Format::Unary => {
            want(i.dst, ty)?;
            want(i.src[0], ty)?;
            unused(&[1, 2, 3])?;
            if matches!(i.op, Opcode::Sext32 | Opcode::Zext32) && ty != Ty::I64 {
                return Err("32-bit extensions need i64".into());
            }
        }
        Format::Binary => {
            want(i.dst, ty)?;
            want(i.src[0], ty)?;
            want(i.src[1], ty)?;
            unused(&[2, 3])?;
        }
        Format::Convert => {
            let (from, to) = match i.op {
                Opcode::Trunc => (Ty::I64, Ty::I32),
                _ => (Ty::I32, Ty::I64),
            };
            if ty != to {
                return Err(format!("result must be {}", to.name()));
            }
            want(i.dst, to)?;
            want(i.src[0], from)?;
        }
        Format::Ternary => {
            for k in 0..3 {
                want(i.src[k], ty)?;
            }
            want(i.dst, ty)?;
            unused(&[3])?;
        }
        Format::FConvert => {
            want(i.dst, ty)?;
            let from = temp(i.src[0])?;
            unused(&[1, 2, 3])?;
            if i.op == Opcode::FCvtF && from == ty {
                return Err("fcvt_f converts between f32 and f64".into());
            }
        }
        Format::FSetCond => {
            FCond::from_u32(i.aux).ok_or_else(|| format!("bad float condition {}", i.aux))?;
            want(i.dst, ty)?;
            let t = temp(i.src[0])?;
            want(i.src[1], t)?;
            unused(&[2, 3])?;
        }
        Format::FRound => {
            FRound::from_u32(i.aux).ok_or_else(|| format!("bad rounding mode {}", i.aux))?;
            want(i.dst, ty)?;
            want(i.src[0], ty)?;
            unused(&[1, 2, 3])?;
        }
        Format::SetCond => {
            cond()?;
            want(i.dst, ty)?;
            let t = temp(i.src[0])?;
            want(i.src[1], t)?;
        }
        Format::Select => {
            cond()?;
            let t = temp(i.src[0])?;
            want(i.src[1], t)?;
            want(i.dst, ty)?;
            want(i.src[2], ty)?;
            want(i.src[3], ty)?;
        }
        Format::GetReg | Format::SetReg => {
            if i.op == Opcode::GetReg {
                want(i.dst, ty)?
            } else {
                want(i.src[0], ty)?
            }
            let lo = off::REGS as u64;
            let hi = lo + (STATE_WORDS as u64) * 8;
            let align = u64::from(ty.bits() / 8);
            if i.imm < lo || i.imm + align > hi || !i.imm.is_multiple_of(align) {
                return Err(format!(
                    "state offset {:#x} out of range or misaligned",
                    i.imm
                ));
            }
        }
        Format::Load | Format::Store => {
            let m = MemOp::from_u32(i.aux);
            if i.op == Opcode::Load {
                want(i.dst, ty)?;
                want(i.src[0], Ty::I64)?;
            } else {
                want(i.src[0], ty)?;
                want(i.src[1], Ty::I64)?;
            }
            if m.bytes() * 8 > ty.bits() {
                return Err("access wider than the value".into());
            }
        }
        Format::AtomicRmw | Format::AtomicCas => {
            let m = MemOp::from_u32(i.aux & 0xffff);
            want(i.dst, ty)?;
            want(i.src[0], Ty::I64)?;
            want(i.src[1], ty)?;
            if i.op == Opcode::AtomicCas {
                want(i.src[2], ty)?;
            } else if AtomicOp::from_u32(i.aux >> 16).is_none() {
                return Err("bad atomic op".into());
            }
            if m.bytes() * 8 != ty.bits() {
                return Err("atomic access size must equal the value type".into());
            }
        }
        Format::AtomicCas128 => {
            let hi = crate::ops::Cas128Hi::from_imm(i.imm);
            let m = MemOp::from_u32(i.aux);
            if ty != Ty::I64 {
                return Err("atomic_cas128 works on i64 halves".into());
            }
            for x in [
                i.dst, hi.old_hi, i.src[0], i.src[1], i.src[2], i.src[3], hi.new_hi,
            ] {
                want(x, Ty::I64)?;
            }
            if i.dst == hi.old_hi {
                return Err("the old value's halves need two temps".into());
            }
            if m.size_log2 != 3 || m.signed || m.big_endian {
                return Err("atomic_cas128 takes unsigned little-endian 8-byte halves".into());
            }
        }
        Format::Fence | Format::InsnStart => {}
        Format::Label => {
            label(i.imm)?;
            let d = &mut labels[i.imm as usize];
            if *d {
                return Err(format!("label L{} defined twice", i.imm));
            }
            *d = true;
        }
        Format::Jump => label(i.imm)?,
        Format::Branch => {
            cond()?;
            label(i.imm)?;
            want(i.src[0], ty)?;
            want(i.src[1], ty)?;
        }
        Format::Call => {
            let h = u
                .helpers
                .get(i.aux as usize)
                .ok_or("helper index out of range")?;
            for k in 0..4 {
                let used = k < usize::from(h.nargs);
                if used {
                    want(i.src[k], Ty::I64)?;
                } else if i.src[k].is_some() {
                    return Err(format!("helper {} takes {} args", h.name, h.nargs));
                }
            }
            if i.dst.is_some() {
                want(i.dst, Ty::I64)?;
            }
        }
        Format::GotoTb => {
            if i.aux > 1 {
                return Err("goto_tb slot must be 0 or 1".into());
            }
        }
        Format::GotoPtr => want(i.src[0], Ty::I64)?,
        Format::Exit => {
            ExitReason::from_u32(i.aux).ok_or("bad exit reason")?;
        }
        Format::Raise => {
            if i.src[0].is_some() {
                want(i.src[0], Ty::I64)?;
            }
        }
    }
    Ok(())
}
