/* Prints fp_ops (fp_insns.S) over a grid of special doubles, in every rounding mode for
 * the dynamic-rounding (dyn) instructions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NOPS 29
void fp_ops(double a, double b, uint64_t *out);

static double bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

int main(void) {
    static const char *names[NOPS] = {"fadd.d", "fsub.d", "fmul.d", "fdiv.d", "fsqrt.d", "fmin.d", "fmax.d", "fsgnj.d", "fsgnjn.d", "fsgnjx.d", "fmadd.d", "fnmsub.d", "fclass.d", "feq.d", "flt.d", "fle.d", "fcvt.s.d", "fcvt.d.s", "fcvt.w.d.rne", "fcvt.l.d.rdn", "fcvt.lu.d.rup", "fcvt.wu.d.rmm", "fcvt.l.d.dyn", "fadd.s", "fdiv.s", "fmin.s", "fclass.s", "fcvt.d.l", "fmv.w.x"};
    const double v[] = {0.0, -0.0, 1.0, -1.0, 1.5, 2.5, -2.5, 3.0, 0.1, 1e308, -1e308, 4294967296.5,
                        -9.3e18, bits(1), bits(0x7ff0000000000000ull), bits(0xfff0000000000000ull),
                        bits(0x7ff8000000000000ull), bits(0x7ff0000000000001ull), 3.4028235677973366e38,
                        1.401298464324817e-45};
    const unsigned n = sizeof v / sizeof v[0];
    uint64_t out[2 * NOPS];
    for (unsigned rm = 0; rm < 5; rm++) {
        __asm__ volatile("csrw frm, %0" :: "r"(rm));
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < n; j += (rm == 0 ? 1 : 3)) {
                fp_ops(v[i], v[j], out);
                printf("rm=%u a=%a b=%a\n", rm, v[i], v[j]);
                for (unsigned k = 0; k < NOPS; k++)
                    printf("  %s=%016llx/%02llx\n", names[k], (unsigned long long)out[2 * k], (unsigned long long)out[2 * k + 1]);
            }
    }
    return 0;
}
