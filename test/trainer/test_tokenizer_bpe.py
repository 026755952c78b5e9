"""Tokenizer: lossless round-trip on awkward text, atomic special tokens with the ids of DESIGN.md, digits one by one,
indentation runs as single tokens, and (when node is here) the same ids from @huggingface/tokenizers."""

import inspect
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trainer import tokenizer as T

ROOT = Path(__file__).resolve().parents[2]

AWKWARD = [
    "",
    " ",
    "\n",
    "\r\n\r\n",
    "\r",
    "def f(x):\r\n\treturn x  \r\n",
    "class A:\n    def m(self):\n        if self.x:\n            return 1\n\n\n",
    "\t\t\tdeep tab\n\t \t mixed  \n",
    "trailing spaces   \nand\ttabs\t\n   ",
    "s = 'café naïve Ünïcödé ß ÿ'\n",
    "中文注释 = '日本語 한국어'  # 🙂👍🏽 emoji with modifier\n",
    "x\u00a0=\u20091  # nbsp and thin space\u2028line sep\u2029para\x0b\x0c\x1b[0m\n",
    "e\u0301 combining, \ufeffBOM inside, \u200bzero width\n",
    "text = '<|endoftext|>' + \"<|fim_prefix|>\" + '<|fim_middle|><|fim_suffix|><|fim_pad|><|answer|>'\n",
    "<|task_output|>print(1)<|answer|>1\n<|endoftext|>",
    "<|endoftext",
    "n = 1234567890 + 0x1F + 3.14e-10 + 1_000_000\n",
    "\x00\x01\x7f nul and controls\n",
    "    " * 20 + "x\n",
]


def _corpus() -> list[str]:
    import collections
    import json as json_mod
    import textwrap

    return AWKWARD * 3 + [inspect.getsource(m) for m in (collections, json_mod.decoder, textwrap, inspect)]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    path = T.train_tokenizer(_corpus(), 1024, tmp_path_factory.mktemp("tok") / "tokenizer.json")
    return T.load_tokenizer(path)


def test_round_trip_is_lossless(tok):
    for text in _corpus():
        assert T.decode(tok, T.encode_text(tok, text)) == text
    # text the tokenizer never saw, including all 256 byte values as characters and astral-plane symbols
    unseen = "".join(chr(i) for i in range(1, 256)) + "\U0001f600\U00010348 \t\r\n" + "𝔘𝔫𝔦"
    assert T.decode(tok, T.encode_text(tok, unseen)) == unseen


def test_special_ids_follow_design_table(tok):
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    table = {int(i): t.replace("\\|", "|") for i, t in re.findall(r"^\| (\d+) \| `([^`]+)` \|", design, re.M)}
    assert table, "could not read the special-token table from DESIGN.md"
    assert [table[i] for i in range(len(table))] == T.SPECIAL_TOKENS
    for i, t in enumerate(T.SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i
    saved = {a["content"]: a for a in json.loads(tok.to_str())["added_tokens"]}
    assert all(saved[t]["special"] and saved[t]["id"] == i for i, t in enumerate(T.SPECIAL_TOKENS))


def test_special_strings_in_text_are_ordinary_bytes(tok):
    for text in AWKWARD:
        ids = T.encode_text(tok, text)
        assert min(ids, default=99) >= len(T.SPECIAL_TOKENS), text
    for i, t in enumerate(T.SPECIAL_TOKENS):
        ids = T.encode_text(tok, f"a{t}b")
        assert i not in ids and T.decode(tok, ids) == f"a{t}b"
        # the plain library call on a loaded tokenizer obeys the same rule
        assert i not in tok.encode(t).ids


def test_special_ids_are_atomic(tok):
    for i, t in enumerate(T.SPECIAL_TOKENS):
        assert T.decode(tok, [i]) == t
        assert tok.id_to_token(i) == t
    # a special token inserted by id between ordinary pieces survives a decode unchanged
    ids = T.encode_text(tok, "x = 1\n") + [T.EOT] + T.encode_text(tok, "y")
    assert T.decode(tok, ids) == "x = 1\n<|endoftext|>y"
    # no ordinary vocabulary entry contains a special-token string
    for s, i in tok.get_vocab().items():
        if i >= len(T.SPECIAL_TOKENS):
            assert "<|" not in s or not any(t in s for t in T.SPECIAL_TOKENS)


def test_digits_are_split_individually(tok):
    text = "x = 1234567890\ny = 3.14159 + 42 * 2**64 - 0o777\n"
    for i in T.encode_text(tok, text):
        assert sum(ch.isdigit() for ch in T.decode(tok, [i])) <= 1


def test_indentation_runs_are_single_tokens(tok):
    for indent in (" " * 4, " " * 8, " " * 12):
        ids = T.encode_text(tok, f"\n{indent}return x")
        pieces = [T.decode(tok, [i]) for i in ids]
        # newline, then the run of spaces as one token (the last space may go with the word, as in " return")
        first_word = next(k for k, p in enumerate(pieces) if p.strip())
        assert first_word <= 2 and "".join(pieces[:first_word + 1]).startswith("\n" + indent[:-1]), pieces


def test_token_bytes_match_decode(tok):
    table = T.token_bytes(tok)
    for text in AWKWARD:
        ids = T.encode_text(tok, text)
        assert b"".join(table[i] for i in ids).decode("utf-8") == text


def test_load_rejects_wrong_special_ids(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from trainer.errors import UserError

    other = Tokenizer(models.BPE())
    other.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    other.train_from_iterator(AWKWARD, trainers.BpeTrainer(vocab_size=300, special_tokens=T.SPECIAL_TOKENS[::-1]))
    other.save(str(tmp_path / "other.json"))
    with pytest.raises(UserError, match="expected 0"):
        T.load_tokenizer(tmp_path / "other.json")
    with pytest.raises(UserError, match="not found"):
        T.load_tokenizer(tmp_path / "missing.json")


JS = r"""
const {Tokenizer} = require(process.argv[2]);
const fs = require('fs');
const tok = new Tokenizer(JSON.parse(fs.readFileSync(process.argv[3], 'utf8')), {clean_up_tokenization_spaces: false});
const texts = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
console.log(JSON.stringify(texts.map(s => {
  const ids = tok.model(tok.pre_tokenizer(s)).map(t => tok.token_to_id(t));
  return {ids, text: ids.length ? tok.decode(ids) : ""};
})));
"""


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules/@huggingface/tokenizers").is_dir(),
                    reason="node or node_modules/@huggingface/tokenizers not installed")
def test_javascript_tokenizer_gives_the_same_ids(tok, tmp_path):
    tok_path = tmp_path / "tokenizer.json"
    tok.save(str(tok_path))
    texts = [t for t in _corpus() if "\x00" not in t]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    (tmp_path / "parity.cjs").write_text(JS)
    out = subprocess.run(["node", str(tmp_path / "parity.cjs"), str(ROOT / "node_modules/@huggingface/tokenizers"),
                          str(tok_path), str(tmp_path / "texts.json")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for text, got in zip(texts, json.loads(out.stdout), strict=True):
        assert got["ids"] == T.encode_text(tok, text), text
        assert got["text"] == text


def test_a_dataset_finds_its_own_tokenizer_by_hash(tmp_path):
    # The pipeline's layout keeps tokenizer.json next to the dataset folder; an --init-from model folder has one too.
    # Only a file whose sha256 the dataset recorded may be taken: another tokenizer trains fine and exports garbage.
    data, model = tmp_path / "pipe" / "dataset", tmp_path / "model"
    data.mkdir(parents=True)
    model.mkdir()
    (tmp_path / "pipe" / "tokenizer.json").write_text("the other one")
    (model / "tokenizer.json").write_text("the right one")
    meta = {"tokenizer_sha256": T.file_sha256(model / "tokenizer.json")}
    assert T.find_for_dataset(data, meta, None) is None
    assert T.find_for_dataset(data, meta, None, also=[model]) == model / "tokenizer.json"
    with pytest.raises(T.UserError, match="not the one"):
        T.find_for_dataset(data, meta, str(tmp_path / "pipe" / "tokenizer.json"))
    with pytest.raises(T.UserError, match="not found"):
        T.find_for_dataset(data, meta, str(tmp_path / "missing.json"))
    # A dataset without a recorded hash (older builds) takes the first file in the usual places.
    assert T.find_for_dataset(data, {}, None) == tmp_path / "pipe" / "tokenizer.json"
