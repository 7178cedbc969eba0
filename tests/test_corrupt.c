/* test_corrupt.c — the corruption matrix: crafted bad model files of each format must each be
 * refused with a one-line error that names the file, with no crash, leak or sanitizer report
 * (this suite also runs under ASan+UBSan). A valid tiny model of each format is written first
 * and must load; every case then breaks exactly one thing. Prints the count per format. */
#include "test_util.h"
#include <sys/stat.h>
#include "linfer.h"
#include "model/model.h"

/* ---- a growable byte buffer and a tiny GGUF writer ---------------------------------------- */
typedef struct { uint8_t *p; size_t n, cap; } buf;
static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }
static void kv_u32(buf *b, const char *k, uint32_t v) { str(b, k); u32(b, 4); u32(b, v); }
static void kv_str(buf *b, const char *k, const char *v) { str(b, k); u32(b, 8); str(b, v); }

enum { DIM = 32, FFN = 64, VOCAB = 50, HEADS = 4, KVH = 2, HD = DIM / HEADS };
typedef struct { const char *name; int nd; uint64_t ne[2]; } tdesc;
static const tdesc gguf_tensors[] = {
    {"token_embd.weight", 2, {DIM, VOCAB}}, {"output_norm.weight", 1, {DIM, 1}},
    {"blk.0.attn_norm.weight", 1, {DIM, 1}}, {"blk.0.attn_q.weight", 2, {DIM, HEADS * HD}},
    {"blk.0.attn_k.weight", 2, {DIM, KVH * HD}}, {"blk.0.attn_v.weight", 2, {DIM, KVH * HD}},
    {"blk.0.attn_output.weight", 2, {HEADS * HD, DIM}}, {"blk.0.ffn_norm.weight", 1, {DIM, 1}},
    {"blk.0.ffn_gate.weight", 2, {DIM, FFN}}, {"blk.0.ffn_up.weight", 2, {DIM, FFN}},
    {"blk.0.ffn_down.weight", 2, {FFN, DIM}},
};
#define N_GT (sizeof gguf_tensors / sizeof gguf_tensors[0])

/* knobs for one mutation of the GGUF file */
typedef struct {
    int skip_tensor;        /* index to leave out, -1 none */
    int dup_tensor;         /* write tensor 1's name for tensor 2 */
    int overlap;            /* tensor 2 at tensor 1's offset */
    int bad_type;           /* ggml type 99 for tensor 0 */
    int bad_ndims;          /* 5 dims on tensor 0 */
    int zero_dim;           /* a 0 dimension on tensor 0 */
    int misalign;           /* tensor 1 offset + 4 */
    int oob;                /* last tensor offset far past the end */
    int vocab_mismatch;     /* token_embd has VOCAB-1 rows */
    int block_count_str;    /* llama.block_count as a string */
    int missing_key;        /* no llama.embedding_length */
    int arch;               /* 1: "gpt2" */
    int huge_array;         /* an array claiming 2^40 elements */
    int huge_string;        /* a string claiming 2^40 bytes */
    int bad_alignment;      /* general.alignment = 48 */
    int version;            /* 0: 3 */
    int extra_tensor;       /* an unexpected tensor */
    int n_kv_lie;           /* header claims 1e6 metadata entries */
    int deep_nest;          /* arrays nested 6 deep */
    int kv_bad_type;        /* value type 77 */
} gmut;

static buf make_gguf(const gmut *m) {
    buf b = {0};
    u32(&b, 0x46554747u);
    u32(&b, m->version ? (uint32_t)m->version : 3);
    size_t nt = N_GT - (m->skip_tensor >= 0) + (m->extra_tensor ? 1 : 0);
    u64(&b, nt);
    int n_kv = 8 - (m->missing_key ? 1 : 0) + (m->huge_array || m->huge_string || m->bad_alignment || m->deep_nest || m->kv_bad_type ? 1 : 0) +
               (m->vocab_mismatch ? 1 : 0);
    u64(&b, m->n_kv_lie ? 1000000 : (uint64_t)n_kv);
    kv_str(&b, "general.architecture", m->arch ? "gpt2" : "llama");
    if (m->block_count_str) kv_str(&b, "llama.block_count", "one");
    else kv_u32(&b, "llama.block_count", 1);
    if (!m->missing_key) kv_u32(&b, "llama.embedding_length", DIM);
    kv_u32(&b, "llama.feed_forward_length", FFN);
    kv_u32(&b, "llama.attention.head_count", HEADS);
    kv_u32(&b, "llama.attention.head_count_kv", KVH);
    kv_u32(&b, "llama.context_length", 64);
    str(&b, "llama.rope.freq_base"); u32(&b, 6); { float f = 10000.0f; put(&b, &f, 4); }
    if (m->huge_array) { str(&b, "x.arr"); u32(&b, 9); u32(&b, 4); u64(&b, 1ull << 40); }
    if (m->huge_string) { str(&b, "x.str"); u32(&b, 8); u64(&b, 1ull << 40); }
    if (m->bad_alignment) kv_u32(&b, "general.alignment", 48);
    if (m->vocab_mismatch) kv_u32(&b, "llama.vocab_size", VOCAB); /* while token_embd has VOCAB-1 rows */
    if (m->kv_bad_type) { str(&b, "x.bad"); u32(&b, 77); u32(&b, 0); }
    if (m->deep_nest) {
        str(&b, "x.nest"); u32(&b, 9);
        for (int d = 0; d < 6; d++) { u32(&b, 9); u64(&b, 1); }
        u32(&b, 4); u64(&b, 0);
    }
    uint64_t off = 0, offs[N_GT + 1];
    for (size_t i = 0; i < N_GT + (m->extra_tensor ? 1 : 0); i++) {
        if ((int)i == m->skip_tensor) continue;
        tdesc t = i < N_GT ? gguf_tensors[i] : (tdesc){"blk.0.surprise.weight", 1, {DIM, 1}};
        if (i == 0 && m->vocab_mismatch) t.ne[1] = VOCAB - 1;
        str(&b, m->dup_tensor && i == 2 ? gguf_tensors[1].name : t.name);
        u32(&b, m->bad_ndims && i == 0 ? 5 : (uint32_t)t.nd);
        for (int d = 0; d < (m->bad_ndims && i == 0 ? 5 : t.nd); d++) u64(&b, m->zero_dim && i == 0 && d == 0 ? 0 : (d < 2 ? t.ne[d] : 1));
        u32(&b, m->bad_type && i == 0 ? 99 : 0);
        uint64_t bytes = 4 * t.ne[0] * (t.nd > 1 ? t.ne[1] : 1);
        uint64_t my = off;
        if (m->overlap && i == 2) my = offs[1];
        if (m->misalign && i == 1) my += 4;
        if (m->oob && i == N_GT - 1) my = 1ull << 30;
        offs[i] = my;
        u64(&b, my);
        off += (bytes + 31) / 32 * 32;
    }
    while (b.n % 32) { uint8_t z = 0; put(&b, &z, 1); }
    float *data = calloc(off / 4 + 1, 4);
    for (uint64_t i = 0; i < off / 4; i++) data[i] = 0.01f * (float)((i * 37) % 101) - 0.5f;
    put(&b, data, off);
    free(data);
    return b;
}

static char g_dir[256];
static int g_fail_count[3], g_case_count[3];

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* the load must fail with a one-line message mentioning `needle` (the file or the problem) */
static void expect_refused(int fmt, const char *label, const char *path, const char *needle) {
    lf_model *m = NULL;
    lf_clear_error();
    lf_status s = lf_model_load(path, 0, &m);
    const char *msg = linfer_last_error();
    int ok = s != LINFER_OK && m == NULL && msg[0] && !strchr(msg, '\n') && (!needle || strstr(msg, needle));
    g_case_count[fmt]++;
    if (!ok) {
        g_fail_count[fmt]++;
        print_error("corruption case '%s': status %d, message '%s' (wanted a refusal naming '%s')\n", label, s, msg, needle ? needle : "");
        if (m) lf_model_free(m);
    }
}

static void gguf_case(const char *label, gmut m, const char *needle) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", g_dir, label);
    buf b = make_gguf(&m);
    write_file(path, b.p, b.n);
    free(b.p);
    expect_refused(0, label, path, needle ? needle : path);
}

static gmut gm(void) { gmut m; memset(&m, 0, sizeof m); m.skip_tensor = -1; return m; }

static void test_gguf_matrix(void **st) {
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/valid.gguf", g_dir);
    gmut v = gm();
    buf b = make_gguf(&v);
    write_file(path, b.p, b.n);
    lf_model *m = NULL;
    lf_status s = lf_model_load(path, 0, &m);
    if (s) print_error("valid gguf: %s\n", linfer_last_error());
    assert_int_equal(s, LINFER_OK);
    lf_model_free(m);
    /* truncation at every section boundary and inside sections */
    size_t cuts[] = {0, 3, 4, 7, 8, 16, 24, 40, 60, 120, 300, 600, b.n / 2, b.n - 100, b.n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "trunc-%zu", cuts[i]);
        snprintf(path, sizeof path, "%s/%s.gguf", g_dir, label);
        write_file(path, b.p, cuts[i]);
        expect_refused(0, label, path, path);
    }
    free(b.p);
    gmut m1;
#define CASE(label, field, val, needle) do { m1 = gm(); m1.field = val; gguf_case(label, m1, needle); } while (0)
    CASE("missing-tensor", skip_tensor, 3, "blk.0.attn_q.weight");
    CASE("duplicate-name", dup_tensor, 1, "duplicate");
    CASE("overlap", overlap, 1, "overlap");
    CASE("unknown-dtype", bad_type, 1, "ggml type 99");
    CASE("five-dims", bad_ndims, 1, "dimensions");
    CASE("zero-dim", zero_dim, 1, "bad dimension");
    CASE("misaligned", misalign, 1, "aligned");
    CASE("offset-oob", oob, 1, "past the end");
    CASE("shape-vs-config", vocab_mismatch, 1, "token_embd.weight");
    CASE("wrong-meta-type", block_count_str, 1, "llama.block_count");
    CASE("missing-key", missing_key, 1, "llama.embedding_length");
    CASE("unknown-arch", arch, 1, "gpt2");
    CASE("huge-array", huge_array, 1, "x.arr");
    CASE("huge-string", huge_string, 1, NULL);
    CASE("bad-alignment", bad_alignment, 1, "alignment");
    CASE("version-1", version, 1, "version");
    CASE("unexpected-tensor", extra_tensor, 1, "blk.0.surprise.weight");
    CASE("n-kv-lie", n_kv_lie, 1, NULL);
    CASE("deep-nesting", deep_nest, 1, "nested");
    CASE("bad-value-type", kv_bad_type, 1, "x.bad");
#undef CASE
    /* bad magic, empty, 4 bytes, a directory */
    snprintf(path, sizeof path, "%s/badmagic.gguf", g_dir);
    write_file(path, "GGUX\3\0\0\0", 8);
    expect_refused(0, "bad-magic", path, "magic");
    snprintf(path, sizeof path, "%s/empty.gguf", g_dir);
    write_file(path, "", 0);
    expect_refused(0, "empty", path, path);
    snprintf(path, sizeof path, "%s/four.gguf", g_dir);
    write_file(path, "GGUF", 4);
    expect_refused(0, "four-bytes", path, path);
    snprintf(path, sizeof path, "%s/adir.gguf", g_dir);
    mkdir(path, 0755);
    expect_refused(0, "directory", path, NULL);
    snprintf(path, sizeof path, "%s/missing.gguf", g_dir);
    expect_refused(0, "missing-file", path, path);
    print_message("corruption matrix, GGUF: %d cases, %d not refused cleanly\n", g_case_count[0], g_fail_count[0]);
    assert_true(g_case_count[0] >= 25);
    assert_int_equal(g_fail_count[0], 0);
}

/* ---- safetensors / HF directory ------------------------------------------------------------ */
static const char *CONFIG =
    "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 64,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 50,"
    " \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-5, \"tie_word_embeddings\": true}";

static const struct { const char *name; int64_t s0, s1; } st_tensors[] = {
    {"model.embed_tokens.weight", VOCAB, DIM}, {"model.norm.weight", DIM, 0},
    {"model.layers.0.input_layernorm.weight", DIM, 0}, {"model.layers.0.self_attn.q_proj.weight", HEADS * HD, DIM},
    {"model.layers.0.self_attn.k_proj.weight", KVH * HD, DIM}, {"model.layers.0.self_attn.v_proj.weight", KVH * HD, DIM},
    {"model.layers.0.self_attn.o_proj.weight", DIM, HEADS * HD}, {"model.layers.0.post_attention_layernorm.weight", DIM, 0},
    {"model.layers.0.mlp.gate_proj.weight", FFN, DIM}, {"model.layers.0.mlp.up_proj.weight", FFN, DIM},
    {"model.layers.0.mlp.down_proj.weight", DIM, FFN},
};
#define N_ST (sizeof st_tensors / sizeof st_tensors[0])

typedef struct {
    const char *header_override; /* use this JSON header verbatim */
    int skip, extra, dup, gap, overlap, size_mismatch, bad_dtype, neg_shape, oob, wrong_shape;
    int64_t header_len_delta;    /* added to the 8-byte header length */
    size_t truncate_to;          /* 0: whole file */
} smut;

static buf make_st(const smut *m) {
    char hdr[8192];
    size_t h = 0;
    uint64_t off = 0;
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "{\"__metadata__\": {\"format\": \"pt\"}");
    for (size_t i = 0; i < N_ST + (m->extra ? 1 : 0); i++) {
        if ((int)i == m->skip - 1) continue;
        const char *name = i < N_ST ? st_tensors[i].name : "model.layers.0.surprise";
        int64_t s0 = i < N_ST ? st_tensors[i].s0 : DIM, s1 = i < N_ST ? st_tensors[i].s1 : 0;
        if (m->wrong_shape && i == 3) s0 += 4;
        if (m->dup && i == 2) name = st_tensors[1].name;
        uint64_t bytes = 4 * (uint64_t)s0 * (uint64_t)(s1 ? s1 : 1);
        uint64_t b0 = off, b1 = off + bytes;
        if (m->gap && i == 4) { b0 += 4; b1 += 4; off += 4; }
        if (m->overlap && i == 5) { b0 -= 4; b1 -= 4; }
        if (m->size_mismatch && i == 6) b1 -= 4;
        if (m->oob && i == N_ST - 1) { b0 += 1000000; b1 += 1000000; }
        char shape[64];
        if (s1) snprintf(shape, sizeof shape, "[%lld, %lld]", (long long)(m->neg_shape && i == 0 ? -s0 : s0), (long long)s1);
        else snprintf(shape, sizeof shape, "[%lld]", (long long)s0);
        h += (size_t)snprintf(hdr + h, sizeof hdr - h, ", \"%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%llu, %llu]}", name,
                              m->bad_dtype && i == 0 ? "F8_E9" : "F32", shape, (unsigned long long)b0, (unsigned long long)b1);
        off += bytes;
    }
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "}");
    const char *H = m->header_override ? m->header_override : hdr;
    size_t hl = strlen(H);
    buf b = {0};
    u64(&b, (uint64_t)((int64_t)hl + m->header_len_delta));
    put(&b, H, hl);
    float *data = calloc(off / 4 + 8, 4);
    for (uint64_t i = 0; i < off / 4; i++) data[i] = 0.02f * (float)((i * 13) % 53) - 0.5f;
    put(&b, data, off);
    free(data);
    if (m->truncate_to && m->truncate_to < b.n) b.n = m->truncate_to;
    return b;
}

static void st_dir(const char *label, const char *config, const smut *m, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/hf-%s", g_dir, label);
    mkdir(dir, 0755);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (config) write_file(p, config, strlen(config));
    if (m) {
        buf b = make_st(m);
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        write_file(p, b.p, b.n);
        free(b.p);
    }
}

static void st_case(const char *label, smut m, const char *needle) {
    char dir[512];
    st_dir(label, CONFIG, &m, dir, sizeof dir);
    expect_refused(1, label, dir, needle ? needle : dir);
}

static void test_safetensors_matrix(void **st) {
    (void)st;
    char dir[512], p[700];
    smut v;
    memset(&v, 0, sizeof v);
    st_dir("valid", CONFIG, &v, dir, sizeof dir);
    lf_model *m = NULL;
    lf_status s = lf_model_load(dir, 0, &m);
    if (s) print_error("valid HF dir: %s\n", linfer_last_error());
    assert_int_equal(s, LINFER_OK);
    lf_model_free(m);
    buf whole = make_st(&v);
    size_t n_whole = whole.n;
    free(whole.p);
    size_t cuts[] = {0, 4, 7, 8, 20, 200, 1000, n_whole / 2, n_whole - 4, n_whole - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char label[64];
        smut t = v;
        t.truncate_to = cuts[i] ? cuts[i] : 0;
        snprintf(label, sizeof label, "trunc-%zu", cuts[i]);
        if (cuts[i] == 0) { /* an empty file */
            st_dir(label, CONFIG, NULL, dir, sizeof dir);
            snprintf(p, sizeof p, "%s/model.safetensors", dir);
            write_file(p, "", 0);
            expect_refused(1, label, dir, "model.safetensors");
        } else
            st_case(label, t, "model.safetensors");
    }
    smut t;
#define CASE(label, field, val, needle) do { t = v; t.field = val; st_case(label, t, needle); } while (0)
    CASE("header-len-past-eof", header_len_delta, 1 << 20, "header length");
    CASE("header-len-huge", header_len_delta, 200000000, "100 MB");
    CASE("missing-tensor", skip, 4, "q_proj.weight");
    CASE("unexpected-tensor", extra, 1, "surprise");
    CASE("duplicate-name", dup, 1, "duplicate");
    CASE("gap", gap, 1, "gap");
    CASE("overlap", overlap, 1, NULL);
    CASE("shape-x-dtype", size_mismatch, 1, "span");
    CASE("unknown-dtype", bad_dtype, 1, "F8_E9");
    CASE("negative-shape", neg_shape, 1, "shape");
    CASE("offsets-oob", oob, 1, "past the end");
    CASE("wrong-shape", wrong_shape, 1, "q_proj");
    CASE("not-json", header_override, "{\"a\": [1, 2", "JSON");
    CASE("not-object", header_override, "[1, 2, 3]", "object");
    CASE("bad-utf8", header_override, "{\"\xff\xfe\": 1}", "UTF-8");
    CASE("entry-not-object", header_override, "{\"x\": 5}", "x");
    CASE("offsets-reversed", header_override, "{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", "data_offsets");
    /* a \u0000 escape would cut the name short (found by fuzz_safetensors) */
    CASE("nul-in-name", header_override, "{\"model.norm.weight\\u0000x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "u0000");
    CASE("control-byte-in-name", header_override, "{\"model.norm.weight\x01x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "control character");
#undef CASE
    /* config.json problems */
    st_dir("config-wrong-type", "{\"model_type\": \"llama\", \"hidden_size\": \"big\"}", &v, dir, sizeof dir);
    expect_refused(1, "config-wrong-type", dir, "hidden_size");
    st_dir("config-unknown-arch", "{\"model_type\": \"bloom\"}", &v, dir, sizeof dir);
    expect_refused(1, "config-unknown-arch", dir, "bloom");
    st_dir("config-missing", NULL, &v, dir, sizeof dir);
    expect_refused(1, "config-missing", dir, "config.json");
    st_dir("config-not-json", "{model_type: llama", &v, dir, sizeof dir);
    expect_refused(1, "config-not-json", dir, "config.json");
    /* index pointing outside the directory / to a missing shard; weights as a directory */
    st_dir("index-traversal", CONFIG, NULL, dir, sizeof dir);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    const char *idx = "{\"weight_map\": {\"model.norm.weight\": \"../../etc/passwd\"}}";
    write_file(p, idx, strlen(idx));
    expect_refused(1, "index-traversal", dir, "same directory");
    st_dir("index-missing-shard", CONFIG, NULL, dir, sizeof dir);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    idx = "{\"weight_map\": {\"model.norm.weight\": \"model-00001-of-00002.safetensors\"}}";
    write_file(p, idx, strlen(idx));
    expect_refused(1, "index-missing-shard", dir, "model-00001-of-00002.safetensors");
    st_dir("weights-dir", CONFIG, NULL, dir, sizeof dir);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    mkdir(p, 0755);
    expect_refused(1, "weights-are-a-directory", dir, "directory");
    print_message("corruption matrix, safetensors/HF: %d cases, %d not refused cleanly\n", g_case_count[1], g_fail_count[1]);
    assert_true(g_case_count[1] >= 25);
    assert_int_equal(g_fail_count[1], 0);
}

static int setup(void **st) {
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/linfer-corrupt-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}
static int teardown(void **st) {
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gguf_matrix), cmocka_unit_test(test_safetensors_matrix)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
