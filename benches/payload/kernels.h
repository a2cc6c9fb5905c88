/* The payload's kernels, shared by the bare-metal payload (ring 3) and the native program.
 * Each returns a 64-bit checksum; report() formats the same lines in both. */
#ifndef KERNELS_H
#define KERNELS_H
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

/* Provided by the environment: write len bytes of buf to the output. */
void out(const char *buf, u64 len);

/* Runs the kernels selected by `which` (bit 0 int, bit 1 mem, bit 2 fp) `scale` times over. */
void run_kernels(u64 scale, unsigned which);

/* "name: 0123456789abcdef\n" */
void report(const char *name, u64 value);
#endif
