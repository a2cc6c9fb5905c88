/* Rarely emitted general-purpose instructions against native execution: xlatb, jrcxz,
 * loop, enter with a nesting level (and leave), rcl through CF. */
#include <stdio.h>
#include <stdint.h>
static uint8_t tab[256];
int main(void) {
  for (int i = 0; i < 256; i++) tab[i] = (uint8_t)(i * 7 + 3);
  uint64_t r1, r2, r3, r4, r5;
  __asm__ volatile(
    "lea %5, %%rbx\n\tmov $0x1234, %%eax\n\txlatb\n\tmovzx %%al, %0\n\t"
    "xor %%ecx, %%ecx\n\tmov $0, %1\n\tjrcxz 1f\n\tmov $1, %1\n1:\n\t"
    "mov $5, %%ecx\n\txor %%edx, %%edx\n2:\tadd $3, %%edx\n\tloop 2b\n\tmov %%rdx, %2\n\t"
    "push %%rbp\n\tmov %%rsp, %%rbp\n\tmov %%rsp, %%r8\n\tenter $32, $3\n\tmov %%rsp, %%r9\n\tleave\n\tpop %%rbp\n\tsub %%r9, %%r8\n\tmov %%r8, %3\n\t"
    "mov $0x80, %%eax\n\tmov $1, %%ecx\n\trcl $1, %%al\n\tsetc %%cl\n\tshl $8, %%rcx\n\tor %%rcx, %%rax\n\tmov %%rax, %4\n"
    : "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4), "=&r"(r5) : "m"(tab) : "rax","rbx","rcx","rdx","r8","r9","memory","cc");
  printf("%lx %lx %lx %lx %lx\n", r1, r2, r3, r4, r5);
  return 0;
}
