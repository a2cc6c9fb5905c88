/* The x87/SSE state in an x86-64 signal frame: main loads three x87 values (the other five
 * registers empty), sets the control word, MXCSR and xmm0/xmm1, and sends itself SIGUSR1 with a
 * raw syscall so nothing touches the FPU in between. The handler prints what it finds in
 * uc_mcontext.fpregs (control/status word, abridged tag byte, MXCSR, st(0..2), xmm0) and
 * changes it: the control word, MXCSR, st(1), xmm1 and the tag byte (one register freed, one
 * marked in use). After the return main prints its own fxsave image, so the restore shows. */
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static void dump(const char *who, const uint8_t *fx) {
    uint16_t cw, sw;
    uint32_t mx;
    memcpy(&cw, fx, 2);
    memcpy(&sw, fx + 2, 2);
    memcpy(&mx, fx + 24, 4);
    printf("%s: cw=%04x sw=%04x ftw=%02x/%02x mxcsr=%08x\n", who, cw, sw, fx[4], fx[5], mx);
    for (int i = 0; i < 8; i++) {
        printf("  st%d:", i);
        for (int b = 9; b >= 0; b--) printf("%02x", fx[32 + 16 * i + b]);
        printf("\n");
    }
    for (int x = 0; x < 2; x++) {
        printf("  xmm%d:", x);
        for (int b = 15; b >= 0; b--) printf("%02x", fx[160 + 16 * x + b]);
        printf("\n");
    }
}

static int round_no;

static void on_usr1(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
    dump("handler", fx);
    uint16_t sw;
    memcpy(&sw, fx + 2, 2);
    int top = (sw >> 11) & 7;
    uint16_t cw = round_no ? 0x0c7f : 0x077f;
    memcpy(fx, &cw, 2);
    uint32_t mx = round_no ? 0x3f80 : 0x5f80;
    memcpy(fx + 24, &mx, 4);
    /* st(1) := 3.0 (significand 0xc000..., exponent 0x4000) */
    uint64_t sig3 = 0xc000000000000000ull;
    uint16_t exp3 = 0x4000;
    memcpy(fx + 32 + 16, &sig3, 8);
    memcpy(fx + 32 + 16 + 8, &exp3, 2);
    /* xmm1 := a pattern */
    for (int b = 0; b < 16; b++) fx[160 + 16 + b] = (uint8_t)(0xa0 + b + round_no);
    if (round_no) {
        /* free the physical register of st(2) and mark the one below top (st(7)) in use */
        fx[4] &= (uint8_t)~(1u << ((top + 2) & 7));
        fx[4] |= (uint8_t)(1u << ((top + 7) & 7));
    }
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    long pid = getpid();
    for (round_no = 0; round_no < 2; round_no++) {
        static uint8_t fx[512] __attribute__((aligned(16)));
        static const double vals[3] = {1.5, -2.25, 1e300};
        uint16_t cw = round_no ? 0x027f : 0x037f;
        uint32_t mx = round_no ? 0x1fa0 : 0x9f80;
        uint64_t x0[2] = {0x0123456789abcdefull + round_no, 0xfedcba9876543210ull};
        long ret;
        __asm__ volatile(
            "fninit\n\t"
            "fldcw %[cw]\n\t"
            "ldmxcsr %[mx]\n\t"
            "movdqu %[x0], %%xmm0\n\t"
            "pxor %%xmm1, %%xmm1\n\t"
            "fldl 16(%[v])\n\t"
            "fldl 8(%[v])\n\t"
            "fldl 0(%[v])\n\t"
            "syscall\n\t"
            "fxsave %[fx]\n\t"
            "fninit\n\t"
            "ldmxcsr %[mxd]\n\t"
            : "=a"(ret), [fx] "=m"(fx)
            : "a"((long)SYS_kill), "D"(pid), "S"((long)SIGUSR1), [cw] "m"(cw), [mx] "m"(mx),
              [x0] "m"(x0), [v] "r"(vals), [mxd] "m"((uint32_t){0x1f80})
            : "rcx", "r11", "xmm0", "xmm1", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",
              "st(5)", "st(6)", "st(7)");
        printf("kill: %ld\n", ret);
        dump("after", fx);
    }
    return 0;
}
