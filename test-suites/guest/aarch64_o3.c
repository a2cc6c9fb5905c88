/* Built with aarch64-linux-gnu-gcc -O3 by test-suites/tests/aarch64_user.rs: loops gcc
 * auto-vectorises (integer, float and double lanes, widening, narrowing, reductions, min/max,
 * conversions, strided loads that become ld2/ld3/ld4 and st2..st4), long double (binary128 in
 * software), libm functions, and C11 atomics across threads. Output is compared with qemu-aarch64. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 1024
static int32_t ia[N], ib[N], ic[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N];
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static struct { float x, y; } p2[N];
static struct { uint8_t r, g, b; } rgb[N];
static struct { int32_t a, b, c, d; } q4[N];

static uint64_t h = 1469598103934665603ull;
static void mix(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
}

static atomic_long counter;
static atomic_int flag;
static long plain_sum;
static void *worker(void *arg) {
  long k = (long)arg;
  for (int i = 0; i < 20000; i++) {
    atomic_fetch_add_explicit(&counter, k, memory_order_relaxed);
    int exp = 0;
    while (!atomic_compare_exchange_weak(&flag, &exp, 1)) exp = 0;
    plain_sum += i % 7;
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return NULL;
}

int main(void) {
  for (int i = 0; i < N; i++) {
    ia[i] = i * 2654435761u;
    ib[i] = (i * 40503) ^ 0x5555;
    sa[i] = (int16_t)(i * 37 - 9000);
    sb[i] = (int16_t)(i * -91 + 300);
    ua[i] = (uint8_t)(i * 13);
    ub[i] = (uint8_t)(255 - i * 7);
    fa[i] = (float)i * 0.37f - 100.0f;
    fb[i] = 1.0f / (float)(i + 1);
    da[i] = (double)i * 1.0001 - 333.3;
    db[i] = sqrt((double)i + 0.5);
    p2[i].x = (float)i; p2[i].y = (float)(N - i);
    rgb[i].r = i; rgb[i].g = i * 3; rgb[i].b = i * 5;
    q4[i].a = i; q4[i].b = -i; q4[i].c = i * i; q4[i].d = 7;
  }
  /* Integer lanes. */
  for (int i = 0; i < N; i++) ic[i] = ia[i] * 3 + (ib[i] >> 2) - (ia[i] & ib[i]);
  mix(ic, sizeof ic);
  long long isum = 0;
  for (int i = 0; i < N; i++) isum += (long long)ia[i] * sb[i];
  int imax = ia[0], imin = ia[0];
  for (int i = 0; i < N; i++) { imax = ia[i] > imax ? ia[i] : imax; imin = ia[i] < imin ? ia[i] : imin; }
  printf("int: %016llx %lld %d %d\n", (unsigned long long)h, isum, imax, imin);
  /* Bytes: saturating-style clamps, averages, absolute differences, narrowing. */
  uint8_t uc[N];
  for (int i = 0; i < N; i++) { int s = ua[i] + ub[i]; uc[i] = s > 255 ? 255 : s; }
  mix(uc, N);
  for (int i = 0; i < N; i++) uc[i] = (ua[i] + ub[i] + 1) >> 1;
  mix(uc, N);
  unsigned sad = 0;
  for (int i = 0; i < N; i++) sad += ua[i] > ub[i] ? ua[i] - ub[i] : ub[i] - ua[i];
  int16_t sc[N];
  for (int i = 0; i < N; i++) { int s = sa[i] + sb[i]; sc[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s; }
  mix(sc, sizeof sc);
  for (int i = 0; i < N; i++) uc[i] = (uint8_t)(ia[i] >> 24);
  mix(uc, N);
  printf("bytes: %016llx %u\n", (unsigned long long)h, sad);
  /* Float and double lanes, conversions, reductions. */
  for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + fa[i] / (fb[i] + 2.0f) - fabsf(fa[i]);
  mix(fc, sizeof fc);
  for (int i = 0; i < N; i++) dc[i] = fma(da[i], db[i], -da[i]) + sqrt(db[i]) * (da[i] < 0 ? -1.0 : 2.0);
  mix(dc, sizeof dc);
  for (int i = 0; i < N; i++) ic[i] = (int32_t)fa[i] + (int32_t)(da[i] * 4.0);
  mix(ic, sizeof ic);
  for (int i = 0; i < N; i++) fc[i] = (float)ia[i] * 1e-6f + (float)db[i];
  mix(fc, sizeof fc);
  float fmx = -INFINITY;
  for (int i = 0; i < N; i++) fmx = fmaxf(fmx, fa[i] * fb[i]);
  double dsum = 0;
  for (int i = 0; i < N; i++) dsum += da[i] * db[i];
  printf("fp: %016llx %a %a\n", (unsigned long long)h, fmx, dsum);
  /* Strided structures (ld2/ld3/ld4, st2..st4). */
  float sx = 0, sy = 0;
  for (int i = 0; i < N; i++) { sx += p2[i].x * 2; sy += p2[i].y; }
  for (int i = 0; i < N; i++) { p2[i].x = p2[i].y * 0.5f; p2[i].y = -p2[i].x; }
  mix(p2, sizeof p2);
  unsigned gray = 0;
  for (int i = 0; i < N; i++) gray += (rgb[i].r * 77 + rgb[i].g * 150 + rgb[i].b * 29) >> 8;
  for (int i = 0; i < N; i++) { uint8_t t = rgb[i].r; rgb[i].r = rgb[i].b; rgb[i].b = t; rgb[i].g += 1; }
  mix(rgb, sizeof rgb);
  for (int i = 0; i < N; i++) { q4[i].a += q4[i].d; q4[i].b *= 3; q4[i].c -= q4[i].a; q4[i].d = q4[i].b ^ q4[i].c; }
  mix(q4, sizeof q4);
  printf("struct: %016llx %a %a %u\n", (unsigned long long)h, sx, sy, gray);
  /* long double (binary128). */
  long double ld = 1.0L;
  for (int i = 1; i < 30; i++) ld = ld * 3.0L / (long double)i + 1.0L / 7.0L;
  long double lq = sqrtl(2.0L);
  printf("long double: %.30Lg %.30Lg %Lg %d\n", ld, lq, (long double)1e300 * 1e300L, (int)(lq * 1e9L));
  /* libm. */
  double m = 0;
  for (int i = 1; i < 200; i++) {
    double x = i * 0.173;
    m += sin(x) + cos(x) * exp(-x / 50) + log(x) + pow(x, 1.3) + atan2(x, 3.0) + tanh(x / 10) + cbrt(x);
  }
  float mf = 0;
  for (int i = 1; i < 200; i++) mf += sinf(i * 0.1f) + expf(i * 0.01f) + logf((float)i) + powf(i, 0.7f);
  printf("libm: %.17g %.9g %.17g %.17g %g %g\n", m, mf, lgamma(7.5), erf(0.3), nearbyint(2.5), rint(-3.5));
  /* Atomics across threads. */
  pthread_t t[4];
  for (long k = 0; k < 4; k++) pthread_create(&t[k], NULL, worker, (void *)(k + 1));
  for (int k = 0; k < 4; k++) pthread_join(t[k], NULL);
  printf("atomics: %ld %ld\n", (long)atomic_load(&counter), plain_sum);
  return 0;
}
