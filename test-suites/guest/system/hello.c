/* First light: UART output, arithmetic, memory, CSR ids, ecall and illegal-instruction traps
 * into an M-mode handler, and the finisher. */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
static volatile u64 traps;

void trap_handler(u64 *f) {
    u64 cause = csrr(mcause), tval = csrr(mtval);
    puts("trap: mcause="); puthex(cause); puts(" mtval="); puthex(tval); puts("\n");
    traps++;
    f[0] += ((*(unsigned short *)f[0]) & 3) == 3 ? 4 : 2; /* skip the instruction */
}
void strap_handler(u64 *f) { (void)f; }

static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
    puts("hello from bare metal\n");
    kv("misa (without H)", csrr(misa) & ~0x80UL);
    kv("mhartid", csrr(mhartid));
    kv("mstatus", csrr(mstatus));
    puts("fib(20)="); putdec(fib(20)); puts("\n");
    static u64 buf[64];
    for (int i = 0; i < 64; i++) buf[i] = (u64)i * 0x0101010101010101UL;
    u64 s = 0;
    for (int i = 0; i < 64; i++) s ^= buf[i] * (i + 1);
    kv("sum", s);
    u8 *b = (u8 *)buf;
    kv("unaligned", *(volatile u32 *)(b + 3) + *(volatile u64 *)(b + 13));
    asm volatile("ecall");
    asm volatile(".word 0xffffffff");
    asm volatile("csrw mscratch, %0" :: "r"(0x1234UL));
    kv("mscratch", csrr(mscratch));
    csrw(mtvec, 0x80000101UL); /* vectored mode bit: reads back as written */
    kv("mtvec", csrr(mtvec));
    extern char trap_entry[];
    csrw(mtvec, trap_entry);
    asm volatile("csrr t0, 0x7c0"); /* a custom CSR that does not exist */
    kv("traps", traps);
    puts("bye\n");
    return 0;
}
