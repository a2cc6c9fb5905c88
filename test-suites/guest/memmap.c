/* Memory: MAP_FIXED_NOREPLACE, MAP_SHARED (anonymous and file) visible across fork,
 * madvise(MADV_DONTNEED) zeroing, mprotect making written code executable (and rewritten code
 * taking effect after RW -> RX again), mremap growing, moving and shrinking, munmap holes,
 * and /proc/self/maps listing what was mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* li a0, IMM; ret */
static void emit(uint32_t *code, int imm) {
    code[0] = ((uint32_t)(imm & 0xfff) << 20) | (10 << 7) | 0x13; /* addi a0, zero, imm */
    code[1] = 0x00008067;                                          /* jalr zero, 0(ra) */
}

int main(void) {
    long pg = sysconf(_SC_PAGESIZE);
    char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *b = mmap(a + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("FIXED_NOREPLACE over a mapping: %s\n", b == MAP_FAILED && errno == EEXIST ? "EEXIST" : "?");
    munmap(a + pg, pg);
    b = mmap(a + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("FIXED_NOREPLACE into a hole: %s\n", b == a + pg ? "exact" : "?");

    /* MAP_SHARED anonymous: the child's writes show in the parent. */
    int *sh = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *pv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sh[0] = 1;
    pv[0] = 1;
    pid_t p = fork();
    if (p == 0) { sh[0] = 42; pv[0] = 42; _exit(0); }
    waitpid(p, NULL, 0);
    printf("shared anon after child: %d, private: %d\n", sh[0], pv[0]);

    /* MAP_SHARED file: writes reach the file and other mappings, across fork too. */
    char path[] = "/tmp/xlat-memmap-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    ftruncate(fd, 2 * pg);
    char *f1 = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *f2 = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
    p = fork();
    if (p == 0) { strcpy(f1 + pg, "from the child"); _exit(0); }
    waitpid(p, NULL, 0);
    char rb[32] = {0};
    pread(fd, rb, 14, pg);
    printf("shared file: second mapping '%s', file '%s'\n", f2, rb);
    pwrite(fd, "via write", 9, 0);
    printf("file write seen in the mapping: '%.9s'\n", f1);
    char *fp = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    fp[0] = 'V';
    pread(fd, rb, 1, 0);
    printf("private file mapping write stays private: map %c file %c\n", fp[0], rb[0]);

    /* madvise(DONTNEED) on private anonymous memory reads back zero. */
    memset(a, 0x5a, pg);
    madvise(a, pg, MADV_DONTNEED);
    printf("after DONTNEED: %d %d\n", a[0], a[pg - 1]);

    /* Code written, made executable, run; rewritten and run again. */
    uint32_t *code = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    emit(code, 17);
    mprotect(code, pg, PROT_READ | PROT_EXEC);
    __builtin___clear_cache((char *)code, (char *)code + 8);
    int (*fn)(void) = (int (*)(void))code;
    int first = fn();
    mprotect(code, pg, PROT_READ | PROT_WRITE);
    emit(code, 99);
    mprotect(code, pg, PROT_READ | PROT_EXEC);
    __builtin___clear_cache((char *)code, (char *)code + 8);
    printf("generated code: %d then %d\n", first, fn());

    /* mremap: grow in place or move, keep the contents; shrink. */
    char *m = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(m, "kept");
    mmap(m + pg, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); /* block growth */
    char *g = mremap(m, pg, 8 * pg, 0);
    printf("mremap grow without MAYMOVE: %s\n", g == MAP_FAILED && errno == ENOMEM ? "ENOMEM" : "?");
    g = mremap(m, pg, 8 * pg, MREMAP_MAYMOVE);
    g[8 * pg - 1] = 1;
    printf("mremap moved: %s, contents '%s'\n", g != m ? "yes" : "no", g);
    char *s2 = mremap(g, 8 * pg, 2 * pg, 0);
    printf("mremap shrink in place: %s\n", s2 == g ? "yes" : "no");
    printf("munmap unaligned: %s\n", munmap(s2 + 1, pg) == -1 && errno == EINVAL ? "EINVAL" : "?");

    /* /proc/self/maps shows the shared file mapping with its offset. */
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, off;
        char perms[8];
        if (sscanf(line, "%lx-%*x %7s %lx", &lo, perms, &off) == 3 && lo == (unsigned long)f2)
            seen = printf("maps: %s offset=%lx\n", perms, off);
    }
    if (!seen) puts("maps: shared file mapping missing");
    return 0;
}
