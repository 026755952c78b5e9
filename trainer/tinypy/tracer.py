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
"""

from __future__ import annotations

import builtins
import gc
import keyword
import operator
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from trainer.tinypy import linetrace

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


# ----------------------------------------------------------------------------------------------- expressions

BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod}
CMPOPS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
          "==": operator.eq, "!=": operator.ne}
_PREC = {"+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7}
_BUILTIN_NAMES = frozenset(dir(builtins)) | {"__builtins__", "__name__"}
_CONSTS = {"True": True, "False": False, "None": None}
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)"
                    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>//|<=|>=|==|!=|[-+*/%<>(),]))")


class Unsupported(Exception):
    """The snippet is outside the fast subset: use the settrace reference."""


class BinOp:
    """A binary operator in a parsed line; `fn` is swapped by the operator tasks to test other operators."""
    __slots__ = ("fn", "col", "op", "depth", "safe")

    def __init__(self, fn, col, op, depth=0, safe=False):
        self.fn, self.col, self.op = fn, col, op
        self.depth = depth  # parenthesis depth, to tell an operator's own chain from nested ones
        self.safe = safe  # alone in its arithmetic chain: swapping it cannot change the parse tree


def _tokenize(text: str, base: int) -> list[tuple[str, object, int]]:
    toks = []
    pos = 0
    n = len(text)
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            raise Unsupported(text)
        pos = m.end()
        kind = m.lastgroup
        s = m.group(kind)
        col = base + m.start(kind)
        if kind == "num":
            nxt = text[pos:pos + 1]
            if nxt and (nxt.isalnum() or nxt in "._"):
                raise Unsupported(text)  # 5j, 1_000, 0x1f, 1if ...
            if "." in s or "e" in s or "E" in s:
                toks.append(("c", float(s), col))
            else:
                if len(s) > 1 and s[0] == "0":
                    raise Unsupported(text)  # 007 is a SyntaxError in Python 3
                toks.append(("c", int(s), col))
        elif kind == "name":
            if s in ("and", "or", "not"):
                toks.append((s, s, col))
            elif s in _CONSTS:
                toks.append(("c", _CONSTS[s], col))
            elif keyword.iskeyword(s) or s in _BUILTIN_NAMES:
                raise Unsupported(text)
            else:
                toks.append(("v", s, col))
        else:
            toks.append((s, s, col))
    if text[pos:].strip():
        raise Unsupported(text)
    toks.append(("end", None, base + n))
    return toks


class _Parser:
    """Precedence climbing over tokens, producing closures env -> value (Python's precedence)."""

    def __init__(self, toks):
        self.toks, self.i = toks, 0
        self.binops: list[BinOp] = []
        self.has_name = False
        self.depth = 0

    def arith_chain(self):
        """A whole arithmetic expression; marks its operator safe to swap if it is the only one at this level."""
        before = len(self.binops)
        f = self.arith(0)
        own = [b for b in self.binops[before:] if b.depth == self.depth]
        if len(own) == 1:
            own[0].safe = True
        return f

    def peek(self):
        return self.toks[self.i][0]

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind):
        if self.peek() != kind:
            raise Unsupported(kind)
        return self.take()

    def parse_list(self):  # E, E, ... up to `end` (print / range arguments)
        items = []
        if self.peek() == "end":
            return items
        while True:
            items.append(self.expr())
            if self.peek() == ",":
                self.take()
                continue
            self.expect("end")
            return items

    def expr(self):  # or
        first = self.and_()
        if self.peek() != "or":
            return first
        parts = [first]
        while self.peek() == "or":
            self.take()
            parts.append(self.and_())

        def f(env, parts=tuple(parts)):
            for p in parts[:-1]:
                v = p(env)
                if v:
                    return v
            return parts[-1](env)
        return f

    def and_(self):
        first = self.not_()
        if self.peek() != "and":
            return first
        parts = [first]
        while self.peek() == "and":
            self.take()
            parts.append(self.not_())

        def f(env, parts=tuple(parts)):
            for p in parts[:-1]:
                v = p(env)
                if not v:
                    return v
            return parts[-1](env)
        return f

    def not_(self):
        if self.peek() == "not":
            self.take()
            inner = self.not_()
            return lambda env: not inner(env)
        return self.compare()

    def compare(self):
        left = self.arith_chain()
        if self.peek() not in CMPOPS:
            return left
        chain = []
        while self.peek() in CMPOPS:
            fn = CMPOPS[self.take()[0]]
            chain.append((fn, self.arith_chain()))
        if len(chain) == 1:
            fn, right = chain[0]
            return lambda env: fn(left(env), right(env))

        def f(env, chain=tuple(chain)):
            a = left(env)
            for fn, rf in chain:
                b = rf(env)
                r = fn(a, b)
                if not r:
                    return r
                a = b
            return r
        return f

    def arith(self, min_prec):
        left = self.unary()
        while True:
            kind, _, col = self.toks[self.i]
            prec = _PREC.get(kind)
            if prec is None or prec <= min_prec:
                return left
            self.take()
            right = self.arith(prec)
            box = BinOp(BINOPS[kind], col, kind, self.depth)
            self.binops.append(box)
            left = self._bin(box, left, right)

    @staticmethod
    def _bin(box, lf, rf):
        return lambda env: box.fn(lf(env), rf(env))

    def unary(self):
        kind = self.peek()
        if kind in ("-", "+"):
            self.take()
            inner = self.unary()
            fn = operator.neg if kind == "-" else operator.pos
            return lambda env: fn(inner(env))
        return self.atom()

    def atom(self):
        kind, value, _ = self.take()
        if kind == "c":
            return lambda env: value
        if kind == "v":
            self.has_name = True
            return lambda env: env[value]  # KeyError -> NameError in run()
        if kind == "(":
            self.depth += 1
            inner = self.expr()
            self.depth -= 1
            self.expect(")")
            return inner
        raise Unsupported(str(kind))


def _parse_expr(text: str, base: int):
    p = _Parser(_tokenize(text, base))
    f = p.expr()
    p.expect("end")
    return f, p.binops, p.has_name


def _parse_args(text: str, base: int, lo: int, hi: int):
    p = _Parser(_tokenize(text, base))
    items = p.parse_list()
    if not lo <= len(items) <= hi:
        raise Unsupported(text)
    return items, p.binops


# ------------------------------------------------------------------------------------------------ statements

# statement kinds
ASSIGN, AUG, PRINT, PASS, IF, ELIF, ELSE, WHILE, FOR = range(9)
_ASSIGN_RE = re.compile(r"([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=|//=|%=)(?!=)\s*(.*)$")
_HEADER_RE = re.compile(r"(if|elif|while)(?=[\s(])(.*?)\s*:$")
_FOR_RE = re.compile(r"for\s+([A-Za-z_]\w*)\s+in\s+range\s*\((.*)\)\s*:$")
_PRINT_RE = re.compile(r"print\s*\((.*)\)$")
_ELSE_RE = re.compile(r"else\s*:$")
_AUG_FNS = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
        "//=": operator.ifloordiv, "%=": operator.imod}


def _check_target(name: str) -> str:
    if keyword.iskeyword(name) or name in _BUILTIN_NAMES:
        raise Unsupported(name)
    return name


_LEAF = r"([A-Za-z_]\w*|\d+)"
_SHAPE_ASSIGN = re.compile(rf"([A-Za-z_]\w*) = {_LEAF}(?: ([-+*/]) {_LEAF})?$")
_SHAPE_PAREN = re.compile(rf"([A-Za-z_]\w*) = \({_LEAF} ([-+*/]) {_LEAF}\)$")  # a one-piece arithmetic evaluation
_SHAPE_PRINT = re.compile(rf"print\({_LEAF}(?: ([-+*/]) {_LEAF})?\)$")
_SHAPE_TEST = re.compile(rf"(if|elif|while) +(not +)?{_LEAF} (<|>|<=|>=|!=|==) (-?\d+|[A-Za-z_]\w*) *:$")


_LEAVES: dict[str, tuple] = {}  # token -> (closure, is a name): TinyPy lines reuse a few hundred tokens


def _leaf(tok: str):
    """A closure for a name or an int literal, and whether it is a name (checked like the tokenizer does)."""
    got = _LEAVES.get(tok)
    if got is not None:
        return got
    if tok[0].isdigit() or tok[0] == "-":
        if len(tok) > 1 and tok.lstrip("-")[0] == "0" and len(tok.lstrip("-")) > 1:
            raise Unsupported(tok)
        value = int(tok)
        got = (lambda env: value), False
    else:
        if keyword.iskeyword(tok) or tok in _BUILTIN_NAMES:
            raise Unsupported(tok)
        got = (lambda env: env[tok]), True
    if len(_LEAVES) >= 10_000:
        _LEAVES.clear()
    _LEAVES[tok] = got
    return got


def _leaf_binop(a: str, op: str, b: str, col: int):
    """`a op b` of two leaves as one closure (the commonest TinyPy expression)."""
    box = BinOp(BINOPS[op], col, op, safe=True)
    fa, na = _leaf(a)
    fb, nb = _leaf(b)
    if na and nb:
        f = lambda env: box.fn(env[a], env[b])  # noqa: E731
    elif na:
        vb = fb(None)
        f = lambda env: box.fn(env[a], vb)  # noqa: E731
    elif nb:
        va = fa(None)
        f = lambda env: box.fn(va, env[b])  # noqa: E731
    else:
        va, vb = fa(None), fb(None)
        f = lambda env: box.fn(va, vb)  # noqa: E731
    return f, [box]


_L = r"(?:[A-Za-z_]\w*|\d+)"
_PIECE = rf"\({_L} [-+*/] {_L}\)"
_SHAPE_FOR = re.compile(r"for ([A-Za-z_]\w*) in range\((-?\d+), (-?\d+)(?:, (-?\d+))?\) :$")
_SHAPE_SAE = re.compile(rf"([A-Za-z_]\w*) = ({_PIECE}(?:[-+*/]{_PIECE})+)$")
_SAE_PIECE = re.compile(rf"([-+*/]?)\({_LEAF} ([-+*/]) {_LEAF}\)")
_COND = rf"(?:not )?\((?:not | )?{_L} (?:<|>|<=|>=|!=|==) {_L}\)"
_SHAPE_CHAIN = re.compile(rf"(if|elif) ({_COND}(?: (?:and|or) {_COND})*) :$")
_CHAIN_PIECE = re.compile(rf"(?:(and|or) )?(not )?\((not | )?{_LEAF} (<|>|<=|>=|!=|==) {_LEAF}\)")


def _bin_closure(box, lf, rf):
    return lambda env: box.fn(lf(env), rf(env))


def _sae(s: str, m):
    """`x = (a + 1)*(b - c)+(2 / d)`: parenthesized leaf pairs joined by operators (Python precedence)."""
    terms, outer = [], []
    binops = []
    base = m.start(2)
    for p in _SAE_PIECE.finditer(m.group(2)):
        f, inner = _leaf_binop(p.group(2), p.group(3), p.group(4), base + p.start(3))
        binops += inner
        if p.group(1):
            box = BinOp(BINOPS[p.group(1)], base + p.start(1), p.group(1))  # not safe: a swap may re-associate
            outer.append(box)
            binops.append(box)
        terms.append(f)
    # * and / first, then + and -, each left to right
    groups, gops = [terms[0]], []
    for box, t in zip(outer, terms[1:], strict=True):
        if box.op in "*/":
            groups[-1] = _bin_closure(box, groups[-1], t)
        else:
            gops.append(box)
            groups.append(t)
    f = groups[0]
    for box, g in zip(gops, groups[1:], strict=True):
        f = _bin_closure(box, f, g)
    return (ASSIGN, _check_target(m.group(1)), f, binops)


def _cond_closure(neg_outer, neg_inner, a, rel, b):
    fa, na = _leaf(a)
    fb, nb = _leaf(b)
    cmp = CMPOPS[rel]
    if neg_outer != neg_inner:  # `not (not x)` cancels as a truth value; the value here is a bool either way
        return (lambda env: not cmp(fa(env), fb(env))), na or nb
    return (lambda env: cmp(fa(env), fb(env))), na or nb


def _chain(m):
    """`if (a < 1) and not (b > 2) or ( c == 3) :`: `and` binds tighter than `or`."""
    ors: list[list] = [[]]
    has_name = False
    for p in _CHAIN_PIECE.finditer(m.group(2)):
        if p.group(1) == "or":
            ors.append([])
        f, named = _cond_closure(bool(p.group(2)), p.group(3) == "not ", p.group(4), p.group(5), p.group(6))
        has_name = has_name or named
        ors[-1].append(f)
    if not has_name:
        return None

    def and_all(fs):
        if len(fs) == 1:
            return fs[0]
        fs = tuple(fs)

        def f(env):
            for g in fs[:-1]:
                v = g(env)
                if not v:
                    return v
            return fs[-1](env)
        return f

    parts = tuple(and_all(fs) for fs in ors)
    if len(parts) == 1:
        f = parts[0]
    else:
        def f(env):
            for g in parts[:-1]:
                v = g(env)
                if v:
                    return v
            return parts[-1](env)
    return ({"if": IF, "elif": ELIF}[m.group(1)], None, f, [])


def _shape(s: str):
    """The commonest TinyPy line shapes without the tokenizer; None if `s` is not one of them."""
    c0 = s[0]
    if c0 == "p":
        m = _SHAPE_PRINT.match(s)
        if m:
            if m.group(2) is None:
                return (PRINT, None, (_leaf(m.group(1))[0],), [])
            f, binops = _leaf_binop(m.group(1), m.group(2), m.group(3), m.start(2))
            return (PRINT, None, (f,), binops)
    if c0 in "iew":
        m = _SHAPE_TEST.match(s)
        if m:
            fa, na = _leaf(m.group(3))
            fb, nb = _leaf(m.group(5))
            if not (na or nb):
                return None
            cmp = CMPOPS[m.group(4)]
            if m.group(2):
                f = lambda env: not cmp(fa(env), fb(env))  # noqa: E731
            else:
                f = lambda env: cmp(fa(env), fb(env))  # noqa: E731
            return ({"if": IF, "elif": ELIF, "while": WHILE}[m.group(1)], None, f, [])
        m = _SHAPE_CHAIN.match(s)
        if m:
            return _chain(m)
    if c0 == "f":
        m = _SHAPE_FOR.match(s)
        if m:
            name, a, b, c = m.groups()
            args = (_leaf(a)[0], _leaf(b)[0]) if c is None else (_leaf(a)[0], _leaf(b)[0], _leaf(c)[0])
            return (FOR, _check_target(name), args, [])
    m = _SHAPE_ASSIGN.match(s)  # the commonest first; it fails at the "(" of the other two at once
    if m:
        name = _check_target(m.group(1))
        if m.group(3) is None:
            return (ASSIGN, name, _leaf(m.group(2))[0], [])
        f, binops = _leaf_binop(m.group(2), m.group(3), m.group(4), m.start(3))
        return (ASSIGN, name, f, binops)
    m = _SHAPE_PAREN.match(s)
    if m:
        f, binops = _leaf_binop(m.group(2), m.group(3), m.group(4), m.start(3))
        return (ASSIGN, _check_target(m.group(1)), f, binops)
    m = _SHAPE_SAE.match(s)
    if m:
        return _sae(s, m)
    return None


def parse_statement(s: str):
    """One stripped line -> (kind, name, closure(s), binops). Raises Unsupported."""
    st = _shape(s)
    if st is not None:
        return st
    c0 = s[0]
    if c0 == "p":
        if s == "pass":
            return (PASS, None, None, ())
        m = _PRINT_RE.match(s)
        if m:
            items, binops = _parse_args(m.group(1), m.start(1), 0, 255)
            return (PRINT, None, tuple(items), binops)
    if c0 in "iwe":
        m = _HEADER_RE.match(s)
        if m:
            f, binops, has_name = _parse_expr(m.group(2), m.start(2))
            if not has_name:
                raise Unsupported(s)  # constant tests may be compiled away: leave them to CPython
            kind = {"if": IF, "elif": ELIF, "while": WHILE}[m.group(1)]
            return (kind, None, f, binops)
        if _ELSE_RE.match(s):
            return (ELSE, None, None, ())
    if c0 == "f":
        m = _FOR_RE.match(s)
        if m:
            items, binops = _parse_args(m.group(2), m.start(2), 1, 3)
            return (FOR, _check_target(m.group(1)), tuple(items), binops)
    m = _ASSIGN_RE.match(s)
    if m:
        name = _check_target(m.group(1))
        f, binops, _ = _parse_expr(m.group(3), m.start(3))
        if m.group(2) == "=":
            return (ASSIGN, name, f, binops)
        return (AUG, name, (_AUG_FNS[m.group(2)], f), binops)
    raise Unsupported(s)


_CACHE_MAX = 500_000


def clear_cache() -> None:
    """Forget parsed lines (benchmarks start cold with it)."""
    _RAW.clear()
    _LEAVES.clear()
    _LAYOUTS.clear()
    _SHAPES.clear()


@contextmanager
def rare_gc():
    """Bulk work makes millions of small acyclic objects (closures, tuples, strings): with CPython's default
    thresholds a quarter of the time goes to collections that free nothing. Collect rarely meanwhile."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _statement(s: str):
    """The parsed statement, or None outside the subset. Not cached by itself: the raw-line cache (_RAW) is
    the one that hits; the same statement at another indentation is rare (1.4% of cold lines here)."""
    try:
        return parse_statement(s)
    except (Unsupported, ValueError, OverflowError, IndexError):
        return None


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


_SKIP = (-1, "", None, None, None, ())  # the row of a blank or comment line
_LAYOUTS: dict[tuple, tuple | None] = {}  # program shape -> Program.layout(), or None outside the subset
_RAW: dict[str, tuple | bool] = {}  # raw line (with its indentation) -> its row, or False outside the subset
_first = operator.itemgetter(0)


def _raw_line(raw: str) -> tuple | bool:
    s = raw.strip()
    if not s or s[0] == "#":
        return _SKIP
    indent = raw[: len(raw) - len(raw.lstrip())]
    if indent.strip(" \t"):
        return False
    st = _statement(s)
    return False if st is None else (_shape_id(indent, st[0]), indent, *st)


_SHAPES: dict[tuple, int] = {}  # (indent, kind) -> a small int: program shape keys are tuples of these


def _shape_id(indent: str, kind: int) -> int:
    key = (indent, kind)
    sid = _SHAPES.get(key)  # a hit is the rule: no len() for a default that setdefault would throw away
    if sid is None:
        sid = _SHAPES[key] = len(_SHAPES)
    return sid


def _const(value):
    return lambda env: value


def _var(name):
    return lambda env: env[name]


def _warm() -> None:
    """Pre-parse TinyPy's finite line families (`x = 0..255`, `print(x)`, `\tprint(x)`, `else :`): ~10 ms once,
    and most lines of a bulk run are then cache hits from the start."""
    consts = [_const(v) for v in range(256)]
    assign, show, tab_show = _shape_id("", ASSIGN), _shape_id("", PRINT), _shape_id("\t", PRINT)
    for name in "abcdefghijklmnopqrstuvwxyz":
        for v in range(256):
            _RAW[f"{name} = {v}"] = (assign, "", ASSIGN, name, consts[v], [])
        shown = (_var(name),)
        _RAW[f"print({name})"] = (show, "", PRINT, None, shown, [])
        _RAW[f"\tprint({name})"] = (tab_show, "\t", PRINT, None, shown, [])
    _RAW["else :"] = (_shape_id("", ELSE), "", ELSE, None, None, ())


def _cold_rows(raws: list[str], rows: list) -> list | None:
    """Parse the lines that missed the cache (rows[i] None); None if a line is outside the subset."""
    raw_cache = _RAW
    for i, row in enumerate(rows):
        if row is None:
            row = rows[i] = _raw_line(raws[i])
            if len(raw_cache) >= _CACHE_MAX:
                raw_cache.clear()
            raw_cache[raws[i]] = row
        if row is False:
            return None
    return rows


def compile_program(code: str) -> Program | None:
    """Parse a snippet into the fast subset, or None when it needs the settrace reference."""
    if not _RAW:
        _warm()
    raws = code.split("\n")
    rows = list(map(_RAW.get, raws))
    if None in rows:
        rows = _cold_rows(raws, rows)
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
            elif op == _FOR_INIT:
                it = iter(range(*[f(env) for f in ins[3]]))
                iters[ins[4]] = it
                v = next(it, _END)
                if v is _END:
                    pc = ins[5]
                else:
                    env[ins[2]] = v
                    pc += 2
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
