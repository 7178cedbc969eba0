#!/usr/bin/env bash
# gpu_session18g.sh — one nvidia-h200-x4 call: gpu_session18h.sh's commands without the profile,
# on a variant in the norm kernel's exact order (a thread per element, every peer's loads at
# once; 0.4 us per call slower than the landed kernel at TP 2, not kept).
# NOT RUNNABLE AS IT RAN: docs/results/h200x4-2026-11-21-s18g/allreduce_norm_exact.patch (against
# 0b8dbf2); at HEAD this runs the landed kernel.
NO_PROFILE=1 exec bash "$(dirname "$0")/gpu_session18h.sh"
