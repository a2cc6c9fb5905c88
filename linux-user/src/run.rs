//! Starting a program and the run loop: load, build the stack, then run guest code and service
//! its system calls until it exits or dies of a signal.

use std::path::Path;
use std::sync::Arc;

use xlat_backend::{Accel, Engine, EngineConfig};
use xlat_ir::{Frontend, TrapClass, abi::CpuState};
use xlat_softmmu::GuestMemory;
use xlat_softmmu::user::{
    AddressSpace, Backing, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MMAP_TOP, PROT_EXEC, PROT_READ,
    PROT_WRITE,
};

use crate::arch::{SignalFrame, UserArch};
use crate::cpu_loop::{End, Machine, cpu_loop};
use crate::stack::{self, at};
use crate::syscall::Process;
use crate::{LoadError, UserOptions, elf, fault};

/// Guest stack size.
pub const STACK_SIZE: u64 = 8 << 20;

/// Dies of signal `sig` the way a native process would (default action, no core file), so the
/// parent sees the same wait status. Returns only for signals whose default does not kill.
pub fn die_by_signal(sig: i32) -> ! {
    // SAFETY: resetting our own signal disposition and mask, then raising; nothing else runs.
    unsafe {
        fault::no_core_dump();
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    std::process::exit(128 + sig)
}

/// The auxiliary vector for main program `l`, started through an interpreter at bias `base`
/// (0 for a static program).
fn auxv(frontend: &dyn Frontend, l: &elf::Loaded, base: u64) -> Vec<(u64, u64)> {
    let arch = crate::arch::for_frontend(frontend);
    // SAFETY: plain id getters.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    let mut v = vec![
        (at::PHDR, l.phdr),
        (at::PHENT, 56),
        (at::PHNUM, l.phnum),
        (at::PAGESZ, 4096),
        (at::BASE, base),
        (at::FLAGS, 0),
        (at::ENTRY, l.entry),
        (at::UID, uid.into()),
        (at::EUID, euid.into()),
        (at::GID, gid.into()),
        (at::EGID, egid.into()),
        (at::SECURE, 0),
        (at::CLKTCK, 100),
    ];
    v.extend(arch.auxv(frontend));
    v
}

/// Sets up guest memory for `path`: image, break and stack. Returns the process state and the
/// initial (pc, sp).
fn load(
    frontend: &dyn Frontend,
    path: &Path,
    argv: &[String],
    envp: &[String],
    execfn: Option<&str>,
    opts: UserOptions,
) -> Result<(Process, u64, u64), LoadError> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|err| LoadError::Open {
        path: shown.clone(),
        err,
    })?;
    let abi = frontend.user_abi();
    let info = elf::parse(&data, abi.elf_machine).map_err(|why| LoadError::BadElf {
        path: shown.clone(),
        why,
    })?;
    let misaligned = (0..64)
        .find(|c| frontend.classify_trap(*c) == TrapClass::Misaligned)
        .unwrap_or(0);
    let bad = |why| LoadError::BadElf {
        path: shown.clone(),
        why,
    };
    // A dynamically linked program needs its interpreter; find it before mapping anything.
    let interp = match &info.interp {
        Some(name) => {
            Some(elf::interp::find(name, opts.sysroot.as_deref(), abi.elf_machine).map_err(bad)?)
        }
        None => None,
    };
    let space = Arc::new(AddressSpace::new(misaligned)?);
    let exe =
        std::fs::canonicalize(path).map_or_else(|_| shown.clone(), |p| p.display().to_string());
    let loaded = elf::load(&space, &data, &info, &exe).map_err(bad)?;
    space.init_brk(loaded.end);

    let stack_lo = MMAP_TOP - STACK_SIZE;
    space.mmap(
        stack_lo,
        STACK_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        Backing::Anon,
    )?;
    space.name_range(stack_lo, MMAP_TOP, "[stack]");
    // The interpreter goes below the stack, where the top-down allocator finds room.
    let (start, base) = match &interp {
        Some((ipath, idata, iinfo)) => {
            let name = std::fs::canonicalize(ipath).unwrap_or_else(|_| ipath.clone());
            let il = elf::load_interp(&space, idata, iinfo, &name.display().to_string()).map_err(
                |why| {
                    bad(elf::ElfError::BadInterp {
                        path: ipath.display().to_string(),
                        why: Box::new(why),
                    })
                },
            )?;
            (il.entry, il.bias)
        }
        None => (loaded.entry, 0),
    };
    let mut random = [0u8; 16];
    // SAFETY: a 16-byte buffer we own.
    unsafe { libc::getrandom(random.as_mut_ptr().cast(), 16, 0) };
    let img = stack::build_with_platform(
        MMAP_TOP,
        argv,
        envp,
        execfn.unwrap_or(&shown),
        crate::arch::for_frontend(frontend).platform(),
        &auxv(frontend, &loaded, base),
        random,
    );
    if img.bytes.len() as u64 > STACK_SIZE / 2 {
        return Err(LoadError::Memory(xlat_softmmu::user::MapError::Host(
            libc::E2BIG,
        )));
    }
    space.write_bytes(img.sp, &img.bytes)?;
    let process = Process::new(space, opts, exe, abi.elf_machine, abi.uname_machine);
    Ok((process, start, img.sp))
}

/// Runs the Linux program at `path` with `argv` and `envp` and returns its exit status. A
/// dynamically linked program starts in its interpreter, found in `opts.sysroot` (made
/// absolute here). A guest that dies of a signal kills this process with the same signal.
pub fn run_program(
    frontend: Arc<dyn Frontend>,
    cfg: EngineConfig,
    path: &Path,
    argv: Vec<String>,
    envp: Vec<String>,
    opts: UserOptions,
) -> Result<i32, LoadError> {
    let (mut argv, mut envp) = (argv, envp);
    let execfn = crate::syscall::take_execfn(&mut envp);
    if let Some(a0) = crate::syscall::take_argv0(&mut envp) {
        match argv.first_mut() {
            Some(first) => *first = a0,
            None => argv.push(a0),
        }
    }
    let mut opts = opts;
    // The guest may chdir: a relative sysroot must keep meaning the same directory.
    if let Some(root) = &opts.sysroot {
        let abs = std::fs::canonicalize(root).map_err(|err| LoadError::Open {
            path: root.display().to_string(),
            err,
        })?;
        opts.sysroot = Some(abs);
    }
    let reexec_flags = reexec_flags(&cfg, &opts);
    let (mut process, entry, sp) = load(
        frontend.as_ref(),
        path,
        &argv,
        &envp,
        execfn.as_deref(),
        opts,
    )?;
    process.reexec_flags = reexec_flags;
    process.cmdline = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let (start, len) = process.space.host_range();
    fault::install(start, len);
    let (load_fault, store_fault) = fault::access_fault_codes(&*frontend);
    fault::set_access_fault_codes(load_fault, store_fault);
    let abi = frontend.user_abi().clone();
    let mut env = CpuState::new_boxed();
    frontend.init_user_state(&mut env);
    env.pc = entry;
    env.set_word(abi.sp, sp);
    let mem: Arc<dyn GuestMemory> = process.space.clone();
    let engine = Arc::new(Engine::new(frontend.clone(), mem.clone(), cfg.clone())?);
    // Hot code is compiled on another host thread while the guest runs on in the baseline
    // tier, as in system mode (`XLAT_FG_COMPILE=1`: on the guest's thread, in its lookups).
    // The thread is paused around each fork (`cpu_loop::pause_compiler_for_fork`).
    if std::env::var_os("XLAT_FG_COMPILE").is_none() {
        engine.set_background_compile(true);
    }
    fault::watch_code(&process.space, &engine, fault::wants_code_watch(&*frontend));
    let arch = crate::arch::for_frontend(frontend.as_ref());
    let (frame, trampoline) = signal_support(arch, frontend.as_ref(), &process.space);
    let mut machine = Machine {
        arch,
        frontend,
        mem,
        cfg,
        engine,
        frame,
        trampoline,
    };
    // The main thread's `exit` ends the process too (other threads are not waited for).
    let status = match cpu_loop(&mut machine, &mut process, &mut env)? {
        End::Group(code) | End::Thread(code) => code,
    };
    if process.opts.stats {
        eprintln!("{}", machine.engine.stats());
    }
    Ok(status)
}

/// The signal-frame register map and a sigreturn trampoline page, where the architecture
/// has frame support (a trampoline page only where it has a trampoline).
fn signal_support(
    arch: &dyn UserArch,
    frontend: &dyn Frontend,
    space: &AddressSpace,
) -> (Option<Arc<dyn SignalFrame>>, u64) {
    let Some(frame) = arch.signal_frame(frontend) else {
        return (None, 0);
    };
    let Some(code) = arch.sigreturn_trampoline() else {
        return (Some(frame), 0);
    };
    let flags = MAP_PRIVATE | MAP_ANONYMOUS;
    let Ok(page) = space.mmap(0, 4096, PROT_READ | PROT_WRITE, flags, Backing::Anon) else {
        return (None, 0);
    };
    if space.write_bytes(page, &code).is_err()
        || space.mprotect(page, 4096, PROT_READ | PROT_EXEC).is_err()
    {
        return (None, 0);
    }
    space.name_range(page, page + 4096, "[vdso]");
    (Some(frame), page)
}

/// `xlat run` options reproducing `cfg` and `opts`, for a re-exec on execve.
fn reexec_flags(cfg: &EngineConfig, opts: &UserOptions) -> Vec<String> {
    let mut f = vec![
        "--accel".to_string(),
        if cfg.accel == Accel::Interp {
            "interp"
        } else {
            "jit"
        }
        .to_string(),
    ];
    f.extend(["--hot-threshold".to_string(), cfg.hot_threshold.to_string()]);
    let t = &cfg.trace;
    let names = [
        (t.in_asm, "in_asm"),
        (t.ir, "ir"),
        (t.out_asm, "out_asm"),
        (t.exec, "exec"),
        (opts.strace, "strace"),
        (opts.unimp, "unimp"),
        (opts.stats, "stats"),
    ];
    let on: Vec<&str> = names.iter().filter(|(b, _)| *b).map(|(_, n)| *n).collect();
    if !on.is_empty() {
        f.extend(["-d".to_string(), on.join(",")]);
    }
    if let Some(root) = &opts.sysroot {
        f.extend(["-L".to_string(), root.display().to_string()]);
    }
    f
}
