/* encode.c — the encode pipeline as HF tokenizers runs it:
 *   1. split the text on added tokens that match the raw text (leftmost, then longest; special
 *      ones only when parse_special; lstrip/rstrip swallow neighbouring whitespace; single_word
 *      needs non-word characters around the match),
 *   2. normalize each remaining segment separately, then split it on added tokens marked
 *      "normalized" (matched in the normalized text),
 *   3. pre-tokenize (pretok.c) and BPE (bpe.c) each piece. */
#include "tok_internal.h"
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int is_word_char(const char *s, size_t n, size_t at, int before) {
    /* the character just before `at` (before=1) or starting at `at` */
    const unsigned char *u = (const unsigned char *)s;
    size_t i = at;
    if (before) {
        if (at == 0) return 0;
        i = at - 1;
        while (i > 0 && (u[i] & 0xC0) == 0x80) i--;
    } else if (at >= n) {
        return 0;
    }
    int l;
    uint32_t cp = tok_utf8_decode(u + i, &l);
    if (cp == '_') return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* Longest added token (of the wanted kind) that matches at s[pos]; returns its index or -1. */
static int32_t match_at(const lf_tokenizer *t, const char *s, size_t n, size_t pos, int normalized, int parse_special) {
    unsigned char b = (unsigned char)s[pos];
    for (int32_t k = t->added_bucket[b]; k < t->added_bucket[b + 1]; k++) {
        const tok_added *a = &t->added[t->added_by_byte[k]];
        if (a->normalized != normalized) continue;
        if (a->special && !parse_special) continue;
        size_t len = a->content.len;
        if (len > n - pos || memcmp(s + pos, tok_text(t, a->content), len) != 0) continue;
        if (a->single_word && (is_word_char(s, n, pos, 1) || is_word_char(s, n, pos + len, 0))) continue;
        return t->added_by_byte[k];
    }
    return -1;
}

static size_t skip_space_back(const char *s, size_t at, size_t floor) {
    const unsigned char *u = (const unsigned char *)s;
    while (at > floor) {
        size_t i = at - 1;
        while (i > floor && (u[i] & 0xC0) == 0x80) i--;
        int l;
        if (!tok_is_unicode_space(tok_utf8_decode(u + i, &l))) break;
        at = i;
    }
    return at;
}

static size_t skip_space_fwd(const char *s, size_t n, size_t at) {
    const unsigned char *u = (const unsigned char *)s;
    while (at < n) {
        int l;
        uint32_t cp = tok_utf8_decode(u + at, &l);
        if (!tok_is_unicode_space(cp)) break;
        at += (size_t)l;
    }
    return at;
}

typedef lf_status (*seg_fn)(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start);

/* Split s on added tokens of one kind; text between them goes to fn, tokens to the output. */
static lf_status split_added(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start,
                             int normalized, int parse_special, seg_fn fn) {
    size_t seg = 0, pos = 0;
    while (pos < n) {
        int32_t k = t->added_bucket[(unsigned char)s[pos]] < t->added_bucket[(unsigned char)s[pos] + 1]
                        ? match_at(t, s, n, pos, normalized, parse_special) : -1;
        if (k < 0) {
            pos++;
            continue;
        }
        const tok_added *a = &t->added[k];
        size_t start = pos, stop = pos + a->content.len;
        if (a->lstrip) start = skip_space_back(s, start, seg);
        if (a->rstrip) stop = skip_space_fwd(s, n, stop);
        LF_TRY(fn(t, c, s + seg, start - seg, at_start && seg == 0));
        LF_TRY(tok_ids_push(c->out, a->id));
        seg = pos = stop;
    }
    return fn(t, c, s + seg, n - seg, at_start && seg == 0);
}

static lf_status pretok_piece(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start) {
    return tok_pretok_run(t, c, s, n, at_start);
}

static lf_status segment(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start) {
    if (n == 0) return LINFER_OK;
    if (t->n_norm == 0 && !t->has_normalized_added) return tok_pretok_run(t, c, s, n, at_start);
    tok_buf nb = {0};
    lf_status st = tok_normalize(t, s, n, &nb);
    if (!st) {
        if (t->has_normalized_added)
            st = split_added(t, c, nb.v, nb.n, at_start, 1, c->parse_special, pretok_piece);
        else
            st = tok_pretok_run(t, c, nb.v, nb.n, at_start);
    }
    free(nb.v);
    return st;
}

lf_status tok_encode_text(const lf_tokenizer *t, const char *text, size_t len, int parse_special, tok_ids *out) {
    tok_enc_ctx c;
    LF_TRY(tok_ctx_init(t, &c, out));
    c.parse_special = parse_special;
    lf_status st;
    if (t->has_raw_added) st = split_added(t, &c, text, len, 1, 0, parse_special, segment);
    else st = segment(t, &c, text, len, 1);
    tok_ctx_free(&c);
    return st;
}
