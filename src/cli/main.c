/* main.c — the `linfer` command: dispatches to one verb per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "linfer.h"
#include "dist/launcher.h"

static const struct { const char *name; int (*fn)(int, char **); const char *help; } verbs[] = {
    {"generate", cmd_generate, "run a model on prompts and stream the output"},
    {"tokenize", cmd_tokenize, "print token ids of a text (or text of ids with --decode)"},
    {"info", cmd_info, "architecture, sizes, KV bytes per token, what fits on the GPU"},
    {"roofline", cmd_roofline, "predict per-op and end-to-end latency from a roofline model"},
    {"bench", cmd_bench, "sweep batch x in x out x dtype: TTFT, TPOT percentiles, E2E, tok/s, vs the roofline"},
    {"calibrate", cmd_calibrate, "measure this GPU's (or CPU's) ceilings and cache them for roofline and bench"},
    {"profile", cmd_profile, "per-op time of prefill and decode (early, late context) beside the roofline, sorted by lost time"},
    {"report", cmd_report, "one self-contained HTML page (charts, tables) from bench, roofline and profile JSON results"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: linfer <verb> [options]   (linfer <verb> --help for each verb's options)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

int cli_fail(int status) {
    const char *msg = linfer_last_error();
    fprintf(stderr, "%s: %s%s%s\n", lf_dist_log_prefix(), linfer_status_name((linfer_status)status), msg[0] ? ": " : "", msg);
    return status == LINFER_ERR_INVALID_ARG ? 2 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(argv[1], verbs[i].name)) return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "linfer: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
