/* test_recipe.c — the recipes of `linfer bench --recipe` (src/perf/recipe.c), without running a
 * model: the recipe table and its seed values, refusal of unknown names and of impossible TP
 * values, which TP values run, the conclusion checkers on synthetic points (a latency curve flat
 * to batch 16 then rising gives B=16; data that contradicts a seed gives DISAGREES), the roofline
 * TP predictions, and the JSON/CSV with the recipe in the metadata (parsed back, no temporary
 * files left). */
#include "test_util.h"

#include <dirent.h>
#include "perf/bench.h"
#include "perf/presets.h"
#include "perf/recipe.h"
#include "perf/roofline.h"
#include "perf/sweep.h"

static const lf_recipe *get(const char *name) {
    const lf_recipe *r = NULL;
    assert_int_equal(lf_recipe_lookup(name, &r), LINFER_OK);
    assert_non_null(r);
    return r;
}

/* a point with measured e2e/tpot/tok/s and the same values as predictions unless given */
static lf_recipe_point pt(int tp, int batch, int in, int out, double e2e_ms, double tpot_ms) {
    lf_recipe_point p;
    memset(&p, 0, sizeof p);
    p.tp = tp;
    p.batch = batch;
    p.in_len = in;
    p.out_len = out;
    p.measured = 1;
    p.e2e_ms = e2e_ms;
    p.tpot_ms = tpot_ms;
    p.out_tok_s = (double)batch * out / (e2e_ms * 1e-3);
    p.mem_gib = p.host_gib = 1.0;
    p.pred_e2e_ms = e2e_ms;
    p.pred_tpot_ms = tpot_ms;
    p.pred_tok_s = p.out_tok_s;
    p.pred_mem_gib = 1.0;
    return p;
}

static lf_recipe_data data(const lf_recipe *r, const lf_recipe_point *p, int n) {
    lf_recipe_data d = {r, p, n, NULL, 0, NULL, NULL, 1};
    return d;
}

/* ---- the recipes ------------------------------------------------------------------------------ */
static void test_lookup(void **state) {
    (void)state;
    assert_string_equal(get("exp1")->name, "exp1");
    assert_string_equal(get("EXP3")->name, "exp3");   /* case-insensitive */
    assert_string_equal(get("ds-table")->name, "ds-table");
    const lf_recipe *r = (const lf_recipe *)1;
    assert_int_equal(lf_recipe_lookup("exp9", &r), LINFER_ERR_INVALID_ARG);
    assert_null(r);
    const char *msg = linfer_last_error();
    assert_non_null(strstr(msg, "'exp9'"));                                 /* names the culprit */
    assert_non_null(strstr(msg, "exp1, exp2, exp3, exp4, ds-table"));       /* lists the known ones */
    assert_int_equal(lf_recipe_lookup(NULL, &r), LINFER_ERR_INVALID_ARG);
    char names[128];
    assert_string_equal(lf_recipe_names(names, sizeof names), "exp1, exp2, exp3, exp4, ds-table");
}

/* Every recipe's lists parse, its models and reference GPU exist, its TP values are possible for its
 * model on its reference GPU, and the values the seeds state in their text are the ones used. */
static void test_recipe_table(void **state) {
    (void)state;
    int n;
    const lf_recipe *rs = lf_recipes(&n);
    assert_int_equal(n, LF_RECIPE_COUNT);
    for (int i = 0; i < n; i++) {
        const lf_recipe *r = &rs[i];
        assert_int_equal((int)r->id, i);
        int *v, nv;
        const char *lists[4] = {r->batch, r->in, r->out, r->tp};
        for (int k = 0; k < 4; k++) {
            assert_int_equal(lf_parse_int_list(lists[k], "list", 1, 1 << 20, &v, &nv), LINFER_OK);
            free(v);
        }
        lf_config cfg;
        assert_int_equal(lf_preset_model(r->model, &cfg), LINFER_OK);      /* the engine runs it */
        lf_roofline_model seed_shape, shape;
        assert_int_equal(lf_preset_shape(r->seed_model, &seed_shape), LINFER_OK);
        lf_hw hw;
        assert_int_equal(lf_hw_lookup(r->ref_hw, &hw), LINFER_OK);
        lf_roofline_model_from_config(&cfg, r->model, &shape);
        assert_int_equal(lf_parse_int_list(r->tp, "--tp", 1, 1024, &v, &nv), LINFER_OK);
        assert_int_equal(lf_recipe_check_tp(&shape, v, nv, hw.max_gpus, hw.name), LINFER_OK);
        for (int k = 0; k < nv; k++) assert_int_equal(lf_roofline_check(&shape, &hw, v[k], LF_PREC_FP16, hw.max_gpus), LINFER_OK);
        free(v);
        /* in + out fit the model's context */
        int *in, ni, *out, no;
        assert_int_equal(lf_parse_int_list(r->in, "--in", 1, 1 << 20, &in, &ni), LINFER_OK);
        assert_int_equal(lf_parse_int_list(r->out, "--out", 1, 1 << 20, &out, &no), LINFER_OK);
        for (int a = 0; a < ni; a++)
            for (int b = 0; b < no; b++) assert_true(in[a] + out[b] <= cfg.max_context);
        free(in);
        free(out);
    }
    /* seed 000 2.1: output_ids_len=20, num_gpus=1; 2.3: input 20, output 100 */
    assert_string_equal(get("exp1")->out, "20");
    assert_string_equal(get("exp1")->tp, "1");
    assert_string_equal(get("exp3")->in, "20");
    assert_string_equal(get("exp3")->out, "100");
    assert_string_equal(get("exp1")->seed_model, "llama-13b");
    /* seed 004: batch 1..128, 100 new tokens, bloom-7b1 */
    int ns;
    const lf_seed_ms_token *s4 = lf_recipe_seed004(&ns);
    assert_int_equal(ns, 6);
    int *b, nb;
    assert_int_equal(lf_parse_int_list(get("ds-table")->batch, "--batch", 1, 4096, &b, &nb), LINFER_OK);
    assert_int_equal(nb, ns);
    for (int i = 0; i < ns; i++) assert_int_equal(b[i], s4[i].batch);
    free(b);
    assert_true(s4[0].ms_per_token == 19.33 && s4[5].ms_per_token == 0.27);
    assert_string_equal(get("ds-table")->out, "100");
    assert_string_equal(get("ds-table")->seed_model, "bloom-7b1");
}

/* ---- TP ---------------------------------------------------------------------------------------- */
static void test_check_tp(void **state) {
    (void)state;
    lf_roofline_model smol, l13, l70;
    assert_int_equal(lf_preset_shape("smollm2-135m", &smol), LINFER_OK);
    assert_int_equal(lf_preset_shape("llama-13b", &l13), LINFER_OK);
    assert_int_equal(lf_preset_shape("llama-2-70b", &l70), LINFER_OK);
    const int t12[] = {1, 2}, t3[] = {1, 3}, t16[] = {1, 16}, ok[] = {1, 2, 4, 8}, t0[] = {0};
    assert_int_equal(lf_recipe_check_tp(&smol, t12, 2, 8, "h100-sxm"), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "--tp 2"));
    assert_non_null(strstr(linfer_last_error(), "9 attention heads are not divisible by 2"));
    assert_int_equal(lf_recipe_check_tp(&l13, t3, 2, 8, "h100-sxm"), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "--tp 3: tensor parallelism must be a power of two"));
    assert_int_equal(lf_recipe_check_tp(&l70, t16, 2, 8, "h100-sxm"), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "--tp 16: larger than the 8 GPUs of one h100-sxm node"));
    assert_int_equal(lf_recipe_check_tp(&l13, t16, 2, 0, NULL), LINFER_ERR_INVALID_ARG);   /* 40 heads / 16 */
    assert_non_null(strstr(linfer_last_error(), "40 attention heads"));
    assert_int_equal(lf_recipe_check_tp(&l13, t0, 1, 8, "x"), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_recipe_check_tp(&l13, ok, 4, 8, "v100-32"), LINFER_OK);
    assert_int_equal(lf_recipe_check_tp(&l70, t16, 2, 0, NULL), LINFER_OK);   /* 8 KV heads replicate over 16 */
}

static void test_plan_tp(void **state) {
    (void)state;
    const int tps[] = {1, 2, 4};
    lf_recipe_tp plan[3];
    int nrun;
    char buf[512];
    /* the CPU: TP 1 runs, TP 2 and 4 are skipped with the reason */
    assert_int_equal(lf_recipe_plan_tp(tps, 3, 0, plan, &nrun), LINFER_OK);
    assert_int_equal(nrun, 1);
    assert_true(plan[0].run && !plan[1].run && !plan[2].run);
    assert_non_null(strstr(plan[1].why, "recipes run TP 1 only"));
    lf_recipe_skipped_text(plan, 3, buf, sizeof buf);
    assert_non_null(strstr(buf, "TP 2, 4 not run: recipes run TP 1 only"));
    /* one GPU: TP 2 is also beyond the machine */
    assert_int_equal(lf_recipe_plan_tp(tps, 3, 1, plan, &nrun), LINFER_OK);
    assert_non_null(strstr(plan[2].why, "this machine has 1 GPU"));
    /* eight GPUs: still not run (no tensor parallelism yet) */
    assert_int_equal(lf_recipe_plan_tp(tps, 3, 8, plan, &nrun), LINFER_OK);
    assert_int_equal(nrun, 1);
    assert_null(strstr(plan[1].why, "this machine has"));
    /* nothing runnable: refused */
    const int only[] = {2, 4};
    assert_int_equal(lf_recipe_plan_tp(only, 2, 0, plan, &nrun), LINFER_ERR_UNSUPPORTED);
    assert_non_null(strstr(linfer_last_error(), "--tp 2,4: nothing to run"));
    /* all run: no skipped text */
    const int one[] = {1};
    assert_int_equal(lf_recipe_plan_tp(one, 1, 0, plan, &nrun), LINFER_OK);
    assert_string_equal(lf_recipe_skipped_text(plan, 1, buf, sizeof buf), "");
}

/* ---- the shared helper -------------------------------------------------------------------------- */
static void test_flat_until(void **state) {
    (void)state;
    /* batches 1, 2, 4, 8, 16, 32, 64: flat to 16, then rising */
    const double y[] = {100, 101, 99, 103, 105, 150, 300};
    assert_int_equal(lf_recipe_flat_until(y, 7, 0.10), 4);
    const double flat[] = {10, 10.5, 10.9, 11};
    assert_int_equal(lf_recipe_flat_until(flat, 4, 0.10), 3);
    const double early[] = {10, 12, 11};
    assert_int_equal(lf_recipe_flat_until(early, 3, 0.10), 0);   /* a dip back does not restart the run */
    const double gap[] = {10, NAN, 10};
    assert_int_equal(lf_recipe_flat_until(gap, 3, 0.10), 0);
    const double bad[] = {NAN, 1};
    assert_int_equal(lf_recipe_flat_until(bad, 2, 0.10), -1);
    assert_int_equal(lf_recipe_flat_until(y, 0, 0.10), -1);
}

/* ---- exp1 ----------------------------------------------------------------------------------------- */
/* in 32, 128, 512 at batches 1..64; spread across in: `rise` from batch `from` on */
static int exp1_points(lf_recipe_point *p, int from, double early, double rise) {
    const int bs[] = {1, 2, 4, 8, 16, 32, 64}, ins[] = {32, 128, 512};
    int n = 0;
    for (int b = 0; b < 7; b++)
        for (int i = 0; i < 3; i++) {
            double base = 100 + bs[b];
            double f = bs[b] >= from ? rise : early;
            p[n++] = pt(1, bs[b], ins[i], 20, base * (1 + f * i / 2.0), base / 20);
        }
    return n;
}

static void test_exp1(void **state) {
    (void)state;
    lf_recipe_point p[32];
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    /* input length matters (30%) from batch 16 on: B = 8, as the seed says */
    int n = exp1_points(p, 16, 0.02, 0.30);
    lf_recipe_data d = data(get("exp1"), p, n);
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 1);
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[0].measured, "up to batch B=8 (spread 2.0% at batch 1), 30.0% at batch 16, 30.0% at batch 64"));
    assert_non_null(strstr(c[0].text, "seed says input length barely changes latency"));
    assert_non_null(strstr(c[0].text, "; measured: "));
    assert_non_null(strstr(c[0].text, "; roofline: "));
    assert_non_null(strstr(c[0].text, "; AGREES"));
    /* contradicts the seed: input length matters at every batch */
    n = exp1_points(p, 1, 0.5, 0.5);
    d = data(get("exp1"), p, n);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_DISAGREES);
    assert_non_null(strstr(c[0].text, "DISAGREES"));
    assert_non_null(strstr(c[0].measured, "already at batch 1"));
    /* never matters in the sweep: no threshold seen */
    n = exp1_points(p, 1000, 0.01, 0.01);
    d = data(get("exp1"), p, n);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_INCONCLUSIVE);
    assert_non_null(strstr(c[0].measured, "no threshold in the sweep"));
    /* one input length: nothing to compare */
    lf_recipe_point one[2] = {pt(1, 1, 32, 20, 100, 5), pt(1, 2, 32, 20, 100, 5)};
    d = data(get("exp1"), one, 2);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_INCONCLUSIVE);
    assert_non_null(strstr(c[0].measured, "two or more --in"));
    /* nothing finished (every point too large): said so, no verdict */
    n = exp1_points(p, 16, 0.02, 0.30);
    for (int i = 0; i < n; i++) { p[i].measured = 0; p[i].nofit = 1; p[i].e2e_ms = NAN; }
    d = data(get("exp1"), p, n);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_INCONCLUSIVE);
    assert_non_null(strstr(c[0].measured, "no point finished (21 of 21 did not fit in memory)"));
    assert_non_null(strstr(c[0].roofline, "up to batch B=8"));   /* the predictions are still there */
    /* --hw none: the roofline part says so */
    n = exp1_points(p, 16, 0.02, 0.30);
    d = data(get("exp1"), p, n);
    d.have_roofline = 0;
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_non_null(strstr(c[0].roofline, "no ceilings"));
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
}

/* ---- exp2 ----------------------------------------------------------------------------------------- */
static void test_exp2(void **state) {
    (void)state;
    const int bs[] = {1, 4, 16}, outs[] = {32, 64, 128, 256};
    lf_recipe_point p[16];
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    int n = 0;
    for (int b = 0; b < 3; b++)
        for (int o = 0; o < 4; o++) p[n++] = pt(1, bs[b], 128, outs[o], 10.0 * outs[o], 10 * (1 + 0.01 * o));
    lf_recipe_data d = data(get("exp2"), p, n);
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 1);
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[0].measured, "at most 3.0%"));
    /* per-token latency doubling with the output length contradicts the seed */
    for (int i = 0; i < n; i++) p[i].tpot_ms = p[i].out_len / 10.0;
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_DISAGREES);
    assert_non_null(strstr(c[0].text, "DISAGREES"));
}

/* ---- exp3 ----------------------------------------------------------------------------------------- */
static int exp3_points(lf_recipe_point *p, const int *bs, int nb, const double *e2e) {
    for (int b = 0; b < nb; b++) p[b] = pt(1, bs[b], 20, 100, e2e[b], e2e[b] / 100);
    return nb;
}

static void test_exp3_flat_to_16(void **state) {
    (void)state;
    const int bs[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    /* latency flat to batch 16, then rising; tok/s keeps growing, within 90% of its best from batch 32 */
    const double e2e[] = {1000, 1010, 1000, 1030, 1050, 1600, 2900, 5800, 11600};
    lf_recipe_point p[9];
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    int n = exp3_points(p, bs, 9, e2e);
    lf_recipe_data d = data(get("exp3"), p, n);
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 3);
    /* 2: latency does not rise up to a threshold: B = 16 */
    assert_int_equal(c[1].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[1].measured, "up to batch 16,"));
    assert_non_null(strstr(c[1].measured, "at batch 32 (+60.0%)"));
    assert_non_null(strstr(c[1].roofline, "TP 1 within 10% of batch 1 up to batch 16"));
    /* 3: tok/s grows and saturates at batch >= 32: agrees with [32, 256] */
    assert_int_equal(c[2].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[2].measured, "90% of the best from batch 32"));
    /* 1: only TP 1 and no TP predictions */
    assert_int_equal(c[0].verdict, LF_VERDICT_INCONCLUSIVE);
    assert_int_equal(c[0].roofline_only, 1);
    /* latency rising from the first step and tok/s falling: both contradict the seed */
    const double bad[] = {1000, 2500, 6000, 13000, 30000, 70000, 150000, 400000, 900000};
    n = exp3_points(p, bs, 9, bad);
    d = data(get("exp3"), p, n);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[1].verdict, LF_VERDICT_DISAGREES);
    assert_int_equal(c[2].verdict, LF_VERDICT_DISAGREES);
    assert_non_null(strstr(c[2].measured, "falls from batch"));
    assert_non_null(strstr(c[1].text, "; DISAGREES"));
    /* a sweep that stops below batch 32 cannot say where tok/s saturates */
    n = exp3_points(p, bs, 4, e2e);
    d = data(get("exp3"), p, n);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[2].verdict, LF_VERDICT_INCONCLUSIVE);
}

/* The roofline for TP 1, 2, 4: llama-13b on the seed's V100s (in 20, out 100). */
static void test_exp3_tp_roofline(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    assert_int_equal(lf_preset_shape("llama-13b", &m), LINFER_OK);
    assert_int_equal(lf_hw_lookup("v100-32", &hw), LINFER_OK);
    const int bs[] = {1, 2, 4, 8, 16, 32, 64, 128, 256}, tps[] = {1, 2, 4};
    lf_bench_point bp[9];
    for (int i = 0; i < 9; i++) bp[i] = (lf_bench_point){bs[i], 20, 100, LINFER_DTYPE_F16};
    lf_recipe_point *tp_pts;
    int ntp;
    assert_int_equal(lf_recipe_predict_tp(&m, &hw, 0, LF_PREC_FP16, tps, 3, bp, 9, &tp_pts, &ntp), LINFER_OK);
    assert_int_equal(ntp, 27);
    /* TP 1 equals a direct roofline point */
    lf_roofline_result rr;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 8, 20, 100, LF_PREC_FP16, &rr), LINFER_OK);
    assert_true(fabs(tp_pts[3].pred_e2e_ms - rr.e2e_s * 1e3) < 1e-9);
    assert_int_equal(tp_pts[3].pred_max_batch, rr.max_batch);
    /* measured TP 1 points (copied from the predictions) */
    lf_recipe_point p[9];
    for (int i = 0; i < 9; i++) {
        p[i] = tp_pts[i];
        p[i].measured = 1;
        p[i].e2e_ms = p[i].pred_e2e_ms;
        p[i].out_tok_s = p[i].pred_tok_s;
    }
    lf_recipe_data d = {get("exp3"), p, 9, tp_pts, ntp, "v100-32 (datasheet)", "TP 2, 4 not run: recipes run TP 1 only", 1};
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 3);
    /* 13B is bandwidth-bound on V100s: more GPUs, less latency; the seed's 1st conclusion holds */
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
    assert_int_equal(c[0].roofline_only, 1);
    assert_non_null(strstr(c[0].measured, "TP 2, 4 not run"));
    assert_non_null(strstr(c[0].roofline, "TP 4"));
    assert_non_null(strstr(c[0].text, "AGREES (roofline only)"));
    assert_non_null(strstr(c[2].roofline, "grows with TP"));
    lf_table *t = lf_recipe_table(&d);
    assert_non_null(t);
    assert_int_equal(lf_table_nrows(t), 27);
    lf_table_free(t);
    free(tp_pts);
}

/* ---- exp4 ----------------------------------------------------------------------------------------- */
static void test_exp4(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    assert_int_equal(lf_preset_shape("llama-13b", &m), LINFER_OK);
    assert_int_equal(lf_hw_lookup("v100-32", &hw), LINFER_OK);
    const int bs[] = {1, 4, 16, 64, 256}, tps[] = {1, 2, 4};
    const double mem[] = {26.0, 26.5, 27.5, 40, NAN};   /* the last does not fit */
    lf_recipe_point p[10];
    lf_bench_point bp[10];
    int n = 0;
    for (int i = 0; i < 5; i++)
        for (int in = 128; in <= 1024; in *= 8) {
            p[n] = pt(1, bs[i], in, 128, 1000, 10);
            p[n].mem_gib = in == 1024 ? mem[i] : 26;
            p[n].pred_mem_gib = p[n].mem_gib;
            if (isnan(mem[i]) && in == 1024) { p[n].measured = 0; p[n].nofit = 1; p[n].pred_mem_gib = 80; }
            bp[n] = (lf_bench_point){bs[i], in, 128, LINFER_DTYPE_F16};
            n++;
        }
    lf_recipe_point *tp_pts;
    int ntp;
    assert_int_equal(lf_recipe_predict_tp(&m, &hw, 0, LF_PREC_FP16, tps, 3, bp, n, &tp_pts, &ntp), LINFER_OK);
    lf_recipe_data d = {get("exp4"), p, n, tp_pts, ntp, "v100-32 (datasheet)", "TP 2, 4 not run", 1};
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 2);
    /* the largest context (in 1024): flat to batch 16, 40 GiB at 64, 256 does not fit */
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[0].measured, "in 1024, out 128"));
    assert_non_null(strstr(c[0].measured, "up to batch 16"));
    assert_non_null(strstr(c[0].measured, "batch 256 does not fit"));
    assert_non_null(strstr(c[0].roofline, "grows with GPUs"));
    /* per-GPU memory: a little above half per doubling (the workspace and replicated parts stay) */
    assert_int_equal(c[1].verdict, LF_VERDICT_AGREES);
    assert_int_equal(c[1].roofline_only, 1);
    /* memory that doubles from the second batch on contradicts the seed */
    for (int i = 0; i < n; i++)
        if (p[i].in_len == 1024) { p[i].mem_gib = 10.0 * p[i].batch; p[i].measured = 1; p[i].nofit = 0; }
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_DISAGREES);
    free(tp_pts);
}

/* ---- ds-table ------------------------------------------------------------------------------------- */
static void test_ds_table(void **state) {
    (void)state;
    const int bs[] = {1, 8, 16, 32, 64, 128};
    const double e2e[] = {2000, 2400, 2600, 3000, 3800, 5600};   /* ms per generate of 100 tokens */
    lf_recipe_point p[6];
    for (int i = 0; i < 6; i++) p[i] = pt(1, bs[i], 8, 100, e2e[i], e2e[i] / 100);
    lf_recipe_data d = data(get("ds-table"), p, 6);
    lf_conclusion c[LF_RECIPE_MAX_CONCLUSIONS];
    assert_int_equal(lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS), 2);
    assert_int_equal(c[0].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[0].measured, "20.0 (batch 1)"));   /* 2000 ms / (1 x 100 tokens) */
    /* the seed's own figures lie above the roofline of its setup (bloom-7b1, TP 8 on RTX A6000) */
    assert_int_equal(c[1].verdict, LF_VERDICT_AGREES);
    assert_non_null(strstr(c[1].roofline, "bloom-7b1, TP 8 on rtx-a6000"));
    /* per-token time that stops falling past batch 32 contradicts the seed */
    p[4] = pt(1, 64, 8, 100, 6000, 60);
    p[5] = pt(1, 128, 8, 100, 12000, 120);
    lf_recipe_conclude(&d, c, LF_RECIPE_MAX_CONCLUSIONS);
    assert_int_equal(c[0].verdict, LF_VERDICT_DISAGREES);
    assert_non_null(strstr(c[0].measured, "stops falling from batch 32 to 64"));
    /* the comparison table has the seed's six batches */
    lf_table *t = lf_recipe_table(&d);
    assert_non_null(t);
    assert_int_equal(lf_table_nrows(t), 6);
    assert_true(fabs(lf_table_value(t, 0, 1) - 19.33) < 1e-12);
    assert_true(fabs(lf_table_value(t, 0, 2) - 20.0) < 1e-9);
    lf_table_free(t);
}

/* ---- output --------------------------------------------------------------------------------------- */
static int leftovers(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp") || strstr(e->d_name, ".bench")) n++;
    closedir(d);
    return n;
}

static void test_outputs(void **state) {
    (void)state;
    char dir[] = "/tmp/lf_recipe_XXXXXX";
    assert_non_null(mkdtemp(dir));
    lf_bench_result r[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 2; i++) {
        r[i].pt = (lf_bench_point){1 + i, 8, 20, LINFER_DTYPE_F32};
        r[i].state = LF_BENCH_OK;
        r[i].reps = 1;
        r[i].e2e_ms = 100 + i;
        r[i].tpot_ms = 5;
        r[i].out_tok_s = 20.0 * (1 + i) / 0.1;
        r[i].gpu_mem_bytes = NAN;
        r[i].pred_e2e_ms = 50;
    }
    lf_bench_meta meta = {"tiny", "cpu", "test cpu", "", "", "abc123", "linfer bench --recipe exp1", "2026-01-01T00:00:00Z",
                          "none", "none", NAN, NAN, NAN, 0, 1, NULL};
    lf_conclusion c[1];
    memset(c, 0, sizeof c);
    snprintf(c[0].claim, sizeof c[0].claim, "a \"quoted\", claim");
    snprintf(c[0].text, sizeof c[0].text, "seed says a \"quoted\", claim; measured: x; roofline: y; AGREES");
    c[0].verdict = LF_VERDICT_AGREES;
    lf_recipe_info ri = {get("exp1"), "1", "", "", c, 1, NULL};
    char jp[256], cp[256];
    snprintf(jp, sizeof jp, "%s/r.json", dir);
    snprintf(cp, sizeof cp, "%s/r.csv", dir);
    assert_int_equal(lf_recipe_write_json(jp, &meta, r, 2, &ri), LINFER_OK);
    assert_int_equal(lf_recipe_write_csv(cp, &meta, r, 2, &ri), LINFER_OK);
    assert_int_equal(leftovers(dir), 0);
    cJSON *j = tu_load_json(jp);
    assert_non_null(j);
    const cJSON *m = cJSON_GetObjectItem(j, "meta");
    assert_string_equal(cJSON_GetObjectItem(m, "recipe")->valuestring, "exp1");
    assert_string_equal(cJSON_GetObjectItem(m, "model")->valuestring, "tiny");   /* bench's meta is kept */
    assert_non_null(strstr(cJSON_GetObjectItem(m, "recipe_source")->valuestring, "seed 000"));
    const cJSON *cs = cJSON_GetObjectItem(m, "conclusions");
    assert_int_equal(cJSON_GetArraySize(cs), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cs, 0), "verdict")->valuestring, "AGREES");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cs, 0), "claim")->valuestring, "a \"quoted\", claim");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "points")), 2);
    cJSON_Delete(j);
    /* CSV: two more columns on every row, the conclusions quoted */
    FILE *f = fopen(cp, "r");
    assert_non_null(f);
    char line[8192];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (rows == 0) assert_non_null(strstr(line, ",command,recipe,conclusions"));
        else assert_non_null(strstr(line, ",exp1,\"seed says a \"\"quoted\"\", claim; measured: x; roofline: y; AGREES\""));
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 3);
    /* an unwritable path fails with its name and leaves nothing behind */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/r.json", dir);
    assert_int_not_equal(lf_recipe_write_json(bad, &meta, r, 2, &ri), LINFER_OK);
    assert_non_null(strstr(linfer_last_error(), "no-such-dir"));
    remove(jp);
    remove(cp);
    assert_int_equal(rmdir(dir), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),          cmocka_unit_test(test_recipe_table), cmocka_unit_test(test_check_tp),
        cmocka_unit_test(test_plan_tp),         cmocka_unit_test(test_flat_until),   cmocka_unit_test(test_exp1),
        cmocka_unit_test(test_exp2),            cmocka_unit_test(test_exp3_flat_to_16), cmocka_unit_test(test_exp3_tp_roofline),
        cmocka_unit_test(test_exp4),            cmocka_unit_test(test_ds_table),     cmocka_unit_test(test_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
