#!/usr/bin/env bash
# gpu_session14d.sh — gpu_session14c.sh again (log d.log), after the fused all-reduce + norm kernel
# was changed to load all of a peer's words before waiting on any.
LOG=d exec bash "$(dirname "$0")/gpu_session14c.sh"
