/* nvml_sampler.c — NVML loaded with dlopen, CUDA ordinal -> NVML device mapping, the summary
 * arithmetic, and the sampling thread behind `linfer bench`'s per-point GPU utilisation, NVML
 * peak memory, power and SM clock (see nvml_sampler.h and docs/bench.md "GPU sampling"). */
#include "nvml_sampler.h"
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../core/clock.h"
#ifdef LINFER_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

/* ---- arithmetic ------------------------------------------------------------------------------------ */
void lf_nvml_acc_reset(lf_nvml_acc *a) {
    memset(a, 0, sizeof *a);
    a->max_util = NAN;
    a->peak_mem = NAN;
}

void lf_nvml_acc_add(lf_nvml_acc *a, const lf_nvml_sample *s) {
    int any = 0;
    if (isfinite(s->gpu_util_pct)) {
        a->sum_util += s->gpu_util_pct;
        if (!(s->gpu_util_pct <= a->max_util)) a->max_util = s->gpu_util_pct;   /* NAN max: first reading */
        a->n_util++;
        any = 1;
    }
    if (isfinite(s->mem_util_pct)) { a->sum_mem_util += s->mem_util_pct; a->n_mem_util++; any = 1; }
    if (isfinite(s->mem_used_bytes)) {
        if (!(s->mem_used_bytes <= a->peak_mem)) a->peak_mem = s->mem_used_bytes;
        any = 1;
    }
    if (isfinite(s->power_w)) { a->sum_power += s->power_w; a->n_power++; any = 1; }
    if (isfinite(s->sm_clock_mhz)) { a->sum_clock += s->sm_clock_mhz; a->n_clock++; any = 1; }
    a->n += any;
}

void lf_nvml_stats_unavailable(lf_nvml_stats *o) {
    o->samples = 0;
    o->gpu_util_mean_pct = o->gpu_util_max_pct = o->mem_util_mean_pct = NAN;
    o->peak_mem_used_bytes = o->power_mean_w = o->sm_clock_mean_mhz = NAN;
}

void lf_nvml_acc_stats(const lf_nvml_acc *a, lf_nvml_stats *o) {
    lf_nvml_stats_unavailable(o);
    o->samples = a->n;
    if (a->n_util > 0) {
        o->gpu_util_mean_pct = a->sum_util / a->n_util;
        o->gpu_util_max_pct = a->max_util;
    }
    if (a->n_mem_util > 0) o->mem_util_mean_pct = a->sum_mem_util / a->n_mem_util;
    o->peak_mem_used_bytes = a->peak_mem;   /* NAN when never read */
    if (a->n_power > 0) o->power_mean_w = a->sum_power / a->n_power;
    if (a->n_clock > 0) o->sm_clock_mean_mhz = a->sum_clock / a->n_clock;
}

void lf_nvml_summarise(const lf_nvml_sample *s, int n, lf_nvml_stats *out) {
    lf_nvml_acc a;
    lf_nvml_acc_reset(&a);
    for (int i = 0; i < n && s; i++) lf_nvml_acc_add(&a, &s[i]);
    lf_nvml_acc_stats(&a, out);
}

/* ---- CUDA_VISIBLE_DEVICES ----------------------------------------------------------------------------- */
int lf_nvml_map_visible(const char *cvd, int ord, int *nvml_index, char *uuid, size_t ucap, char *why, size_t wcap) {
    if (why && wcap) why[0] = 0;
    if (uuid && ucap) uuid[0] = 0;
    if (ord < 0) { snprintf(why, wcap, "CUDA ordinal %d is negative", ord); return 0; }
    if (!cvd) { *nvml_index = ord; return 1; }
    const char *p = cvd;
    for (int k = 0;; k++) {
        size_t l = strcspn(p, ",");
        const char *b = p, *e = p + l;
        while (b < e && isspace((unsigned char)*b)) b++;
        while (e > b && isspace((unsigned char)e[-1])) e--;
        size_t n = (size_t)(e - b);
        int kind = 0;   /* 1 integer, 2 GPU uuid, 3 MIG, 0 ends the list */
        long v = -1;
        if (n > 0 && isdigit((unsigned char)b[0])) {
            char tmp[32];
            if (n < sizeof tmp) {
                memcpy(tmp, b, n);
                tmp[n] = 0;
                char *end;
                errno = 0;
                v = strtol(tmp, &end, 10);
                if (!*end && !errno && v >= 0 && v < 1 << 20) kind = 1;
            }
        } else if (n > 4 && !strncmp(b, "GPU-", 4)) kind = 2;
        else if (n > 4 && !strncmp(b, "MIG-", 4)) kind = 3;
        if (!kind) {
            snprintf(why, wcap, "CUDA_VISIBLE_DEVICES='%s' makes %d GPU%s visible; CUDA ordinal %d is not one of them", cvd, k,
                     k == 1 ? "" : "s", ord);
            return 0;
        }
        if (k == ord) {
            if (kind == 1) { *nvml_index = (int)v; return 1; }
            if (kind == 2) {
                if (n + 1 > ucap) { snprintf(why, wcap, "CUDA_VISIBLE_DEVICES entry %d: UUID too long", k); return 0; }
                memcpy(uuid, b, n);
                uuid[n] = 0;
                return 2;
            }
            snprintf(why, wcap, "CUDA_VISIBLE_DEVICES entry %d ('%.*s') is a MIG instance: NVML has no utilisation per MIG instance", k,
                     (int)(n < 80 ? n : 80), b);
            return 0;
        }
        if (!p[l]) {
            snprintf(why, wcap, "CUDA_VISIBLE_DEVICES='%s' makes %d GPU%s visible; CUDA ordinal %d is not one of them", cvd, k + 1,
                     k == 0 ? "" : "s", ord);
            return 0;
        }
        p += l + 1;
    }
}

/* ---- loading ------------------------------------------------------------------------------------------ */
typedef struct {
    void *dl;
    lf_nvml_api api;
    char path[512];
} nvml_lib;

/* dlopen + dlsym; LINFER_ERR_UNSUPPORTED with the reason. Does not call nvmlInit_v2. */
static lf_status lib_load(nvml_lib *L) {
    memset(L, 0, sizeof *L);
    const char *env = getenv("LINFER_NVML_LIB");
    const char *file = env && *env ? env : "libnvidia-ml.so.1";
    dlerror();
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return lf_fail(LINFER_ERR_UNSUPPORTED, "NVML not available: %s%s", e ? e : file,
                       env && *env ? " (from $LINFER_NVML_LIB)" : "");
    }
#define NSYM(field, name, required)                                                               \
    do {                                                                                          \
        void *p_ = dlsym(h, name);                                                                \
        if (!p_ && (required)) {                                                                  \
            dlclose(h);                                                                           \
            return lf_fail(LINFER_ERR_UNSUPPORTED, "NVML not available: %s has no symbol %s", file, name); \
        }                                                                                         \
        memcpy(&L->api.field, &p_, sizeof p_); /* object pointer -> function pointer, POSIX-style */ \
    } while (0)
    NSYM(Init, "nvmlInit_v2", 1);
    NSYM(Shutdown, "nvmlShutdown", 1);
    NSYM(ErrorString, "nvmlErrorString", 0);
    NSYM(DeviceGetCount, "nvmlDeviceGetCount_v2", 0);
    NSYM(DeviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2", 1);
    NSYM(DeviceGetHandleByPciBusId, "nvmlDeviceGetHandleByPciBusId_v2", 0);
    NSYM(DeviceGetHandleByUUID, "nvmlDeviceGetHandleByUUID", 0);
    NSYM(DeviceGetIndex, "nvmlDeviceGetIndex", 0);
    NSYM(DeviceGetUtilizationRates, "nvmlDeviceGetUtilizationRates", 1);
    NSYM(DeviceGetMemoryInfo, "nvmlDeviceGetMemoryInfo", 1);
    NSYM(DeviceGetPowerUsage, "nvmlDeviceGetPowerUsage", 0);
    NSYM(DeviceGetClockInfo, "nvmlDeviceGetClockInfo", 0);
    NSYM(SystemGetDriverVersion, "nvmlSystemGetDriverVersion", 0);
#undef NSYM
    L->dl = h;
    snprintf(L->path, sizeof L->path, "%s", file);
    return LINFER_OK;
}

static const char *nvml_err(const lf_nvml_api *a, lf_nvmlReturn_t r, char *buf, size_t cap) {
    const char *s = a->ErrorString ? a->ErrorString(r) : NULL;
    if (s && *s) snprintf(buf, cap, "%s (%d)", s, r);
    else snprintf(buf, cap, "NVML error %d", r);
    return buf;
}

lf_status lf_nvml_driver_version(char *buf, size_t cap) {
    if (cap) buf[0] = 0;
    nvml_lib L;
    LF_TRY(lib_load(&L));
    lf_status st = LINFER_OK;
    char e[96];
    lf_nvmlReturn_t r = L.api.Init();
    if (r != LF_NVML_SUCCESS) st = lf_fail(LINFER_ERR_UNSUPPORTED, "NVML not available: nvmlInit_v2: %s", nvml_err(&L.api, r, e, sizeof e));
    else {
        char v[96] = "";
        if (!L.api.SystemGetDriverVersion) st = lf_fail(LINFER_ERR_UNSUPPORTED, "NVML: %s has no nvmlSystemGetDriverVersion", L.path);
        else if ((r = L.api.SystemGetDriverVersion(v, sizeof v)) != LF_NVML_SUCCESS || !v[0])
            st = lf_fail(LINFER_ERR_UNSUPPORTED, "NVML: nvmlSystemGetDriverVersion: %s", nvml_err(&L.api, r, e, sizeof e));
        else snprintf(buf, cap, "%s", v);
        L.api.Shutdown();
    }
    dlclose(L.dl);
    return st;
}

/* ---- the sampler ---------------------------------------------------------------------------------------- */
struct lf_nvml_sampler {
    nvml_lib lib;                 /* dl NULL when the caller gave the API */
    lf_nvml_api api;
    int inited;                   /* nvmlInit_v2 succeeded: nvmlShutdown at close */
    int n;
    lf_nvmlDevice_t dev[LF_NVML_MAX_GPUS];
    int cuda[LF_NVML_MAX_GPUS], nvml_idx[LF_NVML_MAX_GPUS];
    char how[LF_NVML_MAX_GPUS][64];
    double period_s;
    char driver[96];

    pthread_t th;
    int running;                  /* a thread was started and not joined */
    pthread_mutex_t mu;           /* guards stop_flag; the figures belong to the thread until joined */
    pthread_cond_t cv;            /* CLOCK_MONOTONIC */
    int stop_flag;
    lf_nvml_acc acc[LF_NVML_MAX_GPUS], all;
    int ticks;
    double t_start, t_stop;
};

/* Read every GPU once. */
static void sample_all(lf_nvml_sampler *s) {
    for (int i = 0; i < s->n; i++) {
        lf_nvml_sample x = {NAN, NAN, NAN, NAN, NAN};
        lf_nvmlDevice_t d = s->dev[i];
        lf_nvmlUtilization_t u;
        lf_nvmlMemory_t m;
        unsigned int v;
        if (s->api.DeviceGetUtilizationRates && s->api.DeviceGetUtilizationRates(d, &u) == LF_NVML_SUCCESS) {
            x.gpu_util_pct = u.gpu;
            x.mem_util_pct = u.memory;
        }
        if (s->api.DeviceGetMemoryInfo && s->api.DeviceGetMemoryInfo(d, &m) == LF_NVML_SUCCESS) x.mem_used_bytes = (double)m.used;
        if (s->api.DeviceGetPowerUsage && s->api.DeviceGetPowerUsage(d, &v) == LF_NVML_SUCCESS) x.power_w = v / 1000.0;
        if (s->api.DeviceGetClockInfo && s->api.DeviceGetClockInfo(d, LF_NVML_CLOCK_SM, &v) == LF_NVML_SUCCESS) x.sm_clock_mhz = v;
        lf_nvml_acc_add(&s->acc[i], &x);
        lf_nvml_acc_add(&s->all, &x);
    }
    s->ticks++;
}

static void *sampler_main(void *arg) {
    lf_nvml_sampler *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long long step_ns = (long long)(s->period_s * 1e9);
    pthread_mutex_lock(&s->mu);
    while (!s->stop_flag) {
        pthread_mutex_unlock(&s->mu);
        sample_all(s);
        pthread_mutex_lock(&s->mu);
        /* the next reading on a fixed grid; when a reading ran late, one period from now */
        long long t = (long long)next.tv_sec * 1000000000LL + next.tv_nsec + step_ns;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long tn = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
        if (t <= tn) t = tn + step_ns;
        next.tv_sec = (time_t)(t / 1000000000LL);
        next.tv_nsec = (long)(t % 1000000000LL);
        while (!s->stop_flag) {
            int rc = pthread_cond_timedwait(&s->cv, &s->mu, &next);
            if (rc == ETIMEDOUT) break;
            if (rc != 0 && rc != EINTR) break;   /* cannot wait: take the next reading now */
        }
    }
    pthread_mutex_unlock(&s->mu);
    sample_all(s);   /* the last reading, at stop */
    return NULL;
}

#ifdef LINFER_HAVE_CUDA
static int cuda_pci_bus_id(int ord, char *buf, int cap) {
    if (cudaDeviceGetPCIBusId(buf, cap, ord) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return buf[0] != 0;
}
#else
static int cuda_pci_bus_id(int ord, char *buf, int cap) {
    (void)ord;
    (void)buf;
    (void)cap;
    return 0;
}
#endif

/* CUDA ordinal -> NVML handle (see the header for the order). */
static lf_status map_gpu(lf_nvml_sampler *s, int k, int ord) {
    char e[96], why[320] = "", bus[64];
    lf_nvmlReturn_t r;
    lf_nvmlDevice_t d = NULL;
    int idx = -1, found = 0;
    if (s->api.DeviceGetHandleByPciBusId && cuda_pci_bus_id(ord, bus, (int)sizeof bus)) {
        if ((r = s->api.DeviceGetHandleByPciBusId(bus, &d)) == LF_NVML_SUCCESS) {
            snprintf(s->how[k], sizeof s->how[k], "PCI bus id %s", bus);
            found = 1;
        } else snprintf(why, sizeof why, "nvmlDeviceGetHandleByPciBusId_v2(%s): %s; ", bus, nvml_err(&s->api, r, e, sizeof e));
    }
    if (!found) {
        const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
        char uuid[128], w2[256];
        int kind = lf_nvml_map_visible(cvd, ord, &idx, uuid, sizeof uuid, w2, sizeof w2);
        if (kind == 0) return lf_fail(LINFER_ERR_DEVICE, "NVML: CUDA GPU %d: %s%s", ord, why, w2);
        if (kind == 2) {
            if (!s->api.DeviceGetHandleByUUID)
                return lf_fail(LINFER_ERR_DEVICE, "NVML: CUDA GPU %d: %sCUDA_VISIBLE_DEVICES names it by UUID (%s) and this NVML has no "
                               "nvmlDeviceGetHandleByUUID", ord, why, uuid);
            if ((r = s->api.DeviceGetHandleByUUID(uuid, &d)) != LF_NVML_SUCCESS)
                return lf_fail(LINFER_ERR_DEVICE, "NVML: CUDA GPU %d: %snvmlDeviceGetHandleByUUID(%s) from CUDA_VISIBLE_DEVICES: %s "
                               "(NVML needs the full UUID)", ord, why, uuid, nvml_err(&s->api, r, e, sizeof e));
            snprintf(s->how[k], sizeof s->how[k], "UUID in CUDA_VISIBLE_DEVICES");
        } else {
            if ((r = s->api.DeviceGetHandleByIndex((unsigned)idx, &d)) != LF_NVML_SUCCESS)
                return lf_fail(LINFER_ERR_DEVICE, "NVML: CUDA GPU %d: %snvmlDeviceGetHandleByIndex_v2(%d)%s: %s", ord, why, idx,
                               cvd ? " (entry of CUDA_VISIBLE_DEVICES)" : "", nvml_err(&s->api, r, e, sizeof e));
            snprintf(s->how[k], sizeof s->how[k], "%s", cvd ? "index from CUDA_VISIBLE_DEVICES" : "same index");
        }
    }
    s->dev[k] = d;
    s->cuda[k] = ord;
    unsigned ni = 0;
    if (s->api.DeviceGetIndex && s->api.DeviceGetIndex(d, &ni) == LF_NVML_SUCCESS) s->nvml_idx[k] = (int)ni;
    else s->nvml_idx[k] = idx;
    return LINFER_OK;
}

static void sampler_free(lf_nvml_sampler *s) {
    if (!s) return;
    if (s->inited && s->api.Shutdown) s->api.Shutdown();
    if (s->lib.dl) dlclose(s->lib.dl);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

lf_status lf_nvml_sampler_open(const lf_nvml_opts *o, lf_nvml_sampler **out) {
    if (out) *out = NULL;
    if (!o || !out || !o->cuda_gpus || o->n_gpus < 1 || o->n_gpus > LF_NVML_MAX_GPUS)
        return lf_fail(LINFER_ERR_INVALID_ARG, "NVML sampler: bad arguments (%d GPUs; 1 to %d)", o ? o->n_gpus : 0, LF_NVML_MAX_GPUS);
    double period = o->period_ms > 0 ? o->period_ms : LF_NVML_DEFAULT_PERIOD_MS;
    if (!(period >= 1 && period <= 60000)) return lf_fail(LINFER_ERR_INVALID_ARG, "NVML sampler: period %g ms: 1 to 60000", period);
    for (int i = 0; i < o->n_gpus; i++)
        if (o->cuda_gpus[i] < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "NVML sampler: CUDA GPU %d", o->cuda_gpus[i]);
    lf_nvml_sampler *s = calloc(1, sizeof *s);
    if (!s) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->period_s = period * 1e-3;
    if (o->api) {
        s->api = *o->api;
        if (!s->api.Init || !s->api.Shutdown || !s->api.DeviceGetHandleByIndex) {
            sampler_free(s);
            return lf_fail(LINFER_ERR_INVALID_ARG, "NVML sampler: the API table lacks Init, Shutdown or DeviceGetHandleByIndex");
        }
    } else {
        lf_status st = lib_load(&s->lib);
        if (st) { sampler_free(s); return st; }
        s->api = s->lib.api;
    }
    char e[96];
    lf_nvmlReturn_t r = s->api.Init();
    if (r != LF_NVML_SUCCESS) {
        lf_status st = lf_fail(LINFER_ERR_UNSUPPORTED, "NVML not available: nvmlInit_v2: %s", nvml_err(&s->api, r, e, sizeof e));
        sampler_free(s);
        return st;
    }
    s->inited = 1;
    if (s->api.SystemGetDriverVersion && s->api.SystemGetDriverVersion(s->driver, sizeof s->driver) != LF_NVML_SUCCESS) s->driver[0] = 0;
    s->n = o->n_gpus;
    for (int i = 0; i < s->n; i++) {
        lf_status st = map_gpu(s, i, o->cuda_gpus[i]);
        if (st) { sampler_free(s); return st; }
    }
    for (int i = 0; i < s->n; i++) lf_nvml_acc_reset(&s->acc[i]);
    lf_nvml_acc_reset(&s->all);
    *out = s;
    return LINFER_OK;
}

lf_status lf_nvml_sampler_start(lf_nvml_sampler *s) {
    if (!s) return LINFER_OK;
    if (s->running) return lf_fail(LINFER_ERR_INVALID_ARG, "NVML sampler: started twice (stop it first)");
    for (int i = 0; i < s->n; i++) lf_nvml_acc_reset(&s->acc[i]);
    lf_nvml_acc_reset(&s->all);
    s->ticks = 0;
    s->stop_flag = 0;
    s->t_start = lf_now_s();
    s->t_stop = s->t_start;
    /* every signal blocked in the thread, so that Ctrl-C and the like keep going to the threads
     * that handled them before (the mask is inherited from the creating thread) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->th, NULL, sampler_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return lf_fail(LINFER_ERR_INTERNAL, "NVML sampler: cannot start its thread: %s", strerror(rc));
    s->running = 1;
    return LINFER_OK;
}

static void not_sampled(lf_nvml_summary *o) {
    memset(o, 0, sizeof *o);
    lf_nvml_stats_unavailable(&o->all);
    o->duration_s = NAN;
}

static void join_thread(lf_nvml_sampler *s) {
    if (!s->running) return;
    pthread_mutex_lock(&s->mu);
    s->stop_flag = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    s->running = 0;
    s->t_stop = lf_now_s();
}

lf_status lf_nvml_sampler_stop(lf_nvml_sampler *s, lf_nvml_summary *out) {
    lf_nvml_summary tmp, *o = out ? out : &tmp;
    not_sampled(o);
    if (!s || !s->running) return LINFER_OK;
    join_thread(s);
    o->n_gpus = s->n;
    for (int i = 0; i < s->n; i++) {
        o->cuda_gpu[i] = s->cuda[i];
        o->nvml_index[i] = s->nvml_idx[i];
        lf_nvml_acc_stats(&s->acc[i], &o->gpu[i]);
    }
    lf_nvml_acc_stats(&s->all, &o->all);
    o->ticks = s->ticks;
    o->duration_s = s->t_stop - s->t_start;
    return LINFER_OK;
}

void lf_nvml_sampler_close(lf_nvml_sampler *s) {
    if (!s) return;
    join_thread(s);
    sampler_free(s);
}

double lf_nvml_sampler_period_ms(const lf_nvml_sampler *s) { return s ? s->period_s * 1e3 : NAN; }

const char *lf_nvml_sampler_describe(const lf_nvml_sampler *s, char *buf, size_t cap) {
    if (!cap) return buf;
    if (!s) { snprintf(buf, cap, "not available"); return buf; }
    size_t l = (size_t)snprintf(buf, cap, "NVML%s%s, every %g ms:", s->driver[0] ? " " : "", s->driver, s->period_s * 1e3);
    for (int i = 0; i < s->n && l < cap; i++) {
        char ni[16] = "?";
        if (s->nvml_idx[i] >= 0) snprintf(ni, sizeof ni, "%d", s->nvml_idx[i]);
        l += (size_t)snprintf(buf + l, cap - l, "%s CUDA GPU %d = NVML %s (%s)", i ? "," : "", s->cuda[i], ni, s->how[i]);
    }
    return buf;
}
