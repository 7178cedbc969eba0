/* recipe.h — `linfer bench --recipe NAME`: preset sweeps that reproduce the benchmark notes in
 * ../shared/seeds/ (seed 000: DeepSpeed/transformers experiments 1-4 on LLaMA-13B/65B; seed 004:
 * DeepSpeed-Inference's ms/token table for batch 1..128), and checkers that hold each seed's
 * conclusion against the finished points: the measured numbers and the roofline prediction that
 * bench computes beside each point.
 *
 *   const lf_recipe *r; lf_recipe_lookup("exp3", &r);        unknown names list the known ones
 *   lf_recipe_check_tp(&shape, tp, ntp, ...);                 impossible TP values: refused
 *   lf_recipe_plan_tp(tp, ntp, n_gpus, plan, &nrun, ...);     TP 1 runs; the rest: roofline only
 *   ... lf_bench_run(...) ...
 *   lf_recipe_points_from_bench(res, n, pts);                 the points that ran (TP 1)
 *   lf_recipe_predict_tp(&shape, hw, ..., tp_pts);            roofline for every TP asked
 *   lf_recipe_conclude(&data, c, LF_RECIPE_MAX_CONCLUSIONS);  1-3 lines "seed says ...; AGREES"
 *   lf_recipe_write_json(path, &meta, res, n, &info);         bench's JSON + the recipe in "meta"
 *
 * Recipes run TP 1 only (`linfer bench --tp N` runs whole sweeps at TP N): TP values above 1 are not run; they
 * are predicted by the roofline (docs/bench.md, "Recipes"). Library code: failures return an lf
 * status with a message naming the culprit; nothing here exits or prints. */
#ifndef LF_PERF_RECIPE_H
#define LF_PERF_RECIPE_H
#include "../core/error.h"
#include "bench.h"
#include "presets.h"
#include "roofline.h"
#include "table.h"

/* Relative change the checkers treat as "no change" (the seeds' "barely", "does not rise"). */
#define LF_RECIPE_TOL 0.10

typedef enum { LF_RECIPE_EXP1 = 0, LF_RECIPE_EXP2, LF_RECIPE_EXP3, LF_RECIPE_EXP4, LF_RECIPE_DS_TABLE, LF_RECIPE_COUNT } lf_recipe_id;

typedef struct {
    lf_recipe_id id;
    const char *name;          /* "exp1" */
    const char *title;         /* one line: what is swept and what is measured */
    const char *source;        /* seed file and section */
    const char *model;         /* model preset the seed measured (or the nearest one that runs) */
    const char *seed_model;    /* the model named in the seed */
    const char *batch, *in, *out, *tp;   /* default lists (lf_parse_int_list syntax) */
    const char *ref_hw;        /* GPU preset of the seed's setup: TP predictions where this device's
                                * ceilings have no interconnect (the CPU) */
} lf_recipe;

const lf_recipe *lf_recipes(int *n);
/* Case-insensitive; an unknown name fails with a message listing the known recipes. */
lf_status lf_recipe_lookup(const char *name, const lf_recipe **out);
/* Comma-separated recipe names into buf. */
const char *lf_recipe_names(char *buf, size_t cap);

/* ---- tensor parallelism ---------------------------------------------------------------------- */
/* Refuse TP values that cannot exist for this model on a node of max_tp GPUs (max_tp <= 0: no
 * limit): below 1, not a power of two, above max_tp, attention heads / KV heads / FFN width not
 * divisible. node names the node in messages ("h100-sxm"). The message names the TP value. */
lf_status lf_recipe_check_tp(const lf_roofline_model *m, const int *tp, int ntp, int max_tp, const char *node);

typedef struct {
    int tp;
    int run;                   /* 1: measured; 0: roofline only */
    char why[200];             /* why it is not measured ("" when run) */
} lf_recipe_tp;

/* Which TP values run: TP 1, on one GPU or the CPU (the engine has no tensor parallelism yet);
 * the others get the reason. n_gpus: GPUs of this machine (0 on the CPU). Fails when nothing can
 * run (no TP 1 in the list), naming the list. plan has room for ntp entries. */
lf_status lf_recipe_plan_tp(const int *tp, int ntp, int n_gpus, lf_recipe_tp *plan, int *n_run);
/* "TP 2, 4 not run: <why>" (empty when every TP runs). */
const char *lf_recipe_skipped_text(const lf_recipe_tp *plan, int ntp, char *buf, size_t cap);

/* ---- points the checkers read ------------------------------------------------------------------ */
typedef struct {
    int tp, batch, in_len, out_len;
    int measured;              /* 1: ran and finished ok */
    int nofit;                 /* 1: did not fit in memory (measured = 0) */
    double e2e_ms, tpot_ms, out_tok_s;        /* measured (NAN when not) */
    double mem_gib;            /* device memory measured: GPU memory in use; on the CPU, peak RSS */
    double host_gib;           /* host peak RSS */
    double pred_e2e_ms, pred_tpot_ms, pred_tok_s, pred_mem_gib;   /* roofline (NAN without ceilings) */
    int pred_max_batch;        /* roofline: largest batch that fits at this in/out (0: unknown) */
} lf_recipe_point;

/* One lf_recipe_point per bench result (tp 1). gpu: the device was a GPU (mem_gib from GPU memory). */
void lf_recipe_points_from_bench(const lf_bench_result *res, int n, int gpu, lf_recipe_point *out);
/* Roofline for every TP value × every distinct (batch, in, out) of pts: *out malloc'd, *nout set.
 * cpu_fp32: predictions for the CPU backend (fp32: half the bandwidth, twice the bytes, no launch
 * floor or workspace), as bench's own predictions. */
lf_status lf_recipe_predict_tp(const lf_roofline_model *m, const lf_hw *hw, int cpu_fp32, lf_prec prec, const int *tp, int ntp,
                               const lf_bench_point *pts, int n, lf_recipe_point **out, int *nout);

/* ---- conclusions ------------------------------------------------------------------------------- */
typedef enum { LF_VERDICT_AGREES = 0, LF_VERDICT_DISAGREES, LF_VERDICT_INCONCLUSIVE } lf_verdict;
const char *lf_verdict_name(lf_verdict v);   /* "AGREES", "DISAGREES", "INCONCLUSIVE" */

typedef struct {
    char claim[320];           /* "seed says ..." */
    char measured[480];
    char roofline[480];
    lf_verdict verdict;
    int roofline_only;         /* the verdict rests on the roofline (nothing measured for it) */
    char text[1400];           /* "seed says X; measured: ...; roofline: ...; AGREES" */
} lf_conclusion;

#define LF_RECIPE_MAX_CONCLUSIONS 3

typedef struct {
    const lf_recipe *recipe;
    const lf_recipe_point *pts;    /* the points that ran (TP 1), in sweep order */
    int n;
    const lf_recipe_point *tp_pts; /* roofline for every TP asked (may be NULL) */
    int n_tp;
    const char *tp_hw;             /* hardware of tp_pts, for the text */
    const char *skipped;           /* "TP 2, 4 not run: ..." or NULL */
    int have_roofline;             /* 0: no ceilings (--hw none) */
} lf_recipe_data;

/* The recipe's conclusions (1..cap of them); returns how many were written. */
int lf_recipe_conclude(const lf_recipe_data *d, lf_conclusion *out, int cap);

/* The helper the checkers share: ys over ascending batches; the index of the last batch up to which
 * every y stays within (1 + tol) of ys[0] (a NAN or +inf y ends the run). -1 when n is 0 or ys[0]
 * is not finite. A curve flat to batch 16, then rising, gives the index of 16. */
int lf_recipe_flat_until(const double *ys, int n, double tol);

/* Seed 004's table (DeepSpeed-Inference fp16, bloom-7b1 on 8x RTX A6000, ms per token). */
typedef struct {
    int batch;
    double ms_per_token;
} lf_seed_ms_token;
const lf_seed_ms_token *lf_recipe_seed004(int *n);

/* A table for the terminal and JSON: the roofline for every TP (exp3, exp4; NULL when only TP 1),
 * or the seed-004 comparison (ds-table). NULL when there is nothing to show. */
lf_table *lf_recipe_table(const lf_recipe_data *d);

/* ---- output -------------------------------------------------------------------------------------- */
typedef struct {
    const lf_recipe *recipe;
    const char *tp_list;           /* the TP values asked ("1,2,4") */
    const char *skipped;           /* lf_recipe_skipped_text or "" */
    const char *tp_hw;             /* hardware of the TP predictions */
    const lf_conclusion *c;
    int nc;
    const lf_table *table;         /* lf_recipe_table (may be NULL) */
} lf_recipe_info;

/* bench's JSON with "recipe", "recipe_source", "recipe_tp", "recipe_skipped", "recipe_tp_hw",
 * "conclusions" (and "recipe_table") added to "meta"; written atomically (path.tmp, fsync,
 * rename) once complete. */
lf_status lf_recipe_write_json(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n, const lf_recipe_info *ri);
/* bench's CSV with two more columns on every row: recipe, conclusions (joined with " | "). */
lf_status lf_recipe_write_csv(const char *path, const lf_bench_meta *m, const lf_bench_result *r, int n, const lf_recipe_info *ri);

#endif
