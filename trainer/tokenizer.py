"""Byte-level BPE tokenizer (Hugging Face `tokenizers`) with TinyFIM's fixed special tokens.

    python -m trainer tokenizer train --db data/corpus.sqlite --tinypy 20000 --vocab-size 8192 --out DIR/tokenizer.json

Design (see docs/DESIGN.md for the token table; the tokens themselves are in trainer/contract.json):
- Lossless: no normalizer, ByteLevel bytes <-> symbols, so decode(encode(x)) == x for any str (tabs, trailing
  spaces, CRLF, non-ASCII). Every byte is in the initial alphabet, so there is never an unknown token.
- Pre-tokenizer: Split(PATTERN, isolated) then ByteLevel(add_prefix_space=False, use_regex=False). PATTERN keeps a
  run of spaces/tabs before a word as one piece (BPE turns indentation runs into single tokens), puts every digit in
  its own piece (digits are tokenized one by one), and never lets a piece contain a whole special-token string.
- Special tokens are AddedTokens with ids 0..11 in SPECIAL_TOKENS order. Ordinary text is encoded with added-token
  matching switched off (`encode_special_tokens = True`), so a file that contains the literal text `<|endoftext|>`
  encodes as ordinary bytes. Special ids only ever come from code that inserts them by id.

Public API
    SPECIAL_TOKENS                       ordered list; SPECIAL_TOKENS[i] has id i
    TASK_TOKENS                          task name -> its special token (output, line_count, states, ...)
    train_tokenizer(texts, vocab_size, out_path) -> Path
    load_tokenizer(path) -> tokenizers.Tokenizer   (ready for encode_text: special-token matching off)
    encode_text(tok, text) -> list[int]  ordinary text; never returns a special id
    decode(tok, ids) -> str              special ids decode to their literal strings
    token_bytes(tok) -> list[bytes]      the bytes each id stands for (for decoding partial sequences)
    file_sha256(path) -> str              the one sha256 of a file (dataset, checkpoint and model.json hashes)
    check_vocab_size(path, n, against)   the one tokenizer-size check (train, export)

Rule for other implementations (the TypeScript engine with @huggingface/tokenizers): encode ordinary text without
added-token matching, i.e. `model(pre_tokenizer(text))` mapped through `token_to_id`, never `encode(text)` (which
splits out `<|...|>` strings); insert special tokens by id; decode with `clean_up_tokenization_spaces: false`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

from trainer import contract
from trainer.errors import UserError

SPECIAL_TOKENS = contract.SPECIAL_TOKENS  # trainer/contract.json
SPECIAL_IDS = contract.SPECIAL_IDS
EOT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD = (SPECIAL_IDS[t] for t in SPECIAL_TOKENS[:5])
ANSWER = SPECIAL_IDS["<|answer|>"]
TASK_TOKENS = {name: contract.task_token(name) for name in contract.TASKS}

# Pieces, in order of preference: an optional non-letter/non-digit char glued to a word (" self", ".append", "_x");
# one digit with an optional leading space; a punctuation run (with the newlines that end its line); trailing spaces
# plus newlines; a whitespace run that leaves its last char to the next word (indentation); any other whitespace.
PATTERN = r"[^\r\n\p{L}\p{N}]?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def _new_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_path: str | os.PathLike,
                    min_frequency: int = 2) -> Path:
    """Trains the BPE on `texts` and writes tokenizer.json atomically. The vocabulary holds the 12 special tokens
    (ids 0..11), all 256 byte symbols and learned merges up to `vocab_size` (fewer if the text runs out)."""
    from tokenizers import AddedToken, pre_tokenizers, trainers

    if vocab_size < len(SPECIAL_TOKENS) + 256 + 1:
        raise UserError(f"--vocab-size {vocab_size} is too small: need at least {len(SPECIAL_TOKENS) + 257} "
                        "(12 special tokens + 256 bytes + merges)")
    tok = _new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    for i, t in enumerate(SPECIAL_TOKENS):  # the contract: never trust, check
        if tok.token_to_id(t) != i:
            raise RuntimeError(f"special token {t} got id {tok.token_to_id(t)}, expected {i}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tok.save(str(tmp))
    os.replace(tmp, out)
    return out


def load_tokenizer(path: str | os.PathLike):
    """Loads tokenizer.json and checks the special-token contract. Added-token matching is switched off, so
    `tok.encode(text)` treats `<|...|>` strings in the text as ordinary bytes (that flag is not saved in the file)."""
    from tokenizers import Tokenizer

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found: train it first (python -m trainer tokenizer train ...)")
    tok = Tokenizer.from_file(str(path))
    for i, t in enumerate(SPECIAL_TOKENS):
        if tok.token_to_id(t) != i:
            raise UserError(f"{path}: special token {t} has id {tok.token_to_id(t)}, expected {i} (see DESIGN.md)")
    tok.encode_special_tokens = True
    return tok


def encode_text(tok, text: str) -> list[int]:
    """Ordinary text -> ids; a literal `<|endoftext|>` in the text becomes ordinary tokens, never id 0."""
    tok.encode_special_tokens = True
    return tok.encode(text, add_special_tokens=False).ids


def encode_texts(tok, texts: list[str]) -> list[list[int]]:
    """encode_text for many texts at once (the Rust side runs them in parallel)."""
    tok.encode_special_tokens = True
    return [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)] if texts else []


def decode(tok, ids) -> str:
    return tok.decode([int(i) for i in ids], skip_special_tokens=False)


def _byte_decoder() -> dict[str, int]:
    # The GPT-2 byte <-> printable-symbol table that ByteLevel uses.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    syms = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            syms.append(256 + n)
            n += 1
    return {chr(s): b for b, s in zip(keep, syms, strict=True)}


def token_bytes(tok) -> list[bytes]:
    """bytes of every id: lets callers join token bytes and decode UTF-8 themselves (strictly, to spot a
    multi-byte character cut between two tokens)."""
    dec = _byte_decoder()
    special = set(SPECIAL_TOKENS)
    out = [b""] * tok.get_vocab_size()
    for s, i in tok.get_vocab().items():
        out[i] = s.encode("utf-8") if s in special else bytes(dec[c] for c in s)
    return out


def check_vocab_size(path, vocab_size: int, against: str) -> None:
    """UserError unless tokenizer.json at `path` has `vocab_size` entries (special tokens included)."""
    from tokenizers import Tokenizer

    n = Tokenizer.from_file(str(path)).get_vocab_size(with_added_tokens=True)
    if n != vocab_size:
        raise UserError(f"tokenizer {path} has {n} tokens but {against} is {vocab_size}")


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_for_dataset(data_dir: Path, meta: dict, explicit: str | None, also=()) -> Path | None:
    """The tokenizer a packed dataset was built with: `explicit`, else the paths its meta names, the dataset folder,
    its parent (the pipeline's layout) and `also` (e.g. an --init-from model folder). When the meta records the
    tokenizer's sha256, only a file with that hash is taken: a wrong tokenizer would train fine and export garbage."""
    want = meta.get("tokenizer_sha256")
    if explicit:
        if not Path(explicit).is_file():
            raise UserError(f"tokenizer {explicit} not found")
        if want and file_sha256(explicit) != want:
            raise UserError(f"tokenizer {explicit} is not the one {data_dir} was built with (sha256 differs)")
        return Path(explicit)
    candidates = []
    for key in ("tokenizer_path", "tokenizer"):
        if isinstance(meta.get(key), str):
            candidates += [Path(meta[key]), data_dir / meta[key]]
    candidates += [data_dir / "tokenizer.json", data_dir.parent / "tokenizer.json"]
    candidates += [Path(d) / "tokenizer.json" for d in also if d]
    for c in candidates:
        if c.is_file() and (not want or file_sha256(c) == want):
            return c
    return None


# ---------------------------------------------------------------------------------------------------------------
# CLI


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("train", help="train the byte-level BPE on the corpus train split plus tinypy programs")
    p.add_argument("--db", required=True, help="corpus SQLite file (python -m trainer corpus ...)")
    p.add_argument("--tinypy", type=int, default=0, metavar="N",
                   help="also train on N generated tinypy programs, spread over all levels (default 0)")
    p.add_argument("--vocab-size", type=int, default=8192, help="vocabulary size incl. special tokens (default 8192)")
    p.add_argument("--out", required=True, help="where to write tokenizer.json")
    p.add_argument("--seed", type=int, default=1234, help="tinypy generator seed (default 1234)")
    p.add_argument("--max-mb", type=float, default=256.0,
                   help="use at most this many MB of corpus text (default 256)")
    p.add_argument("--min-frequency", type=int, default=2, help="minimum pair count for a merge (default 2)")


def run(args) -> int:
    if args.command == "train":
        summary = train_from_sources(db=args.db, tinypy=args.tinypy, vocab_size=args.vocab_size, out=args.out,
                                     seed=args.seed, max_mb=args.max_mb, min_frequency=args.min_frequency)
        print(f"wrote {summary['path']}: vocab {summary['vocab_size']}, trained on {summary['files']} files "
              f"({summary['chars']:,} chars) + {summary['tinypy']} tinypy programs in {summary['seconds']:.1f}s; "
              f"{summary['chars_per_token']:.2f} chars/token on a held-in sample")
    return 0


def train_from_sources(db, tinypy: int, vocab_size: int, out, seed: int = 1234, max_mb: float = 256.0,
                       min_frequency: int = 2) -> dict:
    """The `tokenizer train` stage as a function (used by the pipeline): corpus train split + tinypy programs."""
    from trainer.sources import corpus_texts, generate_tinypy

    t0 = time.time()
    budget = int(max_mb * 1e6)
    texts, chars = [], 0
    for text in corpus_texts(db, "train"):
        if chars >= budget:
            break
        texts.append(text)
        chars += len(text)
    n_files = len(texts)
    if tinypy > 0:
        texts += [p for progs in generate_tinypy(tinypy, seed).values() for p in progs]
    if not texts:
        raise UserError(f"{db}: the train split is empty and --tinypy is 0: nothing to train on")
    path = train_tokenizer(texts, vocab_size, out, min_frequency=min_frequency)
    tok = load_tokenizer(path)
    sample = texts[:: max(1, len(texts) // 500)]
    n_tokens = sum(len(ids) for ids in encode_texts(tok, sample))
    return {"path": str(path), "vocab_size": tok.get_vocab_size(), "files": n_files, "chars": chars,
            "tinypy": tinypy, "seconds": time.time() - t0,
            "chars_per_token": sum(map(len, sample)) / max(1, n_tokens)}
