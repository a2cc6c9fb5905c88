/* M -> S -> U and back: mret/sret, ecall causes from each mode, delegation of exceptions to S,
 * sstatus as a view of mstatus, privileged instructions and CSRs that must trap below M. */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
static volatile int stage;
extern char strap_entry[];

static void report(const char *who, u64 cause, u64 tval, u64 epc_off) {
    puts(who); puts(": cause="); puthex(cause); puts(" tval="); puthex(tval);
    puts(" epc+"); putdec(epc_off); puts("\n");
}

static u64 base_pc;

void trap_handler(u64 *f) {
    u64 cause = csrr(mcause), tval = csrr(mtval);
    u64 mpp = (csrr(mstatus) >> 11) & 3;
    report("M", cause, cause == 2 && ((tval >> 12) & 7) ? tval : 0, 0);
    puts("  from priv "); putdec(mpp); puts("\n");
    f[0] += 4;
}

void strap_handler(u64 *f) {
    u64 cause = csrr(scause), tval = csrr(stval);
    u64 spp = (csrr(sstatus) >> 8) & 1;
    /* tval of an illegal mret/sret is not compared: QEMU leaves a stale value there */
    report("S", cause, cause == 2 && ((tval >> 12) & 7) ? tval : 0, 0);
    puts("  from priv "); putdec(spp); puts("\n");
    if (cause == 8 && f[17] == 1) { /* U is done: continue in S at s_done */
        extern void s_done(void);
        csrs(sstatus, 1UL << 8);
        f[0] = (u64)s_done;
        return;
    }
    f[0] += 4;
}

void s_done(void) {
    puts("back in S\n");
    kv("sstatus", csrr(sstatus));
    exit_code(0);
}

static void __attribute__((noinline)) umode(void) {
    asm volatile("ecall");                 /* delegated: S handles cause 8 */
    asm volatile("csrr t0, sstatus" ::: "t0"); /* illegal in U: delegated */
    asm volatile("sret");                  /* illegal in U */
    asm volatile("li a0, 7; ecall" ::: "a0");
    /* back to S via a final ecall with a7 = 1 */
    asm volatile("li a7, 1; ecall" ::: "a7");
}

void smode_main(void);
static u64 ustack[512];


int main(void) {
    puts("priv test\n");
    kv("mstatus", csrr(mstatus));
    csrw(stvec, strap_entry);
    csrw(medeleg, (1 << 8) | (1 << 2)); /* ecall from U, illegal instruction */
    kv("medeleg", csrr(medeleg));
    csrw(mideleg, 0xffff);
    kv("mideleg (S bits)", csrr(mideleg) & 0x222);
    /* PMP: let S and U reach everything (no entry would deny them all) */
    csrw(pmpaddr0, ~0UL);
    csrw(pmpcfg0, 0x1f);
    kv("pmpcfg0", csrr(pmpcfg0) & 0xff);
    /* enter S-mode at smode_main */
    u64 s = csrr(mstatus);
    s = (s & ~(3UL << 11)) | (1UL << 11);
    csrw(mstatus, s);
    csrw(mepc, smode_main);
    asm volatile("mret" ::: "memory");
    return 1;
}

void smode_main(void) {
    puts("in S\n");
    kv("sstatus", csrr(sstatus));
    asm volatile("ecall");       /* not delegated: M handles cause 9 */
    asm volatile("csrr t0, mstatus" ::: "t0"); /* illegal in S: delegated, S handles */
    asm volatile("mret");        /* illegal in S */
    /* go to U-mode */
    u64 st = csrr(sstatus);
    st &= ~(1UL << 8);           /* SPP = U */
    csrw(sstatus, st);
    csrw(sepc, umode);
    asm volatile("mv sp, %0; sret" :: "r"(ustack + 512) : "memory");
}
