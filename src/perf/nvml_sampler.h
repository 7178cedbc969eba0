/* nvml_sampler.h — GPU utilisation, memory in use, power and SM clock read through NVML on a
 * background thread while a benchmark point runs (`linfer bench`, docs/bench.md "GPU sampling"),
 * and the NVML driver version string.
 *
 * NVML is loaded at run time, never linked: dlopen($LINFER_NVML_LIB when set and non-empty, else
 * "libnvidia-ml.so.1"). A machine without NVML (CI, the CPU backend, a container without the
 * driver's user-space libraries) gets LINFER_ERR_UNSUPPORTED with a message saying why, and the
 * callers record "not available"; nothing here exits or crashes the process.
 * LINFER_NVML_LIB=/nonexistent forces that case (the tests use it).
 *
 *   int gpus[] = {0, 1};                               (CUDA ordinals of this process)
 *   lf_nvml_opts o = {gpus, 2, 0, NULL};               (period 0: LF_NVML_DEFAULT_PERIOD_MS)
 *   lf_nvml_sampler *s;
 *   if (lf_nvml_sampler_open(&o, &s) != LINFER_OK) ... linfer_last_error() says why; s == NULL
 *   lf_nvml_sampler_start(s);   ... the work ...   lf_nvml_sampler_stop(s, &sum);   (per point)
 *   lf_nvml_sampler_close(s);
 *
 * open() loads and initialises NVML once (nvmlInit_v2 can take a noticeable time) and maps each
 * CUDA ordinal to its NVML device; start() resets the figures and starts one thread that reads
 * every GPU at once, then every period; stop() wakes it, lets it take one last reading, joins it and
 * summarises. start/stop/describe accept s == NULL ("not available": stop fills NAN / 0).
 *
 * CUDA ordinal -> NVML device, first that works:
 *   1. the PCI bus id of the CUDA device (cudaDeviceGetPCIBusId, CUDA builds) looked up with
 *      nvmlDeviceGetHandleByPciBusId_v2: exact whatever CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER say;
 *   2. CUDA_VISIBLE_DEVICES: entry k of the list for ordinal k; a plain integer is an NVML index,
 *      "GPU-<uuid>" goes through nvmlDeviceGetHandleByUUID (the full UUID: a prefix, which CUDA
 *      accepts, is refused here), "MIG-..." and anything else is refused with a message;
 *   3. CUDA_VISIBLE_DEVICES unset: NVML index = CUDA ordinal. Caveat: CUDA orders devices fastest
 *      first by default and NVML by PCI bus id, so on a machine with different GPU models this can
 *      name another GPU (set CUDA_DEVICE_ORDER=PCI_BUS_ID); step 1 avoids it whenever it runs. */
#ifndef LF_PERF_NVML_SAMPLER_H
#define LF_PERF_NVML_SAMPLER_H
#include <stddef.h>
#include "../core/error.h"

#define LF_NVML_MAX_GPUS 64
#define LF_NVML_DEFAULT_PERIOD_MS 20.0

/* ---- the NVML types used ------------------------------------------------------------------------
 * Declared here so that nothing needs nvml.h to build (the CUDA toolkit here ships none); copied
 * from nvml.h, whose ABI NVIDIA keeps stable for these: nvmlReturn_t is an int-sized enum with
 * NVML_SUCCESS = 0, nvmlDevice_t an opaque pointer, nvmlUtilization_t {unsigned gpu, memory} (percent
 * over the driver's last sample period), nvmlMemory_t {unsigned long long total, free, used} (bytes),
 * nvmlClockType_t with NVML_CLOCK_SM = 1. Prefixed lf_ so that they never clash with the real header. */
typedef int lf_nvmlReturn_t;
typedef struct lf_nvmlDevice_st *lf_nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } lf_nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } lf_nvmlMemory_t;
enum { LF_NVML_SUCCESS = 0, LF_NVML_ERROR_NOT_SUPPORTED = 3, LF_NVML_CLOCK_SM = 1 };

/* The NVML entry points used (symbol names in the comments). The loader fills it from the library;
 * tests may pass their own (lf_nvml_opts.api) to drive the sampler without a GPU. Entries marked
 * optional may be NULL. */
typedef struct {
    lf_nvmlReturn_t (*Init)(void);                                           /* nvmlInit_v2 */
    lf_nvmlReturn_t (*Shutdown)(void);                                       /* nvmlShutdown */
    const char *(*ErrorString)(lf_nvmlReturn_t r);                           /* nvmlErrorString, optional */
    lf_nvmlReturn_t (*DeviceGetCount)(unsigned int *n);                      /* nvmlDeviceGetCount_v2, optional */
    lf_nvmlReturn_t (*DeviceGetHandleByIndex)(unsigned int i, lf_nvmlDevice_t *d);      /* nvmlDeviceGetHandleByIndex_v2 */
    lf_nvmlReturn_t (*DeviceGetHandleByPciBusId)(const char *bus, lf_nvmlDevice_t *d);  /* ..._v2, optional */
    lf_nvmlReturn_t (*DeviceGetHandleByUUID)(const char *uuid, lf_nvmlDevice_t *d);     /* optional */
    lf_nvmlReturn_t (*DeviceGetIndex)(lf_nvmlDevice_t d, unsigned int *i);              /* optional */
    lf_nvmlReturn_t (*DeviceGetUtilizationRates)(lf_nvmlDevice_t d, lf_nvmlUtilization_t *u);
    lf_nvmlReturn_t (*DeviceGetMemoryInfo)(lf_nvmlDevice_t d, lf_nvmlMemory_t *m);
    lf_nvmlReturn_t (*DeviceGetPowerUsage)(lf_nvmlDevice_t d, unsigned int *mw);        /* optional */
    lf_nvmlReturn_t (*DeviceGetClockInfo)(lf_nvmlDevice_t d, int type, unsigned int *mhz);  /* optional */
    lf_nvmlReturn_t (*SystemGetDriverVersion)(char *buf, unsigned int len);             /* optional */
} lf_nvml_api;

/* ---- figures ------------------------------------------------------------------------------------- */
/* One reading of one GPU; NAN where the call failed or is not supported. */
typedef struct {
    double gpu_util_pct;     /* nvmlUtilization_t.gpu: % of the last sample period a kernel was running */
    double mem_util_pct;     /* nvmlUtilization_t.memory: % of it device memory was being read or written */
    double mem_used_bytes;   /* nvmlMemory_t.used (device-wide: every process, and the driver's reservation) */
    double power_w;          /* nvmlDeviceGetPowerUsage / 1000 */
    double sm_clock_mhz;     /* nvmlDeviceGetClockInfo(NVML_CLOCK_SM) */
} lf_nvml_sample;

/* Running sums of readings (bounded memory however long a point runs). */
typedef struct {
    int n;                                   /* readings with at least one finite field */
    int n_util, n_mem_util, n_power, n_clock;
    double sum_util, max_util, sum_mem_util, peak_mem, sum_power, sum_clock;
} lf_nvml_acc;

/* Summary of readings; NAN where no reading had the field, samples = 0 when none had any. */
typedef struct {
    int samples;
    double gpu_util_mean_pct, gpu_util_max_pct;
    double mem_util_mean_pct;
    double peak_mem_used_bytes;              /* the largest mem_used_bytes seen */
    double power_mean_w, sm_clock_mean_mhz;
} lf_nvml_stats;

/* The pure arithmetic (what the sampler uses; tests feed it synthetic readings). Means are over the
 * readings that have the field; max and peak over the same; NAN fields are skipped. */
void lf_nvml_acc_reset(lf_nvml_acc *a);
void lf_nvml_acc_add(lf_nvml_acc *a, const lf_nvml_sample *s);
void lf_nvml_acc_stats(const lf_nvml_acc *a, lf_nvml_stats *out);
void lf_nvml_summarise(const lf_nvml_sample *s, int n, lf_nvml_stats *out);
/* every field NAN, samples 0 */
void lf_nvml_stats_unavailable(lf_nvml_stats *out);

typedef struct {
    int n_gpus;                              /* 0: not sampled */
    int cuda_gpu[LF_NVML_MAX_GPUS];          /* CUDA ordinal of gpu[i] */
    int nvml_index[LF_NVML_MAX_GPUS];        /* its NVML index (-1 when NVML could not say) */
    lf_nvml_stats gpu[LF_NVML_MAX_GPUS];     /* per GPU */
    /* all GPUs pooled: means over every reading of every GPU, max / peak over all of them (so the
     * peak is the fullest single GPU, not a sum), samples = readings summed over the GPUs */
    lf_nvml_stats all;
    int ticks;                               /* times the thread read the GPUs */
    double duration_s;                       /* start to stop */
} lf_nvml_summary;

/* ---- the sampler ---------------------------------------------------------------------------------- */
typedef struct lf_nvml_sampler lf_nvml_sampler;

typedef struct {
    const int *cuda_gpus;                    /* CUDA ordinals of this process to sample */
    int n_gpus;                              /* 1 .. LF_NVML_MAX_GPUS */
    double period_ms;                        /* <= 0: LF_NVML_DEFAULT_PERIOD_MS; at least 1 */
    const lf_nvml_api *api;                  /* NULL: load NVML (the normal case); else used as is, not owned */
} lf_nvml_opts;

/* Load NVML (unless o->api), nvmlInit_v2, map every CUDA ordinal to its NVML device (see the top).
 * Errors (*out = NULL): LINFER_ERR_UNSUPPORTED when NVML cannot be loaded or initialised ("NVML not
 * available: libnvidia-ml.so.1: cannot open shared object file ..."), LINFER_ERR_DEVICE when a
 * GPU cannot be mapped (the message names the ordinal and the way tried), LINFER_ERR_INVALID_ARG
 * for bad options. */
lf_status lf_nvml_sampler_open(const lf_nvml_opts *o, lf_nvml_sampler **out);
/* Reset the figures and start the sampling thread (its first reading is taken at once). Starting a
 * sampler already started fails (LINFER_ERR_INVALID_ARG); s == NULL: nothing, LINFER_OK. */
lf_status lf_nvml_sampler_start(lf_nvml_sampler *s);
/* Stop the thread (it takes one last reading), join it and fill *out. s == NULL or not started:
 * *out says "not sampled" (n_gpus 0, NAN fields, samples 0), LINFER_OK. */
lf_status lf_nvml_sampler_stop(lf_nvml_sampler *s, lf_nvml_summary *out);
/* Stop a running thread, nvmlShutdown, dlclose, free. NULL: nothing. */
void lf_nvml_sampler_close(lf_nvml_sampler *s);
/* One line for reports: "NVML 580.159.04, every 20 ms, CUDA GPU 0 = NVML 0 (PCI bus id 0000:19:00.0)".
 * s == NULL: "not available". */
const char *lf_nvml_sampler_describe(const lf_nvml_sampler *s, char *buf, size_t cap);
/* The sampling period in use, ms (NAN for NULL). */
double lf_nvml_sampler_period_ms(const lf_nvml_sampler *s);

/* ---- helpers -------------------------------------------------------------------------------------- */
/* The NVML driver version ("580.159.04"): loads NVML, nvmlInit_v2, nvmlSystemGetDriverVersion,
 * nvmlShutdown, dlclose. LINFER_ERR_UNSUPPORTED with the reason when NVML is not available. */
lf_status lf_nvml_driver_version(char *buf, size_t cap);

/* Entry cuda_ordinal of a CUDA_VISIBLE_DEVICES value (cvd; NULL = unset) as an NVML device key:
 * returns 1 with *nvml_index set (a plain integer entry, or cvd unset: the ordinal itself), 2 with the
 * UUID copied into uuid ("GPU-..." entry), 0 with the reason in why (ordinal beyond the list, a MIG
 * or malformed entry). Follows CUDA's parsing: entries are comma-separated, surrounding spaces
 * ignored, and the list ends at the first entry that is not valid. */
int lf_nvml_map_visible(const char *cvd, int cuda_ordinal, int *nvml_index, char *uuid, size_t uuid_cap, char *why, size_t why_cap);
#endif
