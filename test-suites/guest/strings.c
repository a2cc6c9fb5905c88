/* String and memory functions over many sizes and alignments (glibc picks vectorised paths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned hash(const unsigned char *p, size_t n) {
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(void) {
    enum { MAX = 600 };
    static unsigned char src[MAX + 64], dst[MAX + 64];
    for (int i = 0; i < MAX + 64; i++) src[i] = (unsigned char)(i * 7 + 3);
    unsigned acc = 0;
    for (size_t n = 0; n < MAX; n = n < 40 ? n + 1 : n * 5 / 4) {
        for (int sa = 0; sa < 8; sa++) {
            for (int da = 0; da < 8; da += 3) {
                memset(dst, 0xee, sizeof dst);
                memcpy(dst + da, src + sa, n);
                acc = acc * 33 + hash(dst, sizeof dst);
                memmove(dst + da + 1, dst + da, n);
                acc = acc * 33 + hash(dst, sizeof dst);
                acc = acc * 33 + (unsigned)(memcmp(dst + da + 1, src + sa, n) != 0);
                memset(dst + da, sa, n);
                acc = acc * 33 + hash(dst, sizeof dst);
            }
        }
        printf("n=%zu acc=%08x\n", n, acc);
    }
    static char s1[MAX + 16], s2[MAX + 16];
    for (size_t n = 0; n < MAX; n = n < 40 ? n + 1 : n * 3 / 2) {
        for (int a = 0; a < 8; a++) {
            memset(s1, 'q', sizeof s1);
            s1[a + n] = 0;
            memcpy(s2 + 3, s1 + a, n + 1);
            int c1 = strcmp(s1 + a, s2 + 3);
            s2[3 + n / 2] = 'r';
            int c2 = strcmp(s1 + a, s2 + 3);
            int c3 = strncmp(s1 + a, s2 + 3, n / 2);
            char *ch = strchr(s1 + a, 'x');
            char *rc = strrchr(s2 + 3, 'r');
            printf("%zu/%d: len=%zu %d %d %d %d %ld\n", n, a, strlen(s1 + a), c1 == 0, c2 < 0, c3,
                   ch == NULL, rc ? (long)(rc - s2) : -1L);
        }
    }
    char buf[128];
    strcpy(buf, "alpha");
    strcat(buf, "-beta");
    strncat(buf, "-gammadelta", 6);
    printf("%s %zu %s %zu\n", buf, strlen(buf), strstr(buf, "beta"), strspn(buf, "ahlp"));
    char tokbuf[] = "a,b,,c;d";
    for (char *t = strtok(tokbuf, ",;"); t; t = strtok(NULL, ",;")) printf("tok=%s ", t);
    printf("\nstrtol=%ld strtoul=%lu atoi=%d\n", strtol("-0x7fff", NULL, 16),
           strtoul("18446744073709551615", NULL, 10), atoi("  42abc"));
    return 0;
}
