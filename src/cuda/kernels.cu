// kernels.cu — CUDA kernels of the CUDA backend and their extern "C" launchers (cuda_kernels.h).
// T is __half or __nv_bfloat16; every sum, norm, softmax and dot product accumulates in fp32.
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
#include "random_weights.h"
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
// gets its group's sum
template <int W = 32> __device__ __forceinline__ float warp_sum(float v) {
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
__device__ __forceinline__ float block_sum(float v, float *red /* [33] */) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < nw ? red[lane] : 0.f;
        t = warp_sum(t);
        if (lane == 0) red[32] = t;
    }
    __syncthreads();
    return red[32];
}

static inline unsigned grid_for(size_t n, int threads, unsigned cap = 65535u * 8u) {
    size_t b = (n + threads - 1) / threads;
    if (b > cap) b = cap;
    if (b == 0) b = 1;
    return (unsigned)b;
}

// PDL on or off for every LF_LAUNCH (kernel_launch.h); set once at backend creation
static int g_pdl = 0;
extern "C" void lf_cuda_set_pdl(int on) { g_pdl = on ? 1 : 0; }
extern "C" int lf_cuda_pdl(void) { return g_pdl; }

extern "C" size_t lf_cuda_dtype_size(lf_dtype dt) { return (dt == LF_DT_F16 || dt == LF_DT_BF16) ? 2 : 0; }

// ---------------------------------------------------------------------------------------------
// embedding gather: out fp32 [n, dim]
template <typename T>
__global__ void embed_kernel(float *__restrict__ out, const T *__restrict__ embd, const int32_t *__restrict__ tokens, int dim) {
    pdl_enter();
    const int i = blockIdx.x;
    const T *row = embd + (size_t)tokens[i] * dim;
    float *o = out + (size_t)i * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) o[d] = TT<T>::f(row[d]);
}


// Vocabulary-split embedding: this rank holds rows [v0, v0 + nv) of the table; a token outside
// them gives a zero row (the all-reduce over the ranks then leaves every row whole).
template <typename T>
__global__ void embed_slice_kernel(float *__restrict__ out, const T *__restrict__ embd, const int32_t *__restrict__ tokens, int dim,
                                   int v0, int nv) {
    pdl_enter();
    const int i = blockIdx.x, t = tokens[i] - v0;
    float *o = out + (size_t)i * dim;
    if (t < 0 || t >= nv) {
        for (int d = threadIdx.x; d < dim; d += blockDim.x) o[d] = 0.f;
        return;
    }
    const T *row = embd + (size_t)t * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) o[d] = TT<T>::f(row[d]);
}

extern "C" lf_status lf_cuda_embed_slice(lf_dtype dt, float *out, const void *embd, const int32_t *tokens, int n, int dim, int v0,
                                         int nv, cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    DISPATCH_T(dt, "embed_slice", LF_LAUNCH(embed_slice_kernel<T>, n, 256, 0, st, out, (const T *)embd, tokens, dim, v0, nv));
    CUDA_CHECK_LAUNCH("embed_slice_kernel");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_embed(lf_dtype dt, float *out, const void *embd, const int32_t *tokens, int n, int dim, cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    DISPATCH_T(dt, "embed", LF_LAUNCH(embed_kernel<T>, n, 256, 0, st, out, (const T *)embd, tokens, dim));
    CUDA_CHECK_LAUNCH("embed_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// RMSNorm: out[r] (T) = x[row] * 1/sqrt(mean(x^2) + eps) * w, x fp32
#define NORM_THREADS 256
template <typename T>
__global__ void __launch_bounds__(NORM_THREADS) rmsnorm_kernel(T *__restrict__ out, const float *__restrict__ x,
                                                               const T *__restrict__ w, const int32_t *__restrict__ rows,
                                                               int n, float eps) {
    __shared__ float red[33];
    pdl_enter();
    const int r = blockIdx.x;
    const float *xr = x + (size_t)(rows ? rows[r] : r) * n;
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += NORM_THREADS) ss = fmaf(xr[i], xr[i], ss);
    ss = block_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    T *o = out + (size_t)r * n;
    for (int i = threadIdx.x; i < n; i += NORM_THREADS) o[i] = TT<T>::mk(xr[i] * inv * TT<T>::f(w[i]));
}

// The same for n % 4 == 0, n <= 16384 (every model here): one pass over x with float4 loads, up to
// 4 per thread kept in registers for the output pass, up to 1024 threads, so a decode step's
// single row costs one round trip to L2 instead of n / 256 dependent loads.
#define NORM_VEC_MAX 4
template <typename T>
__global__ void __launch_bounds__(1024) rmsnorm_vec_kernel(T *__restrict__ out, const float *__restrict__ x,
                                                           const T *__restrict__ w, const int32_t *__restrict__ rows,
                                                           int n, float eps) {
    __shared__ float red[33];
    typedef typename TT<T>::T2 T2;
    pdl_enter();
    const int r = blockIdx.x, n4 = n >> 2;
    const float4 *xr = reinterpret_cast<const float4 *>(x + (size_t)(rows ? rows[r] : r) * n);
    float4 v[NORM_VEC_MAX];
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < NORM_VEC_MAX; j++) {
        const int i = threadIdx.x + j * blockDim.x;
        v[j] = i < n4 ? xr[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        ss = fmaf(v[j].x, v[j].x, ss);
        ss = fmaf(v[j].y, v[j].y, ss);
        ss = fmaf(v[j].z, v[j].z, ss);
        ss = fmaf(v[j].w, v[j].w, ss);
    }
    ss = block_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    const uint2 *w2 = reinterpret_cast<const uint2 *>(w);
    uint2 *o2 = reinterpret_cast<uint2 *>(out + (size_t)r * n);
#pragma unroll
    for (int j = 0; j < NORM_VEC_MAX; j++) {
        const int i = threadIdx.x + j * blockDim.x;
        if (i < n4) {
            const uint2 wu = __ldg(w2 + i);
            const float2 wa = TT<T>::f2(*reinterpret_cast<const T2 *>(&wu.x)), wb = TT<T>::f2(*reinterpret_cast<const T2 *>(&wu.y));
            uint2 ou;
            ou.x = pack2<T>(v[j].x * inv * wa.x, v[j].y * inv * wa.y);
            ou.y = pack2<T>(v[j].z * inv * wb.x, v[j].w * inv * wb.y);
            o2[i] = ou;
        }
    }
}

extern "C" lf_status lf_cuda_rmsnorm(lf_dtype dt, void *out, const float *x, const void *w, const int32_t *rows,
                                     int n_rows, int n, float eps, cudaStream_t st) {
    if (n_rows <= 0) return LINFER_OK;
    const int n4 = n / 4;
    if (n % 4 == 0 && n4 <= 1024 * NORM_VEC_MAX && !((uintptr_t)x & 15) && !(((uintptr_t)w | (uintptr_t)out) & 7)) {
        int threads = n4 < 1024 ? ((n4 + 31) / 32) * 32 : 1024;
        DISPATCH_T(dt, "rmsnorm", LF_LAUNCH(rmsnorm_vec_kernel<T>, n_rows, threads, 0, st, (T *)out, x, (const T *)w, rows, n, eps));
        CUDA_CHECK_LAUNCH("rmsnorm_vec_kernel");
        return LINFER_OK;
    }
    DISPATCH_T(dt, "rmsnorm", LF_LAUNCH(rmsnorm_kernel<T>, n_rows, NORM_THREADS, 0, st, (T *)out, x, (const T *)w, rows, n, eps));
    CUDA_CHECK_LAUNCH("rmsnorm_kernel");
    return LINFER_OK;
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

// ---------------------------------------------------------------------------------------------
// RoPE on q (in place) and k, bias, and K/V written to the cache. One block per token; the
// block is a whole number of "pair groups" of head_dim/2 threads: thread j of a group owns pair
// j of every head it visits, so its sin/cos is computed once.
template <typename T>
__global__ void rope_qkv_kernel(T *__restrict__ qkv, int qkv_stride, const T *__restrict__ bias,
                                const float *__restrict__ inv_freq, const int32_t *__restrict__ pos,
                                const int32_t *__restrict__ seq, T *__restrict__ kc, T *__restrict__ vc, int max_ctx,
                                int n_heads, int n_kv, int hd, int interleaved) {
    pdl_enter();
    const int t = blockIdx.x;
    const int p = pos[t], s = seq[t];
    const int half = hd >> 1, q_dim = n_heads * hd, kv_dim = n_kv * hd;
    T *row = qkv + (size_t)t * qkv_stride;
    const size_t kv_off = ((size_t)s * max_ctx + p) * kv_dim;
    T *krow = kc + kv_off, *vrow = vc + kv_off;
    const int groups = blockDim.x / half;
    const int j = threadIdx.x % half, h0 = threadIdx.x / half;
    if (h0 < groups) {
        const float ang = lf_rope_angle(p, j, half, inv_freq, interleaved);
        float sn, cs;
        sincosf(ang, &sn, &cs);
        const int a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + half;
        for (int head = h0; head < n_heads + n_kv; head += groups) {
            const int ca = head * hd + a, cb = head * hd + b;
            float x0 = TT<T>::f(row[ca]), x1 = TT<T>::f(row[cb]);
            if (bias) { x0 += TT<T>::f(bias[ca]); x1 += TT<T>::f(bias[cb]); }
            float y0, y1;
            rope_rotate(x0, x1, cs, sn, y0, y1);
            if (head < n_heads) { row[ca] = TT<T>::mk(y0); row[cb] = TT<T>::mk(y1); }
            else { krow[ca - q_dim] = TT<T>::mk(y0); krow[cb - q_dim] = TT<T>::mk(y1); }
        }
    }
    const T *vsrc = row + q_dim + kv_dim;
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        float v = TT<T>::f(vsrc[i]);
        if (bias) v += TT<T>::f(bias[q_dim + kv_dim + i]);
        vrow[i] = TT<T>::mk(v);
    }
}

extern "C" lf_status lf_cuda_rope_qkv(lf_dtype dt, void *qkv, int qkv_stride, const void *bias, const float *inv_freq,
                                      const int32_t *pos, const int32_t *seq, int n, void *k_cache, void *v_cache,
                                      int max_ctx, int n_heads, int n_kv_heads, int head_dim, lf_rope_style style,
                                      cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    if ((head_dim & 1) || head_dim > 2048) return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA rope: head_dim %d", head_dim);
    // as many pair groups as fit in 1024 threads: a decode step's one block visits each head in
    // few rounds
    const int half = head_dim / 2, threads = half * (half >= 1024 ? 1 : 1024 / half);
    DISPATCH_T(dt, "rope", LF_LAUNCH(rope_qkv_kernel<T>, n, threads, 0, st, (T *)qkv, qkv_stride, (const T *)bias, inv_freq, pos, seq,
                                                                       (T *)k_cache, (T *)v_cache, max_ctx, n_heads, n_kv_heads,
                                                                       head_dim, style == LF_ROPE_INTERLEAVED));
    CUDA_CHECK_LAUNCH("rope_qkv_kernel");
    return LINFER_OK;
}

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

// sin and cos of the RoPE angles of lane gl's 8 elements (8gl .. 8gl+7 of a head) at position p,
// as rope_qkv_kernel computes them (lf_rope_angle, sincosf). NEOX: lanes gl and gl ^ G/2 need the
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
// multiple of 16 up to ATT_CHUNK) to compare. 32 positions at head_dim 128 cost llama-2-7b 0.036
// ms per step at in 128 (session 17, bench/gpu_session17g.sh); ATT_CHUNK was the unit before
// session 12 (docs/perf-notes.md).
#define ATT_SPLIT_GRAIN 32
static int attn_decode_applies(int head_dim);
static int attn_split_grain(int head_dim) {
    static int env = -1;
    if (env < 0) {
        const char *e = getenv("LF_ATTN_GRAIN");
        const int v = e && *e ? atoi(e) : 0;
        env = v >= 16 && v <= ATT_CHUNK && v % 16 == 0 ? v : 0;
    }
    if (env) return env;
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

static int attn_decode_applies(int head_dim) {
    return (head_dim == 64 || head_dim == 128 || head_dim == 256) && attn_decode_on();
}

typedef struct { const void *bias; const float *inv_freq; int interleaved; } attn_rope;

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
    // about 4 blocks per SM, each a whole number of attn_split_grain positions (a short context is
    // split finer than the simple kernel's ATT_CHUNK step, so that it too has blocks enough in flight)
    int ns = 1, split_len = 1 << 30;
    const long long base_blocks = (long long)n_heads * n;
    const int grain = attn_split_grain(head_dim);
    if (split_scratch && max_n_ctx > grain && split_scratch_bytes > LF_ATTN_SPLIT_COUNTERS * sizeof(float)) {
        const int sms = device_sms();
        if (base_blocks < 2LL * sms && base_blocks <= LF_ATTN_SPLIT_COUNTERS) {
            const int max_units = (max_n_ctx + grain - 1) / grain;
            long long want = (4LL * sms + base_blocks - 1) / base_blocks;
            const long long fit = (long long)((split_scratch_bytes - LF_ATTN_SPLIT_COUNTERS * sizeof(float)) /
                                              ((size_t)base_blocks * (head_dim + 2) * sizeof(float)));
            if (want > max_units) want = max_units;
            if (want > 64) want = 64;
            if (want > fit) want = fit;
            if (want > 1) {
                const int per = (int)((max_units + want - 1) / want); // grains per split
                split_len = per * grain;
                ns = (max_units + per - 1) / per;
            }
        }
    }
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

template <typename T, int HD>
__global__ void __launch_bounds__(128)
attn_mma_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                const T *__restrict__ vc, int max_ctx, int kv_dim, const int4 *__restrict__ tiles, int n_heads, int n_kv,
                float scale_log2) {
    constexpr int BN = 64, STR = HD + 8, KS = HD / 16, NT_S = BN / 8, NT_O = HD / 8;
    __shared__ __align__(16) T Ks[BN * STR];
    __shared__ __align__(16) T Vs[BN * STR];
    // largest tiles (latest positions) first
    const int4 tile = tiles[gridDim.x - 1 - blockIdx.x];
    const int tok0 = tile.x, nrows = tile.y, s = tile.z, pos0 = tile.w;
    const int h = blockIdx.y, kvh = h / (n_heads / n_kv);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int r0 = warp * 16 + g, r1 = r0 + 8;
    const int qp0 = pos0 + r0, qp1 = pos0 + r1;

    uint32_t qf[KS][4];
    {
        const bool v0 = r0 < nrows, v1 = r1 < nrows;
        const T *q0 = q + (size_t)(tok0 + (v0 ? r0 : 0)) * q_stride + (size_t)h * HD;
        const T *q1 = q + (size_t)(tok0 + (v1 ? r1 : 0)) * q_stride + (size_t)h * HD;
#pragma unroll
        for (int kk = 0; kk < KS; kk++) {
            const int c = kk * 16 + 2 * tq;
            qf[kk][0] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c) : 0u;
            qf[kk][1] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c) : 0u;
            qf[kk][2] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c + 8) : 0u;
            qf[kk][3] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c + 8) : 0u;
        }
    }
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
        const bool need_mask = k0 + BN - 1 > warp_qmin;
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int n = 0; n < NT_S; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float v = sacc[n][e] * scale_log2;
                const int key = k0 + n * 8 + 2 * tq + (e & 1);
                if (need_mask && key > (e < 2 ? qp0 : qp1)) v = -INFINITY;
                sacc[n][e] = v;
            }
            mx0 = fmaxf(mx0, fmaxf(sacc[n][0], sacc[n][1]));
            mx1 = fmaxf(mx1, fmaxf(sacc[n][2], sacc[n][3]));
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
        const float ref0 = mn0 == -INFINITY ? 0.f : mn0, ref1 = mn1 == -INFINITY ? 0.f : mn1;
        const float corr0 = exp2f(m0 - ref0), corr1 = exp2f(m1 - ref1);
        m0 = mn0;
        m1 = mn1;
        float ls0 = 0.f, ls1 = 0.f;
        uint32_t pf[BN / 16][4];
#pragma unroll
        for (int n = 0; n < NT_S; n++) {
            const float p00 = exp2f(sacc[n][0] - ref0), p01 = exp2f(sacc[n][1] - ref0);
            const float p10 = exp2f(sacc[n][2] - ref1), p11 = exp2f(sacc[n][3] - ref1);
            ls0 += p00 + p01;
            ls1 += p10 + p11;
            pf[n >> 1][(n & 1) * 2 + 0] = pack2<T>(p00, p01);
            pf[n >> 1][(n & 1) * 2 + 1] = pack2<T>(p10, p11);
        }
        l0 = l0 * corr0 + ls0;
        l1 = l1 * corr1 + ls1;
#pragma unroll
        for (int n = 0; n < NT_O; n++) {
            o[n][0] *= corr0; o[n][1] *= corr0;
            o[n][2] *= corr1; o[n][3] *= corr1;
        }
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
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.0f / l0, inv1 = 1.0f / l1;
    if (r0 < nrows) {
        T *orow = out + (size_t)(tok0 + r0) * out_stride + (size_t)h * HD + 2 * tq;
#pragma unroll
        for (int n = 0; n < NT_O; n++)
            *reinterpret_cast<uint32_t *>(orow + n * 8) = pack2<T>(o[n][0] * inv0, o[n][1] * inv0);
    }
    if (r1 < nrows) {
        T *orow = out + (size_t)(tok0 + r1) * out_stride + (size_t)h * HD + 2 * tq;
#pragma unroll
        for (int n = 0; n < NT_O; n++)
            *reinterpret_cast<uint32_t *>(orow + n * 8) = pack2<T>(o[n][2] * inv1, o[n][3] * inv1);
    }
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

template <typename T, int HD> constexpr int attn_mma2_smem() { return 2 * 2 * 64 * (HD + 8) * (int)sizeof(T); }

template <typename T, int HD>
__global__ void __launch_bounds__(128)
attn_mma2_kernel(T *__restrict__ out, int out_stride, const T *__restrict__ q, int q_stride, const T *__restrict__ kc,
                 const T *__restrict__ vc, int max_ctx, int kv_dim, const int4 *__restrict__ tiles, int n_heads, int n_kv,
                 float scale_log2) {
    constexpr int BN = 64, STR = HD + 8, KS = HD / 16, NT_S = BN / 8, NT_O = HD / 8, TILE = BN * STR;
    constexpr int CHUNKS = BN * (HD / 8) / 128; // 16-byte copies per thread per tile
    extern __shared__ __align__(16) unsigned char attn_smraw[];
    T *sm = reinterpret_cast<T *>(attn_smraw); // [stage 0: K, V][stage 1: K, V]
    const int4 tile = tiles[gridDim.x - 1 - blockIdx.x];
    const int tok0 = tile.x, nrows = tile.y, s = tile.z, pos0 = tile.w;
    const int h = blockIdx.y, kvh = h / (n_heads / n_kv);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int r0 = warp * 16 + g, r1 = r0 + 8;
    const int qp0 = pos0 + r0, qp1 = pos0 + r1;
    const int kv_end = pos0 + nrows;
    const size_t base = (size_t)s * max_ctx * kv_dim + (size_t)kvh * HD;
    const T *kb = kc + base, *vb = vc + base;

    auto load_tile = [&](int kt, int stage) {
        T *Ks = sm + stage * 2 * TILE, *Vs = Ks + TILE;
#pragma unroll
        for (int it = 0; it < CHUNKS; it++) {
            const int c = tid + it * 128, r = c / (HD / 8), cc = (c % (HD / 8)) * 8;
            const int key = kt * BN + r;
            const bool ok = key < kv_end;
            const size_t src = (size_t)(ok ? key : 0) * kv_dim + cc;
            cp_async16(smem_u32(Ks + r * STR + cc), kb + src, ok ? 16 : 0);
            cp_async16(smem_u32(Vs + r * STR + cc), vb + src, ok ? 16 : 0);
        }
    };
    const int n_kt = (kv_end + BN - 1) / BN;
    load_tile(0, 0);
    cp_async_commit();

    uint32_t qf[KS][4];
    {
        const bool v0 = r0 < nrows, v1 = r1 < nrows;
        const T *q0 = q + (size_t)(tok0 + (v0 ? r0 : 0)) * q_stride + (size_t)h * HD;
        const T *q1 = q + (size_t)(tok0 + (v1 ? r1 : 0)) * q_stride + (size_t)h * HD;
#pragma unroll
        for (int kk = 0; kk < KS; kk++) {
            const int c = kk * 16 + 2 * tq;
            qf[kk][0] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c) : 0u;
            qf[kk][1] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c) : 0u;
            qf[kk][2] = v0 ? *reinterpret_cast<const uint32_t *>(q0 + c + 8) : 0u;
            qf[kk][3] = v1 ? *reinterpret_cast<const uint32_t *>(q1 + c + 8) : 0u;
        }
    }
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
            const bool need_mask = k0 + BN - 1 > warp_qmin;
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int n = 0; n < NT_S; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float v = sacc[n][e] * scale_log2;
                    const int key = k0 + n * 8 + 2 * tq + (e & 1);
                    if (need_mask && key > (e < 2 ? qp0 : qp1)) v = -INFINITY;
                    sacc[n][e] = v;
                }
                mx0 = fmaxf(mx0, fmaxf(sacc[n][0], sacc[n][1]));
                mx1 = fmaxf(mx1, fmaxf(sacc[n][2], sacc[n][3]));
            }
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
            const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
            const float ref0 = mn0 == -INFINITY ? 0.f : mn0, ref1 = mn1 == -INFINITY ? 0.f : mn1;
            const float corr0 = exp2f(m0 - ref0), corr1 = exp2f(m1 - ref1);
            m0 = mn0;
            m1 = mn1;
            float ls0 = 0.f, ls1 = 0.f;
            uint32_t pf[BN / 16][4];
#pragma unroll
            for (int n = 0; n < NT_S; n++) {
                const float p00 = exp2f(sacc[n][0] - ref0), p01 = exp2f(sacc[n][1] - ref0);
                const float p10 = exp2f(sacc[n][2] - ref1), p11 = exp2f(sacc[n][3] - ref1);
                ls0 += p00 + p01;
                ls1 += p10 + p11;
                pf[n >> 1][(n & 1) * 2 + 0] = pack2<T>(p00, p01);
                pf[n >> 1][(n & 1) * 2 + 1] = pack2<T>(p10, p11);
            }
            l0 = l0 * corr0 + ls0;
            l1 = l1 * corr1 + ls1;
#pragma unroll
            for (int n = 0; n < NT_O; n++) {
                o[n][0] *= corr0; o[n][1] *= corr0;
                o[n][2] *= corr1; o[n][3] *= corr1;
            }
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
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.0f / l0, inv1 = 1.0f / l1;
    if (r0 < nrows) {
        T *orow = out + (size_t)(tok0 + r0) * out_stride + (size_t)h * HD + 2 * tq;
#pragma unroll
        for (int n = 0; n < NT_O; n++)
            *reinterpret_cast<uint32_t *>(orow + n * 8) = pack2<T>(o[n][0] * inv0, o[n][1] * inv0);
    }
    if (r1 < nrows) {
        T *orow = out + (size_t)(tok0 + r1) * out_stride + (size_t)h * HD + 2 * tq;
#pragma unroll
        for (int n = 0; n < NT_O; n++)
            *reinterpret_cast<uint32_t *>(orow + n * 8) = pack2<T>(o[n][2] * inv1, o[n][3] * inv1);
    }
}

extern "C" int lf_cuda_attention_tiles_supported(int head_dim) { return head_dim == 32 || head_dim == 64 || head_dim == 128; }

// dynamic shared memory above 48 KB needs an opt-in per kernel (per device; cheap, so every launch)
template <typename T, int HD> static lf_status mma2_prepare(void) {
    CUDA_CHECK(cudaFuncSetAttribute(attn_mma2_kernel<T, HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, attn_mma2_smem<T, HD>()));
    return LINFER_OK;
}

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
    const float scale_log2 = scale * 1.4426950408889634f;
    const int kv_dim = n_kv_heads * head_dim;
    dim3 grid(n_tiles, n_heads);
    const int4 *tl = reinterpret_cast<const int4 *>(tiles);
#define ATT_MMA_LAUNCH(HD)                                                                                           \
    do {                                                                                                             \
        if (impl == 1) {                                                                                             \
            attn_mma_kernel<T, HD><<<grid, 128, 0, st>>>((T *)out, out_stride, (const T *)q, q_stride,               \
                (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, tl, n_heads, n_kv_heads, scale_log2);        \
        } else {                                                                                                     \
            LF_TRY((mma2_prepare<T, HD>()));                                                                         \
            attn_mma2_kernel<T, HD><<<grid, 128, attn_mma2_smem<T, HD>(), st>>>((T *)out, out_stride, (const T *)q,  \
                q_stride, (const T *)k_cache, (const T *)v_cache, max_ctx, kv_dim, tl, n_heads, n_kv_heads, scale_log2); \
        }                                                                                                            \
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
// SwiGLU: out[i, j] = silu(gate) * up, gu rows = [gate(ffn) | up(ffn)]. grid.y = token; pairs of
// elements per thread when ffn is even.
template <typename T>
__global__ void swiglu_kernel(T *__restrict__ out, const T *__restrict__ gu, int ffn) {
    typedef typename TT<T>::T2 T2;
    pdl_enter();
    const T *g = gu + (size_t)blockIdx.y * 2 * ffn, *u = g + ffn;
    T *o = out + (size_t)blockIdx.y * ffn;
    const int stride = gridDim.x * blockDim.x;
    if (!(ffn & 1)) {
        const T2 *g2 = reinterpret_cast<const T2 *>(g), *u2 = reinterpret_cast<const T2 *>(u);
        T2 *o2 = reinterpret_cast<T2 *>(o);
        for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < ffn / 2; j += stride) {
            const float2 gf = TT<T>::f2(g2[j]), uf = TT<T>::f2(u2[j]);
            o2[j] = TT<T>::mk2(gf.x / (1.0f + expf(-gf.x)) * uf.x, gf.y / (1.0f + expf(-gf.y)) * uf.y);
        }
    } else {
        for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < ffn; j += stride) {
            const float gf = TT<T>::f(g[j]), uf = TT<T>::f(u[j]);
            o[j] = TT<T>::mk(gf / (1.0f + expf(-gf)) * uf);
        }
    }
}

extern "C" lf_status lf_cuda_swiglu(lf_dtype dt, void *out, const void *gu, int n, int ffn, cudaStream_t st) {
    if (n <= 0 || ffn <= 0) return LINFER_OK;
    if (n > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA swiglu: %d rows in one launch (max 65535)", n);
    const int work = (ffn & 1) ? ffn : ffn / 2;
    dim3 grid(grid_for((size_t)work, 256, 64), n);
    DISPATCH_T(dt, "swiglu", LF_LAUNCH(swiglu_kernel<T>, grid, 256, 0, st, (T *)out, (const T *)gu, ffn));
    CUDA_CHECK_LAUNCH("swiglu_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// Greedy sampling on the GPU: out[r] = argmax over the vocab of logits[r, :] (fp32), lowest index
// on ties (the CPU reference lf_cpu_argmax's rule). One block of ARGMAX_THREADS per row; with a
// 16-byte aligned row each thread reads float4s (ARGMAX_UNROLL loads in flight), else floats, in
// increasing index order, then a warp-shuffle and a shared-memory reduction of (value, index)
// pairs. NaN never wins.
#define ARGMAX_THREADS 1024
#define ARGMAX_UNROLL 4
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
__global__ void __launch_bounds__(ARGMAX_THREADS) argmax_rows_kernel(const float *__restrict__ logits, int vocab, int32_t *__restrict__ out) {
    __shared__ float sv[ARGMAX_THREADS / 32];
    __shared__ int si[ARGMAX_THREADS / 32];
    pdl_enter();
    const float *row = logits + (size_t)blockIdx.x * vocab;
    float best = -INFINITY;
    int bi = 0x7fffffff;
    const int tid = threadIdx.x;
    int j0 = 0;
    if (!((uintptr_t)row & 15)) {
        const float4 *r4 = reinterpret_cast<const float4 *>(row);
        const int n4 = vocab >> 2;
        int j = tid;
        for (; j + (ARGMAX_UNROLL - 1) * ARGMAX_THREADS < n4; j += ARGMAX_UNROLL * ARGMAX_THREADS) {
            float4 v[ARGMAX_UNROLL];
#pragma unroll
            for (int u = 0; u < ARGMAX_UNROLL; u++) v[u] = __ldg(r4 + j + u * ARGMAX_THREADS);
#pragma unroll
            for (int u = 0; u < ARGMAX_UNROLL; u++) {
                const int b = 4 * (j + u * ARGMAX_THREADS);
                argmax_take(v[u].x, b, &best, &bi);
                argmax_take(v[u].y, b + 1, &best, &bi);
                argmax_take(v[u].z, b + 2, &best, &bi);
                argmax_take(v[u].w, b + 3, &best, &bi);
            }
        }
        for (; j < n4; j += ARGMAX_THREADS) {
            const float4 v = __ldg(r4 + j);
            argmax_take(v.x, 4 * j, &best, &bi);
            argmax_take(v.y, 4 * j + 1, &best, &bi);
            argmax_take(v.z, 4 * j + 2, &best, &bi);
            argmax_take(v.w, 4 * j + 3, &best, &bi);
        }
        j0 = n4 << 2;
    }
    for (int j = j0 + tid; j < vocab; j += ARGMAX_THREADS) argmax_take(row[j], j, &best, &bi);
    argmax_warp(&best, &bi);
    if ((tid & 31) == 0) { sv[tid >> 5] = best; si[tid >> 5] = bi; }
    __syncthreads();
    if (tid < 32) {
        best = tid < ARGMAX_THREADS / 32 ? sv[tid] : -INFINITY;
        bi = tid < ARGMAX_THREADS / 32 ? si[tid] : 0x7fffffff;
        argmax_warp(&best, &bi);
        if (tid == 0) out[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
    }
}

extern "C" lf_status lf_cuda_argmax_rows(const float *logits, int rows, int vocab, int32_t *out, cudaStream_t st) {
    if (rows <= 0 || vocab <= 0) return LINFER_OK;
    LF_LAUNCH(argmax_rows_kernel, rows, ARGMAX_THREADS, 0, st, logits, vocab, out);
    CUDA_CHECK_LAUNCH("argmax_rows_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// y[m, n] (fp32) += bias[n] (T): the o_proj bias of HF attention_bias models, added to the residual
template <typename T>
__global__ void add_bias_kernel(float *__restrict__ y, const T *__restrict__ bias, int N) {
    pdl_enter();
    float *row = y + (size_t)blockIdx.y * N;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < N; j += gridDim.x * blockDim.x) row[j] += TT<T>::f(bias[j]);
}

extern "C" lf_status lf_cuda_add_bias(lf_dtype dt, float *y, const void *bias, int M, int N, cudaStream_t st) {
    if (M <= 0 || N <= 0) return LINFER_OK;
    if (M > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA add_bias: %d rows in one launch (max 65535)", M);
    dim3 grid(grid_for((size_t)N, 256, 64), M);
    DISPATCH_T(dt, "add_bias", LF_LAUNCH(add_bias_kernel<T>, grid, 256, 0, st, y, (const T *)bias, N));
    CUDA_CHECK_LAUNCH("add_bias_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// GEMV for small M: y[m, n] = sum_k x[m, k] W[n, k]. One warp per output row n, 16-byte loads
// of W (U in flight per lane: 4 or 8), x re-read from L1/L2. K % 8 == 0. early: the first round
// of W is loaded before the PDL wait (weights are never written by a kernel, kernel_launch.h).
#define GEMV_WARPS 8
template <typename T, int M, int U>
__device__ __forceinline__ void gemv_round(float (&acc)[M], const uint4 (&w)[U], const uint4 *x4, int K8, int c) {
#pragma unroll
    for (int m = 0; m < M; m++) {
        const uint4 *xm = x4 + (size_t)m * K8;
        float part = 0.f;
#pragma unroll
        for (int u = 0; u < U; u++) part += dot8<T>(w[u], __ldg(xm + c + 32 * u));
        acc[m] += part;
    }
}
template <typename T, int M, int U>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
gemv_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, int y_f32, float beta, int N, int K, int early) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = min((int)(blockIdx.x * GEMV_WARPS + warp), N - 1);
    const int K8 = K >> 3;
    const uint4 *w4 = reinterpret_cast<const uint4 *>(W + (size_t)row * K);
    int c = lane;
    uint4 w[U];
    const int first = early && c + (U - 1) * 32 < K8;
    if (first) {
#pragma unroll
        for (int u = 0; u < U; u++) w[u] = __ldg(w4 + c + 32 * u);
    }
    pdl_enter();
    if ((int)(blockIdx.x * GEMV_WARPS + warp) >= N) return;
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
    if (first) {
        gemv_round<T, M, U>(acc, w, x4, K8, c);
        c += U * 32;
    }
    for (; c + (U - 1) * 32 < K8; c += U * 32) {
#pragma unroll
        for (int u = 0; u < U; u++) w[u] = __ldg(w4 + c + 32 * u);
        gemv_round<T, M, U>(acc, w, x4, K8, c);
    }
    for (; c < K8; c += 32) {
        const uint4 w0 = __ldg(w4 + c);
#pragma unroll
        for (int m = 0; m < M; m++) acc[m] += dot8<T>(w0, __ldg(x4 + (size_t)m * K8 + c));
    }
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = warp_sum(acc[m]);
    if (lane == 0) {
#pragma unroll
        for (int m = 0; m < M; m++) {
            const size_t o = (size_t)m * N + row;
            if (y_f32) {
                float *yf = reinterpret_cast<float *>(y);
                yf[o] = beta != 0.f ? acc[m] + beta * yf[o] : acc[m];
            } else {
                reinterpret_cast<T *>(y)[o] = TT<T>::mk(acc[m]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One round of the skinny GEMM: the weight fragments of 32-k blocks kb0 .. kb0+U-1 (rows lo and
// hi of the tile, zero past kb_end), the tokens' fragments of the same blocks, and their MMAs.
template <int U>
__device__ __forceinline__ void gm_load_w(uint4 (&alo)[U], uint4 (&ahi)[U], const uint4 *wlo, const uint4 *whi, int kb0, int kb_end) {
    const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < U; u++) {
        const int kb = kb0 + u;
        if (kb < kb_end) {
            alo[u] = __ldg(wlo + kb * 4);
            ahi[u] = __ldg(whi + kb * 4);
        } else {
            alo[u] = ahi[u] = zero;
        }
    }
}
template <int U, int NT>
__device__ __forceinline__ void gm_load_x(uint4 (&bx)[U][NT], const uint4 *const (&xr)[NT], const bool (&xok)[NT], int kb0, int kb_end) {
    const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < U; u++) {
        if (kb0 + u < kb_end) {
#pragma unroll
            for (int t = 0; t < NT; t++) bx[u][t] = xok[t] ? __ldg(xr[t] + (kb0 + u) * 4) : zero;
        } else {
#pragma unroll
            for (int t = 0; t < NT; t++) bx[u][t] = zero;
        }
    }
}
template <typename T, int U, int NT>
__device__ __forceinline__ void gm_mma(float (&acc)[NT][4], const uint4 (&alo)[U], const uint4 (&ahi)[U], const uint4 (&bx)[U][NT]) {
#pragma unroll
    for (int u = 0; u < U; u++) {
        const uint32_t a0[4] = {alo[u].x, ahi[u].x, alo[u].y, ahi[u].y};
        const uint32_t a1[4] = {alo[u].z, ahi[u].z, alo[u].w, ahi[u].w};
#pragma unroll
        for (int t = 0; t < NT; t++) {
            mma16816<T>(acc[t], a0, bx[u][t].x, bx[u][t].y);
            mma16816<T>(acc[t], a1, bx[u][t].z, bx[u][t].w);
        }
    }
}

// Skinny GEMM on tensor cores for M <= 16 rows ("GEMV-MMA"): y[m, n] = sum_k x[m, k] W[n, k], each
// weight read exactly once for all M rows. mma.m16n8k16 with the weight rows as the MMA's M
// dimension (a 16-row tile per block) and the tokens as its N dimension (NT tiles of 8 tokens).
// The k order inside one mma is free as long as A and B use the same order, so thread
// (g = lane/4, c = lane%4) loads 16 bytes = 8 consecutive k (8c .. 8c+7 of a 32-k block) of
// weight rows g and g+8 and of token g, and feeds them as the mma's k {2c,2c+1,2c+8,2c+9} of two
// steps (phys 8c..8c+3, then 8c+4..8c+7). The warps of a block split K; their partial tiles are
// added in shared memory. Epilogues: EPI 0 y (T) = acc; EPI 1 y (fp32) = acc + beta*y (the
// residual add); EPI 2 (SwiGLU) the tile's rows are 8 gate rows i*8+g and the 8 matching up rows
// ffn+i*8+g of the fused [gate | up] weight, so one thread holds gate and up of the same
// (feature, token) and writes act = silu(gate)*up (gate and up rounded to T first, as the
// unfused path stores them). A round issues all its weight loads, then all its token loads, then
// the MMAs; with `early` its first round's weights are loaded before the PDL wait.
#define GM_UNROLL (NT == 1 ? 8 : 4) /* 32-k blocks per warp per round: 16-byte loads in flight per lane: 2U (W) + NT*U (x) */
template <typename T, int NT, int EPI, int WARPS>
__global__ void __launch_bounds__(WARPS * 32)
gemv_mma_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, float beta, int M, int N,
                int K, int ffn, int balanced, int early) {
    __shared__ float red[WARPS > 1 ? WARPS - 1 : 1][NT][4][32];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    int row_lo, row_hi, feat = 0;
    if (EPI == 2) {
        feat = blockIdx.x * 8 + g;
        const int f = feat < ffn ? feat : ffn - 1;
        row_lo = f;
        row_hi = ffn + f;
    } else {
        row_lo = min(blockIdx.x * 16 + g, N - 1);
        row_hi = min(blockIdx.x * 16 + g + 8, N - 1);
    }
    const int K8 = K >> 3, KB = K >> 5;
    // which 32-k blocks this warp takes: balanced, a contiguous range of ceil(KB / WARPS) (every
    // warp has the same count, e.g. 43 each for K = 11008 over 8 warps), else GM_UNROLL-block
    // pieces in turn (the warps of a round read adjacent pieces; 6 rounds for some warps and 5 for
    // others at K = 11008)
    const int KBw = (KB + WARPS - 1) / WARPS;
    const int kb_start = balanced ? warp * KBw : warp * GM_UNROLL;
    const int kb_end = balanced ? min(KB, kb_start + KBw) : KB;
    const int kb_step = balanced ? GM_UNROLL : WARPS * GM_UNROLL;
    const uint4 *wlo = reinterpret_cast<const uint4 *>(W) + (size_t)row_lo * K8 + c;
    const uint4 *whi = reinterpret_cast<const uint4 *>(W) + (size_t)row_hi * K8 + c;
    const uint4 *xr[NT];
    bool xok[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) {
        const int tok = t * 8 + g;
        xok[t] = tok < M;
        xr[t] = reinterpret_cast<const uint4 *>(x) + (size_t)(xok[t] ? tok : 0) * K8 + c;
    }
    uint4 alo[GM_UNROLL], ahi[GM_UNROLL];
    int kb0 = kb_start;
    // early: the first round's weights are loaded before the PDL wait (no kernel writes weights,
    // kernel_launch.h), so they stream during the previous kernel's tail; that round is peeled off
    // so that the loop's body stays one batch of loads then the MMAs
    if (early) gm_load_w<GM_UNROLL>(alo, ahi, wlo, whi, kb0, kb_end);
    pdl_enter();
    float acc[NT][4];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.f;
    if (early && kb0 < kb_end) {
        uint4 bx[GM_UNROLL][NT];
        gm_load_x<GM_UNROLL, NT>(bx, xr, xok, kb0, kb_end);
        gm_mma<T, GM_UNROLL, NT>(acc, alo, ahi, bx);
        kb0 += kb_step;
    }
    for (; kb0 < kb_end; kb0 += kb_step) {
        uint4 bx[GM_UNROLL][NT];
        gm_load_w<GM_UNROLL>(alo, ahi, wlo, whi, kb0, kb_end);
        gm_load_x<GM_UNROLL, NT>(bx, xr, xok, kb0, kb_end);
        gm_mma<T, GM_UNROLL, NT>(acc, alo, ahi, bx);
    }
    if (WARPS > 1) {
        if (warp > 0) {
#pragma unroll
            for (int t = 0; t < NT; t++)
#pragma unroll
                for (int i = 0; i < 4; i++) red[warp - 1][t][i][lane] = acc[t][i];
        }
        __syncthreads();
        if (warp > 0) return;
#pragma unroll
        for (int w = 0; w < WARPS - 1; w++)
#pragma unroll
            for (int t = 0; t < NT; t++)
#pragma unroll
                for (int i = 0; i < 4; i++) acc[t][i] += red[w][t][i][lane];
    }
    // c0, c1: (tile row g, tokens 2c, 2c+1); c2, c3: (tile row g+8, the same tokens)
#pragma unroll
    for (int t = 0; t < NT; t++) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
            const int tok = t * 8 + 2 * c + j;
            if (tok >= M) continue;
            if (EPI == 2) {
                if (feat < ffn) {
                    const float gt = TT<T>::f(TT<T>::mk(acc[t][j])), up = TT<T>::f(TT<T>::mk(acc[t][2 + j]));
                    reinterpret_cast<T *>(y)[(size_t)tok * ffn + feat] = TT<T>::mk(gt / (1.0f + expf(-gt)) * up);
                }
            } else {
                const int n_lo = blockIdx.x * 16 + g, n_hi = n_lo + 8;
#pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    const int n = hh ? n_hi : n_lo;
                    if (n >= N) continue;
                    const float v = acc[t][2 * hh + j];
                    const size_t o = (size_t)tok * N + n;
                    if (EPI == 1) {
                        float *yf = reinterpret_cast<float *>(y);
                        yf[o] = beta != 0.f ? v + beta * yf[o] : v;
                    } else {
                        reinterpret_cast<T *>(y)[o] = TT<T>::mk(v);
                    }
                }
            }
        }
    }
}

static int gemv_mma_ok(const void *x, const void *W, int M, int K) {
    return M >= 1 && M <= LF_CUDA_GEMV_MMA_MAX_M && K % 32 == 0 && !(((uintptr_t)x | (uintptr_t)W) & 15);
}

extern "C" int lf_cuda_gemv_mma_supported(int M, int K) { return M >= 1 && M <= LF_CUDA_GEMV_MMA_MAX_M && K % 32 == 0; }

// K ranges of the skinny GEMM's warps: balanced (default) or the earlier round-robin pieces
// (LF_CUDA_GEMV_BALANCED=0, to compare)
static int g_gemv_balanced = -1;
extern "C" void lf_cuda_set_gemv_balanced(int on) { g_gemv_balanced = on ? 1 : 0; }
static int gemv_balanced(void) { return env_switch(&g_gemv_balanced, "LF_CUDA_GEMV_BALANCED"); }
// The skinny GEMM's and the FFMA GEMV's first round of weights loaded before the PDL wait
// (LF_CUDA_GEMV_EARLY=0 off, to compare: docs/perf-notes.md, session 16)
static int g_gemv_early = -1;
static int gemv_early(void) { return env_switch(&g_gemv_early, "LF_CUDA_GEMV_EARLY"); }

// EPI/NT/WARPS dispatch. warps: 4, 8 or 16 (split of K inside a block)
template <typename T, int EPI>
static void gemv_mma_launch(const void *x, const void *W, void *y, float beta, int M, int N, int K, int ffn, int warps,
                            int balanced, cudaStream_t st) {
    const unsigned blocks = EPI == 2 ? (unsigned)((ffn + 7) / 8) : (unsigned)((N + 15) / 16);
#define GMM(NT_, W_) LF_LAUNCH((gemv_mma_kernel<T, NT_, EPI, W_>), blocks, W_ * 32, 0, st, (const T *)x, (const T *)W, y, beta, M, N, K, ffn, balanced, gemv_early())
    if (M <= 8) { if (warps >= 16) GMM(1, 16); else if (warps >= 8) GMM(1, 8); else GMM(1, 4); }
    else { if (warps >= 16) GMM(2, 16); else if (warps >= 8) GMM(2, 8); else GMM(2, 4); }
#undef GMM
}

// warps per block: enough blocks x warps to keep ~16 warps per SM streaming
static int gemv_mma_warps(int tiles) { return tiles >= 1024 ? 4 : 8; }

extern "C" lf_status lf_cuda_gemv_mma(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                      int N, int K, int warps, cudaStream_t st) {
    return lf_cuda_gemv_mma_ex(dt, x, W, y, y_f32, beta, M, N, K, warps, -1, st);
}

extern "C" lf_status lf_cuda_gemv_mma_ex(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                         int N, int K, int warps, int balanced, cudaStream_t st) {
    if (balanced < 0) balanced = gemv_balanced();
    if (M <= 0 || N <= 0) return LINFER_OK;
    if (!gemv_mma_ok(x, W, M, K))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA gemv_mma: M %d (1..%d), K %d (multiple of 32), 16-byte aligned pointers",
                       M, LF_CUDA_GEMV_MMA_MAX_M, K);
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA gemv_mma: beta != 0 needs an fp32 output");
    if (warps <= 0) warps = gemv_mma_warps((N + 15) / 16);
    DISPATCH_T(dt, "gemv_mma",
        if (y_f32) gemv_mma_launch<T, 1>(x, W, y, beta, M, N, K, 0, warps, balanced, st);
        else gemv_mma_launch<T, 0>(x, W, y, 0.f, M, N, K, 0, warps, balanced, st));
    CUDA_CHECK_LAUNCH("gemv_mma_kernel");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_gate_up_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int M, int ffn, int K,
                                            int warps, cudaStream_t st) {
    if (M <= 0 || ffn <= 0) return LINFER_OK;
    if (!gemv_mma_ok(x, Wgu, M, K))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA gate_up_swiglu: M %d (1..%d), K %d (multiple of 32), 16-byte aligned pointers",
                       M, LF_CUDA_GEMV_MMA_MAX_M, K);
    if (warps <= 0) warps = gemv_mma_warps((ffn + 7) / 8);
    DISPATCH_T(dt, "gate_up_swiglu", gemv_mma_launch<T, 2>(x, Wgu, act, 0.f, M, 2 * ffn, K, ffn, warps, gemv_balanced(), st));
    CUDA_CHECK_LAUNCH("gemv_mma_kernel(swiglu)");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_linear(cublasHandle_t hdl, lf_dtype dt, const void *x, const void *W, void *y, int y_f32,
                                    float beta, int M, int N, int K, int gemv_max_m, cudaStream_t st) {
    if (M <= 0 || N <= 0) return LINFER_OK;
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA linear: beta != 0 needs an fp32 output");
    if (dt != LF_DT_F16 && dt != LF_DT_BF16)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA linear: dtype %s (want F16 or BF16)", lf_dtype_name(dt));
    if (M <= gemv_max_m && gemv_mma_ok(x, W, M, K)) return lf_cuda_gemv_mma(dt, x, W, y, y_f32, beta, M, N, K, 0, st);
    if (M <= gemv_max_m && M <= LF_CUDA_GEMV_MAX_M && K % 8 == 0 && !(((uintptr_t)x | (uintptr_t)W) & 15))
        return lf_cuda_gemv_ffma(dt, x, W, y, y_f32, beta, M, N, K, st);
    return lf_cuda_gemm_cublas(hdl, dt, x, W, y, y_f32, beta, M, N, K, st);
}

extern "C" lf_status lf_cuda_gemv_ffma(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                       int N, int K, cudaStream_t st) {
    return lf_cuda_gemv_ffma_ex(dt, x, W, y, y_f32, beta, M, N, K, 4, st);
}

extern "C" lf_status lf_cuda_gemv_ffma_ex(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                          int N, int K, int unroll, cudaStream_t st) {
    if (M <= 0 || N <= 0) return LINFER_OK;
    const int aligned = !(((uintptr_t)x | (uintptr_t)W) & 15) && K % 8 == 0;
    if (M > LF_CUDA_GEMV_MAX_M || !aligned)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA gemv: M %d (at most %d), K %d (multiple of 8), 16-byte aligned pointers",
                       M, LF_CUDA_GEMV_MAX_M, K);
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA gemv: beta != 0 needs an fp32 output");
    if (unroll != 4 && unroll != 8) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA gemv: %d loads in flight per lane (4 or 8)", unroll);
    const unsigned blocks = (unsigned)((N + GEMV_WARPS - 1) / GEMV_WARPS);
    const int early = gemv_early();
#define GEMV_CASE(MM) case MM: if (unroll == 8) LF_LAUNCH((gemv_kernel<T, MM, 8>), blocks, GEMV_WARPS * 32, 0, st, (const T *)x, (const T *)W, y, y_f32, beta, N, K, early); \
                               else LF_LAUNCH((gemv_kernel<T, MM, 4>), blocks, GEMV_WARPS * 32, 0, st, (const T *)x, (const T *)W, y, y_f32, beta, N, K, early); break
    DISPATCH_T(dt, "gemv", switch (M) {
        GEMV_CASE(1); GEMV_CASE(2); GEMV_CASE(3); GEMV_CASE(4);
        GEMV_CASE(5); GEMV_CASE(6); GEMV_CASE(7); GEMV_CASE(8);
    });
#undef GEMV_CASE
    CUDA_CHECK_LAUNCH("gemv_kernel");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_gemm_cublas(cublasHandle_t hdl, lf_dtype dt, const void *x, const void *W, void *y, int y_f32,
                                         float beta, int M, int N, int K, cudaStream_t st) {
    if (M <= 0 || N <= 0) return LINFER_OK;
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA linear: beta != 0 needs an fp32 output");
    if (dt != LF_DT_F16 && dt != LF_DT_BF16)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA linear: dtype %s (want F16 or BF16)", lf_dtype_name(dt));
    // row-major y[M,N] = x[M,K] W[N,K]^T  <=>  column-major y^T[N,M] = W^T . x^T, W seen as [K,N] col-major
    const cudaDataType_t ab = dt == LF_DT_F16 ? CUDA_R_16F : CUDA_R_16BF;
    const cudaDataType_t ct = y_f32 ? CUDA_R_32F : ab;
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasSetStream(hdl, st));
    CUBLAS_CHECK(cublasGemmEx(hdl, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &alpha, W, ab, K, x, ab, K, &beta, y, ct, N,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// weight conversion and synthesis
template <typename T>
__global__ void convert_kernel(T *__restrict__ dst, int src_dt, const void *__restrict__ src, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v;
        if (src_dt == LF_DT_F32) v = reinterpret_cast<const float *>(src)[i];
        else if (src_dt == LF_DT_F16) v = __half2float(reinterpret_cast<const __half *>(src)[i]);
        else v = __bfloat162float(reinterpret_cast<const __nv_bfloat16 *>(src)[i]);
        dst[i] = TT<T>::mk(v);
    }
}

extern "C" lf_status lf_cuda_convert(lf_dtype dt, void *dst, lf_dtype src_dt, const void *src, size_t n, cudaStream_t st) {
    if (!n) return LINFER_OK;
    if (src_dt != LF_DT_F32 && src_dt != LF_DT_F16 && src_dt != LF_DT_BF16)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA convert: source dtype %s", lf_dtype_name(src_dt));
    DISPATCH_T(dt, "convert", convert_kernel<T><<<grid_for(n, 256), 256, 0, st>>>((T *)dst, (int)src_dt, src, n));
    CUDA_CHECK_LAUNCH("convert_kernel");
    return LINFER_OK;
}

template <typename T>
__global__ void fill_random_kernel(T *__restrict__ dst, size_t n, uint64_t seed, uint32_t id, float scale, int round_dt) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = TT<T>::mk(lf_random_weight_value(seed, id, i, scale, (lf_dtype)round_dt));
}

// a slice of a random tensor: dst[i*cols + j] = value at the tensor's element off + i*ld + j
template <typename T>
__global__ void fill_random_slice_kernel(T *__restrict__ dst, size_t rows, size_t cols, size_t ld, size_t off, uint64_t seed,
                                         uint32_t id, float scale, int round_dt) {
    const size_t n = rows * cols;
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (size_t)gridDim.x * blockDim.x) {
        const size_t i = k / cols, j = k - i * cols;
        dst[k] = TT<T>::mk(lf_random_weight_value(seed, id, off + i * ld + j, scale, (lf_dtype)round_dt));
    }
}

extern "C" lf_status lf_cuda_fill_random_slice(lf_dtype dt, void *dst, size_t rows, size_t cols, size_t ld, size_t off,
                                               uint64_t seed, uint32_t id, float scale, lf_dtype round_dt, cudaStream_t st) {
    if (!rows || !cols) return LINFER_OK;
    DISPATCH_T(dt, "fill_random_slice", fill_random_slice_kernel<T><<<grid_for(rows * cols, 256), 256, 0, st>>>(
                                            (T *)dst, rows, cols, ld, off, seed, id, scale, (int)round_dt));
    CUDA_CHECK_LAUNCH("fill_random_slice_kernel");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_fill_random(lf_dtype dt, void *dst, size_t n, uint64_t seed, uint32_t id, float scale,
                                         lf_dtype round_dt, cudaStream_t st) {
    if (!n) return LINFER_OK;
    DISPATCH_T(dt, "fill_random", fill_random_kernel<T><<<grid_for(n, 256), 256, 0, st>>>((T *)dst, n, seed, id, scale, (int)round_dt));
    CUDA_CHECK_LAUNCH("fill_random_kernel");
    return LINFER_OK;
}
