"""`corpus add-dir`: ingest .py files from local folders.

Repository of a file: `<root name>/<first path component>`, i.e. each top-level package or folder under the root
is one repository (stdlib: `json/decoder.py` -> `python3.11/json`), and each top-level single-file module is its
own repository (`os.py` -> `python3.11/os.py`): they are independent modules, and finer units balance the splits.

Walked recursively without following symlinks (so symlink loops cannot trap the walk); symlinked and non-regular
.py files are recorded as skipped, never read. Hidden folders/files and `__pycache__` are skipped; more with
--exclude GLOB (matched against the relative path and against each name in it). A file already recorded (same
root, same relative path) is not read again, so re-running adds nothing.
"""

from __future__ import annotations

import collections
import os
import stat
import sys
import time
import zlib
from pathlib import Path

from tqdm import tqdm

from trainer.corpus import clean, store
from trainer.corpus.ingest import Ingester, Options, excluded, wanted
from trainer.errors import UserError

SOURCE = "local"


def scan(root: Path, exclude: list[str]):
    """Yield the relative posix paths of candidate .py entries (files, symlinks, special files) under root."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__"
                             and not excluded(rel_dir + d, exclude))
        for name in sorted(filenames):
            rel = rel_dir + name
            if wanted(rel, exclude):
                yield rel


def add_dirs(db_path: str, roots: list[str], opts: Options, progress: bool = True,
             shard: tuple[int, int] | None = None) -> collections.Counter:
    """Ingest every root; returns counts of what happened to the files (kept, duplicate, skipped:<reason>, ...).
    shard=(k, n): only the files whose relative path hashes to k mod n, so that n processes can each fill their
    own database from the same roots (a repository's split depends only on its name, so they agree)."""
    resolved = []
    for r in roots:
        path = Path(r).expanduser()
        if not path.is_dir():
            raise UserError(f"{r} is not a directory")
        resolved.append(path.resolve())
    counts: collections.Counter = collections.Counter()
    with store.writer_lock(db_path):
        conn = store.connect(db_path)
        try:
            ingester = Ingester(conn, opts)
            for root in resolved:
                _add_root(conn, ingester, root, opts, counts, progress, shard)
        finally:
            conn.commit()
            conn.close()
    return counts


def _add_root(conn, ingester: Ingester, root: Path, opts: Options, counts, progress: bool,
              shard: tuple[int, int] | None = None) -> None:
    candidates = list(scan(root, opts.exclude))
    if shard is not None:
        k, n = shard
        candidates = [rel for rel in candidates if zlib.crc32(rel.encode("utf-8", "surrogatepass")) % n == k]
    repo_ids: dict[str, int] = {}
    last_commit = time.monotonic()
    bar = tqdm(candidates, desc=f"add-dir {root.name}", unit="file", file=sys.stderr, disable=not progress)
    for rel in bar:
        name = f"{root.name}/{rel.split('/')[0]}"
        if name not in repo_ids:
            repo_ids[name] = store.ensure_repo(conn, SOURCE, name, ingester.split_for(SOURCE, name),
                                               root=str(root), status="done")
        repo_id = repo_ids[name]
        if conn.execute("SELECT 1 FROM files WHERE repo_id=? AND path=?", (repo_id, rel)).fetchone():
            counts["already_recorded"] += 1
            continue
        status, reason, data = _read(root / rel, ingester)
        if data is None:
            conn.execute("INSERT INTO files (repo_id, path, status, reason) VALUES (?, ?, ?, ?)",
                         (repo_id, rel, status, reason))
            counts[f"{status}:{reason}"] += 1
        else:
            sha = clean.git_blob_sha(data)
            file_id = conn.execute("INSERT INTO files (repo_id, path, sha, size, status) VALUES (?, ?, ?, ?, ?)",
                                   (repo_id, rel, sha, len(data), store.PENDING)).lastrowid
            status = ingester.finish(file_id, data, sha, rel)
            reason = conn.execute("SELECT reason FROM files WHERE id=?", (file_id,)).fetchone()[0]
            counts[status if status == store.KEPT else f"{status}:{reason}"] += 1
        if time.monotonic() - last_commit > 1.0:  # batch commits: a crash re-reads at most a second of files
            conn.commit()
            last_commit = time.monotonic()
        bar.set_postfix(kept=counts[store.KEPT], refresh=False)
    conn.commit()


def _read(path: Path, ingester: Ingester) -> tuple[str, str | None, bytes | None]:
    """(status, reason, None) for a file we do not read, or (pending, None, bytes)."""
    try:
        st = os.lstat(path)
    except OSError:
        return store.SKIPPED, "unreadable", None
    if stat.S_ISLNK(st.st_mode):
        return store.SKIPPED, "symlink", None
    if not stat.S_ISREG(st.st_mode):  # FIFOs, sockets, devices: reading could block or never end
        return store.SKIPPED, "not_regular", None
    reason = ingester.size_reason(st.st_size)
    if reason:
        return store.SKIPPED, reason, None
    try:
        with open(path, "rb") as f:
            data = f.read(ingester.opts.max_bytes + 1)  # the file may have grown since stat
    except OSError:
        return store.SKIPPED, "unreadable", None
    return store.PENDING, None, data
