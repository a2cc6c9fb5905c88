/* 8- and 16-bit locked read-modify-writes and compare-and-swaps from four threads: no update is lost. */
#include <pthread.h>
#include <stdio.h>
static unsigned char c8[4];
static unsigned short c16[3];
static void *work(void *p) {
    (void)p;
    for (int i = 0; i < 200001; i++) {
        __atomic_fetch_add(&c8[1], 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&c16[1], 3, __ATOMIC_SEQ_CST);
        unsigned short e = __atomic_load_n(&c16[2], __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&c16[2], &e, (unsigned short)(e + 1), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    }
    return 0;
}
int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, work, 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
    printf("%u %u %u %u %u\n", c8[0], c8[1], c8[2], c16[1], c16[2]);
    return 0;
}
