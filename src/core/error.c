/* error.c — thread-local last-error message and status names. */
#include "error.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char lf_err_buf[1024];

lf_status lf_fail(lf_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lf_err_buf, sizeof lf_err_buf, fmt, ap);
    va_end(ap);
    return s;
}

lf_status lf_fail_prefix(lf_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof lf_err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, lf_err_buf, sizeof old);
    snprintf(lf_err_buf, sizeof lf_err_buf, "%s: %s", prefix, old);
    return s;
}

void lf_clear_error(void) { lf_err_buf[0] = 0; }

const char *linfer_last_error(void) { return lf_err_buf; }

const char *linfer_status_name(linfer_status s) {
    switch (s) {
    case LINFER_OK: return "ok";
    case LINFER_ERR_INVALID_ARG: return "invalid argument";
    case LINFER_ERR_IO: return "I/O error";
    case LINFER_ERR_FORMAT: return "format error";
    case LINFER_ERR_UNSUPPORTED: return "unsupported";
    case LINFER_ERR_OUT_OF_MEMORY: return "out of memory";
    case LINFER_ERR_CONTEXT: return "context exceeded";
    case LINFER_ERR_DEVICE: return "device error";
    case LINFER_ERR_INTERRUPTED: return "interrupted";
    case LINFER_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
