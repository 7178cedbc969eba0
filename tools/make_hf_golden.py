#!/usr/bin/env python3
"""make_hf_golden.py — tiny random-weight LLaMA checkpoints and their logits from HF transformers.

Writes, for each model below, an HF directory under tests/data/hf/<name>/ (config.json,
model.safetensors in BF16 so the files stay small) and golden.json with, per prompt (random ids),
the fp32 logits of the last position computed by transformers' LlamaForCausalLM in float32, and
HF generate()'s greedy continuation. linfer (CPU, fp32) must match within 1e-4 relative error.

usage: python3 tools/make_hf_golden.py            (torch + transformers, CPU is enough)
"""
import json, os
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

MODELS = {
    # tied embeddings, GQA 8/4, rope_theta 5e5 (Llama-3 style base)
    "tiny-gqa": dict(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=8,
                     num_key_value_heads=4, vocab_size=512, rope_theta=500000.0, tie_word_embeddings=True,
                     max_position_embeddings=512, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2),
    # separate lm_head, MQA, q/k/v bias, llama3 rope scaling
    "tiny-llama3-bias": dict(hidden_size=192, intermediate_size=384, num_hidden_layers=2, num_attention_heads=6,
                     num_key_value_heads=1, vocab_size=384, rope_theta=500000.0, tie_word_embeddings=False,
                     attention_bias=True, max_position_embeddings=1024, rms_norm_eps=1e-6,
                     rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                       original_max_position_embeddings=64),
                     bos_token_id=1, eos_token_id=2),
}
PROMPT_LENS = [1, 7, 33, 100]
GEN = 16

def main():
    for name, kw in MODELS.items():
        torch.manual_seed(1234)
        cfg = LlamaConfig(**kw)
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
        with torch.no_grad():  # make norms non-trivial and biases non-zero
            for n, p in model.named_parameters():
                if "norm" in n or n.endswith("bias"):
                    p.copy_((1.0 if "norm" in n else 0.0) + 0.1 * torch.randn_like(p.float()).to(p.dtype))
        out = f"tests/data/hf/{name}"
        os.makedirs(out, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        model = LlamaForCausalLM.from_pretrained(out, torch_dtype=torch.float32).eval()
        g = torch.Generator().manual_seed(99)
        cases = []
        for L in PROMPT_LENS:
            ids = torch.randint(3, cfg.vocab_size, (1, L), generator=g)
            with torch.no_grad():
                logits = model(ids).logits[0, -1].float()
                gen = model.generate(ids, max_new_tokens=GEN, do_sample=False, min_new_tokens=GEN,
                                     pad_token_id=0, eos_token_id=None)[0, L:]
            cases.append({"prompt_ids": ids[0].tolist(), "last_logits": [float(x) for x in logits],
                          "greedy_ids": gen.tolist()})
        json.dump({"reference": f"transformers {transformers.__version__}, torch {torch.__version__}, float32, CPU",
                   "model": name, "cases": cases}, open(f"{out}/golden.json", "w"))
        print(name, "ok", [len(c["greedy_ids"]) for c in cases])

if __name__ == "__main__":
    main()
