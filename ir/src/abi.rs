//! The `#[repr(C)]` layouts that JIT code touches. Every offset the backend bakes into generated
//! code comes from here and is pinned by a test, as wasmtime pins its `vmoffsets`.
//!
//! A guest architecture does not define its own state struct: it lays its registers out over
//! [`CpuState::regs`], an array of 64-bit words, and names them with offsets ([`reg_offset`]).
//! That keeps helpers (plain `extern "C" fn(&mut CpuState, ...)`) free of `unsafe` casts and lets
//! the backend treat every guest register as "a word at an offset".

use std::sync::atomic::AtomicU32;

/// Number of 64-bit words available to a guest architecture for its registers.
pub const STATE_WORDS: usize = 512;
/// Entries in the per-vCPU direct-mapped jump cache used by indirect exits (`goto_ptr`).
pub const JMP_CACHE_ENTRIES: usize = 4096;

/// One jump-cache entry: the guest pc and the host code address of the compiled unit for it.
/// `code == 0` means empty.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct JmpCacheEntry {
    /// Guest virtual pc that the entry translates.
    pub pc: u64,
    /// Host address of the unit's entry point (a `tail` calling-convention function).
    pub code: u64,
}

/// Per-vCPU state, shared between the exec loop, helpers and JIT code.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct CpuState {
    /// Non-zero asks the vCPU to return to the exec loop at the next unit entry
    /// (signals, interrupts, stop requests). Set from any thread.
    pub exit_request: AtomicU32,
    /// Set by a helper declared `MAY_RAISE` to a non-zero exception code (code + 1); the JIT
    /// checks it after the call and leaves the unit with [`ExitKind::Raise`].
    pub exc_pending: u32,
    /// Guest pc. Valid whenever control is in the exec loop; units store it before they leave.
    pub pc: u64,
    /// Address of the link slot the last direct (`goto_tb`) exit went through, so the loop can
    /// chain it; 0 after any other exit.
    pub last_slot: u64,
    /// Host address of guest address 0 (user mode).
    pub guest_base: u64,
    /// Exception argument (fault address, bad instruction bits) set with the raise.
    pub exc_arg: u64,
    /// Free for the exec loop's bookkeeping (instructions retired when counted).
    pub icount: u64,
    /// System mode: address of the inline TLB table (an array of [`TLB_ENTRIES`]
    /// [`TlbEntry`]s) for the hart's current translation mode; 0 in user mode.
    pub tlb: u64,
    _pad: [u64; 1],
    /// The guest architecture's registers, laid out by its frontend.
    pub regs: [u64; STATE_WORDS],
    /// Direct-mapped cache pc → host code, looked up inline by indirect exits.
    pub jmp_cache: [JmpCacheEntry; JMP_CACHE_ENTRIES],
}

/// Entries in one inline TLB table (system mode), direct-mapped by virtual page number.
pub const TLB_ENTRIES: usize = 1024;
/// log2 of the size of a [`TlbEntry`].
pub const TLB_ENTRY_SHIFT: u32 = 5;
/// log2 of the page size the inline TLB maps.
pub const TLB_PAGE_BITS: u32 = 12;
/// A tag no access matches (its low page-offset bits are all ones; a compared address has at
/// most its alignment bits set there).
pub const TLB_INVALID: u64 = u64::MAX;

/// One inline TLB entry, looked up by compiled code: an access of `size` bytes at `addr` hits
/// when `addr & (!page_mask | (size - 1)) == tag` (so misaligned accesses always miss), and
/// then reaches host address `addr + addend`. Only RAM (and ROM, for reads) is ever entered;
/// MMIO and pages the slow path must see keep [`TLB_INVALID`] tags. Written only by the
/// hart's own thread (the slow path and its exec loop).
#[repr(C)]
#[derive(Debug)]
pub struct TlbEntry {
    /// Virtual page address for loads, or [`TLB_INVALID`].
    pub read: std::sync::atomic::AtomicU64,
    /// Virtual page address for stores, or [`TLB_INVALID`].
    pub write: std::sync::atomic::AtomicU64,
    /// Host address minus guest virtual address, for the page.
    pub addend: std::sync::atomic::AtomicU64,
    /// Unused (keeps entries a power of two in size).
    pub spare: u64,
}

/// Byte offsets of [`TlbEntry`] fields.
pub mod tlb_off {
    /// `read`.
    pub const READ: i32 = 0;
    /// `write`.
    pub const WRITE: i32 = 8;
    /// `addend`.
    pub const ADDEND: i32 = 16;
}

/// Byte offsets of [`CpuState`] fields, for code generation.
pub mod off {
    /// `exit_request` (u32).
    pub const EXIT_REQUEST: i32 = 0;
    /// `exc_pending` (u32).
    pub const EXC_PENDING: i32 = 4;
    /// `pc` (u64).
    pub const PC: i32 = 8;
    /// `last_slot` (u64).
    pub const LAST_SLOT: i32 = 16;
    /// `guest_base` (u64).
    pub const GUEST_BASE: i32 = 24;
    /// `exc_arg` (u64).
    pub const EXC_ARG: i32 = 32;
    /// `icount` (u64).
    pub const ICOUNT: i32 = 40;
    /// `tlb` (u64).
    pub const TLB: i32 = 48;
    /// First word of `regs`.
    pub const REGS: i32 = 64;
    /// First entry of `jmp_cache`.
    pub const JMP_CACHE: i32 = REGS + (super::STATE_WORDS as i32) * 8;
}

/// Byte offset (from the start of [`CpuState`]) of register word `index`.
pub const fn reg_offset(index: usize) -> u32 {
    off::REGS as u32 + (index as u32) * 8
}

/// log2 of the jump-cache entries the pcs of one 4 KiB guest page share (QEMU's
/// `TB_JMP_PAGE_BITS`): a page's entries are one window of [`JMP_PAGE_ENTRIES`], so a TLB
/// fence of one page clears that window instead of scanning the cache.
pub const JMP_PAGE_BITS: u32 = 6;
/// Entries in one page's window of the jump cache.
pub const JMP_PAGE_ENTRIES: usize = 1 << JMP_PAGE_BITS;

/// Index in the jump cache for a guest pc: the window from the page number (bits 12-17 xor
/// 18-23), the slot in it from the page offset (bits 1-6 xor 7-12), as QEMU's
/// `tb_jmp_cache_hash_func`. Compiled code computes the same (`lower::exits`).
#[inline]
pub fn jmp_cache_index(pc: u64) -> usize {
    let a = pc ^ (pc >> JMP_PAGE_BITS);
    let window = (a >> 12) as usize & (JMP_CACHE_ENTRIES / JMP_PAGE_ENTRIES - 1);
    let slot = (a >> 1) as usize & (JMP_PAGE_ENTRIES - 1);
    (window << JMP_PAGE_BITS) | slot
}

/// The jump-cache indices the pcs of the 4 KiB page at `page_addr` can use.
#[inline]
pub fn jmp_cache_page(page_addr: u64) -> std::ops::Range<usize> {
    let first = jmp_cache_index(page_addr) & !(JMP_PAGE_ENTRIES - 1);
    first..first + JMP_PAGE_ENTRIES
}

impl CpuState {
    /// A zeroed state on the heap (it is ~70 KiB: never put it on the stack).
    pub fn new_boxed() -> Box<CpuState> {
        Box::new(CpuState {
            exit_request: AtomicU32::new(0),
            exc_pending: 0,
            pc: 0,
            last_slot: 0,
            guest_base: 0,
            exc_arg: 0,
            icount: 0,
            tlb: 0,
            _pad: [0; 1],
            regs: [0; STATE_WORDS],
            jmp_cache: [JmpCacheEntry::default(); JMP_CACHE_ENTRIES],
        })
    }

    /// Reads the 64-bit word at byte offset `off` (as produced by [`reg_offset`]).
    #[inline]
    pub fn word(&self, off: u32) -> u64 {
        self.regs[word_index(off)]
    }

    /// Writes the 64-bit word at byte offset `off`.
    #[inline]
    pub fn set_word(&mut self, off: u32, v: u64) {
        self.regs[word_index(off)] = v;
    }

    /// Reads a 32-bit value at byte offset `off` (low or high half of a word, little-endian).
    #[inline]
    pub fn word32(&self, off: u32) -> u32 {
        let w = self.regs[word_index(off & !7)];
        (w >> ((off & 4) * 8)) as u32
    }

    /// Writes a 32-bit value at byte offset `off`, leaving the other half of the word alone.
    #[inline]
    pub fn set_word32(&mut self, off: u32, v: u32) {
        let i = word_index(off & !7);
        let sh = (off & 4) * 8;
        self.regs[i] = (self.regs[i] & !(0xffff_ffffu64 << sh)) | (u64::from(v) << sh);
    }

    /// Empties the jump cache (after a translation flush).
    pub fn clear_jmp_cache(&mut self) {
        self.jmp_cache.fill(JmpCacheEntry::default());
    }
}

fn word_index(off: u32) -> usize {
    debug_assert!(
        off >= off::REGS as u32 && off.is_multiple_of(4),
        "bad state offset {off}"
    );
    ((off - off::REGS as u32) / 8) as usize
}

/// Why a unit returned to the exec loop. Encoded in the low 8 bits of the unit's return value;
/// the upper bits carry a payload.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `env.pc` holds the next pc; if `env.last_slot != 0` that link slot may be chained.
    Lookup = 0,
    /// `exit_request` was set.
    Request = 1,
    /// An `exit` op: payload is the [`crate::ExitReason`] code; `env.pc` is the op's pc.
    Exit = 2,
    /// A `raise` op or a helper raise: payload is the architecture's exception code;
    /// `env.pc` is the faulting instruction, `env.exc_arg` its argument.
    Raise = 3,
}

/// Packs an exit value as units return it.
pub const fn encode_exit(kind: ExitKind, payload: u32) -> u64 {
    (kind as u64) | ((payload as u64) << 8)
}

/// Unpacks a unit's return value.
pub fn decode_exit(v: u64) -> (ExitKind, u32) {
    let kind = match v & 0xff {
        0 => ExitKind::Lookup,
        1 => ExitKind::Request,
        2 => ExitKind::Exit,
        _ => ExitKind::Raise,
    };
    (kind, (v >> 8) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn offsets_match_layout() {
        assert_eq!(offset_of!(CpuState, exit_request) as i32, off::EXIT_REQUEST);
        assert_eq!(offset_of!(CpuState, exc_pending) as i32, off::EXC_PENDING);
        assert_eq!(offset_of!(CpuState, pc) as i32, off::PC);
        assert_eq!(offset_of!(CpuState, last_slot) as i32, off::LAST_SLOT);
        assert_eq!(offset_of!(CpuState, guest_base) as i32, off::GUEST_BASE);
        assert_eq!(offset_of!(CpuState, exc_arg) as i32, off::EXC_ARG);
        assert_eq!(offset_of!(CpuState, icount) as i32, off::ICOUNT);
        assert_eq!(offset_of!(CpuState, tlb) as i32, off::TLB);
        assert_eq!(offset_of!(CpuState, regs) as i32, off::REGS);
        assert_eq!(std::mem::size_of::<TlbEntry>(), 1 << TLB_ENTRY_SHIFT);
        assert_eq!(offset_of!(TlbEntry, write) as i32, tlb_off::WRITE);
        assert_eq!(offset_of!(TlbEntry, addend) as i32, tlb_off::ADDEND);
        assert_eq!(offset_of!(CpuState, jmp_cache) as i32, off::JMP_CACHE);
        assert_eq!(std::mem::size_of::<JmpCacheEntry>(), 16);
    }

    #[test]
    fn word32_halves_are_independent() {
        let mut s = CpuState::new_boxed();
        let o = reg_offset(3);
        s.set_word(o, 0x1111_2222_3333_4444);
        s.set_word32(o + 4, 0xdead_beef);
        assert_eq!(s.word(o), 0xdead_beef_3333_4444);
        assert_eq!(s.word32(o), 0x3333_4444);
    }

    #[test]
    fn a_pages_pcs_index_its_window_only() {
        for page in [
            0u64,
            0x1000,
            0xffff_ffff_8049_f000,
            0x8020_0000,
            0x3f_ffff_f000,
        ] {
            let w = jmp_cache_page(page);
            assert_eq!(w.len(), JMP_PAGE_ENTRIES);
            let mut seen = [false; JMP_PAGE_ENTRIES];
            for off in (0..4096).step_by(2) {
                let i = jmp_cache_index(page + off);
                assert!(w.contains(&i), "{:#x} -> {i} outside {w:?}", page + off);
                seen[i - w.start] = true;
            }
            // Every slot of the window is used by some pc of the page.
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn exit_round_trips() {
        let v = encode_exit(ExitKind::Raise, 0x1234);
        assert_eq!(decode_exit(v), (ExitKind::Raise, 0x1234));
    }
}
