"""The five TinyPy tasks: the originals' text formats, correct labels (checked with real CPython), no hangs."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.tinypy.generator import generate_programs, generate_samples
from trainer.tinypy.linetrace import trace_source
from trainer.tinypy.linetrace import trace_steps as reference_steps
from trainer.tinypy.tasks import make_task_records, make_task_samples, split_snippets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def programs():
    return generate_programs("ALL", 250, seed=9)


def _unmask(text: str, answer: str) -> str:
    assert text.count("?") >= 1
    return text.replace("?", answer, 1)


def _unhighlight(text: str) -> tuple[str, int, str]:
    lines = text.split("\n")
    hits = [i for i, s in enumerate(lines) if s.startswith("@")]
    assert len(hits) == 1
    i = hits[0]
    body, states = lines[i][1:].rsplit("$", 1)
    lines[i] = body
    return "\n".join(lines), i, states


def test_output_task(programs):
    texts = make_task_samples("output", programs)
    assert len(texts) == len(programs)
    for code, text in zip(programs, texts, strict=True):
        out = trace_source(code)["output"]
        assert text == code + "\n# output\n" + "\n".join("# " + s for s in out.strip().split("\n"))


def test_states_and_line_count_tasks(programs):
    states = make_task_samples("states", programs)
    counts = make_task_samples("line_count", programs)
    assert len(states) == len(counts) == len(programs)
    for code, s, c in zip(programs, states, counts, strict=True):
        ref = trace_source(code)
        assert s == code + "\n# " + ";".join(f"{k}?{v}" for k, v in ref["states"])
        assert c == code + f"\n# count?{ref['line_count']}"


def test_operator_task(programs):
    texts = make_task_samples("operator", programs)
    assert len(texts) > len(programs) // 3
    labels = set()
    for text in texts:
        m = re.fullmatch(r"(.*)\n# (.*);operator\?([-+*/])", text, re.S)
        assert m, text
        masked, states, op = m.groups()
        labels.add(op)
        original = _unmask(masked, op)
        assert original in programs
        ref = trace_source(original)
        assert states == ";".join(f"{k}?{v}" for k, v in ref["states"])
        # deterministic: every other operator gives other final states (or fails)
        for alt in "+-*/":
            if alt != op:
                other = trace_source(_unmask(masked, alt), max_steps=5000, timeout=2)
                assert other["error"] or other["states"] != ref["states"]
    assert labels == {"+", "-", "*", "/"}  # `*` and `/` are kept, `)` is never a label


DUPLICATE_LINES = [
    "a = 5\nb = a + 1\nb = a + 1\nprint(b)",  # the same line twice: one parsed line, shared operator boxes
    "a = 3\nfor i in range(0, 2) :\n\tb = a * 2\nb = a * 2\nprint(b)",  # the same statement, other indents
    "x = 7\ny = x - 2\ny = x - 2\ny = y + 1\nprint(y)",
]


def test_operator_tasks_on_repeated_lines_mask_one_line_only():
    """Only the masked line gets the other operator; a question whose answer is not unique is dropped."""
    texts = make_task_samples("operator", DUPLICATE_LINES)
    assert "a = 5\nb = a ? 1\nb = a + 1\nprint(b)\n# a?5;b?6;operator?+" not in texts  # any operator gives b=6
    for text in texts:
        masked, states, op = re.fullmatch(r"(.*)\n# (.*);operator\?([-+*/])", text, re.S).groups()
        ref = trace_source(_unmask(masked, op))
        assert states == ";".join(f"{k}?{v}" for k, v in ref["states"])
        for alt in "+-*/":
            if alt != op:
                other = trace_source(_unmask(masked, alt), max_steps=5000, timeout=2)
                assert other["error"] or other["states"] != ref["states"], text
    assert len(texts) >= 3
    for text in make_task_samples("stepped_operator", DUPLICATE_LINES, seed=1, sampling_limit=0):
        masked, op = re.fullmatch(r"(.*)\n# operator\?([-+*/])", text, re.S).groups()
        masked_code, line, states = _unhighlight(masked)
        assert (line, states) in reference_steps(_unmask(masked_code, op))[0], text


def test_stepped_operator_task(programs):
    texts = make_task_samples("stepped_operator", programs, seed=1)
    assert len(texts) > len(programs) // 3
    for text in texts[:150]:
        m = re.fullmatch(r"(.*)\n# operator\?([-+*/])", text, re.S)
        assert m, text
        masked, op = m.groups()
        masked_code, line, states = _unhighlight(masked)
        code = _unmask(masked_code, op)
        assert code in programs
        assert states and (line, states) in reference_steps(code)[0]
    assert {re.search(r"operator\?(.)$", t).group(1) for t in texts} == {"+", "-", "*", "/"}
    few = make_task_samples("stepped_operator", programs, seed=1, sampling_limit=1, limit=1)
    assert 0 < len(few) <= len(programs)


def test_stepped_input_task(programs):
    texts = make_task_samples("stepped_input", programs, seed=2)
    assert len(texts) > len(programs)
    for text in texts[:300]:
        m = re.fullmatch(r"(.*)\n# input\?(-?\d+)", text, re.S)
        assert m, text
        masked, value = m.groups()
        masked_code, line, states = _unhighlight(masked)
        code = _unmask(masked_code, value)
        assert code in programs  # masked in place: TABs and the original spacing are kept
        assert states and (line, states) in reference_steps(code)[0]
    # more than sampling_limit maskable constants no longer drops the snippet
    many = "a = 1\nb = 2\nc = 3\nd = 4\ne = a + b\nprint(e)"
    assert len(make_task_samples("stepped_input", [many], sampling_limit=3, step_limit=1)) == 3
    assert len(make_task_samples("stepped_input", [many], sampling_limit=0, step_limit=0)) > 3


def test_while_loops_do_not_hang():
    loops = generate_programs("4.1", 150, seed=3)
    t0 = time.monotonic()
    for task in ("operator", "stepped_operator"):
        assert make_task_samples(task, loops)
    assert time.monotonic() - t0 < 60


def test_same_results_whatever_the_worker_count(programs):
    for task in ("stepped_operator", "stepped_input"):
        assert make_task_samples(task, programs, seed=5, workers=1) == make_task_samples(task, programs, seed=5,
                                                                                          workers=2)


def test_records_and_levels():
    samples = generate_samples("ALL", 60, seed=4)
    programs = [s.program for s in samples]
    recs = make_task_records("line_count", programs, seed=0, levels=[s.level for s in samples])
    assert len(recs) == 60
    for r, s in zip(recs, samples, strict=True):
        assert set(r) == {"task", "prompt", "answer", "level"}
        assert r["task"] == "line_count" and r["prompt"] == s.program and r["level"] == s.level
        assert r["answer"] == str(trace_source(s.program)["line_count"])
    out = make_task_records("output", programs[:5], seed=0)
    assert [r["answer"] for r in out] == [s.output for s in samples[:5]] and out[0]["level"] is None


def test_split_snippets_accepts_both_formats():
    samples = generate_samples("3.2", 5, seed=1)
    tinypy = "".join(s.text + "\n\n" for s in samples)
    pure = "\n\n".join(s.program for s in samples)
    assert split_snippets(tinypy) == split_snippets(pure) == [s.program for s in samples]


def test_task_cli(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join(s.text + "\n\n" for s in generate_samples("ALL", 40, seed=2)))
    out = tmp_path / "out.jsonl"
    subprocess.run([sys.executable, "-m", "trainer", "tinypy", "task", "--task", "stepped_input", "--in", str(src),
                    "--out", str(out), "--jsonl", "--sampling-limit", "2", "--step-limit", "2"],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert recs and all(r["task"] == "stepped_input" and "@" in r["prompt"] for r in recs)
    txt = tmp_path / "out.txt"
    old = subprocess.run([sys.executable, "-m", "trainer", "tinypy", "task", "--task", "line-count", "--in", str(src),
                          "--out", str(txt)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    assert "spelled line_count now" in old.stderr  # the old spelling still works
    body = txt.read_text()
    assert body.endswith("\n\n") and body.count("\n# count?") == 40
