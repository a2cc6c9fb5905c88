/* __int128 arithmetic: mul, div, mod, shifts, comparisons and decimal printing. */
#include <stdio.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

static void put_u128(u128 v) {
    char buf[48]; int n = 0;
    do { buf[n++] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
    while (n) putchar(buf[--n]);
}
static void put_i128(i128 v) {
    if (v < 0) { putchar('-'); put_u128(-(u128)v); } else put_u128((u128)v);
}

int main(void) {
    u128 x = 0x0123456789abcdefull;
    x = (x << 64) | 0xfedcba9876543210ull;
    u128 vals[] = {0, 1, 2, 3, 10, 0xffffffffffffffffull, (u128)1 << 64, ((u128)1 << 127) - 1,
                   ~(u128)0, x, x * 3, x >> 7};
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        for (unsigned j = 0; j < sizeof vals / sizeof vals[0]; j++) {
            u128 a = vals[i], b = vals[j];
            put_u128(a * b); putchar(' ');
            if (b) { put_u128(a / b); putchar(' '); put_u128(a % b); putchar(' '); }
            i128 sa = (i128)a, sb = (i128)b;
            if (sb && !(sa == (i128)((u128)1 << 127) && sb == -1)) {
                put_i128(sa / sb); putchar(' '); put_i128(sa % sb); putchar(' ');
            }
            printf("%d %d\n", a < b, sa < sb);
        }
    }
    for (int s = 0; s < 128; s += 9) {
        put_u128(x << s); putchar(' '); put_u128(x >> s); putchar(' ');
        put_i128((i128)x >> s); putchar(' '); put_i128((i128)~x >> s); putchar('\n');
    }
    u128 f = 1;
    for (int i = 1; i <= 34; i++) { f *= (u128)i; put_u128(f); putchar('\n'); }
    return 0;
}
