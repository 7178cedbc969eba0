/* report.h — the library part of `linfer report`: read the JSON results of `linfer bench --json`,
 * `linfer roofline --format json` and `linfer profile --json`, and build one self-contained HTML
 * page from them: charts (rendered by gnuplot as SVG, embedded as base64 data URIs, so the page
 * needs no other file) and tables of every point with its metadata.
 *
 * Charts (each skipped with a note on the page, never an error, when its inputs are missing):
 *   exp1        TTFT and E2E latency vs batch, one line per input length (bench)
 *   exp2        TPOT and E2E latency vs batch, one line per output length (bench)
 *   exp3        E2E latency and output tok/s vs batch, one line per TP (bench)
 *   exp4        peak GPU memory and peak host memory vs batch (bench)
 *   pred        measured vs predicted for every bench point (TTFT, TPOT, E2E) and every profiled
 *               op, log-log with the y = x line
 *   roofline-K  arithmetic intensity vs achieved FLOP/s with the bandwidth and compute roofs,
 *               each op of profile K placed on it, one series per phase
 *   op-share    per-op share of the step, stacked bars, prefill and decode side by side:
 *               measured (profiles) and predicted (roofline --per-op results, one bar per TP)
 * plus the ds-table (a DeepSpeed-Inference style results table) when a bench result carries the
 * recipe "ds-table". A bench result with a recipe (meta.recipe = "exp1".."exp4", "ds-table")
 * feeds only that recipe's chart; results without one feed every chart they can.
 *
 * gnuplot runs as a child process (posix_spawnp) on a generated script in a temporary directory;
 * when it is missing or fails, the charts are skipped with the reason and the tables remain. */
#ifndef LF_PERF_REPORT_H
#define LF_PERF_REPORT_H
#include "../core/error.h"

typedef enum { LF_RESULT_BENCH = 0, LF_RESULT_ROOFLINE, LF_RESULT_PROFILE } lf_result_kind;
const char *lf_result_kind_name(lf_result_kind k);   /* "bench", "roofline", "profile" */

struct cJSON;
typedef struct {
    char *path;
    lf_result_kind kind;
    struct cJSON *json;     /* the parsed file (owned) */
    char recipe[32];        /* bench: meta.recipe ("" when absent) */
} lf_result;

/* Read and classify one result file. Failures name the file: missing or unreadable, not JSON
 * (with the byte offset), or JSON of no known kind. */
lf_status lf_result_load(const char *path, lf_result *out);
void lf_result_free(lf_result *r);

typedef struct {
    const char *title;      /* page title (default "linfer report") */
    const char *gnuplot;    /* program to run (default $LINFER_GNUPLOT, else "gnuplot") */
    const char *keep_dir;   /* write scripts, data and SVGs there and keep them (NULL: a temporary
                             * directory, removed afterwards) */
    int width, height;      /* chart size in pixels (default 960 x 420) */
} lf_report_opts;
void lf_report_default_opts(lf_report_opts *o);

#define LF_REPORT_MAX_ITEMS 64
typedef struct {
    int n;                                  /* charts attempted */
    char id[LF_REPORT_MAX_ITEMS][48];       /* "exp1", "roofline-1", ... (HTML: id="chart-<id>") */
    int ok[LF_REPORT_MAX_ITEMS];            /* 1: embedded; 0: skipped */
    char note[LF_REPORT_MAX_ITEMS][256];    /* why it was skipped */
    int n_ok;
} lf_report_summary;

/* Build the page from n results and write it to html_path atomically. Fails only on bad
 * arguments, out of memory or an unwritable output; chart problems are notes in summary. */
lf_status lf_report_write(const char *html_path, const lf_result *res, int n, const lf_report_opts *o, lf_report_summary *summary);

#endif
