//! fork-style clone and execve.
//!
//! - `clone` without CLONE_THREAD becomes a host fork. The child gets a fresh engine (the
//!   run loop builds it): the old engine's code memory is a shared memfd, which parent and
//!   child must not both write. CLONE_VM|CLONE_VFORK is run as a plain fork (copy semantics).
//! - `execve` of a program for this guest re-executes the emulator on it (the `xlat run`
//!   command line, with the same accelerator and trace flags; argv[0] travels in the
//!   `XLAT_ARGV0` environment variable, which [`crate::run_program`] takes out again). Any
//!   other file (host programs, `#!` scripts) is handed to the host's execve, as binfmt_misc
//!   would with qemu-user.

use std::ffi::CString;

use super::{Outcome, Process, Sys};

/// The environment variable carrying the guest's argv[0] across a re-exec.
pub const ARGV0_VAR: &str = "XLAT_ARGV0";
/// The environment variable carrying the guest's ignored signals (hex set) across a re-exec:
/// SIG_IGN survives exec, but the Rust runtime of the new emulator ignores SIGPIPE itself, so
/// its real state would be lost.
pub const SIGIGN_VAR: &str = "XLAT_SIGIGN";
/// Environment variable carrying the path the guest passed to execve (its AT_EXECFN) over a
/// re-exec, which names the program by its host path (e.g. inside the sysroot).
pub const EXECFN_VAR: &str = "XLAT_EXECFN";

/// Bit 63 set: [`INHERITED_IGNORED`] holds a set from a re-exec.
const KNOWN: u64 = 1 << 63;
/// Ignored signals handed over by the execve that started this emulator (see [`SIGIGN_VAR`]).
static INHERITED_IGNORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The ignored-signal set an exec handed over, if this process was started by a guest execve.
pub fn inherited_ignored() -> Option<u64> {
    let v = INHERITED_IGNORED.load(std::sync::atomic::Ordering::Relaxed);
    (v & KNOWN != 0).then_some(v & !KNOWN)
}

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_SETTLS: u64 = 0x8_0000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;

const CLONE_THREAD: u64 = 0x1_0000;
/// clone3 only: the child starts with every caught signal back at its default action.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_SIGHAND: u64 = 0x800;
/// Flags pthread_create passes besides the ones above (FS, FILES, SIGHAND, SYSVSEM): all
/// shared anyway between our threads.
const THREAD_SHARING: u64 = 0x200 | 0x400 | 0x800 | 0x4_0000;

/// A new guest thread (clone with CLONE_THREAD), for the run loop to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSpec {
    /// Its stack pointer.
    pub sp: u64,
    /// Its thread pointer (CLONE_SETTLS).
    pub tp: Option<u64>,
    /// Where to store its tid in the parent (CLONE_PARENT_SETTID).
    pub parent_tid: Option<u64>,
    /// Where to store its tid in the child (CLONE_CHILD_SETTID).
    pub child_tid: Option<u64>,
    /// Zeroed and woken at its exit (CLONE_CHILD_CLEARTID).
    pub clear_tid: Option<u64>,
}

/// What a fork child must change in its CPU state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkChild {
    /// New stack pointer (clone's `newsp`), if any.
    pub sp: Option<u64>,
    /// New thread pointer (CLONE_SETTLS), if any.
    pub tp: Option<u64>,
    /// A plain fork: the child's end of the pipe the parent waits on; the run loop closes it
    /// once the child no longer shares the parent's code memory. (A vfork child keeps it open
    /// until it execs or exits, and shares the code memory until then: the parent sleeps.)
    pub gate: Option<i32>,
    /// vfork: the parent sleeps until the child execs or exits.
    pub vfork: bool,
}

impl Process {
    /// clone(flags, newsp, ...): the slots of parent_tid, child_tid and tls are per-arch.
    pub(super) fn clone(&mut self, a: [u64; 6]) -> Outcome {
        let (pt, ct, tl) = self.arch.clone_args();
        self.do_clone(a[0], a[1], a[pt], a[ct], a[tl])
    }

    /// clone3(struct clone_args *, size): the same, from the struct (its `stack` is the
    /// lowest address, so the stack pointer starts at stack + stack_size).
    pub(super) fn clone3(&mut self, a: [u64; 6]) -> Outcome {
        if a[1] < 64 {
            return Outcome::Ret(-i64::from(libc::EINVAL));
        }
        let b = match self.get(a[0], 64) {
            Ok(b) => b,
            Err(e) => return Outcome::Ret(e),
        };
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        let (flags, exit_signal, stack, size) = (w(0), w(4), w(5), w(6));
        let clear_both = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND;
        if flags & 0xff != 0 || exit_signal > 64 || flags & clear_both == clear_both {
            return Outcome::Ret(-i64::from(libc::EINVAL));
        }
        let sp = if stack != 0 {
            stack.wrapping_add(size)
        } else {
            0
        };
        self.do_clone(flags | exit_signal, sp, w(3), w(2), w(7))
    }

    fn do_clone(&mut self, flags: u64, newsp: u64, ptid: u64, ctid: u64, tls: u64) -> Outcome {
        if flags & CLONE_THREAD != 0 {
            let need = CLONE_VM | 0x800; // a thread shares memory and signal handlers
            let ok = CLONE_THREAD
                | need
                | THREAD_SHARING
                | CLONE_SETTLS
                | CLONE_PARENT_SETTID
                | CLONE_CHILD_CLEARTID
                | CLONE_CHILD_SETTID;
            if flags & need != need || flags & !ok != 0 || newsp == 0 {
                return Outcome::Ret(-i64::from(libc::EINVAL));
            }
            let opt = |bit: u64, v: u64| (flags & bit != 0).then_some(v);
            return Outcome::NewThread(ThreadSpec {
                sp: newsp,
                tp: opt(CLONE_SETTLS, tls),
                parent_tid: opt(CLONE_PARENT_SETTID, ptid),
                child_tid: opt(CLONE_CHILD_SETTID, ctid),
                clear_tid: opt(CLONE_CHILD_CLEARTID, ctid),
            });
        }
        let known = 0xff
            | CLONE_VM
            | CLONE_VFORK
            | CLONE_SETTLS
            | CLONE_PARENT_SETTID
            | CLONE_CHILD_CLEARTID
            | CLONE_CHILD_SETTID
            | CLONE_CLEAR_SIGHAND;
        let vm = flags & CLONE_VM != 0;
        if flags & !known != 0 || (vm && flags & CLONE_VFORK == 0) {
            // Sharing memory without being a thread (or vfork) is not supported.
            return Outcome::Ret(
                self.unimp("clone sharing memory without CLONE_THREAD")
                    .unwrap_or_else(|e| e),
            );
        }
        // The parent sleeps until the child closes the write end of a close-on-exec pipe: a
        // vfork child at its exec or exit (as vfork promises), a fork child once it has its
        // own copy of the code memory they share (the run loop closes it then).
        let mut gate = [-1i32; 2];
        // SAFETY: a two-int array we own.
        if unsafe { libc::pipe2(gate.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Outcome::Ret(super::last_err());
        }
        crate::cpu_loop::pause_compiler_for_fork();
        // SAFETY: fork copies only this thread; the child uses a fresh engine and none of the
        // other threads' state; glibc's fork keeps its own state right.
        let pid = unsafe { libc::fork() };
        if gate[0] >= 0 {
            let (mine, theirs) = if pid == 0 {
                (gate[1], gate[0])
            } else {
                (gate[0], gate[1])
            };
            // SAFETY: closing our own pipe ends; the parent's read only fills a local byte.
            unsafe {
                libc::close(theirs);
                if pid > 0 {
                    let mut b = 0u8;
                    while libc::read(mine, (&mut b as *mut u8).cast(), 1) != 0
                        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                    {
                    }
                }
                if pid != 0 {
                    libc::close(mine);
                }
            }
        }
        let vfork = flags & CLONE_VFORK != 0;
        if pid < 0 {
            return Outcome::Ret(super::last_err());
        }
        if pid > 0 {
            if flags & CLONE_PARENT_SETTID != 0 {
                let _ = self.put(ptid, &pid.to_le_bytes());
            }
            return Outcome::Ret(i64::from(pid));
        }
        if flags & CLONE_CLEAR_SIGHAND != 0 {
            for sig in 1..=64 {
                if self.action(sig).handler > 1 {
                    self.reset_action(sig);
                }
            }
        }
        if flags & CLONE_CHILD_SETTID != 0 {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            let _ = self.put(ctid, &tid.to_le_bytes());
        }
        let sp = (newsp != 0).then_some(newsp);
        let tp = (flags & CLONE_SETTLS != 0).then_some(tls);
        Outcome::Forked(ForkChild {
            sp,
            tp,
            gate: (!vfork).then_some(gate[1]),
            vfork,
        })
    }

    fn string_array(&self, mut addr: u64) -> Result<Vec<CString>, i64> {
        let mut v = Vec::new();
        if addr == 0 {
            return Ok(v);
        }
        loop {
            let p = self.space.read_u64(addr).map_err(super::fault)?;
            if p == 0 {
                return Ok(v);
            }
            if v.len() >= 0x2_0000 {
                return Err(-i64::from(libc::E2BIG));
            }
            let s = self
                .space
                .read_cstr(p, 128 << 10)
                .map_err(|_| -i64::from(libc::E2BIG))?;
            v.push(CString::new(s).map_err(|_| -i64::from(libc::EINVAL))?);
            addr += 8;
        }
    }

    /// Whether `path` is an ELF file for this guest.
    fn is_guest_elf(&self, path: &std::path::Path) -> bool {
        use std::io::Read;
        let mut h = [0u8; 20];
        let ok = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut h))
            .is_ok();
        ok && &h[..4] == b"\x7fELF" && u16::from_le_bytes([h[18], h[19]]) == self.machine_nr
    }

    /// execve; returns only on failure.
    pub(super) fn execve(&mut self, a: [u64; 6]) -> Result<i64, i64> {
        let guest_path = self.path(a[0])?;
        let mut argv = self.string_array(a[1])?;
        let mut envp = self.string_array(a[2])?;
        let mut path = if guest_path.as_bytes() == b"/proc/self/exe" {
            CString::new(self.exe.clone()).unwrap_or(guest_path.clone())
        } else {
            self.resolve(guest_path.clone())
        };
        // SAFETY: path is a NUL-terminated string.
        if unsafe { libc::access(path.as_ptr(), libc::X_OK) } != 0 {
            return Err(super::last_err());
        }
        let mut host_path = std::path::PathBuf::from(path.to_string_lossy().into_owned());
        if let Some((interp, arg)) = script_interpreter(&host_path) {
            // A `#!` script whose interpreter is a guest program (e.g. in the sysroot) runs
            // under it, as the kernel's binfmt_script: argv = interpreter as written, its
            // optional argument, the script as named to execve, then argv[1..].
            let resolved = self.resolve(interp.clone());
            let rpath = std::path::PathBuf::from(resolved.to_string_lossy().into_owned());
            if self.is_guest_elf(&rpath) {
                let mut v = vec![interp];
                v.extend(arg);
                v.push(guest_path.clone());
                v.extend(argv.into_iter().skip(1));
                argv = v;
                path = resolved;
                host_path = rpath;
            }
        }
        let (file, args) = if self.is_guest_elf(&host_path) {
            let mut args = vec![
                CString::new("xlat").unwrap_or_default(),
                CString::new("run").unwrap_or_default(),
            ];
            args.extend(
                self.reexec_flags
                    .iter()
                    .filter_map(|s| CString::new(s.as_str()).ok()),
            );
            args.push(path.clone());
            args.extend(argv.iter().skip(1).cloned());
            let argv0 = argv
                .first()
                .map_or_else(|| path.to_bytes().to_vec(), |s| s.to_bytes().to_vec());
            let mut var = format!("{ARGV0_VAR}=").into_bytes();
            var.extend(argv0);
            envp.retain(|e| {
                let e = e.to_bytes();
                !e.starts_with(format!("{ARGV0_VAR}=").as_bytes())
                    && !e.starts_with(format!("{SIGIGN_VAR}=").as_bytes())
                    && !e.starts_with(format!("{EXECFN_VAR}=").as_bytes())
            });
            let mut execfn = format!("{EXECFN_VAR}=").into_bytes();
            execfn.extend(guest_path.to_bytes());
            envp.push(CString::new(execfn).map_err(|_| -i64::from(libc::EINVAL))?);
            envp.push(CString::new(var).map_err(|_| -i64::from(libc::EINVAL))?);
            let ign = (1..=64)
                .filter(|s| self.action(*s).handler == 1)
                .fold(0u64, |m, s| m | crate::signal::bit(s));
            envp.push(CString::new(format!("{SIGIGN_VAR}={ign:x}")).unwrap_or_default());
            (CString::new("/proc/self/exe").unwrap_or_default(), args)
        } else {
            (path, argv)
        };
        if self.opts.strace {
            eprintln!(
                "{} {}: {:?} {:?}",
                std::process::id(),
                Sys::execve.name(),
                file,
                args
            );
        }
        let mut av: Vec<*const libc::c_char> = args.iter().map(|s| s.as_ptr()).collect();
        av.push(std::ptr::null());
        let mut ev: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
        ev.push(std::ptr::null());
        // SAFETY: NULL-terminated arrays of NUL-terminated strings that outlive the call.
        unsafe { libc::execve(file.as_ptr(), av.as_ptr(), ev.as_ptr()) };
        Err(super::last_err())
    }
}

/// Takes `XLAT_EXECFN=` (set by a re-exec) out of `envp` and returns its value.
pub fn take_execfn(envp: &mut Vec<String>) -> Option<String> {
    let key = format!("{EXECFN_VAR}=");
    let i = envp.iter().position(|e| e.starts_with(&key))?;
    Some(envp.remove(i)[key.len()..].to_string())
}

/// The interpreter and optional argument of a `#!` script (None for anything else).
fn script_interpreter(path: &std::path::Path) -> Option<(CString, Option<CString>)> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|b| *b == b'\n')?];
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !blank(b))?;
    let line = &line[start..];
    let end = line.iter().position(blank).unwrap_or(line.len());
    let (interp, rest) = line.split_at(end);
    let rest = rest.trim_ascii();
    let arg = (!rest.is_empty())
        .then(|| CString::new(rest).ok())
        .flatten();
    Some((CString::new(interp).ok()?, arg))
}

/// Takes `XLAT_ARGV0=` out of `envp` (set by a re-exec) and returns its value; also takes
/// `XLAT_SIGIGN=` out, for the new process's ignored signals.
pub fn take_argv0(envp: &mut Vec<String>) -> Option<String> {
    let ign = format!("{SIGIGN_VAR}=");
    if let Some(i) = envp.iter().position(|e| e.starts_with(&ign)) {
        let v = envp.remove(i);
        if let Ok(set) = u64::from_str_radix(&v[ign.len()..], 16) {
            // Bit 63 (signal 64) makes room for KNOWN: its SIG_IGN is not carried over.
            INHERITED_IGNORED.store(set & !KNOWN | KNOWN, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let key = format!("{ARGV0_VAR}=");
    let i = envp.iter().position(|e| e.starts_with(&key))?;
    Some(envp.remove(i)[key.len()..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_interpreter_line_is_split_as_the_kernel_does() {
        let dir = std::env::temp_dir().join(format!("xlat-shebang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s");
        let get = |text: &str| {
            std::fs::write(&f, text).unwrap();
            script_interpreter(&f).map(|(i, a)| {
                (
                    i.into_string().unwrap(),
                    a.map(|a| a.into_string().unwrap()),
                )
            })
        };
        assert_eq!(get("#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(
            get("#! /usr/bin/env  python3 -u \n"),
            Some(("/usr/bin/env".into(), Some("python3 -u".into())))
        );
        assert_eq!(get("echo hi\n"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn argv0_is_taken_out_of_the_environment() {
        let mut env = vec![
            "A=1".to_string(),
            "XLAT_ARGV0=ls".to_string(),
            "B=2".to_string(),
        ];
        assert_eq!(take_argv0(&mut env), Some("ls".to_string()));
        assert_eq!(env, ["A=1", "B=2"]);
        assert_eq!(take_argv0(&mut env), None);
    }
}
