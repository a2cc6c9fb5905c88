//! Compares and min/max as lifted IR against the soft-float reference ([`crate::fpu`], checked
//! against qemu-riscv64 by tests/fpu_qemu.rs), on every pair of special values: result and
//! fflags (accrued onto a nonzero starting value too).

use super::super::testutil::{Mem, run, words};
use crate::fpu::{self, Fmt};
use crate::state::{FFLAGS, f, x};
use xlat_ir::ExitReason;
use xlat_ir::abi::{CpuState, ExitKind};

const D: [u64; 14] = [
    0,
    1 << 63,
    0x3ff0_0000_0000_0000, // 1
    0xbff8_0000_0000_0000, // -1.5
    0x3ff0_0000_0000_0001, // 1 + ulp
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x0000_0000_0000_0001, // smallest subnormal
    0x8010_0000_0000_0000, // -min normal
    0x7fef_ffff_ffff_ffff, // max
    0x7ff8_0000_0000_0000, // qNaN
    0x7ff0_0000_0000_0001, // sNaN
    0xfff8_0000_0000_0001, // negative qNaN
    0xc000_0000_0000_0000, // -2
];

const S: [u64; 13] = [
    0xffff_ffff_0000_0000,
    0xffff_ffff_8000_0000,
    0xffff_ffff_3f80_0000, // 1
    0xffff_ffff_bfc0_0000, // -1.5
    0xffff_ffff_3f80_0001,
    0xffff_ffff_7f80_0000, // inf
    0xffff_ffff_ff80_0000, // -inf
    0xffff_ffff_0000_0001,
    0xffff_ffff_7fc0_0000, // qNaN
    0xffff_ffff_7f80_0001, // sNaN
    0xffff_ffff_ffc0_0001,
    0x0000_0000_3f80_0000, // not NaN-boxed: reads as the canonical NaN
    0xffff_fffe_3f80_0000, // not NaN-boxed either
];

/// `op rd, f1, f2` with funct7 `funct7` and funct3 `f3`; rd is a0 or fa0.
fn encode(funct7: u32, f3: u32) -> u32 {
    0x53 | 10 << 7 | f3 << 12 | 1 << 15 | 2 << 20 | funct7 << 25
}

fn check(fmt: Fmt, vals: &[u64]) {
    let d = u32::from(fmt == Fmt::D);
    let m = Mem::new(0x8000, 8, crate::LOAD_ACCESS_FAULT);
    for &a in vals {
        for &b in vals {
            for (name, funct7, f3) in [
                ("feq", 0b101_0000, 2),
                ("flt", 0b101_0000, 1),
                ("fle", 0b101_0000, 0),
                ("fmin", 0b001_0100, 0),
                ("fmax", 0b001_0100, 1),
            ] {
                let (x1, y1) = match fmt {
                    Fmt::D => (a, b),
                    Fmt::S => (fpu::unbox(a), fpu::unbox(b)),
                };
                let (want, flags) = match name {
                    "feq" => fpu::eq(fmt, x1, y1),
                    "flt" => fpu::lt(fmt, x1, y1),
                    "fle" => fpu::le(fmt, x1, y1),
                    "fmin" => fpu::min(fmt, x1, y1),
                    _ => fpu::max(fmt, x1, y1),
                };
                let minmax = name.starts_with("fm");
                let want = if minmax && fmt == Fmt::S {
                    fpu::nan_box(want)
                } else {
                    want
                };
                for start in [0u64, 0x5] {
                    let mut e = CpuState::new_boxed();
                    e.set_word(f(1), a);
                    e.set_word(f(2), b);
                    e.set_word(FFLAGS, start);
                    let code = words(&[encode(funct7 | d, f3), 0x0010_0073]);
                    let (k, p) = run(&mut e, &m, 0x1000, code);
                    assert_eq!((k, p), (ExitKind::Exit, ExitReason::Breakpoint as u32));
                    let got = if minmax { e.word(f(10)) } else { e.word(x(10)) };
                    let ctx = format!("{name}.{fmt:?} {a:#x} {b:#x}");
                    assert_eq!(got, want, "{ctx}");
                    assert_eq!(e.word(FFLAGS), start | u64::from(flags), "{ctx} fflags");
                }
            }
        }
    }
}

#[test]
fn double_compares_and_min_max() {
    check(Fmt::D, &D);
}

#[test]
fn single_compares_and_min_max() {
    check(Fmt::S, &S);
}
