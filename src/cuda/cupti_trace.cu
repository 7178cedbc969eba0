/* cupti_trace.cu — CUPTI activity tracing for `linfer profile` (see cupti_trace.h): loads CUPTI
 * with dlopen, collects kernel / memcpy / memset records and the external-correlation records
 * that carry the launch site's op tag, and hands them over sorted by GPU start time.
 * Host code only (no kernels); the record layouts come from the toolkit's cupti_activity.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cupti.h>
#include "cupti_trace.h"

#define TRACE_BUF_BYTES (8u << 20)
#define TRACE_TAG_KIND CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0

typedef struct { uint32_t corr; int tag; } corr_tag;

static struct {
    void *lib;
    CUptiResult (*enable)(CUpti_ActivityKind);
    CUptiResult (*disable)(CUpti_ActivityKind);
    CUptiResult (*register_cb)(CUpti_BuffersCallbackRequestFunc, CUpti_BuffersCallbackCompleteFunc);
    CUptiResult (*flush_all)(uint32_t);
    CUptiResult (*next_record)(uint8_t *, size_t, CUpti_Activity **);
    CUptiResult (*push)(CUpti_ExternalCorrelationKind, uint64_t);
    CUptiResult (*pop)(CUpti_ExternalCorrelationKind, uint64_t *);
    CUptiResult (*dropped)(CUcontext, uint32_t, size_t *);
    CUptiResult (*result_string)(CUptiResult, const char **);
    int active, registered;
    lf_trace_item *items; size_t n_items, cap_items;
    corr_tag *tags; size_t n_tags, cap_tags;
    uint64_t n_dropped;
    int oom;
} g = {0};
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *cupti_err(CUptiResult r) {
    const char *s = NULL;
    if (g.result_string && g.result_string(r, &s) == CUPTI_SUCCESS && s) return s;
    return "unknown CUPTI error";
}

static void CUPTIAPI buffer_requested(uint8_t **buf, size_t *size, size_t *max_records) {
    void *p = NULL;
    if (posix_memalign(&p, 8, TRACE_BUF_BYTES) != 0) p = NULL;
    *buf = (uint8_t *)p;
    *size = p ? TRACE_BUF_BYTES : 0;
    *max_records = 0;
}

static int push_item(lf_trace_kind kind, uint64_t start, uint64_t end, uint32_t corr, uint32_t graph_id, const char *name) {
    if (g.n_items == g.cap_items) {
        size_t cap = g.cap_items ? 2 * g.cap_items : 4096;
        lf_trace_item *p = (lf_trace_item *)realloc(g.items, cap * sizeof *p);
        if (!p) return 0;
        g.items = p; g.cap_items = cap;
    }
    lf_trace_item *it = &g.items[g.n_items++];
    it->kind = kind;
    it->start_ns = start;
    it->end_ns = end;
    it->correlation = corr;
    it->graph_id = graph_id;
    it->tag = -1;
    it->name = name;
    return 1;
}

static int push_tag(uint32_t corr, int tag) {
    if (g.n_tags == g.cap_tags) {
        size_t cap = g.cap_tags ? 2 * g.cap_tags : 4096;
        corr_tag *p = (corr_tag *)realloc(g.tags, cap * sizeof *p);
        if (!p) return 0;
        g.tags = p; g.cap_tags = cap;
    }
    g.tags[g.n_tags].corr = corr;
    g.tags[g.n_tags].tag = tag;
    g.n_tags++;
    return 1;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size, size_t valid) {
    (void)ctx; (void)stream; (void)size;
    CUpti_Activity *rec = NULL;
    pthread_mutex_lock(&g_mu);
    while (buf && g.next_record && g.next_record(buf, valid, &rec) == CUPTI_SUCCESS) {
        int ok = 1;
        switch (rec->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
            /* the fields read here lie in the prefix that every CUpti_ActivityKernelN shares */
            const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
            ok = push_item(LF_TRACE_KERNEL, k->start, k->end, k->correlationId, k->graphId, k->name ? k->name : "?");
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMCPY: {
            const CUpti_ActivityMemcpy6 *m = (const CUpti_ActivityMemcpy6 *)rec;
            ok = push_item(LF_TRACE_MEMCPY, m->start, m->end, m->correlationId, m->graphId, "memcpy");
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMSET: {
            const CUpti_ActivityMemset4 *m = (const CUpti_ActivityMemset4 *)rec;
            ok = push_item(LF_TRACE_MEMSET, m->start, m->end, m->correlationId, m->graphId, "memset");
            break;
        }
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
            const CUpti_ActivityExternalCorrelation *x = (const CUpti_ActivityExternalCorrelation *)rec;
            if (x->externalKind == TRACE_TAG_KIND) ok = push_tag(x->correlationId, (int)x->externalId);
            break;
        }
        default: break; /* runtime/driver API records: needed only to produce the correlations */
        }
        if (!ok) g.oom = 1;
    }
    pthread_mutex_unlock(&g_mu);
    free(buf);
}

static const CUpti_ActivityKind trace_kinds[] = {
    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET,
    CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION};
#define N_TRACE_KINDS (sizeof trace_kinds / sizeof trace_kinds[0])

static lf_status load_cupti(void) {
    if (g.lib) return LINFER_OK;
    char tried[1024] = "";
    size_t tl = 0;
    const char *env = getenv("LF_CUPTI_LIB");
    const char *cuda_home = getenv("CUDA_HOME");
    char p1[512] = "", p2[512] = "";
    if (cuda_home && *cuda_home) {
        snprintf(p1, sizeof p1, "%s/extras/CUPTI/lib64/libcupti.so", cuda_home);
        snprintf(p2, sizeof p2, "%s/lib64/libcupti.so", cuda_home);
    }
    const char *cands[] = {env && *env ? env : NULL, env && *env ? NULL : "libcupti.so.13", env && *env ? NULL : "libcupti.so.12",
                           env && *env ? NULL : "libcupti.so", env && *env ? NULL : (p1[0] ? p1 : NULL),
                           env && *env ? NULL : (p2[0] ? p2 : NULL),
                           env && *env ? NULL : "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so",
                           env && *env ? NULL : "/usr/local/cuda/lib64/libcupti.so"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !g.lib; i++) {
        if (!cands[i]) continue;
        g.lib = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL);
        if (!g.lib && tl < sizeof tried) tl += (size_t)snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", cands[i]);
    }
    if (!g.lib)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "CUPTI not found (tried %s; set LF_CUPTI_LIB to libcupti.so's path)", tried);
#define SYM(field, name)                                                                           \
    do {                                                                                           \
        *(void **)&g.field = dlsym(g.lib, name);                                                   \
        if (!g.field) {                                                                            \
            dlclose(g.lib); g.lib = NULL;                                                          \
            return lf_fail(LINFER_ERR_UNSUPPORTED, "CUPTI: symbol %s missing (too old a CUPTI?)", name); \
        }                                                                                          \
    } while (0)
    SYM(enable, "cuptiActivityEnable");
    SYM(disable, "cuptiActivityDisable");
    SYM(register_cb, "cuptiActivityRegisterCallbacks");
    SYM(flush_all, "cuptiActivityFlushAll");
    SYM(next_record, "cuptiActivityGetNextRecord");
    SYM(push, "cuptiActivityPushExternalCorrelationId");
    SYM(pop, "cuptiActivityPopExternalCorrelationId");
    SYM(dropped, "cuptiActivityGetNumDroppedRecords");
    SYM(result_string, "cuptiGetResultString");
#undef SYM
    return LINFER_OK;
}

extern "C" lf_status lf_cupti_start(void) {
    if (g.active) return lf_fail(LINFER_ERR_INVALID_ARG, "CUPTI trace: already active in this process");
    LF_TRY(load_cupti());
    CUptiResult r;
    if (!g.registered) {
        if ((r = g.register_cb(buffer_requested, buffer_completed)) != CUPTI_SUCCESS)
            return lf_fail(LINFER_ERR_DEVICE, "CUPTI: cuptiActivityRegisterCallbacks: %s", cupti_err(r));
        g.registered = 1;
    }
    for (size_t i = 0; i < N_TRACE_KINDS; i++) {
        if ((r = g.enable(trace_kinds[i])) != CUPTI_SUCCESS) {
            for (size_t j = 0; j < i; j++) g.disable(trace_kinds[j]);
            return lf_fail(LINFER_ERR_DEVICE, "CUPTI: cuptiActivityEnable(kind %d): %s", (int)trace_kinds[i], cupti_err(r));
        }
    }
    pthread_mutex_lock(&g_mu);
    g.n_items = g.n_tags = 0;
    g.n_dropped = 0;
    g.oom = 0;
    pthread_mutex_unlock(&g_mu);
    g.active = 1;
    return LINFER_OK;
}

extern "C" int lf_cupti_active(void) { return g.active; }

extern "C" void lf_cupti_tag_push(int tag) {
    if (g.active) g.push(TRACE_TAG_KIND, (uint64_t)tag);
}

extern "C" void lf_cupti_tag_pop(void) {
    uint64_t last = 0;
    if (g.active) g.pop(TRACE_TAG_KIND, &last);
}

static int cmp_corr(const void *a, const void *b) {
    const corr_tag *x = (const corr_tag *)a, *y = (const corr_tag *)b;
    return x->corr < y->corr ? -1 : x->corr > y->corr;
}

static int cmp_start(const void *a, const void *b) {
    const lf_trace_item *x = (const lf_trace_item *)a, *y = (const lf_trace_item *)b;
    if (x->start_ns != y->start_ns) return x->start_ns < y->start_ns ? -1 : 1;
    if (x->end_ns != y->end_ns) return x->end_ns < y->end_ns ? -1 : 1;
    return 0;
}

extern "C" lf_status lf_cupti_take(lf_trace_item **items, size_t *n, uint64_t *dropped) {
    *items = NULL;
    *n = 0;
    if (dropped) *dropped = 0;
    if (!g.active) return lf_fail(LINFER_ERR_INVALID_ARG, "CUPTI trace: not started");
    CUptiResult r = g.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    if (r != CUPTI_SUCCESS) return lf_fail(LINFER_ERR_DEVICE, "CUPTI: cuptiActivityFlushAll: %s", cupti_err(r));
    size_t nd = 0;
    if (g.dropped(NULL, 0, &nd) == CUPTI_SUCCESS) g.n_dropped += nd;
    pthread_mutex_lock(&g_mu);
    if (g.oom) {
        g.n_items = g.n_tags = 0;
        g.oom = 0;
        pthread_mutex_unlock(&g_mu);
        return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CUPTI trace: out of host memory for the activity records");
    }
    lf_trace_item *out = NULL;
    if (g.n_items) {
        out = (lf_trace_item *)malloc(g.n_items * sizeof *out);
        if (!out) { pthread_mutex_unlock(&g_mu); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CUPTI trace: out of host memory"); }
        memcpy(out, g.items, g.n_items * sizeof *out);
    }
    size_t cnt = g.n_items;
    /* tags: correlation id -> tag (the innermost push wins; pushes are not nested in linfer) */
    qsort(g.tags, g.n_tags, sizeof *g.tags, cmp_corr);
    for (size_t i = 0; i < cnt; i++) {
        if (out[i].graph_id) continue;
        corr_tag key = {out[i].correlation, 0};
        const corr_tag *f = (const corr_tag *)bsearch(&key, g.tags, g.n_tags, sizeof *g.tags, cmp_corr);
        if (f) out[i].tag = f->tag;
    }
    /* correlations whose records have not all arrived yet would lose their tags: keep none
     * across takes (the caller synchronises before taking, so all of a step is here) */
    g.n_items = g.n_tags = 0;
    if (dropped) *dropped = g.n_dropped;
    pthread_mutex_unlock(&g_mu);
    if (cnt) qsort(out, cnt, sizeof *out, cmp_start);
    *items = out;
    *n = cnt;
    return LINFER_OK;
}

extern "C" void lf_cupti_stop(void) {
    if (!g.active) return;
    for (size_t i = 0; i < N_TRACE_KINDS; i++) g.disable(trace_kinds[i]);
    g.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    pthread_mutex_lock(&g_mu);
    free(g.items); g.items = NULL; g.n_items = g.cap_items = 0;
    free(g.tags); g.tags = NULL; g.n_tags = g.cap_tags = 0;
    pthread_mutex_unlock(&g_mu);
    g.active = 0;
}
