//! Translation blocks and their cache.
//!
//! A [`Tb`] holds a unit's IR (run by the interpreter until the unit is hot), its compiled code
//! once it has some, and its two link slots. The cache maps (guest pc, flags) to TBs. Flags are
//! 0 for now (they will carry the privilege mode and similar translation-relevant state).
//! Per-page invalidation can be added by keeping, per guest page, the keys of the TBs that
//! cover it; today [`TbCache::clear`] drops everything.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use xlat_ir::Unit;
use xlat_ir::interp::Prepared;

/// Key of a translation: guest pc and mode flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TbKey {
    /// Guest virtual pc.
    pub pc: u64,
    /// Translation-relevant mode bits (0 today).
    pub flags: u32,
}

/// One translation block.
#[derive(Debug)]
pub struct Tb {
    /// The IR.
    pub unit: Unit,
    /// Label index for the interpreter.
    pub prep: Prepared,
    /// Interpreted runs so far.
    pub runs: AtomicU32,
    /// Host code address, 0 while interpreted.
    pub code: AtomicU64,
    /// Compilation failed: keep interpreting.
    pub no_jit: AtomicBool,
    /// Link slots for `goto_tb` 0 and 1: host code of the successor, or the return stub.
    /// Boxed so their addresses (baked into the code) are stable.
    pub slots: Box<[AtomicU64; 2]>,
}

impl Tb {
    /// A new, interpreted TB whose slots point at `stub`.
    pub fn new(unit: Unit, stub: u64) -> Tb {
        let prep = Prepared::new(&unit);
        Tb {
            unit,
            prep,
            runs: AtomicU32::new(0),
            code: AtomicU64::new(0),
            no_jit: AtomicBool::new(false),
            slots: Box::new([AtomicU64::new(stub), AtomicU64::new(stub)]),
        }
    }

    /// Addresses of the two link slots.
    pub fn slot_addrs(&self) -> [u64; 2] {
        [
            &self.slots[0] as *const AtomicU64 as u64,
            &self.slots[1] as *const AtomicU64 as u64,
        ]
    }

    /// Compiled code address, or 0.
    pub fn code(&self) -> u64 {
        self.code.load(Ordering::Acquire)
    }
}

/// The translation cache.
#[derive(Debug, Default)]
pub struct TbCache {
    map: HashMap<TbKey, Arc<Tb>>,
}

impl TbCache {
    /// Looks a translation up.
    pub fn get(&self, key: TbKey) -> Option<&Arc<Tb>> {
        self.map.get(&key)
    }

    /// Adds a translation.
    pub fn insert(&mut self, key: TbKey, tb: Arc<Tb>) {
        self.map.insert(key, tb);
    }

    /// Drops every translation.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}
