#!/usr/bin/env bash
# gpu_session23d.sh — one nvidia-h200 call, session 23: after 23c: with top_k the first sweep no
# longer sums every mass; compute-sanitizer over the sampler's checks.
# carry: build-dev/lib build-dev/pack
SANITIZE=1 exec bash "$(dirname "$0")/gpu_sampling.sh"
