/* launcher.h — one process per GPU: started and supervised by linfer itself, or by an external
 * launcher (torchrun, srun, an ssh loop) through RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR /
 * MASTER_PORT. docs/distributed.md describes the process model for users; this header is the API.
 *
 * Two ways in, one way out:
 *
 *   lf_dist_spawn(tp, argc, argv, &d)   `--tp N` (N > 1) with no RANK in the environment: this
 *       process becomes rank 0 and starts ranks 1..N-1 as copies of itself (/proc/self/exe with the
 *       same argv), hands them the NCCL id through a file in a private temp dir, supervises them,
 *       and returns with the communicator of N ranks ready.
 *   lf_dist_join(&d)                    RANK (or LINFER_DIST_ID_FILE) in the environment: a rank
 *       started by lf_dist_spawn (id from the file) or by an external launcher (rank 0 makes the id
 *       and serves it over TCP on MASTER_PORT; the others fetch it from MASTER_ADDR:MASTER_PORT).
 *   lf_dist_finish(&d, status)          every rank, whatever happened (safe on a d that failed to
 *       set up, or that lf_dist_init only cleared): destroys (status 0) or aborts the communicator;
 *       rank 0 of a spawned job waits for its children (bounded) and reports any that failed.
 *
 * A failed lf_dist_spawn or lf_dist_join has already undone what it did (children stopped and
 * reaped, temp dir removed) and left d as lf_dist_init makes it (one rank, no communicator).
 *
 * Failure model (spawned jobs): a child that exits non-zero or by a signal before rank 0 calls
 * lf_dist_finish makes the supervisor thread print "linfer: rank R (pid P) died: <why>; stopping
 * all ranks" and send SIGTERM to the other children; lf_dist_check and lf_dist_sync report the
 * death from then on. If the communicator is guarded (lf_dist_set_comm_guarded), the supervisor
 * also aborts it (ncclCommAbort): a collective of rank 0 waiting for the dead rank then ends with an
 * error instead of hanging. If rank 0 has not returned from lf_dist_finish 10 s after the death,
 * the supervisor ends the process with _exit(1) (this is what ends a rank 0 stuck in
 * cudaStreamSynchronize on an unguarded communicator).
 * Children die with rank 0: PR_SET_PDEATHSIG(SIGTERM) plus a watchdog thread that ends the child
 * with _exit(1) within a second of noticing its parent is gone (getppid()).
 *
 * Process exits: the library never calls exit(). The only ways this file ends a process are those
 * two watchdogs (the supervisor's _exit(1) in rank 0, the parent watchdog's _exit(1) in a spawned
 * child) and _exit(127) in a forked child whose execve failed. Each prints why on stderr first.
 *
 * Using the communicator: d->comm (an ncclComm_t) can be used directly, with d->nccl's functions,
 * as long as it is not guarded; it stays valid until lf_dist_finish (call that after freeing what
 * uses it). Code that makes every NCCL call on it through the wrappers below, or between
 * lf_dist_comm_acquire and lf_dist_comm_release (a read lock that an abort waits for), may call
 * lf_dist_set_comm_guarded: then the supervisor aborts (and so frees) the communicator when a child
 * dies, and d->comm must no longer be used directly. Waiting with lf_dist_sync instead of
 * cudaStreamSynchronize turns a dead rank into an error within a millisecond either way.
 *
 * Without CUDA (no LINFER_HAVE_CUDA) lf_dist_spawn and lf_dist_join fail with
 * LINFER_ERR_UNSUPPORTED; the pure-POSIX pieces (environment, id file, TCP exchange, supervisor)
 * work in every build and are what tests/test_dist.c tests. */
#ifndef LF_DIST_LAUNCHER_H
#define LF_DIST_LAUNCHER_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "../core/error.h"
#include "nccl_loader.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LF_DIST_ID_BYTES 128        /* sizeof(ncclUniqueId) */
#define LF_DIST_MAX_WORLD 4096
#define LF_DIST_TIMEOUT_S 60.0      /* id exchange, NCCL initialisation, waiting for ranks to exit */
#define LF_DIST_GRACE_S 8.0         /* after a rank died: time rank 0 has before the supervisor ends it (so every
                                     * rank is gone within 10 s of a death: measured 10.4 s with a 10 s grace) */

typedef struct lf_dist_priv lf_dist_priv;
typedef struct lf_dist_sup lf_dist_sup;

typedef struct {
    int rank, world, local_rank;   /* local_rank: the GPU index of this rank on its host */
    void *comm;                    /* ncclComm_t (NULL before joining); see "Using the communicator" */
    int spawned;                   /* 1: started by lf_dist_spawn (rank 0: the spawning process) */
    lf_nccl *nccl;                 /* the loaded NCCL (function table), NULL before joining */
    lf_dist_priv *priv;
} lf_dist;

/* One rank, no communicator: what lf_dist_finish accepts and does nothing with. */
void lf_dist_init(lf_dist *d);

/* 1 when the environment says this process is a rank of a launched job: RANK, WORLD_SIZE or
 * LINFER_DIST_ID_FILE is set (then call lf_dist_join, not lf_dist_spawn). */
int lf_dist_env_present(void);

/* Start tp - 1 children (fork + execv(/proc/self/exe, argv)) and become rank 0 of tp. argv is the
 * process's whole argv as main() got it (argc entries, argv[argc] == NULL). Checks first, before
 * anything starts: 2 <= tp <= LF_DIST_MAX_WORLD, no RANK/WORLD_SIZE in the environment, and tp GPUs
 * present ("--tp 4 needs 4 GPUs, this machine has 2": LINFER_ERR_INVALID_ARG, which the CLI turns
 * into exit 2). Children: stdin and stdout /dev/null, stderr shared, their own process group (a
 * Ctrl-C in the terminal reaches rank 0 only; rank 0 stops the others through lf_dist_finish),
 * environment + LINFER_DIST_ID_FILE, LINFER_DIST_PARENT_PID, RANK=r, WORLD_SIZE=tp, LOCAL_RANK=r,
 * LOCAL_WORLD_SIZE=tp. Call it from the main thread (PR_SET_PDEATHSIG follows the forking thread),
 * before loading the model, and only once per process. */
lf_status lf_dist_spawn(int tp, int argc, char **argv, lf_dist *d);

/* Join as the rank the environment names (see lf_dist_env_parse): check LOCAL_RANK against the
 * GPUs present, cudaSetDevice(LOCAL_RANK), get the NCCL id (file, or TCP through MASTER_*), and
 * ncclCommInitRank — bounded by LINFER_DIST_TIMEOUT_S (default 60 s); a rank that never shows up
 * gives an error naming the stage, not a hang. */
lf_status lf_dist_join(lf_dist *d);

/* Declare that every NCCL call on d's communicator goes through the wrappers below or between
 * lf_dist_comm_acquire/release: from then on the supervisor may ncclCommAbort it when a child dies
 * (see "Using the communicator"). No effect on ranks without a supervisor or without CUDA. */
void lf_dist_set_comm_guarded(lf_dist *d);

/* LINFER_OK, or LINFER_ERR_DEVICE when a rank died (the supervisor's message), the communicator was
 * aborted, or NCCL reports an asynchronous error. Cheap: call it between steps. */
lf_status lf_dist_check(lf_dist *d);

/* Tear down (see the top of this file). status is the caller's own result: 0 means this rank
 * succeeded (destroy the communicator; rank 0 waits up to LINFER_DIST_TIMEOUT_S for the children to
 * finish); non-zero means it failed (abort the communicator; rank 0 stops the children at once).
 * Returns LINFER_ERR_DEVICE naming the first rank that died or failed, else LINFER_OK; it sets the
 * error message only when it returns an error, so print the caller's own error before calling it.
 * Leaves d as lf_dist_init makes it. */
lf_status lf_dist_finish(lf_dist *d, int status);

/* "linfer" in rank 0 and in a process that is no rank; "linfer[rank R]" in rank R > 0. Every
 * message a rank prints on stderr starts with it ("%s: ...\n"). Read from RANK on first use, fixed
 * by lf_dist_join / lf_dist_spawn. */
const char *lf_dist_log_prefix(void);
void lf_dist_set_log_rank(int rank);   /* what join and spawn call (tests use it too) */

#ifdef LINFER_HAVE_CUDA
/* The communicator with a read lock held (NULL, lock not held, after an abort or before joining);
 * every NCCL call on it goes between acquire and release. Keep the section short: an abort by the
 * supervisor waits for it. */
ncclComm_t lf_dist_comm_acquire(lf_dist *d);
void lf_dist_comm_release(lf_dist *d);
/* Collectives on the communicator (acquire + call + release; an NCCL error gives LINFER_ERR_DEVICE
 * naming the call, this rank and NCCL's error string). */
lf_status lf_dist_all_reduce(lf_dist *d, const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                             cudaStream_t stream);
lf_status lf_dist_all_gather(lf_dist *d, const void *send, void *recv, size_t sendcount, ncclDataType_t type,
                             cudaStream_t stream);
lf_status lf_dist_broadcast(lf_dist *d, const void *send, void *recv, size_t count, ncclDataType_t type, int root,
                            cudaStream_t stream);
/* Wait for stream like cudaStreamSynchronize, but poll, so that a dead rank or an aborted
 * communicator ends the wait with an error (lf_dist_check) instead of a hang; timeout_s <= 0 means
 * LINFER_DIST_TIMEOUT_S. */
lf_status lf_dist_sync(lf_dist *d, cudaStream_t stream, double timeout_s);
#endif

/* ---- the pieces, exposed for tests (pure POSIX, every build) --------------------------------- */

typedef struct {
    int present;             /* RANK, WORLD_SIZE or LINFER_DIST_ID_FILE set */
    int rank, world, local_rank;
    char id_file[4096];      /* LINFER_DIST_ID_FILE, "" when unset (external launcher) */
    char master_addr[256];   /* MASTER_ADDR ("" when the id comes from a file or world == 1) */
    int port;                /* LINFER_DIST_PORT if set, else MASTER_PORT (0 when not needed) */
    long parent_pid;         /* LINFER_DIST_PARENT_PID (spawned ranks), 0 otherwise */
    double timeout_s;        /* LINFER_DIST_TIMEOUT_S, default LF_DIST_TIMEOUT_S */
} lf_dist_env;

/* Parse and check the variables in envp ("NAME=value" strings, NULL-terminated; NULL means the
 * process's environment). Nothing set: present = 0, LINFER_OK. Otherwise RANK, WORLD_SIZE and
 * LOCAL_RANK must all be set, be decimal integers, 1 <= WORLD_SIZE <= LF_DIST_MAX_WORLD,
 * 0 <= RANK < WORLD_SIZE, 0 <= LOCAL_RANK < 1024; without LINFER_DIST_ID_FILE and with
 * WORLD_SIZE > 1, MASTER_ADDR and MASTER_PORT (1..65535; LINFER_DIST_PORT overrides it) too.
 * Errors: LINFER_ERR_INVALID_ARG naming the variable, its value and what is expected. */
lf_status lf_dist_env_parse(char *const *envp, lf_dist_env *out);

/* The id file: written atomically (PATH.tmp, fsync, rename); read back, refusing a file that is
 * not exactly n bytes. */
lf_status lf_dist_id_write(const char *path, const void *blob, size_t n);
lf_status lf_dist_id_read(const char *path, void *blob, size_t n);

/* TCP id exchange (rank 0 serves, the others fetch). serve listens on port (all addresses, IPv6
 * and IPv4) and sends the n-byte blob to each of the world - 1 other ranks as it connects; it
 * returns when all have it, or fails after timeout_s naming the ranks that never came, or at once
 * on a rank that gives another WORLD_SIZE or a RANK taken twice (that rank is told why). fetch
 * connects to addr:port (retrying until timeout_s: rank 0 may start later) and reads the blob.
 * Connections that do not speak the protocol are dropped and do not count. n <= 4096. */
lf_status lf_dist_id_serve(int port, int world, const void *blob, size_t n, double timeout_s);
lf_status lf_dist_id_fetch(const char *addr, int port, int rank, int world, void *blob, size_t n, double timeout_s);

/* Supervisor of child processes (lf_dist_spawn uses it; tests give it fake children). */
typedef struct {
    double grace_s;      /* after a death before lf_dist_sup_finish: time left before the end (LF_DIST_GRACE_S) */
    int exit_on_grace;   /* 1: _exit(1) (after SIGKILL to the children) when grace_s passes; 0: only record it */
    double poll_s;       /* waitpid polling period (0.05 s) */
    FILE *log;           /* where the "died" line goes; NULL: stderr */
    /* called on the supervisor's thread when a child dies before lf_dist_sup_finish, after the
     * line is printed and before SIGTERM goes to the others; must not block for long */
    void (*on_death)(void *user, int rank, long pid, const char *why);
    void *user;
} lf_dist_sup_opts;
void lf_dist_sup_default_opts(lf_dist_sup_opts *o);

/* Watch n children (pids[i] is rank ranks[i]) from a new thread: it reaps only these pids
 * (waitpid on each, never -1). The first one that exits non-zero or by a signal is "the death"
 * (see lf_dist_sup_opts); the others get SIGTERM. */
lf_status lf_dist_supervise_pids(int n, const pid_t *pids, const int *ranks, const lf_dist_sup_opts *o, lf_dist_sup **out);
/* 1 once a child died before lf_dist_sup_finish (rank, pid and "exited with status 3" /
 * "killed by signal 9 (SIGKILL)" filled in where not NULL), else 0. Thread-safe. */
int lf_dist_sup_failed(lf_dist_sup *s, int *rank, long *pid, char *why, size_t cap);
/* 1 once grace_s passed after a death (only seen with exit_on_grace = 0). */
int lf_dist_sup_grace_expired(lf_dist_sup *s);
/* Stop supervising and free s. stop_now = 0: wait up to timeout_s for the children to exit on their
 * own; stop_now = 1 (the caller failed): SIGTERM them at once. Children still there after that get
 * SIGTERM, then SIGKILL 3 s later, and are reaped. Returns LINFER_ERR_DEVICE naming the first
 * child that died, failed, or had to be stopped after timeout_s (not those stopped by stop_now or
 * by the supervisor itself after a death), else LINFER_OK. */
lf_status lf_dist_sup_finish(lf_dist_sup *s, int stop_now, double timeout_s);

/* "exited with status 3", "killed by signal 9 (SIGKILL)", from a waitpid status. */
const char *lf_dist_wait_status_str(int wstatus, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
