/* tokenizer.h — BPE tokenizers compatible with HF `tokenizers`:
 *   - byte-level BPE with a pre-tokenizer regex (GPT-2 / LLaMA-3 / SmolLM2 style),
 *   - SentencePiece-style BPE with byte fallback (LLaMA-1/2 style, "▁" for spaces),
 * loaded from tokenizer.json or from GGUF metadata (tokenizer.ggml.*), with added/special tokens.
 * Decoding streams: lf_tok_decoder hands out only complete UTF-8 sequences. */
#ifndef LF_TOKENIZER_H
#define LF_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>
#include "../core/error.h"

struct lf_gguf;
typedef struct lf_tokenizer lf_tokenizer;

lf_status lf_tokenizer_load_json(const char *path, lf_tokenizer **out);
/* From an in-memory tokenizer.json (name is used in errors); used by the fuzzer. */
lf_status lf_tokenizer_load_json_buf(const char *json, size_t len, const char *name, lf_tokenizer **out);
lf_status lf_tokenizer_load_gguf(const struct lf_gguf *g, const char *name, lf_tokenizer **out);
void lf_tokenizer_free(lf_tokenizer *t);

int lf_tokenizer_vocab_size(const lf_tokenizer *t);
int lf_tokenizer_bos(const lf_tokenizer *t);   /* -1 if none */
int lf_tokenizer_eos(const lf_tokenizer *t);   /* -1 if none */
/* Whether the tokenizer's post-processor / GGUF add_bos_token prepends BOS by default. */
int lf_tokenizer_adds_bos(const lf_tokenizer *t);
/* Token id of an exact token string, or -1. */
int lf_tokenizer_find(const lf_tokenizer *t, const char *piece);

/* Override BOS / EOS (-1 = none) and whether BOS is added by default, e.g. from a
 * tokenizer_config.json the loader has read. LINFER_ERR_INVALID_ARG for ids out of range. */
lf_status lf_tokenizer_set_special_ids(lf_tokenizer *t, int bos, int eos, int adds_bos);
/* 1 if id is a special token (HF added token with special=true; GGUF control/unknown type). */
int lf_tokenizer_is_special(const lf_tokenizer *t, int32_t id);
/* The stored spelling of a token ("Ġthe", "▁the", "<|im_end|>"), not NUL-safe but NUL-terminated;
 * *len (if non-NULL) gets its length. NULL for an out-of-range id or an unused id. */
const char *lf_tokenizer_token_text(const lf_tokenizer *t, int32_t id, size_t *len);

/* Longest decoded text of a single token (token strings are limited to 64 KiB). A streaming
 * decoder output buffer of LF_TOK_DECODE_MAX bytes always suffices. */
#define LF_TOK_PIECE_MAX (64 * 1024)
#define LF_TOK_DECODE_MAX (3 * (LF_TOK_PIECE_MAX + 8) + 1)

/* Encode len bytes of text. add_bos: prepend BOS (if the tokenizer has one).
 * parse_special: split out added/special tokens that appear literally in the text.
 * Invalid UTF-8 in the input is an error (LINFER_ERR_INVALID_ARG) naming the byte offset.
 * *ids is malloc'd. */
lf_status lf_tokenizer_encode(const lf_tokenizer *t, const char *text, size_t len, int add_bos,
                              int parse_special, int32_t **ids, size_t *n_ids);

/* Raw bytes of one token as it decodes (byte-level mapping undone, "▁" -> " ", <0xNN> -> byte).
 * Special tokens decode to their text only when with_special is set, else to "".
 * Returns the byte count written (<= cap; a longer token is cut at cap), or -1 for an out-of-range id.
 * Not NUL-terminated; may be part of a UTF-8 sequence. */
int lf_tokenizer_token_bytes(const lf_tokenizer *t, int32_t id, int with_special, char *buf, size_t cap);

/* Streaming decoder: feed ids, get back text that is valid UTF-8. */
typedef struct {
    const lf_tokenizer *tok;
    int with_special;
    int n_pending;
    unsigned char pending[8];  /* bytes of an incomplete UTF-8 sequence */
    int at_start;              /* SentencePiece: drop the leading space of the first token */
} lf_tok_decoder;
void lf_tok_decoder_init(lf_tok_decoder *d, const lf_tokenizer *t, int with_special);
/* Writes NUL-terminated text to out (cap bytes); returns bytes written (without the NUL), or -1 on a
 * bad id or when cap is too small for this token's text (then nothing is consumed: the decoder
 * state is unchanged; LF_TOK_DECODE_MAX always fits, ordinary tokens need far less). */
int lf_tok_decoder_push(lf_tok_decoder *d, int32_t id, char *out, size_t cap);
/* Whatever is still pending, as U+FFFD replacement characters. */
int lf_tok_decoder_flush(lf_tok_decoder *d, char *out, size_t cap);

/* Whole-sequence decode into a malloc'd NUL-terminated string (HF decode(skip_special_tokens=!with_special)). */
lf_status lf_tokenizer_decode(const lf_tokenizer *t, const int32_t *ids, size_t n, int with_special, char **out);
#endif
