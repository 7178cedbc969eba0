/* cmd_generate.c — `linfer generate`: load a model, tokenize prompts, generate with streaming
 * output, and finish with a line of prefill tok/s, decode tok/s, TTFT and TPOT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "model/model.h"
#include "core/mapfile.h"
#include "perf/presets.h"
#include "engine/gpu_query.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: linfer generate [-m MODEL] [-p PROMPT | --batch-file FILE] [options]\n"
            "  -m, --model PATH|NAME  GGUF file, HF directory, or a preset name (llama-2-7b, ...): a preset runs\n"
            "                         with random weights made on the device and synthetic prompts (default: %s)\n"
            "      --in N             preset models: prompt length in tokens (default 128)\n"
            "      --batch B          preset models: number of prompts (default 1)\n"
            "  -p, --prompt TEXT      prompt text (default: \"Write a conversation between the sun and pluto\")\n"
            "      --batch-file FILE  one prompt per line: a static batch of prompts of different lengths\n"
            "  -n, --n-predict N      tokens to generate per prompt (default 64)\n"
            "      --temperature T    0 = greedy (default 0)\n"
            "      --top-k K          keep the K most likely tokens (0 = off)\n"
            "      --top-p P          nucleus sampling threshold (1 = off)\n"
            "      --seed S           sampling seed (default 42)\n"
            "      --ignore-eos       do not stop at end-of-sequence tokens\n"
            "      --device cpu|cuda  (default: cuda when a GPU is present, else cpu)\n"
            "      --dtype fp16|bf16  CUDA weights/activations (default fp16)\n"
            "      --threads N        CPU threads (default: all cores)\n"
            "      --no-bos           do not prepend BOS even if the model asks for it\n"
            "      --special          recognise special-token text such as <|im_start|> in prompts\n"
            "      --print-ids        print the generated token ids of each prompt ('ids[i]: ...')\n"
            "      --quiet            do not stream text (stats and ids only)\n"
            "      --warmup W         untimed runs first (default 0; cuBLAS/module loading land in these)\n"
            "      --reps R           timed runs; with R > 1 the last line gives medians (default 1)\n",
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

static void on_sigint(int sig) { (void)sig; linfer_request_interrupt(); }

static int read_lines(const char *path, char ***out, int *n_out) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) { perror(path); return 0; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char **v = NULL;
    int n = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char **nv = realloc(v, sizeof(char *) * (size_t)(n + 1));
        if (!nv) break;
        v = nv;
        v[n++] = strdup(line);
    }
    free(line);
    if (f != stdin) fclose(f);
    if (n == 0) { fprintf(stderr, "linfer: %s: no prompts (one per line expected)\n", path); free(v); return 0; }
    *out = v;
    *n_out = n;
    return 1;
}

int cmd_generate(int argc, char **argv) {
    enum { O_WARMUP = 240, O_REPS, O_IN = 250, O_NB, O_BATCH = 256, O_TEMP, O_TOPK, O_TOPP, O_SEED, O_DEVICE, O_DTYPE, O_THREADS, O_IGNORE_EOS, O_NOBOS, O_SPECIAL, O_IDS, O_QUIET };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'p'}, {"n-predict", required_argument, 0, 'n'},
        {"batch-file", required_argument, 0, O_BATCH}, {"temperature", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP}, {"seed", required_argument, 0, O_SEED}, {"device", required_argument, 0, O_DEVICE},
        {"dtype", required_argument, 0, O_DTYPE}, {"threads", required_argument, 0, O_THREADS}, {"ignore-eos", no_argument, 0, O_IGNORE_EOS},
        {"no-bos", no_argument, 0, O_NOBOS}, {"special", no_argument, 0, O_SPECIAL}, {"print-ids", no_argument, 0, O_IDS},
        {"quiet", no_argument, 0, O_QUIET}, {"in", required_argument, 0, O_IN}, {"warmup", required_argument, 0, O_WARMUP}, {"reps", required_argument, 0, O_REPS}, {"batch", required_argument, 0, O_NB}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_path = cli_default_model(), *prompt = NULL, *batch_file = NULL;
    linfer_sampling_params sp = linfer_sampling_default_params();
    linfer_engine_params ep = linfer_engine_default_params();
    int no_bos = 0, special = 0, print_ids = 0, quiet = 0, in_len = 128, n_batch = 1, device_set = 0, warmup = 0, reps = 1;
    long lv;
    double dv;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:p:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n': if (!cli_parse_int("-n", optarg, 1, 1 << 20, &lv)) return 2; sp.max_new_tokens = (int)lv; break;
        case O_BATCH: batch_file = optarg; break;
        case O_WARMUP: if (!cli_parse_int("--warmup", optarg, 0, 100, &lv)) return 2; warmup = (int)lv; break;
        case O_REPS: if (!cli_parse_int("--reps", optarg, 1, 1000, &lv)) return 2; reps = (int)lv; break;
        case O_IN: if (!cli_parse_int("--in", optarg, 1, 1 << 20, &lv)) return 2; in_len = (int)lv; break;
        case O_NB: if (!cli_parse_int("--batch", optarg, 1, 4096, &lv)) return 2; n_batch = (int)lv; break;
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
        case O_NOBOS: no_bos = 1; break;
        case O_SPECIAL: special = 1; break;
        case O_IDS: print_ids = 1; break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) { fprintf(stderr, "linfer: unexpected argument '%s'\n", argv[optind]); return 2; }
    if (!device_set && lf_gpu_count() > 0) ep.device = LINFER_DEVICE_CUDA;
    lf_config preset_cfg;
    int is_preset = !lf_path_exists(model_path) && lf_preset_model(model_path, &preset_cfg) == LINFER_OK;
    if (prompt && batch_file) { fprintf(stderr, "linfer: give either -p or --batch-file, not both\n"); return 2; }
    char **prompts = NULL;
    int n_seq = 0;
    if (is_preset) {
        n_seq = n_batch;
        prompts = calloc((size_t)n_seq, sizeof(char *));
        for (int i = 0; i < n_seq; i++) prompts[i] = strdup("(synthetic)");
        sp.ignore_eos = 1;
        quiet = 1;
    } else if (batch_file) { if (!read_lines(batch_file, &prompts, &n_seq)) return 2; }
    else {
        prompts = malloc(sizeof(char *));
        prompts[0] = strdup(prompt ? prompt : "Write a conversation between the sun and pluto");
        n_seq = 1;
    }
    int rc = 0;
    linfer_model *model = NULL;
    linfer_engine *eng = NULL;
    int32_t **ids = calloc((size_t)n_seq, sizeof *ids), **out_ids = calloc((size_t)n_seq, sizeof *out_ids);
    size_t *lens = calloc((size_t)n_seq, sizeof *lens), *out_n = calloc((size_t)n_seq, sizeof *out_n);
    gen_ctx g = {n_seq, n_seq == 1, quiet, calloc((size_t)n_seq, sizeof(char *)), calloc((size_t)n_seq, sizeof(size_t)), calloc((size_t)n_seq, sizeof(size_t))};
    linfer_model_params mp = linfer_model_default_params();
    mp.path = model_path;
    linfer_status s = is_preset ? lf_model_create_random(&preset_cfg, ep.dtype == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16, sp.seed, &model)
                                : linfer_model_load(&mp, &model);
    if (s) { rc = cli_fail(s); goto done; }
    if (is_preset) { /* synthetic prompts: deterministic ids */
        uint64_t h = sp.seed;
        for (int i = 0; i < n_seq; i++) {
            ids[i] = malloc(sizeof(int32_t) * (size_t)in_len);
            lens[i] = (size_t)in_len;
            for (int j = 0; j < in_len; j++) { h = h * 6364136223846793005ull + 1442695040888963407ull; ids[i][j] = (int32_t)((h >> 33) % (uint64_t)model->cfg.vocab_size); }
        }
    }
    if (!is_preset && !model->tok) { lf_fail(LINFER_ERR_INVALID_ARG, "%s: no tokenizer (tokenizer.json) found; generate needs one", model_path); rc = cli_fail(LINFER_ERR_INVALID_ARG); goto done; }
    size_t max_len = is_preset ? (size_t)in_len : 0;
    for (int i = 0; i < n_seq && !is_preset; i++) {
        s = linfer_tokenize(model, prompts[i], strlen(prompts[i]), !no_bos && model->cfg.add_bos, special, &ids[i], &lens[i]);
        if (s) { lf_fail_prefix(s, "prompt %d", i + 1); rc = cli_fail(s); goto done; }
        if (lens[i] > max_len) max_len = lens[i];
    }
    if (max_len + (size_t)sp.max_new_tokens > (size_t)model->cfg.max_context) {
        lf_fail(LINFER_ERR_CONTEXT, "prompt of %zu tokens + %d new tokens exceeds the model's context of %d", max_len, sp.max_new_tokens, model->cfg.max_context);
        rc = cli_fail(LINFER_ERR_CONTEXT);
        goto done;
    }
    ep.max_batch = n_seq;
    ep.max_context = (int)(max_len + (size_t)sp.max_new_tokens);
    s = linfer_engine_create(model, &ep, &eng);
    if (s) { rc = cli_fail(s); goto done; }
    signal(SIGINT, on_sigint);
    linfer_gen_stats st;
    double ttft[1000], tpot[1000];
    s = LINFER_OK;
    for (int r = 0; r < warmup + reps - 1 && !s; r++) { /* untimed warm-ups, then timed repetitions */
        s = linfer_generate(eng, n_seq, (const int32_t *const *)ids, lens, &sp, NULL, NULL, out_ids, out_n, &st);
        if (r >= warmup) { ttft[r - warmup] = st.ttft_ms; tpot[r - warmup] = st.tpot_ms; }
        for (int i = 0; i < n_seq; i++) { free(out_ids[i]); out_ids[i] = NULL; }
    }
    if (!s) s = linfer_generate(eng, n_seq, (const int32_t *const *)ids, lens, &sp, on_token, &g, out_ids, out_n, &st);
    ttft[reps - 1] = st.ttft_ms;
    tpot[reps - 1] = st.tpot_ms;
    signal(SIGINT, SIG_DFL);
    if (g.stream && !quiet) printf("\n");
    if (!g.stream && !quiet)
        for (int i = 0; i < n_seq; i++) printf("--- [%d] %s\n%s\n", i + 1, prompts[i], g.texts[i] ? g.texts[i] : "");
    if (print_ids)
        for (int i = 0; i < n_seq; i++) {
            printf("ids[%d]:", i + 1);
            for (size_t j = 0; j < out_n[i]; j++) printf(" %d", out_ids[i][j]);
            printf("\n");
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
    for (int i = 0; i < n_seq; i++) { free(ids[i]); free(out_ids[i]); free(prompts[i]); free(g.texts[i]); }
    free(ids); free(out_ids); free(lens); free(out_n); free(prompts); free(g.texts); free(g.text_len); free(g.text_cap);
    return rc;
}
