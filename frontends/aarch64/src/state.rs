//! Where the AArch64 EL0 state lives in [`xlat_ir::abi::CpuState::regs`].
//!
//! Word layout: `x0..x30` at words 0..31, `sp` at word 31, the flags N, Z, C, V each in its own
//! word (0 or 1, so conditions and carries are single compares), `v0..v31` as two words each
//! (low half first), then FPCR, FPSR, TPIDR_EL0 and the exclusive monitor.

use xlat_ir::abi::reg_offset;

/// State offset of `x{i}` (`i` < 31); `x(31)` is `sp`.
pub const fn x(i: u8) -> u32 {
    reg_offset(i as usize & 31)
}

/// Stack pointer.
pub const SP: u32 = reg_offset(31);
/// N flag (0 or 1).
pub const NF: u32 = reg_offset(32);
/// Z flag (0 or 1).
pub const ZF: u32 = reg_offset(33);
/// C flag (0 or 1).
pub const CF: u32 = reg_offset(34);
/// V flag (0 or 1).
pub const VF: u32 = reg_offset(35);

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
/// `EXCL_ADDR` value meaning "no reservation" (odd, so no aligned store-exclusive matches it).
pub const EXCL_NONE: u64 = u64::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_overlap() {
        assert_eq!(SP, x(30) + 8);
        assert_eq!(NF, SP + 8);
        assert!(v(0) > VF);
        assert!(v(31) + 8 < FPCR);
        assert!(EXCL_VAL2 < reg_offset(xlat_ir::abi::STATE_WORDS - 1));
    }
}
