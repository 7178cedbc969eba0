/* roofline.c — per-op FLOPs, bytes and time of prefill and decode, memory, thresholds.
 * All quantities are per GPU. Formulas: docs/roofline.md. */
#include "roofline.h"
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[LF_OP_COUNT] = {
    "embedding", "norm", "qkv", "rope", "attention", "o_proj", "all_reduce",
    "gate_up", "activation", "down", "lm_head", "sampling", "residual",
};
static const char *const bound_names[LF_BOUND_COUNT] = {"-", "compute", "memory", "communication", "latency"};

const char *lf_roofline_op_name(lf_op op) {
    return (op >= 0 && op < LF_OP_COUNT) ? op_names[op] : "?";
}

const char *lf_bound_name(lf_bound b) {
    return (b >= 0 && b < LF_BOUND_COUNT) ? bound_names[b] : "?";
}

lf_status lf_allreduce_model_parse(const char *s, lf_allreduce_model *out) {
    if (s && strcasecmp(s, "ring") == 0) { *out = LF_AR_RING; return LINFER_OK; }
    if (s && (strcasecmp(s, "twophase") == 0 || strcasecmp(s, "two-phase") == 0)) { *out = LF_AR_TWOPHASE; return LINFER_OK; }
    return lf_fail(LINFER_ERR_INVALID_ARG, "unknown all-reduce model '%s' (known: ring, twophase)", s ? s : "");
}

void lf_roofline_default_opts(lf_roofline_opts *o) {
    memset(o, 0, sizeof *o);
    o->launch_s = -1;
    o->kernel_s = -1;
    o->ar_latency_s = -1;
    o->busbw = -1;
    o->ar_model = LF_AR_RING;
    o->kv_bytes = 2;
    o->act_bytes = 2;
    o->causal_skip = 1;
    o->mem_util = 0.90;
    o->workspace_bytes = 512.0 * 1024 * 1024;
    o->knee = 0.10;
    o->pp = 1;
    o->pp_micro = 0;
}

enum { OV_LAUNCH = 0, OV_CHAIN = 1, OV_FLAT = 2 };   /* per-kernel term of the model (roofline.h) */

/* ---- validation -------------------------------------------------------------------------------- */
static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

static lf_status check(const lf_roofline_model *m, const lf_hw *hw, int tp, lf_prec prec, int max_tp, int have_busbw) {
    if (m->n_layers <= 0 || m->dim <= 0 || m->n_heads <= 0 || m->n_kv_heads <= 0 || m->head_dim <= 0 || m->ffn_dim <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "model %s: layers, dim, heads, kv heads, head_dim and ffn must be positive", m->name);
    if (m->n_heads % m->n_kv_heads)
        return lf_fail(LINFER_ERR_INVALID_ARG, "model %s: %d heads are not a multiple of %d KV heads", m->name, m->n_heads, m->n_kv_heads);
    if (!is_pow2(tp))
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: tensor parallelism must be a power of two", tp);
    if (max_tp > 0 && tp > max_tp)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: larger than the %d GPUs of one %s node", tp, max_tp, hw->name);
    if (m->n_heads % tp)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's %d attention heads are not divisible by %d", tp, m->name, m->n_heads, tp);
    if (m->n_kv_heads % tp && tp % m->n_kv_heads)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's %d KV heads neither divide among nor replicate over %d GPUs",
                       tp, m->name, m->n_kv_heads, tp);
    if (m->ffn_dim % tp)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: %s's FFN width %d is not divisible by %d", tp, m->name, m->ffn_dim, tp);
    if (lf_hw_eff_bw(hw) <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "GPU %s: no memory bandwidth (give --hbm-bw)", hw->name);
    if (lf_hw_eff_flops(hw, prec) <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "GPU %s: no %s tensor-core throughput%s", hw->name, lf_prec_name(prec),
                       strcmp(hw->name, "custom") == 0 ? " (give --flops)" : " (the datasheet lists none)");
    if (tp > 1 && !have_busbw && lf_hw_eff_busbw(hw, tp) <= 0)
        return lf_fail(LINFER_ERR_INVALID_ARG, "GPU %s: no interconnect bandwidth for tp=%d (give --link-bw)", hw->name, tp);
    return LINFER_OK;
}

lf_status lf_roofline_check(const lf_roofline_model *m, const lf_hw *hw, int tp, lf_prec prec, int max_tp) {
    return check(m, hw, tp, prec, max_tp, 0);
}

lf_status lf_roofline_check_point(const lf_roofline_model *m, int batch, int in_len, int out_len) {
    if (batch < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "--batch %d: must be at least 1", batch);
    if (in_len < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "--in %d: must be at least 1", in_len);
    if (out_len < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "--out %d: must be at least 1", out_len);
    if (m->max_context > 0 && (long)in_len + out_len > m->max_context)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--in %d + --out %d exceeds %s's context of %d", in_len, out_len,
                       m->name, m->max_context);
    return LINFER_OK;
}

/* ---- the cost model --------------------------------------------------------------------------- */
typedef struct {
    const lf_roofline_model *m;
    const lf_hw *hw;
    lf_roofline_opts o;
    int tp;
    lf_prec prec;
    double F, BW, launch, lat, busbw;   /* ceilings */
    int ovm;                            /* per-kernel term: OV_LAUNCH, OV_CHAIN, OV_FLAT */
    double e, eo, a, kvb;               /* bytes: weight, embedding/lm_head, activation, KV element */
    double h, hd, nh, nkv, f, V, Vg, L; /* per-GPU heads/FFN/vocab shard; L layers */
    int gated;                          /* SwiGLU: gate and up */
    double norm_flops;                  /* per element: RMSNorm 4, LayerNorm 7 */
    double norm_wvec;                   /* weight vectors per norm: RMSNorm 1, LayerNorm 2 */
} rc;

static lf_status setup(rc *c, const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts, int tp, lf_prec prec) {
    LF_TRY(check(m, hw, tp, prec, 0, opts && opts->busbw > 0));
    memset(c, 0, sizeof *c);
    c->m = m;
    c->hw = hw;
    if (opts) c->o = *opts;
    else lf_roofline_default_opts(&c->o);
    if (c->o.kv_bytes <= 0) c->o.kv_bytes = 2;
    if (c->o.act_bytes <= 0) c->o.act_bytes = 2;
    c->tp = tp;
    c->prec = prec;
    c->F = lf_hw_eff_flops(hw, prec);
    c->BW = lf_hw_eff_bw(hw);
    c->launch = c->o.launch_s >= 0 ? c->o.launch_s : lf_hw_eff_launch(hw);
    if (c->o.kernel_s >= 0) c->ovm = OV_FLAT;
    else if (c->o.launch_s < 0 && lf_hw_chain_time(hw, 1) > 0) c->ovm = OV_CHAIN;
    else c->ovm = OV_LAUNCH;
    c->lat = c->o.ar_latency_s >= 0 ? c->o.ar_latency_s : lf_hw_eff_ar_latency(hw, tp);
    c->busbw = c->o.busbw > 0 ? c->o.busbw : lf_hw_eff_busbw(hw, tp);
    c->e = lf_prec_bytes(prec);
    c->eo = 2;          /* embedding and lm_head stay 16-bit in fp8/int8 deployments */
    c->a = c->o.act_bytes;
    c->kvb = c->o.kv_bytes;
    c->h = m->dim;
    c->hd = m->head_dim;
    c->nh = (double)m->n_heads / tp;
    c->nkv = m->n_kv_heads % tp == 0 ? (double)m->n_kv_heads / tp : 1;   /* fewer KV heads than GPUs: replicated */
    c->f = (double)m->ffn_dim / tp;
    c->V = m->vocab_size;
    c->Vg = ceil((double)m->vocab_size / tp);
    c->L = m->n_layers;
    c->gated = m->arch == LF_ARCH_LLAMA;
    c->norm_flops = m->arch == LF_ARCH_LLAMA ? 4 : 7;
    c->norm_wvec = m->arch == LF_ARCH_LLAMA ? 1 : 2;
    return LINFER_OK;
}

typedef struct { double fl, bw, ba, bkr, bkw; int k; } inst;   /* one kernel group's work */

double lf_roofline_op_time(int overhead_added, double tc, double tm, double tl) {
    return overhead_added ? fmax(tc, tm) + tl : fmax(tc, fmax(tm, tl));
}

static void add_inst(const rc *c, lf_op_cost *op, inst x, int reps, int per_layer) {
    double tc = x.fl / c->F;
    const double bytes = x.bw + x.ba + x.bkr + x.bkw;
    double tm = bytes / c->BW;
    /* launch floor: k launches; else each of the k kernels pays its start and drain: the chain
     * curve's time for its share of the bytes over what those bytes take at the read bandwidth
     * (or the flat figure) */
    double tl;
    if (c->ovm == OV_LAUNCH) tl = x.k * c->launch;
    else if (x.k <= 0) tl = 0;
    else if (c->ovm == OV_FLAT) tl = x.k * c->o.kernel_s;
    else {
        const double per = bytes / x.k;
        tl = x.k * fmax(0.0, lf_hw_chain_time(c->hw, per) - per / c->BW);
    }
    const double t = lf_roofline_op_time(c->ovm != OV_LAUNCH, tc, tm, tl);
    op->flops += reps * x.fl;
    op->bytes_weight += reps * x.bw;
    op->bytes_act += reps * x.ba;
    op->bytes_kv_read += reps * x.bkr;
    op->bytes_kv_write += reps * x.bkw;
    op->kernels += reps * x.k;
    op->t_compute += reps * tc;
    op->t_memory += reps * tm;
    op->t_launch += reps * tl;
    op->time += reps * t;
    if (per_layer) { op->per_layer_s += t; op->layers = (int)c->L; }
    else if (!op->layers) op->layers = 1;
}

/* One collective of msg bytes: *lat and *bwt, its latency and bandwidth terms under the chosen
 * model, or the engine's one-shot kernel (all latency) where it was measured and is faster.
 * Returns 1 when the one-shot kernel is the one counted. gather: all-gather instead of all-reduce. */
static int collective_cost(const rc *c, double msg, int gather, double *lat, double *bwt) {
    const double p = c->tp;
    if (c->o.ar_model == LF_AR_TWOPHASE) {
        *lat = (gather ? 1 : 2) * c->lat;
        *bwt = (gather ? 1 : 2) * msg / c->busbw;
    } else {
        *lat = c->lat;
        *bwt = (gather ? 1 : 2) * (p - 1) / p * msg / c->busbw;
    }
    const double tos = gather ? 0 : lf_hw_oneshot_time(c->hw, c->tp, msg);
    if (!(tos > 0 && tos < *lat + *bwt)) return 0;
    *lat = tos;
    *bwt = 0;
    return 1;
}

/* count collectives of msg bytes each, repeated reps times. gather: all-gather instead of all-reduce. */
static void add_collective(const rc *c, lf_op_cost *op, double msg, int count, int reps, int gather, int per_layer) {
    if (c->tp <= 1 || count <= 0 || msg <= 0) return;
    double lat, bwt;
    collective_cost(c, msg, gather, &lat, &bwt);
    double n = (double)count * reps;
    op->t_comm_lat += n * lat;
    op->t_comm_bw += n * bwt;
    op->time += n * (lat + bwt);
    op->comm_bytes += n * msg;
    op->comm_count += count * reps;
    op->kernels += count * reps;
    if (per_layer) { op->per_layer_s += count * (lat + bwt); op->layers = (int)c->L; }
    else if (!op->layers) op->layers = 1;
}

/* Σ_{x=lo}^{hi} min(x, W); W <= 0: no window. */
static double sum_min(double lo, double hi, double W) {
    if (hi < lo) return 0;
    if (W <= 0 || hi <= W) return (lo + hi) * (hi - lo + 1) / 2;
    if (lo > W) return (hi - lo + 1) * W;
    return (lo + W) * (W - lo + 1) / 2 + (hi - W) * W;
}

static void finish_phase(lf_roofline_phase *ph) {
    ph->flops = ph->bytes = ph->comm_bytes = ph->time = 0;
    memset(ph->t_bound, 0, sizeof ph->t_bound);
    for (int i = 0; i < LF_OP_COUNT; i++) {
        lf_op_cost *op = &ph->op[i];
        double bytes = op->bytes_weight + op->bytes_act + op->bytes_kv_read + op->bytes_kv_write;
        op->intensity = bytes > 0 ? op->flops / bytes : 0;
        if (op->time <= 0) op->bound = LF_BOUND_NONE;
        else if (i == LF_OP_ALL_REDUCE) op->bound = op->t_comm_bw >= op->t_comm_lat ? LF_BOUND_COMM : LF_BOUND_LATENCY;
        else if (op->t_launch > op->t_compute && op->t_launch > op->t_memory) op->bound = LF_BOUND_LATENCY;
        else op->bound = op->t_compute >= op->t_memory ? LF_BOUND_COMPUTE : LF_BOUND_MEMORY;
        ph->flops += op->flops;
        ph->bytes += bytes;
        ph->comm_bytes += op->comm_bytes;
        ph->time += op->time;
        ph->t_bound[op->bound] += op->time;
    }
    ph->bound = LF_BOUND_NONE;
    for (int b = 1; b < LF_BOUND_COUNT; b++)
        if (ph->t_bound[b] > ph->t_bound[ph->bound]) ph->bound = (lf_bound)b;
}

/* the most rows whose decode step has SwiGLU fused into gate/up (the CUDA backend's skinny GEMM,
 * LF_CUDA_GEMV_MMA_MAX_M) */
#define ROOF_FUSED_ACT_ROWS 16
#define ROOF_ONESHOT_ROWS 16   /* tokens up to which the engine's residual all-reduce goes one-shot, the norm inside (src/cuda/backend.cu) */

/* batch sequences, q new tokens each, attending over ctx positions (ctx >= q). */
static void step(const rc *c, int batch, int q, int ctx, lf_roofline_phase *ph) {
    memset(ph, 0, sizeof *ph);
    ph->batch = batch;
    ph->q_len = q;
    ph->ctx = ctx;
    ph->tokens = (long)batch * q;
    ph->overhead_added = c->ovm != OV_LAUNCH;
    const double b = batch, T = (double)batch * q, h = c->h, hd = c->hd, a = c->a, e = c->e;
    const double ar = c->o.ar_bytes > 0 ? c->o.ar_bytes : a;   /* bytes per all-reduced element */
    const double nh = c->nh, nkv = c->nkv, f = c->f, kvb = c->kvb;
    const int L = (int)c->L;
    const double W = c->m->sliding_window;
    lf_op_cost *op = ph->op;
    inst x;

    /* embedding: vocab-parallel lookup, each GPU reads the rows it owns, then an all-reduce */
    if (c->V > 0) {
        x = (inst){0, T * h * c->eo / c->tp, T * h * a, 0, 0, 1};
        add_inst(c, &op[LF_OP_EMBEDDING], x, 1, 0);
        add_collective(c, &op[LF_OP_ALL_REDUCE], T * h * ar, 1, 1, 0, 0);
    }
    /* per layer: two norms, read x and write x̂, plus the weight vector(s); under tensor
     * parallelism, in steps of at most ROOF_ONESHOT_ROWS tokens, inside the kernel of the
     * all-reduce before each (the engine's all-reduce with norm): no kernels of their own, but
     * the first layer's, counted once per step below. Where the one-shot kernel was measured, only
     * when it beats NCCL for this message (the engine's start-up choice). */
    int norm_fused = c->tp > 1 && T <= ROOF_ONESHOT_ROWS;
    if (norm_fused && lf_hw_oneshot_time(c->hw, c->tp, lf_hw_os_bytes[0]) > 0) {
        double lat, bwt;
        norm_fused = collective_cost(c, T * h * ar, 0, &lat, &bwt);
    }
    x = (inst){2 * c->norm_flops * T * h, 2 * c->norm_wvec * h * 2, 2 * 2 * T * h * a, 0, 0, norm_fused ? 0 : 2};
    add_inst(c, &op[LF_OP_NORM], x, L, 1);
    /* fused QKV projection */
    double wqkv = h * (nh + 2 * nkv) * hd;
    x = (inst){2 * T * wqkv, wqkv * e, T * h * a + T * (nh + 2 * nkv) * hd * a, 0, 0, 1};
    add_inst(c, &op[LF_OP_QKV], x, L, 1);
    /* RoPE on q and k (rope_dims of each head): ~3 FLOPs per element, read + write; in decode steps
     * (one new token per sequence) inside the attention kernel, no kernel of its own */
    if (c->m->rope_dims > 0) {
        double el = T * (nh + nkv) * c->m->rope_dims;
        x = (inst){3 * el, 0, 2 * el * a, 0, 0, q == 1 ? 0 : 1};
        add_inst(c, &op[LF_OP_ROPE], x, L, 1);
    }
    /* attention: store new K/V, then QK^T and PV over the attended positions */
    {
        double prior = ctx - q;
        double pairs = c->o.causal_skip || q == 1 ? sum_min(prior + 1, prior + q, W)
                                                  : q * (W > 0 ? fmin(ctx, W) : ctx);
        double kv_pos = W > 0 ? fmin(ctx, W + q - 1) : ctx;
        x.fl = 4 * b * pairs * nh * hd;
        x.bw = 0;
        x.ba = 2 * T * nh * hd * a + T * 2 * nkv * hd * a;   /* q in, out; k,v into the cache store */
        x.bkr = b * kv_pos * 2 * nkv * hd * kvb;
        x.bkw = T * 2 * nkv * hd * kvb;
        x.k = 1;   /* one kernel (the split merged inside it; prefill: the tiled kernel) */
        add_inst(c, &op[LF_OP_ATTENTION], x, L, 1);
    }
    /* output projection */
    double wo = nh * hd * h;
    x = (inst){2 * T * wo, wo * e, T * nh * hd * a + T * h * a, 0, 0, 1};
    add_inst(c, &op[LF_OP_O_PROJ], x, L, 1);
    /* two all-reduces of the hidden state per layer */
    add_collective(c, &op[LF_OP_ALL_REDUCE], T * h * ar, 2, L, 0, 1);
    /* FFN: gate+up (SwiGLU) or up (GELU MLP), activation, down */
    double nmat = c->gated ? 2 : 1;
    double wgu = nmat * h * f;
    x = (inst){2 * T * wgu, wgu * e, T * h * a + T * nmat * f * a, 0, 0, 1};
    add_inst(c, &op[LF_OP_GATE_UP], x, L, 1);
    /* SwiGLU: in decode steps of at most ROOF_FUSED_ACT_ROWS rows in the gate/up GEMM's epilogue
     * (the engine's skinny GEMM), no kernel of its own; else (and GELU) a kernel */
    const int act_fused = c->gated && q == 1 && T <= ROOF_FUSED_ACT_ROWS;
    x = c->gated ? (inst){5 * T * f, 0, 3 * T * f * a, 0, 0, act_fused ? 0 : 1} : (inst){8 * T * f, 0, 2 * T * f * a, 0, 0, 1};
    add_inst(c, &op[LF_OP_ACTIVATION], x, L, 1);
    double wd = f * h;
    x = (inst){2 * T * wd, wd * e, T * f * a + T * h * a, 0, 0, 1};
    add_inst(c, &op[LF_OP_DOWN], x, L, 1);
    /* two residual adds: read 2, write 1; in the epilogues of O-proj and down (no kernel of their own) */
    x = (inst){2 * T * h, 0, 2 * 3 * T * h * a, 0, 0, 0};
    add_inst(c, &op[LF_OP_RESIDUAL], x, L, 1);
    /* once per step, on the batch rows whose logits are wanted (and the first layer's norm when
     * the others are fused) */
    x = (inst){c->norm_flops * b * h, c->norm_wvec * h * 2, 2 * b * h * a, 0, 0, norm_fused ? 2 : 1};
    add_inst(c, &op[LF_OP_NORM], x, 1, 0);
    if (c->V > 0) {
        double wl = c->Vg * h;
        x = (inst){2 * b * wl, wl * c->eo, b * h * a + b * c->Vg * 4, 0, 0, 1};
        add_inst(c, &op[LF_OP_LM_HEAD], x, 1, 0);
        add_collective(c, &op[LF_OP_ALL_REDUCE], b * c->V * 4, 1, 1, 1, 0);   /* gather fp32 logits */
        x = (inst){5 * b * c->V, 0, 2 * b * c->V * 4, 0, 0, 1};
        add_inst(c, &op[LF_OP_SAMPLING], x, 1, 0);
    }
    finish_phase(ph);
}

lf_status lf_roofline_step(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                           int tp, int batch, int q_len, int ctx, lf_prec prec, lf_roofline_phase *out) {
    rc c;
    LF_TRY(setup(&c, m, hw, opts, tp, prec));
    if (batch < 1 || q_len < 1 || ctx < q_len)
        return lf_fail(LINFER_ERR_INVALID_ARG, "roofline step: need batch >= 1, q_len >= 1, ctx >= q_len (got %d, %d, %d)",
                       batch, q_len, ctx);
    step(&c, batch, q_len, ctx, out);
    return LINFER_OK;
}

lf_status lf_roofline_prefill(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                              int tp, int batch, int in_len, lf_prec prec, lf_roofline_phase *out) {
    return lf_roofline_step(m, hw, opts, tp, batch, in_len, in_len, prec, out);
}

lf_status lf_roofline_decode(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                             int tp, int batch, int ctx, lf_prec prec, lf_roofline_phase *out) {
    return lf_roofline_step(m, hw, opts, tp, batch, 1, ctx, prec, out);
}

/* ---- memory ---------------------------------------------------------------------------------- */
static int pp_stages(const rc *c) { return c->o.pp > 1 ? c->o.pp : 1; }

static double weights_bytes(const rc *c) {
    double per_layer = (c->h * (c->nh + 2 * c->nkv) * c->hd + c->nh * c->hd * c->h + (c->gated ? 3 : 2) * c->h * c->f) * c->e
                       + 2 * c->norm_wvec * c->h * 2;
    double emb = c->Vg * c->h * c->eo * (c->m->tie_embeddings ? 1 : 2);
    return c->L * per_layer + emb + c->norm_wvec * c->h * 2;
}

static double kv_per_token(const rc *c) { return c->L * 2 * c->nkv * c->hd * c->kvb; }

/* Peak live activations during the prefill of batch·in tokens (flash attention: no s² scores). */
static double act_bytes(const rc *c, double batch, double in_len) {
    double T = batch * in_len, a = c->a;
    double attn = T * (c->nh + 2 * c->nkv) * c->hd * a + T * c->nh * c->hd * a;
    double ffn = T * (c->gated ? 2 : 1) * c->f * a + T * c->f * a;
    return 2 * T * c->h * a + fmax(attn, ffn) + batch * c->Vg * 4 + batch * c->V * 4;
}

static void memory(const rc *c, double batch, int in_len, int out_len, lf_roofline_memory *mem) {
    memset(mem, 0, sizeof *mem);
    double W = c->m->sliding_window;
    double pos = (double)in_len + out_len;
    if (W > 0 && pos > W) pos = W;
    mem->weights = weights_bytes(c);
    mem->kv_per_token = kv_per_token(c);
    if (pp_stages(c) > 1) { /* per GPU: one stage's layers; the embedding and head counted whole (first/last stage) */
        const double emb = c->Vg * c->h * c->eo * (c->m->tie_embeddings ? 1 : 2);
        mem->weights = (mem->weights - emb) / pp_stages(c) + emb;
        mem->kv_per_token /= pp_stages(c);
    }
    mem->kv_cache = batch * pos * mem->kv_per_token;
    mem->activations = act_bytes(c, batch, in_len);
    mem->workspace = c->o.workspace_bytes;
    mem->total = mem->weights + mem->kv_cache + mem->activations + mem->workspace;
    const lf_hw *hw = c->hw;
    double dev = hw->use_measured && hw->measured.valid && hw->measured.mem_bytes > 0 ? hw->measured.mem_bytes : hw->mem_bytes;
    mem->available = dev * c->o.mem_util;
    mem->fits = mem->available > 0 ? mem->total <= mem->available : -1;
}

lf_status lf_roofline_memory_use(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                                 int tp, int batch, int in_len, int out_len, lf_prec prec, lf_roofline_memory *out) {
    rc c;
    LF_TRY(setup(&c, m, hw, opts, tp, prec));
    memory(&c, batch, in_len, out_len, out);
    return LINFER_OK;
}

/* ---- thresholds ------------------------------------------------------------------------------- */
static const lf_op layer_gemms[] = {LF_OP_QKV, LF_OP_O_PROJ, LF_OP_GATE_UP, LF_OP_DOWN};

static int gemms_compute_bound(const rc *c, int batch, int q, int ctx) {
    lf_roofline_phase ph;
    step(c, batch, q, ctx, &ph);
    double tc = 0, tm = 0;
    for (size_t i = 0; i < sizeof layer_gemms / sizeof layer_gemms[0]; i++) {
        tc += ph.op[layer_gemms[i]].t_compute;
        tm += ph.op[layer_gemms[i]].t_memory;
    }
    return tc >= tm;
}

#define SEARCH_MAX (1 << 20)

/* Smallest batch in [1, SEARCH_MAX] for which the decode GEMMs are compute-bound; 0 if none. */
static int critical_batch(const rc *c, int ctx) {
    if (!gemms_compute_bound(c, SEARCH_MAX, 1, ctx)) return 0;
    int lo = 1, hi = SEARCH_MAX;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (gemms_compute_bound(c, mid, 1, ctx)) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* Smallest prompt length T (one sequence: GEMM cost depends on batch·in only) whose prefill GEMMs
 * are compute-bound. */
static long token_threshold(const rc *c) {
    if (!gemms_compute_bound(c, 1, SEARCH_MAX, SEARCH_MAX)) return 0;
    int lo = 1, hi = SEARCH_MAX;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (gemms_compute_bound(c, 1, mid, mid)) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* ---- pipeline parallelism ------------------------------------------------------------------- */

static int pp_micro_of(const rc *c, int batch, int q_len) {
    const int P = pp_stages(c);
    if (P <= 1) return 1;
    int M = c->o.pp_micro > 0 ? c->o.pp_micro : ((long)batch * q_len >= 128 ? P : 1);
    if (M > batch) M = batch;   /* micro-batches of whole sequences */
    return M < 1 ? 1 : M;
}

/* the layers' part of a phase (ops repeated per layer) */
static double layers_part(const lf_roofline_phase *ph) {
    double t = 0;
    for (int o = 0; o < LF_OP_COUNT; o++)
        if (ph->op[o].layers > 1) t += ph->op[o].time;
    return t;
}

/* One step under pipeline parallelism: the once-per-step ops (embedding, lm_head, sampling) as
 * computed, the layers split over P stages, a residual hop (latency + bytes / busbw) between
 * stages; with M micro-batches of batch / M sequences, (M + P - 1) micro-batch stage times. */
static double pp_time(const rc *c, int batch, int q_len, int ctx, const lf_roofline_phase *whole) {
    const int P = pp_stages(c);
    if (P <= 1) return whole->time;
    const int M = pp_micro_of(c, batch, q_len);
    const double lay = layers_part(whole), once = whole->time - lay;
    const double hop_bytes = (double)batch * q_len * c->h * 4;   /* fp32 residual */
    const double bw = c->busbw > 0 ? c->busbw : c->BW;
    if (M == 1) return once + lay + (P - 1) * (c->lat + hop_bytes / bw);
    lf_roofline_phase mb;
    step(c, (batch + M - 1) / M, q_len, ctx, &mb);
    return once + (M + P - 1) * (layers_part(&mb) / P + c->lat + hop_bytes / M / bw);
}

static double decode_time(const rc *c, int batch, int ctx) {
    lf_roofline_phase ph;
    step(c, batch, 1, ctx, &ph);
    return pp_time(c, batch, 1, ctx, &ph);
}

static int knee_batch(const rc *c, int ctx) {
    double base = decode_time(c, 1, ctx) * (1 + c->o.knee);
    if (decode_time(c, SEARCH_MAX, ctx) < base) return 0;
    int lo = 1, hi = SEARCH_MAX;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (decode_time(c, mid, ctx) >= base) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* ---- one sweep point -------------------------------------------------------------------------- */
lf_status lf_roofline_point(const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                            int tp, int batch, int in_len, int out_len, lf_prec prec, lf_roofline_result *r) {
    rc c;
    LF_TRY(setup(&c, m, hw, opts, tp, prec));
    if (batch < 1 || in_len < 1 || out_len < 1)
        return lf_fail(LINFER_ERR_INVALID_ARG, "roofline: batch, in and out must be at least 1 (got %d, %d, %d)",
                       batch, in_len, out_len);
    memset(r, 0, sizeof *r);
    r->tp = tp;
    r->batch = batch;
    r->in_len = in_len;
    r->out_len = out_len;
    r->prec = prec;
    r->params = lf_roofline_model_params(m);
    r->peak_flops = c.F;
    r->bw = c.BW;
    r->busbw = tp > 1 ? c.busbw : 0;
    r->ar_latency_s = tp > 1 ? c.lat : 0;
    r->launch_s = c.launch;
    r->overhead_model = c.ovm;
    r->kernel_s = c.ovm == OV_FLAT ? c.o.kernel_s : 0;

    r->pp = pp_stages(&c);
    r->pp_micro_prefill = pp_micro_of(&c, batch, in_len);
    r->pp_micro_decode = pp_micro_of(&c, batch, 1);
    step(&c, batch, in_len, in_len, &r->prefill);
    r->ttft_s = pp_time(&c, batch, in_len, in_len, &r->prefill);
    r->decode_steps = out_len - 1;
    if (out_len > 1) {
        step(&c, batch, 1, in_len + 1, &r->decode_first);
        step(&c, batch, 1, in_len + out_len - 1, &r->decode_last);
        const double t_first = pp_time(&c, batch, 1, in_len + 1, &r->decode_first);
        const double t_last = pp_time(&c, batch, 1, in_len + out_len - 1, &r->decode_last);
        double sum = 0;
        for (int j = 1; j < out_len; j++) {
            if (j == 1) sum += t_first;
            else if (j == out_len - 1) sum += t_last;
            else sum += decode_time(&c, batch, in_len + j);
        }
        r->decode_s = sum;
        r->tpot_first_s = t_first;
        r->tpot_last_s = t_last;
        r->tpot_mean_s = sum / (out_len - 1);
        r->decode_tok_s = batch / r->tpot_mean_s;
    }
    r->e2e_s = r->ttft_s + r->decode_s;
    r->throughput_tok_s = (double)batch * out_len / r->e2e_s;
    r->prefill_tok_s = (double)batch * in_len / r->ttft_s;

    memory(&c, batch, in_len, out_len, &r->mem);
    if (r->mem.available <= 0) {
        r->max_batch = -1;
    } else {
        lf_roofline_memory m1, m2;
        memory(&c, 1, in_len, out_len, &m1);
        memory(&c, 2, in_len, out_len, &m2);
        double per_seq = m2.total - m1.total, fixed = m1.total - per_seq;
        double mb = per_seq > 0 ? floor((r->mem.available - fixed) / per_seq) : (double)INT_MAX;
        r->max_batch = mb < 0 ? 0 : (mb > INT_MAX ? INT_MAX : (int)mb);
    }
    r->ops_per_byte = c.F / c.BW;
    r->seed_rule_batch = r->ops_per_byte * tp;
    r->critical_batch = critical_batch(&c, in_len + 1);
    r->knee_batch = knee_batch(&c, in_len + 1);
    r->input_token_threshold = token_threshold(&c);
    return LINFER_OK;
}

/* ---- --explain ---------------------------------------------------------------------------------- */
static const char *si(double v, const char *unit, char *buf, size_t cap) {
    static const struct { double f; const char *p; } pre[] = {
        {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (fabs(v) >= pre[i].f) { snprintf(buf, cap, "%.3g %s%s", v / pre[i].f, pre[i].p, unit); return buf; }
    snprintf(buf, cap, "%.3g %s", v, unit);
    return buf;
}

static const char *ms(double s, char *buf, size_t cap) {
    if (s >= 1e-3 || s == 0) snprintf(buf, cap, "%.4g ms", s * 1e3);
    else snprintf(buf, cap, "%.4g us", s * 1e6);
    return buf;
}

static void explain_ops(FILE *f, const rc *c, const lf_roofline_phase *ph) {
    const double T = (double)ph->tokens;
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "  %-10s %12s %12s  %s\n", "op", "FLOPs", "HBM bytes",
            c->ovm == OV_LAUNCH ? "time = max(FLOPs/F, bytes/BW, kernels*launch) [x layers]"
                                : "time = max(FLOPs/F, bytes/BW) + kernels*overhead [x layers]");
    for (int i = 0; i < LF_OP_COUNT; i++) {
        const lf_op_cost *op = &ph->op[i];
        if (op->time <= 0 && op->flops <= 0) continue;
        double bytes = op->bytes_weight + op->bytes_act + op->bytes_kv_read + op->bytes_kv_write;
        if (i == LF_OP_ALL_REDUCE) {
            fprintf(f, "  %-10s %12s %12s  %d collectives, %s payload: latency %s + bandwidth %s = %s  (%s)\n",
                    op_names[i], "-", "-", op->comm_count, si(op->comm_bytes, "B", b1, sizeof b1),
                    ms(op->t_comm_lat, b2, sizeof b2), ms(op->t_comm_bw, b3, sizeof b3), ms(op->time, b4, sizeof b4),
                    lf_bound_name(op->bound));
            continue;
        }
        fprintf(f, c->ovm == OV_LAUNCH ? "  %-10s %12.4g %12.4g  max(%s, %s, %s) -> %s  (%s, AI %.3g FLOP/B)\n"
                                       : "  %-10s %12.4g %12.4g  max(%s, %s) + %s -> %s  (%s, AI %.3g FLOP/B)\n",
                op_names[i], op->flops, bytes, ms(op->t_compute, b1, sizeof b1), ms(op->t_memory, b2, sizeof b2),
                ms(op->t_launch, b3, sizeof b3), ms(op->time, b4, sizeof b4), lf_bound_name(op->bound), op->intensity);
    }
    /* the formulas of the big ones, numbers put in */
    const double h = c->h, hd = c->hd, L = c->L, e = c->e;
    fprintf(f, "    qkv FLOPs = 2·T·h·(nh/tp + 2·nkv/tp)·hd·L = 2·%.0f·%.0f·(%g + 2·%g)·%.0f·%.0f = %.4g\n",
            T, h, c->nh, c->nkv, hd, L, ph->op[LF_OP_QKV].flops);
    fprintf(f, "    weight bytes of the layer GEMMs = (h·(nh+2·nkv)·hd + nh·hd·h + %d·h·ffn)/tp·L·%g B = %.4g\n",
            c->gated ? 3 : 2, e,
            ph->op[LF_OP_QKV].bytes_weight + ph->op[LF_OP_O_PROJ].bytes_weight + ph->op[LF_OP_GATE_UP].bytes_weight +
                ph->op[LF_OP_DOWN].bytes_weight);
    fprintf(f, "    attention FLOPs = 4·b·pairs·(nh/tp)·hd·L = 4·%d·pairs·%g·%.0f·%.0f = %.4g"
               "  (pairs per sequence = %s)\n", ph->batch, c->nh, hd, L, ph->op[LF_OP_ATTENTION].flops,
            ph->q_len == 1 ? "ctx" : (c->o.causal_skip ? "s(s+1)/2, causal" : "s·ctx"));
    fprintf(f, "    KV read = b·ctx·2·(nkv/tp)·hd·L·kv_bytes = %d·%d·2·%g·%.0f·%.0f·%.0f = %.4g B%s\n",
            ph->batch, ph->ctx, c->nkv, hd, L, c->kvb, ph->op[LF_OP_ATTENTION].bytes_kv_read,
            c->m->sliding_window ? " (ctx capped at the sliding window)" : "");
    if (c->tp > 1) {
        double msg = T * h * c->a;
        if (c->o.ar_model == LF_AR_RING)
            fprintf(f, "    all-reduce = 2·L × (L_ar + 2(tp-1)/tp · T·h·%g B / busbw) = 2·%.0f × (%s + 2·%d/%d·%.4g/%.4g)\n",
                    c->a, L, ms(c->lat, b1, sizeof b1), c->tp - 1, c->tp, msg, c->busbw);
        else
            fprintf(f, "    all-reduce (twophase) = 2·L × (2·L_ar + 2·T·h·%g B / busbw) = 2·%.0f × (2·%s + 2·%.4g/%.4g)\n",
                    c->a, L, ms(c->lat, b1, sizeof b1), msg, c->busbw);
    }
    fprintf(f, "  total %s: %s  (bound: %s)\n", ph->q_len > 1 ? "prefill" : "step", ms(ph->time, b1, sizeof b1), lf_bound_name(ph->bound));
}

void lf_roofline_explain(FILE *f, const lf_roofline_model *m, const lf_hw *hw, const lf_roofline_opts *opts,
                         const lf_roofline_result *r) {
    rc c;
    if (setup(&c, m, hw, opts, r->tp, r->prec) != LINFER_OK) {
        fprintf(f, "explain: %s\n", linfer_last_error());
        return;
    }
    char b1[32], b2[32], b3[32], b4[32], origin[320];
    fprintf(f, "== %s on %s: tp=%d, batch=%d, in=%d, out=%d, %s ==\n", m->name, hw->name, r->tp, r->batch, r->in_len,
            r->out_len, lf_prec_name(r->prec));
    fprintf(f, "Model: %d layers, h=%d, %d heads (%d KV) x head_dim %d, ffn %d (%s), vocab %d%s; P = %.4g params [%s]\n",
            m->n_layers, m->dim, m->n_heads, m->n_kv_heads, m->head_dim, m->ffn_dim,
            m->arch == LF_ARCH_LLAMA ? "SwiGLU, 3 matrices" : "GELU MLP, 2 matrices", m->vocab_size,
            m->sliding_window ? ", sliding window" : "", r->params, m->source ? m->source : "");
    fprintf(f, "GPU: %s: F = %s (%s), BW = %s; ops:byte = F/BW = %.1f FLOP/B [%s]\n", hw->desc[0] ? hw->desc : hw->name,
            si(r->peak_flops, "FLOP/s", b1, sizeof b1), lf_prec_name(r->prec), si(r->bw, "B/s", b2, sizeof b2),
            r->ops_per_byte, hw->source ? hw->source : "");
    fprintf(f, "     ceilings: %s\n", lf_hw_origin(hw, origin, sizeof origin));
    if (r->tp > 1)
        fprintf(f, "     all-reduce over %d GPUs: busbw = %s per direction, latency L_ar = %s, model %s\n", r->tp,
                si(r->busbw, "B/s", b1, sizeof b1), ms(r->ar_latency_s, b2, sizeof b2),
                c.o.ar_model == LF_AR_RING ? "ring: L + 2(tp-1)/tp·bytes/busbw" : "twophase: 2L + 2·bytes/busbw");
    if (r->overhead_model == OV_CHAIN) {
        char desc[256];
        fprintf(f, "     per-kernel overhead, chain(b) - b/BW: %s\n", lf_hw_overhead_desc(hw, desc, sizeof desc));
    } else if (r->overhead_model == OV_FLAT) {
        fprintf(f, "     per-kernel overhead: %s per kernel (--kernel-us)\n", ms(r->kernel_s, b1, sizeof b1));
    } else {
        fprintf(f, "     launch floor: %s per kernel\n", ms(r->launch_s, b1, sizeof b1));
    }
    fprintf(f, "     weights %d B/param, activations %d B, KV %d B/element\n", (int)c.e, (int)c.a, (int)c.kvb);

    fprintf(f, "\nPrefill: T = batch·in = %d·%d = %ld tokens\n", r->batch, r->in_len, r->prefill.tokens);
    explain_ops(f, &c, &r->prefill);
    fprintf(f, "  TTFT = %s;  prefill throughput = batch·in/TTFT = %.4g tok/s\n", ms(r->ttft_s, b1, sizeof b1), r->prefill_tok_s);
    if (r->out_len > 1) {
        fprintf(f, "\nDecode step at ctx = in+1 = %d (batch %d):\n", r->decode_first.ctx, r->batch);
        explain_ops(f, &c, &r->decode_first);
        fprintf(f, "\nDecode: %d steps, ctx %d..%d; each step's attention reads the whole cache, so TPOT grows with ctx\n",
                r->decode_steps, r->in_len + 1, r->in_len + r->out_len - 1);
        fprintf(f, "  TPOT first %s, mean %s, last %s;  decode = Σ TPOT = %s\n", ms(r->tpot_first_s, b1, sizeof b1),
                ms(r->tpot_mean_s, b2, sizeof b2), ms(r->tpot_last_s, b3, sizeof b3), ms(r->decode_s, b4, sizeof b4));
    }
    fprintf(f, "  E2E = TTFT + Σ TPOT = %s;  throughput = batch·out/E2E = %d·%d/%s = %.4g tok/s\n",
            ms(r->e2e_s, b1, sizeof b1), r->batch, r->out_len, ms(r->e2e_s, b2, sizeof b2), r->throughput_tok_s);

    const lf_roofline_memory *mm = &r->mem;
    const double G = 1024.0 * 1024 * 1024;
    fprintf(f, "\nMemory per GPU: weights %.3f GiB + KV b·(in+out)·%.4g B/token = %.3f GiB + activations %.3f GiB"
               " + workspace %.3f GiB = %.3f GiB",
            mm->weights / G, mm->kv_per_token, mm->kv_cache / G, mm->activations / G, mm->workspace / G, mm->total / G);
    if (mm->available > 0)
        fprintf(f, " of %.3f GiB usable (%.0f%%) -> %s\n  largest batch that fits: (usable - weights - workspace) / "
                   "(KV + activations per sequence) = %d\n",
                mm->available / G, c.o.mem_util * 100, mm->fits ? "fits" : "DOES NOT FIT", r->max_batch);
    else
        fprintf(f, " (device memory unknown: give --mem)\n");

    fprintf(f, "\nThresholds:\n");
    fprintf(f, "  critical batch (decode GEMMs turn compute-bound: 2·b·W / (W·%d B + activations) >= F/BW = %.1f): %d\n",
            (int)c.e, r->ops_per_byte, r->critical_batch);
    fprintf(f, "  seed 002's rule of thumb ops:byte x GPUs = %.1f x %d = %.0f (per GPU the intensity of a decode step is\n"
               "    ~b FLOP/B whatever tp is, so the roofline threshold does not grow with GPUs; what grows is the knee below)\n",
            r->ops_per_byte, r->tp, r->seed_rule_batch);
    fprintf(f, "  knee batch (decode step %.0f%% slower than at batch 1): %d\n", c.o.knee * 100, r->knee_batch);
    fprintf(f, "  input-token threshold (seed 000, section 3: prefill GEMMs compute-bound when batch·in >= ...): %ld tokens\n",
            r->input_token_threshold);
}
