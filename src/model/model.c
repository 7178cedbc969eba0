/* model.c — model lifetime, config validation, weight-shape checks and shared helpers. */
#include "model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../tokenizer/tokenizer.h"

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

lf_status lf_model_load(const char *path, int load_tokenizer, lf_model **out) {
    *out = NULL;
    if (!path || !*path) return lf_fail(LINFER_ERR_INVALID_ARG, "no model path given");
    if (!lf_path_exists(path)) return lf_fail(LINFER_ERR_IO, "%s: no such file or directory", path);
    lf_model *m = calloc(1, sizeof *m);
    if (!m) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    m->path = strdup(path);
    lf_status s;
    if (lf_path_is_dir(path)) s = lf_load_hf_dir(path, load_tokenizer, m);
    else if (has_suffix(path, ".gguf")) s = lf_load_gguf(path, load_tokenizer, m);
    else if (has_suffix(path, ".safetensors") || has_suffix(path, "config.json"))
        s = lf_fail(LINFER_ERR_INVALID_ARG, "%s: give the model's directory (with config.json and *.safetensors), not one file", path);
    else {
        /* sniff: GGUF magic */
        lf_mapped_file f;
        s = lf_map_file(path, &f);
        if (s == LINFER_OK) {
            int is_gguf = f.size >= 4 && !memcmp(f.data, "GGUF", 4);
            lf_unmap_file(&f);
            s = is_gguf ? lf_load_gguf(path, load_tokenizer, m)
                        : lf_fail(LINFER_ERR_FORMAT, "%s: not a GGUF file or HF model directory", path);
        }
    }
    if (s != LINFER_OK) { lf_model_free(m); return s; }
    *out = m;
    return LINFER_OK;
}

lf_status lf_model_create_random(const lf_config *cfg, lf_dtype dtype, uint64_t seed, lf_model **out) {
    *out = NULL;
    LF_TRY(lf_config_validate(cfg, "model preset"));
    lf_model *m = calloc(1, sizeof *m);
    if (!m) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    m->cfg = *cfg;
    m->random_weights = 1;
    m->random_seed = seed;
    m->random_dtype = dtype;
    m->path = strdup("(random weights)");
    m->w.layers = calloc((size_t)cfg->n_layers, sizeof *m->w.layers);
    if (!m->w.layers) { lf_model_free(m); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    /* shapes only: data NULL */
    const lf_config *c = cfg;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
#define SHAPE(t, a, b) do { (t).dtype = dtype; (t).n_dims = (b) ? 2 : 1; (t).ne[0] = (a); (t).ne[1] = (b) ? (b) : 1; (t).ne[2] = (t).ne[3] = 1; } while (0)
    SHAPE(m->w.tok_embd, c->dim, c->vocab_size);
    SHAPE(m->w.out_norm, c->dim, 0);
    SHAPE(m->w.lm_head, c->dim, c->vocab_size);
    for (int l = 0; l < c->n_layers; l++) {
        lf_layer_src *L = &m->w.layers[l];
        SHAPE(L->attn_norm, c->dim, 0); SHAPE(L->ffn_norm, c->dim, 0);
        SHAPE(L->wq, c->dim, qd); SHAPE(L->wk, c->dim, kvd); SHAPE(L->wv, c->dim, kvd); SHAPE(L->wo, qd, c->dim);
        SHAPE(L->w_gate, c->dim, c->ffn_dim); SHAPE(L->w_up, c->dim, c->ffn_dim); SHAPE(L->w_down, c->ffn_dim, c->dim);
        if (c->qkv_bias) { SHAPE(L->bq, qd, 0); SHAPE(L->bk, kvd, 0); SHAPE(L->bv, kvd, 0); SHAPE(L->bo, c->dim, 0); }
    }
#undef SHAPE
    *out = m;
    return LINFER_OK;
}

void lf_model_free(lf_model *m) {
    if (!m) return;
    if (m->tok) lf_tokenizer_free(m->tok);
    if (m->free_format_state) m->free_format_state(m->format_state);
    for (int i = 0; i < m->n_maps; i++) lf_unmap_file(&m->maps[i]);
    free(m->maps);
    free(m->w.layers);
    free(m->path);
    free(m);
}

lf_status lf_config_validate(const lf_config *c, const char *origin) {
#define REQ(cond, ...) do { if (!(cond)) return lf_fail(LINFER_ERR_FORMAT, __VA_ARGS__); } while (0)
    REQ(c->n_layers > 0 && c->n_layers <= LF_MAX_LAYERS, "%s: num_hidden_layers = %d (1..%d)", origin, c->n_layers, LF_MAX_LAYERS);
    REQ(c->dim > 0 && c->dim <= 65536, "%s: hidden_size = %d is out of range", origin, c->dim);
    REQ(c->n_heads > 0 && c->n_heads <= 1024, "%s: num_attention_heads = %d is out of range", origin, c->n_heads);
    REQ(c->n_kv_heads > 0 && c->n_kv_heads <= c->n_heads, "%s: num_key_value_heads = %d (must be 1..num_attention_heads)", origin, c->n_kv_heads);
    REQ(c->n_heads % c->n_kv_heads == 0, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", origin, c->n_heads, c->n_kv_heads);
    REQ(c->head_dim > 0 && c->head_dim <= 1024 && c->head_dim % 2 == 0, "%s: head_dim = %d (must be even, 2..1024)", origin, c->head_dim);
    REQ(c->ffn_dim > 0 && c->ffn_dim <= 1 << 20, "%s: intermediate_size = %d is out of range", origin, c->ffn_dim);
    REQ(c->vocab_size > 0 && c->vocab_size <= 1 << 22, "%s: vocab_size = %d is out of range", origin, c->vocab_size);
    REQ(c->max_context > 0, "%s: max_position_embeddings = %d", origin, c->max_context);
    REQ(c->norm_eps > 0 && c->norm_eps < 1, "%s: rms_norm_eps = %g", origin, c->norm_eps);
    REQ(c->rope_theta > 0, "%s: rope_theta = %g", origin, c->rope_theta);
    if (c->rope_scaling == LF_ROPE_SCALING_LLAMA3)
        REQ(c->rope_factor > 0 && c->rope_low_freq_factor > 0 && c->rope_high_freq_factor > c->rope_low_freq_factor && c->rope_orig_context > 0,
            "%s: rope_scaling (llama3) needs factor, low_freq_factor < high_freq_factor, original_max_position_embeddings", origin);
    if (c->rope_scaling == LF_ROPE_SCALING_LINEAR) REQ(c->rope_factor > 0, "%s: rope_scaling (linear) needs factor > 0", origin);
    REQ(c->bos_id < c->vocab_size, "%s: bos_token_id %d >= vocab_size", origin, c->bos_id);
    for (int i = 0; i < c->n_eos; i++) REQ(c->eos_ids[i] >= 0 && c->eos_ids[i] < c->vocab_size, "%s: eos_token_id %d out of range", origin, c->eos_ids[i]);
#undef REQ
    return LINFER_OK;
}

uint64_t lf_tensor_numel(const lf_tensor_src *t) {
    uint64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= (uint64_t)t->ne[i];
    return t->n_dims ? n : 0;
}

lf_status lf_check_tensor(const lf_tensor_src *t, const char *name, int64_t ne0, int64_t ne1, const char *origin) {
    if (!t->data && !t->n_dims) return lf_fail(LINFER_ERR_FORMAT, "%s: missing tensor '%s'", origin, name);
    int64_t e0 = t->ne[0], e1 = t->n_dims >= 2 ? t->ne[1] : 1;
    int extra = 0;
    for (int i = 2; i < t->n_dims; i++) extra |= t->ne[i] != 1;
    if (e0 != ne0 || e1 != ne1 || extra)
        return lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' has shape [%lld, %lld] but the config needs [%lld, %lld] (innermost first)",
                       origin, name, (long long)e1, (long long)e0, (long long)ne1, (long long)ne0);
    if (t->dtype != LF_DT_F32 && t->dtype != LF_DT_F16 && t->dtype != LF_DT_BF16 && t->dtype != LF_DT_Q8_0 &&
        t->dtype != LF_DT_Q4_0 && t->dtype != LF_DT_Q4_1)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, not usable as a weight", origin, name, lf_dtype_name(t->dtype));
    return LINFER_OK;
}

double lf_config_n_params(const lf_config *c) {
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    double per_layer = 2.0 * c->dim + c->dim * (qd + 2 * kvd) + qd * c->dim + 3.0 * c->dim * c->ffn_dim;
    if (c->qkv_bias) per_layer += qd + 2 * kvd + c->dim;
    double emb = (double)c->vocab_size * c->dim;
    return c->n_layers * per_layer + emb * (c->tie_embeddings ? 1 : 2) + c->dim;
}

double lf_config_kv_bytes_per_token(const lf_config *c, int bytes_per_elem) {
    return 2.0 * c->n_layers * c->n_kv_heads * c->head_dim * bytes_per_elem;
}

lf_status lf_tensor_to_f32(const lf_tensor_src *t, float **out) {
    uint64_t n = lf_tensor_numel(t);
    *out = NULL;
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "cannot allocate %.1f MiB for a weight", n * 4.0 / 1048576.0);
    lf_to_f32(t->dtype, t->data, p, n);
    *out = p;
    return LINFER_OK;
}

/* ---- public API wrappers ---------------------------------------------------------------- */
linfer_model_params linfer_model_default_params(void) {
    linfer_model_params p = {0};
    p.load_tokenizer = 1;
    return p;
}
lf_status linfer_model_load(const linfer_model_params *p, linfer_model **out) {
    if (!p || !out) return lf_fail(LINFER_ERR_INVALID_ARG, "linfer_model_load: NULL argument");
    return lf_model_load(p->path, p->load_tokenizer, out);
}
void linfer_model_free(linfer_model *m) { lf_model_free(m); }

lf_status linfer_model_get_info(const linfer_model *m, linfer_model_info *o) {
    memset(o, 0, sizeof *o);
    const lf_config *c = &m->cfg;
    snprintf(o->arch, sizeof o->arch, "%s", c->arch);
    o->n_layers = c->n_layers; o->dim = c->dim; o->n_heads = c->n_heads; o->n_kv_heads = c->n_kv_heads;
    o->head_dim = c->head_dim; o->ffn_dim = c->ffn_dim; o->vocab_size = c->vocab_size; o->max_context = c->max_context;
    o->n_params = lf_config_n_params(c);
    o->weight_bytes_f16 = o->n_params * 2.0;
    o->kv_bytes_per_token_f16 = lf_config_kv_bytes_per_token(c, 2);
    return LINFER_OK;
}

lf_status linfer_tokenize(const linfer_model *m, const char *text, size_t len, int add_bos, int parse_special,
                          int32_t **ids, size_t *n_ids) {
    if (!m->tok) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: model has no tokenizer", m->path);
    return lf_tokenizer_encode(m->tok, text, len, add_bos, parse_special, ids, n_ids);
}
