//! Hand-checked cases from the RISC-V ISA manual (F/D chapters) and IEEE 754-2019, each named
//! after the rule it pins. Expected values are worked out by hand in the comments.

#[cfg(test)]
mod tests {
    use xlat_frontend_riscv::fpu::{self, DZ, Fmt, NV, NX, OF, UF};

    const RNE: u8 = 0;
    const RTZ: u8 = 1;
    const RDN: u8 = 2;
    const RUP: u8 = 3;
    const RMM: u8 = 4;

    fn d(x: f64) -> u64 {
        x.to_bits()
    }
    fn s(x: f32) -> u64 {
        u64::from(x.to_bits())
    }

    const S_QNAN: u64 = 0x7fc0_0000;
    const S_SNAN: u64 = 0x7f80_0001;
    const D_QNAN: u64 = 0x7ff8_0000_0000_0000;
    const D_SNAN: u64 = 0x7ff0_0000_0000_0001;
    const D_MIN_NORMAL: u64 = 0x0010_0000_0000_0000;
    const D_MAX_SUBNORMAL: u64 = 0x000f_ffff_ffff_ffff;

    #[test]
    fn nan_results_are_canonical_and_snan_raises_nv() {
        // ISA-2019 §11.3: inf - inf is invalid and gives the canonical NaN.
        assert_eq!(
            fpu::sub(Fmt::S, s(f32::INFINITY), s(f32::INFINITY), RNE),
            (S_QNAN, NV)
        );
        // A NaN operand's payload and sign are not propagated; quiet NaNs raise nothing.
        assert_eq!(
            fpu::add(Fmt::D, 0xfff8_0000_dead_beef, d(1.0), RNE),
            (D_QNAN, 0)
        );
        assert_eq!(fpu::mul(Fmt::D, D_SNAN, d(1.0), RNE), (D_QNAN, NV));
        assert_eq!(fpu::sqrt(Fmt::D, d(-1.0), RNE), (D_QNAN, NV));
        assert_eq!(fpu::div(Fmt::S, s(0.0), s(0.0), RNE), (S_QNAN, NV));
    }

    #[test]
    fn division_by_zero_raises_dz() {
        assert_eq!(
            fpu::div(Fmt::D, d(-3.0), d(0.0), RNE),
            (d(f64::NEG_INFINITY), DZ)
        );
        // inf / 0 is exact infinity, no DZ (IEEE 754 7.3 applies to finite dividends).
        assert_eq!(
            fpu::div(Fmt::D, d(f64::INFINITY), d(0.0), RNE),
            (d(f64::INFINITY), 0)
        );
    }

    #[test]
    fn riscv_tests_arithmetic_samples() {
        // Values from riscv-tests isa/rv64uf (fadd.S, fdiv.S, fmadd.S).
        assert_eq!(fpu::add(Fmt::S, s(2.5), s(1.0), RNE), (s(3.5), 0));
        assert_eq!(fpu::add(Fmt::S, s(-1235.1), s(1.1), RNE), (s(-1234.0), NX));
        assert_eq!(fpu::div(Fmt::D, d(3.25), d(1.0), RNE), (d(3.25), 0));
        assert_eq!(fpu::sqrt(Fmt::S, s(10000.0), RNE), (s(100.0), 0));
        // fmadd 2 * -5 + -2 = -12; fnmadd negates both terms: 12; fmsub: -8; fnmsub: 8.
        let fma = |np, na| fpu::fma(Fmt::D, d(2.0), d(-5.0), d(-2.0), RNE, np, na);
        assert_eq!(fma(false, false), (d(-12.0), 0));
        assert_eq!(fma(true, true), (d(12.0), 0));
        assert_eq!(fma(false, true), (d(-8.0), 0));
        assert_eq!(fma(true, false), (d(8.0), 0));
    }

    #[test]
    fn fma_inf_times_zero_is_invalid_even_with_quiet_nan_addend() {
        // ISA-2019 §11.6: "must set the invalid operation exception flag when the
        // multiplicands are inf and zero, even when the addend is a quiet NaN".
        let r = fpu::fma(Fmt::D, d(f64::INFINITY), d(0.0), D_QNAN, RNE, false, false);
        assert_eq!(r, (D_QNAN, NV));
    }

    #[test]
    fn exact_zero_sums_are_positive_except_when_rounding_down() {
        // IEEE 754 6.3.
        assert_eq!(fpu::add(Fmt::D, d(1.5), d(-1.5), RNE), (d(0.0), 0));
        assert_eq!(fpu::add(Fmt::D, d(1.5), d(-1.5), RDN), (d(-0.0), 0));
        assert_eq!(fpu::add(Fmt::S, s(-0.0), s(-0.0), RNE), (s(-0.0), 0));
        assert_eq!(fpu::sub(Fmt::S, s(0.0), s(0.0), RDN), (s(-0.0), 0));
        assert_eq!(fpu::sqrt(Fmt::D, d(-0.0), RNE), (d(-0.0), 0));
    }

    #[test]
    fn underflow_is_detected_after_rounding() {
        // (1 + 2^-27)·2^-511 × (1 - 2^-27)·2^-511 = (1 - 2^-54)·2^-1022, just below the
        // smallest normal. Rounded to 53 bits with an unbounded exponent it is 2^-1022 (a tie,
        // to even), so it is not tiny: RNE gives the smallest normal with NX only. Tininess
        // before rounding would also raise UF.
        let x = d((1.0 + 2f64.powi(-27)) * 2f64.powi(-511));
        let y = d((1.0 - 2f64.powi(-27)) * 2f64.powi(-511));
        assert_eq!(fpu::mul(Fmt::D, x, y, RNE), (D_MIN_NORMAL, NX));
        // Truncating gives the largest subnormal, and 53-bit truncation stays below 2^-1022.
        assert_eq!(fpu::mul(Fmt::D, x, y, RTZ), (D_MAX_SUBNORMAL, UF | NX));
        // (2 - 2^-52)·2^-1023 = 2^-1022 - 2^-1075 fits 53 bits, so it is tiny; as a subnormal
        // it is a tie that rounds (to even) up to 2^-1022: UF and NX with a normal result.
        let x = d(2.0 - 2f64.powi(-52));
        let y = 0x0008_0000_0000_0000; // 2^-1023
        assert_eq!(fpu::mul(Fmt::D, x, y, RNE), (D_MIN_NORMAL, UF | NX));
        // An exact subnormal result is not an underflow.
        assert_eq!(
            fpu::mul(Fmt::D, d(0.5), D_MIN_NORMAL, RNE),
            (0x0008_0000_0000_0000, 0)
        );
    }

    #[test]
    fn overflow_result_depends_on_rounding_direction() {
        // IEEE 754 7.4: RNE/RMM go to infinity; RTZ and the mode rounding towards zero for
        // the result's sign give the largest finite number.
        let big = d(f64::MAX);
        assert_eq!(fpu::add(Fmt::D, big, big, RNE), (d(f64::INFINITY), OF | NX));
        assert_eq!(fpu::add(Fmt::D, big, big, RMM), (d(f64::INFINITY), OF | NX));
        assert_eq!(fpu::add(Fmt::D, big, big, RTZ), (big, OF | NX));
        assert_eq!(fpu::add(Fmt::D, big, big, RDN), (big, OF | NX));
        let neg = d(-f64::MAX);
        assert_eq!(fpu::mul(Fmt::D, neg, d(2.0), RUP), (neg, OF | NX));
        assert_eq!(
            fpu::mul(Fmt::D, neg, d(2.0), RDN),
            (d(f64::NEG_INFINITY), OF | NX)
        );
    }

    #[test]
    fn rounding_modes_on_ties() {
        // 2.5 and -2.5 are ties between integers.
        let w = |x: f64, rm| fpu::to_int(Fmt::D, d(x), rm, true, true);
        assert_eq!(w(2.5, RNE), (2, NX));
        assert_eq!(w(2.5, RMM), (3, NX));
        assert_eq!(w(-2.5, RMM), (-3i64 as u64, NX));
        assert_eq!(w(-2.5, RDN), (-3i64 as u64, NX));
        assert_eq!(w(-2.5, RUP), (-2i64 as u64, NX));
        assert_eq!(w(-2.5, RTZ), (-2i64 as u64, NX));
        // 2^24 + 1 needs 25 bits: a tie between 2^24 and 2^24 + 2 in binary32.
        let sw = |rm| fpu::from_int(Fmt::S, (1 << 24) + 1, rm, true, true);
        assert_eq!(sw(RNE), (s(16_777_216.0), NX));
        assert_eq!(sw(RUP), (s(16_777_218.0), NX));
        assert_eq!(sw(RMM), (s(16_777_218.0), NX));
    }

    #[test]
    fn fcvt_saturates_per_the_isa_table() {
        // ISA table "domains of float-to-integer conversions": NaN and +inf give the maximum,
        // -inf the minimum, out-of-range values saturate; all of these raise NV only.
        let nan = D_QNAN;
        let cvt = |x, signed, word| fpu::to_int(Fmt::D, x, RTZ, signed, word);
        assert_eq!(cvt(nan, true, true), (0x7fff_ffff, NV));
        assert_eq!(cvt(nan, true, false), (0x7fff_ffff_ffff_ffff, NV));
        // wu: 2^32 - 1, sign-extended to 64 bits as every W result is.
        assert_eq!(cvt(nan, false, true), (u64::MAX, NV));
        assert_eq!(cvt(nan, false, false), (u64::MAX, NV));
        let ninf = d(f64::NEG_INFINITY);
        assert_eq!(cvt(ninf, true, true), (0xffff_ffff_8000_0000, NV));
        assert_eq!(cvt(ninf, true, false), (0x8000_0000_0000_0000, NV));
        assert_eq!(cvt(ninf, false, true), (0, NV));
        assert_eq!(cvt(ninf, false, false), (0, NV));
        // riscv-tests fcvt_w.S: -3e9 and 3e9 saturate; 3e9 fits wu (sign-extended).
        let cs = |x: f32, signed| fpu::to_int(Fmt::S, s(x), RTZ, signed, true);
        assert_eq!(cs(-3e9, true), (0xffff_ffff_8000_0000, NV));
        assert_eq!(cs(3e9, true), (0x7fff_ffff, NV));
        assert_eq!(cs(3e9, false), (0xffff_ffff_b2d0_5e00, 0));
        // Unsigned: a negative value that rounds to 0 is only inexact; -1 is invalid.
        assert_eq!(cs(-0.9, false), (0, NX));
        assert_eq!(cs(-1.0, false), (0, NV));
        assert_eq!(cs(-1.1, true), (u64::MAX, NX));
        // -2^63 is the one representable value at the bottom of the l range.
        assert_eq!(cvt(d(-(2f64.powi(63))), true, false), (1 << 63, 0));
        assert_eq!(cvt(d(2f64.powi(63)), true, false), ((1 << 63) - 1, NV));
    }

    #[test]
    fn fmin_fmax_follow_isa_2_2() {
        // minimumNumber/maximumNumber: -0 < +0, a single quiet NaN is ignored silently, a
        // signaling NaN is ignored but raises NV, two NaNs give the canonical NaN.
        assert_eq!(fpu::min(Fmt::D, d(0.0), d(-0.0)), (d(-0.0), 0));
        assert_eq!(fpu::max(Fmt::D, d(-0.0), d(0.0)), (d(0.0), 0));
        assert_eq!(fpu::min(Fmt::S, S_QNAN, s(-1235.1)), (s(-1235.1), 0));
        assert_eq!(fpu::max(Fmt::S, s(2.5), S_SNAN), (s(2.5), NV));
        assert_eq!(
            fpu::max(Fmt::D, D_SNAN, 0xfff8_0000_0000_0001),
            (D_QNAN, NV)
        );
        assert_eq!(fpu::min(Fmt::D, d(-1.0), d(-2.0)), (d(-2.0), 0));
    }

    #[test]
    fn comparisons_quiet_and_signaling() {
        // feq is quiet (NV only for sNaN); flt/fle signal on any NaN. -0 == +0.
        assert_eq!(fpu::eq(Fmt::D, d(-0.0), d(0.0)), (1, 0));
        assert_eq!(fpu::eq(Fmt::D, D_QNAN, D_QNAN), (0, 0));
        assert_eq!(fpu::eq(Fmt::S, S_SNAN, s(1.0)), (0, NV));
        assert_eq!(fpu::lt(Fmt::D, D_QNAN, d(1.0)), (0, NV));
        assert_eq!(fpu::le(Fmt::S, s(1.0), S_QNAN), (0, NV));
        assert_eq!(fpu::lt(Fmt::D, d(-0.0), d(0.0)), (0, 0));
        assert_eq!(fpu::le(Fmt::D, d(-0.0), d(0.0)), (1, 0));
        assert_eq!(fpu::lt(Fmt::S, s(-2.0), s(-1.0)), (1, 0));
    }

    #[test]
    fn fclass_sets_one_bit_per_class() {
        // ISA table "Format of result of FCLASS instruction".
        let c = |x| fpu::classify(Fmt::D, x);
        assert_eq!(c(d(f64::NEG_INFINITY)), 1 << 0);
        assert_eq!(c(d(-1.0)), 1 << 1);
        assert_eq!(c(d(-0.0) | 1), 1 << 2);
        assert_eq!(c(d(-0.0)), 1 << 3);
        assert_eq!(c(d(0.0)), 1 << 4);
        assert_eq!(c(D_MAX_SUBNORMAL), 1 << 5);
        assert_eq!(c(D_MIN_NORMAL), 1 << 6);
        assert_eq!(c(d(f64::INFINITY)), 1 << 7);
        assert_eq!(c(D_SNAN), 1 << 8);
        assert_eq!(c(D_QNAN), 1 << 9);
        assert_eq!(fpu::classify(Fmt::S, 0xff80_0001), 1 << 8);
    }

    #[test]
    fn format_conversions() {
        // fcvt.s.d rounds: 1 + 2^-30 is not representable in binary32.
        let x = d(1.0 + 2f64.powi(-30));
        assert_eq!(fpu::convert(Fmt::D, Fmt::S, x, RNE), (s(1.0), NX));
        assert_eq!(
            fpu::convert(Fmt::D, Fmt::S, x, RUP),
            (s(1.0 + f32::EPSILON), NX)
        );
        // Too large for binary32 overflows; fcvt.d.s of a signaling NaN is invalid.
        assert_eq!(
            fpu::convert(Fmt::D, Fmt::S, d(1e39), RNE),
            (s(f32::INFINITY), OF | NX)
        );
        assert_eq!(fpu::convert(Fmt::S, Fmt::D, S_SNAN, RNE), (D_QNAN, NV));
        // The smallest binary32 subnormal widens exactly to 2^-149.
        assert_eq!(
            fpu::convert(Fmt::S, Fmt::D, 1, RNE),
            (d(2f64.powi(-149)), 0)
        );
        // fcvt.d.wu uses only the low 32 bits of the register.
        assert_eq!(
            fpu::from_int(Fmt::D, 0xdead_beef_ffff_ffff, RNE, false, true),
            (d(4294967295.0), 0)
        );
        assert_eq!(
            fpu::from_int(Fmt::D, 0xdead_beef_ffff_ffff, RNE, true, true),
            (d(-1.0), 0)
        );
    }

    #[test]
    fn rounding_mode_resolution_and_nan_boxing() {
        // ISA-2019 §11.2: rm 7 selects frm; 5 and 6 are reserved, as are frm values 5..7.
        assert_eq!(fpu::resolve_rm(7, 3), Some(3));
        assert_eq!(fpu::resolve_rm(4, 7), Some(4));
        assert_eq!(fpu::resolve_rm(5, 0), None);
        assert_eq!(fpu::resolve_rm(7, 6), None);
        assert_eq!(fpu::resolve_rm(7, 7), None);
        // ISA-2019 §12.2: S values live NaN-boxed; anything else reads as the canonical NaN.
        assert_eq!(fpu::nan_box(s(1.0)), 0xffff_ffff_3f80_0000);
        assert_eq!(fpu::unbox(0xffff_ffff_3f80_0000), s(1.0));
        assert_eq!(fpu::unbox(0xffff_fffe_3f80_0000), S_QNAN);
        assert_eq!(fpu::unbox(d(1.0)), S_QNAN);
    }
}
