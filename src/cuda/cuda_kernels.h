/* cuda_kernels.h — the CUDA kernels of the CUDA backend, behind C launchers.
 *
 * Every launcher enqueues work on `st` and returns LINFER_OK, or LINFER_ERR_DEVICE with a message
 * naming the kernel when the launch fails (LINFER_ERR_UNSUPPORTED / INVALID_ARG for a dtype or
 * shape it does not handle). Activations and weights are "T" = fp16 or bf16, chosen by `dt`
 * (LF_DT_F16 or LF_DT_BF16), passed as void pointers; accumulation is fp32 everywhere. The
 * residual stream is fp32. Each kernel computes what the CPU reference of src/cpu/kernels.h does,
 * on the same (rounded) inputs; tests/cuda/test_cuda_kernels checks that.
 *
 * KV cache of one layer: k_cache, v_cache [max_seqs][max_ctx][kv_dim] of T, kv_dim = n_kv*head_dim. */
#ifndef LF_CUDA_KERNELS_H
#define LF_CUDA_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#ifdef __cplusplus
extern "C" {
#endif
#include "model/model.h"

/* A run of consecutive batch rows tok_start .. tok_start+n_rows-1 of one sequence `seq` at
 * consecutive positions pos0 .. pos0+n_rows-1 (n_rows <= LF_ATTN_TILE_ROWS): the unit of the
 * tensor-core attention kernel. Same layout as a CUDA int4. */
typedef struct { int32_t tok_start, n_rows, seq, pos0; } lf_attn_tile;
#define LF_ATTN_TILE_ROWS 128 /* the most rows of any kernel's tile; lf_cuda_attention_tile_rows: per kernel */

/* Programmatic dependent launch for the decode-chain kernels (Hopper and later): each kernel's
 * blocks may start while the previous kernel finishes; they wait for it before touching
 * activations (see kernel_launch.h). Process-wide; off by default; the backend turns it on. */
void lf_cuda_set_pdl(int on);
int lf_cuda_pdl(void);

/* bytes per element of T (2), 0 if dt is not F16/BF16 */
size_t lf_cuda_dtype_size(lf_dtype dt);

/* out[i, :] (fp32) = embd[tokens[i], :]                                     embd: [vocab, dim] T */
lf_status lf_cuda_embed(lf_dtype dt, float *out, const void *embd, const int32_t *tokens, int n, int dim, cudaStream_t st);
/* Rows [v0, v0 + nv) of the table only (embd: those rows): out row i = the token's row, or zeros
 * when the token is not in this slice (vocabulary-split tensor parallelism). */
lf_status lf_cuda_embed_slice(lf_dtype dt, float *out, const void *embd, const int32_t *tokens, int n, int dim, int v0, int nv,
                              cudaStream_t st);

/* out[r, :] (T) = rmsnorm(x[rows ? rows[r] : r, :]) * w, x fp32 [*, n], w [n] T, r < n_rows.
 * With rows: the final norm of the rows whose logits are wanted (gather + norm). w is read before
 * the PDL wait (LF_CUDA_NORM_EARLY=0: after it): a weight, which no kernel writes. */
lf_status lf_cuda_rmsnorm(lf_dtype dt, void *out, const float *x, const void *w, const int32_t *rows,
                          int n_rows, int n, float eps, cudaStream_t st);

/* qkv: [n, qkv_stride] T with q at columns [0, q_dim), k at [q_dim, q_dim+kv_dim), v after.
 * Adds bias [q_dim + 2*kv_dim] (if not NULL), rotates q in place and k, and writes k and v to
 * k_cache / v_cache at (seq[i], pos[i]). inv_freq: [head_dim/2] fp32 (lf_rope_inv_freq). The
 * angles are lf_rope_angle() (rope_angle.h): pos*inv_freq[i] for NEOX, llama.cpp's pos*r^i for
 * INTERLEAVED, bit-identical to the CPU reference. */
lf_status lf_cuda_rope_qkv(lf_dtype dt, void *qkv, int qkv_stride, const void *bias, const float *inv_freq,
                           const int32_t *pos, const int32_t *seq, int n, void *k_cache, void *v_cache,
                           int max_ctx, int n_heads, int n_kv_heads, int head_dim, lf_rope_style style,
                           cudaStream_t st);

/* Attention, one block per (token, head), online softmax over chunks of the context.
 * For each token i (of tok_idx[0..n) if tok_idx, else 0..n): out[i, h*hd ..] = softmax over
 * positions 0..pos[i] of sequence seq[i] of (q[i, h*hd ..] . K * scale) times V.
 * q: rows of q_stride elements (q of head h at column h*head_dim). head_dim even, <= 256.
 * Split-K (flash-decoding): when n*n_heads blocks would not fill the GPU and max_n_ctx (the
 * largest pos+1 of these tokens) spans several chunks, the context is split over up to 64 blocks
 * per (token, head) whose partial results (in split_scratch, fp32) are merged in split order by
 * the last block of each (token, head) (head_dim 64, 128, 256), or by a second kernel.
 * split_scratch NULL: never split. LF_ATTN_SPLIT_SCRATCH bytes are plenty. The scratch begins
 * with LF_ATTN_SPLIT_COUNTERS 32-bit counters that must be zero before the first call (the
 * kernel leaves them at zero); the partials follow them. */
#define LF_ATTN_SPLIT_SCRATCH (4u << 20)
#define LF_ATTN_SPLIT_COUNTERS 4096
/* 0: lf_cuda_attention uses the simple kernel (+ combine kernel) even where the decode kernel
 * applies (tests and A/B timing; LF_CUDA_ATTN_DECODE=0 does the same at start-up) */
void lf_cuda_set_attn_decode(int on);
/* the decode attention's context splits as one thread-block cluster merged through distributed
 * shared memory (Hopper; default on there, LF_CUDA_ATTN_CLUSTER=0 off) or through global memory */
void lf_cuda_set_attn_cluster(int on);
/* positions per unit of the decode attention's context split (a multiple of 16, up to 4 x
 * LF_ATTN_CHUNK; 0: the kernel's chunk, the default; LF_ATTN_GRAIN=N at start-up does the same) */
void lf_cuda_set_attn_grain(int positions);
/* blocks per SM the context split aims at (1..16; anything else: the default, 2) */
void lf_cuda_set_attn_blocks_per_sm(int n);
/* the decode attention on tensor cores for grouped-query models (one block per KV head: each K
 * and V row read once for its group of query heads; head_dim 64 or 128, up to 8 query heads per
 * KV head): 0 off, 1 (the default) where n_heads / n_kv_heads >= 2 and the launch is large enough
 * (context >= 2048 or tokens x context >= 4096: where the lab measured it faster), 2 for every
 * model and size (multi-head too); anything else: back to LF_CUDA_ATTN_GQA or the default */
void lf_cuda_set_attn_gqa(int mode);
/* its warps per block (4 or 8; else LF_CUDA_ATTN_GQA_WARPS or the default) and the most context
 * splits it takes (1..64; else LF_CUDA_ATTN_GQA_SPLITS or the default): lab and A/B settings */
void lf_cuda_set_attn_gqa_warps(int nw);
void lf_cuda_set_attn_gqa_max_splits(int n);
#define LF_ATTN_CHUNK 128 /* positions per step of the simple kernel; the split is in whole chunks */
lf_status lf_cuda_attention(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride,
                            const void *k_cache, const void *v_cache, int max_ctx,
                            const int32_t *pos, const int32_t *seq, const int32_t *tok_idx, int n,
                            int n_heads, int n_kv_heads, int head_dim, float scale,
                            int max_n_ctx, float *split_scratch, size_t split_scratch_bytes, cudaStream_t st);
/* The same for a decode step with RoPE fused in (the decode kernel only: head_dim 64, 128, 256;
 * lf_cuda_attention_rope_supported): qkv holds the raw projections [n, qkv_stride] (q | k | v,
 * + bias when not NULL); q and the token's own k are rotated inside the kernel and the token's
 * k and v written to the caches at pos — the same bits in out and in the caches as
 * lf_cuda_rope_qkv + lf_cuda_attention (qkv is left unrotated). Each sequence at most once in
 * the step (a token must not attend to another token's new position). */
int lf_cuda_attention_rope_supported(int head_dim);
lf_status lf_cuda_attention_rope(lf_dtype dt, void *out, int out_stride, const void *qkv, int qkv_stride,
                                 const void *bias, const float *inv_freq, lf_rope_style style, void *k_cache,
                                 void *v_cache, int max_ctx, const int32_t *pos, const int32_t *seq,
                                 const int32_t *tok_idx, int n, int n_heads, int n_kv_heads, int head_dim,
                                 float scale, int max_n_ctx, float *split_scratch, size_t split_scratch_bytes,
                                 cudaStream_t st);

/* Same function, tensor cores (mma.sync m16n8k16, fp32 accumulation; P rounded to T before P.V),
 * one block of 4 warps per (tile, head). Only for head_dim in {32, 64, 128}.
 * impl 1: K/V tiles loaded through registers, one buffer; impl 2: cp.async double buffering and
 * ldmatrix fragment loads; impl 3 (the backend's default): 128 rows per block, 32 per warp (two m16
 * tiles sharing each K/V fragment), Q staged in shared memory (q rows 16-byte aligned), 32 keys per
 * step through 3 cp.async K/V buffers. A tile has at most lf_cuda_attention_tile_rows(impl) rows
 * (64 for impls 1 and 2, 128 for 3). scale > 0. */
int lf_cuda_attention_tiles_supported(int head_dim);
int lf_cuda_attention_tile_rows(int impl);
lf_status lf_cuda_attention_tiles(lf_dtype dt, void *out, int out_stride, const void *q, int q_stride,
                                  const void *k_cache, const void *v_cache, int max_ctx,
                                  const lf_attn_tile *tiles, int n_tiles, int n_heads, int n_kv_heads,
                                  int head_dim, float scale, int impl, cudaStream_t st);

/* out[i, j] = silu(gu[i, j]) * gu[i, ffn + j]        gu: [n, 2*ffn] (gate | up), out: [n, ffn] */
lf_status lf_cuda_swiglu(lf_dtype dt, void *out, const void *gu, int n, int ffn, cudaStream_t st);
/* out[r] = argmax_j logits[r, j] (fp32 [rows, vocab]), lowest index on ties, as lf_cpu_argmax. */
lf_status lf_cuda_argmax_rows(const float *logits, int rows, int vocab, int32_t *out, cudaStream_t st);

/* Sampling on the GPU (sampling.cu), the host sampler's rule (src/engine/sampling.c): the
 * parameters as the device reads them (temperature <= 0: argmax; top_k <= 0 or >= vocab: off;
 * top_p >= 1: off). */
typedef struct { float temperature; int32_t top_k; float top_p; int32_t reserved; } lf_cuda_sampling;
/* out[r] = the token drawn from row r of logits (fp32 [rows, vocab], overwritten) with the uniform
 * draw u[r] in [0, 1); cfg and u are device pointers. vocab <= 2^23. */
lf_status lf_cuda_sample_rows(float *logits, int rows, int vocab, const lf_cuda_sampling *cfg, const double *u, int32_t *out,
                              cudaStream_t st);

/* y[m, n] (fp32) += bias[n] (T), m < M: the o_proj bias (HF attention_bias) on the residual */
lf_status lf_cuda_add_bias(lf_dtype dt, float *y, const void *bias, int M, int N, cudaStream_t st);

/* y[M, N] = x[M, K] . W[N, K]^T (+ beta * y). x, W: T. y: fp32 when y_f32 (beta may be 1: the
 * residual add), else T (beta must be 0). M <= gemv_max_m: the tensor-core skinny GEMM
 * (lf_cuda_gemv_mma) when it applies (M <= 16, K % 32 == 0, aligned), else the FFMA GEMV
 * (M <= 8, K % 8 == 0); otherwise cuBLAS (cublasGemmEx, CUBLAS_COMPUTE_32F) on the handle's
 * stream. The three are also callable alone (the kernel lab times them side by side). */
lf_status lf_cuda_linear(cublasHandle_t h, lf_dtype dt, const void *x, const void *W, void *y, int y_f32,
                         float beta, int M, int N, int K, int gemv_max_m, cudaStream_t st);
#define LF_CUDA_GEMV_MAX_M 8 /* the most rows the FFMA GEMV kernel handles */
#define LF_CUDA_GEMV_MMA_MAX_M 16 /* the most rows the tensor-core skinny GEMM handles */
/* FFMA GEMV: one warp per weight row, 16-byte loads, x re-read per row (M <= 8, K % 8 == 0).
 * With beta != 0 it reads y before its PDL wait (LF_CUDA_GEMV_EARLY_Y=0 turns that off): the
 * kernel launched just before it must not write y (weights and y written two or more kernels
 * back, or by a copy, are fine). */
lf_status lf_cuda_gemv_ffma(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                            cudaStream_t st);
/* The same with `unroll` (4, the default, or 8) 16-byte weight loads in flight per lane */
lf_status lf_cuda_gemv_ffma_ex(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                               int unroll, cudaStream_t st);
/* The FFMA GEMV of the gate/up layer with the SwiGLU epilogue: act[M, ffn] (T) = silu(gate) * up,
 * gate and up (rows n and ffn + n of Wgu [2 ffn, K]) rounded to T first, as the unfused path
 * stores them; a warp per feature (M <= 8, K % 8 == 0, aligned), `unroll` (4 or 8) loads in
 * flight per lane and row: bit for bit lf_cuda_gemv_ffma_ex with that unroll, then lf_cuda_swiglu */
lf_status lf_cuda_gemv_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int M, int ffn, int K, int unroll,
                              cudaStream_t st);
/* One token's linear layer (M = 1) with the weights bulk-copied into shared memory before the PDL
 * wait (gemv_bulk.cu; compute capability 9.0+, K % 8 == 0, 16-byte aligned): a block per SM, each
 * claiming units of rows from the counter `ctr` (2 unsigned, zero before the launch and left zero
 * after it; no other launch that may run at the same time may use it), a ring of
 * LF_CUDA_BULK_RING_KB (96) in slots of about LF_CUDA_BULK_SLOT_KB (16) of whole rows. y (T), or
 * fp32 y = x W^T + beta y; the same bits every run. _swiglu: act[ffn] (T) = silu(gate) * up from
 * Wgu [2 ffn, K], gate and up rounded to T first as the unfused path stores them. */
int lf_cuda_gemv_bulk_supported(int M, int K); /* the SwiGLU form: (M, 2 K), a feature being two rows */
lf_status lf_cuda_gemv_bulk(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int N, int K, unsigned *ctr,
                            cudaStream_t st);
lf_status lf_cuda_gemv_bulk_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int ffn, int K, unsigned *ctr,
                                   cudaStream_t st);
/* The kernel the backend chose for linear layer `layer` ("qkv", "o_proj", "gate_up", "down",
 * "lm_head") at `rows` rows (1..16), or NULL before that batch size has run (or when not tuned) */
struct lf_backend;
const char *lf_cuda_linear_kernel(const struct lf_backend *b, int rows, const char *layer);
/* TP-invariant linear layer: y = x W^T (+ beta y) computed in one fixed order per output,
 * whatever M, N or the GPU count: one warp per output column, K in `chunks` equal pieces (1, 2, 4
 * or 8, each a multiple of 8 elements) summed in a pairwise tree. A row-split layer on rank r of
 * tp runs with LF_INV_CHUNKS / tp pieces; lf_cuda_sum_tree_add then adds the ranks' partials in
 * the same tree, which gives the one-GPU result bit for bit. Any M (rows in groups of 8). */
#define LF_INV_CHUNKS 8
int lf_cuda_gemv_invariant_supported(int K, int chunks);
lf_status lf_cuda_gemv_invariant(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                                 int chunks, cudaStream_t st);
/* resid[i] += pairwise tree of parts[r * count + i], r < np (1, 2, 4 or 8): fp32 */
lf_status lf_cuda_sum_tree_add(float *resid, const float *parts, int np, size_t count, cudaStream_t st);
/* Tensor-core skinny GEMM (mma.m16n8k16): each weight read once for all M <= 16 rows, 16-byte
 * loads, K split over `warps` (4, 8 or 16; 0 = chosen from the shape) warps of a block. K % 32 == 0.
 * With y_f32 and beta != 0 it reads y before its PDL wait, as lf_cuda_gemv_ffma does. */
lf_status lf_cuda_gemv_mma(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                           int warps, cudaStream_t st);
/* The same with the K assignment of the warps chosen: balanced 1, each warp a contiguous K range
 * of equal size; 0, GM_UNROLL-block pieces in turn; -1, the default (1, or what
 * lf_cuda_set_gemv_balanced / LF_CUDA_GEMV_BALANCED=0 at start-up set). Which is faster depends
 * on the shape (docs/perf-notes.md), so the backend times both. */
lf_status lf_cuda_gemv_mma_ex(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K,
                              int warps, int balanced, cudaStream_t st);
void lf_cuda_set_gemv_balanced(int on);
/* act[M, ffn] (T) = silu(x . Wg^T) * (x . Wu^T), Wgu = [gate rows (ffn) | up rows (ffn)] [2*ffn, K]:
 * the gate/up GEMM and SwiGLU in one kernel (the skinny GEMM's SwiGLU epilogue). gate and up are
 * rounded to T before SwiGLU, as lf_cuda_linear + lf_cuda_swiglu do. M <= 16, K % 32 == 0. */
lf_status lf_cuda_gate_up_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int M, int ffn, int K, int warps,
                                 cudaStream_t st);
/* 1 when lf_cuda_gemv_mma / lf_cuda_gate_up_swiglu take M rows of K (16-byte aligned pointers) */
int lf_cuda_gemv_mma_supported(int M, int K);
/* cuBLAS alone (cublasGemmEx) */
lf_status lf_cuda_gemm_cublas(cublasHandle_t h, lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta,
                              int M, int N, int K, cudaStream_t st);

/* cuBLASLt for one linear shape (gemm_lt.cu): the algorithms cublasLtMatmulAlgoGetHeuristic
 * offers for y[M, N] = x[M, K] W[N, K]^T within ws_bytes of workspace (at most LF_LT_MAX_ALGOS;
 * y fp32 when y_f32, y = acc + beta*y, else T), then run algorithm i of them. The caller times them
 * and keeps the fastest. */
#define LF_LT_MAX_ALGOS 8
typedef struct lf_lt_plan lf_lt_plan;
lf_status lf_cuda_lt_plan_create(lf_dtype dt, int y_f32, int M, int N, int K, size_t ws_bytes, lf_lt_plan **out);
int lf_cuda_lt_plan_algos(const lf_lt_plan *p);
lf_status lf_cuda_lt_run(const lf_lt_plan *p, int algo, const void *x, const void *W, void *y, float beta, void *ws,
                         size_t ws_bytes, cudaStream_t st);
void lf_cuda_lt_plan_destroy(lf_lt_plan *p);
/* Rows up to which the backend uses the own GEMV by default (LF_CUDA_GEMV overrides), from a
 * measured table (bench/gpu_gemv_crossover.sh, H200, llama-2-7b fp16 decode TPOT in ms):
 *   rows      1      2      3      4      6      8
 *   own     5.000  5.226  6.096  6.932  8.053  10.232
 *   cuBLAS  5.238  5.257  5.384  5.419  5.453  5.545
 * The own kernel wins at 1-2 rows and loses from 3 on (it re-reads weights per row group). */
#define LF_CUDA_GEMV_DEFAULT_M 2

/* dst (T, n elements) = src converted (src dtype F32, F16 or BF16), round to nearest even */
lf_status lf_cuda_convert(lf_dtype dt, void *dst, lf_dtype src_dt, const void *src, size_t n, cudaStream_t st);

/* dst[i] (T) = lf_random_weight_value(seed, id, i, scale, round_dt), i < n (random_weights.h) */
lf_status lf_cuda_fill_random(lf_dtype dt, void *dst, size_t n, uint64_t seed, uint32_t id, float scale,
                              lf_dtype round_dt, cudaStream_t st);

/* One-shot all-reduce (sum, fp32, in place) of x[n] over tp ranks through peer memory (see
 * allreduce.cu): buf[r] is rank r's exchange buffer (2 * half_elems floats, on its GPU, mapped here),
 * flags[r] its flags (LF_ONESHOT_MAX_BLOCKS * LF_ONESHOT_MAX_TP uint32, zeroed once), epoch_ctr
 * this rank's per-block call counters (LF_ONESHOT_MAX_BLOCKS uint32, zeroed once, local). Every
 * rank must make the same calls in the same order. n <= half_elems.
 * ll[r] (optional, NULL: not used): rank r's receive slots of the push variant, 2 *
 * LF_ONESHOT_MAX_TP * half_elems 8-byte words, zeroed once; with them the push kernel runs (one
 * NVLink crossing instead of a store, a flag and a remote read; the same sums, bit for bit)
 * unless lf_cuda_set_oneshot_ll(0) or LF_CUDA_ONESHOT_LL=0. */
#define LF_ONESHOT_MAX_TP 8
#define LF_ONESHOT_MAX_BLOCKS 64
typedef struct {
    float *buf[LF_ONESHOT_MAX_TP];
    uint32_t *flags[LF_ONESHOT_MAX_TP];
    uint64_t *ll[LF_ONESHOT_MAX_TP];
    uint64_t *lln[LF_ONESHOT_MAX_TP]; /* receive slots of the all-reduce with norm (the layout of ll, its own words) */
} lf_oneshot_peers;
/* Byte offsets in one rank's exchange buffer for messages of up to half_elems floats: [2 halves of
 * floats][flags][call counters][push slots: 2 x LF_ONESHOT_MAX_TP x half_elems words]; the backend
 * puts the all-reduce-with-norm's slots and scratch after `end`, calibration uses it as is. */
typedef struct { size_t flags, epoch, ll, end; } lf_oneshot_layout;
static inline lf_oneshot_layout lf_oneshot_layout_of(size_t half_elems) {
    lf_oneshot_layout o;
    o.flags = 2 * half_elems * sizeof(float);
    o.epoch = o.flags + (size_t)LF_ONESHOT_MAX_BLOCKS * LF_ONESHOT_MAX_TP * sizeof(uint32_t);
    o.ll = (o.epoch + LF_ONESHOT_MAX_BLOCKS * sizeof(uint32_t) + 255) / 256 * 256;
    o.end = o.ll + 2 * (size_t)LF_ONESHOT_MAX_TP * half_elems * sizeof(uint64_t);
    return o;
}
void lf_cuda_set_oneshot_ll(int on);
int lf_cuda_oneshot_ll(void);
lf_status lf_cuda_oneshot_allreduce(float *x, int n, const lf_oneshot_peers *peers, uint32_t *epoch_ctr, int rank, int tp,
                                    int half_elems, cudaStream_t st);

/* `linfer calibrate`: the one-shot all-reduce over GPUs 0..n-1 of this process (peer access), as a
 * decode step runs it (graphs of iters calls on every GPU at once): per_call_s[k] = median seconds
 * of one call on counts[k] floats (reps <= 64). Peer access it turns on it turns off again. */
lf_status lf_cuda_calib_oneshot(int n, const int *counts, int ncounts, int iters, int warmup, int reps, double *per_call_s);

/* The push all-reduce of rows x[rows][dim] (fp32, in place) followed by the RMSNorm of each summed
 * row into xn (T = dt) with weights w[dim]: x = sum over the ranks (rank order: the same bits as
 * lf_cuda_oneshot_allreduce's push kernel, on every rank), xn = x * 1/sqrt(mean(x^2) + eps) * w
 * (the square sums added in another order than lf_cuda_rmsnorm's: 1 unit in the last place of T
 * at most), in one kernel without a grid-wide barrier (see allreduce.cu). Its own receive slots
 * (peers->lln, 2 * LF_ONESHOT_MAX_TP * half_elems words, zeroed once) and scratch
 * (LF_ARN_SCRATCH_BYTES, zeroed once, local: per-block call counters, then the blocks' tagged
 * square sums), apart from the plain kernels'. Every rank must make the same calls in the same
 * order. rows * dim <= half_elems; lf_cuda_allreduce_norm_supported(rows, dim). Off with
 * lf_cuda_set_allreduce_norm(0) or LF_CUDA_AR_NORM=0 (the backend then runs the all-reduce and
 * the norm kernel). */
#define LF_ARN_MAX_BLOCKS 1024
#define LF_ARN_SCRATCH_BYTES (LF_ARN_MAX_BLOCKS * (4 + 8))
void lf_cuda_set_allreduce_norm(int on);
int lf_cuda_allreduce_norm_on(void);
int lf_cuda_allreduce_norm_supported(int rows, int dim);
lf_status lf_cuda_oneshot_allreduce_norm(lf_dtype dt, float *x, int rows, int dim, const lf_oneshot_peers *peers, uint32_t *scratch,
                                         int rank, int tp, int half_elems, const void *w, float eps, void *xn, cudaStream_t st);

/* A slice of the same random tensor (tensor parallelism): dst[i*cols + j] (T) = element
 * off + i*ld + j of the tensor lf_cuda_fill_random would make, i < rows, j < cols. */
lf_status lf_cuda_fill_random_slice(lf_dtype dt, void *dst, size_t rows, size_t cols, size_t ld, size_t off, uint64_t seed,
                                    uint32_t id, float scale, lf_dtype round_dt, cudaStream_t st);

/* The one-token decode step as one persistent kernel (decode_stream.cu): every layer of a step of
 * one token on one GPU, the weights streamed through shared memory by a producer thread per block
 * that runs ahead of the grid barriers. Plain pointers; T = dt (fp16 or bf16) everywhere but the
 * residual. Layer weights as the backend lays them out (wgu: gate rows, then up rows). */
typedef struct {
    const void *attn_norm, *wqkv, *wo, *ffn_norm, *wgu, *wdown;
} lf_stream_layer;
typedef struct {
    int n_layers, dim, n_heads, n_kv, head_dim, q_dim, qkv_dim, ffn, max_ctx, interleaved;
    float eps, scale;
    const lf_stream_layer *layers;  /* device [n_layers] */
    const float *inv_freq;          /* [head_dim / 2] */
    const int32_t *pos, *seq;       /* device [1]: the token's position and KV slot */
    void *k_cache, *v_cache;        /* layer 0's caches [max_seqs][max_ctx][n_kv * head_dim] */
    size_t layer_kv_bytes;          /* bytes from one layer's cache to the next */
    float *resid;                   /* [dim] fp32, the residual stream (embedding in, last layer's out) */
    void *qkv, *act;                /* scratch T [qkv_dim], T [ffn] */
    float *part;                    /* scratch [n_heads][n_splits][head_dim + 4] */
    unsigned *barrier;              /* one counter, zeroed by lf_cuda_decode_stream before the launch */
    int slot_kb;                    /* ring slot size wanted in KiB (0: the default, 24) */
    int debug;                      /* timing experiments (decode_stream.cu DS_DEBUG_*); 0 */
    /* set by lf_cuda_decode_stream_plan: */
    int n_splits, blocks, n_slots, slot_bytes, x_off, ring_off, smem_bytes;
} lf_stream_args;
/* Fills the plan fields of *a for these shapes on the current GPU; 0 (and *why) when the kernel
 * cannot run them (head_dim 64 or 128, dimensions multiples of 64, compute capability 9.0+, rows
 * that fit a shared-memory ring of 3 slots). */
int lf_cuda_decode_stream_plan(lf_dtype dt, lf_stream_args *a, const char **why);
/* Enqueues the counter's reset and the kernel (a cooperative launch: one block per SM). */
lf_status lf_cuda_decode_stream(lf_dtype dt, const lf_stream_args *a, cudaStream_t st);
/* 1: CUDA backends created after this call run one-token decode steps with it where it fits
 * (0: the kernel-per-operation chain; -1: LF_CUDA_STREAM decides, the default, off) */
void lf_cuda_set_stream(int on);
struct lf_backend;
/* Whether this CUDA backend runs its one-token decode steps with it (1), else 0 and *why (may be NULL) */
int lf_cuda_stream_active(const struct lf_backend *b, const char **why);

#ifdef __cplusplus
}
#endif
#endif
