//! # xlat-linux-user
//!
//! Runs a foreign Linux program as this process, like `qemu-riscv64 [-L SYSROOT] PROGRAM`: the
//! ELF loader ([`elf`]) maps the image (and, for a dynamically linked program, its interpreter
//! from the sysroot) into a [`xlat_softmmu::AddressSpace`], [`stack`] builds the initial stack
//! exactly as Linux does, and the run loop hands each guest system call to [`syscall`], which
//! translates it to the host's. Absolute guest paths that exist in the sysroot are looked up
//! there first, as qemu-user does.
//!
//! Processes: `clone` with CLONE_THREAD (or clone3) starts a host thread running the same
//! engine on its own CPU state; without it, `clone` is a host fork (the child builds a fresh
//! engine), and `execve` of a guest program re-runs the emulator on it (anything else goes to
//! the host's execve, as with binfmt_misc). A guest fault on unmapped or protected memory
//! kills the process with the same signal, as natively.
//!
//! Signals ([`signal`]): guest handlers run for signals from outside (the host handler pulls
//! the vCPU out of guest code), signals the guest sends itself, and SIGILL/SIGFPE/SIGTRAP from
//! guest instructions; frames are built for riscv64.
//!
//! Not yet: a guest SIGSEGV/SIGBUS handler for a fault in guest code (the process dies of the
//! signal, as if uncaught), sigaltstack, and the main thread's `exit`
//! waiting for the other threads.
//!
//! The layer is architecture-generic: it knows the guest only through [`xlat_ir::Frontend`]
//! (`user_abi()`, `classify_trap()`), and syscall numbers come from a per-architecture table
//! ([`syscall::table`]) over one set of implementations.

mod cpu_loop;
pub mod elf;
mod fault;
mod run;
pub mod signal;
pub mod stack;
pub mod syscall;

use std::path::PathBuf;

pub use run::run_program;

/// User-mode switches from the command line.
#[derive(Debug, Clone, Default)]
pub struct UserOptions {
    /// `-d strace`: one line per guest system call on stderr.
    pub strace: bool,
    /// `-d unimp`: one line per unimplemented system call or ioctl.
    pub unimp: bool,
    /// `-d stats`: translation statistics at exit.
    pub stats: bool,
    /// `-L DIR`: sysroot for dynamically linked programs: their interpreter, and absolute
    /// guest paths that exist there.
    pub sysroot: Option<PathBuf>,
}

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot open '{path}': {err}")]
    Open {
        /// The program path.
        path: String,
        /// The host error.
        err: std::io::Error,
    },
    /// The file is not a valid ELF executable we can run.
    #[error("'{path}': {why}")]
    BadElf {
        /// The program path.
        path: String,
        /// What is wrong with it.
        why: elf::ElfError,
    },
    /// The guest memory could not be set up.
    #[error("guest memory: {0}")]
    Memory(#[from] xlat_softmmu::user::MapError),
    /// The JIT could not be set up.
    #[error("engine: {0}")]
    Engine(#[from] xlat_backend::BackendError),
}
