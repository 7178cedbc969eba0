#!/usr/bin/env bash
# fetch_vocab.sh — puts llama.cpp's tokenizer test vocabularies (and their expected token ids) in
# models/vocab/ (git-ignored), for tests/test_tokenizer.c and tools/make_tokenizer_golden.py:
#   ggml-vocab-llama-bpe.gguf(.inp/.out)  LLaMA-3 byte-level BPE
#   ggml-vocab-llama-spm.gguf(.inp/.out)  LLaMA-2 SentencePiece BPE
# They come from the llama-cpp-python 0.3.36 source distribution on PyPI
# (vendor/llama.cpp/models/). Idempotent: does nothing when all six files are there.
# LLAMA_CPP_SDIST=/path/llama_cpp_python-0.3.36.tar.gz uses an already downloaded sdist.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=models/vocab
VERSION=0.3.36
FILES=()
for v in llama-bpe llama-spm; do
    for ext in "" .inp .out; do FILES+=("ggml-vocab-$v.gguf$ext"); done
done

missing=0
for f in "${FILES[@]}"; do [ -s "$DEST/$f" ] || missing=1; done
if [ "$missing" = 0 ]; then
    echo "fetch_vocab: $DEST already has the llama.cpp vocab files"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SDIST=${LLAMA_CPP_SDIST:-}
if [ -z "$SDIST" ]; then
    echo "fetch_vocab: downloading the llama-cpp-python $VERSION sdist from PyPI (~75 MB)"
    python3 -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$TMP" >&2
    SDIST=$(ls "$TMP"/llama_cpp_python-"$VERSION".tar.gz)
fi
PREFIX="llama_cpp_python-$VERSION/vendor/llama.cpp/models"
MEMBERS=()
for f in "${FILES[@]}"; do MEMBERS+=("$PREFIX/$f"); done
mkdir -p "$TMP/x" "$DEST"
tar -xzf "$SDIST" -C "$TMP/x" "${MEMBERS[@]}"
for f in "${FILES[@]}"; do
    [ -s "$TMP/x/$PREFIX/$f" ] || { echo "fetch_vocab: $f missing from $SDIST" >&2; exit 1; }
    cp "$TMP/x/$PREFIX/$f" "$DEST/$f.part" && mv "$DEST/$f.part" "$DEST/$f"
done
echo "fetch_vocab: wrote ${#FILES[@]} files to $DEST"
