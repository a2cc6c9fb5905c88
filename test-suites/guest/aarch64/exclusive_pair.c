/* LDAXP/STLXP of a 32-bit pair from three threads (aarch64_user.rs compares with qemu-aarch64). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
static __attribute__((aligned(8))) uint32_t pair32[2];
static void *work(void *arg) {
  for (int i = 0; i < 100000; i++) {
    uint32_t a, b, st;
    do {
      __asm__ volatile("ldaxp %w0, %w1, [%3]\n add %w0, %w0, #1\n sub %w1, %w1, #2\n stlxp %w2, %w0, %w1, [%3]"
                       : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(pair32) : "memory");
    } while (st);
  }
  return arg;
}
int main(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
  printf("%u %u\n", pair32[0], pair32[1]);
  return 0;
}
