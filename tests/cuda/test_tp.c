/* test_tp.c — tensor parallelism of the CUDA backend against TP = 1, on the device.
 *
 *   test_tp [--model llama-2-13b] [--tp 2,4] [--pp 2 [--pp-micro M]] [--dtype f16|bf16] [--steps 32] [--no-speed] [--invariant]
 *   (--pp: pipeline parallelism over that many GPUs, the same checks against one GPU; --pp-tp T:
 *   each stage tensor-parallel over T GPUs, e.g. --pp 2 --pp-tp 2 on 4 GPUs)
 *
 * One process drives the ranks, one thread per GPU, over communicators from ncclCommInitAll
 * (the backend and engine code are those every rank process runs; the launcher's process model
 * is tested separately). Random weights of a preset (the same values on every rank: each rank
 * synthesises its own slice of the same tensors). Checks, for each TP:
 *   - greedy tokens: 8 prompts of different lengths (5..40 tokens) decoded together for --steps
 *     steps must equal TP = 1's (the bar: identical for 32 steps);
 *   - last-position logits of one prompt: relative L2 error against TP = 1 <= 2e-2;
 * then (unless --no-speed) decode TPOT at bs 1, in 128, out 128: median of 3 after a warm-up,
 * with the ratio to TP = 1 (the bars: 13B TP 2 <= 0.58, TP 4 <= 0.36), and the time of
 * one decode all-reduce (one token of the residual: dim fp32 values) as the step runs it, from a
 * graph of 200 calls: the one-shot push kernel, the one-shot pull kernel and NCCL (bar <= 5 us),
 * and of the all-reduce with the norm after it (two kernels, and the one fused kernel). With
 * TP > 1 the fused all-reduce-with-norm kernel is also checked against the all-reduce and the
 * norm kernel on random rows (1 and 4): the same sums, normalised values within one unit in
 * the last place (the square sums are added in another order).
 * --invariant: every run (TP 1 too) in the TP-invariant mode (linfer_engine_params.tp_invariant),
 * where the last logits must also be bit for bit TP 1's.
 * Exit 1 if a correctness check fails; speed is reported, not asserted. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "linfer.h"
#include "model/model.h"
#include "perf/presets.h"
#include "perf/sweep.h"
#include "dist/nccl_loader.h"
#include "engine/backend.h"
#include "perf/profile.h"
#include "cuda/cuda_kernels.h"

#define NP 8
#define MAX_TP 8

typedef struct {
    int tp, rank, steps, speed;
    int pp_mode, micro;   /* pipeline parallelism instead: tp = all ranks, ptp GPUs per stage, micro-batches */
    int ptp;
    void *comm;
    linfer_model *m;
    linfer_compute_dtype dt;
    /* results (rank 0's are compared) */
    int32_t *ids[NP];
    size_t n_ids[NP];
    float *logits;
    double tpot_ms;
    double ar_us[3];      /* one-token all-reduce: one-shot push, one-shot pull, NCCL (0: not measured) */
    double arn_us[2];     /* one-token all-reduce and the norm after it: two kernels, one kernel (0: not measured) */
    double arn_dx[2], arn_dn[2]; /* the all-reduce-with-norm check at 1 and 4 rows: sums, normalised values (-1: not run) */
    lf_status status;
    char err[512];
} rank_job;

static int32_t g_prompt[NP][40];
static pthread_barrier_t g_bar;   /* the ranks of one TP run (all-reduce timing: every rank must use the same kernel) */
static size_t g_len[NP];
static int g_invariant;           /* --invariant: every engine in the TP-invariant mode */

static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

static void *run_rank(void *arg) {
    rank_job *j = arg;
    linfer_engine_params ep = linfer_engine_default_params();
    ep.device = LINFER_DEVICE_CUDA;
    ep.dtype = j->dt;
    ep.max_batch = NP;
    ep.max_context = 512;
    ep.gpu_index = j->rank;
    ep.tp_invariant = g_invariant;
    if (j->pp_mode) {
        ep.pp_size = j->tp / j->ptp;
        ep.pp_stage = j->rank / j->ptp;
        ep.pp_comm = j->comm;
        ep.pp_micro = j->micro;
        ep.tp_size = j->ptp;
        ep.tp_rank = j->rank % j->ptp;
        ep.tp_comm = NULL;   /* ptp > 1: the backend splits each stage's group off pp_comm */
    } else {
        ep.tp_size = j->tp;
        ep.tp_rank = j->rank;
        ep.tp_comm = j->comm;
    }
    linfer_engine *e = NULL;
    lf_status s = linfer_engine_create(j->m, &ep, &e);
    if (!s) {
        linfer_sampling_params sp = linfer_sampling_default_params();
        sp.max_new_tokens = j->steps;
        sp.ignore_eos = 1;
        const int32_t *pp[NP];
        for (int i = 0; i < NP; i++) pp[i] = g_prompt[i];
        s = linfer_generate(e, NP, pp, g_len, &sp, NULL, NULL, j->ids, j->n_ids, NULL);
    }
    if (!s) s = linfer_prompt_logits(e, g_prompt[NP - 1], g_len[NP - 1], &j->logits);
    j->arn_dx[0] = j->arn_dx[1] = -1;
    if (!s && j->tp > 1 && !j->pp_mode) { /* collective: every rank makes both calls */
        const int rows[2] = {1, 4};
        for (int k = 0; k < 2 && !s; k++) {
            s = lf_cuda_check_allreduce_norm(lf_engine_backend(e), rows[k], &j->arn_dx[k], &j->arn_dn[k]);
            if (s == LINFER_ERR_UNSUPPORTED) { s = LINFER_OK; j->arn_dx[k] = -1; }
        }
    }
    if (!s && j->speed) {
        int32_t p128[128];
        for (int i = 0; i < 128; i++) p128[i] = (int32_t)((i * 7919 + 13) % j->m->cfg.vocab_size);
        const int32_t *pp[1] = {p128};
        size_t len[1] = {128};
        linfer_sampling_params sp = linfer_sampling_default_params();
        sp.max_new_tokens = 128;
        sp.ignore_eos = 1;
        double t[4];
        for (int r = 0; r < 4 && !s; r++) {
            linfer_gen_stats st;
            s = linfer_generate(e, 1, pp, len, &sp, NULL, NULL, NULL, NULL, &st);
            t[r] = st.tpot_ms;
        }
        if (!s) { qsort(t + 1, 3, sizeof t[0], cmp_d); j->tpot_ms = t[2]; }
    }
    if (j->speed && j->tp > 1 && !j->pp_mode) {
        /* every rank passes each barrier whatever its status, so that none waits for ever */
        const int order[3] = {1, 0, -1};   /* push, pull, NCCL */
        for (int k = 0; k < 3; k++) {
            pthread_barrier_wait(&g_bar);
            if (order[k] >= 0) lf_cuda_set_oneshot_ll(order[k]);
            pthread_barrier_wait(&g_bar);
            double per = 0;
            if (!s) s = lf_cuda_time_allreduce(lf_engine_backend(e), j->m->cfg.dim, 200, 9, order[k] < 0 ? 1 : 0, &per);
            if (!s) j->ar_us[k] = per * 1e6;
        }
        pthread_barrier_wait(&g_bar);
        lf_cuda_set_oneshot_ll(1);
        for (int k = 0; k < 2; k++) { /* all-reduce then norm kernel, then the one kernel */
            pthread_barrier_wait(&g_bar);
            lf_cuda_set_allreduce_norm(k);
            pthread_barrier_wait(&g_bar);
            double per = 0;
            if (!s) s = lf_cuda_time_allreduce(lf_engine_backend(e), j->m->cfg.dim, 200, 9, 2, &per);
            if (!s) j->arn_us[k] = per * 1e6;
        }
        pthread_barrier_wait(&g_bar);
        lf_cuda_set_allreduce_norm(1);
    }
    if (s) snprintf(j->err, sizeof j->err, "%s", linfer_last_error());
    j->status = s;
    linfer_engine_free(e);
    return NULL;
}

/* One TP (or PP) run: communicators over GPUs 0..tp-1, one thread per rank. 0 when NCCL started. */
static int run_group(lf_nccl *nc, int tp, int ppm, int micro, int ptp, int steps, int speed, lf_model *m, linfer_compute_dtype dt,
                     rank_job *jobs) {
    ncclComm_t comms[MAX_TP];
    int devs[MAX_TP] = {0};
    for (int r = 0; r < tp; r++) devs[r] = r;
    ncclResult_t nr = nc->CommInitAll(comms, tp, devs);
    if (nr != ncclSuccess) { fprintf(stderr, "ncclCommInitAll(%d): %s\n", tp, nc->GetErrorString(nr)); return 1; }
    pthread_t th[MAX_TP];
    pthread_barrier_init(&g_bar, NULL, (unsigned)tp);
    for (int r = 0; r < tp; r++) {
        memset(&jobs[r], 0, sizeof jobs[r]);
        jobs[r].tp = tp; jobs[r].rank = r; jobs[r].steps = steps; jobs[r].speed = speed;
        jobs[r].comm = comms[r]; jobs[r].m = (linfer_model *)m; jobs[r].dt = dt;
        jobs[r].pp_mode = ppm; jobs[r].micro = micro; jobs[r].ptp = ptp;
        pthread_create(&th[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < tp; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g_bar);
    for (int r = 0; r < tp; r++) nc->CommDestroy(comms[r]);
    return 0;
}

static void free_jobs(rank_job *jobs, int tp) {
    for (int r = 0; r < tp; r++) {
        for (int i = 0; i < NP; i++) free(jobs[r].ids[i]);
        free(jobs[r].logits);
    }
}

int main(int argc, char **argv) {
    const char *model = "llama-2-13b", *tps = "2", *pps = NULL;
    int steps = 32, speed = 1, micro = 0, ptp = 1;
    linfer_compute_dtype dt = LINFER_DTYPE_F16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--tp") && i + 1 < argc) tps = argv[++i];
        else if (!strcmp(argv[i], "--pp") && i + 1 < argc) pps = argv[++i];
        else if (!strcmp(argv[i], "--pp-micro") && i + 1 < argc) micro = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pp-tp") && i + 1 < argc) ptp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) { i++; dt = !strcmp(argv[i], "bf16") ? LINFER_DTYPE_BF16 : LINFER_DTYPE_F16; }
        else if (!strcmp(argv[i], "--no-speed")) speed = 0;
        else if (!strcmp(argv[i], "--invariant")) g_invariant = 1;
        else {
            fprintf(stderr, "usage: test_tp [--model NAME] [--tp LIST] [--pp LIST [--pp-micro M] [--pp-tp T]] [--dtype f16|bf16] [--steps N] [--no-speed] [--invariant]\n");
            return 2;
        }
    }
    int ngpu = 0;
    if (cudaGetDeviceCount(&ngpu) != cudaSuccess || ngpu < 1) { printf("SKIP: no CUDA device\n"); return 0; }
    int *tpl = NULL, ntp = 0, *ppl = NULL, npp = 0;
    if (lf_parse_int_list(tps, "--tp", 1, MAX_TP, &tpl, &ntp)) { fprintf(stderr, "test_tp: %s\n", linfer_last_error()); return 2; }
    if (pps && lf_parse_int_list(pps, "--pp", 1, MAX_TP, &ppl, &npp)) { fprintf(stderr, "test_tp: %s\n", linfer_last_error()); return 2; }
    /* the runs: TP values, then PP values (the same checks against TP 1 = one GPU) */
    int *runs = malloc(sizeof(int) * (size_t)(ntp + npp + 1)), *is_pp = malloc(sizeof(int) * (size_t)(ntp + npp + 1)), nrun = 0;
    if (!runs || !is_pp) return 1;
    for (int i = 0; i < ntp; i++) { runs[nrun] = tpl[i]; is_pp[nrun++] = 0; }
    if (ptp < 1) ptp = 1;
    for (int i = 0; i < npp; i++) { runs[nrun] = ppl[i] * ptp; is_pp[nrun++] = 1; }   /* ranks: stages x GPUs per stage */
    lf_config cfg;
    if (lf_preset_model(model, &cfg)) { fprintf(stderr, "test_tp: %s\n", linfer_last_error()); return 2; }
    lf_model *m = NULL;
    if (lf_model_create_random(&cfg, dt == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16, 7, &m)) {
        fprintf(stderr, "test_tp: %s\n", linfer_last_error());
        return 1;
    }
    for (int i = 0; i < NP; i++) {
        g_len[i] = (size_t)(5 + i * 5);
        for (size_t k = 0; k < g_len[i]; k++) g_prompt[i][k] = (int32_t)((i * 1000003u + k * 7919u + 11u) % (unsigned)cfg.vocab_size);
    }
    printf("test_tp: %s, %s, %d GPU(s), %d prompts x %d greedy steps%s\n", model, dt == LINFER_DTYPE_BF16 ? "bf16" : "fp16", ngpu, NP, steps,
           g_invariant ? ", TP-invariant mode" : "");
    rank_job ref;
    memset(&ref, 0, sizeof ref);
    ref.tp = 1; ref.steps = steps; ref.speed = speed; ref.m = (linfer_model *)m; ref.dt = dt;
    run_rank(&ref);
    if (ref.status) { fprintf(stderr, "TP 1 failed: %s\n", ref.err); return 1; }
    printf("TP 1: done%s\n", speed ? "" : " (no speed run)");
    if (speed) printf("TP 1: TPOT bs 1 in 128 out 128: %.3f ms\n", ref.tpot_ms);
    int failed = 0;
    lf_nccl *nc = NULL;
    for (int ti = 0; ti < nrun; ti++) {
        const int tp = runs[ti], ppm = is_pp[ti];
        char what[32];   /* "TP 2", "PP 4", "PP 2 x TP 2" */
        if (ppm && ptp > 1) snprintf(what, sizeof what, "PP %d x TP %d", tp / ptp, ptp);
        else snprintf(what, sizeof what, "%s %d", ppm ? "PP" : "TP", tp);
        if (tp == 1) continue;
        if (tp > ngpu) { printf("%s: skipped (%d GPUs)\n", what, ngpu); continue; }
        if (!nc && lf_nccl_open(0, &nc)) { fprintf(stderr, "test_tp: %s\n", linfer_last_error()); return 1; }
        rank_job jobs[MAX_TP];
        if (run_group(nc, tp, ppm, micro, ptp, steps, speed, m, dt, jobs)) return 1;
        int ok = 1;
        for (int r = 0; r < tp; r++)
            if (jobs[r].status) { printf("%s rank %d failed: %s\n", what, r, jobs[r].err); ok = 0; }
        if (ok) {
            int same_all = 1, agree_sum = 0;
            printf("%s: greedy tokens equal to TP 1 (prefix length per prompt):", what);
            for (int i = 0; i < NP; i++) {
                size_t k = 0;
                while (k < ref.n_ids[i] && k < jobs[0].n_ids[i] && ref.ids[i][k] == jobs[0].ids[i][k]) k++;
                printf(" %zu", k);
                agree_sum += (int)k;
                if (k != ref.n_ids[i] || ref.n_ids[i] != (size_t)steps) same_all = 0;
                /* every rank produced the same tokens as rank 0 */
                for (int r = 1; r < tp; r++)
                    if (jobs[r].n_ids[i] != jobs[0].n_ids[i] || memcmp(jobs[r].ids[i], jobs[0].ids[i], sizeof(int32_t) * jobs[0].n_ids[i]))
                        same_all = 0, printf("(rank %d differs)", r);
            }
            double se = 0, sr = 0;
            for (int v = 0; v < cfg.vocab_size; v++) {
                const double d = (double)jobs[0].logits[v] - ref.logits[v];
                se += d * d;
                sr += (double)ref.logits[v] * ref.logits[v];
            }
            const double rel = sr > 0 ? sqrt(se / sr) : INFINITY;
            const int bits = !memcmp(jobs[0].logits, ref.logits, sizeof(float) * (size_t)cfg.vocab_size);
            printf(" of %d -> %s; last logits rel L2 %.2e (bar 2e-2) %s; bit for bit TP 1's: %s%s\n", steps, same_all ? "identical" : "DIFFERENT", rel,
                   rel <= 2e-2 ? "ok" : "FAIL", bits ? "yes" : "no", g_invariant ? (bits ? " ok" : " FAIL") : "");
            if (!same_all || !(rel <= 2e-2) || (g_invariant && !bits)) failed = 1;
            if (!ppm) { /* the fused kernel against the all-reduce and the norm kernel: the same sums, one rounding of xn */
                const double ulp = 1.0;   /* the normalised values' difference in units of T's spacing */
                for (int k = 0; k < 2; k++) {
                    int arn_ok = 1;
                    for (int r = 0; r < tp; r++)
                        if (jobs[r].arn_dx[k] >= 0 && (jobs[r].arn_dx[k] != 0 || jobs[r].arn_dn[k] > ulp)) arn_ok = 0;
                    if (jobs[0].arn_dx[k] < 0) printf("%s: all-reduce with norm, %d rows: not available\n", what, k ? 4 : 1);
                    else printf("%s: all-reduce with norm, %d rows, against all-reduce + norm kernel: sums max diff %.3g, "
                                "normalised max diff %.3g units of the last place (bar: 0 and %.3g) %s\n", what, k ? 4 : 1, jobs[0].arn_dx[k], jobs[0].arn_dn[k],
                                ulp, arn_ok ? "ok" : "FAIL");
                    if (!arn_ok) failed = 1;
                }
            }
            if (speed)
                printf("%s: TPOT bs 1 in 128 out 128: %.3f ms = %.3f x TP 1\n", what, jobs[0].tpot_ms, jobs[0].tpot_ms / ref.tpot_ms);
            if (speed && !ppm)
                printf("%s: all-reduce of one token (%d fp32, in a graph of 200, median of 9): one-shot push %.2f us, "
                       "one-shot pull %.2f us, NCCL %.2f us (bar 5 us: %s)\n", what, cfg.dim, jobs[0].ar_us[0], jobs[0].ar_us[1],
                       jobs[0].ar_us[2], jobs[0].ar_us[0] > 0 && jobs[0].ar_us[0] <= 5 ? "met" : "not met");
            if (speed && !ppm)
                printf("%s: all-reduce of one token and the norm after it (graph of 200, median of 9): two kernels %.2f us, "
                       "one kernel %.2f us\n", what, jobs[0].arn_us[0], jobs[0].arn_us[1]);
            (void)agree_sum;
        } else failed = 1;
        free_jobs(jobs, tp);
    }
    free(runs);
    free(is_pp);
    printf("test_tp: %s\n", failed ? "FAIL" : "ok");
    return failed;
}
