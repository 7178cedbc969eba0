// bulk_ring.h — the weight ring that the one-token kernels share (CUDA only, not for C code): a
// producer thread copies a block's contiguous rows of a weight matrix into shared-memory slots
// with bulk asynchronous copies (cp.async.bulk, completion counted in bytes on an mbarrier), and
// consumer warps dot each row with the activation vector as soon as its slot is full. What the
// persistent decode kernel (decode_stream.cu) and the one-token GEMV (gemv_bulk.cu) share: the
// mbarriers, the copy, the row dot and the device query; each walks its ring its own way.
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

// The device the one-token kernels run on: SM count, shared memory a block may opt in to; 0 when
// there is no current device or it is older than compute capability 9.0 (the sm_90 instructions
// above). Host code.
typedef struct { int sms, smem_optin; } bulk_device;
static inline int bulk_device_info(bulk_device *d) {
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&d->sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&d->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return 0;
    return major >= 9;
}

#endif
