/* Ring 3 of the x86-64 payload: the kernels (output through syscall 1), then the privilege
 * probes (each fault is reported by ring 0, which resumes at the probe's fixup), int 0x80,
 * and exit through syscall 60. */
#include "kernels.h"

char user_stack[65536] __attribute__((aligned(16)));
u64 user_stack_size = sizeof user_stack;

static u64 sys(u64 nr, u64 a0, u64 a1)
{
    u64 ret;
    __asm__ volatile("syscall"
                     : "=a"(ret), "+D"(a0), "+S"(a1)
                     : "a"(nr)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
    return ret;
}

void out(const char *buf, u64 len)
{
    sys(1, (u64)buf, len);
}

u64 probe_read(u64 addr);
u64 probe_write(u64 addr, u64 v);
u64 probe_call(u64 addr);
u64 probe_ud(void);
u64 probe_gp(void);
u64 probe_de(u64 a);
__asm__(".text\n"
        ".globl probe_read, probe_read_insn, probe_read_fixup\n"
        "probe_read:\n"
        "probe_read_insn: movq (%rdi), %rax\n"
        "probe_read_fixup: ret\n"
        ".globl probe_write, probe_write_insn, probe_write_fixup\n"
        "probe_write:\n"
        "probe_write_insn: movq %rsi, (%rdi)\n"
        "xorl %eax, %eax\n"
        "probe_write_fixup: ret\n"
        ".globl probe_call\n"
        "probe_call: call *%rdi\n"
        "ret\n"
        ".globl probe_ud, probe_ud_insn, probe_ud_fixup\n"
        "probe_ud:\n"
        "probe_ud_insn: ud2\n"
        "probe_ud_fixup: ret\n"
        ".globl probe_gp, probe_gp_insn, probe_gp_fixup\n"
        "probe_gp: xorl %eax, %eax\n"
        "probe_gp_insn: cli\n"
        "probe_gp_fixup: ret\n"
        ".globl probe_de, probe_de_insn, probe_de_fixup\n"
        "probe_de: movq %rdi, %rax\n"
        "xorl %edx, %edx\n"
        "xorl %ecx, %ecx\n"
        "probe_de_insn: divq %rcx\n"
        "probe_de_fixup: ret\n");

#define WINDOW 0x4000000000UL

void user_main(void)
{
    run_kernels(SCALE, WHICH);
    if (WHICH == 7) {
        /* (no "mov %cs" report: under PVM ring 3 reads the host's selector) */
        report("sys: write rw", probe_write(WINDOW + 8, 0x1234));
        report("sys: read ro alias", probe_read(WINDOW + 0x1008));
        report("sys: write ro", probe_write(WINDOW + 0x1008, 1));
        report("sys: read supervisor page", probe_read(WINDOW + 0x2008));
        report("sys: call nx page", probe_call(WINDOW + 0x3800));
        report("sys: read unmapped", probe_read(0x200000000UL));
        report("sys: ud2", probe_ud());
        report("sys: cli", probe_gp());
        report("sys: div 0", probe_de(7));
        u64 r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(2UL), "D"(14UL), "S"(0UL), "d"(0UL) : "memory");
        report("sys: int 0x80", r);
        report("sys: syscall", sys(2, 5, 0));
        u32 lo0, hi0, lo1, hi1;
        __asm__ volatile("rdtsc" : "=a"(lo0), "=d"(hi0));
        __asm__ volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
        report("sys: rdtsc advances",
               (((u64)hi1 << 32) | lo1) >= (((u64)hi0 << 32) | lo0));
    }
    sys(60, 0, 0);
    for (;;)
        ;
}
