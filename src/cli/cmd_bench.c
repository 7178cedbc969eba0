/* cmd_bench.c — `linfer bench`: sweep batch × in × out × dtype for a model on the CPU or a GPU,
 * measure TTFT, TPOT (mean and per-step percentiles), ITL, E2E, throughput and memory, and set
 * each point beside its roofline prediction. The measuring lives in src/perf/bench.c; this file
 * parses options, picks ceilings, prints the table as points finish and writes CSV/JSON.
 * `--recipe NAME` runs a preset sweep from the seeds and ends with their conclusions checked
 * against the points (src/perf/recipe.c). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "common.h"
#include "dist/launcher.h"
#include "linfer.h"
#include "core/clock.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapfile.h"
#include "engine/gpu_query.h"
#include "model/model.h"
#include "perf/bench.h"
#include "perf/report.h"
#include <cjson/cJSON.h>
#include "perf/calibrate.h"
#include "perf/nvml_sampler.h"
#include "perf/presets.h"
#include "perf/recipe.h"
#include "perf/roofline.h"
#include "perf/sweep.h"
#include "perf/table.h"

/* Embedded defaults: finish in well under 2 minutes. */
#define GPU_MODEL "llama-2-7b"
#define GPU_BATCH "1,8"
#define GPU_IN "128"
#define GPU_OUT "64"
#define CPU_MODEL "smollm2-135m"
#define CPU_BATCH "1"
#define CPU_IN "32"
#define CPU_OUT "16"

static void usage(FILE *f) {
    char gpath[1024], cpath[1024], names[1024], rnames[256];
    lf_calib_path(0, 0, gpath, sizeof gpath);
    lf_calib_path(1, 0, cpath, sizeof cpath);
    lf_preset_model_names(names, sizeof names, 1);
    lf_recipe_names(rnames, sizeof rnames);
    fprintf(f,
            "usage: linfer bench [-m MODEL] [--batch LIST] [--in LIST] [--out LIST] [--dtype LIST] [options]\n"
            "       linfer bench --recipe NAME [-m MODEL] [--batch LIST] [--in LIST] [--out LIST] [--tp LIST] [options]\n"
            "Runs every point of batch x in x out x dtype (W warm-up runs, then R timed repetitions each) and reports,\n"
            "per point: TTFT; TPOT mean and p50/p95/p99 over decode steps; ITL; end-to-end latency mean, std, p50, p95;\n"
            "output and total tok/s; peak host RSS; GPU memory in use; on a GPU, NVML readings over the timed repetitions\n"
            "(utilisation mean/max, memory-bandwidth utilisation, peak memory used, power, SM clock: column util%%, \"-\"\n"
            "when NVML is not available); the roofline prediction for the same point and\n"
            "the efficiency (predicted / measured) of TTFT and TPOT; the coefficient of variation of the repetitions\n"
            "(points above --cv-flag are marked). Prompts are synthetic token ids; generation ignores EOS.\n"
            "With no arguments: on a GPU -m %s --batch %s --in %s --out %s (2 warm-up, 5 reps);\n"
            "without one: --device cpu -m %s --batch %s --in %s --out %s (1 warm-up, 3 reps).\n"
            "  -m, --model NAME|PATH  preset name (random weights made on the device: %s)\n"
            "                         or a GGUF file / HF directory\n"
            "      --batch LIST       sequences per batch (default: see above)\n"
            "      --in LIST          prompt tokens per sequence\n"
            "      --out LIST         generated tokens per sequence\n"
            "      --dtype LIST       cuda: fp16,bf16 (default fp16); cpu: fp32 (the CPU backend computes in fp32)\n"
            "                         LIST: 1,2,4 | 1-8 | 1:256:x2 | 128:1024:+128 | mixes such as 1,3,16:64:x2\n"
            "      --device cpu|cuda  (default: cuda when a GPU is present, else cpu)\n"
            "      --gpu-index N      GPU to run on (default 0)\n"
            "      --threads N        CPU threads (default: all cores)\n"
            "      --warmup W         untimed runs per point (default 2; CPU default 1)\n"
            "      --reps R           timed repetitions per point (default 5; CPU default 3)\n"
            "      --seed S           random weights and synthetic prompts (default 42)\n"
            "      --hw NAME|measured|none  ceilings of the predictions. Default: the calibration of this device\n"
            "                         (`linfer calibrate`: %s for GPU 0, %s for the CPU)\n"
            "                         when it exists and names this GPU, else the GPU's datasheet preset; on the CPU\n"
            "                         without a calibration a quick measurement. NAME: a GPU preset (--list-gpus of roofline)\n"
            "      --calib FILE       calibration file to use instead of the default\n"
            "      --cv-flag F        mark points whose repetitions vary more than this (default 0.03 = 3%%)\n"
            "      --csv FILE         every field of every point, plus the run's metadata as columns (atomic write)\n"
            "      --json FILE        {\"meta\": {...}, \"points\": [...]} (atomic write)\n"
            "      --no-progress      no progress bar (it is shown only when stderr is a terminal)\n"
            "      --nvml-ms MS       GPU sampling period through NVML (default 20; 0: no sampling). With --tp N rank 0\n"
            "                         samples all N GPUs. NVML is dlopen'd ($LINFER_NVML_LIB, else libnvidia-ml.so.1)\n"
            "      --recipe NAME      a preset sweep reproducing a seed's benchmark (%s), ending with the seed's\n"
            "                         conclusions checked against the measured points and the roofline\n"
            "                         (AGREES / DISAGREES / INCONCLUSIVE); the recipe and its conclusions also go into the\n"
            "                         CSV/JSON metadata. Options given on the command line replace the recipe's lists.\n"
            "                         On the CPU the recipe's model (llama-13b, llama-2-7b) is replaced by %s unless -m is given.\n"
            "      --pp N             run the sweep with pipeline parallelism over N GPUs (layers split into N stages, one process\n"
            "                         per GPU; with --tp T: N stages of T GPUs; not with --recipe); predictions use the\n"
            "                         roofline's pipeline model\n"
            "      --pp-micro M       micro-batches per step through the stages (default: N for steps of >= 128 tokens, i.e.\n"
            "                         prefill, 1 for smaller ones; 1: the naive split, one stage busy at a time)\n"
            "      --tp-invariant     CUDA: the TP-invariant mode (results bit for bit the same at any --tp/--pp; slower kernels,\n"
            "                         which the pred columns do not model): to measure what the mode costs\n"
            "      --tp N|LIST        without --recipe: run the sweep with tensor parallelism over N GPUs (one linfer process per\n"
            "                         GPU, started here; docs/distributed.md); a LIST runs one sweep per N, each its own job,\n"
            "                         and merges their --json/--csv files (also kept as FILE.tp<N>.json/.csv). With --recipe:\n"
            "      --tp LIST          (with --recipe) tensor-parallel GPUs. The recipe runs TP 1 only: larger TP values are not\n"
            "                         run and are predicted by the roofline (on the CPU: on the seed's GPU). TP values that cannot\n"
            "                         exist (not a power of two, above a node's GPUs, heads/FFN not divisible) are refused.\n"
            "A point that does not fit in memory is reported (\"does not fit: needs X GiB, have Y\") and the sweep goes on.\n"
            "Ctrl-C stops after the current point and still prints and writes the finished points (exit 130); a second\n"
            "Ctrl-C abandons the current point. Impossible sweeps (in + out beyond the context, bad lists, a dtype the\n"
            "device cannot run, an unknown recipe, TP values that cannot exist) are refused before anything runs (exit 2).\n"
            "Exit 1 when a point failed.\n",
            GPU_MODEL, GPU_BATCH, GPU_IN, GPU_OUT, CPU_MODEL, CPU_BATCH, CPU_IN, CPU_OUT, names, gpath, cpath, rnames, CPU_MODEL);
    int nr;
    const lf_recipe *rs = lf_recipes(&nr);
    fprintf(f, "Recipes (docs/bench.md, \"Recipes\"):\n");
    for (int i = 0; i < nr; i++)
        fprintf(f, "  %-9s %s; -m %s --batch %s --in %s --out %s --tp %s; %s\n", rs[i].name, rs[i].title, rs[i].model, rs[i].batch, rs[i].in,
                rs[i].out, rs[i].tp, rs[i].source);
}

/* ---- signals ----------------------------------------------------------------------------------- */
static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig) {
    (void)sig;
    if (g_stop) { linfer_request_interrupt(); return; }
    g_stop = 1;
    static const char msg[] = "\nlinfer: bench: stopping after this point (Ctrl-C again abandons it)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

/* ---- run metadata -------------------------------------------------------------------------------- */

/* Driver version string through NVML when it can be loaded ("580.159.04", src/perf/nvml_sampler.h),
 * else the CUDA driver API version. */
static void driver_version(int api_version, char *buf, size_t cap) {
    char v[96];
    if (lf_nvml_driver_version(v, sizeof v) == LINFER_OK)
        snprintf(buf, cap, "%s (CUDA driver API %d.%d)", v, api_version / 1000, (api_version % 1000) / 10);
    else {
        lf_clear_error();
        snprintf(buf, cap, "CUDA driver API %d.%d", api_version / 1000, (api_version % 1000) / 10);
    }
}

static char *join_args(int argc, char **argv) {
    size_t cap = 16;
    for (int i = 0; i < argc; i++) cap += strlen(argv[i]) * 4 + 3;
    char *s = malloc(cap), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "linfer");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *q = a; *q; q++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/=+@%", *q)) plain = 0;
        *p++ = ' ';
        if (plain) { p += sprintf(p, "%s", a); continue; }
        *p++ = '\'';
        for (const char *q = a; *q; q++) {
            if (*q == '\'') { memcpy(p, "'\\''", 4); p += 4; }
            else *p++ = *q;
        }
        *p++ = '\'';
        *p = 0;
    }
    return s;
}


/* ---- terminal output ------------------------------------------------------------------------------ */
typedef struct {
    lf_table *disp;
    int printed;          /* lines of the rendering already printed */
    char first_header[2048];
    int tty;
    double t0;
    int last_point, last_run, n_points, n_runs;
    int n_ok, n_nofit, n_failed, n_noisy;
    double cv_flag;
} ui_state;

static const char *const disp_cols[] = {
    "dtype", "batch", "   in", "  out", " ttft_ms", "    pred", "  eff", " tpot_ms", "     p50", "     p95", "     p99", "    pred",
    "  eff", "  e2e_ms", "     std", "out_tok/s", "  tok/s", "rss_GiB", "gpu_GiB", "util%", "  cv%", "note"};
#define N_DISP ((int)(sizeof disp_cols / sizeof disp_cols[0]))

static void clear_progress(ui_state *u) {
    if (u->tty) fputs("\r\033[K", stderr);
}

static void fmt_dur(double s, char *buf, size_t cap) {
    if (!isfinite(s) || s < 0) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static int on_progress(void *user, int point, int n_points, int run, int n_runs) {
    ui_state *u = user;
    u->last_point = point;
    u->last_run = run;
    if (u->tty) {
        double done = (double)point * n_runs + run, total = (double)n_points * n_runs;
        double el = lf_now_s() - u->t0, eta = done > 0 ? el / done * (total - done) : NAN;
        char bar[31], e1[32], e2[32];
        int fill = total > 0 ? (int)(30 * done / total) : 0;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fmt_dur(el, e1, sizeof e1);
        fmt_dur(eta, e2, sizeof e2);
        fprintf(stderr, "\r[%s] point %d/%d, run %d/%d, %s elapsed, ETA %s\033[K", bar, point + 1, n_points, run + 1, n_runs, e1, e2);
        fflush(stderr);
    }
    return g_stop != 0;
}

static int stop_requested(void *user) {
    (void)user;
    return g_stop != 0;
}

static void add_disp_row(lf_table *t, const lf_bench_result *r, double cv_flag) {
    lf_table_row(t);
    lf_table_str(t, lf_bench_dtype_name(r->pt.dtype));
    lf_table_int(t, r->pt.batch);
    lf_table_int(t, r->pt.in_len);
    lf_table_int(t, r->pt.out_len);
    lf_table_num(t, r->ttft_ms, 2);
    lf_table_num(t, r->pred_ttft_ms, 2);
    lf_table_num(t, r->eff_ttft, 2);
    lf_table_num(t, r->tpot_ms, 3);
    lf_table_num(t, r->tpot_p50_ms, 3);
    lf_table_num(t, r->tpot_p95_ms, 3);
    lf_table_num(t, r->tpot_p99_ms, 3);
    lf_table_num(t, r->pred_tpot_ms, 3);
    lf_table_num(t, r->eff_tpot, 2);
    lf_table_num(t, r->e2e_ms, 1);
    lf_table_num(t, r->e2e_std_ms, 1);
    lf_table_num(t, r->out_tok_s, 1);
    lf_table_num(t, r->total_tok_s, 1);
    lf_table_num(t, r->peak_rss_bytes / 1073741824.0, 2);
    lf_table_num(t, r->gpu_mem_bytes / 1073741824.0, 2);
    if (isfinite(r->gpu_util_mean_pct)) lf_table_num(t, r->gpu_util_mean_pct, 0);   /* NVML, mean over the timed runs */
    else lf_table_str(t, "-");
    double cv = NAN;
    const double cvs[3] = {r->cv_ttft, r->cv_tpot, r->cv_e2e};
    for (int k = 0; k < 3; k++)
        if (isfinite(cvs[k]) && !(cvs[k] <= cv)) cv = cvs[k];
    lf_table_num(t, 100 * cv, 1);
    if (r->state != LF_BENCH_OK) lf_table_str(t, r->note);
    else if (r->noisy) {
        char n[160] = "noisy (cv >";
        size_t l = strlen(n);
        l += (size_t)snprintf(n + l, sizeof n - l, " %.0f%%:", 100 * cv_flag);
        if (r->cv_ttft > cv_flag) l += (size_t)snprintf(n + l, sizeof n - l, " ttft %.1f%%", 100 * r->cv_ttft);
        if (r->cv_tpot > cv_flag) l += (size_t)snprintf(n + l, sizeof n - l, " tpot %.1f%%", 100 * r->cv_tpot);
        if (r->cv_e2e > cv_flag) l += (size_t)snprintf(n + l, sizeof n - l, " e2e %.1f%%", 100 * r->cv_e2e);
        snprintf(n + l, sizeof n - l, ")");
        lf_table_str(t, n);
    } else lf_table_empty(t);
}

/* Render the table and print the lines not printed yet (the header comes with the first row). */
static void print_new_rows(ui_state *u, int final) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    lf_table_write(u->disp, m, LF_FMT_TABLE);
    fclose(m);
    int line = 0;
    char *p = buf;
    if (final) {
        /* columns widened after the header was printed: print the whole table once more, aligned */
        size_t hl = strcspn(buf, "\n");
        if (u->printed > 0 && (hl != strlen(u->first_header) || strncmp(buf, u->first_header, hl) != 0)) {
            printf("\nall points:\n%s", buf);
            fflush(stdout);
        }
        free(buf);
        return;
    }
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (line == 0 && u->printed == 0) snprintf(u->first_header, sizeof u->first_header, "%.*s", (int)l, p);
        if (line >= u->printed) { fwrite(p, 1, l, stdout); fputc('\n', stdout); }
        line++;
        if (!nl) break;
        p = nl + 1;
    }
    u->printed = line;
    fflush(stdout);
    free(buf);
}

static void on_point(void *user, const lf_bench_result *r, int point, int n_points) {
    (void)point;
    (void)n_points;
    ui_state *u = user;
    clear_progress(u);
    add_disp_row(u->disp, r, u->cv_flag);
    print_new_rows(u, 0);
    if (r->state == LF_BENCH_OK) u->n_ok++;
    else if (r->state == LF_BENCH_NOFIT) u->n_nofit++;
    else u->n_failed++;
    if (r->noisy) u->n_noisy++;
}

/* ---- the verb ------------------------------------------------------------------------------------ */
/* --tp LIST: the sweeps' FILE.tp<N>.json merged into FILE (the first one's meta, every point) */
static int merge_tp_json(const char *json, const int *tpl, int ntp) {
    cJSON *out = NULL;
    for (int i = 0; i < ntp; i++) {
        char path[1100];
        cli_tp_path(path, sizeof path, json, tpl[i]);
        lf_result res;
        if (lf_result_load(path, &res) != LINFER_OK) { cJSON_Delete(out); return cli_fail(LINFER_ERR_FORMAT); }
        cJSON *j = res.json;   /* taken over from res */
        res.json = NULL;
        lf_result_free(&res);
        cJSON *pts = cJSON_GetObjectItemCaseSensitive(j, "points");
        if (!cJSON_IsArray(pts)) {
            cJSON_Delete(j);
            cJSON_Delete(out);
            return cli_fail(lf_fail(LINFER_ERR_FORMAT, "bench: %s: no points to merge", path));
        }
        if (!out) { out = j; continue; }
        cJSON *dst = cJSON_GetObjectItemCaseSensitive(out, "points");
        while (pts->child) cJSON_AddItemToArray(dst, cJSON_DetachItemViaPointer(pts, pts->child));
        cJSON_Delete(j);
    }
    char *txt = cJSON_Print(out);
    cJSON_Delete(out);
    if (!txt) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "bench: out of memory merging the results"));
    lf_status s = lf_write_file_atomic(json, txt, strlen(txt));
    free(txt);
    if (s) return cli_fail(s);
    printf("wrote %s (the points of every --tp)\n", json);
    return 0;
}

/* --tp LIST: FILE.tp<N>.csv concatenated into FILE (one header) */
static int merge_tp_csv(const char *csv, const int *tpl, int ntp) {
    size_t len = 0, cap = 0;
    char *all = NULL;
    for (int i = 0; i < ntp; i++) {
        char path[1100], *line = NULL;
        size_t lcap = 0;
        ssize_t l;
        cli_tp_path(path, sizeof path, csv, tpl[i]);
        FILE *f = fopen(path, "r");
        if (!f) { free(all); return cli_fail(lf_fail(LINFER_ERR_IO, "bench: %s: %s", path, strerror(errno))); }
        for (int ln = 0; (l = getline(&line, &lcap, f)) >= 0; ln++) {
            if (ln == 0 && i > 0) continue;   /* the header once */
            if (len + (size_t)l + 1 > cap) {
                cap = 2 * (len + (size_t)l + 1);
                char *nb = realloc(all, cap);
                if (!nb) { free(all); free(line); fclose(f); return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); }
                all = nb;
            }
            memcpy(all + len, line, (size_t)l + 1);
            len += (size_t)l;
        }
        free(line);
        fclose(f);
    }
    lf_status s = lf_write_file_atomic(csv, all ? all : "", len);
    free(all);
    if (s) return cli_fail(s);
    printf("wrote %s (the points of every --tp)\n", csv);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    enum { O_BATCH = 400, O_IN, O_OUT, O_DTYPE, O_DEVICE, O_GPUIDX, O_THREADS, O_WARMUP, O_REPS, O_SEED, O_HW, O_CALIB, O_CV, O_CSV,
           O_JSON, O_NOPROG, O_RECIPE, O_TP, O_NVML_MS, O_PP, O_PP_MICRO, O_TP_INV };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"batch", required_argument, 0, O_BATCH}, {"in", required_argument, 0, O_IN},
        {"out", required_argument, 0, O_OUT}, {"dtype", required_argument, 0, O_DTYPE}, {"device", required_argument, 0, O_DEVICE},
        {"gpu-index", required_argument, 0, O_GPUIDX}, {"threads", required_argument, 0, O_THREADS},
        {"warmup", required_argument, 0, O_WARMUP}, {"reps", required_argument, 0, O_REPS}, {"seed", required_argument, 0, O_SEED},
        {"hw", required_argument, 0, O_HW}, {"calib", required_argument, 0, O_CALIB}, {"cv-flag", required_argument, 0, O_CV},
        {"csv", required_argument, 0, O_CSV}, {"json", required_argument, 0, O_JSON}, {"no-progress", no_argument, 0, O_NOPROG},
        {"recipe", required_argument, 0, O_RECIPE}, {"tp", required_argument, 0, O_TP}, {"nvml-ms", required_argument, 0, O_NVML_MS},
        {"pp", required_argument, 0, O_PP}, {"pp-micro", required_argument, 0, O_PP_MICRO}, {"tp-invariant", no_argument, 0, O_TP_INV},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_arg = NULL, *batch_s = NULL, *in_s = NULL, *out_s = NULL, *dtype_s = NULL, *hw_arg = NULL, *calib = NULL;
    const char *csv = NULL, *json = NULL, *recipe_s = NULL, *tp_s = NULL;
    int run_pp = 1;     /* --pp N: pipeline stages, one process per GPU */
    long lv_pp = 0;
    int device_set = 0, no_progress = 0, warmup = -1, reps = -1, dist_on = 0;
    double nvml_ms = LF_NVML_DEFAULT_PERIOD_MS;   /* 0: no GPU sampling */
    lf_dist dist;
    lf_dist_init(&dist);
    lf_bench_opts bo;
    lf_bench_default_opts(&bo);
    long lv;
    double dv;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case O_BATCH: batch_s = optarg; break;
        case O_IN: in_s = optarg; break;
        case O_OUT: out_s = optarg; break;
        case O_DTYPE: dtype_s = optarg; break;
        case O_DEVICE:
            device_set = 1;
            if (!strcmp(optarg, "cpu")) bo.device = LINFER_DEVICE_CPU;
            else if (!strcmp(optarg, "cuda") || !strcmp(optarg, "gpu")) bo.device = LINFER_DEVICE_CUDA;
            else { fprintf(stderr, "linfer: bench: --device must be cpu or cuda, got '%s'\n", optarg); return 2; }
            break;
        case O_GPUIDX: if (!cli_parse_int("--gpu-index", optarg, 0, 63, &lv)) return 2; bo.gpu_index = (int)lv; break;
        case O_THREADS: if (!cli_parse_int("--threads", optarg, 1, 1024, &lv)) return 2; bo.n_threads = (int)lv; break;
        case O_WARMUP: if (!cli_parse_int("--warmup", optarg, 0, 100, &lv)) return 2; warmup = (int)lv; break;
        case O_REPS: if (!cli_parse_int("--reps", optarg, 1, 1000, &lv)) return 2; reps = (int)lv; break;
        case O_SEED: if (!cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &lv)) return 2; bo.seed = (uint64_t)lv; break;
        case O_HW: hw_arg = optarg; break;
        case O_CALIB: calib = optarg; break;
        case O_CV: if (!cli_parse_float("--cv-flag", optarg, 0, 10, &dv)) return 2; bo.cv_flag = dv; break;
        case O_CSV: csv = optarg; break;
        case O_JSON: json = optarg; break;
        case O_NOPROG: no_progress = 1; break;
        case O_RECIPE: recipe_s = optarg; break;
        case O_TP: tp_s = optarg; break;
        case O_PP: if (!cli_parse_int("--pp", optarg, 1, 64, &lv_pp)) return 2; run_pp = (int)lv_pp; break;
        case O_PP_MICRO: if (!cli_parse_int("--pp-micro", optarg, 1, 4096, &lv_pp)) return 2; bo.pp_micro = (int)lv_pp; break;
        case O_TP_INV: bo.tp_invariant = 1; break;
        case O_NVML_MS:
            if (!cli_parse_float("--nvml-ms", optarg, 0, 60000, &dv)) return 2;
            if (dv > 0 && dv < 1) { fprintf(stderr, "linfer: bench: --nvml-ms %s: 0 (off) or 1 to 60000 ms\n", optarg); return 2; }
            nvml_ms = dv;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "linfer: bench: unexpected argument '%s'\n", argv[optind]); return 2; }
    const lf_recipe *recipe = NULL;
    if (recipe_s) {
        lf_status rs = lf_recipe_lookup(recipe_s, &recipe);
        if (rs) { cli_fail(rs); return 2; }
    }
    /* --tp N without a recipe: the whole sweep on N GPUs, one process each (rank 0 prints and
     * writes the files); with a recipe, --tp is a list predicted by the roofline beyond TP 1 */
    int run_tp = 1;
    if (tp_s && !recipe) {
        int *tpl = NULL, ntp = 0;
        if (lf_parse_int_list(tp_s, "--tp", 1, 64, &tpl, &ntp)) { cli_fail(LINFER_ERR_INVALID_ARG); return 2; }
        if (ntp > 1) { /* one sweep per TP degree, each its own job; the files merged */
            if (lf_dist_env_present()) { free(tpl); fprintf(stderr, "linfer: bench: --tp LIST cannot run as a rank of a launched job\n"); return 2; }
            int rc2 = 0;
            for (int i = 0; i < ntp && !rc2; i++) {
                printf("%s==== --tp %d ====\n", i ? "\n" : "", tpl[i]);
                fflush(stdout);
                rc2 = cli_run_self_tp(argc, argv, tpl[i]);
                if (rc2) fprintf(stderr, "linfer: bench: the --tp %d sweep failed (exit %d); stopping\n", tpl[i], rc2);
            }
            if (!rc2 && json) rc2 = merge_tp_json(json, tpl, ntp);
            if (!rc2 && csv) rc2 = merge_tp_csv(csv, tpl, ntp);
            free(tpl);
            return rc2;
        }
        run_tp = tpl[0];
        free(tpl);
    }

    /* device */
    int n_gpus = lf_gpu_count();
    if (!device_set) bo.device = n_gpus > 0 ? LINFER_DEVICE_CUDA : LINFER_DEVICE_CPU;
    if (bo.device == LINFER_DEVICE_CUDA) {
#ifndef LINFER_HAVE_CUDA
        fprintf(stderr, "linfer: bench: --device cuda: this linfer was built without CUDA (nvcc not found at build time)\n");
        return 1;
#else
        if (n_gpus == 0) { fprintf(stderr, "linfer: bench: --device cuda: no CUDA GPU found\n"); return 1; }
        if (bo.gpu_index >= n_gpus) { fprintf(stderr, "linfer: bench: --gpu-index %d: this machine has %d GPU(s)\n", bo.gpu_index, n_gpus); return 2; }
#endif
    }
    const int gpu = bo.device == LINFER_DEVICE_CUDA;
    char recipe_note[320] = "";
    if (recipe) { /* the recipe's lists, unless given on the command line */
        if (!model_arg) {
            model_arg = gpu ? recipe->model : CPU_MODEL;
            if (!gpu)
                snprintf(recipe_note, sizeof recipe_note, "the seed measured %s; on the CPU %s runs instead (the recipe's %s is meant for a GPU: the CPU "
                         "backend keeps fp32 weights; give -m to choose)", recipe->seed_model, model_arg, recipe->model);
            else if (strcmp(recipe->seed_model, recipe->model))
                snprintf(recipe_note, sizeof recipe_note, "the seed measured %s, whose architecture the engine does not run; %s (the same size) runs instead",
                         recipe->seed_model, recipe->model);
        }
        if (!batch_s) batch_s = recipe->batch;
        if (!in_s) in_s = recipe->in;
        if (!out_s) out_s = recipe->out;
        if (!tp_s) tp_s = recipe->tp;
    }
    if (!model_arg) model_arg = gpu ? GPU_MODEL : CPU_MODEL;
    if (!batch_s) batch_s = gpu ? GPU_BATCH : CPU_BATCH;
    if (!in_s) in_s = gpu ? GPU_IN : CPU_IN;
    if (!out_s) out_s = gpu ? GPU_OUT : CPU_OUT;
    if (!dtype_s) dtype_s = gpu ? "fp16" : "fp32";
    bo.warmup = warmup >= 0 ? warmup : (gpu ? 2 : 1);
    bo.reps = reps >= 1 ? reps : (gpu ? 5 : 3);

    /* sweep lists: refuse before anything runs */
    int *bl = NULL, *il = NULL, *ol = NULL, nb = 0, ni = 0, no = 0, nd = 0, npts = 0, rc = 0, n_done = 0;
    int *tpl = NULL, ntp = 0, n_tp_run = 0, n_tp_pts = 0;
    linfer_compute_dtype *dl = NULL;
    lf_bench_point *pts = NULL;
    lf_bench_result *res = NULL;
    lf_recipe_tp *plan = NULL;
    lf_recipe_point *rpts = NULL, *tp_pts = NULL;
    lf_table *rtable = NULL;
    char skipped[512] = "", skipped_line[1024] = "", tp_hw_desc[160] = "", tp_hw_why[160] = "";
    linfer_model *model = NULL;
    char *cmdline = NULL;
    ui_state ui = {0};
    lf_nvml_sampler *nvml = NULL;
    char nvml_desc[1024] = "";
    lf_status s;
    if ((s = lf_parse_int_list(batch_s, "--batch", 1, 4096, &bl, &nb)) || (s = lf_parse_int_list(in_s, "--in", 1, 1 << 20, &il, &ni)) ||
        (s = lf_parse_int_list(out_s, "--out", 1, 1 << 20, &ol, &no)) || (s = lf_bench_parse_dtypes(dtype_s, &dl, &nd)) ||
        (s = lf_bench_expand(bl, nb, il, ni, ol, no, dl, nd, &pts, &npts)) ||
        (recipe && (s = lf_parse_int_list(tp_s, "--tp", 1, 1024, &tpl, &ntp)))) {
        cli_fail(s);
        rc = 2;
        goto done;
    }
    if (recipe && nd != 1) {
        fprintf(stderr, "linfer: bench: --recipe %s --dtype %s: a recipe runs one dtype (give one)\n", recipe->name, dtype_s);
        rc = 2;
        goto done;
    }

    if (recipe && lf_dist_env_present()) {
        fprintf(stderr, "linfer: bench: --recipe runs in one process (TP 1); it cannot be a rank of a launched job (RANK/WORLD_SIZE are set)\n");
        rc = 2;
        goto done;
    }
    if (run_pp > 1 && recipe) {
        fprintf(stderr, "linfer: bench: --pp %d is not for recipes (they run in one process)\n", run_pp);
        rc = 2;
        goto done;
    }
    if (!recipe && (run_tp > 1 || run_pp > 1 || lf_dist_env_present())) {
        const int world = run_pp * run_tp;   /* rank r: stage r / tp, TP rank r % tp */
        if (!gpu) {
            fprintf(stderr, "linfer: bench: --%s %d needs the CUDA backend\n", run_pp > 1 ? "pp" : "tp", run_pp > 1 ? run_pp : run_tp);
            rc = 2;
            goto done;
        }
        if ((s = cli_dist_start(world, argc, argv, &dist))) { rc = cli_fail(s); goto done; }
        dist_on = 1;
        cli_rank_layout lay;
        if ((rc = cli_rank_layout_of("bench", &dist, run_tp, run_pp, &lay))) goto done;
        bo.tp_size = lay.tp_size; bo.tp_rank = lay.tp_rank; bo.tp_comm = lay.tp_comm;
        bo.pp_size = lay.pp_size; bo.pp_stage = lay.pp_stage; bo.pp_comm = lay.pp_comm;
        bo.gpu_index = dist.local_rank;
        if (dist.rank != 0) {
            no_progress = 1;
            csv = json = NULL; /* rank 0 writes the result files */
        }
    }
    /* model: a preset (random weights) or a file */
    lf_config cfg;
    int is_preset = 0;
    if (lf_path_exists(model_arg)) {
        linfer_model_params mp = linfer_model_default_params();
        mp.path = model_arg;
        mp.load_tokenizer = 0;
        if ((s = linfer_model_load(&mp, &model))) { rc = cli_fail(s); goto done; }
        cfg = model->cfg;
    } else {
        if ((s = lf_preset_model(model_arg, &cfg))) { cli_fail(s); rc = 2; goto done; }
        is_preset = 1;
    }
    if ((s = lf_bench_check(pts, npts, cfg.max_context, bo.device, model_arg))) { cli_fail(s);
        rc = 2; goto done; }
    lf_roofline_model shape;
    lf_roofline_model_from_config(&cfg, model_arg, &shape);
    int any_tp = 0;   /* TP values above 1 asked */
    if (recipe) {
        /* TP values that cannot exist for this model, and which ones run: before anything runs */
        for (int i = 0; i < ntp; i++) any_tp |= tpl[i] > 1;
        plan = calloc((size_t)ntp, sizeof *plan);
        if (!plan) { rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); goto done; }
        /* on the CPU the TP predictions use the seed's GPU (below), so its node size is known now */
        lf_hw ref;
        if (!gpu && (s = lf_hw_lookup(recipe->ref_hw, &ref))) { rc = cli_fail(s); goto done; }
        if ((s = lf_recipe_check_tp(&shape, tpl, ntp, gpu ? 0 : ref.max_gpus, gpu ? NULL : ref.name)) ||
            (s = lf_recipe_plan_tp(tpl, ntp, gpu ? n_gpus : 0, plan, &n_tp_run))) {
            lf_fail_prefix(s, "recipe %s", recipe->name);
            cli_fail(s);
            rc = 2;
            goto done;
        }
    }

    /* device facts and ceilings */
    lf_gpu_info gi = {0};
    char dev_name[160], drv[160] = "", rt[32] = "", hw_desc[1200];
    if (gpu) {
        if ((s = lf_gpu_info_get(bo.gpu_index, &gi))) { rc = cli_fail(s); goto done; }
        snprintf(dev_name, sizeof dev_name, "%s", gi.name);
        driver_version(gi.driver_version, drv, sizeof drv);
        snprintf(rt, sizeof rt, "%d.%d", gi.runtime_version / 1000, (gi.runtime_version % 1000) / 10);
    } else lf_cpu_name(dev_name, sizeof dev_name);
    lf_hw hw;
    int have_hw = 0;
    /* ranks other than 0 print nothing: no predictions (a calibration exists for GPU 0 only, usually) */
    if (dist_on && dist.rank != 0) hw_arg = "none";
    if ((rc = cli_resolve_hw("bench", bo.device, bo.gpu_index, gpu ? gi.name : NULL, hw_arg, calib, &hw, &have_hw, hw_desc, sizeof hw_desc))) goto done;
    bo.hw = have_hw ? &hw : NULL;
    if (have_hw) { /* the GPU must have tensor cores for each dtype */
        lf_roofline_model rm;
        lf_roofline_model_from_config(&cfg, model_arg, &rm);
        for (int d = 0; d < nd; d++) {
            lf_prec prec = dl[d] == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16;
            if ((s = lf_roofline_check(&rm, &hw, 1, prec, 0))) { cli_fail(s); rc = 2; goto done; }
        }
    }
    /* the hardware of the TP predictions: this GPU's ceilings; on the CPU (no interconnect) the
     * GPU of the seed's setup. TP values above one node of it are refused. */
    lf_hw tp_hw;
    int have_tp_hw = 0;
    if (recipe && any_tp) {
        if (have_hw && gpu) {
            tp_hw = hw;
            if (strcmp(hw.name, "measured")) snprintf(tp_hw_desc, sizeof tp_hw_desc, "%s", hw.name);
            else snprintf(tp_hw_desc, sizeof tp_hw_desc, "%s (measured)", gi.name);
            snprintf(tp_hw_why, sizeof tp_hw_why, "this GPU's ceilings");
        } else {
            if ((s = lf_hw_lookup(recipe->ref_hw, &tp_hw))) { rc = cli_fail(s); goto done; }
            snprintf(tp_hw_desc, sizeof tp_hw_desc, "%s (datasheet)", tp_hw.name);
            snprintf(tp_hw_why, sizeof tp_hw_why, "the seed's GPU, since %s", gpu ? "this GPU has no ceilings" : "the CPU has no interconnect");
        }
        if ((s = lf_recipe_check_tp(&shape, tpl, ntp, tp_hw.max_gpus, tp_hw.name))) {
            lf_fail_prefix(s, "recipe %s", recipe->name);
            cli_fail(s);
            rc = 2;
            goto done;
        }
        if (have_hw) {
            for (int i = 0; i < ntp; i++)
                if ((s = lf_roofline_check(&shape, &tp_hw, tpl[i], dl[0] == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16, tp_hw.max_gpus))) {
                    lf_fail_prefix(s, "recipe %s, TP predictions on %s", recipe->name, tp_hw.name);
                    cli_fail(s);
                    rc = 2;
                    goto done;
                }
            if ((s = lf_recipe_predict_tp(&shape, &tp_hw, 0, dl[0] == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16, tpl, ntp, pts, npts,
                                          &tp_pts, &n_tp_pts))) {
                rc = cli_fail(s);
                goto done;
            }
            have_tp_hw = 1;
        }
    }
    if (recipe && lf_recipe_skipped_text(plan, ntp, skipped, sizeof skipped)[0]) {
        if (have_tp_hw) snprintf(skipped_line, sizeof skipped_line, "%s; the roofline predicts them on %s: %s", skipped, tp_hw_desc, tp_hw_why);
        else snprintf(skipped_line, sizeof skipped_line, "%s; no ceilings (--hw none): not predicted either", skipped);
    }
    if (csv && (s = lf_bench_check_writable(csv))) { cli_fail(s); rc = 2; goto done; }
    if (json && (s = lf_bench_check_writable(json))) { cli_fail(s); rc = 2; goto done; }

    /* GPU sampling through NVML: this GPU; with --tp N started here, rank 0 samples the N GPUs of the
     * run (CUDA ordinals 0..N-1 of this host, the ranks' LOCAL_RANKs) and the other ranks none; under
     * an external launcher rank 0 samples its own GPU only (the others may be on other hosts). */
    if (gpu && nvml_ms > 0 && (!dist_on || dist.rank == 0)) {
        int ng = 1, gl[LF_NVML_MAX_GPUS];
        gl[0] = bo.gpu_index;
        if (dist_on && dist.spawned && dist.world <= LF_NVML_MAX_GPUS) {
            ng = dist.world;
            for (int g = 0; g < ng; g++) gl[g] = g;
        }
        lf_nvml_opts nvo = {gl, ng, nvml_ms, NULL};
        if (lf_nvml_sampler_open(&nvo, &nvml) == LINFER_OK) lf_nvml_sampler_describe(nvml, nvml_desc, sizeof nvml_desc);
        else {
            snprintf(nvml_desc, sizeof nvml_desc, "not available: %s", linfer_last_error());
            lf_clear_error();
        }
    } else if (gpu) snprintf(nvml_desc, sizeof nvml_desc, "%s", nvml_ms > 0 ? "off (rank other than 0)" : "off (--nvml-ms 0)");
    else snprintf(nvml_desc, sizeof nvml_desc, "none (CPU)");
    bo.nvml = nvml;

    char commit[64], date[40];
    cli_git_commit(commit, sizeof commit);
    lf_iso_date(date, sizeof date);
    cmdline = join_args(argc, argv);
    lf_prec prec0 = dl[0] == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16;
    lf_bench_meta meta = {model_arg, gpu ? "cuda" : "cpu", dev_name, drv, rt, commit, cmdline, date, hw_desc,
                          have_hw ? hw.name : "none", have_hw ? lf_hw_eff_bw(&hw) : NAN, have_hw ? lf_hw_eff_flops(&hw, prec0) : NAN,
                          have_hw ? lf_hw_eff_launch(&hw) : NAN, bo.warmup, bo.reps, NULL};
    char ovh[400];
    if (have_hw) meta.overhead = gpu ? lf_hw_overhead_desc(&hw, ovh, sizeof ovh) : "none (CPU backend)";

    printf("linfer bench: %s (%s) on %s%s%s, %d point%s x (%d warm-up + %d reps), commit %s\n", model_arg,
           is_preset ? "preset, random weights" : "from file", dev_name, gpu ? ", driver " : "", gpu ? drv : "", npts, npts == 1 ? "" : "s",
           bo.warmup, bo.reps, commit);
    if (have_hw)
        printf("ceilings: %.1f GB/s, %.2f TFLOP/s (%s), launch %.2f us; from %s%s\n", lf_hw_eff_bw(&hw) / 1e9,
               lf_hw_eff_flops(&hw, prec0) / 1e12, lf_prec_name(prec0), lf_hw_eff_launch(&hw) * 1e6, hw_desc,
               gpu ? "" : "; predictions count fp32 bytes (half the bandwidth)");
    else printf("ceilings: %s\n", hw_desc);
    if (have_hw && gpu) printf("roofline per-kernel term: %s\n", meta.overhead);
    if (gpu) printf("gpu sampling: %s\n", nvml_desc);
    if (bo.tp_invariant && gpu)
        printf("TP-invariant mode: one fixed summation order for every layer (slower kernels; the pred columns model the fast ones)\n");
    if (bo.pp_size > 1) {
        char mb[96];
        if (bo.pp_micro > 0) snprintf(mb, sizeof mb, "%d micro-batch%s per step", bo.pp_micro, bo.pp_micro == 1 ? "" : "es");
        else snprintf(mb, sizeof mb, "%d micro-batches per step of >= 128 tokens (prefill), 1 below", bo.pp_size);
        printf("pipeline parallelism: %d stages (%d GPU%s each), %s; the pred columns use the roofline's pipeline model\n",
               bo.pp_size, bo.tp_size > 1 ? bo.tp_size : 1, bo.tp_size > 1 ? "s" : "", mb);
    }
    if (recipe) {
        printf("recipe %s: %s; from %s\n", recipe->name, recipe->title, recipe->source);
        printf("  sweep: -m %s --batch %s --in %s --out %s --tp %s (options on the command line replace the recipe's lists)\n", model_arg,
               batch_s, in_s, out_s, tp_s);
        if (recipe_note[0]) printf("  model: %s\n", recipe_note);
        if (skipped_line[0]) printf("  %s\n", skipped_line);
    }
    fflush(stdout);

    res = calloc((size_t)npts, sizeof *res);
    ui.disp = lf_table_new(N_DISP, disp_cols);
    if (!res || !ui.disp) { rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); goto done; }
    ui.tty = !no_progress && isatty(2);
    ui.t0 = lf_now_s();
    ui.cv_flag = bo.cv_flag;
    bo.progress = on_progress;
    bo.on_point = on_point;
    bo.stop_requested = stop_requested;
    bo.user = &ui;
    lf_bench_model bm = {is_preset ? &cfg : NULL, model, model_arg};
    g_stop = 0;
    void (*old)(int) = signal(SIGINT, on_sigint);
    s = lf_bench_run(&bm, &bo, pts, npts, res, &n_done);
    clear_progress(&ui);
    if (s) { signal(SIGINT, old == SIG_ERR ? SIG_DFL : old); rc = cli_fail(s); goto done; }
    print_new_rows(&ui, 1);

    lf_conclusion concl[LF_RECIPE_MAX_CONCLUSIONS];
    int nconcl = 0;
    if (recipe) {
        rpts = calloc((size_t)(n_done ? n_done : 1), sizeof *rpts);
        if (!rpts) { rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); goto done; }
        lf_recipe_points_from_bench(res, n_done, gpu, rpts);
        lf_recipe_data rd = {recipe, rpts, n_done, tp_pts, n_tp_pts, have_tp_hw ? tp_hw_desc : NULL, skipped, have_hw};
        nconcl = lf_recipe_conclude(&rd, concl, LF_RECIPE_MAX_CONCLUSIONS);
        rtable = lf_recipe_table(&rd);
        if (rtable) {
            printf("\n");
            if ((s = lf_table_write(rtable, stdout, LF_FMT_TABLE))) rc = cli_fail(s);
        }
        printf("\nrecipe %s: the seed's conclusions against %d finished point%s (%s)\n", recipe->name, n_done, n_done == 1 ? "" : "s",
               recipe->source);
        for (int i = 0; i < nconcl; i++) printf("  %d. %s\n", i + 1, concl[i].text);
        fflush(stdout);
    }
    lf_recipe_info rinfo = {recipe, tp_s, skipped_line, have_tp_hw ? tp_hw_desc : "", concl, nconcl, rtable};
    if (csv) {
        if ((s = recipe ? lf_recipe_write_csv(csv, &meta, res, n_done, &rinfo) : lf_bench_write_csv(csv, &meta, res, n_done))) rc = cli_fail(s);
        else printf("wrote %s (%d points)\n", csv, n_done);
    }
    if (json) {
        if ((s = recipe ? lf_recipe_write_json(json, &meta, res, n_done, &rinfo) : lf_bench_write_json(json, &meta, res, n_done))) rc = cli_fail(s);
        else printf("wrote %s (%d points)\n", json, n_done);
    }
    /* the handler stays until the result files are written: a Ctrl-C during the writes is only noted */
    signal(SIGINT, old == SIG_ERR ? SIG_DFL : old);
    if (ui.n_noisy) printf("%d of %d points vary by more than %.0f%% between repetitions (marked 'noisy')\n", ui.n_noisy, n_done, 100 * bo.cv_flag);
    if (ui.n_nofit) printf("%d point%s did not fit in memory\n", ui.n_nofit, ui.n_nofit == 1 ? "" : "s");
    if (n_done < npts) {
        fprintf(stderr, "linfer: bench: interrupted: %d of %d points finished%s\n", n_done, npts,
                n_done < npts && res[n_done].state == LF_BENCH_INTERRUPTED ? " (the point in progress was abandoned)" : "");
        rc = 130;
    }
    if (ui.n_failed) {
        fprintf(stderr, "linfer: bench: %d point%s failed (see the note column)\n", ui.n_failed, ui.n_failed == 1 ? "" : "s");
        rc = 1;
    }
done:
    if (dist_on) {
        lf_status fs = lf_dist_finish(&dist, rc);
        if (fs && rc == 0) rc = cli_fail(fs);
    }
    free(bl); free(il); free(ol); free(dl); free(pts); free(res); free(cmdline);
    free(tpl); free(plan); free(rpts); free(tp_pts);
    lf_table_free(rtable);
    lf_table_free(ui.disp);
    lf_nvml_sampler_close(nvml);
    linfer_model_free(model);
    return rc;
}
