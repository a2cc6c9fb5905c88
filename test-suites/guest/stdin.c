/* Reads all of stdin (in odd-sized chunks), prints its size, a hash, the line count and the
 * lines in reverse order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 777 > cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(0, buf + len, 777);
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) break;
        len += (size_t)n;
    }
    unsigned long h = 5381;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) { h = h * 33 + (unsigned char)buf[i]; lines += buf[i] == '\n'; }
    printf("bytes=%zu lines=%zu hash=%lx\n", len, lines, h);
    size_t end = len;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && buf[start - 1] != '\n') start--;
        fwrite(buf + start, 1, end - start, stdout);
        if (buf[end - 1] != '\n') putchar('\n');
        end = start;
    }
    int c = getchar();
    printf("after EOF getchar=%d\n", c);
    return 0;
}
