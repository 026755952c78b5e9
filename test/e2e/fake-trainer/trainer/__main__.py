"""A stand-in for `python -m trainer pipeline` in the end-to-end test of the editor's train command.

The real pipeline takes minutes of CPU; the editor side only needs a process that prints its stages, exits,
and leaves an exported model in --out. This one records its arguments (args.json next to this file), prints
the stages and copies the model named in model-source.txt (written by the e2e harness) into --out.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent.parent
parser = argparse.ArgumentParser(prog="python -m trainer")
parser.add_argument("verb", choices=["pipeline"])
parser.add_argument("--preset", required=True)
parser.add_argument("--code", nargs="+", required=True)
parser.add_argument("--workdir", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
(here / "args.json").write_text(json.dumps(sys.argv[1:]))
for stage in ("corpus", "tokenizer", "dataset", "train", "export", "evaluate"):
    print(f"[pipeline] {stage} ...", file=sys.stderr)
    time.sleep(0.2)
    print(f"[pipeline] {stage}: done in 0.2s", file=sys.stderr)
source = Path((here / "model-source.txt").read_text().strip())
Path(args.workdir).mkdir(parents=True, exist_ok=True)
shutil.copytree(source, args.out)
print(f"model written to {args.out}")
