#!/usr/bin/env python3
"""make_fuzz_corpus.py — the committed seed corpora of the libFuzzer targets (fuzz/, docs/fuzzing.md).

Writes small valid inputs (each < 64 KiB, all together well under 2 MB) into tests/data/fuzz/:

  fuzz_safetensors/   safetensors files: F32/F16/BF16/I32, scalars, empty tensors, 8 dims,
                      __metadata__, header padding; one written by the `safetensors` package
  fuzz_gguf/          GGUF v2/v3: metadata of every value type, empty and nested arrays (3 deep),
                      general.alignment, tensors F32/F16/BF16/I32/Q8_0/Q4_0/Q4_1; one written by the
                      `gguf` package (gguf-py); tokenizer metadata ("gpt2" with llama3/smollm/default
                      pre-tokenizers, and "llama" SentencePiece with scores and token types) cut
                      down to a few hundred tokens from tests/data/tokenizer/*/tokenizer.json
  fuzz_config/        tests/data/hf/*/config.json plus variants (rope_scaling llama3/linear,
                      rope_parameters, eos lists, mistral, head_dim, minimal)
  fuzz_tokenizer_json/ tokenizer.json files of ~1000 tokens: byte-level BPE (SmolLM2 / LLaMA-3 /
                      GPT-2 layouts) and SentencePiece-style BPE (normalizer or Metaspace), with
                      added tokens, Digits, Split, NFKC, TemplateProcessing; each checked to load
                      in HF `tokenizers` when the package is installed
  fuzz_encode/        byte 0 = flags (bit 0 add_bos, bit 1 parse_special, bits 2-3 tokenizer),
                      then text: English, Chinese, emoji, code, whitespace runs, special tokens
  fuzz_decode/        byte 0 = flags (bit 0 with_special, bits 1-2 tokenizer, bit 3 raw ids,
                      bits 4-7 output buffer), then int32 ids (valid, byte tokens, out of range)
  fuzz_model_load/    whole tiny models for lf_model_load: HF directories (single file, sharded with
                      an index, biases + untied head, generation/tokenizer configs) and GGUF files
                      (byte 0 = flags, then [name index][u32 length][bytes] per file)
  regressions/        (--regressions) minimal inputs of the crashes found, replayed by fuzz-short

The two tok-*.gguf files in fuzz_gguf/ are also loaded by fuzz_encode/fuzz_decode as fixed
tokenizers 2 and 3, so keep their names. Deterministic: running it again gives the same bytes.

  python3 tools/make_fuzz_corpus.py                 # rewrite tests/data/fuzz/<target>/ (not regressions/)
  python3 tools/make_fuzz_corpus.py --regressions   # also rewrite the hand-made regression inputs
"""
import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "fuzz")
TOKDIR = os.path.join(ROOT, "tests", "data", "tokenizer")
MAX_SEED = 64 * 1024

written = []


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert len(data) < MAX_SEED, f"{target}/{name}: {len(data)} bytes, over the 64 KiB seed limit"
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    written.append((target, name, len(data)))


# ---- safetensors ---------------------------------------------------------------------------------
def st_file(tensors, metadata=None, pad_to=8, raw_header=None):
    """tensors: list of (name, dtype, shape, bytes); laid out contiguously in list order."""
    hdr = {}
    if metadata is not None:
        hdr["__metadata__"] = metadata
    off = 0
    data = b""
    for name, dt, shape, b in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        data += b
    h = (raw_header if raw_header is not None else json.dumps(hdr, separators=(",", ":"))).encode()
    h += b" " * ((-len(h)) % pad_to)
    return struct.pack("<Q", len(h)) + h + data


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def f16(*v):
    return struct.pack(f"<{len(v)}e", *v)


def bf16(*v):
    return b"".join(struct.pack("<f", x)[2:] for x in v)


def i32(*v):
    return struct.pack(f"<{len(v)}i", *v)


def tiny_llama_tensors(embed_dt, embed_fn, embed_div, layer_dt, layer_fn):
    """Tensors of a 1-layer LLaMA (dim 8, 1 KV head of 4, ffn 16, vocab 16), names as load_hf.c
    looks them up: embedding i / embed_div in embed_dt, norms 1.0 (F32), layer weights in layer_dt."""
    dim, ffn, vocab = 8, 16, 16
    tens = [("model.embed_tokens.weight", embed_dt, [vocab, dim], embed_fn(*[i / embed_div for i in range(vocab * dim)])),
            ("model.norm.weight", "F32", [dim], f32(*[1.0] * dim))]
    for name, shape in [("input_layernorm.weight", [dim]), ("post_attention_layernorm.weight", [dim]),
                        ("self_attn.q_proj.weight", [dim, dim]), ("self_attn.k_proj.weight", [4, dim]),
                        ("self_attn.v_proj.weight", [4, dim]), ("self_attn.o_proj.weight", [dim, dim]),
                        ("mlp.gate_proj.weight", [ffn, dim]), ("mlp.up_proj.weight", [ffn, dim]),
                        ("mlp.down_proj.weight", [dim, ffn])]:
        n = 1
        for x in shape:
            n *= x
        tens.append(("model.layers.0." + name, layer_dt, shape, layer_fn(*[((i * 37) % 11 - 5) / 8 for i in range(n)])))
    return tens


def make_safetensors():
    t = "fuzz_safetensors"
    put(t, "basic.safetensors", st_file([
        ("a.weight", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6)),
        ("b.bias", "F16", [4], f16(0.5, -1, 65504, 1e-7)),
    ], metadata={"format": "pt", "note": "seed"}))
    put(t, "all-dtypes.safetensors", st_file([
        ("x.f32", "F32", [1], f32(3.25)),
        ("x.f16", "F16", [2, 1], f16(1.0, -2.0)),
        ("x.bf16", "BF16", [3], bf16(1.0, -0.5, 1e30)),
        ("x.i32", "I32", [2], i32(-1, 2 ** 31 - 1)),
    ]))
    put(t, "scalar-and-empty.safetensors", st_file([
        ("scalar", "F32", [], f32(42)),
        ("empty", "F16", [0, 5], b""),
        ("after", "I32", [1], i32(7)),
    ]))
    put(t, "eight-dims.safetensors", st_file([("t", "F16", [1, 2, 1, 2, 1, 1, 2, 1], f16(*range(8)))]))
    put(t, "no-tensors.safetensors", st_file([], raw_header="{}"))
    put(t, "metadata-only.safetensors", st_file([], metadata={"format": "pt"}))
    # tensors listed out of offset order, header padded with spaces (as the format allows)
    h = ('{"z":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},'
         '"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')
    put(t, "out-of-order.safetensors", struct.pack("<Q", 128) + (h + " " * (128 - len(h))).encode() + f32(1, 2, 3, 4))
    # a tiny LLaMA-shaped checkpoint (names as load_hf.c looks them up)
    tens = tiny_llama_tensors("BF16", bf16, 7, "F16", f16)
    put(t, "tiny-llama.safetensors", st_file(tens, metadata={"format": "pt"}))
    try:
        import numpy as np
        from safetensors.numpy import save
        put(t, "pkg-written.safetensors", save({
            "w": np.arange(12, dtype=np.float32).reshape(3, 4),
            "h": np.array([1.5, -2.25], dtype=np.float16),
            "i": np.array([[1, -2], [3, 4]], dtype=np.int32),
        }, metadata={"format": "np"}))
    except ImportError:
        print("note: `safetensors`/numpy not installed, pkg-written.safetensors not made", file=sys.stderr)


# ---- GGUF ----------------------------------------------------------------------------------------
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
PACK = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q",
        I64: "<q", F64: "<d"}
GG_F32, GG_F16, GG_Q4_0, GG_Q4_1, GG_Q8_0, GG_I32, GG_BF16 = 0, 1, 2, 3, 8, 26, 30


def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == STRING:
        return gstr(v)
    if t == ARRAY:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gval(et, x) for x in items)
    return struct.pack(PACK[t], v)


def gguf_file(kvs, tensors=(), version=3, alignment=32):
    """kvs: [(key, type, value)], ARRAY value = (elem_type, [items]); tensors: [(name, ne, ggml_type, bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    offs, off = [], 0
    for _, _, _, data in tensors:
        offs.append(off)
        off = (off + len(data) + alignment - 1) // alignment * alignment
    for (name, ne, gt, _), o in zip(tensors, offs):
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", x) for x in ne) + struct.pack("<IQ", gt, o)
    if tensors:
        out += b"\0" * ((-len(out)) % alignment)
        base = len(out)
        for (_, _, _, data), o in zip(tensors, offs):
            out += b"\0" * (base + o - len(out)) + data
    return out


def q8_0(nblocks):
    return b"".join(struct.pack("<e", 0.05 * (b + 1)) + bytes((j * 9 + b) % 256 for j in range(32)) for b in range(nblocks))


def q4_0(nblocks):
    return b"".join(struct.pack("<e", 0.1 * (b + 1)) + bytes((j * 17 + b) % 256 for j in range(16)) for b in range(nblocks))


def q4_1(nblocks):
    return b"".join(struct.pack("<ee", 0.02, -0.3 * b) + bytes((j * 29 + b) % 256 for j in range(16)) for b in range(nblocks))


def sample_tensors():
    return [
        ("t.f32", [4, 2], GG_F32, f32(*range(8))),
        ("t.f16", [8], GG_F16, f16(*[i / 4 for i in range(8)])),
        ("t.q8_0", [32, 2], GG_Q8_0, q8_0(2)),
        ("t.q4_0", [64], GG_Q4_0, q4_0(2)),
        ("t.q4_1", [32, 1, 1, 1], GG_Q4_1, q4_1(1)),
        ("t.bf16", [2, 2], GG_BF16, bf16(1, 2, 3, 4)),
        ("t.i32", [3], GG_I32, i32(1, -2, 3)),
    ]


def make_gguf():
    t = "fuzz_gguf"
    every = [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, "fuzz seed \u2581 \u4f60\u597d"),
        ("v.u8", U8, 200), ("v.i8", I8, -100), ("v.u16", U16, 60000), ("v.i16", I16, -30000),
        ("v.u32", U32, 4000000000), ("v.i32", I32, -2000000000), ("v.f32", F32, 3.5), ("v.bool", BOOL, True),
        ("v.string", STRING, "hello"), ("v.u64", U64, 2 ** 63 + 5), ("v.i64", I64, -(2 ** 62)), ("v.f64", F64, -1536.25),
        ("v.empty_string", STRING, ""),
        ("a.u8", ARRAY, (U8, [0, 1, 255])), ("a.i8", ARRAY, (I8, [-128, 127])), ("a.u16", ARRAY, (U16, [1, 65535])),
        ("a.i16", ARRAY, (I16, [-1, 1])), ("a.u32", ARRAY, (U32, [1, 2, 3])), ("a.i32", ARRAY, (I32, [-5, 5])),
        ("a.f32", ARRAY, (F32, [0.5, -0.25, 1e10])), ("a.bool", ARRAY, (BOOL, [True, False])),
        ("a.string", ARRAY, (STRING, ["a", "", "\u00e9\u00e8"])), ("a.u64", ARRAY, (U64, [2 ** 64 - 1])),
        ("a.i64", ARRAY, (I64, [-1, 2 ** 40])), ("a.f64", ARRAY, (F64, [1.0, 2.5])),
        ("a.empty", ARRAY, (U32, [])), ("a.empty_strings", ARRAY, (STRING, [])),
        ("a.nested", ARRAY, (ARRAY, [(U32, [1, 2]), (U32, []), (U32, [3])])),
        ("a.nested_strings", ARRAY, (ARRAY, [(STRING, ["x", "yz"]), (STRING, [])])),
        ("a.nested3", ARRAY, (ARRAY, [(ARRAY, [(STRING, ["deep"]), (F64, [1.0])]), (ARRAY, [])])),
        ("general.alignment", U32, 64),
    ]
    put(t, "every-type-v3.gguf", gguf_file(every, sample_tensors(), version=3, alignment=64))
    put(t, "metadata-only-v2.gguf", gguf_file(every[:16], (), version=2))
    put(t, "empty-v3.gguf", gguf_file([], ()))
    put(t, "tensors-only.gguf", gguf_file([], sample_tensors()[:3]))
    # a tiny llama model's metadata + tensors, as convert_hf_to_gguf.py lays them out
    llama = [("general.architecture", STRING, "llama"), ("llama.context_length", U32, 128),
             ("llama.embedding_length", U32, 32), ("llama.block_count", U32, 1), ("llama.feed_forward_length", U32, 64),
             ("llama.attention.head_count", U32, 4), ("llama.attention.head_count_kv", U32, 2),
             ("llama.rope.freq_base", F32, 10000.0), ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
             ("llama.vocab_size", U32, 32), ("general.file_type", U32, 7)]
    tens = [("token_embd.weight", [32, 32], GG_Q8_0, q8_0(32)), ("output_norm.weight", [32], GG_F32, f32(*[1.0] * 32)),
            ("blk.0.attn_norm.weight", [32], GG_F32, f32(*[1.0] * 32)),
            ("blk.0.attn_q.weight", [32, 32], GG_Q4_0, q4_0(32)), ("blk.0.attn_k.weight", [32, 16], GG_Q4_1, q4_1(16)),
            ("blk.0.attn_v.weight", [32, 16], GG_F16, f16(*[0.01 * i for i in range(512)])),
            ("blk.0.attn_output.weight", [32, 32], GG_Q8_0, q8_0(32)),
            ("blk.0.ffn_norm.weight", [32], GG_F32, f32(*[1.0] * 32)),
            ("blk.0.ffn_gate.weight", [32, 64], GG_Q4_0, q4_0(64)), ("blk.0.ffn_up.weight", [32, 64], GG_Q4_0, q4_0(64)),
            ("blk.0.ffn_down.weight", [64, 32], GG_Q8_0, q8_0(64))]
    put(t, "tiny-llama.gguf", gguf_file(llama, tens))
    try:
        put(t, "pkg-written.gguf", gguf_py_file())
    except ImportError:
        print("note: `gguf` (gguf-py) not installed, pkg-written.gguf not made", file=sys.stderr)
    make_gguf_tokenizers(t)


def gguf_py_file():
    import tempfile
    import numpy as np
    import gguf
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.gguf")
        w = gguf.GGUFWriter(path, "llama")
        w.add_context_length(64)
        w.add_embedding_length(32)
        w.add_block_count(1)
        w.add_head_count(4)
        w.add_uint8("x.u8", 7)
        w.add_int64("x.i64", -3)
        w.add_float64("x.f64", 0.125)
        w.add_bool("x.bool", False)
        w.add_array("x.strs", ["one", "two"])
        w.add_array("x.nested", [[1, 2], [3]])
        w.add_tensor("w.f32", np.arange(8, dtype=np.float32).reshape(2, 4))
        w.add_tensor("w.f16", np.arange(32, dtype=np.float16))
        w.add_tensor("w.q8_0", np.frombuffer(q8_0(2), dtype=np.uint8).reshape(1, 68), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor("w.q4_0", np.frombuffer(q4_0(1), dtype=np.uint8).reshape(1, 18), raw_dtype=gguf.GGMLQuantizationType.Q4_0)
        w.add_tensor("w.q4_1", np.frombuffer(q4_1(1), dtype=np.uint8).reshape(1, 20), raw_dtype=gguf.GGMLQuantizationType.Q4_1)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(path, "rb") as f:
            return f.read()


def load_tok(name):
    with open(os.path.join(TOKDIR, name, "tokenizer.json"), encoding="utf-8") as f:
        return json.load(f)


def bpe_subset(tj, n_tokens, max_merges=None):
    """First n_tokens ids of a BPE tokenizer.json and the merges that stay inside them."""
    vocab = tj["model"]["vocab"]
    inv = {i: s for s, i in vocab.items()}
    keep = {inv[i]: i for i in range(n_tokens) if i in inv}
    merges = []
    for m in tj["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in keep and b in keep and a + b in keep:
            merges.append((a, b))
            if max_merges and len(merges) >= max_merges:
                break
    return keep, merges


def make_gguf_tokenizers(t):
    sm = load_tok("smollm2")
    keep, merges = bpe_subset(sm, 640)
    tokens = [s for s, _ in sorted(keep.items(), key=lambda kv: kv[1])]
    assert len(tokens) == 640
    specials = {a["content"] for a in sm["added_tokens"]}
    types = [3 if s in specials else 1 for s in tokens]
    base = [("general.architecture", STRING, "llama"), ("tokenizer.ggml.model", STRING, "gpt2"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)), ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
            ("tokenizer.ggml.merges", ARRAY, (STRING, [a + " " + b for a, b in merges])),
            ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2),
            ("tokenizer.ggml.padding_token_id", U32, 2)]
    put(t, "tok-gpt2-llama3.gguf", gguf_file(base + [("tokenizer.ggml.pre", STRING, "llama-bpe"),
                                                     ("tokenizer.ggml.add_bos_token", BOOL, True)]))
    put(t, "tok-gpt2-smollm.gguf", gguf_file(base[:1] + [("tokenizer.ggml.model", STRING, "gpt2"),
                                                        ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens[:420])),
                                                        ("tokenizer.ggml.merges", ARRAY, (STRING, [a + " " + b for a, b in merges if keep[a + b] < 420]))] +
                                             [("tokenizer.ggml.pre", STRING, "smollm")]))
    put(t, "tok-gpt2-qwen2.gguf", gguf_file(base + [("tokenizer.ggml.pre", STRING, "qwen2")]))

    sp = load_tok("llama-spm")
    keep, _ = bpe_subset(sp, 700, max_merges=1)
    tokens = [s for s, _ in sorted(keep.items(), key=lambda kv: kv[1])]
    types, scores = [], []
    for i, s in enumerate(tokens):
        if s == "<unk>":
            types.append(2)
        elif s in ("<s>", "</s>"):
            types.append(3)
        elif len(s) == 6 and s.startswith("<0x") and s.endswith(">"):
            types.append(6)
        else:
            types.append(1)
        scores.append(0.0 if types[-1] != 1 else -float(i))
    tokens.append("<|user|>")  # a user-defined token (type 4)
    types.append(4)
    scores.append(0.0)
    spm = [("general.architecture", STRING, "llama"), ("tokenizer.ggml.model", STRING, "llama"),
           ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)), ("tokenizer.ggml.scores", ARRAY, (F32, scores)),
           ("tokenizer.ggml.token_type", ARRAY, (I32, types)), ("tokenizer.ggml.bos_token_id", U32, 1),
           ("tokenizer.ggml.eos_token_id", U32, 2), ("tokenizer.ggml.unknown_token_id", U32, 0),
           ("tokenizer.ggml.add_bos_token", BOOL, True), ("tokenizer.ggml.add_eos_token", BOOL, False)]
    put(t, "tok-llama-spm.gguf", gguf_file(spm))
    put(t, "tok-llama-spm-noprefix-v2.gguf", gguf_file(spm[:3] + [("tokenizer.ggml.scores", ARRAY, (F64, scores[:-1] + [1.5])),
                                                                   ("tokenizer.ggml.token_type", ARRAY, (U8, [min(x, 255) for x in types])),
                                                                   ("tokenizer.ggml.add_space_prefix", BOOL, False)], version=2))


# ---- config.json ---------------------------------------------------------------------------------
def make_config():
    t = "fuzz_config"
    hf = os.path.join(ROOT, "tests", "data", "hf")
    base = None
    for d in sorted(os.listdir(hf)):
        p = os.path.join(hf, d, "config.json")
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw = f.read()
            put(t, f"hf-{d}.json", raw)
            if base is None:
                base = json.loads(raw)
    llama2 = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 172,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 320,
              "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "bos_token_id": 1,
              "eos_token_id": 2, "tie_word_embeddings": False, "hidden_act": "silu", "rope_scaling": None,
              "pretraining_tp": 1, "attention_bias": False, "mlp_bias": False}
    put(t, "llama2.json", json.dumps(llama2, indent=2))
    v = dict(llama2, rope_theta=500000.0, num_key_value_heads=2, eos_token_id=[2, 3, 4],
             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                           "original_max_position_embeddings": 8192}, max_position_embeddings=131072)
    put(t, "llama3-rope-scaling.json", json.dumps(v))
    v = dict(llama2, rope_scaling={"type": "linear", "factor": 2.0})
    put(t, "linear-rope-scaling.json", json.dumps(v))
    v = dict(llama2)
    del v["rope_theta"], v["rope_scaling"]
    v["rope_parameters"] = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
                            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    put(t, "rope-parameters-llama3.json", json.dumps(v))
    v["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e6}
    put(t, "rope-parameters-default.json", json.dumps(v))
    v = dict(llama2, model_type="mistral", architectures=["MistralForCausalLM"], sliding_window=None, head_dim=16,
             num_key_value_heads=1, eos_token_id=None, bos_token_id=None, tie_word_embeddings=True)
    put(t, "mistral.json", json.dumps(v))
    v = {k: llama2[k] for k in ("model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                                "num_attention_heads", "vocab_size")}
    put(t, "minimal.json", json.dumps(v, separators=(",", ":")))
    v = dict(llama2, attention_bias=True, sliding_window=4096, max_position_embeddings=4096, torch_dtype="bfloat16",
             extra={"nested": [1, 2, {"x": None}]})
    put(t, "bias-window.json", json.dumps(v))


# ---- tokenizer.json ------------------------------------------------------------------------------
def added(i, content, special=True, **kw):
    d = {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": not special, "special": special}
    d.update(kw)
    return d


def tj(model, added_tokens, normalizer=None, pre=None, post=None, decoder=None):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre, "post_processor": post, "decoder": decoder, "model": model}


def bpe_model(vocab, merges, pairs=True, **kw):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
         "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
         "merges": [[a, b] for a, b in merges] if pairs else [a + " " + b for a, b in merges]}
    m.update(kw)
    return m


def make_tokenizer_json():
    t = "fuzz_tokenizer_json"
    sm = load_tok("smollm2")
    keep, merges = bpe_subset(sm, 1000)
    specials = [a for a in sm["added_tokens"] if a["id"] < 1000][:6]
    bl_pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    bl_dec = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    files = {}
    files["smollm2-small.json"] = tj(bpe_model(keep, merges), specials,
                                     pre={"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl_pre]},
                                     post=dict(bl_dec, add_prefix_space=True, trim_offsets=False), decoder=bl_dec)
    llama3_re = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
    files["llama3-style.json"] = tj(
        bpe_model(keep, merges, pairs=False, ignore_merges=True),
        [added(0, "<|begin_of_text|>"), added(1, "<|end_of_text|>"), added(2, "<|eot_id|>", lstrip=True, rstrip=True),
         added(1000, "hello", special=False, normalized=False, single_word=True)],
        pre={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": llama3_re}, "behavior": "Isolated", "invert": False},
            dict(bl_pre, use_regex=False)]},
        post={"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                                       {"Sequence": {"id": "A", "type_id": 0}}],
              "pair": [], "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [0],
                                                                   "tokens": ["<|begin_of_text|>"]}}},
        decoder=bl_dec)
    files["gpt2-style-nfkc.json"] = tj(
        bpe_model(keep, merges[:300]),
        [added(0, "<|endoftext|>"), added(1000, "[MASK]", special=False, lstrip=True, rstrip=True),
         added(1001, "word", special=False, single_word=True)],
        normalizer={"type": "NFKC"}, pre=dict(bl_pre, add_prefix_space=True),
        post={"type": "Sequence", "processors": [dict(bl_dec, trim_offsets=False)]}, decoder=bl_dec)
    files["split-behaviors.json"] = tj(
        bpe_model(keep, merges[:200]), [],
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s{2,}"}, "content": " "}]},
        pre={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": ","}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[.!?]"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"Regex": "-"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\p{P}"}, "behavior": "Contiguous", "invert": True},
            {"type": "Digits", "individual_digits": False},
            dict(bl_pre, add_prefix_space=False)]},
        decoder={"type": "Sequence", "decoders": [bl_dec]})

    sp = load_tok("llama-spm")
    keep, merges = bpe_subset(sp, 1000)
    sp_specials = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")]
    sp_model = dict(bpe_model(keep, merges), unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    sp_dec = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                               {"type": "ByteFallback"}, {"type": "Fuse"},
                                               {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    sp_post = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                        {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    files["llama-spm-small.json"] = tj(
        sp_model, sp_specials,
        normalizer={"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        post=sp_post, decoder=sp_dec)
    files["llama-spm-metaspace.json"] = tj(
        dict(sp_model, fuse_unk=False), sp_specials + [added(1000, "<|user|>", special=False, normalized=True)],
        pre={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
        post=sp_post,
        decoder={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False})
    files["spm-metaspace-split-unk.json"] = tj(
        dict(sp_model, byte_fallback=False, vocab={k: v for k, v in keep.items() if not k.startswith("<0x")} | {"<0x41>": 65}),
        sp_specials,
        normalizer={"type": "NFD"},
        pre={"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                   {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                                                    "split": True}]},
        decoder={"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
                                                  {"type": "ByteFallback"}]})
    tiny_vocab = {"a": 0, "b": 1, "ab": 2, "<unk>": 3, "\u00e9" * 400: 4}
    files["tiny.json"] = tj(bpe_model(tiny_vocab, [("a", "b")], unk_token="<unk>"), [added(3, "<unk>")])
    # regex corners: [:posix:] classes and a literal ] in classes (the \s rewrite), empty matches
    # in a Replace regex, NFKD, every Split behaviour, raw added tokens with lstrip/rstrip/single_word
    files["regex-corners.json"] = tj(
        bpe_model(keep, merges[:50], unk_token="<unk>"),
        [added(0, "<unk>"), added(1000, "<mask>", lstrip=True, rstrip=True),
         added(1001, "foo", special=False, single_word=True, normalized=False)],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "NFKD"}, {"type": "Replace", "pattern": {"Regex": "x*"}, "content": "-"},
            {"type": "Replace", "pattern": {"Regex": "[[:digit:]]\\s"}, "content": "#"}]},
        pre={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[[:alpha:]]+|[^]a-c\\s]|\\S"}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": "(a)(b)?"}, "behavior": "MergedWithNext", "invert": True},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]},
        decoder={"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                  {"type": "ByteFallback"}, {"type": "Strip", "content": " ", "start": 2, "stop": 0}]})

    try:
        from tokenizers import Tokenizer
    except ImportError:
        Tokenizer = None
        print("note: `tokenizers` not installed, seeds not cross-checked", file=sys.stderr)
    for name, obj in files.items():
        # the SentencePiece seeds drop the <0xNN> tokens of fuzzed-away ids; keep ids dense where HF needs it
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        if Tokenizer is not None:
            try:
                Tokenizer.from_str(text).encode("Hello, world! 123 caf\u00e9 \u4f60\u597d")
            except Exception as e:  # noqa: BLE001 — report, still write: the C loader is what is fuzzed
                print(f"note: HF tokenizers does not load {name}: {e}", file=sys.stderr)
        put(t, name, text)
    # JSON, NUL, flags, text: fuzz_tokenizer_json encodes that text with the loaded tokenizer too
    extra = {"gpt2-style-nfkc.json": "x  [MASK]  y word, words; sword _word 3word [MASK]",
             "llama3-style.json": "say hello, hellos, <|eot_id|>  \t<|eot_id|>x hello_ <|begin_of_text|>",
             "regex-corners.json": "foo <mask>  bar food 12 3\u2460 xx abc ]] \uff21 <mask>foo",
             "tiny.json": "abab a\u00e9\u00e9 zz ab"}
    for name, k in (("tiny.json", 0), ("smollm2-small.json", 2), ("llama-spm-metaspace.json", 10), ("split-behaviors.json", 4),
                    ("gpt2-style-nfkc.json", 1), ("llama3-style.json", 3), ("regex-corners.json", 2)):
        text = json.dumps(files[name], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        body = extra.get(name, TEXTS[k]) if name != "tiny.json" else TEXTS[k]
        put(t, name.replace(".json", "+text"), text + b"\0" + bytes([k & 3]) + body.encode("utf-8"))
    put(t, "tiny+special-text", json.dumps(files["tiny.json"], ensure_ascii=False).encode("utf-8") + b"\0\x03" +
        extra["tiny.json"].encode("utf-8"))


# ---- encode / decode -----------------------------------------------------------------------------
TEXTS = [
    "Hello world",
    " Hello world! How's it going? I'm fine, they'll see, we've done, you'd know, it's OK.",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u6211\u4eec\u6765\u6d4b\u8bd5\u4e2d\u6587\u5206\u8bcd\u3002",
    "\U0001F600\U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467 \u2764\ufe0f \U0001F1EB\U0001F1F7",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\tif (a->b && c != d) { printf(\"%d\\n\", 42); }\n",
    "    leading and trailing   \t\t\n\n\r\n   ",
    "<s>[INST] hi [/INST]</s><|endoftext|><|im_start|>user\nhello<|im_end|>\n<|begin_of_text|><unk>",
    "1234567890 3.14159 -42 1e10 0x1F 2024-01-01",
    "caf\u00e9 cafe\u0301 \u00c5ngstr\u00f6m \uff21\uff22\uff23 \ufb01 \u2460 \u2581already\u2581spaced",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u3053\u3093\u306b\u3061\u306f \ud55c\uad6d\uc5b4 \u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439",
    "a" * 300 + " " + "ab" * 100,
    "\u00a0\u2000\u3000\u200b\u180e\u2028x\u0085y",
    "",
    "\x00\x01\x7f control",
]


def make_encode():
    t = "fuzz_encode"
    for i, text in enumerate(TEXTS):
        for tok in range(4):
            flags = (tok << 2) | (i % 4)
            put(t, f"text{i:02d}-tok{tok}", bytes([flags]) + text.encode("utf-8"))
    # a few golden inputs of the C tokenizer tests (hex-encoded text in the first column)
    for tok, name in ((0, "smollm2"), (1, "llama-spm")):
        p = os.path.join(TOKDIR, name, "golden.tsv")
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8") as f:
            rows = [ln.split("\t")[0] for ln in f if ln.strip()]
        for k, h in enumerate(rows[5:200:13]):
            b = bytes.fromhex(h)
            if len(b) < 2048:
                put(t, f"golden-{name}-{k:02d}", bytes([(tok << 2) | 2]) + b)
    put(t, "invalid-utf8", bytes([0]) + b"ok \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82")


def ids_seed(flags, ids):
    return bytes([flags]) + b"".join(struct.pack("<i", x) for x in ids)


def make_decode():
    t = "fuzz_decode"
    RAW = 8

    def golden_ids(name, n):
        p = os.path.join(TOKDIR, name, "golden.tsv")
        out = []
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                for ln in f:
                    cols = ln.rstrip("\n").split("\t")
                    if len(cols) > 1 and cols[1]:
                        out.append([int(x) for x in cols[1].split()])
                    if len(out) >= n:
                        break
        return out

    for k, ids in enumerate(golden_ids("smollm2", 40)[::4]):
        put(t, f"smollm2-golden{k:02d}", ids_seed(RAW | (k & 1) | ((k % 16) << 4 & 0xF0), ids[:400]))
    for k, ids in enumerate(golden_ids("llama-spm", 40)[::4]):
        put(t, f"spm-golden{k:02d}", ids_seed(RAW | 2 | (k & 1) | ((k % 16) << 4 & 0xF0), ids[:400]))
    # byte-fallback runs: <0xE4><0xBD><0xA0> = U+4F60 is id 3 + byte; cut sequences and stray continuations
    b = lambda *xs: [3 + x for x in xs]  # noqa: E731
    put(t, "spm-bytes-valid", ids_seed(RAW | 2, [1] + b(0xE4, 0xBD, 0xA0) + [15043] + b(0xF0, 0x9F, 0x98, 0x80)))
    put(t, "spm-bytes-cut", ids_seed(RAW | 2 | 0x70, b(0xE4, 0xBD) + [3186] + b(0xA0, 0xA0, 0xFF, 0xC0, 0x80) + b(0xF0)))
    put(t, "gguf-spm-bytes", ids_seed(RAW | 4 | 1, [1, 2, 0] + b(0xE4, 0xBD, 0xA0, 0xE4) + [300, 301, 699, 700]))
    put(t, "smollm2-partial", ids_seed(RAW | 0x20, [17 + 0xE4 - 0x21, 5000, 100, 49151, 0, 1, 2]))
    put(t, "out-of-range", ids_seed(RAW | 1, [-1, 0, 49152, 2 ** 31 - 1, -(2 ** 31), 17, 32000, 49151]))
    put(t, "gguf-gpt2-range", ids_seed(RAW | 6, [0, 1, 2, 639, 640, -2, 300]))
    put(t, "folded", bytes([0x10]) + bytes(range(256)))
    put(t, "folded-spm", bytes([0x12 | 0x90]) + bytes(range(255, -1, -1)))
    put(t, "empty", bytes([RAW]))


# ---- whole models (fuzz_model_load) ------------------------------------------------------------
MODEL_NAMES = ["config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json", "model.safetensors",
               "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
               "a.st", "a-much-longer-shard-file-name-than-the-directory-path.safetensors", "model.gguf"]


def model_input(flags, files):
    """fuzz_model_load's input: flags, then [name index][u32 length][bytes] per file."""
    out = bytes([flags])
    for name, data in files:
        data = data.encode("utf-8") if isinstance(data, str) else data
        out += bytes([MODEL_NAMES.index(name)]) + struct.pack("<I", len(data)) + data
    return out


def tiny_hf_model():
    """config.json and the tensors of a 1-layer LLaMA (dim 8, 2 heads of 4, 1 KV head, ffn 16, vocab 16)."""
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
           "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16,
           "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "bos_token_id": 0,
           "eos_token_id": 1, "tie_word_embeddings": True, "hidden_act": "silu"}
    return cfg, tiny_llama_tensors("F32", f32, 64, "BF16", bf16)


def tiny_tokenizer_json():
    vocab = {c: i for i, c in enumerate("abcdefghijklmn")}
    vocab["ab"] = 14
    vocab["<s>"] = 15
    return json.dumps(tj(bpe_model(vocab, [("a", "b")]), [added(15, "<s>")],
                         post={"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                        {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [], "special_tokens": {}}))


def make_model_load():
    t = "fuzz_model_load"
    cfg, tens = tiny_hf_model()
    st = st_file(tens, metadata={"format": "pt"})
    gen = json.dumps({"bos_token_id": 0, "eos_token_id": [1, 2]})
    tcfg = json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "n", "add_bos_token": True})
    put(t, "hf-single", model_input(0, [("config.json", json.dumps(cfg)), ("model.safetensors", st)]))
    put(t, "hf-single-tokenizer", model_input(1, [("config.json", json.dumps(cfg)), ("generation_config.json", gen),
                                                  ("tokenizer_config.json", tcfg), ("tokenizer.json", tiny_tokenizer_json()),
                                                  ("model.safetensors", st)]))
    half = len(tens) // 2
    s1, s2 = st_file(tens[:half]), st_file(tens[half:])
    wm = {name: ("model-00001-of-00002.safetensors" if i < half else "model-00002-of-00002.safetensors")
          for i, (name, _, _, _) in enumerate(tens)}
    index = json.dumps({"metadata": {"total_size": len(s1) + len(s2)}, "weight_map": wm})
    put(t, "hf-sharded", model_input(1, [("config.json", json.dumps(cfg)), ("model.safetensors.index.json", index),
                                         ("model-00001-of-00002.safetensors", s1), ("model-00002-of-00002.safetensors", s2),
                                         ("tokenizer.json", tiny_tokenizer_json())]))
    cfg_untied = dict(cfg, tie_word_embeddings=False, attention_bias=True)
    extra = [("lm_head.weight", "F16", [16, 8], f16(*[0.0] * 128)),
             ("model.layers.0.self_attn.q_proj.bias", "F32", [8], f32(*[0.0] * 8)),
             ("model.layers.0.self_attn.k_proj.bias", "F32", [4], f32(*[0.0] * 4)),
             ("model.layers.0.self_attn.v_proj.bias", "F32", [4], f32(*[0.0] * 4)),
             ("model.layers.0.self_attn.o_proj.bias", "F32", [8], f32(*[0.0] * 8)),
             ("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", [2], f32(1.0, 0.01))]
    put(t, "hf-bias-untied", model_input(0, [("config.json", json.dumps(cfg_untied)), ("model.safetensors", st_file(tens + extra))]))
    # GGUF: tiny llama + a 'llama' (SentencePiece) tokenizer of 32 tokens
    tokens = ["<unk>", "<s>", "</s>"] + ["\u2581" + c for c in "abcdefghijklm"] + list("abcdefghijklmnop")
    gg = [("general.architecture", STRING, "llama"), ("llama.context_length", U32, 128), ("llama.embedding_length", U32, 32),
          ("llama.block_count", U32, 1), ("llama.feed_forward_length", U32, 64), ("llama.attention.head_count", U32, 4),
          ("llama.attention.head_count_kv", U32, 2), ("llama.rope.freq_base", F32, 10000.0),
          ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5), ("llama.rope.dimension_count", U32, 8),
          ("tokenizer.ggml.model", STRING, "llama"), ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
          ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.0, 0.0] + [-float(i) for i in range(29)])),
          ("tokenizer.ggml.token_type", ARRAY, (I32, [2, 3, 3] + [1] * 29)),
          ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2)]
    gt = [("token_embd.weight", [32, 32], GG_Q8_0, q8_0(32)), ("output_norm.weight", [32], GG_F32, f32(*[1.0] * 32)),
          ("blk.0.attn_norm.weight", [32], GG_F32, f32(*[1.0] * 32)), ("blk.0.attn_q.weight", [32, 32], GG_Q4_0, q4_0(32)),
          ("blk.0.attn_k.weight", [32, 16], GG_Q4_1, q4_1(16)),
          ("blk.0.attn_v.weight", [32, 16], GG_F16, f16(*[0.01 * i for i in range(512)])),
          ("blk.0.attn_output.weight", [32, 32], GG_Q8_0, q8_0(32)), ("blk.0.ffn_norm.weight", [32], GG_F32, f32(*[1.0] * 32)),
          ("blk.0.ffn_gate.weight", [32, 64], GG_Q4_0, q4_0(64)), ("blk.0.ffn_up.weight", [32, 64], GG_Q4_0, q4_0(64)),
          ("blk.0.ffn_down.weight", [64, 32], GG_Q8_0, q8_0(64))]
    put(t, "gguf-model", model_input(3, [("model.gguf", gguf_file(gg, gt))]))
    put(t, "gguf-model-output-bias", model_input(2, [("model.gguf", gguf_file(
        gg + [("llama.vocab_size", U32, 32), ("tokenizer.ggml.add_bos_token", BOOL, False)],
        gt + [("output.weight", [32, 32], GG_F16, f16(*[0.0] * 1024)), ("blk.0.attn_q.bias", [32], GG_F32, f32(*[0.0] * 32)),
              ("blk.0.attn_k.bias", [16], GG_F32, f32(*[0.0] * 16)), ("blk.0.attn_v.bias", [16], GG_F32, f32(*[0.0] * 16))]))]))


def make_regressions():
    """Hand-made minimal inputs for crashes the fuzzers found (tests/data/fuzz/regressions/)."""
    d = os.path.join(OUT, "regressions")
    os.makedirs(d, exist_ok=True)

    def reg(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)

    reg("fuzz_gguf-widen-f64-overflow", gguf_file([("x", F64, 1e300)]))
    reg("fuzz_gguf-widen-f32-nan", gguf_file([("x", F32, float("nan"))]))
    reg("fuzz_gguf-arr-f32-overflow", gguf_file([("tokenizer.ggml.model", STRING, "llama"),
                                                 ("tokenizer.ggml.tokens", ARRAY, (STRING, ["a", "b"])),
                                                 ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 3e38]))]))
    reg("fuzz_gguf-failed-parse-not-cleared", bytes.fromhex("474755460300000000000000000a0000000000000000"))
    base = ('{"model_type":"llama","hidden_size":64,"intermediate_size":172,"num_hidden_layers":2,'
            '"num_attention_heads":4,"vocab_size":320,')
    reg("fuzz_config-eos-int-overflow", base + '"eos_token_id":1e10}')
    reg("fuzz_config-eos-list-int-overflow", base + '"eos_token_id":[2,-455555555555555]}')
    tok = "a" * 7000
    reg("fuzz_tokenizer_json-replace-decoder-expands", json.dumps(
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, tok: 2}, "merges": []},
         "decoder": {"type": "Replace", "pattern": {"String": "a"}, "content": "b" * 30}}))
    # the index names a longer file than the shard the tensor was found in: load_hf.c bind()
    # compared the name against path + strlen(path) - strlen(name), before the path's start
    cfg, tens = tiny_hf_model()
    long = "a-much-longer-shard-file-name-than-the-directory-path.safetensors"
    wm = {name: "a.st" for name, _, _, _ in tens}
    wm = {"model.embed_tokens.weight": long, **{k: v for k, v in wm.items() if k != "model.embed_tokens.weight"}}
    reg("fuzz_model_load-index-name-longer-than-path", model_input(0, [
        ("config.json", json.dumps(cfg)), ("model.safetensors.index.json", json.dumps({"weight_map": wm})),
        (long, st_file([], raw_header="{}")), ("a.st", st_file(tens))]))
    make_regressions_2(reg)


def make_regressions_2(reg):
    # tokenizer_config.json names a BOS token whose id (16) is past config.json's vocab_size (16):
    # load_hf.c read_tokenizer_config() stored it in cfg.bos_id unchecked (lf_config_validate fails)
    cfg, tens = tiny_hf_model()
    vocab = {c: i for i, c in enumerate("abcdefghijklmnop")}
    vocab["<s>"] = 16
    tok = json.dumps(tj(bpe_model(vocab, []), [added(16, "<s>")]))
    reg("fuzz_model_load-bos-past-vocab", model_input(1, [
        ("config.json", json.dumps(cfg)), ("tokenizer.json", tok),
        ("tokenizer_config.json", json.dumps({"bos_token": "<s>", "add_bos_token": True})),
        ("model.safetensors", st_file(tens))]))


def main():
    for d in ("fuzz_safetensors", "fuzz_gguf", "fuzz_config", "fuzz_tokenizer_json", "fuzz_encode", "fuzz_decode",
              "fuzz_model_load"):
        shutil.rmtree(os.path.join(OUT, d), ignore_errors=True)
    make_safetensors()
    make_gguf()
    make_config()
    make_tokenizer_json()
    make_encode()
    make_decode()
    make_model_load()
    if "--regressions" in sys.argv:
        make_regressions()
    total = sum(n for _, _, n in written)
    by = {}
    for tgt, _, n in written:
        c, s = by.get(tgt, (0, 0))
        by[tgt] = (c + 1, s + n)
    for tgt, (c, s) in sorted(by.items()):
        print(f"{tgt:22s} {c:4d} files {s:9d} bytes")
    print(f"{'total':22s} {len(written):4d} files {total:9d} bytes")
    assert total < 2 * 1024 * 1024, "committed corpus over 2 MB"


if __name__ == "__main__":
    main()
