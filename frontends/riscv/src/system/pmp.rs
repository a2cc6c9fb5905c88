//! Physical memory protection (Privileged ISA §3.7): 16 entries, OFF/TOR/NA4/NAPOT, R/W/X and
//! the lock bit. Checked by the machine after address translation; S and U accesses that no
//! entry matches fail (with PMP implemented, the default is deny), M accesses pass unless a
//! locked entry says otherwise. Precision is per access start: an entry boundary inside a
//! page is not split (the machine caches translations by page).

use super::mmu::Kind;
use super::*;

/// A snapshot of the PMP CSRs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pmp {
    /// `pmpNcfg` bytes.
    pub cfg: [u8; 16],
    /// `pmpaddrN` (physical address >> 2).
    pub addr: [u64; 16],
}

impl Pmp {
    /// The PMP state of `env`.
    pub fn from_env(env: &CpuState) -> Pmp {
        let mut p = Pmp::default();
        for i in 0..16 {
            p.cfg[i] = (env.word(PMPCFG + 8 * (i as u32 / 8)) >> (8 * (i % 8))) as u8;
            p.addr[i] = env.word(PMPADDR + 8 * i as u32);
        }
        p
    }

    /// The byte range entry `i` covers, if it is on.
    fn range(&self, i: usize) -> Option<(u64, u64)> {
        let a = self.addr[i];
        match (self.cfg[i] >> 3) & 3 {
            1 => {
                let lo = if i == 0 { 0 } else { self.addr[i - 1] << 2 };
                Some((lo, a << 2))
            }
            2 => Some((a << 2, (a << 2) + 4)),
            3 => {
                let t = a.trailing_ones();
                let base = (a & !((1u64 << t.min(63)) - 1)) << 2;
                let size = 8u128 << t;
                Some((
                    base,
                    (u128::from(base) + size).min(u128::from(u64::MAX)) as u64,
                ))
            }
            _ => None,
        }
    }

    /// Whether privilege `prv` may make an access of `kind` at physical `pa`.
    pub fn allows(&self, pa: u64, kind: Kind, prv: u64) -> bool {
        self.ranges().allows(pa, kind, prv)
    }

    /// The entries that are on, decoded (for checking many accesses against one snapshot).
    pub fn ranges(&self) -> PmpRanges {
        let mut r = PmpRanges::default();
        for i in 0..16 {
            if let Some((lo, hi)) = self.range(i) {
                r.on[r.n] = (lo, hi, self.cfg[i]);
                r.n += 1;
            }
        }
        r
    }
}

/// The entries of a [`Pmp`] that are on, in priority order: their byte ranges and
/// configuration, decoded once (the machine checks every translation against them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PmpRanges {
    on: [(u64, u64, u8); 16],
    n: usize,
}

impl PmpRanges {
    /// Whether privilege `prv` may make an access of `kind` at physical `pa`: the first
    /// entry that holds `pa` decides (M passes unless it is locked); none: only M may.
    pub fn allows(&self, pa: u64, kind: Kind, prv: u64) -> bool {
        for &(lo, hi, c) in &self.on[..self.n] {
            if pa < lo || pa >= hi {
                continue;
            }
            if prv == PRV_M && c & 0x80 == 0 {
                return true;
            }
            return match kind {
                Kind::Read => c & 1 != 0,
                Kind::Write => c & 2 != 0,
                Kind::Fetch => c & 4 != 0,
            };
        }
        prv == PRV_M
    }
}
