// calibrate.cu — GPU measurement kernels behind extern "C" launchers (see src/perf/calibrate.h).
//
// Each launcher owns its buffers (RAII guards free them on every path), times with CUDA events on
// one stream, and reports per repetition the seconds of one operation. The host side
// (src/perf/calibrate.c) takes medians and turns times into bandwidths and FLOP/s.
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
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

// Read-only reduction: every thread XORs 16-byte words (4 loads in flight per iteration), then a
// warp reduction and one atomic per warp. The result depends on every byte read.
__global__ void read_xor(const uint4 *__restrict__ p, size_t n, uint32_t *out) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint32_t acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n; i += stride) { uint4 a = p[i]; acc ^= a.x ^ a.y ^ a.z ^ a.w; }
    for (int o = 16; o > 0; o >>= 1) acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
    if ((threadIdx.x & 31) == 0) atomicXor(out, acc);
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
    Graph g;
    CUDA_CHECK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeThreadLocal));
    for (int k = 0; k < n; k++) empty_kernel<<<1, 1, 0, st.s>>>();
    cudaError_t le = cudaGetLastError();
    cudaError_t ce = cudaStreamEndCapture(st.s, &g.g);
    if (le != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "launch calibration: capture: %s", cudaGetErrorString(le));
    CUDA_CHECK(ce);
    CUDA_CHECK(cudaGraphInstantiate(&g.x, g.g, 0));
    auto op = [&]() -> lf_status {
        CUDA_CHECK(cudaGraphLaunch(g.x, st.s));
        return LINFER_OK;
    };
    LF_TRY(time_reps(st.s, warmup, reps, 1, t, op));
    for (int r = 0; r < reps; r++) t[r] /= n;
    return LINFER_OK;
}
