/* sampling.c — greedy / temperature / top-k / top-p token selection. */
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

static int cand_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

int lf_sample(float *logits, int n, const lf_sampler_cfg *cfg, lf_rng *rng, void *scratch) {
    if (cfg->temperature <= 0.0f) return lf_cpu_argmax(logits, n);
    cand *c = scratch;
    float mx = logits[lf_cpu_argmax(logits, n)];
    for (int i = 0; i < n; i++) { c[i].p = (logits[i] - mx) / cfg->temperature; c[i].id = i; }
    int m = n;
    if ((cfg->top_k > 0 && cfg->top_k < n) || cfg->top_p < 1.0f) {
        qsort(c, (size_t)n, sizeof *c, cand_desc);
        if (cfg->top_k > 0 && cfg->top_k < m) m = cfg->top_k;
    }
    double sum = 0.0;
    for (int i = 0; i < m; i++) { c[i].p = expf(c[i].p); sum += c[i].p; }
    if (cfg->top_p < 1.0f) {
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
    double r = lf_rng_uniform(rng) * sum, acc = 0.0;
    for (int i = 0; i < m; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[m - 1].id;
}
