//! Rough ns/op of the fpu entry points (fast path, exact path, the `softfp` crate and the bare
//! host FPU for scale). Run: `cargo test --release -p xlat-frontend-riscv --test fpu_bench
//! -- --ignored --nocapture`.

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::hint::black_box;
    use std::time::Instant;
    use xlat_frontend_riscv::fpu::{self, Fmt};

    const N: usize = 1 << 12;
    const ROUNDS: usize = 500;

    /// Typical benchmark operands: normal doubles of moderate magnitude, random significands.
    fn operands(seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..N)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let exp = 1023 - 20 + (s >> 52) % 40;
                (s & ((1 << 52) - 1)) | exp << 52 | (s >> 63) << 63
            })
            .collect()
    }

    /// Throughput over independent operand pairs; the best of three runs (the machine is shared).
    fn time(name: &str, mut f: impl FnMut(u64, u64) -> u64) {
        let (xs, ys) = (operands(1), operands(2));
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let mut acc = 0u64;
            let t = Instant::now();
            for _ in 0..ROUNDS {
                for (x, y) in xs.iter().zip(&ys) {
                    acc = acc.wrapping_add(f(black_box(*x), black_box(*y)));
                }
            }
            best = best.min(t.elapsed().as_nanos() as f64 / (N * ROUNDS) as f64);
            black_box(acc);
        }
        println!("{name:<24} {best:6.2} ns/op");
    }

    /// Latency: each result feeds the next operation (like a guest's dependent FP chain).
    fn chain(name: &str, f: impl Fn(u64) -> u64) {
        let n = N * ROUNDS;
        let mut x = 1.5f64.to_bits();
        let t = Instant::now();
        for _ in 0..n {
            x = f(black_box(x));
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        black_box(x);
        println!("{name:<24} {ns:6.2} ns/op");
    }

    thread_local! {
        static SOFTFP_FLAGS: Cell<u32> = const { Cell::new(0) };
    }

    fn softfp_setup() {
        softfp::register_get_rounding_mode(|| softfp::RoundingMode::TiesToEven);
        softfp::register_set_exception_flags(|f| SOFTFP_FLAGS.with(|c| c.set(c.get() | f.bits())));
    }

    #[test]
    #[ignore = "benchmark; run with --release --ignored --nocapture"]
    fn fpu_ns_per_op() {
        let fl = |(r, f): (u64, u8)| r ^ u64::from(f);
        let d = |b: u64| f64::from_bits(b);
        let s32 = |b: u64| f64::from_bits(b) as f32;
        time("host f64 add", |a, b| (d(a) + d(b)).to_bits());
        time("fpu add.d", |a, b| fl(fpu::add(Fmt::D, a, b, 0)));
        time("fpu add.d rtz", |a, b| fl(fpu::add(Fmt::D, a, b, 1)));
        time("exact add.d", |a, b| fl(fpu::exact::add(Fmt::D, a, b, 0)));
        let pos = |x: u64| x & !(1 << 63);
        time("exact add.d same sign", |a, b| {
            fl(fpu::exact::add(Fmt::D, pos(a), pos(b), 0))
        });
        time("fpu mul.d rup", |a, b| fl(fpu::mul(Fmt::D, a, b, 3)));
        time("exact fmadd.d", |a, b| {
            fl(fpu::exact::fma(Fmt::D, a, b, a, 0, false, false))
        });
        time("fpu mul.d", |a, b| fl(fpu::mul(Fmt::D, a, b, 0)));
        time("fpu mul.d by zero", |a, _| fl(fpu::mul(Fmt::D, a, 0, 0)));
        time("fpu add.d zeros", |a, _| {
            fl(fpu::add(Fmt::D, a & (1 << 63), 0, 0))
        });
        time("exact mul.d", |a, b| fl(fpu::exact::mul(Fmt::D, a, b, 0)));
        time("fpu div.d", |a, b| fl(fpu::div(Fmt::D, a, b, 0)));
        time("exact div.d", |a, b| fl(fpu::exact::div(Fmt::D, a, b, 0)));
        time("fpu sqrt.d", |a, _| {
            fl(fpu::sqrt(Fmt::D, a & !(1 << 63), 0))
        });
        time("exact sqrt.d", |a, _| {
            fl(fpu::exact::sqrt(Fmt::D, a & !(1 << 63), 0))
        });
        time("fpu fmadd.d", |a, b| {
            fl(fpu::fma(Fmt::D, a, b, a, 0, false, false))
        });
        let s = |b: u64| u64::from(s32(b).to_bits());
        time("fpu add.s", |a, b| fl(fpu::add(Fmt::S, s(a), s(b), 0)));
        time("fpu mul.s", |a, b| fl(fpu::mul(Fmt::S, s(a), s(b), 0)));
        time("fpu fmadd.s", |a, b| {
            fl(fpu::fma(Fmt::S, s(a), s(b), s(a), 0, false, false))
        });
        time("fpu fcvt.w.d rtz", |a, _| {
            fl(fpu::to_int(Fmt::D, a, 1, true, true))
        });
        time("fpu fcvt.d.l", |a, _| {
            fl(fpu::from_int(Fmt::D, a, 0, true, false))
        });
        time("fpu fcvt.s.d", |a, _| {
            fl(fpu::convert(Fmt::D, Fmt::S, a, 0))
        });
        time("fpu flt.d", |a, b| fl(fpu::lt(Fmt::D, a, b)));
        let (ka, kb) = (1.000_000_1f64.to_bits(), 0.999_999_9f64.to_bits());
        let flags = Cell::new(0u8);
        let keep = |(r, f): (u64, u8)| {
            flags.set(flags.get() | f);
            r
        };
        chain("chain host f64 mul", |x| (d(x) * d(ka)).to_bits());
        chain("chain fpu add.d", |x| keep(fpu::add(Fmt::D, x, ka, 0)));
        chain("chain fpu mul.d", |x| {
            keep(fpu::mul(Fmt::D, keep(fpu::mul(Fmt::D, x, ka, 0)), kb, 0))
        });
        chain("chain fpu fmadd.d", |x| {
            keep(fpu::fma(Fmt::D, ka, x, x, 0, false, false))
        });
        chain("chain fpu div.d", |x| {
            keep(fpu::div(Fmt::D, keep(fpu::div(Fmt::D, x, ka, 0)), kb, 0))
        });
        softfp_setup();
        type F64 = softfp::F64;
        time("softfp add.d", |a, b| (F64::new(a) + F64::new(b)).0);
        time("softfp mul.d", |a, b| (F64::new(a) * F64::new(b)).0);
        time("softfp div.d", |a, b| (F64::new(a) / F64::new(b)).0);
        time("softfp fmadd.d", |a, b| {
            F64::fused_multiply_add(F64::new(a), F64::new(b), F64::new(a)).0
        });
    }
}
