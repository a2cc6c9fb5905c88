//! The ELF loader: validates an ELF64 little-endian executable for the guest machine and maps
//! its `PT_LOAD` segments into the guest address space. A dynamically linked program names its
//! interpreter (`PT_INTERP`); [`interp`] finds that in the sysroot, and [`load_interp`] maps it
//! wherever the mmap allocator has room, as Linux does.

use xlat_softmmu::user::{
    AddressSpace, Backing, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MMAP_TOP, MapError, PAGE_SIZE,
    PROT_EXEC, PROT_READ, PROT_WRITE, page_down, page_up,
};

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PHENT: u16 = 56;
/// Where a static PIE is placed (Linux's ELF_ET_DYN_BASE for a 39-bit layout: 2/3 of 2^38).
const DYN_BASE: u64 = 0x2a_aaaa_a000;

/// What is wrong with an ELF file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// No ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// ELFCLASS32 or junk.
    #[error("not a 64-bit ELF file (class {0})")]
    WrongClass(u8),
    /// Big-endian or junk.
    #[error("not a little-endian ELF file")]
    WrongEndian,
    /// Built for another machine.
    #[error("is a {found} program, but this emulator runs {want} programs")]
    WrongMachine {
        /// What the file is for.
        found: String,
        /// What the frontend runs.
        want: String,
    },
    /// Not ET_EXEC or ET_DYN.
    #[error("unsupported ELF type {0} (need an executable)")]
    WrongType(u16),
    /// Its PT_INTERP is not in the sysroot (or, without one, not a guest program on the host).
    #[error("{}", interp::not_found_message(.interp, .sysroot.as_deref()))]
    NoInterp {
        /// The interpreter path the program names.
        interp: String,
        /// The sysroot searched, if any.
        sysroot: Option<String>,
    },
    /// The interpreter exists but cannot be loaded.
    #[error("interpreter {path}: {why}")]
    BadInterp {
        /// Host path of the interpreter.
        path: String,
        /// What is wrong with it.
        why: Box<ElfError>,
    },
    /// Truncated or inconsistent headers.
    #[error("malformed ELF: {0}")]
    Malformed(&'static str),
    /// Nothing to load.
    #[error("no loadable segments")]
    NoSegments,
    /// Mapping failed.
    #[error("cannot map segment: {0}")]
    Map(MapError),
}

/// Name of an ELF machine number, for messages.
pub fn machine_name(m: u16) -> String {
    match m {
        3 => "i386".into(),
        8 => "mips".into(),
        20 => "ppc".into(),
        21 => "ppc64".into(),
        22 => "s390x".into(),
        40 => "arm".into(),
        62 => "x86-64".into(),
        183 => "aarch64".into(),
        243 => "riscv64".into(),
        258 => "loongarch64".into(),
        _ => format!("machine {m}"),
    }
}

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags` (PF_X=1, PF_W=2, PF_R=4).
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// A validated ELF header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// `e_type`.
    pub kind: u16,
    /// `e_entry`.
    pub entry: u64,
    /// `e_phoff`.
    pub phoff: u64,
    /// The program headers.
    pub phdrs: Vec<Phdr>,
    /// The interpreter path of a dynamically linked program (`PT_INTERP`).
    pub interp: Option<String>,
}

/// The loaded image, for the stack's auxv and the start state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Entry point (biased).
    pub entry: u64,
    /// Guest address of the program headers (AT_PHDR), 0 if not in memory.
    pub phdr: u64,
    /// Number of program headers.
    pub phnum: u64,
    /// Load bias (0 for ET_EXEC).
    pub bias: u64,
    /// End of the highest segment (the initial break).
    pub end: u64,
}

fn u16_at(d: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([d[o], d[o + 1]])
}
fn u32_at(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]])
}
fn u64_at(d: &[u8], o: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&d[o..o + 8]);
    u64::from_le_bytes(b)
}

/// Validates the headers of `data` for a guest of ELF machine `machine`.
pub fn parse(data: &[u8], machine: u16) -> Result<ElfInfo, ElfError> {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if data.len() < 64 {
        return Err(ElfError::Malformed("truncated ELF header"));
    }
    if data[4] != 2 {
        return Err(ElfError::WrongClass(data[4]));
    }
    if data[5] != 1 {
        return Err(ElfError::WrongEndian);
    }
    let found = u16_at(data, 18);
    if found != machine {
        return Err(ElfError::WrongMachine {
            found: machine_name(found),
            want: machine_name(machine),
        });
    }
    let kind = u16_at(data, 16);
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(ElfError::WrongType(kind));
    }
    let phoff = u64_at(data, 32);
    let phentsize = u16_at(data, 54);
    let phnum = u16_at(data, 56);
    if phentsize != PHENT {
        return Err(ElfError::Malformed("program header size is not 56"));
    }
    let table_end = usize::from(phnum) * usize::from(PHENT);
    let start = usize::try_from(phoff)
        .map_err(|_| ElfError::Malformed("program headers outside the file"))?;
    if start.checked_add(table_end).is_none_or(|e| e > data.len()) {
        return Err(ElfError::Malformed("program headers outside the file"));
    }
    let mut phdrs = Vec::with_capacity(phnum.into());
    let mut interp = None;
    for i in 0..usize::from(phnum) {
        let o = start + i * usize::from(PHENT);
        let p = Phdr {
            kind: u32_at(data, o),
            flags: u32_at(data, o + 4),
            offset: u64_at(data, o + 8),
            vaddr: u64_at(data, o + 16),
            filesz: u64_at(data, o + 32),
            memsz: u64_at(data, o + 40),
        };
        if p.kind == PT_INTERP {
            interp = Some(interp_path(data, &p)?);
        }
        if p.kind == PT_LOAD {
            check_load(&p, data.len() as u64)?;
        }
        phdrs.push(p);
    }
    if !phdrs.iter().any(|p| p.kind == PT_LOAD && p.memsz > 0) {
        return Err(ElfError::NoSegments);
    }
    Ok(ElfInfo {
        kind,
        entry: u64_at(data, 24),
        phoff,
        phdrs,
        interp,
    })
}

/// The NUL-terminated path a PT_INTERP segment holds.
fn interp_path(data: &[u8], p: &Phdr) -> Result<String, ElfError> {
    let bad = ElfError::Malformed("bad PT_INTERP");
    let start = usize::try_from(p.offset).map_err(|_| bad.clone())?;
    let len = usize::try_from(p.filesz).map_err(|_| bad.clone())?;
    let bytes = start
        .checked_add(len)
        .and_then(|end| data.get(start..end))
        .ok_or(bad.clone())?;
    let path = bytes.split(|b| *b == 0).next().unwrap_or_default();
    if path.is_empty() || len > 4096 {
        return Err(bad);
    }
    String::from_utf8(path.to_vec()).map_err(|_| bad)
}

fn check_load(p: &Phdr, file_len: u64) -> Result<(), ElfError> {
    if p.filesz > p.memsz {
        return Err(ElfError::Malformed(
            "segment file size exceeds its memory size",
        ));
    }
    if p.offset.checked_add(p.filesz).is_none_or(|e| e > file_len) {
        return Err(ElfError::Malformed("segment data outside the file"));
    }
    if p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE {
        return Err(ElfError::Malformed(
            "segment offset and address disagree modulo the page size",
        ));
    }
    if p.vaddr.checked_add(p.memsz).is_none_or(|e| e > MMAP_TOP) {
        return Err(ElfError::Malformed(
            "segment outside the guest address space",
        ));
    }
    Ok(())
}

fn prot_of(flags: u32) -> u32 {
    let mut p = 0;
    if flags & 4 != 0 {
        p |= PROT_READ;
    }
    if flags & 2 != 0 {
        p |= PROT_WRITE;
    }
    if flags & 1 != 0 {
        p |= PROT_EXEC;
    }
    p
}

/// Maps the image described by `info` (file bytes `data`) into `space`; `name` labels the
/// mappings in /proc/self/maps. An ET_EXEC program goes where it says; a position-independent
/// one (linked at 0) at Linux's ELF_ET_DYN_BASE.
pub fn load(
    space: &AddressSpace,
    data: &[u8],
    info: &ElfInfo,
    name: &str,
) -> Result<Loaded, ElfError> {
    load_with(space, data, info, name, false)
}

/// Maps an interpreter (ld.so): a position-independent image goes wherever the top-down mmap
/// allocator has room, as the kernel places it; its bias is AT_BASE.
pub fn load_interp(
    space: &AddressSpace,
    data: &[u8],
    info: &ElfInfo,
    name: &str,
) -> Result<Loaded, ElfError> {
    load_with(space, data, info, name, true)
}

fn load_with(
    space: &AddressSpace,
    data: &[u8],
    info: &ElfInfo,
    name: &str,
    anywhere: bool,
) -> Result<Loaded, ElfError> {
    let loads: Vec<&Phdr> = info
        .phdrs
        .iter()
        .filter(|p| p.kind == PT_LOAD && p.memsz > 0)
        .collect();
    let lo = loads.iter().map(|p| page_down(p.vaddr)).min().unwrap_or(0);
    let hi = loads.iter().map(|p| p.vaddr + p.memsz).max().unwrap_or(0);
    let bias = match (info.kind == ET_DYN && lo == 0, anywhere) {
        (false, _) => 0,
        (true, false) => DYN_BASE,
        (true, true) => {
            // Ask the allocator for room for the whole span; the segments replace it below.
            let span = page_up(hi).checked_sub(lo).filter(|s| *s > 0);
            let span = span.ok_or(ElfError::NoSegments)?;
            let flags = MAP_PRIVATE | MAP_ANONYMOUS;
            let rw = PROT_READ | PROT_WRITE;
            space
                .mmap(0, span, rw, flags, Backing::Anon)
                .map_err(ElfError::Map)?
        }
    };
    if hi + bias > MMAP_TOP {
        return Err(ElfError::Malformed(
            "segment outside the guest address space",
        ));
    }
    let (lo, top) = (lo + bias, page_up(hi + bias));
    let rw = PROT_READ | PROT_WRITE;
    space
        .mmap(
            lo,
            top - lo,
            rw,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            Backing::Anon,
        )
        .map_err(ElfError::Map)?;
    // Per-page protection: the union of the segments touching the page; pages of no
    // segment become holes, as with the kernel's per-segment mappings.
    let mut prot = vec![None::<u32>; ((top - lo) / PAGE_SIZE) as usize];
    for p in &loads {
        let (s, e) = (page_down(p.vaddr + bias), page_up(p.vaddr + bias + p.memsz));
        for pg in ((s - lo) / PAGE_SIZE)..((e - lo) / PAGE_SIZE) {
            let slot = &mut prot[pg as usize];
            *slot = Some(slot.unwrap_or(0) | prot_of(p.flags));
        }
        let src = &data[p.offset as usize..(p.offset + p.filesz) as usize];
        space
            .write_bytes(p.vaddr + bias, src)
            .map_err(ElfError::Map)?;
    }
    // Apply per run of equal pages, so the map holds one region per segment.
    let mut i = 0;
    while i < prot.len() {
        let run = prot[i..].iter().take_while(|p| **p == prot[i]).count();
        let (at, len) = (lo + i as u64 * PAGE_SIZE, run as u64 * PAGE_SIZE);
        let r = match prot[i] {
            Some(pr) if pr != rw => space.mprotect(at, len, pr).map(|_| ()),
            Some(_) => Ok(()),
            None => space.munmap(at, len).map(|_| ()),
        };
        r.map_err(ElfError::Map)?;
        i += run;
    }
    space.name_range(lo, top, name);
    let phnum = info.phdrs.len() as u64;
    let phdr = match info.phdrs.iter().find(|p| p.kind == PT_PHDR) {
        Some(p) => p.vaddr + bias,
        None => loads
            .iter()
            .find(|p| p.offset <= info.phoff && info.phoff + phnum * 56 <= p.offset + p.filesz)
            .map_or(0, |p| p.vaddr + (info.phoff - p.offset) + bias),
    };
    Ok(Loaded {
        entry: info.entry + bias,
        phdr,
        phnum,
        bias,
        end: hi + bias,
    })
}

pub mod interp;
#[cfg(test)]
mod tests;
