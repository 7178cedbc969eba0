/* fuzz_decode.c — lf_tokenizer_decode, the streaming lf_tok_decoder_push/flush and
 * lf_tokenizer_token_bytes/token_text on arbitrary token ids with fixed tokenizers
 * (fuzz_fixed_tok.h). Byte 0: bit 0 with_special, bits 1-2 the tokenizer, bit 3 raw ids (else
 * folded into [-2, vocab+1] so that most are valid), bits 4-7 the streaming output buffer size.
 * The rest: little-endian int32 ids. Out-of-range and negative ids must be refused, never crash;
 * outputs must be valid UTF-8 and fit their buffers (exact-size heap buffers, checked by ASan). */
#include "fuzz_common.h"
#include "fuzz_fixed_tok.h"
#include "fuzz_tok.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fuzz_load_fixed_tokenizers();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const size_t caps[16] = {LF_TOK_DECODE_MAX, 1, 2, 3, 4, 5, 7, 8, 13, 16, 32, 64, 100, 512, 4096, LF_TOK_DECODE_MAX};
    unsigned flags = data[0];
    int with_special = flags & 1;
    int k = fuzz_pick((flags >> 1) & 3);
    int raw = (flags >> 3) & 1;
    size_t cap = caps[(flags >> 4) & 15];
    const lf_tokenizer *t = fuzz_tok[k];
    int nv = lf_tokenizer_vocab_size(t);
    size_t n = (size - 1) / 4;
    int32_t *ids = (int32_t *)malloc(n ? n * sizeof *ids : 1);
    if (!ids) return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, data + 1 + 4 * i, 4);
        ids[i] = raw ? (int32_t)v : (int32_t)(v % (uint32_t)(nv + 4)) - 2;
    }
    fuzz_check_decode(t, ids, n, with_special, cap);
    free(ids);
    return 0;
}
