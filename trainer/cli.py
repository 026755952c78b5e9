"""`python -m trainer <verb> ...`: one verb per pipeline stage.

Each verb lives in its own module exposing `configure(parser)` and `run(args) -> int`.
Modules are imported only when their verb is used, so `--help` stays fast (no torch import).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from trainer import __version__
from trainer.errors import UserError

# verb -> (module, one-line description)
VERBS: dict[str, tuple[str, str]] = {
    "tinypy": ("trainer.tinypy.cli", "generate tinypy programs, trace snippets, build the five task datasets"),
    "corpus": ("trainer.corpus.cli", "collect Python code from GitHub or local folders into a SQLite corpus"),
    "tokenizer": ("trainer.tokenizer", "train the byte-level BPE tokenizer"),
    "dataset": ("trainer.dataset", "build packed FIM + trace-task training shards"),
    "train": ("trainer.train", "train a model from a preset on a built dataset"),
    "export": ("trainer.export", "export a trained run to ONNX with a KV cache"),
    "finetune": ("trainer.finetune", "adapt an exported model to a project's own code in a few minutes"),
    "evaluate": ("trainer.evaluate", "evaluate an exported model on held-out data"),
    "memorization": ("trainer.memorization", "share of long completions copied verbatim from the training corpus"),
    "generate": ("trainer.generate", "greedy token ids from a run's checkpoint (the engine's reference)"),
    "pipeline": ("trainer.pipeline", "run corpus -> tinypy -> tokenizer -> dataset -> train -> export in one go"),
    "gpu-recipe": ("trainer.gpu_recipe", "one call on a GPU machine: data built there, train for a time budget, "
                   "export, evaluate (--rehearse: the same on CPU)"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="TinyFIM trainer: build a small fill-in-the-middle code model you can run on a laptop.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="verbs:\n" + "\n".join(f"  {v:<10} {d}" for v, (_, d) in VERBS.items())
        + "\n\nRun `python -m trainer <verb> --help` for a verb's options.",
    )
    parser.add_argument("--version", action="version", version=f"tinyfim-trainer {__version__}")
    parser.add_argument("verb", nargs="?", choices=list(VERBS), metavar="verb")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in VERBS:
        top = _top_parser()
        if not argv:
            top.print_help()
            return 2
        top.parse_args(argv[:1])  # prints --help / --version, or a clear "invalid choice" error
        return 2
    verb = argv[0]
    module_name, description = VERBS[verb]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"python -m trainer {verb}", description=description)
    module.configure(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: work done so far is kept; run the same command again to continue", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
