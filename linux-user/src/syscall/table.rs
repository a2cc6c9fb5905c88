//! Per-architecture syscall numbers, mapped onto one shared set of implementations ([`Sys`]).
//! [`generic`] is the asm-generic table (`include/uapi/asm-generic/unistd.h`); each
//! [`crate::arch::UserArch`] maps its own numbers onto [`Sys`].

macro_rules! syscalls {
    ($($name:ident = $nr:expr),* $(,)?) => {
        /// A system call this layer knows by name.
        #[allow(non_camel_case_types, missing_docs, reason = "named as in the kernel, for strace")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Sys { $($name),* }

        impl Sys {
            /// The kernel's name for it.
            pub fn name(self) -> &'static str {
                match self { $(Sys::$name => stringify!($name)),* }
            }
        }

        /// The asm-generic number table.
        pub fn generic(nr: u64) -> Option<Sys> {
            Some(match nr { $($nr => Sys::$name,)* _ => return None })
        }
    };
}

syscalls! {
    getcwd = 17, dup = 23, dup3 = 24, fcntl = 25, ioctl = 29, mkdirat = 34, unlinkat = 35,
    symlinkat = 36, linkat = 37, statfs = 43, fstatfs = 44, truncate = 45, ftruncate = 46,
    fallocate = 47, faccessat = 48, chdir = 49, fchdir = 50, fchmod = 52, fchmodat = 53,
    fchownat = 54, fchown = 55, openat = 56, close = 57, pipe2 = 59, getdents64 = 61, lseek = 62,
    read = 63, write = 64, readv = 65, writev = 66, pread64 = 67, pwrite64 = 68, sendfile = 71,
    pselect6 = 72, ppoll = 73, readlinkat = 78, newfstatat = 79, fstat = 80, sync = 81,
    fsync = 82, fdatasync = 83, utimensat = 88, exit = 93, exit_group = 94,
    set_tid_address = 96, futex = 98, set_robust_list = 99, nanosleep = 101, getitimer = 102,
    setitimer = 103, clock_gettime = 113, clock_getres = 114, clock_nanosleep = 115,
    sched_getaffinity = 123, sched_yield = 124, kill = 129, tkill = 130, tgkill = 131,
    sigaltstack = 132, rt_sigsuspend = 133, rt_sigaction = 134, rt_sigpending = 136, rt_sigprocmask = 135, rt_sigreturn = 139,
    setpgid = 154, getpgid = 155, getsid = 156, setsid = 157, getgroups = 158, times = 153,
    uname = 160, getrlimit = 163, setrlimit = 164, getrusage = 165, umask = 166, prctl = 167,
    gettimeofday = 169, getpid = 172, getppid = 173, getuid = 174, geteuid = 175, getgid = 176,
    getegid = 177, gettid = 178, sysinfo = 179, getresuid = 148, getresgid = 150,
    brk = 214, munmap = 215, mremap = 216, clone = 220, execve = 221, mmap = 222,
    fadvise64 = 223, mprotect = 226, msync = 227, mincore = 232, madvise = 233, wait4 = 260,
    prlimit64 = 261, renameat2 = 276, getrandom = 278, memfd_create = 279, membarrier = 283,
    statx = 291, rseq = 293, clone3 = 435, close_range = 436, faccessat2 = 439,
    eventfd2 = 19, epoll_create1 = 20, epoll_ctl = 21, epoll_pwait = 22, inotify_init1 = 26,
    inotify_add_watch = 27, inotify_rm_watch = 28, flock = 32, mknodat = 33, preadv = 69,
    pwritev = 70, splice = 76, tee = 77, personality = 92, waitid = 95, sched_getscheduler = 120,
    sched_getparam = 121, sched_setaffinity = 122, setpriority = 140, getpriority = 141,
    setregid = 143, setgid = 144, setreuid = 145, setuid = 146, setresuid = 147, setresgid = 149,
    setgroups = 159, sethostname = 161, getcpu = 168, socket = 198, socketpair = 199, bind = 200,
    listen = 201, accept = 202, connect = 203, getsockname = 204, getpeername = 205, sendto = 206,
    recvfrom = 207, setsockopt = 208, getsockopt = 209, shutdown = 210, sendmsg = 211,
    recvmsg = 212, mlock = 228, munlock = 229, mlockall = 230, munlockall = 231, accept4 = 242,
    copy_file_range = 285, fchmodat2 = 452, rt_sigtimedwait = 137, rt_sigqueueinfo = 138,
    rt_tgsigqueueinfo = 240, signalfd4 = 74, get_robust_list = 100, timerfd_create = 85,
    timerfd_settime = 86, timerfd_gettime = 87, capget = 90, capset = 91, sync_file_range = 84,
    syncfs = 267, epoll_pwait2 = 441, pidfd_open = 434, pidfd_send_signal = 424,
    riscv_hwprobe = 1258, riscv_flush_icache = 1259,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_generic_table() {
        // Spot checks against include/uapi/asm-generic/unistd.h.
        let t = crate::arch::for_machine(243);
        let get = |nr| t.syscall(nr).map(Sys::name);
        assert_eq!(get(63), Some("read"));
        assert_eq!(get(64), Some("write"));
        assert_eq!(get(56), Some("openat"));
        assert_eq!(get(79), Some("newfstatat"));
        assert_eq!(get(94), Some("exit_group"));
        assert_eq!(get(214), Some("brk"));
        assert_eq!(get(222), Some("mmap"));
        assert_eq!(get(291), Some("statx"));
        assert_eq!(get(258), Some("riscv_hwprobe"));
        assert_eq!(get(1258), None);
        assert_eq!(get(9999), None);
        assert_eq!(crate::arch::for_machine(183).syscall(258), None);
    }
}
