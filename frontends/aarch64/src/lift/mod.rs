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
mod simd_sat;
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
    /// The last flag writer of the unit and where the IR stood after it; a condition read
    /// while nothing else has touched the flags (or joined control flow) since is computed
    /// from its operands.
    pub last_flags: Option<(Flags, usize)>,
    /// With `last_flags`, when the last flag writer was a CCMP: its 0/1 condition and #nzcv
    /// (the flags are the compare's where the condition holds, else #nzcv).
    pub last_ccmp: Option<(Temp, u32)>,
}

/// A flag-setting operation as the lifter knows it (see [`state::FK`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flags {
    /// The flags of `a - b` (`true`: 64 bits; 32-bit operands zero-extended).
    Sub(Temp, Temp, bool),
    /// The flags of `a + b`.
    Add(Temp, Temp, bool),
    /// NZCV in bits 31..28 of the temp, the other bits zero.
    Packed(Temp),
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

    /// Records the flags of a logical operation with flags (ANDS, BICS, TST): N and Z from
    /// `res`, C and V clear (held as `res + 0`).
    pub fn set_logic_flags(&mut self, res: Temp, sf: bool) {
        let r = if sf {
            res
        } else {
            self.b.unop(Opcode::Zext32, res)
        };
        let zero = self.b.konst(Ty::I64, 0);
        self.set_flags(Flags::Add(r, zero, sf));
    }

    /// Writes the flag words for `f` (nothing is computed: the words hold the operation) and
    /// remembers `f` for conditions read later in the unit.
    pub fn set_flags(&mut self, f: Flags) {
        match f {
            Flags::Sub(a, b, sf) | Flags::Add(a, b, sf) => {
                let kind = if matches!(f, Flags::Sub(..)) {
                    state::K_SUB
                } else {
                    state::K_ADD
                };
                let k = self
                    .b
                    .konst(Ty::I64, kind | if sf { 0 } else { state::K_W32 });
                self.b.set_reg(state::FK, k);
                self.b.set_reg(state::FA, a);
                self.b.set_reg(state::FB, b);
            }
            Flags::Packed(p) => {
                let k = self.b.konst(Ty::I64, state::K_NZCV);
                self.b.set_reg(state::FK, k);
                self.b.set_reg(state::FA, p);
            }
        }
        self.last_flags = Some((f, self.b.len()));
        self.last_ccmp = None;
    }

    /// `a + b` or `a - b` (operands zero-extended to the datasize; for 32 bits the result's
    /// upper half is left for [`Self::set_x`] to clear), recording the flags when `flags`.
    pub fn add_sub(&mut self, a: Temp, b: Temp, sub: bool, sf: bool, flags: bool) -> Temp {
        let op = if sub { Opcode::Sub } else { Opcode::Add };
        let res = self.b.binop(op, a, b);
        if flags {
            self.set_flags(if sub {
                Flags::Sub(a, b, sf)
            } else {
                Flags::Add(a, b, sf)
            });
        }
        res
    }

    /// N, Z, C, V (each 0 or 1) of `res = a + b` or `a - b`.
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
            // Compare with zero (cmp/cmn #0, subs/adds #0, logical results): C is 1 for a
            // subtraction and 0 for an addition, V is 0.
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

    /// The last flag writer of this unit when it still describes the flags: nothing after it
    /// wrote a flag word, called a helper, or placed a label (a join), and the temps it
    /// names were not reassigned.
    fn known_flags(&mut self) -> Option<Flags> {
        let (f, at) = self.last_flags?;
        let (a, b) = match f {
            Flags::Sub(a, b, _) | Flags::Add(a, b, _) => (a, b),
            Flags::Packed(p) => (p, p),
        };
        let held = self.last_ccmp.map_or(Temp::NONE, |(h, _)| h);
        let words = [state::FK, state::FA, state::FB];
        let insts = &self.b.unit().insts;
        if at > insts.len()
            || insts[at..].iter().any(|i| {
                matches!(i.op, Opcode::Label | Opcode::Call)
                    || (i.op == Opcode::SetReg && words.contains(&(i.imm as u32)))
                    || (i.dst != Temp::NONE && (i.dst == a || i.dst == b || i.dst == held))
            })
        {
            self.last_flags = None;
            self.last_ccmp = None;
            return None;
        }
        Some(f)
    }

    /// N, Z, C, V (each 0 or 1) of a known flag writer.
    fn flags_of(&mut self, f: Flags) -> [Temp; 4] {
        match f {
            Flags::Sub(a, b, sf) | Flags::Add(a, b, sf) => {
                let sub = matches!(f, Flags::Sub(..));
                let op = if sub { Opcode::Sub } else { Opcode::Add };
                let res = self.b.binop(op, a, b);
                self.add_sub_nzcv(a, b, res, sub, sf)
            }
            Flags::Packed(p) => [31, 30, 29, 28].map(|sh| {
                let t = self.b.binop_imm(Opcode::Shr, p, sh);
                self.b.binop_imm(Opcode::And, t, 1)
            }),
        }
    }

    /// N, Z, C, V (each 0 or 1) from the flag words of the state, whatever their kind.
    fn flags_from_state(&mut self) -> [Temp; 4] {
        let k = self.b.get_reg(Ty::I64, state::FK);
        let fa = self.b.get_reg(Ty::I64, state::FA);
        let fb = self.b.get_reg(Ty::I64, state::FB);
        let zero = self.b.konst(Ty::I64, 0);
        // 32-bit operations: the low halves, moved to the top, give the same flags in 64 bits.
        let w = self.b.binop_imm(Opcode::And, k, state::K_W32);
        let sh = self.b.binop_imm(Opcode::Shl, w, 3);
        let a = self.b.binop(Opcode::Shl, fa, sh);
        let b = self.b.binop(Opcode::Shl, fb, sh);
        let add = self.b.binop_imm(Opcode::And, k, state::K_ADD);
        let sum = self.b.binop(Opcode::Add, a, b);
        let dif = self.b.binop(Opcode::Sub, a, b);
        let res = self.b.select(Cond::Ne, add, zero, sum, dif);
        let n = self.b.binop_imm(Opcode::Shr, res, 63);
        let z = self.b.setcond(Cond::Eq, res, zero);
        let c_add = self.b.setcond(Cond::Ltu, sum, a);
        let c_sub = self.b.setcond(Cond::Geu, a, b);
        let c = self.b.select(Cond::Ne, add, zero, c_add, c_sub);
        let x1 = self.b.binop(Opcode::Xor, a, res);
        let x_add = self.b.binop(Opcode::XorN, a, b);
        let x_sub = self.b.binop(Opcode::Xor, a, b);
        let x2 = self.b.select(Cond::Ne, add, zero, x_add, x_sub);
        let v = self.b.binop(Opcode::And, x1, x2);
        let v = self.b.binop_imm(Opcode::Shr, v, 63);
        let mut out = [n, z, c, v];
        for (f, sh) in out.iter_mut().zip([31, 30, 29, 28]) {
            let p = self.b.binop_imm(Opcode::Shr, fa, sh);
            let p = self.b.binop_imm(Opcode::And, p, 1);
            *f = self.b.select(Cond::Eq, k, zero, p, *f);
        }
        out
    }

    /// N, Z, C, V (each 0 or 1) as they stand.
    pub fn nzcv(&mut self) -> [Temp; 4] {
        let Some(f) = self.known_flags() else {
            return self.flags_from_state();
        };
        let fl = self.flags_of(f);
        match self.last_ccmp {
            // After a CCMP: the compare's flag where its condition held, else #nzcv's.
            Some((held, nzcv)) => {
                let zero = self.b.konst(Ty::I64, 0);
                let mut out = fl;
                for (k, t) in out.iter_mut().enumerate() {
                    let want = u64::from((nzcv >> (3 - k)) & 1);
                    let c = self.b.konst(Ty::I64, want);
                    *t = self.b.select(Cond::Ne, held, zero, *t, c);
                }
                out
            }
            None => fl,
        }
    }

    /// NZCV packed in bits 31..28 (as `MRS NZCV` reads it).
    pub fn nzcv_packed(&mut self) -> Temp {
        let fl = self.nzcv();
        let mut acc = self.b.konst(Ty::I64, 0);
        for (f, sh) in fl.into_iter().zip([31, 30, 29, 28]) {
            let t = self.b.binop_imm(Opcode::Shl, f, sh);
            acc = self.b.binop(Opcode::Or, acc, t);
        }
        acc
    }

    /// The C flag (0 or 1).
    pub fn carry(&mut self) -> Temp {
        self.nzcv()[2]
    }

    /// The condition `cond` straight from the operands of the last flag writer when it is a
    /// compare (or a logical operation, a compare of its result with 0).
    fn cond_from_cmp(&mut self, cond: u32) -> Option<Temp> {
        let f = self.known_flags()?;
        let ccmp = self.last_ccmp;
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
        let (a, b, sf) = match f {
            Flags::Sub(a, b, sf) => (a, b, sf),
            Flags::Add(a, b, sf) => {
                // res + 0 (logical operations, adds/cmn #0): N and Z from the value, C = V = 0,
                // so the signed conditions are a signed compare with 0.
                let bz = self
                    .b
                    .unit()
                    .insts
                    .iter()
                    .rev()
                    .find(|i| i.dst == b)
                    .is_some_and(|i| i.op == Opcode::Const && i.imm == 0);
                if !bz {
                    return None;
                }
                let c = match cond {
                    0 => Cond::Eq,
                    1 => Cond::Ne,
                    10..=13 => [Cond::Ge, Cond::Lt, Cond::Gt, Cond::Le][cond as usize - 10],
                    _ => return None,
                };
                let x = if sf || cond < 2 {
                    a
                } else {
                    self.b.unop(Opcode::Sext32, a)
                };
                return Some(self.b.setcond(c, x, b));
            }
            Flags::Packed(_) => return None,
        };
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
    /// flags when `flags` (packed: a carry chain is rarely branched on).
    pub fn add_with_carry(&mut self, a: Temp, b: Temp, cin: Temp, sf: bool, flags: bool) -> Temp {
        let s = self.b.binop(Opcode::Add, a, b);
        let res = self.b.binop(Opcode::Add, s, cin);
        if !flags {
            return res;
        }
        let sh = if sf { 63 } else { 31 };
        let n = self.b.binop_imm(Opcode::Shr, res, sh);
        let n = self.b.binop_imm(Opcode::And, n, 1);
        let r = if sf {
            res
        } else {
            self.b.unop(Opcode::Zext32, res)
        };
        let zero = self.b.konst(Ty::I64, 0);
        let z = self.b.setcond(Cond::Eq, r, zero);
        let c = if sf {
            let lt = self.b.setcond(Cond::Ltu, res, a);
            let eq = self.b.setcond(Cond::Eq, res, a);
            let eqc = self.b.binop(Opcode::And, eq, cin);
            self.b.binop(Opcode::Or, lt, eqc)
        } else {
            let c = self.b.binop_imm(Opcode::Shr, res, 32);
            self.b.binop_imm(Opcode::And, c, 1)
        };
        let x1 = self.b.binop(Opcode::Xor, a, res);
        let x2 = self.b.binop(Opcode::Xor, b, res);
        let ov = self.b.binop(Opcode::And, x1, x2);
        let ov = self.b.binop_imm(Opcode::Shr, ov, sh);
        let ov = self.b.binop_imm(Opcode::And, ov, 1);
        let mut p = self.b.binop_imm(Opcode::Shl, n, 31);
        for (f, s) in [(z, 30), (c, 29), (ov, 28)] {
            let t = self.b.binop_imm(Opcode::Shl, f, s);
            p = self.b.binop(Opcode::Or, p, t);
        }
        self.set_flags(Flags::Packed(p));
        res
    }

    /// A 0/1 temp: whether condition `cond` (bits 3:0 of a B.cond/CSEL) holds.
    pub fn cond_holds(&mut self, cond: u32) -> Temp {
        if cond >= 14 {
            return self.b.konst(Ty::I64, 1);
        }
        if let Some(t) = self.cond_from_cmp(cond) {
            return t;
        }
        let [n, z, c, v] = self.nzcv();
        let base = match cond >> 1 {
            0 => z,
            1 => c,
            2 => n,
            3 => v,
            4 => self.b.binop(Opcode::AndN, c, z),
            _ => {
                let ge = self.b.setcond(Cond::Eq, n, v);
                if cond >> 1 == 5 {
                    ge
                } else {
                    self.b.binop(Opcode::AndN, ge, z)
                }
            }
        };
        if cond & 1 == 1 {
            self.b.binop_imm(Opcode::Xor, base, 1)
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
        last_flags: None,
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
            cx.last_flags = None;
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
