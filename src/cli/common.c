/* common.c — CLI helpers. */
#include "common.h"
#include "dist/launcher.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "core/error.h"
#include "perf/calibrate.h"

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

int cli_rank_layout_of(const char *verb, const lf_dist *d, int tp, int pp, cli_rank_layout *out) {
    memset(out, 0, sizeof *out);
    if (pp <= 1) {
        out->tp_size = d->world;
        out->tp_rank = d->rank;
        out->tp_comm = d->comm;
        return 0;
    }
    if (tp < 1 || d->world % tp) {
        fprintf(stderr, "linfer: %s: %d ranks do not split into --tp %d groups\n", verb, d->world, tp);
        return 2;
    }
    out->pp_size = d->world / tp;
    out->pp_stage = d->rank / tp;
    out->pp_comm = d->comm;
    out->tp_size = tp;
    out->tp_rank = d->rank % tp;
    return 0;
}

/* Ceilings for the predictions of a verb (bench, profile). CPU: the CPU calibration, else a quick
 * measurement. GPU: --hw measured (the calibration file), --hw NAME (a datasheet preset), or by
 * default this GPU's calibration, else its datasheet preset. *have = 0: no predictions; desc says
 * where the figures come from. Returns an exit code (0 ok). */
int cli_resolve_hw(const char *verb, linfer_device dev, int gpu_index, const char *gpu_name, const char *hw_arg, const char *calib,
                   lf_hw *hw, int *have, char *desc, size_t cap) {
    *have = 0;
    char path[1024];
    if (calib) snprintf(path, sizeof path, "%s", calib);
    else lf_calib_path(dev == LINFER_DEVICE_CPU, gpu_index, path, sizeof path);
    if (hw_arg && !strcasecmp(hw_arg, "none")) { snprintf(desc, cap, "none (--hw none): no predictions"); return 0; }
    lf_calib_result cr;
    int have_calib = lf_calib_load(path, &cr) == LINFER_OK;
    if (!have_calib) lf_clear_error();
    if (dev == LINFER_DEVICE_CPU && (!hw_arg || !strcasecmp(hw_arg, "measured"))) {
        if (have_calib && cr.is_cpu) {
            lf_hw_cpu(&cr, hw);
            snprintf(desc, cap, "measured: %s", path);
        } else if (hw_arg || calib) {
            fprintf(stderr, "linfer: %s: %s: no CPU calibration at %s (run `linfer calibrate --cpu`)\n", verb,
                    calib ? "--calib" : "--hw measured", path);
            return 2;
        } else {
            fprintf(stderr, "linfer: %s: no CPU calibration at %s; measuring quickly (`linfer calibrate --cpu` caches one)\n", verb, path);
            lf_calib_opts co;
            lf_calib_default_opts(&co);
            co.quick = 1;
            lf_status s = lf_calibrate_cpu(&co, &cr);
            if (s) return cli_fail(s);
            lf_hw_cpu(&cr, hw);
            snprintf(desc, cap, "quick CPU measurement (no calibration at %s)", path);
        }
        *have = 1;
        return 0;
    }
    if (hw_arg && !strcasecmp(hw_arg, "measured")) {
        if (!have_calib) { fprintf(stderr, "linfer: %s: --hw measured: no calibration at %s (run `linfer calibrate`)\n", verb, path); return 2; }
        lf_hw_measured me;
        lf_calib_to_measured(&cr, &me);
        lf_status s = lf_hw_from_measured(&me, hw);
        if (s) { cli_fail(s); return 2; }
        snprintf(desc, cap, "measured: %s (%s)%s", path, cr.name, gpu_name && strcasecmp(gpu_name, cr.name) ? " - NOT this GPU" : "");
        *have = 1;
        return 0;
    }
    if (hw_arg) {
        lf_status s = lf_hw_lookup(hw_arg, hw);
        if (s) { cli_fail(s); return 2; }
        snprintf(desc, cap, "datasheet: %s (--hw)", hw->name);
        *have = 1;
        return 0;
    }
    /* default on a GPU: its calibration, else its datasheet preset */
    if (have_calib && gpu_name && !strcasecmp(cr.name, gpu_name)) {
        lf_hw_measured me;
        lf_calib_to_measured(&cr, &me);
        if (lf_hw_from_measured(&me, hw) == LINFER_OK) {
            snprintf(desc, cap, "measured: %s (datasheet: %s)", path, hw->source ? hw->source : "none");
            *have = 1;
            return 0;
        }
        lf_clear_error();
    }
    if (gpu_name && lf_hw_lookup(gpu_name, hw) == LINFER_OK) {
        snprintf(desc, cap, "datasheet: %s (%s%s%s; run `linfer calibrate`)", hw->name, have_calib ? "calibration at " : "no calibration at ",
                 path, have_calib ? " is for another GPU" : "");
        *have = 1;
        return 0;
    }
    lf_clear_error();
    snprintf(desc, cap, "none: GPU '%s' has no preset and no calibration (run `linfer calibrate`)", gpu_name ? gpu_name : "?");
    return 0;
}

/* path with ".tp<N>" before a ".json"/".csv" extension (else appended) */
static void tp_path(char *out, size_t cap, const char *path, int tp) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash) && (!strcmp(dot, ".json") || !strcmp(dot, ".csv")))
        snprintf(out, cap, "%.*s.tp%d%s", (int)(dot - path), path, tp, dot);
    else snprintf(out, cap, "%s.tp%d", path, tp);
}

void cli_tp_path(char *out, size_t cap, const char *path, int tp) { tp_path(out, cap, path, tp); }

int cli_run_self_tp(int argc, char **argv, int tp) {
    char **av = calloc((size_t)argc + 2, sizeof *av);
    char (*own)[1100] = calloc((size_t)argc + 1, sizeof *own);
    if (!av || !own) { free(av); free(own); fprintf(stderr, "linfer: out of memory\n"); return 1; }
    int n = 0;
    av[n++] = (char *)"linfer";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const int is_tp = !strcmp(a, "--tp"), is_file = !strcmp(a, "--json") || !strcmp(a, "--csv");
        if ((is_tp || is_file) && i + 1 < argc) {
            av[n++] = argv[i];
            if (is_tp) snprintf(own[i], sizeof own[i], "%d", tp);
            else tp_path(own[i], sizeof own[i], argv[i + 1], tp);
            av[n++] = own[i];
            i++;
        } else if (!strncmp(a, "--tp=", 5)) {
            snprintf(own[i], sizeof own[i], "--tp=%d", tp);
            av[n++] = own[i];
        } else if (!strncmp(a, "--json=", 7) || !strncmp(a, "--csv=", 6)) {
            const char *eq = strchr(a, '=');
            char p[1024];
            tp_path(p, sizeof p, eq + 1, tp);
            snprintf(own[i], sizeof own[i], "%.*s%s", (int)(eq + 1 - a), a, p);
            av[n++] = own[i];
        } else av[n++] = argv[i];
    }
    av[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    int rc = 1;
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", av);
        fprintf(stderr, "linfer: cannot run itself again (/proc/self/exe): %s\n", strerror(errno));
        _exit(127);
    }
    if (pid > 0) {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    } else fprintf(stderr, "linfer: fork: %s\n", strerror(errno));
    free(av);
    free(own);
    return rc;
}
