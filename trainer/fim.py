"""Fill-in-the-middle transformation (Bavarian et al. 2022) on text and on token pieces of packed rows.

A document is cut into (prefix, middle, suffix) and written as the contract's PSM or SPM prompt template
(trainer/contract.json, the same the engine fills at inference) followed by the middle:

    PSM  <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> middle [<|endoftext|>]
    SPM  <|fim_prefix|> <|fim_suffix|> suffix <|fim_middle|> prefix middle [<|endoftext|>]

Each part is encoded on its own (as at inference, where the prompt ends where the middle starts). Spans:
- "char": two cut points uniform over the characters (the paper's recommended character-level spans);
- "line": what a user in the editor produces: either the rest of a line from a random cursor (no newline), or
  one to three whole lines (with their newlines).

Public API
    FimConfig(rate=0.5, spm_rate=0.5, line_share=0.25)
    char_spans(text, rng) / line_spans(text, rng) -> (prefix, middle, suffix)
    line_remainder_spans(text, rng, min_cursor_at_indent=True) -> (prefix, middle, suffix) | None
    fim_ids(mode, prefix_ids, middle_ids, suffix_ids) -> list[int]   one FIM sequence from encoded parts
    transform_piece(tok, ids, rng, cfg, id_bytes) -> (new_ids, kind) | None   the context-level step in packing
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from trainer.contract import fim_template, render
from trainer.tokenizer import EOT, encode_texts


@dataclass
class FimConfig:
    rate: float = 0.5        # share of code pieces that are transformed (the paper's FIM rate)
    spm_rate: float = 0.5    # share of transformed pieces in SPM order (the rest PSM)
    line_share: float = 0.25  # share of transformed pieces with line-level spans (the rest character-level)

    def check(self) -> None:
        for name in ("rate", "spm_rate", "line_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"FIM {name} must be within [0, 1], got {v}")


def char_spans(text: str, rng: random.Random) -> tuple[str, str, str]:
    a, b = sorted((rng.randint(0, len(text)), rng.randint(0, len(text))))
    return text[:a], text[a:b], text[b:]


def line_remainder_spans(text: str, rng: random.Random, from_indent: bool = True):
    """Middle = the rest of a random non-blank line from a random cursor, without its newline. With `from_indent`
    the cursor is never inside the leading whitespace and the middle is never only whitespace. None if no line fits."""
    starts, pos = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        indent = len(body) - len(body.lstrip()) if from_indent else 0
        if body.strip() and indent < len(body):
            starts.append((pos, indent, len(body)))
        pos += len(line)
    if not starts:
        return None
    start, indent, length = rng.choice(starts)
    for _ in range(8):
        cut = start + rng.randint(indent, length - 1)
        end = start + length
        if not from_indent or text[cut:end].strip():
            return text[:cut], text[cut:end], text[end:]
    return None


def line_spans(text: str, rng: random.Random) -> tuple[str, str, str]:
    """Half the time the rest of a line from a cursor, else 1-3 whole lines; char spans if the text has no lines."""
    if rng.random() < 0.5:
        spans = line_remainder_spans(text, rng, from_indent=False)
        if spans is not None:
            return spans
    lines = text.splitlines(keepends=True)
    if not lines:
        return char_spans(text, rng)
    i = rng.randrange(len(lines))
    k = min(len(lines) - i, rng.randint(1, 3))
    a = sum(len(x) for x in lines[:i])
    b = a + sum(len(x) for x in lines[i:i + k])
    return text[:a], text[a:b], text[b:]


def fim_ids(mode: str, pre: list[int], mid: list[int], suf: list[int]) -> list[int]:
    """The contract's `mode` template with the prefix and suffix ids, then the middle (the model's target)."""
    return render(fim_template(mode), {"prefix": pre, "suffix": suf}) + mid


def transform_piece(tok, ids: list[int], rng: random.Random, cfg: FimConfig, id_bytes: list[bytes]):
    """Context-level FIM of one code piece of a packed row (a document or the part of it in this row, ending in
    <|endoftext|> when the document ends here). Returns (new_ids, "fim" | "fim_line") with len(new_ids) <= len(ids)
    (when re-encoding made it longer, the end of the suffix and then the start of the prefix are trimmed), or None to
    leave the piece as it is: not drawn at the FIM rate, too short, a multi-byte character cut at the row edge, or
    nothing left to trim."""
    if rng.random() >= cfg.rate:
        return None
    has_eot = bool(ids) and ids[-1] == EOT
    body = ids[:-1] if has_eot else ids
    try:
        text = b"".join(id_bytes[i] for i in body).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 2:
        return None
    kind = "fim_line" if rng.random() < cfg.line_share else "fim"
    prefix, middle, suffix = line_spans(text, rng) if kind == "fim_line" else char_spans(text, rng)
    mode = "spm" if rng.random() < cfg.spm_rate else "psm"
    pre, mid, suf = encode_texts(tok, [prefix, middle, suffix])
    extra = len(fim_ids(mode, pre, mid, suf)) - len(body)
    if extra > 0:  # keep the row length: drop tokens from the end of the suffix, then from the start of the prefix
        cut = min(extra, len(suf))
        suf, extra = suf[:len(suf) - cut], extra - cut
        if extra > len(pre):
            return None
        pre = pre[extra:]
    out = fim_ids(mode, pre, mid, suf)
    return (out + [EOT] if has_eot else out), kind
