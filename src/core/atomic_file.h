/* atomic_file.h — result files written so that a reader (or a crash, or Ctrl-C) sees either the
 * old file or the whole new one, never a part: write PATH.tmp, flush it to disk, rename it over
 * PATH. Used by every writer of results and caches (bench, recipes, profile, report, calibrate). */
#ifndef LF_CORE_ATOMIC_FILE_H
#define LF_CORE_ATOMIC_FILE_H
#include <stddef.h>
#include <stdio.h>
#include "error.h"

/* fn writes the content to f (returns its status; stream errors are caught too). */
typedef lf_status (*lf_file_writer_fn)(FILE *f, const void *ctx);
lf_status lf_write_atomic(const char *path, lf_file_writer_fn fn, const void *ctx);
/* n bytes of data */
lf_status lf_write_file_atomic(const char *path, const char *data, size_t n);
#endif
