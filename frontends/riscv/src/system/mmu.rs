//! Sv39 and Sv48 address translation (Privileged ISA §10.3-10.5), with hardware updates of
//! the A and D bits. The machine supplies page-table memory through [`PteMem`] and caches the
//! results; this module only knows the architecture.

use super::csr::{MPP, MPP_SHIFT, MPRV, MXR, SUM};
use super::*;
use crate::{INSTRUCTION_ACCESS_FAULT, LOAD_ACCESS_FAULT, STORE_ACCESS_FAULT};
use crate::{INSTRUCTION_PAGE_FAULT, LOAD_PAGE_FAULT, STORE_PAGE_FAULT};

/// What an access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Load.
    Read,
    /// Store or AMO.
    Write,
    /// Instruction fetch.
    Fetch,
}

impl Kind {
    /// The page-fault cause for this kind.
    pub fn page_fault(self) -> u32 {
        match self {
            Kind::Read => LOAD_PAGE_FAULT,
            Kind::Write => STORE_PAGE_FAULT,
            Kind::Fetch => INSTRUCTION_PAGE_FAULT,
        }
    }
    /// The access-fault cause for this kind.
    pub fn access_fault(self) -> u32 {
        match self {
            Kind::Read => LOAD_ACCESS_FAULT,
            Kind::Write => STORE_ACCESS_FAULT,
            Kind::Fetch => INSTRUCTION_ACCESS_FAULT,
        }
    }
}

/// Page-table memory: physical 8-byte reads and compare-and-swap (for A/D updates).
pub trait PteMem {
    /// Reads the PTE at `pa`; `None` is an access fault.
    fn read(&mut self, pa: u64) -> Option<u64>;
    /// Replaces `old` with `new` at `pa`; `Some(false)` if the PTE changed meanwhile.
    fn cas(&mut self, pa: u64, old: u64, new: u64) -> Option<bool>;
}

/// The translation inputs of one kind of access (data or fetch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Effective privilege.
    pub prv: u64,
    /// `satp`.
    pub satp: u64,
    /// mstatus.SUM.
    pub sum: bool,
    /// mstatus.MXR.
    pub mxr: bool,
}

impl Mode {
    /// Inputs for loads and stores (MPRV makes M-mode use MPP's privilege).
    pub fn data(env: &CpuState) -> Mode {
        let st = env.word(MSTATUS);
        let mut prv = env.word(PRIV);
        if prv == PRV_M && st & MPRV != 0 {
            prv = (st & MPP) >> MPP_SHIFT;
        }
        Mode {
            prv,
            satp: env.word(SATP),
            sum: st & SUM != 0,
            mxr: st & MXR != 0,
        }
    }
    /// Inputs for instruction fetch.
    pub fn fetch(env: &CpuState) -> Mode {
        Mode {
            prv: env.word(PRIV),
            ..Mode::data(env)
        }
    }
}

const V: u64 = 1;
const R: u64 = 2;
const W: u64 = 4;
const X: u64 = 8;
const U: u64 = 16;
const A: u64 = 64;
const D: u64 = 128;

/// Translates `va` for `kind` under `m`: the physical address or the exception cause.
pub fn translate(m: &Mode, va: u64, kind: Kind, mem: &mut dyn PteMem) -> Result<u64, u32> {
    translate_sized(m, va, kind, mem).map(|(pa, _)| pa)
}

/// [`translate`], with the level of the leaf PTE: 0 for a 4 KiB page, 1 for 2 MiB, 2 for
/// 1 GiB, 3 for 512 GiB (0 without translation).
pub fn translate_sized(
    m: &Mode,
    va: u64,
    kind: Kind,
    mem: &mut dyn PteMem,
) -> Result<(u64, u32), u32> {
    walk(m, va, kind, mem).map(|w| (w.pa, w.level))
}

/// What a successful [`walk`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    /// The physical address.
    pub pa: u64,
    /// The leaf PTE's level (see [`translate_sized`]).
    pub level: u32,
    /// A store to the page under the same mode would succeed without changing the PTE: it is
    /// writable by this mode and already dirty (always, without translation). A TLB may then
    /// cache the page for stores too when a load fills it.
    pub writable: bool,
}

/// [`translate_sized`], also telling whether a store would need no PTE update.
pub fn walk(m: &Mode, va: u64, kind: Kind, mem: &mut dyn PteMem) -> Result<Walk, u32> {
    let bare = Walk {
        pa: va,
        level: 0,
        writable: true,
    };
    let levels = match m.satp >> 60 {
        _ if m.prv == PRV_M => return Ok(bare),
        8 => 3,
        9 => 4,
        _ => return Ok(bare),
    };
    let va_bits = 12 + 9 * levels;
    // The address must be sign-extended from its top bit.
    let top = (va as i64) >> (va_bits - 1);
    if top != 0 && top != -1 {
        return Err(kind.page_fault());
    }
    'retry: loop {
        let mut table = (m.satp & ((1 << 44) - 1)) << 12;
        for level in (0..levels).rev() {
            let vpn = (va >> (12 + 9 * level)) & 0x1ff;
            let pte_pa = table + vpn * 8;
            let pte = mem.read(pte_pa).ok_or(kind.access_fault())?;
            // Svnapot/Svpbmt are not implemented: their bits are reserved.
            if pte & V == 0 || (pte & R == 0 && pte & W != 0) || pte >> 54 != 0 {
                return Err(kind.page_fault());
            }
            let ppn = (pte >> 10) & ((1 << 44) - 1);
            if pte & (R | X) == 0 {
                if level == 0 || pte & (A | D | U) != 0 {
                    return Err(kind.page_fault());
                }
                table = ppn << 12;
                continue;
            }
            let user = pte & U != 0;
            let allowed = match m.prv {
                PRV_U => user,
                _ => !user || (m.sum && kind != Kind::Fetch),
            } && match kind {
                Kind::Read => pte & R != 0 || (m.mxr && pte & X != 0),
                Kind::Write => pte & W != 0,
                Kind::Fetch => pte & X != 0,
            };
            let low = (1u64 << (9 * level)) - 1;
            if !allowed || ppn & low != 0 {
                return Err(kind.page_fault());
            }
            let want = A | if kind == Kind::Write { D } else { 0 };
            if pte & want != want {
                match mem.cas(pte_pa, pte, pte | want) {
                    Some(true) => {}
                    Some(false) => continue 'retry,
                    None => return Err(kind.access_fault()),
                }
            }
            let pa_ppn = (ppn & !low) | ((va >> 12) & low);
            // (A store's privilege check is a load's: SUM applies to both.)
            let writable = kind != Kind::Fetch && pte & (W | D) == W | D;
            return Ok(Walk {
                pa: (pa_ppn << 12) | (va & 0xfff),
                level,
                writable,
            });
        }
        unreachable!("the level 0 PTE is a leaf or a fault");
    }
}
