/* Forks while hot code is being compiled: the parent's loops are hot (compiled on a
 * background thread in xlat), it forks in the middle of them, several times, and parent and
 * children go on running (and compiling) hot loops of their own. Output is deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long mix(unsigned long x, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x += (unsigned long)i * 0x9e3779b97f4a7c15UL;
    }
    return x;
}

static unsigned long other(unsigned long x, int rounds)
{
    unsigned long h = 1469598103934665603UL;
    for (int i = 0; i < rounds; i++)
        h = (h ^ (x + (unsigned long)i)) * 1099511628211UL;
    return h;
}

int main(void)
{
    unsigned long acc = 1;
    for (int k = 0; k < 8; k++) {
        for (int j = 0; j < 3000; j++)
            acc = mix(acc, 7 + (j & 3));
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            unsigned long c = acc;
            for (int j = 0; j < 20000; j++)
                c = other(c, 5 + (j & 7));
            printf("child %d: %016lx\n", k, c);
            fflush(stdout);
            _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("child %d failed\n", k);
            return 1;
        }
        printf("parent %d: %016lx\n", k, acc);
    }
    return 0;
}
