/* Tiny runtime for bare-metal tests on riscv64 virt: UART output, finisher exit, CSR access. */
#ifndef RT_H
#define RT_H
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define UART ((volatile u8 *)0x10000000UL)
#define FINISHER ((volatile u32 *)0x100000UL)
#define CLINT_MTIMECMP ((volatile u64 *)0x2004000UL)
#define CLINT_MTIME ((volatile u64 *)0x200bff8UL)
#define CLINT_MSIP ((volatile u32 *)0x2000000UL)

#define csrr(csr) ({ u64 __v; asm volatile("csrr %0, " #csr : "=r"(__v)); __v; })
#define csrw(csr, v) asm volatile("csrw " #csr ", %0" :: "r"((u64)(v)) : "memory")
#define csrs(csr, v) asm volatile("csrs " #csr ", %0" :: "r"((u64)(v)) : "memory")
#define csrc(csr, v) asm volatile("csrc " #csr ", %0" :: "r"((u64)(v)) : "memory")

static inline void putc(char c) {
    while (!(UART[5] & 0x20)) {}
    UART[0] = c;
}
static inline void puts(const char *s) { while (*s) putc(*s++); }
static inline void puthex(u64 v) {
    puts("0x");
    for (int i = 60; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 15]);
}
static inline void putdec(u64 v) {
    char b[24]; int n = 0;
    do { b[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) putc(b[--n]);
}
static inline void kv(const char *k, u64 v) { puts(k); puts("="); puthex(v); puts("\n"); }
__attribute__((noreturn)) static inline void exit_code(int c) {
    *FINISHER = c ? ((u32)c << 16) | 0x3333 : 0x5555;
    for (;;) {}
}
void exit_ok(void);
/* Frame layout of the trap entry: frame[0] = epc, frame[r] = x r (frame[2] = sp). */
#endif
