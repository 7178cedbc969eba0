/* test_util.h — small helpers shared by the cmocka tests: file/JSON loading, error metrics,
 * and whether optional fetched data (models/) is present. Tests run from the repository root. */
#ifndef LF_TEST_UTIL_H
#define LF_TEST_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline cJSON *tu_load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return NULL; }
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

/* JSON array of integers -> malloc'd int32 array */
static inline int32_t *tu_json_ids(const cJSON *arr, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(arr);
    int32_t *v = malloc(sizeof(int32_t) * (*n + 1));
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next) v[i++] = (int32_t)e->valuedouble;
    return v;
}

/* max |a-b| / max |ref| */
static inline double tu_max_rel_err(const float *a, const float *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    return mr > 0 ? md / mr : md;
}

/* ||a-b|| / ||ref|| */
static inline double tu_rel_l2(const float *a, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) { double d = (double)a[i] - ref[i]; num += d * d; den += (double)ref[i] * ref[i]; }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static inline int tu_have(const char *path) { return access(path, R_OK) == 0; }

#define TU_SMOLLM2 "models/SmolLM2-135M-Instruct.Q4_1.gguf"
#define TU_REQUIRE_FILE(path)                                                            \
    do {                                                                                 \
        if (!tu_have(path)) {                                                            \
            print_message("skipping: %s not present (run scripts/fetch_model.sh)\n", path); \
            skip();                                                                      \
        }                                                                                \
    } while (0)
#endif
