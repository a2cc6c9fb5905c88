/* AArch64 EL0 system interface: AT_HWCAP/AT_HWCAP2, the ID registers as Linux emulates them
 * (MRS of MIDR_EL1, MPIDR_EL1, ID_AA64*), CTR_EL0, DCZID_EL0 and DC ZVA, TPIDR_EL0,
 * TPIDRRO_EL0, CNTFRQ_EL0 and CNTVCT_EL0 (its rate against CLOCK_MONOTONIC), and one probe
 * instruction per optional feature run under a SIGILL handler.
 * Lines "feat NAME HWCAP ID RUNS RESULT": under xlat HWCAP, the ID register field and RUNS
 * must agree (advertised exactly when implemented); the RESULT of every probe that runs must
 * equal qemu-aarch64's (-cpu max, which implements them all). Lines starting "sys" must be
 * identical under both; the "clock" line (CNTVCT_EL0 counts at CNTFRQ_EL0 against the host's
 * CLOCK_MONOTONIC) is checked under xlat only (qemu-aarch64 reads CNTFRQ_EL0 as 0). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

__asm__(".arch armv8.6-a+crypto+sha3+sm4+fp16+fp16fml+rcpc+i8mm+bf16+rng+sb+ssbs+flagm+pauth"
        "+dotprod+rdma\n");

static uint64_t data[8] __attribute__((aligned(64))) = {
    0x0123456789abcdefull, 0x3c00bc0040004400ull, 0x3f800000c0000000ull, 0x4008000000000000ull,
    0x7766554433221100ull, 0xffeeddccbbaa9988ull, 0x0f1e2d3c4b5a6978ull, 0x8877665544332211ull};

/* probe_NAME(data): x1 = data, v0 = 0x11.., v1..v3 = data, then the instruction; x0 (and v0
 * folded in) is the result. */
#define PROBE(name, insn)                                                                  \
    uint64_t probe_##name(uint64_t *);                                                     \
    __asm__(".global probe_" #name "\nprobe_" #name ":\n"                                  \
            "mov x1, x0\n ldp q1, q2, [x1]\n ldr q3, [x1, #32]\n movi v0.16b, #0x11\n"    \
            "ldr d4, [x1, #24]\n mov x2, #3\n mov x0, #0\n" insn "\n"                       \
            "fmov x3, d0\n eor x0, x0, x3\n mov x3, v0.d[1]\n eor x0, x0, x3, ror #7\n ret\n");

PROBE(aes, "aese v0.16b, v1.16b\n aesmc v0.16b, v0.16b")
PROBE(pmull, "pmull2 v0.1q, v1.2d, v2.2d")
PROBE(sha1, "sha1h s0, s1")
PROBE(sha2, "sha256h q0, q1, v2.4s")
PROBE(crc32, "ldp x3, x4, [x1]\n crc32cx w0, w0, x3\n crc32b w0, w0, w4\n crc32h w0, w0, w3")
PROBE(atomics, "ldadd x2, x0, [x1]\n stadd x0, [x1]")
PROBE(fphp, "fadd h0, h1, h2")
PROBE(asimdhp, "fadd v0.8h, v1.8h, v2.8h")
PROBE(asimdrdm, "sqrdmlah v0.8h, v1.8h, v2.8h")
PROBE(jscvt, "fjcvtzs w0, d4")
PROBE(fcma, "fcmla v0.4s, v1.4s, v2.4s, #90")
PROBE(lrcpc, "ldapr x0, [x1]")
PROBE(dcpop, "dc cvap, x1")
PROBE(sha3, "eor3 v0.16b, v1.16b, v2.16b, v3.16b")
PROBE(sm3, "sm3ss1 v0.4s, v1.4s, v2.4s, v3.4s")
PROBE(sm4, "sm4e v0.4s, v1.4s")
PROBE(asimddp, "sdot v0.4s, v1.16b, v2.16b")
PROBE(sha512, "sha512h q0, q1, v2.2d")
PROBE(asimdfhm, "fmlal v0.2s, v1.2h, v2.2h")
PROBE(dit, "mrs x0, dit")
PROBE(uscat, "add x3, x1, #1\n ldadd x2, x0, [x3]")
PROBE(ilrcpc, "ldapur x0, [x1, #8]")
PROBE(flagm, "cmp x1, #0\n cfinv\n cset x0, cs")
PROBE(ssbs, "mrs x0, ssbs")
PROBE(sb, "sb")
PROBE(paca, "pacia x0, x1")
PROBE(pacg, "pacga x0, x1, x2")
PROBE(dcpodp, "dc cvadp, x1")
PROBE(flagm2, "cmp x1, #0\n axflag\n cset x0, cs")
PROBE(frint, "frint32z v0.4s, v1.4s")
PROBE(i8mm, "smmla v0.4s, v1.16b, v2.16b")
PROBE(bf16, "bfdot v0.4s, v1.8h, v2.8h")
PROBE(rng, "mrs x0, rndr\n mov x0, #1")

/* ID register numbers for the table. */
enum { PFR0, PFR1, ISAR0, ISAR1, ISAR2, MMFR2, NREG };

struct feat {
    const char *name;
    int hw2, bit;       /* AT_HWCAP2 or AT_HWCAP, bit */
    int reg, shift, min; /* the ID field that advertises it (min value; FP/AdvSIMD: signed) */
    uint64_t (*probe)(uint64_t *);
};

#define F(n, h2, b, r, s, m) {#n, h2, b, r, s, m, probe_##n}
static const struct feat feats[] = {
    F(aes, 0, 3, ISAR0, 4, 1), F(pmull, 0, 4, ISAR0, 4, 2), F(sha1, 0, 5, ISAR0, 8, 1),
    F(sha2, 0, 6, ISAR0, 12, 1), F(crc32, 0, 7, ISAR0, 16, 1), F(atomics, 0, 8, ISAR0, 20, 2),
    F(fphp, 0, 9, PFR0, 16, 1), F(asimdhp, 0, 10, PFR0, 20, 1), F(asimdrdm, 0, 12, ISAR0, 28, 1),
    F(jscvt, 0, 13, ISAR1, 12, 1), F(fcma, 0, 14, ISAR1, 16, 1), F(lrcpc, 0, 15, ISAR1, 20, 1),
    F(dcpop, 0, 16, ISAR1, 0, 1), F(sha3, 0, 17, ISAR0, 32, 1), F(sm3, 0, 18, ISAR0, 36, 1),
    F(sm4, 0, 19, ISAR0, 40, 1), F(asimddp, 0, 20, ISAR0, 44, 1), F(sha512, 0, 21, ISAR0, 12, 2),
    F(asimdfhm, 0, 23, ISAR0, 48, 1), F(dit, 0, 24, PFR0, 48, 1), F(uscat, 0, 25, MMFR2, 32, 1),
    F(ilrcpc, 0, 26, ISAR1, 20, 2), F(flagm, 0, 27, ISAR0, 52, 1), F(ssbs, 0, 28, PFR1, 4, 1),
    F(sb, 0, 29, ISAR1, 36, 1), F(paca, 0, 30, ISAR1, 4, 1), F(pacg, 0, 31, ISAR1, 24, 1),
    F(dcpodp, 1, 0, ISAR1, 0, 2), F(flagm2, 1, 7, ISAR0, 52, 2), F(frint, 1, 8, ISAR1, 32, 1),
    F(i8mm, 1, 13, ISAR1, 52, 1), F(bf16, 1, 14, ISAR1, 44, 1), F(rng, 1, 16, ISAR0, 60, 1),
};

static sigjmp_buf jb;
static void on_signal(int s) { siglongjmp(jb, s); }

#define MRS(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " r : "=r"(v_)); v_; })

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGILL, on_signal);
    signal(SIGBUS, on_signal);
    uint64_t hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    printf("hwcap %llx hwcap2 %llx\n", (unsigned long long)hw, (unsigned long long)hw2);
    uint64_t id[NREG];
    id[PFR0] = MRS("S3_0_C0_C4_0");
    id[PFR1] = MRS("S3_0_C0_C4_1");
    id[ISAR0] = MRS("S3_0_C0_C6_0");
    id[ISAR1] = MRS("S3_0_C0_C6_1");
    id[ISAR2] = MRS("S3_0_C0_C6_2");
    id[MMFR2] = MRS("S3_0_C0_C7_2");
    printf("midr %llx mpidr %llx pfr0 %llx pfr1 %llx isar0 %llx isar1 %llx isar2 %llx mmfr2 %llx\n",
        (unsigned long long)MRS("midr_el1"), (unsigned long long)MRS("mpidr_el1"),
        (unsigned long long)id[PFR0], (unsigned long long)id[PFR1], (unsigned long long)id[ISAR0],
        (unsigned long long)id[ISAR1], (unsigned long long)id[ISAR2], (unsigned long long)id[MMFR2]);
    /* FP and AdvSIMD: signed fields, 0xf = absent. */
    printf("feat fp %d %d 1 0\n", (int)(hw & 1), ((id[PFR0] >> 16) & 15) != 15);
    printf("feat asimd %d %d 1 0\n", (int)(hw >> 1 & 1), ((id[PFR0] >> 20) & 15) != 15);
    printf("feat cpuid %d 1 1 0\n", (int)(hw >> 11 & 1));
    for (size_t i = 0; i < sizeof feats / sizeof feats[0]; i++) {
        const struct feat *f = &feats[i];
        int h = (int)(((f->hw2 ? hw2 : hw) >> f->bit) & 1);
        unsigned fld = (unsigned)(id[f->reg] >> f->shift) & 15;
        int adv = f->reg == PFR0 && f->shift < 24 ? fld != 15 && fld >= (unsigned)f->min
                                                   : fld >= (unsigned)f->min;
        uint64_t buf[8];
        memcpy(buf, data, sizeof buf);
        uint64_t r = 0;
        int sig = sigsetjmp(jb, 1);
        if (!sig) r = f->probe(buf);
        if (!strcmp(f->name, "rng") || !strcmp(f->name, "paca") || !strcmp(f->name, "pacg"))
            r = 0; /* random or key-dependent */
        printf("feat %s %d %d %d %llx\n", f->name, h, adv, sig == 0,
            (unsigned long long)(r ^ buf[0] ^ buf[1] << 1));
    }
    /* DC ZVA zeroes the aligned block of DCZID_EL0's size around the address. */
    uint64_t dczid = MRS("dczid_el0");
    unsigned bs = 4u << (dczid & 15);
    static unsigned char z[8192] __attribute__((aligned(4096)));
    memset(z, 0xa5, sizeof z);
    if (!(dczid & 16)) __asm__ volatile("dc zva, %0" ::"r"(z + 3001) : "memory");
    int first = -1, last = -1;
    for (int i = 0; i < (int)sizeof z; i++)
        if (!z[i]) { if (first < 0) first = i; last = i; }
    /* The block size is the implementation's (xlat 64, qemu's max 512). */
    printf("sys dc zva allowed %d zeroes its block %d\n", !(dczid & 16),
        first == (int)(3001 & ~(bs - 1)) && last == first + (int)bs - 1);
    uint64_t ctr = MRS("ctr_el0");
    printf("ctr dminline %u iminline %u\n", (unsigned)(4u << (ctr >> 16 & 15)),
        (unsigned)(4u << (ctr & 15)));
    uint64_t tls = MRS("tpidr_el0");
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(0x1234567890abcdefull));
    uint64_t tp = MRS("tpidr_el0");
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(tls));
    printf("sys tpidr %llx tpidrro %llx\n", (unsigned long long)tp,
        (unsigned long long)MRS("tpidrro_el0"));
    uint64_t frq = MRS("cntfrq_el0");
    double t0 = now();
    uint64_t c0 = MRS("cntvct_el0"), prev = c0;
    int mono = 1;
    while (now() - t0 < 0.05) {
        uint64_t c = MRS("cntvct_el0");
        if (c < prev) mono = 0;
        prev = c;
    }
    double rate = (double)(prev - c0) / (now() - t0);
    printf("clock cntfrq %s cntvct monotonic %d rate %s\n", frq ? "nonzero" : "zero", mono,
        rate > frq * 0.5 && rate < frq * 2.0 ? "matches" : "differs");
    return 0;
}
