"""`python -m trainer pipeline`: corpus -> tinypy -> tokenizer -> dataset -> train -> export -> evaluate.

    python -m trainer pipeline --preset test --workdir build/test-pipeline --model build/test-model --fresh [--json]

WORKDIR holds corpus.sqlite, tokenizer.json, dataset/, run/ and state.json. Each finished stage is recorded in
state.json with the hash of its inputs (its options and the hash of the stage before it); a later call skips
stages whose hash is unchanged and redoes the first changed stage and everything after it. An interrupted
training stage resumes from its last checkpoint. --fresh starts every stage over. tinypy programs are generated
(seeded) inside the tokenizer and dataset stages. Progress goes to stderr; the summary to stdout (one JSON line
with --json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from trainer.errors import UserError

STAGES = ("corpus", "tokenizer", "dataset", "train", "export", "evaluate")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, help="preset name (trainer/presets/NAME.json) or a JSON path")
    parser.add_argument("--workdir", default=None, help="folder for corpus, tokenizer, dataset and run "
                        "(default build/pipeline-PRESET)")
    parser.add_argument("--model", default=None, help="exported model folder (default models/PRESET)")
    parser.add_argument("--out", default=None, help="deprecated: the old name of --model")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.add_argument("--fresh", action="store_true", help="start every stage over")
    parser.add_argument("--code", nargs="+", default=None, metavar="PATH",
                        help="folders for the code corpus (default: the preset's data.code: 'stdlib' is this "
                             "Python's standard library, 'site-packages' the packages installed in this Python's "
                             "environment; the test preset uses a few stdlib packages)")
    parser.add_argument("--until", choices=STAGES, default=None,
                        help="stop after this stage (e.g. dataset, to train other sizes on the same data)")
    parser.add_argument("--tinypy-count", type=int, default=None, help="tinypy training programs (default: preset)")
    parser.add_argument("--vocab-size", type=int, default=None, help="tokenizer vocabulary size (default: preset)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: preset)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads for training (default: torch's)")
    parser.add_argument("--quantize", choices=["int8"], default=None, help="quantise the exported model")
    parser.add_argument("--workers", type=int, default=1, help="processes for tinypy generation and tracing")
    parser.add_argument("--eval-limit", type=int, default=None, help="samples per evaluation set (default: preset)")


def run(args) -> int:
    from trainer.train import load_preset

    preset = load_preset(args.preset)
    name = preset["name"]
    workdir = Path(args.workdir or f"build/pipeline-{name}")
    if args.out:
        print("note: --out is deprecated; use --model (the same option name as every other verb)", file=sys.stderr)
    out = Path(args.model or args.out or f"models/{name}")
    summary = run_pipeline(preset, workdir, out, fresh=args.fresh, code=args.code, tinypy_count=args.tinypy_count,
                           vocab_size=args.vocab_size, steps=args.steps, device=args.device, threads=args.threads,
                           quantize=args.quantize, workers=args.workers, eval_limit=args.eval_limit,
                           until=args.until)
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
    return 0


def default_code(preset: dict) -> list[str]:
    """The preset's code folders: data.code names 'stdlib' and/or 'site-packages' (default: stdlib only)."""
    paths = sysconfig.get_paths()
    data = preset.get("data", {})
    subset = data.get("code_subset")
    if subset:
        return [str(Path(paths["stdlib"]) / s) for s in subset]
    known = {"stdlib": paths["stdlib"], "site-packages": paths["purelib"]}
    out = []
    for name in data.get("code", ["stdlib"]):
        if name not in known:
            raise UserError(f"preset data.code: unknown source {name!r} (known: {', '.join(known)})")
        if known[name] not in out:
            out.append(known[name])
    return out


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def unigram_loss(data_dir: Path) -> float:
    """Cross entropy (nats/token) of the train split's own unigram distribution on the val targets: the loss
    a model that learned only token frequencies would have."""
    import numpy as np

    from trainer.packed import PackedSplit

    tr, va = PackedSplit(data_dir, "train"), PackedSplit(data_dir, "val")
    counts = np.ones(tr.vocab_size)  # add-one smoothing
    for start in range(0, len(tr), 256):
        t, m, _ = tr.rows(np.arange(start, min(len(tr), start + 256)))
        np.add.at(counts, t[:, 1:][m[:, 1:] == 1], 1)
    logp = np.log(counts / counts.sum())
    t, m, _ = va.rows(np.arange(len(va)))
    return float(-logp[t[:, 1:][m[:, 1:] == 1]].mean())


def run_pipeline(preset: dict, workdir: Path, out: Path, *, fresh: bool = False, code=None, tinypy_count=None,
                 vocab_size=None, steps=None, device=None, threads=None, quantize=None, workers: int = 1,
                 eval_limit=None, until: str | None = None) -> dict:
    from trainer.cli import main as cli_main
    from trainer.packed import write_json_atomic

    data_cfg = preset.get("data", {})
    code = [str(Path(p).resolve()) for p in (code or default_code(preset))]
    for p in code:
        if not Path(p).is_dir():
            raise UserError(f"--code {p} is not a directory")
    tinypy_count = data_cfg.get("tinypy_count", 0) if tinypy_count is None else tinypy_count
    vocab_size = vocab_size or data_cfg.get("vocab_size", 8192)
    eval_limit = eval_limit or data_cfg.get("eval_limit", 100)
    context = preset["model"]["context"]

    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    state_path = workdir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    db, tok, ds, run_dir = workdir / "corpus.sqlite", workdir / "tokenizer.json", workdir / "dataset", workdir / "run"

    inputs = {
        "corpus": {"code": code, "val": data_cfg.get("val_fraction", 0.05),
                   "test": data_cfg.get("test_fraction", 0.05)},
        "tokenizer": {"vocab_size": vocab_size, "tinypy": min(tinypy_count, data_cfg.get("tokenizer_tinypy", 5000))},
        "dataset": {"tinypy_count": tinypy_count, "mix": data_cfg.get("mix", "code=0.7,tinypy=0.3"),
                    "context": context, "eval_count": data_cfg.get("eval_count", 200),
                    "eval_fim_count": data_cfg.get("eval_fim_count", 500)},
        "train": {"preset": {k: preset[k] for k in ("model", "train")}, "steps": steps, "device": device},
        "export": {"quantize": quantize, "out": str(out)},
        "evaluate": {"limit": eval_limit},
    }
    hashes, prev = {}, ""
    for stage in STAGES:
        prev = hashes[stage] = _hash([prev, inputs[stage]])
    timings: dict[str, float] = {}
    t_all = time.time()

    def done(stage: str) -> bool:
        return state.get(stage, {}).get("hash") == hashes[stage]

    def finish(stage: str, info: dict | None = None) -> None:
        state[stage] = {"hash": hashes[stage], "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "seconds": timings.get(stage), **({"info": info} if info else {})}
        write_json_atomic(state_path, state)

    def stage_start(stage: str) -> bool:
        if done(stage):
            print(f"[pipeline] {stage}: up to date, skipped", file=sys.stderr)
            return False
        for later in STAGES[STAGES.index(stage):]:  # a redone stage invalidates everything after it
            state.pop(later, None)
        write_json_atomic(state_path, state)
        print(f"[pipeline] {stage} ...", file=sys.stderr)
        timings[stage] = time.time()
        return True

    def stage_end(stage: str, info: dict | None = None) -> None:
        timings[stage] = round(time.time() - timings[stage], 1)
        finish(stage, info)
        print(f"[pipeline] {stage}: done in {timings[stage]}s", file=sys.stderr)

    def stop_after(stage: str) -> bool:
        return until is not None and STAGES.index(stage) >= STAGES.index(until)

    if stage_start("corpus"):
        db.unlink(missing_ok=True)
        c = inputs["corpus"]
        rc = cli_main(["corpus", "add-dir", *code, "--db", str(db), "--exclude", "site-packages", "--quiet",
                       "--val-fraction", str(c["val"]), "--test-fraction", str(c["test"])])
        if rc:
            raise UserError(f"corpus stage failed (exit {rc})")
        stage_end("corpus")

    if stop_after("corpus"):
        return _summary(workdir, out, state, t_all)

    if stage_start("tokenizer"):
        from trainer.tokenizer import train_from_sources

        info = train_from_sources(db, tinypy=inputs["tokenizer"]["tinypy"], vocab_size=vocab_size, out=tok)
        stage_end("tokenizer", {"vocab_size": info["vocab_size"], "chars_per_token": info["chars_per_token"]})

    if stop_after("tokenizer"):
        return _summary(workdir, out, state, t_all)

    if stage_start("dataset"):
        from trainer.dataset import build_dataset

        d = inputs["dataset"]
        build_dataset(db, tok, ds, tinypy_count=tinypy_count, mix=d["mix"], context=context,
                      eval_count=d["eval_count"], eval_fim_count=d["eval_fim_count"], workers=workers, force=True)
        stage_end("dataset", {"unigram_val_loss": unigram_loss(ds)})

    if stop_after("dataset"):
        return _summary(workdir, out, state, t_all)

    if stage_start("train"):
        from trainer.train import train

        resume = (run_dir / "checkpoints" / "last.pt").is_file() and state.get("_train_started") == hashes["train"]
        if not resume and run_dir.exists():
            shutil.rmtree(run_dir)
        state["_train_started"] = hashes["train"]
        write_json_atomic(state_path, state)
        summary = train(preset, ds, run_dir, resume=resume, device=device, tokenizer=str(tok),
                        overrides={k: v for k, v in (("steps", steps), ("threads", threads)) if v})
        stage_end("train", {k: summary[k] for k in ("step", "train_loss", "val_loss", "tokens", "tokens_per_s")})

    if stop_after("train"):
        return _summary(workdir, out, state, t_all)

    if stage_start("export"):
        from trainer.export import export_run

        if out.exists():
            shutil.rmtree(out)
        result = export_run(run_dir, out, checkpoint="best", name=preset["name"], quantize=quantize)
        stage_end("export", {"parity": result["parity"], "quantization": result.get("quantization")})

    if stop_after("export"):
        return _summary(workdir, out, state, t_all)

    if stage_start("evaluate"):
        from trainer.evaluate import evaluate_model

        results = evaluate_model(out, ds, limit=eval_limit)
        stage_end("evaluate", results)

    return _summary(workdir, out, state, t_all)


def _summary(workdir: Path, out: Path, state: dict, t_all: float) -> dict:
    return {"workdir": str(workdir), "model": str(out), "seconds": round(time.time() - t_all, 1),
            "unigram_val_loss": state.get("dataset", {}).get("info", {}).get("unigram_val_loss"),
            "train": state.get("train", {}).get("info"),
            "parity": state.get("export", {}).get("info", {}).get("parity"),
            "evaluation": state.get("evaluate", {}).get("info"),
            "stage_seconds": {s: state.get(s, {}).get("seconds") for s in STAGES}}
