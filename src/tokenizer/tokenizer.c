/* tokenizer.c — the tokenizer object: token-text arena, the open-addressing string -> id map,
 * vocabulary and added (special) tokens, final assembly after a loader filled it in, the small
 * query API (sizes, BOS/EOS, find) and the top-level encode entry point (UTF-8 check, BOS). */
#include "tok_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing -------------------------------------------------------------------------------- */
uint32_t tok_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

const char *tok_text(const lf_tokenizer *t, tok_str s) { return t->arena.buf + s.off; }

lf_status tok_strmap_init(tok_strmap *m, size_t n) {
    size_t cap = 16;
    while (cap < n * 2 + 1) cap <<= 1;
    m->slots = malloc(cap * sizeof *m->slots);
    m->hash = malloc(cap * sizeof *m->hash);
    if (!m->slots || !m->hash) {
        free(m->slots); free(m->hash);
        m->slots = NULL; m->hash = NULL;
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for a %zu-entry token map", n);
    }
    memset(m->slots, 0xff, cap * sizeof *m->slots);
    m->mask = cap - 1;
    m->n = 0;
    return LINFER_OK;
}

void tok_strmap_free(tok_strmap *m) {
    free(m->slots); free(m->hash);
    m->slots = NULL; m->hash = NULL;
}

int32_t tok_strmap_find(const tok_strmap *m, const lf_tokenizer *t, const tok_str *keys, const char *s,
                           size_t n, uint32_t h) {
    if (!m->slots) return -1;
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        int32_t v = m->slots[i];
        if (v < 0) return -1;
        if (m->hash[i] == h && keys[v].len == n && memcmp(tok_text(t, keys[v]), s, n) == 0) return v;
    }
}

/* Insert keys[idx]; if the string is already there: replace (last wins) when replace, and
 * return the index that was there; else return -1. */
int32_t tok_strmap_insert(tok_strmap *m, const lf_tokenizer *t, const tok_str *keys, int32_t idx, int replace) {
    const char *s = tok_text(t, keys[idx]);
    size_t n = keys[idx].len;
    uint32_t h = tok_hash(s, n);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        int32_t v = m->slots[i];
        if (v < 0) {
            m->slots[i] = idx;
            m->hash[i] = h;
            m->n++;
            return -1;
        }
        if (m->hash[i] == h && keys[v].len == n && memcmp(tok_text(t, keys[v]), s, n) == 0) {
            if (replace) m->slots[i] = idx;
            return v;
        }
    }
}

/* ---- construction --------------------------------------------------------------------------- */
lf_tokenizer *tok_new(const char *name) {
    lf_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->name = strdup(name ? name : "tokenizer");
    if (!t->name) { free(t); return NULL; }
    t->unk_id = -1;
    t->bos = t->eos = -1;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    return t;
}

lf_status tok_arena_add(lf_tokenizer *t, const char *s, size_t n, tok_str *out) {
    if (n > TOK_MAX_TEXT) return lf_fail(LINFER_ERR_FORMAT, "%s: token of %zu bytes (limit %d)", t->name, n, TOK_MAX_TEXT);
    tok_arena *a = &t->arena;
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1) cap *= 2;
        if (cap > TOK_MAX_ARENA) return lf_fail(LINFER_ERR_FORMAT, "%s: token texts exceed %zu bytes in total", t->name, (size_t)TOK_MAX_ARENA);
        char *nb = realloc(a->buf, cap);
        if (!nb) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for token texts (%zu bytes)", t->name, cap);
        a->buf = nb;
        a->cap = cap;
    }
    if (n) memcpy(a->buf + a->len, s, n);
    a->buf[a->len + n] = 0;
    out->off = a->len;
    out->len = (uint32_t)n;
    out->present = 1;
    a->len += n + 1;
    return LINFER_OK;
}

lf_status tok_alloc_vocab(lf_tokenizer *t, int32_t n, int with_scores) {
    if (n < 0 || n > TOK_MAX_VOCAB) return lf_fail(LINFER_ERR_FORMAT, "%s: vocabulary of %d tokens (limit %d)", t->name, n, TOK_MAX_VOCAB);
    t->vocab = calloc((size_t)n + 1, sizeof *t->vocab);
    if (!t->vocab) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for %d tokens", t->name, n);
    if (with_scores) {
        t->scores = calloc((size_t)n + 1, sizeof *t->scores);
        if (!t->scores) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for %d scores", t->name, n);
    }
    t->n_vocab = n;
    return LINFER_OK;
}

lf_status tok_grow_vocab(lf_tokenizer *t, int32_t n) {
    if (n <= t->n_vocab) return LINFER_OK;
    if (n > TOK_MAX_VOCAB) return lf_fail(LINFER_ERR_FORMAT, "%s: token id %d out of range (limit %d)", t->name, n - 1, TOK_MAX_VOCAB);
    tok_str *v = realloc(t->vocab, ((size_t)n + 1) * sizeof *v);
    if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for %d tokens", t->name, n);
    memset(v + t->n_vocab, 0, ((size_t)n + 1 - (size_t)t->n_vocab) * sizeof *v);
    t->vocab = v;
    if (t->scores) {
        float *sc = realloc(t->scores, ((size_t)n + 1) * sizeof *sc);
        if (!sc) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for %d scores", t->name, n);
        memset(sc + t->n_vocab, 0, ((size_t)n + 1 - (size_t)t->n_vocab) * sizeof *sc);
        t->scores = sc;
    }
    t->n_vocab = n;
    return LINFER_OK;
}

lf_status tok_set_token(lf_tokenizer *t, int32_t id, const char *s, size_t n, int allow_dup) {
    (void)allow_dup;
    if (id < 0 || id >= t->n_vocab) return lf_fail(LINFER_ERR_FORMAT, "%s: token id %d out of range", t->name, id);
    if (t->vocab[id].present) return lf_fail(LINFER_ERR_FORMAT, "%s: token id %d is used twice", t->name, id);
    return tok_arena_add(t, s, n, &t->vocab[id]);
}

lf_status tok_build_vmap(lf_tokenizer *t, int allow_dup) {
    tok_strmap_free(&t->vmap);
    LF_TRY(tok_strmap_init(&t->vmap, (size_t)t->n_vocab));
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->vocab[id].present) continue;
        int32_t old = tok_strmap_insert(&t->vmap, t, t->vocab, id, allow_dup);
        if (old >= 0 && !allow_dup) {
            char shown[64];
            snprintf(shown, sizeof shown, "%.*s", (int)(t->vocab[id].len < 48 ? t->vocab[id].len : 48), tok_text(t, t->vocab[id]));
            return lf_fail(LINFER_ERR_FORMAT, "%s: token '%s' appears twice in the vocabulary (ids %d and %d)", t->name, shown, old, id);
        }
    }
    return LINFER_OK;
}

int32_t tok_vocab_find(const lf_tokenizer *t, const char *s, size_t n) {
    return tok_strmap_find(&t->vmap, t, t->vocab, s, n, tok_hash(s, n));
}

lf_status tok_add_added(lf_tokenizer *t, int32_t id, const char *s, size_t n, int special, int lstrip, int rstrip,
                        int single_word, int normalized) {
    if (id < 0 || id >= TOK_MAX_VOCAB) return lf_fail(LINFER_ERR_FORMAT, "%s: added token id %d out of range", t->name, id);
    if (n == 0) return lf_fail(LINFER_ERR_FORMAT, "%s: added token %d has empty content", t->name, id);
    if (t->n_added >= TOK_MAX_ADDED) return lf_fail(LINFER_ERR_FORMAT, "%s: more than %d added tokens", t->name, TOK_MAX_ADDED);
    if (tok_utf8_check((const unsigned char *)s, n) != n)
        return lf_fail(LINFER_ERR_FORMAT, "%s: added token %d is not valid UTF-8", t->name, id);
    if ((t->n_added & (t->n_added - 1)) == 0) { /* grow at powers of two */
        size_t cap = t->n_added ? (size_t)t->n_added * 2 : 16;
        tok_added *na = realloc(t->added, cap * sizeof *na);
        if (!na) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory for added tokens", t->name);
        t->added = na;
    }
    tok_added *a = &t->added[t->n_added];
    memset(a, 0, sizeof *a);
    a->id = id;
    LF_TRY(tok_arena_add(t, s, n, &a->content));
    a->special = !!special; a->lstrip = !!lstrip; a->rstrip = !!rstrip;
    a->single_word = !!single_word; a->normalized = !!normalized;
    t->n_added++;
    return tok_grow_vocab(t, id + 1);
}

static int cmp_added(const void *x, const void *y) {
    const tok_added *a = x, *b = y;
    if (a->content.len != b->content.len) return a->content.len > b->content.len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

lf_status tok_finish(lf_tokenizer *t) {
    if (t->n_vocab <= 0) return lf_fail(LINFER_ERR_FORMAT, "%s: empty vocabulary", t->name);
    if (t->n_added > 1) qsort(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added);
    free(t->added_of_id);
    free(t->added_by_byte);
    tok_strmap_free(&t->amap);
    t->added_of_id = malloc((size_t)t->n_vocab * sizeof *t->added_of_id);
    t->added_by_byte = malloc(((size_t)t->n_added + 1) * sizeof *t->added_by_byte);
    if (!t->added_of_id || !t->added_by_byte) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", t->name);
    for (int32_t i = 0; i < t->n_vocab; i++) t->added_of_id[i] = -1;
    LF_TRY(tok_strmap_init(&t->amap, (size_t)t->n_added));
    /* the content map and id map: with duplicates the later entry in the file wins; added[] is
     * sorted longest-first, ties by id, so "later" means the larger id there */
    for (int32_t i = 0; i < t->n_added; i++) {
        tok_added *a = &t->added[i];
        if (t->added_of_id[a->id] >= 0) return lf_fail(LINFER_ERR_FORMAT, "%s: added token id %d is used twice", t->name, a->id);
        t->added_of_id[a->id] = i;
    }
    /* amap over the contents (the map helper takes a key array: make one) */
    tok_str *keys = malloc(((size_t)t->n_added + 1) * sizeof *keys);
    if (!keys) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", t->name);
    for (int32_t i = 0; i < t->n_added; i++) keys[i] = t->added[i].content;
    for (int32_t i = 0; i < t->n_added; i++) (void)tok_strmap_insert(&t->amap, t, keys, i, 1);
    free(keys);
    /* buckets by first byte, keeping the longest-first order inside each */
    int32_t count[257] = {0};
    for (int32_t i = 0; i < t->n_added; i++) {
        tok_added *a = &t->added[i];
        count[(unsigned char)tok_text(t, a->content)[0]]++;
        if (a->normalized) t->has_normalized_added = 1;
        else t->has_raw_added = 1;
    }
    t->added_bucket[0] = 0;
    for (int b = 0; b < 256; b++) t->added_bucket[b + 1] = t->added_bucket[b] + count[b];
    int32_t fill[256];
    for (int b = 0; b < 256; b++) fill[b] = t->added_bucket[b];
    for (int32_t i = 0; i < t->n_added; i++)
        t->added_by_byte[fill[(unsigned char)tok_text(t, t->added[i].content)[0]]++] = i;

    /* byte tables */
    for (int b = 0; b < 256; b++) {
        char buf[8];
        int n;
        if (t->byte_level) n = tok_utf8_encode(tok_byte_to_cp((unsigned char)b), buf);
        else n = snprintf(buf, sizeof buf, "<0x%02X>", b);
        t->byte_id[b] = tok_vocab_find(t, buf, (size_t)n);
    }
    if (t->bos >= t->n_vocab || t->bos < -1) return lf_fail(LINFER_ERR_FORMAT, "%s: BOS id %d out of range (vocab %d)", t->name, t->bos, t->n_vocab);
    if (t->eos >= t->n_vocab || t->eos < -1) return lf_fail(LINFER_ERR_FORMAT, "%s: EOS id %d out of range (vocab %d)", t->name, t->eos, t->n_vocab);
    if (t->unk_id >= t->n_vocab) return lf_fail(LINFER_ERR_FORMAT, "%s: unknown-token id %d out of range", t->name, t->unk_id);
    if (t->bos < 0) t->adds_bos = 0;
    return LINFER_OK;
}

/* ---- public queries ------------------------------------------------------------------------- */
void lf_tokenizer_free(lf_tokenizer *t) {
    if (!t) return;
    tok_steps_free(t);
    free(t->name);
    free(t->arena.buf);
    free(t->vocab);
    free(t->scores);
    tok_strmap_free(&t->vmap);
    tok_strmap_free(&t->amap);
    tok_pairmap_free(&t->merges);
    free(t->added);
    free(t->added_of_id);
    free(t->added_by_byte);
    free(t->dec_from);
    free(t->dec_to);
    free(t);
}

int lf_tokenizer_vocab_size(const lf_tokenizer *t) { return t ? t->n_vocab : 0; }
int lf_tokenizer_bos(const lf_tokenizer *t) { return t ? t->bos : -1; }
int lf_tokenizer_eos(const lf_tokenizer *t) { return t ? t->eos : -1; }
int lf_tokenizer_adds_bos(const lf_tokenizer *t) { return t && t->bos >= 0 ? t->adds_bos : 0; }

int lf_tokenizer_find(const lf_tokenizer *t, const char *piece) {
    if (!t || !piece) return -1;
    size_t n = strlen(piece);
    uint32_t h = tok_hash(piece, n);
    /* added tokens first: their content is what the text spells */
    if (t->amap.slots) {
        for (size_t i = h & t->amap.mask;; i = (i + 1) & t->amap.mask) {
            int32_t v = t->amap.slots[i];
            if (v < 0) break;
            if (t->amap.hash[i] == h && t->added[v].content.len == n && memcmp(tok_text(t, t->added[v].content), piece, n) == 0)
                return t->added[v].id;
        }
    }
    return tok_strmap_find(&t->vmap, t, t->vocab, piece, n, h);
}

int tok_is_special(const lf_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab || !t->added_of_id) return 0;
    int32_t a = t->added_of_id[id];
    return a >= 0 && t->added[a].special;
}

int lf_tokenizer_is_special(const lf_tokenizer *t, int32_t id) { return t ? tok_is_special(t, id) : 0; }

const char *lf_tokenizer_token_text(const lf_tokenizer *t, int32_t id, size_t *len) {
    if (len) *len = 0;
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    int32_t a = t->added_of_id ? t->added_of_id[id] : -1;
    tok_str s = a >= 0 ? t->added[a].content : t->vocab[id];
    if (!s.present) return NULL;
    if (len) *len = s.len;
    return tok_text(t, s);
}

lf_status lf_tokenizer_set_special_ids(lf_tokenizer *t, int bos, int eos, int adds_bos) {
    if (!t) return lf_fail(LINFER_ERR_INVALID_ARG, "tokenizer is NULL");
    if (bos < -1 || bos >= t->n_vocab) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: BOS id %d out of range (vocab %d)", t->name, bos, t->n_vocab);
    if (eos < -1 || eos >= t->n_vocab) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: EOS id %d out of range (vocab %d)", t->name, eos, t->n_vocab);
    t->bos = bos;
    t->eos = eos;
    t->adds_bos = bos >= 0 && adds_bos;
    return LINFER_OK;
}

/* ---- encode entry point --------------------------------------------------------------------- */
lf_status tok_ids_push(tok_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for %zu token ids", cap);
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return LINFER_OK;
}

lf_status lf_tokenizer_encode(const lf_tokenizer *t, const char *text, size_t len, int add_bos, int parse_special,
                              int32_t **ids, size_t *n_ids) {
    if (!ids || !n_ids) return lf_fail(LINFER_ERR_INVALID_ARG, "encode: output pointers are NULL");
    *ids = NULL;
    *n_ids = 0;
    if (!t) return lf_fail(LINFER_ERR_INVALID_ARG, "encode: tokenizer is NULL");
    if (!text && len) return lf_fail(LINFER_ERR_INVALID_ARG, "encode: text is NULL");
    if (len > TOK_MAX_INPUT) return lf_fail(LINFER_ERR_INVALID_ARG, "encode: text of %zu bytes (limit %zu)", len, (size_t)TOK_MAX_INPUT);
    size_t bad = len ? tok_utf8_check((const unsigned char *)text, len) : 0;
    if (bad < len)
        return lf_fail(LINFER_ERR_INVALID_ARG, "encode: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad, (unsigned char)text[bad]);
    tok_ids out = {0};
    lf_status s = LINFER_OK;
    if (add_bos && t->bos >= 0) s = tok_ids_push(&out, t->bos);
    if (!s && len) s = tok_encode_text(t, text, len, parse_special, &out);
    if (!s && !out.v) { /* always hand back an allocation */
        s = tok_ids_push(&out, 0);
        out.n = 0;
    }
    if (s) {
        free(out.v);
        return s;
    }
    *ids = out.v;
    *n_ids = out.n;
    return LINFER_OK;
}
