/* Processes: vfork (the parent sleeps until the child exits or execs), clone without CLONE_VM,
 * wait4 with rusage, waitid for exited, killed, stopped and continued children, WNOHANG,
 * execve of a host program (a foreign ELF: the host kernel runs it, as with qemu-user),
 * posix_spawn, /proc/self/exe and AT_EXECFN. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* qemu-user runs vfork as a plain fork without waiting, and stats /proc/self/exe as itself,
 * so this part is checked against the Linux answers, not against qemu. */
static void vfork_order(const char *argv0) {
    struct stat a, b;
    stat("/proc/self/exe", &a);
    stat(argv0, &b);
    printf("stat /proc/self/exe is the program: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    int fds[2];
    pipe(fds);
    pid_t p = vfork();
    if (p == 0) {
        usleep(50000); /* the parent must still be waiting */
        write(fds[1], "child,", 6);
        _exit(4);
    }
    write(fds[1], "parent", 6);
    close(fds[1]);
    char buf[64] = {0};
    int n = 0, r;
    while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += r;
    int st;
    waitpid(p, &st, 0);
    printf("vfork order: %s status=%d\n", buf, WEXITSTATUS(st));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "vfork") == 0) {
        vfork_order(argv[0]);
        return 0;
    }
    int st;
    pid_t p;

    /* clone without CLONE_VM: a fork with its own copy of memory. */
    static int shared_var = 1;
    p = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, NULL);
    if (p == 0) {
        shared_var = 99;
        _exit(shared_var == 99 ? 6 : 7);
    }
    struct rusage ru;
    pid_t w = wait4(p, &st, 0, &ru);
    printf("clone(SIGCHLD): waited=%d status=%d parent var=%d\n", w == p, WEXITSTATUS(st), shared_var);

    /* waitid: exited, killed (by a signal), stopped and continued. */
    p = fork();
    if (p == 0) _exit(9);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED);
    printf("waitid exited: code=%d status=%d pid ok=%d\n", si.si_code == CLD_EXITED, si.si_status, si.si_pid == p);
    p = fork();
    if (p == 0) { for (;;) pause(); }
    kill(p, SIGUSR1);
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED);
    printf("waitid killed: code=%d sig=%d\n", si.si_code == CLD_KILLED, si.si_status);
    int go[2];
    pipe(go);
    p = fork();
    if (p == 0) { /* exits only when told, so the parent sees "continued" before "exited" */
        char c;
        raise(SIGSTOP);
        read(go[0], &c, 1);
        _exit(12);
    }
    waitpid(p, &st, WUNTRACED);
    printf("stopped: %d sig=%d\n", WIFSTOPPED(st), WSTOPSIG(st));
    kill(p, SIGCONT);
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WCONTINUED);
    printf("continued: %d\n", si.si_code == CLD_CONTINUED);
    write(go[1], "g", 1);
    waitpid(p, &st, 0);
    printf("then exited: %d\n", WEXITSTATUS(st));
    printf("WNOHANG with no change: %d\n", waitpid(-1, &st, WNOHANG));
    printf("no children: %d %s\n", waitpid(-1, &st, 0), errno == ECHILD ? "ECHILD" : "?");
    p = fork();
    if (p == 0) { abort(); }
    waitpid(p, &st, 0);
    printf("abort: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

    /* execve of a host program (an x86-64 ELF on this machine). */
    p = fork();
    if (p == 0) {
        char *args[] = {"echo", "host", "echo", NULL};
        execve("/bin/echo", args, environ);
        _exit(127);
    }
    waitpid(p, &st, 0);
    printf("host echo status=%d\n", WEXITSTATUS(st));
    char *sargs[] = {"sh", "-c", "exit 5", NULL};
    posix_spawn(&p, "/bin/sh", NULL, NULL, sargs, environ);
    waitpid(p, &st, 0);
    printf("posix_spawn sh status=%d\n", WEXITSTATUS(st));
    char *bad[] = {"nope", NULL};
    int e = posix_spawn(&p, "/nonexistent/prog", NULL, NULL, bad, environ);
    if (e == 0) { waitpid(p, &st, 0); e = WEXITSTATUS(st) == 127 ? ENOENT : -1; }
    printf("posix_spawn missing: %s\n", e == ENOENT ? "ENOENT or 127" : "?");
    errno = 0;
    execl("/nonexistent/prog", "x", NULL);
    printf("execve missing: %s\n", errno == ENOENT ? "ENOENT" : "?");

    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = 0;
    printf("/proc/self/exe: %s (argv[0] %s)\n", base(exe), base(argv[0]));
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN: %s\n", fn ? base(fn) : "(none)");
    return 0;
}
