#!/usr/bin/env bash
# gpu_session23f.sh — one nvidia-h200 call, session 23: the second review refactor (kernel_math.h's
# warp_sum, block_sum and argmax rule shared by kernels.cu and sampling.cu) checked as 23e does, with
# every kernel test instead of the sampler's alone.
# carry: build-dev/lib build-dev/pack
ALL_KERNELS=1 exec bash "$(dirname "$0")/gpu_session23e.sh"
