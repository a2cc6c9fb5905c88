/* 16-byte lock cmpxchg16b (gcc -mcx16 inlines __sync on __int128) from two threads while two
   others add to the low half with 64-bit lock xadd: no update is lost; cmpxchg8b through asm. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#define N 100000
static union { unsigned __int128 v; uint64_t h[2]; } __attribute__((aligned(16))) pair;
static void *cas_work(void *p) {
    (void)p;
    for (int i = 0; i < N; i++) {
        unsigned __int128 o, n;
        do {
            o = pair.v;
            n = o + 1 + ((unsigned __int128)3 << 64);
        } while (!__sync_bool_compare_and_swap(&pair.v, o, n));
    }
    return 0;
}
static void *add_work(void *p) {
    (void)p;
    for (int i = 0; i < N; i++) __atomic_fetch_add(&pair.h[0], 2, __ATOMIC_SEQ_CST);
    return 0;
}
static int cmpxchg8b(uint64_t *m, uint64_t *expect, uint64_t new) {
    uint32_t lo = (uint32_t)*expect, hi = (uint32_t)(*expect >> 32);
    unsigned char ok;
    __asm__ volatile("lock cmpxchg8b %1; sete %0"
                     : "=q"(ok), "+m"(*m), "+a"(lo), "+d"(hi)
                     : "b"((uint32_t)new), "c"((uint32_t)(new >> 32))
                     : "memory", "cc");
    *expect = ((uint64_t)hi << 32) | lo;
    return ok;
}
int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, i < 2 ? cas_work : add_work, 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
    printf("%llu %llu\n", (unsigned long long)pair.h[0], (unsigned long long)pair.h[1]);
    uint64_t m = 0x1122334455667788ull, e = 0x1122334455667788ull;
    int a = cmpxchg8b(&m, &e, 0xaabbccdd00112233ull);
    int b = cmpxchg8b(&m, &e, 5);
    printf("%d %d %llx %llx\n", a, b, (unsigned long long)m, (unsigned long long)e);
    return 0;
}
