/* Synchronous memory faults delivered to a SIGSEGV handler (SA_SIGINFO), recovered with
 * siglongjmp: an unmapped address, a store to a PROT_READ page, loads from a PROT_NONE page,
 * an atomic on a PROT_READ page, and a fault in a hot loop (JIT code) whose loop-carried
 * values must survive. Prints si_signo/si_code and si_addr relative to the known address.
 * With an argument "nohandler", touches unmapped memory without a handler (killed by SIGSEGV).
 * Written for xlat's test suite; expected output comes from qemu-riscv64 (and Linux). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile siginfo_t last;
static volatile int faults;
static volatile uintptr_t handler_pc_seen;
static char *volatile retry_page; /* if set: make it accessible and return (re-run the access) */
static volatile long retry_pg;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last = *si;
    faults++;
    handler_pc_seen = sig == SIGSEGV;
    if (retry_page) {
        mprotect(retry_page, retry_pg, PROT_READ | PROT_WRITE);
        retry_page = 0;
        return;
    }
    siglongjmp(env, 1);
}

static void report(const char *what, void *base) {
    printf("%s: signo=%d code=%d addr=base%+ld faults=%d\n", what, last.si_signo, last.si_code,
           (long)((char *)last.si_addr - (char *)base), faults);
}

/* Sums a[0..n) until it runs off the mapped area; the loop is hot (compiled). */
static volatile long steps; /* counts loop iterations: a re-run iteration shows up here */

static __attribute__((noinline)) long walk(volatile long *a, long n, long *partial) {
    long s = 0, x = 0x12345;
    for (long i = 0; i < n; i++) {
        steps++;
        s += a[i];
        x = x * 31 + i;
        *partial = s ^ x;
    }
    return s + x;
}

int main(int argc, char **argv) {
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    munmap(m + 3 * pg, pg);             /* page 3: unmapped */
    mprotect(m + pg, pg, PROT_READ);    /* page 1: read-only */
    mprotect(m + 2 * pg, pg, PROT_NONE); /* page 2: no access */
    if (argc > 1 && strcmp(argv[1], "nohandler") == 0) {
        printf("touching unmapped memory\n");
        fflush(stdout);
        *(volatile char *)(m + 3 * pg + 7) = 1;
        printf("still alive?\n");
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    /* A value computed before the faults, kept in a callee-saved register across them. */
    register long keep = 0;
    for (int i = 1; i <= 1000; i++)
        keep = keep * 3 + i;
    volatile long keep_copy = keep;

    if (sigsetjmp(env, 1) == 0) {
        *(volatile int *)(m + 3 * pg + 16) = 5;
        printf("no fault?\n");
    }
    report("store unmapped", m);

    if (sigsetjmp(env, 1) == 0) {
        (void)*(volatile long *)(m + 3 * pg + 24);
        printf("no fault?\n");
    }
    report("load unmapped", m);

    if (sigsetjmp(env, 1) == 0) {
        printf("read-only reads %d\n", *(volatile char *)(m + pg + 5));
        *(volatile short *)(m + pg + 10) = 1;
        printf("no fault?\n");
    }
    report("store read-only", m);

    if (sigsetjmp(env, 1) == 0) {
        (void)*(volatile char *)(m + 2 * pg + 100);
        printf("no fault?\n");
    }
    report("load prot-none", m);

    if (sigsetjmp(env, 1) == 0) {
        __atomic_fetch_add((long *)(m + pg + 64), 1, __ATOMIC_SEQ_CST);
        printf("no fault?\n");
    }
    report("amo read-only", m);

    /* Hot loop that faults on its 201st element after 200 good ones (warm it up first). */
    long *arr = (long *)(m + 3 * pg) - 200;
    mprotect(m + pg, pg, PROT_READ | PROT_WRITE);
    mprotect(m + 2 * pg, pg, PROT_READ | PROT_WRITE);
    for (int i = 0; i < 200; i++)
        arr[i] = i;
    long partial = 0;
    for (int round = 0; round < 50; round++)
        partial += walk(arr, 200, &partial) & 0xff;
    printf("warm: %ld\n", partial);
    long got = -1;
    if (sigsetjmp(env, 1) == 0) {
        got = walk(arr, 1000, &partial);
        printf("no fault?\n");
    }
    report("hot loop", m + 3 * pg);
    printf("partial after fault: %ld got %ld\n", partial, got);

    /* The page becomes accessible: the same code now runs through. */
    mmap(m + 3 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("after map: %ld\n", walk(arr, 200 + pg / 8, &partial));

    /* Fault in the middle of the hot loop, fix the page in the handler and return: the loop
     * resumes at the faulting load with all its registers, so the result is the fault-free one. */
    long want = walk(arr, 200 + pg / 8, &partial);
    mprotect(m + 3 * pg, pg, PROT_NONE);
    retry_pg = pg;
    retry_page = m + 3 * pg;
    steps = 0;
    long again = walk(arr, 200 + pg / 8, &partial);
    printf("resumed: %s (%ld), %ld steps ", again == want ? "same result" : "DIFFERENT", again,
           (long)steps);
    report("fault", m + 3 * pg);

    /* Instruction fetch from an unmapped page and from a page without PROT_EXEC. */
    mprotect(m + 3 * pg, pg, PROT_NONE);
    if (sigsetjmp(env, 1) == 0) {
        munmap(m + 3 * pg, pg);
        ((void (*)(void))(m + 3 * pg + 32))();
        printf("no fault?\n");
    }
    report("call unmapped", m);
    if (sigsetjmp(env, 1) == 0) {
        ((void (*)(void))(m + 16))();
        printf("no fault?\n");
    }
    report("call no-exec", m);

    printf("keep %s (%ld)\n", keep == keep_copy ? "intact" : "CHANGED", keep % 1000003);
    printf("handler saw SIGSEGV: %d, total faults %d\n", (int)handler_pc_seen, faults);
    return 0;
}
