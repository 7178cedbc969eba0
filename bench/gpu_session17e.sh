#!/usr/bin/env bash
# gpu_session17e.sh — one nvidia-h200-x2 call, the commands of gpu_session17d.sh after one change to
# the kernel under test (the barrier taken by the block's last thread, which stored nothing over
# NVLink, instead of thread 0): the norm after each residual all-reduce inside the push all-reduce
# kernel (lf_cuda_oneshot_allreduce_norm, session 17).
# NOT RUNNABLE AT HEAD: it ran on HEAD cabc861 + docs/results/h200x2-2026-11-21-s17e/allreduce_norm.patch;
# slower, reverted (docs/perf-notes.md, session 17).
exec bash "$(dirname "$0")/gpu_session17d.sh"
