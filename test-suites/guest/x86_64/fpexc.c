/* Unmasked floating-point exceptions, compared with native execution on this host.
 * SSE: each case loads xmm0 (destination), xmm1 (source) and MXCSR (random masks, rounding,
 * DAZ/FTZ, PE sometimes already set) and runs one instruction; a #XM is SIGFPE: the handler
 * prints si_code, si_addr (relative to the instruction), the trap number, the destination as
 * the signal frame holds it (unchanged) and MXCSR; else the result and MXCSR are printed.
 * x87: fninit, a control word with some exceptions unmasked, two loads, one arithmetic
 * instruction and a waiting one: the #MF's si_code, si_addr (the waiting instruction), and
 * from the frame's fpstate FOP, FIP (relative to the arithmetic instruction), the status
 * word and st(0) (an unmasked overflow or underflow leaves the exponent-adjusted result).
 * Values come from a fixed table with a fixed LCG, so both runs see the same cases.
 * Arguments: the number of SSE cases (a third as many x87 ones), and "sse", "x87" or "all". */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

struct io {
    uint8_t a[16], b[16];
    uint32_t mx, pad;
    uint64_t at;
};

#define SSE(name, insn)                                                                  \
    static void name(struct io *p) {                                                     \
        __asm__ volatile("ldmxcsr 32(%0)\n\tmovdqu (%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t" \
                         "mov (%0), %%rax\n\tlea 1f(%%rip), %%rdx\n\tmov %%rdx, 40(%0)\n"   \
                         "1:\t" insn "\n\tmovdqu %%xmm0, (%0)\n\tmov %%rax, 16(%0)\n\t"       \
                         "stmxcsr 32(%0)\n"                                               \
                         :                                                                \
                         : "r"(p)                                                         \
                         : "rax", "rdx", "xmm0", "xmm1", "memory");                       \
    }

SSE(addps, "addps %%xmm1, %%xmm0")
SSE(addpd, "addpd %%xmm1, %%xmm0")
SSE(subps, "subps %%xmm1, %%xmm0")
SSE(mulpd, "mulpd %%xmm1, %%xmm0")
SSE(mulps, "mulps %%xmm1, %%xmm0")
SSE(divpd, "divpd %%xmm1, %%xmm0")
SSE(divps, "divps %%xmm1, %%xmm0")
SSE(sqrtpd, "sqrtpd %%xmm1, %%xmm0")
SSE(sqrtps, "sqrtps %%xmm1, %%xmm0")
SSE(minpd, "minpd %%xmm1, %%xmm0")
SSE(maxps, "maxps %%xmm1, %%xmm0")
SSE(cmpltpd, "cmpltpd %%xmm1, %%xmm0")
SSE(cmpeqps, "cmpeqps %%xmm1, %%xmm0")
SSE(addsd, "addsd %%xmm1, %%xmm0")
SSE(subss, "subss %%xmm1, %%xmm0")
SSE(mulsd, "mulsd %%xmm1, %%xmm0")
SSE(mulss, "mulss %%xmm1, %%xmm0")
SSE(divsd, "divsd %%xmm1, %%xmm0")
SSE(divss, "divss %%xmm1, %%xmm0")
SSE(sqrtsd, "sqrtsd %%xmm1, %%xmm0")
SSE(minss, "minss %%xmm1, %%xmm0")
SSE(cmplesd, "cmplesd %%xmm1, %%xmm0")
SSE(cvtsd2ss, "cvtsd2ss %%xmm1, %%xmm0")
SSE(cvtss2sd, "cvtss2sd %%xmm1, %%xmm0")
SSE(cvtps2pd, "cvtps2pd %%xmm1, %%xmm0")
SSE(cvtpd2ps, "cvtpd2ps %%xmm1, %%xmm0")
SSE(cvtps2dq, "cvtps2dq %%xmm1, %%xmm0")
SSE(cvttpd2dq, "cvttpd2dq %%xmm1, %%xmm0")
SSE(cvtdq2ps, "cvtdq2ps %%xmm1, %%xmm0")
SSE(cvtsd2si, "cvtsd2si %%xmm1, %%rax")
SSE(cvttss2si, "cvttss2si %%xmm1, %%eax")
SSE(cvtsi2ss, "cvtsi2ssq %%rax, %%xmm0")
SSE(cvtsi2sd, "cvtsi2sdq %%rax, %%xmm0")
SSE(ucomisd, "ucomisd %%xmm1, %%xmm0")
SSE(comiss, "comiss %%xmm1, %%xmm0")
SSE(haddpd, "haddpd %%xmm1, %%xmm0")
SSE(hsubps, "hsubps %%xmm1, %%xmm0")
SSE(addsubpd, "addsubpd %%xmm1, %%xmm0")
SSE(dppd, "dppd $0x31, %%xmm1, %%xmm0")
SSE(dpps, "dpps $0xf1, %%xmm1, %%xmm0")
SSE(roundsd, "roundsd $4, %%xmm1, %%xmm0")
SSE(roundps, "roundps $1, %%xmm1, %%xmm0")

static const struct {
    const char *name;
    void (*f)(struct io *);
    int dbl; /* lane type of xmm0: 1 double, 0 single, 2 int32 */
    int sdbl; /* lane type of xmm1 */
} ops[] = {
    {"addps", addps, 0, 0},       {"addpd", addpd, 1, 1},         {"subps", subps, 0, 0},
    {"mulpd", mulpd, 1, 1},       {"mulps", mulps, 0, 0},         {"divpd", divpd, 1, 1},
    {"divps", divps, 0, 0},       {"sqrtpd", sqrtpd, 1, 1},       {"sqrtps", sqrtps, 0, 0},
    {"minpd", minpd, 1, 1},       {"maxps", maxps, 0, 0},         {"cmpltpd", cmpltpd, 1, 1},
    {"cmpeqps", cmpeqps, 0, 0},   {"addsd", addsd, 1, 1},         {"subss", subss, 0, 0},
    {"mulsd", mulsd, 1, 1},       {"mulss", mulss, 0, 0},         {"divsd", divsd, 1, 1},
    {"divss", divss, 0, 0},       {"sqrtsd", sqrtsd, 1, 1},       {"minss", minss, 0, 0},
    {"cmplesd", cmplesd, 1, 1},   {"cvtsd2ss", cvtsd2ss, 0, 1},   {"cvtss2sd", cvtss2sd, 1, 0},
    {"cvtps2pd", cvtps2pd, 1, 0}, {"cvtpd2ps", cvtpd2ps, 0, 1},   {"cvtps2dq", cvtps2dq, 2, 0},
    {"cvttpd2dq", cvttpd2dq, 2, 1}, {"cvtdq2ps", cvtdq2ps, 0, 2}, {"cvtsd2si", cvtsd2si, 2, 1},
    {"cvttss2si", cvttss2si, 2, 0}, {"cvtsi2ss", cvtsi2ss, 3, 0}, {"cvtsi2sd", cvtsi2sd, 3, 1},
    {"ucomisd", ucomisd, 1, 1},   {"comiss", comiss, 0, 0},       {"haddpd", haddpd, 1, 1},
    {"hsubps", hsubps, 0, 0},     {"addsubpd", addsubpd, 1, 1},   {"dppd", dppd, 1, 1},
    {"dpps", dpps, 0, 0},         {"roundsd", roundsd, 1, 1},     {"roundps", roundps, 0, 0},
};

static const uint64_t dvals[] = {
    0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x3ff8000000000000ull, 0x4008000000000000ull, 0x3fb999999999999aull, 0x7fe1ccf385ebc8a0ull,
    0xffe1ccf385ebc8a0ull, 0x0010000000000000ull, 0x0018000000000000ull, 0x0000000000000001ull,
    0x000fffffffffffffull, 0x8008000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x1a56e1fc2f8f359bull, 0x6580000000000000ull,
    0x41dfffffffc00000ull, 0xc3e0000000000001ull, 0x3690000000000000ull, 0x47f0000000000000ull,
};
static const uint32_t svals[] = {
    0,          0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40400000, 0x3dcccccd,
    0x7f000000, 0xff000000, 0x00800000, 0x00c00000, 0x00000001, 0x007fffff, 0x80400000,
    0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x1f000000, 0x5f000000, 0x4effffff,
    0xdf000001, 0x0d800000, 0x71800000,
};
static const uint32_t ivals[] = {0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x1000001, 12345678, 3};

static uint64_t seed = 0x1234567;
static uint32_t rnd(void) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(seed >> 33);
}

static void fill(uint8_t *v, int t) {
    for (int l = 0; l < 4; l++) {
        if (t == 1) {
            if (l < 2) {
                uint64_t x = dvals[rnd() % (sizeof dvals / 8)];
                memcpy(v + 8 * l, &x, 8);
            }
        } else if (t == 0) {
            uint32_t x = svals[rnd() % (sizeof svals / 4)];
            memcpy(v + 4 * l, &x, 4);
        } else if (t == 3) {
            /* an integer source for cvtsi2s*: 64-bit in the low lanes */
            uint64_t x = ((uint64_t)rnd() << 33) ^ rnd();
            if (rnd() & 1) x >>= rnd() % 64;
            memcpy(v, &x, 8);
            return;
        } else {
            uint32_t x = ivals[rnd() % 8];
            if (rnd() % 3 == 0) x = rnd();
            memcpy(v + 4 * l, &x, 4);
        }
    }
}

static sigjmp_buf jb;
static volatile int caught;
static volatile int code, trapno;
static volatile uint64_t addr;
static uint8_t fpimg[512];

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    caught = 1;
    code = si->si_code;
    addr = (uint64_t)si->si_addr;
    trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    memcpy(fpimg, uc->uc_mcontext.fpregs, 512);
    siglongjmp(jb, 1);
}

static void hex(const uint8_t *v, int n) {
    for (int b = n - 1; b >= 0; b--) printf("%02x", v[b]);
}

static void sse_cases(int n) {
    int faults = 0;
    for (int k = 0; k < n; k++) {
        int o = rnd() % (sizeof ops / sizeof ops[0]);
        static struct io io;
        memset(&io, 0, sizeof io);
        fill(io.a, ops[o].dbl == 3 ? 1 : ops[o].dbl);
        fill(io.b, ops[o].sdbl);
        if (ops[o].dbl == 3) fill(io.a, 3);
        uint32_t masks = 0x3f;
        /* unmask one exception mostly, sometimes two or all */
        int u = rnd() % 8;
        if (u < 6) masks &= ~(1u << u);
        else if (u == 6) masks &= ~((1u << (rnd() % 6)) | (1u << (rnd() % 6)));
        else masks = rnd() & 0x3f;
        uint32_t mx = masks << 7 | (rnd() % 4) << 13;
        if (rnd() % 4 == 0) mx |= 0x20; /* PE already set */
        if (rnd() % 5 == 0) mx |= 0x8000; /* FTZ */
        if (rnd() % 5 == 0) mx |= 0x40; /* DAZ */
        io.mx = mx;
        printf("%s mx=%04x a=", ops[o].name, mx);
        hex(io.a, 16);
        printf(" b=");
        hex(io.b, 16);
        caught = 0;
        uint8_t a0[16];
        memcpy(a0, io.a, 16);
        if (sigsetjmp(jb, 1) == 0) {
            ops[o].f(&io);
            printf(" -> ");
            hex(io.a, 16);
            printf(" rax=");
            hex(io.b, 8);
            printf(" mx=%04x\n", io.mx);
        } else {
            uint32_t fmx;
            memcpy(&fmx, fpimg + 24, 4);
            faults++;
            printf(" -> SIGFPE code=%d at=%+ld trap=%d xmm0=", code, (long)(addr - io.at), trapno);
            hex(fpimg + 160, 16);
            printf("%s mx=%04x\n", memcmp(fpimg + 160, a0, 16) ? " CHANGED" : "", fmx);
        }
    }
    fprintf(stderr, "sse: %d cases, %d faulted\n", n, faults);
}

/* x87: op codes of the arithmetic instruction between the loads and the waiting one. */
struct x87io {
    uint64_t a, b; /* doubles */
    uint16_t cw, pad[3];
    uint64_t at, wat;
    uint8_t st0[16];
    uint16_t sw, pad2[3];
    uint64_t base, out;
};

#define X87(name, insn)                                                                  \
    static void name(struct x87io *p) {                                                  \
        __asm__ volatile("lea 0f(%%rip), %%rdx\n\tmov %%rdx, 64(%0)\n"                    \
                         "0:\tfninit\n\tfldcw 16(%0)\n\tfldl 8(%0)\n\tfldl (%0)\n\t"      \
                         "lea 1f(%%rip), %%rdx\n\tmov %%rdx, 24(%0)\n\t"                  \
                         "lea 2f(%%rip), %%rdx\n\tmov %%rdx, 32(%0)\n"                    \
                         "1:\t" insn "\n2:\tfwait\n\tfstpt 40(%0)\n\tfnstsw 56(%0)\n\tfninit\n" \
                         :                                                                \
                         : "r"(p)                                                         \
                         : "rdx", "memory", "st", "st(1)");                               \
    }

X87(fadd_, "fadd %%st(1), %%st")
X87(fsub_, "fsubr %%st(1), %%st")
X87(fmul_, "fmul %%st(1), %%st")
X87(fdiv_, "fdiv %%st(1), %%st")
X87(fdivm, "fdivl 8(%0)")
X87(fmulm, "fmull 8(%0)")
X87(fsqrt_, "fsqrt")
X87(fscale_, "fscale")
X87(fst_s, "fsts 72(%0)")
X87(fist_, "fistl 72(%0)")
X87(fcom_, "fcom %%st(1)")
X87(fprem_, "fprem")

static const struct {
    const char *name;
    void (*f)(struct x87io *);
} xops[] = {
    {"fadd", fadd_}, {"fsubr", fsub_}, {"fmul", fmul_}, {"fdiv", fdiv_},  {"fdivl m64", fdivm},
    {"fmull m64", fmulm}, {"fsqrt", fsqrt_}, {"fscale", fscale_}, {"fsts m32", fst_s},
    {"fistl m32", fist_}, {"fcom", fcom_}, {"fprem", fprem_},
};

static void x87_cases(int n) {
    int faults = 0;
    for (int k = 0; k < n; k++) {
        int o = rnd() % (sizeof xops / sizeof xops[0]);
        static struct x87io io;
        memset(&io, 0, sizeof io);
        io.a = dvals[rnd() % (sizeof dvals / 8)];
        io.b = dvals[rnd() % (sizeof dvals / 8)];
        if (rnd() % 3 == 0) {
            /* big and small exponents: fscale and products overflow or underflow */
            io.a = (uint64_t)(rnd() % 2) << 63 | (uint64_t)(rnd() % 2 ? 0x7fe : 0x001) << 52 | rnd();
        }
        if (xops[o].f == fscale_ && rnd() % 2) {
            /* scales past the extended range, within and beyond the unmasked exponent bias */
            static const double sc[] = {16380, 16390, 16500, 20000, 24000, 30000, 50000,
                                        -16390, -16450, -20000, -30000, -50000, 2147483647.0};
            double v = sc[rnd() % (sizeof sc / sizeof sc[0])];
            memcpy(&io.b, &v, 8);
        }
        uint16_t masks = 0x3f;
        int u = rnd() % 7;
        if (u < 6) masks &= ~(1u << u);
        else masks = rnd() & 0x3f;
        io.cw = 0x0340 | masks | (rnd() % 4) << 10 | (rnd() % 2 ? 0 : 0x100);
        printf("%s cw=%04x a=%016llx b=%016llx", xops[o].name, io.cw, (unsigned long long)io.a,
               (unsigned long long)io.b);
        caught = 0;
        if (sigsetjmp(jb, 1) == 0) {
            xops[o].f(&io);
            printf(" -> st0=");
            hex(io.st0, 10);
            printf(" sw=%04x out=%016llx\n", io.sw, (unsigned long long)io.out);
        } else {
            uint16_t cwd, swd, fop;
            uint64_t rip, rdp;
            memcpy(&rdp, fpimg + 16, 8);
            memcpy(&cwd, fpimg, 2);
            memcpy(&swd, fpimg + 2, 2);
            memcpy(&fop, fpimg + 6, 2);
            memcpy(&rip, fpimg + 8, 8);
            faults++;
            int top = (swd >> 11) & 7;
            printf(" -> SIGFPE code=%d at=%+ld trap=%d cw=%04x sw=%04x fop=%03x fip=%+ld fdp=%+ld st0=",
                   code, (long)(addr - io.base), trapno, cwd, swd, fop, (long)(rip - io.base),
                   rdp ? (long)(rdp - (uint64_t)&io) : -1L);
            (void)top;
            hex(fpimg + 32, 10);
            printf(" out=%016llx\n", (unsigned long long)io.out);
        }
    }
    fprintf(stderr, "x87: %d cases, %d faulted\n", n, faults);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1500;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fpe;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, 0);
    const char *which = argc > 2 ? argv[2] : "all";
    if (strcmp(which, "x87") != 0) sse_cases(n);
    if (strcmp(which, "sse") != 0) x87_cases(n / 3);
    return 0;
}
