//! Lifting: one A64 instruction at a time into a [`Builder`]. The top-level decode follows the
//! Arm ARM's encoding index (op0, bits 28:25); each group's lift lives in its own file.

mod atomics;
mod branch;
mod dp_imm;
mod dp_reg;
mod fp_ir;
mod ldst;
mod simd_int;
#[cfg(test)]
mod simd_int_tests;
mod simd_ir;
#[cfg(test)]
mod tests;

use crate::state;
use crate::{ILLEGAL_INSTRUCTION, INSTRUCTION_ABORT};
use xlat_ir::{Builder, CodeFetch, Cond, Opcode, Temp, Ty, Unit};

/// Per-instruction lifting context.
pub(crate) struct LiftCx {
    /// Where IR goes.
    pub b: Builder,
    /// The instruction's pc.
    pub pc: u64,
    /// Its encoding.
    pub insn: u32,
    /// The last flag-setting subtraction (CMP/SUBS/CCMP's compare): its operands, the
    /// datasize, and where the IR stood after it; a condition read while nothing else has
    /// touched the flags (or joined control flow) since is computed from the operands.
    pub last_cmp: Option<(Temp, Temp, bool, usize)>,
    /// With `last_cmp`, when the last flag writer was a CCMP: its 0/1 condition and #nzcv (the
    /// flags are the compare's where the condition holds, else #nzcv).
    pub last_ccmp: Option<(Temp, u32)>,
}

impl LiftCx {
    /// The pc of the next instruction.
    pub fn next_pc(&self) -> u64 {
        self.pc.wrapping_add(4)
    }

    /// Bits `hi..=lo` of the instruction.
    pub fn f(&self, hi: u32, lo: u32) -> u32 {
        (self.insn >> lo) & ((1u32 << (hi - lo + 1)) - 1)
    }

    /// Reads `Xr`/`Wr` with 31 as the zero register; 32-bit reads are zero-extended.
    pub fn get_x(&mut self, r: u32, sf: bool) -> Temp {
        if r == 31 {
            return self.b.konst(Ty::I64, 0);
        }
        let v = self.b.get_reg(Ty::I64, state::x(r as u8));
        if sf {
            v
        } else {
            self.b.unop(Opcode::Zext32, v)
        }
    }

    /// Reads `Xr`/`Wr` with 31 as the stack pointer.
    pub fn get_xsp(&mut self, r: u32, sf: bool) -> Temp {
        let v = self.b.get_reg(Ty::I64, state::x(r as u8));
        if sf {
            v
        } else {
            self.b.unop(Opcode::Zext32, v)
        }
    }

    /// Writes `Xr` (or `Wr`, zero-extending); writes to 31 (the zero register) are dropped.
    pub fn set_x(&mut self, r: u32, v: Temp, sf: bool) {
        if r != 31 {
            let v = if sf {
                v
            } else {
                self.b.unop(Opcode::Zext32, v)
            };
            self.b.set_reg(state::x(r as u8), v);
        }
    }

    /// Writes `Xr`/`Wr` with 31 as the stack pointer.
    pub fn set_xsp(&mut self, r: u32, v: Temp, sf: bool) {
        let v = if sf {
            v
        } else {
            self.b.unop(Opcode::Zext32, v)
        };
        self.b.set_reg(state::x(r as u8), v);
    }

    /// Raises the undefined-instruction exception for the current instruction.
    pub fn illegal(&mut self) {
        let bits = self.b.konst(Ty::I64, u64::from(self.insn));
        self.b.raise(ILLEGAL_INSTRUCTION, self.pc, Some(bits));
    }

    /// Sets N and Z from a result (`sf` selects the 64- or 32-bit sign bit).
    pub fn set_nz(&mut self, res: Temp, sf: bool) {
        let sh = if sf { 63 } else { 31 };
        let n = self.b.binop_imm(Opcode::Shr, res, sh);
        let n = self.b.binop_imm(Opcode::And, n, 1);
        self.b.set_reg(state::NF, n);
        let r = if sf {
            res
        } else {
            self.b.unop(Opcode::Zext32, res)
        };
        let zero = self.b.konst(Ty::I64, 0);
        let z = self.b.setcond(Cond::Eq, r, zero);
        self.b.set_reg(state::ZF, z);
    }

    /// `a + b` or `a - b` (operands zero-extended to the datasize; for 32 bits the result's
    /// upper half is left for [`Self::set_x`] to clear), with the flags when `flags`: the same
    /// NZCV as [`Self::add_with_carry`] with a constant carry-in, in fewer operations (C of a
    /// subtraction is `a >= b`, Z of a compare is `a == b`).
    pub fn add_sub(&mut self, a: Temp, b: Temp, sub: bool, sf: bool, flags: bool) -> Temp {
        let op = if sub { Opcode::Sub } else { Opcode::Add };
        let res = self.b.binop(op, a, b);
        if !flags {
            return res;
        }
        let [n, z, c, v] = self.add_sub_nzcv(a, b, res, sub, sf);
        self.b.set_reg(state::NF, n);
        self.b.set_reg(state::ZF, z);
        self.b.set_reg(state::CF, c);
        self.b.set_reg(state::VF, v);
        if sub {
            self.last_cmp = Some((a, b, sf, self.b.len()));
            self.last_ccmp = None;
        }
        res
    }

    /// N, Z, C, V (each 0 or 1) of `res = a + b` or `a - b`, as [`Self::add_sub`] sets them.
    pub fn add_sub_nzcv(&mut self, a: Temp, b: Temp, res: Temp, sub: bool, sf: bool) -> [Temp; 4] {
        let top = if sf { 63 } else { 31 };
        let bz = self
            .b
            .unit()
            .insts
            .iter()
            .rev()
            .find(|i| i.dst == b)
            .is_some_and(|i| i.op == Opcode::Const && i.imm == 0);
        if bz {
            // Compare with zero (cmp/cmn #0, subs/adds #0): C is 1 for a subtraction and 0
            // for an addition, V is 0.
            let n = self.b.binop_imm(Opcode::Shr, a, top);
            let n = if sf {
                n
            } else {
                self.b.binop_imm(Opcode::And, n, 1)
            };
            let z = self.b.setcond(Cond::Eq, a, b);
            let c = self.b.konst(Ty::I64, u64::from(sub));
            return [n, z, c, b];
        }
        let n = self.b.binop_imm(Opcode::Shr, res, top);
        let n = if sf {
            n
        } else {
            self.b.binop_imm(Opcode::And, n, 1)
        };
        let z = if sub {
            self.b.setcond(Cond::Eq, a, b)
        } else {
            let r = if sf {
                res
            } else {
                self.b.unop(Opcode::Zext32, res)
            };
            let zero = self.b.konst(Ty::I64, 0);
            self.b.setcond(Cond::Eq, r, zero)
        };
        let c = if sub {
            self.b.setcond(Cond::Geu, a, b)
        } else if sf {
            self.b.setcond(Cond::Ltu, res, a)
        } else {
            self.b.binop_imm(Opcode::Shr, res, 32)
        };
        // Overflow: the operands' signs agree (add) or differ (sub) and the result's differs
        // from a's.
        let x1 = self.b.binop(Opcode::Xor, a, res);
        let x2 = if sub {
            self.b.binop(Opcode::Xor, a, b)
        } else {
            self.b.binop(Opcode::XorN, a, b)
        };
        let ov = self.b.binop(Opcode::And, x1, x2);
        let ov = self.b.binop_imm(Opcode::Shr, ov, top);
        let ov = if sf {
            ov
        } else {
            self.b.binop_imm(Opcode::And, ov, 1)
        };
        [n, z, c, ov]
    }

    /// The condition `cond` straight from the operands of the last compare, when it is the
    /// last flag writer on this path: nothing after it wrote a flag, called a helper, or
    /// placed a label (a join), and its operands were not reassigned.
    fn cond_from_cmp(&mut self, cond: u32) -> Option<Temp> {
        let (a, b, sf, at) = self.last_cmp?;
        let ccmp = self.last_ccmp;
        let held = ccmp.map_or(Temp::NONE, |(h, _)| h);
        let flags = [state::NF, state::ZF, state::CF, state::VF];
        let insts = &self.b.unit().insts;
        if at > insts.len()
            || insts[at..].iter().any(|i| {
                matches!(i.op, Opcode::Label | Opcode::Call)
                    || (i.op == Opcode::SetReg && flags.contains(&(i.imm as u32)))
                    || (i.dst != Temp::NONE && (i.dst == a || i.dst == b || i.dst == held))
            })
        {
            self.last_cmp = None;
            self.last_ccmp = None;
            return None;
        }
        if let Some((held, nzcv)) = ccmp {
            // The compare's condition where the CCMP's held, else the constant from #nzcv.
            if cond >= 14 || (4..8).contains(&cond) {
                return None;
            }
            self.last_ccmp = None;
            let t = self.cond_from_cmp(cond);
            self.last_ccmp = ccmp;
            let t = t?;
            let k = self.b.konst(Ty::I64, u64::from(cond_of_nzcv(cond, nzcv)));
            let zero = self.b.konst(Ty::I64, 0);
            return Some(self.b.select(Cond::Ne, held, zero, t, k));
        }
        let signed = |cx: &mut LiftCx| {
            if sf {
                (a, b)
            } else {
                (cx.b.unop(Opcode::Sext32, a), cx.b.unop(Opcode::Sext32, b))
            }
        };
        let (c, x, y) = match cond {
            0 => (Cond::Eq, a, b),
            1 => (Cond::Ne, a, b),
            2 => (Cond::Geu, a, b),
            3 => (Cond::Ltu, a, b),
            8 => (Cond::Gtu, a, b),
            9 => (Cond::Leu, a, b),
            10..=13 => {
                let (x, y) = signed(self);
                let c = [Cond::Ge, Cond::Lt, Cond::Gt, Cond::Le][cond as usize - 10];
                (c, x, y)
            }
            _ => return None,
        };
        Some(self.b.setcond(c, x, y))
    }

    /// `AddWithCarry(a, b, cin)` (operands zero-extended for 32 bits): the result, and the
    /// flags when `flags`.
    pub fn add_with_carry(&mut self, a: Temp, b: Temp, cin: Temp, sf: bool, flags: bool) -> Temp {
        let s = self.b.binop(Opcode::Add, a, b);
        let res = self.b.binop(Opcode::Add, s, cin);
        if !flags {
            return res;
        }
        self.set_nz(res, sf);
        let c = if sf {
            let lt = self.b.setcond(Cond::Ltu, res, a);
            let eq = self.b.setcond(Cond::Eq, res, a);
            let eqc = self.b.binop(Opcode::And, eq, cin);
            self.b.binop(Opcode::Or, lt, eqc)
        } else {
            self.b.binop_imm(Opcode::Shr, res, 32)
        };
        self.b.set_reg(state::CF, c);
        let x1 = self.b.binop(Opcode::Xor, a, res);
        let x2 = self.b.binop(Opcode::Xor, b, res);
        let ov = self.b.binop(Opcode::And, x1, x2);
        let ov = self.b.binop_imm(Opcode::Shr, ov, if sf { 63 } else { 31 });
        let ov = self.b.binop_imm(Opcode::And, ov, 1);
        self.b.set_reg(state::VF, ov);
        res
    }

    /// A 0/1 temp: whether condition `cond` (bits 3:0 of a B.cond/CSEL) holds.
    pub fn cond_holds(&mut self, cond: u32) -> Temp {
        if let Some(t) = self.cond_from_cmp(cond) {
            return t;
        }
        let one = self.b.konst(Ty::I64, 1);
        let base = match cond >> 1 {
            0 => self.b.get_reg(Ty::I64, state::ZF),
            1 => self.b.get_reg(Ty::I64, state::CF),
            2 => self.b.get_reg(Ty::I64, state::NF),
            3 => self.b.get_reg(Ty::I64, state::VF),
            4 => {
                let c = self.b.get_reg(Ty::I64, state::CF);
                let z = self.b.get_reg(Ty::I64, state::ZF);
                self.b.binop(Opcode::AndN, c, z)
            }
            5 | 6 => {
                let n = self.b.get_reg(Ty::I64, state::NF);
                let v = self.b.get_reg(Ty::I64, state::VF);
                let ge = self.b.setcond(Cond::Eq, n, v);
                if cond >> 1 == 5 {
                    ge
                } else {
                    let z = self.b.get_reg(Ty::I64, state::ZF);
                    self.b.binop(Opcode::AndN, ge, z)
                }
            }
            _ => return one,
        };
        if cond & 1 == 1 {
            self.b.binop(Opcode::Xor, base, one)
        } else {
            base
        }
    }
}

/// Whether condition `cond` holds for the flags `nzcv` (N in bit 3).
pub(crate) fn cond_of_nzcv(cond: u32, nzcv: u32) -> bool {
    let (n, z, c, v) = (nzcv & 8 != 0, nzcv & 4 != 0, nzcv & 2 != 0, nzcv & 1 != 0);
    let base = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => true,
    };
    if cond & 1 == 1 && cond != 15 {
        !base
    } else {
        base
    }
}

/// Lifts one instruction; anything not lifted is undefined.
fn lift_one(cx: &mut LiftCx) {
    let op0 = cx.f(28, 25);
    let done = match op0 {
        0b1000 | 0b1001 => dp_imm::lift(cx),
        0b1010 | 0b1011 => branch::lift(cx),
        0b0101 | 0b1101 => dp_reg::lift(cx),
        0b0100 | 0b0110 | 0b1100 | 0b1110 => ldst::lift(cx),
        0b0111 | 0b1111 => {
            let ok = crate::simd::exec(None, cx.insn);
            if ok && fp_ir::lift(cx) {
                // Lifted into IR float ops.
            } else if ok && !simd_ir::lift(cx) && !simd_int::lift(cx) {
                let i = cx.b.konst(Ty::I64, u64::from(cx.insn));
                let h = if crate::simd::touches_x(cx.insn) {
                    &crate::simd::SIMD
                } else {
                    &crate::simd::SIMD_V
                };
                cx.b.call_void(h, &[i]);
            }
            ok
        }
        _ => false,
    };
    if !done {
        cx.illegal();
    }
}

const PAGE: u64 = 4096;

/// Lifts up to `max_insns` instructions starting at `pc` into one unit.
pub(crate) fn translate(pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
    translate_observed(pc, code, max_insns, &|_, _| false)
}

/// [`translate`], with NZCV read afresh at each instruction `observed` names (an embedding's
/// code hook there may write it).
pub(crate) fn translate_observed(
    pc: u64,
    code: &dyn CodeFetch,
    max_insns: u32,
    observed: &dyn Fn(u64, u32) -> bool,
) -> Unit {
    let mut cx = LiftCx {
        b: Builder::new(pc),
        pc,
        insn: 0,
        last_cmp: None,
        last_ccmp: None,
    };
    let max = max_insns.max(1);
    let mut n = 0u32;
    let mut cur = pc;
    loop {
        if n > 0 && (n >= max || cur / PAGE != pc / PAGE) {
            cx.b.goto_tb(0, cur);
            break;
        }
        let fetched = fetch(code, cur);
        if n > 0 && fetched.is_none() {
            cx.b.goto_tb(0, cur);
            break;
        }
        cx.pc = cur;
        cx.b.insn_start(cur);
        n += 1;
        if observed(cur, 4) {
            cx.last_cmp = None;
            cx.last_ccmp = None;
        }
        match fetched {
            None => {
                let a = cx.b.konst(Ty::I64, cur);
                cx.b.raise(INSTRUCTION_ABORT, cur, Some(a));
            }
            Some(w) => {
                cx.insn = w;
                if cur & 3 != 0 {
                    let a = cx.b.konst(Ty::I64, cur);
                    cx.b.raise(crate::ALIGNMENT_FAULT, cur, Some(a));
                } else {
                    lift_one(&mut cx);
                }
            }
        }
        cur = cur.wrapping_add(4);
        if cx.b.ends_with_terminator() {
            break;
        }
    }
    let len = cur.wrapping_sub(pc) as u32;
    cx.b.finish(len, n)
}

/// Fetches the 32-bit instruction at `pc`.
pub(crate) fn fetch(code: &dyn CodeFetch, pc: u64) -> Option<u32> {
    let lo = code.fetch_u16(pc)?;
    let hi = code.fetch_u16(pc.wrapping_add(2))?;
    Some(u32::from(lo) | (u32::from(hi) << 16))
}
