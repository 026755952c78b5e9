"""Code corpus: Python files from GitHub or local folders, cleaned and deduplicated, in one SQLite database.

Python API for the dataset builder:

    from trainer.corpus import iter_files
    for f in iter_files("data/corpus.sqlite", "train"):   # split: "train" | "val" | "test" | None (all)
        f.id, f.repo, f.path, f.text, f.split, f.source   # plus f.license, f.sha, f.stars
        ...

`iter_files(db_path, split=None)` yields `CorpusFile` named tuples of kept files in insertion order:
  id       int, stable row id in the database
  repo     "owner/name" (GitHub) or "<root name>/<top-level folder or module>" (add-dir)
  path     path inside the repository (GitHub) or relative to the add-dir root
  text     the file's text, exactly as written (only `#` comments removed if the corpus used --strip-comments)
  split    "train" | "val" | "test", assigned per repository: a repository is never in two splits
  source   "github" | "local"
  license  SPDX id (GitHub) or None (local); sha: git blob SHA-1 of the original bytes; stars (GitHub) or None
It opens the database read-only and is safe while a crawl is writing to it.
`stats(db_path) -> dict` is what `corpus stats --json` prints.

Modules: store (schema, WAL), github (HTTP client, search windows, trees, blobs), localdir (add-dir),
clean (filters, strip-comments), dedup (MinHash LSH), secrets (detect-secrets: files holding secrets are skipped),
ingest (the shared per-file pipeline), splits, export (iter_files, stats, JSONL), cli.
"""

from trainer.corpus.export import CorpusFile, iter_files, stats

__all__ = ["CorpusFile", "iter_files", "stats"]
