"""`dataset build`: packed fixed-length training rows of code (with context-level FIM) and tinypy trace tasks.

    python -m trainer dataset build --db data/corpus.sqlite --tokenizer data/tok/tokenizer.json \
        --tinypy-count 100000 --mix code=0.7,tinypy=0.3 --context 512 --out data/ds/NAME

Output (format in trainer/packed.py): DIR/meta.json (index + manifest), DIR/{train,val}-NNN.{tokens,mask,source}.npy,
and held-out evaluation sets DIR/eval/fim_lines.jsonl, fim_spans.jsonl, tinypy_<level>.jsonl.

How rows are made:
- Documents: each corpus file -> encode(text) + <|endoftext|> (source "code"); each tinypy program and task ->
  <|task_T|> program <|answer|> answer <|endoftext|> (sources "tinypy/program" up to <|answer|>, then "tinypy/T").
  Every part is encoded on its own, so the answer's tokens are exactly encode(answer), as at inference.
- The mix (token shares, e.g. code=0.7,tinypy=0.3) is reached by dropping a random part of the larger pool; nothing
  is repeated. The achieved shares are in meta.json.
- Documents are shuffled and packed into rows of context+1 tokens; code documents run on into the next row, tinypy
  records never do (a record that does not fit waits for the next row).
- Context-level FIM (trainer/fim.py) then rewrites each code piece of a row at the FIM rate (sources "code/fim",
  "code/fim_line"); the row keeps its length, shorter results are padded with <|fim_pad|> at the row end.
- mask = 0 exactly on <|fim_pad|> padding; every other token (<|endoftext|> included) is a training target.
- Splits never mix: train rows come from the corpus train split and tinypy seed S, val rows from the corpus val split
  and held-out seed S+1000, eval sets from the corpus test split and seed S+2000. Identical texts are removed from
  the lower-priority split (test/eval > val > train), for code files and tinypy programs alike.

Public API: build_dataset(...) (the CLI stage as a function), build_from_sources(...) (the same from in-memory texts),
parse_mix(text), source_names(tasks); the inputs (corpus_texts, generate_tinypy, LEVELS) are in trainer/sources.py,
the prompt formats in trainer/contract.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections import Counter, deque
from pathlib import Path

from trainer import contract
from trainer.errors import UserError
from trainer.sources import LEVELS, corpus_texts, generate_tinypy  # noqa: F401  (corpus_texts: part of the API)

TRAIN_TASKS = contract.TRAINED_TASKS
DEFAULT_TASKS = ("output", "line_count")
EVAL_CAP = 2000  # chars of prefix / suffix kept in eval records
SEED_OFFSETS = {"train": 0, "val": 1000, "eval": 2000}


def source_names(tasks) -> list[str]:
    """meta["sources"]: index 0 is padding; tinypy tokens up to <|answer|> are "tinypy/program", the answer and its
    <|endoftext|> are "tinypy/<task>" (so per-source validation loss on a task is the loss on its answers)."""
    return ["pad", "code", "code/fim", "code/fim_line", "tinypy/program"] + [f"tinypy/{t}" for t in tasks]


# ---------------------------------------------------------------------------------------------------------------
# inputs


def _trace_one(code: str):
    from trainer.tinypy.tracer import trace

    r = trace(code)
    return r.output, r.line_count, r.states_text(), r.error


def _trace_all(programs: list[str], desc: str) -> list[tuple]:
    from tqdm import tqdm

    return [_trace_one(p) for p in tqdm(programs, desc=desc, file=sys.stderr, leave=False)]


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in ("code", "tinypy"):
            raise UserError(f"--mix: unknown source {name!r}; use code=X,tinypy=Y")
        try:
            mix[name] = float(value)
        except ValueError:
            raise UserError(f"--mix: {part!r} is not name=number") from None
        if mix[name] < 0:
            raise UserError(f"--mix: {name} must not be negative")
    total = sum(mix.values())
    if total <= 0:
        raise UserError("--mix: the shares must add up to more than 0")
    return {k: mix.get(k, 0.0) / total for k in ("code", "tinypy")}


def _answer(task: str, traced: tuple) -> str:
    output, line_count, states, _ = traced
    return {"output": output, "line_count": str(line_count), "states": states}[task]


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _dedup_splits(by_split: dict[str, list], key, order=("eval", "test", "val", "train")) -> dict[str, int]:
    """Removes, in place, items whose key was seen in a higher-priority split (or earlier in the same split)."""
    seen, dropped = set(), {}
    for split in order:
        if split not in by_split:
            continue
        kept = []
        for item in by_split[split]:
            k = key(item)
            if k not in seen:
                seen.add(k)
                kept.append(item)
        dropped[split] = len(by_split[split]) - len(kept)
        by_split[split][:] = kept
    return dropped


# ---------------------------------------------------------------------------------------------------------------
# packing


class _Packer:
    """Packs documents (ids, per-token sources, atomic) into rows of context+1 tokens, applies context-level FIM to
    the code pieces of each finished row and hands the row to a ShardWriter."""

    def __init__(self, tok, writer, context: int, fim_cfg, rng: random.Random, id_bytes, sources: list[str]):
        from trainer.tokenizer import FIM_PAD

        self.tok, self.writer, self.n, self.cfg, self.rng, self.id_bytes = tok, writer, context + 1, fim_cfg, rng, \
            id_bytes
        self.pad = FIM_PAD
        self.src_code = sources.index("code")
        self.src_kind = {"fim": sources.index("code/fim"), "fim_line": sources.index("code/fim_line")}
        self.pieces: list[tuple[list[int], list[int] | int, bool]] = []  # (ids, sources, is_code)
        self.used = 0
        self.deferred: deque = deque()
        self.tokens = Counter()  # source index -> non-pad tokens written
        self.fim = Counter()
        self.rows = 0
        self.pad_tokens = 0
        self.skipped_long = 0

    def add(self, ids: list[int], src, atomic: bool) -> None:
        if atomic:
            if len(ids) > self.n:
                self.skipped_long += 1
            elif self.used + len(ids) <= self.n:
                self._place(ids, src, False)
            else:
                self.deferred.append((ids, src))
                if sum(len(d[0]) for d in self.deferred) >= self.n:
                    self._flush()
            return
        pos = 0
        while pos < len(ids):
            take = min(self.n - self.used, len(ids) - pos)
            self._place(ids[pos:pos + take], src, True)
            pos += take
            if self.used == self.n:
                self._flush()

    def _place(self, ids, src, is_code: bool) -> None:
        self.pieces.append((ids, src, is_code))
        self.used += len(ids)

    def _flush(self) -> None:
        """Finishes the current row (FIM, padding, write) and opens the next one with the waiting tinypy records."""
        import numpy as np

        from trainer.fim import transform_piece

        toks, srcs = [], []
        for ids, src, is_code in self.pieces:
            if is_code:
                done = transform_piece(self.tok, ids, self.rng, self.cfg, self.id_bytes)
                if done is not None:
                    ids, kind = done
                    src = self.src_kind[kind]
                    self.fim[kind] += 1
            toks.extend(ids)
            srcs.extend([src] * len(ids) if isinstance(src, int) else src)
        n_real = len(toks)
        if n_real:
            toks.extend([self.pad] * (self.n - n_real))
            srcs.extend([0] * (self.n - n_real))
            mask = np.zeros(self.n, dtype=np.uint8)
            mask[:n_real] = 1
            src_arr = np.asarray(srcs, dtype=np.uint8)
            self.writer.add(np.asarray(toks), mask, src_arr)
            self.tokens.update(Counter(src_arr[:n_real].tolist()))
            self.pad_tokens += self.n - n_real
            self.rows += 1
        self.pieces, self.used = [], 0
        while self.deferred and self.used + len(self.deferred[0][0]) <= self.n:
            ids, src = self.deferred.popleft()
            self._place(ids, src, False)

    def close(self) -> None:
        while self.pieces or self.deferred:
            self._flush()


# ---------------------------------------------------------------------------------------------------------------
# the build


def build_dataset(db, tokenizer, out, tinypy_count: int = 0, mix: str | dict = "code=0.7,tinypy=0.3",
                  context: int = 512, seed: int = 1234, fim_rate: float = 0.5, fim_spm_rate: float = 0.5,
                  fim_line_share: float = 0.25, tasks=DEFAULT_TASKS, levels=LEVELS, val_tinypy_count: int | None = None,
                  eval_count: int = 2000, eval_fim_count: int = 1000, rows_per_shard: int = 8192, workers: int = 1,
                  force: bool = False) -> dict:
    """The `dataset build` stage: reads the corpus DB, generates and traces tinypy programs, then build_from_sources."""
    from tqdm import tqdm

    tasks = _check_tasks(tasks)
    _check_options(mix, context, fim_rate, fim_spm_rate, fim_line_share, out, force)  # fail before the slow part
    if not Path(db).is_file():
        raise UserError(f"{db} not found: build a corpus first (python -m trainer corpus add-dir PATH --db {db})")
    if not Path(tokenizer).is_file():
        raise UserError(f"{tokenizer} not found: train it first (python -m trainer tokenizer train ...)")
    if val_tinypy_count is None:
        val_tinypy_count = max(len(levels) * 10, tinypy_count // 20) if tinypy_count else 0
    code = {}
    for split in ("train", "val", "test"):
        code[split] = list(tqdm(corpus_texts(db, split), desc=f"read {split} files", file=sys.stderr, leave=False))
    counts = {"train": tinypy_count, "val": val_tinypy_count, "eval": eval_count * len(levels) if tinypy_count else 0}
    tinypy = {}
    for split, n in counts.items():
        if n:
            progs = generate_tinypy(n, seed + SEED_OFFSETS[split], levels, workers=workers)
            tinypy[split] = {lv: p for lv, p in progs.items()}
    return build_from_sources(code, tinypy, tokenizer, out, mix=mix, context=context, seed=seed, fim_rate=fim_rate,
                              fim_spm_rate=fim_spm_rate, fim_line_share=fim_line_share, tasks=tasks,
                              eval_count=eval_count, eval_fim_count=eval_fim_count, rows_per_shard=rows_per_shard,
                              workers=workers, force=force, extra={"corpus_db": str(db)})


def _check_options(mix, context, fim_rate, fim_spm_rate, fim_line_share, out, force):
    from trainer.fim import FimConfig

    mix = parse_mix(mix) if isinstance(mix, str) else mix
    fim_cfg = FimConfig(rate=fim_rate, spm_rate=fim_spm_rate, line_share=fim_line_share)
    try:
        fim_cfg.check()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if context < 16 or context > 65535:
        raise UserError(f"--context {context} must be within 16..65535")
    if (Path(out) / "meta.json").exists() and not force:
        raise UserError(f"{out} already holds a dataset; pass --force to rebuild it")
    return mix, fim_cfg


def _check_tasks(tasks) -> tuple[str, ...]:
    tasks = tuple(tasks.split(",")) if isinstance(tasks, str) else tuple(tasks)
    bad = [t for t in tasks if t not in TRAIN_TASKS]
    if bad or not tasks:
        raise UserError(f"--tasks: unknown task(s) {bad}; choose from {', '.join(TRAIN_TASKS)}")
    return tasks


def build_from_sources(code: dict[str, list[str]], tinypy: dict[str, dict[str, list[str]]], tokenizer, out,
                       mix: str | dict = "code=0.7,tinypy=0.3", context: int = 512, seed: int = 1234,
                       fim_rate: float = 0.5, fim_spm_rate: float = 0.5, fim_line_share: float = 0.25,
                       tasks=DEFAULT_TASKS, eval_count: int = 2000, eval_fim_count: int = 1000,
                       rows_per_shard: int = 8192, workers: int = 1, force: bool = False,
                       extra: dict | None = None) -> dict:
    """Builds DIR from texts. code: {"train"|"val"|"test": [text]}; tinypy: {"train"|"val"|"eval": {level: [program]}}.
    Returns meta (also written to DIR/meta.json)."""
    from tqdm import tqdm

    from trainer.packed import ShardWriter, token_dtype, write_json_atomic
    from trainer.tokenizer import EOT, encode_texts, file_sha256, load_tokenizer, token_bytes

    t0 = time.time()
    tasks = _check_tasks(tasks)
    mix, fim_cfg = _check_options(mix, context, fim_rate, fim_spm_rate, fim_line_share, out, force)
    out = Path(out)
    tok = load_tokenizer(tokenizer)
    vocab_size = tok.get_vocab_size()
    sources = source_names(tasks)
    id_bytes = token_bytes(tok)

    # --- splits never share a text
    code = {s: list(code.get(s, [])) for s in ("train", "val", "test")}
    code_dropped = _dedup_splits(code, _sha)
    progs = {s: [(lv, p) for lv, ps in tinypy.get(s, {}).items() for p in ps] for s in ("train", "val", "eval")}
    tinypy_dropped = _dedup_splits(progs, lambda item: item[1])

    # --- trace tinypy programs; drop the ones that fail
    traced, errors = {}, {}
    for split, items in progs.items():
        results = _trace_all([p for _, p in items], f"trace tinypy {split}")
        traced[split] = [(lv, p, r) for (lv, p), r in zip(items, results, strict=True) if r[3] is None]
        errors[split] = len(items) - len(traced[split])

    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "eval").mkdir(parents=True)
    eval_meta = _write_eval(tmp / "eval", code["test"], traced["eval"], eval_count, eval_fim_count, seed)

    dtype = token_dtype(vocab_size)
    meta_splits, tokens_meta, counts_meta, fim_meta, mix_meta = {}, {}, {}, {}, {}
    max_answer = Counter()
    for split in ("train", "val"):
        rng = random.Random(f"{seed}/{split}")
        # code documents
        code_docs = []
        texts = code[split]
        for i in tqdm(range(0, len(texts), 256), desc=f"encode {split} code", file=sys.stderr, leave=False):
            code_docs.extend(ids + [EOT] for ids in encode_texts(tok, texts[i:i + 256]))
        # tinypy records: the contract's task template with the program, then answer <|endoftext|>
        items = traced[split]
        prog_ids = encode_texts(tok, [p for _, p, _ in items])
        records, per_task, per_level = [], Counter(), Counter()
        src_prog = sources.index("tinypy/program")
        for task in tasks:
            answers = encode_texts(tok, [_answer(task, r) for _, _, r in items])
            template, src_task = contract.task_template(task), sources.index(f"tinypy/{task}")
            for (lv, _, _), pids, aids in zip(items, prog_ids, answers, strict=True):
                head = contract.render(template, {"program": pids})
                records.append((head + aids + [EOT], [src_prog] * len(head) + [src_task] * (len(aids) + 1), task, lv))
                max_answer[task] = max(max_answer[task], len(aids) + 1)
        # the mix: drop part of the larger pool
        rng.shuffle(code_docs)
        rng.shuffle(records)
        c_tok, p_tok = sum(map(len, code_docs)), sum(len(r[0]) for r in records)
        if mix["tinypy"] > 0 and mix["code"] > 0 and c_tok and p_tok:
            if c_tok * mix["tinypy"] > p_tok * mix["code"]:
                code_docs = _take_tokens(code_docs, p_tok * mix["code"] / mix["tinypy"], len)
            else:
                records = _take_tokens(records, c_tok * mix["tinypy"] / mix["code"], lambda r: len(r[0]))
        elif mix["tinypy"] == 0:
            records = []
        elif mix["code"] == 0:
            code_docs = []
        for _, _, task, lv in records:
            per_task[task] += 1
            per_level[lv] += 1
        docs = [(d, None) for d in code_docs] + [(r[0], r[1]) for r in records]
        rng.shuffle(docs)

        writer = ShardWriter(tmp, split, context, dtype, rows_per_shard=rows_per_shard)
        packer = _Packer(tok, writer, context, fim_cfg, random.Random(f"{seed}/{split}/fim"), id_bytes, sources)
        src_code = sources.index("code")
        for ids, src in tqdm(docs, desc=f"pack {split}", file=sys.stderr, leave=False):
            packer.add(ids, src_code if src is None else src, atomic=src is not None)
        packer.close()
        meta_splits[split] = writer.close()
        tokens_meta[split] = {sources[i]: int(packer.tokens.get(i, 0)) for i in range(1, len(sources))}
        tokens_meta[split]["pad"] = packer.pad_tokens
        total = sum(v for k, v in tokens_meta[split].items() if k != "pad")
        code_share = sum(v for k, v in tokens_meta[split].items() if k.startswith("code")) / max(1, total)
        mix_meta[split] = {"code": round(code_share, 4), "tinypy": round(1 - code_share, 4) if total else 0.0}
        counts_meta[split] = {
            "rows": packer.rows, "code_files": len(code_docs), "code_files_available": len(texts),
            "tinypy_records": dict(per_task), "tinypy_records_per_level": dict(sorted(per_level.items())),
            "tinypy_programs_available": len(items), "tinypy_trace_errors": errors[split],
            "tinypy_records_too_long": packer.skipped_long,
            "duplicates_dropped": {"code_files": code_dropped[split], "tinypy_programs": tinypy_dropped[split]},
        }
        fim_meta[split] = dict(packer.fim)

    meta = {
        "format": "tinyfim-packed-v1",
        "context": context,
        "dtype": dtype,
        "vocab_size": vocab_size,
        "sources": sources,
        "splits": meta_splits,
        "special_tokens": dict(contract.SPECIAL_IDS),
        "prompts": contract.prompts_meta(tasks, {t: max(contract.CONTRACT["tasks"][t]["max_new_tokens"], max_answer[t])
                                                 for t in tasks}),
        "tasks": list(tasks),
        "tokenizer_sha256": file_sha256(tokenizer),
        "tokens": tokens_meta,
        "counts": counts_meta,
        "mix": {"requested": mix, "achieved": mix_meta},
        "fim": {"rate": fim_rate, "spm_rate": fim_spm_rate, "line_share": fim_line_share,
                "level": "context", "pieces_transformed": fim_meta},
        "seeds": {"base": seed, "tinypy": {s: seed + o for s, o in SEED_OFFSETS.items()},
                  "shuffle": {s: f"{seed}/{s}" for s in ("train", "val")}},
        "hashes": {"code_texts_sha256": {s: _digest(sorted(map(_sha, code[s]))) for s in code},
                   "tinypy_programs_sha256": {s: _digest(sorted(p for _, p in progs[s])) for s in progs}},
        "eval": eval_meta,
        "build": {"seconds": round(time.time() - t0, 1), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  **(extra or {})},
    }
    write_json_atomic(tmp / "meta.json", meta)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return meta


def _take_tokens(items: list, budget: float, size) -> list:
    kept, n = [], 0
    for it in items:
        if n >= budget:
            break
        kept.append(it)
        n += size(it)
    return kept


def _digest(keys) -> str:
    h = hashlib.sha256()
    for k in keys:
        h.update(k.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def _write_eval(eval_dir: Path, test_texts: list[str], traced_eval: list, eval_count: int, fim_count: int,
                seed: int) -> dict:
    """Held-out sets for `tinyfim bench`: single-line and random-span FIM from test-split files, tinypy per level."""
    from trainer.fim import line_remainder_spans

    rng = random.Random(f"{seed}/eval")
    lines, spans = [], []
    texts = [t for t in test_texts if t.strip()]
    for _ in range(fim_count if texts else 0):
        text = rng.choice(texts)
        cut = line_remainder_spans(text, rng, from_indent=True)
        if cut is not None:
            lines.append(cut)
        # random character span inside a window of <= 600 chars (a long file's 1/3 would be no test for a tiny model)
        w0 = rng.randint(0, max(0, len(text) - 600))
        window = text[w0:w0 + 600]
        for _ in range(8):
            a, b = sorted((rng.randint(0, len(window)), rng.randint(0, len(window))))
            if window[a:b].strip():
                spans.append((text[:w0 + a], window[a:b], text[w0 + b:]))
                break

    def dump(name, rows):
        with open(eval_dir / name, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    def fim_rec(p, m, s):
        return {"prefix": p[-EVAL_CAP:], "suffix": s[:EVAL_CAP], "middle": m}

    dump("fim_lines.jsonl", [fim_rec(*c) for c in lines])
    dump("fim_spans.jsonl", [fim_rec(*c) for c in spans])
    per_level = {}
    for lv, code, r in traced_eval:
        per_level.setdefault(lv, [])
        if len(per_level[lv]) < eval_count:
            per_level[lv].append({"code": code, "output": r[0], "line_count": r[1], "level": lv})
    for lv, rows in per_level.items():
        dump(f"tinypy_{lv}.jsonl", rows)
    return {"fim_lines": len(lines), "fim_spans": len(spans), "tinypy": {lv: len(r) for lv, r in per_level.items()},
            "seed": f"{seed}/eval", "tinypy_seed": seed + SEED_OFFSETS["eval"], "prefix_suffix_cap_chars": EVAL_CAP,
            "from": "corpus test split; tinypy held-out seed"}


# ---------------------------------------------------------------------------------------------------------------
# CLI


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("build", help="build packed train/val shards, meta.json and held-out eval sets")
    p.add_argument("--db", required=True, help="corpus SQLite file")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json from `tokenizer train`")
    p.add_argument("--out", required=True, help="output folder, e.g. data/ds/NAME")
    p.add_argument("--tinypy-count", type=int, default=0, help="tinypy programs for training (default 0)")
    p.add_argument("--val-tinypy-count", type=int, default=None,
                   help="held-out tinypy programs for validation (default tinypy-count/20)")
    p.add_argument("--mix", default="code=0.7,tinypy=0.3", help="token shares, e.g. code=0.7,tinypy=0.3")
    p.add_argument("--context", type=int, default=512, help="tokens per training row, T (rows hold T+1)")
    p.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help=f"tinypy tasks, from {','.join(TRAIN_TASKS)}")
    p.add_argument("--levels", default=",".join(LEVELS), help="tinypy levels (default all)")
    p.add_argument("--fim-rate", type=float, default=0.5, help="share of code pieces turned into FIM (default 0.5)")
    p.add_argument("--fim-spm-rate", type=float, default=0.5, help="share of FIM pieces in SPM order (default 0.5)")
    p.add_argument("--fim-line-share", type=float, default=0.25,
                   help="share of FIM pieces with line-level spans instead of character spans (default 0.25)")
    p.add_argument("--eval-count", type=int, default=2000, help="held-out tinypy eval programs per level")
    p.add_argument("--eval-fim-count", type=int, default=1000, help="FIM eval records from test-split files")
    p.add_argument("--seed", type=int, default=1234, help="base seed (train S, val S+1000, eval S+2000)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for tinypy work")
    p.add_argument("--force", action="store_true", help="replace an existing dataset in --out")


def run(args) -> int:
    levels = [lv.strip() for lv in args.levels.split(",") if lv.strip()]
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise UserError(f"--levels: unknown level(s) {bad}; choose from {', '.join(LEVELS)}")
    meta = build_dataset(args.db, args.tokenizer, args.out, tinypy_count=args.tinypy_count, mix=args.mix,
                         context=args.context, seed=args.seed, fim_rate=args.fim_rate, fim_spm_rate=args.fim_spm_rate,
                         fim_line_share=args.fim_line_share, tasks=args.tasks, levels=levels,
                         val_tinypy_count=args.val_tinypy_count, eval_count=args.eval_count,
                         eval_fim_count=args.eval_fim_count, workers=args.workers, force=args.force)
    print(f"wrote {args.out} in {meta['build']['seconds']}s: vocab {meta['vocab_size']}, context {meta['context']}")
    for split in ("train", "val"):
        toks = meta["tokens"][split]
        print(f"  {split}: {meta['splits'][split]['rows']} rows; tokens " +
              ", ".join(f"{k}={v:,}" for k, v in toks.items() if v) + f"; mix {meta['mix']['achieved'][split]}")
    print(f"  eval: {meta['eval']['fim_lines']} fim_lines, {meta['eval']['fim_spans']} fim_spans, tinypy "
          f"{meta['eval']['tinypy']}")
    return 0
