#!/usr/bin/env python3
"""hf_device_golden.py — real-shape random-weight LLaMA checkpoints and HF transformers outputs,
run on the GPU machine (torch + transformers there), for tests/cuda/test_hf_device.c.

For each shape: a random HF checkpoint (LlamaForCausalLM's own initialisation, seed 0, saved in
fp16), then for each dtype (fp16, bf16) HF's last-position logits (as fp32) and greedy 32 tokens
on 8 prompts of random ids (lengths 5..200), written to OUT/<shape>-<dtype>.json, together with
the same model's float32 logits and greedy tokens ("fp32_logits", "fp32_greedy_ids"): HF in
fp16/bf16 runs RoPE, norms and the residual stream in that dtype, so its own error against fp32
is reported beside ours. Each reference model is loaded back from the saved checkpoint with
from_pretrained(dtype=...), as a user would: converting a live model with .to(float16) also
rounds its RoPE inv_freq buffer to fp16, which shifts HF's angles by up to 5e-4 relative (an
error that grows with position; it cost 3.9e-2 relative L2 at 200 tokens in our first run).

usage: python3 tools/hf_device_golden.py OUTDIR [7b,8b]
"""
import json, os, sys, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {  # LLaMA-2-7B and Llama-3-8B shapes (the latter with its 128256 vocabulary and theta)
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, vocab_size=32000, rope_theta=10000.0, rms_norm_eps=1e-5),
    "8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0, rms_norm_eps=1e-5),
}
LENS = [5, 17, 33, 64, 100, 128, 150, 200]
GEN = 32

def main():
    out = sys.argv[1]
    shapes = (sys.argv[2] if len(sys.argv) > 2 else "7b,8b").split(",")
    os.makedirs(out, exist_ok=True)
    for shape in shapes:
        t0 = time.time()
        cfg = LlamaConfig(max_position_embeddings=4096, bos_token_id=1, eos_token_id=2, **SHAPES[shape])
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = LlamaForCausalLM(cfg).to(torch.float16)
        mdir = f"{out}/{shape}"
        model.save_pretrained(mdir, max_shard_size="20GB")
        del model
        torch.cuda.empty_cache()
        g = torch.Generator().manual_seed(7)
        prompts = [torch.randint(3, cfg.vocab_size, (L,), generator=g).tolist() for L in LENS]
        ref32 = []
        model = LlamaForCausalLM.from_pretrained(mdir, dtype=torch.float32).cuda().eval()
        for p in prompts:
            ids = torch.tensor([p], device="cuda")
            with torch.no_grad():
                lg = model(ids).logits[0, -1].float().cpu()
                gen = model.generate(ids, max_new_tokens=GEN, min_new_tokens=GEN, do_sample=False,
                                     pad_token_id=0, eos_token_id=None)[0, len(p):].tolist()
            ref32.append(([round(float(x), 5) for x in lg], gen))
        del model
        torch.cuda.empty_cache()
        for dt_name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            model = LlamaForCausalLM.from_pretrained(mdir, dtype=dt).cuda().eval()
            cases = []
            for p, (lg32, gen32) in zip(prompts, ref32):
                ids = torch.tensor([p], device="cuda")
                with torch.no_grad():
                    logits = model(ids).logits[0, -1].float().cpu()
                    gen = model.generate(ids, max_new_tokens=GEN, min_new_tokens=GEN, do_sample=False,
                                         pad_token_id=0, eos_token_id=None)[0, len(p):].tolist()
                cases.append({"prompt_ids": p, "last_logits": [round(float(x), 5) for x in logits], "greedy_ids": gen,
                              "fp32_logits": lg32, "fp32_greedy_ids": gen32})
            del model
            torch.cuda.empty_cache()
            json.dump({"reference": "transformers eager on GPU", "shape": shape, "dtype": dt_name, "cases": cases},
                      open(f"{out}/{shape}-{dt_name}.json", "w"))
        print(f"hf_device_golden: {shape} done in {time.time()-t0:.1f}s", flush=True)

if __name__ == "__main__":
    main()
