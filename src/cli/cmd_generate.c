/* cmd_generate.c — `linfer generate`: load a model, tokenize prompts, generate with streaming
 * output, and finish with a line of prefill tok/s, decode tok/s, TTFT and TPOT.
 *
 * Runtime limits (docs/fuzzing.md, "Runtime limits"; tests/test_runtime_limits.sh): everything
 * that can be checked before the model runs is, with a one-line message naming the culprit. Bad
 * options, and prompts that with -n do not fit the model's context, exit 2 before anything runs
 * (no truncation, no silent capping of -n); a batch x context whose KV cache and activations
 * would not fit in the host's available memory exits 1 naming the sizes (CPU; the CUDA backend
 * checks device memory itself); Ctrl-C stops at the next decode step with the text so far flushed
 * and exits 130 (a second Ctrl-C kills at once). generate writes no files, only stdout/stderr. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "common.h"
#include "dist/launcher.h"
#include "linfer.h"
#include "core/error.h"
#include "model/model.h"
#include "core/mapfile.h"
#include "perf/calibrate.h"
#include "perf/presets.h"
#include "engine/gpu_query.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: linfer generate [-m MODEL] [-p PROMPT | --batch-file FILE] [options]\n"
            "  -m, --model PATH|NAME  GGUF file, HF directory, or a preset name (llama-2-7b, ...): a preset runs\n"
            "                         with random weights made on the device and synthetic prompts (default: %s)\n"
            "      --in N             preset models: prompt length in tokens (default 128)\n"
            "      --batch B          preset models: number of prompts (default 1)\n"
            "      --tp N             tensor parallelism over N GPUs: starts N-1 more processes of linfer, one per GPU\n"
            "                         (CUDA; docs/distributed.md; RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT\n"
            "                         from an external launcher are joined instead)\n"
            "      --pp N             pipeline parallelism over N GPUs: the layers split into N stages, one process per GPU\n"
            "                         (CUDA); with --tp T: N stages of T GPUs each (N x T processes)\n"
            "      --pp-micro M       micro-batches a step flows through the stages in (default: N for steps of >= 128\n"
            "                         tokens, 1 below; 1: the naive split, one stage busy at a time)\n"
            "      --tp-invariant     CUDA: results bit for bit the same at any --tp/--pp (1, 2, 4, 8): one fixed order for\n"
            "                         every sum (slower; for correctness checks; docs/distributed.md)\n"
            "  -p, --prompt TEXT      prompt text (default: \"Write a conversation between the sun and pluto\")\n"
            "      --batch-file FILE  one prompt per line: a static batch of prompts of different lengths\n"
            "  -n, --n-predict N      tokens to generate per prompt (default 64)\n"
            "      --temperature T    0 = greedy (default 0)\n"
            "      --top-k K          keep the K most likely tokens (0 = off)\n"
            "      --top-p P          nucleus sampling threshold (1 = off)\n"
            "      --seed S           sampling seed (default 42)\n"
            "      --host-sampling    CUDA: copy the logits back and sample on the host every step (default: the GPU\n"
            "                         chooses the token and only ids cross; the same rule and random draws)\n"
            "      --ignore-eos       do not stop at end-of-sequence tokens\n"
            "      --device cpu|cuda  (default: cuda when a GPU is present, else cpu)\n"
            "      --dtype fp16|bf16  CUDA weights/activations (default fp16)\n"
            "      --threads N        CPU threads (default: all cores)\n"
            "      --no-bos           do not prepend BOS even if the model asks for it\n"
            "      --special          recognise special-token text such as <|im_start|> in prompts\n"
            "      --print-ids        print the generated token ids of each prompt ('ids[i]: ...')\n"
            "      --quiet            do not stream text (stats and ids only)\n"
            "      --warmup W         untimed runs first (default 0; cuBLAS/module loading land in these)\n"
            "      --reps R           timed runs; with R > 1 the last line gives medians (default 1)\n"
            "A prompt that with -n does not fit the model's context is refused (exit 2), never truncated; on the CPU a\n"
            "batch x context whose KV cache, weights and activations exceed 90%% of the available memory is refused\n"
            "(exit 1). Ctrl-C stops after the current token, prints what was generated and exits 130; a second Ctrl-C\n"
            "ends the process at once.\n",
            cli_default_model());
}

typedef struct {
    int n_seq, stream, quiet;
    char **texts; size_t *text_len, *text_cap;
} gen_ctx;

static int on_token(void *user, int seq, int32_t token, const char *text) {
    gen_ctx *g = user;
    (void)token;
    if (g->quiet) return 0;
    if (g->stream) { fputs(text, stdout); fflush(stdout); return 0; }
    size_t n = strlen(text);
    if (g->text_len[seq] + n + 1 > g->text_cap[seq]) {
        size_t cap = (g->text_cap[seq] + n + 1) * 2;
        char *p = realloc(g->texts[seq], cap);
        if (!p) return 1;
        g->texts[seq] = p;
        g->text_cap[seq] = cap;
    }
    memcpy(g->texts[seq] + g->text_len[seq], text, n + 1);
    g->text_len[seq] += n;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* SIGINT: the first one asks the engine to stop at the next step (SA_RESETHAND: a second one
 * kills the process, e.g. during a long prefill); g_sigint also covers the time before and
 * between linfer_generate calls, which clear the engine's own flag when they start. */
static volatile sig_atomic_t g_sigint = 0;
static void on_sigint(int sig) { (void)sig; g_sigint = 1; linfer_request_interrupt(); }

/* One prompt per non-empty line of path ("-": stdin); (*line_no)[i] is the line prompt i came
 * from. Refuses an unreadable file, a NUL byte, no prompts. */
static int read_lines(const char *path, char ***out, int **line_no, int *n_out) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) { fprintf(stderr, "linfer: --batch-file %s: %s\n", path, strerror(errno)); return 0; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char **v = NULL;
    int *ln = NULL, n = 0, lineno = 0, ok = 1;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)len)) { fprintf(stderr, "linfer: --batch-file %s line %d: contains a NUL byte\n", path, lineno); ok = 0; break; }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char **nv = realloc(v, sizeof(char *) * (size_t)(n + 1));
        if (nv) v = nv;
        int *nl = realloc(ln, sizeof(int) * (size_t)(n + 1));
        if (nl) ln = nl;
        if (!nv || !nl || !(v[n] = strdup(line))) { fprintf(stderr, "linfer: --batch-file %s: out of memory at line %d\n", path, lineno); ok = 0; break; }
        ln[n++] = lineno;
    }
    if (ok && ferror(f)) { fprintf(stderr, "linfer: --batch-file %s: read error: %s\n", path, strerror(errno)); ok = 0; }
    free(line);
    if (f != stdin) fclose(f);
    if (ok && n == 0) { fprintf(stderr, "linfer: --batch-file %s: no prompts (one per line expected)\n", path); ok = 0; }
    if (!ok) {
        for (int i = 0; i < n; i++) free(v[i]);
        free(v); free(ln);
        return 0;
    }
    *out = v;
    *line_no = ln;
    *n_out = n;
    return 1;
}

/* Which prompt: "the prompt (-p)", "--batch-file F line L", or the synthetic one of a preset. */
static void prompt_name(char *buf, size_t cap, int is_preset, const char *batch_file, const int *line_no, int i) {
    if (is_preset) snprintf(buf, cap, "synthetic prompt (--in)");
    else if (batch_file) snprintf(buf, cap, "--batch-file %s line %d (prompt %d)", batch_file, line_no[i], i + 1);
    else snprintf(buf, cap, "the prompt (-p)");
}

/* Host bytes a CPU engine will allocate for this batch and context (after src/cpu/backend_cpu.c and
 * engine.c): fp32 weights unless GGUF-quantised (those stay memory-mapped), the fp32 KV cache,
 * activations for a prefill chunk of max(2048, batch) tokens, and logits. */
static void cpu_need_bytes(const lf_model *m, int batch, int ctx, double *weights, double *kv, double *act) {
    const lf_config *c = &m->cfg;
    lf_dtype wd = m->w.layers ? m->w.layers[0].wq.dtype : LF_DT_F32;
    int quant = !m->random_weights && wd >= LF_DT_Q8_0 && wd <= LF_DT_Q4_1;
    *weights = quant ? 0 : lf_config_n_params(c) * 4.0;
    *kv = 2.0 * c->n_layers * (double)batch * ctx * c->n_kv_heads * c->head_dim * 4.0;
    double nt = batch > 2048 ? batch : 2048, qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    double maxd = c->dim > qd ? c->dim : qd;
    *act = nt * 4.0 * (3.0 * c->dim + 2 * qd + 2 * kvd + maxd + 3.0 * c->ffn_dim)  /* backend scratch */
           + 2.0 * c->vocab_size * 4.0 * (batch + 1) + 8.0 * c->vocab_size;          /* logits (engine, prefill), sampling */
}

int cmd_generate(int argc, char **argv) {
    enum { O_TP = 230, O_PP, O_PP_MICRO, O_TP_INV, O_WARMUP = 240, O_REPS, O_IN = 250, O_NB, O_BATCH = 256, O_TEMP, O_TOPK, O_TOPP, O_SEED, O_DEVICE, O_DTYPE, O_THREADS, O_IGNORE_EOS, O_NOBOS, O_SPECIAL, O_IDS, O_QUIET, O_HOST_SAMPLING };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'p'}, {"n-predict", required_argument, 0, 'n'},
        {"batch-file", required_argument, 0, O_BATCH}, {"temperature", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP}, {"seed", required_argument, 0, O_SEED}, {"device", required_argument, 0, O_DEVICE},
        {"dtype", required_argument, 0, O_DTYPE}, {"threads", required_argument, 0, O_THREADS}, {"ignore-eos", no_argument, 0, O_IGNORE_EOS},
        {"no-bos", no_argument, 0, O_NOBOS}, {"special", no_argument, 0, O_SPECIAL}, {"print-ids", no_argument, 0, O_IDS},
        {"quiet", no_argument, 0, O_QUIET}, {"in", required_argument, 0, O_IN}, {"warmup", required_argument, 0, O_WARMUP}, {"reps", required_argument, 0, O_REPS}, {"batch", required_argument, 0, O_NB}, {"tp", required_argument, 0, O_TP},
        {"pp", required_argument, 0, O_PP}, {"pp-micro", required_argument, 0, O_PP_MICRO}, {"tp-invariant", no_argument, 0, O_TP_INV},
        {"host-sampling", no_argument, 0, O_HOST_SAMPLING}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_path = cli_default_model(), *prompt = NULL, *batch_file = NULL;
    linfer_sampling_params sp = linfer_sampling_default_params();
    linfer_engine_params ep = linfer_engine_default_params();
    int no_bos = 0, special = 0, print_ids = 0, quiet = 0, in_len = 128, n_batch = 1, device_set = 0, warmup = 0, reps = 1;
    int in_set = 0, batch_set = 0, tp = 1, pp = 1, pp_micro = 0, dist_on = 0;
    lf_dist dist;
    lf_dist_init(&dist);
    long lv;
    double dv;
    optind = 1;
    opterr = 0; /* own one-line messages below */
    int c;
    while ((c = getopt_long(argc, argv, ":m:p:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n': if (!cli_parse_int("-n", optarg, 1, 1 << 20, &lv)) return 2; sp.max_new_tokens = (int)lv; break;
        case O_BATCH: batch_file = optarg; break;
        case O_WARMUP: if (!cli_parse_int("--warmup", optarg, 0, 100, &lv)) return 2; warmup = (int)lv; break;
        case O_REPS: if (!cli_parse_int("--reps", optarg, 1, 1000, &lv)) return 2; reps = (int)lv; break;
        case O_IN: if (!cli_parse_int("--in", optarg, 1, 1 << 20, &lv)) return 2; in_len = (int)lv; in_set = 1; break;
        case O_NB: if (!cli_parse_int("--batch", optarg, 1, 4096, &lv)) return 2; n_batch = (int)lv; batch_set = 1; break;
        case O_TP: if (!cli_parse_int("--tp", optarg, 1, 64, &lv)) return 2; tp = (int)lv; break;
        case O_PP: if (!cli_parse_int("--pp", optarg, 1, 64, &lv)) return 2; pp = (int)lv; break;
        case O_PP_MICRO: if (!cli_parse_int("--pp-micro", optarg, 1, 4096, &lv)) return 2; pp_micro = (int)lv; break;
        case O_TP_INV: ep.tp_invariant = 1; break;
        case O_TEMP: if (!cli_parse_float("--temperature", optarg, 0, 100, &dv)) return 2; sp.temperature = (float)dv; break;
        case O_TOPK: if (!cli_parse_int("--top-k", optarg, 0, 1 << 24, &lv)) return 2; sp.top_k = (int)lv; break;
        case O_TOPP: if (!cli_parse_float("--top-p", optarg, 1e-9, 1, &dv)) return 2; sp.top_p = (float)dv; break;
        case O_SEED: if (!cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &lv)) return 2; sp.seed = (uint64_t)lv; break;
        case O_DEVICE:
            device_set = 1;
            if (!strcmp(optarg, "cpu")) ep.device = LINFER_DEVICE_CPU;
            else if (!strcmp(optarg, "cuda") || !strcmp(optarg, "gpu")) ep.device = LINFER_DEVICE_CUDA;
            else { fprintf(stderr, "linfer: --device must be cpu or cuda, got '%s'\n", optarg); return 2; }
            break;
        case O_DTYPE:
            if (!strcmp(optarg, "fp16") || !strcmp(optarg, "f16")) ep.dtype = LINFER_DTYPE_F16;
            else if (!strcmp(optarg, "bf16")) ep.dtype = LINFER_DTYPE_BF16;
            else { fprintf(stderr, "linfer: --dtype must be fp16 or bf16, got '%s'\n", optarg); return 2; }
            break;
        case O_THREADS: if (!cli_parse_int("--threads", optarg, 1, 1024, &lv)) return 2; ep.n_threads = (int)lv; break;
        case O_IGNORE_EOS: sp.ignore_eos = 1; break;
        case O_HOST_SAMPLING: sp.host_sampling = 1; break;
        case O_NOBOS: no_bos = 1; break;
        case O_SPECIAL: special = 1; break;
        case O_IDS: print_ids = 1; break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            if (optopt > 0 && optopt < 128) fprintf(stderr, "linfer: generate: option -%c needs a value (linfer generate --help)\n", optopt);
            else fprintf(stderr, "linfer: generate: option %s needs a value (linfer generate --help)\n", argv[optind - 1]);
            return 2;
        default:
            if (optopt > 0 && optopt < 128) fprintf(stderr, "linfer: generate: unknown option -%c (linfer generate --help)\n", optopt);
            else if (optopt >= 128) fprintf(stderr, "linfer: generate: option %s takes no value (linfer generate --help)\n", argv[optind - 1]);
            else fprintf(stderr, "linfer: generate: unknown option %s (linfer generate --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "linfer: unexpected argument '%s'\n", argv[optind]); return 2; }
    if (!device_set && lf_gpu_count() > 0) ep.device = LINFER_DEVICE_CUDA;
    lf_config preset_cfg;
    int is_preset = !lf_path_exists(model_path) && lf_preset_model(model_path, &preset_cfg) == LINFER_OK;
    if (!is_preset) lf_clear_error();
    if (prompt && batch_file) { fprintf(stderr, "linfer: give either -p or --batch-file, not both\n"); return 2; }
    if (is_preset && (prompt || batch_file)) {
        fprintf(stderr, "linfer: %s is a preset (random weights, no tokenizer): it takes --in and --batch, not %s\n", model_path,
                prompt ? "-p" : "--batch-file");
        return 2;
    }
    if (!is_preset && (in_set || batch_set) && lf_path_exists(model_path)) {
        fprintf(stderr, "linfer: %s only applies to preset models (random weights), not to %s; use -p or --batch-file\n",
                in_set ? "--in" : "--batch", model_path);
        return 2;
    }
    char **prompts = NULL;
    int *line_no = NULL;
    int n_seq = 0;
    if (is_preset) {
        n_seq = n_batch;
        prompts = calloc((size_t)n_seq, sizeof(char *));
        if (!prompts) return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"));
        sp.ignore_eos = 1;
        quiet = 1;
    } else if (batch_file) {
        if (!read_lines(batch_file, &prompts, &line_no, &n_seq)) return 2;
        if (n_seq > 4096) {
            fprintf(stderr, "linfer: --batch-file %s: %d prompts; one batch takes at most 4096\n", batch_file, n_seq);
            for (int i = 0; i < n_seq; i++) free(prompts[i]);
            free(prompts); free(line_no);
            return 2;
        }
    } else {
        prompts = calloc(1, sizeof(char *));
        if (prompts) prompts[0] = strdup(prompt ? prompt : "Write a conversation between the sun and pluto");
        if (!prompts || !prompts[0]) { free(prompts); return cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory")); }
        n_seq = 1;
    }
    int rc = 0;
    linfer_model *model = NULL;
    linfer_engine *eng = NULL;
    struct sigaction sa_int, old_int;
    int32_t **ids = calloc((size_t)n_seq, sizeof *ids), **out_ids = calloc((size_t)n_seq, sizeof *out_ids);
    size_t *lens = calloc((size_t)n_seq, sizeof *lens), *out_n = calloc((size_t)n_seq, sizeof *out_n);
    gen_ctx g = {n_seq, n_seq == 1, quiet, calloc((size_t)n_seq, sizeof(char *)), calloc((size_t)n_seq, sizeof(size_t)), calloc((size_t)n_seq, sizeof(size_t))};
    /* Ctrl-C from here on: stop cleanly (exit 130) */
    g_sigint = 0;
    memset(&sa_int, 0, sizeof sa_int);
    sa_int.sa_handler = on_sigint;
    sigemptyset(&sa_int.sa_mask);
    sa_int.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa_int, &old_int);
    linfer_status s = LINFER_OK;
    if (!ids || !out_ids || !lens || !out_n || !g.texts || !g.text_len || !g.text_cap) {
        rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for %d prompts", n_seq));
        goto done;
    }
    /* tensor parallelism: --tp N starts ranks 1..N-1 (copies of this process) and makes this one
     * rank 0; a rank started that way (or by an external launcher) joins. Only rank 0 prints. */
    const int world = tp * pp;   /* rank r: stage r / tp, TP rank r % tp */
    if (lf_dist_env_present() || world > 1) {
        if (device_set && ep.device != LINFER_DEVICE_CUDA) {
            fprintf(stderr, "linfer: --%s %d needs the CUDA backend, not --device cpu\n", pp > 1 ? "pp" : "tp", pp > 1 ? pp : tp);
            rc = 2;
            goto done;
        }
        ep.device = LINFER_DEVICE_CUDA;
        if (batch_file && !strcmp(batch_file, "-")) {
            fprintf(stderr, "linfer: --batch-file - (standard input) cannot be used with --tp: the other ranks cannot read it; give a file\n");
            rc = 2;
            goto done;
        }
        const char *ws = getenv("WORLD_SIZE");
        if (lf_dist_env_present() && world > 1 && ws && atoi(ws) != world) {
            fprintf(stderr, "linfer: --tp %d x --pp %d = %d ranks but the launcher's WORLD_SIZE is %s; give matching numbers or leave "
                    "--tp/--pp out\n", tp, pp, world, ws);
            rc = 2;
            goto done;
        }
        if ((s = cli_dist_start(world, argc, argv, &dist))) { rc = cli_fail(s); goto done; }
        dist_on = 1;
        cli_rank_layout lay;
        if ((rc = cli_rank_layout_of("generate", &dist, tp, pp, &lay))) goto done;
        ep.tp_size = lay.tp_size; ep.tp_rank = lay.tp_rank; ep.tp_comm = lay.tp_comm;
        ep.pp_size = lay.pp_size; ep.pp_stage = lay.pp_stage; ep.pp_comm = lay.pp_comm;
        ep.pp_micro = pp_micro;
        ep.gpu_index = dist.local_rank;
    }
    linfer_model_params mp = linfer_model_default_params();
    mp.path = model_path;
    s = is_preset ? lf_model_create_random(&preset_cfg, ep.dtype == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16, sp.seed, &model)
                  : linfer_model_load(&mp, &model);
    if (s) { rc = cli_fail(s); goto done; }
    const int ctx_max = model->cfg.max_context;
    if (is_preset) { /* synthetic prompts: deterministic ids */
        if (in_len >= ctx_max) {
            fprintf(stderr, "linfer: --in %d: a prompt of %d tokens leaves no room in %s's context of %d tokens for new tokens (--in can be at most %d)\n",
                    in_len, in_len, model_path, ctx_max, ctx_max - 1);
            rc = 2;
            goto done;
        }
        uint64_t h = sp.seed;
        for (int i = 0; i < n_seq; i++) {
            ids[i] = malloc(sizeof(int32_t) * (size_t)in_len);
            if (!ids[i]) { rc = cli_fail(lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for %d x %d prompt tokens", n_seq, in_len)); goto done; }
            lens[i] = (size_t)in_len;
            for (int j = 0; j < in_len; j++) { h = h * 6364136223846793005ull + 1442695040888963407ull; ids[i][j] = (int32_t)((h >> 33) % (uint64_t)model->cfg.vocab_size); }
        }
    }
    if (!is_preset && !model->tok) { lf_fail(LINFER_ERR_INVALID_ARG, "%s: no tokenizer (tokenizer.json) found; generate needs one", model_path); rc = cli_fail(LINFER_ERR_INVALID_ARG); goto done; }
    /* The prompt and -n must fit the context: refused up front (exit 2), never truncated. */
    size_t max_len = is_preset ? (size_t)in_len : 0;
    char what[1200];
    for (int i = 0; i < n_seq && !is_preset; i++) {
        prompt_name(what, sizeof what, is_preset, batch_file, line_no, i);
        s = linfer_tokenize(model, prompts[i], strlen(prompts[i]), !no_bos && model->cfg.add_bos, special, &ids[i], &lens[i]);
        if (s) { lf_fail_prefix(s, "%s", what); rc = cli_fail(s); goto done; }
        if (lens[i] == 0) { fprintf(stderr, "linfer: %s is empty (0 tokens)\n", what); rc = 2; goto done; }
        if (lens[i] >= (size_t)ctx_max) {
            fprintf(stderr, "linfer: context exceeded: %s has %zu tokens, which leaves no room in the model's context of %d tokens for new tokens\n",
                    what, lens[i], ctx_max);
            rc = 2;
            goto done;
        }
        if (lens[i] > max_len) max_len = lens[i];
    }
    if (max_len + (size_t)sp.max_new_tokens > (size_t)ctx_max) {
        int longest = 0;
        for (int i = 0; i < n_seq; i++) if (lens[i] == max_len) { longest = i; break; }
        prompt_name(what, sizeof what, is_preset, batch_file, line_no, longest);
        fprintf(stderr, "linfer: context exceeded: prompt of %zu tokens + %d new tokens exceeds the model's context of %d (%s; -n can be at most %zu here)\n",
                max_len, sp.max_new_tokens, ctx_max, what, (size_t)ctx_max - max_len);
        rc = 2;
        goto done;
    }
    ep.max_batch = n_seq;
    ep.max_context = (int)(max_len + (size_t)sp.max_new_tokens);
    if (ep.device == LINFER_DEVICE_CPU) { /* refuse what would not fit rather than be killed by the OOM killer */
        double wb, kvb, actb, have = lf_host_mem_available();
        cpu_need_bytes(model, n_seq, ep.max_context, &wb, &kvb, &actb);
        double need = wb + kvb + actb, GiB = 1073741824.0;
        if (have > 0 && need > 0.9 * have) {
            s = lf_fail(LINFER_ERR_OUT_OF_MEMORY,
                        "batch %d x context %d (prompt %zu + %d new tokens) needs %.2f GiB on the CPU (KV cache %.2f GiB, weights %.2f GiB, "
                        "activations and logits %.2f GiB) but only %.2f GiB of host memory is available (90%% of MemAvailable); lower --batch, the prompt length or -n",
                        n_seq, ep.max_context, max_len, sp.max_new_tokens, need / GiB, kvb / GiB, wb / GiB, actb / GiB, 0.9 * have / GiB);
            rc = cli_fail(s);
            goto done;
        }
    }
    if (!g_sigint) {
        s = linfer_engine_create(model, &ep, &eng);
        if (s) { rc = cli_fail(s); goto done; }
    }
    linfer_gen_stats st;
    memset(&st, 0, sizeof st);
    double ttft[1000], tpot[1000];
    s = LINFER_OK;
    for (int run = 0; run < warmup + reps - 1 && !s; run++) { /* untimed warm-ups, then timed repetitions */
        if (g_sigint) { s = LINFER_ERR_INTERRUPTED; break; }
        s = linfer_generate(eng, n_seq, (const int32_t *const *)ids, lens, &sp, NULL, NULL, out_ids, out_n, &st);
        if (!s && run >= warmup) { ttft[run - warmup] = st.ttft_ms; tpot[run - warmup] = st.tpot_ms; }
        for (int i = 0; i < n_seq; i++) { free(out_ids[i]); out_ids[i] = NULL; out_n[i] = 0; }
    }
    int final_run = 0;
    if (!s && g_sigint) s = LINFER_ERR_INTERRUPTED;
    if (!s) {
        final_run = 1;
        memset(&st, 0, sizeof st);
        s = linfer_generate(eng, n_seq, (const int32_t *const *)ids, lens, &sp, on_token, &g, out_ids, out_n, &st);
        ttft[reps - 1] = st.ttft_ms;
        tpot[reps - 1] = st.tpot_ms;
    }
    if (g.stream && !quiet && final_run) printf("\n");
    if (!g.stream && !quiet && final_run)
        for (int i = 0; i < n_seq; i++) printf("--- [%d] %s\n%s\n", i + 1, prompts[i], g.texts[i] ? g.texts[i] : "");
    if (print_ids && final_run)
        for (int i = 0; i < n_seq; i++) {
            printf("ids[%d]:", i + 1);
            for (size_t j = 0; j < out_n[i]; j++) printf(" %d", out_ids[i][j]);
            printf("\n");
        }
    fflush(stdout);
    if (s == LINFER_ERR_INTERRUPTED) {
        if (final_run)
            fprintf(stderr, "linfer: interrupted (SIGINT) after %d generated token%s of %d requested; the output so far is above\n",
                    st.generated_tokens, st.generated_tokens == 1 ? "" : "s", n_seq * sp.max_new_tokens);
        else fprintf(stderr, "linfer: interrupted (SIGINT) before any output (while setting up%s)\n", warmup + reps > 1 ? " or in a warm-up/timed repetition" : "");
        lf_clear_error();
        rc = 130;
        goto done;
    }
    if (s) { rc = cli_fail(s); goto done; }
    if (reps > 1) {
        qsort(ttft, (size_t)reps, sizeof(double), cmp_double);
        qsort(tpot, (size_t)reps, sizeof(double), cmp_double);
        printf("median of %d runs (after %d warm-up): TTFT %.2f ms (min %.2f, max %.2f) | TPOT %.3f ms (min %.3f, max %.3f)\n", reps, warmup,
               ttft[reps / 2], ttft[0], ttft[reps - 1], tpot[reps / 2], tpot[0], tpot[reps - 1]);
    }
    printf("prefill %.1f tok/s | decode %.1f tok/s | TTFT %.1f ms | TPOT %.2f ms | %d prompt + %d generated tokens, batch %d, %s\n",
           st.prefill_tok_s, st.decode_tok_s, st.ttft_ms, st.tpot_ms, st.prompt_tokens, st.generated_tokens, n_seq,
           ep.device == LINFER_DEVICE_CUDA ? (ep.dtype == LINFER_DTYPE_BF16 ? "cuda bf16" : "cuda fp16") : "cpu");
done:
    linfer_engine_free(eng);
    linfer_model_free(model);
    if (dist_on) {
        lf_status fs = lf_dist_finish(&dist, rc);
        if (fs && rc == 0) rc = cli_fail(fs);
    }
    sigaction(SIGINT, &old_int, NULL);
    for (int i = 0; i < n_seq; i++) {
        if (ids) free(ids[i]);
        if (out_ids) free(out_ids[i]);
        free(prompts[i]);
        if (g.texts) free(g.texts[i]);
    }
    free(ids); free(out_ids); free(lens); free(out_n); free(prompts); free(line_no); free(g.texts); free(g.text_len); free(g.text_cap);
    return rc;
}
