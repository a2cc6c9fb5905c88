//! The text format of units, used by `-d ir` traces and golden tests.

use std::fmt::{self, Write};

use crate::ops::{Format, Opcode};
use crate::unit::*;

fn t(_u: &Unit, x: Temp) -> String {
    if x.is_some() {
        format!("t{}", x.0)
    } else {
        "_".into()
    }
}

fn mem_suffix(m: MemOp) -> String {
    let mut s = format!("{}{}", if m.signed { "s" } else { "u" }, m.bytes() * 8);
    if m.big_endian {
        s.push_str(".be");
    }
    if m.aligned {
        s.push_str(".al");
    }
    if m.mmu_idx != 0 {
        let _ = write!(s, ".mmu{}", m.mmu_idx);
    }
    s
}

fn disp(d: u64) -> String {
    let d = d as i64;
    if d < 0 {
        format!("-{:#x}", d.unsigned_abs())
    } else {
        format!("+{d:#x}")
    }
}

/// Formats one instruction.
pub fn inst_to_string(u: &Unit, i: &Inst) -> String {
    let name = if takes_fnan_any(i.op) && i.aux & FNAN_ANY != 0 {
        format!("{}.anynan", i.op.name())
    } else {
        i.op.name().to_string()
    };
    let ty = i.ty.name();
    let d = || format!("{}:{} = ", t(u, i.dst), ty);
    let s = |k: usize| t(u, i.src[k]);
    let cond = || Cond::from_u32(i.aux).map_or("?", |c| c.name());
    match i.op.format() {
        Format::Const => format!("{}const {:#x}", d(), i.imm),
        Format::Unary | Format::Convert | Format::Binary => {
            let args: Vec<String> = (0..4).filter(|&k| i.src[k].is_some()).map(s).collect();
            format!("{}{} {}", d(), name, args.join(", "))
        }
        Format::Ternary => format!("{}{} {}, {}, {}", d(), name, s(0), s(1), s(2)),
        Format::FConvert => {
            let from = if i.src[0].is_some() && (i.src[0].0 as usize) < u.temps.len() {
                u.ty(i.src[0]).name()
            } else {
                "?"
            };
            format!("{}{} {}:{}", d(), name, s(0), from)
        }
        Format::FSetCond => format!(
            "{}fsetcond.{} {}, {}",
            d(),
            FCond::from_u32(i.aux).map_or("?", |c| c.name()),
            s(0),
            s(1)
        ),
        Format::FRound => format!(
            "{}fround.{} {}",
            d(),
            FRound::from_u32(i.aux).map_or("?", |m| m.name()),
            s(0)
        ),
        Format::SetCond => format!("{}setcond.{} {}, {}", d(), cond(), s(0), s(1)),
        Format::Select => format!(
            "{}select.{} {}, {}, {}, {}",
            d(),
            cond(),
            s(0),
            s(1),
            s(2),
            s(3)
        ),
        Format::GetReg => format!("{}get_reg [{:#x}]", d(), i.imm),
        Format::SetReg => format!("set_reg.{} [{:#x}], {}", ty, i.imm, s(0)),
        Format::Load => format!(
            "{}load.{} [{}{}]",
            d(),
            mem_suffix(MemOp::from_u32(i.aux)),
            s(0),
            disp(i.imm)
        ),
        Format::Store => format!(
            "store.{} [{}{}], {}",
            mem_suffix(MemOp::from_u32(i.aux)),
            s(1),
            disp(i.imm),
            s(0)
        ),
        Format::AtomicRmw => {
            let op = AtomicOp::from_u32(i.aux >> 16).map_or("?", |o| o.name());
            format!(
                "{}atomic_rmw.{}.{} [{}], {}",
                d(),
                op,
                mem_suffix(MemOp::from_u32(i.aux & 0xffff)),
                s(0),
                s(1)
            )
        }
        Format::AtomicCas => {
            format!(
                "{}atomic_cas.{} [{}], {}, {}",
                d(),
                mem_suffix(MemOp::from_u32(i.aux)),
                s(0),
                s(1),
                s(2)
            )
        }
        Format::AtomicCas128 => {
            let hi = crate::ops::Cas128Hi::from_imm(i.imm);
            format!(
                "{}, {}:{ty} = atomic_cas128.{} [{}], {}:{}, {}:{}",
                t(u, i.dst),
                t(u, hi.old_hi),
                mem_suffix(MemOp::from_u32(i.aux)),
                s(0),
                s(1),
                s(2),
                s(3),
                t(u, hi.new_hi)
            )
        }
        Format::Fence => "fence".into(),
        Format::Label if u.cold_labels.contains(&(i.imm as u32)) => format!("L{}: (cold)", i.imm),
        Format::Label => format!("L{}:", i.imm),
        Format::Jump => format!("jump L{}", i.imm),
        Format::Branch => format!("br.{}.{} {}, {}, L{}", cond(), ty, s(0), s(1), i.imm),
        Format::InsnStart => format!("---- insn_start {:#x}", i.imm),
        Format::Call => {
            let h = u.helpers.get(i.aux as usize).map_or("?", |h| h.name);
            let args: Vec<String> = (0..4).filter(|&k| i.src[k].is_some()).map(s).collect();
            let lhs = if i.dst.is_some() { d() } else { String::new() };
            format!("{lhs}call {h}({})", args.join(", "))
        }
        Format::GotoTb => format!("goto_tb {}, {:#x}", i.aux, i.imm),
        Format::GotoPtr => format!("goto_ptr {}", s(0)),
        Format::Exit => format!(
            "exit {}, {:#x}",
            ExitReason::from_u32(i.aux).map_or("?", |r| r.name()),
            i.imm
        ),
        Format::Raise => format!("raise {:#x}, {:#x}, {}", i.aux, i.imm, s(0)),
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "unit {:#x} len={} insns={}",
            self.pc, self.guest_len, self.guest_insns
        )?;
        for i in &self.insts {
            let indent = if i.op == Opcode::Label { "" } else { "  " };
            writeln!(f, "{indent}{}", inst_to_string(self, i))?;
        }
        Ok(())
    }
}
