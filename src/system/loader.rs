//! Loading a firmware or kernel image into guest physical memory: an ELF64 file's `PT_LOAD`
//! segments at their physical addresses, or a raw binary at a given address.

use xlat_softmmu::system::Bus;

/// A loaded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Entry point (physical).
    pub entry: u64,
    /// Lowest and highest+1 physical addresses written.
    pub start: u64,
    /// End of the image.
    pub end: u64,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Loads `image` (ELF64 little-endian, else raw at `raw_base`) into `bus`'s RAM.
pub fn load(bus: &Bus, image: &[u8], raw_base: u64, what: &str) -> Result<Loaded, String> {
    if image.starts_with(b"\x7fELF") {
        return load_elf(bus, image, raw_base, what);
    }
    if !bus.write_bytes(raw_base, image) {
        return Err(format!(
            "{what}: {} bytes do not fit in RAM at {raw_base:#x}",
            image.len()
        ));
    }
    Ok(Loaded {
        entry: raw_base,
        start: raw_base,
        end: raw_base + image.len() as u64,
    })
}

/// Loads an ELF file; a position-independent one (`ET_DYN`, e.g. OpenSBI) is placed at
/// `pie_base`.
fn load_elf(bus: &Bus, b: &[u8], pie_base: u64, what: &str) -> Result<Loaded, String> {
    let bad = |m: &str| format!("{what}: {m}");
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return Err(bad("not a 64-bit little-endian ELF file"));
    }
    if u16_at(b, 18) != Some(243) {
        return Err(bad("not a RISC-V ELF file"));
    }
    let bias = if u16_at(b, 16) == Some(3) {
        pie_base
    } else {
        0
    };
    let entry = u64_at(b, 24)
        .ok_or_else(|| bad("truncated header"))?
        .wrapping_add(bias);
    let phoff = u64_at(b, 32).ok_or_else(|| bad("truncated header"))? as usize;
    let phentsize = usize::from(u16_at(b, 54).ok_or_else(|| bad("truncated header"))?);
    let phnum = usize::from(u16_at(b, 56).ok_or_else(|| bad("truncated header"))?);
    let (mut start, mut end) = (u64::MAX, 0u64);
    for i in 0..phnum {
        let o = phoff
            .checked_add(i * phentsize)
            .ok_or_else(|| bad("bad program headers"))?;
        let ptype = u32_at(b, o).ok_or_else(|| bad("truncated program header"))?;
        if ptype != 1 {
            continue;
        }
        let field = |k: usize| u64_at(b, o + k).ok_or_else(|| bad("truncated program header"));
        let (off, paddr, filesz, memsz) = (
            field(8)?,
            field(24)?.wrapping_add(bias),
            field(32)?,
            field(40)?,
        );
        let data = usize::try_from(off)
            .ok()
            .zip(usize::try_from(filesz).ok())
            .and_then(|(o, n)| b.get(o..o.checked_add(n)?))
            .ok_or_else(|| bad("segment outside the file"))?;
        if !bus.write_bytes(paddr, data) {
            return Err(bad(&format!(
                "segment at {paddr:#x} ({filesz:#x} bytes) is outside RAM"
            )));
        }
        if memsz > filesz {
            // Zero the rest in bounded chunks (a hostile memsz must not allocate without limit).
            let (mut at, end) = (paddr.saturating_add(filesz), paddr.saturating_add(memsz));
            if bus.ram_host(at, end - at).is_none() {
                return Err(bad(&format!("segment at {paddr:#x} is outside RAM")));
            }
            let zeros = [0u8; 4096];
            while at < end {
                let n = (end - at).min(zeros.len() as u64) as usize;
                bus.write_bytes(at, &zeros[..n]);
                at += n as u64;
            }
        }
        start = start.min(paddr);
        end = end.max(paddr.saturating_add(memsz));
    }
    if start == u64::MAX {
        return Err(bad("no loadable segment"));
    }
    Ok(Loaded { entry, start, end })
}
