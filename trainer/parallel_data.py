"""A run's data built on many cores: what `trainer gpu-recipe` runs on a machine with many CPU cores.

    corpus:  `corpus add-dir` of the code folders in N processes at once, each into its own SQLite database
             (process k ingests the files whose path hashes to k mod N; a repository's split depends only on its
             name, so the databases agree on splits). MinHash near-duplicate removal needs datasketch: where it
             is not installed it is skipped with one log line (exact duplicates are still removed).
    dataset: independent jobs of trainer.dataset.build_from_sources, merged into one dataset folder of the
             usual format (trainer/packed.py):
             - one held-out job: the corpus val and test splits and the held-out tinypy programs (val seed
               S+1000, eval seed S+2000), as in `dataset build`;
             - training jobs, one per (copy, slice of the train files): each packs its slice with its own FIM
               draws and its own fresh tinypy programs (never one of the held-out ones), as many as its code
               needs for the mix. Copy 0 covers every file once; later copies are started while time is left
               before `deadline` (up to `max_copies`), so a fast trainer gets fresh tinypy and new FIM cuts of
               the same code instead of the same rows again.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing as mp
import os
import shutil
import signal
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from trainer.errors import UserError

CHARS_PER_TOKEN = 3.5  # the committed tokenizer on Python code (model card: 3.55)
TOKENS_PER_PROGRAM = 72  # a tinypy program's two task records (program + answer + special tokens), measured
_SHARED: dict = {}  # the parent's state, inherited by forked job processes (copy-on-write)


def near_dup_available() -> bool:
    try:
        import datasketch  # noqa: F401
    except ImportError:
        return False
    return True


def _worker_init() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a pool shutting down must be able to end its workers
    # many processes at once: one tokenizer thread and no progress bars in each
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"


@contextlib.contextmanager
def _pool(workers: int):
    gc.freeze()  # forked children then do not copy the parent's pages when their collector runs
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=_worker_init) as pool:
            yield pool
    finally:
        gc.unfreeze()


# ---------------------------------------------------------------- corpus


def _corpus_shard(db: str, roots: list[str], opts, shard: tuple[int, int]) -> dict:
    from trainer.corpus.localdir import add_dirs

    return dict(add_dirs(db, roots, opts, progress=False, shard=shard))


def build_corpus(roots: list[str], workdir: Path, workers: int, near_dup: str = "auto",
                 exclude: tuple[str, ...] = ("site-packages",), val_fraction: float = 0.05,
                 test_fraction: float = 0.05, log=print) -> dict:
    """`corpus add-dir` over `roots` in `workers` processes -> {"dbs": [...], "counts": {...}, "near_dup": bool}."""
    from trainer.corpus.ingest import Options

    if near_dup not in ("auto", "on", "off"):
        raise UserError(f"near_dup {near_dup!r}: use auto, on or off")
    near = near_dup == "on" or (near_dup == "auto" and near_dup_available())
    if near_dup != "off" and not near:
        log("corpus: datasketch is not installed here: MinHash near-duplicate removal is skipped "
            "(exact duplicates are still removed)")
    for r in roots:
        if not Path(r).is_dir():
            raise UserError(f"code folder {r} is not a directory")
    opts = Options(near_dup_threshold=0.85 if near else 0.0, exclude=list(exclude), val_fraction=val_fraction,
                   test_fraction=test_fraction)
    folder = workdir / "corpus"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    dbs = [str(folder / f"corpus-{k:02d}.sqlite") for k in range(workers)]
    counts: Counter = Counter()
    with _pool(workers) as pool:
        for c in pool.map(_corpus_shard, dbs, [roots] * workers, [opts] * workers,
                          [(k, workers) for k in range(workers)]):
            counts.update(c)
    return {"dbs": dbs, "counts": dict(sorted(counts.items())), "near_dup": near, "roots": roots}


def read_code(dbs: list[str]) -> dict[str, list[str]]:
    """{"train"|"val"|"test": texts} from every shard database, exact duplicates removed across all of them."""
    from trainer.dataset import _dedup_splits, _sha, corpus_texts

    code = {s: [t for db in dbs for t in corpus_texts(db, s)] for s in ("train", "val", "test")}
    _dedup_splits(code, _sha)
    return code


# ---------------------------------------------------------------- dataset


def _tinypy_for(texts: list[str], mix: dict[str, float]) -> int:
    """Programs that give `texts` their tinypy share of the mix (10% spare: the builder drops the excess)."""
    if mix["tinypy"] <= 0 or mix["code"] <= 0:
        return 0
    code_tokens = sum(map(len, texts)) / CHARS_PER_TOKEN
    return int(code_tokens * mix["tinypy"] / mix["code"] / TOKENS_PER_PROGRAM * 1.1) + 1


def _train_job(index: int, copy: int, part: int, parts: int, out: str) -> dict:
    from trainer.dataset import LEVELS, build_from_sources, generate_tinypy

    s = _SHARED
    texts = s["code"]["train"][part::parts]
    seed = s["seed"] + 100_000 + index  # apart from the held-out seeds S+1000 and S+2000
    count = _tinypy_for(texts, s["mix"])
    progs = generate_tinypy(count, seed, LEVELS) if count else {}
    held = s["heldout_programs"]
    progs = {lv: [p for p in ps if p not in held] for lv, ps in progs.items()}
    t0 = time.time()
    build_from_sources({"train": texts}, {"train": progs}, s["tokenizer"], out, mix=s["mix"], context=s["context"],
                       seed=seed, eval_count=0, eval_fim_count=0, force=True, **s["fim"])
    return {"index": index, "copy": copy, "part": part, "out": out, "files": len(texts),
            "tinypy_programs": sum(map(len, progs.values())), "seconds": round(time.time() - t0, 1)}


def _heldout_job(out: str) -> dict:
    from trainer.dataset import build_from_sources

    s = _SHARED
    t0 = time.time()
    build_from_sources({"val": s["code"]["val"], "test": s["code"]["test"]}, s["heldout"], s["tokenizer"], out,
                       mix=s["mix"], context=s["context"], seed=s["seed"], eval_count=s["eval_count"],
                       eval_fim_count=s["eval_fim_count"], force=True, **s["fim"])
    return {"index": "heldout", "out": out, "seconds": round(time.time() - t0, 1)}


def build_dataset_parallel(code: dict[str, list[str]], tokenizer, out: Path, *, workers: int, context: int,
                           mix: str = "code=0.7,tinypy=0.3", fim_rate: float = 0.5, fim_spm_rate: float = 0.5,
                           fim_line_share: float = 0.25, seed: int = 1234, val_tinypy: int = 2000,
                           eval_count: int = 200, eval_fim_count: int = 1000, max_copies: int = 1,
                           deadline: float | None = None, log=print) -> dict:
    """The dataset folder `out` from corpus texts, built by parallel jobs (module docstring); returns its meta."""
    from trainer.dataset import LEVELS, _check_options, generate_tinypy, parse_mix

    mix_d = parse_mix(mix) if isinstance(mix, str) else mix
    _check_options(mix_d, context, fim_rate, fim_spm_rate, fim_line_share, out, True)
    if not code["train"]:
        raise UserError("the corpus has no training files: check the code folders")
    out = Path(out)
    parts_dir = out.with_name(out.name + ".parts")
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True)
    t0 = time.time()
    heldout = {"val": generate_tinypy(val_tinypy, seed + 1000, LEVELS, workers=workers) if val_tinypy else {},
               "eval": generate_tinypy(eval_count * len(LEVELS), seed + 2000, LEVELS, workers=workers)
               if eval_count else {}}
    _SHARED.clear()
    _SHARED.update(code=code, mix=mix_d, context=context, seed=seed, tokenizer=str(tokenizer), heldout=heldout,
                   heldout_programs={p for split in heldout.values() for ps in split.values() for p in ps},
                   fim={"fim_rate": fim_rate, "fim_spm_rate": fim_spm_rate, "fim_line_share": fim_line_share},
                   eval_count=eval_count, eval_fim_count=eval_fim_count)
    parts = max(1, min(workers, len(code["train"])))
    jobs = [(copy, part) for copy in range(max(1, max_copies)) for part in range(parts)]
    done: list[dict] = []
    with _pool(workers) as pool:
        pending = {pool.submit(_heldout_job, str(parts_dir / "heldout"))}
        nxt = 0
        while True:
            # copy 0 always runs in full; later copies only start before the deadline
            while len(pending) < workers and nxt < len(jobs) and (nxt < parts or deadline is None
                                                                   or time.time() < deadline):
                copy, part = jobs[nxt]
                pending.add(pool.submit(_train_job, nxt, copy, part, parts, str(parts_dir / f"job-{nxt:03d}")))
                nxt += 1
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                done.append(f.result())  # a failed job fails the build, with its own error
    train_jobs = sorted((d for d in done if d["index"] != "heldout"), key=lambda d: d["index"])
    copies = Counter(d["copy"] for d in train_jobs)
    log(f"dataset: {len(train_jobs)} training jobs ({len(copies)} copies of the {len(code['train'])} training "
        f"files, {sum(d['tinypy_programs'] for d in train_jobs):,} fresh tinypy programs) in "
        f"{time.time() - t0:.0f}s")
    meta = merge_parts(parts_dir / "heldout", [Path(d["out"]) for d in train_jobs], out)
    meta["build"].update({"parallel": {"workers": workers, "jobs": len(train_jobs), "copies": dict(copies),
                                       "seconds": round(time.time() - t0, 1)}})
    from trainer.packed import write_json_atomic

    shutil.copyfile(tokenizer, out / "tokenizer.json")  # found there by `trainer train` and export
    meta["tokenizer"] = "tokenizer.json"
    write_json_atomic(out / "meta.json", meta)
    shutil.rmtree(parts_dir)
    return meta


def _add_numbers(into: dict, other: dict) -> None:
    for k, v in other.items():
        if isinstance(v, dict):
            _add_numbers(into.setdefault(k, {}), v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            into[k] = into.get(k, 0) + v


def merge_parts(heldout: Path, jobs: list[Path], out: Path) -> dict:
    """One dataset folder from the held-out part (val split, eval sets) and the training parts (train splits):
    shard files are moved and renamed, row counts, token counts and FIM counts added up."""
    from trainer.dataset import _digest

    meta = json.loads((heldout / "meta.json").read_text(encoding="utf-8"))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for sh in meta["splits"]["val"]["shards"]:
        for kind in ("tokens", "mask", "source"):
            os.replace(heldout / f"{sh['stem']}.{kind}.npy", out / f"{sh['stem']}.{kind}.npy")
    os.replace(heldout / "eval", out / "eval")
    shards, tokens, counts, fim, hashes = [], {}, {}, {}, []
    for j, job in enumerate(jobs):
        jm = json.loads((job / "meta.json").read_text(encoding="utf-8"))
        for i, sh in enumerate(jm["splits"]["train"]["shards"]):
            stem = f"train-{j:03d}-{i:03d}"
            for kind in ("tokens", "mask", "source"):
                os.replace(job / f"{sh['stem']}.{kind}.npy", out / f"{stem}.{kind}.npy")
            shards.append({"stem": stem, "rows": sh["rows"]})
        _add_numbers(tokens, jm["tokens"]["train"])
        _add_numbers(counts, jm["counts"]["train"])
        _add_numbers(fim, jm["fim"]["pieces_transformed"]["train"])
        hashes.append(jm["hashes"]["code_texts_sha256"]["train"] + jm["hashes"]["tinypy_programs_sha256"]["train"])
        for task, spec in jm["prompts"]["tasks"].items():  # the longest answer of any part sets the limit
            cur = meta["prompts"]["tasks"].setdefault(task, spec)
            cur["max_new_tokens"] = max(cur["max_new_tokens"], spec["max_new_tokens"])
    meta["splits"]["train"] = {"rows": sum(s["rows"] for s in shards), "shards": shards}
    meta["tokens"]["train"], meta["counts"]["train"] = tokens, counts
    meta["fim"]["pieces_transformed"]["train"] = fim
    total = sum(v for k, v in tokens.items() if k != "pad")
    code_share = sum(v for k, v in tokens.items() if k.startswith("code")) / max(1, total)
    meta["mix"]["achieved"]["train"] = {"code": round(code_share, 4), "tinypy": round(1 - code_share, 4)}
    meta["hashes"]["train_parts_sha256"] = _digest(hashes)
    meta["seeds"]["tinypy"]["train"] = "S + 100000 + job"
    return meta
