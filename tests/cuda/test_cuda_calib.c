/* test_cuda_calib.c — the GPU side of `linfer calibrate`'s fp8 GEMM (src/cuda/calibrate.cu).
 *
 * On a GPU of compute capability >= 8.9: the cuBLASLt fp8 GEMM that calibrate times
 * (lf_cuda_calib_gemm_fp8_check runs the same descriptors, heuristic and call once) against a CPU
 * reference on integer values in {-2, ..., 2} (exact in E4M3; every partial sum |s| <= 4k <= 256
 * is exact in fp32 and in the bf16 output), both accumulation modes, square and non-square shapes;
 * then the timed path itself (positive times), and a quick lf_calibrate_gpu whose fp8 figure is
 * measured and survives the cache file. Below 8.9: the clean LINFER_ERR_UNSUPPORTED message and a
 * calibration with fp8 "not measured" (NAN) and that message as the note.
 * Without a GPU: the clean "no CUDA GPU" errors, exit 0 (SKIP), or 1 when LF_REQUIRE_GPU=1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cuda_runtime_api.h>
#include "linfer.h"
#include "engine/gpu_query.h"
#include "perf/calibrate.h"
#include "perf/table.h"

static int g_failed = 0, g_checks = 0;

#define EXPECT(cond, ...) do {                                                                   \
        g_checks++;                                                                              \
        if (!(cond)) {                                                                           \
            g_failed++;                                                                          \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static int irand5(void) { /* -2 .. 2 */
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (int)((g_rng >> 11) % 5) - 2;
}

/* d[j*m + i] = sum_l a[i*k + l] * b[j*k + l] on the GPU against the CPU; exact */
static void check_fp8(int m, int n, int k, int fast_accum) {
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)n * k);
    float *d = malloc(sizeof(float) * (size_t)m * n);
    if (!a || !b || !d) { printf("out of host memory\n"); exit(1); }
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)irand5();
    for (size_t i = 0; i < (size_t)n * k; i++) b[i] = (float)irand5();
    lf_status s = lf_cuda_calib_gemm_fp8_check(0, m, n, k, fast_accum, a, b, d);
    EXPECT(s == LINFER_OK, "%s", linfer_last_error());
    if (s == LINFER_OK) {
        long bad = 0, nonzero = 0;
        double worst = 0;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float ref = 0;
                for (int l = 0; l < k; l++) ref += a[(size_t)i * k + l] * b[(size_t)j * k + l];
                float got = d[(size_t)j * m + i];
                nonzero += ref != 0;
                if (!(got == ref)) {
                    if (bad < 5) printf("  fp8 %dx%dx%d fast=%d: d[%d][%d] = %g, CPU %g\n", m, n, k, fast_accum, j, i, got, ref);
                    bad++;
                    if (!isfinite(got) || fabs(got - ref) > worst) worst = isfinite(got) ? fabs(got - ref) : INFINITY;
                }
            }
        EXPECT(bad == 0, "fp8 GEMM %dx%dx%d fast_accum=%d: %ld of %d elements differ (worst %g)", m, n, k, fast_accum, bad, m * n, worst);
        EXPECT(nonzero > (long)m * n / 2, "degenerate test data");
        printf("fp8 GEMM %3dx%3dx%3d fast_accum=%d: %s (%d elements, exact)\n", m, n, k, fast_accum, bad ? "FAIL" : "ok", m * n);
    }
    free(a);
    free(b);
    free(d);
}

static double median3(double *t, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) { double x = t[j]; t[j] = t[j - 1]; t[j - 1] = x; }
    return t[n / 2];
}

int main(void) {
    double t[5];
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        lf_status s = lf_cuda_calib_gemm_fp8(0, 64, 1, 0, 1, t);
        EXPECT(s == LINFER_ERR_DEVICE && strstr(linfer_last_error(), "no CUDA GPU"), "%s: %s", linfer_status_name(s), linfer_last_error());
        printf("no GPU: lf_cuda_calib_gemm_fp8 -> %s: %s\n", linfer_status_name(s), linfer_last_error());
        float x[16 * 16] = {0}, y[16 * 16];
        s = lf_cuda_calib_gemm_fp8_check(0, 16, 16, 16, 1, x, x, y);
        EXPECT(s == LINFER_ERR_DEVICE && strstr(linfer_last_error(), "no CUDA GPU"), "%s: %s", linfer_status_name(s), linfer_last_error());
        lf_calib_result r;
        s = lf_calibrate_gpu(0, NULL, &r);
        EXPECT(s == LINFER_ERR_DEVICE && strstr(linfer_last_error(), "no CUDA GPU"), "%s: %s", linfer_status_name(s), linfer_last_error());
        const char *req = getenv("LF_REQUIRE_GPU");
        if (g_failed) { printf("FAIL: %d of %d checks\n", g_failed, g_checks); return 1; }
        if (req && atoi(req)) { printf("FAIL: LF_REQUIRE_GPU set but no GPU\n"); return 1; }
        printf("SKIP: no CUDA device (the clean error paths passed, %d checks)\n", g_checks);
        return 0;
    }

    lf_gpu_info gi;
    if (lf_gpu_info_get(0, &gi) != LINFER_OK) { printf("FAIL: lf_gpu_info_get: %s\n", linfer_last_error()); return 1; }
    int fp8 = gi.cc_major * 10 + gi.cc_minor >= 89;
    printf("device: %s, CC %d.%d (fp8 %s)\n", gi.name, gi.cc_major, gi.cc_minor, fp8 ? "expected" : "not expected");

    if (!fp8) {
        char want[96];
        snprintf(want, sizeof want, "fp8 GEMM needs compute capability >= 8.9 (this GPU: %d.%d)", gi.cc_major, gi.cc_minor);
        lf_status s = lf_cuda_calib_gemm_fp8(0, 256, 1, 0, 1, t);
        EXPECT(s == LINFER_ERR_UNSUPPORTED && !strcmp(linfer_last_error(), want), "%s: %s", linfer_status_name(s), linfer_last_error());
        float x[16 * 16] = {0}, y[16 * 16];
        s = lf_cuda_calib_gemm_fp8_check(0, 16, 16, 16, 1, x, x, y);
        EXPECT(s == LINFER_ERR_UNSUPPORTED && !strcmp(linfer_last_error(), want), "%s: %s", linfer_status_name(s), linfer_last_error());
    } else {
        /* validated path: exact against the CPU */
        static const int shapes[][3] = {{64, 64, 64}, {96, 32, 48}, {16, 128, 64}, {128, 80, 16}};
        for (int fa = 0; fa <= 1; fa++)
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) check_fp8(shapes[i][0], shapes[i][1], shapes[i][2], fa);
        float x[16 * 16] = {0}, y[16 * 16];
        lf_status s = lf_cuda_calib_gemm_fp8_check(0, 24, 16, 16, 1, x, x, y);
        EXPECT(s == LINFER_ERR_INVALID_ARG, "m = 24: %s", linfer_status_name(s));
        s = lf_cuda_calib_gemm_fp8(0, 1000, 1, 0, 1, t);
        EXPECT(s == LINFER_ERR_INVALID_ARG, "n = 1000: %s", linfer_status_name(s));
        /* timed path: both accumulation modes at the calibration's size */
        for (int fa = 1; fa >= 0; fa--) {
            int n = 8192;
            s = lf_cuda_calib_gemm_fp8(0, n, fa, 2, 5, t);
            EXPECT(s == LINFER_OK, "%s", linfer_last_error());
            if (s != LINFER_OK) continue;
            int pos = 1;
            for (int r = 0; r < 5; r++) pos &= t[r] > 0 && isfinite(t[r]);
            EXPECT(pos, "non-positive time");
            double med = median3(t, 5);
            printf("fp8 GEMM %d^3 fast_accum=%d: %.3f ms, %.1f TFLOP/s (median of 5)\n", n, fa, med * 1e3, 2.0 * n * (double)n * n / med / 1e12);
        }
    }

    /* the calibration itself (quick), its fp8 figure or note, and the cache round trip */
    lf_calib_opts co;
    lf_calib_default_opts(&co);
    co.quick = 1;
    lf_calib_result r;
    lf_status s = lf_calibrate_gpu(0, &co, &r);
    EXPECT(s == LINFER_OK, "lf_calibrate_gpu: %s", linfer_last_error());
    if (s == LINFER_OK) {
        EXPECT(r.cc_major == gi.cc_major && r.cc_minor == gi.cc_minor, "cc %d.%d", r.cc_major, r.cc_minor);
        if (fp8) {
            EXPECT(r.gemm_flops[LF_PREC_FP8] > 0 && isfinite(r.gemm_flops[LF_PREC_FP8]) && !r.gemm_fp8_note[0], "fp8 %g (%s)",
                   r.gemm_flops[LF_PREC_FP8], r.gemm_fp8_note);
        } else {
            EXPECT(isnan(r.gemm_flops[LF_PREC_FP8]) && strstr(r.gemm_fp8_note, "compute capability >= 8.9"), "fp8 %g (%s)",
                   r.gemm_flops[LF_PREC_FP8], r.gemm_fp8_note);
        }
        printf("quick calibration: fp16 %.1f, bf16 %.1f, fp8 %.1f TFLOP/s%s%s\n", r.gemm_flops[LF_PREC_FP16] / 1e12,
               r.gemm_flops[LF_PREC_BF16] / 1e12, r.gemm_flops[LF_PREC_FP8] / 1e12, r.gemm_fp8_note[0] ? "; " : "", r.gemm_fp8_note);
        char dir[] = "/tmp/lf_test_cuda_calib_XXXXXX", path[128];
        if (mkdtemp(dir)) {
            snprintf(path, sizeof path, "%s/cal.txt", dir);
            s = lf_calib_save(path, &r);
            EXPECT(s == LINFER_OK, "save: %s", linfer_last_error());
            lf_calib_result back;
            s = lf_calib_load(path, &back);
            EXPECT(s == LINFER_OK, "load: %s", linfer_last_error());
            if (fp8) EXPECT(back.gemm_flops[LF_PREC_FP8] == r.gemm_flops[LF_PREC_FP8], "round trip %g", back.gemm_flops[LF_PREC_FP8]);
            else EXPECT(isnan(back.gemm_flops[LF_PREC_FP8]) && !strcmp(back.gemm_fp8_note, r.gemm_fp8_note), "round trip note '%s'",
                        back.gemm_fp8_note);
            lf_table *tb = lf_calib_table(&back, NULL);
            if (tb) {
                printf("\n");
                lf_table_write(tb, stdout, LF_FMT_TABLE);
                lf_table_free(tb);
            }
            remove(path);
            rmdir(dir);
        }
    }
    printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}
