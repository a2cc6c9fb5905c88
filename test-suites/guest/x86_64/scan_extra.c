/* Encodings the coverage scan (frontends/x86 lift::scan) found missing, against native
 * execution: 66 enter (word pushes, nesting levels 0..3), pushfw/popfw, maskmovdqu, mov
 * r/m,sreg and push fs/gs, ffreep, fstpnce, the reserved nops, pavgw, cvtpi2ps/cvtpi2pd
 * with a memory source, and rcpps/rsqrtps/rcpss/rsqrtss (their exact bits are the CPU's:
 * printed is whether each lane is within the SDM's 1.5 * 2^-12 and the special cases). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint16_t stk[128] __attribute__((aligned(512)));

static void enterw(void) {
  for (int lv = 0; lv < 4; lv++) {
    for (int i = 0; i < 128; i++) stk[i] = (uint16_t)(0x100 + i);
    uint64_t base = (uint64_t)&stk[120], rb = (uint64_t)&stk[60], rbp_out, rsp_out;
#define E(L)                                                                          \
  __asm__ volatile("mov %%rsp, %%r12\n\tmov %2, %%rsp\n\tmov %3, %%rbp\n\t"           \
                   ".byte 0x66, 0xc8, 0x10, 0x00, " #L "\n\tmov %%rbp, %0\n\t"        \
                   "mov %%rsp, %1\n\tmov %%r12, %%rsp"                               \
                   : "=&r"(rbp_out), "=&r"(rsp_out)                                   \
                   : "r"(base), "r"(rb)                                               \
                   : "r12", "rbp", "memory")
    switch (lv) {
    case 0: E(0); break;
    case 1: E(1); break;
    case 2: E(2); break;
    default: E(3); break;
    }
    printf("enterw %d: rbp-base %lld rsp-base %lld stack", lv, (long long)(rbp_out - base),
           (long long)(rsp_out - base));
    /* Pushed frame pointers are addresses: shown relative to the array. */
    uint16_t at = (uint16_t)(uintptr_t)stk;
    for (int i = 100; i < 120; i++)
      if (stk[i] >= 0x100 && stk[i] < 0x180) printf(" %x", stk[i]);
      else printf(" @%d", (int16_t)(stk[i] - at));
    printf("\n");
  }
}

static void flags16(void) {
  uint64_t a, b;
  __asm__ volatile("stc\n\tmov $-1, %%eax\n\tadd $1, %%eax\n\t.byte 0x66\n\tpushf\n\t"
                   "movzwq (%%rsp), %0\n\tmovw $0x08d4, (%%rsp)\n\t.byte 0x66\n\tpopf\n\t"
                   "pushfq\n\tpop %1"
                   : "=&r"(a), "=&r"(b) : : "rax", "cc");
  printf("pushfw %lx popfw %lx\n", a & 0x8d5, b & 0xcd5);
}

static void maskmov(void) {
  uint8_t buf[32];
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
  uint8_t src[16], mask[16];
  for (int i = 0; i < 16; i++) {
    src[i] = (uint8_t)(0xa0 + i);
    mask[i] = (uint8_t)((i * 37) & 0x80 ? 0x80 : 0x7f);
  }
  __asm__ volatile("movdqu %1, %%xmm1\n\tmovdqu %2, %%xmm2\n\tmaskmovdqu %%xmm2, %%xmm1"
                   : : "D"(buf + 5), "m"(src), "m"(mask) : "xmm1", "xmm2", "memory");
  printf("maskmovdqu");
  for (int i = 0; i < 32; i++) printf(" %02x", buf[i]);
  printf("\n");
}

static void sregs(void) {
  uint64_t r[8];
  uint64_t m = ~0ull;
  __asm__ volatile("mov $-1, %0\n\tmov %%cs, %0" : "=&r"(r[0]));
  __asm__ volatile("mov $-1, %0\n\tmov %%ss, %k0" : "=&r"(r[1]));
  __asm__ volatile("mov $-1, %0\n\t.byte 0x66\n\tmov %%ds, %k0" : "=&r"(r[2]));
  __asm__ volatile("mov $-1, %0\n\tmov %%fs, %0" : "=&r"(r[3]));
  __asm__ volatile("mov %%ss, %0" : "+m"(m));
  __asm__ volatile("movq $-1, -8(%%rsp)\n\tpush %%fs\n\tpop %0" : "=r"(r[4]) : : "memory");
  __asm__ volatile("movq $-1, -8(%%rsp)\n\tpush %%gs\n\tpop %0" : "=r"(r[5]) : : "memory");
  __asm__ volatile("movq $-1, -8(%%rsp)\n\tpushw %%fs\n\tpopw %w0" : "=r"(r[6]) : "0"(0x5555ull)
                   : "memory");
  printf("sregs %lx %lx %lx %lx %lx push %lx %lx %lx\n", r[0], r[1], r[2], r[3], m, r[4], r[5],
         r[6]);
}

static void x87(void) {
  uint8_t env[28];
  double d[2];
  __asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfldl2e\n\t.byte 0xdf, 0xc1\n\t" /* ffreep st(1) */
                   ".byte 0xd9, 0xd9\n\t"                                  /* fstpnce st(1) */
                   "fnstenv %0\n\tfstpl %1\n\tfstpl %2\n\tfninit"
                   : "=m"(env), "=m"(d[0]), "=m"(d[1]));
  printf("x87 sw %04x tw %04x %a %a\n", env[4] | env[5] << 8, env[8] | env[9] << 8, d[0], d[1]);
}

static void nops(void) {
  uint64_t x = 7;
  __asm__ volatile(".byte 0x0f, 0x1f, 0xc0\n\t"       /* nop eax */
                   ".byte 0x48, 0x0f, 0x1f, 0xc8\n\t" /* nop rax, rcx */
                   ".byte 0x0f, 0x18, 0xe0\n\t"       /* reserved nop 0F 18 /4 */
                   ".byte 0x0f, 0x19, 0x00\n\t"       /* nop [rax] (0F 19) */
                   ".byte 0x66, 0x0f, 0x1c, 0xc1\n\t" /* 0F 1C */
                   "add $1, %0"
                   : "+r"(x) : "a"(&x) : "cc");
  printf("nops %lu\n", x);
}

static void sse(void) {
  uint16_t a[8], b[8], r[8];
  for (int i = 0; i < 8; i++) {
    a[i] = (uint16_t)(0xfff0 + i * 3);
    b[i] = (uint16_t)(i * 0x2345);
  }
  __asm__ volatile("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tpavgw %%xmm1, %%xmm0\n\t"
                   "movdqu %%xmm0, %0"
                   : "=m"(r) : "m"(a), "m"(b) : "xmm0", "xmm1");
  printf("pavgw");
  for (int i = 0; i < 8; i++) printf(" %x", r[i]);
  printf("\n");
  int32_t v[2] = {16777217, -7};
  float f[4] = {9, 9, 9, 9};
  double g[2];
  __asm__ volatile("movups %1, %%xmm3\n\tcvtpi2ps %2, %%xmm3\n\tmovups %%xmm3, %0"
                   : "=m"(f) : "m"(f), "m"(*(uint64_t *)v) : "xmm3");
  __asm__ volatile("cvtpi2pd %1, %%xmm4\n\tmovupd %%xmm4, %0"
                   : "=m"(g) : "m"(*(uint64_t *)v) : "xmm4");
  printf("cvtpi2ps %a %a %a %a cvtpi2pd %a %a\n", f[0], f[1], f[2], f[3], g[0], g[1]);
}

static int close_to(float got, double want) {
  return fabs(((double)got - want) / want) <= 1.5 / 4096.0;
}

static void approx(void) {
  int bad = 0;
  for (float x = 1e-30f; x < 1e30f; x *= 1.7f) {
    float in[4] = {x, -x, x * 3.1f, x / 7.f}, rc[4], rs[4], r1[4], s1[4];
    __asm__ volatile("movups %4, %%xmm0\n\trcpps %%xmm0, %%xmm1\n\trsqrtps %%xmm0, %%xmm2\n\t"
                     "movups %%xmm1, %0\n\tmovups %%xmm2, %1\n\t"
                     "movaps %%xmm0, %%xmm3\n\trcpss %%xmm0, %%xmm3\n\tmovups %%xmm3, %2\n\t"
                     "movaps %%xmm0, %%xmm3\n\trsqrtss %%xmm0, %%xmm3\n\tmovups %%xmm3, %3"
                     : "=m"(rc), "=m"(rs), "=m"(r1), "=m"(s1) : "m"(in)
                     : "xmm0", "xmm1", "xmm2", "xmm3");
    for (int i = 0; i < 4; i++) {
      bad += !close_to(rc[i], 1.0 / in[i]);
      if (in[i] > 0) bad += !close_to(rs[i], 1.0 / sqrt(in[i]));
    }
    bad += !close_to(r1[0], 1.0 / in[0]) + !close_to(s1[0], 1.0 / sqrt(in[0]));
    bad += memcmp(&r1[1], &in[1], 12) != 0 || memcmp(&s1[1], &in[1], 12) != 0;
  }
  float sp[4] = {0.0f, -0.0f, INFINITY, -4.0f}, o1[4], o2[4];
  __asm__ volatile("movups %2, %%xmm0\n\trcpps %%xmm0, %%xmm1\n\trsqrtps %%xmm0, %%xmm2\n\t"
                   "movups %%xmm1, %0\n\tmovups %%xmm2, %1"
                   : "=m"(o1), "=m"(o2) : "m"(sp) : "xmm0", "xmm1", "xmm2");
  uint32_t u1[4], u2[4];
  memcpy(u1, o1, 16);
  memcpy(u2, o2, 16);
  printf("rcp/rsqrt out of bound: %d; rcp %x %x %x rsqrt %x %x %x %x\n", bad, u1[0], u1[1],
         u1[2], u2[0], u2[1], u2[2], u2[3]);
}

int main(int argc, char **argv) {
  void (*parts[])(void) = {enterw, flags16, maskmov, sregs, x87, nops, sse, approx};
  int only = argc > 1 ? argv[1][0] - '0' : -1;
  for (int i = 0; i < 8; i++) {
    if (only < 0 || only == i) parts[i]();
    fflush(stdout);
  }
  return 0;
}
