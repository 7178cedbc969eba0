/* decode.c — ids back to text, per token and for whole sequences, plus the streaming decoder.
 *
 * Per token (as HF's decoders treat each token string): ByteLevel maps each alphabet character
 * back to its byte (a token with a character outside the alphabet is taken as raw UTF-8);
 * SentencePiece style replaces "▁" with " " and turns <0xNN> into the byte. Special tokens decode
 * to "" unless with_special.
 * Whole sequences: ByteLevel output is made valid UTF-8 with one U+FFFD per maximal invalid
 * subpart (Rust's from_utf8_lossy); with ByteFallback a run of <0xNN> tokens that is not valid
 * UTF-8 becomes one U+FFFD per byte; then the Strip decoder drops leading spaces.
 * The streaming decoder holds back an incomplete UTF-8 tail (at most 3 bytes) between tokens. */
#include "tok_internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t cap, n; /* n counts everything offered, even past cap */
} writer;

static void w_put(writer *w, const void *s, size_t n) {
    if (w->n < w->cap) {
        size_t k = w->cap - w->n < n ? w->cap - w->n : n;
        memcpy(w->p + w->n, s, k);
    }
    w->n += n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* <0xNN> -> NN, else -1 */
static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

static int is_byte_tok(const lf_tokenizer *t, int32_t id, int with_special) {
    if (!t->dec_byte_fallback || t->dec_byte_level) return -1;
    if (tok_is_special(t, id) && !with_special) return -1;
    size_t n;
    const char *s = lf_tokenizer_token_text(t, id, &n);
    return s ? byte_token(s, n) : -1;
}

/* Decoded bytes of one token into w; -1 for a bad id. */
static int decode_token(const lf_tokenizer *t, int32_t id, int with_special, writer *w) {
    if (id < 0 || id >= t->n_vocab) return -1;
    if (tok_is_special(t, id) && !with_special) return 0;
    size_t n;
    const char *s = lf_tokenizer_token_text(t, id, &n);
    if (!s) return 0;
    if (t->dec_byte_level) {
        /* all characters in the alphabet: their bytes; else the raw text */
        const unsigned char *u = (const unsigned char *)s;
        int ok = tok_utf8_check(u, n) == n;
        for (size_t i = 0; ok && i < n;) {
            int l;
            ok = tok_cp_to_byte(tok_utf8_decode(u + i, &l)) >= 0;
            i += (size_t)l;
        }
        if (!ok) {
            w_put(w, s, n);
            return 0;
        }
        for (size_t i = 0; i < n;) {
            int l;
            unsigned char b = (unsigned char)tok_cp_to_byte(tok_utf8_decode(u + i, &l));
            w_put(w, &b, 1);
            i += (size_t)l;
        }
        return 0;
    }
    if (t->dec_byte_fallback) {
        int b = byte_token(s, n);
        if (b >= 0) {
            unsigned char c = (unsigned char)b;
            w_put(w, &c, 1);
            return 0;
        }
    }
    if (t->dec_from_len) {
        size_t from = 0;
        for (size_t i = 0; i + t->dec_from_len <= n;) {
            if (memcmp(s + i, t->dec_from, t->dec_from_len) == 0) {
                w_put(w, s + from, i - from);
                w_put(w, t->dec_to, t->dec_to_len);
                i += t->dec_from_len;
                from = i;
            } else {
                i++;
            }
        }
        w_put(w, s + from, n - from);
        return 0;
    }
    w_put(w, s, n);
    return 0;
}

int lf_tokenizer_token_bytes(const lf_tokenizer *t, int32_t id, int with_special, char *buf, size_t cap) {
    if (!t) return -1;
    writer w = {buf, buf ? cap : 0, 0};
    if (decode_token(t, id, with_special, &w) < 0) return -1;
    return (int)(w.n < w.cap ? w.n : w.cap);
}

/* ---- whole sequence ------------------------------------------------------------------------- */
static const char REPL[3] = {(char)0xEF, (char)0xBF, (char)0xBD}; /* U+FFFD */

static lf_status lossy_put(tok_buf *o, const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int k = tok_utf8_step(s + i, n - i);
        if (k > 0) {
            size_t j = i + (size_t)k;
            while (j < n && s[j] < 0x80) j++; /* copy ASCII runs in one go */
            LF_TRY(tok_buf_put(o, (const char *)s + i, j - i));
            i = j;
        } else {
            LF_TRY(tok_buf_put(o, REPL, 3));
            i += k == 0 ? n - i : (size_t)-k;
        }
    }
    return LINFER_OK;
}

lf_status lf_tokenizer_decode(const lf_tokenizer *t, const int32_t *ids, size_t n, int with_special, char **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "decode: out is NULL");
    *out = NULL;
    if (!t) return lf_fail(LINFER_ERR_INVALID_ARG, "decode: tokenizer is NULL");
    if (!ids && n) return lf_fail(LINFER_ERR_INVALID_ARG, "decode: ids is NULL");
    tok_buf raw = {0}, res = {0};
    lf_status st = LINFER_OK;
    char small[256];
    size_t run_start = 0; /* start in raw of the current run of <0xNN> tokens */
    int in_run = 0;
    for (size_t i = 0; i < n && !st; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab) {
            st = lf_fail(LINFER_ERR_INVALID_ARG, "decode: token id %d at position %zu out of range (vocab %d)", id, i, t->n_vocab);
            break;
        }
        if ((tok_is_special(t, id) && !with_special) || !lf_tokenizer_token_text(t, id, NULL))
            continue; /* left out before decoding, as HF does: it does not break a byte run */
        int b = is_byte_tok(t, id, with_special);
        if (b < 0 && in_run) { /* close a byte run: valid UTF-8 as a whole, or U+FFFD per byte */
            size_t rl = raw.n - run_start;
            if (tok_utf8_check((const unsigned char *)raw.v + run_start, rl) != rl) {
                raw.n = run_start;
                for (size_t k = 0; k < rl && !st; k++) st = tok_buf_put(&raw, REPL, 3);
            }
            in_run = 0;
        }
        if (b >= 0 && !in_run) {
            in_run = 1;
            run_start = raw.n;
        }
        writer w = {small, sizeof small, 0};
        decode_token(t, id, with_special, &w);
        if (w.n <= sizeof small) {
            if (!st) st = tok_buf_put(&raw, small, w.n);
        } else {
            char *big = malloc(w.n);
            if (!big) { st = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "decode: out of memory"); break; }
            writer w2 = {big, w.n, 0};
            decode_token(t, id, with_special, &w2);
            if (!st) st = tok_buf_put(&raw, big, w2.n);
            free(big);
        }
    }
    if (!st && in_run) {
        size_t rl = raw.n - run_start;
        if (tok_utf8_check((const unsigned char *)raw.v + run_start, rl) != rl) {
            raw.n = run_start;
            for (size_t k = 0; k < rl && !st; k++) st = tok_buf_put(&raw, REPL, 3);
        }
    }
    if (!st) st = tok_buf_put(&raw, "", 0); /* make sure raw.v exists */
    if (!st) {
        size_t skip = 0;
        for (int k = 0; k < t->dec_strip_start && skip < raw.n && raw.v[skip] == ' '; k++) skip++;
        st = lossy_put(&res, (const unsigned char *)raw.v + skip, raw.n - skip);
        if (!st) st = tok_buf_put(&res, "", 0);
    }
    free(raw.v);
    if (st) {
        free(res.v);
        return st;
    }
    *out = res.v;
    return LINFER_OK;
}

/* ---- streaming ------------------------------------------------------------------------------ */
void lf_tok_decoder_init(lf_tok_decoder *d, const lf_tokenizer *t, int with_special) {
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->with_special = with_special;
    d->at_start = t && t->dec_strip_start > 0;
}

int lf_tok_decoder_push(lf_tok_decoder *d, int32_t id, char *out, size_t cap) {
    if (!d || !d->tok || !out || cap == 0) {
        lf_fail(LINFER_ERR_INVALID_ARG, "decoder: NULL argument or empty output buffer");
        return -1;
    }
    out[0] = 0;
    const lf_tokenizer *t = d->tok;
    if (id < 0 || id >= t->n_vocab) {
        lf_fail(LINFER_ERR_INVALID_ARG, "decoder: token id %d out of range (vocab %d)", id, t->n_vocab);
        return -1;
    }
    char small[512];
    writer w = {small + 8, sizeof small - 8, 0};
    decode_token(t, id, d->with_special, &w);
    char *buf = small;
    if (w.n > sizeof small - 8) {
        buf = malloc(w.n + 8);
        if (!buf) {
            lf_fail(LINFER_ERR_OUT_OF_MEMORY, "decoder: out of memory");
            return -1;
        }
        writer w2 = {buf + 8, w.n, 0};
        decode_token(t, id, d->with_special, &w2);
    }
    unsigned char *tb = (unsigned char *)buf + 8;
    size_t tn = w.n;
    int at_start = d->at_start;
    if (at_start && tn > 0) {
        if (tb[0] == ' ') { tb++; tn--; }
        at_start = 0;
    }
    /* pending bytes go right in front of the token's */
    int np = d->n_pending < 0 ? 0 : d->n_pending > 8 ? 8 : d->n_pending;
    tb -= np;
    memcpy(tb, d->pending, (size_t)np);
    tn += (size_t)np;
    /* worst case: every byte becomes U+FFFD */
    if (tn * 3 + 1 > cap) {
        /* count exactly before giving up */
        size_t need = 0;
        for (size_t i = 0; i < tn;) {
            int k = tok_utf8_step(tb + i, tn - i);
            if (k > 0) { need += (size_t)k; i += (size_t)k; }
            else if (k == 0) break;
            else { need += 3; i += (size_t)-k; }
        }
        if (need + 1 > cap) {
            if (buf != small) free(buf);
            lf_fail(LINFER_ERR_INVALID_ARG, "decoder: output buffer of %zu bytes is too small (need %zu)", cap, need + 1);
            return -1;
        }
    }
    size_t o = 0, i = 0;
    int newpend = 0;
    while (i < tn) {
        int k = tok_utf8_step(tb + i, tn - i);
        if (k > 0) {
            memcpy(out + o, tb + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else if (k == 0) {
            newpend = (int)(tn - i);
            memcpy(d->pending, tb + i, (size_t)newpend);
            break;
        } else {
            memcpy(out + o, REPL, 3);
            o += 3;
            i += (size_t)-k;
        }
    }
    d->n_pending = newpend;
    d->at_start = at_start;
    out[o] = 0;
    if (buf != small) free(buf);
    return (int)o;
}

int lf_tok_decoder_flush(lf_tok_decoder *d, char *out, size_t cap) {
    if (!d || !out || cap == 0) return -1;
    out[0] = 0;
    if (d->n_pending <= 0) return 0;
    if (cap < 4) return -1;
    memcpy(out, REPL, 3);
    out[3] = 0;
    d->n_pending = 0;
    return 3;
}
