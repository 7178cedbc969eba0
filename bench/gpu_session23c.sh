#!/usr/bin/env bash
# gpu_session23c.sh — one nvidia-h200 call, session 23: after 23b: no 64-bit shared-memory atomics
# (the first digit counted with warp-aggregated 32-bit atomics, masses as three 14-bit parts).
# carry: build-dev/lib build-dev/pack
exec bash "$(dirname "$0")/gpu_sampling.sh"
