"""The five TinyPy tasks (ibrahim-aboud/tiny-py-data-generation-playground), fast and without the originals' bugs.

    from trainer.tinypy.tasks import make_task_records, make_task_samples
    recs = make_task_records("line_count", programs, seed=0)   # [{"task", "prompt", "answer", "level"}, ...]
    texts = make_task_samples("operator", programs, seed=0)    # the originals' text samples

Tasks and their text samples (the originals' formats; `T` = TAB indentation kept):
- output:           program + "\\n# output\\n# 5\\n# 7"        (TinyPy stdout label; answer = exact stdout)
- states:           program + "\\n# a?1;b?2"                   (the playground's "output prediction": final states)
- line_count:       program + "\\n# count?7"
- operator:         program with one operator as "?" + "\\n# a?1;b?2;operator?-"
- stepped_operator: program with one operator as "?" and one line as "@line$a?1;b?2" + "\\n# operator?-"
- stepped_input:    program with one early constant as "?" and one line as "@line$a?1" + "\\n# input?73"

Records (`--jsonl`): prompt is the program text for output/states/line_count; for operator it is the masked
program plus its "\\n# a?1;b?2" states line; for the stepped tasks the masked, highlighted program.
The answer is what follows the marker (stdout text, states, count, operator, value).

Parameters (the originals' defaults): operator `limit=0`; stepped_operator `sampling_limit=3`, `limit=0` and the
determinism filter; stepped_input `sampling_limit=3`, `step_limit=10`. Randomness comes only from
`random.Random(seed-derived)` per snippet index, so results do not depend on the worker count.
Deviations from the originals (all intentional) are listed in docs/tinypy.md.
"""

from __future__ import annotations

import ast
import gc
import random
import re
import sys
from collections import Counter

from trainer import contract
from trainer.tinypy.generator import _derive
from trainer.tinypy.parse import BINOPS, fewer_gc_collections
from trainer.tinypy.tracer import Program, compile_program, run_program, trace, trace_steps

TASKS = contract.TASKS  # output, line_count, states, operator, stepped_operator, stepped_input
ARITH = ("+", "-", "*", "/")  # the operators masked (include_arithmetic_masking=True, comparators off)
DEFAULTS = {"sampling_limit": 3, "limit": 0, "step_limit": 10}


def split_snippets(text: str) -> list[str]:
    """Pure programs separated by blank lines, or TinyPy samples (their `# output` part is dropped)."""
    out = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        if chunk.startswith("# output"):
            continue
        cut = chunk.find("\n# output")
        if cut >= 0:
            chunk = chunk[:cut]
        chunk = chunk.strip("\n")
        if chunk.strip():
            out.append(chunk)
    return out


# ------------------------------------------------------------------------------------------ operators


class _Candidate:
    """One maskable binary operator: where it is, and how to try another operator in its place."""
    __slots__ = ("line", "col", "op", "box")

    def __init__(self, line, col, op, box=None):
        self.line, self.col, self.op, self.box = line, col, op, box


def _candidates(code: str, prog: Program | None) -> list[_Candidate]:
    if prog is not None:
        found = prog.binops()
        # identical lines share their parsed line, operator boxes included: swapping one would change them all,
        # so such an operator is tried on the edited text instead
        seen = Counter(id(b) for _, _, b in found)
        return [_Candidate(line, col, b.op, b if seen[id(b)] == 1 else None) for line, col, b in found
                if b.op in ARITH]
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    lines = code.split("\n")
    cands = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.BinOp) or node.lineno != node.end_lineno:
            continue
        text = lines[node.lineno - 1]
        if not text.isascii() or node.left.end_lineno != node.lineno or node.right.lineno != node.lineno:
            continue
        # the operator is the first character after the left operand that is not a space or a ")":
        # the originals took the ")" of a parenthesized left operand as the operator
        col = node.left.end_col_offset
        while col < node.right.col_offset and (text[col].isspace() or text[col] == ")"):
            col += 1
        op = text[col:col + 2] if text[col:col + 2] == "//" else text[col:col + 1]
        if op in ARITH:
            cands.append(_Candidate(node.lineno - 1, col, op))
    cands.sort(key=lambda c: (c.line, c.col))
    return cands


def _replace(code: str, line: int, col: int, width: int, text: str) -> str:
    lines = code.split("\n")
    s = lines[line]
    lines[line] = s[:col] + text + s[col + width:]
    return "\n".join(lines)


def _highlight(code: str, line: int, states: str) -> str:
    lines = code.split("\n")
    lines[line] = "@" + lines[line] + "$" + states
    return "\n".join(lines)


def _variant_states(code, prog, cand, new_op, max_steps):
    """Final states (or None if it errors / runs too long) with `cand` replaced by `new_op`."""
    if cand.box is not None and cand.box.swap_safe:
        old = cand.box.fn
        cand.box.fn = BINOPS[new_op]
        try:
            _, _, env, error = run_program(prog, max_steps)
        finally:
            cand.box.fn = old
        return None if error else [(k, str(env[k])) for k in prog.order if k in env]
    r = trace(_replace(code, cand.line, cand.col, len(cand.op), new_op), max_steps=max_steps, timeout=2.0)
    return None if r.error else r.states


def _variant_step(code, prog, cand, new_op, step, max_steps):
    """The (line, states) at `step` of the variant, or None if it errors before or never gets there.

    The variant runs only up to `step`: what it does afterwards (e.g. loop forever) does not matter."""
    if cand.box is not None and cand.box.swap_safe:
        old = cand.box.fn
        cand.box.fn = BINOPS[new_op]
        try:
            steps, error = trace_steps(code, max_steps=max_steps, stop_at=step, prog=prog)
        finally:
            cand.box.fn = old
    else:
        steps, error = trace_steps(_replace(code, cand.line, cand.col, len(cand.op), new_op), max_steps=max_steps,
                                   stop_at=step)
    if error or len(steps) < step:
        return None
    return steps[step - 1]


# ---------------------------------------------------------------------------------------------- tasks
# each returns a list of (text sample, prompt, answer)


def _trace(code, states=True):
    """(stdout, line count, states, error): the fast interpreter directly (no TraceResult) or the reference."""
    prog = compile_program(code)
    if prog is None:
        r = trace(code)
        return r.output, r.line_count, r.states, r.error
    out, count, env, error = run_program(prog)
    st = [(k, str(env[k])) for k in prog.order if k in env] if states and not error else []
    return "".join(out), count, st, error


def task_output(code, rng, params):
    out, _, _, error = _trace(code, states=False)
    if error:
        return []
    lines = out.strip().split("\n")
    return [(code + "\n# output\n" + "\n".join("# " + s for s in lines), code, out)]


def task_states(code, rng, params):
    _, _, states, error = _trace(code)
    if error or not states:
        return []
    s = ";".join(f"{k}?{v}" for k, v in states)
    return [(code + "\n# " + s, code, s)]


def task_line_count(code, rng, params):
    _, count, _, error = _trace(code, states=False)
    if error:
        return []
    return [(code + "\n# count?" + str(count), code, str(count))]


def task_operator(code, rng, params):
    prog = compile_program(code)
    if prog is not None:
        hit: set = set()
        _, count, env, error = run_program(prog, hits=hit)
        if error:
            return []
        base_states = [(k, str(env[k])) for k in prog.order if k in env]
    else:
        steps, error = trace_steps(code)
        if error:
            return []
        hit, count = {line for line, _ in steps}, len(steps)
        base_states = trace(code).states
    if not base_states:
        return []
    cands = [c for c in _candidates(code, prog) if c.line in hit]
    limit = params.get("limit", 0)
    if 0 < limit < len(cands):
        cands = rng.sample(cands, limit)
    budget = 2 * count + 20  # a variant that runs 2x longer than the original is counted as different
    states = ";".join(f"{k}?{v}" for k, v in base_states)
    out = []
    for c in cands:
        # keep the question only if every other operator changes the final states (or fails): the answer is unique
        if all(_variant_states(code, prog, c, alt, budget) != base_states for alt in ARITH if alt != c.op):
            masked = _replace(code, c.line, c.col, len(c.op), "?")
            prompt = masked + "\n# " + states
            out.append((prompt + ";operator?" + c.op, prompt, c.op))
    return out


def _reach(steps):
    """Per step: (furthest 0-based line so far, has execution jumped back) as the original tracer computed it."""
    furthest, back = 0, False
    out = []
    for line, _ in steps:
        if furthest > line:
            back = True
        elif furthest < line:
            back = False
            furthest = line
        out.append((furthest, back))
    return out


def task_stepped_operator(code, rng, params):
    code = code.strip("\n")
    prog = compile_program(code)
    steps, error = trace_steps(code, prog=prog)
    if error or not steps:
        return []
    count = len(steps)
    chosen = list(range(1, count + 1))
    sampling = params.get("sampling_limit", 3)
    if 0 < sampling < count:
        chosen = rng.sample(chosen, sampling)
    reach = _reach(steps)
    hit = {line for line, _ in steps}
    all_cands = [c for c in _candidates(code, prog) if c.line in hit]
    limit = params.get("limit", 0)
    budget = 2 * count + 20  # a variant that runs 2x longer than the original is counted as different
    out = []
    for step in chosen:
        line, states = steps[step - 1]
        if not states:
            continue
        furthest, back = reach[step - 1]
        cands = [c for c in all_cands if (c.line <= furthest if back else c.line < furthest)]
        if 0 < limit < len(cands):
            cands = rng.sample(cands, limit)
        for c in cands:
            if not _deterministic_at(code, prog, c, step, (line, states), budget):
                continue
            masked = _replace(code, c.line, c.col, len(c.op), "?")
            prompt = _highlight(masked, line, states)
            out.append((prompt + "\n# operator?" + c.op, prompt, c.op))
    return out


def _deterministic_at(code, prog, cand, step, original, budget):
    """The seed version's filter: every other operator must run cleanly up to `step`, be on the same line
    there, and show different states."""
    for alt in ARITH:
        if alt == cand.op:
            continue
        got = _variant_step(code, prog, cand, alt, step, budget)
        if got is None or got[0] != original[0] or got[1] == original[1]:
            return False
    return True


def _input_candidates(tree):
    """Numeric constants of the leading top-level assignments: `x = 5`, `x = -5`, `x = 5 op y`, `x = y op 5`."""
    out = []

    def numeric(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        return None

    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign):
            break
        sides = (stmt.value.left, stmt.value.right) if isinstance(stmt.value, ast.BinOp) else (stmt.value,)
        for node in sides:
            value = numeric(node)
            if value is not None and node.lineno == node.end_lineno:
                out.append((node, value))
    return out


_L = r"(?:(\d+)|[A-Za-z_]\w*)"
_CONST_LINE = re.compile(rf"[A-Za-z_]\w* = (?:(\d+)|{_L} [-+*/] {_L}|\({_L} [-+*/] {_L}\))$")
_MULTI_PIECE = re.compile(r"[A-Za-z_]\w* = \([^()]*\)(?:[-+*/]\([^()]*\))+$")


def _quick_input_candidates(lines):
    """(line0, col, width, value) for TinyPy-shaped leading assignments, or None when ast is needed."""
    out = []
    for i, text in enumerate(lines):
        if text.startswith(("if ", "for ", "while ", "print(")):
            return out
        m = _CONST_LINE.match(text)
        if m is None:
            if _MULTI_PIECE.match(text):
                continue  # `x = (a + 1)*(b - 2)`: no constant is a direct operand of the top-level operator
            return None
        for g in range(1, 6):
            tok = m.group(g)
            if tok is not None and (len(tok) == 1 or tok[0] != "0"):
                out.append((i, m.start(g), len(tok), int(tok)))
    return out


def task_stepped_input(code, rng, params):
    code = code.strip("\n")
    steps, error = trace_steps(code)
    if error:
        return []
    count = len(steps)
    lines = code.split("\n")
    quick = _quick_input_candidates(lines)
    if quick is None:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return []
        quick = []
        for node, value in _input_candidates(tree):
            if lines[node.lineno - 1].isascii():
                quick.append((node.lineno - 1, node.col_offset, node.end_col_offset - node.col_offset, value))
    # mask in place: the originals re-printed the code with ast.unparse, losing TABs and spacing
    masks = [(_replace(code, line, col, width, "?"), value, line + 1) for line, col, width, value in quick]
    sampling = params.get("sampling_limit", 3)
    if 0 < sampling < len(masks):
        masks = rng.sample(masks, sampling)
    step_limit = params.get("step_limit", 10)
    out = []
    for masked, value, line_num in masks:
        if line_num == count:
            continue
        interval = range(line_num + 1, count + 1)
        chosen = rng.sample(interval, min(step_limit, len(interval))) if step_limit else interval
        for step in chosen:
            line, states = steps[step - 1]
            if states:
                prompt = _highlight(masked, line, states)
                out.append((prompt + "\n# input?" + str(value), prompt, str(value)))
    return out


_TASK_FNS = {"output": task_output, "states": task_states, "line_count": task_line_count,
             "operator": task_operator, "stepped_operator": task_stepped_operator,
             "stepped_input": task_stepped_input}
# Each random task's seed stream (fixed numbers: the samples must not change with the order of contract.TASKS).
_RANDOM_TASKS = {"operator": 19, "stepped_operator": 20, "stepped_input": 21}


class _LazyRng:
    """random.Random for one snippet, built only if the task draws from it (building one is not free)."""

    def __init__(self, seed):
        self.seed, self.rng = seed, None

    def sample(self, population, k):
        if self.rng is None:
            self.rng = random.Random(self.seed)
        return self.rng.sample(population, k)


_FORKED: list[str] = []  # the programs of a forked pool's run: workers read their chunk here, nothing is pickled


def _run_chunk(args):
    task, seed, start, snippets, params = args
    if isinstance(snippets, int):
        snippets = _FORKED[start:snippets]
    fn = _TASK_FNS[task]
    with fewer_gc_collections():
        if task not in _RANDOM_TASKS:
            return [fn(code, None, params) for code in snippets]
        stream = _RANDOM_TASKS[task]
        return [fn(code, _LazyRng(_derive(seed, start + i, stream)), params) for i, code in enumerate(snippets)]


def run_task(task: str, programs: list[str], seed: int = 0, workers: int = 1, progress: bool = False, **params):
    """Per program, the list of (text sample, prompt, answer) it yields (same results for any worker count)."""
    if task not in _TASK_FNS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    params = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    chunk = max(50, min(5000, len(programs) // max(1, 4 * workers) + 1))
    starts = range(0, len(programs), chunk)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(programs), desc=f"tinypy {task}", unit="snippet", file=sys.stderr)
    results: list[list] = []
    # one for the whole run, the parent's unpickling of worker results included (docs/tinypy.md, "The fast tracer")
    with fewer_gc_collections():
        try:
            if workers <= 1:
                for i in starts:
                    results.extend(_run_chunk((task, seed, i, programs[i:i + chunk], params)))
                    if bar is not None:
                        bar.update(min(chunk, len(programs) - i))
            else:
                import multiprocessing as mp

                fork = sys.platform != "win32"
                if fork:  # forked workers see the programs already: a job is just its (start, end)
                    _FORKED[:] = programs
                    jobs = [(task, seed, i, min(i + chunk, len(programs)), params) for i in starts]
                else:
                    jobs = [(task, seed, i, programs[i:i + chunk], params) for i in starts]
                compile_program("")  # pre-parses the common line families once, before the workers fork
                # what the parent holds goes to the permanent generation: the workers' collections then never
                # touch it, so its pages stay shared instead of being copied (the gc module's advice for fork)
                gc.freeze()
                try:
                    with mp.get_context("fork" if fork else "spawn").Pool(workers) as pool:
                        for res in pool.imap(_run_chunk, jobs):
                            results.extend(res)
                            if bar is not None:
                                bar.update(len(res))
                finally:
                    gc.unfreeze()
        finally:
            _FORKED.clear()
            if bar is not None:
                bar.close()
    return results


def make_task_samples(task: str, programs: list[str], seed: int = 0, workers: int = 1, progress: bool = False,
                      **params) -> list[str]:
    """The originals' text samples, in program order."""
    return [text for per in run_task(task, programs, seed, workers, progress, **params) for text, _, _ in per]


def make_task_records(task: str, programs: list[str], seed: int = 0, levels: list[str | None] | None = None,
                      workers: int = 1, progress: bool = False, **params) -> list[dict]:
    """Training records {task, prompt, answer, level}; `levels` (one per program) fills `level`, else None.

    params: sampling_limit (stepped tasks, default 3), limit (operator tasks, default 0 = all),
    step_limit (stepped_input, default 10).
    """
    if levels is not None and len(levels) != len(programs):
        raise ValueError("levels must have one entry per program")
    out = []
    for i, per in enumerate(run_task(task, programs, seed, workers, progress, **params)):
        level = levels[i] if levels is not None else None
        out.extend({"task": task, "prompt": prompt, "answer": answer, "level": level} for _, prompt, answer in per)
    return out
