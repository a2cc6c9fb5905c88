/* An access beyond the end of a file-backed mapping: SIGBUS with BUS_ADRERR (not SIGSEGV), to
 * a handler, or fatal without one ("nohandler"). Written for xlat's test suite; expected
 * output comes from qemu-riscv64 (and Linux). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
static sigjmp_buf env;
static volatile siginfo_t last;
static void h(int s, siginfo_t *si, void *uc) {
    (void)s;
    (void)uc;
    last = *si;
    siglongjmp(env, 1);
}
int main(int argc, char **argv) {
    char path[] = "/tmp/busXXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (write(fd, "hello", 5) != 5)
        return 1;
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(0, 2 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
    if (argc > 1 && strcmp(argv[1], "nohandler") == 0) {
        printf("touching past the end of the file\n");
        fflush(stdout);
        return m[pg + 3];
    }
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);
    printf("first page: %c%c\n", m[0], m[4]);
    if (sigsetjmp(env, 1) == 0)
        printf("%d\n", m[pg + 3]);
    printf("signo=%d code=%d addr=m%+ld\n", last.si_signo, last.si_code,
           (long)((char *)last.si_addr - m));
    return 0;
}
