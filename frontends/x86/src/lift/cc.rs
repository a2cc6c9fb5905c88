//! Setting and reading the lazy condition codes from lifted code.

use super::Cx;
use crate::flags::{self, cc_op};
use crate::{helpers, state};
use xlat_ir::{Cond, Opcode, Temp, Ty};

/// Flags state known at lift time: the kind, size and the temps holding the values.
#[derive(Clone, Copy)]
pub(crate) struct Known {
    pub kind: u64,
    pub bytes: u32,
    pub dst: Temp,
    pub s1: Temp,
    pub s2: Temp,
}

impl Cx {
    /// Records that the flags are now those of `kind` on `bytes`-byte values.
    pub fn set_cc(&mut self, kind: u64, bytes: u32, dst: Temp, s1: Temp, s2: Temp) {
        let op = self.k(cc_op(kind, bytes));
        self.b.set_reg(state::CC_OP, op);
        self.b.set_reg(state::CC_DST, dst);
        self.b.set_reg(state::CC_SRC1, s1);
        self.b.set_reg(state::CC_SRC2, s2);
        self.known = Some(Known {
            kind,
            bytes,
            dst,
            s1,
            s2,
        });
    }

    /// Records materialized flags (`f` holds RFLAGS arithmetic bits).
    pub fn set_cc_eflags(&mut self, f: Temp) {
        let z = self.k(0);
        self.set_cc(flags::EFLAGS, 8, z, f, z);
    }

    fn cc_temps(&mut self) -> (Temp, Temp, Temp, Temp) {
        let op = self.b.get_reg(Ty::I64, state::CC_OP);
        let d = self.b.get_reg(Ty::I64, state::CC_DST);
        let s1 = self.b.get_reg(Ty::I64, state::CC_SRC1);
        let s2 = self.b.get_reg(Ty::I64, state::CC_SRC2);
        (op, d, s1, s2)
    }

    /// The arithmetic flags as RFLAGS bits.
    pub fn eflags(&mut self) -> Temp {
        if let Some(k) = self.known
            && k.kind == flags::EFLAGS
        {
            return k.s1;
        }
        let (op, d, s1, s2) = self.cc_temps();
        self.b.call(&helpers::H_EFLAGS, &[op, d, s1, s2])
    }

    /// Current CF as 0 or 1.
    pub fn carry(&mut self) -> Temp {
        if let Some(k) = self.known {
            match k.kind {
                flags::SUB => return self.b.setcond(Cond::Ltu, k.s1, k.s2),
                // The sum wrapped (values are zero-extended from the operand size).
                flags::ADD => return self.b.setcond(Cond::Ltu, k.dst, k.s1),
                flags::LOGIC => return self.k(0),
                // inc/dec keep the CF they found in s2.
                flags::INC | flags::DEC => return k.s2,
                _ => {}
            }
        }
        let f = self.eflags();
        self.opi(Opcode::And, f, 1)
    }

    /// Evaluates condition code `cc` (0..16) to 0 or 1.
    pub fn cond(&mut self, cc: u64) -> Temp {
        match self.cond_parts(cc) {
            CondParts::Cmp(c, a, b) => self.b.setcond(c, a, b),
            CondParts::Const(v) => self.k(u64::from(v)),
        }
    }

    /// Condition code `cc` as a comparison of two temps (or a constant), so a branch can
    /// test it directly.
    pub fn cond_parts(&mut self, cc: u64) -> CondParts {
        if let Some(k) = self.known
            && let Some(t) = self.cond_inline(k, cc)
        {
            return t;
        }
        let f = self.eflags();
        let c = self.k(cc);
        let v = self.b.call(&helpers::H_COND, &[f, c]);
        let z = self.k(0);
        CondParts::Cmp(Cond::Ne, v, z)
    }

    fn cond_inline(&mut self, k: Known, cc: u64) -> Option<CondParts> {
        let neg = cc & 1 != 0;
        let pick = |c: Cond| -> Cond {
            if !neg {
                return c;
            }
            match c {
                Cond::Eq => Cond::Ne,
                Cond::Ltu => Cond::Geu,
                Cond::Leu => Cond::Gtu,
                Cond::Lt => Cond::Ge,
                Cond::Le => Cond::Gt,
                other => other,
            }
        };
        let z = self.k(0);
        if k.kind == flags::EFLAGS {
            // Materialized RFLAGS bits (comis*, popf, sahf...): test the bits.
            let f = k.s1;
            let t = match cc >> 1 {
                0 => self.opi(Opcode::And, f, 0x800),
                1 => self.opi(Opcode::And, f, 0x1),
                2 => self.opi(Opcode::And, f, 0x40),
                3 => self.opi(Opcode::And, f, 0x41),
                4 => self.opi(Opcode::And, f, 0x80),
                5 => self.opi(Opcode::And, f, 0x4),
                n => {
                    // SF != OF (and, for le/g, ZF).
                    let o = self.opi(Opcode::Shr, f, 4);
                    let x = self.op(Opcode::Xor, f, o);
                    let x = self.opi(Opcode::And, x, 0x80);
                    if n == 6 {
                        x
                    } else {
                        let zf = self.opi(Opcode::And, f, 0x40);
                        self.op(Opcode::Or, x, zf)
                    }
                }
            };
            return Some(CondParts::Cmp(if neg { Cond::Eq } else { Cond::Ne }, t, z));
        }
        let cmp = |c: Cond, a: Temp, b: Temp| Some(CondParts::Cmp(pick(c), a, b));
        match (k.kind, cc >> 1) {
            (flags::SUB, 1) => cmp(Cond::Ltu, k.s1, k.s2),
            (flags::SUB, 3) => cmp(Cond::Leu, k.s1, k.s2),
            (flags::SUB, 6) | (flags::SUB, 7) => {
                let a = self.sext(k.s1, k.bytes);
                let b = self.sext(k.s2, k.bytes);
                let c = if cc >> 1 == 6 { Cond::Lt } else { Cond::Le };
                cmp(c, a, b)
            }
            (flags::SUB | flags::ADD | flags::LOGIC | flags::INC | flags::DEC, 2) => {
                cmp(Cond::Eq, k.dst, z)
            }
            (flags::SUB | flags::ADD | flags::LOGIC | flags::INC | flags::DEC, 4) => {
                let d = self.sext(k.dst, k.bytes);
                cmp(Cond::Lt, d, z)
            }
            (flags::LOGIC, 6) | (flags::LOGIC, 7) => {
                let d = self.sext(k.dst, k.bytes);
                let c = if cc >> 1 == 6 { Cond::Lt } else { Cond::Le };
                cmp(c, d, z)
            }
            (flags::LOGIC, 0) | (flags::LOGIC, 1) => Some(CondParts::Const(neg)),
            (flags::LOGIC, 3) => cmp(Cond::Eq, k.dst, z),
            _ => None,
        }
    }
}

/// A condition code's value: a comparison of two temps, or known at lift time.
pub(crate) enum CondParts {
    /// `cond(a, b)`.
    Cmp(Cond, Temp, Temp),
    /// Always this.
    Const(bool),
}
