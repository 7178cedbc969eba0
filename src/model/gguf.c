/* gguf.c — GGUF parsing with every length and offset checked against the bytes that remain. */
#include "gguf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAX_STRING (16ull << 20)
#define GGUF_MAX_ARRAY (64ull << 20)
#define GGUF_MAX_DEPTH 4
#define GGUF_MAX_TENSORS (1ull << 20)

typedef struct {
    const uint8_t *buf;
    size_t size, pos;
    const char *name;
} reader;

static const int scalar_size[LF_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static lf_status need(reader *r, uint64_t n, const char *what) {
    if (n > r->size - r->pos)
        return lf_fail(LINFER_ERR_FORMAT, "%s: truncated at byte %zu reading %s (%llu bytes needed, %zu left)",
                       r->name, r->pos, what, (unsigned long long)n, r->size - r->pos);
    return LINFER_OK;
}
static lf_status rd_u32(reader *r, uint32_t *v, const char *what) {
    LF_TRY(need(r, 4, what));
    memcpy(v, r->buf + r->pos, 4);
    r->pos += 4;
    return LINFER_OK;
}
static lf_status rd_u64(reader *r, uint64_t *v, const char *what) {
    LF_TRY(need(r, 8, what));
    memcpy(v, r->buf + r->pos, 8);
    r->pos += 8;
    return LINFER_OK;
}
static lf_status rd_str(reader *r, lf_gguf_str *s, const char *what) {
    uint64_t n;
    LF_TRY(rd_u64(r, &n, what));
    if (n > GGUF_MAX_STRING)
        return lf_fail(LINFER_ERR_FORMAT, "%s: %s has length %llu, over the 16 MiB limit", r->name, what,
                       (unsigned long long)n);
    LF_TRY(need(r, n, what));
    s->ptr = (const char *)r->buf + r->pos;
    s->len = n;
    r->pos += n;
    return LINFER_OK;
}

int lf_gguf_str_eq(lf_gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

static uint64_t rd_scalar_u(const uint8_t *p, lf_gguf_type t) {
    uint64_t v = 0;
    memcpy(&v, p, (size_t)scalar_size[t]);
    return v;
}

static int64_t float_to_i64(double d) {
    if (!(d == d)) return 0;
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return (int64_t)d;
}

static void widen(lf_gguf_kv *kv, const uint8_t *p, lf_gguf_type t) {
    uint64_t raw = rd_scalar_u(p, t);
    switch (t) {
    case LF_GGUF_U8: case LF_GGUF_U16: case LF_GGUF_U32: case LF_GGUF_U64: case LF_GGUF_BOOL:
        kv->u = raw; kv->i = (int64_t)raw; kv->f = (double)raw; break;
    case LF_GGUF_I8: kv->i = (int8_t)raw; break;
    case LF_GGUF_I16: kv->i = (int16_t)raw; break;
    case LF_GGUF_I32: kv->i = (int32_t)raw; break;
    case LF_GGUF_I64: kv->i = (int64_t)raw; break;
    /* floats: the integer view saturates (NaN -> 0) instead of an undefined conversion */
    case LF_GGUF_F32: { float f; memcpy(&f, p, 4); kv->f = f; kv->i = float_to_i64(f); return; }
    case LF_GGUF_F64: { double d; memcpy(&d, p, 8); kv->f = d; kv->i = float_to_i64(d); return; }
    default: return;
    }
    if (t == LF_GGUF_I8 || t == LF_GGUF_I16 || t == LF_GGUF_I32 || t == LF_GGUF_I64) {
        kv->u = (uint64_t)kv->i;
        kv->f = (double)kv->i;
    }
}

/* Skip (validate) an array's elements; used for nested arrays whose contents we do not index. */
static lf_status skip_array(reader *r, int depth, const char *key) {
    uint32_t et;
    uint64_t n;
    if (depth > GGUF_MAX_DEPTH) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': arrays nested deeper than %d", r->name, key, GGUF_MAX_DEPTH);
    LF_TRY(rd_u32(r, &et, "array type"));
    LF_TRY(rd_u64(r, &n, "array length"));
    if (et >= LF_GGUF_TYPE_COUNT) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': unknown array element type %u", r->name, key, et);
    if (n > GGUF_MAX_ARRAY || n > r->size - r->pos)
        return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': array of %llu elements exceeds the limit or the file", r->name, key, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        if (et == LF_GGUF_STRING) { lf_gguf_str s; LF_TRY(rd_str(r, &s, "array string")); }
        else if (et == LF_GGUF_ARRAY) LF_TRY(skip_array(r, depth + 1, key));
        else { LF_TRY(need(r, (uint64_t)scalar_size[et] * n, "array elements")); r->pos += (size_t)((uint64_t)scalar_size[et] * n); break; }
    }
    return LINFER_OK;
}

static lf_status read_value(reader *r, lf_gguf_kv *kv, const char *key) {
    uint32_t t;
    LF_TRY(rd_u32(r, &t, "value type"));
    if (t >= LF_GGUF_TYPE_COUNT) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s' has unknown value type %u", r->name, key, t);
    kv->type = (lf_gguf_type)t;
    if (t == LF_GGUF_STRING) return rd_str(r, &kv->str, key);
    if (t != LF_GGUF_ARRAY) {
        LF_TRY(need(r, (uint64_t)scalar_size[t], key));
        widen(kv, r->buf + r->pos, kv->type);
        r->pos += (size_t)scalar_size[t];
        return LINFER_OK;
    }
    uint32_t et;
    uint64_t n;
    LF_TRY(rd_u32(r, &et, "array type"));
    LF_TRY(rd_u64(r, &n, "array length"));
    if (et >= LF_GGUF_TYPE_COUNT) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': unknown array element type %u", r->name, key, et);
    if (n > GGUF_MAX_ARRAY) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': array of %llu elements, over the 64 Mi limit", r->name, key, (unsigned long long)n);
    if (n > r->size - r->pos) return lf_fail(LINFER_ERR_FORMAT, "%s: key '%s': array of %llu elements is longer than the rest of the file", r->name, key, (unsigned long long)n);
    kv->arr_type = (lf_gguf_type)et;
    kv->arr_n = n;
    if (et == LF_GGUF_STRING) {
        kv->arr_str = n ? malloc(sizeof(lf_gguf_str) * n) : NULL;
        if (n && !kv->arr_str) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: key '%s': no memory for %llu strings", r->name, key, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) LF_TRY(rd_str(r, &kv->arr_str[i], key));
    } else if (et == LF_GGUF_ARRAY) {
        for (uint64_t i = 0; i < n; i++) LF_TRY(skip_array(r, 2, key));
    } else {
        uint64_t bytes = n * (uint64_t)scalar_size[et];
        LF_TRY(need(r, bytes, key));
        kv->arr_data = r->buf + r->pos;
        r->pos += bytes;
    }
    return LINFER_OK;
}

static int ggml_to_dtype(uint32_t t, lf_dtype *out) {
    switch (t) {
    case 0: *out = LF_DT_F32; return 1;
    case 1: *out = LF_DT_F16; return 1;
    case 2: *out = LF_DT_Q4_0; return 1;
    case 3: *out = LF_DT_Q4_1; return 1;
    case 8: *out = LF_DT_Q8_0; return 1;
    case 26: *out = LF_DT_I32; return 1;
    case 30: *out = LF_DT_BF16; return 1;
    default: return 0;
    }
}

static int cmp_offset(const void *a, const void *b) {
    const lf_gguf_tensor *x = *(const lf_gguf_tensor *const *)a, *y = *(const lf_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}
static int cmp_name(const void *a, const void *b) {
    const lf_gguf_tensor *x = *(const lf_gguf_tensor *const *)a, *y = *(const lf_gguf_tensor *const *)b;
    uint64_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.ptr, y->name.ptr, n);
    return c ? c : (x->name.len < y->name.len ? -1 : x->name.len > y->name.len);
}

static lf_status check_tensors(const lf_gguf *g, const char *name) {
    if (g->n_tensors == 0) return LINFER_OK;
    const lf_gguf_tensor **v = malloc(sizeof *v * g->n_tensors);
    if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    for (uint64_t i = 0; i < g->n_tensors; i++) v[i] = &g->tensors[i];
    lf_status s = LINFER_OK;
    qsort(v, g->n_tensors, sizeof *v, cmp_name);
    for (uint64_t i = 1; i < g->n_tensors && s == LINFER_OK; i++)
        if (cmp_name(&v[i - 1], &v[i]) == 0)
            s = lf_fail(LINFER_ERR_FORMAT, "%s: duplicate tensor name '%.*s'", name, (int)v[i]->name.len, v[i]->name.ptr);
    qsort(v, g->n_tensors, sizeof *v, cmp_offset);
    for (uint64_t i = 1; i < g->n_tensors && s == LINFER_OK; i++)
        if (v[i - 1]->offset + v[i - 1]->nbytes > v[i]->offset)
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensors '%.*s' and '%.*s' overlap", name, (int)v[i - 1]->name.len,
                        v[i - 1]->name.ptr, (int)v[i]->name.len, v[i]->name.ptr);
    free(v);
    return s;
}

lf_status lf_gguf_parse(const uint8_t *buf, size_t size, const char *name, lf_gguf *g) {
    memset(g, 0, sizeof *g);
    reader r = {buf, size, 0, name};
    uint32_t magic;
    lf_status s;
    if (size < 4 || (memcpy(&magic, buf, 4), magic != 0x46554747u)) /* "GGUF" */
        return lf_fail(LINFER_ERR_FORMAT, "%s: not a GGUF file (bad magic)", name);
    r.pos = 4;
    if ((s = rd_u32(&r, &g->version, "version")) != LINFER_OK) { memset(g, 0, sizeof *g); return s; }
    if (g->version != 2 && g->version != 3) {
        uint32_t v = g->version;
        memset(g, 0, sizeof *g);
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (need 2 or 3)", name, v);
    }
    if ((s = rd_u64(&r, &g->n_tensors, "tensor count")) || (s = rd_u64(&r, &g->n_kv, "metadata count"))) { memset(g, 0, sizeof *g); return s; }
    /* each kv needs >= 8+4+1 bytes and each tensor info >= 8+4+8+4+8 */
    if (g->n_kv > (size - r.pos) / 13 || g->n_tensors > GGUF_MAX_TENSORS || g->n_tensors > (size - r.pos) / 32) {
        uint64_t nk = g->n_kv, nt = g->n_tensors;
        memset(g, 0, sizeof *g);
        return lf_fail(LINFER_ERR_FORMAT, "%s: header claims %llu metadata entries and %llu tensors, more than the file can hold",
                       name, (unsigned long long)nk, (unsigned long long)nt);
    }
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) { lf_gguf_free(g); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name); }
    g->alignment = 32;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        lf_gguf_kv *kv = &g->kv[i];
        char keybuf[128];
        if ((s = rd_str(&r, &kv->key, "metadata key"))) goto fail;
        snprintf(keybuf, sizeof keybuf, "%.*s", (int)(kv->key.len > 100 ? 100 : kv->key.len), kv->key.ptr);
        if ((s = read_value(&r, kv, keybuf))) goto fail;
        if (lf_gguf_str_eq(kv->key, "general.alignment")) {
            if (kv->type != LF_GGUF_U32 || kv->u == 0 || (kv->u & (kv->u - 1)) || kv->u > 65536) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: general.alignment must be a u32 power of two <= 65536", name);
                goto fail;
            }
            g->alignment = kv->u;
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        lf_gguf_tensor *t = &g->tensors[i];
        uint32_t nd, ty;
        if ((s = rd_str(&r, &t->name, "tensor name"))) goto fail;
        if ((s = rd_u32(&r, &nd, "tensor dims"))) goto fail;
        if (nd < 1 || nd > 4) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%.*s' has %u dimensions (1..4 allowed)", name, (int)t->name.len, t->name.ptr, nd);
            goto fail;
        }
        t->n_dims = (int)nd;
        uint64_t nel = 1;
        for (uint32_t d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if ((s = rd_u64(&r, &t->ne[d], "tensor shape"))) goto fail;
            if (t->ne[d] == 0 || t->ne[d] > (1ull << 40) || nel > UINT64_MAX / t->ne[d]) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%.*s' has a bad dimension %llu", name, (int)t->name.len, t->name.ptr,
                            (unsigned long long)t->ne[d]);
                goto fail;
            }
            nel *= t->ne[d];
        }
        if ((s = rd_u32(&r, &ty, "tensor type"))) goto fail;
        if (!ggml_to_dtype(ty, &t->dtype)) {
            s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tensor '%.*s' has ggml type %u (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)",
                        name, (int)t->name.len, t->name.ptr, ty);
            goto fail;
        }
        int ok;
        if (t->ne[0] % (uint64_t)lf_dtype_block_elems(t->dtype)) ok = 0;
        else t->nbytes = lf_dtype_nbytes(t->dtype, nel, &ok);
        if (!ok) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%.*s': shape does not fit dtype %s", name, (int)t->name.len, t->name.ptr,
                        lf_dtype_name(t->dtype));
            goto fail;
        }
        if ((s = rd_u64(&r, &t->offset, "tensor offset"))) goto fail;
        if (t->offset % g->alignment) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%.*s' offset %llu is not aligned to %llu", name, (int)t->name.len, t->name.ptr,
                        (unsigned long long)t->offset, (unsigned long long)g->alignment);
            goto fail;
        }
    }
    g->data_offset = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && g->data_offset > size) {
        s = lf_fail(LINFER_ERR_FORMAT, "%s: truncated before the tensor data section", name);
        goto fail;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        lf_gguf_tensor *t = &g->tensors[i];
        uint64_t avail = size - g->data_offset;
        if (t->offset > avail || t->nbytes > avail - t->offset) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%.*s' data [%llu, +%llu) lies past the end of the file (truncated?)", name,
                        (int)t->name.len, t->name.ptr, (unsigned long long)t->offset, (unsigned long long)t->nbytes);
            goto fail;
        }
        t->data = buf + g->data_offset + t->offset;
    }
    if ((s = check_tensors(g, name))) goto fail;
    return LINFER_OK;
fail:
    lf_gguf_free(g);
    return s;
}

void lf_gguf_free(lf_gguf *g) {
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) free(g->kv[i].arr_str);
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof *g);
}

const lf_gguf_kv *lf_gguf_find(const lf_gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (lf_gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const lf_gguf_tensor *lf_gguf_find_tensor(const lf_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (lf_gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static int is_int_type(lf_gguf_type t) {
    return t <= LF_GGUF_I32 || t == LF_GGUF_U64 || t == LF_GGUF_I64 || t == LF_GGUF_BOOL;
}

lf_status lf_gguf_get_int(const lf_gguf *g, const char *key, int optional, int64_t *v) {
    const lf_gguf_kv *kv = lf_gguf_find(g, key);
    if (!kv) return optional ? LINFER_OK : lf_fail(LINFER_ERR_FORMAT, "missing metadata key '%s'", key);
    if (!is_int_type(kv->type)) return lf_fail(LINFER_ERR_FORMAT, "metadata key '%s' should be an integer", key);
    *v = kv->i;
    return LINFER_OK;
}
lf_status lf_gguf_get_float(const lf_gguf *g, const char *key, int optional, double *v) {
    const lf_gguf_kv *kv = lf_gguf_find(g, key);
    if (!kv) return optional ? LINFER_OK : lf_fail(LINFER_ERR_FORMAT, "missing metadata key '%s'", key);
    if (kv->type == LF_GGUF_STRING || kv->type == LF_GGUF_ARRAY) return lf_fail(LINFER_ERR_FORMAT, "metadata key '%s' should be a number", key);
    *v = kv->f;
    return LINFER_OK;
}
lf_status lf_gguf_get_str(const lf_gguf *g, const char *key, int optional, lf_gguf_str *v) {
    const lf_gguf_kv *kv = lf_gguf_find(g, key);
    if (!kv) return optional ? LINFER_OK : lf_fail(LINFER_ERR_FORMAT, "missing metadata key '%s'", key);
    if (kv->type != LF_GGUF_STRING) return lf_fail(LINFER_ERR_FORMAT, "metadata key '%s' should be a string", key);
    *v = kv->str;
    return LINFER_OK;
}

int64_t lf_gguf_arr_int(const lf_gguf_kv *kv, uint64_t i) {
    lf_gguf_kv tmp = {0};
    widen(&tmp, kv->arr_data + i * (uint64_t)scalar_size[kv->arr_type], kv->arr_type);
    return tmp.i;
}
double lf_gguf_arr_float(const lf_gguf_kv *kv, uint64_t i) {
    lf_gguf_kv tmp = {0};
    widen(&tmp, kv->arr_data + i * (uint64_t)scalar_size[kv->arr_type], kv->arr_type);
    return tmp.f;
}
