"""The tinypy tracer: CPython's counting rule, values and formatting; fast path == settrace reference."""

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.tinypy import linetrace
from trainer.tinypy.generator import LEVELS, generate_programs
from trainer.tinypy.tracer import compile_program, fast_trace, reference_trace, trace, trace_steps

ROOT = Path(__file__).resolve().parents[2]
LINETRACE = ROOT / "trainer" / "tinypy" / "linetrace.py"


def both(code, max_steps=linetrace.DEFAULT_MAX_STEPS):
    """Fast path result, asserting it exists and equals the settrace reference."""
    fast = fast_trace(code, max_steps=max_steps)
    ref = reference_trace(code, max_steps=max_steps)
    assert fast is not None, f"not in the fast subset:\n{code}"
    assert fast == ref, f"\n{code}\nfast: {fast}\nref:  {ref}"
    return fast


# ------------------------------------------------------------------------------------------- counting rule

@pytest.mark.parametrize("code,count", [
    # research worked examples: 1 + (iterations + 1) + body
    ("q = 3\nfor q in range(6, 12, 3) :\n\tprint(q)", 1 + 3 + 2),
    ("a = 5\nwhile a < 10 :\n\tprint(a)\n\ta = a + 2", 1 + 4 + 6),
    # if/elif/else with the elif taken: 2 inits + if + elif + print; `else :` never counts
    ("m = 2\nu = 5\nif  m != m :\n\tprint(u)\nelif not u >= 8 :\n\tprint(u)\nelse :\n\tprint(u)", 5),
    # else taken: both tests are evaluated, else line itself is not counted
    ("a = 1\nif a > 5 :\n\tprint(a)\nelif a > 3 :\n\tprint(a)\nelif a > 2 :\n\tprint(a)\nelse :\n\tprint(0)",
     1 + 3 + 1),
    ("a = 9\nif a > 5 :\n\tprint(a)\nelif a > 3 :\n\tprint(a)\nelse :\n\tprint(0)", 1 + 1 + 1),
    # zero-iteration loops count their header once
    ("r = 9\nfor r in range(7, 4) :\n\tprint(r)", 2),
    ("r = 9\nwhile r < 4 :\n\tr = r + 1", 2),
    # nested loops: outer 3 iterations (4 header events), inner range(i) runs 0+1+2 times
    ("for i in range(3):\n    for j in range(i):\n        print(j)", 4 + 3 * 1 + (0 + 1 + 2) + 3),
    # if inside a loop, false branch jumps straight back to the header
    ("for i in range(4):\n\tif i % 2 == 0:\n\t\tprint(i)", 5 + 4 + 2),
])
def test_counting_rule(code, count):
    assert both(code).line_count == count


def test_comments_and_blank_lines_never_count():
    assert both("# a comment\na = 1\n\n\n# another\nprint(a)\n").line_count == 2


# --------------------------------------------------------------------------------------------- values

def test_float_formatting():
    r = both("a = 0\nb = -1 * 0.0\nc = 8 / 100000000\nd = 35 / 2\ne = 6 / 3\nprint(b)\nprint(c)\nprint(d)\nprint(e)")
    assert r.output == "-0.0\n8e-08\n17.5\n2.0\n"
    assert dict(r.states)["c"] == "8e-08"


def test_and_or_precedence_and_values():
    # `X or Y and Z` is `X or (Y and Z)`; and/or return operands; not binds looser than comparisons
    r = both("a = 0\nb = 2\nc = 3\nprint(a or b and c)\nprint((a or b) and 0)\nprint(not a < b)\nprint(a and b or c)")
    assert r.output == "3\n0\nFalse\n3\n"


def test_big_integers_are_exact():
    r = both("a = 255\nb = a * a * a * a * a * a * a * a * a * a\nc = b * b * b\nprint(c)\nprint(c // 7 % 1000)")
    c = 255 ** 30
    assert r.output == f"{c}\n{c // 7 % 1000}\n"


def test_errors_keep_partial_results():
    r = both("a = 1\nprint(a)\nb = a / 0\nprint(b)")
    assert r.output == "1\n" and r.line_count == 3 and r.states == [("a", "1")]
    assert r.error == "ZeroDivisionError: division by zero"
    r = both("a = 1\nprint(a + z)")
    assert r.error == "NameError: name 'z' is not defined"


def test_states_in_first_store_order_and_unbound_skipped():
    r = both("b = 1\na = 2\nif a > 5 :\n\tc = 3\nb = 7\nfor d in range(0) :\n\tpass")
    assert r.states == [("b", "7"), ("a", "2")]


def test_infinite_loops_return_an_error_quickly():
    for code in ("while True:\n\tpass", "a = 1\nwhile a > 0 :\n\ta = a + 1"):
        t0 = time.monotonic()
        r = trace(code, max_steps=20_000)
        assert time.monotonic() - t0 < 5
        assert r.error and "step limit" in r.error
        assert r.line_count == 20_000
    # a one-line loop makes no further line events (CPython jumps back within the line): the timer stops it
    t0 = time.monotonic()
    r = trace("while True: pass", timeout=1.0)
    assert time.monotonic() - t0 < 4
    assert r.error and "timeout" in r.error
    # the fast path and the reference stop at the same point
    both("a = 1\nwhile a > 0 :\n\tprint(a)\n\ta = a + 1", max_steps=999)


def test_general_python_uses_the_reference():
    code = "def f(x):\n    return x * 2\nys = [f(i) for i in range(3)]\nprint(ys, len(ys))"
    assert compile_program(code) is None
    r = trace(code)
    assert r.output == "[0, 2, 4] 3\n" and r.error is None
    assert r.states == [("ys", "[0, 2, 4]")]
    assert r.line_count == reference_trace(code).line_count


def test_trace_steps_fast_equals_reference():
    code = "a = 3\nb = 0\nfor i in range(a) :\n\tb = b + i\nprint(b)"
    fast, err = trace_steps(code)
    ref, ref_err = linetrace.trace_steps(code)
    assert err is None and ref_err is None and fast == ref
    assert fast[0] == (0, "") and fast[3] == (3, "a?3;b?0;i?0")


# ------------------------------------------------------------------------------------- random programs

def _expr(rng, names, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        if names and rng.random() < 0.6:
            return rng.choice(names)
        return rng.choice([str(rng.randrange(0, 300)), f"{rng.randrange(0, 20)}.{rng.randrange(0, 99)}", "0"])
    if r < 0.75:
        op = rng.choice(["+", "-", "*", "/", "//", "%", "+", "-", "*"])
        return f"{_expr(rng, names, depth + 1)} {op} {_expr(rng, names, depth + 1)}"
    if r < 0.85:
        return f"({_expr(rng, names, depth + 1)})"
    return f"-{_expr(rng, names, depth + 1)}"


def _cond(rng, names):
    parts = []
    for _ in range(rng.randint(1, 3)):
        c = f"{rng.choice(names)} {rng.choice(['<', '>', '<=', '>=', '==', '!='])} {_expr(rng, names, 2)}"
        if rng.random() < 0.3:
            c = f"not {c}"
        if rng.random() < 0.3:
            c = f"({c})"
        parts.append(c)
    out = parts[0]
    for p in parts[1:]:
        out += f" {rng.choice(['and', 'or'])} {p}"
    return out


def _block(rng, names, indent, depth, lines, loop_vars):
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if depth < 3 and r < 0.15:
            lines.append(f"{indent}if {_cond(rng, names)} :")
            _block(rng, names, indent + "\t", depth + 1, lines, loop_vars)
            for _ in range(rng.randint(0, 2)):
                lines.append(f"{indent}elif {_cond(rng, names)}:")
                _block(rng, names, indent + "\t", depth + 1, lines, loop_vars)
            if rng.random() < 0.5:
                lines.append(f"{indent}else :")
                _block(rng, names, indent + "\t", depth + 1, lines, loop_vars)
        elif depth < 3 and r < 0.27:
            v = rng.choice("ijk")
            args = [str(rng.randrange(-3, 6)) for _ in range(rng.randint(1, 3))]
            if len(args) == 3 and args[2] == "0":
                args[2] = "-1"
            lines.append(f"{indent}for {v} in range({', '.join(args)}) :")
            if v not in names:
                names.append(v)
            _block(rng, names, indent + "\t", depth + 1, lines, loop_vars)
        elif depth < 3 and r < 0.35:
            v = rng.choice("uvw")
            lines.append(f"{indent}{v} = {rng.randrange(0, 4)}")
            if v not in names:
                names.append(v)
            lines.append(f"{indent}while {v} < {rng.randrange(0, 5)} :")
            _block(rng, names, indent + "\t", depth + 1, lines, loop_vars)
            lines.append(f"{indent}\t{v} = {v} + 1")
        elif r < 0.45:
            lines.append(f"{indent}print({', '.join(_expr(rng, names) for _ in range(rng.randint(1, 2)))})")
        elif r < 0.5:
            lines.append(f"{indent}pass")
        elif r < 0.6 and names:
            lines.append(f"{indent}{rng.choice(names)} {rng.choice(['+=', '-=', '*='])} {_expr(rng, names, 1)}")
        else:
            v = rng.choice("abcdxyz")
            lines.append(f"{indent}{v} = {_expr(rng, names)}")
            if v not in names:
                names.append(v)


def random_program(rng):
    names = []
    lines = []
    for _ in range(rng.randint(1, 3)):
        v = rng.choice("abcxyz")
        lines.append(f"{v} = {rng.randrange(0, 256)}")
        if v not in names:
            names.append(v)
    _block(rng, names, "", 0, lines, [])
    code = "\n".join(lines)
    return code.replace("\t", "    ") if rng.random() < 0.3 else code


def test_fast_path_equals_settrace_on_generated_programs():
    for i, level in enumerate(LEVELS):
        for code in generate_programs(level, 300, seed=100 + i):
            r = both(code)
            assert r.error is None  # the generator only keeps programs that run


def test_fast_path_equals_settrace_on_random_nested_programs():
    rng = random.Random(7)
    covered = 0
    for _ in range(1500):
        code = random_program(rng)
        fast = fast_trace(code, max_steps=3000)
        assert fast is not None, code
        ref = reference_trace(code, max_steps=3000)
        assert fast == ref, f"\n{code}\nfast: {fast}\nref:  {ref}"
        covered += fast.error is None
    assert covered > 500  # most of them run to completion


@pytest.mark.slow
def test_fast_path_equals_settrace_many(request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")
    rng = random.Random(11)
    for _ in range(8000):
        code = random_program(rng)
        assert fast_trace(code, max_steps=3000) == reference_trace(code, max_steps=3000), code
    for code in generate_programs("ALL", 10000, seed=5):
        assert fast_trace(code) == reference_trace(code), code


# ---------------------------------------------------------------------------------------------- CLIs

def test_linetrace_standalone_cli():
    code = "a = 5\nwhile a < 10 :\n\tprint(a)\n\ta = a + 2\n"
    p = subprocess.run([sys.executable, "-I", str(LINETRACE)], input=code, capture_output=True, text=True,
                       timeout=60, check=True)
    assert json.loads(p.stdout) == {"output": "5\n7\n9\n", "line_count": 11, "states": [["a", "11"]], "error": None}
    p = subprocess.run([sys.executable, "-I", str(LINETRACE), "--max-steps", "500"], input="while True:\n    pass\n",
                       capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(p.stdout)
    assert out["line_count"] == 500 and "step limit" in out["error"]
    p = subprocess.run([sys.executable, "-I", str(LINETRACE)], input="x = input()\n", capture_output=True,
                       text=True, timeout=60, check=True)
    assert json.loads(p.stdout)["error"].startswith("EOFError")


def test_linetrace_is_stdlib_only():
    text = LINETRACE.read_text()
    assert "trainer" not in "".join(line for line in text.splitlines() if line.startswith(("import", "from")))


def test_trace_cli_json(tmp_path):
    f = tmp_path / "s.py"
    f.write_text("x = 3\nfor x in range(2) :\n\tprint(x * 1.5)\n")
    p = subprocess.run([sys.executable, "-m", "trainer", "tinypy", "trace", "--json", str(f)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, check=True)
    expected = {"output": "0.0\n1.5\n", "line_count": 1 + 3 + 2, "states": [["x", "1"]], "error": None}
    assert json.loads(p.stdout) == expected
