/* lab_attention.c — kernel lab for the decode attention (one new token per sequence): the
 * shipped kernel of src/cuda/attention.cu under its run-time settings, at a model's real head
 * shapes, first checked against a double-precision CPU reference, then timed.
 *
 *   lab_attention [--model llama-2-7b] [--dtype f16|bf16] [--ctx 128,512,2048,4096] [--batch 1,32]
 *                 [--variants default,global,grain256,bps2] [--reps 9] [--iters 20]
 *
 * Variants (all lf_cuda_attention_rope, the engine's decode path, through its setters):
 *   default     as the engine runs it (context split in units of one kernel chunk, the splits of a
 *               (token, head) merged in a thread-block cluster where they fit one)
 *   global      the splits merged through global memory and a counter (lf_cuda_set_attn_cluster(0))
 *   grainN      split units of N positions (lf_cuda_set_attn_grain(N))
 *   bpsN        the context split aiming at N blocks per SM instead of 2 (lf_cuda_set_attn_blocks_per_sm)
 *   gqa         the tensor-core GQA kernel for every model, multi-head too (lf_cuda_set_attn_gqa(2))
 *   nogqa       attn_decode_kernel for every model (lf_cuda_set_attn_gqa(0))
 *   gwN         the GQA kernel with N (4 or 8) warps per block (lf_cuda_set_attn_gqa_warps)
 *   gsN         the GQA kernel's context split capped at N splits (lf_cuda_set_attn_gqa_max_splits)
 *   A+B         settings combined, e.g. bps1+grain128
 * Method (device METHOD.md): for every variant, the attention of 16 sampled (sequence, head) pairs
 * without RoPE (lf_cuda_attention, the same kernel and split) against a CPU reference in double
 * of the same rounded inputs; then the RoPE form timed: a warm-up, the median over --reps of (time
 * of --iters launches / iters), CUDA events, the caches rotating over copies that exceed 4x the L2
 * so every launch reads HBM. GB/s counts the K and V bytes read; the ratio is to the HBM read
 * bandwidth measured in the same run (lf_calibrate_gpu). Exit 1 if a check fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "cuda/cuda_kernels.h"
#include "core/dtype.h"
#include "perf/presets.h"
#include "perf/calibrate.h"
#include "perf/sweep.h"
#include "lab_common.h"

#define LF(call) do { if ((call) != LINFER_OK) { fprintf(stderr, "%s:%d %s\n", __FILE__, __LINE__, linfer_last_error()); exit(1); } } while (0)

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float frand(void) { return lab_frand(&g_rng); }


/* the run-time settings of one variant: the defaults, then each '+'-separated setting */
static int apply_variant(const char *v) {
    lf_cuda_set_attn_cluster(1);
    lf_cuda_set_attn_grain(0);
    lf_cuda_set_attn_blocks_per_sm(0);   /* the default */
    lf_cuda_set_attn_gqa(-1);
    lf_cuda_set_attn_gqa_warps(0);
    lf_cuda_set_attn_gqa_max_splits(0);
    if (!strcmp(v, "default")) return 1;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        if (!strcmp(tok, "global")) lf_cuda_set_attn_cluster(0);
        else if (!strcmp(tok, "gqa")) lf_cuda_set_attn_gqa(2);
        else if (!strcmp(tok, "nogqa")) lf_cuda_set_attn_gqa(0);
        else if (!strncmp(tok, "gw", 2) && atoi(tok + 2) > 0) lf_cuda_set_attn_gqa_warps(atoi(tok + 2));
        else if (!strncmp(tok, "gs", 2) && atoi(tok + 2) > 0) lf_cuda_set_attn_gqa_max_splits(atoi(tok + 2));
        else if (!strncmp(tok, "bps", 3) && atoi(tok + 3) > 0) lf_cuda_set_attn_blocks_per_sm(atoi(tok + 3));
        else if (!strncmp(tok, "grain", 5) && atoi(tok + 5) > 0) lf_cuda_set_attn_grain(atoi(tok + 5));
        else return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    const char *model = "llama-2-7b", *ctxlist = "128,512,2048,4096", *blist = "1,32";
    const char *vlist = "default,global,grain256,bps2";
    lf_dtype dt = LF_DT_F16;
    int reps = 9, iters = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) { i++; dt = !strcmp(argv[i], "bf16") ? LF_DT_BF16 : LF_DT_F16; }
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) ctxlist = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) blist = argv[++i];
        else if (!strcmp(argv[i], "--variants") && i + 1 < argc) vlist = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: lab_attention [--model NAME] [--dtype f16|bf16] [--ctx LIST] [--batch LIST] [--variants LIST] [--reps N] [--iters N]\n");
            return 2;
        }
    }
    lf_config cfg;
    if (lf_preset_model(model, &cfg) != LINFER_OK) { fprintf(stderr, "lab_attention: %s\n", linfer_last_error()); return 2; }
    int *ctxs = NULL, nctx = 0, *bs = NULL, nb = 0;
    if (lf_parse_int_list(ctxlist, "--ctx", 2, 1 << 20, &ctxs, &nctx) != LINFER_OK ||
        lf_parse_int_list(blist, "--batch", 1, 4096, &bs, &nb) != LINFER_OK) {
        fprintf(stderr, "lab_attention: %s\n", linfer_last_error());
        return 2;
    }
    char vbuf[512];
    snprintf(vbuf, sizeof vbuf, "%s", vlist);
    const char *vars[16];
    int nv = 0;
    for (char *tok = strtok(vbuf, ","); tok && nv < 16; tok = strtok(NULL, ",")) {
        if (!apply_variant(tok)) { fprintf(stderr, "lab_attention: unknown variant '%s'\n", tok); return 2; }
        vars[nv++] = tok;
    }
    const int hd = cfg.head_dim, nh = cfg.n_heads, nkv = cfg.n_kv_heads;
    if (!lf_cuda_attention_rope_supported(hd)) { fprintf(stderr, "lab_attention: head_dim %d has no decode kernel\n", hd); return 2; }
    const int q_dim = nh * hd, kv_dim = nkv * hd, qkv_stride = q_dim + 2 * kv_dim;
    const float scale = 1.0f / sqrtf((float)hd);

    lf_calib_opts co;
    lf_calib_default_opts(&co);
    co.quick = 1;
    lf_calib_result cr;
    if (lf_calibrate_gpu(0, &co, &cr) != LINFER_OK) { fprintf(stderr, "lab_attention: %s\n", linfer_last_error()); return 1; }
    printf("# %s, %s (heads %d, kv heads %d, head_dim %d), %s; HBM read bandwidth measured now: %.3f TB/s; L2 %.0f MiB\n",
           cr.name, model, nh, nkv, hd, dt == LF_DT_F16 ? "fp16" : "bf16", cr.read_bw / 1e12, cr.l2_bytes / 1048576.0);

    float *inv_freq_h = malloc(sizeof(float) * (size_t)hd / 2), *inv_freq;
    for (int i = 0; i < hd / 2; i++) inv_freq_h[i] = (float)pow(cfg.rope_theta > 0 ? cfg.rope_theta : 10000.0, -2.0 * i / hd);
    CK(cudaMalloc((void **)&inv_freq, sizeof(float) * (size_t)hd / 2));
    CK(cudaMemcpy(inv_freq, inv_freq_h, sizeof(float) * (size_t)hd / 2, cudaMemcpyHostToDevice));
    float *split;
    CK(cudaMalloc((void **)&split, LF_ATTN_SPLIT_SCRATCH));
    CK(cudaMemset(split, 0, LF_ATTN_SPLIT_SCRATCH));
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    int failed = 0;
    printf("%5s %6s %-10s %9s %8s %7s %s\n", "batch", "ctx", "variant", "us", "GB/s", "of_read", "check(max rel err)");
    for (int bi = 0; bi < nb; bi++) {
        for (int ci = 0; ci < nctx; ci++) {
            const int B = bs[bi], C = ctxs[ci], max_ctx = C;
            /* cache rows per sequence: max_ctx; the new token sits at position C-1 (context C) */
            const size_t cache_elems = (size_t)B * max_ctx * kv_dim, cache_bytes = cache_elems * 2;
            size_t free_b = 0, total_b = 0;
            CK(cudaMemGetInfo(&free_b, &total_b));
            int copies = (int)ceil(4.0 * cr.l2_bytes / (2.0 * cache_bytes)) + 1;
            if (copies < 2) copies = 2;
            while (copies > 2 && 2 * cache_bytes * copies > free_b / 2) copies--;
            if (2 * cache_bytes * copies > free_b / 2) { printf("%5d %6d skipped: %zu MiB of caches\n", B, C, 2 * cache_bytes * copies >> 20); continue; }
            uint16_t *hk = malloc(cache_bytes), *hv = malloc(cache_bytes), *hq = malloc((size_t)B * qkv_stride * 2);
            if (!hk || !hv || !hq) { fprintf(stderr, "out of host memory\n"); return 1; }
            for (size_t i = 0; i < cache_elems; i++) { hk[i] = lab_to_bits(dt, frand()); hv[i] = lab_to_bits(dt, frand()); }
            for (size_t i = 0; i < (size_t)B * qkv_stride; i++) hq[i] = lab_to_bits(dt, frand());
            char *dk, *dv;
            void *dq, *dout;
            CK(cudaMalloc((void **)&dk, cache_bytes * copies));
            CK(cudaMalloc((void **)&dv, cache_bytes * copies));
            for (int cp = 0; cp < copies; cp++) {
                CK(cudaMemcpy(dk + cache_bytes * cp, hk, cache_bytes, cudaMemcpyHostToDevice));
                CK(cudaMemcpy(dv + cache_bytes * cp, hv, cache_bytes, cudaMemcpyHostToDevice));
            }
            CK(cudaMalloc(&dq, (size_t)B * qkv_stride * 2));
            CK(cudaMemcpy(dq, hq, (size_t)B * qkv_stride * 2, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&dout, (size_t)B * q_dim * 2));
            int32_t *hpos = malloc(sizeof(int32_t) * B), *hseq = malloc(sizeof(int32_t) * B), *dpos, *dseq;
            for (int b = 0; b < B; b++) { hpos[b] = C - 1; hseq[b] = b; }
            CK(cudaMalloc((void **)&dpos, sizeof(int32_t) * B));
            CK(cudaMalloc((void **)&dseq, sizeof(int32_t) * B));
            CK(cudaMemcpy(dpos, hpos, sizeof(int32_t) * B, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(dseq, hseq, sizeof(int32_t) * B, cudaMemcpyHostToDevice));
            uint16_t *hout = malloc((size_t)B * q_dim * 2);
            int okv[16];
            double worstv[16];
            for (int vi = 0; vi < nv; vi++) {
                apply_variant(vars[vi]);
                /* check (no RoPE: q as given, every position from the cache) */
                CK(cudaMemset(dout, 0xFF, (size_t)B * q_dim * 2));
                LF(lf_cuda_attention(dt, dout, q_dim, dq, qkv_stride, dk, dv, max_ctx, dpos, dseq, NULL, B, nh, nkv, hd, scale, C,
                                     split, LF_ATTN_SPLIT_SCRATCH, st));
                CK(cudaStreamSynchronize(st));
                CK(cudaMemcpy(hout, dout, (size_t)B * q_dim * 2, cudaMemcpyDeviceToHost));
                double worst = 0;
                double *sc = malloc(sizeof(double) * C);
                for (int smp = 0; smp < 16; smp++) {
                    const int b = (int)(((uint64_t)smp * 2654435761u) % (uint64_t)B), h = (smp * 7 + 3) % nh, kvh = h / (nh / nkv);
                    double mx = -1e300, sum = 0;
                    for (int p = 0; p < C; p++) {
                        double d = 0;
                        for (int e = 0; e < hd; e++)
                            d += lab_from_bits(dt, hq[(size_t)b * qkv_stride + (size_t)h * hd + e]) *
                                 lab_from_bits(dt, hk[((size_t)b * max_ctx + p) * kv_dim + (size_t)kvh * hd + e]);
                        sc[p] = d * scale;
                        if (sc[p] > mx) mx = sc[p];
                    }
                    for (int p = 0; p < C; p++) { sc[p] = exp(sc[p] - mx); sum += sc[p]; }
                    for (int e = 0; e < hd; e++) {
                        double o = 0, mag = 0;
                        for (int p = 0; p < C; p++) {
                            const double t = sc[p] / sum * lab_from_bits(dt, hv[((size_t)b * max_ctx + p) * kv_dim + (size_t)kvh * hd + e]);
                            o += t;
                            mag += fabs(t);
                        }
                        const double got = lab_from_bits(dt, hout[(size_t)b * q_dim + (size_t)h * hd + e]);
                        const double err = fabs(got - o) / (mag + 1e-3);
                        if (!(err <= worst)) worst = err;
                    }
                }
                free(sc);
                /* fp32 sums and the output rounded to T: a few ulps of T of sum|p*v| */
                const double tol = dt == LF_DT_F16 ? 4e-3 : 3e-2;
                const int ok = worst <= tol;
                if (!ok) failed++;
                okv[vi] = ok;
                worstv[vi] = worst;
            }
            /* then time: the RoPE form writes the new k, v at position C-1 of the caches, which the checks read */
            for (int vi = 0; vi < nv; vi++) {
                apply_variant(vars[vi]);
                /* time the engine's form (RoPE fused, the new k, v written to the cache) */
                float ts[64];
                const int R = reps > 64 ? 64 : reps < 1 ? 1 : reps;
#define RUN(i_) LF(lf_cuda_attention_rope(dt, dout, q_dim, dq, qkv_stride, NULL, inv_freq, LF_ROPE_NEOX,                         \
                                          dk + cache_bytes * ((i_) % copies), dv + cache_bytes * ((i_) % copies), max_ctx, dpos,   \
                                          dseq, NULL, B, nh, nkv, hd, scale, C, split, LF_ATTN_SPLIT_SCRATCH, st))
                for (int w = 0; w < 2 * copies; w++) RUN(w);
                for (int r = 0; r < R; r++) {
                    CK(cudaEventRecord(e0, st));
                    for (int it = 0; it < iters; it++) RUN(r * iters + it);
                    CK(cudaEventRecord(e1, st));
                    CK(cudaEventSynchronize(e1));
                    float ms_ = 0;
                    CK(cudaEventElapsedTime(&ms_, e0, e1));
                    ts[r] = ms_ / iters;
                }
#undef RUN
                qsort(ts, R, sizeof ts[0], lab_cmp_float);
                const double t = ts[R / 2] * 1e-3, bytes = 2.0 * (double)B * C * kv_dim * 2;
                printf("%5d %6d %-10s %9.2f %8.0f %6.1f%% %s(%.1e)\n", B, C, vars[vi], t * 1e6, bytes / t / 1e9,
                       100.0 * bytes / t / cr.read_bw, okv[vi] ? "ok" : "FAIL", worstv[vi]);
                fflush(stdout);
            }
            free(hk); free(hv); free(hq); free(hout); free(hpos); free(hseq);
            CK(cudaFree(dk)); CK(cudaFree(dv)); CK(cudaFree(dq)); CK(cudaFree(dout)); CK(cudaFree(dpos)); CK(cudaFree(dseq));
        }
    }
    printf("# %s\n", failed ? "SOME CHECKS FAILED" : "all checks passed");
    free(ctxs); free(bs); free(inv_freq_h);
    CK(cudaFree(inv_freq)); CK(cudaFree(split));
    return failed ? 1 : 0;
}
