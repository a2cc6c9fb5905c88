//! SSE/SSE2 integer and move instructions (what glibc's startup, memcpy, strlen... use).
//! 128-bit values stay in the state; packed operations run in one helper ([`crate::sse`]).

use super::{Cx, Flow};
use crate::sse::Op;
use crate::{helpers, state};
use iced_x86::{Mnemonic as M, OpKind, Register};
use xlat_ir::{Opcode, Temp, Ty};

pub(super) fn xmm_off(r: Register) -> Option<u32> {
    r.is_xmm()
        .then(|| state::xmm((r as u32 - Register::XMM0 as u32) as u8))
}

/// The state offset of operand `n` as a 128-bit value: an xmm register, or memory loaded
/// into the scratch `XTMP` (`bytes` of it, the rest zeroed).
pub(super) fn src128(cx: &mut Cx, n: u32, bytes: u32) -> Option<u32> {
    match cx.i.op_kind(n) {
        OpKind::Register => xmm_off(cx.i.op_register(n)),
        OpKind::Memory => {
            let a = cx.ea();
            let lo = cx.load(a, bytes.min(8));
            let hi = if bytes == 16 {
                let a8 = cx.opi(Opcode::Add, a, 8);
                cx.load(a8, 8)
            } else {
                cx.k(0)
            };
            cx.b.set_reg(state::XTMP, lo);
            cx.b.set_reg(state::XTMP + 8, hi);
            Some(state::XTMP)
        }
        _ => None,
    }
}

fn store128(cx: &mut Cx, off: u32, bytes: u32) -> Option<()> {
    let a = cx.ea();
    let lo = cx.b.get_reg(Ty::I64, off);
    cx.store(lo, a, bytes.min(8));
    if bytes == 16 {
        let hi = cx.b.get_reg(Ty::I64, off + 8);
        let a8 = cx.opi(Opcode::Add, a, 8);
        cx.store(hi, a8, 8);
    }
    Some(())
}

fn copy128(cx: &mut Cx, dst: u32, src: u32, zero_hi: bool) {
    let lo = cx.b.get_reg(Ty::I64, src);
    let hi = if zero_hi {
        cx.k(0)
    } else {
        cx.b.get_reg(Ty::I64, src + 8)
    };
    cx.b.set_reg(dst, lo);
    cx.b.set_reg(dst + 8, hi);
}

/// Lifts `cx.i` if it is in this class.
pub(super) fn lift(cx: &mut Cx) -> Option<Flow> {
    let m = cx.i.mnemonic();
    let r = match m {
        M::Movdqa
        | M::Movdqu
        | M::Movaps
        | M::Movups
        | M::Movapd
        | M::Movupd
        | M::Movntdq
        | M::Movntps
        | M::Movntpd
        | M::Lddqu
        | M::Movntdqa => mov128(cx),
        M::Movd | M::Movq => movdq(cx),
        M::Movhps | M::Movhpd | M::Movlps | M::Movlpd | M::Movlhps | M::Movhlps => half(cx, m),
        M::Pxor
        | M::Por
        | M::Pand
        | M::Pandn
        | M::Xorps
        | M::Xorpd
        | M::Andps
        | M::Andpd
        | M::Orps
        | M::Orpd
        | M::Andnps
        | M::Andnpd
        | M::Pcmpeqb
        | M::Pcmpeqw
        | M::Pcmpeqd
        | M::Pminub
        | M::Pmaxub
        | M::Paddb
        | M::Paddw
        | M::Paddd
        | M::Paddq
        | M::Psubb
        | M::Psubw
        | M::Psubd
        | M::Psubq
        | M::Punpcklbw
        | M::Punpcklwd
        | M::Punpckldq
        | M::Punpcklqdq
        | M::Punpckhqdq
        | M::Pcmpgtb
        | M::Psubusb => binary(cx, m),
        M::Pshufd | M::Pslldq | M::Psrldq | M::Pshuflw | M::Pshufhw | M::Shufpd | M::Shufps => {
            shuffle(cx, m)
        }
        M::Punpckhbw
        | M::Punpckhwd
        | M::Punpckhdq
        | M::Packuswb
        | M::Packsswb
        | M::Packssdw
        | M::Pmullw
        | M::Pmuludq
        | M::Pavgb
        | M::Pavgw
        | M::Psadbw
        | M::Pcmpgtw
        | M::Pcmpgtd
        | M::Pminsw
        | M::Pmaxsw
        | M::Unpcklps
        | M::Unpckhps
        | M::Unpcklpd
        | M::Unpckhpd
        | M::Pmulhw
        | M::Pmulhuw
        | M::Pmaddwd
        | M::Paddusb
        | M::Paddusw
        | M::Psubusw
        | M::Paddsb
        | M::Paddsw
        | M::Psubsb
        | M::Psubsw => binary(cx, m),
        M::Movmskpd | M::Movmskps => {
            // The lanes' sign bits, inline.
            let s = xmm_off(cx.i.op1_register())?;
            let lo = cx.b.get_reg(Ty::I64, s);
            let hi = cx.b.get_reg(Ty::I64, s + 8);
            let v = if m == M::Movmskpd {
                let l = cx.opi(Opcode::Shr, lo, 63);
                let h = cx.opi(Opcode::Shr, hi, 63);
                let h = cx.opi(Opcode::Shl, h, 1);
                cx.op(Opcode::Or, l, h)
            } else {
                let mut acc = None;
                for (k, w, bit) in [(0u64, lo, 31u64), (1, lo, 63), (2, hi, 31), (3, hi, 63)] {
                    let t = cx.opi(Opcode::Shr, w, bit);
                    let t = if bit == 31 {
                        cx.opi(Opcode::And, t, 1)
                    } else {
                        t
                    };
                    let t = if k == 0 { t } else { cx.opi(Opcode::Shl, t, k) };
                    acc = Some(match acc {
                        None => t,
                        Some(a) => cx.op(Opcode::Or, a, t),
                    });
                }
                acc?
            };
            cx.set_gpr(cx.i.op0_register(), v);
            Some(())
        }
        M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad => {
            shift(cx, m)
        }
        M::Pmovmskb => {
            // Each byte's top bit: masked, then gathered into the top byte by one multiply.
            let s = xmm_off(cx.i.op1_register())?;
            let half = |cx: &mut Cx, off: u32| {
                let w = cx.b.get_reg(Ty::I64, off);
                let t = cx.opi(Opcode::And, w, 0x8080_8080_8080_8080);
                let t = cx.opi(Opcode::Mul, t, 0x0002_0408_1020_4081);
                cx.opi(Opcode::Shr, t, 56)
            };
            let lo = half(cx, s);
            let hi = half(cx, s + 8);
            let hi = cx.opi(Opcode::Shl, hi, 8);
            let v = cx.op(Opcode::Or, lo, hi);
            cx.set_gpr(cx.i.op0_register(), v);
            Some(())
        }
        M::Maskmovdqu => maskmovdqu(cx),
        _ => return None,
    };
    Some(if r.is_some() {
        Flow::Next
    } else {
        Flow::Illegal
    })
}

/// maskmovdqu xmm1, xmm2: the bytes of xmm1 whose byte in xmm2 has its top bit set are
/// stored at [rdi] (edi with the 0x67 prefix; an fs/gs override adds its base), one byte
/// store each; the others are not written.
fn maskmovdqu(cx: &mut Cx) -> Option<()> {
    let s = xmm_off(cx.i.op1_register())?;
    let m = xmm_off(cx.i.op2_register())?;
    let a = match cx.i.op0_kind() {
        OpKind::MemorySegEDI => cx.get_gpr(Register::EDI),
        OpKind::MemorySegRDI => cx.get_gpr(Register::RDI),
        _ => return None,
    };
    let a = match cx.i.segment_prefix() {
        Register::FS => {
            let b = cx.b.get_reg(Ty::I64, state::FS_BASE);
            cx.op(Opcode::Add, a, b)
        }
        Register::GS => {
            let b = cx.b.get_reg(Ty::I64, state::GS_BASE);
            cx.op(Opcode::Add, a, b)
        }
        _ => a,
    };
    let z = cx.k(0);
    for h in 0..2u32 {
        let sv = cx.b.get_reg(Ty::I64, s + 8 * h);
        let mv = cx.b.get_reg(Ty::I64, m + 8 * h);
        for j in 0..8u64 {
            let bit = cx.opi(Opcode::Shr, mv, 8 * j + 7);
            let bit = cx.opi(Opcode::And, bit, 1);
            let skip = cx.b.label();
            cx.b.branch(xlat_ir::Cond::Eq, bit, z, skip);
            let v = cx.opi(Opcode::Shr, sv, 8 * j);
            let p = cx.opi(Opcode::Add, a, u64::from(8 * h) + j);
            cx.store(v, p, 1);
            cx.b.set_label(skip);
        }
    }
    Some(())
}

fn mov128(cx: &mut Cx) -> Option<()> {
    if cx.i.op0_kind() == OpKind::Memory {
        let s = xmm_off(cx.i.op1_register())?;
        return store128(cx, s, 16);
    }
    let d = xmm_off(cx.i.op0_register())?;
    let s = src128(cx, 1, 16)?;
    copy128(cx, d, s, false);
    Some(())
}

fn movdq(cx: &mut Cx) -> Option<()> {
    let bytes = if cx.i.mnemonic() == M::Movd { 4 } else { 8 };
    let (k0, k1) = (cx.i.op0_kind(), cx.i.op1_kind());
    let r0 = (k0 == OpKind::Register).then(|| cx.i.op0_register());
    let r1 = (k1 == OpKind::Register).then(|| cx.i.op1_register());
    match (r0.and_then(xmm_off), r1) {
        // xmm <- xmm (movq zeroes the high half)
        (Some(d), Some(r)) if r.is_xmm() => {
            let s = xmm_off(r)?;
            copy128(cx, d, s, true);
        }
        // xmm <- gpr / mem
        (Some(d), _) => {
            let v = match r1 {
                Some(r) if r.is_gpr() => cx.get_gpr(r),
                None => {
                    let a = cx.ea();
                    cx.load(a, bytes)
                }
                _ => return None,
            };
            let z = cx.k(0);
            let v = cx.zext(v, bytes);
            cx.b.set_reg(d, v);
            cx.b.set_reg(d + 8, z);
        }
        // gpr / mem <- xmm
        (None, Some(r)) if r.is_xmm() => {
            let s = xmm_off(r)?;
            let v = cx.b.get_reg(Ty::I64, s);
            match r0 {
                Some(g) if g.is_gpr() => cx.set_gpr(g, v),
                None => {
                    let a = cx.ea();
                    cx.store(v, a, bytes);
                }
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(())
}

fn sse_op(m: M) -> Option<Op> {
    Some(match m {
        M::Pxor | M::Xorps | M::Xorpd => Op::Xor,
        M::Por | M::Orps | M::Orpd => Op::Or,
        M::Pand | M::Andps | M::Andpd => Op::And,
        M::Pandn | M::Andnps | M::Andnpd => Op::AndN,
        M::Pcmpeqb => Op::CmpEqB,
        M::Pcmpeqw => Op::CmpEqW,
        M::Pcmpeqd => Op::CmpEqD,
        M::Pcmpgtb => Op::CmpGtB,
        M::Pminub => Op::MinUB,
        M::Pmaxub => Op::MaxUB,
        M::Psubusb => Op::SubUsB,
        M::Paddb => Op::AddB,
        M::Paddw => Op::AddW,
        M::Paddd => Op::AddD,
        M::Paddq => Op::AddQ,
        M::Psubb => Op::SubB,
        M::Psubw => Op::SubW,
        M::Psubd => Op::SubD,
        M::Psubq => Op::SubQ,
        M::Punpcklbw => Op::UnpckLBW,
        M::Punpcklwd => Op::UnpckLWD,
        M::Punpckldq => Op::UnpckLDQ,
        M::Punpcklqdq | M::Unpcklpd => Op::UnpckLQDQ,
        M::Punpckhqdq | M::Unpckhpd => Op::UnpckHQDQ,
        M::Pshufd => Op::Shufd,
        M::Pshuflw => Op::ShufLw,
        M::Pshufhw => Op::ShufHw,
        M::Shufpd => Op::ShufPd,
        M::Shufps => Op::ShufPs,
        M::Punpckhbw => Op::UnpckHBW,
        M::Punpckhwd => Op::UnpckHWD,
        M::Punpckhdq | M::Unpckhps => Op::UnpckHDQ,
        M::Unpcklps => Op::UnpckLDQ,
        M::Packuswb => Op::PackUsWB,
        M::Packsswb => Op::PackSsWB,
        M::Packssdw => Op::PackSsDW,
        M::Pmullw => Op::MulLW,
        M::Pmuludq => Op::MulUDQ,
        M::Pavgb => Op::AvgB,
        M::Pavgw => Op::AvgW,
        M::Psadbw => Op::SadBW,
        M::Pcmpgtw => Op::CmpGtW,
        M::Pcmpgtd => Op::CmpGtD,
        M::Pminsw => Op::MinSW,
        M::Pmaxsw => Op::MaxSW,
        M::Pmulhw => Op::MulHW,
        M::Pmulhuw => Op::MulHUW,
        M::Pmaddwd => Op::MaddWD,
        M::Paddusb => Op::AddUsB,
        M::Paddusw => Op::AddUsW,
        M::Psubusw => Op::SubUsW,
        M::Paddsb => Op::AddSsB,
        M::Paddsw => Op::AddSsW,
        M::Psubsb => Op::SubSsB,
        M::Psubsw => Op::SubSsW,
        M::Pslldq => Op::SllDq,
        M::Psrldq => Op::SrlDq,
        _ => return None,
    })
}

fn call(cx: &mut Cx, op: Op, d: u32, s: u32, imm: u64) {
    let args: [Temp; 4] = [
        cx.k(op as u64),
        cx.k(u64::from(d)),
        cx.k(u64::from(s)),
        cx.k(imm),
    ];
    cx.b.call_void(&helpers::H_SSE, &args);
}

fn binary(cx: &mut Cx, m: M) -> Option<()> {
    if cx.i.op0_kind() != OpKind::Register {
        return None;
    }
    let d = xmm_off(cx.i.op0_register())?;
    let s = src128(cx, 1, 16)?;
    let op = sse_op(m)?;
    // Quadword interleaves are word moves.
    if op == Op::UnpckLQDQ {
        let v = cx.b.get_reg(Ty::I64, s);
        cx.b.set_reg(d + 8, v);
        return Some(());
    }
    if op == Op::UnpckHQDQ {
        let hi = cx.b.get_reg(Ty::I64, d + 8);
        let v = cx.b.get_reg(Ty::I64, s + 8);
        cx.b.set_reg(d, hi);
        cx.b.set_reg(d + 8, v);
        return Some(());
    }
    // Bitwise ops inline; lane-wise ones per 64-bit half in a pure helper (the registers
    // stay cached); the rest in the state helper.
    let inline = match op {
        Op::Xor => Some(Opcode::Xor),
        Op::Or => Some(Opcode::Or),
        Op::And => Some(Opcode::And),
        _ => None,
    };
    if inline.is_some() || op == Op::AndN || crate::sse::is_lanewise(op as u64) {
        for h in [0, 8] {
            let a = cx.b.get_reg(Ty::I64, d + h);
            let b = cx.b.get_reg(Ty::I64, s + h);
            let r = match inline {
                Some(o) => cx.op(o, a, b),
                None if op == Op::AndN => cx.op(Opcode::AndN, b, a),
                None => match super::swar::half(cx, op, a, b) {
                    Some(r) => r,
                    None => {
                        let k = cx.k(op as u64);
                        cx.b.call(&helpers::H_SSE_HALF, &[k, a, b])
                    }
                },
            };
            cx.b.set_reg(d + h, r);
        }
        return Some(());
    }
    // Interleaves (low: from the low quadwords; high: from the high ones), pmuludq: per
    // 64-bit word, registers stay cached.
    if matches!(
        op,
        Op::UnpckLBW | Op::UnpckLWD | Op::UnpckLDQ | Op::UnpckHBW | Op::UnpckHWD | Op::UnpckHDQ
    ) {
        let h = if matches!(op, Op::UnpckLBW | Op::UnpckLWD | Op::UnpckLDQ) {
            0
        } else {
            8
        };
        let a = cx.b.get_reg(Ty::I64, d + h);
        let b = cx.b.get_reg(Ty::I64, s + h);
        let (lo, hi) = if matches!(op, Op::UnpckLDQ | Op::UnpckHDQ) {
            let a_lo = cx.zext(a, 4);
            let b_sh = cx.opi(Opcode::Shl, b, 32);
            let lo = cx.op(Opcode::Or, a_lo, b_sh);
            let a_hi = cx.opi(Opcode::Shr, a, 32);
            let b_hi = cx.opi(Opcode::AndN, b, 0xffff_ffff);
            let b_hi = cx.opi(Opcode::And, b_hi, 0xffff_ffff_0000_0000);
            let hi = cx.op(Opcode::Or, a_hi, b_hi);
            (lo, hi)
        } else {
            let w = if matches!(op, Op::UnpckLBW | Op::UnpckHBW) {
                1
            } else {
                2
            };
            let a_lo = cx.zext(a, 4);
            let b_lo = cx.zext(b, 4);
            let lo = super::swar::zip32(cx, a_lo, b_lo, w);
            let a_hi = cx.opi(Opcode::Shr, a, 32);
            let b_hi = cx.opi(Opcode::Shr, b, 32);
            let hi = super::swar::zip32(cx, a_hi, b_hi, w);
            (lo, hi)
        };
        cx.b.set_reg(d, lo);
        cx.b.set_reg(d + 8, hi);
        return Some(());
    }
    if op == Op::SadBW {
        for h in [0, 8] {
            let a = cx.b.get_reg(Ty::I64, d + h);
            let b = cx.b.get_reg(Ty::I64, s + h);
            let r = super::swar::sadbw(cx, a, b);
            cx.b.set_reg(d + h, r);
        }
        return Some(());
    }
    if let Some((from, unsigned)) = match op {
        Op::PackSsWB => Some((2, false)),
        Op::PackUsWB => Some((2, true)),
        Op::PackSsDW => Some((4, false)),
        _ => None,
    } {
        // Low half from the destination's two words, high half from the source's.
        let (a0, a1) = (cx.b.get_reg(Ty::I64, d), cx.b.get_reg(Ty::I64, d + 8));
        let (b0, b1) = (cx.b.get_reg(Ty::I64, s), cx.b.get_reg(Ty::I64, s + 8));
        let lo = super::swar::pack(cx, a0, a1, from, unsigned);
        let hi = super::swar::pack(cx, b0, b1, from, unsigned);
        cx.b.set_reg(d, lo);
        cx.b.set_reg(d + 8, hi);
        return Some(());
    }
    if op == Op::MulUDQ {
        for h in [0, 8] {
            let a = cx.b.get_reg(Ty::I64, d + h);
            let b = cx.b.get_reg(Ty::I64, s + h);
            let a = cx.zext(a, 4);
            let b = cx.zext(b, 4);
            let r = cx.op(Opcode::Mul, a, b);
            cx.b.set_reg(d + h, r);
        }
        return Some(());
    }
    call(cx, op, d, s, 0);
    Some(())
}

/// Dword `k` (0..4) of the 128-bit value at `off`, zero-extended.
fn dword(cx: &mut Cx, off: u32, k: u64) -> Temp {
    let w = cx.b.get_reg(Ty::I64, off + if k >= 2 { 8 } else { 0 });
    if k & 1 == 1 {
        cx.opi(Opcode::Shr, w, 32)
    } else {
        cx.zext(w, 4)
    }
}

fn shuffle(cx: &mut Cx, m: M) -> Option<()> {
    let d = xmm_off(cx.i.op0_register())?;
    let (s, imm) = if matches!(
        m,
        M::Pshufd | M::Pshuflw | M::Pshufhw | M::Shufpd | M::Shufps
    ) {
        (src128(cx, 1, 16)?, cx.i.try_immediate(2).ok()?)
    } else {
        (d, cx.i.try_immediate(1).ok()?)
    };
    match m {
        M::Pshufd => {
            let v: Vec<Temp> = (0..4).map(|k| dword(cx, s, (imm >> (2 * k)) & 3)).collect();
            for (h, pair) in [(0u32, [v[0], v[1]]), (8, [v[2], v[3]])] {
                let hi = cx.opi(Opcode::Shl, pair[1], 32);
                let w = cx.op(Opcode::Or, pair[0], hi);
                cx.b.set_reg(d + h, w);
            }
            return Some(());
        }
        M::Pslldq | M::Psrldq => {
            // A byte shift of the 128-bit value by a constant.
            let n = (imm & 0xff).min(16) * 8;
            let lo = cx.b.get_reg(Ty::I64, d);
            let hi = cx.b.get_reg(Ty::I64, d + 8);
            let z = cx.k(0);
            let (nlo, nhi) = if n == 0 {
                (lo, hi)
            } else if n >= 128 {
                (z, z)
            } else if m == M::Psrldq {
                if n >= 64 {
                    (cx.opi(Opcode::Shr, hi, n - 64), z)
                } else {
                    let a = cx.opi(Opcode::Shr, lo, n);
                    let b = cx.opi(Opcode::Shl, hi, 64 - n);
                    (cx.op(Opcode::Or, a, b), cx.opi(Opcode::Shr, hi, n))
                }
            } else if n >= 64 {
                (z, cx.opi(Opcode::Shl, lo, n - 64))
            } else {
                let a = cx.opi(Opcode::Shl, hi, n);
                let b = cx.opi(Opcode::Shr, lo, 64 - n);
                (cx.opi(Opcode::Shl, lo, n), cx.op(Opcode::Or, a, b))
            };
            cx.b.set_reg(d, nlo);
            cx.b.set_reg(d + 8, nhi);
            return Some(());
        }
        _ => {}
    }
    call(cx, sse_op(m)?, d, s, imm);
    Some(())
}

/// Moves of one 64-bit half: movhps/movhpd/movlps/movlpd (memory), movlhps/movhlps.
fn half(cx: &mut Cx, m: M) -> Option<()> {
    let high = matches!(m, M::Movhps | M::Movhpd | M::Movlhps);
    if cx.i.op0_kind() == OpKind::Memory {
        let s = xmm_off(cx.i.op1_register())?;
        let v = cx.b.get_reg(Ty::I64, s + if high { 8 } else { 0 });
        let a = cx.ea();
        cx.store(v, a, 8);
        return Some(());
    }
    let d = xmm_off(cx.i.op0_register())?;
    let v = match m {
        M::Movlhps => cx.b.get_reg(Ty::I64, xmm_off(cx.i.op1_register())?),
        M::Movhlps => cx.b.get_reg(Ty::I64, xmm_off(cx.i.op1_register())? + 8),
        _ => {
            let a = cx.ea();
            cx.load(a, 8)
        }
    };
    cx.b.set_reg(d + if high { 8 } else { 0 }, v);
    Some(())
}

fn shift(cx: &mut Cx, m: M) -> Option<()> {
    let op = match m {
        M::Psllw => Op::SllW,
        M::Pslld => Op::SllD,
        M::Psllq => Op::SllQ,
        M::Psrlw => Op::SrlW,
        M::Psrld => Op::SrlD,
        M::Psrlq => Op::SrlQ,
        M::Psraw => Op::SraW,
        _ => Op::SraD,
    };
    let d = xmm_off(cx.i.op0_register())?;
    if cx.i.op1_kind() == OpKind::Immediate8 && matches!(op, Op::SllQ | Op::SrlQ) {
        let n = u64::from(cx.i.immediate8());
        for h in [0, 8] {
            let v = if n >= 64 {
                cx.k(0)
            } else {
                let w = cx.b.get_reg(Ty::I64, d + h);
                cx.opi(
                    if op == Op::SllQ {
                        Opcode::Shl
                    } else {
                        Opcode::Shr
                    },
                    w,
                    n,
                )
            };
            cx.b.set_reg(d + h, v);
        }
        return Some(());
    }
    if cx.i.op1_kind() == OpKind::Immediate8 {
        let n = u64::from(cx.i.immediate8());
        for h in [0, 8] {
            let w = cx.b.get_reg(Ty::I64, d + h);
            let v = super::swar::shift_imm(cx, op, w, n)?;
            cx.b.set_reg(d + h, v);
        }
        return Some(());
    }
    let n = match cx.i.op1_kind() {
        OpKind::Register => cx.b.get_reg(Ty::I64, xmm_off(cx.i.op1_register())?),
        OpKind::Memory => {
            let a = cx.ea();
            cx.load(a, 8)
        }
        _ => return None,
    };
    let args = [cx.k(op as u64), cx.k(u64::from(d)), cx.k(u64::from(d)), n];
    cx.b.call_void(&helpers::H_SSE, &args);
    Some(())
}
