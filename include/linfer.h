/* linfer.h — the public C API of linfer, an LLM inference engine and performance lab.
 *
 * Opaque handles, *_default_params() constructors, and status codes with messages.
 * Library code never exits the process: every failure comes back as a linfer_status,
 * and linfer_last_error() gives a one-line message naming the culprit (file, tensor, limit).
 */
#ifndef LINFER_H
#define LINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LINFER_OK = 0,
    LINFER_ERR_INVALID_ARG,   /* a caller passed a bad value (n <= 0, unknown name, ...) */
    LINFER_ERR_IO,            /* file missing, unreadable, a directory, short read */
    LINFER_ERR_FORMAT,        /* corrupt or inconsistent file contents */
    LINFER_ERR_UNSUPPORTED,   /* valid file, but an architecture/field/dtype we refuse */
    LINFER_ERR_OUT_OF_MEMORY, /* host or device allocation failed (message says needed vs free) */
    LINFER_ERR_CONTEXT,       /* prompt or generation longer than the context window */
    LINFER_ERR_DEVICE,        /* CUDA / cuBLAS / NCCL call failed, or no such device */
    LINFER_ERR_INTERRUPTED,   /* stopped by the user (SIGINT) */
    LINFER_ERR_INTERNAL       /* a bug: an invariant did not hold */
} linfer_status;

/* Short fixed name of a status ("format error", ...). */
const char *linfer_status_name(linfer_status s);
/* The detailed message of the last failure on this thread ("" if none). */
const char *linfer_last_error(void);

/* ---- models ----------------------------------------------------------------------------- */
typedef struct linfer_model linfer_model; /* config + weights (memory-mapped sources) + tokenizer */

typedef enum { LINFER_DEVICE_CPU = 0, LINFER_DEVICE_CUDA = 1 } linfer_device;
typedef enum { LINFER_DTYPE_F32 = 0, LINFER_DTYPE_F16 = 1, LINFER_DTYPE_BF16 = 2 } linfer_compute_dtype;

typedef struct {
    const char *path;        /* HF directory, .gguf file */
    int load_tokenizer;      /* 1: also load the tokenizer (default 1) */
} linfer_model_params;

linfer_model_params linfer_model_default_params(void);
linfer_status linfer_model_load(const linfer_model_params *p, linfer_model **out);
void linfer_model_free(linfer_model *m);

typedef struct {
    char arch[32];
    int n_layers, dim, n_heads, n_kv_heads, head_dim, ffn_dim, vocab_size, max_context;
    double n_params;          /* parameter count */
    double weight_bytes_f16;  /* bytes of weights at 2 bytes/param */
    double kv_bytes_per_token_f16; /* K+V, all layers, 2 bytes/element */
} linfer_model_info;
linfer_status linfer_model_get_info(const linfer_model *m, linfer_model_info *out);

/* ---- tokenizer ---------------------------------------------------------------------------- */
/* Encode UTF-8 text. add_bos: prepend BOS if the model wants it; parse_special: recognise
 * special-token text like "<|im_start|>". *ids is malloc'd; free with free(). */
linfer_status linfer_tokenize(const linfer_model *m, const char *text, size_t len, int add_bos,
                              int parse_special, int32_t **ids, size_t *n_ids);

/* ---- generation --------------------------------------------------------------------------- */
typedef struct linfer_engine linfer_engine;

typedef struct {
    linfer_device device;
    linfer_compute_dtype dtype;  /* CUDA: F16 or BF16; CPU computes in F32 */
    int max_batch;               /* sequences decoded together (default 1) */
    int max_context;             /* KV cache length per sequence (0 = model's, capped at 4096) */
    int n_threads;               /* CPU threads (0 = all cores) */
    int gpu_index;
    /* CPU attention precision: 1 = fp16 KV cache and fp16 attention operands (what llama.cpp
     * does by default, and what a GPU fp16 kernel does), 0 = fp32 reference, -1 = auto (fp16 for
     * GGUF files with quantised weights, fp32 otherwise; the default). */
    int cpu_attention_f16;
    /* Tensor parallelism (CUDA): this process is rank tp_rank of tp_size (default 1: none), one
     * GPU each (gpu_index), and tp_comm is the NCCL communicator (an ncclComm_t) joining the
     * ranks, from the launcher (src/dist/launcher.h). Every rank runs the same generate calls. */
    int tp_size, tp_rank;
    void *tp_comm;
    /* Pipeline parallelism (CUDA): the layers split into pp_size stages, this process is stage
     * pp_stage (default 1 stage: none), pp_comm the NCCL communicator of the stages (rank = stage);
     * a step goes through the stages as pp_micro micro-batches of whole sequences (0: as many as
     * stages for steps of >= 128 tokens, 1 below; 1: the naive split, one stage busy at a time).
     * With tp_size > 1 too, each stage is tp_size GPUs: pp_comm joins all pp_size x tp_size ranks
     * (rank = stage x tp_size + tp_rank) and tp_comm may be NULL (the backend splits the stage's
     * group off pp_comm). */
    int pp_size, pp_stage, pp_micro;
    void *pp_comm;
    /* TP-invariant mode (CUDA, default 0): every linear layer, all-reduce and attention computed in
     * one fixed order, so that the logits and tokens are bit for bit the same at any tensor and
     * pipeline parallel degree (1, 2, 4, 8) and batch composition. Slower (its own GEMV for every
     * layer, all-gathers instead of the one-shot all-reduce): meant for correctness runs. */
    int tp_invariant;
} linfer_engine_params;

linfer_engine_params linfer_engine_default_params(void);
linfer_status linfer_engine_create(linfer_model *m, const linfer_engine_params *p, linfer_engine **out);
void linfer_engine_free(linfer_engine *e);

typedef struct {
    int max_new_tokens;  /* default 64 */
    float temperature;   /* 0 = greedy (default) */
    int top_k;           /* 0 = off */
    float top_p;         /* 1 = off */
    uint64_t seed;
    int ignore_eos;      /* benchmarks: never stop early */
    const int32_t *stop_ids; int n_stop_ids;
    /* 1: sample on the host from logits copied back every step, even where the backend can choose
     * the token on the device (CUDA: argmax, and temperature/top-k/top-p with the same rule and
     * the same uniform draws, so the same tokens but within ~1e-7 of a boundary). Default 0. */
    int host_sampling;
} linfer_sampling_params;
linfer_sampling_params linfer_sampling_default_params(void);

/* Called for each new token of each sequence, in order; text is the UTF-8 that became complete
 * with this token (may be ""). Return non-zero to stop that sequence. */
typedef int (*linfer_token_callback)(void *user, int seq, int32_t token, const char *text);

typedef struct {
    double ttft_ms;          /* prefill of the whole batch until first tokens are known */
    double decode_ms;        /* all decode steps */
    int prompt_tokens;       /* summed over the batch */
    int generated_tokens;    /* summed over the batch */
    int decode_steps;
    double prefill_tok_s, decode_tok_s, tpot_ms;
} linfer_gen_stats;

/* Generate for a static batch of prompts (token ids). out_ids[i] (malloc'd, may be NULL) receive
 * the generated ids of sequence i and out_n[i] their count. */
linfer_status linfer_generate(linfer_engine *e, int n_seq, const int32_t *const *prompts,
                              const size_t *prompt_lens, const linfer_sampling_params *sp,
                              linfer_token_callback cb, void *user, int32_t **out_ids, size_t *out_n,
                              linfer_gen_stats *stats);

/* Logits of the last prompt position for one prompt (fp32, vocab_size values, malloc'd). */
linfer_status linfer_prompt_logits(linfer_engine *e, const int32_t *ids, size_t n, float **logits);

/* Ask the generate loop of any engine to stop at the next step (signal-safe). */
void linfer_request_interrupt(void);

#ifdef __cplusplus
}
#endif
#endif
