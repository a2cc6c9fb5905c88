/* linux-user core leftovers of issue 3: riscv_hwprobe, queued real-time signals with their
   si_value in order, and clone3 with CLONE_CLEAR_SIGHAND. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct pair { int64_t key; uint64_t value; };

static void hwprobe(void) {
    struct pair p[3] = {{3, 0}, {4, 0}, {0x7fffffff, 7}};
    long r = syscall(258, p, 3, 0, 0, 0);
    /* IMA_EXT_0: FD, C, Zba, Zbb, Zbs (bits 0, 1, 3, 4, 5) are what both engines implement. */
    printf("hwprobe ret=%ld base=%llu ext(fd,c,zba,zbb,zbs)=%#llx unknown key=%lld value=%llu\n",
           r, (unsigned long long)p[0].value, (unsigned long long)(p[1].value & 0x3b),
           (long long)p[2].key, (unsigned long long)p[2].value);
    long bad = syscall(258, p, 1, 0, 0, 0x80);
    printf("hwprobe bad flags: %ld\n", bad);
}

static int order[16], values[16], n;
static void on_rt(int sig, siginfo_t *si, void *uc) {
    if (n < 16) { order[n] = sig - SIGRTMIN; values[n] = si->si_value.sival_int; n++; }
}

static void rt_queue(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, 0); sigaction(SIGRTMIN + 1, &sa, 0);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGRTMIN); sigaddset(&s, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &s, 0);
    for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 10 + i});
    for (int i = 1; i <= 4; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i});
    sigset_t pend; sigpending(&pend);
    printf("pending rtmin=%d rtmin+1=%d\n", sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGRTMIN + 1));
    sigprocmask(SIG_UNBLOCK, &s, 0);
    printf("delivered %d:", n);
    for (int i = 0; i < n; i++) printf(" rtmin+%d/%d", order[i], values[i]);
    printf("\n");
}

static void on_usr1(int s) { (void)s; }

static void clear_sighand(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    uint64_t args[11] = {0};
    args[0] = 0x100000000ULL;  /* CLONE_CLEAR_SIGHAND */
    args[4] = SIGCHLD;         /* exit_signal */
    long pid = syscall(SYS_clone3, args, sizeof args);
    if (pid == 0) {
        struct sigaction a1, a2;
        sigaction(SIGUSR1, 0, &a1); sigaction(SIGUSR2, 0, &a2);
        _exit((a1.sa_handler == SIG_DFL) | (a2.sa_handler == SIG_IGN) << 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    struct sigaction a; sigaction(SIGUSR1, 0, &a);
    printf("clone3 CLEAR_SIGHAND: child default=%d ignored kept=%d; parent keeps handler=%d\n",
           WEXITSTATUS(st) & 1, WEXITSTATUS(st) >> 1 & 1, a.sa_handler == on_usr1);
    args[0] = 0x100000000ULL | 0x800;  /* with CLONE_SIGHAND: EINVAL */
    long r = syscall(SYS_clone3, args, sizeof args);
    printf("clone3 CLEAR_SIGHAND|SIGHAND: %ld\n", r);
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "clone3")) {
        clear_sighand();    /* qemu-user 10.0 does not know CLONE_CLEAR_SIGHAND */
        return 0;
    }
    hwprobe();
    rt_queue();
    return 0;
}
