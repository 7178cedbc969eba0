/* test_bench.c — the library part of `linfer bench` and `linfer calibrate` (CPU only, fast):
 * statistics helpers on known data, sweep expansion and refusals, a real sweep of a tiny random
 * model on the CPU (every field finite and positive, TPOT percentiles ordered, engine reuse,
 * stop after the current point, a point that does not fit), CSV/JSON output (parsed back, no
 * .tmp left), and the calibration cache file. */
#include "test_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include "engine/gpu_query.h"
#include "perf/bench.h"
#include "perf/calibrate.h"
#include "perf/presets.h"
#include "perf/roofline.h"
#include "perf/sweep.h"

static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

/* ---- statistics ---------------------------------------------------------------------------------- */
static void test_stats(void **state) {
    (void)state;
    const double x[10] = {7, 1, 10, 3, 5, 2, 9, 4, 6, 8};   /* 1..10, unsorted */
    double copy[10];
    memcpy(copy, x, sizeof x);
    assert_true(close_to(lf_stat_mean(x, 10), 5.5, 1e-12));
    assert_true(close_to(lf_stat_std(x, 10), sqrt(55.0 / 6.0), 1e-12));   /* sample std: sum sq dev 82.5 / 9 */
    assert_true(close_to(lf_stat_cv(x, 10), sqrt(55.0 / 6.0) / 5.5, 1e-12));
    assert_true(close_to(lf_stat_median(x, 10), 5.5, 1e-12));
    assert_true(close_to(lf_stat_percentile(x, 10, 0), 1, 1e-12));
    assert_true(close_to(lf_stat_percentile(x, 10, 100), 10, 1e-12));
    assert_true(close_to(lf_stat_percentile(x, 10, 95), 9.55, 1e-12));   /* numpy.percentile(range(1,11), 95) */
    assert_true(close_to(lf_stat_percentile(x, 10, 99), 9.91, 1e-12));
    assert_true(close_to(lf_stat_percentile(x, 10, 25), 3.25, 1e-12));
    assert_memory_equal(x, copy, sizeof x);                                /* input untouched */
    /* more than the helper's stack buffer */
    double big[1000];
    for (int i = 0; i < 1000; i++) big[i] = 999 - i;
    assert_true(close_to(lf_stat_percentile(big, 1000, 50), 499.5, 1e-12));
    assert_true(close_to(lf_stat_percentile(big, 1000, 99), 989.01, 1e-9));
    /* edge cases */
    const double one[1] = {4.25};
    assert_true(lf_stat_std(one, 1) == 0);
    assert_true(lf_stat_percentile(one, 1, 99) == 4.25);
    assert_true(isnan(lf_stat_mean(x, 0)) && isnan(lf_stat_percentile(x, 0, 50)) && isnan(lf_stat_std(x, 0)));
    const double zeros[3] = {0, 0, 0};
    assert_true(isnan(lf_stat_cv(zeros, 3)));
    const double c3[3] = {100, 102, 98};
    assert_true(close_to(lf_stat_cv(c3, 3), 0.02, 1e-12));
}

/* ---- sweep --------------------------------------------------------------------------------------- */
static void test_sweep(void **state) {
    (void)state;
    int *b, *in, *out, nb, ni, no;
    assert_int_equal(lf_parse_int_list("1,8", "--batch", 1, 4096, &b, &nb), LINFER_OK);
    assert_int_equal(lf_parse_int_list("16:32:x2", "--in", 1, 1 << 20, &in, &ni), LINFER_OK);
    assert_int_equal(lf_parse_int_list("4", "--out", 1, 1 << 20, &out, &no), LINFER_OK);
    linfer_compute_dtype *dt;
    int nd;
    assert_int_equal(lf_bench_parse_dtypes("fp16,bf16", &dt, &nd), LINFER_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(dt[0], LINFER_DTYPE_F16);
    assert_int_equal(dt[1], LINFER_DTYPE_BF16);
    lf_bench_point *p;
    int n;
    assert_int_equal(lf_bench_expand(b, nb, in, ni, out, no, dt, nd, &p, &n), LINFER_OK);
    assert_int_equal(n, 2 * 2 * 2 * 1);
    /* dtype outermost, then batch, in, out */
    const int want[8][3] = {{1, 16, 4}, {1, 32, 4}, {8, 16, 4}, {8, 32, 4}, {1, 16, 4}, {1, 32, 4}, {8, 16, 4}, {8, 32, 4}};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(p[i].batch, want[i][0]);
        assert_int_equal(p[i].in_len, want[i][1]);
        assert_int_equal(p[i].out_len, want[i][2]);
        assert_int_equal(p[i].dtype, i < 4 ? LINFER_DTYPE_F16 : LINFER_DTYPE_BF16);
    }
    /* refusals before anything runs */
    assert_int_equal(lf_bench_check(p, n, 4096, LINFER_DEVICE_CUDA, "m"), LINFER_OK);
    assert_int_equal(lf_bench_check(p, n, 35, LINFER_DEVICE_CUDA, "tiny"), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "context of 35"));
    assert_int_equal(lf_bench_check(p, n, 4096, LINFER_DEVICE_CPU, "m"), LINFER_ERR_INVALID_ARG);   /* fp16 on the CPU */
    assert_non_null(strstr(linfer_last_error(), "fp32"));
    lf_bench_point f32 = {1, 8, 8, LINFER_DTYPE_F32};
    assert_int_equal(lf_bench_check(&f32, 1, 4096, LINFER_DEVICE_CUDA, "m"), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_bench_check(&f32, 1, 4096, LINFER_DEVICE_CPU, "m"), LINFER_OK);
    linfer_compute_dtype *bad;
    int nbad;
    assert_int_equal(lf_bench_parse_dtypes("fp16,fp8", &bad, &nbad), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "fp8"));
    assert_int_equal(lf_bench_parse_dtypes("fp16,", &bad, &nbad), LINFER_ERR_INVALID_ARG);
    free(p);
    /* too many points */
    int *big, nbig;
    assert_int_equal(lf_parse_int_list("1-100", "--batch", 1, 4096, &big, &nbig), LINFER_OK);
    assert_int_equal(lf_bench_expand(big, nbig, big, nbig, out, no, dt, 1, &p, &n), LINFER_ERR_INVALID_ARG);
    assert_null(p);
    free(big); free(b); free(in); free(out); free(dt);
}

/* ---- a real sweep on the CPU --------------------------------------------------------------------- */
static void tiny_config(lf_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->n_layers = 2;
    c->dim = 64;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->head_dim = 16;
    c->ffn_dim = 128;
    c->vocab_size = 256;
    c->max_context = 128;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->rope_style = LF_ROPE_NEOX;
    c->bos_id = -1;
}

typedef struct { int progress_calls, points, stop_at; int point_seen[8]; } cb_log;

static int cb_progress(void *user, int point, int n_points, int run, int n_runs) {
    cb_log *l = user;
    (void)n_points; (void)run; (void)n_runs; (void)point;
    l->progress_calls++;
    return l->stop_at >= 0 && l->progress_calls > l->stop_at;
}
static void cb_point(void *user, const lf_bench_result *r, int point, int n_points) {
    cb_log *l = user;
    (void)r; (void)n_points;
    l->points++;
    if (point < 8) l->point_seen[point] = 1;
}

static void cpu_hw(lf_hw *hw) {
    lf_calib_opts co;
    lf_calib_default_opts(&co);
    co.quick = 1;
    co.read_bytes = 16.0 * 1048576;
    co.gemm_n = 256;
    lf_calib_result cr;
    assert_int_equal(lf_calibrate_cpu(&co, &cr), LINFER_OK);
    assert_true(cr.is_cpu && cr.read_bw > 1e8 && isfinite(cr.read_bw));
    assert_true(cr.gemm_flops[LF_PREC_FP16] > 1e7 && isfinite(cr.gemm_flops[LF_PREC_FP16]));
    assert_int_equal(cr.gemm_n, 256);
    lf_hw_cpu(&cr, hw);
    assert_true(lf_hw_eff_bw(hw) == cr.read_bw);
    assert_true(lf_hw_eff_flops(hw, LF_PREC_FP16) == cr.gemm_flops[LF_PREC_FP16]);
    assert_true(lf_hw_eff_launch(hw) == 0);
}

static void check_point(const lf_bench_result *r) {
    assert_int_equal(r->state, LF_BENCH_OK);
    assert_string_equal(r->note, "");
    assert_int_equal(r->reps, 3);
    assert_int_equal(r->warmup, 1);
    const double v[] = {r->ttft_ms, r->ttft_p50_ms, r->ttft_std_ms, r->tpot_ms, r->tpot_p50_ms, r->tpot_p95_ms, r->tpot_p99_ms,
                        r->itl_ms, r->e2e_ms, r->e2e_std_ms, r->e2e_p50_ms, r->e2e_p95_ms, r->out_tok_s, r->total_tok_s,
                        r->cv_ttft, r->cv_tpot, r->cv_e2e, r->peak_rss_bytes, r->pred_ttft_ms, r->pred_tpot_ms,
                        r->pred_e2e_ms, r->pred_mem_bytes, r->eff_ttft, r->eff_tpot, r->wall_s};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (!(isfinite(v[i]) && v[i] > 0)) fail_msg("field %zu of point b=%d in=%d out=%d is %g", i, r->pt.batch, r->pt.in_len, r->pt.out_len, v[i]);
    }
    assert_true(isnan(r->gpu_mem_bytes));   /* CPU: not applicable */
    /* NVML sampling: CUDA only */
    assert_int_equal(r->nvml_gpus, 0);
    assert_int_equal(r->nvml_samples, 0);
    assert_true(isnan(r->gpu_util_mean_pct) && isnan(r->gpu_util_max_pct) && isnan(r->mem_util_mean_pct) && isnan(r->nvml_peak_mem_bytes) &&
                isnan(r->power_mean_w) && isnan(r->sm_clock_mean_mhz));
    assert_true(r->tpot_p50_ms <= r->tpot_p95_ms && r->tpot_p95_ms <= r->tpot_p99_ms);
    assert_true(r->e2e_p50_ms <= r->e2e_p95_ms);
    assert_true(r->ttft_ms < r->e2e_ms);
    /* throughputs follow from the mean E2E */
    assert_true(close_to(r->out_tok_s, r->pt.batch * r->pt.out_len / (r->e2e_ms * 1e-3), 1e-9));
    assert_true(close_to(r->total_tok_s, r->pt.batch * (double)(r->pt.in_len + r->pt.out_len) / (r->e2e_ms * 1e-3), 1e-9));
    assert_true(close_to(r->eff_tpot, r->pred_tpot_ms / r->tpot_ms, 1e-12));
    assert_true(r->noisy == (r->cv_ttft > 0.03 || r->cv_tpot > 0.03 || r->cv_e2e > 0.03));
    assert_true(r->peak_rss_bytes > 1e6);
}

typedef struct {
    lf_config cfg;
    lf_hw hw;
    lf_bench_result res[4];
    int n_done;
    char dir[64];
} run_fixture;

static int setup_run(void **state) {
    run_fixture *f = calloc(1, sizeof *f);
    tiny_config(&f->cfg);
    cpu_hw(&f->hw);
    snprintf(f->dir, sizeof f->dir, "/tmp/lf_test_bench_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    const int batch[] = {1, 2}, in[] = {8}, out[] = {6, 3};
    const linfer_compute_dtype dt[] = {LINFER_DTYPE_F32};
    lf_bench_point *p;
    int n;
    if (lf_bench_expand(batch, 2, in, 1, out, 2, dt, 1, &p, &n) != LINFER_OK || n != 4) return -1;
    lf_bench_opts o;
    lf_bench_default_opts(&o);
    o.device = LINFER_DEVICE_CPU;
    o.n_threads = 1;
    o.warmup = 1;
    o.reps = 3;
    o.hw = &f->hw;
    cb_log log = {0, 0, -1, {0}};
    o.progress = cb_progress;
    o.on_point = cb_point;
    o.user = &log;
    lf_bench_model bm = {&f->cfg, NULL, "tiny"};
    lf_status s = lf_bench_run(&bm, &o, p, n, f->res, &f->n_done);
    free(p);
    if (s != LINFER_OK || log.points != 4 || log.progress_calls != 4 * 4) return -1;
    *state = f;
    return 0;
}

static int teardown_run(void **state) {
    run_fixture *f = *state;
    if (f) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0) { /* best effort */ }
        free(f);
    }
    return 0;
}

static void test_cpu_sweep(void **state) {
    run_fixture *f = *state;
    assert_int_equal(f->n_done, 4);
    for (int i = 0; i < 4; i++) check_point(&f->res[i]);
    /* longer outputs take longer end to end at the same batch */
    assert_int_equal(f->res[0].pt.out_len, 6);
    assert_int_equal(f->res[1].pt.out_len, 3);
    /* the prediction grows with the batch's work */
    assert_true(f->res[2].pred_ttft_ms > f->res[0].pred_ttft_ms);
}

/* CSV and JSON: written atomically (no .tmp left), parseable, metadata present. */
static void test_outputs(void **state) {
    run_fixture *f = *state;
    char csv[128], json[128], tmp[140];
    snprintf(csv, sizeof csv, "%s/out.csv", f->dir);
    snprintf(json, sizeof json, "%s/out.json", f->dir);
    lf_bench_meta meta = {"tiny", "cpu", "cpu: test", "", "", "abc1234", "linfer bench --in 8 --out 6,3 --note \"a, b\"",
                          "2026-01-01T00:00:00Z", "quick", "cpu", 1e10, 1e11, 0, 1, 3, "none (CPU backend)"};
    assert_int_equal(lf_bench_check_writable(csv), LINFER_OK);
    snprintf(tmp, sizeof tmp, "%s.tmp", csv);
    assert_false(tu_have(tmp));
    assert_int_equal(lf_bench_write_csv(csv, &meta, f->res, f->n_done), LINFER_OK);
    assert_int_equal(lf_bench_write_json(json, &meta, f->res, f->n_done), LINFER_OK);
    /* overwrite in place works too */
    assert_int_equal(lf_bench_write_json(json, &meta, f->res, f->n_done), LINFER_OK);
    assert_false(tu_have(tmp));
    snprintf(tmp, sizeof tmp, "%s.tmp", json);
    assert_false(tu_have(tmp));

    cJSON *j = tu_load_json(json);
    assert_non_null(j);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "meta");
    assert_non_null(m);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "git_commit")->valuestring, "abc1234");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "command")->valuestring, meta.command);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "date")));
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "calibration")));
    assert_true(cJSON_GetObjectItemCaseSensitive(m, "ceiling_bw_Bps")->valuedouble == 1e10);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "roofline_kernel_overhead")->valuestring, "none (CPU backend)");
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(j, "points");
    assert_true(cJSON_IsArray(pts));
    assert_int_equal(cJSON_GetArraySize(pts), 4);
    int k = 0;
    for (const cJSON *p = pts->child; p; p = p->next, k++) {
        const char *num[] = {"ttft_ms", "tpot_ms", "tpot_p50_ms", "tpot_p95_ms", "tpot_p99_ms", "itl_ms", "e2e_ms", "e2e_std_ms",
                             "out_tok_s", "total_tok_s", "cv_e2e", "peak_rss_gib", "pred_ttft_ms", "pred_tpot_ms", "eff_ttft", "eff_tpot"};
        for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, num[i]);
            if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) fail_msg("point %d: %s is not a positive number", k, num[i]);
        }
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "gpu_mem_gib")));
        /* NVML fields: present, null / 0 on the CPU */
        const char *nv[] = {"gpu_util_mean_pct", "gpu_util_max_pct", "mem_util_mean_pct", "nvml_peak_mem_gib", "power_mean_w", "sm_clock_mean_mhz"};
        for (size_t i = 0; i < sizeof nv / sizeof nv[0]; i++)
            if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, nv[i]))) fail_msg("point %d: %s is not null", k, nv[i]);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "nvml_samples")) && cJSON_GetObjectItemCaseSensitive(p, "nvml_samples")->valueint == 0);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "nvml_gpus")) && cJSON_GetObjectItemCaseSensitive(p, "nvml_gpus")->valueint == 0);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "state")->valuestring, "ok");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "batch")->valueint, f->res[k].pt.batch);
        assert_true(cJSON_GetObjectItemCaseSensitive(p, "tpot_p50_ms")->valuedouble <= cJSON_GetObjectItemCaseSensitive(p, "tpot_p99_ms")->valuedouble);
    }
    cJSON_Delete(j);

    /* CSV: a header and one row per point, the same number of fields in each (quoted fields kept whole) */
    FILE *fp = fopen(csv, "r");
    assert_non_null(fp);
    char line[8192];
    int rows = 0, nf0 = -1, col_ttft = -1, col_commit = -1, col_wall = -1, col_util = -1, col_samples = -1;
    while (fgets(line, sizeof line, fp)) {
        int nf = 1, q = 0, col = 0;
        char field[256];
        size_t fl = 0;
        for (char *c = line; *c && *c != '\n'; c++) {
            if (*c == '"') { q = !q; continue; }
            if (*c == ',' && !q) {
                field[fl] = 0;
                if (rows == 0 && !strcmp(field, "ttft_ms")) col_ttft = col;
                if (rows == 0 && !strcmp(field, "git_commit")) col_commit = col;
                if (rows == 0 && !strcmp(field, "wall_s")) col_wall = col;
                if (rows == 0 && !strcmp(field, "gpu_util_mean_pct")) col_util = col;
                if (rows == 0 && !strcmp(field, "nvml_samples")) col_samples = col;
                if (rows > 0 && col == col_util) assert_string_equal(field, "");      /* CPU: not sampled */
                if (rows > 0 && col == col_samples) assert_string_equal(field, "0");
                if (rows > 0 && col == col_ttft) assert_true(strtod(field, NULL) > 0);
                if (rows > 0 && col == col_commit) assert_string_equal(field, "abc1234");
                nf++; col++; fl = 0;
                continue;
            }
            if (fl + 1 < sizeof field) field[fl++] = *c;
        }
        assert_false(q);
        if (nf0 < 0) nf0 = nf;
        assert_int_equal(nf, nf0);
        rows++;
    }
    fclose(fp);
    assert_int_equal(rows, 1 + 4);
    assert_true(col_ttft >= 0 && col_commit >= 0);
    /* the NVML columns come after the older point columns (which keep their positions: wall_s is
     * the 37th) and before the metadata */
    assert_int_equal(col_wall, 36);
    assert_true(col_samples > col_wall && col_util > col_samples && col_util < col_commit);

    /* an unwritable path fails cleanly */
    assert_int_not_equal(lf_bench_write_csv("/nonexistent-dir/x.csv", &meta, f->res, f->n_done), LINFER_OK);
    assert_int_not_equal(lf_bench_check_writable("/nonexistent-dir/x.csv"), LINFER_OK);
}

/* A progress callback asking to stop ends the sweep after the current point; the finished
 * points are kept. */
static void test_stop_after_point(void **state) {
    (void)state;
    lf_config cfg;
    tiny_config(&cfg);
    const int batch[] = {1, 2}, in[] = {4}, out[] = {3};
    const linfer_compute_dtype dt[] = {LINFER_DTYPE_F32};
    lf_bench_point *p;
    int n, done = -1;
    assert_int_equal(lf_bench_expand(batch, 2, in, 1, out, 1, dt, 1, &p, &n), LINFER_OK);
    lf_bench_opts o;
    lf_bench_default_opts(&o);
    o.n_threads = 1;
    o.warmup = 0;
    o.reps = 2;
    cb_log log = {0, 0, 0, {0}};   /* stop requested at the first progress call */
    o.progress = cb_progress;
    o.on_point = cb_point;
    o.user = &log;
    lf_bench_result res[2];
    lf_bench_model bm = {&cfg, NULL, "tiny"};
    assert_int_equal(lf_bench_run(&bm, &o, p, n, res, &done), LINFER_OK);
    assert_int_equal(done, 1);
    assert_int_equal(log.points, 1);
    assert_int_equal(res[0].state, LF_BENCH_OK);
    assert_int_equal(res[0].reps, 2);            /* the current point still finishes its repetitions */
    assert_true(isnan(res[0].pred_ttft_ms));     /* no hw: no predictions */
    free(p);
}

/* A stop asked for after the last progress call of a point (Ctrl-C during its last run) is seen
 * by stop_requested after that point: the next point does not start. */
static int stop_always(void *user) { (void)user; return 1; }
static void test_stop_requested_after_point(void **state) {
    (void)state;
    lf_config cfg;
    tiny_config(&cfg);
    const int batch[] = {1, 2, 1}, in[] = {4}, out[] = {3};
    const linfer_compute_dtype dt[] = {LINFER_DTYPE_F32};
    lf_bench_point *p;
    int n, done = -1;
    assert_int_equal(lf_bench_expand(batch, 3, in, 1, out, 1, dt, 1, &p, &n), LINFER_OK);
    lf_bench_opts o;
    lf_bench_default_opts(&o);
    o.n_threads = 1;
    o.warmup = 0;
    o.reps = 1;
    cb_log log = {0, 0, -1, {0}};   /* progress never asks to stop */
    o.progress = cb_progress;
    o.on_point = cb_point;
    o.stop_requested = stop_always;
    o.user = &log;
    lf_bench_result res[3];
    lf_bench_model bm = {&cfg, NULL, "tiny"};
    assert_int_equal(lf_bench_run(&bm, &o, p, n, res, &done), LINFER_OK);
    assert_int_equal(done, 1);
    assert_int_equal(log.points, 1);
    assert_int_equal(res[0].state, LF_BENCH_OK);
    free(p);
}

/* A point far beyond memory is reported as "does not fit" and the sweep goes on. */
static void test_does_not_fit(void **state) {
    (void)state;
    lf_config cfg;
    tiny_config(&cfg);
    cfg.max_context = 1 << 22;
    lf_bench_point p[2] = {{4096, 4000000, 2, LINFER_DTYPE_F32}, {1, 4, 3, LINFER_DTYPE_F32}};
    lf_bench_opts o;
    lf_bench_default_opts(&o);
    o.n_threads = 1;
    o.warmup = 0;
    o.reps = 2;
    lf_bench_result res[2];
    int done = 0;
    lf_bench_model bm = {&cfg, NULL, "tiny"};
    assert_int_equal(lf_bench_run(&bm, &o, p, 2, res, &done), LINFER_OK);
    assert_int_equal(done, 2);
    assert_int_equal(res[0].state, LF_BENCH_NOFIT);
    assert_non_null(strstr(res[0].note, "does not fit: needs"));
    assert_non_null(strstr(res[0].note, "GiB, have"));
    assert_true(isnan(res[0].ttft_ms));
    assert_int_equal(res[1].state, LF_BENCH_OK);
    assert_true(res[1].ttft_ms > 0);
}

/* ---- calibration file ---------------------------------------------------------------------------- */
static void test_calib_file(void **state) {
    (void)state;
    char dir[] = "/tmp/lf_test_calib_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char base[128], path[160];
    snprintf(base, sizeof base, "%s/sub/cal.txt", dir);
    setenv("LINFER_CALIB", base, 1);
    assert_string_equal(lf_calib_path(0, 0, path, sizeof path), base);
    char want[160];
    snprintf(want, sizeof want, "%s/sub/cal-gpu2.txt", dir);
    assert_string_equal(lf_calib_path(0, 2, path, sizeof path), want);
    snprintf(want, sizeof want, "%s/sub/cal-cpu.txt", dir);
    assert_string_equal(lf_calib_path(1, 0, path, sizeof path), want);

    lf_calib_result r = {0};
    snprintf(r.name, sizeof r.name, "NVIDIA H200");
    r.mem_bytes = 150e9;
    r.read_bw = 4.17e12;
    r.copy_bw = 4.28e12;
    r.gemm_flops[LF_PREC_FP16] = 7.75e14;
    r.gemm_flops[LF_PREC_BF16] = 7.88e14;
    r.launch_s = 2.1e-6;
    r.launch_graph_s = 0.9e-6;
    r.launch_sync_s = 6e-6;
    r.gemm_n = 8192;
    r.sm_count = 132;
    r.l2_bytes = 60e6;
    r.read_bytes = 2147483648.0;
    r.date = 1.7e9;
    r.chain_n = 2;   /* the kernel-chain curve */
    r.chain_bytes[0] = 16384;
    r.chain_s[0] = 1.4e-6;
    r.chain_bytes[1] = 67108864;
    r.chain_s[1] = 17.4e-6;
    assert_int_equal(lf_calib_save(base, &r), LINFER_OK);   /* creates sub/ */
    snprintf(path, sizeof path, "%s.tmp", base);
    assert_false(tu_have(path));
    /* presets.c's loader reads it (extra keys skipped) */
    lf_hw_measured m;
    assert_int_equal(lf_hw_measured_load(base, &m), LINFER_OK);
    assert_true(m.valid);
    assert_string_equal(m.gpu_name, "NVIDIA H200");
    assert_true(m.read_bw == 4.17e12 && m.gemm_flops[LF_PREC_BF16] == 7.88e14 && m.launch_s == 2.1e-6);
    assert_int_equal(m.ar_gpus, 0);   /* all-reduce: not measured */
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&m, &hw), LINFER_OK);
    assert_true(lf_hw_eff_bw(&hw) == 4.17e12);
    assert_true(hw.hbm_bw == 4.8e12);  /* the datasheet figure stays beside it */
    /* and the full round trip */
    lf_calib_result back;
    assert_int_equal(lf_calib_load(base, &back), LINFER_OK);
    assert_true(back.copy_bw == r.copy_bw && back.launch_graph_s == r.launch_graph_s && back.launch_sync_s == r.launch_sync_s);
    assert_int_equal(back.gemm_n, 8192);
    assert_int_equal(back.chain_n, 2);
    assert_true(back.chain_bytes[1] == 67108864 && back.chain_s[1] == 17.4e-6 && m.chain_n == 2);
    assert_int_equal(back.is_cpu, 0);
    assert_int_equal(back.allreduce_measured, 0);
    /* the table: ratio = measured / datasheet, all-reduce "not measured" */
    lf_table *t = lf_calib_table(&back, &hw);
    assert_non_null(t);
    int found_ar = 0;
    for (int i = 0; i < lf_table_nrows(t); i++) {
        if (strstr(lf_table_cell(t, i, 0), "HBM read")) assert_true(close_to(lf_table_value(t, i, 3), 4.17 / 4.8, 1e-3));
        if (strstr(lf_table_cell(t, i, 0), "all-reduce")) { found_ar = 1; assert_string_equal(lf_table_cell(t, i, 1), "not measured"); }
    }
    assert_true(found_ar);
    lf_table_free(t);
    unsetenv("LINFER_CALIB");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Without CUDA the GPU calibration fails with a clear message (with CUDA and no GPU: no device). */
static void test_calib_gpu_absent(void **state) {
    (void)state;
#ifndef LINFER_HAVE_CUDA
    lf_calib_result r;
    assert_int_equal(lf_calibrate_gpu(0, NULL, &r), LINFER_ERR_UNSUPPORTED);
    assert_non_null(strstr(linfer_last_error(), "without CUDA"));
#else
    if (lf_gpu_count() > 0) skip();
    lf_calib_result r;
    assert_int_equal(lf_calibrate_gpu(0, NULL, &r), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "no CUDA GPU"));
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test_setup_teardown(test_cpu_sweep, setup_run, teardown_run),
        cmocka_unit_test_setup_teardown(test_outputs, setup_run, teardown_run),
        cmocka_unit_test(test_stop_after_point),
        cmocka_unit_test(test_stop_requested_after_point),
        cmocka_unit_test(test_does_not_fit),
        cmocka_unit_test(test_calib_file),
        cmocka_unit_test(test_calib_gpu_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
