"""What every file goes through, from GitHub or a local folder: size, decoding, quality filters, optional comment
stripping, exact dedup (blob SHA, then normalised text), near-dup removal and the secret scan (corpus/secrets.py);
then its verdict is written to its `files` row. Callers own the transaction, so a verdict commits together with the
crawl state that led to it.
"""

from __future__ import annotations

import fnmatch
import sqlite3
from dataclasses import dataclass, field

from trainer.corpus import clean, secrets, splits, store
from trainer.errors import UserError


@dataclass
class Options:
    min_bytes: int = 1024
    max_bytes: int = 100 * 1024
    strip_comments: bool = False
    near_dup_threshold: float = 0.85  # 0 turns near-dup removal off
    num_perm: int = 128
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    split_seed: int = 0
    exclude: list[str] = field(default_factory=list)


def wanted(relpath: str, patterns: list[str]) -> bool:
    """A .py path outside hidden folders and __pycache__, not matched by --exclude."""
    parts = relpath.split("/")
    return (relpath.endswith(".py") and not any(p.startswith(".") or p == "__pycache__" for p in parts)
            and not excluded(relpath, patterns))


def excluded(relpath: str, patterns: list[str]) -> bool:
    """True if the relative path, or any folder/file name in it, matches one of the --exclude globs."""
    parts = relpath.split("/")
    return any(fnmatch.fnmatchcase(relpath, pat) or any(fnmatch.fnmatchcase(p, pat) for p in parts)
               for pat in patterns)


class Ingester:
    def __init__(self, conn: sqlite3.Connection, opts: Options):
        if opts.min_bytes < 0 or opts.max_bytes < opts.min_bytes:
            raise UserError(f"need 0 <= --min-bytes ({opts.min_bytes}) <= --max-bytes ({opts.max_bytes})")
        if not 0 <= opts.near_dup_threshold <= 1:
            raise UserError("--near-dup-threshold must be in [0, 1] (0 turns near-dup removal off)")
        splits.check_fractions(opts.val_fraction, opts.test_fraction)
        store.fix_settings(conn, {
            "val_fraction": str(opts.val_fraction), "test_fraction": str(opts.test_fraction),
            "split_seed": str(opts.split_seed), "strip_comments": str(opts.strip_comments),
            "near_dup": f"{opts.near_dup_threshold}/{opts.num_perm}",
        })
        self.conn, self.opts = conn, opts
        secrets.scan_unmarked(conn)  # a database from before the scan: its kept files get scanned once, now
        self.near = None
        if opts.near_dup_threshold > 0:
            from trainer.corpus.dedup import NearDup  # numpy + datasketch: only when needed
            self.near = NearDup(conn, opts.near_dup_threshold, opts.num_perm)

    def split_for(self, source: str, repo: str) -> str:
        return splits.assign_split(source, repo, self.opts.val_fraction, self.opts.test_fraction, self.opts.split_seed)

    def size_reason(self, size: int) -> str | None:
        if size < self.opts.min_bytes:
            return "too_small"
        if size > self.opts.max_bytes:
            return "too_large"
        return None

    def sha_verdict(self, sha: str, file_id: int) -> tuple[str, str, int | None] | None:
        """The verdict for a blob whose exact bytes were already processed elsewhere (no need to fetch it)."""
        row = self.conn.execute(
            "SELECT id, status, reason, dup_of FROM files WHERE sha=? AND id<>? AND status IN (?, ?, ?) LIMIT 1",
            (sha, file_id, store.KEPT, store.DUPLICATE, store.SKIPPED)).fetchone()
        if row is None or (row["status"] == store.SKIPPED and row["reason"] in ("too_small", "too_large")):
            return None  # size verdicts depend on this run's limits, not on the bytes
        if row["status"] == store.KEPT:
            return store.DUPLICATE, "same_sha", row["id"]
        return row["status"], row["reason"], row["dup_of"]

    def set_verdict(self, file_id: int, status: str, reason: str | None, dup_of: int | None = None) -> str:
        self.conn.execute("UPDATE files SET status=?, reason=?, dup_of=? WHERE id=?", (status, reason, dup_of, file_id))
        return status

    def finish(self, file_id: int, data: bytes, sha: str, path: str = "file.py") -> str:
        """Run the filters on a file's bytes and record its verdict; returns the status. `path` (the file's own) picks
        the secret scan's per-language rules."""
        verdict = self.sha_verdict(sha, file_id)
        if verdict is not None:
            return self.set_verdict(file_id, *verdict)
        size_reason = self.size_reason(len(data))
        if size_reason:
            return self.set_verdict(file_id, store.SKIPPED, size_reason)
        text, reason = clean.decode(data)
        reason = reason or clean.quality_reason(text)
        if reason is None and self.opts.strip_comments:
            try:
                text = clean.strip_comments(text)
            except ValueError:
                reason = "tokenize_error"
            else:
                reason = "empty" if not text.strip() else None
        if reason:
            return self.set_verdict(file_id, store.SKIPPED, reason)
        digest = clean.text_hash(text)
        row = self.conn.execute("SELECT id FROM files WHERE text_hash=? AND status=?", (digest, store.KEPT)).fetchone()
        if row is not None:
            return self.set_verdict(file_id, store.DUPLICATE, "same_text", row[0])
        sig = None
        if self.near is not None:
            sig = self.near.signature(text)
            similar = self.near.find(sig)
            if similar is not None:
                return self.set_verdict(file_id, store.DUPLICATE, "near_dup", similar)
        # Last, so that only files about to be kept pay for the scan; skipped whole (see corpus/secrets.py).
        if secrets.find_secrets(text, path, first_only=True):
            return self.set_verdict(file_id, store.SKIPPED, "secret")
        self.conn.execute("UPDATE files SET status=?, reason=NULL, text_hash=?, text=?, bytes=? WHERE id=?",
                          (store.KEPT, digest, text, len(text.encode("utf-8")), file_id))
        if sig is not None:
            self.near.add(file_id, sig)
        return store.KEPT
