/* common.h — helpers shared by the CLI verbs: the default model path, number parsing. */
#ifndef LF_CLI_COMMON_H
#define LF_CLI_COMMON_H
#include <stddef.h>
/* $LINFER_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf (fetched by scripts/fetch_model.sh). */
const char *cli_default_model(void);
/* Strict parsers: the whole string must be a number in [lo, hi]; print an error naming opt. */
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *opt, const char *s, double lo, double hi, double *out);
/* The commit the results come from: $LINFER_GIT_COMMIT, else `git rev-parse --short HEAD`, else
 * "unknown". */
void cli_git_commit(char *buf, size_t cap);
/* Tensor parallelism for a verb: join the job the environment names (RANK, ...), else start tp - 1
 * more ranks as copies of this process (argc/argv: the verb's, as cmd_* got them from main).
 * Ranks other than 0 get stdout on /dev/null: only rank 0 prints results. lf_dist_finish at the end. */
#include "dist/launcher.h"
lf_status cli_dist_start(int tp, int argc, char **argv, lf_dist *d);
/* This rank's place in a started job of tp x pp ranks: rank r is TP rank r % tp of stage r / tp.
 * With pp > 1 the job's communicator is pp_comm and tp_comm is NULL (the backend splits each
 * stage's TP group off it); else the job is one TP group. Returns 0, or 2 after a message when
 * the job's size does not split into groups of tp. */
typedef struct { int tp_size, tp_rank, pp_size, pp_stage; void *tp_comm, *pp_comm; } cli_rank_layout;
int cli_rank_layout_of(const char *verb, const lf_dist *d, int tp, int pp, cli_rank_layout *out);
/* `--tp LIST` of a verb: run this linfer again as a child, the verb's arguments (argc/argv as
 * cmd_* got them) with --tp replaced by N and each --json/--csv FILE by FILE with ".tp<N>" before
 * its extension (cli_tp_path); waits and returns the child's exit status. */
int cli_run_self_tp(int argc, char **argv, int tp);
void cli_tp_path(char *out, size_t cap, const char *path, int tp);
/* Ceilings of a verb's predictions (see common.c). Returns an exit code (0 ok). */
#include "linfer.h"
#include "perf/presets.h"
int cli_resolve_hw(const char *verb, linfer_device dev, int gpu_index, const char *gpu_name, const char *hw_arg, const char *calib,
                   lf_hw *hw, int *have, char *desc, size_t cap);
#endif
