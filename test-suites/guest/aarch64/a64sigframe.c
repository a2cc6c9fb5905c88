/* The aarch64 signal frame: SIGILL (UDF), SIGTRAP (BRK), SIGSEGV (a load from page zero) and a
 * SIGUSR1 delivered on return from kill(2) interrupt code that has set x0..x17, NZCV, FPSR,
 * FPCR and v0..v31 to known values. The handler prints siginfo, the pc (relative to the
 * trapping instruction), NZCV and x0..x17 from the ucontext, and FPSR, FPCR and V0-V31 from
 * its fpsimd_context record; it then changes all of them (and steps over the instruction) and
 * the values the interrupted code sees after sigreturn are printed too. */
#define _GNU_SOURCE
#include <asm/sigcontext.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

struct io {
    uint64_t x[18];
    uint64_t nzcv, fpsr, fpcr, pad;
    __uint128_t v[32];
};

/* trap_NAME(io): loads x0..x17, v0..v31, NZCV, FPSR and FPCR from io, runs INSN (at label
 * NAME_at), stores them all back. */
#define TRAPPER(name, insn)                                                                  \
    void trap_##name(struct io *);                                                           \
    extern char name##_at[];                                                                 \
    __asm__(".global trap_" #name "\n.global " #name "_at\ntrap_" #name ":\n"                \
            "stp x29, x30, [sp, #-96]!\n stp d8, d9, [sp, #16]\n stp d10, d11, [sp, #32]\n"  \
            "stp d12, d13, [sp, #48]\n stp d14, d15, [sp, #64]\n str x19, [sp, #80]\n"       \
            "mov x19, x0\n add x2, x19, #176\n"                                               \
            "ld1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64\n"                                  \
            "ld1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64\n"                                  \
            "ld1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64\n"                                \
            "ld1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64\n"                              \
            "ld1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64\n"                              \
            "ld1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64\n"                              \
            "ld1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64\n"                              \
            "ld1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64\n"                              \
            "ldr x2, [x19, #144]\n msr nzcv, x2\n ldr x2, [x19, #152]\n msr fpsr, x2\n"      \
            "ldr x2, [x19, #160]\n msr fpcr, x2\n"                                           \
            "ldp x0, x1, [x19]\n ldp x2, x3, [x19, #16]\n ldp x4, x5, [x19, #32]\n"          \
            "ldp x6, x7, [x19, #48]\n ldp x8, x9, [x19, #64]\n ldp x10, x11, [x19, #80]\n"   \
            "ldp x12, x13, [x19, #96]\n ldp x14, x15, [x19, #112]\n ldp x16, x17, [x19, #128]\n" \
            #name "_at:\n " insn "\n"                                                        \
            "stp x0, x1, [x19]\n stp x2, x3, [x19, #16]\n stp x4, x5, [x19, #32]\n"          \
            "stp x6, x7, [x19, #48]\n stp x8, x9, [x19, #64]\n stp x10, x11, [x19, #80]\n"   \
            "stp x12, x13, [x19, #96]\n stp x14, x15, [x19, #112]\n stp x16, x17, [x19, #128]\n" \
            "mrs x2, nzcv\n str x2, [x19, #144]\n mrs x2, fpsr\n str x2, [x19, #152]\n"      \
            "mrs x2, fpcr\n str x2, [x19, #160]\n msr fpcr, xzr\n msr fpsr, xzr\n"           \
            "add x2, x19, #176\n"                                                             \
            "st1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64\n"                                  \
            "st1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64\n"                                  \
            "st1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64\n"                                \
            "st1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64\n"                              \
            "st1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64\n"                              \
            "st1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64\n"                              \
            "st1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64\n"                              \
            "st1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64\n"                              \
            "ldp d8, d9, [sp, #16]\n ldp d10, d11, [sp, #32]\n ldp d12, d13, [sp, #48]\n"    \
            "ldp d14, d15, [sp, #64]\n ldr x19, [sp, #80]\n ldp x29, x30, [sp], #96\n ret\n");

TRAPPER(ill, "udf #7")
TRAPPER(brk, "brk #0x42")
TRAPPER(segv, "ldr x9, [x10]")
TRAPPER(svc, "svc #0")

static char *at;      /* the trapping instruction */
static int step;      /* bytes the handler steps over */

static void put128(const char *tag, int i, __uint128_t v) {
    printf("%s%d %016llx%016llx%s", tag, i, (unsigned long long)(v >> 64), (unsigned long long)v,
        i % 4 == 3 ? "\n" : " ");
}

static void handler(int sig, siginfo_t *si, void *p) {
    ucontext_t *uc = p;
    mcontext_t *mc = &uc->uc_mcontext;
    /* Linux's SIGILL for UDF is ILL_ILLOPC, qemu-aarch64's ILL_ILLOPN: on a line of its own. */
    if (sig == SIGILL) printf("illcode %d\n", si->si_code);
    printf("handler: sig %d code %d", sig, sig == SIGILL ? 0 : si->si_code);
    if (sig == SIGSEGV) printf(" addr %llx", (unsigned long long)(uintptr_t)si->si_addr);
    if (sig == SIGILL || sig == SIGTRAP)
        printf(" addr at%+lld", (long long)((char *)si->si_addr - at));
    printf(" pc at%+lld nzcv %llx\n", (long long)((char *)mc->pc - at),
        (unsigned long long)(mc->pstate & 0xf0000000));
    for (int i = 0; i < 18; i++)
        printf("x%d %llx%s", i, (unsigned long long)mc->regs[i], i % 6 == 5 ? "\n" : " ");
    struct _aarch64_ctx *h = (void *)mc->__reserved;
    struct fpsimd_context *fp = NULL;
    while (h->magic) {
        if (h->magic == FPSIMD_MAGIC) fp = (void *)h;
        h = (void *)((char *)h + h->size);
    }
    if (!fp) {
        printf("no fpsimd_context\n");
        return;
    }
    printf("fpsimd size %u fpsr %x fpcr %x\n", fp->head.size, fp->fpsr, fp->fpcr);
    for (int i = 0; i < 32; i++) put128("v", i, fp->vregs[i]);
    for (int i = 0; i < 18; i++) mc->regs[i] ^= 0x5a5a000000000000ull | (uint64_t)i << 8;
    mc->pstate ^= 0xa0000000;
    mc->pc += step;
    fp->fpsr = 0x08000091;
    fp->fpcr = 0x01c00000;
    for (int i = 0; i < 32; i++) fp->vregs[i] = ~fp->vregs[i] ^ ((__uint128_t)i << 70);
}

static void fill(struct io *io, uint64_t seed) {
    for (int i = 0; i < 18; i++) io->x[i] = seed * (i + 1) ^ (uint64_t)i << 56;
    io->nzcv = (seed & 15) << 28;
    io->fpsr = 0x10;
    io->fpcr = 0x00400000;
    for (int i = 0; i < 32; i++)
        io->v[i] = ((__uint128_t)(seed ^ 0xfedcba9876543210ull) << 64 | (seed + (uint64_t)i)) * (i + 3);
}

static void show(const char *what, struct io *io) {
    printf("after %s: nzcv %llx fpsr %llx fpcr %llx\n", what, (unsigned long long)io->nzcv,
        (unsigned long long)io->fpsr, (unsigned long long)io->fpcr);
    for (int i = 0; i < 18; i++)
        printf("x%d %llx%s", i, (unsigned long long)io->x[i], i % 6 == 5 ? "\n" : " ");
    for (int i = 0; i < 32; i++) put128("v", i, io->v[i]);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    for (int s = 1; s < 32; s++) sigaction(s, &sa, NULL);
    struct io io;
    fill(&io, 0x1111);
    at = ill_at, step = 4;
    trap_ill(&io);
    show("udf", &io);
    fill(&io, 0x2222);
    at = brk_at, step = 4;
    trap_brk(&io);
    show("brk", &io);
    fill(&io, 0x3333);
    io.x[10] = 0x10;
    at = segv_at, step = 4;
    trap_segv(&io);
    show("segv", &io);
    fill(&io, 0x4444);
    io.x[0] = (uint64_t)getpid();
    io.x[1] = SIGUSR1;
    io.x[8] = SYS_kill;
    at = svc_at, step = 0;
    trap_svc(&io);
    show("kill", &io);
    return 0;
}
