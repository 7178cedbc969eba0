/* bench.c — statistics, sweep expansion, the sweep runner (engines reused across points, per-step
 * timestamps from the token callback, roofline predictions), and atomic CSV/JSON output. */
#include "../core/clock.h"
#include "../core/atomic_file.h"
#include "bench.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "calibrate.h"
#include "roofline.h"
#include "../engine/gpu_query.h"
#include "../model/model.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- statistics ------------------------------------------------------------------------------- */
double lf_stat_mean(const double *x, int n) {
    if (n <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

double lf_stat_std(const double *x, int n) {
    if (n <= 0) return NAN;
    if (n == 1) return 0;
    double m = lf_stat_mean(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

double lf_stat_cv(const double *x, int n) {
    double m = lf_stat_mean(x, n);
    if (!(fabs(m) > 0) || !isfinite(m)) return NAN;
    return lf_stat_std(x, n) / fabs(m);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lf_stat_percentile(const double *x, int n, double p) {
    if (n <= 0 || !x) return NAN;
    double small[64], *v = n <= 64 ? small : malloc(sizeof(double) * (size_t)n);
    if (!v) return NAN;
    memcpy(v, x, sizeof(double) * (size_t)n);
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    double pos = p / 100.0 * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    double r = v[lo] + (v[hi] - v[lo]) * (pos - lo);
    if (v != small) free(v);
    return r;
}

double lf_stat_median(const double *x, int n) { return lf_stat_percentile(x, n, 50); }

/* ---- sweep ------------------------------------------------------------------------------------- */
const char *lf_bench_dtype_name(linfer_compute_dtype d) {
    switch (d) {
    case LINFER_DTYPE_F32: return "fp32";
    case LINFER_DTYPE_F16: return "fp16";
    case LINFER_DTYPE_BF16: return "bf16";
    }
    return "?";
}

lf_status lf_bench_parse_dtypes(const char *s, linfer_compute_dtype **out, int *n) {
    *out = NULL;
    *n = 0;
    if (!s || !*s) return lf_fail(LINFER_ERR_INVALID_ARG, "--dtype: empty list (give fp16, bf16 or fp32)");
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    linfer_compute_dtype *v = malloc(sizeof *v * (size_t)cap);
    if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    const char *p = s;
    int k = 0;
    for (;;) {
        size_t l = strcspn(p, ",");
        char item[16];
        if (l == 0 || l >= sizeof item) { free(v); return lf_fail(LINFER_ERR_INVALID_ARG, "--dtype: bad item '%.*s' in '%s' (fp16, bf16, fp32)", (int)l, p, s); }
        memcpy(item, p, l);
        item[l] = 0;
        if (!strcasecmp(item, "fp16") || !strcasecmp(item, "f16")) v[k++] = LINFER_DTYPE_F16;
        else if (!strcasecmp(item, "bf16")) v[k++] = LINFER_DTYPE_BF16;
        else if (!strcasecmp(item, "fp32") || !strcasecmp(item, "f32")) v[k++] = LINFER_DTYPE_F32;
        else { free(v); return lf_fail(LINFER_ERR_INVALID_ARG, "--dtype: unknown dtype '%s' (known: fp16, bf16, fp32)", item); }
        if (!p[l]) break;
        p += l + 1;
    }
    *out = v;
    *n = k;
    return LINFER_OK;
}

lf_status lf_bench_expand(const int *batch, int nb, const int *in, int ni, const int *out, int no,
                          const linfer_compute_dtype *dt, int nd, lf_bench_point **pts, int *n) {
    *pts = NULL;
    *n = 0;
    if (nb <= 0 || ni <= 0 || no <= 0 || nd <= 0 || !batch || !in || !out || !dt)
        return lf_fail(LINFER_ERR_INVALID_ARG, "sweep: every list (--batch, --in, --out, --dtype) needs at least one value");
    long long total = (long long)nb * ni * no * nd;
    if (total > LF_BENCH_MAX_POINTS)
        return lf_fail(LINFER_ERR_INVALID_ARG, "sweep of %lld points (%d batch x %d in x %d out x %d dtype) is above the limit of %d",
                       total, nb, ni, no, nd, LF_BENCH_MAX_POINTS);
    lf_bench_point *v = malloc(sizeof *v * (size_t)total);
    if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    int k = 0;
    for (int d = 0; d < nd; d++)
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < ni; i++)
                for (int o = 0; o < no; o++) v[k++] = (lf_bench_point){batch[b], in[i], out[o], dt[d]};
    *pts = v;
    *n = k;
    return LINFER_OK;
}

lf_status lf_bench_check(const lf_bench_point *pts, int n, int max_context, linfer_device dev, const char *model) {
    if (!model) model = "the model";
    for (int i = 0; i < n; i++) {
        const lf_bench_point *p = &pts[i];
        if (p->batch < 1 || p->batch > 4096) return lf_fail(LINFER_ERR_INVALID_ARG, "--batch %d: the engine takes 1..4096 sequences", p->batch);
        if (p->in_len < 1 || p->out_len < 1)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--in %d --out %d: lengths must be at least 1", p->in_len, p->out_len);
        if (max_context > 0 && (long)p->in_len + p->out_len > max_context)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--in %d + --out %d = %ld tokens exceeds %s's context of %d", p->in_len, p->out_len,
                           (long)p->in_len + p->out_len, model, max_context);
        if (dev == LINFER_DEVICE_CPU && p->dtype != LINFER_DTYPE_F32)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--dtype %s: the CPU backend computes in fp32 (give --dtype fp32, or --device cuda)",
                           lf_bench_dtype_name(p->dtype));
        if (dev == LINFER_DEVICE_CUDA && p->dtype == LINFER_DTYPE_F32)
            return lf_fail(LINFER_ERR_INVALID_ARG, "--dtype fp32: the CUDA backend runs fp16 or bf16");
    }
    return LINFER_OK;
}

const char *lf_bench_state_name(lf_bench_state s) {
    switch (s) {
    case LF_BENCH_OK: return "ok";
    case LF_BENCH_NOFIT: return "does not fit";
    case LF_BENCH_FAILED: return "failed";
    case LF_BENCH_INTERRUPTED: return "interrupted";
    }
    return "?";
}

void lf_bench_default_opts(lf_bench_opts *o) {
    memset(o, 0, sizeof *o);
    o->device = LINFER_DEVICE_CPU;
    o->warmup = 2;
    o->reps = 5;
    o->seed = 42;
    o->cv_flag = 0.03;
}

/* ---- measurement helpers ---------------------------------------------------------------------- */
/* Peak RSS: reset the kernel's high-water mark (clear_refs 5) at the start of a point, read VmHWM
 * at its end; where that is not allowed, the process peak from getrusage. */
static int rss_reset(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return 0;
    ssize_t w = write(fd, "5", 1);
    close(fd);
    return w == 1;
}

static double rss_peak(int was_reset) {
    if (was_reset) {
        FILE *f = fopen("/proc/self/status", "r");
        if (f) {
            char line[256];
            double kb = 0;
            while (fgets(line, sizeof line, f))
                if (strncmp(line, "VmHWM:", 6) == 0) { kb = strtod(line + 6, NULL); break; }
            fclose(f);
            if (kb > 0) return kb * 1024.0;
        }
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) return (double)ru.ru_maxrss * 1024.0;
    return NAN;
}

static double gpu_used_bytes(int idx) {
    lf_gpu_info gi;
    if (lf_gpu_info_get(idx, &gi) != LINFER_OK) { lf_clear_error(); return NAN; }
    return (double)gi.total_bytes - (double)gi.free_bytes;
}

static double gpu_free_bytes(int idx) {
    lf_gpu_info gi;
    if (lf_gpu_info_get(idx, &gi) != LINFER_OK) { lf_clear_error(); return NAN; }
    return (double)gi.free_bytes;
}

/* first-token timestamp of each step: a step begins when the callback's sequence index does not
 * grow (sequences are called in increasing order within a step) */
typedef struct {
    double *ts;
    int cap, n, last_seq;
} step_clock;

static int on_token(void *user, int seq, int32_t token, const char *text) {
    (void)token;
    (void)text;
    step_clock *c = user;
    if (seq <= c->last_seq && c->n < c->cap) c->ts[c->n++] = lf_now_s();
    c->last_seq = seq;
    return 0;
}

static int is_quantised(const lf_model *m) {
    if (!m || m->random_weights || !m->w.layers) return 0;
    lf_dtype d = m->w.layers[0].wq.dtype;
    return d >= LF_DT_Q8_0 && d <= LF_DT_Q4_1;
}

/* Bytes of a CPU engine: fp32 weights (quantised GGUF weights are used in place), fp32 KV cache
 * (fp16 for quantised models), logits, and scratch for a 2048-token prefill chunk. */
static double cpu_need_bytes(const lf_model *m, const lf_config *c, int batch, int ctx) {
    double params = lf_config_n_params(c);
    int q = is_quantised(m);
    double w = q ? 0 : params * 4.0;   /* quantised: memory-mapped file pages, counted by the OS cache */
    double kv = (double)batch * ctx * lf_config_kv_bytes_per_token(c, q ? 2 : 4);
    double logits = (double)batch * c->vocab_size * 4.0 * 2;
    double scratch = 2048.0 * ((double)c->dim * 6 + (double)c->ffn_dim * 3 + (double)c->n_heads * c->head_dim * 2) * 4.0;
    return w + kv + logits + scratch;
}

static void nan_fill(lf_bench_result *r) {
    double *f[] = {&r->ttft_ms, &r->ttft_p50_ms, &r->ttft_std_ms, &r->tpot_ms, &r->tpot_p50_ms, &r->tpot_p95_ms, &r->tpot_p99_ms,
                   &r->itl_ms, &r->e2e_ms, &r->e2e_std_ms, &r->e2e_p50_ms, &r->e2e_p95_ms, &r->out_tok_s, &r->total_tok_s,
                   &r->cv_ttft, &r->cv_tpot, &r->cv_e2e, &r->peak_rss_bytes, &r->gpu_mem_bytes, &r->pred_ttft_ms,
                   &r->pred_tpot_ms, &r->pred_e2e_ms, &r->pred_mem_bytes, &r->eff_ttft, &r->eff_tpot, &r->gpu_util_mean_pct,
                   &r->gpu_util_max_pct, &r->mem_util_mean_pct, &r->nvml_peak_mem_bytes, &r->power_mean_w, &r->sm_clock_mean_mhz};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = NAN;
}

static void predict(const lf_bench_model *bm, const lf_config *cfg, const lf_model *m, const lf_bench_opts *o,
                    const lf_bench_point *p, lf_bench_result *r) {
    if (!o->hw) return;
    lf_roofline_model rm;
    lf_roofline_model_from_config(cfg, bm->name ? bm->name : "model", &rm);
    lf_hw hw = *o->hw;
    lf_roofline_opts ro;
    lf_roofline_default_opts(&ro);
    double scale = 1;
    if (o->device == LINFER_DEVICE_CPU) {
        /* The CPU backend keeps fp32 weights, activations and KV cache (4 bytes where the roofline
         * counts 2): the same model with half the bandwidth. Quantised GGUF weights are used in
         * place (about 0.5-1 byte per weight): left at the 16-bit count (docs/bench.md). */
        if (!is_quantised(m)) {
            scale = 2;
            hw.hbm_bw /= 2;
            hw.measured.read_bw /= 2;
        }
        ro.workspace_bytes = 0;
        ro.launch_s = 0;
        ro.kernel_s = 0;
    } else ro.ar_bytes = 4;   /* the CUDA engine all-reduces its fp32 residual */
    ro.pp = o->pp_size > 1 ? o->pp_size : 1;   /* the roofline's pipeline model (roofline.h) */
    ro.pp_micro = o->pp_micro;
    lf_prec prec = p->dtype == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16;
    lf_roofline_result rr;
    if (lf_roofline_point(&rm, &hw, &ro, o->tp_size > 1 ? o->tp_size : 1, p->batch, p->in_len, p->out_len, prec, &rr) != LINFER_OK) {
        lf_clear_error();
        return;
    }
    r->pred_ttft_ms = rr.ttft_s * 1e3;
    r->pred_tpot_ms = p->out_len > 1 ? rr.tpot_mean_s * 1e3 : NAN;
    r->pred_e2e_ms = rr.e2e_s * 1e3;
    r->pred_mem_bytes = rr.mem.total * scale;
}

/* ---- the sweep ---------------------------------------------------------------------------------- */
typedef struct {
    linfer_model *rmodel;           /* random model of the current dtype (owned) */
    linfer_compute_dtype rmodel_dt;
    linfer_engine *eng;
    int eng_batch, eng_ctx;
    linfer_compute_dtype eng_dt;
} bench_state;

static void set_note(lf_bench_result *r, lf_bench_state st, const char *fmt, ...) LF_PRINTF(3, 4);
static void set_note(lf_bench_result *r, lf_bench_state st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
    r->state = st;
}

/* Make bs->eng fit point i (reuse when dtype and batch match and its context is long enough). */
static lf_status get_engine(bench_state *bs, const lf_bench_model *bm, const lf_bench_opts *o, const lf_bench_point *pts, int n, int i,
                            lf_bench_result *r, linfer_model **model_out) {
    const lf_bench_point *p = &pts[i];
    int need = p->in_len + p->out_len;
    if (bs->eng && bs->eng_dt == p->dtype && bs->eng_batch == p->batch && bs->eng_ctx >= need) {
        *model_out = bm->model ? bm->model : bs->rmodel;
        return LINFER_OK;
    }
    linfer_engine_free(bs->eng);
    bs->eng = NULL;
    linfer_model *m = bm->model;
    if (!m) {
        lf_dtype want = p->dtype == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16;   /* CPU fp32: fp16-valued random weights */
        if (!bs->rmodel || bs->rmodel_dt != p->dtype) {
            linfer_model_free(bs->rmodel);
            bs->rmodel = NULL;
            lf_status s = lf_model_create_random(bm->cfg, want, o->seed, &bs->rmodel);
            if (s) { set_note(r, LF_BENCH_FAILED, "%s", linfer_last_error()); return s; }
            bs->rmodel_dt = p->dtype;
        }
        m = bs->rmodel;
    }
    *model_out = m;
    int group = need;
    for (int j = i; j < n; j++)
        if (pts[j].dtype == p->dtype && pts[j].batch == p->batch && pts[j].in_len + pts[j].out_len > group)
            group = pts[j].in_len + pts[j].out_len;
    int ctxs[2] = {group, need}, nctx = group > need ? 2 : 1;
    lf_status s = LINFER_OK;
    for (int k = 0; k < nctx; k++) {
        int ctx = ctxs[k];
        if (o->device == LINFER_DEVICE_CPU) {
            double needb = cpu_need_bytes(m, &m->cfg, p->batch, ctx), have = lf_host_mem_available();
            if (have > 0 && needb > have) {
                set_note(r, LF_BENCH_NOFIT, "does not fit: needs %.2f GiB, have %.2f GiB (host memory available)", needb / GIB, have / GIB);
                s = LINFER_ERR_OUT_OF_MEMORY;
                continue;
            }
        }
        linfer_engine_params ep = linfer_engine_default_params();
        ep.device = o->device;
        ep.dtype = p->dtype == LINFER_DTYPE_BF16 ? LINFER_DTYPE_BF16 : LINFER_DTYPE_F16;
        ep.max_batch = p->batch;
        ep.max_context = ctx;
        ep.n_threads = o->n_threads;
        ep.gpu_index = o->gpu_index;
        ep.tp_size = o->tp_size;
        ep.tp_rank = o->tp_rank;
        ep.tp_comm = o->tp_comm;
        ep.pp_size = o->pp_size;
        ep.pp_stage = o->pp_stage;
        ep.pp_micro = o->pp_micro;
        ep.pp_comm = o->pp_comm;
        ep.tp_invariant = o->tp_invariant;
        double free_before = o->device == LINFER_DEVICE_CUDA ? gpu_free_bytes(o->gpu_index) : lf_host_mem_available();
        s = linfer_engine_create(m, &ep, &bs->eng);
        if (s == LINFER_OK) {
            bs->eng_batch = p->batch;
            bs->eng_ctx = ctx;
            bs->eng_dt = p->dtype;
            r->state = LF_BENCH_OK;
            r->note[0] = 0;
            return LINFER_OK;
        }
        if (s == LINFER_ERR_OUT_OF_MEMORY) {
            double needb = r->pred_mem_bytes;
            char needs[48] = "";
            if (isfinite(needb)) snprintf(needs, sizeof needs, "needs %.2f GiB (roofline), ", needb / GIB);
            set_note(r, LF_BENCH_NOFIT, "does not fit: %shave %.2f GiB free (%s)", needs, free_before / GIB, linfer_last_error());
            continue;
        }
        set_note(r, LF_BENCH_FAILED, "%s: %s", linfer_status_name(s), linfer_last_error());
        return s;
    }
    return s;
}

lf_status lf_bench_run(const lf_bench_model *bm, const lf_bench_opts *o, const lf_bench_point *pts, int n, lf_bench_result *res,
                       int *n_done) {
    *n_done = 0;
    if (!bm || !o || (!bm->cfg && !bm->model) || n < 0 || (n && (!pts || !res)))
        return lf_fail(LINFER_ERR_INVALID_ARG, "lf_bench_run: bad arguments");
    if (o->reps < 1 || o->warmup < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_bench_run: reps = %d, warmup = %d", o->reps, o->warmup);
    const lf_config *cfg = bm->model ? &bm->model->cfg : bm->cfg;
    LF_TRY(lf_bench_check(pts, n, cfg->max_context, o->device, bm->name));
    bench_state bs = {0};
    int stop = 0;
    for (int i = 0; i < n && !stop; i++) {
        const lf_bench_point *p = &pts[i];
        lf_bench_result *r = &res[i];
        memset(r, 0, sizeof *r);
        nan_fill(r);
        r->pt = *p;
        r->tp = o->tp_size > 1 ? o->tp_size : 1;
        double t_point = lf_now_s();
        int rss_ok = rss_reset();
        linfer_model *m = NULL;
        predict(bm, cfg, bm->model, o, p, r);
        if (get_engine(&bs, bm, o, pts, n, i, r, &m) != LINFER_OK) {
            lf_clear_error();
            r->wall_s = lf_now_s() - t_point;
            r->peak_rss_bytes = rss_peak(rss_ok);
            if (o->on_point) o->on_point(o->user, r, i, n);
            (*n_done)++;
            if (o->progress && o->progress(o->user, i, n, o->warmup + o->reps - 1, o->warmup + o->reps)) stop = 1;
            continue;
        }
        /* synthetic prompts: deterministic ids (the same generator as `linfer generate` presets) */
        const int B = p->batch, V = m->cfg.vocab_size, n_runs = o->warmup + o->reps;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)B * (size_t)p->in_len);
        int32_t **prompts = malloc(sizeof(int32_t *) * (size_t)B);
        size_t *lens = malloc(sizeof(size_t) * (size_t)B);
        double *ttft = malloc(sizeof(double) * (size_t)o->reps * 3), *tpot = ttft + o->reps, *e2e = tpot + o->reps;
        double *itl = malloc(sizeof(double) * ((size_t)o->reps * (size_t)p->out_len + 1));
        step_clock clk = {malloc(sizeof(double) * ((size_t)p->out_len + 2)), p->out_len + 2, 0, INT_MAX};
        int n_itl = 0, done_reps = 0, sampling = 0;
        double gpu_mem = NAN;
        if (!ids || !prompts || !lens || !ttft || !itl || !clk.ts) {
            set_note(r, LF_BENCH_FAILED, "out of memory for the point's buffers");
        } else {
            uint64_t h = o->seed;
            for (int b = 0; b < B; b++) {
                prompts[b] = ids + (size_t)b * p->in_len;
                lens[b] = (size_t)p->in_len;
                for (int j = 0; j < p->in_len; j++) {
                    h = h * 6364136223846793005ull + 1442695040888963407ull;
                    prompts[b][j] = (int32_t)((h >> 33) % (uint64_t)V);
                }
            }
            linfer_sampling_params sp = linfer_sampling_default_params();
            sp.max_new_tokens = p->out_len;
            sp.ignore_eos = 1;
            sp.seed = o->seed;
            for (int run = 0; run < n_runs; run++) {
                if (o->progress && o->progress(o->user, i, n, run, n_runs)) stop = 1;
                if (run == o->warmup && o->nvml && o->device == LINFER_DEVICE_CUDA) {
                    /* GPU sampling covers the timed repetitions; a sampler that cannot start leaves the
                     * NVML fields NAN (the point itself is still measured) */
                    if (lf_nvml_sampler_start(o->nvml) == LINFER_OK) sampling = 1;
                    else lf_clear_error();
                }
                clk.n = 0;
                clk.last_seq = INT_MAX;
                linfer_gen_stats st;
                double t0 = lf_now_s();
                lf_status s = linfer_generate(bs.eng, B, (const int32_t *const *)prompts, lens, &sp, on_token, &clk, NULL, NULL, &st);
                double t1 = lf_now_s();
                if (s) {
                    set_note(r, s == LINFER_ERR_INTERRUPTED ? LF_BENCH_INTERRUPTED : LF_BENCH_FAILED, "%s: %s", linfer_status_name(s),
                             linfer_last_error());
                    lf_clear_error();
                    break;
                }
                if (run < o->warmup) continue;
                ttft[done_reps] = st.ttft_ms;
                tpot[done_reps] = st.tpot_ms;
                e2e[done_reps] = (t1 - t0) * 1e3;
                for (int k = 1; k < clk.n; k++) itl[n_itl++] = (clk.ts[k] - clk.ts[k - 1]) * 1e3;
                done_reps++;
                if (o->device == LINFER_DEVICE_CUDA) {
                    double u = gpu_used_bytes(o->gpu_index);
                    if (isfinite(u) && !(u <= gpu_mem)) gpu_mem = u;
                }
            }
        }
        if (sampling) {
            lf_nvml_summary ns;
            lf_nvml_sampler_stop(o->nvml, &ns);
            r->nvml_gpus = ns.n_gpus;
            r->nvml_samples = ns.all.samples;
            r->gpu_util_mean_pct = ns.all.gpu_util_mean_pct;
            r->gpu_util_max_pct = ns.all.gpu_util_max_pct;
            r->mem_util_mean_pct = ns.all.mem_util_mean_pct;
            r->nvml_peak_mem_bytes = ns.all.peak_mem_used_bytes;
            r->power_mean_w = ns.all.power_mean_w;
            r->sm_clock_mean_mhz = ns.all.sm_clock_mean_mhz;
        }
        r->warmup = o->warmup;
        r->reps = done_reps;
        if (r->state == LF_BENCH_OK && done_reps > 0) {
            r->ttft_ms = lf_stat_mean(ttft, done_reps);
            r->ttft_p50_ms = lf_stat_median(ttft, done_reps);
            r->ttft_std_ms = lf_stat_std(ttft, done_reps);
            r->cv_ttft = lf_stat_cv(ttft, done_reps);
            if (p->out_len > 1) {
                r->tpot_ms = lf_stat_mean(tpot, done_reps);
                r->cv_tpot = lf_stat_cv(tpot, done_reps);
                r->tpot_p50_ms = lf_stat_percentile(itl, n_itl, 50);
                r->tpot_p95_ms = lf_stat_percentile(itl, n_itl, 95);
                r->tpot_p99_ms = lf_stat_percentile(itl, n_itl, 99);
                r->itl_ms = lf_stat_mean(itl, n_itl);
            }
            r->e2e_ms = lf_stat_mean(e2e, done_reps);
            r->e2e_std_ms = lf_stat_std(e2e, done_reps);
            r->e2e_p50_ms = lf_stat_median(e2e, done_reps);
            r->e2e_p95_ms = lf_stat_percentile(e2e, done_reps, 95);
            r->cv_e2e = lf_stat_cv(e2e, done_reps);
            r->out_tok_s = (double)B * p->out_len / (r->e2e_ms * 1e-3);
            r->total_tok_s = (double)B * (p->in_len + p->out_len) / (r->e2e_ms * 1e-3);
            r->noisy = (r->cv_ttft > o->cv_flag) || (r->cv_e2e > o->cv_flag) || (p->out_len > 1 && r->cv_tpot > o->cv_flag);
            r->eff_ttft = r->pred_ttft_ms / r->ttft_ms;
            r->eff_tpot = r->pred_tpot_ms / r->tpot_ms;
        }
        r->gpu_mem_bytes = gpu_mem;
        r->peak_rss_bytes = rss_peak(rss_ok);
        free(ids); free(prompts); free(lens); free(ttft); free(itl); free(clk.ts);
        r->wall_s = lf_now_s() - t_point;
        if (r->state == LF_BENCH_INTERRUPTED) break;   /* not finished: not reported */
        (*n_done)++;
        if (o->on_point) o->on_point(o->user, r, i, n);
        /* a stop asked for during this point's last run ends the sweep here, not after the next point */
        if (o->stop_requested && o->stop_requested(o->user)) stop = 1;
    }
    linfer_engine_free(bs.eng);
    linfer_model_free(bs.rmodel);
    return LINFER_OK;
}

/* ---- output -------------------------------------------------------------------------------------- */
static const char *const point_cols[] = {
    "model", "dtype", "tp", "batch", "in", "out", "state", "note", "warmup", "reps",
    "ttft_ms", "ttft_p50_ms", "ttft_std_ms", "tpot_ms", "tpot_p50_ms", "tpot_p95_ms", "tpot_p99_ms", "itl_ms",
    "e2e_ms", "e2e_std_ms", "e2e_p50_ms", "e2e_p95_ms", "out_tok_s", "total_tok_s", "cv_ttft", "cv_tpot", "cv_e2e", "noisy",
    "peak_rss_gib", "gpu_mem_gib", "pred_ttft_ms", "pred_tpot_ms", "pred_e2e_ms", "pred_mem_gib", "eff_ttft", "eff_tpot", "wall_s",
    /* GPU sampling through NVML: appended after the older columns, which keep their positions */
    "nvml_gpus", "nvml_samples", "gpu_util_mean_pct", "gpu_util_max_pct", "mem_util_mean_pct", "nvml_peak_mem_gib", "power_mean_w",
    "sm_clock_mean_mhz"};
#define N_POINT_COLS ((int)(sizeof point_cols / sizeof point_cols[0]))
static const char *const meta_cols[] = {"device", "device_name", "driver", "cuda_runtime", "git_commit", "date", "calibration",
                                        "hw", "command"};
#define N_META_COLS ((int)(sizeof meta_cols / sizeof meta_cols[0]))

static const char *nz(const char *s) { return s ? s : ""; }

static lf_table *make_table(const lf_bench_result *res, int n, const char *model, const lf_bench_meta *meta) {
    const char *cols[N_POINT_COLS + N_META_COLS];
    int nc = 0;
    for (int i = 0; i < N_POINT_COLS; i++) cols[nc++] = point_cols[i];
    if (meta)
        for (int i = 0; i < N_META_COLS; i++) cols[nc++] = meta_cols[i];
    lf_table *t = lf_table_new(nc, cols);
    if (!t) return NULL;
    for (int i = 0; i < n; i++) {
        const lf_bench_result *r = &res[i];
        lf_table_row(t);
        lf_table_str(t, nz(model));
        lf_table_str(t, lf_bench_dtype_name(r->pt.dtype));
        lf_table_int(t, r->tp > 0 ? r->tp : 1);
        lf_table_int(t, r->pt.batch);
        lf_table_int(t, r->pt.in_len);
        lf_table_int(t, r->pt.out_len);
        lf_table_str(t, lf_bench_state_name(r->state));
        lf_table_str(t, r->note);
        lf_table_int(t, r->warmup);
        lf_table_int(t, r->reps);
        const double v[] = {r->ttft_ms, r->ttft_p50_ms, r->ttft_std_ms, r->tpot_ms, r->tpot_p50_ms, r->tpot_p95_ms, r->tpot_p99_ms,
                            r->itl_ms, r->e2e_ms, r->e2e_std_ms, r->e2e_p50_ms, r->e2e_p95_ms, r->out_tok_s, r->total_tok_s,
                            r->cv_ttft, r->cv_tpot, r->cv_e2e};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) lf_table_num(t, v[k], 4);
        lf_table_int(t, r->noisy);
        lf_table_num(t, r->peak_rss_bytes / GIB, 3);
        lf_table_num(t, r->gpu_mem_bytes / GIB, 3);
        lf_table_num(t, r->pred_ttft_ms, 4);
        lf_table_num(t, r->pred_tpot_ms, 4);
        lf_table_num(t, r->pred_e2e_ms, 4);
        lf_table_num(t, r->pred_mem_bytes / GIB, 3);
        lf_table_num(t, r->eff_ttft, 4);
        lf_table_num(t, r->eff_tpot, 4);
        lf_table_num(t, r->wall_s, 3);
        lf_table_int(t, r->nvml_gpus);
        lf_table_int(t, r->nvml_samples);
        lf_table_num(t, r->gpu_util_mean_pct, 2);
        lf_table_num(t, r->gpu_util_max_pct, 0);
        lf_table_num(t, r->mem_util_mean_pct, 2);
        lf_table_num(t, r->nvml_peak_mem_bytes / GIB, 3);
        lf_table_num(t, r->power_mean_w, 1);
        lf_table_num(t, r->sm_clock_mean_mhz, 0);
        if (meta) {
            const char *m[] = {meta->device, meta->device_name, meta->driver, meta->cuda_runtime, meta->git_commit, meta->date,
                               meta->calibration, meta->hw_name, meta->command};
            for (int k = 0; k < N_META_COLS; k++) lf_table_str(t, nz(m[k]));
        }
    }
    return t;
}

lf_table *lf_bench_table(const lf_bench_result *r, int n, const char *model) { return make_table(r, n, model, NULL); }

lf_status lf_bench_check_writable(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    fclose(f);
    remove(tmp);
    return LINFER_OK;
}

typedef struct {
    const lf_bench_meta *meta;
    const lf_bench_result *res;
    int n;
} out_ctx;

static lf_status csv_writer(FILE *f, const void *vctx) {
    const out_ctx *c = vctx;
    lf_table *t = make_table(c->res, c->n, c->meta ? c->meta->model : NULL, c->meta);
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_status s = lf_table_write(t, f, LF_FMT_CSV);
    lf_table_free(t);
    return s;
}

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.10g", v);
    else fputs("null", f);
}

static lf_status json_writer(FILE *f, const void *vctx) {
    const out_ctx *c = vctx;
    const lf_bench_meta *m = c->meta;
    lf_table *t = make_table(c->res, c->n, m ? m->model : NULL, NULL);
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    fputs("{\n  \"meta\": {", f);
    if (m) {
        const char *keys[] = {"model", "device", "device_name", "driver", "cuda_runtime", "git_commit", "date", "calibration", "hw", "command"};
        const char *vals[] = {m->model, m->device, m->device_name, m->driver, m->cuda_runtime, m->git_commit, m->date, m->calibration,
                              m->hw_name, m->command};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            fprintf(f, "%s\n    ", i ? "," : "");
            lf_json_string(f, keys[i]);
            fputs(": ", f);
            lf_json_string(f, nz(vals[i]));
        }
        fputs(",\n    \"ceiling_bw_Bps\": ", f);
        json_num(f, m->ceil_bw);
        fputs(",\n    \"ceiling_flops\": ", f);
        json_num(f, m->ceil_flops);
        fputs(",\n    \"ceiling_launch_s\": ", f);
        json_num(f, m->ceil_launch_s);
        fputs(",\n    \"roofline_kernel_overhead\": ", f);
        lf_json_string(f, nz(m->overhead));
        fprintf(f, ",\n    \"warmup\": %d,\n    \"reps\": %d,\n    \"points\": %d\n  ", m->warmup, m->reps, c->n);
    }
    fputs("},\n  \"points\": ", f);
    lf_status s = lf_table_write(t, f, LF_FMT_JSON);
    fputs("}\n", f);
    lf_table_free(t);
    return s;
}

lf_status lf_bench_write_csv(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n) {
    out_ctx c = {m, r, n};
    return lf_write_atomic(path, csv_writer, &c);
}

lf_status lf_bench_write_json(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n) {
    out_ctx c = {m, r, n};
    return lf_write_atomic(path, json_writer, &c);
}

const char *lf_iso_date(char *buf, size_t cap) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
