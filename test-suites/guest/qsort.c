/* qsort on ints, strings and structs, with a checksum of the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}
static int cmp_int(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}
struct rec { int key; double val; };
static int cmp_rec(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->val > y->val) - (x->val < y->val);
}

int main(void) {
    enum { N = 20000 };
    long *a = malloc(N * sizeof *a);
    for (int i = 0; i < N; i++) a[i] = (long)(next() % 1000000) - 500000;
    qsort(a, N, sizeof *a, cmp_int);
    unsigned long long h = 0;
    for (int i = 0; i < N; i++) {
        if (i && a[i - 1] > a[i]) { puts("not sorted"); return 1; }
        h = h * 31 + (unsigned long long)a[i];
    }
    printf("ints: min=%ld max=%ld median=%ld hash=%llx\n", a[0], a[N - 1], a[N / 2], h);
    char **s = malloc(500 * sizeof *s);
    for (int i = 0; i < 500; i++) {
        s[i] = malloc(12);
        for (int j = 0; j < 11; j++) s[i][j] = (char)('a' + next() % 26);
        s[i][next() % 11 + 1] = 0;
    }
    qsort(s, 500, sizeof *s, cmp_str);
    for (int i = 0; i < 500; i += 50) printf("str[%d]=%s\n", i, s[i]);
    struct rec r[1000];
    for (int i = 0; i < 1000; i++) { r[i].key = (int)(next() % 17); r[i].val = (double)(next() % 1000) / 7.0; }
    qsort(r, 1000, sizeof r[0], cmp_rec);
    for (int i = 0; i < 1000; i += 111) printf("rec[%d]=%d %.6f\n", i, r[i].key, r[i].val);
    long key = a[1234];
    long *found = bsearch(&key, a, N, sizeof *a, cmp_int);
    printf("bsearch: %s\n", found && *found == key ? "found" : "missing");
    return 0;
}
