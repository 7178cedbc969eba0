// backend.cu — the CUDA backend (one GPU): fp16/bf16 weights and activations, fp32 residual
// stream and accumulation, cuBLAS GEMMs for prefill, own GEMV for small batches, own kernels for
// the rest (kernels.cu). See docs/cuda.md.
//
// Device memory, three allocations:
//   weights  tok_embd, [lm_head], out_norm, per layer: attn_norm, Wqkv [q+k+v rows, dim] (wq|wk|wv
//            fused), [bqkv], wo, [bo], ffn_norm, Wgu [2*ffn, dim] (w_gate|w_up fused), w_down
//   KV cache K and V, each [n_layers][max_seqs][max_context][n_kv_heads*head_dim]
//   scratch  sized for max_batch_tokens rows: residual (fp32), normed x, qkv, attention out,
//            gate|up, activation; final-norm rows and fp32 logits for up to 256 rows at a time;
//            batch metadata; cuBLAS workspace.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cuda_runtime.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "random_weights.h"
extern "C" {
#include "engine/backend.h"
#include "cpu/kernels.h"
#include "core/dtype.h"
}

#define LOGIT_ROWS 256            // lm_head rows per chunk
#define MMA_MIN_ROWS 4            // runs shorter than this use the simple attention kernel
#define CUBLAS_WS_BYTES (32u << 20)
#define UPLOAD_CHUNK (32u << 20)  // bytes per staging buffer (two of them, pinned + device)

typedef struct {
    void *attn_norm, *wqkv, *bqkv, *wo, *bo, *ffn_norm, *wgu, *wdown;
} cu_layer;

typedef struct {
    lf_backend base;
    int dev;
    cudaStream_t st;
    cublasHandle_t cublas;
    lf_dtype dt;
    size_t es;
    int dim, nh, nkv, hd, q_dim, kv_dim, qkv_dim, ffn, vocab, nl, max_seqs, max_ctx, max_tokens, logit_rows;
    int gemv_max_m, mma_impl; // mma_impl 0: simple attention kernel only
    char *wmem, *kvmem, *smem;
    cu_layer *layers;
    void *tok_embd, *lm_head, *out_norm;
    char *k_cache, *v_cache;
    size_t layer_kv_bytes;
    float *inv_freq, *resid, *logits;
    void *xn, *qkv, *attn, *gu, *act, *xo, *cublas_ws;
    float *split;             // split-K attention partials (LF_ATTN_SPLIT_SCRATCH bytes)
    int32_t *d_meta, *h_meta; // batch metadata (9 * max_tokens int32), device and pinned host
    int32_t *d_ids, *h_ids;   // greedy token ids [max_tokens], device and pinned host
    int32_t *h_simple;        // host scratch [max_tokens]
} cu_backend;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static size_t carve(size_t *off, size_t bytes) {
    size_t o = (*off + 255) & ~(size_t)255;
    *off = o + bytes;
    return o;
}

static double mib(size_t b) { return (double)b / 1048576.0; }

// ---------------------------------------------------------------------------------------------
// memory layout: computed once with base NULL (sizes), then again with the real bases
static void layout_weights(cu_backend *b, char *base, size_t *total) {
    const lf_config *c = &b->base.model->cfg;
    size_t off = 0, es = b->es;
    b->tok_embd = base + carve(&off, (size_t)b->vocab * b->dim * es);
    b->lm_head = c->tie_embeddings ? b->tok_embd : (void *)(base + carve(&off, (size_t)b->vocab * b->dim * es));
    b->out_norm = base + carve(&off, (size_t)b->dim * es);
    for (int l = 0; l < b->nl; l++) {
        cu_layer *L = &b->layers[l];
        L->attn_norm = base + carve(&off, (size_t)b->dim * es);
        L->wqkv = base + carve(&off, (size_t)b->qkv_dim * b->dim * es);
        L->bqkv = c->qkv_bias ? (void *)(base + carve(&off, (size_t)b->qkv_dim * es)) : NULL;
        L->wo = base + carve(&off, (size_t)b->dim * b->q_dim * es);
        L->bo = b->base.model->w.layers[l].bo.n_dims ? (void *)(base + carve(&off, (size_t)b->dim * es)) : NULL;
        L->ffn_norm = base + carve(&off, (size_t)b->dim * es);
        L->wgu = base + carve(&off, (size_t)2 * b->ffn * b->dim * es);
        L->wdown = base + carve(&off, (size_t)b->dim * b->ffn * es);
    }
    *total = off;
}

static void layout_scratch(cu_backend *b, char *base, size_t *total) {
    size_t off = 0, es = b->es, T = (size_t)b->max_tokens, LR = (size_t)b->logit_rows;
    b->resid = (float *)(base + carve(&off, T * b->dim * sizeof(float)));
    b->xn = base + carve(&off, T * b->dim * es);
    b->qkv = base + carve(&off, T * b->qkv_dim * es);
    b->attn = base + carve(&off, T * b->q_dim * es);
    b->gu = base + carve(&off, T * 2 * b->ffn * es);
    b->act = base + carve(&off, T * b->ffn * es);
    b->xo = base + carve(&off, LR * b->dim * es);
    b->logits = (float *)(base + carve(&off, LR * b->vocab * sizeof(float)));
    b->inv_freq = (float *)(base + carve(&off, (size_t)(b->hd / 2) * sizeof(float)));
    b->d_meta = (int32_t *)(base + carve(&off, 9 * T * sizeof(int32_t)));
    b->cublas_ws = base + carve(&off, CUBLAS_WS_BYTES);
    b->split = (float *)(base + carve(&off, LF_ATTN_SPLIT_SCRATCH));
    *total = off;
}

// ---------------------------------------------------------------------------------------------
// weight upload
typedef struct {
    void *pinned[2], *raw[2];
    cudaEvent_t ev[2];
    int next;
} uploader;

static lf_status uploader_init(uploader *u) {
    memset(u, 0, sizeof *u);
    for (int i = 0; i < 2; i++) {
        CUDA_CHECK(cudaHostAlloc(&u->pinned[i], UPLOAD_CHUNK, cudaHostAllocDefault));
        cudaError_t e = cudaMalloc(&u->raw[i], UPLOAD_CHUNK);
        if (e != cudaSuccess) {
            size_t fr = 0, tot = 0;
            cudaGetLastError();
            cudaMemGetInfo(&fr, &tot);
            return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CUDA: upload staging buffer of %.0f MiB: %s (free %.0f MiB)",
                           mib(UPLOAD_CHUNK), cudaGetErrorString(e), mib(fr));
        }
        CUDA_CHECK(cudaEventCreateWithFlags(&u->ev[i], cudaEventDisableTiming));
    }
    return LINFER_OK;
}

static void uploader_free(uploader *u) {
    for (int i = 0; i < 2; i++) {
        if (u->ev[i]) { cudaEventSynchronize(u->ev[i]); cudaEventDestroy(u->ev[i]); }
        if (u->pinned[i]) cudaFreeHost(u->pinned[i]);
        if (u->raw[i]) cudaFree(u->raw[i]);
    }
    memset(u, 0, sizeof *u);
}

// One tensor into dst (n elements of b->dt): random synthesis, raw copy, or convert through staging.
static lf_status upload(cu_backend *b, uploader *u, const lf_tensor_src *t, const char *name, int layer,
                        uint64_t n, void *dst, uint32_t rid) {
    const lf_model *m = b->base.model;
    if (m->random_weights) {
        LF_TRY(lf_cuda_fill_random(b->dt, dst, n, m->random_seed, rid, lf_random_scale(&m->cfg, rid), m->random_dtype, b->st));
        return LINFER_OK;
    }
    char nm[96];
    if (layer >= 0) snprintf(nm, sizeof nm, "layer %d %s", layer, name);
    else snprintf(nm, sizeof nm, "%s", name);
    if (!t->n_dims || !t->data)
        return lf_fail(LINFER_ERR_FORMAT, "CUDA backend: weight %s is missing", nm);
    uint64_t have = lf_tensor_numel(t);
    if (have != n)
        return lf_fail(LINFER_ERR_FORMAT, "CUDA backend: weight %s has %llu elements, expected %llu", nm,
                       (unsigned long long)have, (unsigned long long)n);
    const lf_dtype sdt = t->dtype;
    const int direct = sdt == LF_DT_F32 || sdt == LF_DT_F16 || sdt == LF_DT_BF16;
    const int be = lf_dtype_block_elems(sdt), bb = lf_dtype_block_bytes(sdt);
    if (!direct && (be <= 0 || n % (uint64_t)be))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA backend: weight %s: dtype %s", nm, lf_dtype_name(sdt));
    // elements per chunk: direct: what fits raw; quantised: dequantised fp32 fits, whole blocks
    uint64_t per = direct ? UPLOAD_CHUNK / (uint64_t)(sdt == LF_DT_F32 ? 4 : 2) : (UPLOAD_CHUNK / 4) / 32 * 32;
    const uint8_t *src = (const uint8_t *)t->data;
    for (uint64_t e0 = 0; e0 < n; e0 += per) {
        const uint64_t cnt = n - e0 < per ? n - e0 : per;
        const int i = u->next;
        u->next ^= 1;
        CUDA_CHECK(cudaEventSynchronize(u->ev[i])); // staging buffer i is free again
        char *d = (char *)dst + e0 * b->es;
        if (direct) {
            const size_t ses = sdt == LF_DT_F32 ? 4 : 2;
            memcpy(u->pinned[i], src + e0 * ses, cnt * ses);
            if (sdt == b->dt) {
                CUDA_CHECK(cudaMemcpyAsync(d, u->pinned[i], cnt * ses, cudaMemcpyHostToDevice, b->st));
            } else {
                CUDA_CHECK(cudaMemcpyAsync(u->raw[i], u->pinned[i], cnt * ses, cudaMemcpyHostToDevice, b->st));
                LF_TRY(lf_cuda_convert(b->dt, d, sdt, u->raw[i], cnt, b->st));
            }
        } else {
            lf_to_f32(sdt, src + e0 / be * bb, (float *)u->pinned[i], cnt);
            CUDA_CHECK(cudaMemcpyAsync(u->raw[i], u->pinned[i], cnt * 4, cudaMemcpyHostToDevice, b->st));
            LF_TRY(lf_cuda_convert(b->dt, d, LF_DT_F32, u->raw[i], cnt, b->st));
        }
        CUDA_CHECK(cudaEventRecord(u->ev[i], b->st));
    }
    return LINFER_OK;
}

static lf_status upload_all(cu_backend *b) {
    const lf_model *m = b->base.model;
    const lf_config *c = &m->cfg;
    const lf_weight_srcs *w = &m->w;
    const size_t es = b->es;
    const uint64_t dim = b->dim;
    uploader u;
    lf_status s = m->random_weights ? LINFER_OK : uploader_init(&u);
    if (m->random_weights) memset(&u, 0, sizeof u);
#define UP(src, name, layer, n, dst, rid) do { if (s == LINFER_OK) s = upload(b, &u, src, name, layer, n, dst, rid); } while (0)
    UP(&w->tok_embd, "tok_embd", -1, (uint64_t)b->vocab * dim, b->tok_embd, LF_RW_TOK_EMBD);
    if (!c->tie_embeddings) UP(&w->lm_head, "lm_head", -1, (uint64_t)b->vocab * dim, b->lm_head, LF_RW_LM_HEAD);
    UP(&w->out_norm, "out_norm", -1, dim, b->out_norm, LF_RW_OUT_NORM);
    for (int l = 0; l < b->nl && s == LINFER_OK; l++) {
        const lf_layer_src *S = &w->layers[l];
        cu_layer *L = &b->layers[l];
        char *qkv = (char *)L->wqkv;
        UP(&S->attn_norm, "attn_norm", l, dim, L->attn_norm, lf_random_layer_id(l, LF_RW_ATTN_NORM));
        UP(&S->wq, "wq", l, (uint64_t)b->q_dim * dim, qkv, lf_random_layer_id(l, LF_RW_WQ));
        UP(&S->wk, "wk", l, (uint64_t)b->kv_dim * dim, qkv + (size_t)b->q_dim * dim * es, lf_random_layer_id(l, LF_RW_WK));
        UP(&S->wv, "wv", l, (uint64_t)b->kv_dim * dim, qkv + (size_t)(b->q_dim + b->kv_dim) * dim * es, lf_random_layer_id(l, LF_RW_WV));
        if (c->qkv_bias) {
            char *bq = (char *)L->bqkv;
            UP(&S->bq, "bq", l, b->q_dim, bq, lf_random_layer_id(l, LF_RW_BQ));
            UP(&S->bk, "bk", l, b->kv_dim, bq + (size_t)b->q_dim * es, lf_random_layer_id(l, LF_RW_BK));
            UP(&S->bv, "bv", l, b->kv_dim, bq + (size_t)(b->q_dim + b->kv_dim) * es, lf_random_layer_id(l, LF_RW_BV));
        }
        UP(&S->wo, "wo", l, dim * b->q_dim, L->wo, lf_random_layer_id(l, LF_RW_WO));
        if (L->bo) UP(&S->bo, "bo", l, dim, L->bo, lf_random_layer_id(l, LF_RW_BO));
        UP(&S->ffn_norm, "ffn_norm", l, dim, L->ffn_norm, lf_random_layer_id(l, LF_RW_FFN_NORM));
        UP(&S->w_gate, "w_gate", l, (uint64_t)b->ffn * dim, L->wgu, lf_random_layer_id(l, LF_RW_W_GATE));
        UP(&S->w_up, "w_up", l, (uint64_t)b->ffn * dim, (char *)L->wgu + (size_t)b->ffn * dim * es, lf_random_layer_id(l, LF_RW_W_UP));
        UP(&S->w_down, "w_down", l, dim * b->ffn, L->wdown, lf_random_layer_id(l, LF_RW_W_DOWN));
    }
#undef UP
    if (s == LINFER_OK) {
        cudaError_t e = cudaStreamSynchronize(b->st);
        if (e != cudaSuccess) s = lf_fail(LINFER_ERR_DEVICE, "CUDA backend: weight upload: %s", cudaGetErrorString(e));
    }
    if (!m->random_weights) uploader_free(&u);
    return s;
}

// ---------------------------------------------------------------------------------------------
static void cu_destroy(lf_backend *bb) {
    cu_backend *b = (cu_backend *)bb;
    if (!b) return;
    if (b->st) cudaStreamSynchronize(b->st);
    if (b->cublas) cublasDestroy(b->cublas);
    if (b->wmem) cudaFree(b->wmem);
    if (b->kvmem) cudaFree(b->kvmem);
    if (b->smem) cudaFree(b->smem);
    if (b->h_meta) cudaFreeHost(b->h_meta);
    if (b->h_ids) cudaFreeHost(b->h_ids);
    if (b->d_ids) cudaFree(b->d_ids);
    if (b->st) cudaStreamDestroy(b->st);
    free(b->h_simple);
    free(b->layers);
    free(b);
}

static void cu_reset_seq(lf_backend *bb, int seq) { (void)bb; (void)seq; /* positions are overwritten as they are reused */ }

#define OP(op, call) do {                                                                          \
        double t0_ = prof ? now_ms() : 0.0;                                                        \
        LF_TRY(call);                                                                              \
        if (prof) { CUDA_CHECK(cudaStreamSynchronize(st)); b->base.op_ms[op] += now_ms() - t0_; } \
    } while (0)

/* logits != NULL: fp32 logits of the out rows to the host; ids != NULL: their argmax only */
static lf_status cu_forward_impl(lf_backend *bb, const lf_batch *bt, float *logits, int32_t *ids) {
    cu_backend *b = (cu_backend *)bb;
    const lf_config *c = &b->base.model->cfg;
    const int n = bt->n, T = b->max_tokens;
    const int prof = b->base.profile;
    cudaStream_t st = b->st;
    if (n <= 0 || n > T) return lf_fail(LINFER_ERR_INVALID_ARG, "batch of %d tokens (this backend holds at most %d)", n, T);
    if (bt->n_out < 0 || bt->n_out > n) return lf_fail(LINFER_ERR_INVALID_ARG, "batch asks for %d logit rows of %d tokens", bt->n_out, n);
    if (bt->n_out > 0 && !logits && !ids) return lf_fail(LINFER_ERR_INVALID_ARG, "no logits buffer for %d rows", bt->n_out);
    for (int i = 0; i < n; i++) {
        if (bt->seq[i] < 0 || bt->seq[i] >= b->max_seqs)
            return lf_fail(LINFER_ERR_INVALID_ARG, "sequence %d out of range (0..%d)", bt->seq[i], b->max_seqs - 1);
        if (bt->pos[i] < 0 || bt->pos[i] >= b->max_ctx)
            return lf_fail(LINFER_ERR_CONTEXT, "position %d is past the KV cache length %d", bt->pos[i], b->max_ctx);
        if (bt->tokens[i] < 0 || bt->tokens[i] >= b->vocab)
            return lf_fail(LINFER_ERR_INVALID_ARG, "token id %d out of range (vocab %d)", bt->tokens[i], b->vocab);
    }
    for (int j = 0; j < bt->n_out; j++)
        if (bt->out_rows[j] < 0 || bt->out_rows[j] >= n)
            return lf_fail(LINFER_ERR_INVALID_ARG, "logit row %d out of range (batch of %d)", bt->out_rows[j], n);

    // metadata, packed: tiles [n_tiles] (16-byte aligned at 0), tokens, pos, seq [n], out_rows
    // [n_out], simple-attention token list [n_simple]
    int32_t *h = b->h_meta, *simple = b->h_simple;
    lf_attn_tile *tiles = (lf_attn_tile *)h;
    int n_simple = 0, n_tiles = 0, max_simple_ctx = 0;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && j - i < LF_ATTN_TILE_ROWS && bt->seq[j] == bt->seq[i] && bt->pos[j] == bt->pos[j - 1] + 1) j++;
        if (b->mma_impl && j - i >= MMA_MIN_ROWS) {
            lf_attn_tile tl = {i, j - i, bt->seq[i], bt->pos[i]};
            tiles[n_tiles++] = tl;
        } else {
            for (int k = i; k < j; k++) {
                simple[n_simple++] = k;
                if (bt->pos[k] + 1 > max_simple_ctx) max_simple_ctx = bt->pos[k] + 1;
            }
        }
        i = j;
    }
    const size_t o_tok = 4 * (size_t)n_tiles, o_pos = o_tok + n, o_seq = o_pos + n, o_out = o_seq + n,
                 o_simple = o_out + (size_t)bt->n_out, o_end = o_simple + (size_t)n_simple;
    memcpy(h + o_tok, bt->tokens, sizeof(int32_t) * n);
    memcpy(h + o_pos, bt->pos, sizeof(int32_t) * n);
    memcpy(h + o_seq, bt->seq, sizeof(int32_t) * n);
    if (bt->n_out > 0) memcpy(h + o_out, bt->out_rows, sizeof(int32_t) * bt->n_out);
    if (n_simple > 0) memcpy(h + o_simple, simple, sizeof(int32_t) * n_simple);
    CUDA_CHECK(cudaMemcpyAsync(b->d_meta, h, sizeof(int32_t) * o_end, cudaMemcpyHostToDevice, st));
    const int32_t *d_tok = b->d_meta + o_tok, *d_pos = b->d_meta + o_pos, *d_seq = b->d_meta + o_seq;
    const int32_t *d_out = b->d_meta + o_out, *d_simple = b->d_meta + o_simple;
    const lf_attn_tile *d_tiles = (const lf_attn_tile *)b->d_meta;

    const lf_dtype dt = b->dt;
    const float eps = c->norm_eps, scale = 1.0f / sqrtf((float)b->hd);
    const int gm = b->gemv_max_m;
    OP(LF_OP_EMBEDDING, lf_cuda_embed(dt, b->resid, b->tok_embd, d_tok, n, b->dim, st));
    for (int l = 0; l < b->nl; l++) {
        const cu_layer *L = &b->layers[l];
        void *kc = b->k_cache + (size_t)l * b->layer_kv_bytes, *vc = b->v_cache + (size_t)l * b->layer_kv_bytes;
        OP(LF_OP_NORM, lf_cuda_rmsnorm(dt, b->xn, b->resid, L->attn_norm, NULL, n, b->dim, eps, st));
        OP(LF_OP_QKV, lf_cuda_linear(b->cublas, dt, b->xn, L->wqkv, b->qkv, 0, 0.0f, n, b->qkv_dim, b->dim, gm, st));
        OP(LF_OP_ROPE, lf_cuda_rope_qkv(dt, b->qkv, b->qkv_dim, L->bqkv, b->inv_freq, d_pos, d_seq, n, kc, vc, b->max_ctx,
                                        b->nh, b->nkv, b->hd, c->rope_style, st));
        OP(LF_OP_ATTENTION, lf_cuda_attention_tiles(dt, b->attn, b->q_dim, b->qkv, b->qkv_dim, kc, vc, b->max_ctx, d_tiles,
                                                    n_tiles, b->nh, b->nkv, b->hd, scale, b->mma_impl, st));
        OP(LF_OP_ATTENTION, lf_cuda_attention(dt, b->attn, b->q_dim, b->qkv, b->qkv_dim, kc, vc, b->max_ctx, d_pos, d_seq,
                                              n_simple == n ? NULL : d_simple, n_simple, b->nh, b->nkv, b->hd, scale,
                                              max_simple_ctx, b->split, LF_ATTN_SPLIT_SCRATCH, st));
        OP(LF_OP_O_PROJ, lf_cuda_linear(b->cublas, dt, b->attn, L->wo, b->resid, 1, 1.0f, n, b->dim, b->q_dim, gm, st));
        if (L->bo) OP(LF_OP_O_PROJ, lf_cuda_add_bias(dt, b->resid, L->bo, n, b->dim, st));
        OP(LF_OP_NORM, lf_cuda_rmsnorm(dt, b->xn, b->resid, L->ffn_norm, NULL, n, b->dim, eps, st));
        OP(LF_OP_GATE_UP, lf_cuda_linear(b->cublas, dt, b->xn, L->wgu, b->gu, 0, 0.0f, n, 2 * b->ffn, b->dim, gm, st));
        OP(LF_OP_ACTIVATION, lf_cuda_swiglu(dt, b->act, b->gu, n, b->ffn, st));
        OP(LF_OP_DOWN, lf_cuda_linear(b->cublas, dt, b->act, L->wdown, b->resid, 1, 1.0f, n, b->dim, b->ffn, gm, st));
    }
    for (int o0 = 0; o0 < bt->n_out; o0 += b->logit_rows) {
        const int cnt = bt->n_out - o0 < b->logit_rows ? bt->n_out - o0 : b->logit_rows;
        OP(LF_OP_NORM, lf_cuda_rmsnorm(dt, b->xo, b->resid, b->out_norm, d_out + o0, cnt, b->dim, eps, st));
        OP(LF_OP_LM_HEAD, lf_cuda_linear(b->cublas, dt, b->xo, b->lm_head, b->logits, 1, 0.0f, cnt, b->vocab, b->dim, gm, st));
        if (ids) {
            OP(LF_OP_SAMPLING, lf_cuda_argmax_rows(b->logits, cnt, b->vocab, b->d_ids + o0, st));
        } else {
            CUDA_CHECK(cudaMemcpyAsync(logits + (size_t)o0 * b->vocab, b->logits, sizeof(float) * (size_t)cnt * b->vocab,
                                       cudaMemcpyDeviceToHost, st));
        }
    }
    if (ids && bt->n_out > 0)
        CUDA_CHECK(cudaMemcpyAsync(b->h_ids, b->d_ids, sizeof(int32_t) * (size_t)bt->n_out, cudaMemcpyDeviceToHost, st));
    CUDA_CHECK(cudaStreamSynchronize(st));
    if (ids && bt->n_out > 0) memcpy(ids, b->h_ids, sizeof(int32_t) * (size_t)bt->n_out);
    return LINFER_OK;
}

static lf_status cu_forward(lf_backend *bb, const lf_batch *bt, float *logits) { return cu_forward_impl(bb, bt, logits, NULL); }
static lf_status cu_forward_greedy(lf_backend *bb, const lf_batch *bt, int32_t *ids) { return cu_forward_impl(bb, bt, NULL, ids); }
#undef OP

static const lf_backend_ops cu_ops = {"cuda", cu_forward, cu_reset_seq, cu_destroy, cu_forward_greedy};

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static lf_status alloc_region(char **p, size_t bytes, const char *what, size_t need_total) {
    cudaError_t e = cudaMalloc((void **)p, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        *p = NULL;
        cudaGetLastError();
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CUDA: cudaMalloc of %.0f MiB for %s failed: %s (needs %.0f MiB in all, free %.0f MiB)",
                       mib(bytes), what, cudaGetErrorString(e), mib(need_total), mib(fr));
    }
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_backend_create(const lf_model *m, const lf_backend_params *p, lf_backend **out) {
    *out = NULL;
    const lf_config *c = &m->cfg;
    if (p->dtype != LF_DT_F16 && p->dtype != LF_DT_BF16)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA backend computes in F16 or BF16, not %s", lf_dtype_name(p->dtype));
    if (p->max_seqs <= 0 || p->max_context <= 0 || p->max_batch_tokens <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA backend: max_seqs, max_context and max_batch_tokens must be positive");
    if (p->max_batch_tokens > 65535)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA backend: max_batch_tokens %d (at most 65535)", p->max_batch_tokens);
    if (c->n_layers <= 0 || c->dim <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0 || c->ffn_dim <= 0 || c->vocab_size <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA backend: model config has a non-positive dimension");
    if (c->n_heads % c->n_kv_heads)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA backend: n_heads %d is not a multiple of n_kv_heads %d", c->n_heads, c->n_kv_heads);
    if ((c->head_dim & 1) || c->head_dim > 256)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA backend: head_dim %d (must be even and at most 256)", c->head_dim);

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "no CUDA device: %s", cudaGetErrorString(e));
    }
    if (count <= 0) return lf_fail(LINFER_ERR_DEVICE, "no CUDA device: none found");
    if (p->gpu_index < 0 || p->gpu_index >= count)
        return lf_fail(LINFER_ERR_DEVICE, "no CUDA device %d (%d device%s found)", p->gpu_index, count, count == 1 ? "" : "s");
    CUDA_CHECK(cudaSetDevice(p->gpu_index));

    cu_backend *b = (cu_backend *)calloc(1, sizeof *b);
    if (!b) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    b->base.ops = &cu_ops;
    b->base.model = m;
    b->base.params = *p;
    b->dev = p->gpu_index;
    b->dt = p->dtype;
    b->es = lf_cuda_dtype_size(p->dtype);
    b->dim = c->dim; b->nh = c->n_heads; b->nkv = c->n_kv_heads; b->hd = c->head_dim;
    b->q_dim = c->n_heads * c->head_dim; b->kv_dim = c->n_kv_heads * c->head_dim;
    b->qkv_dim = b->q_dim + 2 * b->kv_dim; b->ffn = c->ffn_dim; b->vocab = c->vocab_size; b->nl = c->n_layers;
    b->max_seqs = p->max_seqs; b->max_ctx = p->max_context; b->max_tokens = p->max_batch_tokens;
    b->logit_rows = p->max_batch_tokens < LOGIT_ROWS ? p->max_batch_tokens : LOGIT_ROWS;
    b->gemv_max_m = env_int("LF_CUDA_GEMV", LF_CUDA_GEMV_DEFAULT_M); // measured crossover; 0: cuBLAS for every linear layer
    // LF_CUDA_ATTN_MMA: 0 simple kernel only, 1 or 2 tensor-core kernel version (default 2)
    b->mma_impl = lf_cuda_attention_tiles_supported(c->head_dim) ? env_int("LF_CUDA_ATTN_MMA", 2) : 0;
    if (b->mma_impl < 0 || b->mma_impl > 2) b->mma_impl = 2;
    lf_status s = LINFER_OK;
    b->layers = (cu_layer *)calloc((size_t)c->n_layers, sizeof *b->layers);
    if (!b->layers) { free(b); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }

    size_t wbytes = 0, sbytes = 0;
    layout_weights(b, NULL, &wbytes);
    layout_scratch(b, NULL, &sbytes);
    b->layer_kv_bytes = (size_t)p->max_seqs * p->max_context * b->kv_dim * b->es;
    const size_t kvbytes = 2 * (size_t)b->nl * b->layer_kv_bytes;
    const size_t staging = m->random_weights ? 0 : 2 * (size_t)UPLOAD_CHUNK;
    const size_t need = wbytes + kvbytes + sbytes + staging;
    size_t fr = 0, tot = 0;
    e = cudaMemGetInfo(&fr, &tot);
    if (e != cudaSuccess) {
        cudaGetLastError();
        free(b->layers); free(b);
        return lf_fail(LINFER_ERR_DEVICE, "no usable CUDA device %d: %s", p->gpu_index, cudaGetErrorString(e));
    }
    if (need > fr) {
        free(b->layers); free(b);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY,
                       "CUDA backend needs %.0f MiB (weights %.0f, KV cache %.0f for %d x %d positions, scratch %.0f), free %.0f MiB of %.0f",
                       mib(need), mib(wbytes), mib(kvbytes), p->max_seqs, p->max_context, mib(sbytes + staging), mib(fr), mib(tot));
    }
#define TRY_OR_FAIL(expr) do { if ((s = (expr)) != LINFER_OK) goto fail; } while (0)
#define CU_OR_FAIL(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
        s = lf_fail(LINFER_ERR_DEVICE, "%s:%d %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); goto fail; } } while (0)
    CU_OR_FAIL(cudaStreamCreateWithFlags(&b->st, cudaStreamNonBlocking));
    TRY_OR_FAIL(alloc_region(&b->wmem, wbytes, "weights", need));
    TRY_OR_FAIL(alloc_region(&b->kvmem, kvbytes, "KV cache", need));
    TRY_OR_FAIL(alloc_region(&b->smem, sbytes, "scratch", need));
    layout_weights(b, b->wmem, &wbytes);
    layout_scratch(b, b->smem, &sbytes);
    b->k_cache = b->kvmem;
    b->v_cache = b->kvmem + (size_t)b->nl * b->layer_kv_bytes;
    CU_OR_FAIL(cudaHostAlloc((void **)&b->h_meta, 9 * sizeof(int32_t) * (size_t)b->max_tokens, cudaHostAllocDefault));
    CU_OR_FAIL(cudaHostAlloc((void **)&b->h_ids, sizeof(int32_t) * (size_t)b->max_tokens, cudaHostAllocDefault));
    CU_OR_FAIL(cudaMalloc((void **)&b->d_ids, sizeof(int32_t) * (size_t)b->max_tokens));
    b->h_simple = (int32_t *)malloc(sizeof(int32_t) * (size_t)b->max_tokens);
    if (!b->h_simple) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto fail; }
    {
        cublasStatus_t cs = cublasCreate(&b->cublas);
        if (cs != CUBLAS_STATUS_SUCCESS) { b->cublas = NULL; s = lf_fail(LINFER_ERR_DEVICE, "cublasCreate: %s", cublasGetStatusString(cs)); goto fail; }
        cs = cublasSetStream(b->cublas, b->st);
        if (cs == CUBLAS_STATUS_SUCCESS) cs = cublasSetWorkspace(b->cublas, b->cublas_ws, CUBLAS_WS_BYTES);
        if (cs != CUBLAS_STATUS_SUCCESS) { s = lf_fail(LINFER_ERR_DEVICE, "cuBLAS setup: %s", cublasGetStatusString(cs)); goto fail; }
    }
    {
        float *inv = (float *)malloc(sizeof(float) * (size_t)(b->hd / 2));
        if (!inv) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto fail; }
        lf_rope_inv_freq(c, inv);
        e = cudaMemcpy(b->inv_freq, inv, sizeof(float) * (size_t)(b->hd / 2), cudaMemcpyHostToDevice);
        free(inv);
        CU_OR_FAIL(e);
    }
    TRY_OR_FAIL(upload_all(b));
    CU_OR_FAIL(cudaStreamSynchronize(b->st)); /* weights (uploaded or synthesised) are ready: timings start clean */
    *out = &b->base;
    return LINFER_OK;
fail:
    cu_destroy(&b->base);
    return s;
#undef TRY_OR_FAIL
#undef CU_OR_FAIL
}
