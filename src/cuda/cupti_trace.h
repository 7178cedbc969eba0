/* cupti_trace.h — exact GPU start/end times of every kernel, memcpy and memset this process
 * launches, from CUPTI activity records (also for kernels replayed inside CUDA graphs), for
 * `linfer profile` on the CUDA backend.
 *
 * CUPTI is loaded with dlopen at run time (libcupti.so.13 / .12 / libcupti.so, from the loader
 * path, $CUDA_HOME and /usr/local/cuda; $LF_CUPTI_LIB names another file), so linfer runs, and
 * profiles with host timers instead, where CUPTI is absent. CUPTI is process-wide: one trace at a
 * time (lf_cupti_start while one is active fails).
 *
 * Attribution: code that launches work for an op category wraps the launches in
 * lf_cupti_tag_push(tag) / lf_cupti_tag_pop(); the API records of those launches carry the tag
 * (CUPTI external correlation ids), and so do the kernels they launched (eager launches only: a
 * kernel replayed from a CUDA graph carries the graph launch's correlation, and its category is
 * found by its position in the graph; see src/cuda/backend.cu).
 *
 *   lf_cupti_start();  ... launches (tagged) ...; cudaStreamSynchronize;
 *   lf_cupti_take(&items, &n);   // every record completed since the last take, sorted by start
 *   lf_cupti_stop();
 */
#ifndef LF_CUDA_CUPTI_TRACE_H
#define LF_CUDA_CUPTI_TRACE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#include "core/error.h"

typedef enum { LF_TRACE_KERNEL = 0, LF_TRACE_MEMCPY = 1, LF_TRACE_MEMSET = 2 } lf_trace_kind;

typedef struct {
    lf_trace_kind kind;
    uint64_t start_ns, end_ns;  /* GPU timestamps (CUPTI clock, ns) */
    uint32_t correlation;       /* CUPTI correlation id of the launching API call (graph launch for graph nodes) */
    uint32_t graph_id;          /* 0: not launched from a CUDA graph */
    int tag;                    /* the tag pushed around the launching call (eager only), -1 if none */
    const char *name;           /* kernel name (mangled; owned by CUPTI, valid for the process) or "memcpy"/"memset" */
} lf_trace_item;

/* Load CUPTI and enable kernel, memcpy, memset, runtime/driver API and external-correlation
 * records. Call before the CUDA graphs to be traced are instantiated. LINFER_ERR_UNSUPPORTED when
 * CUPTI cannot be loaded (the message says from where it was tried). */
lf_status lf_cupti_start(void);
int lf_cupti_active(void);
/* Tag subsequent CUDA API calls of the calling thread (tag >= 0) until the matching pop. */
void lf_cupti_tag_push(int tag);
void lf_cupti_tag_pop(void);
/* Flush CUPTI's buffers and move every record completed so far into *items (malloc'd, sorted by
 * start time; the caller frees), with tags resolved. *dropped: records CUPTI lost since start. */
lf_status lf_cupti_take(lf_trace_item **items, size_t *n, uint64_t *dropped);
/* Disable the records and drop what is pending. */
void lf_cupti_stop(void);
/* What the CUDA backend's profiler saw in its last forward (for tests and `profile` diagnostics). */
typedef struct {
    int traced;          /* 1: the last forward was traced by CUPTI */
    int from_graph;      /* replayed from a CUDA graph */
    int learned;         /* an eager step whose kernel sequence was stored for a later graph of its key */
    int n_items;         /* records of the step: kernels, memcpy, memset */
    int n_kernels;       /* kernel records */
    int n_expected;      /* graph: its kernel nodes; eager: -1 */
    int n_name_mismatch; /* graph: kernels whose name differs from the learned sequence at their position */
    int n_untagged;      /* kernels left without an op category */
    double event_ms;     /* CUDA events recorded around the step on its stream (traced, or step events on) */
    double span_ms;      /* first record's start to the last record's end */
    double busy_ms;      /* records' exclusive time (overlaps, e.g. from programmatic launch, counted once) */
    double tagged_ms;    /* the part of busy_ms given to an op category */
    double idle_ms;      /* gaps between records inside the span */
    uint64_t dropped;    /* records CUPTI dropped since the trace began */
} lf_cuda_trace_info;
struct lf_backend;
/* LINFER_ERR_INVALID_ARG if b is not a CUDA backend. */
lf_status lf_cuda_last_trace(const struct lf_backend *b, lf_cuda_trace_info *out);
/* Also without the profiler: CUDA events around every forward, its GPU time in event_ms and
 * from_graph set (traced 0), to compare a traced step with an untraced one. */
lf_status lf_cuda_set_step_events(struct lf_backend *b, int on);

#ifdef __cplusplus
}
#endif
#endif
