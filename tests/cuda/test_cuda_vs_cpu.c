/* test_cuda_vs_cpu.c — CUDA backend vs the CPU fp32 reference on a random-weight model of a real
 * preset's shape (layers can be cut), for prompts of growing length: shows whether an error grows
 * with context and from which layer count. Then, on the GPU: greedy decoding of 8 prompts of mixed
 * lengths in one batch vs each alone (batch consistency), and the device argmax path vs host
 * sampling of the same logits (temperature 0 vs a tiny temperature with top-k 1).
 * usage: test_cuda_vs_cpu PRESET N_LAYERS fp16|bf16 LEN... */
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
    /* batch consistency on the GPU */
    enum { B = 8, N = 24 };
    int32_t *pr[B];
    size_t lens[B];
    for (int i = 0; i < B; i++) {
        lens[i] = 3 + (size_t)(i * 37) % 120;
        pr[i] = malloc(sizeof(int32_t) * lens[i]);
        for (size_t j = 0; j < lens[i]; j++) pr[i][j] = (int32_t)((j * 31 + (size_t)i * 1009 + 7) % (size_t)cfg.vocab_size);
    }
    linfer_engine_free(gpu);
    ep.max_batch = B;
    ep.max_context = 256;
    if (linfer_engine_create(m, &ep, &gpu)) { fprintf(stderr, "cuda: %s\n", linfer_last_error()); return 1; }
    linfer_sampling_params sp = linfer_sampling_default_params();
    sp.max_new_tokens = N;
    sp.ignore_eos = 1;
    int32_t *bo[B], *so[1], *ho[1];
    size_t bn[B], sn[1], hn[1];
    if (linfer_generate(gpu, B, (const int32_t *const *)pr, lens, &sp, NULL, NULL, bo, bn, NULL)) { fprintf(stderr, "%s\n", linfer_last_error()); return 1; }
    int same_seqs = 0, host_same = 0;
    for (int i = 0; i < B; i++) {
        const int32_t *pp[1] = {pr[i]};
        linfer_sampling_params hp = sp; /* host sampling path: top-k 1 is argmax over the same logits */
        hp.temperature = 1.0f;
        hp.top_k = 1;
        if (linfer_generate(gpu, 1, pp, &lens[i], &sp, NULL, NULL, so, sn, NULL) ||
            linfer_generate(gpu, 1, pp, &lens[i], &hp, NULL, NULL, ho, hn, NULL)) { fprintf(stderr, "%s\n", linfer_last_error()); return 1; }
        size_t k = 0, h = 0;
        while (k < bn[i] && k < sn[0] && bo[i][k] == so[0][k]) k++;
        while (h < sn[0] && h < hn[0] && so[0][h] == ho[0][h]) h++;
        printf("batch consistency (GPU %s): prompt %d (%zu tokens): %zu/%d greedy tokens equal alone vs in a batch of %d; "
               "device argmax vs host top-1: %zu/%d\n", argv[3], i, lens[i], k, N, B, h, N);
        same_seqs += k == (size_t)N;
        host_same += h == (size_t)N;
        free(so[0]); free(ho[0]); free(bo[i]); free(pr[i]);
    }
    printf("summary: %d/%d prompts identical alone and in the batch; %d/%d identical between device and host greedy\n", same_seqs, B, host_same, B);
    linfer_engine_free(cpu);
    linfer_engine_free(gpu);
    lf_model_free(m);
    return 0;
}
