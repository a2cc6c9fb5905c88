/* printf of doubles in %f %e %g %a over many values, including specials and subnormals. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    static const double vals[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, 3.141592653589793,
                                  2.718281828459045, 1e-300, 1e300, 123456789.123456789,
                                  -9.87654321e-5, DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
                                  1.0 / 3.0, 2.0 / 3.0, 1e15 + 0.3, 0.000123, 65536.0};
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("%f|%.3f|%e|%.10e|%g|%.17g|%a|%10.4f|%-12.2e|\n", v, v, v, v, v, v, v, v, v);
    }
    printf("%f %f %f %e %g\n", INFINITY, -INFINITY, NAN, INFINITY, -NAN);
    /* a deterministic sweep over magnitudes and signs */
    double x = 1.0;
    for (int i = 0; i < 200; i++) {
        x = x * -1.37 + 0.001 * i;
        if (fabs(x) > 1e200) x = 1.0 / x;
        printf("%.6g %a\n", x, x);
    }
    float f = 1.0f / 7.0f;
    printf("%f %.9g %a\n", f, f, (double)f);
    char buf[64];
    snprintf(buf, sizeof buf, "%.20f", 0.1);
    printf("snprintf: %s (%zu)\n", buf, strlen(buf));
    double parsed;
    sscanf("6.02214076e23", "%lf", &parsed);
    printf("sscanf: %.17g\n", parsed);
    return 0;
}
