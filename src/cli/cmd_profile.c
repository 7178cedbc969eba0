/* cmd_profile.c — `linfer profile`: where the time of a generate call goes, per op category and
 * per phase (prefill, decode at early and at late context), beside the roofline's prediction of
 * each category, sorted by the time lost against it. The measuring and the tables live in
 * src/perf/profile.c; this file parses options, picks the ceilings and writes the outputs. */
#include <getopt.h>
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
#include "perf/roofline.h"

static void usage(FILE *f) {
    char cpath[1024], names[1024];
    lf_calib_path(1, 0, cpath, sizeof cpath);
    lf_preset_model_names(names, sizeof names, 1);
    fprintf(f,
            "usage: linfer profile -m MODEL [--batch B] [--in I] [--out O] [--json F] [--csv F] [options]\n"
            "Runs generate calls of B synthetic prompts of I tokens, O new tokens each (greedy, EOS ignored), and\n"
            "reports per phase (prefill; decode steps of the first half = early context; of the second half = late\n"
            "context) the time of each op category, its share of the measured step time, calls, achieved GB/s and\n"
            "GFLOP/s, the roofline's predicted time and the efficiency (predicted / measured), sorted by lost time\n"
            "(measured - predicted): the first row is where the next optimisation is. other/host-gaps = measured step\n"
            "time - the sum of the categories. Profiled and un-profiled runs alternate; both TPOTs are printed (the\n"
            "difference is the cost of the timers).\n"
            "  -m, --model NAME|PATH  preset (random weights: %s) or a GGUF file / HF directory\n"
            "      --batch B          sequences (default 1)\n"
            "      --in I             prompt tokens per sequence (default 128)\n"
            "      --out O            generated tokens per sequence (default 32; >= 3 for both decode phases)\n"
            "      --device cpu       the CPU backend (the CUDA per-op profile comes from CUPTI, not yet wired)\n"
            "      --threads N        CPU threads (default: all cores)\n"
            "      --warmup W         un-profiled runs first (default 1)\n"
            "      --reps R           pairs of un-profiled + profiled runs (default 3)\n"
            "      --seed S           random weights and synthetic prompts (default 42)\n"
            "      --hw measured|none ceilings of the predictions: the CPU calibration (%s, `linfer calibrate\n"
            "                         --cpu`), else a quick measurement; none: no predictions\n"
            "      --calib FILE       calibration file to use instead\n"
            "      --json FILE        {\"kind\": \"profile\", \"meta\": {...}, \"phases\": [...]} (atomic write)\n"
            "      --csv FILE         one row per phase and category, the metadata as columns (atomic write)\n",
            names, cpath);
}


/* CPU ceilings: the calibration file, else a quick measurement. Returns an exit code. */
static int cpu_ceilings(const char *hw_arg, const char *calib, lf_hw *hw, int *have, char *desc, size_t cap) {
    *have = 0;
    if (hw_arg && !strcasecmp(hw_arg, "none")) { snprintf(desc, cap, "none (--hw none)"); return 0; }
    if (hw_arg && strcasecmp(hw_arg, "measured")) {
        fprintf(stderr, "linfer: profile: --hw '%s': on the CPU give measured or none\n", hw_arg);
        return 2;
    }
    char path[1024];
    if (calib) snprintf(path, sizeof path, "%s", calib);
    else lf_calib_path(1, 0, path, sizeof path);
    lf_calib_result cr;
    if (lf_calib_load(path, &cr) == LINFER_OK && cr.is_cpu) {
        snprintf(desc, cap, "measured: %s", path);
    } else {
        lf_clear_error();
        if (calib) { fprintf(stderr, "linfer: profile: --calib %s: not a CPU calibration (run `linfer calibrate --cpu`)\n", calib); return 2; }
        fprintf(stderr, "linfer: profile: no CPU calibration at %s; measuring quickly (`linfer calibrate --cpu` caches one)\n", path);
        lf_calib_opts co;
        lf_calib_default_opts(&co);
        co.quick = 1;
        lf_status s = lf_calibrate_cpu(&co, &cr);
        if (s) return cli_fail(s);
        snprintf(desc, cap, "quick CPU measurement (no calibration at %s)", path);
    }
    lf_hw_cpu(&cr, hw);
    *have = 1;
    return 0;
}

static int is_quantised(const lf_model *m) {
    if (!m || m->random_weights || !m->w.layers) return 0;
    lf_dtype d = m->w.layers[0].wq.dtype;
    return d >= LF_DT_Q8_0 && d <= LF_DT_Q4_1;
}

int cmd_profile(int argc, char **argv) {
    enum { O_BATCH = 400, O_IN, O_OUT, O_DEVICE, O_THREADS, O_WARMUP, O_REPS, O_SEED, O_HW, O_CALIB, O_JSON, O_CSV };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"batch", required_argument, 0, O_BATCH}, {"in", required_argument, 0, O_IN},
        {"out", required_argument, 0, O_OUT}, {"device", required_argument, 0, O_DEVICE}, {"threads", required_argument, 0, O_THREADS},
        {"warmup", required_argument, 0, O_WARMUP}, {"reps", required_argument, 0, O_REPS}, {"seed", required_argument, 0, O_SEED},
        {"hw", required_argument, 0, O_HW}, {"calib", required_argument, 0, O_CALIB}, {"json", required_argument, 0, O_JSON},
        {"csv", required_argument, 0, O_CSV}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_arg = NULL, *hw_arg = NULL, *calib = NULL, *json = NULL, *csv = NULL;
    lf_profile_run_opts ro;
    lf_profile_default_run_opts(&ro);
    long lv;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case O_BATCH: if (!cli_parse_int("--batch", optarg, 1, 4096, &lv)) return 2; ro.batch = (int)lv; break;
        case O_IN: if (!cli_parse_int("--in", optarg, 1, 1 << 20, &lv)) return 2; ro.in_len = (int)lv; break;
        case O_OUT: if (!cli_parse_int("--out", optarg, 1, 1 << 20, &lv)) return 2; ro.out_len = (int)lv; break;
        case O_DEVICE:
            if (!strcmp(optarg, "cpu")) break;
            if (!strcmp(optarg, "cuda") || !strcmp(optarg, "gpu")) {
                fprintf(stderr, "linfer: profile: --device %s: the GPU per-op profile (CUPTI) is not wired yet; use --device cpu\n", optarg);
                return 1;
            }
            fprintf(stderr, "linfer: profile: --device must be cpu, got '%s'\n", optarg);
            return 2;
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
    if (!model_arg) model_arg = cli_default_model();

    int rc = 0;
    lf_status s;
    linfer_model *model = NULL;
    lf_profile prof = {0};
    /* model: a preset (random weights) or a file */
    int is_preset = 0;
    if (lf_path_exists(model_arg)) {
        linfer_model_params mp = linfer_model_default_params();
        mp.path = model_arg;
        mp.load_tokenizer = 0;
        if ((s = linfer_model_load(&mp, &model))) return cli_fail(s);
    } else {
        lf_config cfg;
        if ((s = lf_preset_model(model_arg, &cfg))) { cli_fail(s); return 2; }
        if ((s = lf_model_create_random(&cfg, LF_DT_F16, ro.seed, &model))) return cli_fail(s);
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
    if ((rc = cpu_ceilings(hw_arg, calib, &hw, &have_hw, hw_desc, sizeof hw_desc))) goto done;
    lf_cpu_name(dev_name, sizeof dev_name);
    printf("linfer profile: %s (%s) on %s, batch %d, in %d, out %d, %d warm-up + %d x (un-profiled, profiled) runs\n", model_arg,
           is_preset ? "preset, random weights" : "from file", dev_name, ro.batch, ro.in_len, ro.out_len, ro.warmup, ro.reps);
    fflush(stdout);

    lf_profile_timing tm;
    if ((s = lf_profile_run(model, &ro, &prof, &tm))) { rc = cli_fail(s); goto done; }
    const double bytes_scale = is_quantised(model) ? 1 : 2;   /* fp32 tensors on the CPU (docs/bench.md) */
    if (have_hw) {
        lf_roofline_model rm;
        lf_roofline_model_from_config(&model->cfg, model_arg, &rm);
        lf_roofline_opts rop;
        lf_roofline_default_opts(&rop);
        rop.launch_s = 0;
        rop.workspace_bytes = 0;
        if ((s = lf_profile_predict(&prof, &rm, &hw, &rop, LF_PREC_FP16, bytes_scale))) { rc = cli_fail(s); goto done; }
        printf("ceilings: %.1f GB/s, %.1f GFLOP/s; from %s%s\n", prof.ceil_bw / 1e9, prof.ceil_flops / 1e9, hw_desc,
               bytes_scale > 1 ? "; bytes counted at fp32 (4 B per weight, activation, KV element)" : "");
    } else printf("ceilings: %s: no predictions\n", hw_desc);

    char commit[64], date[40], cmdline[2048];
    cli_git_commit(commit, sizeof commit);
    lf_iso_date(date, sizeof date);
    size_t l = (size_t)snprintf(cmdline, sizeof cmdline, "linfer");
    for (int i = 0; i < argc && l < sizeof cmdline; i++) l += (size_t)snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
    lf_profile_meta meta = {model_arg, "cpu", dev_name, commit, cmdline, date, have_hw ? hw_desc : "none", ro.reps, ro.warmup,
                            tm.tpot_profiled_ms, tm.tpot_unprofiled_ms, tm.ttft_profiled_ms, tm.ttft_unprofiled_ms};
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
    return rc;
}
