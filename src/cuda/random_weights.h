/* random_weights.h — the one definition of a model's random weights (model->random_weights).
 *
 * Every backend that synthesises weights must produce the same numbers, so the generator is a
 * pure integer hash usable from C (CPU backend) and CUDA (__host__ __device__ under nvcc):
 *
 *     stored value = lf_random_weight_value(seed, tensor_id, idx, scale, model->random_dtype)
 *                  = round_to_dtype( scale > 0 ? lf_random_weight(seed, id, idx, scale)
 *                                              : 1 + lf_random_weight(seed, id, idx, 0.1f) )
 *
 * idx is the flat element index of the tensor in its stored layout (a linear layer W[out, in]
 * is row-major, idx = row * in + col; a norm or bias [n] has idx = i). round_to_dtype rounds to
 * fp16 / bf16 (nearest even) when dtype is LF_DT_F16 / LF_DT_BF16 and keeps fp32 otherwise; a
 * backend computing in another dtype then converts that value like a file's weight.
 * lf_random_weight returns scale * u with u uniform on [-1, 1) in steps of 2^-23 (u is exact;
 * the product is one correctly rounded fp32 multiply on every machine).
 *
 * Tensor ids, and the scale lf_random_scale() gives each (scale 0 = a norm weight, 1 +- 0.1):
 *   0                 tok_embd [vocab, dim]            1
 *   1                 out_norm [dim]                   0 (norm)
 *   2                 lm_head [vocab, dim] (untied)    1/sqrt(dim)   (tied: lm_head IS tok_embd, id 0)
 *   16 + 16*l + k     layer l, kind k:
 *      k=0 attn_norm [dim]                             0 (norm)
 *      k=1 wq  [n_heads*head_dim, dim]                 1/sqrt(dim)
 *      k=2 wk  [n_kv_heads*head_dim, dim]              1/sqrt(dim)
 *      k=3 wv  [n_kv_heads*head_dim, dim]              1/sqrt(dim)
 *      k=4 wo  [dim, n_heads*head_dim]                 1/sqrt(n_heads*head_dim)
 *      k=5 ffn_norm [dim]                              0 (norm)
 *      k=6 w_gate [ffn_dim, dim]                       1/sqrt(dim)
 *      k=7 w_up   [ffn_dim, dim]                       1/sqrt(dim)
 *      k=8 w_down [dim, ffn_dim]                       1/sqrt(ffn_dim)
 *      k=9,10,11 bq, bk, bv (only when cfg.qkv_bias)   1/sqrt(dim)
 *      k=12 bo [dim] (only when cfg.qkv_bias)          1/sqrt(n_heads*head_dim)
 * Scales are fp32: 1.0f / sqrtf((float)n). */
#ifndef LF_RANDOM_WEIGHTS_H
#define LF_RANDOM_WEIGHTS_H
#include <stdint.h>
#include <math.h>
#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif
#ifdef __cplusplus
extern "C" {
#endif
#include "../model/model.h"
#ifdef __cplusplus
}
#endif

#if defined(__CUDACC__)
#define LF_HD __host__ __device__
#else
#define LF_HD
#endif

enum {
    LF_RW_TOK_EMBD = 0, LF_RW_OUT_NORM = 1, LF_RW_LM_HEAD = 2,
    LF_RW_LAYER_BASE = 16, LF_RW_PER_LAYER = 16
};
/* per-layer kinds */
enum {
    LF_RW_ATTN_NORM = 0, LF_RW_WQ = 1, LF_RW_WK = 2, LF_RW_WV = 3, LF_RW_WO = 4, LF_RW_FFN_NORM = 5,
    LF_RW_W_GATE = 6, LF_RW_W_UP = 7, LF_RW_W_DOWN = 8, LF_RW_BQ = 9, LF_RW_BK = 10, LF_RW_BV = 11,
    LF_RW_BO = 12 /* o_proj bias [dim] when cfg.qkv_bias (HF attention_bias) */
};

static inline LF_HD uint64_t lf_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* scale * uniform[-1, 1) from (seed, tensor_id, idx). */
static inline LF_HD float lf_random_weight(uint64_t seed, uint32_t tensor_id, uint64_t idx, float scale) {
    uint64_t key = lf_splitmix64(seed ^ ((uint64_t)tensor_id * 0xD1B54A32D192ED03ull));
    uint64_t h = lf_splitmix64(key + idx);
    /* 24 random bits -> k in [0, 2^24); u = (k - 2^23) / 2^23 exactly representable */
    float u = (float)((int32_t)(uint32_t)(h >> 40) - (1 << 23)) * (1.0f / 8388608.0f);
#if defined(__CUDA_ARCH__)
    return __fmul_rn(scale, u); /* never contracted into an FMA */
#else
    return scale * u;
#endif
}

/* Tensor id of layer l, kind k. */
static inline LF_HD uint32_t lf_random_layer_id(int layer, int kind) {
    return (uint32_t)LF_RW_LAYER_BASE + (uint32_t)LF_RW_PER_LAYER * (uint32_t)layer + (uint32_t)kind;
}

/* fp32 value of element idx, before rounding to the stored dtype (scale 0: norm weight). */
static inline LF_HD float lf_random_weight_f32(uint64_t seed, uint32_t tensor_id, uint64_t idx, float scale) {
    if (scale > 0.0f) return lf_random_weight(seed, tensor_id, idx, scale);
#if defined(__CUDA_ARCH__)
    return __fadd_rn(1.0f, lf_random_weight(seed, tensor_id, idx, 0.1f));
#else
    return 1.0f + lf_random_weight(seed, tensor_id, idx, 0.1f);
#endif
}

/* The stored value: fp32 value rounded to dtype (F16/BF16; anything else keeps fp32).
 * Device code rounds with the CUDA intrinsics, host code with dtype.h; both round to nearest even. */
static inline LF_HD float lf_random_weight_value(uint64_t seed, uint32_t tensor_id, uint64_t idx, float scale, lf_dtype dtype) {
    float v = lf_random_weight_f32(seed, tensor_id, idx, scale);
#if defined(__CUDA_ARCH__)
    if (dtype == LF_DT_F16) return __half2float(__float2half_rn(v));
    if (dtype == LF_DT_BF16) return __bfloat162float(__float2bfloat16_rn(v));
#else
    if (dtype == LF_DT_F16) return lf_f16_to_f32(lf_f32_to_f16(v));
    if (dtype == LF_DT_BF16) return lf_bf16_to_f32(lf_f32_to_bf16(v));
#endif
    return v;
}

/* The scale of a tensor id for a config (0 for norm weights), as in the table above. */
static inline float lf_random_scale(const lf_config *cfg, uint32_t id) {
    if (id == LF_RW_TOK_EMBD) return 1.0f;
    if (id == LF_RW_OUT_NORM) return 0.0f;
    if (id == LF_RW_LM_HEAD) return 1.0f / sqrtf((float)cfg->dim);
    switch ((int)((id - LF_RW_LAYER_BASE) % LF_RW_PER_LAYER)) {
    case LF_RW_ATTN_NORM: case LF_RW_FFN_NORM: return 0.0f;
    case LF_RW_WO: case LF_RW_BO: return 1.0f / sqrtf((float)(cfg->n_heads * cfg->head_dim));
    case LF_RW_W_DOWN: return 1.0f / sqrtf((float)cfg->ffn_dim);
    default: return 1.0f / sqrtf((float)cfg->dim); /* wq wk wv w_gate w_up bq bk bv */
    }
}

#undef LF_HD
#endif
