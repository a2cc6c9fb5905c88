//! The virtual CPU that CPUID describes: vendor "GenuineIntel" (glibc reads the feature leaf
//! only for vendors it knows, and refuses to run below the baseline ISA level), family 6
//! model 0 (no model-specific tuning applies), and the features this frontend implements:
//! the x86-64 baseline ISA level (FPU, TSC, CX8, CMOV, FXSR, SSE, SSE2, SYSCALL, NX, long
//! mode) plus SSE3, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE, POPCNT, LZCNT, BMI1, BMI2 and ADX.
//! One exception: MMX is claimed because glibc's ld.so refuses to run on a CPU below the
//! baseline level, but MMX instructions raise #UD (nothing compiled for x86-64 uses them).
//! Unknown leaves read as zeros.
//!
//! XSAVE: in user mode the state word [`XCR0`] holds 3 (x87 and SSE state enabled, as a kernel
//! leaves it with CR4.OSXSAVE set) and CPUID then also reports XSAVE and OSXSAVE and leaf 0xD
//! (a 576-byte standard-form area; no XSAVEOPT, XSAVEC, XGETBV1 or XSAVES). System mode keeps
//! XCR0 zero (its guest kernel cannot enable OSXSAVE: xsetbv is not handled), so there CPUID
//! stays as above and xgetbv, xsave and xrstor are #UD.

use xlat_ir::abi::reg_offset;

/// State word: XCR0, zero when XSAVE is not enabled (system mode), 3 in user mode.
pub const XCR0: u32 = reg_offset(87);
/// XCR0 in user mode: x87 and SSE state.
pub const XCR0_USER: u64 = 3;
/// Highest basic leaf with XSAVE enabled.
pub const MAX_LEAF_XSAVE: u32 = 0xd;
/// Leaf 1 ECX bits added with XSAVE enabled: XSAVE, OSXSAVE.
pub const LEAF1_ECX_XSAVE: u32 = (1 << 26) | (1 << 27);
/// Size of the standard-form XSAVE area for XCR0 = 3: the 512-byte legacy region and the
/// 64-byte header.
pub const XSAVE_SIZE: u32 = 576;

/// Highest basic leaf.
pub const MAX_LEAF: u32 = 7;
/// Highest extended leaf.
pub const MAX_EXT_LEAF: u32 = 0x8000_0001;

/// Leaf 1 EDX: FPU, TSC, CX8, CMOV, MMX (see above), FXSR, SSE, SSE2.
pub const LEAF1_EDX: u32 =
    1 | (1 << 4) | (1 << 8) | (1 << 15) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
/// Leaf 1 ECX: SSE3, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE, POPCNT.
pub const LEAF1_ECX: u32 = 1 | (1 << 9) | (1 << 13) | (1 << 19) | (1 << 20) | (1 << 22) | (1 << 23);
/// Leaf 7 EBX: BMI1, BMI2, ADX.
pub const LEAF7_EBX: u32 = (1 << 3) | (1 << 8) | (1 << 19);

/// `[eax, ebx, ecx, edx]` for `leaf`, `sub`.
pub fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let s = |t: &[u8; 4]| u32::from_le_bytes(*t);
    match leaf {
        0 => [MAX_LEAF, s(b"Genu"), s(b"ntel"), s(b"ineI")],
        1 => [0x0000_0600, 0, LEAF1_ECX, LEAF1_EDX],
        7 if sub == 0 => [0, LEAF7_EBX, 0, 0],
        0x8000_0000 => [MAX_EXT_LEAF, 0, 0, 0],
        // LZCNT (ABM); SYSCALL, NX, LM.
        0x8000_0001 => [0, 0, 1 << 5, (1 << 11) | (1 << 20) | (1 << 29)],
        _ => [0; 4],
    }
}

/// `[eax, ebx, ecx, edx]` for `leaf`, `sub` with XCR0 = `xcr0` (zero: XSAVE not enabled,
/// as [`cpuid`]).
pub fn cpuid_xcr0(leaf: u32, sub: u32, xcr0: u64) -> [u32; 4] {
    if xcr0 == 0 {
        return cpuid(leaf, sub);
    }
    match leaf {
        0 => {
            let mut r = cpuid(0, 0);
            r[0] = MAX_LEAF_XSAVE;
            r
        }
        1 => {
            let mut r = cpuid(1, 0);
            r[2] |= LEAF1_ECX_XSAVE;
            r
        }
        // Sub-leaf 0: supported components (x87, SSE), the area size for XCR0 and the
        // largest size. Sub-leaf 1 (XSAVEOPT, XSAVEC, ...) and the rest: zero.
        0xd if sub == 0 => [XCR0_USER as u32, XSAVE_SIZE, XSAVE_SIZE, 0],
        _ => cpuid(leaf, sub),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_string_reads_in_ebx_edx_ecx_order() {
        let [_, b, c, d] = cpuid(0, 0);
        let mut v = Vec::new();
        for r in [b, d, c] {
            v.extend_from_slice(&r.to_le_bytes());
        }
        assert_eq!(&v, b"GenuineIntel");
        assert_eq!(cpuid(1, 0)[3] & (1 << 26), 1 << 26, "SSE2 is baseline");
    }

    #[test]
    fn xsave_only_with_xcr0() {
        assert_eq!(cpuid_xcr0(1, 0, 0)[2] & LEAF1_ECX_XSAVE, 0);
        assert_eq!(cpuid_xcr0(0, 0, 0)[0], MAX_LEAF);
        assert_eq!(cpuid_xcr0(0xd, 0, 0), [0; 4]);
        assert_eq!(cpuid_xcr0(1, 0, 3)[2] & LEAF1_ECX_XSAVE, LEAF1_ECX_XSAVE);
        assert_eq!(cpuid_xcr0(0, 0, 3)[0], 0xd);
        assert_eq!(cpuid_xcr0(0xd, 0, 3), [3, 576, 576, 0]);
        assert_eq!(cpuid_xcr0(0xd, 1, 3)[0] & 2, 0, "no XSAVEC");
    }
}
