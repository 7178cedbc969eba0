// bulk_ring.h — the weight ring that the one-token kernels share (CUDA only, not for C code): a
// producer thread copies a block's contiguous rows of a weight matrix into shared-memory slots
// with bulk asynchronous copies (cp.async.bulk, completion counted in bytes on an mbarrier), and
// consumer warps dot each row with the activation vector as soon as its slot is full. The
// mbarriers, the copy and the row dot serve both the persistent decode kernel (decode_stream.cu)
// and the one-token GEMV (gemv_bulk.cu); the ring of fixed row ranges (bulk_ring, bulk_fill,
// bulk_rows) is the persistent kernel's, the GEMV claiming its rows from a counter instead.
//
// The instructions are sm_90's: code using them is compiled for compute capability 9.0 and later
// (BR_ARCH_OK); the launchers refuse older GPUs.
#ifndef LF_CUDA_BULK_RING_H
#define LF_CUDA_BULK_RING_H
#include <cuda_runtime.h>
#include <stdint.h>
#include "kernel_math.h"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define BR_ARCH_OK 0
#else
#define BR_ARCH_OK 1
#endif

__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void mbar_init(uint64_t *bar, uint32_t count) {
#if BR_ARCH_OK
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
#endif
}
// the barriers' initialisation made visible to the bulk copies (the async proxy); then a block barrier
__device__ __forceinline__ void mbar_init_fence() {
#if BR_ARCH_OK
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t *bar, uint32_t bytes) {
#if BR_ARCH_OK
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive(uint64_t *bar) {
#if BR_ARCH_OK
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
#endif
}
__device__ __forceinline__ void mbar_wait(uint64_t *bar, uint32_t parity) {
    uint32_t done = 1;
    do {
#if BR_ARCH_OK
        asm volatile("{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done)
                     : "r"(smem_u32(bar)), "r"(parity)
                     : "memory");
#endif
    } while (!done);
}
// bytes (a multiple of 16; 16-byte aligned addresses) from global memory into this block's shared
// memory; `bar` counts them when they land
__device__ __forceinline__ void bulk_copy(void *dst, const void *src, uint32_t bytes, uint64_t *bar) {
#if BR_ARCH_OK
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
                 ::"r"(smem_u32(dst)), "l"(src), "r"(bytes), "r"(smem_u32(bar))
                 : "memory");
#endif
}

// block b's rows of n split over G blocks: [rows_begin(n, b, G), rows_begin(n, b + 1, G))
__device__ __forceinline__ int rows_begin(int n, int b, int G) { return (int)(((long long)n * b) / G); }
// whole rows of k elements of es bytes in one slot
__device__ __forceinline__ int rows_per_slot(int k, int es, int slot_bytes) { return slot_bytes / (k * es); }

// The ring: n slots of `bytes` each; full[i] completes when slot i's copy has landed, empty[i]
// when every consumer warp has released it.
struct bulk_ring {
    char *slots;
    uint64_t *full, *empty;
    int n, bytes;
};

// The producer's side of rows [r0, r1) of a row-major matrix w ([.][k] of T), R rows per slot:
// each slot, once released (after its first use), refilled with the next rows. `it` counts the
// ring slots filled (the same count as the consumers').
template <typename T>
__device__ __forceinline__ void bulk_fill(const bulk_ring &ring, const T *w, int k, int r0, int r1, int R, uint32_t &it) {
    for (int r = r0; r < r1; r += R, it++) {
        const int nr = min(R, r1 - r), slot = (int)(it % (uint32_t)ring.n);
        if (it >= (uint32_t)ring.n) mbar_wait(&ring.empty[slot], ((it / (uint32_t)ring.n) - 1u) & 1u);
        const uint32_t bytes = (uint32_t)nr * (uint32_t)k * (uint32_t)sizeof(T);
        mbar_expect_tx(&ring.full[slot], bytes);
        bulk_copy(ring.slots + (size_t)slot * ring.bytes, w + (size_t)r * k, bytes, &ring.full[slot]);
    }
}

// One warp's dot of a row in shared memory (kv 16-byte vectors) with x: lane l adds vectors l,
// l + 32, ... in four interleaved sums, then the warp's sum (a fixed order: the same bits every
// run); every lane gets it.
template <typename T>
__device__ __forceinline__ float bulk_row_dot(const uint4 *wr, const uint4 *x4, int kv, int lane) {
    float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
    int v = lane;
    for (; v + 96 < kv; v += 128) {
        const uint4 w0 = wr[v], w1 = wr[v + 32], w2 = wr[v + 64], w3 = wr[v + 96];
        const uint4 y0 = x4[v], y1 = x4[v + 32], y2 = x4[v + 64], y3 = x4[v + 96];
        a0 += dot8<T>(w0, y0);
        a1 += dot8<T>(w1, y1);
        a2 += dot8<T>(w2, y2);
        a3 += dot8<T>(w3, y3);
    }
    for (; v < kv; v += 32) a0 += dot8<T>(wr[v], x4[v]);
    return warp_sum((a0 + a1) + (a2 + a3));
}

// The consumers' side of the same rows: x (T [k], shared or global memory) dotted with each row;
// out(row, y) for each of them. Row j (j = row - r0) belongs to consumer warp j % CW, which reads
// it whole: its lanes' sums in a fixed order, then the warp's sum (the same bits every run). Every
// warp waits for every slot (so none runs a ring cycle ahead) and releases it after its rows
// there. skip_math: the slots waited for and released, not computed (timing experiments only).
template <typename T, int CW, typename Out>
__device__ __forceinline__ void bulk_rows(const bulk_ring &ring, int k, const T *x, int r0, int r1, int R, uint32_t &it,
                                          int skip_math, Out out) {
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int kv = k / 8;   // 16-byte vectors per row
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
    for (int r = r0; r < r1; r += R, it++) {
        const int nr = min(R, r1 - r), slot = (int)(it % (uint32_t)ring.n);
        mbar_wait(&ring.full[slot], (it / (uint32_t)ring.n) & 1u);
        const uint4 *ws = reinterpret_cast<const uint4 *>(ring.slots + (size_t)slot * ring.bytes);
        for (int i = (w - (r - r0) % CW + CW) % CW; i < nr; i += CW) {
            const float y = bulk_row_dot<T>(ws + (size_t)i * kv, x4, skip_math ? 0 : kv, lane);
            if (lane == 0) out(r + i, y);
        }
        __syncwarp();
        if (lane == 0) mbar_arrive(&ring.empty[slot]);
    }
}

#endif
