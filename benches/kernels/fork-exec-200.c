/* N times: fork, exec this same program with the argument "child" (which exits at once), wait.
 * Where the host kernel cannot run this program itself (a riscv64 ELF under qemu-user without
 * binfmt_misc: execve fails with ENOEXEC), it runs it the way binfmt_misc would, through
 * qemu-riscv64; under xlat the guest's execve re-runs the emulator, natively it is a plain exec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return 0;
    int n = argc > 1 ? atoi(argv[1]) : 200, ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            char *args[] = {argv[0], "child", NULL};
            execve(argv[0], args, environ);
            if (errno == ENOEXEC) {
                char *q[] = {"qemu-riscv64", argv[0], "child", NULL};
                execve("/usr/bin/qemu-riscv64", q, environ);
            }
            _exit(127);
        }
        int st;
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
    }
    printf("%d of %d children ran\n", ok, n);
    return ok == n ? 0 : 1;
}
