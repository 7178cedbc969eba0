#!/usr/bin/env bash
# gpu_session21b.sh — one nvidia-h200 call, the same checks and A/B as gpu_session21a.sh on the
# second form of the norm fold (after 21a: slower by 0.03-0.25 ms): the plain FFMA kernels keep
# their old register choice (21a had changed it), the folded kernels held to 3 (4 loads) or 2
# (8 loads) blocks per SM, and the tuning times the folded candidates themselves (norm+IMPL).
# The fold was reverted: docs/results/h200-2026-11-22-s21b/fold_norm.patch.
# carry: build-dev/lib build-dev/pack
exec bash "$(dirname "$0")/gpu_session21a.sh"
