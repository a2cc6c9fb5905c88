/* a64diff guest: runs random A64 instruction sequences (from stdin) on register states derived
 * from a seed and prints x0..x26 and NZCV after each. Run under qemu-aarch64 and xlat; the
 * outputs must match. Input: u32 ncases, u32 ninsns, u64 seed, then ncases*ninsns words.
 * The sequences use only x0..x26 (x28 holds the state pointer, x30 the return address). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct st { uint64_t x[27]; uint64_t nzcv; };
void run_case(struct st *s, void *code);
__asm__(
    ".global run_case\n"
    "run_case:\n"
    "stp x29, x30, [sp, #-96]!\n"
    "stp x19, x20, [sp, #16]\n stp x21, x22, [sp, #32]\n stp x23, x24, [sp, #48]\n"
    "stp x25, x26, [sp, #64]\n stp x27, x28, [sp, #80]\n"
    "mov x28, x0\n mov x29, x1\n"
    "ldr x2, [x28, #216]\n msr nzcv, x2\n"
    "ldp x0, x1, [x28, #0]\n ldp x2, x3, [x28, #16]\n ldp x4, x5, [x28, #32]\n"
    "ldp x6, x7, [x28, #48]\n ldp x8, x9, [x28, #64]\n ldp x10, x11, [x28, #80]\n"
    "ldp x12, x13, [x28, #96]\n ldp x14, x15, [x28, #112]\n ldp x16, x17, [x28, #128]\n"
    "ldp x18, x19, [x28, #144]\n ldp x20, x21, [x28, #160]\n ldp x22, x23, [x28, #176]\n"
    "ldp x24, x25, [x28, #192]\n ldr x26, [x28, #208]\n"
    "blr x29\n"
    "stp x0, x1, [x28, #0]\n stp x2, x3, [x28, #16]\n stp x4, x5, [x28, #32]\n"
    "stp x6, x7, [x28, #48]\n stp x8, x9, [x28, #64]\n stp x10, x11, [x28, #80]\n"
    "stp x12, x13, [x28, #96]\n stp x14, x15, [x28, #112]\n stp x16, x17, [x28, #128]\n"
    "stp x18, x19, [x28, #144]\n stp x20, x21, [x28, #160]\n stp x22, x23, [x28, #176]\n"
    "stp x24, x25, [x28, #192]\n str x26, [x28, #208]\n"
    "mrs x2, nzcv\n str x2, [x28, #216]\n"
    "ldp x19, x20, [sp, #16]\n ldp x21, x22, [sp, #32]\n ldp x23, x24, [sp, #48]\n"
    "ldp x25, x26, [sp, #64]\n ldp x27, x28, [sp, #80]\n"
    "ldp x29, x30, [sp], #96\n"
    "ret\n");

static uint64_t sm(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rd(void *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(0, (char *)p + got, n - got);
        if (r <= 0) return -1;
        got += r;
    }
    return 0;
}

int main(void) {
    uint32_t hdr[2];
    uint64_t seed;
    if (rd(hdr, 8) || rd(&seed, 8)) return 2;
    uint32_t n = hdr[0], len = hdr[1];
    size_t slot = ((len + 1) * 4 + 63) & ~63ul;
    uint32_t *words = malloc((size_t)n * len * 4);
    if (!words || rd(words, (size_t)n * len * 4)) return 2;
    char *code = mmap(0, slot * n, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return 3;
    for (uint32_t c = 0; c < n; c++) {
        uint32_t *p = (uint32_t *)(code + slot * c);
        memcpy(p, words + (size_t)c * len, len * 4);
        p[len] = 0xd65f03c0; /* ret */
    }
    __builtin___clear_cache(code, code + slot * n);
    for (uint32_t c = 0; c < n; c++) {
        struct st s;
        uint64_t r = seed ^ ((uint64_t)c << 32);
        for (int i = 0; i < 27; i++) {
            uint64_t v = sm(&r);
            switch (v & 7) {
            case 0: v = (v >> 8) & 0xff; break;
            case 1: v = (uint64_t)(int64_t)(int32_t)(v >> 8); break;
            case 2: v = v >> 63 ? 0x8000000000000000ull : 0x7fffffffffffffffull; break;
            case 3: v = (v >> 8) & 0xffffffff; break;
            default: break;
            }
            s.x[i] = v;
        }
        s.nzcv = (sm(&r) & 0xf) << 28;
        run_case(&s, code + slot * c);
        printf("%u", c);
        for (int i = 0; i < 27; i++) printf(" %llx", (unsigned long long)s.x[i]);
        printf(" %llx\n", (unsigned long long)s.nzcv);
    }
    return 0;
}
