/* test_roofline.c — the roofline model, presets, sweep lists and table output.
 * The seed 002 worked examples (docs/roofline.md, "Seed 002") are reproduced from its inputs:
 * a GPT-style shape with P = 12·n·h², A100 at 1.5e12 B/s and 312e12 FLOP/s, 300e9 B/s links,
 * 8 µs per all-reduce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/presets.h"
#include "perf/roofline.h"
#include "perf/sweep.h"
#include "perf/table.h"

static double rel(double a, double b) { return fabs(a - b) / fabs(b); }

/* Round to n significant digits. */
static double round_sig(double x, int n) {
    if (x == 0) return 0;
    double p = pow(10, n - 1 - (int)floor(log10(fabs(x))));
    return round(x * p) / p;
}

/* The seed's A100: HBM 1.5e12 B/s, 312e12 FLOP/s, links 300e9 B/s per direction, 8 µs all-reduce. */
static void seed_hw(lf_hw *hw) {
    memset(hw, 0, sizeof *hw);
    snprintf(hw->name, sizeof hw->name, "custom");
    hw->hbm_bw = 1.5e12;
    for (int i = 0; i < LF_PREC_COUNT; i++) hw->flops[i] = 312e12;
    hw->nvlink_bw = 600e9;          /* both directions: 300e9 per direction */
    hw->nvlink_gpus = 16;
    hw->ar_latency_s = hw->ar_latency_pcie_s = 8e-6;
    hw->launch_s = 0;
}

static void seed_opts(lf_roofline_opts *o) {
    lf_roofline_default_opts(o);
    o->launch_s = 0;                 /* the seed has no launch floor */
    o->ar_model = LF_AR_TWOPHASE;    /* 4·n·8µs and B·2·4·n·h/A_c: reduce-scatter + all-gather */
}

/* Σ over the layer GEMMs (what 2P counts) of one term. */
static double gemm_sum(const lf_roofline_phase *ph, int which) {
    static const lf_op g[] = {LF_OP_QKV, LF_OP_O_PROJ, LF_OP_GATE_UP, LF_OP_DOWN};
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += which == 0 ? ph->op[g[i]].time : which == 1 ? ph->op[g[i]].t_compute : ph->op[g[i]].t_memory;
    return s;
}

static void seed_point(const char *shape, int tp, int batch, lf_allreduce_model arm, lf_roofline_result *r) {
    lf_roofline_model m;
    lf_hw hw;
    lf_roofline_opts o;
    assert_int_equal(lf_parse_shape(shape, &m), LINFER_OK);
    seed_hw(&hw);
    seed_opts(&o);
    o.ar_model = arm;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, tp, batch, 1, 2, LF_PREC_FP16, r), LINFER_OK);
}

/* 260B (n=80, h=16384) on 16 GPUs, small batch: ≈22 ms compute + ≈3 ms comms per token. */
static void test_seed002_small_batch(void **state) {
    (void)state;
    lf_roofline_result r;
    seed_point("gpt:n_layers=80,dim=16384", 16, 1, LF_AR_TWOPHASE, &r);
    const double n = 80, h = 16384, P = 12 * n * h * h;
    double compute = gemm_sum(&r.decode_first, 0);
    /* exactly the seed's formula 2·P/(N·A_bm) (activations add < 0.1%) */
    assert_true(rel(compute, 2 * P / (16 * 1.5e12)) < 1e-3);
    assert_true(gemm_sum(&r.decode_first, 2) > gemm_sum(&r.decode_first, 1));   /* memory-bound */
    /* 21.5 ms. The seed prints 22 ms because it rounds P to 260e9 (2·260e9/24e12 = 21.7 ms);
     * P = 12·80·16384² is 257.7e9. Agreement within that rounding: */
    assert_true(rel(compute, 22e-3) < 0.025);
    /* comms: 4·n·8 µs = 2560 µs ≈ 3 ms (2 all-reduces per layer, each reduce-scatter + all-gather) */
    const lf_op_cost *ar = &r.decode_first.op[LF_OP_ALL_REDUCE];
    assert_int_equal(ar->comm_count, 160);
    assert_true(rel(ar->t_comm_lat, 4 * 80 * 8e-6) < 1e-12);
    assert_true(round_sig(ar->t_comm_lat * 1e3, 1) == 3.0);
    assert_true(round_sig(ar->time * 1e3, 1) == 3.0);          /* the bytes add only 35 µs */
    assert_int_equal(ar->bound, LF_BOUND_LATENCY);
    /* the ring model charges one latency per all-reduce: half the seed's figure */
    lf_roofline_result r2;
    seed_point("gpt:n_layers=80,dim=16384", 16, 1, LF_AR_RING, &r2);
    assert_true(rel(r2.decode_first.op[LF_OP_ALL_REDUCE].t_comm_lat, 2 * 80 * 8e-6) < 1e-12);
    fprintf(stderr, "seed002 260B batch 1: compute %.2f ms, comms %.2f ms (latency term %.2f ms)\n",
            compute * 1e3, ar->time * 1e3, ar->t_comm_lat * 1e3);
}

/* Batch 512: ≈53 ms compute + ≈18 ms comms. */
static void test_seed002_large_batch(void **state) {
    (void)state;
    lf_roofline_result r;
    seed_point("gpt:n_layers=80,dim=16384", 16, 512, LF_AR_TWOPHASE, &r);
    const double n = 80, h = 16384, P = 12 * n * h * h;
    double compute = gemm_sum(&r.decode_first, 0);
    assert_true(rel(compute, 512 * 2 * P / (16 * 312e12)) < 1e-3);   /* B·2P/(N·A_f) */
    assert_true(rel(compute, gemm_sum(&r.decode_first, 1)) < 1e-12); /* compute-bound */
    for (int i = LF_OP_QKV; i <= LF_OP_DOWN; i++)
        if (i == LF_OP_QKV || i == LF_OP_O_PROJ || i == LF_OP_GATE_UP || i == LF_OP_DOWN)
            assert_int_equal(r.decode_first.op[i].bound, LF_BOUND_COMPUTE);
    assert_true(round_sig(compute * 1e3, 2) == 53.0);
    /* comms: B·2·4·n·h/A_c, the bandwidth term of the 160 all-reduces */
    const lf_op_cost *ar = &r.decode_first.op[LF_OP_ALL_REDUCE];
    assert_true(rel(ar->t_comm_bw, 512 * 2 * 4 * n * h / 300e9) < 1e-12);
    assert_true(round_sig(ar->t_comm_bw * 1e3, 2) == 18.0);
    assert_int_equal(ar->bound, LF_BOUND_COMM);
    fprintf(stderr, "seed002 260B batch 512: compute %.2f ms, comms (bandwidth term) %.2f ms, with latency %.2f ms\n",
            compute * 1e3, ar->t_comm_bw * 1e3, ar->time * 1e3);
}

/* n=40, h=5120 on one GPU: 2·12·40·5120²/1.5e12 = 16.8 ms, no comms. */
static void test_seed002_13b_one_gpu(void **state) {
    (void)state;
    lf_roofline_result r;
    seed_point("gpt:n_layers=40,dim=5120", 1, 1, LF_AR_RING, &r);
    double compute = gemm_sum(&r.decode_first, 0);
    assert_true(rel(compute, 2 * 12 * 40 * 5120.0 * 5120 / 1.5e12) < 1e-3);
    assert_true(round_sig(compute * 1e3, 3) == 16.8);
    assert_true(r.decode_first.op[LF_OP_ALL_REDUCE].time == 0);
    fprintf(stderr, "seed002 13B 1 GPU: %.2f ms\n", compute * 1e3);
}

/* ---- formulas of the issue ------------------------------------------------------------------- */
static void get_model(const char *name, lf_roofline_model *m) { assert_int_equal(lf_preset_shape(name, m), LINFER_OK); }
static void get_hw(const char *name, lf_hw *hw) { assert_int_equal(lf_hw_lookup(name, hw), LINFER_OK); }

static void test_attention_and_kv_formulas(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-70b", &m);   /* GQA: 64 heads, 8 KV heads */
    get_hw("h100-sxm", &hw);
    lf_roofline_phase ph;
    int b = 4, ctx = 1000;
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 1, b, ctx, LF_PREC_BF16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_ATTENTION].flops, 4.0 * b * 1 * ctx * 64 * 128 * 80) < 1e-12);
    assert_true(rel(ph.op[LF_OP_ATTENTION].bytes_kv_read, (double)b * ctx * 2 * 8 * 128 * 80 * 2) < 1e-12);
    assert_true(rel(ph.op[LF_OP_ATTENTION].bytes_kv_write, (double)b * 2 * 8 * 128 * 80 * 2) < 1e-12);
    /* under TP 8 each GPU holds one KV head */
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 8, b, ctx, LF_PREC_BF16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_ATTENTION].bytes_kv_read, (double)b * ctx * 2 * 1 * 128 * 80 * 2) < 1e-12);
    assert_int_equal(ph.op[LF_OP_ALL_REDUCE].comm_count, 2 * 80 + 2);   /* + embedding all-reduce + logits gather */
    /* QKV: 2·T·h·(nh + 2nkv)·hd/tp per layer */
    assert_true(rel(ph.op[LF_OP_QKV].flops, 2.0 * b * 8192 * (64 + 16) * 128 / 8 * 80) < 1e-12);
    /* SwiGLU: gate+up weights 2·h·ffn/tp */
    assert_true(rel(ph.op[LF_OP_GATE_UP].bytes_weight, 2.0 * 8192 * 28672 / 8 * 2 * 80) < 1e-12);
    /* prefill causal attention: s(s+1)/2 pairs per sequence */
    assert_int_equal(lf_roofline_prefill(&m, &hw, NULL, 1, 2, 512, LF_PREC_BF16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_ATTENTION].flops, 4.0 * 2 * (512.0 * 513 / 2) * 64 * 128 * 80) < 1e-12);
    lf_roofline_opts o;
    lf_roofline_default_opts(&o);
    o.causal_skip = 0;
    assert_int_equal(lf_roofline_prefill(&m, &hw, &o, 1, 2, 512, LF_PREC_BF16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_ATTENTION].flops, 4.0 * 2 * 512 * 512 * 64 * 128 * 80) < 1e-12);
}

static void test_gpt_mlp_and_sliding_window(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_hw("a100-sxm-80", &hw);
    get_model("gpt-j-6b", &m);
    lf_roofline_phase ph;
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 1, 1, 100, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_GATE_UP].bytes_weight, 4096.0 * 16384 * 2 * 28) < 1e-12);   /* one up matrix */
    assert_true(rel(lf_roofline_model_params(&m), 6.05e9) < 0.01);
    get_model("mistral-7b", &m);
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 1, 1, 8000, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(rel(ph.op[LF_OP_ATTENTION].bytes_kv_read, 4096.0 * 2 * 8 * 128 * 32 * 2) < 1e-12);
    assert_true(rel(ph.op[LF_OP_ATTENTION].flops, 4.0 * 4096 * 32 * 128 * 32) < 1e-12);
}

static void test_point_totals(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-7b", &m);
    get_hw("a100-sxm-80", &hw);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 8, 512, 256, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(r.decode_steps, 255);
    assert_int_equal(r.decode_first.ctx, 513);
    assert_int_equal(r.decode_last.ctx, 767);
    assert_true(r.tpot_last_s > r.tpot_first_s);                 /* grows with context */
    assert_true(r.tpot_mean_s > r.tpot_first_s && r.tpot_mean_s < r.tpot_last_s);
    assert_true(rel(r.e2e_s, r.ttft_s + r.tpot_mean_s * 255) < 1e-9);
    assert_true(rel(r.throughput_tok_s, 8.0 * 256 / r.e2e_s) < 1e-12);
    assert_int_equal(r.decode_first.bound, LF_BOUND_MEMORY);
    assert_int_equal(r.prefill.bound, LF_BOUND_COMPUTE);
    /* decode at batch 8 reads all weights and the KV cache once: TPOT ≈ (weights + KV)/BW */
    double floor_s = (r.mem.weights + r.decode_first.op[LF_OP_ATTENTION].bytes_kv_read) / 2.039e12;
    assert_true(r.tpot_first_s > floor_s && r.tpot_first_s < 1.1 * floor_s);
    /* parameter counts of the released checkpoints */
    assert_true(lf_roofline_model_params(&m) == 6738415616.0);
    get_model("llama-3-8b", &m);
    assert_true(lf_roofline_model_params(&m) == 8030261248.0);
    get_model("smollm2-135m", &m);
    assert_true(lf_roofline_model_params(&m) == 134515008.0);
    /* one token out: no decode step */
    get_model("llama-2-7b", &m);
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 16, 1, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(r.decode_steps, 0);
    assert_true(r.tpot_mean_s == 0 && r.e2e_s == r.ttft_s);
}

static void test_memory_and_max_batch(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-7b", &m);
    get_hw("a100-sxm-80", &hw);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 1024, 1024, LF_PREC_FP16, &r), LINFER_OK);
    assert_true(rel(r.mem.weights, 6738415616.0 * 2) < 1e-9);
    assert_true(rel(r.mem.kv_per_token, 2.0 * 32 * 4096 * 2) < 1e-12);   /* 512 KiB per token */
    assert_true(r.mem.fits == 1);
    int mb = r.max_batch;
    assert_true(mb > 10 && mb < 200);
    lf_roofline_memory mm;
    assert_int_equal(lf_roofline_memory_use(&m, &hw, NULL, 1, mb, 1024, 1024, LF_PREC_FP16, &mm), LINFER_OK);
    assert_true(mm.fits == 1);
    assert_int_equal(lf_roofline_memory_use(&m, &hw, NULL, 1, mb + 1, 1024, 1024, LF_PREC_FP16, &mm), LINFER_OK);
    assert_true(mm.fits == 0);
    /* TP 2 halves the weights per GPU (norm vectors are replicated) */
    lf_roofline_result r2;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 2, 1, 1024, 1024, LF_PREC_FP16, &r2), LINFER_OK);
    assert_true(rel(r2.mem.weights, r.mem.weights / 2) < 1e-4);
    assert_true(r2.max_batch > 2 * mb);
    /* int8 halves the layer weights */
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 1024, 1024, LF_PREC_INT8, &r2), LINFER_OK);
    assert_true(r2.mem.weights < 0.55 * r.mem.weights);
    /* llama-2-70b does not fit one 80 GB GPU in fp16 */
    get_model("llama-2-70b", &m);
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 128, 128, LF_PREC_FP16, &r), LINFER_OK);
    assert_true(r.mem.fits == 0 && r.max_batch == 0);
}

/* pipeline parallelism: the naive split costs a hop per stage; micro-batches overlap the stages
 * of a compute-bound prefill ((M + P - 1) / (M P) of the layers) and re-read the weights in a
 * memory-bound decode; per GPU a stage's layers and KV cache */
static void test_pipeline(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-13b", &m);
    get_hw("h200", &hw);
    lf_roofline_opts o;
    lf_roofline_default_opts(&o);
    lf_roofline_result r1, rn, r2, r4, ra;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 32, 512, 32, LF_PREC_FP16, &r1), LINFER_OK);
    assert_int_equal(r1.pp, 1);
    o.pp = 2;
    o.pp_micro = 1;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 32, 512, 32, LF_PREC_FP16, &rn), LINFER_OK);
    /* naive: one GPU's time plus one hop (latency + 32*512*5120*4 bytes / busbw) */
    const double hop = hw.ar_latency_s + 32.0 * 512 * 5120 * 4 / (hw.nvlink_bw / 2);
    assert_true(rel(rn.ttft_s, r1.ttft_s + hop) < 1e-3);
    assert_true(rn.tpot_mean_s > r1.tpot_mean_s && rn.tpot_mean_s < r1.tpot_mean_s * 1.01);
    assert_true(rn.mem.weights < 0.6 * r1.mem.weights && rel(rn.mem.kv_per_token, r1.mem.kv_per_token / 2) < 1e-12);
    o.pp_micro = 2;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 32, 512, 32, LF_PREC_FP16, &r2), LINFER_OK);
    o.pp_micro = 4;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 32, 512, 32, LF_PREC_FP16, &r4), LINFER_OK);
    /* compute-bound prefill: about (M + 1) / (2 M) of one GPU's layers: 0.75 and 0.625 */
    assert_true(r2.ttft_s / r1.ttft_s > 0.70 && r2.ttft_s / r1.ttft_s < 0.80);
    assert_true(r4.ttft_s / r1.ttft_s > 0.58 && r4.ttft_s / r1.ttft_s < 0.70);
    assert_int_equal(r2.pp_micro_prefill, 2);
    /* memory-bound decode: every micro-batch reads the stage's weights again */
    assert_true(r2.tpot_mean_s > 1.15 * r1.tpot_mean_s && r4.tpot_mean_s > 1.5 * r1.tpot_mean_s);
    /* auto (as the engine): micro-batches for the prefill only */
    o.pp_micro = 0;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 32, 512, 32, LF_PREC_FP16, &ra), LINFER_OK);
    assert_int_equal(ra.pp_micro_prefill, 2);
    assert_int_equal(ra.pp_micro_decode, 1);
    assert_true(rel(ra.ttft_s, r2.ttft_s) < 1e-12 && rel(ra.tpot_mean_s, rn.tpot_mean_s) < 1e-12);
    /* a batch of 1 cannot be cut */
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 1, 512, 32, LF_PREC_FP16, &ra), LINFER_OK);
    assert_int_equal(ra.pp_micro_prefill, 1);
}

static void test_thresholds(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-7b", &m);
    get_hw("a100-sxm-80", &hw);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 128, 128, LF_PREC_FP16, &r), LINFER_OK);
    double opb = 312e12 / 2039e9;
    assert_true(rel(r.ops_per_byte, opb) < 1e-12);
    /* fp16 weights: a decode step's GEMM intensity ≈ b FLOP/B, so the critical batch ≈ ops:byte */
    assert_true(r.critical_batch >= opb && r.critical_batch < 1.15 * opb);
    assert_true(r.input_token_threshold >= opb && r.input_token_threshold < 1.15 * opb);
    assert_true(rel(r.seed_rule_batch, opb) < 1e-12);
    /* under TP the per-GPU threshold stays put; the knee moves out (fixed all-reduce and launch costs) */
    lf_roofline_result r4;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 4, 1, 128, 128, LF_PREC_FP16, &r4), LINFER_OK);
    assert_true(abs(r4.critical_batch - r.critical_batch) <= 0.05 * r.critical_batch);
    assert_true(rel(r4.seed_rule_batch, 4 * opb) < 1e-12);
    /* At the default 10% both knees sit just past batch 16, where the step leaves the skinny GEMM
     * and SwiGLU gets a kernel of its own (L kernels more: a step, not a slope); under TP the
     * norms leave the all-reduce kernels there too (2L kernels more). */
    assert_true(r.knee_batch > 16 && r4.knee_batch > 16);
    lf_roofline_opts o;
    lf_roofline_default_opts(&o);
    o.knee = 0.30;
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 1, 1, 128, 128, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(lf_roofline_point(&m, &hw, &o, 4, 1, 128, 128, LF_PREC_FP16, &r4), LINFER_OK);
    assert_true(r.knee_batch > 17 && r4.knee_batch > 17);
    /* Since session 18 the norms of TP decode steps of up to 16 rows run inside the all-reduce
     * (no kernels but the first layer's and the final one); that step at 17 rows is larger under
     * TP than the SwiGLU step alone, so at 30% the TP 4 knee now comes before TP 1's (before: 56
     * against 55). */
    assert_true(r4.knee_batch < r.knee_batch);
    lf_roofline_phase ph;
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 4, 16, 256, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(ph.op[LF_OP_NORM].kernels == 2);
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 4, 17, 256, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(ph.op[LF_OP_NORM].kernels == 2 * 32 + 1);
    assert_int_equal(lf_roofline_decode(&m, &hw, NULL, 1, 16, 256, LF_PREC_FP16, &ph), LINFER_OK);
    assert_true(ph.op[LF_OP_NORM].kernels == 2 * 32 + 1);
}

static void test_checks(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-7b", &m);
    get_hw("a100-sxm-80", &hw);
    assert_int_equal(lf_roofline_check(&m, &hw, 3, LF_PREC_FP16, 8), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "power of two"));
    assert_int_equal(lf_roofline_check(&m, &hw, 16, LF_PREC_FP16, 8), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "8 GPUs"));
    assert_int_equal(lf_roofline_check(&m, &hw, 8, LF_PREC_FP8, 8), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "fp8"));
    assert_int_equal(lf_roofline_check(&m, &hw, 8, LF_PREC_BF16, 8), LINFER_OK);
    get_model("llama-30b", &m);      /* 52 heads */
    assert_int_equal(lf_roofline_check(&m, &hw, 8, LF_PREC_FP16, 8), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "52 attention heads"));
    get_model("smollm2-135m", &m);   /* 9 heads */
    assert_int_equal(lf_roofline_check(&m, &hw, 2, LF_PREC_FP16, 8), LINFER_ERR_INVALID_ARG);
    get_hw("t4", &hw);
    assert_int_equal(lf_roofline_check(&m, &hw, 1, LF_PREC_BF16, 8), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_roofline_check_point(&m, 1, 8000, 500), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "context of 8192"));
    assert_int_equal(lf_roofline_check_point(&m, 1, 4000, 500), LINFER_OK);
}

/* ---- presets ------------------------------------------------------------------------------- */
static void test_model_presets(void **state) {
    (void)state;
    lf_config cfg;
    assert_int_equal(lf_preset_model("smollm2-135m", &cfg), LINFER_OK);
    assert_int_equal(cfg.n_layers, 30);
    assert_int_equal(cfg.dim, 576);
    assert_int_equal(cfg.n_heads, 9);
    assert_int_equal(cfg.n_kv_heads, 3);
    assert_int_equal(cfg.head_dim, 64);
    assert_int_equal(cfg.ffn_dim, 1536);
    assert_int_equal(cfg.vocab_size, 49152);
    assert_int_equal(cfg.max_context, 8192);
    assert_int_equal(cfg.tie_embeddings, 1);
    assert_true(cfg.rope_theta == 100000.0f);
    assert_string_equal(cfg.arch, "llama");
    assert_int_equal(lf_preset_model("LLaMA-3-70B", &cfg), LINFER_OK);   /* case-insensitive */
    assert_int_equal(cfg.n_kv_heads, 8);
    assert_int_equal(cfg.vocab_size, 128256);
    assert_true(cfg.rope_theta == 500000.0f);
    int n;
    const lf_model_preset *p = lf_model_presets(&n);
    assert_int_equal(n, 15);
    for (int i = 0; i < n; i++) {
        lf_status s = lf_preset_model(p[i].name, &cfg);
        assert_int_equal(s, p[i].shape.engine_runs ? LINFER_OK : LINFER_ERR_UNSUPPORTED);
        if (s == LINFER_OK) {
            assert_int_equal(cfg.n_heads * cfg.head_dim, cfg.dim);
            assert_int_equal(cfg.n_heads % cfg.n_kv_heads, 0);
            lf_roofline_model back;
            lf_roofline_model_from_config(&cfg, p[i].name, &back);
            assert_true(lf_roofline_model_params(&back) == lf_roofline_model_params(&p[i].shape));
        }
        assert_non_null(p[i].shape.source);
    }
    assert_int_equal(lf_preset_model("gpt-j-6b", &cfg), LINFER_ERR_UNSUPPORTED);
    assert_int_equal(lf_preset_model("llama-9b", &cfg), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "llama-2-7b"));
    assert_non_null(strstr(linfer_last_error(), "smollm2-135m"));
    lf_roofline_model m;
    assert_int_equal(lf_preset_shape("bloom-7b1", &m), LINFER_OK);
    assert_int_equal(m.rope_dims, 0);
    assert_true(rel(lf_roofline_model_params(&m), 7.07e9) < 0.01);
    get_model("gpt-neox-20b", &m);
    assert_true(rel(lf_roofline_model_params(&m), 20.55e9) < 0.01);
}

static void test_hw_lookup(void **state) {
    (void)state;
    lf_hw hw;
    static const struct { const char *in, *want; } cases[] = {
        {"NVIDIA H200", "h200"}, {"NVIDIA H100 80GB HBM3", "h100-sxm"}, {"NVIDIA A100-SXM4-80GB", "a100-sxm-80"},
        {"NVIDIA A100-SXM4-40GB", "a100-sxm-40"}, {"NVIDIA A100 80GB PCIe", "a100-pcie-80"},
        {"NVIDIA A100-PCIE-40GB", "a100-pcie-40"}, {"NVIDIA H100 PCIe", "h100-pcie"}, {"Tesla T4", "t4"},
        {"Tesla V100-SXM2-32GB", "v100-32"}, {"Tesla V100-SXM2-16GB", "v100-16"}, {"NVIDIA RTX A6000", "rtx-a6000"},
        {"NVIDIA L40S", "l40s"}, {"NVIDIA A10", "a10"}, {"NVIDIA A40", "a40"}, {"NVIDIA B200", "b200"},
        {"h100-SXM", "h100-sxm"}, {"A100_sxm_80", "a100-sxm-80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(lf_hw_lookup(cases[i].in, &hw), LINFER_OK);
        assert_string_equal(hw.name, cases[i].want);
    }
    get_hw("h100-sxm", &hw);
    assert_true(hw.hbm_bw == 3350e9 && hw.flops[LF_PREC_BF16] == 989.4e12 && hw.flops[LF_PREC_FP8] == 1978.9e12);
    assert_true(lf_hw_eff_busbw(&hw, 8) == 450e9);
    get_hw("a40", &hw);              /* NVLink bridge joins pairs; 4 GPUs talk over PCIe */
    assert_true(lf_hw_eff_busbw(&hw, 2) == 56.25e9);
    assert_true(lf_hw_eff_busbw(&hw, 4) == 32e9);
    assert_int_equal(lf_hw_lookup("A100", &hw), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "ambiguous"));
    assert_int_equal(lf_hw_lookup("NVIDIA GeForce RTX 4090", &hw), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "h200"));
    assert_non_null(strstr(linfer_last_error(), "measured"));
    assert_int_equal(lf_hw_lookup("L40", &hw), LINFER_ERR_INVALID_ARG);   /* not the L40S */
    int n;
    const lf_hw *all = lf_hw_presets(&n);
    for (int i = 0; i < n; i++) {
        assert_true(all[i].hbm_bw > 0 && all[i].mem_bytes > 0 && all[i].flops[LF_PREC_FP16] > 0);
        assert_non_null(all[i].source);
    }
}

/* save to a temporary file and load back */
static void measured_roundtrip(const lf_hw_measured *me, lf_hw_measured *back) {
    char path[] = "/tmp/lf_calib_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(lf_hw_measured_save(path, me), LINFER_OK);
    assert_int_equal(lf_hw_measured_load(path, back), LINFER_OK);
    unlink(path);
}

static void test_measured_ceilings(void **state) {
    (void)state;
    lf_hw hw;
    get_hw("NVIDIA H100 80GB HBM3", &hw);
    lf_hw_measured me;
    memset(&me, 0, sizeof me);
    me.valid = 1;
    snprintf(me.gpu_name, sizeof me.gpu_name, "NVIDIA H100 80GB HBM3");
    me.read_bw = 2.9e12;
    me.gemm_flops[LF_PREC_BF16] = 700e12;
    me.launch_s = 2.5e-6;
    me.ar_latency_s = 12e-6;
    me.ar_busbw = 360e9;
    me.ar_gpus = 8;
    me.mem_bytes = 85e9;
    lf_hw_measured back;
    measured_roundtrip(&me, &back);
    assert_true(back.valid && back.read_bw == 2.9e12 && back.gemm_flops[LF_PREC_BF16] == 700e12 && back.ar_gpus == 8);
    assert_string_equal(back.gpu_name, "NVIDIA H100 80GB HBM3");
    lf_hw mh;
    assert_int_equal(lf_hw_from_measured(&back, &mh), LINFER_OK);
    assert_string_equal(mh.name, "measured");
    assert_true(lf_hw_eff_bw(&mh) == 2.9e12 && mh.hbm_bw == 3350e9);     /* both kept */
    assert_true(lf_hw_eff_flops(&mh, LF_PREC_BF16) == 700e12);
    assert_true(lf_hw_eff_flops(&mh, LF_PREC_FP8) == 1978.9e12);           /* not measured: datasheet */
    assert_true(lf_hw_eff_busbw(&mh, 8) == 360e9 && lf_hw_eff_busbw(&mh, 4) == 450e9);
    assert_true(lf_hw_eff_ar_latency(&mh, 8) == 12e-6 && lf_hw_eff_launch(&mh) == 2.5e-6);
    mh.use_measured = 0;
    assert_true(lf_hw_eff_bw(&mh) == 3350e9);
    /* an unknown GPU: measured figures only */
    snprintf(back.gpu_name, sizeof back.gpu_name, "Some Future GPU");
    assert_int_equal(lf_hw_from_measured(&back, &mh), LINFER_OK);
    assert_true(lf_hw_eff_bw(&mh) == 2.9e12 && lf_hw_eff_flops(&mh, LF_PREC_FP16) == 0);
    lf_roofline_model m;
    get_model("llama-2-7b", &m);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &mh, NULL, 1, 1, 64, 8, LF_PREC_BF16, &r), LINFER_OK);
    assert_int_equal(lf_roofline_point(&m, &mh, NULL, 1, 1, 64, 8, LF_PREC_FP16, &r), LINFER_ERR_INVALID_ARG);
    back.read_bw = 0;
    back.valid = 0;
    assert_int_equal(lf_hw_from_measured(&back, &mh), LINFER_ERR_INVALID_ARG);
}

/* The kernel-chain curve (`linfer calibrate`): saved and loaded, interpolated, and used as the
 * per-kernel overhead: op time = max(FLOPs/F, bytes/BW) + kernels x (chain(bytes per kernel) -
 * bytes per kernel / BW); a flat --kernel-us; --launch-us goes back to the launch floor. */
static void test_kernel_chain(void **state) {
    (void)state;
    lf_hw_measured me;
    memset(&me, 0, sizeof me);
    me.valid = 1;
    snprintf(me.gpu_name, sizeof me.gpu_name, "NVIDIA H200");
    me.read_bw = 4.5e12;
    me.gemm_flops[LF_PREC_FP16] = 650e12;
    me.launch_s = 4e-6;
    me.chain_n = 3;
    const double cb[3] = {16384, 1048576, 67108864}, cs[3] = {1.4e-6, 2.4e-6, 17.4e-6};
    for (int i = 0; i < 3; i++) { me.chain_bytes[i] = cb[i]; me.chain_s[i] = cs[i]; }
    lf_hw_measured back;
    measured_roundtrip(&me, &back);
    assert_int_equal(back.chain_n, 3);
    for (int i = 0; i < 3; i++) assert_true(back.chain_bytes[i] == cb[i] && back.chain_s[i] == cs[i]);
    lf_hw hw;
    assert_int_equal(lf_hw_from_measured(&back, &hw), LINFER_OK);
    /* interpolation: below the smallest, between two sizes, beyond the largest */
    assert_true(lf_hw_chain_time(&hw, 100) == 1.4e-6);
    const double mid = (1048576.0 + 67108864.0) / 2;
    assert_true(fabs(lf_hw_chain_time(&hw, mid) - (2.4e-6 + 17.4e-6) / 2) < 1e-15);
    assert_true(fabs(lf_hw_chain_time(&hw, 67108864.0 + 4.5e6) - (17.4e-6 + 1e-6)) < 1e-15);
    char desc[256];
    assert_string_equal(lf_hw_overhead_desc(&hw, desc, sizeof desc),
                        "kernel chain (measured): +1.40 us at 16 KiB, +2.17 us at 1 MiB, +2.49 us at 64 MiB");
    hw.use_measured = 0;
    assert_true(lf_hw_chain_time(&hw, mid) == 0);
    assert_non_null(strstr(lf_hw_overhead_desc(&hw, desc, sizeof desc), "launch floor"));
    hw.use_measured = 1;

    lf_roofline_model m;
    get_model("llama-2-7b", &m);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 1, 1, 128, 4, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(r.overhead_model, 1);
    const lf_op_cost *o = &r.decode_first.op[LF_OP_O_PROJ];
    const double bytes = o->bytes_weight + o->bytes_act + o->bytes_kv_read + o->bytes_kv_write;
    const double per = bytes / o->kernels;   /* one kernel per layer */
    assert_int_equal(o->kernels, m.n_layers);
    const double excess = lf_hw_chain_time(&hw, per) - per / 4.5e12;
    assert_true(excess > 2e-6 && excess < 3e-6);
    assert_true(fabs(o->t_launch - m.n_layers * excess) < 1e-12);
    assert_true(fabs(o->time - (fmax(o->t_compute, o->t_memory) + o->t_launch)) < 1e-12);
    /* no kernel of its own: the residual adds (in the projections' epilogues) */
    assert_int_equal(r.decode_first.op[LF_OP_RESIDUAL].kernels, 0);
    assert_true(r.decode_first.op[LF_OP_RESIDUAL].t_launch == 0);
    const double t_chain = r.tpot_first_s;

    lf_roofline_opts ro;
    lf_roofline_default_opts(&ro);
    ro.kernel_s = 0;   /* flat zero: the pure roofline */
    assert_int_equal(lf_roofline_point(&m, &hw, &ro, 1, 1, 128, 4, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(r.overhead_model, 2);
    assert_true(r.decode_first.op[LF_OP_O_PROJ].t_launch == 0 && r.tpot_first_s < t_chain);
    ro.kernel_s = 2e-6;
    assert_int_equal(lf_roofline_point(&m, &hw, &ro, 1, 1, 128, 4, LF_PREC_FP16, &r), LINFER_OK);
    assert_true(fabs(r.decode_first.op[LF_OP_O_PROJ].t_launch - m.n_layers * 2e-6) < 1e-12);
    lf_roofline_default_opts(&ro);
    ro.launch_s = 3e-6;   /* the older floor, asked for */
    assert_int_equal(lf_roofline_point(&m, &hw, &ro, 1, 1, 128, 4, LF_PREC_FP16, &r), LINFER_OK);
    assert_int_equal(r.overhead_model, 0);
    o = &r.decode_first.op[LF_OP_O_PROJ];
    assert_true(o->time == fmax(o->t_compute, fmax(o->t_memory, o->t_launch)));
}

static void test_shape_parse(void **state) {
    (void)state;
    lf_roofline_model m;
    assert_int_equal(lf_parse_shape("gpt:n_layers=80,dim=16384", &m), LINFER_OK);
    assert_int_equal(m.arch, LF_ARCH_GPT);
    assert_int_equal(m.n_heads, 128);
    assert_int_equal(m.ffn_dim, 4 * 16384);
    assert_int_equal(m.vocab_size, 0);
    assert_true(lf_roofline_model_params(&m) > 12.0 * 80 * 16384 * 16384);
    assert_int_equal(lf_parse_shape("llama:n_layers=32,dim=4096,n_kv_heads=8,vocab=32000", &m), LINFER_OK);
    assert_int_equal(m.ffn_dim, 11008);   /* 8/3·4096 rounded up to 256 */
    assert_int_equal(m.n_kv_heads, 8);
    assert_int_equal(lf_parse_shape("gpt:dim=16", &m), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_parse_shape("bert:n_layers=1,dim=16", &m), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_parse_shape("gpt:n_layers=2,dim=64,bogus=1", &m), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "bogus"));
    assert_int_equal(lf_parse_shape("gpt:n_layers=x,dim=64", &m), LINFER_ERR_INVALID_ARG);
}

/* ---- sweep lists ------------------------------------------------------------------------------ */
static void expect_list(const char *s, const int *want, int nwant) {
    int *v, n;
    assert_int_equal(lf_parse_int_list(s, "--x", 0, 1 << 30, &v, &n), LINFER_OK);
    assert_int_equal(n, nwant);
    for (int i = 0; i < n; i++) assert_int_equal(v[i], want[i]);
    free(v);
}

static void test_int_list(void **state) {
    (void)state;
    expect_list("1,2,4", (int[]){1, 2, 4}, 3);
    expect_list("1-8", (int[]){1, 2, 3, 4, 5, 6, 7, 8}, 8);
    expect_list("1:256:x2", (int[]){1, 2, 4, 8, 16, 32, 64, 128, 256}, 9);
    expect_list("1:100:x3", (int[]){1, 3, 9, 27, 81}, 5);
    expect_list("128:512:+128", (int[]){128, 256, 384, 512}, 4);
    expect_list("0:10:5", (int[]){0, 5, 10}, 3);
    expect_list(" 7 , 3-4,16:32:x2", (int[]){7, 3, 4, 16, 32}, 5);
    static const char *bad[] = {"", "1,,2", "8-1", "a", "1:10:x1", "1:10:+0", "-3", "1-", "2:", "1:8:y2", "0:8:x2", "5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int *v = (int *)1, n = 1;
        assert_int_equal(lf_parse_int_list(bad[i], "--batch", 0, 1000, &v, &n), LINFER_ERR_INVALID_ARG);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_non_null(strstr(linfer_last_error(), "--batch"));
    }
    int *v, n;
    assert_int_equal(lf_parse_int_list("1-1000000", "--in", 1, 1 << 30, &v, &n), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_parse_int_list("0,1", "--tp", 1, 8, &v, &n), LINFER_ERR_INVALID_ARG);
    assert_non_null(strstr(linfer_last_error(), "outside"));
    assert_int_equal(lf_parse_int_list("1:2147483647:x2", "--in", 1, 2147483647L, &v, &n), LINFER_OK);
    assert_int_equal(n, 31);
    free(v);
}

/* ---- table ----------------------------------------------------------------------------------- */
static char *render(const lf_table *t, lf_table_format fmt) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(lf_table_write(t, f, fmt), LINFER_OK);
    fclose(f);
    return buf;
}

static void test_table(void **state) {
    (void)state;
    const char *cols[] = {"op", "time_ms", "n"};
    lf_table *t = lf_table_new(3, cols);
    assert_non_null(t);
    lf_table_row(t); lf_table_str(t, "qkv"); lf_table_num(t, 1.23456, 2); lf_table_int(t, 32);
    lf_table_row(t); lf_table_str(t, "a,\"b\""); lf_table_num(t, NAN, 2); lf_table_int(t, -1);
    lf_table_row(t); lf_table_str(t, "x|y"); lf_table_num(t, 12345.678, -3);
    char *s = render(t, LF_FMT_TABLE);
    /* numbers right-aligned, strings left-aligned, widths from the widest cell, no trailing blanks */
    assert_string_equal(s, "op      time_ms   n\n"
                           "-----  --------  --\n"
                           "qkv        1.23  32\n"
                           "a,\"b\"            -1\n"
                           "x|y    1.23e+04\n");
    free(s);
    s = render(t, LF_FMT_CSV);
    assert_string_equal(s, "op,time_ms,n\nqkv,1.23456,32\n\"a,\"\"b\"\"\",,-1\nx|y,12345.678,\n");
    free(s);
    s = render(t, LF_FMT_JSON);
    assert_string_equal(s, "[\n  {\"op\": \"qkv\", \"time_ms\": 1.23456, \"n\": 32},\n"
                           "  {\"op\": \"a,\\\"b\\\"\", \"time_ms\": null, \"n\": -1},\n"
                           "  {\"op\": \"x|y\", \"time_ms\": 12345.678, \"n\": null}\n]\n");
    free(s);
    s = render(t, LF_FMT_MD);
    assert_string_equal(s, "| op | time_ms | n |\n|---|---:|---:|\n| qkv | 1.23 | 32 |\n| a,\"b\" |  | -1 |\n"
                           "| x\\|y | 1.23e+04 |  |\n");
    free(s);
    assert_string_equal(lf_table_cell(t, 0, 1), "1.23");
    assert_true(lf_table_value(t, 0, 1) == 1.23456);
    assert_true(isnan(lf_table_value(t, 0, 0)));
    lf_table_int(t, 5);
    lf_table_num(t, 1, 0);   /* fourth cell of a 3-column row: remembered, reported by write */
    FILE *f = fopen("/dev/null", "w");
    assert_int_equal(lf_table_write(t, f, LF_FMT_CSV), LINFER_ERR_INTERNAL);
    fclose(f);
    lf_table_free(t);
    lf_table_format fm;
    assert_int_equal(lf_table_format_parse("markdown", &fm), LINFER_OK);
    assert_int_equal(fm, LF_FMT_MD);
    assert_int_equal(lf_table_format_parse("xml", &fm), LINFER_ERR_INVALID_ARG);
}

static void test_explain_runs(void **state) {
    (void)state;
    lf_roofline_model m;
    lf_hw hw;
    get_model("llama-2-70b", &m);
    get_hw("h100-sxm", &hw);
    lf_roofline_result r;
    assert_int_equal(lf_roofline_point(&m, &hw, NULL, 4, 16, 256, 64, LF_PREC_FP8, &r), LINFER_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lf_roofline_explain(f, &m, &hw, NULL, &r);
    fclose(f);
    assert_non_null(strstr(buf, "TTFT"));
    assert_non_null(strstr(buf, "KV read = b·ctx·2·(nkv/tp)·hd·L·kv_bytes = 16·257·2·2·128·80·2"));
    assert_non_null(strstr(buf, "all-reduce"));
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed002_small_batch),
        cmocka_unit_test(test_seed002_large_batch),
        cmocka_unit_test(test_seed002_13b_one_gpu),
        cmocka_unit_test(test_attention_and_kv_formulas),
        cmocka_unit_test(test_gpt_mlp_and_sliding_window),
        cmocka_unit_test(test_point_totals),
        cmocka_unit_test(test_memory_and_max_batch),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_model_presets),
        cmocka_unit_test(test_hw_lookup),
        cmocka_unit_test(test_measured_ceilings),
        cmocka_unit_test(test_kernel_chain),
        cmocka_unit_test(test_shape_parse),
        cmocka_unit_test(test_int_list),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_explain_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
