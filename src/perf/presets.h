/* presets.h — model shapes and GPU datasheets for the roofline model.
 *
 * Model presets: every model has a shape (lf_roofline_model, what the roofline needs). A model of
 * the LLaMA family also yields an lf_config, so the engine can run it with random weights.
 * Shapes of other architectures (GPT-J, GPT-NeoX, BLOOM, ChatGLM) are for the roofline only
 * until the engine runs them.
 *
 * GPU presets (lf_hw): datasheet ceilings, each figure with its source in presets.c, plus an
 * lf_hw_measured block that `linfer calibrate` fills. Both are kept; the lf_hw_eff_* accessors
 * return the measured ceiling when one is present and use_measured is set, else the datasheet's.
 * Datasheet units: bytes, bytes/s, FLOP/s (dense, no 2:4 sparsity). */
#ifndef LF_PERF_PRESETS_H
#define LF_PERF_PRESETS_H
#include <stdio.h>
#include "../core/error.h"
#include "../model/model.h"

/* Precision of weights and of the tensor-core math (activations stay 16-bit). */
typedef enum { LF_PREC_FP16 = 0, LF_PREC_BF16, LF_PREC_FP8, LF_PREC_INT8, LF_PREC_COUNT } lf_prec;
const char *lf_prec_name(lf_prec p);             /* "fp16", "bf16", "fp8", "int8" */
lf_status lf_prec_parse(const char *s, lf_prec *out);
int lf_prec_bytes(lf_prec p);                     /* bytes per weight element: 2 or 1 */

/* ---- model shapes ------------------------------------------------------------------------ */
typedef enum { LF_ARCH_LLAMA = 0, LF_ARCH_GPT = 1 } lf_arch_kind;

typedef struct {
    char name[48];
    lf_arch_kind arch;   /* LLAMA: RMSNorm, SwiGLU (3 FFN matrices); GPT: LayerNorm, 4h GELU MLP (2) */
    int n_layers, dim, n_heads, n_kv_heads, head_dim, ffn_dim;
    int vocab_size;      /* 0: leave embedding, lm_head and sampling out (seed 002's convention) */
    int max_context;
    int tie_embeddings;  /* lm_head shares the embedding table (memory counted once) */
    int rope_dims;       /* dims rotated per head (head_dim; GPT-J 64; 0 = no RoPE, e.g. ALiBi) */
    int sliding_window;  /* 0 = full attention; else attention and KV cache cover at most this */
    int engine_runs;     /* 1 if the engine can run it (lf_preset_model gives an lf_config) */
    const char *source;  /* where the figures come from */
} lf_roofline_model;

/* Shape of a config (e.g. one loaded from a model directory). */
void lf_roofline_model_from_config(const lf_config *cfg, const char *name, lf_roofline_model *out);
/* Parameter count of the shape (weights of all layers + embedding (+ lm_head if untied)). */
double lf_roofline_model_params(const lf_roofline_model *m);
/* Parse "gpt:n_layers=80,dim=16384" or "llama:n_layers=32,dim=4096,n_kv_heads=8,...".
 * Keys: n_layers, dim, n_heads (default dim/128), n_kv_heads (n_heads), head_dim (dim/n_heads),
 * ffn_dim (gpt 4·dim; llama 8/3·dim rounded up to 256), vocab (0), max_context (2048),
 * tied (1), rope_dims (llama head_dim; gpt 0 = learned positions), window (0). */
lf_status lf_parse_shape(const char *spec, lf_roofline_model *out);

typedef struct {
    const char *name;
    lf_roofline_model shape;
} lf_model_preset;
/* All model presets (n set to their count). */
const lf_model_preset *lf_model_presets(int *n);
/* Config of a LLaMA-family preset; unknown names and shape-only presets fail with a message that
 * lists the runnable names. */
lf_status lf_preset_model(const char *name, lf_config *cfg);
/* Shape of any preset (case-insensitive). */
lf_status lf_preset_shape(const char *name, lf_roofline_model *out);
/* Comma-separated preset names into buf (for messages and --help). */
const char *lf_preset_model_names(char *buf, size_t cap, int runnable_only);

/* ---- hardware ---------------------------------------------------------------------------- */
/* What `linfer calibrate` measures. 0 means "not measured".
 * All-reduce: ar_latency_by_n[n] / ar_busbw_by_n[n] were measured over n GPUs (n = 2..8; NCCL,
 * fp16, one process driving GPUs 0..n-1; file keys ar_latency_s_<n>, ar_busbw_<n>). The single
 * ar_latency_s / ar_busbw / ar_gpus are the largest count measured (the older file format, still
 * read and written). ar_gpus is also the switch: 0 means no all-reduce figure applies at all, so
 * clearing ar_gpus (e.g. `linfer roofline --link-bw`) turns the per-count figures off too.
 * One-shot all-reduce: os_time_by_n[n][k] = seconds of one call of the engine's small-message
 * kernel (the push over peer memory, fp32, inside a CUDA graph) on lf_hw_os_bytes[k] bytes over n
 * GPUs (file keys ar_oneshot_s_<n>_<bytes>); 0 = not measured. */
#define LF_HW_AR_MAX_GPUS 8
#define LF_HW_CHAIN_MAX 8
#define LF_HW_OS_SIZES 3
extern const double lf_hw_os_bytes[LF_HW_OS_SIZES];   /* 32 KiB, 128 KiB, 512 KiB: 1 to 16 rows of a 8192-wide model */
typedef struct {
    int valid;
    char gpu_name[96];            /* nvidia-smi name of the GPU measured */
    double mem_bytes;             /* device memory the driver reports */
    double read_bw;               /* B/s of a streaming read kernel */
    double gemm_flops[LF_PREC_COUNT]; /* FLOP/s of a large GEMM per precision */
    double launch_s;              /* per-kernel launch overhead */
    double ar_latency_s;          /* all-reduce time of a tiny message */
    double ar_busbw;              /* all-reduce bus bandwidth, B/s (NCCL busBW convention) */
    int ar_gpus;                  /* GPUs the all-reduce was measured across (the largest count) */
    double ar_latency_by_n[LF_HW_AR_MAX_GPUS + 1]; /* index = GPU count; 0 = not measured at that count */
    double ar_busbw_by_n[LF_HW_AR_MAX_GPUS + 1];
    double os_time_by_n[LF_HW_AR_MAX_GPUS + 1][LF_HW_OS_SIZES];
    /* Kernel-chain curve: a memory-bound kernel reading chain_bytes[i] costs chain_s[i] inside a
     * replayed CUDA graph of dependent kernels (start and drain included), sizes ascending;
     * chain_n = 0: not measured. The roofline's per-kernel overhead (roofline.h). */
    int chain_n;
    double chain_bytes[LF_HW_CHAIN_MAX], chain_s[LF_HW_CHAIN_MAX];
} lf_hw_measured;

typedef struct {
    char name[32];                /* canonical preset name, "custom" or "measured" */
    char desc[96];
    double mem_bytes;
    double hbm_bw;                /* B/s */
    double flops[LF_PREC_COUNT];  /* dense tensor FLOP/s; 0 = precision not supported */
    int nvlink_gen;               /* 0 = no NVLink */
    double nvlink_bw;             /* per GPU, both directions summed, as datasheets quote it, B/s */
    int nvlink_gpus;              /* GPUs one NVLink domain joins (8: NVSwitch/HGX, 2: bridge) */
    int pcie_gen;
    double pcie_bw;               /* per direction, x16, B/s */
    int max_gpus;                 /* GPUs in one node: the largest TP the CLI accepts */
    double ar_latency_s;          /* assumed all-reduce latency inside the NVLink domain */
    double ar_latency_pcie_s;     /* assumed all-reduce latency over PCIe (neither is a datasheet figure) */
    double launch_s;              /* assumed kernel launch overhead (not a datasheet figure) */
    const char *source;
    lf_hw_measured measured;
    int use_measured;             /* prefer measured ceilings where present */
} lf_hw;

const lf_hw *lf_hw_presets(int *n);
/* Look a GPU up by preset name or nvidia-smi name ("NVIDIA H100 80GB HBM3"), case-insensitive.
 * Unknown or ambiguous names fail with a message listing the presets. */
lf_status lf_hw_lookup(const char *name, lf_hw *out);
const char *lf_hw_preset_names(char *buf, size_t cap);
/* An lf_hw made only of measurements (datasheet fields copied from a matching preset when the
 * measured GPU name is known, else left 0). Needs read_bw and at least one GEMM figure. */
lf_status lf_hw_from_measured(const lf_hw_measured *m, lf_hw *out);

/* Effective ceilings: measured when valid and use_measured, else datasheet. */
double lf_hw_eff_bw(const lf_hw *hw);
double lf_hw_eff_flops(const lf_hw *hw, lf_prec p);
double lf_hw_eff_launch(const lf_hw *hw);
/* Time of one memory-bound kernel reading `bytes` inside a replayed graph, from the measured
 * chain curve (piecewise linear between the measured sizes; below the smallest its time; above
 * the largest its time + the extra bytes at the read bandwidth). 0 when no curve is measured or
 * use_measured is off. */
double lf_hw_chain_time(const lf_hw *hw, double bytes);
/* The roofline's per-kernel term for this hardware, in words: "kernel chain (measured): +1.41 us
 * at 16 KiB, ..." (over bytes / read bandwidth) or "launch floor 3.67 us (measured|assumed)". */
const char *lf_hw_overhead_desc(const lf_hw *hw, char *buf, size_t cap);
/* All-reduce latency over tp GPUs: the measurement at exactly tp GPUs when present (per-count
 * figure, else the single one when ar_gpus == tp), else the assumption (NVLink domain or PCIe). */
double lf_hw_eff_ar_latency(const lf_hw *hw, int tp);
/* Per-direction bandwidth an all-reduce over tp GPUs sees (NVLink within its domain, else PCIe;
 * a measured bus bandwidth replaces it when it was measured over the same number of GPUs). */
double lf_hw_eff_busbw(const lf_hw *hw, int tp);
/* 1 when a measured all-reduce latency / bus bandwidth applies at tp GPUs (what the two above use). */
int lf_hw_ar_measured_at(const lf_hw *hw, int tp, int busbw);
/* Seconds of one one-shot all-reduce of `bytes` (fp32) over tp GPUs from the measured table
 * (linear between its sizes, the smallest size's time below it), 0 when not measured at tp or
 * larger than the largest size measured (the engine then uses NCCL). */
double lf_hw_oneshot_time(const lf_hw *hw, int tp, double bytes);
/* Human string of where each ceiling comes from ("datasheet" / "measured"). */
const char *lf_hw_origin(const lf_hw *hw, char *buf, size_t cap);

/* Calibration file: "key value" lines (see docs/roofline.md). */
lf_status lf_hw_measured_save(const char *path, const lf_hw_measured *m);
lf_status lf_hw_measured_load(const char *path, lf_hw_measured *m);
/* $LINFER_CALIB, else $HOME/.cache/linfer/calibration.txt. */
const char *lf_hw_default_calib_path(char *buf, size_t cap);

#endif
