/* clock.h — the one monotonic clock for wall-time measurements on the host. */
#ifndef LF_CLOCK_H
#define LF_CLOCK_H
#include <time.h>

static inline double lf_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline double lf_now_ms(void) { return lf_now_s() * 1e3; }
#endif
