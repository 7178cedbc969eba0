#!/usr/bin/env bash
# gpu_session18e.sh — one nvidia-h200-x4 call: gpu_session18h.sh's commands without the profile,
# on a variant of the all-reduce-with-norm kernel in the norm kernel's exact order (one warp per
# block, NT/32 blocks per row, each lane all its float4s one after the other: the same bits as
# the all-reduce and the norm kernel; slower, not kept).
# NOT RUNNABLE AS IT RAN: that kernel is docs/results/h200x4-2026-11-21-s18e/allreduce_norm_onewarp.patch
# (against 0b8dbf2); at HEAD this runs the landed kernel.
NO_PROFILE=1 exec bash "$(dirname "$0")/gpu_session18h.sh"
