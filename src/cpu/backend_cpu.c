/* backend_cpu.c — the portable CPU backend: fp32 weights (dequantised at load), fp32 KV cache,
 * OpenBLAS for the linear layers, OpenMP over tokens × heads for attention. It is the reference
 * the CUDA backend is checked against end to end. */
#include "../core/clock.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"
#include "quant.h"
#include "../engine/backend.h"
#include "../cuda/random_weights.h"

/* A weight matrix: either fp32 (owned) or GGUF quantised blocks used in place from the mapping. */
typedef struct {
    float *f;          /* fp32 [N, K], or NULL */
    const void *q;     /* quantised rows, or NULL */
    lf_dtype qt;
} cpu_mat;

typedef struct {
    float *attn_norm, *bq, *bk, *bv, *bo, *ffn_norm;
    cpu_mat wq, wk, wv, wo, w_gate, w_up, w_down;
} cpu_layer;

typedef struct {
    lf_backend base;
    cpu_layer *layers;
    cpu_mat tok_embd, lm_head;            /* lm_head may alias tok_embd */
    float *out_norm;
    float *inv_freq;                      /* [head_dim/2] */
    float *k_cache, *v_cache;             /* [n_layers][max_seqs][max_context][kv_dim] */
    /* scratch for max_batch_tokens rows */
    float *x, *xb, *q, *k, *v, *att_out, *o, *gate, *up, *hb, *logits_in, *att_scratch;
    void *act_q;                          /* quantised activation rows */
    int cap_tokens;
} cpu_backend;

static lf_status materialise(const lf_model *m, const lf_tensor_src *t, uint32_t tensor_id, float **out) {
    if (!t->n_dims) { *out = NULL; return LINFER_OK; }
    if (!m->random_weights) return lf_tensor_to_f32(t, out);
    float scale = lf_random_scale(&m->cfg, tensor_id);
    uint64_t n = lf_tensor_numel(t);
    float *p = malloc(sizeof(float) * n);
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "cannot allocate %.1f MiB for random weights", n * 4.0 / 1048576.0);
    for (uint64_t i = 0; i < n; i++) p[i] = lf_random_weight_value(m->random_seed, tensor_id, i, scale, m->random_dtype);
    *out = p;
    return LINFER_OK;
}

/* Quantised GGUF weights stay in place; everything else becomes fp32. */
static lf_status materialise_mat(const lf_model *m, const lf_tensor_src *t, uint32_t tensor_id, cpu_mat *out) {
    memset(out, 0, sizeof *out);
    if (!m->random_weights && t->n_dims && lf_quant_supported(t->dtype)) {
        out->q = t->data;
        out->qt = t->dtype;
        return LINFER_OK;
    }
    return materialise(m, t, tensor_id, &out->f);
}

static void linear(cpu_backend *b, float *y, const float *x, const cpu_mat *w, const float *bias, int M, int N, int K) {
    if (w->q) lf_cpu_linear_quant(y, x, w->q, w->qt, bias, M, N, K, b->act_q);
    else lf_cpu_linear(y, x, w->f, bias, M, N, K);
}

static void embed_row(const cpu_mat *e, int token, int dim, float *out) {
    if (e->f) { memcpy(out, e->f + (size_t)token * dim, sizeof(float) * dim); return; }
    int ok;
    size_t rb = (size_t)lf_dtype_nbytes(e->qt, (uint64_t)dim, &ok);
    lf_to_f32(e->qt, (const uint8_t *)e->q + (size_t)token * rb, out, (size_t)dim);
}

static void cpu_destroy(lf_backend *bb) {
    cpu_backend *b = (cpu_backend *)bb;
    if (!b) return;
    if (b->layers) {
        for (int l = 0; l < b->base.model->cfg.n_layers; l++) {
            cpu_layer *L = &b->layers[l];
            float *ps[] = {L->attn_norm, L->wq.f, L->wk.f, L->wv.f, L->bq, L->bk, L->bv, L->wo.f, L->bo, L->ffn_norm, L->w_gate.f, L->w_up.f, L->w_down.f};
            for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) free(ps[i]);
        }
        free(b->layers);
    }
    if (b->lm_head.f != b->tok_embd.f) free(b->lm_head.f);
    free(b->tok_embd.f); free(b->out_norm); free(b->act_q); free(b->inv_freq); free(b->k_cache); free(b->v_cache);
    float *sc[] = {b->x, b->xb, b->q, b->k, b->v, b->att_out, b->o, b->gate, b->up, b->hb, b->logits_in, b->att_scratch};
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) free(sc[i]);
    free(b);
}

static void cpu_reset_seq(lf_backend *bb, int seq) { (void)bb; (void)seq; /* positions are overwritten as they are reused */ }

#define TIMED(b, op, stmt) do { double t0_ = (b)->base.profile ? lf_now_ms() : 0; stmt; if ((b)->base.profile) (b)->base.op_ms[op] += lf_now_ms() - t0_; } while (0)

/* causal attention of every token in the batch over its own sequence's cache */
static void attention_all(cpu_backend *b, const lf_batch *batch, size_t layer_off, float scale) {
    const lf_config *c = &b->base.model->cfg;
    const int hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd, T = b->base.params.max_context;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < batch->n; i++) {
        size_t off = layer_off + (size_t)batch->seq[i] * T * kvd;
        float *scratch = b->att_scratch + (size_t)omp_get_thread_num() * T;
        (b->base.params.cpu_attention_f16 ? lf_cpu_attention_f16 : lf_cpu_attention)(b->att_out + (size_t)i * qd, b->q + (size_t)i * qd, b->k_cache + off, b->v_cache + off,
                         batch->pos[i] + 1, kvd, c->n_heads, c->n_kv_heads, hd, scale, scratch);
    }
}

static lf_status cpu_forward(lf_backend *bb, const lf_batch *batch, float *logits) {
    cpu_backend *b = (cpu_backend *)bb;
    const lf_config *c = &b->base.model->cfg;
    const int n = batch->n, dim = c->dim, hd = c->head_dim;
    const int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd, ffn = c->ffn_dim;
    const int S = b->base.params.max_seqs, T = b->base.params.max_context;
    if (n <= 0 || n > b->cap_tokens) return lf_fail(LINFER_ERR_INVALID_ARG, "batch of %d tokens (this backend holds at most %d)", n, b->cap_tokens);
    for (int i = 0; i < n; i++) {
        if (batch->seq[i] < 0 || batch->seq[i] >= S) return lf_fail(LINFER_ERR_INVALID_ARG, "sequence %d out of range (0..%d)", batch->seq[i], S - 1);
        if (batch->pos[i] < 0 || batch->pos[i] >= T) return lf_fail(LINFER_ERR_CONTEXT, "position %d is past the KV cache length %d", batch->pos[i], T);
        if (batch->tokens[i] < 0 || batch->tokens[i] >= c->vocab_size) return lf_fail(LINFER_ERR_INVALID_ARG, "token id %d out of range (vocab %d)", batch->tokens[i], c->vocab_size);
    }
    TIMED(b, LF_OP_EMBEDDING, for (int i = 0; i < n; i++) embed_row(&b->tok_embd, batch->tokens[i], dim, b->x + (size_t)i * dim));
    const float scale = 1.0f / sqrtf((float)hd);
    for (int l = 0; l < c->n_layers; l++) {
        cpu_layer *L = &b->layers[l];
        size_t layer_off = (size_t)l * S * T * kvd;
        TIMED(b, LF_OP_NORM, lf_cpu_rmsnorm(b->xb, b->x, L->attn_norm, n, dim, c->norm_eps));
        TIMED(b, LF_OP_QKV, {
            linear(b, b->q, b->xb, &L->wq, L->bq, n, qd, dim);
            linear(b, b->k, b->xb, &L->wk, L->bk, n, kvd, dim);
            linear(b, b->v, b->xb, &L->wv, L->bv, n, kvd, dim);
        });
        TIMED(b, LF_OP_ROPE, {
            for (int i = 0; i < n; i++) {
                lf_cpu_rope(b->q + (size_t)i * qd, c->n_heads, hd, batch->pos[i], b->inv_freq, c->rope_style);
                lf_cpu_rope(b->k + (size_t)i * kvd, c->n_kv_heads, hd, batch->pos[i], b->inv_freq, c->rope_style);
                size_t off = layer_off + ((size_t)batch->seq[i] * T + (size_t)batch->pos[i]) * kvd;
                if (b->base.params.cpu_attention_f16) {
                    lf_cpu_round_f16(b->k + (size_t)i * kvd, kvd);
                    lf_cpu_round_f16(b->v + (size_t)i * kvd, kvd);
                }
                memcpy(b->k_cache + off, b->k + (size_t)i * kvd, sizeof(float) * kvd);
                memcpy(b->v_cache + off, b->v + (size_t)i * kvd, sizeof(float) * kvd);
            }
        });
        TIMED(b, LF_OP_ATTENTION, attention_all(b, batch, layer_off, scale));
        TIMED(b, LF_OP_O_PROJ, linear(b, b->o, b->att_out, &L->wo, L->bo, n, dim, qd));
        TIMED(b, LF_OP_RESIDUAL, lf_cpu_add(b->x, b->o, (int64_t)n * dim));
        TIMED(b, LF_OP_NORM, lf_cpu_rmsnorm(b->xb, b->x, L->ffn_norm, n, dim, c->norm_eps));
        TIMED(b, LF_OP_GATE_UP, {
            linear(b, b->gate, b->xb, &L->w_gate, NULL, n, ffn, dim);
            linear(b, b->up, b->xb, &L->w_up, NULL, n, ffn, dim);
        });
        TIMED(b, LF_OP_ACTIVATION, lf_cpu_swiglu(b->hb, b->gate, b->up, (int64_t)n * ffn));
        TIMED(b, LF_OP_DOWN, linear(b, b->o, b->hb, &L->w_down, NULL, n, dim, ffn));
        TIMED(b, LF_OP_RESIDUAL, lf_cpu_add(b->x, b->o, (int64_t)n * dim));
    }
    if (batch->n_out <= 0) return LINFER_OK;
    TIMED(b, LF_OP_NORM, {
        for (int j = 0; j < batch->n_out; j++) {
            int r = batch->out_rows[j];
            lf_cpu_rmsnorm(b->logits_in + (size_t)j * dim, b->x + (size_t)r * dim, b->out_norm, 1, dim, c->norm_eps);
        }
    });
    TIMED(b, LF_OP_LM_HEAD, linear(b, logits, b->logits_in, &b->lm_head, NULL, batch->n_out, c->vocab_size, dim));
    return LINFER_OK;
}

static const lf_backend_ops cpu_ops = {"cpu", cpu_forward, cpu_reset_seq, cpu_destroy, NULL};

lf_status lf_cpu_backend_create(const lf_model *m, const lf_backend_params *p, lf_backend **out) {
    *out = NULL;
    const lf_config *c = &m->cfg;
    if (p->max_seqs <= 0 || p->max_context <= 0 || p->max_batch_tokens <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "cpu backend: max_seqs, max_context and max_batch_tokens must be positive");
    double kv_bytes = 2.0 * c->n_layers * (double)p->max_seqs * p->max_context * c->n_kv_heads * c->head_dim * 4;
    if (kv_bytes > 64.0 * (1ull << 30))
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "KV cache of %d sequences x %d positions needs %.1f GiB on the CPU", p->max_seqs, p->max_context, kv_bytes / (1ull << 30));
    cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    b->base.ops = &cpu_ops;
    b->base.model = m;
    b->base.timing_source = "monotonic clock around each op";
    b->base.params = *p;
    if (p->n_threads > 0) omp_set_num_threads(p->n_threads);
    lf_cpu_blas_single_thread();
    lf_status s = LINFER_OK;
    b->layers = calloc((size_t)c->n_layers, sizeof *b->layers);
    if (!b->layers) { cpu_destroy(&b->base); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    const lf_weight_srcs *w = &m->w;
#define MAT(src, id, dst) do { if ((s = materialise(m, src, id, dst))) goto fail; } while (0)
#define QMAT(src, id, dst) do { if ((s = materialise_mat(m, src, id, dst))) goto fail; } while (0)
    QMAT(&w->tok_embd, LF_RW_TOK_EMBD, &b->tok_embd);
    MAT(&w->out_norm, LF_RW_OUT_NORM, &b->out_norm);
    if (c->tie_embeddings) b->lm_head = b->tok_embd;
    else QMAT(&w->lm_head, LF_RW_LM_HEAD, &b->lm_head);
    for (int l = 0; l < c->n_layers; l++) {
        const lf_layer_src *S = &w->layers[l];
        cpu_layer *L = &b->layers[l];
        uint32_t base = LF_RW_LAYER_BASE + (uint32_t)l * LF_RW_PER_LAYER;
        MAT(&S->attn_norm, base + LF_RW_ATTN_NORM, &L->attn_norm);
        QMAT(&S->wq, base + LF_RW_WQ, &L->wq);
        QMAT(&S->wk, base + LF_RW_WK, &L->wk);
        QMAT(&S->wv, base + LF_RW_WV, &L->wv);
        MAT(&S->bq, base + LF_RW_BQ, &L->bq);
        MAT(&S->bk, base + LF_RW_BK, &L->bk);
        MAT(&S->bv, base + LF_RW_BV, &L->bv);
        QMAT(&S->wo, base + LF_RW_WO, &L->wo);
        MAT(&S->bo, base + LF_RW_BO, &L->bo);
        MAT(&S->ffn_norm, base + LF_RW_FFN_NORM, &L->ffn_norm);
        QMAT(&S->w_gate, base + LF_RW_W_GATE, &L->w_gate);
        QMAT(&S->w_up, base + LF_RW_W_UP, &L->w_up);
        QMAT(&S->w_down, base + LF_RW_W_DOWN, &L->w_down);
    }
#undef MAT
#undef QMAT
    b->inv_freq = malloc(sizeof(float) * (size_t)(c->head_dim / 2));
    size_t kv_elems = (size_t)c->n_layers * p->max_seqs * p->max_context * c->n_kv_heads * c->head_dim;
    b->k_cache = malloc(sizeof(float) * kv_elems);
    b->v_cache = malloc(sizeof(float) * kv_elems);
    int nt = p->max_batch_tokens, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    int maxd = c->dim > qd ? c->dim : qd;
    b->cap_tokens = nt;
    b->x = malloc(sizeof(float) * (size_t)nt * c->dim);
    b->xb = malloc(sizeof(float) * (size_t)nt * c->dim);
    b->q = malloc(sizeof(float) * (size_t)nt * qd);
    b->k = malloc(sizeof(float) * (size_t)nt * kvd);
    b->v = malloc(sizeof(float) * (size_t)nt * kvd);
    b->att_out = malloc(sizeof(float) * (size_t)nt * qd);
    b->o = malloc(sizeof(float) * (size_t)nt * maxd);
    b->gate = malloc(sizeof(float) * (size_t)nt * c->ffn_dim);
    b->up = malloc(sizeof(float) * (size_t)nt * c->ffn_dim);
    b->hb = malloc(sizeof(float) * (size_t)nt * c->ffn_dim);
    b->logits_in = malloc(sizeof(float) * (size_t)nt * c->dim);
    b->att_scratch = malloc(sizeof(float) * (size_t)omp_get_max_threads() * p->max_context);
    int maxk = c->ffn_dim > maxd ? c->ffn_dim : maxd;
    b->act_q = malloc(lf_quant_act_row_bytes(LF_DT_Q4_1, maxk) * (size_t)nt + 64);
    if (!b->inv_freq || !b->k_cache || !b->v_cache || !b->x || !b->xb || !b->q || !b->k || !b->v || !b->att_out || !b->o ||
        !b->gate || !b->up || !b->hb || !b->logits_in || !b->att_scratch || !b->act_q) {
        s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "cpu backend: cannot allocate KV cache (%.1f MiB) and scratch", kv_bytes / 1048576.0);
        goto fail;
    }
    lf_rope_inv_freq(c, b->inv_freq);
    *out = &b->base;
    return LINFER_OK;
fail:
    cpu_destroy(&b->base);
    return s;
}
