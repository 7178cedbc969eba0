/* fuzz_fixed_tok.h — the fixed tokenizers that fuzz_encode and fuzz_decode feed arbitrary input
 * to, loaded once from LLVMFuzzerInitialize:
 *   0  tests/data/tokenizer/smollm2/tokenizer.json   byte-level BPE, Digits + GPT-2 split
 *   1  tests/data/tokenizer/llama-spm/tokenizer.json SentencePiece-style BPE, byte fallback
 *   2  tests/data/fuzz/gguf/tok-llama-spm.gguf        'llama' tokenizer from GGUF metadata
 *   3  tests/data/fuzz/gguf/tok-gpt2-llama3.gguf      'gpt2' tokenizer (llama3 split) from GGUF
 * The two from tokenizer.json are required (the target aborts without them); the GGUF ones are
 * the committed seeds of fuzz_gguf and are used when present. */
#ifndef LF_FUZZ_FIXED_TOK_H
#define LF_FUZZ_FIXED_TOK_H
#include "fuzz_common.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer.h"

#define FUZZ_N_TOK 4
static lf_tokenizer *fuzz_tok[FUZZ_N_TOK];
static int fuzz_tok_byte_level[FUZZ_N_TOK] = {1, 0, 0, 1};

static lf_tokenizer *fuzz_load_json_tok(const char *rel) {
    const char *p = fuzz_data_path(rel);
    lf_tokenizer *t = NULL;
    if (!p || lf_tokenizer_load_json(p, &t) != LINFER_OK) {
        fprintf(stderr, "fuzz: cannot load %s (%s); run from the repository root or set LINFER_FUZZ_DATA=<repo>/tests/data\n",
                rel, p ? linfer_last_error() : "not found");
        abort();
    }
    return t;
}

static lf_tokenizer *fuzz_load_gguf_tok(const char *rel) {
    const char *p = fuzz_data_path(rel);
    if (!p) return NULL;
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* the tokenizer keeps pointers into nothing of the buffer (it copies), but keep it static anyway */
    lf_gguf g;
    lf_tokenizer *t = NULL;
    if (lf_gguf_parse(buf, n, rel, &g) != LINFER_OK) {
        fprintf(stderr, "fuzz: %s: %s\n", rel, linfer_last_error());
        return NULL;
    }
    if (lf_tokenizer_load_gguf(&g, rel, &t) != LINFER_OK) {
        fprintf(stderr, "fuzz: %s: %s\n", rel, linfer_last_error());
        t = NULL;
    }
    lf_gguf_free(&g);
    return t;
}

/* fuzz_byte_ok[k][b]: tokenizer k has a token for byte b (byte-level: its GPT-2 alphabet
 * character; SentencePiece: <0xNN>). HF drops a byte that has none (no unk token), so text with
 * such a byte does not survive encode + decode. */
static unsigned char fuzz_byte_ok[FUZZ_N_TOK][256];

static void fuzz_byte_tokens(int k) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        char s[8];
        if (fuzz_tok_byte_level[k]) {
            int self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            unsigned cp = self ? (unsigned)b : 256u + (unsigned)n++;
            if (cp < 0x80) { s[0] = (char)cp; s[1] = 0; }
            else { s[0] = (char)(0xC0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3F)); s[2] = 0; }
        } else {
            snprintf(s, sizeof s, "<0x%02X>", b);
        }
        fuzz_byte_ok[k][b] = lf_tokenizer_find(fuzz_tok[k], s) >= 0;
    }
}

static void fuzz_load_fixed_tokenizers(void) {
    fuzz_tok[0] = fuzz_load_json_tok("tokenizer/smollm2/tokenizer.json");
    fuzz_tok[1] = fuzz_load_json_tok("tokenizer/llama-spm/tokenizer.json");
    fuzz_tok[2] = fuzz_load_gguf_tok("fuzz/gguf/tok-llama-spm.gguf");
    fuzz_tok[3] = fuzz_load_gguf_tok("fuzz/gguf/tok-gpt2-llama3.gguf");
    for (int k = 0; k < FUZZ_N_TOK; k++)
        if (fuzz_tok[k]) fuzz_byte_tokens(k);
}

/* Tokenizer for selector k (falls back to 0/1 if a GGUF one is missing). */
static int fuzz_pick(unsigned k) {
    k %= FUZZ_N_TOK;
    if (!fuzz_tok[k]) k &= 1;
    return (int)k;
}
#endif
