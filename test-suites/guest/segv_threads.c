/* Four threads fault on an unmapped page over and over (each with its own sigjmp_buf) while
 * computing: every fault is delivered to the faulting thread, with its own registers, and
 * every thread's running sum survives. Written for xlat's test suite; expected output comes
 * from qemu-riscv64 (and Linux). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 300

static __thread sigjmp_buf env;
static __thread volatile long my_faults;
static char *volatile hole;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (si->si_addr != hole + 8 * (my_faults % 64))
        _exit(3); /* wrong address: the fault went to the wrong thread or lost its address */
    my_faults++;
    siglongjmp(env, 1);
}

static void *worker(void *arg) {
    long id = (long)arg, sum = 0;
    for (long r = 0; r < ROUNDS; r++) {
        for (long i = 0; i < 50; i++)
            sum += (i ^ id) * (r + 1);
        if (sigsetjmp(env, 1) == 0)
            sum += *(volatile long *)(hole + 8 * (my_faults % 64));
    }
    printf("thread %ld: sum %ld faults %ld\n", id, sum, (long)my_faults);
    return NULL;
}

int main(void) {
    long pg = sysconf(_SC_PAGESIZE);
    hole = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("done\n");
    return 0;
}
