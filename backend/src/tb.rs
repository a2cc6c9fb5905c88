//! Translation blocks and their cache.
//!
//! A [`Tb`] holds a unit's IR (run by the interpreter until the unit is hot, and kept for the
//! regions other TBs compile it into), its compiled code once it has some (the code of a region
//! headed by this unit), and the link slots of that code (two per region member). The cache maps (guest pc, flags) to TBs. Flags are
//! 0 for now (they will carry the privilege mode and similar translation-relevant state).
//! [`TbCache::invalidate`] takes out the TBs overlapping a guest address range (found through
//! a per-page index, which also lists every page of a region's members under the region's
//! head) and unlinks the slots chained to them; [`TbCache::clear`] drops
//! everything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// The IR (kept once compiled: later regions may take this unit in).
    ir: Mutex<Option<Arc<Ir>>>,
    /// Interpreted runs so far.
    pub runs: AtomicU32,
    /// Host code address, 0 while interpreted.
    pub code: AtomicU64,
    /// Compilation failed: keep interpreting.
    pub no_jit: AtomicBool,
    /// Baseline-tier code (`crate::baseline`) of this unit alone, 0 if none (yet).
    pub base: AtomicU64,
    /// The baseline tier has no code for this unit: it stays interpreted until compiled.
    pub no_base: AtomicBool,
    /// Link slots of the baseline code (`goto_tb` 0 and 1): the successor's code, or the
    /// return stub. Boxed so their addresses (baked into the code) are stable.
    pub base_slots: Box<[AtomicU64; 2]>,
    /// Background compiler jobs (`Engine::set_background_compile`) whose region holds this
    /// unit and that have not ended: while there are any, it stays interpreted.
    pub queued: AtomicU32,
    /// Link slots (of any TB) chained to this TB's code, to unlink it on invalidation.
    pub incoming: Mutex<Vec<u64>>,
    /// Link slots of the compiled code, `goto_tb` 0 and 1 of each region member in turn: host
    /// code of the successor, or the return stub. Boxed so their addresses (baked into the
    /// code) are stable; set once, when the TB is compiled.
    slots: OnceLock<Box<[AtomicU64]>>,
    /// Code a guest store may change without warning (`GuestMemory::code_may_change`): the
    /// unit is one instruction and is compiled alone, never into a region.
    pub solo: AtomicBool,
    /// Guest ranges `[start, end)` of the compiled code's region members other than this unit.
    members: OnceLock<Vec<(u64, u64)>>,
    stub: u64,
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
            base: AtomicU64::new(0),
            no_base: AtomicBool::new(false),
            base_slots: Box::new([AtomicU64::new(stub), AtomicU64::new(stub)]),
            queued: AtomicU32::new(0),
            incoming: Mutex::new(Vec::new()),
            slots: OnceLock::new(),
            solo: AtomicBool::new(false),
            members: OnceLock::new(),
            stub,
        }
    }

    /// The address of the first of `n` link slots for this TB's code, all pointing at the stub.
    /// The slots are made once: later calls return the same ones (whatever their `n`).
    pub fn slot_base(&self, n: usize) -> u64 {
        let s = self
            .slots
            .get_or_init(|| (0..n.max(1)).map(|_| AtomicU64::new(self.stub)).collect());
        s.as_ptr() as u64
    }

    /// The guest range this TB's own unit covers.
    pub fn range(&self) -> (u64, u64) {
        (
            self.pc,
            self.pc.saturating_add(u64::from(self.guest_len.max(1))),
        )
    }

    /// Whether this TB's code depends on guest bytes in `[start, end)`.
    fn overlaps(&self, start: u64, end: u64) -> bool {
        let hit = |(lo, hi): (u64, u64)| lo < end && hi > start;
        hit(self.range())
            || self
                .members
                .get()
                .is_some_and(|m| m.iter().any(|&r| hit(r)))
    }

    /// The IR, unless the TB was compiled.
    pub fn ir(&self) -> Option<Arc<Ir>> {
        self.ir.lock().unwrap_or_else(|e| e.into_inner()).clone()
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

fn pages_of((start, end): (u64, u64)) -> std::ops::RangeInclusive<u64> {
    let last = end.saturating_sub(1).max(start);
    (start / PAGE)..=(last / PAGE)
}

impl TbCache {
    /// Looks a translation up.
    pub fn get(&self, key: TbKey) -> Option<&Arc<Tb>> {
        self.map.get(&key)
    }

    /// Adds a translation.
    pub fn insert(&mut self, key: TbKey, tb: Arc<Tb>) {
        for p in pages_of(tb.range()) {
            self.pages.entry(p).or_default().push(key);
        }
        if let Some(old) = self.map.insert(key, tb) {
            self.retired.push(old);
        }
    }

    /// Records that the TB at `key` was compiled as a region that also covers the guest
    /// `ranges` (its other members): invalidating any of them drops it.
    pub fn add_region(&mut self, key: TbKey, ranges: Vec<(u64, u64)>) {
        let Some(tb) = self.map.get(&key) else {
            return;
        };
        let mut pages: Vec<u64> = ranges.iter().flat_map(|&r| pages_of(r)).collect();
        pages.sort_unstable();
        pages.dedup();
        let own = pages_of(tb.range());
        if tb.members.set(ranges).is_err() {
            return; // compiled once already
        }
        for p in pages.into_iter().filter(|p| !own.contains(p)) {
            self.pages.entry(p).or_default().push(key);
        }
    }

    /// Drops every translation.
    pub fn clear(&mut self) {
        self.map.clear();
        self.pages.clear();
        self.retired.clear();
    }

    /// Takes out every TB whose key's flags satisfy `pred` (system mode: the flags name the
    /// physical page of the code, so this drops the translations of overwritten pages),
    /// unlinking the slots chained to them. Returns how many were taken out.
    pub fn invalidate_flags(&mut self, pred: &dyn Fn(u32) -> bool, stub: u64) -> usize {
        let keys: Vec<TbKey> = self.map.keys().filter(|k| pred(k.flags)).copied().collect();
        for key in &keys {
            let Some(tb) = self.map.remove(key) else {
                continue;
            };
            for p in pages_of(tb.range()) {
                if let Some(v) = self.pages.get_mut(&p) {
                    v.retain(|k| k != key);
                }
            }
            for slot in tb
                .incoming
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain(..)
            {
                // SAFETY: as in `invalidate`.
                unsafe { &*(slot as *const AtomicU64) }.store(stub, Ordering::Release);
            }
            self.retired.push(tb);
        }
        keys.len()
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
                if !tb.overlaps(start, end) {
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
