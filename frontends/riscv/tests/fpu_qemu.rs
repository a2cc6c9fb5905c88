//! Differential test of `fpu` against a RISC-V hart: `fpu_data/gen.c` runs every F/D
//! instruction on ~220k operand sets in all rounding modes under `qemu-riscv64`, printing
//! result bits and fflags; every line must match our soft-float exactly.
//!
//! Needs `riscv64-linux-gnu-gcc` and `qemu-riscv64` (scripts/setup.sh installs both); without
//! them the test prints why and passes. `XLAT_FPU_CASES=<n>` scales the random cases and
//! `XLAT_FPU_SEED=<n>` changes the generator's seed (the default run is fixed).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use xlat_frontend_riscv::fpu::{self, Fmt};

    const GCC: &str = "riscv64-linux-gnu-gcc";
    const QEMU: &str = "qemu-riscv64";

    fn tool_missing(tool: &str) -> bool {
        Command::new(tool).arg("--version").output().is_err()
    }

    /// Compiles the generator and returns its output (None if a tool is missing).
    fn reference_output() -> Option<String> {
        for tool in [GCC, QEMU] {
            if tool_missing(tool) {
                println!("skipping fpu_qemu: `{tool}` not found (run scripts/setup.sh)");
                return None;
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fpu_data/gen.c");
        // Per process: concurrent test runs must not overwrite a running binary.
        let exe: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("xlat-fpu-gen-{}", std::process::id()));
        let status = Command::new(GCC)
            .args(["-static", "-O2", "-o"])
            .arg(&exe)
            .arg(&src)
            .status()
            .expect("run gcc");
        assert!(status.success(), "compiling {} failed", src.display());
        let cases = std::env::var("XLAT_FPU_CASES").unwrap_or_else(|_| "2000".into());
        let seed = std::env::var("XLAT_FPU_SEED").unwrap_or_else(|_| "0".into());
        let out = Command::new(QEMU)
            .arg(&exe)
            .arg(cases)
            .arg(seed)
            .output()
            .expect("run qemu");
        let _ = std::fs::remove_file(&exe);
        assert!(
            out.status.success(),
            "generator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).expect("generator prints ASCII"))
    }

    /// The exact path alone (no host fast path) for the operations that have both.
    fn ours_exact(op: &str, f: Fmt, rm: u8, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
        let fma = |np, na| fpu::exact::fma(f, a, b, c, rm, np, na);
        Some(match op {
            "add" => fpu::exact::add(f, a, b, rm),
            "sub" => fpu::exact::sub(f, a, b, rm),
            "mul" => fpu::exact::mul(f, a, b, rm),
            "div" => fpu::exact::div(f, a, b, rm),
            "sqrt" => fpu::exact::sqrt(f, a, rm),
            "fmadd" => fma(false, false),
            "fmsub" => fma(false, true),
            "fnmsub" => fma(true, false),
            "fnmadd" => fma(true, true),
            _ => return None,
        })
    }

    /// Our result for one reference line's operation.
    fn ours(op: &str, f: Fmt, rm: u8, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
        let fma = |np, na| fpu::fma(f, a, b, c, rm, np, na);
        Some(match op {
            "add" => fpu::add(f, a, b, rm),
            "sub" => fpu::sub(f, a, b, rm),
            "mul" => fpu::mul(f, a, b, rm),
            "div" => fpu::div(f, a, b, rm),
            "sqrt" => fpu::sqrt(f, a, rm),
            "fmadd" => fma(false, false),
            "fmsub" => fma(false, true),
            "fnmsub" => fma(true, false),
            "fnmadd" => fma(true, true),
            "min" => fpu::min(f, a, b),
            "max" => fpu::max(f, a, b),
            "eq" => fpu::eq(f, a, b),
            "lt" => fpu::lt(f, a, b),
            "le" => fpu::le(f, a, b),
            "class" => (fpu::classify(f, a), 0),
            "w" => fpu::to_int(f, a, rm, true, true),
            "wu" => fpu::to_int(f, a, rm, false, true),
            "l" => fpu::to_int(f, a, rm, true, false),
            "lu" => fpu::to_int(f, a, rm, false, false),
            "iw" => fpu::from_int(f, a, rm, true, true),
            "iwu" => fpu::from_int(f, a, rm, false, true),
            "il" => fpu::from_int(f, a, rm, true, false),
            "ilu" => fpu::from_int(f, a, rm, false, false),
            // cvts.d: D source to S; cvtd.s: S source to D.
            "cvts" => fpu::convert(Fmt::D, Fmt::S, a, rm),
            "cvtd" => fpu::convert(Fmt::S, Fmt::D, a, rm),
            _ => return None,
        })
    }

    fn hex(s: &str) -> u64 {
        u64::from_str_radix(s, 16).expect("hex field")
    }

    #[test]
    fn fpu_matches_qemu_riscv64() {
        let Some(text) = reference_output() else {
            return;
        };
        let (mut cases, mut bad) = (0usize, Vec::new());
        let mut bad_ops = std::collections::BTreeMap::<String, usize>::new();
        for line in text.lines() {
            let v: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(v.len(), 7, "malformed line {line:?}");
            let (op, fmt) = v[0].rsplit_once('.').expect("op.fmt");
            let f = if fmt == "s" { Fmt::S } else { Fmt::D };
            let rm: u8 = v[1].parse().expect("rm");
            let (a, b, c, want, want_fl) = (hex(v[2]), hex(v[3]), hex(v[4]), hex(v[5]), hex(v[6]));
            let got = ours(op, f, rm, a, b, c).unwrap_or_else(|| panic!("unknown op in {line:?}"));
            cases += 1;
            let exact = ours_exact(op, f, rm, a, b, c).unwrap_or(got);
            if got != (want, want_fl as u8) || exact != got {
                *bad_ops.entry(v[0].to_string()).or_default() += 1;
                if bad.len() < 40 {
                    let (g, e) = (got, exact);
                    bad.push(format!(
                        "{line}   ours: {:x} {:x} exact: {:x} {:x}",
                        g.0, g.1, e.0, e.1
                    ));
                }
            }
        }
        println!("{cases} cases compared");
        assert!(
            bad.is_empty(),
            "mismatches by op: {bad_ops:?}\n(op rm a b c result flags)\n{}",
            bad.join("\n")
        );
        assert!(cases >= 100_000, "only {cases} cases");
    }
}
