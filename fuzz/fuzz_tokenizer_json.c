/* fuzz_tokenizer_json.c — lf_tokenizer_load_json_buf on arbitrary bytes; a tokenizer that loads
 * is exercised (queries, encode of fixed texts with every flag, decode, streaming decode with
 * exact-size buffers: fuzz_tok.h) and freed.
 * Input: the JSON, optionally followed by a NUL byte and a text: then that text is encoded too
 * (byte 0 of it: bit 0 add_bos, bit 1 parse_special), so that the fuzzer varies the text that a
 * fuzzed normalizer / pre-tokenizer / added-token set runs on. */
#include "fuzz_common.h"
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = (const uint8_t *)memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    lf_tokenizer *tok = (lf_tokenizer *)0x1;
    lf_status s = lf_tokenizer_load_json_buf((const char *)data, jlen, "fuzz/tokenizer.json", &tok);
    fuzz_report("tokenizer_load_json_buf", s);
    if (s != LINFER_OK) {
        FUZZ_CHECK(tok == NULL, "load failed but returned a tokenizer");
        return 0;
    }
    FUZZ_CHECK(tok != NULL, "load OK without a tokenizer");
    fuzz_exercise_tokenizer(tok);
    if (nul && size - jlen >= 2) {
        const char *text = (const char *)nul + 2;
        size_t len = size - jlen - 2;
        int32_t *ids = NULL;
        size_t n = 0;
        lf_status es = fuzz_check_encode(tok, text, len, nul[1] & 1, (nul[1] >> 1) & 1, &ids, &n);
        fuzz_report("tokenizer_encode", es);
        if (!fuzz_utf8_valid(text, len)) FUZZ_CHECK(es == LINFER_ERR_INVALID_ARG, "invalid UTF-8 text accepted (status %d)", (int)es);
        if (es == LINFER_OK) {
            fuzz_check_decode(tok, ids, n, nul[1] & 1, LF_TOK_DECODE_MAX);
            free(ids);
        }
    }
    lf_tokenizer_free(tok);
    return 0;
}
