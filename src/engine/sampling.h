/* sampling.h — choosing the next token from logits on the host: greedy, temperature, top-k,
 * top-p, with a per-sequence deterministic RNG (splitmix64 of the seed). */
#ifndef LF_SAMPLING_H
#define LF_SAMPLING_H
#include <stdint.h>

typedef struct { uint64_t state; } lf_rng;
void lf_rng_seed(lf_rng *r, uint64_t seed);
double lf_rng_uniform(lf_rng *r); /* [0, 1) */

typedef struct {
    float temperature; /* <= 0: greedy */
    int top_k;         /* <= 0: off */
    float top_p;       /* >= 1: off */
} lf_sampler_cfg;

/* logits is clobbered. scratch: at least 2*n floats-worth (index + prob pairs), caller-owned. */
int lf_sample(float *logits, int n, const lf_sampler_cfg *cfg, lf_rng *rng, void *scratch);
/* The same with the uniform draw u in [0, 1) given (lf_sample draws it from rng, once, unless
 * greedy): what a GPU sampler given the same u must agree with (src/cuda/sampling.cu). */
int lf_sample_u(float *logits, int n, const lf_sampler_cfg *cfg, double u, void *scratch);
#endif
