/* Self-modifying code: write instructions into an mmap'd buffer, fence.i, call them; rewrite
 * the same bytes and call again (a translator must notice). Once RWX, once W-then-X. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* addi a0, zero, imm ; ret */
static void emit_ret_imm(uint32_t *p, int imm) {
    p[0] = ((uint32_t)(imm & 0xfff) << 20) | (10u << 7) | 0x13u;
    p[1] = 0x00008067u;
}
/* a loop: a0 = a0 * k + 1 done a1 times, then ret (several basic blocks) */
static void emit_loop(uint32_t *p, int k) {
    p[0] = ((uint32_t)(k & 0xfff) << 20) | (5u << 7) | 0x13u; /* addi t0, zero, k */
    p[1] = 0x02550533u;                                       /* mul a0, a0, t0 */
    p[2] = 0x00150513u;                                       /* addi a0, a0, 1 */
    p[3] = 0xfff58593u;                                       /* addi a1, a1, -1 */
    p[4] = 0xfe059ae3u;                                       /* bnez a1, -12 */
    p[5] = 0x00008067u;                                       /* ret */
}
typedef long (*fn0)(void);
typedef long (*fn2)(long, long);

int main(void) {
    uint32_t *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) { puts("mmap rwx failed"); return 1; }
    for (int round = 0; round < 5; round++) {
        emit_ret_imm(rwx, 100 + round);
        __asm__ volatile("fence.i" ::: "memory");
        long r = ((fn0)(void *)rwx)();
        printf("rwx round %d: %ld\n", round, r);
    }
    for (int k = 2; k < 5; k++) {
        emit_loop(rwx + 16, k);
        __asm__ volatile("fence.i" ::: "memory");
        printf("loop k=%d: %ld\n", k, ((fn2)(void *)(rwx + 16))(1, 10));
    }
    uint32_t *wx = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (wx == MAP_FAILED) { puts("mmap rw failed"); return 1; }
    for (int round = 0; round < 3; round++) {
        if (mprotect(wx, 8192, PROT_READ | PROT_WRITE)) { puts("mprotect rw failed"); return 1; }
        emit_ret_imm(wx + 1024, -7 * round);
        if (mprotect(wx, 8192, PROT_READ | PROT_EXEC)) { puts("mprotect rx failed"); return 1; }
        __asm__ volatile("fence.i" ::: "memory");
        printf("w^x round %d: %ld\n", round, ((fn0)(void *)(wx + 1024))());
    }
    munmap(rwx, 4096);
    munmap(wx, 8192);
    return 0;
}
