/* fuzz_safetensors.c — lf_safetensors_parse on arbitrary bytes. On success every documented
 * guarantee is checked: known dtype, byte span == numel x dtype size, data inside the input,
 * tensors tiling the data section without gaps or overlaps, unique names (find returns each). */
#include "fuzz_common.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_safetensors st;
    lf_status s = lf_safetensors_parse(data, size, "fuzz.safetensors", &st);
    fuzz_report("safetensors_parse", s);
    if (s != LINFER_OK) {
        FUZZ_CHECK(st.tensors == NULL && st.n_tensors == 0, "failed parse left tensors behind");
        return 0;
    }
    uint64_t hlen;
    memcpy(&hlen, data, 8);
    FUZZ_CHECK(hlen <= LF_ST_MAX_HEADER && hlen <= size - 8, "accepted header length %llu", (unsigned long long)hlen);
    const uint8_t *sec = data + 8 + hlen;
    uint64_t sec_size = size - 8 - hlen, covered = 0;
    FUZZ_CHECK(st.n_tensors >= 0, "n_tensors %d", st.n_tensors);
    for (int i = 0; i < st.n_tensors; i++) {
        const lf_st_tensor *t = &st.tensors[i];
        FUZZ_CHECK(t->name != NULL, "tensor %d without a name", i);
        FUZZ_CHECK(t->n_dims >= 0 && t->n_dims <= 8, "tensor %s: %d dims", t->name, t->n_dims);
        uint64_t numel = 1;
        for (int d = 0; d < t->n_dims; d++) {
            FUZZ_CHECK(t->shape[d] >= 0, "tensor %s: negative dim", t->name);
            FUZZ_CHECK(t->shape[d] == 0 || numel <= UINT64_MAX / (uint64_t)t->shape[d], "tensor %s: numel overflows", t->name);
            numel *= (uint64_t)t->shape[d];
        }
        int ok = 0;
        uint64_t nb = lf_dtype_nbytes(t->dtype, numel, &ok);
        FUZZ_CHECK(ok && nb == t->end - t->begin && t->begin <= t->end, "tensor %s: span %llu..%llu for %llu bytes", t->name,
                   (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)nb);
        FUZZ_CHECK(t->end <= sec_size, "tensor %s ends at %llu, data section %llu", t->name, (unsigned long long)t->end,
                   (unsigned long long)sec_size);
        FUZZ_CHECK(t->data == sec + t->begin, "tensor %s: data pointer mismatch", t->name);
        FUZZ_CHECK(fuzz_inside(t->data, nb, data, size), "tensor %s: data outside the input", t->name);
        fuzz_touch(t->data, (size_t)nb);
        covered += nb;
        const lf_st_tensor *f = lf_safetensors_find(&st, t->name);
        FUZZ_CHECK(f == t, "find('%s') did not return the tensor (duplicate name?)", t->name);
    }
    /* contiguous tiling from offset 0: the spans add up to the largest end */
    uint64_t max_end = 0;
    for (int i = 0; i < st.n_tensors; i++)
        if (st.tensors[i].end > max_end) max_end = st.tensors[i].end;
    FUZZ_CHECK(covered == max_end, "tensors cover %llu bytes but reach %llu (gap or overlap)", (unsigned long long)covered,
               (unsigned long long)max_end);
    FUZZ_CHECK(lf_safetensors_find(&st, "\x01no such tensor") == NULL, "find of a missing name");
    lf_safetensors_free(&st);
    FUZZ_CHECK(st.tensors == NULL && st.n_tensors == 0, "free did not clear");
    return 0;
}
