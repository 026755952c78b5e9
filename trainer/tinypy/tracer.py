"""Trace tinypy snippets fast, with exactly CPython's results.

    from trainer.tinypy.tracer import trace
    r = trace("a = 5\\nwhile a < 10 :\\n\\tprint(a)\\n\\ta = a + 2")
    r.output == "5\\n7\\n9\\n"; r.line_count == 11; r.states == [("a", "11")]; r.error is None

`trace(code)` returns TraceResult(output, line_count, states, error) (see linetrace.py for the meaning of each
field). Snippets inside the *fast subset* run on a small interpreter that never calls exec or settrace; all
other Python goes to the settrace reference in linetrace.py (`reference_trace`). Both give the same results,
which test_tinypy_tracer checks on thousands of random programs.

The fast subset (one statement per line, no comments after code):
- statements: `x = E`, `x op= E` (+ - * / // %), `print(E, ...)`, `pass`, `if E :` / `elif E :` / `else :`,
  `while E :`, `for x in range(E[, E[, E]]) :`, nested to any depth with consistent indentation;
- expressions E: int and float literals, variable names (not Python builtins), + - * / // %, unary - +,
  comparisons (chained), and/or/not, parentheses. Python's own operators compute every value, so
  big integers, float results, `-0.0`, errors and their messages are CPython's. if/while tests without any
  variable (which the compiler may fold away) go to the reference.

How counting works (the CPython `line` event rule): every executed simple statement +1, an `if`/`elif`
test +1 each time it is evaluated, a loop header +1 per iteration plus 1 for the final test, `else :` never.
`trace_steps(code)` gives, per line event, the 0-based line and the states before the line runs.

Lines are parsed by parse.py into closures; this module compiles a snippet's lines into flat instructions with jumps
(`Program`; snippets of one shape share their compiled layout), runs them (`run_program`) and caches parsed lines.
Why it is built this way, with the measurements: docs/tinypy.md, "The fast tracer".
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

from trainer.tinypy import linetrace
from trainer.tinypy.parse import (
    ASSIGN,
    AUG,
    ELIF,
    ELSE,
    FOR,
    IF,
    PASS,
    PRINT,
    WHILE,
    BinOp,
    Unsupported,
    clear_leaf_cache,
    parse_line,
)

DEFAULT_MAX_STEPS = linetrace.DEFAULT_MAX_STEPS
DEFAULT_TIMEOUT = linetrace.DEFAULT_TIMEOUT


@dataclass
class TraceResult:
    output: str
    line_count: int
    states: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {"output": self.output, "line_count": self.line_count,
                "states": [[k, v] for k, v in self.states], "error": self.error}

    def states_text(self) -> str:
        return ";".join(f"{k}?{v}" for k, v in self.states)



_CACHE_MAX = 500_000


def clear_cache() -> None:
    """Forget parsed lines (benchmarks start cold with it)."""
    _ROWS_BY_LINE.clear()
    clear_leaf_cache()
    _LAYOUTS.clear()
    _LINE_SHAPES.clear()


# --------------------------------------------------------------------------------------------- programs

# instruction opcodes
_JUMP, _ASSIGN, _PRINT, _TEST, _FOR_INIT, _FOR_NEXT, _AUG, _PASS = range(8)


class Line:
    __slots__ = ("lineno", "indent", "stmt")

    def __init__(self, lineno: int, indent: str, stmt: tuple):
        self.lineno, self.indent, self.stmt = lineno, indent, stmt  # lineno is 1-based


class Program:
    """A parsed snippet in the fast subset: flat instructions with jumps, plus its store order and operators.

    `rows` holds one cached entry per source line: (shape, indent, kind, name, closure(s), binops)."""

    def __init__(self, rows: list[tuple], layout: tuple | None = None):
        """Compile `rows`; or, with the `layout` (filler, nslots) of an earlier program of the same shape,
        fill it in."""
        self.rows = rows
        self._order: list[str] | None = None
        if layout is not None:
            fill, self.nslots = layout
            self.code = fill(rows)
            return
        self.code: list[tuple] = []
        self.nslots = 0
        self.lines = self._lines()
        pos = self._block(0, "")
        if pos != len(self.lines):
            raise Unsupported("indentation")

    def _lines(self) -> list[Line]:
        return [Line(i + 1, r[1], r[2:]) for i, r in enumerate(self.rows) if r[2] is not None]

    @property
    def order(self) -> list[str]:
        """Variables in order of their first store in the text (the order of the states)."""
        if self._order is None:
            self._order = list(dict.fromkeys(r[3] for r in self.rows if r[3] is not None))
        return self._order

    def layout(self) -> tuple:
        """(filler, nslots): `filler(rows)` rebuilds `code` for any rows of this shape (line kinds and indents),
        as generated source: a list display of the instructions, statement contents taken from the rows."""
        items = []
        consts = {}
        for ins in self.code:
            op = ins[0]
            if op in (_JUMP, _PASS):
                consts[f"k{len(consts)}"] = ins
                items.append(f"k{len(consts) - 1}")
                continue
            r = f"r[{ins[1] - 1}]"  # the row of the instruction's line
            if op == _ASSIGN:
                items.append(f"({op}, {ins[1]}, {r}[3], {r}[4])")
            elif op == _TEST:
                items.append(f"({op}, {ins[1]}, {r}[4], {ins[3]})")
            elif op == _PRINT:
                items.append(f"({op}, {ins[1]}, {r}[4])")
            elif op == _FOR_INIT:
                items.append(f"({op}, {ins[1]}, {r}[3], {r}[4], {ins[4]}, {ins[5]})")
            elif op == _FOR_NEXT:
                items.append(f"({op}, {ins[1]}, {r}[3], {ins[3]}, {ins[4]})")
            else:  # _AUG
                items.append(f"({op}, {ins[1]}, {r}[3], {r}[4][0], {r}[4][1])")
        fill = eval(compile(f"lambda r: [{', '.join(items)}]", "<tinypy layout>", "eval"), consts)
        return fill, self.nslots

    def binops(self) -> list[tuple[int, int, BinOp]]:
        """(0-based line, column in the line, operator box) for every binary operator, in text order."""
        out = []
        for ln in self._lines():
            for b in sorted(ln.stmt[3], key=lambda b: b.col):
                out.append((ln.lineno - 1, len(ln.indent) + b.col, b))
        return out

    def _block(self, pos: int, indent: str) -> int:
        """Compile the statements at `indent` from lines[pos]; returns the index after the block."""
        lines, code = self.lines, self.code
        if pos >= len(lines) or lines[pos].indent != indent:
            raise Unsupported("expected an indented block")
        while pos < len(lines):
            ln = lines[pos]
            if ln.indent != indent:
                if len(ln.indent) > len(indent) or not indent.startswith(ln.indent):
                    raise Unsupported("unexpected indent")
                return pos  # dedent: caller checks that it matches its own level
            kind, name, f, _ = ln.stmt
            if kind == ASSIGN:
                code.append((_ASSIGN, ln.lineno, name, f))
                pos += 1
            elif kind == PRINT:
                code.append((_PRINT, ln.lineno, f))
                pos += 1
            elif kind == AUG:
                code.append((_AUG, ln.lineno, name, f[0], f[1]))
                pos += 1
            elif kind == PASS:
                code.append((_PASS, ln.lineno))
                pos += 1
            elif kind == IF:
                pos = self._if(pos, indent)
            elif kind == WHILE:
                top = len(code)
                code.append(None)
                pos = self._body(pos + 1, indent)
                code.append((_JUMP, top))
                code[top] = (_TEST, ln.lineno, f, len(code))
                if pos < len(lines) and lines[pos].indent == indent and lines[pos].stmt[0] in (ELIF, ELSE):
                    raise Unsupported("while/else")
            elif kind == FOR:
                slot = self.nslots
                self.nslots += 1
                init = len(code)
                code.append(None)
                code.append(None)
                pos = self._body(pos + 1, indent)
                code.append((_JUMP, init + 1))
                end = len(code)
                code[init] = (_FOR_INIT, ln.lineno, name, f, slot, end)
                code[init + 1] = (_FOR_NEXT, ln.lineno, name, slot, end)
                if pos < len(lines) and lines[pos].indent == indent and lines[pos].stmt[0] in (ELIF, ELSE):
                    raise Unsupported("for/else")
            else:
                raise Unsupported("elif/else without if")
        return pos

    def _body(self, pos: int, indent: str) -> int:
        lines = self.lines
        if pos >= len(lines):
            raise Unsupported("missing block")
        inner = lines[pos].indent
        if len(inner) <= len(indent) or not inner.startswith(indent):
            raise Unsupported("expected an indented block")
        pos = self._block(pos, inner)
        if pos < len(lines) and lines[pos].indent != indent and not indent.startswith(lines[pos].indent):
            raise Unsupported("inconsistent dedent")
        if pos < len(lines) and len(lines[pos].indent) > len(indent):
            raise Unsupported("inconsistent dedent")
        return pos

    def _if(self, pos: int, indent: str) -> int:
        lines, code = self.lines, self.code
        end_jumps = []
        while True:
            ln = lines[pos]
            test = len(code)
            code.append(None)
            pos = self._body(pos + 1, indent)
            nxt = lines[pos] if pos < len(lines) and lines[pos].indent == indent else None
            more = nxt is not None and nxt.stmt[0] in (ELIF, ELSE)
            if more:
                end_jumps.append(len(code))
                code.append(None)
            code[test] = (_TEST, ln.lineno, ln.stmt[2], len(code))
            if not more:
                break
            if nxt.stmt[0] == ELSE:
                pos = self._body(pos + 1, indent)
                break
        end = len(code)
        for j in end_jumps:
            code[j] = (_JUMP, end)
        return pos


_BLANK_ROW = (-1, "", None, None, None, ())  # the row of a blank or comment line
_LAYOUTS: dict[tuple, tuple | None] = {}  # program shape -> Program.layout(), or None outside the subset
# A raw line (with its indentation) -> its row, or False outside the subset. Only whole raw lines are cached: the
# same statement at another indentation is rare.
_ROWS_BY_LINE: dict[str, tuple | bool] = {}
_first = operator.itemgetter(0)


def _parse_row(raw: str) -> tuple | bool:
    """A raw line's row (line shape id, indent, then parse_line's statement), or False outside the subset."""
    s = raw.strip()
    if not s or s[0] == "#":
        return _BLANK_ROW
    indent = raw[: len(raw) - len(raw.lstrip())]
    if indent.strip(" \t"):
        return False
    st = parse_line(s)
    return False if st is None else (_line_shape_id(indent, st[0]), indent, *st)


_LINE_SHAPES: dict[tuple, int] = {}  # (indent, kind) -> a small int: program shape keys are tuples of these


def _line_shape_id(indent: str, kind: int) -> int:
    key = (indent, kind)
    sid = _LINE_SHAPES.get(key)  # almost always there: look up before computing a new id
    if sid is None:
        sid = _LINE_SHAPES[key] = len(_LINE_SHAPES)
    return sid


def _const(value):
    return lambda env: value


def _var(name):
    return lambda env: env[name]


def _prefill_line_cache() -> None:
    """Pre-parse tinypy's finite line families (`x = 0..255`, `print(x)`, `\tprint(x)`, `else :`) once, so that most
    lines of a bulk run are cache hits from the start."""
    consts = [_const(v) for v in range(256)]
    assign, show, tab_show = _line_shape_id("", ASSIGN), _line_shape_id("", PRINT), _line_shape_id("\t", PRINT)
    for name in "abcdefghijklmnopqrstuvwxyz":
        for v in range(256):
            _ROWS_BY_LINE[f"{name} = {v}"] = (assign, "", ASSIGN, name, consts[v], [])
        shown = (_var(name),)
        _ROWS_BY_LINE[f"print({name})"] = (show, "", PRINT, None, shown, [])
        _ROWS_BY_LINE[f"\tprint({name})"] = (tab_show, "\t", PRINT, None, shown, [])
    _ROWS_BY_LINE["else :"] = (_line_shape_id("", ELSE), "", ELSE, None, None, ())


def _parse_uncached_rows(raws: list[str], rows: list) -> list | None:
    """Parse the lines that missed the cache (rows[i] None); None if a line is outside the subset."""
    raw_cache = _ROWS_BY_LINE
    for i, row in enumerate(rows):
        if row is None:
            row = rows[i] = _parse_row(raws[i])
            if len(raw_cache) >= _CACHE_MAX:
                raw_cache.clear()
            raw_cache[raws[i]] = row
        if row is False:
            return None
    return rows


def compile_program(code: str) -> Program | None:
    """Parse a snippet into the fast subset, or None when it needs the settrace reference."""
    if not _ROWS_BY_LINE:
        _prefill_line_cache()
    raws = code.split("\n")
    rows = list(map(_ROWS_BY_LINE.get, raws))
    if None in rows:
        rows = _parse_uncached_rows(raws, rows)
        if rows is None:
            return None
    elif False in rows:
        return None
    # programs of one shape (the indent and kind of each line) share their jumps: compile each shape once
    key = tuple(map(_first, rows))
    layout = _LAYOUTS.get(key)
    if layout is not None:
        return Program(rows, layout)
    if key in _LAYOUTS:
        return None
    try:
        prog = Program(rows)
    except Unsupported:
        prog = None
    if len(_LAYOUTS) >= _CACHE_MAX:
        _LAYOUTS.clear()
    _LAYOUTS[key] = None if prog is None else prog.layout()
    return prog


class _StepLimit(Exception):
    pass


_END = object()


def run_program(prog: Program, max_steps: int = DEFAULT_MAX_STEPS, record: list | None = None,
                stop_at: int = 0, hits: set | None = None) -> tuple[list[str], int, dict, str | None]:
    """Execute; returns (output pieces, line events, variables, error).

    record gets (line0, states) per event; hits gets the 0-based lines executed."""
    code = prog.code
    n = len(code)
    env: dict = {}
    out: list[str] = []
    iters = [None] * prog.nslots
    order = prog.order if record is not None else ()
    count = 0
    pc = 0
    limit = stop_at if 0 < stop_at < max_steps else max_steps
    try:
        while pc < n:
            ins = code[pc]
            op = ins[0]
            if op == _JUMP:
                pc = ins[1]
                continue
            if count >= limit:
                if limit == stop_at:
                    break
                raise _StepLimit
            count += 1
            if record is not None:
                record.append((ins[1] - 1, ";".join(f"{k}?{env[k]}" for k in order if k in env)))
            elif hits is not None:
                hits.add(ins[1] - 1)
            if op == _ASSIGN:
                env[ins[2]] = ins[3](env)
                pc += 1
            elif op == _TEST:
                pc = pc + 1 if ins[2](env) else ins[3]
            elif op == _PRINT:
                first = True
                for v in [f(env) for f in ins[2]]:
                    if not first:
                        out.append(" ")
                    out.append(str(v))
                    first = False
                out.append("\n")
                pc += 1
            elif op == _FOR_NEXT:
                v = next(iters[ins[3]], _END)
                if v is _END:
                    pc = ins[4]
                else:
                    env[ins[2]] = v
                    pc += 1
            elif op == _FOR_INIT:  # the header's first event: a new iterator, then as _FOR_NEXT (which it skips)
                it = iters[ins[4]] = iter(range(*[f(env) for f in ins[3]]))
                v = next(it, _END)
                if v is not _END:
                    env[ins[2]] = v
                pc = ins[5] if v is _END else pc + 2
            elif op == _AUG:
                name = ins[2]
                env[name] = ins[3](env[name], ins[4](env))
                pc += 1
            else:  # _PASS
                pc += 1
    except _StepLimit:
        return out, count, env, f"step limit exceeded: more than {max_steps} line events"
    except KeyError as exc:
        return out, count, env, f"NameError: name {exc.args[0]!r} is not defined"
    except Exception as exc:
        return out, count, env, linetrace.format_error(exc)
    return out, count, env, None


def _states(prog: Program, env: dict) -> list[tuple[str, str]]:
    return [(k, linetrace.safe_str(env[k])) for k in prog.order if k in env]


def fast_trace(code: str, max_steps: int = DEFAULT_MAX_STEPS) -> TraceResult | None:
    """The fast path alone: None when the snippet is outside the subset."""
    prog = compile_program(code)
    if prog is None:
        return None
    out, count, env, error = run_program(prog, max_steps)
    return TraceResult("".join(out), count, _states(prog, env), error)


def reference_trace(code: str, max_steps: int = DEFAULT_MAX_STEPS, timeout: float = DEFAULT_TIMEOUT) -> TraceResult:
    """The settrace reference (really executes the snippet)."""
    r = linetrace.trace_source(code, max_steps=max_steps, timeout=timeout)
    return TraceResult(r["output"], r["line_count"], [(k, v) for k, v in r["states"]], r["error"])


def trace(code: str, max_steps: int = DEFAULT_MAX_STEPS, timeout: float = DEFAULT_TIMEOUT) -> TraceResult:
    """Output, executed-line count, final states and error of a snippet (fast path, else settrace)."""
    r = fast_trace(code, max_steps)
    return r if r is not None else reference_trace(code, max_steps, timeout)


def trace_steps(code: str, max_steps: int = DEFAULT_MAX_STEPS, stop_at: int = 0,
                prog: Program | None = None) -> tuple[list[tuple[int, str]], str | None]:
    """Per line event (0-based line, "a?1;b?2" before the line runs), and the error if any."""
    if prog is None:
        prog = compile_program(code)
    if prog is None:
        return linetrace.trace_steps(code, max_steps=max_steps, stop_at=stop_at)
    record: list = []
    _, _, _, error = run_program(prog, max_steps, record=record, stop_at=stop_at)
    return record, error
