/* A CoreMark-like integer kernel (our own code, same structure as CoreMark): linked-list
 * find/reverse/sort, small matrix multiply-accumulate, a string-scanning state machine and a
 * CRC-16 over everything. Usage: intmark ITERATIONS. Prints a checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; int16_t data; uint16_t idx; };

static uint16_t crc16_byte(uint8_t b, uint16_t crc) {
    for (int i = 0; i < 8; i++) {
        uint16_t mix = (crc ^ b) & 1;
        crc >>= 1;
        if (mix) crc ^= 0xa001;
        b >>= 1;
    }
    return crc;
}
static uint16_t crc16(uint32_t v, uint16_t crc) {
    for (int i = 0; i < 4; i++) crc = crc16_byte((uint8_t)(v >> (8 * i)), crc);
    return crc;
}

/* ---- list ---- */
#define NODES 200
static struct node pool[NODES];
static struct node *list_init(uint32_t seed) {
    for (int i = 0; i < NODES; i++) {
        seed = seed * 1664525u + 1013904223u;
        pool[i].data = (int16_t)(seed >> 16);
        pool[i].idx = (uint16_t)i;
        pool[i].next = i + 1 < NODES ? &pool[i + 1] : NULL;
    }
    return &pool[0];
}
static struct node *list_reverse(struct node *l) {
    struct node *prev = NULL;
    while (l) { struct node *n = l->next; l->next = prev; prev = l; l = n; }
    return prev;
}
static struct node *list_find(struct node *l, int16_t v) {
    while (l && (l->data & 0xff) != (v & 0xff)) l = l->next;
    return l;
}
/* merge sort on the list, by data or by idx */
static int cmp_node(const struct node *a, const struct node *b, int by_idx) {
    return by_idx ? (int)a->idx - (int)b->idx : (int)a->data - (int)b->data;
}
static struct node *list_sort(struct node *l, int by_idx) {
    int insize = 1;
    for (;;) {
        struct node *p = l, *tail = NULL;
        l = NULL;
        int merges = 0;
        while (p) {
            merges++;
            struct node *q = p;
            int psize = 0;
            for (int i = 0; i < insize && q; i++) { psize++; q = q->next; }
            int qsize = insize;
            while (psize > 0 || (qsize > 0 && q)) {
                struct node *e;
                if (psize == 0) { e = q; q = q->next; qsize--; }
                else if (qsize == 0 || !q || cmp_node(p, q, by_idx) <= 0) { e = p; p = p->next; psize--; }
                else { e = q; q = q->next; qsize--; }
                if (tail) tail->next = e; else l = e;
                tail = e;
            }
            p = q;
        }
        tail->next = NULL;
        if (merges <= 1) return l;
        insize *= 2;
    }
}
static uint16_t bench_list(struct node **lp, int16_t seed, uint16_t crc) {
    struct node *l = *lp;
    for (int i = 0; i < 8; i++) {
        struct node *f = list_find(l, (int16_t)(seed + i));
        crc = crc16(f ? (uint32_t)f->data : 0xffffu, crc);
        l = list_reverse(l);
    }
    l = list_sort(l, 0);
    crc = crc16((uint32_t)l->data, crc);
    l = list_sort(l, 1);
    for (struct node *n = l; n; n = n->next) n->data = (int16_t)(n->data * 3 + seed);
    *lp = l;
    return crc16((uint32_t)l->next->data, crc);
}

/* ---- matrix ---- */
#define MN 24
static int16_t ma[MN][MN], mb[MN][MN];
static int32_t mc[MN][MN];
static uint16_t bench_matrix(int16_t val, uint16_t crc) {
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) { ma[i][j] = (int16_t)(ma[i][j] + val); mb[i][j] = (int16_t)(mb[i][j] ^ val); }
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            int32_t s = 0;
            for (int k = 0; k < MN; k++) s += (int32_t)ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    uint32_t acc = 0;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            int32_t v = mc[i][j];
            acc += (v > 0 ? (uint32_t)v >> 3 : (uint32_t)(-v) & 0x7f) ^ (uint32_t)(i * j);
            mc[i][j] = v >> 2;
        }
    return crc16(acc, crc);
}

/* ---- state machine: classify tokens of a generated string ---- */
enum state { START, INT, FLOAT, EXP, SCI, INVALID, NSTATES };
static char text[512];
static uint16_t bench_state(uint32_t seed, uint16_t crc) {
    static const char alphabet[] = "0123456789+-.eE,x 5,1.2e+3,";
    for (unsigned i = 0; i < sizeof text - 1; i++) {
        seed = seed * 22695477u + 1u;
        text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    uint32_t counts[NSTATES] = {0};
    enum state s = START;
    for (const char *p = text; *p; p++) {
        char c = *p;
        if (c == ',') { counts[s]++; s = START; continue; }
        switch (s) {
        case START: s = (c >= '0' && c <= '9') ? INT : (c == '+' || c == '-') ? INT : c == '.' ? FLOAT : INVALID; break;
        case INT: s = (c >= '0' && c <= '9') ? INT : c == '.' ? FLOAT : (c == 'e' || c == 'E') ? EXP : INVALID; break;
        case FLOAT: s = (c >= '0' && c <= '9') ? FLOAT : (c == 'e' || c == 'E') ? EXP : INVALID; break;
        case EXP: s = (c >= '0' && c <= '9') || c == '+' || c == '-' ? SCI : INVALID; break;
        case SCI: s = (c >= '0' && c <= '9') ? SCI : INVALID; break;
        default: break;
        }
    }
    for (int i = 0; i < NSTATES; i++) crc = crc16(counts[i], crc);
    return crc;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 1000;
    struct node *l = list_init(0x1234);
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) { ma[i][j] = (int16_t)(i * 31 + j); mb[i][j] = (int16_t)(j * 17 - i); }
    uint16_t crc = 0;
    for (long it = 0; it < iters; it++) {
        crc = bench_list(&l, (int16_t)it, crc);
        crc = bench_matrix((int16_t)(it & 0xff), crc);
        crc = bench_state((uint32_t)it * 7u + 1u, crc);
    }
    printf("intmark iterations=%ld checksum=%04x\n", iters, crc);
    return 0;
}
