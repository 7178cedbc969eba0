/* test_cuda_vs_cpu.c — CUDA backend vs the CPU fp32 reference on a random-weight model of a real
 * preset's shape (layers can be cut), for prompts of growing length: shows whether an error grows
 * with context and from which layer count. usage: test_cuda_vs_cpu PRESET N_LAYERS fp16|bf16 LEN... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "linfer.h"
#include "model/model.h"
#include "perf/presets.h"

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s PRESET N_LAYERS fp16|bf16 LEN...\n", argv[0]); return 2; }
    lf_config cfg;
    if (lf_preset_model(argv[1], &cfg)) { fprintf(stderr, "%s\n", linfer_last_error()); return 2; }
    cfg.n_layers = atoi(argv[2]);
    int bf = !strcmp(argv[3], "bf16");
    lf_model *m = NULL;
    if (lf_model_create_random(&cfg, bf ? LF_DT_BF16 : LF_DT_F16, 42, &m)) { fprintf(stderr, "%s\n", linfer_last_error()); return 1; }
    linfer_engine_params ep = linfer_engine_default_params();
    ep.max_context = 1024;
    ep.cpu_attention_f16 = 0;
    linfer_engine *cpu = NULL, *gpu = NULL;
    if (linfer_engine_create(m, &ep, &cpu)) { fprintf(stderr, "cpu: %s\n", linfer_last_error()); return 1; }
    ep.device = LINFER_DEVICE_CUDA;
    ep.dtype = bf ? LINFER_DTYPE_BF16 : LINFER_DTYPE_F16;
    if (linfer_engine_create(m, &ep, &gpu)) { fprintf(stderr, "cuda: %s\n", linfer_last_error()); return 1; }
    for (int a = 4; a < argc; a++) {
        int n = atoi(argv[a]);
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) ids[i] = (int32_t)((i * 7919u + 13u) % (unsigned)cfg.vocab_size);
        float *lc = NULL, *lg = NULL;
        if (linfer_prompt_logits(cpu, ids, (size_t)n, &lc) || linfer_prompt_logits(gpu, ids, (size_t)n, &lg)) {
            fprintf(stderr, "%s\n", linfer_last_error());
            return 1;
        }
        double num = 0, den = 0, mx = 0;
        for (int v = 0; v < cfg.vocab_size; v++) {
            double d = (double)lg[v] - lc[v];
            num += d * d; den += (double)lc[v] * lc[v];
            if (fabs(lc[v]) > mx) mx = fabs(lc[v]);
        }
        printf("%s layers %d %s len %4d: rel L2 (cuda vs cpu fp32) %.3e   max|logit| %.3f\n", argv[1], cfg.n_layers, argv[3], n, sqrt(num / den), mx);
        free(ids); free(lc); free(lg);
    }
    linfer_engine_free(cpu);
    linfer_engine_free(gpu);
    lf_model_free(m);
    return 0;
}
