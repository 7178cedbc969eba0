/* fuzz_common.h — helpers shared by the libFuzzer targets in fuzz/.
 *
 * FUZZ_CHECK(cond, ...) aborts (a libFuzzer "crash") when an invariant the parsers document does
 * not hold; fuzz_touch() reads every byte of a range the library handed back, so ASan checks that
 * it lies inside the input; fuzz_data_path() finds tests/data/ whether the target runs from the
 * repository root, from build-fuzz/, or with LINFER_FUZZ_DATA set. Header-only (static). */
#ifndef LF_FUZZ_COMMON_H
#define LF_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linfer.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n  last library error: %s\n", linfer_last_error());                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static volatile unsigned fuzz_sink;

/* LINFER_FUZZ_VERBOSE=1: print each input's outcome (to check that seeds parse, and why not). */
static inline void fuzz_report(const char *what, linfer_status s) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("LINFER_FUZZ_VERBOSE") && *getenv("LINFER_FUZZ_VERBOSE") == '1';
    if (verbose) fprintf(stderr, "fuzz: %s: %s%s%s\n", what, linfer_status_name(s), s ? ": " : "", s ? linfer_last_error() : "");
}

/* Read every byte of [p, p+n): ASan reports it if any lies outside a live allocation. */
static inline void fuzz_touch(const void *p, size_t n) {
    const unsigned char *u = (const unsigned char *)p;
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) acc += u[i];
    fuzz_sink += acc;
}

/* [p, p+n) lies inside [base, base+size). */
static inline int fuzz_inside(const void *p, uint64_t n, const void *base, size_t size) {
    const unsigned char *u = (const unsigned char *)p, *b = (const unsigned char *)base;
    if (u < b || u > b + size) return 0;
    return n <= (uint64_t)(size_t)((b + size) - u);
}

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static inline int fuzz_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c == 0xE0) { k = 2; lo = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) k = 2;
        else if (c == 0xED) { k = 2; hi = 0x9F; }
        else if (c == 0xF0) { k = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 3;
        else if (c == 0xF4) { k = 3; hi = 0x8F; }
        else return 0;
        if (n - i <= k) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k + 1;
    }
    return 1;
}

/* Path of tests/data/<rel>: $LINFER_FUZZ_DATA/<rel>, else ./tests/data/<rel>, else
 * <dir of the executable>/../tests/data/<rel>. Returns a static buffer, or NULL if none exists. */
static inline const char *fuzz_data_path(const char *rel) {
    static char path[4096];
    const char *env = getenv("LINFER_FUZZ_DATA");
    if (env && *env) {
        snprintf(path, sizeof path, "%s/%s", env, rel);
        if (access(path, R_OK) == 0) return path;
    }
    snprintf(path, sizeof path, "tests/data/%s", rel);
    if (access(path, R_OK) == 0) return path;
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/../tests/data/%s", exe, rel);
            if (access(path, R_OK) == 0) return path;
        }
    }
    return NULL;
}

#endif
