/* fuzz_encode.c — lf_tokenizer_encode on arbitrary bytes with fixed tokenizers (fuzz_fixed_tok.h).
 * Byte 0 holds the flags: bit 0 add_bos, bit 1 parse_special, bits 2-3 the tokenizer; the rest
 * is the text. Invalid UTF-8 must be refused; valid text must encode to in-range ids, and for
 * the lossless tokenizers decode(encode(text)) must give the text back, when the tokenizer has a
 * token for every byte of the text (else HF, and so linfer, drop that byte):
 *   - byte-level BPE (0, 3): always (special tokens decode to their text with with_special);
 *   - SentencePiece (1, 2): without parse_special and when the text has no U+2581 (which decodes
 *     to a space), and the streaming decoder must agree with the whole-sequence decode. */
#include "fuzz_common.h"
#include "fuzz_fixed_tok.h"
#include "fuzz_tok.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fuzz_load_fixed_tokenizers();
    return 0;
}

static void roundtrip(const lf_tokenizer *t, int k, const char *text, size_t len, int add_bos, int parse_special,
                      const int32_t *ids, size_t n) {
    if (memchr(text, 0, len)) return; /* decode returns a C string */
    for (size_t i = 0; i < len; i++)
        if (!fuzz_byte_ok[k][(unsigned char)text[i]]) return; /* dropped, as HF drops it */
    int spm = !fuzz_tok_byte_level[k];
    if (spm && (parse_special || memmem(text, len, "\xE2\x96\x81", 3))) return;
    size_t skip = add_bos && lf_tokenizer_bos(t) >= 0 ? 1 : 0;
    char *s = NULL;
    FUZZ_CHECK(lf_tokenizer_decode(t, ids + skip, n - skip, 1, &s) == LINFER_OK, "decode of encode output failed");
    FUZZ_CHECK(strlen(s) == len && memcmp(s, text, len) == 0, "tokenizer %d: decode(encode(text)) != text (%zu vs %zu bytes)", k,
               strlen(s), len);
    free(s);
    /* streaming decode of the same ids gives the same text */
    static char out[LF_TOK_DECODE_MAX];
    char *acc = (char *)malloc(len * 3 + 16);
    size_t an = 0;
    lf_tok_decoder d;
    lf_tok_decoder_init(&d, t, 1);
    for (size_t i = skip; i < n; i++) {
        int r = lf_tok_decoder_push(&d, ids[i], out, sizeof out);
        FUZZ_CHECK(r >= 0, "decoder_push failed on id %d", ids[i]);
        FUZZ_CHECK(an + (size_t)r <= len * 3 + 3, "streaming decode longer than the text");
        memcpy(acc + an, out, (size_t)r);
        an += (size_t)r;
    }
    int r = lf_tok_decoder_flush(&d, out, sizeof out);
    FUZZ_CHECK(r == 0, "decoder has pending bytes after a complete text");
    FUZZ_CHECK(an == len && memcmp(acc, text, len) == 0, "tokenizer %d: streaming decode != text (%zu vs %zu bytes)", k, an, len);
    free(acc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned flags = data[0];
    int add_bos = flags & 1, parse_special = (flags >> 1) & 1;
    int k = fuzz_pick(flags >> 2);
    const lf_tokenizer *t = fuzz_tok[k];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int valid = fuzz_utf8_valid(text, len);
    int32_t *ids = NULL;
    size_t n = 0;
    lf_status s = fuzz_check_encode(t, text, len, add_bos, parse_special, &ids, &n);
    fuzz_report("tokenizer_encode", s);
    if (!valid) {
        FUZZ_CHECK(s == LINFER_ERR_INVALID_ARG, "invalid UTF-8 accepted (status %d)", (int)s);
        return 0;
    }
    FUZZ_CHECK(s == LINFER_OK, "encode of valid UTF-8 failed: %d", (int)s);
    roundtrip(t, k, text, len, add_bos, parse_special, ids, n);
    free(ids);
    return 0;
}
