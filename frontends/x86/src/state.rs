//! Where the x86-64 CPU's user-visible state lives in [`xlat_ir::abi::CpuState::regs`].
//!
//! Word layout: the 16 general registers at words 0..16 in encoding order (rax, rcx, rdx, rbx,
//! rsp, rbp, rsi, rdi, r8..r15); the lazy condition codes (`CC_OP`, `CC_DST`, `CC_SRC1`,
//! `CC_SRC2`, see [`crate::flags`]); the direction flag; the fs/gs bases; MXCSR; then XMM0-15
//! as two words each (low quadword first) from word 32. rip is `CpuState::pc`.

use xlat_ir::abi::reg_offset;

/// State offset of general register `i` (0 = rax ... 15 = r15).
pub const fn gpr(i: u8) -> u32 {
    reg_offset(i as usize & 15)
}

/// rax.
pub const RAX: u32 = gpr(0);
/// rcx.
pub const RCX: u32 = gpr(1);
/// rdx.
pub const RDX: u32 = gpr(2);
/// rbx.
pub const RBX: u32 = gpr(3);
/// rsp.
pub const RSP: u32 = gpr(4);
/// rsi.
pub const RSI: u32 = gpr(6);
/// rdi.
pub const RDI: u32 = gpr(7);
/// r8.
pub const R8: u32 = gpr(8);
/// r9.
pub const R9: u32 = gpr(9);
/// r10.
pub const R10: u32 = gpr(10);
/// r11.
pub const R11: u32 = gpr(11);

/// Lazy flags: which operation last set the flags ([`crate::flags`] encoding).
pub const CC_OP: u32 = reg_offset(16);
/// Lazy flags: that operation's result (masked to its size).
pub const CC_DST: u32 = reg_offset(17);
/// Lazy flags: its first operand (or the materialized flags for `CC_EFLAGS`).
pub const CC_SRC1: u32 = reg_offset(18);
/// Lazy flags: its second operand (or the carry kept by inc/dec).
pub const CC_SRC2: u32 = reg_offset(19);
/// The direction flag, 0 or 1.
pub const DF: u32 = reg_offset(20);
/// fs base (arch_prctl ARCH_SET_FS).
pub const FS_BASE: u32 = reg_offset(21);
/// gs base.
pub const GS_BASE: u32 = reg_offset(22);
/// MXCSR (low 32 bits used).
pub const MXCSR: u32 = reg_offset(23);
/// A scratch 128-bit value (two words) for SSE memory operands.
pub const XTMP: u32 = reg_offset(24);

/// State offset of the low quadword of xmm`i` (the high one is 8 bytes above).
pub const fn xmm(i: u8) -> u32 {
    reg_offset(32 + 2 * (i as usize & 15))
}

/// State offset of x87 physical register `i`'s significand (see [`crate::x87`]).
pub const fn x87(i: u8) -> u32 {
    reg_offset(64 + (i as usize & 7))
}
/// State offset of x87 physical register `i`'s sign and exponent (16 bits).
pub const fn x87_exp(i: u8) -> u32 {
    reg_offset(76 + (i as usize & 7))
}
/// x87 stack top (0..8).
pub const X87_TOP: u32 = reg_offset(72);
/// x87 control word.
pub const X87_CW: u32 = reg_offset(73);
/// The last non-control x87 instruction: its address in bits 0..48 (sign-extended from bit
/// 47 when read) and its 11-bit opcode (FOP: the low three bits of the escape byte, then
/// the ModRM byte) in bits 48..59; zero after fninit.
pub const X87_FIP: u32 = reg_offset(88);
/// The memory operand address of the last non-control x87 instruction that had one (FDP).
pub const X87_FDP: u32 = reg_offset(89);

/// x87 status word (condition codes; TOP lives in `X87_TOP`).
pub const X87_SW: u32 = reg_offset(74);
/// Default x87 control word.
pub const X87_CW_DEFAULT: u64 = 0x37f;

/// Default MXCSR: all exceptions masked, round to nearest.
pub const MXCSR_DEFAULT: u64 = 0x1f80;

/// Names of the 64-bit general registers, in encoding order.
pub const GPR_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_overlap() {
        assert_eq!(gpr(15) + 8, CC_OP);
        assert!(XTMP + 16 <= xmm(0));
        assert_eq!(xmm(15) + 16, reg_offset(64));
    }
}
