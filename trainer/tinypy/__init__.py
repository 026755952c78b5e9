"""TinyPy: the TinyPy Generator grammar, an exact fast tracer and the five TinyPy task datasets.

Python API (what `dataset build` calls):

    from trainer.tinypy import generate_programs, trace, make_task_records
    programs = generate_programs("ALL", 10_000, seed=0, workers=2)   # list[str], pure programs
    r = trace(programs[0])           # TraceResult(output, line_count, states, error)
    recs = make_task_records("line_count", programs, seed=0)          # [{task, prompt, answer, level}]

- generator.py: `generate_programs(level, count, seed, workers=1) -> list[str]`, `generate_samples(...)`
  (program, sub-level, stdout, TinyPy `# output` text); seeded per program index, deduplicated on the text.
- evaluate.py: `run_plan(plan)`, the generator's label: runs the structure it generated, no parsing.
- tracer.py: `trace(code) -> TraceResult`; a fast interpreter for the tinypy subset, the settrace
  reference (`reference_trace`) for any other Python; `trace_steps` for the stepped tasks.
- parse.py: the fast interpreter's line parser (lines -> statements of closures).
- linetrace.py: the standalone settrace tracer (stdlib only; shipped with the VS Code extension).
- tasks.py: `make_task_records(task, programs, seed, levels=None, workers=1, **params)` and
  `make_task_samples(...)` for tasks output, states, line_count, operator, stepped_operator, stepped_input.
- cli.py: `python -m trainer tinypy {generate,trace,task}`.
See docs/tinypy.md for formats and the deliberate differences from the original scripts.
"""

from trainer.tinypy.generator import generate_programs, generate_samples
from trainer.tinypy.tasks import TASKS, make_task_records, make_task_samples
from trainer.tinypy.tracer import TraceResult, trace

__all__ = ["TASKS", "TraceResult", "generate_programs", "generate_samples", "make_task_records",
           "make_task_samples", "trace"]
