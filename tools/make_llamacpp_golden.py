#!/usr/bin/env python3
"""make_llamacpp_golden.py — expected greedy output of SmolLM2-135M-Instruct Q4_1 from llama.cpp.

Reference: llama.cpp as built from source by the PyPI package llama-cpp-python (0.3.36 here),
run on the CPU. For each prompt: llama.cpp's own prompt tokens (BOS as the GGUF asks), then
N greedy tokens (argmax; no repeat penalty), their ids and decoded text, two ways:
  greedy_ids       — each step re-evaluates the whole sequence in one llama.cpp batch;
  generate_ids     — llama.cpp's incremental generate() (KV cache, one token per step).
llama.cpp's own two paths disagree on this model: on "def fibonacci(n):" after 13 tokens its
single-token decode gives logits 20.94 / 21.01 for tokens 304 / 2822 where its batched
evaluation of the same sequence gives 21.43 / 21.10, so the paths pick different tokens.
linfer's test (tests/test_generate_golden.c) requires >= 48 equal tokens against greedy_ids
and reports the agreement with generate_ids.

usage: python3 tools/make_llamacpp_golden.py [MODEL.gguf] [OUT.json]
"""
import json, sys
import numpy as np
import llama_cpp
from llama_cpp import Llama

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = sys.argv[2] if len(sys.argv) > 2 else "tests/data/golden/smollm2_q4_1_llamacpp.json"
N = 64
PROMPTS = [
    "Write a conversation between the sun and pluto",
    "The capital of France is",
    "def fibonacci(n):",
]

llm = Llama(model_path=MODEL, n_ctx=512, n_threads=2, logits_all=True, verbose=False, seed=0)
cases = []
for p in PROMPTS:
    toks = llm.tokenize(p.encode("utf-8"), add_bos=True, special=False)
    gen = []
    for t in llm.generate(toks, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
        gen.append(int(t))
        if len(gen) >= N:
            break
    out = []
    for _ in range(N):
        llm.reset()
        llm.eval(list(toks) + out)
        out.append(int(np.argmax(np.asarray(llm.scores[llm.n_tokens - 1]))))
    text = llm.detokenize(out).decode("utf-8", errors="replace")
    cases.append({"prompt": p, "prompt_ids": [int(t) for t in toks], "greedy_ids": out, "text": text,
                  "generate_ids": gen})
    print(repr(p), "->", repr(text[:80]))
json.dump({"reference": "llama.cpp via llama-cpp-python " + llama_cpp.__version__, "model": MODEL.split("/")[-1],
           "n_tokens": N, "note": "greedy continuation (argmax), no chat template, stops ignored; greedy_ids: whole-sequence re-evaluation per step, generate_ids: llama.cpp incremental decode", "cases": cases},
          open(OUT, "w"), indent=1, ensure_ascii=False)
print("wrote", OUT)
