/* presets.c — model shapes and GPU datasheet figures, each with its source.
 *
 * GPU figures are dense (no 2:4 sparsity) tensor-core peaks; where a datasheet prints only the
 * sparse number (marked "*" on NVIDIA sheets) the value here is half of it, and the comment says
 * so. Memory sizes: NVIDIA's "80GB" of HBM matches what the driver reports in GiB to within 1%,
 * so sizes are stored as N·2^30 bytes. NVLink figures on datasheets are both directions summed;
 * the all-reduce model uses half of that per direction (seed 002: A100 600 GB/s -> 300e9). PCIe
 * x16 per direction: Gen3 16e9, Gen4 32e9, Gen5 64e9 B/s (datasheets print the sum, 32/64/128). */
#include "presets.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- precisions ---------------------------------------------------------------------------- */
static const char *const prec_names[LF_PREC_COUNT] = {"fp16", "bf16", "fp8", "int8"};

const char *lf_prec_name(lf_prec p) {
    return (p >= 0 && p < LF_PREC_COUNT) ? prec_names[p] : "?";
}

lf_status lf_prec_parse(const char *s, lf_prec *out) {
    for (int i = 0; i < LF_PREC_COUNT; i++)
        if (s && strcasecmp(s, prec_names[i]) == 0) { *out = (lf_prec)i; return LINFER_OK; }
    return lf_fail(LINFER_ERR_INVALID_ARG, "unknown dtype '%s' (known: fp16, bf16, fp8, int8)", s ? s : "");
}

int lf_prec_bytes(lf_prec p) { return (p == LF_PREC_FP8 || p == LF_PREC_INT8) ? 1 : 2; }

/* ---- model presets ------------------------------------------------------------------------- */
/* Columns: name, arch, layers, dim, heads, kv heads, head_dim, ffn, vocab, context, tied,
 * rope_dims, window, engine_runs, source. */
#define LLAMA LF_ARCH_LLAMA
#define GPT LF_ARCH_GPT
static const lf_model_preset model_presets[] = {
    /* LLaMA-1: Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language Models",
     * Table 2 (dim, heads, layers); FFN = 256-multiple of 2/3·4·dim as in the released
     * params.json (multiple_of 256); vocab 32000, context 2048. */
    {"llama-7b",  {"llama-7b",  LLAMA, 32, 4096, 32, 32, 128, 11008, 32000, 2048, 0, 128, 0, 1,
                   "LLaMA paper Table 2 + params.json (7B)"}},
    {"llama-13b", {"llama-13b", LLAMA, 40, 5120, 40, 40, 128, 13824, 32000, 2048, 0, 128, 0, 1,
                   "LLaMA paper Table 2 + params.json (13B)"}},
    {"llama-30b", {"llama-30b", LLAMA, 60, 6656, 52, 52, 128, 17920, 32000, 2048, 0, 128, 0, 1,
                   "LLaMA paper Table 2 (33B) + params.json"}},
    {"llama-65b", {"llama-65b", LLAMA, 80, 8192, 64, 64, 128, 22016, 32000, 2048, 0, 128, 0, 1,
                   "LLaMA paper Table 2 + params.json (65B)"}},
    /* Llama 2: meta-llama/Llama-2-{7b,13b,70b}-hf config.json; 70B uses GQA with 8 KV heads
     * (Llama 2 paper, section 2.2); context 4096. */
    {"llama-2-7b",  {"llama-2-7b",  LLAMA, 32, 4096, 32, 32, 128, 11008, 32000, 4096, 0, 128, 0, 1,
                     "meta-llama/Llama-2-7b-hf config.json"}},
    {"llama-2-13b", {"llama-2-13b", LLAMA, 40, 5120, 40, 40, 128, 13824, 32000, 4096, 0, 128, 0, 1,
                     "meta-llama/Llama-2-13b-hf config.json"}},
    {"llama-2-70b", {"llama-2-70b", LLAMA, 80, 8192, 64, 8, 128, 28672, 32000, 4096, 0, 128, 0, 1,
                     "meta-llama/Llama-2-70b-hf config.json"}},
    /* Llama 3: meta-llama/Meta-Llama-3-{8B,70B} config.json: vocab 128256, 8 KV heads,
     * rope_theta 500000, context 8192. */
    {"llama-3-8b",  {"llama-3-8b",  LLAMA, 32, 4096, 32, 8, 128, 14336, 128256, 8192, 0, 128, 0, 1,
                     "meta-llama/Meta-Llama-3-8B config.json"}},
    {"llama-3-70b", {"llama-3-70b", LLAMA, 80, 8192, 64, 8, 128, 28672, 128256, 8192, 0, 128, 0, 1,
                     "meta-llama/Meta-Llama-3-70B config.json"}},
    /* Mistral-7B-v0.1 config.json: GQA 8 KV heads, ffn 14336, sliding window 4096,
     * max_position_embeddings 32768. */
    {"mistral-7b", {"mistral-7b", LLAMA, 32, 4096, 32, 8, 128, 14336, 32000, 32768, 0, 128, 4096, 1,
                    "mistralai/Mistral-7B-v0.1 config.json"}},
    /* SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json): 30 layers, dim 576, 9 heads,
     * 3 KV heads, ffn 1536, vocab 49152, tied embeddings, rope_theta 100000, context 8192. */
    {"smollm2-135m", {"smollm2-135m", LLAMA, 30, 576, 9, 3, 64, 1536, 49152, 8192, 1, 64, 0, 1,
                      "HuggingFaceTB/SmolLM2-135M config.json"}},
    /* Shapes only (architectures the engine does not run yet). */
    /* EleutherAI/gpt-j-6b config.json: n_layer 28, n_embd 4096, n_head 16, rotary_dim 64,
     * vocab 50400, n_positions 2048, MLP 4·n_embd, untied lm_head (6.05B params). */
    {"gpt-j-6b", {"gpt-j-6b", GPT, 28, 4096, 16, 16, 256, 16384, 50400, 2048, 0, 64, 0, 0,
                  "EleutherAI/gpt-j-6b config.json"}},
    /* EleutherAI/gpt-neox-20b config.json: 44 layers, hidden 6144, 64 heads, intermediate 24576,
     * vocab 50432, context 2048, rotary_pct 0.25 (24 of 96 dims), untied (20.55B params). */
    {"gpt-neox-20b", {"gpt-neox-20b", GPT, 44, 6144, 64, 64, 96, 24576, 50432, 2048, 0, 24, 0, 0,
                      "EleutherAI/gpt-neox-20b config.json"}},
    /* bigscience/bloom-7b1 config.json: n_layer 30, hidden 4096, n_head 32, vocab 250880,
     * ALiBi (no RoPE), tied embeddings, training length 2048. */
    {"bloom-7b1", {"bloom-7b1", GPT, 30, 4096, 32, 32, 128, 16384, 250880, 2048, 1, 0, 0, 0,
                   "bigscience/bloom-7b1 config.json"}},
    /* THUDM/chatglm-6b config.json: num_layers 28, hidden 4096, 32 heads, inner_hidden_size
     * 16384 (GELU, 2 matrices), vocab 130528, max_sequence_length 2048. Counted tied: the
     * published 6.2B parameters leave room for one 130528x4096 table only. */
    {"chatglm-6b", {"chatglm-6b", GPT, 28, 4096, 32, 32, 128, 16384, 130528, 2048, 1, 128, 0, 0,
                    "THUDM/chatglm-6b config.json"}},
};
#undef LLAMA
#undef GPT
#define N_MODEL_PRESETS ((int)(sizeof model_presets / sizeof model_presets[0]))

const lf_model_preset *lf_model_presets(int *n) {
    if (n) *n = N_MODEL_PRESETS;
    return model_presets;
}

const char *lf_preset_model_names(char *buf, size_t cap, int runnable_only) {
    size_t len = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    for (int i = 0; i < N_MODEL_PRESETS; i++) {
        if (runnable_only && !model_presets[i].shape.engine_runs) continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", model_presets[i].name);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
    return buf;
}

static const lf_model_preset *find_model(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < N_MODEL_PRESETS; i++)
        if (strcasecmp(name, model_presets[i].name) == 0) return &model_presets[i];
    return NULL;
}

lf_status lf_preset_shape(const char *name, lf_roofline_model *out) {
    const lf_model_preset *p = find_model(name);
    if (!p) {
        char names[1024];
        return lf_fail(LINFER_ERR_INVALID_ARG, "unknown model preset '%s' (known: %s)", name ? name : "",
                       lf_preset_model_names(names, sizeof names, 0));
    }
    *out = p->shape;
    return LINFER_OK;
}

lf_status lf_preset_model(const char *name, lf_config *cfg) {
    const lf_model_preset *p = find_model(name);
    char names[1024];
    if (!p)
        return lf_fail(LINFER_ERR_INVALID_ARG, "unknown model preset '%s' (known: %s)", name ? name : "",
                       lf_preset_model_names(names, sizeof names, 1));
    if (!p->shape.engine_runs)
        return lf_fail(LINFER_ERR_UNSUPPORTED,
                       "preset '%s' is a shape for the roofline only (its architecture does not run yet); "
                       "runnable presets: %s", p->name, lf_preset_model_names(names, sizeof names, 1));
    const lf_roofline_model *s = &p->shape;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "llama");
    cfg->n_layers = s->n_layers;
    cfg->dim = s->dim;
    cfg->n_heads = s->n_heads;
    cfg->n_kv_heads = s->n_kv_heads;
    cfg->head_dim = s->head_dim;
    cfg->ffn_dim = s->ffn_dim;
    cfg->vocab_size = s->vocab_size;
    cfg->max_context = s->max_context;
    cfg->tie_embeddings = s->tie_embeddings;
    cfg->rope_style = LF_ROPE_NEOX;          /* HF layout; weights are random anyway */
    cfg->rope_scaling = LF_ROPE_SCALING_NONE;
    cfg->qkv_bias = 0;
    /* Per-family constants (same config.json files as the shapes above). */
    if (strncmp(s->name, "llama-3", 7) == 0) {
        cfg->norm_eps = 1e-5f; cfg->rope_theta = 500000.0f;
        cfg->bos_id = 128000; cfg->add_bos = 1; cfg->eos_ids[0] = 128001; cfg->n_eos = 1;
    } else if (strncmp(s->name, "llama-2", 7) == 0) {
        cfg->norm_eps = 1e-5f; cfg->rope_theta = 10000.0f;
        cfg->bos_id = 1; cfg->add_bos = 1; cfg->eos_ids[0] = 2; cfg->n_eos = 1;
    } else if (strcmp(s->name, "mistral-7b") == 0) {
        cfg->norm_eps = 1e-5f; cfg->rope_theta = 10000.0f;
        cfg->bos_id = 1; cfg->add_bos = 1; cfg->eos_ids[0] = 2; cfg->n_eos = 1;
    } else if (strcmp(s->name, "smollm2-135m") == 0) {
        /* SmolLM2-135M: rms_norm_eps 1e-5, bos = eos = 0 (<|endoftext|>), no BOS prepended. */
        cfg->norm_eps = 1e-5f; cfg->rope_theta = 100000.0f;
        cfg->bos_id = 0; cfg->add_bos = 0; cfg->eos_ids[0] = 0; cfg->n_eos = 1;
    } else { /* LLaMA-1: params.json norm_eps 1e-6 (65B: 1e-5), theta 10000 */
        cfg->norm_eps = strcmp(s->name, "llama-65b") == 0 ? 1e-5f : 1e-6f;
        cfg->rope_theta = 10000.0f;
        cfg->bos_id = 1; cfg->add_bos = 1; cfg->eos_ids[0] = 2; cfg->n_eos = 1;
    }
    return LINFER_OK;
}

void lf_roofline_model_from_config(const lf_config *cfg, const char *name, lf_roofline_model *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name ? name : cfg->arch);
    out->arch = LF_ARCH_LLAMA;
    out->n_layers = cfg->n_layers;
    out->dim = cfg->dim;
    out->n_heads = cfg->n_heads;
    out->n_kv_heads = cfg->n_kv_heads > 0 ? cfg->n_kv_heads : cfg->n_heads;
    out->head_dim = cfg->head_dim > 0 ? cfg->head_dim : (cfg->n_heads ? cfg->dim / cfg->n_heads : 0);
    out->ffn_dim = cfg->ffn_dim;
    out->vocab_size = cfg->vocab_size;
    out->max_context = cfg->max_context;
    out->tie_embeddings = cfg->tie_embeddings;
    out->rope_dims = out->head_dim;
    out->sliding_window = 0;
    out->engine_runs = 1;
    out->source = "model config";
}

double lf_roofline_model_params(const lf_roofline_model *m) {
    double h = m->dim, hd = m->head_dim;
    double attn = h * hd * (m->n_heads + 2.0 * m->n_kv_heads) + hd * m->n_heads * h;
    double ffn = (m->arch == LF_ARCH_LLAMA ? 3.0 : 2.0) * h * m->ffn_dim;
    double norms = (m->arch == LF_ARCH_LLAMA ? 2.0 : 4.0) * h;   /* LayerNorm has a bias too */
    double emb = (double)m->vocab_size * h * (m->tie_embeddings ? 1.0 : 2.0);
    return m->n_layers * (attn + ffn + norms) + emb + h;
}

/* ---- --shape parser -------------------------------------------------------------------------- */
static lf_status shape_int(const char *key, const char *val, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    double d = strtod(val, &end);   /* accepts 1e5 as well as 100000 */
    if (end == val || *end || errno || d != floor(d) || d < lo || d > hi)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: %s=%s is not an integer in [%ld, %ld]", key, val, lo, hi);
    *out = (int)d;
    return LINFER_OK;
}

lf_status lf_parse_shape(const char *spec, lf_roofline_model *out) {
    if (!spec || !*spec) return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: empty");
    const char *colon = strchr(spec, ':');
    size_t alen = colon ? (size_t)(colon - spec) : strlen(spec);
    lf_roofline_model m;
    memset(&m, 0, sizeof m);
    if (alen == 3 && strncasecmp(spec, "gpt", 3) == 0) m.arch = LF_ARCH_GPT;
    else if (alen == 5 && strncasecmp(spec, "llama", 5) == 0) m.arch = LF_ARCH_LLAMA;
    else return lf_fail(LINFER_ERR_INVALID_ARG, "--shape '%s': starts with gpt: or llama:", spec);
    m.max_context = 2048;
    m.tie_embeddings = 1;
    m.n_heads = m.n_kv_heads = m.head_dim = m.ffn_dim = m.rope_dims = -1;
    if (colon) {
        char buf[512];
        if (strlen(colon + 1) >= sizeof buf) return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: too long");
        strcpy(buf, colon + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq) return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: '%s' is not key=value", tok);
            *eq = 0;
            const char *k = tok, *v = eq + 1;
            const long BIG = 1L << 30;
            lf_status s;
            if (!strcmp(k, "n_layers") || !strcmp(k, "layers") || !strcmp(k, "n")) s = shape_int(k, v, 1, LF_MAX_LAYERS * 4, &m.n_layers);
            else if (!strcmp(k, "dim") || !strcmp(k, "h") || !strcmp(k, "hidden")) s = shape_int(k, v, 1, BIG, &m.dim);
            else if (!strcmp(k, "n_heads") || !strcmp(k, "heads")) s = shape_int(k, v, 1, BIG, &m.n_heads);
            else if (!strcmp(k, "n_kv_heads") || !strcmp(k, "kv_heads")) s = shape_int(k, v, 1, BIG, &m.n_kv_heads);
            else if (!strcmp(k, "head_dim")) s = shape_int(k, v, 1, BIG, &m.head_dim);
            else if (!strcmp(k, "ffn_dim") || !strcmp(k, "ffn")) s = shape_int(k, v, 1, BIG, &m.ffn_dim);
            else if (!strcmp(k, "vocab") || !strcmp(k, "vocab_size")) s = shape_int(k, v, 0, BIG, &m.vocab_size);
            else if (!strcmp(k, "max_context") || !strcmp(k, "context")) s = shape_int(k, v, 1, BIG, &m.max_context);
            else if (!strcmp(k, "tied")) s = shape_int(k, v, 0, 1, &m.tie_embeddings);
            else if (!strcmp(k, "rope_dims")) s = shape_int(k, v, 0, BIG, &m.rope_dims);
            else if (!strcmp(k, "window")) s = shape_int(k, v, 0, BIG, &m.sliding_window);
            else return lf_fail(LINFER_ERR_INVALID_ARG,
                                "--shape: unknown key '%s' (n_layers, dim, n_heads, n_kv_heads, head_dim, "
                                "ffn_dim, vocab, max_context, tied, rope_dims, window)", k);
            if (s != LINFER_OK) return s;
        }
    }
    if (m.n_layers <= 0 || m.dim <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--shape '%s': needs n_layers and dim", spec);
    if (m.n_heads < 0) {
        if (m.head_dim > 0) m.n_heads = m.dim / m.head_dim;
        else m.n_heads = m.dim % 128 == 0 ? m.dim / 128 : (m.dim % 64 == 0 ? m.dim / 64 : 1);
    }
    if (m.head_dim < 0) {
        if (m.dim % m.n_heads) return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: dim %d is not a multiple of n_heads %d; give head_dim", m.dim, m.n_heads);
        m.head_dim = m.dim / m.n_heads;
    }
    if (m.n_kv_heads < 0) m.n_kv_heads = m.n_heads;
    if (m.n_heads % m.n_kv_heads)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--shape: n_heads %d is not a multiple of n_kv_heads %d", m.n_heads, m.n_kv_heads);
    if (m.ffn_dim < 0) {
        if (m.arch == LF_ARCH_GPT) m.ffn_dim = 4 * m.dim;
        else { long f = (8L * m.dim / 3 + 255) / 256 * 256; m.ffn_dim = (int)f; }
    }
    if (m.rope_dims < 0) m.rope_dims = m.arch == LF_ARCH_GPT ? 0 : m.head_dim; /* GPT: learned positions */
    snprintf(m.name, sizeof m.name, "%s(L%d,h%d)", m.arch == LF_ARCH_GPT ? "gpt" : "llama", m.n_layers, m.dim);
    m.engine_runs = 0;
    m.source = "--shape";
    *out = m;
    return LINFER_OK;
}

/* ---- GPU presets ---------------------------------------------------------------------------- */
#define T 1e12
#define GB 1e9
/* Assumptions, not datasheet figures: kernel launch overhead without CUDA graphs (~3 µs), and the
 * latency of a small all-reduce: 8 µs inside an NVLink domain (seed 002 / "Transformer Inference
 * Arithmetic"), 20 µs over PCIe. `linfer calibrate` measures all three. */
#define LAUNCH 3e-6
#define AR_NVL 8e-6
#define AR_PCIE 20e-6
#define PCIE3 16e9
#define PCIE4 32e9
#define PCIE5 64e9

static const lf_hw hw_presets[] = {
    /* T4 datasheet (Turing): 16 GB GDDR6, 320+ GB/s, 65 TFLOPS mixed FP16/FP32, 130 INT8 TOPS,
     * no BF16/FP8; PCIe Gen3 x16 (32 GB/s both directions), no NVLink. */
    {"t4", "NVIDIA T4 16GB (PCIe)", 16 * GIB, 320 * GB, {65 * T, 0, 0, 130 * T},
     0, 0, 1, 3, PCIE3, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA T4 datasheet", {0}, 0},
    /* V100 datasheet: SXM2 900 GB/s HBM2, 125 TFLOPS tensor (FP16), NVLink 300 GB/s,
     * PCIe Gen3 32 GB/s; PCIe card 112 TFLOPS, no NVLink. No INT8/BF16 tensor cores. */
    {"v100-16", "NVIDIA V100 SXM2 16GB", 16 * GIB, 900 * GB, {125 * T, 0, 0, 0},
     2, 300 * GB, 8, 3, PCIE3, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA V100 datasheet (SXM2)", {0}, 0},
    {"v100-32", "NVIDIA V100 SXM2 32GB", 32 * GIB, 900 * GB, {125 * T, 0, 0, 0},
     2, 300 * GB, 8, 3, PCIE3, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA V100 datasheet (SXM2)", {0}, 0},
    {"v100-pcie-16", "NVIDIA V100 PCIe 16GB", 16 * GIB, 900 * GB, {112 * T, 0, 0, 0},
     0, 0, 1, 3, PCIE3, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA V100 datasheet (PCIe)", {0}, 0},
    {"v100-pcie-32", "NVIDIA V100 PCIe 32GB", 32 * GIB, 900 * GB, {112 * T, 0, 0, 0},
     0, 0, 1, 3, PCIE3, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA V100 datasheet (PCIe)", {0}, 0},
    /* A10 datasheet: 24 GB GDDR6, 600 GB/s, BF16/FP16 tensor 125 TF (250* sparse), INT8 250 TOPS
     * (500* sparse), PCIe Gen4 64 GB/s, no NVLink. */
    {"a10", "NVIDIA A10 24GB", 24 * GIB, 600 * GB, {125 * T, 125 * T, 0, 250 * T},
     0, 0, 1, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A10 datasheet", {0}, 0},
    /* A40 datasheet: 48 GB GDDR6, 696 GB/s, BF16/FP16 tensor 149.7 TF (299.4* sparse), INT8 299.3
     * TOPS (598.6*), NVLink (3rd gen, 2-way bridge) 112.5 GB/s bidirectional, PCIe Gen4. Seed 003
     * uses the same 112.5 GB/s. */
    {"a40", "NVIDIA A40 48GB", 48 * GIB, 696 * GB, {149.7 * T, 149.7 * T, 0, 299.3 * T},
     3, 112.5 * GB, 2, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A40 datasheet", {0}, 0},
    /* RTX A6000 datasheet: 48 GB GDDR6, 768 GB/s, NVLink 112.5 GB/s (2-way bridge), PCIe Gen4;
     * the datasheet's "309.7 TFLOPS tensor" is sparse — dense FP16/BF16 (FP32 accumulate) 154.8 TF
     * and INT8 309.7 TOPS from the NVIDIA Ampere GA102 GPU architecture whitepaper. */
    {"rtx-a6000", "NVIDIA RTX A6000 48GB", 48 * GIB, 768 * GB, {154.8 * T, 154.8 * T, 0, 309.7 * T},
     3, 112.5 * GB, 2, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA RTX A6000 datasheet + GA102 whitepaper", {0}, 0},
    /* A100 datasheet: BF16/FP16 tensor 312 TF (624* sparse), INT8 624 TOPS (1248*); 40GB PCIe
     * 1,555 GB/s, 80GB PCIe 1,935 GB/s, 40GB SXM 1,555 GB/s, 80GB SXM 2,039 GB/s; NVLink 3rd gen
     * 600 GB/s (SXM: NVSwitch across 8; PCIe: NVLink bridge for 2 GPUs), PCIe Gen4 64 GB/s. */
    {"a100-pcie-40", "NVIDIA A100 PCIe 40GB", 40 * GIB, 1555 * GB, {312 * T, 312 * T, 0, 624 * T},
     3, 600 * GB, 2, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A100 datasheet (PCIe 40GB)", {0}, 0},
    {"a100-pcie-80", "NVIDIA A100 PCIe 80GB", 80 * GIB, 1935 * GB, {312 * T, 312 * T, 0, 624 * T},
     3, 600 * GB, 2, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A100 datasheet (PCIe 80GB)", {0}, 0},
    {"a100-sxm-40", "NVIDIA A100 SXM4 40GB", 40 * GIB, 1555 * GB, {312 * T, 312 * T, 0, 624 * T},
     3, 600 * GB, 8, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A100 datasheet (SXM 40GB)", {0}, 0},
    {"a100-sxm-80", "NVIDIA A100 SXM4 80GB", 80 * GIB, 2039 * GB, {312 * T, 312 * T, 0, 624 * T},
     3, 600 * GB, 8, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA A100 datasheet (SXM 80GB)", {0}, 0},
    /* L40S datasheet: 48 GB GDDR6, 864 GB/s, BF16/FP16 tensor 362.05 TF (733* sparse), FP8 733 TF
     * (1,466*), INT8 733 TOPS (1,466*), PCIe Gen4 x16 64 GB/s bidirectional, no NVLink. */
    {"l40s", "NVIDIA L40S 48GB", 48 * GIB, 864 * GB, {362.05 * T, 362.05 * T, 733 * T, 733 * T},
     0, 0, 1, 4, PCIE4, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA L40S datasheet", {0}, 0},
    /* H100 datasheet: PCIe 80 GB, 2 TB/s, BF16/FP16 1,513* TF sparse -> 756 dense, FP8 and INT8
     * 3,026* -> 1,513 dense, NVLink bridge 600 GB/s (2 GPUs), PCIe Gen5 128 GB/s. SXM5 80 GB HBM3,
     * 3.35 TB/s, BF16/FP16 1,979* -> 989.4 dense, FP8/INT8 3,958* -> 1,978.9 dense, NVLink 4th gen
     * 900 GB/s, PCIe Gen5 128 GB/s. */
    {"h100-pcie", "NVIDIA H100 PCIe 80GB", 80 * GIB, 2000 * GB, {756 * T, 756 * T, 1513 * T, 1513 * T},
     4, 600 * GB, 2, 5, PCIE5, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA H100 datasheet (PCIe)", {0}, 0},
    {"h100-sxm", "NVIDIA H100 SXM5 80GB", 80 * GIB, 3350 * GB, {989.4 * T, 989.4 * T, 1978.9 * T, 1978.9 * T},
     4, 900 * GB, 8, 5, PCIE5, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA H100 datasheet (SXM)", {0}, 0},
    /* H200 datasheet (SXM): 141 GB HBM3e, 4.8 TB/s, BF16/FP16 1,979* -> 989.5 dense, FP8/INT8
     * 3,958* -> 1,979 dense, NVLink 900 GB/s, PCIe Gen5 128 GB/s. */
    {"h200", "NVIDIA H200 SXM 141GB", 141 * GIB, 4800 * GB, {989.5 * T, 989.5 * T, 1979 * T, 1979 * T},
     4, 900 * GB, 8, 5, PCIE5, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA H200 datasheet (SXM)", {0}, 0},
    /* HGX B200 datasheet, per GPU: 180 GB HBM3e, 7.7 TB/s, FP16/BF16 4.5* PF -> 2.25 PF dense,
     * FP8 9* PF -> 4.5 PF dense, INT8 9* POPS -> 4.5 dense, NVLink 5th gen 1.8 TB/s, PCIe Gen5
     * 128 GB/s. */
    {"b200", "NVIDIA B200 180GB (HGX)", 180 * GIB, 7700 * GB, {2250 * T, 2250 * T, 4500 * T, 4500 * T},
     5, 1800 * GB, 8, 5, PCIE5, 8, AR_NVL, AR_PCIE, LAUNCH, "NVIDIA HGX B200 datasheet", {0}, 0},
};
#undef T
#undef GB
#define N_HW_PRESETS ((int)(sizeof hw_presets / sizeof hw_presets[0]))

/* Names as written by nvidia-smi and common spellings, normalised (see norm_name). */
static const struct { const char *alias, *preset; } hw_aliases[] = {
    {"v10016gb", "v100-16"}, {"v100sxm216gb", "v100-16"}, {"v100sxm216", "v100-16"}, {"v100sxm16", "v100-16"},
    {"v10032gb", "v100-32"}, {"v100sxm232gb", "v100-32"}, {"v100sxm232", "v100-32"}, {"v100sxm32", "v100-32"},
    {"v100pcie16gb", "v100-pcie-16"}, {"v100pcie32gb", "v100-pcie-32"},
    {"a6000", "rtx-a6000"},
    {"a100pcie40gb", "a100-pcie-40"}, {"a10040gbpcie", "a100-pcie-40"},
    {"a100pcie80gb", "a100-pcie-80"}, {"a10080gbpcie", "a100-pcie-80"},
    {"a100sxm440gb", "a100-sxm-40"}, {"a100sxm440", "a100-sxm-40"}, {"a100sxm40gb", "a100-sxm-40"},
    {"a100sxm480gb", "a100-sxm-80"}, {"a100sxm480", "a100-sxm-80"}, {"a100sxm80gb", "a100-sxm-80"},
    {"h100pcie80gb", "h100-pcie"}, {"h10080gbpcie", "h100-pcie"},
    {"h10080gbhbm3", "h100-sxm"}, {"h100sxm5", "h100-sxm"}, {"h100sxm580gb", "h100-sxm"}, {"h100sxm80gb", "h100-sxm"},
    {"h200sxm", "h200"}, {"h200sxm141gb", "h200"}, {"h200141gbhbm3e", "h200"},
    {"b200180gb", "b200"}, {"b200sxm", "b200"},
};

const lf_hw *lf_hw_presets(int *n) {
    if (n) *n = N_HW_PRESETS;
    return hw_presets;
}

const char *lf_hw_preset_names(char *buf, size_t cap) {
    size_t len = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    for (int i = 0; i < N_HW_PRESETS; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", hw_presets[i].name);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
    return buf;
}

/* Lower-case alphanumerics only, vendor words dropped: "NVIDIA A100-SXM4-80GB" -> "a100sxm480gb". */
static void norm_name(const char *in, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < cap; p++)
        if (isalnum((unsigned char)*p)) out[n++] = (char)tolower((unsigned char)*p);
    out[n] = 0;
    static const char *const prefixes[] = {"nvidia", "tesla", "geforce"};
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
            size_t l = strlen(prefixes[i]);
            if (strncmp(out, prefixes[i], l) == 0 && out[l]) {
                memmove(out, out + l, strlen(out + l) + 1);
                again = 1;
            }
        }
    }
}

static const lf_hw *find_hw(const char *name, int *n_prefix, char *prefix_list, size_t cap) {
    char key[128], cand[128];
    norm_name(name, key, sizeof key);
    if (n_prefix) *n_prefix = 0;
    if (prefix_list && cap) prefix_list[0] = 0;
    if (!key[0]) return NULL;
    for (int i = 0; i < N_HW_PRESETS; i++) {
        norm_name(hw_presets[i].name, cand, sizeof cand);
        if (strcmp(key, cand) == 0) return &hw_presets[i];
    }
    for (size_t a = 0; a < sizeof hw_aliases / sizeof hw_aliases[0]; a++)
        if (strcmp(key, hw_aliases[a].alias) == 0)
            for (int i = 0; i < N_HW_PRESETS; i++)
                if (strcmp(hw_presets[i].name, hw_aliases[a].preset) == 0) return &hw_presets[i];
    /* "a100" names four presets: report the ambiguity rather than pick one. */
    size_t len = 0;
    for (int i = 0; i < N_HW_PRESETS; i++) {
        norm_name(hw_presets[i].name, cand, sizeof cand);
        if (strncmp(cand, key, strlen(key)) == 0) {
            if (n_prefix) (*n_prefix)++;
            if (prefix_list && len < cap) {
                int w = snprintf(prefix_list + len, cap - len, "%s%s", len ? ", " : "", hw_presets[i].name);
                if (w > 0) len += (size_t)w;
            }
        }
    }
    return NULL;
}

lf_status lf_hw_lookup(const char *name, lf_hw *out) {
    int n_prefix;
    char amb[512], names[1024];
    const lf_hw *h = find_hw(name ? name : "", &n_prefix, amb, sizeof amb);
    if (h) { *out = *h; return LINFER_OK; }
    if (n_prefix > 1)
        return lf_fail(LINFER_ERR_INVALID_ARG, "GPU name '%s' is ambiguous: %s", name, amb);
    return lf_fail(LINFER_ERR_INVALID_ARG,
                   "unknown GPU '%s' (known: %s; or 'measured' after `linfer calibrate`, or 'custom' "
                   "with --hbm-bw/--flops)", name ? name : "", lf_hw_preset_names(names, sizeof names));
}

lf_status lf_hw_from_measured(const lf_hw_measured *m, lf_hw *out) {
    if (!m->valid || m->read_bw <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "calibration has no measured read bandwidth; run `linfer calibrate`");
    int any = 0;
    for (int i = 0; i < LF_PREC_COUNT; i++) any |= m->gemm_flops[i] > 0;
    if (!any) return lf_fail(LINFER_ERR_INVALID_ARG, "calibration has no measured GEMM FLOP/s; run `linfer calibrate`");
    const lf_hw *base = m->gpu_name[0] ? find_hw(m->gpu_name, NULL, NULL, 0) : NULL;
    if (base) {
        *out = *base;
    } else {
        memset(out, 0, sizeof *out);
        snprintf(out->desc, sizeof out->desc, "%s", m->gpu_name[0] ? m->gpu_name : "measured GPU");
        out->mem_bytes = m->mem_bytes;
        out->nvlink_gpus = 1;
        out->pcie_bw = PCIE4;       /* unknown card: assume PCIe Gen4 unless the all-reduce was measured */
        out->pcie_gen = 4;
        out->max_gpus = 8;
        out->ar_latency_s = AR_NVL;
        out->ar_latency_pcie_s = AR_PCIE;
        out->launch_s = LAUNCH;
        out->source = "calibration only";
    }
    snprintf(out->name, sizeof out->name, "measured");
    out->measured = *m;
    out->use_measured = 1;
    return LINFER_OK;
}

double lf_hw_eff_bw(const lf_hw *hw) {
    if (hw->use_measured && hw->measured.valid && hw->measured.read_bw > 0) return hw->measured.read_bw;
    return hw->hbm_bw;
}

double lf_hw_eff_flops(const lf_hw *hw, lf_prec p) {
    if (p < 0 || p >= LF_PREC_COUNT) return 0;
    if (hw->use_measured && hw->measured.valid && hw->measured.gemm_flops[p] > 0) return hw->measured.gemm_flops[p];
    return hw->flops[p];
}

double lf_hw_chain_time(const lf_hw *hw, double bytes) {
    const lf_hw_measured *m = &hw->measured;
    if (!hw->use_measured || !m->valid || m->chain_n <= 0) return 0;
    const int n = m->chain_n;
    if (bytes <= m->chain_bytes[0]) return m->chain_s[0];
    for (int i = 1; i < n; i++)
        if (bytes <= m->chain_bytes[i]) {
            const double f = (bytes - m->chain_bytes[i - 1]) / (m->chain_bytes[i] - m->chain_bytes[i - 1]);
            return m->chain_s[i - 1] + f * (m->chain_s[i] - m->chain_s[i - 1]);
        }
    return m->chain_s[n - 1] + (bytes - m->chain_bytes[n - 1]) / m->read_bw;
}

const char *lf_hw_overhead_desc(const lf_hw *hw, char *buf, size_t cap) {
    const lf_hw_measured *m = &hw->measured;
    if (lf_hw_chain_time(hw, 1) > 0) {
        size_t o = (size_t)snprintf(buf, cap, "kernel chain (measured):");
        for (int i = 0; i < m->chain_n && o < cap; i++) {
            const double b = m->chain_bytes[i];
            o += (size_t)snprintf(buf + o, cap - o, "%s +%.2f us at %.0f %s", i ? "," : "", (m->chain_s[i] - b / m->read_bw) * 1e6,
                                  b >= 1048576 ? b / 1048576 : b / 1024, b >= 1048576 ? "MiB" : "KiB");
        }
        return buf;
    }
    const int measured = hw->use_measured && m->valid && m->launch_s > 0;
    snprintf(buf, cap, "launch floor %.2f us (%s)", lf_hw_eff_launch(hw) * 1e6, measured ? "measured" : "assumed");
    return buf;
}

double lf_hw_eff_launch(const lf_hw *hw) {
    if (hw->use_measured && hw->measured.valid && hw->measured.launch_s > 0) return hw->measured.launch_s;
    return hw->launch_s;
}

/* The measured all-reduce figure at exactly tp GPUs (latency or bus bandwidth), 0 when none:
 * the per-count one, else the single (older-format) one when it was measured at tp. ar_gpus = 0
 * switches all of them off. */
static double measured_ar(const lf_hw *hw, int tp, int busbw) {
    const lf_hw_measured *m = &hw->measured;
    if (!hw->use_measured || !m->valid || m->ar_gpus <= 0 || tp < 2) return 0;
    if (tp <= LF_HW_AR_MAX_GPUS) {
        double v = busbw ? m->ar_busbw_by_n[tp] : m->ar_latency_by_n[tp];
        if (v > 0) return v;
    }
    if (m->ar_gpus == tp) return busbw ? m->ar_busbw : m->ar_latency_s;
    return 0;
}

int lf_hw_ar_measured_at(const lf_hw *hw, int tp, int busbw) { return measured_ar(hw, tp, busbw) > 0; }

const double lf_hw_os_bytes[LF_HW_OS_SIZES] = {32768, 131072, 524288};

double lf_hw_oneshot_time(const lf_hw *hw, int tp, double bytes) {
    const lf_hw_measured *m = &hw->measured;
    if (!hw->use_measured || !m->valid || m->ar_gpus <= 0 || tp < 2 || tp > LF_HW_AR_MAX_GPUS || !(bytes > 0)) return 0;
    const double *t = m->os_time_by_n[tp];
    for (int k = 0; k < LF_HW_OS_SIZES; k++)
        if (!(t[k] > 0)) return 0;
    if (bytes <= lf_hw_os_bytes[0]) return t[0];
    for (int k = 1; k < LF_HW_OS_SIZES; k++)
        if (bytes <= lf_hw_os_bytes[k]) {
            const double f = (bytes - lf_hw_os_bytes[k - 1]) / (lf_hw_os_bytes[k] - lf_hw_os_bytes[k - 1]);
            return t[k - 1] + f * (t[k] - t[k - 1]);
        }
    return 0;
}

double lf_hw_eff_ar_latency(const lf_hw *hw, int tp) {
    double v = measured_ar(hw, tp, 0);
    if (v > 0) return v;
    if (hw->nvlink_bw > 0 && tp <= hw->nvlink_gpus) return hw->ar_latency_s;
    return hw->ar_latency_pcie_s > 0 ? hw->ar_latency_pcie_s : hw->ar_latency_s;
}

double lf_hw_eff_busbw(const lf_hw *hw, int tp) {
    double v = measured_ar(hw, tp, 1);
    if (v > 0) return v;
    if (hw->nvlink_bw > 0 && tp <= hw->nvlink_gpus) return hw->nvlink_bw / 2;
    return hw->pcie_bw;
}

const char *lf_hw_origin(const lf_hw *hw, char *buf, size_t cap) {
    const lf_hw_measured *m = &hw->measured;
    int on = hw->use_measured && m->valid;
    /* all-reduce: the GPU counts it was measured at (NCCL, `linfer calibrate`), assumed elsewhere */
    char ar[96] = "assumed";
    if (on && m->ar_gpus > 0) {
        char counts[48] = "";
        for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
            if (!(m->ar_latency_by_n[n] > 0 || m->ar_busbw_by_n[n] > 0)) continue;
            size_t l = strlen(counts);
            snprintf(counts + l, sizeof counts - l, "%s%d", l ? "," : "", n);
        }
        if (!counts[0]) snprintf(counts, sizeof counts, "%d", m->ar_gpus);
        snprintf(ar, sizeof ar, "measured (NCCL) at %s GPUs, assumed at others", counts);
    }
    /* FLOP/s: the precisions calibrate measured (e.g. "measured for fp16, bf16, fp8"); the others
     * come from the datasheet */
    char fl[96] = "datasheet";
    if (on) {
        size_t l = 0;
        for (int p = 0; p < LF_PREC_COUNT && l < sizeof fl; p++)
            if (m->gemm_flops[p] > 0)
                l += (size_t)snprintf(fl + l, sizeof fl - l, "%s%s", l ? ", " : "measured for ", lf_prec_name((lf_prec)p));
        if (l && l < sizeof fl) snprintf(fl + l, sizeof fl - l, " (datasheet for the others)");
        if (!l) snprintf(fl, sizeof fl, "datasheet");
    }
    snprintf(buf, cap, "bandwidth %s, FLOP/s %s, launch %s, all-reduce %s", on && m->read_bw > 0 ? "measured" : "datasheet", fl,
             on && m->launch_s > 0 ? "measured" : "assumed", ar);
    return buf;
}

/* ---- calibration file ----------------------------------------------------------------------- */
lf_status lf_hw_measured_save(const char *path, const lf_hw_measured *m) {
    FILE *f = fopen(path, "w");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: cannot write calibration: %s", path, strerror(errno));
    fprintf(f, "# linfer calibration v1\n");
    fprintf(f, "gpu_name %s\n", m->gpu_name);
    fprintf(f, "mem_bytes %.17g\n", m->mem_bytes);
    fprintf(f, "read_bw %.17g\n", m->read_bw);
    for (int i = 0; i < LF_PREC_COUNT; i++) fprintf(f, "gemm_flops_%s %.17g\n", prec_names[i], m->gemm_flops[i]);
    fprintf(f, "launch_s %.17g\n", m->launch_s);
    fprintf(f, "ar_latency_s %.17g\n", m->ar_latency_s);
    fprintf(f, "ar_busbw %.17g\n", m->ar_busbw);
    fprintf(f, "ar_gpus %d\n", m->ar_gpus);
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
        if (!(m->ar_latency_by_n[n] > 0 || m->ar_busbw_by_n[n] > 0)) continue;
        fprintf(f, "ar_latency_s_%d %.17g\n", n, m->ar_latency_by_n[n]);
        fprintf(f, "ar_busbw_%d %.17g\n", n, m->ar_busbw_by_n[n]);
    }
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++)
        for (int k = 0; k < LF_HW_OS_SIZES; k++)
            if (m->os_time_by_n[n][k] > 0) fprintf(f, "ar_oneshot_s_%d_%.0f %.17g\n", n, lf_hw_os_bytes[k], m->os_time_by_n[n][k]);
    for (int i = 0; i < m->chain_n && i < LF_HW_CHAIN_MAX; i++) fprintf(f, "chain_s_%.0f %.17g\n", m->chain_bytes[i], m->chain_s[i]);
    if (fclose(f) != 0) return lf_fail(LINFER_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return LINFER_OK;
}

lf_status lf_hw_measured_load(const char *path, lf_hw_measured *m) {
    FILE *f = fopen(path, "r");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: no calibration (%s); run `linfer calibrate`", path, strerror(errno));
    memset(m, 0, sizeof *m);
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *sp = p + strcspn(p, " \t");
        char *val = sp;
        if (*sp) { *sp = 0; val = sp + 1; while (*val == ' ' || *val == '\t') val++; }
        if (strcmp(p, "gpu_name") == 0) { snprintf(m->gpu_name, sizeof m->gpu_name, "%s", val); continue; }
        char *end;
        errno = 0;
        double d = strtod(val, &end);
        if (end == val || errno || !isfinite(d) || d < 0) {
            fclose(f);
            return lf_fail(LINFER_ERR_FORMAT, "%s:%d: bad value '%s' for %s", path, lineno, val, p);
        }
        if (!strcmp(p, "mem_bytes")) m->mem_bytes = d;
        else if (!strcmp(p, "read_bw")) m->read_bw = d;
        else if (!strcmp(p, "launch_s")) m->launch_s = d;
        else if (!strcmp(p, "ar_latency_s")) m->ar_latency_s = d;
        else if (!strcmp(p, "ar_busbw")) m->ar_busbw = d;
        else if (!strcmp(p, "ar_gpus")) m->ar_gpus = d > 1e6 ? 0 : (int)d;
        else if (!strncmp(p, "ar_oneshot_s_", 13)) {
            /* ar_oneshot_s_<n>_<bytes> (n = 2..8, bytes one of lf_hw_os_bytes; others skipped) */
            char *e, *e2 = NULL;
            const long n = strtol(p + 13, &e, 10);
            const double bytes = *e == '_' ? strtod(e + 1, &e2) : 0;
            if (n >= 2 && n <= LF_HW_AR_MAX_GPUS && bytes > 0 && e2 && !*e2 && d < 1)
                for (int k = 0; k < LF_HW_OS_SIZES; k++)
                    if (bytes == lf_hw_os_bytes[k]) m->os_time_by_n[n][k] = d;
        } else if (!strncmp(p, "ar_latency_s_", 13) || !strncmp(p, "ar_busbw_", 9)) {
            /* per GPU count: ar_latency_s_<n>, ar_busbw_<n> (n = 2..8; other counts skipped) */
            int lat = p[3] == 'l';
            const char *num = p + (lat ? 13 : 9);
            char *e;
            long n = strtol(num, &e, 10);
            if (e != num && !*e && n >= 2 && n <= LF_HW_AR_MAX_GPUS) {
                if (lat) m->ar_latency_by_n[n] = d;
                else m->ar_busbw_by_n[n] = d;
            }
        } else if (!strncmp(p, "chain_s_", 8)) {
            /* chain_s_<bytes> <seconds>, ascending sizes (others skipped) */
            char *e;
            const double bytes = strtod(p + 8, &e);
            if (e != p + 8 && !*e && bytes >= 16 && d > 0 && d < 1 && m->chain_n < LF_HW_CHAIN_MAX &&
                (m->chain_n == 0 || bytes > m->chain_bytes[m->chain_n - 1])) {
                m->chain_bytes[m->chain_n] = bytes;
                m->chain_s[m->chain_n] = d;
                m->chain_n++;
            }
        } else {
            int hit = 0;
            for (int i = 0; i < LF_PREC_COUNT; i++)
                if (strncmp(p, "gemm_flops_", 11) == 0 && strcmp(p + 11, prec_names[i]) == 0) { m->gemm_flops[i] = d; hit = 1; }
            if (!hit) { /* unknown keys are skipped: newer calibrate verbs may add fields */ }
        }
    }
    fclose(f);
    m->valid = m->read_bw > 0;
    return LINFER_OK;
}

const char *lf_hw_default_calib_path(char *buf, size_t cap) {
    const char *env = getenv("LINFER_CALIB");
    if (env && *env) { snprintf(buf, cap, "%s", env); return buf; }
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.cache/linfer/calibration.txt", home && *home ? home : ".");
    return buf;
}
