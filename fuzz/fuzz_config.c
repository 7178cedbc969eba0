/* fuzz_config.c — lf_config_from_json (an HF config.json) on arbitrary bytes; on success the
 * result must pass lf_config_validate and the derived sizes must be computable. */
#include "fuzz_common.h"
#include "model/hf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_config c;
    lf_status s = lf_config_from_json((const char *)data, size, "fuzz/config.json", &c);
    fuzz_report("config_from_json", s);
    if (s != LINFER_OK) return 0;
    FUZZ_CHECK(lf_config_validate(&c, "fuzz") == LINFER_OK, "accepted config fails validation");
    FUZZ_CHECK(memchr(c.arch, 0, sizeof c.arch) != NULL, "arch not NUL-terminated");
    FUZZ_CHECK(c.n_eos >= 0 && c.n_eos <= LF_MAX_EOS, "n_eos %d", c.n_eos);
    FUZZ_CHECK(c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0, "heads %d / kv heads %d", c.n_heads, c.n_kv_heads);
    double p = lf_config_n_params(&c), kv = lf_config_kv_bytes_per_token(&c, 2);
    FUZZ_CHECK(p > 0 && kv > 0, "n_params %g, kv bytes %g", p, kv);
    return 0;
}
