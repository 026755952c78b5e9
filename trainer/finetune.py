"""`python -m trainer finetune`: adapt an exported model to one project's code in a few minutes.

    python -m trainer finetune --base models/default --code ~/src/myproject --minutes 15 --out models/myproject

Continues training the base model's float weights (model.safetensors) on the project's Python files:
- files: read (never written) with the corpus filters of `corpus add-dir` (size, generated/minified, exact and near
  duplicates, secrets); 10% of them, chosen by a stable hash of their path, are held out and never trained on;
- data: the base model's tokenizer and context, FIM at the base's rates (model.json data.fim), packed as in
  `dataset build`;
- schedule: a short warm-up, then the learning rate cools down linearly to 0 as the wall-clock budget runs out (the
  WSD schedule with its cool-down over the whole budget: `--cooldown 0.2` keeps it constant until the last 20%), so
  the run ends on time whatever the machine's speed;
- replay: the base's share of tinypy task records (fresh programs) beside the code, so that the hovers' tasks are
  not forgotten, and 50% of the code from this Python's standard library (`--general`), so that general code is not;
- length: the schedule ends after 4 passes over the project's files (`--passes`) when that comes before the budget:
  beyond that the held-out loss no longer falls;
- early stop: the held-out loss is measured every ~1/12 of the budget; when it has not improved three times in a
  row the learning rate cools down from where it is to 0 over a tenth of the budget and the run stops; the model
  kept is the one with the best held-out loss;
- Ctrl-C: writes WORK/checkpoints/last.pt (a run folder `trainer export --run WORK --checkpoint last` accepts),
  then still writes the model folder from the best weights so far, marked partial, and exits with code 130;
- output: a complete model folder (int8 model.onnx, tokenizer.json, model.json, model.safetensors, MODEL_CARD.md)
  with the held-out loss and line exact match before and after. It is written under OUT.partial and renamed to
  OUT only when complete.
`--lora R` trains low-rank adapters (trainer/lora.py) instead of every weight; docs/finetune.md has the comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

from trainer.errors import UserError

HELD_OUT = 0.1
GENERAL = 0.5  # replayed standard-library share: 0.2 and 0.4 lost 12% and 11% of general exact match (docs/finetune.md)
FULL_LR, LORA_LR = 1e-3, 2e-3  # chosen in docs/finetune.md
PASSES = 4.0  # past about 4 passes the held-out loss rises at the learning rates still left (docs/finetune.md)
# Folders of a workspace that hold other people's code or build output, not the project's own.
DEFAULT_EXCLUDE = ["venv", "env", "site-packages", "node_modules", "build", "dist", "__pypackages__", "*.egg-info"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="model folder to start from (it needs model.safetensors)")
    parser.add_argument("--code", required=True, nargs="+", metavar="DIR", help="the project's folders (only read)")
    parser.add_argument("--minutes", required=True, type=float, help="training time budget (preparing the data, "
                        "exporting and measuring come on top: about a minute on a small project)")
    parser.add_argument("--out", required=True, help="the new model folder (must not exist yet)")
    parser.add_argument("--lora", type=int, default=None, metavar="RANK",
                        help="train rank-RANK adapters instead of every weight (default: every weight)")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"peak learning rate (default {FULL_LR:g}, with --lora {LORA_LR:g})")
    parser.add_argument("--optimizer", choices=["adamw", "muon"], default="adamw",
                        help="adamw, or muon for the hidden matrices with adamw for the rest (default adamw)")
    parser.add_argument("--cooldown", type=float, default=1.0, metavar="FRACTION",
                        help="share of the time budget spent cooling the learning rate down to 0 (default 1: a "
                             "linear decay from the end of the warm-up; 0.2: constant, then the last 20%%)")
    parser.add_argument("--passes", type=float, default=PASSES, metavar="N",
                        help=f"end (learning rate cooled down to 0) after N passes over the project's training files "
                             f"when that comes before the time budget (default {PASSES:g}; 0: the time budget only)")
    parser.add_argument("--general", type=float, default=GENERAL, metavar="SHARE",
                        help=f"share of the code from this Python's standard library, replayed so that the model "
                             f"keeps its general code (default {GENERAL:g}; 0: the project only)")
    parser.add_argument("--tinypy", type=float, default=None, metavar="SHARE",
                        help="share of the tokens that are tinypy task records (default: the base's, from its "
                             "model.json; 0: none, and the hovers' tasks are forgotten)")
    parser.add_argument("--batch-size", type=int, default=16, help="rows of the base's context per step")
    parser.add_argument("--exclude", action="append", default=None, metavar="GLOB",
                        help=f"skip matching files/folders (repeatable; default: {' '.join(DEFAULT_EXCLUDE)})")
    parser.add_argument("--eval-lines", type=int, default=200, help="held-out lines for the exact-match figures")
    parser.add_argument("--work", default=None, help="folder for the corpus, data and checkpoint (default OUT.work; "
                        "removed after a complete run unless --keep-work)")
    parser.add_argument("--keep-work", action="store_true", help="keep the work folder after a complete run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=1234, help="seed for FIM cuts, data order and adapters")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def run(args) -> int:
    if args.no_progress:  # also the data-preparation bars (read when tqdm is first imported, and by workers)
        os.environ["TQDM_DISABLE"] = "1"
    try:
        result = finetune(args.base, args.code, args.minutes, args.out, lora=args.lora, lr=args.lr,
                          batch_size=args.batch_size, exclude=args.exclude, eval_lines=args.eval_lines,
                          work=args.work, keep_work=args.keep_work, threads=args.threads, device=args.device,
                          seed=args.seed, progress=not args.no_progress, optimizer=args.optimizer,
                          cooldown=args.cooldown, general=args.general, tinypy=args.tinypy, passes=args.passes)
    except KeyboardInterrupt:  # before training started or while exporting: nothing usable was written
        print(f"interrupted: no model written to {args.out}", file=sys.stderr)
        return 130
    before, after = result["before"], result["after"]
    print(f"held-out loss {before['loss']:.3f} -> {after['loss']:.3f}; held-out line exact match "
          f"{before['exact_match']:.1%} -> {after['exact_match']:.1%} ({after['lines']} lines)", file=sys.stderr)
    if result["stopped"] == "interrupted":
        print(f"interrupted: partial model in {result['out']} (best weights so far); checkpoint "
              f"{result['checkpoint']}", file=sys.stderr)
        return 130
    print(f"wrote {result['out']}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- base model and workspace files


def read_base(base) -> dict:
    """The base folder's manifest, after checking that it has what fine-tuning needs."""
    from trainer.export import WEIGHTS

    base = Path(base)
    manifest_path = base / "model.json"
    if not manifest_path.is_file() or not (base / "tokenizer.json").is_file():
        raise UserError(f"{base} is not a model folder (needs model.json, tokenizer.json and {WEIGHTS})")
    if not (base / WEIGHTS).is_file():
        raise UserError(f"this model has no float weights; {base} needs {WEIGHTS} to be fine-tuned (export it again "
                        "with `python -m trainer export`, or start from a model folder that has it)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if "fim" not in manifest.get("data", {}):
        raise UserError(f"{manifest_path} has no data.fim block: export the base again with this trainer")
    return manifest


def held_out(key: str, fraction: float = HELD_OUT) -> bool:
    """A stable choice per file path: the same files are held out on every run and every machine."""
    digest = hashlib.sha256(f"tinyfim-finetune\0{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def collect_files(roots: list[str], db: Path, exclude: list[str], progress: bool) -> dict[str, str]:
    """{"<root name>/<relative path>": text} of the usable .py files under the roots, through the corpus filters."""
    from trainer.corpus import iter_files
    from trainer.corpus.ingest import Options
    from trainer.corpus.localdir import add_dirs

    if db.exists():  # a fresh database: a leftover one would report every file as already recorded
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
    opts = Options(min_bytes=64, val_fraction=0.0, test_fraction=0.0, exclude=list(exclude))
    add_dirs(str(db), roots, opts, progress=progress)
    return {f"{f.repo.split('/')[0]}/{f.path}": f.text for f in iter_files(db)}


def split_files(files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(train, held out); with few files at least one is held out and at least one trained on."""
    if len(files) < 2:
        raise UserError(f"found {len(files)} usable Python file(s); fine-tuning needs at least 2 (one is held out "
                        "to measure the result). Files under 64 bytes, generated, minified, duplicated or holding "
                        "secrets are left out.")
    held = {k: v for k, v in files.items() if held_out(k)}
    if not held or len(held) == len(files):  # too few files for the hash to split: hold out the lowest hash
        key = min(files, key=lambda k: hashlib.sha256(k.encode("utf-8", "surrogatepass")).hexdigest())
        held = {key: files[key]}
    return {k: v for k, v in files.items() if k not in held}, held


def general_sample(nbytes: int, seed: int, skip: list[str]) -> dict[str, str]:
    """About `nbytes` of this Python's standard library (code like the base's training data, on every machine), in a
    stable order per seed, outside the tests and outside `skip` (the project's own folders): replayed beside the
    project so that the model keeps its general code. {path relative to the standard library: text}"""
    import sysconfig

    from trainer.corpus import clean

    if nbytes <= 0:
        return {}
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skipped = [Path(p).resolve() for p in skip]
    paths = [p for p in stdlib.rglob("*.py") if not {"test", "tests", "idlelib", "site-packages", "__pycache__"}
             & set(p.relative_to(stdlib).parts) and not any(_inside(p, s) for s in skipped)]
    paths.sort(key=lambda p: hashlib.sha256(f"{seed}\0{p.relative_to(stdlib)}".encode()).digest())
    texts, total = {}, 0
    for path in paths:
        if total >= nbytes:
            break
        try:
            data = path.read_bytes()
        except OSError:
            continue
        text, reason = clean.decode(data) if 1024 <= len(data) <= 100 * 1024 else (None, "size")
        if text is not None and clean.quality_reason(text) is None:
            texts[str(path.relative_to(stdlib))] = text
            total += len(data)
    return texts


def build_data(train_texts, held_texts, manifest: dict, tokenizer: Path, work: Path, seed: int, eval_lines: int,
               variants: int = 1, general: float = 0.0, skip: tuple = (), tinypy_share: float | None = None) -> dict:
    """WORK/data: packed train/val rows as `dataset build` makes them (FIM at the base's rates; the base's share of
    tinypy task records, fresh programs, so the hovers' tasks are not forgotten) and held-out line records;
    WORK/data-K (K < variants): the training files packed again with other seeds and programs. A run that goes over a
    small project many times then sees other FIM cuts and row boundaries each time, not the same rows again.
    `general`: the share of the code tokens taken from the standard library (general_sample, new files per packing).
    The validation rows are the held-out files only: the early stop watches the project's code."""
    from trainer.dataset import _write_eval, build_from_sources
    from trainer.sources import generate_tinypy

    data, fim = manifest["data"], manifest["data"]["fim"]
    mix = data.get("mix", {}).get("requested", {"code": 1.0, "tinypy": 0.0})
    tasks = [t for t in data.get("tasks", []) if t in manifest["prompts"].get("tasks", {})]
    share = (float(mix.get("tinypy", 0.0)) if tinypy_share is None else tinypy_share) if tasks else 0.0
    # plenty of programs (they cost ~50 us each), so that the code is never the part cut to reach the mix: at most
    # one token per 2 bytes of code, at least ~30 tokens per program with its task records
    programs = math.ceil(sum(map(len, train_texts)) / 2 * share / max(1e-9, 1 - share) / 30) if share else 0
    replayed = set()
    for k in range(variants):
        out = work / ("data" if k == 0 else f"data-{k}")
        tinypy = {"train": generate_tinypy(programs, seed + 7919 * (k + 1))} if programs else {}
        extra = general_sample(int(sum(map(len, train_texts)) * general / (1 - general)), seed + k, list(skip))
        replayed |= set(extra)
        code = {"train": train_texts + list(extra.values()), "val": held_texts if k == 0 else []}
        built = build_from_sources(code, tinypy, tokenizer, out,
                                   mix={"code": 1 - share, "tinypy": share}, tasks=tasks or ("output",),
                                   context=int(manifest["architecture"]["context_length"]), seed=seed + 1000 * k,
                                   fim_rate=float(fim["rate"]), fim_spm_rate=float(fim["spm_rate"]),
                                   fim_line_share=float(fim["line_share"]), eval_count=0, eval_fim_count=0, force=True)
        if k == 0:
            meta = built
            meta["eval"] = _write_eval(out / "eval", held_texts, [], 0, eval_lines, seed)
    # the engine's prompts are the base's (its task answer lengths), not the ones a code-only build derives
    meta.update(special_tokens=manifest["special_tokens"], prompts=manifest["prompts"], variants=variants,
                general_files=sorted(replayed))
    return meta


def variants_for(train_texts, minutes: float, tokens_per_s: float = 4000.0) -> int:
    """How many packings of the training files: about one per pass the budget allows (bytes / 3.5 ~ tokens), at
    most 8."""
    tokens = sum(len(t) for t in train_texts) / 3.5
    return max(1, min(8, math.ceil(minutes * 60 * tokens_per_s / max(tokens, 1.0))))


# ---------------------------------------------------------------- measuring


def line_exact_match(onnx_path: Path, records: Path, manifest: dict, tokenizer: Path, limit: int,
                     threads: int = 1) -> dict:
    """Greedy completion of held-out lines with the int8 ONNX model as the editor asks for one line: the model's
    default FIM prompt built as the engine builds it (evaluate.fim_prompt), decoding stopped at the first newline, the
    first line compared with the rest of the real line. Exact match overall, at line starts (the cursor after the
    indentation) and mid-line."""
    from trainer.contract import FIM_MAX_NEW_TOKENS
    from trainer.evaluate import _read_jsonl, fim_prompt
    from trainer.onnx_runtime import ort_greedy, ort_session
    from trainer.tokenizer import decode, encode_text, load_tokenizer, token_bytes

    tok = load_tokenizer(tokenizer)
    session = ort_session(onnx_path, threads=threads)
    special = manifest["special_tokens"]
    context = int(manifest["architecture"]["context_length"])
    stops = {special["<|endoftext|>"]} | {i for i, b in enumerate(token_bytes(tok)) if b"\n" in b}
    hits = {"line_start": [], "mid_line": []}
    for rec in _read_jsonl(records, limit):
        prompt = fim_prompt(manifest["prompts"], special, lambda s: encode_text(tok, s), rec["prefix"], rec["suffix"],
                            context - FIM_MAX_NEW_TOKENS)
        out = ort_greedy(session, prompt, FIM_MAX_NEW_TOKENS, stop_ids=stops, context=context)
        text = decode(tok, [i for i in out if i >= len(special)]).split("\n")[0]
        where = "line_start" if not rec["prefix"].rsplit("\n", 1)[-1].strip() else "mid_line"
        hits[where].append(text.rstrip() == rec["middle"].rstrip())
    rate = {k: sum(v) / len(v) if v else float("nan") for k, v in hits.items()}
    n = sum(len(v) for v in hits.values())
    return {"exact_match": sum(map(sum, hits.values())) / max(n, 1), "lines": n, **{f"exact_match_{k}": rate[k]
            for k in hits}, **{f"lines_{k}": len(v) for k, v in hits.items()}}


# ---------------------------------------------------------------- the whole run


def finetune(base, code: list[str], minutes: float, out, *, lora: int | None = None, lr: float | None = None,
             batch_size: int = 16, exclude=None, eval_lines: int = 200, work=None, keep_work: bool = False,
             threads: int | None = None, device: str | None = None, seed: int = 1234, progress: bool = True,
             optimizer: str = "adamw", cooldown: float = 1.0, general: float = GENERAL, passes: float = PASSES,
             tinypy: float | None = None) -> dict:
    import torch

    from trainer.export import load_model_folder
    from trainer.finetune_loop import train_steps
    from trainer.lora import add_lora

    if minutes <= 0:
        raise UserError("--minutes must be more than 0")
    if passes < 0:
        raise UserError("--passes must be 0 (no limit) or more")
    if not 0 <= general < 1 or not (tinypy is None or 0 <= tinypy < 1):
        raise UserError("--general and --tinypy must be within [0, 1)")
    if not 0 < cooldown <= 1:
        raise UserError("--cooldown must be within (0, 1]")
    if lora is not None and lora <= 0:
        raise UserError("--lora RANK must be a positive integer")
    base, out = Path(base), Path(out)
    manifest = read_base(base)
    if out.exists():
        raise UserError(f"{out} already exists: choose a new --out folder (the base and other models stay as they are)")
    roots = [str(Path(c).expanduser()) for c in code]
    for r in roots:
        if not Path(r).is_dir():
            raise UserError(f"--code {r} is not a folder")
        if _inside(out, Path(r)):
            raise UserError(f"--out {out} is inside --code {r}: the project's folders are only read, never written")
    work = Path(work) if work else out.with_name(out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = base / "tokenizer.json"
    t0 = time.time()

    print(f"reading Python files under {', '.join(roots)} (only read)", file=sys.stderr)
    files = collect_files(roots, work / "corpus.sqlite", DEFAULT_EXCLUDE if exclude is None else exclude, progress)
    train_files, held_files = split_files(files)
    (work / "heldout.json").write_text(json.dumps(sorted(held_files), indent=1) + "\n", encoding="utf-8")
    train_texts = list(train_files.values())
    meta = build_data(train_texts, list(held_files.values()), manifest, tokenizer, work, seed, eval_lines,
                      variants_for(train_texts, minutes), general, tuple(roots), tinypy)
    print(f"{len(train_files)} files to learn from, {len(held_files)} held out; {meta['splits']['train']['rows']} rows "
          f"of {meta['context']} tokens (prepared in {time.time() - t0:.0f} s)", file=sys.stderr)

    model, _ = load_model_folder(base, device)
    if model.cfg.vocab_size != meta["vocab_size"] or model.cfg.context != meta["context"]:
        raise UserError(f"{base}: model.safetensors does not match its model.json (vocab or context)")
    trainable = add_lora(model, lora) if lora else model.num_parameters()
    cfg = {"lr": lr or (LORA_LR if lora else FULL_LR), "optimizer": optimizer, "batch_size": batch_size,
           "minutes": minutes, "passes": passes, "cooldown": cooldown, "general": general, "lora": lora,
           "seed": seed, "device": device, "trainable_parameters": trainable}
    _write_run_files(work, base, manifest, meta, cfg)
    records = work / "data" / "eval" / "fim_lines.jsonl"
    before_match = line_exact_match(base / "model.onnx", records, manifest, tokenizer, eval_lines)
    loop = train_steps(model, work, cfg, progress=progress)

    stopped = loop["stopped"]
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model_out = loop["model"]
    after_loss = loop["best_loss"]
    from trainer.export import WEIGHTS, save_weights, write_manifest, write_onnx

    print("exporting: int8 ONNX, parity check, float weights", file=sys.stderr)
    rows = _val_rows(work / "data")
    export = write_onnx(model_out, tmp, quantize="int8", rows=rows)
    shutil.copyfile(tokenizer, tmp / "tokenizer.json")
    save_weights(model_out, tmp / WEIGHTS, {"finetuned_from": manifest.get("name"), "step": loop["best_step"]})
    after_match = line_exact_match(tmp / "model.onnx", records, manifest, tokenizer, eval_lines)
    before = {"loss": loop["base_loss"], **before_match}
    after = {"loss": after_loss, **after_match}
    summary = {"base": {"name": manifest.get("name"), "path": str(base.resolve()),
                        "weights_sha256": manifest.get("files", {}).get(WEIGHTS, {}).get("sha256")},
               "code": roots, "files": {"train": len(train_files), "held_out": len(held_files),
                                        "held_out_paths": sorted(held_files)},
               "rows": {"train": meta["splits"]["train"]["rows"], "held_out": meta["splits"]["val"]["rows"]},
               "fim": {k: manifest["data"]["fim"][k] for k in ("rate", "spm_rate", "line_share")},
               "mix": meta["mix"]["achieved"]["train"], "packings": meta["variants"],
               "general_files": meta["general_files"],
               "config": cfg, "stopped": stopped, "complete": stopped != "interrupted",
               "steps": loop["steps"], "best_step": loop["best_step"], "tokens": loop["tokens"],
               "seconds": round(loop["seconds"], 1), "tokens_per_s": round(loop["tokens"] / max(loop["seconds"], 1e-9)),
               "hardware": loop["hardware"], "precision": loop["precision"], "before": before, "after": after}
    ckpt = {"preset": f"finetune of {manifest.get('name')}", "kind": "best", "step": loop["best_step"],
            "training": {"tokens": loop["tokens"], "seconds": summary["seconds"], "hardware": loop["hardware"]},
            "metrics": {"val_loss": after_loss}}
    name = out.name
    write_manifest(tmp, name=name, model=model_out, ckpt=ckpt, meta=meta, opset=17, quantization="int8",
                   evaluation={"export": export, "finetune": {"before": before, "after": after}})
    _add_finetune_block(tmp, manifest, summary)
    write_card(tmp / "MODEL_CARD.md", name, summary)
    os.replace(tmp, out)
    if stopped != "interrupted" and not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return {**summary, "out": str(out), "checkpoint": str(work / "checkpoints" / "last.pt")}


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _write_run_files(work: Path, base: Path, manifest: dict, meta: dict, cfg: dict) -> None:
    """config.json, tokenizer.json and data_meta.json: with checkpoints/last.pt, WORK is a run folder export reads."""
    from trainer.packed import write_json_atomic

    shutil.copyfile(base / "tokenizer.json", work / "tokenizer.json")
    write_json_atomic(work / "data_meta.json", {**meta, "_path": str((work / "data").resolve())})
    write_json_atomic(work / "config.json", {"finetune": cfg, "base": str(base), "model": manifest["architecture"]})


def _add_finetune_block(out: Path, base_manifest: dict, summary: dict) -> None:
    from trainer.packed import write_json_atomic

    path = out / "model.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m["finetune"] = summary
    m["training"]["base"] = base_manifest.get("training", {})
    m["data"] = {**base_manifest.get("data", {}), "finetune": m["data"]}
    write_json_atomic(path, m)


def _val_rows(data_dir: Path, n: int = 4):
    import numpy as np

    from trainer.packed import PackedSplit

    split = PackedSplit(data_dir, "val")
    tokens, mask, _ = split.rows(np.arange(min(n, len(split))))
    return tokens, mask


# ---------------------------------------------------------------- the card


def write_card(path: Path, name: str, s: dict) -> None:
    """MODEL_CARD.md of a fine-tuned model: what it started from, what it learned from, before and after."""
    b, a, c = s["before"], s["after"], s["config"]
    method = (f"LoRA rank {c['lora']} (adapters merged)" if c["lora"] else "every weight") + f", {c['optimizer']}"
    how = {"time": "the time budget ran out", "passes": f"{c.get('passes', 0):g} passes over the project's files",
           "early": "early stop: the held-out loss stopped improving",
           "interrupted": "**interrupted (Ctrl-C): a partial model, the best weights up to then**"}[s["stopped"]]
    lines = [
        f"# {name}", "",
        f"`{s['base']['name']}` fine-tuned on {s['files']['train']} Python files of "
        f"{', '.join(f'`{r}`' for r in s['code'])} with `python -m trainer finetune`.", "",
        "| | base | fine-tuned |", "|---|---|---|",
        f"| held-out loss (nats/token) | {_fmt(b['loss'])} | {_fmt(a['loss'])} |",
        f"| held-out line exact match ({a['lines']} lines) | {b['exact_match']:.1%} | {a['exact_match']:.1%} |",
        f"| of which at a line start ({a['lines_line_start']}) | {_pct(b['exact_match_line_start'])} | "
        f"{_pct(a['exact_match_line_start'])} |",
        f"| of which mid-line ({a['lines_mid_line']}) | {_pct(b['exact_match_mid_line'])} | "
        f"{_pct(a['exact_match_mid_line'])} |", "",
        f"Held out: {s['files']['held_out']} files (10% by a stable hash of the path, never trained on). Exact match: "
        "the int8 ONNX models complete the rest of a line from a random cursor in those files (greedy, the model's "
        "default FIM prompt, stopped at the end of the line, as the editor asks for one line).", "",
        "## Training", "",
        f"- trained: {method}, {c['trainable_parameters']:,} parameters, peak learning rate {c['lr']:g}, cooled "
        f"down over the last {c['cooldown']:.0%} of a {c['minutes']:g}-minute budget; {s['steps']} steps, "
        f"{s['tokens']:,} tokens in {s['seconds']:.0f} s "
        f"({s['tokens_per_s']:,} tokens/s) on {s['hardware']} in {s['precision']}",
        f"- ended: {how}; kept the weights of step {s['best_step']} (best held-out loss)",
        f"- data: {s['rows']['train']} rows of the base's context per packing ({s['packings']} packings), FIM rate "
        f"{s['fim']['rate']}, SPM share {s['fim']['spm_rate']}, line-level share {s['fim']['line_share']} (the "
        f"base's); {s['mix'].get('tinypy', 0):.0%} of the tokens are tinypy task records (the base's share: the "
        f"hovers' tasks are not forgotten) and {c['general']:.0%} of the code is replayed from the standard library "
        "(general code is not forgotten)",
        "- no calibration.json: the base's hover calibration does not carry over, so hovers show the model's own "
        "probability", "",
        "Held-out files:", "", *[f"- `{p}`" for p in s["files"]["held_out_paths"]], "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1%}"
