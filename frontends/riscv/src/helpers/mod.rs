//! Out-of-line helpers called from lifted code: FP arithmetic through [`crate::fpu`] (with the
//! dynamic rounding mode and the accrued flags in the state) and the counter CSRs.
//!
//! The full FP helpers get the instruction word as their last argument and re-derive the
//! operation, format and rounding mode from it, so one helper serves a whole family. Lifted code
//! calls them only when a PURE per-operation helper from [`fpfast`] says the instruction changes
//! `fflags` or traps; the common case never gets here.

pub(crate) mod fpfast;

use crate::ILLEGAL_INSTRUCTION;
use crate::fpu::{self, Fmt};
use crate::state::{FFLAGS, FRM};
use xlat_ir::abi::CpuState;
use xlat_ir::{Helper, HelperFlags};

fn fmt_of(insn: u64) -> Fmt {
    if (insn >> 25) & 1 == 1 {
        Fmt::D
    } else {
        Fmt::S
    }
}

fn operand(f: Fmt, reg: u64) -> u64 {
    match f {
        Fmt::S => fpu::unbox(reg),
        Fmt::D => reg,
    }
}

fn boxed(f: Fmt, v: u64) -> u64 {
    match f {
        Fmt::S => fpu::nan_box(v),
        Fmt::D => v,
    }
}

/// Resolves the instruction's rounding mode, or flags an illegal instruction.
fn rounding(env: &mut CpuState, insn: u64) -> Option<u8> {
    let rm = fpu::resolve_rm(((insn >> 12) & 7) as u8, (env.word(FRM) & 7) as u8);
    if rm.is_none() {
        env.exc_pending = ILLEGAL_INSTRUCTION + 1;
        env.exc_arg = insn & 0xffff_ffff;
    }
    rm
}

fn accrue(env: &mut CpuState, (v, fl): (u64, u8)) -> u64 {
    env.set_word(FFLAGS, env.word(FFLAGS) | u64::from(fl & 0x1f));
    v
}

/// Two-operand FP ops, conversions, compares and classify (`OP-FP` major opcode).
/// `a`/`b` are the raw source registers (f or x as the instruction says); the result is the
/// value to write to rd (NaN-boxed for single results in f registers).
extern "C" fn helper_fp_op(env: &mut CpuState, a: u64, b: u64, insn: u64, _: u64) -> u64 {
    let f = fmt_of(insn);
    let (x, y) = (operand(f, a), operand(f, b));
    let funct3 = (insn >> 12) & 7;
    let rs2 = (insn >> 20) & 31;
    match insn >> 27 {
        0..=3 | 0b01011 | 0b01000 | 0b11000 | 0b11010 => {
            let Some(rm) = rounding(env, insn) else {
                return 0;
            };
            let r = match insn >> 27 {
                0 => fpu::add(f, x, y, rm),
                1 => fpu::sub(f, x, y, rm),
                2 => fpu::mul(f, x, y, rm),
                3 => fpu::div(f, x, y, rm),
                0b01011 => fpu::sqrt(f, x, rm),
                0b01000 => {
                    let from = if f == Fmt::D { Fmt::S } else { Fmt::D };
                    let r = fpu::convert(from, f, operand(from, a), rm);
                    return boxed(f, accrue(env, r));
                }
                0b11000 => return accrue(env, fpu::to_int(f, x, rm, rs2 & 1 == 0, rs2 < 2)),
                _ => fpu::from_int(f, a, rm, rs2 & 1 == 0, rs2 < 2),
            };
            boxed(f, accrue(env, r))
        }
        0b00101 => {
            let r = if funct3 == 0 {
                fpu::min(f, x, y)
            } else {
                fpu::max(f, x, y)
            };
            boxed(f, accrue(env, r))
        }
        0b10100 => accrue(
            env,
            match funct3 {
                2 => fpu::eq(f, x, y),
                1 => fpu::lt(f, x, y),
                _ => fpu::le(f, x, y),
            },
        ),
        _ => fpu::classify(f, x),
    }
}

/// fmadd/fmsub/fnmsub/fnmadd.
extern "C" fn helper_fp_fma(env: &mut CpuState, a: u64, b: u64, c: u64, insn: u64) -> u64 {
    let f = fmt_of(insn);
    let Some(rm) = rounding(env, insn) else {
        return 0;
    };
    let (neg_product, neg_addend) = match (insn >> 2) & 31 {
        0x10 => (false, false), // fmadd
        0x11 => (false, true),  // fmsub
        0x12 => (true, false),  // fnmsub
        _ => (true, true),      // fnmadd
    };
    let r = fpu::fma(
        f,
        operand(f, a),
        operand(f, b),
        operand(f, c),
        rm,
        neg_product,
        neg_addend,
    );
    boxed(f, accrue(env, r))
}

fn nanos() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Reads cycle (0xC00), time (0xC01) or instret (0xC02). `time` ticks at 10 MHz (QEMU's virt
/// timebase); cycle and instret count host nanoseconds, which is monotonic as required.
extern "C" fn helper_csr_counter(_: &mut CpuState, csr: u64, _: u64, _: u64, _: u64) -> u64 {
    match csr {
        0xc01 => nanos() / 100,
        _ => nanos(),
    }
}

/// Gives each byte of `v` as 0xff when non-zero, else 0 (Zbb orc.b).
extern "C" fn helper_orc_b(_: &mut CpuState, v: u64, _: u64, _: u64, _: u64) -> u64 {
    (0..8).fold(0, |acc, i| {
        if (v >> (i * 8)) & 0xff != 0 {
            acc | (0xff << (i * 8))
        } else {
            acc
        }
    })
}

/// FP ops that read `frm` and accrue `fflags`; may raise illegal instruction (bad rm).
pub static FP_OP: Helper = Helper {
    name: "fp_op",
    func: helper_fp_op,
    nargs: 3,
    flags: HelperFlags::ALL,
    state_words: Some(&[FRM, FFLAGS]),
};
/// Fused multiply-adds.
pub static FP_FMA: Helper = Helper {
    name: "fp_fma",
    func: helper_fp_fma,
    nargs: 4,
    flags: HelperFlags::ALL,
    state_words: Some(&[FRM, FFLAGS]),
};
/// Counter CSR reads. Not pure (the value changes), so it is not declared PURE.
pub static CSR_COUNTER: Helper = Helper {
    name: "csr_counter",
    func: helper_csr_counter,
    nargs: 1,
    flags: HelperFlags::STATE,
    state_words: Some(&[]),
};
/// orc.b.
pub static ORC_B: Helper = Helper {
    name: "orc_b",
    func: helper_orc_b,
    nargs: 1,
    flags: HelperFlags::PURE,
    state_words: Some(&[]),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orc_b_per_byte() {
        let mut env = CpuState::new_boxed();
        assert_eq!(
            helper_orc_b(&mut env, 0x0100_2000_0000_00ff, 0, 0, 0),
            0xff00_ff00_0000_00ff
        );
    }

    #[test]
    fn dynamic_rm_with_reserved_frm_is_illegal() {
        let mut env = CpuState::new_boxed();
        env.set_word(FRM, 5);
        let insn = 0x0020_f0d3u64; // fadd.s ft1, ft1, ft2 (rm = dyn)
        helper_fp_op(
            &mut env,
            fpu::nan_box(0x3f80_0000),
            fpu::nan_box(0x3f80_0000),
            insn,
            0,
        );
        assert_eq!(env.exc_pending, ILLEGAL_INSTRUCTION + 1);
        assert_eq!(env.exc_arg, insn);
    }

    #[test]
    fn time_is_monotonic() {
        let mut env = CpuState::new_boxed();
        let a = helper_csr_counter(&mut env, 0xc01, 0, 0, 0);
        let b = helper_csr_counter(&mut env, 0xc01, 0, 0, 0);
        assert!(b >= a);
    }
}
