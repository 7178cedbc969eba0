/* dtype.h — storage dtypes of weight files and conversions between them.
 * Block-quantised GGUF types (Q8_0, Q4_0, Q4_1) are dequantised row by row; a "row" of n
 * elements must be a multiple of the block size (32). Half types are converted in software
 * so results are bit-identical on every machine. */
#ifndef LF_DTYPE_H
#define LF_DTYPE_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LF_DT_F32 = 0, LF_DT_F16, LF_DT_BF16, LF_DT_Q8_0, LF_DT_Q4_0, LF_DT_Q4_1, LF_DT_I32, LF_DT_COUNT
} lf_dtype;

const char *lf_dtype_name(lf_dtype t);
/* Elements per block (1 for plain types) and bytes per block. */
int lf_dtype_block_elems(lf_dtype t);
int lf_dtype_block_bytes(lf_dtype t);
/* Bytes of n elements; returns 0 and sets *ok=0 if n is not a multiple of the block size or
 * the product overflows. */
uint64_t lf_dtype_nbytes(lf_dtype t, uint64_t n, int *ok);

float lf_f16_to_f32(uint16_t h);
uint16_t lf_f32_to_f16(float f);    /* round to nearest even */
float lf_bf16_to_f32(uint16_t h);
uint16_t lf_f32_to_bf16(float f);   /* round to nearest even */

/* Convert n elements of src (dtype t) to fp32 dst. n must be a multiple of the block size. */
void lf_to_f32(lf_dtype t, const void *src, float *dst, size_t n);

#endif
