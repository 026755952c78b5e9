"""The TinyPy Generator grammar (MarwaNair/TinyPy-Generator, HEAD f2c48e2), seeded and fast.

    from trainer.tinypy.generator import generate_programs, generate_samples
    programs = generate_programs("ALL", 1000, seed=0, workers=2)   # list of pure programs (str)
    samples = generate_samples("3.1", 10, seed=0)                  # list of Sample(program, level, output, text)

Each program is the exact text the original grammar produces: TAB indentation, `if  x > 1 :` (OPTIONAL_NOT's
space), `( f >= 7)`, `(a - 4)+(1 + y)`, a space before every `:`, variables a-z, digits 0-255, for/while
bounds from the (step, count) pairs, and `max_init` set by the level string (so under ALL every sub-level
may have up to 6 initializations). Rather than a generic CFG walker, each rule is a small function that
makes the same uniform choices as the original rule (same distribution, much faster), and returns with its
text a plan of it that evaluate.run_plan executes for the label (no parsing of the text).

Determinism: program i is drawn from `random.Random(_derive(seed, i))` only, so the same seed gives the same
programs whatever the worker count. Programs that raise (e.g. ZeroDivisionError) are redrawn from the same
generator; kept samples are deduplicated on the full `# output` sample text, in index order, and
generation stops early (with a warning) after 1000 consecutive duplicates, like the original.
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass

from trainer.tinypy.evaluate import nest, run_plan
from trainer.tinypy.parse import fewer_gc_collections

LEVELS = ("1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "4.1")
ALL_LEVELS = (*LEVELS, "ALL")
_MAX_INIT = {"1.1": 2, "1.2": 3, "2.1": 2, "3.1": 2, "3.2": 4, "4.1": 2}  # anything else (2.2, ALL): 5
_VARS = "abcdefghijklmnopqrstuvwxyz"
_ARITH = "+-*/"
_RELOPS = ("<", ">", "<=", ">=", "!=", "==")
_LOOP_PAIRS = ((1, 2), (2, 1), (2, 2), (2, 3), (3, 2))  # (step, iteration count) drawn for FINAL
MAX_CONSECUTIVE_DUPLICATES = 1000


class _Grammar:
    """One program's expansion state: the original's init_count/max_init, assigned_identifiers, last_variable."""

    def __init__(self, rng: random.Random, max_init: int):
        self.rng = rng
        self.bits = rng.getrandbits
        self.max_init = max_init
        self.inits: dict[str, int] = {}  # variable -> its (latest) initialization value
        self.last: str | None = None  # the variable of SIMPLE/ADVANCED_ASSIGNMENTS, if any
        self.start = 0  # range start / while start (the original's stored INITIAL)
        self.step = 1

    def coin(self) -> bool:
        return self.bits(1) == 1

    def below(self, n: int) -> int:
        """rng.randrange(n) / rng.choice: the same draws as CPython's _randbelow_with_getrandbits, inlined."""
        k = n.bit_length()
        r = self.bits(k)
        while r >= n:
            r = self.bits(k)
        return r

    def ident(self) -> str:  # EXPRESSION_IDENTIFIER: a random *initialized* variable
        names = list(self.inits)
        return names[self.below(len(names))]

    # Each rule returns (text, plan node) -- see evaluate.py for the plan -- and makes the original's draws.

    def term(self) -> str | int:  # a variable name or an int value; its text is str(term)
        if self.coin():
            return self.ident()
        return self.bits(8)

    def op(self) -> str:
        return _ARITH[self.bits(2)]

    def initializations(self) -> tuple[str, list]:  # IDENTIFIER_INITIALIZATION with the max_init cap
        k = 1
        for _ in range(self.max_init):
            if not self.coin():
                break
            k += 1
        lines = []
        plan = []
        for _ in range(k):
            var = _VARS[self.below(26)]
            value = self.bits(8)
            self.inits[var] = value
            lines.append(f"{var} = {value}\n")
            plan.append(("=", var, value))
        return "".join(lines), plan

    def expression(self) -> tuple[str, tuple]:
        t1 = self.term()
        op = self.op()
        t2 = self.term()
        return f"{t1} {op} {t2}", (t1, op, t2)

    def arithmetic_evaluation(self) -> tuple[str, tuple]:  # SIMPLE_ARITHMETIC_EVALUATION: (e)op(e)... no spaces
        text, node = self.expression()
        texts, parts = [f"({text})"], [node]
        while self.coin():
            op = self.op()
            text, node = self.expression()
            texts.append(f"{op}({text})")
            parts += (op, node)
        return "".join(texts), nest(parts)

    def simple_assignment(self) -> tuple[str, list]:
        if self.coin():
            return "", []
        var = _VARS[self.below(26)]
        self.last = var
        text, node = self.expression()
        return f"{var} = {text}\n", [("=", var, node)]

    def advanced_assignment(self) -> tuple[str, list]:
        k = self.below(3)
        if k == 2:
            return "", []
        var = _VARS[self.below(26)]
        self.last = var
        text, node = self.arithmetic_evaluation() if k == 0 else self.expression()
        return f"{var} = {text}\n", [("=", var, node)]

    def display(self) -> tuple[str, str]:  # DISPLAY: the assigned variable if any, else a random initialized one
        var = self.last if self.last is not None else self.ident()
        return f"print({var})", var

    def advanced_display(self) -> tuple[str, str | tuple]:
        if self.coin():
            return self.display()
        a = self.ident()
        op = self.op()
        b = self.term()
        return f"print({a} {op} {b})", (a, op, b)

    def condition_expression(self, neg: bool) -> tuple[str, tuple]:
        a = self.ident()
        rel = _RELOPS[self.below(6)]
        b = self.term()
        return f"{a} {rel} {b}", (neg, a, rel, b)

    def condition(self, neg: bool = False) -> tuple[str, tuple]:  # OPTIONAL_NOT is "not " or " " (`if  x < 1 :`)
        if self.coin():
            if self.coin():
                text, node = self.condition_expression(not neg)
                return "not " + text, node
            text, node = self.condition_expression(neg)
            return " " + text, node
        return self.condition_expression(neg)

    def chain_condition(self) -> tuple[str, list]:
        """The text, and its plan as or-groups of and-groups (`and` binds tighter than `or`)."""
        k = self.below(3)
        if k == 0:
            left, groups = self.chain_condition()
            logic = "and" if self.coin() else "or"
            text, node = self.condition()
            if logic == "and":
                groups[-1].append(node)
            else:
                groups.append([node])
            return f"{left} {logic} ({text})", groups
        if k == 1:
            text, node = self.condition(neg=True)
            return f"not ({text})", [[node]]
        text, node = self.condition()
        return f"({text})", [[node]]

    def simple_condition(self) -> tuple[str, list]:
        text, node = self.condition()
        return text, [[node]]

    def initial(self) -> int:
        self.start = self.bits(8)
        return self.start

    def draw_pair(self) -> int:
        step, count = _LOOP_PAIRS[self.below(5)]
        self.step = step
        return step * count

    def for_header(self) -> tuple[str, tuple]:  # the plan node lacks its body (the last item)
        three = self.coin()
        var = self.ident()
        start = self.initial()
        final = self.draw_pair() + self.start - 1
        if three:
            return f"for {var} in range({start}, {final}, {self.step}) :", ("for", var, start, final, self.step)
        return f"for {var} in range({start}, {final}) :", ("for", var, start, final, 1)

    def while_loop(self, less: bool) -> tuple[str, tuple]:
        var = self.ident()
        self.start = self.inits[var]  # EXPRESSION_IDENTIFIER_WHILE starts from its initialization value
        if less:
            rel = "<" if self.coin() else "<="
            final = self.draw_pair() + self.start - 1
            sign = "+"
        else:
            rel = ">" if self.coin() else ">="
            final = self.start - self.draw_pair() + 1
            sign = "-"
        text, show = self.display()
        step = self.step if less else -self.step
        return (f"while {var} {rel} {final} :\n\t{text}\n\t{var} = {var} {sign} {self.step}",
                ("while", var, rel, final, show, step))

    # ---- levels: each returns (program text, plan)

    def level(self, name: str) -> tuple[str, list]:
        return getattr(self, "level_" + name.replace(".", "_"))()

    def level_1_1(self):
        ii, plan = self.initializations()
        sa, p = self.simple_assignment()
        text, show = self.advanced_display()
        return ii + sa + text, plan + p + [("print", show)]

    def level_1_2(self):
        ii, plan = self.initializations()
        aa, p = self.advanced_assignment()
        text, show = self.advanced_display()
        return ii + aa + text, plan + p + [("print", show)]

    def _if_level(self, advanced: bool):
        shape = self.below(3)
        ii, plan = self.initializations()
        aa, p = self.advanced_assignment() if advanced else ("", [])
        cond = self.chain_condition if advanced else self.simple_condition
        show = self.advanced_display if advanced else self.display
        ctext, c = cond()
        stext, s = show()
        text = f"{ii}{aa}if {ctext} :\n\t{stext}"
        branches, other = [(c, s)], None
        if shape == 1:
            ctext, c = cond()
            stext, s = show()
            text += f"\nelif {ctext} :\n\t{stext}"
            branches.append((c, s))
        if shape in (1, 2):
            stext, other = show()
            text += f"\nelse :\n\t{stext}"
        return text, plan + p + [("if", branches, other)]

    def level_2_1(self):
        return self._if_level(False)

    def level_2_2(self):
        return self._if_level(True)

    def level_3_1(self):
        ii, plan = self.initializations()
        header, loop = self.for_header()
        text, show = self.display()
        return f"{ii}{header}\n\t{text}", plan + [(*loop, show)]

    def level_3_2(self):
        ii, plan = self.initializations()
        aa, p = self.advanced_assignment()
        simple = self.coin()  # ADVANCED_FOR_LOOP := FOR_LOOP | FOR_HEADER \n \t ADVANCED_DISPLAY
        header, loop = self.for_header()
        text, show = self.display() if simple else self.advanced_display()
        return f"{ii}{aa}{header}\n\t{text}", plan + p + [(*loop, show)]

    def level_4_1(self):
        less = self.coin()
        ii, plan = self.initializations()
        text, loop = self.while_loop(less)
        return ii + text, plan + [loop]


@dataclass
class Sample:
    program: str
    level: str  # the sub-level that produced it (never "ALL")
    output: str  # exact stdout
    text: str  # the TinyPy `# output` sample

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def output_sample(program: str, stdout: str) -> str:
    """TinyPy's labelled sample: program, `# output`, one `# line` per stripped stdout line (`# ` if none)."""
    return program + "\n# output\n" + "\n".join("# " + line for line in stdout.strip().split("\n"))


def _derive(seed: int, index: int, stream: int = 0) -> int:
    """A seed for item `index` of stream `stream` (e.g. the level): independent of worker count and hash seed."""
    return ((((seed & 0xFFFFFFFFFFFF) << 8) | (stream & 0xFF)) << 40) | (index & 0xFFFFFFFFFF)


def check_level(level: str) -> str:
    level = str(level).upper()
    if level not in ALL_LEVELS:
        raise ValueError(f"unknown level {level!r}; choose from {', '.join(ALL_LEVELS)}")
    return level


def draw_program(rng: random.Random, level: str, max_init: int) -> tuple[str, str, list]:
    """One program drawn from `rng`: (sub-level, text, plan for evaluate.run_plan)."""
    sub = LEVELS[rng.randrange(7)] if level == "ALL" else level
    return (sub, *_Grammar(rng, max_init).level(sub))


def generate_one(level: str, seed: int, index: int) -> Sample:
    """Program number `index` of the stream for (level, seed); redraws until it runs without error."""
    rng = random.Random(_derive(seed, index, ALL_LEVELS.index(level)))
    max_init = _MAX_INIT.get(level, 5)
    while True:
        sub, program, plan = draw_program(rng, level, max_init)
        output = run_plan(plan)  # the generator's own evaluator: no parsing (tested equal to the tracer)
        if output is not None:
            return Sample(program, sub, output, output_sample(program, output))


def _generate_range(args: tuple[str, int, int, int]) -> list[tuple[str, str, str, str]]:
    """A worker's chunk, as plain tuples (they pickle several times faster than dataclasses)."""
    level, seed, start, stop = args
    out = []
    with fewer_gc_collections():
        for i in range(start, stop):
            s = generate_one(level, seed, i)
            out.append((s.program, s.level, s.output, s.text))
    return out


def iter_samples(level: str, seed: int, workers: int = 1, chunk: int = 2000, hint: int = 0):
    """Endless stream of samples in index order (parallel chunks, merged in order).

    hint: how many will probably be used; past it, chunks are made one at a time (no wasted work)."""
    level = check_level(level)
    if workers <= 1:
        i = 0
        while True:
            yield generate_one(level, seed, i)
            i += 1
    import multiprocessing as mp

    with mp.get_context("fork" if sys.platform != "win32" else "spawn").Pool(workers) as pool:
        pending = []
        nxt = 0
        while True:
            while len(pending) < 2 * workers and (nxt < hint or not pending):
                pending.append(pool.apply_async(_generate_range, ((level, seed, nxt, nxt + chunk),)))
                nxt += chunk
            for t in pending.pop(0).get():
                yield Sample(*t)


def generate_samples(level: str, count: int, seed: int = 0, workers: int = 1, progress: bool = False) -> list[Sample]:
    """`count` unique samples (unique `# output` text), the same for any worker count."""
    seen: set[str] = set()
    kept: list[Sample] = []
    dups = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=count, desc=f"tinypy {level}", unit="prog", file=sys.stderr)
    chunk = max(100, min(2000, count // max(1, workers * 4) + 1))
    stream = iter_samples(level, seed, workers, chunk=chunk, hint=count + count // 100)
    try:
        with fewer_gc_collections():
            for s in stream:
                if len(kept) >= count:
                    break
                h = s.text  # the text itself: a set of str is exact and cheaper than hashing to SHA-256
                if h in seen:
                    dups += 1
                    if dups >= MAX_CONSECUTIVE_DUPLICATES:
                        print(f"warning: {dups} consecutive duplicates, stopping at {len(kept)} programs",
                              file=sys.stderr)
                        break
                    continue
                dups = 0
                seen.add(h)
                kept.append(s)
                if bar is not None:
                    bar.update(1)
    finally:
        stream.close()
        if bar is not None:
            bar.close()
    return kept


def generate_programs(level: str, count: int, seed: int = 0, workers: int = 1) -> list[str]:
    """`count` unique pure programs of `level` (1.1 ... 4.1 or ALL) for `seed`."""
    return [s.program for s in generate_samples(level, count, seed, workers)]
