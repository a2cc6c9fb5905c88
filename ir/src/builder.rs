//! Building units: what frontends call to emit IR.

use crate::ops::Opcode;
use crate::unit::*;

/// Emits IR into a [`Unit`].
#[derive(Debug)]
pub struct Builder {
    unit: Unit,
}

impl Builder {
    /// Starts a unit at guest pc `pc`.
    pub fn new(pc: u64) -> Builder {
        Builder {
            unit: Unit {
                pc,
                ..Unit::default()
            },
        }
    }

    /// Finishes the unit.
    pub fn finish(mut self, guest_len: u32, guest_insns: u32) -> Unit {
        self.unit.guest_len = guest_len;
        self.unit.guest_insns = guest_insns;
        self.unit
    }

    /// The unit so far.
    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Number of instructions emitted so far (to roll back a partly lifted guest instruction).
    pub fn len(&self) -> usize {
        self.unit.insts.len()
    }

    /// Whether nothing has been emitted.
    pub fn is_empty(&self) -> bool {
        self.unit.insts.is_empty()
    }

    /// Drops instructions emitted after `len` (temps and labels stay allocated, unused).
    pub fn truncate(&mut self, len: usize) {
        self.unit.insts.truncate(len);
    }

    /// Whether the last instruction ends straight-line flow.
    pub fn ends_with_terminator(&self) -> bool {
        self.unit
            .insts
            .last()
            .is_some_and(|i| i.op.flags().terminator)
    }

    /// A new temp of type `ty`.
    pub fn temp(&mut self, ty: Ty) -> Temp {
        self.unit.temps.push(ty);
        Temp(self.unit.temps.len() as u32 - 1)
    }

    /// A new label.
    pub fn label(&mut self) -> Label {
        self.unit.labels += 1;
        Label(self.unit.labels - 1)
    }

    /// Type of an existing temp.
    pub fn ty(&self, t: Temp) -> Ty {
        self.unit.ty(t)
    }

    /// Appends a raw instruction.
    pub fn push(&mut self, inst: Inst) {
        self.unit.insts.push(inst);
    }

    fn inst(&mut self, op: Opcode, ty: Ty, dst: Temp, src: [Temp; 4], imm: u64, aux: u32) {
        self.push(Inst {
            op,
            ty,
            dst,
            src,
            imm,
            aux,
        });
    }

    /// `dst = imm`, into a new temp.
    pub fn konst(&mut self, ty: Ty, imm: u64) -> Temp {
        let d = self.temp(ty);
        self.konst_to(d, imm);
        d
    }

    /// `dst = imm`.
    pub fn konst_to(&mut self, dst: Temp, imm: u64) {
        let ty = self.ty(dst);
        self.inst(Opcode::Const, ty, dst, [Temp::NONE; 4], ty.mask(imm), 0);
    }

    /// `dst = src`.
    pub fn mov(&mut self, dst: Temp, src: Temp) {
        let ty = self.ty(dst);
        self.inst(
            Opcode::Mov,
            ty,
            dst,
            [src, Temp::NONE, Temp::NONE, Temp::NONE],
            0,
            0,
        );
    }

    /// `dst = op(a, b)` into a new temp of `a`'s type.
    pub fn binop(&mut self, op: Opcode, a: Temp, b: Temp) -> Temp {
        let d = self.temp(self.ty(a));
        self.binop_to(op, d, a, b);
        d
    }

    /// `dst = op(a, b)`.
    pub fn binop_to(&mut self, op: Opcode, dst: Temp, a: Temp, b: Temp) {
        let ty = self.ty(dst);
        self.inst(op, ty, dst, [a, b, Temp::NONE, Temp::NONE], 0, 0);
    }

    /// `dst = op(a, imm)` into a new temp: the immediate becomes a constant temp.
    pub fn binop_imm(&mut self, op: Opcode, a: Temp, imm: u64) -> Temp {
        let k = self.konst(self.ty(a), imm);
        self.binop(op, a, k)
    }

    /// `dst = op(a)` into a new temp of `a`'s type (for [`crate::Format::Unary`] opcodes).
    pub fn unop(&mut self, op: Opcode, a: Temp) -> Temp {
        let d = self.temp(self.ty(a));
        self.unop_to(op, d, a);
        d
    }

    /// `dst = op(a)`.
    pub fn unop_to(&mut self, op: Opcode, dst: Temp, a: Temp) {
        let ty = self.ty(dst);
        self.inst(op, ty, dst, [a, Temp::NONE, Temp::NONE, Temp::NONE], 0, 0);
    }

    /// i32 → i64, zero-extending.
    pub fn extu(&mut self, a: Temp) -> Temp {
        self.convert(Opcode::ExtU, Ty::I64, a)
    }

    /// i32 → i64, sign-extending.
    pub fn exts(&mut self, a: Temp) -> Temp {
        self.convert(Opcode::ExtS, Ty::I64, a)
    }

    /// i64 → i32.
    pub fn trunc(&mut self, a: Temp) -> Temp {
        self.convert(Opcode::Trunc, Ty::I32, a)
    }

    fn convert(&mut self, op: Opcode, ty: Ty, a: Temp) -> Temp {
        let d = self.temp(ty);
        self.inst(op, ty, d, [a, Temp::NONE, Temp::NONE, Temp::NONE], 0, 0);
        d
    }

    /// `cond(a, b) ? 1 : 0` into a new temp of `a`'s type.
    pub fn setcond(&mut self, cond: Cond, a: Temp, b: Temp) -> Temp {
        let ty = self.ty(a);
        let d = self.temp(ty);
        self.inst(
            Opcode::SetCond,
            ty,
            d,
            [a, b, Temp::NONE, Temp::NONE],
            0,
            cond as u32,
        );
        d
    }

    /// `cond(a, b) ? t : f` into a new temp of `t`'s type.
    pub fn select(&mut self, cond: Cond, a: Temp, b: Temp, t: Temp, f: Temp) -> Temp {
        let d = self.temp(self.ty(t));
        self.select_to(d, cond, a, b, t, f);
        d
    }

    /// `dst = cond(a, b) ? t : f`.
    pub fn select_to(&mut self, dst: Temp, cond: Cond, a: Temp, b: Temp, t: Temp, f: Temp) {
        let ty = self.ty(dst);
        self.inst(Opcode::Select, ty, dst, [a, b, t, f], 0, cond as u32);
    }

    /// `dst = a * b + c` (float, one rounding) into a new temp of `a`'s type.
    pub fn ffma(&mut self, a: Temp, b: Temp, c: Temp) -> Temp {
        let d = self.temp(self.ty(a));
        self.ffma_to(d, a, b, c);
        d
    }

    /// `dst = a * b + c` (float, one rounding).
    pub fn ffma_to(&mut self, dst: Temp, a: Temp, b: Temp, c: Temp) {
        let ty = self.ty(dst);
        self.inst(Opcode::FFma, ty, dst, [a, b, c, Temp::NONE], 0, 0);
    }

    /// `fcond(a, b) ? 1 : 0` on floats (`a`, `b` of one width) into a new temp of type `ty`.
    pub fn fsetcond(&mut self, ty: Ty, cond: FCond, a: Temp, b: Temp) -> Temp {
        let d = self.temp(ty);
        self.inst(
            Opcode::FSetCond,
            ty,
            d,
            [a, b, Temp::NONE, Temp::NONE],
            0,
            cond as u32,
        );
        d
    }

    /// `a` rounded to an integral float with `mode`, into a new temp of `a`'s type.
    pub fn fround(&mut self, mode: FRound, a: Temp) -> Temp {
        let ty = self.ty(a);
        let d = self.temp(ty);
        self.inst(
            Opcode::FRound,
            ty,
            d,
            [a, Temp::NONE, Temp::NONE, Temp::NONE],
            0,
            mode as u32,
        );
        d
    }

    /// A float conversion ([`crate::Format::FConvert`]: `FCvtFromS`, `FCvtFromU`, `FCvtToS`,
    /// `FCvtToU`, `FCvtF`) of `a` into a new temp of type `to`.
    pub fn fconvert(&mut self, op: Opcode, to: Ty, a: Temp) -> Temp {
        debug_assert_eq!(op.format(), crate::Format::FConvert);
        let d = self.temp(to);
        self.fconvert_to(op, d, a);
        d
    }

    /// A float conversion into `dst` (of the target type).
    pub fn fconvert_to(&mut self, op: Opcode, dst: Temp, a: Temp) {
        let ty = self.ty(dst);
        self.inst(op, ty, dst, [a, Temp::NONE, Temp::NONE, Temp::NONE], 0, 0);
    }

    /// Reads guest state at byte offset `off` into a new temp.
    pub fn get_reg(&mut self, ty: Ty, off: u32) -> Temp {
        let d = self.temp(ty);
        self.inst(Opcode::GetReg, ty, d, [Temp::NONE; 4], u64::from(off), 0);
        d
    }

    /// Writes guest state at byte offset `off`.
    pub fn set_reg(&mut self, off: u32, src: Temp) {
        let ty = self.ty(src);
        self.inst(
            Opcode::SetReg,
            ty,
            Temp::NONE,
            [src, Temp::NONE, Temp::NONE, Temp::NONE],
            u64::from(off),
            0,
        );
    }

    /// Loads `mem` from guest address `addr + disp` into a new temp of type `ty`.
    pub fn load(&mut self, ty: Ty, addr: Temp, disp: i64, mem: MemOp) -> Temp {
        let d = self.temp(ty);
        self.inst(
            Opcode::Load,
            ty,
            d,
            [addr, Temp::NONE, Temp::NONE, Temp::NONE],
            disp as u64,
            mem.to_u32(),
        );
        d
    }

    /// Stores the low bytes of `val` to guest address `addr + disp`.
    pub fn store(&mut self, val: Temp, addr: Temp, disp: i64, mem: MemOp) {
        let ty = self.ty(val);
        self.inst(
            Opcode::Store,
            ty,
            Temp::NONE,
            [val, addr, Temp::NONE, Temp::NONE],
            disp as u64,
            mem.to_u32(),
        );
    }

    /// Atomic read-modify-write; returns the old value (of `val`'s type, which must match the
    /// access size).
    pub fn atomic_rmw(&mut self, op: AtomicOp, addr: Temp, val: Temp, mem: MemOp) -> Temp {
        let ty = self.ty(val);
        let d = self.temp(ty);
        let aux = mem.to_u32() | ((op as u32) << 16);
        self.inst(
            Opcode::AtomicRmw,
            ty,
            d,
            [addr, val, Temp::NONE, Temp::NONE],
            0,
            aux,
        );
        d
    }

    /// Atomic compare-and-swap; returns the old value.
    pub fn atomic_cas(&mut self, addr: Temp, expected: Temp, new: Temp, mem: MemOp) -> Temp {
        let ty = self.ty(new);
        let d = self.temp(ty);
        self.inst(
            Opcode::AtomicCas,
            ty,
            d,
            [addr, expected, new, Temp::NONE],
            0,
            mem.to_u32(),
        );
        d
    }

    /// 128-bit atomic compare-and-swap of the 16 bytes at `addr`, on `(low, high)` pairs of
    /// i64 temps; returns the old value as a pair. `mem` describes the 8-byte halves.
    pub fn atomic_cas128(
        &mut self,
        addr: Temp,
        expected: (Temp, Temp),
        new: (Temp, Temp),
        mem: MemOp,
    ) -> (Temp, Temp) {
        let (lo, hi) = (self.temp(Ty::I64), self.temp(Ty::I64));
        let imm = crate::ops::Cas128Hi {
            new_hi: new.1,
            old_hi: hi,
        }
        .to_imm();
        self.inst(
            Opcode::AtomicCas128,
            Ty::I64,
            lo,
            [addr, expected.0, expected.1, new.0],
            imm,
            mem.to_u32(),
        );
        (lo, hi)
    }

    /// A full memory barrier.
    pub fn fence(&mut self) {
        self.inst(
            Opcode::Fence,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            0,
            FenceKind::Full as u32,
        );
    }

    /// Defines `l` here.
    pub fn set_label(&mut self, l: Label) {
        self.inst(
            Opcode::Label,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            u64::from(l.0),
            0,
        );
    }

    /// Marks `l`'s code (up to the next label) as rarely run: the backend places it out of line.
    pub fn set_cold(&mut self, l: Label) {
        if !self.unit.cold_labels.contains(&l.0) {
            self.unit.cold_labels.push(l.0);
        }
    }

    /// Number of labels made so far (labels made after this are numbered from it).
    pub fn num_labels(&self) -> u32 {
        self.unit.labels
    }

    /// Jumps to `l`.
    pub fn jump(&mut self, l: Label) {
        self.inst(
            Opcode::Jump,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            u64::from(l.0),
            0,
        );
    }

    /// Jumps to `l` if `cond(a, b)`.
    pub fn branch(&mut self, cond: Cond, a: Temp, b: Temp, l: Label) {
        let ty = self.ty(a);
        self.inst(
            Opcode::Branch,
            ty,
            Temp::NONE,
            [a, b, Temp::NONE, Temp::NONE],
            u64::from(l.0),
            cond as u32,
        );
    }

    /// Marks the start of the guest instruction at `pc`.
    pub fn insn_start(&mut self, pc: u64) {
        self.inst(
            Opcode::InsnStart,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            pc,
            0,
        );
    }

    fn helper_index(&mut self, h: &'static Helper) -> u32 {
        if let Some(i) = self.unit.helpers.iter().position(|x| std::ptr::eq(*x, h)) {
            return i as u32;
        }
        self.unit.helpers.push(h);
        self.unit.helpers.len() as u32 - 1
    }

    /// Calls `h` with `args` (i64 temps); returns its i64 result.
    pub fn call(&mut self, h: &'static Helper, args: &[Temp]) -> Temp {
        let d = self.temp(Ty::I64);
        self.call_inner(h, args, d);
        d
    }

    /// Calls `h` with `args`, ignoring any result.
    pub fn call_void(&mut self, h: &'static Helper, args: &[Temp]) {
        self.call_inner(h, args, Temp::NONE);
    }

    fn call_inner(&mut self, h: &'static Helper, args: &[Temp], dst: Temp) {
        assert!(
            args.len() <= 4 && args.len() == usize::from(h.nargs),
            "helper {} arity",
            h.name
        );
        let mut src = [Temp::NONE; 4];
        src[..args.len()].copy_from_slice(args);
        let idx = self.helper_index(h);
        self.inst(Opcode::Call, Ty::I64, dst, src, 0, idx);
    }

    /// Direct exit to `pc` through link slot `slot` (0 or 1).
    pub fn goto_tb(&mut self, slot: u32, pc: u64) {
        self.inst(
            Opcode::GotoTb,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            pc,
            slot,
        );
    }

    /// Indirect exit to the pc held in `pc`.
    pub fn goto_ptr(&mut self, pc: Temp) {
        self.inst(
            Opcode::GotoPtr,
            Ty::I64,
            Temp::NONE,
            [pc, Temp::NONE, Temp::NONE, Temp::NONE],
            0,
            0,
        );
    }

    /// Leaves to the exec loop with `reason`, reporting `pc`.
    pub fn exit(&mut self, reason: ExitReason, pc: u64) {
        self.inst(
            Opcode::Exit,
            Ty::I64,
            Temp::NONE,
            [Temp::NONE; 4],
            pc,
            reason as u32,
        );
    }

    /// Raises the architecture's exception `code` at `pc`, with an optional argument.
    pub fn raise(&mut self, code: u32, pc: u64, arg: Option<Temp>) {
        let a = arg.unwrap_or(Temp::NONE);
        self.inst(
            Opcode::Raise,
            Ty::I64,
            Temp::NONE,
            [a, Temp::NONE, Temp::NONE, Temp::NONE],
            pc,
            code,
        );
    }
}
