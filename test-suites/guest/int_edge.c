/* Integer edge cases through inline asm (in C they are UB): division by zero, INT_MIN/-1,
 * the W forms' sign extension, mulh*, and shift amounts that use only the low bits. */
#include <limits.h>
#include <stdio.h>

#define RR(op, a, b) ({ long r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b)); r_; })

int main(void) {
    static const long v[] = {0, 1, -1, 2, -2, 7, -7, LONG_MIN, LONG_MAX, INT_MIN, INT_MAX,
                             (long)0x80000000ul, (long)0xffffffffl, 0x123456789abcdefl, 63, 64, 65};
    unsigned n = sizeof v / sizeof v[0];
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < n; j++) {
            long a = v[i], b = v[j];
            printf("%lx %lx: div=%lx divu=%lx rem=%lx remu=%lx divw=%lx divuw=%lx remw=%lx remuw=%lx\n",
                   a, b, RR("div", a, b), RR("divu", a, b), RR("rem", a, b), RR("remu", a, b),
                   RR("divw", a, b), RR("divuw", a, b), RR("remw", a, b), RR("remuw", a, b));
            printf("  mul=%lx mulh=%lx mulhu=%lx mulhsu=%lx mulw=%lx sll=%lx srl=%lx sra=%lx\n",
                   RR("mul", a, b), RR("mulh", a, b), RR("mulhu", a, b), RR("mulhsu", a, b),
                   RR("mulw", a, b), RR("sll", a, b), RR("srl", a, b), RR("sra", a, b));
            printf("  sllw=%lx srlw=%lx sraw=%lx addw=%lx subw=%lx slt=%lx sltu=%lx\n",
                   RR("sllw", a, b), RR("srlw", a, b), RR("sraw", a, b), RR("addw", a, b),
                   RR("subw", a, b), RR("slt", a, b), RR("sltu", a, b));
        }
    }
    /* C-level conversions the compiler lowers to fcvt: saturation of out-of-range values */
    static const double d[] = {1e20, -1e20, 2147483648.0, -2147483649.0, -0.5, 4294967296.0, 1.0 / 0.0};
    for (unsigned i = 0; i < sizeof d / sizeof d[0]; i++) {
        long l; unsigned long ul; int w; unsigned uw;
        __asm__ volatile("fcvt.l.d %0, %1, rtz" : "=r"(l) : "f"(d[i]));
        __asm__ volatile("fcvt.lu.d %0, %1, rtz" : "=r"(ul) : "f"(d[i]));
        __asm__ volatile("fcvt.w.d %0, %1, rtz" : "=r"(w) : "f"(d[i]));
        __asm__ volatile("fcvt.wu.d %0, %1, rtz" : "=r"(uw) : "f"(d[i]));
        printf("fcvt %g: l=%lx lu=%lx w=%x wu=%x\n", d[i], l, ul, w, uw);
    }
    return 0;
}
