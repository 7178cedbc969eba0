/* bpe.c — byte-pair encoding of one pre-tokenized word, with the merge-rank table
 * ((left id, right id) -> (rank, merged id), open addressing) and the derivation of ranked merges
 * from SentencePiece scores for GGUF "llama" vocabularies.
 *
 * The merge loop follows HF tokenizers' BPE model: start from one symbol per character (per byte
 * in byte-level mode), unknown characters become <0xNN> byte tokens (byte_fallback) or the unk
 * token (optionally fused); then repeatedly apply the lowest-ranked adjacent merge, leftmost first
 * on ties, through a binary heap with lazy invalidation. ignore_merges: a word that is itself a
 * vocabulary entry becomes that one token. */
#include "tok_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---- pair map ------------------------------------------------------------------------------- */
static size_t pair_hash(uint32_t a, uint32_t b) {
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)h;
}

lf_status tok_pairmap_init(tok_pairmap *m, size_t n) {
    size_t cap = 16;
    while (cap < n * 2 + 1) cap <<= 1;
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for %zu merges", n);
    for (size_t i = 0; i < cap; i++) m->slots[i].a = UINT32_MAX;
    m->mask = cap - 1;
    m->n = 0;
    return LINFER_OK;
}

void tok_pairmap_free(tok_pairmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->n = 0;
}

int tok_pairmap_put(tok_pairmap *m, uint32_t a, uint32_t b, int32_t rank, int32_t id) {
    for (size_t i = pair_hash(a, b) & m->mask;; i = (i + 1) & m->mask) {
        tok_pair *p = &m->slots[i];
        if (p->a == UINT32_MAX) {
            p->a = a; p->b = b; p->rank = rank; p->id = id;
            m->n++;
            return 1;
        }
        if (p->a == a && p->b == b) { /* as HF builds its merge map: a later duplicate replaces */
            p->rank = rank;
            p->id = id;
            return 0;
        }
    }
}

const tok_pair *tok_pairmap_get(const tok_pairmap *m, uint32_t a, uint32_t b) {
    if (!m->slots) return NULL;
    for (size_t i = pair_hash(a, b) & m->mask;; i = (i + 1) & m->mask) {
        const tok_pair *p = &m->slots[i];
        if (p->a == UINT32_MAX) return NULL;
        if (p->a == a && p->b == b) return p;
    }
}

/* ---- merges from scores --------------------------------------------------------------------- */
typedef struct {
    float score;
    uint32_t len_l, len_r; /* in characters */
    int32_t l, r, id;
    size_t seq;
} cand;

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    /* best first: score, then longer left piece, then longer right piece; stable otherwise */
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->len_l != b->len_l) return a->len_l > b->len_l ? -1 : 1;
    if (a->len_r != b->len_r) return a->len_r > b->len_r ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_cand_ids(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (a->l != b->l) return a->l < b->l ? -1 : 1;
    return a->r < b->r ? -1 : a->r > b->r;
}

/* Every token that splits (at a character boundary) into two vocabulary entries gives a merge,
 * ranked by the token's score (best first) — the order transformers builds for a GGUF that has
 * scores but no merges, which is also the order SentencePiece/llama.cpp apply them in. */
lf_status tok_merges_from_scores(lf_tokenizer *t) {
    if (!t->scores) return lf_fail(LINFER_ERR_INTERNAL, "%s: no scores to derive merges from", t->name);
    size_t cap = 1024, n = 0;
    cand *c = malloc(cap * sizeof *c);
    if (!c) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory deriving merges", t->name);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        tok_str s = t->vocab[id];
        if (!s.present || s.len < 2) continue;
        const char *p = tok_text(t, s);
        if (tok_vocab_find(t, p, s.len) != id) continue; /* a duplicate spelling: the other id owns it */
        size_t first = n;
        uint32_t nch_total = 0;
        for (uint32_t k = 0; k < s.len; k++) nch_total += ((unsigned char)p[k] & 0xC0) != 0x80;
        uint32_t nch = 0;
        for (uint32_t k = 1; k < s.len; k++) {
            if (((unsigned char)p[k - 1] & 0xC0) != 0x80) nch++;
            if (((unsigned char)p[k] & 0xC0) == 0x80) continue; /* not a character boundary */
            int32_t l = tok_vocab_find(t, p, k);
            if (l < 0) continue;
            int32_t r = tok_vocab_find(t, p + k, s.len - k);
            if (r < 0) continue;
            if (n == cap) {
                if (cap >= TOK_MAX_MERGES) { free(c); return lf_fail(LINFER_ERR_FORMAT, "%s: more than %d derived merges", t->name, TOK_MAX_MERGES); }
                cap *= 2;
                cand *nc = realloc(c, cap * sizeof *nc);
                if (!nc) { free(c); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory deriving merges", t->name); }
                c = nc;
            }
            c[n].score = t->scores[id];
            c[n].len_l = nch;
            c[n].len_r = nch_total - nch;
            c[n].l = l; c[n].r = r; c[n].id = id;
            n++;
        }
        if (n - first > 1) qsort(c + first, n - first, sizeof *c, cmp_cand_ids);
    }
    for (size_t i = 0; i < n; i++) c[i].seq = i;
    if (n > 1) qsort(c, n, sizeof *c, cmp_cand);
    tok_pairmap_free(&t->merges);
    lf_status st = tok_pairmap_init(&t->merges, n);
    if (!st)
        for (size_t i = 0; i < n; i++) tok_pairmap_put(&t->merges, (uint32_t)c[i].l, (uint32_t)c[i].r, (int32_t)i, c[i].id);
    free(c);
    return st;
}

/* ---- the merge loop ------------------------------------------------------------------------- */
typedef struct { int32_t id, prev, next; uint32_t len; } sym;
typedef struct { int32_t rank, pos, id; } hitem;

struct tok_bpe_scratch {
    sym *s;
    size_t s_cap;
    hitem *h;
    size_t h_cap, h_n;
    char *buf;
    size_t buf_cap;
};

tok_bpe_scratch *tok_bpe_scratch_new(void) { return calloc(1, sizeof(tok_bpe_scratch)); }
void tok_bpe_scratch_free(tok_bpe_scratch *sc) {
    if (!sc) return;
    free(sc->s); free(sc->h); free(sc->buf);
    free(sc);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np) return -1;
    *p = np;
    *cap = c;
    return 0;
}

static int h_less(const hitem *a, const hitem *b) { return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos); }

static int heap_push(tok_bpe_scratch *sc, hitem it) {
    if (grow((void **)&sc->h, &sc->h_cap, sc->h_n + 1, sizeof *sc->h)) return -1;
    size_t i = sc->h_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!h_less(&it, &sc->h[p])) break;
        sc->h[i] = sc->h[p];
        i = p;
    }
    sc->h[i] = it;
    return 0;
}

static hitem heap_pop(tok_bpe_scratch *sc) {
    hitem top = sc->h[0], last = sc->h[--sc->h_n];
    size_t i = 0, n = sc->h_n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const hitem *best = &last;
        if (l < n && h_less(&sc->h[l], best)) { m = l; best = &sc->h[l]; }
        if (r < n && h_less(&sc->h[r], best)) { m = r; }
        if (m == i) break;
        sc->h[i] = sc->h[m];
        i = m;
    }
    if (n) sc->h[i] = last;
    return top;
}

static lf_status oom(void) { return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory while encoding"); }

static int add_sym(tok_bpe_scratch *sc, size_t *n, int32_t id, uint32_t len) {
    if (grow((void **)&sc->s, &sc->s_cap, *n + 1, sizeof *sc->s)) return -1;
    sym *y = &sc->s[*n];
    y->id = id;
    y->len = len;
    y->prev = (int32_t)*n - 1;
    y->next = (int32_t)*n + 1;
    (*n)++;
    return 0;
}

lf_status tok_bpe_word(const lf_tokenizer *t, const char *w, size_t n, tok_bpe_scratch *sc, tok_ids *out) {
    if (n == 0) return LINFER_OK;
    if (n > INT32_MAX / 2) return lf_fail(LINFER_ERR_INVALID_ARG, "encode: word of %zu bytes is too long", n);
    const unsigned char *u = (const unsigned char *)w;

    if (t->ignore_merges) {
        const char *key = w;
        size_t klen = n;
        if (t->byte_level) { /* spell the word in the byte alphabet */
            if (grow((void **)&sc->buf, &sc->buf_cap, n * 2 + 1, 1)) return oom();
            klen = 0;
            for (size_t i = 0; i < n; i++) klen += (size_t)tok_utf8_encode(tok_byte_to_cp(u[i]), sc->buf + klen);
            key = sc->buf;
        }
        int32_t id = tok_vocab_find(t, key, klen);
        if (id >= 0) return tok_ids_push(out, id);
    }

    /* initial symbols */
    size_t ns = 0;
    int32_t unk_len = 0; /* pending (possibly fused) unknown */
    for (size_t i = 0; i < n;) {
        size_t cl = t->byte_level ? 1 : (size_t)tok_utf8_len(u[i]);
        if (cl > n - i) cl = n - i;
        int32_t id = t->byte_level ? t->byte_id[u[i]] : tok_vocab_find(t, w + i, cl);
        if (id < 0 && !t->byte_level && t->byte_fallback) {
            int all = 1;
            for (size_t k = 0; k < cl; k++) all &= t->byte_id[u[i + k]] >= 0;
            if (all) {
                if (unk_len) { if (add_sym(sc, &ns, t->unk_id, (uint32_t)unk_len)) return oom(); unk_len = 0; }
                for (size_t k = 0; k < cl; k++)
                    if (add_sym(sc, &ns, t->byte_id[u[i + k]], 1)) return oom();
                i += cl;
                continue;
            }
        }
        if (id >= 0) {
            if (unk_len) { if (add_sym(sc, &ns, t->unk_id, (uint32_t)unk_len)) return oom(); unk_len = 0; }
            if (add_sym(sc, &ns, id, (uint32_t)cl)) return oom();
        } else if (t->unk_id >= 0) {
            if (unk_len && !t->fuse_unk) { if (add_sym(sc, &ns, t->unk_id, (uint32_t)unk_len)) return oom(); unk_len = 0; }
            unk_len += (int32_t)cl;
        } /* else: no unk token, the character is dropped (as HF does) */
        i += cl;
    }
    if (unk_len && add_sym(sc, &ns, t->unk_id, (uint32_t)unk_len)) return oom();
    if (ns == 0) return LINFER_OK;
    sc->s[ns - 1].next = -1;

    /* merge loop */
    sc->h_n = 0;
    if (t->merges.n) {
        for (size_t i = 0; i + 1 < ns; i++) {
            const tok_pair *p = tok_pairmap_get(&t->merges, (uint32_t)sc->s[i].id, (uint32_t)sc->s[i + 1].id);
            if (p && heap_push(sc, (hitem){p->rank, (int32_t)i, p->id})) return oom();
        }
        while (sc->h_n) {
            hitem top = heap_pop(sc);
            sym *cur = &sc->s[top.pos];
            if (cur->len == 0 || cur->next < 0) continue;
            sym *right = &sc->s[cur->next];
            const tok_pair *p = tok_pairmap_get(&t->merges, (uint32_t)cur->id, (uint32_t)right->id);
            if (!p || p->id != top.id) continue; /* stale entry */
            cur->id = top.id;
            cur->len += right->len;
            right->len = 0;
            cur->next = right->next;
            if (cur->next >= 0) sc->s[cur->next].prev = top.pos;
            if (cur->prev >= 0) {
                const tok_pair *q = tok_pairmap_get(&t->merges, (uint32_t)sc->s[cur->prev].id, (uint32_t)cur->id);
                if (q && heap_push(sc, (hitem){q->rank, cur->prev, q->id})) return oom();
            }
            if (cur->next >= 0) {
                const tok_pair *q = tok_pairmap_get(&t->merges, (uint32_t)cur->id, (uint32_t)sc->s[cur->next].id);
                if (q && heap_push(sc, (hitem){q->rank, top.pos, q->id})) return oom();
            }
        }
    }
    for (size_t i = 0; i < ns; i++)
        if (sc->s[i].len) LF_TRY(tok_ids_push(out, sc->s[i].id));
    return LINFER_OK;
}
