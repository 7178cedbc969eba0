/* calibrate.c — `linfer calibrate` measurements (host side), the per-device cache file, the CPU
 * roofline entry and the "ceiling, measured, datasheet, ratio" table. GPU kernels live in
 * src/cuda/calibrate.cu (CUDA builds only); see calibrate.h. */
#include "../core/clock.h"
#include "calibrate.h"
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include "bench.h"
#include "../dist/nccl_loader.h"
#include "../engine/gpu_query.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

void lf_calib_default_opts(lf_calib_opts *o) {
    memset(o, 0, sizeof *o);
    o->warmup = 3;
    o->reps = 15;
    o->launches = 2000;
}

static void eff_opts(const lf_calib_opts *in, lf_calib_opts *o) {
    if (in) *o = *in;
    else lf_calib_default_opts(o);
    if (o->quick) {
        if (o->reps <= 0 || o->reps > 5) o->reps = 5;
        if (o->warmup > 1) o->warmup = 1;
        if (o->launches <= 0 || o->launches > 500) o->launches = 500;
    }
    if (o->reps <= 0) o->reps = 15;
    if (o->warmup < 0) o->warmup = 0;
    if (o->launches <= 0) o->launches = 2000;
}

/* ---- host facts ------------------------------------------------------------------------------ */
static double meminfo_kb(const char *key) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') { v = strtod(line + kl + 1, NULL); break; }
    fclose(f);
    return v;
}

double lf_host_mem_total(void) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0) return (double)pages * (double)psz;
    return meminfo_kb("MemTotal") * 1024.0;
}

double lf_host_mem_available(void) {
    double kb = meminfo_kb("MemAvailable");
    if (kb > 0) return kb * 1024.0;
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
}

const char *lf_cpu_name(char *buf, size_t cap) {
    char model[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) != 0) continue;
            char *c = strchr(line, ':');
            if (!c) continue;
            c++;
            while (*c == ' ' || *c == '\t') c++;
            size_t l = strlen(c);
            while (l && (c[l - 1] == '\n' || c[l - 1] == ' ')) c[--l] = 0;
            snprintf(model, sizeof model, "%s", c);
            break;
        }
        fclose(f);
    }
    snprintf(buf, cap, "cpu: %s (%d threads)", model, omp_get_max_threads());
    return buf;
}

/* ---- CPU ---------------------------------------------------------------------------------------- */
static volatile float g_sink;

/* One pass over n floats (n a multiple of 32 per thread chunk), all threads, AVX2 adds. */
static double cpu_read_pass(const float *p, size_t n) {
    double t0 = lf_now_s();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t chunk = (n / (size_t)nt) & ~(size_t)31;
        size_t b = (size_t)id * chunk, e = id == nt - 1 ? n : b + chunk;
        size_t i = b;
#ifdef __AVX2__
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 32 <= e; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
            a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
        }
        float tmp[8];
        _mm256_storeu_ps(tmp, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        float s = tmp[0] + tmp[1] + tmp[2] + tmp[3] + tmp[4] + tmp[5] + tmp[6] + tmp[7];
#else
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= e; i += 4) { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; }
        float s = s0 + s1 + s2 + s3;
#endif
        for (; i < e; i++) s += p[i];
        total += s;
    }
    g_sink = total;
    return lf_now_s() - t0;
}

static lf_status cpu_read_bw(const lf_calib_opts *o, lf_calib_result *r) {
    double bytes = o->read_bytes > 0 ? o->read_bytes : (o->quick ? 256.0 * 1048576 : GIB);
    double avail = lf_host_mem_available();
    if (avail > 0 && bytes > avail / 4) bytes = avail / 4;
    size_t n = ((size_t)(bytes / 4) / 4096) * 4096;
    if (n < 4096) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CPU read calibration: only %.0f MiB available", avail / 1048576.0);
    float *p = aligned_alloc(64, n * sizeof(float));
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "CPU read calibration: cannot allocate %.0f MiB", n * 4.0 / 1048576.0);
    /* first touch by the thread that will read each part */
#pragma omp parallel
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t chunk = (n / (size_t)nt) & ~(size_t)31;
        size_t b = (size_t)id * chunk, e = id == nt - 1 ? n : b + chunk;
        for (size_t i = b; i < e; i++) p[i] = 1.0f + (float)(i & 1023) * (1.0f / 1024.0f);
    }
    double *t = malloc(sizeof(double) * (size_t)o->reps);
    if (!t) { free(p); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    for (int w = 0; w < (o->warmup > 0 ? o->warmup : 1); w++) cpu_read_pass(p, n);
    for (int k = 0; k < o->reps; k++) t[k] = cpu_read_pass(p, n);
    double med = lf_stat_median(t, o->reps);
    double lo = lf_stat_percentile(t, o->reps, 0), hi = lf_stat_percentile(t, o->reps, 100);
    r->read_bytes = (double)n * 4;
    r->read_bw = r->read_bytes / med;
    r->read_spread = (hi - lo) / med;
    free(t);
    free(p);
    return LINFER_OK;
}

static lf_status cpu_sgemm(const lf_calib_opts *o, lf_calib_result *r) {
    int n = o->gemm_n > 0 ? o->gemm_n : (o->quick ? 512 : 2048);
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(sizeof(float) * nn * 3);
    if (!a) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "sgemm calibration: cannot allocate 3 x %d^2 floats", n);
    float *b = a + nn, *c = b + nn;
    uint32_t h = 12345;
    for (size_t i = 0; i < 2 * nn; i++) {
        h = h * 1664525u + 1013904223u;
        a[i] = ((float)(h >> 8) + 0.5f) * (2.0f / 16777216.0f) - 1.0f; /* never zero */
    }
    double *t = malloc(sizeof(double) * (size_t)o->reps);
    if (!t) { free(a); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    for (int k = -(o->warmup > 0 ? 1 : 0); k < o->reps; k++) {
        double t0 = lf_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = lf_now_s() - t0;
        if (k >= 0) t[k] = dt;
    }
    g_sink = c[nn / 2];
    double flops = 2.0 * n * (double)n * n / lf_stat_median(t, o->reps);
    r->gemm_n = n;
    r->gemm_flops[LF_PREC_FP16] = r->gemm_flops[LF_PREC_BF16] = flops;
    r->gemm_flops[LF_PREC_FP8] = NAN;   /* no fp8 on the CPU */
    free(t);
    free(a);
    return LINFER_OK;
}

lf_status lf_calibrate_cpu(const lf_calib_opts *in, lf_calib_result *r) {
    lf_calib_opts o;
    eff_opts(in, &o);
    memset(r, 0, sizeof *r);
    r->is_cpu = 1;
    r->device_index = -1;
    lf_cpu_name(r->name, sizeof r->name);
    r->mem_bytes = lf_host_mem_total();
    r->threads = omp_get_max_threads();
    LF_TRY(cpu_read_bw(&o, r));
    LF_TRY(cpu_sgemm(&o, r));
    r->date = (double)time(NULL);
    return LINFER_OK;
}

/* ---- GPU ---------------------------------------------------------------------------------------- */
#ifdef LINFER_HAVE_CUDA
static lf_status median_of(lf_status s, const double *t, int n, double *med, double *spread) {
    if (s) return s;
    *med = lf_stat_median(t, n);
    if (spread) *spread = (lf_stat_percentile(t, n, 100) - lf_stat_percentile(t, n, 0)) / *med;
    if (!(*med > 0)) return lf_fail(LINFER_ERR_DEVICE, "calibration: a measured time is not positive");
    return LINFER_OK;
}

lf_status lf_calibrate_gpu(int idx, const lf_calib_opts *in, lf_calib_result *r) {
    lf_calib_opts o;
    eff_opts(in, &o);
    memset(r, 0, sizeof *r);
    if (lf_gpu_count() == 0) return lf_fail(LINFER_ERR_DEVICE, "no CUDA GPU found");
    lf_gpu_info gi;
    LF_TRY(lf_gpu_info_get(idx, &gi));
    lf_cuda_calib_props pr;
    LF_TRY(lf_cuda_calib_get_props(idx, &pr));
    r->device_index = idx;
    snprintf(r->name, sizeof r->name, "%s", gi.name);
    r->mem_bytes = (double)gi.total_bytes;
    r->driver_version = gi.driver_version;
    r->runtime_version = gi.runtime_version;
    r->sm_count = pr.sm_count;
    r->l2_bytes = pr.l2_bytes;
    r->cc_major = gi.cc_major;
    r->cc_minor = gi.cc_minor;
    r->gemm_flops[LF_PREC_FP8] = NAN;   /* until measured below */
    double *t = malloc(sizeof(double) * (size_t)o.reps);
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    lf_status s = LINFER_OK;
    double med, spread;

    /* read bandwidth: buffer >= 32x L2 when memory allows; best of a few launch shapes */
    double bytes = o.read_bytes > 0 ? o.read_bytes : (o.quick ? 512.0 * 1048576 : 2 * GIB);
    if (o.read_bytes <= 0 && bytes < 32 * pr.l2_bytes) bytes = 32 * pr.l2_bytes;
    if (bytes > pr.free_bytes / 4) bytes = pr.free_bytes / 4;
    size_t rb = ((size_t)bytes / 1048576) * 1048576;
    if (rb < 1048576) { free(t); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "GPU %d: only %.0f MiB free", idx, pr.free_bytes / 1048576.0); }
    static const int shapes[][2] = {{512, 4}, {1024, 2}, {256, 8}}; /* threads, blocks per SM */
    int nshapes = o.quick ? 1 : 3;
    for (int k = 0; k < nshapes && !s; k++) {
        int threads = shapes[k][0], blocks = shapes[k][1] * pr.sm_count;
        s = median_of(lf_cuda_calib_read(idx, rb, blocks, threads, o.warmup, o.reps, t), t, o.reps, &med, &spread);
        if (!s && (double)rb / med > r->read_bw) {
            r->read_bw = (double)rb / med;
            r->read_spread = spread;
            r->read_threads = threads;
            r->read_blocks = blocks;
        }
    }
    r->read_bytes = (double)rb;

    /* device-to-device copy: read + write bytes */
    if (!s) {
        size_t cb = ((size_t)(o.quick ? 256.0 * 1048576 : GIB) / 1048576) * 1048576;
        if ((double)cb > pr.free_bytes / 4) cb = ((size_t)(pr.free_bytes / 4) / 1048576) * 1048576;
        s = median_of(lf_cuda_calib_copy(idx, cb, o.warmup, o.reps, t), t, o.reps, &med, NULL);
        if (!s) r->copy_bw = 2.0 * (double)cb / med;
    }
    /* cuBLAS GEMM fp16, bf16 */
    r->gemm_n = o.gemm_n > 0 ? o.gemm_n : (o.quick ? 4096 : 8192);
    for (int bf = 0; bf < 2 && !s; bf++) {
        s = median_of(lf_cuda_calib_gemm(idx, r->gemm_n, bf, o.warmup, o.reps, t), t, o.reps, &med, NULL);
        if (!s) r->gemm_flops[bf ? LF_PREC_BF16 : LF_PREC_FP16] = 2.0 * r->gemm_n * (double)r->gemm_n * r->gemm_n / med;
    }
    /* fp8 E4M3 through cuBLASLt (n rounded up to a multiple of 16). Compute capability < 8.9, or
     * no cuBLASLt algorithm: not measured (NAN) with the reason, not an error */
    if (!s) {
        int n8 = (r->gemm_n + 15) / 16 * 16;
        lf_status fs = lf_cuda_calib_gemm_fp8(idx, n8, 1, o.warmup, o.reps, t);
        if (fs == LINFER_ERR_UNSUPPORTED) {
            snprintf(r->gemm_fp8_note, sizeof r->gemm_fp8_note, "%s", linfer_last_error());
            lf_clear_error();
        } else {
            s = median_of(fs, t, o.reps, &med, NULL);
            if (!s) r->gemm_flops[LF_PREC_FP8] = 2.0 * n8 * (double)n8 * n8 / med;
        }
    }
    /* launch overhead: back to back, graph replay, round trip */
    if (!s) s = median_of(lf_cuda_calib_launch(idx, o.launches, 0, o.warmup, o.reps, t), t, o.reps, &r->launch_s, NULL);
    if (!s) s = median_of(lf_cuda_calib_launch(idx, o.launches, 1, o.warmup, o.reps, t), t, o.reps, &r->launch_graph_s, NULL);
    if (!s) s = median_of(lf_cuda_calib_launch(idx, o.launches, 2, o.warmup, o.reps, t), t, o.reps, &r->launch_sync_s, NULL);
    /* kernel chain: dependent read kernels replayed from a graph, the read measurement's launch
     * shape; the smallest size as one block (what a norm or a RoPE kernel of one token is) */
    if (!s) {
        static const double chain_sizes[] = {16384, 1048576, 4194304, 16777216, 67108864, 268435456};
        r->chain_n = 0;
        for (int k = 0; k < (int)(sizeof chain_sizes / sizeof chain_sizes[0]) && !s; k++) {
            const double cb = chain_sizes[k];
            if (cb * 2 > pr.free_bytes / 4) break;
            const int blocks = k == 0 ? 1 : r->read_blocks, threads = k == 0 ? 256 : r->read_threads;
            int n = (int)(2e9 / cb);
            if (n > 400) n = 400;
            if (n < 16) n = 16;
            s = median_of(lf_cuda_calib_read_chain(idx, (size_t)cb, n, blocks, threads, o.warmup, o.reps, t), t, o.reps, &med, NULL);
            if (!s) {
                r->chain_bytes[r->chain_n] = cb;
                r->chain_s[r->chain_n] = med;
                r->chain_n++;
            }
        }
    }
    free(t);
    r->allreduce_measured = 0;
    r->date = (double)time(NULL);
    return s;
}
#else
lf_status lf_calibrate_gpu(int idx, const lf_calib_opts *in, lf_calib_result *r) {
    (void)idx;
    (void)in;
    memset(r, 0, sizeof *r);
    return lf_fail(LINFER_ERR_UNSUPPORTED, "this linfer was built without CUDA (nvcc not found at build time): no GPU to calibrate");
}
#endif

/* ---- cache file --------------------------------------------------------------------------------- */
void lf_calib_to_measured(const lf_calib_result *r, lf_hw_measured *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->gpu_name, sizeof m->gpu_name, "%s", r->name);
    m->mem_bytes = r->mem_bytes;
    m->read_bw = r->read_bw;
    /* presets' convention: 0 = not measured (NAN, fp8's "not measured", becomes 0) */
    for (int i = 0; i < LF_PREC_COUNT; i++) m->gemm_flops[i] = r->gemm_flops[i] > 0 && isfinite(r->gemm_flops[i]) ? r->gemm_flops[i] : 0;
    m->launch_s = r->launch_s;
    m->chain_n = r->chain_n < LF_HW_CHAIN_MAX ? r->chain_n : LF_HW_CHAIN_MAX;
    for (int i = 0; i < m->chain_n; i++) {
        m->chain_bytes[i] = r->chain_bytes[i];
        m->chain_s[i] = r->chain_s[i];
    }
    /* all-reduce: per GPU count; the single figures are the largest count measured. 0 = "not
     * measured": the roofline keeps its assumptions there */
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
        const lf_allreduce_calib *a = &r->ar[n];
        if (a->n_gpus != n || !(a->latency_s > 0 || a->busbw_best > 0)) continue;
        m->ar_latency_by_n[n] = a->latency_s;
        m->ar_busbw_by_n[n] = a->busbw_best;
        for (int k = 0; k < LF_HW_OS_SIZES; k++) m->os_time_by_n[n][k] = a->os_time_s[k] > 0 ? a->os_time_s[k] : 0;
        m->ar_gpus = n;
        m->ar_latency_s = a->latency_s;
        m->ar_busbw = a->busbw_best;
    }
    m->valid = m->read_bw > 0;
}

const char *lf_calib_path(int is_cpu, int gpu_index, char *buf, size_t cap) {
    char base[1024];
    lf_hw_default_calib_path(base, sizeof base);
    if (!is_cpu && gpu_index <= 0) { snprintf(buf, cap, "%s", base); return buf; }
    char suffix[32];
    if (is_cpu) snprintf(suffix, sizeof suffix, "-cpu");
    else snprintf(suffix, sizeof suffix, "-gpu%d", gpu_index);
    size_t l = strlen(base);
    if (l > 4 && strcmp(base + l - 4, ".txt") == 0) snprintf(buf, cap, "%.*s%s.txt", (int)(l - 4), base, suffix);
    else snprintf(buf, cap, "%s%s", base, suffix);
    return buf;
}

static lf_status mkdir_parents(const char *path) {
    char d[1024];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (!slash || slash == d) return LINFER_OK;
    *slash = 0;
    for (char *p = d + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(d, 0755) != 0 && errno != EEXIST) return lf_fail(LINFER_ERR_IO, "%s: cannot create directory: %s", d, strerror(errno));
        *p = '/';
    }
    if (mkdir(d, 0755) != 0 && errno != EEXIST) return lf_fail(LINFER_ERR_IO, "%s: cannot create directory: %s", d, strerror(errno));
    return LINFER_OK;
}

lf_status lf_calib_save(const char *path, const lf_calib_result *r) {
    LF_TRY(mkdir_parents(path));
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    lf_hw_measured m;
    lf_calib_to_measured(r, &m);
    lf_status s = lf_hw_measured_save(tmp, &m);
    if (s) { remove(tmp); return s; }
    FILE *f = fopen(tmp, "a");
    if (!f) { remove(tmp); return lf_fail(LINFER_ERR_IO, "%s: cannot write calibration: %s", tmp, strerror(errno)); }
    int any_ar = 0;
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) any_ar |= r->ar[n].n_gpus == n;
    if (!any_ar) fprintf(f, "# written by linfer calibrate; NCCL all-reduce: not measured (ar_* = 0: the roofline's assumptions apply)\n");
    else fprintf(f, "# written by linfer calibrate; ar_*: NCCL all-reduce, ar_time_s_<gpus>_<bytes> = median seconds of one fp16 all-reduce\n");
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
        const lf_allreduce_calib *a = &r->ar[n];
        if (a->n_gpus != n) continue;
        char v[32];
        fprintf(f, "# all-reduce over %d GPUs: NCCL %s%s%s%s\n", n, lf_nccl_version_str(a->nccl_version, v, sizeof v),
                a->nccl_lib[0] ? " (" : "", a->nccl_lib, a->nccl_lib[0] ? ")" : "");
        fprintf(f, "ar_nccl_version_%d %d\n", n, a->nccl_version);
        for (int i = 0; i < a->n_sizes && i < LF_AR_MAX_SIZES; i++)
            if (a->time_s[i] > 0 && a->bytes[i] > 0) fprintf(f, "ar_time_s_%d_%.0f %.17g\n", n, a->bytes[i], a->time_s[i]);
    }
    fprintf(f, "is_cpu %d\n", r->is_cpu);
    fprintf(f, "device_index %d\n", r->device_index < 0 ? 0 : r->device_index);
    fprintf(f, "driver_version %d\nruntime_version %d\n", r->driver_version, r->runtime_version);
    fprintf(f, "sm_count %d\nthreads %d\n", r->sm_count, r->threads);
    fprintf(f, "l2_bytes %.17g\n", r->l2_bytes);
    fprintf(f, "read_bytes %.17g\nread_threads %d\nread_blocks %d\nread_spread %.17g\n", r->read_bytes, r->read_threads,
            r->read_blocks, r->read_spread);
    fprintf(f, "copy_bw %.17g\n", r->copy_bw);
    fprintf(f, "gemm_n %d\n", r->gemm_n);
    fprintf(f, "cc_major %d\ncc_minor %d\n", r->cc_major, r->cc_minor);
    if (!(r->gemm_flops[LF_PREC_FP8] > 0) && r->gemm_fp8_note[0]) {
        char note[sizeof r->gemm_fp8_note];   /* one line */
        snprintf(note, sizeof note, "%s", r->gemm_fp8_note);
        for (char *c = note; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
        fprintf(f, "# gemm_fp8_note %s\n", note);
    }
    fprintf(f, "launch_graph_s %.17g\nlaunch_sync_s %.17g\n", r->launch_graph_s, r->launch_sync_s);
    fprintf(f, "allreduce_measured %d\n", r->allreduce_measured);
    fprintf(f, "date %.17g\n", r->date);
    int bad = ferror(f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (bad) { remove(tmp); return lf_fail(LINFER_ERR_IO, "%s: write failed: %s", tmp, strerror(errno)); }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return lf_fail(LINFER_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return LINFER_OK;
}

lf_status lf_calib_load(const char *path, lf_calib_result *r) {
    memset(r, 0, sizeof *r);
    lf_hw_measured m;
    LF_TRY(lf_hw_measured_load(path, &m));
    snprintf(r->name, sizeof r->name, "%s", m.gpu_name);
    r->mem_bytes = m.mem_bytes;
    r->read_bw = m.read_bw;
    for (int i = 0; i < LF_PREC_COUNT; i++) r->gemm_flops[i] = m.gemm_flops[i];
    /* fp8: 0 or absent (files from before fp8 was measured) = not measured */
    if (!(r->gemm_flops[LF_PREC_FP8] > 0)) r->gemm_flops[LF_PREC_FP8] = NAN;
    r->launch_s = m.launch_s;
    r->chain_n = m.chain_n;
    for (int i = 0; i < m.chain_n; i++) {
        r->chain_bytes[i] = m.chain_bytes[i];
        r->chain_s[i] = m.chain_s[i];
    }
    FILE *f = fopen(path, "r");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: %s", path, strerror(errno));
    char line[512];
    static const char fp8_note_key[] = "# gemm_fp8_note ";
    while (fgets(line, sizeof line, f)) {
        char key[64];
        double v;
        if (!strncmp(line, fp8_note_key, sizeof fp8_note_key - 1)) {
            char *t = line + sizeof fp8_note_key - 1;
            size_t l = strlen(t);
            while (l && (t[l - 1] == '\n' || t[l - 1] == '\r')) t[--l] = 0;
            snprintf(r->gemm_fp8_note, sizeof r->gemm_fp8_note, "%s", t);
            continue;
        }
        if (line[0] == '#' || sscanf(line, "%63s %lf", key, &v) != 2) continue;
        if (!strcmp(key, "is_cpu")) r->is_cpu = (int)v;
        else if (!strcmp(key, "device_index")) r->device_index = (int)v;
        else if (!strcmp(key, "driver_version")) r->driver_version = (int)v;
        else if (!strcmp(key, "runtime_version")) r->runtime_version = (int)v;
        else if (!strcmp(key, "sm_count")) r->sm_count = (int)v;
        else if (!strcmp(key, "threads")) r->threads = (int)v;
        else if (!strcmp(key, "l2_bytes")) r->l2_bytes = v;
        else if (!strcmp(key, "read_bytes")) r->read_bytes = v;
        else if (!strcmp(key, "read_threads")) r->read_threads = (int)v;
        else if (!strcmp(key, "read_blocks")) r->read_blocks = (int)v;
        else if (!strcmp(key, "read_spread")) r->read_spread = v;
        else if (!strcmp(key, "copy_bw")) r->copy_bw = v;
        else if (!strcmp(key, "gemm_n")) r->gemm_n = (int)v;
        else if (!strcmp(key, "cc_major")) r->cc_major = v >= 0 && v < 100 ? (int)v : 0;
        else if (!strcmp(key, "cc_minor")) r->cc_minor = v >= 0 && v < 100 ? (int)v : 0;
        else if (!strcmp(key, "launch_graph_s")) r->launch_graph_s = v;
        else if (!strcmp(key, "launch_sync_s")) r->launch_sync_s = v;
        else if (!strcmp(key, "allreduce_measured")) r->allreduce_measured = (int)v;
        else if (!strcmp(key, "date")) r->date = v;
        else if (!strncmp(key, "ar_nccl_version_", 16) || !strncmp(key, "ar_time_s_", 10)) {
            /* ar_nccl_version_<n> V, ar_time_s_<n>_<bytes> T */
            int ver = key[3] == 'n';
            char *e;
            long n = strtol(key + (ver ? 16 : 10), &e, 10);
            if (n < 2 || n > LF_HW_AR_MAX_GPUS || !(v >= 0) || v > 1e9) continue;
            lf_allreduce_calib *a = &r->ar[n];
            if (ver) {
                if (*e) continue;
                a->nccl_version = (int)v;
                continue;
            }
            if (*e != '_') continue;
            char *e2;
            double bytes = strtod(e + 1, &e2);
            if (e2 == e + 1 || *e2 || !(bytes >= 1 && bytes < 1e15) || !(v > 0) || a->n_sizes >= LF_AR_MAX_SIZES) continue;
            a->n_gpus = (int)n;
            a->bytes[a->n_sizes] = bytes;
            a->time_s[a->n_sizes] = v;
            a->n_sizes++;
        }
    }
    fclose(f);
    if (r->is_cpu) r->device_index = -1;
    if (r->gemm_flops[LF_PREC_FP8] > 0) r->gemm_fp8_note[0] = 0;
    /* the per-size tables (ascending sizes), then the figures presets.h keeps; a file with only
     * the derived figures (or the older single ar_gpus / ar_latency_s / ar_busbw) still shows them */
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
        lf_allreduce_calib *a = &r->ar[n];
        for (int i = 1; i < a->n_sizes; i++)
            for (int j = i; j > 0 && a->bytes[j - 1] > a->bytes[j]; j--) {
                double tb = a->bytes[j], tt = a->time_s[j];
                a->bytes[j] = a->bytes[j - 1], a->time_s[j] = a->time_s[j - 1];
                a->bytes[j - 1] = tb, a->time_s[j - 1] = tt;
            }
        if (a->n_sizes > 0) lf_allreduce_derive(a);
        double lat = m.ar_latency_by_n[n], bw = m.ar_busbw_by_n[n];
        if (!(lat > 0 || bw > 0) && m.ar_gpus == n) lat = m.ar_latency_s, bw = m.ar_busbw;
        if (lat > 0 || bw > 0) {
            a->n_gpus = n;
            a->latency_s = lat;       /* the cached ceilings are what the roofline uses */
            a->busbw_best = bw;
        }
        if (a->n_gpus == n) {
            for (int k = 0; k < LF_HW_OS_SIZES; k++) a->os_time_s[k] = m.os_time_by_n[n][k];
            r->allreduce_measured = 1;
        } else memset(a, 0, sizeof *a);
    }
    return LINFER_OK;
}

void lf_hw_cpu(const lf_calib_result *r, lf_hw *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "cpu");
    snprintf(o->desc, sizeof o->desc, "%s", r->name[0] ? r->name : "cpu");
    o->mem_bytes = r->mem_bytes > 0 ? r->mem_bytes : lf_host_mem_total();
    o->hbm_bw = r->read_bw;
    o->flops[LF_PREC_FP16] = r->gemm_flops[LF_PREC_FP16];
    o->flops[LF_PREC_BF16] = r->gemm_flops[LF_PREC_BF16] > 0 ? r->gemm_flops[LF_PREC_BF16] : r->gemm_flops[LF_PREC_FP16];
    o->max_gpus = 1;
    o->launch_s = 0;    /* no kernel launches on the CPU */
    o->source = "CPU calibration (memory read bandwidth, OpenBLAS sgemm)";
    lf_calib_to_measured(r, &o->measured);
    o->use_measured = 1;
}

/* ---- table -------------------------------------------------------------------------------------- */
static void row_num(lf_table *t, const char *what, double meas, double ds, int prec, const char *note) {
    lf_table_row(t);
    lf_table_str(t, what);
    if (meas > 0) lf_table_num(t, meas, prec);
    else lf_table_str(t, "not measured");
    if (ds > 0) lf_table_num(t, ds, prec);
    else lf_table_empty(t);
    if (meas > 0 && ds > 0) lf_table_num(t, meas / ds, 3);
    else lf_table_empty(t);
    lf_table_str(t, note);
}

static const char *size_str(double b, char *buf, size_t cap) {
    if (b >= 1048576 && fmod(b, 1048576) == 0) snprintf(buf, cap, "%.0f MiB", b / 1048576);
    else if (b >= 1024 && fmod(b, 1024) == 0) snprintf(buf, cap, "%.0f KiB", b / 1024);
    else snprintf(buf, cap, "%.0f B", b);
    return buf;
}

/* NCCL all-reduce rows: per GPU count measured, the latency and the bus bandwidth beside what the
 * roofline assumes without them (ds's NVLink / PCIe figures); else one "not measured" row. */
static void calib_table_ar(lf_table *t, const lf_calib_result *r, const lf_hw *ds) {
    lf_hw d;
    if (ds) { d = *ds; d.use_measured = 0; }
    int rows = 0;
    char note[320], v[32], sz[32];
    for (int n = 2; n <= LF_HW_AR_MAX_GPUS; n++) {
        const lf_allreduce_calib *a = &r->ar[n];
        if (a->n_gpus != n) continue;
        rows++;
        double lat_ds = ds ? lf_hw_eff_ar_latency(&d, n) : 0, bw_ds = ds ? lf_hw_eff_busbw(&d, n) : 0;
        int nvl = ds && ds->nvlink_bw > 0 && n <= ds->nvlink_gpus;
        char what[64];
        snprintf(what, sizeof what, "all-reduce latency, %d GPUs (us)", n);
        char ver[48] = "", smallest[48] = "";
        if (a->nccl_version > 0) snprintf(ver, sizeof ver, " %s", lf_nccl_version_str(a->nccl_version, v, sizeof v));
        if (a->n_sizes > 0) snprintf(smallest, sizeof smallest, " (%s)", size_str(a->bytes[0], sz, sizeof sz));
        snprintf(note, sizeof note, "NCCL%s, fp16 sum, time of the smallest message%s, median; datasheet column: the roofline's "
                 "assumption (%s)", ver, smallest, nvl ? "NVLink domain" : "PCIe");
        row_num(t, what, a->latency_s * 1e6, lat_ds * 1e6, 2, note);
        snprintf(what, sizeof what, "all-reduce busBW, %d GPUs (GB/s)", n);
        if (a->busbw_best_bytes > 0)
            snprintf(note, sizeof note, "best busBW = algBW x 2(n-1)/n among messages >= 64 MiB (%s); datasheet column: %s",
                     size_str(a->busbw_best_bytes, sz, sizeof sz), nvl ? "NVLink per direction (nvlink_bw / 2)" : "PCIe x16 per direction");
        else
            snprintf(note, sizeof note, "best busBW = algBW x 2(n-1)/n among messages >= 64 MiB; datasheet column: %s",
                     nvl ? "NVLink per direction (nvlink_bw / 2)" : "PCIe x16 per direction");
        row_num(t, what, a->busbw_best / 1e9, bw_ds / 1e9, 1, note);
        if (a->os_time_s[0] > 0) {
            snprintf(what, sizeof what, "one-shot all-reduce, %d GPUs (us)", n);
            snprintf(note, sizeof note, "the engine's small-message kernel (push over peer memory, fp32, in a CUDA graph), 32 KiB; "
                     "128 KiB %.2f us, 512 KiB %.2f us", a->os_time_s[1] * 1e6, a->os_time_s[2] * 1e6);
            row_num(t, what, a->os_time_s[0] * 1e6, 0, 2, note);
        }
    }
    if (rows) return;
    lf_table_row(t);
    lf_table_str(t, "NCCL all-reduce");
    lf_table_str(t, "not measured");
    if (ds && ds->ar_latency_s > 0) lf_table_strf(t, "%.0f us (assumed)", ds->ar_latency_s * 1e6);
    else lf_table_empty(t);
    lf_table_empty(t);
    lf_table_str(t, r->ar_note[0] ? r->ar_note : "needs 2 or more GPUs and NCCL; the roofline keeps its assumed latency");
}

lf_table *lf_allreduce_table(const lf_allreduce_calib *a) {
    static const char *cols[] = {"size", "bytes", "time (us)", "algBW (GB/s)", "busBW (GB/s)", "note"};
    lf_table *t = lf_table_new(6, cols);
    if (!t) return NULL;
    char title[512], v[32], sz[32];
    snprintf(title, sizeof title, "NCCL all-reduce over %d GPUs (0..%d), fp16 sum, out of place, NCCL %s%s%s%s", a->n_gpus, a->n_gpus - 1,
             lf_nccl_version_str(a->nccl_version, v, sizeof v), a->nccl_lib[0] ? " (" : "", a->nccl_lib, a->nccl_lib[0] ? ")" : "");
    lf_table_set_title(t, title);
    for (int i = 0; i < a->n_sizes && i < LF_AR_MAX_SIZES; i++) {
        lf_table_row(t);
        lf_table_str(t, size_str(a->bytes[i], sz, sizeof sz));
        lf_table_num(t, a->bytes[i], 0);
        lf_table_num(t, a->time_s[i] * 1e6, 2);
        lf_table_num(t, a->algbw[i] / 1e9, 2);
        lf_table_num(t, a->busbw[i] / 1e9, 2);
        char note[160] = "";
        if (i == 0 && a->time_s[i] == a->latency_s) snprintf(note, sizeof note, "latency");
        if (a->bytes[i] == 4096 * 2.0) snprintf(note + strlen(note), sizeof note - strlen(note), "%sdecode token, h=4096 (LLaMA-7B)", note[0] ? "; " : "");
        if (a->bytes[i] == 5120 * 2.0) snprintf(note + strlen(note), sizeof note - strlen(note), "%sdecode token, h=5120 (LLaMA-13B)", note[0] ? "; " : "");
        if (a->busbw_best_bytes > 0 && a->bytes[i] == a->busbw_best_bytes)
            snprintf(note + strlen(note), sizeof note - strlen(note), "%sbest busBW (>= 64 MiB)", note[0] ? "; " : "");
        lf_table_str(t, note);
    }
    return t;
}

lf_table *lf_calib_table(const lf_calib_result *r, const lf_hw *ds) {
    static const char *cols[] = {"ceiling", "measured", "datasheet", "ratio", "note"};
    lf_table *t = lf_table_new(5, cols);
    if (!t) return NULL;
    char note[256];
    if (r->is_cpu) {
        snprintf(note, sizeof note, "AVX2 reduction over %.0f MiB, %d threads, spread %.1f%%", r->read_bytes / 1048576.0, r->threads,
                 100 * r->read_spread);
        row_num(t, "memory read bandwidth (GB/s)", r->read_bw / 1e9, 0, 2, note);
        snprintf(note, sizeof note, "OpenBLAS cblas_sgemm %d^3, random data (the CPU backend computes in fp32)", r->gemm_n);
        row_num(t, "sgemm fp32 (GFLOP/s)", r->gemm_flops[LF_PREC_FP16] / 1e9, 0, 1, note);
        row_num(t, "memory (GiB)", r->mem_bytes / GIB, 0, 1, "physical memory");
        return t;
    }
    double l2x = r->l2_bytes > 0 ? r->read_bytes / r->l2_bytes : 0;
    snprintf(note, sizeof note, "read-only XOR reduction, 16-byte loads, %.2f GiB (%.0fx L2), %d blocks x %d threads, spread %.1f%%",
             r->read_bytes / GIB, l2x, r->read_blocks, r->read_threads, 100 * r->read_spread);
    row_num(t, "HBM read bandwidth (GB/s)", r->read_bw / 1e9, ds ? ds->hbm_bw / 1e9 : 0, 1, note);
    row_num(t, "D2D copy bandwidth, read+write (GB/s)", r->copy_bw / 1e9, ds ? ds->hbm_bw / 1e9 : 0, 1,
            "cudaMemcpyAsync device to device, read + write bytes counted");
    snprintf(note, sizeof note, "cublasGemmEx %d^3, random data in [-1, 1), fp32 accumulation", r->gemm_n);
    row_num(t, "cuBLAS GEMM fp16 (TFLOP/s)", r->gemm_flops[LF_PREC_FP16] / 1e12, ds ? ds->flops[LF_PREC_FP16] / 1e12 : 0, 1, note);
    row_num(t, "cuBLAS GEMM bf16 (TFLOP/s)", r->gemm_flops[LF_PREC_BF16] / 1e12, ds ? ds->flops[LF_PREC_BF16] / 1e12 : 0, 1, note);
    if (r->gemm_flops[LF_PREC_FP8] > 0)
        snprintf(note, sizeof note, "cublasLtMatmul %d^3, A and B fp8 E4M3 random in [-1, 1), D bf16, fp32 accumulation (fast), TN layout",
                 (r->gemm_n + 15) / 16 * 16);
    else if (r->gemm_fp8_note[0])
        snprintf(note, sizeof note, "%s", r->gemm_fp8_note);
    else if (r->cc_major > 0 && r->cc_major * 10 + r->cc_minor < 89)
        snprintf(note, sizeof note, "fp8 GEMM needs compute capability >= 8.9 (this GPU: %d.%d)", r->cc_major, r->cc_minor);
    else
        snprintf(note, sizeof note, "no fp8 figure in this calibration (written before fp8 was measured?); needs compute capability >= 8.9");
    row_num(t, "cuBLASLt GEMM fp8 (TFLOP/s)", r->gemm_flops[LF_PREC_FP8] / 1e12, ds ? ds->flops[LF_PREC_FP8] / 1e12 : 0, 1, note);
    row_num(t, "kernel launch (us)", r->launch_s * 1e6, ds ? ds->launch_s * 1e6 : 0, 2,
            "empty kernels back to back on one stream, per kernel; datasheet column: the roofline's assumption it replaces");
    row_num(t, "kernel launch, CUDA graph (us)", r->launch_graph_s * 1e6, 0, 2, "empty kernels replayed from one captured graph, per kernel");
    row_num(t, "launch + sync round trip (us)", r->launch_sync_s * 1e6, 0, 2, "launch one empty kernel, cudaStreamSynchronize, repeat");
    for (int i = 0; i < r->chain_n; i++) {
        char what[96];
        const double floor_s = r->read_bw > 0 ? r->chain_bytes[i] / r->read_bw : 0;
        if (r->chain_bytes[i] < 1048576) snprintf(what, sizeof what, "kernel in a graph chain, %.0f KiB read (us)", r->chain_bytes[i] / 1024);
        else snprintf(what, sizeof what, "kernel in a graph chain, %.0f MiB read (us)", r->chain_bytes[i] / 1048576);
        snprintf(note, sizeof note, "dependent read kernels replayed from a graph%s; over the read-bandwidth time: +%.2f us",
                 i == 0 ? ", one block" : "", (r->chain_s[i] - floor_s) * 1e6);
        row_num(t, what, r->chain_s[i] * 1e6, 0, 2, note);
    }
    calib_table_ar(t, r, ds);
    row_num(t, "device memory (GiB)", r->mem_bytes / GIB, ds ? ds->mem_bytes / GIB : 0, 1, "cudaMemGetInfo total");
    return t;
}
