/* 80-bit long double under xlat vs natively: arithmetic in every rounding mode and precision
 * the C library reaches, conversions, printf/strtold of long doubles, and the libm functions
 * glibc implements with exact x87 instructions (fmodl/remainderl via fprem/fprem1, sqrtl,
 * rintl/nearbyintl/floorl/ceill/truncl via frndint, ldexpl/scalbnl via fscale, frexpl/logbl
 * via fxtract), next to the double ones (sin, exp, pow, fma, lgamma). The transcendental
 * long double functions (expl, logl, sinl...) are left out: xlat computes f2xm1/fyl2x/fsin...
 * in double precision. */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long double vx[] = {0.1L, 1.0L / 3.0L, 2.5L, -7.125L, 1e-4000L, 1.5e4000L,
                                    123456789.987654321L, -0.0L, 3.0L, 1e-20L};

int main(void) {
    const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
    const int n = sizeof vx / sizeof vx[0];
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        for (int i = 0; i < n; i++) {
            long double a = vx[i], b = vx[(i + 3) % n];
            printf("%d %d %La %La %La %La %La\n", m, i, a + b, a - b, a * b, b != 0 ? a / b : 0.0L,
                   sqrtl(fabsl(a)));
            printf("  %La %La %La %lld %.17g %a\n", rintl(a * 7.3L), nearbyintl(b * 1.7L), floorl(a),
                   llrintl(b * 1000.0L), (double)(a * b), (float)(a / 3.0L));
        }
    }
    fesetround(FE_TONEAREST);
    for (int i = 0; i < n; i++) {
        long double a = vx[i], b = vx[(i + 1) % n];
        int e;
        long double f = frexpl(a, &e);
        printf("%.25Lg %.21Le %Lf %La %d %La %La\n", a, a * 1.1L, b, f, e, ldexpl(a, 37),
               scalbnl(b, -20));
        if (b != 0 && isfinite(a) && isfinite(b))
            printf("  %La %La %La %La\n", fmodl(a, b), remainderl(a, b), ceill(a), truncl(b));
        printf("  %La %g\n", logbl(a), (double)logbl(b));
    }
    const char *s[] = {"3.14159265358979323846264338327950288", "1e-4940", "-2.5e+4931",
                       "0x1.fffffffffffffffep+16383", "12345678901234567890", "nan", "-inf"};
    for (int i = 0; i < 7; i++) {
        long double v = strtold(s[i], NULL);
        printf("%s -> %La %.30Lg %.10Lf\n", s[i], v, v, v);
    }
    /* Integers through the x87. */
    long long big = 9007199254740993LL;
    long double lb = big;
    printf("%La %lld %llu\n", lb, (long long)(lb * 3), (unsigned long long)(lb * 1000.0L));
    /* The double functions (SSE2 code in glibc). */
    double x = 0.5;
    for (int i = 0; i < 8; i++) {
        printf("%.17g %.17g %.17g %.17g %.17g\n", sin(x), exp(x), pow(x, 1.7), fma(x, 3.0, 0.1),
               lgamma(x + 1));
        x = x * 1.9 + 0.3;
    }
    return 0;
}
