/* sampling.c — greedy / temperature / top-k / top-p token selection.
 *
 * Candidates are ordered by probability, descending, ties by id, ascending (a total order). The
 * kept set is the first top_k of that order, then its shortest prefix whose mass reaches top_p;
 * the draw walks the kept set in that order. Only the part of the order that is used is sorted:
 * the best K candidates are selected (quickselect, linear on average) and only they are sorted —
 * K = top_k, or for top_p alone 64, 256, 1024, ... until the prefix reaches top_p. A full sort of
 * the vocabulary took 4.7 ms per token at 32000 entries and 20 ms at 128256 (session 22). */
#include "sampling.h"
#include <math.h>
#include <stdlib.h>
#include "../cpu/kernels.h"

void lf_rng_seed(lf_rng *r, uint64_t seed) { r->state = seed ^ 0x5851f42d4c957f2dull; }

double lf_rng_uniform(lf_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct { float p; int id; } cand;

/* a before b in the candidate order */
static int cand_before(const cand *a, const cand *b) { return a->p != b->p ? a->p > b->p : a->id < b->id; }

static int cand_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

static void cand_swap(cand *a, cand *b) { cand t = *a; *a = *b; *b = t; }

/* Rearrange c[0..n) so that c[0..k) are its k first candidates in the order (in no particular
 * order among themselves), 0 < k < n. Quickselect with a median-of-three pivot; after 2 log2(n)
 * rounds without converging it sorts the remaining range (the order is total: no equal keys). */
static void select_first(cand *c, int n, int k) {
    int lo = 0, hi = n - 1, budget = 2;
    for (int m = n; m > 1; m >>= 1) budget += 2;
    while (hi > lo) {
        if (--budget < 0) {
            qsort(c + lo, (size_t)(hi - lo + 1), sizeof *c, cand_desc);
            return;
        }
        const int mid = lo + (hi - lo) / 2;
        if (cand_before(&c[hi], &c[lo])) cand_swap(&c[hi], &c[lo]);
        if (cand_before(&c[mid], &c[lo])) cand_swap(&c[mid], &c[lo]);
        if (cand_before(&c[hi], &c[mid])) cand_swap(&c[hi], &c[mid]);
        const cand piv = c[mid];
        int i = lo, j = hi;
        while (i <= j) { /* Hoare partition: [lo, j] before or equal to piv, [i, hi] after or equal */
            while (cand_before(&c[i], &piv)) i++;
            while (cand_before(&piv, &c[j])) j--;
            if (i <= j) { cand_swap(&c[i], &c[j]); i++; j--; }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else return; /* k-1 lies between j and i: the element there is in place */
    }
}

/* c[0..k) := the first k candidates of c[0..n), sorted */
static void first_sorted(cand *c, int n, int k) {
    if (k < n) select_first(c, n, k);
    qsort(c, (size_t)k, sizeof *c, cand_desc);
}

int lf_sample(float *logits, int n, const lf_sampler_cfg *cfg, lf_rng *rng, void *scratch) {
    if (cfg->temperature <= 0.0f) return lf_cpu_argmax(logits, n);
    return lf_sample_u(logits, n, cfg, lf_rng_uniform(rng), scratch);
}

int lf_sample_u(float *logits, int n, const lf_sampler_cfg *cfg, double u, void *scratch) {
    if (cfg->temperature <= 0.0f) return lf_cpu_argmax(logits, n);
    cand *c = scratch;
    float mx = logits[lf_cpu_argmax(logits, n)];
    for (int i = 0; i < n; i++) { c[i].p = (logits[i] - mx) / cfg->temperature; c[i].id = i; }
    int m = n;
    const int top_k = cfg->top_k > 0 && cfg->top_k < n ? cfg->top_k : 0, top_p = cfg->top_p < 1.0f;
    double sum = 0.0;
    if (top_k) { /* the first top_k in order, then (below) top_p within them */
        first_sorted(c, n, top_k);
        m = top_k;
        for (int i = 0; i < m; i++) { c[i].p = expf(c[i].p); sum += c[i].p; }
    } else if (top_p) {
        /* the mass of all n (in index order; a full sort summed in sorted order, which differs in
         * the last bits of a double), then sorted prefixes of growing length until one reaches
         * top_p. c keeps the scaled logits, so the order is theirs, as with top_k. */
        for (int i = 0; i < n; i++) sum += expf(c[i].p);
        int k = 64 < n ? 64 : n;
        for (;;) {
            first_sorted(c, n, k);
            double cum = 0.0;
            int found = 0;
            for (int i = 0; i < k && !found; i++) {
                cum += expf(c[i].p) / sum;
                found = cum >= cfg->top_p;
            }
            if (found || k == n) break;
            k = k > n / 4 ? n : 4 * k;
        }
        m = k;
        for (int i = 0; i < m; i++) c[i].p = expf(c[i].p);
    } else {
        for (int i = 0; i < m; i++) { c[i].p = expf(c[i].p); sum += c[i].p; }
    }
    if (top_p) {
        double cum = 0.0;
        int keep = m;
        for (int i = 0; i < m; i++) {
            cum += c[i].p / sum;
            if (cum >= cfg->top_p) { keep = i + 1; break; }
        }
        m = keep;
        sum = 0.0;
        for (int i = 0; i < m; i++) sum += c[i].p;
    }
    double r = u * sum, acc = 0.0;
    for (int i = 0; i < m; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[m - 1].id;
}
