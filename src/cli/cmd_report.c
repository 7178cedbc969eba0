/* cmd_report.c — `linfer report RESULTS.json... -o report.html`: one self-contained HTML page
 * (charts by gnuplot, embedded; tables of every point) from bench, roofline and profile JSON
 * results. The page is built by src/perf/report.c; this file parses options and says what was
 * drawn and what was skipped. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "perf/bench.h"
#include "perf/report.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: linfer report RESULTS.json... -o report.html [--title T] [--keep-dir DIR] [--gnuplot PROG]\n"
            "Builds one self-contained HTML page (charts as embedded SVG, no other files) from the JSON of\n"
            "`linfer bench --json`, `linfer roofline --format json [--per-op]` and `linfer profile --json`:\n"
            "exp1 latency vs batch per input length, exp2 per output length, exp3 latency and tok/s per TP, exp4 peak\n"
            "GPU and host memory, the ds-table (bench results of recipe ds-table), measured vs predicted for every point,\n"
            "the roofline with each profiled op placed on it, per-op share stacked bars for prefill and decode, and a\n"
            "table of every point with its metadata. A bench result with a recipe (meta.recipe) feeds only its chart.\n"
            "Charts whose inputs are missing are skipped with a note. gnuplot (Debian: gnuplot-nox) draws the charts.\n"
            "  -o, --output FILE      the HTML page (written atomically)\n"
            "      --title T          page title (default \"linfer report\")\n"
            "      --keep-dir DIR     keep the gnuplot scripts, data and SVG files there\n"
            "      --gnuplot PROG     gnuplot to run (default $LINFER_GNUPLOT, else gnuplot on PATH)\n"
            "      --size WxH         chart size in pixels (default 960x420)\n");
}

int cmd_report(int argc, char **argv) {
    enum { O_TITLE = 400, O_KEEP, O_GNUPLOT, O_SIZE };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"title", required_argument, 0, O_TITLE},
                                         {"keep-dir", required_argument, 0, O_KEEP}, {"gnuplot", required_argument, 0, O_GNUPLOT},
                                         {"size", required_argument, 0, O_SIZE}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    lf_report_opts ro;
    lf_report_default_opts(&ro);
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_TITLE: ro.title = optarg; break;
        case O_KEEP: ro.keep_dir = optarg; break;
        case O_GNUPLOT: ro.gnuplot = optarg; break;
        case O_SIZE:
            if (sscanf(optarg, "%dx%d", &ro.width, &ro.height) != 2 || ro.width < 200 || ro.height < 150 || ro.width > 10000 || ro.height > 10000) {
                fprintf(stderr, "linfer: report: --size '%s': give WxH, e.g. 960x420 (200x150 .. 10000x10000)\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!out) { fprintf(stderr, "linfer: report: no output: give -o report.html\n"); return 2; }
    int n = argc - optind;
    if (n <= 0) { fprintf(stderr, "linfer: report: no result files (give the JSON of bench, roofline or profile)\n"); return 2; }
    lf_result *res = calloc((size_t)n, sizeof *res);
    if (!res) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
    int rc = 0, loaded = 0;
    lf_status s;
    for (int i = 0; i < n; i++, loaded++)
        if ((s = lf_result_load(argv[optind + i], &res[i]))) { rc = cli_fail(s); goto done; }
    if ((s = lf_bench_check_writable(out))) { rc = cli_fail(s); goto done; }
    lf_report_summary sum;
    if ((s = lf_report_write(out, res, n, &ro, &sum))) { rc = cli_fail(s); goto done; }
    for (int i = 0; i < sum.n; i++) {
        if (sum.ok[i]) printf("  chart %-14s ok\n", sum.id[i]);
        else printf("  chart %-14s skipped: %s\n", sum.id[i], sum.note[i]);
    }
    printf("wrote %s: %d chart%s, %d skipped, from %d result file%s\n", out, sum.n_ok, sum.n_ok == 1 ? "" : "s", sum.n - sum.n_ok, n,
           n == 1 ? "" : "s");
done:
    for (int i = 0; i < loaded; i++) lf_result_free(&res[i]);
    free(res);
    return rc;
}
