/* profile.h — the library part of `linfer profile`: measured time per op category, per phase
 * (prefill, decode at early context, decode at late context), set beside the roofline's per-op
 * FLOPs, bytes and predicted time, sorted by the time lost against the roofline.
 *
 * Where the numbers come from
 * ---------------------------
 * The engine (src/engine/engine.c) calls an lf_step_hook after every *step* of linfer_generate:
 * the prefill (all prompt chunks plus the sampling of the first tokens) and each decode step
 * (one forward of the active sequences plus the sampling of their next tokens). A step's wall
 * time (step_ms) is taken with the monotonic clock from the end of the previous step (after the
 * previous hook returned) to the end of this step's sampling, so it contains everything the host
 * did: batch building, logits scatter, token callbacks, detokenisation. op_ms[] is the time
 * inside the step per lf_op category:
 *   - the backend's own timers: lf_backend.op_ms[op], accumulated while lf_backend.profile is set
 *     (the CPU backend wraps each op of cpu_forward in a monotonic-clock TIMED region);
 *   - the engine's host sampling (lf_sample), added to op_ms[LF_OP_SAMPLING].
 * The engine zeroes lf_backend.op_ms at the start of every step. "other/host gaps" is step_ms
 * minus the sum of the categories; nothing is counted twice because every TIMED region is
 * disjoint and lies inside one step.
 *
 * How a GPU backend feeds it (CUPTI, src/cuda)
 * ---------------------------------------------
 * Nothing here is CPU specific. A GPU backend adds, before forward()/forward_ids() returns,
 * the device time of every kernel (and library call: cuBLAS GEMMs, NCCL all-reduce) it launched
 * in that forward to lf_backend.op_ms[category] — e.g. CUPTI activity records of kind
 * CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL / MEMCPY, mapped to an lf_op by the launch site (a
 * correlation id → lf_op table filled when the launch is made, or an NVTX range per op), flushed
 * with cuptiActivityFlushAll after the step's stream synchronisation. Device-side argmax or sampling
 * (forward_ids) is LF_OP_SAMPLING. If it can count kernels, it passes the counts in
 * lf_step_info.op_calls (per category, for this step); otherwise calls are derived from the
 * model structure (lf_profile_calls_per_forward, which mirrors the CPU backend's timed regions).
 * A collector that does not go through the engine hook can also fill an lf_profile directly with
 * lf_profile_add_step(): per phase, arrays of time and calls per lf_op plus the step's wall time.
 * On a GPU "other/host gaps" is then the time the GPU was idle or the host was the bottleneck.
 *
 * Usage:
 *   lf_profile p; lf_profile_init(&p, &cfg, batch, in, out);
 *   lf_engine_set_step_hook(eng, lf_profile_hook, &p);   ... linfer_generate(...) ...
 *   lf_engine_set_step_hook(eng, NULL, NULL);
 *   lf_profile_predict(&p, &roofline_model, &hw, &ropts, prec, bytes_scale);
 *   lf_profile_rows rows; lf_profile_phase_rows(&p, LF_PHASE_DECODE_EARLY, &rows);   (sorted by lost time)
 *   lf_profile_write_json("p.json", &meta, &p);
 */
#ifndef LF_PERF_PROFILE_H
#define LF_PERF_PROFILE_H
#include <stdio.h>
#include "../core/error.h"
#include "../engine/backend.h"
#include "linfer.h"
#include "presets.h"
#include "roofline.h"
#include "table.h"

/* ---- the engine's per-step hook (implemented in src/engine/engine.c) ----------------------- */
typedef enum { LF_STEP_PREFILL = 0, LF_STEP_DECODE = 1 } lf_step_kind;

typedef struct {
    lf_step_kind kind;
    int index;           /* 0: the prefill; k >= 1: decode step k */
    int n_seqs;          /* sequences in the step */
    int n_tokens;        /* tokens run through the model (prefill: all prompt tokens; decode: n_seqs) */
    int n_forwards;      /* backend forward calls (prefill chunks; 1 per decode step) */
    long ctx_sum;        /* summed over the sequences: positions attended after the step (prefill: prompt
                          * length; decode: position + 1) */
    int n_sampled;       /* host lf_sample calls (0 when the device took the argmax) */
    double step_ms;      /* wall time of the step (monotonic clock), the hook's own time excluded */
    const double *op_ms; /* [LF_OP_COUNT] time per op category inside the step */
    const double *op_calls; /* [LF_OP_COUNT] or NULL: invocations per category, when the backend counts them */
} lf_step_info;

typedef void (*lf_step_hook)(void *user, const lf_step_info *s);
/* Call fn after every step of linfer_generate on e (NULL: off). Sets the backend's profile flag
 * (its per-op timers run only while a hook is set) and clears its op_ms. */
void lf_engine_set_step_hook(linfer_engine *e, lf_step_hook fn, void *user);
/* The engine's backend (its op_ms, params). */
lf_backend *lf_engine_backend(linfer_engine *e);

/* ---- the per-phase record ------------------------------------------------------------------- */
typedef enum { LF_PHASE_PREFILL = 0, LF_PHASE_DECODE_EARLY, LF_PHASE_DECODE_LATE, LF_PHASE_COUNT } lf_phase;
const char *lf_phase_name(lf_phase p);            /* "prefill", "decode_early", "decode_late" */

/* Categories of the report: the lf_op categories plus one for what no category covers. */
#define LF_PROF_OTHER LF_OP_COUNT
#define LF_PROF_NCAT (LF_OP_COUNT + 1)
/* "embedding", "norm", "qkv_gemm", "rope/kv-write", "attention", "o_gemm", "all_reduce",
 * "gate_up_gemm", "activation", "down_gemm", "lm_head", "sampling", "residual", "other/host-gaps" */
const char *lf_profile_cat_name(int cat);

typedef struct {
    /* measured (filled per step by lf_profile_add_step) */
    double ms[LF_OP_COUNT];        /* time per category, summed over the phase's steps */
    double calls[LF_OP_COUNT];     /* invocations per category */
    double step_ms;                /* wall time of the phase's steps */
    double step_ms_min, step_ms_max;
    int steps;
    double tokens, seqs;           /* summed over steps */
    double ctx_lo, ctx_hi;         /* smallest and largest mean context of a step */
    /* roofline for the same steps (lf_profile_predict), summed over steps */
    double flops[LF_OP_COUNT], bytes[LF_OP_COUNT];
    double pred_ms[LF_OP_COUNT];
    double pred_step_ms;           /* sum of pred_ms */
} lf_profile_phase;

typedef struct {
    lf_config cfg;                 /* model shape (for derived call counts) */
    int batch, in_len, out_len;
    int early_last;                /* decode steps 1..early_last are "early", later ones "late" */
    int tp;                        /* tensor-parallel degree of the run (the prediction is per GPU at this TP) */
    int runs;                      /* profiled generate calls added */
    int have_pred;                 /* lf_profile_predict done */
    double ceil_bw, ceil_flops;    /* ceilings of the prediction (B/s, FLOP/s; bandwidth as seen by
                                    * the bytes counted, see lf_profile_predict) */
    lf_profile_phase ph[LF_PHASE_COUNT];
    /* per-step shapes kept for the prediction: (phase, seqs, q_len, ctx) of every step, in order */
    struct lf_profile_step { int phase, seqs, q_len, ctx; } *steps;
    int n_steps, cap_steps;
    lf_status err;                 /* first failure inside the hook (out of memory), reported by callers */
} lf_profile;

/* cfg: the model run; batch/in/out: the generate calls that will be profiled (decode steps
 * 1..floor((out-1)/2) are early, the rest late; out - 1 decode steps in all). */
lf_status lf_profile_init(lf_profile *p, const lf_config *cfg, int batch, int in_len, int out_len);
void lf_profile_free(lf_profile *p);
/* Add one step (the engine hook does this; other collectors may call it directly). */
lf_status lf_profile_add_step(lf_profile *p, const lf_step_info *s);
/* An lf_step_hook: user is an lf_profile*. */
void lf_profile_hook(void *user, const lf_step_info *s);

/* Calls per category of one forward of the CPU backend (one per timed region or library call:
 * qkv = 3 GEMMs, gate_up = 2, residual = 2 per layer, norm = 2 per layer + the final one when
 * logits are wanted). Used when a backend does not count calls itself. */
void lf_profile_calls_per_forward(const lf_config *cfg, int n_out, double calls[LF_OP_COUNT]);

/* Roofline of every recorded step (lf_roofline_step with the step's sequences, new tokens per
 * sequence and mean context), summed per phase: FLOPs, bytes, predicted time per category. The
 * new K/V written to the cache are counted with rope/kv-write (where the CPU and CUDA backends
 * write them), not with attention. bytes_scale multiplies the roofline's bytes (which count 2
 * bytes per weight, activation and KV element): 2 for the CPU backend's fp32 tensors, 1 for a
 * 16-bit GPU backend; the bandwidth ceiling applies to the scaled bytes. hw NULL: no prediction. */
lf_status lf_profile_predict(lf_profile *p, const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *ro,
                             lf_prec prec, double bytes_scale);

/* One row per category of a phase, sorted by lost time (measured - predicted), largest first
 * (without a prediction: by measured time). */
typedef struct {
    int cat;                       /* lf_op, or LF_PROF_OTHER */
    double ms, share_pct, calls, ms_per_step;
    double flops, bytes;           /* NAN for other */
    double gbps, gflops;           /* achieved: bytes / ms, flops / ms (NAN without bytes or time) */
    double pred_ms, eff, lost_ms;  /* eff = pred / measured; NAN without a prediction */
} lf_profile_row;
typedef struct { lf_profile_row r[LF_PROF_NCAT]; int n; double cat_sum_ms; } lf_profile_rows;
void lf_profile_phase_rows(const lf_profile *p, lf_phase ph, lf_profile_rows *out);

/* ---- running ------------------------------------------------------------------------------ */
typedef struct {
    linfer_device device;
    linfer_compute_dtype dtype;    /* CUDA: F16/BF16; the CPU computes in fp32 whatever this says */
    int n_threads, gpu_index;
    int batch, in_len, out_len;
    int warmup;                    /* un-profiled runs first, not recorded (default 1) */
    int reps;                      /* then reps × (one un-profiled run, one profiled run), alternating (default 3) */
    uint64_t seed;                 /* synthetic prompts (the generator of `linfer generate` presets) */
    int tp_size, tp_rank;          /* CUDA tensor parallelism: this process is rank tp_rank of tp_size (0/1: none) */
    void *tp_comm;                 /* ncclComm_t of the ranks */
} lf_profile_run_opts;
void lf_profile_default_run_opts(lf_profile_run_opts *o);

typedef struct {
    double tpot_profiled_ms, tpot_unprofiled_ms;   /* the engine's TPOT, mean over reps */
    double ttft_profiled_ms, ttft_unprofiled_ms;
    const char *timing_source;     /* the backend's (lf_backend.timing_source): how op times were measured */
} lf_profile_timing;

/* Build an engine for m (batch sequences, context in + out), run the generate calls of o with
 * synthetic prompts (greedy, EOS ignored), record the profiled ones into p (lf_profile_init'ed
 * here; free with lf_profile_free) and time the un-profiled ones. */
lf_status lf_profile_run(linfer_model *m, const lf_profile_run_opts *o, lf_profile *p, lf_profile_timing *t);

/* ---- output ------------------------------------------------------------------------------- */
typedef struct {
    const char *model, *device, *device_name, *git_commit, *command, *date;
    const char *hw;                /* where the ceilings come from ("none": no prediction) */
    int reps, warmup;
    double tpot_profiled_ms, tpot_unprofiled_ms;   /* engine TPOT, mean over runs */
    double ttft_profiled_ms, ttft_unprofiled_ms;
    const char *timing_source;     /* how the op times were measured (lf_profile_timing) */
    int tp, rank;                  /* tensor parallelism: this profile is rank `rank` of `tp` GPUs */
} lf_profile_meta;

/* Rows of every phase: phase, cat, op, ms, share_pct, calls, ms_per_step, gflop, gbytes, gbps,
 * gflops, intensity, pred_ms, eff, lost_ms. */
lf_table *lf_profile_table(const lf_profile *p);
/* The text report: per phase a header line and the rows sorted by lost time. */
void lf_profile_print(FILE *f, const lf_profile *p, const lf_profile_meta *m);
/* {"kind": "profile", "meta": {...}, "phases": [{"phase", "steps", "step_ms", ..., "ops": [...]}]}
 * and CSV (the table plus the meta as columns); both written atomically (FILE.tmp, rename). */
lf_status lf_profile_write_json(const char *path, const lf_profile_meta *m, const lf_profile *p);
lf_status lf_profile_write_csv(const char *path, const lf_profile_meta *m, const lf_profile *p);
/* lf_write_file_atomic (path.tmp, fsync, rename) is in core/atomic_file.h */
#include "../core/atomic_file.h"

#endif
