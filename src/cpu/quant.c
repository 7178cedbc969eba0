/* quant.c — activation quantisation and block dot products for Q4_0 / Q4_1 / Q8_0 weights. */
#include "quant.h"
#include <math.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LF_QUANT_AVX2 1
#endif

typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;
typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;

int lf_quant_supported(lf_dtype w) { return w == LF_DT_Q4_0 || w == LF_DT_Q4_1 || w == LF_DT_Q8_0; }

size_t lf_quant_act_row_bytes(lf_dtype w, int k) {
    return (size_t)(k / 32) * (w == LF_DT_Q4_1 ? sizeof(lf_block_q8_1) : sizeof(lf_block_q8_0));
}

/* one block: d = max|x| / 127, q = x · (127 / max|x|) rounded to nearest, ties to even
 * (the rounding of llama.cpp's AVX2 activation quantiser, so our sums match its sums) */
static float quant_block(const float *x, int8_t *q) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < 32; j++) q[j] = (int8_t)nearbyintf(x[j] * id);
    return d;
}

void lf_quant_act_row(lf_dtype w, const float *x, void *dst, int k) {
    int nb = k / 32;
    if (w == LF_DT_Q4_1) {
        lf_block_q8_1 *y = dst;
        for (int b = 0; b < nb; b++) {
            float d = quant_block(x + 32 * b, y[b].qs);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += y[b].qs[j];
            y[b].d = lf_f32_to_f16(d);
            y[b].s = lf_f32_to_f16((float)sum * d);
        }
    } else {
        lf_block_q8_0 *y = dst;
        for (int b = 0; b < nb; b++) y[b].d = lf_f32_to_f16(quant_block(x + 32 * b, y[b].qs));
    }
}

/* fp16 scales are converted once per block: with the F16C instruction where the build has it
 * (exact, like the software conversion), else in software */
#if defined(__F16C__)
#include <immintrin.h>
#define H2F(h) _cvtsh_ss(h)
#else
#define H2F(h) lf_f16_to_f32(h)
#endif

float lf_quant_dot_ref(lf_dtype w, const void *wrow, const void *act, int k) {
    int nb = k / 32;
    float sum = 0.0f;
    if (w == LF_DT_Q4_1) {
        const blk_q4_1 *x = wrow;
        const lf_block_q8_1 *y = act;
        for (int b = 0; b < nb; b++) {
            int si = 0;
            for (int j = 0; j < 16; j++) si += (x[b].qs[j] & 0x0f) * y[b].qs[j] + (x[b].qs[j] >> 4) * y[b].qs[j + 16];
            sum += H2F(x[b].d) * H2F(y[b].d) * (float)si + H2F(x[b].m) * H2F(y[b].s);
        }
    } else if (w == LF_DT_Q4_0) {
        const blk_q4_0 *x = wrow;
        const lf_block_q8_0 *y = act;
        for (int b = 0; b < nb; b++) {
            int si = 0;
            for (int j = 0; j < 16; j++) si += ((x[b].qs[j] & 0x0f) - 8) * y[b].qs[j] + ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
            sum += H2F(x[b].d) * H2F(y[b].d) * (float)si;
        }
    } else {
        const blk_q8_0 *x = wrow;
        const lf_block_q8_0 *y = act;
        for (int b = 0; b < nb; b++) {
            int si = 0;
            for (int j = 0; j < 32; j++) si += x[b].qs[j] * y[b].qs[j];
            sum += H2F(x[b].d) * H2F(y[b].d) * (float)si;
        }
    }
    return sum;
}

#ifdef LF_QUANT_AVX2
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* 16 bytes of nibbles -> 32 bytes: low nibbles in lanes 0..15, high nibbles in 16..31 */
static inline __m256i unpack_nibbles(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}
/* sum over 32 lanes of u8 a * s8 b, as 8 int32 lanes converted to float */
static inline __m256 dot_u8s8(__m256i a, __m256i b) {
    __m256i p16 = _mm256_maddubs_epi16(a, b);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}
static inline __m256 dot_s8s8(__m256i a, __m256i b) {
    return dot_u8s8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}
#endif

float lf_quant_dot(lf_dtype w, const void *wrow, const void *act, int k) {
#ifdef LF_QUANT_AVX2
    int nb = k / 32;
    __m256 acc = _mm256_setzero_ps();
    if (w == LF_DT_Q4_1) {
        const blk_q4_1 *x = wrow;
        const lf_block_q8_1 *y = act;
        float mins = 0.0f;
        for (int b = 0; b < nb; b++) {
            __m256i qx = unpack_nibbles(x[b].qs);
            __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(x[b].d) * H2F(y[b].d)), dot_u8s8(qx, qy), acc);
            mins += H2F(x[b].m) * H2F(y[b].s);
        }
        return hsum8(acc) + mins;
    } else if (w == LF_DT_Q4_0) {
        const blk_q4_0 *x = wrow;
        const lf_block_q8_0 *y = act;
        for (int b = 0; b < nb; b++) {
            __m256i qx = _mm256_sub_epi8(unpack_nibbles(x[b].qs), _mm256_set1_epi8(8));
            __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(x[b].d) * H2F(y[b].d)), dot_s8s8(qx, qy), acc);
        }
        return hsum8(acc);
    } else {
        const blk_q8_0 *x = wrow;
        const lf_block_q8_0 *y = act;
        for (int b = 0; b < nb; b++) {
            __m256i qx = _mm256_loadu_si256((const __m256i *)x[b].qs);
            __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(x[b].d) * H2F(y[b].d)), dot_s8s8(qx, qy), acc);
        }
        return hsum8(acc);
    }
#else
    return lf_quant_dot_ref(w, wrow, act, k);
#endif
}

void lf_cpu_linear_quant(float *y, const float *x, const void *W, lf_dtype wt, const float *bias, int M, int N, int K,
                         void *act_scratch) {
    size_t ab = lf_quant_act_row_bytes(wt, K);
    int ok;
    size_t row_bytes = (size_t)lf_dtype_nbytes(wt, (uint64_t)K, &ok);
    for (int m = 0; m < M; m++) lf_quant_act_row(wt, x + (size_t)m * K, (uint8_t *)act_scratch + (size_t)m * ab, K);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const uint8_t *wr = (const uint8_t *)W + (size_t)n * row_bytes;
        float b = bias ? bias[n] : 0.0f;
        for (int m = 0; m < M; m++) y[(size_t)m * N + n] = lf_quant_dot(wt, wr, (const uint8_t *)act_scratch + (size_t)m * ab, K) + b;
    }
}
