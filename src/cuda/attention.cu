// attention.cu — the CUDA backend's attention kernels and their extern "C" launchers
// (cuda_kernels.h): the simple kernel with its combine kernel, the decode kernel (flash-decoding,
// GQA-aware, RoPE and the KV-cache write fused in, splits merged through a cluster or global
// memory), and the tensor-core causal kernels for prefill tiles. Moved out of kernels.cu in
// session 18 without changes. T is __half or __nv_bfloat16; every sum accumulates in fp32.
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cooperative_groups.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"
#include "kernel_math.h"
#include "rope_angle.h"

// ---------------------------------------------------------------------------------------------
// Attention, simple version: one block per (token, head). Chunks of ATT_CHUNK positions:
// scores (one thread per position, the whole K row with VEC-element loads, q broadcast from
// shared memory) -> online softmax -> P.V (threads own VEC output dims of one of R row groups;
// the R partial sums are added at the end). VEC = 8 when head_dim % 8 == 0, else 2.
#define ATT_THREADS 128
#define ATT_CHUNK LF_ATTN_CHUNK
template <typename T, int VEC> struct VecT;
template <typename T> struct VecT<T, 8> { typedef uint4 U; };
template <typename T> struct VecT<T, 2> { typedef typename TT<T>::T2 U; };
// VEC elements at p as floats
template <typename T> __device__ __forceinline__ void load_vec(const T *p, float *f, uint4 *) {
    const uint4 u = __ldg(reinterpret_cast<const uint4 *>(p));
    const typename TT<T>::T2 *h = reinterpret_cast<const typename TT<T>::T2 *>(&u);
#pragma unroll
    for (int i = 0; i < 4; i++) { const float2 v = TT<T>::f2(h[i]); f[2 * i] = v.x; f[2 * i + 1] = v.y; }
}
template <typename T> __device__ __forceinline__ void load_vec(const T *p, float *f, typename TT<T>::T2 *) {
    const float2 v = TT<T>::f2(*reinterpret_cast<const typename TT<T>::T2 *>(p));
    f[0] = v.x; f[1] = v.y;
}

// Split-K ("flash-decoding"): with gridDim.z = ns > 1, block z covers positions
// [z*split_len, (z+1)*split_len) of the context and writes its unnormalised partial result
// (acc[hd], running max m, sum l) to part_o / part_ml; attn_combine_kernel merges the splits.
template <typename T, int VEC>
__global__ void __launch_bounds__(ATT_THREADS)
attn_simple_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                   const T *__restrict__ vc, int max_ctx, int kv_dim, const int32_t *__restrict__ pos,
                   const int32_t *__restrict__ seq, const int32_t *__restrict__ tok_idx, int n_heads, int n_kv, int hd,
                   float scale, int split_len, float *__restrict__ part_o, float *__restrict__ part_ml) {
    typedef typename VecT<T, VEC>::U U;
    extern __shared__ float att_smem[];
    pdl_enter();
    const int h = blockIdx.x;
    const int t = tok_idx ? tok_idx[blockIdx.y] : (int)blockIdx.y;
    const int tid = threadIdx.x, lane = tid & 31;
    const int kvh = h / (n_heads / n_kv);
    const int n_ctx = pos[t] + 1;
    const int c_begin = blockIdx.z * split_len, c_end = min(n_ctx, c_begin + split_len);
    const int nv = hd / VEC, R = ATT_THREADS / nv; // P.V: R row groups of nv threads
    float *qs = att_smem;                 // [hd], padded to a multiple of 8 (vector loads may read past hd)
    float *sc = qs + ((hd + 7) & ~7);     // [ATT_CHUNK]
    float *part = sc + ATT_CHUNK;         // [R][hd]
    const T *qrow = q + (size_t)t * q_stride + (size_t)h * hd;
    for (int d = tid; d < hd; d += ATT_THREADS) qs[d] = TT<T>::f(qrow[d]) * scale;
    const size_t base = (size_t)seq[t] * max_ctx * kv_dim + (size_t)kvh * hd;
    const T *kb = kc + base, *vb = vc + base;
    const int rg = tid / nv, dv = (tid - rg * nv) * VEC;
    const bool pv = rg < R;
    float m = -INFINITY, l = 0.f, acc[VEC];
#pragma unroll
    for (int i = 0; i < VEC; i++) acc[i] = 0.f;
    __syncthreads();
    for (int c0 = c_begin; c0 < c_end; c0 += ATT_CHUNK) {
        const int cn = min(ATT_CHUNK, c_end - c0);
        if (tid < cn) {
            const T *krow = kb + (size_t)(c0 + tid) * kv_dim;
            float dot = 0.f;
#pragma unroll 8
            for (int d = 0; d < hd; d += VEC) {
                float kf[VEC];
                load_vec<T>(krow + d, kf, (U *)0);
#pragma unroll
                for (int i = 0; i < VEC; i++) dot = fmaf(qs[d + i], kf[i], dot);
            }
            sc[tid] = dot;
        }
        __syncthreads();
        float mc = -INFINITY;
        for (int j = lane; j < cn; j += 32) mc = fmaxf(mc, sc[j]);
        mc = warp_max(mc);
        const float m_new = fmaxf(m, mc);
        const float ref = m_new == -INFINITY ? 0.f : m_new;
        const float corr = expf(m - ref);
        __syncthreads(); // all warps have read the scores
        if (tid < cn) sc[tid] = expf(sc[tid] - ref);
        __syncthreads();
        float ls = 0.f;
        for (int j = lane; j < cn; j += 32) ls += sc[j];
        ls = warp_sum(ls);
        l = l * corr + ls;
        m = m_new;
        if (pv) {
#pragma unroll
            for (int i = 0; i < VEC; i++) acc[i] *= corr;
#pragma unroll 8
            for (int j = rg; j < cn; j += R) {
                const float pj = sc[j];
                float vf[VEC];
                load_vec<T>(vb + (size_t)(c0 + j) * kv_dim + dv, vf, (U *)0);
#pragma unroll
                for (int i = 0; i < VEC; i++) acc[i] = fmaf(pj, vf[i], acc[i]);
            }
        }
        __syncthreads(); // before the next chunk overwrites sc
    }
    if (pv) {
#pragma unroll
        for (int i = 0; i < VEC; i++) part[rg * hd + dv + i] = acc[i];
    }
    __syncthreads();
    if (gridDim.z == 1) {
        const float inv_l = 1.0f / l;
        T *orow = out + (size_t)t * out_stride + (size_t)h * hd;
        for (int d = tid; d < hd; d += ATT_THREADS) {
            float v = 0.f;
            for (int r = 0; r < R; r++) v += part[r * hd + d];
            orow[d] = TT<T>::mk(v * inv_l);
        }
    } else {
        const size_t idx = ((size_t)blockIdx.y * n_heads + h) * gridDim.z + blockIdx.z;
        float *po = part_o + idx * hd;
        for (int d = tid; d < hd; d += ATT_THREADS) {
            float v = 0.f;
            for (int r = 0; r < R; r++) v += part[r * hd + d];
            po[d] = v;
        }
        if (tid == 0) { part_ml[2 * idx] = m; part_ml[2 * idx + 1] = l; }
    }
}

// Where the ns split partials of one (token, head) are: split z's running max m(z), sum l(z) and
// unnormalised p.V o(z, d). Global: ml = [ns][m, l], po = [ns][hd], read through L2 (__ldcg; in
// the decode kernel they come from other blocks of the same launch).
struct SplitsGlobal {
    const float *ml, *po;
    int hd;
    __device__ float m(int z) const { return __ldcg(ml + 2 * z); }
    __device__ float l(int z) const { return __ldcg(ml + 2 * z + 1); }
    __device__ float o(int z, int d) const { return __ldcg(po + (size_t)z * hd + d); }
};
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// Cluster: split z's (m, l) and p.V in the shared memory (s_ml, s_po) of block rank z of this
// thread's cluster, read through distributed shared memory.
struct SplitsCluster {
    cooperative_groups::cluster_group cl;
    float *s_ml, *s_po;
    __device__ float m(int z) const { return cl.map_shared_rank(s_ml, z)[0]; }
    __device__ float l(int z) const { return cl.map_shared_rank(s_ml, z)[1]; }
    __device__ float o(int z, int d) const { return cl.map_shared_rank(s_po, z)[d]; }
};
#endif

// Merge the ns split partials of one (token, head) in split order, the one definition for every
// place they sit (so the same bits from each); dimensions d0, d0 + dstep, ... of orow.
template <typename T, typename Splits>
__device__ __forceinline__ void attn_merge_splits(T *__restrict__ orow, const Splits &sp, int ns, int hd, int d0, int dstep) {
    float M = -INFINITY;
    for (int z = 0; z < ns; z++) M = fmaxf(M, sp.m(z));
    float den = 0.f;
    for (int z = 0; z < ns; z++) {
        const float mz = sp.m(z);
        den += mz == -INFINITY ? 0.f : expf(mz - M) * sp.l(z);
    }
    const float inv = 1.0f / den;
    for (int d = d0; d < hd; d += dstep) {
        float num = 0.f;
        for (int z = 0; z < ns; z++) {
            const float mz = sp.m(z);
            if (mz != -INFINITY) num += expf(mz - M) * sp.o(z, d);
        }
        orow[d] = TT<T>::mk(num * inv);
    }
}

template <typename T>
__global__ void attn_combine_kernel(T *__restrict__ out, int out_stride, const float *__restrict__ part_o,
                                    const float *__restrict__ part_ml, const int32_t *__restrict__ tok_idx, int n_heads,
                                    int hd, int ns) {
    pdl_enter();
    const int h = blockIdx.x;
    const int t = tok_idx ? tok_idx[blockIdx.y] : (int)blockIdx.y;
    const size_t base = ((size_t)blockIdx.y * n_heads + h) * ns;
    const SplitsGlobal sp = {part_ml + 2 * base, part_o + base * hd, hd};
    attn_merge_splits<T>(out + (size_t)t * out_stride + (size_t)h * hd, sp, ns, hd, threadIdx.x, blockDim.x);
}

// Attention for decode (and any token whose block reads its own context row by row), head_dim
// HD in {64, 128, 256}: one block of ATT_THREADS per (token, head, split). G = HD/8 threads share
// a context row, each holding 8 of its elements (16-byte loads); RPL = ATT_THREADS/G rows per
// round, RK rounds per chunk of CH = RK*RPL positions. Each thread issues all K and V loads of
// its RK rows of a chunk at once (V does not depend on the scores), so a chunk costs one memory
// latency; the scores are summed over the G lanes by shuffles, the chunk maximum is read from
// shared memory, and each thread keeps its row group's running p.V for its 8 dimensions. The row
// groups are added in order at the end. With splits (gridDim.z = ns > 1), each block writes its
// partial (acc, m, l) and the last block of a (token, head) to finish (a counter in
// `counters`, left at zero again) merges the ns partials in split order, so there is no combine
// kernel and the bits do not depend on which block finished last.
template <int HD> struct AttDec {
    static constexpr int G = HD / 8, RPL = ATT_THREADS / G, RK = HD == 64 ? 4 : 8, CH = RK * RPL;
};

// The 8 values of lane gl rotated with those angles, as rope_qkv_kernel does (rope_rotate): NEOX
// pairs (j, j + HD/2) across lanes gl and gl ^ G/2 (a shuffle), interleaved pairs (2j, 2j+1) inside
// the lane.
template <int HD>
__device__ __forceinline__ void rope_lane(float (&x)[8], int gl, const float (&sn)[8], const float (&cs)[8], int interleaved) {
    constexpr int G = HD / 8;
    float y[8];
    if (interleaved) {
#pragma unroll
        for (int i = 0; i < 8; i += 2) rope_rotate(x[i], x[i + 1], cs[i], sn[i], y[i], y[i + 1]);
    } else {
        const bool lower = gl < G / 2;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const float other = __shfl_xor_sync(0xffffffffu, x[i], G / 2, G);
            float y0, y1;
            if (lower) rope_rotate(x[i], other, cs[i], sn[i], y0, y1);
            else rope_rotate(other, x[i], cs[i], sn[i], y0, y1);
            y[i] = lower ? y0 : y1;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) x[i] = y[i];
}

// K and V of the chunk's rows c0 + r*RPL + gi (r < RK) for this thread's 8 elements; rows at or
// past c_end and skip_row read as zero.
template <typename T, int HD>
__device__ __forceinline__ void attn_load_chunk(const T *__restrict__ kb, const T *__restrict__ vb, int kv_dim, int c0, int c_end,
                                                int gi, int skip_row, uint4 (&kr)[AttDec<HD>::RK], uint4 (&vr)[AttDec<HD>::RK]) {
    const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int r = 0; r < AttDec<HD>::RK; r++) {
        const int row = c0 + r * AttDec<HD>::RPL + gi;
        const bool ok = row < c_end && row != skip_row;
        kr[r] = ok ? __ldg(reinterpret_cast<const uint4 *>(kb + (size_t)row * kv_dim)) : zero;
        vr[r] = ok ? __ldg(reinterpret_cast<const uint4 *>(vb + (size_t)row * kv_dim)) : zero;
    }
}

// p.V of dimension d: the RPL row groups' sums, added in group order
template <int RPL, int HD>
__device__ __forceinline__ float row_groups_sum(const float (&red)[RPL][HD], int d) {
    float v = 0.f;
#pragma unroll
    for (int g = 0; g < RPL; g++) v += red[g][d];
    return v;
}

// ROPE: q is the raw QKV row (q, k, v of the token, q_stride = its width), rotated here; the
// block whose split holds the token's own position takes that position's k (rotated) and v from
// the row instead of the cache, and the first q head of each KV group writes them to the cache
// (kc_w, vc_w) — what rope_qkv_kernel + this kernel do, in one kernel, the same bits. Only for
// steps with one token per sequence (no token attends to another's new position).
template <typename T, int HD, bool ROPE>
__global__ void __launch_bounds__(ATT_THREADS)
attn_decode_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                   const T *__restrict__ vc, int max_ctx, int kv_dim, const int32_t *__restrict__ pos,
                   const int32_t *__restrict__ seq, const int32_t *__restrict__ tok_idx, int n_heads, int n_kv,
                   float scale, int split_len, float *part_o, float *part_ml, unsigned *counters,
                   const T *__restrict__ bias, const float *__restrict__ inv_freq, int interleaved, T *kc_w, T *vc_w,
                   int cluster) {
    typedef AttDec<HD> P;
    constexpr int G = P::G, RPL = P::RPL, RK = P::RK, CH = P::CH;
    __shared__ __align__(16) float sc[2][CH];
    __shared__ float red[RPL][HD];
    __shared__ float lred[RPL];
    __shared__ int s_last;
    // ROPE steps (one token per sequence) read the step's metadata (tok_idx, pos, seq: copied
    // before the step's first kernel), the first chunk's cache rows other than this step's own
    // position (written by earlier steps) and the RoPE angles before the dependency wait, while the
    // QKV GEMM still runs: at this kernel's launch every kernel before that GEMM has completed (the
    // GEMM lets this one launch only after its own wait). Only q and the new k, v need the wait.
    if (!ROPE) pdl_enter();
    const int h = blockIdx.x;
    const int t = tok_idx ? tok_idx[blockIdx.y] : (int)blockIdx.y;
    const int tid = threadIdx.x, gi = tid / G, gl = tid % G;
    const int kvh = h / (n_heads / n_kv);
    const int n_ctx = pos[t] + 1;
    const int c_begin = blockIdx.z * split_len, c_end = min(n_ctx, c_begin + split_len);
    const size_t base = (size_t)seq[t] * max_ctx * kv_dim + (size_t)kvh * HD + gl * 8;
    const T *kb = kc + base, *vb = vc + base;
    const int p_new = n_ctx - 1;
    const bool has_new = ROPE && c_begin <= p_new && p_new < c_end;   // block-uniform
    const int skip_row = has_new ? p_new : -1;   // taken from the QKV row, not the cache
    uint4 kr[RK], vr[RK];
    float rsn[8], rcs[8];   // q and the new k share the position, so the angles
    if (ROPE) {
        attn_load_chunk<T, HD>(kb, vb, kv_dim, c_begin, c_end, gi, skip_row, kr, vr);
        rope_lane_angles<HD>(gl, p_new, inv_freq, interleaved, rsn, rcs);
        pdl_enter();
    }
    float qf[8];
    load_vec<T>(q + (size_t)t * q_stride + (size_t)h * HD + gl * 8, qf, (uint4 *)0);
    uint4 k_new = make_uint4(0, 0, 0, 0), v_new = make_uint4(0, 0, 0, 0);
    if (ROPE) {
        const int q_dim = n_heads * HD;
        if (bias) {
            float bq[8];
            load_vec<T>(bias + (size_t)h * HD + gl * 8, bq, (uint4 *)0);
#pragma unroll
            for (int i = 0; i < 8; i++) qf[i] += bq[i];
        }
        rope_lane<HD>(qf, gl, rsn, rcs, interleaved);
#pragma unroll
        for (int i = 0; i < 8; i++) qf[i] = TT<T>::f(TT<T>::mk(qf[i]));   // q as the RoPE kernel stores it
        if (has_new) {
            const T *rk = q + (size_t)t * q_stride + q_dim + (size_t)kvh * HD + gl * 8, *rv = rk + kv_dim;
            float kf[8], vf[8];
            load_vec<T>(rk, kf, (uint4 *)0);
            load_vec<T>(rv, vf, (uint4 *)0);
            if (bias) {
                float bk[8], bv[8];
                load_vec<T>(bias + q_dim + (size_t)kvh * HD + gl * 8, bk, (uint4 *)0);
                load_vec<T>(bias + q_dim + kv_dim + (size_t)kvh * HD + gl * 8, bv, (uint4 *)0);
#pragma unroll
                for (int i = 0; i < 8; i++) { kf[i] += bk[i]; vf[i] += bv[i]; }
            }
            rope_lane<HD>(kf, gl, rsn, rcs, interleaved);
            k_new = make_uint4(pack2<T>(kf[0], kf[1]), pack2<T>(kf[2], kf[3]), pack2<T>(kf[4], kf[5]), pack2<T>(kf[6], kf[7]));
            v_new = make_uint4(pack2<T>(vf[0], vf[1]), pack2<T>(vf[2], vf[3]), pack2<T>(vf[4], vf[5]), pack2<T>(vf[6], vf[7]));
            if (h % (n_heads / n_kv) == 0 && gi == 0) {
                *reinterpret_cast<uint4 *>(kc_w + base + (size_t)p_new * kv_dim) = k_new;
                *reinterpret_cast<uint4 *>(vc_w + base + (size_t)p_new * kv_dim) = v_new;
            }
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) qf[i] *= scale;
    float m = -INFINITY, l = 0.f, acc[8];
#pragma unroll
    for (int i = 0; i < 8; i++) acc[i] = 0.f;
    int buf = 0;
    for (int c0 = c_begin; c0 < c_end; c0 += CH) {
        if (!ROPE || c0 != c_begin) attn_load_chunk<T, HD>(kb, vb, kv_dim, c0, c_end, gi, skip_row, kr, vr);
        if (ROPE && has_new) {
#pragma unroll
            for (int r = 0; r < RK; r++)
                if (c0 + r * RPL + gi == p_new) { kr[r] = k_new; vr[r] = v_new; }   // this step's own position
        }
        float s[RK];
#pragma unroll
        for (int r = 0; r < RK; r++) {
            const typename TT<T>::T2 *k2 = reinterpret_cast<const typename TT<T>::T2 *>(&kr[r]);
            float dot = 0.f;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const float2 kf = TT<T>::f2(k2[i]);
                dot = fmaf(qf[2 * i], kf.x, dot);
                dot = fmaf(qf[2 * i + 1], kf.y, dot);
            }
            dot = warp_sum<G>(dot); // over the G lanes of the row
            s[r] = c0 + r * RPL + gi < c_end ? dot : -INFINITY;
        }
        if (gl == 0) {
#pragma unroll
            for (int r = 0; r < RK; r++) sc[buf][r * RPL + gi] = s[r];
        }
        __syncthreads();
        float cm = -INFINITY;
#pragma unroll
        for (int j = 0; j < CH; j += 4) {
            const float4 v4 = *reinterpret_cast<const float4 *>(&sc[buf][j]);
            cm = fmaxf(cm, fmaxf(fmaxf(v4.x, v4.y), fmaxf(v4.z, v4.w)));
        }
        const float m_new = fmaxf(m, cm); // finite: row c0 is in the chunk
        const float corr = expf(m - m_new);
        l *= corr;
#pragma unroll
        for (int i = 0; i < 8; i++) acc[i] *= corr;
#pragma unroll
        for (int r = 0; r < RK; r++) {
            const float p = expf(s[r] - m_new);
            l += p;
            const typename TT<T>::T2 *v2 = reinterpret_cast<const typename TT<T>::T2 *>(&vr[r]);
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const float2 vf = TT<T>::f2(v2[i]);
                acc[2 * i] = fmaf(p, vf.x, acc[2 * i]);
                acc[2 * i + 1] = fmaf(p, vf.y, acc[2 * i + 1]);
            }
        }
        m = m_new;
        buf ^= 1; // the other buffer next: a thread still reading this one has not passed the next barrier
    }
#pragma unroll
    for (int i = 0; i < 8; i++) red[gi][gl * 8 + i] = acc[i];
    if (gl == 0) lred[gi] = l;
    __syncthreads();
    float L = 0.f;
#pragma unroll
    for (int g = 0; g < RPL; g++) L += lred[g];
    const int ns = gridDim.z;
    T *orow = out + (size_t)t * out_stride + (size_t)h * HD;
    if (ns == 1) {
        const float inv_l = 1.0f / L;
        for (int d = tid; d < HD; d += ATT_THREADS) orow[d] = TT<T>::mk(row_groups_sum(red, d) * inv_l);
        return;
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (cluster) {   // the ns splits are one cluster: partials in shared memory, merged through DSMEM
        __shared__ float s_po[HD], s_ml[2];
        for (int d = tid; d < HD; d += ATT_THREADS) s_po[d] = row_groups_sum(red, d);
        if (tid == 0) { s_ml[0] = m; s_ml[1] = L; }
        const SplitsCluster sp = {cooperative_groups::this_cluster(), s_ml, s_po};
        sp.cl.sync();
        attn_merge_splits<T>(orow, sp, ns, HD, (int)blockIdx.z * ATT_THREADS + tid, ns * ATT_THREADS);
        sp.cl.sync();   // the other blocks' shared memory stays until every block has read it
        return;
    }
#endif
    const size_t bt = (size_t)blockIdx.y * n_heads + h, idx = bt * ns + blockIdx.z;
    for (int d = tid; d < HD; d += ATT_THREADS) part_o[idx * HD + d] = row_groups_sum(red, d);
    if (tid == 0) { part_ml[2 * idx] = m; part_ml[2 * idx + 1] = L; }
    __threadfence();
    __syncthreads();
    if (tid == 0) s_last = atomicAdd(&counters[bt], 1u) == (unsigned)(ns - 1);
    __syncthreads();
    if (!s_last) return;
    __threadfence();
    const SplitsGlobal sp = {part_ml + 2 * bt * ns, part_o + bt * ns * HD, HD};
    attn_merge_splits<T>(orow, sp, ns, HD, tid, ATT_THREADS);
    if (tid == 0) counters[bt] = 0u;
}

static lf_status attn_check(int n_heads, int n_kv_heads, int head_dim) {
    if (n_kv_heads <= 0 || n_heads % n_kv_heads)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA attention: n_heads %d not a multiple of n_kv_heads %d", n_heads, n_kv_heads);
    if (head_dim <= 0 || (head_dim & 1) || head_dim > 256)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA attention: head_dim %d (must be even and <= 256)", head_dim);
    return LINFER_OK;
}

static int device_sms(void) {
    int dev = 0, sms = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
        cudaGetLastError();
        return 100;
    }
    return sms > 0 ? sms : 100;
}

// The decode kernel (attn_decode_kernel) where it applies; LF_CUDA_ATTN_DECODE=0 keeps the
// simple kernel and its combine kernel, to compare (docs/perf-notes.md).
static int g_attn_decode = -1;
extern "C" void lf_cuda_set_attn_decode(int on) { g_attn_decode = on ? 1 : 0; }
static int attn_decode_on(void) { return env_switch(&g_attn_decode, "LF_CUDA_ATTN_DECODE"); }

// Positions per split unit of the attention's context split: one chunk of the decode kernel
// (AttDec<HD>::CH: 64 positions at head_dim 64 and 128, 32 at 256), so that no split leaves
// half a chunk's lanes idle; ATT_SPLIT_GRAIN (32) for the simple kernel; LF_ATTN_GRAIN=N (a
// multiple of 16 up to 4 x ATT_CHUNK) to compare. 32 positions at head_dim 128 cost llama-2-7b 0.036
// ms per step at in 128 (session 17, bench/gpu_session17g.sh); ATT_CHUNK was the unit before
// session 12 (docs/perf-notes.md). lf_cuda_set_attn_grain sets it at run time (lab_attention).
#define ATT_SPLIT_GRAIN 32
static int attn_decode_applies(int head_dim);
static int g_attn_grain = -1;   // -1: LF_ATTN_GRAIN or the default; 0: the default; else positions
static int valid_grain(int v) { return v >= 16 && v <= 4 * ATT_CHUNK && v % 16 == 0 ? v : 0; }
extern "C" void lf_cuda_set_attn_grain(int positions) { g_attn_grain = positions > 0 ? valid_grain(positions) : 0; }
static int attn_split_grain(int head_dim) {
    if (g_attn_grain < 0) {
        const char *e = getenv("LF_ATTN_GRAIN");
        g_attn_grain = valid_grain(e && *e ? atoi(e) : 0);
    }
    if (g_attn_grain) return g_attn_grain;
    if (!attn_decode_applies(head_dim)) return ATT_SPLIT_GRAIN;
    return head_dim == 64 ? AttDec<64>::CH : head_dim == 128 ? AttDec<128>::CH : AttDec<256>::CH;
}

// The decode attention's splits as a thread-block cluster (DSMEM merge) on devices that launch
// clusters; LF_CUDA_ATTN_CLUSTER=0 merges through global memory and a counter, to compare.
static int g_attn_cluster = -1;
extern "C" void lf_cuda_set_attn_cluster(int on) { g_attn_cluster = on ? 1 : 0; }
static int attn_cluster_on(void) {
    static int supported = -1;
    if (supported < 0) {
        int dev = 0, v = 0;
        supported = cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetAttribute(&v, cudaDevAttrClusterLaunch, dev) == cudaSuccess && v;
        cudaGetLastError();
    }
    return supported && env_switch(&g_attn_cluster, "LF_CUDA_ATTN_CLUSTER");
}

// Blocks per SM the context split aims at: 2 (LF_ATTN_BLOCKS_PER_SM or
// lf_cuda_set_attn_blocks_per_sm, 1..16, to compare). Fewer, longer splits: at bs 1 in 2048 (16
// splits of 2 chunks at 4 per SM, 8 of 4 at 2) the kernel alone took 19.0 against 21.1 µs and a
// llama-2-7b step 3.92 against 4.07 ms; in 512 3.61 against 3.68; in 128 the same (session 20,
// bench/gpu_session20d.sh). Each round of a block's loads costs a memory latency under load
// whatever its size, and a grid of one wave moves through its rounds in lockstep.
#define ATT_SPLIT_BLOCKS_PER_SM 2
static int g_attn_bps = -1;
extern "C" void lf_cuda_set_attn_blocks_per_sm(int n) { g_attn_bps = n >= 1 && n <= 16 ? n : ATT_SPLIT_BLOCKS_PER_SM; }
static int attn_blocks_per_sm(void) {
    if (g_attn_bps < 0) {
        const char *e = getenv("LF_ATTN_BLOCKS_PER_SM");
        lf_cuda_set_attn_blocks_per_sm(e && *e ? atoi(e) : ATT_SPLIT_BLOCKS_PER_SM);
    }
    return g_attn_bps;
}

static int attn_decode_applies(int head_dim) {
    return (head_dim == 64 || head_dim == 128 || head_dim == 256) && attn_decode_on();
}

typedef struct { const void *bias; const float *inv_freq; int interleaved; } attn_rope;

// A context of max_n_ctx positions in at most `want` splits of whole `grain` units, capped at `cap`
// and at what the split scratch holds for `parts` (token, query head) partials of head_dim + 2
// floats each: *ns splits of *split_len positions (left as they are when one split it is). The one
// rule of both decode kernels, which differ in the `want` they ask for.
static void attn_split_units(int max_n_ctx, int grain, long long want, int cap, long long parts, int head_dim,
                             size_t split_scratch_bytes, int *ns, int *split_len) {
    const int max_units = (max_n_ctx + grain - 1) / grain;
    const long long fit = (long long)((split_scratch_bytes - LF_ATTN_SPLIT_COUNTERS * sizeof(float)) /
                                      ((size_t)parts * (head_dim + 2) * sizeof(float)));
    if (want > max_units) want = max_units;
    if (want > cap) want = cap;
    if (want > fit) want = fit;
    if (want > 1) {
        const int per = (int)((max_units + want - 1) / want); // grains per split
        *split_len = per * grain;
        *ns = (max_units + per - 1) / per;
    }
}

// The context split of a decode attention launch of `blocks` (token, head) blocks: when they
// alone would not fill the GPU, about attn_blocks_per_sm() blocks per SM, each split a whole
// number of `grain` positions, at most 64 splits and what the scratch holds (head_dim + 2 floats
// per block and split).
static void attn_split_plan(long long blocks, int grain, int head_dim, int max_n_ctx, const float *split_scratch,
                            size_t split_scratch_bytes, int *ns, int *split_len) {
    *ns = 1;
    *split_len = 1 << 30;
    if (!split_scratch || max_n_ctx <= grain || split_scratch_bytes <= LF_ATTN_SPLIT_COUNTERS * sizeof(float)) return;
    const int sms = device_sms();
    if (blocks >= 2LL * sms || blocks > LF_ATTN_SPLIT_COUNTERS) return;
    const long long want = ((long long)attn_blocks_per_sm() * sms + blocks - 1) / blocks;
    attn_split_units(max_n_ctx, grain, want, 64, blocks, head_dim, split_scratch_bytes, ns, split_len);
}

// The tensor-core GQA decode kernel (attn_decode_gqa_kernel, defined below the prefill kernels):
// mode 0 off; 1 (the default) for models with n_heads / n_kv_heads >= 2 at the sizes where the lab
// measured it faster than attn_decode_kernel (session 25, llama-3-8b and llama-2-70b heads: a
// context of 2048 or more, or tokens x context >= 4096; below that both are a few µs of latency
// and the one-head kernel's is shorter); 2 for every model and size (multi-head too: lab, tests).
// LF_CUDA_ATTN_GQA=0/1/2 at start-up, lf_cuda_set_attn_gqa.
static int g_attn_gqa = -1;
extern "C" void lf_cuda_set_attn_gqa(int mode) { g_attn_gqa = mode >= 0 && mode <= 2 ? mode : -1; }
static int attn_gqa_mode(void) {
    if (g_attn_gqa < 0) {
        const char *e = getenv("LF_CUDA_ATTN_GQA");
        g_attn_gqa = e && *e >= '0' && *e <= '2' ? *e - '0' : 1;
    }
    return g_attn_gqa;
}
// Its warps per block (4 or 8, else chosen per launch; LF_CUDA_ATTN_GQA_WARPS,
// lf_cuda_set_attn_gqa_warps) and the most context splits it takes (1..64; LF_CUDA_ATTN_GQA_SPLITS,
// lf_cuda_set_attn_gqa_max_splits; 8 or fewer merge in a cluster).
#define ATG_DEFAULT_MAX_SPLITS 64
static int g_attn_gqa_warps = -1, g_attn_gqa_splits = -1;
extern "C" void lf_cuda_set_attn_gqa_warps(int nw) { g_attn_gqa_warps = nw == 4 || nw == 8 ? nw : -1; }
extern "C" void lf_cuda_set_attn_gqa_max_splits(int n) { g_attn_gqa_splits = n >= 1 && n <= 64 ? n : -1; }
static int attn_gqa_warps(void) {   // 0: by the launch (attn_gqa_impl)
    if (g_attn_gqa_warps < 0) {
        const char *e = getenv("LF_CUDA_ATTN_GQA_WARPS");
        const int v = e && *e ? atoi(e) : 0;
        return v == 4 || v == 8 ? v : 0;
    }
    return g_attn_gqa_warps;
}
static int attn_gqa_max_splits(void) {
    if (g_attn_gqa_splits < 0) {
        const char *e = getenv("LF_CUDA_ATTN_GQA_SPLITS");
        const int v = e && *e ? atoi(e) : 0;
        return v >= 1 && v <= 64 ? v : ATG_DEFAULT_MAX_SPLITS;
    }
    return g_attn_gqa_splits;
}
#define ATG_MIN_CTX 2048
#define ATG_MIN_WORK 4096
static int attn_gqa_applies(int head_dim, int n_heads, int n_kv_heads, int n, int max_n_ctx) {
    const int qg = n_heads / n_kv_heads, mode = attn_gqa_mode();
    if (!(head_dim == 64 || head_dim == 128) || qg > 8 || !attn_decode_on() || mode == 0) return 0;
    return mode == 2 || (qg >= 2 && (max_n_ctx >= ATG_MIN_CTX || (long long)n * max_n_ctx >= ATG_MIN_WORK));
}
static lf_status attn_gqa_impl(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride, const void *k_cache,
                               const void *v_cache, int max_ctx, const int32_t *pos, const int32_t *seq, const int32_t *tok_idx,
                               int n, int n_heads, int n_kv_heads, int head_dim, float scale, int max_n_ctx,
                               float *split_scratch, size_t split_scratch_bytes, const attn_rope *rope, cudaStream_t st);

static lf_status attention_impl(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride, const void *k_cache,
                                const void *v_cache, int max_ctx, const int32_t *pos, const int32_t *seq, const int32_t *tok_idx,
                                int n, int n_heads, int n_kv_heads, int head_dim, float scale, int max_n_ctx,
                                float *split_scratch, size_t split_scratch_bytes, const attn_rope *rope, cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    LF_TRY(attn_check(n_heads, n_kv_heads, head_dim));
    if (n > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA attention: %d tokens in one launch (max 65535)", n);
    const int vec = head_dim % 8 == 0 ? 8 : 2, R = ATT_THREADS / (head_dim / vec);
    const size_t smem = sizeof(float) * (size_t)(((head_dim + 7) & ~7) + ATT_CHUNK + R * head_dim);
    const int kv_dim = n_kv_heads * head_dim;
    // split the context over several blocks when (token, head) blocks alone would not fill the GPU:
    // about 2 blocks per SM (attn_blocks_per_sm), each a whole number of attn_split_grain positions (a short context is
    // split finer than the simple kernel's ATT_CHUNK step, so that it too has blocks enough in flight)
    if (attn_gqa_applies(head_dim, n_heads, n_kv_heads, n, max_n_ctx))   // its own split rule
        return attn_gqa_impl(dt, out, out_stride, q, q_stride, k_cache, v_cache, max_ctx, pos, seq, tok_idx, n, n_heads,
                             n_kv_heads, head_dim, scale, max_n_ctx, split_scratch, split_scratch_bytes, rope, st);
    int ns, split_len;
    const long long base_blocks = (long long)n_heads * n;
    attn_split_plan(base_blocks, attn_split_grain(head_dim), head_dim, max_n_ctx, split_scratch, split_scratch_bytes, &ns,
                    &split_len);
    unsigned *counters = (unsigned *)split_scratch;
    float *part_o = split_scratch ? split_scratch + LF_ATTN_SPLIT_COUNTERS : NULL;
    float *part_ml = ns > 1 ? part_o + (size_t)base_blocks * ns * head_dim : NULL;
    dim3 grid(n_heads, n, ns);
    // splits of one (token, head) as one thread-block cluster, merged through distributed shared
    // memory, where they fit one (at most 8 blocks, Hopper)
    const int cl = ns > 1 && ns <= 8 && attn_cluster_on();
#define ATT_ARGS(HD_, R_) (T *)out, out_stride,                                                                               \
        (const T *)q, q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, pos, seq, tok_idx, n_heads,           \
        n_kv_heads, scale, split_len, part_o, part_ml, counters, rope ? (const T *)rope->bias : (const T *)NULL,               \
        rope ? rope->inv_freq : (const float *)NULL, rope ? rope->interleaved : 0, (T *)k_cache, (T *)v_cache, cl
#define ATT_DEC(HD_, R_) do { if (cl) LF_LAUNCH_CLUSTER_Z((attn_decode_kernel<T, HD_, R_>), grid, ATT_THREADS, 0, st, ns, ATT_ARGS(HD_, R_)); \
                              else LF_LAUNCH((attn_decode_kernel<T, HD_, R_>), grid, ATT_THREADS, 0, st, ATT_ARGS(HD_, R_)); } while (0)
#define ATT_DEC_HD(R_) do { if (head_dim == 64) ATT_DEC(64, R_); else if (head_dim == 128) ATT_DEC(128, R_); else ATT_DEC(256, R_); } while (0)
    if (rope && !attn_decode_applies(head_dim))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA attention with RoPE: head_dim %d (64, 128 or 256, the decode kernel)", head_dim);
    DISPATCH_T(dt, "attention",
        if (attn_decode_applies(head_dim)) {
            if (rope) ATT_DEC_HD(true); else ATT_DEC_HD(false);
            CUDA_CHECK_LAUNCH("attn_decode_kernel");
            return LINFER_OK;
        }
        if (vec == 8) LF_LAUNCH((attn_simple_kernel<T, 8>), grid, ATT_THREADS, smem, st,
            (T *)out, out_stride, (const T *)q, q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx,
            kv_dim, pos, seq, tok_idx, n_heads, n_kv_heads, head_dim, scale, split_len, part_o, part_ml);
        else LF_LAUNCH((attn_simple_kernel<T, 2>), grid, ATT_THREADS, smem, st,
            (T *)out, out_stride, (const T *)q, q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx,
            kv_dim, pos, seq, tok_idx, n_heads, n_kv_heads, head_dim, scale, split_len, part_o, part_ml);
        CUDA_CHECK_LAUNCH("attn_simple_kernel");
        if (ns > 1) {
            LF_LAUNCH(attn_combine_kernel<T>, dim3(n_heads, n), 128, 0, st, (T *)out, out_stride, part_o, part_ml, tok_idx,
                                                                     n_heads, head_dim, ns);
            CUDA_CHECK_LAUNCH("attn_combine_kernel");
        });
#undef ATT_DEC
#undef ATT_DEC_HD
#undef ATT_ARGS
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_attention(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride,
                                       const void *k_cache, const void *v_cache, int max_ctx, const int32_t *pos,
                                       const int32_t *seq, const int32_t *tok_idx, int n, int n_heads, int n_kv_heads,
                                       int head_dim, float scale, int max_n_ctx, float *split_scratch,
                                       size_t split_scratch_bytes, cudaStream_t st) {
    return attention_impl(dt, out, out_stride, q, q_stride, k_cache, v_cache, max_ctx, pos, seq, tok_idx, n, n_heads, n_kv_heads,
                          head_dim, scale, max_n_ctx, split_scratch, split_scratch_bytes, NULL, st);
}

extern "C" int lf_cuda_attention_rope_supported(int head_dim) { return attn_decode_applies(head_dim); }

extern "C" lf_status lf_cuda_attention_rope(lf_dtype dt, void *out, int out_stride, const void *qkv, int qkv_stride,
                                            const void *bias, const float *inv_freq, lf_rope_style style, void *k_cache,
                                            void *v_cache, int max_ctx, const int32_t *pos, const int32_t *seq,
                                            const int32_t *tok_idx, int n, int n_heads, int n_kv_heads, int head_dim,
                                            float scale, int max_n_ctx, float *split_scratch, size_t split_scratch_bytes,
                                            cudaStream_t st) {
    const attn_rope r = {bias, inv_freq, style == LF_ROPE_INTERLEAVED};
    return attention_impl(dt, out, out_stride, qkv, qkv_stride, k_cache, v_cache, max_ctx, pos, seq, tok_idx, n, n_heads,
                          n_kv_heads, head_dim, scale, max_n_ctx, split_scratch, split_scratch_bytes, &r, st);
}

// ---------------------------------------------------------------------------------------------
// Attention on tensor cores (FlashAttention-2 style), one block of 4 warps per (tile, head):
// each warp owns 16 query rows; per step 64 keys: S = Q K^T (mma m16n8k16), causal mask,
// online softmax in registers, O += P V with P rounded to T. K, V tiles staged in shared memory
// with rows padded to HD+8 elements (conflict-free fragment loads).

// The query rows r0 and r1 (of nrows; 0 beyond them) of head h as the A fragments of
// mma.m16n8k16, HD / 16 k-steps: the load both tensor-core attention kernels start with.
template <typename T, int HD>
__device__ __forceinline__ void attn_mma_load_q(uint32_t (&qf)[HD / 16][4], const T *q, int q_stride, int tok0, int h, int r0,
                                                int r1, int nrows, int tq) {
    const bool v0 = r0 < nrows, v1 = r1 < nrows;
    const T *q0 = q + (size_t)(tok0 + (v0 ? r0 : 0)) * q_stride + (size_t)h * HD;
    const T *q1 = q + (size_t)(tok0 + (v1 ? r1 : 0)) * q_stride + (size_t)h * HD;
#pragma unroll
    for (int kk = 0; kk < HD / 16; kk++) {
        const int c = kk * 16 + 2 * tq;
        qf[kk][0] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c) : 0u;
        qf[kk][1] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c) : 0u;
        qf[kk][2] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c + 8) : 0u;
        qf[kk][3] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c + 8) : 0u;
    }
}

// One key block's online softmax of the tensor-core attention kernels (v1 and v2): the scores
// sacc (scaled to log2, causally masked when need_mask), the running maxima m and sums l of the
// thread's two query rows updated, P rounded to T into pf (the PV MMA's A fragments), o rescaled.
// 2^x on the SFU with denormal results flushed to zero (ex2.approx.ftz: one MUFU.EX2, where exp2f
// without --use_fast_math adds a range test and two multiplies around it). p = 2^(s - max) <= 1;
// values below 2^-126 are far below what P rounded to T (or fp32 sums of them) can resolve.
__device__ __forceinline__ float ex2_ftz(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// The kernels' flags. ATT_FLAG_LPT: the grid is (heads, tiles), so that blocks, which start x
// fastest, start with every head of the longest tile (else (tiles, heads)); ATT_FLAG_LAZY: O's
// rescale skipped in steps where no row of a warp got a new maximum.
#define ATT_FLAG_LPT 1
#define ATT_FLAG_LAZY 2

// This block's tile and query head h. Tiles are taken from the last (the latest positions: the
// most keys) down, so the longest blocks start first.
__device__ __forceinline__ int4 attn_block_tile(const int4 *__restrict__ tiles, int flags, int *h) {
    const bool lpt = flags & ATT_FLAG_LPT;
    *h = lpt ? blockIdx.x : blockIdx.y;
    return tiles[lpt ? gridDim.y - 1 - blockIdx.y : gridDim.x - 1 - blockIdx.x];
}

// The output rows of one m16 tile: this thread's r0 (accumulators o[n][0..1]) and r0 + 8
// (o[n][2..3]), divided by their softmax sums l0, l1 once those are summed over the quad of lanes
// that shares a row; rows at or past nrows are not written.
template <typename T, int NT_O>
__device__ __forceinline__ void attn_mma_store(T *__restrict__ out, int out_stride, const float (&o)[NT_O][4], float l0, float l1,
                                               int tok0, int r0, int nrows, int h, int tq) {
    constexpr int HD = NT_O * 8;
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int r = r0 + 8 * hf;
        if (r >= nrows) continue;
        const float inv = 1.0f / (hf ? l1 : l0);
        T *orow = out + (size_t)(tok0 + r) * out_stride + (size_t)h * HD + 2 * tq;
#pragma unroll
        for (int n = 0; n < NT_O; n++)
            *reinterpret_cast<uint32_t *>(orow + n * 8) = pack2<T>(o[n][2 * hf] * inv, o[n][2 * hf + 1] * inv);
    }
}

template <typename T, int BN, int NT_S, int NT_O>
__device__ __forceinline__ void attn_mma_softmax(float (&sacc)[NT_S][4], float (&o)[NT_O][4], uint32_t (&pf)[BN / 16][4], float &m0,
                                                 float &m1, float &l0, float &l1, float scale_log2, int k0, int tq, int qp0, int qp1,
                                                 bool need_mask, bool lazy) {
    // the maxima of the raw scores (scale_log2 > 0 keeps the order), then 2^(s*scale_log2 - ref)
    // as one FMA per score; m0, m1 and ref are in scaled (log2) units
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < NT_S; n++) {
        if (need_mask) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = k0 + n * 8 + 2 * tq + (e & 1);
                if (key > (e < 2 ? qp0 : qp1)) sacc[n][e] = -INFINITY;
            }
        }
        mx0 = fmaxf(mx0, fmaxf(sacc[n][0], sacc[n][1]));
        mx1 = fmaxf(mx1, fmaxf(sacc[n][2], sacc[n][3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float mn0 = fmaxf(m0, mx0 * scale_log2), mn1 = fmaxf(m1, mx1 * scale_log2);
    const float ref0 = mn0 == -INFINITY ? 0.f : mn0, ref1 = mn1 == -INFINITY ? 0.f : mn1;
    const float corr0 = ex2_ftz(m0 - ref0), corr1 = ex2_ftz(m1 - ref1);
    m0 = mn0;
    m1 = mn1;
    float ls0 = 0.f, ls1 = 0.f;
#pragma unroll
    for (int n = 0; n < NT_S; n++) {
        const float p00 = ex2_ftz(fmaf(sacc[n][0], scale_log2, -ref0)), p01 = ex2_ftz(fmaf(sacc[n][1], scale_log2, -ref0));
        const float p10 = ex2_ftz(fmaf(sacc[n][2], scale_log2, -ref1)), p11 = ex2_ftz(fmaf(sacc[n][3], scale_log2, -ref1));
        ls0 += p00 + p01;
        ls1 += p10 + p11;
        pf[n >> 1][(n & 1) * 2 + 0] = pack2<T>(p00, p01);
        pf[n >> 1][(n & 1) * 2 + 1] = pack2<T>(p10, p11);
    }
    l0 = l0 * corr0 + ls0;
    l1 = l1 * corr1 + ls1;
    // lazy: when no row of the warp has a new maximum (every corr exactly 1, the common case once
    // the maxima settle), skip the multiplies by 1 — the same bits, HD/2 FMULs per m16 tile fewer
    if (lazy && __all_sync(0xffffffffu, corr0 == 1.f && corr1 == 1.f)) return;
#pragma unroll
    for (int n = 0; n < NT_O; n++) {
        o[n][0] *= corr0; o[n][1] *= corr0;
        o[n][2] *= corr1; o[n][3] *= corr1;
    }
}

template <typename T, int HD>
__global__ void __launch_bounds__(128)
attn_mma_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                const T *__restrict__ vc, int max_ctx, int kv_dim, const int4 *__restrict__ tiles, int n_heads, int n_kv,
                float scale_log2, int flags) {
    constexpr int BN = 64, STR = HD + 8, KS = HD / 16, NT_S = BN / 8, NT_O = HD / 8;
    __shared__ __align__(16) T Ks[BN * STR];
    __shared__ __align__(16) T Vs[BN * STR];
    int h;
    const int4 tile = attn_block_tile(tiles, flags, &h);
    const int tok0 = tile.x, nrows = tile.y, s = tile.z, pos0 = tile.w, kvh = h / (n_heads / n_kv);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int r0 = warp * 16 + g, r1 = r0 + 8;
    const int qp0 = pos0 + r0, qp1 = pos0 + r1;

    uint32_t qf[KS][4];
    attn_mma_load_q<T, HD>(qf, q, q_stride, tok0, h, r0, r1, nrows, tq);
    float o[NT_O][4];
#pragma unroll
    for (int n = 0; n < NT_O; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;

    const int kv_end = pos0 + nrows; // keys 0 .. kv_end-1
    const size_t base = (size_t)s * max_ctx * kv_dim + (size_t)kvh * HD;
    const T *kb = kc + base, *vb = vc + base;
    const int warp_qmax = pos0 + warp * 16 + 15, warp_qmin = pos0 + warp * 16;
    const uint16_t *V16 = reinterpret_cast<const uint16_t *>(Vs);

    for (int k0 = 0; k0 < kv_end; k0 += BN) {
        __syncthreads(); // the previous tile is consumed
        for (int c = tid; c < BN * (HD / 8); c += 128) {
            const int r = c / (HD / 8), cc = (c % (HD / 8)) * 8;
            uint4 kv = make_uint4(0u, 0u, 0u, 0u), vv = kv;
            if (k0 + r < kv_end) {
                kv = *reinterpret_cast<const uint4 *>(kb + (size_t)(k0 + r) * kv_dim + cc);
                vv = *reinterpret_cast<const uint4 *>(vb + (size_t)(k0 + r) * kv_dim + cc);
            }
            *reinterpret_cast<uint4 *>(Ks + r * STR + cc) = kv;
            *reinterpret_cast<uint4 *>(Vs + r * STR + cc) = vv;
        }
        __syncthreads();
        if (k0 > warp_qmax) continue; // every key is after every query of this warp

        float sacc[NT_S][4];
#pragma unroll
        for (int n = 0; n < NT_S; n++) {
            sacc[n][0] = sacc[n][1] = sacc[n][2] = sacc[n][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < KS; kk++) {
                const T *kp = Ks + (n * 8 + g) * STR + kk * 16 + 2 * tq;
                mma16816<T>(sacc[n], qf[kk], *reinterpret_cast<const uint32_t *>(kp),
                            *reinterpret_cast<const uint32_t *>(kp + 8));
            }
        }
        uint32_t pf[BN / 16][4];
        attn_mma_softmax<T, BN, NT_S, NT_O>(sacc, o, pf, m0, m1, l0, l1, scale_log2, k0, tq, qp0, qp1, k0 + BN - 1 > warp_qmin,
                                            (flags & ATT_FLAG_LAZY) != 0);
#pragma unroll
        for (int kk2 = 0; kk2 < BN / 16; kk2++) {
#pragma unroll
            for (int n = 0; n < NT_O; n++) {
                const int i0 = (kk2 * 16 + 2 * tq) * STR + n * 8 + g;
                const uint32_t b0 = (uint32_t)V16[i0] | ((uint32_t)V16[i0 + STR] << 16);
                const uint32_t b1 = (uint32_t)V16[i0 + 8 * STR] | ((uint32_t)V16[i0 + 9 * STR] << 16);
                mma16816<T>(o[n], pf[kk2], b0, b1);
            }
        }
    }
    attn_mma_store<T, NT_O>(out, out_stride, o, l0, l1, tok0, r0, nrows, h, tq);
}

// Version 2: the same algorithm, with the K/V tiles double-buffered through cp.async (the next
// tile's copy overlaps this tile's math; rows past the end are zero-filled by the copy) and the
// B fragments read with ldmatrix (x4; .trans for V).
__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait1() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }
__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr) : "memory");
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t addr, uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr) : "memory");
}

// Keys kt*BN .. kt*BN+BN-1 of one KV head (kb, vb: its first row in the cache; rows of kv_dim
// elements) into the shared K and V tiles Ks, Vs (rows padded to HD+8), 16 bytes per cp.async
// over the block's 128 threads; keys at or past kv_end are zero-filled. The copies join the
// thread's open cp.async group.
template <typename T, int HD, int BN>
__device__ __forceinline__ void attn_copy_kv_tile(T *Ks, T *Vs, const T *kb, const T *vb, int kv_dim, int kt, int kv_end, int tid) {
    constexpr int STR = HD + 8, CHUNKS = BN * (HD / 8) / 128; // 16-byte copies per thread per tile
#pragma unroll
    for (int it = 0; it < CHUNKS; it++) {
        const int c = tid + it * 128, r = c / (HD / 8), cc = (c % (HD / 8)) * 8;
        const int key = kt * BN + r;
        const bool ok = key < kv_end;
        const size_t src = (size_t)(ok ? key : 0) * kv_dim + cc;
        cp_async16(smem_u32(Ks + r * STR + cc), kb + src, ok ? 16 : 0);
        cp_async16(smem_u32(Vs + r * STR + cc), vb + src, ok ? 16 : 0);
    }
}

template <typename T, int HD> constexpr int attn_mma2_smem() { return 2 * 2 * 64 * (HD + 8) * (int)sizeof(T); }

template <typename T, int HD>
__global__ void __launch_bounds__(128)
attn_mma2_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                 const T *__restrict__ vc, int max_ctx, int kv_dim, const int4 *__restrict__ tiles, int n_heads, int n_kv,
                 float scale_log2, int flags) {
    constexpr int BN = 64, STR = HD + 8, KS = HD / 16, NT_S = BN / 8, NT_O = HD / 8, TILE = BN * STR;
    extern __shared__ __align__(16) unsigned char attn_smraw[];
    T *sm = reinterpret_cast<T *>(attn_smraw); // [stage 0: K, V][stage 1: K, V]
    int h;
    const int4 tile = attn_block_tile(tiles, flags, &h);
    const int tok0 = tile.x, nrows = tile.y, s = tile.z, pos0 = tile.w, kvh = h / (n_heads / n_kv);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int r0 = warp * 16 + g, r1 = r0 + 8;
    const int qp0 = pos0 + r0, qp1 = pos0 + r1;
    const int kv_end = pos0 + nrows;
    const size_t base = (size_t)s * max_ctx * kv_dim + (size_t)kvh * HD;
    const T *kb = kc + base, *vb = vc + base;

    auto load_tile = [&](int kt, int stage) {
        T *Ks = sm + stage * 2 * TILE;
        attn_copy_kv_tile<T, HD, BN>(Ks, Ks + TILE, kb, vb, kv_dim, kt, kv_end, tid);
    };
    const int n_kt = (kv_end + BN - 1) / BN;
    load_tile(0, 0);
    cp_async_commit();

    uint32_t qf[KS][4];
    attn_mma_load_q<T, HD>(qf, q, q_stride, tok0, h, r0, r1, nrows, tq);
    float o[NT_O][4];
#pragma unroll
    for (int n = 0; n < NT_O; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    const int warp_qmax = pos0 + warp * 16 + 15, warp_qmin = pos0 + warp * 16;
    const int lr = lane & 7, lm = lane >> 3; // ldmatrix: row within an 8x8 matrix, matrix index

    for (int kt = 0; kt < n_kt; kt++) {
        if (kt + 1 < n_kt) load_tile(kt + 1, (kt + 1) & 1);
        cp_async_commit();
        cp_async_wait1(); // tile kt has landed (for this thread's copies)
        __syncthreads();  // ... and for everyone's
        const int k0 = kt * BN;
        if (k0 <= warp_qmax) {
            const T *Ks = sm + (kt & 1) * 2 * TILE, *Vs = Ks + TILE;
            float sacc[NT_S][4];
#pragma unroll
            for (int n = 0; n < NT_S; n++) {
                sacc[n][0] = sacc[n][1] = sacc[n][2] = sacc[n][3] = 0.f;
#pragma unroll
                for (int kk = 0; kk < KS; kk += 2) {
                    uint32_t b0, b1, b2, b3; // (b0, b1) for k-step kk, (b2, b3) for kk+1
                    ldsm_x4(smem_u32(Ks + (n * 8 + lr) * STR + kk * 16 + lm * 8), b0, b1, b2, b3);
                    mma16816<T>(sacc[n], qf[kk], b0, b1);
                    mma16816<T>(sacc[n], qf[kk + 1], b2, b3);
                }
            }
            uint32_t pf[BN / 16][4];
            attn_mma_softmax<T, BN, NT_S, NT_O>(sacc, o, pf, m0, m1, l0, l1, scale_log2, k0, tq, qp0, qp1, k0 + BN - 1 > warp_qmin,
                                            (flags & ATT_FLAG_LAZY) != 0);
#pragma unroll
            for (int kk2 = 0; kk2 < BN / 16; kk2++) {
#pragma unroll
                for (int n = 0; n < NT_O; n += 2) {
                    uint32_t b0, b1, b2, b3; // (b0, b1) for dims n*8.., (b2, b3) for dims (n+1)*8..
                    ldsm_x4_t(smem_u32(Vs + (kk2 * 16 + (lm & 1) * 8 + lr) * STR + n * 8 + (lm >> 1) * 8), b0, b1, b2, b3);
                    mma16816<T>(o[n], pf[kk2], b0, b1);
                    mma16816<T>(o[n + 1], pf[kk2], b2, b3);
                }
            }
        }
        __syncthreads(); // this stage is consumed before it is refilled
    }
    attn_mma_store<T, NT_O>(out, out_stride, o, l0, l1, tok0, r0, nrows, h, tq);
}

// Version 3 (the default): 128 query rows per block, 32 per warp as two m16 tiles that share
// every K and V fragment (v2 feeds 2 MMAs per fragment, this 4), Q staged once in shared memory
// and read with ldmatrix per k-step (its 64 registers per m16 tile would not fit beside the 128 of
// O), 32 keys per step (64 spilled at 255 registers) through a ring of 3 K/V buffers filled by
// cp.async: the refill goes after the step's one barrier, into the buffer read two steps back (two
// buffers need a second barrier per step). Shared memory: Q 128 rows + 3 x (K, V) of 32 rows, rows
// padded to HD+8 elements (87 KB at HD 128: 2 blocks per SM, as the 243 registers allow).
// Measured in session 22 (docs/perf-notes.md): 0.125 ms per 7B layer at 2048 tokens against v2's 0.136.
#define ATT3_BM 128
#define ATT3_BN 32
#define ATT3_STAGES 3
template <typename T, int HD> constexpr int attn_mma3_smem() {
    return (ATT3_BM + ATT3_STAGES * 2 * ATT3_BN) * (HD + 8) * (int)sizeof(T);
}

template <typename T, int HD>
__global__ void __launch_bounds__(128)
attn_mma3_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                 const T *__restrict__ vc, int max_ctx, int kv_dim, const int4 *__restrict__ tiles, int n_heads, int n_kv,
                 float scale_log2, int flags) {
    constexpr int BM = ATT3_BM, BN = ATT3_BN, STR = HD + 8, KS = HD / 16, NT_S = BN / 8, NT_O = HD / 8, TILE = BN * STR;
    constexpr int QCHUNKS = BM * (HD / 8) / 128; // 16-byte copies of Q per thread
    extern __shared__ __align__(16) unsigned char attn_smraw[];
    T *Qs = reinterpret_cast<T *>(attn_smraw); // [BM][STR], then [buffer 0: K, V][1: K, V][2: K, V]
    T *kvs = Qs + BM * STR;
    int h;
    const int4 tile = attn_block_tile(tiles, flags, &h);
    const int tok0 = tile.x, nrows = tile.y, s = tile.z, pos0 = tile.w, kvh = h / (n_heads / n_kv);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int kv_end = pos0 + nrows;
    const size_t base = (size_t)s * max_ctx * kv_dim + (size_t)kvh * HD;
    const T *kb = kc + base, *vb = vc + base;

#pragma unroll
    for (int it = 0; it < QCHUNKS; it++) { // rows past nrows zero-filled
        const int c = tid + it * 128, r = c / (HD / 8), cc = (c % (HD / 8)) * 8;
        const bool ok = r < nrows;
        cp_async16(smem_u32(Qs + r * STR + cc), q + (size_t)(tok0 + (ok ? r : 0)) * q_stride + (size_t)h * HD + cc, ok ? 16 : 0);
    }
    auto load_tile = [&](int kt, int stage) {
        T *Ks = kvs + stage * 2 * TILE;
        attn_copy_kv_tile<T, HD, BN>(Ks, Ks + TILE, kb, vb, kv_dim, kt, kv_end, tid);
    };
    const int n_kt = (kv_end + BN - 1) / BN;
    load_tile(0, 0);
    cp_async_commit(); // group 0: Q and the first K/V tile
    if (n_kt > 1) load_tile(1, 1);
    cp_async_commit(); // group 1: the second tile (or nothing); group j >= 1 holds tile j

    float o[2][NT_O][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int n = 0; n < NT_O; n++) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.f;
    float m[2][2] = {{-INFINITY, -INFINITY}, {-INFINITY, -INFINITY}}, l[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
    const int wrow = warp * 32; // the warp's first row in the tile; m16 tile mt holds rows wrow + 16 mt ..
    const int warp_qmax = pos0 + wrow + 31, warp_qmin = pos0 + wrow;
    const int lr = lane & 7, lm = lane >> 3; // ldmatrix: row within an 8x8 matrix, matrix index

    for (int kt = 0; kt < n_kt; kt++) {
        cp_async_wait1(); // the groups up to tile kt's have landed (this thread's copies); kt+1's may be in flight
        __syncthreads();  // everyone's copies of tile kt landed, and everyone is done with step kt-1
        if (kt + 2 < n_kt) load_tile(kt + 2, (kt + 2) % ATT3_STAGES); // into the buffer of step kt-1
        cp_async_commit();
        const int k0 = kt * BN;
        if (k0 <= warp_qmax && wrow < nrows) {
            const T *Ks = kvs + (kt % ATT3_STAGES) * 2 * TILE, *Vs = Ks + TILE;
            float sacc[2][NT_S][4];
#pragma unroll
            for (int mt = 0; mt < 2; mt++)
#pragma unroll
                for (int n = 0; n < NT_S; n++) sacc[mt][n][0] = sacc[mt][n][1] = sacc[mt][n][2] = sacc[mt][n][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < KS; kk += 2) {
                uint32_t qa[2][2][4]; // [m16 tile][k-step kk, kk+1]: A fragments
#pragma unroll
                for (int mt = 0; mt < 2; mt++)
#pragma unroll
                    for (int ks = 0; ks < 2; ks++)
                        ldsm_x4(smem_u32(Qs + (wrow + mt * 16 + (lm & 1) * 8 + lr) * STR + (kk + ks) * 16 + (lm >> 1) * 8),
                                qa[mt][ks][0], qa[mt][ks][1], qa[mt][ks][2], qa[mt][ks][3]);
#pragma unroll
                for (int n = 0; n < NT_S; n++) {
                    uint32_t b0, b1, b2, b3; // (b0, b1) for k-step kk, (b2, b3) for kk+1
                    ldsm_x4(smem_u32(Ks + (n * 8 + lr) * STR + kk * 16 + lm * 8), b0, b1, b2, b3);
#pragma unroll
                    for (int mt = 0; mt < 2; mt++) {
                        mma16816<T>(sacc[mt][n], qa[mt][0], b0, b1);
                        mma16816<T>(sacc[mt][n], qa[mt][1], b2, b3);
                    }
                }
            }
            uint32_t pf[2][BN / 16][4];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const int r0 = wrow + mt * 16 + g;
                attn_mma_softmax<T, BN, NT_S, NT_O>(sacc[mt], o[mt], pf[mt], m[mt][0], m[mt][1], l[mt][0], l[mt][1], scale_log2, k0,
                                                    tq, pos0 + r0, pos0 + r0 + 8, k0 + BN - 1 > warp_qmin + mt * 16, (flags & ATT_FLAG_LAZY) != 0);
            }
#pragma unroll
            for (int kk2 = 0; kk2 < BN / 16; kk2++) {
#pragma unroll
                for (int n = 0; n < NT_O; n += 2) {
                    uint32_t b0, b1, b2, b3; // (b0, b1) for dims n*8.., (b2, b3) for dims (n+1)*8..
                    ldsm_x4_t(smem_u32(Vs + (kk2 * 16 + (lm & 1) * 8 + lr) * STR + n * 8 + (lm >> 1) * 8), b0, b1, b2, b3);
#pragma unroll
                    for (int mt = 0; mt < 2; mt++) {
                        mma16816<T>(o[mt][n], pf[mt][kk2], b0, b1);
                        mma16816<T>(o[mt][n + 1], pf[mt][kk2], b2, b3);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int mt = 0; mt < 2; mt++) attn_mma_store<T, NT_O>(out, out_stride, o[mt], l[mt][0], l[mt][1], tok0, wrow + mt * 16 + g, nrows, h, tq);
}

static int g_attn_lpt = -1;
static int attn_lpt_on(void) { return env_switch(&g_attn_lpt, "LF_CUDA_ATTN_LPT"); }
// O's rescale skipped in steps where no row of a warp got a new maximum (LF_CUDA_ATTN_LAZY=0: always)
static int g_attn_lazy = -1;
static int attn_lazy_on(void) { return env_switch(&g_attn_lazy, "LF_CUDA_ATTN_LAZY"); }

extern "C" int lf_cuda_attention_tiles_supported(int head_dim) { return head_dim == 32 || head_dim == 64 || head_dim == 128; }

// dynamic shared memory above 48 KB needs an opt-in per kernel (per device; cheap, so every launch)
template <typename T, int HD> static lf_status mma2_prepare(void) {
    CUDA_CHECK(cudaFuncSetAttribute(attn_mma2_kernel<T, HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, attn_mma2_smem<T, HD>()));
    return LINFER_OK;
}
template <typename T, int HD> static lf_status mma3_prepare(void) {
    CUDA_CHECK(cudaFuncSetAttribute(attn_mma3_kernel<T, HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, attn_mma3_smem<T, HD>()));
    return LINFER_OK;
}

extern "C" int lf_cuda_attention_tile_rows(int impl) { return impl == 3 ? ATT3_BM : 64; }

extern "C" lf_status lf_cuda_attention_tiles(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride,
                                             const void *k_cache, const void *v_cache, int max_ctx, const lf_attn_tile *tiles,
                                             int n_tiles, int n_heads, int n_kv_heads, int head_dim, float scale, int impl,
                                             cudaStream_t st) {
    if (n_tiles <= 0) return LINFER_OK;
    LF_TRY(attn_check(n_heads, n_kv_heads, head_dim));
    if (!lf_cuda_attention_tiles_supported(head_dim))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA tensor-core attention: head_dim %d (32, 64 or 128 only)", head_dim);
    if ((q_stride | out_stride) & 1)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tensor-core attention: odd row stride");
    if (impl < 1 || impl > 3) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tensor-core attention: impl %d (1..3)", impl);
    if (!(scale > 0.f)) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tensor-core attention: scale %g (must be > 0)", scale);
    if (impl == 3 && ((q_stride & 7) || ((uintptr_t)q & 15)))
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tensor-core attention v3: q rows not 16-byte aligned (stride %d)", q_stride);
    const float scale_log2 = scale * 1.4426950408889634f;
    const int kv_dim = n_kv_heads * head_dim;
    // blocks start in launch order, x fastest: every head of the last tile (the most keys) first,
    // then every head of the one before, so the longest blocks start earliest (not one head's
    // tiles after another's, which left the last heads' longest tiles for the end)
    // (LF_CUDA_ATTN_LPT=0: the tile in x, as before session 22, to compare)
    const int lpt = attn_lpt_on(), flags = (lpt ? ATT_FLAG_LPT : 0) | (attn_lazy_on() ? ATT_FLAG_LAZY : 0);
    if (lpt && n_tiles > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tensor-core attention: %d tiles (at most 65535)", n_tiles);
    const dim3 grid = lpt ? dim3(n_heads, n_tiles) : dim3(n_tiles, n_heads);
    const int4 *tl = reinterpret_cast<const int4 *>(tiles);
#define ATT_MMA_LAUNCH(HD)                                                                                            \
    do {                                                                                                              \
        if (impl == 1) {                                                                                              \
            attn_mma_kernel<T, HD><<<grid, 128, 0, st>>>((T *)out, out_stride, (const T *)q, q_stride,                \
                (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, tl, n_heads, n_kv_heads, scale_log2, flags);    \
        } else if (impl == 2) {                                                                                       \
            LF_TRY((mma2_prepare<T, HD>()));                                                                          \
            attn_mma2_kernel<T, HD><<<grid, 128, attn_mma2_smem<T, HD>(), st>>>((T *)out, out_stride, (const T *)q,   \
                q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, tl, n_heads, n_kv_heads, scale_log2, flags);\
        } else {                                                                                                      \
            LF_TRY((mma3_prepare<T, HD>()));                                                                          \
            attn_mma3_kernel<T, HD><<<grid, 128, attn_mma3_smem<T, HD>(), st>>>((T *)out, out_stride, (const T *)q,   \
                q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, tl, n_heads, n_kv_heads, scale_log2, flags);\
        }                                                                                                             \
    } while (0)
    DISPATCH_T(dt, "attention_tiles",
               if (head_dim == 32) ATT_MMA_LAUNCH(32);
               else if (head_dim == 64) ATT_MMA_LAUNCH(64);
               else ATT_MMA_LAUNCH(128));
#undef ATT_MMA_LAUNCH
    CUDA_CHECK_LAUNCH("attn_mma_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// Decode attention on tensor cores for grouped-query models: one block of NW (4 or 8) warps per
// (token, KV head, split), the QG = n_heads / n_kv query heads of the group as rows 0..QG-1 of
// mma.m16n8k16 (QG <= 8; the other rows zero), so every K and V row is read from memory once for
// the whole group (attn_decode_kernel reads it once per query head). Nothing goes through shared
// memory but q and the merge: the fragments are built from plain 16-byte loads.
//   S = Q K^T: the head dimension's order inside a k-step is free (a dot product), so quad member
//     qd of a K row holds the contiguous dims [qd*HD/4, (qd+1)*HD/4) and k-step s uses its words
//     2s and 2s+1 (Q's A fragments take the same dims from the staged q rows).
//   O += P V: P is S's accumulator fragment rounded to T (the FlashAttention-2 reuse); for V the
//     output dims are permuted instead: lane group g holds the dims [g*HD/8, (g+1)*HD/8) of the
//     keys 2qd, 2qd+1, 2qd+8, 2qd+9 of a 16-key step, n8 tile t is dim g*HD/8 + t, and a B
//     register is two keys' halves of one dim joined by a byte permute.
// Each warp streams its own 16-key steps (steps warp, warp + NW, ... of the block's
// split) with its own online softmax (log2 units, 2^x on the SFU as in the prefill kernels; the
// running max rounded up to a whole number, see the loop); the warps are merged in order through
// shared memory, the splits by atg_merge in split order (through a cluster's distributed shared
// memory for 8 splits or fewer, else global memory and the last block, as attn_decode_kernel
// does: the same bits either way). ROPE as in attn_decode_kernel: q and the new
// k rotated here and rounded to T (the RoPE kernel's bits), the new k, v written to the caches by
// the block whose split holds the position, cache rows loaded before the PDL wait.
#define ATG_KS 16        // keys per warp step
#define ATG_MAX_SPLITS 64   // attn_split_plan's cap
#define ATG_MAX_QG 8     // query heads per KV head the kernel takes
template <int HD> struct AttG {
    static constexpr int NK = HD / 16;        // k-steps of Q K^T
    static constexpr int NT = HD / 8;         // n8 tiles of O
    static constexpr int KU = HD / 32;        // 16-byte loads per K row piece (HD/4 dims)
    static constexpr int VU = HD / 64;        // 16-byte loads per V row piece (HD/8 dims)
};

// One warp step's K and V pieces (rows at or past c_end, and skip_row, read as zero).
template <typename T, int HD>
__device__ __forceinline__ void atg_load(const T *__restrict__ kb, const T *__restrict__ vb, int kv_dim, int k0, int c_end,
                                         int skip_row, int g, int qd, uint4 (&kr)[2][AttG<HD>::KU], uint4 (&vr)[4][AttG<HD>::VU]) {
    typedef AttG<HD> P;
    const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int j = 0; j < 2; j++) {
        const int row = k0 + 8 * j + g;
        const bool ok = row < c_end && row != skip_row;
        const uint4 *p = reinterpret_cast<const uint4 *>(kb + (size_t)row * kv_dim + qd * (HD / 4));
#pragma unroll
        for (int u = 0; u < P::KU; u++) kr[j][u] = ok ? __ldg(p + u) : zero;
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int row = k0 + 2 * qd + (i & 1) + 8 * (i >> 1);
        const bool ok = row < c_end && row != skip_row;
        const uint4 *p = reinterpret_cast<const uint4 *>(vb + (size_t)row * kv_dim + g * (HD / 8));
#pragma unroll
        for (int u = 0; u < P::VU; u++) vr[i][u] = ok ? __ldg(p + u) : zero;
    }
}

// The step's own position p_new (skipped by atg_load) from the rotated k and v in shared memory.
template <typename T, int HD>
__device__ __forceinline__ void atg_patch_new(int k0, int p_new, int g, int qd, const T *s_kn, const T *s_vn,
                                              uint4 (&kr)[2][AttG<HD>::KU], uint4 (&vr)[4][AttG<HD>::VU]) {
    typedef AttG<HD> P;
    if (p_new < k0 || p_new >= k0 + ATG_KS) return;
#pragma unroll
    for (int j = 0; j < 2; j++)
        if (k0 + 8 * j + g == p_new) {
#pragma unroll
            for (int u = 0; u < P::KU; u++) kr[j][u] = reinterpret_cast<const uint4 *>(s_kn + qd * (HD / 4))[u];
        }
#pragma unroll
    for (int i = 0; i < 4; i++)
        if (k0 + 2 * qd + (i & 1) + 8 * (i >> 1) == p_new) {
#pragma unroll
            for (int u = 0; u < P::VU; u++) vr[i][u] = reinterpret_cast<const uint4 *>(s_vn + g * (HD / 8))[u];
        }
}

__device__ __forceinline__ uint32_t u4_word(const uint4 &v, int w) {
    return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

// 2^x for a whole number x <= 0 (or -inf: 0), exactly
__device__ __forceinline__ float atg_pow2(float x) { return x < -149.f ? 0.f : ldexpf(1.0f, (int)x); }

// Where the ns split partials of the block's QG rows are: row r's split z has max m (log2 units,
// a whole number), sum l and p.V o[d]. Global: rows r of one token consecutive (ml = [row][ns][m, l], po =
// [row][ns][HD], through L2); cluster: row r's (m, l) and p.V in the shared memory (s_ml [QG][2],
// s_po [QG][HD]) of block rank z.
struct GqaSplitsGlobal {
    const float *ml, *po;
    int ns, hd;
    __device__ float m(int r, int z) const { return __ldcg(ml + 2 * ((size_t)r * ns + z)); }
    __device__ float l(int r, int z) const { return __ldcg(ml + 2 * ((size_t)r * ns + z) + 1); }
    __device__ float o(int r, int z, int d) const { return __ldcg(po + ((size_t)r * ns + z) * hd + d); }
};
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
struct GqaSplitsCluster {
    cooperative_groups::cluster_group cl;
    float *s_ml, *s_po;
    int hd;
    __device__ float m(int r, int z) const { return cl.map_shared_rank(s_ml + 2 * r, z)[0]; }
    __device__ float l(int r, int z) const { return cl.map_shared_rank(s_ml + 2 * r, z)[1]; }
    __device__ float o(int r, int z, int d) const { return cl.map_shared_rank(s_po + r * hd, z)[d]; }
};
#endif

// Merge the ns split partials of QG rows (the same bits from either place they sit): every (row,
// split) max and sum loaded at once into s_w / s_lz, one thread per row turns them into the
// weights 2^... = expf(m_z - M) (0 for an empty split) and 1 / sum, then the elements e0, e0 +
// estep, ... of the QG x hd outputs sum their splits in order, the loads of 8 splits in flight.
// The weights 2^(m_z - M) are exact powers of two (atg_pow2).
template <typename T, int NTHR, typename Splits>
__device__ __forceinline__ void atg_merge(T *__restrict__ orow0, const Splits &sp, int QG, int ns, int hd, int e0, int estep,
                                          float *s_w, float *s_lz, float *s_inv) {
    const int tid = threadIdx.x;
    for (int i = tid; i < QG * ns; i += NTHR) {
        const int r = i / ns, z = i - r * ns;
        s_w[i] = sp.m(r, z);
        s_lz[i] = sp.l(r, z);
    }
    __syncthreads();
    if (tid < QG) {
        float M = -INFINITY;
        for (int z = 0; z < ns; z++) M = fmaxf(M, s_w[tid * ns + z]);
        float den = 0.f;
        for (int z = 0; z < ns; z++) {
            const float mz = s_w[tid * ns + z], w = atg_pow2(mz - M);
            den = fmaf(w, s_lz[tid * ns + z], den);
            s_w[tid * ns + z] = w;
        }
        s_inv[tid] = 1.0f / den;
    }
    __syncthreads();
    for (int e = e0; e < QG * hd; e += estep) {
        const int r = e / hd, d = e - r * hd;
        float num = 0.f;
#pragma unroll 8
        for (int z = 0; z < ns; z++) num = fmaf(s_w[r * ns + z], sp.o(r, z, d), num);
        orow0[e] = TT<T>::mk(num * s_inv[r]);
    }
}

template <typename T, int HD, bool ROPE, int NW>
__global__ void __launch_bounds__(NW * 32)
attn_decode_gqa_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                       const T *__restrict__ vc, int max_ctx, int kv_dim, const int32_t *__restrict__ pos,
                       const int32_t *__restrict__ seq, const int32_t *__restrict__ tok_idx, int n_heads, int n_kv,
                       float scale_log2, int split_len, float *part_o, float *part_ml, unsigned *counters,
                       const T *__restrict__ bias, const float *__restrict__ inv_freq, int interleaved, T *kc_w, T *vc_w,
                       int cluster) {
    typedef AttG<HD> P;
    constexpr int HALF = HD / 2;
    __shared__ __align__(16) T s_q[ATG_MAX_QG][HD];
    __shared__ __align__(16) T s_kn[HD], s_vn[HD];
    __shared__ float s_sin[HALF], s_cos[HALF];
    __shared__ float s_o[NW][ATG_MAX_QG][HD];
    __shared__ float s_m[NW][ATG_MAX_QG], s_l[NW][ATG_MAX_QG];
    __shared__ int s_last;
    if (!ROPE) pdl_enter();
    const int QG = n_heads / n_kv, kvh = blockIdx.x;
    const int t = tok_idx ? tok_idx[blockIdx.y] : (int)blockIdx.y;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, qd = lane & 3;
    const int n_ctx = pos[t] + 1, p_new = n_ctx - 1;
    const int c_begin = blockIdx.z * split_len, c_end = min(n_ctx, c_begin + split_len);
    const size_t base = (size_t)seq[t] * max_ctx * kv_dim + (size_t)kvh * HD;
    const T *kb = kc + base, *vb = vc + base;
    const bool has_new = ROPE && c_begin <= p_new && p_new < c_end;   // block-uniform
    const int skip_row = has_new ? p_new : -1;
    constexpr int WSTEP = NW * ATG_KS;
    int k0 = c_begin + warp * ATG_KS;
    uint4 kr[2][P::KU], vr[4][P::VU];
    if (ROPE) {
        if (k0 < c_end) atg_load<T, HD>(kb, vb, kv_dim, k0, c_end, skip_row, g, qd, kr, vr);
        for (int i = tid; i < HALF; i += (NW * 32)) sincosf(lf_rope_angle(p_new, i, HALF, inv_freq, interleaved), &s_sin[i], &s_cos[i]);
        __syncthreads();
        pdl_enter();
    }
    // the group's q rows (rotated and rounded to T with ROPE) into s_q, rows QG.. zero
    const int q_dim = n_heads * HD;
    const T *qrow = q + (size_t)t * q_stride + (size_t)kvh * QG * HD;
#pragma unroll
    for (int e = tid; e < ATG_MAX_QG * HALF; e += (NW * 32)) {
        const int r = e / HALF, i = e - r * HALF;
        const int a = ROPE && interleaved ? 2 * i : i, b = ROPE && interleaved ? 2 * i + 1 : i + HALF;
        float xa = 0.f, xb = 0.f;
        if (r < QG) {
            xa = TT<T>::f(qrow[r * HD + a]);
            xb = TT<T>::f(qrow[r * HD + b]);
            if (ROPE) {
                if (bias) {
                    xa += TT<T>::f(bias[(kvh * QG + r) * HD + a]);
                    xb += TT<T>::f(bias[(kvh * QG + r) * HD + b]);
                }
                float ya, yb;
                rope_rotate(xa, xb, s_cos[i], s_sin[i], ya, yb);
                xa = ya;
                xb = yb;
            }
        }
        s_q[r][a] = TT<T>::mk(xa);
        s_q[r][b] = TT<T>::mk(xb);
    }
    if (has_new) {   // this position's k (rotated) and v, also written to the caches
        const T *rk = q + (size_t)t * q_stride + q_dim + (size_t)kvh * HD, *rv = rk + kv_dim;
        for (int i = tid; i < HALF; i += (NW * 32)) {
            const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + HALF;
            float ka = TT<T>::f(rk[a]), kb_ = TT<T>::f(rk[b]), va = TT<T>::f(rv[a]), vb_ = TT<T>::f(rv[b]);
            if (bias) {
                const T *bk = bias + q_dim + (size_t)kvh * HD, *bv = bk + kv_dim;
                ka += TT<T>::f(bk[a]); kb_ += TT<T>::f(bk[b]);
                va += TT<T>::f(bv[a]); vb_ += TT<T>::f(bv[b]);
            }
            float ya, yb;
            rope_rotate(ka, kb_, s_cos[i], s_sin[i], ya, yb);
            const T ta = TT<T>::mk(ya), tb = TT<T>::mk(yb), ua = TT<T>::mk(va), ub = TT<T>::mk(vb_);
            s_kn[a] = ta; s_kn[b] = tb; s_vn[a] = ua; s_vn[b] = ub;
            T *wk = kc_w + base + (size_t)p_new * kv_dim, *wv = vc_w + base + (size_t)p_new * kv_dim;
            wk[a] = ta; wk[b] = tb; wv[a] = ua; wv[b] = ub;
        }
    }
    __syncthreads();
    // Q's A fragments: row g, dims [qd*HD/4, ...): k-step s takes words 2s (a0) and 2s+1 (a2)
    uint32_t qa[P::NK][2];
    {
        const uint4 *qs = reinterpret_cast<const uint4 *>(&s_q[g][qd * (HD / 4)]);
#pragma unroll
        for (int u = 0; u < P::KU; u++) {
            const uint4 v = qs[u];
            qa[2 * u][0] = v.x; qa[2 * u][1] = v.y;
            qa[2 * u + 1][0] = v.z; qa[2 * u + 1][1] = v.w;
        }
    }
    float o[P::NT][2];
#pragma unroll
    for (int n = 0; n < P::NT; n++) o[n][0] = o[n][1] = 0.f;
    float m = -INFINITY, l = 0.f;   // row g's running max (log2 units) and this lane's part of the sum
    for (; k0 < c_end; k0 += WSTEP) {
        if (!ROPE || k0 != c_begin + warp * ATG_KS) atg_load<T, HD>(kb, vb, kv_dim, k0, c_end, skip_row, g, qd, kr, vr);
        if (has_new) atg_patch_new<T, HD>(k0, p_new, g, qd, s_kn, s_vn, kr, vr);
        float s[2][2];
#pragma unroll
        for (int j = 0; j < 2; j++) {
            s[j][0] = s[j][1] = 0.f;
#pragma unroll
            for (int kk = 0; kk < P::NK; kk++)
                mma16816_top<T>(s[j][0], s[j][1], qa[kk][0], qa[kk][1], u4_word(kr[j][kk >> 1], 2 * (kk & 1)),
                                u4_word(kr[j][kk >> 1], 2 * (kk & 1) + 1));
        }
        float mx = -INFINITY;
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                if (k0 + 8 * j + 2 * qd + e >= c_end) s[j][e] = -INFINITY;
                mx = fmaxf(mx, s[j][e]);
            }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // the running max rounded up to a whole power of two (log2 units): p = 2^(s*c - ref) <= 1
        // has the same mantissa whatever the split or warp (only frac(s*c) sets it), so P's
        // rounding to T does not depend on how the context was cut, and every rescale (corr, the
        // warps' and the splits' weights) is an exact power of two
        const float mn = fmaxf(m, ceilf(mx * scale_log2)), ref = mn == -INFINITY ? 0.f : mn;
        const float corr = atg_pow2(m - ref);
        m = mn;
        float p[2][2];
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) p[j][e] = ex2_ftz(fmaf(s[j][e], scale_log2, -ref));
        l = l * corr + (p[0][0] + p[0][1]) + (p[1][0] + p[1][1]);
        if (!__all_sync(0xffffffffu, corr == 1.f)) {
#pragma unroll
            for (int n = 0; n < P::NT; n++) { o[n][0] *= corr; o[n][1] *= corr; }
        }
        const uint32_t pa0 = pack2<T>(p[0][0], p[0][1]), pa2 = pack2<T>(p[1][0], p[1][1]);
#pragma unroll
        for (int n = 0; n < P::NT; n++) {
            const int w = n >> 1;   // word of the lane's HD/8 dims (8 T per uint4, 4 words)
            const uint32_t sel = (n & 1) ? 0x7632u : 0x5410u;
            const uint32_t b0 = __byte_perm(u4_word(vr[0][w >> 2], w & 3), u4_word(vr[1][w >> 2], w & 3), sel);
            const uint32_t b1 = __byte_perm(u4_word(vr[2][w >> 2], w & 3), u4_word(vr[3][w >> 2], w & 3), sel);
            mma16816_top<T>(o[n][0], o[n][1], pa0, pa2, b0, b1);
        }
    }
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    // the warps in order: s_o[warp][row][dim], dim of o[n][e] = (2qd + e) * HD/8 + n
    if (g < QG) {
#pragma unroll
        for (int n = 0; n < P::NT; n++) {
            s_o[warp][g][(2 * qd) * (HD / 8) + n] = o[n][0];
            s_o[warp][g][(2 * qd + 1) * (HD / 8) + n] = o[n][1];
        }
        if (qd == 0) { s_m[warp][g] = m; s_l[warp][g] = l; }
    }
    __syncthreads();
    const int ns = gridDim.z;
    // the block's result per row: max M (log2 units, a whole number), sum, p.V
    float *res_o = &s_o[0][0][0];   // overwritten in place: row r's merged p.V at s_o[0][r]
    __shared__ float s_ml[ATG_MAX_QG][2];
    for (int e = tid; e < QG * HD; e += (NW * 32)) {
        const int r = e / HD, d = e - r * HD;
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < NW; w++) M = fmaxf(M, s_m[w][r]);
        float num = 0.f, den = 0.f;
#pragma unroll
        for (int w = 0; w < NW; w++) {
            const float mw = s_m[w][r];
            if (mw == -INFINITY) continue;
            const float f = atg_pow2(mw - M);
            num = fmaf(f, s_o[w][r][d], num);
            den = fmaf(f, s_l[w][r], den);
        }
        if (ns == 1) {
            out[(size_t)t * out_stride + (size_t)(kvh * QG + r) * HD + d] = TT<T>::mk(num / den);
        } else {
            res_o[r * HD + d] = num;   // s_o[0][r][d]: the warps' values of (r, d) are read by this thread only
            if (d == 0) { s_ml[r][0] = M; s_ml[r][1] = den; }
        }
    }
    if (ns == 1) return;
    __shared__ float s_w[ATG_MAX_QG * ATG_MAX_SPLITS], s_lz[ATG_MAX_QG * ATG_MAX_SPLITS], s_inv[ATG_MAX_QG];
    T *orow0 = out + (size_t)t * out_stride + (size_t)kvh * QG * HD;
    __syncthreads();
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (cluster) {
        const GqaSplitsCluster sp = {cooperative_groups::this_cluster(), &s_ml[0][0], res_o, HD};
        sp.cl.sync();
        atg_merge<T, NW * 32>(orow0, sp, QG, ns, HD, (int)blockIdx.z * (NW * 32) + tid, ns * (NW * 32), s_w, s_lz, s_inv);
        sp.cl.sync();   // the other blocks' shared memory stays until every block has read it
        return;
    }
#endif
    const size_t bt0 = (size_t)blockIdx.y * n_heads + (size_t)kvh * QG;
    for (int e = tid; e < QG * HD; e += (NW * 32)) {
        const int r = e / HD, d = e - r * HD;
        part_o[((bt0 + r) * ns + blockIdx.z) * HD + d] = res_o[r * HD + d];
    }
    if (tid < QG) {
        const size_t idx = (bt0 + tid) * ns + blockIdx.z;
        part_ml[2 * idx] = s_ml[tid][0];
        part_ml[2 * idx + 1] = s_ml[tid][1];
    }
    __threadfence();
    __syncthreads();
    if (tid == 0) s_last = atomicAdd(&counters[bt0], 1u) == (unsigned)(ns - 1);
    __syncthreads();
    if (!s_last) return;
    __threadfence();
    const GqaSplitsGlobal sp = {part_ml + 2 * bt0 * ns, part_o + bt0 * ns * HD, ns, HD};
    atg_merge<T, NW * 32>(orow0, sp, QG, ns, HD, tid, NW * 32, s_w, s_lz, s_inv);
    if (tid == 0) counters[bt0] = 0u;
}

static lf_status attn_gqa_impl(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride, const void *k_cache,
                               const void *v_cache, int max_ctx, const int32_t *pos, const int32_t *seq, const int32_t *tok_idx,
                               int n, int n_heads, int n_kv_heads, int head_dim, float scale, int max_n_ctx,
                               float *split_scratch, size_t split_scratch_bytes, const attn_rope *rope, cudaStream_t st) {
    if ((q_stride | out_stride | n_kv_heads * head_dim) & 7)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA GQA decode attention: row strides %d, %d not multiples of 8", q_stride, out_stride);
    // Fewer (token, KV head) blocks than SMs (small batches): 8 warps per block, one block per SM
    // (166-198 registers), the context split into as many splits as fill the SMs without a second
    // wave; else 4 warps, two blocks per SM, split only where two per SM are not reached (the
    // lab, session 25: a split or a second wave beyond that cost more than it spread). Without a
    // split scratch (the TP-invariant mode) always 4 warps: the warps' order of summation must not
    // depend on the block count, which changes with the TP degree.
    const long long blocks = (long long)n_kv_heads * n;
    const int sms = device_sms();
    const int nw = attn_gqa_warps() ? attn_gqa_warps() : split_scratch && blocks < sms ? 8 : 4;
    const long long slots = (long long)sms * (nw == 8 ? 1 : 2);
    int ns = 1, split_len = 1 << 30;
    const int grain = nw * ATG_KS;
    if (split_scratch && max_n_ctx > grain && blocks < slots && (long long)n_heads * n <= LF_ATTN_SPLIT_COUNTERS)
        attn_split_units(max_n_ctx, grain, slots / blocks, attn_gqa_max_splits(), (long long)n_heads * n, head_dim,
                         split_scratch_bytes, &ns, &split_len);
    unsigned *counters = (unsigned *)split_scratch;
    float *part_o = split_scratch ? split_scratch + LF_ATTN_SPLIT_COUNTERS : NULL;
    float *part_ml = ns > 1 ? part_o + (size_t)n_heads * n * ns * head_dim : NULL;
    const dim3 grid(n_kv_heads, n, ns);
    const int cl = ns > 1 && ns <= 8 && attn_cluster_on();
    const float scale_log2 = scale * 1.4426950408889634f;
    const int kv_dim = n_kv_heads * head_dim;
#define ATG_ARGS (T *)out, out_stride, (const T *)q, q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, pos,  \
        seq, tok_idx, n_heads, n_kv_heads, scale_log2, split_len, part_o, part_ml, counters,                                  \
        rope ? (const T *)rope->bias : (const T *)NULL, rope ? rope->inv_freq : (const float *)NULL,                           \
        rope ? rope->interleaved : 0, (T *)k_cache, (T *)v_cache, cl
#define ATG_DEC(HD_, R_, NW_) do { if (cl) LF_LAUNCH_CLUSTER_Z((attn_decode_gqa_kernel<T, HD_, R_, NW_>), grid, NW_ * 32, 0, st, ns, ATG_ARGS); \
                                   else LF_LAUNCH((attn_decode_gqa_kernel<T, HD_, R_, NW_>), grid, NW_ * 32, 0, st, ATG_ARGS); } while (0)
#define ATG_DEC_NW(HD_, R_) do { if (nw == 8) ATG_DEC(HD_, R_, 8); else ATG_DEC(HD_, R_, 4); } while (0)
#define ATG_DEC_HD(R_) do { if (head_dim == 64) ATG_DEC_NW(64, R_); else ATG_DEC_NW(128, R_); } while (0)
    DISPATCH_T(dt, "attention (GQA decode)", if (rope) ATG_DEC_HD(true); else ATG_DEC_HD(false));
#undef ATG_DEC_HD
#undef ATG_DEC_NW
#undef ATG_DEC
#undef ATG_ARGS
    CUDA_CHECK_LAUNCH("attn_decode_gqa_kernel");
    return LINFER_OK;
}
