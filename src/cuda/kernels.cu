// kernels.cu — CUDA kernels of the CUDA backend and their extern "C" launchers (cuda_kernels.h):
// embedding, RMSNorm, RoPE, SwiGLU, argmax, the GEMVs and skinny GEMMs, conversions and random
// weights (the attention is in attention.cu, the one-shot all-reduce in allreduce.cu).
// T is __half or __nv_bfloat16; every sum, norm and dot product accumulates in fp32.
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
#include "kernel_math.h"
#include "rope_angle.h"

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
// single row costs one round trip to L2 instead of n / 256 dependent loads. early_w: the norm
// weights (no kernel writes them) are loaded before the PDL wait, so the output pass does not
// wait for them after the sum (LF_CUDA_NORM_EARLY=0: after it, as before session 21).
#define NORM_VEC_MAX 4
template <typename T>
__global__ void __launch_bounds__(1024) rmsnorm_vec_kernel(T *__restrict__ out, const float *__restrict__ x,
                                                           const T *__restrict__ w, const int32_t *__restrict__ rows,
                                                           int n, float eps, int early_w) {
    __shared__ float red[33];
    typedef typename TT<T>::T2 T2;
    const uint2 *w2 = reinterpret_cast<const uint2 *>(w);
    const int n4 = n >> 2;
    uint2 wv[NORM_VEC_MAX];
    if (early_w) {
#pragma unroll
        for (int j = 0; j < NORM_VEC_MAX; j++) {
            const int i = threadIdx.x + j * blockDim.x;
            if (i < n4) wv[j] = __ldg(w2 + i);
        }
    }
    pdl_enter();
    const int r = blockIdx.x;
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
    uint2 *o2 = reinterpret_cast<uint2 *>(out + (size_t)r * n);
#pragma unroll
    for (int j = 0; j < NORM_VEC_MAX; j++) {
        const int i = threadIdx.x + j * blockDim.x;
        if (i < n4) {
            const uint2 wu = early_w ? wv[j] : __ldg(w2 + i);
            const float2 wa = TT<T>::f2(*reinterpret_cast<const T2 *>(&wu.x)), wb = TT<T>::f2(*reinterpret_cast<const T2 *>(&wu.y));
            uint2 ou;
            ou.x = pack2<T>(v[j].x * inv * wa.x, v[j].y * inv * wa.y);
            ou.y = pack2<T>(v[j].z * inv * wb.x, v[j].w * inv * wb.y);
            o2[i] = ou;
        }
    }
}

static int g_norm_early = -1, g_norm_wide = -1;
#define NORM_WIDE_ROWS 256 /* rows per launch from which the norm kernel takes NORM_VEC_MAX float4 per thread */
extern "C" lf_status lf_cuda_rmsnorm(lf_dtype dt, void *out, const float *x, const void *w, const int32_t *rows,
                                     int n_rows, int n, float eps, cudaStream_t st) {
    if (n_rows <= 0) return LINFER_OK;
    const int n4 = n / 4;
    if (n % 4 == 0 && n4 <= 1024 * NORM_VEC_MAX && !((uintptr_t)x & 15) && !(((uintptr_t)w | (uintptr_t)out) & 7)) {
        // wide, for NORM_WIDE_ROWS rows or more (since session 21; LF_CUDA_NORM_WIDE=0: never):
        // NORM_VEC_MAX float4 per thread, so a row takes n4 / 4 threads (256 at width 4096) and a
        // prefill's 2048 rows run 8 blocks per SM instead of 2 (21j: 2.17 -> 0.80 ms per 2048-token
        // prefill). Decode steps keep one float4 per thread: at one row the wide form was 0.04 ms per
        // 7B step slower. (A row's bits then depend on its batch's size, as the GEMMs' already do.)
        const int per = n_rows >= NORM_WIDE_ROWS && env_switch(&g_norm_wide, "LF_CUDA_NORM_WIDE") ? NORM_VEC_MAX : 1;
        const int want = (n4 + per - 1) / per;
        int threads = want < 1024 ? ((want + 31) / 32) * 32 : 1024;
        DISPATCH_T(dt, "rmsnorm", LF_LAUNCH(rmsnorm_vec_kernel<T>, n_rows, threads, 0, st, (T *)out, x, (const T *)w, rows, n, eps,
                                                         env_switch(&g_norm_early, "LF_CUDA_NORM_EARLY")));
        CUDA_CHECK_LAUNCH("rmsnorm_vec_kernel");
        return LINFER_OK;
    }
    DISPATCH_T(dt, "rmsnorm", LF_LAUNCH(rmsnorm_kernel<T>, n_rows, NORM_THREADS, 0, st, (T *)out, x, (const T *)w, rows, n, eps));
    CUDA_CHECK_LAUNCH("rmsnorm_kernel");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// RoPE on q (in place) and k, bias, and K/V written to the cache. One block per token; the
// block is a whole number of "pair groups" of head_dim/2 threads: thread j of a group owns pair
// j of every head it visits, so its sin/cos is computed once. A thread loads the pairs of up to
// ROPE_BATCH of its heads before it rotates and stores any (session 21: the stores, which may
// alias the next loads for the compiler, had made each head wait for the previous one's round
// trip), and V moves in 16-byte copies when there is no bias.
#define ROPE_BATCH 4
template <typename T>
__global__ void __launch_bounds__(1024) rope_qkv_kernel(T *__restrict__ qkv, int qkv_stride, const T *__restrict__ bias,
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
        const int nhk = n_heads + n_kv;
        for (int hb = h0; hb < nhk; hb += ROPE_BATCH * groups) {
            float x0[ROPE_BATCH], x1[ROPE_BATCH];
#pragma unroll
            for (int i = 0; i < ROPE_BATCH; i++) {
                const int head = hb + i * groups;
                if (head < nhk) { x0[i] = TT<T>::f(row[head * hd + a]); x1[i] = TT<T>::f(row[head * hd + b]); }
            }
#pragma unroll
            for (int i = 0; i < ROPE_BATCH; i++) {
                const int head = hb + i * groups, ca = head * hd + a, cb = head * hd + b;
                if (head >= nhk) break;
                if (bias) { x0[i] += TT<T>::f(bias[ca]); x1[i] += TT<T>::f(bias[cb]); }
                float y0, y1;
                rope_rotate(x0[i], x1[i], cs, sn, y0, y1);
                if (head < n_heads) { row[ca] = TT<T>::mk(y0); row[cb] = TT<T>::mk(y1); }
                else { krow[ca - q_dim] = TT<T>::mk(y0); krow[cb - q_dim] = TT<T>::mk(y1); }
            }
        }
    }
    const T *vsrc = row + q_dim + kv_dim;
    if (!bias && kv_dim % 8 == 0 && !(((uintptr_t)vsrc | (uintptr_t)vrow) & 15)) {
        for (int i = threadIdx.x; i < kv_dim / 8; i += blockDim.x)
            reinterpret_cast<uint4 *>(vrow)[i] = reinterpret_cast<const uint4 *>(vsrc)[i];   // T -> float -> T is the identity
        return;
    }
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        float v = TT<T>::f(vsrc[i]);
        if (bias) v += TT<T>::f(bias[q_dim + kv_dim + i]);
        vrow[i] = TT<T>::mk(v);
    }
}

// The same for HF's (NEOX) layout without bias, head_dim % 16 == 0, head_dim <= 256 (vec; since
// session 21, LF_CUDA_ROPE_VEC=0 to compare): a thread takes 8 consecutive pairs of one head and
// their partners half a head away (two 16-byte loads and stores), with the angles the scalar
// kernel computes (lf_rope_angle, sincosf: once per block, in shared memory) and the same
// rope_rotate, so the same bits; V in 16-byte copies.
template <typename T>
__global__ void __launch_bounds__(256) rope_qkv_vec_kernel(T *__restrict__ qkv, int qkv_stride, const float *__restrict__ inv_freq,
                                                           const int32_t *__restrict__ pos, const int32_t *__restrict__ seq,
                                                           T *__restrict__ kc, T *__restrict__ vc, int max_ctx, int n_heads, int n_kv,
                                                           int hd) {
    typedef typename TT<T>::T2 T2;
    __shared__ float s_sn[128], s_cs[128];
    pdl_enter();
    const int t = blockIdx.x, p = pos[t], s = seq[t];
    const int half = hd >> 1, q_dim = n_heads * hd, kv_dim = n_kv * hd;
    T *row = qkv + (size_t)t * qkv_stride;
    const size_t kv_off = ((size_t)s * max_ctx + p) * kv_dim;
    T *krow = kc + kv_off, *vrow = vc + kv_off;
    for (int j = threadIdx.x; j < half; j += blockDim.x) {
        float sn, cs;
        sincosf(lf_rope_angle(p, j, half, inv_freq, 0), &sn, &cs);
        s_sn[j] = sn;
        s_cs[j] = cs;
    }
    __syncthreads();
    const int per_head = half >> 3, items = (n_heads + n_kv) * per_head;
    for (int it = threadIdx.x; it < items; it += blockDim.x) {
        const int head = it / per_head, j0 = (it % per_head) * 8, ca = head * hd + j0;
        const uint4 xa = *reinterpret_cast<const uint4 *>(row + ca), xb = *reinterpret_cast<const uint4 *>(row + ca + half);
        const T2 *a2 = reinterpret_cast<const T2 *>(&xa), *b2 = reinterpret_cast<const T2 *>(&xb);
        uint4 ya, yb;
        T2 *ya2 = reinterpret_cast<T2 *>(&ya), *yb2 = reinterpret_cast<T2 *>(&yb);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float2 fa = TT<T>::f2(a2[i]), fb = TT<T>::f2(b2[i]);
            float y0a, y1a, y0b, y1b;
            rope_rotate(fa.x, fb.x, s_cs[j0 + 2 * i], s_sn[j0 + 2 * i], y0a, y1a);
            rope_rotate(fa.y, fb.y, s_cs[j0 + 2 * i + 1], s_sn[j0 + 2 * i + 1], y0b, y1b);
            ya2[i] = TT<T>::mk2(y0a, y0b);
            yb2[i] = TT<T>::mk2(y1a, y1b);
        }
        T *dst = head < n_heads ? row + ca : krow + (ca - q_dim);
        *reinterpret_cast<uint4 *>(dst) = ya;
        *reinterpret_cast<uint4 *>(dst + half) = yb;
    }
    const T *vsrc = row + q_dim + kv_dim;
    for (int i = threadIdx.x; i < kv_dim / 8; i += blockDim.x)
        reinterpret_cast<uint4 *>(vrow)[i] = reinterpret_cast<const uint4 *>(vsrc)[i];
}
static int g_rope_vec = -1;
extern "C" lf_status lf_cuda_rope_qkv(lf_dtype dt, void *qkv, int qkv_stride, const void *bias, const float *inv_freq,
                                      const int32_t *pos, const int32_t *seq, int n, void *k_cache, void *v_cache,
                                      int max_ctx, int n_heads, int n_kv_heads, int head_dim, lf_rope_style style,
                                      cudaStream_t st) {
    if (n <= 0) return LINFER_OK;
    if ((head_dim & 1) || head_dim > 2048) return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA rope: head_dim %d", head_dim);
    const int kv_dim = n_kv_heads * head_dim;
    if (!bias && style == LF_ROPE_NEOX && head_dim % 16 == 0 && head_dim <= 256 && qkv_stride % 8 == 0 && kv_dim % 8 == 0 &&
        !(((uintptr_t)qkv | (uintptr_t)k_cache | (uintptr_t)v_cache) & 15) && env_switch(&g_rope_vec, "LF_CUDA_ROPE_VEC")) {
        DISPATCH_T(dt, "rope", LF_LAUNCH(rope_qkv_vec_kernel<T>, n, 256, 0, st, (T *)qkv, qkv_stride, inv_freq, pos, seq, (T *)k_cache,
                                         (T *)v_cache, max_ctx, n_heads, n_kv_heads, head_dim));
        CUDA_CHECK_LAUNCH("rope_qkv_vec_kernel");
        return LINFER_OK;
    }
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
// SwiGLU: out[i, j] = silu(gate) * up, gu rows = [gate(ffn) | up(ffn)]. grid.y = token; 8
// elements per thread (16-byte loads and stores) when ffn % 8 == 0 and the rows are 16-byte aligned
// (vec8, since session 21: prefill ran this kernel at half the read bandwidth with 4-byte
// accesses; LF_CUDA_SWIGLU_VEC=0 to compare), else pairs when ffn is even. The same formula per
// element in every form.
template <typename T>
__global__ void swiglu_kernel(T *__restrict__ out, const T *__restrict__ gu, int ffn, int vec8) {
    typedef typename TT<T>::T2 T2;
    pdl_enter();
    const T *g = gu + (size_t)blockIdx.y * 2 * ffn, *u = g + ffn;
    T *o = out + (size_t)blockIdx.y * ffn;
    const int stride = gridDim.x * blockDim.x;
    if (vec8) {
        const uint4 *g8 = reinterpret_cast<const uint4 *>(g), *u8 = reinterpret_cast<const uint4 *>(u);
        uint4 *o8 = reinterpret_cast<uint4 *>(o);
        for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < ffn / 8; j += stride) {
            const uint4 gv = g8[j], uv = u8[j];
            const T2 *g2 = reinterpret_cast<const T2 *>(&gv), *u2 = reinterpret_cast<const T2 *>(&uv);
            uint4 ov;
            T2 *r2 = reinterpret_cast<T2 *>(&ov);
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const float2 gf = TT<T>::f2(g2[i]), uf = TT<T>::f2(u2[i]);
                r2[i] = TT<T>::mk2(gf.x / (1.0f + expf(-gf.x)) * uf.x, gf.y / (1.0f + expf(-gf.y)) * uf.y);
            }
            o8[j] = ov;
        }
    } else if (!(ffn & 1)) {
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

static int g_swiglu_vec = -1;
extern "C" lf_status lf_cuda_swiglu(lf_dtype dt, void *out, const void *gu, int n, int ffn, cudaStream_t st) {
    if (n <= 0 || ffn <= 0) return LINFER_OK;
    if (n > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA swiglu: %d rows in one launch (max 65535)", n);
    const int vec8 = ffn % 8 == 0 && !(((uintptr_t)out | (uintptr_t)gu) & 15) && env_switch(&g_swiglu_vec, "LF_CUDA_SWIGLU_VEC");
    const int work = vec8 ? ffn / 8 : (ffn & 1) ? ffn : ffn / 2;
    dim3 grid(grid_for((size_t)work, 256, 64), n);
    DISPATCH_T(dt, "swiglu", LF_LAUNCH(swiglu_kernel<T>, grid, 256, 0, st, (T *)out, (const T *)gu, ffn, vec8));
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
// of W is loaded before the PDL wait (weights are never written by a kernel, kernel_launch.h);
// with beta != 0 also lane 0's fp32 y values (the residual), early_y (LF_CUDA_GEMV_EARLY_Y=0 off):
// so the caller must not have y written by the kernel just before this one (in a decode step the
// residual's last writer is two or more kernels back), and the last warps' epilogue waits for no load.
// SWI: the gate/up layer with the SwiGLU epilogue: N = ffn features, W = [gate rows; up rows]
// (2N x K), a warp takes feature n's two rows (2U loads in flight) and writes act[m, n] (T).
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
template <typename T, int M, int U, bool SWI>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
gemv_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, int y_f32, float beta, int N, int K, int early,
            int early_y) {
    constexpr int R = SWI ? 2 : 1; // weight rows per warp: SWI, gate row n and up row N + n
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = min((int)(blockIdx.x * GEMV_WARPS + warp), N - 1);
    const int K8 = K >> 3;
    const uint4 *w4[R];
#pragma unroll
    for (int r = 0; r < R; r++) w4[r] = reinterpret_cast<const uint4 *>(W + (size_t)(row + r * N) * K);
    int c = lane;
    uint4 w[R][U];
    const int first = early && c + (U - 1) * 32 < K8;
    if (first) {
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int u = 0; u < U; u++) w[r][u] = __ldg(w4[r] + c + 32 * u);
    }
    float yr[M];
    const int y_pre = !SWI && early_y && y_f32 && beta != 0.f;
    if (y_pre && lane == 0) {
#pragma unroll
        for (int m = 0; m < M; m++) yr[m] = reinterpret_cast<const float *>(y)[(size_t)m * N + row];
    }
    pdl_enter();
    if ((int)(blockIdx.x * GEMV_WARPS + warp) >= N) return;
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
    float acc[R][M];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int m = 0; m < M; m++) acc[r][m] = 0.f;
    if (first) {
#pragma unroll
        for (int r = 0; r < R; r++) gemv_round<T, M, U>(acc[r], w[r], x4, K8, c);
        c += U * 32;
    }
    for (; c + (U - 1) * 32 < K8; c += U * 32) {
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int u = 0; u < U; u++) w[r][u] = __ldg(w4[r] + c + 32 * u);
#pragma unroll
        for (int r = 0; r < R; r++) gemv_round<T, M, U>(acc[r], w[r], x4, K8, c);
    }
    for (; c < K8; c += 32) {
#pragma unroll
        for (int r = 0; r < R; r++) {
            const uint4 w0 = __ldg(w4[r] + c);
#pragma unroll
            for (int m = 0; m < M; m++) acc[r][m] += dot8<T>(w0, __ldg(x4 + (size_t)m * K8 + c));
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int m = 0; m < M; m++) acc[r][m] = warp_sum(acc[r][m]);
    if (lane == 0) {
#pragma unroll
        for (int m = 0; m < M; m++) {
            const size_t o = (size_t)m * N + row;
            if (SWI) { // gate and up rounded to T as the unfused path stores them, then silu(gate) * up
                const float gt = TT<T>::f(TT<T>::mk(acc[0][m])), up = TT<T>::f(TT<T>::mk(acc[R - 1][m]));
                reinterpret_cast<T *>(y)[o] = TT<T>::mk(gt / (1.0f + expf(-gt)) * up);
            } else if (y_f32) {
                float *yf = reinterpret_cast<float *>(y);
                yf[o] = beta != 0.f ? acc[0][m] + beta * (y_pre ? yr[m] : yf[o]) : acc[0][m];
            } else {
                reinterpret_cast<T *>(y)[o] = TT<T>::mk(acc[0][m]);
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
// the MMAs; with `early` its first round's weights are loaded before the PDL wait (with early_y
// and beta != 0 also the fp32 y it adds to: the kernel just before must not write y).
#define GM_UNROLL (NT == 1 ? 8 : 4) /* 32-k blocks per warp per round: 16-byte loads in flight per lane: 2U (W) + NT*U (x) */
template <typename T, int NT, int EPI, int WARPS>
__global__ void __launch_bounds__(WARPS * 32)
gemv_mma_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, float beta, int M, int N,
                int K, int ffn, int balanced, int early, int early_y) {
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
    // early_y: warp 0's residual values (fp32 out, beta != 0) also before the wait, as the FFMA GEMV
    float yr[NT][2][2];
    const int y_pre = EPI == 1 && early_y && beta != 0.f && warp == 0;
    if (y_pre) {
#pragma unroll
        for (int t = 0; t < NT; t++)
#pragma unroll
            for (int j = 0; j < 2; j++)
#pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    const int tok = t * 8 + 2 * c + j, n = blockIdx.x * 16 + g + 8 * hh;
                    yr[t][j][hh] = tok < M && n < N ? reinterpret_cast<const float *>(y)[(size_t)tok * N + n] : 0.f;
                }
    }
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
                        yf[o] = beta != 0.f ? v + beta * (y_pre ? yr[t][j][hh] : yf[o]) : v;
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
// The GEMVs' residual (fp32 y, beta != 0) read before the PDL wait (LF_CUDA_GEMV_EARLY_Y=0 off)
static int g_gemv_early_y = -1;
static int gemv_early_y(void) { return env_switch(&g_gemv_early_y, "LF_CUDA_GEMV_EARLY_Y"); }

// EPI/NT/WARPS dispatch. warps: 4, 8 or 16 (split of K inside a block)
template <typename T, int EPI>
static void gemv_mma_launch(const void *x, const void *W, void *y, float beta, int M, int N, int K, int ffn, int warps,
                            int balanced, cudaStream_t st) {
    const unsigned blocks = EPI == 2 ? (unsigned)((ffn + 7) / 8) : (unsigned)((N + 15) / 16);
#define GMM(NT_, W_) LF_LAUNCH((gemv_mma_kernel<T, NT_, EPI, W_>), blocks, W_ * 32, 0, st, (const T *)x, (const T *)W, y, beta, M, N, K, ffn, balanced, \
                              gemv_early(), gemv_early_y())
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

// The FFMA GEMV's launch: unroll loads in flight per lane and row (4 or 8); swi: the SwiGLU
// epilogue (N = ffn features of W = [gate; up], two rows per warp, y = act in T)
static lf_status gemv_ffma_launch(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                                  int unroll, int swi, cudaStream_t st) {
    const char *what = swi ? "CUDA gemv_swiglu" : "CUDA gemv";
    if (M <= 0 || N <= 0) return LINFER_OK;
    const int aligned = !(((uintptr_t)x | (uintptr_t)W) & 15) && K % 8 == 0;
    if (M > LF_CUDA_GEMV_MAX_M || !aligned)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: M %d (at most %d), K %d (multiple of 8), 16-byte aligned pointers", what, M,
                       LF_CUDA_GEMV_MAX_M, K);
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: beta != 0 needs an fp32 output", what);
    if (unroll != 4 && unroll != 8) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: %d loads in flight per lane (4 or 8)", what, unroll);
    const unsigned blocks = (unsigned)((N + GEMV_WARPS - 1) / GEMV_WARPS);
    const int early = gemv_early(), early_y = gemv_early_y();
#define GEMV_GO(MM, U, S) LF_LAUNCH((gemv_kernel<T, MM, U, S>), blocks, GEMV_WARPS * 32, 0, st, (const T *)x, (const T *)W, y, y_f32, beta, N, K, \
                                    early, early_y)
#define GEMV_CASE(MM) case MM: if (unroll == 8) { if (swi) GEMV_GO(MM, 8, true); else GEMV_GO(MM, 8, false); } \
                               else { if (swi) GEMV_GO(MM, 4, true); else GEMV_GO(MM, 4, false); } break
    DISPATCH_T(dt, "gemv", switch (M) {
        GEMV_CASE(1); GEMV_CASE(2); GEMV_CASE(3); GEMV_CASE(4);
        GEMV_CASE(5); GEMV_CASE(6); GEMV_CASE(7); GEMV_CASE(8);
    });
#undef GEMV_CASE
#undef GEMV_GO
    CUDA_CHECK_LAUNCH(swi ? "gemv_kernel(swiglu)" : "gemv_kernel");
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_gemv_ffma_ex(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                          int N, int K, int unroll, cudaStream_t st) {
    return gemv_ffma_launch(dt, x, W, y, y_f32, beta, M, N, K, unroll, 0, st);
}

extern "C" lf_status lf_cuda_gemv_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int M, int ffn, int K,
                                        int unroll, cudaStream_t st) {
    return gemv_ffma_launch(dt, x, Wgu, act, 0, 0.0f, M, ffn, K, unroll, 1, st);
}

// ---------------------------------------------------------------------------------------------
// TP-invariant linear layer (the backend's tp_invariant mode): every output y[m, n] is computed by
// the same instructions in the same order whatever M, N and the tensor-parallel degree, so that
// the step's results are bit for bit those of one GPU. One warp per output column n, rows in
// groups of INV_ROWS (blockIdx.y; each row's sum is its own, so a row's result does not depend on
// its group). K is `chunks` equal pieces (1, 2, 4 or 8; K / chunks a multiple of 8); lane l adds
// the 16-byte vectors l, l + 32, ... of a piece in that order, the warp sums by the xor butterfly,
// and the pieces' sums are added as a pairwise tree ((c0 + c1) + (c2 + c3)) + .... A row-split
// layer (o_proj, down) runs with LF_INV_CHUNKS / tp pieces on each rank: the ranks' partial sums,
// added in the same tree by lf_cuda_sum_tree_add, are then the one-GPU tree over LF_INV_CHUNKS.
#define INV_WARPS 8
#define INV_ROWS 8
// v[0][.] = the pairwise tree of v[0 .. n-1][.] (n: 1, 2, 4 or 8): ((v0 + v1) + (v2 + v3)) + ...,
// the one order of the TP-invariant kernel's pieces and of the ranks' partials
template <int R>
__device__ __forceinline__ void pairwise_tree(float (&v)[LF_INV_CHUNKS][R], int n) {
#pragma unroll
    for (int s = 1; s < LF_INV_CHUNKS; s *= 2)
#pragma unroll
        for (int j = 0; j + s < LF_INV_CHUNKS; j += 2 * s)
            if (j + s < n)
#pragma unroll
                for (int m = 0; m < R; m++) v[j][m] = v[j][m] + v[j + s][m];
}
template <typename T>
__global__ void __launch_bounds__(INV_WARPS * 32)
gemv_invariant_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, int y_f32, float beta, int M,
                      int N, int K, int chunks) {
    pdl_enter();
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int n = (int)blockIdx.x * INV_WARPS + warp;
    if (n >= N) return;
    const int m0 = (int)blockIdx.y * INV_ROWS, rows = min(INV_ROWS, M - m0);
    const int K8 = K >> 3, C8 = K8 / chunks;
    const uint4 *w4 = reinterpret_cast<const uint4 *>(W + (size_t)n * K);
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x + (size_t)m0 * K);
    float cs[LF_INV_CHUNKS][INV_ROWS];
#pragma unroll
    for (int j = 0; j < LF_INV_CHUNKS; j++) {
        if (j >= chunks) break;
        float a[INV_ROWS];
#pragma unroll
        for (int m = 0; m < INV_ROWS; m++) a[m] = 0.f;
        const uint4 *wj = w4 + (size_t)j * C8;
#pragma unroll 4
        for (int c = lane; c < C8; c += 32) {
            const uint4 w = __ldg(wj + c);
#pragma unroll
            for (int m = 0; m < INV_ROWS; m++)
                if (m < rows) a[m] += dot8<T>(w, __ldg(x4 + (size_t)m * K8 + (size_t)j * C8 + c));
        }
#pragma unroll
        for (int m = 0; m < INV_ROWS; m++) cs[j][m] = warp_sum(a[m]);
    }
    pairwise_tree<INV_ROWS>(cs, chunks);
    if (lane != 0) return;
    for (int m = 0; m < rows; m++) {
        const size_t o = (size_t)(m0 + m) * N + n;
        if (y_f32) {
            float *yf = reinterpret_cast<float *>(y);
            yf[o] = beta != 0.f ? cs[0][m] + beta * yf[o] : cs[0][m];
        } else {
            reinterpret_cast<T *>(y)[o] = TT<T>::mk(cs[0][m]);
        }
    }
}

extern "C" int lf_cuda_gemv_invariant_supported(int K, int chunks) {
    return (chunks == 1 || chunks == 2 || chunks == 4 || chunks == 8) && K > 0 && K % (8 * chunks) == 0;
}

extern "C" lf_status lf_cuda_gemv_invariant(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M,
                                            int N, int K, int chunks, cudaStream_t st) {
    if (M <= 0 || N <= 0) return LINFER_OK;
    if (!lf_cuda_gemv_invariant_supported(K, chunks) || (((uintptr_t)x | (uintptr_t)W) & 15))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA TP-invariant linear: K %d in %d pieces (1, 2, 4 or 8 pieces, each a multiple of 8), "
                       "16-byte aligned pointers", K, chunks);
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA TP-invariant linear: beta != 0 needs an fp32 output");
    const unsigned groups = (unsigned)((M + INV_ROWS - 1) / INV_ROWS);
    if (groups > 65535u) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA TP-invariant linear: %d rows in one launch (max %d)", M, 65535 * INV_ROWS);
    const dim3 grid((unsigned)((N + INV_WARPS - 1) / INV_WARPS), groups);
    DISPATCH_T(dt, "TP-invariant linear", LF_LAUNCH(gemv_invariant_kernel<T>, grid, INV_WARPS * 32, 0, st, (const T *)x, (const T *)W, y,
                                                    y_f32, beta, M, N, K, chunks));
    CUDA_CHECK_LAUNCH("gemv_invariant_kernel");
    return LINFER_OK;
}

// resid[i] += the pairwise tree of parts[0][i] .. parts[np - 1][i] (np: 1, 2, 4 or 8), the ranks'
// partial sums of a row-split layer after an all-gather (TP-invariant mode)
__global__ void sum_tree_add_kernel(float *__restrict__ resid, const float *__restrict__ parts, int np, size_t count) {
    pdl_enter();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        float v[LF_INV_CHUNKS][1];
#pragma unroll
        for (int r = 0; r < LF_INV_CHUNKS; r++) v[r][0] = r < np ? parts[(size_t)r * count + i] : 0.f;
        pairwise_tree<1>(v, np);
        resid[i] = resid[i] + v[0][0];
    }
}

extern "C" lf_status lf_cuda_sum_tree_add(float *resid, const float *parts, int np, size_t count, cudaStream_t st) {
    if (!count) return LINFER_OK;
    if (np != 1 && np != 2 && np != 4 && np != 8)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA tree sum: %d partial sums (1, 2, 4 or 8)", np);
    LF_LAUNCH(sum_tree_add_kernel, grid_for(count, 256), 256, 0, st, resid, parts, np, count);
    CUDA_CHECK_LAUNCH("sum_tree_add_kernel");
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
