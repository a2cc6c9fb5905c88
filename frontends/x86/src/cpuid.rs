//! The virtual CPU that CPUID describes: vendor "GenuineIntel" (glibc reads the feature leaf
//! only for vendors it knows, and refuses to run below the baseline ISA level), family 6
//! model 0 (no model-specific tuning applies), and the features this frontend implements:
//! the x86-64 baseline ISA level (FPU, TSC, CX8, CMOV, FXSR, SSE, SSE2, SYSCALL, NX, long
//! mode) plus SSE3, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE, POPCNT, LZCNT, BMI1, BMI2 and ADX.
//! One exception: MMX is claimed because glibc's ld.so refuses to run on a CPU below the
//! baseline level, but MMX instructions raise #UD (nothing compiled for x86-64 uses them).
//! Unknown leaves read as zeros.

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
}
