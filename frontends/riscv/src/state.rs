//! Where the RISC-V hart's user-visible state lives in [`xlat_ir::abi::CpuState::regs`].
//!
//! Word layout: `x0..x31` at words 0..32 (word 0 is never read: x0 is hard-wired to zero),
//! `f0..f31` at words 32..64 (64-bit words, single values NaN-boxed), then the fcsr pieces
//! (`fflags`, `frm`, each in its own word) and the LR reservation (address and loaded value).

use xlat_ir::abi::reg_offset;

/// State offset of integer register `x{i}` (`i` < 32).
pub const fn x(i: u8) -> u32 {
    reg_offset(i as usize & 31)
}

/// State offset of floating-point register `f{i}` (`i` < 32).
pub const fn f(i: u8) -> u32 {
    reg_offset(32 + (i as usize & 31))
}

/// Accrued exception flags (fcsr bits 4:0), one word, only the low 5 bits used.
pub const FFLAGS: u32 = reg_offset(64);
/// Dynamic rounding mode (fcsr bits 7:5), one word, only the low 3 bits used.
pub const FRM: u32 = reg_offset(65);
/// Address of the current LR reservation; `RES_NONE` when there is none.
pub const RES_ADDR: u32 = reg_offset(66);
/// Value loaded by the LR that made the reservation (sign-extended for LR.W).
pub const RES_VAL: u32 = reg_offset(67);
/// `RES_ADDR` value meaning "no reservation" (odd, so no aligned SC can match it).
pub const RES_NONE: u64 = u64::MAX;

/// Stack pointer (x2).
pub const SP: u32 = x(2);
/// Thread pointer (x4).
pub const TP: u32 = x(4);
/// a0 (x10): first argument and return value.
pub const A0: u32 = x(10);
/// a7 (x17): Linux syscall number.
pub const A7: u32 = x(17);

/// ABI names of x0..x31, as objdump prints them.
pub const XNAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of f0..f31, as objdump prints them.
pub const FNAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_overlap() {
        assert_eq!(x(1), reg_offset(1));
        assert_eq!(f(0), x(31) + 8);
        assert_eq!(FFLAGS, f(31) + 8);
        assert!(RES_VAL < reg_offset(xlat_ir::abi::STATE_WORDS - 1));
    }
}
