/* test_tokenizer.c — tokenizer tests against references made by others:
 *   - HF `tokenizers` goldens (tests/data/tokenizer/<vocab>/golden.tsv, made by
 *     tools/make_tokenizer_golden.py): SmolLM2 via tokenizer.json and via its GGUF, LLaMA-2-style
 *     SentencePiece via tokenizer.json (legacy normalizer and Metaspace layouts) and via GGUF,
 *     LLaMA-3 via GGUF; encode ids, decode with and without special tokens, streaming decode;
 *   - llama.cpp's own vectors (models/vocab/ggml-vocab-llama-{bpe,spm}.gguf.inp/.out);
 *   - round trips, invalid UTF-8, corrupt tokenizer.json / GGUF inputs (must fail cleanly).
 * Tests needing files fetched by scripts/fetch_model.sh / scripts/fetch_vocab.sh skip when they
 * are absent; the committed goldens always run. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "tokenizer/tokenizer.h"
#include "model/gguf.h"
#include "core/mapfile.h"

#define DATA "tests/data/tokenizer"
#define SMOL_GGUF "models/SmolLM2-135M-Instruct.Q4_1.gguf"
#define VOCAB_DIR "models/vocab"

/* ---- match statistics, printed at the end ------------------------------------------------ */
typedef struct { const char *name; int enc_ok, enc_n, dec_ok, dec_n; } stat_row;
static stat_row stats[16];
static int n_stats;

static stat_row *stat_for(const char *name) {
    for (int i = 0; i < n_stats; i++)
        if (!strcmp(stats[i].name, name)) return &stats[i];
    stats[n_stats].name = name;
    return &stats[n_stats++];
}

/* ---- helpers ------------------------------------------------------------------------------ */
static int file_exists(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *unhex(const char *s, size_t n, size_t *out_len) {
    char *o = malloc(n / 2 + 1);
    assert_non_null(o);
    for (size_t i = 0; i + 1 < n; i += 2) o[i / 2] = (char)(hexv(s[i]) * 16 + hexv(s[i + 1]));
    o[n / 2] = 0;
    *out_len = n / 2;
    return o;
}

typedef struct {
    char *text, *dec, *dec_skip;
    size_t len, dec_len, dec_skip_len;
    int32_t *ids;
    size_t n;
} gcase;

static void free_cases(gcase *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(c[i].text); free(c[i].dec); free(c[i].dec_skip); free(c[i].ids);
    }
    free(c);
}

/* golden.tsv: hex(text) \t ids \t hex(decode) \t hex(decode skip special) */
static gcase *load_golden(const char *path, size_t *n_out) {
    char *buf = NULL;
    size_t len = 0;
    lf_status s = lf_read_file(path, 64u << 20, &buf, &len);
    if (s) fail_msg("cannot read %s: %s", path, linfer_last_error());
    size_t cap = 1024, n = 0;
    gcase *c = calloc(cap, sizeof *c);
    char *line = buf;
    while (line < buf + len) {
        char *end = strchr(line, '\n');
        if (!end) end = buf + len;
        *end = 0;
        if (end > line) {
            if (n == cap) { cap *= 2; c = realloc(c, cap * sizeof *c); memset(c + n, 0, (cap - n) * sizeof *c); }
            char *f[4] = {line, NULL, NULL, NULL};
            for (int k = 1; k < 4; k++) {
                char *tab = strchr(f[k - 1], '\t');
                if (!tab) fail_msg("%s: line %zu has fewer than 4 fields", path, n + 1);
                *tab = 0;
                f[k] = tab + 1;
            }
            gcase *g = &c[n++];
            g->text = unhex(f[0], strlen(f[0]), &g->len);
            g->dec = unhex(f[2], strlen(f[2]), &g->dec_len);
            g->dec_skip = unhex(f[3], strlen(f[3]), &g->dec_skip_len);
            size_t idcap = 16;
            g->ids = malloc(idcap * sizeof *g->ids);
            for (char *p = f[1]; *p;) {
                while (*p == ' ') p++;
                if (!*p) break;
                if (g->n == idcap) { idcap *= 2; g->ids = realloc(g->ids, idcap * sizeof *g->ids); }
                g->ids[g->n++] = (int32_t)strtol(p, &p, 10);
            }
        }
        line = end + 1;
    }
    free(buf);
    *n_out = n;
    return c;
}

static void print_escaped(const char *label, const char *s, size_t n) {
    fprintf(stderr, "%s\"", label);
    for (size_t i = 0; i < n && i < 160; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') fprintf(stderr, "\\n");
        else if (ch == '\t') fprintf(stderr, "\\t");
        else if (ch < 0x20 || ch == 0x7f) fprintf(stderr, "\\x%02x", ch);
        else fputc(ch, stderr);
    }
    fprintf(stderr, "%s\"\n", n > 160 ? "..." : "");
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "%s[", label);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, "%s%d", i ? " " : "", ids[i]);
    fprintf(stderr, "%s]\n", n > 40 ? " ..." : "");
}

static int valid_utf8(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        int k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c == 0xE0) { k = 2; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEF) { k = 2; if (c == 0xED) hi = 0x9F; }
        else if (c == 0xF0) { k = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 3;
        else if (c == 0xF4) { k = 3; hi = 0x8F; }
        else return 0;
        if (i + (size_t)k >= n) return 0;
        if (u[i + 1] < lo || u[i + 1] > hi) return 0;
        for (int j = 2; j <= k; j++)
            if ((u[i + j] & 0xC0) != 0x80) return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

static lf_tokenizer *load_json_or_fail(const char *path) {
    lf_tokenizer *t = NULL;
    lf_status s = lf_tokenizer_load_json(path, &t);
    if (s) fail_msg("load %s: %s: %s", path, linfer_status_name(s), linfer_last_error());
    return t;
}

typedef struct { lf_mapped_file mf; lf_gguf g; } gguf_file;

static lf_tokenizer *load_gguf_or_fail(const char *path) {
    lf_mapped_file mf;
    lf_gguf g;
    lf_status s = lf_map_file(path, &mf);
    if (s) fail_msg("map %s: %s", path, linfer_last_error());
    s = lf_gguf_parse(mf.data, mf.size, path, &g);
    if (s) fail_msg("parse %s: %s", path, linfer_last_error());
    lf_tokenizer *t = NULL;
    s = lf_tokenizer_load_gguf(&g, path, &t);
    lf_gguf_free(&g);
    lf_unmap_file(&mf);
    if (s) fail_msg("tokenizer from %s: %s: %s", path, linfer_status_name(s), linfer_last_error());
    return t;
}

/* Streaming decode of ids; returns the concatenation (malloc'd), checks each piece is UTF-8. */
static char *stream_decode(const lf_tokenizer *t, const int32_t *ids, size_t n, int with_special, size_t *len) {
    lf_tok_decoder d;
    lf_tok_decoder_init(&d, t, with_special);
    size_t cap = 256, o = 0;
    char *acc = malloc(cap);
    char piece[LF_TOK_DECODE_MAX];
    for (size_t i = 0; i <= n; i++) {
        int k = i < n ? lf_tok_decoder_push(&d, ids[i], piece, sizeof piece) : lf_tok_decoder_flush(&d, piece, sizeof piece);
        assert_true(k >= 0);
        assert_int_equal(strlen(piece), (size_t)k);
        assert_true(valid_utf8(piece, (size_t)k));
        if (o + (size_t)k + 1 > cap) { while (o + (size_t)k + 1 > cap) cap *= 2; acc = realloc(acc, cap); }
        memcpy(acc + o, piece, (size_t)k);
        o += (size_t)k;
    }
    acc[o] = 0;
    *len = o;
    return acc;
}

/* Every golden case: encode ids, decode both ways, streaming decode. */
static void run_golden_n(lf_tokenizer *t, const char *golden, const char *label, size_t min_cases) {
    size_t n;
    gcase *c = load_golden(golden, &n);
    assert_true(n >= min_cases);
    stat_row *st = stat_for(label);
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t *ids = NULL;
        size_t nid = 0;
        lf_status s = lf_tokenizer_encode(t, c[i].text, c[i].len, 0, 1, &ids, &nid);
        if (s) fail_msg("%s: encode case %zu failed: %s", label, i, linfer_last_error());
        int ok = nid == c[i].n && (nid == 0 || memcmp(ids, c[i].ids, nid * sizeof *ids) == 0);
        st->enc_n++;
        st->enc_ok += ok;
        if (!ok && shown++ < 5) {
            fprintf(stderr, "%s: case %zu differs\n", label, i);
            print_escaped("  text: ", c[i].text, c[i].len);
            print_ids("  HF:   ", c[i].ids, c[i].n);
            print_ids("  ours: ", ids, nid);
        }
        free(ids);
        /* decoding HF's ids */
        char *d1 = NULL, *d2 = NULL;
        assert_int_equal(lf_tokenizer_decode(t, c[i].ids, c[i].n, 1, &d1), LINFER_OK);
        assert_int_equal(lf_tokenizer_decode(t, c[i].ids, c[i].n, 0, &d2), LINFER_OK);
        int dok = strlen(d1) == c[i].dec_len && memcmp(d1, c[i].dec, c[i].dec_len) == 0 &&
                  strlen(d2) == c[i].dec_skip_len && memcmp(d2, c[i].dec_skip, c[i].dec_skip_len) == 0;
        size_t sl;
        char *sd = stream_decode(t, c[i].ids, c[i].n, 1, &sl);
        dok &= sl == c[i].dec_len && memcmp(sd, c[i].dec, sl) == 0;
        st->dec_n++;
        st->dec_ok += dok;
        if (!dok && shown++ < 5) {
            fprintf(stderr, "%s: decode of case %zu differs\n", label, i);
            print_escaped("  HF:        ", c[i].dec, c[i].dec_len);
            print_escaped("  ours:      ", d1, strlen(d1));
            print_escaped("  HF skip:   ", c[i].dec_skip, c[i].dec_skip_len);
            print_escaped("  ours skip: ", d2, strlen(d2));
            print_escaped("  streamed:  ", sd, sl);
        }
        free(d1); free(d2); free(sd);
    }
    free_cases(c, n);
    if (st->enc_ok != st->enc_n || st->dec_ok != st->dec_n)
        fail_msg("%s: %d/%d encodes and %d/%d decodes match HF", label, st->enc_ok, st->enc_n, st->dec_ok, st->dec_n);
}

static void run_golden(lf_tokenizer *t, const char *golden, const char *label) { run_golden_n(t, golden, label, 100); }

/* Load a committed tokenizer.json, let patch() edit it (cJSON), load the result from memory. */
static lf_tokenizer *load_patched(const char *path, void (*patch)(cJSON *, const void *), const void *arg, const char *name) {
    char *buf;
    size_t len;
    assert_int_equal(lf_read_file(path, 64u << 20, &buf, &len), LINFER_OK);
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    assert_non_null(j);
    patch(j, arg);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(txt);
    lf_tokenizer *t = NULL;
    lf_status s = lf_tokenizer_load_json_buf(txt, strlen(txt), name, &t);
    free(txt);
    if (s) fail_msg("%s: %s", name, linfer_last_error());
    return t;
}

/* ---- golden tests ------------------------------------------------------------------------- */
static void test_smollm2_json(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/smollm2/tokenizer.json");
    assert_int_equal(lf_tokenizer_vocab_size(t), 49152);
    assert_int_equal(lf_tokenizer_adds_bos(t), 0);
    assert_int_equal(lf_tokenizer_find(t, "<|im_start|>"), 1);
    assert_int_equal(lf_tokenizer_find(t, "<|im_end|>"), 2);
    assert_int_equal(lf_tokenizer_eos(t), 0); /* <|endoftext|> (no tokenizer_config.json here) */
    assert_true(lf_tokenizer_is_special(t, 1));
    run_golden(t, DATA "/smollm2/golden.tsv", "smollm2 tokenizer.json");
    lf_tokenizer_free(t);
}

static void test_smollm2_gguf(void **state) {
    (void)state;
    if (!file_exists(SMOL_GGUF)) {
        print_message("SKIP: %s absent (scripts/fetch_model.sh)\n", SMOL_GGUF);
        skip();
    }
    lf_tokenizer *t = load_gguf_or_fail(SMOL_GGUF);
    assert_int_equal(lf_tokenizer_vocab_size(t), 49152);
    assert_int_equal(lf_tokenizer_bos(t), 1);
    assert_int_equal(lf_tokenizer_eos(t), 2);
    assert_int_equal(lf_tokenizer_adds_bos(t), 0);
    run_golden(t, DATA "/smollm2/golden.tsv", "smollm2 GGUF");
    lf_tokenizer_free(t);
}

static void test_llama_spm_json(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/llama-spm/tokenizer.json");
    assert_int_equal(lf_tokenizer_vocab_size(t), 32000);
    assert_int_equal(lf_tokenizer_bos(t), 1);
    assert_int_equal(lf_tokenizer_eos(t), 2);
    assert_int_equal(lf_tokenizer_adds_bos(t), 1);
    int32_t *ids;
    size_t n;
    assert_int_equal(lf_tokenizer_encode(t, "Hello", 5, 1, 1, &ids, &n), LINFER_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 15043);
    free(ids);
    run_golden(t, DATA "/llama-spm/golden.tsv", "llama-spm tokenizer.json");
    lf_tokenizer_free(t);
}

/* The same vocabulary in transformers' layout: no normalizer, Metaspace pre-tokenizer. */
typedef struct { const char *scheme; int split; } meta_cfg;
static void patch_metaspace(cJSON *j, const void *arg) {
    const meta_cfg *m = arg;
    cJSON_ReplaceItemInObjectCaseSensitive(j, "normalizer", cJSON_CreateNull());
    cJSON *pt = cJSON_CreateObject();
    cJSON_AddStringToObject(pt, "type", "Metaspace");
    cJSON_AddStringToObject(pt, "replacement", "\xE2\x96\x81");
    cJSON_AddStringToObject(pt, "prepend_scheme", m->scheme);
    cJSON_AddBoolToObject(pt, "split", m->split);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", pt);
}

static void test_llama_spm_metaspace_json(void **state) {
    (void)state;
    meta_cfg first = {"first", 0}, always_split = {"always", 1};
    lf_tokenizer *t = load_patched(DATA "/llama-spm/tokenizer.json", patch_metaspace, &first, "llama-spm metaspace");
    run_golden(t, DATA "/llama-spm/golden_metaspace.tsv", "llama-spm Metaspace json");
    lf_tokenizer_free(t);
    t = load_patched(DATA "/llama-spm/tokenizer.json", patch_metaspace, &always_split, "llama-spm metaspace split");
    run_golden(t, DATA "/llama-spm/golden_metaspace_split.tsv", "llama-spm Metaspace split json");
    lf_tokenizer_free(t);
}

/* Sequence[Split(pattern, behavior, invert), ByteLevel(use_regex=false)] over SmolLM2's vocab,
 * as tools/make_tokenizer_golden.py builds for smollm2/split/<behavior>-<invert>-<kind>.tsv */
typedef struct { const char *behavior; int invert; int regex; } split_cfg;
static void patch_split(cJSON *j, const void *arg) {
    const split_cfg *c = arg;
    cJSON *seq = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *sp = cJSON_CreateObject(), *pat = cJSON_CreateObject();
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(seq, "type", "Sequence");
    cJSON_AddStringToObject(sp, "type", "Split");
    if (c->regex) cJSON_AddStringToObject(pat, "Regex", "\\s+|[0-9]");
    else cJSON_AddStringToObject(pat, "String", " ");
    cJSON_AddItemToObject(sp, "pattern", pat);
    cJSON_AddStringToObject(sp, "behavior", c->behavior);
    cJSON_AddBoolToObject(sp, "invert", c->invert);
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", 0);
    cJSON_AddBoolToObject(bl, "use_regex", 0);
    cJSON_AddItemToArray(arr, sp);
    cJSON_AddItemToArray(arr, bl);
    cJSON_AddItemToObject(seq, "pretokenizers", arr);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", seq);
}

static void test_split_behaviors(void **state) {
    (void)state;
    static const char *beh[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    for (int b = 0; b < 5; b++)
        for (int inv = 0; inv < 2; inv++)
            for (int re = 1; re >= 0; re--) {
                split_cfg c = {beh[b], inv, re};
                char golden[256];
                snprintf(golden, sizeof golden, DATA "/smollm2/split/%s-%d-%s.tsv", beh[b], inv, re ? "Regex" : "String");
                lf_tokenizer *t = load_patched(DATA "/smollm2/tokenizer.json", patch_split, &c, golden);
                run_golden_n(t, golden, "smollm2 Split x20 variants", 40);
                lf_tokenizer_free(t);
            }
}

/* SmolLM2 plus an NFKC normalizer and added tokens with lstrip / rstrip / single_word /
 * normalized set — the patch tools/make_tokenizer_golden.py applies for golden_flags.tsv. */
static void add_flag_token(cJSON *arr, int id, const char *content, int single, int lstrip, int rstrip, int normalized, int special) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id);
    cJSON_AddStringToObject(o, "content", content);
    cJSON_AddBoolToObject(o, "single_word", single);
    cJSON_AddBoolToObject(o, "lstrip", lstrip);
    cJSON_AddBoolToObject(o, "rstrip", rstrip);
    cJSON_AddBoolToObject(o, "normalized", normalized);
    cJSON_AddBoolToObject(o, "special", special);
    cJSON_AddItemToArray(arr, o);
}

static void test_smollm2_added_flags_json(void **state) {
    (void)state;
    char *buf;
    size_t len;
    assert_int_equal(lf_read_file(DATA "/smollm2/tokenizer.json", 64u << 20, &buf, &len), LINFER_OK);
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    assert_non_null(j);
    cJSON *norm = cJSON_CreateObject();
    cJSON_AddStringToObject(norm, "type", "NFKC");
    cJSON_ReplaceItemInObjectCaseSensitive(j, "normalizer", norm);
    cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    assert_non_null(added);
    add_flag_token(added, 49152, "<mask>", 0, 1, 0, 0, 1);
    add_flag_token(added, 49153, "[R]", 0, 0, 1, 0, 0);
    add_flag_token(added, 49154, "word", 1, 0, 0, 0, 0);
    add_flag_token(added, 49155, "fine tune", 0, 0, 0, 1, 0);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    lf_tokenizer *t = NULL;
    lf_status s = lf_tokenizer_load_json_buf(txt, strlen(txt), "smollm2 flags", &t);
    free(txt);
    if (s) fail_msg("%s", linfer_last_error());
    /* HF ignores the ids in added_tokens: "word" is in the vocabulary (3002), "fine tune" gets 49154 */
    assert_int_equal(lf_tokenizer_vocab_size(t), 49155);
    assert_int_equal(lf_tokenizer_find(t, "word"), 3002);
    assert_int_equal(lf_tokenizer_find(t, "fine tune"), 49154);
    run_golden(t, DATA "/smollm2/golden_flags.tsv", "smollm2 NFKC+added flags json");
    lf_tokenizer_free(t);
}

static void test_llama_spm_gguf(void **state) {
    (void)state;
    if (!file_exists(VOCAB_DIR "/ggml-vocab-llama-spm.gguf")) {
        print_message("SKIP: " VOCAB_DIR " absent (scripts/fetch_vocab.sh)\n");
        skip();
    }
    lf_tokenizer *t = load_gguf_or_fail(VOCAB_DIR "/ggml-vocab-llama-spm.gguf");
    assert_int_equal(lf_tokenizer_bos(t), 1);
    assert_int_equal(lf_tokenizer_adds_bos(t), 1);
    run_golden(t, DATA "/llama-spm/golden.tsv", "llama-spm GGUF");
    lf_tokenizer_free(t);
}

static void test_llama_bpe_gguf(void **state) {
    (void)state;
    if (!file_exists(VOCAB_DIR "/ggml-vocab-llama-bpe.gguf")) {
        print_message("SKIP: " VOCAB_DIR " absent (scripts/fetch_vocab.sh)\n");
        skip();
    }
    lf_tokenizer *t = load_gguf_or_fail(VOCAB_DIR "/ggml-vocab-llama-bpe.gguf");
    assert_int_equal(lf_tokenizer_bos(t), 128000);
    assert_int_equal(lf_tokenizer_eos(t), 128001);
    assert_int_equal(lf_tokenizer_adds_bos(t), 1); /* no add_bos_token key: llama.cpp's llama3 default */
    run_golden(t, DATA "/llama-bpe/golden.tsv", "llama-bpe GGUF");
    lf_tokenizer_free(t);
}

/* llama.cpp's vectors: inputs separated by "\n__ggml_vocab_test__\n", one output line each. */
static void run_llama_cpp_vectors(const char *vocab, const char *label) {
    char gpath[200], ipath[256], opath[256];
    snprintf(gpath, sizeof gpath, VOCAB_DIR "/ggml-vocab-%s.gguf", vocab);
    snprintf(ipath, sizeof ipath, "%s.inp", gpath);
    snprintf(opath, sizeof opath, "%s.out", gpath);
    if (!file_exists(gpath) || !file_exists(ipath) || !file_exists(opath)) {
        print_message("SKIP: %s absent (scripts/fetch_vocab.sh)\n", gpath);
        skip();
    }
    lf_tokenizer *t = load_gguf_or_fail(gpath);
    char *inp, *out;
    size_t ilen, olen;
    assert_int_equal(lf_read_file(ipath, 1u << 20, &inp, &ilen), LINFER_OK);
    assert_int_equal(lf_read_file(opath, 1u << 20, &out, &olen), LINFER_OK);
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep), pos = 0;
    char *oline = out;
    stat_row *st = stat_for(label);
    while (pos < ilen) {
        char *next = strstr(inp + pos, sep);
        size_t tl = next ? (size_t)(next - (inp + pos)) : ilen - pos;
        char *oend = strchr(oline, '\n');
        assert_non_null(oend);
        *oend = 0;
        int32_t want[512];
        size_t nw = 0;
        for (char *p = oline; *p;) {
            while (*p == ' ') p++;
            if (!*p) break;
            want[nw++] = (int32_t)strtol(p, &p, 10);
        }
        oline = oend + 1;
        int32_t *ids;
        size_t n;
        assert_int_equal(lf_tokenizer_encode(t, inp + pos, tl, 0, 0, &ids, &n), LINFER_OK);
        int ok = n == nw && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
        st->enc_n++;
        st->enc_ok += ok;
        if (!ok) {
            print_escaped("llama.cpp vector differs: ", inp + pos, tl);
            print_ids("  llama.cpp: ", want, nw);
            print_ids("  ours:      ", ids, n);
        }
        free(ids);
        if (!next) break;
        pos = (size_t)(next - inp) + seplen;
    }
    free(inp);
    free(out);
    lf_tokenizer_free(t);
    assert_int_equal(st->enc_ok, st->enc_n);
    assert_true(st->enc_n >= 40);
}

static void test_llama_cpp_bpe_vectors(void **state) { (void)state; run_llama_cpp_vectors("llama-bpe", "llama.cpp vectors llama-bpe"); }
static void test_llama_cpp_spm_vectors(void **state) { (void)state; run_llama_cpp_vectors("llama-spm", "llama.cpp vectors llama-spm"); }

/* ---- round trips, streaming ---------------------------------------------------------------- */
static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static size_t put_cp(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); return 3; }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static size_t random_text(char *buf, size_t max_cps) {
    size_t n = 0, k = 1 + rnd() % max_cps;
    for (size_t i = 0; i < k; i++) {
        uint32_t cp;
        switch (rnd() % 8) {
        case 0: cp = ' '; break;
        case 1: cp = (uint32_t)"\t\n\r 0123456789"[rnd() % 14]; break;
        case 2: cp = 0x4E00 + rnd() % 0x5000; break;
        case 3: cp = 0x1F300 + rnd() % 0x300; break;
        case 4: cp = rnd() % 0x80; if (cp < 0x20) cp = ' ' + cp; break; /* SmolLM2 lacks some C0 bytes */
        case 5: cp = 0x80 + rnd() % 0x780; break;
        case 6: /* no surrogates; no lead bytes F1/F2 (U+40000..U+BFFFF): SmolLM2 has no token for them */
            cp = rnd() % 0x110000;
            if ((cp >= 0xD800 && cp < 0xE000) || (cp >= 0x40000 && cp < 0xC0000)) cp = 'x';
            break;
        default: cp = 'a' + rnd() % 26; break;
        }
        n += put_cp(buf + n, cp);
    }
    return n;
}

static void roundtrip(lf_tokenizer *t, const char *label) {
    char text[4 * 200 + 8];
    for (int it = 0; it < 2000; it++) {
        size_t n = random_text(text, 200);
        int32_t *ids;
        size_t nid;
        lf_status s = lf_tokenizer_encode(t, text, n, 0, 0, &ids, &nid);
        if (s) fail_msg("%s: encode failed: %s", label, linfer_last_error());
        char *d;
        assert_int_equal(lf_tokenizer_decode(t, ids, nid, 1, &d), LINFER_OK);
        if (strlen(d) != n || memcmp(d, text, n) != 0) {
            print_escaped("round trip differs: ", text, n);
            print_escaped("  decoded:           ", d, strlen(d));
            fail();
        }
        size_t sl;
        char *sd = stream_decode(t, ids, nid, 1, &sl);
        assert_int_equal(sl, n);
        assert_memory_equal(sd, text, n);
        free(sd);
        free(d);
        free(ids);
    }
}

static void test_roundtrip(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/smollm2/tokenizer.json");
    roundtrip(t, "smollm2");
    lf_tokenizer_free(t);
    t = load_json_or_fail(DATA "/llama-spm/tokenizer.json");
    roundtrip(t, "llama-spm");
    lf_tokenizer_free(t);
}

static void test_streaming_partial_utf8(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/llama-spm/tokenizer.json");
    /* "🦙" = F0 9F A6 99 as four <0xNN> tokens: nothing comes out until the last one */
    int32_t ids[4];
    const char *bytes[] = {"<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"};
    for (int i = 0; i < 4; i++) assert_true((ids[i] = lf_tokenizer_find(t, bytes[i])) >= 0);
    lf_tok_decoder d;
    lf_tok_decoder_init(&d, t, 0);
    char out[64];
    for (int i = 0; i < 3; i++) assert_int_equal(lf_tok_decoder_push(&d, ids[i], out, sizeof out), 0);
    assert_int_equal(lf_tok_decoder_push(&d, ids[3], out, sizeof out), 4);
    assert_string_equal(out, "\xF0\x9F\xA6\x99");
    /* an incomplete sequence then flush: one U+FFFD */
    assert_int_equal(lf_tok_decoder_push(&d, ids[0], out, sizeof out), 0);
    assert_int_equal(lf_tok_decoder_flush(&d, out, sizeof out), 3);
    assert_string_equal(out, "\xEF\xBF\xBD");
    /* an incomplete sequence followed by ASCII: U+FFFD then the text */
    int32_t hello = lf_tokenizer_find(t, "\xE2\x96\x81Hello");
    assert_true(hello >= 0);
    assert_int_equal(lf_tok_decoder_push(&d, ids[0], out, sizeof out), 0);
    assert_int_equal(lf_tok_decoder_push(&d, hello, out, sizeof out), 9);
    assert_string_equal(out, "\xEF\xBF\xBD Hello");
    /* bad ids */
    assert_int_equal(lf_tok_decoder_push(&d, -1, out, sizeof out), -1);
    assert_int_equal(lf_tok_decoder_push(&d, 32000, out, sizeof out), -1);
    assert_int_equal(lf_tokenizer_token_bytes(t, 32000, 1, out, sizeof out), -1);
    char *s = NULL;
    int32_t bad[2] = {5, 99999};
    assert_int_equal(lf_tokenizer_decode(t, bad, 2, 0, &s), LINFER_ERR_INVALID_ARG);
    assert_null(s);
    /* first token: the normalizer's leading space is dropped, only once */
    lf_tok_decoder_init(&d, t, 0);
    assert_int_equal(lf_tok_decoder_push(&d, 1, out, sizeof out), 0); /* <s> skipped */
    assert_int_equal(lf_tok_decoder_push(&d, hello, out, sizeof out), 5);
    assert_string_equal(out, "Hello");
    assert_int_equal(lf_tok_decoder_push(&d, hello, out, sizeof out), 6);
    assert_string_equal(out, " Hello");
    /* token_bytes */
    assert_int_equal(lf_tokenizer_token_bytes(t, hello, 0, out, sizeof out), 6);
    assert_memory_equal(out, " Hello", 6);
    assert_int_equal(lf_tokenizer_token_bytes(t, 1, 0, out, sizeof out), 0);
    assert_int_equal(lf_tokenizer_token_bytes(t, 1, 1, out, sizeof out), 3);
    assert_memory_equal(out, "<s>", 3);
    lf_tokenizer_free(t);
}

/* ---- invalid input ------------------------------------------------------------------------ */
static void test_invalid_utf8(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/smollm2/tokenizer.json");
    struct { const char *s; size_t n; size_t off; } bad[] = {
        {"\xff", 1, 0}, {"abc\xc3", 4, 3}, {"ok \xed\xa0\x80 surrogate", 17, 3}, {"\xc0\xaf", 2, 0},
        {"xx\xf4\x90\x80\x80", 6, 2}, {"\xe2\x82", 2, 0}, {"a\x80", 2, 1}, {"hello \xf0\x9f\x98", 9, 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t *ids = (int32_t *)1;
        size_t n = 7;
        assert_int_equal(lf_tokenizer_encode(t, bad[i].s, bad[i].n, 1, 1, &ids, &n), LINFER_ERR_INVALID_ARG);
        assert_null(ids);
        assert_int_equal(n, 0);
        char want[64];
        snprintf(want, sizeof want, "offset %zu", bad[i].off);
        if (!strstr(linfer_last_error(), want)) fail_msg("message '%s' does not name %s", linfer_last_error(), want);
    }
    /* empty input and embedded NUL are fine */
    int32_t *ids;
    size_t n;
    assert_int_equal(lf_tokenizer_encode(t, "", 0, 0, 1, &ids, &n), LINFER_OK);
    assert_int_equal(n, 0);
    free(ids);
    assert_int_equal(lf_tokenizer_encode(t, "a\0b", 3, 0, 1, &ids, &n), LINFER_OK);
    char *d;
    assert_int_equal(lf_tokenizer_decode(t, ids, n, 1, &d), LINFER_OK);
    assert_memory_equal(d, "a\0b", 3);
    free(d);
    free(ids);
    lf_tokenizer_free(t);
}

/* ---- corrupt tokenizer.json ---------------------------------------------------------------- */
#define MINI_VOCAB "{\"a\":0,\"b\":1,\"ab\":2,\"c\":3,\"abc\":4}"
#define MINI(model_extra, rest) \
    "{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[\"a b\",\"ab c\"]" model_extra "}" rest "}"

static const char *mini_ok = MINI("", ",\"added_tokens\":[{\"id\":5,\"content\":\"<x>\",\"special\":true}],"
                                       "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"behavior\":\"Isolated\"},"
                                       "\"decoder\":null,\"normalizer\":null,\"post_processor\":null");

static void test_json_mini_ok(void **state) {
    (void)state;
    lf_tokenizer *t = NULL;
    lf_status s = lf_tokenizer_load_json_buf(mini_ok, strlen(mini_ok), "mini", &t);
    if (s) fail_msg("%s", linfer_last_error());
    int32_t *ids;
    size_t n;
    assert_int_equal(lf_tokenizer_encode(t, "abc<x>ab", 8, 0, 1, &ids, &n), LINFER_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 2);
    free(ids);
    assert_int_equal(lf_tokenizer_encode(t, "abc<x>ab", 8, 0, 0, &ids, &n), LINFER_OK);
    assert_int_equal(n, 2); /* <x> not parsed: its characters are unknown and dropped (no unk token) */
    free(ids);
    lf_tokenizer_free(t);
}

static void test_json_corrupt(void **state) {
    (void)state;
    static const struct { const char *json; linfer_status want; } cases[] = {
        {"", LINFER_ERR_FORMAT},
        {"[]", LINFER_ERR_FORMAT},
        {"{}", LINFER_ERR_FORMAT},
        {"{\"model\":[]}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", LINFER_ERR_UNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":[]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":7,\"vocab\":{\"a\":0}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0.5}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1e300}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0}}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"a\":1}}}", LINFER_ERR_FORMAT},
        {MINI("", "") , LINFER_OK},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[\"a z\"]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[\"b a\"]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[\"ab\"]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[\"a  b\"]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[[\"a\"]]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[[\"a\",1]]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":[7]}}", LINFER_ERR_FORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":" MINI_VOCAB ",\"merges\":{}}}", LINFER_ERR_FORMAT},
        {MINI(",\"byte_fallback\":\"yes\"", ""), LINFER_ERR_FORMAT},
        {MINI(",\"unk_token\":\"<unk>\"", ""), LINFER_ERR_FORMAT},
        {MINI(",\"unk_token\":3", ""), LINFER_ERR_FORMAT},
        {MINI(",\"dropout\":0.1", ""), LINFER_ERR_UNSUPPORTED},
        {MINI(",\"continuing_subword_prefix\":\"##\"", ""), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"added_tokens\":{}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"added_tokens\":[1]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"added_tokens\":[{\"id\":\"5\",\"content\":\"x\"}]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"added_tokens\":[{\"id\":5}]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"added_tokens\":[{\"id\":5,\"content\":\"\"}]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"added_tokens\":[{\"id\":5,\"content\":\"x\",\"special\":1}]"), LINFER_ERR_FORMAT},
        /* ids in added_tokens are advisory (HF assigns its own): not an error */
        {MINI("", ",\"added_tokens\":[{\"id\":5,\"content\":\"x\"},{\"id\":5,\"content\":\"y\"}]"), LINFER_OK},
        {MINI("", ",\"added_tokens\":[{\"id\":-3,\"content\":\"x\"}]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"normalizer\":{\"type\":\"Lowercase\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"normalizer\":{\"type\":7}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"normalizer\":\"NFC\""), LINFER_ERR_FORMAT},
        {MINI("", ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":{}}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"String\":\"\"},\"content\":\"x\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(\"},\"content\":\"x\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"normalizer\":{\"type\":\"Prepend\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Whitespace\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[\"},\"behavior\":\"Isolated\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":\"a\",\"behavior\":\"Isolated\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{},\"behavior\":\"Isolated\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"use_regex\":1}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"ByteLevel\"},{\"type\":\"Digits\"}]}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"ab\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[]}]}]}]}]}]}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"decoder\":{\"type\":\"WordPiece\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"decoder\":{\"type\":\"Strip\",\"content\":\" \",\"start\":\"1\"}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"decoder\":[]"), LINFER_ERR_FORMAT},
        {MINI("", ",\"decoder\":{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"},\"content\":\"bb\"}"), LINFER_ERR_UNSUPPORTED},
        {MINI("", ",\"decoder\":{\"type\":\"Replace\",\"pattern\":{\"String\":\"ab\"},\"content\":\"c\"}"), LINFER_OK},
        {MINI("", ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":7}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<nope>\"}}]}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"a\"}}],\"special_tokens\":{\"a\":{\"ids\":[]}}}"), LINFER_ERR_FORMAT},
        {MINI("", ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"a\"}}],\"special_tokens\":{\"a\":{\"ids\":[0]}}}"), LINFER_OK},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\u00ff\":0}}}", LINFER_OK},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xff\":0}}}", LINFER_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lf_tokenizer *t = (lf_tokenizer *)1;
        lf_status s = lf_tokenizer_load_json_buf(cases[i].json, strlen(cases[i].json), "corrupt.json", &t);
        if (s != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s\n  json: %s", i, linfer_status_name(s), linfer_last_error(),
                     linfer_status_name(cases[i].want), cases[i].json);
        if (s) {
            assert_null(t);
            assert_true(strlen(linfer_last_error()) > 0);
            assert_null(strchr(linfer_last_error(), '\n'));
        } else {
            lf_tokenizer_free(t);
        }
    }
}

/* Every truncation of a small valid file, and random byte edits: an error or a working tokenizer. */
static void exercise(lf_tokenizer *t) {
    int32_t *ids;
    size_t n;
    const char *txt = "abc <x> ab c\n\t 12 \xe4\xbd\xa0\xe5\xa5\xbd";
    if (lf_tokenizer_encode(t, txt, strlen(txt), 1, 1, &ids, &n) == LINFER_OK) {
        char *d;
        if (lf_tokenizer_decode(t, ids, n, 1, &d) == LINFER_OK) free(d);
        lf_tok_decoder dec;
        lf_tok_decoder_init(&dec, t, 1);
        char out[LF_TOK_DECODE_MAX];
        for (size_t i = 0; i < n; i++) assert_true(lf_tok_decoder_push(&dec, ids[i], out, sizeof out) >= 0);
        free(ids);
    }
}

static void test_json_truncated_and_mutated(void **state) {
    (void)state;
    size_t len = strlen(mini_ok);
    for (size_t k = 0; k < len; k++) {
        char *cut = malloc(k + 1);
        memcpy(cut, mini_ok, k);
        cut[k] = 0;
        lf_tokenizer *t = NULL;
        lf_status s = lf_tokenizer_load_json_buf(cut, k, "truncated.json", &t);
        if (s == LINFER_OK) fail_msg("truncation at %zu loaded", k);
        assert_null(t);
        free(cut);
    }
    int loaded = 0;
    char *m = malloc(len + 1);
    for (int it = 0; it < 4000; it++) {
        memcpy(m, mini_ok, len + 1);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = rnd() % len;
            static const char pool[] = "{}[]\",:0123456789-.eE trufalsn\\abcx<>";
            m[at] = (rnd() % 4) ? pool[rnd() % (sizeof pool - 1)] : (char)(rnd() & 0xff);
        }
        lf_tokenizer *t = NULL;
        if (lf_tokenizer_load_json_buf(m, len, "mutated.json", &t) == LINFER_OK) {
            loaded++;
            exercise(t);
            lf_tokenizer_free(t);
        } else {
            assert_null(t);
        }
    }
    free(m);
    /* the real file cut short at a few places */
    char *buf;
    size_t blen;
    assert_int_equal(lf_read_file(DATA "/smollm2/tokenizer.json", 64u << 20, &buf, &blen), LINFER_OK);
    for (int k = 1; k <= 12; k++) {
        size_t at = blen * (size_t)k / 13;
        lf_tokenizer *t = NULL;
        assert_int_not_equal(lf_tokenizer_load_json_buf(buf, at, "cut.json", &t), LINFER_OK);
        assert_null(t);
    }
    free(buf);
    print_message("mutated mini tokenizer.json: %d of 4000 still loaded (and encoded)\n", loaded);
}

/* ---- corrupt GGUF ------------------------------------------------------------------------- */
typedef struct { uint8_t *p; size_t n, cap; } gbuf;
static void gput(gbuf *b, const void *s, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void g_u32(gbuf *b, uint32_t v) { gput(b, &v, 4); }
static void g_u64(gbuf *b, uint64_t v) { gput(b, &v, 8); }
static void g_str(gbuf *b, const char *s) { g_u64(b, strlen(s)); gput(b, s, strlen(s)); }
static void g_kv_str(gbuf *b, const char *k, const char *v) { g_str(b, k); g_u32(b, 8); g_str(b, v); }
static void g_kv_u32(gbuf *b, const char *k, uint32_t v) { g_str(b, k); g_u32(b, 4); g_u32(b, v); }
static void g_kv_strs(gbuf *b, const char *k, const char *const *v, int n) {
    g_str(b, k); g_u32(b, 9); g_u32(b, 8); g_u64(b, (uint64_t)n);
    for (int i = 0; i < n; i++) g_str(b, v[i]);
}
static void g_kv_i32s(gbuf *b, const char *k, const int32_t *v, int n) {
    g_str(b, k); g_u32(b, 9); g_u32(b, 5); g_u64(b, (uint64_t)n);
    for (int i = 0; i < n; i++) gput(b, &v[i], 4);
}
static void g_kv_f32s(gbuf *b, const char *k, const float *v, int n) {
    g_str(b, k); g_u32(b, 9); g_u32(b, 6); g_u64(b, (uint64_t)n);
    for (int i = 0; i < n; i++) gput(b, &v[i], 4);
}

/* variant selects one defect */
static lf_status gguf_variant(int variant, lf_tokenizer **out) {
    static const char *const toks[] = {"a", "b", "ab", "c", "abc", "<s>", "\xc4\xa0"};
    static const char *const merges_ok[] = {"a b", "ab c"};
    static const char *const merges_bad[] = {"a b", "ab z"};
    static const char *const merges_nosp[] = {"ab"};
    static const char *const merges_notok[] = {"b c"};
    int32_t types[7] = {1, 1, 1, 1, 1, 3, 1};
    float scores[7] = {-1, -2, -3, -4, -5, 0, -6};
    gbuf b = {0};
    int nkv = 0;
    gbuf kv = {0};
    const char *model = variant == 5 ? "bert" : (variant >= 10 ? "llama" : "gpt2");
    g_kv_str(&kv, "tokenizer.ggml.model", model); nkv++;
    if (variant != 1) {
        if (variant == 2) { g_kv_str(&kv, "tokenizer.ggml.tokens", "a"); }
        else g_kv_strs(&kv, "tokenizer.ggml.tokens", toks, 7);
        nkv++;
    }
    g_kv_i32s(&kv, "tokenizer.ggml.token_type", types, variant == 3 ? 6 : 7); nkv++;
    if (variant < 10) {
        if (variant == 4) { g_kv_strs(&kv, "tokenizer.ggml.merges", merges_bad, 2); nkv++; }
        else if (variant == 6) { g_kv_strs(&kv, "tokenizer.ggml.merges", merges_nosp, 1); nkv++; }
        else if (variant == 7) { g_kv_strs(&kv, "tokenizer.ggml.merges", merges_notok, 1); nkv++; }
        else if (variant != 8) { g_kv_strs(&kv, "tokenizer.ggml.merges", merges_ok, 2); nkv++; }
        g_kv_str(&kv, "tokenizer.ggml.pre", variant == 9 ? "klingon" : "gpt-2"); nkv++;
    } else if (variant != 11) {
        g_kv_f32s(&kv, "tokenizer.ggml.scores", scores, variant == 12 ? 3 : 7); nkv++;
    }
    g_kv_u32(&kv, "tokenizer.ggml.bos_token_id", variant == 13 ? 70 : 5); nkv++;
    if (variant == 14) { g_kv_str(&kv, "tokenizer.ggml.eos_token_id", "2"); nkv++; }
    gput(&b, "GGUF", 4);
    g_u32(&b, 3);
    g_u64(&b, 0);
    g_u64(&b, (uint64_t)nkv);
    gput(&b, kv.p, kv.n);
    free(kv.p);
    lf_gguf g;
    lf_status s = lf_gguf_parse(b.p, b.n, "mini.gguf", &g);
    if (!s) {
        s = lf_tokenizer_load_gguf(&g, "mini.gguf", out);
        lf_gguf_free(&g);
    }
    free(b.p);
    return s;
}

static void test_gguf_corrupt(void **state) {
    (void)state;
    lf_tokenizer *t = NULL;
    /* 0: good byte-level, 10: good SentencePiece */
    assert_int_equal(gguf_variant(0, &t), LINFER_OK);
    int32_t *ids;
    size_t n;
    assert_int_equal(lf_tokenizer_encode(t, "abc<s>ab", 8, 0, 1, &ids, &n), LINFER_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 2);
    free(ids);
    lf_tokenizer_free(t);
    assert_int_equal(gguf_variant(10, &t), LINFER_OK);
    lf_tokenizer_free(t);
    static const struct { int v; linfer_status want; } bad[] = {
        {1, LINFER_ERR_FORMAT}, {2, LINFER_ERR_FORMAT}, {3, LINFER_ERR_FORMAT}, {4, LINFER_ERR_FORMAT},
        {5, LINFER_ERR_UNSUPPORTED}, {6, LINFER_ERR_FORMAT}, {7, LINFER_ERR_FORMAT}, {8, LINFER_ERR_FORMAT},
        {9, LINFER_ERR_UNSUPPORTED}, {11, LINFER_ERR_FORMAT}, {12, LINFER_ERR_FORMAT}, {13, LINFER_ERR_FORMAT},
        {14, LINFER_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = (lf_tokenizer *)1;
        lf_status s = gguf_variant(bad[i].v, &t);
        if (s != bad[i].want)
            fail_msg("gguf variant %d: got %s (%s), want %s", bad[i].v, linfer_status_name(s), linfer_last_error(), linfer_status_name(bad[i].want));
        assert_null(t);
    }
}

/* ---- speed -------------------------------------------------------------------------------- */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_speed(void **state) {
    (void)state;
    lf_tokenizer *t = load_json_or_fail(DATA "/smollm2/tokenizer.json");
    size_t n;
    gcase *c = load_golden(DATA "/smollm2/golden.tsv", &n);
    size_t cap = 4u << 20, len = 0;
    char *big = malloc(cap);
    for (size_t i = 0; len + 4096 < cap; i = (i + 1) % n)
        if (c[i].len < 4096) { memcpy(big + len, c[i].text, c[i].len); len += c[i].len; }
    free_cases(c, n);
    double t0 = now_s();
    int32_t *ids;
    size_t nid;
    assert_int_equal(lf_tokenizer_encode(t, big, len, 1, 1, &ids, &nid), LINFER_OK);
    double dt = now_s() - t0;
    print_message("encode: %.1f MB in %.3f s (%.1f MB/s, %zu tokens)\n", (double)len / 1e6, dt, (double)len / 1e6 / dt, nid);
    /* a single 1 MB word and a 1 MB whitespace run must not blow up */
    memset(big, 'a', 1u << 20);
    t0 = now_s();
    free(ids);
    assert_int_equal(lf_tokenizer_encode(t, big, 1u << 20, 0, 1, &ids, &nid), LINFER_OK);
    free(ids);
    memset(big, ' ', 1u << 20);
    big[(1u << 20) - 1] = 'x';
    assert_int_equal(lf_tokenizer_encode(t, big, 1u << 20, 0, 1, &ids, &nid), LINFER_OK);
    free(ids);
    print_message("encode: 2 x 1 MB runs of one character in %.3f s\n", now_s() - t0);
    free(big);
    lf_tokenizer_free(t);
}

static int summary(void **state) {
    (void)state;
    printf("\n%-32s %16s %16s\n", "tokenizer matches", "encode", "decode");
    for (int i = 0; i < n_stats; i++) {
        char e[32], d[32];
        snprintf(e, sizeof e, "%d/%d", stats[i].enc_ok, stats[i].enc_n);
        snprintf(d, sizeof d, stats[i].dec_n ? "%d/%d" : "-", stats[i].dec_ok, stats[i].dec_n);
        printf("%-32s %16s %16s\n", stats[i].name, e, d);
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smollm2_json),
        cmocka_unit_test(test_smollm2_gguf),
        cmocka_unit_test(test_llama_spm_json),
        cmocka_unit_test(test_llama_spm_metaspace_json),
        cmocka_unit_test(test_smollm2_added_flags_json),
        cmocka_unit_test(test_split_behaviors),
        cmocka_unit_test(test_llama_spm_gguf),
        cmocka_unit_test(test_llama_bpe_gguf),
        cmocka_unit_test(test_llama_cpp_bpe_vectors),
        cmocka_unit_test(test_llama_cpp_spm_vectors),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_streaming_partial_utf8),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_json_mini_ok),
        cmocka_unit_test(test_json_corrupt),
        cmocka_unit_test(test_json_truncated_and_mutated),
        cmocka_unit_test(test_gguf_corrupt),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, summary);
}
