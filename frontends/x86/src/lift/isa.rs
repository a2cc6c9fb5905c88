//! Integer instructions outside the baseline that CPUID advertises one by one: cmpxchg8b and
//! cmpxchg16b (CX16), movbe (MOVBE), adcx and adox (ADX).

use super::{Cx, Flow};
use crate::{GENERAL_PROTECTION, flags, state};
use iced_x86::{Mnemonic as M, OpKind};
use xlat_ir::{Cond, Opcode, Temp, Ty};

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let r = match cx.i.mnemonic() {
        M::Cmpxchg8b => cmpxchg8b(cx),
        M::Cmpxchg16b => cmpxchg16b(cx),
        M::Movbe => movbe(cx),
        M::Adcx => add_carry(cx, 0),
        M::Adox => add_carry(cx, 11),
        _ => return None,
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

/// Sets ZF to `eq` (1 when equal), keeping the other arithmetic flags.
fn set_zf(cx: &mut Cx, eq: Temp) {
    let f = cx.eflags();
    let f = cx.opi(Opcode::AndN, f, flags::ZF);
    let z = cx.opi(Opcode::Shl, eq, 6);
    let f = cx.op(Opcode::Or, f, z);
    cx.set_cc_eflags(f);
}

/// cmpxchg8b m64: compares edx:eax with the quadword; equal: ecx:ebx is stored, else the
/// quadword goes to edx:eax (zero-extended; on success rax and rdx are untouched). ZF only.
fn cmpxchg8b(cx: &mut Cx) -> Option<()> {
    if cx.i.op0_kind() != OpKind::Memory {
        return None;
    }
    let addr = cx.ea();
    let (rax, rdx) = (
        cx.b.get_reg(Ty::I64, state::RAX),
        cx.b.get_reg(Ty::I64, state::RDX),
    );
    let lo = cx.zext(rax, 4);
    let hi = cx.opi(Opcode::Shl, rdx, 32);
    let exp = cx.op(Opcode::Or, hi, lo);
    let (rbx, rcx) = (
        cx.b.get_reg(Ty::I64, state::RBX),
        cx.b.get_reg(Ty::I64, state::RCX),
    );
    let lo = cx.zext(rbx, 4);
    let hi = cx.opi(Opcode::Shl, rcx, 32);
    let new = cx.op(Opcode::Or, hi, lo);
    let old = cx.atomic_cas(addr, exp, new, 8);
    let olo = cx.zext(old, 4);
    let ohi = cx.opi(Opcode::Shr, old, 32);
    let a = cx.b.select(Cond::Eq, old, exp, rax, olo);
    let d = cx.b.select(Cond::Eq, old, exp, rdx, ohi);
    cx.b.set_reg(state::RAX, a);
    cx.b.set_reg(state::RDX, d);
    let eq = cx.b.setcond(Cond::Eq, old, exp);
    set_zf(cx, eq);
    Some(())
}

/// cmpxchg16b m128: as cmpxchg8b on rdx:rax and rcx:rbx; #GP unless 16-byte aligned.
fn cmpxchg16b(cx: &mut Cx) -> Option<()> {
    if cx.i.op0_kind() != OpKind::Memory {
        return None;
    }
    let addr = cx.ea();
    let low = cx.opi(Opcode::And, addr, 15);
    let z = cx.k(0);
    let ok = cx.b.label();
    cx.b.branch(Cond::Eq, low, z, ok);
    cx.b.raise(GENERAL_PROTECTION, cx.pc, Some(z));
    cx.b.set_label(ok);
    let e = (
        cx.b.get_reg(Ty::I64, state::RAX),
        cx.b.get_reg(Ty::I64, state::RDX),
    );
    let n = (
        cx.b.get_reg(Ty::I64, state::RBX),
        cx.b.get_reg(Ty::I64, state::RCX),
    );
    let (olo, ohi) = cx.b.atomic_cas128(addr, e, n, xlat_ir::MemOp::le(8, false));
    // On success memory held rdx:rax, so loading the old value leaves them unchanged.
    cx.b.set_reg(state::RAX, olo);
    cx.b.set_reg(state::RDX, ohi);
    let x = cx.op(Opcode::Xor, olo, e.0);
    let y = cx.op(Opcode::Xor, ohi, e.1);
    let d = cx.op(Opcode::Or, x, y);
    let eq = cx.b.setcond(Cond::Eq, d, z);
    set_zf(cx, eq);
    Some(())
}

/// movbe r, m / movbe m, r: a load or store with the bytes reversed (16, 32, 64 bits).
fn movbe(cx: &mut Cx) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.ea();
    let swap = |cx: &mut Cx, v: Temp| {
        let s = cx.b.unop(Opcode::Bswap, v);
        cx.opi(Opcode::Shr, s, u64::from(64 - 8 * bytes))
    };
    if cx.i.op0_kind() == OpKind::Memory {
        let v = cx.get_gpr(cx.i.op1_register());
        let s = swap(cx, v);
        cx.store(s, a, bytes);
    } else {
        let v = cx.load(a, bytes);
        let s = swap(cx, v);
        cx.set_gpr(cx.i.op0_register(), s);
    }
    Some(())
}

/// adcx (`bit` 0: CF) and adox (`bit` 11: OF): dst += src + flag, the carry out going to that
/// flag alone (32- or 64-bit).
fn add_carry(cx: &mut Cx, bit: u64) -> Option<()> {
    let bytes = cx.opsize(0);
    let a = cx.mem_addr();
    let s2 = cx.read(1, a, bytes)?;
    let dst = cx.i.op0_register();
    let s1 = cx.get_gpr(dst);
    let f = cx.eflags();
    let cin = cx.opi(Opcode::Shr, f, bit);
    let cin = cx.opi(Opcode::And, cin, 1);
    let t = cx.op(Opcode::Add, s1, s2);
    let sum = cx.op(Opcode::Add, t, cin);
    let (d, cout) = if bytes == 8 {
        // Carry out of s1 + s2 + cin: the sum is below s1, or equals it with cin set
        // (s2 all ones).
        let lt = cx.b.setcond(Cond::Ltu, sum, s1);
        let eq = cx.b.setcond(Cond::Eq, sum, s1);
        let eqc = cx.op(Opcode::And, eq, cin);
        (sum, cx.op(Opcode::Or, lt, eqc))
    } else {
        (sum, cx.opi(Opcode::Shr, sum, 32))
    };
    cx.set_gpr(dst, d);
    let f = cx.opi(Opcode::AndN, f, 1 << bit);
    let c = cx.opi(Opcode::Shl, cout, bit);
    let f = cx.op(Opcode::Or, f, c);
    cx.set_cc_eflags(f);
    Some(())
}
