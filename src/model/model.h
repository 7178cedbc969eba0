/* model.h — the LLaMA-family model as plain structs: hyper-parameters, and where each weight
 * lives in the (memory-mapped) files. Backends turn these sources into their own layouts
 * (fp32 on the CPU, fp16/bf16 on the GPU), so a 7B fp16 file never becomes 28 GB of fp32.
 *
 * Weight layout convention (both HF safetensors and GGUF store it this way):
 *   a linear layer y = W x with W of shape [out, in] is stored row-major, rows of `in` elements.
 * RoPE convention: HF checkpoints pair dimension i with i + head_dim/2 ("neox"/rotate_half);
 * GGUF llama files have Q/K rows permuted by the converter so pairs are (2i, 2i+1) ("interleaved"). */
#ifndef LF_MODEL_H
#define LF_MODEL_H
#include <stdint.h>
#include "../core/dtype.h"
#include "../core/error.h"
#include "../core/mapfile.h"

#define LF_MAX_LAYERS 256
#define LF_MAX_EOS 8

typedef enum { LF_ROPE_NEOX = 0, LF_ROPE_INTERLEAVED = 1 } lf_rope_style;
typedef enum { LF_ROPE_SCALING_NONE = 0, LF_ROPE_SCALING_LLAMA3 = 1, LF_ROPE_SCALING_LINEAR = 2 } lf_rope_scaling;

typedef struct {
    char arch[32];          /* "llama" */
    int n_layers;
    int dim;                /* hidden size */
    int n_heads;            /* query heads */
    int n_kv_heads;         /* key/value heads (GQA: divides n_heads) */
    int head_dim;           /* dim / n_heads unless the file says otherwise */
    int ffn_dim;            /* SwiGLU intermediate size */
    int vocab_size;
    int max_context;        /* max_position_embeddings / context_length */
    float norm_eps;         /* RMSNorm epsilon */
    float rope_theta;
    lf_rope_style rope_style;
    lf_rope_scaling rope_scaling;
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_orig_context;  /* llama3 original_max_position_embeddings */
    int tie_embeddings;     /* lm_head shares the token embedding */
    int qkv_bias;           /* q/k/v (and o) projections have biases */
    int bos_id;             /* -1 if none */
    int add_bos;            /* tokenizer prepends BOS */
    int eos_ids[LF_MAX_EOS]; int n_eos;
} lf_config;

/* One weight as stored in a file: dtype, shape (ne[0] innermost), and a pointer into a mapping. */
typedef struct {
    lf_dtype dtype;
    int n_dims;
    int64_t ne[4];
    const void *data;       /* NULL when the model has random weights */
    uint64_t nbytes;
} lf_tensor_src;

typedef struct {
    lf_tensor_src attn_norm; /* [dim] */
    lf_tensor_src wq;        /* [n_heads*head_dim, dim] */
    lf_tensor_src wk;        /* [n_kv_heads*head_dim, dim] */
    lf_tensor_src wv;        /* [n_kv_heads*head_dim, dim] */
    lf_tensor_src bq, bk, bv;/* optional biases, data NULL and n_dims 0 if absent */
    lf_tensor_src wo;        /* [dim, n_heads*head_dim] */
    lf_tensor_src bo;        /* optional o_proj bias [dim] (HF attention_bias=true biases q, k, v and o) */
    lf_tensor_src ffn_norm;  /* [dim] */
    lf_tensor_src w_gate;    /* [ffn_dim, dim] */
    lf_tensor_src w_up;      /* [ffn_dim, dim] */
    lf_tensor_src w_down;    /* [dim, ffn_dim] */
} lf_layer_src;

typedef struct {
    lf_tensor_src tok_embd;  /* [vocab, dim] */
    lf_layer_src *layers;    /* n_layers */
    lf_tensor_src out_norm;  /* [dim] */
    lf_tensor_src lm_head;   /* [vocab, dim]; same as tok_embd when tied */
} lf_weight_srcs;

struct lf_tokenizer;

typedef struct linfer_model {
    lf_config cfg;
    lf_weight_srcs w;
    int random_weights;        /* no file data: backends synthesise weights from random_seed */
    uint64_t random_seed;
    lf_dtype random_dtype;
    struct lf_tokenizer *tok;  /* may be NULL */
    char *path;
    /* owned resources */
    lf_mapped_file *maps; int n_maps;
    void *format_state;        /* parsed GGUF index etc. */
    void (*free_format_state)(void *);
} lf_model;

/* Load from an HF directory or a .gguf file (dispatches on the path). */
lf_status lf_model_load(const char *path, int load_tokenizer, lf_model **out);
/* A model with the given config and no data (random weights on the backend). */
lf_status lf_model_create_random(const lf_config *cfg, lf_dtype dtype, uint64_t seed, lf_model **out);
void lf_model_free(lf_model *m);

/* Check that cfg is self-consistent (divisibility, ranges); names the offending field. */
lf_status lf_config_validate(const lf_config *cfg, const char *origin);
/* Expected element count of each weight given cfg; fills shapes and checks a source against it. */
lf_status lf_check_tensor(const lf_tensor_src *t, const char *name, int64_t ne0, int64_t ne1, const char *origin);

/* Parameter count and KV bytes/token (per element size). */
double lf_config_n_params(const lf_config *cfg);
double lf_config_kv_bytes_per_token(const lf_config *cfg, int bytes_per_elem);

/* Materialise a source as fp32 (malloc'd), dequantising as needed. */
lf_status lf_tensor_to_f32(const lf_tensor_src *t, float **out);
uint64_t lf_tensor_numel(const lf_tensor_src *t);

/* Loader internals shared by the two formats */
lf_status lf_load_gguf(const char *path, int load_tokenizer, lf_model *m);
lf_status lf_load_hf_dir(const char *path, int load_tokenizer, lf_model *m);
#endif
