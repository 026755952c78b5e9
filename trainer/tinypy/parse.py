"""Parse tinypy lines into statements of closures env -> value, for the fast tracer (tracer.py).

`parse_line(s)` turns one stripped line into (kind, target name, closure(s), binary operators), or None when the
line is outside the fast subset (see tracer.py). The commonest line shapes are matched by regular expressions
(`_parse_common_shape`); every other line goes through a tokenizer and a precedence-climbing parser (`_Parser`).
Python's own operators compute every value, so results and errors are CPython's. Why it is built this way, with
the measurements: docs/tinypy.md, "The fast tracer".
"""

from __future__ import annotations

import builtins
import gc
import keyword
import operator
import re
from contextlib import contextmanager

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
    __slots__ = ("fn", "col", "op", "depth", "swap_safe")

    def __init__(self, fn, col, op, depth=0, swap_safe=False):
        self.fn, self.col, self.op = fn, col, op
        self.depth = depth  # parenthesis depth, to tell an operator's own chain from nested ones
        self.swap_safe = swap_safe  # alone in its arithmetic chain: swapping it cannot change the parse tree


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
            own[0].swap_safe = True
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

    def expr(self):  # or: the first true operand, else the last
        return self._bool_chain("or", self.and_, operator.truth)

    def and_(self):  # and: the first false operand, else the last
        return self._bool_chain("and", self.not_, operator.not_)

    def _bool_chain(self, word, operand, stops):
        """`operand (word operand)*` with Python's short circuit: the value of the first operand for which
        `stops(value)`, else the last operand's value."""
        first = operand()
        if self.peek() != word:
            return first
        parts = [first]
        while self.peek() == word:
            self.take()
            parts.append(operand())

        def f(env, parts=tuple(parts)):
            for p in parts[:-1]:
                v = p(env)
                if stops(v):
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


_LEAF_CLOSURES: dict[str, tuple] = {}  # token -> (closure, is a name): tinypy lines reuse few tokens


def _leaf_closure(tok: str):
    """A closure for a name or an int literal, and whether it is a name (checked like the tokenizer does)."""
    got = _LEAF_CLOSURES.get(tok)
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
    if len(_LEAF_CLOSURES) >= 10_000:
        _LEAF_CLOSURES.clear()
    _LEAF_CLOSURES[tok] = got
    return got


def _leaf_binop(a: str, op: str, b: str, col: int):
    """`a op b` of two leaves as one closure (the commonest TinyPy expression)."""
    box = BinOp(BINOPS[op], col, op, swap_safe=True)
    fa, na = _leaf_closure(a)
    fb, nb = _leaf_closure(b)
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


_LEAF_NC = r"(?:[A-Za-z_]\w*|\d+)"  # _LEAF without its group
_PAREN_PAIR = rf"\({_LEAF_NC} [-+*/] {_LEAF_NC}\)"
_SHAPE_FOR = re.compile(r"for ([A-Za-z_]\w*) in range\((-?\d+), (-?\d+)(?:, (-?\d+))?\) :$")
_SHAPE_PAREN_SUM = re.compile(rf"([A-Za-z_]\w*) = ({_PAREN_PAIR}(?:[-+*/]{_PAREN_PAIR})+)$")
_PAREN_SUM_PIECE = re.compile(rf"([-+*/]?)\({_LEAF} ([-+*/]) {_LEAF}\)")
_COND = rf"(?:not )?\((?:not | )?{_LEAF_NC} (?:<|>|<=|>=|!=|==) {_LEAF_NC}\)"
_SHAPE_CHAIN = re.compile(rf"(if|elif) ({_COND}(?: (?:and|or) {_COND})*) :$")
_CHAIN_PIECE = re.compile(rf"(?:(and|or) )?(not )?\((not | )?{_LEAF} (<|>|<=|>=|!=|==) {_LEAF}\)")


def _bin_closure(box, lf, rf):
    return lambda env: box.fn(lf(env), rf(env))


def _parse_paren_sum(m):
    """`x = (a + 1)*(b - c)+(2 / d)`: parenthesized leaf pairs joined by operators (Python precedence)."""
    terms, outer = [], []
    binops = []
    base = m.start(2)
    for p in _PAREN_SUM_PIECE.finditer(m.group(2)):
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
    fa, na = _leaf_closure(a)
    fb, nb = _leaf_closure(b)
    cmp = CMPOPS[rel]
    if neg_outer != neg_inner:  # `not (not x)` cancels as a truth value; the value here is a bool either way
        return (lambda env: not cmp(fa(env), fb(env))), na or nb
    return (lambda env: cmp(fa(env), fb(env))), na or nb


def _parse_condition_chain(m):
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


def _parse_common_shape(s: str):
    """The commonest TinyPy line shapes without the tokenizer; None if `s` is not one of them."""
    c0 = s[0]
    if c0 == "p":
        m = _SHAPE_PRINT.match(s)
        if m:
            if m.group(2) is None:
                return (PRINT, None, (_leaf_closure(m.group(1))[0],), [])
            f, binops = _leaf_binop(m.group(1), m.group(2), m.group(3), m.start(2))
            return (PRINT, None, (f,), binops)
    if c0 in "iew":
        m = _SHAPE_TEST.match(s)
        if m:
            fa, na = _leaf_closure(m.group(3))
            fb, nb = _leaf_closure(m.group(5))
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
            return _parse_condition_chain(m)
    if c0 == "f":
        m = _SHAPE_FOR.match(s)
        if m:
            name, a, b, c = m.groups()
            args = tuple(_leaf_closure(x)[0] for x in (a, b, c) if x is not None)
            return (FOR, _check_target(name), args, [])
    m = _SHAPE_ASSIGN.match(s)  # the commonest first; it fails at the "(" of the other two at once
    if m:
        name = _check_target(m.group(1))
        if m.group(3) is None:
            return (ASSIGN, name, _leaf_closure(m.group(2))[0], [])
        f, binops = _leaf_binop(m.group(2), m.group(3), m.group(4), m.start(3))
        return (ASSIGN, name, f, binops)
    m = _SHAPE_PAREN.match(s)
    if m:
        f, binops = _leaf_binop(m.group(2), m.group(3), m.group(4), m.start(3))
        return (ASSIGN, _check_target(m.group(1)), f, binops)
    m = _SHAPE_PAREN_SUM.match(s)
    if m:
        return _parse_paren_sum(m)
    return None


def parse_statement(s: str):
    """One stripped line -> (kind, name, closure(s), binops). Raises Unsupported."""
    st = _parse_common_shape(s)
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


def parse_line(s: str):
    """parse_statement, or None when the line is outside the fast subset."""
    try:
        return parse_statement(s)
    except (Unsupported, ValueError, OverflowError, IndexError):
        return None


def clear_leaf_cache() -> None:
    _LEAF_CLOSURES.clear()


@contextmanager
def fewer_gc_collections():
    """Bulk work makes millions of small acyclic objects (closures, tuples, strings) that CPython's default thresholds
    collect often for nothing: collect rarely meanwhile."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
