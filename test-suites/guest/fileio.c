/* File system calls: open/write/lseek/pread/pwrite/fstat/ftruncate/rename/unlink, a directory
 * listing (sorted, since getdents order is the file system's), dup2 and a pipe. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    char dir[] = "fileio.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    if (chdir(dir)) { perror("chdir"); return 1; }
    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    for (int i = 0; i < 100; i++) dprintf(fd, "line %03d\n", i);
    struct stat st;
    fstat(fd, &st);
    printf("size=%lld mode=%o regular=%d\n", (long long)st.st_size, st.st_mode & 0777, S_ISREG(st.st_mode));
    char buf[32] = {0};
    printf("lseek end=%lld\n", (long long)lseek(fd, 0, SEEK_END));
    pread(fd, buf, 9, 9 * 42);
    printf("pread: %s", buf);
    pwrite(fd, "LINE", 4, 9 * 42);
    lseek(fd, 9 * 42, SEEK_SET);
    memset(buf, 0, sizeof buf);
    read(fd, buf, 9);
    printf("after pwrite: %s", buf);
    ftruncate(fd, 50);
    fstat(fd, &st);
    printf("truncated size=%lld\n", (long long)st.st_size);
    close(fd);
    rename("a.txt", "b.txt");
    printf("access a=%d b=%d\n", access("a.txt", F_OK), access("b.txt", R_OK));
    mkdir("sub", 0755);
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof n, "sub/f%d", 4 - i);
        close(open(n, O_CREAT | O_WRONLY, 0600));
    }
    DIR *d = opendir("sub");
    char *names[16];
    int k = 0;
    for (struct dirent *e; (e = readdir(d)) && k < 16;) names[k++] = strdup(e->d_name);
    closedir(d);
    qsort(names, k, sizeof names[0], cmp);
    printf("dir:");
    for (int i = 0; i < k; i++) printf(" %s", names[i]);
    printf("\n");
    int p[2];
    pipe(p);
    write(p[1], "through a pipe\n", 15);
    close(p[1]);
    memset(buf, 0, sizeof buf);
    read(p[0], buf, sizeof buf - 1);
    printf("pipe: %s", buf);
    int saved = dup(1);
    int out = open("redirected", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    fflush(stdout);
    dup2(out, 1);
    printf("to the file\n");
    fflush(stdout);
    dup2(saved, 1);
    close(out);
    FILE *f = fopen("redirected", "r");
    fgets(buf, sizeof buf, f);
    fclose(f);
    printf("read back: %s", buf);
    for (int i = 0; i < 5; i++) { char n[16]; snprintf(n, sizeof n, "sub/f%d", i); unlink(n); }
    rmdir("sub");
    unlink("b.txt");
    unlink("redirected");
    chdir("..");
    printf("rmdir=%d errno-style open of missing: %d\n", rmdir(dir), open("/no/such/file", O_RDONLY));
    return 0;
}
