/* Signal handlers on x86-64: a handler runs on SIGUSR1 (raise), SIGALRM (alarm), and a
 * SIGSEGV handler recovers with siglongjmp; floating point state survives the handler. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static sigjmp_buf env;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    double x = 1.0;
    for (int i = 0; i < 10; i++) x = x * 3.7 + 1;  /* clobbers xmm registers */
    got = sig + (si->si_signo == sig ? 1000 : 0) + (x > 0);
}

static void on_segv(int sig) { siglongjmp(env, sig); }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    double keep = 2.5;
    raise(SIGUSR1);
    printf("usr1: %d keep=%g\n", (int)got, keep * 2);
    signal(SIGSEGV, on_segv);
    int r = sigsetjmp(env, 1);
    if (r == 0) {
        *(volatile int *)8 = 1;
        puts("not reached");
    }
    printf("segv recovered: %d\n", r);
    return 0;
}
