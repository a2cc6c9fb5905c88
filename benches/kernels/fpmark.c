/* Floating-point kernel (double precision): an n-body simulation (sqrt and division in the
 * inner loop) and a dense matrix multiply. Usage: fpmark NBODY_STEPS MATMUL_N. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NB 32
struct body { double x, y, z, vx, vy, vz, m; };

static double nbody(long steps) {
    struct body b[NB];
    for (int i = 0; i < NB; i++) {
        double t = i * 0.7;
        b[i] = (struct body){cos(t) * (1 + i), sin(t) * (1 + i), 0.1 * i, -sin(t) * 0.3, cos(t) * 0.3,
                             0.01 * (i % 3), 1.0 + (i % 5) * 0.25};
    }
    const double dt = 0.001;
    for (long s = 0; s < steps; s++) {
        for (int i = 0; i < NB; i++)
            for (int j = i + 1; j < NB; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz + 1e-3;
                double mag = dt / (d2 * sqrt(d2));
                b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
                b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
            }
        for (int i = 0; i < NB; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
    }
    double e = 0;
    for (int i = 0; i < NB; i++) e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    return e;
}

static double matmul(int n) {
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) { a[i] = (i % 17) * 0.25 - 2.0; b[i] = (i % 13) / 7.0 + 0.5; }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
        }
    double tr = 0;
    for (int i = 0; i < n; i++) tr += c[i * n + i] / (1.0 + fabs(c[i * n + (n - 1 - i)]));
    free(a); free(b); free(c);
    return tr;
}

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 2000;
    int n = argc > 2 ? atoi(argv[2]) : 200;
    double e = nbody(steps), t = matmul(n);
    /* %.10e: enough to catch real divergence; all engines compute IEEE doubles identically */
    printf("fpmark steps=%ld n=%d checksum=%.10e %.10e\n", steps, n, e, t);
    return 0;
}
