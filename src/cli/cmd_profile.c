/* cmd_profile.c — `linfer profile`: where the time of a generate call goes, per op category and
 * per phase (prefill, decode at early and at late context), beside the roofline's prediction of
 * each category, sorted by the time lost against it. The measuring and the tables live in
 * src/perf/profile.c; this file parses options, picks the ceilings and writes the outputs. */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "core/mapfile.h"
#include "model/model.h"
#include "perf/bench.h"
#include "perf/calibrate.h"
#include "perf/presets.h"
#include "perf/profile.h"
#include "perf/report.h"
#include "perf/roofline.h"
#include "perf/sweep.h"
#include "perf/table.h"
#include "engine/gpu_query.h"
#include "dist/launcher.h"

static void usage(FILE *f) {
    char cpath[1024], names[1024];
    lf_calib_path(1, 0, cpath, sizeof cpath);
    lf_preset_model_names(names, sizeof names, 1);
    fprintf(f,
            "usage: linfer profile -m MODEL [--batch B] [--in I] [--out O] [--tp N] [--json F] [--csv F] [options]\n"
            "Runs generate calls of B synthetic prompts of I tokens, O new tokens each (greedy, EOS ignored), and\n"
            "reports per phase (prefill; decode steps of the first half = early context; of the second half = late\n"
            "context) the time of each op category, its share of the measured step time, calls, achieved GB/s and\n"
            "GFLOP/s, the roofline's predicted time and the efficiency (predicted / measured), sorted by lost time\n"
            "(measured - predicted): the first row is where the next optimisation is. other/host-gaps = measured step\n"
            "time - the sum of the categories. Profiled and un-profiled runs alternate; both TPOTs are printed (the\n"
            "difference is the cost of the timers). On a GPU the op times are the GPU start/end times of every kernel\n"
            "from CUPTI activity records, also inside the CUDA graph of a decode step; a kernel overlapping the previous\n"
            "one (programmatic dependent launch) counts only past the previous one's end, so nothing is counted twice.\n"
            "  -m, --model NAME|PATH  preset (random weights: %s) or a GGUF file / HF directory\n"
            "      --batch B          sequences (default 1)\n"
            "      --in I             prompt tokens per sequence (default 128)\n"
            "      --out O            generated tokens per sequence (default 32; >= 3 for both decode phases)\n"
            "      --device cpu|cuda  backend (default: cuda when a GPU is present)\n"
            "      --dtype fp16|bf16  CUDA weights and activations (default fp16)\n"
            "      --tp N             tensor parallelism over N GPUs (one linfer process per GPU, each profiling itself):\n"
            "                         rank 0 prints its table; with --json/--csv every rank r > 0 writes FILE.rank<r>\n"
            "      --tp LIST          one run per TP degree (e.g. 1,2,4; each writes FILE.tp<N>.json), then a table of\n"
            "                         rank 0's decode step per TP: all-reduce time and share, attention, GEMMs (seed 003)\n"
            "      --threads N        CPU threads (default: all cores)\n"
            "      --warmup W         un-profiled runs first (default 1)\n"
            "      --reps R           pairs of un-profiled + profiled runs (default 3)\n"
            "      --seed S           random weights and synthetic prompts (default 42)\n"
            "      --hw measured|NAME|none  ceilings of the predictions. CPU: its calibration (%s, `linfer calibrate\n"
            "                         --cpu`), else a quick measurement. GPU: its calibration (`linfer calibrate`), else\n"
            "                         its datasheet preset; NAME: a GPU preset; none: no predictions\n"
            "      --calib FILE       calibration file to use instead\n"
            "      --json FILE        {\"kind\": \"profile\", \"meta\": {...}, \"phases\": [...]} (atomic write)\n"
            "      --csv FILE         one row per phase and category, the metadata as columns (atomic write)\n",
            names, cpath);
}


/* ---- --tp LIST: the seed 003 comparison of TP degrees in one command ---------------------------- */
static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Runs `linfer profile ... --tp N` once per N (each writes FILE.tp<N>.json; without --json, files
 * in a temporary folder), then prints rank 0's decode step at each TP: the all-reduce time and
 * its share, attention, and the rest. Exit status: the first failing run's, else 0. */
static int compare_tp(int argc, char **argv, const int *tpl, int ntp, const char *json) {
    char tmpdir[] = "/tmp/linfer-profile-XXXXXX", tmpjson[64];
    char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
    int n = 0;
    for (int i = 0; i < argc; i++) av[n++] = argv[i];
    if (!json) {
        if (!mkdtemp(tmpdir)) { free(av); return cli_fail(lf_fail(LINFER_ERR_IO, "profile: cannot make a temporary folder: %s", strerror(errno))); }
        snprintf(tmpjson, sizeof tmpjson, "%s/p.json", tmpdir);
        av[n++] = (char *)"--json";
        av[n++] = tmpjson;
        json = tmpjson;
    }
    av[n] = NULL;
    int rc = 0;
    printf("linfer profile: %d runs, --tp %d", ntp, tpl[0]);
    for (int i = 1; i < ntp; i++) printf(",%d", tpl[i]);
    printf(" (each its own job; rank 0's tables)\n");
    fflush(stdout);
    for (int i = 0; i < ntp && !rc; i++) {
        printf("\n==== --tp %d ====\n", tpl[i]);
        fflush(stdout);
        rc = cli_run_self_tp(n, av, tpl[i]);
        if (rc) fprintf(stderr, "linfer: profile: the --tp %d run failed (exit %d); stopping\n", tpl[i], rc);
    }
    if (!rc) {
        static const char *const cols[] = {"tp", "TPOT_unprof_ms", "step_ms", "all_reduce_ms", "all_reduce_calls", "ar_share_pct", "attention_ms",
                                           "gemm_ms", "other_ms", "pred_step_ms"};
        lf_table *t = lf_table_new(10, cols);
        if (t) lf_table_set_title(t, "decode at early context, per step, rank 0 (step and the categories profiled; the share is of the "
                                     "un-profiled TPOT; gemm = qkv + o + gate_up + down + lm_head)");
        for (int i = 0; i < ntp && t; i++) {
            char path[1100];
            cli_tp_path(path, sizeof path, json, tpl[i]);
            lf_result res;
            if (lf_result_load(path, &res) != LINFER_OK) { memset(&res, 0, sizeof res); lf_clear_error(); }
            const cJSON *j = res.json;
            const cJSON *ph = NULL, *it, *meta = j ? cJSON_GetObjectItemCaseSensitive(j, "meta") : NULL;
            const cJSON *phases = j ? cJSON_GetObjectItemCaseSensitive(j, "phases") : NULL;
            cJSON_ArrayForEach(it, phases) {
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "phase");
                if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "decode_early")) ph = it;
            }
            lf_table_row(t);
            lf_table_int(t, tpl[i]);
            if (!ph) {
                lf_table_str(t, j ? "no decode steps (--out >= 3)" : "result file unreadable");
                for (int k = 0; k < 8; k++) lf_table_str(t, "");
                lf_result_free(&res);
                continue;
            }
            const double steps = jnum(ph, "steps"), tpot = jnum(meta, "tpot_unprofiled_ms");
            double ar = 0, ar_calls = 0, att = 0, gemm = 0, other = 0;
            cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(ph, "ops")) {
                const cJSON *cat = cJSON_GetObjectItemCaseSensitive(it, "category");
                if (!cJSON_IsString(cat)) continue;
                const char *cn = cat->valuestring;
                const double ms = jnum(it, "ms");
                if (!strcmp(cn, "all_reduce")) { ar = ms; ar_calls = jnum(it, "calls"); }
                else if (!strcmp(cn, "attention")) att = ms;
                else if (!strcmp(cn, "other/host-gaps")) other = ms;
                else if (strstr(cn, "_gemm") || !strcmp(cn, "lm_head")) gemm += ms;
            }
            lf_table_num(t, tpot, 3);
            lf_table_num(t, jnum(ph, "step_ms") / steps, 3);
            lf_table_num(t, ar / steps, 4);
            lf_table_num(t, isfinite(ar_calls) ? ar_calls / steps : 0, 0);
            lf_table_num(t, tpot > 0 ? 100 * ar / steps / tpot : NAN, 1);
            lf_table_num(t, att / steps, 4);
            lf_table_num(t, gemm / steps, 4);
            lf_table_num(t, other / steps, 4);
            lf_table_num(t, jnum(ph, "pred_ms") / steps, 3);
            lf_result_free(&res);
        }
        if (t) {
            printf("\n");
            lf_table_write(t, stdout, LF_FMT_TABLE);
            lf_table_free(t);
        }
    }
    if (json == tmpjson) {
        for (int i = 0; i < ntp; i++) {
            char path[1100];
            cli_tp_path(path, sizeof path, tmpjson, tpl[i]);
            unlink(path);
        }
        rmdir(tmpdir);
    } else if (!rc) {
        printf("wrote");
        for (int i = 0; i < ntp; i++) {
            char path[1100];
            cli_tp_path(path, sizeof path, json, tpl[i]);
            printf(" %s", path);
        }
        printf(" (and .rank<r> files of the ranks > 0)\n");
    }
    free(av);
    return rc;
}

static int is_quantised(const lf_model *m) {
    if (!m || m->random_weights || !m->w.layers) return 0;
    lf_dtype d = m->w.layers[0].wq.dtype;
    return d >= LF_DT_Q8_0 && d <= LF_DT_Q4_1;
}

int cmd_profile(int argc, char **argv) {
    enum { O_BATCH = 400, O_IN, O_OUT, O_DEVICE, O_THREADS, O_WARMUP, O_REPS, O_SEED, O_HW, O_CALIB, O_JSON, O_CSV, O_DTYPE, O_TP };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"batch", required_argument, 0, O_BATCH}, {"in", required_argument, 0, O_IN},
        {"out", required_argument, 0, O_OUT}, {"device", required_argument, 0, O_DEVICE}, {"threads", required_argument, 0, O_THREADS},
        {"warmup", required_argument, 0, O_WARMUP}, {"reps", required_argument, 0, O_REPS}, {"seed", required_argument, 0, O_SEED},
        {"hw", required_argument, 0, O_HW}, {"calib", required_argument, 0, O_CALIB}, {"json", required_argument, 0, O_JSON},
        {"csv", required_argument, 0, O_CSV}, {"dtype", required_argument, 0, O_DTYPE}, {"tp", required_argument, 0, O_TP},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_arg = NULL, *hw_arg = NULL, *calib = NULL, *json = NULL, *csv = NULL;
    lf_profile_run_opts ro;
    lf_profile_default_run_opts(&ro);
    long lv;
    int c, device_set = 0, tp = 1;
    const char *tp_s = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case O_BATCH: if (!cli_parse_int("--batch", optarg, 1, 4096, &lv)) return 2; ro.batch = (int)lv; break;
        case O_IN: if (!cli_parse_int("--in", optarg, 1, 1 << 20, &lv)) return 2; ro.in_len = (int)lv; break;
        case O_OUT: if (!cli_parse_int("--out", optarg, 1, 1 << 20, &lv)) return 2; ro.out_len = (int)lv; break;
        case O_DEVICE:
            device_set = 1;
            if (!strcmp(optarg, "cpu")) ro.device = LINFER_DEVICE_CPU;
            else if (!strcmp(optarg, "cuda") || !strcmp(optarg, "gpu")) ro.device = LINFER_DEVICE_CUDA;
            else { fprintf(stderr, "linfer: profile: --device must be cpu or cuda, got '%s'\n", optarg); return 2; }
            break;
        case O_DTYPE:
            if (!strcmp(optarg, "fp16") || !strcmp(optarg, "f16")) ro.dtype = LINFER_DTYPE_F16;
            else if (!strcmp(optarg, "bf16")) ro.dtype = LINFER_DTYPE_BF16;
            else { fprintf(stderr, "linfer: profile: --dtype must be fp16 or bf16, got '%s'\n", optarg); return 2; }
            break;
        case O_TP: tp_s = optarg; break;
        case O_THREADS: if (!cli_parse_int("--threads", optarg, 1, 1024, &lv)) return 2; ro.n_threads = (int)lv; break;
        case O_WARMUP: if (!cli_parse_int("--warmup", optarg, 0, 100, &lv)) return 2; ro.warmup = (int)lv; break;
        case O_REPS: if (!cli_parse_int("--reps", optarg, 1, 1000, &lv)) return 2; ro.reps = (int)lv; break;
        case O_SEED: if (!cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &lv)) return 2; ro.seed = (uint64_t)lv; break;
        case O_HW: hw_arg = optarg; break;
        case O_CALIB: calib = optarg; break;
        case O_JSON: json = optarg; break;
        case O_CSV: csv = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "linfer: profile: unexpected argument '%s'\n", argv[optind]); return 2; }
    if (tp_s) {
        int *tpl = NULL, ntp = 0;
        if (lf_parse_int_list(tp_s, "--tp", 1, 64, &tpl, &ntp)) { cli_fail(LINFER_ERR_INVALID_ARG); return 2; }
        if (ntp > 1) { /* one run per TP degree, each its own job, then the comparison */
            if (lf_dist_env_present()) { free(tpl); fprintf(stderr, "linfer: profile: --tp LIST cannot run as a rank of a launched job\n"); return 2; }
            int rc = compare_tp(argc, argv, tpl, ntp, json);
            free(tpl);
            return rc;
        }
        tp = tpl[0];
        free(tpl);
    }
    if (!model_arg) model_arg = cli_default_model();
    if (!device_set) ro.device = lf_gpu_count() > 0 || tp > 1 ? LINFER_DEVICE_CUDA : LINFER_DEVICE_CPU;
    const int gpu = ro.device == LINFER_DEVICE_CUDA;
    if ((tp > 1 || lf_dist_env_present()) && !gpu) { fprintf(stderr, "linfer: profile: --tp %d needs the CUDA backend\n", tp); return 2; }

    int rc = 0;
    lf_status s;
    linfer_model *model = NULL;
    lf_profile prof = {0};
    lf_dist dist;
    memset(&dist, 0, sizeof dist);
    int dist_on = 0;
    char json_rank[1100], csv_rank[1100];
    if (tp > 1 || lf_dist_env_present()) {
        if ((s = cli_dist_start(tp, argc, argv, &dist))) { rc = cli_fail(s); goto done; }
        dist_on = 1;
        cli_rank_layout lay;
        if ((rc = cli_rank_layout_of("profile", &dist, tp, 1, &lay))) goto done;
        ro.tp_size = lay.tp_size; ro.tp_rank = lay.tp_rank; ro.tp_comm = lay.tp_comm;
        ro.gpu_index = dist.local_rank;
        if (dist.rank != 0) { /* every rank keeps its own profile: FILE.rank<r> */
            if (json) { snprintf(json_rank, sizeof json_rank, "%s.rank%d", json, dist.rank); json = json_rank; }
            if (csv) { snprintf(csv_rank, sizeof csv_rank, "%s.rank%d", csv, dist.rank); csv = csv_rank; }
        }
    }
    /* model: a preset (random weights) or a file */
    int is_preset = 0;
    if (lf_path_exists(model_arg)) {
        linfer_model_params mp = linfer_model_default_params();
        mp.path = model_arg;
        mp.load_tokenizer = 0;
        if ((s = linfer_model_load(&mp, &model))) { rc = cli_fail(s); goto done; }
    } else {
        lf_config cfg;
        if ((s = lf_preset_model(model_arg, &cfg))) { cli_fail(s); return 2; }
        if ((s = lf_model_create_random(&cfg, ro.dtype == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16, ro.seed, &model))) {
            rc = cli_fail(s);
            goto done;
        }
        is_preset = 1;
    }
    if ((long)ro.in_len + ro.out_len > model->cfg.max_context) {
        fprintf(stderr, "linfer: profile: --in %d + --out %d exceeds %s's context of %d\n", ro.in_len, ro.out_len, model_arg,
                model->cfg.max_context);
        rc = 2;
        goto done;
    }
    if ((json && (s = lf_bench_check_writable(json))) || (csv && (s = lf_bench_check_writable(csv)))) { cli_fail(s); rc = 2; goto done; }

    lf_hw hw;
    int have_hw = 0;
    char hw_desc[1200], dev_name[160];
    lf_gpu_info gi;
    memset(&gi, 0, sizeof gi);
    if (gpu) {
        if ((s = lf_gpu_info_get(ro.gpu_index, &gi))) { rc = cli_fail(s); goto done; }
        snprintf(dev_name, sizeof dev_name, "%s", gi.name);
    } else {
        lf_cpu_name(dev_name, sizeof dev_name);
    }
    /* every rank of a TP job predicts with GPU 0's calibration (`linfer calibrate` caches one per
     * GPU index, usually for GPU 0 only; the GPUs of a TP job are alike) */
    if ((rc = cli_resolve_hw("profile", ro.device, dist_on ? 0 : ro.gpu_index, gpu ? gi.name : NULL, hw_arg, calib, &hw, &have_hw,
                             hw_desc, sizeof hw_desc)))
        goto done;
    printf("linfer profile: %s (%s) on %s%s, batch %d, in %d, out %d, %d warm-up + %d x (un-profiled, profiled) runs\n", model_arg,
           is_preset ? "preset, random weights" : "from file", dev_name, gpu ? (ro.dtype == LINFER_DTYPE_BF16 ? " (bf16)" : " (fp16)") : "",
           ro.batch, ro.in_len, ro.out_len, ro.warmup, ro.reps);
    if (dist_on) printf("tensor parallelism: %d GPUs; this table is rank 0's%s\n", dist.world, json || csv ? "; ranks > 0 write FILE.rank<r>" : "");
    fflush(stdout);

    lf_profile_timing tm;
    if ((s = lf_profile_run(model, &ro, &prof, &tm))) { rc = cli_fail(s); goto done; }
    /* the CPU holds fp32 tensors (docs/bench.md): bytes at 4 B per element, twice the roofline's 16-bit count */
    const double bytes_scale = gpu || is_quantised(model) ? 1 : 2;
    if (have_hw) {
        lf_roofline_model rm;
        lf_roofline_model_from_config(&model->cfg, model_arg, &rm);
        lf_roofline_opts rop;
        lf_roofline_default_opts(&rop);
        if (!gpu) {   /* no kernel launches on the CPU */
            rop.launch_s = 0;
            rop.kernel_s = 0;
            rop.workspace_bytes = 0;
        } else rop.ar_bytes = 4;   /* the CUDA engine all-reduces its fp32 residual */
        const lf_prec prec = ro.dtype == LINFER_DTYPE_BF16 ? LF_PREC_BF16 : LF_PREC_FP16;
        if ((s = lf_profile_predict(&prof, &rm, &hw, &rop, prec, bytes_scale))) { rc = cli_fail(s); goto done; }
        printf("ceilings: %.1f GB/s, %.1f GFLOP/s; from %s%s\n", prof.ceil_bw / 1e9, prof.ceil_flops / 1e9, hw_desc,
               bytes_scale > 1 ? "; bytes counted at fp32 (4 B per weight, activation, KV element)" : "");
    } else printf("ceilings: %s: no predictions\n", hw_desc);

    char commit[64], date[40], cmdline[2048];
    cli_git_commit(commit, sizeof commit);
    lf_iso_date(date, sizeof date);
    size_t l = (size_t)snprintf(cmdline, sizeof cmdline, "linfer");
    for (int i = 0; i < argc && l < sizeof cmdline; i++) l += (size_t)snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
    lf_profile_meta meta = {model_arg, gpu ? "cuda" : "cpu", dev_name, commit, cmdline, date, have_hw ? hw_desc : "none", ro.reps,
                            ro.warmup, tm.tpot_profiled_ms, tm.tpot_unprofiled_ms, tm.ttft_profiled_ms, tm.ttft_unprofiled_ms,
                            tm.timing_source, dist_on ? dist.world : 1, dist_on ? dist.rank : 0};
    lf_profile_print(stdout, &prof, &meta);
    if (json) {
        if ((s = lf_profile_write_json(json, &meta, &prof))) rc = cli_fail(s);
        else printf("wrote %s\n", json);
    }
    if (csv) {
        if ((s = lf_profile_write_csv(csv, &meta, &prof))) rc = cli_fail(s);
        else printf("wrote %s\n", csv);
    }
done:
    lf_profile_free(&prof);
    linfer_model_free(model);
    if (dist_on) {
        lf_status fs = lf_dist_finish(&dist, rc);
        if (fs && !rc) rc = cli_fail(fs);
    }
    return rc;
}
