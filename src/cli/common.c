/* common.c — CLI helpers. */
#include "common.h"
#include "dist/launcher.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_default_model(void) {
    const char *env = getenv("LINFER_MODEL");
    return env && *env ? env : "models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "linfer: %s expects an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_float(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "linfer: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

void cli_git_commit(char *buf, size_t cap) {
    const char *env = getenv("LINFER_GIT_COMMIT");
    snprintf(buf, cap, "unknown");
    if (env && *env) { snprintf(buf, cap, "%s", env); return; }
    FILE *p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    if (!p) return;
    char line[64];
    if (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0]) snprintf(buf, cap, "%s", line);
    }
    pclose(p);
}

lf_status cli_dist_start(int tp, int argc, char **argv, lf_dist *d) {
    LF_TRY(lf_dist_env_present() ? lf_dist_join(d) : lf_dist_spawn(tp, argc + 1, argv - 1, d));
    if (d->rank != 0 && !freopen("/dev/null", "w", stdout))
        return lf_fail(LINFER_ERR_IO, "rank %d: cannot silence stdout", d->rank);
    return LINFER_OK;
}
