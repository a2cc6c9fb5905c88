/* Prints bm_ops (bitmanip.S) over a grid of operands. */
#include <stdio.h>

void bm_ops(unsigned long x, unsigned long y, unsigned long *out);

int main(void) {
    static const char *names[] = {"sh1add", "sh2add", "sh3add", "add.uw", "sh1add.uw",
        "sh2add.uw", "sh3add.uw", "slli.uw", "andn", "orn", "xnor", "clz", "clzw", "ctz", "ctzw",
        "cpop", "cpopw", "max", "maxu", "min", "minu", "sext.b", "sext.h", "zext.h", "rol", "ror",
        "rolw", "rorw", "rori", "roriw", "orc.b", "rev8", "bclr", "bext", "binv", "bset", "bclri",
        "bexti", "binvi", "bseti"};
    static const unsigned long v[] = {0, 1, 0x80, 0xff00, 0x80000000ul, 0xffffffffffffffffull,
        0x8000000000000000ull, 0x0123456789abcdefull, 0xfedcba9876543210ull, 31, 32, 63, 64, 0x00ff00ff00ff0000ull};
    unsigned long out[40];
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
        for (unsigned j = 0; j < sizeof v / sizeof v[0]; j++) {
            bm_ops(v[i], v[j], out);
            printf("x=%lx y=%lx", v[i], v[j]);
            for (unsigned k = 0; k < 40; k++) printf(" %s=%lx", names[k], out[k]);
            printf("\n");
        }
    return 0;
}
