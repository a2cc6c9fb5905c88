/* A small riscv64 guest for scripts/demo.sh: printf, libm, qsort and __int128. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    printf("hello from riscv64, argc=%d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    int v[10];
    unsigned s = 12345;
    for (int i = 0; i < 10; i++) { s = s * 1103515245u + 12345u; v[i] = (int)(s >> 16) % 1000; }
    qsort(v, 10, sizeof v[0], cmp);
    printf("sorted:");
    for (int i = 0; i < 10; i++) printf(" %d", v[i]);
    printf("\nsqrt(2)=%.15f sin(1)=%.15f exp(1)=%.15g\n", sqrt(2.0), sin(1.0), exp(1.0));
    unsigned __int128 f = 1;
    for (int i = 1; i <= 30; i++) f *= (unsigned)i;
    printf("30! = %llu%019llu\n", (unsigned long long)(f / 10000000000000000000ull),
           (unsigned long long)(f % 10000000000000000000ull));
    return 0;
}
