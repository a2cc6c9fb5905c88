//! Loading x86-64 guests into the microvm's RAM and the CPU state they start in.
//!
//! Three kinds of image (see [`BootMode`]):
//! - an ELF vmlinux with the Xen PVH note (`XEN_ELFNOTE_PHYS32_ENTRY`): PVH boot, 32-bit
//!   protected mode without paging, `hvm_start_info` at [`PVH_INFO`] in RBX;
//! - a bzImage: Linux's 64-bit boot protocol, long mode at `code32_start + 0x200` with the zero
//!   page at [`ZERO_PAGE`] in RSI;
//! - any other x86-64 ELF (a bare-metal payload): long mode at `e_entry`.
//!
//! Both long-mode entries run on the loader's GDT ([`GDT`]) and identity map of the first
//! 4 GiB and of the RAM above ([`PML4`], 2 MiB pages, user-accessible so a payload can drop to
//! ring 3 on it).
//!
//! RAM is [`ram_layout`]: up to [`BELOW_4G`] at 0, the rest from 4 GiB up (both in the e820
//! map of the zero page and of the PVH start info).

use linux_loader::loader::elf::start_info::{
    hvm_memmap_table_entry, hvm_modlist_entry, hvm_start_info,
};
use linux_loader::loader::{Elf, KernelLoader, PvhBootCapability};
use vm_memory::{Bytes, GuestAddress};

use crate::devices::virtio_mmio::GuestRam;

/// The loader's GDT.
pub const GDT: u64 = 0x500;
/// PVH `hvm_start_info` (then the module list and the memory map).
pub const PVH_INFO: u64 = 0x6000;
/// Linux's zero page (`boot_params`) for bzImage boots.
pub const ZERO_PAGE: u64 = 0x7000;
/// Initial stack pointer.
pub const BOOT_STACK: u64 = 0x8ff0;
/// Page map level 4; the PDPT follows at +0x1000 and four page directories at +0x2000.
pub const PML4: u64 = 0x9000;
/// Page directories of the RAM above 4 GiB (one per GiB, up to [`HIGH_MAPPED`]).
pub const HIGH_PDS: u64 = 0x1_0000;
/// Bytes of RAM above 4 GiB the identity map covers (16 page directories at [`HIGH_PDS`]).
pub const HIGH_MAPPED: u64 = 16 << 30;
/// End of the RAM below 4 GiB; the 32-bit MMIO hole follows.
pub const BELOW_4G: u64 = 0xc000_0000;
/// Where the RAM above the hole starts.
pub const ABOVE_4G: u64 = 1 << 32;
/// Largest RAM: all of it on the identity map.
pub const MAX_MEM: u64 = BELOW_4G + HIGH_MAPPED;
/// The kernel command line.
pub const CMDLINE: u64 = 0x2_0000;
/// Longest command line (bytes, without the NUL).
pub const CMDLINE_MAX: usize = 0x1_0000 - 1;
/// Start of "high" memory, where kernels are loaded.
pub const HIMEM: u64 = 0x10_0000;
/// End of low RAM in the e820 map (the EBDA and BIOS area above are reserved).
pub const LOWMEM_END: u64 = 0x9_fc00;

/// Flat segment selectors in the loader's GDT.
pub mod sel {
    /// 32-bit flat code (PVH entry).
    pub const CODE32: u16 = 0x08;
    /// 64-bit code, DPL 0.
    pub const CODE64: u16 = 0x10;
    /// Flat data.
    pub const DATA: u16 = 0x18;
    /// The TSS placeholder.
    pub const TSS: u16 = 0x20;
}

/// The loader's GDT entries, in order.
pub const GDT_ENTRIES: [u64; 5] = [
    0,
    0x00cf_9b00_0000_ffff, // code32: base 0, limit 4G, G, D, P, DPL 0, execute/read, accessed
    0x00af_9b00_0000_ffff, // code64: L, G, P, DPL 0, execute/read, accessed
    0x00cf_9300_0000_ffff, // data: base 0, limit 4G, G, B, P, read/write, accessed
    0x0000_8b00_0000_0067, // 32-bit busy TSS at 0, limit 0x67
];

/// A segment register as both accelerators load it (the fields of `kvm_segment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Selector.
    pub selector: u16,
    /// Base.
    pub base: u64,
    /// Limit in bytes (already scaled by G).
    pub limit: u32,
    /// Type field (4 bits).
    pub type_: u8,
    /// Code/data (1) or system (0).
    pub s: bool,
    /// Privilege level.
    pub dpl: u8,
    /// Present.
    pub present: bool,
    /// 64-bit code.
    pub l: bool,
    /// Default operand size 32.
    pub db: bool,
    /// Granularity 4 KiB.
    pub g: bool,
}

impl Segment {
    /// The segment of GDT entry `selector / 8` of [`GDT_ENTRIES`].
    pub fn from_gdt(selector: u16) -> Segment {
        let d = GDT_ENTRIES[usize::from(selector >> 3)];
        let g = (d >> 55) & 1 == 1;
        let raw_limit = ((d & 0xffff) | ((d >> 32) & 0xf_0000)) as u32;
        Segment {
            selector,
            base: ((d >> 16) & 0xff_ffff) | (((d >> 56) & 0xff) << 24),
            limit: if g {
                (raw_limit << 12) | 0xfff
            } else {
                raw_limit
            },
            type_: ((d >> 40) & 0xf) as u8,
            s: (d >> 44) & 1 == 1,
            dpl: ((d >> 45) & 3) as u8,
            present: (d >> 47) & 1 == 1,
            l: (d >> 53) & 1 == 1,
            db: (d >> 54) & 1 == 1,
            g,
        }
    }
}

/// How the boot CPU starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMode {
    /// 64-bit long mode on the loader's page tables.
    Long64,
    /// PVH: 32-bit protected mode, paging off.
    Pvh32,
}

/// The boot CPU's registers at the first instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootState {
    /// Entry kind.
    pub mode: BootMode,
    /// Instruction pointer.
    pub rip: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// RSI (zero page for bzImage).
    pub rsi: u64,
    /// RBX (start info for PVH).
    pub rbx: u64,
    /// RFLAGS (interrupts off).
    pub rflags: u64,
    /// CR0.
    pub cr0: u64,
    /// CR3.
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// EFER.
    pub efer: u64,
    /// GDTR base.
    pub gdt_base: u64,
    /// GDTR limit.
    pub gdt_limit: u16,
    /// CS.
    pub cs: Segment,
    /// DS, ES, SS, FS, GS.
    pub ds: Segment,
    /// TR.
    pub tr: Segment,
}

impl BootState {
    fn new(mode: BootMode, rip: u64) -> BootState {
        let long = mode == BootMode::Long64;
        BootState {
            mode,
            rip,
            rsp: BOOT_STACK,
            rsi: 0,
            rbx: 0,
            rflags: 2,
            // PG WP NE ET MP PE / ET PE
            cr0: if long { 0x8005_0033 } else { 0x11 },
            cr3: if long { PML4 } else { 0 },
            // PAE OSFXSR OSXMMEXCPT
            cr4: if long { 0x620 } else { 0 },
            // NXE LMA LME
            efer: if long { 0xd00 } else { 0 },
            gdt_base: GDT,
            gdt_limit: (GDT_ENTRIES.len() * 8 - 1) as u16,
            cs: Segment::from_gdt(if long { sel::CODE64 } else { sel::CODE32 }),
            ds: Segment::from_gdt(sel::DATA),
            tr: Segment::from_gdt(sel::TSS),
        }
    }
}

/// What the loader put where.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Boot CPU state.
    pub boot: BootState,
    /// Kernel image kind, for messages ("ELF payload", "PVH vmlinux", "bzImage").
    pub kind: &'static str,
    /// End of the highest loaded segment.
    pub kernel_end: u64,
}

const E820_RAM: u32 = 1;
const E820_RESERVED: u32 = 2;

/// The RAM of a machine with `mem` bytes: (guest base, size); up to [`BELOW_4G`] at 0, the
/// rest at [`ABOVE_4G`].
pub fn ram_layout(mem: u64) -> Vec<(u64, u64)> {
    if mem <= BELOW_4G {
        vec![(0, mem)]
    } else {
        vec![(0, BELOW_4G), (ABOVE_4G, mem - BELOW_4G)]
    }
}

fn e820(mem: u64) -> Vec<(u64, u64, u32)> {
    let layout = ram_layout(mem);
    let mut map = vec![
        (0, LOWMEM_END, E820_RAM),
        (LOWMEM_END, HIMEM - LOWMEM_END, E820_RESERVED),
        (HIMEM, layout[0].1 - HIMEM, E820_RAM),
    ];
    map.extend(layout[1..].iter().map(|&(b, s)| (b, s, E820_RAM)));
    map
}

fn write(ram: &GuestRam, gpa: u64, data: &[u8], what: &str) -> Result<(), String> {
    ram.write_slice(data, GuestAddress(gpa))
        .map_err(|_| format!("{what} at {gpa:#x} does not fit in RAM"))
}

/// Writes the GDT and the identity-mapped page tables (the first 4 GiB, then the RAM above
/// 4 GiB of a machine with `mem` bytes, up to [`HIGH_MAPPED`] of it).
fn write_tables(ram: &GuestRam, mem: u64) -> Result<(), String> {
    let gdt: Vec<u8> = GDT_ENTRIES.iter().flat_map(|e| e.to_le_bytes()).collect();
    write(ram, GDT, &gdt, "GDT")?;
    const P_RW_US: u64 = 0x7;
    const PS: u64 = 0x80;
    let pdpt = PML4 + 0x1000;
    let pd = PML4 + 0x2000;
    let mut t = vec![0u8; 0x6000];
    t[..8].copy_from_slice(&(pdpt | P_RW_US).to_le_bytes());
    for i in 0..4u64 {
        let o = 0x1000 + 8 * i as usize;
        t[o..o + 8].copy_from_slice(&((pd + i * 0x1000) | P_RW_US).to_le_bytes());
    }
    for i in 0..2048u64 {
        let o = 0x2000 + 8 * i as usize;
        t[o..o + 8].copy_from_slice(&((i << 21) | PS | P_RW_US).to_le_bytes());
    }
    // RAM above 4 GiB: one page directory per GiB (the last one may be partly past the end)
    let high = mem.saturating_sub(BELOW_4G).min(HIGH_MAPPED);
    let gibs = high.div_ceil(1 << 30);
    let mut hi = vec![0u8; (gibs << 12) as usize];
    for g in 0..gibs {
        let o = 0x1000 + 8 * (ABOVE_4G >> 30) as usize + 8 * g as usize;
        t[o..o + 8].copy_from_slice(&((HIGH_PDS + (g << 12)) | P_RW_US).to_le_bytes());
        for i in 0..512u64 {
            let pa = ABOVE_4G + (g << 30) + (i << 21);
            let o = ((g << 12) + 8 * i) as usize;
            hi[o..o + 8].copy_from_slice(&(pa | PS | P_RW_US).to_le_bytes());
        }
    }
    write(ram, PML4, &t, "page tables")?;
    write(ram, HIGH_PDS, &hi, "page tables above 4 GiB")
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Loads `image` (ELF or bzImage), the initrd and the command line into `ram` (`mem` bytes
/// at 0) and writes the boot tables. Errors are one line naming `name`.
pub fn load(
    ram: &GuestRam,
    mem: u64,
    image: &[u8],
    name: &str,
    initrd: Option<(&[u8], &str)>,
    cmdline: &str,
) -> Result<Loaded, String> {
    if cmdline.len() > CMDLINE_MAX {
        return Err(format!(
            "the kernel command line is {} bytes; at most {CMDLINE_MAX}",
            cmdline.len()
        ));
    }
    if mem < 2 * HIMEM {
        return Err(format!("-m {mem}: the microvm needs at least 2 MiB of RAM"));
    }
    write_tables(ram, mem)?;
    let mut cl = cmdline.as_bytes().to_vec();
    cl.push(0);
    write(ram, CMDLINE, &cl, "command line")?;
    let mut loaded = if image.starts_with(b"\x7fELF") {
        load_elf(ram, image, name)?
    } else if image.len() > 0x250 && &image[0x202..0x206] == b"HdrS" {
        load_bzimage(ram, image, name)?
    } else {
        return Err(format!("{name}: not an x86-64 ELF or bzImage kernel"));
    };
    let rd = match initrd {
        Some((data, rname)) => Some(place_initrd(mem, loaded.kernel_end, data, rname)?),
        None => None,
    };
    if let (Some((addr, _)), Some((data, rname))) = (rd, initrd) {
        write(ram, addr, data, rname)?;
    }
    match loaded.kind {
        "bzImage" => write_zero_page(ram, mem, image, rd, cmdline)?,
        "PVH vmlinux" => write_start_info(ram, mem, rd)?,
        _ => {}
    }
    if loaded.kind == "bzImage" {
        loaded.boot.rsi = ZERO_PAGE;
    }
    Ok(loaded)
}

fn load_elf(ram: &GuestRam, image: &[u8], name: &str) -> Result<Loaded, String> {
    if image.len() < 64 || image[4] != 2 {
        return Err(format!("{name}: not a 64-bit ELF"));
    }
    if u16_at(image, 18) != 62 {
        return Err(format!(
            "{name}: ELF for machine {}, not x86-64",
            u16_at(image, 18)
        ));
    }
    let mut f = std::io::Cursor::new(image);
    let r = Elf::load(ram, None, &mut f, None).map_err(|e| {
        let why = match e {
            linux_loader::loader::Error::Elf(linux_loader::loader::elf::Error::ReadKernelImage) => {
                "a segment lies outside RAM or the file is truncated".to_string()
            }
            e => e.to_string(),
        };
        format!("{name}: cannot load the ELF: {why}")
    })?;
    let entry = u64::from_le_bytes(image[24..32].try_into().unwrap_or_default());
    let (boot, kind) = match r.pvh_boot_cap {
        PvhBootCapability::PvhEntryPresent(a) => {
            let mut b = BootState::new(BootMode::Pvh32, a.0);
            b.rbx = PVH_INFO;
            (b, "PVH vmlinux")
        }
        _ => {
            if entry >= 1 << 32 {
                return Err(format!(
                    "{name}: entry {entry:#x} is outside the identity map and there is no PVH note"
                ));
            }
            (BootState::new(BootMode::Long64, entry), "ELF payload")
        }
    };
    Ok(Loaded {
        boot,
        kind,
        kernel_end: r.kernel_end,
    })
}

fn load_bzimage(ram: &GuestRam, image: &[u8], name: &str) -> Result<Loaded, String> {
    let version = u16_at(image, 0x206);
    let xloadflags = u16_at(image, 0x236);
    if version < 0x20c || xloadflags & 1 == 0 {
        return Err(format!(
            "{name}: bzImage boot protocol {}.{:02} without a 64-bit entry (needs 2.12 and XLF_KERNEL_64)",
            version >> 8,
            version & 0xff
        ));
    }
    let setup_sects = match image[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512;
    let kernel = image
        .get(start..)
        .filter(|k| !k.is_empty())
        .ok_or(format!("{name}: bzImage truncated after its setup code"))?;
    write(ram, HIMEM, kernel, name)?;
    let mut boot = BootState::new(BootMode::Long64, HIMEM + 0x200);
    boot.rsi = ZERO_PAGE;
    Ok(Loaded {
        boot,
        kind: "bzImage",
        kernel_end: HIMEM + kernel.len() as u64,
    })
}

fn place_initrd(mem: u64, kernel_end: u64, data: &[u8], name: &str) -> Result<(u64, u64), String> {
    let len = data.len() as u64;
    let top = mem.min(BELOW_4G);
    let addr = top
        .checked_sub(len)
        .map(|a| a & !0xfff)
        .filter(|&a| a >= kernel_end.max(HIMEM))
        .ok_or(format!(
            "{name}: the initrd ({len} bytes) does not fit in RAM ({mem} bytes) above the kernel"
        ))?;
    Ok((addr, len))
}

fn write_zero_page(
    ram: &GuestRam,
    mem: u64,
    image: &[u8],
    initrd: Option<(u64, u64)>,
    cmdline: &str,
) -> Result<(), String> {
    let mut zp = vec![0u8; 4096];
    // the setup header as the image has it: from 0x1f1 to 0x202 + the byte at 0x201
    let end = (0x202 + usize::from(image[0x201]))
        .min(image.len())
        .min(0x290);
    zp[0x1f1..end].copy_from_slice(&image[0x1f1..end]);
    zp[0x1fa..0x1fc].copy_from_slice(&0xffffu16.to_le_bytes()); // vid_mode: normal
    zp[0x210] = 0xff; // type_of_loader: undefined
    zp[0x211] |= 0x80; // loadflags: CAN_USE_HEAP
    zp[0x224..0x226].copy_from_slice(&0xfe00u16.to_le_bytes()); // heap_end_ptr
    zp[0x228..0x22c].copy_from_slice(&(CMDLINE as u32).to_le_bytes());
    // acpi_rsdp_addr (boot protocol 2.14; older kernels scan the BIOS area)
    zp[0x70..0x78].copy_from_slice(&super::acpi::RSDP_ADDR.to_le_bytes());
    zp[0x238..0x23c].copy_from_slice(&(cmdline.len() as u32).to_le_bytes());
    if let Some((addr, len)) = initrd {
        let max = u64::from(u32_at(&zp, 0x22c));
        if max != 0 && addr + len > max + 1 {
            return Err(format!(
                "the initrd ends at {:#x}, above the kernel's initrd_addr_max {max:#x}",
                addr + len
            ));
        }
        zp[0x218..0x21c].copy_from_slice(&(addr as u32).to_le_bytes());
        zp[0x21c..0x220].copy_from_slice(&(len as u32).to_le_bytes());
    }
    let map = e820(mem);
    zp[0x1e8] = map.len() as u8;
    for (i, (a, s, t)) in map.iter().enumerate() {
        let o = 0x2d0 + 20 * i;
        zp[o..o + 8].copy_from_slice(&a.to_le_bytes());
        zp[o + 8..o + 16].copy_from_slice(&s.to_le_bytes());
        zp[o + 16..o + 20].copy_from_slice(&t.to_le_bytes());
    }
    write(ram, ZERO_PAGE, &zp, "zero page")
}

fn write_start_info(ram: &GuestRam, mem: u64, initrd: Option<(u64, u64)>) -> Result<(), String> {
    let map = e820(mem);
    let modlist = PVH_INFO + 0x40;
    let memmap = modlist + 0x20;
    let info = hvm_start_info {
        magic: 0x336e_c578,
        version: 1,
        nr_modules: u32::from(initrd.is_some()),
        modlist_paddr: if initrd.is_some() { modlist } else { 0 },
        cmdline_paddr: CMDLINE,
        memmap_paddr: memmap,
        memmap_entries: map.len() as u32,
        rsdp_paddr: super::acpi::RSDP_ADDR,
        ..Default::default()
    };
    let err = |_| "PVH start info does not fit in RAM".to_string();
    ram.write_obj(info, GuestAddress(PVH_INFO)).map_err(err)?;
    if let Some((paddr, size)) = initrd {
        let m = hvm_modlist_entry {
            paddr,
            size,
            ..Default::default()
        };
        ram.write_obj(m, GuestAddress(modlist)).map_err(err)?;
    }
    for (i, (addr, size, type_)) in map.into_iter().enumerate() {
        let e = hvm_memmap_table_entry {
            addr,
            size,
            type_,
            reserved: 0,
        };
        ram.write_obj(e, GuestAddress(memmap + 24 * i as u64))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(mem: u64) -> GuestRam {
        GuestRam::from_ranges(&[(GuestAddress(0), mem as usize)]).unwrap()
    }

    fn rd_u64(r: &GuestRam, a: u64) -> u64 {
        r.read_obj::<u64>(GuestAddress(a)).unwrap()
    }
    fn rd_u32(r: &GuestRam, a: u64) -> u32 {
        r.read_obj::<u32>(GuestAddress(a)).unwrap()
    }

    /// A minimal ELF64 x86-64 executable: one PT_LOAD of `code` at `paddr`, entry `entry`,
    /// and a PT_NOTE with a Xen PHYS32_ENTRY note when `pvh` is given.
    fn elf(code: &[u8], paddr: u64, entry: u64, pvh: Option<u32>) -> Vec<u8> {
        let phnum: u16 = if pvh.is_some() { 2 } else { 1 };
        let data_off = 64 + 56 * u64::from(phnum);
        let note_off = data_off + code.len() as u64;
        let mut e = vec![0u8; 64];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2; // 64-bit
        e[5] = 1; // little-endian
        e[6] = 1;
        e[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        e[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        e[20..24].copy_from_slice(&1u32.to_le_bytes());
        e[24..32].copy_from_slice(&entry.to_le_bytes());
        e[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        e[52..54].copy_from_slice(&64u16.to_le_bytes());
        e[54..56].copy_from_slice(&56u16.to_le_bytes());
        e[56..58].copy_from_slice(&phnum.to_le_bytes());
        let ph = |t: u32, off: u64, addr: u64, len: u64| {
            let mut p = vec![0u8; 56];
            p[..4].copy_from_slice(&t.to_le_bytes());
            p[4..8].copy_from_slice(&5u32.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&addr.to_le_bytes());
            p[24..32].copy_from_slice(&addr.to_le_bytes());
            p[32..40].copy_from_slice(&len.to_le_bytes());
            p[40..48].copy_from_slice(&len.to_le_bytes());
            p[48..56].copy_from_slice(&4u64.to_le_bytes());
            p
        };
        e.extend(ph(1, data_off, paddr, code.len() as u64));
        let mut note = Vec::new();
        if let Some(entry32) = pvh {
            note.extend_from_slice(&4u32.to_le_bytes()); // namesz "Xen\0"
            note.extend_from_slice(&4u32.to_le_bytes()); // descsz
            note.extend_from_slice(&18u32.to_le_bytes()); // XEN_ELFNOTE_PHYS32_ENTRY
            note.extend_from_slice(b"Xen\0");
            note.extend_from_slice(&entry32.to_le_bytes());
            e.extend(ph(4, note_off, 0, note.len() as u64));
        }
        e.extend_from_slice(code);
        e.extend_from_slice(&note);
        e
    }

    #[test]
    fn elf_payload_in_long_mode_on_the_identity_map() {
        let mem = 64 << 20;
        let r = ram(mem);
        let img = elf(&[0x90, 0xf4], 0x10_0000, 0x10_0000, None);
        let l = load(&r, mem, &img, "p", None, "hello=1").unwrap();
        assert_eq!(l.kind, "ELF payload");
        let b = l.boot;
        assert_eq!(
            (b.mode, b.rip, b.rsp),
            (BootMode::Long64, 0x10_0000, BOOT_STACK)
        );
        assert_eq!(
            (b.cr0, b.cr3, b.cr4, b.efer),
            (0x8005_0033, PML4, 0x620, 0xd00)
        );
        assert_eq!((b.cs.selector, b.cs.l, b.ds.selector), (0x10, true, 0x18));
        assert_eq!(r.read_obj::<u16>(GuestAddress(0x10_0000)).unwrap(), 0xf490);
        // PML4[0] -> PDPT, PDPT[3] -> 4th PD, last PD entry maps 0xffe00000, user-accessible
        assert_eq!(rd_u64(&r, PML4), (PML4 + 0x1000) | 7);
        assert_eq!(rd_u64(&r, PML4 + 0x1000 + 24), (PML4 + 0x5000) | 7);
        assert_eq!(rd_u64(&r, PML4 + 0x2000 + 8 * 2047), 0xffe0_0000 | 0x87);
        assert_eq!(rd_u64(&r, GDT + 16), GDT_ENTRIES[2]);
        let mut cl = [0u8; 8];
        r.read_slice(&mut cl, GuestAddress(CMDLINE)).unwrap();
        assert_eq!(&cl, b"hello=1\0");
        // outside RAM, wrong machine, entry above 4 GiB without a PVH note
        let far = elf(&[0x90], 0x1_0000_0000, 0x10_0000, None);
        assert!(
            load(&r, mem, &far, "far", None, "")
                .unwrap_err()
                .contains("outside RAM")
        );
        let high = elf(&[0x90], 0x10_0000, 0xffff_ffff_8100_0000, None);
        assert!(
            load(&r, mem, &high, "h", None, "")
                .unwrap_err()
                .contains("PVH")
        );
    }

    #[test]
    fn pvh_start_info_memmap_and_initrd() {
        let mem = 64 << 20;
        let r = ram(mem);
        let img = elf(&[0xf4], 0x100_0000, 0xffff_ffff_8100_0000, Some(0x100_0000));
        let rd = vec![0xabu8; 10_000];
        let l = load(&r, mem, &img, "vmlinux", Some((&rd, "rd")), "console=ttyS0").unwrap();
        assert_eq!(l.kind, "PVH vmlinux");
        let b = l.boot;
        assert_eq!(
            (b.mode, b.rip, b.rbx, b.cr0, b.efer),
            (BootMode::Pvh32, 0x100_0000, PVH_INFO, 0x11, 0)
        );
        assert_eq!((b.cs.selector, b.cs.l, b.cs.db), (0x08, false, true));
        assert_eq!(rd_u32(&r, PVH_INFO), 0x336e_c578);
        assert_eq!(rd_u32(&r, PVH_INFO + 12), 1); // nr_modules
        assert_eq!(rd_u64(&r, PVH_INFO + 24), CMDLINE);
        let memmap = rd_u64(&r, PVH_INFO + 40);
        assert_eq!(rd_u32(&r, PVH_INFO + 48), 3);
        // the last entry: RAM from 1 MiB to the end
        assert_eq!(rd_u64(&r, memmap + 48), HIMEM);
        assert_eq!(rd_u64(&r, memmap + 56), mem - HIMEM);
        assert_eq!(rd_u32(&r, memmap + 64), 1);
        let modlist = rd_u64(&r, PVH_INFO + 16);
        let (addr, size) = (rd_u64(&r, modlist), rd_u64(&r, modlist + 8));
        assert_eq!(size, 10_000);
        assert_eq!(addr % 4096, 0);
        assert!(addr + size <= mem && addr >= 0x100_0001);
        assert_eq!(r.read_obj::<u8>(GuestAddress(addr + 9_999)).unwrap(), 0xab);
    }

    #[test]
    fn bzimage_zero_page() {
        let mem = 32 << 20;
        let r = ram(mem);
        let mut bz = vec![0u8; 2 * 512 + 4096];
        bz[0x1f1] = 1; // setup_sects
        bz[0x201] = 0x6a; // header ends at 0x26c
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        bz[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        bz[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
        bz[0x236..0x238].copy_from_slice(&1u16.to_le_bytes()); // XLF_KERNEL_64
        bz[1024] = 0xcc;
        let rd = vec![1u8; 4096];
        let l = load(&r, mem, &bz, "bz", Some((&rd, "rd")), "quiet").unwrap();
        assert_eq!(l.kind, "bzImage");
        assert_eq!(
            (l.boot.rip, l.boot.rsi, l.boot.mode),
            (HIMEM + 0x200, ZERO_PAGE, BootMode::Long64)
        );
        assert_eq!(r.read_obj::<u8>(GuestAddress(HIMEM)).unwrap(), 0xcc);
        let zp = |o: u64| rd_u32(&r, ZERO_PAGE + o);
        assert_eq!(&zp(0x202).to_le_bytes(), b"HdrS");
        assert_eq!(zp(0x228), CMDLINE as u32);
        assert_eq!(zp(0x238), 5);
        assert_eq!(zp(0x21c), 4096);
        assert_eq!(
            r.read_obj::<u8>(GuestAddress(ZERO_PAGE + 0x210)).unwrap(),
            0xff
        );
        assert_eq!(
            r.read_obj::<u8>(GuestAddress(ZERO_PAGE + 0x1e8)).unwrap(),
            3
        );
        assert_eq!(rd_u64(&r, ZERO_PAGE + 0x2d0 + 40), HIMEM);
        // an old protocol is refused
        bz[0x206..0x208].copy_from_slice(&0x20au16.to_le_bytes());
        assert!(
            load(&r, mem, &bz, "bz", None, "")
                .unwrap_err()
                .contains("2.10")
        );
    }

    /// `-m 5G`: RAM below the hole and from 4 GiB up, in both e820 maps and on the identity
    /// map; the initrd stays below the hole.
    #[test]
    fn ram_above_4g_in_e820_and_page_tables() {
        let mem = 5u64 << 30;
        let layout = ram_layout(mem);
        assert_eq!(layout, vec![(0, BELOW_4G), (ABOVE_4G, mem - BELOW_4G)]);
        let ranges: Vec<_> = layout
            .iter()
            .map(|&(b, s)| (GuestAddress(b), s as usize))
            .collect();
        let r = GuestRam::from_ranges(&ranges).unwrap();
        let img = elf(&[0xf4], 0x100_0000, 0xffff_ffff_8100_0000, Some(0x100_0000));
        let rd = vec![7u8; 8192];
        load(&r, mem, &img, "vmlinux", Some((&rd, "rd")), "").unwrap();
        assert_eq!(rd_u32(&r, PVH_INFO + 48), 4);
        let memmap = rd_u64(&r, PVH_INFO + 40);
        let entry = |i: u64| {
            (
                rd_u64(&r, memmap + 24 * i),
                rd_u64(&r, memmap + 24 * i + 8),
                rd_u32(&r, memmap + 24 * i + 16),
            )
        };
        assert_eq!(entry(2), (HIMEM, BELOW_4G - HIMEM, 1));
        assert_eq!(entry(3), (1 << 32, 2 << 30, 1));
        let modlist = rd_u64(&r, PVH_INFO + 16);
        assert!(rd_u64(&r, modlist) + 8192 <= BELOW_4G);
        // a 2 MiB page maps 4 GiB + 1 GiB + 2 MiB at the same address, user-accessible
        let va: u64 = (5 << 30) + (2 << 20);
        let pdpt = rd_u64(&r, PML4) & !0xfff;
        let pd = rd_u64(&r, pdpt + 8 * (va >> 30)) & !0xfff;
        assert_eq!(rd_u64(&r, pd + 8 * ((va >> 21) & 511)), va | 0x87);
        // the bzImage zero page has the same map
        let mut bz = vec![0u8; 2 * 512 + 4096];
        bz[0x1f1] = 1;
        bz[0x201] = 0x6a;
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        bz[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        bz[0x236..0x238].copy_from_slice(&1u16.to_le_bytes());
        load(&r, mem, &bz, "bz", None, "").unwrap();
        assert_eq!(
            r.read_obj::<u8>(GuestAddress(ZERO_PAGE + 0x1e8)).unwrap(),
            4
        );
        assert_eq!(rd_u64(&r, ZERO_PAGE + 0x2d0 + 60), 1 << 32);
        assert_eq!(rd_u64(&r, ZERO_PAGE + 0x2d0 + 68), 2 << 30);
        assert_eq!(rd_u32(&r, ZERO_PAGE + 0x2d0 + 76), 1);
    }

    #[test]
    fn gdt_segments_decode() {
        let cs = Segment::from_gdt(sel::CODE64);
        assert!(cs.l && !cs.db && cs.present && cs.s && cs.g);
        assert_eq!((cs.type_, cs.dpl, cs.limit), (0xb, 0, 0xffff_ffff));
        let tr = Segment::from_gdt(sel::TSS);
        assert_eq!((tr.type_, tr.s, tr.limit), (0xb, false, 0x67));
        let ds = Segment::from_gdt(sel::DATA);
        assert_eq!((ds.type_, ds.db, ds.base), (3, true, 0));
    }
}
