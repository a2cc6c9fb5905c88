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
//! engine on its own CPU state (the main thread's `exit` leaves the process to the others, as
//! on Linux); without it, `clone` is a host fork (the child builds a fresh engine), vfork's
//! parent sleeps until the child execs or exits, and `execve` of a guest program re-runs the
//! emulator on it (anything else goes to the host's execve, as with binfmt_misc). Robust
//! futex lists are walked at thread exit, as the kernel does.
//!
//! Signals ([`signal`]): each guest thread's mask is mirrored on its host thread and the host
//! disposition follows the guest's, so the host kernel keeps pending, blocked, default and
//! ignored signals exactly as natively (sigtimedwait, signalfd and sigpending are host calls);
//! caught signals pull the vCPU out of guest code and run the guest handler on a riscv64
//! frame (on the sigaltstack with SA_ONSTACK); interrupted syscalls restart under SA_RESTART.
//! SIGILL/SIGTRAP/SIGSEGV from guest instructions go to guest handlers or kill as on Linux.
//!
//! Real-time signals queue: a caught one stays blocked on the host until the guest takes it, so
//! the kernel keeps the later instances in order. Not yet: vfork's child
//! does not share the parent's memory (as with qemu-user, it is a copy).
//!
//! The layer is architecture-generic: it knows the guest only through [`xlat_ir::Frontend`]
//! (`user_abi()`, `classify_trap()`) and one [`arch::UserArch`] per guest architecture (its
//! syscall numbers over the shared implementations, struct and clone differences, auxv
//! extras, signal frame), chosen by ELF `e_machine`; see [`arch`] for adding one.

pub mod arch;
pub mod arch_x86_64;
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
