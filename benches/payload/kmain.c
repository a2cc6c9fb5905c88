/* Ring 0 of the x86-64 payload: GDT/TSS, IDT, syscall MSRs, a 4 KiB page-table window for the
 * paging checks, the trap handler (reports ring-3 faults and resumes at a fixup), the syscall
 * service (write to the UART at 0x3f8, exit through port 0x501) and the UART interrupt check
 * (8259 + LAPIC LINT0 in ExtINT mode). Every line ring 0 prints starts with "sys: ". */
#include "kernels.h"

struct frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    u64 vec, err, rip, cs, rflags, rsp, ss;
};

extern char vec_stubs[], syscall_entry[], kstack_top[];
void enter_user(void (*rip)(void), void *rsp) __attribute__((noreturn));
void user_main(void);
extern char user_stack[];
extern u64 user_stack_size;
/* Ring-3 probes (user.c) and where each resumes after its fault. */
extern char probe_read_insn[], probe_read_fixup[], probe_write_insn[], probe_write_fixup[],
    probe_ud_insn[], probe_ud_fixup[], probe_gp_insn[], probe_gp_fixup[], probe_de_insn[],
    probe_de_fixup[];

static inline void outb(unsigned short port, u8 v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline u8 inb(unsigned short port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static void uart_put(const char *s, u64 n)
{
    for (u64 i = 0; i < n; i++) {
        while (!(inb(0x3fd) & 0x20))
            ;
        outb(0x3f8, (u8)s[i]);
    }
}

static void kprint(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    uart_put(s, n);
}

static void khex(u64 v, int digits)
{
    char b[16];
    for (int i = 0; i < digits; i++)
        b[i] = "0123456789abcdef"[(v >> ((digits - 1 - i) * 4)) & 15];
    uart_put(b, (u64)digits);
}

static void kexit(u64 code) __attribute__((noreturn));
static void kexit(u64 code)
{
    outb(0x501, (u8)code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static u64 gdt[8] __attribute__((aligned(16)));
static struct __attribute__((packed)) {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    unsigned short reserved3, iomap;
} tss;
static struct __attribute__((packed)) {
    unsigned short off0, sel;
    u8 ist, type;
    unsigned short off1;
    u32 off2, zero;
} idt[256] __attribute__((aligned(16)));

static struct __attribute__((packed)) {
    unsigned short limit;
    u64 base;
} gdtr, idtr;

/* The paging window: virtual WINDOW.. (PDPT slot 256 of the loader's PML4[0], empty there)
 * through our own PD and PT, four 4 KiB pages over one physical page. */
#define WINDOW 0x4000000000UL
static u64 win_pd[512] __attribute__((aligned(4096)));
static u64 win_pt[512] __attribute__((aligned(4096)));
static u8 win_page[4096] __attribute__((aligned(4096)));
static u8 win_page2[4096] __attribute__((aligned(4096)));

static volatile u64 irq_count;
u64 do_syscall(u64 a0, u64 a1, u64 a2, u64 nr);

static u64 read_cr(int n)
{
    u64 v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%cr0, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%cr2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%cr3, %0" : "=r"(v)); break;
    case 4: __asm__ volatile("mov %%cr4, %0" : "=r"(v)); break;
    }
    return v;
}

static void set_gate(int v, int dpl)
{
    u64 a = (u64)vec_stubs + 16 * (u64)v;
    idt[v].off0 = (unsigned short)a;
    idt[v].sel = 0x08;
    idt[v].ist = 0;
    idt[v].type = (u8)(0x8e | (dpl << 5));
    idt[v].off1 = (unsigned short)(a >> 16);
    idt[v].off2 = (u32)(a >> 32);
    idt[v].zero = 0;
}

static void setup_cpu(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffUL; /* 0x08 kernel code64 */
    gdt[2] = 0x00cf93000000ffffUL; /* 0x10 kernel data */
    gdt[3] = 0x00cffb000000ffffUL; /* 0x18 user code32 (sysret base) */
    gdt[4] = 0x00cff3000000ffffUL; /* 0x20 user data */
    gdt[5] = 0x00affb000000ffffUL; /* 0x28 user code64 */
    u64 t = (u64)&tss;
    gdt[6] = (sizeof tss - 1) | ((t & 0xffffff) << 16) | (0x89UL << 40) | (((t >> 24) & 0xff) << 56);
    gdt[7] = t >> 32;
    tss.rsp[0] = (u64)kstack_top;
    tss.iomap = sizeof tss;
    gdtr.limit = sizeof gdt - 1;
    gdtr.base = (u64)gdt;
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    __asm__ volatile("pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl $0x10, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "movl %%eax, %%fs\n\t"
                     "movl %%eax, %%gs\n\t"
                     "movw $0x30, %%ax\n\t"
                     "ltr %%ax"
                     :
                     :
                     : "rax", "memory");
    for (int v = 0; v < 256; v++)
        set_gate(v, v == 0x80 ? 3 : 0);
    idtr.limit = sizeof idt - 1;
    idtr.base = (u64)idt;
    __asm__ volatile("lidt %0" : : "m"(idtr));
    wrmsr(0xc0000080, rdmsr(0xc0000080) | 1); /* EFER.SCE */
    wrmsr(0xc0000081, (0x18UL << 48) | (0x08UL << 32));
    wrmsr(0xc0000082, (u64)syscall_entry);
    wrmsr(0xc0000084, 0x700); /* SFMASK: TF IF DF */
}

static void setup_window(void)
{
    u64 *pml4 = (u64 *)(read_cr(3) & ~0xfffUL);
    u64 *pdpt = (u64 *)(pml4[0] & 0x000ffffffffff000UL);
    for (int i = 0; i < 512; i++)
        win_pd[i] = win_pt[i] = 0;
    pdpt[WINDOW >> 30 & 511] = (u64)win_pd | 7;
    win_pd[0] = (u64)win_pt | 7;
    win_pt[0] = (u64)win_page | 7;                 /* user rw */
    win_pt[1] = (u64)win_page | 5;                 /* user ro */
    win_pt[2] = (u64)win_page | 3;                 /* supervisor only */
    win_pt[3] = (u64)win_page | 7 | (1UL << 63);   /* no-execute */
    win_page[0x800] = 0xc3;                        /* ret */
}

static const char *const vec_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP", "#SS",
    "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static int fixup(struct frame *f)
{
    static const struct {
        char *insn, *fix;
    } tab[] = {
        {probe_read_insn, probe_read_fixup}, {probe_write_insn, probe_write_fixup},
        {probe_ud_insn, probe_ud_fixup},     {probe_gp_insn, probe_gp_fixup},
        {probe_de_insn, probe_de_fixup},
    };
    for (unsigned i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (f->rip == (u64)tab[i].insn) {
            f->rip = (u64)tab[i].fix;
            f->rax = (u64)-1;
            return 1;
        }
    if (f->rip >= WINDOW && f->rip < WINDOW + 0x4000) {
        /* a call into a no-execute page: return to the caller */
        f->rip = *(u64 *)f->rsp;
        f->rsp += 8;
        f->rax = (u64)-1;
        return 1;
    }
    return 0;
}

void trap(struct frame *f)
{
    if (f->vec == 0x24) {
        (void)inb(0x3fa);  /* IIR: acknowledges THRE */
        outb(0x3f9, 0);    /* IER off */
        irq_count++;
        outb(0x20, 0x20);  /* EOI */
        return;
    }
    if (f->vec == 6 && (f->cs & 3) == 3 && ((u8 *)f->rip)[0] == 0xcd && ((u8 *)f->rip)[1] == 0x80) {
        /* Software-assisted KVM (PVM) turns int n in ring 3 of a guest that is not PVM-aware
         * into #UD: carry out the int 0x80 here. */
        f->rip += 2;
        f->rax = do_syscall(f->rdi, f->rsi, f->rdx, f->rax);
        return;
    }
    if (f->vec == 0x80) {
        /* int 0x80: the same calls as syscall */
        f->rax = do_syscall(f->rdi, f->rsi, f->rdx, f->rax);
        return;
    }
    if (f->vec < 32) {
        kprint("sys: ");
        kprint(vec_names[f->vec] ? vec_names[f->vec] : "#??");
        kprint(" err=");
        khex(f->err, 4);
        kprint(" cpl=");
        khex(f->cs & 3, 1);
        if (f->vec == 14) {
            kprint(" cr2=");
            khex(read_cr(2), 16);
        }
        kprint("\n");
        if ((f->cs & 3) == 3 && fixup(f))
            return;
    } else {
        kprint("sys: unexpected vector ");
        khex(f->vec, 2);
        kprint("\n");
    }
    kprint("sys: fatal at rip=");
    khex(f->rip, 16);
    kprint("\n");
    kexit(3);
}

static void sys_checks(void)
{
    /* A/D bits of the window after ring 3 used it: page 0 written, page 1 read. */
    kprint("sys: pte0 ad=");
    khex(win_pt[0] >> 5 & 3, 1);
    kprint(" pte1 ad=");
    khex(win_pt[1] >> 5 & 3, 1);
    kprint(" pd ad=");
    khex(win_pd[0] >> 5 & 1, 1);
    kprint("\n");
    /* Remap page 0 to another frame: stale until invlpg. */
    win_page2[8] = 0x5a;
    win_pt[0] = (u64)win_page2 | 7;
    __asm__ volatile("invlpg (%0)" : : "r"(WINDOW) : "memory");
    kprint("sys: after invlpg ");
    khex(*(volatile u8 *)(WINDOW + 8), 2);
    win_pt[0] = (u64)win_page | 7;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
    kprint(" after cr3 reload ");
    khex(*(volatile u8 *)(WINDOW + 8), 2);
    kprint("\n");
    kprint("sys: cr0=");
    khex(read_cr(0) & 0xe0000011, 8);
    kprint(" cr4.pae=");
    khex(read_cr(4) >> 5 & 1, 1);
    kprint(" efer=");
    khex(rdmsr(0xc0000080) & 0xd01, 3);
    kprint("\n");
    /* The UART's THRE interrupt through the 8259 (IRQ 4 -> vector 0x24) and LINT0. */
    *(volatile u32 *)0xfee000f0UL = 0x1ff;
    *(volatile u32 *)0xfee00350UL = 0x700;
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 4);
    outb(0xa1, 2);
    outb(0x21, 1);
    outb(0xa1, 1);
    outb(0x21, 0xef);
    outb(0xa1, 0xff);
    outb(0x3f9, 0x02);
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    kprint("sys: uart irqs ");
    khex(irq_count, 2);
    kprint("\n");
}

u64 do_syscall(u64 a0, u64 a1, u64 a2, u64 nr)
{
    (void)a2;
    switch (nr) {
    case 1: /* write(buf, len) */
        uart_put((const char *)a0, a1);
        return a1;
    case 2: /* a probe: 3 * a0 + 1 */
        return a0 * 3 + 1;
    case 60: /* exit(code) */
        if (WHICH == 7 && a0 == 0)
            sys_checks();
        kexit(a0);
    default:
        kprint("sys: bad syscall\n");
        kexit(4);
    }
}

void kmain(void)
{
    setup_cpu();
    setup_window();
    /* as if called: rsp = 8 mod 16 at the function entry */
    enter_user(user_main, user_stack + user_stack_size - 8);
}
