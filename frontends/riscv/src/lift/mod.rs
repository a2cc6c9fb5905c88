//! Lifting: one guest instruction at a time into a [`Builder`], through the shared decoder.
//! Each extension's lift functions live in their own file, named after the manual's chapter.

mod fcmp;
mod rv_a;
mod rv_fd;
mod rv_i;
mod rv_m;
mod zb;
mod zicsr;

use crate::decode::{self, Args, Op, Visitor};
use crate::state;
use crate::{ILLEGAL_INSTRUCTION, INSTRUCTION_ACCESS_FAULT};
use xlat_ir::{Builder, CodeFetch, Temp, Ty, Unit};

/// Per-instruction lifting context.
pub(crate) struct LiftCx {
    /// Where IR goes.
    pub b: Builder,
    /// The instruction's pc.
    pub pc: u64,
    /// Its length in bytes (2 or 4).
    pub len: u64,
    /// Its encoding as fetched (the 16-bit parcel for compressed ones): the illegal-instruction
    /// argument.
    pub bits: u32,
    /// System mode: CSR instructions raise illegal-instruction for the machine to emulate
    /// (`crate::system`), like the privileged instructions the decoder does not know.
    pub system: bool,
}

impl LiftCx {
    /// The pc of the next instruction.
    pub fn next_pc(&self) -> u64 {
        self.pc.wrapping_add(self.len)
    }

    /// Reads x`r` (a constant 0 for x0).
    pub fn gen_get_x(&mut self, r: u8) -> Temp {
        if r == 0 {
            self.b.konst(Ty::I64, 0)
        } else {
            self.b.get_reg(Ty::I64, state::x(r))
        }
    }

    /// Writes x`r` (dropped for x0).
    pub fn gen_set_x(&mut self, r: u8, v: Temp) {
        if r != 0 {
            self.b.set_reg(state::x(r), v);
        }
    }

    /// Reads f`r` as a 64-bit word.
    pub fn gen_get_f(&mut self, r: u8) -> Temp {
        self.b.get_reg(Ty::I64, state::f(r))
    }

    /// Writes f`r`.
    pub fn gen_set_f(&mut self, r: u8, v: Temp) {
        self.b.set_reg(state::f(r), v);
    }

    /// Raises illegal instruction for the current instruction.
    /// An instruction no extension lifts: `sfence.vma` with an address runs in place in
    /// system mode (`crate::system::SFENCE_IN_PLACE`); the rest raise illegal-instruction
    /// (the machine's loop emulates the privileged ones).
    fn gen_unknown(&mut self) {
        if self.system && crate::system::is_sfence_vma_addr(self.bits) {
            let bits = self.b.konst(Ty::I64, u64::from(self.bits));
            self.b.call_void(&crate::system::SFENCE_IN_PLACE, &[bits]);
            return;
        }
        self.gen_illegal();
    }

    pub fn gen_illegal(&mut self) {
        let bits = self.b.konst(Ty::I64, u64::from(self.bits));
        self.b.raise(ILLEGAL_INSTRUCTION, self.pc, Some(bits));
    }

    /// Raises `code` with argument `addr` unless `addr` is a multiple of `size`.
    pub fn gen_check_align(&mut self, addr: Temp, size: u64, code: u32) {
        if size <= 1 {
            return;
        }
        let low = self.b.binop_imm(xlat_ir::Opcode::And, addr, size - 1);
        let zero = self.b.konst(Ty::I64, 0);
        let ok = self.b.label();
        self.b.branch(xlat_ir::Cond::Eq, low, zero, ok);
        self.b.raise(code, self.pc, Some(addr));
        self.b.set_label(ok);
    }
}

impl Visitor for LiftCx {
    type Out = ();

    fn insn(&mut self, op: Op, a: Args, raw: u32) {
        if !(rv_i::lift(self, op, a)
            || rv_m::lift(self, op, a)
            || rv_a::lift(self, op, a)
            || rv_fd::lift(self, op, a, raw)
            || zicsr::lift(self, op, a)
            || zb::lift(self, op, a))
        {
            self.gen_unknown();
        }
    }

    fn illegal(&mut self) {
        self.gen_unknown();
    }
}

/// Fetches the instruction at `pc`: (encoding as a 32-bit word, fetched bits, length), or the
/// address that could not be fetched.
pub(crate) fn fetch(code: &dyn CodeFetch, pc: u64) -> Result<(Option<u32>, u32, u64), u64> {
    let lo = code.fetch_u16(pc).ok_or(pc)?;
    if lo & 3 != 3 {
        return Ok((crate::rvc::expand(lo), u32::from(lo), 2));
    }
    let hi = code
        .fetch_u16(pc.wrapping_add(2))
        .ok_or(pc.wrapping_add(2))?;
    let w = u32::from(lo) | (u32::from(hi) << 16);
    // 48-bit and longer encodings (bits 4:2 = 111) are not implemented: illegal.
    Ok(((lo & 0x1c != 0x1c).then_some(w), w, 4))
}

const PAGE: u64 = 4096;

/// Lifts up to `max_insns` instructions starting at `pc` into one unit.
#[cfg(test)]
pub(crate) fn translate(pc: u64, code: &dyn CodeFetch, max_insns: u32) -> Unit {
    translate_mode(pc, code, max_insns, false)
}

/// [`translate`] for user mode (`system` false) or a whole hart.
pub(crate) fn translate_mode(pc: u64, code: &dyn CodeFetch, max_insns: u32, system: bool) -> Unit {
    let mut cx = LiftCx {
        b: Builder::new(pc),
        pc,
        len: 0,
        bits: 0,
        system,
    };
    let max = max_insns.max(1);
    let mut n = 0u32;
    let mut cur = pc;
    loop {
        let first = n == 0;
        if !first && (n >= max || cur / PAGE != pc / PAGE) {
            cx.b.goto_tb(0, cur);
            break;
        }
        let fetched = fetch(code, cur);
        // An instruction that would straddle into the next page ends the unit before it.
        let straddles =
            matches!(fetched, Ok((_, _, 4))) && cur.wrapping_add(2) / PAGE != cur / PAGE;
        if !first && (fetched.is_err() || straddles) {
            cx.b.goto_tb(0, cur);
            break;
        }
        cx.pc = cur;
        cx.b.insn_start(cur);
        n += 1;
        match fetched {
            Err(addr) => {
                let a = cx.b.konst(Ty::I64, addr);
                cx.b.raise(INSTRUCTION_ACCESS_FAULT, cur, Some(a));
                cx.len = 2;
            }
            Ok((word, bits, len)) => {
                cx.len = len;
                cx.bits = bits;
                match word {
                    Some(w) => decode::dispatch(&mut cx, w),
                    None => cx.gen_illegal(),
                }
            }
        }
        cur = cur.wrapping_add(cx.len);
        if cx.b.ends_with_terminator() {
            break;
        }
    }
    let len = cur.wrapping_sub(pc) as u32;
    cx.b.finish(len, n)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
