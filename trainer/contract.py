"""The trainer's side of trainer/contract.json: the special tokens, task names, prompt templates, ONNX names and
default token limits the engine (extension/engine/contract.ts) reads from the same file (docs/DESIGN.md).

Public API
    CONTRACT                 the file's content
    SPECIAL_TOKENS, SPECIAL_IDS, TASKS, TRAINED_TASKS
    task_token(task)         "<|task_T|>"
    fim_template(mode)       the PSM / SPM template; task_template(task)
    prompts_meta(tasks, max_new_tokens) -> the "prompts" block of meta.json / model.json
    render(template, slots)  template -> ids: special tokens by id, {slots} from already-encoded ids
    io_names(n_layer)        the ONNX input and output names
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CONTRACT_PATH = Path(__file__).with_name("contract.json")
CONTRACT: dict = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))

FORMAT: str = CONTRACT["format"]
SPECIAL_TOKENS: list[str] = list(CONTRACT["special_tokens"])
SPECIAL_IDS: dict[str, int] = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
TASKS: tuple[str, ...] = tuple(CONTRACT["tasks"])
TRAINED_TASKS: tuple[str, ...] = tuple(t for t, spec in CONTRACT["tasks"].items() if spec["trained"])
FIM = CONTRACT["prompts"]["fim"]
FIM_MAX_NEW_TOKENS: int = FIM["max_new_tokens"]

_PIECE = re.compile(r"(<\|[a-z_]+\|>|\{[a-z_]+\})")


def task_token(task: str) -> str:
    if task not in CONTRACT["tasks"]:
        raise ValueError(f"unknown task {task!r}; the contract has {', '.join(TASKS)}")
    return f"<|task_{task}|>"


def fim_template(mode: str) -> str:
    if mode not in ("psm", "spm"):
        raise ValueError(f"unknown FIM mode {mode!r}")
    return FIM[mode]


def task_template(task: str) -> str:
    task_token(task)
    return CONTRACT["prompts"]["task"]["template"].replace("{task}", task)


def prompts_meta(tasks, max_new_tokens: dict[str, int] | None = None) -> dict:
    """The prompt formats that `dataset build` writes into meta.json, `export` copies into model.json and the engine
    reads from there. `max_new_tokens` raises a task's limit (when the data holds longer answers)."""
    limits = {t: CONTRACT["tasks"][t]["max_new_tokens"] for t in tasks}
    limits.update(max_new_tokens or {})
    return {
        "fim": {k: FIM[k] for k in ("psm", "spm", "default_mode", "stop")},
        "tasks": {t: {"template": task_template(t), "stop": list(CONTRACT["prompts"]["task"]["stop"]),
                      "max_new_tokens": int(limits[t])} for t in tasks},
    }


def render(template: str, slots: dict[str, list[int]], special: dict[str, int] | None = None) -> list[int]:
    """Template -> ids: special tokens by id, `{slot}`s from already-encoded ids (a missing slot is empty, so
    render(template, {}) is the template's own cost). Templates hold no ordinary text."""
    special = SPECIAL_IDS if special is None else special
    ids: list[int] = []
    for piece in _PIECE.split(template):
        if not piece:
            continue
        if piece in special:
            ids.append(special[piece])
        elif piece.startswith("{"):
            ids.extend(slots.get(piece[1:-1], ()))
        else:
            raise ValueError(f"template {template!r} holds ordinary text {piece!r}")
    return ids


def io_names(n_layer: int) -> tuple[list[str], list[str]]:
    """ONNX input and output names for `n_layer` layers: the fixed ones, then each layer's past / present key, value."""
    onnx = CONTRACT["onnx"]
    per_layer = [(i, kv) for i in range(n_layer) for kv in onnx["kv"]]
    past = [onnx["past_input"].format(layer=i, kv=kv) for i, kv in per_layer]
    present = [onnx["present_output"].format(layer=i, kv=kv) for i, kv in per_layer]
    return list(onnx["inputs"]) + past, list(onnx["outputs"]) + present
