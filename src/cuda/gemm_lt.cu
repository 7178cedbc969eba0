// gemm_lt.cu — the linear layers through cuBLASLt with a chosen algorithm: for one shape
// (y[M, N] = x[M, K] W[N, K]^T, fp16/bf16 inputs, fp32 accumulation, y fp32 with y += beta*y or y
// in T) a plan holds the descriptors and up to LF_LT_MAX_ALGOS algorithms that
// cublasLtMatmulAlgoGetHeuristic offers within a workspace; the caller times them and runs the
// fastest (lab_gemv, and the backend's per-layer timing above the skinny GEMM's 16 rows). The
// layout is the one of the engine's cublasGemmEx calls (lf_cuda_gemm_cublas): column-major
// A = W (K x N, transposed), B = x (K x M), C = D = y (N x M).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_common.h"
#include "cuda_kernels.h"

struct lf_lt_plan {
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo[LF_LT_MAX_ALGOS];
    size_t ws_need[LF_LT_MAX_ALGOS];
    int n_algos;
};

extern "C" void lf_cuda_lt_plan_destroy(lf_lt_plan *p) {
    if (!p) return;
    if (p->lc) cublasLtMatrixLayoutDestroy(p->lc);
    if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
    if (p->la) cublasLtMatrixLayoutDestroy(p->la);
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->h) cublasLtDestroy(p->h);
    free(p);
}

// CUBLAS_CHECK returns from the function: every cuBLASLt call of the setup goes through here so
// that a failure frees what was made.
static lf_status lt_setup(lf_lt_plan *p, lf_dtype dt, int y_f32, int M, int N, int K, size_t ws_bytes) {
    const cudaDataType_t ab = dt == LF_DT_BF16 ? CUDA_R_16BF : CUDA_R_16F, ct = y_f32 ? CUDA_R_32F : ab;
    CUBLAS_CHECK(cublasLtCreate(&p->h));
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, ab, (uint64_t)K, (uint64_t)N, (int64_t)K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, ab, (uint64_t)K, (uint64_t)M, (int64_t)K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, ct, (uint64_t)N, (uint64_t)M, (int64_t)N));
    cublasLtMatmulPreference_t pref = nullptr;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes);
    cublasLtMatmulHeuristicResult_t res[LF_LT_MAX_ALGOS];
    memset(res, 0, sizeof res);
    int got = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulAlgoGetHeuristic(p->h, p->op, p->la, p->lb, p->lc, p->lc, pref, LF_LT_MAX_ALGOS, res, &got);
    cublasLtMatmulPreferenceDestroy(pref);
    CUBLAS_CHECK(st);
    for (int i = 0; i < got; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS || res[i].workspaceSize > ws_bytes) continue;
        p->ws_need[p->n_algos] = res[i].workspaceSize;
        p->algo[p->n_algos++] = res[i].algo;
    }
    if (!p->n_algos)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "cuBLASLt offers no algorithm for %s y[%d, %d] = x W^T (K %d) within %zu bytes of workspace",
                       lf_dtype_name(dt), M, N, K, ws_bytes);
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_lt_plan_create(lf_dtype dt, int y_f32, int M, int N, int K, size_t ws_bytes, lf_lt_plan **out) {
    *out = NULL;
    if (dt != LF_DT_F16 && dt != LF_DT_BF16)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "cuBLASLt linear: dtype %s (want F16 or BF16)", lf_dtype_name(dt));
    if (M <= 0 || N <= 0 || K <= 0) return lf_fail(LINFER_ERR_INVALID_ARG, "cuBLASLt linear: M %d, N %d, K %d", M, N, K);
    lf_lt_plan *p = (lf_lt_plan *)calloc(1, sizeof *p);
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "cuBLASLt linear: out of host memory");
    const lf_status s = lt_setup(p, dt, y_f32, M, N, K, ws_bytes);
    if (s != LINFER_OK) {
        lf_cuda_lt_plan_destroy(p);
        return s;
    }
    *out = p;
    return LINFER_OK;
}

extern "C" int lf_cuda_lt_plan_algos(const lf_lt_plan *p) { return p ? p->n_algos : 0; }

extern "C" lf_status lf_cuda_lt_run(const lf_lt_plan *p, int algo, const void *x, const void *W, void *y, float beta, void *ws,
                                    size_t ws_bytes, cudaStream_t st) {
    if (!p || algo < 0 || algo >= p->n_algos)
        return lf_fail(LINFER_ERR_INVALID_ARG, "cuBLASLt linear: algorithm %d of %d", algo, p ? p->n_algos : 0);
    if (p->ws_need[algo] > ws_bytes)
        return lf_fail(LINFER_ERR_INVALID_ARG, "cuBLASLt linear: algorithm %d wants %zu bytes of workspace, %zu given", algo,
                       p->ws_need[algo], ws_bytes);
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasLtMatmul(p->h, p->op, &alpha, W, p->la, x, p->lb, &beta, y, p->lc, y, p->lc, &p->algo[algo], ws, ws_bytes, st));
    return LINFER_OK;
}
