"""FIM: PSM and SPM sequences invert back to the document; line-level spans look like an editor cursor;
the context-level step on a packed piece keeps the length and the <|endoftext|>."""

import inspect
import random

import pytest

from trainer import fim
from trainer import tokenizer as T


def encode_fim(tok, prefix: str, middle: str, suffix: str, mode: str) -> list[int]:
    """One FIM training sequence from text, as the dataset writes them."""
    pre, mid, suf = T.encode_texts(tok, [prefix, middle, suffix])
    return fim.fim_ids(mode, pre, mid, suf) + [T.EOT]


def invert_fim(tok, ids) -> str:
    """Rebuilds prefix + middle + suffix from a PSM or SPM sequence (a trailing <|endoftext|> is dropped)."""
    ids = [int(i) for i in ids]
    if ids and ids[-1] == T.EOT:
        ids = ids[:-1]
    assert ids and ids[0] == T.FIM_PREFIX and ids.count(T.FIM_SUFFIX) == 1 and ids.count(T.FIM_MIDDLE) == 1
    s, m = ids.index(T.FIM_SUFFIX), ids.index(T.FIM_MIDDLE)
    if s == 1:  # SPM: the suffix comes first, prefix and middle follow <|fim_middle|> as one text
        return T.decode(tok, ids[m + 1:]) + T.decode(tok, ids[2:m])
    return T.decode(tok, ids[1:s]) + T.decode(tok, ids[m + 1:]) + T.decode(tok, ids[s + 1:m])

DOCS = [
    "def f(x):\r\n\treturn x  \r\n",
    "class A:\n    def m(self):\n        return 'é中🙂' + \"<|endoftext|>\"\n\n",
    "a = 1\nb = 2\n",
    "x",
    "",
    "if  a > 1 :\n\tprint(a)\nelse :\n\tprint(b)",
]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    texts = DOCS + [inspect.getsource(random), inspect.getsource(inspect)]
    return T.load_tokenizer(T.train_tokenizer(texts, 800, tmp_path_factory.mktemp("tok") / "tokenizer.json"))


def _docs():
    src = inspect.getsource(random)
    return DOCS + [src[i:i + 700] for i in range(0, 14000, 700)]


@pytest.mark.parametrize("mode", ["psm", "spm"])
def test_fim_sequences_invert_to_the_document(tok, mode):
    rng = random.Random(0)
    for doc in _docs():
        for spans in (fim.char_spans, fim.line_spans):
            prefix, middle, suffix = spans(doc, rng)
            assert prefix + middle + suffix == doc
            ids = encode_fim(tok, prefix, middle, suffix, mode)
            assert ids[0] == T.FIM_PREFIX and ids[-1] == T.EOT
            assert (ids[1] == T.FIM_SUFFIX) == (mode == "spm" or prefix == "")  # equal when prefix is empty
            assert invert_fim(tok, ids) == doc
            # the model's target after <|fim_middle|> is exactly the middle (SPM: prefix then middle)
            after = T.decode(tok, ids[ids.index(T.FIM_MIDDLE) + 1:-1])
            assert after == (middle if mode == "psm" else prefix + middle)


def test_char_spans_cover_all_cut_points():
    rng = random.Random(1)
    seen = {fim.char_spans("abcd", rng)[1] for _ in range(2000)}
    assert {"", "abcd", "a", "d", "bc"} <= seen


def test_line_remainder_is_rest_of_one_line():
    rng = random.Random(2)
    for doc in _docs():
        for _ in range(20):
            cut = fim.line_remainder_spans(doc, rng, from_indent=True)
            if cut is None:
                assert not doc.strip()
                continue
            prefix, middle, suffix = cut
            assert prefix + middle + suffix == doc
            assert middle.strip() and "\n" not in middle and "\r" not in middle
            assert suffix == "" or suffix[0] in "\r\n"  # it runs to the end of its line
            line_start = prefix[prefix.rfind("\n") + 1:]
            # the cursor is never inside the indentation
            assert not (line_start and line_start.isspace() and middle[0].isspace())


def test_line_spans_whole_lines_start_at_line_start():
    rng = random.Random(3)
    whole = 0
    for _ in range(300):
        doc = "a = 1\n    b = 2\nc = 3\n"
        prefix, middle, suffix = fim.line_spans(doc, rng)
        assert prefix + middle + suffix == doc
        if middle.endswith("\n"):
            whole += 1
            assert prefix == "" or prefix.endswith("\n")
        else:
            assert "\n" not in middle
    assert 50 < whole < 250  # both kinds occur


def test_transform_piece_keeps_length_and_eot(tok):
    table = T.token_bytes(tok)
    rng = random.Random(4)
    cfg = fim.FimConfig(rate=1.0, spm_rate=0.5, line_share=0.5)
    kinds = set()
    for doc in _docs():
        if len(doc) < 2:
            continue
        ids = T.encode_text(tok, doc) + [T.EOT]
        for _ in range(5):
            done = fim.transform_piece(tok, ids, rng, cfg, table)
            if done is None:
                continue
            out, kind = done
            kinds.add(kind)
            assert len(out) <= len(ids) and out[-1] == T.EOT
            assert out.count(T.FIM_PREFIX) == out.count(T.FIM_SUFFIX) == out.count(T.FIM_MIDDLE) == 1
            text = invert_fim(tok, out)
            # trimming only drops the end of the suffix, then the start of the prefix: a contiguous part is left
            assert text in doc and (len(doc) < 300 or len(text) > 0.8 * len(doc))
    assert kinds == {"fim", "fim_line"}


def test_transform_piece_rate_and_broken_utf8(tok):
    table = T.token_bytes(tok)
    ids = T.encode_text(tok, "x = 'é中🙂'\ny = 2\n" * 3)
    rng = random.Random(5)
    assert all(fim.transform_piece(tok, ids, rng, fim.FimConfig(rate=0.0), table) is None for _ in range(50))
    n = sum(fim.transform_piece(tok, ids, rng, fim.FimConfig(rate=0.5), table) is not None for _ in range(400))
    assert 140 < n < 260
    # a piece that starts inside a multi-byte character (cut at a row edge) stays as it is
    k = next(k for k in range(1, len(ids)) if not _utf8_ok(b"".join(table[i] for i in ids[k:])))
    assert all(fim.transform_piece(tok, ids[k:], rng, fim.FimConfig(rate=1.0), table) is None for _ in range(20))


def _utf8_ok(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_fim_config_checks_ranges():
    with pytest.raises(ValueError):
        fim.FimConfig(rate=1.5).check()
    with pytest.raises(ValueError):
        fim.fim_ids("mps", [], [], [])
