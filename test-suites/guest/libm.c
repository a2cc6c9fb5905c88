/* libm over a sweep of arguments: the results' exact bits are printed (%a). */
#include <fenv.h>
#include <math.h>
#include <stdio.h>

int main(void) {
    static const double xs[] = {0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 3.0, 0.1, 1e-10, 1e10, 100.5,
                                -2.5, 3.141592653589793, 710.0, -745.0, 1e-310, INFINITY, NAN};
    unsigned n = sizeof xs / sizeof xs[0];
    for (unsigned i = 0; i < n; i++) {
        double x = xs[i];
        printf("x=%a sin=%a cos=%a tan=%a exp=%a log=%a sqrt=%a\n", x, sin(x), cos(x), tan(x),
               exp(x), log(x), sqrt(x));
        printf("  atan=%a sinh=%a tanh=%a cbrt=%a log2=%a log10=%a expm1=%a log1p=%a\n", atan(x),
               sinh(x), tanh(x), cbrt(x), log2(x), log10(x), expm1(x), log1p(x));
        printf("  floor=%a ceil=%a round=%a trunc=%a rint=%a lround=%ld llrint=%lld\n", floor(x),
               ceil(x), round(x), trunc(x), rint(x), isfinite(x) && fabs(x) < 1e15 ? lround(x) : 0,
               isfinite(x) && fabs(x) < 1e15 ? llrint(x) : 0);
        for (unsigned j = 0; j < n; j += 3) {
            double y = xs[j];
            printf("  y=%a pow=%a atan2=%a fmod=%a hypot=%a fma=%a fmin=%a fmax=%a rem=%a\n", y,
                   pow(x, y), atan2(x, y), fmod(x, y), hypot(x, y), fma(x, y, 0.3), fmin(x, y),
                   fmax(x, y), remainder(x, y));
        }
    }
    float f = 0.7f;
    printf("float: sinf=%a expf=%a sqrtf=%a fmaf=%a\n", sinf(f), expf(f), sqrtf(f), fmaf(f, f, f));
    int e;
    double m = frexp(1234.5678, &e);
    printf("frexp=%a %d ldexp=%a modf:", m, e, ldexp(m, e));
    double ip, fp = modf(-12.375, &ip);
    printf(" %a %a\n", ip, fp);
    const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (int i = 0; i < 4; i++) {
        fesetround(modes[i]);
        volatile double a = 1.0, b = 3.0;
        printf("round mode %d: 1/3=%a rint(2.5)=%a nearbyint(-2.5)=%a\n", i, a / b, rint(2.5),
               nearbyint(-2.5));
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double z = 0.0;
    volatile double q = 1.0 / z;
    printf("1/0=%a divbyzero=%d inexact=%d\n", q, !!fetestexcept(FE_DIVBYZERO), !!fetestexcept(FE_INEXACT));
    return 0;
}
