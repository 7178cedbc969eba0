/* dtype.c — dtype sizes, half-precision conversions, and GGUF block dequantisation. */
#include "dtype.h"
#include <string.h>

static const struct { const char *name; int block_elems, block_bytes; } lf_dtype_table[LF_DT_COUNT] = {
    [LF_DT_F32] = {"F32", 1, 4},   [LF_DT_F16] = {"F16", 1, 2},     [LF_DT_BF16] = {"BF16", 1, 2},
    [LF_DT_Q8_0] = {"Q8_0", 32, 34}, /* fp16 scale + 32 int8 */
    [LF_DT_Q4_0] = {"Q4_0", 32, 18}, /* fp16 scale + 16 bytes of nibbles */
    [LF_DT_Q4_1] = {"Q4_1", 32, 20}, /* fp16 scale, fp16 min + 16 bytes of nibbles */
    [LF_DT_I32] = {"I32", 1, 4},
};

const char *lf_dtype_name(lf_dtype t) { return (unsigned)t < LF_DT_COUNT ? lf_dtype_table[t].name : "?"; }
int lf_dtype_block_elems(lf_dtype t) { return (unsigned)t < LF_DT_COUNT ? lf_dtype_table[t].block_elems : 0; }
int lf_dtype_block_bytes(lf_dtype t) { return (unsigned)t < LF_DT_COUNT ? lf_dtype_table[t].block_bytes : 0; }

uint64_t lf_dtype_nbytes(lf_dtype t, uint64_t n, int *ok) {
    *ok = 0;
    if ((unsigned)t >= LF_DT_COUNT) return 0;
    uint64_t be = (uint64_t)lf_dtype_table[t].block_elems, bb = (uint64_t)lf_dtype_table[t].block_bytes;
    if (n % be) return 0;
    uint64_t blocks = n / be;
    if (blocks > UINT64_MAX / bb) return 0;
    *ok = 1;
    return blocks * bb;
}

float lf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { mant <<= 1; e++; } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t lf_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0)); /* inf/nan */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);                               /* overflow */
    if (ax < 0x38800000u) { /* result is subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14 + (113 - e) - 1 ... gives mantissa in units of 2^-24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((ax - 0x38000000u) >> 13);
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

float lf_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t lf_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

void lf_to_f32(lf_dtype t, const void *src, float *dst, size_t n) {
    const uint8_t *p = (const uint8_t *)src;
    switch (t) {
    case LF_DT_F32: memcpy(dst, src, n * 4); break;
    case LF_DT_F16:
        for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = lf_f16_to_f32(h); }
        break;
    case LF_DT_BF16:
        for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = lf_bf16_to_f32(h); }
        break;
    case LF_DT_I32:
        for (size_t i = 0; i < n; i++) { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; }
        break;
    case LF_DT_Q8_0:
        for (size_t b = 0; b < n / 32; b++, p += 34) {
            uint16_t h; memcpy(&h, p, 2);
            float d = lf_f16_to_f32(h);
            for (int j = 0; j < 32; j++) dst[b * 32 + j] = d * (float)(int8_t)p[2 + j];
        }
        break;
    case LF_DT_Q4_0: /* element j (j<16) is the low nibble of byte j, element j+16 the high nibble */
        for (size_t b = 0; b < n / 32; b++, p += 18) {
            uint16_t h; memcpy(&h, p, 2);
            float d = lf_f16_to_f32(h);
            for (int j = 0; j < 16; j++) {
                dst[b * 32 + j] = d * (float)((int)(p[2 + j] & 0x0f) - 8);
                dst[b * 32 + j + 16] = d * (float)((int)(p[2 + j] >> 4) - 8);
            }
        }
        break;
    case LF_DT_Q4_1:
        for (size_t b = 0; b < n / 32; b++, p += 20) {
            uint16_t hd, hm; memcpy(&hd, p, 2); memcpy(&hm, p + 2, 2);
            float d = lf_f16_to_f32(hd), m = lf_f16_to_f32(hm);
            for (int j = 0; j < 16; j++) {
                dst[b * 32 + j] = d * (float)(p[4 + j] & 0x0f) + m;
                dst[b * 32 + j + 16] = d * (float)(p[4 + j] >> 4) + m;
            }
        }
        break;
    default: memset(dst, 0, n * 4); break;
    }
}
