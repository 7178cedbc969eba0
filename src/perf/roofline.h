/* roofline.h — predicted time, traffic and memory of LLM inference from shapes and ceilings.
 *
 * Every number is per GPU under tensor parallelism (TP): each GPU holds 1/tp of the attention
 * heads, FFN columns and vocabulary, and does 1/tp of the FLOPs; norms, residuals and RoPE of
 * its own heads are done on every GPU. Per op and per kernel:
 *
 *   time = max(FLOPs / peak FLOP/s, HBM bytes / bandwidth) + kernels × overhead(bytes per kernel)
 *          overhead = chain(b) - b / bandwidth, where chain(b) is what a read kernel of b bytes costs
 *          inside a replayed graph of dependent kernels (`linfer calibrate`'s kernel-chain curve:
 *          a kernel's start and drain on the GPU); without that curve (datasheet ceilings, or
 *          --launch-us) the older floor: time = max(FLOPs / F, bytes / BW, kernels × launch)
 *   all-reduce (ring)     = L + 2(tp-1)/tp · bytes / busbw, two per layer (after O-proj, after down)
 *   all-reduce (twophase) = 2L + 2 · bytes / busbw   (reduce-scatter + all-gather, each paying L and
 *                           moving the whole message: the arithmetic of seed 002 / kipp.ly)
 *   all-reduce (one-shot) = the measured time of the engine's peer-memory kernel for that message
 *                           (`linfer calibrate`, lf_hw_oneshot_time) when it is shorter than the
 *                           above: the engine times both at start-up and takes the faster
 *
 * Ops are the engine's profiling categories (lf_op in engine/backend.h). See docs/roofline.md
 * for every formula and its assumptions. */
#ifndef LF_PERF_ROOFLINE_H
#define LF_PERF_ROOFLINE_H
#include <stdio.h>
#include "../engine/backend.h"
#include "presets.h"

typedef enum { LF_BOUND_NONE = 0, LF_BOUND_COMPUTE, LF_BOUND_MEMORY, LF_BOUND_COMM, LF_BOUND_LATENCY, LF_BOUND_COUNT } lf_bound;
const char *lf_bound_name(lf_bound b);        /* "-", "compute", "memory", "communication", "latency" */
/* Name of an op category, identical to lf_op_name() of the engine ("qkv", "all_reduce", ...). */
const char *lf_roofline_op_name(lf_op op);

typedef enum { LF_AR_RING = 0, LF_AR_TWOPHASE = 1 } lf_allreduce_model;
lf_status lf_allreduce_model_parse(const char *s, lf_allreduce_model *out);  /* "ring", "twophase" */

typedef struct {
    double launch_s;          /* per-kernel floor; < 0: the GPU's (measured or assumed); 0: off.
                               * Used when no kernel-chain curve applies (see kernel_s) */
    double kernel_s;          /* per-kernel overhead added to the roofline time: < 0 (default) the
                               * GPU's measured kernel-chain curve when there is one and launch_s
                               * is < 0, else the launch floor; >= 0 this flat overhead */
    double ar_latency_s;      /* < 0: the GPU's */
    double busbw;             /* all-reduce bandwidth per direction, B/s; < 0: the GPU's */
    lf_allreduce_model ar_model;
    int kv_bytes;             /* bytes per cached K/V element (2; 1 for an fp8 cache) */
    int act_bytes;            /* bytes per activation element (2) */
    int ar_bytes;             /* bytes per element of the hidden state's all-reduces (0: act_bytes; linfer's
                               * CUDA engine sums its fp32 residual: 4) */
    int causal_skip;          /* 1: prefill attention counts only the causal triangle (flash) */
    double mem_util;          /* usable fraction of device memory (0.90) */
    double workspace_bytes;   /* per GPU: CUDA context, cuBLAS and NCCL workspaces (512 MiB) */
    double knee;              /* knee_batch: step time this much above batch 1's (0.10) */
    /* Pipeline parallelism: the layers split into pp stages (1: none) of tp GPUs each, the
     * residual sent between them (latency + bytes / busbw per hop); a step of batch sequences
     * runs as pp_micro micro-batches of batch / M sequences (0: as the engine, pp for steps of
     * >= 128 tokens, else 1), so that it takes (M + pp - 1) micro-batch stage times. */
    int pp, pp_micro;
} lf_roofline_opts;
void lf_roofline_default_opts(lf_roofline_opts *o);

typedef struct {
    double flops;             /* per GPU, summed over layers */
    double bytes_weight, bytes_act, bytes_kv_read, bytes_kv_write;   /* HBM traffic per GPU */
    double comm_bytes;        /* collective payload per GPU (message size × count) */
    int comm_count;           /* collectives */
    int kernels;              /* kernel launches */
    int layers;               /* the op repeats in each of this many layers (1: once per step) */
    double t_compute, t_memory, t_launch;  /* the three roofline terms, summed, s */
    double t_comm_lat, t_comm_bw;          /* latency and bandwidth terms of collectives, s */
    double time;              /* predicted, s */
    double per_layer_s;       /* time of one layer's instances (0 for once-per-step ops) */
    double intensity;         /* FLOPs per HBM byte (0 when no bytes) */
    lf_bound bound;
} lf_op_cost;

typedef struct {
    int batch, q_len, ctx;    /* each of batch sequences runs q_len new tokens attending over ctx
                               * positions (prefill: q_len = ctx = in; decode: q_len 1) */
    long tokens;              /* batch × q_len */
    lf_op_cost op[LF_OP_COUNT];
    double flops, bytes, comm_bytes, time;
    double t_bound[LF_BOUND_COUNT];   /* time by the bound of each op */
    lf_bound bound;           /* the bound most of the time falls under */
    int overhead_added;       /* 1: op time = max(compute, memory) + t_launch (kernel-chain or flat
                               * overhead); 0: max(compute, memory, t_launch) (launch floor) */
} lf_roofline_phase;

/* One op's time from its compute, memory and per-kernel terms: max(tc, tm) + tl when the
 * per-kernel overhead is added (overhead_added), else max(tc, tm, tl) (the launch floor). */
double lf_roofline_op_time(int overhead_added, double tc, double tm, double tl);

typedef struct {
    double weights, kv_cache, activations, workspace, total;   /* bytes per GPU */
    double available;         /* device memory × mem_util */
    double kv_per_token;      /* per GPU, all layers */
    int fits;
} lf_roofline_memory;

typedef struct {
    int tp, batch, in_len, out_len;
    int pp, pp_micro_prefill, pp_micro_decode;   /* pipeline stages and micro-batches used (1: none) */
    lf_prec prec;
    double params;            /* parameter count of the model */
    double peak_flops, bw, busbw, ar_latency_s, launch_s;   /* ceilings used */
    int overhead_model;       /* per-kernel term: 0 launch floor (launch_s), 1 measured kernel-chain curve, 2 flat kernel_s */
    double kernel_s;          /* the flat overhead (overhead_model 2) */
    /* the phases: every op of the whole step on one stage's GPU (all layers); with pp > 1 the
     * step times below (ttft_s, tpot_*) are the pipeline's, not these phases' sums */
    lf_roofline_phase prefill;       /* all prompts; also samples the first token */
    lf_roofline_phase decode_first;  /* decode step at ctx = in + 1 */
    lf_roofline_phase decode_last;   /* decode step at ctx = in + out - 1 */
    int decode_steps;         /* out - 1 (the first token comes from the prefill) */
    double ttft_s;
    double tpot_first_s, tpot_mean_s, tpot_last_s;   /* 0 when out == 1 */
    double decode_s;          /* all decode steps */
    double e2e_s;             /* ttft + decode */
    double throughput_tok_s;  /* batch·out / e2e */
    double prefill_tok_s;     /* batch·in / ttft */
    double decode_tok_s;      /* batch / tpot_mean */
    lf_roofline_memory mem;
    int max_batch;            /* largest batch that fits at this in/out (0: not even one) */
    double ops_per_byte;      /* peak FLOP/s / bandwidth, one GPU */
    int critical_batch;       /* smallest decode batch whose weight GEMMs are compute-bound (0: none <= 2^20) */
    double seed_rule_batch;   /* seed 002's rule of thumb: ops:byte × GPUs */
    int knee_batch;           /* smallest decode batch whose step takes (1+knee)× batch 1's */
    long input_token_threshold; /* smallest prompt tokens (batch·in) whose prefill GEMMs are compute-bound */
} lf_roofline_result;

/* Refuse impossible combinations before any sweep runs: tp not a power of two or above max_tp
 * (max_tp <= 0: no limit), heads / KV heads / FFN not divisible by tp, precision the GPU lacks,
 * bad shape. One-line message naming the problem. */
lf_status lf_roofline_check(const lf_roofline_model *m, const lf_hw *hw, int tp, lf_prec prec, int max_tp);
/* And the lengths: in >= 1, out >= 1, batch >= 1, in + out within the model's context (if known). */
lf_status lf_roofline_check_point(const lf_roofline_model *m, int batch, int in_len, int out_len);

/* One phase. opts may be NULL (defaults). */
lf_status lf_roofline_prefill(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                              int tp, int batch, int in_len, lf_prec prec, lf_roofline_phase *out);
lf_status lf_roofline_decode(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                             int tp, int batch, int ctx, lf_prec prec, lf_roofline_phase *out);
/* General step: batch sequences each with q_len new tokens attending over ctx positions
 * (ctx >= q_len), as the engine's token batches do (chunked prefill, speculative decoding). */
lf_status lf_roofline_step(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                           int tp, int batch, int q_len, int ctx, lf_prec prec, lf_roofline_phase *out);
lf_status lf_roofline_memory_use(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                                 int tp, int batch, int in_len, int out_len, lf_prec prec, lf_roofline_memory *out);
/* Everything for one sweep point. */
lf_status lf_roofline_point(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                            int tp, int batch, int in_len, int out_len, lf_prec prec, lf_roofline_result *out);

/* The formulas with the numbers of r put in. */
void lf_roofline_explain(FILE *f, const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                         const lf_roofline_result *r);

#endif
