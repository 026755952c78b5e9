"""Run a Python snippet under sys.settrace and report what it did, as the trace JSON of docs/DESIGN.md.

STANDALONE: stdlib only, no imports from `trainer`, works on Python 3.8-3.13. The VS Code extension ships a
copy of this file and runs it with the user's own python3 for "Run and compare":

    python3 linetrace.py [--timeout S] [--max-steps N] < snippet.py
    -> {"output": "<exact stdout>", "line_count": 7, "states": [["a", "1"]], "error": null}

- output: everything the snippet wrote to stdout (stdin is empty, so input() raises EOFError);
- line_count: the number of CPython `line` trace events in the snippet's own code (any frame whose code
  was compiled from the snippet), i.e. the TinyPy "executed lines" label: loop headers count
  iterations + 1, `else :` lines never count;
- states: the final value (Python `str`) of every module-level variable the snippet stores, in the order of
  the first store in the text (ast Name/Store nodes sorted by line then column), skipping unbound names;
- error: null, or "ExcType: message" (also a step limit or a timeout). Output, count and states are then
  those at the moment of the error, so a snippet that loops forever or raises never hangs the caller.

The trainer imports `trace_source` and `trace_steps` from here as its reference (settrace) implementation.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import io
import json
import signal
import sys
import threading
import time

SNIPPET_FILENAME = "<snippet>"
DEFAULT_MAX_STEPS = 100_000
DEFAULT_TIMEOUT = 5.0


class TraceLimit(BaseException):
    """Raised inside the snippet when it runs too long; BaseException so `except Exception` cannot eat it."""


def store_order(tree):
    """Names stored anywhere in the snippet, in order of their first store (line, column)."""
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    order = []
    seen = set()
    for n in nodes:
        if n.id not in seen:
            seen.add(n.id)
            order.append(n.id)
    return order


def safe_str(value):
    try:
        return str(value)
    except Exception as exc:  # e.g. an int too large for str(); keep the trace usable
        return f"<unprintable {type(value).__name__}: {exc}>"


def format_error(exc):
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _run(code, max_steps, timeout, on_line=None, stop_at=0):
    """Execute `code` under settrace. on_line(frame, count) is called for each counted line event.

    Returns (output, line_count, namespace, error, tree). stop_at > 0 stops quietly after that many events.
    """
    try:
        tree = ast.parse(code, SNIPPET_FILENAME)
        compiled = compile(tree, SNIPPET_FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: source contains NUL bytes
        return "", 0, {}, format_error(exc), None

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    out = io.StringIO()
    count = [0]
    deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
    finished = [False]

    def local_tracer(frame, event, arg):
        if event == "line" and not finished[0]:
            count[0] += 1
            if count[0] > max_steps:
                count[0] -= 1
                finished[0] = True
                raise TraceLimit(f"step limit exceeded: more than {max_steps} line events")
            if deadline is not None and count[0] % 256 == 0 and time.monotonic() > deadline:
                count[0] -= 1
                finished[0] = True
                raise TraceLimit(f"timeout: ran longer than {timeout:g} s")
            if on_line is not None:
                on_line(frame, count[0])
            if stop_at and count[0] >= stop_at:
                finished[0] = True
                raise TraceLimit("stopped")
        return local_tracer

    def global_tracer(frame, event, arg):
        if frame.f_code.co_filename == SNIPPET_FILENAME:
            return local_tracer
        return None

    # A timer as a second guard for code that makes no line events (one long C call cannot be interrupted).
    use_alarm = (deadline is not None and hasattr(signal, "setitimer")
                 and threading.current_thread() is threading.main_thread())
    old_handler = None
    if use_alarm:
        def on_alarm(signum, frame):
            finished[0] = True
            raise TraceLimit(f"timeout: ran longer than {timeout:g} s")
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout + 0.5)

    old_out, old_in, old_trace = sys.stdout, sys.stdin, sys.gettrace()
    error = None
    sys.stdout, sys.stdin = out, io.StringIO("")
    try:
        sys.settrace(global_tracer)
        try:
            exec(compiled, namespace)
        finally:
            sys.settrace(old_trace)
    except TraceLimit as exc:
        error = None if str(exc) == "stopped" else str(exc)
    except SystemExit as exc:
        error = f"SystemExit: {exc.code}" if exc.code not in (None, 0) else None
    except BaseException as exc:  # noqa: BLE001 - the snippet's own error is a result, not a crash
        error = format_error(exc)
    finally:
        sys.stdout, sys.stdin = old_out, old_in
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
    return out.getvalue(), count[0], namespace, error, tree


def trace_source(code, max_steps=DEFAULT_MAX_STEPS, timeout=DEFAULT_TIMEOUT):
    """Trace one snippet; returns the trace dict {"output", "line_count", "states", "error"}."""
    output, line_count, namespace, error, tree = _run(code, max_steps, timeout)
    states = []
    if tree is not None:
        states = [[name, safe_str(namespace[name])] for name in store_order(tree) if name in namespace]
    return {"output": output, "line_count": line_count, "states": states, "error": error}


def trace_steps(code, max_steps=DEFAULT_MAX_STEPS, timeout=DEFAULT_TIMEOUT, stop_at=0):
    """Per line event: (0-based line, "a?1;b?2" of the variables bound *before* the line runs).

    Returns (steps, error). Variables are listed in first-store order; only the snippet's top-level
    frame's variables are shown (events inside functions show that frame's locals).
    """
    try:
        order = store_order(ast.parse(code, SNIPPET_FILENAME))
    except (SyntaxError, ValueError) as exc:
        return [], format_error(exc)
    steps = []

    def on_line(frame, count):
        local = frame.f_locals
        steps.append((frame.f_lineno - 1, ";".join(f"{k}?{safe_str(local[k])}" for k in order if k in local)))

    _, _, _, error, _ = _run(code, max_steps, timeout, on_line=on_line, stop_at=stop_at)
    return steps, error


def main(argv=None):
    parser = argparse.ArgumentParser(description="Trace a Python snippet read from stdin; print the trace JSON.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds before giving up")
    parser.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, help="line events before giving up")
    parser.add_argument("file", nargs="?", default="-", help="snippet file (default: stdin)")
    args = parser.parse_args(argv)
    if args.file == "-":
        code = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as f:
            code = f.read()
    result = trace_source(code, max_steps=args.max_steps, timeout=args.timeout)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
