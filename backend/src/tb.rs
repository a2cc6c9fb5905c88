//! Translation blocks and their cache.
//!
//! A [`Tb`] holds a unit's IR (run by the interpreter until the unit is hot), its compiled code
//! once it has some, and its two link slots. The cache maps (guest pc, flags) to TBs. Flags are
//! 0 for now (they will carry the privilege mode and similar translation-relevant state).
//! [`TbCache::invalidate`] takes out the TBs overlapping a guest address range (found through
//! a per-page index) and unlinks the slots chained to them; [`TbCache::clear`] drops
//! everything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// A unit's IR with the interpreter's label index.
#[derive(Debug)]
pub struct Ir {
    /// The IR.
    pub unit: Unit,
    /// Label index for the interpreter.
    pub prep: Prepared,
}

/// One translation block.
#[derive(Debug)]
pub struct Tb {
    /// Guest pc of the first instruction.
    pub pc: u64,
    /// Bytes of guest code covered.
    pub guest_len: u32,
    /// Guest instructions covered.
    pub guest_insns: u32,
    /// The IR while the TB is interpreted; dropped once it is compiled (memory).
    ir: Mutex<Option<Arc<Ir>>>,
    /// Interpreted runs so far.
    pub runs: AtomicU32,
    /// Host code address, 0 while interpreted.
    pub code: AtomicU64,
    /// Compilation failed: keep interpreting.
    pub no_jit: AtomicBool,
    /// Link slots (of any TB) chained to this TB's code, to unlink it on invalidation.
    pub incoming: Mutex<Vec<u64>>,
    /// Link slots for `goto_tb` 0 and 1: host code of the successor, or the return stub.
    /// Boxed so their addresses (baked into the code) are stable.
    pub slots: Box<[AtomicU64; 2]>,
}

impl Tb {
    /// A new, interpreted TB whose slots point at `stub`.
    pub fn new(unit: Unit, stub: u64) -> Tb {
        let prep = Prepared::new(&unit);
        Tb {
            pc: unit.pc,
            guest_len: unit.guest_len,
            guest_insns: unit.guest_insns,
            ir: Mutex::new(Some(Arc::new(Ir { unit, prep }))),
            runs: AtomicU32::new(0),
            code: AtomicU64::new(0),
            no_jit: AtomicBool::new(false),
            incoming: Mutex::new(Vec::new()),
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

    /// The IR, unless the TB was compiled.
    pub fn ir(&self) -> Option<Arc<Ir>> {
        self.ir.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the IR (the TB has code now).
    pub fn drop_ir(&self) {
        *self.ir.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Compiled code address, or 0.
    pub fn code(&self) -> u64 {
        self.code.load(Ordering::Acquire)
    }
}

/// A fast hasher for pc-like keys (the exec loop hashes on every lookup; SipHash cost ~20 ns).
/// Not DoS-resistant, which does not matter for keys the emulator makes itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct PcHasher(u64);

impl std::hash::Hasher for PcHasher {
    fn finish(&self) -> u64 {
        // Fold the high bits (where the multiplication mixed) into the low ones hashbrown uses.
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
}

type PcMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<PcHasher>>;

/// Guest page size the invalidation index works in.
const PAGE: u64 = 4096;

/// The translation cache, with a per-page index for range invalidation.
#[derive(Debug, Default)]
pub struct TbCache {
    map: PcMap<TbKey, Arc<Tb>>,
    /// Guest page number → keys of the TBs whose code touches that page.
    pages: PcMap<u64, Vec<TbKey>>,
    /// TBs taken out by [`TbCache::invalidate`]: their code may still run on another vCPU
    /// (and other code may still read their link slots) until the next full flush.
    retired: Vec<Arc<Tb>>,
}

fn pages_of(tb: &Tb) -> std::ops::RangeInclusive<u64> {
    let start = tb.pc;
    let last = start
        .wrapping_add(u64::from(tb.guest_len.max(1)) - 1)
        .max(start);
    (start / PAGE)..=(last / PAGE)
}

impl TbCache {
    /// Looks a translation up.
    pub fn get(&self, key: TbKey) -> Option<&Arc<Tb>> {
        self.map.get(&key)
    }

    /// Adds a translation.
    pub fn insert(&mut self, key: TbKey, tb: Arc<Tb>) {
        for p in pages_of(&tb) {
            self.pages.entry(p).or_default().push(key);
        }
        if let Some(old) = self.map.insert(key, tb) {
            self.retired.push(old);
        }
    }

    /// Drops every translation.
    pub fn clear(&mut self) {
        self.map.clear();
        self.pages.clear();
        self.retired.clear();
    }

    /// Takes out every TB whose guest code overlaps `[start, start + len)`, unlinking the
    /// slots chained to them (they go back to `stub`). Returns how many were taken out.
    pub fn invalidate(&mut self, start: u64, len: u64, stub: u64) -> usize {
        if len == 0 {
            return 0;
        }
        let end = start.saturating_add(len);
        let (first, last) = (start / PAGE, (end - 1) / PAGE);
        let mut pages: Vec<u64> = if last - first >= self.pages.len() as u64 {
            self.pages
                .keys()
                .copied()
                .filter(|p| (first..=last).contains(p))
                .collect()
        } else {
            (first..=last).collect()
        };
        pages.sort_unstable();
        let mut n = 0;
        for p in pages {
            for key in self.pages.remove(&p).unwrap_or_default() {
                let Some(tb) = self.map.get(&key) else {
                    continue;
                };
                let (lo, hi) = (tb.pc, tb.pc.saturating_add(u64::from(tb.guest_len.max(1))));
                if hi <= start || lo >= end {
                    // Same page, no overlap: keep it indexed.
                    self.pages.entry(p).or_default().push(key);
                    continue;
                }
                let Some(tb) = self.map.remove(&key) else {
                    continue;
                };
                for slot in tb
                    .incoming
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .drain(..)
                {
                    // SAFETY: incoming slots belong to TBs that are in the cache or retired,
                    // both kept alive by this cache until the next full flush.
                    unsafe { &*(slot as *const AtomicU64) }.store(stub, Ordering::Release);
                }
                self.retired.push(tb);
                n += 1;
            }
        }
        n
    }
}
