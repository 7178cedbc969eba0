// linear_choice.cu — which kernel computes each linear layer of the CUDA backend, chosen by
// timing on the model's own weights the first time a batch size runs: for 1..16 rows (five
// buckets) the FFMA GEMV, the tensor-core skinny GEMM in its forms, the fused gate/up + SwiGLU and
// cuBLAS (tune_bucket); for 17..LT_ROWS_MAX rows cublasGemmEx against cuBLASLt's algorithms
// (tune_lt); above, cuBLAS. `lin` runs a layer with the choice. The whole-step check of the
// choice (tune_step) stays in backend.cu beside the graphs it replays. See docs/cuda.md.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend_internal.h"

const char *const impl_name[IMPL_COUNT] = {"cublas", "mma4", "mma8", "ffma", "mma+swiglu", "mma16",
                                           "mma4/rr", "mma8/rr", "mma16/rr", "ffma8", "ffma+swiglu", "ffma8+swiglu", "lt", "bulk",
                                           "bulk+swiglu"};
const char *const lin_name[LIN_COUNT] = {"qkv", "o_proj", "gate_up", "down", "lm_head"};
const int lin_out_f32[LIN_COUNT] = {0, 1, 0, 1, 1};
const int tune_rows[TUNE_BUCKETS] = {1, 2, 4, 8, 16};

int tune_bucket_of(int M) {
    for (int i = 0; i < TUNE_BUCKETS; i++) if (M <= tune_rows[i]) return i;
    return -1;
}

/* one candidate implementation of linear layer `which` (out fp32 with beta, or T when !y_f32;
 * IMPL_MMA_SWIGLU, IMPL_FFMA_SWIGLU: act (T) from the fused gate/up weight) */
lf_status lin_impl(cu_backend *b, int impl, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N,
                   int K) {
    switch (impl) {
    case IMPL_MMA4: case IMPL_MMA8: case IMPL_MMA16: case IMPL_MMA4_RR: case IMPL_MMA8_RR: case IMPL_MMA16_RR: {
        const int warps = impl == IMPL_MMA4 || impl == IMPL_MMA4_RR ? 4 : impl == IMPL_MMA8 || impl == IMPL_MMA8_RR ? 8 : 16;
        const int balanced = impl == IMPL_MMA4 || impl == IMPL_MMA8 || impl == IMPL_MMA16;
        return lf_cuda_gemv_mma_ex(b->dt, x, W, y, y_f32, beta, M, N, K, warps, balanced, b->st);
    }
    case IMPL_FFMA: case IMPL_FFMA8:
        return lf_cuda_gemv_ffma_ex(b->dt, x, W, y, y_f32, beta, M, N, K, impl == IMPL_FFMA8 ? 8 : 4, b->st);
    case IMPL_MMA_SWIGLU: return lf_cuda_gate_up_swiglu(b->dt, x, W, y, M, N / 2, K, 0, b->st);
    case IMPL_FFMA_SWIGLU: case IMPL_FFMA8_SWIGLU:
        return lf_cuda_gemv_swiglu(b->dt, x, W, y, M, N / 2, K, impl == IMPL_FFMA8_SWIGLU ? 8 : 4, b->st);
    case IMPL_LT: return lf_cuda_lt_run(b->lt_cur, b->lt_cur_algo, x, W, y, beta, b->cublas_ws, CUBLAS_WS_BYTES, b->st);
    case IMPL_BULK: case IMPL_BULK_SWIGLU: {
        unsigned *ctr = b->bulk_ctr + 2 * (b->bulk_ctr_next++ % LF_BULK_CTRS);
        if (impl == IMPL_BULK) return lf_cuda_gemv_bulk(b->dt, x, W, y, y_f32, beta, N, K, ctr, b->st);
        return lf_cuda_gemv_bulk_swiglu(b->dt, x, W, y, N / 2, K, ctr, b->st);
    }
    default: return lf_cuda_gemm_cublas(b->cublas, b->dt, x, W, y, y_f32, beta, M, N, K, b->st);
    }
}

static int impl_applies(const cu_backend *b, int impl, int which, int M, int K) {
    switch (impl) {
    case IMPL_MMA4: case IMPL_MMA8: case IMPL_MMA16: return lf_cuda_gemv_mma_supported(M, K);
    case IMPL_MMA4_RR: case IMPL_MMA8_RR: case IMPL_MMA16_RR: return b->gemv_rr && lf_cuda_gemv_mma_supported(M, K);
    case IMPL_FFMA: case IMPL_FFMA8: return M <= LF_CUDA_GEMV_MAX_M && K % 8 == 0;
    case IMPL_MMA_SWIGLU: return which == LIN_GU && b->fuse_swiglu && lf_cuda_gemv_mma_supported(M, K);
    case IMPL_FFMA_SWIGLU: case IMPL_FFMA8_SWIGLU: return which == LIN_GU && b->fuse_swiglu && M <= LF_CUDA_GEMV_MAX_M && K % 8 == 0;
    case IMPL_LT: return 0; /* per exact row count above the buckets (tune_lt) */
    case IMPL_BULK: return b->bulk_on && lf_cuda_gemv_bulk_supported(M, K);
    case IMPL_BULK_SWIGLU: return which == LIN_GU && b->fuse_swiglu && b->bulk_on && lf_cuda_gemv_bulk_supported(M, 2 * K);
    default: return 1;
    }
}

static void lin_shape(const cu_backend *b, int which, int *N, int *K) {
    switch (which) {
    case LIN_QKV: *N = b->qkv_dim; *K = b->dim; break;
    case LIN_O: *N = b->dim; *K = b->q_dim; break;
    case LIN_GU: *N = 2 * b->ffn; *K = b->dim; break;
    case LIN_DOWN: *N = b->dim; *K = b->ffn; break;
    default: *N = b->vsplit ? b->vloc : b->vocab; *K = b->dim; break;
    }
}

/* The candidates' runs for one timing: `runs` times over the first nlay layers' weights of linear
 * layer w (one call for lm_head), outputs to scratch; unfused gate/up adds its SwiGLU kernel. */
static lf_status tune_runs(cu_backend *b, int impl, int w, int M, int N, int K, const void *x, int nlay, int runs) {
    lf_status s = LINFER_OK;
    for (int r = 0; r < runs && s == LINFER_OK; r++)
        for (int l = 0; l < (w == LIN_HEAD ? 1 : nlay) && s == LINFER_OK; l++) {
            const cu_layer *L = &b->layers[l];
            const void *W = w == LIN_QKV ? L->wqkv : w == LIN_O ? L->wo : w == LIN_GU ? L->wgu : w == LIN_DOWN ? L->wdown : b->lm_head;
            if (impl_is_swiglu(impl)) {
                s = lin_impl(b, impl, x, W, b->act == x ? b->gu : b->act, 0, 0.f, M, N, K);
            } else {   /* into scratch: fp32, or an Lt plan's own output type (lin_out_f32) */
                s = lin_impl(b, impl, x, W, b->logits, impl == IMPL_LT ? lin_out_f32[w] : 1, 0.f, M, N, K);
                if (s == LINFER_OK && w == LIN_GU) s = lf_cuda_swiglu(b->dt, b->act, b->gu, M, b->ffn, b->st);
            }
        }
    return s;
}

/* Microseconds per call of candidate impl for linear layer w, launched eagerly: a warm-up run,
 * then `reps` runs between two events. (Timing it from a CUDA graph instead chose cuBLAS more
 * often and made the step slower: docs/perf-notes.md, session 16.) */
static lf_status tune_time(cu_backend *b, int impl, int w, int M, int N, int K, cudaEvent_t e0, cudaEvent_t e1, float *us) {
    /* the layer's input in the step's scratch; 8 layers' weights in turn (HBM, not L2), 3 runs */
    const void *x = w == LIN_O ? b->attn : w == LIN_DOWN ? b->act : b->xn;
    const int nlay = b->nl < 8 ? b->nl : 8, reps = 3;
    float ms = 0.f;
    lf_status s = LINFER_OK;
    for (int pass = 0; pass < 2 && s == LINFER_OK; pass++) { /* pass 0 warms up */
        cudaError_t ce = cudaEventRecord(e0, b->st);
        if (ce == cudaSuccess) s = tune_runs(b, impl, w, M, N, K, x, nlay, pass ? reps : 1);
        if (ce == cudaSuccess && s == LINFER_OK) ce = cudaEventRecord(e1, b->st);
        if (ce == cudaSuccess && s == LINFER_OK) ce = cudaEventSynchronize(e1);
        if (ce == cudaSuccess && s == LINFER_OK) ce = cudaEventElapsedTime(&ms, e0, e1);
        if (ce != cudaSuccess && s == LINFER_OK) s = lf_fail(LINFER_ERR_DEVICE, "CUDA events while tuning the linear layers: %s", cudaGetErrorString(ce));
    }
    *us = 1e3f * ms / (float)(reps * (w == LIN_HEAD ? 1 : nlay));
    return s;
}

/* LF_CUDA_IMPL="layer:impl,..." (e.g. "down:ffma,qkv:cublas"): the timing's choice replaced for
 * those layers, where the kernel applies — for experiments that compare whole steps. */
static void tune_override(cu_backend *b, int bi, int M) {
    const char *e = getenv("LF_CUDA_IMPL");
    while (e && *e) {
        const char *colon = strchr(e, ':'), *end = strchr(e, ',');
        if (!end) end = e + strlen(e);
        if (colon && colon < end) {
            for (int w = 0; w < LIN_COUNT; w++) {
                if (strlen(lin_name[w]) != (size_t)(colon - e) || strncmp(e, lin_name[w], (size_t)(colon - e))) continue;
                int N, K;
                lin_shape(b, w, &N, &K);
                for (int impl = 0; impl < IMPL_COUNT; impl++) {
                    if (strlen(impl_name[impl]) == (size_t)(end - colon - 1) && !strncmp(colon + 1, impl_name[impl], (size_t)(end - colon - 1)) &&
                        impl_applies(b, impl, w, M, K))
                        b->impl[bi][w] = (signed char)impl;
                }
            }
        }
        e = *end ? end + 1 : end;
    }
}

/* 1 when the linear layers can be timed at M rows: the inputs (max_tokens rows) and the outputs of
 * every layer, written as fp32 into the logits buffer (the scratch of tune_runs), fit. */
static int tune_fits(const cu_backend *b, int M) {
    if (M > b->max_tokens) return 0;
    size_t need_f32 = 0;
    for (int w = 0; w < LIN_COUNT; w++) {
        int N, K;
        lin_shape(b, w, &N, &K);
        if ((size_t)M * N > need_f32) need_f32 = (size_t)M * N;
    }
    return need_f32 <= (size_t)b->logit_rows * b->vocab;
}

/* The two events of a timing (tune_time), both made or neither. */
static lf_status tune_events(cudaEvent_t *e0, cudaEvent_t *e1) {
    CUDA_CHECK(cudaEventCreate(e0));
    cudaError_t ce = cudaEventCreate(e1);
    if (ce != cudaSuccess) { cudaEventDestroy(*e0); return lf_fail(LINFER_ERR_DEVICE, "cudaEventCreate: %s", cudaGetErrorString(ce)); }
    return LINFER_OK;
}

/* Time every candidate of every linear layer at tune_rows[bi] rows on the model's weights
 * (several layers in turn, so that they come from HBM as in a real step), outputs to scratch;
 * keep the fastest. The unfused gate/up candidates are charged the separate SwiGLU kernel. */
lf_status tune_bucket(cu_backend *b, int bi) {
    const int M = tune_rows[bi];
    b->tuned[bi] = 1;
    for (int w = 0; w < LIN_COUNT; w++) b->impl[bi][w] = IMPL_CUBLAS;
    if (!tune_fits(b, M)) return LINFER_OK; /* no scratch for it: cuBLAS */
    cudaEvent_t e0 = NULL, e1 = NULL;
    LF_TRY(tune_events(&e0, &e1));
    lf_status s = LINFER_OK;
    for (int w = 0; w < LIN_COUNT && s == LINFER_OK; w++) {
        if (w == LIN_HEAD && !b->lm_head) continue; /* a pipeline stage without the head */
        int N, K;
        lin_shape(b, w, &N, &K);
        float best = 1e30f;
        for (int impl = 0; impl < IMPL_COUNT && s == LINFER_OK; impl++) {
            b->impl_us[bi][w][impl] = 0.f;
            if (!impl_applies(b, impl, w, M, K)) continue;
            float us = 0.f;
            s = tune_time(b, impl, w, M, N, K, e0, e1, &us);
            if (s != LINFER_OK) break;
            b->impl_us[bi][w][impl] = us;
            if (us < best) { best = us; b->impl[bi][w] = (signed char)impl; }
        }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (s == LINFER_OK) tune_override(b, bi, M);
    if (s == LINFER_OK && getenv("LF_CUDA_TUNE_VERBOSE")) {
        fprintf(stderr, "linfer: CUDA linear layers at %d row%s (us per call):", M, M == 1 ? "" : "s");
        for (int w = 0; w < LIN_COUNT; w++) {
            fprintf(stderr, "\n  %-8s ->%-10s", lin_name[w], impl_name[(int)b->impl[bi][w]]);
            for (int impl = 0; impl < IMPL_COUNT; impl++)
                if (b->impl_us[bi][w][impl] > 0) fprintf(stderr, " %s %.1f", impl_name[impl], b->impl_us[bi][w][impl]);
        }
        fprintf(stderr, "\n");
    }
    return s;
}

/* Steps of M rows, 17 <= M <= LT_ROWS_MAX: for every linear layer, cublasGemmEx against each
 * algorithm cuBLASLt's heuristic offers (up to LF_LT_MAX_ALGOS, gemm_lt.cu), timed as tune_bucket
 * times its candidates; the plan of the fastest Lt algorithm is kept where it beats GemmEx. */
lf_status tune_lt(cu_backend *b, int M) {
    b->lt_tuned[M] = 1;
    if (!tune_fits(b, M)) return LINFER_OK; /* no scratch for it: cublasGemmEx */
    cudaEvent_t e0 = NULL, e1 = NULL;
    LF_TRY(tune_events(&e0, &e1));
    lf_status s = LINFER_OK;
    float us_gemmex[LIN_COUNT] = {0}, us_lt[LIN_COUNT] = {0};
    int n_algos[LIN_COUNT] = {0};
    for (int w = 0; w < LIN_COUNT && s == LINFER_OK; w++) {
        if (w == LIN_HEAD && !b->lm_head) continue;
        int N, K;
        lin_shape(b, w, &N, &K);
        s = tune_time(b, IMPL_CUBLAS, w, M, N, K, e0, e1, &us_gemmex[w]);
        lf_lt_plan *plan = NULL;
        if (s != LINFER_OK || lf_cuda_lt_plan_create(b->dt, lin_out_f32[w], M, N, K, CUBLAS_WS_BYTES, &plan) != LINFER_OK) continue;
        float best = us_gemmex[w];
        int best_a = -1;
        n_algos[w] = lf_cuda_lt_plan_algos(plan);
        b->lt_cur = plan;
        for (int a = 0; a < n_algos[w] && s == LINFER_OK; a++) {
            float us = 0.f;
            b->lt_cur_algo = a;
            s = tune_time(b, IMPL_LT, w, M, N, K, e0, e1, &us);
            if (s == LINFER_OK && us < best) { best = us; best_a = a; }
        }
        b->lt_cur = NULL;
        us_lt[w] = best;
        if (s == LINFER_OK && best_a >= 0) {
            b->lt_plan[M][w] = plan;
            b->lt_algo[M][w] = (signed char)best_a;
        } else {
            lf_cuda_lt_plan_destroy(plan);
        }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (s == LINFER_OK && getenv("LF_CUDA_TUNE_VERBOSE")) {
        fprintf(stderr, "linfer: CUDA linear layers at %d rows (us per call): cublasGemmEx against the best of cuBLASLt's algorithms", M);
        for (int w = 0; w < LIN_COUNT; w++)
            if (us_gemmex[w] > 0)
                fprintf(stderr, "\n  %-8s ->%-8s cublas %.1f lt %.1f (algorithm %d of %d)", lin_name[w], b->lt_plan[M][w] ? "lt" : "cublas",
                        us_gemmex[w], us_lt[w], b->lt_plan[M][w] ? b->lt_algo[M][w] : -1, n_algos[w]);
        fprintf(stderr, "\n");
    }
    return s;
}

/* linear layer `which` of a step of M rows: the tuned choice for small batches, else
 * lf_cuda_linear (own GEMV up to gemv_max_m rows, then cuBLAS) */
lf_status lin(cu_backend *b, int which, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K) {
    if (b->invariant) /* row-split layers: this rank's pieces of the K split the one-GPU step uses */
        return lf_cuda_gemv_invariant(b->dt, x, W, y, y_f32, beta, M, N, K, which == LIN_O || which == LIN_DOWN ? LF_INV_CHUNKS / b->tp : 1,
                                      b->st);
    if (M > LF_CUDA_GEMV_MMA_MAX_M && M <= LT_ROWS_MAX && b->lt_plan[M][which] && y_f32 == lin_out_f32[which]) {
        int N0, K0;   /* the plan was made for the layer's shape (lin_shape) and its output type */
        lin_shape(b, which, &N0, &K0);
        if (N == N0 && K == K0)
            return lf_cuda_lt_run(b->lt_plan[M][which], b->lt_algo[M][which], x, W, y, beta, b->cublas_ws, CUBLAS_WS_BYTES, b->st);
    }
    const int bi = b->tune_on ? tune_bucket_of(M) : -1;
    if (bi >= 0 && b->tuned[bi]) {
        int impl = b->impl[bi][which];
        if (impl == IMPL_MMA_SWIGLU) impl = IMPL_MMA8; /* the fused ones only through enqueue_layers */
        if (impl == IMPL_FFMA_SWIGLU) impl = IMPL_FFMA;
        if (impl == IMPL_FFMA8_SWIGLU) impl = IMPL_FFMA8;
        if (impl == IMPL_BULK_SWIGLU) impl = IMPL_BULK;
        if (impl_applies(b, impl, which, M, K)) return lin_impl(b, impl, x, W, y, y_f32, beta, M, N, K);
        return lf_cuda_gemm_cublas(b->cublas, b->dt, x, W, y, y_f32, beta, M, N, K, b->st);
    }
    return lf_cuda_linear(b->cublas, b->dt, x, W, y, y_f32, beta, M, N, K, b->gemv_max_m, b->st);
}

extern "C" const char *lf_cuda_linear_kernel(const struct lf_backend *bb, int rows, const char *layer) {
    const cu_backend *b = (const cu_backend *)bb;
    const int bi = b && b->tune_on ? tune_bucket_of(rows) : -1;
    if (bi < 0 || !b->tuned[bi] || !layer) return NULL;
    for (int w = 0; w < LIN_COUNT; w++)
        if (!strcmp(layer, lin_name[w])) return impl_name[(int)b->impl[bi][w]];
    return NULL;
}
