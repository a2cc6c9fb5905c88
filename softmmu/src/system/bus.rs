//! The guest physical address space: RAM (a `vm_memory` guest memory, so devices can DMA into it
//! with virtio-queue; one region, or several with holes between them, see [`Bus::with_ram`]),
//! read-only ROM blobs and MMIO windows that dispatch to [`MmioDevice`]s.

use super::MmioDevice;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};
use vm_memory::{
    GuestAddress, GuestMemoryBackend as _, GuestMemoryMmap, GuestRegionMmap, MmapRegion,
};
use xlat_ir::AtomicOp;

/// Errors building an address space.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The host could not provide the RAM.
    #[error("guest RAM of {size:#x} bytes at {base:#x}: {msg}")]
    Ram {
        /// Guest physical base.
        base: u64,
        /// Size in bytes.
        size: u64,
        /// Why.
        msg: String,
    },
    /// Two regions overlap.
    #[error("region {base:#x}+{size:#x} overlaps another")]
    Overlap {
        /// Guest physical base.
        base: u64,
        /// Size in bytes.
        size: u64,
    },
}

/// One MMIO window.
#[derive(Debug, Clone)]
pub struct MmioRegion {
    /// Guest physical base.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// The device behind it.
    pub dev: Arc<dyn MmioDevice>,
}

/// What a physical address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// RAM, at this host address.
    Ram(usize),
    /// ROM (read-only, executable), at this host address.
    Rom(usize),
    /// An MMIO window: its index and the offset into it.
    Mmio(usize, u64),
    /// Nothing: an access fault.
    None,
}

/// The guest physical address space of a machine.
#[derive(Debug)]
pub struct Bus {
    ram: GuestMemoryMmap<()>,
    /// Guest address of the first RAM byte.
    ram_base: u64,
    /// Bytes from the first RAM byte to the last (holes included).
    ram_size: u64,
    /// Bytes of the first RAM region (`ram_size` when there is one).
    ram_first: u64,
    /// The further RAM regions: (offset from `ram_base`, size).
    ram_more: Vec<(u64, u64)>,
    /// Host address of guest `ram_base`; every RAM byte is at the same distance from it on the
    /// host as in the guest.
    ram_host: usize,
    roms: Vec<(u64, Box<[u8]>)>,
    mmio: Vec<MmioRegion>,
    /// Which RAM pages hold translated code, for every hart on this bus.
    pub(crate) code: Arc<super::hart::CodeMap>,
    /// The host mapping behind RAM with holes (`ram` holds non-owning regions inside it):
    /// the last field, so the devices (which hold clones of `ram`) go first.
    _span: Option<MmapRegion<()>>,
}

impl Bus {
    /// An address space with `size` bytes of RAM at `base` (zeroed, anonymous memory).
    pub fn new(base: u64, size: u64) -> Result<Bus, BusError> {
        let err = |msg: String| BusError::Ram { base, size, msg };
        let len = usize::try_from(size).map_err(|e| err(e.to_string()))?;
        if size == 0 || base.checked_add(size).is_none() {
            return Err(err("empty or wraps around".into()));
        }
        let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(base), len)])
            .map_err(|e| err(e.to_string()))?;
        let ram_host = ram
            .get_host_address(GuestAddress(base))
            .map_err(|e| err(e.to_string()))? as usize;
        Ok(Bus {
            ram,
            ram_base: base,
            ram_size: size,
            ram_first: size,
            ram_more: Vec::new(),
            ram_host,
            roms: Vec::new(),
            mmio: Vec::new(),
            code: super::hart::CodeMap::new(base, size, ram_host),
            _span: None,
        })
    }

    /// An address space whose RAM is `regions` ((guest base, size), sorted, page-aligned, not
    /// touching), e.g. RAM below a PC's 32-bit MMIO hole and the rest from 4 GiB up. They lie
    /// in one host mapping at the same distances as in the guest, so `ram_host(pa)` stays
    /// linear in `pa` (one code map, one TLB addend rule); the holes between them are no RAM
    /// (`Target::None`, or MMIO windows added there, and no region of [`Bus::ram`]), and their
    /// host pages are inaccessible and never committed. Clones of [`Bus::ram`] must not
    /// outlive the bus.
    pub fn with_ram(regions: &[(u64, u64)]) -> Result<Bus, BusError> {
        let (Some(&(base, first)), Some(&(last, last_size))) = (regions.first(), regions.last())
        else {
            return Err(BusError::Ram {
                base: 0,
                size: 0,
                msg: "no RAM".into(),
            });
        };
        if regions.len() == 1 {
            return Bus::new(base, first);
        }
        const PAGE: u64 = 4096;
        for w in regions.windows(2) {
            let ((b0, s0), (b1, s1)) = (w[0], w[1]);
            if s0 == 0 || s1 == 0 || (b0 | s0 | b1 | s1) % PAGE != 0 || b0 + s0 >= b1 {
                return Err(BusError::Ram {
                    base: b1,
                    size: s1,
                    msg: "RAM regions must be page-aligned, sorted and apart".into(),
                });
            }
        }
        let size = last
            .checked_add(last_size)
            .map(|end| end - base)
            .ok_or(BusError::Ram {
                base: last,
                size: last_size,
                msg: "wraps around".into(),
            })?;
        let err = |msg: String| BusError::Ram { base, size, msg };
        let span_len = usize::try_from(size).map_err(|e| err(e.to_string()))?;
        let span = MmapRegion::<()>::new(span_len).map_err(|e| err(e.to_string()))?;
        let host = span.as_ptr() as usize;
        let mut parts = Vec::new();
        let mut end = 0u64;
        for &(b, s) in regions {
            let off = b - base;
            if off > end {
                // SAFETY: `[host + end, host + off)` lies inside `span`, a mapping this
                // function owns that nothing references yet; making it inaccessible only
                // turns a stray access into a fault.
                let r = unsafe {
                    libc::mprotect(
                        (host + end as usize) as *mut libc::c_void,
                        (off - end) as usize,
                        libc::PROT_NONE,
                    )
                };
                if r != 0 {
                    return Err(err(format!(
                        "mprotect: {}",
                        std::io::Error::last_os_error()
                    )));
                }
            }
            end = off + s;
            // SAFETY: `[host + off, host + off + s)` lies inside `span` (page-aligned, readable
            // and writable), which the bus keeps mapped for as long as it lives (`_span`).
            let part = unsafe {
                MmapRegion::<()>::build_raw(
                    (host + off as usize) as *mut u8,
                    s as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_PRIVATE,
                )
            }
            .map_err(|e| err(e.to_string()))?;
            parts.push(
                GuestRegionMmap::new(part, GuestAddress(b))
                    .ok_or_else(|| err("wraps around".into()))?,
            );
        }
        let ram = GuestMemoryMmap::from_regions(parts).map_err(|e| err(e.to_string()))?;
        Ok(Bus {
            ram,
            ram_base: base,
            ram_size: size,
            ram_first: first,
            ram_more: regions[1..].iter().map(|&(b, s)| (b - base, s)).collect(),
            ram_host: host,
            roms: Vec::new(),
            mmio: Vec::new(),
            code: super::hart::CodeMap::new(base, size, host),
            _span: Some(span),
        })
    }

    /// The RAM regions: (guest base, size, host address).
    pub fn ram_regions(&self) -> Vec<(u64, u64, usize)> {
        std::iter::once((0, self.ram_first))
            .chain(self.ram_more.iter().copied())
            .map(|(o, s)| (self.ram_base + o, s, self.ram_host + o as usize))
            .collect()
    }

    /// The RAM as `vm_memory` guest memory (for DMA and loaders).
    pub fn ram(&self) -> &GuestMemoryMmap<()> {
        &self.ram
    }

    /// RAM base and size (from the first RAM byte to the last, holes included).
    pub fn ram_range(&self) -> (u64, u64) {
        (self.ram_base, self.ram_size)
    }

    fn overlaps(&self, base: u64, size: u64) -> bool {
        let end = base.saturating_add(size);
        let hit = |b: u64, s: u64| base < b.saturating_add(s) && b < end;
        self.ram_regions().iter().any(|&(b, s, _)| hit(b, s))
            || self.roms.iter().any(|(b, d)| hit(*b, d.len() as u64))
            || self.mmio.iter().any(|r| hit(r.base, r.size))
    }

    /// Maps `dev` at `[base, base + size)`.
    pub fn add_mmio(
        &mut self,
        base: u64,
        size: u64,
        dev: Arc<dyn MmioDevice>,
    ) -> Result<(), BusError> {
        if size == 0 || self.overlaps(base, size) {
            return Err(BusError::Overlap { base, size });
        }
        self.mmio.push(MmioRegion { base, size, dev });
        Ok(())
    }

    /// Maps a read-only blob at `base` (boot ROM, reset vector).
    pub fn add_rom(&mut self, base: u64, data: Vec<u8>) -> Result<(), BusError> {
        let size = data.len() as u64;
        if size == 0 || self.overlaps(base, size) {
            return Err(BusError::Overlap { base, size });
        }
        self.roms.push((base, data.into_boxed_slice()));
        Ok(())
    }

    /// The MMIO windows.
    pub fn mmio_regions(&self) -> &[MmioRegion] {
        &self.mmio
    }

    /// What `[pa, pa + len)` is; ranges that straddle two things are `Target::None`.
    #[inline]
    pub fn target(&self, pa: u64, len: u64) -> Target {
        let off = pa.wrapping_sub(self.ram_base);
        if off < self.ram_first && len <= self.ram_first - off {
            return Target::Ram(self.ram_host + off as usize);
        }
        for &(o, s) in &self.ram_more {
            let r = off.wrapping_sub(o);
            if r < s && len <= s - r {
                return Target::Ram(self.ram_host + off as usize);
            }
        }
        for (base, data) in &self.roms {
            let off = pa.wrapping_sub(*base);
            if off < data.len() as u64 && len <= data.len() as u64 - off {
                return Target::Rom(data.as_ptr() as usize + off as usize);
            }
        }
        for (i, r) in self.mmio.iter().enumerate() {
            let off = pa.wrapping_sub(r.base);
            if off < r.size && len <= r.size - off {
                return Target::Mmio(i, off);
            }
        }
        Target::None
    }

    /// Host address of RAM `[pa, pa + len)`, if it is all RAM.
    pub fn ram_host(&self, pa: u64, len: u64) -> Option<usize> {
        match self.target(pa, len) {
            Target::Ram(h) => Some(h),
            _ => None,
        }
    }

    /// Reads `size` (1, 2, 4, 8) bytes at `pa`, little-endian; `None` is an access fault.
    pub fn read(&self, pa: u64, size: u8) -> Option<u64> {
        match self.target(pa, u64::from(size)) {
            Target::Ram(h) | Target::Rom(h) => Some(host_read(h, size)),
            Target::Mmio(i, off) => Some(self.mmio[i].dev.read(off, size)),
            Target::None => None,
        }
    }

    /// Writes the low `size` bytes of `val` at `pa`; `false` is an access fault (ROM too).
    pub fn write(&self, pa: u64, size: u8, val: u64) -> bool {
        match self.target(pa, u64::from(size)) {
            Target::Ram(h) => {
                host_write(h, size, val);
                true
            }
            Target::Mmio(i, off) => {
                self.mmio[i].dev.write(off, size, val);
                true
            }
            Target::Rom(_) | Target::None => false,
        }
    }

    /// Atomic read-modify-write on naturally aligned RAM; returns the old value.
    pub fn atomic_rmw(&self, pa: u64, size: u8, op: AtomicOp, val: u64) -> Option<u64> {
        let h = self.ram_host(pa, u64::from(size))?;
        let ty = if size == 8 {
            xlat_ir::Ty::I64
        } else {
            xlat_ir::Ty::I32
        };
        Some(cas_loop(h, size, |old| {
            xlat_ir::interp::atomic_apply(op, ty, old, val)
        }))
    }

    /// Atomic compare-and-swap on naturally aligned RAM; returns the old value.
    pub fn atomic_cas(&self, pa: u64, size: u8, expected: u64, new: u64) -> Option<u64> {
        let h = self.ram_host(pa, u64::from(size))?;
        Some(match size {
            4 => {
                // SAFETY: `h` is inside the RAM mapping (checked by `ram_host`) and the caller
                // checked natural alignment; the mapping lives as long as `self`.
                let a = unsafe { &*(h as *const AtomicU32) };
                match a.compare_exchange(
                    expected as u32,
                    new as u32,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(v) | Err(v) => u64::from(v),
                }
            }
            _ => {
                // SAFETY: as above, for an 8-byte aligned word.
                let a = unsafe { &*(h as *const AtomicU64) };
                match a.compare_exchange(expected, new, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(v) | Err(v) => v,
                }
            }
        })
    }

    /// Copies `data` into RAM or ROM-less RAM at `pa` (loaders); `false` if it does not fit.
    pub fn write_bytes(&self, pa: u64, data: &[u8]) -> bool {
        match self.target(pa, data.len() as u64) {
            Target::Ram(h) => {
                // SAFETY: `[h, h + len)` is inside the RAM mapping (checked by `target`), which
                // cannot overlap `data` (a Rust slice the guest RAM never aliases).
                unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), h as *mut u8, data.len()) };
                true
            }
            _ => data.is_empty(),
        }
    }

    /// Reads RAM or ROM `[pa, pa + out.len())` into `out`; `false` if it is not all memory.
    pub fn read_bytes(&self, pa: u64, out: &mut [u8]) -> bool {
        match self.target(pa, out.len() as u64) {
            Target::Ram(h) | Target::Rom(h) => {
                // SAFETY: the source range is inside guest memory (checked by `target`).
                unsafe {
                    std::ptr::copy_nonoverlapping(h as *const u8, out.as_mut_ptr(), out.len())
                };
                true
            }
            _ => out.is_empty(),
        }
    }
}

/// Reads `size` bytes at host address `h` (guest memory, any alignment).
#[inline]
pub(crate) fn host_read(h: usize, size: u8) -> u64 {
    // SAFETY: callers pass addresses that `Bus::target` found inside RAM or ROM for `size`
    // bytes. Guest RAM may be written concurrently by other vCPUs or DMA, so the read is a
    // relaxed atomic when aligned (a plain unaligned read otherwise, as hardware tearing allows).
    unsafe {
        match size {
            1 => u64::from((*(h as *const AtomicU8)).load(Ordering::Relaxed)),
            2 if h.is_multiple_of(2) => {
                u64::from((*(h as *const AtomicU16)).load(Ordering::Relaxed))
            }
            4 if h.is_multiple_of(4) => {
                u64::from((*(h as *const AtomicU32)).load(Ordering::Relaxed))
            }
            8 if h.is_multiple_of(8) => (*(h as *const AtomicU64)).load(Ordering::Relaxed),
            2 => u64::from(u16::from_le((h as *const u16).read_unaligned())),
            4 => u64::from(u32::from_le((h as *const u32).read_unaligned())),
            _ => u64::from_le((h as *const u64).read_unaligned()),
        }
    }
}

/// Writes the low `size` bytes of `v` at host address `h` (guest RAM).
#[inline]
pub(crate) fn host_write(h: usize, size: u8, v: u64) {
    // SAFETY: as in `host_read`, for RAM only (ROM is never written).
    unsafe {
        match size {
            1 => (*(h as *const AtomicU8)).store(v as u8, Ordering::Relaxed),
            2 if h.is_multiple_of(2) => {
                (*(h as *const AtomicU16)).store(v as u16, Ordering::Relaxed)
            }
            4 if h.is_multiple_of(4) => {
                (*(h as *const AtomicU32)).store(v as u32, Ordering::Relaxed)
            }
            8 if h.is_multiple_of(8) => (*(h as *const AtomicU64)).store(v, Ordering::Relaxed),
            2 => (h as *mut u16).write_unaligned((v as u16).to_le()),
            4 => (h as *mut u32).write_unaligned((v as u32).to_le()),
            _ => (h as *mut u64).write_unaligned(v.to_le()),
        }
    }
}

/// Applies `f` atomically to the naturally aligned 4- or 8-byte word at `h`; returns the old
/// value (zero-extended).
fn cas_loop(h: usize, size: u8, f: impl Fn(u64) -> u64) -> u64 {
    if size == 4 {
        // SAFETY: `h` is an aligned word inside guest RAM (checked by the caller).
        let a = unsafe { &*(h as *const AtomicU32) };
        let mut old = a.load(Ordering::Relaxed);
        loop {
            let new = f(u64::from(old)) as u32;
            match a.compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return u64::from(old),
                Err(v) => old = v,
            }
        }
    }
    // SAFETY: as above, 8 bytes.
    let a = unsafe { &*(h as *const AtomicU64) };
    let mut old = a.load(Ordering::Relaxed);
    loop {
        match a.compare_exchange_weak(old, f(old), Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => return old,
            Err(v) => old = v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::Bytes as _;

    #[derive(Debug)]
    struct Zero;
    impl MmioDevice for Zero {
        fn read(&self, _: u64, _: u8) -> u64 {
            0x5a
        }
        fn write(&self, _: u64, _: u8, _: u64) {}
    }

    #[test]
    fn ram_with_a_hole() {
        const M: u64 = 1 << 20;
        let mut bus = Bus::with_ram(&[(0, M), (4 * M, 2 * M)]).unwrap();
        assert_eq!(bus.ram_range(), (0, 6 * M));
        let regions = bus.ram_regions();
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[1].2 - regions[0].2, 4 * M as usize);
        // both regions are RAM, at linear host addresses; the hole is nothing
        assert!(bus.write(M - 8, 8, 0x1122));
        assert!(bus.write(4 * M, 8, 0x3344));
        assert!(bus.write(6 * M - 4, 4, 0x55));
        assert_eq!(bus.read(M - 8, 8), Some(0x1122));
        assert_eq!(bus.read(4 * M, 8), Some(0x3344));
        assert_eq!(bus.target(4 * M, 8), Target::Ram(regions[1].2));
        for pa in [M, 2 * M, 4 * M - 8, 6 * M] {
            assert_eq!(bus.target(pa, 8), Target::None, "{pa:#x}");
            assert!(!bus.write(pa, 8, 1));
        }
        // straddling the end of a region is nothing either
        assert_eq!(bus.target(M - 4, 8), Target::None);
        assert_eq!(bus.target(6 * M - 4, 8), Target::None);
        // DMA sees the same two regions
        assert_eq!(
            bus.ram().read_obj::<u64>(GuestAddress(4 * M)).unwrap(),
            0x3344
        );
        assert!(bus.ram().read_obj::<u64>(GuestAddress(2 * M)).is_err());
        // MMIO fits in the hole, not over RAM
        bus.add_mmio(2 * M, 0x1000, Arc::new(Zero)).unwrap();
        assert_eq!(bus.read(2 * M + 8, 4), Some(0x5a));
        assert!(
            bus.add_mmio(4 * M + 0x1000, 0x1000, Arc::new(Zero))
                .is_err()
        );
        // a single region is the plain constructor's bus
        let one = Bus::with_ram(&[(0x8000_0000, M)]).unwrap();
        assert_eq!(one.ram_regions().len(), 1);
        assert!(Bus::with_ram(&[(0, M), (M, M)]).is_err());
        assert!(Bus::with_ram(&[(0, M), (4 * M + 1, M)]).is_err());
        assert!(Bus::with_ram(&[]).is_err());
    }
}
