/* test_hf_logits.c — end-to-end correctness of the CPU engine against HF transformers.
 * tests/data/hf/<model>/golden.json holds transformers' fp32 last-position logits and greedy
 * tokens for random prompts on tiny random-weight LLaMA checkpoints (tools/make_hf_golden.py).
 * Bar: max |Δlogit| / max |logit| <= 1e-4 and identical greedy tokens. */
#include "test_util.h"
#include "linfer.h"
#include "model/model.h"

static void check_model(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/golden.json", dir);
    cJSON *g = tu_load_json(path);
    assert_non_null(g);
    linfer_model_params mp = linfer_model_default_params();
    mp.path = dir;
    linfer_model *m = NULL;
    linfer_status s = linfer_model_load(&mp, &m);
    if (s) print_error("%s\n", linfer_last_error());
    assert_int_equal(s, LINFER_OK);
    linfer_engine_params ep = linfer_engine_default_params();
    ep.max_context = 160;
    linfer_engine *e = NULL;
    assert_int_equal(linfer_engine_create(m, &ep, &e), LINFER_OK);
    cJSON *cases = cJSON_GetObjectItem(g, "cases"), *c;
    int n_case = 0;
    double worst = 0;
    cJSON_ArrayForEach(c, cases) {
        size_t n, n_ref, n_gen;
        int32_t *ids = tu_json_ids(cJSON_GetObjectItem(c, "prompt_ids"), &n);
        int32_t *ref_gen = tu_json_ids(cJSON_GetObjectItem(c, "greedy_ids"), &n_gen);
        cJSON *lj = cJSON_GetObjectItem(c, "last_logits");
        n_ref = (size_t)cJSON_GetArraySize(lj);
        assert_int_equal(n_ref, m->cfg.vocab_size);
        float *ref = malloc(sizeof(float) * n_ref), *got = NULL;
        size_t i = 0;
        for (cJSON *x = lj->child; x; x = x->next) ref[i++] = (float)x->valuedouble;
        assert_int_equal(linfer_prompt_logits(e, ids, n, &got), LINFER_OK);
        double err = tu_max_rel_err(got, ref, n_ref);
        if (err > worst) worst = err;
        if (err > 1e-4) print_error("%s case %d (len %zu): max rel err %.3g > 1e-4\n", dir, n_case, n, err);
        assert_true(err <= 1e-4);
        linfer_sampling_params sp = linfer_sampling_default_params();
        sp.max_new_tokens = (int)n_gen;
        sp.ignore_eos = 1;
        const int32_t *pp[1] = {ids};
        int32_t *out[1] = {0};
        size_t out_n[1] = {0};
        assert_int_equal(linfer_generate(e, 1, pp, &n, &sp, NULL, NULL, out, out_n, NULL), LINFER_OK);
        assert_int_equal(out_n[0], n_gen);
        for (size_t k = 0; k < n_gen; k++) {
            if (out[0][k] != ref_gen[k]) print_error("%s case %d: token %zu is %d, HF says %d\n", dir, n_case, k, out[0][k], ref_gen[k]);
            assert_int_equal(out[0][k], ref_gen[k]);
        }
        free(out[0]); free(ids); free(ref_gen); free(ref); free(got);
        n_case++;
    }
    print_message("%s: %d cases, worst max-rel logit error %.2e, greedy tokens identical\n", dir, n_case, worst);
    linfer_engine_free(e);
    linfer_model_free(m);
    cJSON_Delete(g);
}

static void test_tiny_gqa(void **st) { (void)st; check_model("tests/data/hf/tiny-gqa"); }
static void test_tiny_llama3_bias(void **st) { (void)st; check_model("tests/data/hf/tiny-llama3-bias"); }

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tiny_gqa), cmocka_unit_test(test_tiny_llama3_bias)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
