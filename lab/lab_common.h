/* lab_common.h — what the kernel-lab programs (one .c file each under lab/) share: the CUDA
 * check macro, a seeded random stream of floats in [-1, 1), fp16/bf16 bits of a float and back,
 * and a float comparator for medians. Header only. */
#ifndef LF_LAB_COMMON_H
#define LF_LAB_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cuda_runtime_api.h>
#include "core/dtype.h"

#define CK(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); exit(1); } } while (0)

/* the next float in [-1, 1) of the stream *state (a 64-bit LCG) */
static inline float lab_frand(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((int32_t)(*state >> 40) - (1 << 23)) / 8388608.0f;
}
static inline uint16_t lab_to_bits(lf_dtype dt, float v) { return dt == LF_DT_F16 ? lf_f32_to_f16(v) : lf_f32_to_bf16(v); }
static inline float lab_from_bits(lf_dtype dt, uint16_t b) { return dt == LF_DT_F16 ? lf_f16_to_f32(b) : lf_bf16_to_f32(b); }
static inline int lab_cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}
#endif
