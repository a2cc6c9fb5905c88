/* Time and system-information calls, printed as facts that do not depend on when or where the
 * test runs: monotonic clocks never go back, nanosleep sleeps at least as asked, uname says
 * riscv64, getrandom fills the buffer. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t)) return -1;
    return t.tv_sec * 1000000000ll + t.tv_nsec;
}

int main(void) {
    long long prev = ns(CLOCK_MONOTONIC), backwards = 0;
    for (int i = 0; i < 10000; i++) {
        long long now = ns(CLOCK_MONOTONIC);
        backwards += now < prev;
        prev = now;
    }
    printf("monotonic went backwards %lld times\n", backwards);
    long long t0 = ns(CLOCK_MONOTONIC);
    struct timespec req = {0, 20 * 1000 * 1000};
    int r = nanosleep(&req, NULL);
    long long slept = ns(CLOCK_MONOTONIC) - t0;
    printf("nanosleep=%d slept>=20ms: %d <5s: %d\n", r, slept >= 20000000, slept < 5000000000ll);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    long long real = ns(CLOCK_REALTIME) / 1000000000ll;
    printf("time/gettimeofday/realtime agree: %d %d, after 2020: %d\n", (long long)tv.tv_sec - t <= 1,
           real - t <= 1, t > 1577836800);
    printf("process cputime >= 0: %d\n", ns(CLOCK_PROCESS_CPUTIME_ID) >= 0);
    struct utsname u;
    uname(&u);
    printf("uname: %s %s\n", u.sysname, u.machine);
    unsigned char buf[64];
    memset(buf, 0, sizeof buf);
    ssize_t n = getrandom(buf, sizeof buf, 0);
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero += buf[i] != 0;
    printf("getrandom=%zd nonzero bytes>32: %d\n", n, nonzero > 32);
    printf("getpid>1: %d getppid>0: %d same uid: %d\n", getpid() > 1, getppid() > 0, getuid() == geteuid());
    long clk = sysconf(_SC_CLK_TCK), cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("clk_tck=%ld cpus>0: %d\n", clk, cpus > 0);
    return 0;
}
