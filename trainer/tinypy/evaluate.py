"""Run a generated TinyPy program from the structure the generator built, without parsing its text.

The generator (generator.py) makes each program twice at once: its text and a small plan of it, made of

    value:      int literal | "x" (a variable) | (value, op, value)   op in + - * /, already nested by precedence
    condition:  or-list of and-lists of (negated, value, relop, value)
    statements: ("=", var, value) | ("print", value) | ("if", [(condition, value), ...], else value or None)
                | ("for", var, start, stop, step, value) | ("while", var, relop, final, value, step)

`run_plan(plan)` returns the program's exact stdout, or None when running it raises (division by zero).
Python's own operators compute every value, so results are CPython's; test_tinypy_generator checks
run_plan against the tracer on thousands of drawn programs, erroring ones included.
"""

from __future__ import annotations

from trainer.tinypy.parse import BINOPS, CMPOPS

_MULDIV = ("*", "/")


def nest(parts: list) -> tuple | int | str:
    """[v0, op1, v1, op2, v2, ...] -> one value with Python's precedence (* / before + -, left to right)."""
    groups, gops = [parts[0]], []
    for i in range(1, len(parts), 2):
        op, v = parts[i], parts[i + 1]
        if op in _MULDIV:
            groups[-1] = (groups[-1], op, v)
        else:
            gops.append(op)
            groups.append(v)
    out = groups[0]
    for op, g in zip(gops, groups[1:], strict=True):
        out = (out, op, g)
    return out


def value(v, env: dict):
    cls = v.__class__
    if cls is int:
        return v
    if cls is str:
        return env[v]
    return BINOPS[v[1]](value(v[0], env), value(v[2], env))


def test(cond: list, env: dict) -> bool:
    """`A and B or C ...` as or-groups of and-groups; comparisons cannot raise, so no short-circuit is needed."""
    for group in cond:
        for neg, a, rel, b in group:
            if CMPOPS[rel](value(a, env), value(b, env)) == neg:
                break
        else:
            return True
    return False


def run_plan(plan: list) -> str | None:
    env: dict = {}
    out: list[str] = []
    try:
        for st in plan:
            kind = st[0]
            if kind == "=":
                env[st[1]] = value(st[2], env)
            elif kind == "print":
                out.append(str(value(st[1], env)))
            elif kind == "if":
                for cond, show in st[1]:
                    if test(cond, env):
                        out.append(str(value(show, env)))
                        break
                else:
                    if st[2] is not None:
                        out.append(str(value(st[2], env)))
            elif kind == "for":
                _, var, start, stop, step, show = st
                for i in range(start, stop, step):
                    env[var] = i
                    out.append(str(value(show, env)))
            else:  # while: `while v rel final :` / `print(show)` / `v = v + step` (step < 0 for `-`)
                _, var, rel, final, show, step = st
                cmp = CMPOPS[rel]
                while cmp(env[var], final):
                    out.append(str(value(show, env)))
                    env[var] = env[var] + step
    except ArithmeticError:
        return None
    if not out:
        return ""
    out.append("")
    return "\n".join(out)
