/* Code written at run time: a function rewritten in place many times (each version returns a
 * different constant and is called right after __builtin___clear_cache, i.e. DC CVAU / IC IVAU
 * / DSB / ISB), run in a loop so the old translation is hot, and a block of generated
 * functions. The printed values must match qemu-aarch64's. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

typedef uint32_t (*fn)(uint32_t);

static void emit(uint32_t *p, uint32_t k, int add) {
    /* movz w1, #k; add/sub w0, w0, w1; ret */
    p[0] = 0x52800001 | (k & 0xffff) << 5;
    p[1] = add ? 0x0b010000 : 0x4b010000;
    p[2] = 0xd65f03c0;
    __builtin___clear_cache((char *)p, (char *)(p + 3));
}

int main(void) {
    uint32_t *code = mmap(0, 65536, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return 1;
    uint32_t acc = 0;
    for (uint32_t i = 0; i < 300; i++) {
        emit(code, i * 7 + 1, i & 1);
        for (int j = 0; j < 20; j++) acc = ((fn)code)(acc) * 3;
        if (i % 50 == 0) printf("in place %u: %08x\n", i, acc);
    }
    for (uint32_t i = 0; i < 1024; i++) emit(code + 16 + 4 * i, i, i % 3 != 0);
    for (int r = 0; r < 3; r++)
        for (uint32_t i = 0; i < 1024; i++) acc = ((fn)(code + 16 + 4 * i))(acc) ^ (acc << 1);
    printf("block: %08x\n", acc);
    return 0;
}
