/* Signal delivery as Linux does it: sigaltstack (SA_ONSTACK, ss_flags, EPERM while on it),
 * signals from other processes interrupting blocking syscalls (SA_RESTART restarts them,
 * without it EINTR), alarm/setitimer during a busy loop, SIGCHLD, SIGPIPE, sigsuspend,
 * rt_sigtimedwait (and its timeout), sigqueue values, SIGILL and SIGTRAP (ebreak) handlers
 * that step over the instruction through the ucontext, a stack overflow caught on the
 * alternate stack. Every line is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char altbuf[65536] __attribute__((aligned(16)));
static volatile sig_atomic_t hits, on_alt, alt_flags, last_code;
static volatile long ticks;

static void on_usr1_alt(int sig) {
    char here;
    (void)sig;
    on_alt = (uintptr_t)&here > (uintptr_t)altbuf && (uintptr_t)&here <= (uintptr_t)altbuf + sizeof altbuf;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flags = cur.ss_flags;
    stack_t other = {.ss_sp = altbuf, .ss_size = sizeof altbuf};
    last_code = sigaltstack(&other, NULL) == -1 ? errno : 0;
    hits++;
}

static void count(int sig) { (void)sig; hits++; }
static void tick(int sig) { (void)sig; ticks++; }

static void install(int sig, void (*h)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void step_over(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    last_code = si->si_code;
    printf("  %s: code=%d addr==pc %d\n", sig == SIGILL ? "SIGILL" : "SIGTRAP", si->si_code,
           (uintptr_t)si->si_addr == uc->uc_mcontext.__gregs[REG_PC]);
    uc->uc_mcontext.__gregs[REG_PC] += 4;
}

static sigjmp_buf overflow_jb;
static void on_overflow(int sig) {
    char here;
    (void)sig;
    on_alt = (uintptr_t)&here > (uintptr_t)altbuf && (uintptr_t)&here <= (uintptr_t)altbuf + sizeof altbuf;
    siglongjmp(overflow_jb, 1);
}
static int recurse(volatile char *up, int n) {
    volatile char frame[1024];
    frame[0] = (char)n;
    return recurse(frame, n + 1) + frame[0] + up[0];
}

/* A child that sends `sig` to the parent after `ms` milliseconds, then optionally writes. */
static pid_t sender(int sig, int ms, int wfd) {
    pid_t p = fork();
    if (p == 0) {
        struct timespec t = {0, ms * 1000000L};
        nanosleep(&t, NULL);
        kill(getppid(), sig);
        if (wfd >= 0) {
            nanosleep(&t, NULL);
            write(wfd, "x", 1);
        }
        _exit(0);
    }
    return p;
}

static void reap(pid_t p) {
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* sigaltstack */
    stack_t ss = {.ss_sp = altbuf, .ss_size = sizeof altbuf}, old;
    sigaltstack(NULL, &old);
    printf("initial ss_flags=%d\n", old.ss_flags);
    stack_t tiny = {.ss_sp = altbuf, .ss_size = 100};
    printf("tiny stack: %s\n", sigaltstack(&tiny, NULL) == -1 && errno == ENOMEM ? "ENOMEM" : "?");
    sigaltstack(&ss, NULL);
    sigaltstack(NULL, &old);
    printf("armed ss_flags=%d size_ok=%d\n", old.ss_flags, old.ss_size == sizeof altbuf);
    install(SIGUSR1, on_usr1_alt, SA_ONSTACK);
    raise(SIGUSR1);
    printf("SA_ONSTACK: on_alt=%d ss_flags=%d change_errno=%s\n", (int)on_alt, (int)alt_flags,
           last_code == EPERM ? "EPERM" : "?");
    install(SIGUSR1, on_usr1_alt, 0);
    raise(SIGUSR1);
    printf("no SA_ONSTACK: on_alt=%d ss_flags=%d\n", (int)on_alt, (int)alt_flags);
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    sigaltstack(NULL, &old);
    printf("disabled ss_flags=%d\n", old.ss_flags);

    /* A signal from another process interrupts a blocking read. */
    int fds[2];
    pipe(fds);
    hits = 0;
    install(SIGUSR2, count, 0);
    pid_t p = sender(SIGUSR2, 50, fds[1]);
    char c;
    ssize_t n = read(fds[0], &c, 1);
    printf("read without SA_RESTART: n=%zd errno=%s hits=%d\n", n, n < 0 && errno == EINTR ? "EINTR" : "-", (int)hits);
    reap(p);
    read(fds[0], &c, 1);
    install(SIGUSR2, count, SA_RESTART);
    p = sender(SIGUSR2, 50, fds[1]);
    n = read(fds[0], &c, 1);
    printf("read with SA_RESTART: n=%zd c=%c hits=%d\n", n, n == 1 ? c : '-', (int)hits);
    reap(p);

    /* SIGINT and SIGTERM from another process, caught. */
    install(SIGINT, count, 0);
    install(SIGTERM, count, 0);
    hits = 0;
    p = sender(SIGINT, 20, -1);
    while (hits == 0) {}
    reap(p);
    p = sender(SIGTERM, 20, -1);
    while (hits == 1) {}
    reap(p);
    printf("SIGINT+SIGTERM caught in a busy loop: hits=%d\n", (int)hits);

    /* alarm and setitimer interrupt a busy loop at a block boundary. */
    install(SIGALRM, tick, 0);
    alarm(1);
    volatile unsigned long spin = 0;
    while (ticks == 0) spin++;
    printf("alarm: ticks=%ld\n", ticks);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    while (ticks < 4) spin++;
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    printf("setitimer: ticks>=4 %d\n", ticks >= 4);

    /* SIGCHLD */
    hits = 0;
    install(SIGCHLD, count, 0);
    p = fork();
    if (p == 0) _exit(3);
    while (hits == 0) {}
    int st;
    waitpid(p, &st, 0);
    printf("SIGCHLD: hits=%d status=%d\n", (int)hits, WEXITSTATUS(st));
    install(SIGCHLD, SIG_DFL, 0);

    /* SIGPIPE caught: write fails with EPIPE. */
    hits = 0;
    install(SIGPIPE, count, 0);
    int pp[2];
    pipe(pp);
    close(pp[0]);
    n = write(pp[1], "x", 1);
    printf("SIGPIPE: n=%zd errno=%s hits=%d\n", n, errno == EPIPE ? "EPIPE" : "?", (int)hits);
    close(pp[1]);

    /* sigsuspend: block USR1, wait for it with it open. */
    sigset_t blk, prev, wait;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blk, &prev);
    install(SIGUSR1, count, 0);
    hits = 0;
    p = sender(SIGUSR1, 30, -1);
    sigemptyset(&wait);
    int r = sigsuspend(&wait);
    printf("sigsuspend: r=%d errno=%s hits=%d\n", r, errno == EINTR ? "EINTR" : "?", (int)hits);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask restored: usr1 blocked=%d\n", sigismember(&now, SIGUSR1));
    reap(p);

    /* rt_sigtimedwait: a blocked signal with the default action is taken, not fatal. */
    install(SIGUSR1, SIG_DFL, 0);
    p = sender(SIGUSR1, 30, -1);
    siginfo_t si;
    struct timespec ts = {5, 0};
    int s = sigtimedwait(&blk, &si, &ts);
    printf("sigtimedwait: sig=%d from child %d code=%d\n", s, si.si_pid == p, si.si_code);
    reap(p);
    struct timespec short_ts = {0, 20000000};
    s = sigtimedwait(&blk, &si, &short_ts);
    printf("sigtimedwait timeout: %d %s\n", s, errno == EAGAIN ? "EAGAIN" : "?");
    union sigval v = {.sival_int = 4321};
    sigqueue(getpid(), SIGUSR1, v);
    s = sigtimedwait(&blk, &si, &ts);
    printf("sigqueue to self while blocked: sig=%d value=%d code=%d\n", s, si.si_value.sival_int, si.si_code);
    sigprocmask(SIG_SETMASK, &prev, NULL);

    /* kill and tgkill to ourselves. */
    hits = 0;
    install(SIGUSR2, count, 0);
    kill(getpid(), SIGUSR2);
    tgkill(getpid(), gettid(), SIGUSR2);
    printf("kill/tgkill: hits=%d\n", (int)hits);
    p = fork();
    if (p == 0) { /* in a process group of its own, kill(0) reaches only this child */
        setpgid(0, 0);
        kill(0, SIGUSR2);
        _exit(hits == 3 ? 40 : 41);
    }
    waitpid(p, &st, 0);
    printf("kill(0) in own group: status %d\n", WEXITSTATUS(st));

    /* SIGILL and SIGTRAP handlers step over the instruction. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = step_over;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    __asm__ volatile(".4byte 0x00000000" ::: "memory"); /* an all-zero word is illegal */
    __asm__ volatile(".4byte 0x00100073" ::: "memory"); /* ebreak (not compressed) */
    puts("stepped over both");

    /* Stack overflow: SIGSEGV handled on the alternate stack, recovered with siglongjmp. */
    sigaltstack(&ss, NULL);
    install(SIGSEGV, on_overflow, SA_ONSTACK);
    on_alt = 0;
    static volatile char top;
    if (sigsetjmp(overflow_jb, 1) == 0) {
        recurse(&top, 0);
        puts("no overflow?");
    } else {
        printf("stack overflow caught on the alternate stack: %d\n", (int)on_alt);
    }

    /* Death: an unhandled SIGTERM kills with status 143. */
    signal(SIGTERM, SIG_DFL);
    kill(getpid(), SIGTERM);
    puts("not reached");
    return 0;
}
