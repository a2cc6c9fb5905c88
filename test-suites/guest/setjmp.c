/* setjmp/longjmp across frames, with callee-saved registers and FP state live. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth_reached;

static void dive(int n, double acc) {
    depth_reached = n;
    if (n == 25) longjmp(env, (int)acc);
    dive(n + 1, acc + n * 0.5);
}

int main(void) {
    volatile int rounds = 0;
    volatile double kept = 1.25;
    int r = setjmp(env);
    printf("setjmp returned %d (round %d, depth %d)\n", r, rounds, depth_reached);
    if (rounds < 4) {
        rounds++;
        kept *= 2;
        dive(rounds, rounds * 10.0);
    }
    printf("kept=%g rounds=%d\n", kept, rounds);
    jmp_buf e2;
    if (setjmp(e2) == 0) longjmp(e2, 0); /* longjmp with 0 must return 1 */
    else puts("longjmp(0) became 1");
    return 0;
}
