/* test_calib_nccl.c — NCCL all-reduce calibration without a GPU: message sizes and GPU counts,
 * the derived latency and bus bandwidth, the calibration-file round trip of the per-GPU-count
 * figures (lf_hw_measured and the full lf_calib_result with its per-size tables), the roofline
 * picking the measured figure at the matching TP and the assumed one elsewhere, and the NCCL
 * loader's failure path (LINFER_NCCL_LIB pointing at a file that is no library).
 * Also the fp8 GEMM figure of the calibration: its cache round trip with and without it (files
 * written before it existed load with NAN = "not measured"), the reason kept when it was not
 * measured, the table row beside the datasheet, the roofline using it for fp8, and the clean
 * no-GPU / no-CUDA errors of the fp8 launchers. */
#include "test_util.h"

#include "dist/nccl_loader.h"
#include "engine/gpu_query.h"
#include "perf/calibrate.h"
#include "perf/presets.h"
#include "perf/roofline.h"
#include "perf/table.h"

#define MIB (1024.0 * 1024.0)

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fabs(b); }

static void test_sizes(void **state) {
    (void)state;
    double b[LF_AR_MAX_SIZES];
    int n = lf_allreduce_sizes(0, 0, b, LF_AR_MAX_SIZES);
    assert_int_equal(n, 11);   /* 2K 8K 10K 32K 128K 512K 2M 8M 32M 128M 256M */
    assert_true(b[0] == 2048 && b[1] == 8192 && b[2] == 10240 && b[n - 2] == 128 * MIB && b[n - 1] == 256 * MIB);
    for (int i = 1; i < n; i++) assert_true(b[i] > b[i - 1]);
    int big = 0;
    for (int i = 0; i < n; i++) big += b[i] >= LF_AR_BUSBW_MIN_BYTES;
    assert_int_equal(big, 2);
    /* quick: fewer, one of them >= 64 MiB */
    n = lf_allreduce_sizes(1, 0, b, LF_AR_MAX_SIZES);
    assert_int_equal(n, 6);
    assert_true(b[0] == 2048 && b[1] == 8192 && b[2] == 10240 && b[n - 1] == 64 * MIB);
    /* a memory cap drops the large ones; cap on the output array */
    n = lf_allreduce_sizes(0, 32 * MIB, b, LF_AR_MAX_SIZES);
    assert_int_equal(n, 9);
    assert_true(b[n - 1] == 32 * MIB);
    assert_int_equal(lf_allreduce_sizes(0, 0, b, 3), 3);
}

static void test_gpu_counts(void **state) {
    (void)state;
    int c[LF_HW_AR_MAX_GPUS];
    assert_int_equal(lf_allreduce_gpu_counts(0, c, 8), 0);
    assert_int_equal(lf_allreduce_gpu_counts(1, c, 8), 0);
    assert_int_equal(lf_allreduce_gpu_counts(2, c, 8), 1);
    assert_int_equal(c[0], 2);
    assert_int_equal(lf_allreduce_gpu_counts(3, c, 8), 2);
    assert_true(c[0] == 2 && c[1] == 3);
    assert_int_equal(lf_allreduce_gpu_counts(4, c, 8), 2);
    assert_true(c[0] == 2 && c[1] == 4);
    assert_int_equal(lf_allreduce_gpu_counts(6, c, 8), 3);
    assert_true(c[0] == 2 && c[1] == 4 && c[2] == 6);
    assert_int_equal(lf_allreduce_gpu_counts(8, c, 8), 3);
    assert_true(c[0] == 2 && c[1] == 4 && c[2] == 8);
    assert_int_equal(lf_allreduce_gpu_counts(16, c, 8), 3);   /* capped at 8 */
    assert_true(c[2] == 8);
    assert_int_equal(lf_allreduce_gpu_counts(12, c, 8), 3);
    assert_true(c[2] == 8);
}

/* A made-up 4-GPU measurement: 2 KiB in 20 µs ... 256 MiB at 300 GB/s algorithm bandwidth. */
static void fake_ar(lf_allreduce_calib *a, int n_gpus, double lat, double algbw_big) {
    memset(a, 0, sizeof *a);
    a->n_gpus = n_gpus;
    a->n_sizes = lf_allreduce_sizes(0, 0, a->bytes, LF_AR_MAX_SIZES);
    for (int i = 0; i < a->n_sizes; i++) a->time_s[i] = lat + a->bytes[i] / algbw_big;
    a->nccl_version = 22809;
    snprintf(a->nccl_lib, sizeof a->nccl_lib, "/opt/nccl/libnccl.so.2");
    lf_allreduce_derive(a);
}

static void test_derive(void **state) {
    (void)state;
    lf_allreduce_calib a;
    fake_ar(&a, 4, 20e-6, 300e9);
    assert_true(a.latency_s == a.time_s[0] && a.bytes[0] == 2048);
    for (int i = 0; i < a.n_sizes; i++) {
        assert_true(close_rel(a.algbw[i], a.bytes[i] / a.time_s[i], 1e-12));
        assert_true(close_rel(a.busbw[i], a.algbw[i] * 1.5, 1e-12));   /* 2(n-1)/n = 1.5 at n = 4 */
    }
    /* the best among >= 64 MiB: 256 MiB here (the latency weighs least) */
    assert_true(a.busbw_best_bytes == 256 * MIB);
    assert_true(close_rel(a.busbw_best, 1.5 * 256 * MIB / (20e-6 + 256 * MIB / 300e9), 1e-12));
    /* 2 GPUs: busBW = algBW */
    fake_ar(&a, 2, 10e-6, 200e9);
    assert_true(a.busbw[3] == a.algbw[3]);
    /* nothing >= 64 MiB: no bus bandwidth ceiling, the latency stays */
    a.n_sizes = 5;
    lf_allreduce_derive(&a);
    assert_true(a.busbw_best == 0 && a.latency_s > 0);
}

static char g_dir[64];

static int setup_dir(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/lf_test_nccl_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* lf_hw_measured: per-count keys, the single keys = the largest count, old files still read */
static void test_measured_file(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/m.txt", g_dir);
    lf_hw_measured me;
    memset(&me, 0, sizeof me);
    snprintf(me.gpu_name, sizeof me.gpu_name, "NVIDIA H200");
    me.read_bw = 4.5e12;
    me.gemm_flops[LF_PREC_FP16] = 700e12;
    me.ar_latency_by_n[2] = 11e-6;
    me.ar_busbw_by_n[2] = 360e9;
    me.ar_latency_by_n[4] = 17e-6;
    me.ar_busbw_by_n[4] = 340e9;
    me.ar_gpus = 4;
    me.ar_latency_s = 17e-6;
    me.ar_busbw = 340e9;
    assert_int_equal(lf_hw_measured_save(path, &me), LINFER_OK);
    char *txt = NULL;
    {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        txt = calloc(1, 4096);
        assert_true(fread(txt, 1, 4095, f) > 0);
        fclose(f);
    }
    assert_non_null(strstr(txt, "\nar_latency_s_2 1.1e-05\n"));
    assert_non_null(strstr(txt, "\nar_busbw_4 340000000000\n"));
    assert_non_null(strstr(txt, "\nar_gpus 4\n"));
    assert_null(strstr(txt, "ar_busbw_8"));   /* counts not measured are not written */
    free(txt);
    lf_hw_measured back;
    assert_int_equal(lf_hw_measured_load(path, &back), LINFER_OK);
    assert_true(back.valid && back.ar_gpus == 4 && back.ar_latency_s == 17e-6 && back.ar_busbw == 340e9);
    for (int n = 0; n <= LF_HW_AR_MAX_GPUS; n++) {
        assert_true(back.ar_latency_by_n[n] == me.ar_latency_by_n[n]);
        assert_true(back.ar_busbw_by_n[n] == me.ar_busbw_by_n[n]);
    }
    /* odd per-count keys are skipped, not errors; a negative value is still an error */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "ar_latency_s_9 1e-5\nar_busbw_1 1e9\nar_busbw_x 1e9\nar_latency_s_ 3\nar_time_s_2_2048 1e-5\nar_nccl_version_2 22809\n");
    fclose(f);
    assert_int_equal(lf_hw_measured_load(path, &back), LINFER_OK);
    assert_true(back.ar_latency_by_n[2] == 11e-6 && back.ar_busbw_by_n[1] == 0);
    f = fopen(path, "a");
    fprintf(f, "ar_busbw_2 -5\n");
    fclose(f);
    assert_int_equal(lf_hw_measured_load(path, &back), LINFER_ERR_FORMAT);
    /* the older format: only the single keys */
    f = fopen(path, "w");
    fprintf(f, "# linfer calibration v1\ngpu_name NVIDIA H200\nread_bw 4.5e12\ngemm_flops_fp16 7e14\nar_latency_s 1.2e-05\n"
               "ar_busbw 3.6e11\nar_gpus 8\n");
    fclose(f);
    assert_int_equal(lf_hw_measured_load(path, &back), LINFER_OK);
    assert_true(back.ar_gpus == 8 && back.ar_latency_by_n[8] == 0);
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&back, &hw), LINFER_OK);
    assert_true(lf_hw_eff_ar_latency(&hw, 8) == 12e-6 && lf_hw_eff_busbw(&hw, 8) == 360e9);
    assert_true(lf_hw_eff_ar_latency(&hw, 2) == 8e-6);   /* assumed at the other counts */
}

/* The accessors: the measured figure at exactly tp, the assumed one elsewhere */
static void test_eff_by_tp(void **state) {
    (void)state;
    lf_hw_measured me;
    memset(&me, 0, sizeof me);
    snprintf(me.gpu_name, sizeof me.gpu_name, "NVIDIA H200");
    me.read_bw = 4.5e12;
    me.gemm_flops[LF_PREC_BF16] = 750e12;
    me.valid = 1;
    me.ar_latency_by_n[2] = 11e-6;
    me.ar_busbw_by_n[2] = 360e9;
    me.ar_latency_by_n[4] = 17e-6;
    me.ar_busbw_by_n[4] = 0;       /* latency only (no message >= 64 MiB fit) */
    me.ar_gpus = 4;
    me.ar_latency_s = 17e-6;
    lf_hw hw, ds;
    assert_int_equal(lf_hw_from_measured(&me, &hw), LINFER_OK);
    assert_int_equal(lf_hw_lookup("h200", &ds), LINFER_OK);
    assert_true(lf_hw_eff_ar_latency(&hw, 2) == 11e-6 && lf_hw_eff_busbw(&hw, 2) == 360e9);
    assert_true(lf_hw_eff_ar_latency(&hw, 4) == 17e-6);
    assert_true(lf_hw_eff_busbw(&hw, 4) == lf_hw_eff_busbw(&ds, 4));          /* not measured: NVLink / 2 */
    assert_true(lf_hw_eff_busbw(&ds, 4) == ds.nvlink_bw / 2);
    assert_true(lf_hw_eff_ar_latency(&hw, 8) == ds.ar_latency_s && lf_hw_eff_busbw(&hw, 8) == ds.nvlink_bw / 2);
    assert_true(lf_hw_eff_ar_latency(&hw, 3) == ds.ar_latency_s);
    assert_true(lf_hw_ar_measured_at(&hw, 2, 0) && lf_hw_ar_measured_at(&hw, 2, 1));
    assert_true(lf_hw_ar_measured_at(&hw, 4, 0) && !lf_hw_ar_measured_at(&hw, 4, 1));
    assert_false(lf_hw_ar_measured_at(&hw, 8, 0) || lf_hw_ar_measured_at(&hw, 1, 0));
    char buf[200];
    assert_non_null(strstr(lf_hw_origin(&hw, buf, sizeof buf), "all-reduce measured (NCCL) at 2,4 GPUs, assumed at others"));
    /* the roofline uses them at tp 2 and not at tp 8 */
    lf_roofline_model m;
    assert_int_equal(lf_preset_shape("llama-2-13b", &m), LINFER_OK);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 2, 1, 128, 128, LF_PREC_FP16, &r), LINFER_OK);
    assert_true(r.ar_latency_s == 11e-6 && r.busbw == 360e9);
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 8, 1, 128, 128, LF_PREC_FP16, &r), LINFER_OK);
    assert_true(r.ar_latency_s == ds.ar_latency_s && r.busbw == ds.nvlink_bw / 2);
    /* datasheet only: use_measured off */
    hw.use_measured = 0;
    assert_true(lf_hw_eff_ar_latency(&hw, 2) == ds.ar_latency_s && lf_hw_eff_busbw(&hw, 2) == ds.nvlink_bw / 2);
    hw.use_measured = 1;
    /* ar_gpus = 0 switches every measured all-reduce figure off (`linfer roofline --link-bw`) */
    hw.measured.ar_gpus = 0;
    assert_true(lf_hw_eff_ar_latency(&hw, 2) == ds.ar_latency_s && lf_hw_eff_busbw(&hw, 2) == ds.nvlink_bw / 2);
    assert_non_null(strstr(lf_hw_origin(&hw, buf, sizeof buf), "all-reduce assumed"));
}

/* The one-shot all-reduce table (the engine's peer-memory kernel, `linfer calibrate`): saved and
 * read back through both file readers, shown in the calibration table, interpolated by
 * lf_hw_oneshot_time, and used by the roofline where it beats the ring model */
static void test_oneshot_table(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/os.txt", g_dir);
    lf_calib_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "NVIDIA H200");
    r.read_bw = 4.5e12;
    r.gemm_flops[LF_PREC_FP16] = 650e12;
    fake_ar(&r.ar[8], 8, 50e-6, 340e9);
    r.ar[8].os_time_s[0] = 4.5e-6;
    r.ar[8].os_time_s[1] = 8.5e-6;
    r.ar[8].os_time_s[2] = 24.5e-6;
    fake_ar(&r.ar[4], 4, 35e-6, 330e9);   /* no one-shot figures at 4 GPUs */
    r.allreduce_measured = 1;
    assert_int_equal(lf_calib_save(path, &r), LINFER_OK);
    lf_hw_measured m;
    assert_int_equal(lf_hw_measured_load(path, &m), LINFER_OK);
    for (int k = 0; k < LF_HW_OS_SIZES; k++) {
        assert_true(m.os_time_by_n[8][k] == r.ar[8].os_time_s[k]);
        assert_true(m.os_time_by_n[4][k] == 0);
    }
    lf_calib_result back;
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    for (int k = 0; k < LF_HW_OS_SIZES; k++) assert_true(back.ar[8].os_time_s[k] == r.ar[8].os_time_s[k]);
    /* a key of a size not in the table, or of 9 GPUs, is skipped */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "ar_oneshot_s_8_1000 1e-6\nar_oneshot_s_9_32768 1e-6\nar_oneshot_s_x 1e-6\n");
    fclose(f);
    assert_int_equal(lf_hw_measured_load(path, &m), LINFER_OK);
    assert_true(m.os_time_by_n[8][0] == 4.5e-6);
    /* the calibration table has the row */
    lf_hw ds;
    assert_int_equal(lf_hw_lookup("h200", &ds), LINFER_OK);
    lf_table *t = lf_calib_table(&back, &ds);
    int found = 0;
    for (int i = 0; i < lf_table_nrows(t); i++)
        if (strstr(lf_table_cell(t, i, 0), "one-shot all-reduce, 8 GPUs")) {
            found++;
            assert_true(close_rel(lf_table_value(t, i, 1), 4.5, 1e-9));
            assert_non_null(strstr(lf_table_cell(t, i, 4), "512 KiB 24.50 us"));
        }
    assert_int_equal(found, 1);
    lf_table_free(t);
    /* interpolation: the smallest size's time below it, linear between, none above the largest */
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&m, &hw), LINFER_OK);
    assert_true(lf_hw_oneshot_time(&hw, 8, 1000) == 4.5e-6);
    assert_true(close_rel(lf_hw_oneshot_time(&hw, 8, (32768 + 131072) / 2.0), 6.5e-6, 1e-12));
    assert_true(lf_hw_oneshot_time(&hw, 8, 524288) == 24.5e-6);
    assert_true(lf_hw_oneshot_time(&hw, 8, 524289) == 0);
    assert_true(lf_hw_oneshot_time(&hw, 4, 32768) == 0 && lf_hw_oneshot_time(&hw, 2, 32768) == 0);
    /* the roofline: llama-2-70b at TP 8, bs 1 decode: 161 all-reduces of one fp32 row (32 KiB),
     * each the one-shot's 4.5 us instead of NCCL's 50 us + bytes */
    lf_roofline_model rm;
    assert_int_equal(lf_preset_shape("llama-2-70b", &rm), LINFER_OK);
    lf_roofline_opts o;
    lf_roofline_default_opts(&o);
    o.ar_bytes = 4;
    lf_roofline_phase ph;
    assert_int_equal(lf_roofline_decode(&rm, &hw, &o, 8, 1, 128, LF_PREC_FP16, &ph), LINFER_OK);
    const lf_op_cost *ar = &ph.op[LF_OP_ALL_REDUCE];
    const double nccl_lat = lf_hw_eff_ar_latency(&hw, 8);   /* 50 us + 2 KiB at the fake bandwidth */
    assert_true(close_rel(nccl_lat, 50e-6, 1e-3));
    assert_true(close_rel(ar->t_comm_lat, 161 * 4.5e-6 + nccl_lat, 1e-9));   /* + the logits' all-gather (NCCL) */
    /* without the table: the ring model with NCCL's latency; 2-byte messages unless ar_bytes says 4 */
    lf_hw plain = hw;
    memset(plain.measured.os_time_by_n, 0, sizeof plain.measured.os_time_by_n);
    assert_int_equal(lf_roofline_decode(&rm, &plain, &o, 8, 1, 128, LF_PREC_FP16, &ph), LINFER_OK);
    const double bytes4 = ph.op[LF_OP_ALL_REDUCE].comm_bytes;
    assert_true(close_rel(ph.op[LF_OP_ALL_REDUCE].t_comm_lat, 162 * nccl_lat, 1e-9));
    o.ar_bytes = 0;
    assert_int_equal(lf_roofline_decode(&rm, &plain, &o, 8, 1, 128, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(close_rel(bytes4 - ph.op[LF_OP_ALL_REDUCE].comm_bytes, 161 * 8192 * 2.0, 1e-12));
    /* prefill: 128 rows of 8192 fp32 = 4 MiB, past the table: NCCL's bandwidth term */
    o.ar_bytes = 4;
    assert_int_equal(lf_roofline_prefill(&rm, &hw, &o, 8, 1, 128, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(ph.op[LF_OP_ALL_REDUCE].t_comm_bw > 0);
}

/* lf_calib_save / lf_calib_load with the per-size tables; the table shows measured beside assumed */
static void test_calib_result_file(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/sub/cal.txt", g_dir);
    lf_calib_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "NVIDIA H200");
    r.mem_bytes = 150e9;
    r.read_bw = 4.5e12;
    r.gemm_flops[LF_PREC_FP16] = 700e12;
    r.launch_s = 2.5e-6;
    fake_ar(&r.ar[2], 2, 9e-6, 350e9);
    fake_ar(&r.ar[8], 8, 25e-6, 300e9);
    r.allreduce_measured = 1;
    lf_hw_measured m;
    lf_calib_to_measured(&r, &m);
    assert_true(m.ar_gpus == 8 && m.ar_latency_s == r.ar[8].latency_s && m.ar_busbw == r.ar[8].busbw_best);
    assert_true(m.ar_latency_by_n[2] == r.ar[2].latency_s && m.ar_busbw_by_n[2] == r.ar[2].busbw_best);
    assert_true(m.ar_latency_by_n[4] == 0);
    assert_int_equal(lf_calib_save(path, &r), LINFER_OK);

    lf_hw_measured lm;
    assert_int_equal(lf_hw_measured_load(path, &lm), LINFER_OK);   /* the per-size keys are skipped */
    assert_true(lm.ar_gpus == 8 && lm.ar_latency_by_n[2] == r.ar[2].latency_s && lm.ar_busbw_by_n[8] == r.ar[8].busbw_best);

    lf_calib_result back;
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    assert_int_equal(back.allreduce_measured, 1);
    for (int n = 0; n <= LF_HW_AR_MAX_GPUS; n++) {
        const lf_allreduce_calib *a = &r.ar[n], *b = &back.ar[n];
        assert_int_equal(b->n_gpus, a->n_gpus);
        assert_int_equal(b->n_sizes, a->n_sizes);
        for (int i = 0; i < a->n_sizes; i++) {
            assert_true(b->bytes[i] == a->bytes[i] && b->time_s[i] == a->time_s[i]);
            assert_true(close_rel(b->busbw[i], a->busbw[i], 1e-12));
        }
        assert_true(b->latency_s == a->latency_s && b->busbw_best == a->busbw_best);
        if (a->n_gpus) assert_int_equal(b->nccl_version, 22809);
    }

    /* table: two rows per count, measured beside the roofline's assumption */
    lf_hw ds;
    assert_int_equal(lf_hw_lookup("h200", &ds), LINFER_OK);
    lf_table *t = lf_calib_table(&back, &ds);
    assert_non_null(t);
    int rows = 0;
    for (int i = 0; i < lf_table_nrows(t); i++) {
        const char *c0 = lf_table_cell(t, i, 0);
        if (!strstr(c0, "all-reduce")) continue;
        rows++;
        if (strstr(c0, "latency, 2 GPUs")) {
            assert_true(close_rel(lf_table_value(t, i, 1), 9.0 + 2048 / 350e9 * 1e6, 1e-9));
            assert_true(lf_table_value(t, i, 2) == ds.ar_latency_s * 1e6);
        }
        if (strstr(c0, "busBW, 8 GPUs")) assert_true(lf_table_value(t, i, 2) == ds.nvlink_bw / 2 / 1e9);
    }
    assert_int_equal(rows, 4);
    lf_table_free(t);
    t = lf_allreduce_table(&back.ar[2]);
    assert_non_null(t);
    assert_int_equal(lf_table_nrows(t), 11);
    assert_string_equal(lf_table_cell(t, 0, 0), "2 KiB");
    assert_non_null(strstr(lf_table_cell(t, 0, 5), "latency"));
    assert_non_null(strstr(lf_table_cell(t, 2, 5), "LLaMA-13B"));
    assert_string_equal(lf_table_cell(t, 10, 0), "256 MiB");
    assert_non_null(strstr(lf_table_cell(t, 10, 5), "best busBW"));
    lf_table_free(t);

    /* not measured: one row, with the reason */
    memset(back.ar, 0, sizeof back.ar);
    snprintf(back.ar_note, sizeof back.ar_note, "1 GPU present, nothing to measure");
    t = lf_calib_table(&back, &ds);
    rows = 0;
    for (int i = 0; i < lf_table_nrows(t); i++) {
        if (!strstr(lf_table_cell(t, i, 0), "all-reduce")) continue;
        rows++;
        assert_string_equal(lf_table_cell(t, i, 1), "not measured");
        assert_non_null(strstr(lf_table_cell(t, i, 4), "1 GPU present"));
    }
    assert_int_equal(rows, 1);
    lf_table_free(t);
}

/* The loader's failure path: LINFER_NCCL_LIB names a file that is not a library */
static void test_loader_failure(void **state) {
    (void)state;
    char bogus[128];
    snprintf(bogus, sizeof bogus, "%s/not-a-library.so", g_dir);
    FILE *f = fopen(bogus, "w");
    assert_non_null(f);
    fprintf(f, "this is not an ELF file\n");
    fclose(f);
    setenv("LINFER_NCCL_LIB", bogus, 1);
    lf_nccl *nc = (lf_nccl *)1;
#ifndef LINFER_HAVE_CUDA
    assert_int_equal(lf_nccl_open(0, &nc), LINFER_ERR_UNSUPPORTED);
    assert_null(nc);
    assert_non_null(strstr(linfer_last_error(), "without CUDA"));
    lf_allreduce_calib a;
    assert_int_equal(lf_calibrate_allreduce(2, NULL, &a), LINFER_ERR_UNSUPPORTED);
#else
    /* only the environment's file: a deterministic failure on every machine */
    assert_int_equal(lf_nccl_open(LF_NCCL_SKIP_SYSTEM | LF_NCCL_SKIP_PYTHON, &nc), LINFER_ERR_UNSUPPORTED);
    assert_null(nc);
    const char *e = linfer_last_error();
    assert_non_null(strstr(e, "NCCL not found: tried $LINFER_NCCL_LIB="));
    assert_non_null(strstr(e, bogus));
    assert_non_null(strstr(e, "libnccl.so.2 (skipped)"));
    assert_non_null(strstr(e, "python3 nvidia.nccl (skipped)"));
    /* a path that does not exist */
    char none[160];
    snprintf(none, sizeof none, "%s/no-such-libnccl.so.2", g_dir);
    setenv("LINFER_NCCL_LIB", none, 1);
    assert_int_equal(lf_nccl_open(LF_NCCL_SKIP_SYSTEM | LF_NCCL_SKIP_PYTHON, &nc), LINFER_ERR_UNSUPPORTED);
    assert_non_null(strstr(linfer_last_error(), none));
    /* unset */
    unsetenv("LINFER_NCCL_LIB");
    assert_int_equal(lf_nccl_open(LF_NCCL_SKIP_SYSTEM | LF_NCCL_SKIP_PYTHON, &nc), LINFER_ERR_UNSUPPORTED);
    assert_non_null(strstr(linfer_last_error(), "$LINFER_NCCL_LIB (unset)"));
    /* the whole search: NCCL may well be installed here (then the bogus file was passed over);
     * if not, the message names the bogus file and every other candidate */
    setenv("LINFER_NCCL_LIB", bogus, 1);
    lf_status s = lf_nccl_open(0, &nc);
    if (s == LINFER_OK) {
        assert_non_null(nc);
        assert_null(strstr(lf_nccl_lib_path(nc), "not-a-library"));
        assert_true(lf_nccl_version(nc) >= 2000);
        char v[32];
        assert_true(lf_nccl_version_str(lf_nccl_version(nc), v, sizeof v)[0] == '2');
        lf_nccl_close(nc);
    } else {
        assert_int_equal(s, LINFER_ERR_UNSUPPORTED);
        e = linfer_last_error();
        assert_non_null(strstr(e, bogus));
        assert_non_null(strstr(e, "libnccl.so.2 ("));
        assert_non_null(strstr(e, "libnccl.so ("));
        assert_non_null(strstr(e, "python3 nvidia.nccl ("));
    }
    /* the measurement itself: no GPU here (skip when there are two) */
    lf_allreduce_calib a;
    assert_int_equal(lf_calibrate_allreduce(1, NULL, &a), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_calibrate_allreduce(9, NULL, &a), LINFER_ERR_INVALID_ARG);
    if (lf_gpu_count() < 2) {
        s = lf_calibrate_allreduce(2, NULL, &a);
        assert_true(s == LINFER_ERR_DEVICE || s == LINFER_ERR_UNSUPPORTED);
        assert_int_equal(a.n_gpus, 0);
    }
#endif
    unsetenv("LINFER_NCCL_LIB");
    char v[32];
    assert_string_equal(lf_nccl_version_str(22809, v, sizeof v), "2.28.9");
    assert_string_equal(lf_nccl_version_str(2708, v, sizeof v), "2.7.8");
}

/* ---- fp8 GEMM figure ------------------------------------------------------------------------- */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *txt = calloc(1, 65536);
    assert_non_null(txt);
    assert_true(fread(txt, 1, 65535, f) > 0);
    fclose(f);
    return txt;
}

static int find_row(const lf_table *t, const char *what) {
    for (int i = 0; i < lf_table_nrows(t); i++)
        if (strstr(lf_table_cell(t, i, 0), what)) return i;
    return -1;
}

static void fake_gpu(lf_calib_result *r, int cc_major, int cc_minor) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "NVIDIA H200");
    r->mem_bytes = 150e9;
    r->read_bw = 4.5e12;
    r->gemm_flops[LF_PREC_FP16] = 700e12;
    r->gemm_flops[LF_PREC_BF16] = 750e12;
    r->gemm_flops[LF_PREC_FP8] = NAN;
    r->gemm_n = 8192;
    r->launch_s = 2.5e-6;
    r->cc_major = cc_major;
    r->cc_minor = cc_minor;
    r->date = 1.7e9;
}

/* measured: file, presets' loader, full round trip, table (ratio to the datasheet), roofline fp8 */
static void test_fp8_measured_file(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/fp8/cal.txt", g_dir);
    lf_calib_result r;
    fake_gpu(&r, 9, 0);
    r.gemm_flops[LF_PREC_FP8] = 1.5e15;
    assert_int_equal(lf_calib_save(path, &r), LINFER_OK);
    char *txt = slurp(path);
    assert_non_null(strstr(txt, "\ngemm_flops_fp8 1500000000000000\n"));
    assert_non_null(strstr(txt, "\ncc_major 9\ncc_minor 0\n"));
    assert_null(strstr(txt, "gemm_fp8_note"));
    free(txt);

    lf_hw_measured m;
    assert_int_equal(lf_hw_measured_load(path, &m), LINFER_OK);
    assert_true(m.gemm_flops[LF_PREC_FP8] == 1.5e15 && m.gemm_flops[LF_PREC_FP16] == 700e12);
    lf_calib_result back;
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    assert_true(back.gemm_flops[LF_PREC_FP8] == 1.5e15);
    assert_true(back.cc_major == 9 && back.cc_minor == 0);
    assert_string_equal(back.gemm_fp8_note, "");

    /* the table: beside fp16 / bf16, measured / datasheet */
    lf_hw ds;
    assert_int_equal(lf_hw_lookup("h200", &ds), LINFER_OK);
    lf_table *t = lf_calib_table(&back, &ds);
    assert_non_null(t);
    int i16 = find_row(t, "GEMM bf16"), i8 = find_row(t, "GEMM fp8");
    assert_true(i16 >= 0 && i8 == i16 + 1);
    assert_true(close_rel(lf_table_value(t, i8, 1), 1500.0, 1e-12));
    assert_true(lf_table_value(t, i8, 2) == ds.flops[LF_PREC_FP8] / 1e12);
    assert_true(close_rel(lf_table_value(t, i8, 3), 1.5e15 / ds.flops[LF_PREC_FP8], 1e-3));
    assert_non_null(strstr(lf_table_cell(t, i8, 4), "E4M3"));
    assert_non_null(strstr(lf_table_cell(t, i8, 4), "TN"));
    lf_table_free(t);

    /* the roofline: --gpu measured --dtype fp8 uses it, fp16 its own figure */
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&m, &hw), LINFER_OK);
    assert_true(lf_hw_eff_flops(&hw, LF_PREC_FP8) == 1.5e15);
    assert_true(lf_hw_eff_flops(&hw, LF_PREC_FP16) == 700e12);
    lf_roofline_model rm;
    assert_int_equal(lf_preset_shape("llama-2-7b", &rm), LINFER_OK);
    lf_roofline_result rr;
    assert_int_equal(lf_roofline_point(&rm, &hw, NULL, 1, 8, 128, 16, LF_PREC_FP8, &rr), LINFER_OK);
    assert_true(rr.peak_flops == 1.5e15);
}

/* not measured (compute capability 8.0): 0 in the file, NAN and the reason back; the roofline keeps
 * the datasheet (none for the A100: fp8 refused) */
static void test_fp8_not_measured_file(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/fp8/cal-a100.txt", g_dir);
    lf_calib_result r;
    fake_gpu(&r, 8, 0);
    snprintf(r.name, sizeof r.name, "NVIDIA A100-SXM4-80GB");
    snprintf(r.gemm_fp8_note, sizeof r.gemm_fp8_note, "fp8 GEMM needs compute capability >= 8.9 (this GPU: 8.0)\nsecond line");
    lf_hw_measured m;
    lf_calib_to_measured(&r, &m);
    assert_true(m.gemm_flops[LF_PREC_FP8] == 0);   /* presets' "not measured" */
    assert_int_equal(lf_calib_save(path, &r), LINFER_OK);
    char *txt = slurp(path);
    assert_non_null(strstr(txt, "\ngemm_flops_fp8 0\n"));
    assert_non_null(strstr(txt, "\n# gemm_fp8_note fp8 GEMM needs compute capability >= 8.9 (this GPU: 8.0) second line\n"));
    free(txt);
    assert_int_equal(lf_hw_measured_load(path, &m), LINFER_OK);
    assert_true(m.gemm_flops[LF_PREC_FP8] == 0);
    lf_calib_result back;
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    assert_true(isnan(back.gemm_flops[LF_PREC_FP8]));
    assert_true(back.gemm_flops[LF_PREC_BF16] == 750e12);
    assert_string_equal(back.gemm_fp8_note, "fp8 GEMM needs compute capability >= 8.9 (this GPU: 8.0) second line");
    lf_hw ds;
    assert_int_equal(lf_hw_lookup("a100-sxm-80", &ds), LINFER_OK);
    lf_table *t = lf_calib_table(&back, &ds);
    assert_non_null(t);
    int i8 = find_row(t, "GEMM fp8");
    assert_true(i8 >= 0);
    assert_string_equal(lf_table_cell(t, i8, 1), "not measured");
    assert_string_equal(lf_table_cell(t, i8, 2), "");   /* the A100 has no fp8 */
    assert_non_null(strstr(lf_table_cell(t, i8, 4), "compute capability >= 8.9 (this GPU: 8.0)"));
    lf_table_free(t);
    /* the same without the note line: the reason comes from the compute capability */
    back.gemm_fp8_note[0] = 0;
    t = lf_calib_table(&back, &ds);
    assert_non_null(strstr(lf_table_cell(t, find_row(t, "GEMM fp8"), 4), "compute capability >= 8.9 (this GPU: 8.0)"));
    lf_table_free(t);
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&m, &hw), LINFER_OK);
    assert_true(lf_hw_eff_flops(&hw, LF_PREC_FP8) == 0 && lf_hw_eff_flops(&hw, LF_PREC_BF16) == 750e12);
    lf_roofline_model rm;
    assert_int_equal(lf_preset_shape("llama-2-7b", &rm), LINFER_OK);
    assert_int_equal(lf_roofline_check(&rm, &hw, 1, LF_PREC_FP8, 8), LINFER_ERR_INVALID_ARG);
}

/* files written before the fp8 figure: no gemm_flops_fp8 / cc_* keys at all, or presets' 0 */
static void test_fp8_old_files(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/old.txt", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# linfer calibration v1\ngpu_name NVIDIA H200\nmem_bytes 1.5e11\nread_bw 4.5e12\ngemm_flops_fp16 7e14\n"
               "gemm_flops_bf16 7.5e14\nlaunch_s 2.5e-06\nar_gpus 0\nis_cpu 0\ndevice_index 0\nsm_count 132\ngemm_n 8192\ndate 1.7e9\n");
    fclose(f);
    lf_calib_result back;
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    assert_true(isnan(back.gemm_flops[LF_PREC_FP8]));
    assert_true(back.gemm_flops[LF_PREC_FP16] == 7e14 && back.gemm_flops[LF_PREC_BF16] == 7.5e14 && back.gemm_n == 8192);
    assert_true(back.cc_major == 0 && back.gemm_fp8_note[0] == 0);
    lf_hw ds;
    assert_int_equal(lf_hw_lookup("h200", &ds), LINFER_OK);
    lf_table *t = lf_calib_table(&back, &ds);
    int i8 = find_row(t, "GEMM fp8");
    assert_true(i8 >= 0);
    assert_string_equal(lf_table_cell(t, i8, 1), "not measured");
    assert_true(lf_table_value(t, i8, 2) == 1979.0);
    assert_non_null(strstr(lf_table_cell(t, i8, 4), "no fp8 figure in this calibration"));
    lf_table_free(t);
    /* saved again: still loads for presets (0, not "nan") */
    assert_int_equal(lf_calib_save(path, &back), LINFER_OK);
    char *txt = slurp(path);
    assert_non_null(strstr(txt, "\ngemm_flops_fp8 0\n"));
    assert_null(strstr(txt, "nan"));
    free(txt);
    lf_hw_measured m;
    assert_int_equal(lf_hw_measured_load(path, &m), LINFER_OK);
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&m, &hw), LINFER_OK);
    assert_true(lf_hw_eff_flops(&hw, LF_PREC_FP8) == ds.flops[LF_PREC_FP8]);   /* the datasheet's */
    /* an older linfer's explicit zero */
    f = fopen(path, "w");
    fprintf(f, "# linfer calibration v1\ngpu_name NVIDIA H200\nread_bw 4.5e12\ngemm_flops_fp16 7e14\ngemm_flops_fp8 0\n");
    fclose(f);
    assert_int_equal(lf_calib_load(path, &back), LINFER_OK);
    assert_true(isnan(back.gemm_flops[LF_PREC_FP8]));
}

/* the CPU calibration has no fp8 figure (NAN), which the CPU roofline entry does not use */
static void test_fp8_cpu(void **state) {
    (void)state;
    lf_calib_opts o;
    lf_calib_default_opts(&o);
    o.quick = 1;
    o.reps = 1;
    o.read_bytes = 8.0 * 1048576;
    o.gemm_n = 64;
    lf_calib_result r;
    assert_int_equal(lf_calibrate_cpu(&o, &r), LINFER_OK);
    assert_true(isnan(r.gemm_flops[LF_PREC_FP8]) && r.gemm_flops[LF_PREC_FP16] > 0);
    lf_hw_measured m;
    lf_calib_to_measured(&r, &m);
    assert_true(m.gemm_flops[LF_PREC_FP8] == 0);
    lf_hw hw;
    lf_hw_cpu(&r, &hw);
    assert_true(hw.flops[LF_PREC_FP8] == 0 && isfinite(lf_hw_eff_flops(&hw, LF_PREC_FP8)));
    lf_table *t = lf_calib_table(&r, NULL);
    assert_int_equal(find_row(t, "fp8"), -1);
    lf_table_free(t);
}

/* no GPU: the GPU calibration and the fp8 launchers fail cleanly (with a GPU: skipped here, see
 * tests/cuda/test_cuda_calib.c) */
static void test_fp8_no_gpu(void **state) {
    (void)state;
    lf_calib_result r;
#ifndef LINFER_HAVE_CUDA
    assert_int_equal(lf_calibrate_gpu(0, NULL, &r), LINFER_ERR_UNSUPPORTED);
    assert_non_null(strstr(linfer_last_error(), "without CUDA"));
#else
    if (lf_gpu_count() > 0) skip();
    assert_int_equal(lf_calibrate_gpu(0, NULL, &r), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "no CUDA GPU"));
    double t[2];
    assert_int_equal(lf_cuda_calib_gemm_fp8(0, 256, 1, 0, 2, t), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "no CUDA GPU"));
    float x[16 * 16] = {0}, y[16 * 16];
    assert_int_equal(lf_cuda_calib_gemm_fp8_check(0, 16, 16, 16, 1, x, x, y), LINFER_ERR_DEVICE);
    assert_non_null(strstr(linfer_last_error(), "no CUDA GPU"));
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_gpu_counts),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_measured_file),
        cmocka_unit_test(test_eff_by_tp),
        cmocka_unit_test(test_calib_result_file),
        cmocka_unit_test(test_oneshot_table),
        cmocka_unit_test(test_loader_failure),
        cmocka_unit_test(test_fp8_measured_file),
        cmocka_unit_test(test_fp8_not_measured_file),
        cmocka_unit_test(test_fp8_old_files),
        cmocka_unit_test(test_fp8_cpu),
        cmocka_unit_test(test_fp8_no_gpu),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
