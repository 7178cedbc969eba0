/* cmd_roofline.c — `linfer roofline`: predicted TTFT, TPOT, throughput, memory and per-op
 * breakdown over a sweep of TP × batch × input length × output length, from a roofline model
 * of a preset (or custom, or loaded) model shape on a preset (or custom, or measured) GPU.
 * Every impossible point is refused before anything is computed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "engine/gpu_query.h"
#include "model/model.h"
#include "perf/presets.h"
#include "perf/roofline.h"
#include "perf/sweep.h"
#include "perf/table.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: linfer roofline -m MODEL|--shape SPEC --gpu NAME|measured|custom [options]\n"
        "  -m, --model NAME|PATH  model preset (--list-models) or an HF directory / .gguf file\n"
        "      --shape SPEC       custom shape, e.g. gpt:n_layers=80,dim=16384 or\n"
        "                         llama:n_layers=32,dim=4096,n_kv_heads=8,ffn_dim=14336,vocab=128256\n"
        "      --gpu NAME         GPU preset or nvidia-smi name (--list-gpus); 'measured' uses the\n"
        "                         calibration file; 'custom' takes the figures below. Default: the\n"
        "                         GPU present (its calibration when it is not a preset)\n"
        "      --tp LIST          tensor-parallel GPUs (default 1)     LIST: 1,2,4 | 1-8 | 1:256:x2\n"
        "      --pp N             pipeline stages of the --tp GPUs each (default 1): layers split, a residual hop\n"
        "                         (latency + bytes / link BW) between stages, (M + N - 1) micro-batch stage times\n"
        "      --pp-micro M       micro-batches per step (default: N for steps of >= 128 tokens, else 1, as the engine)\n"
        "      --batch LIST       sequences per batch (default 1)\n"
        "      --in LIST          prompt tokens (default 512)\n"
        "      --out LIST         generated tokens (default 128)\n"
        "      --dtype T          fp16|bf16|fp8|int8 weights and tensor math (default fp16)\n"
        "      --kv-dtype T       fp16|bf16|fp8 KV cache (default fp16)\n"
        "      --format F         table|csv|json|md (default table)\n"
        "      --per-op           per-op rows: prefill, first and last decode step\n"
        "      --decode-ctx LIST  also per-op rows of decode steps at these contexts\n"
        "      --explain          the formulas with the numbers put in (stderr for csv/json)\n"
        "      --allreduce M      ring (L + 2(tp-1)/tp·bytes/bw, default) | twophase (2L + 2·bytes/bw, seed 002)\n"
        "  overrides (any GPU; required for custom):\n"
        "      --hbm-bw B/s  --flops FLOP/s  --link-bw B/s (per direction)  --ar-latency S\n"
        "      --launch-us US (kernel launch floor, instead of the measured kernel-chain overhead; 0 = off)\n"
        "      --kernel-us US (flat per-kernel overhead added to each op's roofline time)  --mem GIB  --mem-util F (0.90)\n"
        "      --calib FILE       calibration file (default $LINFER_CALIB or ~/.cache/linfer/calibration.txt)\n"
        "  -o, --output FILE      write the tables there\n"
        "      --list-models, --list-gpus\n");
}

static int list_models(void) {
    int n;
    const lf_model_preset *p = lf_model_presets(&n);
    const char *cols[] = {"name", "arch", "layers", "dim", "heads", "kv_heads", "head_dim", "ffn", "vocab", "context",
                          "params_B", "runs", "source"};
    lf_table *t = lf_table_new(13, cols);
    if (!t) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
    for (int i = 0; i < n; i++) {
        const lf_roofline_model *m = &p[i].shape;
        lf_table_row(t);
        lf_table_str(t, p[i].name);
        lf_table_str(t, m->arch == LF_ARCH_LLAMA ? "llama" : "gpt");
        lf_table_int(t, m->n_layers); lf_table_int(t, m->dim); lf_table_int(t, m->n_heads); lf_table_int(t, m->n_kv_heads);
        lf_table_int(t, m->head_dim); lf_table_int(t, m->ffn_dim); lf_table_int(t, m->vocab_size); lf_table_int(t, m->max_context);
        lf_table_num(t, lf_roofline_model_params(m) / 1e9, 3);
        lf_table_str(t, m->engine_runs ? "yes" : "shape only");
        lf_table_str(t, m->source);
    }
    lf_status s = lf_table_write(t, stdout, LF_FMT_TABLE);
    lf_table_free(t);
    return s ? cli_fail(s) : 0;
}

static int list_gpus(void) {
    int n;
    const lf_hw *h = lf_hw_presets(&n);
    const char *cols[] = {"name", "mem_GiB", "hbm_GB/s", "fp16_TF", "bf16_TF", "fp8_TF", "int8_TOPS", "nvlink", "nvlink_GB/s",
                          "pcie", "source"};
    lf_table *t = lf_table_new(11, cols);
    if (!t) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
    for (int i = 0; i < n; i++) {
        lf_table_row(t);
        lf_table_str(t, h[i].name);
        lf_table_num(t, h[i].mem_bytes / (1024.0 * 1024 * 1024), 0);
        lf_table_num(t, h[i].hbm_bw / 1e9, 0);
        for (int p = 0; p < LF_PREC_COUNT; p++) {
            if (h[i].flops[p] > 0) lf_table_num(t, h[i].flops[p] / 1e12, 1);
            else lf_table_str(t, "-");
        }
        if (h[i].nvlink_gen) lf_table_strf(t, "gen%d x%d", h[i].nvlink_gen, h[i].nvlink_gpus);
        else lf_table_str(t, "-");
        lf_table_num(t, h[i].nvlink_bw / 1e9, 1);
        lf_table_strf(t, "gen%d", h[i].pcie_gen);
        lf_table_str(t, h[i].source);
    }
    lf_status s = lf_table_write(t, stdout, LF_FMT_TABLE);
    lf_table_free(t);
    return s ? cli_fail(s) : 0;
}

/* ---- columns of the points table ------------------------------------------------------------------ */
enum {
    C_MODEL, C_GPU, C_DTYPE, C_TP, C_BATCH, C_IN, C_OUT, C_TTFT, C_TPOT_FIRST, C_TPOT_MEAN, C_TPOT_LAST, C_E2E,
    C_TOKS, C_PREFILL_BOUND, C_DECODE_BOUND, C_WEIGHTS, C_KV, C_ACT, C_WS, C_MEM, C_FITS, C_MAX_BATCH, C_CRIT, C_KNEE,
    C_TOK_THR, C_COUNT
};
static const char *const col_names[C_COUNT] = {
    "model", "gpu", "dtype", "tp", "batch", "in", "out", "ttft_ms", "tpot_first_ms", "tpot_mean_ms", "tpot_last_ms",
    "e2e_ms", "tok_s", "prefill_bound", "decode_bound", "weights_GiB", "kv_GiB", "act_GiB", "workspace_GiB", "mem_GiB", "fits",
    "max_batch", "crit_batch", "knee_batch", "in_tok_threshold"};

static void point_cell(lf_table *t, int col, const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_result *r) {
    const double G = 1024.0 * 1024 * 1024;
    int dec = r->out_len > 1;
    switch (col) {
    case C_MODEL: lf_table_str(t, m->name); break;
    case C_GPU: lf_table_str(t, hw->name); break;
    case C_DTYPE: lf_table_str(t, lf_prec_name(r->prec)); break;
    case C_TP: lf_table_int(t, r->tp); break;
    case C_BATCH: lf_table_int(t, r->batch); break;
    case C_IN: lf_table_int(t, r->in_len); break;
    case C_OUT: lf_table_int(t, r->out_len); break;
    case C_TTFT: lf_table_num(t, r->ttft_s * 1e3, 3); break;
    case C_TPOT_FIRST: if (dec) lf_table_num(t, r->tpot_first_s * 1e3, 3); else lf_table_empty(t); break;
    case C_TPOT_MEAN: if (dec) lf_table_num(t, r->tpot_mean_s * 1e3, 3); else lf_table_empty(t); break;
    case C_TPOT_LAST: if (dec) lf_table_num(t, r->tpot_last_s * 1e3, 3); else lf_table_empty(t); break;
    case C_E2E: lf_table_num(t, r->e2e_s * 1e3, 2); break;
    case C_TOKS: lf_table_num(t, r->throughput_tok_s, 1); break;
    case C_PREFILL_BOUND: lf_table_str(t, lf_bound_name(r->prefill.bound)); break;
    case C_DECODE_BOUND: if (dec) lf_table_str(t, lf_bound_name(r->decode_first.bound)); else lf_table_empty(t); break;
    case C_WEIGHTS: lf_table_num(t, r->mem.weights / G, 3); break;
    case C_KV: lf_table_num(t, r->mem.kv_cache / G, 3); break;
    case C_ACT: lf_table_num(t, r->mem.activations / G, 3); break;
    case C_WS: lf_table_num(t, r->mem.workspace / G, 3); break;
    case C_MEM: lf_table_num(t, r->mem.total / G, 3); break;
    case C_FITS: lf_table_str(t, r->mem.fits < 0 ? "?" : r->mem.fits ? "yes" : "no"); break;
    case C_MAX_BATCH: if (r->max_batch >= 0) lf_table_int(t, r->max_batch); else lf_table_empty(t); break;
    case C_CRIT: lf_table_int(t, r->critical_batch); break;
    case C_KNEE: lf_table_int(t, r->knee_batch); break;
    case C_TOK_THR: lf_table_int(t, r->input_token_threshold); break;
    }
}

static lf_table *points_table(const int *cols, int ncols) {
    const char *names[C_COUNT];
    for (int i = 0; i < ncols; i++) names[i] = col_names[cols[i]];
    return lf_table_new(ncols, names);
}

/* ---- per-op table ------------------------------------------------------------------------------- */
static const char *const op_cols[] = {"tp", "batch", "in", "out", "phase", "ctx", "op", "layers", "kernels", "gflop",
                                      "weight_MB", "act_MB", "kv_rd_MB", "kv_wr_MB", "comm_MB", "comm_n", "flop_per_B",
                                      "bound", "per_layer_us", "time_ms", "share_pct"};
#define N_OP_COLS ((int)(sizeof op_cols / sizeof op_cols[0]))

static void op_rows(lf_table *t, const lf_roofline_result *r, const char *phase, const lf_roofline_phase *ph) {
    for (int i = 0; i <= LF_OP_COUNT; i++) {
        int total = i == LF_OP_COUNT;
        const lf_op_cost *op = total ? NULL : &ph->op[i];
        if (!total && op->time <= 0 && op->flops <= 0) continue;
        lf_table_row(t);
        lf_table_int(t, r->tp); lf_table_int(t, r->batch); lf_table_int(t, r->in_len); lf_table_int(t, r->out_len);
        lf_table_str(t, phase);
        lf_table_int(t, ph->ctx);
        if (total) {
            lf_table_str(t, "total");
            lf_table_empty(t); lf_table_empty(t);
            lf_table_num(t, ph->flops / 1e9, 3);
            double w = 0, a = 0, kr = 0, kw = 0;
            int n = 0;
            for (int k = 0; k < LF_OP_COUNT; k++) {
                w += ph->op[k].bytes_weight; a += ph->op[k].bytes_act;
                kr += ph->op[k].bytes_kv_read; kw += ph->op[k].bytes_kv_write; n += ph->op[k].comm_count;
            }
            lf_table_num(t, w / 1e6, 3); lf_table_num(t, a / 1e6, 3); lf_table_num(t, kr / 1e6, 3); lf_table_num(t, kw / 1e6, 3);
            lf_table_num(t, ph->comm_bytes / 1e6, 3);
            lf_table_int(t, n);
            lf_table_num(t, ph->bytes > 0 ? ph->flops / ph->bytes : 0, 2);
            lf_table_str(t, lf_bound_name(ph->bound));
            lf_table_empty(t);
            lf_table_num(t, ph->time * 1e3, 4);
            lf_table_num(t, 100, 1);
            continue;
        }
        lf_table_str(t, lf_roofline_op_name((lf_op)i));
        lf_table_int(t, op->layers);
        lf_table_int(t, op->kernels);
        lf_table_num(t, op->flops / 1e9, 3);
        lf_table_num(t, op->bytes_weight / 1e6, 3);
        lf_table_num(t, op->bytes_act / 1e6, 3);
        lf_table_num(t, op->bytes_kv_read / 1e6, 3);
        lf_table_num(t, op->bytes_kv_write / 1e6, 3);
        lf_table_num(t, op->comm_bytes / 1e6, 3);
        lf_table_int(t, op->comm_count);
        lf_table_num(t, op->intensity, 2);
        lf_table_str(t, lf_bound_name(op->bound));
        if (op->per_layer_s > 0) lf_table_num(t, op->per_layer_s * 1e6, 2); else lf_table_empty(t);
        lf_table_num(t, op->time * 1e3, 4);
        lf_table_num(t, ph->time > 0 ? 100 * op->time / ph->time : 0, 1);
    }
}

/* ---- resolving the model and the GPU ------------------------------------------------------------------ */
static int is_path(const char *s) {
    struct stat st;
    return strchr(s, '/') || stat(s, &st) == 0;
}

static lf_status resolve_model(const char *name, const char *shape, lf_roofline_model *m) {
    if (shape && name) return lf_fail(LINFER_ERR_INVALID_ARG, "give -m or --shape, not both");
    if (shape) return lf_parse_shape(shape, m);
    if (!name) {
        char names[1024];
        return lf_fail(LINFER_ERR_INVALID_ARG, "no model: give -m PRESET (%s) or --shape",
                       lf_preset_model_names(names, sizeof names, 0));
    }
    if (lf_preset_shape(name, m) == LINFER_OK) return LINFER_OK;
    if (!is_path(name)) return LINFER_ERR_INVALID_ARG;   /* message from lf_preset_shape lists the presets */
    lf_model *mdl = NULL;
    LF_TRY(lf_model_load(name, 0, &mdl));
    const char *base = strrchr(name, '/');
    base = base && base[1] ? base + 1 : name;
    lf_roofline_model_from_config(&mdl->cfg, base, m);
    m->source = "loaded config";
    lf_model_free(mdl);
    return LINFER_OK;
}

static lf_status load_measured(const char *calib, lf_hw *hw) {
    char path[1024];
    if (!calib) calib = lf_hw_default_calib_path(path, sizeof path);
    lf_hw_measured me;
    LF_TRY(lf_hw_measured_load(calib, &me));
    return lf_hw_from_measured(&me, hw);
}

static lf_status resolve_gpu(const char *name, const char *calib, lf_hw *hw) {
    if (name && strcasecmp(name, "custom") == 0) {
        memset(hw, 0, sizeof *hw);
        snprintf(hw->name, sizeof hw->name, "custom");
        snprintf(hw->desc, sizeof hw->desc, "custom GPU (--hbm-bw, --flops, --link-bw, --ar-latency)");
        hw->nvlink_gpus = 1;
        hw->max_gpus = 0;            /* no node limit: model 16 GPUs as seed 002 does */
        hw->ar_latency_s = hw->ar_latency_pcie_s = 8e-6;
        hw->launch_s = 0;            /* an ideal machine unless --launch-us says otherwise */
        hw->source = "command line";
        return LINFER_OK;
    }
    if (name && strcasecmp(name, "measured") == 0) return load_measured(calib, hw);
    if (name) {
        lf_status s = lf_hw_lookup(name, hw);
        if (s == LINFER_OK) return s;
        /* unknown GPU: its calibration, if the file was measured on a GPU of that name */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", linfer_last_error());
        char path[1024];
        lf_hw_measured me;
        if (lf_hw_measured_load(calib ? calib : lf_hw_default_calib_path(path, sizeof path), &me) == LINFER_OK &&
            strcasecmp(me.gpu_name, name) == 0)
            return lf_hw_from_measured(&me, hw);
        return lf_fail(s, "%s", saved);
    }
    /* no --gpu: the GPU present, falling back to its calibration when it is not a preset */
    if (lf_gpu_count() > 0) {
        lf_gpu_info gi;
        if (lf_gpu_info_get(0, &gi) == LINFER_OK) {
            if (lf_hw_lookup(gi.name, hw) == LINFER_OK) return LINFER_OK;
            lf_status s = load_measured(calib, hw);
            if (s == LINFER_OK) return s;
            return lf_fail(LINFER_ERR_INVALID_ARG, "GPU 0 '%s' has no preset and no calibration; run `linfer calibrate` "
                           "or give --gpu", gi.name);
        }
    }
    if (load_measured(calib, hw) == LINFER_OK) return LINFER_OK;
    char names[1024];
    return lf_fail(LINFER_ERR_INVALID_ARG, "no GPU present and no calibration: give --gpu (%s, or custom)",
                   lf_hw_preset_names(names, sizeof names));
}

/* ---- the verb -------------------------------------------------------------------------------------- */
enum {
    O_SHAPE = 256, O_GPU, O_TP, O_BATCH, O_IN, O_OUT, O_DTYPE, O_KV_DTYPE, O_FORMAT, O_PER_OP, O_EXPLAIN, O_ALLREDUCE,
    O_HBM_BW, O_FLOPS, O_LINK_BW, O_AR_LAT, O_LAUNCH, O_KERNEL, O_MEM, O_MEM_UTIL, O_CALIB, O_LIST_MODELS, O_LIST_GPUS,
    O_DECODE_CTX, O_PP, O_PP_MICRO
};

int cmd_roofline(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"shape", required_argument, 0, O_SHAPE},
        {"gpu", required_argument, 0, O_GPU}, {"tp", required_argument, 0, O_TP},
        {"batch", required_argument, 0, O_BATCH}, {"in", required_argument, 0, O_IN},
        {"out", required_argument, 0, O_OUT}, {"dtype", required_argument, 0, O_DTYPE},
        {"kv-dtype", required_argument, 0, O_KV_DTYPE}, {"format", required_argument, 0, O_FORMAT},
        {"per-op", no_argument, 0, O_PER_OP}, {"explain", no_argument, 0, O_EXPLAIN},
        {"decode-ctx", required_argument, 0, O_DECODE_CTX}, {"pp", required_argument, 0, O_PP},
        {"pp-micro", required_argument, 0, O_PP_MICRO},
        {"allreduce", required_argument, 0, O_ALLREDUCE}, {"hbm-bw", required_argument, 0, O_HBM_BW},
        {"flops", required_argument, 0, O_FLOPS}, {"link-bw", required_argument, 0, O_LINK_BW},
        {"ar-latency", required_argument, 0, O_AR_LAT}, {"launch-us", required_argument, 0, O_LAUNCH},
        {"kernel-us", required_argument, 0, O_KERNEL},
        {"mem", required_argument, 0, O_MEM}, {"mem-util", required_argument, 0, O_MEM_UTIL},
        {"calib", required_argument, 0, O_CALIB}, {"output", required_argument, 0, 'o'},
        {"list-models", no_argument, 0, O_LIST_MODELS}, {"list-gpus", no_argument, 0, O_LIST_GPUS},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_name = NULL, *shape = NULL, *gpu = NULL, *calib = NULL, *out_path = NULL;
    const char *tp_s = "1", *batch_s = "1", *in_s = "512", *out_s = "128", *dctx_s = NULL;
    lf_prec prec = LF_PREC_FP16;
    lf_table_format fmt = LF_FMT_TABLE;
    int per_op = 0, explain = 0;
    double hbm_bw = -1, flops = -1, link_bw = -1, mem_gib = -1;
    lf_roofline_opts ro;
    lf_roofline_default_opts(&ro);
    lf_status s;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_name = optarg; break;
        case O_SHAPE: shape = optarg; break;
        case O_GPU: gpu = optarg; break;
        case O_TP: tp_s = optarg; break;
        case O_PP: { long v; if (!cli_parse_int("--pp", optarg, 1, 64, &v)) return 2; ro.pp = (int)v; break; }
        case O_PP_MICRO: { long v; if (!cli_parse_int("--pp-micro", optarg, 1, 4096, &v)) return 2; ro.pp_micro = (int)v; break; }
        case O_BATCH: batch_s = optarg; break;
        case O_IN: in_s = optarg; break;
        case O_OUT: out_s = optarg; break;
        case O_DTYPE: if ((s = lf_prec_parse(optarg, &prec))) return cli_fail(s); break;
        case O_KV_DTYPE: {
            lf_prec kp;
            if ((s = lf_prec_parse(optarg, &kp)) || kp == LF_PREC_INT8)
                return cli_fail(s ? s : lf_fail(LINFER_ERR_INVALID_ARG, "--kv-dtype: fp16, bf16 or fp8"));
            ro.kv_bytes = lf_prec_bytes(kp);
            break;
        }
        case O_FORMAT: if ((s = lf_table_format_parse(optarg, &fmt))) return cli_fail(s); break;
        case O_PER_OP: per_op = 1; break;
        case O_DECODE_CTX: dctx_s = optarg; per_op = 1; break;
        case O_EXPLAIN: explain = 1; break;
        case O_ALLREDUCE: if ((s = lf_allreduce_model_parse(optarg, &ro.ar_model))) return cli_fail(s); break;
        case O_HBM_BW: if (!cli_parse_float("--hbm-bw", optarg, 1e6, 1e16, &hbm_bw)) return 2; break;
        case O_FLOPS: if (!cli_parse_float("--flops", optarg, 1e6, 1e19, &flops)) return 2; break;
        case O_LINK_BW: if (!cli_parse_float("--link-bw", optarg, 1e6, 1e15, &link_bw)) return 2; break;
        case O_AR_LAT: if (!cli_parse_float("--ar-latency", optarg, 0, 1, &ro.ar_latency_s)) return 2; break;
        case O_LAUNCH: {
            double us;
            if (!cli_parse_float("--launch-us", optarg, 0, 1e6, &us)) return 2;
            ro.launch_s = us * 1e-6;
            break;
        }
        case O_KERNEL: {
            double us;
            if (!cli_parse_float("--kernel-us", optarg, 0, 1e6, &us)) return 2;
            ro.kernel_s = us * 1e-6;
            break;
        }
        case O_MEM: if (!cli_parse_float("--mem", optarg, 0.001, 1e6, &mem_gib)) return 2; break;
        case O_MEM_UTIL: if (!cli_parse_float("--mem-util", optarg, 0.01, 1, &ro.mem_util)) return 2; break;
        case O_CALIB: calib = optarg; break;
        case 'o': out_path = optarg; break;
        case O_LIST_MODELS: return list_models();
        case O_LIST_GPUS: return list_gpus();
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linfer roofline: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    /* the sweep lists */
    int *tps = NULL, *batches = NULL, *ins = NULL, *outs = NULL, *dctx = NULL, ntp = 0, nb = 0, nin = 0, nout = 0, ndctx = 0;
    int rc = 0;
    lf_table *pts = NULL, *pts2 = NULL, *ops = NULL;
    FILE *of = stdout;
    lf_roofline_result *res = NULL;
    if ((s = lf_parse_int_list(tp_s, "--tp", 1, 1 << 20, &tps, &ntp)) || (s = lf_parse_int_list(batch_s, "--batch", 1, 1 << 24, &batches, &nb)) ||
        (s = lf_parse_int_list(in_s, "--in", 1, 1 << 26, &ins, &nin)) || (s = lf_parse_int_list(out_s, "--out", 1, 1 << 26, &outs, &nout)) ||
        (dctx_s && (s = lf_parse_int_list(dctx_s, "--decode-ctx", 1, 1 << 26, &dctx, &ndctx)))) {
        rc = cli_fail(s);
        goto done;
    }
    long npoints = (long)ntp * nb * nin * nout;
    if (npoints > 100000) {
        rc = cli_fail(lf_fail(LINFER_ERR_INVALID_ARG, "the sweep has %ld points (limit 100000)", npoints));
        goto done;
    }

    /* model and GPU */
    lf_roofline_model m;
    lf_hw hw;
    if ((s = resolve_model(model_name, shape, &m))) { rc = cli_fail(s); goto done; }
    if ((s = resolve_gpu(gpu, calib, &hw))) { rc = cli_fail(s); goto done; }
    if (hbm_bw > 0) { hw.hbm_bw = hbm_bw; hw.measured.read_bw = 0; }
    if (flops > 0) {
        if (strcmp(hw.name, "custom") == 0) for (int p = 0; p < LF_PREC_COUNT; p++) hw.flops[p] = flops;
        else hw.flops[prec] = flops;
        for (int p = 0; p < LF_PREC_COUNT; p++) hw.measured.gemm_flops[p] = 0;
    }
    if (link_bw > 0) {                     /* per direction, for every TP size */
        hw.nvlink_bw = 2 * link_bw;
        hw.nvlink_gpus = 1 << 30;
        hw.measured.ar_busbw = 0;
        hw.measured.ar_gpus = 0;
    }
    if (ro.ar_latency_s >= 0) hw.measured.ar_latency_s = 0;
    if (mem_gib > 0) { hw.mem_bytes = mem_gib * 1024.0 * 1024 * 1024; hw.measured.mem_bytes = 0; }

    /* refuse impossible points before computing anything */
    for (int i = 0; i < ntp; i++)
        if ((s = lf_roofline_check(&m, &hw, tps[i], prec, hw.max_gpus))) { rc = cli_fail(s); goto done; }
    for (int i = 0; i < nin; i++)
        for (int j = 0; j < nout; j++)
            if ((s = lf_roofline_check_point(&m, 1, ins[i], outs[j]))) { rc = cli_fail(s); goto done; }
    for (int i = 0; i < ndctx; i++)
        if (m.max_context > 0 && dctx[i] > m.max_context) {
            rc = cli_fail(lf_fail(LINFER_ERR_INVALID_ARG, "--decode-ctx %d exceeds %s's context of %d", dctx[i], m.name, m.max_context));
            goto done;
        }

    if (out_path && !(of = fopen(out_path, "w"))) {
        rc = cli_fail(lf_fail(LINFER_ERR_IO, "%s: cannot write", out_path));
        of = stdout;
        goto done;
    }
    res = malloc((size_t)npoints * sizeof *res);
    if (!res) { rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); goto done; }
    long k = 0;
    for (int a = 0; a < ntp; a++)
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < nin; i++)
                for (int j = 0; j < nout; j++, k++)
                    if ((s = lf_roofline_point(&m, &hw, &ro, tps[a], batches[b], ins[i], outs[j], prec, &res[k]))) {
                        rc = cli_fail(s);
                        goto done;
                    }

    /* tables */
    static const int lat_cols[] = {C_TP, C_BATCH, C_IN, C_OUT, C_TTFT, C_TPOT_FIRST, C_TPOT_MEAN, C_TPOT_LAST, C_E2E,
                                   C_TOKS, C_PREFILL_BOUND, C_DECODE_BOUND};
    static const int mem_cols[] = {C_TP, C_BATCH, C_IN, C_OUT, C_WEIGHTS, C_KV, C_ACT, C_WS, C_MEM, C_FITS, C_MAX_BATCH,
                                   C_CRIT, C_KNEE, C_TOK_THR};
    int all_cols[C_COUNT];
    for (int i = 0; i < C_COUNT; i++) all_cols[i] = i;
    const int *c1 = fmt == LF_FMT_TABLE ? lat_cols : all_cols;
    int n1 = fmt == LF_FMT_TABLE ? (int)(sizeof lat_cols / sizeof lat_cols[0]) : C_COUNT;
    pts = points_table(c1, n1);
    if (fmt == LF_FMT_TABLE) pts2 = points_table(mem_cols, (int)(sizeof mem_cols / sizeof mem_cols[0]));
    if (per_op) ops = lf_table_new(N_OP_COLS, op_cols);
    if (!pts || (fmt == LF_FMT_TABLE && !pts2) || (per_op && !ops)) {
        rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
        goto done;
    }
    char title[512], ppdesc[160] = "";
    if (ro.pp > 1) {
        if (ro.pp_micro > 0) snprintf(ppdesc, sizeof ppdesc, ", pipeline of %d stages (tp GPUs each), %d micro-batches per step", ro.pp, ro.pp_micro);
        else snprintf(ppdesc, sizeof ppdesc, ", pipeline of %d stages (tp GPUs each), %d micro-batches for steps of >= 128 tokens", ro.pp, ro.pp);
    }
    snprintf(title, sizeof title, "%s on %s%s, %s%s: predicted latency (TPOT grows with context: first, mean, last step)",
             m.name, hw.desc[0] ? hw.desc : hw.name, hw.use_measured ? " [measured ceilings]" : "", lf_prec_name(prec), ppdesc);
    lf_table_set_title(pts, title);
    if (pts2) lf_table_set_title(pts2, "memory per GPU and thresholds (crit_batch: decode GEMMs compute-bound; "
                                       "knee_batch: step +10% over batch 1; in_tok_threshold: batch·in where prefill turns compute-bound)");
    for (long p = 0; p < npoints; p++) {
        lf_table_row(pts);
        for (int i = 0; i < n1; i++) point_cell(pts, c1[i], &m, &hw, &res[p]);
        if (pts2) {
            lf_table_row(pts2);
            for (size_t i = 0; i < sizeof mem_cols / sizeof mem_cols[0]; i++) point_cell(pts2, mem_cols[i], &m, &hw, &res[p]);
        }
        if (ops) {
            op_rows(ops, &res[p], "prefill", &res[p].prefill);
            if (res[p].out_len > 1) op_rows(ops, &res[p], "decode_first", &res[p].decode_first);
            if (res[p].out_len > 2) op_rows(ops, &res[p], "decode_last", &res[p].decode_last);
            for (int i = 0; i < ndctx; i++) {
                lf_roofline_phase ph;
                if ((s = lf_roofline_decode(&m, &hw, &ro, res[p].tp, res[p].batch, dctx[i], prec, &ph))) { rc = cli_fail(s); goto done; }
                op_rows(ops, &res[p], "decode", &ph);
            }
        }
    }
    if (ops) lf_table_set_title(ops, "per op, per GPU (MB = 1e6 B; per_layer_us: one layer's instances)");

    if (fmt == LF_FMT_JSON && ops) {
        const char *keys[] = {"points", "ops"};
        const lf_table *tabs[] = {pts, ops};
        s = lf_table_write_json_object(of, 2, keys, tabs);
    } else {
        s = lf_table_write(pts, of, fmt);
        if (!s && pts2) { fputc('\n', of); s = lf_table_write(pts2, of, fmt); }
        if (!s && ops) { fputc('\n', of); s = lf_table_write(ops, of, fmt); }
    }
    if (s) { rc = cli_fail(s); goto done; }
    if (explain) {
        FILE *ef = (fmt == LF_FMT_JSON || fmt == LF_FMT_CSV) && of == stdout ? stderr : of;
        for (long p = 0; p < npoints; p++) {
            fputc('\n', ef);
            lf_roofline_explain(ef, &m, &hw, &ro, &res[p]);
        }
    }
done:
    if (of != stdout && fclose(of) != 0 && rc == 0) rc = cli_fail(lf_fail(LINFER_ERR_IO, "%s: write failed", out_path));
    lf_table_free(pts);
    lf_table_free(pts2);
    lf_table_free(ops);
    free(res);
    free(tps);
    free(batches);
    free(ins);
    free(outs);
    free(dctx);
    return rc;
}
