/* A bare-metal workload for timing (not a correctness test): recursion, a sieve over RAM and
 * a memory checksum, in M-mode (no translation) or, with PAGING, in S-mode under Sv39. */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
void trap_handler(u64 *f) { kv("trap", csrr(mcause)); exit_code(3); }
void strap_handler(u64 *f) { kv("strap", csrr(scause)); exit_code(4); }

static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static u8 sieve[1 << 20];
static u64 arr[1 << 16];

static void work(void) {
    puts("fib(27)="); putdec(fib(27)); puts("\n");
    u64 primes = 0;
    for (int rep = 0; rep < 4; rep++) {
        for (u64 i = 0; i < sizeof sieve; i++) sieve[i] = 1;
        primes = 0;
        for (u64 i = 2; i < sizeof sieve; i++) {
            if (!sieve[i]) continue;
            primes++;
            for (u64 j = i * 2; j < sizeof sieve; j += i) sieve[j] = 0;
        }
    }
    puts("primes="); putdec(primes); puts("\n");
    u64 h = 1;
    for (int rep = 0; rep < 40; rep++)
        for (u64 i = 0; i < (1 << 16); i++) { arr[i] += h; h = h * 31 + arr[(i * 7) & 0xffff]; }
    kv("hash", h);
}

#ifdef PAGING
static u64 root[512] __attribute__((aligned(4096)));
static void smode(void) { work(); exit_code(0); }
int main(void) {
    csrw(pmpaddr0, ~0UL);
    csrw(pmpcfg0, 0x1f);
    root[0] = (0UL >> 12) << 10 | 0xc7;
    root[2] = (0x80000000UL >> 12) << 10 | 0xcf;
    u64 s = csrr(mstatus);
    s = (s & ~(3UL << 11)) | (1UL << 11);
    csrw(mstatus, s);
    csrw(satp, (8UL << 60) | ((u64)root >> 12));
    csrw(mepc, smode);
    asm volatile("mret");
    return 1;
}
#else
int main(void) { work(); return 0; }
#endif
