/* The smallest useful guest: write to stdout through stdio and exit 0. */
#include <stdio.h>
int main(void) {
    puts("Hello, world!");
    return 0;
}
