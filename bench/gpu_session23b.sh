#!/usr/bin/env bash
# gpu_session23b.sh — one nvidia-h200 call, session 23: the sampler rewritten after 23a (short path:
# the candidates sorted in shared memory; long path: float4 sweeps, tiled index-order scans).
# carry: build-dev/lib build-dev/pack
exec bash "$(dirname "$0")/gpu_sampling.sh"
