/* Integer, memory-bound and floating-point kernels (deterministic checksums).
 * Built freestanding for the payload and normally for the native program, same flags. */
#include "kernels.h"

void report(const char *name, u64 value)
{
    char buf[64];
    u64 n = 0;
    while (name[n] && n < 32) {
        buf[n] = name[n];
        n++;
    }
    buf[n++] = ':';
    buf[n++] = ' ';
    for (int i = 15; i >= 0; i--)
        buf[n++] = "0123456789abcdef"[(value >> (i * 4)) & 15];
    buf[n++] = '\n';
    out(buf, n);
}

/* Integer: xorshift, multiply, divide, rotate, a bitwise CRC-32 with data-dependent branches. */
static u64 k_int(u64 iters)
{
    u64 x = 88172645463325252UL, h = 0xcbf29ce484222325UL;
    u32 crc = 0xffffffffu;
    for (u64 i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        h = (h ^ x) * 0x100000001b3UL;
        h += x % 1000003u;
        h = (h << 5) | (h >> 59);
        u32 b = (u32)x & 0xff;
        crc ^= b;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return h ^ ((u64)crc << 32);
}

#define MEM_WORDS (4u << 20) /* 16 MiB of u32 */
static u32 arena[MEM_WORDS];
/* The words in use: all 16 MiB from scale 4 (the bench), 2 MiB below (the tests). */
static u32 mem_words = MEM_WORDS;

/* Memory: a random cyclic permutation (Sattolo) over 16 MiB chased pointer by pointer, then a
 * streaming read-modify-write pass. */
static u64 k_mem(u64 rounds)
{
    u64 x = 0x2545f4914f6cdd1dUL;
    for (u32 i = 0; i < mem_words; i++)
        arena[i] = i;
    for (u32 i = mem_words - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        u32 j = (u32)(x % i);
        u32 t = arena[i];
        arena[i] = arena[j];
        arena[j] = t;
    }
    u64 sum = 0;
    u32 p = 0;
    for (u64 r = 0; r < rounds; r++) {
        for (u32 i = 0; i < (1u << 20); i++) {
            p = arena[p];
            sum += p;
        }
        for (u32 i = 0; i < mem_words; i += 1) {
            u32 v = arena[i];
            sum = sum * 31 + v;
        }
    }
    return sum ^ p;
}

/* Floating point: Mandelbrot escape counts plus a small dense matrix product (doubles). */
#define MAT 48
static double ma[MAT][MAT], mb[MAT][MAT], mc[MAT][MAT];

static u64 k_fp(u64 rounds)
{
    u64 count = 0;
    double acc = 0.0;
    for (u64 r = 0; r < rounds; r++) {
        for (int py = 0; py < 96; py++) {
            for (int px = 0; px < 128; px++) {
                double cr = -2.0 + px * (2.5 / 128.0) + r * 1e-7;
                double ci = -1.25 + py * (2.5 / 96.0);
                double zr = 0.0, zi = 0.0;
                int it = 0;
                while (it < 200 && zr * zr + zi * zi <= 4.0) {
                    double t = zr * zr - zi * zi + cr;
                    zi = 2.0 * zr * zi + ci;
                    zr = t;
                    it++;
                }
                count += (u64)it;
                acc += zr * 0.5 - zi * 0.25;
            }
        }
        for (int i = 0; i < MAT; i++)
            for (int j = 0; j < MAT; j++) {
                ma[i][j] = (double)((i * 7 + j * 3 + (int)r) % 17) / 16.0 - 0.5;
                mb[i][j] = (double)((i * 5 + j * 11) % 13) / 12.0 + 0.25;
            }
        for (int i = 0; i < MAT; i++)
            for (int j = 0; j < MAT; j++) {
                double s = 0.0;
                for (int k = 0; k < MAT; k++)
                    s += ma[i][k] * mb[k][j];
                mc[i][j] = s;
            }
        for (int i = 0; i < MAT; i++)
            acc += mc[i][(i * 13) % MAT] / (1.0 + (double)i);
    }
    union {
        double d;
        u64 u;
    } bits = {acc};
    return count ^ bits.u;
}

#ifdef CYCLES
/* The time stamp counter, after every earlier instruction (ring 3 may read it: CR4.TSD is
 * clear). Under KVM the guest's TSC runs at the host's rate, so cycles compare with native. */
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((u64)hi << 32) | lo;
}
#define RUN(name, expr)                                                                        \
    do {                                                                                       \
        u64 t0_ = rdtsc();                                                                     \
        u64 v_ = (expr);                                                                       \
        u64 t1_ = rdtsc();                                                                     \
        report(name, v_);                                                                      \
        report("cycles " name, t1_ - t0_);                                                     \
    } while (0)
#else
#define RUN(name, expr) report(name, (expr))
#endif

void run_kernels(u64 scale, unsigned which)
{
    mem_words = scale >= 4 ? MEM_WORDS : MEM_WORDS / 8;
    if (which & 1)
        RUN("int", k_int(scale * 1000000));
    if (which & 2)
        RUN("mem", k_mem(scale));
    if (which & 4)
        RUN("fp", k_fp(scale * 2));
}
