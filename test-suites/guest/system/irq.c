/* Interrupts: the CLINT machine timer and software interrupt in M-mode (direct and vectored
 * mtvec), wfi waking on a pending-but-disabled interrupt, priorities, and the Sstc supervisor
 * timer delegated to S-mode. Output is counts and causes only (no timings). */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
static volatile int mti, msi, sti;

void trap_handler(u64 *f) {
    u64 cause = csrr(mcause);
    if (cause == (1UL << 63 | 7)) { mti++; *CLINT_MTIMECMP = ~0UL; return; }
    if (cause == (1UL << 63 | 3)) { msi++; *CLINT_MSIP = 0; return; }
    kv("unexpected M trap", cause);
    kv("mepc", csrr(mepc));
    exit_code(3);
}

void strap_handler(u64 *f) {
    u64 cause = csrr(scause);
    if (cause == (1UL << 63 | 5)) { sti++; csrw(stimecmp, ~0UL); return; }
    if (cause == 9 || cause == 8) { f[0] += 4; return; }
    kv("unexpected S trap", cause);
    exit_code(4);
}

extern char trap_entry[], strap_entry[];

/* vectored table: every entry jumps to trap_entry */
asm(".align 8\n.globl vec\nvec:\n.rept 16\nj trap_entry\n.endr\n");
extern char vec[];

static void smode(void);

int main(void) {
    puts("irq test\n");
    /* 1. timer interrupt taken while spinning */
    *CLINT_MTIMECMP = *CLINT_MTIME + 10000;
    csrs(mie, 1 << 7);
    csrs(mstatus, 1 << 3);
    while (!mti) {}
    kv("mti after spin", mti);
    /* 2. wfi with interrupts globally off: wakes, no trap taken */
    csrc(mstatus, 1 << 3);
    *CLINT_MTIMECMP = *CLINT_MTIME + 10000;
    asm volatile("wfi");
    kv("mip.MTIP after wfi", (csrr(mip) >> 7) & 1);
    kv("mti (still)", mti);
    csrs(mstatus, 1 << 3); /* now it is taken */
    kv("mti after enable", mti);
    /* 3. software interrupt through the vectored table */
    csrw(mtvec, (u64)vec | 1);
    csrs(mie, 1 << 3);
    *CLINT_MSIP = 1;
    while (!msi) {} /* taken at the next block boundary (QEMU: right after the store) */
    kv("msi", msi);
    /* 4. both pending at once: MSI before MTI */
    csrc(mstatus, 1 << 3);
    *CLINT_MSIP = 1;
    *CLINT_MTIMECMP = 0;
    kv("mip & 0x88", csrr(mip) & 0x88);
    csrs(mstatus, 1 << 3);
    kv("msi+mti", msi * 10 + mti);
    csrw(mtvec, trap_entry);
    csrc(mie, (1 << 3) | (1 << 7));
    /* 5. Sstc: S-mode timer delegated to S */
    csrw(pmpaddr0, ~0UL);
    csrw(pmpcfg0, 0x1f);
    csrw(menvcfg, 1UL << 63);
    csrw(mcounteren, 2);
    csrw(mideleg, 1 << 5);
    csrw(medeleg, 1 << 9);
    csrs(mie, 1 << 5);
    csrw(stvec, strap_entry);
    u64 s = csrr(mstatus);
    s = (s & ~(3UL << 11)) | (1UL << 11);
    csrw(mstatus, s);
    csrw(mepc, smode);
    asm volatile("mret");
    return 1;
}

static void smode(void) {
    puts("in S\n");
    u64 t = csrr(time);
    csrw(stimecmp, t + 20000);
    csrs(sstatus, 1 << 1);
    while (!sti) {}
    kv("sti", sti);
    csrc(sstatus, 1 << 1);
    csrw(stimecmp, csrr(time) + 5000);
    asm volatile("wfi");
    kv("sip.STIP after wfi", (csrr(sip) >> 5) & 1);
    csrs(sstatus, 1 << 1);
    kv("sti after enable", sti);
    exit_code(0);
}
