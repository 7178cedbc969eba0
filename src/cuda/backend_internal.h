// backend_internal.h — what the CUDA backend's files share (backend.cu: creation, memory, the
// forward step, graphs, TP/PP; linear_choice.cu: which kernel computes each linear layer, chosen
// by timing): the backend's state (cu_backend) and the linear-layer choice's tables and calls.
// Not a public interface: only src/cuda/*.cu include it.
#ifndef LINFER_CUDA_BACKEND_INTERNAL_H
#define LINFER_CUDA_BACKEND_INTERNAL_H
#include <cuda_runtime.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "dist/nccl_loader.h"
#include "cupti_trace.h"
extern "C" {
#include "engine/backend.h"
#include "core/dtype.h"
}

#define LOGIT_ROWS 256            // lm_head rows per chunk
#define MMA_MIN_ROWS 4            // runs shorter than this use the simple attention kernel
#define CUBLAS_WS_BYTES (32u << 20)
#define UPLOAD_CHUNK (32u << 20)  // bytes per staging buffer (two of them, pinned + device)

typedef struct {
    void *attn_norm, *wqkv, *bqkv, *wo, *bo, *ffn_norm, *wgu, *wdown;
} cu_layer;

// A captured decode step: every token its own sequence's next position (no tensor-core tiles),
// all rows' logits (or argmax ids) wanted. Kernel arguments depend only on n, the attention's
// context bound (in chunks: it sets the flash-decoding split) and the output kind, so a graph is
// captured once per key and replayed while the positions advance (they are read from device
// metadata that a captured memcpy refreshes from the pinned host buffer at each replay).
#define GRAPH_CACHE 16
#define LF_PP_MAX_MICRO 64   // micro-batches per step at most (pipeline parallelism)
#define LF_PP_AUTO_MIN_TOKENS 128 // pp_micro 0: micro-batches only for steps of at least this many tokens

// Linear layers of a decode step and how each is computed for small batches. The choice is made
// per layer shape and row bucket by timing the candidates on the model's own weights the first
// time a batch of that size runs (tune_bucket), not guessed: on an H200 at the 7B shapes cuBLAS
// wins some shapes at one row and the skinny GEMM others (docs/perf-notes.md).
enum { LIN_QKV, LIN_O, LIN_GU, LIN_DOWN, LIN_HEAD, LIN_COUNT };
// mmaW: the skinny GEMM with W warps per block on equal contiguous K ranges; mmaW/rr: the same
// with the warps taking K pieces in turn (lf_cuda_gemv_mma_ex)
// ffma8: the FFMA GEMV with 8 weight loads in flight per lane instead of 4; mma+swiglu,
// ffma+swiglu, ffma8+swiglu: gate/up with the SwiGLU epilogue (no separate activation kernel)
enum { IMPL_CUBLAS, IMPL_MMA4, IMPL_MMA8, IMPL_FFMA, IMPL_MMA_SWIGLU, IMPL_MMA16, IMPL_MMA4_RR, IMPL_MMA8_RR, IMPL_MMA16_RR,
       IMPL_FFMA8, IMPL_FFMA_SWIGLU, IMPL_FFMA8_SWIGLU, IMPL_LT, IMPL_BULK, IMPL_BULK_SWIGLU, IMPL_COUNT };
extern const char *const impl_name[IMPL_COUNT];
// the bulk-copy GEMV's work counters, one per launch in turn: only adjacent launches of a step
// can overlap (PDL), so any pool of 2 or more keeps overlapping launches apart
#define LF_BULK_CTRS 256
static inline int impl_is_swiglu(int impl) {
    return impl == IMPL_MMA_SWIGLU || impl == IMPL_FFMA_SWIGLU || impl == IMPL_FFMA8_SWIGLU || impl == IMPL_BULK_SWIGLU;
}
extern const char *const lin_name[LIN_COUNT];
#define TUNE_BUCKETS 5 /* rows 1, 2, 3-4, 5-8, 9-16 */
// Steps of 17..LT_ROWS_MAX rows: per exact row count and linear layer, cublasGemmEx or the fastest
// cuBLASLt algorithm (gemm_lt.cu), chosen by timing on first use (tune_lt; LF_CUDA_LT=0: GemmEx).
#define LT_ROWS_MAX 64
extern const int lin_out_f32[LIN_COUNT]; /* qkv, gate_up out in T; o_proj, down, lm_head fp32 */
extern const int tune_rows[TUNE_BUCKETS]; /* the buckets' row counts: 1, 2, 4, 8, 16 */
// What a step's head produces: the logits (copied to the host), or one token id per output row
// chosen on the device, the argmax or a draw (sampling.cu)
enum { HEAD_LOGITS = 0, HEAD_ARGMAX = 1, HEAD_SAMPLE = 2 };
// int32s of a step's metadata for T tokens: tiles (4 T), tokens, positions, sequences, output rows,
// simple-attention list (T each), the sampling parameters (1 to align, 4) and draws (2 T)
#define LF_META_INTS(T) (11 * (T) + 8)
typedef struct {
    int n, chunks, head;      // key (n == 0: empty slot); head: HEAD_LOGITS, HEAD_ARGMAX or HEAD_SAMPLE
    int traced;               // captured while CUPTI traced (profile): kept apart from the plain graphs
    int n_kernel_nodes;       // kernel nodes of the captured graph
    cudaGraphExec_t exec;
    unsigned long long last_use;
} cu_graph;

// `linfer profile` on this backend (src/cuda/cupti_trace.h): a traced step's kernels get their op
// category from the tag pushed around their launch (eager) or, replayed from a graph, from their
// position in the kernel sequence of an eager step of the same key (learned first, names checked).
typedef struct {
    int n, chunks, head;      // key (n == 0: empty)
    int count;                // kernels of the step
    signed char *tags;        // [count] lf_op, -1: untagged
    const char **names;       // [count] kernel names (owned by CUPTI)
} cu_trace_seq;

typedef struct {
    lf_backend base;
    int dev;
    cudaStream_t st;
    cublasHandle_t cublas;
    lf_dtype dt;
    size_t es;
    int dim, nh, nkv, hd, q_dim, kv_dim, qkv_dim, ffn, vocab, nl, max_seqs, max_ctx, max_tokens, logit_rows;
    int gemv_max_m, mma_impl; // mma_impl 0: simple attention kernel only
    // tensor parallelism: this rank's shard. nh, nkv, q_dim, kv_dim, qkv_dim, ffn above are the
    // rank's own (heads rank*nh .. , kv heads kh0 .., ffn columns rank*ffn ..); g_* the model's.
    int tp, rank, kh0, g_q_dim, g_kv_dim, g_ffn;
    // pipeline parallelism: this stage holds layers l0 .. l0 + nl - 1 of the model (nl above is
    // the stage's count); pp_micro: micro-batches per decode step (0: pp)
    int pp, stage, l0, pp_micro;
    // vocabulary split (TP, vocab % tp == 0, LF_CUDA_VOCAB_SPLIT=0 turns off): this rank's rows
    // [rank * vloc, (rank + 1) * vloc) of the embedding and lm_head; gat: the lm_head slices of
    // every rank for logit_rows rows, [tp][rows][vloc] after the all-gather
    int vsplit, vloc;
    float *gat;
    lf_nccl *nccl;
    ncclComm_t comm;          // the tensor-parallel group (this stage's ranks)
    ncclComm_t wcomm;         // the whole job (TP x PP ranks; rank = stage * tp + TP rank)
    ncclComm_t own_tp_comm;   // TP x PP: the stage's TP group, split off wcomm here (destroyed here)
    // one-shot all-reduce over peer memory for small messages (LF_CUDA_ONESHOT=0: NCCL only)
    int os_on, os_half;
    int os_rows;                  // rows (tokens) up to which a residual all-reduce goes one-shot: measured
                                  // at creation against NCCL (oneshot_choose_rows), <= ONESHOT_ROWS
    char *os_mem;                 // this rank's exchange buffer, flags, epoch counters
    void *os_opened[LF_ONESHOT_MAX_TP]; // peers' buffers opened through CUDA IPC (closed at the end)
    lf_oneshot_peers os_peers;
    uint32_t *os_epoch;
    uint32_t *arn_scratch;         // the all-reduce-with-norm kernel's scratch (LF_ARN_SCRATCH_BYTES in os_mem)
    char *wmem, *kvmem, *smem;
    cu_layer *layers;
    void *tok_embd, *lm_head, *out_norm;
    char *k_cache, *v_cache;
    size_t layer_kv_bytes;
    float *inv_freq, *resid, *logits;
    void *xn, *qkv, *attn, *gu, *act, *xo, *cublas_ws;
    float *split;             // split-K attention partials (LF_ATTN_SPLIT_SCRATCH bytes)
    int gemv_rr;              // the round-robin K pieces among the tuning candidates (LF_CUDA_GEMV_RR=0 off)
    int32_t *d_meta, *h_meta; // batch metadata (LF_META_INTS(max_tokens) int32), device and pinned host
    int32_t *d_ids, *h_ids;   // chosen token ids [max_tokens], device and pinned host
    int32_t *h_simple;        // host scratch [max_tokens]
    int graphs_on;            // decode steps replayed from CUDA graphs (LF_CUDA_GRAPH=0 turns off)
    cu_graph graphs[GRAPH_CACHE];
    unsigned long long graph_clock;
    // profiling: CUPTI (trace_state 0: not tried, 1: tracing, -1: unavailable, host timers) or host timers
    int trace_state, trace_now, step_events;
    cu_trace_seq trace_seq[GRAPH_CACHE];
    cudaEvent_t trace_ev[2];
    lf_cuda_trace_info last_trace;
    int fuse_swiglu;          // gate/up GEMM with the SwiGLU epilogue for small batches (LF_CUDA_FUSE=0 off)
    int bulk_on;              // the one-token bulk-copy GEMV among the tuning candidates (LF_CUDA_BULK=1; off by default)
    unsigned *bulk_ctr;       // [LF_BULK_CTRS][2] its work counters (scratch, zeroed), taken in turn per launch
    unsigned bulk_ctr_next;
    int tune_on;              // per-shape choice by timing (off when LF_CUDA_GEMV or LF_CUDA_TUNE=0 is set)
    int tune_step_on;         // the choice checked on whole decode steps (tune_step; LF_CUDA_TUNE_STEP=0 off)
    int fuse_rope_on;         // decode steps rotate q/k inside the attention kernel (LF_CUDA_FUSE_ROPE=0: the RoPE kernel)
    // one-token decode steps as one persistent kernel that streams the weights through shared
    // memory (decode_stream.cu; LF_CUDA_STREAM=1 or lf_cuda_set_stream(1) before creation):
    // stream_on when requested and these shapes fit it (stream.blocks > 0), else stream_why says why not
    int stream_on;
    const char *stream_why;
    lf_stream_args stream;
    lf_stream_layer *stream_tab;  // device [nl], in the scratch region
    // TP-invariant mode (lf_backend_params.tp_invariant or LF_CUDA_TP_INVARIANT=1): results bit for
    // bit those of one GPU at any TP/PP. Every linear layer is lf_cuda_gemv_invariant (row-split
    // layers in LF_INV_CHUNKS / tp pieces), the row-split partials are all-gathered (inv_gat:
    // [tp][max_tokens * dim]) and added in a fixed tree (lf_cuda_sum_tree_add), attention runs
    // unsplit, no fused or tuned kernels. Slower: for correctness runs.
    int invariant;
    float *inv_part, *inv_gat;
    unsigned char *seq_seen;  // [max_seqs] scratch: is each sequence at most once in the step
    int tuned[TUNE_BUCKETS];
    signed char impl[TUNE_BUCKETS][LIN_COUNT];
    float impl_us[TUNE_BUCKETS][LIN_COUNT][IMPL_COUNT]; // measured, per call (0: not a candidate)
    int lt_on;                                          // tune_lt for 17..LT_ROWS_MAX rows (LF_CUDA_LT=0 off)
    signed char lt_tuned[LT_ROWS_MAX + 1];              // [rows]: tune_lt ran
    lf_lt_plan *lt_plan[LT_ROWS_MAX + 1][LIN_COUNT];    // the chosen plan; NULL: cublasGemmEx was faster
    signed char lt_algo[LT_ROWS_MAX + 1][LIN_COUNT];
    const lf_lt_plan *lt_cur;                           // IMPL_LT in lin_impl (timing): this plan and algorithm
    int lt_cur_algo;
} cu_backend;

// ---------------------------------------------------------------------------------------------
// The linear layers' kernels (linear_choice.cu)

// The row bucket of a step of M rows (tune_rows), -1 above the last
int tune_bucket_of(int M);
// Candidate impl (IMPL_*) of linear layer `which` as one call: y (fp32 with y += beta*y, or T when
// !y_f32) = x W^T; the SwiGLU impls write act (T) from the fused gate/up weight
lf_status lin_impl(cu_backend *b, int impl, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K);
// Time every candidate of every linear layer at tune_rows[bi] rows on the model's weights, keep
// the fastest per layer (b->impl[bi]); once per bucket
lf_status tune_bucket(cu_backend *b, int bi);
// Steps of M rows, LF_CUDA_GEMV_MMA_MAX_M < M <= LT_ROWS_MAX: cublasGemmEx against cuBLASLt's
// algorithms per layer (b->lt_plan[M], b->lt_algo[M]); once per M
lf_status tune_lt(cu_backend *b, int M);
// Linear layer `which` of a step of M rows with the chosen kernel (tuned, cuBLASLt, or the fixed rule)
lf_status lin(cu_backend *b, int which, const void *x, const void *W, void *y, int y_f32, float beta, int M, int N, int K);

#endif
