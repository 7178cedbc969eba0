/* dist_smoke.c — the process model on real GPUs (src/dist/launcher.h), for a machine with >= 2
 * GPUs: built and driven by tests/dist/run_smoke.sh (not part of `make test`, which has no GPU).
 *
 *   dist_smoke --tp N [--mode M]     (no RANK: linfer-style spawn)  |  RANK=... dist_smoke [--mode M]
 *
 * Every rank: all-reduce (sum of rank+1 over 1 Mi floats), all-gather (4 floats per rank),
 * broadcast (from rank 0), each checked on the host; rank 0 prints "ok ..." on stdout; every rank
 * prints one line on stdout (only rank 0's may be seen when spawned) and one on stderr. Modes:
 *   ok           the above
 *   kill-child   rank 1 SIGKILLs itself after the first all-reduce while rank 0 keeps reducing
 *                (guarded communicator, wrappers and lf_dist_sync)
 *   kill-child-raw  the same with the raw ncclComm_t and cudaStreamSynchronize (as a backend would)
 *   stuck-rank0  rank 1 exits 3 after joining; rank 0 sleeps without checking (the 10 s watchdog)
 *   kill-parent  rank 0 SIGKILLs itself after joining; the others keep reducing
 *   no-join      rank 1 never joins (rank 0's NCCL initialisation must time out) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cuda_runtime_api.h>
#include "core/clock.h"
#include "dist/launcher.h"

static int fail_out(lf_dist *d, lf_status s) {
    fprintf(stderr, "%s: %s: %s\n", lf_dist_log_prefix(), linfer_status_name(s), linfer_last_error());
    lf_status fs = lf_dist_finish(d, s);
    if (fs) fprintf(stderr, "%s: finish: %s\n", lf_dist_log_prefix(), linfer_last_error());
    return s == LINFER_ERR_INVALID_ARG ? 2 : 1;
}

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { fprintf(stderr, "%s: %s: %s\n", lf_dist_log_prefix(), #x, cudaGetErrorString(e_)); return fail_out(&d, LINFER_ERR_DEVICE); } } while (0)

int main(int argc, char **argv) {
    int tp = 1;
    const char *mode = "ok";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tp") && i + 1 < argc) tp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
    }
    lf_dist d;
    lf_dist_init(&d);
    double t0 = lf_now_s();
    lf_status s = LINFER_OK;
    if (lf_dist_env_present()) {
        const char *r = getenv("RANK");
        if (!strcmp(mode, "no-join") && r && atoi(r) == 1) { sleep(120); return 0; }
        s = lf_dist_join(&d);
    } else if (tp > 1) {
        s = lf_dist_spawn(tp, argc, argv, &d);
    }
    if (s) return fail_out(&d, s);
    int raw = !strcmp(mode, "kill-child-raw");   /* like a backend holding the raw ncclComm_t */
    if (!raw) lf_dist_set_comm_guarded(&d);
    double t_join = lf_now_s() - t0;
    printf("rank %d stdout (pid %ld)\n", d.rank, (long)getpid());
    fflush(stdout);
    fprintf(stderr, "%s: joined as rank %d of %d on GPU %d (pid %ld, spawned %d) in %.2f s\n", lf_dist_log_prefix(), d.rank, d.world, d.local_rank,
            (long)getpid(), d.spawned, t_join);
    if (!strcmp(mode, "kill-parent") && d.rank == 0) { sleep(1); raise(SIGKILL); }
    if (!strcmp(mode, "stuck-rank0")) {
        if (d.rank == 1) { sleep(1); return 3; }
        sleep(60);   /* never checks: the supervisor must end this process */
        printf("rank 0 woke up: the watchdog did not fire\n");
        return 0;
    }
    const size_t n = 1 << 20;
    float *h = malloc(n * sizeof(float)), *dbuf = NULL, *gat = NULL, hg[64];
    int *bc = NULL, hb[128];
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    CK(cudaMalloc((void **)&dbuf, n * sizeof(float)));
    CK(cudaMalloc((void **)&gat, 4 * sizeof(float) * (size_t)d.world));
    CK(cudaMalloc((void **)&bc, sizeof hb));
    int reps = !strcmp(mode, "kill-child") || raw || !strcmp(mode, "kill-parent") ? 100000 : 20;
    double t1 = lf_now_s();
    for (int it = 0; it < reps; it++) {
        for (size_t i = 0; i < n; i++) h[i] = (float)(d.rank + 1);
        CK(cudaMemcpyAsync(dbuf, h, n * sizeof(float), cudaMemcpyHostToDevice, st));
        if (raw) {
            ncclResult_t r = d.nccl->AllReduce(dbuf, dbuf, n, ncclFloat, ncclSum, (ncclComm_t)d.comm, st);
            if (r != ncclSuccess) { fprintf(stderr, "%s: ncclAllReduce: %s\n", lf_dist_log_prefix(), d.nccl->GetErrorString(r)); return fail_out(&d, LINFER_ERR_DEVICE); }
            CK(cudaStreamSynchronize(st));   /* hangs when the peer is gone: the supervisor's grace ends it */
        } else {
            if ((s = lf_dist_all_reduce(&d, dbuf, dbuf, n, ncclFloat, ncclSum, st))) return fail_out(&d, s);
            if ((s = lf_dist_sync(&d, st, 0))) return fail_out(&d, s);
        }
        CK(cudaMemcpy(h, dbuf, n * sizeof(float), cudaMemcpyDeviceToHost));
        float want = (float)d.world * (float)(d.world + 1) / 2;
        if (h[0] != want || h[n - 1] != want) { fprintf(stderr, "%s: all-reduce gave %g, want %g\n", lf_dist_log_prefix(), h[0], want); return fail_out(&d, LINFER_ERR_DEVICE); }
        if ((!strcmp(mode, "kill-child") || raw) && d.rank == 1 && it == 2) raise(SIGKILL);
        if (it == 0) {
            float mine[4] = {(float)d.rank, 10.f * d.rank, 100.f * d.rank, -1};
            CK(cudaMemcpy(gat + 4 * d.rank, mine, sizeof mine, cudaMemcpyHostToDevice));
            if ((s = lf_dist_all_gather(&d, gat + 4 * d.rank, gat, 4, ncclFloat, st))) return fail_out(&d, s);
            for (int i = 0; i < 128; i++) hb[i] = d.rank == 0 ? 1000 + i : -7;
            CK(cudaMemcpy(bc, hb, sizeof hb, cudaMemcpyHostToDevice));
            if ((s = lf_dist_broadcast(&d, bc, bc, 128, ncclInt32, 0, st))) return fail_out(&d, s);
            if ((s = lf_dist_sync(&d, st, 0))) return fail_out(&d, s);
            CK(cudaMemcpy(hg, gat, 4 * sizeof(float) * (size_t)d.world, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(hb, bc, sizeof hb, cudaMemcpyDeviceToHost));
            for (int r = 0; r < d.world; r++)
                if (hg[4 * r] != r || hg[4 * r + 2] != 100.f * r) { fprintf(stderr, "%s: all-gather wrong at rank %d\n", lf_dist_log_prefix(), r); return fail_out(&d, LINFER_ERR_DEVICE); }
            for (int i = 0; i < 128; i++)
                if (hb[i] != 1000 + i) { fprintf(stderr, "%s: broadcast wrong at %d\n", lf_dist_log_prefix(), i); return fail_out(&d, LINFER_ERR_DEVICE); }
        }
        if ((s = lf_dist_check(&d))) return fail_out(&d, s);
    }
    double t_coll = lf_now_s() - t1;
    if (d.rank == 0) printf("ok: world %d, all-reduce/all-gather/broadcast right, join %.2f s, %d x (4 MiB all-reduce + copies) %.3f s\n", d.world, t_join, reps, t_coll);
    fflush(stdout);
    cudaFree(dbuf); cudaFree(gat); cudaFree(bc); cudaStreamDestroy(st); free(h);
    double t2 = lf_now_s();
    s = lf_dist_finish(&d, 0);
    if (s) { fprintf(stderr, "%s: finish: %s\n", lf_dist_log_prefix(), linfer_last_error()); return 1; }
    fprintf(stderr, "%s: finished in %.2f s\n", lf_dist_log_prefix(), lf_now_s() - t2);
    return 0;
}
