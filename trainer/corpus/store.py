"""The corpus database: crawl state and file texts in one SQLite file.

One writer (the crawl or add-dir) and any number of readers (stats, export, iter_files) may use it at once:
the journal is WAL, so readers never block the writer and never see half a transaction. Every step of the
crawl commits the work it did together with the state that says it is done, so a process killed at any
moment resumes exactly where its last commit left it.

Tables
  meta     key/value settings fixed at creation (split fractions and seed, strip_comments)
  windows  GitHub search windows: a `created:` range, its status and the next page to fetch
  repos    one row per repository (GitHub) or top-level folder/module (add-dir), with its split
  files    one row per .py file seen, whatever became of it (status + reason), text only when kept
  lsh      MinHash LSH band keys of kept files, to find near-duplicates across runs
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

from trainer.errors import UserError

# File statuses. `pending` and `failed` rows are (re)fetched by the next crawl; the others are final.
PENDING, KEPT, DUPLICATE, SKIPPED, FAILED = "pending", "kept", "duplicate", "skipped", "failed"

# Each entry upgrades the schema by one version (PRAGMA user_version); append, never edit.
MIGRATIONS = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE windows (
        id INTEGER PRIMARY KEY, query TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',  -- pending | split | done | truncated
        total INTEGER, next_page INTEGER NOT NULL DEFAULT 1,
        UNIQUE (query, start, end));
    CREATE TABLE repos (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, name TEXT NOT NULL, root TEXT NOT NULL DEFAULT '',
        stars INTEGER, license TEXT, default_branch TEXT, split TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',  -- pending | listed | done | skipped_license | failed | retry
        error TEXT, UNIQUE (source, root, name));  -- root: the add-dir folder, '' for GitHub
    CREATE TABLE files (
        id INTEGER PRIMARY KEY, repo_id INTEGER NOT NULL REFERENCES repos(id), path TEXT NOT NULL,
        sha TEXT, size INTEGER,
        status TEXT NOT NULL,                    -- pending | kept | duplicate | skipped | failed
        reason TEXT, dup_of INTEGER, text_hash TEXT, text TEXT, bytes INTEGER,
        UNIQUE (repo_id, path));
    CREATE INDEX files_sha ON files (sha);
    CREATE INDEX files_status ON files (status, repo_id);
    CREATE UNIQUE INDEX files_text_hash ON files (text_hash) WHERE status = 'kept';
    CREATE TABLE lsh (band INTEGER NOT NULL, key INTEGER NOT NULL, file_id INTEGER NOT NULL);
    CREATE INDEX lsh_key ON lsh (band, key);
    CREATE TABLE minhash (file_id INTEGER PRIMARY KEY, sig BLOB NOT NULL);
    """,
]


@contextlib.contextmanager
def writer_lock(db_path: str | os.PathLike):
    """One writing command per database: two crawls would fetch the same pending blobs. The OS drops the lock
    when the process dies, even by kill -9, so a crash never leaves the database locked."""
    lock_path = Path(str(db_path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise UserError(f"another corpus command is writing to {db_path}; wait for it or stop it") from exc
        yield


def connect(db_path: str | os.PathLike, readonly: bool = False) -> sqlite3.Connection:
    """Open (and create or migrate, unless readonly) the corpus database."""
    path = Path(db_path)
    if readonly:
        if not path.exists():
            raise UserError(f"no corpus database at {path} (create one with `corpus github` or `corpus add-dir`)")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    else:
        if path.is_dir():
            raise UserError(f"--db {path} is a directory; give a file name such as data/corpus.sqlite")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; a crash loses at most the last commits
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=30000")
    if not readonly:
        _migrate(conn)
    elif conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
        raise UserError(f"{path} is not a corpus database of this version (run a corpus command that writes to it)")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise UserError(f"corpus database schema v{version} is newer than this trainer (v{len(MIGRATIONS)})")
    for i in range(version, len(MIGRATIONS)):
        # each migration and its version bump commit together
        conn.executescript("BEGIN;" + MIGRATIONS[i] + f"; PRAGMA user_version={i + 1}; COMMIT;")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return None if row is None else row[0]


def fix_settings(conn: sqlite3.Connection, settings: dict[str, str]) -> None:
    """Record settings on first use; refuse a later run that asks for different ones (it would mix corpora)."""
    with conn:
        for key, value in settings.items():
            old = get_meta(conn, key)
            if old is None:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            elif old != value:
                raise UserError(
                    f"this corpus was created with {key}={old}, not {value}; use the same value, "
                    f"a new --db, or `corpus resplit` for split settings")


def ensure_repo(conn: sqlite3.Connection, source: str, name: str, split: str, root: str = "", **fields) -> int:
    """Id of the repository row, inserting it (not committed) if new. Existing rows keep their fields."""
    row = conn.execute("SELECT id FROM repos WHERE source=? AND root=? AND name=?", (source, root, name)).fetchone()
    if row is not None:
        return row[0]
    cols = ["source", "name", "split", "root", *fields]
    cur = conn.execute(f"INSERT INTO repos ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       (source, name, split, root, *fields.values()))
    return cur.lastrowid
