/* pretok.c — normalizers and pre-tokenizers, run on text segments before BPE:
 *   normalizers: Prepend, Replace (string or regex), NFC/NFD/NFKC/NFKD (utf8proc);
 *   pre-tokenizers: Split (regex or literal; Removed / Isolated / MergedWithPrevious /
 *   MergedWithNext / Contiguous; invert), Digits (a Split on \p{N} or \p{N}+), ByteLevel (GPT-2
 *   regex split, add_prefix_space; the byte -> alphabet mapping itself happens in the BPE step),
 *   Metaspace (' ' -> '▁', prepend_scheme always/first/never, optional split).
 * Regexes are PCRE2 in UTF + UCP mode, JIT-compiled when available. The pre-tokenizer chain runs
 * depth-first (one recursion level per step, at most TOK_MAX_STEPS), each leaf piece going to BPE. */
#include "tok_internal.h"
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The GPT-2 split used by ByteLevel(use_regex=true). */
const char TOK_RE_GPT2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* LLaMA-3 (tiktoken cl100k-like) split. */
const char TOK_RE_LLAMA3[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* Qwen2: as LLaMA-3 but every digit alone. */
const char TOK_RE_QWEN2[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Unicode White_Space, which is what \s means to Oniguruma (HF's regex engine). PCRE2 with UCP
 * also counts U+180E MONGOLIAN VOWEL SEPARATOR (White_Space before Unicode 6.3). */
#define WS_CHARS "\\t\\n\\x0B\\f\\r\\x20\\x85\\xA0\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* Rewrite \s (and \S outside classes) to the explicit White_Space set. Returns a malloc'd copy. */
static char *rewrite_space_class(const char *pat, size_t len, size_t *out_len) {
    static const char ws[] = WS_CHARS;
    size_t n_esc = 0, o = 0;
    for (size_t i = 0; i + 1 < len; i++) n_esc += pat[i] == '\\';
    size_t cap = len + n_esc * (sizeof ws + 4) + 1; /* "\\s" grows to at most "[^" ws "]" */
    char *r = malloc(cap);
    if (!r) return NULL;
    int in_class = 0;
    for (size_t i = 0; i < len; i++) {
        char c = pat[i];
        if (c == '\\' && i + 1 < len) {
            char d = pat[i + 1];
            if (d == 's' || (d == 'S' && !in_class)) {
                if (!in_class) r[o++] = '[';
                if (d == 'S') r[o++] = '^';
                memcpy(r + o, ws, sizeof ws - 1);
                o += sizeof ws - 1;
                if (!in_class) r[o++] = ']';
            } else {
                r[o++] = c;
                r[o++] = d;
            }
            i++;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            r[o++] = c;
            if (i + 1 < len && pat[i + 1] == '^') r[o++] = pat[++i];
            if (i + 1 < len && pat[i + 1] == ']') r[o++] = pat[++i]; /* a literal ] first in the class */
            continue;
        }
        if (in_class && c == '[' && i + 1 < len && pat[i + 1] == ':') { /* [:posix:] */
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < len; k++)
                if (pat[k] == ':' && pat[k + 1] == ']') { end = pat + k + 2; break; }
            if (end) {
                size_t l = (size_t)(end - (pat + i));
                memcpy(r + o, pat + i, l);
                o += l;
                i += l - 1;
                continue;
            }
        }
        if (in_class && c == ']') in_class = 0;
        r[o++] = c;
    }
    r[o] = 0;
    *out_len = o;
    return r;
}

lf_status tok_regex_compile(lf_tokenizer *t, const char *pat, size_t len, int literal, const char *what, pcre2_code **out) {
    *out = NULL;
    if (len > 64 * 1024) return lf_fail(LINFER_ERR_FORMAT, "%s: %s pattern of %zu bytes is too long", t->name, what, len);
    if (tok_utf8_check((const unsigned char *)pat, len) != len)
        return lf_fail(LINFER_ERR_FORMAT, "%s: %s pattern is not valid UTF-8", t->name, what);
    int err = 0;
    PCRE2_SIZE off = 0;
    /* PCRE2_LITERAL does not combine with PCRE2_UCP (nor needs it) */
    uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    char *rw = NULL;
    if (!literal) {
        size_t rl;
        rw = rewrite_space_class(pat, len, &rl);
        if (!rw) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory compiling a regex");
        pat = rw;
        len = rl;
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &err, &off, NULL);
    free(rw);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: %s regex does not compile at offset %zu: %s", t->name, what, (size_t)off, (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is absent */
    uint32_t caps = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &caps);
    if (caps + 1 > t->max_ovector) t->max_ovector = caps + 1;
    *out = re;
    return LINFER_OK;
}

void tok_steps_free(lf_tokenizer *t) {
    for (int i = 0; i < t->n_pt; i++) pcre2_code_free(t->pt[i].re);
    for (int i = 0; i < t->n_norm; i++) {
        free(t->norm[i].a);
        free(t->norm[i].b);
        pcre2_code_free(t->norm[i].re);
    }
    t->n_pt = t->n_norm = 0;
}

/* ---- buffers / context ---------------------------------------------------------------------- */
static int buf_reserve(tok_buf *b, size_t need) {
    if (need <= b->cap) return 0;
    size_t c = b->cap ? b->cap : 256;
    while (c < need) c *= 2;
    char *nv = realloc(b->v, c);
    if (!nv) return -1;
    b->v = nv;
    b->cap = c;
    return 0;
}

lf_status tok_buf_put(tok_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, b->n + n + 1)) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory while encoding");
    if (n) memcpy(b->v + b->n, s, n);
    b->n += n;
    b->v[b->n] = 0;
    return LINFER_OK;
}

lf_status tok_ctx_init(const lf_tokenizer *t, tok_enc_ctx *c, tok_ids *out) {
    memset(c, 0, sizeof *c);
    c->out = out;
    c->bpe = tok_bpe_scratch_new();
    c->md = pcre2_match_data_create(t->max_ovector ? t->max_ovector : 1, NULL);
    c->mctx = pcre2_match_context_create(NULL);
    if (!c->bpe || !c->md || !c->mctx) {
        tok_ctx_free(c);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory while encoding");
    }
    /* a JIT stack larger than the 32 KiB default, for long runs of one character class */
    c->jit = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, NULL);
    if (c->jit) pcre2_jit_stack_assign(c->mctx, NULL, c->jit);
    return LINFER_OK;
}

void tok_ctx_free(tok_enc_ctx *c) {
    tok_bpe_scratch_free(c->bpe);
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mctx);
    pcre2_jit_stack_free(c->jit);
    for (int i = 0; i <= TOK_MAX_STEPS; i++) {
        free(c->spans[i].v);
        free(c->bufs[i].v);
    }
    memset(c, 0, sizeof *c);
}

static lf_status span_push(tok_spans *sp, size_t a, size_t b, int match) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        tok_span *v = realloc(sp->v, cap * sizeof *v);
        if (!v) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory while encoding");
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (tok_span){a, b, match};
    return LINFER_OK;
}

/* All non-empty matches of re in s, with the gaps between them: spans covering s in order. */
static lf_status find_matches(tok_enc_ctx *c, const pcre2_code *re, const char *s, size_t n, tok_spans *sp) {
    sp->n = 0;
    size_t start = 0, last = 0;
    while (start <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return lf_fail(LINFER_ERR_INTERNAL, "encode: regex match failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t a = ov[0], b = ov[1];
        if (a < start || b < a || b > n) return lf_fail(LINFER_ERR_INTERNAL, "encode: regex returned a bad match range");
        if (a == b) { /* empty match: not a boundary; step over one character */
            if (a >= n) break;
            start = a + (size_t)tok_utf8_len((unsigned char)s[a]);
            continue;
        }
        if (a > last) LF_TRY(span_push(sp, last, a, 0));
        LF_TRY(span_push(sp, a, b, 1));
        last = start = b;
    }
    if (last < n) LF_TRY(span_push(sp, last, n, 0));
    return LINFER_OK;
}

/* Apply a split behaviour in place: sp becomes the list of pieces. */
static void apply_behavior(tok_spans *sp, int behavior, int invert) {
    size_t n = sp->n, o = 0;
    tok_span *v = sp->v;
    if (invert)
        for (size_t i = 0; i < n; i++) v[i].match = !v[i].match;
    switch (behavior) {
    case SPLIT_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!v[i].match) v[o++] = v[i];
        break;
    case SPLIT_ISOLATED:
        o = n;
        break;
    case SPLIT_MERGED_PREV: {
        int prev_match = 0;
        for (size_t i = 0; i < n; i++) {
            int m = v[i].match;
            if (m && !prev_match && o > 0) v[o - 1].b = v[i].b;
            else v[o++] = v[i];
            prev_match = m;
        }
        break;
    }
    case SPLIT_MERGED_NEXT: {
        /* a delimiter joins the piece after it, unless that one is a delimiter too */
        size_t i = 0;
        while (i < n) {
            if (v[i].match && i + 1 < n && !v[i + 1].match) {
                tok_span merged = {v[i].a, v[i + 1].b, 0};
                v[o++] = merged;
                i += 2;
            } else {
                v[o++] = v[i++];
            }
        }
        break;
    }
    case SPLIT_CONTIGUOUS: {
        /* neighbours with the same flag join (after invert, adjacent delimiters are non-matches) */
        int prev_match = 0;
        for (size_t i = 0; i < n; i++) {
            int m = v[i].match;
            if (m == prev_match && o > 0) v[o - 1].b = v[i].b;
            else v[o++] = v[i];
            prev_match = m;
        }
        break;
    }
    }
    sp->n = o;
}

/* ---- normalizers ---------------------------------------------------------------------------- */
static lf_status norm_step(const tok_norm_step *st, const char *s, size_t n, tok_buf *o, pcre2_match_data *md) {
    o->n = 0;
    switch (st->kind) {
    case NORM_PREPEND:
        if (n) LF_TRY(tok_buf_put(o, st->a, st->a_len));
        return tok_buf_put(o, s, n);
    case NORM_REPLACE: {
        size_t i = 0, from = 0;
        while (i + st->a_len <= n) {
            if (memcmp(s + i, st->a, st->a_len) == 0) {
                LF_TRY(tok_buf_put(o, s + from, i - from));
                LF_TRY(tok_buf_put(o, st->b, st->b_len));
                i += st->a_len;
                from = i;
            } else {
                i++;
            }
        }
        return tok_buf_put(o, s + from, n - from);
    }
    case NORM_REPLACE_RE: {
        size_t start = 0, from = 0;
        while (start <= n) {
            int rc = pcre2_match(st->re, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) return lf_fail(LINFER_ERR_INTERNAL, "encode: normalizer regex match failed (%d)", rc);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[0] < start || ov[1] < ov[0] || ov[1] > n) return lf_fail(LINFER_ERR_INTERNAL, "encode: bad regex match range");
            if (ov[0] == ov[1]) {
                if (ov[0] >= n) break;
                start = ov[0] + (size_t)tok_utf8_len((unsigned char)s[ov[0]]);
                continue;
            }
            LF_TRY(tok_buf_put(o, s + from, ov[0] - from));
            LF_TRY(tok_buf_put(o, st->b, st->b_len));
            from = start = ov[1];
        }
        return tok_buf_put(o, s + from, n - from);
    }
    default: {
        int opt = UTF8PROC_STABLE;
        if (st->kind == NORM_NFC) opt |= UTF8PROC_COMPOSE;
        else if (st->kind == NORM_NFD) opt |= UTF8PROC_DECOMPOSE;
        else if (st->kind == NORM_NFKC) opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
        else opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
        if (n == 0) return tok_buf_put(o, s, 0);
        utf8proc_uint8_t *r = NULL;
        utf8proc_ssize_t rn = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &r, (utf8proc_option_t)opt);
        if (rn < 0) {
            free(r);
            return lf_fail(LINFER_ERR_INVALID_ARG, "encode: Unicode normalization failed: %s", utf8proc_errmsg(rn));
        }
        lf_status s2 = tok_buf_put(o, (const char *)r, (size_t)rn);
        free(r);
        return s2;
    }
    }
}

lf_status tok_normalize(const lf_tokenizer *t, const char *s, size_t n, tok_buf *out) {
    out->n = 0;
    if (t->n_norm == 0) return tok_buf_put(out, s, n);
    tok_buf tmp = {0};
    pcre2_match_data *md = pcre2_match_data_create(t->max_ovector ? t->max_ovector : 1, NULL);
    if (!md) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory while encoding");
    lf_status st = tok_buf_put(&tmp, s, n);
    for (int i = 0; !st && i < t->n_norm; i++) {
        st = norm_step(&t->norm[i], tmp.v, tmp.n, out, md);
        if (!st && i + 1 < t->n_norm) {
            tok_buf sw = tmp; tmp = *out; *out = sw;
        }
    }
    pcre2_match_data_free(md);
    free(tmp.v);
    return st;
}

/* ---- pre-tokenizers ------------------------------------------------------------------------- */
static lf_status run(const lf_tokenizer *t, tok_enc_ctx *c, int step, const char *s, size_t n, int at_start) {
    if (n == 0) return LINFER_OK;
    if (step >= t->n_pt) return tok_bpe_word(t, s, n, c->bpe, c->out);
    const tok_pt_step *p = &t->pt[step];
    tok_spans *sp = &c->spans[step];
    tok_buf *b = &c->bufs[step];
    switch (p->kind) {
    case PT_SPLIT:
        LF_TRY(find_matches(c, p->re, s, n, sp));
        apply_behavior(sp, p->behavior, p->invert);
        break;
    case PT_BYTELEVEL:
        if (p->add_prefix_space && s[0] != ' ') {
            b->n = 0;
            LF_TRY(tok_buf_put(b, " ", 1));
            LF_TRY(tok_buf_put(b, s, n));
            s = b->v;
            n = b->n;
        }
        if (!p->re) return run(t, c, step + 1, s, n, at_start);
        LF_TRY(find_matches(c, p->re, s, n, sp));
        break;
    case PT_METASPACE: {
        b->n = 0;
        int starts = n >= (size_t)p->repl_len && memcmp(s, p->repl, (size_t)p->repl_len) == 0;
        if (s[0] == ' ') starts = 1; /* becomes the replacement */
        if (!starts && (p->prepend_scheme == PREPEND_ALWAYS || (p->prepend_scheme == PREPEND_FIRST && at_start)))
            LF_TRY(tok_buf_put(b, p->repl, (size_t)p->repl_len));
        size_t from = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] != ' ') continue;
            LF_TRY(tok_buf_put(b, s + from, i - from));
            LF_TRY(tok_buf_put(b, p->repl, (size_t)p->repl_len));
            from = i + 1;
        }
        LF_TRY(tok_buf_put(b, s + from, n - from));
        s = b->v;
        n = b->n;
        if (!p->split) return run(t, c, step + 1, s, n, at_start);
        LF_TRY(find_matches(c, p->re, s, n, sp));
        apply_behavior(sp, SPLIT_MERGED_NEXT, 0);
        break;
    }
    default:
        return lf_fail(LINFER_ERR_INTERNAL, "encode: unknown pre-tokenizer step");
    }
    /* sp may be reused by nothing below this level: deeper steps use their own slots */
    for (size_t i = 0; i < sp->n; i++) {
        tok_span x = sp->v[i];
        LF_TRY(run(t, c, step + 1, s + x.a, x.b - x.a, at_start && x.a == 0));
    }
    return LINFER_OK;
}

lf_status tok_pretok_run(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start) {
    return run(t, c, 0, s, n, at_start);
}
