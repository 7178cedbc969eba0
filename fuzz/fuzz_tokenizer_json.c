/* fuzz_tokenizer_json.c — lf_tokenizer_load_json_buf on arbitrary bytes; a tokenizer that loads
 * is exercised (queries, encode of a fixed text with every flag, decode, streaming decode,
 * fuzz_tok.h) and freed. */
#include "fuzz_common.h"
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_tokenizer *tok = (lf_tokenizer *)0x1;
    lf_status s = lf_tokenizer_load_json_buf((const char *)data, size, "fuzz/tokenizer.json", &tok);
    fuzz_report("tokenizer_load_json_buf", s);
    if (s != LINFER_OK) {
        FUZZ_CHECK(tok == NULL, "load failed but returned a tokenizer");
        return 0;
    }
    FUZZ_CHECK(tok != NULL, "load OK without a tokenizer");
    fuzz_exercise_tokenizer(tok);
    lf_tokenizer_free(tok);
    return 0;
}
