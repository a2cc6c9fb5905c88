/* PMP: entering S-mode with no entry faults (QEMU raises it at the mret); NAPOT and TOR entries grant R/W/X; a
 * locked entry binds M-mode too. Faults are reported by the M-mode handler. */
#include "rt.h"

void exit_ok(void) { exit_code(0); }
void strap_handler(u64 *f) { (void)f; }

static volatile int stage;
static u64 data_page[512] __attribute__((aligned(4096)));
static void smode(void);

void trap_handler(u64 *f) {
    u64 cause = csrr(mcause), tval = csrr(mtval);
    puts("M trap: cause="); putdec(cause);
    puts(" tval is target? "); putdec(tval == (u64)smode || tval == (u64)data_page);
    puts(" from priv "); putdec((csrr(mstatus) >> 11) & 3); puts("\n");
    if (stage == 0) {
        /* no PMP entry: the fetch in S failed. Grant everything but data_page's write:
         * entry 0: TOR [0, data_page) RWX; entry 1: NAPOT data_page (4 KiB) R;
         * entry 2: NAPOT everything RWX */
        csrw(pmpaddr0, (u64)data_page >> 2);
        csrw(pmpaddr1, ((u64)data_page >> 2) | 0x1ff);
        csrw(pmpaddr2, ~0UL);
        csrw(pmpcfg0, (0x1fUL << 16) | (0x19UL << 8) | 0x0f);
        kv("pmpcfg0", csrr(pmpcfg0));
        stage = 1;
        u64 st = csrr(mstatus);
        csrw(mstatus, (st & ~(3UL << 11)) | (1UL << 11)); /* back to S */
        f[0] = (u64)smode;
        return;
    }
    if (stage == 1) { /* the store to data_page failed */
        stage = 2;
        f[0] += 4;
        return;
    }
    if (cause == 9) { /* S is done: lock an entry that denies M writes to data_page */
        csrw(pmpcfg0, (0x1fUL << 16) | (0x99UL << 8) | 0x0f);
        kv("locked pmpcfg0", csrr(pmpcfg0));
        stage = 3;
        data_page[4] = 1; /* store access fault in M: handled below */
        kv("M write went through", data_page[4]);
        exit_code(0);
    }
    if (stage == 3) { puts("M store denied by the locked entry\n"); f[0] += 4; return; }
    exit_code(5);
}

static void smode(void) {
    puts("in S\n");
    kv("read data_page", data_page[3]);
    data_page[3] = 7; /* store access fault */
    kv("after store", data_page[3]);
    asm volatile("ecall"); /* cause 9 */
}

int main(void) {
    puts("pmp test\n");
    data_page[3] = 0x33;
    u64 s = csrr(mstatus);
    s = (s & ~(3UL << 11)) | (1UL << 11);
    csrw(mstatus, s);
    csrw(mepc, smode);
    asm volatile("mret");
    return 1;
}
