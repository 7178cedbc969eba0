/* calibrate.h — measured ceilings of this machine (`linfer calibrate`).
 *
 * GPU (CUDA builds): achievable HBM read bandwidth (a read-only XOR reduction over a buffer many
 * times larger than L2, 16-byte loads), device-to-device copy bandwidth (cudaMemcpyAsync, read +
 * write bytes counted), cuBLAS GEMM rate for fp16 and bf16 (cublasGemmEx, n³ with random data,
 * fp32 accumulation, as the engine calls it), the fp8 GEMM rate on compute capability >= 8.9
 * (cublasLtMatmul, A and B fp8 E4M3, D bf16, fp32 accumulation with fast accumulation, "TN"
 * layout, n³, random data; below 8.9 "not measured", gemm_flops[LF_PREC_FP8] = NAN, with the reason
 * in gemm_fp8_note), and kernel-launch overhead (empty kernels launched back to back; the same
 * kernels replayed from a CUDA graph; launch + synchronise round trip).
 * Every figure is timed with CUDA events after warm-up and is the median of repetitions.
 *
 * NCCL all-reduce (lf_calibrate_allreduce, src/dist/allreduce_calib.c): one process drives GPUs
 * 0..n-1 (ncclCommInitAll; NCCL is dlopened, src/dist/nccl_loader.h), fp16 ncclSum out of place
 * over message sizes from 2 KiB to 256 MiB; per size the median time of one all-reduce, the
 * algorithm bandwidth (bytes / time) and the bus bandwidth (algBW · 2(n-1)/n, nccl-tests'
 * convention). Derived: latency = time of the smallest message, bus bandwidth = the best busBW
 * among sizes >= 64 MiB. `linfer calibrate` measures it for every GPU count 2, 4, 8 present (and
 * the count present) and keeps it with GPU 0's calibration.
 *
 * CPU: memory read bandwidth (AVX2 reduction over all threads) and OpenBLAS sgemm FLOP/s, so the
 * CPU roofline of `linfer bench --device cpu` has ceilings too.
 *
 * Results are cached per device in the calibration file format of presets.h (lf_hw_measured,
 * "key value" lines) plus extra numeric keys the loader of presets.c skips (copy_bw,
 * launch_graph_s, ..., and the all-reduce tables: ar_nccl_version_<n>, ar_time_s_<n>_<bytes>).
 * fp8: gemm_flops_fp8 (presets' key; 0 in the file = not measured, NAN in lf_calib_result), the
 * compute capability (cc_major, cc_minor) and, when fp8 was not measured, the reason as a comment
 * line "# gemm_fp8_note <text>" (comments: presets' loader skips them). Files written before fp8
 * was measured load with gemm_flops[LF_PREC_FP8] = NAN.
 * The all-reduce figures live in GPU 0's file only. GPU 0 uses lf_hw_default_calib_path() — the
 * file `linfer roofline --gpu measured` reads — GPU i > 0 and the CPU use siblings of it (see
 * lf_calib_path). */
#ifndef LF_PERF_CALIBRATE_H
#define LF_PERF_CALIBRATE_H
#include <stddef.h>
#include "../core/error.h"
#include "presets.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int warmup;          /* untimed repetitions first (default 3) */
    int reps;            /* timed repetitions; the median is reported (default 15) */
    int quick;           /* smaller buffers and matrices, fewer repetitions (tests, bench's fallback) */
    int gemm_n;          /* GEMM size n (n×n×n); 0 = 8192 on the GPU, 2048 on the CPU (quick: 4096 / 512) */
    double read_bytes;   /* read-bandwidth buffer; 0 = automatic (GPU: 2 GiB, at least 32× L2, at most
                          * 1/4 of free memory; CPU: 1 GiB, at most 1/4 of available memory) */
    int launches;        /* empty kernels per launch timing (default 2000) */
} lf_calib_opts;
void lf_calib_default_opts(lf_calib_opts *o);

/* ---- NCCL all-reduce -------------------------------------------------------------------------- */
#define LF_AR_MAX_SIZES 16
#define LF_AR_BUSBW_MIN_BYTES (64.0 * 1048576)   /* busBW ceiling: best among messages this large */
typedef struct {
    int n_gpus;                          /* GPUs 0..n_gpus-1; 0 = not measured */
    int n_sizes;
    double bytes[LF_AR_MAX_SIZES];       /* message size (fp16 elements × 2), ascending */
    double time_s[LF_AR_MAX_SIZES];      /* median seconds of one all-reduce */
    double algbw[LF_AR_MAX_SIZES];       /* bytes / time, B/s */
    double busbw[LF_AR_MAX_SIZES];       /* algbw · 2(n-1)/n, B/s */
    double latency_s;                    /* time of the smallest message */
    double busbw_best;                   /* best busbw among sizes >= LF_AR_BUSBW_MIN_BYTES (0: none) */
    double busbw_best_bytes;             /* the size that gave it */
    double os_time_s[LF_HW_OS_SIZES];    /* the engine's one-shot all-reduce (fp32, in a graph) on lf_hw_os_bytes; 0: not measured */
    int nccl_version;                    /* ncclGetVersion code (22809 = 2.28.9); 0 unknown */
    char nccl_lib[256];                  /* the library loaded ("" when read back from a file) */
} lf_allreduce_calib;

/* Message sizes, bytes, ascending: 2 KiB × 4^k up to 256 MiB (256 MiB itself last), plus 4096×2
 * and 5120×2 B (decode tokens of LLaMA-7B and 13B); quick: 2 KiB, 8 KiB, 10 KiB, 512 KiB, 8 MiB,
 * 64 MiB. Sizes above max_bytes (> 0) are left out. Returns the count (<= cap). */
int lf_allreduce_sizes(int quick, double max_bytes, double *bytes, int cap);
/* GPU counts to measure when `present` GPUs are visible: 2, 4, 8 that are <= present, and present
 * itself when it is not one of them (all capped at LF_HW_AR_MAX_GPUS). Returns the count. */
int lf_allreduce_gpu_counts(int present, int *counts, int cap);
/* algbw, busbw, latency_s, busbw_best(_bytes) from n_gpus, n_sizes, bytes and time_s. */
void lf_allreduce_derive(lf_allreduce_calib *a);
/* Measure (CUDA builds with NCCL; 2 <= n_gpus <= LF_HW_AR_MAX_GPUS GPUs present). Sets
 * NCCL_NVLS_ENABLE=0 unless already set. o->reps (median), o->warmup, o->quick (fewer sizes, at
 * most 64 MiB). LINFER_ERR_UNSUPPORTED when built without CUDA or NCCL is not found (the message
 * names every path tried), LINFER_ERR_DEVICE for CUDA/NCCL failures. */
lf_status lf_calibrate_allreduce(int n_gpus, const lf_calib_opts *o, lf_allreduce_calib *out);
/* Table "size, bytes, time (us), algBW (GB/s), busBW (GB/s), note" of one GPU count. */
lf_table *lf_allreduce_table(const lf_allreduce_calib *a);

typedef struct {
    int is_cpu;
    int device_index;             /* GPU index (-1 for the CPU) */
    char name[96];                /* nvidia-smi name of the GPU, or "cpu: <model name>" */
    double mem_bytes;             /* device memory the driver reports / physical memory */
    int driver_version, runtime_version;   /* CUDA driver and runtime (e.g. 13000 = 13.0) */
    int sm_count, threads;        /* SMs / CPU threads used */
    double l2_bytes;
    double read_bw;               /* B/s */
    double read_bytes;            /* buffer size of the read measurement */
    int read_threads, read_blocks;/* GPU: launch configuration that gave read_bw */
    double read_spread;           /* (max - min) / median of the repetitions of the best configuration */
    double copy_bw;               /* B/s, read + write bytes of a D2D copy (0: not measured) */
    double gemm_flops[LF_PREC_COUNT]; /* FLOP/s; GPU: fp16, bf16, fp8 (int8 not measured: 0);
                                       * CPU: fp32 sgemm, stored as fp16 and bf16 (what the CPU
                                       * backend computes a 16-bit model with). Not measured: 0,
                                       * except fp8: NAN (test with > 0) */
    int gemm_n;                   /* n of the n³ GEMMs (fp8: rounded up to a multiple of 16) */
    int cc_major, cc_minor;       /* GPU compute capability (0.0: unknown, e.g. an older file) */
    char gemm_fp8_note[192];      /* why gemm_flops[LF_PREC_FP8] was not measured ("" when it was) */
    double launch_s;              /* per kernel, back-to-back launches on one stream */
    double launch_graph_s;        /* per kernel, replaying a captured CUDA graph */
    double launch_sync_s;         /* launch + cudaStreamSynchronize round trip */
    int chain_n;                  /* kernel-chain curve (presets.h lf_hw_measured): 0 = not measured */
    double chain_bytes[LF_HW_CHAIN_MAX], chain_s[LF_HW_CHAIN_MAX];
    int allreduce_measured;       /* 1: at least one ar[n] below was measured (GPU 0's calibration) */
    lf_allreduce_calib ar[LF_HW_AR_MAX_GPUS + 1]; /* index = GPU count (2..8); n_gpus 0 = not measured */
    char ar_note[512];            /* why the all-reduce was not measured (not saved) */
    double date;                  /* seconds since the epoch when measured */
} lf_calib_result;

/* Measure GPU gpu_index. LINFER_ERR_UNSUPPORTED when built without CUDA, LINFER_ERR_DEVICE when
 * there is no such GPU. */
lf_status lf_calibrate_gpu(int gpu_index, const lf_calib_opts *o, lf_calib_result *out);
/* Measure the CPU (all OpenMP threads). */
lf_status lf_calibrate_cpu(const lf_calib_opts *o, lf_calib_result *out);

/* "cpu: <model name> (<N> threads)" from /proc/cpuinfo. */
const char *lf_cpu_name(char *buf, size_t cap);
/* Physical memory and memory available now (MemAvailable), bytes (0 when unknown). */
double lf_host_mem_total(void);
double lf_host_mem_available(void);

/* The fields presets.h knows (valid = read_bw > 0); ar_latency_by_n / ar_busbw_by_n from ar[], the
 * single ar_latency_s / ar_busbw / ar_gpus from the largest GPU count measured. */
void lf_calib_to_measured(const lf_calib_result *r, lf_hw_measured *m);
/* Cache file of a device: GPU 0: lf_hw_default_calib_path(); GPU i: the same with "-gpu<i>"
 * before ".txt" (or appended); CPU: "-cpu". */
const char *lf_calib_path(int is_cpu, int gpu_index, char *buf, size_t cap);
/* Write atomically (path.tmp, then rename), creating the directory; lf_hw_measured_load reads it. */
lf_status lf_calib_save(const char *path, const lf_calib_result *r);
/* Read a file written by lf_calib_save (or by lf_hw_measured_save: extra fields then stay 0). */
lf_status lf_calib_load(const char *path, lf_calib_result *r);

/* A roofline "hardware" entry for the CPU from a CPU calibration: hbm_bw = read bandwidth,
 * fp16/bf16 peak = sgemm rate, no launch floor, no interconnect, memory = physical memory. */
void lf_hw_cpu(const lf_calib_result *r, lf_hw *out);

/* Table "ceiling, measured, datasheet, ratio, note" of a calibration. datasheet may be NULL (a GPU
 * with no preset, or the CPU). */
lf_table *lf_calib_table(const lf_calib_result *r, const lf_hw *datasheet);

/* ---- GPU launchers: src/cuda/calibrate.cu, present in CUDA builds only ------------------------- */
/* Each runs warmup untimed and reps timed repetitions and writes, per repetition, the seconds of
 * one operation (the median of several back-to-back operations timed together with CUDA events). */
typedef struct { double l2_bytes, free_bytes, total_bytes; int sm_count; } lf_cuda_calib_props;
lf_status lf_cuda_calib_get_props(int gpu, lf_cuda_calib_props *out);
/* read-only XOR reduction over `bytes` (multiple of 16), grid blocks × threads, 16-byte loads */
lf_status lf_cuda_calib_read(int gpu, size_t bytes, int blocks, int threads, int warmup, int reps, double *t);
/* cudaMemcpyAsync of `bytes` device to device */
lf_status lf_cuda_calib_copy(int gpu, size_t bytes, int warmup, int reps, double *t);
/* cublasGemmEx n×n×n, A and B random in [-1, 1), fp16 (bf16 = 0) or bf16 (bf16 = 1), fp32 compute */
lf_status lf_cuda_calib_gemm(int gpu, int n, int bf16, int warmup, int reps, double *t);
/* cublasLtMatmul n×n×n, fp8 E4M3 A and B random in [-1, 1), D bf16, fp32 compute, "TN" layout,
 * n a multiple of 16; fast_accum: CUBLASLT_MATMUL_DESC_FAST_ACCUM. LINFER_ERR_UNSUPPORTED (not an
 * error for the calibration: "not measured") when the GPU's compute capability is below 8.9
 * ("fp8 GEMM needs compute capability >= 8.9 (this GPU: X.Y)") or cuBLASLt offers no algorithm. */
lf_status lf_cuda_calib_gemm_fp8(int gpu, int n, int fast_accum, int warmup, int reps, double *t);
/* The same GEMM (same descriptors, same heuristic, same call) once on given data, for tests:
 * a = m rows of k (weights, row-major), b = n rows of k (activations), each value converted to
 * E4M3 on the GPU (saturating; pass exactly representable values to compare exactly);
 * d = n rows of m: d[j*m + i] = sum_l a[i*k + l] * b[j*k + l], rounded to bf16 (y = x W^T).
 * m, n, k multiples of 16. Same LINFER_ERR_UNSUPPORTED cases as above. */
lf_status lf_cuda_calib_gemm_fp8_check(int gpu, int m, int n, int k, int fast_accum, const float *a, const float *b, float *d);
/* per-kernel time of n empty kernels: mode 0 back-to-back launches, 1 CUDA graph replay,
 * 2 launch + cudaStreamSynchronize each (host clock) */
lf_status lf_cuda_calib_launch(int gpu, int n, int mode, int warmup, int reps, double *t);
/* per-kernel time of n dependent read kernels (blocks x threads, `bytes` each, from a pool of at
 * least 4x the L2) replayed from one CUDA graph */
lf_status lf_cuda_calib_read_chain(int gpu, size_t bytes, int n, int blocks, int threads, int warmup, int reps, double *t);

#ifdef __cplusplus
}
#endif
#endif
