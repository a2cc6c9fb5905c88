/* Emulates an x86-64 shellcode snippet with xlat's C API: its write and exit system calls
 * are emulated by a hook. Then four threads each run their own engine at once.
 * Build: gcc -Iinclude examples/shellcode.c -Ltarget/release -lxlat_capi -lpthread */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "xlat.h"

#define CODE 0x10000
#define CHECK(x) do { enum XlatErr e_ = (x); if (e_ != XLAT_OK) { \
    fprintf(stderr, "%s: %s\n", #x, xlat_strerror(e_)); return 1; } } while (0)

/* lea rsi, [rip+msg]; mov edx, 6; mov edi, 1; mov eax, 1; syscall;
 * mov edi, 42; mov eax, 60; syscall; msg: "hello\n" */
static const unsigned char shellcode[] = {
    0x48, 0x8d, 0x35, 0x1d, 0x00, 0x00, 0x00, 0xba, 0x06, 0x00, 0x00, 0x00,
    0xbf, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05,
    0xbf, 0x2a, 0x00, 0x00, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05,
    'h', 'e', 'l', 'l', 'o', '\n'};

static void on_syscall(XlatEngine *e, void *user) {
    uint64_t nr, a0, a1, a2;
    xlat_reg_read(e, XLAT_X86_REG_RAX, &nr);
    xlat_reg_read(e, XLAT_X86_REG_RDI, &a0);
    xlat_reg_read(e, XLAT_X86_REG_RSI, &a1);
    xlat_reg_read(e, XLAT_X86_REG_RDX, &a2);
    if (nr == 1) { /* write(fd, buf, len) */
        char buf[64] = {0};
        xlat_mem_read(e, a1, buf, a2 < 63 ? a2 : 63);
        printf("write(%llu): %s", (unsigned long long)a0, buf);
        xlat_reg_write(e, XLAT_X86_REG_RAX, a2);
    } else if (nr == 60) { /* exit(status) */
        *(uint64_t *)user = a0;
        xlat_emu_stop(e);
    }
}

static void count_block(XlatEngine *e, uint64_t addr, uint32_t size, void *user) {
    (void)e; (void)addr; (void)size;
    ++*(uint64_t *)user;
}

/* xor eax, eax; cpuid: leaf 0 puts "Genu" in ebx unless the hook rewrites it */
static const unsigned char cpuid0[] = {0x31, 0xc0, 0x0f, 0xa2};

static void on_cpuid(XlatEngine *e, void *user) {
    uint64_t rax;
    xlat_reg_read(e, XLAT_X86_REG_RAX, &rax);
    xlat_reg_write(e, XLAT_X86_REG_RBX, 0x1000 + rax); /* leaf 0's rax: highest leaf */
    ++*(uint64_t *)user;
}

/* in al, 0x60; out 0x61, al: port I/O emulated by a hook (in reads port + 0x10) */
static const unsigned char portio[] = {0xe4, 0x60, 0xe6, 0x61};

static uint32_t on_inout(XlatEngine *e, uint16_t port, uint32_t size, bool is_out, uint32_t value,
                         void *user) {
    (void)e;
    if (is_out) printf("out port %#x size %u value %#x\n", port, size, value);
    ++*(uint64_t *)user;
    return port + 0x10u;
}

/* lock cmpxchg16b [rsi]; movups xmm0, [rsi]: rdx:rax matches the memory, so rcx:rbx is
 * stored; the memory hook sees one 16-byte access, xlat_mem_value128 its whole value */
static const unsigned char cas16[] = {0xf0, 0x48, 0x0f, 0xc7, 0x0e, 0x0f, 0x10, 0x06};

static bool on_mem16(XlatEngine *e, uint32_t kind, uint64_t addr, uint32_t size, int64_t value,
                     void *user) {
    uint64_t lo = 0, hi = 0;
    (void)addr; (void)user;
    if (size == 16 && xlat_mem_value128(e, &lo, &hi) == XLAT_OK && lo == (uint64_t)value)
        printf("%s 16 bytes: %#llx:%#llx\n", kind == XLAT_MEM_WRITE ? "write" : "read-after",
               (unsigned long long)hi, (unsigned long long)lo);
    return true;
}

/* sum(rdi) = rdi + (rdi-1) + ... + 1: xor eax, eax; l: add rax, rdi; dec rdi; jnz l */
static const unsigned char sum[] = {0x31, 0xc0, 0x48, 0x01, 0xf8, 0x48, 0xff, 0xcf, 0x75, 0xf8};

static void *worker(void *arg) {
    uint64_t n = (uint64_t)(uintptr_t)arg, r = 0;
    XlatEngine *e;
    if (xlat_open(XLAT_ARCH_X86_64, XLAT_MODE_64, &e) != XLAT_OK) return (void *)1;
    xlat_mem_map(e, CODE, 0x1000, XLAT_PROT_ALL);
    xlat_mem_write(e, CODE, sum, sizeof sum);
    for (int k = 0; k < 100; k++) {
        xlat_reg_write(e, XLAT_X86_REG_RDI, n);
        if (xlat_emu_start(e, CODE, CODE + sizeof sum, 0, 0) != XLAT_OK) return (void *)1;
    }
    xlat_reg_read(e, XLAT_X86_REG_RAX, &r);
    xlat_close(e);
    return (void *)(uintptr_t)(r == n * (n + 1) / 2 ? 0 : 1);
}

int main(void) {
    XlatEngine *e;
    uint64_t status = 0, blocks = 0, hook;
    CHECK(xlat_open(XLAT_ARCH_X86_64, XLAT_MODE_64, &e));
    CHECK(xlat_mem_map(e, CODE, 0x1000, XLAT_PROT_READ | XLAT_PROT_EXEC));
    CHECK(xlat_mem_write(e, CODE, shellcode, sizeof shellcode));
    CHECK(xlat_hook_add_syscall(e, &hook, on_syscall, &status));
    CHECK(xlat_hook_add_block(e, &hook, count_block, &blocks, 1, 0));
    CHECK(xlat_emu_start(e, CODE, CODE + sizeof shellcode, 0, 0));
    printf("exit status %llu after %llu blocks\n", (unsigned long long)status,
           (unsigned long long)blocks);
    printf("bad mapping: %s\n", xlat_strerror(xlat_mem_map(e, 0x1234, 0x1000, XLAT_PROT_ALL)));
    CHECK(xlat_close(e));

    uint64_t cpuids = 0, rax = 0, rbx = 0;
    CHECK(xlat_open(XLAT_ARCH_X86_64, XLAT_MODE_64, &e));
    CHECK(xlat_mem_map(e, CODE, 0x1000, XLAT_PROT_READ | XLAT_PROT_EXEC));
    CHECK(xlat_mem_write(e, CODE, cpuid0, sizeof cpuid0));
    CHECK(xlat_hook_add_cpuid(e, &hook, on_cpuid, &cpuids));
    CHECK(xlat_emu_start(e, CODE, CODE + sizeof cpuid0, 0, 0));
    CHECK(xlat_reg_read(e, XLAT_X86_REG_RAX, &rax));
    CHECK(xlat_reg_read(e, XLAT_X86_REG_RBX, &rbx));
    printf("cpuid hook: %llu call(s), rbx %s\n", (unsigned long long)cpuids,
           rax > 0 && rbx == 0x1000 + rax ? "rewritten" : "NOT rewritten");
    uint64_t ios = 0;
    CHECK(xlat_mem_write(e, CODE + 0x100, portio, sizeof portio));
    CHECK(xlat_hook_add_inout(e, &hook, on_inout, &ios));
    CHECK(xlat_emu_start(e, CODE + 0x100, CODE + 0x100 + sizeof portio, 0, 0));
    printf("%llu port accesses\n", (unsigned long long)ios);
    CHECK(xlat_close(e));

    uint64_t x0[2] = {0x1111, 0x2222}, lo = 0, hi = 0;
    CHECK(xlat_open(XLAT_ARCH_X86_64, XLAT_MODE_64, &e));
    CHECK(xlat_mem_map(e, CODE, 0x2000, XLAT_PROT_ALL));
    CHECK(xlat_mem_write(e, CODE, cas16, sizeof cas16));
    CHECK(xlat_mem_write(e, CODE + 0x1000, x0, sizeof x0));
    CHECK(xlat_hook_add_mem(e, &hook, XLAT_MEM_WRITE | XLAT_MEM_READ_AFTER, on_mem16, NULL,
                            CODE + 0x1000, CODE + 0x1fff));
    CHECK(xlat_reg_write(e, XLAT_X86_REG_RSI, CODE + 0x1000));
    CHECK(xlat_reg_write(e, XLAT_X86_REG_RAX, 0x1111));
    CHECK(xlat_reg_write(e, XLAT_X86_REG_RDX, 0x2222));
    CHECK(xlat_reg_write(e, XLAT_X86_REG_RBX, 0x3333));
    CHECK(xlat_reg_write(e, XLAT_X86_REG_RCX, 0x4444));
    CHECK(xlat_emu_start(e, CODE, CODE + sizeof cas16, 0, 0));
    CHECK(xlat_reg_read128(e, XLAT_X86_REG_XMM0, &lo, &hi));
    printf("xmm0 %#llx:%#llx\n", (unsigned long long)hi, (unsigned long long)lo);
    CHECK(xlat_close(e));

    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)(1000 + i));
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != NULL;
    }
    printf("threads %s\n", bad ? "FAILED" : "ok");
    return bad;
}
