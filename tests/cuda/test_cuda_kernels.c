/* test_cuda_kernels.c — every CUDA kernel against the CPU reference (src/cpu/kernels.h), in fp16
 * and bf16, on fresh random inputs (seed printed; LF_TEST_SEED=N repeats a run), outputs poisoned
 * with NaN before each run; then whole forwards of the CUDA backend against the CPU backend.
 *
 *   test_cuda_kernels            all tests; exit 1 if any fails
 *   test_cuda_kernels --quick    smaller sizes (for compute-sanitizer)
 *   test_cuda_kernels --bench    LLaMA-2-7B shape, random weights: TTFT (in=2048) and TPOT
 *   test_cuda_kernels --attn-bench   the attention kernels alone at that shape
 *   test_cuda_kernels --sample-bench the sampling kernel against the argmax (32000, 128256 vocab)
 *   test_cuda_kernels --sample       the sampling checks alone (with --quick: for compute-sanitizer)
 *
 * Without a GPU it checks that lf_cuda_backend_create fails cleanly with "no CUDA device" and
 * exits 0 (SKIP), or 1 when LF_REQUIRE_GPU=1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cuda_runtime_api.h>
#include "cuda/cuda_kernels.h"
#include "cuda/random_weights.h"
#include "cuda/rope_angle.h"
#include "cpu/kernels.h"
#include "engine/backend.h"
#include "core/dtype.h"

static int g_failed = 0, g_checks = 0, g_quick = 0;
static int g_lens[3] = {37, 5, 150};
static uint64_t g_rng;

#define CK(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); exit(1); } } while (0)
#define LF(call) do { lf_status s_ = (call); if (s_ != LINFER_OK) { \
    fprintf(stderr, "%s:%d %s: %s: %s\n", __FILE__, __LINE__, #call, linfer_status_name(s_), linfer_last_error()); exit(1); } } while (0)

/* ---- host helpers ------------------------------------------------------------------------ */
static float frand(void) { /* uniform [-1, 1) */
    g_rng = lf_splitmix64(g_rng);
    return (float)((int32_t)(g_rng >> 40) - (1 << 23)) / 8388608.0f;
}
static int irand(int n) { g_rng = lf_splitmix64(g_rng); return (int)((g_rng >> 33) % (uint64_t)n); }
static const char *dtn(lf_dtype dt) { return dt == LF_DT_F16 ? "fp16" : dt == LF_DT_BF16 ? "bf16" : lf_dtype_name(dt); }
static uint16_t to_bits(lf_dtype dt, float v) { return dt == LF_DT_F16 ? lf_f32_to_f16(v) : lf_f32_to_bf16(v); }
static float from_bits(lf_dtype dt, uint16_t b) { return dt == LF_DT_F16 ? lf_f16_to_f32(b) : lf_bf16_to_f32(b); }
static float rnd(lf_dtype dt, float v) { return from_bits(dt, to_bits(dt, v)); }
static void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) { fprintf(stderr, "out of host memory\n"); exit(1); } return p; }
static float *frand_array(size_t n, float amp) { float *p = xmalloc(n * 4); for (size_t i = 0; i < n; i++) p[i] = amp * frand(); return p; }
static void round_array(lf_dtype dt, float *p, size_t n) { for (size_t i = 0; i < n; i++) p[i] = rnd(dt, p[i]); }

/* device buffers: poisoned with 0xFF bytes (NaN in fp16, bf16 and fp32) */
static void *dalloc(size_t bytes) { void *d; CK(cudaMalloc(&d, bytes ? bytes : 16)); CK(cudaMemset(d, 0xFF, bytes ? bytes : 16)); return d; }
static void *dput_T(lf_dtype dt, const float *h, size_t n) { /* h must already be rounded */
    uint16_t *b = xmalloc(n * 2);
    for (size_t i = 0; i < n; i++) b[i] = to_bits(dt, h[i]);
    void *d = dalloc(n * 2);
    CK(cudaMemcpy(d, b, n * 2, cudaMemcpyHostToDevice));
    free(b);
    return d;
}
static void *dput(const void *h, size_t bytes) { void *d = dalloc(bytes); CK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice)); return d; }
static float *dget_T(lf_dtype dt, const void *d, size_t n) {
    uint16_t *b = xmalloc(n * 2);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(b, d, n * 2, cudaMemcpyDeviceToHost));
    float *h = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) h[i] = from_bits(dt, b[i]);
    free(b);
    return h;
}
static float *dget_f32(const void *d, size_t n) {
    float *h = xmalloc(n * 4);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(h, d, n * 4, cudaMemcpyDeviceToHost));
    return h;
}

/* ---- comparison and the summary table ---------------------------------------------------- */
typedef struct { char name[48], variant[48]; const char *dt; double max_abs, rel_l2, bound; int ok; } result;
static result g_res[256];
static int g_nres = 0;

static int check(const char *name, lf_dtype dt, const char *variant, const float *got, const float *ref, size_t n, double bound) {
    double se = 0, sr = 0, mx = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) { nonfinite++; continue; }
        double d = (double)got[i] - ref[i];
        se += d * d;
        sr += (double)ref[i] * ref[i];
        if (fabs(d) > mx) mx = fabs(d);
    }
    double rel = sr > 0 ? sqrt(se / sr) : (se > 0 ? INFINITY : 0.0);
    int ok = nonfinite == 0 && rel <= bound && (bound > 0 || mx == 0);
    g_checks++;
    if (!ok) g_failed++;
    printf("%-16s %-5s %-34s max_abs %.3e rel_l2 %.3e bound %.0e %s", name, dtn(dt), variant, mx, rel, bound, ok ? "ok" : "FAIL");
    if (nonfinite) printf(" (%zu of %zu outputs NaN/inf: unwritten?)", nonfinite, n);
    printf("\n");
    if (g_nres < 256) {
        result *r = &g_res[g_nres++];
        snprintf(r->name, sizeof r->name, "%s", name);
        snprintf(r->variant, sizeof r->variant, "%s", variant);
        r->dt = dtn(dt); r->max_abs = mx; r->rel_l2 = nonfinite ? INFINITY : rel; r->bound = bound; r->ok = ok;
    }
    return ok;
}
static void expect(int cond, const char *what) {
    g_checks++;
    if (!cond) g_failed++;
    printf("%-57s %s\n", what, cond ? "ok" : "FAIL");
}
static double tol(lf_dtype dt) { return dt == LF_DT_F16 ? 1e-3 : 1e-2; }

/* ---- kernel tests ------------------------------------------------------------------------- */
static void test_embed(lf_dtype dt) {
    const int vocab = 300, dim = 136, n = 23;
    float *E = frand_array((size_t)vocab * dim, 1.0f);
    round_array(dt, E, (size_t)vocab * dim);
    int32_t tok[23];
    for (int i = 0; i < n; i++) tok[i] = irand(vocab);
    void *dE = dput_T(dt, E, (size_t)vocab * dim);
    int32_t *dtok = dput(tok, sizeof tok);
    float *dout = dalloc((size_t)n * dim * 4);
    LF(lf_cuda_embed(dt, dout, dE, dtok, n, dim, 0));
    float *got = dget_f32(dout, (size_t)n * dim), *ref = xmalloc((size_t)n * dim * 4);
    for (int i = 0; i < n; i++) memcpy(ref + (size_t)i * dim, E + (size_t)tok[i] * dim, (size_t)dim * 4);
    check("embed", dt, "gather (exact)", got, ref, (size_t)n * dim, 0);
    /* vocabulary split over 3 ranks: each slice gives its rows and zeros elsewhere; their sum is the whole gather */
    float *sum = xmalloc((size_t)n * dim * 4);
    memset(sum, 0, (size_t)n * dim * 4);
    const int nv = vocab / 3;
    for (int r = 0; r < 3; r++) {
        void *dS = dput_T(dt, E + (size_t)r * nv * dim, (size_t)nv * dim);
        LF(lf_cuda_embed_slice(dt, dout, dS, dtok, n, dim, r * nv, nv, 0));
        float *part = dget_f32(dout, (size_t)n * dim);
        for (size_t k = 0; k < (size_t)n * dim; k++) sum[k] += part[k];
        free(part);
        cudaFree(dS);
    }
    check("embed", dt, "vocabulary slices summed (exact)", sum, ref, (size_t)n * dim, 0);
    free(sum);
    free(E); free(got); free(ref); cudaFree(dE); cudaFree(dtok); cudaFree(dout);
}

static void test_rmsnorm(lf_dtype dt, int rows, int n, int gather) {
    const int src_rows = rows + 5;
    float *x = frand_array((size_t)src_rows * n, 3.0f), *w = xmalloc((size_t)n * 4);
    for (int i = 0; i < n; i++) w[i] = rnd(dt, 1.0f + 0.5f * frand());
    int32_t *idx = xmalloc(sizeof(int32_t) * rows);
    for (int r = 0; r < rows; r++) idx[r] = gather ? irand(src_rows) : r;
    float *dx = dput(x, (size_t)src_rows * n * 4);
    void *dw = dput_T(dt, w, n), *dout = dalloc((size_t)rows * n * 2);
    int32_t *didx = dput(idx, sizeof(int32_t) * rows);
    const float eps = 1e-5f;
    LF(lf_cuda_rmsnorm(dt, dout, dx, dw, gather ? didx : NULL, rows, n, eps, 0));
    float *got = dget_T(dt, dout, (size_t)rows * n), *ref = xmalloc((size_t)rows * n * 4);
    for (int r = 0; r < rows; r++) lf_cpu_rmsnorm(ref + (size_t)r * n, x + (size_t)idx[r] * n, w, 1, n, eps);
    char v[64];
    snprintf(v, sizeof v, "%d x %d%s", rows, n, gather ? " gathered rows" : "");
    check("rmsnorm", dt, v, got, ref, (size_t)rows * n, tol(dt));
    free(x); free(w); free(idx); free(got); free(ref); cudaFree(dx); cudaFree(dw); cudaFree(dout); cudaFree(didx);
}

static void test_linear(cublasHandle_t hdl, lf_dtype dt, int M, int N, int K, int y_f32, int accumulate, int gemv_max_m) {
    float *x = frand_array((size_t)M * K, 1.0f), *W = frand_array((size_t)N * K, 1.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)M * K);
    round_array(dt, W, (size_t)N * K);
    float *y0 = frand_array((size_t)M * N, 1.0f);
    void *dx = dput_T(dt, x, (size_t)M * K), *dW = dput_T(dt, W, (size_t)N * K);
    void *dy = y_f32 ? (accumulate ? dput(y0, (size_t)M * N * 4) : dalloc((size_t)M * N * 4)) : dalloc((size_t)M * N * 2);
    LF(lf_cuda_linear(hdl, dt, dx, dW, dy, y_f32, accumulate ? 1.0f : 0.0f, M, N, K, gemv_max_m, 0));
    float *got = y_f32 ? dget_f32(dy, (size_t)M * N) : dget_T(dt, dy, (size_t)M * N);
    float *ref = xmalloc((size_t)M * N * 4);
    lf_cpu_linear(ref, x, W, NULL, M, N, K);
    if (accumulate) lf_cpu_add(ref, y0, (int64_t)M * N);
    char v[80];
    const int mma = M <= gemv_max_m && lf_cuda_gemv_mma_supported(M, K);
    const int gemv = !mma && M <= gemv_max_m && M <= LF_CUDA_GEMV_MAX_M && K % 8 == 0;
    snprintf(v, sizeof v, "%s M%d N%d K%d -> %s%s", mma ? "gemv-mma" : gemv ? "gemv" : "cublas", M, N, K,
             y_f32 ? "f32" : dtn(dt), accumulate ? " +=" : "");
    check("linear", dt, v, got, ref, (size_t)M * N, tol(dt));
    free(x); free(W); free(y0); free(got); free(ref); cudaFree(dx); cudaFree(dW); cudaFree(dy);
}

/* the three linear-layer kernels called alone: FFMA GEMV, tensor-core skinny GEMM (4 and 8
 * warps), cuBLAS, on the same inputs */
static void test_linear_variants(cublasHandle_t hdl, lf_dtype dt, int M, int N, int K, int accumulate) {
    float *x = frand_array((size_t)M * K, 1.0f), *W = frand_array((size_t)N * K, 1.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)M * K);
    round_array(dt, W, (size_t)N * K);
    float *y0 = frand_array((size_t)M * N, 1.0f), *ref = xmalloc((size_t)M * N * 4);
    lf_cpu_linear(ref, x, W, NULL, M, N, K);
    if (accumulate) lf_cpu_add(ref, y0, (int64_t)M * N);
    void *dx = dput_T(dt, x, (size_t)M * K), *dW = dput_T(dt, W, (size_t)N * K);
    for (int v = 0; v < 6; v++) { /* ffma, mma4, mma8, cublas, mma16, ffma with 8 loads in flight */
        if ((v == 0 || v == 5) && (M > LF_CUDA_GEMV_MAX_M || K % 8)) continue;
        if ((v == 1 || v == 2 || v == 4) && !lf_cuda_gemv_mma_supported(M, K)) continue;
        void *dy = accumulate ? dput(y0, (size_t)M * N * 4) : dalloc((size_t)M * N * 4);
        const float beta = accumulate ? 1.0f : 0.0f;
        if (v == 0) LF(lf_cuda_gemv_ffma(dt, dx, dW, dy, 1, beta, M, N, K, 0));
        else if (v == 5) LF(lf_cuda_gemv_ffma_ex(dt, dx, dW, dy, 1, beta, M, N, K, 8, 0));
        else if (v == 3) LF(lf_cuda_gemm_cublas(hdl, dt, dx, dW, dy, 1, beta, M, N, K, 0));
        else LF(lf_cuda_gemv_mma(dt, dx, dW, dy, 1, beta, M, N, K, v == 1 ? 4 : v == 2 ? 8 : 16, 0));
        float *got = dget_f32(dy, (size_t)M * N);
        char vn[80];
        snprintf(vn, sizeof vn, "%s M%d N%d K%d -> f32%s", v == 0 ? "ffma" : v == 1 ? "mma4" : v == 2 ? "mma8" : v == 3 ? "cublas" : v == 4 ? "mma16" : "ffma8",
                 M, N, K, accumulate ? " +=" : "");
        check("linear-variant", dt, vn, got, ref, (size_t)M * N, tol(dt));
        free(got);
        cudaFree(dy);
    }
    /* bf16/fp16 output of the skinny GEMM */
    if (lf_cuda_gemv_mma_supported(M, K)) {
        void *dy = dalloc((size_t)M * N * 2);
        LF(lf_cuda_gemv_mma(dt, dx, dW, dy, 0, 0.0f, M, N, K, 0, 0));
        float *got = dget_T(dt, dy, (size_t)M * N), *r2 = xmalloc((size_t)M * N * 4);
        lf_cpu_linear(r2, x, W, NULL, M, N, K);
        char vn[80];
        snprintf(vn, sizeof vn, "mma M%d N%d K%d -> %s", M, N, K, dtn(dt));
        check("linear-variant", dt, vn, got, r2, (size_t)M * N, tol(dt));
        free(got); free(r2); cudaFree(dy);
    }
    free(x); free(W); free(y0); free(ref); cudaFree(dx); cudaFree(dW);
}

/* cuBLASLt plans (gemm_lt.cu): every algorithm the heuristic offers for the shape against the CPU
 * reference, with y fp32 += (beta 1) and with y in T (the two output forms the engine runs) */
static void test_linear_lt(lf_dtype dt, int M, int N, int K) {
    float *x = frand_array((size_t)M * K, 1.0f), *W = frand_array((size_t)N * K, 1.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)M * K);
    round_array(dt, W, (size_t)N * K);
    float *y0 = frand_array((size_t)M * N, 1.0f), *ref = xmalloc((size_t)M * N * 4), *ref_acc = xmalloc((size_t)M * N * 4);
    lf_cpu_linear(ref, x, W, NULL, M, N, K);
    memcpy(ref_acc, ref, (size_t)M * N * 4);
    lf_cpu_add(ref_acc, y0, (int64_t)M * N);
    void *dx = dput_T(dt, x, (size_t)M * K), *dW = dput_T(dt, W, (size_t)N * K), *ws = dalloc(32u << 20);
    for (int y_f32 = 0; y_f32 <= 1; y_f32++) {
        lf_lt_plan *plan = NULL;
        char vn[96];
        snprintf(vn, sizeof vn, "cuBLASLt plan M%d N%d K%d -> %s", M, N, K, y_f32 ? "f32 +=" : dtn(dt));
        expect(lf_cuda_lt_plan_create(dt, y_f32, M, N, K, 32u << 20, &plan) == LINFER_OK && lf_cuda_lt_plan_algos(plan) > 0, vn);
        for (int a = 0; plan && a < lf_cuda_lt_plan_algos(plan); a++) {
            void *dy = y_f32 ? dput(y0, (size_t)M * N * 4) : dalloc((size_t)M * N * 2);
            LF(lf_cuda_lt_run(plan, a, dx, dW, dy, y_f32 ? 1.0f : 0.0f, ws, 32u << 20, 0));
            float *got = y_f32 ? dget_f32(dy, (size_t)M * N) : dget_T(dt, dy, (size_t)M * N);
            snprintf(vn, sizeof vn, "lt algorithm %d/%d M%d N%d K%d -> %s", a, lf_cuda_lt_plan_algos(plan), M, N, K, y_f32 ? "f32 +=" : dtn(dt));
            check("linear-variant", dt, vn, got, y_f32 ? ref_acc : ref, (size_t)M * N, tol(dt));
            free(got);
            cudaFree(dy);
        }
        lf_cuda_lt_plan_destroy(plan);
    }
    free(x); free(W); free(y0); free(ref); free(ref_acc); cudaFree(dx); cudaFree(dW); cudaFree(ws);
}

/* The TP-invariant linear layer (lf_cuda_gemv_invariant, lf_cuda_sum_tree_add): against the CPU
 * reference, then bit for bit against itself as tensor parallelism splits it: K split over tp
 * "ranks" (2, 4, 8), each rank's partial over its slice in LF_INV_CHUNKS / tp pieces, the partials
 * added to the residual in the tree, equal the one-"GPU" result with beta = 1; N split into
 * column ranges (the column-split layers) and one row alone (another batch) give the same bits. */
static void test_linear_invariant(lf_dtype dt, int M, int N, int K) {
    float *x = frand_array((size_t)M * K, 1.0f), *W = frand_array((size_t)N * K, 1.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)M * K);
    round_array(dt, W, (size_t)N * K);
    float *y0 = frand_array((size_t)M * N, 1.0f), *ref = xmalloc((size_t)M * N * 4);
    lf_cpu_linear(ref, x, W, NULL, M, N, K);
    lf_cpu_add(ref, y0, (int64_t)M * N);
    void *dx = dput_T(dt, x, (size_t)M * K), *dW = dput_T(dt, W, (size_t)N * K), *dy1 = dput(y0, (size_t)M * N * 4);
    LF(lf_cuda_gemv_invariant(dt, dx, dW, dy1, 1, 1.0f, M, N, K, LF_INV_CHUNKS, 0));
    float *y1 = dget_f32(dy1, (size_t)M * N);
    char vn[96];
    snprintf(vn, sizeof vn, "M%d N%d K%d in %d pieces -> f32 +=", M, N, K, LF_INV_CHUNKS);
    check("linear-invariant", dt, vn, y1, ref, (size_t)M * N, tol(dt));
    for (int tp = 2; tp <= LF_INV_CHUNKS; tp *= 2) {
        const int Kr = K / tp;
        float *parts = dalloc((size_t)tp * M * N * 4), *xr = xmalloc((size_t)M * Kr * 4), *Wr = xmalloc((size_t)N * Kr * 4);
        for (int r = 0; r < tp; r++) {
            for (int m = 0; m < M; m++) memcpy(xr + (size_t)m * Kr, x + (size_t)m * K + (size_t)r * Kr, (size_t)Kr * 4);
            for (int n = 0; n < N; n++) memcpy(Wr + (size_t)n * Kr, W + (size_t)n * K + (size_t)r * Kr, (size_t)Kr * 4);
            void *dxr = dput_T(dt, xr, (size_t)M * Kr), *dWr = dput_T(dt, Wr, (size_t)N * Kr);
            LF(lf_cuda_gemv_invariant(dt, dxr, dWr, parts + (size_t)r * M * N, 1, 0.0f, M, N, Kr, LF_INV_CHUNKS / tp, 0));
            CK(cudaDeviceSynchronize());
            cudaFree(dxr); cudaFree(dWr);
        }
        float *dres = dput(y0, (size_t)M * N * 4);
        LF(lf_cuda_sum_tree_add(dres, parts, tp, (size_t)M * N, 0));
        float *got = dget_f32(dres, (size_t)M * N);
        snprintf(vn, sizeof vn, "linear-invariant %s M%d N%d K%d: K over %d ranks + tree == one GPU, bit for bit", dtn(dt), M, N, K, tp);
        expect(!memcmp(got, y1, (size_t)M * N * 4), vn);
        free(got); free(xr); free(Wr); cudaFree(parts); cudaFree(dres);
    }
    /* column ranges (T output, one piece: the column-split layers) and one row alone */
    void *dyt = dalloc((size_t)M * N * 2);
    LF(lf_cuda_gemv_invariant(dt, dx, dW, dyt, 0, 0.0f, M, N, K, 1, 0));
    float *yt = dget_T(dt, dyt, (size_t)M * N);
    const int n0 = N / 3, nn = N / 3 + 1;
    void *dyc = dalloc((size_t)M * nn * 2);
    LF(lf_cuda_gemv_invariant(dt, dx, (const char *)dW + (size_t)n0 * K * 2, dyc, 0, 0.0f, M, nn, K, 1, 0));
    float *yc = dget_T(dt, dyc, (size_t)M * nn);
    int same = 1;
    for (int m = 0; m < M; m++) same = same && !memcmp(yc + (size_t)m * nn, yt + (size_t)m * N + n0, (size_t)nn * 4);
    const int mr = M - 1;
    void *dyr = dalloc((size_t)N * 2);
    LF(lf_cuda_gemv_invariant(dt, (const char *)dx + (size_t)mr * K * 2, dW, dyr, 0, 0.0f, 1, N, K, 1, 0));
    float *yr = dget_T(dt, dyr, (size_t)N);
    snprintf(vn, sizeof vn, "linear-invariant %s M%d N%d K%d: columns %d..%d alone, row %d alone: same bits", dtn(dt), M, N, K, n0, n0 + nn - 1, mr);
    expect(same && !memcmp(yr, yt + (size_t)mr * N, (size_t)N * 4), vn);
    lf_cpu_linear(ref, x, W, NULL, M, N, K);
    snprintf(vn, sizeof vn, "M%d N%d K%d in 1 piece -> %s", M, N, K, dtn(dt));
    check("linear-invariant", dt, vn, yt, ref, (size_t)M * N, tol(dt));
    /* refusals: pieces that do not divide K into whole 16-byte vectors */
    expect(lf_cuda_gemv_invariant(dt, dx, dW, dy1, 1, 0.0f, M, N, K - 8, LF_INV_CHUNKS, 0) == LINFER_ERR_UNSUPPORTED &&
           lf_cuda_gemv_invariant(dt, dx, dW, dy1, 1, 0.0f, M, N, K, 3, 0) == LINFER_ERR_UNSUPPORTED,
           "linear-invariant: K not in whole pieces of 8, 3 pieces: refused");
    lf_clear_error();
    free(x); free(W); free(y0); free(ref); free(y1); free(yt); free(yc); free(yr);
    cudaFree(dx); cudaFree(dW); cudaFree(dy1); cudaFree(dyt); cudaFree(dyc); cudaFree(dyr);
}

/* gate/up GEMM with the SwiGLU epilogue vs CPU linear -> round to T -> swiglu */
static void test_gate_up_swiglu(lf_dtype dt, int M, int ffn, int K, int warps) {
    float *x = frand_array((size_t)M * K, 1.0f), *W = frand_array((size_t)2 * ffn * K, 3.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)M * K);
    round_array(dt, W, (size_t)2 * ffn * K);
    float *gu = xmalloc((size_t)M * 2 * ffn * 4), *ref = xmalloc((size_t)M * ffn * 4);
    lf_cpu_linear(gu, x, W, NULL, M, 2 * ffn, K);
    round_array(dt, gu, (size_t)M * 2 * ffn);
    for (int t = 0; t < M; t++) lf_cpu_swiglu(ref + (size_t)t * ffn, gu + (size_t)t * 2 * ffn, gu + (size_t)t * 2 * ffn + ffn, ffn);
    void *dx = dput_T(dt, x, (size_t)M * K), *dW = dput_T(dt, W, (size_t)2 * ffn * K), *dy = dalloc((size_t)M * ffn * 2);
    LF(lf_cuda_gate_up_swiglu(dt, dx, dW, dy, M, ffn, K, warps, 0));
    float *got = dget_T(dt, dy, (size_t)M * ffn);
    char vn[80];
    snprintf(vn, sizeof vn, "M%d ffn%d K%d warps %d", M, ffn, K, warps);
    check("gate_up_swiglu", dt, vn, got, ref, (size_t)M * ffn, tol(dt));
    if (M <= LF_CUDA_GEMV_MAX_M && warps == 0) {
        /* the FFMA GEMV with the SwiGLU epilogue: against the CPU, and bit for bit the FFMA GEMV
         * (T output) followed by the activation kernel, the path it replaces */
        for (int unroll = 4; unroll <= 8; unroll += 4) {
            void *dy2 = dalloc((size_t)M * ffn * 2), *dgu = dalloc((size_t)M * 2 * ffn * 2), *dy3 = dalloc((size_t)M * ffn * 2);
            LF(lf_cuda_gemv_swiglu(dt, dx, dW, dy2, M, ffn, K, unroll, 0));
            LF(lf_cuda_gemv_ffma_ex(dt, dx, dW, dgu, 0, 0.0f, M, 2 * ffn, K, unroll, 0));
            LF(lf_cuda_swiglu(dt, dy3, dgu, M, ffn, 0));
            float *got2 = dget_T(dt, dy2, (size_t)M * ffn), *got3 = dget_T(dt, dy3, (size_t)M * ffn);
            snprintf(vn, sizeof vn, "ffma%s+swiglu M%d ffn%d K%d", unroll == 8 ? "8" : "", M, ffn, K);
            check("gate_up_swiglu", dt, vn, got2, ref, (size_t)M * ffn, tol(dt));
            snprintf(vn, sizeof vn, "gemv_swiglu %s unroll %d M%d ffn%d K%d: bit for bit ffma gemv + swiglu kernel", dtn(dt), unroll, M, ffn, K);
            expect(!memcmp(got2, got3, (size_t)M * ffn * 4), vn);
            free(got2); free(got3); cudaFree(dy2); cudaFree(dgu); cudaFree(dy3);
        }
    }
    free(x); free(W); free(gu); free(ref); free(got); cudaFree(dx); cudaFree(dW); cudaFree(dy);
}

/* The one-token bulk-copy GEMV (gemv_bulk.cu) against the CPU: T out, fp32 out with the residual,
 * the SwiGLU epilogue; N rows over the SMs (fewer rows than SMs, and many rows per block so that
 * the ring's slots are reused), rows of K from short to half the ring; the same bits on a second
 * run; and its refusals. */
static void test_gemv_bulk(lf_dtype dt, int N, int K) {
    if (!lf_cuda_gemv_bulk_supported(1, K)) { printf("    (gemv_bulk: not on this GPU or K %d)\n", K); return; }
    float *x = frand_array((size_t)K, 1.0f), *W = frand_array((size_t)2 * N * K, 3.0f / sqrtf((float)K));
    round_array(dt, x, (size_t)K);
    round_array(dt, W, (size_t)2 * N * K);
    float *y0 = frand_array((size_t)N, 1.0f), *ref = xmalloc((size_t)2 * N * 4), *ref_acc = xmalloc((size_t)N * 4);
    lf_cpu_linear(ref, x, W, NULL, 1, 2 * N, K);
    for (int n = 0; n < N; n++) ref_acc[n] = ref[n] + y0[n];
    void *dx = dput_T(dt, x, (size_t)K), *dW = dput_T(dt, W, (size_t)2 * N * K);
    unsigned *ctr = dalloc(2 * sizeof(unsigned)), hc[2] = {1, 1};
    CK(cudaMemset(ctr, 0, 2 * sizeof(unsigned)));
    char vn[96];
    /* fp32 out, y += */
    void *dy = dput(y0, (size_t)N * 4);
    LF(lf_cuda_gemv_bulk(dt, dx, dW, dy, 1, 1.0f, N, K, ctr, 0));
    float *got = dget_f32(dy, (size_t)N);
    snprintf(vn, sizeof vn, "bulk M1 N%d K%d -> f32 +=", N, K);
    check("gemv-bulk", dt, vn, got, ref_acc, (size_t)N, tol(dt));
    /* T out, twice: the same bits */
    void *dt1 = dalloc((size_t)N * 2);
    LF(lf_cuda_gemv_bulk(dt, dx, dW, dt1, 0, 0.0f, N, K, ctr, 0));
    float *g1 = dget_T(dt, dt1, (size_t)N);
    snprintf(vn, sizeof vn, "bulk M1 N%d K%d -> %s", N, K, dtn(dt));
    check("gemv-bulk", dt, vn, g1, ref, (size_t)N, tol(dt));
    LF(lf_cuda_gemv_bulk(dt, dx, dW, dt1, 0, 0.0f, N, K, ctr, 0));
    float *g2 = dget_T(dt, dt1, (size_t)N);
    snprintf(vn, sizeof vn, "gemv_bulk %s N%d K%d: the same bits on a second run", dtn(dt), N, K);
    expect(!memcmp(g1, g2, (size_t)N * 4), vn);
    /* SwiGLU: W = [gate; up] of N features each (a feature's two rows in one slot) */
    float *gu = xmalloc((size_t)2 * N * 4), *act = xmalloc((size_t)N * 4), *ga = NULL;
    void *da = dalloc((size_t)N * 2);
    if (lf_cuda_gemv_bulk_supported(1, 2 * K)) {
        memcpy(gu, ref, (size_t)2 * N * 4);
        round_array(dt, gu, (size_t)2 * N);
        lf_cpu_swiglu(act, gu, gu + N, N);
        LF(lf_cuda_gemv_bulk_swiglu(dt, dx, dW, da, N, K, ctr, 0));
        ga = dget_T(dt, da, (size_t)N);
        snprintf(vn, sizeof vn, "bulk+swiglu M1 ffn%d K%d", N, K);
        check("gemv-bulk", dt, vn, ga, act, (size_t)N, tol(dt));
    } else {
        snprintf(vn, sizeof vn, "gemv_bulk_swiglu K%d (a feature over half the ring) -> LINFER_ERR_UNSUPPORTED", K);
        expect(lf_cuda_gemv_bulk_swiglu(dt, dx, dW, da, N, K, ctr, 0) == LINFER_ERR_UNSUPPORTED, vn);
    }
    CK(cudaMemcpy(hc, ctr, sizeof hc, cudaMemcpyDeviceToHost));
    snprintf(vn, sizeof vn, "gemv_bulk %s N%d K%d: its work counter left zero", dtn(dt), N, K);
    expect(hc[0] == 0 && hc[1] == 0, vn);
    free(x); free(W); free(y0); free(ref); free(ref_acc); free(got); free(g1); free(g2); free(gu); free(act); free(ga);
    cudaFree(dx); cudaFree(dW); cudaFree(dy); cudaFree(dt1); cudaFree(da); cudaFree(ctr);
}

static void test_gemv_bulk_refusals(lf_dtype dt) {
    if (!lf_cuda_gemv_bulk_supported(1, 64)) return;
    void *dx = dalloc(1 << 20), *dW = dalloc(1 << 20), *dy = dalloc(1 << 20);
    unsigned *ctr = dalloc(2 * sizeof(unsigned));
    CK(cudaMemset(ctr, 0, 2 * sizeof(unsigned)));
    expect(!lf_cuda_gemv_bulk_supported(2, 64) && !lf_cuda_gemv_bulk_supported(1, 100), "gemv_bulk: M 2 or K % 8 != 0 not supported");
    expect(lf_cuda_gemv_bulk(dt, dx, dW, dy, 1, 0.f, 16, 100, ctr, 0) == LINFER_ERR_UNSUPPORTED, "gemv_bulk: K % 8 != 0 -> LINFER_ERR_UNSUPPORTED");
    expect(lf_cuda_gemv_bulk(dt, dx, dW, dy, 1, 0.f, 4, 1 << 17, ctr, 0) == LINFER_ERR_UNSUPPORTED &&
               strstr(linfer_last_error(), "half the ring"),
           "gemv_bulk: a row longer than half the ring -> LINFER_ERR_UNSUPPORTED");
    expect(lf_cuda_gemv_bulk(dt, (char *)dx + 8, dW, dy, 1, 0.f, 16, 64, ctr, 0) == LINFER_ERR_UNSUPPORTED, "gemv_bulk: misaligned x -> LINFER_ERR_UNSUPPORTED");
    expect(lf_cuda_gemv_bulk(dt, dx, dW, dy, 0, 1.f, 16, 64, ctr, 0) == LINFER_ERR_INVALID_ARG, "gemv_bulk: beta with a T output -> LINFER_ERR_INVALID_ARG");
    expect(lf_cuda_gemv_bulk(dt, dx, dW, dy, 1, 0.f, 16, 64, NULL, 0) == LINFER_ERR_INVALID_ARG, "gemv_bulk: no work counter -> LINFER_ERR_INVALID_ARG");
    cudaFree(dx); cudaFree(dW); cudaFree(dy); cudaFree(ctr);
}

static void test_swiglu(lf_dtype dt, int n, int ffn) {
    float *gu = frand_array((size_t)n * 2 * ffn, 6.0f);
    round_array(dt, gu, (size_t)n * 2 * ffn);
    void *dgu = dput_T(dt, gu, (size_t)n * 2 * ffn), *dout = dalloc((size_t)n * ffn * 2);
    LF(lf_cuda_swiglu(dt, dout, dgu, n, ffn, 0));
    float *got = dget_T(dt, dout, (size_t)n * ffn), *ref = xmalloc((size_t)n * ffn * 4);
    for (int t = 0; t < n; t++)
        lf_cpu_swiglu(ref + (size_t)t * ffn, gu + (size_t)t * 2 * ffn, gu + (size_t)t * 2 * ffn + ffn, ffn);
    char v[64];
    snprintf(v, sizeof v, "%d x %d", n, ffn);
    check("swiglu", dt, v, got, ref, (size_t)n * ffn, tol(dt));
    free(gu); free(got); free(ref); cudaFree(dgu); cudaFree(dout);
}

/* greedy sampling on the GPU vs lf_cpu_argmax, with planted ties (lowest index must win) */
static void test_argmax(int rows, int vocab) {
    float *x = frand_array((size_t)rows * vocab, 10.0f);
    for (int r = 0; r < rows; r++) { /* plant a tie for the maximum at two indices in half the rows */
        if (r % 2) continue;
        int a = (r * 7919) % vocab, b = (a + 1 + (r * 104729) % (vocab - 1)) % vocab;
        x[(size_t)r * vocab + a] = x[(size_t)r * vocab + b] = 100.0f;
    }
    float *dx;
    int32_t *dids, *ids = xmalloc(sizeof(int32_t) * (size_t)rows);
    CK(cudaMalloc((void **)&dx, sizeof(float) * (size_t)rows * vocab));
    dids = dalloc(sizeof(int32_t) * (size_t)rows);
    CK(cudaMemcpy(dx, x, sizeof(float) * (size_t)rows * vocab, cudaMemcpyHostToDevice));
    LF(lf_cuda_argmax_rows(dx, rows, vocab, dids, 0));
    CK(cudaMemcpy(ids, dids, sizeof(int32_t) * (size_t)rows, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int r = 0; r < rows; r++) bad += ids[r] != lf_cpu_argmax(x + (size_t)r * vocab, vocab);
    char what[96];
    snprintf(what, sizeof what, "argmax (greedy sampling) %d x %d, ties planted: %d mismatches", rows, vocab, bad);
    expect(bad == 0, what);
    free(x); free(ids); cudaFree(dx); cudaFree(dids);
}

/* The reference for a GPU draw that differs from the host's: is token tok what the host's rule
 * gives for some draw within delta of u, and some top_p within a relative delta of cfg's? In double,
 * from a full sort of the candidates (index order when neither filter is on, as the host walks). */
typedef struct { float s; int id; } samp_ref_cand;
static int samp_ref_desc(const void *a, const void *b) {
    const samp_ref_cand *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? 1 : -1;
    return x->id - y->id;
}
static int sample_near(const float *x, int V, const lf_sampler_cfg *cfg, double u, int tok, double delta) {
    const float mx = x[lf_cpu_argmax(x, V)];
    samp_ref_cand *c = xmalloc(sizeof *c * (size_t)V);
    double *cum = xmalloc(sizeof *cum * (size_t)(V + 1));
    for (int i = 0; i < V; i++) { c[i].s = (x[i] - mx) / cfg->temperature; c[i].id = i; }
    const int use_k = cfg->top_k > 0 && cfg->top_k < V, use_p = cfg->top_p < 1.0f;
    if (use_k || use_p) qsort(c, (size_t)V, sizeof *c, samp_ref_desc);
    cum[0] = 0;
    for (int j = 0; j < V; j++) cum[j + 1] = cum[j] + (double)expf(c[j].s);
    const int m = use_k ? cfg->top_k : V;
    int pos = 0, ok = 0;
    while (pos < V && c[pos].id != tok) pos++;
    int klo = m, khi = m;
    if (use_p) {
        const double base = cum[m], plo = cfg->top_p * (1.0 - delta), phi = cfg->top_p * (1.0 + delta);
        klo = khi = 0;
        while (klo < m && cum[klo + 1] / base < plo) klo++;
        while (khi < m && cum[khi + 1] / base < phi) khi++;
        klo = klo < m ? klo + 1 : m;
        khi = khi < m ? khi + 1 : m;
    }
    for (int keep = klo; keep <= khi && !ok; keep++)
        ok = pos < keep && cum[pos] / cum[keep] <= u + delta && cum[pos + 1] / cum[keep] >= u - delta;
    free(c); free(cum);
    return ok;
}

/* sampling on the GPU (sampling.cu) vs the host sampler lf_sample_u, the same uniform draw per
 * row. A row may differ from the host only where the host's own choice changes within 1e-6 of u
 * or of top_p (the GPU's expf is within 2 ulp of glibc's, its long path drops masses below 2^-40
 * of the largest): sample_near must then accept the GPU's token (counted apart). Rows 0 and 1
 * draw u = 0 and u = 1 - 1e-12, the two ends. Logit kinds: 0 near-flat (random weights: top_p
 * keeps most of the vocabulary, the long path), 1 peaked, 2 integer-valued (many ties), 3 peaked
 * with a third of the entries -inf. */
static void test_sample(int rows, int vocab, int kind, float temperature, int top_k, float top_p) {
    float *x = xmalloc(sizeof(float) * (size_t)rows * vocab), *tmp = xmalloc(sizeof(float) * (size_t)vocab);
    for (size_t i = 0; i < (size_t)rows * vocab; i++) {
        const float f = frand();
        x[i] = kind == 0 ? 3.0f * f : kind == 2 ? floorf(6.0f * f) : 25.0f * f;
        if (kind == 3 && irand(3) == 0) x[i] = -INFINITY;
    }
    double *u = xmalloc(sizeof(double) * (size_t)rows);
    for (int r = 0; r < rows; r++) {
        g_rng = lf_splitmix64(g_rng);
        u[r] = r == 0 ? 0.0 : r == 1 ? 1.0 - 1e-12 : (double)(g_rng >> 11) * (1.0 / 9007199254740992.0);
    }
    const lf_cuda_sampling sc = {temperature, top_k, top_p, 0};
    float *dx = dput(x, sizeof(float) * (size_t)rows * vocab);
    double *du = dput(u, sizeof(double) * (size_t)rows);
    lf_cuda_sampling *dsc = dput(&sc, sizeof sc);
    int32_t *dids = dalloc(sizeof(int32_t) * (size_t)rows), *ids = xmalloc(sizeof(int32_t) * (size_t)rows);
    LF(lf_cuda_sample_rows(dx, rows, vocab, dsc, du, dids, 0));
    CK(cudaMemcpy(ids, dids, sizeof(int32_t) * (size_t)rows, cudaMemcpyDeviceToHost));
    void *scratch = xmalloc(8 * (size_t)vocab);
    const lf_sampler_cfg cfg = {temperature, top_k, top_p};
    int exact = 0, near = 0, bad = 0;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * vocab;
        memcpy(tmp, row, sizeof(float) * (size_t)vocab);
        const int host = lf_sample_u(tmp, vocab, &cfg, u[r], scratch);
        if (ids[r] == host) exact++;
        else if (ids[r] >= 0 && ids[r] < vocab && sample_near(row, vocab, &cfg, u[r], ids[r], 1e-6)) near++;
        else if (++bad <= 3) printf("    row %d u %.17g: GPU %d, host %d\n", r, u[r], ids[r], host);
    }
    char what[160];
    snprintf(what, sizeof what, "sample %dx%d %s T %.2g k %d p %.3g: %d same, %d at a boundary", rows, vocab,
             kind == 0 ? "flat" : kind == 1 ? "peaked" : kind == 2 ? "ties" : "-inf", temperature, top_k, top_p, exact, near);
    expect(bad == 0, what);
    free(x); free(tmp); free(u); free(ids); free(scratch);
    cudaFree(dx); cudaFree(du); cudaFree(dsc); cudaFree(dids);
}

/* GPU sampling: every filter combination, four kinds of logits, real vocabulary sizes */
static void test_sample_all(void) {
    const float cfg_t[] = {1.0f, 0.7f, 1.0f, 1.3f, 1.0f, 0.5f, 2.0f, 0.8f, 1.0f, 1.0f};
    const int cfg_k[] = {0, 40, 0, 50, 1, 0, 0, 1000, -1, 7};
    const float cfg_p[] = {1.0f, 1.0f, 0.9f, 0.8f, 1.0f, 0.5f, 1e-6f, 0.95f, 1.0f, 0.999f};
    const int vocabs[] = {32000, 128256, 1001};
    for (int v = 0; v < 3; v++)
        for (int kind = 0; kind < 4; kind++)
            for (int c = 0; c < 10; c++) {
                const int V = vocabs[v], k = cfg_k[c] < 0 ? V - 1 : cfg_k[c];
                if (g_quick && (v == 1 || c % 3)) continue;
                test_sample(g_quick ? 8 : v == 1 ? 24 : 64, V, kind, cfg_t[c], k, cfg_p[c]);
            }
}

/* the sampling kernel's time against the argmax's (the logits stay in place: at temperature 1 the
 * kernel's in-place s = logit - max is idempotent after the first call) */
static void bench_sample(int rows, int vocab) {
    float *x = xmalloc(sizeof(float) * (size_t)rows * vocab);
    for (size_t i = 0; i < (size_t)rows * vocab; i++) x[i] = 3.0f * frand();
    float *dx = dput(x, sizeof(float) * (size_t)rows * vocab);
    double *u = xmalloc(sizeof(double) * (size_t)rows);
    for (int r = 0; r < rows; r++) u[r] = (r + 0.5) / rows;
    double *du = dput(u, sizeof(double) * (size_t)rows);
    int32_t *dids = dalloc(sizeof(int32_t) * (size_t)rows);
    const lf_cuda_sampling cfgs[4] = {{1.0f, 0, 1.0f, 0}, {1.0f, 40, 1.0f, 0}, {1.0f, 0, 0.9f, 0}, {1.0f, 40, 0.9f, 0}};
    const char *names[4] = {"temperature", "top_k 40", "top_p 0.9", "top_k 40 + top_p 0.9"};
    lf_cuda_sampling *dsc = dput(cfgs, sizeof cfgs);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    float ms;
    LF(lf_cuda_argmax_rows(dx, rows, vocab, dids, 0));
    CK(cudaEventRecord(e0, 0));
    for (int k = 0; k < 20; k++) LF(lf_cuda_argmax_rows(dx, rows, vocab, dids, 0));
    CK(cudaEventRecord(e1, 0)); CK(cudaEventSynchronize(e1)); CK(cudaEventElapsedTime(&ms, e0, e1));
    printf("sample-bench %d x %d (near-flat logits): argmax %.1f us", rows, vocab, ms / 20 * 1e3);
    for (int c = 0; c < 4; c++) {
        LF(lf_cuda_sample_rows(dx, rows, vocab, dsc + c, du, dids, 0));
        CK(cudaEventRecord(e0, 0));
        for (int k = 0; k < 20; k++) LF(lf_cuda_sample_rows(dx, rows, vocab, dsc + c, du, dids, 0));
        CK(cudaEventRecord(e1, 0)); CK(cudaEventSynchronize(e1)); CK(cudaEventElapsedTime(&ms, e0, e1));
        printf(", %s %.1f us", names[c], ms / 20 * 1e3);
    }
    printf("\n");
    CK(cudaEventDestroy(e0)); CK(cudaEventDestroy(e1));
    free(x); free(u);
    cudaFree(dx); cudaFree(du); cudaFree(dids); cudaFree(dsc);
}

static lf_config small_cfg(int n_heads, int n_kv, int hd, lf_rope_style style, lf_rope_scaling scaling) {
    lf_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_layers = 1; c.n_heads = n_heads; c.n_kv_heads = n_kv; c.head_dim = hd; c.dim = n_heads * hd;
    c.ffn_dim = 4 * c.dim; c.vocab_size = 100; c.max_context = 8192; c.norm_eps = 1e-5f;
    c.rope_theta = scaling == LF_ROPE_SCALING_LLAMA3 ? 500000.0f : 10000.0f;
    c.rope_style = style; c.rope_scaling = scaling;
    c.rope_factor = 8.0f; c.rope_low_freq_factor = 1.0f; c.rope_high_freq_factor = 4.0f; c.rope_orig_context = 8192;
    c.bos_id = -1;
    return c;
}

static void test_rope(lf_dtype dt, int nh, int nkv, int hd, lf_rope_style style, int bias, lf_rope_scaling scaling) {
    const int n = 11, max_seqs = 3, max_ctx = 4096;
    const int q_dim = nh * hd, kv_dim = nkv * hd, qkv_dim = q_dim + 2 * kv_dim;
    lf_config c = small_cfg(nh, nkv, hd, style, scaling);
    float *inv = xmalloc(sizeof(float) * (size_t)(hd / 2));
    lf_rope_inv_freq(&c, inv);
    float *qkv = frand_array((size_t)n * qkv_dim, 2.0f), *b = frand_array((size_t)qkv_dim, 0.5f);
    round_array(dt, qkv, (size_t)n * qkv_dim);
    round_array(dt, b, (size_t)qkv_dim);
    int32_t pos[11], seq[11];
    for (int i = 0; i < n; i++) { seq[i] = i % max_seqs; pos[i] = i < 3 ? i : irand(max_ctx); }
    for (int i = 3; i < n; i++) /* distinct (seq, pos) */
        for (int j = 0; j < i; j++) if (seq[j] == seq[i] && pos[j] == pos[i]) { pos[i] = (pos[i] + 1) % max_ctx; j = -1; }
    void *dqkv = dput_T(dt, qkv, (size_t)n * qkv_dim), *db = bias ? dput_T(dt, b, qkv_dim) : NULL;
    float *dinv = dput(inv, sizeof(float) * (size_t)(hd / 2));
    int32_t *dpos = dput(pos, sizeof pos), *dseq = dput(seq, sizeof seq);
    size_t cache_n = (size_t)max_seqs * max_ctx * kv_dim;
    void *kc = dalloc(cache_n * 2), *vc = dalloc(cache_n * 2);
    LF(lf_cuda_rope_qkv(dt, dqkv, qkv_dim, db, dinv, dpos, dseq, n, kc, vc, max_ctx, nh, nkv, hd, style, 0));
    float *gq = dget_T(dt, dqkv, (size_t)n * qkv_dim);
    float *rq = xmalloc((size_t)n * q_dim * 4), *rk = xmalloc((size_t)n * kv_dim * 4), *rv = xmalloc((size_t)n * kv_dim * 4);
    float *gqq = xmalloc((size_t)n * q_dim * 4), *gk = xmalloc((size_t)n * kv_dim * 4), *gv = xmalloc((size_t)n * kv_dim * 4);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < qkv_dim; j++) {
            float v = qkv[(size_t)i * qkv_dim + j] + (bias ? b[j] : 0.0f);
            if (j < q_dim) rq[(size_t)i * q_dim + j] = v;
            else if (j < q_dim + kv_dim) rk[(size_t)i * kv_dim + j - q_dim] = v;
            else rv[(size_t)i * kv_dim + j - q_dim - kv_dim] = v;
        }
        lf_cpu_rope(rq + (size_t)i * q_dim, nh, hd, pos[i], inv, style);
        lf_cpu_rope(rk + (size_t)i * kv_dim, nkv, hd, pos[i], inv, style);
        memcpy(gqq + (size_t)i * q_dim, gq + (size_t)i * qkv_dim, (size_t)q_dim * 4);
        size_t off = ((size_t)seq[i] * max_ctx + pos[i]) * kv_dim;
        float *tk = dget_T(dt, (char *)kc + off * 2, kv_dim), *tv = dget_T(dt, (char *)vc + off * 2, kv_dim);
        memcpy(gk + (size_t)i * kv_dim, tk, (size_t)kv_dim * 4);
        memcpy(gv + (size_t)i * kv_dim, tv, (size_t)kv_dim * 4);
        free(tk); free(tv);
    }
    char v[96];
    snprintf(v, sizeof v, "%s h%d/%d hd%d%s%s", style == LF_ROPE_NEOX ? "neox" : "interleaved", nh, nkv, hd,
             bias ? " bias" : "", scaling == LF_ROPE_SCALING_LLAMA3 ? " llama3" : "");
    char vq[110], vk[110], vv[110];
    snprintf(vq, sizeof vq, "q: %s", v); snprintf(vk, sizeof vk, "k cache: %s", v); snprintf(vv, sizeof vv, "v cache: %s", v);
    check("rope_qkv", dt, vq, gqq, rq, (size_t)n * q_dim, tol(dt));
    check("rope_qkv", dt, vk, gk, rk, (size_t)n * kv_dim, tol(dt));
    check("rope_qkv", dt, vv, gv, rv, (size_t)n * kv_dim, tol(dt));
    free(inv); free(qkv); free(b); free(gq); free(rq); free(rk); free(rv); free(gqq); free(gk); free(gv);
    cudaFree(dqkv); if (db) cudaFree(db); cudaFree(dinv); cudaFree(dpos); cudaFree(dseq); cudaFree(kc); cudaFree(vc);
}

/* host-only: the angle the CUDA rope kernel uses (lf_rope_angle) is bit-identical to the one
 * lf_cpu_rope uses, for both styles, with and without llama3 scaling (runs without a GPU too) */
static void test_rope_angle_host(void) {
    const int hd = 128, half = hd / 2, positions[] = {0, 1, 7, 127, 128, 1000, 4095, 131071};
    int bad = 0, total = 0;
    for (int sc = 0; sc < 2; sc++)
        for (int st = 0; st < 2; st++) {
            lf_config c = small_cfg(1, 1, hd, st ? LF_ROPE_INTERLEAVED : LF_ROPE_NEOX, sc ? LF_ROPE_SCALING_LLAMA3 : LF_ROPE_SCALING_NONE);
            float inv[64], x[128];
            lf_rope_inv_freq(&c, inv);
            for (size_t pi = 0; pi < sizeof positions / sizeof positions[0]; pi++) {
                for (int i = 0; i < half; i++) {
                    const int a = st ? 2 * i : i, b = st ? 2 * i + 1 : i + half;
                    x[a] = 1.0f;
                    x[b] = 0.0f;
                }
                lf_cpu_rope(x, 1, hd, positions[pi], inv, c.rope_style);
                for (int i = 0; i < half; i++) {
                    const int a = st ? 2 * i : i, b = st ? 2 * i + 1 : i + half;
                    const float ang = lf_rope_angle(positions[pi], i, half, inv, st);
                    total++;
                    if (cosf(ang) != x[a] || sinf(ang) != x[b]) bad++;
                }
            }
        }
    char what[96];
    snprintf(what, sizeof what, "rope angles: lf_rope_angle == lf_cpu_rope (%d of %d differ)", bad, total);
    expect(bad == 0, what);
}

/* the decode attention's split counters (the first 64 words of its scratch) are all zero again */
static int split_counters_zero(const float *scr) {
    unsigned ctr[64];
    CK(cudaMemcpy(ctr, scr, sizeof ctr, cudaMemcpyDeviceToHost));
    int zero = 1;
    for (int i = 0; i < 64; i++) zero &= ctr[i] == 0;
    return zero;
}

/* attention: caches filled with random values; a batch of runs (prefill chunks) and single tokens */
/* which decode-attention kernels the attention checks below ran, as a prefix of their names: ""
 * the default choice, "gqa-all ..." the GQA kernel forced (and its warps / split cap), "gqa-off "
 * the one-head kernel only (the GQA-mode loop in main) */
static const char *g_attn_tag = "";

/* RoPE fused into the decode attention (lf_cuda_attention_rope) against the RoPE kernel + the
 * decode attention: the same output bits and the same caches, bit for bit, with and without the
 * context split; one token per sequence, positions from 0 to the end of the cache. */
static void test_attention_rope(lf_dtype dt, int nh, int nkv, int hd, lf_rope_style style, int bias) {
    const int n = 4, max_seqs = 5, max_ctx = 2100;
    const int q_dim = nh * hd, kv_dim = nkv * hd, qkv_dim = q_dim + 2 * kv_dim;
    lf_config c = small_cfg(nh, nkv, hd, style, LF_ROPE_SCALING_NONE);
    float *inv = xmalloc(sizeof(float) * (size_t)(hd / 2));
    lf_rope_inv_freq(&c, inv);
    const int32_t pos[4] = {0, 130, 2099, 37 + irand(1900)}, seq[4] = {3, 0, 4, 1};
    float *qkv = frand_array((size_t)n * qkv_dim, 1.5f), *b = frand_array((size_t)qkv_dim, 0.5f);
    const size_t cache_n = (size_t)max_seqs * max_ctx * kv_dim;
    float *K = frand_array(cache_n, 1.0f), *V = frand_array(cache_n, 1.0f);
    round_array(dt, qkv, (size_t)n * qkv_dim); round_array(dt, b, (size_t)qkv_dim);
    round_array(dt, K, cache_n); round_array(dt, V, cache_n);
    void *db = bias ? dput_T(dt, b, qkv_dim) : NULL;
    float *dinv = dput(inv, sizeof(float) * (size_t)(hd / 2));
    int32_t *dpos = dput(pos, sizeof pos), *dseq = dput(seq, sizeof seq);
    const float scale = 1.0f / sqrtf((float)hd);
    float *scr = dalloc(LF_ATTN_SPLIT_SCRATCH);
    for (int split = 0; split <= 1; split++) {
        void *out[2], *kc[2], *vc[2];
        for (int f = 0; f < 2; f++) {   /* f 0: RoPE kernel + attention, 1: fused */
            void *dqkv = dput_T(dt, qkv, (size_t)n * qkv_dim);
            kc[f] = dput_T(dt, K, cache_n);
            vc[f] = dput_T(dt, V, cache_n);
            out[f] = dalloc((size_t)n * q_dim * 2);
            CK(cudaMemset(scr, 0, LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned)));
            float *sp = split ? scr : NULL;
            const size_t spb = split ? LF_ATTN_SPLIT_SCRATCH : 0;
            if (f == 0) {
                LF(lf_cuda_rope_qkv(dt, dqkv, qkv_dim, db, dinv, dpos, dseq, n, kc[f], vc[f], max_ctx, nh, nkv, hd, style, 0));
                LF(lf_cuda_attention(dt, out[f], q_dim, dqkv, qkv_dim, kc[f], vc[f], max_ctx, dpos, dseq, NULL, n, nh, nkv, hd, scale,
                                     max_ctx, sp, spb, 0));
            } else {
                LF(lf_cuda_attention_rope(dt, out[f], q_dim, dqkv, qkv_dim, db, dinv, style, kc[f], vc[f], max_ctx, dpos, dseq, NULL, n,
                                          nh, nkv, hd, scale, max_ctx, sp, spb, 0));
            }
            CK(cudaDeviceSynchronize());
            cudaFree(dqkv);
        }
        uint16_t *h0 = xmalloc(cache_n * 2), *h1 = xmalloc(cache_n * 2);
        char what[160];
        snprintf(what, sizeof what, "%sattention+RoPE fused vs RoPE kernel + attention (%s, h%d/%d hd%d %s%s%s): output bits", g_attn_tag, dtn(dt), nh,
                 nkv, hd, style == LF_ROPE_INTERLEAVED ? "interleaved" : "neox", bias ? ", bias" : "", split ? ", split" : "");
        CK(cudaMemcpy(h0, out[0], (size_t)n * q_dim * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(h1, out[1], (size_t)n * q_dim * 2, cudaMemcpyDeviceToHost));
        expect(!memcmp(h0, h1, (size_t)n * q_dim * 2), what);
        for (int kv = 0; kv < 2; kv++) {
            CK(cudaMemcpy(h0, kv ? vc[0] : kc[0], cache_n * 2, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(h1, kv ? vc[1] : kc[1], cache_n * 2, cudaMemcpyDeviceToHost));
            snprintf(what, sizeof what, "%sattention+RoPE fused (%s, hd%d, %s%s): the %c cache", g_attn_tag, dtn(dt), hd,
                     style == LF_ROPE_INTERLEAVED ? "interleaved" : "neox", split ? ", split" : "", kv ? 'V' : 'K');
            expect(!memcmp(h0, h1, cache_n * 2), what);
        }
        free(h0); free(h1);
        for (int f = 0; f < 2; f++) { cudaFree(out[f]); cudaFree(kc[f]); cudaFree(vc[f]); }
    }
    expect(split_counters_zero(scr), "attention+RoPE fused: split counters back to zero");
    free(inv); free(qkv); free(b); free(K); free(V);
    if (db) cudaFree(db);
    cudaFree(dinv); cudaFree(dpos); cudaFree(dseq); cudaFree(scr);
}

/* The decode attention's context splits merged inside a thread-block cluster (distributed shared
 * memory) against the merge through global memory and a counter: the same output bits, plain and
 * RoPE-fused (and the same caches), at contexts short enough for at most 8 splits; the plain
 * kernel also against the CPU reference. No-op where clusters are not supported (the setter
 * then changes nothing and both runs take the global merge). */
static void test_attention_cluster(lf_dtype dt, int nh, int nkv, int hd, int ctx) {
    const int n = 2, max_ctx = ctx + 8, q_dim = nh * hd, kv_dim = nkv * hd, qkv_dim = q_dim + 2 * kv_dim;
    const int32_t pos[2] = {ctx - 1, ctx / 2 + irand(ctx / 2 - 1)}, seq[2] = {1, 0};
    lf_config c = small_cfg(nh, nkv, hd, LF_ROPE_NEOX, LF_ROPE_SCALING_NONE);
    float *inv = xmalloc(sizeof(float) * (size_t)(hd / 2));
    lf_rope_inv_freq(&c, inv);
    const size_t cache_n = (size_t)2 * max_ctx * kv_dim;
    float *qkv = frand_array((size_t)n * qkv_dim, 1.5f), *K = frand_array(cache_n, 1.0f), *V = frand_array(cache_n, 1.0f);
    round_array(dt, qkv, (size_t)n * qkv_dim); round_array(dt, K, cache_n); round_array(dt, V, cache_n);
    float *dinv = dput(inv, sizeof(float) * (size_t)(hd / 2));
    int32_t *dpos = dput(pos, sizeof pos), *dseq = dput(seq, sizeof seq);
    float *scr = dalloc(LF_ATTN_SPLIT_SCRATCH);
    const float scale = 1.0f / sqrtf((float)hd);
    char what[160];
    lf_cuda_set_attn_blocks_per_sm(4);   /* the split counts of the calls below (the default, 2, halves some) */
    for (int rope = 0; rope <= 1; rope++) {
        uint16_t *h[2], *hk[2];
        for (int cl = 0; cl <= 1; cl++) {
            lf_cuda_set_attn_cluster(cl);
            void *dqkv = dput_T(dt, qkv, (size_t)n * qkv_dim), *kc = dput_T(dt, K, cache_n), *vc = dput_T(dt, V, cache_n);
            void *out = dalloc((size_t)n * q_dim * 2);
            CK(cudaMemset(scr, 0, LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned)));
            if (rope)
                LF(lf_cuda_attention_rope(dt, out, q_dim, dqkv, qkv_dim, NULL, dinv, LF_ROPE_NEOX, kc, vc, max_ctx, dpos, dseq, NULL, n,
                                          nh, nkv, hd, scale, ctx, scr, LF_ATTN_SPLIT_SCRATCH, 0));
            else
                LF(lf_cuda_attention(dt, out, q_dim, dqkv, qkv_dim, kc, vc, max_ctx, dpos, dseq, NULL, n, nh, nkv, hd, scale, ctx, scr,
                                     LF_ATTN_SPLIT_SCRATCH, 0));
            CK(cudaDeviceSynchronize());
            h[cl] = xmalloc((size_t)n * q_dim * 2);
            hk[cl] = xmalloc(cache_n * 2);
            CK(cudaMemcpy(h[cl], out, (size_t)n * q_dim * 2, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(hk[cl], kc, cache_n * 2, cudaMemcpyDeviceToHost));
            if (!rope && cl) {
                float *ref = xmalloc((size_t)n * q_dim * 4), *att = xmalloc((size_t)max_ctx * 4);
                for (int i = 0; i < n; i++)
                    lf_cpu_attention(ref + (size_t)i * q_dim, qkv + (size_t)i * qkv_dim, K + (size_t)seq[i] * max_ctx * kv_dim,
                                     V + (size_t)seq[i] * max_ctx * kv_dim, pos[i] + 1, kv_dim, nh, nkv, hd, scale, att);
                float *got = dget_T(dt, out, (size_t)n * q_dim);
                snprintf(what, sizeof what, "%scluster merge h%d/%d hd%d ctx %d", g_attn_tag, nh, nkv, hd, ctx);
                check("attention", dt, what, got, ref, (size_t)n * q_dim, tol(dt));
                free(ref); free(att); free(got);
            }
            cudaFree(dqkv); cudaFree(kc); cudaFree(vc); cudaFree(out);
        }
        snprintf(what, sizeof what, "%sattention%s (%s, h%d/%d hd%d ctx %d): cluster merge = global merge, output bits", g_attn_tag, rope ? "+RoPE" : "", dtn(dt), nh, nkv, hd, ctx);
        expect(!memcmp(h[0], h[1], (size_t)n * q_dim * 2), what);
        snprintf(what, sizeof what, "%sattention%s (%s, h%d/%d hd%d ctx %d): cluster merge = global merge, K cache", g_attn_tag, rope ? "+RoPE" : "", dtn(dt), nh, nkv, hd, ctx);
        expect(!memcmp(hk[0], hk[1], cache_n * 2), what);
        for (int cl = 0; cl < 2; cl++) { free(h[cl]); free(hk[cl]); }
    }
    lf_cuda_set_attn_cluster(1);
    lf_cuda_set_attn_blocks_per_sm(0);
    expect(split_counters_zero(scr), "attention (global merge): split counters back to zero");
    free(inv); free(qkv); free(K); free(V);
    cudaFree(dinv); cudaFree(dpos); cudaFree(dseq); cudaFree(scr);
}

static void test_attention(lf_dtype dt, int nh, int nkv, int hd, int long_ctx) {
    const int max_seqs = 4, max_ctx = long_ctx ? 3200 : 300;
    const int kv_dim = nkv * hd, q_dim = nh * hd, q_stride = q_dim + 2 * kv_dim; /* q inside a qkv row */
    /* runs: (seq, first pos, length) */
    int runs[6][3] = {{0, 0, 140}, {1, 200, 37}, {2, 250, 1}, {3, 17, 5}, {1, 5, 1}, {2, 0, 2}};
    if (long_ctx) { runs[2][1] = 3100; runs[3][1] = 3000; runs[3][2] = 64; }
    int n = 0;
    for (int r = 0; r < 6; r++) n += runs[r][2];
    int32_t *pos = xmalloc(4 * (size_t)n), *seq = xmalloc(4 * (size_t)n);
    lf_attn_tile tiles[2][16]; /* [0]: tiles of up to 64 rows (impls 1, 2), [1]: up to 128 (impl 3) */
    int nt[2] = {0, 0};
    for (int r = 0, i = 0; r < 6; r++) {
        for (int w = 0; w < 2; w++) {
            const int cap = w ? 128 : 64;
            for (int k = 0; k < runs[r][2]; k += cap) {
                int rows = runs[r][2] - k < cap ? runs[r][2] - k : cap;
                lf_attn_tile t = {i + k, rows, runs[r][0], runs[r][1] + k};
                tiles[w][nt[w]++] = t;
            }
        }
        for (int k = 0; k < runs[r][2]; k++, i++) { seq[i] = runs[r][0]; pos[i] = runs[r][1] + k; }
    }
    expect(lf_cuda_attention_tile_rows(1) == 64 && lf_cuda_attention_tile_rows(2) == 64 && lf_cuda_attention_tile_rows(3) == 128 &&
           lf_cuda_attention_tile_rows(3) <= LF_ATTN_TILE_ROWS, "attention tile rows: 64 for impls 1-2, 128 for 3");
    size_t cache_n = (size_t)max_seqs * max_ctx * kv_dim;
    float *K = frand_array(cache_n, 1.0f), *V = frand_array(cache_n, 1.0f);
    float *q = frand_array((size_t)n * q_stride, 1.5f); /* scores of a few units: peaked softmax */
    round_array(dt, K, cache_n); round_array(dt, V, cache_n); round_array(dt, q, (size_t)n * q_stride);
    void *dK = dput_T(dt, K, cache_n), *dV = dput_T(dt, V, cache_n), *dq = dput_T(dt, q, (size_t)n * q_stride);
    int32_t *dpos = dput(pos, 4 * (size_t)n), *dseq = dput(seq, 4 * (size_t)n);
    void *dtiles[2] = {dput(tiles[0], sizeof(lf_attn_tile) * nt[0]), dput(tiles[1], sizeof(lf_attn_tile) * nt[1])};
    const float scale = 1.0f / sqrtf((float)hd);
    float *ref = xmalloc((size_t)n * q_dim * 4), *att = xmalloc((size_t)max_ctx * 4);
    for (int i = 0; i < n; i++)
        lf_cpu_attention(ref + (size_t)i * q_dim, q + (size_t)i * q_stride, K + (size_t)seq[i] * max_ctx * kv_dim,
                         V + (size_t)seq[i] * max_ctx * kv_dim, pos[i] + 1, kv_dim, nh, nkv, hd, scale, att);
    char v[96];
    /* simple kernel, all tokens */
    void *dout = dalloc((size_t)n * q_dim * 2);
    LF(lf_cuda_attention(dt, dout, q_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, NULL, n, nh, nkv, hd, scale, 0, NULL, 0, 0));
    float *got = dget_T(dt, dout, (size_t)n * q_dim);
    snprintf(v, sizeof v, "%ssimple h%d/%d hd%d n%d ctx<=%d", g_attn_tag, nh, nkv, hd, n, max_ctx);
    check("attention", dt, v, got, ref, (size_t)n * q_dim, tol(dt));
    free(got);
    /* simple kernel, a token subset (odd rows), the rest must stay poisoned */
    CK(cudaMemset(dout, 0xFF, (size_t)n * q_dim * 2));
    int32_t *sub = xmalloc(4 * (size_t)n);
    int ns = 0;
    for (int i = 1; i < n; i += 2) sub[ns++] = i;
    int32_t *dsub = dput(sub, 4 * (size_t)ns);
    LF(lf_cuda_attention(dt, dout, q_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, dsub, ns, nh, nkv, hd, scale, 0, NULL, 0, 0));
    got = dget_T(dt, dout, (size_t)n * q_dim);
    float *g2 = xmalloc((size_t)ns * q_dim * 4), *r2 = xmalloc((size_t)ns * q_dim * 4);
    int untouched = 1;
    for (int i = 0; i < n; i++) {
        if (i & 1) {
            memcpy(g2 + (size_t)(i / 2) * q_dim, got + (size_t)i * q_dim, (size_t)q_dim * 4);
            memcpy(r2 + (size_t)(i / 2) * q_dim, ref + (size_t)i * q_dim, (size_t)q_dim * 4);
        } else if (!isnan(got[(size_t)i * q_dim])) untouched = 0;
    }
    snprintf(v, sizeof v, "%ssimple subset h%d/%d hd%d n%d", g_attn_tag, nh, nkv, hd, ns);
    check("attention", dt, v, g2, r2, (size_t)ns * q_dim, tol(dt));
    expect(untouched, "attention simple subset: rows not listed left untouched");
    free(got); free(g2); free(r2); free(sub); cudaFree(dsub);
    /* split-K: the last token of each run (few tokens, long contexts) */
    {
        int32_t last[6];
        int nl = 0, mx = 0;
        for (int r = 0, i = 0; r < 6; r++) { i += runs[r][2]; last[nl++] = i - 1; if (pos[i - 1] + 1 > mx) mx = pos[i - 1] + 1; }
        int32_t *dlast = dput(last, sizeof last);
        float *scr = dalloc(LF_ATTN_SPLIT_SCRATCH);
        CK(cudaMemset(scr, 0, LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned))); /* the split counters start at zero */
        CK(cudaMemset(dout, 0xFF, (size_t)n * q_dim * 2));
        LF(lf_cuda_attention(dt, dout, q_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, dlast, nl, nh, nkv, hd, scale, mx, scr,
                             LF_ATTN_SPLIT_SCRATCH, 0));
        got = dget_T(dt, dout, (size_t)n * q_dim);
        /* a second call (counters left at zero by the first) gives the same bits */
        LF(lf_cuda_attention(dt, dout, q_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, dlast, nl, nh, nkv, hd, scale, mx, scr,
                             LF_ATTN_SPLIT_SCRATCH, 0));
        {
            float *again = dget_T(dt, dout, (size_t)n * q_dim);
            int same = 1;
            for (int k = 0; k < nl; k++)
                if (memcmp(again + (size_t)last[k] * q_dim, got + (size_t)last[k] * q_dim, (size_t)q_dim * 4)) same = 0;
            snprintf(v, sizeof v, "%ssplit-K h%d/%d hd%d: a repeated call gives the same bits", g_attn_tag, nh, nkv, hd);
            expect(same, v);
            snprintf(v, sizeof v, "%ssplit-K h%d/%d hd%d: counters back at zero", g_attn_tag, nh, nkv, hd);
            expect(split_counters_zero(scr), v);
            free(again);
        }
        float *g3 = xmalloc((size_t)nl * q_dim * 4), *r3 = xmalloc((size_t)nl * q_dim * 4);
        for (int k = 0; k < nl; k++) {
            memcpy(g3 + (size_t)k * q_dim, got + (size_t)last[k] * q_dim, (size_t)q_dim * 4);
            memcpy(r3 + (size_t)k * q_dim, ref + (size_t)last[k] * q_dim, (size_t)q_dim * 4);
        }
        snprintf(v, sizeof v, "%ssplit-K h%d/%d hd%d n%d ctx<=%d", g_attn_tag, nh, nkv, hd, nl, mx);
        check("attention", dt, v, g3, r3, (size_t)nl * q_dim, tol(dt));
        free(got); free(g3); free(r3); cudaFree(dlast); cudaFree(scr);
    }
    /* tensor-core kernels over all runs (tiles of 1..64 rows; v3: 1..128) */
    for (int impl = 1; impl <= 3 && lf_cuda_attention_tiles_supported(hd); impl++) {
        const int w = lf_cuda_attention_tile_rows(impl) == 128;
        CK(cudaMemset(dout, 0xFF, (size_t)n * q_dim * 2));
        LF(lf_cuda_attention_tiles(dt, dout, q_dim, dq, q_stride, dK, dV, max_ctx, dtiles[w], nt[w], nh, nkv, hd, scale, impl, 0));
        got = dget_T(dt, dout, (size_t)n * q_dim);
        snprintf(v, sizeof v, "%smma v%d h%d/%d hd%d n%d ctx<=%d", g_attn_tag, impl, nh, nkv, hd, n, max_ctx);
        check("attention", dt, v, got, ref, (size_t)n * q_dim, tol(dt));
        free(got);
    }
    free(pos); free(seq); free(K); free(V); free(q); free(ref); free(att);
    cudaFree(dK); cudaFree(dV); cudaFree(dq); cudaFree(dpos); cudaFree(dseq); cudaFree(dtiles[0]); cudaFree(dtiles[1]);
    cudaFree(dout);
}

static void test_convert(lf_dtype dt) {
    const size_t n = 100003;
    float *src = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) src[i] = frand() * powf(2.0f, (float)(irand(40) - 24)); /* incl. fp16 subnormals */
    uint16_t *h16 = xmalloc(n * 2), *hb16 = xmalloc(n * 2);
    for (size_t i = 0; i < n; i++) { h16[i] = lf_f32_to_f16(src[i]); hb16[i] = lf_f32_to_bf16(src[i]); }
    struct { lf_dtype sdt; const void *h; size_t es; const char *name; } cases[3] = {
        {LF_DT_F32, src, 4, "from F32 (exact RNE)"}, {LF_DT_F16, h16, 2, "from F16 (exact)"}, {LF_DT_BF16, hb16, 2, "from BF16 (exact)"}};
    for (int c = 0; c < 3; c++) {
        void *dsrc = dput(cases[c].h, n * cases[c].es), *ddst = dalloc(n * 2);
        LF(lf_cuda_convert(dt, ddst, cases[c].sdt, dsrc, n, 0));
        float *got = dget_T(dt, ddst, n), *ref = xmalloc(n * 4);
        float tmp[1];
        for (size_t i = 0; i < n; i++) {
            lf_to_f32(cases[c].sdt, (const char *)cases[c].h + i * cases[c].es, tmp, 1);
            ref[i] = rnd(dt, tmp[0]);
        }
        check("convert", dt, cases[c].name, got, ref, n, 0);
        free(got); free(ref); cudaFree(dsrc); cudaFree(ddst);
    }
    free(src); free(h16); free(hb16);
}

static void test_fill_random(lf_dtype dt) {
    const size_t n = 65537;
    struct { uint32_t id; float scale; lf_dtype round; const char *name; } cases[4] = {
        {37, 0.03125f, LF_DT_F32, "id 37 scale 1/32 (exact)"}, {LF_RW_OUT_NORM, 0.0f, LF_DT_F16, "norm, rounded F16 (exact)"},
        {5000, 0.0123f, LF_DT_BF16, "id 5000, rounded BF16 (exact)"}, {0, 1.0f, LF_DT_F16, "tok_embd, rounded F16 (exact)"}};
    uint64_t seed = g_rng;
    for (int c = 0; c < 4; c++) {
        void *d = dalloc(n * 2);
        LF(lf_cuda_fill_random(dt, d, n, seed, cases[c].id, cases[c].scale, cases[c].round, 0));
        float *got = dget_T(dt, d, n), *ref = xmalloc(n * 4);
        for (size_t i = 0; i < n; i++) ref[i] = rnd(dt, lf_random_weight_value(seed, cases[c].id, i, cases[c].scale, cases[c].round));
        check("fill_random", dt, cases[c].name, got, ref, n, 0);
        free(got); free(ref); cudaFree(d);
    }
}

/* ---- whole forward: CUDA backend vs CPU backend ------------------------------------------ */
/* m: what the CUDA backend loads (mixed dtypes incl. Q8_0); mc: the same weights for the CPU
 * reference with every Q8_0 tensor given as its exact fp32 dequantisation (the CPU backend computes
 * Q8_0 layers with int8-quantised activations, llama.cpp style, which is not the function the
 * CUDA backend computes: dequantised weights times fp16/bf16 activations). */
typedef struct { lf_model m, mc; lf_layer_src layers[4], layers_c[4]; void *bufs[96]; int nb; } hand_model;

static void fill_src(hand_model *hm, lf_tensor_src *t, lf_dtype sdt, int64_t ne0, int64_t ne1, float amp, float offset) {
    uint64_t n = (uint64_t)ne0 * (ne1 ? ne1 : 1);
    memset(t, 0, sizeof *t);
    t->dtype = sdt; t->n_dims = ne1 ? 2 : 1; t->ne[0] = ne0; t->ne[1] = ne1 ? ne1 : 1; t->ne[2] = t->ne[3] = 1;
    int ok;
    t->nbytes = lf_dtype_nbytes(sdt, n, &ok);
    uint8_t *p = xmalloc(t->nbytes);
    if (sdt == LF_DT_Q8_0) {
        for (uint64_t b = 0; b < n / 32; b++) {
            uint16_t d = lf_f32_to_f16(amp / 127.0f * (0.5f + 0.5f * fabsf(frand())));
            memcpy(p + b * 34, &d, 2);
            for (int j = 0; j < 32; j++) p[b * 34 + 2 + j] = (uint8_t)(int8_t)(irand(255) - 127);
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            float v = offset + amp * frand();
            if (sdt == LF_DT_F32) memcpy(p + i * 4, &v, 4);
            else { uint16_t h = sdt == LF_DT_F16 ? lf_f32_to_f16(v) : lf_f32_to_bf16(v); memcpy(p + i * 2, &h, 2); }
        }
    }
    t->data = p;
    hm->bufs[hm->nb++] = p;
}

/* a model with file-like data in mixed dtypes, biases, interleaved rope, tied embeddings, MQA */
enum { HM_NO_BIAS = 1, HM_NEOX = 2, HM_NO_LLAMA3 = 4, HM_KV4 = 8, HM_UNTIED = 16, HM_ALL_F16 = 32 };
static void hand_config(lf_config *c, int flags) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->n_layers = 2; c->dim = 256; c->n_heads = 4; c->n_kv_heads = 1; c->head_dim = 64; c->ffn_dim = 768;
    c->vocab_size = 500; c->max_context = 1024; c->norm_eps = 1e-6f; c->rope_theta = 500000.0f;
    c->rope_style = LF_ROPE_INTERLEAVED; c->rope_scaling = LF_ROPE_SCALING_LLAMA3; c->rope_factor = 8.0f;
    c->rope_low_freq_factor = 1.0f; c->rope_high_freq_factor = 4.0f; c->rope_orig_context = 128;
    c->tie_embeddings = 1; c->qkv_bias = 1; c->bos_id = -1;
    if (flags & HM_NO_BIAS) c->qkv_bias = 0;
    if (flags & HM_NEOX) c->rope_style = LF_ROPE_NEOX;
    if (flags & HM_NO_LLAMA3) { c->rope_scaling = LF_ROPE_SCALING_NONE; c->rope_theta = 10000.0f; }
    if (flags & HM_KV4) c->n_kv_heads = 4;
    if (flags & HM_UNTIED) c->tie_embeddings = 0;
}
static void build_hand_model_f(hand_model *hm, int flags) {
    memset(hm, 0, sizeof *hm);
    lf_config *c = &hm->m.cfg;
    hand_config(c, flags);
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    float si = 1.0f / sqrtf((float)c->dim);
    hm->m.w.layers = hm->layers;
    fill_src(hm, &hm->m.w.tok_embd, LF_DT_F16, c->dim, c->vocab_size, 1.0f, 0);
    if (c->tie_embeddings) hm->m.w.lm_head = hm->m.w.tok_embd;
    else fill_src(hm, &hm->m.w.lm_head, LF_DT_F16, c->dim, c->vocab_size, 1.0f / 16, 0);
    fill_src(hm, &hm->m.w.out_norm, LF_DT_F32, c->dim, 0, 0.2f, 1.0f);
    for (int l = 0; l < c->n_layers; l++) {
        lf_layer_src *L = &hm->layers[l];
        lf_dtype wdt = l == 0 ? LF_DT_F32 : LF_DT_BF16;
        const int f16 = flags & HM_ALL_F16;
        if (f16) wdt = LF_DT_F16;
        fill_src(hm, &L->attn_norm, f16 ? LF_DT_F16 : LF_DT_F32, c->dim, 0, 0.2f, 1.0f);
        fill_src(hm, &L->wq, wdt, c->dim, qd, si, 0);
        fill_src(hm, &L->wk, LF_DT_F16, c->dim, kvd, si, 0);
        fill_src(hm, &L->wv, wdt, c->dim, kvd, si, 0);
        if (c->qkv_bias) {
            fill_src(hm, &L->bq, f16 ? LF_DT_F16 : LF_DT_F32, qd, 0, 0.3f, 0);
            fill_src(hm, &L->bk, f16 ? LF_DT_F16 : LF_DT_F32, kvd, 0, 0.3f, 0);
            fill_src(hm, &L->bv, f16 ? LF_DT_F16 : LF_DT_F32, kvd, 0, 0.3f, 0);
        }
        fill_src(hm, &L->wo, LF_DT_F16, qd, c->dim, 1.0f / sqrtf((float)qd), 0);
        fill_src(hm, &L->ffn_norm, f16 ? LF_DT_F16 : LF_DT_BF16, c->dim, 0, 0.2f, 1.0f);
        fill_src(hm, &L->w_gate, wdt, c->dim, c->ffn_dim, si, 0);
        fill_src(hm, &L->w_up, f16 ? LF_DT_F16 : LF_DT_Q8_0, c->dim, c->ffn_dim, si * 1.7f, 0);
        fill_src(hm, &L->w_down, l == 0 && !f16 ? LF_DT_Q8_0 : LF_DT_F16, c->ffn_dim, c->dim, 1.7f / sqrtf((float)c->ffn_dim), 0);
    }
    if (flags & HM_ALL_F16) fill_src(hm, &hm->m.w.out_norm, LF_DT_F16, c->dim, 0, 0.2f, 1.0f);
}
static void build_hand_model(hand_model *hm) { build_hand_model_f(hm, 0); }
static void dequant_copy(hand_model *hm, lf_tensor_src *t) {
    if (t->dtype != LF_DT_Q8_0) return;
    uint64_t n = lf_tensor_numel(t);
    float *f = xmalloc(n * 4);
    lf_to_f32(t->dtype, t->data, f, n);
    t->dtype = LF_DT_F32;
    t->data = f;
    t->nbytes = n * 4;
    hm->bufs[hm->nb++] = f;
}
static void make_cpu_copy(hand_model *hm) {
    hm->mc = hm->m;
    memcpy(hm->layers_c, hm->layers, sizeof hm->layers);
    hm->mc.w.layers = hm->layers_c;
    for (int l = 0; l < hm->m.cfg.n_layers; l++) {
        lf_layer_src *L = &hm->layers_c[l];
        lf_tensor_src *ts[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->bq, &L->bk, &L->bv, &L->wo, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) dequant_copy(hm, ts[i]);
    }
    dequant_copy(hm, &hm->mc.w.tok_embd);
    dequant_copy(hm, &hm->mc.w.out_norm);
    if (hm->m.cfg.tie_embeddings) hm->mc.w.lm_head = hm->mc.w.tok_embd;
}
static void free_hand_model(hand_model *hm) { for (int i = 0; i < hm->nb; i++) free(hm->bufs[i]); }

/* 3 sequences prefilled in one batch (lengths 37, 5, 70), then 3 decode steps of all three */
static void compare_forward(const char *name, const lf_model *m, const lf_model *m_cpu, lf_dtype dt, double bound) {
    lf_backend_params p;
    memset(&p, 0, sizeof p);
    p.max_seqs = 4; p.max_context = 512; p.max_batch_tokens = 256; p.n_threads = 0; p.gpu_index = 0; p.dtype = dt;
    lf_backend *cpu = NULL, *gpu = NULL;
    LF(lf_cpu_backend_create(m_cpu, &p, &cpu));
    LF(lf_cuda_backend_create(m, &p, &gpu));
    const int V = m->cfg.vocab_size, *lens = g_lens;
    int32_t tok[256], pos[256], seq[256], out_rows[8];
    int n = 0;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < lens[s]; i++) { tok[n] = irand(V); pos[n] = i; seq[n] = s; n++; }
    out_rows[0] = 36; out_rows[1] = 41; out_rows[2] = 10; out_rows[3] = n - 1; /* ends of seqs 0,1,2 and a middle row */
    float *lc = xmalloc(sizeof(float) * 8 * V), *lg = xmalloc(sizeof(float) * 8 * V);
    for (int step = 0; step < 4; step++) {
        lf_batch b;
        memset(&b, 0, sizeof b);
        if (step > 0) {
            n = 3;
            for (int s = 0; s < 3; s++) { tok[s] = irand(V); pos[s] = lens[s] + step - 1; seq[s] = s; out_rows[s] = s; }
        }
        b.n = n; b.tokens = tok; b.pos = pos; b.seq = seq; b.out_rows = out_rows; b.n_out = step == 0 ? 4 : 3;
        for (int i = 0; i < b.n_out * V; i++) lg[i] = NAN;
        LF(cpu->ops->forward(cpu, &b, lc));
        LF(gpu->ops->forward(gpu, &b, lg));
        char v[96];
        snprintf(v, sizeof v, "%s %s", name, step == 0 ? "prefill" : step == 1 ? "decode 1" : step == 2 ? "decode 2" : "decode 3");
        check("forward", dt, v, lg, lc, (size_t)b.n_out * V, bound);
        int agree = 0;
        for (int r = 0; r < b.n_out; r++) agree += lf_cpu_argmax(lc + (size_t)r * V, V) == lf_cpu_argmax(lg + (size_t)r * V, V);
        printf("    argmax agrees on %d of %d rows\n", agree, b.n_out);
    }
    /* errors: position past the cache, bad sequence */
    lf_batch bad;
    memset(&bad, 0, sizeof bad);
    int32_t bt = 1, bp = p.max_context, bs = 0;
    bad.n = 1; bad.tokens = &bt; bad.pos = &bp; bad.seq = &bs;
    expect(gpu->ops->forward(gpu, &bad, lg) == LINFER_ERR_CONTEXT, "forward: position past the cache -> LINFER_ERR_CONTEXT");
    bp = 0; bs = p.max_seqs;
    expect(gpu->ops->forward(gpu, &bad, lg) == LINFER_ERR_INVALID_ARG, "forward: sequence out of range -> LINFER_ERR_INVALID_ARG");
    free(lc); free(lg);
    cpu->ops->destroy(cpu);
    gpu->ops->destroy(gpu);
}

/* The persistent one-token decode kernel (decode_stream.cu) against the CPU reference and against
 * the kernel-per-operation chain: two sequences prefilled (slots 1 and 3, contexts 37 and 700, so
 * the attention's splits range from one key to many), then single-token decode steps alternating
 * between them, each step's logits checked. */
/* bulk: instead of the persistent kernel, the chain with every linear layer of the one-token steps
 * on the bulk-copy GEMV (gemv_bulk.cu), against the CPU and the untuned chain */
static void compare_decode_stream(const char *name, const lf_model *m, lf_dtype dt, double bound, int bulk) {
    lf_backend_params p;
    memset(&p, 0, sizeof p);
    p.max_seqs = 4; p.max_context = 1024; p.max_batch_tokens = 768; p.n_threads = 0; p.gpu_index = 0; p.dtype = dt;
    lf_backend *cpu = NULL, *gs = NULL, *gc = NULL;
    LF(lf_cpu_backend_create(m, &p, &cpu));
    if (bulk) {
        if (!lf_cuda_gemv_bulk_supported(1, m->cfg.dim)) { printf("    (gemv_bulk: not on this GPU)\n"); cpu->ops->destroy(cpu); return; }
        setenv("LF_CUDA_BULK", "1", 1);   /* a candidate (opt-in), then forced on every layer */
        setenv("LF_CUDA_IMPL", "qkv:bulk,o_proj:bulk,gate_up:bulk+swiglu,down:bulk,lm_head:bulk", 1);
        LF(lf_cuda_backend_create(m, &p, &gs));
        setenv("LF_CUDA_TUNE", "0", 1);
        LF(lf_cuda_backend_create(m, &p, &gc));
        unsetenv("LF_CUDA_TUNE");
    } else {
        lf_cuda_set_stream(1);
        LF(lf_cuda_backend_create(m, &p, &gs));
        lf_cuda_set_stream(0);
        LF(lf_cuda_backend_create(m, &p, &gc));
        lf_cuda_set_stream(-1);
        const char *why = NULL;
        const int on = lf_cuda_stream_active(gs, &why);
        expect(on, "decode stream: the kernel applies to this model");
        if (!on) printf("    (not used: %s)\n", why ? why : "?");
    }
    const char *what = bulk ? "gemv-bulk chain" : "decode-stream";
    const int V = m->cfg.vocab_size, lens[2] = {37, 700}, slots[2] = {1, 3};
    int32_t *tok = xmalloc(sizeof(int32_t) * 768), *pos = xmalloc(sizeof(int32_t) * 768), *seq = xmalloc(sizeof(int32_t) * 768);
    float *lc = xmalloc(sizeof(float) * V), *ls = xmalloc(sizeof(float) * V), *lk = xmalloc(sizeof(float) * V);
    lf_batch b;
    for (int s = 0; s < 2; s++) { /* prefill (not the stream kernel: several tokens) */
        for (int i = 0; i < lens[s]; i++) { tok[i] = irand(V); pos[i] = i; seq[i] = slots[s]; }
        int32_t last = lens[s] - 1;
        memset(&b, 0, sizeof b);
        b.n = lens[s]; b.tokens = tok; b.pos = pos; b.seq = seq; b.out_rows = &last; b.n_out = 1;
        LF(cpu->ops->forward(cpu, &b, lc));
        LF(gs->ops->forward(gs, &b, ls));
        LF(gc->ops->forward(gc, &b, lk));
    }
    int agree = 0;
    for (int step = 0; step < 8; step++) {
        const int s = step & 1;
        int32_t t = irand(V), ps = lens[s] + step / 2, sq = slots[s], row = 0;
        memset(&b, 0, sizeof b);
        b.n = 1; b.tokens = &t; b.pos = &ps; b.seq = &sq; b.out_rows = &row; b.n_out = 1;
        for (int i = 0; i < V; i++) ls[i] = lk[i] = NAN;
        LF(cpu->ops->forward(cpu, &b, lc));
        LF(gs->ops->forward(gs, &b, ls));
        LF(gc->ops->forward(gc, &b, lk));
        char v[96];
        snprintf(v, sizeof v, "%s ctx %d vs cpu", name, ps + 1);
        check(what, dt, v, ls, lc, (size_t)V, bound);
        snprintf(v, sizeof v, "%s ctx %d vs chain", name, ps + 1);
        check(what, dt, v, ls, lk, (size_t)V, bound);
        agree += lf_cpu_argmax(lc, V) == lf_cpu_argmax(ls, V);
        if (bulk && step == 0) {
            const char *k[5] = {lf_cuda_linear_kernel(gs, 1, "qkv"), lf_cuda_linear_kernel(gs, 1, "o_proj"), lf_cuda_linear_kernel(gs, 1, "gate_up"),
                                lf_cuda_linear_kernel(gs, 1, "down"), lf_cuda_linear_kernel(gs, 1, "lm_head")};
            int all = 1;
            for (int i = 0; i < 5; i++) all &= k[i] && !strncmp(k[i], "bulk", 4);
            snprintf(v, sizeof v, "gemv-bulk chain %s: every linear layer of the step on it", name);
            expect(all && !strcmp(k[2], "bulk+swiglu"), v);
        }
    }
    if (bulk) { unsetenv("LF_CUDA_IMPL"); unsetenv("LF_CUDA_BULK"); }
    printf("    argmax agrees with the CPU on %d of 8 steps\n", agree);
    free(tok); free(pos); free(seq); free(lc); free(ls); free(lk);
    cpu->ops->destroy(cpu);
    gs->ops->destroy(gs);
    gc->ops->destroy(gc);
}

/* the small GQA model of the forward checks: 2 layers, width 512, 8 heads over 4 KV heads of 64 */
static lf_config forward_cfg(void) {
    lf_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_layers = 2; c.dim = 512; c.n_heads = 8; c.n_kv_heads = 4; c.head_dim = 64; c.ffn_dim = 1024; c.vocab_size = 1000;
    c.max_context = 2048; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.rope_style = LF_ROPE_NEOX; c.bos_id = 1;
    c.add_bos = 1; c.eos_ids[0] = 2; c.n_eos = 1;
    return c;
}

static void test_decode_stream(lf_dtype dt) {
    const double bound = dt == LF_DT_F16 ? 3e-3 : 2e-2; /* compare_forward's */
    lf_config c = forward_cfg();
    lf_model *m = NULL;
    LF(lf_model_create_random(&c, dt, 4321 + (uint64_t)irand(1000), &m));
    compare_decode_stream("gqa hd64 neox", m, dt, bound, 0);
    compare_decode_stream("gqa hd64 neox", m, dt, bound, 1);
    setenv("LF_CUDA_GRAPH", "0", 1);
    compare_decode_stream("gqa hd64 neox eager", m, dt, bound, 0);
    unsetenv("LF_CUDA_GRAPH");
    lf_model_free(m);
    /* head_dim 128, one KV head per query head, GGUF's interleaved RoPE, 3 layers, long FFN rows */
    c.n_layers = 3; c.dim = 1024; c.n_heads = 8; c.n_kv_heads = 8; c.head_dim = 128; c.ffn_dim = 2816; c.rope_style = LF_ROPE_INTERLEAVED;
    LF(lf_model_create_random(&c, dt, 8765 + (uint64_t)irand(1000), &m));
    compare_decode_stream("mha hd128 interleaved", m, dt, bound, 0);
    compare_decode_stream("mha hd128 interleaved", m, dt, bound, 1);
    lf_model_free(m);
    /* SmolLM2's widths: rows of 576, 9 heads (14 context splits per head on 132 SMs) */
    c.n_layers = 2; c.dim = 576; c.n_heads = 9; c.n_kv_heads = 3; c.head_dim = 64; c.ffn_dim = 1536; c.rope_style = LF_ROPE_NEOX;
    LF(lf_model_create_random(&c, dt, 2468 + (uint64_t)irand(1000), &m));
    compare_decode_stream("smollm2 widths", m, dt, bound, 0);
    compare_decode_stream("smollm2 widths", m, dt, bound, 1);
    lf_model_free(m);
}

static void test_forward(lf_dtype dt) {
    lf_config c = forward_cfg();
    lf_model *m = NULL;
    LF(lf_model_create_random(&c, dt, 1234 + (uint64_t)irand(1000), &m));
    /* observed on an H200: ~2.5e-4 (fp16), ~2e-3 (bf16); a CPU emulation of the CUDA rounding points
     * gives ~4e-4 / ~4e-3 for the hand-made model */
    const double bound = dt == LF_DT_F16 ? 3e-3 : 2e-2;
    compare_forward("random gqa", m, m, dt, bound);
    setenv("LF_CUDA_GEMV", "0", 1);
    setenv("LF_CUDA_ATTN_MMA", "0", 1);
    compare_forward("random gqa cublas+simple", m, m, dt, bound);
    unsetenv("LF_CUDA_GEMV");
    unsetenv("LF_CUDA_ATTN_MMA");
    /* decode steps replayed from CUDA graphs (the default) and run eagerly; the skinny GEMM with
     * the fused SwiGLU for every decode step (3 rows) */
    setenv("LF_CUDA_GRAPH", "0", 1);
    compare_forward("random gqa no graphs", m, m, dt, bound);
    unsetenv("LF_CUDA_GRAPH");
    setenv("LF_CUDA_GEMV", "16", 1);
    compare_forward("random gqa gemv-mma+fused swiglu", m, m, dt, bound);
    setenv("LF_CUDA_FUSE", "0", 1);
    compare_forward("random gqa gemv-mma unfused", m, m, dt, bound);
    unsetenv("LF_CUDA_FUSE");
    unsetenv("LF_CUDA_GEMV");
    lf_model_free(m);
    hand_model *hm = xmalloc(sizeof *hm);
    build_hand_model(hm);
    make_cpu_copy(hm);
    compare_forward("data mqa bias tied q8", &hm->m, &hm->mc, dt, bound);
    setenv("LF_CUDA_ATTN_MMA", "1", 1);
    compare_forward("data mqa bias tied q8 mma-v1", &hm->m, &hm->mc, dt, bound);
    unsetenv("LF_CUDA_ATTN_MMA");
    free_hand_model(hm);
    free(hm);
}

static void test_oom(void) {
    lf_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_layers = 2; c.dim = 512; c.n_heads = 8; c.n_kv_heads = 8; c.head_dim = 64; c.ffn_dim = 1024; c.vocab_size = 1000;
    c.max_context = 1 << 20; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.bos_id = -1;
    lf_model *m = NULL;
    LF(lf_model_create_random(&c, LF_DT_F16, 1, &m));
    lf_backend_params p;
    memset(&p, 0, sizeof p);
    p.max_seqs = 4096; p.max_context = 1 << 20; p.max_batch_tokens = 16; p.dtype = LF_DT_F16;
    lf_backend *b = NULL;
    lf_status s = lf_cuda_backend_create(m, &p, &b);
    printf("    OOM message: %s\n", linfer_last_error());
    expect(s == LINFER_ERR_OUT_OF_MEMORY && strstr(linfer_last_error(), "needs") && strstr(linfer_last_error(), "free"),
           "backend create: too large KV cache -> LINFER_ERR_OUT_OF_MEMORY");
    p.max_seqs = 1; p.max_context = 64; p.dtype = LF_DT_F32;
    expect(lf_cuda_backend_create(m, &p, &b) == LINFER_ERR_UNSUPPORTED, "backend create: dtype F32 -> LINFER_ERR_UNSUPPORTED");
    lf_model_free(m);
}

/* ---- benchmark: LLaMA-2-7B shape ---------------------------------------------------------- */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_d); return v[n / 2]; }

static void bench(lf_dtype dt, const char *mode) {
    lf_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_layers = 32; c.dim = 4096; c.n_heads = 32; c.n_kv_heads = 32; c.head_dim = 128; c.ffn_dim = 11008; c.vocab_size = 32000;
    c.max_context = 4096; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.bos_id = 1;
    lf_model *m = NULL;
    LF(lf_model_create_random(&c, dt, 7, &m));
    lf_backend_params p;
    memset(&p, 0, sizeof p);
    p.max_seqs = 32; p.max_context = 2304; p.max_batch_tokens = 2048; p.dtype = dt;
    lf_backend *b = NULL;
    double t0 = now_ms();
    LF(lf_cuda_backend_create(m, &p, &b));
    double t_create = now_ms() - t0;
    const int V = c.vocab_size, IN = 2048;
    int32_t *tok = xmalloc(4 * IN), *pos = xmalloc(4 * IN), *seq = xmalloc(4 * IN), out_row[32];
    float *logits = xmalloc(sizeof(float) * 32 * V);
    for (int i = 0; i < IN; i++) { tok[i] = irand(V); pos[i] = i; seq[i] = 0; }
    lf_batch pb = {IN, tok, pos, seq, out_row, 1};
    out_row[0] = IN - 1;
    double tt[5], td[64];
    for (int r = 0; r < 5; r++) { t0 = now_ms(); LF(b->ops->forward(b, &pb, logits)); tt[r] = now_ms() - t0; }
    double ttft = median(tt, 5);
    /* bs=1 decode after the 2048-token prompt */
    int32_t dtok = 5, dpos, dseq = 0, drow = 0;
    lf_batch db = {1, &dtok, &dpos, &dseq, &drow, 1};
    for (int r = 0; r < 64; r++) { dpos = IN + r; t0 = now_ms(); LF(b->ops->forward(b, &db, logits)); td[r] = now_ms() - t0; }
    double tpot = median(td + 4, 60);
    /* bs=1 decode at a short context */
    for (int r = 0; r < 64; r++) { dpos = 128 + r; t0 = now_ms(); LF(b->ops->forward(b, &db, logits)); td[r] = now_ms() - t0; }
    double tpot_short = median(td + 4, 60);
    /* bs=32 decode at context 512 */
    int32_t t32[32], p32[32], s32[32];
    for (int i = 0; i < 32; i++) { t32[i] = irand(V); s32[i] = i; out_row[i] = i; }
    lf_batch b32 = {32, t32, p32, s32, out_row, 32};
    for (int r = 0; r < 24; r++) { for (int i = 0; i < 32; i++) p32[i] = 512 + r; t0 = now_ms(); LF(b->ops->forward(b, &b32, logits)); td[r] = now_ms() - t0; }
    double tpot32 = median(td + 4, 20);
    printf("bench %s %-16s create %.0f ms | TTFT in=2048 %.2f ms | TPOT bs=1 ctx 2048 %.3f ms, ctx 128 %.3f ms | bs=32 ctx 512 %.3f ms/step\n",
           dtn(dt), mode, t_create, ttft, tpot, tpot_short, tpot32);
    /* per-op breakdown (synchronised per op, so the sum exceeds the real time) */
    b->profile = 1;
    memset(b->op_ms, 0, sizeof b->op_ms);
    dpos = IN + 100;
    for (int r = 0; r < 10; r++) LF(b->ops->forward(b, &db, logits));
    printf("  decode bs=1 per op (ms/step, synchronised):");
    for (int o = 0; o < LF_OP_COUNT; o++) if (b->op_ms[o] > 0) printf(" %s %.3f", lf_op_name((lf_op)o), b->op_ms[o] / 10);
    printf("\n");
    memset(b->op_ms, 0, sizeof b->op_ms);
    LF(b->ops->forward(b, &pb, logits));
    printf("  prefill 2048 per op (ms):");
    for (int o = 0; o < LF_OP_COUNT; o++) if (b->op_ms[o] > 0) printf(" %s %.2f", lf_op_name((lf_op)o), b->op_ms[o]);
    printf("\n");
    b->profile = 0;
    b->ops->destroy(b);
    lf_model_free(m);
    free(tok); free(pos); free(seq); free(logits);
}

/* attention kernels alone at the LLaMA-2-7B shape (32 heads x 128, one sequence) */
static void attn_bench(lf_dtype dt) {
    const int nh = 32, hd = 128, kv_dim = nh * hd, q_stride = 3 * kv_dim, IN = 2048, max_ctx = 4096;
    size_t cache_n = (size_t)max_ctx * kv_dim;
    float *hK = frand_array(cache_n, 1.0f), *hq = frand_array((size_t)IN * q_stride, 1.0f);
    round_array(dt, hK, cache_n);
    round_array(dt, hq, (size_t)IN * q_stride);
    void *dK = dput_T(dt, hK, cache_n), *dV = dput_T(dt, hK, cache_n), *dq = dput_T(dt, hq, (size_t)IN * q_stride);
    void *dout = dalloc((size_t)IN * kv_dim * 2);
    int32_t *pos = xmalloc(4 * IN), *seq = xmalloc(4 * IN);
    for (int i = 0; i < IN; i++) { pos[i] = i; seq[i] = 0; }
    lf_attn_tile tiles[2][IN / 64]; /* [0]: 64-row tiles (impls 1, 2), [1]: 128-row tiles (impl 3) */
    for (int t = 0; t < IN / 64; t++) { lf_attn_tile x = {t * 64, 64, 0, t * 64}; tiles[0][t] = x; }
    for (int t = 0; t < IN / 128; t++) { lf_attn_tile x = {t * 128, 128, 0, t * 128}; tiles[1][t] = x; }
    int32_t *dpos = dput(pos, 4 * IN), *dseq = dput(seq, 4 * IN);
    void *dtiles[2] = {dput(tiles[0], sizeof tiles[0]), dput(tiles[1], sizeof tiles[1])};
    float *scr = dalloc(LF_ATTN_SPLIT_SCRATCH);
    const float scale = 1.0f / sqrtf((float)hd);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    const double flop = 4.0 * IN * (IN + 1) / 2.0 * hd * nh;
    for (int impl = 1; impl <= 3; impl++) {
        const int w = lf_cuda_attention_tile_rows(impl) == 128, ntl = IN / lf_cuda_attention_tile_rows(impl);
        LF(lf_cuda_attention_tiles(dt, dout, kv_dim, dq, q_stride, dK, dV, max_ctx, dtiles[w], ntl, nh, nh, hd, scale, impl, 0));
        CK(cudaEventRecord(e0, 0));
        for (int r = 0; r < 20; r++)
            LF(lf_cuda_attention_tiles(dt, dout, kv_dim, dq, q_stride, dK, dV, max_ctx, dtiles[w], ntl, nh, nh, hd, scale, impl, 0));
        CK(cudaEventRecord(e1, 0));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        printf("attn-bench %s prefill 2048 causal, 32 heads x 128: mma v%d %.3f ms/layer (%.0f TFLOP/s)\n", dtn(dt), impl, ms / 20,
               flop / (ms / 20 * 1e-3) / 1e12);
    }
    /* one decode token at contexts 160 and 2048: one block per head, split-K; simple and decode kernels */
    CK(cudaMemset(scr, 0, LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned)));
    const int ctxs[2] = {160, IN};
    for (int ci = 0; ci < 2; ci++)
        for (int dec = 0; dec <= 1; dec++)
            for (int split = 0; split <= 1; split++) {
                const int C = ctxs[ci];
                int32_t last = C - 1, *dlast = dput(&last, 4);
                lf_cuda_set_attn_decode(dec);
                LF(lf_cuda_attention(dt, dout, kv_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, dlast, 1, nh, nh, hd, scale, C,
                                     split ? scr : NULL, LF_ATTN_SPLIT_SCRATCH, 0));
                CK(cudaEventRecord(e0, 0));
                for (int r = 0; r < 50; r++)
                    LF(lf_cuda_attention(dt, dout, kv_dim, dq, q_stride, dK, dV, max_ctx, dpos, dseq, dlast, 1, nh, nh, hd, scale,
                                         C, split ? scr : NULL, LF_ATTN_SPLIT_SCRATCH, 0));
                CK(cudaEventRecord(e1, 0));
                CK(cudaEventSynchronize(e1));
                float ms;
                CK(cudaEventElapsedTime(&ms, e0, e1));
                printf("attn-bench %s decode 1 token ctx %d, 32 heads: %s, %s kernel %.1f us/layer (%.0f GB/s of K+V)\n", dtn(dt),
                       C, split ? "split-K" : "one block per head", dec ? "decode" : "simple", ms / 50 * 1e3,
                       2.0 * C * kv_dim * 2 / (ms / 50 * 1e-3) / 1e9);
                cudaFree(dlast);
            }
    lf_cuda_set_attn_decode(1);
    cudaEventDestroy(e0); cudaEventDestroy(e1);
    free(hK); free(hq); free(pos); free(seq);
    cudaFree(dK); cudaFree(dV); cudaFree(dq); cudaFree(dout); cudaFree(dpos); cudaFree(dseq); cudaFree(dtiles[0]); cudaFree(dtiles[1]); cudaFree(scr);
}

/* which feature of the hand-made model makes the CUDA backend differ from the CPU backend */
static void bisect(void) {
    static const struct { const char *name; int flags; int random; int short_lens; } v[] = {
        {"hand base", 0, 0, 0}, {"hand short prompts (70)", 0, 0, 1}, {"hand no bias", HM_NO_BIAS, 0, 0},
        {"hand neox", HM_NEOX, 0, 0}, {"hand no llama3", HM_NO_LLAMA3, 0, 0}, {"hand kv4 (MHA)", HM_KV4, 0, 0},
        {"hand untied", HM_UNTIED, 0, 0}, {"hand all F16 data", HM_ALL_F16, 0, 0},
        {"hand all-off", HM_NO_BIAS | HM_NEOX | HM_NO_LLAMA3 | HM_KV4 | HM_UNTIED | HM_ALL_F16, 0, 0},
        {"random hand-config", 0, 1, 0}, {"random hand-config no llama3", HM_NO_LLAMA3, 1, 0},
        {"random hand-config no bias", HM_NO_BIAS, 1, 0}, {"random hand-config neox", HM_NEOX, 1, 0},
        {"random hand-config kv4", HM_KV4, 1, 0}, {"random hand-config untied", HM_UNTIED, 1, 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        g_lens[2] = v[i].short_lens ? 70 : 150;
        char name[96];
        snprintf(name, sizeof name, "BISECT %s", v[i].name);
        if (v[i].random) {
            lf_config c;
            hand_config(&c, v[i].flags);
            lf_model *m = NULL;
            LF(lf_model_create_random(&c, LF_DT_F16, 99, &m));
            compare_forward(name, m, m, LF_DT_F16, 3e-3);
            lf_model_free(m);
        } else {
            hand_model *hm = xmalloc(sizeof *hm);
            build_hand_model_f(hm, v[i].flags);
            make_cpu_copy(hm);
            compare_forward(name, &hm->m, &hm->mc, LF_DT_F16, 3e-3);
            free_hand_model(hm);
            free(hm);
        }
    }
    g_lens[2] = 150;
}

int main(int argc, char **argv) {
    int do_bench = 0, do_attn_bench = 0, do_bisect = 0, do_sample_bench = 0, do_sample_only = 0, do_stream_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) g_quick = 1;
        else if (!strcmp(argv[i], "--bench")) do_bench = 1;
        else if (!strcmp(argv[i], "--attn-bench")) do_attn_bench = 1;
        else if (!strcmp(argv[i], "--sample-bench")) do_sample_bench = 1;
        else if (!strcmp(argv[i], "--sample")) do_sample_only = 1;
        else if (!strcmp(argv[i], "--bisect")) do_bisect = 1;
        else if (!strcmp(argv[i], "--stream")) do_stream_only = 1;
        else { fprintf(stderr, "usage: %s [--quick] [--bench] [--attn-bench] [--sample-bench] [--sample] [--stream]\n", argv[0]); return 2; }
    }
    const char *es = getenv("LF_TEST_SEED");
    g_rng = es && *es ? strtoull(es, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    printf("test_cuda_kernels: seed %llu (LF_TEST_SEED to repeat)\n", (unsigned long long)g_rng);
    if (!do_bench && !do_attn_bench && !do_bisect && !do_sample_bench && !do_sample_only && !do_stream_only) test_rope_angle_host();

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        lf_config c = small_cfg(8, 4, 64, LF_ROPE_NEOX, LF_ROPE_SCALING_NONE);
        c.n_layers = 1;
        lf_model *m = NULL;
        LF(lf_model_create_random(&c, LF_DT_F16, 1, &m));
        lf_backend_params p;
        memset(&p, 0, sizeof p);
        p.max_seqs = 1; p.max_context = 16; p.max_batch_tokens = 4; p.dtype = LF_DT_F16;
        lf_backend *b = NULL;
        double t0 = now_ms();
        lf_status s = lf_cuda_backend_create(m, &p, &b);
        double dt_ms = now_ms() - t0;
        printf("no GPU: lf_cuda_backend_create -> %s: %s (%.1f ms)\n", linfer_status_name(s), linfer_last_error(), dt_ms);
        lf_model_free(m);
        int ok = s == LINFER_ERR_DEVICE && strstr(linfer_last_error(), "no CUDA device") && !b;
        const char *req = getenv("LF_REQUIRE_GPU");
        if (!ok) { printf("FAIL: expected LINFER_ERR_DEVICE \"no CUDA device\"\n"); return 1; }
        if (req && atoi(req)) { printf("FAIL: LF_REQUIRE_GPU set but no GPU\n"); return 1; }
        if (g_failed) { printf("FAIL: host-side checks\n"); return 1; }
        printf("SKIP: no CUDA device (the clean error path and the host-side checks passed)\n");
        return 0;
    }
    struct cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    printf("device: %s, sm_%d%d, %d SMs, %.1f GiB; driver API %d, runtime %d; %s\n", prop.name, prop.major, prop.minor,
           prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, drv, rt, date);

    if (do_bisect) {
        bisect();
        return 0;
    }
    if (do_stream_only) { /* the persistent decode kernel's checks alone */
        test_decode_stream(LF_DT_F16);
        test_decode_stream(LF_DT_BF16);
        printf("%d checks, %d failed\n", g_checks, g_failed);
        return g_failed ? 1 : 0;
    }
    if (do_sample_only) { /* the sampler's checks alone (compute-sanitizer runs them with --quick) */
        test_sample_all();
        printf("%d checks, %d failed\n", g_checks, g_failed);
        return g_failed ? 1 : 0;
    }
    if (do_sample_bench) {
        const int rows[] = {1, 8, 32}, vocabs[] = {32000, 128256};
        for (int v = 0; v < 2; v++)
            for (int r = 0; r < 3; r++) bench_sample(rows[r], vocabs[v]);
        return 0;
    }
    if (do_attn_bench) {
        attn_bench(LF_DT_F16);
        attn_bench(LF_DT_BF16);
        return 0;
    }
    if (do_bench) {
        bench(LF_DT_F16, "default");
        setenv("LF_CUDA_ATTN_MMA", "1", 1);
        bench(LF_DT_F16, "mma-v1");
        unsetenv("LF_CUDA_ATTN_MMA");
        setenv("LF_CUDA_GEMV", "0", 1);
        bench(LF_DT_F16, "cublas-gemv");
        unsetenv("LF_CUDA_GEMV");
        bench(LF_DT_BF16, "default");
        return 0;
    }

    cublasHandle_t hdl;
    if (cublasCreate(&hdl) != CUBLAS_STATUS_SUCCESS) { fprintf(stderr, "cublasCreate failed\n"); return 1; }
    const lf_dtype dts[2] = {LF_DT_F16, LF_DT_BF16};
    for (int d = 0; d < 2; d++) {
        lf_dtype dt = dts[d];
        test_embed(dt);
        test_rmsnorm(dt, 7, 4096, 0);
        test_rmsnorm(dt, 5, 333, 1);
        test_linear(hdl, dt, 1, 1000, 512, 0, 0, 8);
        test_linear(hdl, dt, 1, 1000, 512, 1, 1, 8);
        test_linear(hdl, dt, 3, 515, 4096, 1, 1, 8);
        test_linear(hdl, dt, 8, 700, 1032, 0, 0, 8);
        test_linear(hdl, dt, 1, 1000, 512, 0, 0, 0);
        test_linear(hdl, dt, 37, 1000, 512, 0, 0, 8);
        test_linear(hdl, dt, 37, 1000, 512, 1, 1, 8);
        if (!g_quick) test_linear(hdl, dt, 300, 2048, 1024, 1, 0, 8);
        test_linear(hdl, dt, 2, 64, 100, 0, 0, 8); /* K % 8 != 0: cuBLAS */
        test_linear(hdl, dt, 13, 1000, 512, 1, 1, 16); /* M 9..16: skinny GEMM, two token tiles */
        test_linear(hdl, dt, 5, 1000, 520, 1, 1, 16);  /* K % 32 != 0: FFMA GEMV */
        {
            const int vm[] = {1, 2, 3, 7, 8, 9, 16};
            for (size_t i = 0; i < sizeof vm / sizeof vm[0]; i++) test_linear_variants(hdl, dt, vm[i], 1000, 1056, i & 1);
            if (!g_quick) test_linear_variants(hdl, dt, 4, 4099, 4096, 1); /* N % 16 != 0 */
            test_linear_variants(hdl, dt, 1, 300, 4128, 0); /* K8 = 516: the FFMA GEMV's 8-load rounds and its tail */
            test_linear_lt(dt, 32, 1000, 1056);
            test_linear_lt(dt, 24, 520, 2048);
            test_linear_variants(hdl, dt, 6, 260, 2336, 1);
            lf_cuda_set_gemv_balanced(0); /* the round-robin K pieces kept for comparison */
            test_linear_variants(hdl, dt, 3, 1000, 1056, 1);
            lf_cuda_set_gemv_balanced(1);
            test_linear_invariant(dt, 11, 300, 1536);   /* 24 vectors per piece: lanes 24..31 idle */
            if (!g_quick) test_linear_invariant(dt, 37, 1000, 5120);
            test_gate_up_swiglu(dt, 1, 1000, 512, 0);
            test_gate_up_swiglu(dt, 5, 1004, 544, 4); /* ffn % 8 != 0 */
            test_gate_up_swiglu(dt, 8, 1003, 1056, 0); /* odd ffn; K8 = 132: a 4-load round and a tail */
            test_gate_up_swiglu(dt, 3, 700, 4224, 0);  /* K8 = 528: two 8-load rounds and a tail */
            test_gate_up_swiglu(dt, 16, 256, 1024, 8);
            test_gemv_bulk(dt, 50, 512);      /* fewer rows than SMs */
            test_gemv_bulk(dt, 1000, 4096);   /* 2 rows a slot, the ring reused */
            test_gemv_bulk(dt, 2000, 11008);  /* a row a slot (21.5 KiB) */
            if (!g_quick) test_gemv_bulk(dt, 300, 24576); /* a row of 48 KiB: two slots */
            test_gemv_bulk_refusals(dt);
        }
        test_swiglu(dt, 5, 1000);
        test_swiglu(dt, 3, 999); /* odd: one element per thread */
        test_rope(dt, 8, 2, 64, LF_ROPE_NEOX, 0, LF_ROPE_SCALING_NONE);
        test_rope(dt, 8, 2, 64, LF_ROPE_INTERLEAVED, 1, LF_ROPE_SCALING_NONE);
        test_rope(dt, 4, 4, 128, LF_ROPE_NEOX, 1, LF_ROPE_SCALING_LLAMA3);
        test_rope(dt, 4, 2, 128, LF_ROPE_NEOX, 0, LF_ROPE_SCALING_LLAMA3); /* no bias: the 16-byte kernel */
        test_rope(dt, 2, 1, 256, LF_ROPE_NEOX, 0, LF_ROPE_SCALING_NONE);
        for (int dec = 0; dec <= 1; dec++) { /* the simple kernel, then the decode kernel where it applies */
            lf_cuda_set_attn_decode(dec);
            test_attention(dt, 8, 2, 64, 0);
            test_attention(dt, 4, 4, 128, 0);
            test_attention(dt, 4, 2, 256, 0);
        }
        lf_cuda_set_attn_decode(1);
        for (int rep = 0; rep < 2; rep++) { /* two data sets per run */
            test_attention_rope(dt, 8, 2, 64, LF_ROPE_NEOX, 0);
            test_attention_rope(dt, 4, 4, 128, LF_ROPE_NEOX, 1);
            test_attention_rope(dt, 4, 2, 128, LF_ROPE_INTERLEAVED, 0);
            test_attention_rope(dt, 2, 1, 256, LF_ROPE_NEOX, 1);
            test_attention_rope(dt, 4, 2, 128, LF_ROPE_NEOX, 0);   /* the 16-byte RoPE kernel against the fused one */
        }
        /* splits of the decode kernel's chunk: 64 positions at head_dim 64 and 128, 32 at 256 */
        test_attention_cluster(dt, 32, 32, 128, 320);   /* 5 splits */
        test_attention_cluster(dt, 32, 8, 128, 512);    /* 8 */
        test_attention_cluster(dt, 8, 2, 64, 448);      /* 7 */
        test_attention_cluster(dt, 4, 4, 256, 100);     /* 4 */
        /* the tensor-core GQA decode kernel (default for n_heads / n_kv_heads >= 2, so the calls
         * above with 8/2, 4/2 and 32/8 ran it) also on multi-head shapes (mode 2), an 8- and a
         * 7-head group, more than 8 (back to attn_decode_kernel), with 4 and 8 warps per block and
         * the split capped at 8 (cluster merges) or 64 (global), and the calls above again with it
         * off (mode 0: attn_decode_kernel for every shape) */
        for (int cfg = 0; cfg < 4; cfg++) {   /* warps by the launch; 4 warps; 8 warps, at most 8 splits; off */
            const int mode = cfg < 3 ? 2 : 0;
            lf_cuda_set_attn_gqa(mode);
            lf_cuda_set_attn_gqa_warps(cfg == 1 ? 4 : cfg == 2 ? 8 : 0);
            lf_cuda_set_attn_gqa_max_splits(cfg == 2 ? 8 : 64);
            g_attn_tag = cfg == 0 ? "gqa-all " : cfg == 1 ? "gqa-all w4 " : cfg == 2 ? "gqa-all w8 s8 " : "gqa-off ";
            test_attention(dt, 4, 4, 128, 0);
            test_attention(dt, 16, 2, 128, 0);
            test_attention(dt, 14, 2, 64, 0);
            test_attention(dt, 32, 2, 128, 0);   /* 16 per group: never the GQA kernel */
            test_attention(dt, 8, 2, 64, 0);
            test_attention_rope(dt, 4, 4, 128, LF_ROPE_NEOX, 1);
            test_attention_rope(dt, 16, 2, 128, LF_ROPE_NEOX, 1);
            test_attention_rope(dt, 8, 2, 64, LF_ROPE_INTERLEAVED, 0);
            test_attention_cluster(dt, 32, 32, 128, 320);
            test_attention_cluster(dt, 64, 8, 128, 512);
        }
        lf_cuda_set_attn_gqa(-1);
        lf_cuda_set_attn_gqa_warps(0);
        lf_cuda_set_attn_gqa_max_splits(0);
        g_attn_tag = "";
        if (!g_quick) test_attention(dt, 32, 8, 128, 1);
        test_attention(dt, 8, 1, 32, 0);
        test_attention(dt, 6, 3, 80, 0); /* simple kernel only */
        test_attention(dt, 4, 2, 18, 0); /* head_dim % 8 != 0: 2-element loads */
        if (!g_quick) test_attention(dt, 8, 2, 128, 1);
        test_convert(dt);
        test_fill_random(dt);
        test_forward(dt);
        test_decode_stream(dt);
    }
    test_argmax(33, 32000);
    test_argmax(3, 128256);
    test_argmax(5, 100);
    test_argmax(4, 1001); /* rows not 16-byte aligned: the scalar path */
    test_sample_all();
    test_oom();
    cublasDestroy(hdl);

    printf("\nsummary (kernel, dtype: worst max_abs / worst rel_l2 over its cases)\n");
    for (int i = 0; i < g_nres; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(g_res[j].name, g_res[i].name) && g_res[j].dt == g_res[i].dt;
        if (seen) continue;
        double mx = 0, rl = 0;
        int ok = 1, cnt = 0;
        for (int j = i; j < g_nres; j++)
            if (!strcmp(g_res[j].name, g_res[i].name) && g_res[j].dt == g_res[i].dt) {
                if (g_res[j].max_abs > mx) mx = g_res[j].max_abs;
                if (g_res[j].rel_l2 > rl) rl = g_res[j].rel_l2;
                ok &= g_res[j].ok; cnt++;
            }
        printf("  %-12s %-5s %2d cases  max_abs %.3e  rel_l2 %.3e  %s\n", g_res[i].name, g_res[i].dt, cnt, mx, rl, ok ? "ok" : "FAIL");
    }
    printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}
