/* load_hf.c — a LLaMA-family model from an HF directory: config.json, optional
 * generation_config.json, model.safetensors or shards listed in model.safetensors.index.json,
 * tokenizer.json. Every tensor in the files must be used (or be a known-harmless buffer such as
 * rotary_emb.inv_freq); every expected tensor must be present with the right shape. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hf_config.h"
#include "model.h"
#include "safetensors.h"
#include "../tokenizer/tokenizer.h"

typedef struct {
    lf_safetensors *shards;
    int n;
} hf_state;

static void free_hf_state(void *p) {
    hf_state *h = p;
    if (!h) return;
    for (int i = 0; i < h->n; i++) lf_safetensors_free(&h->shards[i]);
    free(h->shards);
    free(h);
}

static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* List of shard file names: from the index if present, else "model.safetensors". */
static lf_status shard_list(const char *dir, char ***files, int *n_files, cJSON **index_out) {
    *files = NULL; *n_files = 0; *index_out = NULL;
    char *ipath = join(dir, "model.safetensors.index.json");
    if (!ipath) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    if (!lf_path_exists(ipath)) {
        free(ipath);
        char *one = join(dir, "model.safetensors");
        if (!one) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
        int ok = lf_path_exists(one);
        free(one);
        if (!ok) return lf_fail(LINFER_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", dir);
        *files = malloc(sizeof(char *));
        if (!*files) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
        (*files)[0] = strdup("model.safetensors");
        *n_files = 1;
        return LINFER_OK;
    }
    char *txt;
    size_t len;
    lf_status s = lf_read_file(ipath, 64u << 20, &txt, &len);
    if (s) { free(ipath); return s; }
    cJSON *root = cJSON_ParseWithLength(txt, len);
    free(txt);
    cJSON *wm = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(wm)) {
        cJSON_Delete(root);
        s = lf_fail(LINFER_ERR_FORMAT, "%s: not JSON with a 'weight_map' object", ipath);
        free(ipath);
        return s;
    }
    int cap = cJSON_GetArraySize(wm);
    char **v = calloc((size_t)(cap > 0 ? cap : 1), sizeof *v);
    int n = 0;
    for (cJSON *e = wm->child; e && v; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || !strcmp(e->valuestring, "..")) {
            s = lf_fail(LINFER_ERR_FORMAT, "%s: weight_map entry '%s' must name a file in the same directory", ipath, e->string ? e->string : "?");
            break;
        }
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(v[i], e->valuestring);
        if (!seen) v[n++] = strdup(e->valuestring);
    }
    free(ipath);
    if (!v) { cJSON_Delete(root); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    if (s) { for (int i = 0; i < n; i++) free(v[i]); free(v); cJSON_Delete(root); return s; }
    *files = v; *n_files = n; *index_out = root;
    return LINFER_OK;
}

typedef struct { const lf_st_tensor *t; int shard; } found_t;

static lf_status bind(lf_model *m, hf_state *h, uint8_t **used, const char *name, lf_tensor_src *dst, int optional, cJSON *index) {
    for (int i = 0; i < h->n; i++) {
        const lf_st_tensor *t = lf_safetensors_find(&h->shards[i], name);
        if (!t) continue;
        if (index) {
            cJSON *wm = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
            cJSON *f = cJSON_GetObjectItemCaseSensitive(wm, name);
            const char *path = m->maps[i].path;
            size_t pl = strlen(path), fl = cJSON_IsString(f) ? strlen(f->valuestring) : 0;
            /* path is "<dir>/<file>": the index entry must be that whole file name */
            if (!cJSON_IsString(f) || fl == 0 || fl >= pl || path[pl - fl - 1] != '/' || strcmp(path + pl - fl, f->valuestring))
                return lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' is in %s but the index says otherwise", m->path, name, path);
        }
        used[i][t - h->shards[i].tensors] = 1;
        dst->dtype = t->dtype;
        dst->n_dims = t->n_dims;
        for (int d = 0; d < 4; d++) dst->ne[d] = 1;
        for (int d = 0; d < t->n_dims && d < 4; d++) dst->ne[d] = t->shape[t->n_dims - 1 - d];
        if (t->n_dims > 4) return lf_fail(LINFER_ERR_FORMAT, "%s: tensor '%s' has %d dimensions", m->maps[i].path, name, t->n_dims);
        dst->data = t->data;
        dst->nbytes = t->end - t->begin;
        return LINFER_OK;
    }
    if (optional) return LINFER_OK;
    return lf_fail(LINFER_ERR_FORMAT, "%s: missing tensor '%s'", m->path, name);
}

/* Optional JSON object file in the model directory: *root = NULL (and OK) when it is absent.
 * *path_out (malloc'd) names it for error messages. */
static lf_status read_optional_json(const char *dir, const char *file, size_t max_bytes, cJSON **root, char **path_out) {
    *root = NULL;
    *path_out = join(dir, file);
    if (!*path_out) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    if (!lf_path_exists(*path_out)) return LINFER_OK;
    char *txt;
    size_t len;
    LF_TRY(lf_read_file(*path_out, max_bytes, &txt, &len));
    *root = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return lf_fail(LINFER_ERR_FORMAT, "%s: not a JSON object", *path_out);
    }
    return LINFER_OK;
}

static lf_status read_generation_config(const char *dir, lf_config *c) {
    cJSON *root;
    char *p;
    lf_status s = read_optional_json(dir, "generation_config.json", 1u << 20, &root, &p);
    if (s || !root) { free(p); return s; }
    cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    int ids[LF_MAX_EOS], n = 0;
    if (cJSON_IsNumber(eos) && eos->valuedouble >= 0 && eos->valuedouble < 2147483647.0) ids[n++] = (int)eos->valuedouble;
    else if (cJSON_IsArray(eos))
        for (cJSON *e = eos->child; e && n < LF_MAX_EOS; e = e->next)
            if (cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 2147483647.0) ids[n++] = (int)e->valuedouble;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < c->n_eos; j++) dup |= c->eos_ids[j] == ids[i];
        if (ids[i] < 0 || ids[i] >= c->vocab_size) { s = lf_fail(LINFER_ERR_FORMAT, "%s: eos_token_id %d out of range", p, ids[i]); break; }
        if (!dup && c->n_eos < LF_MAX_EOS) c->eos_ids[c->n_eos++] = ids[i];
    }
    cJSON_Delete(root);
    free(p);
    return s;
}

/* tokenizer_config.json (optional): bos_token / eos_token (a string or {"content": ...}) and
 * add_bos_token override what tokenizer.json implies; the model's EOS list gains the EOS token. */
static const char *token_string(cJSON *t) {
    if (cJSON_IsString(t)) return t->valuestring;
    cJSON *c = cJSON_IsObject(t) ? cJSON_GetObjectItemCaseSensitive(t, "content") : NULL;
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static lf_status read_tokenizer_config(const char *dir, lf_model *m) {
    cJSON *root;
    char *p;
    lf_status s = read_optional_json(dir, "tokenizer_config.json", 16u << 20, &root, &p);
    if (s || !root) { free(p); return s; }
    int bos = lf_tokenizer_bos(m->tok), eos = lf_tokenizer_eos(m->tok), adds = lf_tokenizer_adds_bos(m->tok);
    const char *bs = token_string(cJSON_GetObjectItemCaseSensitive(root, "bos_token"));
    const char *es = token_string(cJSON_GetObjectItemCaseSensitive(root, "eos_token"));
    cJSON *ab = cJSON_GetObjectItemCaseSensitive(root, "add_bos_token");
    if (bs) bos = lf_tokenizer_find(m->tok, bs);
    if (es) eos = lf_tokenizer_find(m->tok, es);
    if (cJSON_IsBool(ab)) adds = cJSON_IsTrue(ab);
    if (bs && bos < 0) s = lf_fail(LINFER_ERR_FORMAT, "%s: bos_token '%.40s' is not in the vocabulary", p, bs);
    else if (es && eos < 0) s = lf_fail(LINFER_ERR_FORMAT, "%s: eos_token '%.40s' is not in the vocabulary", p, es);
    else if (bos >= m->cfg.vocab_size || eos >= m->cfg.vocab_size)
        s = lf_fail(LINFER_ERR_FORMAT, "%s: BOS/EOS token id %d/%d is past the model's vocab_size %d", p, bos, eos, m->cfg.vocab_size);
    else s = lf_tokenizer_set_special_ids(m->tok, bos, eos, adds);
    if (!s) {
        lf_config *c = &m->cfg;
        c->add_bos = adds && bos >= 0;
        if (bos >= 0) c->bos_id = bos;
        int have = 0;
        for (int i = 0; i < c->n_eos; i++) have |= c->eos_ids[i] == eos;
        if (eos >= 0 && eos < c->vocab_size && !have && c->n_eos < LF_MAX_EOS) c->eos_ids[c->n_eos++] = eos;
    }
    cJSON_Delete(root);
    free(p);
    return s;
}

lf_status lf_load_hf_dir(const char *dir, int load_tokenizer, lf_model *m) {
    char *cpath = join(dir, "config.json");
    if (!cpath) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    char *txt = NULL;
    size_t len = 0;
    lf_status s = lf_read_file(cpath, 4u << 20, &txt, &len);
    if (!s) s = lf_config_from_json(txt, len, cpath, &m->cfg);
    free(txt);
    free(cpath);
    if (s) return s;
    LF_TRY(read_generation_config(dir, &m->cfg));
    lf_config *c = &m->cfg;

    char **files;
    int n_files;
    cJSON *index;
    LF_TRY(shard_list(dir, &files, &n_files, &index));
    hf_state *h = calloc(1, sizeof *h);
    uint8_t **used = calloc((size_t)n_files, sizeof *used);
    m->maps = calloc((size_t)n_files, sizeof *m->maps);
    if (h) h->shards = calloc((size_t)n_files, sizeof *h->shards);
    m->format_state = h;
    m->free_format_state = free_hf_state;
    if (!h || !used || !m->maps || !h->shards) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto out; }
    for (int i = 0; i < n_files; i++) {
        char *p = join(dir, files[i]);
        if (!p) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto out; }
        s = lf_map_file(p, &m->maps[i]);
        free(p);
        if (s) goto out;
        m->n_maps++;
        if ((s = lf_safetensors_parse(m->maps[i].data, m->maps[i].size, m->maps[i].path, &h->shards[i]))) goto out;
        h->n++;
        used[i] = calloc((size_t)h->shards[i].n_tensors + 1, 1);
        if (!used[i]) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto out; }
    }
    m->w.layers = calloc((size_t)c->n_layers, sizeof *m->w.layers);
    if (!m->w.layers) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto out; }
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    char nm[128];
#define B(name_, dst, opt) do { if ((s = bind(m, h, used, name_, dst, opt, index))) goto out; } while (0)
#define CHK(dst, name_, a, b) do { if ((s = lf_check_tensor(dst, name_, a, b, m->path))) goto out; } while (0)
    B("model.embed_tokens.weight", &m->w.tok_embd, 0);
    CHK(&m->w.tok_embd, "model.embed_tokens.weight", c->dim, c->vocab_size);
    B("model.norm.weight", &m->w.out_norm, 0);
    CHK(&m->w.out_norm, "model.norm.weight", c->dim, 1);
    B("lm_head.weight", &m->w.lm_head, c->tie_embeddings);
    if (m->w.lm_head.n_dims) CHK(&m->w.lm_head, "lm_head.weight", c->dim, c->vocab_size);
    if (c->tie_embeddings) m->w.lm_head = m->w.tok_embd;
    for (int l = 0; l < c->n_layers; l++) {
        lf_layer_src *L = &m->w.layers[l];
        struct { const char *suffix; lf_tensor_src *dst; int64_t a, b; int optional; } tab[] = {
            {"input_layernorm.weight", &L->attn_norm, c->dim, 1, 0}, {"self_attn.q_proj.weight", &L->wq, c->dim, qd, 0},
            {"self_attn.k_proj.weight", &L->wk, c->dim, kvd, 0},     {"self_attn.v_proj.weight", &L->wv, c->dim, kvd, 0},
            {"self_attn.o_proj.weight", &L->wo, qd, c->dim, 0},      {"post_attention_layernorm.weight", &L->ffn_norm, c->dim, 1, 0},
            {"mlp.gate_proj.weight", &L->w_gate, c->dim, c->ffn_dim, 0}, {"mlp.up_proj.weight", &L->w_up, c->dim, c->ffn_dim, 0},
            {"mlp.down_proj.weight", &L->w_down, c->ffn_dim, c->dim, 0}, {"self_attn.q_proj.bias", &L->bq, qd, 1, !c->qkv_bias},
            {"self_attn.k_proj.bias", &L->bk, kvd, 1, !c->qkv_bias},  {"self_attn.v_proj.bias", &L->bv, kvd, 1, !c->qkv_bias},
            {"self_attn.o_proj.bias", &L->bo, c->dim, 1, !c->qkv_bias},
        };
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
            snprintf(nm, sizeof nm, "model.layers.%d.%s", l, tab[i].suffix);
            B(nm, tab[i].dst, tab[i].optional);
            if (tab[i].dst->n_dims) CHK(tab[i].dst, nm, tab[i].a, tab[i].b);
        }
        if (!c->qkv_bias && L->bq.n_dims) { s = lf_fail(LINFER_ERR_FORMAT, "%s: layer %d has q_proj.bias but config.json says attention_bias is false", m->path, l); goto out; }
        snprintf(nm, sizeof nm, "model.layers.%d.self_attn.rotary_emb.inv_freq", l);
        lf_tensor_src ignored = {0};
        B(nm, &ignored, 1); /* older checkpoints carry this buffer; it is recomputed */
    }
    for (int i = 0; i < h->n; i++)
        for (int j = 0; j < h->shards[i].n_tensors; j++)
            if (!used[i][j]) {
                s = lf_fail(LINFER_ERR_FORMAT, "%s: unexpected tensor '%s' for a %s model", m->maps[i].path, h->shards[i].tensors[j].name, c->arch);
                goto out;
            }
#undef B
#undef CHK
    if (load_tokenizer) {
        char *tp = join(dir, "tokenizer.json");
        if (!tp) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto out; }
        if (lf_path_exists(tp)) s = lf_tokenizer_load_json(tp, &m->tok);
        free(tp);
        if (!s && m->tok) s = read_tokenizer_config(dir, m);
        if (s) goto out;
    }
out:
    if (used) for (int i = 0; i < n_files; i++) free(used[i]);
    free(used);
    for (int i = 0; i < n_files; i++) free(files[i]);
    free(files);
    cJSON_Delete(index);
    return s;
}
