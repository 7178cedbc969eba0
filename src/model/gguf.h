/* gguf.h — a bounds-checked reader for GGUF v2/v3 files (header, metadata, tensor infos).
 *
 * lf_gguf_parse() works on a byte buffer (the mmap of the file, or fuzzer input) and never reads
 * outside it. Strings and arrays point into the buffer; nothing is copied but the index.
 * Limits enforced before any allocation: string <= 16 MiB, array <= 64 Mi elements and never more
 * elements than bytes left, nesting <= 4, tensor dims 1..4 and each > 0, element-count and byte
 * products checked for overflow, alignment a power of two, tensor data in bounds, aligned and
 * non-overlapping, tensor names unique. */
#ifndef LF_GGUF_H
#define LF_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include "../core/dtype.h"
#include "../core/error.h"

typedef enum {
    LF_GGUF_U8 = 0, LF_GGUF_I8 = 1, LF_GGUF_U16 = 2, LF_GGUF_I16 = 3, LF_GGUF_U32 = 4, LF_GGUF_I32 = 5,
    LF_GGUF_F32 = 6, LF_GGUF_BOOL = 7, LF_GGUF_STRING = 8, LF_GGUF_ARRAY = 9, LF_GGUF_U64 = 10,
    LF_GGUF_I64 = 11, LF_GGUF_F64 = 12, LF_GGUF_TYPE_COUNT
} lf_gguf_type;

typedef struct { const char *ptr; uint64_t len; } lf_gguf_str; /* not NUL-terminated */

typedef struct {
    lf_gguf_str key;
    lf_gguf_type type;
    /* scalars (numeric types widened): */
    uint64_t u; int64_t i; double f;
    lf_gguf_str str;            /* type == STRING */
    /* type == ARRAY: */
    lf_gguf_type arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;    /* numeric element array (unaligned, little-endian) */
    lf_gguf_str *arr_str;       /* arr_type == STRING: arr_n entries (malloc'd index) */
} lf_gguf_kv;

typedef struct {
    lf_gguf_str name;
    int n_dims;
    uint64_t ne[4];         /* ne[0] is the innermost (contiguous) dimension */
    lf_dtype dtype;
    uint64_t offset;        /* from the start of the data section */
    uint64_t nbytes;
    const uint8_t *data;    /* into the buffer */
} lf_gguf_tensor;

typedef struct lf_gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    lf_gguf_kv *kv;
    lf_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
} lf_gguf;

/* name is used in error messages (e.g. the file path). On failure *out is cleared. */
lf_status lf_gguf_parse(const uint8_t *buf, size_t size, const char *name, lf_gguf *out);
void lf_gguf_free(lf_gguf *g);

const lf_gguf_kv *lf_gguf_find(const lf_gguf *g, const char *key);
const lf_gguf_tensor *lf_gguf_find_tensor(const lf_gguf *g, const char *name);
int lf_gguf_str_eq(lf_gguf_str s, const char *c);
/* Typed getters: return LINFER_ERR_FORMAT naming the key if present with a wrong type;
 * if missing, return LINFER_OK and leave *v untouched when optional, else LINFER_ERR_FORMAT. */
lf_status lf_gguf_get_int(const lf_gguf *g, const char *key, int optional, int64_t *v);
lf_status lf_gguf_get_float(const lf_gguf *g, const char *key, int optional, double *v);
lf_status lf_gguf_get_str(const lf_gguf *g, const char *key, int optional, lf_gguf_str *v);
/* Element i of a numeric array as int64 / double (caller checks bounds and type). */
int64_t lf_gguf_arr_int(const lf_gguf_kv *kv, uint64_t i);
double lf_gguf_arr_float(const lf_gguf_kv *kv, uint64_t i);
#endif
