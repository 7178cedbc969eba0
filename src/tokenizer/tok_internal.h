/* tok_internal.h — private definitions shared by the tokenizer's .c files: the lf_tokenizer
 * struct, the string/pair hash tables, pre-tokenizer / normalizer / decoder step descriptions,
 * the byte-level (GPT-2) alphabet and the UTF-8 helpers. Not part of the public interface. */
#ifndef LF_TOK_INTERNAL_H
#define LF_TOK_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- limits ------------------------------------------------------------------------------- */
#define TOK_MAX_VOCAB      (4 * 1024 * 1024)     /* ids are < this */
#define TOK_MAX_TEXT       (64 * 1024)           /* bytes in one token string */
#define TOK_MAX_MERGES     (16 * 1024 * 1024)
#define TOK_MAX_ADDED      (1024 * 1024)
#define TOK_MAX_ARENA      ((size_t)1 << 31)     /* total bytes of token text */
#define TOK_MAX_STEPS      16                    /* pre-tokenizer / normalizer / decoder steps */
#define TOK_MAX_NEST       4                     /* nesting of "Sequence" */
#define TOK_MAX_INPUT      ((size_t)1 << 30)     /* bytes of text to encode in one call */

/* ---- token storage -------------------------------------------------------------------------- */
typedef struct {
    size_t off;      /* into the arena */
    uint32_t len;
    uint8_t present; /* 0: a hole in the id space */
} tok_str;

typedef struct {
    char *buf;
    size_t len, cap;
} tok_arena;

/* Open addressing string -> index map; values index a tok_str array kept by the caller. */
typedef struct {
    int32_t *slots; /* -1 empty */
    uint32_t *hash; /* cached hash per slot */
    size_t mask;
    size_t n;
} tok_strmap;

/* (left id, right id) -> (rank, merged id). */
typedef struct {
    uint32_t a, b;   /* a == UINT32_MAX: empty */
    int32_t rank, id;
} tok_pair;
typedef struct {
    tok_pair *slots;
    size_t mask, n;
} tok_pairmap;

/* ---- added tokens --------------------------------------------------------------------------- */
typedef struct {
    int32_t id;
    tok_str content;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

/* ---- pipeline steps ------------------------------------------------------------------------- */
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PT_SPLIT, PT_BYTELEVEL, PT_METASPACE };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

typedef struct {
    int kind;
    pcre2_code *re;       /* PT_SPLIT; PT_BYTELEVEL with use_regex; PT_METASPACE split on the replacement */
    int behavior, invert;
    int add_prefix_space; /* PT_BYTELEVEL */
    char repl[8];         /* PT_METASPACE replacement (UTF-8) */
    int repl_len;
    int prepend_scheme, split;
} tok_pt_step;

enum { NORM_PREPEND, NORM_REPLACE, NORM_REPLACE_RE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD };
typedef struct {
    int kind;
    char *a, *b;          /* PREPEND: a; REPLACE: a -> b; REPLACE_RE: re -> b */
    size_t a_len, b_len;
    pcre2_code *re;
} tok_norm_step;

/* ---- the tokenizer -------------------------------------------------------------------------- */
struct lf_tokenizer {
    char *name;
    int32_t n_vocab;             /* max id + 1 over model vocab and added tokens */
    tok_arena arena;
    tok_str *vocab;              /* [n_vocab]: model vocabulary spelling of each id (holes allowed) */
    float *scores;               /* [n_vocab] or NULL */
    tok_strmap vmap;             /* vocab string -> id */
    tok_pairmap merges;

    tok_added *added;            /* sorted by content length, longest first */
    int32_t n_added;
    tok_strmap amap;             /* added content -> index into added[] */
    int32_t *added_of_id;        /* [n_vocab]: index into added[] or -1 */
    int32_t *added_by_byte;      /* added[] indices grouped by first byte, longest first */
    int32_t added_bucket[257];   /* added_by_byte[added_bucket[b] .. added_bucket[b+1]) start with byte b */
    int has_normalized_added, has_raw_added;

    /* model options */
    int byte_level;              /* input bytes mapped through the GPT-2 alphabet before BPE */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t unk_id;
    int32_t byte_id[256];        /* byte_level: id of the alphabet char of each byte; else id of <0xNN> (-1 if absent) */

    /* pipeline */
    tok_norm_step norm[TOK_MAX_STEPS];
    int n_norm;
    tok_pt_step pt[TOK_MAX_STEPS];
    int n_pt;
    uint32_t max_ovector;

    /* decoder */
    int dec_byte_level;          /* ByteLevel: alphabet chars back to bytes */
    char *dec_from, *dec_to;     /* Replace (e.g. "▁" -> " ") */
    size_t dec_from_len, dec_to_len;
    int dec_byte_fallback;       /* <0xNN> -> byte */
    int dec_strip_start;         /* Strip: leading ' ' to drop from the whole text */

    int32_t bos, eos;
    int adds_bos;
};

/* ---- tokenizer.c ---------------------------------------------------------------------------- */
lf_tokenizer *tok_new(const char *name);
const char *tok_text(const lf_tokenizer *t, tok_str s);
/* Copies s into the arena. */
lf_status tok_arena_add(lf_tokenizer *t, const char *s, size_t n, tok_str *out);
/* Allocate vocab arrays for n ids (all holes). */
lf_status tok_alloc_vocab(lf_tokenizer *t, int32_t n, int with_scores);
/* Grow the id space to n (new ids are holes). */
lf_status tok_grow_vocab(lf_tokenizer *t, int32_t n);
/* Set the spelling of id; duplicate strings are an error unless allow_dup (then the later id wins). */
lf_status tok_set_token(lf_tokenizer *t, int32_t id, const char *s, size_t n, int allow_dup);
lf_status tok_build_vmap(lf_tokenizer *t, int allow_dup);
int32_t tok_vocab_find(const lf_tokenizer *t, const char *s, size_t n);
lf_status tok_add_added(lf_tokenizer *t, int32_t id, const char *s, size_t n, int special, int lstrip,
                        int rstrip, int single_word, int normalized);
/* After vocab, merges and added tokens are in: sort added tokens, build maps, byte tables. */
lf_status tok_finish(lf_tokenizer *t);
uint32_t tok_hash(const char *s, size_t n);
lf_status tok_strmap_init(tok_strmap *m, size_t n_expected);
void tok_strmap_free(tok_strmap *m);
/* Index of the key equal to s[0..n) (h = tok_hash(s, n)), or -1. */
int32_t tok_strmap_find(const tok_strmap *m, const lf_tokenizer *t, const tok_str *keys, const char *s, size_t n, uint32_t h);
/* Insert keys[idx]; if an equal key is there, return its index (and replace it when replace). */
int32_t tok_strmap_insert(tok_strmap *m, const lf_tokenizer *t, const tok_str *keys, int32_t idx, int replace);
int tok_is_special(const lf_tokenizer *t, int32_t id);

/* ---- bpe.c ---------------------------------------------------------------------------------- */
lf_status tok_pairmap_init(tok_pairmap *m, size_t n_expected);
void tok_pairmap_free(tok_pairmap *m);
/* Returns 1 if inserted, 0 if the pair was already there (the first rank stays). */
int tok_pairmap_put(tok_pairmap *m, uint32_t a, uint32_t b, int32_t rank, int32_t id);
const tok_pair *tok_pairmap_get(const tok_pairmap *m, uint32_t a, uint32_t b);
/* Merges ranked the way transformers derives them from SentencePiece scores. */
lf_status tok_merges_from_scores(lf_tokenizer *t);

typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;
lf_status tok_ids_push(tok_ids *ids, int32_t id);

typedef struct tok_bpe_scratch tok_bpe_scratch;
tok_bpe_scratch *tok_bpe_scratch_new(void);
void tok_bpe_scratch_free(tok_bpe_scratch *s);
/* BPE over one pre-tokenized word (raw bytes when byte_level, else the normalized text). */
lf_status tok_bpe_word(const lf_tokenizer *t, const char *w, size_t n, tok_bpe_scratch *sc, tok_ids *out);

/* ---- pretok.c ------------------------------------------------------------------------------- */
/* Compile a regex (UTF-8 + UCP; literal when literal != 0; JIT when available). */
lf_status tok_regex_compile(lf_tokenizer *t, const char *pattern, size_t len, int literal, const char *what,
                            pcre2_code **out);
void tok_steps_free(lf_tokenizer *t);

typedef struct { size_t a, b; int match; } tok_span;
typedef struct { tok_span *v; size_t n, cap; } tok_spans;
typedef struct {
    char *v;
    size_t n, cap;
} tok_buf;
typedef struct {
    tok_ids *out;
    int parse_special;
    tok_bpe_scratch *bpe;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    tok_spans spans[TOK_MAX_STEPS + 1];
    tok_buf bufs[TOK_MAX_STEPS + 1];
} tok_enc_ctx;
lf_status tok_ctx_init(const lf_tokenizer *t, tok_enc_ctx *c, tok_ids *out);
void tok_ctx_free(tok_enc_ctx *c);
/* Normalizer chain over s; result in *out (owned by the caller's tok_buf). */
lf_status tok_normalize(const lf_tokenizer *t, const char *s, size_t n, tok_buf *out);
/* Pre-tokenizer chain + BPE of one text segment; at_start: it begins at byte 0 of the input. */
lf_status tok_pretok_run(const lf_tokenizer *t, tok_enc_ctx *c, const char *s, size_t n, int at_start);
lf_status tok_buf_put(tok_buf *b, const char *s, size_t n);

/* ---- encode.c ------------------------------------------------------------------------------- */
lf_status tok_encode_text(const lf_tokenizer *t, const char *text, size_t len, int parse_special, tok_ids *out);
extern const char TOK_RE_GPT2[];
extern const char TOK_RE_LLAMA3[];
extern const char TOK_RE_QWEN2[];

/* ---- utf8.c --------------------------------------------------------------------------------- */
/* Returns the offset of the first invalid byte, or len if all valid. */
size_t tok_utf8_check(const unsigned char *s, size_t len);
/* Length of the UTF-8 sequence starting at s (1..4), assuming valid input. */
int tok_utf8_len(unsigned char c);
int tok_utf8_encode(uint32_t cp, char *out);
uint32_t tok_utf8_decode(const unsigned char *s, int *len); /* valid input only */
/* Length of a valid sequence at s[0..n) (1..4), 0 if it is a (possibly) incomplete prefix of one,
 * or -k when the first k bytes are a maximal invalid subpart (one U+FFFD). */
int tok_utf8_step(const unsigned char *s, size_t n);
int tok_is_unicode_space(uint32_t cp);
/* GPT-2 byte <-> alphabet code point. */
uint32_t tok_byte_to_cp(unsigned char b);
int tok_cp_to_byte(uint32_t cp); /* -1 if cp is not in the alphabet */

#endif
