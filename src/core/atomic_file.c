/* atomic_file.c — PATH.tmp + fsync + rename (see atomic_file.h). */
#include "atomic_file.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

lf_status lf_write_atomic(const char *path, lf_file_writer_fn fn, const void *ctx) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return lf_fail(LINFER_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    lf_status s = fn(f, ctx);
    int bad = s != LINFER_OK || ferror(f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        int e = errno;
        remove(tmp);
        return s ? s : lf_fail(LINFER_ERR_IO, "%s: write failed: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return lf_fail(LINFER_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return LINFER_OK;
}

typedef struct { const char *data; size_t n; } buf_ctx;
static lf_status write_buf(FILE *f, const void *ctx) {
    const buf_ctx *b = ctx;
    return fwrite(b->data, 1, b->n, f) == b->n ? LINFER_OK : lf_fail(LINFER_ERR_IO, "write failed: %s", strerror(errno));
}

lf_status lf_write_file_atomic(const char *path, const char *data, size_t n) {
    buf_ctx b = {data, n};
    return lf_write_atomic(path, write_buf, &b);
}
