/* argv, envp and the auxiliary vector as the loader built them (the test fixes the env). */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=\"%s\" (%zu)\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc]=%s\n", argv[argc] ? "non-null" : "null");
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "XLAT_T_", 7) == 0) printf("env %s\n", *e);
    /* AT_HWCAP has one bit per single-letter extension ('a' = bit 0). V is left out: qemu's
     * default CPU has it, xlat does not implement it and must not claim it. */
    unsigned long hw = getauxval(AT_HWCAP);
    printf("AT_HWCAP letters (V excluded): ");
    for (int b = 0; b < 26; b++)
        if (b != 'v' - 'a' && (hw >> b & 1)) putchar('a' + b);
    printf("\nAT_HWCAP high bits: %#lx\n", hw >> 26);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM=%lu\n", getauxval(AT_PHNUM));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_UID==getuid: %d\n", getauxval(AT_UID) == (unsigned long)getuid());
    printf("AT_EGID==getegid: %d\n", getauxval(AT_EGID) == (unsigned long)getegid());
    printf("AT_RANDOM set: %d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_ENTRY set: %d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_PHDR set: %d\n", getauxval(AT_PHDR) != 0);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    const char *base = fn ? strrchr(fn, '/') : NULL;
    printf("AT_EXECFN basename=%s\n", base ? base + 1 : fn ? fn : "(none)");
    printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));
    return 0;
}
