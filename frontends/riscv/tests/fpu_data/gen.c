/* Reference generator for xlat's fpu tests: runs every F/D arithmetic instruction on many
 * operands in every rounding mode on a real (emulated) RISC-V hart and prints, one case per
 * line:   <op> <rm> <a> <b> <c> <result> <fflags>   (hex, unused operands 0).
 * Build: riscv64-linux-gnu-gcc -static -O2 gen.c; run under qemu-riscv64 (the reference).
 * Single-precision operands and results are the low 32 bits. Deterministic: optional argv[1]
 * scales the number of random cases, optional argv[2] (nonzero) replaces the seed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t u64;
static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

static void set_rm(unsigned rm) { __asm__ volatile("fsrm %0" ::"r"(rm)); }

#define CLOBBER "ft0", "ft1", "ft2", "ft3"
/* Binary ops producing a float: load, op, move out, read flags. */
#define BIN(name, insn, mvin, mvout)                                                        \
    static u64 name(u64 a, u64 b, unsigned *fl) {                                           \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" mvin " ft0, %2\n\t" mvin " ft1, %3\n\t" insn       \
                         " ft2, ft0, ft1\n\t" mvout " %0, ft2\n\tfrflags %1"                \
                         : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : CLOBBER);                   \
        *fl = f; return r;                                                                  \
    }
/* Binary ops producing an integer (comparisons). */
#define CMP(name, insn, mvin)                                                               \
    static u64 name(u64 a, u64 b, unsigned *fl) {                                           \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" mvin " ft0, %2\n\t" mvin " ft1, %3\n\t" insn       \
                         " %0, ft0, ft1\n\tfrflags %1"                                      \
                         : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : CLOBBER);                   \
        *fl = f; return r;                                                                  \
    }
#define TER(name, insn, mvin, mvout)                                                        \
    static u64 name(u64 a, u64 b, u64 c, unsigned *fl) {                                    \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" mvin " ft0, %2\n\t" mvin " ft1, %3\n\t" mvin        \
                         " ft2, %4\n\t" insn " ft3, ft0, ft1, ft2\n\t" mvout                 \
                         " %0, ft3\n\tfrflags %1"                                           \
                         : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : CLOBBER);           \
        *fl = f; return r;                                                                  \
    }
/* Unary: float -> float, float -> int, int -> float. */
#define UN(name, insn, mvin, mvout)                                                         \
    static u64 name(u64 a, unsigned *fl) {                                                  \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" mvin " ft0, %2\n\t" insn " ft2, ft0\n\t" mvout      \
                         " %0, ft2\n\tfrflags %1"                                           \
                         : "=&r"(r), "=&r"(f) : "r"(a) : CLOBBER);                           \
        *fl = f; return r;                                                                  \
    }
#define F2I(name, insn, mvin)                                                               \
    static u64 name(u64 a, unsigned *fl) {                                                  \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" mvin " ft0, %2\n\t" insn " %0, ft0\n\tfrflags %1"   \
                         : "=&r"(r), "=&r"(f) : "r"(a) : CLOBBER);                           \
        *fl = f; return r;                                                                  \
    }
#define I2F(name, insn, mvout)                                                              \
    static u64 name(u64 a, unsigned *fl) {                                                  \
        u64 r; unsigned f;                                                                  \
        __asm__ volatile("fsflags x0\n\t" insn " ft2, %2\n\t" mvout " %0, ft2\n\tfrflags %1"  \
                         : "=&r"(r), "=&r"(f) : "r"(a) : CLOBBER);                           \
        *fl = f; return r;                                                                  \
    }

#define FOR_FMT(sfx, mvin, mvout)                                                        \
    BIN(add_##sfx, "fadd." #sfx, mvin, mvout) BIN(sub_##sfx, "fsub." #sfx, mvin, mvout)     \
    BIN(mul_##sfx, "fmul." #sfx, mvin, mvout) BIN(div_##sfx, "fdiv." #sfx, mvin, mvout)     \
    BIN(min_##sfx, "fmin." #sfx, mvin, mvout) BIN(max_##sfx, "fmax." #sfx, mvin, mvout)     \
    CMP(eq_##sfx, "feq." #sfx, mvin) CMP(lt_##sfx, "flt." #sfx, mvin)                       \
    CMP(le_##sfx, "fle." #sfx, mvin)                                                        \
    TER(fmadd_##sfx, "fmadd." #sfx, mvin, mvout) TER(fmsub_##sfx, "fmsub." #sfx, mvin, mvout) \
    TER(fnmsub_##sfx, "fnmsub." #sfx, mvin, mvout)                                          \
    TER(fnmadd_##sfx, "fnmadd." #sfx, mvin, mvout)                                          \
    UN(sqrt_##sfx, "fsqrt." #sfx, mvin, mvout) F2I(class_##sfx, "fclass." #sfx, mvin)       \
    F2I(cvtw_##sfx, "fcvt.w." #sfx, mvin) F2I(cvtwu_##sfx, "fcvt.wu." #sfx, mvin)           \
    F2I(cvtl_##sfx, "fcvt.l." #sfx, mvin) F2I(cvtlu_##sfx, "fcvt.lu." #sfx, mvin)           \
    I2F(cvt_w_##sfx, "fcvt." #sfx ".w", mvout) I2F(cvt_wu_##sfx, "fcvt." #sfx ".wu", mvout)  \
    I2F(cvt_l_##sfx, "fcvt." #sfx ".l", mvout) I2F(cvt_lu_##sfx, "fcvt." #sfx ".lu", mvout)

FOR_FMT(s, "fmv.w.x", "fmv.x.w")
FOR_FMT(d, "fmv.d.x", "fmv.x.d")
UN(cvt_s_d, "fcvt.s.d", "fmv.d.x", "fmv.x.w")
UN(cvt_d_s, "fcvt.d.s", "fmv.w.x", "fmv.x.d")

/* Format description for operand generation. */
typedef struct { int ebits, mbits; const char *sfx; } Fmt;
static const Fmt FS = {8, 23, "s"}, FD = {11, 52, "d"};
static u64 mask(const Fmt *f) { return f->ebits == 8 ? 0xffffffffull : ~0ull; }
static int emax(const Fmt *f) { return (1 << f->ebits) - 1; }
static int bias(const Fmt *f) { return (1 << (f->ebits - 1)) - 1; }
static u64 pack(const Fmt *f, int s, int e, u64 m) {
    if (e < 0) e = 0;
    if (e > emax(f)) e = emax(f);
    m &= (1ull << f->mbits) - 1;
    return ((u64)s << (f->ebits + f->mbits)) | ((u64)e << f->mbits) | m;
}
static u64 rmant(const Fmt *f) {
    u64 one = 1ull << f->mbits, all = one - 1;
    switch (rndn(9)) {
    case 0: return 0;
    case 1: return all;
    case 2: return rnd() & 7;                      /* just above a power of two */
    case 3: return all - (rnd() & 7);              /* just below the next one */
    case 4: return (one >> 1) | (rnd() & 3);       /* near a half */
    case 5: return rnd() & (all ^ (all >> rndn(f->mbits + 1))); /* few top bits: exact products */
    case 6: return 1ull << rndn(f->mbits);
    default: return rnd();
    }
}
static int rexp(const Fmt *f) {
    switch (rndn(6)) {
    case 0: return rndn(3);                        /* subnormal, smallest normals */
    case 1: return emax(f) - 1 - rndn(3);          /* largest finite */
    case 2: return bias(f) - 2 + rndn(5);          /* around 1.0 */
    case 3: return rndn(200) == 0 ? emax(f) : 1 + rndn(emax(f) - 1);
    default: return 1 + rndn(emax(f) - 1);
    }
}
static u64 rval(const Fmt *f) { return pack(f, rndn(2), rexp(f), rmant(f)); }
static int ef(const Fmt *f, u64 v) { return (int)((v >> f->mbits) & emax(f)); }
/* A value whose exponent field is e + small offset (mutual placement of operands). */
static u64 near(const Fmt *f, int e, int spread) {
    return pack(f, rndn(2), e - spread + (int)rndn(2 * spread + 1), rmant(f));
}

#define NSPEC 24
static void specials(const Fmt *f, u64 *out) {
    u64 m = (1ull << f->mbits) - 1, q = 1ull << (f->mbits - 1);
    int E = emax(f), B = bias(f);
    u64 v[NSPEC] = {
        pack(f, 0, 0, 0), pack(f, 1, 0, 0), pack(f, 0, E, 0), pack(f, 1, E, 0),
        pack(f, 0, E, q), pack(f, 1, E, q | 5), pack(f, 0, E, 1), pack(f, 1, E, q - 1),
        pack(f, 0, 0, 1), pack(f, 1, 0, 1), pack(f, 0, 0, m), pack(f, 1, 0, m),
        pack(f, 0, 1, 0), pack(f, 1, 1, 0), pack(f, 0, E - 1, m), pack(f, 1, E - 1, m),
        pack(f, 0, B, 0), pack(f, 1, B, 0), pack(f, 0, B + 1, 0), pack(f, 0, B - 1, m),
        pack(f, 0, B, 1), pack(f, 1, B + 1, q), pack(f, 0, 0, q), pack(f, 0, B + 30, m)};
    for (int i = 0; i < NSPEC; i++) out[i] = v[i];
}

/* Integer sources at rounding and range boundaries (2^24, 2^53, 2^63, 2^64). */
static const u64 INTS[] = {0, 1, ~0ull, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                           0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull - 1,
                           ~0ull - 1024, ~0ull - 1023, ~0ull - 2048, (1ull << 53) + 1,
                           (1ull << 54) + 2, (1ull << 24) + 1, (1ull << 25) + 3,
                           0xffffffff00000001ull, 0xffffff7fffffffffull, 0x8000000000000400ull};
#define NINT ((int)(sizeof INTS / sizeof INTS[0]))

static void out(const char *op, const char *sfx, unsigned rm, u64 a, u64 b, u64 c, u64 r,
                unsigned fl, u64 m) {
    printf("%s.%s %u %llx %llx %llx %llx %x\n", op, sfx, rm, (unsigned long long)a,
           (unsigned long long)b, (unsigned long long)c, (unsigned long long)(r & m), fl);
}

typedef u64 (*Bin)(u64, u64, unsigned *);
typedef u64 (*Ter)(u64, u64, u64, unsigned *);
typedef u64 (*Un)(u64, unsigned *);

/* The second operand of a random pair, placed relative to the first so that results land
 * on rounding boundaries, cancel, underflow or overflow. */
static u64 partner(const Fmt *f, const char *op, u64 a) {
    int ea = ef(f, a), B = bias(f), M = f->mbits;
    if (rndn(4) == 0) return rval(f);
    switch (op[0]) {
    case 'a': case 's': return near(f, ea, M + 3);            /* add/sub: alignment, cancel */
    case 'm': return rndn(2) ? near(f, B + 1 - ea + 1, M / 2 + 2) /* mul: underflow region */
                             : near(f, emax(f) + B - ea - 1, 2); /* mul: overflow region */
    default: return rndn(2) ? near(f, ea + B - 1, M / 2 + 2)  /* div: underflow region */
                            : near(f, ea + B - emax(f) + 1, 2); /* div: overflow */
    }
}

static void run_fmt(const Fmt *f, int nrand) {
    int dbl = f->ebits == 11;
    u64 m = mask(f), sp[NSPEC];
    specials(f, sp);
    const char *bn[] = {"add", "sub", "mul", "div"};
    Bin bf[] = {dbl ? add_d : add_s, dbl ? sub_d : sub_s, dbl ? mul_d : mul_s,
                dbl ? div_d : div_s};
    const char *tn[] = {"fmadd", "fmsub", "fnmsub", "fnmadd"};
    Ter tf[] = {dbl ? fmadd_d : fmadd_s, dbl ? fmsub_d : fmsub_s, dbl ? fnmsub_d : fnmsub_s,
                dbl ? fnmadd_d : fnmadd_s};
    const char *cn[] = {"w", "wu", "l", "lu"};
    Un fi[] = {dbl ? cvtw_d : cvtw_s, dbl ? cvtwu_d : cvtwu_s, dbl ? cvtl_d : cvtl_s,
               dbl ? cvtlu_d : cvtlu_s};
    Un iff[] = {dbl ? cvt_w_d : cvt_w_s, dbl ? cvt_wu_d : cvt_wu_s, dbl ? cvt_l_d : cvt_l_s,
                dbl ? cvt_lu_d : cvt_lu_s};
    unsigned fl;
    for (unsigned rm = 0; rm < 5; rm++) {
        set_rm(rm);
        for (int o = 0; o < 4; o++) {
            for (int i = 0; i < NSPEC; i++)
                for (int j = 0; j < NSPEC; j++) {
                    u64 r = bf[o](sp[i], sp[j], &fl);
                    out(bn[o], f->sfx, rm, sp[i], sp[j], 0, r, fl, m);
                }
            for (int k = 0; k < nrand; k++) {
                u64 a = rval(f), b = partner(f, bn[o], a);
                if (rndn(2)) { u64 t = a; a = b; b = t; }
                u64 r = bf[o](a, b, &fl);
                out(bn[o], f->sfx, rm, a, b, 0, r, fl, m);
            }
        }
        for (int o = 0; o < 4; o++)
            for (int k = 0; k < nrand / 2; k++) {
                u64 a, b, c;
                if (k < NSPEC * NSPEC / 4) {
                    a = sp[rndn(NSPEC)]; b = sp[rndn(NSPEC)]; c = sp[rndn(NSPEC)];
                } else if (rndn(3) == 0) {
                    /* Short significands: exact results and exact cancellation. */
                    u64 top = ~0ull << (f->mbits - 1 - rndn(f->mbits / 2));
                    a = rval(f) & (top | ~0ull << f->mbits);
                    b = rval(f) & (top | ~0ull << f->mbits);
                    int ep = ef(f, a) + ef(f, b) - bias(f);
                    c = near(f, ep, 4) & (top << rndn(3) | ~0ull << f->mbits);
                } else {
                    a = rval(f);
                    b = rndn(3) ? rval(f) : partner(f, "mul", a);
                    int ep = ef(f, a) + ef(f, b) - bias(f);
                    c = rndn(4) ? near(f, ep, f->mbits + 3) : rval(f);
                }
                u64 r = tf[o](a, b, c, &fl);
                out(tn[o], f->sfx, rm, a, b, c, r, fl, m);
            }
        for (int k = 0; k < NSPEC + nrand / 4; k++) {
            u64 a = k < NSPEC ? sp[k] : rval(f);
            if (k >= NSPEC && rndn(2)) a &= ~(1ull << (f->ebits + f->mbits)); /* positive */
            u64 r = (dbl ? sqrt_d : sqrt_s)(a, &fl);
            out("sqrt", f->sfx, rm, a, 0, 0, r, fl, m);
        }
        for (int o = 0; o < 4; o++)
            for (int k = 0; k < NSPEC + nrand / 4; k++) {
                /* Values around integer boundaries: exponents of 2^-2 .. 2^66. */
                u64 a = k < NSPEC ? sp[k]
                        : rndn(4) ? near(f, bias(f) + 32, 34)
                                  : rval(f);
                u64 r = fi[o](a, &fl);
                out(cn[o], f->sfx, rm, a, 0, 0, r, fl, ~0ull);
            }
        for (int o = 0; o < 4; o++)
            for (int k = 0; k < NINT + nrand / 4; k++) {
                u64 a = k < NINT ? INTS[k] : rnd();
                if (k >= NINT) switch (rndn(4)) {
                case 0: a >>= rndn(64); break;
                case 1: a = (u64)((int64_t)a >> rndn(64)); break;
                case 2: a = (a >> rndn(64)) << rndn(64); break;
                default: break;
                }
                u64 r = iff[o](a, &fl);
                char nm[8];
                snprintf(nm, sizeof nm, "i%s", cn[o]);
                out(nm, f->sfx, rm, a, 0, 0, r, fl, m);
            }
        /* fcvt to the other format: sources centred on the destination's range limits. */
        for (int k = 0; k < NSPEC + nrand / 4; k++) {
            u64 a, r;
            if (dbl) {
                a = k < NSPEC ? sp[k] : rndn(3) ? near(f, 1023 - 126 + (rndn(2) ? 0 : 254), 30)
                                                 : rval(f);
                r = cvt_s_d(a, &fl);
                out("cvts", f->sfx, rm, a, 0, 0, r, fl, 0xffffffffull);
            } else {
                a = k < NSPEC ? sp[k] : rval(f);
                r = cvt_d_s(a, &fl);
                out("cvtd", f->sfx, rm, a, 0, 0, r, fl, ~0ull);
            }
        }
    }
    /* No rounding mode: comparisons, min/max, class. */
    const char *qn[] = {"min", "max", "eq", "lt", "le"};
    Bin qf[] = {dbl ? min_d : min_s, dbl ? max_d : max_s, dbl ? eq_d : eq_s,
                dbl ? lt_d : lt_s, dbl ? le_d : le_s};
    for (int o = 0; o < 5; o++) {
        for (int i = 0; i < NSPEC; i++)
            for (int j = 0; j < NSPEC; j++) {
                u64 r = qf[o](sp[i], sp[j], &fl);
                out(qn[o], f->sfx, 0, sp[i], sp[j], 0, r, fl, o < 2 ? m : ~0ull);
            }
        for (int k = 0; k < nrand; k++) {
            u64 a = rval(f), b = rndn(2) ? rval(f) : rndn(2) ? a : a ^ 1;
            u64 r = qf[o](a, b, &fl);
            out(qn[o], f->sfx, 0, a, b, 0, r, fl, o < 2 ? m : ~0ull);
        }
    }
    for (int k = 0; k < NSPEC + nrand / 4; k++) {
        u64 a = k < NSPEC ? sp[k] : rval(f);
        u64 r = (dbl ? class_d : class_s)(a, &fl);
        out("class", f->sfx, 0, a, 0, 0, r, fl, ~0ull);
    }
}

int main(int argc, char **argv) {
    int nrand = argc > 1 ? atoi(argv[1]) : 2000;
    if (argc > 2 && strtoull(argv[2], 0, 0) != 0) rng = strtoull(argv[2], 0, 0);
    run_fmt(&FS, nrand);
    run_fmt(&FD, nrand);
    return 0;
}
