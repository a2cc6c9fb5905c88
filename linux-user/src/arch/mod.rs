//! What differs between guest architectures in linux-user, behind one trait: [`UserArch`].
//!
//! The rest of the layer (loader, syscalls, signals, threads) is shared; an architecture
//! supplies its syscall numbers (mapped onto the shared [`Sys`] implementations), clone's
//! argument order, the size of its `struct sigaction`, fix-ups for calls or structs that
//! differ from the asm-generic ones ([`UserArch::before_syscall`] /
//! [`UserArch::after_syscall`]), its auxv extras, and its signal frame ([`SignalFrame`]).
//!
//! # Adding an architecture
//!
//! 1. Write `arch/<name>.rs` with a unit struct implementing [`UserArch`] (see
//!    [`riscv64::Riscv64`] for a complete one; only the required methods are mandatory: the
//!    defaults give asm-generic behaviour and no signal frame, so handlers cannot run yet).
//! 2. Add `pub mod <name>;` below and one match arm in [`for_machine`] mapping its ELF
//!    `e_machine` to the struct. That is all: the loader checks `e_machine` against the
//!    frontend's [`xlat_ir::UserAbi::elf_machine`], and every guest thread of the process
//!    finds its arch through it.
//!
//! Signal frames: [`UserArch::signal_frame`] returns the arch's [`SignalFrame`] (built from
//! the frontend's named registers). The handler's return address is the guest's
//! `sa_restorer` when it set SA_RESTORER (x86-64 and arm64 libcs always do), else the
//! trampoline page built from [`UserArch::sigreturn_trampoline`] (riscv64, which has no
//! vDSO here).

use std::sync::Arc;

use xlat_ir::{Frontend, abi::CpuState};
use xlat_softmmu::user::{AddressSpace, MapError};

use crate::stack::at;
use crate::syscall::table::{Sys, generic};

pub mod aarch64;
pub mod riscv64;

/// What to do with a syscall before the shared layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pre {
    /// Done here: this is the result.
    Ret(i64),
    /// Run (arch-numbered) syscall `nr` with these arguments.
    Call(u64, [u64; 6]),
}

/// One guest architecture's Linux ABI. Implementations are unit structs registered in
/// [`for_machine`].
pub trait UserArch: Send + Sync + std::fmt::Debug {
    /// The kernel's name for it (`uname -m`).
    fn name(&self) -> &'static str;

    /// ELF `e_machine` of its programs.
    fn elf_machine(&self) -> u16;

    /// Syscall number → the shared syscall (None: -ENOSYS).
    fn syscall(&self, nr: u64) -> Option<Sys>;

    /// Bytes of the kernel's `struct sigaction`: handler, flags, then `sa_restorer` where
    /// the ABI has one (32 bytes: restorer at offset 16), mask last.
    fn sigaction_size(&self) -> usize {
        32
    }

    /// Bytes of the guest's `struct epoll_event`: 16 (the data at offset 8) on the generic
    /// ABI, 12 where the kernel packs it (x86-64: the data at offset 4).
    fn epoll_event_size(&self) -> usize {
        16
    }

    /// clone's argument slots for (parent_tid, child_tid, tls): CONFIG_CLONE_BACKWARDS
    /// (riscv, arm64) passes tls 4th and child_tid 5th; x86-64 the other way round.
    fn clone_args(&self) -> (usize, usize, usize) {
        (2, 4, 3)
    }

    /// Handles calls the shared layer does not know (e.g. x86-64's arch_prctl) or rewrites
    /// them to ones it does. `nr` is this arch's number.
    fn before_syscall(
        &self,
        env: &mut CpuState,
        space: &AddressSpace,
        nr: u64,
        a: [u64; 6],
    ) -> Pre {
        let _ = (env, space);
        Pre::Call(nr, a)
    }

    /// Fixes up a finished call's output whose layout differs from asm-generic (e.g. x86-64's
    /// `struct stat`). `nr` and `a` are what [`UserArch::before_syscall`] returned.
    fn after_syscall(&self, space: &AddressSpace, nr: u64, a: [u64; 6], ret: i64) {
        let _ = (space, nr, a, ret);
    }

    /// The arch's numeric auxv entries (AT_HWCAP, AT_HWCAP2...).
    fn auxv(&self, frontend: &dyn Frontend) -> Vec<(u64, u64)> {
        vec![(at::HWCAP, frontend.user_abi().hwcap)]
    }

    /// The AT_PLATFORM string, where the kernel gives one ("x86_64", "aarch64"; riscv64 has
    /// none).
    fn platform(&self) -> Option<&'static str> {
        None
    }

    /// The signal frame, if guest handlers can run on this arch.
    fn signal_frame(&self, frontend: &dyn Frontend) -> Option<Arc<dyn SignalFrame>> {
        let _ = frontend;
        None
    }

    /// Code for a sigreturn trampoline page (handlers without SA_RESTORER return there).
    fn sigreturn_trampoline(&self) -> Option<Vec<u8>> {
        None
    }

    /// `si_code` and `si_addr` of the SIGFPE that the guest's arithmetic exception `code`
    /// raised at `env.pc` (None: FPE_INTDIV at the exception's argument).
    fn fpe_info(&self, env: &CpuState, code: u32) -> Option<(i32, u64)> {
        let _ = (env, code);
        None
    }
}

/// One signal to deliver.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The signal number.
    pub sig: i32,
    /// Its siginfo bytes.
    pub info: &'a [u8; 128],
    /// The mask to restore at sigreturn.
    pub old_mask: u64,
    /// The guest handler.
    pub handler: u64,
    /// The handler's return address: `sa_restorer` or the trampoline.
    pub trampoline: u64,
    /// Where the frame goes below, if not the guest's stack pointer (an alternate stack).
    pub stack_top: Option<u64>,
    /// The `stack_t` saved in `uc_stack` (the alternate stack settings at delivery).
    pub uc_stack: [u8; 24],
}

/// An architecture's `rt_sigframe`.
pub trait SignalFrame: Send + Sync + std::fmt::Debug {
    /// Builds the frame below the stack pointer (or `d.stack_top`) and enters the handler.
    fn setup(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
        d: &Delivery<'_>,
    ) -> Result<(), MapError>;

    /// rt_sigreturn: restores the registers from the frame; returns the signal mask to
    /// reinstate and the saved `uc_stack`.
    fn restore(
        &self,
        space: &AddressSpace,
        env: &mut CpuState,
    ) -> Result<(u64, [u8; 24]), MapError>;
}

/// An arch we know no more about than its `e_machine`: asm-generic numbers (as aarch64,
/// loongarch...), no signal frame.
#[derive(Debug)]
pub struct Generic(pub u16);

impl UserArch for Generic {
    fn name(&self) -> &'static str {
        "unknown"
    }
    fn elf_machine(&self) -> u16 {
        self.0
    }
    fn syscall(&self, nr: u64) -> Option<Sys> {
        if nr >= 1000 { None } else { generic(nr) }
    }
}

/// x86-64, through the functions of [`crate::arch_x86_64`] (to move into `arch/x86_64.rs`).
#[derive(Debug)]
pub struct X86_64;

impl UserArch for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }
    fn elf_machine(&self) -> u16 {
        crate::arch_x86_64::EM_X86_64
    }
    fn syscall(&self, nr: u64) -> Option<Sys> {
        crate::arch_x86_64::lookup(nr)
    }
    fn clone_args(&self) -> (usize, usize, usize) {
        (2, 3, 4)
    }
    fn platform(&self) -> Option<&'static str> {
        Some("x86_64")
    }
    fn epoll_event_size(&self) -> usize {
        12
    }
    fn before_syscall(
        &self,
        env: &mut CpuState,
        space: &AddressSpace,
        nr: u64,
        a: [u64; 6],
    ) -> Pre {
        match crate::arch_x86_64::before(env, space, nr, a) {
            crate::arch_x86_64::Pre::Ret(v) => Pre::Ret(v),
            crate::arch_x86_64::Pre::Call(nr, a) => Pre::Call(nr, a),
        }
    }
    fn after_syscall(&self, space: &AddressSpace, nr: u64, a: [u64; 6], ret: i64) {
        crate::arch_x86_64::after(space, nr, a, ret)
    }
    fn signal_frame(&self, _: &dyn Frontend) -> Option<Arc<dyn SignalFrame>> {
        Some(Arc::new(crate::arch_x86_64::Frame))
    }
    fn fpe_info(&self, env: &CpuState, code: u32) -> Option<(i32, u64)> {
        Some(crate::arch_x86_64::fpe_info(env, code))
    }
}

static GENERIC: Generic = Generic(183);

/// The arch of ELF machine `e_machine` (an unknown one gets [`Generic`] behaviour).
pub fn for_machine(e_machine: u16) -> &'static dyn UserArch {
    match e_machine {
        riscv64::EM_RISCV => &riscv64::Riscv64,
        aarch64::EM_AARCH64 => &aarch64::Aarch64,
        crate::arch_x86_64::EM_X86_64 => &X86_64,
        _ => &GENERIC,
    }
}

/// The arch of the programs `frontend` runs.
pub fn for_frontend(frontend: &dyn Frontend) -> &'static dyn UserArch {
    for_machine(frontend.user_abi().elf_machine)
}
