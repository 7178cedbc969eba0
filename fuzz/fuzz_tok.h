/* fuzz_tok.h — checks run on any tokenizer the fuzz targets get hold of (loaded from fuzzed
 * tokenizer.json / GGUF metadata, or a fixed one): queries, encode of a text, whole-sequence and
 * streaming decode of ids (in range or not) with exact-size heap output buffers, so that ASan sees
 * any write past `cap`. Every documented guarantee that can be checked is checked. */
#ifndef LF_FUZZ_TOK_H
#define LF_FUZZ_TOK_H
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

/* lf_tokenizer_decode + lf_tok_decoder_push/flush + lf_tokenizer_token_bytes over ids[0..n).
 * cap: the streaming decoder's output buffer (1..LF_TOK_DECODE_MAX). */
static inline void fuzz_check_decode(const lf_tokenizer *t, const int32_t *ids, size_t n, int with_special, size_t cap) {
    int nv = lf_tokenizer_vocab_size(t);
    int all_in_range = 1;
    for (size_t i = 0; i < n; i++) all_in_range &= ids[i] >= 0 && ids[i] < nv;

    char *s = (char *)0x1;
    lf_status st = lf_tokenizer_decode(t, ids, n, with_special, &s);
    if (st == LINFER_OK) {
        FUZZ_CHECK(s != NULL, "decode returned OK without a string");
        size_t l = strlen(s);
        FUZZ_CHECK(fuzz_utf8_valid(s, l), "decode produced invalid UTF-8 (%zu bytes)", l);
    } else {
        FUZZ_CHECK(s == NULL, "decode failed but left *out set");
        FUZZ_CHECK(!all_in_range || st == LINFER_ERR_OUT_OF_MEMORY, "decode of in-range ids failed: %d", (int)st);
    }
    free(s);

    if (cap == 0) cap = 1;
    if (cap > LF_TOK_DECODE_MAX) cap = LF_TOK_DECODE_MAX;
    char *out = (char *)malloc(cap);
    if (!out) return;
    lf_tok_decoder d;
    lf_tok_decoder_init(&d, t, with_special);
    for (size_t i = 0; i < n; i++) {
        int r = lf_tok_decoder_push(&d, ids[i], out, cap);
        if (ids[i] < 0 || ids[i] >= nv) {
            FUZZ_CHECK(r == -1, "decoder_push accepted out-of-range id %d (vocab %d)", ids[i], nv);
            continue;
        }
        if (cap == LF_TOK_DECODE_MAX) FUZZ_CHECK(r >= 0, "decoder_push(id %d) failed with the documented maximum buffer", ids[i]);
        if (r < 0) continue;
        FUZZ_CHECK((size_t)r < cap, "decoder_push wrote %d bytes into %zu", r, cap);
        FUZZ_CHECK(out[r] == 0, "decoder_push output not NUL-terminated");
        FUZZ_CHECK(fuzz_utf8_valid(out, (size_t)r), "decoder_push(id %d) produced invalid UTF-8", ids[i]);
        FUZZ_CHECK(d.n_pending >= 0 && d.n_pending <= 3, "decoder holds %d pending bytes", d.n_pending);
    }
    int r = lf_tok_decoder_flush(&d, out, cap);
    if (r >= 0) {
        FUZZ_CHECK((size_t)r < cap, "decoder_flush wrote %d bytes into %zu", r, cap);
        FUZZ_CHECK(fuzz_utf8_valid(out, (size_t)r), "decoder_flush produced invalid UTF-8");
    }
    free(out);

    /* per-token bytes into a buffer of exactly cap2 bytes */
    for (size_t i = 0; i < n && i < 64; i++) {
        size_t cap2 = (size_t)(i * 7) % 40;
        char *b = cap2 ? (char *)malloc(cap2) : NULL;
        int k = lf_tokenizer_token_bytes(t, ids[i], with_special, b, cap2);
        if (ids[i] < 0 || ids[i] >= nv) FUZZ_CHECK(k == -1, "token_bytes accepted out-of-range id %d", ids[i]);
        else FUZZ_CHECK(k >= 0 && (size_t)k <= cap2, "token_bytes returned %d for cap %zu", k, cap2);
        free(b);
        size_t len = 12345;
        const char *txt = lf_tokenizer_token_text(t, ids[i], &len);
        if (txt) {
            FUZZ_CHECK(len <= LF_TOK_PIECE_MAX, "token %d text of %zu bytes", ids[i], len);
            fuzz_touch(txt, len + 1);
            FUZZ_CHECK(txt[len] == 0, "token text not NUL-terminated");
        } else {
            FUZZ_CHECK(len == 0, "token_text NULL but len %zu", len);
        }
        (void)lf_tokenizer_is_special(t, ids[i]);
    }
}

/* Encode text, check the ids, decode them back. Returns the encode status. */
static inline lf_status fuzz_check_encode(const lf_tokenizer *t, const char *text, size_t len, int add_bos, int parse_special,
                                          int32_t **ids_out, size_t *n_out) {
    int32_t *ids = (int32_t *)0x1;
    size_t n = 777;
    lf_status st = lf_tokenizer_encode(t, text, len, add_bos, parse_special, &ids, &n);
    if (st != LINFER_OK) {
        FUZZ_CHECK(ids == NULL && n == 0, "encode failed but left outputs set");
        if (ids_out) { *ids_out = NULL; *n_out = 0; }
        return st;
    }
    FUZZ_CHECK(ids != NULL, "encode OK without an id array");
    int nv = lf_tokenizer_vocab_size(t);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv, "encode produced id %d (vocab %d)", ids[i], nv);
    if (add_bos && lf_tokenizer_bos(t) >= 0) FUZZ_CHECK(n >= 1 && ids[0] == lf_tokenizer_bos(t), "add_bos without BOS first");
    if (ids_out) {
        *ids_out = ids;
        *n_out = n;
    } else {
        free(ids);
    }
    return st;
}

static const char fuzz_sample_text[] =
    "Hello world! It's 2024, y'all: 3.14159 <s>hi</s> <|endoftext|><|im_start|>user\n"
    "  indented\tcode() { return x->y; }\r\n\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C "
    "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD caf\xC3\xA9 cafe\xCC\x81 \xE2\x96\x81x word [MASK] <mask>  foo_ 12\xE2\x91\xA0   ";

/* Whole-tokenizer smoke test for a tokenizer built from fuzzed data. */
static inline void fuzz_exercise_tokenizer(const lf_tokenizer *t) {
    int nv = lf_tokenizer_vocab_size(t);
    FUZZ_CHECK(nv > 0, "loaded tokenizer with vocab %d", nv);
    int bos = lf_tokenizer_bos(t), eos = lf_tokenizer_eos(t);
    FUZZ_CHECK(bos >= -1 && bos < nv, "BOS %d (vocab %d)", bos, nv);
    FUZZ_CHECK(eos >= -1 && eos < nv, "EOS %d (vocab %d)", eos, nv);
    (void)lf_tokenizer_adds_bos(t);
    (void)lf_tokenizer_find(t, "<s>");
    (void)lf_tokenizer_find(t, "");
    (void)lf_tokenizer_find(t, "a");

    int32_t probe[] = {-1, 0, 1, 2, nv / 2, nv - 1, nv, INT32_MIN, INT32_MAX, 3, 4, 5, 255, 256, 257};
    fuzz_check_decode(t, probe, sizeof probe / sizeof probe[0], 1, LF_TOK_DECODE_MAX);
    fuzz_check_decode(t, probe, sizeof probe / sizeof probe[0], 0, 16);

    for (int flags = 0; flags < 4; flags++) {
        int32_t *ids = NULL;
        size_t n = 0;
        size_t len = (flags & 2) ? sizeof fuzz_sample_text - 1 : 40;
        if (fuzz_check_encode(t, fuzz_sample_text, len, flags & 1, (flags >> 1) & 1, &ids, &n) == LINFER_OK) {
            fuzz_check_decode(t, ids, n, flags & 1, flags == 3 ? 8 : LF_TOK_DECODE_MAX);
            free(ids);
        }
    }
    /* empty text */
    int32_t *ids = NULL;
    size_t n = 0;
    if (fuzz_check_encode(t, "", 0, 1, 1, &ids, &n) == LINFER_OK) free(ids);
}
#endif
