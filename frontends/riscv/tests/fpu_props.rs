//! Properties over many random encodings: no operation panics (overflow checks are on in test
//! builds), single-precision upper bits are ignored, and the host fast paths agree bit for
//! bit with the exact integer paths. Seeds are fixed; failures print the operands.

#[allow(dead_code, reason = "the tests share the generator; these do not pick")]
mod rng;

#[cfg(test)]
mod tests {
    use xlat_frontend_riscv::fpu::{self, Fmt};

    use super::rng::Rng;

    /// Operands for the FP operations.
    trait Operand {
        /// Random bits biased towards short significands and extreme exponents.
        fn operand(&mut self, f: Fmt) -> u64;
    }

    impl Operand for Rng {
        fn operand(&mut self, f: Fmt) -> u64 {
            let r = self.next();
            let (mant, width) = if f == Fmt::D { (52, 64) } else { (23, 32) };
            let v = match r % 4 {
                0 => r >> 8,
                1 => (r >> 8) & !((1u64 << (self.next() % mant)) - 1), // short significand
                2 => {
                    let e = [0u64, 1, 2, (1 << (width - mant - 1)) - 2][(r >> 60) as usize % 4];
                    (e << mant) | (self.next() & ((1 << mant) - 1))
                }
                _ => self.next(),
            };
            let v = if width == 32 { v & 0xffff_ffff } else { v };
            v | (self.next() & 1) << (width - 1)
        }
    }

    #[test]
    fn fast_paths_agree_with_exact_paths() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for f in [Fmt::S, Fmt::D] {
            for _ in 0..200_000 {
                let (a, b, c) = (rng.operand(f), rng.operand(f), rng.operand(f));
                for rm in 0..5 {
                    let ctx = format!("{f:?} rm={rm} a={a:x} b={b:x}");
                    let ex = fpu::exact::add(f, a, b, rm);
                    assert_eq!(fpu::add(f, a, b, rm), ex, "add {ctx}");
                    assert_eq!(
                        fpu::sub(f, a, b, rm),
                        fpu::exact::sub(f, a, b, rm),
                        "sub {ctx}"
                    );
                    assert_eq!(
                        fpu::mul(f, a, b, rm),
                        fpu::exact::mul(f, a, b, rm),
                        "mul {ctx}"
                    );
                    assert_eq!(
                        fpu::div(f, a, b, rm),
                        fpu::exact::div(f, a, b, rm),
                        "div {ctx}"
                    );
                    assert_eq!(
                        fpu::sqrt(f, a, rm),
                        fpu::exact::sqrt(f, a, rm),
                        "sqrt {ctx}"
                    );
                }
                let ctx = format!("{f:?} a={a:x} b={b:x} c={c:x}");
                for (np, na) in [(false, false), (true, false), (false, true), (true, true)] {
                    let fast = fpu::fma(f, a, b, c, 0, np, na);
                    assert_eq!(
                        fast,
                        fpu::exact::fma(f, a, b, c, 0, np, na),
                        "fma{np}{na} {ctx}"
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_bits_never_panic_and_single_ignores_upper_bits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..200_000u32 {
            let f = if i % 2 == 0 { Fmt::S } else { Fmt::D };
            let (a, b, c) = (rng.operand(f), rng.operand(f), rng.operand(f));
            let rm = (rng.next() % 8) as u8; // 5..7 are reserved; they must not panic
            let junk = if f == Fmt::S { rng.next() << 32 } else { 0 };
            let (ja, jb, jc) = (a | junk, b | junk, c | junk);
            let ctx = format!("{f:?} rm={rm} a={a:x} b={b:x} c={c:x}");
            let ops = |a, b, c| {
                [
                    fpu::add(f, a, b, rm),
                    fpu::sub(f, a, b, rm),
                    fpu::mul(f, a, b, rm),
                    fpu::div(f, a, b, rm),
                    fpu::sqrt(f, a, rm),
                    fpu::fma(f, a, b, c, rm, i % 3 == 0, i % 5 == 0),
                    fpu::min(f, a, b),
                    fpu::max(f, a, b),
                ]
            };
            let (results, expect) = (ops(ja, jb, jc), ops(a, b, c));
            assert_eq!(results, expect, "upper bits changed a result: {ctx}");
            if f == Fmt::S {
                assert!(
                    results.iter().all(|r| r.0 >> 32 == 0),
                    "wide S result: {ctx}"
                );
            }
            for (signed, word) in [(true, true), (false, true), (true, false), (false, false)] {
                let _ = fpu::to_int(f, ja, rm, signed, word);
                let _ = fpu::from_int(f, rng.next(), rm, signed, word);
            }
            let _ = (fpu::eq(f, ja, jb), fpu::lt(f, ja, jb), fpu::le(f, ja, jb));
            assert_eq!(fpu::classify(f, ja).count_ones(), 1, "{ctx}");
            let other = if f == Fmt::S { Fmt::D } else { Fmt::S };
            let _ = fpu::convert(f, other, ja, rm);
        }
    }
}
