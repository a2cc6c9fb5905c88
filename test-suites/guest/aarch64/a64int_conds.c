/* Conditions read straight after a compare (a64int_conds.rs compares with qemu-aarch64): for
 * edge-value pairs, 64- and 32-bit CMP (register, immediate, #0), CMN and SUBS/ADDS followed by
 * CSET, B.cond and CSEL on every condition, and a CCMP chain. Prints one line per pair. */
#include <stdint.h>
#include <stdio.h>

#define CONDS(X) X(eq) X(ne) X(cs) X(cc) X(mi) X(pl) X(vs) X(vc) X(hi) X(ls) X(ge) X(lt) X(gt) X(le)

#define CSET64(c) { uint64_t r; __asm__ volatile("cmp %1, %2\n cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CSET32(c) { uint64_t r; __asm__ volatile("cmp %w1, %w2\n cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CSETZ64(c) { uint64_t r; __asm__ volatile("cmp %1, #0\n cset %0, " #c : "=r"(r) : "r"(a) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CSETZ32(c) { uint64_t r; __asm__ volatile("cmp %w1, #0\n cset %0, " #c : "=r"(r) : "r"(a) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CSETI32(c) { uint64_t r; __asm__ volatile("cmp %w1, #5\n cset %0, " #c : "=r"(r) : "r"(a) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CMN64(c) { uint64_t r; __asm__ volatile("cmn %1, %2\n cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define SUBS32(c) { uint64_t r, d; __asm__ volatile("subs %w1, %w2, %w3\n cset %0, " #c : "=r"(r), "=&r"(d) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; m ^= d; }
#define BCOND64(c) { uint64_t r; __asm__ volatile("mov %0, #0\n cmp %1, %2\n b." #c " 1f\n mov %0, #1\n1:" : "=&r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define BCOND32(c) { uint64_t r; __asm__ volatile("mov %0, #0\n cmp %w1, %w2\n b." #c " 1f\n mov %0, #1\n1:" : "=&r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define CSEL64(c) { uint64_t r; __asm__ volatile("cmp %1, %2\n csel %0, %1, %2, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = m * 31 + r; }
#define CCMP(c) { uint64_t r; __asm__ volatile("cmp %1, %2\n ccmp %w1, %w2, #5, " #c "\n cset %0, gt" : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }

int main(void) {
  static const uint64_t v[] = {0, 1, 2, 5, 0x7f, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                               0x7fffffffffffffffull, 0x8000000000000000ull, 0xfffffffffffffffeull,
                               0xffffffffffffffffull, 0x80000000fffffffbull, 0x123456789abcdefull};
  const int n = sizeof v / sizeof v[0];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      uint64_t a = v[i], b = v[j], m = 0;
      CONDS(CSET64) CONDS(CSET32) CONDS(CSETZ64) CONDS(CSETZ32) CONDS(CSETI32) CONDS(CMN64)
      CONDS(SUBS32) CONDS(BCOND64) CONDS(BCOND32) CONDS(CSEL64) CONDS(CCMP)
      printf("%d %d %016llx\n", i, j, (unsigned long long)m);
    }
  return 0;
}
