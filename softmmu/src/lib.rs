//! # xlat-softmmu
//!
//! Guest memory. In user mode (today) the guest address space is one large host reservation:
//! host address = `base + (guest address & mask)`, so the JIT can access guest memory inline with
//! one add (and one and) and a stray guest pointer can never reach emulator memory. Page
//! permissions follow the guest's mmap/mprotect through real host protections, so a guest access
//! to an unmapped or protected page faults on the host and becomes the guest's SIGSEGV.
//!
//! System emulation (a physical address space of RAM, ROM and MMIO, and per-vCPU TLBs with an
//! inline fast path) grows here later; the backend sees memory only through [`GuestMemory`].

pub use xlat_ir::CodeFetch;
pub use xlat_ir::interp::{GuestMem, MemFault};

pub mod system;
pub mod user;
pub use user::AddressSpace;

/// How many windows above the direct map generated code reaches inline.
pub const HIGH_WINDOWS: usize = 2;

/// No window above the direct map.
pub const NO_HIGH: [HighWindow; HIGH_WINDOWS] = [HighWindow { tag: 0, delta: 0 }; HIGH_WINDOWS];

/// A window of guest memory beyond the direct map that generated code reaches inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HighWindow {
    /// The guest address bits above the map's (`address >> mask bits`); 0: no window.
    pub tag: u64,
    /// Host address minus guest address inside the window (wrapping).
    pub delta: u64,
}

/// How generated code reaches guest memory without a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectMap {
    /// Host address of guest address 0.
    pub base: u64,
    /// Guest addresses are ANDed with this before adding `base` (the reservation is
    /// `mask + 1` bytes plus a guard, so no guest address reaches outside it).
    pub mask: u64,
    /// More windows (tag 0: none): guest addresses whose bits above `mask` equal a window's
    /// tag are at host `address + delta` (an embedding's RAM at or above 2^39: e.g. x86-64
    /// code in the kernel half and a stack at the top of the user half, two tags).
    pub high: [HighWindow; HIGH_WINDOWS],
    /// Whether Cranelift-compiled code checks that an address is inside the map (`mask`, or
    /// a high window) before the inline access and takes the out-of-line path when not, so
    /// an access beyond it faults at its own address (or reaches a window). Embedding sets it
    /// (embedders map memory anywhere and need exact faults in place). Linux user mode does
    /// not: there an address beyond the map branches to a cold block that faults in the guard
    /// and the engine runs the instruction again in the interpreter (`lower::clamps`), which
    /// costs nothing measurable, where a check that rejoins the access cost intmark 30-40%.
    pub exact: bool,
}

impl DirectMap {
    /// The number of address bits the map covers when it is a power-of-two window with a
    /// guard after it (user mode and embedding: `mask + 1` bytes from `base`), else `None`
    /// (no map, or the identity map of the interpreter).
    pub fn window_bits(&self) -> Option<u32> {
        let m = self.mask;
        (m != 0 && m != u64::MAX && m.wrapping_add(1).is_power_of_two()).then(|| m.count_ones())
    }
}

/// Guest memory as the backend sees it: the interpreter's accessors, code fetch, and (in user
/// mode) the direct map that compiled code uses inline.
pub trait GuestMemory: GuestMem + CodeFetch + Send + Sync + std::fmt::Debug {
    /// The inline direct map, when memory is one flat host region.
    fn direct(&self) -> Option<DirectMap>;

    /// Whether a plain guest store may change the guest code at `pc` while it is translated,
    /// the memory noticing it and dropping the translations (user mode, x86: a guest-writable
    /// page of code, `user::AddressSpace::set_code_watch`). The engine then translates such
    /// code one instruction per unit, so that no store changes the rest of its own unit.
    fn code_may_change(&self, pc: u64) -> bool {
        let _ = pc;
        false
    }
}
