//! The lane-by-lane SIMD lifts ([`super::simd_int`], [`super::simd_ir`]) against the
//! [`crate::simd`] helper (itself checked against qemu-aarch64 by the differential suite):
//! random encodings of each AdvSIMD integer class on random registers, run once through the
//! IR interpreter and once through the helper; every state word must agree.

use crate::{Aarch64, state};
use xlat_ir::abi::CpuState;
use xlat_ir::{CodeFetch, Frontend, Opcode, interp};

struct One(u32);
impl CodeFetch for One {
    fn fetch_u16(&self, pc: u64) -> Option<u16> {
        match pc {
            0 => Some(self.0 as u16),
            2 => Some((self.0 >> 16) as u16),
            _ => None,
        }
    }
}

/// xorshift64*: a fixed-seed generator, no dependency needed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Random words biased towards lane edge values (0, all ones, sign bits).
    fn word(&mut self) -> u64 {
        let edges = [
            0,
            u64::MAX,
            0x8000_8000_8000_8000,
            0x7f7f_7f7f_7f7f_7f7f,
            0x8000_0000_0000_0001,
        ];
        let r = self.next();
        match r % 8 {
            0 => edges[(r >> 8) as usize % edges.len()],
            1 => r & 0x0101_0101_0101_0101,
            _ => self.next(),
        }
    }
}

const CLASSES: &[(&str, u32, u32)] = &[
    ("three-same", 0x0e20_0400, 0x9f20_0400),
    ("two-reg misc", 0x0e20_0800, 0x9f3e_0c00),
    ("three-diff", 0x0e20_0000, 0x9f20_0c00),
    ("shift imm", 0x0f00_0400, 0x9f80_0400),
    ("by element", 0x0f00_0000, 0x9f00_0400),
    ("across", 0x0e30_0800, 0x9f3e_0c00),
    ("copy", 0x0e00_0400, 0x9fe0_8400),
    ("permute/ext", 0x0e00_0000, 0x9f20_8000),
    ("tbl/tbx", 0x0e00_0000, 0xbfe0_8c00),
    ("modified imm", 0x0f00_0400, 0x9ff8_0400),
];

#[test]
fn lifted_simd_matches_the_helper() {
    let fe = Aarch64::new();
    let mut rng = Rng(0x5eed_a64d);
    for &(name, val, mask) in CLASSES {
        let mut lifted = 0;
        for _ in 0..4000 {
            let insn = (rng.next() as u32 & !mask) | val;
            if !crate::simd::exec(None, insn) {
                continue;
            }
            let unit = fe.translate(0, &One(insn), 1);
            xlat_ir::verify(&unit).unwrap();
            if unit
                .insts
                .iter()
                .any(|i| matches!(i.op, Opcode::Call | Opcode::Raise))
            {
                continue;
            }
            lifted += 1;
            let mut want = CpuState::new_boxed();
            for i in 0..31u8 {
                want.set_word(state::x(i), rng.word());
            }
            for i in 0..32u8 {
                want.set_word(state::v(i), rng.word());
                want.set_word(state::v(i) + 8, rng.word());
            }
            let mut got = CpuState::new_boxed();
            got.regs = want.regs;
            assert!(crate::simd::exec(Some(&mut want), insn));
            interp::run(
                &unit,
                &interp::Prepared::new(&unit),
                &mut got,
                &interp::NoMem,
                &mut Vec::new(),
            );
            for (k, (g, w)) in got.regs.iter().zip(want.regs.iter()).enumerate() {
                assert_eq!(
                    g, w,
                    "{name}: insn {insn:08x}: state word {k}: lifted {g:016x}, helper {w:016x}"
                );
            }
        }
        eprintln!("{name}: {lifted} lifted");
        assert!(lifted > 100, "{name}: only {lifted} encodings lifted");
    }
}
