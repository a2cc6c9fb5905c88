/* malloc/realloc/free churn (small bins, large mmap'd chunks, brk growth) with content checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    enum { SLOTS = 512 };
    static unsigned char *p[SLOTS];
    static size_t sz[SLOTS];
    unsigned long long s = 0x9e3779b97f4a7c15ull, live = 0, checks = 0;
    for (int round = 0; round < 20000; round++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned i = (unsigned)(s >> 33) % SLOTS;
        if (p[i]) {
            for (size_t k = 0; k < sz[i]; k += 61) {
                if (p[i][k] != (unsigned char)(i + k)) { printf("corrupt slot %u\n", i); return 1; }
                checks++;
            }
            if ((s >> 20) & 1) {
                size_t nsz = (s >> 40) % 5000 + 1;
                unsigned char *q = realloc(p[i], nsz);
                if (!q) return 2;
                for (size_t k = sz[i] < nsz ? sz[i] : nsz; k < nsz; k++) q[k] = (unsigned char)(i + k);
                live += nsz - sz[i];
                p[i] = q; sz[i] = nsz;
                continue;
            }
            free(p[i]); live -= sz[i]; p[i] = NULL;
        } else {
            size_t n = ((s >> 12) & 7) == 0 ? (s >> 40) % 150000 + 1 : (s >> 40) % 256 + 1;
            p[i] = malloc(n);
            if (!p[i]) return 3;
            sz[i] = n; live += n;
            for (size_t k = 0; k < n; k++) p[i][k] = (unsigned char)(i + k);
        }
    }
    printf("live=%llu checks=%llu\n", live, checks);
    void *c = calloc(1000, 8);
    unsigned long sum = 0;
    for (int i = 0; i < 8000; i++) sum += ((unsigned char *)c)[i];
    printf("calloc zeroed: %s\n", sum == 0 ? "yes" : "no");
    void *al = aligned_alloc(4096, 8192);
    printf("aligned: %s\n", ((unsigned long)al & 4095) == 0 ? "yes" : "no");
    free(al); free(c);
    for (int i = 0; i < SLOTS; i++) free(p[i]);
    puts("done");
    return 0;
}
