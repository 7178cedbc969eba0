/* fuzz_gguf.c — lf_gguf_parse on arbitrary bytes. On success: every key found by name, the typed
 * getters on every key (and on missing ones, optional or not), numeric array elements through
 * lf_gguf_arr_int/float, string arrays and tensor data touched (ASan checks they lie inside the
 * input), tensor invariants checked, the first blocks of each tensor dequantised with lf_to_f32,
 * then the tokenizer built from the metadata (lf_tokenizer_load_gguf) and, if that succeeds,
 * exercised (encode/decode, fuzz_tok.h). */
#include "fuzz_common.h"
#include "fuzz_tok.h"
#include "model/gguf.h"

static void check_kv(const lf_gguf *g, const lf_gguf_kv *kv, const uint8_t *data, size_t size) {
    FUZZ_CHECK(fuzz_inside(kv->key.ptr, kv->key.len, data, size), "key outside the input");
    FUZZ_CHECK((unsigned)kv->type < LF_GGUF_TYPE_COUNT, "kv type %u", (unsigned)kv->type);
    char key[256];
    int has_nul = memchr(kv->key.ptr, 0, (size_t)kv->key.len) != NULL;
    if (kv->key.len < sizeof key && !has_nul) {
        memcpy(key, kv->key.ptr, (size_t)kv->key.len);
        key[kv->key.len] = 0;
        const lf_gguf_kv *f = lf_gguf_find(g, key);
        FUZZ_CHECK(f != NULL && lf_gguf_str_eq(f->key, key), "find('%s') failed", key);
        int64_t iv = 0;
        double fv = 0;
        lf_gguf_str sv = {0};
        (void)lf_gguf_get_int(g, key, 0, &iv);
        (void)lf_gguf_get_float(g, key, 1, &fv);
        if (lf_gguf_get_str(g, key, 0, &sv) == LINFER_OK) {
            FUZZ_CHECK(fuzz_inside(sv.ptr, sv.len, data, size), "string value of '%s' outside the input", key);
            fuzz_touch(sv.ptr, (size_t)sv.len);
        }
    }
    if (kv->type == LF_GGUF_STRING) {
        FUZZ_CHECK(fuzz_inside(kv->str.ptr, kv->str.len, data, size), "string value outside the input");
        fuzz_touch(kv->str.ptr, (size_t)kv->str.len);
    }
    if (kv->type != LF_GGUF_ARRAY) return;
    FUZZ_CHECK((unsigned)kv->arr_type < LF_GGUF_TYPE_COUNT, "array type %u", (unsigned)kv->arr_type);
    if (kv->arr_type == LF_GGUF_STRING) {
        FUZZ_CHECK(kv->arr_n == 0 || kv->arr_str != NULL, "string array without an index");
        for (uint64_t i = 0; i < kv->arr_n; i++) {
            FUZZ_CHECK(fuzz_inside(kv->arr_str[i].ptr, kv->arr_str[i].len, data, size), "array string %llu outside the input",
                       (unsigned long long)i);
            if (i < 64) fuzz_touch(kv->arr_str[i].ptr, (size_t)kv->arr_str[i].len);
        }
    } else if (kv->arr_type != LF_GGUF_ARRAY && kv->arr_n) {
        static const int esize[LF_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        uint64_t bytes = kv->arr_n * (uint64_t)esize[kv->arr_type];
        FUZZ_CHECK(kv->arr_data && fuzz_inside(kv->arr_data, bytes, data, size), "numeric array outside the input");
        uint64_t idx[3] = {0, kv->arr_n / 2, kv->arr_n - 1};
        for (int k = 0; k < 3; k++) {
            volatile int64_t a = lf_gguf_arr_int(kv, idx[k]);
            volatile double b = lf_gguf_arr_float(kv, idx[k]);
            (void)a; (void)b;
        }
    }
}

static void check_tensor(const lf_gguf *g, const lf_gguf_tensor *t, const uint8_t *data, size_t size) {
    FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= 4, "tensor with %d dims", t->n_dims);
    uint64_t nel = 1;
    for (int d = 0; d < 4; d++) {
        FUZZ_CHECK(t->ne[d] > 0, "tensor dim %d is 0", d);
        FUZZ_CHECK(nel <= UINT64_MAX / t->ne[d], "element count overflows");
        nel *= t->ne[d];
    }
    int ok = 0;
    uint64_t nb = lf_dtype_nbytes(t->dtype, nel, &ok);
    FUZZ_CHECK(ok && nb == t->nbytes, "tensor nbytes %llu, expected %llu", (unsigned long long)t->nbytes, (unsigned long long)nb);
    FUZZ_CHECK(t->offset % g->alignment == 0, "unaligned tensor offset");
    FUZZ_CHECK(t->data == data + g->data_offset + t->offset, "tensor data pointer mismatch");
    FUZZ_CHECK(fuzz_inside(t->data, t->nbytes, data, size), "tensor data outside the input");
    fuzz_touch(t->data, (size_t)t->nbytes);
    char name[256];
    if (t->name.len < sizeof name && !memchr(t->name.ptr, 0, (size_t)t->name.len)) {
        memcpy(name, t->name.ptr, (size_t)t->name.len);
        name[t->name.len] = 0;
        FUZZ_CHECK(lf_gguf_find_tensor(g, name) == t, "find_tensor('%s') did not return the tensor", name);
    }
    /* dequantise the first blocks */
    uint64_t be = (uint64_t)lf_dtype_block_elems(t->dtype);
    uint64_t n = nel < 1024 ? nel : 1024;
    n -= n % be;
    if (n) {
        float *f = (float *)malloc((size_t)n * sizeof *f);
        if (f) {
            lf_to_f32(t->dtype, t->data, f, (size_t)n);
            fuzz_touch(f, (size_t)n * sizeof *f);
            free(f);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_gguf g;
    lf_status s = lf_gguf_parse(data, size, "fuzz.gguf", &g);
    fuzz_report("gguf_parse", s);
    if (s != LINFER_OK) {
        FUZZ_CHECK(g.kv == NULL && g.tensors == NULL && g.n_kv == 0 && g.n_tensors == 0, "failed parse left state behind");
        return 0;
    }
    FUZZ_CHECK(g.version == 2 || g.version == 3, "version %u", g.version);
    FUZZ_CHECK(g.alignment && !(g.alignment & (g.alignment - 1)), "alignment %llu", (unsigned long long)g.alignment);
    FUZZ_CHECK(g.n_tensors == 0 || g.data_offset <= size, "data offset past the end");
    for (uint64_t i = 0; i < g.n_kv; i++) check_kv(&g, &g.kv[i], data, size);
    for (uint64_t i = 0; i < g.n_tensors; i++) check_tensor(&g, &g.tensors[i], data, size);

    /* getters on keys that may be missing or mistyped */
    static const char *keys[] = {"general.architecture", "general.alignment", "llama.context_length", "llama.block_count",
                                 "llama.rope.freq_base", "tokenizer.ggml.model", "tokenizer.ggml.bos_token_id",
                                 "tokenizer.ggml.tokens", "no.such.key", ""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int64_t iv = -7;
        double fv = -7;
        lf_gguf_str sv = {"", 0};
        lf_status a = lf_gguf_get_int(&g, keys[k], 1, &iv);
        if (!lf_gguf_find(&g, keys[k])) {
            FUZZ_CHECK(a == LINFER_OK && iv == -7, "optional missing key changed the value");
            FUZZ_CHECK(lf_gguf_get_int(&g, keys[k], 0, &iv) != LINFER_OK, "required missing key succeeded");
        }
        (void)lf_gguf_get_float(&g, keys[k], k & 1, &fv);
        (void)lf_gguf_get_str(&g, keys[k], k & 1, &sv);
    }
    (void)lf_gguf_find_tensor(&g, "token_embd.weight");

    lf_tokenizer *tok = NULL;
    lf_status ts = lf_tokenizer_load_gguf(&g, "fuzz.gguf", &tok);
    fuzz_report("tokenizer_load_gguf", ts);
    if (ts == LINFER_OK) {
        FUZZ_CHECK(tok != NULL, "load_gguf OK without a tokenizer");
        fuzz_exercise_tokenizer(tok);
        lf_tokenizer_free(tok);
    } else {
        FUZZ_CHECK(tok == NULL, "load_gguf failed but returned a tokenizer");
    }
    lf_gguf_free(&g);
    FUZZ_CHECK(g.kv == NULL && g.tensors == NULL, "free did not clear");
    return 0;
}
