/* x86 #GP in user mode (privileged instructions, port I/O, a misaligned 16-byte operand,
 * non-canonical addresses; test-suites/tests/x86isa_user.rs): Linux delivers SIGSEGV with
 * si_code SI_KERNEL (0x80) and si_addr 0. Each instruction runs 300 times (so that both the
 * interpreted and the compiled code meet it); prints the signal, si_code and si_addr it got,
 * under xlat and natively. Build: gcc -O2. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

static sigjmp_buf jb;
static volatile int last_sig, last_code;
static volatile uintptr_t last_addr;

static void handler(int s, siginfo_t *si, void *uc) {
    (void)uc;
    last_sig = s;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

static _Alignas(16) unsigned char buf[64];

static void misaligned_cmpxchg16b(void) {
    __asm__ volatile("xor %%eax, %%eax\n xor %%edx, %%edx\n lock cmpxchg16b %0"
                     : "+m"(*(unsigned char(*)[16])(buf + 8))
                     :
                     : "rax", "rdx", "memory");
}
static void hlt(void) { __asm__ volatile("hlt"); }
static void cli(void) { __asm__ volatile("cli"); }
static void in_port(void) { __asm__ volatile("in $0x80, %%al" ::: "rax"); }
static void out_port(void) { __asm__ volatile("out %%al, $0x80" ::: "memory"); }
/* CPL-0 instructions (the coverage scan's privileged list) */
static void lgdt(void) { __asm__ volatile("lgdt %0" : : "m"(buf)); }
static void lidt(void) { __asm__ volatile("lidt %0" : : "m"(buf)); }
static void ltr(void) { __asm__ volatile("ltr %w0" : : "r"(0)); }
static void lmsw(void) { __asm__ volatile("lmsw %w0" : : "r"(0)); }
static void clts(void) { __asm__ volatile("clts"); }
static void wbinvd(void) { __asm__ volatile("wbinvd"); }
static void invlpg(void) { __asm__ volatile("invlpg %0" : : "m"(buf)); }
static void swapgs(void) { __asm__ volatile("swapgs"); }
static void mov_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); }
static void mov_dr7(void) { __asm__ volatile("mov %0, %%dr7" : : "r"(0ull)); }
static void xsetbv(void) { __asm__ volatile("xsetbv" : : "a"(3), "d"(0), "c"(0)); }
/* non-canonical addresses: bits 63..47 not all equal */
static void load_high(void) { (void)*(volatile uint64_t *)0x8000000000001000ull; }
static void store_bit47(void) { *(volatile uint64_t *)0x0000900000001000ull = 1; }

static void run(const char *what, void (*f)(void)) {
    int faults = 0;
    for (int k = 0; k < 300; k++) {
        last_sig = 0;
        if (sigsetjmp(jb, 1))
            faults++;
        else
            f();
    }
    printf("%s: faults %d sig %d code %#x addr %#lx\n", what, faults, last_sig, last_code,
           (unsigned long)last_addr);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    run("misaligned cmpxchg16b", misaligned_cmpxchg16b);
    run("hlt", hlt);
    run("cli", cli);
    run("in", in_port);
    run("out", out_port);
    run("lgdt", lgdt);
    run("lidt", lidt);
    run("ltr", ltr);
    run("lmsw", lmsw);
    run("clts", clts);
    run("wbinvd", wbinvd);
    run("invlpg", invlpg);
    run("swapgs", swapgs);
    run("mov cr0", mov_cr0);
    run("mov dr7", mov_dr7);
    run("xsetbv", xsetbv);
    run("non-canonical load", load_high);
    run("non-canonical store", store_bit47);
    return 0;
}
