"""Reading the corpus: `iter_files` (the dataset builder's entry point), `stats` and JSONL export.

All three open the database read-only and read in short id-ordered batches, so they are safe while a crawl is
writing (WAL) and they see only committed files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from trainer.corpus import secrets, store
from trainer.corpus.splits import SPLITS
from trainer.errors import UserError


class CorpusFile(NamedTuple):
    id: int
    repo: str
    path: str
    text: str
    split: str
    source: str  # "github" or "local"
    license: str | None  # SPDX id for GitHub files, None for local ones
    sha: str  # git blob SHA-1 of the original bytes
    stars: int | None


_SELECT = """SELECT f.id, r.name AS repo, f.path, f.text, r.split, r.source, r.license, f.sha, r.stars
             FROM files f JOIN repos r ON r.id = f.repo_id
             WHERE f.status = 'kept' AND f.id > ? {where} ORDER BY f.id LIMIT ?"""


def iter_files(db_path: str | os.PathLike, split: str | None = None, batch: int = 1000) -> Iterator[CorpusFile]:
    """Kept files in insertion order, optionally of one split ("train", "val", "test")."""
    if split is not None and split not in SPLITS:
        raise UserError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    conn = store.connect(db_path, readonly=True)
    # A database from before the secret scan (and not written since): files that hold secrets are left out here.
    unscanned = not secrets.is_marked(conn)
    try:
        last = 0
        while True:
            if split is None:
                rows = conn.execute(_SELECT.format(where=""), (last, batch)).fetchall()
            else:
                rows = conn.execute(_SELECT.format(where="AND r.split = ?"), (last, split, batch)).fetchall()
            if not rows:
                return
            for row in rows:
                if not (unscanned and secrets.find_secrets(row["text"], row["path"], first_only=True)):
                    yield CorpusFile(*row)
            last = rows[-1]["id"]
    finally:
        conn.close()


def stats(db_path: str | os.PathLike) -> dict:
    conn = store.connect(db_path, readonly=True)
    try:
        q = conn.execute
        kept = "FROM files f JOIN repos r ON r.id = f.repo_id WHERE f.status = 'kept'"
        files, nbytes, repos = q(f"SELECT COUNT(*), COALESCE(SUM(f.bytes), 0), COUNT(DISTINCT f.repo_id) {kept}") \
            .fetchone()
        splits = {s: {"files": 0, "bytes": 0, "repositories": 0} for s in SPLITS}
        for row in q(f"SELECT r.split, COUNT(*), SUM(f.bytes), COUNT(DISTINCT f.repo_id) {kept} GROUP BY r.split"):
            splits[row[0]] = {"files": row[1], "bytes": row[2], "repositories": row[3]}
        by = lambda sql: {str(k): v for k, v in q(sql)}  # noqa: E731
        return {
            "files": files, "bytes": nbytes, "repositories": repos, "splits": splits,
            "sources": by(f"SELECT r.source, COUNT(*) {kept} GROUP BY r.source"),
            "licenses": by(f"SELECT COALESCE(r.license, 'unknown'), COUNT(*) {kept} GROUP BY 1 ORDER BY 2 DESC"),
            "duplicates_removed": by("SELECT reason, COUNT(*) FROM files WHERE status='duplicate' GROUP BY reason"),
            "skipped": by("SELECT reason, COUNT(*) FROM files WHERE status='skipped' GROUP BY reason ORDER BY 2 DESC"),
            "pending": q("SELECT COUNT(*) FROM files WHERE status='pending'").fetchone()[0],
            "failed": q("SELECT COUNT(*) FROM files WHERE status='failed'").fetchone()[0],
            "repos_by_status": by("SELECT source || ':' || status, COUNT(*) FROM repos GROUP BY 1"),
            "search_windows": by("SELECT status, COUNT(*) FROM windows GROUP BY status"),
            "settings": by("SELECT key, value FROM meta ORDER BY key"),
        }
    finally:
        conn.close()


def format_stats(s: dict) -> str:
    mib = lambda n: f"{n / 2**20:.1f} MiB"  # noqa: E731
    lines = [f"files {s['files']}  bytes {s['bytes']} ({mib(s['bytes'])})  repositories {s['repositories']}"]
    for name, v in s["splits"].items():
        lines.append(f"  {name:<5} files {v['files']:>8}  bytes {v['bytes'] or 0:>12}  "
                     f"repositories {v['repositories']}")
    for key in ("sources", "licenses", "duplicates_removed", "skipped", "repos_by_status", "search_windows"):
        if s[key]:
            lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in s[key].items()))
    lines.append(f"pending {s['pending']}  failed {s['failed']} (a re-run fetches/retries these)")
    return "\n".join(lines)


def export(db_path: str | os.PathLike, out_dir: str | os.PathLike, shard_files: int = 10000) -> dict[str, int]:
    """Write `<split>-NNNNN.jsonl` shards (one JSON record per line) and manifest.json; returns files per split."""
    if shard_files < 1:
        raise UserError("--shard-files must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    shards: dict[str, list[str]] = {}
    for split in SPLITS:
        for old in out.glob(f"{split}-*.jsonl"):  # a previous export's shards would be stale
            old.unlink()
        counts[split], shards[split] = 0, []
        f = None
        for rec in iter_files(db_path, split):
            if counts[split] % shard_files == 0:
                f = _next_shard(f, out, split, len(shards[split]), shards[split])
            record = {"repo": rec.repo, "path": rec.path, "text": rec.text, "license": rec.license,
                      "sha": rec.sha, "split": rec.split, "source": rec.source}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            counts[split] += 1
        _next_shard(f, out, split, None, shards[split])
    manifest = {"format": "tinyfim-corpus-jsonl-v1", "files": counts, "shards": shards}
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, out / "manifest.json")
    return counts


def _next_shard(f, out: Path, split: str, index: int | None, names: list[str]):
    """Close the open shard (renaming it into place: readers never see half a shard) and open the next."""
    if f is not None:
        f.close()
        os.replace(f.name, f.name[:-len(".tmp")])
    if index is None:
        return None
    name = f"{split}-{index:05d}.jsonl"
    names.append(name)
    return open(out / (name + ".tmp"), "w", encoding="utf-8")
