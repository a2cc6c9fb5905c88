//! Lifting x87 instructions onto the double-based stack machine in [`crate::x87`].

use super::{Cx, Flow};
use crate::x87::op;
use crate::{helpers, state};
use iced_x86::{Mnemonic as M, OpKind, Register};
use xlat_ir::{Opcode, Temp, Ty};

fn sti(r: Register) -> Option<u64> {
    let n = (r as u32).wrapping_sub(Register::ST0 as u32);
    (n < 8).then_some(u64::from(n))
}

impl Cx {
    fn x87(&mut self, o: u64, a: Temp, b: Temp) -> Temp {
        let k = self.k(o);
        self.b.call(&helpers::H_X87, &[k, a, b])
    }

    fn x87k(&mut self, o: u64, a: u64, b: Temp) -> Temp {
        let a = self.k(a);
        self.x87(o, a, b)
    }

    fn conv(&mut self, kind: u64, v: Temp) -> Temp {
        let k = self.k(kind);
        self.b.call(&helpers::H_CONV, &[k, v])
    }

    /// Operand `n` as double bits: st(i) or a float in memory (4, 8 or 10 bytes).
    fn fval(&mut self, n: u32) -> Option<Temp> {
        match self.i.op_kind(n) {
            OpKind::Register => {
                let i = sti(self.i.op_register(n))?;
                let z = self.k(0);
                Some(self.x87k(op::GET, i, z))
            }
            OpKind::Memory => {
                let a = self.ea();
                Some(match self.i.memory_size().size() {
                    4 => {
                        let v = self.load(a, 4);
                        self.conv(0, v)
                    }
                    8 => self.load(a, 8),
                    10 => {
                        let lo = self.load(a, 8);
                        let a8 = self.opi(Opcode::Add, a, 8);
                        let hi = self.load(a8, 2);
                        self.b.call(&helpers::H_FROM80, &[lo, hi])
                    }
                    _ => return None,
                })
            }
            _ => None,
        }
    }

    /// Stores double bits `v` to the memory operand in its format.
    fn fstore(&mut self, v: Temp) -> Option<()> {
        let a = self.ea();
        match self.i.memory_size().size() {
            4 => {
                let f = self.conv(1, v);
                self.store(f, a, 4);
            }
            8 => self.store(v, a, 8),
            10 => {
                let z = self.k(0);
                let one = self.k(1);
                let lo = self.b.call(&helpers::H_TO80, &[v, z]);
                let hi = self.b.call(&helpers::H_TO80, &[v, one]);
                self.store(lo, a, 8);
                let a8 = self.opi(Opcode::Add, a, 8);
                self.store(hi, a8, 2);
            }
            _ => return None,
        }
        Some(())
    }
}

/// Lifts `cx.i` if it is an x87 instruction.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let z = cx.k(0);
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
            cx.b.set_reg(state::X87_CW, v);
            Some(())
        }
        M::Fnstsw | M::Fstsw => {
            let sw = cx.b.get_reg(Ty::I64, state::X87_SW);
            let t = cx.b.get_reg(Ty::I64, state::X87_TOP);
            let t = cx.opi(Opcode::Shl, t, 11);
            let v = cx.op(Opcode::Or, sw, t);
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
            let cw = cx.k(state::X87_CW_DEFAULT);
            cx.b.set_reg(state::X87_CW, cw);
            cx.b.set_reg(state::X87_SW, z);
            cx.b.set_reg(state::X87_TOP, z);
            Some(())
        }
        M::Wait | M::Fnclex | M::Fclex => Some(()),
        M::Fxsave | M::Fxsave64 => fxsave(cx),
        M::Fnstenv | M::Fstenv => {
            // The 28-byte protected-mode environment: control, status, tag (all empty
            // tags: the stack is not tracked), pointers zero.
            let a = cx.ea();
            let cw = cx.b.get_reg(Ty::I64, state::X87_CW);
            let sw = cx.b.get_reg(Ty::I64, state::X87_SW);
            let t = cx.b.get_reg(Ty::I64, state::X87_TOP);
            let t = cx.opi(Opcode::Shl, t, 11);
            let sw = cx.op(Opcode::Or, sw, t);
            let tag = cx.k(0xffff);
            for (off, v) in [(0, cw), (4, sw), (8, tag)] {
                let p = cx.opi(Opcode::Add, a, off);
                cx.store(v, p, 4);
            }
            for off in [12u64, 16, 20, 24] {
                let p = cx.opi(Opcode::Add, a, off);
                cx.store(z, p, 4);
            }
            Some(())
        }
        M::Fldenv => {
            let a = cx.ea();
            let cw = cx.load(a, 2);
            cx.b.set_reg(state::X87_CW, cw);
            let p = cx.opi(Opcode::Add, a, 4);
            let sw = cx.load(p, 2);
            let top = cx.opi(Opcode::Shr, sw, 11);
            let top = cx.opi(Opcode::And, top, 7);
            let sw = cx.opi(Opcode::AndN, sw, 0x3800);
            cx.b.set_reg(state::X87_SW, sw);
            cx.b.set_reg(state::X87_TOP, top);
            Some(())
        }
        M::Fxrstor | M::Fxrstor64 => fxrstor(cx),
        M::Fld => cx.fval(0).map(|v| {
            cx.x87(op::PUSH, v, z);
        }),
        M::Fldz | M::Fld1 => {
            let v = cx.k(if m == M::Fld1 { 1f64.to_bits() } else { 0 });
            cx.x87(op::PUSH, v, z);
            Some(())
        }
        M::Fild => {
            let a = cx.ea();
            let bytes = cx.i.memory_size().size() as u32;
            let v = cx.load(a, bytes);
            let kind = match bytes {
                2 => 2,
                4 => 3,
                _ => 4,
            };
            let f = cx.conv(kind, v);
            cx.x87(op::PUSH, f, z);
            Some(())
        }
        M::Fst | M::Fstp => {
            let v = cx.x87k(op::GET, 0, z);
            let ok = match cx.i.op0_kind() {
                OpKind::Register => sti(cx.i.op0_register()).map(|i| {
                    cx.x87k(op::SET, i, v);
                }),
                _ => cx.fstore(v),
            };
            if m == M::Fstp {
                cx.x87(op::POP, z, z);
            }
            ok
        }
        M::Fist | M::Fistp | M::Fisttp => {
            let bytes = cx.i.memory_size().size() as u64;
            let trunc = u64::from(m == M::Fisttp) << 8;
            let v = cx.x87k(op::TO_INT, bytes | trunc, z);
            let a = cx.ea();
            cx.store(v, a, bytes as u32);
            if m != M::Fist {
                cx.x87(op::POP, z, z);
            }
            Some(())
        }
        M::Fxch => {
            let i = if cx.i.op_count() == 0 {
                1
            } else {
                sti(cx.i.op1_register())?
            };
            cx.x87k(op::XCH, i, z);
            Some(())
        }
        M::Fchs | M::Fabs | M::Fsqrt | M::Frndint => {
            let k = match m {
                M::Fchs => 0,
                M::Fabs => 1,
                M::Fsqrt => 2,
                _ => 3,
            };
            cx.x87k(op::UNARY, k, z);
            Some(())
        }
        M::Fadd
        | M::Faddp
        | M::Fsub
        | M::Fsubp
        | M::Fsubr
        | M::Fsubrp
        | M::Fmul
        | M::Fmulp
        | M::Fdiv
        | M::Fdivp
        | M::Fdivr
        | M::Fdivrp => arith(cx, m),
        M::Fucomi | M::Fcomi | M::Fucomip | M::Fcomip => {
            let i = sti(cx.i.op1_register())?;
            let v = cx.x87k(op::GET, i, z);
            let f = cx.x87(op::COMI, z, v);
            cx.set_cc_eflags(f);
            if matches!(m, M::Fucomip | M::Fcomip) {
                cx.x87(op::POP, z, z);
            }
            Some(())
        }
        M::Fucom | M::Fucomp | M::Fucompp | M::Fcom | M::Fcomp | M::Fcompp | M::Ftst => {
            let v = if m == M::Ftst {
                Some(z)
            } else if cx.i.op_count() == 0 {
                Some(cx.x87k(op::GET, 1, z))
            } else {
                let n = cx.i.op_count() - 1;
                cx.fval(n)
            };
            v.map(|v| {
                cx.x87(op::COM_SW, z, v);
                let pops = match m {
                    M::Fucomp | M::Fcomp => 1,
                    M::Fucompp | M::Fcompp => 2,
                    _ => 0,
                };
                for _ in 0..pops {
                    cx.x87(op::POP, z, z);
                }
            })
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
    let kind = match m {
        M::Fadd | M::Faddp => 0,
        M::Fsub | M::Fsubp | M::Fsubr | M::Fsubrp => 1,
        M::Fmul | M::Fmulp => 2,
        _ => 3,
    };
    let rev = u64::from(matches!(m, M::Fsubr | M::Fsubrp | M::Fdivr | M::Fdivrp));
    let pop = matches!(
        m,
        M::Fsubp | M::Faddp | M::Fmulp | M::Fdivp | M::Fsubrp | M::Fdivrp
    );
    let z = cx.k(0);
    let (dst, src) = match cx.i.op_count() {
        0 => (1, cx.x87k(op::GET, 0, z)),
        1 => (0, cx.fval(0)?),
        _ => {
            let d = match cx.i.op0_kind() {
                OpKind::Register => sti(cx.i.op0_register())?,
                _ => return None,
            };
            (d, cx.fval(1)?)
        }
    };
    cx.x87k(op::ARITH, kind | (rev << 4) | (dst << 8), src);
    if pop {
        cx.x87(op::POP, z, z);
    }
    Some(())
}

/// fxsave: FCW, FSW (with TOP), MXCSR, the eight registers in 80-bit form (stack order), the
/// sixteen XMMs, in the SDM's 512-byte layout (tag and instruction pointers zero).
fn fxsave(cx: &mut Cx) -> Option<()> {
    let a = cx.ea();
    let cw = cx.b.get_reg(Ty::I64, state::X87_CW);
    cx.store(cw, a, 2);
    let sw = cx.b.get_reg(Ty::I64, state::X87_SW);
    let t = cx.b.get_reg(Ty::I64, state::X87_TOP);
    let t = cx.opi(Opcode::Shl, t, 11);
    let sw = cx.op(Opcode::Or, sw, t);
    let a2 = cx.opi(Opcode::Add, a, 2);
    cx.store(sw, a2, 2);
    let z = cx.k(0);
    let a4 = cx.opi(Opcode::Add, a, 4);
    cx.store(z, a4, 4);
    let a8 = cx.opi(Opcode::Add, a, 8);
    cx.store(z, a8, 8);
    let a16 = cx.opi(Opcode::Add, a, 16);
    cx.store(z, a16, 8);
    let mx = cx.b.get_reg(Ty::I64, state::MXCSR);
    let a24 = cx.opi(Opcode::Add, a, 24);
    cx.store(mx, a24, 4);
    let mask = cx.k(0xffff);
    let a28 = cx.opi(Opcode::Add, a, 28);
    cx.store(mask, a28, 4);
    let one = cx.k(1);
    for i in 0..8u64 {
        let v = cx.x87k(op::GET, i, z);
        let lo = cx.b.call(&helpers::H_TO80, &[v, z]);
        let hi = cx.b.call(&helpers::H_TO80, &[v, one]);
        let p = cx.opi(Opcode::Add, a, 32 + 16 * i);
        cx.store(lo, p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        cx.store(hi, p8, 8);
    }
    for x in 0..16u8 {
        let lo = cx.b.get_reg(Ty::I64, state::xmm(x));
        let hi = cx.b.get_reg(Ty::I64, state::xmm(x) + 8);
        let p = cx.opi(Opcode::Add, a, 160 + 16 * u64::from(x));
        cx.store(lo, p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        cx.store(hi, p8, 8);
    }
    Some(())
}

fn fxrstor(cx: &mut Cx) -> Option<()> {
    let a = cx.ea();
    let cw = cx.load(a, 2);
    cx.b.set_reg(state::X87_CW, cw);
    let a2 = cx.opi(Opcode::Add, a, 2);
    let sw = cx.load(a2, 2);
    let top = cx.opi(Opcode::Shr, sw, 11);
    let top = cx.opi(Opcode::And, top, 7);
    let sw = cx.opi(Opcode::AndN, sw, 0x3800);
    cx.b.set_reg(state::X87_SW, sw);
    cx.b.set_reg(state::X87_TOP, top);
    let a24 = cx.opi(Opcode::Add, a, 24);
    let mx = cx.load(a24, 4);
    cx.b.set_reg(state::MXCSR, mx);
    for i in 0..8u64 {
        let p = cx.opi(Opcode::Add, a, 32 + 16 * i);
        let lo = cx.load(p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        let hi = cx.load(p8, 2);
        let v = cx.b.call(&helpers::H_FROM80, &[lo, hi]);
        cx.x87k(op::SET, i, v);
    }
    for x in 0..16u8 {
        let p = cx.opi(Opcode::Add, a, 160 + 16 * u64::from(x));
        let lo = cx.load(p, 8);
        let p8 = cx.opi(Opcode::Add, p, 8);
        let hi = cx.load(p8, 8);
        cx.b.set_reg(state::xmm(x), lo);
        cx.b.set_reg(state::xmm(x) + 8, hi);
    }
    Some(())
}
