//! Lazy condition codes. An instruction that sets the flags stores what it did (`CC_OP`: the
//! operation kind and operand size) and its values (`CC_DST`, `CC_SRC1`, `CC_SRC2`); the flags
//! are computed only when something reads them: inline when the consumer is in the same unit
//! and the kind is known (cmp/sub/test followed by jcc), else by [`eflags`] in a helper.

/// The flags are materialized in `CC_SRC1` (the arithmetic bits of RFLAGS).
pub const EFLAGS: u64 = 0;
/// dst = src1 + src2.
pub const ADD: u64 = 1;
/// dst = src1 - src2.
pub const SUB: u64 = 2;
/// dst = src1 + src2 + carry-in.
pub const ADC: u64 = 3;
/// dst = src1 - src2 - borrow-in.
pub const SBB: u64 = 4;
/// and/or/xor/test: CF = OF = 0.
pub const LOGIC: u64 = 5;
/// dst = src1 + 1; src2 holds the preserved CF.
pub const INC: u64 = 6;
/// dst = src1 - 1; src2 holds the preserved CF.
pub const DEC: u64 = 7;
/// dst = src1 << src2 (src2 in 1..size).
pub const SHL: u64 = 8;
/// dst = src1 >> src2, logical.
pub const SHR: u64 = 9;
/// dst = src1 >> src2, arithmetic (src1 masked, sign taken at the size).
pub const SAR: u64 = 10;
/// Multiplies: CF = OF = (src1 != 0); SF, ZF, PF from dst.
pub const MUL: u64 = 11;

/// Carry flag.
pub const CF: u64 = 1;
/// Parity flag.
pub const PF: u64 = 1 << 2;
/// Auxiliary carry flag.
pub const AF: u64 = 1 << 4;
/// Zero flag.
pub const ZF: u64 = 1 << 6;
/// Sign flag.
pub const SF: u64 = 1 << 7;
/// Direction flag (kept apart, in `state::DF`).
pub const DFLAG: u64 = 1 << 10;
/// Overflow flag.
pub const OF: u64 = 1 << 11;
/// The arithmetic flags.
pub const ARITH: u64 = CF | PF | AF | ZF | SF | OF;

/// Packs a kind and an operand size in bytes (1, 2, 4, 8) into a `CC_OP` value.
pub const fn cc_op(kind: u64, bytes: u32) -> u64 {
    (kind << 2) | bytes.trailing_zeros() as u64
}

/// Mask of an operand of `bytes` bytes.
pub const fn mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    }
}

fn sign(v: u64, bits: u32) -> bool {
    (v >> (bits - 1)) & 1 != 0
}

fn parity(v: u64) -> u64 {
    if (v as u8).count_ones().is_multiple_of(2) {
        PF
    } else {
        0
    }
}

/// The arithmetic flags for a lazy state.
pub fn eflags(op: u64, dst: u64, s1: u64, s2: u64) -> u64 {
    let kind = op >> 2;
    if kind == EFLAGS {
        return s1 & ARITH;
    }
    let bytes = 1u32 << (op & 3);
    let bits = bytes * 8;
    let m = mask(bytes);
    let (dst, s1, s2m) = (dst & m, s1 & m, s2 & m);
    let mut f = parity(dst);
    if dst == 0 {
        f |= ZF;
    }
    if sign(dst, bits) {
        f |= SF;
    }
    let af = (dst ^ s1 ^ s2m) & 0x10;
    match kind {
        ADD | ADC => {
            let cin = if kind == ADC {
                dst.wrapping_sub(s1).wrapping_sub(s2m) & m
            } else {
                0
            };
            let carry = if cin != 0 { dst <= s1 } else { dst < s1 };
            f |= u64::from(carry) | if af != 0 { AF } else { 0 };
            if sign(!(s1 ^ s2m) & (s1 ^ dst), bits) {
                f |= OF;
            }
        }
        SUB | SBB => {
            let bin = if kind == SBB {
                s1.wrapping_sub(s2m).wrapping_sub(dst) & m
            } else {
                0
            };
            let borrow = if bin != 0 { s1 <= s2m } else { s1 < s2m };
            f |= u64::from(borrow) | if af != 0 { AF } else { 0 };
            if sign((s1 ^ s2m) & (s1 ^ dst), bits) {
                f |= OF;
            }
        }
        LOGIC => {}
        INC | DEC => {
            f |= (s2 & CF) | if (dst ^ s1 ^ 1) & 0x10 != 0 { AF } else { 0 };
            let of_val = if kind == INC {
                1u64 << (bits - 1)
            } else {
                (1u64 << (bits - 1)) - 1
            };
            if dst == of_val {
                f |= OF;
            }
        }
        SHL => {
            let c = s2 & 0xff;
            if c != 0 && c <= u64::from(bits) && (s1 >> (u64::from(bits) - c)) & 1 != 0 {
                f |= CF;
            }
            if sign(dst, bits) != (f & CF != 0) {
                f |= OF;
            }
        }
        SHR | SAR => {
            let c = s2 & 0xff;
            let v = if kind == SAR && sign(s1, bits) {
                s1 | !m
            } else {
                s1
            };
            if c != 0 && (v >> (c - 1).min(63)) & 1 != 0 {
                f |= CF;
            }
            if kind == SHR && sign(s1, bits) {
                f |= OF;
            }
        }
        MUL if s1 != 0 => f |= CF | OF,
        _ => {}
    }
    f
}

/// Evaluates x86 condition code `cc` (the low nibble of a jcc opcode) on the flags `f`.
pub fn cond(cc: u64, f: u64) -> bool {
    let set = |b: u64| f & b != 0;
    let r = match cc >> 1 {
        0 => set(OF),
        1 => set(CF),
        2 => set(ZF),
        3 => set(CF) || set(ZF),
        4 => set(SF),
        5 => set(PF),
        6 => set(SF) != set(OF),
        _ => set(ZF) || set(SF) != set(OF),
    };
    r != (cc & 1 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_flags_match_the_sdm() {
        // cmp al, 1 with al = 0: borrow, sign, AF, no overflow.
        let f = eflags(cc_op(SUB, 1), 0xff, 0, 1);
        assert_eq!(f, CF | SF | AF | PF);
        // cmp eax, 1 with eax = 0x80000000: signed overflow.
        let f = eflags(cc_op(SUB, 4), 0x7fff_ffff, 0x8000_0000, 1);
        assert_eq!(f & (OF | CF | SF | ZF), OF);
        assert!(cond(0xc, f)); // jl: SF != OF
    }

    #[test]
    fn add_adc_carry() {
        assert_eq!(
            eflags(cc_op(ADD, 1), 0, 0x80, 0x80) & (CF | OF | ZF),
            CF | OF | ZF
        );
        // adc with carry in: 0xff + 0 + 1 = 0x100.
        assert_eq!(eflags(cc_op(ADC, 1), 0, 0xff, 0) & CF, CF);
        assert_eq!(eflags(cc_op(ADC, 8), 5, 2, 2) & CF, 0);
    }

    #[test]
    fn inc_keeps_carry() {
        assert_eq!(
            eflags(cc_op(INC, 2), 0x8000, 0x7fff, CF) & (CF | OF),
            CF | OF
        );
        assert_eq!(eflags(cc_op(DEC, 8), 0, 1, 0) & (CF | ZF), ZF);
    }
}
