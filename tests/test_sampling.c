/* test_sampling.c — the host sampler (src/engine/sampling.c) against a reference written the
 * plain way: every candidate sorted (probability descending, id ascending), the first top_k kept,
 * then the shortest prefix reaching top_p, one uniform draw walked in that order. The sampler
 * sorts only the part of the order it uses; the tokens must be the same draw for draw, on flat
 * rows (random logits, where top_p keeps most of the vocabulary) and peaked ones, with ties, at
 * vocabulary sizes of real models. Plus: greedy takes the argmax and no draw; a deterministic
 * RNG; the empirical frequencies follow the kept distribution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampling.h"

typedef struct { float p; int id; } ref_cand;

static int ref_desc(const void *a, const void *b) {
    const ref_cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

/* the reference: full sort whenever top_k or top_p is on */
static int ref_sample(const float *logits, int n, const lf_sampler_cfg *cfg, lf_rng *rng) {
    int best = 0;
    for (int i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
    if (cfg->temperature <= 0.0f) return best;
    ref_cand *c = malloc(sizeof *c * (size_t)n);
    const float mx = logits[best];
    for (int i = 0; i < n; i++) { c[i].p = (logits[i] - mx) / cfg->temperature; c[i].id = i; }
    int m = n;
    if ((cfg->top_k > 0 && cfg->top_k < n) || cfg->top_p < 1.0f) {
        qsort(c, (size_t)n, sizeof *c, ref_desc);
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
    const double r = lf_rng_uniform(rng) * sum;
    double acc = 0.0;
    int tok = c[m - 1].id;
    for (int i = 0; i < m; i++) {
        acc += c[i].p;
        if (r < acc) { tok = c[i].id; break; }
    }
    free(c);
    return tok;
}

static uint64_t g_state = 0x243f6a8885a308d3ull;
static double urand(void) { /* [0, 1) */
    g_state ^= g_state << 13; g_state ^= g_state >> 7; g_state ^= g_state << 17;
    return (double)(g_state >> 11) * (1.0 / 9007199254740992.0);
}

/* kind 0: flat (uniform in [0, 4)); 1: peaked (a few large, a long tail); 2: many exact ties */
static void fill_logits(float *l, int n, int kind) {
    for (int i = 0; i < n; i++) {
        if (kind == 0) l[i] = (float)(4.0 * urand());
        else if (kind == 1) l[i] = (float)(-8.0 * urand() + (urand() < 0.001 ? 14.0 : 0.0));
        else l[i] = (float)(int)(6.0 * urand()) * 0.5f;
    }
}

static void test_same_tokens_as_full_sort(void **state) {
    (void)state;
    const int sizes[] = {7, 1000, 32000, 128256};
    const lf_sampler_cfg cfgs[] = {
        {1.0f, 0, 1.0f}, {0.7f, 40, 1.0f}, {1.0f, 1, 1.0f}, {0.8f, 0, 0.9f}, {1.3f, 0, 0.5f},
        {0.8f, 50, 0.95f}, {1.0f, 0, 0.999f}, {0.6f, 5000, 1.0f}, {1.0f, 3, 0.2f},
    };
    const int ncfg = (int)(sizeof cfgs / sizeof cfgs[0]);
    int draws = 0;
    for (int si = 0; si < 4; si++) {
        const int n = sizes[si];
        float *l = malloc(sizeof(float) * (size_t)n), *w = malloc(sizeof(float) * (size_t)n);
        void *scratch = malloc(8 * (size_t)n);
        assert_non_null(l); assert_non_null(w); assert_non_null(scratch);
        const int rows = n > 50000 ? 2 : 6;
        for (int kind = 0; kind < 3; kind++)
            for (int row = 0; row < rows; row++) {
                fill_logits(l, n, kind);
                for (int ci = 0; ci < ncfg; ci++) {
                    lf_rng a, b;
                    lf_rng_seed(&a, 1000u * (unsigned)row + (unsigned)ci);
                    b = a;
                    for (int d = 0; d < 3; d++) { /* three draws from the same row */
                        memcpy(w, l, sizeof(float) * (size_t)n); /* lf_sample may clobber its logits */
                        const int got = lf_sample(w, n, &cfgs[ci], &a, scratch);
                        const int want = ref_sample(l, n, &cfgs[ci], &b);
                        if (got != want)
                            fail_msg("vocab %d, kind %d, row %d, temperature %.2f top_k %d top_p %.3f, draw %d: token %d, the full sort gives %d",
                                     n, kind, row, cfgs[ci].temperature, cfgs[ci].top_k, cfgs[ci].top_p, d, got, want);
                        assert_true(a.state == b.state); /* one uniform per draw, as the reference */
                        draws++;
                    }
                }
            }
        free(l); free(w); free(scratch);
    }
    assert_true(draws > 1000);
}

static void test_greedy_takes_argmax_without_a_draw(void **state) {
    (void)state;
    float l[5] = {0.5f, 3.0f, -1.0f, 3.0f, 2.0f}; /* a tie: the first index wins */
    char scratch[8 * 5];
    lf_sampler_cfg g = {0.0f, 0, 1.0f};
    lf_rng r;
    lf_rng_seed(&r, 7);
    const uint64_t before = r.state;
    assert_int_equal(lf_sample(l, 5, &g, &r, scratch), 1);
    assert_true(r.state == before);
}

static void test_top_k_1_is_greedy(void **state) {
    (void)state;
    float l[6] = {0.1f, 0.2f, 5.0f, 4.9f, -3.0f, 0.0f};
    char scratch[8 * 6];
    lf_sampler_cfg k1 = {2.0f, 1, 1.0f};
    lf_rng r;
    lf_rng_seed(&r, 3);
    for (int i = 0; i < 50; i++) assert_int_equal(lf_sample(l, 6, &k1, &r, scratch), 2);
}

/* frequencies over many draws: top_k 3 of logits log(4), log(2), log(1), log(1)... at
 * temperature 1 keeps ids 0, 1, 2 with probabilities 4/7, 2/7, 1/7 */
static void test_frequencies_follow_the_kept_distribution(void **state) {
    (void)state;
    enum { N = 10, DRAWS = 70000 };
    float l[N];
    for (int i = 0; i < N; i++) l[i] = 0.0f;
    l[0] = logf(4.0f); l[1] = logf(2.0f);
    char scratch[8 * N];
    lf_sampler_cfg cfg = {1.0f, 3, 1.0f};
    lf_rng r;
    lf_rng_seed(&r, 11);
    int count[N] = {0};
    for (int d = 0; d < DRAWS; d++) {
        float w[N];
        memcpy(w, l, sizeof w);
        count[lf_sample(w, N, &cfg, &r, scratch)]++;
    }
    const double want[3] = {4.0 / 7, 2.0 / 7, 1.0 / 7};
    for (int i = 0; i < 3; i++) {
        const double f = (double)count[i] / DRAWS, sd = sqrt(want[i] * (1 - want[i]) / DRAWS);
        if (fabs(f - want[i]) > 5 * sd) fail_msg("id %d: frequency %.4f, expected %.4f (5 sd = %.4f)", i, f, want[i], 5 * sd);
    }
    for (int i = 3; i < N; i++) assert_int_equal(count[i], 0); /* id 2 wins the ties of the tail (lowest id) */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_tokens_as_full_sort),
        cmocka_unit_test(test_greedy_takes_argmax_without_a_draw),
        cmocka_unit_test(test_top_k_1_is_greedy),
        cmocka_unit_test(test_frequencies_follow_the_kept_distribution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
