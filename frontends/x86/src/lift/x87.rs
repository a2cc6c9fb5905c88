//! Lifting x87 instructions onto the software 80-bit stack machine in [`crate::x87`]: one
//! helper call per instruction (memory operands are loaded and stored here).

use super::{Cx, Flow};
use crate::x87::{arg, op};
use crate::{helpers, state};
use iced_x86::{Mnemonic as M, OpKind, Register};
use xlat_ir::{Cond, Opcode, Temp, Ty};

fn sti(r: Register) -> Option<u64> {
    let n = (r as u32).wrapping_sub(Register::ST0 as u32);
    (n < 8).then_some(u64::from(n))
}

/// `fmt` field: st(i).
const ST: u64 = 15;

impl Cx {
    fn x87(&mut self, o: u64, a: Temp, b: Temp) -> Temp {
        let k = self.k(o);
        self.b.call(&helpers::H_X87, &[k, a, b])
    }

    fn x87_0(&mut self, o: u64) -> Temp {
        let z = self.k(0);
        self.x87(o, z, z)
    }

    /// Operand `n` as (`fmt`/`SRC` fields, a, b): st(i), or a float or integer in memory.
    fn x87_src(&mut self, n: u32, int: bool) -> Option<(u64, Temp, Temp)> {
        let z = self.k(0);
        match self.i.op_kind(n) {
            OpKind::Register => {
                let i = sti(self.i.op_register(n))?;
                Some(((ST << arg::FMT) | (i << arg::SRC), z, z))
            }
            OpKind::Memory => {
                let a = self.ea();
                let size = self.i.memory_size().size();
                let fmt = match (int, size) {
                    (false, 4) => 0,
                    (false, 8) => 1,
                    (false, 10) => 2,
                    (true, 2) => 3,
                    (true, 4) => 4,
                    (true, 8) => 5,
                    _ => return None,
                };
                let lo = self.load(a, (size as u32).min(8));
                let hi = if size == 10 {
                    let a8 = self.opi(Opcode::Add, a, 8);
                    self.load(a8, 2)
                } else {
                    z
                };
                Some((fmt << arg::FMT, lo, hi))
            }
            _ => None,
        }
    }

    /// Stores st(0) to the memory operand in its float format.
    fn x87_store(&mut self) -> Option<()> {
        let a = self.ea();
        let size = self.i.memory_size().size();
        let fmt = match size {
            4 => 0,
            8 => 1,
            10 => 2,
            _ => return None,
        };
        let v = self.x87_0(op::ST | (fmt << arg::FMT));
        self.store(v, a, (size as u32).min(8));
        if size == 10 {
            let e = self.x87_0(op::EXP | (1 << arg::KIND));
            let a8 = self.opi(Opcode::Add, a, 8);
            self.store(e, a8, 2);
        }
        Some(())
    }

    /// fnstenv at `a`: the 28-byte protected-mode environment (control, status, tag word,
    /// each with its upper 16 bits set; FIP, FCS and FOP, FDP, FDS), then all exceptions
    /// masked.
    fn x87_stenv(&mut self, a: Temp) {
        let z = self.k(0);
        let cw = self.b.get_reg(Ty::I64, state::X87_CW);
        let sw = self.x87_status();
        let tag = self.x87_0(op::TAGS);
        for (off, v) in [(0, cw), (4, sw), (8, tag)] {
            let p = self.opi(Opcode::Add, a, off);
            let v = self.opi(Opcode::Or, v, 0xffff_0000);
            self.store(v, p, 4);
        }
        let _ = z;
        // FIP's offset, FCS (the 64-bit code selector) with FOP, FDP's offset, FDS (the data
        // selector), as this host stores them.
        let (fip, fop) = fip_fop(self);
        let fop = self.opi(Opcode::Shl, fop, 16);
        let sel = self.opi(Opcode::Or, fop, 0x33);
        let fdp = self.b.get_reg(Ty::I64, state::X87_FDP);
        let fds = self.k(0xffff_002b);
        for (off, v) in [(12u64, fip), (16, sel), (20, fdp), (24, fds)] {
            let p = self.opi(Opcode::Add, a, off);
            self.store(v, p, 4);
        }
        let cw = self.opi(Opcode::Or, cw, 0x3f);
        self.b.set_reg(state::X87_CW, cw);
    }

    /// fldenv at `a` (the tag word's registers are set when `a`'s image is loaded); returns
    /// the tag word for frstor to apply after its registers.
    /// Sets the control word as the hardware keeps it: reserved bits 13..15 and 7 read as
    /// zero, bit 6 as one.
    fn set_x87_cw(&mut self, v: Temp) {
        let v = self.opi(Opcode::And, v, 0x1f3f);
        let v = self.opi(Opcode::Or, v, 0x40);
        self.b.set_reg(state::X87_CW, v);
    }

    fn x87_ldenv(&mut self, a: Temp) -> Temp {
        let cw = self.load(a, 2);
        self.set_x87_cw(cw);
        let p = self.opi(Opcode::Add, a, 4);
        let sw = self.load(p, 2);
        let top = self.opi(Opcode::Shr, sw, 11);
        let top = self.opi(Opcode::And, top, 7);
        let sw = self.opi(Opcode::AndN, sw, 0x3800);
        self.b.set_reg(state::X87_SW, sw);
        self.b.set_reg(state::X87_TOP, top);
        let p = self.opi(Opcode::Add, a, 8);
        let tag = self.load(p, 2);
        let z = self.k(0);
        self.x87(op::TAGS | (1 << arg::KIND), tag, z);
        let p = self.opi(Opcode::Add, a, 12);
        let fip = self.load(p, 4);
        let p = self.opi(Opcode::Add, a, 18);
        let fop = self.load(p, 2);
        let p = self.opi(Opcode::Add, a, 20);
        let fdp = self.load(p, 4);
        set_fip_fop(self, fip, fop, fdp);
        tag
    }

    /// The status word with TOP, and ES and B (bits 7, 15) set exactly when an exception
    /// flag is unmasked in the control word (as the hardware shows a loaded status word).
    fn x87_status(&mut self) -> Temp {
        let sw = self.b.get_reg(Ty::I64, state::X87_SW);
        let cw = self.b.get_reg(Ty::I64, state::X87_CW);
        let un = self.op(Opcode::AndN, sw, cw);
        let un = self.opi(Opcode::And, un, 0x3f);
        let z = self.k(0);
        let es = self.b.setcond(xlat_ir::Cond::Ne, un, z);
        let es = self.opi(Opcode::Mul, es, 0x8080);
        let sw = self.opi(Opcode::AndN, sw, 0x8080);
        let sw = self.op(Opcode::Or, sw, es);
        let t = self.b.get_reg(Ty::I64, state::X87_TOP);
        let t = self.opi(Opcode::Shl, t, 11);
        self.op(Opcode::Or, sw, t)
    }
}

/// The x87 control instructions, which leave FIP, FOP and FDP alone (fnop does not: on this
/// host it is recorded like any other).
fn control(m: M) -> bool {
    matches!(
        m,
        M::Fninit
            | M::Finit
            | M::Fnclex
            | M::Fclex
            | M::Fldcw
            | M::Fnstcw
            | M::Fstcw
            | M::Fnstsw
            | M::Fstsw
            | M::Fldenv
            | M::Fnstenv
            | M::Fstenv
            | M::Frstor
            | M::Fnsave
            | M::Fsave
    )
}

/// The last x87 instruction's address (FIP, sign-extended from bit 47) and opcode (FOP).
fn fip_fop(cx: &mut Cx) -> (Temp, Temp) {
    let w = cx.b.get_reg(Ty::I64, state::X87_FIP);
    let fip = cx.opi(Opcode::Shl, w, 16);
    let fip = cx.opi(Opcode::Sar, fip, 16);
    let fop = cx.opi(Opcode::Shr, w, 48);
    (fip, fop)
}

/// Sets FIP, FOP (from `fop`, bits 0..11) and FDP.
fn set_fip_fop(cx: &mut Cx, fip: Temp, fop: Temp, fdp: Temp) {
    let fip = cx.opi(Opcode::And, fip, (1 << 48) - 1);
    let fop = cx.opi(Opcode::And, fop, 0x7ff);
    let fop = cx.opi(Opcode::Shl, fop, 48);
    let w = cx.op(Opcode::Or, fip, fop);
    cx.b.set_reg(state::X87_FIP, w);
    cx.b.set_reg(state::X87_FDP, fdp);
}

/// The x87 instructions that check for a pending exception first (all but the no-wait
/// forms fnstcw, fnstsw, fninit, fnclex, fnstenv, fnsave and the fxsave/xsave family).
fn waiting(m: M) -> bool {
    matches!(
        m,
        M::F2xm1
            | M::Fabs
            | M::Fadd
            | M::Faddp
            | M::Fbld
            | M::Fbstp
            | M::Fchs
            | M::Fclex
            | M::Fcmovb
            | M::Fcmovbe
            | M::Fcmove
            | M::Fcmovnb
            | M::Fcmovnbe
            | M::Fcmovne
            | M::Fcmovnu
            | M::Fcmovu
            | M::Fcom
            | M::Fcomi
            | M::Fcomip
            | M::Fcomp
            | M::Fcompp
            | M::Fcos
            | M::Fdecstp
            | M::Fdiv
            | M::Fdivp
            | M::Fdivr
            | M::Fdivrp
            | M::Ffree
            | M::Ffreep
            | M::Fiadd
            | M::Ficom
            | M::Ficomp
            | M::Fidiv
            | M::Fidivr
            | M::Fild
            | M::Fimul
            | M::Fincstp
            | M::Finit
            | M::Fist
            | M::Fistp
            | M::Fisttp
            | M::Fisub
            | M::Fisubr
            | M::Fld
            | M::Fld1
            | M::Fldcw
            | M::Fldenv
            | M::Fldl2e
            | M::Fldl2t
            | M::Fldlg2
            | M::Fldln2
            | M::Fldpi
            | M::Fldz
            | M::Fmul
            | M::Fmulp
            | M::Fnop
            | M::Fpatan
            | M::Fprem
            | M::Fprem1
            | M::Fptan
            | M::Frndint
            | M::Frstor
            | M::Fsave
            | M::Fscale
            | M::Fsin
            | M::Fsincos
            | M::Fsqrt
            | M::Fst
            | M::Fstcw
            | M::Fstenv
            | M::Fstp
            | M::Fstpnce
            | M::Fstsw
            | M::Fsub
            | M::Fsubp
            | M::Fsubr
            | M::Fsubrp
            | M::Ftst
            | M::Fucom
            | M::Fucomi
            | M::Fucomip
            | M::Fucomp
            | M::Fucompp
            | M::Fxam
            | M::Fxch
            | M::Fxtract
            | M::Fyl2x
            | M::Fyl2xp1
            | M::Wait
    )
}

/// #MF before a waiting instruction while an exception flag is set and unmasked (the status
/// word's ES): Linux delivers it as SIGFPE.
fn check_pending(cx: &mut Cx) {
    let sw = cx.b.get_reg(Ty::I64, state::X87_SW);
    let cw = cx.b.get_reg(Ty::I64, state::X87_CW);
    let un = cx.op(Opcode::AndN, sw, cw);
    let un = cx.opi(Opcode::And, un, 0x3f);
    let z = cx.k(0);
    let ok = cx.b.label();
    cx.b.branch(Cond::Eq, un, z, ok);
    cx.b.raise(crate::X87_FP_ERROR, cx.pc, Some(z));
    cx.b.set_label(ok);
}

/// Starts a store of st(0) to memory in format `args` (`arg::FMT`, `arg::TRUNC`): returns the
/// label to branch to when an unmasked exception (stack underflow, or the conversion's
/// invalid, overflow or underflow) suppresses the store and its pop.
fn store_guard(cx: &mut Cx, args: u64) -> xlat_ir::Label {
    let skip = cx.x87_0(op::UNDER | args);
    let z = cx.k(0);
    let done = cx.b.label();
    cx.b.branch(Cond::Ne, skip, z, done);
    done
}

/// Lifts `cx.i` if it is an x87 instruction.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    if waiting(m) {
        check_pending(cx);
    }
    if cx.fop != 0 && !control(m) {
        // FIP and FOP; FDP for a memory operand.
        let w = (cx.pc & ((1 << 48) - 1)) | (u64::from(cx.fop) << 48);
        let w = cx.k(w);
        cx.b.set_reg(state::X87_FIP, w);
        if cx.i.op_count() > 0 && (0..cx.i.op_count()).any(|n| cx.i.op_kind(n) == OpKind::Memory) {
            let a = cx.ea();
            cx.b.set_reg(state::X87_FDP, a);
        }
    }
    let r = match m {
        M::Fnstcw | M::Fstcw => {
            let v = cx.b.get_reg(Ty::I64, state::X87_CW);
            let a = cx.ea();
            cx.store(v, a, 2);
            Some(())
        }
        M::Fldcw => {
            let a = cx.ea();
            let v = cx.load(a, 2);
            cx.set_x87_cw(v);
            Some(())
        }
        M::Fnstsw | M::Fstsw => {
            let v = cx.x87_status();
            match cx.i.op0_kind() {
                OpKind::Register => cx.set_gpr(Register::AX, v),
                _ => {
                    let a = cx.ea();
                    cx.store(v, a, 2);
                }
            }
            Some(())
        }
        M::Fninit | M::Finit => {
            let z = cx.k(0);
            let cw = cx.k(state::X87_CW_DEFAULT);
            cx.b.set_reg(state::X87_CW, cw);
            cx.b.set_reg(state::X87_SW, z);
            cx.b.set_reg(state::X87_TOP, z);
            cx.b.set_reg(crate::x87::TAG, z);
            cx.b.set_reg(state::X87_FIP, z);
            cx.b.set_reg(state::X87_FDP, z);
            Some(())
        }
        M::Fnclex | M::Fclex => {
            let sw = cx.b.get_reg(Ty::I64, state::X87_SW);
            let sw = cx.opi(Opcode::And, sw, !0x80ff);
            cx.b.set_reg(state::X87_SW, sw);
            Some(())
        }
        // fneni, fndisi (8087) and fnsetpm (287) do nothing since the 387.
        M::Wait | M::Fnop | M::Fneni | M::Fndisi | M::Fnsetpm => Some(()),
        M::Fxsave | M::Fxsave64 => fxsave(cx),
        M::Fxrstor | M::Fxrstor64 => fxrstor(cx),
        M::Xsave | M::Xsave64 => xsave(cx),
        M::Xrstor | M::Xrstor64 => xrstor(cx),
        M::Xgetbv => xgetbv(cx),
        M::Fnstenv | M::Fstenv => {
            let a = cx.ea();
            cx.x87_stenv(a);
            Some(())
        }
        M::Fldenv => {
            let a = cx.ea();
            cx.x87_ldenv(a);
            Some(())
        }
        M::Fnsave | M::Fsave => {
            // The environment, then the eight registers (80 bits each, stack order), then
            // fninit.
            let a = cx.ea();
            cx.x87_stenv(a);
            for i in 0..8u64 {
                let lo = cx.x87_0(op::GET_RAW | (i << arg::SRC));
                let hi = cx.x87_0(op::EXP | (i << arg::SRC));
                let p = cx.opi(Opcode::Add, a, 28 + 10 * i);
                cx.store(lo, p, 8);
                let p8 = cx.opi(Opcode::Add, p, 8);
                cx.store(hi, p8, 2);
            }
            let z = cx.k(0);
            let cw = cx.k(state::X87_CW_DEFAULT);
            cx.b.set_reg(state::X87_CW, cw);
            cx.b.set_reg(state::X87_SW, z);
            cx.b.set_reg(state::X87_TOP, z);
            cx.b.set_reg(crate::x87::TAG, z);
            Some(())
        }
        M::Frstor => {
            let a = cx.ea();
            let tag = cx.x87_ldenv(a);
            for i in 0..8u64 {
                let p = cx.opi(Opcode::Add, a, 28 + 10 * i);
                let lo = cx.load(p, 8);
                let p8 = cx.opi(Opcode::Add, p, 8);
                let hi = cx.load(p8, 2);
                cx.x87(op::SET_RAW | (i << arg::SRC), lo, hi);
            }
            let z = cx.k(0);
            cx.x87(op::TAGS | (1 << arg::KIND), tag, z);
            Some(())
        }
        // iced gives `fld st(i)` two operands (st(0), st(i)): the source is the last.
        M::Fld | M::Fild => cx
            .x87_src(cx.i.op_count() - 1, m == M::Fild)
            .map(|(f, a, b)| {
                if (f >> arg::FMT) & 15 == ST {
                    cx.x87(op::LD_ST | f, a, b);
                } else {
                    cx.x87(op::LD | f, a, b);
                }
            }),
        M::Fbld => {
            let a = cx.ea();
            let lo = cx.load(a, 8);
            let a8 = cx.opi(Opcode::Add, a, 8);
            let hi = cx.load(a8, 2);
            cx.x87(op::BLD, lo, hi);
            Some(())
        }
        M::Fbstp => {
            let a = cx.ea();
            let done = store_guard(cx, 2 << arg::FMT);
            let lo = cx.x87_0(op::BST);
            let hi = cx.x87_0(op::BST | (1 << arg::KIND));
            cx.store(lo, a, 8);
            let a8 = cx.opi(Opcode::Add, a, 8);
            cx.store(hi, a8, 2);
            cx.x87_0(op::POP);
            cx.b.set_label(done);
            Some(())
        }
        M::Fld1 | M::Fldl2t | M::Fldl2e | M::Fldpi | M::Fldlg2 | M::Fldln2 | M::Fldz => {
            let k = match m {
                M::Fld1 => 0,
                M::Fldl2t => 1,
                M::Fldl2e => 2,
                M::Fldpi => 3,
                M::Fldlg2 => 4,
                M::Fldln2 => 5,
                _ => 6,
            };
            cx.x87_0(op::LDC | (k << arg::KIND));
            Some(())
        }
        // fstpnce st(i) (D9 D8+i, reserved in the SDM): fstp st(i), except that an empty
        // st(0) only pops (no stack fault, st(i) kept), as this AMD host does it.
        M::Fstpnce => {
            let i = sti(cx.i.op0_register())?;
            let tag = cx.b.get_reg(Ty::I64, crate::x87::TAG);
            let top = cx.b.get_reg(Ty::I64, state::X87_TOP);
            let t = cx.op(Opcode::Shr, tag, top);
            let t = cx.opi(Opcode::And, t, 1);
            let z = cx.k(0);
            let empty = cx.b.label();
            cx.b.branch(Cond::Eq, t, z, empty);
            cx.x87_0(op::ST_ST | (i << arg::DST));
            cx.b.set_label(empty);
            cx.x87_0(op::POP);
            Some(())
        }
        M::Fst | M::Fstp => {
            let fmt = match cx.i.memory_size().size() {
                4 => 0,
                8 => 1,
                _ => 2,
            };
            let done =
                (cx.i.op0_kind() == OpKind::Memory).then(|| store_guard(cx, fmt << arg::FMT));
            let ok = match cx.i.op0_kind() {
                OpKind::Register => sti(cx.i.op0_register()).map(|i| {
                    cx.x87_0(op::ST_ST | (i << arg::DST));
                }),
                _ => cx.x87_store(),
            };
            if m == M::Fstp {
                cx.x87_0(op::POP);
            }
            if let Some(done) = done {
                cx.b.set_label(done);
            }
            ok
        }
        M::Fist | M::Fistp | M::Fisttp => {
            let bytes = cx.i.memory_size().size() as u64;
            let trunc = u64::from(m == M::Fisttp) << arg::TRUNC;
            let fmt = match bytes {
                2 => 3,
                4 => 4,
                _ => 5,
            };
            let done = store_guard(cx, (fmt << arg::FMT) | trunc);
            let v = cx.x87_0(op::FIST | (bytes << arg::KIND) | trunc);
            let a = cx.ea();
            cx.store(v, a, bytes as u32);
            if m != M::Fist {
                cx.x87_0(op::POP);
            }
            cx.b.set_label(done);
            Some(())
        }
        M::Fxch => {
            let i = if cx.i.op_count() == 0 {
                1
            } else {
                sti(cx.i.op1_register())?
            };
            cx.x87_0(op::XCH | (i << arg::SRC));
            Some(())
        }
        // ffreep st(i) (DF C0+i): ffree, then pop.
        M::Ffree | M::Ffreep | M::Fdecstp | M::Fincstp => {
            let k = match m {
                M::Fdecstp => 1,
                M::Fincstp => 2,
                _ => 0,
            };
            let src = if matches!(m, M::Ffree | M::Ffreep) {
                sti(cx.i.op0_register())?
            } else {
                0
            };
            cx.x87_0(op::STACK | (k << arg::KIND) | (src << arg::SRC));
            if m == M::Ffreep {
                cx.x87_0(op::POP);
            }
            Some(())
        }
        M::Fchs
        | M::Fabs
        | M::Fsqrt
        | M::Frndint
        | M::Fprem
        | M::Fprem1
        | M::Fscale
        | M::Fxtract
        | M::F2xm1
        | M::Fyl2x
        | M::Fyl2xp1
        | M::Fpatan
        | M::Fsin
        | M::Fcos
        | M::Fsincos
        | M::Fptan
        | M::Fxam
        | M::Ftst => {
            let k: u64 = match m {
                M::Fchs => 0,
                M::Fabs => 1,
                M::Fsqrt => 2,
                M::Frndint => 3,
                M::Fprem => 4,
                M::Fprem1 => 5,
                M::Fscale => 6,
                M::Fxtract => 7,
                M::F2xm1 => 8,
                M::Fyl2x => 9,
                M::Fyl2xp1 => 10,
                M::Fpatan => 11,
                M::Fsin => 12,
                M::Fcos => 13,
                M::Fsincos => 14,
                M::Fptan => 15,
                M::Fxam => 16,
                _ => 17,
            };
            cx.x87_0(op::UNARY | (k << arg::KIND));
            Some(())
        }
        M::Fadd
        | M::Faddp
        | M::Fiadd
        | M::Fsub
        | M::Fsubp
        | M::Fisub
        | M::Fsubr
        | M::Fsubrp
        | M::Fisubr
        | M::Fmul
        | M::Fmulp
        | M::Fimul
        | M::Fdiv
        | M::Fdivp
        | M::Fidiv
        | M::Fdivr
        | M::Fdivrp
        | M::Fidivr => arith(cx, m),
        M::Fucomi | M::Fcomi | M::Fucomip | M::Fcomip => {
            let i = sti(cx.i.op1_register())?;
            let sig = u64::from(matches!(m, M::Fcomi | M::Fcomip));
            let z = cx.k(0);
            let f = cx.x87(
                op::COMI | (ST << arg::FMT) | (i << arg::SRC) | (sig << arg::KIND),
                z,
                z,
            );
            cx.set_cc_eflags(f);
            if matches!(m, M::Fucomip | M::Fcomip) {
                cx.x87_0(op::POP);
            }
            Some(())
        }
        M::Fucom
        | M::Fucomp
        | M::Fucompp
        | M::Fcom
        | M::Fcomp
        | M::Fcompp
        | M::Ficom
        | M::Ficomp => {
            let int = matches!(m, M::Ficom | M::Ficomp);
            let src = if cx.i.op_count() == 0 {
                let z = cx.k(0);
                Some(((ST << arg::FMT) | (1 << arg::SRC), z, z))
            } else {
                let n = cx.i.op_count() - 1;
                cx.x87_src(n, int)
            };
            src.map(|(f, a, b)| {
                let sig = u64::from(!matches!(m, M::Fucom | M::Fucomp | M::Fucompp));
                cx.x87(op::COM | f | (sig << arg::KIND), a, b);
                let pops = match m {
                    M::Fucomp | M::Fcomp | M::Ficomp => 1,
                    M::Fucompp | M::Fcompp => 2,
                    _ => 0,
                };
                for _ in 0..pops {
                    cx.x87_0(op::POP);
                }
            })
        }
        M::Fcmovb
        | M::Fcmove
        | M::Fcmovbe
        | M::Fcmovu
        | M::Fcmovnb
        | M::Fcmovne
        | M::Fcmovnbe
        | M::Fcmovnu => {
            let cc = match m {
                M::Fcmovb => 2,
                M::Fcmovnb => 3,
                M::Fcmove => 4,
                M::Fcmovne => 5,
                M::Fcmovbe => 6,
                M::Fcmovnbe => 7,
                M::Fcmovu => 10,
                _ => 11,
            };
            let i = sti(cx.i.op1_register())?;
            let c = cx.cond(cc);
            let z = cx.k(0);
            cx.x87(op::CMOV | (i << arg::SRC), c, z);
            Some(())
        }
        _ => return None,
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

fn arith(cx: &mut Cx, m: M) -> Option<()> {
    let kind: u64 = match m {
        M::Fadd | M::Faddp | M::Fiadd => 0,
        M::Fsub | M::Fsubp | M::Fsubr | M::Fsubrp | M::Fisub | M::Fisubr => 1,
        M::Fmul | M::Fmulp | M::Fimul => 2,
        _ => 3,
    };
    let rev = u64::from(matches!(
        m,
        M::Fsubr | M::Fsubrp | M::Fdivr | M::Fdivrp | M::Fisubr | M::Fidivr
    ));
    let int = matches!(
        m,
        M::Fiadd | M::Fisub | M::Fisubr | M::Fimul | M::Fidiv | M::Fidivr
    );
    let pop = matches!(
        m,
        M::Fsubp | M::Faddp | M::Fmulp | M::Fdivp | M::Fsubrp | M::Fdivrp
    );
    let (dst, (f, a, b)) = match cx.i.op_count() {
        0 => {
            let z = cx.k(0);
            (1, (ST << arg::FMT, z, z))
        }
        1 => (0, cx.x87_src(0, int)?),
        _ => {
            let d = match cx.i.op0_kind() {
                OpKind::Register => sti(cx.i.op0_register())?,
                _ => return None,
            };
            (d, cx.x87_src(1, int)?)
        }
    };
    cx.x87(
        op::ARITH | f | (dst << arg::DST) | (kind << arg::KIND) | (rev << arg::REV),
        a,
        b,
    );
    if pop {
        cx.x87_0(op::POP);
    }
    Some(())
}

/// fxsave: FCW, FSW (with TOP), the abridged tag byte, MXCSR, the eight registers in 80-bit
/// form (stack order), the sixteen XMMs, in the SDM's 512-byte layout (instruction and operand
/// pointers zero).
fn fxsave(cx: &mut Cx) -> Option<()> {
    let a = cx.ea();
    save_x87(cx, a);
    save_mxcsr(cx, a);
    save_xmm(cx, a);
    Some(())
}

/// The x87 part of the fxsave image at `a` (bytes 0..24 but MXCSR, 32..160).
fn save_x87(cx: &mut Cx, a: Temp) {
    let cw = cx.b.get_reg(Ty::I64, state::X87_CW);
    cx.store(cw, a, 2);
    let sw = cx.x87_status();
    let a2 = cx.opi(Opcode::Add, a, 2);
    cx.store(sw, a2, 2);
    let z = cx.k(0);
    let ftw = cx.x87_0(op::TAGS | (2 << arg::KIND));
    let a4 = cx.opi(Opcode::Add, a, 4);
    cx.store(ftw, a4, 4);
    let _ = z;
    // FOP, FIP and FDP, only while an exception is pending (ES), as this (AMD) host does:
    // 64-bit pointers for the REX.W forms, else 32-bit offsets and the selectors.
    let es = cx.opi(Opcode::Shr, sw, 7);
    let es = cx.opi(Opcode::And, es, 1);
    let zero = cx.k(0);
    let keep = cx.op(Opcode::Sub, zero, es);
    let (fip, fop) = fip_fop(cx);
    let fdp = cx.b.get_reg(Ty::I64, state::X87_FDP);
    let (fip, fdp) = if wide_image(cx) {
        (fip, fdp)
    } else {
        let f = cx.zext(fip, 4);
        let cs = cx.k(0x33 << 32);
        let f = cx.op(Opcode::Or, f, cs);
        let d = cx.zext(fdp, 4);
        let ds = cx.k(0x2b << 32);
        let d = cx.op(Opcode::Or, d, ds);
        (f, d)
    };
    let fop = cx.op(Opcode::And, fop, keep);
    let fip = cx.op(Opcode::And, fip, keep);
    let fdp = cx.op(Opcode::And, fdp, keep);
    let a6 = cx.opi(Opcode::Add, a, 6);
    cx.store(fop, a6, 2);
    let a8 = cx.opi(Opcode::Add, a, 8);
    cx.store(fip, a8, 8);
    let a16 = cx.opi(Opcode::Add, a, 16);
    cx.store(fdp, a16, 8);
    for i in 0..8u64 {
        let lo = cx.x87_0(op::GET_RAW | (i << arg::SRC));
        let hi = cx.x87_0(op::EXP | (i << arg::SRC));
        let p = cx.opi(Opcode::Add, a, 32 + 16 * i);
        cx.store(lo, p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        cx.store(hi, p8, 8);
    }
}

/// MXCSR and MXCSR_MASK (bytes 24..32).
fn save_mxcsr(cx: &mut Cx, a: Temp) {
    let mx = cx.b.get_reg(Ty::I64, state::MXCSR);
    let a24 = cx.opi(Opcode::Add, a, 24);
    cx.store(mx, a24, 4);
    let mask = cx.k(0xffff);
    let a28 = cx.opi(Opcode::Add, a, 28);
    cx.store(mask, a28, 4);
}

/// The sixteen XMMs (bytes 160..416).
fn save_xmm(cx: &mut Cx, a: Temp) {
    for x in 0..16u8 {
        let lo = cx.b.get_reg(Ty::I64, state::xmm(x));
        let hi = cx.b.get_reg(Ty::I64, state::xmm(x) + 8);
        let p = cx.opi(Opcode::Add, a, 160 + 16 * u64::from(x));
        cx.store(lo, p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        cx.store(hi, p8, 8);
    }
}

fn fxrstor(cx: &mut Cx) -> Option<()> {
    let a = cx.ea();
    load_x87(cx, a);
    let a24 = cx.opi(Opcode::Add, a, 24);
    let mx = cx.load(a24, 4);
    cx.b.set_reg(state::MXCSR, mx);
    load_xmm(cx, a);
    Some(())
}

/// Loads the x87 part of the fxsave image at `a`.
fn load_x87(cx: &mut Cx, a: Temp) {
    let cw = cx.load(a, 2);
    cx.set_x87_cw(cw);
    let a2 = cx.opi(Opcode::Add, a, 2);
    let sw = cx.load(a2, 2);
    let top = cx.opi(Opcode::Shr, sw, 11);
    let top = cx.opi(Opcode::And, top, 7);
    let sw = cx.opi(Opcode::AndN, sw, 0x3800);
    cx.b.set_reg(state::X87_SW, sw);
    cx.b.set_reg(state::X87_TOP, top);
    for i in 0..8u64 {
        let p = cx.opi(Opcode::Add, a, 32 + 16 * i);
        let lo = cx.load(p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        let hi = cx.load(p8, 2);
        cx.x87(op::SET_RAW | (i << arg::SRC), lo, hi);
    }
    let a4 = cx.opi(Opcode::Add, a, 4);
    let ftw = cx.load(a4, 1);
    let z = cx.k(0);
    cx.x87(op::TAGS | (3 << arg::KIND), ftw, z);
    let a6 = cx.opi(Opcode::Add, a, 6);
    let fop = cx.load(a6, 2);
    let n = if wide_image(cx) { 8 } else { 4 };
    let a8 = cx.opi(Opcode::Add, a, 8);
    let fip = cx.load(a8, n);
    let a16 = cx.opi(Opcode::Add, a, 16);
    let fdp = cx.load(a16, n);
    set_fip_fop(cx, fip, fop, fdp);
}

/// Whether the fxsave/xsave-family instruction uses the 64-bit pointer format (REX.W).
fn wide_image(cx: &Cx) -> bool {
    matches!(
        cx.i.mnemonic(),
        M::Fxsave64 | M::Fxrstor64 | M::Xsave64 | M::Xrstor64 | M::Xsaveopt64 | M::Xsavec64
    )
}

/// Loads the sixteen XMMs of the fxsave image at `a`.
fn load_xmm(cx: &mut Cx, a: Temp) {
    for x in 0..16u8 {
        let p = cx.opi(Opcode::Add, a, 160 + 16 * u64::from(x));
        let lo = cx.load(p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        let hi = cx.load(p8, 8);
        cx.b.set_reg(state::xmm(x), lo);
        cx.b.set_reg(state::xmm(x) + 8, hi);
    }
}

/// Raises `code` unless XCR0 is set up (user mode; in system mode XCR0 stays zero, as with
/// CR4.OSXSAVE clear, so the XSAVE instructions are #UD there).
fn need_xcr0(cx: &mut Cx) -> Temp {
    let x = cx.b.get_reg(Ty::I64, crate::cpuid::XCR0);
    let z = cx.k(0);
    let ok = cx.b.label();
    cx.b.branch(Cond::Ne, x, z, ok);
    cx.b.raise(crate::ILLEGAL_INSTRUCTION, cx.pc, Some(z));
    cx.b.set_label(ok);
    x
}

/// #GP unless `v` is zero.
fn gp_unless_zero(cx: &mut Cx, v: Temp) {
    let z = cx.k(0);
    let ok = cx.b.label();
    cx.b.branch(Cond::Eq, v, z, ok);
    cx.b.raise(crate::GENERAL_PROTECTION, cx.pc, Some(z));
    cx.b.set_label(ok);
}

/// Skips to a new label (returned) unless `rfbm & bits` is non-zero.
fn skip_unless(cx: &mut Cx, rfbm: Temp, bits: u64) -> xlat_ir::Label {
    let t = cx.opi(Opcode::And, rfbm, bits);
    let z = cx.k(0);
    let skip = cx.b.label();
    cx.b.branch(Cond::Eq, t, z, skip);
    skip
}

/// xgetbv: XCR0 in edx:eax for ecx = 0, #GP for any other ecx.
fn xgetbv(cx: &mut Cx) -> Option<()> {
    let x = need_xcr0(cx);
    let c = cx.b.get_reg(Ty::I64, state::RCX);
    let c = cx.zext(c, 4);
    gp_unless_zero(cx, c);
    cx.b.set_reg(state::RAX, x);
    let z = cx.k(0);
    cx.b.set_reg(state::RDX, z);
    Some(())
}

/// xsave (standard form, components 0 and 1 of XCR0 = 3): RFBM = edx:eax & XCR0; x87 state
/// if RFBM[0], MXCSR if RFBM[1], the XMMs if RFBM[1], in the fxsave layout; XSTATE_BV bits of
/// RFBM set (XINUSE is reported as 1), the other header bytes untouched. #GP unless 64-byte
/// aligned.
fn xsave(cx: &mut Cx) -> Option<()> {
    let xcr0 = need_xcr0(cx);
    let a = cx.ea();
    let low = cx.opi(Opcode::And, a, 63);
    gp_unless_zero(cx, low);
    let eax = cx.b.get_reg(Ty::I64, state::RAX);
    let rfbm = cx.op(Opcode::And, eax, xcr0);
    let l = skip_unless(cx, rfbm, 1);
    save_x87(cx, a);
    cx.b.set_label(l);
    let l = skip_unless(cx, rfbm, 2);
    save_mxcsr(cx, a);
    save_xmm(cx, a);
    cx.b.set_label(l);
    let h = cx.opi(Opcode::Add, a, 512);
    let bv = cx.load(h, 8);
    let bv = cx.op(Opcode::Or, bv, rfbm);
    cx.store(bv, h, 8);
    Some(())
}

/// xrstor (standard form): #GP unless 64-byte aligned, if XSTATE_BV has bits outside XCR0,
/// if header bytes 8..24 are not zero (compacted form: not supported) or, when RFBM[1], MXCSR
/// has reserved bits. Components in RFBM are loaded when their XSTATE_BV bit is set and
/// initialized otherwise (x87: fninit state with zero registers; SSE: zero XMMs); MXCSR is
/// loaded when RFBM[1].
fn xrstor(cx: &mut Cx) -> Option<()> {
    let xcr0 = need_xcr0(cx);
    let a = cx.ea();
    let low = cx.opi(Opcode::And, a, 63);
    gp_unless_zero(cx, low);
    let h = cx.opi(Opcode::Add, a, 512);
    let bv = cx.load(h, 8);
    let bad = cx.op(Opcode::AndN, bv, xcr0);
    gp_unless_zero(cx, bad);
    let h8 = cx.opi(Opcode::Add, a, 520);
    let c0 = cx.load(h8, 8);
    let h16 = cx.opi(Opcode::Add, a, 528);
    let c1 = cx.load(h16, 8);
    let c = cx.op(Opcode::Or, c0, c1);
    gp_unless_zero(cx, c);
    let eax = cx.b.get_reg(Ty::I64, state::RAX);
    let rfbm = cx.op(Opcode::And, eax, xcr0);
    let load = cx.op(Opcode::And, rfbm, bv);
    // MXCSR first: a reserved bit faults before anything changes.
    let l = skip_unless(cx, rfbm, 2);
    let a24 = cx.opi(Opcode::Add, a, 24);
    let mx = cx.load(a24, 4);
    let res = cx.opi(Opcode::AndN, mx, 0xffff);
    gp_unless_zero(cx, res);
    cx.b.set_reg(state::MXCSR, mx);
    cx.b.set_label(l);
    // x87: loaded, or initialized.
    let (init, done) = (cx.b.label(), cx.b.label());
    let l = skip_unless(cx, rfbm, 1);
    let t = cx.opi(Opcode::And, load, 1);
    let z = cx.k(0);
    cx.b.branch(Cond::Eq, t, z, init);
    load_x87(cx, a);
    cx.b.jump(done);
    cx.b.set_label(init);
    {
        let z = cx.k(0);
        let cw = cx.k(state::X87_CW_DEFAULT);
        cx.b.set_reg(state::X87_CW, cw);
        cx.b.set_reg(state::X87_SW, z);
        cx.b.set_reg(state::X87_TOP, z);
        for i in 0..8u64 {
            cx.x87(op::SET_RAW | (i << arg::SRC), z, z);
        }
        cx.b.set_reg(crate::x87::TAG, z);
    }
    cx.b.set_label(done);
    cx.b.set_label(l);
    // SSE: loaded, or zeroed.
    let (init, done) = (cx.b.label(), cx.b.label());
    let l = skip_unless(cx, rfbm, 2);
    let t = cx.opi(Opcode::And, load, 2);
    let z = cx.k(0);
    cx.b.branch(Cond::Eq, t, z, init);
    load_xmm(cx, a);
    cx.b.jump(done);
    cx.b.set_label(init);
    {
        let z = cx.k(0);
        for x in 0..16u8 {
            cx.b.set_reg(state::xmm(x), z);
            cx.b.set_reg(state::xmm(x) + 8, z);
        }
    }
    cx.b.set_label(done);
    cx.b.set_label(l);
    Some(())
}
