"""What the secret scan costs ingestion: `corpus add-dir` of the same folder with the scan switched off (baseline) and
on, in this same run; then the scanner alone against detect-secrets' own line-by-line scan on a sample.

    .venv/bin/python bench/secret_scan.py [--path DIR] [--sample N]

DIR defaults to this Python's site-packages (about 10k .py files here). Prints files/s (wall and CPU) for both
ingestions and their ratio, the files skipped for secrets by kind, and for the sample the two scanners' files/s,
their ratio and whether their findings are the same.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from trainer.corpus import secrets  # noqa: E402
from trainer.corpus.ingest import Options  # noqa: E402
from trainer.corpus.localdir import add_dirs, scan  # noqa: E402
from trainer.errors import UserError  # noqa: E402


def ingest(path: str, db: str) -> tuple[float, float, collections.Counter]:
    wall, cpu = time.perf_counter(), time.process_time()
    counts = add_dirs(db, [path], Options(), progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", default=sysconfig.get_paths()["purelib"], help="folder to ingest (default site-packages)")
    ap.add_argument("--sample", type=int, default=200, help="files compared against the library's own scan")
    args = ap.parse_args()
    root = Path(args.path)
    if not root.is_dir():
        raise UserError(f"{args.path} is not a directory")
    files = [root / rel for rel in scan(root, [])]
    for f in files:  # read once, so that neither run pays for a cold disk cache
        f.read_bytes()
    print(f"{len(files)} .py files under {root}")

    real = secrets.find_secrets
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("baseline (no scan)", "with the scan"):
            secrets.find_secrets = real if name == "with the scan" else (lambda *a, **k: [])
            try:
                results[name] = ingest(str(root), os.path.join(tmp, f"{len(results)}.sqlite"))
            finally:
                secrets.find_secrets = real
    for name, (wall, cpu, counts) in results.items():
        print(f"{name:<20} {len(files) / wall:7.1f} files/s wall, {len(files) / cpu:7.1f} files/s CPU "
              f"(kept {counts['kept']}, skipped for secrets {counts['skipped:secret']})")
    (bw, bc, _), (sw, sc, counts) = results.values()
    print(f"ingestion with the scan / baseline: {sw / bw:.2f}x wall time, {sc / bc:.2f}x CPU time")

    texts = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if 1024 <= len(text.encode()) <= 100 * 1024:
            texts.append((str(f.relative_to(root)), text))
    kinds = collections.Counter(k for rel, t in texts for _, k in secrets.find_secrets(t, rel, first_only=True))
    print("files with a finding, by the first finding's kind: " + (", ".join(f"{k} {v}" for k, v in kinds.items())
                                                                  or "none"))
    sample = random.Random(0).sample(texts, min(args.sample, len(texts)))
    timed = {}
    for name, fn in (("library line by line", secrets.find_secrets_slow), ("prefiltered", secrets.find_secrets)):
        t0 = time.process_time()
        timed[name] = [sorted(set(fn(t, rel))) for rel, t in sample]
        dt = time.process_time() - t0
        print(f"scanner, {name:<22} {len(sample) / dt:8.1f} files/s CPU ({len(sample)} files)")
        timed[name + " s"] = dt
    same = timed["library line by line"] == timed["prefiltered"]
    print(f"prefiltered / library speed: {timed['library line by line s'] / timed['prefiltered s']:.0f}x; "
          f"same findings: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
