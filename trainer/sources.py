"""The data sources the tokenizer and dataset stages read: corpus files of one split and generated tinypy programs.

Public API: corpus_texts(db, split), generate_tinypy(count, seed, levels, workers), LEVELS.
"""

from __future__ import annotations

from pathlib import Path

from trainer.errors import UserError

LEVELS = ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "4.1"]


def corpus_texts(db, split: str):
    """Texts of the kept corpus files of one split (thin layer over trainer.corpus.iter_files)."""
    if not Path(db).is_file():
        raise UserError(f"{db} not found: build a corpus first (python -m trainer corpus add-dir PATH --db {db})")
    from trainer.corpus import iter_files

    for f in iter_files(db, split):
        yield f.text


def generate_tinypy(count: int, seed: int, levels=LEVELS, workers: int = 1) -> dict[str, list[str]]:
    """`count` programs spread evenly over `levels` (seeded): {level: [program, ...]}."""
    try:
        from trainer.tinypy.generator import generate_programs
    except ImportError as exc:  # a trainer copy without tinypy/ (the extension ships only what fine-tuning needs)
        raise UserError(f"the tinypy generator is not available ({exc}); use --tinypy-count 0") from exc

    out = {}
    per = [count // len(levels) + (1 if i < count % len(levels) else 0) for i in range(len(levels))]
    for level, n in zip(levels, per, strict=True):
        out[level] = list(generate_programs(level, n, seed, workers=workers)) if n else []
    return out
