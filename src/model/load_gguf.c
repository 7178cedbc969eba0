/* load_gguf.c — a LLaMA-family model from a GGUF v2/v3 file: hyper-parameters from the
 * llama.* metadata, weights bound in place to the memory-mapped tensor data, tokenizer from
 * tokenizer.ggml.*. Every tensor in the file must be one we use (or known-harmless). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "model.h"
#include "../tokenizer/tokenizer.h"

static void free_gguf_state(void *p) {
    if (p) { lf_gguf_free(p); free(p); }
}

static lf_status bind(const lf_gguf *g, const char *name, lf_tensor_src *t, int optional, const char *path, uint8_t *used) {
    const lf_gguf_tensor *gt = lf_gguf_find_tensor(g, name);
    if (!gt) {
        if (optional) return LINFER_OK;
        return lf_fail(LINFER_ERR_FORMAT, "%s: missing tensor '%s'", path, name);
    }
    used[gt - g->tensors] = 1;
    t->dtype = gt->dtype;
    t->n_dims = gt->n_dims;
    for (int i = 0; i < 4; i++) t->ne[i] = (int64_t)gt->ne[i];
    t->data = gt->data;
    t->nbytes = gt->nbytes;
    return LINFER_OK;
}

static lf_status get_i(const lf_gguf *g, const char *key, int optional, int *v, const char *path) {
    int64_t x = *v;
    lf_status s = lf_gguf_get_int(g, key, optional, &x);
    if (s) return lf_fail_prefix(s, "%s", path);
    if (x < -1 || x > (1ll << 31) - 1) return lf_fail(LINFER_ERR_FORMAT, "%s: metadata '%s' = %lld is out of range", path, key, (long long)x);
    *v = (int)x;
    return LINFER_OK;
}
static lf_status get_f(const lf_gguf *g, const char *key, int optional, float *v, const char *path) {
    double x = *v;
    lf_status s = lf_gguf_get_float(g, key, optional, &x);
    if (s) return lf_fail_prefix(s, "%s", path);
    *v = (float)x;
    return LINFER_OK;
}

lf_status lf_load_gguf(const char *path, int load_tokenizer, lf_model *m) {
    m->maps = calloc(1, sizeof *m->maps);
    if (!m->maps) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    LF_TRY(lf_map_file(path, &m->maps[0]));
    m->n_maps = 1;
    lf_gguf *g = calloc(1, sizeof *g);
    if (!g) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_status s = lf_gguf_parse(m->maps[0].data, m->maps[0].size, path, g);
    if (s) { free(g); return s; }
    m->format_state = g;
    m->free_format_state = free_gguf_state;

    lf_gguf_str arch = {0};
    if ((s = lf_gguf_get_str(g, "general.architecture", 0, &arch))) return lf_fail_prefix(s, "%s", path);
    if (!lf_gguf_str_eq(arch, "llama"))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (supported: llama)", path,
                       (int)(arch.len > 40 ? 40 : arch.len), arch.ptr);
    lf_config *c = &m->cfg;
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->rope_theta = 10000.0f;
    c->norm_eps = 1e-5f;
    c->bos_id = -1;
    c->rope_style = LF_ROPE_INTERLEAVED;
    LF_TRY(get_i(g, "llama.block_count", 0, &c->n_layers, path));
    LF_TRY(get_i(g, "llama.embedding_length", 0, &c->dim, path));
    LF_TRY(get_i(g, "llama.feed_forward_length", 0, &c->ffn_dim, path));
    LF_TRY(get_i(g, "llama.attention.head_count", 0, &c->n_heads, path));
    c->n_kv_heads = c->n_heads;
    LF_TRY(get_i(g, "llama.attention.head_count_kv", 1, &c->n_kv_heads, path));
    LF_TRY(get_i(g, "llama.context_length", 0, &c->max_context, path));
    LF_TRY(get_f(g, "llama.attention.layer_norm_rms_epsilon", 1, &c->norm_eps, path));
    LF_TRY(get_f(g, "llama.rope.freq_base", 1, &c->rope_theta, path));
    c->head_dim = c->n_heads > 0 ? c->dim / c->n_heads : 0;
    LF_TRY(get_i(g, "llama.attention.key_length", 1, &c->head_dim, path));
    int rope_dim = c->head_dim;
    LF_TRY(get_i(g, "llama.rope.dimension_count", 1, &rope_dim, path));
    if (rope_dim != c->head_dim)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: llama.rope.dimension_count %d != head dim %d (partial rotary is not supported)", path, rope_dim, c->head_dim);
    int vlen = c->head_dim;
    LF_TRY(get_i(g, "llama.attention.value_length", 1, &vlen, path));
    if (vlen != c->head_dim) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: llama.attention.value_length %d != key_length %d", path, vlen, c->head_dim);
    lf_gguf_str st = {0};
    if ((s = lf_gguf_get_str(g, "llama.rope.scaling.type", 1, &st))) return lf_fail_prefix(s, "%s", path);
    if (st.len && !lf_gguf_str_eq(st, "none")) {
        if (lf_gguf_str_eq(st, "linear")) {
            c->rope_scaling = LF_ROPE_SCALING_LINEAR;
            LF_TRY(get_f(g, "llama.rope.scaling.factor", 0, &c->rope_factor, path));
        } else
            return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: llama.rope.scaling.type '%.*s' is not supported", path, (int)(st.len > 20 ? 20 : st.len), st.ptr);
    }
    const lf_gguf_tensor *tok = lf_gguf_find_tensor(g, "token_embd.weight");
    if (!tok || tok->n_dims != 2) return lf_fail(LINFER_ERR_FORMAT, "%s: missing 2-D tensor 'token_embd.weight'", path);
    c->vocab_size = (int)(tok->ne[1] > (1u << 23) ? 0 : tok->ne[1]);
    LF_TRY(get_i(g, "llama.vocab_size", 1, &c->vocab_size, path));
    LF_TRY(get_i(g, "tokenizer.ggml.bos_token_id", 1, &c->bos_id, path));
    int eos = -1;
    LF_TRY(get_i(g, "tokenizer.ggml.eos_token_id", 1, &eos, path));
    if (eos >= 0) c->eos_ids[c->n_eos++] = eos;
    int eot = -1;
    LF_TRY(get_i(g, "tokenizer.ggml.eot_token_id", 1, &eot, path));
    if (eot >= 0 && eot != eos) c->eos_ids[c->n_eos++] = eot;
    int add_bos = 1;
    const lf_gguf_kv *ab = lf_gguf_find(g, "tokenizer.ggml.add_bos_token");
    if (ab && ab->type == LF_GGUF_BOOL) add_bos = (int)ab->u;
    c->add_bos = add_bos && c->bos_id >= 0;
    LF_TRY(lf_config_validate(c, path));

    uint8_t *used = calloc(g->n_tensors ? g->n_tensors : 1, 1);
    if (!used) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    m->w.layers = calloc((size_t)c->n_layers, sizeof *m->w.layers);
    if (!m->w.layers) { free(used); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    char nm[96];
#define B(name_, dst, opt) do { if ((s = bind(g, name_, dst, opt, path, used))) goto out; } while (0)
#define CHK(dst, name_, a, b) do { if ((s = lf_check_tensor(dst, name_, a, b, path))) goto out; } while (0)
    B("token_embd.weight", &m->w.tok_embd, 0);
    CHK(&m->w.tok_embd, "token_embd.weight", c->dim, c->vocab_size);
    B("output_norm.weight", &m->w.out_norm, 0);
    CHK(&m->w.out_norm, "output_norm.weight", c->dim, 1);
    B("output.weight", &m->w.lm_head, 1);
    if (m->w.lm_head.n_dims) CHK(&m->w.lm_head, "output.weight", c->dim, c->vocab_size);
    else { m->w.lm_head = m->w.tok_embd; c->tie_embeddings = 1; }
    for (int l = 0; l < c->n_layers; l++) {
        lf_layer_src *L = &m->w.layers[l];
        struct { const char *suffix; lf_tensor_src *dst; int64_t a, b; int optional; } tab[] = {
            {"attn_norm.weight", &L->attn_norm, c->dim, 1, 0}, {"attn_q.weight", &L->wq, c->dim, qd, 0},
            {"attn_k.weight", &L->wk, c->dim, kvd, 0},         {"attn_v.weight", &L->wv, c->dim, kvd, 0},
            {"attn_output.weight", &L->wo, qd, c->dim, 0},     {"ffn_norm.weight", &L->ffn_norm, c->dim, 1, 0},
            {"ffn_gate.weight", &L->w_gate, c->dim, c->ffn_dim, 0}, {"ffn_up.weight", &L->w_up, c->dim, c->ffn_dim, 0},
            {"ffn_down.weight", &L->w_down, c->ffn_dim, c->dim, 0}, {"attn_q.bias", &L->bq, qd, 1, 1},
            {"attn_k.bias", &L->bk, kvd, 1, 1},                {"attn_v.bias", &L->bv, kvd, 1, 1},                {"attn_output.bias", &L->bo, c->dim, 1, 1},
        };
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
            snprintf(nm, sizeof nm, "blk.%d.%s", l, tab[i].suffix);
            B(nm, tab[i].dst, tab[i].optional);
            if (tab[i].dst->n_dims) CHK(tab[i].dst, nm, tab[i].a, tab[i].b);
        }
        int nb = (L->bq.n_dims > 0) + (L->bk.n_dims > 0) + (L->bv.n_dims > 0);
        if (nb != 0 && nb != 3) { s = lf_fail(LINFER_ERR_FORMAT, "%s: layer %d has only some of the q/k/v biases", path, l); goto out; }
        if (l == 0) c->qkv_bias = nb == 3;
        else if ((nb == 3) != c->qkv_bias) { s = lf_fail(LINFER_ERR_FORMAT, "%s: layer %d disagrees with layer 0 about q/k/v biases", path, l); goto out; }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if (used[i]) continue;
        const lf_gguf_tensor *t = &g->tensors[i];
        if (lf_gguf_str_eq(t->name, "rope_freqs.weight"))
            s = lf_fail(LINFER_ERR_UNSUPPORTED, "%s: tensor 'rope_freqs.weight' (per-frequency RoPE factors) is not supported yet", path);
        else
            s = lf_fail(LINFER_ERR_FORMAT, "%s: unexpected tensor '%.*s' for a llama model", path, (int)(t->name.len > 80 ? 80 : t->name.len), t->name.ptr);
        goto out;
    }
    if (load_tokenizer) {
        if ((s = lf_tokenizer_load_gguf(g, path, &m->tok))) goto out;
        if (lf_tokenizer_vocab_size(m->tok) > c->vocab_size) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: tokenizer has %d tokens but the embedding only %d rows", path, lf_tokenizer_vocab_size(m->tok), c->vocab_size);
            goto out;
        }
    }
#undef B
#undef CHK
out:
    free(used);
    return s;
}
