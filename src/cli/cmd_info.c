/* cmd_info.c — `linfer info`: architecture, parameter count, weight bytes (as stored and at
 * fp16), KV bytes per token, and the largest context × batch that fits on each present GPU. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "common.h"
#include "linfer.h"
#include "core/error.h"
#include "engine/gpu_query.h"
#include "model/model.h"
#include "core/mapfile.h"
#include "perf/presets.h"
#include "tokenizer/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: linfer info [-m MODEL]\n  MODEL: a GGUF file, an HF directory, or a preset name (shapes only)\n");
}

static double stored_weight_bytes(const lf_model *m) {
    const lf_weight_srcs *w = &m->w;
    if (m->random_weights) return lf_config_n_params(&m->cfg) * 2.0;
    double b = (double)w->tok_embd.nbytes + w->out_norm.nbytes + (m->cfg.tie_embeddings ? 0 : (double)w->lm_head.nbytes);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const lf_layer_src *L = &w->layers[l];
        b += (double)L->attn_norm.nbytes + L->wq.nbytes + L->wk.nbytes + L->wv.nbytes + L->bq.nbytes + L->bk.nbytes + L->bv.nbytes +
             L->wo.nbytes + L->ffn_norm.nbytes + L->w_gate.nbytes + L->w_up.nbytes + L->w_down.nbytes;
    }
    return b;
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = cli_default_model();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        if (c == 'm') path = optarg;
        else if (c == 'h') { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    lf_model *m = NULL;
    lf_config preset;
    lf_status s = !lf_path_exists(path) && lf_preset_model(path, &preset) == LINFER_OK
                      ? lf_model_create_random(&preset, LF_DT_F16, 0, &m)
                      : lf_model_load(path, 1, &m);
    if (s) return cli_fail(s);
    const lf_config *k = &m->cfg;
    const double GiB = 1024.0 * 1024.0 * 1024.0;
    double params = lf_config_n_params(k), wb16 = params * 2.0, kv16 = lf_config_kv_bytes_per_token(k, 2);
    printf("model         %s\n", path);
    printf("architecture  %s  layers %d  dim %d  heads %d  kv_heads %d  head_dim %d  ffn %d  vocab %d  context %d\n", k->arch,
           k->n_layers, k->dim, k->n_heads, k->n_kv_heads, k->head_dim, k->ffn_dim, k->vocab_size, k->max_context);
    printf("rope          theta %g  %s%s  | norm eps %g | %s embeddings%s\n", k->rope_theta, k->rope_style == LF_ROPE_NEOX ? "neox pairs" : "interleaved pairs",
           k->rope_scaling == LF_ROPE_SCALING_LLAMA3 ? " + llama3 scaling" : k->rope_scaling == LF_ROPE_SCALING_LINEAR ? " + linear scaling" : "",
           k->norm_eps, k->tie_embeddings ? "tied" : "separate", k->qkv_bias ? " | qkv bias" : "");
    printf("parameters    %.3f B (%.0f)\n", params / 1e9, params);
    printf("weights       %.3f GiB as stored (%s), %.3f GiB at fp16/bf16, %.3f GiB at fp32 (CPU backend)\n", stored_weight_bytes(m) / GiB,
           m->random_weights ? "random" : lf_dtype_name(m->w.layers[0].wq.dtype), wb16 / GiB, params * 4.0 / GiB);
    printf("KV cache      %.1f KiB per token at fp16 (%.3f GiB for one full %d-token context)\n", kv16 / 1024.0, kv16 * k->max_context / GiB, k->max_context);
    if (m->tok) printf("tokenizer     %d tokens, bos %d, eos %d\n", lf_tokenizer_vocab_size(m->tok), lf_tokenizer_bos(m->tok), lf_tokenizer_eos(m->tok));
    int n_gpu = lf_gpu_count();
    if (n_gpu == 0) printf("GPU           none present (or built without CUDA)\n");
    for (int g = 0; g < n_gpu; g++) {
        lf_gpu_info gi;
        if (lf_gpu_info_get(g, &gi)) { printf("GPU %d         %s\n", g, linfer_last_error()); continue; }
        double reserve = 512.0 * 1024 * 1024 + 0.05 * wb16; /* workspace + 5% */
        double left = (double)gi.free_bytes - wb16 - reserve;
        printf("GPU %d         %s: %.1f GiB free of %.1f GiB\n", g, gi.name, gi.free_bytes / GiB, gi.total_bytes / GiB);
        if (left <= 0) printf("              weights at fp16 do NOT fit: need %.1f GiB + %.1f GiB reserve, free %.1f GiB\n", wb16 / GiB, reserve / GiB, gi.free_bytes / GiB);
        else {
            double tokens = left / kv16;
            printf("              fits: weights %.1f GiB + KV for %.0f tokens (batch x context), e.g.", wb16 / GiB, tokens);
            int ctxs[] = {2048, 4096, k->max_context};
            for (int i = 0; i < 3; i++) if (i < 2 || ctxs[2] > 4096) printf("  ctx %d: batch %.0f", ctxs[i], tokens / ctxs[i]);
            printf("\n");
        }
    }
    lf_model_free(m);
    return 0;
}
