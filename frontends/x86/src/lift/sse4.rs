//! SSE3, SSSE3, SSE4.1 and SSE4.2: packed operations in one state helper
//! ([`crate::sse4::exec`]); element extracts and inserts (pextr*/pinsr*/extractps) inline;
//! crc32 in a pure helper.

use super::sse::{src128, xmm_off};
use super::{Cx, Flow};
use crate::helpers;
use crate::sse4::op;
use iced_x86::{Mnemonic as M, OpKind};
use xlat_ir::{Opcode, Temp, Ty};

/// The helper operation for mnemonic `m`, with the immediate bits it adds.
fn op_of(m: M) -> Option<(u64, u64)> {
    Some(match m {
        M::Pshufb => (op::PSHUFB, 0),
        M::Phaddw => (op::PHADDW, 0),
        M::Phaddd => (op::PHADDD, 0),
        M::Phaddsw => (op::PHADDSW, 0),
        M::Phsubw => (op::PHSUBW, 0),
        M::Phsubd => (op::PHSUBD, 0),
        M::Phsubsw => (op::PHSUBSW, 0),
        M::Pmaddubsw => (op::PMADDUBSW, 0),
        M::Pmulhrsw => (op::PMULHRSW, 0),
        M::Psignb => (op::PSIGNB, 0),
        M::Psignw => (op::PSIGNW, 0),
        M::Psignd => (op::PSIGND, 0),
        M::Pabsb => (op::PABSB, 0),
        M::Pabsw => (op::PABSW, 0),
        M::Pabsd => (op::PABSD, 0),
        M::Palignr => (op::PALIGNR, 0),
        M::Pblendvb => (op::PBLENDVB, 0),
        M::Blendvps => (op::BLENDVPS, 0),
        M::Blendvpd => (op::BLENDVPD, 0),
        M::Blendps => (op::BLENDPS, 0),
        M::Blendpd => (op::BLENDPD, 0),
        M::Pblendw => (op::PBLENDW, 0),
        M::Ptest => (op::PTEST, 0),
        M::Pmovsxbw => (op::PMOVX, 0x121),
        M::Pmovsxbd => (op::PMOVX, 0x141),
        M::Pmovsxbq => (op::PMOVX, 0x181),
        M::Pmovsxwd => (op::PMOVX, 0x142),
        M::Pmovsxwq => (op::PMOVX, 0x182),
        M::Pmovsxdq => (op::PMOVX, 0x184),
        M::Pmovzxbw => (op::PMOVX, 0x21),
        M::Pmovzxbd => (op::PMOVX, 0x41),
        M::Pmovzxbq => (op::PMOVX, 0x81),
        M::Pmovzxwd => (op::PMOVX, 0x42),
        M::Pmovzxwq => (op::PMOVX, 0x82),
        M::Pmovzxdq => (op::PMOVX, 0x84),
        M::Pmuldq => (op::PMULDQ, 0),
        M::Pmulld => (op::PMULLD, 0),
        M::Pcmpeqq => (op::PCMPEQQ, 0),
        M::Pcmpgtq => (op::PCMPGTQ, 0),
        M::Packusdw => (op::PACKUSDW, 0),
        M::Pminsb => (op::PMINSB, 0),
        M::Pminsd => (op::PMINSD, 0),
        M::Pminuw => (op::PMINUW, 0),
        M::Pminud => (op::PMINUD, 0),
        M::Pmaxsb => (op::PMAXSB, 0),
        M::Pmaxsd => (op::PMAXSD, 0),
        M::Pmaxuw => (op::PMAXUW, 0),
        M::Pmaxud => (op::PMAXUD, 0),
        M::Phminposuw => (op::PHMINPOSUW, 0),
        M::Mpsadbw => (op::MPSADBW, 0),
        M::Insertps => (op::INSERTPS, 0),
        M::Dpps => (op::DPPS, 0),
        M::Dppd => (op::DPPD, 0),
        M::Roundps => (op::ROUNDPS, 0),
        M::Roundpd => (op::ROUNDPD, 0),
        M::Roundss => (op::ROUNDSS, 0),
        M::Roundsd => (op::ROUNDSD, 0),
        M::Pcmpistri => (op::PCMPSTR, 0),
        M::Pcmpistrm => (op::PCMPSTR, 0x200),
        M::Pcmpestri => (op::PCMPSTR, 0x100),
        M::Pcmpestrm => (op::PCMPSTR, 0x300),
        M::Pcmpestri64 => (op::PCMPSTR, 0x500),
        M::Pcmpestrm64 => (op::PCMPSTR, 0x700),
        M::Addsubps => (op::ADDSUBPS, 0),
        M::Addsubpd => (op::ADDSUBPD, 0),
        M::Haddps => (op::HADDPS, 0),
        M::Haddpd => (op::HADDPD, 0),
        M::Hsubps => (op::HSUBPS, 0),
        M::Hsubpd => (op::HSUBPD, 0),
        M::Movsldup => (op::MOVSLDUP, 0),
        M::Movshdup => (op::MOVSHDUP, 0),
        M::Movddup => (op::MOVDDUP, 0),
        _ => return None,
    })
}

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let r = match m {
        M::Pextrb | M::Pextrw | M::Pextrd | M::Pextrq | M::Extractps => extract(cx, m),
        M::Pinsrb | M::Pinsrw | M::Pinsrd | M::Pinsrq => insert(cx, m),
        M::Crc32 => crc32(cx),
        _ => {
            let (o, extra) = op_of(m)?;
            packed(cx, m, o, extra)
        }
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

fn packed(cx: &mut Cx, m: M, o: u64, extra: u64) -> Option<()> {
    // MMX forms (pshufb mm, ...) are not implemented.
    if cx.i.op0_kind() != OpKind::Register {
        return None;
    }
    let d = xmm_off(cx.i.op0_register())?;
    let mem = cx.i.op1_kind() == OpKind::Memory;
    let bytes = if mem {
        cx.i.memory_size().size() as u32
    } else {
        16
    };
    let s = src128(cx, 1, bytes)?;
    let mut imm = extra;
    if (0..cx.i.op_count()).any(|n| cx.i.op_kind(n) == OpKind::Immediate8) {
        imm |= cx.i.immediate8() as u64;
    }
    if m == M::Insertps && mem {
        imm |= 0x100;
    }
    let args: [Temp; 4] = [cx.k(o), cx.k(u64::from(d)), cx.k(u64::from(s)), cx.k(imm)];
    if matches!(m, M::Roundsd | M::Roundss | M::Roundpd | M::Roundps) {
        let double = matches!(m, M::Roundsd | M::Roundpd);
        let scalar = matches!(m, M::Roundsd | M::Roundss);
        round_fast(cx, double, scalar, d, s, imm, &args);
        return Some(());
    }
    if o == op::PCMPGTQ || o == op::PACKUSDW {
        inline_packed(cx, o, d, s);
        return Some(());
    }
    if matches!(o, op::HADDPD | op::HSUBPD | op::HADDPS | op::HSUBPS) {
        horizontal(cx, o, d, s, &args);
        return Some(());
    }
    if o == op::PTEST || o == op::PCMPSTR {
        let f = cx.b.call(&helpers::H_SSE4, &args);
        cx.set_cc_eflags(f);
    } else {
        cx.b.call_void(&helpers::H_SSE4, &args);
    }
    Some(())
}

/// haddpd/hsubpd/haddps/hsubps inline: each result lane is one add or subtract of a pair of
/// adjacent lanes (the destination's pairs, then the source's), taken through the same fast
/// path as addpd/addps (default MXCSR control with PE already set, no subnormal operand, a
/// normal or exactly-zero result: no new flag, so the lanes' order does not matter); any
/// lane outside it runs the whole instruction in the exact helper. Nothing is written
/// before every lane is known (`d` may be `s`).
fn horizontal(cx: &mut Cx, o: u64, d: u32, s: u32, args: &[Temp; 4]) {
    use super::ssefast;
    use crate::ssefp::op as fp;
    let double = matches!(o, op::HADDPD | op::HSUBPD);
    let kind = if matches!(o, op::HADDPD | op::HADDPS) {
        fp::ADD
    } else {
        fp::SUB
    };
    let (slow, done) = (cx.b.label(), cx.b.label());
    ssefast::check_mxcsr(cx, slow);
    let mut out = [None; 2];
    for (k, src) in [d, s].into_iter().enumerate() {
        let lo = cx.b.get_reg(Ty::I64, src);
        let hi = cx.b.get_reg(Ty::I64, src + 8);
        out[k] = if double {
            ssefast::arith(cx, kind, 0, true, lo, hi, slow)
        } else {
            let pair = |cx: &mut Cx, v: Temp| {
                let a = cx.zext(v, 4);
                let b = cx.opi(Opcode::Shr, v, 32);
                ssefast::arith(cx, kind, 0, false, a, b, slow)
            };
            match (pair(cx, lo), pair(cx, hi)) {
                (Some(r0), Some(r1)) => {
                    let r1 = cx.opi(Opcode::Shl, r1, 32);
                    Some(cx.op(Opcode::Or, r0, r1))
                }
                _ => None,
            }
        };
    }
    match out {
        [Some(lo), Some(hi)] => {
            cx.b.set_reg(d, lo);
            cx.b.set_reg(d + 8, hi);
            cx.b.jump(done);
        }
        _ => cx.b.jump(slow),
    }
    cx.b.set_label(slow);
    cx.b.call_void(&helpers::H_SSE4, args);
    cx.b.set_label(done);
}

/// pcmpgtq (signed 64-bit greater-than masks) and packusdw (signed dwords saturated to
/// unsigned words, the destination's four then the source's) inline on state offsets `d`, `s`.
fn inline_packed(cx: &mut Cx, o: u64, d: u32, s: u32) {
    use xlat_ir::Cond;
    let halves = [0u32, 8].map(|off| {
        (
            cx.b.get_reg(Ty::I64, d + off),
            cx.b.get_reg(Ty::I64, s + off),
        )
    });
    let z = cx.k(0);
    if o == op::PCMPGTQ {
        for (k, (a, b)) in halves.into_iter().enumerate() {
            let ones = cx.k(u64::MAX);
            let r = cx.b.select(Cond::Gt, a, b, ones, z);
            cx.b.set_reg(d + 8 * k as u32, r);
        }
        return;
    }
    let max = cx.k(0xffff);
    // Saturates the signed dword at bit `sh` of `v` to 0..=0xffff.
    let sat = |cx: &mut Cx, v: Temp, sh: u64| {
        let x = cx.opi(Opcode::Shr, v, sh);
        let x = cx.sext(x, 4);
        let x = cx.b.select(Cond::Lt, x, z, z, x);
        cx.b.select(Cond::Gt, x, max, max, x)
    };
    let pack = |cx: &mut Cx, lo: Temp, hi: Temp| {
        let w = [
            sat(cx, lo, 0),
            sat(cx, lo, 32),
            sat(cx, hi, 0),
            sat(cx, hi, 32),
        ];
        let mut r = w[0];
        for (i, x) in w.into_iter().enumerate().skip(1) {
            let x = cx.opi(Opcode::Shl, x, 16 * i as u64);
            r = cx.op(Opcode::Or, r, x);
        }
        r
    };
    let (a0, b0) = halves[0];
    let (a1, b1) = halves[1];
    let lo = pack(cx, a0, a1);
    let hi = pack(cx, b0, b1);
    cx.b.set_reg(d, lo);
    cx.b.set_reg(d + 8, hi);
}

/// Lane width in bytes of an extract/insert.
fn width(m: M) -> u32 {
    match m {
        M::Pextrb | M::Pinsrb => 1,
        M::Pextrw | M::Pinsrw => 2,
        M::Pextrq | M::Pinsrq => 8,
        _ => 4,
    }
}

/// The state offset of the word holding lane `imm` (`w` bytes) of xmm at `x`, and the shift.
fn lane_pos(x: u32, w: u32, imm: u64) -> (u32, u64) {
    let idx = imm as u32 & (16 / w - 1);
    let byte = idx * w;
    (x + (byte & 8), u64::from((byte & 7) * 8))
}

fn extract(cx: &mut Cx, m: M) -> Option<()> {
    let w = width(m);
    let x = xmm_off(cx.i.op1_register())?;
    let imm = u64::from(cx.i.immediate8());
    let (off, sh) = lane_pos(x, w, imm);
    let v = cx.b.get_reg(Ty::I64, off);
    let v = cx.opi(Opcode::Shr, v, sh);
    let v = cx.zext(v, w);
    match cx.i.op0_kind() {
        OpKind::Register => {
            let r = cx.i.op0_register();
            if !r.is_gpr() {
                return None;
            }
            cx.set_gpr(r, v);
        }
        OpKind::Memory => {
            let a = cx.ea();
            cx.store(v, a, w);
        }
        _ => return None,
    }
    Some(())
}

fn insert(cx: &mut Cx, m: M) -> Option<()> {
    let w = width(m);
    if cx.i.op0_kind() != OpKind::Register {
        return None;
    }
    let x = xmm_off(cx.i.op0_register())?;
    let imm = u64::from(cx.i.immediate8());
    let v = match cx.i.op1_kind() {
        OpKind::Register => {
            let r = cx.i.op1_register();
            if !r.is_gpr() {
                return None;
            }
            cx.get_gpr(r)
        }
        OpKind::Memory => {
            let a = cx.ea();
            cx.load(a, w)
        }
        _ => return None,
    };
    let v = cx.zext(v, w);
    let (off, sh) = lane_pos(x, w, imm);
    let mask = crate::flags::mask(w) << sh;
    let old = cx.b.get_reg(Ty::I64, off);
    let kept = cx.opi(Opcode::And, old, !mask);
    let nv = cx.opi(Opcode::Shl, v, sh);
    let r = cx.op(Opcode::Or, kept, nv);
    cx.b.set_reg(off, r);
    Some(())
}

fn crc32(cx: &mut Cx) -> Option<()> {
    let dst = cx.i.op0_register();
    let bytes = cx.opsize(1);
    let addr = cx.mem_addr();
    let v = cx.read(1, addr, bytes)?;
    let acc = cx.get_gpr(dst);
    let n = cx.k(u64::from(bytes));
    let r = cx.b.call(&helpers::H_CRC32, &[acc, v, n]);
    // The result is 32 bits, zero-extended into a 64-bit destination.
    let r = cx.zext(r, 4);
    let full = dst.full_register();
    cx.set_gpr(full, r);
    Some(())
}

/// roundsd/roundss/roundpd/roundps: the host's rounding inline unless an operand lane is a
/// NaN or subnormal or the instruction could raise a new flag (MXCSR's rounding mode, or PE
/// not suppressed, need the default MXCSR with PE already set); else the helper (`args`).
/// All lanes are checked before any is written (the source may be the destination).
fn round_fast(cx: &mut Cx, double: bool, scalar: bool, d: u32, s: u32, imm: u64, args: &[Temp; 4]) {
    use super::ssefast;
    use xlat_ir::FRound;
    let (slow, done) = (cx.b.label(), cx.b.label());
    if imm & 4 != 0 || imm & 8 == 0 {
        ssefast::check_mxcsr(cx, slow);
    }
    let mode = if imm & 4 != 0 {
        FRound::Nearest
    } else {
        match imm & 3 {
            0 => FRound::Nearest,
            1 => FRound::Floor,
            2 => FRound::Ceil,
            _ => FRound::Trunc,
        }
    };
    // Lanes: (state word, shift) of each.
    let lanes: &[(u32, u64)] = match (double, scalar) {
        (true, true) => &[(0, 0)],
        (true, false) => &[(0, 0), (8, 0)],
        (false, true) => &[(0, 0)],
        (false, false) => &[(0, 0), (0, 32), (8, 0), (8, 32)],
    };
    let mut vals = Vec::with_capacity(lanes.len());
    for &(w, sh) in lanes {
        let v = cx.b.get_reg(Ty::I64, s + w);
        let v = if sh != 0 {
            cx.opi(Opcode::Shr, v, sh)
        } else {
            v
        };
        let v = if double { v } else { cx.zext(v, 4) };
        ssefast::check_not_nan(cx, v, double, slow);
        ssefast::check_not_subnormal(cx, v, double, slow);
        vals.push(v);
    }
    let rs: Vec<Temp> = vals
        .iter()
        .map(|&v| {
            if double {
                cx.b.fround(mode, v)
            } else {
                let x = cx.b.trunc(v);
                let r = cx.b.fround(mode, x);
                cx.b.extu(r)
            }
        })
        .collect();
    match (double, scalar) {
        (true, _) => {
            for (i, &r) in rs.iter().enumerate() {
                cx.b.set_reg(d + 8 * i as u32, r);
            }
        }
        (false, true) => {
            let old = cx.b.get_reg(Ty::I64, d);
            let hi = cx.opi(Opcode::AndN, old, 0xffff_ffff);
            let r = cx.op(Opcode::Or, hi, rs[0]);
            cx.b.set_reg(d, r);
        }
        (false, false) => {
            for (h, pair) in rs.chunks(2).enumerate() {
                let up = cx.opi(Opcode::Shl, pair[1], 32);
                let r = cx.op(Opcode::Or, pair[0], up);
                cx.b.set_reg(d + 8 * h as u32, r);
            }
        }
    }
    cx.b.jump(done);
    cx.b.set_label(slow);
    cx.b.call_void(&helpers::H_SSE4, args);
    cx.b.set_label(done);
}
