/* Signals: a handler for raise(SIGUSR1), sigprocmask blocking and pending delivery, SA_SIGINFO
 * fields, recovering from SIGSEGV (stores to low addresses) via siglongjmp, then death by SIGTERM. */
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count, last_sig;
static sigjmp_buf recover;
static volatile void *fault_addr;

static void on_usr1(int sig) { usr1_count++; last_sig = sig; }
static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_sig = sig;
    printf("  siginfo: signo=%d code=%d value=%d\n", si->si_signo, si->si_code, si->si_value.sival_int);
}
static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_sig = sig;
    fault_addr = si->si_addr;
    siglongjmp(recover, 1);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 3; i++) raise(SIGUSR1);
    printf("usr1 delivered %d times, last=%d\n", (int)usr1_count, (int)last_sig);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("blocked: count=%d pending=%d\n", (int)usr1_count, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: count=%d\n", (int)usr1_count);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    union sigval v = {.sival_int = 1234};
    sigqueue(getpid(), SIGUSR2, v);
    printf("usr2 last=%d\n", (int)last_sig);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    for (int i = 0; i < 3; i++) {
        if (sigsetjmp(recover, 1) == 0) {
            *(volatile int *)(uintptr_t)(16 + i * 4096) = 1;
            puts("no fault?");
        } else {
            printf("recovered from SIGSEGV at %p (sig %d)\n", (void *)fault_addr, (int)last_sig);
        }
    }
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("ignored: count=%d\n", (int)usr1_count);
    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    raise(SIGTERM); /* default action: die with SIGTERM (status 143) */
    puts("not reached");
    return 0;
}
