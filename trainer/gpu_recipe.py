"""`python -m trainer gpu-recipe`: one call on a GPU machine that builds its data there, trains for a wall-clock
budget, exports the model folder and evaluates it; `bash scripts/gpu-train.sh` is its wrapper.

    python -m trainer gpu-recipe --out DIR [--minutes M] [--rehearse] [--workdir W] [--gpus N]

Stages (the JSON log DIR/recipe.json is rewritten after each one, so a run stopped at any point leaves it):
  env       Python, torch, device, cores; fails early where no GPU is found (unless --rehearse / --device cpu);
  corpus    `corpus add-dir` of this Python's standard library and site-packages in one process per core;
  dataset   held-out sets and training jobs on every core (trainer/parallel_data.py), tokenized with the committed
            tokenizer models/default/tokenizer.json so the model drops into the engine; fresh tinypy programs;
  train     `trainer train` in a child process (torchrun when --gpus > 1) for the time left: WSD schedule, bf16
            autocast, fused AdamW (or Muon), torch.compile on CUDA; tokens/s and MFU in metrics.jsonl;
  export    int8 ONNX + tokenizer + model.json + model.safetensors, with ONNX parity checked;
  evaluate  the trainer's own greedy exact match (trainer/evaluate.py) on the held-out sets.
Whatever happens, DIR ends with at most 8 files of at most 16 MiB each (what the lent GPU machine sends back):
model/{model.onnx, model.json, tokenizer.json, model.safetensors}, eval.jsonl (held-out rows for `tinyfim bench`),
metrics.jsonl, recipe.log and recipe.json. If a stage fails, the weights of the newest checkpoint are still
written as model/model.safetensors (+ tokenizer.json): `trainer train --init-from DIR/model` goes on from them.

--rehearse runs the same stages on CPU with the preset's "rehearse" overrides (a tiny model, a few stdlib
packages, well under a minute of training), so the recipe is tested where no GPU is.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from trainer.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
MAX_FILES, MAX_BYTES = 8, 16 * MIB  # what the lent GPU machine sends back from $OUT
MODEL_FILES = ("model.onnx", "model.json", "tokenizer.json", "model.safetensors")
FAILURES = ("env", "corpus", "dataset", "train", "export", "evaluate", "diverge")
HEADS = {128: (2, 1), 192: (3, 1), 256: (4, 2), 320: (5, 1), 384: (6, 2)}  # d_model -> (n_head, n_kv_head)


def parse_shape(text: str) -> dict:
    """'6x256' -> n_layer, d_model and the heads the presets use with it (head_dim 64, grouped-query)."""
    import re

    m = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not m:
        raise UserError(f"shape {text!r} is not LAYERSxD_MODEL, e.g. 6x256")
    n_layer, d = int(m[1]), int(m[2])
    n_head, n_kv = HEADS.get(d, (max(1, d // 64), 1))
    return {"n_layer": n_layer, "d_model": d, "n_head": n_head, "n_kv_head": n_kv}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for what comes back (at most 8 files of <= 16 MiB)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="training minutes (default: what is left of --total-minutes after the data is built)")
    parser.add_argument("--rehearse", action="store_true",
                        help="the same stages on CPU with a tiny model and budget (the preset's 'rehearse' section)")
    parser.add_argument("--total-minutes", type=float, default=None,
                        help="wall-clock budget of the whole call (default: the preset's; 9 on the GPU machine, "
                             "whose commands may run 10)")
    parser.add_argument("--preset", default="gpu", help="preset name or JSON path (default gpu)")
    parser.add_argument("--workdir", default=None, help="scratch folder for corpus, dataset and run "
                        "(default build/gpu-recipe, or build/gpu-rehearsal-work with --rehearse)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda; cpu with --rehearse)")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs to train on (torchrun DDP when more than one)")
    parser.add_argument("--workers", type=int, default=None, help="processes for the data (default: every core)")
    parser.add_argument("--optimizer", choices=["adamw", "muon"], default=None, help="default: the preset's")
    parser.add_argument("--shape", default=None, metavar="LAYERSxD_MODEL",
                        help="another model shape, e.g. 6x256 (default: the preset's; bench/gpu_shapes.py times them)")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep WORKDIR's corpus and dataset when they were built with the same settings")
    parser.add_argument("--near-dup", choices=["auto", "on", "off"], default="auto",
                        help="MinHash near-duplicate removal in the corpus (auto: where datasketch is installed)")
    parser.add_argument("--inject-failure", choices=FAILURES, default=None,
                        help="testing aid: fail this stage ('diverge': the training loss turns NaN after the "
                             "first checkpoint) to check that the log and the weights still come back")


# ---------------------------------------------------------------- the log


class Interrupted(BaseException):
    """SIGTERM (a time limit): ends the current stage; the log and the weights are still written."""


class RunLog:
    """DIR/recipe.json, rewritten atomically after every stage, and WORKDIR/recipe.log (every message)."""

    def __init__(self, out: Path, workdir: Path, args: dict):
        self.out, self.text = out, workdir / "recipe.log"
        self.t0 = time.time()
        self.data = {"format": "tinyfim-gpu-recipe-v1", "status": "running",
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "args": args,
                     "stages": {}, "notes": []}
        self.text.write_text("", encoding="utf-8")
        self.save()

    def say(self, message: str) -> None:
        line = f"[recipe {time.time() - self.t0:6.1f}s] {message}"
        print(line, file=sys.stderr, flush=True)
        with open(self.text, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def note(self, message: str) -> None:
        self.data["notes"].append(message)
        self.say(message)

    def save(self) -> None:
        self.data["seconds"] = round(time.time() - self.t0, 1)
        path = self.out / "recipe.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @contextlib.contextmanager
    def stage(self, name: str):
        rec = self.data["stages"][name] = {"status": "running"}
        self.save()
        self.say(f"{name} ...")
        t = time.time()
        try:
            yield rec
        except BaseException as exc:
            rec.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc(limit=6)[-4000:])
            self.data["status"], self.data["failed_stage"] = "failed", name
            self.say(f"{name} FAILED: {type(exc).__name__}: {exc}")
            raise
        else:
            if rec["status"] == "running":
                rec["status"] = "ok"
            self.say(f"{name}: {rec['status']} in {time.time() - t:.1f}s")
        finally:
            rec["seconds"] = round(time.time() - t, 1)
            self.save()


# ---------------------------------------------------------------- settings


def recipe_settings(preset_name: str, rehearse: bool) -> dict:
    """The preset with its 'rehearse' section laid over it (model, train, data and recipe keys)."""
    from trainer.train import load_preset

    preset = load_preset(preset_name)
    if rehearse:
        over = preset.get("rehearse")
        if not over:
            raise UserError(f"preset {preset['name']} has no 'rehearse' section")
        for key in ("model", "train", "data", "recipe"):
            preset[key] = {**preset.get(key, {}), **over.get(key, {})}
    preset.pop("rehearse", None)
    for key in ("total_minutes", "data_minutes", "reserve_minutes", "min_train_minutes", "train_slack_minutes"):
        if key not in preset.get("recipe", {}):
            raise UserError(f"preset {preset['name']}: recipe.{key} is missing")
    return preset


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _tail(path: Path, limit: int) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - limit))
        return f.read().decode("utf-8", "replace")


# ---------------------------------------------------------------- stages


_PROBE = ("import json, torch; c = torch.cuda.is_available(); print(json.dumps({'torch': torch.__version__, "
          "'cuda': c, 'gpus': torch.cuda.device_count(), 'gpu': torch.cuda.get_device_name(0) if c else None}))")


def stage_env(log: RunLog, rec: dict, args, settings: dict) -> str:
    from trainer.parallel_data import near_dup_available

    device = args.device or ("cpu" if args.rehearse else "cuda")
    # torch and CUDA are asked in a child process: the data stages fork worker pools, and a process that has
    # started CUDA (its threads) should not fork
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300, check=False)
    if probe.returncode:
        raise UserError(f"cannot import torch with {sys.executable}: {probe.stderr.strip()[-500:]}")
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    rec.update(python=sys.version.split()[0], executable=sys.executable, **info, cpus=os.cpu_count(),
               datasketch=near_dup_available(), device=device, rehearse=args.rehearse)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        rec["git"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                    timeout=10).stdout.strip() or None
    try:  # the corpus stage scans for secrets: fail here, in seconds, rather than there
        import detect_secrets  # noqa: F401
    except ImportError:
        raise UserError("detect-secrets is not installed (the corpus stage's secret scan needs it): pip install -r "
                        "requirements.txt, or on a machine without network put its wheel in .whl/ (README: Training "
                        "on a GPU)") from None
    if device.startswith("cuda") and not info["cuda"]:
        raise UserError("no CUDA device here: run with --rehearse (a CPU rehearsal) or --device cpu")
    if args.gpus > max(1, info["gpus"]):
        raise UserError(f"--gpus {args.gpus}, but {info['gpus']} GPU(s) are visible")
    log.say(f"env: torch {info['torch']} on {info['gpu'] or 'CPU'}, {os.cpu_count()} cores, device {device}")
    return device


def stage_corpus(log: RunLog, rec: dict, settings: dict, workdir: Path, workers: int, near_dup: str) -> list[str]:
    from trainer.parallel_data import build_corpus
    from trainer.pipeline import default_code

    data = settings["data"]
    info = build_corpus(default_code(settings), workdir, workers, near_dup=near_dup,
                        val_fraction=data.get("val_fraction", 0.05), test_fraction=data.get("test_fraction", 0.05),
                        log=log.note)
    rec.update(roots=info["roots"], near_dup=info["near_dup"], files=info["counts"])
    log.say(f"corpus: {info['counts'].get('kept', 0):,} files kept from {', '.join(info['roots'])}")
    return info["dbs"]


def stage_dataset(log: RunLog, rec: dict, settings: dict, dbs: list[str], ds: Path, workers: int,
                  deadline: float) -> dict:
    from trainer.parallel_data import build_dataset_parallel, read_code

    data = settings["data"]
    tokenizer = ROOT / data.get("tokenizer", "models/default/tokenizer.json")
    code = read_code(dbs)
    rec["code_files"] = {s: len(t) for s, t in code.items()}
    meta = build_dataset_parallel(
        code, tokenizer, ds, workers=workers, context=int(settings["model"]["context"]),
        mix=data.get("mix", "code=0.7,tinypy=0.3"), fim_rate=data.get("fim_rate", 0.5),
        fim_spm_rate=data.get("fim_spm_rate", 0.5), fim_line_share=data.get("fim_line_share", 0.25),
        val_tinypy=int(data.get("val_tinypy", 2000)), eval_count=int(data.get("eval_count", 200)),
        eval_fim_count=int(data.get("eval_fim_count", 1000)), max_copies=int(data.get("max_copies", 1)),
        deadline=deadline, log=log.note)
    if int(meta["vocab_size"]) != int(data.get("vocab_size", meta["vocab_size"])):
        raise UserError(f"tokenizer {tokenizer} has {meta['vocab_size']} tokens, the preset says {data['vocab_size']}")
    rec.update(rows={s: v["rows"] for s, v in meta["splits"].items()},
               tokens={s: sum(v for k, v in t.items() if k != "pad") for s, t in meta["tokens"].items()},
               mix=meta["mix"]["achieved"], fim=meta["fim"], eval=meta["eval"], parallel=meta["build"]["parallel"])
    return meta


def train_command(settings: dict, workdir: Path, ds: Path, run: Path, device: str, gpus: int, minutes: float,
                  compile_: bool, inject: str | None) -> list[str]:
    preset = {k: settings[k] for k in ("name", "model", "train", "data") if k in settings}
    preset["train"] = {**preset["train"], "minutes": round(minutes, 3), "compile": compile_}
    preset_path = workdir / "train-preset.json"
    preset_path.write_text(json.dumps(preset, indent=2) + "\n", encoding="utf-8")
    if gpus > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus), "-m"]
    else:
        cmd = [sys.executable, "-m"]
    cmd += ["trainer", "train", "--preset", str(preset_path), "--data", str(ds), "--out", str(run),
            "--tokenizer", str(ds / "tokenizer.json"), "--device", device, "--no-tensorboard"]
    if inject == "diverge":  # NaN from just after the first checkpoint on: the trainer stops, a checkpoint exists
        first = int(settings["train"]["checkpoint_every"]) + 1
        for s in range(first, first + 4 * int(settings["train"]["nan_patience"])):
            cmd += ["--inject-nan-at", str(s)]
    return cmd


def run_trainer(log: RunLog, cmd: list[str], train_log: Path, timeout_s: float) -> int:
    """The trainer as a child process (its crash or a GPU fault cannot take the driver down); SIGINT at the
    time limit lets it finish its checkpoint, then it is killed."""
    log.say("train: " + " ".join(cmd))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "10",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("TQDM_DISABLE", None)  # the trainer's own progress line goes to train.log
    with open(train_log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            end = time.time() + timeout_s
            while proc.poll() is None:
                if time.time() > end:
                    log.note(f"train: still running after {timeout_s:.0f}s: interrupting it")
                    break
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return proc.returncode


def summarize_metrics(run: Path) -> dict:
    """Steps, tokens, throughput (median over the logged windows after the first, which holds the compilation)
    and the last validation figures from metrics.jsonl."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return {}
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    steps = [r for r in recs if "tokens_per_s" in r]
    evals = [r for r in recs if "val_loss" in r]
    out: dict = {}
    if steps:
        later = steps[1:] or steps
        mid = sorted(later, key=lambda r: r["tokens_per_s"])[len(later) // 2]
        out.update(steps=steps[-1]["step"], tokens=steps[-1]["tokens"], seconds=steps[-1]["seconds"],
                   train_loss=steps[-1]["loss"], tokens_per_s=round(mid["tokens_per_s"]),
                   flops_per_s=mid["flops_per_s"])
        if "mfu" in mid:
            out["mfu"] = round(mid["mfu"], 4)
    if evals:
        out.update({k: v for k, v in evals[-1].items() if k in ("val_loss", "val_bpb") or k.startswith("gen/")})
    out["skipped_steps"] = sum(1 for r in recs if r.get("event") == "skipped_nonfinite")
    return out


def stage_train(log: RunLog, rec: dict, settings: dict, workdir: Path, ds: Path, run: Path, device: str, args,
                minutes: float) -> None:
    tc = settings["train"]
    compile_ = bool(tc.get("compile")) and device.startswith("cuda")
    slack_s = float(settings["recipe"]["train_slack_minutes"]) * 60
    if run.exists():
        shutil.rmtree(run)
    train_log = workdir / "train.log"
    train_log.write_bytes(b"")
    rec.update(minutes=round(minutes, 2), compile=compile_, optimizer=tc.get("optimizer", "adamw"), gpus=args.gpus,
               shape={k: settings["model"][k] for k in ("n_layer", "d_model", "n_head", "n_kv_head", "context")})
    t = time.time()
    try:
        cmd = train_command(settings, workdir, ds, run, device, args.gpus, minutes, compile_, args.inject_failure)
        rc = run_trainer(log, cmd, train_log, minutes * 60 + slack_s)
        if rc and compile_ and not (run / "checkpoints" / "last.pt").exists():
            left = max(0.2, minutes - (time.time() - t) / 60)
            log.note(f"train: failed with torch.compile before any checkpoint (exit {rc}); again without it for "
                     f"{left:.1f} minutes")
            rec["compile"] = False
            shutil.rmtree(run, ignore_errors=True)
            cmd = train_command(settings, workdir, ds, run, device, args.gpus, left, False, args.inject_failure)
            rc = run_trainer(log, cmd, train_log, left * 60 + slack_s)
    finally:
        rec.update(summarize_metrics(run))  # also when a time limit ended the stage
    rec["exit_code"] = rc
    if rc:
        raise RuntimeError(f"the trainer exited with {rc}; the end of its log:\n{_tail(train_log, 1500)}")
    log.say(f"train: {rec.get('steps')} steps, {rec.get('tokens', 0):,} tokens, {rec.get('tokens_per_s', 0):,} "
            f"tokens/s" + (f", MFU {rec['mfu']:.1%}" if "mfu" in rec else "") + f", val loss {rec.get('val_loss')}")


def stage_export(log: RunLog, rec: dict, run: Path, model_dir: Path, name: str) -> None:
    from trainer.export import export_run

    if model_dir.exists():
        shutil.rmtree(model_dir)
    result = export_run(run, model_dir, checkpoint="best", name=name, quantize="int8")
    rec.update(parity=result["parity"], quantization=result.get("quantization"),
               bytes={f: (model_dir / f).stat().st_size for f in MODEL_FILES})
    big = {f: b for f, b in rec["bytes"].items() if b > MAX_BYTES}
    if big:
        raise RuntimeError(f"files over 16 MiB cannot come back from the GPU machine: {big}")


def stage_evaluate(log: RunLog, rec: dict, model_dir: Path, ds: Path, limit: int) -> None:
    from trainer.evaluate import evaluate_model

    results = evaluate_model(model_dir, ds, limit=limit)
    rec.update(limit=limit, results=results)
    log.say("evaluate: " + ", ".join(f"{k} {v['exact_match']:.1%}" for k, v in results.items()))


# ---------------------------------------------------------------- what comes back


def write_eval_rows(ds: Path, path: Path) -> int:
    """The held-out FIM lines and tinypy programs in one JSONL (the rows `tinyfim bench --data` reads)."""
    rows = 0
    with open(path, "w", encoding="utf-8") as out:
        for src in [ds / "eval" / "fim_lines.jsonl", *sorted((ds / "eval").glob("tinypy_*.jsonl"))]:
            if src.is_file():
                for line in src.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        out.write(line + "\n")
                        rows += 1
    return rows


def salvage_weights(run: Path, model_dir: Path, log: RunLog) -> str | None:
    """The newest checkpoint's weights as model.safetensors (+ tokenizer.json), when export did not finish."""
    from trainer.export import WEIGHTS, load_model, save_weights

    for kind in ("last", "best"):
        if (run / "checkpoints" / f"{kind}.pt").is_file():
            model, ckpt = load_model(run, kind)
            model_dir.mkdir(parents=True, exist_ok=True)
            save_weights(model, model_dir / WEIGHTS, {"checkpoint": kind, "step": ckpt.get("step"),
                                                      "tokens": ckpt.get("training", {}).get("tokens"),
                                                      "salvaged": True})
            if (run / "tokenizer.json").is_file():
                shutil.copyfile(run / "tokenizer.json", model_dir / "tokenizer.json")
            log.note(f"salvaged the weights of checkpoint {kind} (step {ckpt.get('step')}) to {model_dir / WEIGHTS}")
            return kind
    return None


def copy_model(model_dir: Path, dest: Path) -> None:
    dest.mkdir(exist_ok=True)
    for f in MODEL_FILES:
        if (model_dir / f).is_file():
            shutil.copyfile(model_dir / f, dest / f)


def collect(log: RunLog, out: Path, workdir: Path, ds: Path, run: Path, model_dir: Path) -> None:
    """Puts the files that come back into DIR and checks the limits; never raises."""
    dest = out / "model"
    try:
        if (model_dir / "model.json").is_file():
            copy_model(model_dir, dest)
        else:
            salvage_weights(run, dest, log)
        if (ds / "eval").is_dir():
            log.data["eval_rows"] = write_eval_rows(ds, out / "eval.jsonl")
        metrics = run / "metrics.jsonl"
        if metrics.is_file():
            (out / "metrics.jsonl").write_text(_tail(metrics, MAX_BYTES // 2).partition("\n")[2]
                                               if metrics.stat().st_size > MAX_BYTES // 2
                                               else metrics.read_text(encoding="utf-8"), encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - the log must still be written
        log.note(f"collect: {type(exc).__name__}: {exc}")
    text = _tail(workdir / "recipe.log", MIB) + "\n---- trainer output (end) ----\n" + _tail(workdir / "train.log",
                                                                                                 2 * MIB)
    (out / "recipe.log").write_text(text, encoding="utf-8")
    from trainer.tokenizer import file_sha256

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "recipe.json")
    listing = {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in files}
    log.data["files"] = listing
    problems = [f"{n} is {v['bytes'] / MIB:.1f} MiB" for n, v in listing.items() if v["bytes"] > MAX_BYTES]
    if len(listing) + 1 > MAX_FILES:
        problems.append(f"{len(listing) + 1} files (at most {MAX_FILES} come back)")
    log.data["limits"] = {"max_files": MAX_FILES, "max_bytes": MAX_BYTES, "ok": not problems, "problems": problems}
    for p in problems:
        log.note(f"limit: {p}")


def prepare_out(out: Path) -> None:
    """DIR must be empty or hold an earlier recipe's output (then it is cleared)."""
    if out.exists() and any(out.iterdir()):
        if not (out / "recipe.json").is_file():
            raise UserError(f"{out} is not empty and holds no earlier recipe output: choose an empty --out")
        for p in out.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------- the verb


def run(args) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # before tqdm is first imported: no bars from the data processes
    out = Path(args.out).resolve()
    workdir = Path(args.workdir or ROOT / ("build/gpu-rehearsal-work" if args.rehearse else "build/gpu-recipe"))
    workdir = workdir.resolve()
    if workdir == out or out in workdir.parents:
        raise UserError("--workdir must not be inside --out (only the results go to --out)")
    settings = recipe_settings(args.preset, args.rehearse)
    if args.optimizer:
        settings["train"]["optimizer"] = args.optimizer
    if args.shape:
        settings["model"].update(parse_shape(args.shape))
    rc_ = settings["recipe"]
    total_s = (args.total_minutes or rc_["total_minutes"]) * 60
    prepare_out(out)
    workdir.mkdir(parents=True, exist_ok=True)
    log = RunLog(out, workdir, {k: v for k, v in vars(args).items()})
    log.data["settings"] = settings

    def on_term(signum, frame):
        raise Interrupted(f"signal {signum}")

    previous = signal.getsignal(signal.SIGTERM)
    # a background job of a shell starts with SIGINT ignored, and the trainer would inherit that: it must stop
    # on SIGINT at the time limit (ending its step and writing its checkpoint)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ds, run_dir, model_dir = workdir / "dataset", workdir / "run", workdir / "model"
    for stale in (run_dir, model_dir):  # an earlier call's: never to be taken for this one's
        shutil.rmtree(stale, ignore_errors=True)
    workers = args.workers or os.cpu_count() or 1
    state_path = workdir / "state.json"
    data_hash = _hash([settings["model"]["context"], settings["data"], args.near_dup])
    try:
        for stage in ("env", "corpus", "dataset", "train", "export", "evaluate"):
            if stage == "train":
                # from here on SIGTERM (a time limit) ends the stage and the weights are still written; not
                # earlier: the data stages fork worker pools, which would inherit the handler and could then
                # no longer be terminated while they wait on a lock
                signal.signal(signal.SIGTERM, on_term)
            with log.stage(stage) as rec:
                if args.inject_failure == stage:
                    raise RuntimeError(f"failure injected at stage {stage} (--inject-failure)")
                if stage == "env":
                    device = stage_env(log, rec, args, settings)
                elif stage in ("corpus", "dataset") and args.reuse_data and (ds / "meta.json").is_file() \
                        and state_path.is_file() and json.loads(state_path.read_text())["data"] == data_hash:
                    rec["status"] = "skipped"
                    log.say(f"{stage}: reusing {ds} (--reuse-data, same settings)")
                elif stage == "corpus":
                    state_path.unlink(missing_ok=True)
                    dbs = stage_corpus(log, rec, settings, workdir, workers, args.near_dup)
                elif stage == "dataset":
                    deadline = log.t0 + float(rc_["data_minutes"]) * 60
                    stage_dataset(log, rec, settings, dbs, ds, workers, deadline)
                    write_eval_rows(ds, out / "eval.jsonl")
                    state_path.write_text(json.dumps({"data": data_hash}) + "\n", encoding="utf-8")
                elif stage == "train":
                    left = (total_s - (time.time() - log.t0)) / 60 - float(rc_["reserve_minutes"])
                    minutes = args.minutes or rc_.get("train_minutes") or max(float(rc_["min_train_minutes"]), left)
                    stage_train(log, rec, settings, workdir, ds, run_dir, device, args, minutes)
                elif stage == "export":
                    shape = settings["model"]
                    name = f"{settings['name']}-{shape['n_layer']}x{shape['d_model']}"
                    stage_export(log, rec, run_dir, model_dir, name + ("-rehearsal" if args.rehearse else ""))
                    copy_model(model_dir, out / "model")  # now: a kill during the evaluation still leaves it
                else:
                    stage_evaluate(log, rec, model_dir, ds, int(settings["data"].get("eval_limit", 100)))
        log.data["status"] = "ok"
    except (Exception, Interrupted) as exc:  # recorded by the stage; what exists still comes back
        if isinstance(exc, UserError):
            log.data["error"] = str(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        collect(log, out, workdir, ds, run_dir, model_dir)
        log.save()
    summary = {k: log.data.get(k) for k in ("status", "failed_stage", "seconds")}
    log.say(f"done: {json.dumps(summary)}; results in {out}")
    return 0 if log.data["status"] == "ok" else 1
