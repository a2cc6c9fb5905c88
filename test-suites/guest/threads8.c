/* 8 pthreads: a mutex-protected counter, C11 atomics, LR/SC and AMO loops in inline assembly,
 * a condition-variable relay in thread order, __thread TLS, a barrier, and raw futex calls
 * (requeue, wait_bitset with an absolute timeout, relative timeout, value mismatch). With the
 * argument "robust", also a robust mutex whose owner exits while holding it (the next locker
 * gets EOWNERDEAD: the kernel walks the robust list at thread exit; qemu-user does not
 * support robust lists, so that part runs only under xlat). The output is independent of
 * scheduling. With "mainexit", the main thread calls pthread_exit while another thread still
 * has work to do: the process lives on until that thread ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { THREADS = 8, ITERS = 5000 };
static long counter;
static atomic_long c11;
static long lrsc_word, amo_word;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static int turn;
static char order[THREADS + 1];
static __thread long tls = 5;

static void lrsc_add(long *p, long v) {
    long tmp, fail;
    __asm__ volatile("1: lr.d %0, (%2)\n add %0, %0, %3\n sc.d %1, %0, (%2)\n bnez %1, 1b"
                     : "=&r"(tmp), "=&r"(fail) : "r"(p), "r"(v) : "memory");
}

static void *worker(void *arg) {
    long id = (long)arg;
    tls = id * 1000;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter += 1;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add_explicit(&c11, 3, memory_order_relaxed);
        lrsc_add(&lrsc_word, id + 1);
        __asm__ volatile("amoadd.d zero, %1, (%0)" :: "r"(&amo_word), "r"(2L) : "memory");
    }
    pthread_mutex_lock(&lock);
    while (turn != id) pthread_cond_wait(&cond, &lock);
    order[turn] = (char)('a' + id);
    turn++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return (void *)(tls + id);
}

static long futex(int *uaddr, int op, int val, const struct timespec *ts, int *uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static int f1, f2;
static atomic_int waiting, woken;
static void *futex_waiter(void *arg) {
    (void)arg;
    atomic_fetch_add(&waiting, 1);
    while (futex(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) == -1 && errno == EAGAIN && f1 == 0) {}
    atomic_fetch_add(&woken, 1);
    return NULL;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; /* exits with the robust mutex held */
}

static void *late(void *arg) {
    (void)arg;
    usleep(100000);
    puts("worker still ran after main's pthread_exit");
    return NULL; /* the last thread: the process exits with the main thread's status, 0 */
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "mainexit") == 0) {
        setvbuf(stdout, NULL, _IONBF, 0);
        pthread_t t;
        pthread_create(&t, NULL, late, NULL);
        puts("main calls pthread_exit");
        pthread_exit(NULL);
    }
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { puts("pthread_create failed"); return 1; }
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter=%ld c11=%ld lrsc=%ld amo=%ld order=%s returns=%ld main tls=%ld\n", counter,
           (long)c11, lrsc_word, amo_word, order, sum, tls);

    /* futex: requeue two waiters from f1 to f2, then wake them on f2. */
    pthread_t w[2];
    for (int i = 0; i < 2; i++) pthread_create(&w[i], NULL, futex_waiter, NULL);
    while (waiting < 2) usleep(1000);
    usleep(20000); /* let both block in FUTEX_WAIT */
    long moved = 0;
    for (int tries = 0; tries < 200 && moved < 2; tries++) {
        long r = futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(uintptr_t)2, &f2, 0);
        if (r > 0) moved += r;
        if (moved < 2) usleep(1000);
    }
    usleep(10000);
    int early = woken;
    f1 = 1;
    long wk = 0;
    for (int tries = 0; tries < 200 && wk < 2; tries++) {
        wk += futex(&f2, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0);
        if (wk < 2) usleep(1000);
    }
    for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
    printf("futex requeue: moved=%ld woken before wake=%d woken on f2=%ld total=%d\n", moved, early, wk, (int)woken);
    int v = 7;
    printf("futex wait mismatch: %ld %s\n", futex(&v, FUTEX_WAIT_PRIVATE, 8, NULL, NULL, 0), errno == EAGAIN ? "EAGAIN" : "?");
    struct timespec rel = {0, 30000000};
    long r = futex(&v, FUTEX_WAIT_PRIVATE, 7, &rel, NULL, 0);
    printf("futex wait timeout: %ld %s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : "?");
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 30000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    r = futex(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("futex wait_bitset absolute timeout: %ld %s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : "?");

    if (argc > 1 && strcmp(argv[1], "robust") == 0) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        int e = pthread_mutex_init(&robust, &a);
        pthread_t d;
        pthread_create(&d, NULL, die_holding, NULL);
        pthread_join(d, NULL);
        int rc = pthread_mutex_lock(&robust);
        printf("robust: init=%d lock=%s", e, rc == EOWNERDEAD ? "EOWNERDEAD" : strerror(rc));
        if (rc == EOWNERDEAD) {
            pthread_mutex_consistent(&robust);
            pthread_mutex_unlock(&robust);
            printf(" relock=%d", pthread_mutex_lock(&robust));
        }
        printf("\n");
    }
    return 0;
}
