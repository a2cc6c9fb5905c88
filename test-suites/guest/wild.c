/* A hot loop loads (or, with an argument, stores) through pointers; the last pointer is 2^39
 * bytes past a real variable, used after 3 million runs of the loop (long after an emulator
 * compiling hot code in the background has compiled it). Linux (and qemu-user) deliver SIGSEGV with si_addr = that
 * address. An emulator reaching guest memory through a 2^39-byte map by masking addresses
 * would reach the variable instead once the loop is compiled. Prints where the fault was,
 * relative to the variable. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static volatile long x = 42;
static long *volatile ptrs[2];
#define N 3000000L

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    printf("SIGSEGV at x + %#lx, x = %ld\n",
           (unsigned long)((uintptr_t)si->si_addr - (uintptr_t)&x), x);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    (void)argv;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    ptrs[0] = (long *)&x;
    ptrs[1] = (long *)((uintptr_t)&x + ((uintptr_t)1 << 39));
    if (argc > 1) {
        for (long i = 0; i <= N; i++)
            *ptrs[i == N] = i;
        printf("no fault: x %ld\n", x);
        return 1;
    }
    long sum = 0;
    for (long i = 0; i <= N; i++)
        sum += *ptrs[i == N];
    printf("no fault: sum %ld\n", sum);
    return 1;
}
