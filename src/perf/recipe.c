/* recipe.c — the recipes of `linfer bench --recipe` (preset sweeps taken from the seeds'
 * experiments), the TP planning that refuses impossible TP values and skips the ones the engine
 * cannot run yet, the conclusion checkers (seed's claim against the measured points and the
 * roofline), and bench's JSON/CSV with the recipe added to the metadata. See recipe.h and
 * docs/bench.md ("Recipes"). */
#include "recipe.h"
#include "../core/atomic_file.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- the recipes ------------------------------------------------------------------------------ */
/* Seed 000 = ../shared/seeds/000_2793ddd101e6a5ef.txt (DeepSpeed / transformers / FasterTransformer
 * on LLaMA-13B and -65B); seed 004 = ../shared/seeds/004_74648147ce613874.txt (DeepSpeed-Inference).
 * Where a seed gives a value in its text it is used; the other values were only in the seed's
 * charts (images, not in the text) and are chosen to bracket the seed's stated thresholds. */
static const lf_recipe recipes[] = {
    /* seed 000, section 二 2.1 (实验 1): "固定输出 tokens 数和 tp 数 ... 设置不同输入 tokens 数和
     * batch_size"; the 13b chart: "固定 num_gpus=1, output_ids_len=20. 当 batch_size<8 时，输入长度
     * 几乎不影响 latency". out 20 and TP 1 from the text; in and batch bracket the threshold of 8. */
    {LF_RECIPE_EXP1, "exp1", "latency over input length x batch (out 20, TP fixed)", "seed 000, section 二 2.1 (实验 1)",
     "llama-13b", "llama-13b", "1,2,4,8,16,32,64", "32,128,512", "20", "1", "v100-32"},
    /* seed 000, section 二 2.2 (实验 2): "固定输入 id 长度 ... 设置不同输出 id 长度和 batch_size";
     * conclusion "输出 output_ids 长度不影响 latency". The fixed input length is not in the text. */
    {LF_RECIPE_EXP2, "exp2", "per-token latency over output length x batch (in fixed)", "seed 000, section 二 2.2 (实验 2)",
     "llama-13b", "llama-13b", "1,4,16,64", "128", "32,64,128,256", "1", "v100-32"},
    /* seed 000, section 二 2.3 (实验 3): "固定 input_ids_len=20, output_ids_len=100", TP × batch;
     * conclusions on latency and tps, "batch_size 范围在 [32, 256] 性价比最高" (so batch reaches 256).
     * Section 三 runs the same in/out on 4 V100 and 4 T4: TP 1, 2, 4 and the V100 as the reference. */
    {LF_RECIPE_EXP3, "exp3", "latency and tok/s over TP x batch (in 20, out 100)", "seed 000, section 二 2.3 (实验 3) and 三",
     "llama-13b", "llama-13b", "1,2,4,8,16,32,64,128,256", "20", "100", "1,2,4", "v100-32"},
    /* seed 000, section 二 2.4 (实验 4): "设置不同的 input_ids_len、output_ids_len、batch_size、num_gpus
     * 分析 cpu 峰值、gpu 显存的变化情况". Values are not in the text: two input lengths, batch up to
     * where llama-13b stops fitting, 1/2/4 GPUs. */
    {LF_RECIPE_EXP4, "exp4", "peak GPU and host memory over in x out x batch x GPUs", "seed 000, section 二 2.4 (实验 4)",
     "llama-13b", "llama-13b", "1,4,16,64,256", "128,1024", "128", "1,2,4", "v100-32"},
    /* seed 004, section 2.3: bloom-7b1 on 8x A6000 (deepspeed --num_gpus 8, mp_size 8), 100 new
     * tokens ("Starting to generate 100 tokens"), prompts like "DeepSpeed is a machine learning
     * framework" (about 8 tokens), batch 1, 8, 16, 32, 64, 128, fp16. BLOOM does not run in the
     * engine: llama-2-7b (the same size) is measured; bloom-7b1 is kept for the seed's own setup. */
    {LF_RECIPE_DS_TABLE, "ds-table", "ms per token over batch 1..128 (in 8, out 100)", "seed 004, section 2.3 (DeepSpeed vs Accelerate table)",
     "llama-2-7b", "bloom-7b1", "1,8,16,32,64,128", "8", "100", "1", "rtx-a6000"},
};
#define N_RECIPES ((int)(sizeof recipes / sizeof recipes[0]))

/* seed 004, section 2.3, row "ds-inference fp16" (ms per token = time / (batch · new tokens)). */
static const lf_seed_ms_token seed004[] = {{1, 19.33}, {8, 2.42}, {16, 1.20}, {32, 0.63}, {64, 0.38}, {128, 0.27}};
#define N_SEED004 ((int)(sizeof seed004 / sizeof seed004[0]))
#define SEED004_TP 8
#define SEED004_IN 8
#define SEED004_OUT 100

const lf_seed_ms_token *lf_recipe_seed004(int *n) {
    if (n) *n = N_SEED004;
    return seed004;
}

const lf_recipe *lf_recipes(int *n) {
    if (n) *n = N_RECIPES;
    return recipes;
}

const char *lf_recipe_names(char *buf, size_t cap) {
    size_t len = 0;
    if (!cap) return buf;
    buf[0] = 0;
    for (int i = 0; i < N_RECIPES; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", recipes[i].name);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
    return buf;
}

lf_status lf_recipe_lookup(const char *name, const lf_recipe **out) {
    *out = NULL;
    for (int i = 0; i < N_RECIPES; i++)
        if (name && !strcasecmp(name, recipes[i].name)) { *out = &recipes[i]; return LINFER_OK; }
    char names[256];
    return lf_fail(LINFER_ERR_INVALID_ARG, "--recipe '%s': unknown recipe (known: %s)", name ? name : "", lf_recipe_names(names, sizeof names));
}

const char *lf_verdict_name(lf_verdict v) {
    switch (v) {
    case LF_VERDICT_AGREES: return "AGREES";
    case LF_VERDICT_DISAGREES: return "DISAGREES";
    case LF_VERDICT_INCONCLUSIVE: return "INCONCLUSIVE";
    }
    return "?";
}

/* ---- tensor parallelism ------------------------------------------------------------------------ */
static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

lf_status lf_recipe_check_tp(const lf_roofline_model *m, const int *tp, int ntp, int max_tp, const char *node) {
    if (ntp < 1 || !tp) return lf_fail(LINFER_ERR_INVALID_ARG, "--tp: empty list");
    for (int i = 0; i < ntp; i++) {
        int t = tp[i];
        if (t < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: must be at least 1", t);
        if (!is_pow2(t)) return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: tensor parallelism must be a power of two", t);
        if (max_tp > 0 && t > max_tp)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: larger than the %d GPUs of one %s node", t, max_tp, node ? node : "GPU");
        if (m->n_heads % t)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's %d attention heads are not divisible by %d", t, m->name, m->n_heads, t);
        if (m->n_kv_heads % t && t % m->n_kv_heads)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's %d KV heads neither divide among nor replicate over %d GPUs", t, m->name,
                           m->n_kv_heads, t);
        if (m->ffn_dim % t)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's FFN width %d is not divisible by %d", t, m->name, m->ffn_dim, t);
    }
    return LINFER_OK;
}

lf_status lf_recipe_plan_tp(const int *tp, int ntp, int n_gpus, lf_recipe_tp *plan, int *n_run) {
    *n_run = 0;
    if (ntp < 1 || !tp) return lf_fail(LINFER_ERR_INVALID_ARG, "--tp: empty list");
    int devices = n_gpus > 0 ? n_gpus : 1;
    for (int i = 0; i < ntp; i++) {
        lf_recipe_tp *p = &plan[i];
        memset(p, 0, sizeof *p);
        p->tp = tp[i];
        if (tp[i] == 1) { p->run = 1; (*n_run)++; continue; }
        if (n_gpus <= 0) snprintf(p->why, sizeof p->why, "recipes run TP 1 only (`linfer bench --tp N` runs a sweep at TP N), and this run is on the CPU");
        else if (tp[i] > devices)
            snprintf(p->why, sizeof p->why, "recipes run TP 1 only (`linfer bench --tp N` runs a sweep at TP N), and this machine has %d GPU%s", n_gpus,
                     n_gpus == 1 ? "" : "s");
        else snprintf(p->why, sizeof p->why, "recipes run TP 1 only (`linfer bench --tp N` runs a sweep at TP N)");
    }
    if (*n_run == 0) {
        char list[256] = "";
        size_t l = 0;
        for (int i = 0; i < ntp && l < sizeof list; i++) l += (size_t)snprintf(list + l, sizeof list - l, "%s%d", i ? "," : "", tp[i]);
        return lf_fail(LINFER_ERR_UNSUPPORTED, "--tp %s: nothing to run: the engine runs TP 1 only (%s); add 1 to the list, or use "
                       "`linfer roofline --tp %s` for predictions alone", list, plan[0].why, list);
    }
    return LINFER_OK;
}

const char *lf_recipe_skipped_text(const lf_recipe_tp *plan, int ntp, char *buf, size_t cap) {
    size_t l = 0;
    int k = 0;
    const char *why = "";
    buf[0] = 0;
    for (int i = 0; i < ntp; i++) {
        if (plan[i].run) continue;
        if (l < cap) l += (size_t)snprintf(buf + l, cap - l, "%s%d", k ? ", " : "TP ", plan[i].tp);
        if (strlen(plan[i].why) > strlen(why)) why = plan[i].why;
        k++;
    }
    if (k && l < cap) snprintf(buf + l, cap - l, " not run: %s", why);
    return buf;
}

/* ---- points ----------------------------------------------------------------------------------- */
void lf_recipe_points_from_bench(const lf_bench_result *res, int n, int gpu, lf_recipe_point *out) {
    for (int i = 0; i < n; i++) {
        const lf_bench_result *r = &res[i];
        lf_recipe_point *p = &out[i];
        memset(p, 0, sizeof *p);
        p->tp = 1;
        p->batch = r->pt.batch;
        p->in_len = r->pt.in_len;
        p->out_len = r->pt.out_len;
        p->measured = r->state == LF_BENCH_OK && r->reps > 0;
        p->nofit = r->state == LF_BENCH_NOFIT;
        p->e2e_ms = p->measured ? r->e2e_ms : NAN;
        p->tpot_ms = p->measured ? r->tpot_ms : NAN;
        p->out_tok_s = p->measured ? r->out_tok_s : NAN;
        p->host_gib = r->peak_rss_bytes / GIB;
        p->mem_gib = p->measured ? (gpu ? r->gpu_mem_bytes / GIB : p->host_gib) : NAN;
        p->pred_e2e_ms = r->pred_e2e_ms;
        p->pred_tpot_ms = r->pred_tpot_ms;
        p->pred_tok_s = (double)r->pt.batch * r->pt.out_len / (r->pred_e2e_ms * 1e-3);
        p->pred_mem_gib = r->pred_mem_bytes / GIB;
        p->pred_max_batch = 0;
    }
}

lf_status lf_recipe_predict_tp(const lf_roofline_model *m, const lf_hw *hw_in, int cpu_fp32, lf_prec prec, const int *tp, int ntp,
                               const lf_bench_point *pts, int n, lf_recipe_point **out, int *nout) {
    *out = NULL;
    *nout = 0;
    if (!m || !hw_in || !tp || ntp < 1 || n < 0 || (n && !pts)) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_recipe_predict_tp: bad arguments");
    lf_recipe_point *v = calloc((size_t)ntp * (size_t)(n ? n : 1), sizeof *v);
    if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_hw hw = *hw_in;
    lf_roofline_opts ro;
    lf_roofline_default_opts(&ro);
    double scale = 1;
    if (cpu_fp32) { /* as bench.c's predictions for the CPU backend */
        scale = 2;
        hw.hbm_bw /= 2;
        hw.measured.read_bw /= 2;
        ro.workspace_bytes = 0;
        ro.launch_s = 0;
        ro.kernel_s = 0;
    } else ro.ar_bytes = 4;   /* the CUDA engine all-reduces its fp32 residual */
    int k = 0;
    for (int t = 0; t < ntp; t++) {
        for (int i = 0; i < n; i++) {
            int dup = 0;   /* distinct (batch, in, out) only */
            for (int j = 0; j < i && !dup; j++)
                dup = pts[j].batch == pts[i].batch && pts[j].in_len == pts[i].in_len && pts[j].out_len == pts[i].out_len;
            if (dup) continue;
            lf_roofline_result rr;
            lf_status s = lf_roofline_point(m, &hw, &ro, tp[t], pts[i].batch, pts[i].in_len, pts[i].out_len, prec, &rr);
            if (s) { free(v); return lf_fail_prefix(s, "roofline at TP %d, batch %d, in %d, out %d", tp[t], pts[i].batch, pts[i].in_len, pts[i].out_len); }
            lf_recipe_point *p = &v[k++];
            p->tp = tp[t];
            p->batch = pts[i].batch;
            p->in_len = pts[i].in_len;
            p->out_len = pts[i].out_len;
            p->e2e_ms = p->tpot_ms = p->out_tok_s = p->mem_gib = p->host_gib = NAN;
            p->pred_e2e_ms = rr.e2e_s * 1e3;
            p->pred_tpot_ms = pts[i].out_len > 1 ? rr.tpot_mean_s * 1e3 : NAN;
            p->pred_tok_s = rr.throughput_tok_s;
            p->pred_mem_gib = rr.mem.total * scale / GIB;
            p->pred_max_batch = rr.max_batch;
        }
    }
    *out = v;
    *nout = k;
    return LINFER_OK;
}

/* ---- helpers of the checkers --------------------------------------------------------------------- */
int lf_recipe_flat_until(const double *ys, int n, double tol) {
    if (n <= 0 || !isfinite(ys[0])) return -1;
    int last = 0;
    for (int i = 1; i < n; i++) {
        if (!(ys[i] <= (1 + tol) * ys[0])) break;   /* NAN and +inf end the flat run */
        last = i;
    }
    return last;
}

/* Last index up to which every value is <= tol (-1 when the first is not). */
static int within_until(const double *v, int n, double tol) {
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (!(v[i] <= tol)) break;
        last = i;
    }
    return last;
}

typedef double (*getter)(const lf_recipe_point *);
static double g_e2e(const lf_recipe_point *p) { return p->e2e_ms; }
static double g_pe2e(const lf_recipe_point *p) { return p->pred_e2e_ms; }
static double g_tpot(const lf_recipe_point *p) { return p->tpot_ms; }
static double g_ptpot(const lf_recipe_point *p) { return p->pred_tpot_ms; }
static double g_tok(const lf_recipe_point *p) { return p->out_tok_s; }
static double g_ptok(const lf_recipe_point *p) { return p->pred_tok_s; }
static double g_mem(const lf_recipe_point *p) { return p->nofit ? INFINITY : p->mem_gib; }
static double g_pmem(const lf_recipe_point *p) { return p->pred_mem_gib; }
static double g_mspt(const lf_recipe_point *p) { return 1e3 / p->out_tok_s; }
static double g_pmspt(const lf_recipe_point *p) { return 1e3 / p->pred_tok_s; }

#define MAXS 256   /* distinct batches in one series */

/* Values of g over ascending distinct batches for points with this tp, in and out (in/out -1: any;
 * the first point of a batch wins). Batches whose value is not finite (and not +inf) are left out
 * when skip_nan. Returns the number of batches. */
static int series(const lf_recipe_point *p, int n, int tp, int in, int out, getter g, int skip_nan, int *xb, double *y) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].tp != tp || (in >= 0 && p[i].in_len != in) || (out >= 0 && p[i].out_len != out)) continue;
        double v = g(&p[i]);
        if (skip_nan && isnan(v)) continue;
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= xb[j] == p[i].batch;
        if (dup || k >= MAXS) continue;
        int at = k;   /* insertion sort by batch */
        while (at > 0 && xb[at - 1] > p[i].batch) { xb[at] = xb[at - 1]; y[at] = y[at - 1]; at--; }
        xb[at] = p[i].batch;
        y[at] = v;
        k++;
    }
    return k;
}

/* For each ascending batch: max/min - 1 of g across the points that differ only in `in` (vary_in)
 * or `out`, with the other length fixed to `fixed`. *nvary: most distinct values seen at a batch. */
static int spread_by_batch(const lf_recipe_point *p, int n, int tp, int vary_in, int fixed, getter g, int *xb, double *spread, int *nvary) {
    int k = 0;
    *nvary = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].tp != tp || (vary_in ? p[i].out_len : p[i].in_len) != fixed) continue;
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= xb[j] == p[i].batch;
        if (dup || k >= MAXS) continue;
        int at = k;
        while (at > 0 && xb[at - 1] > p[i].batch) { xb[at] = xb[at - 1]; spread[at] = spread[at - 1]; at--; }
        xb[at] = p[i].batch;
        k++;
        double lo = INFINITY, hi = -INFINITY;
        int cnt = 0;
        for (int j = 0; j < n; j++) {
            if (p[j].tp != tp || p[j].batch != p[i].batch || (vary_in ? p[j].out_len : p[j].in_len) != fixed) continue;
            double v = g(&p[j]);
            if (!isfinite(v) || v <= 0) continue;
            cnt++;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        spread[at] = cnt >= 2 ? hi / lo - 1 : NAN;
        if (cnt > *nvary) *nvary = cnt;
    }
    /* drop batches without a spread */
    int m = 0;
    for (int i = 0; i < k; i++)
        if (isfinite(spread[i])) { xb[m] = xb[i]; spread[m] = spread[i]; m++; }
    return m;
}

/* Distinct TP values of points, ascending. */
static int tp_values(const lf_recipe_point *p, int n, int *tps, int cap) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= tps[j] == p[i].tp;
        if (dup || k >= cap) continue;
        int at = k;
        while (at > 0 && tps[at - 1] > p[i].tp) { tps[at] = tps[at - 1]; at--; }
        tps[at] = p[i].tp;
        k++;
    }
    return k;
}

/* string builder */
typedef struct {
    char *b;
    size_t cap, len;
} sb;
static void sbf(sb *s, const char *fmt, ...) LF_PRINTF(2, 3);
static void sbf(sb *s, const char *fmt, ...) {
    if (s->len >= s->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (w > 0) s->len += (size_t)w < s->cap - s->len ? (size_t)w : s->cap - s->len - 1;
}
#define SB(arr) ((sb){(arr), sizeof(arr), strlen(arr)})

/* one decimal below 100% (so that 10.4% does not read as the 10% limit) */
static const char *pct(double x, char *buf, size_t cap) {
    snprintf(buf, cap, fabs(x) < 1 ? "%.1f%%" : "%.0f%%", 100 * x);
    return buf;
}

/* "%.3g" without exponents for the sizes at hand */
static const char *num(double x, char *buf, size_t cap) {
    if (!isfinite(x)) snprintf(buf, cap, isinf(x) ? "does not fit" : "n/a");
    else if (fabs(x) >= 100) snprintf(buf, cap, "%.0f", x);
    else if (fabs(x) >= 10) snprintf(buf, cap, "%.1f", x);
    else if (fabs(x) >= 1) snprintf(buf, cap, "%.2f", x);
    else snprintf(buf, cap, "%.3g", x);
    return buf;
}

static void finish(lf_conclusion *c) {
    snprintf(c->text, sizeof c->text, "seed says %s; measured: %s; roofline: %s; %s%s", c->claim, c->measured, c->roofline,
             lf_verdict_name(c->verdict), c->roofline_only ? " (roofline only)" : "");
}

static void init(lf_conclusion *c, const char *claim) {
    memset(c, 0, sizeof *c);
    snprintf(c->claim, sizeof c->claim, "%s", claim);
    c->verdict = LF_VERDICT_INCONCLUSIVE;
}

/* First point's in and out (the recipes fix them; with overrides, the first of each list). */
static void first_lengths(const lf_recipe_data *d, int *in, int *out) {
    *in = d->n ? d->pts[0].in_len : 0;
    *out = d->n ? d->pts[0].out_len : 0;
}

/* No point finished: says so (and how many did not fit) and returns 1. */
static int none_measured(const lf_recipe_data *d, char *buf, size_t cap) {
    int m = 0, nofit = 0;
    for (int i = 0; i < d->n; i++) {
        m += d->pts[i].measured;
        nofit += d->pts[i].nofit;
    }
    if (m) return 0;
    if (nofit) snprintf(buf, cap, "no point finished (%d of %d did not fit in memory)", nofit, d->n);
    else snprintf(buf, cap, "no point finished");
    return 1;
}

static const char *no_roofline(const lf_recipe_data *d) {
    (void)d;
    return "no ceilings (--hw none), nothing predicted";
}

/* Describe where in a flat-then-rising series the rise starts: "within 10% of batch 1 up to batch
 * 16, +48% at batch 32". what: "latency", "memory". */
static void describe_flat(sb *s, const int *xb, const double *y, int k, int idx, const char *unit) {
    char a[32], b[32], c[32];
    if (k == 0) { sbf(s, "no finished points"); return; }
    if (idx < 0) { sbf(s, "no value at batch %d", xb[0]); return; }
    sbf(s, "within %.0f%% of batch %d's %s%s up to batch %d", 100 * LF_RECIPE_TOL, xb[0], num(y[0], a, sizeof a), unit, xb[idx]);
    if (idx + 1 < k) {
        if (isinf(y[idx + 1])) sbf(s, ", batch %d does not fit", xb[idx + 1]);
        else sbf(s, ", %s%s at batch %d (+%s)", num(y[idx + 1], b, sizeof b), unit, xb[idx + 1], pct(y[idx + 1] / y[0] - 1, c, sizeof c));
        if (idx + 2 < k) {
            if (isinf(y[k - 1])) sbf(s, ", batch %d does not fit", xb[k - 1]);
            else sbf(s, ", %s%s at batch %d", num(y[k - 1], a, sizeof a), unit, xb[k - 1]);
        }
    } else sbf(s, " (the whole sweep)");
}

/* B per TP from tp_pts: the flat-run batch of getter g (or of the spread across in when spread). */
static void per_tp_flat(sb *s, const lf_recipe_data *d, int in, int out, getter g, int spread_in, int *bs, int *tps, int *ntp) {
    int tv[16];
    *ntp = tp_values(d->tp_pts, d->n_tp, tv, 16);
    for (int t = 0; t < *ntp; t++) {
        int xb[MAXS], nv;
        double y[MAXS];
        int k, idx;
        if (spread_in) {
            k = spread_by_batch(d->tp_pts, d->n_tp, tv[t], 1, out, g, xb, y, &nv);
            idx = within_until(y, k, LF_RECIPE_TOL);
        } else {
            k = series(d->tp_pts, d->n_tp, tv[t], in, out, g, 1, xb, y);
            idx = lf_recipe_flat_until(y, k, LF_RECIPE_TOL);
        }
        tps[t] = tv[t];
        bs[t] = idx >= 0 ? xb[idx] : 0;
        sbf(s, "%sTP %d ", t ? ", " : "", tv[t]);
        if (idx < 0) sbf(s, "at no batch");
        else sbf(s, "up to batch %d%s", xb[idx], idx == k - 1 ? " (the whole sweep)" : "");
    }
}

/* AGREES when bs grows with TP (never falls, larger at the largest TP than at the smallest). */
static lf_verdict grows(const int *bs, int n) {
    if (n < 2) return LF_VERDICT_INCONCLUSIVE;
    for (int i = 1; i < n; i++)
        if (bs[i] < bs[i - 1]) return LF_VERDICT_DISAGREES;
    return bs[n - 1] > bs[0] ? LF_VERDICT_AGREES : LF_VERDICT_INCONCLUSIVE;
}

static void measured_tp1_only(lf_conclusion *c, const lf_recipe_data *d) {
    snprintf(c->measured, sizeof c->measured, "TP 1 only%s%s%s", d->skipped && *d->skipped ? " (" : "", d->skipped ? d->skipped : "",
             d->skipped && *d->skipped ? ")" : "");
}

/* ---- exp1: input length x batch ---------------------------------------------------------------- */
static int conclude_exp1(const lf_recipe_data *d, lf_conclusion *c, int cap) {
    int in0, out0, nc = 0;
    first_lengths(d, &in0, &out0);
    lf_conclusion *a = &c[nc++];
    init(a, "input length barely changes latency at small batch and more and more above a threshold batch "
            "(seed 000 2.1: below batch 8 for llama-13b on 1 GPU, out 20)");
    int xb[MAXS], nv;
    double sp[MAXS];
    char p1[32], p2[32];
    sb m = SB(a->measured);
    int k = spread_by_batch(d->pts, d->n, 1, 1, out0, g_e2e, xb, sp, &nv);
    if (none_measured(d, a->measured, sizeof a->measured)) {
    } else if (nv < 2) sbf(&m, "needs two or more --in values at one batch (end-to-end latency spread across input lengths)");
    else {
        int idx = within_until(sp, k, LF_RECIPE_TOL);
        if (idx < 0) {
            sbf(&m, "input length changes latency by %s already at batch %d", pct(sp[0], p1, sizeof p1), xb[0]);
            a->verdict = LF_VERDICT_DISAGREES;
        } else if (idx == k - 1) {
            double mx = 0;
            for (int i = 0; i < k; i++) mx = sp[i] > mx ? sp[i] : mx;
            sbf(&m, "latency within %.0f%% across input lengths at every batch up to %d (largest spread %s): no threshold in the sweep",
                100 * LF_RECIPE_TOL, xb[k - 1], pct(mx, p1, sizeof p1));
        } else {
            sbf(&m, "latency within %.0f%% across input lengths up to batch B=%d (spread %s at batch %d), %s at batch %d", 100 * LF_RECIPE_TOL,
                xb[idx], pct(sp[0], p1, sizeof p1), xb[0], pct(sp[idx + 1], p2, sizeof p2), xb[idx + 1]);
            if (idx + 2 < k) sbf(&m, ", %s at batch %d", pct(sp[k - 1], p1, sizeof p1), xb[k - 1]);
            a->verdict = LF_VERDICT_AGREES;
        }
    }
    sb r = SB(a->roofline);
    if (!d->have_roofline) sbf(&r, "%s", no_roofline(d));
    else {
        int kr = spread_by_batch(d->pts, d->n, 1, 1, out0, g_pe2e, xb, sp, &nv);
        int idx = within_until(sp, kr, LF_RECIPE_TOL);
        if (nv < 2) sbf(&r, "needs two or more --in values");
        else if (idx < 0) sbf(&r, "input length changes latency by %s already at batch %d", pct(sp[0], p1, sizeof p1), xb[0]);
        else if (idx == kr - 1) sbf(&r, "within %.0f%% at every batch up to %d", 100 * LF_RECIPE_TOL, xb[kr - 1]);
        else sbf(&r, "within %.0f%% up to batch B=%d, %s at batch %d", 100 * LF_RECIPE_TOL, xb[idx], pct(sp[idx + 1], p2, sizeof p2), xb[idx + 1]);
    }
    finish(a);
    /* the threshold grows with the number of GPUs: needs TP values beyond 1 (roofline) */
    int tv[16];
    if (nc < cap && d->have_roofline && tp_values(d->tp_pts, d->n_tp, tv, 16) >= 2) {
        lf_conclusion *b = &c[nc++];
        init(b, "the batch threshold above which input length matters grows with the number of GPUs (seed 000 2.1)");
        measured_tp1_only(b, d);
        sb rb = SB(b->roofline);
        int bs[16], tps[16], ntp;
        sbf(&rb, "on %s, latency within %.0f%% across input lengths at ", d->tp_hw ? d->tp_hw : "?", 100 * LF_RECIPE_TOL);
        per_tp_flat(&rb, d, in0, out0, g_pe2e, 1, bs, tps, &ntp);
        b->verdict = grows(bs, ntp);
        b->roofline_only = 1;
        finish(b);
    }
    return nc;
}

/* ---- exp2: output length x batch -------------------------------------------------------------- */
static int conclude_exp2(const lf_recipe_data *d, lf_conclusion *c, int cap) {
    (void)cap;
    int in0, out0;
    first_lengths(d, &in0, &out0);
    lf_conclusion *a = &c[0];
    init(a, "at a fixed input length the output length does not change latency (seed 000 2.2, per-token latency)");
    int xb[MAXS], nv;
    double sp[MAXS];
    char p1[32];
    sb m = SB(a->measured);
    int k = spread_by_batch(d->pts, d->n, 1, 0, in0, g_tpot, xb, sp, &nv);
    if (none_measured(d, a->measured, sizeof a->measured)) {
    } else if (nv < 2) sbf(&m, "needs two or more --out values (above 1) at one batch");
    else {
        int worst = 0;
        for (int i = 1; i < k; i++) worst = sp[i] > sp[worst] ? i : worst;
        sbf(&m, "TPOT varies across output lengths by at most %s (batch %d)", pct(sp[worst], p1, sizeof p1), xb[worst]);
        if (k > 1) {
            sbf(&m, "; per batch:");
            for (int i = 0; i < k; i++) sbf(&m, " %d: %s", xb[i], pct(sp[i], p1, sizeof p1));
        }
        a->verdict = sp[worst] <= LF_RECIPE_TOL ? LF_VERDICT_AGREES : LF_VERDICT_DISAGREES;
    }
    sb r = SB(a->roofline);
    if (!d->have_roofline) sbf(&r, "%s", no_roofline(d));
    else {
        k = spread_by_batch(d->pts, d->n, 1, 0, in0, g_ptpot, xb, sp, &nv);
        if (nv < 2) sbf(&r, "needs two or more --out values");
        else {
            int worst = 0;
            for (int i = 1; i < k; i++) worst = sp[i] > sp[worst] ? i : worst;
            sbf(&r, "TPOT varies by at most %s (batch %d): each step reads the weights once, only the KV reads grow with the context",
                pct(sp[worst], p1, sizeof p1), xb[worst]);
        }
    }
    finish(a);
    return 1;
}

/* ---- exp3: TP x batch --------------------------------------------------------------------------- */
static int conclude_exp3(const lf_recipe_data *d, lf_conclusion *c, int cap) {
    int in0, out0, nc = 0;
    first_lengths(d, &in0, &out0);
    int tv[16], ntp = d->have_roofline ? tp_values(d->tp_pts, d->n_tp, tv, 16) : 0;
    char a1[32], a2[32], a3[32];

    /* 1. latency falls as TP grows */
    lf_conclusion *a = &c[nc++];
    init(a, "latency falls as TP (GPUs) grows (seed 000 2.3)");
    measured_tp1_only(a, d);
    a->roofline_only = 1;
    sb r = SB(a->roofline);
    if (!d->have_roofline) sbf(&r, "%s", no_roofline(d));
    else if (ntp < 2) sbf(&r, "only TP 1 asked (give --tp 1,2,4)");
    else {
        int xb0[MAXS], k0;
        double y0[MAXS];
        k0 = series(d->tp_pts, d->n_tp, tv[0], in0, out0, g_pe2e, 1, xb0, y0);
        int falls = 1, bad_b = 0, bad_t = 0;
        for (int bi = 0; bi < k0; bi++) {
            double prev = y0[bi];
            for (int t = 1; t < ntp; t++) {
                int xb[MAXS];
                double y[MAXS];
                int k = series(d->tp_pts, d->n_tp, tv[t], in0, out0, g_pe2e, 1, xb, y);
                for (int j = 0; j < k; j++)
                    if (xb[j] == xb0[bi]) {
                        if (!(y[j] < prev) && falls) { falls = 0; bad_b = xb0[bi]; bad_t = tv[t]; }
                        prev = y[j];
                    }
            }
        }
        sbf(&r, "end-to-end ms on %s", d->tp_hw ? d->tp_hw : "?");
        int show[2] = {0, k0 - 1};
        for (int s = 0; s < (k0 > 1 ? 2 : 1); s++) {
            sbf(&r, "%s at batch %d:", s ? ";" : "", xb0[show[s]]);
            for (int t = 0; t < ntp; t++) {
                int xb[MAXS];
                double y[MAXS];
                int k = series(d->tp_pts, d->n_tp, tv[t], in0, out0, g_pe2e, 1, xb, y);
                for (int j = 0; j < k; j++)
                    if (xb[j] == xb0[show[s]]) sbf(&r, "%s TP %d: %s", t ? "," : "", tv[t], num(y[j], a1, sizeof a1));
            }
        }
        if (falls) sbf(&r, " (falls with every TP step at every batch)");
        else sbf(&r, " (does not fall at TP %d, batch %d)", bad_t, bad_b);
        a->verdict = falls ? LF_VERDICT_AGREES : LF_VERDICT_DISAGREES;
    }
    finish(a);

    /* 2. latency does not rise with batch below a threshold */
    if (nc < cap) {
        lf_conclusion *b = &c[nc++];
        init(b, "latency does not rise as batch grows, up to a threshold batch (seed 000 2.3; the threshold grows with GPUs, 2.1)");
        int xb[MAXS];
        double y[MAXS];
        int k = series(d->pts, d->n, 1, in0, out0, g_e2e, 1, xb, y);
        sb m = SB(b->measured);
        if (none_measured(d, b->measured, sizeof b->measured)) {
        } else if (k < 2) sbf(&m, "needs two or more batch values that finished");
        else {
            int idx = lf_recipe_flat_until(y, k, LF_RECIPE_TOL);
            sbf(&m, "TP 1 end-to-end latency ");
            describe_flat(&m, xb, y, k, idx, " ms");
            b->verdict = idx >= 1 ? LF_VERDICT_AGREES : LF_VERDICT_DISAGREES;
        }
        sb rb = SB(b->roofline);
        if (!d->have_roofline) sbf(&rb, "%s", no_roofline(d));
        else {
            k = series(d->pts, d->n, 1, in0, out0, g_pe2e, 1, xb, y);
            int idx = lf_recipe_flat_until(y, k, LF_RECIPE_TOL);
            sbf(&rb, "TP 1 within %.0f%% of batch %d up to batch %d%s", 100 * LF_RECIPE_TOL, k > 0 ? xb[0] : 0, idx >= 0 ? xb[idx] : 0,
                idx == k - 1 ? " (the whole sweep)" : "");
            if (ntp >= 2) {
                int bs[16], tps[16], n2;
                sbf(&rb, "; on %s, within %.0f%% at ", d->tp_hw ? d->tp_hw : "?", 100 * LF_RECIPE_TOL);
                per_tp_flat(&rb, d, in0, out0, g_pe2e, 0, bs, tps, &n2);
                lf_verdict g = grows(bs, n2);
                sbf(&rb, " (%s with TP)", g == LF_VERDICT_AGREES ? "grows" : g == LF_VERDICT_DISAGREES ? "falls" : "same");
            }
        }
        finish(b);
    }

    /* 3. tok/s grows with TP and batch; best value at batch 32..256 */
    if (nc < cap) {
        lf_conclusion *e = &c[nc++];
        init(e, "tok/s grows with TP and with batch, best value at batch 32-256 (seed 000 2.3)");
        int xb[MAXS];
        double y[MAXS];
        int k = series(d->pts, d->n, 1, in0, out0, g_tok, 1, xb, y);
        sb m = SB(e->measured);
        if (none_measured(d, e->measured, sizeof e->measured)) {
        } else if (k < 2) sbf(&m, "needs two or more batch values that finished");
        else {
            int fall = -1, imax = 0;
            for (int i = 1; i < k; i++) {
                if (y[i] < 0.95 * y[i - 1] && fall < 0) fall = i;
                if (y[i] > y[imax]) imax = i;
            }
            int sat = 0;
            while (sat < k && y[sat] < 0.9 * y[imax]) sat++;
            sbf(&m, "TP 1 %s tok/s at batch %d -> %s at batch %d, 90%% of the best from batch %d", num(y[0], a1, sizeof a1), xb[0],
                num(y[k - 1], a2, sizeof a2), xb[k - 1], xb[sat]);
            if (fall >= 0) {
                sbf(&m, "; falls from batch %d to %d (%s -> %s)", xb[fall - 1], xb[fall], num(y[fall - 1], a1, sizeof a1), num(y[fall], a3, sizeof a3));
                e->verdict = LF_VERDICT_DISAGREES;
            } else if (xb[k - 1] < 32) {
                sbf(&m, "; the sweep ends below batch 32");
                e->verdict = LF_VERDICT_INCONCLUSIVE;
            } else if (xb[sat] < 32) {
                sbf(&m, "; saturates below batch 32");
                e->verdict = LF_VERDICT_DISAGREES;
            } else e->verdict = LF_VERDICT_AGREES;
        }
        sb rb = SB(e->roofline);
        if (!d->have_roofline) sbf(&rb, "%s", no_roofline(d));
        else {
            k = series(d->pts, d->n, 1, in0, out0, g_ptok, 1, xb, y);
            if (k > 0) {
                int imax = 0, sat = 0;
                for (int i = 1; i < k; i++) imax = y[i] > y[imax] ? i : imax;
                while (sat < k && y[sat] < 0.9 * y[imax]) sat++;
                sbf(&rb, "TP 1 %s -> %s tok/s, 90%% of the best from batch %d", num(y[0], a1, sizeof a1), num(y[k - 1], a2, sizeof a2), xb[sat]);
            }
            if (ntp >= 2) {
                sbf(&rb, "; on %s at batch %d:", d->tp_hw ? d->tp_hw : "?", k > 0 ? xb[k - 1] : 0);
                int up = 1;
                double prev = -1;
                for (int t = 0; t < ntp; t++) {
                    int xt[MAXS];
                    double yt[MAXS];
                    int kt = series(d->tp_pts, d->n_tp, tv[t], in0, out0, g_ptok, 1, xt, yt);
                    if (kt == 0) continue;
                    sbf(&rb, "%s TP %d: %s", t ? "," : "", tv[t], num(yt[kt - 1], a1, sizeof a1));
                    if (prev >= 0 && !(yt[kt - 1] > prev)) up = 0;
                    prev = yt[kt - 1];
                }
                sbf(&rb, " tok/s (%s with TP)", up ? "grows" : "does not grow");
            }
        }
        finish(e);
    }
    return nc;
}

/* ---- exp4: memory --------------------------------------------------------------------------------- */
static int conclude_exp4(const lf_recipe_data *d, lf_conclusion *c, int cap) {
    int nc = 0;
    char a1[32], a2[32];
    /* the (in, out) with the largest context: where memory rises most */
    int in0 = 0, out0 = 0;
    for (int i = 0; i < d->n; i++)
        if (d->pts[i].in_len + d->pts[i].out_len > in0 + out0) { in0 = d->pts[i].in_len; out0 = d->pts[i].out_len; }
    int tv[16], ntp = d->have_roofline ? tp_values(d->tp_pts, d->n_tp, tv, 16) : 0;

    lf_conclusion *a = &c[nc++];
    init(a, "peak GPU memory barely grows with batch at small batch, then rises sharply past a threshold that grows with the "
            "number of GPUs (seed 000 2.4)");
    int xb[MAXS];
    double y[MAXS];
    int k = series(d->pts, d->n, 1, in0, out0, g_mem, 1, xb, y);
    sb m = SB(a->measured);
    if (none_measured(d, a->measured, sizeof a->measured)) {
    } else if (k < 2) sbf(&m, "needs two or more batch values that finished");
    else if (!isfinite(y[0])) sbf(&m, "in %d, out %d: batch %d does not fit already", in0, out0, xb[0]);
    else {
        int idx = lf_recipe_flat_until(y, k, LF_RECIPE_TOL);
        sbf(&m, "in %d, out %d: device memory ", in0, out0);
        describe_flat(&m, xb, y, k, idx, " GiB");
        double hlo = INFINITY, hhi = 0;
        for (int i = 0; i < d->n; i++)
            if (d->pts[i].measured && isfinite(d->pts[i].host_gib)) {
                hlo = fmin(hlo, d->pts[i].host_gib);
                hhi = fmax(hhi, d->pts[i].host_gib);
            }
        if (isfinite(hlo)) sbf(&m, "; host peak RSS %s-%s GiB", num(hlo, a1, sizeof a1), num(hhi, a2, sizeof a2));
        if (idx < 1) a->verdict = LF_VERDICT_DISAGREES;
        else if (idx == k - 1) a->verdict = LF_VERDICT_INCONCLUSIVE;
        else a->verdict = LF_VERDICT_AGREES;
    }
    sb r = SB(a->roofline);
    if (!d->have_roofline) sbf(&r, "%s", no_roofline(d));
    else {
        k = series(d->pts, d->n, 1, in0, out0, g_pmem, 1, xb, y);
        int idx = lf_recipe_flat_until(y, k, LF_RECIPE_TOL);
        describe_flat(&r, xb, y, k, idx, " GiB");
        if (ntp >= 1 && d->n_tp > 0) {
            sbf(&r, "; largest batch that fits on %s:", d->tp_hw ? d->tp_hw : "?");
            int mb[16], n2 = 0;
            for (int t = 0; t < ntp; t++)
                for (int i = 0; i < d->n_tp; i++)
                    if (d->tp_pts[i].tp == tv[t] && d->tp_pts[i].in_len == in0 && d->tp_pts[i].out_len == out0) {
                        sbf(&r, "%s TP %d: %d", n2 ? "," : "", tv[t], d->tp_pts[i].pred_max_batch);
                        mb[n2++] = d->tp_pts[i].pred_max_batch;
                        break;
                    }
            lf_verdict g = grows(mb, n2);
            if (n2 >= 2) sbf(&r, " (%s with GPUs)", g == LF_VERDICT_AGREES ? "grows" : g == LF_VERDICT_DISAGREES ? "falls" : "same");
        }
    }
    finish(a);

    if (nc < cap) {
        lf_conclusion *b = &c[nc++];
        init(b, "doubling the GPUs does not halve the memory per GPU: it stays a little above half (seed 000 2.4)");
        measured_tp1_only(b, d);
        b->roofline_only = 1;
        sb rb = SB(b->roofline);
        if (!d->have_roofline) sbf(&rb, "%s", no_roofline(d));
        else if (ntp < 2) sbf(&rb, "only TP 1 asked (give --tp 1,2,4)");
        else {
            int b0 = 0;   /* smallest batch of the group */
            for (int i = 0; i < d->n_tp; i++)
                if (d->tp_pts[i].in_len == in0 && d->tp_pts[i].out_len == out0 && (!b0 || d->tp_pts[i].batch < b0)) b0 = d->tp_pts[i].batch;
            sbf(&rb, "per-GPU memory at batch %d, in %d, out %d on %s:", b0, in0, out0, d->tp_hw ? d->tp_hw : "?");
            double prev = NAN;
            int ok = 1, prev_tp = 0;
            for (int t = 0; t < ntp; t++)
                for (int i = 0; i < d->n_tp; i++) {
                    const lf_recipe_point *p = &d->tp_pts[i];
                    if (p->tp != tv[t] || p->batch != b0 || p->in_len != in0 || p->out_len != out0) continue;
                    sbf(&rb, "%s TP %d: %s GiB", t ? "," : "", tv[t], num(p->pred_mem_gib, a1, sizeof a1));
                    if (isfinite(prev) && prev > 0) {
                        /* f times the GPUs: "a little above 1/f" = between 1/f and 1.5/f of the memory before */
                        double f = (double)tv[t] / prev_tp, ratio = p->pred_mem_gib / prev;
                        sbf(&rb, " (x%.3f, 1/%g would be x%.3f)", ratio, f, 1 / f);
                        if (!(ratio > 1 / f && ratio < 1.5 / f)) ok = 0;
                    }
                    prev = p->pred_mem_gib;
                    prev_tp = tv[t];
                    break;
                }
            b->verdict = ok ? LF_VERDICT_AGREES : LF_VERDICT_DISAGREES;
        }
        finish(b);
    }
    return nc;
}

/* ---- ds-table: seed 004 --------------------------------------------------------------------------- */
/* The roofline of the seed's own setup: bloom-7b1 on 8x RTX A6000 (TP 8), fp16, in 8, out 100. */
static lf_status seed004_roofline(int batch, double *ms_per_token) {
    lf_roofline_model m;
    lf_hw hw;
    LF_TRY(lf_preset_shape("bloom-7b1", &m));
    LF_TRY(lf_hw_lookup("rtx-a6000", &hw));
    lf_roofline_result rr;
    LF_TRY(lf_roofline_point(&m, &hw, NULL, SEED004_TP, batch, SEED004_IN, SEED004_OUT, LF_PREC_FP16, &rr));
    *ms_per_token = rr.e2e_s * 1e3 / ((double)batch * SEED004_OUT);
    return LINFER_OK;
}

static void falls_each_step(sb *s, const int *xb, const double *y, int k, int *ok) {
    char a1[32], a2[32];
    *ok = 1;
    for (int i = 0; i < k; i++) sbf(s, "%s%s (batch %d)", i ? ", " : "", num(y[i], a1, sizeof a1), xb[i]);
    sbf(s, " ms/token");
    for (int i = 1; i < k; i++)
        if (!(y[i] <= (1 - LF_RECIPE_TOL) * y[i - 1])) {
            sbf(s, "; stops falling from batch %d to %d (%s -> %s)", xb[i - 1], xb[i], num(y[i - 1], a1, sizeof a1), num(y[i], a2, sizeof a2));
            *ok = 0;
            break;
        }
}

static int conclude_ds_table(const lf_recipe_data *d, lf_conclusion *c, int cap) {
    int in0, out0, nc = 0;
    first_lengths(d, &in0, &out0);
    lf_conclusion *a = &c[nc++];
    init(a, "DeepSpeed-Inference's time per token falls with every larger batch, 19.33 ms at batch 1 to 0.27 ms at batch 128 "
            "(seed 004 2.3: fp16 bloom-7b1, 8x RTX A6000)");
    int xb[MAXS], ok;
    double y[MAXS];
    int k = series(d->pts, d->n, 1, in0, out0, g_mspt, 1, xb, y);
    sb m = SB(a->measured);
    if (none_measured(d, a->measured, sizeof a->measured)) {
    } else if (k < 2) sbf(&m, "needs two or more batch values that finished");
    else {
        falls_each_step(&m, xb, y, k, &ok);
        sbf(&m, " (%.1fx less from batch %d to %d)", y[0] / y[k - 1], xb[0], xb[k - 1]);
        a->verdict = ok ? LF_VERDICT_AGREES : LF_VERDICT_DISAGREES;
    }
    sb r = SB(a->roofline);
    if (!d->have_roofline) sbf(&r, "%s", no_roofline(d));
    else {
        k = series(d->pts, d->n, 1, in0, out0, g_pmspt, 1, xb, y);
        if (k > 0) falls_each_step(&r, xb, y, k, &ok);
    }
    finish(a);

    if (nc < cap) {
        lf_conclusion *b = &c[nc++];
        init(b, "19.33, 2.42, 1.20, 0.63, 0.38, 0.27 ms/token at batch 1, 8, 16, 32, 64, 128 (seed 004 2.3, DeepSpeed-Inference fp16)");
        snprintf(b->measured, sizeof b->measured, "not run here (bloom-7b1 on 8 GPUs); this line holds the seed's own figures against the "
                                                  "roofline of its setup");
        b->roofline_only = 1;
        sb rb = SB(b->roofline);
        sbf(&rb, "bloom-7b1, TP %d on rtx-a6000, in %d, out %d:", SEED004_TP, SEED004_IN, SEED004_OUT);
        int below = 0, bad_b = 0;
        double lo = INFINITY, hi = 0;
        char a1[32];
        for (int i = 0; i < N_SEED004; i++) {
            double ms;
            if (seed004_roofline(seed004[i].batch, &ms) != LINFER_OK) { lf_clear_error(); sbf(&rb, " batch %d: n/a", seed004[i].batch); continue; }
            sbf(&rb, " %s", num(ms, a1, sizeof a1));
            double eff = ms / seed004[i].ms_per_token;
            lo = fmin(lo, eff);
            hi = fmax(hi, eff);
            if (seed004[i].ms_per_token < ms && !below) { below = 1; bad_b = seed004[i].batch; }
        }
        sbf(&rb, " ms/token at the same batches");
        if (isfinite(lo)) sbf(&rb, "; the seed runs at %.0f-%.0f%% of it", 100 * lo, 100 * hi);
        if (below) sbf(&rb, "; the seed is faster than the roofline at batch %d", bad_b);
        b->verdict = isfinite(lo) ? (below ? LF_VERDICT_DISAGREES : LF_VERDICT_AGREES) : LF_VERDICT_INCONCLUSIVE;
        finish(b);
    }
    return nc;
}

int lf_recipe_conclude(const lf_recipe_data *d, lf_conclusion *out, int cap) {
    if (!d || !d->recipe || !out || cap < 1) return 0;
    switch (d->recipe->id) {
    case LF_RECIPE_EXP1: return conclude_exp1(d, out, cap);
    case LF_RECIPE_EXP2: return conclude_exp2(d, out, cap);
    case LF_RECIPE_EXP3: return conclude_exp3(d, out, cap);
    case LF_RECIPE_EXP4: return conclude_exp4(d, out, cap);
    case LF_RECIPE_DS_TABLE: return conclude_ds_table(d, out, cap);
    case LF_RECIPE_COUNT: break;
    }
    return 0;
}

/* ---- tables ------------------------------------------------------------------------------------- */
lf_table *lf_recipe_table(const lf_recipe_data *d) {
    if (!d || !d->recipe) return NULL;
    if (d->recipe->id == LF_RECIPE_DS_TABLE) {
        const char *cols[] = {"batch", "seed_ms_per_token", "measured_ms_per_token", "pred_ms_per_token", "seed_setup_pred_ms_per_token"};
        lf_table *t = lf_table_new(5, cols);
        if (!t) return NULL;
        lf_table_set_title(t, "seed 004 (DeepSpeed-Inference fp16, bloom-7b1, 8x RTX A6000) beside this run and the roofline");
        int in0, out0;
        first_lengths(d, &in0, &out0);
        int xb[MAXS];
        double ym[MAXS], yp[MAXS];
        int km = series(d->pts, d->n, 1, in0, out0, g_mspt, 0, xb, ym);
        series(d->pts, d->n, 1, in0, out0, g_pmspt, 0, xb, yp);
        int bs[MAXS + N_SEED004], nb = 0;   /* union of the seed's and the run's batches, ascending */
        for (int i = 0; i < N_SEED004; i++) bs[nb++] = seed004[i].batch;
        for (int i = 0; i < km; i++) {
            int dup = 0;
            for (int j = 0; j < nb; j++) dup |= bs[j] == xb[i];
            if (!dup) bs[nb++] = xb[i];
        }
        for (int i = 1; i < nb; i++)
            for (int j = i; j > 0 && bs[j - 1] > bs[j]; j--) { int tmp = bs[j]; bs[j] = bs[j - 1]; bs[j - 1] = tmp; }
        for (int i = 0; i < nb; i++) {
            lf_table_row(t);
            lf_table_int(t, bs[i]);
            double s = NAN, mm = NAN, pp = NAN, ss = NAN;
            for (int j = 0; j < N_SEED004; j++)
                if (seed004[j].batch == bs[i]) s = seed004[j].ms_per_token;
            for (int j = 0; j < km; j++)
                if (xb[j] == bs[i]) { mm = ym[j]; pp = d->have_roofline ? yp[j] : NAN; }
            if (seed004_roofline(bs[i], &ss) != LINFER_OK) { lf_clear_error(); ss = NAN; }
            lf_table_num(t, s, 2);
            lf_table_num(t, mm, 3);
            lf_table_num(t, pp, 3);
            lf_table_num(t, ss, 3);
        }
        return t;
    }
    int tv[16];
    if (!d->have_roofline || !d->tp_pts || tp_values(d->tp_pts, d->n_tp, tv, 16) < 2) return NULL;
    const char *cols[] = {"tp", "batch", "in", "out", "pred_e2e_ms", "pred_tpot_ms", "pred_tok_s", "pred_mem_gib_per_gpu", "pred_max_batch"};
    lf_table *t = lf_table_new(9, cols);
    if (!t) return NULL;
    char title[256];
    snprintf(title, sizeof title, "roofline for every TP asked (%s)", d->tp_hw ? d->tp_hw : "?");
    lf_table_set_title(t, title);
    for (int i = 0; i < d->n_tp; i++) {
        const lf_recipe_point *p = &d->tp_pts[i];
        lf_table_row(t);
        lf_table_int(t, p->tp);
        lf_table_int(t, p->batch);
        lf_table_int(t, p->in_len);
        lf_table_int(t, p->out_len);
        lf_table_num(t, p->pred_e2e_ms, 2);
        lf_table_num(t, p->pred_tpot_ms, 3);
        lf_table_num(t, p->pred_tok_s, 1);
        lf_table_num(t, p->pred_mem_gib, 2);
        lf_table_int(t, p->pred_max_batch);
    }
    return t;
}

/* ---- output --------------------------------------------------------------------------------------- */
static lf_status read_all(const char *path, char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    if (!b) { fclose(f); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) { free(b); fclose(f); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(b); return lf_fail(LINFER_ERR_IO, "%s: read failed", path); }
    b[n] = 0;
    *buf = b;
    *len = n;
    return LINFER_OK;
}


/* bench's own file under path.bench (its own atomic write), read back, removed. */
typedef lf_status (*bench_writer)(const char *, const lf_bench_meta *, const lf_bench_result *, int);
static lf_status bench_output(bench_writer w, const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n, char **buf, size_t *len) {
    char part[4096];
    if (snprintf(part, sizeof part, "%s.bench", path) >= (int)sizeof part) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: path too long", path);
    lf_status s = w(part, m, r, n);
    if (s) return s;
    s = read_all(part, buf, len);
    remove(part);
    return s;
}

lf_status lf_recipe_write_json(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n, const lf_recipe_info *ri) {
    if (!path || !ri || !ri->recipe) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_recipe_write_json: bad arguments");
    char *js = NULL, *add = NULL;
    size_t jl = 0, al = 0;
    LF_TRY(bench_output(lf_bench_write_json, path, m, r, n, &js, &jl));
    const char *key = "\"meta\": {";
    char *at = strstr(js, key);
    if (!at) { free(js); return lf_fail(LINFER_ERR_INTERNAL, "%s: bench's JSON has no \"meta\" object", path); }
    at += strlen(key);
    const char *after = at;
    while (*after == ' ' || *after == '\n') after++;
    int empty = *after == '}';
    FILE *f = open_memstream(&add, &al);
    if (!f) { free(js); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    const lf_recipe *rc = ri->recipe;
    const char *keys[] = {"recipe", "recipe_title", "recipe_source", "recipe_tp", "recipe_skipped", "recipe_tp_hw"};
    const char *vals[] = {rc->name, rc->title, rc->source, ri->tp_list, ri->skipped, ri->tp_hw};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        fputs("\n    ", f);
        lf_json_string(f, keys[i]);
        fputs(": ", f);
        lf_json_string(f, vals[i] ? vals[i] : "");
        fputc(',', f);
    }
    fputs("\n    \"conclusions\": [", f);
    for (int i = 0; i < ri->nc; i++) {
        const lf_conclusion *c = &ri->c[i];
        fprintf(f, "%s\n      {\"claim\": ", i ? "," : "");
        lf_json_string(f, c->claim);
        fputs(", \"measured\": ", f);
        lf_json_string(f, c->measured);
        fputs(", \"roofline\": ", f);
        lf_json_string(f, c->roofline);
        fputs(", \"verdict\": ", f);
        lf_json_string(f, lf_verdict_name(c->verdict));
        fprintf(f, ", \"roofline_only\": %s, \"text\": ", c->roofline_only ? "true" : "false");
        lf_json_string(f, c->text);
        fputc('}', f);
    }
    fputs(ri->nc ? "\n    ]" : "]", f);
    lf_status s = LINFER_OK;
    if (ri->table) {
        fputs(",\n    \"recipe_table\": ", f);
        s = lf_table_write(ri->table, f, LF_FMT_JSON);
    }
    if (!empty) fputc(',', f);
    if (fclose(f) != 0 || !add) { free(js); free(add); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    if (s) { free(js); free(add); return s; }
    size_t head = (size_t)(at - js);
    char *full = malloc(jl + al + 1);
    if (!full) { free(js); free(add); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    memcpy(full, js, head);
    memcpy(full + head, add, al);
    memcpy(full + head + al, js + head, jl - head);
    full[jl + al] = 0;
    free(js);
    free(add);
    cJSON *check = cJSON_Parse(full);   /* never write a file that does not parse */
    if (!check) { free(full); return lf_fail(LINFER_ERR_INTERNAL, "%s: the JSON with the recipe added does not parse", path); }
    cJSON_Delete(check);
    s = lf_write_file_atomic(path, full, jl + al);
    free(full);
    return s;
}


lf_status lf_recipe_write_csv(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n, const lf_recipe_info *ri) {
    if (!path || !ri || !ri->recipe) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_recipe_write_csv: bad arguments");
    char *cs = NULL, *outb = NULL, *joined = NULL;
    size_t cl = 0, ol = 0, jl = 0;
    LF_TRY(bench_output(lf_bench_write_csv, path, m, r, n, &cs, &cl));
    FILE *j = open_memstream(&joined, &jl);
    if (!j) { free(cs); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    for (int i = 0; i < ri->nc; i++) fprintf(j, "%s%s", i ? " | " : "", ri->c[i].text);
    fclose(j);
    FILE *f = open_memstream(&outb, &ol);
    if (!f || !joined) { free(cs); free(joined); if (f) fclose(f); free(outb); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    /* records end at a newline outside quotes; two columns go before each */
    int inq = 0, rec = 0;
    for (size_t i = 0; i < cl; i++) {
        char ch = cs[i];
        if (ch == '"') inq = !inq;
        if (ch == '\n' && !inq) {
            if (rec == 0) fputs(",recipe,conclusions", f);
            else {
                fputc(',', f);
                lf_csv_field(f, ri->recipe->name);
                fputc(',', f);
                lf_csv_field(f, joined);
            }
            rec++;
        }
        fputc(ch, f);
    }
    free(cs);
    free(joined);
    if (fclose(f) != 0 || !outb) { free(outb); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    lf_status s = lf_write_file_atomic(path, outb, ol);
    free(outb);
    return s;
}
