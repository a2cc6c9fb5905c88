/* pthreads: create/join, a mutex-protected counter, atomics across threads, a condition
 * variable handoff and thread-local storage. Output is independent of scheduling. */
#include <pthread.h>
#include <stdio.h>

enum { THREADS = 4, ITERS = 20000 };
static long counter;
static long atomic_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn;
static __thread long tls_value = 7;

static void *worker(void *arg) {
    long id = (long)arg;
    tls_value = id * 100;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        __atomic_fetch_add(&atomic_counter, 2, __ATOMIC_RELAXED);
    }
    /* take turns in id order through the condition variable */
    pthread_mutex_lock(&lock);
    while (turn != id) pthread_cond_wait(&cond, &lock);
    turn++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return (void *)(tls_value + id);
}

int main(void) {
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { puts("pthread_create failed"); return 1; }
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter=%ld atomic=%ld turns=%d returns=%ld main tls=%ld\n", counter, atomic_counter, turn, sum, tls_value);
    return 0;
}
