// allreduce.cu — the one-shot all-reduce of tensor parallelism (small messages over peer memory):
// the pull kernel (flags, then reads of every peer's buffer) and the push kernel (tagged words
// stored into every peer's slots), behind lf_cuda_oneshot_allreduce (cuda_kernels.h).
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"

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
            const uint64_t *q = P.ll[rank] + region + (size_t)r * half_elems + i;
            uint64_t w = ld_volatile_u64(q);
            for (int spin = 0; (uint32_t)(w >> 32) != ep; spin++) {
                if ((spin & 1023) == 1023 && global_ns() - t0 > timeout_ns) __trap(); /* a peer never came */
                w = ld_volatile_u64(q);
            }
            sum += __uint_as_float((uint32_t)w);
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

