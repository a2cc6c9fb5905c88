/* Floating point under xlat vs natively: libm functions and printf of doubles (long double is
 * in longdouble.c). */
#include <math.h>
#include <stdio.h>

int main(void) {
    double x = 0.5;
    for (int i = 0; i < 12; i++) {
        printf("%.17g %.17g %.17g %.17g %.17g %.17g\n", sin(x), exp(x), pow(x, 1.7), fma(x, 3.0, 0.1),
               lgamma(x + 1), atan2(x, 3.0));
        x = x * 1.9 + 0.3;
    }
    printf("%e %g %a %.3f %f\n", 1e-300, 123456789.0, 0.1, -2.5e-7, 1e22);
    printf("%g %g %g\n", sqrt(2.0), cbrt(-27.0), log1p(1e-10));
    return 0;
}
