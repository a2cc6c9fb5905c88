/* A static x86-64 program for xlat's linux-user: prints, computes, exits with a status. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
    char buf[64];
    strcpy(buf, "hello from x86-64");
    printf("%s, argc=%d, len=%zu\n", buf, argc, strlen(buf));
    printf("fib(25)=%lu\n", fib(25));
    long long acc = 1;
    for (int i = 1; i < 20; i++) acc = acc * 3 % 1000000007 + i;
    printf("acc=%lld %s\n", acc, argc > 1 ? argv[1] : "-");
    return 3;
}
