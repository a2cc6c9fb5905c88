//! System-mode lowering (`crate::softmmu`) against the interpreter: random units compiled
//! without a direct map, with an inline TLB that maps some pages (hits go inline) and leaves
//! the others empty (misses go out of line), must leave exactly as interpreted.

use super::randunit::{self, Rng};
use super::{Harness, TestMem};
use std::sync::atomic::AtomicU64;
use xlat_ir::abi::{CpuState, STATE_WORDS, TLB_ENTRIES, TLB_INVALID, TlbEntry};
use xlat_softmmu::GuestMemory;

/// A TLB mapping virtual pages `0..n` onto the test memory (which masks addresses to one
/// page, so page `p` is at `base - p*4096` plus the address).
pub(super) fn table(mem: &TestMem, n: u64) -> Vec<TlbEntry> {
    let base = mem.direct().unwrap().base;
    (0..TLB_ENTRIES as u64)
        .map(|i| {
            let page = i << 12;
            let tag = if i < n { page } else { TLB_INVALID };
            TlbEntry {
                read: AtomicU64::new(tag),
                write: AtomicU64::new(if i % 3 == 0 { TLB_INVALID } else { tag }),
                addend: AtomicU64::new(base.wrapping_sub(page)),
                spare: 0,
            }
        })
        .collect()
}

fn env_from(seed: u64, tlb: &[TlbEntry]) -> Box<CpuState> {
    let mut r = Rng::new(seed ^ 0x5eed);
    let mut env = CpuState::new_boxed();
    for w in 0..STATE_WORDS.min(16) {
        // Small addresses half of the time, so the mapped pages are hit.
        let v = r.value();
        env.regs[w] = if w % 2 == 0 { v & 0xf_ffff } else { v };
    }
    env.pc = 0x1000;
    env.tlb = tlb.as_ptr() as u64;
    env
}

#[test]
fn random_units_match_the_interpreter_through_the_inline_tlb() {
    let mut h = Harness::new();
    h.softmmu = true;
    let tlb = table(&h.mem, 200);
    let cases: u64 = std::env::var("XLAT_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    for k in 0..cases {
        let seed = 0x5157_e500_0000_0000u64.wrapping_add(k.wrapping_mul(0x9e37_79b9));
        let mut r = Rng::new(seed);
        let unit = randunit::unit(&mut r);
        let fill = r.next();
        let init = |i: usize| (fill.rotate_left((i % 64) as u32) as u8) ^ (i as u8);
        h.mem.fill(init);
        let mut e1 = env_from(seed, &tlb);
        let want = h.run_interp(&unit, &mut e1);
        h.mem.fill(init);
        let mut e2 = env_from(seed, &tlb);
        let mut got = h.run_jit(&unit, &mut e2).unwrap();
        // A direct exit to another page leaves through the jump cache, never through a link
        // slot (system mode chains only within a page): same exit, no slot to chain.
        if got.slot.is_none() && want.slot.is_some() && (want.pc ^ unit.pc) >> 12 != 0 {
            got.slot = want.slot;
        }
        assert_eq!(
            got,
            want,
            "seed {seed:#x}: jit (left) differs from interp\n{unit}\n{}",
            h.jit.last_clif()
        );
    }
}
