/* bench.h — the library part of `linfer bench`: statistics helpers, sweep expansion, running a
 * sweep of (batch, in, out, dtype) points on an engine, roofline predictions beside each point,
 * and CSV/JSON output written atomically.
 *
 *   lf_bench_point *pts; int n;
 *   lf_bench_expand(batch, nb, in, ni, out, no, dtypes, nd, &pts, &n);
 *   lf_bench_opts o; lf_bench_default_opts(&o); o.device = LINFER_DEVICE_CPU; o.hw = &hw;
 *   lf_bench_model bm = {.cfg = &cfg, .name = "tiny"};          (or .model = a loaded model)
 *   lf_bench_result *res = calloc(n, sizeof *res); int done;
 *   lf_bench_run(&bm, &o, pts, n, res, &done);
 *   lf_bench_write_json("out.json", &meta, res, done);
 *
 * Timing (see docs/bench.md): TTFT is the engine's (prefill of the whole batch until the first
 * tokens are known). Per decode step the token callback timestamps the first token of each step
 * with a monotonic clock; the differences between consecutive steps are the inter-token latencies
 * (ITL) whose percentiles are the TPOT p50/p95/p99. TPOT mean is the engine's decode time divided
 * by its decode steps. E2E is the wall time of one linfer_generate call.
 *
 * GPU sampling: with opts.nvml (an open lf_nvml_sampler) and the CUDA device, NVML is read every
 * period (20 ms) from the first timed repetition of a point to the end of its last (warm-ups are
 * not sampled): utilisation, memory in use, power and SM clock (lf_bench_result, "NVML" fields). */
#ifndef LF_PERF_BENCH_H
#define LF_PERF_BENCH_H
#include <stdint.h>
#include "../core/error.h"
#include "linfer.h"
#include "nvml_sampler.h"
#include "presets.h"
#include "table.h"

/* ---- statistics (n values; x is not modified) -------------------------------------------- */
double lf_stat_mean(const double *x, int n);                 /* NAN when n == 0 */
double lf_stat_std(const double *x, int n);                  /* sample std (n - 1); 0 when n == 1 */
double lf_stat_cv(const double *x, int n);                   /* std / mean (NAN when mean == 0) */
/* p in [0, 100]: linear interpolation between closest ranks (NumPy's default); NAN when n == 0 */
double lf_stat_percentile(const double *x, int n, double p);
double lf_stat_median(const double *x, int n);

/* ---- sweep --------------------------------------------------------------------------------- */
typedef struct {
    int batch, in_len, out_len;
    linfer_compute_dtype dtype;
} lf_bench_point;

/* "fp32" (CPU), "fp16", "bf16" */
const char *lf_bench_dtype_name(linfer_compute_dtype d);
/* Comma-separated dtypes ("fp16,bf16"); *out malloc'd. */
lf_status lf_bench_parse_dtypes(const char *s, linfer_compute_dtype **out, int *n);
/* Cartesian product, dtype outermost, then batch, in, out (so an engine built for one dtype and
 * batch serves all its in/out points). *pts malloc'd. At most LF_BENCH_MAX_POINTS points. */
#define LF_BENCH_MAX_POINTS 4096
lf_status lf_bench_expand(const int *batch, int nb, const int *in, int ni, const int *out, int no,
                          const linfer_compute_dtype *dt, int nd, lf_bench_point **pts, int *n);
/* Refuse a sweep that cannot run, before anything runs: in + out beyond max_context, batch above
 * the engine's 4096, lengths < 1, fp32 on CUDA, fp16/bf16 on the CPU (it computes in fp32). */
lf_status lf_bench_check(const lf_bench_point *pts, int n, int max_context, linfer_device dev, const char *model_name);

/* ---- running -------------------------------------------------------------------------------- */
typedef enum { LF_BENCH_OK = 0, LF_BENCH_NOFIT, LF_BENCH_FAILED, LF_BENCH_INTERRUPTED } lf_bench_state;
const char *lf_bench_state_name(lf_bench_state s);      /* "ok", "does not fit", "failed", "interrupted" */

typedef struct {
    lf_bench_point pt;
    lf_bench_state state;
    int tp;                    /* tensor-parallel GPUs the point ran on (1: none) */
    char note[320];            /* "does not fit: needs X GiB, have Y GiB", the error, or "" */
    int warmup, reps;          /* runs done */
    double ttft_ms, ttft_p50_ms, ttft_std_ms;          /* over repetitions */
    double tpot_ms;                                    /* mean: engine decode time / decode steps */
    double tpot_p50_ms, tpot_p95_ms, tpot_p99_ms;      /* over all decode steps of all repetitions */
    double itl_ms;                                     /* mean inter-token latency (callback clock) */
    double e2e_ms, e2e_std_ms, e2e_p50_ms, e2e_p95_ms; /* over repetitions */
    double out_tok_s, total_tok_s;                     /* batch·out / e2e, batch·(in+out) / e2e */
    double cv_ttft, cv_tpot, cv_e2e;                   /* coefficient of variation over repetitions */
    int noisy;                                         /* some cv above opts.cv_flag */
    double peak_rss_bytes;     /* host peak RSS during the point (process peak when it cannot be reset) */
    double gpu_mem_bytes;      /* GPU memory in use after the runs (device-wide); NAN on the CPU */
    /* NVML during the timed repetitions (lf_bench_opts.nvml), over the GPUs sampled, pooled: means
     * over every reading of every GPU, max / peak over all of them (the fullest single GPU). NAN and
     * 0 when not sampled (the CPU, NVML not available, a point that did not run). */
    int nvml_gpus;             /* GPUs sampled */
    int nvml_samples;          /* readings, summed over the GPUs */
    double gpu_util_mean_pct, gpu_util_max_pct;   /* % of time a kernel was running (not SM occupancy) */
    double mem_util_mean_pct;  /* % of time device memory was being read or written */
    double nvml_peak_mem_bytes;/* largest NVML memory used seen (device-wide, like gpu_mem_bytes) */
    double power_mean_w;       /* per GPU */
    double sm_clock_mean_mhz;
    double pred_ttft_ms, pred_tpot_ms, pred_e2e_ms;    /* roofline; NAN without ceilings */
    double pred_mem_bytes;     /* roofline memory of the point (16-bit; CPU: scaled to fp32) */
    double eff_ttft, eff_tpot; /* predicted / measured */
    double wall_s;             /* the point's time including warm-up and engine creation */
} lf_bench_result;

/* Called before each run (warm-up or timed) of each point; return non-zero to stop the sweep
 * after the current point. */
typedef int (*lf_bench_progress_fn)(void *user, int point, int n_points, int run, int n_runs);
/* Called when a point is finished (whatever its state). */
typedef void (*lf_bench_point_fn)(void *user, const lf_bench_result *r, int point, int n_points);

typedef struct {
    linfer_device device;
    int gpu_index, n_threads;
    int warmup, reps;          /* defaults 2, 5 */
    uint64_t seed;             /* random weights and synthetic prompts (42) */
    double cv_flag;            /* 0.03 */
    const lf_hw *hw;           /* ceilings for predictions; NULL: no predictions */
    lf_bench_progress_fn progress;
    lf_bench_point_fn on_point;
    /* Optional: asked after each finished point; non-zero stops the sweep there (a stop requested
     * during a point's last run, after its last progress call, is seen here). */
    int (*stop_requested)(void *user);
    /* Tensor parallelism (CUDA): this process is rank tp_rank of tp_size, tp_comm the NCCL
     * communicator (src/dist/launcher.h); every rank runs the same sweep. 0/1: none. */
    int tp_size, tp_rank;
    void *tp_comm;
    /* Pipeline parallelism (CUDA; linfer.h): stage pp_stage of pp_size, pp_micro micro-batches
     * (0: as the engine), pp_comm the NCCL communicator of the job. 0/1: none. The predictions
     * use the roofline's pipeline model (lf_roofline_opts.pp). */
    int pp_size, pp_stage, pp_micro;
    void *pp_comm;
    int tp_invariant;   /* CUDA: the TP-invariant mode (linfer.h); the predictions still model the fast kernels */
    /* Optional (CUDA only): an open sampler (lf_nvml_sampler_open, not owned) started and stopped
     * around each point's timed repetitions. NULL: the NVML fields stay NAN / 0. */
    lf_nvml_sampler *nvml;
    void *user;
} lf_bench_opts;
void lf_bench_default_opts(lf_bench_opts *o);

/* What to run: a config with random weights (a new random model per dtype), or a loaded model
 * (not owned). name is used in reports. */
typedef struct {
    const lf_config *cfg;
    linfer_model *model;
    const char *name;
} lf_bench_model;

/* Runs the points in order, building one engine per (dtype, batch, largest context of the
 * remaining points of that dtype and batch) and reusing it. res[0..*n_done-1] are filled; a point
 * that fails or does not fit is recorded and the sweep goes on; an interrupted point
 * (linfer_request_interrupt) is recorded and ends the sweep. Fails only on bad arguments. */
lf_status lf_bench_run(const lf_bench_model *bm, const lf_bench_opts *o, const lf_bench_point *pts, int n,
                       lf_bench_result *res, int *n_done);

/* ---- output -------------------------------------------------------------------------------- */
typedef struct {
    const char *model, *device, *device_name, *driver, *cuda_runtime, *git_commit, *command, *date;
    const char *calibration;   /* where the ceilings came from */
    const char *hw_name;       /* roofline hardware entry used */
    double ceil_bw, ceil_flops, ceil_launch_s;   /* ceilings used by the predictions */
    int warmup, reps;
    const char *overhead;      /* the roofline's per-kernel term (lf_hw_overhead_desc), or NULL */
} lf_bench_meta;

/* Every field of every point, one row per point (numbers at full precision in JSON). */
lf_table *lf_bench_table(const lf_bench_result *r, int n, const char *model);
/* CSV: the table's columns, then the metadata repeated as columns on every row. */
lf_status lf_bench_write_csv(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n);
/* JSON: {"meta": {...}, "points": [{...}, ...]}. */
lf_status lf_bench_write_json(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n);
/* Can path be written (creates and removes path.tmp)? */
lf_status lf_bench_check_writable(const char *path);

/* Current time as ISO 8601 UTC ("2026-11-21T10:00:00Z"). */
const char *lf_iso_date(char *buf, size_t cap);
#endif
