//! The embedding API: xlat as a library, in the manner of Unicorn, with hooks compiled into
//! the translated code.
//!
//! An [`Engine`] emulates one CPU of an [`Arch`] over its own guest memory: map memory
//! ([`Engine::mem_map`], caller-owned memory with [`Engine::mem_map_ptr`], MMIO callbacks with
//! [`Engine::mmio_map`]), set registers ([`RiscvReg`], [`Arm64Reg`], [`X86Reg`]), run
//! ([`Engine::start`]) and watch it with hooks (code, block, memory, faults, interrupts,
//! system calls, invalid instructions). Hooks are calls compiled into the translated code:
//! with none installed nothing is added, and adding or removing one drops exactly the
//! translations it affects, so it takes effect at once. [`Engine::snapshot`] makes a
//! copy-on-write snapshot of memory and CPU state that can be restored many times over.
//!
//! ```
//! use xlat::embed::{Arch, Engine, Insn, Mode, Perm, X86Reg};
//! let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
//! e.mem_map(0x10000, 0x1000, Perm::ALL).unwrap();
//! // mov eax, 60 ; syscall ; add eax, 1
//! e.mem_write(0x10000, &[0xb8, 60, 0, 0, 0, 0x0f, 0x05, 0x83, 0xc0, 0x01]).unwrap();
//! e.hook_add_insn(Insn::Syscall, |v| {
//!     let nr = v.reg_read(X86Reg::Rax).unwrap();
//!     v.reg_write(X86Reg::Rax, nr * 100).unwrap(); // "emulate" it
//! });
//! e.start(0x10000, 0x1000a, None, 0).unwrap();
//! assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 6001);
//! ```
//!
//! The README's shellcode example (its `write` and `exit` system calls answered by a hook):
//!
//! ```
//! use xlat::embed::{Arch, Engine, Insn, Mode, Perm, X86Reg};
//!
//! // lea rsi, [rip+msg]; mov edx, 6; mov edi, 1; mov eax, 1; syscall;
//! // mov edi, 42; mov eax, 60; syscall; msg: "hello\n"
//! const SHELLCODE: &[u8] = b"\x48\x8d\x35\x1d\0\0\0\xba\x06\0\0\0\xbf\x01\0\0\0\xb8\x01\0\0\0\x0f\x05\
//!                            \xbf\x2a\0\0\0\xb8\x3c\0\0\0\x0f\x05hello\n";
//!
//! fn main() -> Result<(), xlat::embed::Error> {
//!     let mut e = Engine::new(Arch::X86_64, Mode::Mode64)?;
//!     e.mem_map(0x10000, 0x1000, Perm::READ | Perm::EXEC)?;
//!     e.mem_write(0x10000, SHELLCODE)?;
//!     e.hook_add_insn(Insn::Syscall, |v| {
//!         let nr = v.reg_read(X86Reg::Rax).unwrap();
//!         if nr == 1 {
//!             let (buf, len) = (v.reg_read(X86Reg::Rsi).unwrap(), v.reg_read(X86Reg::Rdx).unwrap());
//!             let mut s = vec![0; len as usize];
//!             v.mem_read(buf, &mut s).unwrap();
//!             print!("write: {}", String::from_utf8_lossy(&s));
//!             v.reg_write(X86Reg::Rax, len).unwrap();
//!         } else if nr == 60 {
//!             println!("exit({})", v.reg_read(X86Reg::Rdi).unwrap());
//!             v.stop();
//!         }
//!     });
//!     e.start(0x10000, 0x10000 + SHELLCODE.len() as u64, None, 0)
//! }
//! ```
//!
//! Atomic accesses (x86 `lock` instructions, `xchg`, `cmpxchg`; aarch64 LSE atomics and
//! exclusives; riscv AMOs and LR/SC) are seen by memory hooks as the guest's own access
//! (byte and halfword ones too: their address, size and values, not the containing word the
//! translation works on): a read-modify-write as a read (before), a read-after with the old
//! value and a write with the value stored; a compare-and-swap (`cmpxchg`, `cas`) the same,
//! but with no write when the comparison fails (hardware may write the old value back; the
//! hooks, like Unicorn's, show only what changes memory). A store-conditional (riscv `sc`,
//! aarch64 `stxr`) shows only its write when it succeeds and nothing when it fails (it reads
//! nothing; the load-reserved before it is a read). A fault of a byte or halfword atomic is
//! reported at the guest's address and size. A misaligned x86 `cmpxchg` (split over
//! words, a load and a store) shows the same: its write-back of the old value when the
//! comparison fails is not shown. A 16-byte compare-and-swap (x86
//! `cmpxchg16b`, aarch64 `casp` and `stxp` of 64-bit pairs) is one access of size 16, by the
//! same rules; its hook values are the low 64 bits, [`Vcpu::mem_value128`] the whole value.
//!
//! Addresses: the whole 64-bit space but its last page. RAM below 2^39 is one flat host
//! reservation that compiled code reaches inline at `base + address`; an access at or above
//! 2^39 goes out of line (one `test` and a branch), so it never reaches an alias
//! `address mod 2^39`. RAM mapped at or above 2^39 (x86-64 high-half shellcode, stacks near
//! the top of a 47- or 48-bit user half) is host memory of the engine's own; the parts of it
//! whose address bits above 39 are those of the first two such mappings (e.g. x86-64 code in
//! the kernel half and a stack at the top of the user half) each lie in a reservation of
//! 2^39 bytes of their own (a high window), which compiled code reaches inline from that
//! out-of-line path (`address + delta`; within ~1.5x of RAM below 2^39); the rest is reached
//! through the memory helpers, as caller-owned and MMIO regions are (while any of those
//! exists, guest loads and stores are compiled as helper calls; so also while RAM starts at
//! a multiple of 2^39 right after other mapped memory, which an access from just below could
//! run into). [`Engine::helper_accesses`] counts the accesses the helpers made. Hooks see the
//! guest's own addresses; pcs are reported exactly when their top 16 bits are all zero or
//! all one (canonical addresses). Snapshots of memory at or above 2^39 are copies (not
//! shared copy-on-write as RAM below is), but a restore copies back only the pages written
//! since (recorded as below 2^39) for the RAM in the high window; RAM outside it is copied
//! whole at each restore.
//! On x86-64, code at a non-canonical address (bits 63..47 not all equal: a jump there, or
//! an instruction running on into it) is #GP, exception 13 at that pc (as Unicorn reports
//! it), never a fetch, whatever is mapped there; so is a data access that faults at (or runs
//! into) a non-canonical address (the fault hooks are not called).
//! Pages are 4 KiB; the engine is user-level code only (no privileged state).

mod atomic;
mod dirty;
mod engine;
mod fault;
mod hooks;
mod mem;
mod regs;
mod sig;
mod snapshot;

pub use engine::{Engine, StopHandle};
pub use hooks::{
    CodeCb, HookId, InOutCb, Insn, InsnCb, IntrCb, InvalidCb, MemAccess, MemCb, MemHookKind,
};
pub use mem::{MmioRead, MmioWrite};
pub use regs::{Arm64Reg, Reg, RiscvReg, X86Reg};
pub use snapshot::{RestoreStats, Snapshot};

use engine::EngineCore;
use xlat_ir::abi::{CpuState, STATE_WORDS};

/// Guest architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// RISC-V RV64GC.
    Riscv64,
    /// AArch64 (EL0).
    Aarch64,
    /// x86-64 (64-bit mode, ring 3).
    X86_64,
}

/// CPU modes (only the 64-bit mode of each architecture exists today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The architecture's 64-bit mode (little-endian).
    Mode64,
}

/// Memory permissions (bit flags, as `PROT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm(pub u32);

impl Perm {
    /// No access.
    pub const NONE: Perm = Perm(0);
    /// Readable.
    pub const READ: Perm = Perm(1);
    /// Writable.
    pub const WRITE: Perm = Perm(2);
    /// Executable.
    pub const EXEC: Perm = Perm(4);
    /// Everything.
    pub const ALL: Perm = Perm(7);

    /// Whether every permission of `p` is in `self`.
    pub fn contains(self, p: Perm) -> bool {
        self.0 & p.0 == p.0
    }
}

impl std::ops::BitOr for Perm {
    type Output = Perm;
    fn bitor(self, o: Perm) -> Perm {
        Perm(self.0 | o.0)
    }
}

/// A mapped region, as [`Engine::mem_regions`] lists it (`end` inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub begin: u64,
    /// Last address.
    pub end: u64,
    /// Permissions.
    pub perms: Perm,
}

/// Errors of the embedding API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The register does not exist on this architecture.
    #[error("no such register")]
    NoSuchRegister,
    /// An address or size is not page-aligned (4 KiB), or the size is 0.
    #[error("address or size not page-aligned")]
    Alignment,
    /// The range wraps past the end of the 64-bit address space (the last page below 2^64
    /// cannot be mapped).
    #[error("address out of the guest address space (the last page below 2^64 cannot be mapped)")]
    OutOfRange,
    /// Part of the range is mapped already.
    #[error("memory already mapped")]
    MapExists,
    /// The memory is not mapped.
    #[error("memory not mapped")]
    Unmapped,
    /// The host has no memory for the mapping.
    #[error("out of memory")]
    NoMemory,
    /// A host call failed with this errno.
    #[error("host error {0}")]
    Host(i32),
    /// The code generator could not be set up.
    #[error("backend: {0}")]
    Backend(String),
    /// No such hook.
    #[error("no such hook")]
    NoSuchHook,
    /// The guest read unmapped memory at this address.
    #[error("read from unmapped memory at {0:#x}")]
    ReadUnmapped(u64),
    /// The guest wrote unmapped memory.
    #[error("write to unmapped memory at {0:#x}")]
    WriteUnmapped(u64),
    /// The guest fetched code from unmapped memory.
    #[error("fetch from unmapped memory at {0:#x}")]
    FetchUnmapped(u64),
    /// The guest read memory without read permission.
    #[error("read from protected memory at {0:#x}")]
    ReadProt(u64),
    /// The guest wrote memory without write permission.
    #[error("write to protected memory at {0:#x}")]
    WriteProt(u64),
    /// The guest fetched code from memory without exec permission.
    #[error("fetch from non-executable memory at {0:#x}")]
    FetchProt(u64),
    /// An invalid or unimplemented instruction at this pc.
    #[error("invalid instruction at {0:#x}")]
    InvalidInsn(u64),
    /// A guest exception no hook handled (the architecture's number; `u32::MAX` for a
    /// system call instruction).
    #[error("unhandled guest exception {0}")]
    Exception(u32),
    /// The snapshot belongs to another engine.
    #[error("snapshot of another engine")]
    ForeignSnapshot,
    /// The operation is not possible from inside a hook (starting the engine again, mapping
    /// MMIO or host memory).
    #[error("not possible from inside a hook")]
    Busy,
}

/// What a hook gets: the running CPU and its memory.
pub struct Vcpu<'a> {
    env: &'a mut CpuState,
    core: &'a EngineCore,
    pc: u64,
    redirect: Option<u64>,
    /// The whole value of the 16-byte access a memory hook is called for.
    wide: Option<u128>,
}

impl std::fmt::Debug for Vcpu<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vcpu")
            .field("pc", &format_args!("{:#x}", self.pc))
            .finish_non_exhaustive()
    }
}

impl<'a> Vcpu<'a> {
    pub(crate) fn new(env: &'a mut CpuState, core: &'a EngineCore, pc: u64) -> Vcpu<'a> {
        Vcpu {
            env,
            core,
            pc,
            redirect: None,
            wide: None,
        }
    }

    /// The same CPU, for a memory hook on a 16-byte access with this whole value.
    pub(crate) fn with_wide(mut self, value: u128) -> Vcpu<'a> {
        self.wide = Some(value);
        self
    }

    /// In a memory hook on a 16-byte access (x86 `cmpxchg16b`, aarch64 `casp`/`stxp` of
    /// 64-bit pairs), its whole value: what a read-after read, what a write stores (0 for the
    /// read before the access). The hook's `i64` value is its low 64 bits. `None` for other
    /// accesses (their hook value is the whole value) and outside memory hooks.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// e.mem_map(0x10000, 0x2000, Perm::ALL).unwrap();
    /// e.mem_write(0x10000, &[0xf0, 0x48, 0x0f, 0xc7, 0x0e]).unwrap(); // lock cmpxchg16b [rsi]
    /// e.reg_write(X86Reg::Rsi, 0x11000).unwrap();
    /// // rdx:rax (0:0) matches the zeroed memory: rcx:rbx is stored
    /// e.reg_write(X86Reg::Rcx, 0x1111).unwrap();
    /// e.reg_write(X86Reg::Rbx, 0x2222).unwrap();
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// e.hook_add_mem(MemHookKind::WRITE, 1, 0, move |v, _, _, size, _| {
    ///     *s.lock().unwrap() = Some((size, v.mem_value128()));
    ///     true
    /// });
    /// e.start(0x10000, 0x10005, None, 0).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), Some((16, Some(0x1111 << 64 | 0x2222))));
    /// ```
    pub fn mem_value128(&self) -> Option<u128> {
        self.wide
    }

    /// Reads a register; the pc reads as the instruction the hook is about.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let (tx, rx) = mpsc::channel();
    /// // before the second `inc rax`: rax is 1
    /// e.hook_add_code(0x1003, 0x1003, move |v, _, _| tx.send(v.reg_read(X86Reg::Rax).unwrap()).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// ```
    pub fn reg_read(&self, reg: impl Into<Reg>) -> Result<u64, Error> {
        let r = reg.into();
        if r.arch() != self.core.arch {
            return Err(Error::NoSuchRegister);
        }
        if r.is_pc() {
            return Ok(self.redirect.unwrap_or(self.pc));
        }
        r.read(self.env)
    }

    /// Writes a register; writing the pc makes execution go on there after the hook.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// e.hook_add_code(0x1003, 0x1003, |v, _, _| v.reg_write(X86Reg::Rax, 10).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 11);
    /// ```
    pub fn reg_write(&mut self, reg: impl Into<Reg>, v: u64) -> Result<(), Error> {
        let r = reg.into();
        if r.arch() != self.core.arch {
            return Err(Error::NoSuchRegister);
        }
        if r.is_pc() {
            self.redirect = Some(v);
            return Ok(());
        }
        r.write(self.env, v)
    }

    /// Reads a register's full value (a vector register's 128 bits; see
    /// [`Engine::reg_read128`]).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let (tx, rx) = mpsc::channel();
    /// e.reg_write128(X86Reg::Xmm(1), 3 << 64).unwrap();
    /// e.hook_add_code(0x1000, 0x1000, move |v, _, _| tx.send(v.reg_read128(X86Reg::Xmm(1)).unwrap()).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 3 << 64);
    /// ```
    pub fn reg_read128(&self, reg: impl Into<Reg>) -> Result<u128, Error> {
        let r = reg.into();
        if r.arch() != self.core.arch {
            return Err(Error::NoSuchRegister);
        }
        if r.is_pc() {
            return Ok(u128::from(self.redirect.unwrap_or(self.pc)));
        }
        r.read128(self.env)
    }

    /// Writes a register's full value.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// e.hook_add_code(0x1000, 0x1000, |v, _, _| v.reg_write128(X86Reg::Xmm(2), 1 << 127).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(e.reg_read128(X86Reg::Xmm(2)).unwrap(), 1 << 127);
    /// ```
    pub fn reg_write128(&mut self, reg: impl Into<Reg>, v: u128) -> Result<(), Error> {
        let r = reg.into();
        if r.arch() != self.core.arch {
            return Err(Error::NoSuchRegister);
        }
        if r.is_pc() {
            self.redirect = Some(v as u64);
            return Ok(());
        }
        r.write128(self.env, v)
    }

    /// Reads guest memory.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let (tx, rx) = mpsc::channel();
    /// e.hook_add_block(1, 0, move |v, pc, _| {
    ///     let mut b = [0u8; 3];
    ///     v.mem_read(pc, &mut b).unwrap();
    ///     tx.send(b).unwrap();
    /// });
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(rx.recv().unwrap(), [0x48, 0xff, 0xc0]);
    /// ```
    pub fn mem_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.core.mem_read(addr, buf)
    }

    /// Writes guest memory.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// // the first instruction rewrites the second one (into `nop dword ptr [rax]`)
    /// e.hook_add_code(0x1000, 0x1000, |v, _, _| v.mem_write(0x1003, &[0x0f, 0x1f, 0x00]).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 1);
    /// ```
    pub fn mem_write(&mut self, addr: u64, data: &[u8]) -> Result<(), Error> {
        self.core.mem_write(addr, data)
    }

    /// Maps memory (see [`Engine::mem_map`]); a fault hook that maps the faulting page and
    /// returns true has the access retried.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// // mov rax, [0x5000] (moffs form), mapped by a fault hook
    /// e.mem_write(0x1000, &[0x48, 0xa1, 0, 0x50, 0, 0, 0, 0, 0, 0]).unwrap();
    /// e.hook_add_mem(MemHookKind::READ_UNMAPPED, 1, 0, |v, _, addr, _, _| {
    ///     v.mem_map(addr & !0xfff, 0x1000, Perm::READ).unwrap();
    ///     v.mem_write(addr, &[7]).unwrap();
    ///     true // retry the access
    /// });
    /// e.start(0x1000, 0x100a, None, 0).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 7);
    /// ```
    pub fn mem_map(&mut self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        self.core.mem_map(addr, size, perms)
    }

    /// Unmaps memory.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// e.mem_map(0x5000, 0x1000, Perm::READ).unwrap();
    /// e.hook_add_code(0x1000, 0x1000, |v, _, _| v.mem_unmap(0x5000, 0x1000).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert!(e.mem_regions().iter().all(|r| r.begin != 0x5000));
    /// ```
    pub fn mem_unmap(&mut self, addr: u64, size: u64) -> Result<(), Error> {
        self.core.mem_unmap(addr, size)
    }

    /// Changes permissions.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// e.mem_map(0x5000, 0x1000, Perm::ALL).unwrap();
    /// e.hook_add_code(0x1000, 0x1000, |v, _, _| v.mem_protect(0x5000, 0x1000, Perm::READ).unwrap());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert!(e.mem_regions().iter().any(|r| r.begin == 0x5000 && r.perms == Perm::READ));
    /// ```
    pub fn mem_protect(&mut self, addr: u64, size: u64, perms: Perm) -> Result<(), Error> {
        self.core.mem_protect(addr, size, perms)
    }

    /// Stops the emulation: before the next instruction from a code or block hook, at the
    /// end of the block from elsewhere.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// // stops before the second `inc rax`
    /// e.hook_add_code(0x1003, 0x1003, |v, _, _| v.stop());
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(e.reg_read(X86Reg::Rax).unwrap(), 1);
    /// ```
    pub fn stop(&mut self) {
        self.core
            .ctl
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Adds a code hook from inside a hook (see [`Engine::hook_add_code`]); it fires from
    /// the next instruction on.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let n = Arc::new(Mutex::new(0));
    /// let m = n.clone();
    /// // the first instruction's hook adds a code hook: it sees the second instruction
    /// e.hook_add_code(0x1000, 0x1000, move |v, _, _| {
    ///     let m = m.clone();
    ///     v.hook_add_code(0x1003, 0x1003, move |_, _, _| *m.lock().unwrap() += 1);
    /// });
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(*n.lock().unwrap(), 1);
    /// ```
    pub fn hook_add_code(
        &mut self,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, u64, u32) + Send + 'static,
    ) -> HookId {
        self.core.hook_add(
            hooks::Tag::Code,
            begin,
            end,
            hooks::Callback::Code(Box::new(cb)),
        )
    }

    /// Adds a block hook from inside a hook.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let n = Arc::new(Mutex::new(Vec::new()));
    /// let m = n.clone();
    /// e.hook_add_code(0x1000, 0x1000, move |v, _, _| {
    ///     let m = m.clone();
    ///     v.hook_add_block(1, 0, move |_, pc, _| m.lock().unwrap().push(pc));
    /// });
    /// e.start(0x1000, 0x1006, None, 0).unwrap(); // the block hook comes after this block's start
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert!(n.lock().unwrap().contains(&0x1000));
    /// ```
    pub fn hook_add_block(
        &mut self,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, u64, u32) + Send + 'static,
    ) -> HookId {
        self.core.hook_add(
            hooks::Tag::Block,
            begin,
            end,
            hooks::Callback::Block(Box::new(cb)),
        )
    }

    /// Adds a memory hook from inside a hook.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// // mov [rsp], rax; a hook added by the code hook before it sees the write
    /// e.mem_write(0x1000, &[0x48, 0x89, 0x04, 0x24]).unwrap();
    /// e.mem_map(0x8000, 0x1000, Perm::READ | Perm::WRITE).unwrap();
    /// e.reg_write(X86Reg::Rsp, 0x8800).unwrap();
    /// e.reg_write(X86Reg::Rax, 5).unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// e.hook_add_code(0x1000, 0x1000, move |v, _, _| {
    ///     let tx = tx.clone();
    ///     v.hook_add_mem(MemHookKind::WRITE, 1, 0, move |_, _, addr, _, val| {
    ///         tx.send((addr, val)).unwrap();
    ///         true
    ///     });
    /// });
    /// e.start(0x1000, 0x1004, None, 0).unwrap();
    /// assert_eq!(rx.recv().unwrap(), (0x8800, 5));
    /// ```
    pub fn hook_add_mem(
        &mut self,
        kinds: MemHookKind,
        begin: u64,
        end: u64,
        cb: impl FnMut(&mut Vcpu<'_>, MemHookKind, u64, usize, i64) -> bool + Send + 'static,
    ) -> HookId {
        self.core.hook_add(
            hooks::Tag::Mem(kinds.0),
            begin,
            end,
            hooks::Callback::Mem(Box::new(cb)),
        )
    }

    /// Removes a hook from inside a hook (a hook may remove itself).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex, mpsc};
    /// # use xlat::embed::{Arch, Engine, MemHookKind, Mode, Perm, X86Reg};
    /// # let mut e = Engine::new(Arch::X86_64, Mode::Mode64).unwrap();
    /// # e.mem_map(0x1000, 0x1000, Perm::ALL).unwrap();
    /// # e.mem_write(0x1000, &[0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0]).unwrap(); // inc rax; inc rax
    /// let n = Arc::new(Mutex::new(0));
    /// let m = n.clone();
    /// let id = Arc::new(Mutex::new(None));
    /// let me = id.clone();
    /// // a code hook that removes itself: it runs once
    /// *id.lock().unwrap() = Some(e.hook_add_code(1, 0, move |v, _, _| {
    ///     *m.lock().unwrap() += 1;
    ///     v.hook_del(me.lock().unwrap().take().unwrap()).unwrap();
    /// }));
    /// e.start(0x1000, 0x1006, None, 0).unwrap();
    /// assert_eq!(*n.lock().unwrap(), 1);
    /// ```
    pub fn hook_del(&mut self, id: HookId) -> Result<(), Error> {
        self.core.hook_del(id)
    }
}

/// A saved CPU context: the program counter and every architectural state word.
#[derive(Clone)]
pub struct Context {
    pc: u64,
    regs: Box<[u64; STATE_WORDS]>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("pc", &format_args!("{:#x}", self.pc))
            .finish()
    }
}

impl Context {
    /// Saves the architectural state of `st`.
    pub fn save(st: &CpuState) -> Context {
        Context {
            pc: st.pc,
            regs: Box::new(st.regs),
        }
    }

    /// Restores this context into `st`.
    pub fn restore(&self, st: &mut CpuState) {
        st.pc = self.pc;
        st.regs = *self.regs;
    }
}

#[cfg(test)]
mod tests;
