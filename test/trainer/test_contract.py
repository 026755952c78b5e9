"""trainer/contract.json, the file the trainer and the engine both load: its facts reach the tokenizer, the dataset,
the manifest and the evaluation, it agrees with the shipped model, and evaluation builds the engine's FIM prompt."""

import json
import re
from pathlib import Path

import pytest

from trainer import contract, evaluate
from trainer import tokenizer as T

ROOT = Path(__file__).resolve().parents[2]


def test_one_spelling_of_each_task_and_its_token():
    assert all(re.fullmatch(r"[a-z_]+", t) for t in contract.TASKS)
    for task in contract.TASKS:
        assert contract.task_token(task) in contract.SPECIAL_TOKENS
        assert contract.task_template(task).startswith(contract.task_token(task))
    assert set(contract.TRAINED_TASKS) <= set(contract.TASKS)
    with pytest.raises(ValueError, match="unknown task 'line-count'"):
        contract.task_token("line-count")


def test_the_tokenizer_uses_the_contract_tokens_in_order():
    assert T.SPECIAL_TOKENS == contract.SPECIAL_TOKENS
    assert [T.SPECIAL_IDS[t] for t in T.SPECIAL_TOKENS] == list(range(len(contract.SPECIAL_TOKENS)))
    assert {t: f"<|task_{t}|>" for t in contract.TASKS} == T.TASK_TOKENS


def test_render_puts_special_ids_and_slots_and_refuses_text():
    ids = contract.render(contract.fim_template("spm"), {"prefix": [100, 101], "suffix": [200]})
    S = contract.SPECIAL_IDS
    assert ids == [S["<|fim_prefix|>"], S["<|fim_suffix|>"], 200, S["<|fim_middle|>"], 100, 101]
    assert contract.render(contract.fim_template("psm"), {}) == [S["<|fim_prefix|>"], S["<|fim_suffix|>"],
                                                                 S["<|fim_middle|>"]]
    assert contract.render(contract.task_template("output"), {"program": [7]}) == [S["<|task_output|>"], 7,
                                                                                   S["<|answer|>"]]
    with pytest.raises(ValueError, match="ordinary text"):
        contract.render("<|fim_prefix|>x{prefix}", {})


def test_io_names_follow_the_layers():
    inputs, outputs = contract.io_names(2)
    assert inputs == ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                      "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]
    assert outputs == ["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]


def test_the_shipped_model_agrees_with_the_contract():
    manifest = json.loads((ROOT / "models" / "default" / "model.json").read_text())
    assert manifest["format"] == contract.FORMAT
    assert manifest["special_tokens"] == contract.SPECIAL_IDS
    meta = contract.prompts_meta(list(manifest["prompts"]["tasks"]))
    assert manifest["prompts"]["fim"] == meta["fim"]
    for task, spec in manifest["prompts"]["tasks"].items():
        assert spec["template"] == meta["tasks"][task]["template"] and spec["stop"] == meta["tasks"][task]["stop"]
    inputs, outputs = contract.io_names(manifest["architecture"]["n_layer"])
    assert manifest["onnx"]["inputs"] == inputs and manifest["onnx"]["outputs"] == outputs


def _encode(text):  # one id per character: token counts are easy to follow
    return [ord(c) for c in text]


def test_keep_head_and_tail_keep_whole_lines():
    text = "aa\nbbb\ncccc\n"
    assert evaluate.keep_lines(text, 7, _encode, end=False) == _encode("aa\nbbb\n")
    assert evaluate.keep_lines(text, 6, _encode, end=True) == _encode("cccc\n")
    assert evaluate.keep_lines(text, 100, _encode, end=True) == _encode(text)
    assert evaluate.keep_lines("abcdef", 3, _encode, end=False) == _encode("abc")  # not even one line: its first tokens
    assert evaluate.keep_lines("x\nabcdef", 3, _encode, end=True) == _encode("def")
    assert evaluate.keep_lines("abc\nd\n", 2, _encode, end=False) == _encode("ab")


def test_evaluation_prompt_is_the_engines_default_mode_and_budget_split():
    prompts = contract.prompts_meta(["output"])
    S = contract.SPECIAL_IDS
    prefix = "".join(f"p{i}\n" for i in range(40))  # 40 lines of 3 tokens
    suffix = "".join(f"s{i}\n" for i in range(40))
    ids = evaluate.fim_prompt(prompts, S, _encode, prefix, suffix, budget=103)
    assert prompts["fim"]["default_mode"] == "spm" and ids[:2] == [S["<|fim_prefix|>"], S["<|fim_suffix|>"]]
    mid = ids.index(S["<|fim_middle|>"])
    kept_suffix, kept_prefix = ids[2:mid], ids[mid + 1:]
    # room 100: the suffix gets its quarter in whole lines (24 of 25 tokens), the prefix the rest (76, whole lines)
    assert kept_suffix == _encode("".join(f"s{i}\n" for i in range(8)))
    assert kept_prefix == _encode("".join(f"p{i}\n" for i in range(21, 40)))
    # a short prefix lends its room to the suffix
    ids = evaluate.fim_prompt(prompts, S, _encode, "p\n", suffix, budget=103)
    assert len(ids) <= 103 and ids[-2:] == _encode("p\n") and ids.index(S["<|fim_middle|>"]) > 2 + 90
