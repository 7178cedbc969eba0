// backend.cu — the CUDA backend (one GPU): fp16/bf16 weights and activations, fp32 residual
// stream and accumulation, cuBLAS GEMMs for prefill, own GEMV for small batches, own kernels for
// the rest (kernels.cu, attention.cu, allreduce.cu). The state it shares with linear_choice.cu
// (which kernel computes each linear layer, chosen by timing) is in backend_internal.h.
// See docs/cuda.md.
//
// Device memory, three allocations:
//   weights  tok_embd, [lm_head], out_norm, per layer: attn_norm, Wqkv [q+k+v rows, dim] (wq|wk|wv
//            fused), [bqkv], wo, [bo], ffn_norm, Wgu [2*ffn, dim] (w_gate|w_up fused), w_down
//   KV cache K and V, each [n_layers][max_seqs][max_context][n_kv_heads*head_dim]
//   scratch  sized for max_batch_tokens rows: residual (fp32), normed x, qkv, attention out,
//            gate|up, activation; final-norm rows and fp32 logits for up to 256 rows at a time;
//            batch metadata; cuBLAS workspace.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cuda_runtime.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "random_weights.h"
#include "dist/nccl_loader.h"
#include "cupti_trace.h"
extern "C" {
#include "engine/backend.h"
#include "cpu/kernels.h"
#include "core/dtype.h"
#include "core/clock.h"
#include "perf/bench.h"
}

#include "backend_internal.h"

static void free_trace_seq(cu_trace_seq *q);

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
    // pipeline parallelism: the embedding on the first stage, the head on the last (which also
    // keeps the embedding when the head is tied to it)
    const int has_head = b->stage == b->pp - 1, has_embd = b->stage == 0 || (has_head && c->tie_embeddings);
    const size_t vrows = (size_t)(b->vsplit ? b->vloc : b->vocab);
    b->tok_embd = has_embd ? base + carve(&off, vrows * b->dim * es) : NULL;
    b->lm_head = !has_head ? NULL : c->tie_embeddings ? b->tok_embd : (void *)(base + carve(&off, vrows * b->dim * es));
    b->out_norm = has_head ? base + carve(&off, (size_t)b->dim * es) : NULL;
    for (int l = 0; l < b->nl; l++) {
        cu_layer *L = &b->layers[l];
        L->attn_norm = base + carve(&off, (size_t)b->dim * es);
        L->wqkv = base + carve(&off, (size_t)b->qkv_dim * b->dim * es);
        L->bqkv = c->qkv_bias ? (void *)(base + carve(&off, (size_t)b->qkv_dim * es)) : NULL;
        L->wo = base + carve(&off, (size_t)b->dim * b->q_dim * es);
        L->bo = b->base.model->w.layers[b->l0 + l].bo.n_dims ? (void *)(base + carve(&off, (size_t)b->dim * es)) : NULL;
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
    b->gat = b->vsplit ? (float *)(base + carve(&off, LR * b->vocab * sizeof(float))) : NULL;
    b->inv_freq = (float *)(base + carve(&off, (size_t)(b->hd / 2) * sizeof(float)));
    b->d_meta = (int32_t *)(base + carve(&off, LF_META_INTS(T) * sizeof(int32_t)));
    b->cublas_ws = base + carve(&off, CUBLAS_WS_BYTES);
    b->split = (float *)(base + carve(&off, LF_ATTN_SPLIT_SCRATCH));
    b->stream_tab = (lf_stream_layer *)(base + carve(&off, (size_t)b->nl * sizeof(lf_stream_layer)));
    b->stream.barrier = (unsigned *)(base + carve(&off, sizeof(unsigned)));
    b->bulk_ctr = (unsigned *)(base + carve(&off, (size_t)LF_BULK_CTRS * 2 * sizeof(unsigned)));
    b->inv_part = b->invariant && b->tp > 1 ? (float *)(base + carve(&off, T * b->dim * sizeof(float))) : NULL;
    b->inv_gat = b->invariant && b->tp > 1 ? (float *)(base + carve(&off, (size_t)b->tp * T * b->dim * sizeof(float))) : NULL;
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

// Elements [e_start, e_start + cnt) of source tensor t into dst (cnt elements of b->dt): raw copy,
// or conversion through the staging buffers. Quantised sources need e_start on a block boundary.
static lf_status upload_range(cu_backend *b, uploader *u, const lf_tensor_src *t, const char *nm, uint64_t e_start,
                              uint64_t cnt_all, void *dst) {
    const lf_dtype sdt = t->dtype;
    const int direct = sdt == LF_DT_F32 || sdt == LF_DT_F16 || sdt == LF_DT_BF16;
    const int be = lf_dtype_block_elems(sdt), bb = lf_dtype_block_bytes(sdt);
    if (!direct && (be <= 0 || e_start % (uint64_t)be || cnt_all % (uint64_t)be))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA backend: weight %s: dtype %s (or a slice not on its %d-element blocks)", nm,
                       lf_dtype_name(sdt), be);
    // elements per chunk: direct: what fits raw; quantised: dequantised fp32 fits, whole blocks
    uint64_t per = direct ? UPLOAD_CHUNK / (uint64_t)(sdt == LF_DT_F32 ? 4 : 2) : (UPLOAD_CHUNK / 4) / 32 * 32;
    const uint8_t *src = (const uint8_t *)t->data;
    for (uint64_t e0 = 0; e0 < cnt_all; e0 += per) {
        const uint64_t cnt = cnt_all - e0 < per ? cnt_all - e0 : per, es0 = e_start + e0;
        const int i = u->next;
        u->next ^= 1;
        CUDA_CHECK(cudaEventSynchronize(u->ev[i])); // staging buffer i is free again
        char *d = (char *)dst + e0 * b->es;
        if (direct) {
            const size_t ses = sdt == LF_DT_F32 ? 4 : 2;
            memcpy(u->pinned[i], src + es0 * ses, cnt * ses);
            if (sdt == b->dt) {
                CUDA_CHECK(cudaMemcpyAsync(d, u->pinned[i], cnt * ses, cudaMemcpyHostToDevice, b->st));
            } else {
                CUDA_CHECK(cudaMemcpyAsync(u->raw[i], u->pinned[i], cnt * ses, cudaMemcpyHostToDevice, b->st));
                LF_TRY(lf_cuda_convert(b->dt, d, sdt, u->raw[i], cnt, b->st));
            }
        } else {
            lf_to_f32(sdt, src + es0 / be * bb, (float *)u->pinned[i], cnt);
            CUDA_CHECK(cudaMemcpyAsync(u->raw[i], u->pinned[i], cnt * 4, cudaMemcpyHostToDevice, b->st));
            LF_TRY(lf_cuda_convert(b->dt, d, LF_DT_F32, u->raw[i], cnt, b->st));
        }
        CUDA_CHECK(cudaEventRecord(u->ev[i], b->st));
    }
    return LINFER_OK;
}

// The part of a tensor one rank keeps: element (i, j), i < rows, j < cols, is the tensor's element
// off + i*ld + j (a row range: rows 1, cols = the elements; a column range of a row-major matrix:
// rows = its rows, ld = its row length).
typedef struct { uint64_t rows, cols, ld, off; } tp_slice;

// One tensor (n elements in the model) into dst, whole or its slice sl: random synthesis, raw
// copy, or convert through staging.
static lf_status upload(cu_backend *b, uploader *u, const lf_tensor_src *t, const char *name, int layer,
                        uint64_t n, void *dst, uint32_t rid, const tp_slice *sl) {
    const lf_model *m = b->base.model;
    if (m->random_weights) {
        if (sl)
            return lf_cuda_fill_random_slice(b->dt, dst, sl->rows, sl->cols, sl->ld, sl->off, m->random_seed, rid,
                                             lf_random_scale(&m->cfg, rid), m->random_dtype, b->st);
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
    if (!sl) return upload_range(b, u, t, nm, 0, n, dst);
    for (uint64_t i = 0; i < sl->rows; i++)
        LF_TRY(upload_range(b, u, t, nm, sl->off + i * sl->ld, sl->cols, (char *)dst + i * sl->cols * b->es));
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
#define UP(src, name, layer, n, dst, rid) do { if (s == LINFER_OK) s = upload(b, &u, src, name, layer, n, dst, rid, NULL); } while (0)
    /* this rank's parts (whole tensors when tp == 1): rows of wq/wk/wv/w_gate/w_up and their
     * biases, columns of wo and w_down */
    const int tp = b->tp;
    const uint64_t hd = (uint64_t)b->hd, gq = (uint64_t)b->g_q_dim, gkv = (uint64_t)b->g_kv_dim, gffn = (uint64_t)b->g_ffn;
    const tp_slice s_q = {1, (uint64_t)b->q_dim * dim, 0, (uint64_t)b->rank * b->q_dim * dim};
    const tp_slice s_kv = {1, (uint64_t)b->kv_dim * dim, 0, (uint64_t)b->kh0 * hd * dim};
    const tp_slice s_bq = {1, (uint64_t)b->q_dim, 0, (uint64_t)b->rank * b->q_dim};
    const tp_slice s_bkv = {1, (uint64_t)b->kv_dim, 0, (uint64_t)b->kh0 * hd};
    const tp_slice s_o = {dim, (uint64_t)b->q_dim, gq, (uint64_t)b->rank * b->q_dim};
    const tp_slice s_ffn = {1, (uint64_t)b->ffn * dim, 0, (uint64_t)b->rank * b->ffn * dim};
    const tp_slice s_down = {dim, (uint64_t)b->ffn, gffn, (uint64_t)b->rank * b->ffn};
#define UPS(src, name, layer, n, dst, rid, sl) do { if (s == LINFER_OK) s = upload(b, &u, src, name, layer, n, dst, rid, tp > 1 ? &(sl) : NULL); } while (0)
    const tp_slice s_voc = {1, (uint64_t)b->vloc * dim, 0, (uint64_t)b->rank * b->vloc * dim}; /* rows of the vocabulary */
    if (b->vsplit) {
        if (b->tok_embd) s = upload(b, &u, &w->tok_embd, "tok_embd", -1, (uint64_t)b->vocab * dim, b->tok_embd, LF_RW_TOK_EMBD, &s_voc);
        if (s == LINFER_OK && b->lm_head && !c->tie_embeddings)
            s = upload(b, &u, &w->lm_head, "lm_head", -1, (uint64_t)b->vocab * dim, b->lm_head, LF_RW_LM_HEAD, &s_voc);
    } else {
        if (b->tok_embd) UP(&w->tok_embd, "tok_embd", -1, (uint64_t)b->vocab * dim, b->tok_embd, LF_RW_TOK_EMBD);
        if (b->lm_head && !c->tie_embeddings) UP(&w->lm_head, "lm_head", -1, (uint64_t)b->vocab * dim, b->lm_head, LF_RW_LM_HEAD);
    }
    if (b->out_norm) UP(&w->out_norm, "out_norm", -1, dim, b->out_norm, LF_RW_OUT_NORM);
    for (int ll = 0; ll < b->nl && s == LINFER_OK; ll++) {
        const int l = b->l0 + ll; /* the model's layer index (pipeline stages hold a range) */
        const lf_layer_src *S = &w->layers[l];
        cu_layer *L = &b->layers[ll];
        char *qkv = (char *)L->wqkv;
        UP(&S->attn_norm, "attn_norm", l, dim, L->attn_norm, lf_random_layer_id(l, LF_RW_ATTN_NORM));
        UPS(&S->wq, "wq", l, gq * dim, qkv, lf_random_layer_id(l, LF_RW_WQ), s_q);
        UPS(&S->wk, "wk", l, gkv * dim, qkv + (size_t)b->q_dim * dim * es, lf_random_layer_id(l, LF_RW_WK), s_kv);
        UPS(&S->wv, "wv", l, gkv * dim, qkv + (size_t)(b->q_dim + b->kv_dim) * dim * es, lf_random_layer_id(l, LF_RW_WV), s_kv);
        if (c->qkv_bias) {
            char *bq = (char *)L->bqkv;
            UPS(&S->bq, "bq", l, gq, bq, lf_random_layer_id(l, LF_RW_BQ), s_bq);
            UPS(&S->bk, "bk", l, gkv, bq + (size_t)b->q_dim * es, lf_random_layer_id(l, LF_RW_BK), s_bkv);
            UPS(&S->bv, "bv", l, gkv, bq + (size_t)(b->q_dim + b->kv_dim) * es, lf_random_layer_id(l, LF_RW_BV), s_bkv);
        }
        UPS(&S->wo, "wo", l, dim * gq, L->wo, lf_random_layer_id(l, LF_RW_WO), s_o);
        if (L->bo) UP(&S->bo, "bo", l, dim, L->bo, lf_random_layer_id(l, LF_RW_BO));
        UP(&S->ffn_norm, "ffn_norm", l, dim, L->ffn_norm, lf_random_layer_id(l, LF_RW_FFN_NORM));
        UPS(&S->w_gate, "w_gate", l, gffn * dim, L->wgu, lf_random_layer_id(l, LF_RW_W_GATE), s_ffn);
        UPS(&S->w_up, "w_up", l, gffn * dim, (char *)L->wgu + (size_t)b->ffn * dim * es, lf_random_layer_id(l, LF_RW_W_UP), s_ffn);
        UPS(&S->w_down, "w_down", l, dim * gffn, L->wdown, lf_random_layer_id(l, LF_RW_W_DOWN), s_down);
    }
#undef UP
#undef UPS
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
    for (int i = 0; i < GRAPH_CACHE; i++)
        if (b->graphs[i].exec) cudaGraphExecDestroy(b->graphs[i].exec);
    if (b->cublas) cublasDestroy(b->cublas);
    for (int m = 0; m <= LT_ROWS_MAX; m++)
        for (int w = 0; w < LIN_COUNT; w++) lf_cuda_lt_plan_destroy(b->lt_plan[m][w]);
    free(b->seq_seen);
    for (int i = 0; i < GRAPH_CACHE; i++) free_trace_seq(&b->trace_seq[i]);
    if (b->trace_ev[0]) cudaEventDestroy(b->trace_ev[0]);
    if (b->trace_ev[1]) cudaEventDestroy(b->trace_ev[1]);
    if (b->trace_state == 1 && lf_cupti_active()) lf_cupti_stop();
    for (int i = 0; i < LF_ONESHOT_MAX_TP; i++)
        if (b->os_opened[i]) cudaIpcCloseMemHandle(b->os_opened[i]);
    if (b->os_mem) cudaFree(b->os_mem);
    if (b->own_tp_comm) b->nccl->CommDestroy(b->own_tp_comm);
    if (b->nccl) lf_nccl_close(b->nccl); /* the job's communicator belongs to the launcher */
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

// prof: host timers (a stream synchronisation per op); b->trace_now: CUPTI, the launches tagged
#define OP(op, call) do {                                                                          \
        double t0_ = prof ? lf_now_ms() : 0.0;                                                        \
        if (b->trace_now) lf_cupti_tag_push(op);                                                   \
        lf_status op_s_ = (call);                                                                  \
        if (b->trace_now) lf_cupti_tag_pop();                                                      \
        if (op_s_ != LINFER_OK) return op_s_;                                                      \
        if (prof) { CUDA_CHECK(cudaStreamSynchronize(st)); b->base.op_ms[op] += lf_now_ms() - t0_; } \
    } while (0)

/* In-place fp32 sum over the tensor-parallel ranks, on the backend's stream: the one-shot
 * peer-memory kernel for small messages (a decode step's rows), NCCL otherwise. */
static lf_status allreduce_f32(cu_backend *b, float *x, size_t count) {
    if (b->os_on && count <= (size_t)b->os_rows * b->dim)
        return lf_cuda_oneshot_allreduce(x, (int)count, &b->os_peers, b->os_epoch, b->rank, b->tp, b->os_half, b->st);
    const ncclResult_t r = b->nccl->AllReduce(x, x, count, ncclFloat32, ncclSum, b->comm, b->st);
    if (r != ncclSuccess)
        return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce of %zu floats (rank %d of %d): %s", count, b->rank, b->tp,
                       b->nccl->GetErrorString(r));
    return LINFER_OK;
}

/* Whether a residual all-reduce of cnt rows and the norm after it go as one kernel (the push
 * all-reduce with the norm behind it: one kernel boundary fewer per all-reduce in decode steps) */
static int allreduce_norm_applies(const cu_backend *b, int cnt) {
    return b->tp > 1 && !b->invariant && b->os_on && b->os_peers.lln[b->rank] && lf_cuda_oneshot_ll() && lf_cuda_allreduce_norm_on() &&
           cnt <= b->os_rows && lf_cuda_allreduce_norm_supported(cnt, b->dim);
}

/* The residual's all-reduce over the ranks, then xn = its RMSNorm with weights w: one kernel where
 * allreduce_norm_applies, else the all-reduce and the norm kernel. */
static lf_status allreduce_then_norm(cu_backend *b, float *resid, int cnt, const void *w, void *xn, float eps) {
    const int prof = b->base.profile && !b->trace_now;
    cudaStream_t st = b->st;
    if (allreduce_norm_applies(b, cnt)) {
        OP(LF_OP_ALL_REDUCE, lf_cuda_oneshot_allreduce_norm(b->dt, resid, cnt, b->dim, &b->os_peers, b->arn_scratch, b->rank, b->tp,
                                                            b->os_half, w, eps, xn, b->st));
        return LINFER_OK;
    }
    OP(LF_OP_ALL_REDUCE, allreduce_f32(b, resid, (size_t)cnt * b->dim));
    OP(LF_OP_NORM, lf_cuda_rmsnorm(b->dt, xn, resid, w, NULL, cnt, b->dim, eps, b->st));
    return LINFER_OK;
}

/* TP-invariant mode: resid += the ranks' row-split partials (inv_part, cnt rows) added in the
 * pairwise tree of lf_cuda_sum_tree_add after an all-gather, the same order on every rank and the
 * one-GPU kernel's order over its LF_INV_CHUNKS pieces. */
static lf_status allreduce_tree(cu_backend *b, float *resid, int cnt) {
    const size_t count = (size_t)cnt * b->dim;
    const ncclResult_t r = b->nccl->AllGather(b->inv_part, b->inv_gat, count, ncclFloat32, b->comm, b->st);
    if (r != ncclSuccess)
        return lf_fail(LINFER_ERR_DEVICE, "NCCL all-gather of %zu partial sums (rank %d of %d): %s", count, b->rank, b->tp,
                       b->nccl->GetErrorString(r));
    return lf_cuda_sum_tree_add(resid, b->inv_gat, b->tp, count, b->st);
}

/* Where the metadata of a batch lies in d_meta (int32 offsets) and what the step needs. */
typedef struct {
    size_t o_tok, o_pos, o_seq, o_out, o_simple, o_samp, o_end; /* o_samp (even): lf_cuda_sampling, then u [n_out] doubles */
    int n_tiles, n_simple, max_simple_ctx;
    int n_micro;              /* pipeline parallelism: micro-batches of the step (0 or 1: none) */
    int fuse_rope;            /* RoPE inside the decode attention kernel (every token decode-kernel, one per sequence) */
    /* micro-batch k: tokens [mb_t0[k], mb_t0[k+1]), its tiles [mb_tile[k], mb_tile[k+1]), its
     * simple-attention tokens [mb_simple[k], ...+1) of the simple list, its output rows
     * [mb_out[k], mb_out[k+1]) (whole sequences: every index list is in token order) */
    int mb_t0[LF_PP_MAX_MICRO + 1], mb_tile[LF_PP_MAX_MICRO + 1], mb_simple[LF_PP_MAX_MICRO + 1], mb_out[LF_PP_MAX_MICRO + 1];
} step_meta;

/* Pipeline parallelism: send rows [t0, t0 + cnt) of the fp32 residual to the next stage, or
 * receive them from the previous one, on the backend's stream (NCCL point to point). */
static lf_status pp_send_recv(cu_backend *b, int send, int t0, int cnt) {
    float *x = b->resid + (size_t)t0 * b->dim;
    const size_t count = (size_t)cnt * b->dim;
    const int peer = (send ? b->stage + 1 : b->stage - 1) * b->tp + b->rank; /* the same TP rank of the next/previous stage */
    const ncclResult_t r = send ? b->nccl->Send(x, count, ncclFloat32, peer, b->wcomm, b->st)
                                : b->nccl->Recv(x, count, ncclFloat32, peer, b->wcomm, b->st);
    if (r != ncclSuccess)
        return lf_fail(LINFER_ERR_DEVICE, "pipeline parallelism: NCCL %s of %d rows (stage %d of %d): %s", send ? "send" : "receive", cnt,
                       b->stage, b->pp, b->nccl->GetErrorString(r));
    return LINFER_OK;
}

/* Pipeline parallelism: the last stage's result (token ids or fp32 logits) to every stage. */
static lf_status pp_broadcast(cu_backend *b, void *buf, size_t count, ncclDataType_t type) {
    const ncclResult_t r = b->nccl->Broadcast(buf, buf, count, type, (b->pp - 1) * b->tp, b->wcomm, b->st);
    if (r != ncclSuccess)
        return lf_fail(LINFER_ERR_DEVICE, "pipeline parallelism: NCCL broadcast of the last stage's output (stage %d of %d): %s", b->stage,
                       b->pp, b->nccl->GetErrorString(r));
    return LINFER_OK;
}

/* This stage's layers for tokens [t0, t0 + cnt) of the step (whole sequences). Attention works on
 * the step's buffers by token index: the tiles d_tiles[0 .. n_tiles) and the simple-kernel tokens
 * tok_idx[0 .. n_simple) (NULL: tokens 0 .. n_simple - 1) of these tokens. */
static lf_status enqueue_layers(cu_backend *b, const step_meta *sm, int t0, int cnt, const int32_t *d_pos, const int32_t *d_seq,
                                const int32_t *tok_idx, int n_simple, const lf_attn_tile *d_tiles, int n_tiles) {
    const lf_config *c = &b->base.model->cfg;
    const int prof = b->base.profile && !b->trace_now;
    cudaStream_t st = b->st;
    const lf_dtype dt = b->dt;
    const size_t es = b->es;
    const float eps = c->norm_eps, scale = 1.0f / sqrtf((float)b->hd);
    const int gm = b->gemv_max_m;
    const int bi = b->tune_on ? tune_bucket_of(cnt) : -1;
    // gate/up with the SwiGLU epilogue: the tuned choice when it is a fused one, else (untuned) the
    // skinny GEMM's where it applies; -1: gate/up then the activation kernel
    const int fused_gu = b->invariant ? -1
                         : bi >= 0 && b->tuned[bi] ? (impl_is_swiglu(b->impl[bi][LIN_GU]) ? b->impl[bi][LIN_GU] : -1)
                         : b->fuse_swiglu && cnt <= gm && lf_cuda_gemv_mma_supported(cnt, b->dim) ? IMPL_MMA_SWIGLU : -1;
    // TP-invariant mode over several GPUs: row-split layers write this rank's partial to inv_part,
    // summed into the residual by allreduce_tree
    const int inv_tp = b->invariant && b->tp > 1;
    float *split_part = b->invariant ? NULL : b->split;   /* attention over the context in one piece when invariant */
    const size_t split_bytes = b->invariant ? 0 : LF_ATTN_SPLIT_SCRATCH;
    float *resid = b->resid + (size_t)t0 * b->dim;
    char *xn = (char *)b->xn + (size_t)t0 * b->dim * es, *qkv = (char *)b->qkv + (size_t)t0 * b->qkv_dim * es;
    char *attn = (char *)b->attn + (size_t)t0 * b->q_dim * es, *gu = (char *)b->gu + (size_t)t0 * 2 * b->ffn * es;
    char *act = (char *)b->act + (size_t)t0 * b->ffn * es;
    const int32_t *pos_mb = d_pos + t0, *seq_mb = d_seq + t0;
    if (cnt == 1 && b->stream_on && !b->base.profile) { /* the whole step's layers as one kernel (decode_stream.cu) */
        lf_stream_args a = b->stream;
        a.pos = pos_mb;
        a.seq = seq_mb;
        a.resid = resid;
        return lf_cuda_decode_stream(dt, &a, st);
    }
    int normed = 0; /* xn already holds this layer's attention norm (done by the previous layer's all-reduce) */
    for (int l = 0; l < b->nl; l++) {
        const cu_layer *L = &b->layers[l];
        void *kc = b->k_cache + (size_t)l * b->layer_kv_bytes, *vc = b->v_cache + (size_t)l * b->layer_kv_bytes;
        if (!normed) OP(LF_OP_NORM, lf_cuda_rmsnorm(dt, xn, resid, L->attn_norm, NULL, cnt, b->dim, eps, st));
        OP(LF_OP_QKV, lin(b, LIN_QKV, xn, L->wqkv, qkv, 0, 0.0f, cnt, b->qkv_dim, b->dim));
        if (sm->fuse_rope) {
            OP(LF_OP_ATTENTION, lf_cuda_attention_rope(dt, b->attn, b->q_dim, b->qkv, b->qkv_dim, L->bqkv, b->inv_freq, c->rope_style,
                                                       kc, vc, b->max_ctx, d_pos, d_seq, tok_idx, n_simple, b->nh, b->nkv, b->hd,
                                                       scale, sm->max_simple_ctx, split_part, split_bytes, st));
        } else {
            OP(LF_OP_ROPE, lf_cuda_rope_qkv(dt, qkv, b->qkv_dim, L->bqkv, b->inv_freq, pos_mb, seq_mb, cnt, kc, vc, b->max_ctx,
                                            b->nh, b->nkv, b->hd, c->rope_style, st));
            OP(LF_OP_ATTENTION, lf_cuda_attention_tiles(dt, b->attn, b->q_dim, b->qkv, b->qkv_dim, kc, vc, b->max_ctx, d_tiles,
                                                        n_tiles, b->nh, b->nkv, b->hd, scale, b->mma_impl, st));
            OP(LF_OP_ATTENTION, lf_cuda_attention(dt, b->attn, b->q_dim, b->qkv, b->qkv_dim, kc, vc, b->max_ctx, d_pos, d_seq,
                                                  tok_idx, n_simple, b->nh, b->nkv, b->hd, scale, sm->max_simple_ctx, split_part,
                                                  split_bytes, st));
        }
        // with tensor parallelism each rank's o_proj (and down) gives a partial sum over its
        // heads (columns): rank 0 adds it to the residual, the others write theirs in its place,
        // and the all-reduce leaves residual + every partial on every rank (TP-invariant: every
        // rank's partial to inv_part, added to the residual in a fixed tree, then the bias)
        float *rs_out = inv_tp ? b->inv_part : resid;
        const float beta = !inv_tp && b->rank == 0 ? 1.0f : 0.0f;
        OP(LF_OP_O_PROJ, lin(b, LIN_O, attn, L->wo, rs_out, 1, beta, cnt, b->dim, b->q_dim));
        if (inv_tp) OP(LF_OP_ALL_REDUCE, allreduce_tree(b, resid, cnt));
        if (L->bo && (b->rank == 0 || inv_tp)) OP(LF_OP_O_PROJ, lf_cuda_add_bias(dt, resid, L->bo, cnt, b->dim, st));
        if (b->tp > 1 && !inv_tp) LF_TRY(allreduce_then_norm(b, resid, cnt, L->ffn_norm, xn, eps));
        else OP(LF_OP_NORM, lf_cuda_rmsnorm(dt, xn, resid, L->ffn_norm, NULL, cnt, b->dim, eps, st));
        if (fused_gu >= 0) {
            OP(LF_OP_GATE_UP, lin_impl(b, fused_gu, xn, L->wgu, act, 0, 0.0f, cnt, 2 * b->ffn, b->dim));
        } else {
            OP(LF_OP_GATE_UP, lin(b, LIN_GU, xn, L->wgu, gu, 0, 0.0f, cnt, 2 * b->ffn, b->dim));
            OP(LF_OP_ACTIVATION, lf_cuda_swiglu(dt, act, gu, cnt, b->ffn, st));
        }
        OP(LF_OP_DOWN, lin(b, LIN_DOWN, act, L->wdown, rs_out, 1, beta, cnt, b->dim, b->ffn));
        normed = 0;
        if (inv_tp) {
            OP(LF_OP_ALL_REDUCE, allreduce_tree(b, resid, cnt));
        } else if (b->tp > 1 && l + 1 < b->nl && allreduce_norm_applies(b, cnt)) {
            LF_TRY(allreduce_then_norm(b, resid, cnt, b->layers[l + 1].attn_norm, xn, eps));
            normed = 1;
        } else if (b->tp > 1) {
            OP(LF_OP_ALL_REDUCE, allreduce_f32(b, resid, (size_t)cnt * b->dim));
        }
    }
    return LINFER_OK;
}

/* The output rows [o0, o0 + cnt) (d_out: their token indices): final norm, lm_head, and the
 * token ids (argmax or sampled: head HEAD_ARGMAX, HEAD_SAMPLE) or the copy of the logits to the host. */
static lf_status enqueue_head(cu_backend *b, const step_meta *sm, const int32_t *d_out, int o0, int cnt, int head, float *logits_host,
                              int logit_row0) {
    const lf_config *c = &b->base.model->cfg;
    const int prof = b->base.profile && !b->trace_now;
    cudaStream_t st = b->st;
    float *lg = b->logits + (size_t)logit_row0 * b->vocab;
    OP(LF_OP_NORM, lf_cuda_rmsnorm(b->dt, b->xo, b->resid, b->out_norm, d_out + o0, cnt, b->dim, c->norm_eps, st));
    if (b->vsplit) {
        // each rank's slice of the vocabulary, gathered ([tp][cnt][vloc]) and laid out as rows
        const size_t per = (size_t)cnt * b->vloc;
        float *mine = b->gat + (size_t)b->rank * per;
        OP(LF_OP_LM_HEAD, lin(b, LIN_HEAD, b->xo, b->lm_head, mine, 1, 0.0f, cnt, b->vloc, b->dim));
        if (b->trace_now) lf_cupti_tag_push(LF_OP_ALL_REDUCE);
        const ncclResult_t r = b->nccl->AllGather(mine, b->gat, per, ncclFloat32, b->comm, st);
        if (b->trace_now) lf_cupti_tag_pop();
        if (r != ncclSuccess)
            return lf_fail(LINFER_ERR_DEVICE, "NCCL all-gather of the logits (rank %d of %d): %s", b->rank, b->tp, b->nccl->GetErrorString(r));
        for (int q = 0; q < b->tp; q++)
            CUDA_CHECK(cudaMemcpy2DAsync(lg + (size_t)q * b->vloc, sizeof(float) * (size_t)b->vocab, b->gat + (size_t)q * per,
                                         sizeof(float) * (size_t)b->vloc, sizeof(float) * (size_t)b->vloc, (size_t)cnt,
                                         cudaMemcpyDeviceToDevice, st));
    } else {
        OP(LF_OP_LM_HEAD, lin(b, LIN_HEAD, b->xo, b->lm_head, lg, 1, 0.0f, cnt, b->vocab, b->dim));
    }
    // replicated lm_head: every rank samples from rank 0's logits (the ranks may have chosen
    // different lm_head kernels, whose last bits differ): the others zero theirs and an all-reduce
    // copies them
    if (b->tp > 1 && !b->vsplit) {
        if (b->rank != 0) CUDA_CHECK(cudaMemsetAsync(lg, 0, sizeof(float) * (size_t)cnt * b->vocab, st));
        OP(LF_OP_ALL_REDUCE, allreduce_f32(b, lg, (size_t)cnt * b->vocab));
    }
    if (head == HEAD_SAMPLE) {
        const int32_t *samp = b->d_meta + sm->o_samp;
        OP(LF_OP_SAMPLING, lf_cuda_sample_rows(lg, cnt, b->vocab, (const lf_cuda_sampling *)samp, (const double *)(samp + 4) + o0,
                                               b->d_ids + o0, st));
    } else if (head) {
        OP(LF_OP_SAMPLING, lf_cuda_argmax_rows(lg, cnt, b->vocab, b->d_ids + o0, st));
    } else if (logits_host) {
        CUDA_CHECK(cudaMemcpyAsync(logits_host + (size_t)o0 * b->vocab, lg, sizeof(float) * (size_t)cnt * b->vocab, cudaMemcpyDeviceToHost, st));
    }
    return LINFER_OK;
}

/* Everything of one forward step after the metadata is packed in h_meta: the metadata upload,
 * the layers, the logits (to b->logits, chunk by chunk) or their argmax (to h_ids). Enqueued on
 * b->st without a host synchronisation, so that a decode step can be captured as a graph.
 * logits_host: copy each chunk's logits there (eager steps with several chunks), or NULL.
 * Pipeline parallelism: the first stage embeds, every stage runs its layers, the last one the
 * head; a step of sm->n_micro > 1 micro-batches (decode tokens only, one output row per token)
 * flows through the stages micro-batch by micro-batch (stage s runs micro-batch k + 1 while stage
 * s + 1 runs k); the last stage's ids or logits are then broadcast to every stage. */
static lf_status enqueue_step(cu_backend *b, const lf_batch *bt, const step_meta *sm, int head, float *logits_host) {
    const int n = bt->n;
    const int prof = b->base.profile && !b->trace_now;
    cudaStream_t st = b->st;
    CUDA_CHECK(cudaMemcpyAsync(b->d_meta, b->h_meta, sizeof(int32_t) * sm->o_end, cudaMemcpyHostToDevice, st));
    const int32_t *d_tok = b->d_meta + sm->o_tok, *d_pos = b->d_meta + sm->o_pos, *d_seq = b->d_meta + sm->o_seq;
    const int32_t *d_out = b->d_meta + sm->o_out, *d_simple = b->d_meta + sm->o_simple;
    const lf_attn_tile *d_tiles = (const lf_attn_tile *)b->d_meta;
    const int first = b->stage == 0, last = b->stage == b->pp - 1;
    if (first && b->vsplit) { /* each rank's rows of the table, summed over the ranks */
        OP(LF_OP_EMBEDDING, lf_cuda_embed_slice(b->dt, b->resid, b->tok_embd, d_tok, n, b->dim, b->rank * b->vloc, b->vloc, st));
        OP(LF_OP_ALL_REDUCE, allreduce_f32(b, b->resid, (size_t)n * b->dim));
    } else if (first) {
        OP(LF_OP_EMBEDDING, lf_cuda_embed(b->dt, b->resid, b->tok_embd, d_tok, n, b->dim, st));
    }
    const int M = sm->n_micro > 1 ? sm->n_micro : 1;
    if (M > 1) { /* micro-batches of whole sequences; every output row in b->logits (n_out <= logit_rows) */
        const int n_out = bt->n_out;
        for (int k = 0; k < M; k++) {
            const int t0 = sm->mb_t0[k], cnt = sm->mb_t0[k + 1] - t0;
            const int o0 = sm->mb_out[k], ocnt = sm->mb_out[k + 1] - o0;
            if (cnt <= 0) continue;
            if (!first) OP(LF_OP_ALL_REDUCE, pp_send_recv(b, 0, t0, cnt));
            LF_TRY(enqueue_layers(b, sm, t0, cnt, d_pos, d_seq, d_simple + sm->mb_simple[k], sm->mb_simple[k + 1] - sm->mb_simple[k],
                                  d_tiles + sm->mb_tile[k], sm->mb_tile[k + 1] - sm->mb_tile[k]));
            if (!last) OP(LF_OP_ALL_REDUCE, pp_send_recv(b, 1, t0, cnt));
            else if (ocnt > 0) LF_TRY(enqueue_head(b, sm, d_out, o0, ocnt, head, NULL, o0));
        }
        if (head && n_out > 0) OP(LF_OP_ALL_REDUCE, pp_broadcast(b, b->d_ids, (size_t)n_out, ncclInt32));
        else if (n_out > 0) {
            OP(LF_OP_ALL_REDUCE, pp_broadcast(b, b->logits, (size_t)n_out * b->vocab, ncclFloat32));
            if (logits_host)
                CUDA_CHECK(cudaMemcpyAsync(logits_host, b->logits, sizeof(float) * (size_t)n_out * b->vocab, cudaMemcpyDeviceToHost, st));
        }
    } else {
        if (!first) OP(LF_OP_ALL_REDUCE, pp_send_recv(b, 0, 0, n));
        LF_TRY(enqueue_layers(b, sm, 0, n, d_pos, d_seq, sm->n_simple == n ? NULL : d_simple, sm->n_simple, d_tiles, sm->n_tiles));
        if (!last) OP(LF_OP_ALL_REDUCE, pp_send_recv(b, 1, 0, n));
        for (int o0 = 0; o0 < bt->n_out; o0 += b->logit_rows) {
            const int cnt = bt->n_out - o0 < b->logit_rows ? bt->n_out - o0 : b->logit_rows;
            if (last) LF_TRY(enqueue_head(b, sm, d_out, o0, cnt, head, b->pp > 1 ? NULL : logits_host, 0));
            if (b->pp > 1 && !head) {
                OP(LF_OP_ALL_REDUCE, pp_broadcast(b, b->logits, (size_t)cnt * b->vocab, ncclFloat32));
                if (logits_host)
                    CUDA_CHECK(cudaMemcpyAsync(logits_host + (size_t)o0 * b->vocab, b->logits, sizeof(float) * (size_t)cnt * b->vocab,
                                               cudaMemcpyDeviceToHost, st));
            }
        }
        if (b->pp > 1 && head && bt->n_out > 0) OP(LF_OP_ALL_REDUCE, pp_broadcast(b, b->d_ids, (size_t)bt->n_out, ncclInt32));
    }
    if (head && bt->n_out > 0)
        CUDA_CHECK(cudaMemcpyAsync(b->h_ids, b->d_ids, sizeof(int32_t) * (size_t)bt->n_out, cudaMemcpyDeviceToHost, st));
    return LINFER_OK;
}

/* The graph of this decode-step key, captured on first use (least recently used slot reused).
 * NULL with graphs turned off when capture is not possible here (the step then runs eagerly). */
static int graph_chunks(const step_meta *sm) { return (sm->max_simple_ctx + LF_ATTN_CHUNK - 1) / LF_ATTN_CHUNK; }

/* The step of bt recorded into *graph by stream capture (not instantiated), its context bound in
 * whole chunks (the attention's split depends on the chunk count only, so a graph serves every
 * context of its key). A failing enqueue is returned; a failing capture sets *ce. Either way
 * *graph is then NULL. */
static lf_status record_step(cu_backend *b, const lf_batch *bt, const step_meta *sm, int head, cudaGraph_t *graph, cudaError_t *ce) {
    step_meta cap = *sm;
    cap.max_simple_ctx = graph_chunks(sm) * LF_ATTN_CHUNK;
    *graph = NULL;
    *ce = cudaStreamBeginCapture(b->st, cudaStreamCaptureModeThreadLocal);
    if (*ce != cudaSuccess) return LINFER_OK;
    const lf_status s = enqueue_step(b, bt, &cap, head, NULL);
    *ce = cudaStreamEndCapture(b->st, graph);
    if (s != LINFER_OK || *ce != cudaSuccess) {
        if (*graph) cudaGraphDestroy(*graph);
        *graph = NULL;
        cudaGetLastError();
    }
    return s;
}

static cu_graph *step_graph(cu_backend *b, const lf_batch *bt, const step_meta *sm, int head, int traced, lf_status *err) {
    *err = LINFER_OK;
    const int chunks = graph_chunks(sm);
    cu_graph *slot = &b->graphs[0];
    for (int i = 0; i < GRAPH_CACHE; i++) {
        cu_graph *g = &b->graphs[i];
        if (g->n == bt->n && g->chunks == chunks && g->head == head && g->traced == traced) {
            g->last_use = ++b->graph_clock;
            return g;
        }
        if (g->last_use < slot->last_use) slot = g;
    }
    if (slot->exec) { cudaGraphExecDestroy(slot->exec); memset(slot, 0, sizeof *slot); }
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaSuccess;
    *err = record_step(b, bt, sm, head, &graph, &e);
    if (*err != LINFER_OK) return NULL;
    if (e != cudaSuccess) goto no_graph;
    {   /* its kernel nodes: what a traced replay must show */
        size_t nn = 0;
        int nk = -1;
        if (cudaGraphGetNodes(graph, NULL, &nn) == cudaSuccess) {
            cudaGraphNode_t *nodes = (cudaGraphNode_t *)malloc((nn ? nn : 1) * sizeof *nodes);
            if (nodes && cudaGraphGetNodes(graph, nodes, &nn) == cudaSuccess) {
                nk = 0;
                for (size_t i = 0; i < nn; i++) {
                    cudaGraphNodeType ty;
                    if (cudaGraphNodeGetType(nodes[i], &ty) == cudaSuccess && ty == cudaGraphNodeTypeKernel) nk++;
                }
            }
            free(nodes);
        }
        slot->n_kernel_nodes = nk;
    }
    e = cudaGraphInstantiate(&slot->exec, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess) { slot->exec = NULL; goto no_graph; }
    slot->n = bt->n; slot->chunks = chunks; slot->head = head; slot->traced = traced; slot->last_use = ++b->graph_clock;
    return slot;
no_graph:
    cudaGetLastError();
    fprintf(stderr, "linfer: CUDA graph capture failed (%s); decode steps run without graphs\n", cudaGetErrorString(e));
    b->graphs_on = 0;
    return NULL;
}

/* Milliseconds of `launches` back-to-back replays of gx on the backend's stream, between e0 and
 * e1 (the step check and the all-reduce timing). */
static cudaError_t replay_ms(cu_backend *b, cudaGraphExec_t gx, int launches, cudaEvent_t e0, cudaEvent_t e1, float *ms) {
    cudaError_t e = cudaEventRecord(e0, b->st);
    for (int k = 0; k < launches && e == cudaSuccess; k++) e = cudaGraphLaunch(gx, b->st);
    if (e == cudaSuccess) e = cudaEventRecord(e1, b->st);
    if (e == cudaSuccess) e = cudaEventSynchronize(e1);
    if (e == cudaSuccess) e = cudaEventElapsedTime(ms, e0, e1);
    return e;
}

/* The step of bt captured as a graph (as step_graph does, outside the cache). *out stays NULL
 * where the capture itself fails (as step_graph, that is not an error: the caller goes without). */
static lf_status capture_step(cu_backend *b, const lf_batch *bt, const step_meta *sm, int head, cudaGraphExec_t *out) {
    cudaGraph_t g = NULL;
    cudaError_t e = cudaSuccess;
    *out = NULL;
    const lf_status s = record_step(b, bt, sm, head, &g, &e);
    if (g && cudaGraphInstantiate(out, g, 0) != cudaSuccess) *out = NULL;
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    return s;
}

/* The per-layer timing (tune_bucket) runs each kernel alone. In a step, a cuBLAS kernel also cuts
 * the PDL chain (docs/cuda.md): its successor cannot start early and issue its loads before its
 * wait, which costs more than the per-layer difference (gpu_session16b: down on cuBLAS +0.1 ms per
 * llama-2-7b step against the FFMA GEMV the timing had put 1.3 us behind it). So where the timing
 * chose cuBLAS, the whole step (this batch, as a replayed graph) is timed both ways — as chosen,
 * and with those layers on their fastest own kernel — over interleaved rounds, and the faster
 * (median) kept. Replays rewrite the same cache rows with the same step's values, and the real
 * step runs after. Under tensor parallelism every rank times both (their all-reduces must pair)
 * even where its two choices are the same (a rank whose capture failed would leave its peers
 * waiting until the one-shot timeout; the step's own capture would fail there too). Not with
 * pipeline stages (their sends must pair across stages). LF_CUDA_TUNE_STEP=0 keeps the
 * per-layer choice. */
#define TUNE_STEP_ROUNDS 5
#define TUNE_STEP_REPS 4
static lf_status tune_step(cu_backend *b, const lf_batch *bt, const step_meta *sm, int head, int bi) {
    if (!b->tune_step_on || getenv("LF_CUDA_IMPL")) return LINFER_OK;
    signed char cfg[2][LIN_COUNT];
    int differs = 0;
    for (int w = 0; w < LIN_COUNT; w++) {
        cfg[0][w] = cfg[1][w] = b->impl[bi][w];
        if (b->impl[bi][w] != IMPL_CUBLAS) continue;
        int own = -1;
        for (int impl = 0; impl < IMPL_COUNT; impl++) {
            const float us = b->impl_us[bi][w][impl];
            if (impl != IMPL_CUBLAS && us > 0.f && (own < 0 || us < b->impl_us[bi][w][own])) own = impl;
        }
        if (own >= 0) { cfg[1][w] = (signed char)own; differs = 1; }
    }
    if (!differs && b->tp == 1) return LINFER_OK;
    cudaGraphExec_t gx[2] = {NULL, NULL};
    cudaEvent_t ev[2] = {NULL, NULL};
    double ms[2][TUNE_STEP_ROUNDS];
    lf_status s = LINFER_OK;
    for (int c = 0; c < 2 && s == LINFER_OK; c++) {
        memcpy(b->impl[bi], cfg[c], sizeof cfg[c]);
        s = capture_step(b, bt, sm, head, &gx[c]);
    }
    if (s == LINFER_OK && (!gx[0] || !gx[1])) { /* no graph here: keep the per-layer choice (the step will say) */
        for (int c = 0; c < 2; c++) if (gx[c]) cudaGraphExecDestroy(gx[c]);
        memcpy(b->impl[bi], cfg[0], sizeof cfg[0]);
        return LINFER_OK;
    }
    for (int i = 0; i < 2 && s == LINFER_OK; i++)
        if (cudaEventCreate(&ev[i]) != cudaSuccess) s = lf_fail(LINFER_ERR_DEVICE, "tuning the decode step: cudaEventCreate failed");
    for (int r = -1; r < TUNE_STEP_ROUNDS && s == LINFER_OK; r++) /* round -1 warms up */
        for (int c = 0; c < 2 && s == LINFER_OK; c++) {
            float t = 0.f;
            const cudaError_t e = replay_ms(b, gx[c], TUNE_STEP_REPS, ev[0], ev[1], &t);
            if (e != cudaSuccess) s = lf_fail(LINFER_ERR_DEVICE, "tuning the decode step: %s", cudaGetErrorString(e));
            else if (r >= 0) ms[c][r] = t / TUNE_STEP_REPS;
        }
    for (int c = 0; c < 2; c++) if (gx[c]) cudaGraphExecDestroy(gx[c]);
    for (int i = 0; i < 2; i++) if (ev[i]) cudaEventDestroy(ev[i]);
    if (s != LINFER_OK) { memcpy(b->impl[bi], cfg[0], sizeof cfg[0]); return s; }
    const double med0 = lf_stat_median(ms[0], TUNE_STEP_ROUNDS), med1 = lf_stat_median(ms[1], TUNE_STEP_ROUNDS);
    const int keep = med1 < med0 ? 1 : 0;
    memcpy(b->impl[bi], cfg[keep], sizeof cfg[keep]);
    if (getenv("LF_CUDA_TUNE_VERBOSE"))
        fprintf(stderr, "linfer: decode step at %d row%s: %.3f ms as timed per layer, %.3f ms on own kernels -> %s\n", tune_rows[bi],
                tune_rows[bi] == 1 ? "" : "s", med0, med1, keep ? "own kernels" : "as timed per layer");
    return LINFER_OK;
}

// ---------------------------------------------------------------------------------------------
// profiling with CUPTI

/* the two CUDA events recorded around a step (profiling, step events), made on first use */
static lf_status ensure_step_events(cu_backend *b) {
    if (!b->trace_ev[0]) CUDA_CHECK(cudaEventCreate(&b->trace_ev[0]));
    if (!b->trace_ev[1]) CUDA_CHECK(cudaEventCreate(&b->trace_ev[1]));
    return LINFER_OK;
}

/* Start or stop tracing to follow base.profile (set while the engine's step hook is on). The first
 * time, CUPTI is loaded; if that fails, profiling falls back to host timers with a stream
 * synchronisation per op (and says so once). */
static lf_status trace_begin(cu_backend *b) {
    b->trace_now = 0;
    if (!b->base.profile) {
        if (b->trace_state == 1 && lf_cupti_active()) lf_cupti_stop();
        if (b->trace_state == 1) b->trace_state = 0;
        return LINFER_OK;
    }
    if (b->trace_state == -1) return LINFER_OK;
    if (!lf_cupti_active()) {
        if (getenv("LF_CUPTI") && !strcmp(getenv("LF_CUPTI"), "0")) {
            b->trace_state = -1;
            b->base.timing_source = "host clock, a stream synchronisation after every op (LF_CUPTI=0)";
            return LINFER_OK;
        }
        lf_status s = lf_cupti_start();
        if (s != LINFER_OK) {
            fprintf(stderr, "linfer: profile: %s; timing ops with host clocks instead\n", linfer_last_error());
            b->trace_state = -1;
            b->base.timing_source = "host clock, a stream synchronisation after every op (CUPTI unavailable)";
            return LINFER_OK;
        }
        LF_TRY(ensure_step_events(b));
        /* nothing launched before this point belongs to a step */
        lf_trace_item *old = NULL;
        size_t n_old = 0;
        CUDA_CHECK(cudaStreamSynchronize(b->st));
        LF_TRY(lf_cupti_take(&old, &n_old, NULL));
        free(old);
    }
    b->trace_state = 1;
    b->trace_now = 1;
    b->base.timing_source = "CUPTI activity records (GPU start/end of every kernel, also inside CUDA graphs)";
    b->base.counts_calls = 1;
    return LINFER_OK;
}

static cu_trace_seq *find_trace_seq(cu_backend *b, int n, int chunks, int head) {
    for (int i = 0; i < GRAPH_CACHE; i++) {
        cu_trace_seq *q = &b->trace_seq[i];
        if (q->n == n && q->chunks == chunks && q->head == head) return q;
    }
    return NULL;
}

static void free_trace_seq(cu_trace_seq *q) {
    free(q->tags);
    free((void *)q->names);
    memset(q, 0, sizeof *q);
}

/* The records of the step just synchronised: each one's op category (tag; from its position for
 * graph kernels), its exclusive time on the step's timeline (records sorted by start; a record
 * overlapping the previous one, as programmatic dependent launch makes them, counts only past the
 * previous end) added to base.op_ms, kernel counts to base.op_calls. gr: the graph replayed (else
 * eager). learn_n > 0: store this eager step's kernel sequence for the graph of key
 * (learn_n, chunks, head). */
static lf_status trace_step(cu_backend *b, const cu_graph *gr, int learn_n, int chunks, int head) {
    lf_trace_item *it = NULL;
    size_t ni = 0;
    uint64_t dropped = 0;
    LF_TRY(lf_cupti_take(&it, &ni, &dropped));
    lf_cuda_trace_info *ti = &b->last_trace;
    memset(ti, 0, sizeof *ti);
    ti->traced = 1;
    ti->from_graph = gr != NULL;
    ti->n_items = (int)ni;
    ti->n_expected = gr ? gr->n_kernel_nodes : -1;
    ti->dropped = dropped;
    float ev = 0;
    if (cudaEventElapsedTime(&ev, b->trace_ev[0], b->trace_ev[1]) == cudaSuccess) ti->event_ms = ev;
    const cu_trace_seq *seq = gr ? find_trace_seq(b, gr->n, gr->chunks, gr->head) : NULL;
    int nk_graph = 0;
    for (size_t i = 0; i < ni; i++) nk_graph += it[i].kind == LF_TRACE_KERNEL && it[i].graph_id != 0;
    const int positional = seq && nk_graph == seq->count;
    uint64_t cur_end = 0, t_first = ni ? it[0].start_ns : 0, t_last = 0;
    int kpos = 0;
    for (size_t i = 0; i < ni; i++) {
        lf_trace_item *r = &it[i];
        int tag = r->tag;
        if (r->kind == LF_TRACE_KERNEL) {
            ti->n_kernels++;
            if (r->graph_id != 0) {
                tag = -1;
                if (positional) {
                    tag = seq->tags[kpos];
                    if (strcmp(seq->names[kpos], r->name) != 0) ti->n_name_mismatch++;
                } else if (seq) { /* counts differ: by name, where the name has one category in the sequence */
                    for (int j = 0; j < seq->count; j++)
                        if (!strcmp(seq->names[j], r->name)) {
                            if (tag == -1) tag = seq->tags[j];
                            else if (tag != seq->tags[j]) { tag = -1; break; }
                        }
                }
                kpos++;
            }
            r->tag = tag;
            if (tag < 0 || tag >= LF_OP_COUNT) ti->n_untagged++;
        }
        const uint64_t s0 = r->start_ns > cur_end ? r->start_ns : cur_end;
        const double excl = r->end_ns > s0 ? (double)(r->end_ns - s0) * 1e-6 : 0.0;
        if (i > 0 && r->start_ns > cur_end) ti->idle_ms += (double)(r->start_ns - cur_end) * 1e-6;
        if (r->end_ns > cur_end) cur_end = r->end_ns;
        if (r->end_ns > t_last) t_last = r->end_ns;
        ti->busy_ms += excl;
        if (tag >= 0 && tag < LF_OP_COUNT) {
            b->base.op_ms[tag] += excl;
            ti->tagged_ms += excl;
            if (r->kind == LF_TRACE_KERNEL) b->base.op_calls[tag] += 1;
        }
    }
    ti->span_ms = ni ? (double)(t_last - t_first) * 1e-6 : 0.0;
    lf_status s = LINFER_OK;
    if (learn_n > 0) {
        cu_trace_seq *q = find_trace_seq(b, learn_n, chunks, head);
        if (!q) {
            for (int i = 0; i < GRAPH_CACHE && !q; i++) if (b->trace_seq[i].n == 0) q = &b->trace_seq[i];
            if (!q) q = &b->trace_seq[0];
        }
        free_trace_seq(q);
        q->tags = (signed char *)malloc((size_t)(ti->n_kernels ? ti->n_kernels : 1));
        q->names = (const char **)malloc(sizeof(char *) * (size_t)(ti->n_kernels ? ti->n_kernels : 1));
        if (!q->tags || !q->names) {
            free_trace_seq(q);
            s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "profile: out of host memory for a kernel sequence");
        } else {
            int k = 0;
            for (size_t i = 0; i < ni; i++)
                if (it[i].kind == LF_TRACE_KERNEL) {
                    q->tags[k] = (signed char)it[i].tag;
                    q->names[k] = it[i].name;
                    k++;
                }
            q->count = k;
            q->n = learn_n; q->chunks = chunks; q->head = head;
            ti->learned = 1;
        }
    }
    free(it);
    return s;
}

extern "C" lf_status lf_cuda_set_step_events(lf_backend *bb, int on) {
    if (!bb || !bb->ops || strcmp(bb->ops->name, "cuda") != 0) return lf_fail(LINFER_ERR_INVALID_ARG, "not a CUDA backend");
    cu_backend *b = (cu_backend *)bb;
    if (on) LF_TRY(ensure_step_events(b));
    b->step_events = on != 0;
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_last_trace(const lf_backend *bb, lf_cuda_trace_info *out) {
    if (!bb || !bb->ops || strcmp(bb->ops->name, "cuda") != 0) return lf_fail(LINFER_ERR_INVALID_ARG, "not a CUDA backend");
    *out = ((const cu_backend *)bb)->last_trace;
    return LINFER_OK;
}

/* Time of one all-reduce of `count` fp32 elements as a decode step runs it: `iters` calls captured
 * in one CUDA graph on the backend's stream, replayed reps times after two warm-up replays;
 * *per_call_s = the median replay / iters. path 0: the engine's choice (one-shot below its size,
 * else NCCL), 1: NCCL only, 2: the residual's all-reduce and the norm after it as the engine runs
 * them (count = rows x dim), 3: the same with NCCL and the norm kernel. Collective: every rank
 * calls it with the same arguments. */
extern "C" lf_status lf_cuda_time_allreduce(lf_backend *bb, int count, int iters, int reps, int path, double *per_call_s) {
    if (!bb || !bb->ops || strcmp(bb->ops->name, "cuda") != 0) return lf_fail(LINFER_ERR_INVALID_ARG, "not a CUDA backend");
    cu_backend *b = (cu_backend *)bb;
    if (b->tp < 2) return lf_fail(LINFER_ERR_INVALID_ARG, "all-reduce timing needs tensor parallelism (tp %d)", b->tp);
    if (count <= 0 || iters <= 0 || reps <= 0 || reps > 64) return lf_fail(LINFER_ERR_INVALID_ARG, "all-reduce timing: count %d, iters %d, reps %d", count, iters, reps);
    CUDA_CHECK(cudaSetDevice(b->dev));
    if (path >= 2 && count % b->dim) return lf_fail(LINFER_ERR_INVALID_ARG, "all-reduce with norm timing: %d not rows of %d", count, b->dim);
    float *x = NULL;
    void *w = NULL, *xn = NULL;   /* path 2: norm weights (zero) and output */
    CUDA_CHECK(cudaMalloc((void **)&x, sizeof(float) * (size_t)count));
    if (path >= 2) {
        const cudaError_t me = cudaMalloc(&w, b->es * (size_t)b->dim + b->es * (size_t)count);
        if (me != cudaSuccess) {
            cudaFree(x);
            return lf_fail(LINFER_ERR_DEVICE, "all-reduce timing: %s", cudaGetErrorString(me));
        }
        xn = (char *)w + b->es * (size_t)b->dim;
    }
    cudaGraph_t g = NULL;
    cudaGraphExec_t gx = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    const int saved_os = b->os_on;
    lf_status s = LINFER_OK;
    cudaError_t ce = cudaMemsetAsync(x, 0, sizeof(float) * (size_t)count, b->st);
    if (ce == cudaSuccess && w) ce = cudaMemsetAsync(w, 0, b->es * (size_t)b->dim, b->st);
    if (path == 1 || path == 3) b->os_on = 0;
    if (ce == cudaSuccess) ce = cudaStreamBeginCapture(b->st, cudaStreamCaptureModeThreadLocal);
    if (ce == cudaSuccess) {
        for (int i = 0; i < iters && !s; i++)
            s = path >= 2 ? allreduce_then_norm(b, x, count / b->dim, w, xn, 1e-5f) : allreduce_f32(b, x, (size_t)count);
        const cudaError_t ee = cudaStreamEndCapture(b->st, &g);
        if (!s && ee != cudaSuccess) ce = ee;
    }
    b->os_on = saved_os;
    if (!s && ce == cudaSuccess) ce = cudaGraphInstantiate(&gx, g, 0);
    if (!s && ce == cudaSuccess) ce = cudaEventCreate(&e0);
    if (!s && ce == cudaSuccess) ce = cudaEventCreate(&e1);
    double t[64];
    for (int r = -2; r < reps && !s && ce == cudaSuccess; r++) {
        float ms = 0;
        ce = replay_ms(b, gx, 1, e0, e1, &ms);
        if (r >= 0) t[r] = ms * 1e-3 / iters;
    }
    if (!s && ce != cudaSuccess) s = lf_fail(LINFER_ERR_DEVICE, "all-reduce timing (rank %d): %s", b->rank, cudaGetErrorString(ce));
    if (!s) *per_call_s = lf_stat_median(t, reps);
    if (gx) cudaGraphExecDestroy(gx);
    if (g) cudaGraphDestroy(g);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    cudaFree(x);
    if (w) cudaFree(w);
    cudaGetLastError();
    return s;
}

extern "C" lf_status lf_cuda_check_allreduce_norm(lf_backend *bb, int rows, double *x_max_diff, double *xn_max_diff) {
    if (!bb || !bb->ops || strcmp(bb->ops->name, "cuda") != 0) return lf_fail(LINFER_ERR_INVALID_ARG, "not a CUDA backend");
    cu_backend *b = (cu_backend *)bb;
    if (b->tp < 2) return lf_fail(LINFER_ERR_INVALID_ARG, "all-reduce with norm check needs tensor parallelism (tp %d)", b->tp);
    if (!allreduce_norm_applies(b, rows))
        return lf_fail(LINFER_ERR_UNSUPPORTED, "all-reduce with norm: not available for %d rows of %d (rank %d)", rows, b->dim, b->rank);
    CUDA_CHECK(cudaSetDevice(b->dev));
    const size_t n = (size_t)rows * b->dim, es = b->es;
    float *h = (float *)malloc(sizeof(float) * 2 * n);
    uint16_t *hn = (uint16_t *)malloc(2 * 2 * n);
    char *d = NULL;
    const size_t bytes = sizeof(float) * 2 * n + es * (2 * n + b->dim);
    if (!h || !hn || cudaMalloc((void **)&d, bytes) != cudaSuccess) {
        cudaGetLastError();
        free(h);
        free(hn);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "all-reduce with norm check: %zu bytes", bytes);
    }
    float *xa = (float *)d, *xb = xa + n;
    char *w = (char *)(xb + n), *xna = w + es * b->dim, *xnb = xna + es * n;
    /* uniform [-1, 1): each rank's own rows, the same norm weights on every rank */
    for (size_t i = 0; i < n; i++) h[i] = lf_random_weight(1000 + (uint64_t)b->rank, 0, i, 1.0f);
    lf_status s = LINFER_OK;
    cudaError_t ce = cudaMemcpy(xa, h, sizeof(float) * n, cudaMemcpyHostToDevice);
    if (ce == cudaSuccess) ce = cudaMemcpy(xb, h, sizeof(float) * n, cudaMemcpyHostToDevice);
    if (ce == cudaSuccess) s = lf_cuda_fill_random(b->dt, w, (size_t)b->dim, 7, 0, 1.0f, b->dt, b->st);
    if (ce == cudaSuccess && !s) { /* the two ways, in the order every rank makes them */
        const float eps = 1e-5f;
        s = allreduce_f32(b, xa, n);
        if (!s) s = lf_cuda_rmsnorm(b->dt, xna, xa, w, NULL, rows, b->dim, eps, b->st);
        if (!s) s = lf_cuda_oneshot_allreduce_norm(b->dt, xb, rows, b->dim, &b->os_peers, b->arn_scratch, b->rank, b->tp, b->os_half, w, eps,
                                                   xnb, b->st);
    }
    if (ce == cudaSuccess && !s) ce = cudaStreamSynchronize(b->st);
    if (ce == cudaSuccess && !s) ce = cudaMemcpy(h, xa, sizeof(float) * 2 * n, cudaMemcpyDeviceToHost);
    if (ce == cudaSuccess && !s) ce = cudaMemcpy(hn, xna, 2 * 2 * n, cudaMemcpyDeviceToHost);
    if (ce != cudaSuccess && !s) s = lf_fail(LINFER_ERR_DEVICE, "all-reduce with norm check (rank %d): %s", b->rank, cudaGetErrorString(ce));
    if (!s) {
        double dx = 0, dn = 0;
        for (size_t i = 0; i < n; i++) {
            dx = fmax(dx, fabs((double)h[i] - (double)h[n + i]));
            const float a = b->dt == LF_DT_BF16 ? lf_bf16_to_f32(hn[i]) : lf_f16_to_f32(hn[i]);
            const float c = b->dt == LF_DT_BF16 ? lf_bf16_to_f32(hn[n + i]) : lf_f16_to_f32(hn[n + i]);
            const double big = fmax(fabs((double)a), fabs((double)c));   /* in units of T's spacing at the larger */
            const double ulp = big > 0 ? ldexp(1.0, ilogb(big) - (b->dt == LF_DT_BF16 ? 7 : 10)) : 1.0;
            dn = fmax(dn, fabs((double)a - (double)c) / ulp);
        }
        *x_max_diff = dx;
        *xn_max_diff = dn;
    }
    cudaFree(d);
    free(h);
    free(hn);
    cudaGetLastError();
    return s;
}

/* Pipeline parallelism: cut the step into micro-batches of whole sequences, about n / M tokens
 * each (M: pp_micro, or pp for steps of >= LF_PP_AUTO_MIN_TOKENS tokens when pp_micro is 0 —
 * smaller, memory-bound steps would read every stage's weights M times for nothing). Leaves
 * n_micro 1 when the output rows are not in token order. */
static lf_status plan_micro(cu_backend *b, const lf_batch *bt, step_meta *sm, const lf_attn_tile *tiles, const int32_t *simple) {
    const int n = bt->n;
    int want = b->pp_micro > 0 ? b->pp_micro : (n >= LF_PP_AUTO_MIN_TOKENS ? b->pp : 1);
    if (want > LF_PP_MAX_MICRO) want = LF_PP_MAX_MICRO;
    if (want > n) want = n;
    if (want <= 1) return LINFER_OK;
    for (int i = 1; i < bt->n_out; i++)
        if (bt->out_rows[i] <= bt->out_rows[i - 1]) return LINFER_OK;
    int k = 0, t = 0, ti = 0, si = 0, oi = 0;
    sm->mb_t0[0] = 0; sm->mb_tile[0] = 0; sm->mb_simple[0] = 0; sm->mb_out[0] = 0;
    while (t < n && k < want) {
        int end = (int)((long)n * (k + 1) / want);
        if (end <= t) end = t + 1;
        while (end < n && bt->seq[end] == bt->seq[end - 1]) end++;   /* whole sequences */
        if (k == want - 1) end = n;
        while (ti < sm->n_tiles && tiles[ti].tok_start < end) ti++;
        while (si < sm->n_simple && simple[si] < end) si++;
        while (oi < bt->n_out && bt->out_rows[oi] < end) oi++;
        k++;
        sm->mb_t0[k] = end; sm->mb_tile[k] = ti; sm->mb_simple[k] = si; sm->mb_out[k] = oi;
        t = end;
    }
    sm->n_micro = k;
    return LINFER_OK;
}

/* logits != NULL: fp32 logits of the out rows to the host; ids != NULL: a token id per out row,
 * the argmax (cfg NULL or temperature <= 0) or the draw of u[j] for row j (cfg, sampling.cu) */
static lf_status cu_forward_impl(lf_backend *bb, const lf_batch *bt, float *logits, int32_t *ids, const lf_sampler_cfg *cfg,
                                 const double *u) {
    cu_backend *b = (cu_backend *)bb;
    const int n = bt->n, T = b->max_tokens;
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
    int out_identity = bt->n_out == n;
    for (int j = 0; j < bt->n_out; j++) {
        if (bt->out_rows[j] < 0 || bt->out_rows[j] >= n)
            return lf_fail(LINFER_ERR_INVALID_ARG, "logit row %d out of range (batch of %d)", bt->out_rows[j], n);
        if (bt->out_rows[j] != j) out_identity = 0;
    }

    // metadata, packed: tiles [n_tiles] (16-byte aligned at 0), tokens, pos, seq [n], out_rows
    // [n_out], simple-attention token list [n_simple]
    int32_t *h = b->h_meta, *simple = b->h_simple;
    lf_attn_tile *tiles = (lf_attn_tile *)h;
    step_meta sm;
    memset(&sm, 0, sizeof sm);
    const int tile_rows = lf_cuda_attention_tile_rows(b->mma_impl);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && j - i < tile_rows && bt->seq[j] == bt->seq[i] && bt->pos[j] == bt->pos[j - 1] + 1) j++;
        if (b->mma_impl && j - i >= MMA_MIN_ROWS) {
            lf_attn_tile tl = {i, j - i, bt->seq[i], bt->pos[i]};
            tiles[sm.n_tiles++] = tl;
        } else {
            for (int k = i; k < j; k++) {
                simple[sm.n_simple++] = k;
                if (bt->pos[k] + 1 > sm.max_simple_ctx) sm.max_simple_ctx = bt->pos[k] + 1;
            }
        }
        i = j;
    }
    if (b->fuse_rope_on && sm.n_tiles == 0 && sm.n_simple == n) { /* RoPE fused: only with one token per sequence */
        int distinct = 1;
        for (int i = 0; i < n && distinct; i++) distinct = !b->seq_seen[bt->seq[i]]++;
        for (int i = 0; i < n; i++) b->seq_seen[bt->seq[i]] = 0;
        sm.fuse_rope = distinct;
    }
    sm.o_tok = 4 * (size_t)sm.n_tiles; sm.o_pos = sm.o_tok + n; sm.o_seq = sm.o_pos + n; sm.o_out = sm.o_seq + n;
    sm.o_simple = sm.o_out + (size_t)bt->n_out;
    sm.o_samp = (sm.o_simple + (size_t)sm.n_simple + 1) & ~(size_t)1;
    const int head = !ids ? HEAD_LOGITS : cfg && cfg->temperature > 0.0f ? HEAD_SAMPLE : HEAD_ARGMAX;
    sm.o_end = head == HEAD_SAMPLE ? sm.o_samp + 4 + 2 * (size_t)bt->n_out : sm.o_simple + (size_t)sm.n_simple;
    memcpy(h + sm.o_tok, bt->tokens, sizeof(int32_t) * n);
    memcpy(h + sm.o_pos, bt->pos, sizeof(int32_t) * n);
    memcpy(h + sm.o_seq, bt->seq, sizeof(int32_t) * n);
    if (bt->n_out > 0) memcpy(h + sm.o_out, bt->out_rows, sizeof(int32_t) * bt->n_out);
    if (sm.n_simple > 0) memcpy(h + sm.o_simple, simple, sizeof(int32_t) * sm.n_simple);
    if (head == HEAD_SAMPLE) {
        if (!u && bt->n_out > 0) return lf_fail(LINFER_ERR_INVALID_ARG, "sampling on the GPU without uniform draws");
        const lf_cuda_sampling sc = {cfg->temperature, cfg->top_k, cfg->top_p, 0};
        memcpy(h + sm.o_samp, &sc, sizeof sc);
        if (bt->n_out > 0) memcpy(h + sm.o_samp + 4, u, sizeof(double) * (size_t)bt->n_out);
    }

    sm.n_micro = 1;
    if (b->pp > 1 && bt->n_out <= b->logit_rows) LF_TRY(plan_micro(b, bt, &sm, tiles, simple));
    /* graphs of a backend are all fused or all not (their keys do not say which): a step that could
     * not fuse runs eagerly */
    const int graphable = b->graphs_on && sm.n_tiles == 0 && sm.n_simple == n && out_identity && n <= b->logit_rows &&
                          sm.fuse_rope == b->fuse_rope_on;
    if (b->tune_on && !b->base.profile) { /* first batch of this size: choose the linear-layer kernels */
        const int bi = tune_bucket_of(n);
        if (bi >= 0 && !b->tuned[bi]) {
            LF_TRY(tune_bucket(b, bi));
            if (graphable && b->pp == 1) LF_TRY(tune_step(b, bt, &sm, head, bi));
        }
        if (b->lt_on && n > LF_CUDA_GEMV_MMA_MAX_M && n <= LT_ROWS_MAX && !b->lt_tuned[n]) LF_TRY(tune_lt(b, n));
    }
    LF_TRY(trace_begin(b));
    const int traced = b->trace_now;
    cudaGraphExec_t exec = NULL;
    cu_graph *gr = NULL;
    int learn = 0;
    if (graphable && (!b->base.profile || traced)) {
        if (traced && !find_trace_seq(b, n, graph_chunks(&sm), head)) {
            learn = 1; /* an eager step first: its tagged kernels give the graph's sequence */
        } else {
            lf_status s;
            gr = step_graph(b, bt, &sm, head, traced, &s);
            if (s != LINFER_OK) return s;
            exec = gr ? gr->exec : NULL;
        }
    }
    const int events = traced || b->step_events;
    if (events) CUDA_CHECK(cudaEventRecord(b->trace_ev[0], st));
    if (exec) {
        CUDA_CHECK(cudaGraphLaunch(exec, st));
        if (!head)
            CUDA_CHECK(cudaMemcpyAsync(logits, b->logits, sizeof(float) * (size_t)n * b->vocab, cudaMemcpyDeviceToHost, st));
    } else {
        LF_TRY(enqueue_step(b, bt, &sm, head, logits));
    }
    if (events) CUDA_CHECK(cudaEventRecord(b->trace_ev[1], st));
    CUDA_CHECK(cudaStreamSynchronize(st));
    if (traced) {
        LF_TRY(trace_step(b, exec ? gr : NULL, learn ? n : 0, graph_chunks(&sm), head));
    } else if (events) {
        float ev = 0;
        memset(&b->last_trace, 0, sizeof b->last_trace);
        b->last_trace.from_graph = exec != NULL;
        b->last_trace.n_expected = gr ? gr->n_kernel_nodes : -1;
        CUDA_CHECK(cudaEventElapsedTime(&ev, b->trace_ev[0], b->trace_ev[1]));
        b->last_trace.event_ms = ev;
    }
    if (head && bt->n_out > 0) memcpy(ids, b->h_ids, sizeof(int32_t) * (size_t)bt->n_out);
    return LINFER_OK;
}

static lf_status cu_forward(lf_backend *bb, const lf_batch *bt, float *logits) { return cu_forward_impl(bb, bt, logits, NULL, NULL, NULL); }
static lf_status cu_forward_ids(lf_backend *bb, const lf_batch *bt, const lf_sampler_cfg *cfg, const double *u, int32_t *ids) {
    return cu_forward_impl(bb, bt, NULL, ids, cfg, u);
}
#undef OP

static const lf_backend_ops cu_ops = {"cuda", cu_forward, cu_reset_seq, cu_destroy, cu_forward_ids};

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

/* Collective: *ok_all = min over the ranks of ok_local (1/0). Every rank must call it at the same
 * point of backend creation, so that a failure on one rank fails them all instead of leaving the
 * others waiting in a later collective. */
static lf_status job_agree(cu_backend *b, int ok_local, int *ok_all) {
    int32_t *d = NULL, v = ok_local ? 1 : 0;
    *ok_all = 0;
    CUDA_CHECK(cudaMalloc((void **)&d, sizeof *d));
    cudaError_t ce = cudaMemcpy(d, &v, sizeof v, cudaMemcpyHostToDevice);
    ncclResult_t nr = ncclSuccess;
    if (ce == cudaSuccess) nr = b->nccl->AllReduce(d, d, 1, ncclInt32, ncclMin, b->wcomm, 0);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaStreamSynchronize(0);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaMemcpy(&v, d, sizeof v, cudaMemcpyDeviceToHost);
    cudaFree(d);
    if (ce != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "parallel job: agreeing with the other ranks: %s", cudaGetErrorString(ce));
    if (nr != ncclSuccess) return lf_fail(LINFER_ERR_DEVICE, "parallel job: agreeing with the other ranks: %s", b->nccl->GetErrorString(nr));
    *ok_all = v != 0;
    return LINFER_OK;
}

/* A value unique to this process (threads share it; another process, also in another PID
 * namespace, has another one): tells whether a peer rank's pointers are usable here. Made once
 * per process (pthread_once: rank threads of one process, as in tests/cuda/test_tp.c, create
 * their backends at the same time; two threads each making a token took each other for another
 * process, and CUDA IPC within one process fails). */
static uint64_t g_proc_tok;
static pthread_once_t g_proc_tok_once = PTHREAD_ONCE_INIT;
static void make_process_token(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t tok = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&g_proc_tok;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) { uint64_t r = 0; if (fread(&r, sizeof r, 1, f) == 1) tok ^= r; fclose(f); }
    g_proc_tok = tok;
}
static uint64_t process_token(void) {
    pthread_once(&g_proc_tok_once, make_process_token);
    return g_proc_tok;
}

/* The result e of one step of the one-shot setup (callers skip the steps after a failure): a
 * failing one clears the CUDA error, sets *ok to 0 and names itself in why. Returns *ok. */
static int os_step(int *ok, char *why, size_t cap, cudaError_t e, const char *what) {
    if (*ok && e != cudaSuccess) {
        cudaGetLastError();
        *ok = 0;
        snprintf(why, cap, "%s: %s", what, cudaGetErrorString(e));
    }
    return *ok;
}

#define ONESHOT_ROWS 16 /* rows (tokens) up to which an all-reduce of the residual goes one-shot */
typedef struct {
    cudaIpcMemHandle_t h;
    uint64_t ptr;
    uint64_t proc;   /* process_token() */
    int32_t dev, ok;
} oneshot_info;

/* Collective (every rank calls it while creating its backend): allocate this rank's exchange
 * buffer, swap handles with the peers over NCCL, map the peers' buffers (CUDA IPC between
 * processes, peer access inside one process). If any rank cannot, every rank keeps NCCL. */
static lf_status oneshot_setup(cu_backend *b) {
    const int tp = b->tp;
    const size_t half = (size_t)ONESHOT_ROWS * b->dim;
    /* lf_oneshot_layout_of's layout, then the all-reduce-with-norm's push slots (the size of the
     * plain ones) and its scratch (epoch counters, square sums) */
    const lf_oneshot_layout lay = lf_oneshot_layout_of(half);
    const size_t lln_off = lay.end, arn_scratch_off = lln_off + (lay.end - lay.ll);
    const size_t bytes = arn_scratch_off + LF_ARN_SCRATCH_BYTES;
    oneshot_info me, all[LF_ONESHOT_MAX_TP];
    memset(&me, 0, sizeof me);
    int ok = tp <= LF_ONESHOT_MAX_TP && env_int("LF_CUDA_ONESHOT", 1) != 0 && half <= (size_t)INT32_MAX;
    char why[200] = "";   /* this rank's reason when it cannot take part (printed below) */
    if (ok && !os_step(&ok, why, sizeof why, cudaMalloc((void **)&b->os_mem, bytes), "cudaMalloc of the exchange buffer")) b->os_mem = NULL;
    if (ok) os_step(&ok, why, sizeof why, cudaMemset(b->os_mem, 0, bytes), "cudaMemset");
    if (ok) os_step(&ok, why, sizeof why, cudaIpcGetMemHandle(&me.h, b->os_mem), "cudaIpcGetMemHandle");
    me.ptr = (uint64_t)(uintptr_t)b->os_mem;
    me.proc = process_token();
    me.dev = b->dev;
    me.ok = ok;
    /* all-gather of the infos (bytes) through NCCL; buffer: [tp] received + 1 sent */
    char *d = NULL;
    CUDA_CHECK(cudaMalloc((void **)&d, sizeof(oneshot_info) * (size_t)(tp + 1)));
    cudaError_t ce = cudaMemcpy(d + sizeof(oneshot_info) * (size_t)tp, &me, sizeof me, cudaMemcpyHostToDevice);
    ncclResult_t nr = ncclSuccess;
    if (ce == cudaSuccess) nr = b->nccl->AllGather(d + sizeof(oneshot_info) * (size_t)tp, d, sizeof(oneshot_info), ncclUint8, b->comm, b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaStreamSynchronize(b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaMemcpy(all, d, sizeof(oneshot_info) * (size_t)tp, cudaMemcpyDeviceToHost);
    cudaFree(d);
    if (ce != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce setup: %s", cudaGetErrorString(ce));
    if (nr != ncclSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce setup: NCCL all-gather: %s", b->nccl->GetErrorString(nr));
    for (int r = 0; r < tp; r++) ok = ok && all[r].ok;
    /* map the peers */
    for (int r = 0; r < tp && ok; r++) {
        char *base = NULL;
        if (r == b->rank) base = b->os_mem;
        else if (all[r].proc == me.proc) { /* another thread of this process: peer access */
            int can = 0;
            if (cudaDeviceCanAccessPeer(&can, b->dev, all[r].dev) != cudaSuccess || !can) {
                cudaGetLastError();
                ok = 0;
                snprintf(why, sizeof why, "GPU %d cannot access GPU %d", b->dev, all[r].dev);
                break;
            }
            cudaError_t pe = cudaDeviceEnablePeerAccess(all[r].dev, 0);
            if (pe == cudaErrorPeerAccessAlreadyEnabled) { cudaGetLastError(); pe = cudaSuccess; }
            char what[64];
            snprintf(what, sizeof what, "cudaDeviceEnablePeerAccess(%d)", all[r].dev);
            if (!os_step(&ok, why, sizeof why, pe, what)) break;
            base = (char *)(uintptr_t)all[r].ptr;
        } else {
            void *ptr = NULL;
            char what[64];
            snprintf(what, sizeof what, "cudaIpcOpenMemHandle of rank %d", r);
            if (!os_step(&ok, why, sizeof why, cudaIpcOpenMemHandle(&ptr, all[r].h, cudaIpcMemLazyEnablePeerAccess), what)) break;
            b->os_opened[r] = ptr;
            base = (char *)ptr;
        }
        b->os_peers.buf[r] = (float *)base;
        b->os_peers.flags[r] = (uint32_t *)(base + lay.flags);
        b->os_peers.ll[r] = (uint64_t *)(base + lay.ll);
        b->os_peers.lln[r] = (uint64_t *)(base + lln_off);
    }
    /* every rank must agree: min over the ranks of ok */
    int32_t *dok = NULL;
    CUDA_CHECK(cudaMalloc((void **)&dok, sizeof(int32_t)));
    int32_t okv = ok;
    ce = cudaMemcpy(dok, &okv, sizeof okv, cudaMemcpyHostToDevice);
    if (ce == cudaSuccess) nr = b->nccl->AllReduce(dok, dok, 1, ncclInt32, ncclMin, b->comm, b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaStreamSynchronize(b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaMemcpy(&okv, dok, sizeof okv, cudaMemcpyDeviceToHost);
    cudaFree(dok);
    if (ce != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce setup: %s", cudaGetErrorString(ce));
    if (nr != ncclSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce setup: NCCL: %s", b->nccl->GetErrorString(nr));
    b->os_on = okv != 0;
    b->os_half = (int)half;
    b->os_epoch = b->os_mem ? (uint32_t *)(b->os_mem + lay.epoch) : NULL;
    b->arn_scratch = b->os_mem ? (uint32_t *)(b->os_mem + arn_scratch_off) : NULL;
    if (!b->os_on && env_int("LF_CUDA_ONESHOT", 1) != 0 && why[0])
        fprintf(stderr, "linfer: rank %d: one-shot all-reduce not available (%s)\n", b->rank, why);
    if (!b->os_on && env_int("LF_CUDA_ONESHOT", 1) != 0 && b->rank == 0)
        fprintf(stderr, "linfer: one-shot all-reduce not available on every rank (peer memory); using NCCL for all\n");
    return LINFER_OK;
}

/* Collective (every rank, after oneshot_setup): the rows up to which the residual's all-reduce goes
 * one-shot. The push kernel stores every element to each of the tp - 1 peers, so its bytes grow
 * with rows x (tp - 1) while NCCL's stay near rows x 2: at TP 8 it lost from about 8 rows (issue 8,
 * session 24: llama-2-70b bs 16 took 12.2 ms a step against bs 32's 11.1 over NCCL). Both ways are
 * timed here as a decode step runs them (the all-reduce and the norm after it, graphs of 20 calls,
 * lf_cuda_time_allreduce) at 1, 2, 4, 8 and 16 rows; each figure is the slowest rank's (NCCL max),
 * so every rank takes the same decision: one-shot up to the last row count from 1 at which it is
 * not slower. LF_CUDA_AR_ROWS=N fixes the limit instead (0: NCCL for every all-reduce). */
static lf_status oneshot_choose_rows(cu_backend *b) {
    static const int rows[5] = {1, 2, 4, 8, 16};
    b->os_rows = ONESHOT_ROWS;
    const char *fixed = getenv("LF_CUDA_AR_ROWS");
    if (fixed && *fixed) {
        const int v = atoi(fixed);
        b->os_rows = v < 0 ? 0 : v > ONESHOT_ROWS ? ONESHOT_ROWS : v;
        return LINFER_OK;
    }
    if (!b->os_on || b->invariant) return LINFER_OK;
    double t[10];
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 2; k++) LF_TRY(lf_cuda_time_allreduce(&b->base, rows[i] * b->dim, 20, 5, 2 + k, &t[2 * i + k]));
    double *d = NULL;
    CUDA_CHECK(cudaMalloc((void **)&d, sizeof t));
    cudaError_t ce = cudaMemcpy(d, t, sizeof t, cudaMemcpyHostToDevice);
    ncclResult_t nr = ncclSuccess;
    if (ce == cudaSuccess) nr = b->nccl->AllReduce(d, d, 10, ncclFloat64, ncclMax, b->comm, b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaStreamSynchronize(b->st);
    if (ce == cudaSuccess && nr == ncclSuccess) ce = cudaMemcpy(t, d, sizeof t, cudaMemcpyDeviceToHost);
    cudaFree(d);
    if (ce != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce rows: %s", cudaGetErrorString(ce));
    if (nr != ncclSuccess) return lf_fail(LINFER_ERR_DEVICE, "one-shot all-reduce rows: NCCL: %s", b->nccl->GetErrorString(nr));
    b->os_rows = 0;
    for (int i = 0; i < 5 && t[2 * i] <= t[2 * i + 1]; i++) b->os_rows = rows[i];
    if (env_int("LF_CUDA_AR_VERBOSE", 0) && b->rank == 0) {
        fprintf(stderr, "linfer: all-reduce + norm per call (us), one-shot / NCCL, at 1 2 4 8 16 rows over %d GPUs:", b->tp);
        for (int i = 0; i < 5; i++) fprintf(stderr, " %.2f/%.2f", t[2 * i] * 1e6, t[2 * i + 1] * 1e6);
        fprintf(stderr, "; one-shot up to %d rows\n", b->os_rows);
    }
    return LINFER_OK;
}

/* before a half-made backend is freed: the TP group split off here, and the NCCL table */
static void drop_nccl(cu_backend *b) {
    if (b->own_tp_comm) b->nccl->CommDestroy(b->own_tp_comm);
    b->own_tp_comm = NULL;
    if (b->nccl) lf_nccl_close(b->nccl);
    b->nccl = NULL;
}

/* The persistent one-token decode kernel (decode_stream.cu), when asked for (LF_CUDA_STREAM=1 or
 * lf_cuda_set_stream(1)) and these shapes fit it: one GPU (no TP, PP), no biases, not the
 * TP-invariant mode. Otherwise stream_on stays 0 and stream_why says why. */
static int g_stream = -1;
extern "C" void lf_cuda_set_stream(int on) { g_stream = on; }
extern "C" int lf_cuda_stream_active(const lf_backend *bb, const char **why) {
    const cu_backend *b = (const cu_backend *)bb;
    if (why) *why = b->stream_on ? NULL : b->stream_why;
    return b->stream_on;
}
static lf_status stream_setup(cu_backend *b) {
    const lf_config *c = &b->base.model->cfg;
    const int want = g_stream >= 0 ? g_stream : env_int("LF_CUDA_STREAM", 0);
    b->stream_on = 0;
    b->stream_why = !want ? "off" : b->tp > 1 || b->pp > 1 ? "tensor or pipeline parallelism" : b->invariant ? "TP-invariant mode"
                  : c->qkv_bias ? "QKV bias" : NULL;
    for (int l = 0; !b->stream_why && l < b->nl; l++)
        if (b->layers[l].bo) b->stream_why = "o_proj bias";
    if (b->stream_why) return LINFER_OK;
    lf_stream_args *a = &b->stream;
    a->n_layers = b->nl;
    a->dim = b->dim;
    a->n_heads = b->nh;
    a->n_kv = b->nkv;
    a->head_dim = b->hd;
    a->q_dim = b->q_dim;
    a->qkv_dim = b->qkv_dim;
    a->ffn = b->ffn;
    a->max_ctx = b->max_ctx;
    a->interleaved = c->rope_style == LF_ROPE_INTERLEAVED;
    a->eps = c->norm_eps;
    a->scale = 1.0f / sqrtf((float)b->hd);
    a->layers = b->stream_tab;
    a->inv_freq = b->inv_freq;
    a->k_cache = b->k_cache;
    a->v_cache = b->v_cache;
    a->layer_kv_bytes = b->layer_kv_bytes;
    a->qkv = b->qkv;
    a->act = b->act;
    a->slot_kb = env_int("LF_CUDA_STREAM_SLOT_KB", 0);
    a->debug = env_int("LF_CUDA_STREAM_DEBUG", 0);
    a->part = b->split + LF_ATTN_SPLIT_COUNTERS; /* after the attention kernels' counters, which it leaves alone */
    if (!lf_cuda_decode_stream_plan(b->dt, a, &b->stream_why)) return LINFER_OK;
    if ((size_t)b->nh * a->n_splits * (b->hd + 4) * sizeof(float) + LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned) > LF_ATTN_SPLIT_SCRATCH) {
        b->stream_why = "attention partials larger than the split scratch";
        return LINFER_OK;
    }
    lf_stream_layer *tab = (lf_stream_layer *)calloc((size_t)b->nl, sizeof(lf_stream_layer));
    if (!tab) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    for (int l = 0; l < b->nl; l++) {
        const cu_layer *L = &b->layers[l];
        tab[l].attn_norm = L->attn_norm;
        tab[l].wqkv = L->wqkv;
        tab[l].wo = L->wo;
        tab[l].ffn_norm = L->ffn_norm;
        tab[l].wgu = L->wgu;
        tab[l].wdown = L->wdown;
    }
    const cudaError_t e = cudaMemcpy(b->stream_tab, tab, sizeof(lf_stream_layer) * (size_t)b->nl, cudaMemcpyHostToDevice);
    free(tab);
    CUDA_CHECK(e);
    b->stream_on = 1;
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

    const int tp = p->tp_size > 1 ? p->tp_size : 1, rank = tp > 1 ? p->tp_rank : 0;
    if (tp > 1) {
        if (rank < 0 || rank >= tp) return lf_fail(LINFER_ERR_INVALID_ARG, "tensor parallelism: rank %d of %d", rank, tp);
        if (!p->tp_comm && !(p->pp_size > 1 && p->pp_comm)) /* with pipeline stages the group is split off pp_comm */
            return lf_fail(LINFER_ERR_INVALID_ARG, "tensor parallelism over %d GPUs without an NCCL communicator", tp);
        if (c->n_heads % tp)
            return lf_fail(LINFER_ERR_UNSUPPORTED, "tensor parallelism: %d attention heads do not divide over %d GPUs", c->n_heads, tp);
        if (c->ffn_dim % tp)
            return lf_fail(LINFER_ERR_UNSUPPORTED, "tensor parallelism: FFN width %d does not divide over %d GPUs", c->ffn_dim, tp);
        if (c->n_kv_heads % tp && tp % c->n_kv_heads)
            return lf_fail(LINFER_ERR_UNSUPPORTED, "tensor parallelism: %d KV heads neither divide over %d GPUs nor divide %d", c->n_kv_heads, tp, tp);
    }
    const int pp = p->pp_size > 1 ? p->pp_size : 1, stage = pp > 1 ? p->pp_stage : 0;
    if (pp > 1) {
        if (stage < 0 || stage >= pp) return lf_fail(LINFER_ERR_INVALID_ARG, "pipeline parallelism: stage %d of %d", stage, pp);
        if (!p->pp_comm) return lf_fail(LINFER_ERR_INVALID_ARG, "pipeline parallelism over %d GPUs without an NCCL communicator", pp);
        if (c->n_layers < pp)
            return lf_fail(LINFER_ERR_UNSUPPORTED, "pipeline parallelism: %d layers do not split into %d stages", c->n_layers, pp);
    }
    const int world = tp * pp;
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
    b->tp = tp; b->rank = rank;
    b->dim = c->dim; b->hd = c->head_dim;
    b->nh = c->n_heads / tp;
    b->nkv = c->n_kv_heads >= tp ? c->n_kv_heads / tp : 1;   /* fewer KV heads than ranks: replicated */
    b->kh0 = c->n_kv_heads >= tp ? rank * b->nkv : rank * b->nh / (c->n_heads / c->n_kv_heads);
    b->g_q_dim = c->n_heads * c->head_dim; b->g_kv_dim = c->n_kv_heads * c->head_dim; b->g_ffn = c->ffn_dim;
    b->q_dim = b->nh * c->head_dim; b->kv_dim = b->nkv * c->head_dim;
    b->qkv_dim = b->q_dim + 2 * b->kv_dim; b->ffn = c->ffn_dim / tp; b->vocab = c->vocab_size;
    b->pp = pp; b->stage = stage; b->pp_micro = p->pp_micro > 0 ? p->pp_micro : 0;
    b->vsplit = tp > 1 && c->vocab_size % tp == 0 && env_int("LF_CUDA_VOCAB_SPLIT", 1) != 0;
    b->vloc = b->vsplit ? c->vocab_size / tp : c->vocab_size;
    {   /* this stage's layers: the first n_layers % pp stages get one more */
        const int per = c->n_layers / pp, extra = c->n_layers % pp;
        b->l0 = stage * per + (stage < extra ? stage : extra);
        b->nl = per + (stage < extra ? 1 : 0);
    }
    b->max_seqs = p->max_seqs; b->max_ctx = p->max_context; b->max_tokens = p->max_batch_tokens;
    b->seq_seen = (unsigned char *)calloc((size_t)b->max_seqs, 1);
    if (!b->seq_seen) { free(b); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CUDA backend: out of host memory"); }
    b->logit_rows = p->max_batch_tokens < LOGIT_ROWS ? p->max_batch_tokens : LOGIT_ROWS;
    b->gemv_max_m = env_int("LF_CUDA_GEMV", LF_CUDA_GEMV_DEFAULT_M); // measured crossover; 0: cuBLAS for every linear layer
    // LF_CUDA_ATTN_MMA: 0 simple kernel only, 1 or 2 tensor-core kernel version (default 2)
    b->mma_impl = lf_cuda_attention_tiles_supported(c->head_dim) ? env_int("LF_CUDA_ATTN_MMA", 3) : 0;
    if (b->mma_impl < 0 || b->mma_impl > 3) b->mma_impl = 3;
    b->graphs_on = env_int("LF_CUDA_GRAPH", 1) != 0;
    {   // programmatic dependent launch: Hopper and later (LF_CUDA_PDL=0 turns it off)
        int major = 0;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, p->gpu_index) != cudaSuccess) { cudaGetLastError(); major = 0; }
        lf_cuda_set_pdl(major >= 9 && env_int("LF_CUDA_PDL", 1) != 0);
    }
    b->fuse_swiglu = env_int("LF_CUDA_FUSE", 1) != 0;
    b->bulk_on = env_int("LF_CUDA_BULK", 0) != 0;   /* opt-in: slower in every step measured (session 27) */
    b->gemv_rr = env_int("LF_CUDA_GEMV_RR", 1) != 0;
    b->tune_on = !getenv("LF_CUDA_GEMV") && env_int("LF_CUDA_TUNE", 1) != 0;
    b->tune_step_on = env_int("LF_CUDA_TUNE_STEP", 1) != 0;
    b->lt_on = env_int("LF_CUDA_LT", 1) != 0;
    b->fuse_rope_on = env_int("LF_CUDA_FUSE_ROPE", 1) != 0 && lf_cuda_attention_rope_supported(b->hd);
    b->invariant = p->tp_invariant || env_int("LF_CUDA_TP_INVARIANT", 0) != 0;
    if (b->invariant) {
        const char *bad = LF_INV_CHUNKS % tp ? "the GPU count" : !lf_cuda_gemv_invariant_supported(b->g_q_dim, LF_INV_CHUNKS) ? "the attention width (heads x head_dim)"
                          : !lf_cuda_gemv_invariant_supported(c->ffn_dim, LF_INV_CHUNKS) ? "the FFN width" : c->dim % 8 ? "the model width" : NULL;
        if (bad) {
            free(b->seq_seen); free(b);
            return lf_fail(LINFER_ERR_UNSUPPORTED, "TP-invariant mode: %s does not fit: tp %d must divide %d; heads x head_dim %d and FFN width "
                           "%d must be multiples of %d; width %d a multiple of 8", bad, tp, LF_INV_CHUNKS, b->g_q_dim, c->ffn_dim,
                           8 * LF_INV_CHUNKS, c->dim);
        }
        b->tune_on = 0;         /* every linear layer is the invariant kernel */
        b->tune_step_on = 0;
    }
    lf_status s = LINFER_OK;
    int job_agreed = 0;
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
    int fits = need <= fr, all_fit = fits;
    if (world > 1) { /* every rank fits its shard, or every rank refuses */
        lf_status as = lf_nccl_open(0, &b->nccl);
        b->wcomm = (ncclComm_t)(pp > 1 ? p->pp_comm : p->tp_comm);
        b->comm = (ncclComm_t)p->tp_comm;
        if (as == LINFER_OK && tp > 1 && pp > 1 && !b->comm) { /* the stage's TP group: split off the job (collective) */
            if (!b->nccl->CommSplit) as = lf_fail(LINFER_ERR_UNSUPPORTED, "tensor x pipeline parallelism needs ncclCommSplit (NCCL >= 2.18)");
            else {
                const ncclResult_t nr = b->nccl->CommSplit(b->wcomm, stage, rank, &b->own_tp_comm, NULL);
                if (nr != ncclSuccess) as = lf_fail(LINFER_ERR_DEVICE, "NCCL: splitting the TP group of stage %d: %s", stage, b->nccl->GetErrorString(nr));
                else b->comm = b->own_tp_comm;
            }
        }
        if (b->nccl && b->wcomm) { /* agree also when the split failed here, so the others do not wait for this rank */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", as == LINFER_OK ? "" : linfer_last_error());
            const lf_status ag = job_agree(b, as == LINFER_OK && fits, &all_fit);
            if (as != LINFER_OK) as = lf_fail(as, "%s", msg);
            else as = ag;
        }
        if (as != LINFER_OK) { drop_nccl(b); free(b->layers); free(b); return as; }
    }
    if (!fits) {
        drop_nccl(b);
        free(b->layers); free(b);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY,
                       "CUDA backend needs %.0f MiB (weights %.0f, KV cache %.0f for %d x %d positions, scratch %.0f), free %.0f MiB of %.0f",
                       mib(need), mib(wbytes), mib(kvbytes), p->max_seqs, p->max_context, mib(sbytes + staging), mib(fr), mib(tot));
    }
    if (!all_fit) {
        drop_nccl(b);
        free(b->layers); free(b);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s parallelism: another of the %d ranks has not the GPU memory for its shard, "
                       "or failed to set up (this rank needs %.0f MiB, free %.0f MiB)", tp > 1 ? "tensor" : "pipeline", world, mib(need),
                       mib(fr));
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
    CU_OR_FAIL(cudaMemset(b->split, 0, LF_ATTN_SPLIT_COUNTERS * sizeof(unsigned))); // attention split counters
    CU_OR_FAIL(cudaMemset(b->bulk_ctr, 0, (size_t)LF_BULK_CTRS * 2 * sizeof(unsigned)));  // bulk GEMV work counters
    b->k_cache = b->kvmem;
    b->v_cache = b->kvmem + (size_t)b->nl * b->layer_kv_bytes;
    CU_OR_FAIL(cudaHostAlloc((void **)&b->h_meta, LF_META_INTS((size_t)b->max_tokens) * sizeof(int32_t), cudaHostAllocDefault));
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
    TRY_OR_FAIL(stream_setup(b));
    CU_OR_FAIL(cudaStreamSynchronize(b->st)); /* weights (uploaded or synthesised) are ready: timings start clean */
    if (world > 1) { /* every rank is ready, or every rank fails (the fail path agrees on failure) */
        int all_ok = 0;
        job_agreed = 1;
        TRY_OR_FAIL(job_agree(b, 1, &all_ok));
        if (!all_ok) {
            s = lf_fail(LINFER_ERR_DEVICE, "%s parallelism: another of the %d ranks failed to create its backend", tp > 1 ? "tensor" : "pipeline",
                        world);
            goto fail;
        }
        if (tp > 1) TRY_OR_FAIL(oneshot_setup(b));
        if (tp > 1) TRY_OR_FAIL(oneshot_choose_rows(b));
    }
    *out = &b->base;
    return LINFER_OK;
fail:
    if (world > 1 && !job_agreed && b->nccl) { /* the others wait at the readiness agreement: tell them */
        int all_ok = 0;
        lf_status keep = s;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", linfer_last_error());
        (void)job_agree(b, 0, &all_ok);
        s = lf_fail(keep, "%s", msg);
    }
    cu_destroy(&b->base);
    return s;
#undef TRY_OR_FAIL
#undef CU_OR_FAIL
}
