"""Near-duplicate detection: MinHash signatures (datasketch) with LSH buckets kept in the corpus database.

datasketch computes the signatures and picks the band layout (b bands of r rows) for the threshold; the band
keys live in the `lsh` table instead of an in-memory index, so dedup holds across runs, crashes and processes.
A candidate sharing a band is confirmed by its estimated Jaccard similarity before a file is dropped.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3

import numpy as np
from datasketch import MinHash, MinHashLSH

TOKEN = re.compile(r"\w+|[^\w\s]")
SHINGLE = 5  # tokens per shingle


class NearDup:
    def __init__(self, conn: sqlite3.Connection, threshold: float = 0.85, num_perm: int = 128):
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)  # only for its optimal (b, r)
        self.conn, self.threshold, self.bands, self.rows = conn, threshold, lsh.b, lsh.r
        self._mh = MinHash(num_perm=num_perm)  # reused: building the permutations is the slow part

    def signature(self, text: str) -> np.ndarray:
        tokens = TOKEN.findall(text)
        n = max(1, len(tokens) - SHINGLE + 1)
        shingles = {" ".join(tokens[i:i + SHINGLE]).encode("utf-8") for i in range(n)}
        self._mh.clear()
        self._mh.update_batch(list(shingles))
        return self._mh.hashvalues.astype(np.uint32).copy()

    def _keys(self, sig: np.ndarray) -> list[int]:
        return [int.from_bytes(hashlib.blake2b(sig[b * self.rows:(b + 1) * self.rows].tobytes(), digest_size=8)
                               .digest(), "little", signed=True) for b in range(self.bands)]

    def find(self, sig: np.ndarray) -> int | None:
        """Id of a kept file whose estimated Jaccard similarity to `sig` reaches the threshold, if any."""
        seen = set()
        for band, key in enumerate(self._keys(sig)):
            for (file_id,) in self.conn.execute("SELECT file_id FROM lsh WHERE band=? AND key=?", (band, key)):
                if file_id in seen:
                    continue
                seen.add(file_id)
                row = self.conn.execute("SELECT sig FROM minhash WHERE file_id=?", (file_id,)).fetchone()
                other = np.frombuffer(row[0], dtype=np.uint32)
                if float(np.mean(other == sig)) >= self.threshold:
                    return file_id
        return None

    def add(self, file_id: int, sig: np.ndarray) -> None:
        """Index a kept file (inside the caller's transaction)."""
        self.conn.execute("INSERT OR REPLACE INTO minhash (file_id, sig) VALUES (?, ?)", (file_id, sig.tobytes()))
        self.conn.executemany("INSERT INTO lsh (band, key, file_id) VALUES (?, ?, ?)",
                              [(band, key, file_id) for band, key in enumerate(self._keys(sig))])
