/* backend.h — what the engine needs from a compute backend (CPU, CUDA).
 *
 * The engine drives generation with "token batches": n tokens, each tagged with the sequence
 * (KV-cache slot) it belongs to and its position in that sequence. Prefill of B prompts of
 * different lengths and a decode step of B sequences are both one such batch. A backend owns its
 * weights, KV cache [n_layers][max_seqs][max_context][n_kv_heads*head_dim] and scratch buffers.
 * For each token, attention covers positions 0..pos of its own sequence (causal), reading the
 * K/V just written for earlier tokens of the same batch. */
#ifndef LF_BACKEND_H
#define LF_BACKEND_H
#include <stdint.h>
#include "../model/model.h"
#include "sampling.h"

typedef struct {
    int n;                  /* tokens in the batch */
    const int32_t *tokens;  /* [n] */
    const int32_t *pos;     /* [n] position of each token in its sequence */
    const int32_t *seq;     /* [n] sequence / KV slot, 0..max_seqs-1 */
    const int32_t *out_rows;/* [n_out] indices into the batch whose logits are wanted */
    int n_out;
} lf_batch;

/* Per-op timing categories, shared with the profiler and the roofline. */
typedef enum {
    LF_OP_EMBEDDING, LF_OP_NORM, LF_OP_QKV, LF_OP_ROPE, LF_OP_ATTENTION, LF_OP_O_PROJ,
    LF_OP_ALL_REDUCE, LF_OP_GATE_UP, LF_OP_ACTIVATION, LF_OP_DOWN, LF_OP_LM_HEAD, LF_OP_SAMPLING,
    LF_OP_RESIDUAL, LF_OP_COUNT
} lf_op;
const char *lf_op_name(lf_op op);

typedef struct lf_backend lf_backend;
typedef struct {
    const char *name;
    /* Run the batch; write logits [n_out][vocab] (fp32, host memory) for the requested rows. */
    lf_status (*forward)(lf_backend *b, const lf_batch *batch, float *logits);
    /* Forget a sequence's cache (positions restart at 0). */
    void (*reset_seq)(lf_backend *b, int seq);
    void (*destroy)(lf_backend *b);
    /* Optional (NULL if absent): like forward, but return only a token id for each requested row,
     * chosen on the device, so only n_out int32 cross to the host: the argmax (cfg NULL or its
     * temperature <= 0), else the host sampler's choice for the uniform draw u[j] of row j
     * (lf_sample_u: the same token but where u lies within ~1e-7 of a boundary, sampling.h). */
    lf_status (*forward_ids)(lf_backend *b, const lf_batch *batch, const lf_sampler_cfg *cfg, const double *u, int32_t *ids);
} lf_backend_ops;

typedef struct {
    int max_seqs;       /* KV slots */
    int max_context;    /* positions per slot */
    int max_batch_tokens; /* largest batch n the scratch is sized for */
    int n_threads;      /* CPU */
    int gpu_index;      /* CUDA */
    lf_dtype dtype;     /* CUDA compute/storage dtype: LF_DT_F16 or LF_DT_BF16 */
    int cpu_attention_f16; /* CPU: fp16 KV cache values and fp16 attention operands (see kernels.h) */
    int tp_size, tp_rank;  /* CUDA tensor parallelism: shard of this rank (tp_size 0 or 1: none) */
    void *tp_comm;         /* ncclComm_t joining the ranks */
    int pp_size, pp_stage, pp_micro; /* CUDA pipeline parallelism (linfer.h): stage of this rank, micro-batches */
    void *pp_comm;                   /* ncclComm_t of the stages */
    int tp_invariant;                /* CUDA: results bit for bit the same at every TP/PP degree (linfer.h) */
} lf_backend_params;

struct lf_backend {
    const lf_backend_ops *ops;
    const lf_model *model;
    lf_backend_params params;
    double op_ms[LF_OP_COUNT];   /* per-op time of the current step while profiling (the engine zeroes it per step) */
    double op_calls[LF_OP_COUNT]; /* kernels per op in the current step, when counts_calls is set */
    int counts_calls;            /* the backend counts op_calls (CUDA with CUPTI) */
    int profile;                 /* set by the engine while a step hook is on */
    const char *timing_source;   /* how op_ms is measured (set by the backend when profiling starts; NULL: not yet) */
};

lf_status lf_cpu_backend_create(const lf_model *m, const lf_backend_params *p, lf_backend **out);
/* Returns LINFER_ERR_UNSUPPORTED when built without CUDA, LINFER_ERR_DEVICE when no GPU. */
lf_status lf_cuda_backend_create(const lf_model *m, const lf_backend_params *p, lf_backend **out);
/* CUDA builds, tensor parallelism: per-call time of an all-reduce of `count` fp32 elements as a
 * decode step runs it (path 0: the engine's one-shot/NCCL choice, 1: NCCL only, 2: the all-reduce
 * and the RMSNorm after it, count a whole number of rows: one kernel or two, as the step chooses),
 * from a captured graph of `iters` calls; collective over the ranks (src/cuda/backend.cu). */
lf_status lf_cuda_time_allreduce(lf_backend *b, int count, int iters, int reps, int path, double *per_call_s);
/* CUDA builds, tensor parallelism, collective: `rows` random residual rows per rank (different on
 * every rank) summed and normalised both ways — the all-reduce then the norm kernel, and the
 * all-reduce-with-norm kernel. *x_max_diff: largest difference of the sums, *xn_max_diff: of the
 * normalised values, in units of T's spacing at the larger of the two (0 and at most 1 expected:
 * the same sums, the squares added in another order). LINFER_ERR_UNSUPPORTED where the fused kernel does not apply. */
lf_status lf_cuda_check_allreduce_norm(lf_backend *b, int rows, double *x_max_diff, double *xn_max_diff);
#endif
