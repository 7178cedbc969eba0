/* sweep.h — integer lists for sweeps (--tp, --batch, --in, --out of roofline and bench).
 *
 * A list is comma-separated items; each item is
 *   N          one value                         "4"
 *   A-B        every integer from A to B         "1-8"
 *   A:B:xK     A, A·K, A·K², ... while <= B      "1:256:x2"  -> 1,2,4,...,256
 *   A:B:+K     A, A+K, ... while <= B            "128:1024:+128" (also "A:B:K")
 * e.g. "1,2,4", "1-8", "1:256:x2", "1,3,16:64:x2". Values keep their order (duplicates are kept).
 * Values must lie in [min, max]; the whole list may hold at most LF_SWEEP_MAX values. */
#ifndef LF_PERF_SWEEP_H
#define LF_PERF_SWEEP_H
#include "../core/error.h"

#define LF_SWEEP_MAX 4096

/* *out is malloc'd (free with free()); on failure *out is NULL and the message names the bad item.
 * what names the option in messages ("--batch"). */
lf_status lf_parse_int_list(const char *s, const char *what, long min, long max, int **out, int *n);

#endif
