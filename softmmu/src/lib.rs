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

/// How generated code reaches guest memory without a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectMap {
    /// Host address of guest address 0.
    pub base: u64,
    /// Guest addresses are ANDed with this before adding `base` (the reservation is
    /// `mask + 1` bytes plus a guard, so no guest address reaches outside it).
    pub mask: u64,
}

/// Guest memory as the backend sees it: the interpreter's accessors, code fetch, and (in user
/// mode) the direct map that compiled code uses inline.
pub trait GuestMemory: GuestMem + CodeFetch + Send + Sync + std::fmt::Debug {
    /// The inline direct map, when memory is one flat host region.
    fn direct(&self) -> Option<DirectMap>;
}
