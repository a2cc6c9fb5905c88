//! Where the AArch64 EL0 state lives in [`xlat_ir::abi::CpuState::regs`].
//!
//! Word layout: `x0..x30` at words 0..31, `sp` at word 31, the flags NZCV as three lazy words
//! ([`FK`], [`FA`], [`FB`]: a kind and the last flag-setting operation's operands), `v0..v31`
//! as two words each (low half first), then FPCR, FPSR, TPIDR_EL0 and the exclusive monitor.
//!
//! Lazy flags: a compare leaves its operands, not four computed flags, so a block that sets
//! the flags and branches on them computes nothing for its successor; NZCV is worked out only
//! where it is read across blocks, by `MRS NZCV`, by helpers, signal frames and the embedding
//! API ([`nzcv`], [`set_nzcv`]).

use xlat_ir::abi::{CpuState, reg_offset};

/// State offset of `x{i}` (`i` < 31); `x(31)` is `sp`.
pub const fn x(i: u8) -> u32 {
    reg_offset(i as usize & 31)
}

/// Stack pointer.
pub const SP: u32 = reg_offset(31);
/// How the flags are held: [`K_NZCV`], or [`K_SUB`]/[`K_ADD`], with [`K_W32`] for 32 bits.
pub const FK: u32 = reg_offset(32);
/// First flag word: NZCV in bits 31..28 ([`K_NZCV`]), or the first operand.
pub const FA: u32 = reg_offset(33);
/// Second flag word: the second operand ([`K_SUB`], [`K_ADD`]; unused with [`K_NZCV`]).
pub const FB: u32 = reg_offset(34);

/// [`FK`]: NZCV is bits 31..28 of [`FA`] (all other bits zero).
pub const K_NZCV: u64 = 0;
/// [`FK`]: NZCV is that of the subtraction `FA - FB` (CMP, SUBS, FCMP in this form).
pub const K_SUB: u64 = 1;
/// [`FK`]: NZCV is that of the addition `FA + FB` (CMN, ADDS; ANDS/TST as `res + 0`).
pub const K_ADD: u64 = 2;
/// [`FK`] bit: a 32-bit operation (only the low halves of [`FA`] and [`FB`] count).
pub const K_W32: u64 = 4;

/// NZCV (bits 31..28) of the flag words `k`, `a`, `b` ([`FK`], [`FA`], [`FB`]).
pub fn nzcv_of(k: u64, a: u64, b: u64) -> u32 {
    if k & (K_SUB | K_ADD) == 0 {
        return a as u32 & 0xf000_0000;
    }
    let sh = if k & K_W32 != 0 { 32 } else { 0 };
    let (a, b) = (a << sh, b << sh);
    let (res, c, v) = if k & K_ADD != 0 {
        let (r, c) = a.overflowing_add(b);
        (r, c, (a as i64).overflowing_add(b as i64).1)
    } else {
        (
            a.wrapping_sub(b),
            a >= b,
            (a as i64).overflowing_sub(b as i64).1,
        )
    };
    (u32::from(res >> 63 != 0) << 31)
        | (u32::from(res == 0) << 30)
        | (u32::from(c) << 29)
        | (u32::from(v) << 28)
}

/// NZCV (bits 31..28, as `MRS NZCV` reads it).
pub fn nzcv(env: &CpuState) -> u32 {
    nzcv_of(env.word(FK), env.word(FA), env.word(FB))
}

/// Sets NZCV from bits 31..28 of `v` (the other bits are ignored).
pub fn set_nzcv(env: &mut CpuState, v: u64) {
    env.set_word(FK, K_NZCV);
    env.set_word(FA, v & 0xf000_0000);
    env.set_word(FB, 0);
}

/// Sets the flags an FCMP gives (NZCV in bits 3..0: 0110 equal, 1000 less, 0010 greater, 0011
/// unordered) as a subtraction, the form an inline FCMP leaves ([`fcmp_operands`]), so a
/// condition after it is one compare whichever path set it.
pub fn set_fcmp_nzcv(env: &mut CpuState, nzcv: u32) {
    match fcmp_operands(nzcv) {
        Some((a, b)) => {
            env.set_word(FK, K_SUB);
            env.set_word(FA, a);
            env.set_word(FB, b);
        }
        None => set_nzcv(env, u64::from(nzcv) << 28),
    }
}

/// Operands `(a, b)` whose 64-bit subtraction gives the FCMP result `nzcv` (bits 3..0).
pub fn fcmp_operands(nzcv: u32) -> Option<(u64, u64)> {
    match nzcv {
        0b0110 => Some((0, 0)),
        0b1000 => Some((0, 1)),
        0b0010 => Some((1, 0)),
        0b0011 => Some((1 << 63, 1)),
        _ => None,
    }
}

/// State offset of the low 64 bits of `v{i}`; the high half is 8 bytes above.
pub const fn v(i: u8) -> u32 {
    reg_offset(40 + 2 * (i as usize & 31))
}

/// FPCR.
pub const FPCR: u32 = reg_offset(104);
/// FPSR.
pub const FPSR: u32 = reg_offset(105);
/// TPIDR_EL0 (the TLS pointer).
pub const TPIDR: u32 = reg_offset(106);
/// Address of the exclusive monitor's reservation; [`EXCL_NONE`] when open.
pub const EXCL_ADDR: u32 = reg_offset(107);
/// Value (low 64 bits) the load-exclusive read.
pub const EXCL_VAL: u32 = reg_offset(108);
/// High 64 bits the load-exclusive pair read.
pub const EXCL_VAL2: u32 = reg_offset(109);
/// Non-zero after an IC IVAU: the next ISB drops the translated code (guest code was written).
pub const IC_DIRTY: u32 = reg_offset(110);
/// `EXCL_ADDR` value meaning "no reservation" (odd, so no aligned store-exclusive matches it).
pub const EXCL_NONE: u64 = u64::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_overlap() {
        assert_eq!(SP, x(30) + 8);
        assert_eq!(FK, SP + 8);
        assert!(v(0) > FB);
        assert!(v(31) + 8 < FPCR);
        assert!(IC_DIRTY < reg_offset(xlat_ir::abi::STATE_WORDS - 1));
    }

    #[test]
    fn lazy_flags_read_back() {
        let mut env = CpuState::new_boxed();
        for v in 0..16u64 {
            set_nzcv(&mut env, v << 28 | 0x0fff_ffff);
            assert_eq!(u64::from(nzcv(&env)), v << 28);
        }
        for f in [0b0110, 0b1000, 0b0010, 0b0011] {
            set_fcmp_nzcv(&mut env, f);
            assert_eq!(nzcv(&env), f << 28);
            assert_eq!(env.word(FK), K_SUB);
        }
        // 32-bit kinds ignore the upper halves.
        assert_eq!(
            nzcv_of(K_SUB | K_W32, 0xdead_0000_0000_0001, 2),
            0x8000_0000
        );
        assert_eq!(nzcv_of(K_ADD | K_W32, 0xffff_ffff, 1), 0x6000_0000);
        assert_eq!(nzcv_of(K_ADD, 1 << 63, 1 << 63), 0x7000_0000);
        assert_eq!(nzcv_of(K_SUB, 5, 5), 0x6000_0000);
        assert_eq!(nzcv_of(K_SUB, 1 << 63, 1), 0x3000_0000);
    }
}
