/* kernels.h — the CPU reference kernels (fp32). These define what every other backend's kernel
 * must compute: CUDA kernels are tested against them on random inputs.
 * Shapes in comments are [rows, cols], row-major. */
#ifndef LF_CPU_KERNELS_H
#define LF_CPU_KERNELS_H
#include <stdint.h>
#include "../model/model.h"

/* out[r,:] = x[r,:] / sqrt(mean(x[r,:]^2) + eps) * w          x,out: [rows, n]; w: [n] */
void lf_cpu_rmsnorm(float *out, const float *x, const float *w, int rows, int n, float eps);

/* y[M,N] = x[M,K] · W[N,K]^T (+ bias[N] if not NULL). OpenBLAS sgemm for M > 1, sgemv for M = 1,
 * columns split over OpenMP threads. */
void lf_cpu_linear(float *y, const float *x, const float *W, const float *bias, int M, int N, int K);

/* Make OpenBLAS single-threaded (the CPU backend parallelises with OpenMP itself). */
void lf_cpu_blas_single_thread(void);

/* inv_freq[head_dim/2] for the config, llama3 / linear rope_scaling applied. */
void lf_rope_inv_freq(const lf_config *cfg, float *inv_freq);

/* Rotate n_heads heads of one token in place (x: [n_heads, head_dim]) at position pos.
 * LF_ROPE_NEOX (HF files) pairs (i, i+head_dim/2) with angle pos·inv_freq[i], one fp32 product
 * as HF forms it; LF_ROPE_INTERLEAVED (GGUF files) pairs (2i, 2i+1) with angle
 * pos·inv_freq[0]·r^i by repeated fp32 multiplication, r = inv_freq[1]/inv_freq[0], as llama.cpp
 * forms it (GGUF files carry no llama3 scaling, so r is constant there). The CUDA kernel uses the
 * same angles (src/cuda/rope_angle.h). */
void lf_cpu_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq, lf_rope_style style);

/* One query token's attention over n_ctx cached positions of its sequence.
 * q: [n_heads, head_dim]; k, v: [n_ctx, kv_stride] (head h uses kv head h / (n_heads/n_kv_heads),
 * columns [kvh*head_dim, (kvh+1)*head_dim)); out: [n_heads, head_dim]; scale = 1/sqrt(head_dim).
 * att_scratch: at least n_ctx floats. */
void lf_cpu_attention(float *out, const float *q, const float *k, const float *v, int n_ctx,
                      int kv_stride, int n_heads, int n_kv_heads, int head_dim, float scale,
                      float *att_scratch);

/* The same with fp16 operands and fp32 accumulation, as a half-precision attention kernel (and
 * llama.cpp's CPU attention over its default F16 KV cache) computes it: q, and the softmax
 * probabilities before the V product, are rounded to fp16; k and v must already hold fp16 values. */
void lf_cpu_attention_f16(float *out, const float *q, const float *k, const float *v, int n_ctx,
                          int kv_stride, int n_heads, int n_kv_heads, int head_dim, float scale,
                          float *att_scratch);

/* round each value to the nearest fp16 (kept as float) */
void lf_cpu_round_f16(float *x, int64_t n);

/* out[i] = silu(gate[i]) * up[i]   (silu(x) = x / (1 + exp(-x))) */
void lf_cpu_swiglu(float *out, const float *gate, const float *up, int64_t n);

/* x[i] += y[i] */
void lf_cpu_add(float *x, const float *y, int64_t n);

/* softmax in place over n values (max-subtracted) */
void lf_cpu_softmax(float *x, int n);

/* index of the largest value (lowest index on ties) */
int lf_cpu_argmax(const float *x, int n);
#endif
