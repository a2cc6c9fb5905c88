/* a64diff guest: runs random A64 instruction sequences (from stdin) on register states derived
 * from a seed and prints x0..x26, NZCV, FPSR and (with flag 1) v0..v31 after each. Run under
 * qemu-aarch64 and xlat; the outputs must match. Input: u32 ncases, u32 ninsns | flags << 16,
 * u64 seed, then ncases*ninsns words. The V registers start from a mix of random bits and
 * interesting single and double values (zeros, infinities, NaNs, subnormals, small integers).
 * With flag 2, FPCR is the default in half the cases and has random RMode, FZ, DN and AHP in the
 * others, and FPSR starts either clear or with only IXC set (the state xlat's fast FP paths
 * need).
 * With flag 4 (the load/store classes), x24..x26 hold small indexes and x27 points into a
 * 32 KiB buffer (16-byte aligned with flag 8) whose hash is printed with x27's offset; CLREX runs
 * before every case.
 * The sequences use only x0..x27 (x28 holds the state pointer, x30 the return address). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct st { uint64_t x[27]; uint64_t nzcv; uint64_t fpsr; uint64_t fpcr; uint64_t v[64]; uint64_t x27; };
void run_case(struct st *s, void *code);
__asm__(
    ".global run_case\n"
    "run_case:\n"
    "stp x29, x30, [sp, #-160]!\n"
    "stp x19, x20, [sp, #16]\n stp x21, x22, [sp, #32]\n stp x23, x24, [sp, #48]\n"
    "stp x25, x26, [sp, #64]\n stp x27, x28, [sp, #80]\n"
    "stp d8, d9, [sp, #96]\n stp d10, d11, [sp, #112]\n stp d12, d13, [sp, #128]\n"
    "stp d14, d15, [sp, #144]\n"
    "mov x28, x0\n mov x29, x1\n"
    "add x2, x28, #240\n"
    "ld1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64\n ld1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64\n"
    "ld1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64\n ld1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64\n"
    "ld1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64\n ld1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64\n"
    "ld1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64\n ld1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64\n"
    "ldr x2, [x28, #224]\n msr fpsr, x2\n ldr x2, [x28, #232]\n msr fpcr, x2\n"
    "ldr x2, [x28, #216]\n msr nzcv, x2\n"
    "ldp x0, x1, [x28, #0]\n ldp x2, x3, [x28, #16]\n ldp x4, x5, [x28, #32]\n"
    "ldp x6, x7, [x28, #48]\n ldp x8, x9, [x28, #64]\n ldp x10, x11, [x28, #80]\n"
    "ldp x12, x13, [x28, #96]\n ldp x14, x15, [x28, #112]\n ldp x16, x17, [x28, #128]\n"
    "ldp x18, x19, [x28, #144]\n ldp x20, x21, [x28, #160]\n ldp x22, x23, [x28, #176]\n"
    "ldp x24, x25, [x28, #192]\n ldr x26, [x28, #208]\n ldr x27, [x28, #752]\n clrex\n"
    "blr x29\n"
    "str x27, [x28, #752]\n"
    "stp x0, x1, [x28, #0]\n stp x2, x3, [x28, #16]\n stp x4, x5, [x28, #32]\n"
    "stp x6, x7, [x28, #48]\n stp x8, x9, [x28, #64]\n stp x10, x11, [x28, #80]\n"
    "stp x12, x13, [x28, #96]\n stp x14, x15, [x28, #112]\n stp x16, x17, [x28, #128]\n"
    "stp x18, x19, [x28, #144]\n stp x20, x21, [x28, #160]\n stp x22, x23, [x28, #176]\n"
    "stp x24, x25, [x28, #192]\n str x26, [x28, #208]\n"
    "mrs x2, nzcv\n str x2, [x28, #216]\n"
    "mrs x2, fpsr\n str x2, [x28, #224]\n msr fpcr, xzr\n msr fpsr, xzr\n"
    "add x2, x28, #240\n"
    "st1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64\n st1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64\n"
    "st1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64\n st1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64\n"
    "st1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64\n st1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64\n"
    "st1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64\n st1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64\n"
    "ldp d8, d9, [sp, #96]\n ldp d10, d11, [sp, #112]\n ldp d12, d13, [sp, #128]\n"
    "ldp d14, d15, [sp, #144]\n"
    "ldp x19, x20, [sp, #16]\n ldp x21, x22, [sp, #32]\n ldp x23, x24, [sp, #48]\n"
    "ldp x25, x26, [sp, #64]\n ldp x27, x28, [sp, #80]\n"
    "ldp x29, x30, [sp], #160\n"
    "ret\n");

static uint64_t sm(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 64 bits of a V register: random bits, two singles or one double from a pool of interesting
 * values, or small integers. */
static uint64_t vbits(uint64_t *r) {
    static const uint32_t fs[] = {0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
        0x7fc00000, 0xffc00001, 0x7f800001, 0xff900000, 0x00000001, 0x807fffff, 0x7f7fffff,
        0x00800000, 0x3effffff, 0x4b000001, 0x4f000000, 0xcf000000, 0x5f000000, 0x40490fdb};
    static const uint64_t ds[] = {0, 0x8000000000000000ull, 0x3ff0000000000000ull,
        0xbff0000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
        0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff0000000000001ull,
        0x0000000000000001ull, 0x800fffffffffffffull, 0x7fefffffffffffffull,
        0x0010000000000000ull, 0x3fdfffffffffffffull, 0x4330000000000001ull,
        0x43e0000000000000ull, 0xc3e0000000000000ull, 0x41e0000000000000ull,
        0x400921fb54442d18ull, 0x3fe0000000000000ull};
    uint64_t v = sm(r);
    switch (v & 7) {
    case 0: case 1: case 2:
        return v;
    case 3: case 4: {
        uint32_t lo = fs[(v >> 8) % 20], hi = fs[(v >> 16) % 20];
        if ((v >> 24) & 1) lo = ((uint32_t)(v >> 32) & 0x807fffff) | 0x3f000000;
        return (uint64_t)hi << 32 | lo;
    }
    case 5: case 6:
        if ((v >> 24) & 1) return ((v >> 11) & 0x800fffffffffffffull) | 0x3fe0000000000000ull;
        return ds[(v >> 8) % 20];
    default:
        return ((v >> 8) & 0xff) * 0x0001000100010001ull ^ ((v >> 20) & 0x8000800080008000ull);
    }
}

/* The memory the load/store classes address (through x27). */
static uint64_t mem[4096] __attribute__((aligned(64)));

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
    setvbuf(stdout, NULL, _IOLBF, 0); /* a case that kills the process shows as the next line */
    uint32_t n = hdr[0], len = hdr[1] & 0xffff, flags = hdr[1] >> 16;
    size_t slot = ((len + 1) * 4 + 63) & ~63ul;
    uint32_t *words = malloc((size_t)n * len * 4);
    if (!words || rd(words, (size_t)n * len * 4)) return 2;
    /* A zero page either side of the code: literal loads of the memory classes read within
     * +-1 KiB of their own case. */
    char *code = mmap(0, slot * n + 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return 3;
    code += 4096;
    if (flags & 4) {
        uint64_t r = seed;
        for (size_t i = 0; i < sizeof mem / 8; i++) mem[i] = sm(&r);
    }
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
        uint64_t fr = sm(&r);
        s.fpsr = (flags & 2) && (fr & 16) ? 0x10 : 0;
        s.fpcr = (flags & 2) && (fr & 32) ? (fr & 15) << 22 | (fr >> 6 & 1) << 26 : 0;
        for (int i = 0; i < 64; i++) s.v[i] = vbits(&r);
        s.x27 = 0;
        if (flags & 4) {
            /* Memory classes: x24..x26 are small index registers, x27 the base, in the middle
             * of mem (16-byte aligned with flag 8). */
            for (int i = 24; i < 27; i++) s.x[i] = sm(&r) & 0xff;
            uint64_t off = 14336 + (sm(&r) & 0xfff);
            if (flags & 8) off &= ~15ull;
            s.x27 = (uint64_t)(uintptr_t)mem + off;
        }
        run_case(&s, code + slot * c);
        printf("%u", c);
        for (int i = 0; i < 27; i++) printf(" %llx", (unsigned long long)s.x[i]);
        printf(" %llx fpsr %llx", (unsigned long long)s.nzcv, (unsigned long long)s.fpsr);
        if (flags & 1)
            for (int i = 0; i < 64; i++) printf("%s%llx", i % 2 ? ":" : " v", (unsigned long long)s.v[i]);
        if (flags & 4) {
            uint64_t h = 0;
            for (size_t i = 0; i < sizeof mem / 8; i++) h = (h ^ mem[i]) * 0x100000001b3ull + i;
            printf(" base %llx mem %llx", (unsigned long long)(s.x27 - (uint64_t)(uintptr_t)mem),
                (unsigned long long)h);
        }
        printf("\n");
    }
    return 0;
}
