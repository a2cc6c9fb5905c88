//! Pure operations: arithmetic, logic, shifts, bit counts, extensions, compares and selects,
//! with the interpreter's exact rules (division never traps, shift amounts mod width, clz/ctz of
//! 0 give the width, compares on the source type).

use super::{Lower, clif_ty, intcc};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types};
use xlat_ir::{Cond, Inst, Opcode};

impl Lower<'_, '_> {
    /// Lowers a Unary, Binary, Convert, SetCond or Select instruction to its result.
    pub(super) fn gen_pure(&mut self, i: &Inst) -> Value {
        let ty = clif_ty(i.ty);
        let a = self.use_t(i.src[0]);
        match i.op {
            Opcode::ExtU => return self.b.ins().uextend(types::I64, a),
            Opcode::ExtS => return self.b.ins().sextend(types::I64, a),
            Opcode::Trunc => return self.b.ins().ireduce(types::I32, a),
            Opcode::SetCond | Opcode::Select => {
                let c = self.use_t(i.src[1]);
                let cond = Cond::from_u32(i.aux).unwrap_or(Cond::Eq);
                let f = self.b.ins().icmp(intcc(cond), a, c);
                if i.op == Opcode::SetCond {
                    return self.b.ins().uextend(ty, f);
                }
                let (t, e) = (self.use_t(i.src[2]), self.use_t(i.src[3]));
                return self.b.ins().select(f, t, e);
            }
            _ => {}
        }
        if i.op.format() == xlat_ir::Format::Unary {
            return self.gen_unary(i.op, ty, a);
        }
        let c = self.use_t(i.src[1]);
        self.gen_binary(i.op, ty, a, c)
    }

    fn gen_unary(&mut self, op: Opcode, ty: cranelift_codegen::ir::Type, a: Value) -> Value {
        let ins = self.b.ins();
        match op {
            Opcode::Mov => a,
            Opcode::Neg => ins.ineg(a),
            Opcode::Not => ins.bnot(a),
            Opcode::Clz => ins.clz(a),
            Opcode::Ctz => ins.ctz(a),
            Opcode::Popcnt => ins.popcnt(a),
            Opcode::Bswap => ins.bswap(a),
            Opcode::Sext8 | Opcode::Sext16 | Opcode::Sext32 => {
                let narrow = match op {
                    Opcode::Sext8 => types::I8,
                    Opcode::Sext16 => types::I16,
                    _ => types::I32,
                };
                if narrow == ty {
                    return a;
                }
                let n = self.b.ins().ireduce(narrow, a);
                self.b.ins().sextend(ty, n)
            }
            Opcode::Zext8 => self.b.ins().band_imm_s(a, 0xff),
            Opcode::Zext16 => self.b.ins().band_imm_s(a, 0xffff),
            Opcode::Zext32 => {
                if ty == types::I32 {
                    return a;
                }
                let n = self.b.ins().ireduce(types::I32, a);
                self.b.ins().uextend(ty, n)
            }
            _ => unreachable!("{op:?} is not unary"),
        }
    }

    fn gen_binary(
        &mut self,
        op: Opcode,
        ty: cranelift_codegen::ir::Type,
        a: Value,
        c: Value,
    ) -> Value {
        let ins = self.b.ins();
        match op {
            Opcode::Add => ins.iadd(a, c),
            Opcode::Sub => ins.isub(a, c),
            Opcode::Mul => ins.imul(a, c),
            Opcode::MulHs => ins.smulhi(a, c),
            Opcode::MulHu => ins.umulhi(a, c),
            Opcode::MulHsu => {
                // signed a × unsigned c, high half = umulhi(a, c) − (a < 0 ? c : 0)
                let hi = ins.umulhi(a, c);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, a, 0);
                let zero = self.konst(ty, 0);
                let corr = self.b.ins().select(neg, c, zero);
                self.b.ins().isub(hi, corr)
            }
            Opcode::DivS | Opcode::RemS => self.gen_sdiv(op, ty, a, c),
            Opcode::DivU | Opcode::RemU => {
                // A branch (predicted, the zero case is cold) costs less than selects around
                // the division: x / 0 = all ones, x % 0 = x.
                let div = self.b.create_block();
                let by_zero = self.b.create_block();
                let join = self.b.create_block();
                let v = self.b.append_block_param(join, ty);
                self.b.set_cold_block(by_zero);
                self.b.ins().brif(c, div, &[], by_zero, &[]);
                self.b.switch_to_block(div);
                let r = if op == Opcode::DivU {
                    self.b.ins().udiv(a, c)
                } else {
                    self.b.ins().urem(a, c)
                };
                self.b.ins().jump(join, &[r.into()]);
                self.b.switch_to_block(by_zero);
                let special = if op == Opcode::DivU {
                    self.konst(ty, u64::MAX)
                } else {
                    a
                };
                self.b.ins().jump(join, &[special.into()]);
                self.b.switch_to_block(join);
                v
            }
            Opcode::And => ins.band(a, c),
            Opcode::Or => ins.bor(a, c),
            Opcode::Xor => ins.bxor(a, c),
            Opcode::AndN => ins.band_not(a, c),
            Opcode::OrN => ins.bor_not(a, c),
            Opcode::XorN => ins.bxor_not(a, c),
            // Cranelift shifts and rotates take the amount modulo the width, like the IR.
            Opcode::Shl => ins.ishl(a, c),
            Opcode::Shr => ins.ushr(a, c),
            Opcode::Sar => ins.sshr(a, c),
            Opcode::Rotl => ins.rotl(a, c),
            Opcode::Rotr => ins.rotr(a, c),
            Opcode::MinS => ins.smin(a, c),
            Opcode::MinU => ins.umin(a, c),
            Opcode::MaxS => ins.smax(a, c),
            Opcode::MaxU => ins.umax(a, c),
            _ => unreachable!("{op:?} is not binary"),
        }
    }

    /// Signed division and remainder without traps: x / 0 = -1, x % 0 = x, MIN / -1 = MIN,
    /// MIN % -1 = 0. The divisor is replaced by 1 in both special cases, which gives MIN and 0
    /// for the overflow case directly.
    fn gen_sdiv(
        &mut self,
        op: Opcode,
        ty: cranelift_codegen::ir::Type,
        a: Value,
        c: Value,
    ) -> Value {
        let min = if ty == types::I32 {
            0x8000_0000u64
        } else {
            1u64 << 63
        };
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, c, 0);
        let m1 = self.konst(ty, u64::MAX);
        let is_m1 = self.b.ins().icmp(IntCC::Equal, c, m1);
        let kmin = self.konst(ty, min);
        let is_min = self.b.ins().icmp(IntCC::Equal, a, kmin);
        let ovf = self.b.ins().band(is_m1, is_min);
        let bad = self.b.ins().bor(zero, ovf);
        let one = self.konst(ty, 1);
        let safe = self.b.ins().select(bad, one, c);
        if op == Opcode::DivS {
            let q = self.b.ins().sdiv(a, safe);
            self.b.ins().select(zero, m1, q)
        } else {
            let r = self.b.ins().srem(a, safe);
            self.b.ins().select(zero, a, r)
        }
    }
}
