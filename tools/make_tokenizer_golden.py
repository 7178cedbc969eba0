#!/usr/bin/env python3
"""make_tokenizer_golden.py — reference token ids for tests/test_tokenizer.c, made with HF
`tokenizers` / `transformers` (run on a development machine, not by the tests).

For each vocabulary it builds an HF fast tokenizer from a GGUF file with transformers
(AutoTokenizer.from_pretrained(folder, gguf_file=...)), adjusts the tokenizer.json to the shape the
original model repository ships (see below), checks it against llama.cpp's own test vectors where
there are some, and writes:

  tests/data/tokenizer/smollm2/tokenizer.json     committed, loaded by the C test
  tests/data/tokenizer/smollm2/golden.tsv
  tests/data/tokenizer/llama-spm/tokenizer.json   committed, loaded by the C test
  tests/data/tokenizer/llama-spm/golden.tsv
  tests/data/tokenizer/llama-spm/golden_metaspace.tsv   same vocab, Metaspace(prepend_scheme=first)
  tests/data/tokenizer/llama-bpe/golden.tsv       (its tokenizer.json is ~9 MB: not written; the C
                                                   test checks the GGUF path against it)

golden.tsv: one case per line, tab separated:
  hex(UTF-8 input) \t ids (space separated, add_special_tokens=False) \t hex(decode(ids)) \t
  hex(decode(ids, skip_special_tokens=True))

Adjustments (transformers' GGUF conversion is generic; the C tokenizer follows the real files):
  * SmolLM2: pre_tokenizer Sequence[Digits(individual_digits), ByteLevel] and a ByteLevel
    post_processor, as in HuggingFaceTB/SmolLM2-135M-Instruct (llama.cpp's "smollm" pre type is the
    same split); transformers' conversion leaves a plain ByteLevel.
  * llama-spm: the LLaMA-2 layout (normalizer Prepend("▁") + Replace(" ", "▁"), no
    pre-tokenizer, unk_token "<unk>"), checked to reproduce all of llama.cpp's
    ggml-vocab-llama-spm.gguf.out; transformers' own Metaspace(prepend_scheme="first") variant is
    kept as golden_metaspace.tsv (the C test rebuilds that JSON in memory).
  * llama-bpe: model.ignore_merges = true, as in Meta-Llama-3's tokenizer.json; checked against
    ggml-vocab-llama-bpe.gguf.out.

Usage (from the repository root, after scripts/fetch_model.sh and scripts/fetch_vocab.sh):
  pip install tokenizers transformers gguf sentencepiece
  python3 tools/make_tokenizer_golden.py [--smollm2 models/SmolLM2-135M-Instruct.Q4_1.gguf]
                                         [--vocab models/vocab] [--out tests/data/tokenizer]
"""
import argparse
import json
import os
import random
import sys

from tokenizers import Tokenizer


# ---- corpus --------------------------------------------------------------------------------------
FIXED = [
    "Hello world",
    " Hello world",
    "Hello World!",
    "  Hello   World  ",
    "hello, world! How's it going? I'm fine, they'll see, we've done, you'd know, it's OK.",
    "HOW'S IT GOING? I'M FINE, THEY'LL, WE'VE, YOU'D, IT'S",
    "Write a conversation between the sun and pluto",
    "帮忙写一篇散文诗，主题为扎根，终有一天，我们会变成参天大树, 字数500字",
    "我想在apple工作1314151天～",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 텍스트입니다",
    "нещо на Български и Русский текст",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "ภาษาไทยง่ายนิดเดียว",
    "Cửa Việt",
    "Äpfel über Straße, naïve café, façade, Ångström",
    "e\u0301 combining acute, a\u0308 umlaut",
    "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)",
    "👨‍👩‍👧‍👦 family, 🇺🇸🇩🇪 flags, 👍🏽 skin tone, ❤️ heart",
    "this is 🦙.cpp",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "x = {'a': [1, 2, 3], \"b\": None}  # comment",
    "<html><body class=\"main\">&nbsp;&amp;</body></html>",
    "SELECT * FROM users WHERE id = 10 AND name LIKE '%bob%';",
    "3", "33", "333", "3333", "33333", "333333", "3333333", "33333333", "333333333",
    "3.14159 and 1,000,000 and 2024-01-15 and 12:30:45 and 0x1F and 1e-9",
    "Phone: +1 (555) 123-4567, v2.0.1, 100%",
    "١٢٣ Arabic-Indic digits, ４５６ fullwidth, ½ ⅓ vulgar fractions, Ⅻ roman",
    " ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\n\n\n", "\t\n", " \n", "\r\n", "\r\n\r\n",
    "a  b   c    d", "a\tb\t\tc", "a\n\nb\n\n\nc", "   leading", "trailing   ", "  both  ",
    "    Hello\n    Hello",
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
    "line1\nline2\r\nline3\rline4",
    "word\u00a0nbsp\u3000ideographic\u2028linesep\u0085nel",
    "zero\u200bwidth and bom\ufeff",
    "!!!!!!", "???", "...", "---", "((()))", "' era", " (", "\n =", "' '", "''", "' s",
    "w048 7tuijk dsdfhu",
    "ied 4 ½ months",
    "\u2581already\u2581marked \u2581", "ĠĠ Ġ", "<0x41> <0x0A>",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>", "text<|endoftext|>more", "<|im_end|><|im_end|>", "<|im_start|> spaced <|im_end|>",
    "<s>Hello</s>", "<s> Hello", "Hello<s> world</s>x", "  <s>  a", "</s>", "<unk>", "<s><s>",
    "<|begin_of_text|>Hi<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhi",
    "<|im_start", "im_end|>", "< |im_start| >",
    "mongolian\u180e'd vowel separator\u180e 's",
    "a <mask> b", "a   <mask>   b", "<mask>", "\t<mask>x", "x[R]   y", "[R]\n\nz", "[R]",
    "word words sword word_ word. (word)", "fine tune", "\ufb01ne tune", "Fine tune",
    "\uff46\uff49\uff4e\uff45\u3000\uff54\uff55\uff4e\uff45", "\u2460 \u00bd \u2167 \u00b2 \uff21",
    "ALLCAPS and MiXeD CaSe and snake_case and camelCase and kebab-case",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco.",
    "\u00bf\u00a1Qu\u00e9 tal? \u00ab\u00bb \u201cquotes\u201d \u2018single\u2019 \u2014 dash \u2026",
    "∑∫√∞≠≤≥ ±×÷ αβγδ ΑΒΓΔ",
    "\x01\x02\x07\x1b[0m control chars \x7f",
    "tab\there",
    "a" * 300,
    " " * 100 + "x",
    "\n" * 20,
    "1" * 50,
    "ab" * 100,
    "的" * 64,
    "😀" * 20,
]

POOLS = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    list("0123456789"),
    list(" \t\n\r"),
    list("  "),
    list(".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`"),
    list("éüñçøåßœæÉÜ"),
    list("中文字的一是不了人我在有他这为之大来以个"),
    list("ひらがなカタカナ한국어"),
    list("абвгдежзийклмнопрстуфхцчшщ"),
    ["😀", "🦙", "👍🏽", "❤️", "🇺🇸", "👨‍👩‍👧", "✅", "🚀"],
    ["\u0301", "\u0308", "\u200b", "\u00a0", "\u3000", "\u2028", "\u0085", "\ufeff", "\u2581", "Ġ", "ā"],
    ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL"],
    ["١", "٢", "४", "５", "½", "Ⅻ", "²"],
    ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|eot_id|>",
     "<0x41>", "<|", "|>"],
    [" the", " of", " and", "ing", "tion", " hello", " world", "Hello"],
]


FLAG_TOKENS = [
    {"id": 49152, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True},
    {"id": 49153, "content": "[R]", "single_word": False, "lstrip": False, "rstrip": True, "normalized": False, "special": False},
    {"id": 49154, "content": "word", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False, "special": False},
    {"id": 49155, "content": "fine tune", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
]


SPLIT_BEHAVIORS = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]
SPLIT_VARIANTS = [(b, inv, kind) for b in SPLIT_BEHAVIORS for inv in (False, True) for kind in ("Regex", "String")]


def split_pretokenizer(behavior, invert, kind):
    """Sequence[Split, ByteLevel(use_regex=False)]; the C test builds the same JSON."""
    pattern = {"Regex": "\\s+|[0-9]"} if kind == "Regex" else {"String": " "}
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def random_cases(n, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        parts = []
        for _ in range(k):
            pool = POOLS[rng.randrange(len(POOLS))]
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        out.append("".join(parts))
    return out


def corpus():
    seen, out = set(), []
    for s in FIXED + random_cases(600):
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# ---- building tokenizers -------------------------------------------------------------------------
def from_gguf(path):
    from transformers import AutoTokenizer
    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    j = json.loads(tok.backend_tokenizer.to_str())
    # transformers' tokenizer classes bring default special tokens (GPT2Tokenizer: "<|endoftext|>");
    # one the GGUF vocabulary does not have gets a new id past its end: drop those.
    n_vocab = max(j["model"]["vocab"].values()) + 1
    extra = [a for a in j["added_tokens"] if a["id"] >= n_vocab]
    if extra:
        print(f"  dropping added tokens not in the GGUF vocabulary: {[a['content'] for a in extra]}", file=sys.stderr)
        j["added_tokens"] = [a for a in j["added_tokens"] if a["id"] < n_vocab]
    return j


def check_llama_cpp_vectors(tok, gguf_path, label):
    """Compare with llama.cpp's <vocab>.gguf.inp/.out (made with add_special_tokens=False)."""
    inp, outp = gguf_path + ".inp", gguf_path + ".out"
    if not (os.path.exists(inp) and os.path.exists(outp)):
        print(f"  {label}: no llama.cpp vectors next to {gguf_path}", file=sys.stderr)
        return
    texts = open(inp, encoding="utf-8", newline="").read().split("\n__ggml_vocab_test__\n")
    lines = open(outp, encoding="utf-8").read().split("\n")
    if texts and texts[-1] == "":
        texts = texts[:-1]
    bad = 0
    for text, line in zip(texts, lines):
        want = [int(x) for x in line.split()]
        got = tok.encode(text, add_special_tokens=False).ids
        if got != want:
            bad += 1
            print(f"  {label}: MISMATCH on {text!r}: HF {got} llama.cpp {want}", file=sys.stderr)
    print(f"  {label}: {len(texts) - bad}/{len(texts)} llama.cpp vectors reproduced", file=sys.stderr)
    if bad:
        raise SystemExit(f"{label}: the adjusted tokenizer.json does not reproduce llama.cpp's vectors")


def write_golden(tok, cases, path):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for text in cases:
            ids = tok.encode(text, add_special_tokens=False).ids
            dec = tok.decode(ids, skip_special_tokens=False)
            dec_skip = tok.decode(ids, skip_special_tokens=True)
            f.write("%s\t%s\t%s\t%s\n" % (text.encode("utf-8").hex(), " ".join(map(str, ids)),
                                          dec.encode("utf-8").hex(), dec_skip.encode("utf-8").hex()))
    print(f"  wrote {path} ({len(cases)} cases)", file=sys.stderr)


def save_json(j, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Tokenizer.from_str(json.dumps(j)).save(path, pretty=False)
    print(f"  wrote {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)
    return Tokenizer.from_file(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smollm2", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--vocab", default="models/vocab", help="folder with ggml-vocab-llama-{spm,bpe}.gguf(.inp/.out)")
    ap.add_argument("--out", default="tests/data/tokenizer")
    a = ap.parse_args()
    cases = corpus()

    # SmolLM2
    print("SmolLM2", file=sys.stderr)
    j = from_gguf(a.smollm2)
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    assert j["normalizer"] is None and j["model"]["type"] == "BPE" and not j["model"]["byte_fallback"]
    tok = save_json(j, os.path.join(a.out, "smollm2", "tokenizer.json"))
    saved = json.loads(tok.to_str())
    assert saved["pre_tokenizer"]["pretokenizers"][0] == {"type": "Digits", "individual_digits": True}
    assert saved["pre_tokenizer"]["pretokenizers"][1]["type"] == "ByteLevel"
    write_golden(tok, cases, os.path.join(a.out, "smollm2", "golden.tsv"))
    # the same with an NFKC normalizer and added tokens using lstrip / rstrip / single_word /
    # normalized (tests/test_tokenizer.c applies this same patch to the JSON in memory)
    j["normalizer"] = {"type": "NFKC"}
    j["added_tokens"] += FLAG_TOKENS
    write_golden(Tokenizer.from_str(json.dumps(j)), cases, os.path.join(a.out, "smollm2", "golden_flags.tsv"))

    # Split pre-tokenizer behaviours (then ByteLevel without its own regex), on a short corpus
    short = [c for c in cases if len(c) < 120][:60]
    base = json.loads(json.dumps(j))
    base["normalizer"] = None
    base["added_tokens"] = base["added_tokens"][:17]
    os.makedirs(os.path.join(a.out, "smollm2", "split"), exist_ok=True)
    for behavior, invert, kind in SPLIT_VARIANTS:
        base["pre_tokenizer"] = split_pretokenizer(behavior, invert, kind)
        write_golden(Tokenizer.from_str(json.dumps(base)), short,
                     os.path.join(a.out, "smollm2", "split", f"{behavior}-{int(invert)}-{kind}.tsv"))

    # LLaMA-2 style SentencePiece BPE
    print("llama-spm", file=sys.stderr)
    spm_path = os.path.join(a.vocab, "ggml-vocab-llama-spm.gguf")
    j = from_gguf(spm_path)
    meta = json.loads(json.dumps(j))
    assert j["pre_tokenizer"]["type"] == "Metaspace" and j["model"]["byte_fallback"]
    j["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    j["pre_tokenizer"] = None
    j["model"]["unk_token"] = "<unk>"
    tok = save_json(j, os.path.join(a.out, "llama-spm", "tokenizer.json"))
    check_llama_cpp_vectors(tok, spm_path, "llama-spm")
    write_golden(tok, cases, os.path.join(a.out, "llama-spm", "golden.tsv"))
    meta["model"]["unk_token"] = "<unk>"
    tok_meta = Tokenizer.from_str(json.dumps(meta))
    write_golden(tok_meta, cases, os.path.join(a.out, "llama-spm", "golden_metaspace.tsv"))
    meta["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    write_golden(Tokenizer.from_str(json.dumps(meta)), cases, os.path.join(a.out, "llama-spm", "golden_metaspace_split.tsv"))

    # LLaMA-3 byte-level BPE
    print("llama-bpe", file=sys.stderr)
    bpe_path = os.path.join(a.vocab, "ggml-vocab-llama-bpe.gguf")
    j = from_gguf(bpe_path)
    j["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(j))
    check_llama_cpp_vectors(tok, bpe_path, "llama-bpe")
    os.makedirs(os.path.join(a.out, "llama-bpe"), exist_ok=True)
    write_golden(tok, cases, os.path.join(a.out, "llama-bpe", "golden.tsv"))


if __name__ == "__main__":
    main()
