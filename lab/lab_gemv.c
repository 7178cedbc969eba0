/* lab_gemv.c — kernel lab for the decode linear layers: the shipped GEMV variants of
 * src/cuda/kernels.cu side by side at the real shapes of a model, first checked against the CPU
 * reference, then timed.
 *
 *   lab_gemv [--model llama-2-7b] [--dtype f16|bf16] [--m 1,2,4,8,16] [--reps 9] [--iters 20]
 *
 * Rows above 64 (--m up to 16384: a prefill's GEMMs) time only cublas and lt, each layer with the
 * output the engine gives it (qkv, gate_up in T; o_proj, down += into fp32, lm_head fp32), and
 * print TFLOP/s beside GB/s.
 *
 * Variants (all through the launchers of src/cuda/cuda_kernels.h, never copies):
 *   ffma     lf_cuda_gemv_ffma      one warp per weight row, FFMA (M <= 8)
 *   ffma8    lf_cuda_gemv_ffma_ex   the same with 8 weight loads in flight per lane instead of 4
 *   mma4     lf_cuda_gemv_mma       tensor-core skinny GEMM, K split over 4 warps
 *   mma8     lf_cuda_gemv_mma       the same, 8 warps
 *   mma16    lf_cuda_gemv_mma       the same, 16 warps
 *   cublas   lf_cuda_gemm_cublas    cublasGemmEx
 *   swiglu   lf_cuda_gate_up_swiglu gate/up GEMM + SwiGLU epilogue (gate_up shape only, mma)
 *   lt       lf_cuda_lt_run        cuBLASLt: every algorithm its heuristic offers (up to
 *                                  LF_LT_MAX_ALGOS) timed, the fastest reported as "lt#i/n"
 *   bulk     lf_cuda_gemv_bulk     one token: weights bulk-copied into a shared-memory ring (M = 1)
 *   bulk+swiglu lf_cuda_gemv_bulk_swiglu  the same with the SwiGLU epilogue (gate_up shape only)
 * Method (device METHOD.md): correctness of every variant on 64 sampled output rows of every
 * shape and M against a double-precision CPU dot of the same rounded inputs; then per variant a
 * warm-up, and the median over --reps of (time of --iters launches / iters), CUDA events, the
 * weights rotating over enough copies to exceed 4x the L2 so every launch reads HBM. Achieved
 * bandwidth counts weight + activation + output bytes; the ratio is to the HBM read bandwidth
 * measured in the same run (lf_calibrate_gpu). Prints a table; exit 1 if a check fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "cuda/cuda_kernels.h"
#include "core/dtype.h"
#include "perf/presets.h"
#include "perf/calibrate.h"
#include "perf/sweep.h"
#include "lab_common.h"

enum { V_FFMA, V_FFMA8, V_MMA4, V_MMA8, V_MMA16, V_CUBLAS, V_SWIGLU, V_LT, V_BULK, V_BULK_SWIGLU, V_COUNT };
static const char *vname[V_COUNT] = {"ffma", "ffma8", "mma4", "mma8", "mma16", "cublas", "swiglu", "lt", "bulk", "bulk+swiglu"};
static int is_swi(int v) { return v == V_SWIGLU || v == V_BULK_SWIGLU; }

/* V_LT: the plan of the current shape and M, the algorithm to run, its workspace */
static lf_lt_plan *g_lt;
static int g_lt_algo;
static void *g_ws;
/* above 64 rows (prefill GEMMs): cublas and lt with the layer's output (y_f32 0: T) and beta */
static int g_yf32 = 1;
static float g_beta = 0.f;
#define LAB_SKINNY_MAX_M 64
#define LAB_WS_BYTES (32u << 20)

static uint64_t g_rng = 0x1234567ull;
static float frand(void) { return lab_frand(&g_rng); }

/* V_BULK: its work counters (zeroed once, left zero by each launch), one per launch in turn */
#define LAB_BULK_CTRS 64
static unsigned *g_bulk_ctr;
static unsigned g_bulk_next;
static unsigned *bulk_ctr(void) {
    if (!g_bulk_ctr) {
        CK(cudaMalloc((void **)&g_bulk_ctr, LAB_BULK_CTRS * 2 * sizeof(unsigned)));
        CK(cudaMemset(g_bulk_ctr, 0, LAB_BULK_CTRS * 2 * sizeof(unsigned)));
    }
    return g_bulk_ctr + 2 * (g_bulk_next++ % LAB_BULK_CTRS);
}

/* run variant v once; y is fp32 [M, N] (or T act [M, N/2] for swiglu) */
static lf_status run(int v, cublasHandle_t h, lf_dtype dt, const void *x, const void *W, void *y, int M, int N, int K,
                     cudaStream_t st) {
    switch (v) {
    case V_FFMA: return lf_cuda_gemv_ffma(dt, x, W, y, 1, 0.f, M, N, K, st);
    case V_FFMA8: return lf_cuda_gemv_ffma_ex(dt, x, W, y, 1, 0.f, M, N, K, 8, st);
    case V_MMA4: return lf_cuda_gemv_mma(dt, x, W, y, 1, 0.f, M, N, K, 4, st);
    case V_MMA8: return lf_cuda_gemv_mma(dt, x, W, y, 1, 0.f, M, N, K, 8, st);
    case V_MMA16: return lf_cuda_gemv_mma(dt, x, W, y, 1, 0.f, M, N, K, 16, st);
    case V_CUBLAS: return lf_cuda_gemm_cublas(h, dt, x, W, y, g_yf32, g_beta, M, N, K, st);
    case V_LT: return lf_cuda_lt_run(g_lt, g_lt_algo, x, W, y, g_beta, g_ws, LAB_WS_BYTES, st);
    case V_BULK: return lf_cuda_gemv_bulk(dt, x, W, y, 1, 0.f, N, K, bulk_ctr(), st);
    case V_BULK_SWIGLU: return lf_cuda_gemv_bulk_swiglu(dt, x, W, y, N / 2, K, bulk_ctr(), st);
    default: return lf_cuda_gate_up_swiglu(dt, x, W, y, M, N / 2, K, 0, st);
    }
}

/* R rounds of `iters` launches of variant v (the weights rotating over `copies` copies of wbytes),
 * ms per launch of each round into ts[] (CUDA events) */
static void time_rounds(int v, cublasHandle_t h, lf_dtype dt, const void *x, const char *W, size_t wbytes, int copies, void *y,
                        int M, int N, int K, int R, int iters, cudaEvent_t e0, cudaEvent_t e1, cudaStream_t st, float *ts) {
    for (int r = 0; r < R; r++) {
        CK(cudaEventRecord(e0, st));
        for (int it = 0; it < iters; it++) run(v, h, dt, x, W + wbytes * ((r * iters + it) % copies), y, M, N, K, st);
        CK(cudaEventRecord(e1, st));
        CK(cudaEventSynchronize(e1));
        float ms_ = 0;
        CK(cudaEventElapsedTime(&ms_, e0, e1));
        ts[r] = ms_ / iters;
    }
}

static int applies(int v, int M, int K, int is_gu) {
    if (M > LAB_SKINNY_MAX_M) return v == V_CUBLAS || v == V_LT;
    if (v == V_FFMA || v == V_FFMA8) return M <= LF_CUDA_GEMV_MAX_M;
    if (v == V_SWIGLU) return is_gu && lf_cuda_gemv_mma_supported(M, K);
    if (v == V_BULK) return lf_cuda_gemv_bulk_supported(M, K);
    if (v == V_BULK_SWIGLU) return is_gu && lf_cuda_gemv_bulk_supported(M, 2 * K);
    if (v == V_MMA4 || v == V_MMA8 || v == V_MMA16) return lf_cuda_gemv_mma_supported(M, K);
    return 1;
}

int main(int argc, char **argv) {
    const char *model = "llama-2-7b", *mlist = "1,2,4,8,16";
    lf_dtype dt = LF_DT_F16;
    int reps = 9, iters = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) { i++; dt = !strcmp(argv[i], "bf16") ? LF_DT_BF16 : LF_DT_F16; }
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) mlist = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else { fprintf(stderr, "usage: lab_gemv [--model NAME] [--dtype f16|bf16] [--m LIST] [--reps N] [--iters N]\n"); return 2; }
    }
    lf_config cfg;
    if (lf_preset_model(model, &cfg) != LINFER_OK) { fprintf(stderr, "lab_gemv: %s\n", linfer_last_error()); return 2; }
    const lf_config *c = &cfg;
    int *ms = NULL, nm = 0;
    if (lf_parse_int_list(mlist, "--m", 1, 16384, &ms, &nm) != LINFER_OK) { fprintf(stderr, "lab_gemv: %s\n", linfer_last_error()); return 2; }
    int maxm = 0;
    for (int i = 0; i < nm; i++) if (ms[i] > maxm) maxm = ms[i];

    lf_calib_opts co;
    lf_calib_default_opts(&co);
    co.quick = 1;
    lf_calib_result cr;
    if (lf_calibrate_gpu(0, &co, &cr) != LINFER_OK) { fprintf(stderr, "lab_gemv: %s\n", linfer_last_error()); return 1; }
    printf("# %s, %s, %s; HBM read bandwidth measured now: %.3f TB/s; L2 %.0f MiB\n", cr.name, model,
           dt == LF_DT_F16 ? "fp16" : "bf16", cr.read_bw / 1e12, cr.l2_bytes / 1048576.0);

    const int q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    struct { const char *name; int N, K, gu, y_f32; float beta; } shp[] = { /* output as the engine's prefill has it */
        {"qkv", q_dim + 2 * kv_dim, c->dim, 0, 0, 0.f}, {"o_proj", c->dim, q_dim, 0, 1, 1.f},
        {"gate_up", 2 * c->ffn_dim, c->dim, 1, 0, 0.f}, {"down", c->dim, c->ffn_dim, 0, 1, 1.f}, {"lm_head", c->vocab_size, c->dim, 0, 1, 0.f},
    };
    const int nshp = 5;
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) { fprintf(stderr, "cublasCreate failed\n"); return 1; }
    cublasSetStream(h, st);
    void *ws;
    CK(cudaMalloc(&ws, 32u << 20));
    cublasSetWorkspace(h, ws, 32u << 20);
    g_ws = ws;
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    int failed = 0;
    printf("%-8s %5s %-7s %9s %8s %7s %8s %s\n", "shape", "M", "variant", "us", "GB/s", "of_read", "TFLOP/s", "check(max rel err)");
    for (int si = 0; si < nshp; si++) {
        const int N = shp[si].N, K = shp[si].K;
        const size_t wn = (size_t)N * K, wbytes = wn * 2;
        int copies = (int)ceil(4.0 * cr.l2_bytes / (double)wbytes) + 1;
        if (copies < 2) copies = 2;
        /* host weights: one random copy (rounded); device: `copies` identical copies */
        uint16_t *hw = malloc(wbytes), *hx = malloc((size_t)maxm * K * 2);
        if (!hw || !hx) { fprintf(stderr, "out of host memory\n"); return 1; }
        for (size_t i = 0; i < wn; i++) hw[i] = lab_to_bits(dt, 0.05f * frand());
        for (size_t i = 0; i < (size_t)maxm * K; i++) hx[i] = lab_to_bits(dt, frand());
        char *dw;
        CK(cudaMalloc((void **)&dw, wbytes * copies));
        for (int cp = 0; cp < copies; cp++) CK(cudaMemcpy(dw + wbytes * cp, hw, wbytes, cudaMemcpyHostToDevice));
        void *dx, *dy;
        CK(cudaMalloc(&dx, (size_t)maxm * K * 2));
        CK(cudaMemcpy(dx, hx, (size_t)maxm * K * 2, cudaMemcpyHostToDevice));
        CK(cudaMalloc(&dy, (size_t)maxm * N * 4));
        float *hy = malloc((size_t)maxm * N * 4);
        for (int mi = 0; mi < nm; mi++) {
            const int M = ms[mi];
            const int big = M > LAB_SKINNY_MAX_M;
            g_yf32 = big ? shp[si].y_f32 : 1;
            g_beta = big ? shp[si].beta : 0.f;
            for (int v = 0; v < V_COUNT; v++) {
                if (!applies(v, M, K, shp[si].gu)) continue;
                char label[32];
                snprintf(label, sizeof label, "%s", vname[v]);
                if (v == V_LT) {   /* every algorithm of the heuristic, 3 x iters launches each; keep the fastest */
                    lf_cuda_lt_plan_destroy(g_lt);
                    g_lt = NULL;
                    if (lf_cuda_lt_plan_create(dt, g_yf32, M, N, K, LAB_WS_BYTES, &g_lt) != LINFER_OK) { printf("lt: %s\n", linfer_last_error()); continue; }
                    const int na = lf_cuda_lt_plan_algos(g_lt);
                    float best = 1e30f;
                    int best_a = 0;
                    for (int a = 0; a < na; a++) {
                        g_lt_algo = a;
                        if (run(v, h, dt, dx, dw, dy, M, N, K, st) != LINFER_OK) continue;
                        float ta[3];
                        time_rounds(v, h, dt, dx, dw, wbytes, copies, dy, M, N, K, 3, iters, e0, e1, st, ta);
                        const float t_a = fminf(ta[0], fminf(ta[1], ta[2]));
                        if (t_a < best) { best = t_a; best_a = a; }
                    }
                    g_lt_algo = best_a;
                    snprintf(label, sizeof label, "lt#%d/%d", best_a, na);
                }
                /* check: 64 sampled output features (of every row; above 64 rows, of 8 spread rows).
                 * With beta != 0 the output starts at zero, so y = x W^T all the same. */
                CK(cudaMemset(dy, g_beta != 0.f ? 0 : 0xFF, (size_t)maxm * N * 4));
                if (run(v, h, dt, dx, dw, dy, M, N, K, st) != LINFER_OK) { printf("%s: %s\n", vname[v], linfer_last_error()); failed++; continue; }
                CK(cudaStreamSynchronize(st));
                const int nout = is_swi(v) ? N / 2 : N;
                const size_t ybytes = is_swi(v) || !g_yf32 ? 2 : 4; /* per output element */
                CK(cudaMemcpy(hy, dy, (size_t)M * nout * ybytes, cudaMemcpyDeviceToHost));
                double worst = 0;
                for (int smp = 0; smp < 64; smp++) {
                    const int f = (int)(((uint64_t)smp * 2654435761u) % (uint64_t)nout);
                    for (int mi2 = 0; mi2 < (big ? 8 : M); mi2++) {
                        const int m = big ? (int)((long)mi2 * (M - 1) / 7) : mi2;
                        double ref, mag = 0;
                        if (is_swi(v)) {
                            double gs = 0, us = 0, gm = 0, um = 0;
                            for (int k = 0; k < K; k++) {
                                const double xv = lab_from_bits(dt, hx[(size_t)m * K + k]);
                                const double gw = lab_from_bits(dt, hw[(size_t)f * K + k]), uw = lab_from_bits(dt, hw[(size_t)(nout + f) * K + k]);
                                gs += xv * gw; us += xv * uw; gm += fabs(xv * gw); um += fabs(xv * uw);
                            }
                            const double gr = lab_from_bits(dt, lab_to_bits(dt, (float)gs)), ur = lab_from_bits(dt, lab_to_bits(dt, (float)us));
                            ref = gr / (1.0 + exp(-gr)) * ur;
                            mag = fabs(ref) + (gm + um) * 1e-2 + 1e-6;
                            const double got = lab_from_bits(dt, ((uint16_t *)hy)[(size_t)m * nout + f]);
                            const double err = fabs(got - ref) / mag;
                            if (!(err <= worst)) worst = err;
                        } else {
                            double s = 0;
                            for (int k = 0; k < K; k++) {
                                const double p = (double)lab_from_bits(dt, hx[(size_t)m * K + k]) * lab_from_bits(dt, hw[(size_t)f * K + k]);
                                s += p; mag += fabs(p);
                            }
                            ref = s;
                            const double got = g_yf32 ? hy[(size_t)m * N + f] : lab_from_bits(dt, ((uint16_t *)hy)[(size_t)m * N + f]);
                            const double err = fabs(got - ref) / (mag + 1e-6);
                            if (!(err <= worst)) worst = err;
                        }
                    }
                }
                /* fp32 accumulation in another order: |err| <= 1e-4 of sum|x*w|; swiglu: T rounding of gate/up;
                 * a T output: its rounding, half an ulp of |y| <= sum|x*w| (2^-11 fp16, 2^-8 bf16), on top */
                const double t_round = dt == LF_DT_F16 ? 4.9e-4 : 3.9e-3;
                const double tol = is_swi(v) ? (dt == LF_DT_F16 ? 2e-3 : 1.6e-2) : 1e-4 + (g_yf32 ? 0 : t_round);
                const int ok = worst <= tol;
                if (!ok) failed++;
                /* time */
                float ts[64];
                const int R = reps > 64 ? 64 : reps;
                for (int w = 0; w < copies; w++) run(v, h, dt, dx, dw + wbytes * (w % copies), dy, M, N, K, st);
                time_rounds(v, h, dt, dx, dw, wbytes, copies, dy, M, N, K, R, iters, e0, e1, st, ts);
                qsort(ts, R, sizeof ts[0], lab_cmp_float);
                const double t = ts[R / 2] * 1e-3;
                const double bytes = (double)wbytes + (double)M * K * 2 + (double)M * nout * ybytes * (g_beta != 0.f ? 2 : 1);
                printf("%-8s %5d %-7s %9.2f %8.0f %6.1f%% %8.1f %s(%.1e)\n", shp[si].name, M, label, t * 1e6, bytes / t / 1e9,
                       100.0 * bytes / t / cr.read_bw, 2.0 * M * N * K / t / 1e12, ok ? "ok" : "FAIL", worst);
                fflush(stdout);
            }
        }
        free(hw); free(hx); free(hy);
        CK(cudaFree(dw)); CK(cudaFree(dx)); CK(cudaFree(dy));
    }
    lf_cuda_lt_plan_destroy(g_lt);
    printf("# %s\n", failed ? "SOME CHECKS FAILED" : "all checks passed");
    free(ms);
    return failed ? 1 : 0;
}
