// decode_stream.cu — the one-token decode step as one persistent kernel ("weight stream"): every
// layer's RMSNorm, QKV, RoPE + KV-cache write, attention, o_proj + residual, gate/up + SwiGLU and
// down + residual, for a step of one token on one GPU (no TP/PP), fp16 or bf16.
//
// Why: in the kernel-per-operation chain each kernel boundary costs ~2 µs at one token (session 17
// measured 1.7-2.3 µs per boundary with PDL), ~18 µs per 7B layer above the weight stream, and
// every fusion that removed a boundary inside that chain added as much elsewhere. Here the weight
// bytes never wait for a boundary: one block per SM; in each block one producer thread copies the
// block's slice of every weight matrix of the step, in order, into a ring of shared-memory slots
// with bulk asynchronous copies (cp.async.bulk, completion on an mbarrier). The weights depend on
// no activation, so the producer runs ahead across the grid barriers between the dependent phases
// while the 8 consumer warps wait there: HBM keeps streaming the next matrix while the grid
// synchronises and while the attention runs.
//
// Phases of a layer (consumers; a grid barrier after each but the last of the step):
//   1. RMSNorm of the residual (every block, the same sums in the same order) into shared memory;
//      QKV rows of this block: qkv = T(xn . W)
//   2. attention: one item per (query head, context split): q and the new k rotated (RoPE) from
//      the raw qkv, the new k, v written to the cache by the first head of each KV group's last
//      split, keys split over the item's 16-byte lane groups, online softmax; the item's
//      unnormalised partial (o, max, sum) to global scratch
//   3. the splits merged (every block, for all heads) into shared memory as T; o_proj rows of this
//      block: resid += a . W
//   4. RMSNorm with ffn_norm; gate rows, then up rows of this block: act = T(silu(T(g)) * T(u))
//   5. act into shared memory; down rows of this block: resid += act . W
// A block's rows of a matrix are one contiguous range (row-major W), so its weight slice is one
// contiguous byte range, copied in slots of whole rows. Row j of a segment belongs to consumer
// warp j % 8, which reads it whole from the slot and sums it alone (lanes, then the warp, in a
// fixed order: the same bits every run).
//
// Status (session 26, docs/perf-notes.md): correct (tests/cuda/test_cuda_kernels.c --stream,
// against the CPU and the kernel chain) but slower than the chain at every point measured, so it
// is opt-in (LF_CUDA_STREAM=1). llama-2-7b bs 1 in 128 on an H200: 3.9 ms against the chain's
// 3.47; the bare stream (no math, no attention, no barriers) runs at 3.10 ms (4.25 TB/s). What is
// above that: ~0.4 ms of grid barriers the ring does not hide, ~0.4 ms of CUDA-core row math,
// ~0.2 ms of attention. Measured and dropped: whole-row sums split over the 8 warps with a block
// barrier per slot (5.5 ms), rows on the tensor cores (1/8 of each MMA useful: slower), 15 consumer
// warps (no gain), L2 prefetch of the weights a ring ahead (slower) and of the attention's rows
// (no gain); the dropped forms are in docs/results/h200-2026-11-22-s26/.
//
// The grid barrier is a counter zeroed before the launch (a memset node of the step's graph):
// consumers of a block meet at a named barrier, one thread adds 1 with release semantics and
// spins with acquire loads until every block has arrived. Data written by other blocks within the
// launch is read with ld.global.cg (L2), never through L1.
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"
#include "kernel_math.h"
#include "rope_angle.h"
#include "bulk_ring.h"

#define DS_CW 8                    // consumer warps
#define DS_CT (DS_CW * 32)         // consumer threads
#define DS_THREADS (DS_CT + 32)    // + the producer warp
#define DS_SLOT_MIN 24576          // bytes per ring slot at least (3 rows of K = 4096 in fp16)
#define DS_SLOTS_MAX 16
#define DS_SEG_ROWS 256            // rows of one matrix per block at most (rows / blocks)
#define DS_SPLITS_MAX 64           // context splits per head at most
// lf_stream_args.debug (timing experiments only: the results are then wrong)
#define DS_DEBUG_NO_ATTN 1         // no attention items
#define DS_DEBUG_NO_BARRIER 2      // no grid barriers
#define DS_DEBUG_NO_MATH 4         // the GEMV slots waited for and released, not computed

// ---------------------------------------------------------------------------------------------
// PTX helpers of this kernel alone: the consumers' named barrier, the grid counter (the mbarriers,
// the bulk copy and the row dot are bulk_ring.h's)
__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, %0;\n" ::"n"(DS_CT) : "memory"); }
__device__ __forceinline__ unsigned ld_acquire(const unsigned *p) {
    unsigned v = 0;
#if BR_ARCH_OK
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
#endif
    return v;
}
__device__ __forceinline__ void red_release_add(unsigned *p, unsigned v) {
#if BR_ARCH_OK
    asm volatile("red.release.gpu.global.add.u32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
#endif
}

// every block's consumers arrive; returns when all gridDim.x blocks have (the n-th barrier of the
// launch, n from 1)
__device__ __forceinline__ void grid_barrier(unsigned *ctr, unsigned n) {
    consumers_sync();
    if (threadIdx.x == 0) {
        red_release_add(ctr, 1u);
        const unsigned target = n * gridDim.x;
        while (ld_acquire(ctr) < target) {}
    }
    consumers_sync();
}

__device__ __forceinline__ void ds_barrier(const lf_stream_args &a, unsigned n) {
    if (a.debug & DS_DEBUG_NO_BARRIER) consumers_sync();
    else grid_barrier(a.barrier, n);
}

// the consumers' sum of v (every consumer thread gets it; fixed order: lanes, then warps 0..7)
__device__ __forceinline__ float consumers_sum(float v, float *red /* [DS_CW + 1] */) {
    v = warp_sum(v);
    const int w = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 0) red[w] = v;
    consumers_sync();
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < DS_CW; i++) s += red[i];
    consumers_sync();
    return s;
}

// ---------------------------------------------------------------------------------------------
// The step's weight schedule, walked the same way by the producer and the consumers: per layer
// the segments QKV, O, GATE, UP, DOWN; per segment this block's rows [r0, r1) in slots of R rows.
enum { SEG_QKV, SEG_O, SEG_GATE, SEG_UP, SEG_DOWN, SEG_COUNT };
typedef struct {
    const char *w;   // the matrix's first row of this segment (row-major [N][K])
    int n, k;        // rows, columns
} ds_seg;
__device__ __forceinline__ ds_seg seg_of(const lf_stream_args &a, const lf_stream_layer &L, int s, int es) {
    ds_seg g;
    switch (s) {
    case SEG_QKV: g.w = (const char *)L.wqkv; g.n = a.qkv_dim; g.k = a.dim; break;
    case SEG_O: g.w = (const char *)L.wo; g.n = a.dim; g.k = a.q_dim; break;
    case SEG_GATE: g.w = (const char *)L.wgu; g.n = a.ffn; g.k = a.dim; break;
    case SEG_UP: g.w = (const char *)L.wgu + (size_t)a.ffn * a.dim * es; g.n = a.ffn; g.k = a.dim; break;
    default: g.w = (const char *)L.wdown; g.n = a.dim; g.k = a.ffn; break;
    }
    return g;
}
// ---------------------------------------------------------------------------------------------
// The ring of this kernel: every block's fixed row range of each matrix, walked in the same order
// by the producer (ring_fill) and the consumers (ring_rows).

// block b's rows of n split over G blocks: [rows_begin(n, b, G), rows_begin(n, b + 1, G))
__device__ __forceinline__ int rows_begin(int n, int b, int G) { return (int)(((long long)n * b) / G); }
// whole rows of k elements of es bytes in one slot
__device__ __forceinline__ int rows_per_slot(int k, int es, int slot_bytes) { return slot_bytes / (k * es); }

// The ring: n slots of `bytes` each; full[i] completes when slot i's copy has landed, empty[i]
// when every consumer warp has released it.
struct ds_ring {
    char *slots;
    uint64_t *full, *empty;
    int n, bytes;
};

// The producer's side of rows [r0, r1) of a row-major matrix w ([.][k] of T), R rows per slot:
// each slot, once released (after its first use), refilled with the next rows. `it` counts the
// ring slots filled (the same count as the consumers').
template <typename T>
__device__ __forceinline__ void ring_fill(const ds_ring &ring, const T *w, int k, int r0, int r1, int R, uint32_t &it) {
    for (int r = r0; r < r1; r += R, it++) {
        const int nr = min(R, r1 - r), slot = (int)(it % (uint32_t)ring.n);
        if (it >= (uint32_t)ring.n) mbar_wait(&ring.empty[slot], ((it / (uint32_t)ring.n) - 1u) & 1u);
        const uint32_t bytes = (uint32_t)nr * (uint32_t)k * (uint32_t)sizeof(T);
        mbar_expect_tx(&ring.full[slot], bytes);
        bulk_copy(ring.slots + (size_t)slot * ring.bytes, w + (size_t)r * k, bytes, &ring.full[slot]);
    }
}

// The consumers' side of the same rows: x (T [k], shared or global memory) dotted with each row;
// out(row, y) for each of them. Row j (j = row - r0) belongs to consumer warp j % CW, which reads
// it whole: its lanes' sums in a fixed order, then the warp's sum (the same bits every run). Every
// warp waits for every slot (so none runs a ring cycle ahead) and releases it after its rows
// there. skip_math: the slots waited for and released, not computed (timing experiments only).
template <typename T, int CW, typename Out>
__device__ __forceinline__ void ring_rows(const ds_ring &ring, int k, const T *x, int r0, int r1, int R, uint32_t &it,
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

// RMSNorm of the fp32 residual (every block the same sums) into x_s as T
template <typename T>
__device__ __forceinline__ void norm_to_shared(const float *resid, const T *w, int n, float eps, T *x_s, float *red) {
    const int tid = threadIdx.x;
    const float4 *r4 = reinterpret_cast<const float4 *>(resid);
    float ss = 0.f;
    for (int i = tid; i < n / 4; i += DS_CT) {
        const float4 v = __ldcg(r4 + i);
        ss = fmaf(v.x, v.x, ss); ss = fmaf(v.y, v.y, ss); ss = fmaf(v.z, v.z, ss); ss = fmaf(v.w, v.w, ss);
    }
    ss = consumers_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = tid; i < n / 4; i += DS_CT) {
        const float4 v = __ldcg(r4 + i);
        const float wa = TT<T>::f(w[4 * i]), wb = TT<T>::f(w[4 * i + 1]), wc = TT<T>::f(w[4 * i + 2]), wd = TT<T>::f(w[4 * i + 3]);
        uint2 o;
        o.x = pack2<T>(v.x * inv * wa, v.y * inv * wb);
        o.y = pack2<T>(v.z * inv * wc, v.w * inv * wd);
        reinterpret_cast<uint2 *>(x_s)[i] = o;
    }
    consumers_sync();
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the attention item (head h, split s) of this block. LPK = head_dim / 8 lanes per key
// (8 dims each), NG = DS_CT / LPK key groups. Partials: [n_heads][n_splits][head_dim + 4] floats
// (o unnormalised, then max (log2 units), sum).
#define DS_ATT_BATCH 4
template <typename T, int HD>
__device__ void attention_item(const lf_stream_args &a, int layer, int h, int s, float *scratch /* NG * (HD + 2) floats */) {
    constexpr int LPK = HD / 8, NG = DS_CT / LPK;
    const int tid = threadIdx.x, g = tid / LPK, gl = tid % LPK;
    const int group = a.n_heads / a.n_kv, kvh = h / group;
    const int p = a.pos[0], sq = a.seq[0], L = p + 1;
    const int chunk = (L + a.n_splits - 1) / a.n_splits;
    const int k0 = s * chunk, k1 = min(L, k0 + chunk);
    const int kv_dim = a.n_kv * HD;
    const T *qkv = (const T *)a.qkv;
    // q (head h) and the new k (head kvh), rotated, rounded to T as the cache holds k
    float q[8], kn[8], vn[8];
    {
        const uint4 qu = __ldcg(reinterpret_cast<const uint4 *>(qkv + (size_t)h * HD) + gl);
        const uint4 ku = __ldcg(reinterpret_cast<const uint4 *>(qkv + a.q_dim + (size_t)kvh * HD) + gl);
        const uint4 vu = __ldcg(reinterpret_cast<const uint4 *>(qkv + a.q_dim + kv_dim + (size_t)kvh * HD) + gl);
        const typename TT<T>::T2 *q2 = reinterpret_cast<const typename TT<T>::T2 *>(&qu);
        const typename TT<T>::T2 *k2 = reinterpret_cast<const typename TT<T>::T2 *>(&ku);
        const typename TT<T>::T2 *v2 = reinterpret_cast<const typename TT<T>::T2 *>(&vu);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 f = TT<T>::f2(q2[i]); q[2 * i] = f.x; q[2 * i + 1] = f.y;
            f = TT<T>::f2(k2[i]); kn[2 * i] = f.x; kn[2 * i + 1] = f.y;
            f = TT<T>::f2(v2[i]); vn[2 * i] = f.x; vn[2 * i + 1] = f.y;
        }
        float qo[8], ko[8], sn[8], cs[8];
        rope_lane_angles<HD>(gl, p, a.inv_freq, a.interleaved, sn, cs);
        if (a.interleaved) {
#pragma unroll
            for (int i = 0; i < 8; i += 2) {
                rope_rotate(q[i], q[i + 1], cs[i], sn[i], qo[i], qo[i + 1]);
                rope_rotate(kn[i], kn[i + 1], cs[i], sn[i], ko[i], ko[i + 1]);
            }
        } else {   // element i pairs with element i of lane gl ^ LPK/2 (half a head away)
            const bool lower = gl < LPK / 2;
#pragma unroll
            for (int i = 0; i < 8; i++) {
                const float qp = __shfl_xor_sync(0xffffffffu, q[i], LPK / 2), kp = __shfl_xor_sync(0xffffffffu, kn[i], LPK / 2);
                float y0, y1;
                if (lower) { rope_rotate(q[i], qp, cs[i], sn[i], y0, y1); qo[i] = y0; rope_rotate(kn[i], kp, cs[i], sn[i], y0, y1); ko[i] = y0; }
                else { rope_rotate(qp, q[i], cs[i], sn[i], y0, y1); qo[i] = y1; rope_rotate(kp, kn[i], cs[i], sn[i], y0, y1); ko[i] = y1; }
            }
        }
        uint4 kw;
        kw.x = pack2<T>(ko[0], ko[1]); kw.y = pack2<T>(ko[2], ko[3]); kw.z = pack2<T>(ko[4], ko[5]); kw.w = pack2<T>(ko[6], ko[7]);
        const typename TT<T>::T2 *kr = reinterpret_cast<const typename TT<T>::T2 *>(&kw);
        const float sl = a.scale * 1.4426950408889634f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float2 f = TT<T>::f2(kr[i]);
            kn[2 * i] = f.x; kn[2 * i + 1] = f.y;
            const float2 qf = TT<T>::f2(TT<T>::mk2(qo[2 * i], qo[2 * i + 1]));
            q[2 * i] = qf.x * sl; q[2 * i + 1] = qf.y * sl;
        }
        // the new k, v into the cache at position p: the first head of the group, its last split
        const size_t row = ((size_t)sq * a.max_ctx + p) * kv_dim + (size_t)kvh * HD;
        if (h % group == 0 && k0 <= p && p < k1 && g == 0) {
            T *kc = (T *)((char *)a.k_cache + (size_t)layer * a.layer_kv_bytes);
            T *vc = (T *)((char *)a.v_cache + (size_t)layer * a.layer_kv_bytes);
            reinterpret_cast<uint4 *>(kc + row)[gl] = kw;
            reinterpret_cast<uint4 *>(vc + row)[gl] = vu;
        }
    }
    const T *kc = (const T *)((const char *)a.k_cache + (size_t)layer * a.layer_kv_bytes);
    const T *vc = (const T *)((const char *)a.v_cache + (size_t)layer * a.layer_kv_bytes);
    const size_t base = (size_t)sq * a.max_ctx * kv_dim + (size_t)kvh * HD + gl * 8;
    float m = -INFINITY, l = 0.f, o[8];
#pragma unroll
    for (int i = 0; i < 8; i++) o[i] = 0.f;
    // every lane runs the same iterations (the score's shuffles need the whole warp); a group
    // past the split's end takes no part in the update
    for (int kb = k0; kb < k1; kb += NG * DS_ATT_BATCH) {
        uint4 ku[DS_ATT_BATCH], vu[DS_ATT_BATCH];
#pragma unroll
        for (int j = 0; j < DS_ATT_BATCH; j++) {
            const int k = kb + g + j * NG;
            if (k < k1 && k != p) {
                ku[j] = __ldg(reinterpret_cast<const uint4 *>(kc + base + (size_t)k * kv_dim));
                vu[j] = __ldg(reinterpret_cast<const uint4 *>(vc + base + (size_t)k * kv_dim));
            } else {
                ku[j] = make_uint4(0u, 0u, 0u, 0u);
                vu[j] = ku[j];
            }
        }
#pragma unroll
        for (int j = 0; j < DS_ATT_BATCH; j++) {
            const int k = kb + g + j * NG;
            float kf[8], vf[8];
            if (k == p) {
#pragma unroll
                for (int i = 0; i < 8; i++) { kf[i] = kn[i]; vf[i] = vn[i]; }
            } else {
                const typename TT<T>::T2 *k2 = reinterpret_cast<const typename TT<T>::T2 *>(&ku[j]);
                const typename TT<T>::T2 *v2 = reinterpret_cast<const typename TT<T>::T2 *>(&vu[j]);
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    float2 f = TT<T>::f2(k2[i]); kf[2 * i] = f.x; kf[2 * i + 1] = f.y;
                    f = TT<T>::f2(v2[i]); vf[2 * i] = f.x; vf[2 * i + 1] = f.y;
                }
            }
            float sc = 0.f;
#pragma unroll
            for (int i = 0; i < 8; i++) sc = fmaf(q[i], kf[i], sc);
#pragma unroll
            for (int off = LPK / 2; off > 0; off >>= 1) sc += __shfl_xor_sync(0xffffffffu, sc, off);
            if (k < k1) {
                const float mn = fmaxf(m, sc), corr = exp2f(m - mn), pe = exp2f(sc - mn);
                l = l * corr + pe;
#pragma unroll
                for (int i = 0; i < 8; i++) o[i] = fmaf(pe, vf[i], o[i] * corr);
                m = mn;
            }
        }
    }
    // the groups' states merged in shared memory, then written as this item's partial
    float *st = scratch + (size_t)g * (HD + 2);
#pragma unroll
    for (int i = 0; i < 8; i++) st[gl * 8 + i] = o[i];
    if (gl == 0) { st[HD] = m; st[HD + 1] = l; }
    consumers_sync();
    float *out = a.part + ((size_t)h * a.n_splits + s) * (HD + 4);
    for (int d = tid; d < HD; d += DS_CT) {
        float M = -INFINITY;
        for (int j = 0; j < NG; j++) M = fmaxf(M, scratch[(size_t)j * (HD + 2) + HD]);
        float acc = 0.f, den = 0.f;
        if (M != -INFINITY) {
            for (int j = 0; j < NG; j++) {
                const float *sj = scratch + (size_t)j * (HD + 2);
                const float e = sj[HD] == -INFINITY ? 0.f : exp2f(sj[HD] - M);
                acc = fmaf(e, sj[d], acc);
                den = fmaf(e, sj[HD + 1], den);
            }
        }
        out[d] = acc;
        if (d == 0) { out[HD] = M; out[HD + 1] = den; }
    }
}

// Phase 3's prologue: the splits of every head merged into x_s (T [q_dim]); wts: [n_heads *
// n_splits] floats of shared memory
template <typename T, int HD>
__device__ __forceinline__ void merge_to_shared(const lf_stream_args &a, T *x_s, float *wts) {
    const int tid = threadIdx.x, ns = a.n_splits;
    for (int h = tid; h < a.n_heads; h += DS_CT) {
        const float *ph = a.part + (size_t)h * ns * (HD + 4);
        float M = -INFINITY;
        for (int s = 0; s < ns; s++) M = fmaxf(M, __ldcg(ph + (size_t)s * (HD + 4) + HD));
        float den = 0.f;
        for (int s = 0; s < ns; s++) {
            const float ms = __ldcg(ph + (size_t)s * (HD + 4) + HD);
            const float e = ms == -INFINITY ? 0.f : exp2f(ms - M);
            wts[h * ns + s] = e;
            den = fmaf(e, __ldcg(ph + (size_t)s * (HD + 4) + HD + 1), den);
        }
        const float inv = 1.0f / den;
        for (int s = 0; s < ns; s++) wts[h * ns + s] *= inv;
    }
    consumers_sync();
    for (int e4 = tid; e4 < a.q_dim / 4; e4 += DS_CT) {
        const int h = (e4 * 4) / HD, d = (e4 * 4) % HD;
        const float *ph = a.part + (size_t)h * ns * (HD + 4) + d;
        float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
        for (int s = 0; s < ns; s++) {
            const float wgt = wts[h * ns + s];
            const float4 v = __ldcg(reinterpret_cast<const float4 *>(ph + (size_t)s * (HD + 4)));
            acc.x = fmaf(wgt, v.x, acc.x); acc.y = fmaf(wgt, v.y, acc.y); acc.z = fmaf(wgt, v.z, acc.z); acc.w = fmaf(wgt, v.w, acc.w);
        }
        uint2 o;
        o.x = pack2<T>(acc.x, acc.y);
        o.y = pack2<T>(acc.z, acc.w);
        reinterpret_cast<uint2 *>(x_s)[e4] = o;
    }
    consumers_sync();
}

// ---------------------------------------------------------------------------------------------
template <typename T, int HD>
__global__ void __launch_bounds__(DS_THREADS, 1) decode_stream_kernel(lf_stream_args a) {
#if !BR_ARCH_OK
    __trap(); // never launched there (lf_cuda_decode_stream_plan)
#else
    extern __shared__ __align__(128) unsigned char ds_smem[];
    const int es = (int)sizeof(T), G = gridDim.x, b = blockIdx.x;
    // shared memory: mbarriers | reduction scratch | partial sums | gate values | merge weights | x | ring
    uint64_t *full = reinterpret_cast<uint64_t *>(ds_smem), *empty = full + DS_SLOTS_MAX;
    float *red = reinterpret_cast<float *>(empty + DS_SLOTS_MAX);                 // [16]
    float *gate_s = red + 16;                                                        // [DS_SEG_ROWS]
    float *wts = gate_s + DS_SEG_ROWS;                                               // [n_heads * n_splits]
    T *x_s = reinterpret_cast<T *>(ds_smem + a.x_off);
    ds_ring ring;
    ring.slots = reinterpret_cast<char *>(ds_smem + a.ring_off);
    ring.full = full;
    ring.empty = empty;
    ring.n = a.n_slots;
    ring.bytes = a.slot_bytes;
    if (threadIdx.x == 0) {
        for (int i = 0; i < ring.n; i++) { mbar_init(&full[i], 1); mbar_init(&empty[i], DS_CW); }
        mbar_init_fence();
    }
    __syncthreads();

    if (threadIdx.x >= DS_CT) {   // the producer: this block's slice of every matrix, in order
        if (threadIdx.x != DS_CT) return;
        uint32_t it = 0;
        for (int l = 0; l < a.n_layers; l++) {
            const lf_stream_layer L = a.layers[l];
            for (int sg = 0; sg < SEG_COUNT; sg++) {
                const ds_seg g = seg_of(a, L, sg, es);
                ring_fill<T>(ring, reinterpret_cast<const T *>(g.w), g.k, rows_begin(g.n, b, G), rows_begin(g.n, b + 1, G),
                             rows_per_slot(g.k, es, ring.bytes), it);
            }
        }
        return;
    }

    // the consumers
    uint32_t it = 0, nbar = 0;
    float *resid = a.resid;
    T *qkv = (T *)a.qkv, *act = (T *)a.act;
    for (int l = 0; l < a.n_layers; l++) {
        const lf_stream_layer L = a.layers[l];
        ds_seg g;
        int r0, r1;
        // 1. norm, QKV
        norm_to_shared<T>(resid, (const T *)L.attn_norm, a.dim, a.eps, x_s, red);
        g = seg_of(a, L, SEG_QKV, es);
        r0 = rows_begin(g.n, b, G); r1 = rows_begin(g.n, b + 1, G);
        ring_rows<T, DS_CW>(ring, g.k, x_s, r0, r1, rows_per_slot(g.k, es, ring.bytes), it, a.debug & DS_DEBUG_NO_MATH,
                        [&](int row, float y) { qkv[row] = TT<T>::mk(y); });
        ds_barrier(a, ++nbar);
        // 2. attention items
        for (int item = b; item < a.n_heads * a.n_splits && !(a.debug & DS_DEBUG_NO_ATTN); item += G) {
            attention_item<T, HD>(a, l, item / a.n_splits, item % a.n_splits, reinterpret_cast<float *>(x_s));
            consumers_sync();
        }
        ds_barrier(a, ++nbar);
        // 3. merge, o_proj + residual
        merge_to_shared<T, HD>(a, x_s, wts);
        g = seg_of(a, L, SEG_O, es);
        r0 = rows_begin(g.n, b, G); r1 = rows_begin(g.n, b + 1, G);
        ring_rows<T, DS_CW>(ring, g.k, x_s, r0, r1, rows_per_slot(g.k, es, ring.bytes), it, a.debug & DS_DEBUG_NO_MATH,
                        [&](int row, float y) { resid[row] = y + __ldcg(resid + row); });
        ds_barrier(a, ++nbar);
        // 4. norm, gate, up, SwiGLU
        norm_to_shared<T>(resid, (const T *)L.ffn_norm, a.dim, a.eps, x_s, red);
        g = seg_of(a, L, SEG_GATE, es);
        r0 = rows_begin(g.n, b, G); r1 = rows_begin(g.n, b + 1, G);
        ring_rows<T, DS_CW>(ring, g.k, x_s, r0, r1, rows_per_slot(g.k, es, ring.bytes), it, a.debug & DS_DEBUG_NO_MATH,
                        [&](int row, float y) { gate_s[row - r0] = TT<T>::f(TT<T>::mk(y)); });
        g = seg_of(a, L, SEG_UP, es);
        ring_rows<T, DS_CW>(ring, g.k, x_s, r0, r1, rows_per_slot(g.k, es, ring.bytes), it, a.debug & DS_DEBUG_NO_MATH, [&](int row, float y) {
            const float gf = gate_s[row - r0], uf = TT<T>::f(TT<T>::mk(y));
            act[row] = TT<T>::mk(gf / (1.0f + expf(-gf)) * uf);
        });
        ds_barrier(a, ++nbar);
        // 5. down + residual
        for (int i = threadIdx.x; i < a.ffn / 8; i += DS_CT)
            reinterpret_cast<uint4 *>(x_s)[i] = __ldcg(reinterpret_cast<const uint4 *>(act) + i);
        consumers_sync();
        g = seg_of(a, L, SEG_DOWN, es);
        r0 = rows_begin(g.n, b, G); r1 = rows_begin(g.n, b + 1, G);
        ring_rows<T, DS_CW>(ring, g.k, x_s, r0, r1, rows_per_slot(g.k, es, ring.bytes), it, a.debug & DS_DEBUG_NO_MATH,
                        [&](int row, float y) { resid[row] = y + __ldcg(resid + row); });
        if (l + 1 < a.n_layers) ds_barrier(a, ++nbar);
    }
#endif
}

// ---------------------------------------------------------------------------------------------
// launcher

static int imax3(int x, int y, int z) { const int m = x > y ? x : y; return m > z ? m : z; }

// the layout of shared memory and the ring for these shapes; 0 with *why set when not possible
static int ds_plan(lf_stream_args *a, int es, const bulk_device *d, const char **why) {
    const int kmax = imax3(a->dim, a->q_dim, a->ffn);   // the longest row (and x)
    if (a->head_dim != 64 && a->head_dim != 128) { *why = "head_dim is not 64 or 128"; return 0; }
    if (a->dim % 64 || a->q_dim % 64 || a->ffn % 64 || a->qkv_dim % 8) { *why = "a dimension is not a multiple of 64"; return 0; }
    if (a->n_heads % a->n_kv) { *why = "heads not a multiple of KV heads"; return 0; }
    const int G = d->sms;
    a->n_splits = G / a->n_heads;
    if (a->n_splits < 1) a->n_splits = 1;
    if (a->n_splits > DS_SPLITS_MAX) a->n_splits = DS_SPLITS_MAX;
    const int nmax = imax3(a->qkv_dim, a->dim, a->ffn);   // the most rows of a matrix
    if ((nmax + G - 1) / G > DS_SEG_ROWS) { *why = "too many rows of a matrix per block"; return 0; }
    const int lpk = a->head_dim / 8, ng = DS_CT / lpk;
    size_t head = (size_t)2 * DS_SLOTS_MAX * 8 + (16 + DS_SEG_ROWS) * sizeof(float) +
                  (size_t)a->n_heads * a->n_splits * sizeof(float);
    head = (head + 127) & ~(size_t)127;
    size_t xb = (size_t)kmax * es, att = (size_t)ng * (a->head_dim + 2) * sizeof(float);
    if (att > xb) xb = att;
    xb = (xb + 127) & ~(size_t)127;
    int slot = (int)(((size_t)kmax * es + 127) & ~(size_t)127);
    const int want = a->slot_kb > 0 ? a->slot_kb * 1024 : DS_SLOT_MIN;
    if (slot < want) slot = want;
    const long long room = (long long)d->smem_optin - (long long)(head + xb);
    int ns = room > 0 ? (int)(room / slot) : 0;
    if (ns > DS_SLOTS_MAX) ns = DS_SLOTS_MAX;
    if (ns < 3) { *why = "rows too long for a ring of 3 slots in shared memory"; return 0; }
    a->x_off = (int)head;
    a->ring_off = (int)(head + xb);
    a->slot_bytes = slot;
    a->n_slots = ns;
    a->smem_bytes = (int)(head + xb + (size_t)ns * slot);
    a->blocks = G;
    return 1;
}

extern "C" int lf_cuda_decode_stream_plan(lf_dtype dt, lf_stream_args *a, const char **why) {
    static const char *dummy;
    if (!why) why = &dummy;
    if (dt != LF_DT_F16 && dt != LF_DT_BF16) { *why = "dtype is not fp16 or bf16"; return 0; }
    bulk_device d;
    if (!bulk_device_info(&d)) { *why = "needs a GPU of compute capability 9.0 or later"; return 0; }
    return ds_plan(a, 2, &d, why);
}

template <typename T, int HD> static cudaError_t ds_launch(const lf_stream_args *a, cudaStream_t st) {
    // per device and cheap: set at every launch (no stream work, so also while a graph is captured)
    const cudaError_t e = cudaFuncSetAttribute(decode_stream_kernel<T, HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, a->smem_bytes);
    if (e != cudaSuccess) return e;
    int per_sm = 0;   // a cooperative launch needs every block resident: one per SM
    const cudaError_t eo = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, decode_stream_kernel<T, HD>, DS_THREADS, a->smem_bytes);
    if (eo != cudaSuccess) return eo;
    if (per_sm < 1) return cudaErrorCooperativeLaunchTooLarge;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(a->blocks);
    cfg.blockDim = dim3(DS_THREADS);
    cfg.dynamicSmemBytes = a->smem_bytes;
    cfg.stream = st;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeCooperative;
    at[0].val.cooperative = 1;
    cfg.attrs = at;
    cfg.numAttrs = 1;
    return cudaLaunchKernelEx(&cfg, decode_stream_kernel<T, HD>, *a);
}

extern "C" lf_status lf_cuda_decode_stream(lf_dtype dt, const lf_stream_args *a, cudaStream_t st) {
    if (a->blocks <= 0 || a->n_slots < 3) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA decode stream: not planned (lf_cuda_decode_stream_plan)");
    CUDA_CHECK(cudaMemsetAsync(a->barrier, 0, sizeof(unsigned), st));
    cudaError_t e;
    if (dt == LF_DT_F16) e = a->head_dim == 128 ? ds_launch<__half, 128>(a, st) : ds_launch<__half, 64>(a, st);
    else if (dt == LF_DT_BF16) e = a->head_dim == 128 ? ds_launch<__nv_bfloat16, 128>(a, st) : ds_launch<__nv_bfloat16, 64>(a, st);
    else return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA decode stream: dtype %s", lf_dtype_name(dt));
    if (e != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "CUDA decode stream: launch of decode_stream_kernel: %s", cudaGetErrorString(e));
    return LINFER_OK;
}
