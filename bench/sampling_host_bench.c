/* sampling_host_bench.c — milliseconds per token of the host sampler (lf_sample) at the LLaMA-2
 * and LLaMA-3 vocabulary sizes: temperature only, top_k 40, top_p 0.9, on Gaussian logits
 * (sigma 2.5) at temperature 0.8, the mean over 20 draws (a benchmark, not a test; the
 * numbers in docs/performance.md, session 22, came from it). Build and run from the repository
 * root after `make`:
 *
 *   cc -O2 -Isrc -Iinclude bench/sampling_host_bench.c build/liblinfer.a -o /tmp/sampling_host_bench \
 *      -lm -fopenmp -lopenblas -lcjson -lpcre2-8 -lutf8proc -ldl -lpthread \
 *      $(test -d /usr/local/cuda/lib64 && echo -L/usr/local/cuda/lib64 -lcublasLt -lcublas -lcudart -lstdc++)
 *   /tmp/sampling_host_bench */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "engine/sampling.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void) {
    const int vocab[2] = {32000, 128256};
    const lf_sampler_cfg cfg[3] = {{0.8f, 0, 1.0f}, {0.8f, 40, 1.0f}, {0.8f, 0, 0.9f}};
    for (int a = 0; a < 2; a++) {
        const int n = vocab[a];
        float *logits = malloc(sizeof(float) * (size_t)n), *work = malloc(sizeof(float) * (size_t)n);
        void *scratch = malloc(8 * (size_t)n);
        if (!logits || !work || !scratch) return 1;
        lf_rng r;
        lf_rng_seed(&r, 1);
        for (int i = 0; i < n; i++) { /* Box-Muller */
            const double u1 = lf_rng_uniform(&r) + 1e-12, u2 = lf_rng_uniform(&r);
            logits[i] = (float)(2.5 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
        }
        for (int c = 0; c < 3; c++) {
            const int reps = 20;
            const double t0 = now_ms();
            for (int k = 0; k < reps; k++) {
                for (int i = 0; i < n; i++) work[i] = logits[i];
                lf_sample(work, n, &cfg[c], &r, scratch);
            }
            printf("vocab %6d temperature 0.8 top_k %2d top_p %.1f: %.3f ms per token\n", n, cfg[c].top_k, cfg[c].top_p,
                   (now_ms() - t0) / reps);
        }
        free(logits); free(work); free(scratch);
    }
    return 0;
}
