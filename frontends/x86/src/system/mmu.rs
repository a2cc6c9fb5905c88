//! x86-64 4-level paging (SDM vol. 3 §4.5): 4 KiB, 2 MiB and 1 GiB pages, U/S, R/W (with
//! CR0.WP), NX (with EFER.NXE), and the processor's updates of the accessed and dirty bits.
//! The machine supplies page-table memory through [`PteMem`] and caches results; this module
//! only knows the architecture.

/// What an access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Data read.
    Read,
    /// Data write.
    Write,
    /// Instruction fetch.
    Fetch,
}

/// Page-table memory: physical 8-byte reads and compare-and-swap (for A/D updates).
pub trait PteMem {
    /// Reads the entry at `pa`; `None` if nothing is there.
    fn read(&mut self, pa: u64) -> Option<u64>;
    /// Replaces `old` with `new` at `pa`; `Some(false)` if the entry changed meanwhile.
    fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool>;
}

/// The translation inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// CR0.PG: paging on (otherwise addresses are physical).
    pub paging: bool,
    /// CR3 (the PML4 base in bits 12..52).
    pub cr3: u64,
    /// The access is a user-mode one (CPL 3).
    pub user: bool,
    /// CR0.WP: supervisor writes honour R/W.
    pub wp: bool,
    /// EFER.NXE: bit 63 is no-execute (else reserved).
    pub nxe: bool,
}

/// Page-fault error code bits.
pub mod err {
    /// The page was present (a protection violation).
    pub const P: u32 = 1;
    /// A write.
    pub const W: u32 = 2;
    /// A user-mode access.
    pub const U: u32 = 4;
    /// A reserved bit was set in a paging entry.
    pub const RSVD: u32 = 8;
    /// An instruction fetch (with NX enabled).
    pub const I: u32 = 16;
}

const PRESENT: u64 = 1;
const RW: u64 = 2;
const US: u64 = 4;
const ACCESSED: u64 = 1 << 5;
const DIRTY: u64 = 1 << 6;
const PS: u64 = 1 << 7;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;

/// Not a #PF error code: the address is not canonical (bits 63..47 differ), which is #GP
/// (#SS for stack accesses) rather than a page fault.
pub const NONCANONICAL: u32 = 0x8000_0000;

/// Translates `va` for an access of `kind`: the physical address, or the #PF error code
/// ([`NONCANONICAL`] for a non-canonical address).
pub fn translate(m: &Mode, va: u64, kind: Kind, mem: &mut dyn PteMem) -> Result<u64, u32> {
    if !m.paging {
        return Ok(va);
    }
    if ((va as i64) << 16 >> 16) as u64 != va {
        return Err(NONCANONICAL);
    }
    let mut code = if kind == Kind::Write { err::W } else { 0 };
    if m.user {
        code |= err::U;
    }
    if kind == Kind::Fetch && m.nxe {
        code |= err::I;
    }
    let rsvd_hi = if m.nxe { 0 } else { NX };
    let mut table = m.cr3 & ADDR;
    let (mut user, mut write, mut exec) = (true, true, true);
    let mut level = 4u32;
    let mut entries: [(u64, u64); 4] = [(0, 0); 4];
    let mut n = 0;
    loop {
        let shift = 12 + 9 * (level - 1);
        let pa = table | ((va >> shift) & 511) << 3;
        let e = mem.read(pa).ok_or(code)?;
        if e & PRESENT == 0 {
            return Err(code);
        }
        if e & rsvd_hi != 0 || (level == 4 && e & PS != 0) {
            return Err(code | err::P | err::RSVD);
        }
        user &= e & US != 0;
        write &= e & RW != 0;
        exec &= e & NX == 0 || !m.nxe;
        entries[n] = (pa, e);
        n += 1;
        let leaf = level == 1 || e & PS != 0;
        if leaf {
            if level == 3 && e & (0x3fff_e000) != 0 || level == 2 && e & 0x1f_e000 != 0 {
                return Err(code | err::P | err::RSVD);
            }
            let page_mask = (1u64 << shift) - 1;
            let denied = (m.user && !user)
                || (kind == Kind::Write && !write && (m.user || m.wp))
                || (kind == Kind::Fetch && !exec);
            if denied {
                return Err(code | err::P);
            }
            // Accessed on every level, dirty on the leaf for writes.
            for (i, &(epa, ev)) in entries[..n].iter().enumerate() {
                let mut want = ev | ACCESSED;
                if i == n - 1 && kind == Kind::Write {
                    want |= DIRTY;
                }
                if want != ev && mem.cas(epa, ev, want) == Some(false) {
                    // Changed under us: walk again.
                    return translate(m, va, kind, mem);
                }
            }
            let base = e & ADDR & !page_mask;
            return Ok(base | (va & page_mask));
        }
        table = e & ADDR;
        level -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Mem(HashMap<u64, u64>);
    impl PteMem for Mem {
        fn read(&mut self, pa: u64) -> Option<u64> {
            Some(*self.0.get(&pa).unwrap_or(&0))
        }
        fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool> {
            let e = self.0.entry(pa).or_insert(0);
            if *e != old {
                return Some(false);
            }
            *e = new;
            Some(true)
        }
    }

    /// PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000; va 0x40_0000_0000 + i*4K.
    fn setup(pte: u64) -> Mem {
        let mut m = HashMap::new();
        m.insert(0x1000, 0x2007);
        m.insert(0x2000 + 256 * 8, 0x3007);
        m.insert(0x3000, 0x4007);
        m.insert(0x4000, pte);
        m.insert(0x3008, 0x0060_0087); // a 2 MiB page at va 0x40_0020_0000
        Mem(m)
    }

    fn mode(user: bool) -> Mode {
        Mode {
            paging: true,
            cr3: 0x1000,
            user,
            wp: true,
            nxe: true,
        }
    }

    const VA: u64 = 0x40_0000_0000;

    #[test]
    fn walks_and_sets_accessed_and_dirty() {
        let mut m = setup(0x9000 | 7);
        assert_eq!(
            translate(&mode(true), VA + 0x123, Kind::Read, &mut m),
            Ok(0x9123)
        );
        assert_eq!(m.0[&0x4000] & (ACCESSED | DIRTY), ACCESSED);
        assert_eq!(m.0[&0x1000] & ACCESSED, ACCESSED);
        translate(&mode(true), VA, Kind::Write, &mut m).unwrap();
        assert_eq!(m.0[&0x4000] & DIRTY, DIRTY);
        assert_eq!(m.0[&0x3000] & DIRTY, 0);
    }

    #[test]
    fn non_canonical_addresses() {
        let mut m = setup(0x9000 | 7);
        assert_eq!(
            translate(&mode(false), 0x8000_0000_0000, Kind::Read, &mut m),
            Err(NONCANONICAL)
        );
        assert_eq!(
            translate(&mode(false), 0xffff_8000_0000_0000, Kind::Read, &mut m),
            Err(0)
        );
    }

    #[test]
    fn large_pages() {
        let mut m = setup(0);
        assert_eq!(
            translate(&mode(false), VA + 0x20_1234, Kind::Read, &mut m),
            Ok(0x60_1234)
        );
    }

    #[test]
    fn fault_codes() {
        let mut m = setup(0);
        assert_eq!(translate(&mode(true), VA, Kind::Read, &mut m), Err(err::U));
        let mut m = setup(0x9000 | 5);
        assert_eq!(
            translate(&mode(true), VA, Kind::Write, &mut m),
            Err(err::U | err::W | err::P)
        );
        // Supervisor writes to a read-only page fault only with WP.
        let mut sup = mode(false);
        assert_eq!(
            translate(&sup, VA, Kind::Write, &mut m),
            Err(err::W | err::P)
        );
        sup.wp = false;
        assert_eq!(translate(&sup, VA, Kind::Write, &mut m), Ok(0x9000));
        let mut m = setup(0x9000 | 3);
        assert_eq!(
            translate(&mode(true), VA, Kind::Read, &mut m),
            Err(err::U | err::P)
        );
        let mut m = setup(0x9000 | 7 | NX);
        assert_eq!(
            translate(&mode(true), VA, Kind::Fetch, &mut m),
            Err(err::U | err::P | err::I)
        );
        assert_eq!(translate(&mode(true), VA, Kind::Read, &mut m), Ok(0x9000));
        let mut no_nxe = mode(true);
        no_nxe.nxe = false;
        assert_eq!(
            translate(&no_nxe, VA, Kind::Read, &mut m),
            Err(err::U | err::P | err::RSVD)
        );
    }
}
