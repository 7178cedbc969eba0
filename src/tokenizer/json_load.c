/* json_load.c — builds a tokenizer from an HF tokenizer.json (cJSON).
 *
 * Supported: model BPE (vocab, merges as "a b" strings or [a, b] pairs, byte_fallback, fuse_unk,
 * ignore_merges, unk_token); added_tokens; normalizers Sequence / Prepend / Replace / NFC / NFD /
 * NFKC / NFKD; pre-tokenizers Sequence / Split / Digits / ByteLevel / Metaspace; decoders
 * ByteLevel / Metaspace / Sequence of Replace, ByteFallback, Fuse, Strip; post-processor
 * TemplateProcessing (a leading special token is BOS, added by default). Anything else is refused
 * with LINFER_ERR_UNSUPPORTED naming it. Every field's type is checked; the file is untrusted. */
#include "tok_internal.h"
#include "../core/mapfile.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_BYTES ((size_t)1 << 30)

/* ---- typed field access ----------------------------------------------------------------- */
static const cJSON *field(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static lf_status get_bool(const lf_tokenizer *t, const cJSON *o, const char *key, const char *where, int def, int *v) {
    const cJSON *x = field(o, key);
    if (!x) { *v = def; return LINFER_OK; }
    if (!cJSON_IsBool(x)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.%s must be true or false", t->name, where, key);
    *v = cJSON_IsTrue(x);
    return LINFER_OK;
}

/* *v = NULL when absent or null and optional. */
static lf_status get_str(const lf_tokenizer *t, const cJSON *o, const char *key, const char *where, int required,
                         const char **v) {
    const cJSON *x = field(o, key);
    *v = NULL;
    if (!x) return required ? lf_fail(LINFER_ERR_FORMAT, "%s: %s.%s is missing", t->name, where, key) : LINFER_OK;
    if (!cJSON_IsString(x) || !x->valuestring) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.%s must be a string", t->name, where, key);
    *v = x->valuestring;
    return LINFER_OK;
}

static lf_status get_id(const lf_tokenizer *t, const cJSON *x, const char *what, size_t idx, int32_t *id) {
    if (!cJSON_IsNumber(x)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s[%zu] id must be a number", t->name, what, idx);
    double d = x->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < 0 || d >= TOK_MAX_VOCAB)
        return lf_fail(LINFER_ERR_FORMAT, "%s: %s[%zu] id %g is not an integer in [0, %d)", t->name, what, idx, d, TOK_MAX_VOCAB);
    *id = (int32_t)d;
    return LINFER_OK;
}

static void shown(char *dst, size_t cap, const char *s, size_t n) {
    size_t k = n < cap - 4 ? n : cap - 4;
    /* do not cut a UTF-8 sequence */
    while (k > 0 && k < n && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    snprintf(dst, cap, "%.*s%s", (int)k, s, k < n ? "..." : "");
}

/* ---- model -------------------------------------------------------------------------------- */
static lf_status load_vocab(lf_tokenizer *t, const cJSON *vocab) {
    if (!cJSON_IsObject(vocab)) return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab must be an object of token: id", t->name);
    int32_t max_id = -1;
    size_t n = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, n++) {
        if (n >= TOK_MAX_VOCAB) return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab has more than %d entries", t->name, TOK_MAX_VOCAB);
        int32_t id;
        LF_TRY(get_id(t, e, "model.vocab", n, &id));
        if (!e->string) return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab[%zu] has no key", t->name, n);
        if (id > max_id) max_id = id;
    }
    if (n == 0) return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab is empty", t->name);
    LF_TRY(tok_alloc_vocab(t, max_id + 1, 0));
    n = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, n++) {
        int32_t id = (int32_t)e->valuedouble;
        size_t len = strlen(e->string);
        if (tok_utf8_check((const unsigned char *)e->string, len) != len)
            return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab entry %d is not valid UTF-8", t->name, id);
        lf_status s = tok_set_token(t, id, e->string, len, 0);
        if (s) return s;
    }
    return tok_build_vmap(t, 0);
}

static lf_status load_merges(lf_tokenizer *t, const cJSON *merges) {
    if (!merges) return tok_pairmap_init(&t->merges, 0);
    if (!cJSON_IsArray(merges)) return lf_fail(LINFER_ERR_FORMAT, "%s: model.merges must be an array", t->name);
    size_t n = 0;
    for (const cJSON *e = merges->child; e; e = e->next) {
        if (++n > TOK_MAX_MERGES) return lf_fail(LINFER_ERR_FORMAT, "%s: model.merges has more than %d entries", t->name, TOK_MAX_MERGES);
    }
    LF_TRY(tok_pairmap_init(&t->merges, n));
    char *cat = malloc(2 * TOK_MAX_TEXT + 2);
    if (!cat) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", t->name);
    lf_status st = LINFER_OK;
    size_t i = 0;
    for (const cJSON *e = merges->child; e && !st; e = e->next, i++) {
        const char *a, *b;
        size_t la, lb;
        if (cJSON_IsString(e) && e->valuestring) {
            const char *s = e->valuestring;
            const char *sp = strchr(s, ' ');
            if (!sp || sp == s || strchr(sp + 1, ' ') || !sp[1]) {
                char sh[64];
                shown(sh, sizeof sh, s, strlen(s));
                st = lf_fail(LINFER_ERR_FORMAT, "%s: model.merges[%zu] '%s' is not two tokens separated by one space", t->name, i, sh);
                break;
            }
            a = s; la = (size_t)(sp - s);
            b = sp + 1; lb = strlen(b);
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) &&
                   cJSON_IsString(e->child->next) && e->child->valuestring && e->child->next->valuestring) {
            a = e->child->valuestring; la = strlen(a);
            b = e->child->next->valuestring; lb = strlen(b);
        } else {
            st = lf_fail(LINFER_ERR_FORMAT, "%s: model.merges[%zu] must be a string \"a b\" or a pair of strings", t->name, i);
            break;
        }
        int32_t ia = tok_vocab_find(t, a, la), ib = tok_vocab_find(t, b, lb);
        if (ia < 0 || ib < 0) {
            char sh[64];
            shown(sh, sizeof sh, ia < 0 ? a : b, ia < 0 ? la : lb);
            st = lf_fail(LINFER_ERR_FORMAT, "%s: model.merges[%zu] references unknown token '%s'", t->name, i, sh);
            break;
        }
        if (la + lb > TOK_MAX_TEXT) {
            st = lf_fail(LINFER_ERR_FORMAT, "%s: model.merges[%zu] makes a token longer than %d bytes", t->name, i, TOK_MAX_TEXT);
            break;
        }
        memcpy(cat, a, la);
        memcpy(cat + la, b, lb);
        int32_t im = tok_vocab_find(t, cat, la + lb);
        if (im < 0) {
            char sh[64];
            shown(sh, sizeof sh, cat, la + lb);
            st = lf_fail(LINFER_ERR_FORMAT, "%s: model.merges[%zu] makes '%s', which is not in the vocabulary", t->name, i, sh);
            break;
        }
        tok_pairmap_put(&t->merges, (uint32_t)ia, (uint32_t)ib, (int32_t)i, im);
    }
    free(cat);
    return st;
}

static lf_status load_model(lf_tokenizer *t, const cJSON *model) {
    if (!cJSON_IsObject(model)) return lf_fail(LINFER_ERR_FORMAT, "%s: \"model\" must be an object", t->name);
    const char *type;
    LF_TRY(get_str(t, model, "type", "model", 0, &type));
    if (type && strcmp(type, "BPE") != 0)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: model type '%s' is not supported (only BPE)", t->name, type);
    const cJSON *vocab = field(model, "vocab");
    if (!vocab) return lf_fail(LINFER_ERR_FORMAT, "%s: model.vocab is missing", t->name);
    LF_TRY(load_vocab(t, vocab));
    LF_TRY(get_bool(t, model, "byte_fallback", "model", 0, &t->byte_fallback));
    LF_TRY(get_bool(t, model, "fuse_unk", "model", 0, &t->fuse_unk));
    LF_TRY(get_bool(t, model, "ignore_merges", "model", 0, &t->ignore_merges));
    const char *unk;
    LF_TRY(get_str(t, model, "unk_token", "model", 0, &unk));
    if (unk) {
        t->unk_id = tok_vocab_find(t, unk, strlen(unk));
        if (t->unk_id < 0) {
            char sh[64];
            shown(sh, sizeof sh, unk, strlen(unk));
            return lf_fail(LINFER_ERR_FORMAT, "%s: model.unk_token '%s' is not in the vocabulary", t->name, sh);
        }
    }
    const cJSON *dropout = field(model, "dropout");
    if (dropout) {
        if (!cJSON_IsNumber(dropout)) return lf_fail(LINFER_ERR_FORMAT, "%s: model.dropout must be a number or null", t->name);
        if (dropout->valuedouble != 0) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: model.dropout %g is not supported", t->name, dropout->valuedouble);
    }
    static const char *affix[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const char *v;
        LF_TRY(get_str(t, model, affix[i], "model", 0, &v));
        if (v && *v) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: model.%s '%s' is not supported", t->name, affix[i], v);
    }
    return load_merges(t, field(model, "merges"));
}

/* HF does not take an added token's "id" from the file: it adds the tokens in order, and a token
 * gets the id of the same text in the model vocabulary (or of an earlier added token), else the
 * next free id after the model vocabulary and the added tokens so far. Mirror that. */
static lf_status load_added_list(lf_tokenizer *t, const cJSON *arr, tok_strmap *seen, tok_str **keys) {
    int32_t n_model = 0, max_added = -1;
    for (int32_t i = 0; i < t->n_vocab; i++) n_model += t->vocab[i].present;
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        if (!cJSON_IsObject(e)) return lf_fail(LINFER_ERR_FORMAT, "%s: added_tokens[%zu] must be an object", t->name, i);
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        const cJSON *idj = field(e, "id");
        if (!idj) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.id is missing", t->name, where);
        int32_t file_id;
        LF_TRY(get_id(t, idj, "added_tokens", i, &file_id));
        const char *content;
        LF_TRY(get_str(t, e, "content", where, 1, &content));
        int special, lstrip, rstrip, single, normalized;
        LF_TRY(get_bool(t, e, "special", where, 0, &special));
        LF_TRY(get_bool(t, e, "lstrip", where, 0, &lstrip));
        LF_TRY(get_bool(t, e, "rstrip", where, 0, &rstrip));
        LF_TRY(get_bool(t, e, "single_word", where, 0, &single));
        LF_TRY(get_bool(t, e, "normalized", where, !special, &normalized));
        size_t len = strlen(content);
        if (len == 0) return lf_fail(LINFER_ERR_FORMAT, "%s: %s has empty content", t->name, where);
        uint32_t h = tok_hash(content, len);
        if (tok_strmap_find(seen, t, *keys, content, len, h) >= 0) continue; /* added before: HF keeps the first */
        int32_t id = tok_vocab_find(t, content, len);
        if (id < 0) id = max_added >= n_model ? max_added + 1 : n_model;
        if (id >= TOK_MAX_VOCAB) return lf_fail(LINFER_ERR_FORMAT, "%s: %s would get id %d (limit %d)", t->name, where, id, TOK_MAX_VOCAB);
        if (id > max_added) max_added = id;
        LF_TRY(tok_add_added(t, id, content, len, special, lstrip, rstrip, single, normalized));
        (*keys)[t->n_added - 1] = t->added[t->n_added - 1].content;
        (void)tok_strmap_insert(seen, t, *keys, t->n_added - 1, 0);
    }
    return LINFER_OK;
}

static lf_status load_added(lf_tokenizer *t, const cJSON *arr) {
    if (!arr) return LINFER_OK;
    if (!cJSON_IsArray(arr)) return lf_fail(LINFER_ERR_FORMAT, "%s: added_tokens must be an array", t->name);
    size_t n = 0;
    for (const cJSON *e = arr->child; e; e = e->next)
        if (++n > TOK_MAX_ADDED) return lf_fail(LINFER_ERR_FORMAT, "%s: more than %d added tokens", t->name, TOK_MAX_ADDED);
    tok_strmap seen = {0};
    tok_str *keys = malloc((n + 1) * sizeof *keys);
    if (!keys) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", t->name);
    lf_status s = tok_strmap_init(&seen, n);
    if (!s) s = load_added_list(t, arr, &seen, &keys);
    tok_strmap_free(&seen);
    free(keys);
    return s;
}

/* ---- pattern {"String": s} | {"Regex": r} ------------------------------------------------- */
static lf_status get_pattern(lf_tokenizer *t, const cJSON *o, const char *where, const char **pat, int *is_regex) {
    const cJSON *p = field(o, "pattern");
    if (!p || !cJSON_IsObject(p)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.pattern must be an object", t->name, where);
    const char *s;
    LF_TRY(get_str(t, p, "String", where, 0, &s));
    if (s) { *pat = s; *is_regex = 0; return LINFER_OK; }
    LF_TRY(get_str(t, p, "Regex", where, 0, &s));
    if (s) { *pat = s; *is_regex = 1; return LINFER_OK; }
    return lf_fail(LINFER_ERR_FORMAT, "%s: %s.pattern needs \"String\" or \"Regex\"", t->name, where);
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* ---- normalizer --------------------------------------------------------------------------- */
static lf_status load_normalizer(lf_tokenizer *t, const cJSON *o, const char *where, int depth) {
    if (!o) return LINFER_OK;
    if (!cJSON_IsObject(o)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s must be an object or null", t->name, where);
    if (depth > TOK_MAX_NEST) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s nests Sequences too deeply", t->name, where);
    const char *type;
    LF_TRY(get_str(t, o, "type", where, 1, &type));
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = field(o, "normalizers");
        if (!arr || !cJSON_IsArray(arr)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.normalizers must be an array", t->name, where);
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char w[96];
            snprintf(w, sizeof w, "%s.normalizers[%zu]", where, i);
            LF_TRY(load_normalizer(t, e, w, depth + 1));
        }
        return LINFER_OK;
    }
    if (t->n_norm >= TOK_MAX_STEPS) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: more than %d normalizers", t->name, TOK_MAX_STEPS);
    /* normalizer output feeds the regex engine unchecked: its strings must be valid UTF-8 */
    static const char *const str_fields[] = {"prepend", "content"};
    for (int k = 0; k < 2; k++) {
        const cJSON *x = field(o, str_fields[k]);
        if (x && cJSON_IsString(x) && x->valuestring &&
            tok_utf8_check((const unsigned char *)x->valuestring, strlen(x->valuestring)) != strlen(x->valuestring))
            return lf_fail(LINFER_ERR_FORMAT, "%s: %s.%s is not valid UTF-8", t->name, where, str_fields[k]);
    }
    tok_norm_step *st = &t->norm[t->n_norm];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "Prepend")) {
        const char *p;
        LF_TRY(get_str(t, o, "prepend", where, 1, &p));
        st->kind = NORM_PREPEND;
        st->a_len = strlen(p);
        if (!(st->a = dupn(p, st->a_len))) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (!strcmp(type, "Replace")) {
        const char *pat, *content;
        int is_re;
        LF_TRY(get_pattern(t, o, where, &pat, &is_re));
        LF_TRY(get_str(t, o, "content", where, 1, &content));
        st->b_len = strlen(content);
        if (!(st->b = dupn(content, st->b_len))) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
        if (is_re) {
            st->kind = NORM_REPLACE_RE;
            t->n_norm++; /* owned from here on, freed with the tokenizer */
            return tok_regex_compile(t, pat, strlen(pat), 0, where, &st->re);
        }
        if (!*pat || tok_utf8_check((const unsigned char *)pat, strlen(pat)) != strlen(pat)) {
            free(st->b);
            st->b = NULL;
            return lf_fail(LINFER_ERR_FORMAT, "%s: %s pattern is empty or not valid UTF-8", t->name, where);
        }
        st->kind = NORM_REPLACE;
        st->a_len = strlen(pat);
        if (!(st->a = dupn(pat, st->a_len))) { free(st->b); st->b = NULL; return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    } else if (!strcmp(type, "NFC")) st->kind = NORM_NFC;
    else if (!strcmp(type, "NFD")) st->kind = NORM_NFD;
    else if (!strcmp(type, "NFKC")) st->kind = NORM_NFKC;
    else if (!strcmp(type, "NFKD")) st->kind = NORM_NFKD;
    else return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s type '%s' is not supported", t->name, where, type);
    t->n_norm++;
    return LINFER_OK;
}

/* ---- pre-tokenizer ------------------------------------------------------------------------ */
static lf_status add_pt(lf_tokenizer *t, const char *where, tok_pt_step **out) {
    if (t->n_pt >= TOK_MAX_STEPS) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s: more than %d pre-tokenizers", t->name, where, TOK_MAX_STEPS);
    *out = &t->pt[t->n_pt++];
    memset(*out, 0, sizeof **out);
    return LINFER_OK;
}

static lf_status load_pretok(lf_tokenizer *t, const cJSON *o, const char *where, int depth) {
    if (!o) return LINFER_OK;
    if (!cJSON_IsObject(o)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s must be an object or null", t->name, where);
    if (depth > TOK_MAX_NEST) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s nests Sequences too deeply", t->name, where);
    const char *type;
    LF_TRY(get_str(t, o, "type", where, 1, &type));
    tok_pt_step *st = NULL;
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = field(o, "pretokenizers");
        if (!arr || !cJSON_IsArray(arr)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.pretokenizers must be an array", t->name, where);
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char w[96];
            snprintf(w, sizeof w, "%s.pretokenizers[%zu]", where, i);
            LF_TRY(load_pretok(t, e, w, depth + 1));
        }
        return LINFER_OK;
    }
    if (!strcmp(type, "Split")) {
        const char *pat, *beh;
        int is_re, invert;
        LF_TRY(get_pattern(t, o, where, &pat, &is_re));
        LF_TRY(get_str(t, o, "behavior", where, 1, &beh));
        LF_TRY(get_bool(t, o, "invert", where, 0, &invert));
        int b;
        if (!strcmp(beh, "Removed")) b = SPLIT_REMOVED;
        else if (!strcmp(beh, "Isolated")) b = SPLIT_ISOLATED;
        else if (!strcmp(beh, "MergedWithPrevious")) b = SPLIT_MERGED_PREV;
        else if (!strcmp(beh, "MergedWithNext")) b = SPLIT_MERGED_NEXT;
        else if (!strcmp(beh, "Contiguous")) b = SPLIT_CONTIGUOUS;
        else return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s.behavior '%s' is not supported", t->name, where, beh);
        if (!*pat) return lf_fail(LINFER_ERR_FORMAT, "%s: %s has an empty pattern", t->name, where);
        LF_TRY(add_pt(t, where, &st));
        st->kind = PT_SPLIT;
        st->behavior = b;
        st->invert = invert;
        return tok_regex_compile(t, pat, strlen(pat), !is_re, where, &st->re);
    }
    if (!strcmp(type, "Digits")) {
        int individual;
        LF_TRY(get_bool(t, o, "individual_digits", where, 0, &individual));
        LF_TRY(add_pt(t, where, &st));
        st->kind = PT_SPLIT;
        st->behavior = SPLIT_ISOLATED;
        const char *re = individual ? "\\p{N}" : "\\p{N}+";
        return tok_regex_compile(t, re, strlen(re), 0, where, &st->re);
    }
    if (!strcmp(type, "ByteLevel")) {
        int aps, use_regex;
        LF_TRY(get_bool(t, o, "add_prefix_space", where, 1, &aps));
        LF_TRY(get_bool(t, o, "use_regex", where, 1, &use_regex));
        LF_TRY(add_pt(t, where, &st));
        st->kind = PT_BYTELEVEL;
        st->add_prefix_space = aps;
        t->byte_level = 1;
        if (use_regex) return tok_regex_compile(t, TOK_RE_GPT2, strlen(TOK_RE_GPT2), 0, where, &st->re);
        return LINFER_OK;
    }
    if (!strcmp(type, "Metaspace")) {
        const char *repl, *scheme;
        int split, aps;
        LF_TRY(get_str(t, o, "replacement", where, 1, &repl));
        size_t rl = strlen(repl);
        if (rl == 0 || rl > 4 || tok_utf8_check((const unsigned char *)repl, rl) != rl || tok_utf8_len((unsigned char)repl[0]) != (int)rl)
            return lf_fail(LINFER_ERR_FORMAT, "%s: %s.replacement must be one character", t->name, where);
        LF_TRY(get_str(t, o, "prepend_scheme", where, 0, &scheme));
        LF_TRY(get_bool(t, o, "add_prefix_space", where, 1, &aps));
        LF_TRY(get_bool(t, o, "split", where, 1, &split));
        int ps = aps ? PREPEND_ALWAYS : PREPEND_NEVER;
        if (scheme) {
            if (!strcmp(scheme, "always")) ps = PREPEND_ALWAYS;
            else if (!strcmp(scheme, "first")) ps = PREPEND_FIRST;
            else if (!strcmp(scheme, "never")) ps = PREPEND_NEVER;
            else return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s.prepend_scheme '%s' is not supported", t->name, where, scheme);
        }
        LF_TRY(add_pt(t, where, &st));
        st->kind = PT_METASPACE;
        memcpy(st->repl, repl, rl);
        st->repl_len = (int)rl;
        st->prepend_scheme = ps;
        st->split = split;
        if (split) return tok_regex_compile(t, repl, rl, 1, where, &st->re);
        return LINFER_OK;
    }
    return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s type '%s' is not supported", t->name, where, type);
}

/* ---- decoder ------------------------------------------------------------------------------ */
static lf_status set_dec_replace(lf_tokenizer *t, const char *where, const char *from, const char *to) {
    if (t->dec_from) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s: only one Replace decoder is supported", t->name, where);
    if (!*from) return lf_fail(LINFER_ERR_FORMAT, "%s: %s has an empty pattern", t->name, where);
    /* a token never decodes to more bytes than its text (LF_TOK_DECODE_MAX relies on it) */
    if (strlen(to) > strlen(from))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s: a Replace decoder that lengthens text ('%.16s' -> %zu bytes) is not supported",
                       t->name, where, from, strlen(to));
    t->dec_from_len = strlen(from);
    t->dec_to_len = strlen(to);
    t->dec_from = dupn(from, t->dec_from_len);
    t->dec_to = dupn(to, t->dec_to_len);
    if (!t->dec_from || !t->dec_to) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    return LINFER_OK;
}

static lf_status load_decoder(lf_tokenizer *t, const cJSON *o, const char *where, int depth) {
    if (!o) return LINFER_OK;
    if (!cJSON_IsObject(o)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s must be an object or null", t->name, where);
    if (depth > TOK_MAX_NEST) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s nests Sequences too deeply", t->name, where);
    const char *type;
    LF_TRY(get_str(t, o, "type", where, 1, &type));
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = field(o, "decoders");
        if (!arr || !cJSON_IsArray(arr)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.decoders must be an array", t->name, where);
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            if (i >= TOK_MAX_STEPS) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s has too many decoders", t->name, where);
            char w[96];
            snprintf(w, sizeof w, "%s.decoders[%zu]", where, i);
            LF_TRY(load_decoder(t, e, w, depth + 1));
        }
        return LINFER_OK;
    }
    if (!strcmp(type, "ByteLevel")) { t->dec_byte_level = 1; return LINFER_OK; }
    if (!strcmp(type, "ByteFallback")) { t->dec_byte_fallback = 1; return LINFER_OK; }
    if (!strcmp(type, "Fuse")) return LINFER_OK;
    if (!strcmp(type, "Replace")) {
        const char *pat, *content;
        int is_re;
        LF_TRY(get_pattern(t, o, where, &pat, &is_re));
        LF_TRY(get_str(t, o, "content", where, 1, &content));
        if (is_re) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s: a regex Replace decoder is not supported", t->name, where);
        return set_dec_replace(t, where, pat, content);
    }
    if (!strcmp(type, "Strip")) {
        const char *content;
        LF_TRY(get_str(t, o, "content", where, 1, &content));
        const cJSON *start = field(o, "start"), *stop = field(o, "stop");
        if (!start || !cJSON_IsNumber(start) || start->valuedouble < 0 || start->valuedouble > 64 ||
            (stop && (!cJSON_IsNumber(stop) || stop->valuedouble < 0)))
            return lf_fail(LINFER_ERR_FORMAT, "%s: %s needs numeric start/stop", t->name, where);
        if (strcmp(content, " ") != 0 || (stop && stop->valuedouble != 0))
            return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s: only stripping leading spaces is supported", t->name, where);
        t->dec_strip_start = (int)start->valuedouble;
        return LINFER_OK;
    }
    if (!strcmp(type, "Metaspace")) {
        const char *repl, *scheme;
        int aps;
        LF_TRY(get_str(t, o, "replacement", where, 1, &repl));
        LF_TRY(get_str(t, o, "prepend_scheme", where, 0, &scheme));
        LF_TRY(get_bool(t, o, "add_prefix_space", where, 1, &aps));
        LF_TRY(set_dec_replace(t, where, repl, " "));
        int strip = scheme ? strcmp(scheme, "never") != 0 : aps;
        t->dec_strip_start = strip ? 1 : 0;
        return LINFER_OK;
    }
    return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s type '%s' is not supported", t->name, where, type);
}

/* ---- post-processor: BOS from TemplateProcessing ------------------------------------------ */
static lf_status load_post(lf_tokenizer *t, const cJSON *o, const char *where, int depth) {
    if (!o) return LINFER_OK;
    if (!cJSON_IsObject(o)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s must be an object or null", t->name, where);
    if (depth > TOK_MAX_NEST) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s nests Sequences too deeply", t->name, where);
    const char *type;
    LF_TRY(get_str(t, o, "type", where, 1, &type));
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = field(o, "processors");
        if (!arr || !cJSON_IsArray(arr)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.processors must be an array", t->name, where);
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char w[96];
            snprintf(w, sizeof w, "%s.processors[%zu]", where, i);
            LF_TRY(load_post(t, e, w, depth + 1));
        }
        return LINFER_OK;
    }
    if (strcmp(type, "TemplateProcessing") != 0) return LINFER_OK; /* ByteLevel, Roberta, ...: no BOS */
    const cJSON *single = field(o, "single");
    if (!single || !cJSON_IsArray(single)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.single must be an array", t->name, where);
    const cJSON *first = single->child;
    if (!first) return LINFER_OK;
    if (!cJSON_IsObject(first)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.single[0] must be an object", t->name, where);
    const cJSON *sp = field(first, "SpecialToken");
    if (!sp) return LINFER_OK; /* starts with the sequence: no BOS */
    if (!cJSON_IsObject(sp)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.single[0].SpecialToken must be an object", t->name, where);
    const char *name;
    LF_TRY(get_str(t, sp, "id", where, 1, &name));
    int32_t id = -1;
    const cJSON *map = field(o, "special_tokens");
    if (map && !cJSON_IsObject(map)) return lf_fail(LINFER_ERR_FORMAT, "%s: %s.special_tokens must be an object", t->name, where);
    const cJSON *ent = map ? field(map, name) : NULL;
    if (ent) {
        const cJSON *ids = cJSON_IsObject(ent) ? field(ent, "ids") : NULL;
        if (!ids || !cJSON_IsArray(ids) || !ids->child)
            return lf_fail(LINFER_ERR_FORMAT, "%s: %s.special_tokens['%s'].ids must be a non-empty array", t->name, where, name);
        LF_TRY(get_id(t, ids->child, "special_tokens.ids", 0, &id));
    } else {
        id = lf_tokenizer_find(t, name);
    }
    if (id < 0 || id >= t->n_vocab)
        return lf_fail(LINFER_ERR_FORMAT, "%s: %s: special token '%s' is not in the vocabulary", t->name, where, name);
    t->bos = id;
    t->adds_bos = 1;
    return LINFER_OK;
}

/* ---- top level ---------------------------------------------------------------------------- */
static lf_status load_root(lf_tokenizer *t, const cJSON *root) {
    if (!cJSON_IsObject(root)) return lf_fail(LINFER_ERR_FORMAT, "%s: top level must be a JSON object", t->name);
    const cJSON *model = field(root, "model");
    if (!model) return lf_fail(LINFER_ERR_FORMAT, "%s: \"model\" is missing", t->name);
    LF_TRY(load_model(t, model));
    LF_TRY(load_added(t, field(root, "added_tokens")));
    LF_TRY(load_normalizer(t, field(root, "normalizer"), "normalizer", 0));
    LF_TRY(load_pretok(t, field(root, "pre_tokenizer"), "pre_tokenizer", 0));
    for (int i = 0; i + 1 < t->n_pt; i++)
        if (t->pt[i].kind == PT_BYTELEVEL)
            return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: pre_tokenizer: ByteLevel must be the last step", t->name);
    LF_TRY(load_decoder(t, field(root, "decoder"), "decoder", 0));
    /* the finishing step sorts added tokens; find() below needs the maps, so finish twice */
    LF_TRY(tok_finish(t));
    LF_TRY(load_post(t, field(root, "post_processor"), "post_processor", 0));
    if (t->bos < 0) {
        static const char *bos_names[] = {"<s>", "<|begin_of_text|>"};
        for (size_t i = 0; i < 2 && t->bos < 0; i++) t->bos = lf_tokenizer_find(t, bos_names[i]);
    }
    static const char *eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>"};
    for (size_t i = 0; i < 3 && t->eos < 0; i++) t->eos = lf_tokenizer_find(t, eos_names[i]);
    return tok_finish(t);
}

lf_status lf_tokenizer_load_json_buf(const char *json, size_t len, const char *name, lf_tokenizer **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "load_json: out is NULL");
    *out = NULL;
    if (!name) name = "tokenizer.json";
    if (!json && len) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: NULL buffer", name);
    if (len > JSON_MAX_BYTES) return lf_fail(LINFER_ERR_FORMAT, "%s: %zu bytes is more than the limit of %zu", name, len, JSON_MAX_BYTES);
    cJSON *root = cJSON_ParseWithLength(json ? json : "", len);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        size_t off = e && e >= json && e <= json + len ? (size_t)(e - json) : len;
        return lf_fail(LINFER_ERR_FORMAT, "%s: not valid JSON (error near byte %zu)", name, off);
    }
    lf_tokenizer *t = tok_new(name);
    if (!t) {
        cJSON_Delete(root);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    lf_status s = load_root(t, root);
    cJSON_Delete(root);
    if (s) {
        lf_tokenizer_free(t);
        return s;
    }
    *out = t;
    return LINFER_OK;
}

lf_status lf_tokenizer_load_json(const char *path, lf_tokenizer **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "load_json: out is NULL");
    *out = NULL;
    if (!path) return lf_fail(LINFER_ERR_INVALID_ARG, "load_json: path is NULL");
    char *buf = NULL;
    size_t len = 0;
    LF_TRY(lf_read_file(path, JSON_MAX_BYTES, &buf, &len));
    lf_status s = lf_tokenizer_load_json_buf(buf, len, path, out);
    free(buf);
    return s;
}
