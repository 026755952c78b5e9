"""dataset build: splits never leak, the loss mask skips exactly the padding, tinypy answers are exactly encode(answer),
meta.json carries the DESIGN.md prompts and per-source token counts, and the eval sets come from held-out data."""

import inspect
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainer import dataset as D
from trainer import tokenizer as T
from trainer.packed import PackedSplit

ROOT = Path(__file__).resolve().parents[2]


def _code_docs(n: int, tag: str) -> list[str]:
    """Small files, each with a unique marker line, plus real code around it and awkward bytes."""
    import collections
    import textwrap

    src = inspect.getsource(collections) + inspect.getsource(textwrap)
    rng = random.Random(tag)
    out = []
    for i in range(n):
        a = rng.randrange(0, len(src) - 1500)
        out.append(f"# MARK-{tag}-{i:04d}-END\r\n" + src[a:a + rng.randint(200, 1500)] + "\tx = 'é中'  \n")
    return out


def _programs(seed: int, levels=("1.1", "2.1", "3.1", "4.1"), n=40) -> dict:
    from trainer.tinypy.generator import generate_programs

    return {lv: generate_programs(lv, n, seed) for lv in levels}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("ds")
    code = {"train": _code_docs(60, "train"), "val": _code_docs(12, "val"), "test": _code_docs(12, "test")}
    code["train"] += code["val"][:2]  # the same file in two splits: must end up only in val
    tinypy = {"train": _programs(1), "val": _programs(2, n=10), "eval": _programs(3, n=10)}
    tinypy["train"]["1.1"] += tinypy["val"]["1.1"][:3]  # a program in two splits: must end up only in val
    tok_path = T.train_tokenizer(code["train"] + [p for ps in tinypy["train"].values() for p in ps], 700,
                                 d / "tokenizer.json")
    results = {}
    for name, rate in (("plain", 0.0), ("fim", 1.0)):
        results[name] = D.build_from_sources(code, tinypy, tok_path, d / name, mix="code=0.6,tinypy=0.4", context=128,
                                             seed=7, fim_rate=rate, tasks=("output", "line_count", "states"),
                                             eval_count=5, eval_fim_count=30, rows_per_shard=50)
    return {"dir": d, "code": code, "tinypy": tinypy, "tok": T.load_tokenizer(tok_path), "meta": results}


def _rows(path, split):
    ps = PackedSplit(path, split)
    return ps.rows(np.arange(len(ps)))


def _text(tok, row):
    return T.decode(tok, [i for i in row if i != T.FIM_PAD])


def test_meta_contract(built):
    meta = json.loads((built["dir"] / "plain" / "meta.json").read_text())
    tok = built["tok"]
    assert meta["vocab_size"] == tok.get_vocab_size() and meta["context"] == 128
    assert meta["special_tokens"] == {t: i for i, t in enumerate(T.SPECIAL_TOKENS)}
    assert meta["tokenizer_sha256"] == T.file_sha256(built["dir"] / "tokenizer.json")
    # the prompts block has DESIGN.md's structure and templates
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    block = json.loads("{" + re.search(r'```json\n("prompts": \{.*?\n\})\n```', design, re.S).group(1) + "}")["prompts"]
    assert meta["prompts"]["fim"] == block["fim"]
    for task, spec in block["tasks"].items():
        got = meta["prompts"]["tasks"][task]
        assert got["template"] == spec["template"] and got["stop"] == spec["stop"]
        assert got["max_new_tokens"] >= spec["max_new_tokens"]
    assert meta["sources"][0] == "pad" and {"code", "code/fim", "tinypy/output", "tinypy/line_count"} <= set(
        meta["sources"])
    assert set(meta["splits"]) == {"train", "val"} and len(meta["splits"]["train"]["shards"]) > 1


def test_mask_is_zero_exactly_on_padding(built):
    for name in ("plain", "fim"):
        for split in ("train", "val"):
            toks, mask, src = _rows(built["dir"] / name, split)
            assert toks.shape[1] == 129
            assert np.array_equal(mask == 0, toks == T.FIM_PAD)
            assert np.all(src[mask == 0] == 0) and np.all(src[mask == 1] > 0)
            # padding only at the end of a row
            for row in mask:
                n = int(row.sum())
                assert row[:n].all() and not row[n:].any()
            assert mask[toks == T.EOT].all()  # <|endoftext|> is always a target


def test_token_counts_per_source_match_shards(built):
    for name in ("plain", "fim"):
        meta = built["meta"][name]
        for split in ("train", "val"):
            _, mask, src = _rows(built["dir"] / name, split)
            counts = np.bincount(src[mask == 1], minlength=len(meta["sources"]))
            for i, s in enumerate(meta["sources"][1:], start=1):
                assert meta["tokens"][split][s] == counts[i], (split, s)
            assert meta["tokens"][split]["pad"] == int((mask == 0).sum())
    assert built["meta"]["fim"]["tokens"]["train"]["code/fim"] > 0
    assert built["meta"]["plain"]["tokens"]["train"]["code/fim"] == 0


def test_no_file_in_two_splits_and_no_val_text_in_train(built):
    tok = built["tok"]
    toks, _, _ = _rows(built["dir"] / "plain", "train")
    train_text = "".join(_text(tok, r) for r in toks)
    vtoks, _, _ = _rows(built["dir"] / "plain", "val")
    val_text = "".join(_text(tok, r) for r in vtoks)
    train_marks = set(re.findall(r"MARK-(\w+)-(\d+)-END", train_text))
    val_marks = set(re.findall(r"MARK-(\w+)-(\d+)-END", val_text))
    assert train_marks and val_marks
    assert {t for t, _ in train_marks} == {"train"}  # the val file copied into train was dropped from train
    assert {t for t, _ in val_marks} == {"val"}
    assert "MARK-test" not in train_text + val_text
    assert built["meta"]["plain"]["counts"]["train"]["duplicates_dropped"]["code_files"] == 2


def _records(tok, toks):
    """(task, program, answer ids) of every tinypy record in the rows (records never cross rows)."""
    names = {T.SPECIAL_IDS[f"<|task_{t}|>"]: t for t in D.TRAIN_TASKS}
    out = []
    for row in toks.tolist():
        for k, i in enumerate(row):
            if i in names:
                a = row.index(T.ANSWER, k)
                e = row.index(T.EOT, a)
                out.append((names[i], T.decode(tok, row[k + 1:a]), row[a + 1:e]))
    return out


def test_tinypy_answers_are_exactly_the_answer_tokens(built):
    from trainer.tinypy.tracer import trace

    tok = built["tok"]
    recs = {s: _records(tok, _rows(built["dir"] / "fim", s)[0]) for s in ("train", "val")}
    assert {t for t, _, _ in recs["train"]} == {"output", "line_count", "states"}
    for split, items in recs.items():
        for task, program, answer_ids in items:
            r = trace(program)
            expected = {"output": r.output, "line_count": str(r.line_count), "states": r.states_text()}[task]
            assert answer_ids == T.encode_text(tok, expected), (split, task, program)
            assert T.decode(tok, answer_ids) == expected
    train_progs = {p for _, p, _ in recs["train"]}
    val_progs = {p for _, p, _ in recs["val"]}
    eval_progs = {json.loads(line)["code"] for f in (built["dir"] / "fim" / "eval").glob("tinypy_*.jsonl")
                  for line in f.read_text().splitlines()}
    assert val_progs and not train_progs & val_progs and not (train_progs | val_progs) & eval_progs
    assert set(built["tinypy"]["val"]["1.1"][:3]) <= val_progs


def test_fim_rows_hold_whole_fim_pieces(built):
    toks, _, src = _rows(built["dir"] / "fim", "train")
    sources = built["meta"]["fim"]["sources"]
    fim_src = [sources.index("code/fim"), sources.index("code/fim_line")]
    assert np.isin(src, fim_src).any()
    for row in toks:
        n = (row == T.FIM_PREFIX).sum()
        assert n == (row == T.FIM_SUFFIX).sum() == (row == T.FIM_MIDDLE).sum()
    # rate 1.0: every code piece long enough was transformed
    meta = built["meta"]["fim"]
    assert meta["tokens"]["train"]["code"] < 0.1 * (meta["tokens"]["train"]["code/fim"]
                                                     + meta["tokens"]["train"]["code/fim_line"])


def test_eval_sets_come_from_the_test_split(built):
    ev = built["dir"] / "plain" / "eval"
    test_docs = built["code"]["test"]
    lines = [json.loads(x) for x in (ev / "fim_lines.jsonl").read_text().splitlines()]
    spans = [json.loads(x) for x in (ev / "fim_spans.jsonl").read_text().splitlines()]
    assert len(lines) == 30 and len(spans) == 30
    for r in lines + spans:
        assert set(r) == {"prefix", "suffix", "middle"} and r["middle"].strip()
        assert any(r["prefix"] + r["middle"] + r["suffix"] in d for d in test_docs)
    for r in lines:
        assert "\n" not in r["middle"] and (r["suffix"] == "" or r["suffix"][0] in "\r\n")
    from trainer.tinypy.tracer import trace

    for f in ev.glob("tinypy_*.jsonl"):
        for r in map(json.loads, f.read_text().splitlines()):
            t = trace(r["code"])
            assert (r["output"], r["line_count"], f.name) == (t.output, t.line_count, f"tinypy_{r['level']}.jsonl")
    assert built["meta"]["plain"]["eval"]["tinypy"] == {lv: 5 for lv in ("1.1", "2.1", "3.1", "4.1")}


def test_mix_is_reached_by_dropping_the_larger_pool(built):
    for name in ("plain", "fim"):
        achieved = built["meta"][name]["mix"]["achieved"]["train"]
        assert abs(achieved["code"] - 0.6) < 0.05


def test_cli_end_to_end(tmp_path):
    """corpus add-dir -> tokenizer train -> dataset build through `python -m trainer`, and clear errors."""
    src = tmp_path / "src"
    for i, text in enumerate(_code_docs(24, "cli")):
        (src / f"pkg{i:02d}").mkdir(parents=True)
        (src / f"pkg{i:02d}" / "mod.py").write_text(text * 2, encoding="utf-8")
    db, tok, out = tmp_path / "c.sqlite", tmp_path / "tok" / "tokenizer.json", tmp_path / "ds"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    r = cli("corpus", "add-dir", src, "--db", db, "--quiet", "--val-fraction", "0.25", "--test-fraction", "0.25",
            "--near-dup-threshold", "0")
    assert r.returncode == 0, r.stderr
    r = cli("tokenizer", "train", "--db", db, "--tinypy", 70, "--vocab-size", 600, "--out", tok)
    assert r.returncode == 0, r.stderr
    args = ["dataset", "build", "--db", db, "--tokenizer", tok, "--tinypy-count", 70, "--context", 64,
            "--eval-count", 3, "--eval-fim-count", 10, "--out", out]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["tokens"]["train"]["code"] > 0 and meta["tokens"]["train"]["tinypy/output"] > 0
    assert len(PackedSplit(out, "val")) > 0
    r = cli(*args)  # refuses to overwrite
    assert r.returncode == 2 and "--force" in r.stderr
    r = cli("dataset", "build", "--db", tmp_path / "missing.sqlite", "--tokenizer", tok, "--out", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    r = cli(*args[:-1], tmp_path / "y", "--mix", "code=1,python=2")
    assert r.returncode == 2 and "--mix" in r.stderr
