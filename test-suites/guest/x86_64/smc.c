/* Self-modifying and cross-modifying x86-64 code, one scenario per argument; the output must
 * match native execution (x86 needs no flush instruction: the emulator must notice stores to
 * code it translated).
 *   rewrite  `mov eax, imm32; ret` rewritten in place 50 times in an RWX page, each version
 *            called 100 times (hot), results summed;
 *   mixed    a counter stored next to hot code in the same RWX page, from a loop in .text;
 *   next     a store that rewrites the immediate of the very next instruction, and of one
 *            three instructions later in the same straight-line block;
 *   thread   a second thread calls a function in a loop while the main thread patches it;
 *   read     read(2) from a pipe into a code page that was already run, then calling it;
 *   jit      mmap RW, write, mprotect RX, call; mprotect RW, rewrite, mprotect RX, call. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef uint32_t (*fn0)(void);
typedef uint32_t (*fn1)(uint32_t);

static uint8_t *rwx(void) {
    void *p = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        _exit(2);
    }
    return p;
}

/* mov eax, k; ret */
static void emit_const(volatile uint8_t *p, uint32_t k) {
    p[0] = 0xb8;
    memcpy((uint8_t *)p + 1, &k, 4);
    p[5] = 0xc3;
}

static uint32_t call_n(void *f, int n) {
    uint32_t s = 0;
    for (int j = 0; j < n; j++) s = s * 31 + ((fn0)f)();
    return s;
}

static int rewrite(void) {
    uint8_t *code = rwx();
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 50; i++) {
        emit_const(code, i * 2654435761u + 12345);
        sum += call_n(code, 100);
    }
    printf("rewrite: %u\n", sum);
    return 0;
}

static int mixed(void) {
    uint8_t *code = rwx();
    emit_const(code, 7);
    volatile uint64_t *counter = (volatile uint64_t *)(code + 256);
    uint64_t acc = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        *counter += i;
        if (i % 1000 == 0) acc += ((fn0)code)();
        if (i == 100000) emit_const(code, 9);
    }
    printf("mixed: %llu %llu\n", (unsigned long long)*counter, (unsigned long long)acc);
    return 0;
}

static int next(void) {
    uint8_t *code = rwx();
    /* f(v): mov [rip+1], edi (into the imm32 of the next insn); mov eax, 0; ret */
    static const uint8_t f[] = {0x89, 0x3d, 0x01, 0, 0, 0, 0xb8, 0, 0, 0, 0, 0xc3};
    /* g(v): mov [rip+6], edi; add edi, 1; xor ecx, ecx; mov eax, 0; add eax, edi; ret */
    static const uint8_t g[] = {0x89, 0x3d, 0x06, 0, 0, 0, 0x83, 0xc7, 0x01, 0x31, 0xc9,
                                0xb8, 0, 0, 0, 0, 0x01, 0xf8, 0xc3};
    memcpy(code, f, sizeof f);
    memcpy(code + 64, g, sizeof g);
    uint32_t sf = 0, sg = 0;
    for (uint32_t i = 0; i < 300; i++) {
        sf = sf * 33 + ((fn1)code)(i * 7 + 3);
        sg = sg * 33 + ((fn1)(code + 64))(i * 11 + 5);
    }
    printf("next: %u %u\n", sf, sg);
    return 0;
}

static volatile uint32_t *thread_code;
static volatile uint32_t seen, stop;

static void *caller(void *arg) {
    (void)arg;
    while (!stop) {
        uint32_t v = ((fn0)thread_code)();
        if (v != seen) __atomic_store_n(&seen, v, __ATOMIC_SEQ_CST);
    }
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int thread(void) {
    uint8_t *code = rwx();
    emit_const(code, 0);
    thread_code = (volatile uint32_t *)code;
    pthread_t t;
    if (pthread_create(&t, 0, caller, 0)) return 2;
    for (uint32_t k = 1; k <= 10; k++) {
        /* Let the caller run the current version for a while (hot), then patch the imm32. */
        for (volatile int d = 0; d < 30000; d++) {
        }
        uint32_t v = k * 1000003u;
        __atomic_store_n((uint32_t *)(code + 1), v, __ATOMIC_SEQ_CST);
        double t0 = now();
        while (__atomic_load_n(&seen, __ATOMIC_SEQ_CST) != v) {
            if (now() - t0 > 5) {
                printf("thread: patch %u never seen (still %u)\n", k, seen);
                fflush(stdout);
                _exit(1);
            }
            sched_yield();
        }
        printf("thread: saw patch %u\n", k);
    }
    stop = 1;
    pthread_join(t, 0);
    return 0;
}

static int readcode(void) {
    uint8_t *code = rwx();
    int fd[2];
    if (pipe(fd)) return 2;
    uint32_t s = 0;
    for (uint32_t i = 0; i < 10; i++) {
        uint8_t buf[6];
        emit_const(buf, i * 77 + 1);
        if (write(fd[1], buf, sizeof buf) != sizeof buf) return 3;
        if (read(fd[0], code, sizeof buf) != sizeof buf) return 4;
        s = s * 37 + call_n(code, 100);
    }
    printf("read: %u\n", s);
    return 0;
}

static int jit(void) {
    uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return 2;
    uint32_t s = 0;
    for (uint32_t i = 0; i < 10; i++) {
        if (mprotect(code, 4096, PROT_READ | PROT_WRITE)) return 3;
        emit_const(code, i * 99 + 5);
        if (mprotect(code, 4096, PROT_READ | PROT_EXEC)) return 4;
        s = s * 41 + call_n(code, 100);
    }
    printf("jit: %u\n", s);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "rewrite")) return rewrite();
    if (!strcmp(m, "mixed")) return mixed();
    if (!strcmp(m, "next")) return next();
    if (!strcmp(m, "thread")) return thread();
    if (!strcmp(m, "read")) return readcode();
    if (!strcmp(m, "jit")) return jit();
    fprintf(stderr, "usage: smc rewrite|mixed|next|thread|read|jit\n");
    return 2;
}
