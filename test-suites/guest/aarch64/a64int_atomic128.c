/* 128-bit exclusives and compare-and-swap pairs (a64int_atomic128.rs compares with
 * qemu-aarch64): LDXP/STXP and LDAXP/STLXP of 64-bit pairs, CASP/CASPA/CASPL/CASPAL of 64-
 * and 32-bit pairs, single-threaded edge cases, then three threads updating shared 16-byte
 * counters (no update may be lost), then a misaligned LDXP (SIGBUS). With an argument: CASP on an
 * unmapped (`u`) or read-only (`r`) page (SIGSEGV). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ITERS 40000

static __attribute__((aligned(16))) uint64_t xp[2];   /* LDAXP/STLXP counter */
static __attribute__((aligned(16))) uint64_t cp[2];   /* CASPAL counter */
static __attribute__((aligned(8))) uint32_t cw[2];    /* 32-bit CASP counter */
static __attribute__((aligned(16))) uint64_t buf[4];

/* CASP x0:x1 (compare, receives old), x2:x3 (new) with each ordering variant. */
#define CASP64(insn, p, e0, e1, n0, n1)                                                   \
  do {                                                                                    \
    register uint64_t r0 __asm__("x0") = (e0), r1 __asm__("x1") = (e1);                   \
    register uint64_t r2 __asm__("x2") = (n0), r3 __asm__("x3") = (n1);                   \
    __asm__ volatile(insn " x0, x1, x2, x3, [%4]"                                         \
                     : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(p) : "memory");          \
    (e0) = r0; (e1) = r1;                                                                 \
  } while (0)

static void *work(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < ITERS; i++) {
    uint64_t a, b;
    uint32_t st;
    do {
      __asm__ volatile("ldaxp %0, %1, [%3]\n add %0, %0, #1\n sub %1, %1, #3\n stlxp %w2, %0, %1, [%3]"
                       : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(xp) : "memory");
    } while (st);
    for (;;) {
      uint64_t e0 = cp[0], e1 = cp[1], o0 = e0, o1 = e1;
      CASP64("caspal", cp, o0, o1, e0 + 1, e1 + id);
      if (o0 == e0 && o1 == e1) break;
    }
    for (;;) {
      uint32_t e0 = cw[0], e1 = cw[1];
      register uint32_t r0 __asm__("w4") = e0, r1 __asm__("w5") = e1;
      register uint32_t r2 __asm__("w6") = e0 + 2, r3 __asm__("w7") = e1 - 1;
      __asm__ volatile("casp w4, w5, w6, w7, [%4]" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(cw) : "memory");
      if (r0 == e0 && r1 == e1) break;
    }
  }
  return 0;
}

static void on_bus(int sig) {
  printf("signal %d\n", sig);
  fflush(stdout);
  _exit(3);
}

static const uint64_t ro[2] __attribute__((aligned(16))) = {1, 2};

int main(int argc, char **argv) {
  if (argc > 1) {
    /* CASP on an unmapped page, or on a read-only one: SIGSEGV, memory untouched. */
    signal(SIGSEGV, on_bus);
    uint64_t *p = argv[1][0] == 'u' ? (uint64_t *)0x10 : (uint64_t *)ro;
    uint64_t e0 = 1, e1 = 2;
    CASP64("casp", p, e0, e1, 3, 4);
    printf("no fault %llx %llx\n", (unsigned long long)e0, (unsigned long long)e1);
    return 0;
  }
  /* Single-threaded: CASP success, failure (memory unchanged, old value returned). */
  buf[0] = 0x1111222233334444ull; buf[1] = 0x5555666677778888ull;
  uint64_t e0 = buf[0], e1 = buf[1];
  CASP64("casp", buf, e0, e1, 0xaaaa, 0xbbbb);
  printf("casp ok: old %016llx %016llx mem %llx %llx\n", (unsigned long long)e0, (unsigned long long)e1,
         (unsigned long long)buf[0], (unsigned long long)buf[1]);
  e0 = 0xaaaa; e1 = 0xbbbc;
  CASP64("caspa", buf, e0, e1, 1, 2);
  printf("casp hi-miss: old %llx %llx mem %llx %llx\n", (unsigned long long)e0, (unsigned long long)e1,
         (unsigned long long)buf[0], (unsigned long long)buf[1]);
  e0 = 0xaaab; e1 = 0xbbbb;
  CASP64("caspl", buf, e0, e1, 1, 2);
  printf("casp lo-miss: old %llx %llx mem %llx %llx\n", (unsigned long long)e0, (unsigned long long)e1,
         (unsigned long long)buf[0], (unsigned long long)buf[1]);

  /* STXP without a reservation fails; after LDXP it succeeds; a second STXP fails again. */
  uint64_t a = 0, b = 0;
  uint32_t st;
  __asm__ volatile("clrex\n stxp %w0, %1, %2, [%3]" : "=&r"(st) : "r"(7ull), "r"(8ull), "r"(buf + 2) : "memory");
  printf("stxp no reservation: %u mem %llx %llx\n", st, (unsigned long long)buf[2], (unsigned long long)buf[3]);
  __asm__ volatile("ldxp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(buf) : "memory");
  __asm__ volatile("stxp %w0, %1, %2, [%3]" : "=&r"(st) : "r"(a + 10), "r"(b + 20), "r"(buf) : "memory");
  printf("ldxp %llx %llx; stxp %u mem %llx %llx\n", (unsigned long long)a, (unsigned long long)b, st,
         (unsigned long long)buf[0], (unsigned long long)buf[1]);
  __asm__ volatile("stxp %w0, %1, %2, [%3]" : "=&r"(st) : "r"(1ull), "r"(1ull), "r"(buf) : "memory");
  printf("second stxp %u mem %llx %llx\n", st, (unsigned long long)buf[0], (unsigned long long)buf[1]);

  /* Threads. */
  xp[0] = 5; xp[1] = 1000000; cp[0] = 0; cp[1] = 1ull << 63; cw[0] = 1; cw[1] = 0;
  pthread_t t[3];
  for (long i = 0; i < 3; i++) pthread_create(&t[i], 0, work, (void *)(i + 1));
  for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
  printf("xp %llu %lld\n", (unsigned long long)xp[0], (long long)xp[1]);
  printf("cp %llu %llx\n", (unsigned long long)cp[0], (unsigned long long)cp[1]);
  printf("cw %u %d\n", cw[0], (int)cw[1]);

  /* A 64-bit pair at an 8-byte (not 16-byte) boundary: alignment fault. */
  signal(SIGBUS, on_bus);
  signal(SIGSEGV, on_bus);
  __asm__ volatile("ldxp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(buf + 1) : "memory");
  printf("no fault\n");
  return 0;
}
