//! General-purpose integer instructions: moves, ALU ops with flags, shifts, multiplies and
//! divides, bit operations, exchanges (lock-prefixed forms as atomics).

use super::{Cx, Flow};
use crate::flags::{self, mask};
use crate::{helpers, state};
use iced_x86::{Mnemonic as M, OpKind, Register};
use xlat_ir::{AtomicOp, Cond, Opcode, Temp, Ty};

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let r = match m {
        M::Mov | M::Movnti
            if !(0..cx.i.op_count())
                .any(|n| cx.i.op_kind(n) == OpKind::Register && !cx.i.op_register(n).is_gpr()) =>
        {
            mov(cx)
        }
        M::Movzx | M::Movsx | M::Movsxd => movx(cx, m != M::Movzx),
        M::Lea => lea(cx),
        M::Add | M::Sub | M::Cmp | M::And | M::Or | M::Xor | M::Test | M::Adc | M::Sbb => {
            alu(cx, m)
        }
        M::Inc | M::Dec | M::Neg | M::Not => unary(cx, m),
        M::Shl | M::Sal | M::Shr | M::Sar => shift(cx, m),
        M::Rol | M::Ror => rotate(cx, m == M::Rol),
        M::Rcl | M::Rcr => rotate_carry(cx, m == M::Rcl),
        M::Shld | M::Shrd => double_shift(cx, m == M::Shrd),
        M::Imul if cx.i.op_count() >= 2 => imul2(cx),
        M::Mul | M::Imul => mul1(cx, m == M::Imul),
        M::Div | M::Idiv => div(cx, m == M::Idiv),
        M::Cbw | M::Cwde | M::Cdqe => widen(cx),
        M::Cwd | M::Cdq | M::Cqo => sign_to_dx(cx),
        M::Xchg => xchg(cx),
        M::Xadd => xadd(cx),
        M::Cmpxchg => cmpxchg(cx),
        M::Bswap => {
            let r = cx.i.op0_register();
            let bytes = r.size() as u32;
            let v = cx.get_gpr(r);
            let s = cx.b.unop(Opcode::Bswap, v);
            let s = if bytes == 4 {
                cx.opi(Opcode::Shr, s, 32)
            } else {
                s
            };
            cx.set_gpr(r, s);
            Some(())
        }
        M::Bt | M::Bts | M::Btr | M::Btc => bt(cx, m),
        M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt | M::Popcnt => bitscan(cx, m),
        M::Setae
        | M::Seta
        | M::Setb
        | M::Setbe
        | M::Sete
        | M::Setg
        | M::Setge
        | M::Setl
        | M::Setle
        | M::Setne
        | M::Setno
        | M::Setnp
        | M::Setns
        | M::Seto
        | M::Setp
        | M::Sets => {
            let c = cx.cond(cc_of(cx)?);
            let a = cx.mem_addr();
            cx.write(0, a, c, 1)
        }
        M::Cmove
        | M::Cmovne
        | M::Cmova
        | M::Cmovae
        | M::Cmovb
        | M::Cmovbe
        | M::Cmovg
        | M::Cmovge
        | M::Cmovl
        | M::Cmovle
        | M::Cmovno
        | M::Cmovnp
        | M::Cmovns
        | M::Cmovo
        | M::Cmovp
        | M::Cmovs => cmov(cx),
        // The reserved-nop space (0F 0D, 0F 18..1F with any ModRM) is nop on every x86-64.
        M::Nop
        | M::Reservednop
        | M::Endbr64
        | M::Pause
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2
        | M::Prefetchw
        | M::Lfence
        | M::Sfence => Some(()),
        M::Mfence => {
            cx.b.fence();
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

pub(super) fn cc_of(cx: &Cx) -> Option<u64> {
    use iced_x86::ConditionCode as C;
    Some(match cx.i.condition_code() {
        C::o => 0,
        C::no => 1,
        C::b => 2,
        C::ae => 3,
        C::e => 4,
        C::ne => 5,
        C::be => 6,
        C::a => 7,
        C::s => 8,
        C::ns => 9,
        C::p => 10,
        C::np => 11,
        C::l => 12,
        C::ge => 13,
        C::le => 14,
        C::g => 15,
        C::None => return None,
    })
}

fn mov(cx: &mut Cx) -> Option<()> {
    if cx.i.op0_kind() == OpKind::Register && !cx.i.op0_register().is_gpr() {
        return None;
    }
    if cx.i.op_count() > 1 && cx.i.op1_kind() == OpKind::Register && !cx.i.op1_register().is_gpr() {
        return None;
    }
    let bytes = cx.opsize(0).max(cx.opsize(1));
    let a = cx.mem_addr();
    let v = cx.read(1, a, bytes)?;
    cx.write(0, a, v, bytes)
}

fn movx(cx: &mut Cx, signed: bool) -> Option<()> {
    let dst = cx.i.op0_register();
    let sb = cx.opsize(1);
    let a = cx.mem_addr();
    let v = cx.read(1, a, sb)?;
    let v = if signed { cx.sext(v, sb) } else { v };
    cx.set_gpr(dst, v);
    Some(())
}

fn lea(cx: &mut Cx) -> Option<()> {
    let a = cx.ea_no_segment();
    cx.set_gpr(cx.i.op0_register(), a);
    Some(())
}

impl Cx {
    /// The effective address without a segment base (lea).
    pub fn ea_no_segment(&mut self) -> Temp {
        let saved = self.i;
        self.i.set_segment_prefix(Register::None);
        let a = self.ea();
        self.i = saved;
        a
    }
}

fn atomic_op(m: M) -> Option<AtomicOp> {
    Some(match m {
        M::Add | M::Sub => AtomicOp::Add,
        M::And => AtomicOp::And,
        M::Or => AtomicOp::Or,
        M::Xor => AtomicOp::Xor,
        _ => return None,
    })
}

fn alu(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let s2 = cx.read(1, a, bytes)?;
    let locked = cx.i.has_lock_prefix() && cx.i.op0_kind() == OpKind::Memory;
    if locked && let (Some(op), Some(addr)) = (atomic_op(m), a) {
        let v = if m == M::Sub {
            cx.b.unop(Opcode::Neg, s2)
        } else {
            s2
        };
        let s1 = cx.atomic_rmw(op, addr, v, bytes);
        let s1 = cx.zext(s1, bytes);
        let d = alu_value(cx, m, s1, s2, bytes);
        alu_flags(cx, m, d, s1, s2, bytes);
        return Some(());
    }
    if locked {
        return None;
    }
    let same = cx.i.op0_kind() == OpKind::Register
        && cx.i.op1_kind() == OpKind::Register
        && cx.i.op0_register() == cx.i.op1_register();
    let s1 = if same { s2 } else { cx.read(0, a, bytes)? };
    let carry = if matches!(m, M::Adc | M::Sbb) {
        Some(cx.carry())
    } else {
        None
    };
    let mut d = alu_value(cx, m, s1, s2, bytes);
    if let Some(c) = carry {
        let op = if m == M::Adc {
            Opcode::Add
        } else {
            Opcode::Sub
        };
        d = cx.op(op, d, c);
        d = cx.zext(d, bytes);
    }
    alu_flags(cx, m, d, s1, s2, bytes);
    if !matches!(m, M::Cmp | M::Test) {
        cx.write(0, a, d, bytes)?;
    }
    Some(())
}

fn alu_value(cx: &mut Cx, m: M, s1: Temp, s2: Temp, bytes: u32) -> Temp {
    let op = match m {
        M::Add | M::Adc => Opcode::Add,
        M::Sub | M::Cmp | M::Sbb => Opcode::Sub,
        M::And | M::Test => Opcode::And,
        M::Or => Opcode::Or,
        _ => Opcode::Xor,
    };
    // Both operands are zero-extended from `bytes` (registers, loads, masked immediates), so
    // bitwise results are too; `test r, r` / `and r, r` / `or r, r` give the operand.
    if matches!(op, Opcode::And | Opcode::Or) && s1 == s2 {
        return s1;
    }
    let d = cx.op(op, s1, s2);
    if matches!(op, Opcode::And | Opcode::Or | Opcode::Xor) {
        return d;
    }
    cx.zext(d, bytes)
}

fn alu_flags(cx: &mut Cx, m: M, d: Temp, s1: Temp, s2: Temp, bytes: u32) {
    let kind = match m {
        M::Add => flags::ADD,
        M::Adc => flags::ADC,
        M::Sub | M::Cmp => flags::SUB,
        M::Sbb => flags::SBB,
        _ => flags::LOGIC,
    };
    cx.set_cc(kind, bytes, d, s1, s2);
}

fn unary(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    if cx.i.has_lock_prefix() {
        let addr = a?;
        let (d, s1) = match m {
            M::Inc | M::Dec => {
                let one = cx.k(if m == M::Inc { 1 } else { mask(bytes) });
                let old = cx.atomic_rmw(AtomicOp::Add, addr, one, bytes);
                let old = cx.zext(old, bytes);
                let d = cx.op(Opcode::Add, old, one);
                (cx.zext(d, bytes), old)
            }
            M::Not => {
                let ones = cx.k(mask(bytes));
                cx.atomic_rmw(AtomicOp::Xor, addr, ones, bytes);
                return Some(());
            }
            _ => return None,
        };
        let cf = cx.carry();
        let kind = if m == M::Inc { flags::INC } else { flags::DEC };
        cx.set_cc(kind, bytes, d, s1, cf);
        return Some(());
    }
    let s1 = cx.read(0, a, bytes)?;
    let d = match m {
        M::Inc => cx.opi(Opcode::Add, s1, 1),
        M::Dec => cx.opi(Opcode::Sub, s1, 1),
        M::Neg => cx.b.unop(Opcode::Neg, s1),
        _ => cx.b.unop(Opcode::Not, s1),
    };
    let d = cx.zext(d, bytes);
    match m {
        _ if cx.flags_dead => {}
        M::Inc | M::Dec => {
            let cf = cx.carry();
            let kind = if m == M::Inc { flags::INC } else { flags::DEC };
            cx.set_cc(kind, bytes, d, s1, cf);
        }
        M::Neg => {
            let z = cx.k(0);
            cx.set_cc(flags::SUB, bytes, d, z, s1);
        }
        _ => {}
    }
    cx.write(0, a, d, bytes)
}

/// The masked shift/rotate count of operand 1.
fn count(cx: &mut Cx, bytes: u32) -> Option<Temp> {
    let c = match cx.i.op1_kind() {
        OpKind::Register => cx.get_gpr(cx.i.op1_register()),
        _ => cx.k(cx.i.try_immediate(1).ok()?),
    };
    Some(cx.opi(Opcode::And, c, if bytes == 8 { 63 } else { 31 }))
}

/// Keeps the old lazy flags when `cnt` is zero (shifts by 0 change nothing).
fn set_cc_unless_zero(cx: &mut Cx, cnt: Temp, kind: u64, bytes: u32, d: Temp, s1: Temp) {
    let z = cx.k(0);
    let op = cx.k(flags::cc_op(kind, bytes));
    let words = [
        (state::CC_OP, op),
        (state::CC_DST, d),
        (state::CC_SRC1, s1),
        (state::CC_SRC2, cnt),
    ];
    for (off, new) in words {
        let old = cx.b.get_reg(Ty::I64, off);
        let v = cx.b.select(Cond::Eq, cnt, z, old, new);
        cx.b.set_reg(off, v);
    }
    cx.known = None;
}

fn shift(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let s1 = cx.read(0, a, bytes)?;
    let cnt = count(cx, bytes)?;
    let (op, kind, v) = match m {
        M::Shl | M::Sal => (Opcode::Shl, flags::SHL, s1),
        M::Shr => (Opcode::Shr, flags::SHR, s1),
        _ => (Opcode::Sar, flags::SAR, cx.sext(s1, bytes)),
    };
    let d = cx.op(op, v, cnt);
    let d = cx.zext(d, bytes);
    if !cx.flags_dead {
        set_cc_unless_zero(cx, cnt, kind, bytes, d, s1);
    }
    cx.write(0, a, d, bytes)
}

/// rcl/rcr: rotates through CF (helpers; a masked count of 0 leaves the flags alone).
fn rotate_carry(cx: &mut Cx, left: bool) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let s1 = cx.read(0, a, bytes)?;
    let cnt = count(cx, bytes)?;
    let f = cx.eflags();
    let sz = cx.k(u64::from(bytes));
    let dir = cx.k(u64::from(left));
    let packed = cx.opi(Opcode::Shl, cnt, 8);
    let packed = cx.op(Opcode::Or, packed, sz);
    let d = cx.b.call(&helpers::H_RCX, &[s1, packed, dir, f]);
    if !cx.flags_dead {
        let nf = cx.b.call(&helpers::H_RCX_FLAGS, &[s1, packed, dir, f]);
        cx.set_cc_eflags(nf);
    }
    cx.write(0, a, d, bytes)
}

fn rotate(cx: &mut Cx, left: bool) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let s1 = cx.read(0, a, bytes)?;
    let bits = u64::from(bytes) * 8;
    if bytes >= 4
        && cx.i.op1_kind() != OpKind::Register
        && let Ok(imm) = cx.i.try_immediate(1)
        && imm & (bits - 1) != 0
    {
        // A constant 32/64-bit rotate (gcc's hash and crypto idioms): inline, with CF and OF
        // from the result as the helpers compute them.
        let n = imm & (bits - 1);
        let v = cx.zext(s1, bytes);
        let (x, y) = if left {
            (cx.opi(Opcode::Shl, v, n), cx.opi(Opcode::Shr, v, bits - n))
        } else {
            (cx.opi(Opcode::Shr, v, n), cx.opi(Opcode::Shl, v, bits - n))
        };
        let d = cx.op(Opcode::Or, x, y);
        let d = cx.zext(d, bytes);
        if cx.flags_dead {
            return cx.write(0, a, d, bytes);
        }
        let msb = cx.opi(Opcode::Shr, d, bits - 1);
        let (cf, other) = if left {
            (cx.opi(Opcode::And, d, 1), msb)
        } else {
            let b2 = cx.opi(Opcode::Shr, d, bits - 2);
            (msb, cx.opi(Opcode::And, b2, 1))
        };
        let of = cx.op(
            Opcode::Xor,
            if left { msb } else { other },
            if left { cf } else { msb },
        );
        let f = cx.eflags();
        let f = cx.opi(Opcode::AndN, f, flags::CF | flags::OF);
        let f = cx.op(Opcode::Or, f, cf);
        let of = cx.opi(Opcode::Shl, of, 11);
        let nf = cx.op(Opcode::Or, f, of);
        cx.set_cc_eflags(nf);
        return cx.write(0, a, d, bytes);
    }
    let cnt = count(cx, bytes)?;
    if cx.flags_dead {
        let sz = cx.k(u64::from(bytes));
        let dir = cx.k(u64::from(left));
        let packed = cx.opi(Opcode::Shl, cnt, 8);
        let packed = cx.op(Opcode::Or, packed, sz);
        let d = cx.b.call(&helpers::H_ROTATE, &[s1, packed, dir]);
        return cx.write(0, a, d, bytes);
    }
    let f = cx.eflags();
    let sz = cx.k(u64::from(bytes));
    let dir = cx.k(u64::from(left));
    let packed = cx.opi(Opcode::Shl, cnt, 8);
    let packed = cx.op(Opcode::Or, packed, sz);
    let d = cx.b.call(&helpers::H_ROTATE, &[s1, packed, dir]);
    let nf = cx.b.call(&helpers::H_ROTATE_FLAGS, &[s1, packed, dir, f]);
    cx.set_cc_eflags(nf);
    cx.write(0, a, d, bytes)
}

fn imul2(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let (x, y) = if cx.i.op_count() == 3 {
        (cx.read(1, a, bytes)?, cx.read(2, a, bytes)?)
    } else {
        (cx.read(0, a, bytes)?, cx.read(1, a, bytes)?)
    };
    let (sx, sy) = (cx.sext(x, bytes), cx.sext(y, bytes));
    let lo = cx.op(Opcode::Mul, sx, sy);
    let d = cx.zext(lo, bytes);
    let ovf = imul_overflow(cx, sx, sy, lo, bytes);
    cx.set_cc(flags::MUL, bytes, d, ovf, ovf);
    cx.set_gpr(cx.i.op0_register(), d);
    Some(())
}

/// 1 if the signed product of `sx`, `sy` (sign-extended) does not fit `bytes`.
fn imul_overflow(cx: &mut Cx, sx: Temp, sy: Temp, lo: Temp, bytes: u32) -> Temp {
    if bytes == 8 {
        let hi = cx.op(Opcode::MulHs, sx, sy);
        let sign = cx.opi(Opcode::Sar, lo, 63);
        cx.b.setcond(Cond::Ne, hi, sign)
    } else {
        let t = cx.sext(lo, bytes);
        cx.b.setcond(Cond::Ne, t, lo)
    }
}

fn mul1(cx: &mut Cx, signed: bool) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let y = cx.read(0, a, bytes)?;
    let al = match bytes {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    };
    let x = cx.get_gpr(al);
    let (x, y) = if signed {
        (cx.sext(x, bytes), cx.sext(y, bytes))
    } else {
        (x, y)
    };
    let lo = cx.op(Opcode::Mul, x, y);
    let bits = u64::from(bytes) * 8;
    let hi = if bytes == 8 {
        cx.op(if signed { Opcode::MulHs } else { Opcode::MulHu }, x, y)
    } else {
        let h = cx.opi(if signed { Opcode::Sar } else { Opcode::Shr }, lo, bits);
        cx.zext(h, bytes)
    };
    let d = cx.zext(lo, bytes);
    let ovf = if signed {
        imul_overflow(cx, x, y, lo, bytes)
    } else {
        let z = cx.k(0);
        cx.b.setcond(Cond::Ne, hi, z)
    };
    cx.set_cc(flags::MUL, bytes, d, ovf, ovf);
    if bytes == 1 {
        let h8 = cx.opi(Opcode::Shl, hi, 8);
        let ax = cx.op(Opcode::Or, h8, d);
        cx.set_gpr(Register::AX, ax);
    } else {
        let dx = match bytes {
            2 => Register::DX,
            4 => Register::EDX,
            _ => Register::RDX,
        };
        cx.set_gpr(al, d);
        cx.set_gpr(dx, hi);
    }
    Some(())
}

fn div(cx: &mut Cx, signed: bool) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let y = cx.read(0, a, bytes)?;
    let sz = cx.k(u64::from(bytes) | (u64::from(signed) << 8));
    if bytes < 4 {
        cx.b.call_void(&helpers::H_DIV, &[y, sz]);
        return Some(());
    }
    // Inline when the divisor is not zero and the quotient fits (64-bit: the dividend's
    // high half is just the low half's extension); else the helper (#DE, 128-bit dividends).
    let (slow, done) = (cx.b.label(), cx.b.label());
    let z = cx.k(0);
    cx.b.branch(Cond::Eq, y, z, slow);
    let lo = cx.b.get_reg(Ty::I64, state::RAX);
    let hi = cx.b.get_reg(Ty::I64, state::RDX);
    let (q, r) = if bytes == 8 {
        let ext = if signed {
            cx.opi(Opcode::Sar, lo, 63)
        } else {
            cx.k(0)
        };
        cx.b.branch(Cond::Ne, hi, ext, slow);
        if signed {
            // i64::MIN / -1 overflows.
            let m1 = cx.k(u64::MAX);
            let not_m1 = cx.b.label();
            cx.b.branch(Cond::Ne, y, m1, not_m1);
            let min = cx.k(1 << 63);
            cx.b.branch(Cond::Eq, lo, min, slow);
            cx.b.set_label(not_m1);
            (cx.op(Opcode::DivS, lo, y), cx.op(Opcode::RemS, lo, y))
        } else {
            (cx.op(Opcode::DivU, lo, y), cx.op(Opcode::RemU, lo, y))
        }
    } else {
        let l = cx.zext(lo, 4);
        let h = cx.opi(Opcode::Shl, hi, 32);
        let n = cx.op(Opcode::Or, h, l);
        if signed {
            let ys = cx.sext(y, 4);
            let q = cx.op(Opcode::DivS, n, ys);
            let qs = cx.sext(q, 4);
            cx.b.branch(Cond::Ne, q, qs, slow);
            let r = cx.op(Opcode::RemS, n, ys);
            (cx.zext(q, 4), cx.zext(r, 4))
        } else {
            let h = cx.zext(hi, 4);
            cx.b.branch(Cond::Geu, h, y, slow);
            (cx.op(Opcode::DivU, n, y), cx.op(Opcode::RemU, n, y))
        }
    };
    cx.b.set_reg(state::RAX, q);
    cx.b.set_reg(state::RDX, r);
    cx.b.jump(done);
    cx.b.set_label(slow);
    cx.b.call_void(&helpers::H_DIV, &[y, sz]);
    cx.b.set_label(done);
    Some(())
}

fn widen(cx: &mut Cx) -> Option<()> {
    let (src, dst) = match cx.i.mnemonic() {
        M::Cbw => (Register::AL, Register::AX),
        M::Cwde => (Register::AX, Register::EAX),
        _ => (Register::EAX, Register::RAX),
    };
    let v = cx.get_gpr(src);
    let v = cx.sext(v, src.size() as u32);
    cx.set_gpr(dst, v);
    Some(())
}

fn sign_to_dx(cx: &mut Cx) -> Option<()> {
    let (src, dst) = match cx.i.mnemonic() {
        M::Cwd => (Register::AX, Register::DX),
        M::Cdq => (Register::EAX, Register::EDX),
        _ => (Register::RAX, Register::RDX),
    };
    let bytes = src.size() as u32;
    let v = cx.get_gpr(src);
    let v = cx.sext(v, bytes);
    let s = cx.opi(Opcode::Sar, v, 63);
    cx.set_gpr(dst, s);
    Some(())
}

fn xchg(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    if cx.i.op0_kind() == OpKind::Memory || cx.i.op1_kind() == OpKind::Memory {
        let (mn, rn) = if cx.i.op0_kind() == OpKind::Memory {
            (0, 1)
        } else {
            (1, 0)
        };
        let _ = mn;
        let addr = cx.ea();
        let r = cx.i.op_register(rn);
        let v = cx.get_gpr(r);
        let old = cx.atomic_rmw(AtomicOp::Xchg, addr, v, bytes);
        let old = cx.zext(old, bytes);
        cx.set_gpr(r, old);
        return Some(());
    }
    let (r0, r1) = (cx.i.op0_register(), cx.i.op1_register());
    let (v0, v1) = (cx.get_gpr(r0), cx.get_gpr(r1));
    cx.set_gpr(r0, v1);
    cx.set_gpr(r1, v0);
    Some(())
}

fn xadd(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    let r = cx.i.op1_register();
    let s2 = cx.get_gpr(r);
    let (s1, d) = if cx.i.op0_kind() == OpKind::Memory {
        let addr = cx.ea();
        let old = cx.atomic_rmw(AtomicOp::Add, addr, s2, bytes);
        let old = cx.zext(old, bytes);
        let d = cx.op(Opcode::Add, old, s2);
        (old, cx.zext(d, bytes))
    } else {
        let r0 = cx.i.op0_register();
        let old = cx.get_gpr(r0);
        let d = cx.op(Opcode::Add, old, s2);
        let d = cx.zext(d, bytes);
        cx.set_gpr(r, old);
        cx.set_gpr(r0, d);
        (old, d)
    };
    if cx.i.op0_kind() == OpKind::Memory {
        cx.set_gpr(r, s1);
    }
    cx.set_cc(flags::ADD, bytes, d, s1, s2);
    Some(())
}

fn cmpxchg(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    let acc = match bytes {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    };
    let new = cx.get_gpr(cx.i.op1_register());
    let exp = cx.get_gpr(acc);
    let old = if cx.i.op0_kind() == OpKind::Memory {
        let addr = cx.ea();
        let o = cx.atomic_cas(addr, exp, new, bytes);
        cx.zext(o, bytes)
    } else {
        // On failure the destination register is not written at all (its upper half stays).
        let r0 = cx.i.op0_register();
        let o = cx.get_gpr(r0);
        let off = super::gpr_off(r0);
        let full = cx.b.get_reg(Ty::I64, off);
        cx.set_gpr(r0, new);
        let written = cx.b.get_reg(Ty::I64, off);
        let v = cx.b.select(Cond::Eq, o, exp, written, full);
        cx.b.set_reg(off, v);
        o
    };
    // The accumulator gets the old value when they differ (32-bit writes zero-extend even
    // then only on the failure path: on success rax is untouched).
    let cur = cx.b.get_reg(Ty::I64, state::RAX);
    let merged = {
        cx.set_gpr(acc, old);
        cx.b.get_reg(Ty::I64, state::RAX)
    };
    let v = cx.b.select(Cond::Eq, old, exp, cur, merged);
    cx.b.set_reg(state::RAX, v);
    let d = cx.op(Opcode::Sub, exp, old);
    let d = cx.zext(d, bytes);
    cx.set_cc(flags::SUB, bytes, d, exp, old);
    Some(())
}

fn bt(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let bits = u64::from(bytes) * 8;
    let (addr, bitno) = match cx.i.op1_kind() {
        OpKind::Register => {
            let b = cx.get_gpr(cx.i.op1_register());
            if cx.i.op0_kind() == OpKind::Memory {
                // A register bit offset addresses memory beyond the operand (signed).
                let base = cx.ea();
                let sb = cx.sext(b, bytes);
                let wsh = cx.opi(Opcode::Sar, sb, bits.trailing_zeros().into());
                let off = cx.opi(Opcode::Shl, wsh, u64::from(bytes.trailing_zeros()));
                (
                    Some(cx.op(Opcode::Add, base, off)),
                    cx.opi(Opcode::And, b, bits - 1),
                )
            } else {
                (None, cx.opi(Opcode::And, b, bits - 1))
            }
        }
        _ => {
            let a = cx.mem_addr();
            (a, cx.k(cx.i.try_immediate(1).ok()? & (bits - 1)))
        }
    };
    if cx.i.has_lock_prefix() && m != M::Bt {
        // lock bts/btr/btc: one atomic or/and/xor of the bit on the operand.
        let a = addr?;
        let one = cx.k(1);
        let bit = cx.op(Opcode::Shl, one, bitno);
        let (op, val) = match m {
            M::Bts => (AtomicOp::Or, bit),
            M::Btr => (AtomicOp::And, cx.b.unop(Opcode::Not, bit)),
            _ => (AtomicOp::Xor, bit),
        };
        let old = cx.atomic_rmw(op, a, val, bytes);
        let sh = cx.op(Opcode::Shr, old, bitno);
        let cf = cx.opi(Opcode::And, sh, 1);
        let f = cx.eflags();
        let f = cx.opi(Opcode::AndN, f, flags::CF);
        let f = cx.op(Opcode::Or, f, cf);
        cx.set_cc_eflags(f);
        return Some(());
    }
    let v = match addr {
        Some(a) => cx.load(a, bytes),
        None => cx.get_gpr(cx.i.op0_register()),
    };
    let sh = cx.op(Opcode::Shr, v, bitno);
    let cf = cx.opi(Opcode::And, sh, 1);
    let one = cx.k(1);
    let bit = cx.op(Opcode::Shl, one, bitno);
    let nv = match m {
        M::Bts => Some(cx.op(Opcode::Or, v, bit)),
        M::Btr => Some(cx.op(Opcode::AndN, v, bit)),
        M::Btc => Some(cx.op(Opcode::Xor, v, bit)),
        _ => None,
    };
    if cx.i.has_lock_prefix() {
        return None;
    }
    if let Some(nv) = nv {
        match addr {
            Some(a) => cx.store(nv, a, bytes),
            None => cx.set_gpr(cx.i.op0_register(), nv),
        }
    }
    // CF = the bit; the other flags are undefined: keep them.
    let f = cx.eflags();
    let f = cx.opi(Opcode::AndN, f, flags::CF);
    let f = cx.op(Opcode::Or, f, cf);
    cx.set_cc_eflags(f);
    Some(())
}

fn bitscan(cx: &mut Cx, m: M) -> Option<()> {
    let bytes = cx.opsize(0);
    let bits = u64::from(bytes) * 8;
    let a = cx.mem_addr();
    let src = cx.read(1, a, bytes)?;
    let dst = cx.i.op0_register();
    let z = cx.k(0);
    let f0 = cx.eflags();
    let is_zero = cx.b.setcond(Cond::Eq, src, z);
    let zf = cx.opi(Opcode::Shl, is_zero, 6);
    match m {
        M::Bsf | M::Bsr => {
            let r = if m == M::Bsf {
                cx.b.unop(Opcode::Ctz, src)
            } else {
                let l = cx.b.unop(Opcode::Clz, src);
                let k = cx.k(63);
                cx.op(Opcode::Sub, k, l)
            };
            // Source zero: the destination is left unchanged (what hardware does).
            // (Not even zero-extended: the whole register stays.)
            let off = super::gpr_off(dst);
            let full = cx.b.get_reg(Ty::I64, off);
            cx.set_gpr(dst, r);
            let written = cx.b.get_reg(Ty::I64, off);
            let v = cx.b.select(Cond::Eq, src, z, full, written);
            cx.b.set_reg(off, v);
            let f = cx.opi(Opcode::AndN, f0, flags::ZF);
            let f = cx.op(Opcode::Or, f, zf);
            cx.set_cc_eflags(f);
        }
        _ => {
            let r = match m {
                M::Tzcnt => {
                    let t = cx.b.unop(Opcode::Ctz, src);
                    let kb = cx.k(bits);
                    cx.op(Opcode::MinU, t, kb)
                }
                M::Lzcnt => {
                    let l = cx.b.unop(Opcode::Clz, src);
                    cx.opi(Opcode::Sub, l, 64 - bits)
                }
                _ => cx.b.unop(Opcode::Popcnt, src),
            };
            cx.set_gpr(dst, r);
            let rz = cx.b.setcond(Cond::Eq, r, z);
            let zf2 = cx.opi(Opcode::Shl, rz, 6);
            let f = if m == M::Popcnt {
                zf2
            } else {
                let cf = if m == M::Tzcnt || m == M::Lzcnt {
                    is_zero
                } else {
                    z
                };
                cx.op(Opcode::Or, zf2, cf)
            };
            cx.set_cc_eflags(f);
        }
    }
    Some(())
}

fn cmov(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    let c = cx.cond(cc_of(cx)?);
    let a = cx.mem_addr();
    let src = cx.read(1, a, bytes)?;
    let r = cx.i.op0_register();
    let old = cx.get_gpr(r);
    let z = cx.k(0);
    let v = cx.b.select(Cond::Ne, c, z, src, old);
    // A 32-bit cmov zero-extends even when the condition is false.
    cx.set_gpr(r, v);
    Some(())
}

fn double_shift(cx: &mut Cx, right: bool) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let d = cx.read(0, a, bytes)?;
    let src = cx.get_gpr(cx.i.op1_register());
    let c = match cx.i.op2_kind() {
        OpKind::Register => cx.get_gpr(cx.i.op2_register()),
        _ => cx.k(cx.i.try_immediate(2).ok()?),
    };
    let cnt = cx.opi(Opcode::And, c, if bytes == 8 { 63 } else { 31 });
    let f = cx.eflags();
    let p = cx.opi(Opcode::Shl, cnt, 8);
    let p = cx.opi(Opcode::Or, p, u64::from(bytes) | (u64::from(right) << 16));
    let r = cx.b.call(&helpers::H_SHXD, &[d, src, p]);
    let nf = cx.b.call(&helpers::H_SHXD_FLAGS, &[d, src, p, f]);
    cx.set_cc_eflags(nf);
    cx.write(0, a, r, bytes)
}
