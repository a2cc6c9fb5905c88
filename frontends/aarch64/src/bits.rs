//! Pure decode-time arithmetic from the Arm ARM pseudocode: `DecodeBitMasks` for logical
//! immediates and bitfield moves.

/// `DecodeBitMasks(N, imms, immr, immediate)` for a `datasize`-bit operation: `(wmask, tmask)`,
/// or `None` where the encoding is reserved.
pub fn decode_bit_masks(
    n: u32,
    imms: u32,
    immr: u32,
    immediate: bool,
    datasize: u32,
) -> Option<(u64, u64)> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (1u32 << len) > datasize {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if immediate && (imms & levels) == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let d = s.wrapping_sub(r) & levels;
    let esize = 1u32 << len;
    let welem = ror(ones(s + 1), r, esize);
    let telem = ones(d + 1);
    Some((
        replicate(welem, esize, datasize),
        replicate(telem, esize, datasize),
    ))
}

fn ones(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

fn ror(v: u64, r: u32, esize: u32) -> u64 {
    if r == 0 {
        return v;
    }
    let m = ones(esize);
    ((v >> r) | (v << (esize - r))) & m
}

fn replicate(elem: u64, esize: u32, datasize: u32) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < datasize {
        out |= elem << i;
        i += esize;
    }
    out
}

/// CRC32 / CRC32C (bit-reflected, as the A64 instructions define them) of the low `8 << sz`
/// bits of `data` into `acc`; `kind` is `c << 8 | sz`.
pub fn crc32(acc: u32, data: u64, kind: u64) -> u32 {
    let poly: u32 = if kind >> 8 != 0 {
        0x82f6_3b78
    } else {
        0xedb8_8320
    };
    let nbits = 8u32 << (kind & 3);
    let mut crc = acc;
    for i in 0..nbits {
        let bit = ((data >> i) as u32 ^ crc) & 1;
        crc = (crc >> 1) ^ if bit != 0 { poly } else { 0 };
    }
    crc
}

extern "C" fn helper_crc32(
    _: &mut xlat_ir::abi::CpuState,
    acc: u64,
    data: u64,
    kind: u64,
    _: u64,
) -> u64 {
    u64::from(crc32(acc as u32, data, kind))
}

/// The CRC32 helper (pure: accumulator, data, kind).
pub static CRC32: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_crc32",
    func: helper_crc32,
    nargs: 3,
    flags: xlat_ir::HelperFlags::PURE,
    state_words: None,
};

/// CNTVCT_EL0 frequency: CNTFRQ_EL0 (1 GHz, counting nanoseconds).
pub const CNTFRQ: u64 = 1_000_000_000;

extern "C" fn helper_cntvct(_: &mut xlat_ir::abi::CpuState, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // The host's monotonic clock in nanoseconds since an arbitrary start (the process's).
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The CNTVCT_EL0 helper.
pub static CNTVCT: xlat_ir::Helper = xlat_ir::Helper {
    name: "a64_cntvct",
    func: helper_cntvct,
    nargs: 0,
    flags: xlat_ir::HelperFlags::STATE,
    state_words: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_immediates_match_the_architecture() {
        // and x0, x1, #0xff: N=1 immr=0 imms=7.
        assert_eq!(decode_bit_masks(1, 7, 0, true, 64).map(|m| m.0), Some(0xff));
        // orr w0, w1, #0x55555555: N=0 immr=0 imms=0b111100.
        assert_eq!(
            decode_bit_masks(0, 0x3c, 0, true, 32).map(|m| m.0),
            Some(0x5555_5555)
        );
        // 0x8000000000000000: N=1 immr=1 imms=0.
        assert_eq!(
            decode_bit_masks(1, 0, 1, true, 64).map(|m| m.0),
            Some(1 << 63)
        );
        // All ones is reserved for immediates.
        assert_eq!(decode_bit_masks(1, 0x3f, 0, true, 64), None);
        // N=1 is reserved for 32-bit operations.
        assert_eq!(decode_bit_masks(1, 7, 0, true, 32), None);
    }

    #[test]
    fn bitfield_masks() {
        // ubfx x0, x1, #8, #4 = ubfm x0, x1, #8, #11: wmask ror(ones(12), 8), tmask ones(4).
        let (w, t) = decode_bit_masks(1, 11, 8, false, 64).unwrap();
        assert_eq!(t, 0xf);
        assert_eq!(w, 0xf | (0xff << 56));
    }
}
