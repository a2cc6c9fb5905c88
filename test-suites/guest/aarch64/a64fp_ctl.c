/* a64fp_ctl guest: FPCR/FPSR round trips through MSR/MRS, then scalar and vector FP
 * operations on edge values under every FPCR rounding mode with FZ and DN on and off, printing
 * each result and the FPSR it raised (FPSR cleared before each). Run under qemu-aarch64 and
 * xlat; the outputs must match. Built with -O2 -frounding-math: the operations happen at run
 * time, in the order written, after the control register writes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The "memory" clobbers keep each operation, which reads its operands from and writes its
 * result to volatile memory, between the FPSR clear and the FPSR read. */
static void set_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" ::"r"(v) : "memory"); }
static uint64_t get_fpcr(void) { uint64_t v; __asm__ volatile("mrs %0, fpcr" : "=r"(v)::"memory"); return v; }
static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" ::"r"(v) : "memory"); }
static uint64_t get_fpsr(void) { uint64_t v; __asm__ volatile("mrs %0, fpsr" : "=r"(v)::"memory"); return v; }
static volatile uint64_t sink;

static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static double dbl(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static float flt(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static volatile uint64_t dv[] = {
    0x3ff0000000000000ull, 0x3fb999999999999aull, 0x4008000000000000ull, 0xbff8000000000000ull,
    0x0000000000000001ull, 0x000fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
    0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x8000000000000000ull,
    0x43e0000000000000ull, 0x41dfffffffc00000ull, 0x3fe0000000000000ull, 0x4004000000000000ull,
    0x3ca0000000000001ull, 0x0008000000000000ull, 0,
};
static volatile uint32_t fv[] = {
    0x3f800000, 0x3dcccccd, 0x40400000, 0xbfc00000, 0x00000001, 0x007fffff, 0x00800000,
    0x7f7fffff, 0x7f800000, 0x7fc00000, 0x7f800001, 0x80000000, 0x4f000000, 0x3f000000,
    0x40200000, 0x33800001, 0,
};
#define ND (sizeof dv / sizeof dv[0])
#define NF (sizeof fv / sizeof fv[0])

#define OP(name, expr)                                                                        \
    do {                                                                                      \
        set_fpsr(0);                                                                          \
        sink = (expr);                                                                        \
        uint64_t fl = get_fpsr();                                                             \
        printf(" %s=%llx/%llx", name, (unsigned long long)sink, (unsigned long long)fl);        \
    } while (0)
/* Operands, read (from volatile memory) where they are used. */
#define A dbl(dv[i])
#define B dbl(dv[j])
#define FA flt(fv[i])
#define FB flt(fv[j])

int main(void) {
    /* Round trips: which bits of FPCR/FPSR stick. */
    static const uint64_t pats[] = {0, ~0ull, 0x55555555, 0xaaaaaaaa, 0x03c00000, 0x0000009f,
                                    0xf8000000, 0x00f80000, 0x07f89f1f};
    for (unsigned i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        set_fpcr(pats[i]);
        uint64_t c = get_fpcr();
        set_fpcr(0);
        set_fpsr(pats[i]);
        uint64_t s = get_fpsr();
        set_fpsr(0);
        printf("fpcr %llx -> %llx, fpsr -> %llx\n", (unsigned long long)pats[i],
               (unsigned long long)c, (unsigned long long)s);
    }
    for (unsigned mode = 0; mode < 16; mode++) {
        uint64_t fpcr = (uint64_t)mode << 22;
        printf("mode %x\n", mode);
        for (unsigned i = 0; i < ND; i++) {
            for (unsigned j = 0; j < ND; j += 2) {
                set_fpcr(fpcr);
                printf("d %u %u", i, j);
                OP("add", bits(A + B));
                OP("sub", bits(A - B));
                OP("mul", bits(A * B));
                OP("div", bits(A / B));
                OP("fma", bits(fma(A, B, dbl(dv[(i + j) % ND]))));
                OP("max", bits(fmax(A, B)));
                OP("lt", A < B);
                OP("eq", A == B);
                if (j == 0) {
                    OP("sqrt", bits(sqrt(A)));
                    OP("cvts", fbits((float)A));
                    OP("toi", (uint64_t)(long)A);
                    OP("tou", (uint64_t)(unsigned)A);
                    OP("rint", bits(rint(A)));
                    OP("nearbyint", bits(nearbyint(A)));
                    OP("floor", bits(floor(A)));
                    OP("round", bits(round(A)));
                    OP("lround", (uint64_t)lround(A));
                    OP("fromi", bits((double)(long)dv[i]));
                    OP("fromu", fbits((float)dv[i]));
                }
                set_fpcr(0);
                printf("\n");
            }
        }
        for (unsigned i = 0; i < NF; i++) {
            for (unsigned j = 0; j < NF; j += 2) {
                set_fpcr(fpcr);
                printf("f %u %u", i, j);
                OP("add", fbits(FA + FB));
                OP("mul", fbits(FA * FB));
                OP("div", fbits(FA / FB));
                OP("fma", fbits(fmaf(FA, FB, flt(fv[(i + j) % NF]))));
                if (j == 0) {
                    OP("sqrt", fbits(sqrtf(FA)));
                    OP("cvtd", bits((double)FA));
                    OP("toi", (uint64_t)(int)FA);
                }
                set_fpcr(0);
                printf("\n");
            }
        }
    }
    return 0;
}
