/* Sv39 in S-mode: gigapage and 4 KiB mappings, hardware A/D updates, load/store/fetch page
 * faults with their stval, SUM and MXR, sfence.vma after a PTE change, and Sv48. */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
void trap_handler(u64 *f) {
    kv("unexpected M trap", csrr(mcause));
    kv("mepc", csrr(mepc));
    exit_code(3);
}

#define V 1
#define R 2
#define W 4
#define X 8
#define U 16
#define A 64
#define D 128
#define PTE(pa, fl) ((((u64)(pa)) >> 12) << 10 | (fl))

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static u64 root48[512] __attribute__((aligned(4096)));
static u8 page_a[4096] __attribute__((aligned(4096)));
static u8 page_b[4096] __attribute__((aligned(4096)));
static u8 page_code[4096] __attribute__((aligned(4096)));

#define VA_A 0x40000000UL      /* -> page_a, RW */
#define VA_RO 0x40001000UL     /* -> page_b, R only */
#define VA_USER 0x40002000UL   /* -> page_b, RW + U */
#define VA_XONLY 0x40003000UL  /* -> page_code, X only */
#define VA_NX 0x40004000UL     /* -> page_code, R only (not executable) */
#define VA_NONE 0x40005000UL   /* not mapped */

static volatile int faults;
void strap_handler(u64 *f) {
    u64 cause = csrr(scause), tval = csrr(stval);
    puts("  S trap: scause="); puthex(cause); puts(" stval="); puthex(tval); puts("\n");
    faults++;
    if (cause == 12) { f[0] = f[1]; return; } /* fetch fault: return to the caller */
    f[0] += ((*(unsigned short *)f[0]) & 3) == 3 ? 4 : 2;
}

static void smode(void);
extern char strap_entry[];

int main(void) {
    puts("paging test\n");
    csrw(pmpaddr0, ~0UL);
    csrw(pmpcfg0, 0x1f);
    /* devices: identity gigapage 0..1G; RAM: identity gigapage 2G..3G */
    root[0] = PTE(0, V | R | W | A | D);
    root[2] = PTE(0x80000000UL, V | R | W | X | A | D);
    root[1] = PTE(l1, V);              /* 1G..2G via l1 */
    l1[0] = PTE(l0, V);
    l0[0] = PTE(page_a, V | R | W);    /* A and D clear: hardware sets them */
    l0[1] = PTE(page_b, V | R | A);
    l0[2] = PTE(page_b, V | R | W | U | A | D);
    l0[3] = PTE(page_code, V | X | A);
    l0[4] = PTE(page_code, V | R | A);
    /* page_code: li a0, 77; ret */
    u32 *c = (u32 *)page_code;
    c[0] = 0x04d00513; c[1] = 0x00008067;
    asm volatile("fence.i");
    for (int i = 0; i < 4096; i++) { page_a[i] = i; page_b[i] = 255 - i; }
    csrw(stvec, strap_entry);
    csrw(medeleg, (1 << 12) | (1 << 13) | (1 << 15));
    u64 s = csrr(mstatus);
    s = (s & ~(3UL << 11)) | (1UL << 11);
    csrw(mstatus, s);
    csrw(mepc, smode);
    asm volatile("mret");
    return 1;
}

static u64 ld(u64 va) { return *(volatile u64 *)va; }
static void st(u64 va, u64 v) { *(volatile u64 *)va = v; }

static void smode(void) {
    csrw(satp, (8UL << 60) | ((u64)root >> 12));
    asm volatile("sfence.vma");
    puts("Sv39 on\n");
    kv("satp mode", csrr(satp) >> 60);
    kv("pte before", l0[0] & 0xff);
    kv("load via VA_A+8", ld(VA_A + 8));
    kv("pte after load", l0[0] & 0xff);
    st(VA_A + 16, 0x1122334455667788UL);
    kv("pte after store", l0[0] & 0xff);
    kv("phys word", *(u64 *)(page_a + 16));
    kv("load RO", ld(VA_RO));
    st(VA_RO + 8, 1);                       /* store page fault */
    kv("load unmapped", ld(VA_NONE + 0x10)); /* load page fault */
    kv("load U page without SUM", ld(VA_USER));
    csrs(sstatus, 1UL << 18);
    kv("load U page with SUM", ld(VA_USER));
    csrc(sstatus, 1UL << 18);
    u64 (*fn)(void) = (u64 (*)(void))VA_XONLY;
    kv("call X-only page", fn());
    kv("load X-only page", ld(VA_XONLY));   /* load page fault */
    csrs(sstatus, 1UL << 19);
    kv("load X-only page with MXR", ld(VA_XONLY) & 0xffffffff);
    csrc(sstatus, 1UL << 19);
    fn = (u64 (*)(void))VA_NX;
    kv("call NX page", fn());               /* instruction page fault */
    /* remap VA_NONE to page_a, then sfence.vma */
    l0[5] = PTE(page_a, V | R | W | A | D);
    asm volatile("sfence.vma");
    kv("load remapped", ld(VA_NONE + 16));
    /* non-canonical address */
    kv("load non-canonical", ld(0x0000008000000000UL));
    /* Sv48: one more level on top */
    root48[0] = PTE(root, V);
    csrw(satp, (9UL << 60) | ((u64)root48 >> 12));
    asm volatile("sfence.vma");
    kv("Sv48 satp mode", csrr(satp) >> 60);
    kv("Sv48 load via VA_A+16", ld(VA_A + 16));
    kv("Sv48 load 2^39 (unmapped)", ld(0x0000008000000000UL));
    kv("faults", faults);
    exit_code(0);
}
