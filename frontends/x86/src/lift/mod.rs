//! Lifting: decode one instruction at a time with iced-x86 and emit IR for it. Operand access
//! (registers of every width, effective addresses, fs/gs) lives here; the instruction classes
//! are in `int` (general-purpose), `ctl` (branches, calls, system), `sse`.

mod bmi;
mod cc;
mod ctl;
mod int;
mod isa;
#[cfg(test)]
mod scan;
mod sse;
mod sse4;
mod ssefast;
mod ssefp;
mod swar;
#[cfg(test)]
mod tests;
mod x87;

use crate::{ILLEGAL_INSTRUCTION, PAGE_FAULT, state};
use iced_x86::{Decoder, DecoderOptions, Instruction, OpKind, Register};
use xlat_ir::{Builder, CodeFetch, MemOp, Opcode, Temp, Ty, Unit};

pub(crate) use cc::Known;

/// Fetches up to 15 bytes at `pc` (fewer where fetching stops).
pub(crate) fn fetch(pc: u64, code: &dyn CodeFetch) -> Vec<u8> {
    let mut v = Vec::with_capacity(15);
    for i in 0..15u64 {
        match code.fetch_u8(pc.wrapping_add(i)) {
            Some(b) => v.push(b),
            None => break,
        }
    }
    v
}

/// Decodes the instruction at `pc`; `None` if the bytes are not a valid instruction.
pub(crate) fn decode(pc: u64, bytes: &[u8]) -> Option<Instruction> {
    let mut d = Decoder::with_ip(64, bytes, pc, DecoderOptions::NONE);
    let i = d.decode();
    (!i.is_invalid()).then_some(i)
}

/// How lifting one instruction ended.
#[derive(PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on with the next instruction.
    Next,
    /// The instruction ended the unit (a branch, an exit, a raise).
    End,
    /// Not implemented: raise illegal-instruction.
    Illegal,
}

/// Per-unit lifting context.
pub(crate) struct Cx {
    pub b: Builder,
    pub pc: u64,
    pub len: u64,
    pub i: Instruction,
    /// System mode: pushfq/popfq leave to the system emulator (RFLAGS.IF lives there).
    pub system: bool,
    /// What the flags are known to hold, in this unit.
    pub known: Option<Known>,
    /// The arithmetic flags this instruction writes are overwritten by later instructions of
    /// the unit before anything reads them (and before anything that may fault or leave the
    /// unit): their computation can be skipped.
    pub flags_dead: bool,
    /// x87 escape instructions (D8..DF): the 11-bit FOP (escape byte's low three bits, then
    /// the ModRM byte); zero for the rest.
    pub fop: u16,
}

/// FOP of the instruction in `bytes`: its first byte in D8..DF (no prefix is) and the next.
fn x87_fop(bytes: &[u8], len: usize) -> u16 {
    match bytes[..len.min(bytes.len())]
        .iter()
        .position(|b| (0xd8..=0xdf).contains(b))
    {
        Some(k) if k + 1 < len => (u16::from(bytes[k] & 7) << 8) | u16::from(bytes[k + 1]),
        _ => 0,
    }
}

impl Cx {
    pub fn next_pc(&self) -> u64 {
        self.pc.wrapping_add(self.len)
    }

    pub fn k(&mut self, v: u64) -> Temp {
        self.b.konst(Ty::I64, v)
    }

    pub fn op(&mut self, op: Opcode, a: Temp, b: Temp) -> Temp {
        self.b.binop(op, a, b)
    }

    pub fn opi(&mut self, op: Opcode, a: Temp, imm: u64) -> Temp {
        self.b.binop_imm(op, a, imm)
    }

    /// Zero-extends the low `bytes` bytes of `v`.
    pub fn zext(&mut self, v: Temp, bytes: u32) -> Temp {
        match bytes {
            1 => self.b.unop(Opcode::Zext8, v),
            2 => self.b.unop(Opcode::Zext16, v),
            4 => self.b.unop(Opcode::Zext32, v),
            _ => v,
        }
    }

    /// Sign-extends the low `bytes` bytes of `v` to 64 bits.
    pub fn sext(&mut self, v: Temp, bytes: u32) -> Temp {
        match bytes {
            1 => self.b.unop(Opcode::Sext8, v),
            2 => self.b.unop(Opcode::Sext16, v),
            4 => self.b.unop(Opcode::Sext32, v),
            _ => v,
        }
    }

    /// Reads a general register of any width, zero-extended to 64 bits.
    pub fn get_gpr(&mut self, r: Register) -> Temp {
        let full = self.b.get_reg(Ty::I64, gpr_off(r));
        if is_high8(r) {
            let s = self.opi(Opcode::Shr, full, 8);
            return self.zext(s, 1);
        }
        self.zext(full, r.size() as u32)
    }

    /// Writes a general register with x86's rules: 32-bit writes zero the upper half, 8- and
    /// 16-bit writes merge.
    pub fn set_gpr(&mut self, r: Register, v: Temp) {
        let off = gpr_off(r);
        let size = r.size() as u32;
        let nv = match size {
            8 => v,
            4 => self.zext(v, 4),
            _ => {
                let sh = if is_high8(r) { 8 } else { 0 };
                let m = crate::flags::mask(size) << sh;
                let old = self.b.get_reg(Ty::I64, off);
                let kept = self.opi(Opcode::And, old, !m);
                let vs = self.opi(Opcode::Shl, v, sh);
                let vm = self.opi(Opcode::And, vs, m);
                self.op(Opcode::Or, kept, vm)
            }
        };
        self.b.set_reg(off, nv);
    }

    /// The effective address of the memory operand (with the fs/gs base added).
    pub fn ea(&mut self) -> Temp {
        let i = self.i;
        let base = i.memory_base();
        let mut a = if base == Register::RIP || base == Register::EIP {
            self.k(i.memory_displacement64())
        } else {
            let d = self.k(i.memory_displacement64());
            if base == Register::None {
                d
            } else {
                let bv = self.get_gpr(base);
                self.op(Opcode::Add, bv, d)
            }
        };
        let idx = i.memory_index();
        if idx != Register::None {
            let iv = self.get_gpr(idx);
            let sh = i.memory_index_scale().trailing_zeros();
            let s = self.opi(Opcode::Shl, iv, u64::from(sh));
            a = self.op(Opcode::Add, a, s);
        }
        if base.size() == 4 || idx.size() == 4 {
            // 32-bit address size (0x67).
            a = self.zext(a, 4);
        }
        match i.segment_prefix() {
            Register::FS => {
                let fs = self.b.get_reg(Ty::I64, state::FS_BASE);
                a = self.op(Opcode::Add, a, fs);
            }
            Register::GS => {
                let gs = self.b.get_reg(Ty::I64, state::GS_BASE);
                a = self.op(Opcode::Add, a, gs);
            }
            _ => {}
        }
        a
    }

    pub fn load(&mut self, addr: Temp, bytes: u32) -> Temp {
        self.b.load(Ty::I64, addr, 0, MemOp::le(bytes, false))
    }

    pub fn store(&mut self, v: Temp, addr: Temp, bytes: u32) {
        self.b.store(v, addr, 0, MemOp::le(bytes, false));
    }

    /// Operand size in bytes of operand `n` (register or memory).
    pub fn opsize(&self, n: u32) -> u32 {
        match self.i.op_kind(n) {
            OpKind::Register => self.i.op_register(n).size() as u32,
            OpKind::Memory => self.i.memory_size().size() as u32,
            _ => 0,
        }
    }

    /// Reads operand `n` (register, memory at `addr`, or immediate), zero-extended to 64 bits
    /// from `bytes` (immediates come sign-extended to the operand size).
    pub fn read(&mut self, n: u32, addr: Option<Temp>, bytes: u32) -> Option<Temp> {
        Some(match self.i.op_kind(n) {
            OpKind::Register => self.get_gpr(self.i.op_register(n)),
            OpKind::Memory => {
                let a = addr?;
                self.load(a, bytes)
            }
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64 => {
                let v = self.i.try_immediate(n).ok()?;
                self.k(v & crate::flags::mask(bytes))
            }
            _ => return None,
        })
    }

    /// Writes operand `n` (register or memory at `addr`).
    pub fn write(&mut self, n: u32, addr: Option<Temp>, v: Temp, bytes: u32) -> Option<()> {
        match self.i.op_kind(n) {
            OpKind::Register => self.set_gpr(self.i.op_register(n), v),
            OpKind::Memory => self.store(v, addr?, bytes),
            _ => return None,
        }
        Some(())
    }

    /// The address of the memory operand if the instruction has one.
    pub fn mem_addr(&mut self) -> Option<Temp> {
        (0..self.i.op_count())
            .any(|n| self.i.op_kind(n) == OpKind::Memory)
            .then(|| self.ea())
    }

    pub fn goto(&mut self, slot: u32, pc: u64) {
        self.b.goto_tb(slot, pc);
    }
}

/// State offset of the 64-bit register holding `r`.
pub(crate) fn gpr_off(r: Register) -> u32 {
    let f = r.full_register();
    let n = (f as u32).wrapping_sub(Register::RAX as u32);
    state::gpr(n as u8)
}

fn is_high8(r: Register) -> bool {
    matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)
}

/// Lifts the unit at `pc`.
pub(crate) fn translate(pc: u64, code: &dyn CodeFetch, max_insns: u32, system: bool) -> Unit {
    translate_observed(pc, code, max_insns, &|_, _| false, system)
}

/// Lifts the unit at `pc`, with exact flags before each instruction `observed` names.
pub(crate) fn translate_observed(
    pc: u64,
    code: &dyn CodeFetch,
    max_insns: u32,
    observed: &dyn Fn(u64, u32) -> bool,
    system: bool,
) -> Unit {
    let mut cx = Cx {
        system,
        b: Builder::new(pc),
        pc,
        len: 0,
        i: Instruction::default(),
        known: None,
        flags_dead: false,
        fop: 0,
    };
    let mut n = 0u32;
    loop {
        let bytes = fetch(cx.pc, code);
        cx.b.insn_start(cx.pc);
        let Some(i) = decode(cx.pc, &bytes) else {
            let code = if bytes.len() < 15 && decode_truncated(&bytes) {
                PAGE_FAULT
            } else {
                ILLEGAL_INSTRUCTION
            };
            let a = cx.k(cx.pc.wrapping_add(bytes.len() as u64));
            cx.b.raise(code, cx.pc, Some(a));
            n += 1;
            break;
        };
        // An instruction that straddles into the next page ends the unit before it.
        if n > 0 && (cx.pc ^ (cx.pc + i.len() as u64 - 1)) >> 12 != 0 {
            cx.b.goto_tb(0, cx.pc);
            break;
        }
        cx.i = i;
        cx.len = i.len() as u64;
        cx.fop = x87_fop(&bytes, i.len());
        if observed(cx.pc, i.len() as u32) {
            // A hook there may write RFLAGS: nothing known about the flags survives it.
            cx.known = None;
        }
        cx.flags_dead = flags_dead(&i, code, pc, max_insns.saturating_sub(n + 1), observed);
        n += 1;
        let mark = cx.b.len();
        let known = cx.known;
        let flow = lift_one(&mut cx);
        if flow == Flow::Illegal {
            cx.b.truncate(mark);
            cx.known = known;
            let a = cx.k(0);
            cx.b.raise(ILLEGAL_INSTRUCTION, cx.pc, Some(a));
            break;
        }
        if flow == Flow::End {
            break;
        }
        cx.pc = cx.next_pc();
        if n >= max_insns || (cx.pc >> 12) != (pc >> 12) {
            cx.b.goto_tb(0, cx.pc);
            break;
        }
    }
    let len = cx.pc.wrapping_add(cx.len).wrapping_sub(pc) as u32;
    cx.b.finish(len.max(1), n.max(1))
}

/// Whether the bytes are a valid prefix of an instruction cut short by the end of fetchable
/// memory.
/// Whether the arithmetic flags `i` writes are dead: later instructions of the same unit
/// (at most `left` of them, on this page) overwrite every one of them before any reads one,
/// with nothing in between that may fault, branch or end the unit (flags stay exact wherever
/// the guest could observe them, nor anything `observed` names: an embedding's code hook
/// or stop there sees the flags).
fn flags_dead(
    i: &Instruction,
    code: &dyn CodeFetch,
    unit_pc: u64,
    left: u32,
    observed: &dyn Fn(u64, u32) -> bool,
) -> bool {
    use iced_x86::{FlowControl, Mnemonic as M, RflagsBits};
    const ARITH: u32 = RflagsBits::CF
        | RflagsBits::PF
        | RflagsBits::AF
        | RflagsBits::ZF
        | RflagsBits::SF
        | RflagsBits::OF;
    let mut need = i.rflags_modified() & ARITH;
    if need == 0 {
        return false;
    }
    let mut pc = i.next_ip();
    for _ in 0..left.min(16) {
        if (pc >> 12) != (unit_pc >> 12) {
            return false;
        }
        let bytes = fetch(pc, code);
        let Some(j) = decode(pc, &bytes) else {
            return false;
        };
        if (pc ^ (pc + j.len() as u64 - 1)) >> 12 != 0
            || observed(pc, j.len() as u32)
            || j.flow_control() != FlowControl::Next
            || j.rflags_read() & need != 0
            || (0..j.op_count()).any(|n| j.op_kind(n) == OpKind::Memory)
            || j.has_lock_prefix()
            || j.is_string_instruction()
            || matches!(j.mnemonic(), M::Div | M::Idiv)
            || (0..j.op_count()).any(|n| {
                j.op_kind(n) == OpKind::Register && {
                    let r = j.op_register(n);
                    r.is_xmm() || r.is_st() || r.is_mm()
                }
            })
        {
            return false;
        }
        // Shifts and rotates by a count that may be 0 keep the flags.
        let may_keep = matches!(
            j.mnemonic(),
            M::Shl
                | M::Sal
                | M::Shr
                | M::Sar
                | M::Rol
                | M::Ror
                | M::Rcl
                | M::Rcr
                | M::Shld
                | M::Shrd
        ) && j
            .try_immediate(j.op_count() - 1)
            .map_or(true, |c| c & 0x1f == 0);
        if !may_keep {
            need &= !j.rflags_modified();
        }
        if need == 0 {
            return true;
        }
        pc = j.next_ip();
    }
    false
}

fn decode_truncated(bytes: &[u8]) -> bool {
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let _ = d.decode();
    d.last_error() == iced_x86::DecoderError::NoMoreBytes
}

fn lift_one(cx: &mut Cx) -> Flow {
    if let Some(f) = int::lift(cx) {
        return f;
    }
    if let Some(f) = ctl::lift(cx) {
        return f;
    }
    if let Some(f) = sse::lift(cx) {
        return f;
    }
    if let Some(f) = ssefp::lift(cx) {
        return f;
    }
    if let Some(f) = sse4::lift(cx) {
        return f;
    }
    if let Some(f) = bmi::lift(cx) {
        return f;
    }
    if let Some(f) = isa::lift(cx) {
        return f;
    }
    if let Some(f) = x87::lift(cx) {
        return f;
    }
    Flow::Illegal
}

impl Cx {
    /// An atomic read-modify-write of `bytes` at `addr`; returns the old value (zero-extended).
    /// The IR's atomics are 32- and 64-bit: 8- and 16-bit ones are a plain load, op, store
    /// (atomic with respect to this vCPU only).
    pub fn atomic_rmw(&mut self, op: xlat_ir::AtomicOp, addr: Temp, v: Temp, bytes: u32) -> Temp {
        if bytes < 4 {
            return self.narrow_rmw(Some(op), addr, v, v, bytes);
        }
        // x86 allows misaligned locked accesses (split locks); the IR's atomics are aligned,
        // so a misaligned one runs as a plain load, op, store.
        let res = self.b.temp(Ty::I64);
        let (slow, done) = (self.b.label(), self.b.label());
        let low = self.opi(Opcode::And, addr, u64::from(bytes - 1));
        let z = self.k(0);
        self.b.branch(xlat_ir::Cond::Ne, low, z, slow);
        let o = if bytes == 8 {
            self.b.atomic_rmw(op, addr, v, MemOp::le(8, false))
        } else {
            let v32 = self.b.trunc(v);
            let o = self.b.atomic_rmw(op, addr, v32, MemOp::le(4, false));
            self.b.extu(o)
        };
        self.b.mov(res, o);
        self.b.jump(done);
        self.b.set_label(slow);
        let o = self.plain_rmw(op, addr, v, bytes);
        self.b.mov(res, o);
        self.b.set_label(done);
        res
    }

    /// An 8- or 16-bit atomic read-modify-write (`op`), or compare-and-swap (`op` None:
    /// `v` expected, `new` the replacement), as a 32-bit compare-and-swap loop on the aligned
    /// word holding it; a 16-bit value straddling two words runs as a plain load, op, store.
    /// Returns the old value.
    fn narrow_rmw(
        &mut self,
        op: Option<xlat_ir::AtomicOp>,
        addr: Temp,
        v: Temp,
        new: Temp,
        bytes: u32,
    ) -> Temp {
        let res = self.b.temp(Ty::I64);
        let (slow, retry, done) = (self.b.label(), self.b.label(), self.b.label());
        if bytes == 2 {
            let low = self.opi(Opcode::And, addr, 3);
            let three = self.k(3);
            self.b.branch(xlat_ir::Cond::Eq, low, three, slow);
        }
        let a4 = self.opi(Opcode::AndN, addr, 3);
        let off = self.opi(Opcode::And, addr, 3);
        let sh = self.opi(Opcode::Shl, off, 3);
        let m = self.k(crate::flags::mask(bytes));
        let mask = self.op(Opcode::Shl, m, sh);
        self.b.set_label(retry);
        let w = self.load(a4, 4);
        let o = self.op(Opcode::Shr, w, sh);
        let old = self.zext(o, bytes);
        let nv = match op {
            Some(xlat_ir::AtomicOp::Xchg) => v,
            Some(xlat_ir::AtomicOp::Add) => self.op(Opcode::Add, old, v),
            Some(xlat_ir::AtomicOp::And) => self.op(Opcode::And, old, v),
            Some(xlat_ir::AtomicOp::Or) => self.op(Opcode::Or, old, v),
            Some(_) => self.op(Opcode::Xor, old, v),
            None => {
                let e = self.zext(v, bytes);
                self.b.select(xlat_ir::Cond::Eq, old, e, new, old)
            }
        };
        let nv = self.zext(nv, bytes);
        let nvs = self.op(Opcode::Shl, nv, sh);
        let kept = self.op(Opcode::AndN, w, mask);
        let nw = self.op(Opcode::Or, kept, nvs);
        let w32 = self.b.trunc(w);
        let nw32 = self.b.trunc(nw);
        let got = self.b.atomic_cas(a4, w32, nw32, MemOp::le(4, false));
        let got = self.b.extu(got);
        self.b.mov(res, old);
        self.b.branch(xlat_ir::Cond::Ne, got, w, retry);
        self.b.jump(done);
        self.b.set_label(slow);
        let o = match op {
            Some(op) => self.plain_rmw(op, addr, v, bytes),
            None => self.plain_cas(addr, v, new, bytes),
        };
        self.b.mov(res, o);
        self.b.set_label(done);
        res
    }

    fn plain_rmw(&mut self, op: xlat_ir::AtomicOp, addr: Temp, v: Temp, bytes: u32) -> Temp {
        let old = self.load(addr, bytes);
        let new = match op {
            xlat_ir::AtomicOp::Xchg => v,
            xlat_ir::AtomicOp::Add => self.op(Opcode::Add, old, v),
            xlat_ir::AtomicOp::And => self.op(Opcode::And, old, v),
            xlat_ir::AtomicOp::Or => self.op(Opcode::Or, old, v),
            _ => self.op(Opcode::Xor, old, v),
        };
        self.store(new, addr, bytes);
        old
    }

    /// An atomic compare-and-swap of `bytes` at `addr`; returns the old value.
    pub fn atomic_cas(&mut self, addr: Temp, exp: Temp, new: Temp, bytes: u32) -> Temp {
        if bytes < 4 {
            return self.narrow_rmw(None, addr, exp, new, bytes);
        }
        let res = self.b.temp(Ty::I64);
        let (slow, done) = (self.b.label(), self.b.label());
        let low = self.opi(Opcode::And, addr, u64::from(bytes - 1));
        let z = self.k(0);
        self.b.branch(xlat_ir::Cond::Ne, low, z, slow);
        let o = if bytes == 8 {
            self.b.atomic_cas(addr, exp, new, MemOp::le(8, false))
        } else {
            let e = self.b.trunc(exp);
            let n = self.b.trunc(new);
            let o = self.b.atomic_cas(addr, e, n, MemOp::le(4, false));
            self.b.extu(o)
        };
        self.b.mov(res, o);
        self.b.jump(done);
        self.b.set_label(slow);
        let o = self.plain_cas(addr, exp, new, bytes);
        self.b.mov(res, o);
        self.b.set_label(done);
        res
    }

    fn plain_cas(&mut self, addr: Temp, exp: Temp, new: Temp, bytes: u32) -> Temp {
        let old = self.load(addr, bytes);
        let v = self.b.select(xlat_ir::Cond::Eq, old, exp, new, old);
        self.store(v, addr, bytes);
        old
    }
}
