/* Conditions read straight after a compare (a64int_conds.rs compares with qemu-aarch64): for
 * edge-value pairs, 64- and 32-bit CMP (register, immediate, #0), CMN and SUBS/ADDS followed by
 * CSET, B.cond and CSEL on every condition, and a CCMP chain. Then the flags read in the next
 * block (after a `b`, where the lifter knows nothing of the writer: xlat's lazy NZCV words) by
 * CSET, ADC and MRS NZCV after CMP, CMN, TST, ADDS, CCMP (both outcomes), ADCS/SBCS, MSR NZCV
 * and FCMP/FCCMP (NaNs included). Prints one line per pair. */
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
/* The same flags read in the next block. */
#define XCMP64(c) { uint64_t r; __asm__ volatile("cmp %1, %2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XCMP32(c) { uint64_t r; __asm__ volatile("cmp %w1, %w2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XCMN64(c) { uint64_t r; __asm__ volatile("cmn %1, %2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XCMN32(c) { uint64_t r; __asm__ volatile("cmn %w1, %w2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XTST64(c) { uint64_t r; __asm__ volatile("tst %1, %2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XTST32(c) { uint64_t r; __asm__ volatile("bics wzr, %w1, %w2\n b 1f\n1: cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define XCCMP(c) { uint64_t r; __asm__ volatile("cmp %1, %2\n ccmn %w1, %w2, #0xc, " #c "\n b 1f\n1: cset %0, le\n csinc %0, %0, %0, vs" : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define TSTC(c) { uint64_t r; __asm__ volatile("tst %w1, %w2\n cset %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; }
#define FCMPX(c) { uint64_t r; __asm__ volatile("fmov d0, %1\n fmov d1, %2\n fcmp d0, d1\n cset %0, " #c "\n b 1f\n1: csinc %0, %0, %0, " #c : "=r"(r) : "r"(a), "r"(b) : "cc", "v0", "v1"); m = (m ^ r) * 0x100000001b3ull; }
#define FCCMPX(c) { uint64_t r; __asm__ volatile("fmov s0, %w1\n fmov s1, %w2\n cmp %1, %2\n fccmp s0, s1, #0xd, " #c "\n b 1f\n1: cset %0, mi\n csinc %0, %0, %0, hi" : "=r"(r) : "r"(a), "r"(b) : "cc", "v0", "v1"); m = (m ^ r) * 0x100000001b3ull; }
/* NZCV as MRS reads it, in the writer's block and in the next one. */
#define MRS(w) { uint64_t r, d; __asm__ volatile(w "\n mrs %0, nzcv\n b 1f\n1: mrs %1, nzcv\n adc %1, %1, %1" : "=&r"(r), "=&r"(d) : "r"(a), "r"(b) : "cc"); m = (m ^ r) * 0x100000001b3ull; m = (m ^ d) * 0x100000001b3ull; }
#define WRITERS(X) X("cmp %2, %3") X("cmp %w2, %w3") X("cmn %2, %3") X("cmn %w2, %w3") X("tst %2, %3") \
  X("ands %w1, %w2, %w3") X("adds %1, %2, %3") X("adds %w1, %w2, %w3") X("cmp %2, %3\n ccmp %2, %3, #0xb, hi") \
  X("cmp %2, %3\n ccmn %w2, %w3, #0x6, lt") X("cmp %3, %2\n adcs %1, %2, %3") X("cmp %w3, %w2\n sbcs %w1, %w2, %w3") \
  X("msr nzcv, %2") X("msr nzcv, %3") X("fmov d0, %2\n fcmp d0, #0.0")

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
      CONDS(XCMP64) CONDS(XCMP32) CONDS(XCMN64) CONDS(XCMN32) CONDS(XTST64) CONDS(XTST32)
      CONDS(XCCMP) CONDS(TSTC) CONDS(FCMPX) CONDS(FCCMPX)
      WRITERS(MRS)
      printf("%d %d %016llx\n", i, j, (unsigned long long)m);
    }
  return 0;
}
