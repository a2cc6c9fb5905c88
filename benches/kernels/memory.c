/* Memory-bound kernel: streaming (copy/scale/add/triad, STREAM-like) over large arrays and a
 * random pointer chase through a 64 MiB permutation. Usage: memory PASSES CHASE_STEPS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long passes = argc > 1 ? atol(argv[1]) : 4;
    long steps = argc > 2 ? atol(argv[2]) : 4000000;
    const size_t n = 2u << 20; /* 2 Mi uint64 = 16 MiB per array */
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8);
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < n; i++) { a[i] = i; b[i] = i * 3 + 1; c[i] = 0; }
    uint64_t sum = 0;
    for (long p = 0; p < passes; p++) {
        for (size_t i = 0; i < n; i++) c[i] = a[i];
        for (size_t i = 0; i < n; i++) b[i] = c[i] * 3;
        for (size_t i = 0; i < n; i++) c[i] = a[i] + b[i];
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 5 * c[i];
        sum += a[p * 977 % n] + c[n - 1 - p];
    }
    free(b); free(c);
    /* pointer chase: a single random cycle (Sattolo) over 8 Mi entries of 8 bytes = 64 MiB */
    const size_t m = 8u << 20;
    uint64_t *next = malloc(m * 8);
    if (!next) return 1;
    for (size_t i = 0; i < m; i++) next[i] = i;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (size_t i = m - 1; i > 0; i--) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        size_t j = r % i;
        uint64_t t = next[i]; next[i] = next[j]; next[j] = t;
    }
    uint64_t at = 0, acc = 0;
    for (long s = 0; s < steps; s++) { at = next[at]; acc += at; }
    printf("memory passes=%ld steps=%ld checksum=%016llx %016llx\n", passes, steps,
           (unsigned long long)sum, (unsigned long long)acc);
    free(a); free(next);
    return 0;
}
