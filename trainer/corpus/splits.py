"""Train/val/test assignment per repository, by a stable hash: a repository never spans two splits,
the same repository lands in the same split on every machine and every run, and adding repositories
never moves the ones already there."""

from __future__ import annotations

import hashlib
import sqlite3

from trainer.errors import UserError

SPLITS = ("train", "val", "test")


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise UserError(f"--val-fraction {val_fraction} and --test-fraction {test_fraction} must be in [0, 1) "
                        "and leave a non-empty train share")


def assign_split(source: str, repo: str, val_fraction: float, test_fraction: float, seed: int = 0) -> str:
    digest = hashlib.sha256(f"{seed}\0{source}\0{repo}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def resplit(conn: sqlite3.Connection, val_fraction: float, test_fraction: float, seed: int) -> int:
    """Reassign every repository with new settings; returns how many repositories changed split."""
    check_fractions(val_fraction, test_fraction)
    changed = 0
    with conn:
        for row in conn.execute("SELECT id, source, name, split FROM repos").fetchall():
            split = assign_split(row["source"], row["name"], val_fraction, test_fraction, seed)
            if split != row["split"]:
                conn.execute("UPDATE repos SET split=? WHERE id=?", (split, row["id"]))
                changed += 1
        for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction), ("split_seed", seed)):
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))
    return changed
