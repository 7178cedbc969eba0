/* launcher.c — one process per GPU: spawn, join, supervise, finish (see launcher.h and
 * docs/distributed.md).
 *
 * Layout: the log prefix, the environment, the id file, the TCP id exchange and the supervisor are
 * plain POSIX and built everywhere (tests/test_dist.c drives them without a GPU); spawn, join and
 * the communicator need CUDA and NCCL and are built with LINFER_HAVE_CUDA only (a stub otherwise).
 *
 * Process exits in this file (the library never calls exit()):
 *   - sup_main: _exit(1) when rank 0 has not finished LF_DIST_GRACE_S after a child died
 *     (exit_on_grace, which lf_dist_spawn sets);
 *   - parent_watch: _exit(1) in a spawned child whose rank 0 is gone;
 *   - child_exec: _exit(127) in a forked child whose execve failed (or _exit(1) when its parent was
 *     already gone).
 * Each prints why on stderr first (except the forked child, whose status the supervisor reports). */
#include "launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../core/atomic_file.h"
#include "../core/clock.h"

extern char **environ;

/* ---- small helpers ------------------------------------------------------------------------------- */

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* strict decimal integer: optional sign, digits, nothing else */
static int parse_long(const char *s, long *v) {
    if (!s || !*s) return 0;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return 0;
    errno = 0;
    char *end = NULL;
    long x = strtol(s, &end, 10);
    if (errno || !end || *end) return 0;
    *v = x;
    return 1;
}

/* absolute CLOCK_MONOTONIC time s seconds from now (for condition variables set to it) */
static struct timespec mono_in(double s) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double ns = (double)ts.tv_nsec + s * 1e9;
    ts.tv_sec += (time_t)(ns / 1e9);
    ts.tv_nsec = (long)(ns - (double)(time_t)(ns / 1e9) * 1e9);
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    if (ts.tv_nsec < 0) ts.tv_nsec = 0;
    return ts;
}

static void cond_init_mono(pthread_cond_t *cv) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

/* ---- log prefix ---------------------------------------------------------------------------------- */

static pthread_once_t g_prefix_once = PTHREAD_ONCE_INIT;
static char g_prefix[40] = "linfer";

static void prefix_set(int rank) {
    if (rank > 0) snprintf(g_prefix, sizeof g_prefix, "linfer[rank %d]", rank);
    else snprintf(g_prefix, sizeof g_prefix, "linfer");
}

static void prefix_from_env(void) {
    long r = 0;
    if (parse_long(getenv("RANK"), &r) && r > 0 && r < LF_DIST_MAX_WORLD) prefix_set((int)r);
}

const char *lf_dist_log_prefix(void) {
    pthread_once(&g_prefix_once, prefix_from_env);
    return g_prefix;
}

void lf_dist_set_log_rank(int rank) {
    pthread_once(&g_prefix_once, prefix_from_env);
    prefix_set(rank);
}

/* ---- environment --------------------------------------------------------------------------------- */

/* value of name in envp (NULL: the process environment); an empty value counts as unset */
static const char *env_get(char *const *envp, const char *name) {
    const char *v = NULL;
    if (!envp) {
        v = getenv(name);
    } else {
        size_t l = strlen(name);
        for (char *const *e = envp; *e; e++)
            if (!strncmp(*e, name, l) && (*e)[l] == '=') { v = *e + l + 1; break; }
    }
    return v && *v ? v : NULL;
}

int lf_dist_env_present(void) {
    return env_get(NULL, "RANK") || env_get(NULL, "WORLD_SIZE") || env_get(NULL, "LINFER_DIST_ID_FILE");
}

#define NEED_ALL "an external launcher must set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (docs/distributed.md)"

lf_status lf_dist_env_parse(char *const *envp, lf_dist_env *o) {
    if (!o) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_env_parse: out is NULL");
    memset(o, 0, sizeof *o);
    o->world = 1;
    o->timeout_s = LF_DIST_TIMEOUT_S;
    const char *rank = env_get(envp, "RANK"), *world = env_get(envp, "WORLD_SIZE"), *local = env_get(envp, "LOCAL_RANK");
    const char *idf = env_get(envp, "LINFER_DIST_ID_FILE"), *addr = env_get(envp, "MASTER_ADDR");
    const char *mport = env_get(envp, "MASTER_PORT"), *lport = env_get(envp, "LINFER_DIST_PORT");
    const char *ppid = env_get(envp, "LINFER_DIST_PARENT_PID"), *tmo = env_get(envp, "LINFER_DIST_TIMEOUT_S");
    long v = 0;

    if (tmo) {
        char *end = NULL;
        errno = 0;
        double t = strtod(tmo, &end);
        if (errno || !end || *end || !(t > 0) || t > 86400)
            return lf_fail(LINFER_ERR_INVALID_ARG, "LINFER_DIST_TIMEOUT_S='%s': must be a number of seconds, more than 0 and at most 86400", tmo);
        o->timeout_s = t;
    }
    if (!rank && !world && !idf) return LINFER_OK;
    o->present = 1;
    if (!rank) {
        if (world) return lf_fail(LINFER_ERR_INVALID_ARG, "WORLD_SIZE=%s is set but RANK is not; " NEED_ALL, world);
        return lf_fail(LINFER_ERR_INVALID_ARG, "LINFER_DIST_ID_FILE is set but RANK is not (it is set by linfer for the ranks it starts)");
    }
    if (!world) return lf_fail(LINFER_ERR_INVALID_ARG, "RANK=%s is set but WORLD_SIZE is not; " NEED_ALL, rank);
    if (!parse_long(world, &v)) return lf_fail(LINFER_ERR_INVALID_ARG, "WORLD_SIZE='%s' is not an integer (the number of ranks)", world);
    if (v < 1 || v > LF_DIST_MAX_WORLD)
        return lf_fail(LINFER_ERR_INVALID_ARG, "WORLD_SIZE=%ld: must be 1 to %d (the number of ranks)", v, LF_DIST_MAX_WORLD);
    o->world = (int)v;
    if (!parse_long(rank, &v)) return lf_fail(LINFER_ERR_INVALID_ARG, "RANK='%s' is not an integer (this process's rank, 0 to WORLD_SIZE-1)", rank);
    if (v < 0 || v >= o->world)
        return lf_fail(LINFER_ERR_INVALID_ARG, "RANK=%ld is out of range for WORLD_SIZE=%d (0 to %d)", v, o->world, o->world - 1);
    o->rank = (int)v;
    if (!local)
        return lf_fail(LINFER_ERR_INVALID_ARG, "LOCAL_RANK is not set (RANK=%d, WORLD_SIZE=%d): it is the GPU index of this rank on its host; " NEED_ALL,
                       o->rank, o->world);
    if (!parse_long(local, &v)) return lf_fail(LINFER_ERR_INVALID_ARG, "LOCAL_RANK='%s' is not an integer (the GPU index of this rank on its host)", local);
    if (v < 0 || v > 1023) return lf_fail(LINFER_ERR_INVALID_ARG, "LOCAL_RANK=%ld: must be 0 to 1023 (the GPU index of this rank on its host)", v);
    o->local_rank = (int)v;
    if (ppid) {
        if (!parse_long(ppid, &v) || v < 1) return lf_fail(LINFER_ERR_INVALID_ARG, "LINFER_DIST_PARENT_PID='%s' is not a process id", ppid);
        o->parent_pid = v;
    }
    if (idf) {
        if (strlen(idf) >= sizeof o->id_file) return lf_fail(LINFER_ERR_INVALID_ARG, "LINFER_DIST_ID_FILE is longer than %zu characters", sizeof o->id_file - 1);
        snprintf(o->id_file, sizeof o->id_file, "%s", idf);
        return LINFER_OK;
    }
    if (o->world == 1) return LINFER_OK;   /* nobody to exchange an id with */
    if (!addr)
        return lf_fail(LINFER_ERR_INVALID_ARG, "MASTER_ADDR is not set (RANK=%d, WORLD_SIZE=%d): the host name or address of rank 0; " NEED_ALL, o->rank,
                       o->world);
    if (strlen(addr) >= sizeof o->master_addr) return lf_fail(LINFER_ERR_INVALID_ARG, "MASTER_ADDR is longer than %zu characters", sizeof o->master_addr - 1);
    snprintf(o->master_addr, sizeof o->master_addr, "%s", addr);
    const char *pname = lport ? "LINFER_DIST_PORT" : "MASTER_PORT", *pval = lport ? lport : mport;
    if (!pval)
        return lf_fail(LINFER_ERR_INVALID_ARG, "MASTER_PORT is not set (RANK=%d, WORLD_SIZE=%d): the TCP port rank 0 listens on; " NEED_ALL, o->rank, o->world);
    if (!parse_long(pval, &v) || v < 1 || v > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "%s='%s': must be a port number, 1 to 65535", pname, pval);
    o->port = (int)v;
    return LINFER_OK;
}

/* ---- id file ------------------------------------------------------------------------------------- */

lf_status lf_dist_id_write(const char *path, const void *blob, size_t n) {
    if (!path || !blob || !n) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_id_write: bad arguments");
    lf_status s = lf_write_file_atomic(path, (const char *)blob, n);
    if (s) lf_fail_prefix(s, "NCCL id file");
    return s;
}

lf_status lf_dist_id_read(const char *path, void *blob, size_t n) {
    if (!path || !blob || !n) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_id_read: bad arguments");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lf_fail(LINFER_ERR_IO, "NCCL id file %s (LINFER_DIST_ID_FILE): cannot open: %s", path, strerror(errno));
    unsigned char *b = blob, extra;
    size_t got = 0;
    int e = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { e = errno; break; }
        if (r == 0) break;
        got += (size_t)r;
    }
    ssize_t more = 0;
    if (!e && got == n) {
        do more = read(fd, &extra, 1);
        while (more < 0 && errno == EINTR);
    }
    close(fd);
    if (e) return lf_fail(LINFER_ERR_IO, "NCCL id file %s: read error: %s", path, strerror(e));
    if (got != n || more > 0)
        return lf_fail(LINFER_ERR_FORMAT, "NCCL id file %s: %s%zu bytes, expected exactly %zu", path, more > 0 ? "more than " : "", got, n);
    return LINFER_OK;
}

/* ---- TCP id exchange ----------------------------------------------------------------------------- */
/* client -> rank 0: "LFD1" u32 rank, u32 world (big-endian)
 * rank 0 -> client: "LFD1" u32 n, n bytes of id   |   "LFDE" u32 n, n bytes of error text */

#define MAGIC_ID "LFD1"
#define MAGIC_ERR "LFDE"
#define MAX_BLOB 4096

static void put_u32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v; }
static uint32_t get_u32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* wait until fd is ready for ev: 1 ready, 0 deadline passed, -1 error (errno) */
static int wait_fd(int fd, short ev, double deadline) {
    for (;;) {
        double left = deadline - lf_now_s();
        if (left <= 0) return 0;
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) continue;   /* loop re-checks the deadline */
        return 1;
    }
}

/* read or write exactly n bytes on a non-blocking socket before deadline: 0 ok, else an errno
 * (ETIMEDOUT: deadline; ECONNRESET: closed by the peer) */
static int io_full(int fd, void *buf, size_t n, int wr, double deadline) {
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = wr ? send(fd, p + done, n - done, MSG_NOSIGNAL) : recv(fd, p + done, n - done, 0);
        if (r > 0) { done += (size_t)r; continue; }
        if (r == 0) return ECONNRESET;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
        int w = wait_fd(fd, wr ? POLLOUT : POLLIN, deadline);
        if (w == 0) return ETIMEDOUT;
        if (w < 0) return errno;
    }
    return 0;
}

/* listening socket on port, all addresses (IPv6 dual-stack, else IPv4); -1 with *err set */
static int listen_on(int port, int backlog, int *err) {
    int one = 1, off = 0, fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons((uint16_t)port);
        a.sin6_addr = in6addr_any;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, backlog) == 0) return fd;
        *err = errno;
        close(fd);
        if (*err != EAFNOSUPPORT && *err != EADDRNOTAVAIL) return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { *err = errno; return -1; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, backlog) == 0) return fd;
    *err = errno;
    close(fd);
    return -1;
}

static void send_refusal(int c, const char *why) {
    unsigned char h[8];
    size_t l = strlen(why);
    memcpy(h, MAGIC_ERR, 4);
    put_u32(h + 4, (uint32_t)l);
    double dl = lf_now_s() + 2;
    if (io_full(c, h, 8, 1, dl) == 0) io_full(c, (void *)why, l, 1, dl);
}

lf_status lf_dist_id_serve(int port, int world, const void *blob, size_t n, double timeout_s) {
    if (port < 1 || port > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: port %d (1 to 65535)", port);
    if (world < 1 || world > LF_DIST_MAX_WORLD) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: WORLD_SIZE=%d (1 to %d)", world, LF_DIST_MAX_WORLD);
    if (!blob || n == 0 || n > MAX_BLOB) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: id of %zu bytes (1 to %d)", n, MAX_BLOB);
    if (world == 1) return LINFER_OK;
    int err = 0, ls = listen_on(port, world < 128 ? world : 128, &err);
    if (ls < 0) {
        if (err == EADDRINUSE)
            return lf_fail(LINFER_ERR_IO,
                           "rank 0: cannot listen on port %d: it is in use on this host (under torchrun the launcher's own store listens on "
                           "MASTER_PORT: set LINFER_DIST_PORT to a free port, the same for every rank)",
                           port);
        return lf_fail(LINFER_ERR_IO, "rank 0: cannot listen on port %d: %s", port, strerror(err));
    }
    char *got = calloc((size_t)world, 1);
    if (!got) { close(ls); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    int served = 0;
    lf_status s = LINFER_OK;
    double deadline = lf_now_s() + timeout_s;
    while (served < world - 1) {
        int w = wait_fd(ls, POLLIN, deadline);
        if (w < 0) { s = lf_fail(LINFER_ERR_IO, "rank 0: poll on port %d: %s", port, strerror(errno)); break; }
        if (w == 0) {
            char list[256] = "";
            int shown = 0, missing = world - 1 - served;
            for (int r = 1; r < world && shown < 16; r++)
                if (!got[r]) {
                    size_t l = strlen(list);
                    snprintf(list + l, sizeof list - l, "%s%d", shown ? ", " : "", r);
                    shown++;
                }
            if (missing > shown) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, " and %d more", missing - shown);
            }
            s = lf_fail(LINFER_ERR_IO,
                        "rank 0: rank%s %s of WORLD_SIZE=%d did not fetch the NCCL id from port %d within %.0f s (are they started, with "
                        "MASTER_ADDR naming this host and the same port?)",
                        missing > 1 ? "s" : "", list, world, port, timeout_s);
            break;
        }
        int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EPROTO) continue;
            s = lf_fail(LINFER_ERR_IO, "rank 0: accept on port %d: %s", port, strerror(errno));
            break;
        }
        unsigned char h[12];
        double cd = lf_now_s() + 5;
        if (cd > deadline) cd = deadline;
        if (io_full(c, h, sizeof h, 0, cd) != 0 || memcmp(h, MAGIC_ID, 4) != 0) { close(c); continue; }   /* not one of ours */
        uint32_t rr = get_u32(h + 4), rw = get_u32(h + 8);
        char why[256] = "";
        if (rw != (uint32_t)world) snprintf(why, sizeof why, "WORLD_SIZE mismatch: rank 0 has WORLD_SIZE=%d, rank %u has WORLD_SIZE=%u", world, rr, rw);
        else if (rr == 0 || rr >= (uint32_t)world) snprintf(why, sizeof why, "a process with RANK=%u asked for the id; ranks 1 to %d do that (RANK=0 is taken by rank 0)", rr, world - 1);
        else if (got[rr]) snprintf(why, sizeof why, "two processes have RANK=%u", rr);
        if (why[0]) {
            send_refusal(c, why);
            close(c);
            s = lf_fail(LINFER_ERR_INVALID_ARG, "rank 0: %s (NCCL id exchange on port %d)", why, port);
            break;
        }
        unsigned char r[8];
        memcpy(r, MAGIC_ID, 4);
        put_u32(r + 4, (uint32_t)n);
        if (io_full(c, r, 8, 1, cd) == 0 && io_full(c, (void *)blob, n, 1, cd) == 0) {
            got[rr] = 1;
            served++;
        }
        close(c);
    }
    free(got);
    close(ls);
    return s;
}

lf_status lf_dist_id_fetch(const char *addr, int port, int rank, int world, void *blob, size_t n, double timeout_s) {
    if (!addr || !*addr) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: no MASTER_ADDR");
    if (port < 1 || port > 65535) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: port %d (1 to 65535)", port);
    if (world < 2 || world > LF_DIST_MAX_WORLD || rank < 1 || rank >= world)
        return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: rank %d of WORLD_SIZE=%d cannot fetch the id (ranks 1 to WORLD_SIZE-1 do)", rank, world);
    if (!blob || n == 0 || n > MAX_BLOB) return lf_fail(LINFER_ERR_INVALID_ARG, "NCCL id exchange: id of %zu bytes (1 to %d)", n, MAX_BLOB);
    char ps[16], last[300] = "no attempt";
    snprintf(ps, sizeof ps, "%d", port);
    double deadline = lf_now_s() + timeout_s;
    int silent = 0;   /* connected, but no answer in our protocol */
    for (;;) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int g = getaddrinfo(addr, ps, &hints, &res);
        if (g == EAI_NONAME) return lf_fail(LINFER_ERR_INVALID_ARG, "rank %d: MASTER_ADDR=%s: cannot resolve: %s", rank, addr, gai_strerror(g));
        if (g) snprintf(last, sizeof last, "cannot resolve %s: %s", addr, gai_strerror(g));
        for (struct addrinfo *ai = g ? NULL : res; ai; ai = ai->ai_next) {
            int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) { snprintf(last, sizeof last, "socket: %s", strerror(errno)); continue; }
            int e = 0;
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
                if (errno != EINPROGRESS) e = errno;
                else {
                    double cd = lf_now_s() + 5;
                    int w = wait_fd(fd, POLLOUT, cd < deadline ? cd : deadline);
                    socklen_t el = sizeof e;
                    if (w == 0) e = ETIMEDOUT;
                    else if (w < 0) e = errno;
                    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
                }
            }
            if (e) {
                snprintf(last, sizeof last, "connect: %s", strerror(e));
                close(fd);
                continue;
            }
            unsigned char h[12], r[8];
            memcpy(h, MAGIC_ID, 4);
            put_u32(h + 4, (uint32_t)rank);
            put_u32(h + 8, (uint32_t)world);
            e = io_full(fd, h, sizeof h, 1, deadline);
            if (!e) e = io_full(fd, r, sizeof r, 0, deadline);
            if (e) {
                snprintf(last, sizeof last, "%s", e == ETIMEDOUT ? "connected, but no answer" : strerror(e));
                if (e == ETIMEDOUT) silent = 1;
                close(fd);
                continue;
            }
            uint32_t len = get_u32(r + 4);
            if (!memcmp(r, MAGIC_ERR, 4)) {
                char msg[512];
                size_t l = len < sizeof msg - 1 ? len : sizeof msg - 1;
                if (io_full(fd, msg, l, 0, lf_now_s() + 2) != 0) l = 0;
                msg[l] = 0;
                close(fd);
                freeaddrinfo(res);
                return lf_fail(LINFER_ERR_INVALID_ARG, "rank %d: rank 0 at %s:%d refused this rank: %s", rank, addr, port, l ? msg : "(no reason given)");
            }
            if (memcmp(r, MAGIC_ID, 4) != 0 || len != n) {
                close(fd);
                freeaddrinfo(res);
                if (memcmp(r, MAGIC_ID, 4) != 0)
                    return lf_fail(LINFER_ERR_IO,
                                   "rank %d: %s:%d does not answer like linfer's rank 0 (is MASTER_PORT right? under torchrun the launcher's "
                                   "store listens there: set LINFER_DIST_PORT to a free port for every rank)",
                                   rank, addr, port);
                return lf_fail(LINFER_ERR_FORMAT, "rank %d: rank 0 at %s:%d sent an id of %u bytes, expected %zu (different linfer builds?)", rank,
                               addr, port, len, n);
            }
            e = io_full(fd, blob, n, 0, deadline);
            close(fd);
            if (!e) {
                freeaddrinfo(res);
                return LINFER_OK;
            }
            snprintf(last, sizeof last, "reading the id: %s", strerror(e));
        }
        if (res) freeaddrinfo(res);
        double left = deadline - lf_now_s();
        if (left <= 0) break;
        sleep_s(left < 0.2 ? left : 0.2);
    }
    return lf_fail(LINFER_ERR_IO,
                   "rank %d: could not get the NCCL id from rank 0 at %s:%d within %.0f s (last: %s); is rank 0 running, can this host reach "
                   "MASTER_ADDR%s?",
                   rank, addr, port, timeout_s, last,
                   silent ? ", and is MASTER_PORT linfer's (under torchrun set LINFER_DIST_PORT)" : "");
}

/* ---- supervisor ---------------------------------------------------------------------------------- */

static const char *sig_abbrev(int sig) {
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGSYS: return "SIGSYS";
    }
    return NULL;
}

const char *lf_dist_wait_status_str(int st, char *buf, size_t cap) {
    if (st == -1) snprintf(buf, cap, "exited (status unknown: SIGCHLD is ignored)");
    else if (WIFEXITED(st)) snprintf(buf, cap, "exited with status %d%s", WEXITSTATUS(st), WEXITSTATUS(st) == 127 ? " (could not be started?)" : "");
    else if (WIFSIGNALED(st)) {
        const char *a = sig_abbrev(WTERMSIG(st));
        char an[16];
        if (!a) { snprintf(an, sizeof an, "SIG%d", WTERMSIG(st)); a = an; }
#ifdef WCOREDUMP
        int core = WCOREDUMP(st);
#else
        int core = 0;
#endif
        snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(st), a, core ? ", core dumped" : "");
    } else snprintf(buf, cap, "stopped (wait status 0x%x)", (unsigned)st);
    return buf;
}

static int status_failed(int st) { return st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0); }

struct lf_dist_sup {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lf_dist_sup_opts o;
    int n, n_alive;
    pid_t *pids;
    int *ranks, *done, *wst, *excused, *timed_out;
    int finishing, quit;
    int failed, f_rank;
    long f_pid;
    char f_why[160];
    double death_t;
    int grace_expired;
};

void lf_dist_sup_default_opts(lf_dist_sup_opts *o) {
    memset(o, 0, sizeof *o);
    o->grace_s = LF_DIST_GRACE_S;
    o->poll_s = 0.05;
}

/* SIGTERM to every child not reaped yet, marking them as stopped by us (called with mu held, or
 * from the supervisor thread, which alone reaps: no pid is signalled after it was reaped) */
static void sup_term_all(lf_dist_sup *s, int sig) {
    for (int i = 0; i < s->n; i++)
        if (!s->done[i]) { kill(s->pids[i], sig); s->excused[i] = 1; }
}

static void *sup_main(void *arg) {
    lf_dist_sup *s = arg;
    FILE *log = s->o.log ? s->o.log : stderr;
    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        for (int i = 0; i < s->n; i++) {
            if (s->done[i]) continue;
            int st = 0;
            pid_t r = waitpid(s->pids[i], &st, WNOHANG);
            if (r == 0 || (r < 0 && errno == EINTR)) continue;
            if (r < 0) st = -1;   /* ECHILD: reaped by someone else (SIGCHLD ignored) */
            s->done[i] = 1;
            s->wst[i] = st;
            s->n_alive--;
            if (!status_failed(st) || s->excused[i]) continue;
            if (!s->finishing && !s->failed) {
                s->failed = 1;
                s->f_rank = s->ranks[i];
                s->f_pid = (long)s->pids[i];
                lf_dist_wait_status_str(st, s->f_why, sizeof s->f_why);
                s->death_t = lf_now_s();
                char why[160];
                snprintf(why, sizeof why, "%s", s->f_why);
                int rank = s->f_rank;
                long pid = s->f_pid;
                pthread_mutex_unlock(&s->mu);
                fprintf(log, "linfer: rank %d (pid %ld) died: %s; stopping all ranks\n", rank, pid, why);
                fflush(log);
                if (s->o.on_death) s->o.on_death(s->o.user, rank, pid, why);
                pthread_mutex_lock(&s->mu);
            }
            sup_term_all(s, SIGTERM);   /* the others would wait for it forever */
        }
        if (s->failed && !s->grace_expired && lf_now_s() - s->death_t >= s->o.grace_s) {
            s->grace_expired = 1;
            if (s->o.exit_on_grace) {
                sup_term_all(s, SIGKILL);
                fprintf(log, "linfer: rank 0 did not stop within %.0f s after rank %d died; ending the process\n", s->o.grace_s, s->f_rank);
                fflush(log);
                _exit(1);   /* documented at the top of this file */
            }
        }
        pthread_cond_broadcast(&s->cv);
        struct timespec ts = mono_in(s->o.poll_s);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void sup_free(lf_dist_sup *s) {
    if (!s) return;
    free(s->pids); free(s->ranks); free(s->done); free(s->wst); free(s->excused); free(s->timed_out);
    free(s);
}

lf_status lf_dist_supervise_pids(int n, const pid_t *pids, const int *ranks, const lf_dist_sup_opts *o, lf_dist_sup **out) {
    if (!out) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_supervise_pids: out is NULL");
    *out = NULL;
    if (n < 1 || !pids || !ranks) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_supervise_pids: %d children", n);
    lf_dist_sup *s = calloc(1, sizeof *s);
    if (!s) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    s->n = s->n_alive = n;
    s->pids = calloc((size_t)n, sizeof *s->pids);
    s->ranks = calloc((size_t)n, sizeof(int));
    s->done = calloc((size_t)n, sizeof(int));
    s->wst = calloc((size_t)n, sizeof(int));
    s->excused = calloc((size_t)n, sizeof(int));
    s->timed_out = calloc((size_t)n, sizeof(int));
    if (!s->pids || !s->ranks || !s->done || !s->wst || !s->excused || !s->timed_out) { sup_free(s); return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory"); }
    memcpy(s->pids, pids, sizeof *pids * (size_t)n);
    memcpy(s->ranks, ranks, sizeof(int) * (size_t)n);
    if (o) s->o = *o;
    else lf_dist_sup_default_opts(&s->o);
    if (!(s->o.poll_s > 0)) s->o.poll_s = 0.05;
    if (!(s->o.grace_s > 0)) s->o.grace_s = LF_DIST_GRACE_S;
    pthread_mutex_init(&s->mu, NULL);
    cond_init_mono(&s->cv);
    int e = pthread_create(&s->th, NULL, sup_main, s);
    if (e) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        sup_free(s);
        return lf_fail(LINFER_ERR_INTERNAL, "cannot start the supervisor thread: %s", strerror(e));
    }
    *out = s;
    return LINFER_OK;
}

int lf_dist_sup_failed(lf_dist_sup *s, int *rank, long *pid, char *why, size_t cap) {
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    int f = s->failed;
    if (f) {
        if (rank) *rank = s->f_rank;
        if (pid) *pid = s->f_pid;
        if (why && cap) snprintf(why, cap, "%s", s->f_why);
    }
    pthread_mutex_unlock(&s->mu);
    return f;
}

int lf_dist_sup_grace_expired(lf_dist_sup *s) {
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    int g = s->grace_expired;
    pthread_mutex_unlock(&s->mu);
    return g;
}

/* wait (mu held) until every child is reaped or the time is up; 1 when all are reaped */
static int sup_wait_all(lf_dist_sup *s, double seconds) {
    double end = lf_now_s() + seconds;
    while (s->n_alive > 0) {
        double left = end - lf_now_s();
        if (left <= 0) return 0;
        struct timespec ts = mono_in(left < 0.1 ? left : 0.1);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    return 1;
}

lf_status lf_dist_sup_finish(lf_dist_sup *s, int stop_now, double timeout_s) {
    if (!s) return LINFER_OK;
    pthread_mutex_lock(&s->mu);
    s->finishing = 1;
    if (stop_now) sup_term_all(s, SIGTERM);
    if (!sup_wait_all(s, stop_now ? 3.0 : timeout_s)) {
        if (!stop_now)
            for (int i = 0; i < s->n; i++)
                if (!s->done[i] && !s->excused[i]) { s->timed_out[i] = 1; kill(s->pids[i], SIGTERM); }
        if (!stop_now) sup_wait_all(s, 3.0);
        if (s->n_alive > 0) {
            for (int i = 0; i < s->n; i++)
                if (!s->done[i]) kill(s->pids[i], SIGKILL);
            sup_wait_all(s, 3.0);
        }
    }
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);

    lf_status st = LINFER_OK;
    char why[160];
    int n_bad = 0, first = -1;
    for (int i = 0; i < s->n; i++) {
        int bad = s->timed_out[i] || !s->done[i] || (status_failed(s->wst[i]) && !s->excused[i]);
        if (bad && first < 0) first = i;
        n_bad += bad;
    }
    if (s->failed) {
        st = lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) died: %s", s->f_rank, s->f_pid, s->f_why);
    } else if (first >= 0) {
        int i = first;
        char more[48] = "";
        if (n_bad > 1) snprintf(more, sizeof more, " (and %d more rank%s)", n_bad - 1, n_bad > 2 ? "s" : "");
        if (!s->done[i])
            st = lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) could not be stopped (not even by SIGKILL)%s", s->ranks[i], (long)s->pids[i], more);
        else if (s->timed_out[i])
            st = lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) did not exit within %.0f s after rank 0 finished; it was stopped%s", s->ranks[i],
                         (long)s->pids[i], timeout_s, more);
        else
            st = lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) failed: %s%s", s->ranks[i], (long)s->pids[i],
                         lf_dist_wait_status_str(s->wst[i], why, sizeof why), more);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sup_free(s);
    return st;
}

void lf_dist_init(lf_dist *d) {
    if (!d) return;
    memset(d, 0, sizeof *d);
    d->world = 1;
}

/* what lf_dist_spawn refuses in every build, before anything starts */
static lf_status spawn_precheck(int tp, int argc, char **argv) {
    if (tp < 2 || tp > LF_DIST_MAX_WORLD)
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: must be 2 to %d to start ranks (--tp 1 runs in this process alone)", tp, LF_DIST_MAX_WORLD);
    if (argc < 1 || !argv || !argv[0] || argv[argc]) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_spawn: argv must be main's (argc entries, then NULL)");
    if (lf_dist_env_present())
        return lf_fail(LINFER_ERR_INVALID_ARG, "--tp %d: RANK/WORLD_SIZE are already set, so this process is a rank of a launched job: it joins that "
                                               "job instead of starting ranks (unset them to let linfer start %d ranks)",
                       tp, tp);
    return LINFER_OK;
}

/* ==== spawn / join / communicator ================================================================= */

#ifndef LINFER_HAVE_CUDA

struct lf_dist_priv { int unused; };

lf_status lf_dist_spawn(int tp, int argc, char **argv, lf_dist *d) {
    lf_dist_init(d);
    LF_TRY(spawn_precheck(tp, argc, argv));
    return lf_fail(LINFER_ERR_UNSUPPORTED, "--tp %d: this linfer was built without CUDA (nvcc not found at build time); one process per GPU needs CUDA and NCCL", tp);
}
lf_status lf_dist_join(lf_dist *d) {
    lf_dist_init(d);
    return lf_fail(LINFER_ERR_UNSUPPORTED, "RANK is set, but this linfer was built without CUDA (nvcc not found at build time); a rank needs CUDA and NCCL");
}
lf_status lf_dist_check(lf_dist *d) { (void)d; return LINFER_OK; }
void lf_dist_set_comm_guarded(lf_dist *d) { (void)d; }
lf_status lf_dist_finish(lf_dist *d, int status) {
    (void)status;
    lf_dist_init(d);
    return LINFER_OK;
}

#else
#include <cuda_runtime_api.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

struct lf_dist_priv {
    pthread_rwlock_t lock;        /* read: an NCCL call on comm; write: taking comm away (abort) */
    ncclComm_t comm;              /* NULL once aborted or destroyed */
    atomic_int abort_req;         /* set before the abort waits for the write lock: no new readers */
    atomic_int guarded;           /* lf_dist_set_comm_guarded: the supervisor may abort the communicator */
    lf_nccl *nc;
    lf_dist_sup *sup;             /* spawning rank 0 */
    pthread_t abort_th;
    int have_abort_th;
    char tmpdir[4096], idfile[4200];
    long parent_pid;              /* spawned child: rank 0's pid */
    pthread_t watch_th;
    int have_watch;
    atomic_int watch_stop;
    double timeout_s;
};

static lf_dist_priv *priv_new(void) {
    lf_dist_priv *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&p->lock, &a);
    pthread_rwlockattr_destroy(&a);
    atomic_init(&p->abort_req, 0);
    atomic_init(&p->guarded, 0);
    atomic_init(&p->watch_stop, 0);
    p->timeout_s = LF_DIST_TIMEOUT_S;
    return p;
}

static void remove_tmp(lf_dist_priv *p) {
    if (p->idfile[0]) { unlink(p->idfile); p->idfile[0] = 0; }
    if (p->tmpdir[0]) { rmdir(p->tmpdir); p->tmpdir[0] = 0; }
}

/* ---- communicator access ---- */

ncclComm_t lf_dist_comm_acquire(lf_dist *d) {
    lf_dist_priv *p = d ? d->priv : NULL;
    if (!p || atomic_load(&p->abort_req)) return NULL;
    pthread_rwlock_rdlock(&p->lock);
    if (!p->comm || atomic_load(&p->abort_req)) { pthread_rwlock_unlock(&p->lock); return NULL; }
    return p->comm;
}

void lf_dist_comm_release(lf_dist *d) {
    if (d && d->priv) pthread_rwlock_unlock(&d->priv->lock);
}

void lf_dist_set_comm_guarded(lf_dist *d) {
    if (d && d->priv) atomic_store(&d->priv->guarded, 1);
}

/* The communicator is gone: say why (a dead rank when the supervisor saw one). */
static lf_status no_comm(lf_dist *d, const char *what) {
    lf_status s = lf_dist_check(d);
    if (s) return s;
    return lf_fail(LINFER_ERR_DEVICE, "rank %d: %s: the NCCL communicator was aborted or never set up", d->rank, what);
}

static lf_status nccl_fail(lf_dist *d, const char *what, ncclResult_t r) {
    lf_status s = lf_dist_check(d);   /* a dead rank explains an aborted call best */
    if (s) return s;
    return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: %s: %s", d->rank, d->world, what, d->nccl->GetErrorString(r));
}

lf_status lf_dist_all_reduce(lf_dist *d, const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op, cudaStream_t stream) {
    ncclComm_t c = lf_dist_comm_acquire(d);
    if (!c) return no_comm(d, "ncclAllReduce");
    ncclResult_t r = d->nccl->AllReduce(send, recv, count, type, op, c, stream);
    lf_dist_comm_release(d);
    return r == ncclSuccess ? LINFER_OK : nccl_fail(d, "ncclAllReduce", r);
}

lf_status lf_dist_all_gather(lf_dist *d, const void *send, void *recv, size_t sendcount, ncclDataType_t type, cudaStream_t stream) {
    ncclComm_t c = lf_dist_comm_acquire(d);
    if (!c) return no_comm(d, "ncclAllGather");
    ncclResult_t r = d->nccl->AllGather(send, recv, sendcount, type, c, stream);
    lf_dist_comm_release(d);
    return r == ncclSuccess ? LINFER_OK : nccl_fail(d, "ncclAllGather", r);
}

lf_status lf_dist_broadcast(lf_dist *d, const void *send, void *recv, size_t count, ncclDataType_t type, int root, cudaStream_t stream) {
    ncclComm_t c = lf_dist_comm_acquire(d);
    if (!c) return no_comm(d, "ncclBroadcast");
    ncclResult_t r = d->nccl->Broadcast(send, recv, count, type, root, c, stream);
    lf_dist_comm_release(d);
    return r == ncclSuccess ? LINFER_OK : nccl_fail(d, "ncclBroadcast", r);
}

lf_status lf_dist_check(lf_dist *d) {
    lf_dist_priv *p = d ? d->priv : NULL;
    if (!p) return LINFER_OK;
    int rank = 0;
    long pid = 0;
    char why[160];
    if (p->sup && lf_dist_sup_failed(p->sup, &rank, &pid, why, sizeof why))
        return lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) died: %s; all ranks are stopping", rank, pid, why);
    if (p->parent_pid > 0 && (long)getppid() != p->parent_pid)
        return lf_fail(LINFER_ERR_DEVICE, "rank 0 (pid %ld) is gone", p->parent_pid);
    if (atomic_load(&p->abort_req)) return lf_fail(LINFER_ERR_DEVICE, "rank %d: the NCCL communicator was aborted", d->rank);
    if (p->nc && p->nc->CommGetAsyncError) {
        pthread_rwlock_rdlock(&p->lock);
        ncclResult_t ae = ncclSuccess, r = ncclSuccess;
        if (p->comm) r = p->nc->CommGetAsyncError(p->comm, &ae);
        pthread_rwlock_unlock(&p->lock);
        if (r != ncclSuccess) return lf_fail(LINFER_ERR_DEVICE, "rank %d: ncclCommGetAsyncError: %s", d->rank, p->nc->GetErrorString(r));
        if (ae != ncclSuccess && ae != ncclInProgress)
            return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: NCCL reports an asynchronous error: %s", d->rank, d->world, p->nc->GetErrorString(ae));
    }
    return LINFER_OK;
}

lf_status lf_dist_sync(lf_dist *d, cudaStream_t stream, double timeout_s) {
    if (!(timeout_s > 0)) timeout_s = d && d->priv ? d->priv->timeout_s : LF_DIST_TIMEOUT_S;
    double t0 = lf_now_s(), last = t0;
    long spins = 0;
    for (;;) {
        cudaError_t e = cudaStreamQuery(stream);
        if (e == cudaSuccess) return LINFER_OK;
        if (e != cudaErrorNotReady) {
            cudaGetLastError();
            lf_status s = lf_dist_check(d);
            if (s) return s;
            return lf_fail(LINFER_ERR_DEVICE, "rank %d: cudaStreamQuery: %s", d ? d->rank : 0, cudaGetErrorString(e));
        }
        double now = lf_now_s();
        if (now - last > 1e-3) {
            LF_TRY(lf_dist_check(d));
            last = now;
        }
        if (now - t0 > timeout_s)
            return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: NCCL work did not complete within %.0f s (a rank is stuck or gone)", d ? d->rank : 0,
                           d ? d->world : 1, timeout_s);
        if (++spins > 2000) sleep_s(20e-6);
    }
}

/* ---- abort from the supervisor ---- */

static void *abort_main(void *arg) {
    lf_dist_priv *p = arg;
    atomic_store(&p->abort_req, 1);   /* no new readers from here on */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 3;
    if (pthread_rwlock_timedwrlock(&p->lock, &ts) != 0) {
        fprintf(stderr, "linfer: an NCCL call of rank 0 did not return within 3 s; the communicator is left to the process exit\n");
        return NULL;
    }
    ncclComm_t c = p->comm;
    p->comm = NULL;
    pthread_rwlock_unlock(&p->lock);
    if (c && p->nc->CommAbort) p->nc->CommAbort(c);   /* makes a kernel waiting for the dead rank return */
    return NULL;
}

static void on_child_death(void *user, int rank, long pid, const char *why) {
    (void)rank; (void)pid; (void)why;
    lf_dist_priv *p = user;
    /* Unguarded, the communicator may be in use outside the lock (a backend holding the raw
     * ncclComm_t): freeing it here would pull it from under that code. It is left alone; rank 0
     * notices through lf_dist_check/lf_dist_sync, or the supervisor's grace timeout ends it. */
    if (p->have_abort_th || !atomic_load(&p->guarded)) return;
    if (pthread_create(&p->abort_th, NULL, abort_main, p) == 0) p->have_abort_th = 1;
    else atomic_store(&p->abort_req, 1);
}

/* ---- children's watchdog ---- */

static void *parent_watch(void *arg) {
    lf_dist_priv *p = arg;
    while (!atomic_load(&p->watch_stop)) {
        if ((long)getppid() != p->parent_pid) {
            fprintf(stderr, "%s: rank 0 (pid %ld) is gone; exiting\n", lf_dist_log_prefix(), p->parent_pid);
            fflush(stderr);
            _exit(1);   /* documented at the top of this file */
        }
        sleep_s(0.2);
    }
    return NULL;
}

/* ---- setup pieces ---- */

static int gpu_count(char *why, size_t cap) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    why[0] = 0;
    if (e != cudaSuccess) {
        snprintf(why, cap, " (cudaGetDeviceCount: %s)", cudaGetErrorString(e));
        cudaGetLastError();
        return 0;
    }
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    if (cvd) snprintf(why, cap, " visible (CUDA_VISIBLE_DEVICES=%s)", cvd);
    return n;
}

static lf_status use_gpu(int rank, int world, int local_rank) {
    char why[300];
    int n = gpu_count(why, sizeof why);
    if (local_rank >= n) {
        if (n == 0) return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: LOCAL_RANK=%d needs a GPU, but this host has none%s", rank, world, local_rank, why);
        return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: LOCAL_RANK=%d needs GPU %d, but this host has %d GPU%s%s; each rank of a host needs its own GPU (LOCAL_RANK 0 to %d)",
                       rank, world, local_rank, local_rank, n, n == 1 ? "" : "s", why, n - 1);
    }
    cudaError_t e = cudaSetDevice(local_rank);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: cudaSetDevice(%d) (LOCAL_RANK): %s", rank, world, local_rank, cudaGetErrorString(e));
    }
    return LINFER_OK;
}

static lf_status open_nccl(lf_nccl **nc) {
    setenv("NCCL_NVLS_ENABLE", "0", 0);   /* NVLink multicast off unless the user chose otherwise */
    return lf_nccl_open(0, nc);
}

/* ncclCommInitRank on a helper thread, bounded: a blocking communicator (every later NCCL call
 * behaves as usual), yet a rank that never comes ends in an error after timeout_s instead of a
 * hang. The helper is then left behind (it holds nothing of the caller's): should the init still
 * succeed later, it aborts that communicator itself. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ncclResult_t (*init)(ncclComm_t *, int, ncclUniqueId, int);
    ncclResult_t (*abort_fn)(ncclComm_t);
    ncclResult_t (*destroy_fn)(ncclComm_t);
    int dev, world, rank;
    ncclUniqueId id;
    ncclComm_t comm;
    ncclResult_t r;
    cudaError_t ce;
    int done, abandoned;
} init_job;

static void job_free(init_job *j) {
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void *init_main(void *arg) {
    init_job *j = arg;
    ncclComm_t comm = NULL;
    ncclResult_t r = ncclSystemError;
    cudaError_t ce = cudaSetDevice(j->dev);
    if (ce == cudaSuccess) r = j->init(&comm, j->world, j->id, j->rank);
    pthread_mutex_lock(&j->mu);
    int ab = j->abandoned;
    if (!ab) {
        j->comm = comm;
        j->r = r;
        j->ce = ce;
        j->done = 1;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    if (ab) {   /* nobody waits any more: undo, and free what the caller left to us */
        if (r == ncclSuccess && comm) { if (j->abort_fn) j->abort_fn(comm); else j->destroy_fn(comm); }
        job_free(j);
    }
    return NULL;
}

static lf_status init_comm(lf_dist *d, const ncclUniqueId *id, double timeout_s) {
    lf_dist_priv *p = d->priv;
    init_job *j = calloc(1, sizeof *j);
    if (!j) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&j->mu, NULL);
    cond_init_mono(&j->cv);
    j->init = p->nc->CommInitRank;
    j->abort_fn = p->nc->CommAbort;
    j->destroy_fn = p->nc->CommDestroy;
    j->dev = d->local_rank;
    j->world = d->world;
    j->rank = d->rank;
    j->id = *id;
    pthread_t th;
    int e = pthread_create(&th, NULL, init_main, j);
    if (e) { job_free(j); return lf_fail(LINFER_ERR_INTERNAL, "rank %d: cannot start a thread: %s", d->rank, strerror(e)); }
    double t0 = lf_now_s();
    char why[160] = "";
    int dead_rank = -1;
    long dead_pid = 0;
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        if (p->sup && lf_dist_sup_failed(p->sup, &dead_rank, &dead_pid, why, sizeof why)) break;
        if (p->parent_pid > 0 && (long)getppid() != p->parent_pid) break;
        if (lf_now_s() - t0 > timeout_s) break;
        struct timespec ts = mono_in(0.1);
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    if (!j->done) {
        j->abandoned = 1;
        pthread_mutex_unlock(&j->mu);
        pthread_detach(th);
        if (dead_rank >= 0)
            return lf_fail(LINFER_ERR_DEVICE, "rank %d (pid %ld) died during NCCL initialisation: %s", dead_rank, dead_pid, why);
        if (p->parent_pid > 0 && (long)getppid() != p->parent_pid)
            return lf_fail(LINFER_ERR_DEVICE, "rank 0 (pid %ld) is gone (during NCCL initialisation)", p->parent_pid);
        return lf_fail(LINFER_ERR_DEVICE,
                       "rank %d of %d: NCCL initialisation (ncclCommInitRank) did not finish within %.0f s: a rank did not join (not started, "
                       "crashed, or cannot reach the others); check that all %d ranks run, MASTER_ADDR and the network (NCCL_SOCKET_IFNAME), "
                       "and NCCL_DEBUG=INFO for where it stops",
                       d->rank, d->world, timeout_s, d->world);
    }
    pthread_mutex_unlock(&j->mu);
    pthread_join(th, NULL);
    ncclComm_t comm = j->comm;
    ncclResult_t r = j->r;
    cudaError_t ce = j->ce;
    job_free(j);
    if (ce != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "rank %d: cudaSetDevice(%d): %s", d->rank, d->local_rank, cudaGetErrorString(ce));
    }
    if (r != ncclSuccess) {
        char v[32];
        return lf_fail(LINFER_ERR_DEVICE, "rank %d of %d: NCCL initialisation failed: ncclCommInitRank: %s (NCCL %s, %s; NCCL_DEBUG=WARN says more)",
                       d->rank, d->world, p->nc->GetErrorString(r), lf_nccl_version_str(lf_nccl_version(p->nc), v, sizeof v),
                       lf_nccl_lib_path(p->nc));
    }
    pthread_rwlock_wrlock(&p->lock);
    p->comm = comm;
    pthread_rwlock_unlock(&p->lock);
    d->comm = comm;
    return LINFER_OK;
}

/* Undo what a failed spawn/join set up, keeping the error message; d ends as lf_dist_init makes it. */
static void teardown(lf_dist *d, int stop_children) {
    lf_dist_priv *p = d->priv;
    if (p) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", linfer_last_error());
        if (p->have_watch) {
            atomic_store(&p->watch_stop, 1);
            pthread_join(p->watch_th, NULL);
        }
        atomic_store(&p->abort_req, 1);
        pthread_rwlock_wrlock(&p->lock);
        ncclComm_t c = p->comm;
        p->comm = NULL;
        pthread_rwlock_unlock(&p->lock);
        if (c) { if (p->nc->CommAbort) p->nc->CommAbort(c); else p->nc->CommDestroy(c); }
        if (p->sup) lf_dist_sup_finish(p->sup, stop_children, p->timeout_s);   /* joins the supervisor: no new abort thread */
        if (p->have_abort_th) pthread_join(p->abort_th, NULL);
        remove_tmp(p);
        lf_nccl_close(p->nc);
        pthread_rwlock_destroy(&p->lock);
        free(p);
        lf_fail(LINFER_ERR_INTERNAL, "%s", saved);   /* restore the message */
    }
    lf_dist_init(d);
}

lf_status lf_dist_join(lf_dist *d) {
    if (!d) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_join: d is NULL");
    lf_dist_init(d);
    lf_dist_env e;
    LF_TRY(lf_dist_env_parse(NULL, &e));
    if (!e.present)
        return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_join: RANK and WORLD_SIZE are not set, so this process is no rank of a launched job "
                                               "(--tp N lets linfer start the ranks itself)");
    lf_dist_set_log_rank(e.rank);
    lf_dist_priv *p = priv_new();
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    d->priv = p;
    d->rank = e.rank;
    d->world = e.world;
    d->local_rank = e.local_rank;
    d->spawned = e.id_file[0] != 0;
    p->timeout_s = e.timeout_s;
    lf_status s = LINFER_OK;
    if (d->spawned && e.parent_pid > 0) {
        p->parent_pid = e.parent_pid;
        if ((long)getppid() != p->parent_pid) s = lf_fail(LINFER_ERR_DEVICE, "rank 0 (pid %ld) is gone", p->parent_pid);
        else if (pthread_create(&p->watch_th, NULL, parent_watch, p) == 0) p->have_watch = 1;
    }
    if (!s) s = use_gpu(e.rank, e.world, e.local_rank);
    if (!s) {
        s = open_nccl(&p->nc);
        if (s) lf_fail_prefix(s, "rank %d", e.rank);
        d->nccl = p->nc;
    }
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    if (!s) {
        if (e.id_file[0]) {
            s = lf_dist_id_read(e.id_file, &id, sizeof id);
        } else if (e.rank == 0) {
            ncclResult_t r = p->nc->GetUniqueId(&id);
            if (r != ncclSuccess) s = lf_fail(LINFER_ERR_DEVICE, "rank 0: ncclGetUniqueId: %s", p->nc->GetErrorString(r));
            else s = lf_dist_id_serve(e.port, e.world, &id, sizeof id, e.timeout_s);
        } else {
            s = lf_dist_id_fetch(e.master_addr, e.port, e.rank, e.world, &id, sizeof id, e.timeout_s);
        }
    }
    if (!s) s = init_comm(d, &id, e.timeout_s);
    if (s) teardown(d, 0);
    return s;
}

/* The forked child, until execve: async-signal-safe calls only (the parent has threads). */
static void child_exec(int devnull, char **argv, char **envp, pid_t parent, int max_fd) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* dies with rank 0; kept across execve */
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);                      /* a terminal's Ctrl-C reaches rank 0 only */
    dup2(devnull, 0);
    dup2(devnull, 1);
    int closed = 0;
#ifdef SYS_close_range
    closed = syscall(SYS_close_range, 3U, ~0U, 0) == 0;
#endif
    if (!closed)
        for (int fd = 3; fd < max_fd; fd++) close(fd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve("/proc/self/exe", argv, envp);
    _exit(127);   /* the supervisor reports "exited with status 127" */
}

static int is_ours(const char *kv) {
    static const char *const names[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "LINFER_DIST_ID_FILE=", "LINFER_DIST_PARENT_PID="};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(kv, names[i], strlen(names[i]))) return 1;
    return 0;
}

lf_status lf_dist_spawn(int tp, int argc, char **argv, lf_dist *d) {
    if (!d) return lf_fail(LINFER_ERR_INVALID_ARG, "lf_dist_spawn: d is NULL");
    lf_dist_init(d);
    LF_TRY(spawn_precheck(tp, argc, argv));
    char why[300];
    int n = gpu_count(why, sizeof why);
    if (tp > n) return lf_fail(LINFER_ERR_INVALID_ARG, "%d ranks (--tp x --pp) need %d GPUs, this machine has %d%s", tp, tp, n, why);
    double timeout_s = LF_DIST_TIMEOUT_S;
    {
        lf_dist_env e;
        LF_TRY(lf_dist_env_parse(NULL, &e));   /* only LINFER_DIST_TIMEOUT_S can be set here */
        timeout_s = e.timeout_s;
    }
    cudaError_t ce = cudaSetDevice(0);
    if (ce != cudaSuccess) {
        cudaGetLastError();
        return lf_fail(LINFER_ERR_DEVICE, "--tp %d: cudaSetDevice(0): %s", tp, cudaGetErrorString(ce));
    }
    lf_dist_priv *p = priv_new();
    if (!p) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    d->priv = p;
    d->world = tp;
    d->spawned = 1;
    p->timeout_s = timeout_s;
    lf_dist_set_log_rank(0);
    lf_status s = open_nccl(&p->nc);
    if (s) { lf_fail_prefix(s, "--tp %d", tp); teardown(d, 1); return s; }
    d->nccl = p->nc;
    ncclUniqueId id;
    ncclResult_t r = p->nc->GetUniqueId(&id);
    if (r != ncclSuccess) {
        s = lf_fail(LINFER_ERR_DEVICE, "--tp %d: ncclGetUniqueId: %s", tp, p->nc->GetErrorString(r));
        teardown(d, 1);
        return s;
    }
    /* the id, in a file of a private (0700) temp dir */
    const char *tmp = getenv("TMPDIR");
    snprintf(p->tmpdir, sizeof p->tmpdir, "%s/linfer-dist-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(p->tmpdir)) {
        s = lf_fail(LINFER_ERR_IO, "--tp %d: cannot create a temp dir %s: %s", tp, p->tmpdir, strerror(errno));
        p->tmpdir[0] = 0;
        teardown(d, 1);
        return s;
    }
    snprintf(p->idfile, sizeof p->idfile, "%s/nccl-id", p->tmpdir);
    if ((s = lf_dist_id_write(p->idfile, &id, sizeof id))) { teardown(d, 1); return s; }

    /* everything the children need, built before fork (only async-signal-safe calls after it) */
    size_t ne = 0;
    for (char **e = environ; e && *e; e++) ne++;
    char **envp = calloc(ne + 8, sizeof(char *));
    char s_id[4300], s_ppid[48], s_world[32], s_lws[40], s_rank[32], s_local[32];
    pid_t *pids = calloc((size_t)tp - 1, sizeof(pid_t));
    int *ranks = calloc((size_t)tp - 1, sizeof(int));
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!envp || !pids || !ranks || devnull < 0) {
        s = devnull < 0 ? lf_fail(LINFER_ERR_IO, "--tp %d: /dev/null: %s", tp, strerror(errno)) : lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
        free(envp); free(pids); free(ranks);
        if (devnull >= 0) close(devnull);
        teardown(d, 1);
        return s;
    }
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (!is_ours(environ[i])) envp[k++] = environ[i];
    pid_t self = getpid();
    snprintf(s_id, sizeof s_id, "LINFER_DIST_ID_FILE=%s", p->idfile);
    snprintf(s_ppid, sizeof s_ppid, "LINFER_DIST_PARENT_PID=%ld", (long)self);
    snprintf(s_world, sizeof s_world, "WORLD_SIZE=%d", tp);
    snprintf(s_lws, sizeof s_lws, "LOCAL_WORLD_SIZE=%d", tp);
    envp[k++] = s_id;
    envp[k++] = s_ppid;
    envp[k++] = s_world;
    envp[k++] = s_lws;
    envp[k++] = s_rank;
    envp[k++] = s_local;
    envp[k] = NULL;
    long om = sysconf(_SC_OPEN_MAX);
    int max_fd = om > 0 && om < 65536 ? (int)om : 65536;
    fflush(stdout);
    fflush(stderr);
    int started = 0;
    for (int rr = 1; rr < tp; rr++) {
        snprintf(s_rank, sizeof s_rank, "RANK=%d", rr);
        snprintf(s_local, sizeof s_local, "LOCAL_RANK=%d", rr);
        pid_t pid = fork();
        if (pid == 0) child_exec(devnull, argv, envp, self, max_fd);
        if (pid < 0) {
            s = lf_fail(LINFER_ERR_IO, "--tp %d: fork for rank %d: %s", tp, rr, strerror(errno));
            break;
        }
        pids[started] = pid;
        ranks[started] = rr;
        started++;
    }
    close(devnull);
    free(envp);
    if (started > 0) {
        lf_dist_sup_opts so;
        lf_dist_sup_default_opts(&so);
        so.exit_on_grace = 1;
        so.on_death = on_child_death;
        so.user = p;
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", linfer_last_error());
        lf_status ss = lf_dist_supervise_pids(started, pids, ranks, &so, &p->sup);
        if (ss) {   /* cannot supervise: stop them here */
            for (int i = 0; i < started; i++) kill(pids[i], SIGKILL);
            for (int i = 0; i < started; i++) while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {}
            if (!s) s = ss;
            else lf_fail(s, "%s", saved);
        }
    }
    free(pids);
    free(ranks);
    if (!s) s = init_comm(d, &id, timeout_s);
    if (s) { teardown(d, 1); return s; }
    remove_tmp(p);   /* every rank read it: ncclCommInitRank needed them all */
    return LINFER_OK;
}

/* ncclCommDestroy / ncclCommAbort, bounded (a communicator whose peer died can block on destroy) */
typedef struct {
    ncclResult_t (*fn)(ncclComm_t);
    ncclComm_t comm;
    ncclResult_t r;
    atomic_int done;
} free_job;

static void *free_main(void *arg) {
    free_job *j = arg;
    j->r = j->fn(j->comm);
    atomic_store(&j->done, 1);
    return NULL;
}

static lf_status free_comm(lf_dist *d, ncclComm_t c, int do_abort, double timeout_s) {
    lf_nccl *nc = d->priv->nc;
    free_job *j = calloc(1, sizeof *j);
    if (!j) return lf_fail(LINFER_ERR_OUT_OF_MEMORY, "out of memory");
    j->fn = do_abort && nc->CommAbort ? nc->CommAbort : nc->CommDestroy;
    j->comm = c;
    atomic_init(&j->done, 0);
    const char *what = j->fn == nc->CommAbort ? "ncclCommAbort" : "ncclCommDestroy";
    pthread_t th;
    if (pthread_create(&th, NULL, free_main, j) != 0) {
        free_main(j);
        ncclResult_t r = j->r;
        free(j);
        return r == ncclSuccess ? LINFER_OK : lf_fail(LINFER_ERR_DEVICE, "rank %d: %s: %s", d->rank, what, nc->GetErrorString(r));
    }
    double t0 = lf_now_s();
    while (!atomic_load(&j->done) && lf_now_s() - t0 < timeout_s) sleep_s(0.002);
    if (!atomic_load(&j->done)) {
        pthread_detach(th);   /* j is leaked to it on purpose: it may still write j->r */
        return lf_fail(LINFER_ERR_DEVICE, "rank %d: %s did not return within %.0f s", d->rank, what, timeout_s);
    }
    pthread_join(th, NULL);
    ncclResult_t r = j->r;
    free(j);
    return r == ncclSuccess ? LINFER_OK : lf_fail(LINFER_ERR_DEVICE, "rank %d: %s: %s", d->rank, what, nc->GetErrorString(r));
}

lf_status lf_dist_finish(lf_dist *d, int status) {
    if (!d) return LINFER_OK;
    lf_dist_priv *p = d->priv;
    if (!p) { lf_dist_init(d); return LINFER_OK; }
    int died = p->sup && lf_dist_sup_failed(p->sup, NULL, NULL, NULL, 0);
    int bad = status != 0 || died || atomic_load(&p->abort_req);
    atomic_store(&p->abort_req, 1);
    pthread_rwlock_wrlock(&p->lock);
    ncclComm_t c = p->comm;
    p->comm = NULL;
    pthread_rwlock_unlock(&p->lock);
    lf_status s = LINFER_OK;
    if (c) s = free_comm(d, c, bad, bad ? 5.0 : p->timeout_s);
    if (p->sup) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", linfer_last_error());
        lf_status ss = lf_dist_sup_finish(p->sup, bad, p->timeout_s);
        p->sup = NULL;
        if (ss) s = ss;                              /* a child's failure explains more */
        else if (s) lf_fail(s, "%s", saved);
    }
    /* the supervisor thread is joined: it starts no abort thread any more */
    if (p->have_abort_th) { pthread_join(p->abort_th, NULL); p->have_abort_th = 0; }
    if (p->have_watch) {
        atomic_store(&p->watch_stop, 1);
        pthread_join(p->watch_th, NULL);
        p->have_watch = 0;
    }
    if (!s) {
        remove_tmp(p);
        lf_nccl_close(p->nc);
        pthread_rwlock_destroy(&p->lock);
        free(p);
        lf_dist_init(d);
        return LINFER_OK;
    }
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", linfer_last_error());
    remove_tmp(p);
    lf_nccl_close(p->nc);
    pthread_rwlock_destroy(&p->lock);
    free(p);
    lf_dist_init(d);
    return lf_fail(s, "%s", saved);
}
#endif
