//! A minimal static ELF64 riscv64 executable writer: one RWX `PT_LOAD` segment holding the
//! headers, code and initialised data, with zero-filled space (bss) after it.

/// Virtual address the image is loaded at (file offset 0).
pub const LOAD_ADDR: u64 = 0x10000;
/// Size of the ELF header plus the single program header, padded; code starts here.
pub const HEADERS: u64 = 0x80;

/// Builds the ELF file: `image` is everything after the headers (code then data), loaded at
/// `LOAD_ADDR + HEADERS`; `bss` zero bytes follow it in memory; execution starts at `entry`.
pub fn build(image: &[u8], bss: u64, entry: u64) -> Vec<u8> {
    let filesz = HEADERS + image.len() as u64;
    let mut f = Vec::with_capacity(filesz as usize);
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV.
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type ET_EXEC
    f.extend_from_slice(&243u16.to_le_bytes()); // e_machine EM_RISCV
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0x5u32.to_le_bytes()); // e_flags: RVC | double-float ABI
    f.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    // Program header: PT_LOAD, PF_R|PF_W|PF_X.
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&7u32.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&LOAD_ADDR.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&LOAD_ADDR.to_le_bytes()); // p_paddr
    f.extend_from_slice(&filesz.to_le_bytes());
    f.extend_from_slice(&(filesz + bss).to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.resize(HEADERS as usize, 0);
    f.extend_from_slice(image);
    f
}
