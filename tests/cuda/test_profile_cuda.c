/* test_profile_cuda.c — the CUDA backend's per-op profile from CUPTI (issue 6's bars), on a
 * random-weight model of a real preset's shape:
 *   - every kernel of a decode step replayed from its CUDA graph is seen (kernel records == the
 *     graph's kernel nodes), each named like the kernel at its position in the eager step of the
 *     same shape, and each given an op category;
 *   - nothing is counted twice: the records' exclusive time fits in their span, which fits in the
 *     step's time from CUDA events around it;
 *   - the op categories of a graph decode step sum to the GPU time of the same step run without the
 *     profiler (CUDA events around the graph launch, median over the steps) within 5%: CUPTI's own
 *     cost (gaps it opens between kernels) is not counted in any category;
 *   - the engine hook's categories (what `linfer profile` prints) equal the trace's tagged time.
 * usage: test_profile_cuda [PRESET [N_LAYERS]]   (default smollm2-135m, all layers)
 * Exit 0 and "SKIP" without a GPU or without CUPTI (LF_CUPTI_REQUIRED=1 makes the latter a failure). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "linfer.h"
#include "cuda/cupti_trace.h"
#include "engine/backend.h"
#include "engine/gpu_query.h"
#include "model/model.h"
#include "perf/presets.h"
#include "perf/profile.h"

#define MAX_STEPS 512
typedef struct {
    linfer_engine *e;
    int steps, graph_steps, eager_steps, learned, failures;
    double worst_sum_err;      /* max over graph steps of |categories - traced event time| / event (diagnostic) */
    double cat_ms[MAX_STEPS];  /* categories of each graph decode step */
    int n_cat;
} checker;

typedef struct { linfer_engine *e; double ms[MAX_STEPS]; int n; } plain_steps;

/* token callback of an un-profiled run: the GPU time of the forward that made the token */
static int on_token(void *user, int seq, int32_t tok, const char *text) {
    (void)seq; (void)tok; (void)text;
    plain_steps *p = user;
    lf_cuda_trace_info ti;
    if (lf_cuda_last_trace(lf_engine_backend(p->e), &ti) == LINFER_OK && ti.from_graph && p->n < MAX_STEPS) p->ms[p->n++] = ti.event_ms;
    return 0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int fails = 0;
#define CHECK(c, ...) do { if (!(c)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void on_step(void *user, const lf_step_info *s) {
    checker *k = user;
    lf_cuda_trace_info ti;
    if (lf_cuda_last_trace(lf_engine_backend(k->e), &ti) != LINFER_OK || !ti.traced) { k->failures++; return; }
    k->steps++;
    double cat = 0;
    for (int o = 0; o < LF_OP_COUNT; o++) cat += s->op_ms[o];
    if (s->kind != LF_STEP_DECODE) return;   /* the prefill: several forwards; the hook sums them, the trace keeps the last */
    if (ti.learned) k->learned++;
    if (ti.from_graph) k->graph_steps++;
    else k->eager_steps++;
    const double eps = 1e-3; /* ms */
    CHECK(ti.n_kernels > 0, "decode step %d: no kernel records", s->index);
    if (ti.from_graph) {
        CHECK(ti.n_kernels == ti.n_expected, "decode step %d (graph): %d kernel records, the graph has %d kernel nodes", s->index,
              ti.n_kernels, ti.n_expected);
        CHECK(ti.n_name_mismatch == 0, "decode step %d (graph): %d kernels named unlike the eager step's at their position",
              s->index, ti.n_name_mismatch);
    }
    CHECK(ti.n_untagged == 0, "decode step %d (%s): %d kernels without an op category", s->index, ti.from_graph ? "graph" : "eager",
          ti.n_untagged);
    CHECK(ti.busy_ms <= ti.span_ms + eps, "decode step %d: exclusive time %.4f ms > span %.4f ms (double counted)", s->index,
          ti.busy_ms, ti.span_ms);
    CHECK(ti.span_ms <= ti.event_ms + 0.02, "decode step %d: records span %.4f ms > CUDA-event step time %.4f ms", s->index,
          ti.span_ms, ti.event_ms);
    CHECK(fabs(cat - ti.tagged_ms) <= eps, "decode step %d: the hook's categories %.4f ms != the trace's tagged time %.4f ms",
          s->index, cat, ti.tagged_ms);
    double err = ti.event_ms > 0 ? fabs(cat - ti.event_ms) / ti.event_ms : 1;
    if (ti.from_graph) {
        if (err > k->worst_sum_err) k->worst_sum_err = err;
        if (k->n_cat < MAX_STEPS) k->cat_ms[k->n_cat++] = cat;
    }
    if (s->index <= 3 || s->index % 8 == 0)
        printf("  decode step %2d %-5s kernels %3d (graph nodes %3d) mismatched %d untagged %d  event %.4f ms span %.4f busy %.4f "
               "idle %.4f categories %.4f (%.2f%%)  calls counted %s\n",
               s->index, ti.from_graph ? "graph" : "eager", ti.n_kernels, ti.n_expected, ti.n_name_mismatch, ti.n_untagged, ti.event_ms,
               ti.span_ms, ti.busy_ms, ti.idle_ms, cat, 100 * err, s->op_calls ? "yes" : "no");
}

int main(int argc, char **argv) {
    const char *preset = argc > 1 ? argv[1] : "smollm2-135m";
    if (lf_gpu_count() <= 0) { printf("SKIP test_profile_cuda: no CUDA device\n"); return 0; }
    lf_config cfg;
    if (lf_preset_model(preset, &cfg)) { fprintf(stderr, "%s\n", linfer_last_error()); return 2; }
    if (argc > 2) cfg.n_layers = atoi(argv[2]);
    lf_model *m = NULL;
    if (lf_model_create_random(&cfg, LF_DT_F16, 7, &m)) { fprintf(stderr, "%s\n", linfer_last_error()); return 1; }
    linfer_engine_params ep = linfer_engine_default_params();
    ep.device = LINFER_DEVICE_CUDA;
    ep.max_context = 160;
    linfer_engine *e = NULL;
    if (linfer_engine_create(m, &ep, &e)) { fprintf(stderr, "cuda: %s\n", linfer_last_error()); return 1; }
    int32_t prompt[64];
    for (int i = 0; i < 64; i++) prompt[i] = (int32_t)((i * 7919u + 13u) % (unsigned)cfg.vocab_size);
    const int32_t *pr[1] = {prompt};
    size_t lens[1] = {64};
    linfer_sampling_params sp = linfer_sampling_default_params();
    sp.max_new_tokens = 40;
    sp.ignore_eos = 1;
    linfer_gen_stats st;
    if (linfer_generate(e, 1, pr, lens, &sp, NULL, NULL, NULL, NULL, &st)) { fprintf(stderr, "%s\n", linfer_last_error()); return 1; }
    /* the un-profiled GPU time of a graph decode step */
    static plain_steps plain;
    plain.e = e;
    if (lf_cuda_set_step_events(lf_engine_backend(e), 1) ||
        linfer_generate(e, 1, pr, lens, &sp, on_token, &plain, NULL, NULL, &st) || lf_cuda_set_step_events(lf_engine_backend(e), 0)) {
        fprintf(stderr, "%s\n", linfer_last_error());
        return 1;
    }
    const double tpot_plain = st.tpot_ms;
    const int n_plain = plain.n;
    const double plain_ms = median(plain.ms, plain.n);
    static checker k;
    k.e = e;
    lf_engine_set_step_hook(e, on_step, &k);
    int rc = linfer_generate(e, 1, pr, lens, &sp, NULL, NULL, NULL, NULL, &st);
    const char *src = lf_engine_backend(e)->timing_source;
    if (!rc && (!lf_cupti_active() && k.steps == 0)) {
        const char *req = getenv("LF_CUPTI_REQUIRED");
        printf("%s test_profile_cuda: CUPTI not available (%s)\n", req && *req == '1' ? "FAIL" : "SKIP", src ? src : "?");
        return req && *req == '1' ? 1 : 0;
    }
    /* a second profiled run: CUPTI stopped and started again, the traced graphs reused */
    if (!rc) {
        lf_engine_set_step_hook(e, NULL, NULL);
        rc = linfer_generate(e, 1, pr, lens, &sp, NULL, NULL, NULL, NULL, &st);
        lf_engine_set_step_hook(e, on_step, &k);
        if (!rc) rc = linfer_generate(e, 1, pr, lens, &sp, NULL, NULL, NULL, NULL, &st);
    }
    lf_engine_set_step_hook(e, NULL, NULL);
    if (rc) { fprintf(stderr, "generate: %s\n", linfer_last_error()); return 1; }
    const int n_cat = k.n_cat;
    const double cat_med = median(k.cat_ms, k.n_cat);
    const double sum_err = fabs(cat_med - plain_ms) / plain_ms;
    printf("%s (%d layers): %d steps traced (%d eager decode, %d graph decode, %d learned)\n"
           "  graph decode step: categories %.4f ms (median of %d profiled) vs GPU time un-profiled %.4f ms (median of %d, CUDA events): "
           "%.2f%% apart; traced steps' own event time is up to %.1f%% longer (CUPTI's gaps)\n"
           "  TPOT un-profiled %.3f ms, profiled %.3f ms\n  op times: %s\n",
           preset, cfg.n_layers, k.steps, k.eager_steps, k.graph_steps, k.learned, cat_med, n_cat, plain_ms, n_plain, 100 * sum_err,
           100 * k.worst_sum_err, tpot_plain, st.tpot_ms, src ? src : "?");
    CHECK(n_plain >= 10, "only %d un-profiled decode steps ran from a graph", n_plain);
    CHECK(sum_err <= 0.05, "categories %.4f ms vs un-profiled GPU step %.4f ms: %.1f%% apart (bar 5%%)", cat_med, plain_ms, 100 * sum_err);
    CHECK(k.failures == 0, "%d steps without a trace", k.failures);
    CHECK(k.learned >= 1, "no eager step learned a kernel sequence");
    CHECK(k.graph_steps >= 10, "only %d decode steps ran from a CUDA graph under the profiler", k.graph_steps);
    linfer_engine_free(e);
    linfer_model_free(m);
    printf("%s test_profile_cuda: %d failures\n", fails ? "FAIL" : "PASS", fails);
    return fails ? 1 : 0;
}
