/* sweep.c — parse "1,2,4", "1-8", "1:256:x2" into an int array. */
#include "sweep.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parse a non-negative integer at *p; advance *p. Returns 0 on failure. */
static int take_long(const char **p, long *v) {
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) return 0;
    errno = 0;
    char *end;
    long x = strtol(s, &end, 10);
    if (errno || end == s) return 0;
    *v = x;
    *p = end;
    return 1;
}

static lf_status push(int **arr, int *n, int *cap, long v, const char *what, const char *item, long min, long max) {
    if (v < min || v > max)
        return lf_fail(LINFER_ERR_INVALID_ARG, "%s: %ld in '%s' is outside [%ld, %ld]", what, v, item, min, max);
    if (*n >= LF_SWEEP_MAX)
        return lf_fail(LINFER_ERR_INVALID_ARG, "%s: '%s' gives more than %d values", what, item, LF_SWEEP_MAX);
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        int *na = realloc(*arr, (size_t)nc * sizeof *na);
        if (!na) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = (int)v;
    return LINFER_OK;
}

static lf_status parse_item(const char *item, const char *what, long min, long max, int **arr, int *n, int *cap) {
    const char *p = item;
    long a, b, k;
    if (!take_long(&p, &a)) goto bad;
    if (*p == 0) return push(arr, n, cap, a, what, item, min, max);
    if (*p == '-') {
        p++;
        if (!take_long(&p, &b) || *p) goto bad;
        if (b < a) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: range '%s' runs backwards", what, item);
        if (b - a >= LF_SWEEP_MAX)
            return lf_fail(LINFER_ERR_INVALID_ARG, "%s: '%s' gives more than %d values", what, item, LF_SWEEP_MAX);
        for (long v = a; v <= b; v++) LF_TRY(push(arr, n, cap, v, what, item, min, max));
        return LINFER_OK;
    }
    if (*p == ':') {
        p++;
        if (!take_long(&p, &b) || *p != ':') goto bad;
        p++;
        int geometric = 0;
        if (*p == 'x' || *p == 'X' || *p == '*') { geometric = 1; p++; }
        else if (*p == '+') p++;
        if (!take_long(&p, &k) || *p) goto bad;
        if (b < a) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: range '%s' runs backwards", what, item);
        if (geometric) {
            if (k < 2) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: factor in '%s' must be at least 2", what, item);
            if (a == 0) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: geometric range '%s' cannot start at 0", what, item);
            for (long v = a; v <= b; ) {
                LF_TRY(push(arr, n, cap, v, what, item, min, max));
                if (v > b / k) break;   /* next would pass b (and avoids overflow) */
                v *= k;
            }
        } else {
            if (k < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: step in '%s' must be at least 1", what, item);
            if ((b - a) / k >= LF_SWEEP_MAX)
                return lf_fail(LINFER_ERR_INVALID_ARG, "%s: '%s' gives more than %d values", what, item, LF_SWEEP_MAX);
            for (long v = a; v <= b; v += k) LF_TRY(push(arr, n, cap, v, what, item, min, max));
        }
        return LINFER_OK;
    }
bad:
    return lf_fail(LINFER_ERR_INVALID_ARG,
                   "%s: cannot read '%s' (write N, A-B, A:B:xK or A:B:+K, comma-separated)", what, item);
}

lf_status lf_parse_int_list(const char *s, const char *what, long min, long max, int **out, int *n) {
    *out = NULL;
    *n = 0;
    if (!what) what = "list";
    if (!s || !*s) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: empty list", what);
    char *copy = strdup(s);
    if (!copy) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    int *arr = NULL, cnt = 0, cap = 0;
    lf_status st = LINFER_OK;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        /* trim spaces */
        while (*p == ' ' || *p == '\t') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        if (!*p) { st = lf_fail(LINFER_ERR_INVALID_ARG, "%s: empty item in '%s'", what, s); break; }
        st = parse_item(p, what, min, max, &arr, &cnt, &cap);
        if (st != LINFER_OK || !comma) break;
        p = comma + 1;
    }
    free(copy);
    if (st != LINFER_OK) { free(arr); return st; }
    *out = arr;
    *n = cnt;
    return LINFER_OK;
}
