/* quant.h — CPU matrix-vector products on GGUF block-quantised weights, computed the way
 * llama.cpp's CPU backend computes them: the activation row is quantised per block of 32 to
 * 8 bits (Q8_1 for Q4_1 weights, Q8_0 for Q8_0/Q4_0 weights), integer dot products per block,
 * scaled in fp32. Weights stay in their file blocks (no dequantised copy), so a token reads
 * ~4.5 bits per weight instead of 32. Scalar reference and AVX2 versions give the same
 * integer sums; only the fp32 summation order differs. */
#ifndef LF_CPU_QUANT_H
#define LF_CPU_QUANT_H
#include <stddef.h>
#include <stdint.h>
#include "../core/dtype.h"

/* activation blocks */
typedef struct { uint16_t d; int8_t qs[32]; } lf_block_q8_0;             /* d fp16 */
typedef struct { uint16_t d, s; int8_t qs[32]; } lf_block_q8_1;          /* s = d * sum(qs), fp16 */

int lf_quant_supported(lf_dtype w);  /* Q4_0, Q4_1, Q8_0 */
/* Bytes of scratch to quantise one activation row of k elements for weights of dtype w. */
size_t lf_quant_act_row_bytes(lf_dtype w, int k);
/* Quantise one activation row (k multiple of 32) into the block type matching w. */
void lf_quant_act_row(lf_dtype w, const float *x, void *dst, int k);
/* dot of one weight row (k elements of dtype w) with one quantised activation row */
float lf_quant_dot(lf_dtype w, const void *wrow, const void *act, int k);
float lf_quant_dot_ref(lf_dtype w, const void *wrow, const void *act, int k); /* scalar reference */

/* y[M,N] = x[M,K] · W[N,K]^T (+bias) for quantised W (row stride = row bytes of K elements).
 * act_scratch: M * lf_quant_act_row_bytes(w, K) bytes. OpenMP over N. */
void lf_cpu_linear_quant(float *y, const float *x, const void *W, lf_dtype wt, const float *bias, int M, int N, int K,
                         void *act_scratch);
#endif
