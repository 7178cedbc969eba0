/* engine.c — generation: prefill of a static batch of prompts (chunked token batches), then
 * decode steps with a KV cache, host-side sampling, stop conditions, streamed callbacks and
 * TTFT/TPOT statistics. Backend-agnostic: it only sees lf_backend_ops. */
#include "../core/clock.h"
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "backend.h"
#include "sampling.h"
#include "../tokenizer/tokenizer.h"
#include "../perf/profile.h"   /* lf_step_hook / lf_step_info: the per-step profiling hook defined here */

struct linfer_engine {
    lf_model *model;
    lf_backend *backend;
    linfer_engine_params params;
    float *logits;       /* [max_batch][vocab] */
    void *sample_scratch; /* [sample_threads][8 * vocab bytes]: lf_sample's, one per thread */
    int sample_threads;   /* host sampling: sequences sampled in parallel on this many threads */
    lf_step_hook hook;   /* profiling: called after each step (NULL: off) */
    void *hook_user;
};

static volatile sig_atomic_t g_interrupt = 0;
void linfer_request_interrupt(void) { g_interrupt = 1; }

static const char *const op_names[LF_OP_COUNT] = {
    "embedding", "norm", "qkv", "rope", "attention", "o_proj", "all_reduce",
    "gate_up", "activation", "down", "lm_head", "sampling", "residual"};
const char *lf_op_name(lf_op op) { return (unsigned)op < LF_OP_COUNT ? op_names[op] : "?"; }

linfer_engine_params linfer_engine_default_params(void) {
    linfer_engine_params p = {0};
    p.device = LINFER_DEVICE_CPU;
    p.dtype = LINFER_DTYPE_F16;
    p.max_batch = 1;
    p.cpu_attention_f16 = -1;
    return p;
}

linfer_sampling_params linfer_sampling_default_params(void) {
    linfer_sampling_params p = {0};
    p.max_new_tokens = 64;
    p.top_p = 1.0f;
    p.seed = 42;
    return p;
}

#define PREFILL_CHUNK 2048 /* tokens per prefill batch: a 2048-token prompt is one batch (one pass over the weights) */

lf_status linfer_engine_create(linfer_model *m, const linfer_engine_params *p, linfer_engine **out) {
    *out = NULL;
    if (!m || !p) return lf_fail(LINFER_ERR_INVALID_ARG, "linfer_engine_create: NULL argument");
    if (p->max_batch <= 0 || p->max_batch > 4096) return lf_fail(LINFER_ERR_INVALID_ARG, "max_batch = %d (1..4096)", p->max_batch);
    if (p->max_context < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "max_context = %d", p->max_context);
    if (p->max_context > m->cfg.max_context)
        return lf_fail(LINFER_ERR_CONTEXT, "requested context %d is longer than the model's %d", p->max_context, m->cfg.max_context);
    linfer_engine *e = calloc(1, sizeof *e);
    if (!e) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    e->model = m;
    e->params = *p;
    if (!e->params.max_context) e->params.max_context = m->cfg.max_context < 4096 ? m->cfg.max_context : 4096;
    lf_backend_params bp = {0};
    bp.max_seqs = p->max_batch;
    bp.max_context = e->params.max_context;
    bp.max_batch_tokens = PREFILL_CHUNK > p->max_batch ? PREFILL_CHUNK : p->max_batch;
    bp.n_threads = p->n_threads;
    bp.gpu_index = p->gpu_index;
    bp.dtype = p->dtype == LINFER_DTYPE_BF16 ? LF_DT_BF16 : LF_DT_F16;
    bp.tp_size = p->tp_size;
    bp.tp_rank = p->tp_rank;
    bp.tp_comm = p->tp_comm;
    if (p->tp_size > 1 && p->device != LINFER_DEVICE_CUDA)
        return free(e), lf_fail(LINFER_ERR_UNSUPPORTED, "tensor parallelism (tp %d) needs the CUDA backend", p->tp_size);
    bp.pp_size = p->pp_size;
    bp.pp_stage = p->pp_stage;
    bp.pp_micro = p->pp_micro;
    bp.pp_comm = p->pp_comm;
    bp.tp_invariant = p->tp_invariant;
    if (p->pp_size > 1 && p->device != LINFER_DEVICE_CUDA)
        return free(e), lf_fail(LINFER_ERR_UNSUPPORTED, "pipeline parallelism (pp %d) needs the CUDA backend", p->pp_size);
    bp.cpu_attention_f16 = p->cpu_attention_f16 >= 0 ? p->cpu_attention_f16
                           : (!m->random_weights && m->w.layers[0].wq.dtype >= LF_DT_Q8_0 && m->w.layers[0].wq.dtype <= LF_DT_Q4_1);
    lf_status s = p->device == LINFER_DEVICE_CUDA ? lf_cuda_backend_create(m, &bp, &e->backend) : lf_cpu_backend_create(m, &bp, &e->backend);
    if (s) { free(e); return s; }
    size_t V = (size_t)m->cfg.vocab_size;
    e->logits = malloc(sizeof(float) * V * (size_t)p->max_batch);
    /* host sampling (temperature > 0) takes ~0.3-2 ms per sequence and token at real vocabulary
     * sizes (docs/performance.md, session 22): the sequences of a step are sampled in parallel,
     * each with its own RNG, so the tokens do not depend on the thread count */
    int nthr = 1;
#ifdef _OPENMP
    nthr = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
#endif
    if (nthr > p->max_batch) nthr = p->max_batch;
    if (nthr > 64) nthr = 64;
    if (nthr < 1) nthr = 1;
    e->sample_threads = nthr;
    e->sample_scratch = malloc(8 * V * (size_t)nthr);
    if (!e->logits || !e->sample_scratch) { linfer_engine_free(e); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for logits"); }
    *out = e;
    return LINFER_OK;
}

void linfer_engine_free(linfer_engine *e) {
    if (!e) return;
    if (e->backend) e->backend->ops->destroy(e->backend);
    free(e->logits);
    free(e->sample_scratch);
    free(e);
}

void lf_engine_set_step_hook(linfer_engine *e, lf_step_hook fn, void *user) {
    e->hook = fn;
    e->hook_user = user;
    e->backend->profile = fn != NULL;
    memset(e->backend->op_ms, 0, sizeof e->backend->op_ms);
    memset(e->backend->op_calls, 0, sizeof e->backend->op_calls);
}

lf_backend *lf_engine_backend(linfer_engine *e) { return e->backend; }

/* Prefill n_seq prompts into KV slots 0..n_seq-1; logits of each prompt's last token land in
 * e->logits[i]. Tokens are packed into chunks of at most PREFILL_CHUNK. */
static lf_status prefill(linfer_engine *e, int n_seq, const int32_t *const *prompts, const size_t *lens) {
    int cap = PREFILL_CHUNK;
    int32_t *tok = malloc(sizeof(int32_t) * cap * 3 + sizeof(int32_t) * (size_t)(n_seq + 1));
    if (!tok) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t *pos = tok + cap, *seq = pos + cap, *rows = seq + cap;
    int *row_seq = malloc(sizeof(int) * (size_t)(n_seq + 1));
    float *chunk_logits = malloc(sizeof(float) * (size_t)e->model->cfg.vocab_size * (size_t)(n_seq + 1));
    lf_status s = LINFER_OK;
    if (!row_seq || !chunk_logits) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto done; }
    int n = 0, n_out = 0;
    for (int i = 0; i < n_seq && !s; i++) {
        for (size_t j = 0; j < lens[i] && !s; j++) {
            tok[n] = prompts[i][j]; pos[n] = (int32_t)j; seq[n] = i;
            if (j + 1 == lens[i]) { rows[n_out] = n; row_seq[n_out++] = i; }
            n++;
            int last = (i == n_seq - 1 && j + 1 == lens[i]);
            if (n == cap || last) {
                lf_batch b = {n, tok, pos, seq, rows, n_out};
                s = e->backend->ops->forward(e->backend, &b, chunk_logits);
                for (int r = 0; r < n_out && !s; r++)
                    memcpy(e->logits + (size_t)row_seq[r] * e->model->cfg.vocab_size, chunk_logits + (size_t)r * e->model->cfg.vocab_size,
                           sizeof(float) * e->model->cfg.vocab_size);
                n = 0; n_out = 0;
                /* Ctrl-C between prefill chunks: a long prompt stops at the next chunk, not at its end */
                if (!s && g_interrupt && !last) s = lf_fail(LINFER_ERR_INTERRUPTED, "interrupted during the prompt (prefill)");
            }
        }
    }
done:
    free(tok); free(row_seq); free(chunk_logits);
    return s;
}

static int is_stop(const lf_config *c, const linfer_sampling_params *sp, int32_t t) {
    if (!sp->ignore_eos)
        for (int i = 0; i < c->n_eos; i++) if (c->eos_ids[i] == t) return 1;
    for (int i = 0; i < sp->n_stop_ids; i++) if (sp->stop_ids[i] == t) return 1;
    return 0;
}

lf_status linfer_generate(linfer_engine *e, int n_seq, const int32_t *const *prompts, const size_t *prompt_lens,
                          const linfer_sampling_params *sp_in, linfer_token_callback cb, void *user, int32_t **out_ids,
                          size_t *out_n, linfer_gen_stats *stats) {
    linfer_sampling_params sp = sp_in ? *sp_in : linfer_sampling_default_params();
    const lf_config *c = &e->model->cfg;
    if (n_seq <= 0 || n_seq > e->params.max_batch)
        return lf_fail(LINFER_ERR_INVALID_ARG, "batch of %d prompts (this engine was made for 1..%d)", n_seq, e->params.max_batch);
    if (sp.max_new_tokens <= 0) return lf_fail(LINFER_ERR_INVALID_ARG, "number of tokens to generate must be positive (got %d)", sp.max_new_tokens);
    /* written so that NaN fails too */
    if (!(sp.top_p > 0.0f && sp.top_p <= 1.0f)) return lf_fail(LINFER_ERR_INVALID_ARG, "top_p = %g (must be in (0, 1])", sp.top_p);
    if (!(sp.temperature >= 0.0f) || isinf(sp.temperature))
        return lf_fail(LINFER_ERR_INVALID_ARG, "temperature = %g (must be finite and >= 0)", sp.temperature);
    if (sp.top_k < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "top_k = %d (must be >= 0; 0 = off)", sp.top_k);
    if (sp.n_stop_ids < 0 || (sp.n_stop_ids > 0 && !sp.stop_ids))
        return lf_fail(LINFER_ERR_INVALID_ARG, "n_stop_ids = %d with stop_ids %s", sp.n_stop_ids, sp.stop_ids ? "set" : "NULL");
    if (!prompts || !prompt_lens) return lf_fail(LINFER_ERR_INVALID_ARG, "linfer_generate: NULL prompts");
    for (int i = 0; i < n_seq; i++) {
        if (prompt_lens[i] == 0) return lf_fail(LINFER_ERR_INVALID_ARG, "prompt %d is empty", i);
        if (prompt_lens[i] + (size_t)sp.max_new_tokens > (size_t)e->params.max_context)
            return lf_fail(LINFER_ERR_CONTEXT, "prompt %d has %zu tokens; with %d new tokens that exceeds the context of %d", i,
                           prompt_lens[i], sp.max_new_tokens, e->params.max_context);
        for (size_t j = 0; j < prompt_lens[i]; j++)
            if (prompts[i][j] < 0 || prompts[i][j] >= c->vocab_size)
                return lf_fail(LINFER_ERR_INVALID_ARG, "prompt %d: token id %d out of range (vocab %d)", i, prompts[i][j], c->vocab_size);
    }
    g_interrupt = 0;
    lf_status s = LINFER_OK;
    int32_t *cur = calloc((size_t)n_seq, sizeof *cur), *pos = calloc((size_t)n_seq, sizeof *pos);
    int32_t *seq = calloc((size_t)n_seq, sizeof *seq), *rows = calloc((size_t)n_seq, sizeof *rows);
    int *active = calloc((size_t)n_seq, sizeof *active), *n_gen = calloc((size_t)n_seq, sizeof *n_gen);
    lf_rng *rng = calloc((size_t)n_seq, sizeof *rng);
    lf_tok_decoder *dec = calloc((size_t)n_seq, sizeof *dec);
    int32_t *next_ids = calloc((size_t)n_seq, sizeof *next_ids), *step_ids = calloc((size_t)n_seq, sizeof *step_ids);
    int32_t *btok = calloc((size_t)n_seq * 2, sizeof *btok); /* one decode batch: tokens, then positions */
    double *draws = calloc((size_t)n_seq, sizeof *draws);    /* one decode batch: the uniform draws of device sampling */
    char *text = malloc(LF_TOK_DECODE_MAX); /* always enough for one token's text */
    if (out_ids) for (int i = 0; i < n_seq; i++) { out_ids[i] = malloc(sizeof(int32_t) * (size_t)sp.max_new_tokens); out_n[i] = 0; }
    if (!cur || !pos || !seq || !rows || !active || !n_gen || !rng || !dec || !next_ids || !step_ids || !text || !btok || !draws) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto done; }
    for (int i = 0; i < n_seq; i++) {
        if (out_ids && !out_ids[i]) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); goto done; }
        lf_rng_seed(&rng[i], sp.seed + (uint64_t)i * 1000003ull);
        if (e->model->tok) lf_tok_decoder_init(&dec[i], e->model->tok, 0);
        active[i] = 1;
        pos[i] = (int32_t)prompt_lens[i];
    }
    lf_sampler_cfg scfg = {sp.temperature, sp.top_k, sp.top_p};
    /* a backend that chooses the token on the device (argmax, or the host sampler's rule with the
     * uniform draw taken here from the sequence's RNG, so the same stream of draws): only ids come back */
    const int device_ids = e->backend->ops->forward_ids != NULL && !sp.host_sampling;
    const int device_draws = device_ids && sp.temperature > 0.0f;
    int have_ids = 0;
    /* profiling (e->hook): the step being timed, reported to the hook when it ends */
    int hk_seqs = n_seq, hk_tokens = 0, hk_forwards, hk_sampled = 0;
    long hk_ctx = 0;
    for (int i = 0; i < n_seq; i++) { hk_tokens += (int)prompt_lens[i]; hk_ctx += (long)prompt_lens[i]; }
    hk_forwards = (hk_tokens + PREFILL_CHUNK - 1) / PREFILL_CHUNK;
    if (e->hook) {
        memset(e->backend->op_ms, 0, sizeof e->backend->op_ms);
        memset(e->backend->op_calls, 0, sizeof e->backend->op_calls);
    }
    double t0 = lf_now_ms(), hk_t0 = t0;
    if ((s = prefill(e, n_seq, prompts, prompt_lens))) goto done;
    double t_first = 0, t_dec0 = 0;
    int steps = 0, n_active = n_seq, total_gen = 0;
    for (;;) {
        /* one token for each active sequence: the device's greedy ids, or sampled here from
         * e->logits[i] (the sequences in parallel, each with its own RNG and scratch) */
        if (!have_ids) {
            const double ts = e->hook ? lf_now_ms() : 0;
            const size_t V = (size_t)c->vocab_size;
            int nthr = e->sample_threads < n_active ? e->sample_threads : n_active;
            if (nthr < 1) nthr = 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(dynamic, 1)
#endif
            for (int i = 0; i < n_seq; i++) {
                if (!active[i]) continue;
                int th = 0;
#ifdef _OPENMP
                th = omp_get_thread_num();
#endif
                next_ids[i] = lf_sample(e->logits + (size_t)i * V, c->vocab_size, &scfg, &rng[i],
                                          (char *)e->sample_scratch + (size_t)th * 8 * V);
            }
            if (e->hook) { e->backend->op_ms[LF_OP_SAMPLING] += lf_now_ms() - ts; hk_sampled += n_active; }
        }
        for (int i = 0; i < n_seq; i++) {
            if (!active[i]) continue;
            const int32_t t = next_ids[i];
            cur[i] = t;
            n_gen[i]++;
            total_gen++;
            int stop = is_stop(c, &sp, t);
            if (!stop && out_ids) out_ids[i][out_n[i]++] = t;
            text[0] = 0;
            if (!stop && e->model->tok && lf_tok_decoder_push(&dec[i], t, text, LF_TOK_DECODE_MAX) < 0) text[0] = 0; /* id the tokenizer lacks */
            if (cb && cb(user, i, t, stop ? "" : text)) stop = 1;
            if (stop || n_gen[i] >= sp.max_new_tokens) { active[i] = 0; n_active--; }
        }
        if (steps == 0) { t_first = lf_now_ms(); t_dec0 = t_first; }
        if (e->hook) { /* one step ends here: the prefill (with the first sampling) or a decode step */
            lf_step_info si = {steps == 0 ? LF_STEP_PREFILL : LF_STEP_DECODE, steps, hk_seqs, hk_tokens, hk_forwards, hk_ctx,
                               hk_sampled, lf_now_ms() - hk_t0, e->backend->op_ms,
                               e->backend->counts_calls ? e->backend->op_calls : NULL};
            e->hook(e->hook_user, &si);
            memset(e->backend->op_ms, 0, sizeof e->backend->op_ms);
            memset(e->backend->op_calls, 0, sizeof e->backend->op_calls);
            hk_sampled = 0;
            hk_t0 = lf_now_ms();   /* the hook's own time belongs to no step */
        }
        if (g_interrupt) { s = lf_fail(LINFER_ERR_INTERRUPTED, "interrupted after %d decode steps", steps); break; }
        if (n_active == 0) break;
        int n = 0;
        for (int i = 0; i < n_seq; i++) {
            if (!active[i]) continue;
            seq[n] = i;
            rows[n] = n;
            n++;
        }
        int32_t *bpos = btok + n;
        for (int j = 0; j < n; j++) { btok[j] = cur[seq[j]]; bpos[j] = pos[seq[j]]; }
        lf_batch b = {n, btok, bpos, seq, rows, n};
        if (e->hook) {
            hk_seqs = hk_tokens = n;
            hk_forwards = 1;
            hk_ctx = 0;
            for (int j = 0; j < n; j++) hk_ctx += bpos[j] + 1;
        }
        if (device_ids) {
            if (device_draws) for (int j = 0; j < n; j++) draws[j] = lf_rng_uniform(&rng[seq[j]]);
            s = e->backend->ops->forward_ids(e->backend, &b, device_draws ? &scfg : NULL, device_draws ? draws : NULL, step_ids);
            for (int j = 0; j < n && !s; j++) next_ids[seq[j]] = step_ids[j];
            have_ids = 1;
        } else {
            float *step_logits = e->logits; /* rows come back packed; scatter in place from the end */
            s = e->backend->ops->forward(e->backend, &b, step_logits);
            for (int j = n - 1; j >= 0 && !s; j--)
                if (seq[j] != j) memmove(e->logits + (size_t)seq[j] * c->vocab_size, e->logits + (size_t)j * c->vocab_size, sizeof(float) * c->vocab_size);
        }
        if (s) break;
        for (int j = 0; j < n; j++) pos[seq[j]]++;
        steps++;
    }
    double t_end = lf_now_ms();
    if (stats) {
        memset(stats, 0, sizeof *stats);
        for (int i = 0; i < n_seq; i++) stats->prompt_tokens += (int)prompt_lens[i];
        stats->generated_tokens = total_gen;
        stats->decode_steps = steps;
        stats->ttft_ms = t_first - t0;
        stats->decode_ms = t_end - t_dec0;
        stats->prefill_tok_s = stats->ttft_ms > 0 ? stats->prompt_tokens / (stats->ttft_ms / 1e3) : 0;
        stats->tpot_ms = steps ? stats->decode_ms / steps : 0;
        stats->decode_tok_s = stats->decode_ms > 0 ? (total_gen - n_seq) / (stats->decode_ms / 1e3) : 0;
    }
done:
    free(cur); free(pos); free(seq); free(rows); free(active); free(n_gen); free(rng); free(dec);
    free(next_ids); free(step_ids); free(text); free(btok); free(draws);
    return s;
}

lf_status linfer_prompt_logits(linfer_engine *e, const int32_t *ids, size_t n, float **logits) {
    *logits = NULL;
    if (n == 0) return lf_fail(LINFER_ERR_INVALID_ARG, "empty prompt");
    if (n > (size_t)e->params.max_context) return lf_fail(LINFER_ERR_CONTEXT, "prompt of %zu tokens exceeds the context of %d", n, e->params.max_context);
    const int32_t *p[1] = {ids};
    size_t lens[1] = {n};
    LF_TRY(prefill(e, 1, p, lens));
    size_t V = (size_t)e->model->cfg.vocab_size;
    float *out = malloc(sizeof(float) * V);
    if (!out) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(out, e->logits, sizeof(float) * V);
    *logits = out;
    return LINFER_OK;
}
