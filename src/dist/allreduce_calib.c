/* allreduce_calib.c — NCCL all-reduce latency and bus bandwidth (`linfer calibrate`; see
 * src/perf/calibrate.h for the definitions and src/dist/nccl_loader.h for how NCCL is found).
 *
 * One process drives GPUs 0..n-1 through ncclCommInitAll. Each timed operation is one
 * ncclGroupStart / n × ncclAllReduce (fp16, ncclSum, out of place, one stream per GPU) /
 * ncclGroupEnd; CUDA events on GPU 0's stream bracket `inner` such operations back to back, all
 * streams are drained between repetitions, and the median of the repetitions is reported. The
 * host-side cost of enqueueing the n calls is part of what is measured (as in nccl-tests -g n). */
#include "../perf/calibrate.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/clock.h"
#include "../perf/bench.h"
#include "nccl_loader.h"

#define MIB (1024.0 * 1024.0)

/* ---- pure helpers (every build) ---------------------------------------------------------------- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int lf_allreduce_sizes(int quick, double max_bytes, double *bytes, int cap) {
    double list[LF_AR_MAX_SIZES];
    int k = 0;
    if (quick) {
        static const double q[] = {2048, 8192, 10240, 512 * 1024.0, 8 * MIB, 64 * MIB};
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) list[k++] = q[i];
    } else {
        for (double b = 2048; b < 256 * MIB && k < LF_AR_MAX_SIZES - 2; b *= 4) list[k++] = b;  /* 2 KiB .. 128 MiB */
        list[k++] = 5120 * 2.0;   /* LLaMA-13B decode token (4096×2 = 8 KiB is on the ×4 grid) */
        list[k++] = 256 * MIB;
        qsort(list, (size_t)k, sizeof list[0], cmp_double);
    }
    int n = 0;
    for (int i = 0; i < k && n < cap; i++)
        if (!(max_bytes > 0) || list[i] <= max_bytes) bytes[n++] = list[i];
    return n;
}

int lf_allreduce_gpu_counts(int present, int *counts, int cap) {
    int n = 0;
    for (int g = 2; g <= LF_HW_AR_MAX_GPUS && g <= present && n < cap; g *= 2) counts[n++] = g;
    int top = present < LF_HW_AR_MAX_GPUS ? present : LF_HW_AR_MAX_GPUS;
    if (top >= 2 && (n == 0 || counts[n - 1] != top) && n < cap) counts[n++] = top;
    return n;
}

void lf_allreduce_derive(lf_allreduce_calib *a) {
    int n = a->n_gpus;
    double f = n > 1 ? 2.0 * (n - 1) / n : 0;
    double smallest = 0;
    a->latency_s = a->busbw_best = a->busbw_best_bytes = 0;
    if (a->n_sizes > LF_AR_MAX_SIZES) a->n_sizes = LF_AR_MAX_SIZES;
    if (a->n_sizes < 0) a->n_sizes = 0;
    for (int i = 0; i < a->n_sizes; i++) {
        double t = a->time_s[i], b = a->bytes[i];
        a->algbw[i] = t > 0 && b > 0 ? b / t : 0;
        a->busbw[i] = a->algbw[i] * f;
        if (!(t > 0)) continue;
        if (smallest == 0 || b < smallest) { smallest = b; a->latency_s = t; }
        if (b >= LF_AR_BUSBW_MIN_BYTES && a->busbw[i] > a->busbw_best) { a->busbw_best = a->busbw[i]; a->busbw_best_bytes = b; }
    }
}

#ifndef LINFER_HAVE_CUDA
lf_status lf_calibrate_allreduce(int n_gpus, const lf_calib_opts *o, lf_allreduce_calib *out) {
    (void)n_gpus;
    (void)o;
    if (out) memset(out, 0, sizeof *out);
    return lf_fail(LINFER_ERR_UNSUPPORTED, "NCCL all-reduce: this linfer was built without CUDA (nvcc not found at build time)");
}
#else
#include <cuda_runtime_api.h>
#include "../cuda/cuda_kernels.h"

#define WAIT_TIMEOUT_S 60.0

typedef struct {
    int n;
    lf_nccl *nc;
    ncclComm_t comm[LF_HW_AR_MAX_GPUS];
    cudaStream_t st[LF_HW_AR_MAX_GPUS];
    void *send[LF_HW_AR_MAX_GPUS], *recv[LF_HW_AR_MAX_GPUS];
    cudaEvent_t e0, e1;
    int have_comms, hung;
} ar_ctx;

static lf_status cu_fail(const char *what, int gpu, cudaError_t e) {
    cudaGetLastError();
    return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce calibration: %s on GPU %d: %s", what, gpu, cudaGetErrorString(e));
}

static lf_status nc_fail(const ar_ctx *c, const char *what, ncclResult_t r) {
    return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce calibration over %d GPUs: %s: %s", c->n, what, c->nc->GetErrorString(r));
}

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Poll instead of blocking, so that a collective that never completes (a broken link) ends in an
 * error rather than a hang. */
static lf_status wait_event(ar_ctx *c, cudaEvent_t ev) {
    double t0 = lf_now_s();
    for (;;) {
        cudaError_t e = cudaEventQuery(ev);
        if (e == cudaSuccess) return LINFER_OK;
        if (e != cudaErrorNotReady) return cu_fail("cudaEventQuery", 0, e);
        if (lf_now_s() - t0 > WAIT_TIMEOUT_S) {
            c->hung = 1;
            return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce over %d GPUs did not complete within %.0f s", c->n, WAIT_TIMEOUT_S);
        }
        sleep_us(20);
    }
}

static lf_status wait_all(ar_ctx *c) {
    double t0 = lf_now_s();
    for (int i = 0; i < c->n; i++) {
        cudaError_t e = cudaSetDevice(i);
        if (e != cudaSuccess) return cu_fail("cudaSetDevice", i, e);
        for (;;) {
            e = cudaStreamQuery(c->st[i]);
            if (e == cudaSuccess) break;
            if (e != cudaErrorNotReady) return cu_fail("cudaStreamQuery", i, e);
            if (lf_now_s() - t0 > WAIT_TIMEOUT_S) {
                c->hung = 1;
                return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce over %d GPUs did not complete within %.0f s (GPU %d)", c->n,
                               WAIT_TIMEOUT_S, i);
            }
            sleep_us(20);
        }
    }
    return LINFER_OK;
}

/* One all-reduce of `count` fp16 elements across all GPUs (one group). */
static lf_status ar_once(ar_ctx *c, size_t count) {
    ncclResult_t r = c->nc->GroupStart();
    if (r != ncclSuccess) return nc_fail(c, "ncclGroupStart", r);
    ncclResult_t first = ncclSuccess;
    for (int i = 0; i < c->n && first == ncclSuccess; i++)
        first = c->nc->AllReduce(c->send[i], c->recv[i], count, ncclHalf, ncclSum, c->comm[i], c->st[i]);
    r = c->nc->GroupEnd();   /* always closes the group, even after a failed call */
    if (first != ncclSuccess) return nc_fail(c, "ncclAllReduce", first);
    if (r != ncclSuccess) return nc_fail(c, "ncclGroupEnd", r);
    return LINFER_OK;
}

static float half_to_float(unsigned short h) {
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? INFINITY : ldexpf((float)(m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

/* The first element of every GPU's result must be n × the fill value (0x3C3C = 1.05859375). */
static lf_status check_result(ar_ctx *c) {
    const float want = (float)c->n * 1.05859375f;
    for (int i = 0; i < c->n; i++) {
        unsigned short h = 0;
        cudaError_t e = cudaSetDevice(i);
        if (e == cudaSuccess) e = cudaMemcpy(&h, c->recv[i], sizeof h, cudaMemcpyDeviceToHost);
        if (e != cudaSuccess) return cu_fail("cudaMemcpy (result check)", i, e);
        float got = half_to_float(h);
        if (!(fabsf(got - want) <= 0.01f * want))
            return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce over %d GPUs: wrong result on GPU %d (%g, expected %g)", c->n, i,
                           (double)got, (double)want);
    }
    return LINFER_OK;
}

static void ctx_free(ar_ctx *c) {
    for (int i = 0; i < c->n; i++) {
        if (c->have_comms && c->comm[i]) {
            if (c->hung && c->nc->CommAbort) c->nc->CommAbort(c->comm[i]);
            else if (!c->hung) c->nc->CommDestroy(c->comm[i]);
        }
    }
    if (c->hung) return;   /* buffers may still be in use by a stuck kernel: leave them to process exit */
    for (int i = 0; i < c->n; i++) {
        if (cudaSetDevice(i) != cudaSuccess) continue;
        if (c->send[i]) cudaFree(c->send[i]);
        if (c->recv[i]) cudaFree(c->recv[i]);
        if (c->st[i]) cudaStreamDestroy(c->st[i]);
    }
    if (cudaSetDevice(0) == cudaSuccess) {
        if (c->e0) cudaEventDestroy(c->e0);
        if (c->e1) cudaEventDestroy(c->e1);
    }
    cudaGetLastError();
}

/* Operations timed together per repetition: enough to amortise the event resolution on small
 * messages, few on large ones. */
static int inner_ops(double bytes) { return bytes <= MIB ? 20 : bytes <= 16 * MIB ? 10 : 4; }

static lf_status measure(ar_ctx *c, const lf_calib_opts *o, int warmup, int reps, lf_allreduce_calib *out) {
    cudaError_t e;
    /* largest message this GPU set can hold: send + receive buffer, at most 1/4 of free memory */
    double max_bytes = o->quick ? 64 * MIB : 256 * MIB;
    for (int i = 0; i < c->n; i++) {
        size_t fr = 0, tot = 0;
        if ((e = cudaSetDevice(i)) != cudaSuccess) return cu_fail("cudaSetDevice", i, e);
        if ((e = cudaMemGetInfo(&fr, &tot)) != cudaSuccess) return cu_fail("cudaMemGetInfo", i, e);
        while (max_bytes > 2048 && 2 * max_bytes > (double)fr / 4) max_bytes /= 2;
    }
    double sizes[LF_AR_MAX_SIZES];
    int ns = lf_allreduce_sizes(o->quick, max_bytes, sizes, LF_AR_MAX_SIZES);
    if (ns == 0) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "NCCL all-reduce calibration: not enough free GPU memory");
    size_t cap = (size_t)sizes[ns - 1];

    for (int i = 0; i < c->n; i++) {
        if ((e = cudaSetDevice(i)) != cudaSuccess) return cu_fail("cudaSetDevice", i, e);
        if ((e = cudaStreamCreateWithFlags(&c->st[i], cudaStreamNonBlocking)) != cudaSuccess) return cu_fail("cudaStreamCreate", i, e);
        if ((e = cudaMalloc(&c->send[i], cap)) != cudaSuccess || (e = cudaMalloc(&c->recv[i], cap)) != cudaSuccess)
            return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "NCCL all-reduce calibration: cannot allocate 2 x %.0f MiB on GPU %d: %s",
                           (double)cap / MIB, i, cudaGetErrorString(e));
        if ((e = cudaMemset(c->send[i], 0x3C, cap)) != cudaSuccess) return cu_fail("cudaMemset", i, e);   /* fp16 0x3C3C */
        if ((e = cudaMemset(c->recv[i], 0, cap)) != cudaSuccess) return cu_fail("cudaMemset", i, e);
        /* the memsets run on the legacy stream, which the non-blocking streams do not wait for */
        if ((e = cudaDeviceSynchronize()) != cudaSuccess) return cu_fail("cudaDeviceSynchronize", i, e);
    }
    if ((e = cudaSetDevice(0)) != cudaSuccess) return cu_fail("cudaSetDevice", 0, e);
    if ((e = cudaEventCreate(&c->e0)) != cudaSuccess || (e = cudaEventCreate(&c->e1)) != cudaSuccess)
        return cu_fail("cudaEventCreate", 0, e);

    /* first calls set up NCCL's connections and kernels: run the smallest and the largest message,
     * then check that the sum arrived */
    for (int w = 0; w < 3; w++) {
        LF_TRY(ar_once(c, (size_t)sizes[0] / 2));
        LF_TRY(ar_once(c, cap / 2));
    }
    LF_TRY(wait_all(c));
    LF_TRY(check_result(c));

    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_status s = LINFER_OK;
    out->n_sizes = 0;
    for (int k = 0; k < ns && !s; k++) {
        size_t count = (size_t)sizes[k] / 2;
        int inner = inner_ops(sizes[k]);
        for (int w = 0; w < warmup * inner && !s; w++) s = ar_once(c, count);
        if (!s) s = wait_all(c);
        for (int r = 0; r < reps && !s; r++) {
            if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaEventRecord(c->e0, c->st[0])) != cudaSuccess) {
                s = cu_fail("cudaEventRecord", 0, e);
                break;
            }
            for (int i = 0; i < inner && !s; i++) s = ar_once(c, count);
            if (s) break;
            if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaEventRecord(c->e1, c->st[0])) != cudaSuccess) {
                s = cu_fail("cudaEventRecord", 0, e);
                break;
            }
            if ((s = wait_event(c, c->e1)) || (s = wait_all(c))) break;
            float ms = 0;
            if ((e = cudaEventElapsedTime(&ms, c->e0, c->e1)) != cudaSuccess) { s = cu_fail("cudaEventElapsedTime", 0, e); break; }
            t[r] = ms * 1e-3 / inner;
        }
        if (s) break;
        double med = lf_stat_median(t, reps);
        if (!(med > 0)) { s = lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce calibration: a measured time is not positive"); break; }
        out->bytes[out->n_sizes] = sizes[k];
        out->time_s[out->n_sizes] = med;
        out->n_sizes++;
    }
    free(t);
    return s;
}

lf_status lf_calibrate_allreduce(int n_gpus, const lf_calib_opts *in, lf_allreduce_calib *out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_calibrate_allreduce: out is NULL");
    memset(out, 0, sizeof *out);
    if (n_gpus < 2 || n_gpus > LF_HW_AR_MAX_GPUS)
        return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL all-reduce calibration: %d GPUs (2 to %d)", n_gpus, LF_HW_AR_MAX_GPUS);
    lf_calib_opts o;
    if (in) o = *in;
    else lf_calib_default_opts(&o);
    int reps = o.reps > 0 ? o.reps : 15, warmup = o.warmup >= 0 ? o.warmup : 3;
    if (o.quick) {
        if (reps > 5) reps = 5;
        if (warmup > 1) warmup = 1;
    }
    if (warmup < 1) warmup = 1;   /* every size gets at least one untimed round */

    int present = 0;
    cudaError_t e = cudaGetDeviceCount(&present);
    if (e != cudaSuccess || present == 0) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce calibration: no CUDA GPU found%s%s", e != cudaSuccess ? ": " : "",
                       e != cudaSuccess ? cudaGetErrorString(e) : "");
    }
    if (n_gpus > present)
        return lf_fail(LINFER_ERR_DEVICE, "NCCL all-reduce calibration over %d GPUs: this machine has %d", n_gpus, present);

    /* NVLink multicast (NVLS) off unless the caller chose otherwise; set before NCCL is loaded and
     * reads its environment */
    setenv("NCCL_NVLS_ENABLE", "0", 0);
    ar_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n_gpus;
    LF_TRY(lf_nccl_open(0, &c.nc));
    out->nccl_version = lf_nccl_version(c.nc);
    snprintf(out->nccl_lib, sizeof out->nccl_lib, "%s", lf_nccl_lib_path(c.nc));
    out->n_gpus = n_gpus;

    int dev[LF_HW_AR_MAX_GPUS];
    for (int i = 0; i < n_gpus; i++) dev[i] = i;
    lf_status s = LINFER_OK;
    ncclResult_t r = c.nc->CommInitAll(c.comm, n_gpus, dev);
    if (r != ncclSuccess) s = nc_fail(&c, "ncclCommInitAll", r);
    else c.have_comms = 1;
    if (!s) s = measure(&c, &o, warmup, reps, out);
    ctx_free(&c);
    lf_nccl_close(c.nc);
    if (s) {
        int v = out->nccl_version;
        char lib[256];
        snprintf(lib, sizeof lib, "%s", out->nccl_lib);
        memset(out, 0, sizeof *out);
        out->nccl_version = v;
        snprintf(out->nccl_lib, sizeof out->nccl_lib, "%s", lib);
        return s;
    }
    lf_allreduce_derive(out);
    /* the engine's one-shot kernel over the same GPUs (peer memory; a failure leaves it unmeasured) */
    int os_counts[LF_HW_OS_SIZES];
    for (int k = 0; k < LF_HW_OS_SIZES; k++) os_counts[k] = (int)(lf_hw_os_bytes[k] / 4);
    if (n_gpus <= LF_ONESHOT_MAX_TP && lf_cuda_calib_oneshot(n_gpus, os_counts, LF_HW_OS_SIZES, 50, warmup, reps > 64 ? 64 : reps, out->os_time_s) != LINFER_OK) {
        memset(out->os_time_s, 0, sizeof out->os_time_s);
        fprintf(stderr, "linfer: one-shot all-reduce over %d GPUs not measured: %s\n", n_gpus, linfer_last_error());
        lf_clear_error();
    }
    return LINFER_OK;
}
#endif
