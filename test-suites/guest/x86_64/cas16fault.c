/* lock cmpxchg16b that faults: on a read-only page (with a matching and a different expected
 * value) and on an unmapped one, each 300 times so that both the interpreted and the compiled
 * code run it; then one that succeeds (the misaligned #GP is x86isa_diff's). Prints the signals,
 * their codes, the fault address's page offset and memory afterwards; run under xlat and
 * natively (test-suites/tests/x86isa_user.rs). Build: gcc -O2 -mcx16. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

typedef unsigned __int128 u128;

static sigjmp_buf jb;
static int last_sig, last_code;
static uintptr_t last_addr;

static void handler(int s, siginfo_t *si, void *uc) {
    (void)uc;
    last_sig = s;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

/* Returns 1 when it swapped, 0 when memory differed, -1 after a signal. */
static int cas(u128 *p, u128 exp, u128 nv) {
    if (sigsetjmp(jb, 1))
        return -1;
    return __sync_val_compare_and_swap(p, exp, nv) == exp;
}

static void run(const char *what, u128 *p, u128 exp) {
    int faults = 0, other = 0;
    for (int k = 0; k < 300; k++) {
        last_sig = 0;
        if (cas(p, exp, 7) == -1)
            faults++;
        else
            other++;
    }
    printf("%s: faults %d other %d sig %d code %d page offset %lu\n", what, faults, other,
           last_sig, last_code, (unsigned long)(last_addr & 4095));
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    char *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    u128 *ro = (u128 *)(p + 4096), *gone = (u128 *)(p + 8192), *rw = (u128 *)p;
    *ro = ((u128)0x1111 << 64) | 5;
    mprotect(ro, 4096, PROT_READ);
    munmap(gone, 4096);
    run("read-only, equal", ro, *ro);
    run("read-only, different", ro, 6);
    run("unmapped", gone, 0);
    printf("read-only still %llx:%llx\n", (unsigned long long)(*ro >> 64),
           (unsigned long long)*ro);
    u128 v = ((u128)0x2222 << 64) | 9;
    rw[0] = v;
    int r = cas(rw, v, ((u128)0x3333 << 64) | 4);
    printf("swap %d now %llx:%llx\n", r, (unsigned long long)(rw[0] >> 64),
           (unsigned long long)rw[0]);
    return 0;
}
