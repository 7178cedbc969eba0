// kernel_math.h — the device helpers that the CUDA backend's kernel files share (CUDA only, not for
// C code): the element types' conversions (TT), packing and 8-wide dot products, warp and block
// sums, the argmax rule, the RoPE pair rotation and a lane's RoPE angles, the tensor-core MMA m16n8k16, and grid_for.
#ifndef LF_CUDA_KERNEL_MATH_H
#define LF_CUDA_KERNEL_MATH_H
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stddef.h>
#include <stdint.h>
#include "rope_angle.h"

// ---------------------------------------------------------------------------------------------
// type helpers
template <typename T> struct TT;
template <> struct TT<__half> {
    typedef __half2 T2;
    static __device__ __forceinline__ float f(__half v) { return __half2float(v); }
    static __device__ __forceinline__ __half mk(float v) { return __float2half_rn(v); }
    static __device__ __forceinline__ float2 f2(__half2 v) { return __half22float2(v); }
    static __device__ __forceinline__ __half2 mk2(float a, float b) { return __floats2half2_rn(a, b); }
};
template <> struct TT<__nv_bfloat16> {
    typedef __nv_bfloat162 T2;
    static __device__ __forceinline__ float f(__nv_bfloat16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ __nv_bfloat16 mk(float v) { return __float2bfloat16_rn(v); }
    static __device__ __forceinline__ float2 f2(__nv_bfloat162 v) { return __bfloat1622float2(v); }
    static __device__ __forceinline__ __nv_bfloat162 mk2(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

template <typename T> __device__ __forceinline__ uint32_t pack2(float a, float b) {
    typename TT<T>::T2 v = TT<T>::mk2(a, b); // a in the low half
    return *reinterpret_cast<uint32_t *>(&v);
}
// 8 consecutive T (one uint4) dotted with 8 floats' worth of another uint4 of T
template <typename T> __device__ __forceinline__ float dot8(uint4 a, uint4 b) {
    typedef typename TT<T>::T2 T2;
    const T2 *pa = reinterpret_cast<const T2 *>(&a), *pb = reinterpret_cast<const T2 *>(&b);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 x = TT<T>::f2(pa[i]), y = TT<T>::f2(pb[i]);
        s = fmaf(x.x, y.x, s);
        s = fmaf(x.y, y.y, s);
    }
    return s;
}

// sum over each group of W consecutive lanes (W a power of two <= 32); every lane of a group
// gets its group's sum (V: float, double or an integer type)
template <int W = 32, typename V> __device__ __forceinline__ V warp_sum(V v) {
#pragma unroll
    for (int o = W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// block-wide sum (blockDim.x multiple of 32, <= 1024); every thread gets the result
template <typename V> __device__ __forceinline__ V block_sum(V v, V *red /* [33] */) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        V t = lane < nw ? red[lane] : (V)0;
        t = warp_sum(t);
        if (lane == 0) red[32] = t;
    }
    __syncthreads();
    return red[32];
}

// (value, index) of the larger value, the lower index on ties (NaN never wins): the argmax rule of
// the CPU reference lf_cpu_argmax, for the argmax and sampling kernels
__device__ __forceinline__ void argmax_take(float v, int i, float *best, int *bi) {
    if (v > *best || (v == *best && i < *bi)) { *best = v; *bi = i; }
}
// the warp's best (value, index) in every lane
__device__ __forceinline__ void argmax_warp(float *best, int *bi) {
    for (int o = 16; o >= 1; o >>= 1) {
        const float v = __shfl_xor_sync(0xffffffffu, *best, o);
        const int i = __shfl_xor_sync(0xffffffffu, *bi, o);
        argmax_take(v, i, best, bi);
    }
}

static inline unsigned grid_for(size_t n, int threads, unsigned cap = 65535u * 8u) {
    size_t b = (n + threads - 1) / threads;
    if (b > cap) b = cap;
    if (b == 0) b = 1;
    return (unsigned)b;
}

// ---------------------------------------------------------------------------------------------
// The rotation of one RoPE pair, the one definition for every kernel that rotates (the RoPE kernel
// and the decode attention with RoPE fused in): explicit IEEE roundings, so no compiler can
// contract it into an FMA one way in one kernel and another way in the other (their bits must
// agree), and as the CPU reference computes it.
__device__ __forceinline__ void rope_rotate(float x0, float x1, float cs, float sn, float &y0, float &y1) {
    y0 = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
    y1 = __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs));
}

// sin and cos of the RoPE angles of lane gl's 8 elements (8gl .. 8gl+7 of a head) at position p,
// as rope_qkv_kernel computes them (the decode attention and the persistent decode kernel) (lf_rope_angle, sincosf). NEOX: lanes gl and gl ^ G/2 need the
// same 8 angles (pair j = element mod HD/2), so each computes 4 and they swap halves by shuffles;
// interleaved: the 4 pairs inside the lane.
template <int HD>
__device__ __forceinline__ void rope_lane_angles(int gl, int p, const float *__restrict__ inv_freq, int interleaved, float (&sn)[8],
                                                 float (&cs)[8]) {
    constexpr int G = HD / 8, half = HD / 2;
    if (interleaved) {
#pragma unroll
        for (int i = 0; i < 8; i += 2) {
            sincosf(lf_rope_angle(p, (gl * 8 + i) / 2, half, inv_freq, 1), &sn[i], &cs[i]);
            sn[i + 1] = sn[i];
            cs[i + 1] = cs[i];
        }
        return;
    }
    const bool lower = gl < G / 2;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float s, c;   /* lower lanes the angles of elements 0..3, upper lanes those of 4..7 (same pairs) */
        sincosf(lf_rope_angle(p, (gl * 8 + (lower ? i : i + 4)) % half, half, inv_freq, 0), &s, &c);
        const float ps = __shfl_xor_sync(0xffffffffu, s, G / 2, G), pc = __shfl_xor_sync(0xffffffffu, c, G / 2, G);
        sn[i] = lower ? s : ps;
        cs[i] = lower ? c : pc;
        sn[i + 4] = lower ? ps : s;
        cs[i + 4] = lower ? pc : c;
    }
}

// ---------------------------------------------------------------------------------------------
// mma.sync m16n8k16, fp32 accumulators (the tensor-core attention and the skinny GEMM)
template <typename T> __device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1);
template <> __device__ __forceinline__ void mma16816<__half>(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <> __device__ __forceinline__ void mma16816<__nv_bfloat16>(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The same MMA for A operands whose rows 8..15 are zero (a[1] = a[3] = 0): only this thread's
// row-g accumulators c0, c1 are kept; the zero rows' results are discarded, so they take no
// registers beyond the instruction (the GQA decode attention: the query heads of one KV group as
// rows 0..QG-1).
template <typename T> __device__ __forceinline__ void mma16816_top(float &c0, float &c1, uint32_t a0, uint32_t a2, uint32_t b0, uint32_t b1);
template <> __device__ __forceinline__ void mma16816_top<__half>(float &c0, float &c1, uint32_t a0, uint32_t a2, uint32_t b0, uint32_t b1) {
    asm("{\n .reg .f32 z2, z3;\n"
        " mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,z2,z3}, {%2,%3,%4,%3}, {%5,%6}, {%7,%8,%9,%9};\n}\n"
        : "=f"(c0), "=f"(c1)
        : "r"(a0), "r"(0u), "r"(a2), "r"(b0), "r"(b1), "f"(c0), "f"(c1), "f"(0.f));
}
template <> __device__ __forceinline__ void mma16816_top<__nv_bfloat16>(float &c0, float &c1, uint32_t a0, uint32_t a2, uint32_t b0, uint32_t b1) {
    asm("{\n .reg .f32 z2, z3;\n"
        " mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,z2,z3}, {%2,%3,%4,%3}, {%5,%6}, {%7,%8,%9,%9};\n}\n"
        : "=f"(c0), "=f"(c1)
        : "r"(a0), "r"(0u), "r"(a2), "r"(b0), "r"(b1), "f"(c0), "f"(c1), "f"(0.f));
}

#endif
