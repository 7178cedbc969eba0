// calibrate.cu — GPU measurement kernels behind extern "C" launchers (see src/perf/calibrate.h).
//
// Each launcher owns its buffers (RAII guards free them on every path), times with CUDA events on
// one stream, and reports per repetition the seconds of one operation. The host side
// (src/perf/calibrate.c) takes medians and turns times into bandwidths and FLOP/s.
//
// fp8 GEMM (cuBLASLt, compute capability >= 8.9): the requirements of cublasLtMatmul for fp8
// (cuBLAS documentation, "cublasLtMatmul()": tensor-wide scaled FP8 kernels) are met by
// construction: A and B CUDA_R_8F_E4M3, C = D CUDA_R_16BF (a listed AType/BType/CType/DType
// combination), compute type CUBLAS_COMPUTE_32F, scale type CUDA_R_32F, A transposed and B not
// ("TN", required on Ada, Hopper and Blackwell GeForce), m, n, k multiples of 16 and leading
// dimensions k, k, m (16-byte aligned rows), pointers from cudaMalloc (256-byte aligned, which the
// workspace also needs). No scale pointers: the per-tensor scales default to 1.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cublasLt.h>
#include "cuda_common.h"
extern "C" {
#include "perf/calibrate.h"
}

namespace {

struct DevBuf {
    void *p = nullptr;
    ~DevBuf() { if (p) cudaFree(p); }
};
struct Stream {
    cudaStream_t s = nullptr;
    ~Stream() { if (s) cudaStreamDestroy(s); }
};
struct Events {
    cudaEvent_t a = nullptr, b = nullptr;
    ~Events() { if (a) cudaEventDestroy(a); if (b) cudaEventDestroy(b); }
};
struct Blas {
    cublasHandle_t h = nullptr;
    ~Blas() { if (h) cublasDestroy(h); }
};
// cuBLASLt fp8 GEMM: handle, descriptors, the heuristic's algorithm and its workspace; destroyed
// in reverse order on every path.
struct LtFp8Gemm {
    cublasLtHandle_t h = nullptr;
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    cublasLtMatmulAlgo_t algo;
    DevBuf ws;
    size_t ws_bytes = 0;
    ~LtFp8Gemm() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (ld) cublasLtMatrixLayoutDestroy(ld);
        if (lb) cublasLtMatrixLayoutDestroy(lb);
        if (la) cublasLtMatrixLayoutDestroy(la);
        if (op) cublasLtMatmulDescDestroy(op);
        if (h) cublasLtDestroy(h);
    }
};
struct Graph {
    cudaGraph_t g = nullptr;
    cudaGraphExec_t x = nullptr;
    ~Graph() { if (x) cudaGraphExecDestroy(x); if (g) cudaGraphDestroy(g); }
};

__device__ __forceinline__ uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
    return x;
}

__global__ void fill_u32(uint32_t *p, size_t n, uint32_t seed) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = mix32((uint32_t)i ^ seed) | 1u;
}

// uniform in [-1, 1), never exactly zero (|x| >= 2^-24)
template <typename T>
__global__ void fill_uniform(T *p, size_t n, uint32_t seed) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = mix32((uint32_t)i * 2654435761u ^ seed ^ (uint32_t)(i >> 32));
        float u = ((float)(h >> 8) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
        p[i] = (T)(2.0f * u - 1.0f);
    }
}

// fp8 E4M3 uniform in [-1, 1) (rounded to nearest E4M3, saturating; tiny values may round to 0)
__global__ void fill_uniform_fp8(__nv_fp8_storage_t *p, size_t n, uint32_t seed) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = mix32((uint32_t)i * 2654435761u ^ seed ^ (uint32_t)(i >> 32));
        float u = ((float)(h >> 8) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
        p[i] = __nv_cvt_float_to_fp8(2.0f * u - 1.0f, __NV_SATFINITE, __NV_E4M3);
    }
}

__global__ void f32_to_fp8(const float *__restrict__ in, __nv_fp8_storage_t *__restrict__ out, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __nv_cvt_float_to_fp8(in[i], __NV_SATFINITE, __NV_E4M3);
}

// Read-only reduction: every thread XORs 16-byte words (4 loads in flight per iteration), then a
// warp reduction and one atomic per warp. The result depends on every byte read.
__device__ __forceinline__ uint32_t warp_xor_of_grid_range(const uint4 *__restrict__ p, size_t n) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint32_t acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n; i += stride) { uint4 a = p[i]; acc ^= a.x ^ a.y ^ a.z ^ a.w; }
    for (int o = 16; o > 0; o >>= 1) acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
    return acc;
}
__global__ void read_xor(const uint4 *__restrict__ p, size_t n, uint32_t *out) {
    const uint32_t acc = warp_xor_of_grid_range(p, n);
    if ((threadIdx.x & 31) == 0) atomicXor(out, acc);
}

// The same reduction for the kernel chain, without the contended atomic (one XOR per warp into one
// word serialises thousands of atomics, microseconds at the end of a short kernel): each block
// writes its own word.
__global__ void read_xor_blocks(const uint4 *__restrict__ p, size_t n, uint32_t *out) {
    __shared__ uint32_t red[32];
    const uint32_t acc = warp_xor_of_grid_range(p, n);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        uint32_t t = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++) t ^= red[w];
        out[blockIdx.x] = t;
    }
}

__global__ void empty_kernel() {}

unsigned fill_blocks(size_t n) {
    size_t b = (n + 255) / 256;
    return (unsigned)(b > 65535 ? 65535 : (b ? b : 1));
}

double host_now() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Times `inner` back-to-back operations per repetition; t[r] = elapsed / inner. The warm-up runs
// at least `warmup` operations and, when warmup > 0, at least min_warm_s seconds (clocks and power
// settle under a sustained load, not after a few milliseconds).
template <typename F>
lf_status time_reps(cudaStream_t st, int warmup, int reps, int inner, double *t, F op, double min_warm_s = 0) {
    Events ev;
    CUDA_CHECK(cudaEventCreate(&ev.a));
    CUDA_CHECK(cudaEventCreate(&ev.b));
    const double w0 = host_now();
    for (int w = 0; w < warmup || (warmup > 0 && host_now() - w0 < min_warm_s); w++) {
        LF_TRY(op());
        if (w >= warmup && w % 8 == 7) CUDA_CHECK(cudaStreamSynchronize(st));
        if (w > 100000) break;
    }
    CUDA_CHECK(cudaStreamSynchronize(st));
    for (int r = 0; r < reps; r++) {
        CUDA_CHECK(cudaEventRecord(ev.a, st));
        for (int k = 0; k < inner; k++) LF_TRY(op());
        CUDA_CHECK(cudaEventRecord(ev.b, st));
        CUDA_CHECK(cudaEventSynchronize(ev.b));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, ev.a, ev.b));
        t[r] = ms * 1e-3 / inner;
    }
    return LINFER_OK;
}

// Captures n launches (launch(k) enqueues the k-th on st) into one CUDA graph and times its
// replays: t[r] = time per launch. what names the measurement in errors.
template <typename F>
lf_status time_graph_per_launch(cudaStream_t st, int n, int warmup, int reps, double *t, double min_warm_s, const char *what, F launch) {
    Graph g;
    CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
    for (int k = 0; k < n; k++) launch(k);
    cudaError_t le = cudaGetLastError();
    cudaError_t ce = cudaStreamEndCapture(st, &g.g);
    if (le != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "%s: capture: %s", what, cudaGetErrorString(le));
    CUDA_CHECK(ce);
    CUDA_CHECK(cudaGraphInstantiate(&g.x, g.g, 0));
    auto op = [&]() -> lf_status {
        CUDA_CHECK(cudaGraphLaunch(g.x, st));
        return LINFER_OK;
    };
    LF_TRY(time_reps(st, warmup, reps, 1, t, op, min_warm_s));
    for (int r = 0; r < reps; r++) t[r] /= n;
    return LINFER_OK;
}

lf_status check_args(int gpu, int reps, const double *t) {
    if (reps <= 0 || !t) return lf_fail(LINFER_ERR_INVALID_ARG, "calibration: reps = %d", reps);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "no CUDA GPU found%s%s", e != cudaSuccess ? ": " : "", e != cudaSuccess ? cudaGetErrorString(e) : "");
    }
    if (gpu < 0 || gpu >= n) return lf_fail(LINFER_ERR_DEVICE, "no CUDA GPU %d (this machine has %d)", gpu, n);
    CUDA_CHECK(cudaSetDevice(gpu));
    return LINFER_OK;
}

// fp8 tensor cores: compute capability 8.9 (Ada) and later. LINFER_ERR_UNSUPPORTED below that.
lf_status fp8_supported(int gpu) {
    int major = 0, minor = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, gpu));
    CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, gpu));
    if (major * 10 + minor < 89)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "fp8 GEMM needs compute capability >= 8.9 (this GPU: %d.%d)", major, minor);
    return LINFER_OK;
}

// D (m x n, column-major, ld m, bf16) = op(A) * B, where A is stored k x m column-major (ld k) and
// transposed ("TN"), B is k x n column-major (ld k); A, B fp8 E4M3, fp32 accumulation, alpha 1,
// beta 0 (C = D). Row-major view: A = weights [m][k], B = activations [n][k], D = [n][m] (y = x W^T,
// the layout of the engine's cublasGemmEx calls). fast_accum sets CUBLASLT_MATMUL_DESC_FAST_ACCUM
// (no periodic promotion of the tensor-core partial sums to fp32). The first algorithm of
// cublasLtMatmulAlgoGetHeuristic within a 32 MiB workspace. LINFER_ERR_UNSUPPORTED when cuBLASLt
// has no algorithm for it on this GPU.
lf_status lt_fp8_setup(LtFp8Gemm &g, int m, int n, int k, int fast_accum) {
    if (m <= 0 || n <= 0 || k <= 0 || m % 16 || n % 16 || k % 16)
        return lf_fail(LINFER_ERR_INVALID_ARG, "fp8 GEMM: m, n, k must be positive multiples of 16 (m = %d, n = %d, k = %d)", m, n, k);
    CUBLAS_CHECK(cublasLtCreate(&g.h));
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&g.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    const int8_t fa = fast_accum ? 1 : 0;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g.op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fa, sizeof fa));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g.la, CUDA_R_8F_E4M3, (uint64_t)k, (uint64_t)m, (int64_t)k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g.lb, CUDA_R_8F_E4M3, (uint64_t)k, (uint64_t)n, (int64_t)k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g.ld, CUDA_R_16BF, (uint64_t)m, (uint64_t)n, (int64_t)m));
    g.ws_bytes = (size_t)32 << 20;
    cudaError_t e = cudaMalloc(&g.ws.p, g.ws_bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "fp8 GEMM: cannot allocate the 32 MiB cuBLASLt workspace: %s", cudaGetErrorString(e));
    }
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&g.pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(g.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &g.ws_bytes, sizeof g.ws_bytes));
    cublasLtMatmulHeuristicResult_t res;
    memset(&res, 0, sizeof res);
    int got = 0;
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(g.h, g.op, g.la, g.lb, g.ld, g.ld, g.pref, 1, &res, &got);
    if (hs == CUBLAS_STATUS_NOT_SUPPORTED || hs == CUBLAS_STATUS_ARCH_MISMATCH || (hs == CUBLAS_STATUS_SUCCESS && got == 0))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "cuBLASLt %zu has no fp8 algorithm (E4M3 x E4M3 -> bf16, TN, %dx%dx%d) on this GPU%s%s",
                       cublasLtGetVersion(), m, n, k, hs != CUBLAS_STATUS_SUCCESS ? ": " : "",
                       hs != CUBLAS_STATUS_SUCCESS ? cublasGetStatusString(hs) : "");
    CUBLAS_CHECK(hs);
    CUBLAS_CHECK(res.state);
    if (res.workspaceSize > g.ws_bytes)
        return lf_fail(LINFER_ERR_INTERNAL, "fp8 GEMM: the heuristic's algorithm wants %zu bytes of workspace (limit %zu)", res.workspaceSize, g.ws_bytes);
    g.algo = res.algo;
    return LINFER_OK;
}

lf_status lt_fp8_run(const LtFp8Gemm &g, const void *A, const void *B, void *D, cudaStream_t st) {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(g.h, g.op, &alpha, A, g.la, B, g.lb, &beta, D, g.ld, D, g.ld, &g.algo, g.ws.p, g.ws_bytes, st));
    return LINFER_OK;
}

}  // namespace

extern "C" lf_status lf_cuda_calib_get_props(int gpu, lf_cuda_calib_props *out) {
    double dummy = 0;
    memset(out, 0, sizeof *out);
    LF_TRY(check_args(gpu, 1, &dummy));
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, gpu));
    size_t fr = 0, tot = 0;
    CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
    out->l2_bytes = (double)prop.l2CacheSize;
    out->sm_count = prop.multiProcessorCount;
    out->free_bytes = (double)fr;
    out->total_bytes = (double)tot;
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_calib_read(int gpu, size_t bytes, int blocks, int threads, int warmup, int reps, double *t) {
    LF_TRY(check_args(gpu, reps, t));
    if (bytes < 16 || bytes % 16 || blocks <= 0 || threads <= 0 || threads > 1024 || threads % 32)
        return lf_fail(LINFER_ERR_INVALID_ARG, "read calibration: %zu bytes, %d blocks of %d threads", bytes, blocks, threads);
    Stream st;
    DevBuf buf, out;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&buf.p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "read calibration: cannot allocate %.2f GiB on GPU %d: %s", bytes / 1073741824.0, gpu, cudaGetErrorString(e));
    }
    CUDA_CHECK(cudaMalloc(&out.p, sizeof(uint32_t)));
    CUDA_CHECK(cudaMemsetAsync(out.p, 0, sizeof(uint32_t), st.s));
    fill_u32<<<fill_blocks(bytes / 4), 256, 0, st.s>>>((uint32_t *)buf.p, bytes / 4, 0x5eedu);
    CUDA_CHECK_LAUNCH("fill_u32");
    const size_t n16 = bytes / 16;
    auto op = [&]() -> lf_status {
        read_xor<<<blocks, threads, 0, st.s>>>((const uint4 *)buf.p, n16, (uint32_t *)out.p);
        CUDA_CHECK_LAUNCH("read_xor");
        return LINFER_OK;
    };
    return time_reps(st.s, warmup, reps, 10, t, op, 0.1);
}

// A chain of n dependent read kernels replayed from one CUDA graph, each reading `bytes` from its
// own slice of a pool of at least 4x the L2 (so that every kernel reads HBM) — unless n slices
// are fewer than that (the smallest sizes: their n slices stay in L2, as the few kilobytes a
// decode step's small kernels read were just written by the kernel before): t[r] = time per
// kernel. With blocks x threads of the bandwidth measurement this is what a memory-bound kernel
// of that size costs inside a replayed decode step, start and drain included.
extern "C" lf_status lf_cuda_calib_read_chain(int gpu, size_t bytes, int n, int blocks, int threads, int warmup, int reps,
                                              double *t) {
    LF_TRY(check_args(gpu, reps, t));
    if (bytes < 16 || bytes % 16 || n <= 0 || blocks <= 0 || threads <= 0 || threads > 1024 || threads % 32)
        return lf_fail(LINFER_ERR_INVALID_ARG, "read-chain calibration: %zu bytes, %d kernels, %d blocks of %d threads", bytes, n,
                       blocks, threads);
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, gpu));
    const size_t want = (size_t)4 * (size_t)prop.l2CacheSize;
    size_t slices = (want + bytes - 1) / bytes;
    if (slices < 2) slices = 2;
    if (slices > (size_t)n) slices = (size_t)n > 1 ? (size_t)n : 1;
    const size_t pool = slices * bytes;
    Stream st;
    DevBuf buf, out;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&buf.p, pool);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "read-chain calibration: cannot allocate %.2f GiB on GPU %d: %s", pool / 1073741824.0, gpu,
                       cudaGetErrorString(e));
    }
    CUDA_CHECK(cudaMalloc(&out.p, sizeof(uint32_t) * (size_t)blocks));
    fill_u32<<<fill_blocks(pool / 4), 256, 0, st.s>>>((uint32_t *)buf.p, pool / 4, 0xc4a1u);
    CUDA_CHECK_LAUNCH("fill_u32");
    CUDA_CHECK(cudaStreamSynchronize(st.s));
    return time_graph_per_launch(st.s, n, warmup, reps, t, 0.05, "read-chain calibration", [&](int k) {
        read_xor_blocks<<<blocks, threads, 0, st.s>>>((const uint4 *)((const char *)buf.p + (size_t)(k % slices) * bytes),
                                                      bytes / 16, (uint32_t *)out.p);
    });
}

extern "C" lf_status lf_cuda_calib_copy(int gpu, size_t bytes, int warmup, int reps, double *t) {
    LF_TRY(check_args(gpu, reps, t));
    if (bytes < 16) return lf_fail(LINFER_ERR_INVALID_ARG, "copy calibration: %zu bytes", bytes);
    Stream st;
    DevBuf a, b;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&a.p, bytes);
    if (e == cudaSuccess) e = cudaMalloc(&b.p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "copy calibration: cannot allocate 2 x %.2f GiB on GPU %d: %s", bytes / 1073741824.0, gpu, cudaGetErrorString(e));
    }
    fill_u32<<<fill_blocks(bytes / 4), 256, 0, st.s>>>((uint32_t *)a.p, bytes / 4, 0xc0feu);
    CUDA_CHECK_LAUNCH("fill_u32");
    auto op = [&]() -> lf_status {
        CUDA_CHECK(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, st.s));
        return LINFER_OK;
    };
    return time_reps(st.s, warmup, reps, 4, t, op, 0.1);
}

extern "C" lf_status lf_cuda_calib_gemm(int gpu, int n, int bf16, int warmup, int reps, double *t) {
    LF_TRY(check_args(gpu, reps, t));
    if (n <= 0 || n > 65536) return lf_fail(LINFER_ERR_INVALID_ARG, "GEMM calibration: n = %d", n);
    const size_t nn = (size_t)n * n, eb = 2;
    Stream st;
    DevBuf A, B, C;
    Blas blas;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&A.p, nn * eb);
    if (e == cudaSuccess) e = cudaMalloc(&B.p, nn * eb);
    if (e == cudaSuccess) e = cudaMalloc(&C.p, nn * eb);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "GEMM calibration: cannot allocate 3 x %d^2 16-bit matrices on GPU %d: %s", n, gpu, cudaGetErrorString(e));
    }
    if (bf16) {
        fill_uniform<__nv_bfloat16><<<fill_blocks(nn), 256, 0, st.s>>>((__nv_bfloat16 *)A.p, nn, 0x1234u);
        fill_uniform<__nv_bfloat16><<<fill_blocks(nn), 256, 0, st.s>>>((__nv_bfloat16 *)B.p, nn, 0x9876u);
    } else {
        fill_uniform<__half><<<fill_blocks(nn), 256, 0, st.s>>>((__half *)A.p, nn, 0x1234u);
        fill_uniform<__half><<<fill_blocks(nn), 256, 0, st.s>>>((__half *)B.p, nn, 0x9876u);
    }
    CUDA_CHECK_LAUNCH("fill_uniform");
    CUBLAS_CHECK(cublasCreate(&blas.h));
    CUBLAS_CHECK(cublasSetStream(blas.h, st.s));
    const cudaDataType_t dt = bf16 ? CUDA_R_16BF : CUDA_R_16F;
    const float alpha = 1.0f, beta = 0.0f;
    auto op = [&]() -> lf_status {
        CUBLAS_CHECK(cublasGemmEx(blas.h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &alpha, A.p, dt, n, B.p, dt, n, &beta, C.p, dt, n,
                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        return LINFER_OK;
    };
    return time_reps(st.s, warmup, reps, 5, t, op, 0.3);
}

extern "C" lf_status lf_cuda_calib_gemm_fp8(int gpu, int n, int fast_accum, int warmup, int reps, double *t) {
    LF_TRY(check_args(gpu, reps, t));
    LF_TRY(fp8_supported(gpu));
    if (n <= 0 || n > 65536 || n % 16) return lf_fail(LINFER_ERR_INVALID_ARG, "fp8 GEMM calibration: n = %d (a multiple of 16 is needed)", n);
    const size_t nn = (size_t)n * n;
    Stream st;
    DevBuf A, B, D;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&A.p, nn);
    if (e == cudaSuccess) e = cudaMalloc(&B.p, nn);
    if (e == cudaSuccess) e = cudaMalloc(&D.p, nn * 2);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "fp8 GEMM calibration: cannot allocate 2 x %d^2 fp8 and one %d^2 bf16 matrix on GPU %d: %s", n, n, gpu,
                       cudaGetErrorString(e));
    }
    fill_uniform_fp8<<<fill_blocks(nn), 256, 0, st.s>>>((__nv_fp8_storage_t *)A.p, nn, 0x1234u);
    fill_uniform_fp8<<<fill_blocks(nn), 256, 0, st.s>>>((__nv_fp8_storage_t *)B.p, nn, 0x9876u);
    CUDA_CHECK_LAUNCH("fill_uniform_fp8");
    LtFp8Gemm g;
    LF_TRY(lt_fp8_setup(g, n, n, n, fast_accum));
    auto op = [&]() -> lf_status { return lt_fp8_run(g, A.p, B.p, D.p, st.s); };
    return time_reps(st.s, warmup, reps, 5, t, op, 0.3);
}

extern "C" lf_status lf_cuda_calib_gemm_fp8_check(int gpu, int m, int n, int k, int fast_accum, const float *a, const float *b, float *d) {
    double dummy = 0;
    LF_TRY(check_args(gpu, 1, &dummy));
    LF_TRY(fp8_supported(gpu));
    if (!a || !b || !d) return lf_fail(LINFER_ERR_INVALID_ARG, "fp8 GEMM check: NULL matrix");
    if (m <= 0 || n <= 0 || k <= 0 || m > 65536 || n > 65536 || k > 65536)
        return lf_fail(LINFER_ERR_INVALID_ARG, "fp8 GEMM check: m = %d, n = %d, k = %d", m, n, k);
    const size_t na = (size_t)m * k, nb = (size_t)n * k, nd = (size_t)m * n;
    Stream st;
    DevBuf fa, fb, A, B, D;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    cudaError_t e = cudaMalloc(&fa.p, na * 4);
    if (e == cudaSuccess) e = cudaMalloc(&fb.p, nb * 4);
    if (e == cudaSuccess) e = cudaMalloc(&A.p, na);
    if (e == cudaSuccess) e = cudaMalloc(&B.p, nb);
    if (e == cudaSuccess) e = cudaMalloc(&D.p, nd * 2);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "fp8 GEMM check: cannot allocate the matrices on GPU %d: %s", gpu, cudaGetErrorString(e));
    }
    CUDA_CHECK(cudaMemcpyAsync(fa.p, a, na * 4, cudaMemcpyHostToDevice, st.s));
    CUDA_CHECK(cudaMemcpyAsync(fb.p, b, nb * 4, cudaMemcpyHostToDevice, st.s));
    CUDA_CHECK(cudaMemsetAsync(D.p, 0xFF, nd * 2, st.s));   // NaN in bf16: every element must be written
    f32_to_fp8<<<fill_blocks(na), 256, 0, st.s>>>((const float *)fa.p, (__nv_fp8_storage_t *)A.p, na);
    f32_to_fp8<<<fill_blocks(nb), 256, 0, st.s>>>((const float *)fb.p, (__nv_fp8_storage_t *)B.p, nb);
    CUDA_CHECK_LAUNCH("f32_to_fp8");
    LtFp8Gemm g;
    LF_TRY(lt_fp8_setup(g, m, n, k, fast_accum));
    LF_TRY(lt_fp8_run(g, A.p, B.p, D.p, st.s));
    uint16_t *hd = (uint16_t *)malloc(nd * 2);
    if (!hd) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "fp8 GEMM check: out of host memory");
    e = cudaMemcpyAsync(hd, D.p, nd * 2, cudaMemcpyDeviceToHost, st.s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(st.s);
    if (e != cudaSuccess) {
        free(hd);
        return lf_fail(LINFER_ERR_DEVICE, "fp8 GEMM check: copying the result back: %s", cudaGetErrorString(e));
    }
    for (size_t i = 0; i < nd; i++) {   // bf16 -> fp32: the upper 16 bits
        uint32_t u = (uint32_t)hd[i] << 16;
        memcpy(&d[i], &u, 4);
    }
    free(hd);
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_calib_launch(int gpu, int n, int mode, int warmup, int reps, double *t) {
    LF_TRY(check_args(gpu, reps, t));
    if (n <= 0 || mode < 0 || mode > 2) return lf_fail(LINFER_ERR_INVALID_ARG, "launch calibration: n = %d, mode = %d", n, mode);
    Stream st;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
    if (mode == 2) {  // round trip: launch, wait, repeat (host clock)
        for (int r = -warmup; r < reps; r++) {
            int m = n < 200 ? n : 200;
            double t0 = host_now();
            for (int k = 0; k < m; k++) {
                empty_kernel<<<1, 1, 0, st.s>>>();
                CUDA_CHECK(cudaStreamSynchronize(st.s));
            }
            double dt = host_now() - t0;
            CUDA_CHECK_LAUNCH("empty_kernel");
            if (r >= 0) t[r] = dt / m;
        }
        return LINFER_OK;
    }
    if (mode == 0) {
        auto op = [&]() -> lf_status {
            for (int k = 0; k < n; k++) empty_kernel<<<1, 1, 0, st.s>>>();
            CUDA_CHECK_LAUNCH("empty_kernel");
            return LINFER_OK;
        };
        LF_TRY(time_reps(st.s, warmup, reps, 1, t, op));
        for (int r = 0; r < reps; r++) t[r] /= n;
        return LINFER_OK;
    }
    return time_graph_per_launch(st.s, n, warmup, reps, t, 0, "launch calibration", [&](int) { empty_kernel<<<1, 1, 0, st.s>>>(); });
}
