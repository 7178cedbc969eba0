/* safetensors.c — parsing and validation of one .safetensors file held in memory. */
#include "safetensors.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long lf_utf8_invalid_at(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        int n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
        else return (long)i;
        if (len - i < (size_t)n + 1) return (long)i;
        for (int k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return (long)i;
        i += (size_t)n + 1;
    }
    return -1;
}

static int parse_dtype(const char *s, lf_dtype *t) {
    if (!strcmp(s, "F32")) *t = LF_DT_F32;
    else if (!strcmp(s, "F16")) *t = LF_DT_F16;
    else if (!strcmp(s, "BF16")) *t = LF_DT_BF16;
    else if (!strcmp(s, "I32")) *t = LF_DT_I32;
    else return 0;
    return 1;
}

static int cmp_begin(const void *a, const void *b) {
    const lf_st_tensor *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const lf_st_tensor *)a)->name, ((const lf_st_tensor *)b)->name);
}

/* Offset of the first "\u0000" escape or raw control byte inside a JSON string of text[0..len), or -1. cJSON turns it
 * into a NUL byte that ends the C string, so "a\u0000b" would be read as the name "a": a crafted
 * header could give a tensor a name other than the one it spells (found by fuzz_safetensors). */
static long json_nul_escape_at(const char *text, size_t len) {
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        const char ch = text[i];
        if (!in_str) { if (ch == '"') in_str = 1; continue; }
        if (ch == '"') { in_str = 0; continue; }
        if ((unsigned char)ch < 0x20) return (long)i; /* raw control byte (JSON forbids them; a NUL would cut the name too) */
        if (ch != '\\' || i + 1 >= len) continue;
        if (text[i + 1] == 'u' && i + 5 < len && text[i + 2] == '0' && text[i + 3] == '0' && text[i + 4] == '0' && text[i + 5] == '0')
            return (long)i;
        i++; /* skip the escaped character (\\, \", ...) */
    }
    return -1;
}

lf_status lf_safetensors_parse(const uint8_t *buf, size_t size, const char *name, lf_safetensors *st) {
    memset(st, 0, sizeof *st);
    if (size < 8) return lf_fail(LINFER_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors header", name, size);
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    if (hlen > LF_ST_MAX_HEADER) return lf_fail(LINFER_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", name, (unsigned long long)hlen);
    if (hlen > size - 8) return lf_fail(LINFER_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", name, (unsigned long long)hlen, size);
    const char *hdr = (const char *)buf + 8;
    long bad = lf_utf8_invalid_at(hdr, (size_t)hlen);
    if (bad >= 0) return lf_fail(LINFER_ERR_FORMAT, "%s: header is not valid UTF-8 (byte %ld)", name, bad);
    const long nul = json_nul_escape_at(hdr, (size_t)hlen);
    if (nul >= 0) return lf_fail(LINFER_ERR_FORMAT, "%s: header has a NUL (\\u0000) or control character in a string at byte %ld", name, nul + 8);
    const char *end_ptr = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end_ptr, 0);
    if (!root) return lf_fail(LINFER_ERR_FORMAT, "%s: header is not valid JSON (near byte %ld)", name, end_ptr ? (long)(end_ptr - hdr) : -1L);
    lf_status s = LINFER_OK;
    if (!cJSON_IsObject(root)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: header JSON is not an object", name); goto done; }
    /* trailing bytes after the JSON must be spaces (the format pads with 0x20) */
    for (const char *p = end_ptr; p && p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\0' && *p != '\n' && *p != '\t' && *p != '\r') { s = lf_fail(LINFER_ERR_FORMAT, "%s: junk after the header JSON", name); goto done; }
    int n = cJSON_GetArraySize(root);
    st->tensors = calloc(n > 0 ? (size_t)n : 1, sizeof *st->tensors);
    if (!st->tensors) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name); goto done; }
    uint64_t data_size = size - 8 - hlen;
    const uint8_t *data = buf + 8 + hlen;
    for (cJSON *it = root->child; it; it = it->next) {
        if (!it->string) { s = lf_fail(LINFER_ERR_FORMAT, "%s: header entry without a name", name); goto done; }
        if (!strcmp(it->string, "__metadata__")) {
            if (!cJSON_IsObject(it)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: __metadata__ is not an object", name); goto done; }
            for (cJSON *m = it->child; m; m = m->next)
                if (!cJSON_IsString(m)) { s = lf_fail(LINFER_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string", name, m->string ? m->string : "?"); goto done; }
            continue;
        }
        lf_st_tensor *t = &st->tensors[st->n_tensors];
        const char *tn = it->string;
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' needs dtype (string), shape (array), data_offsets ([begin, end])", name, tn);
            goto done;
        }
        if (!parse_dtype(dt->valuestring, &t->dtype)) {
            s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s (supported: F32, F16, BF16)", name, tn, dt->valuestring);
            goto done;
        }
        int nd = cJSON_GetArraySize(sh);
        if (nd > 8) { s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (max 8)", name, tn, nd); goto done; }
        t->n_dims = nd;
        uint64_t numel = 1;
        int d = 0;
        for (cJSON *e = sh->child; e; e = e->next, d++) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 9.0e15 || e->valuedouble != (double)(int64_t)e->valuedouble) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' has a bad shape entry", name, tn);
                goto done;
            }
            t->shape[d] = (int64_t)e->valuedouble;
            if (t->shape[d] && numel > UINT64_MAX / (uint64_t)t->shape[d]) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' shape overflows", name, tn);
                goto done;
            }
            numel *= (uint64_t)t->shape[d];
        }
        double b0 = cJSON_GetArrayItem(off, 0)->valuedouble, b1 = cJSON_GetArrayItem(off, 1)->valuedouble;
        if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) || b0 < 0 || b1 < b0 ||
            b1 > 9.0e15 || b0 != (double)(uint64_t)b0 || b1 != (double)(uint64_t)b1) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' has bad data_offsets", name, tn);
            goto done;
        }
        t->begin = (uint64_t)b0;
        t->end = (uint64_t)b1;
        int ok;
        uint64_t want = lf_dtype_nbytes(t->dtype, numel, &ok);
        if (!ok || want != t->end - t->begin) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s': shape x dtype = %llu bytes but data_offsets span %llu", name, tn,
                        (unsigned long long)want, (unsigned long long)(t->end - t->begin));
            goto done;
        }
        if (t->end > data_size) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' data [%llu, %llu) lies past the end of the file (data section is %llu bytes; truncated?)",
                        name, tn, (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)data_size);
            goto done;
        }
        t->name = strdup(tn);
        if (!t->name) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name); goto done; }
        t->data = data + t->begin;
        st->n_tensors++;
    }
    if (st->n_tensors > 1) {
        lf_st_tensor *tmp = malloc(sizeof *tmp * (size_t)st->n_tensors);
        if (!tmp) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name); goto done; }
        memcpy(tmp, st->tensors, sizeof *tmp * (size_t)st->n_tensors);
        qsort(tmp, (size_t)st->n_tensors, sizeof *tmp, cmp_tensor_name);
        for (int i = 1; i < st->n_tensors && s == LINFER_OK; i++)
            if (!strcmp(tmp[i - 1].name, tmp[i].name)) s = lf_fail(LINFER_ERR_FORMAT, "%s: duplicate tensor name '%s'", name, tmp[i].name);
        qsort(tmp, (size_t)st->n_tensors, sizeof *tmp, cmp_begin);
        uint64_t at = 0;
        for (int i = 0; i < st->n_tensors && s == LINFER_OK; i++) {
            if (tmp[i].begin < at) s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' overlaps the previous tensor", name, tmp[i].name);
            else if (tmp[i].begin > at) s = lf_fail(LINFER_ERR_FORMAT, "%s: gap of %llu bytes before tensor '%s' (offsets must be contiguous)", name, (unsigned long long)(tmp[i].begin - at), tmp[i].name);
            at = tmp[i].end;
        }
        free(tmp);
        if (s) goto done;
    } else if (st->n_tensors == 1 && st->tensors[0].begin != 0) {
        s = lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' does not start at offset 0", name, st->tensors[0].name);
        goto done;
    }
done:
    cJSON_Delete(root);
    if (s != LINFER_OK) lf_safetensors_free(st);
    return s;
}

void lf_safetensors_free(lf_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    memset(st, 0, sizeof *st);
}

const lf_st_tensor *lf_safetensors_find(const lf_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}
