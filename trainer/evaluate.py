"""`python -m trainer evaluate`: quick greedy exact match of an exported model (onnxruntime, KV cache).

    python -m trainer evaluate --model models/NAME --data data/ds/NAME [--limit 100]

Sets (from the dataset's held-out DIR/eval/): fim_lines.jsonl (exact match of the middle) and tinypy_<level>.jsonl
(the `output` and `line_count` task prompts). Prompts are built as the engine builds them (extension/engine/prompts.ts):
model.json's templates in its default FIM mode, special tokens by id (trainer/contract.py render), the prompt budget
split between prefix and suffix by the same share, whole lines kept. Unlike the editor it does not heal tokens or
post-process. Results are written into model.json["evaluation"]. The TypeScript `tinyfim bench` is the headline
evaluator (the editor's whole completion path); this one is a smoke check that the exported model answers as it did
in training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trainer import contract
from trainer.errors import UserError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="exported model folder (model.onnx, tokenizer.json, model.json)")
    parser.add_argument("--data", required=True, help="dataset folder whose eval/*.jsonl sets to use")
    parser.add_argument("--limit", type=int, default=100, help="samples per set (default 100)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")


def run(args) -> int:
    results = evaluate_model(args.model, args.data, limit=args.limit, threads=args.threads)
    for name, r in results.items():
        print(f"{name:<20} exact match {r['exact_match']:.1%} ({r['correct']}/{r['n']})")
    return 0


def load_text_encoder(tokenizer_path):
    """(encode(text) -> ids of ordinary text, decode(ids) -> str)."""
    from trainer.tokenizer import decode, encode_text, load_tokenizer

    tok = load_tokenizer(tokenizer_path)
    return (lambda s: encode_text(tok, s)), (lambda ids: decode(tok, ids))


def keep_lines(text: str, budget: int, encode, end: bool) -> list[int]:
    """The ids of the longest start (or `end`) of `text` made of whole lines within `budget` tokens, as the engine's
    keepHead / keepTail; when not even one line fits, the first (last) line's first (last) tokens."""
    ids = encode(text)
    if len(ids) <= budget:
        return ids
    if budget <= 0:
        return []
    cuts = [i + 1 for i, c in enumerate(text) if c == "\n" and i + 1 < len(text)]
    for piece in ([text[c:] for c in cuts] if end else [text[:c] for c in reversed(cuts)]):  # longest first
        kept = encode(piece)
        if len(kept) <= budget:
            return kept
    if not cuts:
        return ids[-budget:] if end else ids[:budget]
    return encode(text[cuts[-1]:])[-budget:] if end else encode(text[:cuts[0]])[:budget]


def fim_prompt(prompts: dict, special: dict[str, int], encode, prefix: str, suffix: str, budget: int) -> list[int]:
    """The engine's FIM prompt (buildFimPrompt, without token healing): the default mode's template; when prefix and
    suffix do not both fit, the suffix gets its share (1 - prefix_share) of the room unless the prefix needs less, the
    prefix the rest."""
    fim = prompts["fim"]
    template = fim[fim["default_mode"]]
    room = max(0, budget - len(contract.render(template, {}, special)))
    share = fim.get("prefix_share", contract.FIM["prefix_share"])
    pre, suf = encode(prefix), encode(suffix)
    if len(pre) + len(suf) > room:
        suf = keep_lines(suffix, min(len(suf), max(int(room * (1 - share)), room - len(pre))), encode, end=False)
        pre = keep_lines(prefix, room - len(suf), encode, end=True)
    return contract.render(template, {"prefix": pre, "suffix": suf}, special)


def eval_samples(data_dir: Path, meta: dict, encode, limit: int, context: int) -> dict[str, list[dict]]:
    """{set: [{"prompt": ids, "expected": text, "max_new": n}]}, at most `limit` per set, fitted to the context."""
    special, prompts = meta["special_tokens"], meta["prompts"]
    eval_dir = Path(data_dir) / "eval"
    sets: dict[str, list[dict]] = {}
    fim_path = eval_dir / "fim_lines.jsonl"
    if fim_path.is_file() and limit > 0:
        n = contract.FIM_MAX_NEW_TOKENS
        sets["fim_lines"] = [{"prompt": fim_prompt(prompts, special, encode, r["prefix"], r["suffix"], context - n),
                              "expected": r["middle"], "max_new": n} for r in _read_jsonl(fim_path, limit)]
    tinypy_files = sorted(eval_dir.glob("tinypy_*.jsonl"))
    for task in ("output", "line_count"):
        spec = prompts.get("tasks", {}).get(task)
        if spec is None or not tinypy_files:
            continue
        per_file = max(1, -(-limit // len(tinypy_files)))
        rows = []
        for path in tinypy_files:
            for rec in _read_jsonl(path, per_file):
                prompt = contract.render(spec["template"], {"program": encode(rec["code"])}, special)
                if len(prompt) + spec["max_new_tokens"] <= context:
                    rows.append({"prompt": prompt, "expected": str(rec[task]), "max_new": spec["max_new_tokens"]})
        sets[f"tinypy_{task}"] = rows[:limit]
    return sets


def exact_match_suite(generate, data_dir, tokenizer_path, meta: dict, limit: int, context: int) -> dict:
    """generate(prompt_ids, max_new) -> new ids (ending in <|endoftext|> when it stopped)."""
    encode, decode = load_text_encoder(tokenizer_path)
    eot = meta["special_tokens"]["<|endoftext|>"]
    results = {}
    for name, rows in eval_samples(Path(data_dir), meta, encode, limit, context).items():
        correct = 0
        for r in rows:
            out = generate(r["prompt"], r["max_new"])
            if out and out[-1] == eot:
                out = out[:-1]
            text = decode([i for i in out if i >= len(meta["special_tokens"])])
            correct += text.strip() == r["expected"].strip()
        results[name] = {"exact_match": correct / max(len(rows), 1), "correct": correct, "n": len(rows)}
    return results


def evaluate_model(model_dir, data_dir, limit: int = 100, threads: int = 1) -> dict:
    from tqdm import tqdm

    from trainer.onnx_runtime import ort_greedy, ort_session
    from trainer.packed import write_json_atomic

    model_dir, data_dir = Path(model_dir), Path(data_dir)
    manifest_path = model_dir / "model.json"
    if not manifest_path.is_file():
        raise UserError(f"{manifest_path} not found: export a model first (python -m trainer export)")
    if not (data_dir / "eval").is_dir():
        raise UserError(f"{data_dir}/eval not found: build the dataset first (python -m trainer dataset build)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    session = ort_session(model_dir / "model.onnx", threads=threads)
    context = manifest["architecture"]["context_length"]
    bar = tqdm(desc="evaluate", unit="sample", file=sys.stderr, leave=False)

    def generate(ids, max_new):
        bar.update(1)
        return ort_greedy(session, ids, max_new, stop_ids=(manifest["special_tokens"]["<|endoftext|>"],),
                          context=context)

    try:
        results = exact_match_suite(generate, data_dir, model_dir / "tokenizer.json", manifest, limit, context)
    finally:
        bar.close()
    manifest.setdefault("evaluation", {})["exact_match"] = {**results, "limit": limit, "data": str(data_dir)}
    write_json_atomic(manifest_path, manifest)
    return results


def _read_jsonl(path: Path, limit: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(rows) >= limit:
                break
            if line.strip():
                rows.append(json.loads(line))
    return rows
