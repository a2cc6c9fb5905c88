/* Process start: a static hello world (the whole cost is loading and starting the program). */
#include <stdio.h>

int main(void) {
    puts("Hello, world!");
    return 0;
}
