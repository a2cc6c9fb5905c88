//! End-to-end: small riscv64 programs (built here with riscv64-linux-gnu-gcc, installed by
//! scripts/setup.sh) run through `run_program`; expected values come from the programs'
//! own specification (what they are written to print), not from our output.
#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration-test crate is all tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use xlat_backend::{Accel, EngineConfig};
use xlat_linux_user::{UserOptions, run_program};

fn workdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("xlat-linux-user-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn build(name: &str, src: &str, lang: &str, extra: &[&str]) -> PathBuf {
    let dir = workdir();
    let src_path = dir.join(format!("{name}.{lang}"));
    std::fs::write(&src_path, src).unwrap();
    let out = dir.join(name);
    let st = Command::new("riscv64-linux-gnu-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src_path)
        .args(extra)
        .status()
        .expect("riscv64-linux-gnu-gcc missing: run scripts/setup.sh");
    assert!(st.success(), "compiling {name}");
    out
}

fn run(prog: &Path, args: &[&str], accel: Accel) -> i32 {
    let frontend = Arc::new(xlat_frontend_riscv::Riscv64::new());
    let cfg = EngineConfig {
        accel,
        hot_threshold: 2,
        ..EngineConfig::default()
    };
    let mut argv = vec![prog.display().to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let envp = vec!["XLAT_T=env-value".to_string(), "OTHER=1".to_string()];
    run_program(frontend, cfg, prog, argv, envp, UserOptions::default()).expect("load")
}

/// Raw syscalls, no libc: openat(argv[1]) + write + close, exit status argc * 10 + 2.
const ASM: &str = r#"
    .globl _start
_start:
    ld   s0, 0(sp)          # argc
    ld   a1, 16(sp)         # argv[1]
    li   a0, -100           # AT_FDCWD
    li   a2, 0x241          # O_WRONLY|O_CREAT|O_TRUNC
    li   a3, 0644
    li   a7, 56             # openat
    ecall
    mv   s1, a0
    la   a1, msg
    li   a2, 17
    li   a7, 64             # write
    ecall
    mv   a0, s1
    li   a7, 57             # close
    ecall
    li   t0, 10
    mul  a0, s0, t0
    addi a0, a0, 2
    li   a7, 94             # exit_group
    ecall
msg: .ascii "hello from guest\n"
"#;

#[test]
fn raw_syscalls_in_both_tiers() {
    let prog = build("raw", ASM, "s", &["-nostdlib"]);
    for accel in [Accel::Jit, Accel::Interp] {
        let out = workdir().join(format!("raw-{accel:?}.txt"));
        let status = run(&prog, &[out.to_str().unwrap(), "x", "y"], accel);
        assert_eq!(status, 42, "argc 4 → 42");
        assert_eq!(std::fs::read(&out).unwrap(), b"hello from guest\n");
    }
}

const C_PROG: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "w");
    if (!f) return 99;
    fprintf(f, "argc=%d last=%s\n", argc, argv[argc - 1]);
    fprintf(f, "env=%s\n", getenv("XLAT_T"));
    fprintf(f, "pagesz=%lu clktck=%lu\n", getauxval(AT_PAGESZ), getauxval(AT_CLKTCK));
    unsigned char *big = malloc(4 << 20);          /* mmap'd by malloc */
    memset(big, 7, 4 << 20);
    fprintf(f, "big=%d\n", big[(4 << 20) - 1]);
    free(big);
    struct stat st;
    fprintf(f, "stat=%d size=%ld\n", stat(argv[1], &st), (long)(S_ISREG(st.st_mode)));
    char buf[8192];
    FILE *m = fopen("/proc/self/maps", "r");
    size_t n = m ? fread(buf, 1, sizeof buf - 1, m) : 0;
    buf[n] = 0;
    fprintf(f, "stack=%d\n", strstr(buf, "[stack]") != NULL);
    fclose(f);
    return 3;
}
"#;

#[test]
fn glibc_static_program() {
    let prog = build("cprog", C_PROG, "c", &[]);
    let out = workdir().join("c.txt");
    let status = run(&prog, &[out.to_str().unwrap(), "last-arg"], Accel::Jit);
    assert_eq!(status, 3);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text,
        "argc=3 last=last-arg\nenv=env-value\npagesz=4096 clktck=100\nbig=7\nstat=0 size=1\nstack=1\n"
    );
}

const IO_PROG: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "w");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 90;
    char a[] = "ab", b[] = "cde";
    struct iovec out[2] = {{a, 2}, {b, 3}};
    struct msghdr m = {0};
    m.msg_iov = out; m.msg_iovlen = 2;
    fprintf(f, "sendmsg=%zd\n", sendmsg(sv[0], &m, 0));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull}, got[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    int n = epoll_wait(ep, got, 4, 1000);
    fprintf(f, "epoll=%d data=%llx in=%d\n", n, (unsigned long long)got[0].data.u64, !!(got[0].events & EPOLLIN));
    fd_set rs; FD_ZERO(&rs); FD_SET(sv[1], &rs);
    struct timespec ts = {1, 0};
    fprintf(f, "pselect=%d isset=%d\n", pselect(sv[1] + 1, &rs, 0, 0, &ts, 0), FD_ISSET(sv[1], &rs));
    char x[3] = {0}, y[3] = {0};
    struct iovec in[2] = {{x, 2}, {y, 3}};
    struct msghdr r = {0};
    r.msg_iov = in; r.msg_iovlen = 2;
    fprintf(f, "recvmsg=%zd x=%.2s y=%.3s\n", recvmsg(sv[1], &r, 0), x, y);
    fclose(f);
    return 0;
}
"#;

#[test]
fn sockets_epoll_pselect() {
    let prog = build("io", IO_PROG, "c", &[]);
    let out = workdir().join("io.txt");
    assert_eq!(run(&prog, &[out.to_str().unwrap()], Accel::Jit), 0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "sendmsg=5\nepoll=1 data=1122334455667788 in=1\npselect=1 isset=1\nrecvmsg=5 x=ab y=cde\n"
    );
}

const FORK_PROG: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int p[2];
    pipe(p);
    int counter = 10;
    pid_t pid = fork();
    if (pid == 0) {
        counter += 5;                       /* the parent must not see this */
        char msg[32];
        int n = snprintf(msg, sizeof msg, "child counter=%d", counter);
        write(p[1], msg, n);
        _exit(7);
    }
    close(p[1]);
    char buf[64] = {0};
    read(p[0], buf, sizeof buf - 1);
    int st = 0;
    pid_t w = waitpid(pid, &st, 0);
    FILE *f = fopen(argv[1], "w");
    fprintf(f, "%s\nparent counter=%d waited=%d exit=%d\n", buf, counter, w == pid, WEXITSTATUS(st));
    fclose(f);
    return 0;
}
"#;

/// Runs the forking program when spawned by `fork_copies_the_process`; both the guest's
/// parent and child end here, so exit right away instead of returning to the harness.
#[test]
fn fork_child() {
    if let Ok(p) = std::env::var("XLAT_FORK_CHILD") {
        let out = std::env::var("XLAT_FORK_OUT").unwrap();
        let code = run(Path::new(&p), &[&out], Accel::Jit);
        std::process::exit(code);
    }
}

#[test]
fn fork_copies_the_process() {
    let prog = build("fork", FORK_PROG, "c", &[]);
    let out = workdir().join("fork.txt");
    let st = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fork_child", "--nocapture", "--test-threads=1"])
        .env("XLAT_FORK_CHILD", &prog)
        .env("XLAT_FORK_OUT", &out)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0), "{st:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "child counter=15\nparent counter=10 waited=1 exit=7\n"
    );
}

const THREADS_PROG: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
static atomic_long total;
static long locked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread long mine;
static void *work(void *arg) {
    long id = (long)arg;
    for (long i = 0; i < 100000; i++) {
        atomic_fetch_add(&total, 1);
        mine += id;
        if (i % 100 == 0) { pthread_mutex_lock(&mu); locked++; pthread_mutex_unlock(&mu); }
    }
    return (void *)mine;
}
int main(int argc, char **argv) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, work, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    FILE *f = fopen(argv[1], "w");
    fprintf(f, "total=%ld locked=%ld tls-sum=%ld\n", (long)total, locked, sum);
    fclose(f);
    return 0;
}
"#;

#[test]
fn pthreads_share_memory_and_keep_their_tls() {
    let prog = build("threads", THREADS_PROG, "c", &["-pthread"]);
    for accel in [Accel::Jit, Accel::Interp] {
        let out = workdir().join(format!("threads-{accel:?}.txt"));
        assert_eq!(run(&prog, &[out.to_str().unwrap()], accel), 0);
        // 4 threads x 100000 increments; 1000 locked ones each; thread i returns i * 100000.
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "total=400000 locked=4000 tls-sum=1000000\n"
        );
    }
}

const SIGNALS_PROG: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
static volatile int got, alarms, info_ok;
static volatile double fsave;
static void h(int s, siginfo_t *si, void *uc) { got = s; fsave = 2.5; info_ok = si->si_signo == s; }
/* One-shot timers re-armed by the handler: exactly three alarms ever fire (a periodic timer
   could fire a fourth between the loop's exit and its disarming, natively too, under load). */
static void on_alarm(int s) {
    struct itimerval once = {{0, 0}, {0, 10000}};
    if (++alarms < 3) setitimer(ITIMER_REAL, &once, 0);
}
static FILE *f;
static void on_ill(int s) { fprintf(f, "caught SIGILL\n"); fclose(f); _exit(5); }
int main(int argc, char **argv) {
    f = fopen(argv[1], "w");
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    double keep = 1.25; long a = 7;
    raise(SIGUSR1);
    fprintf(f, "got=%d info=%d keep=%g a=%ld fsave=%g\n", got, info_ok, keep, a, fsave);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, 0); got = 0; raise(SIGUSR1);
    fprintf(f, "blocked got=%d\n", got);
    sigprocmask(SIG_UNBLOCK, &s, 0);
    fprintf(f, "unblocked got=%d\n", got);
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 0}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, 0);
    volatile unsigned long spin = 0;
    while (alarms < 3) spin++;          /* no syscalls: the signal must interrupt guest code */
    usleep(30000);                      /* a fourth alarm, if one were armed, would come here */
    fprintf(f, "alarms=%d\n", alarms);
    signal(SIGILL, on_ill);
    __asm__ volatile(".word 0");        /* an illegal instruction */
    return 0;
}
"#;

/// Runs the signals program when spawned by `signal_handlers_run_and_return`: host signals
/// (the interval timer) are process-wide, so it gets a process of its own.
#[test]
fn signals_child() {
    if let (Ok(p), Ok(out)) = (
        std::env::var("XLAT_SIGNALS_CHILD"),
        std::env::var("XLAT_SIGNALS_OUT"),
    ) {
        let accel = if std::env::var("XLAT_SIGNALS_INTERP").is_ok() {
            Accel::Interp
        } else {
            Accel::Jit
        };
        std::process::exit(run(Path::new(&p), &[&out], accel));
    }
}

#[test]
fn signal_handlers_run_and_return() {
    let prog = build("signals", SIGNALS_PROG, "c", &[]);
    for interp in [false, true] {
        let out = workdir().join(format!("signals-{interp}.txt"));
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "signals_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XLAT_SIGNALS_CHILD", &prog)
        .env("XLAT_SIGNALS_OUT", &out);
        if interp {
            cmd.env("XLAT_SIGNALS_INTERP", "1");
        }
        let st = cmd.output().unwrap();
        assert_eq!(
            st.status.code(),
            Some(5),
            "exit status from the SIGILL handler: {st:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "got=10 info=1 keep=1.25 a=7 fsave=2.5\nblocked got=0\nunblocked got=10\nalarms=3\ncaught SIGILL\n"
        );
    }
}

const CRASH: &str = r#"
int main(void) { *(volatile int *)16 = 1; return 0; }
"#;

/// Runs the crashing program when spawned by `guest_segfault_kills_us_with_sigsegv`.
#[test]
fn crash_child() {
    if let Ok(p) = std::env::var("XLAT_CRASH_CHILD") {
        run(Path::new(&p), &[], Accel::Jit);
        unreachable!("the guest should have died");
    }
}

#[test]
fn guest_segfault_kills_us_with_sigsegv() {
    use std::os::unix::process::ExitStatusExt;
    let prog = build("crash", CRASH, "c", &[]);
    let st = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("XLAT_CRASH_CHILD", &prog)
        .output()
        .unwrap();
    assert_eq!(st.status.signal(), Some(libc::SIGSEGV), "{st:?}");
}
