/* __atomic builtins (AMOs and lr/sc loops the compiler emits) and a hand-written lr/sc loop. */
#include <stdint.h>
#include <stdio.h>

static int64_t lrsc_add(int64_t *p, int64_t v) {
    int64_t old, tmp;
    __asm__ volatile("1: lr.d.aqrl %0, (%2)\n"
                     "   add %1, %0, %3\n"
                     "   sc.d.rl %1, %1, (%2)\n"
                     "   bnez %1, 1b\n"
                     : "=&r"(old), "=&r"(tmp) : "r"(p), "r"(v) : "memory");
    return old;
}
static int32_t lrsc_max_w(int32_t *p, int32_t v) {
    int32_t old, tmp;
    __asm__ volatile("1: lr.w %0, (%2)\n"
                     "   mv %1, %0\n"
                     "   bge %0, %3, 2f\n"
                     "   mv %1, %3\n"
                     "2: sc.w %1, %1, (%2)\n"
                     "   bnez %1, 1b\n"
                     : "=&r"(old), "=&r"(tmp) : "r"(p), "r"(v) : "memory");
    return old;
}

int main(void) {
    int64_t x = 5;
    int32_t w = -3;
    uint8_t b = 250;
    uint16_t h = 65530;
    printf("fetch_add=%ld ", (long)__atomic_fetch_add(&x, 10, __ATOMIC_SEQ_CST));
    printf("fetch_sub=%ld ", (long)__atomic_fetch_sub(&x, 3, __ATOMIC_ACQUIRE));
    printf("fetch_and=%ld ", (long)__atomic_fetch_and(&x, 0xe, __ATOMIC_RELEASE));
    printf("fetch_or=%ld ", (long)__atomic_fetch_or(&x, 0x100, __ATOMIC_RELAXED));
    printf("fetch_xor=%ld ", (long)__atomic_fetch_xor(&x, -1, __ATOMIC_ACQ_REL));
    printf("exchange=%ld now=%ld\n", (long)__atomic_exchange_n(&x, 77, __ATOMIC_SEQ_CST), (long)x);
    int64_t expect = 76;
    int ok = __atomic_compare_exchange_n(&x, &expect, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    printf("cas(76) ok=%d expect=%ld\n", ok, (long)expect);
    ok = __atomic_compare_exchange_n(&x, &expect, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    printf("cas(77) ok=%d x=%ld\n", ok, (long)x);
    printf("w: add=%d ", __atomic_fetch_add(&w, 7, __ATOMIC_SEQ_CST));
    printf("max-ish=%d now=%d\n", __atomic_fetch_nand(&w, 12, __ATOMIC_SEQ_CST), w);
    printf("byte: add=%u now=%u ", __atomic_fetch_add(&b, 10, __ATOMIC_SEQ_CST), b);
    printf("half: xchg=%u now=%u\n", __atomic_exchange_n(&h, 7, __ATOMIC_SEQ_CST), h);
    uint8_t be = 3;
    ok = __atomic_compare_exchange_n(&b, &be, 9, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    printf("byte cas ok=%d b=%u\n", ok, b);
    int64_t sum = 0;
    for (int i = 0; i < 1000; i++) lrsc_add(&sum, i);
    printf("lr/sc sum=%ld\n", (long)sum);
    int32_t m = -100;
    const int32_t in[] = {5, -7, 99, 3, 100, 42};
    for (unsigned i = 0; i < 6; i++) lrsc_max_w(&m, in[i]);
    printf("lr/sc max=%d\n", m);
    /* amomin/amomax, signed and unsigned, through inline asm */
    int64_t mem = -5, r;
    __asm__ volatile("amomax.d %0, %2, (%1)" : "=r"(r) : "r"(&mem), "r"(3L) : "memory");
    printf("amomax old=%ld new=%ld ", (long)r, (long)mem);
    __asm__ volatile("amominu.d %0, %2, (%1)" : "=r"(r) : "r"(&mem), "r"(-1L) : "memory");
    printf("amominu old=%ld new=%ld ", (long)r, (long)mem);
    __asm__ volatile("amomaxu.d %0, %2, (%1)" : "=r"(r) : "r"(&mem), "r"(-1L) : "memory");
    printf("amomaxu old=%ld new=%ld\n", (long)r, (long)mem);
    int32_t mw = 0x7fffffff, rw;
    __asm__ volatile("amoadd.w %0, %2, (%1)" : "=r"(rw) : "r"(&mw), "r"(1) : "memory");
    printf("amoadd.w old=%d new=%d\n", rw, mw);
    return 0;
}
