#!/usr/bin/env bash
# gpu_session23a.sh — one nvidia-h200 call, session 23: the first GPU sampler (64-bit shared-memory
# atomics, scalar sweeps); the ids compared without fixing the linear-layer choice.
# carry: build-dev/lib build-dev/pack
FIXED_CHOICE=0 exec bash "$(dirname "$0")/gpu_sampling.sh"
