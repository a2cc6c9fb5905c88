/* Processes: fork + waitpid exit statuses, a child killed by a signal, a pipe between parent
 * and child; with the argument "exec", also execve of this program (argv[0]) in a child (qemu-user
 * hands execve to the host kernel, which runs a riscv64 program only with binfmt_misc set up). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("exec'd child: argc=%d arg2=%s env=%s\n", argc, argc > 2 ? argv[2] : "-", getenv("XLAT_T_CHILD"));
        return 7;
    }
    setvbuf(stdout, NULL, _IONBF, 0); /* children share stdout: no duplicated buffers */
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p == 0) _exit(10 + i);
        int st;
        waitpid(p, &st, 0);
        printf("child %d: exited=%d code=%d\n", i, WIFEXITED(st), WEXITSTATUS(st));
    }
    int fds[2];
    pipe(fds);
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        for (int i = 0; i < 1000; i++) dprintf(fds[1], "%d\n", i * i);
        _exit(0);
    }
    close(fds[1]);
    char buf[4096];
    long total = 0, sum = 0;
    ssize_t n;
    char num[32];
    int k = 0;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        total += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') { num[k] = 0; sum += atol(num); k = 0; } else if (k < 31) num[k++] = buf[i];
        }
    }
    int st;
    waitpid(p, &st, 0);
    printf("pipe: %ld bytes, sum of squares %ld, child status %d\n", total, sum, WEXITSTATUS(st));
    p = fork();
    if (p == 0) { pause(); _exit(0); }
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    printf("killed child: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    if (argc < 2 || strcmp(argv[1], "exec") != 0) return 0;
    p = fork();
    if (p == 0) {
        char *args[] = {argv[0], "child", "second", NULL};
        char *env[] = {"XLAT_T_CHILD=yes", NULL};
        execve(argv[0], args, env);
        perror("execve");
        _exit(127);
    }
    waitpid(p, &st, 0);
    printf("exec'd child status %d\n", WEXITSTATUS(st));
    return 0;
}
