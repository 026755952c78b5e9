"""`python -m trainer generate`: PyTorch greedy decoding from a run's checkpoint (reference for the engine).

    python -m trainer generate --run build/test-pipeline/run --prompt-ids 1,2,3 --max-new-tokens 16

Prints the new token ids (comma-separated; stops after <|endoftext|>, which is included) or, with --json,
{"prompt_ids": [...], "new_ids": [...], "checkpoint": ..., "step": ...}.
"""

from __future__ import annotations

import argparse
import json

from trainer.errors import UserError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="training run folder (holds checkpoints/)")
    parser.add_argument("--checkpoint", default="best", help="best, last, or a .pt path")
    parser.add_argument("--prompt-ids", required=True, help="comma-separated prompt token ids")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="most new tokens to generate")
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def run(args) -> int:
    from trainer.export import load_model
    from trainer.model import greedy

    try:
        prompt = [int(x) for x in args.prompt_ids.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--prompt-ids {args.prompt_ids!r}: expected comma-separated integers") from None
    model, ckpt = load_model(args.run, args.checkpoint)
    if not prompt or max(prompt) >= model.cfg.vocab_size or min(prompt) < 0:
        raise UserError(f"--prompt-ids must be non-empty ids in [0, {model.cfg.vocab_size})")
    new = greedy(model, prompt, args.max_new_tokens)
    if args.json:
        print(json.dumps({"prompt_ids": prompt, "new_ids": new, "checkpoint": args.checkpoint, "step": ckpt["step"]}))
    else:
        print(",".join(map(str, new)))
    return 0
