//! `-d strace`: one line per guest syscall, in qemu-user's format
//! (`PID name(args) = result`, errors as `-1 errno=N (text)`).

use super::{Process, Sys};

/// Argument kinds: `d` decimal, `x` hex, `o` octal, `p` pointer, `s` C string, `f` dirfd.
fn spec(sys: Sys) -> &'static str {
    use Sys::*;
    match sys {
        read | write | getdents64 | readv | writev => "dpd",
        pread64 | pwrite64 => "dpdd",
        openat => "fsxo",
        close | fchdir | fsync | fdatasync | dup | exit | exit_group => "d",
        lseek => "ddd",
        fstat | fstatfs => "dp",
        newfstatat => "fspx",
        statx => "fsxxp",
        readlinkat => "fspd",
        faccessat | mkdirat | fchmodat => "fso",
        faccessat2 => "fsox",
        fcntl | dup3 => "ddx",
        pipe2 => "px",
        ioctl => "dxx",
        chdir => "s",
        getcwd => "pd",
        unlinkat => "fsx",
        renameat2 | linkat => "fsfsx",
        umask => "o",
        utimensat => "fspx",
        fchmod => "do",
        fchown | tgkill => "ddd",
        fchownat => "fsddx",
        truncate | statfs => "sp",
        ftruncate | kill | tkill => "dd",
        symlinkat => "sfs",
        mmap => "pdxxdx",
        munmap | set_robust_list => "pd",
        mprotect => "pdx",
        mremap => "pddx",
        madvise => "pdd",
        brk | uname | set_tid_address | sysinfo | times => "p",
        getrandom => "pdx",
        clock_gettime | clock_getres => "dp",
        nanosleep | gettimeofday => "pp",
        clock_nanosleep => "ddpp",
        rt_sigaction | rt_sigprocmask => "dppd",
        prlimit64 => "ddpp",
        execve => "spp",
        getpid | getppid | gettid | getuid | geteuid | getgid | getegid | sched_yield | setsid
        | sync => "",
        _ => "xxxxxx",
    }
}

fn quote(bytes: &[u8], more: bool) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s += "\\\"",
            b'\\' => s += "\\\\",
            b'\n' => s += "\\n",
            0x20..=0x7e => s.push(b as char),
            _ => s += &format!("\\{b:o}"),
        }
    }
    s.push('"');
    if more {
        s += "...";
    }
    s
}

impl Process {
    fn strace_arg(&self, kind: u8, v: u64) -> String {
        match kind {
            b'd' => format!("{}", v as i64),
            b'o' => format!("{v:#o}"),
            b'f' if v as i32 == -100 => "AT_FDCWD".into(),
            b'f' => format!("{}", v as i32),
            b's' if v == 0 => "NULL".into(),
            b's' => match self.space.read_cstr(v, 4096) {
                Ok(b) => quote(&b[..b.len().min(64)], b.len() > 64),
                Err(_) => format!("{v:#x}"),
            },
            b'p' if v == 0 => "NULL".into(),
            _ => format!("{v:#x}"),
        }
    }

    /// The argument part of an strace line for `sys` (read before the call runs).
    pub(super) fn strace_args(&self, sys: Sys, a: &[u64; 6]) -> String {
        let parts: Vec<String> = spec(sys)
            .bytes()
            .zip(a)
            .map(|(k, v)| self.strace_arg(k, *v))
            .collect();
        format!("{}({})", sys.name(), parts.join(","))
    }
}

/// The result part: a value, a hex address for memory calls, or `-1 errno=N (text)`.
pub(super) fn strace_ret(sys: Sys, r: i64) -> String {
    if (-4095..0).contains(&r) {
        let e = std::io::Error::from_raw_os_error(-r as i32).to_string();
        let text = e.split(" (os error").next().unwrap_or("");
        format!("-1 errno={} ({text})", -r)
    } else if matches!(sys, Sys::mmap | Sys::brk | Sys::mremap) {
        format!("{r:#x}")
    } else {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_strings_format_like_qemu() {
        assert_eq!(
            strace_ret(Sys::openat, -2),
            "-1 errno=2 (No such file or directory)"
        );
        assert_eq!(strace_ret(Sys::mmap, 0x3fff_f000), "0x3ffff000");
        assert_eq!(strace_ret(Sys::read, 13), "13");
        assert_eq!(quote(b"a\"b\n\x01", false), "\"a\\\"b\\n\\1\"");
        assert_eq!(quote(b"abc", true), "\"abc\"...");
    }
}
