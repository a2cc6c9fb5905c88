//! Loads and stores: every addressing mode of the single-register and pair forms (general and
//! SIMD&FP registers), literals, exclusives with a monitor, acquire/release, LSE atomics.

use super::LiftCx;
use crate::state;
use xlat_ir::{AtomicOp, Cond, MemOp, Opcode, Temp, Ty};

pub(super) fn lift(cx: &mut LiftCx) -> bool {
    let (b29_27, b25_24) = (cx.f(29, 27), cx.f(25, 24));
    match (b29_27, b25_24) {
        (0b111, 0b01) => {
            let size = size_of(cx);
            let off = u64::from(cx.f(21, 10)) << size;
            let rn = cx.f(9, 5);
            let base = cx.get_xsp(rn, true);
            let addr = cx.b.binop_imm(Opcode::Add, base, off);
            single(cx, addr)
        }
        (0b111, 0b00) if cx.f(21, 21) == 0 => {
            let imm = (((cx.f(20, 12) as i64) << 55) >> 55) as u64;
            let rn = cx.f(9, 5);
            let mode = cx.f(11, 10);
            // No unprivileged SIMD&FP forms; PRFM only as PRFUM (no writeback).
            let prfm = cx.f(31, 30) == 3 && cx.f(23, 22) == 2 && cx.f(26, 26) == 0;
            if mode == 2 && cx.f(26, 26) == 1 || mode != 0 && prfm {
                return false;
            }
            let base = cx.get_xsp(rn, true);
            let addr = if mode == 1 {
                base
            } else {
                cx.b.binop_imm(Opcode::Add, base, imm)
            };
            if !single(cx, addr) {
                return false;
            }
            if mode & 1 == 1 {
                let wb = cx.b.binop_imm(Opcode::Add, base, imm);
                cx.set_xsp(rn, wb, true);
            }
            true
        }
        (0b111, 0b00) if cx.f(11, 10) == 0b10 => {
            let (opt, s) = (cx.f(15, 13), cx.f(12, 12));
            if opt & 2 == 0 {
                return false;
            }
            let size = size_of(cx);
            let m = cx.get_x(cx.f(20, 16), true);
            let e = match opt {
                2 => cx.b.unop(Opcode::Zext32, m),
                6 => cx.b.unop(Opcode::Sext32, m),
                _ => m,
            };
            let e = if s == 1 {
                cx.b.binop_imm(Opcode::Shl, e, u64::from(size))
            } else {
                e
            };
            let base = cx.get_xsp(cx.f(9, 5), true);
            let addr = cx.b.binop(Opcode::Add, base, e);
            single(cx, addr)
        }
        (0b111, 0b00) if cx.f(11, 10) == 0 && cx.f(26, 26) == 0 => atomic(cx),
        (0b101, _) => pair(cx),
        (0b011, 0b00) => literal(cx),
        (0b001, 0b00) if cx.f(26, 26) == 0 => exclusive(cx),
        (0b001, _) if cx.f(26, 26) == 1 && cx.f(31, 31) == 0 => simd_struct(cx),
        _ => false,
    }
}

/// log2 of the access size of a single-register load/store (128-bit SIMD&FP is 4).
fn size_of(cx: &LiftCx) -> u32 {
    let size = cx.f(31, 30);
    if cx.f(26, 26) == 1 && size == 0 && cx.f(23, 23) == 1 {
        4
    } else {
        size
    }
}

/// Loads `Vt` or stores it, `log2` bytes (0..=4).
fn fp_access(cx: &mut LiftCx, rt: u32, addr: Temp, log2: u32, load: bool) {
    let off = state::v(rt as u8);
    let bytes = 1u32 << log2.min(3);
    if load {
        let lo = cx.b.load(Ty::I64, addr, 0, MemOp::le(bytes, false));
        cx.b.set_reg(off, lo);
        let hi = if log2 == 4 {
            cx.b.load(Ty::I64, addr, 8, MemOp::le(8, false))
        } else {
            cx.b.konst(Ty::I64, 0)
        };
        cx.b.set_reg(off + 8, hi);
    } else {
        let lo = cx.b.get_reg(Ty::I64, off);
        cx.b.store(lo, addr, 0, MemOp::le(bytes, false));
        if log2 == 4 {
            let hi = cx.b.get_reg(Ty::I64, off + 8);
            cx.b.store(hi, addr, 8, MemOp::le(8, false));
        }
    }
}

/// The single-register access at `addr` (opc bits 23:22, size 31:30, V 26).
fn single(cx: &mut LiftCx, addr: Temp) -> bool {
    let (size, opc, rt) = (cx.f(31, 30), cx.f(23, 22), cx.f(4, 0));
    if cx.f(26, 26) == 1 {
        let log2 = size_of(cx);
        if log2 == 4 && size != 0 || opc >= 2 && log2 != 4 {
            return false;
        }
        fp_access(cx, rt, addr, log2, opc & 1 == 1);
        return true;
    }
    let bytes = 1u32 << size;
    match opc {
        0 => {
            let v = cx.get_x(rt, true);
            cx.b.store(v, addr, 0, MemOp::le(bytes, false));
        }
        1 => {
            let v = cx.b.load(Ty::I64, addr, 0, MemOp::le(bytes, false));
            cx.set_x(rt, v, true);
        }
        _ if size == 3 => {
            // PRFM (opc 2) is a hint; opc 3 is unallocated.
            return opc == 2;
        }
        _ => {
            if size == 2 && opc == 3 {
                return false;
            }
            let v = cx.b.load(Ty::I64, addr, 0, MemOp::le(bytes, true));
            cx.set_x(rt, v, opc == 2);
        }
    }
    true
}

fn pair(cx: &mut LiftCx) -> bool {
    let (opc, v, mode, l) = (cx.f(31, 30), cx.f(26, 26), cx.f(24, 23), cx.f(22, 22));
    let (rt, rn, rt2) = (cx.f(4, 0), cx.f(9, 5), cx.f(14, 10));
    let log2 = if v == 1 { 2 + opc } else { 2 + (opc >> 1) };
    // opc 3, STGP (MTE, not implemented) and a no-allocate LDPSW are unallocated.
    if opc == 3 || (v == 0 && opc == 1 && (l == 0 || mode == 0)) {
        return false;
    }
    let imm = ((((cx.f(21, 15) as i64) << 57) >> 57) << log2) as u64;
    let base = cx.get_xsp(rn, true);
    let addr = if mode == 1 {
        base
    } else {
        cx.b.binop_imm(Opcode::Add, base, imm)
    };
    let step = 1u64 << log2;
    let addr2 = cx.b.binop_imm(Opcode::Add, addr, step);
    if v == 1 {
        fp_access(cx, rt, addr, log2, l == 1);
        fp_access(cx, rt2, addr2, log2, l == 1);
    } else if l == 1 {
        let signed = opc == 1;
        let m = MemOp::le(1 << log2, signed);
        let a = cx.b.load(Ty::I64, addr, 0, m);
        let b = cx.b.load(Ty::I64, addr2, 0, m);
        let sf = opc != 0;
        cx.set_x(rt, a, sf);
        cx.set_x(rt2, b, sf);
    } else {
        let a = cx.get_x(rt, true);
        let b = cx.get_x(rt2, true);
        let m = MemOp::le(1 << log2, false);
        cx.b.store(a, addr, 0, m);
        cx.b.store(b, addr2, 0, m);
    }
    if mode & 1 == 1 {
        let wb = cx.b.binop_imm(Opcode::Add, base, imm);
        cx.set_xsp(rn, wb, true);
    }
    true
}

fn literal(cx: &mut LiftCx) -> bool {
    let (opc, v, rt) = (cx.f(31, 30), cx.f(26, 26), cx.f(4, 0));
    let target = cx
        .pc
        .wrapping_add(((((cx.f(23, 5) as i64) << 45) >> 45) << 2) as u64);
    let addr = cx.b.konst(Ty::I64, target);
    if v == 1 {
        if opc == 3 {
            return false;
        }
        fp_access(cx, rt, addr, 2 + opc, true);
        return true;
    }
    match opc {
        0 | 1 => {
            let val = cx.b.load(Ty::I64, addr, 0, MemOp::le(4 << opc, false));
            cx.set_x(rt, val, true);
        }
        2 => {
            let val = cx.b.load(Ty::I64, addr, 0, MemOp::le(4, true));
            cx.set_x(rt, val, true);
        }
        _ => {} // PRFM literal
    }
    true
}

fn aligned(bytes: u32, signed: bool) -> MemOp {
    MemOp {
        aligned: true,
        ..MemOp::le(bytes, signed)
    }
}

/// Load/store exclusive, load-acquire/store-release and compare-and-swap (size 31:30,
/// o2 23, L 22, o1 21, Rs 20:16, o0 15).
fn exclusive(cx: &mut LiftCx) -> bool {
    let (size, o2, l, o1, rs, o0) = (
        cx.f(31, 30),
        cx.f(23, 23),
        cx.f(22, 22),
        cx.f(21, 21),
        cx.f(20, 16),
        cx.f(15, 15),
    );
    let (rt, rn) = (cx.f(4, 0), cx.f(9, 5));
    // LDAR/STLR/LDLAR/STLLR need Rs and Rt2 all ones, CAS Rt2 (unallocated otherwise, as
    // qemu-aarch64 decodes them).
    if o2 == 1 && (cx.f(14, 10) != 31 || o1 == 0 && rs != 31) {
        return false;
    }
    let bytes = 1u32 << size;
    let addr = cx.get_xsp(rn, true);
    match (o2, o1) {
        (0, 0) if l == 1 => {
            let v = cx.b.load(Ty::I64, addr, 0, aligned(bytes, false));
            cx.b.set_reg(state::EXCL_ADDR, addr);
            cx.b.set_reg(state::EXCL_VAL, v);
            cx.set_x(rt, v, true);
            if o0 == 1 {
                cx.b.fence();
            }
        }
        (0, 0) => {
            // STXR/STLXR: succeeds (Ws = 0) when the monitor holds this address and memory
            // still holds the value the load-exclusive read.
            if o0 == 1 {
                cx.b.fence();
            }
            let resv = cx.b.get_reg(Ty::I64, state::EXCL_ADDR);
            let status = cx.b.temp(Ty::I64);
            cx.b.konst_to(status, 1);
            let fail = cx.b.label();
            cx.b.branch(Cond::Ne, resv, addr, fail);
            let expected = cx.b.get_reg(Ty::I64, state::EXCL_VAL);
            let new = cx.get_x(rt, true);
            let new = mask_to(cx, new, size);
            let old = super::atomics::cas(cx, addr, expected, new, size);
            let ne = cx.b.setcond(Cond::Ne, old, expected);
            cx.b.mov(status, ne);
            cx.b.set_label(fail);
            let none = cx.b.konst(Ty::I64, state::EXCL_NONE);
            cx.b.set_reg(state::EXCL_ADDR, none);
            cx.set_x(rs, status, true);
        }
        (1, 0) => {
            if l == 1 {
                let v = cx.b.load(Ty::I64, addr, 0, aligned(bytes, false));
                cx.set_x(rt, v, true);
                cx.b.fence();
            } else {
                cx.b.fence();
                let v = cx.get_x(rt, true);
                cx.b.store(v, addr, 0, aligned(bytes, false));
            }
        }
        (0, 1) if size == 2 => {
            // LDXP/LDAXP, STXP/STLXP of two 32-bit elements: one 64-bit exclusive access.
            let rt2 = cx.f(14, 10);
            if l == 1 {
                let v = cx.b.load(Ty::I64, addr, 0, aligned(8, false));
                cx.b.set_reg(state::EXCL_ADDR, addr);
                cx.b.set_reg(state::EXCL_VAL, v);
                let a = cx.b.unop(Opcode::Zext32, v);
                let b = cx.b.binop_imm(Opcode::Shr, v, 32);
                cx.set_x(rt, a, true);
                cx.set_x(rt2, b, true);
                if o0 == 1 {
                    cx.b.fence();
                }
            } else {
                if o0 == 1 {
                    cx.b.fence();
                }
                let resv = cx.b.get_reg(Ty::I64, state::EXCL_ADDR);
                let status = cx.b.temp(Ty::I64);
                cx.b.konst_to(status, 1);
                let fail = cx.b.label();
                cx.b.branch(Cond::Ne, resv, addr, fail);
                let expected = cx.b.get_reg(Ty::I64, state::EXCL_VAL);
                let (a, b) = (cx.get_x(rt, true), cx.get_x(rt2, true));
                let a = cx.b.unop(Opcode::Zext32, a);
                let b = cx.b.binop_imm(Opcode::Shl, b, 32);
                let new = cx.b.binop(Opcode::Or, a, b);
                let old = super::atomics::cas(cx, addr, expected, new, 3);
                let ne = cx.b.setcond(Cond::Ne, old, expected);
                cx.b.mov(status, ne);
                cx.b.set_label(fail);
                let none = cx.b.konst(Ty::I64, state::EXCL_NONE);
                cx.b.set_reg(state::EXCL_ADDR, none);
                cx.set_x(rs, status, true);
            }
        }
        (0, 1) if size == 3 => {
            // LDXP/LDAXP, STXP/STLXP of two 64-bit elements (16-byte aligned): the load reads
            // both words into the monitor; the store is a 128-bit compare-and-swap against them.
            let rt2 = cx.f(14, 10);
            check_align(cx, addr, 16);
            if l == 1 {
                let lo = cx.b.load(Ty::I64, addr, 0, aligned(8, false));
                let hi = cx.b.load(Ty::I64, addr, 8, aligned(8, false));
                cx.b.set_reg(state::EXCL_ADDR, addr);
                cx.b.set_reg(state::EXCL_VAL, lo);
                cx.b.set_reg(state::EXCL_VAL2, hi);
                cx.set_x(rt, lo, true);
                cx.set_x(rt2, hi, true);
                if o0 == 1 {
                    cx.b.fence();
                }
            } else {
                if o0 == 1 {
                    cx.b.fence();
                }
                let resv = cx.b.get_reg(Ty::I64, state::EXCL_ADDR);
                let status = cx.b.temp(Ty::I64);
                cx.b.konst_to(status, 1);
                let fail = cx.b.label();
                cx.b.branch(Cond::Ne, resv, addr, fail);
                let new = (cx.get_x(rt, true), cx.get_x(rt2, true));
                let e0 = cx.b.get_reg(Ty::I64, state::EXCL_VAL);
                let e1 = cx.b.get_reg(Ty::I64, state::EXCL_VAL2);
                let (m0, m1) = cx.b.atomic_cas128(addr, (e0, e1), new, aligned(8, false));
                // Status 1 (failed) unless memory still held what LDXP read.
                let x = cx.b.binop(Opcode::Xor, m0, e0);
                let y = cx.b.binop(Opcode::Xor, m1, e1);
                let d = cx.b.binop(Opcode::Or, x, y);
                let zero = cx.b.konst(Ty::I64, 0);
                let r = cx.b.setcond(Cond::Ne, d, zero);
                cx.b.mov(status, r);
                cx.b.set_label(fail);
                let none = cx.b.konst(Ty::I64, state::EXCL_NONE);
                cx.b.set_reg(state::EXCL_ADDR, none);
                cx.set_x(rs, status, true);
            }
        }
        (0, 1) if size < 2 => {
            // CASP, CASPA, CASPL, CASPAL: the even pairs Rs:Rs+1 (compare value, receives the
            // old one) and Rt:Rt+1 (new value) of 32-bit (one 64-bit CAS) or 64-bit elements.
            if cx.f(14, 10) != 31 || rs & 1 == 1 || rt & 1 == 1 {
                return false;
            }
            let sf = size == 1;
            let (e0, e1) = (cx.get_x(rs, sf), cx.get_x(rs + 1, sf));
            let (n0, n1) = (cx.get_x(rt, sf), cx.get_x(rt + 1, sf));
            if sf {
                check_align(cx, addr, 16);
                let (o0, o1) =
                    cx.b.atomic_cas128(addr, (e0, e1), (n0, n1), aligned(8, false));
                cx.set_x(rs, o0, true);
                cx.set_x(rs + 1, o1, true);
            } else {
                let e1 = cx.b.binop_imm(Opcode::Shl, e1, 32);
                let exp = cx.b.binop(Opcode::Or, e0, e1);
                let n1 = cx.b.binop_imm(Opcode::Shl, n1, 32);
                let new = cx.b.binop(Opcode::Or, n0, n1);
                let old = super::atomics::cas(cx, addr, exp, new, 3);
                let o1 = cx.b.binop_imm(Opcode::Shr, old, 32);
                cx.set_x(rs, old, false);
                cx.set_x(rs + 1, o1, false);
            }
        }
        (1, 1) => {
            // CAS, CASA, CASL, CASAL: Rs is the compare value and receives the old one.
            let expected = cx.get_x(rs, true);
            let expected = mask_to(cx, expected, size);
            let new = cx.get_x(rt, true);
            let new = mask_to(cx, new, size);
            let old = super::atomics::cas(cx, addr, expected, new, size);
            cx.set_x(rs, old, true);
        }
        _ => return false,
    }
    true
}

/// Raises the alignment fault unless `addr` is a multiple of `bytes`.
fn check_align(cx: &mut LiftCx, addr: Temp, bytes: u64) {
    let low = cx.b.binop_imm(Opcode::And, addr, bytes - 1);
    let zero = cx.b.konst(Ty::I64, 0);
    let ok = cx.b.label();
    cx.b.branch(Cond::Eq, low, zero, ok);
    cx.b.raise(crate::ALIGNMENT_FAULT, cx.pc, Some(addr));
    cx.b.set_label(ok);
}

fn mask_to(cx: &mut LiftCx, v: Temp, size: u32) -> Temp {
    match size {
        0 => cx.b.unop(Opcode::Zext8, v),
        1 => cx.b.unop(Opcode::Zext16, v),
        2 => cx.b.unop(Opcode::Zext32, v),
        _ => v,
    }
}

/// LSE atomic memory operations: LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN}, SWP.
fn atomic(cx: &mut LiftCx) -> bool {
    let (size, rs, o3, opc) = (cx.f(31, 30), cx.f(20, 16), cx.f(15, 15), cx.f(14, 12));
    let (rt, rn) = (cx.f(4, 0), cx.f(9, 5));
    let addr = cx.get_xsp(rn, true);
    let v = cx.get_x(rs, true);
    let op = match (o3, opc) {
        (1, 0) => AtomicOp::Xchg,
        (0, 0) => AtomicOp::Add,
        (0, 1) => AtomicOp::And,
        (0, 2) => AtomicOp::Xor,
        (0, 3) => AtomicOp::Or,
        (0, 4) => AtomicOp::MaxS,
        (0, 5) => AtomicOp::MinS,
        (0, 6) => AtomicOp::MaxU,
        (0, 7) => AtomicOp::MinU,
        _ => return false,
    };
    let signed = matches!(op, AtomicOp::MaxS | AtomicOp::MinS);
    let v = match op {
        AtomicOp::And => cx.b.unop(Opcode::Not, v),
        _ => v,
    };
    let v = if signed {
        match size {
            0 => cx.b.unop(Opcode::Sext8, v),
            1 => cx.b.unop(Opcode::Sext16, v),
            2 => cx.b.unop(Opcode::Sext32, v),
            _ => v,
        }
    } else {
        mask_to(cx, v, size)
    };
    let old = super::atomics::rmw(cx, op, addr, v, size);
    let old = mask_to(cx, old, size);
    cx.set_x(rt, old, true);
    true
}

/// AdvSIMD LD1-LD4/ST1-ST4 (multiple structures), LD1-LD4/ST1-ST4 (single structure, one
/// lane) and LD1R-LD4R, with and without post-index. Structures of more than one register are
/// (de)interleaved element by element; all loads happen before any register is written.
fn simd_struct(cx: &mut LiftCx) -> bool {
    let (q, l, post) = (cx.f(30, 30) == 1, cx.f(22, 22) == 1, cx.f(23, 23) == 1);
    let (rt, rn, rm) = (cx.f(4, 0), cx.f(9, 5), cx.f(20, 16));
    if !post && rm != 0 {
        return false;
    }
    let base = cx.get_xsp(rn, true);
    let total: u64;
    let reg = |k: u32| state::v(((rt + k) % 32) as u8);
    if cx.f(24, 24) == 0 {
        let (nregs, selem) = match cx.f(15, 12) {
            0b0000 => (4, 4),
            0b0010 => (4, 1),
            0b0100 => (3, 3),
            0b0110 => (3, 1),
            0b0111 => (1, 1),
            0b1000 => (2, 2),
            0b1010 => (2, 1),
            _ => return false,
        };
        if cx.f(21, 21) != 0 {
            return false;
        }
        let halves = if q { 2 } else { 1 };
        if selem == 1 {
            for k in 0..nregs {
                let off = reg(k);
                for h in 0..halves {
                    let disp = i64::from(8 * (k * halves + h));
                    if l {
                        let v = cx.b.load(Ty::I64, base, disp, MemOp::le(8, false));
                        cx.b.set_reg(off + 8 * h, v);
                    } else {
                        let v = cx.b.get_reg(Ty::I64, off + 8 * h);
                        cx.b.store(v, base, disp, MemOp::le(8, false));
                    }
                }
                if l && !q {
                    let z = cx.b.konst(Ty::I64, 0);
                    cx.b.set_reg(off + 8, z);
                }
            }
        } else {
            let size = cx.f(11, 10);
            if size == 3 && !q {
                return false;
            }
            let bytes = 1u32 << size;
            let elems = 8 * halves / bytes;
            let mut words = vec![None; (selem * halves) as usize];
            for e in 0..elems {
                for k in 0..selem {
                    let disp = i64::from((e * selem + k) * bytes);
                    let (w, sh) = (
                        (k * halves + e * bytes / 8) as usize,
                        u64::from(8 * (e * bytes % 8)),
                    );
                    if l {
                        let x = cx.b.load(Ty::I64, base, disp, MemOp::le(bytes, false));
                        let x = if sh == 0 {
                            x
                        } else {
                            cx.b.binop_imm(Opcode::Shl, x, sh)
                        };
                        words[w] = Some(match words[w] {
                            None => x,
                            Some(acc) => cx.b.binop(Opcode::Or, acc, x),
                        });
                    } else {
                        let word = cx.b.get_reg(Ty::I64, reg(k) + 8 * (e * bytes / 8));
                        let x = if sh == 0 {
                            word
                        } else {
                            cx.b.binop_imm(Opcode::Shr, word, sh)
                        };
                        cx.b.store(x, base, disp, MemOp::le(bytes, false));
                    }
                }
            }
            if l {
                for k in 0..selem {
                    for h in 0..halves {
                        if let Some(v) = words[(k * halves + h) as usize] {
                            cx.b.set_reg(reg(k) + 8 * h, v);
                        }
                    }
                    if !q {
                        let z = cx.b.konst(Ty::I64, 0);
                        cx.b.set_reg(reg(k) + 8, z);
                    }
                }
            }
        }
        total = 8 * u64::from(nregs * halves);
    } else {
        // Single structure: selem = opcode<0>:R + 1 registers, one lane each (or replicated).
        let selem = ((cx.f(13, 13) << 1) | cx.f(21, 21)) + 1;
        let (opc, s, size) = (cx.f(15, 14), cx.f(12, 12), cx.f(11, 10));
        let (log2, index) = match opc {
            0 => (0, (u32::from(q) << 3) | (s << 2) | size),
            1 if size & 1 == 0 => (1, (u32::from(q) << 2) | (s << 1) | (size >> 1)),
            2 if size == 0 => (2, (u32::from(q) << 1) | s),
            2 if size == 1 && s == 0 => (3, u32::from(q)),
            3 if l && s == 0 => (size, u32::MAX),
            _ => return false,
        };
        let bytes = 1u32 << log2;
        let mut loaded = Vec::new();
        for k in 0..selem {
            let disp = i64::from(k * bytes);
            if l {
                loaded.push(cx.b.load(Ty::I64, base, disp, MemOp::le(bytes, false)));
            } else {
                let byte = index * bytes;
                let w = cx.b.get_reg(Ty::I64, reg(k) + 8 * (byte / 8));
                let x = cx.b.binop_imm(Opcode::Shr, w, u64::from(8 * (byte % 8)));
                cx.b.store(x, base, disp, MemOp::le(bytes, false));
            }
        }
        for (k, x) in (0u32..).zip(loaded) {
            let v = reg(k);
            if index == u32::MAX {
                // LDnR: replicate to every lane.
                let rep = [
                    0x0101_0101_0101_0101u64,
                    0x0001_0001_0001_0001,
                    0x0000_0001_0000_0001,
                    1,
                ];
                let w = cx.b.binop_imm(Opcode::Mul, x, rep[log2 as usize]);
                cx.b.set_reg(v, w);
                let hi = if q { w } else { cx.b.konst(Ty::I64, 0) };
                cx.b.set_reg(v + 8, hi);
            } else {
                let byte = index * bytes;
                let word = v + 8 * (byte / 8);
                let sh = u64::from(8 * (byte % 8));
                let w = if bytes == 8 {
                    x
                } else {
                    let old = cx.b.get_reg(Ty::I64, word);
                    let m = ((1u64 << (8 * bytes)) - 1) << sh;
                    let kept = cx.b.binop_imm(Opcode::AndN, old, m);
                    let xs = cx.b.binop_imm(Opcode::Shl, x, sh);
                    cx.b.binop(Opcode::Or, kept, xs)
                };
                cx.b.set_reg(word, w);
            }
        }
        total = u64::from(bytes * selem);
    }
    if post {
        let wb = if rm == 31 {
            cx.b.binop_imm(Opcode::Add, base, total)
        } else {
            let m = cx.get_x(rm, true);
            cx.b.binop(Opcode::Add, base, m)
        };
        cx.set_xsp(rn, wb, true);
    }
    true
}
