/* safetensors.h — bounds-checked parser for the safetensors format:
 *   u64 little-endian header length N | N bytes of UTF-8 JSON | tensor data.
 * The JSON maps names to {"dtype", "shape", "data_offsets": [begin, end)} (relative to the data
 * section) plus an optional "__metadata__" object of strings. Enforced: N <= 100 MB and within the
 * file, valid UTF-8 JSON object, no duplicate names, known dtype, shape entries non-negative with
 * no overflow, end - begin == numel * dtype size, offsets in bounds, and the tensors tile the data
 * section contiguously with no gaps or overlaps. */
#ifndef LF_SAFETENSORS_H
#define LF_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "../core/dtype.h"
#include "../core/error.h"

#define LF_ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct {
    char *name;
    lf_dtype dtype;
    int n_dims;
    int64_t shape[8];       /* outermost first, as written in the file */
    uint64_t begin, end;    /* into the data section */
    const uint8_t *data;
} lf_st_tensor;

typedef struct {
    lf_st_tensor *tensors;
    int n_tensors;
} lf_safetensors;

lf_status lf_safetensors_parse(const uint8_t *buf, size_t size, const char *name, lf_safetensors *out);
void lf_safetensors_free(lf_safetensors *st);
const lf_st_tensor *lf_safetensors_find(const lf_safetensors *st, const char *name);
/* Validate that bytes [0,len) are UTF-8 (no overlongs, no surrogates); returns offset of the
 * first bad byte or -1 if valid. */
long lf_utf8_invalid_at(const char *s, size_t len);
#endif
