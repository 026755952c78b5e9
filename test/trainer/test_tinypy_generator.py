"""The TinyPy generator: the HEAD grammar's exact text, seeded determinism, labels, CLI."""

import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from trainer.tinypy.generator import LEVELS, generate_programs, generate_samples
from trainer.tinypy.linetrace import trace_source

ROOT = Path(__file__).resolve().parents[2]

V = r"[a-z]"
D = r"(?:\d|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])"  # 0..255, no leading zeros
T = rf"(?:{V}|{D})"
OP = r"[-+*/]"
REL = r"(?:<|>|<=|>=|!=|==)"
INIT = rf"{V} = {D}\n"
EXPR = rf"{T} {OP} {T}"
SAE = rf"\({EXPR}\)(?:{OP}\({EXPR}\))*"
COND = rf"(?:not | )?{V} {REL} {T}"
CHAIN = rf"(?:not )?\({COND}\)(?: (?:and|or) \({COND}\))*"
DISPLAY = rf"print\({V}\)"
ADISPLAY = rf"print\((?:{V}|{V} {OP} {T})\)"
FOR = rf"for {V} in range\({D}, -?\d+(?:, [123])?\) :"
SHAPES = {
    "1.1": rf"(?:{INIT})+(?:{V} = {EXPR}\n)?{ADISPLAY}",
    "1.2": rf"(?:{INIT})+(?:{V} = (?:{SAE}|{EXPR})\n)?{ADISPLAY}",
    "2.1": rf"(?:{INIT})+if {COND} :\n\t{DISPLAY}(?:\nelif {COND} :\n\t{DISPLAY})?(?:\nelse :\n\t{DISPLAY})?",
    "2.2": rf"(?:{INIT})+(?:{V} = (?:{SAE}|{EXPR})\n)?if {CHAIN} :\n\t{ADISPLAY}"
           rf"(?:\nelif {CHAIN} :\n\t{ADISPLAY})?(?:\nelse :\n\t{ADISPLAY})?",
    "3.1": rf"(?:{INIT})+{FOR}\n\t{DISPLAY}",
    "3.2": rf"(?:{INIT})+(?:{V} = (?:{SAE}|{EXPR})\n)?{FOR}\n\t{ADISPLAY}",
    "4.1": rf"(?:{INIT})+while ({V}) (?:<|<=) -?\d+ :\n\t{DISPLAY}\n\t\1 = \1 \+ [123]"
           rf"|(?:{INIT})+while ({V}) (?:>|>=) -?\d+ :\n\t{DISPLAY}\n\t\2 = \2 - [123]",
}
MAX_INIT = {"1.1": 2, "1.2": 3, "2.1": 2, "3.1": 2, "3.2": 4, "4.1": 2, "2.2": 5}


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_matches_the_head_grammar(level):
    samples = generate_samples(level, 400, seed=3)
    assert len(samples) == 400 and len({s.text for s in samples}) == 400
    inits = Counter()
    for s in samples:
        assert s.level == level
        assert re.fullmatch(SHAPES[level], s.program), s.program
        k = len(re.match(rf"(?:{INIT})+", s.program).group(0).splitlines())
        inits[k] += 1
    # 1..max_init+1 initialization lines, half of the programs have exactly one
    assert max(inits) <= MAX_INIT[level] + 1
    assert 0.4 < inits[1] / 400 < 0.6


def test_for_and_while_bounds_follow_the_step_count_pairs():
    # HEAD draws (step, count) from {(1,2),(2,1),(2,2),(2,3),(3,2)}: range form gives 1, 1, 3, 5, 5 iterations
    iterations = Counter()
    for p in generate_programs("3.1", 600, seed=4):
        m = re.search(r"range\((\d+), (-?\d+)(?:, (\d))?\)", p)
        a, b, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        iterations[len(range(a, b, step))] += 1
        assert (b - a + 1) in (2, 4, 6)  # step * count in {2, 4, 6}
    assert set(iterations) == {1, 2, 3, 5} and 0 not in iterations
    for p in generate_programs("4.1", 300, seed=4):
        r = trace_source(p)
        assert r["error"] is None and 1 <= len(r["output"].splitlines()) <= 3


def test_the_all_level_mixes_every_sublevel_with_max_init_5():
    samples = generate_samples("ALL", 1400, seed=5)
    by_level = Counter(s.level for s in samples)
    assert set(by_level) == set(LEVELS) and min(by_level.values()) > 120
    assert max(len(re.match(rf"(?:{INIT})+", s.program).group(0).splitlines()) for s in samples) == 6


def test_labels_are_cpython_stdout_in_tinypy_format():
    for s in generate_samples("ALL", 300, seed=6):
        r = trace_source(s.program)
        assert r["error"] is None and r["output"] == s.output
        lines = ["# " + line for line in r["output"].strip().split("\n")]
        assert s.text == s.program + "\n# output\n" + "\n".join(lines)
        assert s.sha256 == hashlib.sha256(s.text.encode()).hexdigest()


def test_same_seed_same_programs_whatever_the_worker_count():
    one = generate_programs("ALL", 600, seed=42, workers=1)
    two = generate_programs("ALL", 600, seed=42, workers=2)
    assert one == two
    assert generate_programs("ALL", 600, seed=43) != one
    assert generate_programs("ALL", 300, seed=42) == one[:300]


def test_generate_cli_writes_tinypy_samples(tmp_path):
    out = tmp_path / "d" / "all.txt"
    subprocess.run([sys.executable, "-m", "trainer", "tinypy", "generate", "--level", "2.2", "--count", "50",
                    "--seed", "1", "--out", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    text = out.read_text()
    assert text.endswith("\n\n")
    samples = text[:-2].split("\n\n")
    assert len(samples) == 50
    assert all("\n# output\n# " in s for s in samples)
    assert [s.split("\n# output")[0] for s in samples] == generate_programs("2.2", 50, seed=1)
    bad = subprocess.run([sys.executable, "-m", "trainer", "tinypy", "generate", "--level", "9.9", "--count", "5",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_generator_evaluator_matches_the_tracer_on_drawn_programs():
    # the labels come from evaluate.run_plan over the generator's plan: it must agree with the tracer
    # (stdout, and whether the program raises) on every drawn program, including those that get redrawn
    import random

    from trainer.tinypy.evaluate import run_plan
    from trainer.tinypy.generator import draw_program
    from trainer.tinypy.tracer import trace

    errors = 0
    for level in (*LEVELS, "ALL"):
        rng = random.Random(level)
        for _ in range(600):
            _, text, plan = draw_program(rng, level, 5)
            got, r = run_plan(plan), trace(text)
            if r.error is not None:
                errors += 1
                assert got is None, text
            else:
                assert got == r.output, text
    assert errors > 0  # the error path was exercised
