/* error.h — internal error reporting: set a status plus a formatted one-line message.
 * Every library function that fails returns lf_fail(STATUS, "fmt", ...), which records the
 * message in a thread-local buffer (read back by linfer_last_error()) and returns STATUS. */
#ifndef LF_ERROR_H
#define LF_ERROR_H
#include "linfer.h"

typedef linfer_status lf_status;

#if defined(__GNUC__)
#define LF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LF_PRINTF(a, b)
#endif

lf_status lf_fail(lf_status s, const char *fmt, ...) LF_PRINTF(2, 3);
/* Prefix the current message with more context: "file.gguf: <old message>". */
lf_status lf_fail_prefix(lf_status s, const char *fmt, ...) LF_PRINTF(2, 3);
void lf_clear_error(void);

#define LF_TRY(expr) do { lf_status lf_try_s_ = (expr); if (lf_try_s_ != LINFER_OK) return lf_try_s_; } while (0)

#endif
