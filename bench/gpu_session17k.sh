#!/usr/bin/env bash
# gpu_session17k.sh — one nvidia-h200-x2 call, the commands of gpu_session17i.sh after, in addition,
# the FFMA GEMV pushed each block's rows as one store per token and rank.
# NOT RUNNABLE AT HEAD: the GEMV-pushed all-reduce (docs/results/h200x2-2026-11-21-s17k/
# gemv_push_allreduce.patch is 17k's version) was slower and reverted (docs/perf-notes.md, session 17).
exec bash "$(dirname "$0")/gpu_session17i.sh"
