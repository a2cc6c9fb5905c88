//! The page-granular map of guest mappings: what is mapped where, with which permissions.
//! Pure bookkeeping (no host calls), so the splitting rules are unit-testable.

use std::collections::BTreeMap;

/// Guest page size (equal to the host's on x86-64 hosts).
pub const PAGE_SIZE: u64 = 4096;

/// Guest may read.
pub const PROT_READ: u32 = 1;
/// Guest may write.
pub const PROT_WRITE: u32 = 2;
/// Guest may execute.
pub const PROT_EXEC: u32 = 4;

/// Rounds `v` up to a page boundary (saturating).
pub fn page_up(v: u64) -> u64 {
    v.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// Rounds `v` down to a page boundary.
pub fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}

/// One guest mapping `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vma {
    /// First byte past the mapping.
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// Shared (`MAP_SHARED`) rather than private.
    pub shared: bool,
    /// What /proc/self/maps shows (`[heap]`, `[stack]`, a file path, or empty).
    pub name: String,
    /// File offset of `start`, for file mappings.
    pub offset: u64,
    /// Backed by a file (`offset` is meaningful).
    pub file: bool,
}

impl Vma {
    /// Whether `next`, starting where `self` (starting at `start`) ends, can join it.
    fn joins(&self, start: u64, next: &Vma) -> bool {
        self.prot == next.prot
            && self.shared == next.shared
            && self.name == next.name
            && self.file == next.file
            && (!self.file || self.offset + (self.end - start) == next.offset)
    }
}

/// The set of guest mappings, keyed by start address; never overlapping.
#[derive(Debug, Default, Clone)]
pub struct VmaMap {
    map: BTreeMap<u64, Vma>,
}

impl VmaMap {
    /// All mappings in address order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Vma)> {
        self.map.iter().map(|(s, v)| (*s, v))
    }

    /// The mapping containing `addr`.
    pub fn find(&self, addr: u64) -> Option<(u64, &Vma)> {
        let (s, v) = self.map.range(..=addr).next_back()?;
        (addr < v.end).then_some((*s, v))
    }

    /// Whether any page of `[start, end)` is mapped.
    pub fn any_mapped(&self, start: u64, end: u64) -> bool {
        if self.find(start).is_some() {
            return true;
        }
        self.map.range(start..end).next().is_some()
    }

    /// Whether every byte of `[start, end)` is mapped with all of `prot`.
    pub fn covered(&self, start: u64, end: u64, prot: u32) -> bool {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some((_, v)) if v.prot & prot == prot => at = v.end,
                _ => return false,
            }
        }
        true
    }

    /// Splits the mapping that straddles `addr` (if any) so that `addr` is a boundary.
    fn split_at(&mut self, addr: u64) {
        let Some((s, v)) = self.find(addr) else {
            return;
        };
        if s == addr {
            return;
        }
        let mut tail = v.clone();
        if tail.file {
            tail.offset += addr - s;
        }
        if let Some(head) = self.map.get_mut(&s) {
            head.end = addr;
        }
        self.map.insert(addr, tail);
    }

    /// Removes every mapping in `[start, end)`, splitting the ones that straddle the edges.
    pub fn remove(&mut self, start: u64, end: u64) {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(k, _)| *k).collect();
        for k in keys {
            self.map.remove(&k);
        }
    }

    /// Maps `[start, end)` as `vma` describes, replacing whatever was there.
    pub fn insert(&mut self, start: u64, vma: Vma) {
        let end = vma.end;
        self.remove(start, end);
        self.map.insert(start, vma);
        self.coalesce(start, end);
    }

    /// Merges compatible neighbours from the mapping before `start` to the one at `end`, so
    /// the map stays small (one entry per region, as the kernel's VMAs).
    fn coalesce(&mut self, start: u64, end: u64) {
        let first = self
            .map
            .range(..start)
            .next_back()
            .map_or(start, |(s, _)| *s);
        let keys: Vec<u64> = self.map.range(first..=end).map(|(k, _)| *k).collect();
        let mut cur = keys.first().copied();
        for k in keys.into_iter().skip(1) {
            let Some(c) = cur else { break };
            let merge = match (self.map.get(&c), self.map.get(&k)) {
                (Some(a), Some(b)) => a.end == k && a.joins(c, b),
                _ => false,
            };
            if merge {
                if let (Some(b), true) = (self.map.remove(&k), self.map.contains_key(&c)) {
                    self.map.entry(c).and_modify(|a| a.end = b.end);
                }
            } else {
                cur = Some(k);
            }
        }
    }

    /// Sets the protection of `[start, end)`; every page must be mapped (else `false`, no change).
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) -> bool {
        if !self.covered(start, end, 0) {
            return false;
        }
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            v.prot = prot;
        }
        self.coalesce(start, end);
        true
    }

    /// Whether any mapping overlapping `[start, end)` is executable.
    pub fn any_exec(&self, start: u64, end: u64) -> bool {
        let first = self.find(start).map(|(s, _)| s).unwrap_or(start);
        self.map
            .range(first..end)
            .any(|(_, v)| v.prot & PROT_EXEC != 0)
    }

    /// The highest free gap of `len` bytes whose end is at most `limit` and start at least
    /// `floor`: returns its start.
    pub fn find_free_top_down(&self, len: u64, floor: u64, limit: u64) -> Option<u64> {
        let mut top = limit;
        for (s, v) in self.map.range(..limit).rev() {
            if v.end < top && top - v.end >= len {
                return Some(top - len).filter(|a| *a >= floor);
            }
            top = top.min(*s);
            if top < floor.saturating_add(len) {
                return None;
            }
        }
        (top >= floor.saturating_add(len)).then(|| top - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vma(end: u64, prot: u32) -> Vma {
        Vma {
            end,
            prot,
            shared: false,
            name: String::new(),
            offset: 0,
            file: false,
        }
    }

    #[test]
    fn remove_splits_both_edges() {
        let mut m = VmaMap::default();
        m.insert(0x1000, vma(0x5000, PROT_READ));
        m.remove(0x2000, 0x3000);
        let got: Vec<(u64, u64)> = m.iter().map(|(s, v)| (s, v.end)).collect();
        assert_eq!(got, vec![(0x1000, 0x2000), (0x3000, 0x5000)]);
        assert!(!m.any_mapped(0x2000, 0x3000));
        assert!(m.any_mapped(0x2fff, 0x3001));
    }

    #[test]
    fn protect_middle_and_offsets() {
        let mut m = VmaMap::default();
        let mut v = vma(0x4000, PROT_READ | PROT_WRITE);
        v.offset = 0x10000;
        v.file = true;
        m.insert(0x1000, v);
        assert!(m.protect(0x2000, 0x3000, PROT_READ));
        let got: Vec<(u64, u64, u32, u64)> = m
            .iter()
            .map(|(s, v)| (s, v.end, v.prot, v.offset))
            .collect();
        assert_eq!(
            got,
            vec![
                (0x1000, 0x2000, 3, 0x10000),
                (0x2000, 0x3000, 1, 0x11000),
                (0x3000, 0x4000, 3, 0x12000)
            ]
        );
        assert!(!m.protect(0x3000, 0x5000, PROT_READ), "hole after 0x4000");
        assert!(m.covered(0x1000, 0x4000, PROT_READ));
        assert!(!m.covered(0x1000, 0x4000, PROT_WRITE));
        // Protecting the middle back rejoins the three pieces.
        assert!(m.protect(0x2000, 0x3000, PROT_READ | PROT_WRITE));
        let got: Vec<(u64, u64, u64)> = m.iter().map(|(s, v)| (s, v.end, v.offset)).collect();
        assert_eq!(got, vec![(0x1000, 0x4000, 0x10000)]);
    }

    #[test]
    fn adjacent_compatible_mappings_merge() {
        let mut m = VmaMap::default();
        m.insert(0x1000, vma(0x2000, PROT_READ));
        m.insert(0x3000, vma(0x4000, PROT_READ));
        m.insert(0x2000, vma(0x3000, PROT_READ));
        assert_eq!(
            m.iter().map(|(s, v)| (s, v.end)).collect::<Vec<_>>(),
            vec![(0x1000, 0x4000)]
        );
        m.insert(0x4000, vma(0x5000, PROT_WRITE));
        assert_eq!(m.iter().count(), 2, "different protection stays separate");
        let mut named = vma(0x6000, PROT_WRITE);
        named.name = "[heap]".into();
        m.insert(0x5000, named);
        assert_eq!(m.iter().count(), 3, "different name stays separate");
    }

    #[test]
    fn top_down_allocation_skips_used_ranges() {
        let mut m = VmaMap::default();
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, 0x10000), Some(0xe000));
        m.insert(0xe000, vma(0x10000, PROT_READ));
        m.insert(0xb000, vma(0xd000, PROT_READ));
        assert_eq!(m.find_free_top_down(0x1000, 0x1000, 0x10000), Some(0xd000));
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, 0x10000), Some(0x9000));
        assert_eq!(m.find_free_top_down(0xb000, 0x1000, 0x10000), None);
        assert_eq!(m.find_free_top_down(0xa000, 0x1000, 0x10000), Some(0x1000));
    }
}
