/* gguf_load.c — builds a tokenizer from GGUF metadata (tokenizer.ggml.*), following what
 * llama.cpp does with the same keys:
 *   model "gpt2":  byte-level BPE with the file's ranked merges; the pre-tokenizer split comes from
 *                  tokenizer.ggml.pre (llama3 family: the LLaMA-3 regex + ignore_merges; smollm
 *                  family: every digit alone, then the GPT-2 regex; qwen2 family; gpt-2/default:
 *                  the GPT-2 regex);
 *   model "llama": SentencePiece BPE: merges ranked by the merged piece's score, byte fallback to
 *                  <0xNN>, a "▁" prefix (add_space_prefix, default on) and spaces as "▁"; like
 *                  llama.cpp (and HF's legacy LLaMA tokenizer) the prefix goes on every text
 *                  segment between special tokens.
 * Token types: 2 (unknown) and 3 (control) become special added tokens, 4 (user-defined) plain
 * added tokens. BOS/EOS/add_bos_token from tokenizer.ggml.{bos,eos}_token_id / add_bos_token
 * (absent add_bos_token: on for "llama" and the llama3 family, off otherwise, as in llama.cpp). */
#include "tok_internal.h"
#include "../model/gguf.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

static int key_is_int_array(const lf_gguf_kv *kv) {
    if (kv->type != LF_GGUF_ARRAY) return 0;
    switch (kv->arr_type) {
    case LF_GGUF_U8: case LF_GGUF_I8: case LF_GGUF_U16: case LF_GGUF_I16: case LF_GGUF_U32: case LF_GGUF_I32:
    case LF_GGUF_U64: case LF_GGUF_I64: return kv->arr_data != NULL || kv->arr_n == 0;
    default: return 0;
    }
}

static int key_is_float_array(const lf_gguf_kv *kv) {
    return kv->type == LF_GGUF_ARRAY && (kv->arr_type == LF_GGUF_F32 || kv->arr_type == LF_GGUF_F64) &&
           (kv->arr_data != NULL || kv->arr_n == 0);
}

static int key_is_str_array(const lf_gguf_kv *kv) {
    return kv->type == LF_GGUF_ARRAY && kv->arr_type == LF_GGUF_STRING && (kv->arr_str != NULL || kv->arr_n == 0);
}

/* Element i of an F32/F64 array, read here rather than through a widening helper; NaN becomes
 * the lowest score so that sorting by score stays well defined. */
static float arr_score(const lf_gguf_kv *kv, uint64_t i) {
    double d;
    if (kv->arr_type == LF_GGUF_F32) {
        float f;
        memcpy(&f, kv->arr_data + 4 * i, 4);
        d = f;
    } else {
        memcpy(&d, kv->arr_data + 8 * i, 8);
    }
    if (d != d) return -FLT_MAX;
    if (d > FLT_MAX) return FLT_MAX;
    if (d < -FLT_MAX) return -FLT_MAX;
    return (float)d;
}

static lf_status opt_id(lf_tokenizer *t, const lf_gguf *g, const char *key, int32_t *id) {
    int64_t v = -1;
    LF_TRY(lf_gguf_get_int(g, key, 1, &v));
    if (!lf_gguf_find(g, key)) return LINFER_OK;
    if (v == -1 || v == (int64_t)UINT32_MAX) return LINFER_OK; /* "none" as some converters write it */
    if (v < 0 || v >= t->n_vocab) return lf_fail(LINFER_ERR_FORMAT, "%s: %s = %lld is out of range (vocab %d)", t->name, key, (long long)v, t->n_vocab);
    *id = (int32_t)v;
    return LINFER_OK;
}

static lf_status opt_bool(const lf_gguf *g, const char *key, int def, int *v) {
    int64_t x = def;
    LF_TRY(lf_gguf_get_int(g, key, 1, &x));
    *v = x != 0;
    return LINFER_OK;
}

static lf_status add_split(lf_tokenizer *t, const char *re, int behavior) {
    if (t->n_pt >= TOK_MAX_STEPS) return lf_fail(LINFER_ERR_INTERNAL, "too many steps");
    tok_pt_step *st = &t->pt[t->n_pt++];
    memset(st, 0, sizeof *st);
    st->kind = PT_SPLIT;
    st->behavior = behavior;
    return tok_regex_compile(t, re, strlen(re), 0, "tokenizer.ggml.pre", &st->re);
}

static lf_status add_bytelevel(lf_tokenizer *t, int use_regex) {
    tok_pt_step *st = &t->pt[t->n_pt++];
    memset(st, 0, sizeof *st);
    st->kind = PT_BYTELEVEL;
    t->byte_level = 1;
    t->dec_byte_level = 1;
    if (use_regex) return tok_regex_compile(t, TOK_RE_GPT2, strlen(TOK_RE_GPT2), 0, "ByteLevel", &st->re);
    return LINFER_OK;
}

static int name_in(const char *s, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(s, *list)) return 1;
    return 0;
}

static lf_status setup_pre(lf_tokenizer *t, const char *pre, int *def_add_bos) {
    static const char *const llama3[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                                         "midm-2.0", "lfm2", "dbrx", "smaug-bpe", NULL};
    static const char *const smollm[] = {"smollm", "starcoder", "refact", "codeshell", "command-r", "exaone", NULL};
    static const char *const qwen2[] = {"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", NULL};
    static const char *const gpt2[] = {"gpt-2", "gpt2", "default", "phi-2", "jina-es", "jina-de", "jina-v2-es",
                                       "jina-v2-de", "mpt", "olmo", "jais", "roberta-bpe", "jina-v1-en",
                                       "jina-v2-code", "", NULL};
    if (name_in(pre, llama3)) {
        t->ignore_merges = 1;
        *def_add_bos = 1; /* llama.cpp's default for this family when add_bos_token is absent */
        LF_TRY(add_split(t, TOK_RE_LLAMA3, SPLIT_ISOLATED));
        return add_bytelevel(t, 0);
    }
    if (name_in(pre, smollm)) {
        LF_TRY(add_split(t, "\\p{N}", SPLIT_ISOLATED));
        return add_bytelevel(t, 1);
    }
    if (name_in(pre, qwen2)) {
        LF_TRY(add_split(t, TOK_RE_QWEN2, SPLIT_ISOLATED));
        return add_bytelevel(t, 0);
    }
    if (name_in(pre, gpt2)) return add_bytelevel(t, 1);
    return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre '%s' is not supported", t->name, pre);
}

static lf_status load_merges(lf_tokenizer *t, const lf_gguf_kv *kv) {
    if (kv->arr_n > TOK_MAX_MERGES) return lf_fail(LINFER_ERR_FORMAT, "%s: %llu merges (limit %d)", t->name, (unsigned long long)kv->arr_n, TOK_MAX_MERGES);
    LF_TRY(tok_pairmap_init(&t->merges, (size_t)kv->arr_n));
    char *cat = malloc(2 * (size_t)TOK_MAX_TEXT + 2);
    if (!cat) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", t->name);
    lf_status st = LINFER_OK;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        lf_gguf_str m = kv->arr_str[i];
        /* "left right": split at the first space after the first byte, as llama.cpp does */
        uint64_t sp = 1;
        while (sp < m.len && m.ptr[sp] != ' ') sp++;
        if (m.len < 3 || sp >= m.len - 1) {
            st = lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu] is not two tokens separated by a space", t->name, (unsigned long long)i);
            break;
        }
        const char *a = m.ptr, *b = m.ptr + sp + 1;
        size_t la = (size_t)sp, lb = (size_t)(m.len - sp - 1);
        int32_t ia = tok_vocab_find(t, a, la), ib = tok_vocab_find(t, b, lb);
        if (ia < 0 || ib < 0 || la + lb > TOK_MAX_TEXT) {
            const char *bad = ia < 0 ? a : b;
            size_t bl = ia < 0 ? la : lb;
            st = lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu] references unknown token '%.*s'", t->name,
                         (unsigned long long)i, (int)(bl > 48 ? 48 : bl), bad);
            break;
        }
        memcpy(cat, a, la);
        memcpy(cat + la, b, lb);
        int32_t im = tok_vocab_find(t, cat, la + lb);
        if (im < 0) {
            st = lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu] makes '%.*s', which is not in the vocabulary", t->name,
                         (unsigned long long)i, (int)(la + lb > 48 ? 48 : la + lb), cat);
            break;
        }
        tok_pairmap_put(&t->merges, (uint32_t)ia, (uint32_t)ib, (int32_t)i, im);
    }
    free(cat);
    return st;
}

static lf_status set_norm(lf_tokenizer *t, int kind, const char *a, const char *b) {
    tok_norm_step *st = &t->norm[t->n_norm++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->a_len = strlen(a);
    st->a = malloc(st->a_len + 1);
    if (b) {
        st->b_len = strlen(b);
        st->b = malloc(st->b_len + 1);
    }
    if (!st->a || (b && !st->b)) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(st->a, a, st->a_len + 1);
    if (b) memcpy(st->b, b, st->b_len + 1);
    return LINFER_OK;
}

static lf_status load(lf_tokenizer *t, const lf_gguf *g) {
    lf_gguf_str model;
    LF_TRY(lf_gguf_get_str(g, "tokenizer.ggml.model", 0, &model));
    int spm, def_add_bos;
    if (lf_gguf_str_eq(model, "gpt2")) spm = 0;
    else if (lf_gguf_str_eq(model, "llama")) spm = 1;
    else return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%.*s' is not supported (gpt2 or llama)", t->name,
                        (int)(model.len > 32 ? 32 : model.len), model.ptr);

    const lf_gguf_kv *tokens = lf_gguf_find(g, "tokenizer.ggml.tokens");
    if (!tokens) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.tokens is missing", t->name);
    if (!key_is_str_array(tokens)) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.tokens must be an array of strings", t->name);
    if (tokens->arr_n == 0 || tokens->arr_n > TOK_MAX_VOCAB)
        return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries (1..%d allowed)", t->name, (unsigned long long)tokens->arr_n, TOK_MAX_VOCAB);
    int32_t n = (int32_t)tokens->arr_n;

    const lf_gguf_kv *types = lf_gguf_find(g, "tokenizer.ggml.token_type");
    if (types && (!key_is_int_array(types) || types->arr_n != tokens->arr_n))
        return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.token_type must be an integer array of %d entries", t->name, n);
    const lf_gguf_kv *scores = lf_gguf_find(g, "tokenizer.ggml.scores");
    if (scores && (!key_is_float_array(scores) || scores->arr_n != tokens->arr_n))
        return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.scores must be a float array of %d entries", t->name, n);
    if (spm && !scores) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.scores is missing (needed by a 'llama' tokenizer)", t->name);

    def_add_bos = spm;
    LF_TRY(tok_alloc_vocab(t, n, spm));
    for (int32_t i = 0; i < n; i++) {
        lf_gguf_str s = tokens->arr_str[i];
        if (s.len > TOK_MAX_TEXT) return lf_fail(LINFER_ERR_FORMAT, "%s: token %d is %llu bytes long (limit %d)", t->name, i, (unsigned long long)s.len, TOK_MAX_TEXT);
        LF_TRY(tok_set_token(t, i, s.ptr, (size_t)s.len, 1));
        if (spm) t->scores[i] = arr_score(scores, (uint64_t)i);
    }
    LF_TRY(tok_build_vmap(t, 1)); /* duplicate spellings: the later id wins, as in llama.cpp */

    int64_t unk = -1;
    for (int32_t i = 0; types && i < n; i++) {
        int64_t ty = lf_gguf_arr_int(types, (uint64_t)i);
        if (ty != 2 && ty != 3 && ty != 4) continue;
        lf_gguf_str s = tokens->arr_str[i];
        if (s.len == 0 || tok_utf8_check((const unsigned char *)s.ptr, (size_t)s.len) != s.len) continue;
        if (ty == 2 && unk < 0) unk = i;
        LF_TRY(tok_add_added(t, i, s.ptr, (size_t)s.len, ty != 4, 0, 0, 0, 0));
    }

    if (spm) {
        int add_space;
        LF_TRY(opt_bool(g, "tokenizer.ggml.add_space_prefix", 1, &add_space));
        if (add_space) LF_TRY(set_norm(t, NORM_PREPEND, "\xE2\x96\x81", NULL));
        LF_TRY(set_norm(t, NORM_REPLACE, " ", "\xE2\x96\x81"));
        t->byte_fallback = 1;
        t->dec_byte_fallback = 1;
        t->dec_from_len = 3;
        t->dec_to_len = 1;
        t->dec_from = malloc(4);
        t->dec_to = malloc(2);
        if (!t->dec_from || !t->dec_to) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(t->dec_from, "\xE2\x96\x81", 4);
        memcpy(t->dec_to, " ", 2);
        t->dec_strip_start = add_space ? 1 : 0;
        LF_TRY(tok_merges_from_scores(t));
    } else {
        const lf_gguf_kv *merges = lf_gguf_find(g, "tokenizer.ggml.merges");
        if (!merges) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.merges is missing (needed by a 'gpt2' tokenizer)", t->name);
        if (!key_is_str_array(merges)) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.merges must be an array of strings", t->name);
        LF_TRY(load_merges(t, merges));
        lf_gguf_str pre = {"", 0};
        LF_TRY(lf_gguf_get_str(g, "tokenizer.ggml.pre", 1, &pre));
        char pbuf[64];
        if (pre.len >= sizeof pbuf) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre is too long", t->name);
        memcpy(pbuf, pre.ptr, (size_t)pre.len);
        pbuf[pre.len] = 0;
        if (memchr(pbuf, 0, (size_t)pre.len)) return lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer.ggml.pre contains a NUL byte", t->name);
        LF_TRY(setup_pre(t, pbuf, &def_add_bos));
    }

    t->unk_id = -1;
    int32_t uid = (int32_t)unk;
    LF_TRY(opt_id(t, g, "tokenizer.ggml.unknown_token_id", &uid));
    if (spm) t->unk_id = uid; /* byte-level BPE has no unknown token (every byte has one) */
    LF_TRY(opt_id(t, g, "tokenizer.ggml.bos_token_id", &t->bos));
    LF_TRY(opt_id(t, g, "tokenizer.ggml.eos_token_id", &t->eos));
    LF_TRY(opt_bool(g, "tokenizer.ggml.add_bos_token", def_add_bos, &t->adds_bos));
    return tok_finish(t);
}

lf_status lf_tokenizer_load_gguf(const struct lf_gguf *g, const char *name, lf_tokenizer **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "load_gguf: out is NULL");
    *out = NULL;
    if (!g) return lf_fail(LINFER_ERR_INVALID_ARG, "load_gguf: gguf is NULL");
    lf_tokenizer *t = tok_new(name ? name : "gguf");
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_status s = load(t, g);
    if (s) {
        lf_tokenizer_free(t);
        return s;
    }
    *out = t;
    return LINFER_OK;
}
