/* profile.c — per-op, per-phase profile of generate calls: accumulation of the engine's per-step
 * records, roofline of the same steps, rows sorted by lost time, text / CSV / JSON output.
 * See profile.h for where the numbers come from and how a GPU backend feeds them. */
#include "profile.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const phase_names[LF_PHASE_COUNT] = {"prefill", "decode_early", "decode_late"};
static const char *const cat_names[LF_PROF_NCAT] = {
    "embedding", "norm", "qkv_gemm", "rope/kv-write", "attention", "o_gemm", "all_reduce",
    "gate_up_gemm", "activation", "down_gemm", "lm_head", "sampling", "residual", "other/host-gaps"};

const char *lf_phase_name(lf_phase p) { return (unsigned)p < LF_PHASE_COUNT ? phase_names[p] : "?"; }
const char *lf_profile_cat_name(int cat) { return cat >= 0 && cat < LF_PROF_NCAT ? cat_names[cat] : "?"; }

/* ---- accumulation ------------------------------------------------------------------------------ */
lf_status lf_profile_init(lf_profile *p, const lf_config *cfg, int batch, int in_len, int out_len) {
    memset(p, 0, sizeof *p);
    if (!cfg || batch < 1 || in_len < 1 || out_len < 1)
        return lf_fail(LINFER_ERR_INVALID_ARG, "profile: need a config and batch, in, out >= 1 (got %d, %d, %d)", batch, in_len, out_len);
    p->cfg = *cfg;
    p->batch = batch;
    p->in_len = in_len;
    p->out_len = out_len;
    p->tp = 1;
    p->early_last = out_len / 2;   /* decode steps 1..out-1: the first ceil((out-1)/2) are early */
    for (int i = 0; i < LF_PHASE_COUNT; i++) p->ph[i].step_ms_min = INFINITY;
    return LINFER_OK;
}

void lf_profile_free(lf_profile *p) {
    if (!p) return;
    free(p->steps);
    p->steps = NULL;
    p->n_steps = p->cap_steps = 0;
}

void lf_profile_calls_per_forward(const lf_config *cfg, int n_out, double calls[LF_OP_COUNT]) {
    const double L = cfg->n_layers;
    memset(calls, 0, sizeof(double) * LF_OP_COUNT);
    calls[LF_OP_EMBEDDING] = 1;
    calls[LF_OP_NORM] = 2 * L + (n_out > 0);
    calls[LF_OP_QKV] = 3 * L;
    calls[LF_OP_ROPE] = L;
    calls[LF_OP_ATTENTION] = L;
    calls[LF_OP_O_PROJ] = L;
    calls[LF_OP_GATE_UP] = 2 * L;
    calls[LF_OP_ACTIVATION] = L;
    calls[LF_OP_DOWN] = L;
    calls[LF_OP_RESIDUAL] = 2 * L;
    calls[LF_OP_LM_HEAD] = n_out > 0;
}

lf_status lf_profile_add_step(lf_profile *p, const lf_step_info *s) {
    if (s->n_seqs < 1 || s->n_tokens < 1 || !s->op_ms)
        return lf_fail(LINFER_ERR_INVALID_ARG, "profile: step %d has %d sequences, %d tokens%s", s->index, s->n_seqs, s->n_tokens,
                       s->op_ms ? "" : " and no op times");
    int phase = s->kind == LF_STEP_PREFILL ? LF_PHASE_PREFILL : s->index <= p->early_last ? LF_PHASE_DECODE_EARLY : LF_PHASE_DECODE_LATE;
    lf_profile_phase *ph = &p->ph[phase];
    double calls[LF_OP_COUNT];
    if (s->op_calls) memcpy(calls, s->op_calls, sizeof calls);
    else {
        /* every forward but the last prefill chunk may have no logits rows; count them as having none */
        double last[LF_OP_COUNT], rest[LF_OP_COUNT];
        lf_profile_calls_per_forward(&p->cfg, 1, last);
        lf_profile_calls_per_forward(&p->cfg, 0, rest);
        for (int o = 0; o < LF_OP_COUNT; o++) calls[o] = last[o] + (s->n_forwards - 1) * rest[o];
        calls[LF_OP_SAMPLING] = s->n_sampled;
    }
    for (int o = 0; o < LF_OP_COUNT; o++) {
        ph->ms[o] += s->op_ms[o];
        ph->calls[o] += calls[o];
    }
    ph->step_ms += s->step_ms;
    if (s->step_ms < ph->step_ms_min) ph->step_ms_min = s->step_ms;
    if (s->step_ms > ph->step_ms_max) ph->step_ms_max = s->step_ms;
    double ctx = (double)s->ctx_sum / s->n_seqs;
    if (!ph->steps || ctx < ph->ctx_lo) ph->ctx_lo = ctx;
    if (!ph->steps || ctx > ph->ctx_hi) ph->ctx_hi = ctx;
    ph->steps++;
    ph->tokens += s->n_tokens;
    ph->seqs += s->n_seqs;
    if (p->n_steps == p->cap_steps) {
        int cap = p->cap_steps ? 2 * p->cap_steps : 64;
        struct lf_profile_step *n = realloc(p->steps, sizeof *n * (size_t)cap);
        if (!n) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "profile: out of memory for %d step records", cap);
        p->steps = n;
        p->cap_steps = cap;
    }
    int q = (s->n_tokens + s->n_seqs - 1) / s->n_seqs, c = (int)lround(ctx);
    p->steps[p->n_steps++] = (struct lf_profile_step){phase, s->n_seqs, q, c < q ? q : c};
    if (s->kind == LF_STEP_PREFILL) p->runs++;
    return LINFER_OK;
}

void lf_profile_hook(void *user, const lf_step_info *s) {
    lf_profile *p = user;
    lf_status st = lf_profile_add_step(p, s);
    if (st && !p->err) p->err = st;
}

/* ---- prediction -------------------------------------------------------------------------------- */
lf_status lf_profile_predict(lf_profile *p, const lf_roofline_model *m, const lf_hw *hw_in, const lf_roofline_opts *ro, lf_prec prec,
                             double bytes_scale) {
    for (int i = 0; i < LF_PHASE_COUNT; i++) {
        lf_profile_phase *ph = &p->ph[i];
        memset(ph->flops, 0, sizeof ph->flops);
        memset(ph->bytes, 0, sizeof ph->bytes);
        memset(ph->pred_ms, 0, sizeof ph->pred_ms);
        ph->pred_step_ms = 0;
    }
    p->have_pred = 0;
    if (!hw_in) return LINFER_OK;
    if (!(bytes_scale > 0)) return lf_fail(LINFER_ERR_INVALID_ARG, "profile: bytes scale %g must be positive", bytes_scale);
    lf_hw hw = *hw_in;
    /* the roofline counts 16-bit bytes: scaling the bytes by k is dividing the bandwidth by k */
    hw.hbm_bw /= bytes_scale;
    hw.measured.read_bw /= bytes_scale;
    const double BW = lf_hw_eff_bw(&hw), F = lf_hw_eff_flops(&hw, prec);
    p->ceil_bw = BW * bytes_scale;
    p->ceil_flops = F;
    for (int k = 0; k < p->n_steps; k++) {
        const struct lf_profile_step *st = &p->steps[k];
        /* consecutive steps of the same shape (repeated runs) cost the same */
        lf_roofline_phase r;
        LF_TRY(lf_roofline_step(m, &hw, ro, p->tp > 1 ? p->tp : 1, st->seqs, st->q_len, st->ctx, prec, &r));
        lf_op_cost *att = &r.op[LF_OP_ATTENTION], *rope = &r.op[LF_OP_ROPE];
        /* the new K/V go to the cache in the rope/kv-write op of the backends, not in attention */
        double kvw = att->bytes_kv_write;
        double att_b = att->bytes_weight + att->bytes_act + att->bytes_kv_read;
        double rope_b = rope->bytes_weight + rope->bytes_act + rope->bytes_kv_read + rope->bytes_kv_write + kvw;
        lf_profile_phase *ph = &p->ph[st->phase];
        for (int o = 0; o < LF_OP_COUNT; o++) {
            const lf_op_cost *c = &r.op[o];
            double bytes = c->bytes_weight + c->bytes_act + c->bytes_kv_read + c->bytes_kv_write, t = c->time;
            if (o == LF_OP_ATTENTION || o == LF_OP_ROPE) {   /* the roofline's own formula (roofline.h) */
                bytes = o == LF_OP_ATTENTION ? att_b : rope_b;
                t = lf_roofline_op_time(r.overhead_added, c->t_compute, bytes / BW, c->t_launch);
            }
            ph->flops[o] += c->flops;
            ph->bytes[o] += bytes * bytes_scale;
            ph->pred_ms[o] += t * 1e3;
            ph->pred_step_ms += t * 1e3;
        }
    }
    p->have_pred = 1;
    return LINFER_OK;
}

/* ---- rows -------------------------------------------------------------------------------------- */
static int cmp_rows(const void *a, const void *b) {
    const lf_profile_row *x = a, *y = b;
    double kx = isfinite(x->lost_ms) ? x->lost_ms : x->ms, ky = isfinite(y->lost_ms) ? y->lost_ms : y->ms;
    return kx > ky ? -1 : kx < ky ? 1 : x->cat - y->cat;
}

void lf_profile_phase_rows(const lf_profile *p, lf_phase phase, lf_profile_rows *out) {
    memset(out, 0, sizeof *out);
    const lf_profile_phase *ph = &p->ph[phase];
    if (!ph->steps) return;
    double sum = 0;
    for (int o = 0; o < LF_OP_COUNT; o++) sum += ph->ms[o];
    out->cat_sum_ms = sum;
    for (int c = 0; c < LF_PROF_NCAT; c++) {
        int other = c == LF_PROF_OTHER;
        double ms = other ? ph->step_ms - sum : ph->ms[c];
        double pred = other ? 0 : ph->pred_ms[c];
        /* a category that neither ran nor is predicted (all_reduce at TP 1) gets no row */
        if (!other && ph->ms[c] == 0 && ph->calls[c] == 0 && !(p->have_pred && pred > 0)) continue;
        lf_profile_row *r = &out->r[out->n++];
        r->cat = c;
        r->ms = ms;
        r->share_pct = ph->step_ms > 0 ? 100 * ms / ph->step_ms : NAN;
        r->calls = other ? NAN : ph->calls[c];
        r->ms_per_step = ms / ph->steps;
        r->flops = other || !p->have_pred ? NAN : ph->flops[c];
        r->bytes = other || !p->have_pred ? NAN : ph->bytes[c];
        r->gbps = ms > 0 && r->bytes > 0 ? r->bytes / (ms * 1e-3) / 1e9 : NAN;
        r->gflops = ms > 0 && r->flops > 0 ? r->flops / (ms * 1e-3) / 1e9 : NAN;
        r->pred_ms = p->have_pred ? pred : NAN;
        r->eff = p->have_pred && ms > 0 ? pred / ms : NAN;
        r->lost_ms = p->have_pred ? ms - pred : NAN;
    }
    qsort(out->r, (size_t)out->n, sizeof out->r[0], cmp_rows);
}

/* ---- output ------------------------------------------------------------------------------------ */
static const char *const tab_cols[] = {"phase", "category", "op", "total_ms", "share_pct", "calls", "ms_per_step", "gflop", "gbytes",
                                       "achieved_GBps", "achieved_GFLOPps", "flop_per_B", "pred_ms", "eff", "lost_ms"};
#define N_TAB_COLS ((int)(sizeof tab_cols / sizeof tab_cols[0]))
static const char *const meta_keys[] = {"model", "device", "device_name", "git_commit", "date", "hw", "command", "timing_source"};
#define N_META ((int)(sizeof meta_keys / sizeof meta_keys[0]))

static const char *nz(const char *s) { return s ? s : ""; }

static lf_table *make_table(const lf_profile *p, const lf_profile_meta *m) {
    const char *cols[N_TAB_COLS + N_META];
    int nc = 0;
    for (int i = 0; i < N_TAB_COLS; i++) cols[nc++] = tab_cols[i];
    if (m)
        for (int i = 0; i < N_META; i++) cols[nc++] = meta_keys[i];
    lf_table *t = lf_table_new(nc, cols);
    if (!t) return NULL;
    for (int ph = 0; ph < LF_PHASE_COUNT; ph++) {
        lf_profile_rows rows;
        lf_profile_phase_rows(p, (lf_phase)ph, &rows);
        for (int i = 0; i < rows.n; i++) {
            const lf_profile_row *r = &rows.r[i];
            lf_table_row(t);
            lf_table_str(t, lf_phase_name((lf_phase)ph));
            lf_table_str(t, lf_profile_cat_name(r->cat));
            lf_table_str(t, r->cat == LF_PROF_OTHER ? "other" : lf_op_name((lf_op)r->cat));
            lf_table_num(t, r->ms, 3);
            lf_table_num(t, r->share_pct, 1);
            lf_table_num(t, r->calls, 0);
            lf_table_num(t, r->ms_per_step, 4);
            lf_table_num(t, r->flops / 1e9, 4);
            lf_table_num(t, r->bytes / 1e9, 4);
            lf_table_num(t, r->gbps, 2);
            lf_table_num(t, r->gflops, 2);
            lf_table_num(t, r->bytes > 0 ? r->flops / r->bytes : NAN, 3);
            lf_table_num(t, r->pred_ms, 3);
            lf_table_num(t, r->eff, 3);
            lf_table_num(t, r->lost_ms, 3);
            if (m) {
                const char *v[N_META] = {m->model, m->device, m->device_name, m->git_commit, m->date, m->hw, m->command, m->timing_source};
                for (int k = 0; k < N_META; k++) lf_table_str(t, nz(v[k]));
            }
        }
    }
    return t;
}

lf_table *lf_profile_table(const lf_profile *p) { return make_table(p, NULL); }

static double pct(double a, double b) { return b > 0 && isfinite(a) ? 100 * (a - b) / b : NAN; }

void lf_profile_print(FILE *f, const lf_profile *p, const lf_profile_meta *m) {
    static const char *const cols[] = {"category", "total_ms", "share%", "calls", "ms/step", "GB/s", "GFLOP/s", "pred_ms", "eff", "lost_ms"};
    if (m && m->timing_source) fprintf(f, "op times: %s\n", m->timing_source);
    if (m && m->tp > 1) fprintf(f, "tensor parallelism: rank %d of %d (times and predictions of this GPU)\n", m->rank, m->tp);
    if (m && p->out_len > 1)
        fprintf(f, "TPOT profiled %.3f ms, un-profiled %.3f ms (profiling overhead %+.1f%%); TTFT profiled %.2f ms, un-profiled %.2f ms\n",
                m->tpot_profiled_ms, m->tpot_unprofiled_ms, pct(m->tpot_profiled_ms, m->tpot_unprofiled_ms), m->ttft_profiled_ms,
                m->ttft_unprofiled_ms);
    else if (m)
        fprintf(f, "TTFT profiled %.2f ms, un-profiled %.2f ms (profiling overhead %+.1f%%); no decode steps (--out 1)\n", m->ttft_profiled_ms,
                m->ttft_unprofiled_ms, pct(m->ttft_profiled_ms, m->ttft_unprofiled_ms));
    for (int ph = 0; ph < LF_PHASE_COUNT; ph++) {
        const lf_profile_phase *x = &p->ph[ph];
        if (!x->steps) continue;
        lf_profile_rows rows;
        lf_profile_phase_rows(p, (lf_phase)ph, &rows);
        char title[512];
        int n = snprintf(title, sizeof title, "%s: %d step%s, %.0f tokens/step, ctx %.0f..%.0f; measured %.3f ms/step, categories %.1f%% of it",
                         lf_phase_name((lf_phase)ph), x->steps, x->steps == 1 ? "" : "s", x->tokens / x->steps, x->ctx_lo, x->ctx_hi,
                         x->step_ms / x->steps, x->step_ms > 0 ? 100 * rows.cat_sum_ms / x->step_ms : 0);
        if (p->have_pred && n > 0 && n < (int)sizeof title)
            snprintf(title + n, sizeof title - (size_t)n, "; roofline %.3f ms/step (eff %.2f)", x->pred_step_ms / x->steps,
                     x->step_ms > 0 ? x->pred_step_ms / x->step_ms : 0);
        lf_table *t = lf_table_new(10, cols);
        if (!t) return;
        lf_table_set_title(t, title);
        for (int i = 0; i < rows.n; i++) {
            const lf_profile_row *r = &rows.r[i];
            lf_table_row(t);
            lf_table_str(t, lf_profile_cat_name(r->cat));
            lf_table_num(t, r->ms, 3);
            lf_table_num(t, r->share_pct, 1);
            lf_table_num(t, r->calls, 0);
            lf_table_num(t, r->ms_per_step, 4);
            lf_table_num(t, r->gbps, 2);
            lf_table_num(t, r->gflops, 2);
            lf_table_num(t, r->pred_ms, 3);
            lf_table_num(t, r->eff, 3);
            lf_table_num(t, r->lost_ms, 3);
        }
        fputc('\n', f);
        lf_table_write(t, f, LF_FMT_TABLE);
        lf_table_free(t);
    }
}


static void jnum(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

lf_status lf_profile_write_json(const char *path, const lf_profile_meta *m, const lf_profile *p) {
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject(), *phases = cJSON_CreateArray();
    if (!root || !meta || !phases) { cJSON_Delete(root); cJSON_Delete(meta); cJSON_Delete(phases); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    cJSON_AddStringToObject(root, "kind", "profile");
    cJSON_AddItemToObject(root, "meta", meta);
    cJSON_AddItemToObject(root, "phases", phases);
    if (m) {
        const char *v[N_META] = {m->model, m->device, m->device_name, m->git_commit, m->date, m->hw, m->command, m->timing_source};
        for (int k = 0; k < N_META; k++) cJSON_AddStringToObject(meta, meta_keys[k], nz(v[k]));
        cJSON_AddNumberToObject(meta, "warmup", m->warmup);
        cJSON_AddNumberToObject(meta, "reps", m->reps);
        jnum(meta, "tpot_profiled_ms", m->tpot_profiled_ms);
        jnum(meta, "tpot_unprofiled_ms", m->tpot_unprofiled_ms);
        jnum(meta, "profiling_overhead_pct", pct(m->tpot_profiled_ms, m->tpot_unprofiled_ms));
        jnum(meta, "ttft_profiled_ms", m->ttft_profiled_ms);
        jnum(meta, "ttft_unprofiled_ms", m->ttft_unprofiled_ms);
        cJSON_AddNumberToObject(meta, "rank", m->rank);
    }
    cJSON_AddNumberToObject(meta, "batch", p->batch);
    cJSON_AddNumberToObject(meta, "in", p->in_len);
    cJSON_AddNumberToObject(meta, "out", p->out_len);
    cJSON_AddNumberToObject(meta, "tp", p->tp > 1 ? p->tp : 1);
    cJSON_AddNumberToObject(meta, "runs", p->runs);
    jnum(meta, "ceiling_bw_Bps", p->have_pred ? p->ceil_bw : NAN);
    jnum(meta, "ceiling_flops", p->have_pred ? p->ceil_flops : NAN);
    for (int ph = 0; ph < LF_PHASE_COUNT; ph++) {
        const lf_profile_phase *x = &p->ph[ph];
        if (!x->steps) continue;
        lf_profile_rows rows;
        lf_profile_phase_rows(p, (lf_phase)ph, &rows);
        cJSON *o = cJSON_CreateObject(), *ops = cJSON_CreateArray();
        if (!o || !ops) { cJSON_Delete(o); cJSON_Delete(ops); cJSON_Delete(root); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
        cJSON_AddItemToArray(phases, o);
        cJSON_AddStringToObject(o, "phase", lf_phase_name((lf_phase)ph));
        cJSON_AddNumberToObject(o, "steps", x->steps);
        jnum(o, "tokens_per_step", x->tokens / x->steps);
        jnum(o, "seqs_per_step", x->seqs / x->steps);
        jnum(o, "ctx_lo", x->ctx_lo);
        jnum(o, "ctx_hi", x->ctx_hi);
        jnum(o, "step_ms", x->step_ms);
        jnum(o, "step_ms_mean", x->step_ms / x->steps);
        jnum(o, "step_ms_min", x->step_ms_min);
        jnum(o, "step_ms_max", x->step_ms_max);
        jnum(o, "categories_ms", rows.cat_sum_ms);
        jnum(o, "pred_ms", p->have_pred ? x->pred_step_ms : NAN);
        cJSON_AddItemToObject(o, "ops", ops);
        for (int i = 0; i < rows.n; i++) {
            const lf_profile_row *r = &rows.r[i];
            cJSON *e = cJSON_CreateObject();
            if (!e) { cJSON_Delete(root); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
            cJSON_AddItemToArray(ops, e);
            cJSON_AddStringToObject(e, "category", lf_profile_cat_name(r->cat));
            cJSON_AddStringToObject(e, "op", r->cat == LF_PROF_OTHER ? "other" : lf_op_name((lf_op)r->cat));
            jnum(e, "ms", r->ms);
            jnum(e, "share_pct", r->share_pct);
            jnum(e, "calls", r->calls);
            jnum(e, "ms_per_step", r->ms_per_step);
            jnum(e, "flops", r->flops);
            jnum(e, "bytes", r->bytes);
            jnum(e, "achieved_GBps", r->gbps);
            jnum(e, "achieved_GFLOPps", r->gflops);
            jnum(e, "intensity", r->bytes > 0 ? r->flops / r->bytes : NAN);
            jnum(e, "pred_ms", r->pred_ms);
            jnum(e, "eff", r->eff);
            jnum(e, "lost_ms", r->lost_ms);
        }
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory rendering %s", path);
    size_t n = strlen(txt);
    lf_status s = lf_write_file_atomic(path, txt, n);
    free(txt);
    return s;
}

lf_status lf_profile_write_csv(const char *path, const lf_profile_meta *m, const lf_profile *p) {
    lf_table *t = make_table(p, m);
    if (!t) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (!mf) { lf_table_free(t); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    lf_status s = lf_table_write(t, mf, LF_FMT_CSV);
    fclose(mf);
    lf_table_free(t);
    if (!s) s = lf_write_file_atomic(path, buf, len);
    free(buf);
    return s;
}

/* ---- running ----------------------------------------------------------------------------------- */
void lf_profile_default_run_opts(lf_profile_run_opts *o) {
    memset(o, 0, sizeof *o);
    o->device = LINFER_DEVICE_CPU;
    o->dtype = LINFER_DTYPE_F16;
    o->batch = 1;
    o->in_len = 128;
    o->out_len = 32;
    o->warmup = 1;
    o->reps = 3;
    o->seed = 42;
}

static void ignore_step(void *user, const lf_step_info *s) { (void)user; (void)s; }

lf_status lf_profile_run(linfer_model *m, const lf_profile_run_opts *o, lf_profile *p, lf_profile_timing *t) {
    memset(t, 0, sizeof *t);
    LF_TRY(lf_profile_init(p, &m->cfg, o->batch, o->in_len, o->out_len));
    if (o->reps < 1 || o->warmup < 0) return lf_fail(LINFER_ERR_INVALID_ARG, "profile: reps %d (>= 1), warmup %d (>= 0)", o->reps, o->warmup);
    if ((long)o->in_len + o->out_len > m->cfg.max_context)
        return lf_fail(LINFER_ERR_CONTEXT, "profile: --in %d + --out %d exceeds the model's context of %d", o->in_len, o->out_len,
                       m->cfg.max_context);
    linfer_engine_params ep = linfer_engine_default_params();
    ep.device = o->device;
    ep.dtype = o->dtype;
    ep.max_batch = o->batch;
    ep.max_context = o->in_len + o->out_len;
    ep.n_threads = o->n_threads;
    ep.gpu_index = o->gpu_index;
    ep.tp_size = o->tp_size;
    ep.tp_rank = o->tp_rank;
    ep.tp_comm = o->tp_comm;
    p->tp = o->tp_size > 1 ? o->tp_size : 1;
    linfer_engine *e = NULL;
    LF_TRY(linfer_engine_create(m, &ep, &e));
    const int B = o->batch, V = m->cfg.vocab_size;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)B * (size_t)o->in_len);
    const int32_t **prompts = malloc(sizeof(int32_t *) * (size_t)B);
    size_t *lens = malloc(sizeof(size_t) * (size_t)B);
    lf_status s = LINFER_OK;
    if (!ids || !prompts || !lens) { s = lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory for %d prompts of %d tokens", B, o->in_len); goto done; }
    uint64_t h = o->seed;
    for (int i = 0; i < B; i++) {
        prompts[i] = ids + (size_t)i * o->in_len;
        lens[i] = (size_t)o->in_len;
        for (int j = 0; j < o->in_len; j++) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            ids[(size_t)i * o->in_len + j] = (int32_t)((h >> 33) % (uint64_t)V);
        }
    }
    linfer_sampling_params sp = linfer_sampling_default_params();
    sp.max_new_tokens = o->out_len;
    sp.ignore_eos = 1;
    sp.seed = o->seed;
    linfer_gen_stats st;
    for (int w = 0; w < o->warmup && !s; w++) s = linfer_generate(e, B, prompts, lens, &sp, NULL, NULL, NULL, NULL, &st);
    for (int r = 0; r < o->reps && !s; r++) {
        if ((s = linfer_generate(e, B, prompts, lens, &sp, NULL, NULL, NULL, NULL, &st))) break;
        t->tpot_unprofiled_ms += st.tpot_ms / o->reps;
        t->ttft_unprofiled_ms += st.ttft_ms / o->reps;
        /* a short profiled call first, not recorded: it pays the profiler's start (CUPTI enabling its
         * records, instrumenting the kernels on their first launch) outside the recorded steps */
        lf_engine_set_step_hook(e, ignore_step, NULL);
        linfer_sampling_params sp1 = sp;
        sp1.max_new_tokens = sp.max_new_tokens < 2 ? sp.max_new_tokens : 2;
        if ((s = linfer_generate(e, B, prompts, lens, &sp1, NULL, NULL, NULL, NULL, &st))) break;
        lf_engine_set_step_hook(e, lf_profile_hook, p);
        s = linfer_generate(e, B, prompts, lens, &sp, NULL, NULL, NULL, NULL, &st);
        lf_engine_set_step_hook(e, NULL, NULL);
        if (!s && p->err) s = p->err;   /* the hook failed (its message is the last error) */
        if (s) break;
        t->tpot_profiled_ms += st.tpot_ms / o->reps;
        t->ttft_profiled_ms += st.ttft_ms / o->reps;
        t->timing_source = lf_engine_backend(e)->timing_source;
    }
done:
    free(ids);
    free(prompts);
    free(lens);
    linfer_engine_free(e);
    return s;
}
