/* test_dist.c — the process model's pieces that need no GPU (src/dist/launcher.h): the
 * environment of an external launcher (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and
 * its errors, the id file round trip, the TCP id exchange between a "rank 0" and forked "ranks" on
 * localhost (an arbitrary 128-byte blob stands for the ncclUniqueId), the supervisor with fake
 * children (an exit code, SIGKILL, a straggler, the 10 s grace ending the process), the log prefix,
 * and the refusals that come before anything starts (--tp larger than the GPUs present). */
#include "test_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/clock.h"
#include "dist/launcher.h"
#include "engine/gpu_query.h"

static void nap(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

#define HAS(msg, sub)                                                                      \
    do {                                                                                   \
        if (!strstr((msg), (sub))) fail_msg("expected \"%s\" in \"%s\"", (sub), (msg));    \
    } while (0)

/* ---- environment ---- */

static void test_env_none(void **state) {
    (void)state;
    char *env[] = {"PATH=/usr/bin", "HOME=/root", "MASTER_ADDR=10.0.0.1", NULL};
    lf_dist_env e;
    assert_int_equal(lf_dist_env_parse(env, &e), LINFER_OK);
    assert_int_equal(e.present, 0);
    assert_int_equal(e.world, 1);
    assert_true(e.timeout_s == LF_DIST_TIMEOUT_S);
}

static void test_env_external(void **state) {
    (void)state;
    char *env[] = {"RANK=3", "WORLD_SIZE=8", "LOCAL_RANK=1", "MASTER_ADDR=node-a.example", "MASTER_PORT=29500", NULL};
    lf_dist_env e;
    assert_int_equal(lf_dist_env_parse(env, &e), LINFER_OK);
    assert_true(e.present && e.rank == 3 && e.world == 8 && e.local_rank == 1 && e.port == 29500);
    assert_string_equal(e.master_addr, "node-a.example");
    assert_string_equal(e.id_file, "");
    assert_int_equal(e.parent_pid, 0);
    /* LINFER_DIST_PORT overrides MASTER_PORT (torchrun's agent holds MASTER_PORT) */
    char *env2[] = {"RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=0", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29500", "LINFER_DIST_PORT=29611",
                    "LINFER_DIST_TIMEOUT_S=2.5", NULL};
    assert_int_equal(lf_dist_env_parse(env2, &e), LINFER_OK);
    assert_int_equal(e.port, 29611);
    assert_true(e.timeout_s == 2.5);
    /* one rank needs no rendezvous */
    char *env3[] = {"RANK=0", "WORLD_SIZE=1", "LOCAL_RANK=0", NULL};
    assert_int_equal(lf_dist_env_parse(env3, &e), LINFER_OK);
    assert_true(e.present && e.world == 1 && e.port == 0);
}

static void test_env_spawned(void **state) {
    (void)state;
    char *env[] = {"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "LINFER_DIST_ID_FILE=/tmp/linfer-dist-x/nccl-id", "LINFER_DIST_PARENT_PID=4242", NULL};
    lf_dist_env e;
    assert_int_equal(lf_dist_env_parse(env, &e), LINFER_OK);
    assert_true(e.present && e.rank == 1 && e.world == 2 && e.local_rank == 1 && e.parent_pid == 4242 && e.port == 0);
    assert_string_equal(e.id_file, "/tmp/linfer-dist-x/nccl-id");
}

static void test_env_errors(void **state) {
    (void)state;
    static const struct { const char *env[8]; const char *want[3]; } cases[] = {
        {{"RANK=1", NULL}, {"RANK=1 is set but WORLD_SIZE is not", "MASTER_PORT"}},
        {{"WORLD_SIZE=4", NULL}, {"WORLD_SIZE=4 is set but RANK is not"}},
        {{"LINFER_DIST_ID_FILE=/x", NULL}, {"LINFER_DIST_ID_FILE is set but RANK is not"}},
        {{"RANK=2x", "WORLD_SIZE=4", "LOCAL_RANK=0", NULL}, {"RANK='2x' is not an integer"}},
        {{"RANK= 2", "WORLD_SIZE=4", "LOCAL_RANK=0", NULL}, {"RANK=' 2' is not an integer"}},
        {{"RANK=4", "WORLD_SIZE=4", "LOCAL_RANK=0", NULL}, {"RANK=4 is out of range for WORLD_SIZE=4 (0 to 3)"}},
        {{"RANK=-1", "WORLD_SIZE=4", "LOCAL_RANK=0", NULL}, {"RANK=-1 is out of range"}},
        {{"RANK=0", "WORLD_SIZE=0", "LOCAL_RANK=0", NULL}, {"WORLD_SIZE=0: must be 1 to"}},
        {{"RANK=0", "WORLD_SIZE=four", NULL}, {"WORLD_SIZE='four' is not an integer"}},
        {{"RANK=0", "WORLD_SIZE=99999999999999999999", NULL}, {"WORLD_SIZE='99999999999999999999' is not an integer"}},
        {{"RANK=1", "WORLD_SIZE=2", NULL}, {"LOCAL_RANK is not set (RANK=1, WORLD_SIZE=2)", "GPU index"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=gpu1", NULL}, {"LOCAL_RANK='gpu1' is not an integer"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=-3", NULL}, {"LOCAL_RANK=-3: must be 0 to 1023"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "MASTER_PORT=29500", NULL}, {"MASTER_ADDR is not set (RANK=1, WORLD_SIZE=2)"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "MASTER_ADDR=h", NULL}, {"MASTER_PORT is not set (RANK=1, WORLD_SIZE=2)"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "MASTER_ADDR=h", "MASTER_PORT=70000", NULL}, {"MASTER_PORT='70000': must be a port number"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "MASTER_ADDR=h", "MASTER_PORT=1", "LINFER_DIST_PORT=0", NULL}, {"LINFER_DIST_PORT='0'"}},
        {{"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "LINFER_DIST_ID_FILE=/x", "LINFER_DIST_PARENT_PID=abc", NULL}, {"LINFER_DIST_PARENT_PID='abc'"}},
        {{"LINFER_DIST_TIMEOUT_S=0", NULL}, {"LINFER_DIST_TIMEOUT_S='0'"}},
        {{"LINFER_DIST_TIMEOUT_S=10s", NULL}, {"LINFER_DIST_TIMEOUT_S='10s'"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lf_dist_env e;
        lf_status s = lf_dist_env_parse((char *const *)cases[i].env, &e);
        if (s != LINFER_ERR_INVALID_ARG) fail_msg("case %zu (%s): status %d, message '%s'", i, cases[i].env[0], s, linfer_last_error());
        for (int k = 0; k < 3 && cases[i].want[k]; k++) HAS(linfer_last_error(), cases[i].want[k]);
    }
}

/* ---- id file ---- */

static void test_id_file(void **state) {
    (void)state;
    char dir[] = "/tmp/lf-test-dist-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/nccl-id", dir);
    snprintf(bad, sizeof bad, "%s/short", dir);
    unsigned char id[LF_DIST_ID_BYTES], back[LF_DIST_ID_BYTES];
    for (int i = 0; i < LF_DIST_ID_BYTES; i++) id[i] = (unsigned char)(i * 37 + 11);
    assert_int_equal(lf_dist_id_write(path, id, sizeof id), LINFER_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((int)st.st_size, LF_DIST_ID_BYTES);
    memset(back, 0, sizeof back);
    assert_int_equal(lf_dist_id_read(path, back, sizeof back), LINFER_OK);
    assert_memory_equal(id, back, sizeof id);
    /* a file of the wrong size, a file that is not there */
    assert_int_equal(lf_dist_id_write(bad, id, 100), LINFER_OK);
    assert_int_equal(lf_dist_id_read(bad, back, sizeof back), LINFER_ERR_FORMAT);
    HAS(linfer_last_error(), "100 bytes, expected exactly 128");
    HAS(linfer_last_error(), bad);
    unsigned char big[200] = {0};
    assert_int_equal(lf_dist_id_write(bad, big, sizeof big), LINFER_OK);
    assert_int_equal(lf_dist_id_read(bad, back, sizeof back), LINFER_ERR_FORMAT);
    HAS(linfer_last_error(), "more than 128 bytes");
    unlink(bad);
    assert_int_equal(lf_dist_id_read(bad, back, sizeof back), LINFER_ERR_IO);
    HAS(linfer_last_error(), "cannot open");
    unlink(path);
    rmdir(dir);
}

/* ---- TCP id exchange ---- */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0) fail_msg("no free port");
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static unsigned char g_blob[LF_DIST_ID_BYTES];

/* A forked rank that fetches the id after delay_s: exit 0 (got g_blob), 1 (other bytes), 2 (error;
 * the message goes to msg_fd when >= 0). */
static pid_t fork_fetch(int port, int rank, int world, double delay_s, double timeout_s, int msg_fd) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    nap(delay_s);
    unsigned char got[LF_DIST_ID_BYTES];
    lf_status s = lf_dist_id_fetch("localhost", port, rank, world, got, sizeof got, timeout_s);
    if (s) {
        if (msg_fd >= 0) { ssize_t w = write(msg_fd, linfer_last_error(), strlen(linfer_last_error())); (void)w; }
        _exit(2);
    }
    _exit(memcmp(got, g_blob, sizeof got) ? 1 : 0);
}

static int wait_exit(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void test_tcp_exchange(void **state) {
    (void)state;
    for (int i = 0; i < LF_DIST_ID_BYTES; i++) g_blob[i] = (unsigned char)(255 - i * 7);
    int port = free_port();
    /* rank 1 asks before rank 0 listens (it retries), rank 2 after; rank 0 serves both */
    pid_t a = fork_fetch(port, 1, 3, 0.0, 20, -1);
    pid_t b = fork_fetch(port, 2, 3, 0.6, 20, -1);
    nap(0.3);
    lf_status s = lf_dist_id_serve(port, 3, g_blob, sizeof g_blob, 20);
    if (s) fail_msg("serve: %s", linfer_last_error());
    assert_int_equal(wait_exit(a), 0);
    assert_int_equal(wait_exit(b), 0);
    /* WORLD_SIZE 1: nothing to serve */
    assert_int_equal(lf_dist_id_serve(port, 1, g_blob, sizeof g_blob, 1), LINFER_OK);
}

static void test_tcp_stray_connection(void **state) {
    (void)state;
    int port = free_port();
    fflush(stdout);
    pid_t stray = fork();
    if (stray == 0) {   /* a port scanner: connects, sends garbage, goes */
        nap(0.2);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) { ssize_t w = write(fd, "GET / HTTP/1.0\r\n\r\n", 18); (void)w; }
        nap(0.2);
        _exit(0);
    }
    pid_t r1 = fork_fetch(port, 1, 2, 0.6, 20, -1);
    lf_status s = lf_dist_id_serve(port, 2, g_blob, sizeof g_blob, 20);
    if (s) fail_msg("serve: %s", linfer_last_error());
    assert_int_equal(wait_exit(r1), 0);
    assert_int_equal(wait_exit(stray), 0);
}

static void test_tcp_missing_rank(void **state) {
    (void)state;
    int port = free_port();
    pid_t a = fork_fetch(port, 1, 4, 0.0, 20, -1);
    double t0 = lf_now_s();
    lf_status s = lf_dist_id_serve(port, 4, g_blob, sizeof g_blob, 1.5);
    double dt = lf_now_s() - t0;
    assert_int_equal(s, LINFER_ERR_IO);
    HAS(linfer_last_error(), "ranks 2, 3 of WORLD_SIZE=4 did not fetch the NCCL id");
    HAS(linfer_last_error(), "within 2 s");
    assert_true(dt >= 1.4 && dt < 5);
    assert_int_equal(wait_exit(a), 0);
}

static void test_tcp_mismatch(void **state) {
    (void)state;
    int port = free_port(), fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t a = fork_fetch(port, 1, 3, 0.0, 20, fds[1]);   /* says WORLD_SIZE=3 to a rank 0 of 2 */
    close(fds[1]);
    lf_status s = lf_dist_id_serve(port, 2, g_blob, sizeof g_blob, 20);
    assert_int_equal(s, LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "WORLD_SIZE mismatch: rank 0 has WORLD_SIZE=2, rank 1 has WORLD_SIZE=3");
    assert_int_equal(wait_exit(a), 2);
    char msg[1024] = "";
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    msg[n > 0 ? n : 0] = 0;
    HAS(msg, "rank 0 at localhost:");
    HAS(msg, "refused this rank: WORLD_SIZE mismatch");

    /* the same RANK twice */
    port = free_port();
    pid_t b = fork_fetch(port, 1, 3, 0.0, 20, -1), c = fork_fetch(port, 1, 3, 0.5, 20, -1);
    s = lf_dist_id_serve(port, 3, g_blob, sizeof g_blob, 20);
    assert_int_equal(s, LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "two processes have RANK=1");
    int eb = wait_exit(b), ec = wait_exit(c);
    assert_true((eb == 0 && ec == 2) || (eb == 2 && ec == 0));
}

static void test_tcp_no_server(void **state) {
    (void)state;
    int port = free_port();
    unsigned char got[LF_DIST_ID_BYTES];
    double t0 = lf_now_s();
    lf_status s = lf_dist_id_fetch("127.0.0.1", port, 1, 2, got, sizeof got, 1.0);
    double dt = lf_now_s() - t0;
    assert_int_equal(s, LINFER_ERR_IO);
    char want[64];
    snprintf(want, sizeof want, "rank 0 at 127.0.0.1:%d within 1 s", port);
    HAS(linfer_last_error(), want);
    HAS(linfer_last_error(), "(last: connect: ");   /* refused, or timed out where a firewall drops it */
    assert_true(dt >= 0.9 && dt < 4);
    /* a name that does not resolve fails at once */
    t0 = lf_now_s();
    s = lf_dist_id_fetch("no-such-host.invalid", port, 1, 2, got, sizeof got, 2);   /* at once, or after 2 s without DNS */
    assert_true(lf_now_s() - t0 < 10);
    if (s != LINFER_ERR_INVALID_ARG && s != LINFER_ERR_IO) fail_msg("status %d: %s", s, linfer_last_error());
    HAS(linfer_last_error(), "no-such-host.invalid");
    /* bad arguments */
    assert_int_equal(lf_dist_id_fetch("h", port, 0, 2, got, sizeof got, 1), LINFER_ERR_INVALID_ARG);
    assert_int_equal(lf_dist_id_serve(0, 2, got, sizeof got, 1), LINFER_ERR_INVALID_ARG);
}

static void test_tcp_port_in_use(void **state) {
    (void)state;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        if (fd >= 0) close(fd);
        skip();   /* no IPv6 here */
    }
    int port = ntohs(a.sin6_port);
    lf_status s = lf_dist_id_serve(port, 2, g_blob, sizeof g_blob, 1);
    close(fd);
    assert_int_equal(s, LINFER_ERR_IO);
    HAS(linfer_last_error(), "it is in use on this host");
    HAS(linfer_last_error(), "LINFER_DIST_PORT");
}

/* ---- supervisor ---- */

/* a fake rank: after delay_s, exits with code (code < 0: waits to be killed) */
static pid_t fake_child(double delay_s, int code) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (code < 0) for (;;) pause();
    nap(delay_s);
    _exit(code);
}

static void read_log(FILE *f, char *buf, size_t cap) {
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
}

static void test_sup_exit_code(void **state) {
    (void)state;
    FILE *log = tmpfile();
    assert_non_null(log);
    pid_t pids[3] = {fake_child(0, -1), fake_child(0.2, 3), fake_child(0, -1)};
    int ranks[3] = {1, 2, 3};
    lf_dist_sup_opts o;
    lf_dist_sup_default_opts(&o);
    o.log = log;
    lf_dist_sup *s = NULL;
    assert_int_equal(lf_dist_supervise_pids(3, pids, ranks, &o, &s), LINFER_OK);
    double t0 = lf_now_s();
    int rank = -1;
    long pid = 0;
    char why[160];
    while (!lf_dist_sup_failed(s, &rank, &pid, why, sizeof why) && lf_now_s() - t0 < 10) nap(0.01);
    double dt = lf_now_s() - t0;
    assert_true(dt < 10);
    assert_int_equal(rank, 2);
    assert_int_equal(pid, (long)pids[1]);
    assert_string_equal(why, "exited with status 3");
    char buf[1024], want[160];
    assert_false(lf_dist_sup_grace_expired(s));
    /* the others got SIGTERM at the death: finishing takes no waiting */
    double t1 = lf_now_s();
    lf_status fs = lf_dist_sup_finish(s, 0, 5);
    assert_true(lf_now_s() - t1 < 2);
    for (int i = 0; i < 3; i++) assert_int_equal(waitpid(pids[i], NULL, WNOHANG), -1);   /* all reaped */
    assert_int_equal(fs, LINFER_ERR_DEVICE);
    snprintf(want, sizeof want, "rank 2 (pid %ld) died: exited with status 3", (long)pids[1]);
    HAS(linfer_last_error(), want);
    read_log(log, buf, sizeof buf);
    snprintf(want, sizeof want, "linfer: rank 2 (pid %ld) died: exited with status 3; stopping all ranks\n", (long)pids[1]);
    assert_string_equal(buf, want);
    fclose(log);
    assert_true(lf_now_s() - t0 < 10);
}

static int g_deaths;
static void count_death(void *user, int rank, long pid, const char *why) {
    (void)pid;
    (void)why;
    g_deaths++;
    *(int *)user = rank;
}

static void test_sup_sigkill(void **state) {
    (void)state;
    FILE *log = tmpfile();
    pid_t pids[2] = {fake_child(0, -1), fake_child(0, -1)};
    int ranks[2] = {1, 2}, seen = -1;
    lf_dist_sup_opts o;
    lf_dist_sup_default_opts(&o);
    o.log = log;
    o.on_death = count_death;
    o.user = &seen;
    g_deaths = 0;
    lf_dist_sup *s = NULL;
    assert_int_equal(lf_dist_supervise_pids(2, pids, ranks, &o, &s), LINFER_OK);
    nap(0.1);
    assert_int_equal(lf_dist_sup_failed(s, NULL, NULL, NULL, 0), 0);
    kill(pids[0], SIGKILL);
    double t0 = lf_now_s();
    char why[160];
    while (!lf_dist_sup_failed(s, NULL, NULL, why, sizeof why) && lf_now_s() - t0 < 10) nap(0.01);
    assert_true(lf_now_s() - t0 < 10);
    assert_string_equal(why, "killed by signal 9 (SIGKILL)");
    lf_status fs = lf_dist_sup_finish(s, 1, 5);
    assert_int_equal(fs, LINFER_ERR_DEVICE);
    HAS(linfer_last_error(), "rank 1 (pid");
    HAS(linfer_last_error(), "died: killed by signal 9 (SIGKILL)");
    assert_int_equal(g_deaths, 1);   /* once, although rank 2 then died of SIGTERM */
    assert_int_equal(seen, 1);
    char buf[1024];
    read_log(log, buf, sizeof buf);
    HAS(buf, "died: killed by signal 9 (SIGKILL); stopping all ranks");
    fclose(log);
}

static void test_sup_all_ok(void **state) {
    (void)state;
    FILE *log = tmpfile();
    pid_t pids[3] = {fake_child(0.1, 0), fake_child(0.3, 0), fake_child(0.05, 0)};
    int ranks[3] = {1, 2, 3};
    lf_dist_sup_opts o;
    lf_dist_sup_default_opts(&o);
    o.log = log;
    lf_dist_sup *s = NULL;
    assert_int_equal(lf_dist_supervise_pids(3, pids, ranks, &o, &s), LINFER_OK);
    double t0 = lf_now_s();
    assert_int_equal(lf_dist_sup_finish(s, 0, 10), LINFER_OK);
    assert_true(lf_now_s() - t0 < 3);
    char buf[256];
    read_log(log, buf, sizeof buf);
    assert_string_equal(buf, "");
    fclose(log);
    for (int i = 0; i < 3; i++) assert_int_equal(waitpid(pids[i], NULL, WNOHANG), -1);   /* reaped */
}

static void test_sup_fail_while_finishing(void **state) {
    (void)state;
    FILE *log = tmpfile();
    pid_t pids[2] = {fake_child(0.3, 2), fake_child(0.1, 0)};
    int ranks[2] = {1, 2};
    lf_dist_sup_opts o;
    lf_dist_sup_default_opts(&o);
    o.log = log;
    lf_dist_sup *s = NULL;
    assert_int_equal(lf_dist_supervise_pids(2, pids, ranks, &o, &s), LINFER_OK);
    lf_status fs = lf_dist_sup_finish(s, 0, 10);   /* rank 1 fails after rank 0 finished */
    assert_int_equal(fs, LINFER_ERR_DEVICE);
    char want[128];
    snprintf(want, sizeof want, "rank 1 (pid %ld) failed: exited with status 2", (long)pids[0]);
    HAS(linfer_last_error(), want);
    char buf[256];
    read_log(log, buf, sizeof buf);
    assert_string_equal(buf, "");   /* not a death: rank 0 had finished */
    fclose(log);
}

static void test_sup_straggler(void **state) {
    (void)state;
    pid_t pids[2] = {fake_child(0, -1), fake_child(0.05, 0)};
    int ranks[2] = {1, 2};
    lf_dist_sup *s = NULL;
    assert_int_equal(lf_dist_supervise_pids(2, pids, ranks, NULL, &s), LINFER_OK);
    double t0 = lf_now_s();
    lf_status fs = lf_dist_sup_finish(s, 0, 0.5);
    assert_true(lf_now_s() - t0 < 5);
    assert_int_equal(fs, LINFER_ERR_DEVICE);
    char want[64];
    snprintf(want, sizeof want, "rank 1 (pid %ld) did not exit within", (long)pids[0]);
    HAS(linfer_last_error(), want);
    HAS(linfer_last_error(), "did not exit within");
    HAS(linfer_last_error(), "it was stopped");
    assert_int_equal(waitpid(pids[0], NULL, WNOHANG), -1);
    /* stop_now: the caller failed; the children stopped for that are no failure */
    pid_t p2[1] = {fake_child(0, -1)};
    assert_int_equal(lf_dist_supervise_pids(1, p2, ranks, NULL, &s), LINFER_OK);
    t0 = lf_now_s();
    assert_int_equal(lf_dist_sup_finish(s, 1, 30), LINFER_OK);
    assert_true(lf_now_s() - t0 < 4);
}

/* The real thing: a rank 0 whose main thread never finishes is ended by the supervisor with
 * _exit(1) grace_s after a child died, and its other children are killed. */
static void test_sup_grace_exit(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    double t0 = lf_now_s();
    pid_t r0 = fork();
    if (r0 == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        pid_t pids[2] = {fake_child(0, -1), fake_child(0.1, 3)};
        int ranks[2] = {1, 2};
        lf_dist_sup_opts o;
        lf_dist_sup_default_opts(&o);
        o.grace_s = 1.0;
        o.exit_on_grace = 1;
        lf_dist_sup *s = NULL;
        if (lf_dist_supervise_pids(2, pids, ranks, &o, &s)) _exit(7);
        char line[32];
        snprintf(line, sizeof line, "child %ld\n", (long)pids[0]);
        ssize_t w = write(2, line, strlen(line));
        (void)w;
        nap(30);   /* "stuck": never calls lf_dist_sup_finish */
        _exit(0);
    }
    close(fds[1]);
    int st = 0;
    pid_t r;
    while ((r = waitpid(r0, &st, WNOHANG)) == 0 && lf_now_s() - t0 < 15) nap(0.02);
    double dt = lf_now_s() - t0;
    if (r == 0) { kill(r0, SIGKILL); waitpid(r0, &st, 0); fail_msg("rank 0 was not ended within 15 s"); }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_true(dt > 0.9 && dt < 10);
    char buf[2048] = "";
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
    buf[n] = 0;
    close(fds[0]);
    HAS(buf, "died: exited with status 3; stopping all ranks");
    HAS(buf, "linfer: rank 0 did not stop within 1 s after rank 2 died; ending the process");
    long other = 0;
    const char *c = strstr(buf, "child ");
    assert_non_null(c);
    other = atol(c + 6);
    assert_true(other > 0);
    /* the sleeping child got SIGTERM at the death, SIGKILL at the end: gone (reparented and reaped) */
    int alive = 1;
    for (double t1 = lf_now_s(); lf_now_s() - t1 < 5; nap(0.05)) {
        char path[64], state_c = 0;
        snprintf(path, sizeof path, "/proc/%ld/stat", other);
        FILE *f = fopen(path, "r");
        if (!f) { alive = 0; break; }
        int rr = fscanf(f, "%*d %*s %c", &state_c);
        fclose(f);
        if (rr == 1 && state_c == 'Z') { alive = 0; break; }
    }
    assert_false(alive);
}

static void test_wait_status_str(void **state) {
    (void)state;
    char b[128];
    pid_t p = fake_child(0, 0);
    int st = 0;
    waitpid(p, &st, 0);
    assert_string_equal(lf_dist_wait_status_str(st, b, sizeof b), "exited with status 0");
    p = fake_child(0, -1);
    kill(p, SIGUSR1);   /* not one cmocka catches (the child may not have reset those yet) */
    waitpid(p, &st, 0);
    HAS(lf_dist_wait_status_str(st, b, sizeof b), "killed by signal 10 (SIGUSR1)");
    HAS(lf_dist_wait_status_str(-1, b, sizeof b), "status unknown");
}

/* ---- prefix, refusals, no-ops ---- */

static void test_log_prefix(void **state) {
    (void)state;
    assert_string_equal(lf_dist_log_prefix(), "linfer");
    lf_dist_set_log_rank(3);
    assert_string_equal(lf_dist_log_prefix(), "linfer[rank 3]");
    lf_dist_set_log_rank(0);
    assert_string_equal(lf_dist_log_prefix(), "linfer");
}

static void test_refusals(void **state) {
    (void)state;
    char *argv[] = {"linfer", "generate", "--tp", "2", NULL};
    lf_dist d;
    lf_dist_init(&d);
    assert_true(d.world == 1 && d.rank == 0 && !d.comm && !d.priv);
    assert_int_equal(lf_dist_finish(&d, 0), LINFER_OK);   /* nothing to do */
    assert_int_equal(lf_dist_check(&d), LINFER_OK);
    assert_int_equal(lf_dist_env_present(), 0);
    int gpus = lf_gpu_count();
#ifdef LINFER_HAVE_CUDA
    /* more ranks than GPUs: refused before anything starts, with the CLI's exit 2 */
    char want[96];
    int tp = gpus + 1 < 2 ? 2 : gpus + 1;
    assert_int_equal(lf_dist_spawn(tp, 4, argv, &d), LINFER_ERR_INVALID_ARG);
    snprintf(want, sizeof want, "%d ranks (--tp x --pp) need %d GPUs, this machine has %d", tp, tp, gpus);
    HAS(linfer_last_error(), want);
    assert_true(d.world == 1 && !d.priv);
#else
    (void)gpus;
    assert_int_equal(lf_dist_spawn(2, 4, argv, &d), LINFER_ERR_UNSUPPORTED);
    HAS(linfer_last_error(), "built without CUDA");
#endif
    assert_int_equal(lf_dist_spawn(1, 4, argv, &d), LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "--tp 1");
    /* a process that already is a rank joins; it does not start ranks */
    setenv("RANK", "1", 1);
    setenv("WORLD_SIZE", "2", 1);
    assert_int_equal(lf_dist_env_present(), 1);
    assert_int_equal(lf_dist_spawn(2, 4, argv, &d), LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "RANK/WORLD_SIZE are already set");
    /* and one with an incomplete environment says what is missing */
    lf_status s = lf_dist_join(&d);
#ifdef LINFER_HAVE_CUDA
    assert_int_equal(s, LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "LOCAL_RANK is not set");
#else
    assert_int_equal(s, LINFER_ERR_UNSUPPORTED);
#endif
    assert_true(d.world == 1 && !d.priv);
    unsetenv("RANK");
    unsetenv("WORLD_SIZE");
    s = lf_dist_join(&d);
#ifdef LINFER_HAVE_CUDA
    assert_int_equal(s, LINFER_ERR_INVALID_ARG);
    HAS(linfer_last_error(), "RANK and WORLD_SIZE are not set");
#else
    assert_int_equal(s, LINFER_ERR_UNSUPPORTED);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_none),
        cmocka_unit_test(test_env_external),
        cmocka_unit_test(test_env_spawned),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_id_file),
        cmocka_unit_test(test_tcp_exchange),
        cmocka_unit_test(test_tcp_stray_connection),
        cmocka_unit_test(test_tcp_missing_rank),
        cmocka_unit_test(test_tcp_mismatch),
        cmocka_unit_test(test_tcp_no_server),
        cmocka_unit_test(test_tcp_port_in_use),
        cmocka_unit_test(test_sup_exit_code),
        cmocka_unit_test(test_sup_sigkill),
        cmocka_unit_test(test_sup_all_ok),
        cmocka_unit_test(test_sup_fail_while_finishing),
        cmocka_unit_test(test_sup_straggler),
        cmocka_unit_test(test_sup_grace_exit),
        cmocka_unit_test(test_wait_status_str),
        cmocka_unit_test(test_log_prefix),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
