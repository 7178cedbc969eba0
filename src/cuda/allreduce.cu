// allreduce.cu — the one-shot all-reduce of tensor parallelism (small messages over peer memory):
// the pull kernel (flags, then reads of every peer's buffer) and the push kernel (tagged words
// stored into every peer's slots), behind lf_cuda_oneshot_allreduce (cuda_kernels.h); the push
// kernel with the next RMSNorm behind it (lf_cuda_oneshot_allreduce_norm).
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"
extern "C" {
#include "perf/bench.h"
}

// ---------------------------------------------------------------------------------------------
// One-shot all-reduce over peer memory (tensor parallelism, small messages): every rank copies its
// vector into its own exchange buffer (the half of it chosen by the call's parity), tells every
// peer by a flag in the peer's memory (release, system scope), waits for the peers' flags in its
// own memory (acquire), then reads all ranks' buffers over NVLink and adds them in rank order 0..
// tp-1, so every rank gets the same bits. Flags carry a per-block call counter (epoch), so they
// never need resetting and graph replays work. Two halves: a rank can be at most one call ahead
// of a peer (it waits for that peer's flag of its own call), so the half it writes is never the
// one a slower peer still reads; every call launches the same blocks, so all blocks of a call
// agree on the half. A peer that never arrives ends the kernel with a trap after
// LF_ONESHOT_TIMEOUT_S (300 s; the launcher's supervisor ends a job with a dead rank long before).
__device__ __forceinline__ void st_release_sys(uint32_t *p, uint32_t v) {
    asm volatile("st.release.sys.global.u32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ uint32_t ld_acquire_sys(const uint32_t *p) {
    uint32_t v;
    asm volatile("ld.acquire.sys.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
    return v;
}
__device__ __forceinline__ uint64_t global_ns() {
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// This block's part [i0, i1) of the n elements (the same partition on every rank) and its call
// number (epoch): one past its counter, which advances with every call on every rank alike (every
// call launches the same blocks).
__device__ __forceinline__ uint32_t oneshot_block_call(const uint32_t *epoch_ctr, int n, int &i0, int &i1) {
    __shared__ uint32_t s_epoch;
    const int per = (n + gridDim.x - 1) / gridDim.x;
    i0 = blockIdx.x * per;
    i1 = min(n, i0 + per);
    if (threadIdx.x == 0) s_epoch = epoch_ctr[blockIdx.x] + 1;
    __syncthreads();
    return s_epoch;
}

__global__ void __launch_bounds__(256) oneshot_allreduce_kernel(float *__restrict__ x, int n, lf_oneshot_peers P,
                                                                 uint32_t *__restrict__ epoch_ctr, int rank, int tp,
                                                                 int half_elems, unsigned long long timeout_ns) {
    pdl_enter();
    const int b = blockIdx.x;
    int i0, i1;
    const uint32_t ep = oneshot_block_call(epoch_ctr, n, i0, i1);
    const size_t half = (size_t)(ep & 1) * (size_t)half_elems;
    float *mine = P.buf[rank] + half;
    for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) mine[i] = x[i];
    __syncthreads();
    if (threadIdx.x == 0) {
        epoch_ctr[b] = ep;
        __threadfence_system();
        for (int p = 0; p < tp; p++)
            if (p != rank) st_release_sys(P.flags[p] + b * LF_ONESHOT_MAX_TP + rank, ep);
        const uint64_t t0 = global_ns();
        for (int p = 0; p < tp; p++) {
            if (p == rank) continue;
            while (ld_acquire_sys(P.flags[rank] + b * LF_ONESHOT_MAX_TP + p) < ep)
                if (global_ns() - t0 > timeout_ns) __trap(); /* a peer never came (LF_ONESHOT_TIMEOUT_S) */
        }
    }
    __syncthreads();
    for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) {
        float sum = 0.f;
        for (int r = 0; r < tp; r++) sum += __ldcv(P.buf[r] + half + i);
        x[i] = sum;
    }
}

// Push variant (LL: data and call number in one 8-byte word). Each rank stores every element of
// its x, with the block's call number (epoch) in the high half, straight into each peer's
// receive slot [epoch parity][sender][i], then polls its own slots (local memory) until every
// peer's word carries this epoch, and sums in rank order — the same order as the pull kernel
// above, so the same bits. One NVLink crossing per call and no flag round trip. A slot of parity
// p is rewritten two calls later, by which time its reader has finished: a rank can only start
// call e + 2 after receiving its peers' call-e+1 words, which they send after their call e
// kernels (including its reads) completed.
__device__ __forceinline__ void st_volatile_u64(uint64_t *p, uint64_t v) {
    asm volatile("st.volatile.global.u64 [%0], %1;\n" ::"l"(p), "l"(v) : "memory");
}
__device__ __forceinline__ uint64_t ld_volatile_u64(const uint64_t *p) {
    uint64_t v;
    asm volatile("ld.volatile.global.u64 %0, [%1];\n" : "=l"(v) : "l"(p) : "memory");
    return v;
}
// The float of the tagged word at q once its high half carries call number ep (polled; a trap
// when it has not after timeout_ns from t0: a peer never came).
__device__ __forceinline__ float ll_wait(const uint64_t *q, uint32_t ep, uint64_t t0, unsigned long long timeout_ns) {
    uint64_t w = ld_volatile_u64(q);
    for (int spin = 0; (uint32_t)(w >> 32) != ep; spin++) {
        if ((spin & 1023) == 1023 && global_ns() - t0 > timeout_ns) __trap();
        w = ld_volatile_u64(q);
    }
    return __uint_as_float((uint32_t)w);
}

__global__ void __launch_bounds__(256) oneshot_ll_kernel(float *__restrict__ x, int n, lf_oneshot_peers P,
                                                          uint32_t *__restrict__ epoch_ctr, int rank, int tp, int half_elems,
                                                          unsigned long long timeout_ns) {
    pdl_enter();
    const int b = blockIdx.x;
    int i0, i1;
    const uint32_t ep = oneshot_block_call(epoch_ctr, n, i0, i1);
    const size_t region = (size_t)(ep & 1) * LF_ONESHOT_MAX_TP * (size_t)half_elems;
    for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) {
        const uint64_t w = ((uint64_t)ep << 32) | __float_as_uint(x[i]);
        for (int p = 0; p < tp; p++)
            if (p != rank) st_volatile_u64(P.ll[p] + region + (size_t)rank * half_elems + i, w);
    }
    const uint64_t t0 = global_ns();
    for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) {
        const float mine = x[i];
        float sum = 0.f;
        for (int r = 0; r < tp; r++) {
            if (r == rank) { sum += mine; continue; }
            sum += ll_wait(P.ll[rank] + region + (size_t)r * half_elems + i, ep, t0, timeout_ns);
        }
        x[i] = sum;
    }
    if (threadIdx.x == 0) epoch_ctr[b] = ep;
}

// LF_ONESHOT_TIMEOUT_S (default 300 s): how long a one-shot kernel waits for a peer before trapping
static unsigned long long oneshot_timeout_ns(void) {
    static unsigned long long timeout_ns = 0;
    if (!timeout_ns) {
        const char *e = getenv("LF_ONESHOT_TIMEOUT_S");
        const double sec = e && *e ? atof(e) : 300.0;
        timeout_ns = (unsigned long long)((sec > 0 ? sec : 300.0) * 1e9);
    }
    return timeout_ns;
}

static int g_oneshot_ll = -1;
extern "C" void lf_cuda_set_oneshot_ll(int on) { g_oneshot_ll = on ? 1 : 0; }
extern "C" int lf_cuda_oneshot_ll(void) { return env_switch(&g_oneshot_ll, "LF_CUDA_ONESHOT_LL"); }

extern "C" lf_status lf_cuda_oneshot_allreduce(float *x, int n, const lf_oneshot_peers *peers, uint32_t *epoch_ctr, int rank, int tp,
                                               int half_elems, cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    if (n > half_elems || tp < 2 || tp > LF_ONESHOT_MAX_TP)
        return lf_fail(LINFER_ERR_INVALID_ARG, "one-shot all-reduce: %d floats (buffer %d), %d ranks", n, half_elems, tp);
    // always the same number of blocks: each block's call counter (epoch) then advances with every
    // call, so the parity of the buffer half is the same for every block of a call (blocks beyond
    // the data only exchange flags)
    const unsigned long long timeout_ns = oneshot_timeout_ns();
    if (peers->ll[rank] && lf_cuda_oneshot_ll()) {
        LF_LAUNCH(oneshot_ll_kernel, LF_ONESHOT_MAX_BLOCKS, 256, 0, st, x, n, *peers, epoch_ctr, rank, tp, half_elems, timeout_ns);
        CUDA_CHECK_LAUNCH("oneshot_ll_kernel");
        return LINFER_OK;
    }
    LF_LAUNCH(oneshot_allreduce_kernel, LF_ONESHOT_MAX_BLOCKS, 256, 0, st, x, n, *peers, epoch_ctr, rank, tp, half_elems, timeout_ns);
    CUDA_CHECK_LAUNCH("oneshot_allreduce_kernel");
    return LINFER_OK;
}


// ---------------------------------------------------------------------------------------------
// The push all-reduce of the residual with the next RMSNorm behind it (decode steps under tensor
// parallelism: each layer's two residual all-reduces are followed by a norm), in one kernel.
// Grid: rows x ARN_PARTS blocks; block (r, p) takes part p of row r's columns (dim / ARN_PARTS
// contiguous elements, one or a few per thread). It pushes its elements to every peer as tagged
// words (epoch, value), as oneshot_ll_kernel does but into slots of its own (`lln`), polls its
// slots and sums in rank order — oneshot_ll_kernel's sums, bit for bit — and writes them to x.
// The row's sum of squares: each thread's fmaf chain, the warps' butterflies added in warp order,
// then the block's sum stored as a tagged word in `ssw` and polled by every block of the row,
// which adds the ARN_PARTS words in part order — the same bits in every block and on every rank,
// though not those of rmsnorm_vec_kernel's order (1 unit in the last place of T at most in the
// normalised values, test_tp checks it). No block waits at a grid-wide barrier (session 17's
// 64-block barrier cost ~6 us per call).
//
// Session 18 measured the alternatives (bench/gpu_session18a-g.sh): one cluster of 1-16 blocks per
// row with the square sums through distributed shared memory was slower (a row pushed from fewer
// SMs takes longer: 7.7 us at one block), 64 parts slower than 32; and the norm kernel's exact
// order (blocks = its warps, so fused and unfused agree bit for bit) took 3.38 / 3.87 us per call
// at TP 2 / 4 against this kernel's 2.94 / 3.70 (its first 8 blocks carry twice the elements).
//
// Epochs per block: block (r, p) always exchanges the same elements and is launched exactly when
// row r is, so all blocks of a row agree on the call number. A tagged square-sum word is rewritten
// only by the next call, which starts after every block of this call ended (the kernels between
// them wait for this one; calls back to back, as in lf_cuda_time_allreduce, are ordered by the PDL
// wait). Only the norm weights are read before the PDL wait: the call number is read after it,
// together with the residual (session 18's measured build read it before the wait, which is
// safe in a decode step, where other kernels separate two calls, but not back to back).
#define ARN_THREADS 256
#define ARN_WARPS (ARN_THREADS / 32)
#define ARN_PARTS 32     /* blocks per row */
#define ARN_EPT_MAX 8    /* elements per thread: dim <= ARN_PARTS * ARN_THREADS * ARN_EPT_MAX */
__device__ __forceinline__ float warp_sum_arn(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float arn_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float arn_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ __half arn_mk(__half, float v) { return __float2half_rn(v); }
__device__ __forceinline__ __nv_bfloat16 arn_mk(__nv_bfloat16, float v) { return __float2bfloat16_rn(v); }

template <typename T>
__global__ void __launch_bounds__(ARN_THREADS) oneshot_ll_norm_kernel(float *__restrict__ x, int dim, lf_oneshot_peers P,
                                                                       uint32_t *__restrict__ scratch, int rank, int tp,
                                                                       int half_elems, unsigned long long timeout_ns,
                                                                       const T *__restrict__ w, float eps, T *__restrict__ xn) {
    __shared__ float red[ARN_WARPS + ARN_PARTS];   /* the warps' square sums, then the parts' */
    const int row = blockIdx.x, part = blockIdx.y, b = row * ARN_PARTS + part, tid = threadIdx.x;
    const int per = (dim + ARN_PARTS - 1) / ARN_PARTS, j0 = part * per, j1 = min(dim, j0 + per);
    uint64_t *ssw = reinterpret_cast<uint64_t *>(scratch + LF_ARN_MAX_BLOCKS);
    float wv[ARN_EPT_MAX];
#pragma unroll
    for (int k = 0; k < ARN_EPT_MAX; k++) {
        const int j = j0 + tid + k * ARN_THREADS;
        wv[k] = j < j1 ? arn_f(w[j]) : 0.f;
    }
    pdl_enter();
    const uint32_t ep = scratch[b] + 1;   /* after the wait: the previous call may be the predecessor itself */
    const size_t region = (size_t)(ep & 1) * LF_ONESHOT_MAX_TP * (size_t)half_elems;
    float *xr = x + (size_t)row * dim;
    float v[ARN_EPT_MAX];
#pragma unroll
    for (int k = 0; k < ARN_EPT_MAX; k++) {
        const int j = j0 + tid + k * ARN_THREADS;
        v[k] = j < j1 ? xr[j] : 0.f;
    }
#pragma unroll
    for (int k = 0; k < ARN_EPT_MAX; k++) {
        const int j = j0 + tid + k * ARN_THREADS;
        if (j >= j1) break;
        const uint64_t word = ((uint64_t)ep << 32) | __float_as_uint(v[k]);
        const size_t i = (size_t)row * dim + j;
        for (int p = 0; p < tp; p++)
            if (p != rank) st_volatile_u64(P.lln[p] + region + (size_t)rank * half_elems + i, word);
    }
    const uint64_t t0 = global_ns();
    float ss = 0.f;
#pragma unroll
    for (int k = 0; k < ARN_EPT_MAX; k++) {
        const int j = j0 + tid + k * ARN_THREADS;
        if (j >= j1) break;
        const size_t i = (size_t)row * dim + j;
        float sum = 0.f;
        for (int r = 0; r < tp; r++) {   // rank order, as oneshot_ll_kernel
            if (r == rank) { sum += v[k]; continue; }
            sum += ll_wait(P.lln[rank] + region + (size_t)r * half_elems + i, ep, t0, timeout_ns);
        }
        v[k] = sum;
        xr[j] = sum;
        ss = fmaf(sum, sum, ss);
    }
    ss = warp_sum_arn(ss);
    if ((tid & 31) == 0) red[tid >> 5] = ss;
    __syncthreads();
    if (tid == 0) {
        float t = 0.f;
        for (int i = 0; i < ARN_WARPS; i++) t += red[i];
        st_volatile_u64(ssw + b, ((uint64_t)ep << 32) | __float_as_uint(t));
    }
    if (tid < ARN_PARTS) red[ARN_WARPS + tid] = ll_wait(ssw + (size_t)row * ARN_PARTS + tid, ep, t0, timeout_ns);
    __syncthreads();
    ss = 0.f;
#pragma unroll
    for (int i = 0; i < ARN_PARTS; i++) ss += red[ARN_WARPS + i];
    const float inv = 1.0f / sqrtf(ss / (float)dim + eps);
    T *o = xn + (size_t)row * dim;
#pragma unroll
    for (int k = 0; k < ARN_EPT_MAX; k++) {
        const int j = j0 + tid + k * ARN_THREADS;
        if (j >= j1) break;
        o[j] = arn_mk(T(), v[k] * inv * wv[k]);
    }
    if (tid == 0) scratch[b] = ep;
}

static int g_ar_norm = -1;
extern "C" void lf_cuda_set_allreduce_norm(int on) { g_ar_norm = on ? 1 : 0; }
extern "C" int lf_cuda_allreduce_norm_on(void) { return env_switch(&g_ar_norm, "LF_CUDA_AR_NORM"); }

extern "C" int lf_cuda_allreduce_norm_supported(int rows, int dim) {
    return rows >= 1 && dim >= 1 && dim <= ARN_PARTS * ARN_THREADS * ARN_EPT_MAX && rows * ARN_PARTS <= LF_ARN_MAX_BLOCKS;
}

extern "C" lf_status lf_cuda_oneshot_allreduce_norm(lf_dtype dt, float *x, int rows, int dim, const lf_oneshot_peers *peers,
                                                    uint32_t *scratch, int rank, int tp, int half_elems, const void *w, float eps,
                                                    void *xn, cudaStream_t st) {
    if (rows <= 0) return LINFER_OK;
    if (!lf_cuda_allreduce_norm_supported(rows, dim) || (size_t)rows * dim > (size_t)half_elems || tp < 2 || tp > LF_ONESHOT_MAX_TP ||
        !peers->lln[rank])
        return lf_fail(LINFER_ERR_INVALID_ARG, "one-shot all-reduce with norm: %d rows of %d (buffer %d floats), %d ranks", rows, dim,
                       half_elems, tp);
    const unsigned long long timeout_ns = oneshot_timeout_ns();
    const dim3 grid((unsigned)rows, ARN_PARTS);
    DISPATCH_T(dt, "all-reduce with norm",
               LF_LAUNCH(oneshot_ll_norm_kernel<T>, grid, ARN_THREADS, 0, st, x, dim, *peers, scratch, rank, tp, half_elems, timeout_ns,
                         (const T *)w, eps, (T *)xn));
    CUDA_CHECK_LAUNCH("oneshot_ll_norm_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// Calibration of the one-shot all-reduce (`linfer calibrate`): GPUs 0..n-1 of this process, peer
// access between every pair, one exchange buffer each with the backend's layout for the plain
// kernels (buf halves, flags, call counters, push slots), and per message size a CUDA graph of
// `iters` calls on every GPU, the graphs launched on all GPUs together. A repetition's time is the
// smallest per-call time of the GPUs (the GPU launched last waited least for the others); the
// median over repetitions is reported. Sizes in floats. Peer access this function turned on is
// turned off again at the end (NCCL, measured next, finds the GPUs as they were).
extern "C" lf_status lf_cuda_calib_oneshot(int n, const int *counts, int ncounts, int iters, int warmup, int reps, double *per_call_s) {
    if (n < 2 || n > LF_ONESHOT_MAX_TP || ncounts <= 0 || iters <= 0 || reps <= 0 || reps > 64 || warmup < 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "one-shot all-reduce calibration: %d GPUs, %d sizes, %d iters, %d reps", n, ncounts, iters, reps);
    int half = 0;
    for (int k = 0; k < ncounts; k++) {
        if (counts[k] <= 0) return lf_fail(LINFER_ERR_INVALID_ARG, "one-shot all-reduce calibration: size %d", counts[k]);
        if (counts[k] > half) half = counts[k];
    }
    const lf_oneshot_layout lay = lf_oneshot_layout_of((size_t)half);
    const size_t bytes = lay.end;
    char *mem[LF_ONESHOT_MAX_TP] = {0};
    float *x[LF_ONESHOT_MAX_TP] = {0};
    cudaStream_t st[LF_ONESHOT_MAX_TP] = {0};
    cudaEvent_t e0[LF_ONESHOT_MAX_TP] = {0}, e1[LF_ONESHOT_MAX_TP] = {0};
    cudaGraph_t g[LF_ONESHOT_MAX_TP] = {0};
    cudaGraphExec_t gx[LF_ONESHOT_MAX_TP] = {0};
    lf_oneshot_peers P;
    memset(&P, 0, sizeof P);
    unsigned char enabled[LF_ONESHOT_MAX_TP][LF_ONESHOT_MAX_TP] = {{0}};   /* peer access turned on here (off again at the end) */
    lf_status s = LINFER_OK;
    cudaError_t e = cudaSuccess;
    const char *what = "";
    int at = 0;
#define OS_CAL(call, w, dev)                       \
    do {                                           \
        if (e == cudaSuccess && !s) {              \
            e = (call);                            \
            if (e != cudaSuccess) what = w, at = dev; \
        }                                          \
    } while (0)
    for (int d = 0; d < n; d++) {
        OS_CAL(cudaSetDevice(d), "cudaSetDevice", d);
        for (int p = 0; p < n; p++) {
            if (p == d || e != cudaSuccess) continue;
            int can = 0;
            OS_CAL(cudaDeviceCanAccessPeer(&can, d, p), "cudaDeviceCanAccessPeer", d);
            if (e == cudaSuccess && !can) {
                s = lf_fail(LINFER_ERR_UNSUPPORTED, "one-shot all-reduce calibration: GPU %d cannot access GPU %d", d, p);
                break;
            }
            if (e == cudaSuccess) {
                cudaError_t pe = cudaDeviceEnablePeerAccess(p, 0);
                if (pe == cudaSuccess) enabled[d][p] = 1;
                else if (pe == cudaErrorPeerAccessAlreadyEnabled) { cudaGetLastError(); pe = cudaSuccess; }
                OS_CAL(pe, "cudaDeviceEnablePeerAccess", d);
            }
        }
        OS_CAL(cudaMalloc((void **)&mem[d], bytes), "cudaMalloc", d);
        OS_CAL(cudaMalloc((void **)&x[d], sizeof(float) * (size_t)half), "cudaMalloc", d);
        OS_CAL(cudaMemset(mem[d], 0, bytes), "cudaMemset", d);
        OS_CAL(cudaMemset(x[d], 0, sizeof(float) * (size_t)half), "cudaMemset", d);
        OS_CAL(cudaStreamCreateWithFlags(&st[d], cudaStreamNonBlocking), "cudaStreamCreate", d);
        OS_CAL(cudaEventCreate(&e0[d]), "cudaEventCreate", d);
        OS_CAL(cudaEventCreate(&e1[d]), "cudaEventCreate", d);
        OS_CAL(cudaDeviceSynchronize(), "cudaDeviceSynchronize", d);
        if (mem[d]) {
            P.buf[d] = (float *)mem[d];
            P.flags[d] = (uint32_t *)(mem[d] + lay.flags);
            P.ll[d] = (uint64_t *)(mem[d] + lay.ll);
        }
    }
    double t[64];
    for (int k = 0; k < ncounts && e == cudaSuccess && !s; k++) {
        for (int d = 0; d < n && e == cudaSuccess && !s; d++) {
            uint32_t *epoch = (uint32_t *)(mem[d] + lay.epoch);
            OS_CAL(cudaSetDevice(d), "cudaSetDevice", d);
            OS_CAL(cudaStreamBeginCapture(st[d], cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture", d);
            for (int i = 0; i < iters && e == cudaSuccess && !s; i++) s = lf_cuda_oneshot_allreduce(x[d], counts[k], &P, epoch, d, n, half, st[d]);
            if (e == cudaSuccess) {
                const cudaError_t ee = cudaStreamEndCapture(st[d], &g[d]);
                OS_CAL(ee, "cudaStreamEndCapture", d);
            }
            OS_CAL(cudaGraphInstantiate(&gx[d], g[d], 0), "cudaGraphInstantiate", d);
        }
        for (int r = -warmup; r < reps && e == cudaSuccess && !s; r++) {
            for (int d = 0; d < n; d++) {
                OS_CAL(cudaSetDevice(d), "cudaSetDevice", d);
                OS_CAL(cudaEventRecord(e0[d], st[d]), "cudaEventRecord", d);
                OS_CAL(cudaGraphLaunch(gx[d], st[d]), "cudaGraphLaunch", d);
                OS_CAL(cudaEventRecord(e1[d], st[d]), "cudaEventRecord", d);
            }
            double best = 0;
            for (int d = 0; d < n; d++) {
                float ms = 0;
                OS_CAL(cudaSetDevice(d), "cudaSetDevice", d);
                OS_CAL(cudaEventSynchronize(e1[d]), "cudaEventSynchronize", d);
                OS_CAL(cudaEventElapsedTime(&ms, e0[d], e1[d]), "cudaEventElapsedTime", d);
                const double per = ms * 1e-3 / iters;
                if (d == 0 || per < best) best = per;
            }
            if (r >= 0) t[r] = best;
        }
        if (e == cudaSuccess && !s) per_call_s[k] = lf_stat_median(t, reps);
        for (int d = 0; d < n; d++) {
            cudaSetDevice(d);
            if (gx[d]) cudaGraphExecDestroy(gx[d]);
            if (g[d]) cudaGraphDestroy(g[d]);
            gx[d] = NULL;
            g[d] = NULL;
        }
    }
#undef OS_CAL
    if (e != cudaSuccess && !s) s = lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce calibration: %s on GPU %d: %s", what, at, cudaGetErrorString(e));
    for (int d = 0; d < n; d++) {
        cudaSetDevice(d);
        if (st[d]) cudaStreamSynchronize(st[d]);
        if (e0[d]) cudaEventDestroy(e0[d]);
        if (e1[d]) cudaEventDestroy(e1[d]);
        if (st[d]) cudaStreamDestroy(st[d]);
        cudaFree(x[d]);
        cudaFree(mem[d]);
        for (int p = 0; p < n; p++)
            if (enabled[d][p]) cudaDeviceDisablePeerAccess(p);
    }
    cudaSetDevice(0);
    cudaGetLastError();
    return s;
}
