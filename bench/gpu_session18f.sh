#!/usr/bin/env bash
# gpu_session18f.sh — one nvidia-h200-x4 call: gpu_session18h.sh's commands without the profile,
# on a variant in the norm kernel's exact order (a warp per float4 slot, 16-byte stores of two
# tagged words, every peer's loads at once; slower, not kept).
# NOT RUNNABLE AS IT RAN: docs/results/h200x4-2026-11-21-s18f/allreduce_norm_float4.patch (against
# 0b8dbf2); at HEAD this runs the landed kernel.
NO_PROFILE=1 exec bash "$(dirname "$0")/gpu_session18h.sh"
