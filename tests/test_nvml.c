/* test_nvml.c — GPU sampling through NVML (src/perf/nvml_sampler.h) without a GPU: NVML that cannot
 * be loaded degrades to "not available" (LINFER_NVML_LIB=/nonexistent, a library without NVML's
 * symbols); the summary arithmetic on synthetic readings (means, max, peak, skipped fields, no
 * readings -> NAN); CUDA_VISIBLE_DEVICES -> NVML index mapping; the sampling thread driven by a fake
 * NVML function table (two GPUs, one without power readings, per-GPU and pooled figures, a GPU that
 * never answers -> zero samples and NAN); and a CPU bench sweep given a sampler: the NVML fields stay
 * NAN / 0 and appear in the CSV and JSON. */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include "perf/bench.h"
#include "perf/nvml_sampler.h"
#include "perf/presets.h"

static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* ---- NVML missing ----------------------------------------------------------------------------------- */
static void check_not_sampled(const lf_nvml_summary *s) {
    assert_int_equal(s->n_gpus, 0);
    assert_int_equal(s->ticks, 0);
    assert_int_equal(s->all.samples, 0);
    assert_true(isnan(s->all.gpu_util_mean_pct) && isnan(s->all.gpu_util_max_pct) && isnan(s->all.mem_util_mean_pct));
    assert_true(isnan(s->all.peak_mem_used_bytes) && isnan(s->all.power_mean_w) && isnan(s->all.sm_clock_mean_mhz));
}

static void test_not_available(void **state) {
    (void)state;
    setenv("LINFER_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    int gpus[1] = {0};
    lf_nvml_opts o = {gpus, 1, 0, NULL};
    lf_nvml_sampler *s = (lf_nvml_sampler *)&o;   /* must be reset to NULL */
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(linfer_last_error(), "NVML not available"));
    assert_non_null(strstr(linfer_last_error(), "/nonexistent/libnvidia-ml.so.1"));
    assert_non_null(strstr(linfer_last_error(), "LINFER_NVML_LIB"));
    char v[64] = "x";
    assert_int_equal(lf_nvml_driver_version(v, sizeof v), LINFER_ERR_UNSUPPORTED);
    assert_string_equal(v, "");
    /* a library that loads but is not NVML */
    setenv("LINFER_NVML_LIB", "libm.so.6", 1);
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(linfer_last_error(), "no symbol nvmlInit_v2"));
    unsetenv("LINFER_NVML_LIB");
    /* the NULL sampler is "not available": start does nothing, stop says not sampled */
    assert_int_equal(lf_nvml_sampler_start(NULL), LINFER_OK);
    lf_nvml_summary sum;
    memset(&sum, 0x5a, sizeof sum);
    assert_int_equal(lf_nvml_sampler_stop(NULL, &sum), LINFER_OK);
    check_not_sampled(&sum);
    char d[64];
    assert_string_equal(lf_nvml_sampler_describe(NULL, d, sizeof d), "not available");
    assert_true(isnan(lf_nvml_sampler_period_ms(NULL)));
    lf_nvml_sampler_close(NULL);
    /* bad options */
    lf_nvml_opts bad = {gpus, 0, 0, NULL};
    assert_int_equal(lf_nvml_sampler_open(&bad, &s), LINFER_ERR_INVALID_ARG);
    lf_nvml_opts badp = {gpus, 1, 0.5, NULL};
    assert_int_equal(lf_nvml_sampler_open(&badp, &s), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "period"));
}

/* ---- arithmetic ------------------------------------------------------------------------------------- */
static void test_summary_arithmetic(void **state) {
    (void)state;
    const lf_nvml_sample x[4] = {
        {10, 5, 1.0e9, 100, 1500},
        {90, 15, 3.0e9, 300, 1700},
        {NAN, NAN, 2.0e9, NAN, NAN},      /* only memory read */
        {50, 10, NAN, 200, 1800},
    };
    lf_nvml_stats s;
    lf_nvml_summarise(x, 4, &s);
    assert_int_equal(s.samples, 4);
    assert_true(close_to(s.gpu_util_mean_pct, 50, 1e-12));     /* (10 + 90 + 50) / 3 */
    assert_true(s.gpu_util_max_pct == 90);
    assert_true(close_to(s.mem_util_mean_pct, 10, 1e-12));
    assert_true(s.peak_mem_used_bytes == 3.0e9);
    assert_true(close_to(s.power_mean_w, 200, 1e-12));
    assert_true(close_to(s.sm_clock_mean_mhz, 5000.0 / 3, 1e-12));
    /* one reading */
    lf_nvml_summarise(&x[0], 1, &s);
    assert_int_equal(s.samples, 1);
    assert_true(s.gpu_util_mean_pct == 10 && s.gpu_util_max_pct == 10 && s.peak_mem_used_bytes == 1e9);
    /* a reading whose every field failed is not a sample */
    const lf_nvml_sample none = {NAN, NAN, NAN, NAN, NAN};
    lf_nvml_summarise(&none, 1, &s);
    assert_int_equal(s.samples, 0);
    assert_true(isnan(s.gpu_util_mean_pct) && isnan(s.gpu_util_max_pct) && isnan(s.peak_mem_used_bytes));
    /* no readings at all */
    lf_nvml_summarise(NULL, 0, &s);
    assert_int_equal(s.samples, 0);
    assert_true(isnan(s.gpu_util_mean_pct) && isnan(s.mem_util_mean_pct) && isnan(s.power_mean_w) && isnan(s.sm_clock_mean_mhz));
    /* max and peak also when the first reading is the largest, and with zeros */
    const lf_nvml_sample y[3] = {{100, 0, 5e9, 0, 0}, {0, 0, 1e9, 0, 0}, {0, 0, 0, 0, 0}};
    lf_nvml_summarise(y, 3, &s);
    assert_true(s.gpu_util_max_pct == 100 && s.peak_mem_used_bytes == 5e9);
    assert_true(close_to(s.gpu_util_mean_pct, 100.0 / 3, 1e-12) && s.power_mean_w == 0 && s.sm_clock_mean_mhz == 0);
    /* the accumulator is what the summary uses: adding one by one gives the same */
    lf_nvml_acc a;
    lf_nvml_acc_reset(&a);
    for (int i = 0; i < 4; i++) lf_nvml_acc_add(&a, &x[i]);
    lf_nvml_stats t;
    lf_nvml_acc_stats(&a, &t);
    lf_nvml_summarise(x, 4, &s);
    assert_int_equal(s.samples, t.samples);
    assert_true(s.gpu_util_mean_pct == t.gpu_util_mean_pct && s.gpu_util_max_pct == t.gpu_util_max_pct &&
                s.mem_util_mean_pct == t.mem_util_mean_pct && s.peak_mem_used_bytes == t.peak_mem_used_bytes &&
                s.power_mean_w == t.power_mean_w && s.sm_clock_mean_mhz == t.sm_clock_mean_mhz);
}

/* ---- CUDA_VISIBLE_DEVICES ---------------------------------------------------------------------------- */
static void test_map_visible(void **state) {
    (void)state;
    int idx;
    char uuid[64], why[256];
    assert_int_equal(lf_nvml_map_visible(NULL, 3, &idx, uuid, sizeof uuid, why, sizeof why), 1);
    assert_int_equal(idx, 3);
    assert_int_equal(lf_nvml_map_visible("2,0", 0, &idx, uuid, sizeof uuid, why, sizeof why), 1);
    assert_int_equal(idx, 2);
    assert_int_equal(lf_nvml_map_visible(" 2 , 0 ", 1, &idx, uuid, sizeof uuid, why, sizeof why), 1);
    assert_int_equal(idx, 0);
    /* beyond the list */
    assert_int_equal(lf_nvml_map_visible("2,0", 2, &idx, uuid, sizeof uuid, why, sizeof why), 0);
    assert_non_null(strstr(why, "makes 2 GPUs visible"));
    /* CUDA stops at the first invalid entry */
    assert_int_equal(lf_nvml_map_visible("1,-1,0", 1, &idx, uuid, sizeof uuid, why, sizeof why), 0);
    assert_non_null(strstr(why, "makes 1 GPU visible"));
    assert_int_equal(lf_nvml_map_visible("", 0, &idx, uuid, sizeof uuid, why, sizeof why), 0);
    assert_int_equal(lf_nvml_map_visible("abc", 0, &idx, uuid, sizeof uuid, why, sizeof why), 0);
    /* UUIDs and MIG */
    assert_int_equal(lf_nvml_map_visible("0,GPU-8f3a1c2e-1111-2222-3333-444455556666", 1, &idx, uuid, sizeof uuid, why, sizeof why), 2);
    assert_string_equal(uuid, "GPU-8f3a1c2e-1111-2222-3333-444455556666");
    assert_int_equal(lf_nvml_map_visible("MIG-0a1b2c3d-1111-2222-3333-444455556666,1", 0, &idx, uuid, sizeof uuid, why, sizeof why), 0);
    assert_non_null(strstr(why, "MIG"));
    assert_int_equal(lf_nvml_map_visible("MIG-0a1b2c3d-1111-2222-3333-444455556666,1", 1, &idx, uuid, sizeof uuid, why, sizeof why), 1);
    assert_int_equal(idx, 1);
    assert_int_equal(lf_nvml_map_visible("0", -1, &idx, uuid, sizeof uuid, why, sizeof why), 0);
}

/* ---- a fake NVML: the sampler's thread, per-GPU and pooled figures ------------------------------------- */
typedef struct {
    atomic_int util_calls, mem_calls;
    double util_sum, mem_util_sum, mem_peak;   /* what the fake returned (read after the join) */
    int util_fail, power_ok;
    unsigned clock;
} fake_dev;
static fake_dev g_dev[3];
static int g_init_fail, g_inits, g_shutdowns;

static lf_nvmlReturn_t f_init(void) { g_inits++; return g_init_fail ? 9 /* NVML_ERROR_DRIVER_NOT_LOADED */ : LF_NVML_SUCCESS; }
static lf_nvmlReturn_t f_shutdown(void) { g_shutdowns++; return LF_NVML_SUCCESS; }
static const char *f_err(lf_nvmlReturn_t r) { return r == 9 ? "Driver Not Loaded" : "Unknown Error"; }
static lf_nvmlReturn_t f_by_index(unsigned i, lf_nvmlDevice_t *d) {
    if (i >= 3) return 2;   /* NVML_ERROR_INVALID_ARGUMENT */
    *d = (lf_nvmlDevice_t)(void *)&g_dev[i];
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_index(lf_nvmlDevice_t d, unsigned *i) {
    *i = (unsigned)((fake_dev *)(void *)d - g_dev);
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_util(lf_nvmlDevice_t d, lf_nvmlUtilization_t *u) {
    fake_dev *f = (fake_dev *)(void *)d;
    if (f->util_fail) return 999;   /* NVML_ERROR_UNKNOWN */
    int k = atomic_fetch_add(&f->util_calls, 1);
    u->gpu = k % 2 ? 90 : 70;   /* alternates: max 90, mean between */
    u->memory = 20 + (unsigned)(f - g_dev);
    f->util_sum += u->gpu;
    f->mem_util_sum += u->memory;
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_mem(lf_nvmlDevice_t d, lf_nvmlMemory_t *m) {
    fake_dev *f = (fake_dev *)(void *)d;
    if (f->util_fail) return 999;
    int k = atomic_fetch_add(&f->mem_calls, 1);
    m->total = 80ull << 30;
    m->used = (2ull << 30) + (unsigned long long)(f - g_dev) * (1ull << 30) + (unsigned long long)k * (1ull << 20);   /* grows */
    m->free = m->total - m->used;
    if ((double)m->used > f->mem_peak) f->mem_peak = (double)m->used;
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_power(lf_nvmlDevice_t d, unsigned *mw) {
    fake_dev *f = (fake_dev *)(void *)d;
    if (!f->power_ok) return LF_NVML_ERROR_NOT_SUPPORTED;
    *mw = 350000;
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_clock(lf_nvmlDevice_t d, int type, unsigned *mhz) {
    fake_dev *f = (fake_dev *)(void *)d;
    if (f->util_fail || type != LF_NVML_CLOCK_SM) return 999;
    *mhz = f->clock;
    return LF_NVML_SUCCESS;
}
static lf_nvmlReturn_t f_driver(char *buf, unsigned len) { snprintf(buf, len, "999.1.2"); return LF_NVML_SUCCESS; }

static const lf_nvml_api fake_api = {
    .Init = f_init, .Shutdown = f_shutdown, .ErrorString = f_err, .DeviceGetHandleByIndex = f_by_index, .DeviceGetIndex = f_index,
    .DeviceGetUtilizationRates = f_util, .DeviceGetMemoryInfo = f_mem, .DeviceGetPowerUsage = f_power, .DeviceGetClockInfo = f_clock,
    .SystemGetDriverVersion = f_driver};

static void fake_reset(void) {
    memset(g_dev, 0, sizeof g_dev);
    g_dev[0].power_ok = 1;
    g_dev[0].clock = 1980;
    g_dev[1].clock = 1755;
    g_dev[2].clock = 1410;
    g_init_fail = g_inits = g_shutdowns = 0;
}

static void test_fake_sampler(void **state) {
    (void)state;
    fake_reset();
    unsetenv("CUDA_VISIBLE_DEVICES");
    setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);   /* CUDA 0 = NVML 2, CUDA 1 = NVML 0 */
    int gpus[2] = {1, 0};
    lf_nvml_opts o = {gpus, 2, 2.0, &fake_api};
    lf_nvml_sampler *s = NULL;
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_OK);
    assert_non_null(s);
    assert_true(lf_nvml_sampler_period_ms(s) == 2.0);
    char d[512];
    lf_nvml_sampler_describe(s, d, sizeof d);
    assert_non_null(strstr(d, "NVML 999.1.2, every 2 ms"));
    assert_non_null(strstr(d, "CUDA GPU 1 = NVML 0 (index from CUDA_VISIBLE_DEVICES)"));
    assert_non_null(strstr(d, "CUDA GPU 0 = NVML 2"));
    /* stop before any start: not sampled */
    lf_nvml_summary sum;
    assert_int_equal(lf_nvml_sampler_stop(s, &sum), LINFER_OK);
    check_not_sampled(&sum);
    /* two points, each its own window */
    for (int point = 0; point < 2; point++) {
        /* the fake's own sums run over both points: take the differences */
        double u0 = g_dev[0].util_sum, u2 = g_dev[2].util_sum, m0 = g_dev[0].mem_util_sum, m2 = g_dev[2].mem_util_sum;
        int c0 = atomic_load(&g_dev[0].util_calls), c2 = atomic_load(&g_dev[2].util_calls);
        assert_int_equal(lf_nvml_sampler_start(s), LINFER_OK);
        assert_int_equal(lf_nvml_sampler_start(s), LINFER_ERR_INVALID_ARG);   /* already running */
        sleep_ms(30);
        assert_int_equal(lf_nvml_sampler_stop(s, &sum), LINFER_OK);
        int n0 = atomic_load(&g_dev[0].util_calls) - c0, n2 = atomic_load(&g_dev[2].util_calls) - c2;
        assert_int_equal(sum.n_gpus, 2);
        assert_true(sum.ticks >= 2);                   /* one reading at start, one at stop, at least */
        assert_int_equal(n0, sum.ticks);
        assert_int_equal(n2, sum.ticks);
        assert_true(sum.duration_s >= 0.025 && sum.duration_s < 5);
        /* gpu[0] is CUDA 1 = NVML 0 (power readings), gpu[1] CUDA 0 = NVML 2 (none) */
        assert_int_equal(sum.cuda_gpu[0], 1);
        assert_int_equal(sum.nvml_index[0], 0);
        assert_int_equal(sum.cuda_gpu[1], 0);
        assert_int_equal(sum.nvml_index[1], 2);
        const lf_nvml_stats *a = &sum.gpu[0], *b = &sum.gpu[1];
        assert_int_equal(a->samples, n0);
        assert_int_equal(b->samples, n2);
        assert_true(close_to(a->gpu_util_mean_pct, (g_dev[0].util_sum - u0) / n0, 1e-12));
        assert_true(close_to(b->gpu_util_mean_pct, (g_dev[2].util_sum - u2) / n2, 1e-12));
        assert_true(a->gpu_util_max_pct == 90 && b->gpu_util_max_pct == 90);
        assert_true(close_to(a->mem_util_mean_pct, 20, 1e-12) && close_to(b->mem_util_mean_pct, 22, 1e-12));
        assert_true(a->peak_mem_used_bytes == g_dev[0].mem_peak && b->peak_mem_used_bytes == g_dev[2].mem_peak);
        assert_true(close_to(a->power_mean_w, 350, 1e-12));
        assert_true(isnan(b->power_mean_w));           /* not supported there */
        assert_true(a->sm_clock_mean_mhz == 1980 && b->sm_clock_mean_mhz == 1410);
        /* pooled over both GPUs */
        assert_int_equal(sum.all.samples, n0 + n2);
        assert_true(close_to(sum.all.gpu_util_mean_pct, (g_dev[0].util_sum - u0 + g_dev[2].util_sum - u2) / (n0 + n2), 1e-12));
        assert_true(close_to(sum.all.mem_util_mean_pct, (g_dev[0].mem_util_sum - m0 + g_dev[2].mem_util_sum - m2) / (n0 + n2), 1e-12));
        assert_true(sum.all.gpu_util_max_pct == 90);
        assert_true(sum.all.peak_mem_used_bytes == g_dev[2].mem_peak);   /* the fuller GPU, not a sum */
        assert_true(close_to(sum.all.power_mean_w, 350, 1e-12));         /* only GPU 0 reports power */
        assert_true(close_to(sum.all.sm_clock_mean_mhz, (1980.0 * n0 + 1410.0 * n2) / (n0 + n2), 1e-12));
    }
    /* close while running joins the thread and shuts NVML down */
    assert_int_equal(lf_nvml_sampler_start(s), LINFER_OK);
    lf_nvml_sampler_close(s);
    assert_int_equal(g_inits, 1);
    assert_int_equal(g_shutdowns, 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
}

/* A GPU whose readings all fail: the point has zero samples and NAN figures; a failing init or a GPU
 * that cannot be mapped fails open with a message. */
static void test_fake_failures(void **state) {
    (void)state;
    fake_reset();
    unsetenv("CUDA_VISIBLE_DEVICES");
    g_dev[1].util_fail = 1;
    int one[1] = {1};
    lf_nvml_opts o = {one, 1, 1.0, &fake_api};
    lf_nvml_sampler *s = NULL;
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_OK);
    char d[256];
    assert_non_null(strstr(lf_nvml_sampler_describe(s, d, sizeof d), "CUDA GPU 1 = NVML 1 (same index)"));
    assert_int_equal(lf_nvml_sampler_start(s), LINFER_OK);
    sleep_ms(5);
    lf_nvml_summary sum;
    assert_int_equal(lf_nvml_sampler_stop(s, &sum), LINFER_OK);
    assert_int_equal(sum.n_gpus, 1);
    assert_true(sum.ticks >= 2);
    assert_int_equal(sum.all.samples, 0);
    assert_int_equal(sum.gpu[0].samples, 0);
    assert_true(isnan(sum.all.gpu_util_mean_pct) && isnan(sum.all.gpu_util_max_pct) && isnan(sum.all.mem_util_mean_pct));
    assert_true(isnan(sum.all.peak_mem_used_bytes) && isnan(sum.all.power_mean_w) && isnan(sum.all.sm_clock_mean_mhz));
    lf_nvml_sampler_close(s);

    /* nvmlInit_v2 fails */
    g_init_fail = 1;
    int shut_before = g_shutdowns;
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(linfer_last_error(), "nvmlInit_v2: Driver Not Loaded"));
    assert_int_equal(g_shutdowns, shut_before);   /* no shutdown without a successful init */
    g_init_fail = 0;

    /* an ordinal CUDA_VISIBLE_DEVICES does not have, an index NVML does not have */
    setenv("CUDA_VISIBLE_DEVICES", "0", 1);
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_DEVICE);
    assert_null(s);
    assert_non_null(strstr(linfer_last_error(), "CUDA GPU 1"));
    assert_non_null(strstr(linfer_last_error(), "makes 1 GPU visible"));
    setenv("CUDA_VISIBLE_DEVICES", "0,7", 1);
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "nvmlDeviceGetHandleByIndex_v2(7)"));
    /* a UUID without nvmlDeviceGetHandleByUUID in the table */
    setenv("CUDA_VISIBLE_DEVICES", "0,GPU-8f3a1c2e-1111-2222-3333-444455556666", 1);
    assert_int_equal(lf_nvml_sampler_open(&o, &s), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "UUID"));
    unsetenv("CUDA_VISIBLE_DEVICES");
    assert_int_equal(g_inits, g_shutdowns + 1);   /* every successful init was shut down (the failed one has none) */
}

/* ---- the bench: a CPU sweep given a sampler records nothing, and the outputs carry the fields --------- */
static void tiny_config(lf_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->n_layers = 1;
    c->dim = 32;
    c->n_heads = 2;
    c->n_kv_heads = 2;
    c->head_dim = 16;
    c->ffn_dim = 64;
    c->vocab_size = 64;
    c->max_context = 64;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->rope_style = LF_ROPE_NEOX;
    c->bos_id = -1;
}

static void test_bench_cpu_fields(void **state) {
    (void)state;
    fake_reset();
    int g[1] = {0};
    lf_nvml_opts no = {g, 1, 1.0, &fake_api};
    lf_nvml_sampler *s = NULL;
    assert_int_equal(lf_nvml_sampler_open(&no, &s), LINFER_OK);
    lf_config cfg;
    tiny_config(&cfg);
    lf_bench_point p[1] = {{1, 4, 3, LINFER_DTYPE_F32}};
    lf_bench_opts o;
    lf_bench_default_opts(&o);
    o.n_threads = 1;
    o.warmup = 0;
    o.reps = 2;
    o.nvml = s;   /* the CPU device: not sampled */
    lf_bench_result res[1];
    int done = 0;
    lf_bench_model bm = {&cfg, NULL, "tiny"};
    assert_int_equal(lf_bench_run(&bm, &o, p, 1, res, &done), LINFER_OK);
    assert_int_equal(done, 1);
    assert_int_equal(res[0].state, LF_BENCH_OK);
    assert_int_equal(atomic_load(&g_dev[0].util_calls), 0);
    assert_int_equal(res[0].nvml_gpus, 0);
    assert_int_equal(res[0].nvml_samples, 0);
    assert_true(isnan(res[0].gpu_util_mean_pct) && isnan(res[0].gpu_util_max_pct) && isnan(res[0].mem_util_mean_pct));
    assert_true(isnan(res[0].nvml_peak_mem_bytes) && isnan(res[0].power_mean_w) && isnan(res[0].sm_clock_mean_mhz));
    lf_nvml_sampler_close(s);

    /* outputs: the new columns after wall_s (older columns keep their positions), command last */
    res[0].gpu_util_mean_pct = 87.25;   /* as a GPU point would have them */
    res[0].gpu_util_max_pct = 99;
    res[0].nvml_samples = 42;
    res[0].nvml_gpus = 1;
    res[0].nvml_peak_mem_bytes = 3.0 * 1073741824.0;
    char dir[] = "/tmp/lf_test_nvml_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char csv[128], json[128];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    lf_bench_meta meta = {"tiny", "cpu", "cpu: test", "", "", "abc1234", "linfer bench", "2026-01-01T00:00:00Z", "none", "none",
                          NAN, NAN, NAN, 0, 2, NULL};
    assert_int_equal(lf_bench_write_csv(csv, &meta, res, 1), LINFER_OK);
    assert_int_equal(lf_bench_write_json(json, &meta, res, 1), LINFER_OK);
    cJSON *j = tu_load_json(json);
    assert_non_null(j);
    const cJSON *pt = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "points"), 0);
    assert_true(cJSON_GetObjectItemCaseSensitive(pt, "gpu_util_mean_pct")->valuedouble == 87.25);
    assert_true(cJSON_GetObjectItemCaseSensitive(pt, "gpu_util_max_pct")->valuedouble == 99);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pt, "nvml_samples")->valueint, 42);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pt, "nvml_gpus")->valueint, 1);
    assert_true(cJSON_GetObjectItemCaseSensitive(pt, "nvml_peak_mem_gib")->valuedouble == 3.0);
    const char *nulls[] = {"mem_util_mean_pct", "power_mean_w", "sm_clock_mean_mhz", "gpu_mem_gib"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(pt, nulls[i])));
    /* the JSON point keys: the older ones first, in their order, the NVML ones after wall_s */
    const cJSON *last_old = cJSON_GetObjectItemCaseSensitive(pt, "wall_s");
    assert_non_null(last_old);
    assert_string_equal(last_old->next->string, "nvml_gpus");
    cJSON_Delete(j);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[8192];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, ",eff_tpot,wall_s,nvml_gpus,nvml_samples,gpu_util_mean_pct,gpu_util_max_pct,mem_util_mean_pct,"
                                 "nvml_peak_mem_gib,power_mean_w,sm_clock_mean_mhz,device,"));
    assert_non_null(strstr(line, ",hw,command\n"));
    assert_true(strncmp(line, "model,dtype,tp,batch,in,out,state,note,warmup,reps,ttft_ms,", 59) == 0);
    assert_non_null(fgets(line, sizeof line, f));
    if (!strstr(line, ",1,42,87.25,99,,3,,,cpu,")) fail_msg("CSV row: %s", line);
    fclose(f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_available),
        cmocka_unit_test(test_summary_arithmetic),
        cmocka_unit_test(test_map_visible),
        cmocka_unit_test(test_fake_sampler),
        cmocka_unit_test(test_fake_failures),
        cmocka_unit_test(test_bench_cpu_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
